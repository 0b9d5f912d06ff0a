/* test_client_ctl.c -- the client's side of the control port
 * (client_ctl.c; control-spec 4.1.1 CIRC, 4.1.2 STREAM, 4.1.12 GUARD,
 * 4.1.13 STREAM_BW, 4.1.26 CIRC_BW, 3.9 GETINFO, 3.16 CLOSESTREAM, 3.17
 * CLOSECIRCUIT, 3.7 NEWNYM): a sink on the control bus collects the event
 * lines while real loopback SOCKS connections drive the client, circuits
 * coming from the fake channel manager with the test playing the exit. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/client/client.h"
#include "allium/lib/malloc/malloc.h"
#include "fake_origin_channels.h"
#include "netfix.h"
/* the client's internals: circuits outside the pool (client_ctl_hs.c) */
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

/* ---- the sink ---- */

#define MAX_EVENTS 256
static char *events[MAX_EVENTS];
static size_t n_events;
static size_t n_sink_calls;

static void
sink(ctlev_type_t t, const char *msg, size_t len, void *arg)
{
  (void)t;
  (void)arg;
  n_sink_calls++;
  if (n_events < MAX_EVENTS) {
    char *s = al_malloc(len + 1);
    memcpy(s, msg, len);
    s[len] = '\0';
    events[n_events++] = s;
  }
}

static void
events_clear(void)
{
  for (size_t i = 0; i < n_events; i++)
    al_free(events[i]);
  n_events = 0;
  n_sink_calls = 0;
}

static void
listen_to(uint64_t mask)
{
  ctlev_set_sink(sink, NULL);
  ctlev_set_mask(mask);
}

#define BIT(t) (1ull << (unsigned)(t))

/* Index of the first event from `from` on that starts with prefix; -1. */
static int
find_event(size_t from, const char *prefix)
{
  for (size_t i = from; i < n_events; i++)
    if (!strncmp(events[i], prefix, strlen(prefix)))
      return (int)i;
  return -1;
}

static void
dump_events(void)
{
  for (size_t i = 0; i < n_events; i++)
    fprintf(stderr, "  [%zu] %s", i, events[i]);
}

/* The event at i is prefix + " TIME_CREATED=YYYY-MM-DDTHH:MM:SS.uuuuuu"
 * + rest + CR LF. */
static void
assert_circ_line(int i, const char *prefix, const char *rest)
{
  if (i < 0)
    dump_events();
  cr_assert_geq(i, 0, "no event starting with %s", prefix);
  const char *e = events[i];
  size_t pl = strlen(prefix);
  cr_assert(!strncmp(e, prefix, pl), "%s", e);
  const char *t = e + pl;
  cr_assert(!strncmp(t, " TIME_CREATED=", 14), "%s", e);
  t += 14;
  cr_assert(strlen(t) >= 26, "%s", e);
  cr_assert(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' &&
            t[16] == ':' && t[19] == '.', "%s", e);
  t += 26;
  char want[256];
  snprintf(want, sizeof(want), "%s\r\n", rest);
  cr_assert_str_eq(t, want);
}

/* ---- the client ---- */

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

static void
mk_client(bool use_guards)
{
  base = event_base_new();
  cr_assert_not_null(base);
  nl = netfix_nodelist(net, sizeof(net) / sizeof(net[0]), NULL, NULL);
  cr_assert_not_null(nl);
  fake_reset();
  proxy_port_cfg_t pc;
  char *err = NULL;
  cr_assert_eq(proxy_port_parse("127.0.0.1:auto", PROXY_PORT_SOCKS, &pc,
                                &err), 0, "%s", err ? err : "");
  client_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.base = base;
  cfg.cm = FAKE_CM;
  cfg.nl = nl;
  cfg.ports = &pc;
  cfg.n_ports = 1;
  pathsel_options_init(&cfg.path_opts);
  cfg.use_entry_guards = use_guards;
  cfg.socks_timeout_msec = 5000;
  cfg.stream_timeout_msec = 2000;
  cl = client_new(&cfg);
  proxy_port_cfg_clear(&pc);
  cr_assert_not_null(cl);
  cr_assert_eq(client_open_listeners(cl, &err), 0, "%s", err ? err : "");
  client_ctl_attach(cl);
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
  ctlev_set_sink(NULL, NULL);
  ctlinfo_reset();
  events_clear();
}

