/* test_exit_dns.c -- the exit resolver (src/feature/exit/exit_dns*.c;
 * tor-spec 6.2 / 6.4 hostnames and PTR lookups, tor(1) ServerDNS*) against
 * fake_dns.c, a responder on 127.0.0.1 named by a resolv.conf in a
 * temporary folder: A, AAAA, both, PTR, NXDOMAIN, SERVFAIL, timeouts,
 * cancel, free with lookups in flight, the cache (hits from the loop, the
 * clipped TTL, the bound, expiry), invalid names, hijacking detection,
 * ServerDNSTestAddresses, malformed replies, resolv.conf errors.  No query
 * ever leaves 127.0.0.1. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allium/feature/exit/exit_dns.h"
#include "fake_dns.h"

static struct event_base *base;
static fake_dns_t *fake;
static char dir[64], conf[128];
static exit_dns_t *dns;
static uint64_t now_s = 1000;
static bool in_call;            /* inside exit_dns_resolve*() */

static uint64_t
fake_clock(void *arg)
{
  return *(uint64_t *)arg;
}

static void
write_conf(const char *extra)
{
  FILE *f = fopen(conf, "w");
  cr_assert_not_null(f);
  fprintf(f, "%snameserver 127.0.0.1:%d\n", extra ? extra : "",
          fake_dns_port(fake));
  fclose(f);
}

