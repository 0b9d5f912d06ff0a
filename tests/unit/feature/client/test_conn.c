/* test_conn.c -- the client's listeners and application connections over
 * real loopback sockets, driven by a real event_base; circuits come from
 * the fake channel manager (fake_origin_channels.c), with the test playing the
 * exit relay. */
#include <criterion/criterion.h>

#include "allium/core/policy/policy.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/feature/client/client.h"
#include "allium/feature/proxy/socks.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/feature/hs_client/hs_client_fetch.h"
#include "fake_origin_channels.h"
#include "netfix.h"
/* the client's internals: its descriptor cache (client_hs.c's input) */
#include "../../../../src/feature/client/client_st.h"

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

typedef struct mkopt_t {
  proxy_port_kind_t kind;
  uint32_t socks_timeout;
  int conn_limit;
  bool use_guards;
  uint32_t stream_timeout;     /* 0: 2000 */
  const char *state_file;
  const policy_t *socks_policy;
} mkopt_t;

/* SafeSocks / TestSocks / WarnUnsafeSocks and node lists for the next
 * mk_client() */
static socks_safety_cfg_t test_safety;
static const routerset_t *test_exclude, *test_exclude_exit;
static const char *test_port_spec;   /* port line; NULL: 127.0.0.1:auto */

static void
mk_client(const mkopt_t *o)
{
  if (getenv("CLIENT_TEST_DEBUG")) {
    log_sinks_clear();
    log_sink_add(LOG_SINK_STDERR, SEV_DEBUG, SEV_ERR, NULL, NULL, NULL);
  }
  base = event_base_new();
  cr_assert_not_null(base);
  nl = netfix_nodelist(net, sizeof(net) / sizeof(net[0]), NULL, NULL);
  cr_assert_not_null(nl);
  fake_reset();
  proxy_port_cfg_t pc;
  char *err = NULL;
  const char *spec = test_port_spec ? test_port_spec : "127.0.0.1:auto";
  cr_assert_eq(proxy_port_parse(spec, o->kind, &pc, &err), 0,
               "%s", err ? err : "");
  client_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.base = base;
  cfg.cm = FAKE_CM;
  cfg.nl = nl;
  cfg.ports = &pc;
  cfg.n_ports = 1;
  pathsel_options_init(&cfg.path_opts);
  cfg.path_opts.exclude_nodes = test_exclude;
  cfg.path_opts.exclude_exit_nodes = test_exclude_exit;
  cfg.use_entry_guards = o->use_guards;
  cfg.socks_timeout_msec = o->socks_timeout;
  cfg.stream_timeout_msec = o->stream_timeout ? o->stream_timeout : 2000;
  cfg.state_file = o->state_file;
  cfg.conn_limit = o->conn_limit;
  cfg.socks_policy = o->socks_policy;
  cfg.socks_safety = test_safety;
  cl = client_new(&cfg);
  proxy_port_cfg_clear(&pc);
  cr_assert_not_null(cl);
  cr_assert_eq(client_open_listeners(cl, &err), 0, "%s", err ? err : "");
  cr_assert_neq(client_listener_port(cl, 0), 0);
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

static int
connect_client(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(client_listener_port(cl, 0));
  cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  pump(5);
  return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
  const uint8_t *b = p;
  while (n) {
    ssize_t r = send(fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pump(2);
      continue;
    }
    cr_assert(r > 0, "send: %s", strerror(errno));
    b += r;
    n -= (size_t)r;
    pump(1);
  }
}

/* Read until want bytes, EOF or ms; returns the count, *eof set. */
static size_t
recv_some(int fd, uint8_t *buf, size_t want, int ms, bool *eof)
{
  size_t got = 0;
  uint64_t end = now_ms() + (uint64_t)ms;
  *eof = false;
  while (got < want && now_ms() < end) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 2) > 0) {
      ssize_t r = recv(fd, buf + got, want - got, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno == ECONNRESET)) {
        *eof = true;
        break;
      }
      if (r > 0)
        got += (size_t)r;
    }
  }
  return got;
}

/* Wait for EOF; bytes before it are put in buf (at most len). */
static bool
wait_eof(int fd, uint8_t *buf, size_t len, size_t *got, int ms)
{
  bool eof = false;
  uint8_t tmp[4096];
  *got = 0;
  uint64_t end = now_ms() + (uint64_t)ms;
  while (!eof && now_ms() < end) {
    size_t n = recv_some(fd, tmp, sizeof(tmp), 20, &eof);
    size_t take = n;
    if (*got + take > len)
      take = len - *got;
    memcpy(buf + *got, tmp, take);
    *got += take;
  }
  return eof;
}

static void
expect(int fd, const void *want, size_t n)
{
  uint8_t buf[512];
  bool eof;
  cr_assert(n <= sizeof(buf));
  size_t got = recv_some(fd, buf, n, 2000, &eof);
  cr_assert_eq(got, n, "got %zu of %zu bytes (eof %d)", got, n, eof);
  cr_assert_arr_eq(buf, want, n);
}

