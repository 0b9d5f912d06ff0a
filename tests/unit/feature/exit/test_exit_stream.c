/* test_exit_stream.c -- exit streams end to end (exit_stream.h; tor-spec
 * 6.2 BEGIN/CONNECTED/DATA, 6.3 END reasons, 6.4 RESOLVE/RESOLVED, 7.4
 * stream windows): a client (chanmgr) builds 3-hop circuits through
 * in-process relays running the cell engine, the last one with the exit
 * attached, to a TCP server on 127.0.0.1 in the same loop.  A fake resolver
 * answers names asynchronously. */
#include <criterion/criterion.h>

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/exit/exit_policy.h"
#include "allium/feature/exit/exit_stream.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include "core/mainloop/cellswitch_st.h"
#include "core/mainloop/switch_relay.h"

static struct event_base *BASE;
static tls_context_t *TLS;
static chanmgr_t *CM;
static struct event *POKE;

static void poke(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what; (void)arg;
}

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
  TLS = tls_context_new_client();
  CM = chanmgr_new(BASE, TLS);
  POKE = event_new(BASE, -1, EV_PERSIST, poke, NULL);
  struct timeval tv = { 0, 20000 };
  event_add(POKE, &tv);
}

static void teardown(void)
{
  chanmgr_free(CM);
  event_free(POKE);
  tls_context_free(TLS);
  event_base_free(BASE);
}

TestSuite(exit_stream, .init = setup, .fini = teardown, .timeout = 60);

static uint8_t pat_down(size_t i) { return (uint8_t)(i * 13 + 7 + (i >> 12)); }
static uint8_t pat_up(size_t i) { return (uint8_t)(i * 7 + (i >> 10)); }

/* ---- the destination: a TCP server ---- */

typedef struct srv_t {
  int lfd, fd;
  uint16_t port;
  struct event *lev, *rev, *wev;
  size_t to_send, sent, rx;
  bool bad, eof, reading;
  int accepted;
} srv_t;

static void srv_write(evutil_socket_t fd, short what, void *arg)
{
  srv_t *s = arg;
  (void)what;
  uint8_t buf[8192];
  while (s->sent < s->to_send) {
    size_t n = s->to_send - s->sent < sizeof(buf) ? s->to_send - s->sent
                                                   : sizeof(buf);
    for (size_t i = 0; i < n; i++)
      buf[i] = pat_down(s->sent + i);
    ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
    if (w <= 0)
      break;
    s->sent += (size_t)w;
  }
  if (s->sent < s->to_send)
    event_add(s->wev, NULL);
  else if (s->to_send)
    shutdown(fd, SHUT_WR);   /* all sent: EOF (the exit sends END DONE) */
}

static void srv_read(evutil_socket_t fd, short what, void *arg)
{
  srv_t *s = arg;
  (void)what;
  uint8_t buf[16384];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      s->eof = true;
      event_del(s->rev);
    }
    return;
  }
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] != pat_up(s->rx + (size_t)i))
      s->bad = true;
  s->rx += (size_t)n;
}

static void srv_accept(evutil_socket_t fd, short what, void *arg)
{
  srv_t *s = arg;
  (void)what;
  int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
  if (c < 0)
    return;
  if (s->fd >= 0) {      /* one connection per test server */
    close(c);
    return;
  }
  s->fd = c;
  s->accepted++;
  s->rev = event_new(BASE, c, EV_READ | EV_PERSIST, srv_read, s);
  s->wev = event_new(BASE, c, EV_WRITE, srv_write, s);
  if (s->reading)
    event_add(s->rev, NULL);
  srv_write(c, EV_WRITE, s);
}

static void srv_start(srv_t *s, size_t to_send, bool reading)
{
  struct sockaddr_in sin;
  socklen_t sl = sizeof(sin);
  memset(s, 0, sizeof(*s));
  s->fd = -1;
  s->to_send = to_send;
  s->reading = reading;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (!reading) {   /* a small window: the exit's socket fills up soon */
    int small = 4096;
    (void)setsockopt(s->lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  }
  cr_assert_eq(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(s->lfd, 8), 0);
  cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&sin, &sl), 0);
  s->port = ntohs(sin.sin_port);
  s->lev = event_new(BASE, s->lfd, EV_READ | EV_PERSIST, srv_accept, s);
  event_add(s->lev, NULL);
}

static void srv_resume_reading(srv_t *s)
{
  s->reading = true;
  if (s->rev)
    event_add(s->rev, NULL);
}

