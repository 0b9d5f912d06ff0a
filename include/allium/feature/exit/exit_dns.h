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
 * Implemented in src/feature/exit/exit_dns*.c (see its README.md).
 *
 * How the daemon builds one (src/app/main/app_relay.c, when ExitRelay is
 * on):
 *
 *   exit_dns_config_t cfg;
 *   options_exit_dns_config(options, &cfg);     (app/config/options_exit_dns.h;
 *                                   cfg borrows strings from options)
 *   const char *err = NULL;
 *   exit_dns_t *dns = exit_dns_new(evloop_base(), &cfg, &err);
 *   if (!dns) -> log_err("ServerDNS*: %s", err) and refuse to start as an
 *               exit (fail closed: an exit that cannot resolve must not
 *               advertise itself);
 *   ... exit_dns_free(dns) at shutdown, before the event base goes.
 *
 * exit_dns_new() reads the resolv.conf at once (no blocking resolver call)
 * and, unless ServerDNSDetectHijacking is 0 and ServerDNSTestAddresses is
 * empty, launches the resolver self-checks from the loop.  Tests and
 * integration scenarios must point ServerDNSResolvConfFile at a responder
 * on 127.0.0.1 ("nameserver 127.0.0.1:PORT"): with no file the system's
 * /etc/resolv.conf is used, as tor does, and the self-checks would leave
 * the machine. */
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
  /* Added after the first API (zero keeps the defaults): */
  unsigned timeout_msec;       /**< per-attempt timeout; 0: 5000 (tor's) */
  unsigned attempts;           /**< tries per nameserver; 0: 3 (tor's) */
  bool no_randomize_case;      /**< ServerDNSRandomizeCase 0 (default:
                                    0x20-bit case randomisation on) */
  size_t max_pending;          /**< most requests not yet answered; over it
                                    exit_dns_resolve*() return NULL; 0: a
                                    default */
} exit_dns_config_t;

/** Default cache_max. */
#define EXIT_DNS_CACHE_DEFAULT 8192
/** Default max_pending. */
#define EXIT_DNS_PENDING_DEFAULT 16384
/** Tor's defaults for ServerDNSTestAddresses. */
extern const char *const exit_dns_default_test_addresses[];

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
 * could not even be queued (then cb is not called): NULL arguments, or
 * max_pending requests already waiting.  An invalid name is answered
 * EXIT_DNS_INVALID through the callback (from the loop), no query sent.
 * A RESOLVE of "d.c.b.a.in-addr.arpa" / ".ip6.arpa" should go through
 * exit_dns_reverse_name_parse() and exit_dns_resolve_ptr() instead. */
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
  /* Added: */
  uint64_t queries_sent;       /**< evdns queries launched (A, AAAA, PTR) */
  uint64_t hijacked_answers;   /**< answers dropped as hijacked */
  uint64_t cache_evictions;    /**< entries pushed out by cache_max */
  uint64_t test_failures;      /**< ServerDNSTestAddresses that failed */
  size_t cache_entries;        /**< entries now in the cache */
  uint64_t refused;            /**< requests refused over max_pending */
} exit_dns_stats_t;
void exit_dns_get_stats(const exit_dns_t *dns, exit_dns_stats_t *out);

/* ---- Added helpers (pure; fuzzed in tests/fuzz/exitdns) ---- */

/** Longest name resolved (RFC 1035 2.3.4 names are at most 255 octets)
 * and longest label. */
#define EXIT_DNS_NAME_MAX 255
#define EXIT_DNS_LABEL_MAX 63

/** EXIT_DNS_OK when name is one the exit resolves: 1..255 octets (one
 * trailing dot allowed), labels 1..63, no .onion or .exit name, no control
 * characters or blanks, and unless allow_non_rfc953 only [A-Za-z0-9-_.]
 * (tor(1) ServerDNSAllowNonRFC953Hostnames).  Else EXIT_DNS_INVALID. */
exit_dns_status_t exit_dns_name_check(const char *name, bool allow_non_rfc953);

/** Parse a reverse-lookup name, "4.3.2.1.in-addr.arpa" (four decimal
 * octets, reversed) or the 32 reversed nibbles of ".ip6.arpa" (RFC 1035
 * 3.5, RFC 3596 2.5), case-insensitive, one trailing dot allowed.  1 and
 * *out set when name is one; 0 when it is not a reverse name at all; -1
 * when it ends in in-addr.arpa / ip6.arpa but is malformed. */
int exit_dns_reverse_name_parse(const char *name, exit_dns_addr_t *out);

/** The TTL the exit reports for a DNS TTL: one of two values, 300 s when
 * ttl < 300, else 3600 s (see exit_dns.c's header for why). */
uint32_t exit_dns_clip_ttl(uint32_t ttl);
/** How long the exit keeps an answer: exit_dns_clip_ttl(ttl) plus a
 * uniform random offset in [-240, 240] s. */
uint32_t exit_dns_fuzzy_ttl(uint32_t ttl);

/** True once the start-up self-checks (hijacking probes, test addresses)
 * have all answered or failed (true at once when none were asked for). */
bool exit_dns_checks_done(const exit_dns_t *dns);

/** Tests: replace the clock (seconds, monotonic) the cache uses; NULL
 * restores the default (evloop_monotonic_msec() / 1000). */
void exit_dns_set_clock(exit_dns_t *dns, uint64_t (*now_sec)(void *),
                        void *arg);

#endif