/* SOCKS5 with username/password, CONNECT host:port (no reply read). */
static int
socks5_connect(const char *user, const char *host, uint16_t port,
               uint8_t cmd)
{
  int fd = connect_client();
  uint8_t b[600];
  size_t n = 0;
  if (user) {
    send_all(fd, "\x05\x01\x02", 3);
    expect(fd, "\x05\x02", 2);
    b[n++] = 1;
    b[n++] = (uint8_t)strlen(user);
    memcpy(b + n, user, strlen(user));
    n += strlen(user);
    b[n++] = 2;
    b[n++] = 'p';
    b[n++] = 'w';
    send_all(fd, b, n);
    expect(fd, "\x01\x00", 2);
  } else {
    send_all(fd, "\x05\x01\x00", 3);
    expect(fd, "\x05\x00", 2);
  }
  n = 0;
  b[n++] = 5;
  b[n++] = cmd;
  b[n++] = 0;
  b[n++] = 3;
  b[n++] = (uint8_t)strlen(host);
  memcpy(b + n, host, strlen(host));
  n += strlen(host);
  b[n++] = (uint8_t)(port >> 8);
  b[n++] = (uint8_t)port;
  send_all(fd, b, n);
  pump(5);
  return fd;
}

/* ---------------------------------------------------------------- */

Test(client_conn, listener_auto, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  cr_assert_gt(client_listener_port(cl, 0), 1023);
  cr_assert_eq(client_listener_port(cl, 1), 0);
  cr_assert_eq(client_listener_port(NULL, 0), 0);
  int fd = connect_client();
  cr_assert_eq(client_n_conns(cl), 1);
  close(fd);
  pump(250);
  cr_assert_eq(client_n_conns(cl), 0);
}

Test(client_conn, garbage_is_closed, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  int fd = connect_client();
  send_all(fd, "\x07garbage", 8);
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 0);
  close(fd);
  pump(150);
  cr_assert_eq(client_n_conns(cl), 0);
}

Test(client_conn, http_on_socks_port, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  int fd = connect_client();
  const char *req = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
  send_all(fd, req, strlen(req));
  uint8_t buf[4096];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_gt(got, 12);
  cr_assert(!memcmp(buf, "HTTP/1.0 ", 9));
  close(fd);
}

Test(client_conn, socks4_oversized, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  int fd = connect_client();
  uint8_t req[1200];
  memcpy(req, "\x04\x01\x00\x50\x01\x02\x03\x04", 8);
  memset(req + 8, 'A', sizeof(req) - 8);
  send_all(fd, req, sizeof(req));
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert(got == 0 || (got == 8 && buf[1] == SOCKS4_REJECTED));
  close(fd);
}

Test(client_conn, http_oversized, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_HTTP_TUNNEL, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  int fd = connect_client();
  const char *head = "CONNECT example.com:443 HTTP/1.1\r\nX-Big: ";
  send_all(fd, head, strlen(head));
  char big[20000];
  memset(big, 'a', sizeof(big));
  send_all(fd, big, sizeof(big));
  uint8_t buf[4096];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 3000));
  cr_assert_gt(got, 12);
  cr_assert(!memcmp(buf, "HTTP/1.", 7));
  cr_assert_eq(buf[9], '4', "status %.12s", buf);
  close(fd);
}

Test(client_conn, slowloris_times_out, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  client_set_handshake_timeout(cl, 300);
  int fd = connect_client();
  uint64_t t0 = now_ms();
  send_all(fd, "\x05\x01", 2);       /* greeting, never finished */
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 3000));
  cr_assert_geq(now_ms() - t0, 250);
  cr_assert_eq(got, 10);
  cr_assert_eq(buf[0], 5);
  cr_assert_eq(buf[1], SOCKS5_GENERAL_FAILURE);
  close(fd);
}

/* At the cap, the oldest connection still in its handshake makes room. */
Test(client_conn, conn_limit, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 2, true, 0, NULL, NULL };
  mk_client(&o);
  int fd1 = connect_client();
  pump(20);
  int fd2 = connect_client();
  pump(20);
  int fd3 = connect_client();
  uint8_t buf[16];
  size_t got;
  cr_assert(wait_eof(fd1, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 0);
  pump(150);   /* the dead one is freed at the next tick */
  cr_assert_eq(client_n_conns(cl), 2);
  /* The two younger ones are still served. */
  send_all(fd3, "\x05\x01\x00", 3);
  expect(fd3, "\x05\x00", 2);
  send_all(fd2, "\x05\x01\x00", 3);
  expect(fd2, "\x05\x00", 2);
  close(fd3);
  close(fd2);
  close(fd1);
}

/* Established streams (past the handshake) are never evicted: the new
 * connection is refused instead. */
