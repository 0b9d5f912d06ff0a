/* exit_dns.c -- the exit relay's asynchronous resolver (tor-spec 6.2
 * RELAY_BEGIN hostnames, 6.4 RELAY_RESOLVE / RELAY_RESOLVED including PTR
 * lookups) over libevent's evdns: never a blocking getaddrinfo() on the
 * loop.  See include/allium/feature/exit/exit_dns.h.
 *
 * Requests, lookups, cache.  A client request (exit_dns_req_t) needs one
 * answer per query type: A and/or AAAA (per the BEGIN flags), or PTR.  Each
 * type is served from the cache (exit_dns_cache.c) or by a lookup
 * (dns_lookup_t, one evdns query); requests for a name already in flight
 * wait on the same lookup instead of sending a second query.  A lookup
 * whose requests were all cancelled still completes and fills the cache
 * (tor does the same).  Every answer, even a cache hit or an invalid name,
 * reaches the caller through a zero-timeout event on the loop: never from
 * inside exit_dns_resolve(), and the same path whatever the source.
 *
 * libevent calls back every evdns query exactly once, from the loop (an
 * answer, an error, or DNS_ERR_SHUTDOWN / DNS_ERR_CANCEL), even after
 * evdns_base_free().  So a lookup is freed only in that callback; after
 * exit_dns_free() its resolver pointer is NULL and the callback only frees
 * it (the loop must turn once more for that memory to go back).
 *
 * TTLs (what is reported, how long answers are kept): see
 * exit_dns_name.c.  Why one client cannot learn another's lookups from the
 * cache: see exit_dns_cache.c.
 *
 * Options: ServerDNSResolvConfFile (evdns_base_resolv_conf_parse(); an
 * unreadable file, or one without a nameserver, is an error -- tor's
 * ServerDNSAllowBrokenConfig 1 fallback to 127.0.0.1 would send the exit's
 * lookups somewhere the operator did not choose), ServerDNSSearchDomains
 * (off: search lists are cleared and queries are sent with
 * DNS_QUERY_NO_SEARCH), ServerDNSAllowNonRFC953Hostnames
 * (exit_dns_name_check()), ServerDNSRandomizeCase (evdns "randomize-case"),
 * ServerDNSDetectHijacking and ServerDNSTestAddresses (exit_dns_check.c).
 *
 * Logs never name what was resolved unless SafeLogging is 0 (safe_str()),
 * and the lines a client can trigger are rate-limited. */
#define LOG_MODULE "exitdns"
#include "exit_dns_st.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/crypto/digest.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#ifndef DNS_ERR_NODATA
#define DNS_ERR_NODATA 70
#endif

static uint64_t
default_now(void *arg)
{
  (void)arg;
  return evloop_monotonic_msec() / 1000;
}

uint64_t
exit_dns_now_(const exit_dns_t *dns)
{
  return dns->now_fn(dns->now_arg);
}

void
exit_dns_set_clock(exit_dns_t *dns, uint64_t (*now_sec)(void *), void *arg)
{
  if (!dns)
    return;
  dns->now_fn = now_sec ? now_sec : default_now;
  dns->now_arg = now_sec ? arg : NULL;
}

void
dns_key_compute_(int qtype, const void *data, size_t len,
                 uint8_t key[DNS_KEY_LEN])
{
  uint8_t buf[1 + EXIT_DNS_NAME_MAX + 1];
  if (len > sizeof(buf) - 1)
    len = sizeof(buf) - 1;
  buf[0] = (uint8_t)qtype;
  memcpy(buf + 1, data, len);
  digest_sha256(key, buf, len + 1);
}

void
dns_part_clear_(dns_part_t *p)
{
  if (!p)
    return;
  al_free(p->hostname);
  memset(p, 0, sizeof(*p));
}

/* ---- evdns answers ---- */