static void srv_stop(srv_t *s)
{
  event_free(s->lev);
  if (s->rev)
    event_free(s->rev);
  if (s->wev)
    event_free(s->wev);
  close(s->lfd);
  if (s->fd >= 0)
    close(s->fd);
}

/* A port nobody listens on. */
static uint16_t closed_port(void)
{
  srv_t s;
  srv_start(&s, 0, false);
  uint16_t p = s.port;
  srv_stop(&s);
  return p;
}

/* ---- a fake resolver: answers from a zero-delay timer ---- */

typedef struct fake_req_t {
  struct event *ev;
  exit_dns_cb_t cb;
  void *arg;
  exit_dns_answer_t a;
} fake_req_t;

static int N_LOOKUPS;

static void fake_fire(evutil_socket_t fd, short what, void *arg)
{
  fake_req_t *r = arg;
  (void)fd; (void)what;
  event_free(r->ev);
  r->cb(r->arg, &r->a);
  al_free(r);
}

static exit_dns_req_t *fake_queue(fake_req_t *r, exit_dns_cb_t cb, void *arg)
{
  r->cb = cb;
  r->arg = arg;
  r->ev = evtimer_new(BASE, fake_fire, r);
  struct timeval tv = { 0, 1000 };
  evtimer_add(r->ev, &tv);
  N_LOOKUPS++;
  return (exit_dns_req_t *)r;
}

static exit_dns_req_t *fake_resolve(void *ctx, const char *name, unsigned want,
                                    exit_dns_cb_t cb, void *arg)
{
  (void)ctx;
  fake_req_t *r = al_calloc(1, sizeof(*r));
  r->a.ttl = 77;
  if (!strcmp(name, "good.test") && (want & EXIT_DNS_WANT_IPV4)) {
    r->a.status = EXIT_DNS_OK;
    r->a.n_addrs = 2;
    r->a.addrs[0].family = 6;                  /* not wanted: skipped */
    r->a.addrs[0].addr[15] = 1;
    r->a.addrs[1].family = 4;
    memcpy(r->a.addrs[1].addr, "\x7f\x00\x00\x01", 4);
  } else if (!strcmp(name, "dual.test")) {
    /* A and AAAA, as the real resolver: only the families asked for */
    if (want & EXIT_DNS_WANT_IPV4) {
      r->a.addrs[r->a.n_addrs].family = 4;
      memcpy(r->a.addrs[r->a.n_addrs++].addr, "\x7f\x00\x00\x01", 4);
    }
    if (want & EXIT_DNS_WANT_IPV6) {
      r->a.addrs[r->a.n_addrs].family = 6;
      r->a.addrs[r->a.n_addrs++].addr[15] = 1;
    }
    r->a.status = r->a.n_addrs ? EXIT_DNS_OK : EXIT_DNS_NOTFOUND;
  } else if (!strcmp(name, "hang.test")) {
    r->a.status = EXIT_DNS_OK;   /* never answered within a test */
    r->cb = cb;
    r->arg = arg;
    r->ev = evtimer_new(BASE, fake_fire, r);
    struct timeval tv = { 600, 0 };
    evtimer_add(r->ev, &tv);
    N_LOOKUPS++;
    return (exit_dns_req_t *)r;
  } else {
    r->a.status = EXIT_DNS_NOTFOUND;
  }
  return fake_queue(r, cb, arg);
}

static exit_dns_req_t *fake_ptr(void *ctx, const exit_dns_addr_t *a,
                                exit_dns_cb_t cb, void *arg)
{
  (void)ctx;
  fake_req_t *r = al_calloc(1, sizeof(*r));
  r->a.ttl = 88;
  if (a->family == 4 && a->addr[0] == 127) {
    r->a.status = EXIT_DNS_OK;
    r->a.hostname = "localhost.test";
  } else {
    r->a.status = EXIT_DNS_NOTFOUND;
  }
  return fake_queue(r, cb, arg);
}

static int N_CANCELS;

static void fake_cancel(void *ctx, exit_dns_req_t *req)
{
  fake_req_t *r = (fake_req_t *)req;
  (void)ctx;
  N_CANCELS++;
  event_free(r->ev);
  al_free(r);
}

static const exit_resolver_t FAKE = { fake_resolve, fake_ptr, fake_cancel,
                                      NULL };

/* ---- the network: three relays, the last one an exit ---- */

typedef struct net_t {
  srelay_t *r[3];
  exit_t *x;
  policy_t *policy;
} net_t;