Test(client_conn, conn_limit_keeps_requests, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 1, true, 0, NULL, NULL };
  mk_client(&o);
  int fd1 = socks5_connect(NULL, "example.com", 80, SOCKS_CMD_CONNECT);
  pump(20);
  int fd2 = connect_client();
  uint8_t buf[16];
  size_t got;
  cr_assert(wait_eof(fd2, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(client_n_conns(cl), 1);
  bool eof = false;
  (void)recv_some(fd1, buf, sizeof(buf), 50, &eof);
  cr_assert_not(eof);
  close(fd2);
  close(fd1);
}

static int emfile_warnings;
static void
emfile_log_cb(int sev, const char *module, const char *msg, void *arg)
{
  (void)sev; (void)module; (void)arg;
  if (strstr(msg, "pausing the listener for 100 ms"))
    emfile_warnings++;
}

/* Out of descriptors: the listener pauses (no accept loop), the oldest
 * handshake is closed to make room, and after the pause the waiting
 * connection is accepted and served. */
Test(client_conn, emfile_pauses_listener_and_makes_room, .fini = teardown)
{
  struct rlimit rl = { 256, 256 };
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  log_ratelim_reset_all();
  log_sink_add(LOG_SINK_CALLBACK, SEV_WARN, SEV_ERR, NULL, emfile_log_cb,
               NULL);
  int fd0 = connect_client();
  pump(1100);   /* only handshakes idle for 1 s are closed for room */
  cr_assert_eq(client_n_conns(cl), 1);
  int dups[256], n_dups = 0;
  while (n_dups < 256) {
    int d = dup(0);
    if (d < 0)
      break;
    dups[n_dups++] = d;
  }
  cr_assert_eq(errno, EMFILE);
  close(dups[--n_dups]);   /* exactly one left: for our client socket */
  int fd1 = connect_client();
  send_all(fd1, "\x05\x01\x00", 3);
  pump(30);
  cr_assert_eq(emfile_warnings, 1, "conns %zu", client_n_conns(cl));
  uint8_t buf[16];
  size_t got;
  cr_assert(wait_eof(fd0, buf, sizeof(buf), &got, 1000),
            "the idle handshake was closed to make room");
  pump(300);   /* the pause ends; fd1 is accepted with the freed slot */
  cr_assert_eq(client_n_conns(cl), 1, "fd1 accepted");
  expect(fd1, "\x05\x00", 2);
  cr_assert_eq(emfile_warnings, 1, "one line, not one per retry");
  for (int i = 0; i < n_dups; i++)
    close(dups[i]);
  log_sinks_reset_default();
  close(fd1);
  close(fd0);
}

Test(client_conn, waits_then_socks_timeout, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 400, 0, true, 0, NULL, NULL };
  mk_client(&o);
  uint64_t t0 = now_ms();
  int fd = socks5_connect(NULL, "example.com", 80, SOCKS_CMD_CONNECT);
  pump(150);
  cr_assert_eq(fake_n_circs(), 0);   /* no dirinfo: nothing launched */
  cr_assert_eq(client_n_conns(cl), 1);
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 3000));
  cr_assert_geq(now_ms() - t0, 350);
  cr_assert_eq(got, 10);
  cr_assert_eq(buf[1], SOCKS5_TTL_EXPIRED);
  close(fd);
}

Test(client_conn, http_waits_then_504, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_HTTP_TUNNEL, 300, 0, true, 0, NULL, NULL };
  mk_client(&o);
  int fd = connect_client();
  const char *req = "CONNECT example.com:443 HTTP/1.1\r\n\r\n";
  send_all(fd, req, strlen(req));
  uint8_t buf[512];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 3000));
  cr_assert_gt(got, 12);
  cr_assert(!memcmp(buf + 8, " 504", 4), "%.20s", buf);
  close(fd);
}

/* proposal 304 with ExtendedErrors (no flag: refuses_onion_and_port0) */
Test(client_conn, onion_extended_errors, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  test_port_spec = "127.0.0.1:auto ExtendedErrors";
  mk_client(&o);
  const char *hosts[3] = {
    "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5opqfad.onion",
    "www.abc.onion",
    "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5optfad.onion" };
  const uint8_t want[3] = { SOCKS5_HS_BAD_ADDRESS, SOCKS5_HS_BAD_ADDRESS,
                            SOCKS5_HS_DESC_NOT_FOUND };
  for (int i = 0; i < 3; i++) {
    uint8_t buf[64];
    size_t got;
    int fd = socks5_connect(NULL, hosts[i], 80, SOCKS_CMD_CONNECT);
    cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
    cr_assert(got == 10 && buf[1] == want[i], "%s: reply %u", hosts[i], buf[1]);
    close(fd);
  }
  cr_assert_eq(fake_n_circs(), 0);
}

/* client_hs.c: a descriptor failure the cache remembers answers every
 * waiting request with its proposal 304 code, without a circuit. */
