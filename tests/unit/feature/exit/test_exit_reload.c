/* test_exit_reload.c -- what a SIGHUP changes in a running exit
 * (exit_set_policy(), exit_set_resolver(); app_exit.c): the new policy for
 * new BEGINs only, ExitRelay 0 refusing BEGIN and RESOLVE with END
 * EXITPOLICY, lookups in flight answered when the resolver is replaced;
 * IPv6 exits (IPv6Exit, BEGIN flags IPv6-ok / IPv6-preferred / IPv4-not-ok,
 * tor-spec 6.2; AAAA answers); exit sockets under BandwidthRate
 * (core/channel/channel_bw.h).  On the test network of exit_net.h. */
#include <string.h>

#include "allium/feature/exit/exit_policy.h"
#include "allium/lib/evloop/evloop.h"

#include "exit_net.h"

TestSuite(exit_reload, .init = exit_net_setup, .fini = exit_net_teardown,
          .timeout = 60);


static policy_t *exit_off_policy(void)
{
  exit_policy_cfg_t pc;
  policy_t *p = NULL;
  char *err = NULL;
  memset(&pc, 0, sizeof(pc));
  pc.exit_relay = 0;
  cr_assert_eq(exit_policy_build(&pc, &p, &err), 0);
  return p;
}

Test(exit_reload, new_policy_applies_to_new_begins_only)
{
  net_t n;
  srv_t s;
  cli_t a = { 0 }, b = { 0 };
  net_start(&n, "accept 127.0.0.1:*,reject *:*", NULL);
  srv_start(&s, 0, true);
  a.target = "127.0.0.1";
  a.port = s.port;
  launch(&a, &n, 3);
  run_until(connected_or_ended, &a, 20000);
  cr_assert_eq(a.connected, 1);
  /* the reload: this port is now refused */
  policy_t *p2 = policy_new();
  char line[64];
  snprintf(line, sizeof(line), "reject 127.0.0.1:%u,accept *:*",
           (unsigned)s.port);
  cr_assert_eq(policy_parse_config(p2, line), 0);
  exit_set_policy(n.x, p2, false);
  policy_free(n.policy);   /* the exit must not use the old one again */
  n.policy = p2;
  b.target = "127.0.0.1";
  b.port = s.port;
  one_stream(&b, &n, 3);
  cr_assert_eq(b.connected, 0);
  cr_assert_eq(b.end_reason, RELAY_END_EXITPOLICY);
  cr_assert_eq(s.accepted, 1, "the exit connected for the refused BEGIN");
  /* the stream opened before the reload keeps going */
  s.to_send = 5000;
  srv_write(s.fd, EV_WRITE, &s);
  run_until(ended_or_resolved, &a, 20000);
  cr_assert_eq(a.rx, 5000, "old stream got %zu", a.rx);
  cr_assert(!a.bad);
  cr_assert_eq(a.end_reason, RELAY_END_DONE);
  srv_stop(&s);
  net_stop(&n);
}

Test(exit_reload, exit_relay_0_on_reload_refuses_begin_and_resolve)
{
  net_t n;
  srv_t s;
  cli_t c = { 0 }, r = { 0 }, d = { 0 };
  net_start(&n, "accept *:*", &FAKE);
  srv_start(&s, 10, true);
  policy_t *off = exit_off_policy();
  exit_set_policy(n.x, off, false);
  c.target = "127.0.0.1";
  c.port = s.port;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.end_reason, RELAY_END_EXITPOLICY);
  r.resolve = true;
  r.target = "good.test";
  one_stream(&r, &n, 3);
  cr_assert_eq(r.resolved, 0);
  cr_assert_eq(r.end_reason, RELAY_END_EXITPOLICY);
  cr_assert_eq(s.accepted, 0);
  cr_assert_eq(net_stats(&n).refused_policy, 2);
  /* and back on (ExitRelay 1 again) */
  exit_set_policy(n.x, n.policy, false);
  policy_free(off);
  d.target = "127.0.0.1";
  d.port = s.port;
  one_stream(&d, &n, 3);
  cr_assert_eq(d.connected, 1);
  cr_assert_eq(d.end_reason, RELAY_END_DONE);
  srv_stop(&s);
  net_stop(&n);
}