static void
setup(void)
{
  base = event_base_new();
  cr_assert_not_null(base);
  fake = fake_dns_new(base);
  cr_assert_not_null(fake);
  snprintf(dir, sizeof(dir), "/tmp/allium-exitdns-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(conf, sizeof(conf), "%s/resolv.conf", dir);
  write_conf(NULL);
  now_s = 1000;
}

/* Turn the loop without blocking until nothing is left to run. */
static void
drain(void)
{
  for (int i = 0; i < 10; i++)
    event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
teardown(void)
{
  exit_dns_free(dns);
  drain();                      /* evdns reports the shutdown to lookups */
  fake_dns_free(fake);
  event_base_free(base);
  unlink(conf);
  rmdir(dir);
}

TestSuite(exit_dns, .init = setup, .fini = teardown, .timeout = 30);

static const char *const no_tests[] = { NULL };

/* A resolver on the fake server: no self-checks unless asked. */
static exit_dns_t *
mk(exit_dns_config_t *cfg)
{
  exit_dns_config_t c;
  if (!cfg) {
    memset(&c, 0, sizeof(c));
    cfg = &c;
  }
  cfg->resolv_conf = conf;
  if (!cfg->test_addresses)
    cfg->test_addresses = no_tests;
  if (!cfg->timeout_msec)
    cfg->timeout_msec = 300;
  if (!cfg->attempts)
    cfg->attempts = 1;
  const char *err = NULL;
  exit_dns_t *d = exit_dns_new(base, cfg, &err);
  cr_assert_not_null(d, "exit_dns_new: %s", err ? err : "?");
  exit_dns_set_clock(d, fake_clock, &now_s);
  return d;
}

typedef struct got_t {
  int calls;
  exit_dns_answer_t ans;
  char host[256];
} got_t;

static void
on_answer(void *arg, const exit_dns_answer_t *a)
{
  got_t *g = arg;
  cr_assert_not(in_call, "callback from inside exit_dns_resolve()");
  g->calls++;
  g->ans = *a;
  g->ans.hostname = NULL;
  g->host[0] = '\0';
  if (a->hostname)
    snprintf(g->host, sizeof(g->host), "%s", a->hostname);
}

static exit_dns_req_t *
resolve(const char *name, unsigned want, got_t *g)
{
  in_call = true;
  exit_dns_req_t *r = exit_dns_resolve(dns, name, want, on_answer, g);
  in_call = false;
  return r;
}

/* Run the loop until *calls > 0 or ms pass. */
static void
run_until(const int *calls, int ms)
{
  struct timeval tick = { 0, 10000 };
  for (int i = 0; i < ms / 10 && (!calls || *calls == 0); i++) {
    event_base_loopexit(base, &tick);
    event_base_loop(base, 0);
  }
}

static const uint8_t A1[] = { 192, 0, 2, 1, 192, 0, 2, 2 };
static const uint8_t V6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

Test(exit_dns, forward_a_with_clipped_ttl)
{
  fake_dns_add(fake, "a.test", 1, FAKE_ANSWER, A1, 2, 30);
  dns = mk(NULL);
  got_t g = { 0 };
  cr_assert_not_null(resolve("A.Test", EXIT_DNS_WANT_IPV4, &g));
  cr_assert_eq(g.calls, 0);
  run_until(&g.calls, 2000);
  cr_assert_eq(g.calls, 1);
  cr_assert_eq(g.ans.status, EXIT_DNS_OK);
  cr_assert_eq(g.ans.n_addrs, 2);
  cr_assert_eq(g.ans.addrs[0].family, 4);
  cr_assert_eq(memcmp(g.ans.addrs[0].addr, A1, 4), 0);
  cr_assert_eq(memcmp(g.ans.addrs[1].addr, A1 + 4, 4), 0);
  cr_assert_eq(g.ans.ttl, 300);  /* 30 s -> the low value */
  run_until(NULL, 100);
  cr_assert_eq(g.calls, 1, "called twice");
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.lookups, 1);
  cr_assert_eq(st.queries_sent, 1);
}

Test(exit_dns, forward_aaaa_high_ttl)
{
  fake_dns_add(fake, "six.test", 28, FAKE_ANSWER, V6, 1, 7200);
  dns = mk(NULL);
  got_t g = { 0 };
  resolve("six.test", EXIT_DNS_WANT_IPV6, &g);
  run_until(&g.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_OK);
  cr_assert_eq(g.ans.n_addrs, 1);
  cr_assert_eq(g.ans.addrs[0].family, 6);
  cr_assert_eq(memcmp(g.ans.addrs[0].addr, V6, 16), 0);
  cr_assert_eq(g.ans.ttl, 3600);
  cr_assert_eq(fake_dns_queries(fake), 1);  /* no A query */
}

Test(exit_dns, both_families_and_preference)
{
  fake_dns_add(fake, "dual.test", 1, FAKE_ANSWER, A1, 1, 600);
  fake_dns_add(fake, "dual.test", 28, FAKE_ANSWER, V6, 1, 100);
  fake_dns_add(fake, "v4only.test", 1, FAKE_ANSWER, A1, 2, 600);
  dns = mk(NULL);
  got_t g = { 0 }, h = { 0 }, k = { 0 };
  resolve("dual.test", EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6, &g);
  resolve("dual.test", EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6 |
          EXIT_DNS_PREFER_IPV6, &h);
  resolve("v4only.test", EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6, &k);
  run_until(&k.calls, 2000);
  run_until(&g.calls, 2000);
  run_until(&h.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_OK);
  cr_assert_eq(g.ans.n_addrs, 2);
  cr_assert_eq(g.ans.addrs[0].family, 4);
  cr_assert_eq(g.ans.addrs[1].family, 6);
  cr_assert_eq(g.ans.ttl, 300, "the smaller clipped TTL");
  cr_assert_eq(h.ans.n_addrs, 2);
  cr_assert_eq(h.ans.addrs[0].family, 6);
  cr_assert_eq(h.ans.addrs[1].family, 4);
  /* The second request waited on the first's queries: 2 for dual, 2 for
   * v4only (its AAAA: no data). */
  cr_assert_eq(fake_dns_queries_for(fake, "dual.test"), 2);
  cr_assert_eq(k.ans.status, EXIT_DNS_OK);
  cr_assert_eq(k.ans.n_addrs, 2);
  cr_assert_eq(k.ans.ttl, 3600);
}

static exit_dns_req_t *
resolve_ptr(const exit_dns_addr_t *a, got_t *g)
{
  in_call = true;
  exit_dns_req_t *r = exit_dns_resolve_ptr(dns, a, on_answer, g);
  in_call = false;
  return r;
}

Test(exit_dns, ptr_v4_and_v6)
{
  fake_dns_add(fake, "7.2.0.192.in-addr.arpa", 12, FAKE_ANSWER,
               "host.example", 1, 86400);
  fake_dns_add(fake, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
               "8.b.d.0.1.0.0.2.ip6.arpa", 12, FAKE_ANSWER, "six.example",
               1, 10);
  dns = mk(NULL);
  exit_dns_addr_t a = { .family = 4, .addr = { 192, 0, 2, 7 } };
  exit_dns_addr_t b = { .family = 6 };
  memcpy(b.addr, V6, 16);
  got_t g = { 0 }, h = { 0 }, n = { 0 };
  cr_assert_not_null(resolve_ptr(&a, &g));
  cr_assert_not_null(resolve_ptr(&b, &h));
  exit_dns_addr_t c = { .family = 4, .addr = { 192, 0, 2, 8 } };
  resolve_ptr(&c, &n);
  run_until(&g.calls, 2000);
  run_until(&h.calls, 2000);
  run_until(&n.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_OK);
  cr_assert_str_eq(g.host, "host.example");
  cr_assert_eq(g.ans.n_addrs, 0);
  cr_assert_eq(g.ans.ttl, 3600);
  cr_assert_eq(h.ans.status, EXIT_DNS_OK);
  cr_assert_str_eq(h.host, "six.example");
  cr_assert_eq(h.ans.ttl, 300);
  cr_assert_eq(n.ans.status, EXIT_DNS_NOTFOUND);
  exit_dns_addr_t bad = { .family = 5 };
  cr_assert_null(exit_dns_resolve_ptr(dns, &bad, on_answer, &g));
}

Test(exit_dns, nxdomain_servfail_nodata)
{
  fake_dns_add(fake, "gone.test", 0, FAKE_NXDOMAIN, NULL, 0, 0);
  fake_dns_add(fake, "broken.test", 0, FAKE_SERVFAIL, NULL, 0, 0);
  fake_dns_add(fake, "empty.test", 0, FAKE_NODATA, NULL, 0, 0);
  dns = mk(NULL);
  got_t g = { 0 }, h = { 0 }, k = { 0 };
  resolve("gone.test", EXIT_DNS_WANT_IPV4, &g);
  resolve("broken.test", EXIT_DNS_WANT_IPV4, &h);
  resolve("empty.test", EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6, &k);
  run_until(&g.calls, 2000);
  run_until(&h.calls, 2000);
  run_until(&k.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_NOTFOUND);
  cr_assert_eq(h.ans.status, EXIT_DNS_TRANSIENT);
  cr_assert_eq(k.ans.status, EXIT_DNS_NOTFOUND);
  cr_assert_eq(g.ans.n_addrs + h.ans.n_addrs + k.ans.n_addrs, 0);
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.notfound, 2);
  cr_assert_eq(st.transient, 1);
  /* NXDOMAIN is cached, SERVFAIL is not. */
  unsigned q = fake_dns_queries(fake);
  got_t g2 = { 0 }, h2 = { 0 };
  resolve("gone.test", EXIT_DNS_WANT_IPV4, &g2);
  resolve("broken.test", EXIT_DNS_WANT_IPV4, &h2);
  run_until(&g2.calls, 2000);
  run_until(&h2.calls, 2000);
  cr_assert_eq(g2.ans.status, EXIT_DNS_NOTFOUND);
  cr_assert_eq(h2.ans.status, EXIT_DNS_TRANSIENT);
  cr_assert_eq(fake_dns_queries(fake), q + 1);
}

