/* test_exit_stream.c -- exit streams end to end (exit_stream.h; tor-spec
 * 6.2 BEGIN/CONNECTED/DATA, 6.3 END reasons, 6.4 RESOLVE/RESOLVED, 7.4
 * stream windows) on the test network of exit_net.h: a client builds
 * 3-hop circuits through in-process relays, the last one an exit, to a TCP
 * server on 127.0.0.1 in the same loop; a fake resolver answers names
 * asynchronously. */
#include <string.h>

#include "allium/lib/evloop/evloop.h"

#include "exit_net.h"
#include "feature/exit/exit_stream_st.h"

TestSuite(exit_stream, .init = exit_net_setup, .fini = exit_net_teardown,
          .timeout = 60);


Test(exit_stream, download_and_upload_through_three_hops)
{
  net_t n;
  srv_t s;
  cli_t c = { 0 };
  net_start(&n, "accept 127.0.0.1:*,reject *:*", NULL);
  srv_start(&s, 2 * 1024 * 1024, true);
  c.target = "127.0.0.1";
  c.port = s.port;
  c.to_send = 300 * 1024;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.addr.type, CELL_ADDR_IPV4);
  cr_assert_eq(c.addr.addr[0], 127);
  cr_assert_eq(c.ttl, EXIT_LITERAL_TTL);
  cr_assert_eq(c.end_reason, RELAY_END_DONE);
  cr_assert_eq(c.rx, 2 * 1024 * 1024, "received %zu", c.rx);
  cr_assert(!c.bad, "downloaded bytes differ");
  cr_assert_eq(s.rx, c.to_send, "server got %zu", s.rx);
  cr_assert(!s.bad, "uploaded bytes differ");
  exit_stats_t st = net_stats(&n);
  cr_assert_eq(st.begins, 1);
  cr_assert_eq(st.connected, 1);
  cr_assert_eq(st.bytes_from_net, 2 * 1024 * 1024);
  cr_assert_eq(st.bytes_to_net, c.to_send);
  cr_assert_eq(st.open_streams, 0);
  cr_log_info("exit: %llu socket read pauses", (unsigned long long)st.reads_paused);
  srv_stop(&s);
  net_stop(&n);
}

Test(exit_stream, exit_policy_refuses_with_exitpolicy)
{
  net_t n;
  srv_t s;
  cli_t c = { 0 };
  net_start(&n, "reject 127.0.0.1:*,accept *:*", NULL);
  srv_start(&s, 10, true);
  c.target = "127.0.0.1";
  c.port = s.port;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 0);
  cr_assert_eq(c.end_reason, RELAY_END_EXITPOLICY);
  cr_assert_eq(s.accepted, 0, "the exit connected anyway");
  cr_assert_eq(net_stats(&n).refused_policy, 1);
  srv_stop(&s);
  net_stop(&n);
}

Test(exit_stream, closed_port_gives_connectrefused)
{
  net_t n;
  cli_t c = { 0 };
  net_start(&n, "accept *:*", NULL);
  c.target = "127.0.0.1";
  c.port = closed_port();
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 0);
  cr_assert_eq(c.end_reason, RELAY_END_CONNECTREFUSED);
  cr_assert_eq(net_stats(&n).connect_failed, 1);
  net_stop(&n);
}

Test(exit_stream, ipv6_literal_without_ipv6_exit_is_refused)
{
  net_t n;
  cli_t c = { 0 };
  net_start(&n, "accept *:*", NULL);
  c.target = "::1";
  c.port = 80;
  /* relay_stream_begin sends flags 0: IPv6 not okay -> EXITPOLICY */
  one_stream(&c, &n, 3);
  cr_assert_eq(c.end_reason, RELAY_END_EXITPOLICY);
  net_stop(&n);
}

Test(exit_stream, names_go_through_the_resolver)
{
  net_t n;
  srv_t s;
  cli_t c = { 0 }, d = { 0 };
  net_start(&n, "accept 127.0.0.1:*,reject *:*", &FAKE);
  srv_start(&s, 1000, true);
  N_LOOKUPS = 0;
  c.target = "good.test";
  c.port = s.port;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.addr.type, CELL_ADDR_IPV4);
  cr_assert_eq(c.ttl, 77);
  cr_assert_eq(c.rx, 1000);
  d.target = "missing.test";
  d.port = s.port;
  one_stream(&d, &n, 3);
  cr_assert_eq(d.connected, 0);
  cr_assert_eq(d.end_reason, RELAY_END_RESOLVEFAILED);
  cr_assert_eq(N_LOOKUPS, 2);
  cr_assert_eq(net_stats(&n).resolve_failed, 1);
  srv_stop(&s);
  net_stop(&n);
}