static bool lookups_are(void *arg)
{
  return N_LOOKUPS >= *(int *)arg;
}

Test(exit_reload, new_resolver_answers_lookups_in_flight)
{
  net_t n;
  srv_t s;
  cli_t b = { 0 }, r = { 0 }, c = { 0 };
  net_start(&n, "accept 127.0.0.1:*,reject *:*", &FAKE);
  srv_start(&s, 100, true);
  N_LOOKUPS = N_CANCELS = 0;
  b.target = "hang.test";
  b.port = s.port;
  launch(&b, &n, 3);
  r.resolve = true;
  r.target = "hang.test";
  launch(&r, &n, 3);
  int two = 2;
  run_until(lookups_are, &two, 20000);
  cr_assert_eq(N_LOOKUPS, 2, "lookups started: %d", N_LOOKUPS);
  cr_assert_eq(b.ended + r.resolved, 0);
  /* ServerDNS* changed: the old resolver's lookups are answered now */
  exit_set_resolver(n.x, &FAKE);
  cr_assert_eq(N_CANCELS, 2, "cancelled %d", N_CANCELS);
  run_until(ended_or_resolved, &b, 20000);
  run_until(ended_or_resolved, &r, 20000);
  cr_assert_eq(b.end_reason, RELAY_END_RESOLVEFAILED);
  cr_assert_eq(b.connected, 0);
  cr_assert_eq(r.resolved, 1);
  relay_resolved_t rr;
  cr_assert_eq(relay_resolved_decode(&rr, r.resolved_body, r.resolved_len),
               0);
  cr_assert_eq(rr.answers[0].type, RELAY_RESOLVED_ERROR_TRANSIENT);
  cr_assert_eq(b.closed + r.closed, 0);
  /* the new resolver serves new streams */
  c.target = "good.test";
  c.port = s.port;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.rx, 100);
  cr_assert_eq(exit_refuse_lookups(n.x), 0);
  srv_stop(&s);
  net_stop(&n);
}

/* ---- IPv6 (IPv6Exit, BEGIN flags IPv6-ok / IPv6-preferred) ---- */

Test(exit_reload, ipv6_begin_to_loopback_with_ipv6_exit)
{
  net_t n;
  srv_t s;
  if (!srv6_start(&s, 3000))
    cr_skip_test("::1 is not available on this machine: IPv6 exit test "
                 "skipped");
  net_start6(&n, true);
  uint32_t flags[2] = { RELAY_BEGIN_FLAG_IPV6_OK,
                        RELAY_BEGIN_FLAG_IPV6_OK |
                            RELAY_BEGIN_FLAG_IPV6_PREFERRED };
  for (int i = 0; i < 2; i++) {
    cli_t c = { 0 };
    c.target = "::1";
    c.port = s.port;
    c.flags = flags[i];
    one_stream(&c, &n, 3);
    cr_assert_eq(c.connected, 1, "flags %u: end %d", flags[i], c.end_reason);
    cr_assert_eq(c.addr.type, CELL_ADDR_IPV6);
    cr_assert_eq(c.addr.addr[15], 1);
    cr_assert_eq(c.rx, 3000);
    cr_assert(!c.bad);
    srv_next(&s);   /* one connection per server: take the next one */
  }
  cr_assert_eq(s.accepted, 2);
  /* no IPv6-ok flag: an IPv6 literal is refused (tor-spec 6.2) */
  cli_t d = { 0 };
  d.target = "::1";
  d.port = s.port;
  one_stream(&d, &n, 3);
  cr_assert_eq(d.end_reason, RELAY_END_EXITPOLICY);
  cr_assert_eq(s.accepted, 2);
  srv_stop(&s);
  net_stop(&n);
}

Test(exit_reload, ipv6_exit_0_refuses_ipv6)
{
  net_t n;
  srv_t s;
  if (!srv6_start(&s, 10))
    cr_skip_test("::1 is not available on this machine: IPv6 exit test "
                 "skipped");
  net_start6(&n, false);
  cli_t c = { 0 };
  c.target = "::1";
  c.port = s.port;
  c.flags = RELAY_BEGIN_FLAG_IPV6_OK | RELAY_BEGIN_FLAG_IPV6_PREFERRED;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 0);
  cr_assert_eq(c.end_reason, RELAY_END_EXITPOLICY);
  cr_assert_eq(s.accepted, 0, "the exit connected over IPv6");
  srv_stop(&s);
  net_stop(&n);
}