/* Preemptive circuits 0 and 1, built. */
static void
mk_client_with_circuits(void)
{
  mk_client(true);
  client_dirinfo_changed(cl, true);
  cr_assert_eq(fake_n_circs(), 2);
  fake_build(0);
  fake_build(1);
}

static const char *
nick_of(uint8_t b)
{
  for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
    if (net[i].id == b)
      return net[i].nick;
  return "?";
}

/* "$FP~nick,..." of the first n hops of fake circuit i. */
static void
path_of(size_t i, size_t n, char *buf, size_t len)
{
  fake_circ_t *fc = fake_circ(i);
  size_t off = 0;
  buf[0] = '\0';
  for (size_t h = 0; h < n; h++) {
    char fp[41];
    for (int k = 0; k < 20; k++)
      snprintf(fp + 2 * k, 3, "%02X", fc->hops[h].rsa_id[k]);
    off += (size_t)snprintf(buf + off, len - off, "%s$%s~%s", h ? "," : "",
                            fp, nick_of(fc->hops[h].rsa_id[0]));
  }
}

static int
connect_client(uint16_t *src_port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(client_listener_port(cl, 0));
  cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  struct sockaddr_in me;
  socklen_t ml = sizeof(me);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
  if (src_port)
    *src_port = ntohs(me.sin_port);
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

static void
expect(int fd, const void *want, size_t n)
{
  uint8_t buf[512];
  bool eof;
  size_t got = recv_some(fd, buf, n, 2000, &eof);
  cr_assert_eq(got, n, "got %zu of %zu bytes (eof %d)", got, n, eof);
  cr_assert_arr_eq(buf, want, n);
}

static bool
wait_eof(int fd, int ms)
{
  uint8_t tmp[512];
  bool eof = false;
  uint64_t end = now_ms() + (uint64_t)ms;
  while (!eof && now_ms() < end)
    (void)recv_some(fd, tmp, sizeof(tmp), 20, &eof);
  return eof;
}

/* SOCKS5 CONNECT (or RESOLVE) host:port, no reply read. */
static int
socks5_request(const char *host, uint16_t port, uint8_t cmd,
               uint16_t *src_port)
{
  int fd = connect_client(src_port);
  send_all(fd, "\x05\x01\x00", 3);
  expect(fd, "\x05\x00", 2);
  uint8_t b[300];
  size_t n = 0;
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

/* The circuit carrying a BEGIN for host (waits up to a second); -1. */
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

static char *
getinfo(const char *key)
{
  char *answer = NULL;
  const char *err = NULL;
  int r = ctlinfo_get(key, &answer, &err);
  cr_assert_eq(r, 0, "GETINFO %s: %d", key, r);
  cr_assert_not_null(answer);
  return answer;
}

/* ---------------------------------------------------------------- */

Test(client_ctl, circ_launched_extended_built_closed, .fini = teardown)
{
  listen_to(BIT(CTLEV_CIRC));
  mk_client(true);
  client_dirinfo_changed(cl, true);
  cr_assert_eq(fake_n_circs(), 2);
  assert_circ_line(find_event(0, "650 CIRC 1 LAUNCHED"),
                   "650 CIRC 1 LAUNCHED BUILD_FLAGS=NEED_CAPACITY "
                   "PURPOSE=GENERAL", "");
  assert_circ_line(find_event(0, "650 CIRC 2 LAUNCHED"),
                   "650 CIRC 2 LAUNCHED BUILD_FLAGS=NEED_CAPACITY "
                   "PURPOSE=GENERAL", "");
  /* the pool links new circuits at its head: handle 1 is circuit ID 1 */
  events_clear();
  fake_build(0);
  char path[400], want[600];
  for (size_t h = 1; h <= 3; h++) {
    path_of(0, h, path, sizeof(path));
    snprintf(want, sizeof(want), "650 CIRC 1 EXTENDED %s BUILD_FLAGS="
             "NEED_CAPACITY PURPOSE=GENERAL", path);
    assert_circ_line((int)h - 1, want, "");
  }
  path_of(0, 3, path, sizeof(path));
  snprintf(want, sizeof(want), "650 CIRC 1 BUILT %s BUILD_FLAGS="
           "NEED_CAPACITY PURPOSE=GENERAL", path);
  assert_circ_line(3, want, "");
  cr_assert_eq(n_events, 4);

  /* GETINFO circuit-status: the BUILT line without "650 CIRC " */
  char *cs = getinfo("circuit-status");
  cr_assert(strstr(cs, want + 9) != NULL, "%s", cs);
  cr_assert(strstr(cs, "\n2 LAUNCHED BUILD_FLAGS=NEED_CAPACITY "
                       "PURPOSE=GENERAL TIME_CREATED=") ||
            !strncmp(cs, "2 LAUNCHED BUILD_FLAGS=", 23), "%s", cs);
  al_free(cs);

  /* CLOSECIRCUIT: REASON=REQUESTED */
  events_clear();
  cr_assert_eq(client_ctl_close_circuit(cl, 1, false), 0);
  snprintf(want, sizeof(want), "650 CIRC 1 CLOSED %s BUILD_FLAGS="
           "NEED_CAPACITY PURPOSE=GENERAL", path);
  assert_circ_line(0, want, " REASON=REQUESTED");
  cr_assert_eq(client_ctl_close_circuit(cl, 1, false), -1, "already gone");

  /* circuit 2 fails at its first hop: FAILED then CLOSED, remote reason */
  events_clear();
  fake_close(1, false, 0);
  assert_circ_line(0, "650 CIRC 2 FAILED BUILD_FLAGS=NEED_CAPACITY "
                   "PURPOSE=GENERAL",
                   " REASON=DESTROYED REMOTE_REASON=CHANNEL_CLOSED");
  assert_circ_line(1, "650 CIRC 2 CLOSED BUILD_FLAGS=NEED_CAPACITY "
                   "PURPOSE=GENERAL",
                   " REASON=DESTROYED REMOTE_REASON=CHANNEL_CLOSED");
}

Test(client_ctl, stream_new_sentconnect_succeeded_closed, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM));
  mk_client_with_circuits();
  uint16_t src = 0, sid = 0;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, &src);
  int ci = circ_with_begin("a.example", &sid);
  cr_assert_geq(ci, 0);
  uint32_t circ_id = (uint32_t)(fake_n_circs() - (size_t)ci);
  (void)circ_id;
  char want[256];
  snprintf(want, sizeof(want), "650 STREAM 1 NEW 0 a.example:80 "
           "SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", src);
  cr_assert_geq(n_events, 2);
  cr_assert_str_eq(events[0], want);
  /* circuit IDs follow the launches: fake index i is ID i + 1 */
  snprintf(want, sizeof(want), "650 STREAM 1 SENTCONNECT %d a.example:80 "
           "SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", ci + 1, src);
  cr_assert_str_eq(events[1], want);

  char *ss = getinfo("stream-status");
  snprintf(want, sizeof(want), "1 SENTCONNECT %d a.example:80", ci + 1);
  cr_assert_str_eq(ss, want);
  al_free(ss);

  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  snprintf(want, sizeof(want), "650 STREAM 1 SUCCEEDED %d a.example:80 "
           "SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", ci + 1, src);
  cr_assert_eq(n_events, 3);
  cr_assert_str_eq(events[2], want);
  ss = getinfo("stream-status");
  snprintf(want, sizeof(want), "1 SUCCEEDED %d a.example:80", ci + 1);
  cr_assert_str_eq(ss, want);
  al_free(ss);

  close(fd);
  uint64_t end = now_ms() + 2000;
  while (n_events < 4 && now_ms() < end)
    pump(5);
  /* still on its circuit when the app closed it */
  snprintf(want, sizeof(want), "650 STREAM 1 CLOSED %d a.example:80 "
           "REASON=DONE SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", ci + 1,
           src);
  cr_assert_eq(n_events, 4);
  cr_assert_str_eq(events[3], want);
  ss = getinfo("stream-status");
  cr_assert_str_eq(ss, "");
  al_free(ss);
}