Test(client_conn, onion_cached_failures, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  test_port_spec = "127.0.0.1:auto ExtendedErrors";
  mk_client(&o);
  const char *host =
    "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5optfad.onion";
  ed25519_public_key_t pk;
  cr_assert_eq(client_onion_target(host, &pk), 1);
  hs_client_cache_t *cache = hs_client_fetcher_cache(cl->hs_fetch);
  const hs_client_desc_status_t st[3] = {
    HS_CLIENT_DESC_NEED_AUTH, HS_CLIENT_DESC_BAD_AUTH,
    HS_CLIENT_DESC_INVALID };
  const uint8_t want[3] = { 0xF4, 0xF5, 0xF1 };
  for (int i = 0; i < 3; i++) {
    hs_client_cache_put_failure(cache, &pk, st[i], time(NULL), 600);
    int fd[2];
    for (int j = 0; j < 2; j++)
      fd[j] = socks5_connect(NULL, host, 80, SOCKS_CMD_CONNECT);
    for (int j = 0; j < 2; j++) {
      uint8_t buf[64];
      size_t got;
      cr_assert(wait_eof(fd[j], buf, sizeof(buf), &got, 2000));
      cr_assert(got == 10 && buf[1] == want[i], "%d/%d: reply %u", i, j,
                buf[1]);
      close(fd[j]);
    }
  }
  cr_assert_eq(fake_n_circs(), 0);
  pump(150);   /* a tick: the finished attempts are freed */
  cr_assert_null(cl->hs_attempts);
}

Test(client_conn, refuses_onion_and_port0, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 0, 0, true, 0, NULL, NULL };
  mk_client(&o);
  uint8_t buf[64];
  size_t got;
  int fd = socks5_connect(NULL, "abcdefgh.onion", 80, SOCKS_CMD_CONNECT);
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 10);
  cr_assert_eq(buf[1], SOCKS5_GENERAL_FAILURE, "bad onion, no ExtendedErrors");
  close(fd);
  fd = socks5_connect(NULL, "example.com", 0, SOCKS_CMD_CONNECT);
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 10);
  cr_assert_eq(buf[1], SOCKS5_GENERAL_FAILURE);
  close(fd);
  fd = socks5_connect(NULL, "example.com", 80, SOCKS_CMD_BIND);
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 10);
  cr_assert_eq(buf[1], SOCKS5_COMMAND_NOT_SUPPORTED);
  close(fd);
}

/* ---------------------------------------------------------------- */
/* With circuits */

static void
mk_client_with_circuits_o(const mkopt_t *o)
{
  mk_client(o);
  client_dirinfo_changed(cl, true);
  cr_assert_eq(fake_n_circs(), 2, "preemptive circuits: %zu",
               fake_n_circs());
  for (size_t i = 0; i < 2; i++) {
    fake_circ_t *fc = fake_circ(i);
    cr_assert_eq(fc->n_hops, 3);
    cr_assert_eq(fc->hops[2].rsa_id[0] & 0xF0, 0x30, "exit last");
    cr_assert_eq(fc->hops[0].addr[0].type, RELAY_LSPEC_IPV4);
    cr_assert_eq(fc->hops[0].addr[0].u.ipv4.port, 9001);
    fake_build(i);
  }
  cr_assert_eq(client_n_circuits(cl), 2);
}

static void
mk_client_with_circuits(bool use_guards)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 5000, 0, use_guards, 0, NULL, NULL };
  mk_client_with_circuits_o(&o);
}

/* Which circuit (other than except) carries a BEGIN for host; -1 if
 * none. */
static int
circ_with_begin_now(const char *host, int except, uint16_t *sid)
{
  for (size_t i = 0; i < fake_n_circs(); i++) {
    fake_circ_t *fc = fake_circ(i);
    if ((int)i == except)
      continue;
    for (size_t k = 0; k < fc->n_msgs; k++) {
      if (fc->msgs[k].command != RELAY_BEGIN)
        continue;
      relay_begin_t b;
      cr_assert_eq(relay_begin_decode(&b, fc->msgs[k].body, fc->msgs[k].len),
                   0);
      if (strcmp(b.host, host))
        continue;
      *sid = fc->msgs[k].stream_id;
      return (int)i;
    }
  }
  return -1;
}

/* Same, waiting up to a second for it. */
static int
circ_with_begin(const char *host, int except, uint16_t *sid)
{
  uint64_t end = now_ms() + 1000;
  int r;
  while ((r = circ_with_begin_now(host, except, sid)) < 0 &&
         now_ms() < end)
    pump(5);
  return r;
}

static bool
wait_msgs(size_t circ, uint8_t command, size_t n, int ms)
{
  uint64_t end = now_ms() + (uint64_t)ms;
  while (fake_count_msgs(circ, command) < n && now_ms() < end)
    pump(5);
  return fake_count_msgs(circ, command) >= n;
}

static void
exit_connected(size_t circ, uint16_t sid)
{
  relay_connected_t m;
  memset(&m, 0, sizeof(m));
  m.addr.type = CELL_ADDR_IPV4;
  memcpy(m.addr.addr, "\x5d\xb8\xd8\x22", 4);
  m.ttl = 300;
  uint8_t body[RELAY_BODY_MAX];
  size_t len;
  cr_assert_eq(relay_connected_encode(&m, body, sizeof(body), &len), 0);
  fake_exit_send(circ, RELAY_CONNECTED, sid, body, len);
}

static void
exit_end(size_t circ, uint16_t sid, uint8_t reason)
{
  fake_exit_send(circ, RELAY_END, sid, &reason, 1);
}

