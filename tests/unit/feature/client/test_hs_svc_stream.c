/* test_hs_svc_stream.c -- the streams a client opens at one of our onion
 * services (client_hs_svc_stream.c; rend-spec-v3 4.2, tor-spec 6.2-6.4,
 * 7.4): a fake rendezvous circuit whose stream table has the exit role,
 * the test playing the client (BEGIN, DATA within the stream window,
 * SENDMEs, END) and the local service (real TCP and unix listeners),
 * driven by a real event_base. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "fake_origin_channels.h"
#include "../../../../src/feature/client/client_hs_svc.h"

static char cm_dummy;
#define FAKE_CM ((chanmgr_t *)(void *)&cm_dummy)
#define MAX_SID 16

static struct event_base *base;
static client_t *cl;
static client_hs_svc_circ_t *rc;
static hs_service_config_t cfg;
static hs_service_port_t ports[4];
static int tcp_lfd = -1, unix_lfd = -1;
static uint16_t tcp_port, dead_port;
static char tmpdir[64], unix_path[128];
static bool closed_cb_ran;

/* What the test, as the client, saw on each stream. */
typedef struct peer_stream_t {
  bool connected, ended, resolved;
  size_t connected_len;
  uint8_t end_reason, resolved_type;
  size_t cells_in;          /* DATA cells from the service */
  size_t cells_acked;       /* ... answered with our SENDMEs */
  size_t cells_out;         /* DATA cells we sent */
  size_t sendmes_in;        /* stream SENDMEs from the service */
  bool data_after_end;
  uint8_t *rx;
  size_t rx_len, rx_cap;
} peer_stream_t;
static peer_stream_t ps[MAX_SID];

static uint64_t
now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
tick(void)
{
  if (!rc->closed)
    client_hs_svc_streams_tick(rc, now_ms());
}

static void
pump(int ms)
{
  uint64_t end = now_ms() + (uint64_t)ms;
  do {
    event_base_loop(base, EVLOOP_NONBLOCK);
    tick();
    usleep(500);
  } while (now_ms() < end);
}

/* ---- the fake circuit's callbacks (the host's part) ---- */

static void
on_built(chanmgr_t *cm, uint64_t h, void *arg)
{
  (void)cm; (void)h; (void)arg;
}

static void
on_closed(chanmgr_t *cm, uint64_t h, const chanmgr_close_info_t *info,
          void *arg)
{
  (void)cm; (void)h; (void)info; (void)arg;
  closed_cb_ran = true;
  rc->closed = true;
  client_hs_svc_streams_closed(rc);
}

static void
on_stream(chanmgr_t *cm, uint64_t h, const relay_stream_event_t *ev,
          void *arg)
{
  (void)cm; (void)h; (void)arg;
  client_hs_svc_stream_event(rc, ev);
}

static void
on_data(chanmgr_t *cm, uint64_t h, uint16_t sid, const uint8_t *data,
        size_t len, void *arg)
{
  (void)cm; (void)h; (void)arg;
  client_hs_svc_stream_data(rc, sid, data, len);
}

/* Everything the service's table sends reaches "the client" here. */
static void
send_hook(void *arg, size_t i, uint8_t command, uint16_t sid,
          const uint8_t *body, size_t len)
{
  (void)arg; (void)i;
  if (sid == 0 || sid >= MAX_SID)
    return;
  peer_stream_t *p = &ps[sid];
  if (p->ended)
    p->data_after_end = true;
  switch (command) {
  case RELAY_CONNECTED:
    p->connected = true;
    p->connected_len = len;
    break;
  case RELAY_END:
    p->ended = true;
    p->end_reason = len ? body[0] : RELAY_END_MISC;
    break;
  case RELAY_RESOLVED:
    p->resolved = true;
    p->resolved_type = len ? body[0] : 0;
    break;
  case RELAY_SENDME:
    p->sendmes_in++;
    break;
  case RELAY_DATA:
    p->cells_in++;
    if (p->rx_len + len > p->rx_cap) {
      p->rx_cap = (p->rx_len + len) * 2;
      p->rx = realloc(p->rx, p->rx_cap);
    }
    memcpy(p->rx + p->rx_len, body, len);
    p->rx_len += len;
    break;
  default:
    break;
  }
}

/* ---- local services ---- */