Test(client_ctl, stream_refused_failed_closed, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM));
  mk_client_with_circuits();
  uint16_t src = 0, sid = 0;
  int fd = socks5_request("b.example", 443, SOCKS_CMD_CONNECT, &src);
  int ci = circ_with_begin("b.example", &sid);
  cr_assert_geq(ci, 0);
  uint8_t reason = RELAY_END_CONNECTREFUSED;   /* not retried */
  fake_exit_send((size_t)ci, RELAY_END, sid, &reason, 1);
  cr_assert(wait_eof(fd, 2000));
  close(fd);
  pump(150);
  int f = find_event(0, "650 STREAM 1 FAILED");
  if (f < 0)
    dump_events();
  cr_assert_geq(f, 0);
  char want[256];
  snprintf(want, sizeof(want), "650 STREAM 1 FAILED 0 b.example:443 "
           "REASON=END REMOTE_REASON=CONNECTREFUSED SOURCE_ADDR=127.0.0.1:%u "
           "PURPOSE=USER\r\n", src);
  cr_assert_str_eq(events[f], want);
  int cl_ = find_event((size_t)f + 1, "650 STREAM 1 CLOSED ");
  cr_assert_geq(cl_, 0);
  snprintf(want, sizeof(want), "650 STREAM 1 CLOSED 0 b.example:443 "
           "REASON=END REMOTE_REASON=CONNECTREFUSED SOURCE_ADDR=127.0.0.1:%u "
           "PURPOSE=USER\r\n", src);
  cr_assert_str_eq(events[cl_], want);
}