Test(exit_dns, timeout_is_transient_and_bounded)
{
  fake_dns_add(fake, "slow.test", 0, FAKE_DROP, NULL, 0, 0);
  exit_dns_config_t c = { .timeout_msec = 200, .attempts = 2 };
  dns = mk(&c);
  got_t g = { 0 };
  struct timeval t0, t1;
  gettimeofday(&t0, NULL);
  resolve("slow.test", EXIT_DNS_WANT_IPV4, &g);
  run_until(&g.calls, 5000);
  gettimeofday(&t1, NULL);
  cr_assert_eq(g.calls, 1);
  cr_assert_eq(g.ans.status, EXIT_DNS_TRANSIENT);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
  cr_assert_geq(ms, 150);
  cr_assert_lt(ms, 3000);
  cr_assert_geq(fake_dns_queries(fake), 2, "two attempts");
}

Test(exit_dns, cancel_before_answer)
{
  fake_dns_add(fake, "a.test", 1, FAKE_ANSWER, A1, 1, 600);
  fake_dns_add(fake, "slow.test", 0, FAKE_DROP, NULL, 0, 0);
  dns = mk(NULL);
  got_t g = { 0 }, h = { 0 };
  exit_dns_req_t *r = resolve("a.test", EXIT_DNS_WANT_IPV4, &g);
  exit_dns_req_t *s = resolve("slow.test", EXIT_DNS_WANT_IPV4, &h);
  exit_dns_cancel(r);
  exit_dns_cancel(s);
  exit_dns_cancel(NULL);
  run_until(NULL, 600);
  cr_assert_eq(g.calls + h.calls, 0);
  cr_assert_eq(fake_dns_queries_for(fake, "a.test"), 1);
  /* The cancelled lookup still filled the cache. */
  got_t k = { 0 };
  resolve("a.test", EXIT_DNS_WANT_IPV4, &k);
  run_until(&k.calls, 2000);
  cr_assert_eq(k.ans.status, EXIT_DNS_OK);
  cr_assert_eq(fake_dns_queries_for(fake, "a.test"), 1);
  /* Cancelling a cache hit before the loop turns: no callback either. */
  got_t m = { 0 };
  exit_dns_cancel(resolve("a.test", EXIT_DNS_WANT_IPV4, &m));
  run_until(NULL, 50);
  cr_assert_eq(m.calls, 0);
}