Test(client_conn, isolation_and_relay, .fini = teardown)
{
  mk_client_with_circuits(true);
  uint16_t sa, sb, sc;
  int a = socks5_connect("alice", "a.example", 80, SOCKS_CMD_CONNECT);
  int ca = circ_with_begin("a.example", -1, &sa);
  cr_assert_geq(ca, 0);
  const fake_msg_t *m = fake_last_msg((size_t)ca, RELAY_BEGIN);
  relay_begin_t bg;
  cr_assert_eq(relay_begin_decode(&bg, m->body, m->len), 0);
  cr_assert_eq(bg.port, 80);

  /* optimistic data sent before CONNECTED */
  send_all(a, "early", 5);
  exit_connected((size_t)ca, sa);
  expect(a, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  send_all(a, "hello", 5);
  /* all app bytes arrive, in order */
  char seen[64] = "";
  fake_circ_t *fc = fake_circ((size_t)ca);
  uint64_t end = now_ms() + 3000;
  while (strlen(seen) < 10 && now_ms() < end) {
    pump(5);
    seen[0] = '\0';
    for (size_t k = 0; k < fc->n_msgs; k++)
      if (fc->msgs[k].command == RELAY_DATA)
        strncat(seen, (const char *)fc->msgs[k].body, fc->msgs[k].len);
  }
  cr_assert_str_eq(seen, "earlyhello");
  fake_exit_send((size_t)ca, RELAY_DATA, sa, (const uint8_t *)"world", 5);
  expect(a, "world", 5);

  /* another username: another circuit */
  int b = socks5_connect("bob", "b.example", 443, SOCKS_CMD_CONNECT);
  int cb = circ_with_begin("b.example", -1, &sb);
  cr_assert_geq(cb, 0);
  cr_assert_neq(cb, ca);
  /* same username again: the same circuit */
  int c2 = socks5_connect("alice", "c.example", 443, SOCKS_CMD_CONNECT);
  int cc = circ_with_begin("c.example", -1, &sc);
  cr_assert_eq(cc, ca);
  cr_assert_neq(sc, sa);

  /* the exit ends alice's first stream: her app sees EOF */
  exit_end((size_t)ca, sa, RELAY_END_DONE);
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(a, buf, sizeof(buf), &got, 2000));
  close(a);
  /* the app closes: END goes out */
  size_t ends = fake_count_msgs((size_t)cb, RELAY_END);
  close(b);
  cr_assert(wait_msgs((size_t)cb, RELAY_END, ends + 1, 2000));
  close(c2);
  pump(50);
}

Test(client_conn, retry_then_refused, .fini = teardown)
{
  mk_client_with_circuits(true);
  uint16_t s1, s2;
  int fd = socks5_connect(NULL, "r.example", 80, SOCKS_CMD_CONNECT);
  int c1 = circ_with_begin("r.example", -1, &s1);
  cr_assert_geq(c1, 0);
  exit_end((size_t)c1, s1, RELAY_END_EXITPOLICY);
  /* the retry runs from the timer, on the other clean circuit */
  int c2 = circ_with_begin("r.example", c1, &s2);
  cr_assert_geq(c2, 0);
  cr_assert_neq(c2, c1);
  exit_end((size_t)c2, s2, RELAY_END_CONNECTREFUSED);
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 10);
  cr_assert_eq(buf[1], SOCKS5_CONNECTION_REFUSED);
  close(fd);
}

Test(client_conn, circuit_closes_under_streams, .fini = teardown)
{
  mk_client_with_circuits(false);
  uint16_t s1, s2;
  int open_fd = socks5_connect("u1", "o.example", 80, SOCKS_CMD_CONNECT);
  int c1 = circ_with_begin("o.example", -1, &s1);
  cr_assert_geq(c1, 0);
  exit_connected((size_t)c1, s1);
  expect(open_fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  int wait_fd = socks5_connect("u1", "w.example", 80, SOCKS_CMD_CONNECT);
  cr_assert_eq(circ_with_begin("w.example", -1, &s2), c1);
  fake_close((size_t)c1, true, CIRC_HOP_NONE);
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(open_fd, buf, sizeof(buf), &got, 2000));
  close(open_fd);
  /* the connecting stream is retried elsewhere */
  int c2 = circ_with_begin("w.example", c1, &s2);
  if (c2 < 0) {
    /* no built circuit left: one was launched for it */
    for (size_t i = 2; i < fake_n_circs(); i++)
      if (!fake_circ(i)->built)
        fake_build(i);
    c2 = circ_with_begin("w.example", c1, &s2);
  }
  cr_assert_geq(c2, 0);
  cr_assert_neq(c2, c1);
  close(wait_fd);
}