Test(client_ctl, stream_detached_when_its_circuit_dies, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM));
  mk_client_with_circuits();
  uint16_t src = 0, sid = 0;
  int fd = socks5_request("d.example", 80, SOCKS_CMD_CONNECT, &src);
  int ci = circ_with_begin("d.example", &sid);
  cr_assert_geq(ci, 0);
  fake_close((size_t)ci, true, CIRC_HOP_NONE);
  int d = find_event(0, "650 STREAM 1 DETACHED ");
  if (d < 0)
    dump_events();
  cr_assert_geq(d, 0);
  char want[256];
  snprintf(want, sizeof(want), "650 STREAM 1 DETACHED 0 d.example:80 "
           "REASON=DESTROY SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", src);
  cr_assert_str_eq(events[d], want);
  /* retried on the other circuit */
  uint64_t end = now_ms() + 2000;
  while (find_event((size_t)d + 1, "650 STREAM 1 SENTCONNECT ") < 0 &&
         now_ms() < end)
    pump(5);
  int s2 = find_event((size_t)d + 1, "650 STREAM 1 SENTCONNECT ");
  if (s2 < 0)
    dump_events();
  cr_assert_geq(s2, 0);
  char other[32];
  snprintf(other, sizeof(other), "SENTCONNECT %d ", ci + 1);
  cr_assert_null(strstr(events[s2], other), "%s", events[s2]);
  close(fd);
  pump(50);
}

Test(client_ctl, stream_resolve_events, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM));
  mk_client_with_circuits();
  uint16_t src = 0;
  int fd = socks5_request("r.example", 0, SOCKS_CMD_RESOLVE, &src);
  uint64_t end = now_ms() + 1000;
  while (n_events < 2 && now_ms() < end)
    pump(5);
  cr_assert_geq(n_events, 2);
  char want[256];
  snprintf(want, sizeof(want), "650 STREAM 1 NEWRESOLVE 0 r.example:0 "
           "SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", src);
  cr_assert_str_eq(events[0], want);
  cr_assert(!strncmp(events[1], "650 STREAM 1 SENTRESOLVE ", 25), "%s",
            events[1]);
  close(fd);
}

Test(client_ctl, getinfo_keys, .fini = teardown)
{
  mk_client(true);
  char *s = getinfo("status/circuit-established");
  cr_assert_str_eq(s, "0");
  al_free(s);
  s = getinfo("status/enough-dir-info");
  cr_assert_str_eq(s, "0");
  al_free(s);
  s = getinfo("circuit-status");
  cr_assert_str_eq(s, "");
  al_free(s);
  s = getinfo("orconn-status");
  cr_assert_str_eq(s, "");
  al_free(s);
  client_dirinfo_changed(cl, true);
  fake_build(0);
  fake_build(1);
  s = getinfo("status/circuit-established");
  cr_assert_str_eq(s, "1");
  al_free(s);
  s = getinfo("status/enough-dir-info");
  cr_assert_str_eq(s, "1");
  al_free(s);
  /* entry-guards: "$FP~nick status" lines, the guard we used is up */
  s = getinfo("entry-guards");
  cr_assert_gt(strlen(s), 0);
  char path[400];
  path_of(0, 1, path, sizeof(path));
  char want[600];
  snprintf(want, sizeof(want), "%s up", path);
  cr_assert(strstr(s, want) != NULL, "%s / %s", s, want);
  for (char *line = s; line && *line;) {
    cr_assert_eq(line[0], '$');
    cr_assert_eq(line[41], '~');
    char *nl_ = strchr(line, '\n');
    line = nl_ ? nl_ + 1 : NULL;
  }
  al_free(s);
  char *answer = NULL;
  const char *err = NULL;
  cr_assert_eq(ctlinfo_get("circuit-status/bogus", &answer, &err),
               CTLINFO_UNKNOWN);
  /* client_free() unregisters its keys */
  client_free(cl);
  cr_assert_eq(ctlinfo_get("circuit-status", &answer, &err),
               CTLINFO_UNKNOWN);
  cr_assert_eq(ctlinfo_get("stream-status", &answer, &err),
               CTLINFO_UNKNOWN);
  cr_assert_null(answer);
}