/* The outcome of an evdns callback as a part. */
static void
part_from_evdns(dns_part_t *p, int qtype, int result, char type, int count,
                int ttl, void *addresses)
{
  memset(p, 0, sizeof(*p));
  p->ttl = ttl > 0 ? (uint32_t)ttl : 0;
  if (result == DNS_ERR_NOTEXIST || result == DNS_ERR_NODATA) {
    p->status = EXIT_DNS_NOTFOUND;
    return;
  }
  if (result != DNS_ERR_NONE || !addresses || count <= 0) {
    p->status = result == DNS_ERR_NONE ? EXIT_DNS_NOTFOUND
                                       : EXIT_DNS_TRANSIENT;
    return;
  }
  p->status = EXIT_DNS_NOTFOUND;
  if (qtype == DNSQ_A && type == DNS_IPv4_A) {
    const uint8_t *a = addresses;
    for (int i = 0; i < count && p->n_addrs < EXIT_DNS_MAX_ADDRS; i++) {
      exit_dns_addr_t *o = &p->addrs[p->n_addrs++];
      o->family = 4;
      memcpy(o->addr, a + 4 * (size_t)i, 4);
    }
  } else if (qtype == DNSQ_AAAA && type == DNS_IPv6_AAAA) {
    const uint8_t *a = addresses;
    for (int i = 0; i < count && p->n_addrs < EXIT_DNS_MAX_ADDRS; i++) {
      exit_dns_addr_t *o = &p->addrs[p->n_addrs++];
      o->family = 6;
      memcpy(o->addr, a + 16 * (size_t)i, 16);
    }
  } else if (qtype == DNSQ_PTR && type == DNS_PTR) {
    const char *name = *(char *const *)addresses;
    if (name && name[0] && strlen(name) <= EXIT_DNS_NAME_MAX)
      p->hostname = al_strdup(name);
    else if (name && name[0])
      log_info_rl(60, "Dropped an over-long PTR answer");
  }
  if (p->n_addrs || p->hostname)
    p->status = EXIT_DNS_OK;
}

static void deliver_soon(exit_dns_req_t *req);

/* Give part to every request waiting on lk. */
static void
lookup_fan_out(dns_lookup_t *lk, const dns_part_t *part)
{
  dlist_node_t *n;
  while ((n = dlist_pop_head(&lk->waiters))) {
    dns_wait_t *w = DLIST_ENTRY(n, dns_wait_t, node);
    exit_dns_req_t *req = w->req;
    w->lookup = NULL;
    dns_part_t *dst = &req->parts[w->slot];
    *dst = *part;
    dst->hostname = part->hostname ? al_strdup(part->hostname) : NULL;
    req->have[w->slot] = true;
    deliver_soon(req);
  }
}

static void
lookup_free(dns_lookup_t *lk)
{
  dlist_node_t *n;
  while ((n = dlist_pop_head(&lk->waiters)))
    DLIST_ENTRY(n, dns_wait_t, node)->lookup = NULL;
  dlist_remove(&lk->node);
  al_free(lk);
}

static void
on_evdns(int result, char type, int count, int ttl, void *addresses,
         void *arg)
{
  dns_lookup_t *lk = arg;
  exit_dns_t *dns = lk->dns;
  if (!dns) {                   /* the resolver is gone */
    lookup_free(lk);
    return;
  }
  dlist_remove(&lk->node);
  if (lk->in_map && hmap_get(dns->inflight, lk->key) == lk)
    hmap_remove(dns->inflight, lk->key);
  dns_part_t part;
  part_from_evdns(&part, lk->qtype, result, type, count, ttl, addresses);
  if (part.status == EXIT_DNS_TRANSIENT)
    log_info_rl(60, "DNS lookup failed (evdns error %d: %s)", result,
                evdns_err_to_string(result));
  if (lk->purpose != DNS_FOR_CLIENTS) {
    dns_checks_on_answer_(dns, lk->purpose, &part);
  } else {
    if (lk->qtype != DNSQ_PTR)
      dns_checks_filter_(dns, &part);
    dns_cache_put_(dns, lk->key, &part);
    lookup_fan_out(lk, &part);
  }
  dns_part_clear_(&part);
  lookup_free(lk);
}