Test(client_conn, socks_resolve, .fini = teardown)
{
  mk_client_with_circuits(true);
  int fd = socks5_connect(NULL, "n.example", 0, SOCKS_CMD_RESOLVE);
  pump(100);
  int ci = -1;
  for (size_t i = 0; i < fake_n_circs(); i++)
    if (fake_last_msg(i, RELAY_RESOLVE))
      ci = (int)i;
  cr_assert_geq(ci, 0);
  const fake_msg_t *m = fake_last_msg((size_t)ci, RELAY_RESOLVE);
  cr_assert_eq(m->len, strlen("n.example") + 1);
  cr_assert(!memcmp(m->body, "n.example", 10));
  const uint8_t ans[] = { 0x04, 4, 10, 9, 8, 7, 0, 0, 0, 60 };
  fake_exit_send((size_t)ci, RELAY_RESOLVED, m->stream_id, ans, sizeof(ans));
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  const uint8_t want[] = { 5, 0, 0, 1, 10, 9, 8, 7, 0, 0 };
  cr_assert_eq(got, sizeof(want));
  cr_assert_arr_eq(buf, want, sizeof(want));
  close(fd);
}

Test(client_conn, http_connect_success, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_HTTP_TUNNEL, 5000, 0, true, 0, NULL, NULL };
  mk_client_with_circuits_o(&o);
  int fd = connect_client();
  const char *req = "CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n"
                    "\r\nTLSHELLO";
  send_all(fd, req, strlen(req));
  uint16_t sid;
  int ci = circ_with_begin("h.example", -1, &sid);
  cr_assert_geq(ci, 0);
  exit_connected((size_t)ci, sid);
  const char *ok = "HTTP/1.0 200 OK\r\n\r\n";
  expect(fd, ok, strlen(ok));
  /* the bytes after the request went to the exit as data */
  cr_assert(wait_msgs((size_t)ci, RELAY_DATA, 1, 2000));
  const fake_msg_t *m = fake_last_msg((size_t)ci, RELAY_DATA);
  cr_assert_eq(m->len, 8);
  cr_assert(!memcmp(m->body, "TLSHELLO", 8));
  client_log_status(cl);
  close(fd);
}

Test(client_conn, socks4a_connect, .fini = teardown)
{
  mk_client_with_circuits(true);
  int fd = connect_client();
  const uint8_t req[] = { 4, 1, 0, 80, 0, 0, 0, 1, 'u', 0,
                          's', '4', '.', 'e', 'x', 0 };
  send_all(fd, req, sizeof(req));
  uint16_t sid;
  int ci = circ_with_begin("s4.ex", -1, &sid);
  cr_assert_geq(ci, 0);
  exit_connected((size_t)ci, sid);
  uint8_t buf[8];
  bool eof;
  cr_assert_eq(recv_some(fd, buf, 8, 2000, &eof), 8);
  cr_assert_eq(buf[0], 0);
  cr_assert_eq(buf[1], SOCKS4_GRANTED);
  close(fd);
}

Test(client_conn, stream_timeout_retries, .fini = teardown)
{
  mkopt_t o = { PROXY_PORT_SOCKS, 5000, 0, true, 300, NULL, NULL };
  mk_client_with_circuits_o(&o);
  int fd = socks5_connect(NULL, "t.example", 80, SOCKS_CMD_CONNECT);
  uint16_t s1, s2;
  int c1 = circ_with_begin("t.example", -1, &s1);
  cr_assert_geq(c1, 0);
  /* no CONNECTED: after the stream timeout, END(TIMEOUT) and a retry */
  cr_assert(wait_msgs((size_t)c1, RELAY_END, 1, 2000));
  const fake_msg_t *m = fake_last_msg((size_t)c1, RELAY_END);
  cr_assert_eq(m->stream_id, s1);
  cr_assert_eq(m->body[0], RELAY_END_TIMEOUT);
  int c2 = circ_with_begin("t.example", c1, &s2);
  cr_assert_geq(c2, 0);
  exit_connected((size_t)c2, s2);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  close(fd);
}

Test(client_conn, build_failure_relaunch_and_state_file, .fini = teardown)
{
  char dir[] = "/tmp/allium-client-test-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/state", dir);
  mkopt_t o = { PROXY_PORT_SOCKS, 5000, 0, true, 0, path, NULL };
  mk_client(&o);
  int fd = socks5_connect(NULL, "f.example", 80, SOCKS_CMD_CONNECT);
  client_dirinfo_changed(cl, true);
  pump(20);
  size_t n0 = fake_n_circs();
  cr_assert_geq(n0, 1);
  /* every circuit fails at the first hop: new ones get launched */
  for (size_t i = 0; i < n0; i++)
    fake_close(i, false, 0);
  uint64_t end = now_ms() + 3000;
  while (fake_n_circs() == n0 && now_ms() < end)
    pump(10);
  cr_assert_gt(fake_n_circs(), n0);
  size_t last = fake_n_circs() - 1;
  fake_build(last);
  uint16_t sid;
  int ci = circ_with_begin("f.example", -1, &sid);
  cr_assert_eq(ci, (int)last);
  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  close(fd);
  client_free(cl);
  /* the guard state was written */
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  char line[512];
  bool found = false;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, "Guard ", 6))
      found = true;
  fclose(f);
  cr_assert(found);
  unlink(path);
  rmdir(dir);
}

/* Exit -> app back-pressure (tor-spec 7.4): an exit that respects the
 * stream window stalls while the app reads nothing (the client holds its
 * stream SENDMEs), and goes on once the app has read. */
