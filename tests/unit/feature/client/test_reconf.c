/* test_reconf.c -- client_reconfigure() (SIGHUP): listeners kept (same
 * binding, connections survive, new flags), closed (their connections go
 * on) and opened; SocksPolicy replaced; new node restrictions close the
 * unused circuits, keep used ones for their streams only, and new circuits
 * follow them.  Real loopback sockets and event_base; circuits from the
 * fake channel manager (fake_origin_channels.c). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/client/client.h"
#include "allium/feature/nodelist/routerset.h"
#include "allium/feature/proxy/socks.h"
#include "allium/lib/malloc/malloc.h"
#include "fake_origin_channels.h"
#include "netfix.h"

static struct event_base *base;
static nodelist_t *nl;
static client_t *cl;
static char cm_dummy;
#define FAKE_CM ((chanmgr_t *)(void *)&cm_dummy)

static const netfix_relay_t net[] = {
  { "g1", 0x11, "10.1.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
  { "g2", 0x12, "10.2.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
  { "g3", 0x13, "10.3.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
  { "m1", 0x21, "10.4.0.1", F_STD, 1000, NULL, NULL },
  { "m2", 0x22, "10.5.0.1", F_STD, 1000, NULL, NULL },
  { "e1", 0x31, "10.6.0.1", F_STD | F_EXIT, 1000, "accept 80,443", NULL },
  { "e2", 0x32, "10.7.0.1", F_STD | F_EXIT, 1000, "accept 80,443", NULL },
};

static uint64_t
now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
pump(int ms)
{
  uint64_t end = now_ms() + (uint64_t)ms;
  do {
    event_base_loop(base, EVLOOP_NONBLOCK);
    usleep(1000);
  } while (now_ms() < end);
}

/* Parsed port lines (caller clears each and frees the array). */
static proxy_port_cfg_t *
ports_of(const char *const *lines, size_t n)
{
  proxy_port_cfg_t *p = al_calloc(n ? n : 1, sizeof(*p));
  for (size_t i = 0; i < n; i++) {
    char *err = NULL;
    cr_assert_eq(proxy_port_parse(lines[i], PROXY_PORT_SOCKS, &p[i], &err),
                 0, "%s: %s", lines[i], err ? err : "");
  }
  return p;
}

static void
ports_free(proxy_port_cfg_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    proxy_port_cfg_clear(&p[i]);
  al_free(p);
}

static void
cfg_init(client_cfg_t *cfg, const proxy_port_cfg_t *ports, size_t n)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->base = base;
  cfg->cm = FAKE_CM;
  cfg->nl = nl;
  cfg->ports = ports;
  cfg->n_ports = n;
  pathsel_options_init(&cfg->path_opts);
  cfg->socks_timeout_msec = 5000;
  cfg->stream_timeout_msec = 2000;
}

static void
mk_client(const char *const *lines, size_t n)
{
  base = event_base_new();
  cr_assert_not_null(base);
  nl = netfix_nodelist(net, sizeof(net) / sizeof(net[0]), NULL, NULL);
  cr_assert_not_null(nl);
  fake_reset();
  proxy_port_cfg_t *p = ports_of(lines, n);
  client_cfg_t cfg;
  cfg_init(&cfg, p, n);
  cl = client_new(&cfg);
  ports_free(p, n);
  cr_assert_not_null(cl);
  char *err = NULL;
  cr_assert_eq(client_open_listeners(cl, &err), 0, "%s", err ? err : "");
}

static void
teardown(void)
{
  client_free(cl);
  fake_reset();
  nodelist_free(nl);
  if (base)
    event_base_free(base);
  base = NULL;
}

/* Reconfigure with these port lines (and path options, policy). */
static int
reconf(const char *const *lines, size_t n, const pathsel_options_t *po,
       const policy_t *policy, bool nodes_changed)
{
  proxy_port_cfg_t *p = ports_of(lines, n);
  client_cfg_t cfg;
  cfg_init(&cfg, p, n);
  if (po)
    cfg.path_opts = *po;
  cfg.socks_policy = policy;
  int r = client_reconfigure(cl, &cfg, nodes_changed);
  ports_free(p, n);
  return r;
}

/* Connect to 127.0.0.1:port; -1 when refused. */
static int
connect_port(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  pump(5);
  return fd;
}

/* A port nothing listens on right now. */
static uint16_t
free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  socklen_t len = sizeof(sin);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  close(fd);
  return ntohs(sin.sin_port);
}

static void
send_all(int fd, const void *p, size_t n)
{
  cr_assert_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
  pump(5);
}