Test(exit_dns, free_with_requests_in_flight)
{
  fake_dns_add(fake, "a.test", 1, FAKE_ANSWER, A1, 1, 600);
  fake_dns_add(fake, "slow.test", 0, FAKE_DROP, NULL, 0, 0);
  dns = mk(NULL);
  got_t g[4] = { { 0 } };
  resolve("a.test", EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6, &g[0]);
  resolve("slow.test", EXIT_DNS_WANT_IPV4, &g[1]);
  resolve("bad..name", EXIT_DNS_WANT_IPV4, &g[2]);
  exit_dns_addr_t a = { .family = 4, .addr = { 10, 1, 2, 3 } };
  resolve_ptr(&a, &g[3]);
  /* Let the queries reach the server and some answers come back. */
  event_base_loop(base, EVLOOP_NONBLOCK);
  int before[4];
  for (int i = 0; i < 4; i++)
    before[i] = g[i].calls;
  cr_assert_eq(before[1], 0);
  exit_dns_free(dns);
  cr_assert_null(dns);
  run_until(NULL, 500);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(g[i].calls, before[i], "request %d called after free", i);
  cr_assert_geq(fake_dns_queries(fake), 1);
  exit_dns_free(dns);           /* NULL is fine */
}

Test(exit_dns, cache_hit_from_the_loop_with_clipped_ttl)
{
  fake_dns_add(fake, "a.test", 1, FAKE_ANSWER, A1, 2, 1000);
  dns = mk(NULL);
  got_t g = { 0 };
  resolve("a.test", EXIT_DNS_WANT_IPV4, &g);
  run_until(&g.calls, 2000);
  cr_assert_eq(g.ans.ttl, 3600);
  now_s += 3000;                /* the TTL reported never counts down */
  got_t h = { 0 };
  cr_assert_not_null(resolve("A.TEST.", EXIT_DNS_WANT_IPV4, &h));
  cr_assert_eq(h.calls, 0, "a cache hit must not be answered inline");
  run_until(&h.calls, 2000);
  cr_assert_eq(h.calls, 1);
  cr_assert_eq(h.ans.status, EXIT_DNS_OK);
  cr_assert_eq(h.ans.n_addrs, 2);
  cr_assert_eq(h.ans.ttl, 3600);
  cr_assert_eq(fake_dns_queries(fake), 1);
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.cache_hits, 1);
  cr_assert_eq(st.lookups, 2);
  cr_assert_eq(st.cache_entries, 1);
}

Test(exit_dns, cache_bound_evicts_least_recently_used)
{
  static const char *names[] = { "n1.test", "n2.test", "n3.test", "n4.test",
                                 "n5.test" };
  for (int i = 0; i < 5; i++)
    fake_dns_add(fake, names[i], 1, FAKE_ANSWER, A1, 1, 600);
  exit_dns_config_t c = { .cache_max = 3 };
  dns = mk(&c);
  for (int i = 0; i < 3; i++) {
    got_t g = { 0 };
    resolve(names[i], EXIT_DNS_WANT_IPV4, &g);
    run_until(&g.calls, 2000);
  }
  got_t t = { 0 };
  resolve(names[0], EXIT_DNS_WANT_IPV4, &t);   /* n1 now most recent */
  run_until(&t.calls, 2000);
  for (int i = 3; i < 5; i++) {
    got_t g = { 0 };
    resolve(names[i], EXIT_DNS_WANT_IPV4, &g);
    run_until(&g.calls, 2000);
  }
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.cache_entries, 3);
  cr_assert_eq(st.cache_evictions, 2);
  unsigned q = fake_dns_queries(fake);
  got_t a = { 0 }, b = { 0 };
  resolve(names[0], EXIT_DNS_WANT_IPV4, &a);   /* kept */
  run_until(&a.calls, 2000);
  cr_assert_eq(fake_dns_queries(fake), q);
  resolve(names[1], EXIT_DNS_WANT_IPV4, &b);   /* evicted */
  run_until(&b.calls, 2000);
  cr_assert_eq(fake_dns_queries(fake), q + 1);
}