Test(client_ctl, close_unknown_ids, .fini = teardown)
{
  mk_client_with_circuits();
  cr_assert_eq(client_ctl_close_circuit(cl, 0, false), -1);
  cr_assert_eq(client_ctl_close_circuit(cl, 77, false), -1);
  cr_assert_eq(client_ctl_close_circuit(cl, UINT32_MAX, true), -1);
  cr_assert_eq(client_ctl_close_stream(cl, 0, RELAY_END_MISC), -1);
  cr_assert_eq(client_ctl_close_stream(cl, 1, RELAY_END_MISC), -1);
  cr_assert_eq(client_ctl_close_stream(cl, UINT64_MAX, 1), -1);
  cr_assert_eq(client_ctl_close_circuit(NULL, 1, false), -1);
  cr_assert_eq(client_ctl_close_stream(NULL, 1, 1), -1);
  client_newnym(NULL);
  client_ctl_attach(NULL);
  cr_assert_eq(client_n_circuits(cl), 2);
}

Test(client_ctl, close_stream_and_if_unused, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM));
  mk_client_with_circuits();
  uint16_t sid = 0;
  int fd = socks5_request("c.example", 80, SOCKS_CMD_CONNECT, NULL);
  int ci = circ_with_begin("c.example", &sid);
  cr_assert_geq(ci, 0);
  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  /* the circuit carries a stream: IfUnused refuses */
  cr_assert_eq(client_ctl_close_circuit(cl, (uint32_t)ci + 1, true), -1);
  size_t ends = fake_count_msgs((size_t)ci, RELAY_END);
  cr_assert_eq(client_ctl_close_stream(cl, 1, RELAY_END_MISC), 0);
  cr_assert_eq(fake_count_msgs((size_t)ci, RELAY_END), ends + 1);
  const fake_msg_t *m = fake_last_msg((size_t)ci, RELAY_END);
  cr_assert_eq(m->stream_id, sid);
  cr_assert_eq(m->body[0], RELAY_END_MISC);
  cr_assert(wait_eof(fd, 2000));
  close(fd);
  pump(150);
  cr_assert_geq(find_event(0, "650 STREAM 1 CLOSED "), 0);
  cr_assert_eq(client_ctl_close_stream(cl, 1, RELAY_END_MISC), -1);
  /* now unused: IfUnused closes it */
  size_t n = client_n_circuits(cl);
  cr_assert_eq(client_ctl_close_circuit(cl, (uint32_t)ci + 1, true), 0);
  cr_assert_eq(client_n_circuits(cl), n - 1);
}

Test(client_ctl, newnym_uses_a_new_circuit, .fini = teardown)
{
  mk_client_with_circuits();
  uint16_t sa = 0, sb = 0, sc = 0;
  int a = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, NULL);
  int ca = circ_with_begin("a.example", &sa);
  cr_assert_geq(ca, 0);
  exit_connected((size_t)ca, sa);
  expect(a, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  /* without NEWNYM the next stream shares the used circuit */
  int b = socks5_request("b.example", 80, SOCKS_CMD_CONNECT, NULL);
  int cb = circ_with_begin("b.example", &sb);
  cr_assert_eq(cb, ca);
  client_newnym(cl);
  int c = socks5_request("c.example", 80, SOCKS_CMD_CONNECT, NULL);
  int cc = circ_with_begin("c.example", &sc);
  cr_assert_geq(cc, 0);
  cr_assert_neq(cc, ca, "NEWNYM: a stream after it takes another circuit");
  close(a);
  close(b);
  close(c);
  pump(50);
}