static int
tcp_listener(uint16_t *port_out, int rcvbuf)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(fd >= 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (rcvbuf)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(fd, 16), 0);
  socklen_t sl = sizeof(sin);
  getsockname(fd, (struct sockaddr *)&sin, &sl);
  *port_out = ntohs(sin.sin_port);
  return fd;
}

/* A loopback port with nobody listening. */
static uint16_t
closed_port(void)
{
  uint16_t p;
  int fd = tcp_listener(&p, 0);
  close(fd);
  return p;
}

static int
accept_local(int lfd, int ms)
{
  uint64_t end = now_ms() + (uint64_t)ms;
  while (now_ms() < end) {
    struct pollfd p = { lfd, POLLIN, 0 };
    if (poll(&p, 1, 0) > 0) {
      int fd = accept(lfd, NULL, NULL);
      if (fd >= 0)
        return fd;
    }
    pump(2);
  }
  return -1;
}

static void
set_port(size_t i, uint16_t virt, bool is_unix, const char *path,
         uint16_t target_port)
{
  hs_service_port_t *p = &ports[i];
  memset(p, 0, sizeof(*p));
  p->virt_port = virt;
  p->is_unix = is_unix;
  p->unix_path = path ? al_strdup(path) : NULL;
  p->target.family = 4;
  p->target.addr[0] = 127;
  p->target.addr[3] = 1;
  p->target.port = target_port;
}

/* A service: 80 -> TCP listener, 81 -> unix listener, 82 -> a closed
 * port, 83 -> a unix path with nobody there. */