Test(exit_dns, expired_entries_are_not_served)
{
  fake_dns_add(fake, "a.test", 1, FAKE_ANSWER, A1, 1, 10);
  fake_dns_add(fake, "b.test", 1, FAKE_ANSWER, A1, 1, 5000);
  dns = mk(NULL);
  got_t g = { 0 }, h = { 0 };
  resolve("a.test", EXIT_DNS_WANT_IPV4, &g);
  resolve("b.test", EXIT_DNS_WANT_IPV4, &h);
  run_until(&g.calls, 2000);
  run_until(&h.calls, 2000);
  cr_assert_eq(fake_dns_queries(fake), 2);
  /* a: kept 300 +- 240 s; b: 3600 +- 240 s. */
  now_s += 59;
  got_t g2 = { 0 };
  resolve("a.test", EXIT_DNS_WANT_IPV4, &g2);
  run_until(&g2.calls, 2000);
  cr_assert_eq(fake_dns_queries(fake), 2, "served before the earliest expiry");
  now_s += 300 + 241 - 59;
  got_t g3 = { 0 }, h3 = { 0 };
  resolve("a.test", EXIT_DNS_WANT_IPV4, &g3);
  resolve("b.test", EXIT_DNS_WANT_IPV4, &h3);
  run_until(&g3.calls, 2000);
  run_until(&h3.calls, 2000);
  cr_assert_eq(fake_dns_queries_for(fake, "a.test"), 2, "expired, asked again");
  cr_assert_eq(fake_dns_queries_for(fake, "b.test"), 1);
  now_s += 3600 + 241;
  got_t h4 = { 0 };
  resolve("b.test", EXIT_DNS_WANT_IPV4, &h4);
  run_until(&h4.calls, 2000);
  cr_assert_eq(fake_dns_queries_for(fake, "b.test"), 2);
  cr_assert_eq(h4.ans.status, EXIT_DNS_OK);
}

Test(exit_dns, invalid_names_send_nothing)
{
  dns = mk(NULL);
  char longname[300], longlabel[80];
  memset(longname, 'a', sizeof(longname));
  for (int i = 50; i < 299; i += 50)
    longname[i] = '.';
  longname[299] = '\0';
  memset(longlabel, 'b', 64);
  strcpy(longlabel + 64, ".test");
  const char *bad[] = { "", ".", "a..b", ".a", "x.onion", "X.ONION.",
                        "www.example.com.exit", "bad name.test",
                        "bad\tname", "ex!cl.test", "per%cent.test",
                        "\xc3\xa9.test", longname, longlabel, "a.b\x7f" };
  size_t n = sizeof(bad) / sizeof(bad[0]);
  got_t g[16] = { { 0 } };
  for (size_t i = 0; i < n; i++)
    cr_assert_not_null(resolve(bad[i], EXIT_DNS_WANT_IPV4, &g[i]));
  run_until(&g[n - 1].calls, 2000);
  run_until(NULL, 50);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(g[i].calls, 1, "name %zu", i);
    cr_assert_eq(g[i].ans.status, EXIT_DNS_INVALID, "name %zu", i);
  }
  cr_assert_eq(fake_dns_queries(fake), 0);
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.invalid, n);
  cr_assert_null(exit_dns_resolve(dns, NULL, 1, on_answer, &g[0]));
  cr_assert_null(exit_dns_resolve(dns, "a.test", 1, NULL, NULL));
  cr_assert_null(exit_dns_resolve(NULL, "a.test", 1, on_answer, &g[0]));
}

Test(exit_dns, non_rfc953_names_when_allowed)
{
  fake_dns_add(fake, "ex!cl.test", 1, FAKE_ANSWER, A1, 1, 600);
  exit_dns_config_t c = { .allow_non_rfc953 = true };
  dns = mk(&c);
  got_t g = { 0 }, h = { 0 };
  resolve("ex!cl.test", EXIT_DNS_WANT_IPV4, &g);
  resolve("y.onion", EXIT_DNS_WANT_IPV4, &h);
  run_until(&g.calls, 2000);
  run_until(&h.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_OK);
  cr_assert_eq(h.ans.status, EXIT_DNS_INVALID, ".onion stays refused");
}