/* Read n bytes within 2 s; false on EOF or timeout. */
static bool
read_n(int fd, uint8_t *buf, size_t n)
{
  size_t got = 0;
  uint64_t end = now_ms() + 2000;
  while (got < n && now_ms() < end) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 2) > 0) {
      ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN))
        return false;
      if (r > 0)
        got += (size_t)r;
    }
  }
  return got == n;
}

/* SOCKS5 greeting answered "no auth" on fd. */
static bool
greets(int fd)
{
  uint8_t b[2];
  send_all(fd, "\x05\x01\x00", 3);
  return read_n(fd, b, 2) && b[0] == 5 && b[1] == 0;
}

/* After the greeting: CONNECT host:80. */
static void
socks5_request(int fd, const char *host)
{
  uint8_t b[300];
  size_t n = 0, hl = strlen(host);
  b[n++] = 5; b[n++] = SOCKS_CMD_CONNECT; b[n++] = 0; b[n++] = 3;
  b[n++] = (uint8_t)hl;
  memcpy(b + n, host, hl);
  n += hl;
  b[n++] = 0; b[n++] = 80;
  send_all(fd, b, n);
}

/* ---------------------------------------------------------------- ports */

Test(client_reconf, ports_kept_closed_opened, .fini = teardown)
{
  const char *const before[] = { "127.0.0.1:auto", "127.0.0.1:auto" };
  mk_client(before, 2);
  uint16_t pa = client_listener_port(cl, 0), pb = client_listener_port(cl, 1);
  cr_assert(pa && pb && pa != pb);
  int on_a = connect_port(pa), on_b = connect_port(pb);
  cr_assert(on_a >= 0 && on_b >= 0);
  cr_assert_eq(client_n_conns(cl), 2);

  uint16_t pc = free_port();
  char newport[32];
  snprintf(newport, sizeof(newport), "127.0.0.1:%u", pc);
  const char *const after[] = { "127.0.0.1:auto", newport };
  cr_assert_eq(reconf(after, 2, NULL, NULL, false), 0);
  pump(10);
  /* the first is kept (same binding, same socket), the second closed */
  cr_assert_eq(client_listener_port(cl, 0), pa);
  cr_assert_eq(client_listener_port(cl, 1), pc);
  cr_assert_eq(client_listener_port(cl, 2), 0);
  cr_assert_eq(connect_port(pb), -1, "removed port still accepts");
  /* connections accepted before go on, on both */
  cr_assert_eq(client_n_conns(cl), 2);
  cr_assert(greets(on_a));
  cr_assert(greets(on_b));
  int on_c = connect_port(pc);
  cr_assert(on_c >= 0);
  cr_assert(greets(on_c));
  int again_a = connect_port(pa);
  cr_assert(again_a >= 0 && greets(again_a));
  close(on_a);
  close(on_b);
  close(on_c);
  close(again_a);
  pump(250);   /* the retired listener is freed with its last connection */
  cr_assert_eq(client_n_conns(cl), 0);

  /* "9050"-style default address and an explicit 127.0.0.1 are one
   * binding; SocksPort 0 everywhere closes every listener */
  cr_assert_eq(reconf(NULL, 0, NULL, NULL, false), 0);
  cr_assert_eq(client_listener_port(cl, 0), 0);
  cr_assert_eq(connect_port(pa), -1);
}

Test(client_reconf, unbindable_port_counted, .fini = teardown)
{
  const char *const before[] = { "127.0.0.1:auto" };
  mk_client(before, 1);
  uint16_t pa = client_listener_port(cl, 0);
  /* something else holds the port asked for */
  int squat = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(squat, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(squat, 1), 0);
  socklen_t len = sizeof(sin);
  cr_assert_eq(getsockname(squat, (struct sockaddr *)&sin, &len), 0);
  char taken[32];
  snprintf(taken, sizeof(taken), "127.0.0.1:%u", ntohs(sin.sin_port));
  const char *const after[] = { "127.0.0.1:auto", taken };
  cr_assert_eq(reconf(after, 2, NULL, NULL, false), 1);
  cr_assert_eq(client_listener_port(cl, 0), pa);
  cr_assert_eq(client_listener_port(cl, 1), 0);
  close(squat);
}

/* New flags on a kept listener apply to new connections. */
Test(client_reconf, flags_change_on_kept_listener, .fini = teardown)
{
  const char *const before[] = { "127.0.0.1:auto" };
  mk_client(before, 1);
  uint16_t pa = client_listener_port(cl, 0);
  const char *const after[] = { "127.0.0.1:auto NoDNSRequest" };
  cr_assert_eq(reconf(after, 1, NULL, NULL, false), 0);
  cr_assert_eq(client_listener_port(cl, 0), pa);
  int fd = connect_port(pa);
  cr_assert(greets(fd));
  socks5_request(fd, "example.com");
  uint8_t reply[10];
  cr_assert(read_n(fd, reply, 10));
  cr_assert_eq(reply[1], SOCKS5_NOT_ALLOWED);
  close(fd);
}