Test(client_conn, slow_app_holds_stream_sendmes, .fini = teardown)
{
  mk_client_with_circuits(false);
  uint16_t sid;
  int a = socks5_connect(NULL, "slow.example", 80, SOCKS_CMD_CONNECT);
  int ci = circ_with_begin("slow.example", -1, &sid);
  cr_assert_geq(ci, 0);
  exit_connected((size_t)ci, sid);
  expect(a, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  uint8_t cell[RELAY_BODY_MAX - 11];
  memset(cell, 'x', sizeof(cell));
  /* The exit: a window of 500 cells, +50 per stream SENDME it gets. */
  size_t sent = 0, stalled_rounds = 0;
  while (stalled_rounds < 20 && sent < 40000) {
    size_t sendmes = fake_circ((size_t)ci)->n_sendmes;
    size_t window = 500 + 50 * sendmes - sent;
    if (window == 0) {
      stalled_rounds++;
      pump(10);
      continue;
    }
    stalled_rounds = 0;
    for (size_t i = 0; i < window && i < 50; i++, sent++)
      fake_exit_send((size_t)ci, RELAY_DATA, sid, cell, sizeof(cell));
    pump(1);
  }
  cr_assert_lt(sent, 40000, "the exit never stalled: no back-pressure");
  size_t bytes_sent = sent * sizeof(cell);
  cr_assert_lt(bytes_sent, 16u * 1024 * 1024);
  /* The app reads everything: SENDMEs flow again. */
  size_t before = fake_circ((size_t)ci)->n_sendmes;
  uint8_t buf[65536];
  size_t total = 0;
  bool eof = false;
  uint64_t end = now_ms() + 15000;
  while (total < bytes_sent && !eof && now_ms() < end)
    total += recv_some(a, buf, sizeof(buf), 20, &eof);
  cr_assert_eq(total, bytes_sent, "read %zu of %zu (eof %d)", total, bytes_sent, eof);
  cr_assert_gt(fake_circ((size_t)ci)->n_sendmes, before,
               "held SENDMEs were not sent after the app read");
  close(a);
  pump(20);
}

/* tor(1) SocksPolicy: a rejected client address is closed before a byte is
 * read; an accepted one is served. */
Test(client_conn, socks_policy, .fini = teardown)
{
  policy_t *p = policy_new();
  cr_assert_eq(policy_parse_config(p, "reject 127.0.0.1, accept *"), 0);
  mkopt_t o = { PROXY_PORT_SOCKS, 5000, 0, false, 0, NULL, p };
  mk_client(&o);
  int fd = connect_client();
  send_all(fd, "\x05\x01\x00", 3);
  uint8_t buf[16];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 0);
  close(fd);
  client_free(cl);
  fake_reset();
  nodelist_free(nl);
  event_base_free(base);
  base = NULL;
  policy_free(p);
  p = policy_new();
  cr_assert_eq(policy_parse_config(p, "reject 10.0.0.0/8"), 0);
  mkopt_t o2 = { PROXY_PORT_SOCKS, 5000, 0, false, 0, NULL, p };
  mk_client(&o2);
  fd = connect_client();
  send_all(fd, "\x05\x01\x00", 3);
  expect(fd, "\x05\x00", 2);
  close(fd);
  pump(10);
  client_free(cl);
  policy_free(p);
}

/* tor(1) SocksPolicy applies to HTTPTunnelPort connections too. */
Test(client_conn, socks_policy_http_tunnel, .fini = teardown)
{
  policy_t *p = policy_new();
  cr_assert_eq(policy_parse_config(p, "reject 127.0.0.0/8, accept *"), 0);
  mkopt_t o = { PROXY_PORT_HTTP_TUNNEL, 5000, 0, false, 0, NULL, p };
  mk_client(&o);
  int fd = connect_client();
  const char *req = "CONNECT h.example:443 HTTP/1.1\r\n\r\n";
  send_all(fd, req, strlen(req));
  uint8_t buf[64];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 0, "an HTTP answer was sent to a refused client");
  close(fd);
  client_free(cl);
  policy_free(p);
}

/* Captured log lines (notice and above). */
static char logbuf[8192];

static void
log_capture(int severity, const char *module, const char *msg, void *arg)
{
  (void)module;
  (void)arg;
  size_t n = strlen(logbuf);
  snprintf(logbuf + n, sizeof(logbuf) - n, "[%d] %s\n", severity, msg);
}

static void
capture_logs(void)
{
  logbuf[0] = '\0';
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_NOTICE, SEV_ERR, NULL, log_capture, NULL);
}

/* SOCKS5 CONNECT to 93.184.216.34:80 by address (ATYP 1). */
static int
socks5_connect_ipv4(void)
{
  int fd = connect_client();
  send_all(fd, "\x05\x01\x00", 3);
  expect(fd, "\x05\x00", 2);
  send_all(fd, "\x05\x01\x00\x01\x5d\xb8\xd8\x22\x00\x50", 10);
  pump(5);
  return fd;
}