static void
run_checks(void)
{
  for (int i = 0; i < 300 && !exit_dns_checks_done(dns); i++)
    run_until(NULL, 10);
  cr_assert(exit_dns_checks_done(dns));
}

Test(exit_dns, hijacking_detected_and_filtered)
{
  static const uint8_t liar[4] = { 10, 66, 66, 66 };
  static const uint8_t mixed[8] = { 10, 66, 66, 66, 192, 0, 2, 9 };
  fake_dns_default(fake, FAKE_ANSWER, liar);
  fake_dns_add(fake, "real.test", 1, FAKE_ANSWER, A1, 1, 600);
  fake_dns_add(fake, "mixed.test", 1, FAKE_ANSWER, mixed, 2, 600);
  exit_dns_config_t c = { .detect_hijacking = true };
  dns = mk(&c);
  cr_assert_not(exit_dns_checks_done(dns));
  run_checks();
  cr_assert(exit_dns_is_hijacked(dns));
  unsigned probes = fake_dns_queries(fake);
  cr_assert_geq(probes, 3);
  got_t g = { 0 }, h = { 0 }, k = { 0 };
  resolve("no-such-name.test", EXIT_DNS_WANT_IPV4, &g);
  resolve("real.test", EXIT_DNS_WANT_IPV4, &h);
  resolve("mixed.test", EXIT_DNS_WANT_IPV4, &k);
  run_until(&g.calls, 2000);
  run_until(&h.calls, 2000);
  run_until(&k.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_NOTFOUND);
  cr_assert_eq(h.ans.status, EXIT_DNS_OK);
  cr_assert_eq(k.ans.status, EXIT_DNS_OK);
  cr_assert_eq(k.ans.n_addrs, 1);
  cr_assert_eq(k.ans.addrs[0].addr[3], 9);
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.hijacked_answers, 2);
}

Test(exit_dns, honest_resolver_not_hijacked)
{
  exit_dns_config_t c = { .detect_hijacking = true };
  dns = mk(&c);
  run_checks();
  cr_assert_not(exit_dns_is_hijacked(dns));
  cr_assert_geq(fake_dns_queries(fake), 3);
}

Test(exit_dns, test_addresses_failures_counted)
{
  static const char *const tests[] = { "good.test", "bad.test", NULL };
  fake_dns_add(fake, "good.test", 1, FAKE_ANSWER, A1, 1, 600);
  exit_dns_config_t c = { .test_addresses = tests };
  dns = mk(&c);
  run_checks();
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.test_failures, 1);
  cr_assert_eq(fake_dns_queries_for(fake, "good.test"), 1);
  cr_assert_eq(fake_dns_queries_for(fake, "bad.test"), 1);
  cr_assert_not(exit_dns_is_hijacked(dns));
}

Test(exit_dns, malformed_replies_do_not_crash)
{
  static const struct { const char *name; fake_dns_action_t a; } cases[] = {
    { "trunc.test", FAKE_TRUNCATED }, { "wrongid.test", FAKE_WRONG_ID },
    { "huge.test", FAKE_HUGE_COUNTS }, { "rdlen.test", FAKE_BAD_RDLENGTH },
    { "loop.test", FAKE_POINTER_LOOP }, { "wrongq.test", FAKE_WRONG_QUESTION },
    { "tc.test", FAKE_TC_BIT },
  };
  enum { N = sizeof(cases) / sizeof(cases[0]) };
  for (size_t i = 0; i < N; i++)
    fake_dns_add(fake, cases[i].name, 0, cases[i].a, NULL, 0, 0);
  exit_dns_config_t c = { .timeout_msec = 200 };
  dns = mk(&c);
  got_t g[N][3];
  memset(g, 0, sizeof(g));
  for (size_t i = 0; i < N; i++) {
    resolve(cases[i].name, EXIT_DNS_WANT_IPV4, &g[i][0]);
    resolve(cases[i].name, EXIT_DNS_WANT_IPV6, &g[i][1]);
    exit_dns_addr_t a = { .family = 4, .addr = { 1, 2, 3, (uint8_t)i } };
    (void)a;
  }
  for (size_t i = 0; i < N; i++)
    for (int k = 0; k < 2; k++)
      run_until(&g[i][k].calls, 3000);
  run_until(NULL, 100);
  for (size_t i = 0; i < N; i++) {
    for (int k = 0; k < 2; k++) {
      cr_assert_eq(g[i][k].calls, 1, "%s type %d", cases[i].name, k);
      cr_assert_neq(g[i][k].ans.status, EXIT_DNS_INVALID);
      cr_assert_leq(g[i][k].ans.n_addrs, EXIT_DNS_MAX_ADDRS);
      if (g[i][k].ans.status != EXIT_DNS_OK)
        cr_assert_eq(g[i][k].ans.n_addrs, 0);
    }
  }
  /* A reply for another question is never taken as the answer. */
  for (int k = 0; k < 2; k++)
    cr_assert_neq(g[5][k].ans.status, EXIT_DNS_OK);
}