Test(exit_reload, names_with_aaaa_follow_the_begin_flags)
{
  net_t n;
  srv_t s4, s6;
  if (!srv6_start(&s6, 600))
    cr_skip_test("::1 is not available on this machine: IPv6 exit test "
                 "skipped");
  net_start6(&n, true);
  srv_start(&s4, 400, true);
  /* the same port on both families is not guaranteed: use a policy-less
   * check of where each stream went by the CONNECTED address */
  struct { uint32_t flags; uint16_t port; int type; size_t rx; } k[3] = {
    { 0, s4.port, CELL_ADDR_IPV4, 400 },                 /* IPv4 only */
    { RELAY_BEGIN_FLAG_IPV6_OK, s4.port, CELL_ADDR_IPV4, 400 }, /* v4 first */
    { RELAY_BEGIN_FLAG_IPV6_OK | RELAY_BEGIN_FLAG_IPV6_PREFERRED, s6.port,
      CELL_ADDR_IPV6, 600 },
  };
  for (int i = 0; i < 3; i++) {
    cli_t c = { 0 };
    srv_t *s = k[i].type == CELL_ADDR_IPV6 ? &s6 : &s4;
    srv_next(s);
    c.target = "dual.test";
    c.port = k[i].port;
    c.flags = k[i].flags;
    one_stream(&c, &n, 3);
    cr_assert_eq(c.connected, 1, "case %d: end %d", i, c.end_reason);
    cr_assert_eq(c.addr.type, k[i].type, "case %d", i);
    cr_assert_eq(c.rx, k[i].rx, "case %d: %zu", i, c.rx);
  }
  /* IPv4-not-okay with IPv6-ok: only the AAAA answer */
  cli_t v6only = { 0 };
  srv_next(&s6);
  v6only.target = "dual.test";
  v6only.port = s6.port;
  v6only.flags = RELAY_BEGIN_FLAG_IPV6_OK | RELAY_BEGIN_FLAG_IPV4_NOT_OK;
  one_stream(&v6only, &n, 3);
  cr_assert_eq(v6only.connected, 1);
  cr_assert_eq(v6only.addr.type, CELL_ADDR_IPV6);
  /* RESOLVE: AAAA answers too, since this exit does IPv6 */
  relay_resolved_t r = resolve_one(&n, "dual.test");
  cr_assert_eq(r.n, 2);
  cr_assert(r.answers[0].type == RELAY_RESOLVED_IPV6 ||
            r.answers[1].type == RELAY_RESOLVED_IPV6);
  srv_stop(&s4);
  srv_stop(&s6);
  net_stop(&n);
}

Test(exit_reload, names_with_aaaa_without_ipv6_exit)
{
  net_t n;
  net_start6(&n, false);
  /* IPv6-preferred, but IPv6Exit 0: the A answer is used */
  srv_t s4;
  srv_start(&s4, 50, true);
  cli_t c = { 0 };
  c.target = "dual.test";
  c.port = s4.port;
  c.flags = RELAY_BEGIN_FLAG_IPV6_OK | RELAY_BEGIN_FLAG_IPV6_PREFERRED;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.addr.type, CELL_ADDR_IPV4);
  /* IPv4-not-okay leaves nothing this exit may use */
  cli_t d = { 0 };
  d.target = "dual.test";
  d.port = s4.port;
  d.flags = RELAY_BEGIN_FLAG_IPV6_OK | RELAY_BEGIN_FLAG_IPV4_NOT_OK;
  one_stream(&d, &n, 3);
  cr_assert_eq(d.connected, 0);
  cr_assert(d.end_reason == RELAY_END_RESOLVEFAILED ||
            d.end_reason == RELAY_END_EXITPOLICY, "end %d", d.end_reason);
  /* RESOLVE: the IPv4 answer only */
  relay_resolved_t r = resolve_one(&n, "dual.test");
  cr_assert_eq(r.n, 1);
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_IPV4);
  srv_stop(&s4);
  net_stop(&n);
}