dns_lookup_t *
dns_lookup_launch_(exit_dns_t *dns, int qtype, const char *name,
                   const exit_dns_addr_t *addr, dns_purpose_t purpose,
                   const uint8_t key[DNS_KEY_LEN])
{
  dns_lookup_t *lk = al_calloc(1, sizeof(*lk));
  lk->dns = dns;
  dlist_init(&lk->node);
  dlist_init(&lk->waiters);
  if (key)
    memcpy(lk->key, key, DNS_KEY_LEN);
  lk->qtype = qtype;
  lk->purpose = purpose;
  int flags = (dns->search_domains && purpose == DNS_FOR_CLIENTS)
                  ? 0 : DNS_QUERY_NO_SEARCH;
  /* Linked first: evdns never calls back from inside these calls, but a
   * lookup is always findable by exit_dns_free() once launched. */
  dlist_push_tail(&dns->lookups, &lk->node);
  struct evdns_request *h = NULL;
  if (qtype == DNSQ_A && name) {
    h = evdns_base_resolve_ipv4(dns->evdns, name, flags, on_evdns, lk);
  } else if (qtype == DNSQ_AAAA && name) {
    h = evdns_base_resolve_ipv6(dns->evdns, name, flags, on_evdns, lk);
  } else if (qtype == DNSQ_PTR && addr && addr->family == 4) {
    struct in_addr in;
    memcpy(&in, addr->addr, 4);
    h = evdns_base_resolve_reverse(dns->evdns, &in, flags, on_evdns, lk);
  } else if (qtype == DNSQ_PTR && addr && addr->family == 6) {
    struct in6_addr in6;
    memcpy(&in6, addr->addr, 16);
    h = evdns_base_resolve_reverse_ipv6(dns->evdns, &in6, flags, on_evdns,
                                        lk);
  }
  if (!h) {
    log_warn_rl(300, "evdns refused to send a DNS query");
    lookup_free(lk);
    return NULL;
  }
  lk->handle = h;
  dns->stats.queries_sent++;
  return lk;
}

/* ---- requests ---- */

static void
req_free(exit_dns_req_t *req)
{
  for (int i = 0; i < 2; i++) {
    if (req->waits[i].lookup)
      dlist_remove(&req->waits[i].node);
    req->waits[i].lookup = NULL;
    dns_part_clear_(&req->parts[i]);
  }
  dlist_remove(&req->node);
  req->dns->n_reqs--;
  if (req->deliver_ev)
    event_free(req->deliver_ev);
  al_free(req);
}

/* Addresses of parts a (preferred) and b, interleaved by budget: the
 * preferred family first, but each family keeps at least half the slots
 * when the other has that many. */
static void
merge_addrs(exit_dns_answer_t *ans, const dns_part_t *a, const dns_part_t *b)
{
  size_t na = a ? a->n_addrs : 0, nb = b ? b->n_addrs : 0;
  size_t half = EXIT_DNS_MAX_ADDRS / 2;
  size_t ta = na, tb = nb;
  if (ta + tb > EXIT_DNS_MAX_ADDRS) {
    ta = na < EXIT_DNS_MAX_ADDRS - (nb < half ? nb : half)
             ? na : EXIT_DNS_MAX_ADDRS - (nb < half ? nb : half);
    tb = EXIT_DNS_MAX_ADDRS - ta < nb ? EXIT_DNS_MAX_ADDRS - ta : nb;
  }
  for (size_t i = 0; i < ta; i++)
    ans->addrs[ans->n_addrs++] = a->addrs[i];
  for (size_t i = 0; i < tb; i++)
    ans->addrs[ans->n_addrs++] = b->addrs[i];
}

/* The answer for a complete request; hostname points into req. */
static void
req_build_answer(const exit_dns_req_t *req, exit_dns_answer_t *ans)
{
  memset(ans, 0, sizeof(*ans));
  if (req->invalid) {
    ans->status = EXIT_DNS_INVALID;
    ans->ttl = exit_dns_clip_ttl(0);
    return;
  }
  bool any_ok = false, any_transient = false;
  uint32_t ttl = UINT32_MAX;
  for (int i = 0; i < req->n_parts; i++) {
    const dns_part_t *p = &req->parts[i];
    if (p->status == EXIT_DNS_OK) {
      any_ok = true;
      uint32_t t = exit_dns_clip_ttl(p->ttl);
      ttl = t < ttl ? t : ttl;
    } else if (p->status == EXIT_DNS_TRANSIENT) {
      any_transient = true;
    }
  }
  ans->status = any_ok ? EXIT_DNS_OK
                       : any_transient ? EXIT_DNS_TRANSIENT : EXIT_DNS_NOTFOUND;
  ans->ttl = any_ok ? ttl : exit_dns_clip_ttl(0);
  if (!any_ok)
    return;
  if (req->is_ptr) {
    ans->hostname = req->parts[0].hostname;
    return;
  }
  const dns_part_t *first = &req->parts[0], *second = NULL;
  if (req->n_parts == 2) {
    second = &req->parts[1];
    if (req->want & EXIT_DNS_PREFER_IPV6) {   /* parts: A, AAAA */
      const dns_part_t *t = first;
      first = second;
      second = t;
    }
  }
  merge_addrs(ans, first, second);
}