Test(exit_dns, many_addresses_capped)
{
  uint8_t many[4 * 20];
  for (int i = 0; i < 20; i++) {
    many[4 * i] = 198;
    many[4 * i + 1] = 51;
    many[4 * i + 2] = 100;
    many[4 * i + 3] = (uint8_t)i;
  }
  uint8_t six[16 * 6];
  for (int i = 0; i < 6; i++) {
    memcpy(six + 16 * i, V6, 16);
    six[16 * i + 15] = (uint8_t)i;
  }
  fake_dns_add(fake, "many.test", 1, FAKE_ANSWER, many, 20, 600);
  fake_dns_add(fake, "many.test", 28, FAKE_ANSWER, six, 6, 600);
  dns = mk(NULL);
  got_t g = { 0 };
  resolve("many.test", EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6, &g);
  run_until(&g.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_OK);
  cr_assert_eq(g.ans.n_addrs, EXIT_DNS_MAX_ADDRS);
  size_t n6 = 0;
  for (size_t i = 0; i < g.ans.n_addrs; i++)
    n6 += g.ans.addrs[i].family == 6;
  cr_assert_eq(n6, EXIT_DNS_MAX_ADDRS / 2, "each family keeps half");
  cr_assert_eq(g.ans.addrs[0].family, 4);
}

/* Callbacks that cancel other requests or free the resolver. */
static exit_dns_req_t *victim;
static got_t victim_got;
static void
cancel_other(void *arg, const exit_dns_answer_t *a)
{
  on_answer(arg, a);
  exit_dns_cancel(victim);
  victim = NULL;
}
static void
free_resolver(void *arg, const exit_dns_answer_t *a)
{
  on_answer(arg, a);
  exit_dns_free(dns);
}

Test(exit_dns, callbacks_may_cancel_and_free)
{
  fake_dns_add(fake, "a.test", 1, FAKE_ANSWER, A1, 1, 600);
  dns = mk(NULL);
  got_t g = { 0 }, h = { 0 };
  /* Both wait on the same lookup: the first answered cancels the second. */
  exit_dns_resolve(dns, "a.test", EXIT_DNS_WANT_IPV4, cancel_other, &g);
  victim = exit_dns_resolve(dns, "a.test", EXIT_DNS_WANT_IPV4, on_answer,
                            &victim_got);
  run_until(&g.calls, 2000);
  run_until(NULL, 50);
  cr_assert_eq(g.calls, 1);
  cr_assert_eq(victim_got.calls, 0);
  exit_dns_resolve(dns, "a.test", EXIT_DNS_WANT_IPV4, free_resolver, &h);
  exit_dns_resolve(dns, "b.test", EXIT_DNS_WANT_IPV4, on_answer, &g);
  run_until(&h.calls, 2000);
  cr_assert_eq(h.calls, 1);
  cr_assert_null(dns);
  run_until(NULL, 100);
  cr_assert_eq(g.calls, 1, "no callback after free");
}

Test(exit_dns, resolv_conf_errors)
{
  const char *err = NULL;
  exit_dns_config_t c = { .resolv_conf = "/nonexistent/allium/resolv.conf" };
  cr_assert_null(exit_dns_new(base, &c, &err));
  cr_assert_not_null(err);
  cr_assert(strstr(err, "ServerDNSResolvConfFile"), "%s", err);
  char empty[160];
  snprintf(empty, sizeof(empty), "%s/empty.conf", dir);
  FILE *f = fopen(empty, "w");
  fputs("# no nameserver\noptions ndots:1\n", f);
  fclose(f);
  c.resolv_conf = empty;
  err = NULL;
  cr_assert_null(exit_dns_new(base, &c, &err));
  cr_assert_not_null(err);
  unlink(empty);
  err = NULL;
  cr_assert_null(exit_dns_new(NULL, &c, &err));
  cr_assert_not_null(err);
  drain();
}