/* A new SocksPolicy applies to new connections. */
Test(client_reconf, socks_policy_replaced, .fini = teardown)
{
  const char *const ports[] = { "127.0.0.1:auto" };
  mk_client(ports, 1);
  uint16_t pa = client_listener_port(cl, 0);
  int fd = connect_port(pa);
  cr_assert(greets(fd));
  close(fd);
  policy_t *p = policy_new();
  cr_assert_eq(policy_parse_config(p, "reject 127.0.0.1, accept *"), 0);
  cr_assert_eq(reconf(ports, 1, NULL, p, false), 0);
  fd = connect_port(pa);
  cr_assert(fd >= 0);
  cr_assert(!greets(fd), "rejected client answered");
  close(fd);
  cr_assert_eq(reconf(ports, 1, NULL, NULL, false), 0);
  policy_free(p);   /* no longer borrowed */
  fd = connect_port(pa);
  cr_assert(greets(fd));
  close(fd);
}

/* ---------------------------------------------------------------- nodes */

static int
exit_byte(size_t i)
{
  return fake_circ(i)->hops[fake_circ(i)->n_hops - 1].rsa_id[0];
}

/* Which circuit carries a BEGIN for host (waiting up to a second); -1. */
static int
circ_with_begin(const char *host, uint16_t *sid)
{
  uint64_t end = now_ms() + 1000;
  do {
    for (size_t i = 0; i < fake_n_circs(); i++) {
      fake_circ_t *fc = fake_circ(i);
      for (size_t k = 0; k < fc->n_msgs; k++) {
        relay_begin_t b;
        if (fc->msgs[k].command != RELAY_BEGIN ||
            relay_begin_decode(&b, fc->msgs[k].body, fc->msgs[k].len) != 0 ||
            strcmp(b.host, host))
          continue;
        *sid = fc->msgs[k].stream_id;
        return (int)i;
      }
    }
    pump(5);
  } while (now_ms() < end);
  return -1;
}

Test(client_reconf, node_rules_apply_to_new_circuits, .fini = teardown)
{
  const char *const ports[] = { "127.0.0.1:auto" };
  mk_client(ports, 1);
  client_dirinfo_changed(cl, true);
  size_t n0 = fake_n_circs();
  cr_assert_geq(n0, 2);
  for (size_t i = 0; i < n0; i++)
    fake_build(i);
  /* a stream uses one circuit */
  int fd = connect_port(client_listener_port(cl, 0));
  cr_assert(greets(fd));
  socks5_request(fd, "a.example");
  uint16_t sid;
  int used = circ_with_begin("a.example", &sid);
  cr_assert_geq(used, 0);
  /* exclude both exits' counterpart: only e2 may be an exit now */
  routerset_t *rs = NULL;
  cr_assert_eq(routerset_parse("e1", &rs), 0);
  pathsel_options_t po;
  pathsel_options_init(&po);
  po.exclude_nodes = rs;
  po.strict_nodes = true;
  cr_assert_eq(reconf(ports, 1, &po, NULL, true), 0);
  pump(10);
  /* the used circuit lives on for its stream; the unused ones are gone */
  cr_assert(fake_circ((size_t)used)->alive);
  for (size_t i = 0; i < n0; i++)
    if ((int)i != used)
      cr_assert(!fake_circ(i)->alive, "unused circuit %zu still open", i);
  /* every circuit launched since avoids e1 anywhere */
  size_t n1 = fake_n_circs();
  cr_assert_gt(n1, n0, "no new preemptive circuit");
  for (size_t i = n0; i < n1; i++) {
    fake_circ_t *fc = fake_circ(i);
    for (size_t h = 0; h < fc->n_hops; h++)
      cr_assert_neq(fc->hops[h].rsa_id[0], 0x31, "circuit %zu uses e1", i);
    cr_assert_eq(exit_byte(i), 0x32);
    fake_build(i);
  }
  /* a new stream does not join the old circuit, even with the same
   * isolation attributes */
  int fd2 = connect_port(client_listener_port(cl, 0));
  cr_assert(greets(fd2));
  socks5_request(fd2, "b.example");
  uint16_t sid2;
  int c2 = circ_with_begin("b.example", &sid2);
  cr_assert_geq(c2, 0);
  cr_assert_neq(c2, used);
  cr_assert_eq(exit_byte((size_t)c2), 0x32);
  close(fd);
  close(fd2);
  pump(20);
  client_free(cl);   /* before the routerset it borrows */
  routerset_free(rs);
}