Test(client_ctl, nothing_formatted_without_listener, .fini = teardown)
{
  /* a sink, but mask 0: not one call */
  listen_to(0);
  mk_client_with_circuits();
  uint16_t sid = 0;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, NULL);
  int ci = circ_with_begin("a.example", &sid);
  cr_assert_geq(ci, 0);
  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  fake_exit_send((size_t)ci, RELAY_DATA, sid, (const uint8_t *)"hi", 2);
  expect(fd, "hi", 2);
  pump(1200);
  close(fd);
  pump(150);
  cr_assert_eq(client_ctl_close_circuit(cl, 2, false), 0);
  cr_assert_eq(n_sink_calls, 0);
  /* only CIRC asked for: no STREAM line */
  ctlev_set_mask(BIT(CTLEV_CIRC));
  fd = socks5_request("b.example", 80, SOCKS_CMD_CONNECT, NULL);
  pump(50);
  for (size_t i = 0; i < n_events; i++)
    cr_assert(strncmp(events[i], "650 STREAM ", 11), "%s", events[i]);
  close(fd);
  pump(50);
}

Test(client_ctl, stream_bw_and_circ_bw, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM_BW) | BIT(CTLEV_CIRC_BW));
  mk_client_with_circuits();
  uint16_t sid = 0;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, NULL);
  int ci = circ_with_begin("a.example", &sid);
  cr_assert_geq(ci, 0);
  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  fake_exit_send((size_t)ci, RELAY_DATA, sid, (const uint8_t *)"hello", 5);
  expect(fd, "hello", 5);
  send_all(fd, "abc", 3);
  uint64_t end = now_ms() + 2500;
  while ((find_event(0, "650 STREAM_BW ") < 0 ||
          find_event(0, "650 CIRC_BW ") < 0) && now_ms() < end)
    pump(10);
  int s = find_event(0, "650 STREAM_BW ");
  int cbw = find_event(0, "650 CIRC_BW ");
  if (s < 0 || cbw < 0)
    dump_events();
  cr_assert_geq(s, 0);
  cr_assert_geq(cbw, 0);
  /* "ID WRITTEN READ TIME": the app wrote 3, read 5 */
  cr_assert(!strncmp(events[s], "650 STREAM_BW 1 3 5 ", 20), "%s", events[s]);
  char want[64];
  snprintf(want, sizeof(want), "650 CIRC_BW ID=%d READ=5 WRITTEN=3 TIME=",
           ci + 1);
  cr_assert(!strncmp(events[cbw], want, strlen(want)), "%s", events[cbw]);
  /* nothing moved since: no more lines */
  size_t before = n_events;
  pump(1300);
  cr_assert_eq(n_events, before);
  close(fd);
  pump(50);
}

Test(client_ctl, guard_events, .fini = teardown)
{
  listen_to(BIT(CTLEV_GUARD));
  mk_client(true);
  client_dirinfo_changed(cl, true);
  int g = find_event(0, "650 GUARD ENTRY $");
  if (g < 0)
    dump_events();
  cr_assert_geq(g, 0);
  cr_assert(strstr(events[g], " NEW\r\n") != NULL, "%s", events[g]);
  cr_assert_eq(events[g][17 + 40], '~', "%s", events[g]);
  events_clear();
  fake_build(0);
  char path[400], want[600];
  path_of(0, 1, path, sizeof(path));
  snprintf(want, sizeof(want), "650 GUARD ENTRY %s UP\r\n", path);
  int u = find_event(0, "650 GUARD ENTRY ");
  if (u < 0)
    dump_events();
  cr_assert_geq(u, 0);
  cr_assert_str_eq(events[u], want);
}

/* ---- circuits outside the pool (client_ctl_hs.c) ---- */

static int inner_built, inner_closed, inner_hops;

static void
in_hop(chanmgr_t *cm, uint64_t h, unsigned hop, void *arg)
{
  (void)cm; (void)h; (void)hop; (void)arg;
  inner_hops++;
}

static void
in_built(chanmgr_t *cm, uint64_t h, void *arg)
{
  (void)cm; (void)h; (void)arg;
  inner_built++;
}

static void
in_closed(chanmgr_t *cm, uint64_t h, const chanmgr_close_info_t *info,
          void *arg)
{
  (void)cm; (void)h; (void)info; (void)arg;
  inner_closed++;
}

static void
in_stream(chanmgr_t *cm, uint64_t h, const relay_stream_event_t *ev,
          void *arg)
{
  (void)cm; (void)h; (void)ev; (void)arg;
}

