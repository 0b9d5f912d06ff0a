/* exit_net.c -- (tests) the exit test network: a client (chanmgr) builds
 * 3-hop circuits through in-process relays running the cell engine, the
 * last one with the exit attached (exit_stream.h), to TCP servers on
 * 127.0.0.1 / [::1] in the same loop; a fake resolver answers names
 * asynchronously.  Used by test_exit_stream.c and test_exit_reload.c. */
#include "exit_net.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "allium/feature/exit/exit_policy.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include "core/mainloop/cellswitch_st.h"

struct event_base *BASE;
static tls_context_t *TLS;
chanmgr_t *CM;
static struct event *POKE;

static void poke(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what; (void)arg;
}

void exit_net_setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
  TLS = tls_context_new_client();
  CM = chanmgr_new(BASE, TLS);
  POKE = event_new(BASE, -1, EV_PERSIST, poke, NULL);
  struct timeval tv = { 0, 20000 };
  event_add(POKE, &tv);
}

void exit_net_teardown(void)
{
  chanmgr_free(CM);
  event_free(POKE);
  tls_context_free(TLS);
  event_base_free(BASE);
}


uint8_t pat_down(size_t i) { return (uint8_t)(i * 13 + 7 + (i >> 12)); }
uint8_t pat_up(size_t i) { return (uint8_t)(i * 7 + (i >> 10)); }

/* ---- the destination: a TCP server ---- */

void srv_write(evutil_socket_t fd, short what, void *arg)
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

void srv_start(srv_t *s, size_t to_send, bool reading)
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

void srv_resume_reading(srv_t *s)
{
  s->reading = true;
  if (s->rev)
    event_add(s->rev, NULL);
}

void srv_stop(srv_t *s)
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
uint16_t closed_port(void)
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

int N_LOOKUPS;

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

int N_CANCELS;

static void fake_cancel(void *ctx, exit_dns_req_t *req)
{
  fake_req_t *r = (fake_req_t *)req;
  (void)ctx;
  N_CANCELS++;
  event_free(r->ev);
  al_free(r);
}

const exit_resolver_t FAKE = { fake_resolve, fake_ptr, fake_cancel,
                                      NULL };

/* ---- the network: three relays, the last one an exit ---- */

void net_start(net_t *n, const char *policy, const exit_resolver_t *res)
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

exit_stats_t net_stats(net_t *n)
{
  exit_stats_t s;
  exit_get_stats(n->x, &s);
  return s;
}

void net_stop(net_t *n)
{
  for (int i = 0; i < 3; i++)
    srelay_free(n->r[i]);    /* the exit's circuits close first */
  exit_free(n->x);
  policy_free(n->policy);
}

/* ---- the client ---- */

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

void launch(cli_t *c, net_t *n, size_t hops)
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

void run_until(bool (*done)(void *), void *arg, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (!done(arg) && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

bool ended_or_resolved(void *arg)
{
  cli_t *c = arg;
  return c->ended || c->resolved || c->closed;
}

/* One stream to target; waits for its END (or RESOLVED). */
void one_stream(cli_t *c, net_t *n, size_t hops)
{
  launch(c, n, hops);
  run_until(ended_or_resolved, c, 20000);
  cr_assert_eq(c->built, 1, "circuit not built");
  cr_assert_eq(c->closed, 0, "circuit closed");
}
relay_resolved_t
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


bool connected_or_ended(void *arg)
{
  cli_t *c = arg;
  return c->connected || c->ended || c->closed;
}

/* A TCP server on [::1]; false (and nothing started) if ::1 is missing. */
bool srv6_start(srv_t *s, size_t to_send)
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
void net_start6(net_t *n, bool ipv6_exit)
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

/* Forget the server's connection: it takes the next one. */
void srv_next(srv_t *s)
{
  if (s->fd < 0)
    return;
  close(s->fd);
  event_free(s->rev);
  event_free(s->wev);
  s->fd = -1;
  s->rev = s->wev = NULL;
  s->sent = 0;
}