Test(exit_dns, search_domains_off_by_default)
{
  write_conf("search example.test\n");
  fake_dns_add(fake, "host.example.test", 1, FAKE_ANSWER, A1, 1, 600);
  dns = mk(NULL);
  got_t g = { 0 };
  resolve("host", EXIT_DNS_WANT_IPV4, &g);
  run_until(&g.calls, 2000);
  cr_assert_eq(g.ans.status, EXIT_DNS_NOTFOUND);
  cr_assert_eq(fake_dns_queries_for(fake, "host.example.test"), 0);
  exit_dns_free(dns);
  drain();
  exit_dns_config_t c = { .search_domains = true };
  dns = mk(&c);
  got_t h = { 0 };
  resolve("host", EXIT_DNS_WANT_IPV4, &h);
  run_until(&h.calls, 2000);
  cr_assert_eq(h.ans.status, EXIT_DNS_OK);
  cr_assert_eq(fake_dns_queries_for(fake, "host.example.test"), 1);
}

Test(exit_dns, pending_requests_bounded)
{
  fake_dns_add(fake, "slow.test", 0, FAKE_DROP, NULL, 0, 0);
  exit_dns_config_t c = { .max_pending = 3, .timeout_msec = 150 };
  dns = mk(&c);
  got_t g[5] = { { 0 } };
  for (int i = 0; i < 3; i++)
    cr_assert_not_null(resolve("slow.test", EXIT_DNS_WANT_IPV4, &g[i]));
  cr_assert_null(resolve("slow.test", EXIT_DNS_WANT_IPV4, &g[3]));
  cr_assert_null(resolve("bad..name", EXIT_DNS_WANT_IPV4, &g[4]));
  exit_dns_stats_t st;
  exit_dns_get_stats(dns, &st);
  cr_assert_eq(st.refused, 2);
  cr_assert_eq(st.lookups, 3);
  run_until(&g[2].calls, 3000);
  run_until(NULL, 20);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(g[i].calls, 1);
  cr_assert_eq(g[3].calls + g[4].calls, 0);
  cr_assert_eq(fake_dns_queries_for(fake, "slow.test"), 1,
               "three requests shared one query");
  /* Answered requests free their places. */
  cr_assert_not_null(resolve("slow.test", EXIT_DNS_WANT_IPV4, &g[3]));
  run_until(&g[3].calls, 3000);
  cr_assert_eq(g[3].calls, 1);
  cr_assert_eq(fake_dns_queries_for(fake, "slow.test"), 2);
}

/* Random garbage after a matching id and question: every request is
 * answered exactly once, with a sane answer, whatever evdns makes of it. */
Test(exit_dns, random_replies_do_not_crash)
{
  srand(424242);
  fake_dns_default(fake, FAKE_RANDOM, NULL);
  exit_dns_config_t c = { .timeout_msec = 150 };
  dns = mk(&c);
  enum { N = 120 };
  static got_t g[N];
  memset(g, 0, sizeof(g));
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof(name), "r%d.test", i);
    if (i % 3 == 2) {
      exit_dns_addr_t a = { .family = 4, .addr = { 10, 0, (uint8_t)(i >> 8),
                                                   (uint8_t)i } };
      cr_assert_not_null(resolve_ptr(&a, &g[i]));
    } else {
      cr_assert_not_null(resolve(name, i % 3 ? EXIT_DNS_WANT_IPV6
                                             : EXIT_DNS_WANT_IPV4, &g[i]));
    }
  }
  for (int i = 0; i < N; i++)
    run_until(&g[i].calls, 3000);
  run_until(NULL, 50);
  int ok = 0;
  for (int i = 0; i < N; i++) {
    cr_assert_eq(g[i].calls, 1, "request %d", i);
    cr_assert_leq(g[i].ans.n_addrs, EXIT_DNS_MAX_ADDRS);
    cr_assert(g[i].ans.status == EXIT_DNS_OK ||
              g[i].ans.status == EXIT_DNS_NOTFOUND ||
              g[i].ans.status == EXIT_DNS_TRANSIENT);
    cr_assert(g[i].ans.ttl == 300 || g[i].ans.ttl == 3600);
    ok += g[i].ans.status == EXIT_DNS_OK;
  }
  cr_assert_geq(fake_dns_queries(fake), N);
  cr_assert_lt(ok, N, "random bytes never all parse as answers");
}
