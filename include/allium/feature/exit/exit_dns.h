/* exit_dns.h -- the exit's asynchronous resolver (tor-spec 6.2 RELAY_BEGIN
 * hostnames, 6.4 RELAY_RESOLVE / RELAY_RESOLVED including PTR lookups).
 *
 * Names are resolved with libevent's evdns on the event loop, never with a
 * blocking getaddrinfo(); answers are cached (bounded, TTLs clipped as
 * tor does) so that one client cannot learn from timing what another
 * looked up.  tor(1) options honoured: ServerDNSResolvConfFile,
 * ServerDNSDetectHijacking, ServerDNSTestAddresses,
 * ServerDNSAllowNonRFC953Hostnames, ServerDNSSearchDomains.
 *
 * Implemented in src/feature/exit/exit_dns.c. */
#ifndef ALLIUM_FEATURE_EXIT_EXIT_DNS_H
#define ALLIUM_FEATURE_EXIT_EXIT_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/** A resolver bound to one event loop. */
typedef struct exit_dns_t exit_dns_t;
/** One outstanding lookup (owned by the resolver; see exit_dns_cancel()). */
typedef struct exit_dns_req_t exit_dns_req_t;

/** Outcome of a lookup (maps to RELAY_RESOLVED answer types / END reasons,
 * tor-spec 6.4 and 6.3). */
typedef enum exit_dns_status_t {
  EXIT_DNS_OK = 0,             /**< at least one answer */
  EXIT_DNS_NOTFOUND = -1,      /**< the name does not exist: RESOLVED type
                                    0xF1 (nontransient) / END RESOLVEFAILED */
  EXIT_DNS_TRANSIENT = -2,     /**< timeout, SERVFAIL, no nameserver: type
                                    0xF0 (transient) / END RESOLVEFAILED */
  EXIT_DNS_INVALID = -3,       /**< not a name we resolve (syntax, too long,
                                    a .onion/.exit name): END RESOLVEFAILED
                                    without any query sent */
} exit_dns_status_t;

/** Most addresses reported for one name. */
#define EXIT_DNS_MAX_ADDRS 8

/** One address of an answer: family 4 uses addr[0..4). */
typedef struct exit_dns_addr_t {
  int family;                  /**< 4 or 6 */
  uint8_t addr[16];
} exit_dns_addr_t;

/** An answer, valid only during the callback. */
typedef struct exit_dns_answer_t {
  exit_dns_status_t status;
  size_t n_addrs;              /**< forward lookups: addresses found */
  exit_dns_addr_t addrs[EXIT_DNS_MAX_ADDRS];
  const char *hostname;        /**< PTR lookups: the name found, else NULL */
  uint32_t ttl;                /**< TTL to report to the client (already
                                    clipped as tor does) */
} exit_dns_answer_t;

/** Called exactly once per request that was not cancelled, always from the
 * event loop (never from inside exit_dns_resolve()). */
typedef void (*exit_dns_cb_t)(void *arg, const exit_dns_answer_t *answer);

/** What a forward lookup asks for (tor-spec 6.2 BEGIN flags). */
#define EXIT_DNS_WANT_IPV4 1u
#define EXIT_DNS_WANT_IPV6 2u
#define EXIT_DNS_PREFER_IPV6 4u

/** Resolver configuration (from the torrc; all may be left zero/NULL). */
typedef struct exit_dns_config_t {
  const char *resolv_conf;     /**< ServerDNSResolvConfFile, NULL: system */
  bool detect_hijacking;       /**< ServerDNSDetectHijacking (default 1) */
  const char *const *test_addresses; /**< ServerDNSTestAddresses, NULL-ended;
                                    NULL: tor's defaults */
  bool allow_non_rfc953;       /**< ServerDNSAllowNonRFC953Hostnames */
  bool search_domains;         /**< ServerDNSSearchDomains */
  size_t cache_max;            /**< cache entries; 0: a default */
} exit_dns_config_t;

/** A resolver on base.  NULL (with *errmsg set, static string) when the
 * configuration cannot be honoured (e.g. an unreadable resolv.conf). */
exit_dns_t *exit_dns_new(struct event_base *base,
                         const exit_dns_config_t *cfg, const char **errmsg);
/** Cancel every request (no callbacks) and free; accepts NULL. */
void exit_dns_free_(exit_dns_t *dns);
#define exit_dns_free(d) do { exit_dns_free_(d); (d) = NULL; } while (0)

/** Resolve name (NUL-terminated, not an address literal) for the address
 * families in want (EXIT_DNS_WANT_*).  Returns a handle usable with
 * exit_dns_cancel() until the callback runs, or NULL when the request
 * could not even be queued (then cb is not called). */
exit_dns_req_t *exit_dns_resolve(exit_dns_t *dns, const char *name,
                                 unsigned want, exit_dns_cb_t cb, void *arg);
/** Reverse lookup (RESOLVE of an in-addr.arpa / ip6.arpa name or of an
 * address literal, tor-spec 6.4). */
exit_dns_req_t *exit_dns_resolve_ptr(exit_dns_t *dns,
                                     const exit_dns_addr_t *addr,
                                     exit_dns_cb_t cb, void *arg);
/** Forget a request: its callback will not run.  Accepts NULL. */
void exit_dns_cancel(exit_dns_req_t *req);

/** True once the hijacking test found the resolver lying (tor then refuses
 * to resolve names that came back as the hijacked addresses). */
bool exit_dns_is_hijacked(const exit_dns_t *dns);

/** Counters for the heartbeat. */
typedef struct exit_dns_stats_t {
  uint64_t lookups, cache_hits, notfound, transient, invalid;
} exit_dns_stats_t;
void exit_dns_get_stats(const exit_dns_t *dns, exit_dns_stats_t *out);

#endif