Test(exit_stream, resolved_address_rejected_by_policy)
{
  net_t n;
  cli_t c = { 0 };
  net_start(&n, "reject 127.0.0.0/8:*,accept *:*", &FAKE);
  c.target = "good.test";
  c.port = 80;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.connected, 0);
  cr_assert_eq(c.end_reason, RELAY_END_EXITPOLICY);
  net_stop(&n);
}

Test(exit_stream, names_without_a_resolver_fail)
{
  net_t n;
  cli_t c = { 0 };
  net_start(&n, "accept *:*", NULL);
  c.target = "good.test";
  c.port = 80;
  one_stream(&c, &n, 3);
  cr_assert_eq(c.end_reason, RELAY_END_RESOLVEFAILED);
  net_stop(&n);
}

Test(exit_stream, resolve_forward_ptr_and_literal)
{
  net_t n;
  net_start(&n, "accept *:*", &FAKE);
  relay_resolved_t r = resolve_one(&n, "good.test");
  cr_assert_eq(r.n, 1);
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_IPV4);
  cr_assert_eq(r.answers[0].value[0], 127);
  cr_assert_eq(r.answers[0].ttl, 77);
  r = resolve_one(&n, "1.0.0.127.in-addr.arpa");
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_HOSTNAME);
  cr_assert_eq(r.answers[0].len, strlen("localhost.test"));
  cr_assert_eq(memcmp(r.answers[0].value, "localhost.test", 14), 0);
  r = resolve_one(&n, "192.0.2.9");
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_IPV4);
  cr_assert_eq(r.answers[0].value[3], 9);
  r = resolve_one(&n, "missing.test");
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_ERROR_NONTRANSIENT);
  r = resolve_one(&n, "hidden.onion");
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_ERROR_NONTRANSIENT);
  exit_stats_t st = net_stats(&n);
  cr_assert_eq(st.resolves, 5);
  cr_assert_eq(st.resolved, 3);
  net_stop(&n);
}

Test(exit_stream, one_hop_client_circuit_is_refused)
{
  net_t n;
  srv_t s;
  cli_t c = { 0 };
  net_start(&n, "accept *:*", NULL);
  srv_start(&s, 10, true);
  c.target = "127.0.0.1";
  c.port = s.port;
  one_stream(&c, &n, 1);   /* straight to the exit from a client channel */
  cr_assert_eq(c.end_reason, RELAY_END_TORPROTOCOL);
  cr_assert_eq(s.accepted, 0);
  cr_assert_eq(net_stats(&n).refused_client, 1);
  srv_stop(&s);
  net_stop(&n);
}

static bool srv_has(void *arg)
{
  cli_t *c = arg;
  return c->ended || c->closed;
}

Test(exit_stream, slow_server_holds_back_sendmes)
{
  net_t n;
  srv_t s;
  cli_t c = { 0 };
  net_start(&n, "accept *:*", NULL);
  srv_start(&s, 0, false);          /* does not read at first */
  c.target = "127.0.0.1";
  c.port = s.port;
  c.to_send = 8 * 1024 * 1024;
  launch(&c, &n, 3);
  uint64_t end = evloop_monotonic_msec() + 20000;
  while (net_stats(&n).recv_paused == 0 && !c.closed &&
         evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_gt(net_stats(&n).recv_paused, 0, "the exit never held SENDMEs");
  srv_resume_reading(&s);
  end = evloop_monotonic_msec() + 30000;
  while (s.rx < c.to_send && !c.closed && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(s.rx, c.to_send, "server got %zu", s.rx);
  cr_assert(!s.bad);
  cr_assert_eq(c.closed, 0, "the circuit died (window violation?)");
  (void)srv_has;
  srv_stop(&s);
  net_stop(&n);
}


/* A client that goes on sending after the exit said stop (as one ignoring
 * XOFF under congestion control could) is cut off at the exit's per-stream
 * output cap with END RESOURCELIMIT; the cap is lowered below the point
 * where the exit asks it to stop, so any backlog trips it. */
Test(exit_stream, output_cap_ends_the_stream)
{
  net_t n;
  srv_t s;
  cli_t c = { 0 };
  net_start(&n, "accept *:*", NULL);
  n.x->cfg.obuf_max = 96 * 1024;
  srv_start(&s, 0, false);          /* never reads */
  c.target = "127.0.0.1";
  c.port = s.port;
  c.to_send = 16 * 1024 * 1024;
  launch(&c, &n, 3);
  uint64_t end = evloop_monotonic_msec() + 20000;
  while (!c.ended && !c.closed && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(c.ended, 1, "the stream was not ended");
  cr_assert_eq(c.end_reason, RELAY_END_RESOURCELIMIT, "reason %u",
               c.end_reason);
  cr_assert_eq(net_stats(&n).obuf_overflows, 1);
  cr_assert_eq(c.closed, 0, "the circuit died, not just the stream");
  srv_stop(&s);
  net_stop(&n);
}