static void
setup(void)
{
  if (getenv("SVC_TEST_DEBUG")) {
    log_sinks_clear();
    log_sink_add(LOG_SINK_STDERR, SEV_DEBUG, SEV_ERR, NULL, NULL, NULL);
  }
  memset(ps, 0, sizeof(ps));
  closed_cb_ran = false;
  base = event_base_new();
  cr_assert_not_null(base);
  fake_reset();
  fake_set_send_hook(send_hook, NULL);
  tcp_lfd = tcp_listener(&tcp_port, 16384);
  dead_port = closed_port();
  strcpy(tmpdir, "/tmp/allium-svcXXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  snprintf(unix_path, sizeof(unix_path), "%s/sock", tmpdir);
  unix_lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  strcpy(sun.sun_path, unix_path);
  cr_assert_eq(bind(unix_lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
  cr_assert_eq(listen(unix_lfd, 16), 0);
  char missing[160];
  snprintf(missing, sizeof(missing), "%s/nobody", tmpdir);
  set_port(0, 80, false, NULL, tcp_port);
  set_port(1, 81, true, unix_path, 0);
  set_port(2, 82, false, NULL, dead_port);
  set_port(3, 83, true, missing, 0);
  memset(&cfg, 0, sizeof(cfg));
  cfg.version = 3;
  cfg.n_ports = 4;
  cfg.ports = ports;
  cl = al_calloc(1, sizeof(*cl));
  cl->base = base;
  cl->cm = FAKE_CM;
  rc = al_calloc(1, sizeof(*rc));
  rc->c = cl;
  rc->cfg = &cfg;
}

/* The rendezvous circuit, joined: exit-role table. */
static void
join(bool data_sink)
{
  fake_set_use_data_sink(data_sink);
  circ_hop_spec_t hop;
  memset(&hop, 0, sizeof(hop));
  chanmgr_launch_t l = { &hop, 1, false, 0 };
  chanmgr_circ_cbs_t cbs = { NULL, on_built, on_closed, on_stream, NULL,
                             NULL, on_data };
  cr_assert_eq(chanmgr_launch(FAKE_CM, &l, &cbs, &rc->handle), 0);
  fake_build(0);
  cr_assert_eq(fake_set_role(0, RELAY_STREAM_ROLE_EXIT), 0);
}

static void
teardown(void)
{
  if (!rc->closed)
    client_hs_svc_streams_closed(rc);
  cr_assert_null(rc->conns);
  al_free(rc);
  al_free(cl);
  fake_reset();
  for (size_t i = 0; i < 4; i++)
    al_free(ports[i].unix_path);
  for (size_t i = 0; i < MAX_SID; i++)
    free(ps[i].rx);
  close(tcp_lfd);
  close(unix_lfd);
  unlink(unix_path);
  rmdir(tmpdir);
  event_base_free(base);
  base = NULL;
}

TestSuite(hs_svc_stream, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the client's side ---- */

static int
client_begin(uint16_t sid, uint16_t port)
{
  uint8_t body[32];
  int n = snprintf((char *)body, sizeof(body), ":%u", port);
  return fake_peer_send(0, RELAY_BEGIN, sid, body, (size_t)n + 1);
}

static void
client_end(uint16_t sid, uint8_t reason)
{
  fake_peer_send(0, RELAY_END, sid, &reason, 1);
}

/* Send len bytes within the stream window; stops when the window stays
 * shut for ms.  The bytes sent. */
static size_t
client_send(uint16_t sid, const uint8_t *data, size_t len, int ms)
{
  peer_stream_t *p = &ps[sid];
  size_t off = 0;
  uint64_t idle_since = now_ms();
  while (off < len) {
    size_t window = 500 + 50 * p->sendmes_in - p->cells_out;
    if (window == 0) {
      if (now_ms() - idle_since > (uint64_t)ms)
        break;
      pump(1);
      continue;
    }
    size_t n = len - off < RELAY_BODY_MAX ? len - off : RELAY_BODY_MAX;
    cr_assert_eq(fake_peer_send(0, RELAY_DATA, sid, data + off, n), 0);
    p->cells_out++;
    off += n;
    idle_since = now_ms();
    if (p->cells_out % 20 == 0)
      event_base_loop(base, EVLOOP_NONBLOCK);
  }
  return off;
}

/* Answer the service's DATA with stream SENDMEs (one per 50 cells). */
static void
client_ack(uint16_t sid)
{
  peer_stream_t *p = &ps[sid];
  while (p->cells_in - p->cells_acked >= 50) {
    p->cells_acked += 50;
    cr_assert_eq(fake_peer_send(0, RELAY_SENDME, sid, NULL, 0), 0);
  }
}

static void
fill(uint8_t *b, size_t n, uint32_t seed)
{
  uint32_t x = seed | 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    b[i] = (uint8_t)x;
  }
}

static bool
wait_for(bool *flag, int ms)
{
  uint64_t end = now_ms() + (uint64_t)ms;
  while (!*flag && now_ms() < end)
    pump(2);
  return *flag;
}

/* BEGIN to virt, accept the local connection, CONNECTED (empty). */
static int
open_stream(uint16_t sid, uint16_t virt, int lfd)
{
  cr_assert_eq(client_begin(sid, virt), 0);
  int fd = accept_local(lfd, 3000);
  cr_assert(fd >= 0, "no local connection");
  cr_assert(wait_for(&ps[sid].connected, 3000), "no CONNECTED");
  cr_assert_eq(ps[sid].connected_len, 0, "CONNECTED must be empty");
  return fd;
}

/* Read from fd into buf until want bytes (or EOF / ms). */
static size_t
local_read(int fd, uint8_t *buf, size_t want, int ms, bool *eof)
{
  size_t got = 0;
  uint64_t end = now_ms() + (uint64_t)ms;
  if (eof)
    *eof = false;
  while (got < want && now_ms() < end) {
    ssize_t r = recv(fd, buf + got, want - got, MSG_DONTWAIT);
    if (r == 0) {
      if (eof)
        *eof = true;
      break;
    }
    if (r > 0)
      got += (size_t)r;
    else
      pump(1);
  }
  return got;
}

static bool
local_eof(int fd, int ms)
{
  uint8_t b[4096];
  uint64_t end = now_ms() + (uint64_t)ms;
  while (now_ms() < end) {
    ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno == ECONNRESET))
      return true;
    pump(1);
  }
  return false;
}

/* ---- tests ---- */

/* Stream 1 to virt (listener lfd): n_up bytes client -> local with the
 * local side not reading at first (hold_expected: the window must close
 * and SENDMEs be held back), n_down local -> client with slow SENDMEs,
 * then local EOF. */
static void
both_ways(uint16_t virt, int lfd, size_t n_up, size_t n_down,
          bool hold_expected)
{
  int fd = open_stream(1, virt, lfd);
  cr_assert_eq(rc->n_streams, 1);
  relay_streams_t *t = fake_circ(0)->t;

  /* Client -> local, 2 MB, the local side not reading at first: the
   * service holds its SENDMEs back. */
  uint8_t *up = malloc(n_up), *got = malloc(n_up);
  fill(up, n_up, 7);
  size_t sent = client_send(1, up, n_up, 300);
  if (hold_expected) {
    cr_assert_lt(sent, n_up, "the window never closed");
    cr_assert_gt(relay_stream_sendmes_owed(t, 1), 0, "SENDMEs not held");
  }
  /* Now read: SENDMEs flow again and everything arrives. */
  size_t have = 0;
  while (have < n_up) {
    have += local_read(fd, got + have, n_up - have, 20, NULL);
    if (sent < n_up)
      sent += client_send(1, up + sent, n_up - sent, 1);
  }
  cr_assert_eq(memcmp(up, got, n_up), 0);
  cr_assert_eq(rc->bytes_in, n_up);

  /* Local -> client, 1 MB, the client acking slowly: the service's queue
   * stays bounded (reading stops at CLIENT_PAUSE_BYTES). */
  size_t off = 0, max_pending = 0;
  uint8_t *down = malloc(n_down);
  fill(down, n_down, 11);
  uint64_t end = now_ms() + 20000;
  for (unsigned i = 0; (off < n_down || ps[1].rx_len < n_down) &&
                       now_ms() < end; i++) {
    if (off < n_down) {
      ssize_t w = send(fd, down + off, n_down - off,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w > 0)
        off += (size_t)w;
    }
    pump(1);
    size_t pend = relay_stream_pending(t, 1);
    if (pend > max_pending)
      max_pending = pend;
    if (i % 10 == 0)
      client_ack(1);
  }
  cr_assert_eq(ps[1].rx_len, n_down);
  cr_assert_eq(memcmp(ps[1].rx, down, n_down), 0);
  cr_assert_lt(max_pending, CLIENT_PAUSE_BYTES + 128 * 1024);
  /* the queue filled up: local reading stopped (and resumed) */
  cr_assert_geq(max_pending, CLIENT_PAUSE_BYTES / 2);
  cr_assert_eq(rc->bytes_out, n_down);

  /* Local EOF: END DONE after the data. */
  close(fd);
  cr_assert(wait_for(&ps[1].ended, 3000));
  cr_assert_eq(ps[1].end_reason, RELAY_END_DONE);
  cr_assert_not(ps[1].data_after_end);
  cr_assert_eq(rc->n_streams, 0);
  pump(20);
  cr_assert_null(rc->conns, "dead connection not freed by the tick");
  free(up);
  free(got);
  free(down);
}

Test(hs_svc_stream, tcp_both_ways)
{
  join(true);
  both_ways(80, tcp_lfd, 600 * 1024, 1024 * 1024, false);
}

/* Unix socket buffers are small enough for the client -> local
 * back-pressure to show (loopback TCP absorbs megabytes). */
Test(hs_svc_stream, unix_both_ways_with_backpressure)
{
  join(true);
  both_ways(81, unix_lfd, 3 * 1024 * 1024, 1024 * 1024, true);
}

Test(hs_svc_stream, unix_socket_and_client_end)
{
  join(false);   /* DATA as stream events */
  int fd = open_stream(3, 81, unix_lfd);
  uint8_t msg[3000], buf[3000];
  fill(msg, sizeof(msg), 3);
  cr_assert_eq(client_send(3, msg, sizeof(msg), 1000), sizeof(msg));
  cr_assert_eq(local_read(fd, buf, sizeof(buf), 3000, NULL), sizeof(buf));
  cr_assert_eq(memcmp(msg, buf, sizeof(buf)), 0);
  cr_assert_eq(send(fd, "pong", 4, 0), 4);
  uint64_t end = now_ms() + 3000;
  while (ps[3].rx_len < 4 && now_ms() < end)
    pump(2);
  cr_assert_eq(ps[3].rx_len, 4);
  cr_assert_eq(memcmp(ps[3].rx, "pong", 4), 0);
  /* The client's last bytes and its END: written, then the socket closes. */
  cr_assert_eq(client_send(3, msg, 100, 1000), 100);
  client_end(3, RELAY_END_DONE);
  cr_assert_eq(rc->n_streams, 0);
  bool eof = false;
  cr_assert_eq(local_read(fd, buf, 100, 3000, &eof), 100);
  cr_assert_eq(memcmp(msg, buf, 100), 0);
  cr_assert(local_eof(fd, 3000));
  cr_assert_not(ps[3].ended, "no END back for the client's END");
  close(fd);
}

Test(hs_svc_stream, stream_id_reused_after_end)
{
  join(true);
  int fd = open_stream(1, 80, tcp_lfd);
  client_end(1, RELAY_END_DONE);
  cr_assert(local_eof(fd, 3000));
  close(fd);
  ps[1].connected = false;
  int fd2 = open_stream(1, 80, tcp_lfd);
  cr_assert_eq(rc->n_streams, 1);
  close(fd2);
  cr_assert(wait_for(&ps[1].ended, 3000));
}

Test(hs_svc_stream, unmapped_port_closes_circuit)
{
  join(true);
  cr_assert_eq(client_begin(1, 9999), 0);
  cr_assert(closed_cb_ran);
  cr_assert(rc->closed);
  cr_assert(ps[1].ended);
  cr_assert_eq(ps[1].end_reason, RELAY_END_DONE);
  cr_assert_null(rc->conns);
}

Test(hs_svc_stream, unmapped_port_allowed_unknown)
{
  cfg.allow_unknown_ports = 1;
  join(true);
  cr_assert_eq(client_begin(1, 9999), 0);
  cr_assert_not(closed_cb_ran);
  cr_assert(ps[1].ended);
  cr_assert_eq(ps[1].end_reason, RELAY_END_DONE);
  cr_assert_eq(rc->n_streams, 0);
  cr_assert_eq(relay_stream_state(fake_circ(0)->t, 1), RELAY_STREAM_CLOSING);
}

Test(hs_svc_stream, max_streams_ignored)
{
  cfg.max_streams = 1;
  join(true);
  int fd = open_stream(1, 80, tcp_lfd);
  cr_assert_eq(client_begin(2, 80), 0);
  cr_assert(ps[2].ended, "over the limit: END DONE, not left open");
  cr_assert_eq(ps[2].end_reason, RELAY_END_DONE);
  cr_assert_not(closed_cb_ran);
  cr_assert_eq(rc->n_streams, 1);
  /* The first still works; after it ends a new one is allowed. */
  client_end(1, RELAY_END_DONE);
  cr_assert(local_eof(fd, 3000));
  close(fd);
  int fd2 = open_stream(4, 80, tcp_lfd);
  close(fd2);
}

Test(hs_svc_stream, max_streams_close_circuit)
{
  cfg.max_streams = 1;
  cfg.max_streams_close_circuit = 1;
  join(true);
  int fd = open_stream(1, 80, tcp_lfd);
  cr_assert_eq(client_begin(2, 80), 0);
  cr_assert(closed_cb_ran);
  cr_assert_null(rc->conns);
  cr_assert(local_eof(fd, 3000), "local socket left open");
  close(fd);
}

Test(hs_svc_stream, connection_refused)
{
  join(true);
  cr_assert_eq(client_begin(1, 82), 0);
  cr_assert(wait_for(&ps[1].ended, 3000));
  cr_assert_eq(ps[1].end_reason, RELAY_END_CONNECTREFUSED);
  cr_assert_not(ps[1].connected);
  cr_assert_eq(rc->n_streams, 0);
  cr_assert_eq(client_begin(2, 83), 0);   /* unix path, nobody there */
  cr_assert(wait_for(&ps[2].ended, 3000));
  cr_assert_eq(ps[2].end_reason, RELAY_END_CONNECTREFUSED);
  pump(20);
  cr_assert_null(rc->conns);
  cr_assert_not(closed_cb_ran);
}

Test(hs_svc_stream, unix_path_too_long)
{
  char longp[200];
  memset(longp, 'a', sizeof(longp) - 1);
  longp[0] = '/';
  longp[sizeof(longp) - 1] = 0;
  al_free(ports[3].unix_path);
  ports[3].unix_path = al_strdup(longp);
  join(true);
  cr_assert_eq(client_begin(1, 83), 0);
  cr_assert(ps[1].ended);
  cr_assert_eq(ps[1].end_reason, RELAY_END_DONE);
  cr_assert_eq(rc->n_streams, 0);
}

Test(hs_svc_stream, circuit_closed_with_streams_open)
{
  join(true);
  int fd1 = open_stream(1, 80, tcp_lfd);
  int fd2 = open_stream(2, 81, unix_lfd);
  cr_assert_eq(client_begin(5, 80), 0);    /* one still connecting */
  uint8_t msg[1000];
  fill(msg, sizeof(msg), 5);
  client_send(1, msg, sizeof(msg), 100);
  fake_close(0, true, CIRC_HOP_NONE);
  cr_assert(closed_cb_ran);
  cr_assert_null(rc->conns);
  cr_assert_eq(rc->n_streams, 0);
  cr_assert(local_eof(fd1, 3000));
  cr_assert(local_eof(fd2, 3000));
  /* Late calls are harmless. */
  client_hs_svc_streams_tick(rc, now_ms());
  client_hs_svc_stream_data(rc, 1, msg, 10);
  close(fd1);
  close(fd2);
  int fd3 = accept_local(tcp_lfd, 100);
  if (fd3 >= 0) {
    cr_assert(local_eof(fd3, 3000));
    close(fd3);
  }
}

Test(hs_svc_stream, begin_dir_and_resolve_refused)
{
  join(true);
  cr_assert_eq(fake_peer_send(0, RELAY_BEGIN_DIR, 1, NULL, 0), 0);
  cr_assert(ps[1].ended);
  cr_assert_eq(ps[1].end_reason, RELAY_END_NOTDIRECTORY);
  const char name[] = "example.com";
  cr_assert_eq(fake_peer_send(0, RELAY_RESOLVE, 2, (const uint8_t *)name,
                              sizeof(name)), 0);
  cr_assert(ps[2].resolved);
  cr_assert_eq(ps[2].resolved_type, RELAY_RESOLVED_ERROR_NONTRANSIENT);
  cr_assert_eq(rc->n_streams, 0);
  cr_assert_null(rc->conns);
  cr_assert_not(closed_cb_ran);
}

Test(hs_svc_stream, malformed_begin)
{
  join(true);
  const uint8_t nonul[] = { ':', '8', '0' };
  cr_assert_eq(fake_peer_send(0, RELAY_BEGIN, 1, nonul, sizeof(nonul)), 0);
  cr_assert(ps[1].ended);
  cr_assert_eq(ps[1].end_reason, RELAY_END_TORPROTOCOL);
  const uint8_t port0[] = ":0";
  cr_assert_eq(fake_peer_send(0, RELAY_BEGIN, 2, port0, sizeof(port0)), 0);
  cr_assert(ps[2].ended);
  uint8_t big[RELAY_BODY_MAX];
  memset(big, 'a', sizeof(big));
  cr_assert_eq(fake_peer_send(0, RELAY_BEGIN, 3, big, sizeof(big)), 0);
  cr_assert(ps[3].ended);
  cr_assert_eq(rc->n_streams, 0);
  cr_assert_null(rc->conns);
  /* DATA for streams that do not exist, or with no connection. */
  cr_assert_eq(fake_peer_send(0, RELAY_DATA, 9, big, 10), 0);
  client_hs_svc_stream_data(rc, 9, big, 10);
  cr_assert_not(closed_cb_ran);
}

Test(hs_svc_stream, data_before_connected_is_kept)
{
  join(true);
  cr_assert_eq(client_begin(1, 80), 0);
  /* Optimistic data (allium's client sends it): queued for the socket. */
  cr_assert_eq(fake_peer_send(0, RELAY_DATA, 1, (const uint8_t *)"early", 5),
               0);
  int fd = accept_local(tcp_lfd, 3000);
  cr_assert(fd >= 0);
  uint8_t buf[5];
  cr_assert_eq(local_read(fd, buf, 5, 3000, NULL), 5);
  cr_assert_eq(memcmp(buf, "early", 5), 0);
  cr_assert(ps[1].connected);
  close(fd);
}

Test(hs_svc_stream, connect_deadline)
{
  join(true);
  cr_assert_eq(client_begin(1, 80), 0);
  /* No event loop turn: the connection is still in progress. */
  client_hs_svc_streams_tick(rc, 1000);
  client_hs_svc_streams_tick(rc, 1000 + 9999);
  cr_assert_not(ps[1].ended);
  client_hs_svc_streams_tick(rc, 1000 + 10000);
  cr_assert(ps[1].ended);
  cr_assert_eq(ps[1].end_reason, RELAY_END_TIMEOUT);
  cr_assert_eq(rc->n_streams, 0);
  cr_assert_null(rc->conns);
  pump(20);
  cr_assert_not(ps[1].connected);
  int fd = accept_local(tcp_lfd, 100);
  if (fd >= 0) {
    cr_assert(local_eof(fd, 3000));
    close(fd);
  }
}