static void
on_deliver(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  exit_dns_req_t *req = arg;
  exit_dns_t *dns = req->dns;
  exit_dns_answer_t ans;
  req_build_answer(req, &ans);
  char host[EXIT_DNS_NAME_MAX + 1];
  if (ans.hostname) {
    snprintf(host, sizeof(host), "%s", ans.hostname);
    ans.hostname = host;
  }
  if (ans.status == EXIT_DNS_NOTFOUND)
    dns->stats.notfound++;
  else if (ans.status == EXIT_DNS_TRANSIENT)
    dns->stats.transient++;
  bool all_cached = !req->invalid;
  for (int i = 0; i < req->n_parts; i++)
    all_cached = all_cached && req->from_cache[i];
  if (all_cached)
    dns->stats.cache_hits++;
  exit_dns_cb_t cb = req->cb;
  void *cb_arg = req->arg;
  req_free(req);                /* the handle dies before the callback */
  cb(cb_arg, &ans);
}

static void
deliver_soon(exit_dns_req_t *req)
{
  for (int i = 0; i < req->n_parts; i++)
    if (!req->have[i])
      return;
  event_active(req->deliver_ev, EV_TIMEOUT, 0);
}

static exit_dns_req_t *
req_new(exit_dns_t *dns, exit_dns_cb_t cb, void *arg)
{
  if (dns->n_reqs >= dns->max_pending) {
    dns->stats.refused++;
    log_notice_rl(300, "Refused a DNS request: %zu already pending "
                  "(the exit's resolver is overloaded)", dns->n_reqs);
    return NULL;
  }
  exit_dns_req_t *req = al_calloc(1, sizeof(*req));
  req->dns = dns;
  req->cb = cb;
  req->arg = arg;
  dlist_init(&req->node);
  for (int i = 0; i < 2; i++) {
    dlist_init(&req->waits[i].node);
    req->waits[i].req = req;
    req->waits[i].slot = i;
  }
  req->deliver_ev = event_new(dns->base, -1, 0, on_deliver, req);
  if (!req->deliver_ev) {
    al_free(req);
    return NULL;
  }
  dlist_push_tail(&dns->reqs, &req->node);
  dns->n_reqs++;
  dns->stats.lookups++;
  return req;
}

/* Fill slot i of req from the cache, an in-flight lookup, or a new one
 * (name for A/AAAA, addr for PTR). */
static void
req_start_part(exit_dns_req_t *req, int i, const char *name,
               const exit_dns_addr_t *addr, const uint8_t key[DNS_KEY_LEN])
{
  exit_dns_t *dns = req->dns;
  const dns_cache_entry_t *e = dns_cache_get_(dns, key);
  if (e) {
    req->parts[i] = e->part;
    req->parts[i].hostname = e->part.hostname ? al_strdup(e->part.hostname)
                                              : NULL;
    req->have[i] = req->from_cache[i] = true;
    return;
  }
  dns_lookup_t *lk = hmap_get(dns->inflight, key);
  if (!lk) {
    lk = dns_lookup_launch_(dns, req->qtypes[i], name, addr, DNS_FOR_CLIENTS,
                            key);
    if (lk && hmap_put(dns->inflight, key, lk, NULL) >= 0)
      lk->in_map = true;
  }
  if (!lk) {
    req->parts[i].status = EXIT_DNS_TRANSIENT;
    req->have[i] = true;
    return;
  }
  req->waits[i].lookup = lk;
  dlist_push_tail(&lk->waiters, &req->waits[i].node);
}

