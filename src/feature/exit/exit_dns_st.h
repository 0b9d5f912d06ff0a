/* exit_dns_st.h -- struct bodies of the exit resolver (exit_dns.h) and the
 * functions its files share: exit_dns.c (requests, evdns), exit_dns_cache.c
 * (the bounded answer cache), exit_dns_check.c (hijacking probes and
 * ServerDNSTestAddresses).  Private to src/feature/exit.  tor-spec 6.2,
 * 6.4. */
#ifndef ALLIUM_FEATURE_EXIT_EXIT_DNS_ST_H
#define ALLIUM_FEATURE_EXIT_EXIT_DNS_ST_H

#include "allium/feature/exit/exit_dns.h"
#include "allium/lib/container/dlist.h"
#include "allium/lib/container/hashmap.h"

struct evdns_base;
struct evdns_request;
struct event;

/** Query types (one cache entry and one evdns query each). */
#define DNSQ_A 1
#define DNSQ_AAAA 2
#define DNSQ_PTR 3

/** Cache / in-flight key: SHA-256 of (type, lower-cased name or address). */
#define DNS_KEY_LEN 32

/** The outcome of one query (one type) before it is merged into an
 * answer. */
typedef struct dns_part_t {
  exit_dns_status_t status;
  uint32_t ttl;                /**< raw TTL from the server (min of RRs) */
  size_t n_addrs;
  exit_dns_addr_t addrs[EXIT_DNS_MAX_ADDRS];
  char *hostname;              /**< PTR: owned */
} dns_part_t;

/** One answer in the cache. */
typedef struct dns_cache_entry_t {
  uint8_t key[DNS_KEY_LEN];
  dlist_node_t lru;            /**< in exit_dns_t.lru, oldest use first */
  uint64_t expires;            /**< clock seconds */
  uint32_t reported_ttl;       /**< exit_dns_clip_ttl() of the server's */
  dns_part_t part;
} dns_cache_entry_t;

/** Why a lookup runs. */
typedef enum dns_purpose_t {
  DNS_FOR_CLIENTS = 0,         /**< exit_dns_resolve*() requests wait on it */
  DNS_FOR_HIJACK_PROBE,        /**< a random name that must not exist */
  DNS_FOR_TEST_ADDRESS,        /**< a ServerDNSTestAddresses name */
} dns_purpose_t;

typedef struct dns_lookup_t dns_lookup_t;

/** A request's wait on one lookup (two per request at most: A and AAAA). */
typedef struct dns_wait_t {
  dlist_node_t node;           /**< in dns_lookup_t.waiters */
  exit_dns_req_t *req;
  dns_lookup_t *lookup;        /**< NULL when not waiting */
  int slot;                    /**< index in req->parts */
} dns_wait_t;

/** One evdns query in flight.  It outlives exit_dns_free() (dns is then
 * NULL) until libevent calls back, which it always does exactly once,
 * from the loop (answer, error, cancel or shutdown). */
struct dns_lookup_t {
  exit_dns_t *dns;             /**< NULL once the resolver was freed */
  dlist_node_t node;           /**< in exit_dns_t.lookups */
  dlist_t waiters;             /**< dns_wait_t */
  uint8_t key[DNS_KEY_LEN];
  int qtype;                   /**< DNSQ_* */
  dns_purpose_t purpose;
  bool in_map;                 /**< registered in exit_dns_t.inflight */
  struct evdns_request *handle;
};

/** A client request (the handle exit_dns_resolve*() returns). */
struct exit_dns_req_t {
  exit_dns_t *dns;
  dlist_node_t node;           /**< in exit_dns_t.reqs */
  exit_dns_cb_t cb;
  void *arg;
  unsigned want;               /**< EXIT_DNS_WANT_* / PREFER (0 for PTR) */
  bool is_ptr;
  bool invalid;                /**< answer EXIT_DNS_INVALID */
  int n_parts;                 /**< 1 (A, AAAA or PTR) or 2 (A then AAAA) */
  int qtypes[2];
  bool have[2];                /**< parts[i] is filled */
  bool from_cache[2];
  dns_part_t parts[2];
  dns_wait_t waits[2];
  struct event *deliver_ev;    /**< zero-timeout delivery from the loop */
};

/** Most addresses remembered as hijacked answers. */
#define DNS_HIJACK_MAX 16

struct exit_dns_t {
  struct event_base *base;
  struct evdns_base *evdns;
  bool allow_non_rfc953;
  bool search_domains;
  size_t cache_max;
  hmap_t *cache;               /**< key -> dns_cache_entry_t */
  dlist_t lru;
  hmap_t *inflight;            /**< key -> dns_lookup_t (client lookups) */
  dlist_t lookups;             /**< every dns_lookup_t in flight */
  dlist_t reqs;                /**< every exit_dns_req_t not yet answered */
  size_t n_reqs;
  size_t max_pending;
  exit_dns_stats_t stats;
  uint64_t (*now_fn)(void *);
  void *now_arg;
  /* Self-checks (exit_dns_check.c). */
  struct event *check_ev;
  bool detect_hijacking;
  char **test_names;           /**< owned copy of ServerDNSTestAddresses */
  size_t n_test_names;
  int probes_pending, tests_pending;
  unsigned probes_resolved, tests_failed, tests_hijacked;
  bool hijacked;
  size_t n_hijack_addrs;
  exit_dns_addr_t hijack_addrs[DNS_HIJACK_MAX];
};

/* exit_dns.c */
uint64_t exit_dns_now_(const exit_dns_t *dns);
void dns_key_compute_(int qtype, const void *data, size_t len,
                      uint8_t key[DNS_KEY_LEN]);
/** Launch an evdns query of qtype for name (A/AAAA) or addr (PTR);
 * NULL if evdns refused it. */
dns_lookup_t *dns_lookup_launch_(exit_dns_t *dns, int qtype, const char *name,
                                 const exit_dns_addr_t *addr,
                                 dns_purpose_t purpose,
                                 const uint8_t key[DNS_KEY_LEN]);
void dns_part_clear_(dns_part_t *p);

/* exit_dns_cache.c */
void dns_cache_init_(exit_dns_t *dns);
void dns_cache_free_all_(exit_dns_t *dns);
/** The live entry under key (refreshed in the LRU), or NULL; an expired
 * entry is dropped and NULL returned. */
const dns_cache_entry_t *dns_cache_get_(exit_dns_t *dns,
                                        const uint8_t key[DNS_KEY_LEN]);
/** Remember part (copied) under key, evicting the least recently used
 * entry over cache_max.  Only EXIT_DNS_OK and EXIT_DNS_NOTFOUND are kept. */
void dns_cache_put_(exit_dns_t *dns, const uint8_t key[DNS_KEY_LEN],
                    const dns_part_t *part);

/* exit_dns_check.c */
/** Copy the self-check configuration and schedule the checks. 0 or -1. */
int dns_checks_setup_(exit_dns_t *dns, const exit_dns_config_t *cfg);
void dns_checks_free_(exit_dns_t *dns);
/** A self-check lookup finished (part is its outcome). */
void dns_checks_on_answer_(exit_dns_t *dns, dns_purpose_t purpose,
                           const dns_part_t *part);
/** Drop the addresses of part that the hijacking test saw; a part left
 * without addresses becomes EXIT_DNS_NOTFOUND. */
void dns_checks_filter_(exit_dns_t *dns, dns_part_t *part);

#endif