/* SafeSocks 1: a request by IP address is refused (SOCKS5: "not allowed",
 * SOCKS4: 91) and closed, with a warning that hides the address; a request
 * by hostname is served.  TestSocks notes each one. */
Test(client_conn, safe_socks_refuses_ip_literals, .fini = teardown)
{
  test_safety.safe_socks = true;
  test_safety.test_socks = true;
  test_safety.warn_unsafe = true;
  capture_logs();
  mk_client_with_circuits(false);
  uint8_t buf[64];
  size_t got;
  int fd = socks5_connect_ipv4();
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 10);
  cr_assert_eq(buf[1], SOCKS5_NOT_ALLOWED);
  close(fd);
  fd = connect_client();
  const uint8_t s4[] = { 4, 1, 0, 80, 93, 184, 216, 34, 'u', 0 };
  send_all(fd, s4, sizeof(s4));
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 2000));
  cr_assert_eq(got, 8);
  cr_assert_eq(buf[1], SOCKS4_REJECTED);
  close(fd);
  /* nothing was sent to an exit */
  for (size_t i = 0; i < fake_n_circs(); i++)
    cr_assert_null(fake_last_msg(i, RELAY_BEGIN));
  fd = socks5_connect(NULL, "safe.example", 80, SOCKS_CMD_CONNECT);
  uint16_t sid;
  int ci = circ_with_begin("safe.example", -1, &sid);
  cr_assert_geq(ci, 0, "a hostname request is served");
  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00", 2);
  close(fd);
  pump(10);
  log_sinks_reset_default();
  cr_assert(strstr(logbuf, "Refusing the request (SafeSocks 1)"), "%s", logbuf);
  cr_assert_null(strstr(logbuf, "93.184.216.34"), "address logged: %s", logbuf);
  cr_assert(strstr(logbuf, "TestSocks: stream"), "%s", logbuf);
  cr_assert(strstr(logbuf, "(socks4 to port 80)"), "%s", logbuf);
  cr_assert(strstr(logbuf, "safe."), "%s", logbuf);
}

/* Defaults (WarnUnsafeSocks 1, SafeSocks 0): served, with one warning;
 * SafeLogging 0 shows the address. */
Test(client_conn, warn_unsafe_socks_serves, .fini = teardown)
{
  test_safety.warn_unsafe = true;
  capture_logs();
  log_set_safe_logging(0);
  mk_client_with_circuits(false);
  int fd = socks5_connect_ipv4();
  uint16_t sid;
  int ci = circ_with_begin("93.184.216.34", -1, &sid);
  cr_assert_geq(ci, 0, "the request was not served");
  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00", 2);
  close(fd);
  int fd2 = socks5_connect_ipv4();   /* a second one: rate-limited */
  pump(50);
  close(fd2);
  pump(10);
  log_set_safe_logging(1);
  log_sinks_reset_default();
  const char *w = strstr(logbuf, "gave allium an IP address (93.184.216.34)");
  cr_assert_not_null(w, "%s", logbuf);
  cr_assert_null(strstr(w + 1, "gave allium an IP address"), "not rate-limited: %s",
                 logbuf);
  cr_assert_null(strstr(logbuf, "TestSocks"), "%s", logbuf);
}

/* ExcludeExitNodes: every circuit ends at e2; ExcludeNodes naming both
 * exits with StrictNodes 0: no general circuit at all, and a request to an
 * address (the address-based exit choice) is not served by them either. */
Test(client_conn, exclude_exit_nodes_and_exclude_nodes, .fini = teardown)
{
  routerset_t *xx = NULL, *ex = NULL;
  cr_assert_eq(routerset_parse("e1", &xx), 0);
  cr_assert_eq(routerset_parse("e1,e2", &ex), 0);
  test_exclude_exit = xx;
  mk_client_with_circuits(true);
  for (size_t i = 0; i < fake_n_circs(); i++)
    cr_assert_eq(fake_circ(i)->hops[2].rsa_id[0], 0x32, "exit %#x",
                 fake_circ(i)->hops[2].rsa_id[0]);
  teardown();
  test_exclude_exit = NULL;
  test_exclude = ex;
  mkopt_t o = { PROXY_PORT_SOCKS, 1500, 0, true, 0, NULL, NULL };
  mk_client(&o);
  client_dirinfo_changed(cl, true);
  int fd = socks5_connect_ipv4();
  uint8_t buf[16];
  size_t got;
  cr_assert(wait_eof(fd, buf, sizeof(buf), &got, 4000), "no answer");
  cr_assert_eq(got, 10);
  cr_assert_neq(buf[1], 0, "served through an excluded exit");
  close(fd);
  /* (an internal circuit may be launched, through other relays) */
  for (size_t i = 0; i < fake_n_circs(); i++)
    for (size_t h = 0; h < fake_circ(i)->n_hops; h++)
      cr_assert_neq(fake_circ(i)->hops[h].rsa_id[0] & 0xF0, 0x30,
                    "circuit %zu hop %zu is an excluded exit", i, h);
  client_free(cl);
  test_exclude = NULL;
  routerset_free(xx);
  routerset_free(ex);
}