exit_dns_req_t *
exit_dns_resolve(exit_dns_t *dns, const char *name, unsigned want,
                 exit_dns_cb_t cb, void *arg)
{
  if (!dns || !name || !cb)
    return NULL;
  exit_dns_req_t *req = req_new(dns, cb, arg);
  if (!req)
    return NULL;
  req->want = want;
  if (exit_dns_name_check(name, dns->allow_non_rfc953) != EXIT_DNS_OK) {
    req->invalid = true;
    dns->stats.invalid++;
    log_info_rl(60, "Refused to resolve an invalid name \"%s\"",
                safe_str(name));
    event_active(req->deliver_ev, EV_TIMEOUT, 0);
    return req;
  }
  char norm[EXIT_DNS_NAME_MAX + 1];
  size_t len = strlen(name);
  if (name[len - 1] == '.')
    len--;
  for (size_t i = 0; i < len; i++)
    norm[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32)
                                                 : name[i];
  norm[len] = '\0';
  if (!(want & (EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6)))
    want |= EXIT_DNS_WANT_IPV4;
  if (want & EXIT_DNS_WANT_IPV4)
    req->qtypes[req->n_parts++] = DNSQ_A;
  if (want & EXIT_DNS_WANT_IPV6)
    req->qtypes[req->n_parts++] = DNSQ_AAAA;
  for (int i = 0; i < req->n_parts; i++) {
    uint8_t key[DNS_KEY_LEN];
    dns_key_compute_(req->qtypes[i], norm, len, key);
    req_start_part(req, i, norm, NULL, key);
  }
  deliver_soon(req);
  return req;
}

exit_dns_req_t *
exit_dns_resolve_ptr(exit_dns_t *dns, const exit_dns_addr_t *addr,
                     exit_dns_cb_t cb, void *arg)
{
  if (!dns || !addr || !cb || (addr->family != 4 && addr->family != 6))
    return NULL;
  exit_dns_req_t *req = req_new(dns, cb, arg);
  if (!req)
    return NULL;
  req->is_ptr = true;
  req->n_parts = 1;
  req->qtypes[0] = DNSQ_PTR;
  uint8_t kd[17];
  kd[0] = (uint8_t)addr->family;
  memcpy(kd + 1, addr->addr, 16);
  if (addr->family == 4)
    memset(kd + 5, 0, 12);
  uint8_t key[DNS_KEY_LEN];
  dns_key_compute_(DNSQ_PTR, kd, sizeof(kd), key);
  req_start_part(req, 0, NULL, addr, key);
  deliver_soon(req);
  return req;
}

void
exit_dns_cancel(exit_dns_req_t *req)
{
  if (req)
    req_free(req);
}

/* ---- the resolver ---- */

/* Apply resolv.conf and the evdns options.  NULL or an error message. */
static const char *
configure_evdns(exit_dns_t *dns, const exit_dns_config_t *cfg)
{
  const char *path = cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf";
  int flags = DNS_OPTION_NAMESERVERS | DNS_OPTION_MISC;
  if (cfg->search_domains)
    flags |= DNS_OPTION_SEARCH;
  int r = evdns_base_resolv_conf_parse(dns->evdns, flags, path);
  switch (r) {
  case 0: break;
  case 1: return "cannot open the resolv.conf (ServerDNSResolvConfFile)";
  case 2: return "cannot stat the resolv.conf (ServerDNSResolvConfFile)";
  case 3: return "the resolv.conf is too large (ServerDNSResolvConfFile)";
  case 6: return "no nameserver in the resolv.conf (ServerDNSResolvConfFile)";
  default: return "cannot read the resolv.conf (ServerDNSResolvConfFile)";
  }
  if (evdns_base_count_nameservers(dns->evdns) < 1)
    return "no nameserver in the resolv.conf (ServerDNSResolvConfFile)";
  if (!cfg->search_domains)
    evdns_base_search_clear(dns->evdns);
  char buf[32];
  unsigned ms = cfg->timeout_msec ? cfg->timeout_msec : 5000;
  snprintf(buf, sizeof(buf), "%u.%03u", ms / 1000, ms % 1000);
  if (evdns_base_set_option(dns->evdns, "timeout:", buf) < 0)
    return "evdns refused the timeout";
  snprintf(buf, sizeof(buf), "%u", cfg->attempts ? cfg->attempts : 3);
  if (evdns_base_set_option(dns->evdns, "attempts:", buf) < 0)
    return "evdns refused the number of attempts";
  if (evdns_base_set_option(dns->evdns, "randomize-case:",
                            cfg->no_randomize_case ? "0" : "1") < 0)
    return "evdns refused randomize-case";
  /* As tor: with one nameserver there is nothing to fail over to, so
   * timeouts (from queries for names whose servers do not answer, which a
   * client can ask for at will) never mark it down (libevent caps the
   * value at 255); with several, 10 in a row do.  And a long in-flight
   * queue, so slow answers do not stall every other lookup. */
  if (evdns_base_set_option(dns->evdns, "max-timeouts:",
                            evdns_base_count_nameservers(dns->evdns) == 1
                                ? "255" : "10") < 0 ||
      evdns_base_set_option(dns->evdns, "max-inflight:", "8192") < 0)
    return "evdns refused max-timeouts / max-inflight";
  return NULL;
}