static void net_start(net_t *n, const char *policy, const exit_resolver_t *res)
{
  memset(n, 0, sizeof(*n));
  for (int i = 0; i < 3; i++)
    n->r[i] = srelay_new(BASE, NULL);
  cellswitch_t *sw = srelay_switch(n->r[2]);
  sw->cfg.hooks.on_circ_created = NULL;   /* no echo table: the engine's */
  sw->cfg.hooks.on_streams = NULL;
  n->policy = policy_new();
  cr_assert_eq(policy_parse_config(n->policy, policy), 0);
  exit_cfg_t c;
  memset(&c, 0, sizeof(c));
  c.policy = n->policy;
  c.resolver = res;
  n->x = exit_new(BASE, sw, &c);
  cr_assert_not_null(n->x);
}

static exit_stats_t net_stats(net_t *n)
{
  exit_stats_t s;
  exit_get_stats(n->x, &s);
  return s;
}

static void net_stop(net_t *n)
{
  for (int i = 0; i < 3; i++)
    srelay_free(n->r[i]);    /* the exit's circuits close first */
  exit_free(n->x);
  policy_free(n->policy);
}

/* ---- the client ---- */

typedef struct cli_t {
  uint64_t circ;
  int built, closed, connected, ended, resolved;
  uint8_t end_reason;
  cell_addr_t addr;
  uint32_t ttl;
  uint16_t sid;
  const char *target;    /* BEGIN host:port, or RESOLVE name */
  uint16_t port;
  uint32_t flags;        /* BEGIN flags (tor-spec 6.2) */
  bool resolve;
  size_t to_send;
  size_t rx;
  bool bad;
  uint8_t resolved_body[RELAY_BODY_MAX];
  size_t resolved_len;
} cli_t;

static void c_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  cli_t *c = arg;
  c->built++;
  relay_streams_t *t = chanmgr_streams(cm, circ);
  if (c->resolve) {
    cr_assert_eq(relay_stream_resolve(t, c->target, &c->sid), 0);
  } else {
    cr_assert_eq(relay_stream_begin(t, c->target, c->port, c->flags,
                                    &c->sid), 0);
    if (c->to_send) {
      uint8_t *buf = al_malloc(c->to_send);
      for (size_t i = 0; i < c->to_send; i++)
        buf[i] = pat_up(i);
      cr_assert_eq(relay_stream_write(t, c->sid, buf, c->to_send), 0);
      al_free(buf);
    }
  }
  chanmgr_flush(cm, circ);
}

static void c_closed(chanmgr_t *cm, uint64_t circ,
                     const chanmgr_close_info_t *info, void *arg)
{
  cli_t *c = arg;
  (void)cm; (void)circ; (void)info;
  c->closed++;
}

static void c_stream(chanmgr_t *cm, uint64_t circ,
                     const relay_stream_event_t *ev, void *arg)
{
  cli_t *c = arg;
  (void)cm; (void)circ;
  switch (ev->type) {
  case RELAY_STREAM_EV_CONNECTED:
    c->connected++;
    c->addr = ev->addr;
    c->ttl = ev->ttl;
    break;
  case RELAY_STREAM_EV_DATA:
    for (size_t i = 0; i < ev->len; i++)
      if (ev->data[i] != pat_down(c->rx + i))
        c->bad = true;
    c->rx += ev->len;
    break;
  case RELAY_STREAM_EV_END:
    c->ended++;
    c->end_reason = ev->reason;
    break;
  case RELAY_STREAM_EV_RESOLVED:
    c->resolved++;
    memcpy(c->resolved_body, ev->data, ev->len);
    c->resolved_len = ev->len;
    break;
  default:
    break;
  }
}

static void launch(cli_t *c, net_t *n, size_t hops)
{
  static chanmgr_circ_cbs_t cbs;
  circ_hop_spec_t specs[3];
  for (size_t i = 0; i < hops; i++)
    specs[i] = *srelay_spec(n->r[3 - hops + i]);
  cbs.on_built = c_built;
  cbs.on_closed = c_closed;
  cbs.on_stream = c_stream;
  cbs.arg = c;
  chanmgr_launch_t l = { specs, hops, false, 10000 };
  cr_assert_eq(chanmgr_launch(CM, &l, &cbs, &c->circ), 0);
}