Test(client_ctl, onion_service_circuits, .fini = teardown)
{
  mk_client(true);
  client_dirinfo_changed(cl, true);
  cr_assert_eq(fake_n_circs(), 2);
  listen_to(BIT(CTLEV_CIRC) | BIT(CTLEV_CIRC_MINOR));
  uint8_t id[20];
  memset(id, 0x32, 20);
  circ_hop_spec_t last;
  cr_assert_eq(client_hop_spec_from_node(nodelist_find_by_rsa_id(nl, id),
                                         &last), 0);
  chanmgr_circ_cbs_t cbs = { in_hop, in_built, in_closed, in_stream, NULL,
                             NULL, NULL };
  uint64_t h = 0;
  cr_assert_eq(client_circ_launch_hs_spec(cl, &last, &cbs, &h), 0);
  cr_assert_eq(fake_n_circs(), 3);
  cr_assert_null(fake_circ(2)->cbs.on_relay_msg, "NULL stays NULL");
  cr_assert_null(fake_circ(2)->cbs.on_data, "NULL stays NULL");
  assert_circ_line(0, "650 CIRC 3 LAUNCHED BUILD_FLAGS=IS_INTERNAL,"
                   "NEED_CAPACITY PURPOSE=HS_VANGUARDS", "");
  events_clear();
  fake_build(2);
  cr_assert_eq(inner_hops, 3);
  cr_assert_eq(inner_built, 1);
  char path[400], want[600];
  path_of(2, 3, path, sizeof(path));
  snprintf(want, sizeof(want), "650 CIRC 3 BUILT %s BUILD_FLAGS=IS_INTERNAL,"
           "NEED_CAPACITY PURPOSE=HS_VANGUARDS", path);
  assert_circ_line(3, want, "");
  char *cs = getinfo("circuit-status");
  cr_assert(strstr(cs, want + 9) != NULL, "%s", cs);
  al_free(cs);

  /* INTRODUCE1 shows what it is for */
  events_clear();
  client_ctl_circ_sent(cl, h, RELAY_INTRODUCE1);
  snprintf(want, sizeof(want), "650 CIRC_MINOR 3 PURPOSE_CHANGED %s "
           "BUILD_FLAGS=IS_INTERNAL,NEED_CAPACITY PURPOSE=HS_CLIENT_INTRO",
           path);
  assert_circ_line(0, want, " OLD_PURPOSE=HS_VANGUARDS");
  client_ctl_circ_sent(cl, h, RELAY_INTRODUCE1);   /* no change: quiet */
  client_ctl_circ_sent(cl, h, RELAY_DATA);
  client_ctl_circ_sent(cl, 9999, RELAY_INTRODUCE1);
  cr_assert_eq(n_events, 1);

  /* CLOSECIRCUIT reaches it; the owner hears of it once */
  events_clear();
  cr_assert_eq(client_ctl_close_circuit(cl, 3, true), 0);
  cr_assert_eq(inner_closed, 1);
  snprintf(want, sizeof(want), "650 CIRC 3 CLOSED %s BUILD_FLAGS=IS_INTERNAL,"
           "NEED_CAPACITY PURPOSE=HS_CLIENT_INTRO", path);
  assert_circ_line(0, want, " REASON=REQUESTED");
  cr_assert_eq(client_ctl_close_circuit(cl, 3, false), -1);

  /* a single onion service's one-hop circuit, failing */
  events_clear();
  cr_assert_eq(client_circ_launch_direct(cl, &last, &cbs, &h), 0);
  assert_circ_line(0, "650 CIRC 4 LAUNCHED BUILD_FLAGS=IS_INTERNAL,"
                   "ONEHOP_TUNNEL,NEED_CAPACITY PURPOSE=HS_VANGUARDS", "");
  fake_close(3, false, 0);
  cr_assert_eq(inner_closed, 2);
  assert_circ_line(1, "650 CIRC 4 FAILED BUILD_FLAGS=IS_INTERNAL,"
                   "ONEHOP_TUNNEL,NEED_CAPACITY PURPOSE=HS_VANGUARDS",
                   " REASON=DESTROYED REMOTE_REASON=CHANNEL_CLOSED");
  cs = getinfo("circuit-status");
  cr_assert_null(strstr(cs, "PURPOSE=HS_"), "%s", cs);
  al_free(cs);

  /* left open at client_free: closed without calling its owner */
  cr_assert_eq(client_circ_launch_hs_spec(cl, &last, &cbs, &h), 0);
  client_free(cl);
  cr_assert_eq(inner_closed, 2);
}