/* evdns's own messages (nameserver up/down) into our log: they name
 * nameservers, never what was looked up. */
static void
on_evdns_log(int is_warn, const char *msg)
{
  if (is_warn)
    log_notice_rl(300, "evdns: %s", msg);
  else
    log_info_rl(60, "evdns: %s", msg);
}

exit_dns_t *
exit_dns_new(struct event_base *base, const exit_dns_config_t *cfg,
             const char **errmsg)
{
  static const exit_dns_config_t zero_cfg;
  const char *dummy;
  if (!errmsg)
    errmsg = &dummy;
  *errmsg = NULL;
  if (!base) {
    *errmsg = "no event loop";
    return NULL;
  }
  if (!cfg)
    cfg = &zero_cfg;
  exit_dns_t *dns = al_calloc(1, sizeof(*dns));
  dns->base = base;
  dns->allow_non_rfc953 = cfg->allow_non_rfc953;
  dns->search_domains = cfg->search_domains;
  dns->cache_max = cfg->cache_max ? cfg->cache_max : EXIT_DNS_CACHE_DEFAULT;
  dns->max_pending = cfg->max_pending ? cfg->max_pending
                                      : EXIT_DNS_PENDING_DEFAULT;
  dns->now_fn = default_now;
  dlist_init(&dns->lookups);
  dlist_init(&dns->reqs);
  dns_cache_init_(dns);
  dns->inflight = hmap_new(DNS_KEY_LEN);
  evdns_set_log_fn(on_evdns_log);
  /* No nameservers from the system here: configure_evdns() reads exactly
   * the file asked for.  Idle, evdns lets the loop end. */
  dns->evdns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  const char *err = NULL;
  if (!dns->evdns || !dns->inflight || !dns->cache)
    err = "out of memory";
  if (!err)
    err = configure_evdns(dns, cfg);
  if (!err && dns_checks_setup_(dns, cfg) < 0)
    err = "cannot schedule the resolver self-checks";
  if (err) {
    *errmsg = err;
    exit_dns_free(dns);
    return NULL;
  }
  return dns;
}

void
exit_dns_free_(exit_dns_t *dns)
{
  if (!dns)
    return;
  dlist_node_t *n;
  while ((n = dlist_first(&dns->reqs)))
    req_free(DLIST_ENTRY(n, exit_dns_req_t, node));
  /* Lookups in flight are reported DNS_ERR_SHUTDOWN by evdns, from the
   * loop; they free themselves then. */
  while ((n = dlist_pop_head(&dns->lookups))) {
    dns_lookup_t *lk = DLIST_ENTRY(n, dns_lookup_t, node);
    lk->dns = NULL;
  }
  if (dns->evdns)
    evdns_base_free(dns->evdns, 1);
  dns_checks_free_(dns);
  dns_cache_free_all_(dns);
  hmap_free(dns->inflight);
  al_free(dns);
}

bool
exit_dns_is_hijacked(const exit_dns_t *dns)
{
  return dns && dns->hijacked;
}

void
exit_dns_get_stats(const exit_dns_t *dns, exit_dns_stats_t *out)
{
  if (!out)
    return;
  memset(out, 0, sizeof(*out));
  if (!dns)
    return;
  *out = dns->stats;
  out->cache_entries = hmap_count(dns->cache);
}