static void run_until(bool (*done)(void *), void *arg, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (!done(arg) && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

static bool ended_or_resolved(void *arg)
{
  cli_t *c = arg;
  return c->ended || c->resolved || c->closed;
}

/* One stream to target; waits for its END (or RESOLVED). */
static void one_stream(cli_t *c, net_t *n, size_t hops)
{
  launch(c, n, hops);
  run_until(ended_or_resolved, c, 20000);
  cr_assert_eq(c->built, 1, "circuit not built");
  cr_assert_eq(c->closed, 0, "circuit closed");
}

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

static relay_resolved_t
resolve_one(net_t *n, const char *name)
{
  cli_t c = { 0 };
  relay_resolved_t r;
  c.resolve = true;
  c.target = name;
  one_stream(&c, n, 3);
  cr_assert_eq(c.resolved, 1, "no RESOLVED for %s (end %d)", name,
               c.end_reason);
  cr_assert_eq(relay_resolved_decode(&r, c.resolved_body, c.resolved_len), 0);
  static uint8_t keep[RELAY_BODY_MAX];   /* the answers point into it */
  memcpy(keep, c.resolved_body, c.resolved_len);
  cr_assert_eq(relay_resolved_decode(&r, keep, c.resolved_len), 0);
  return r;
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

/* ---- reload (exit_set_policy / exit_set_resolver, app_exit.c) ---- */

static bool connected_or_ended(void *arg)
{
  cli_t *c = arg;
  return c->connected || c->ended || c->closed;
}

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

Test(exit_stream, new_policy_applies_to_new_begins_only)
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

Test(exit_stream, exit_relay_0_on_reload_refuses_begin_and_resolve)
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

Test(exit_stream, new_resolver_answers_lookups_in_flight)
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

/* A TCP server on [::1]; false (and nothing started) if ::1 is missing. */
static bool srv6_start(srv_t *s, size_t to_send)
{
  struct sockaddr_in6 sin;
  socklen_t sl = sizeof(sin);
  memset(s, 0, sizeof(*s));
  s->fd = -1;
  s->to_send = to_send;
  s->reading = true;
  memset(&sin, 0, sizeof(sin));
  sin.sin6_family = AF_INET6;
  sin.sin6_addr = in6addr_loopback;
  s->lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s->lfd < 0)
    return false;
  if (bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
      listen(s->lfd, 8) < 0 ||
      getsockname(s->lfd, (struct sockaddr *)&sin, &sl) < 0) {
    close(s->lfd);
    return false;
  }
  s->port = ntohs(sin.sin6_port);
  s->lev = event_new(BASE, s->lfd, EV_READ | EV_PERSIST, srv_accept, s);
  event_add(s->lev, NULL);
  return true;
}

/* The exit with IPv6Exit and "accept6 [::1]:*": a policy as
 * exit_policy_build() makes it. */
static void net_start6(net_t *n, bool ipv6_exit)
{
  net_start(n, "accept *:*", &FAKE);
  policy_free(n->policy);
  exit_policy_cfg_t pc;
  config_line_t l1 = { 0 }, l2 = { 0 }, l3 = { 0 };
  l1.key = l2.key = l3.key = (char *)"ExitPolicy";
  l1.value = (char *)"accept6 [::1]:*";
  l2.value = (char *)"accept 127.0.0.1:*";
  l3.value = (char *)"reject *:*";
  l1.next = &l2;
  l2.next = &l3;
  memset(&pc, 0, sizeof(pc));
  pc.exit_relay = 1;
  pc.policy = &l1;
  pc.ipv6_exit = ipv6_exit;
  char *err = NULL;
  cr_assert_eq(exit_policy_build(&pc, &n->policy, &err), 0);
  exit_set_policy(n->x, n->policy, ipv6_exit);
}

Test(exit_stream, ipv6_begin_to_loopback_with_ipv6_exit)
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
    if (s.fd >= 0) {   /* one connection per server: take the next one */
      close(s.fd);
      event_free(s.rev);
      event_free(s.wev);
      s.fd = -1;
      s.rev = s.wev = NULL;
      s.sent = 0;
    }
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

Test(exit_stream, ipv6_exit_0_refuses_ipv6)
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

Test(exit_stream, names_with_aaaa_follow_the_begin_flags)
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
    if (s->fd >= 0) {
      close(s->fd);
      event_free(s->rev);
      event_free(s->wev);
      s->fd = -1;
      s->rev = s->wev = NULL;
      s->sent = 0;
    }
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
  if (s6.fd >= 0) {
    close(s6.fd);
    event_free(s6.rev);
    event_free(s6.wev);
    s6.fd = -1;
    s6.rev = s6.wev = NULL;
    s6.sent = 0;
  }
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

Test(exit_stream, names_with_aaaa_without_ipv6_exit)
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
