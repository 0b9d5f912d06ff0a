/* test_client_ctl_stream.c -- the client's control commands
 * (client_ctl_stream.c, client_ctl_args.c; control-spec 3.8 MAPADDRESS,
 * 3.10 EXTENDCIRCUIT, 3.11 SETCIRCUITPURPOSE, 3.13 ATTACHSTREAM with
 * __LeaveStreamsUnattached, 3.16 CLOSESTREAM, 3.17 CLOSECIRCUIT, 3.29
 * DROPGUARDS, 4.1.7 ADDRMAP, 3.9 address-mappings/...): the commands run
 * through the control bus as the control port runs them; real loopback
 * SOCKS connections drive the client, circuits come from the fake channel
 * manager with the test playing the exit (fixtures as test_client_ctl.c). */
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
#include "allium/feature/client/client_ctl_args.h"
#include "allium/lib/conf/confline.h"
#include "allium/lib/malloc/malloc.h"
#include "fake_origin_channels.h"
#include "netfix.h"
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
mk_client_opts(bool use_guards, bool leave, const config_line_t *map)
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
  cfg.leave_streams_unattached = leave;
  cfg.map_address = map;
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
mk_client_with_circuits_opts(bool leave, const config_line_t *map)
{
  mk_client_opts(true, leave, map);
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

/* Run a command as the control port does; the whole reply. */
static char *
run(const char *kw, const char *args)
{
  char *reply = NULL;
  cr_assert_eq(ctlcmd_run(kw, 1, args, NULL, &reply), 1, "%s not registered",
               kw);
  cr_assert_not_null(reply);
  return reply;
}

static void
run_expect(const char *kw, const char *args, const char *want)
{
  char *r = run(kw, args);
  cr_assert_str_eq(r, want, "%s %s", kw, args);
  al_free(r);
}

/* Is there a BEGIN for host on fake circuit i (after a short pump)? */
static bool
begin_on(size_t i, const char *host, uint16_t *sid)
{
  pump(20);
  fake_circ_t *fc = fake_circ(i);
  for (size_t k = 0; fc && k < fc->n_msgs; k++) {
    relay_begin_t b;
    if (fc->msgs[k].command == RELAY_BEGIN &&
        relay_begin_decode(&b, fc->msgs[k].body, fc->msgs[k].len) == 0 &&
        !strcmp(b.host, host)) {
      if (sid)
        *sid = fc->msgs[k].stream_id;
      return true;
    }
  }
  return false;
}

static bool
begin_anywhere(const char *host)
{
  for (size_t i = 0; i < fake_n_circs(); i++)
    if (begin_on(i, host, NULL))
      return true;
  return false;
}

static void
mk_client_with_circuits(void)
{
  mk_client_with_circuits_opts(false, NULL);
}

/* ---- CLOSECIRCUIT / CLOSESTREAM ---- */

Test(ctlstream, closecircuit, .fini = teardown)
{
  listen_to(BIT(CTLEV_CIRC));
  mk_client_with_circuits();
  run_expect("CLOSECIRCUIT", "", "512 Missing argument to CLOSECIRCUIT\r\n");
  run_expect("CLOSECIRCUIT", "x1", "552 Unknown circuit \"x1\"\r\n");
  run_expect("CLOSECIRCUIT", "0", "552 Unknown circuit \"0\"\r\n");
  run_expect("CLOSECIRCUIT", "99999999999", "552 Unknown circuit \"99999999999\"\r\n");
  run_expect("CLOSECIRCUIT", "77", "552 Unknown circuit \"77\"\r\n");
  run_expect("CLOSECIRCUIT", "\"unterminated", "512 Invalid arguments to CLOSECIRCUIT\r\n");
  events_clear();
  run_expect("CLOSECIRCUIT", "1 IfUnused", "250 OK\r\n");
  char path[400], want[600];
  path_of(0, 3, path, sizeof(path));
  snprintf(want, sizeof(want), "650 CIRC 1 CLOSED %s BUILD_FLAGS="
           "NEED_CAPACITY PURPOSE=GENERAL", path);
  assert_circ_line(find_event(0, "650 CIRC 1 CLOSED"), want,
                   " REASON=REQUESTED");
  run_expect("CLOSECIRCUIT", "1", "552 Unknown circuit \"1\"\r\n");
}

Test(ctlstream, closestream, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM));
  mk_client_with_circuits();
  run_expect("CLOSESTREAM", "", "512 Missing argument to CLOSESTREAM\r\n");
  run_expect("CLOSESTREAM", "1", "512 Missing argument to CLOSESTREAM\r\n");
  run_expect("CLOSESTREAM", "1 300", "552 Unrecognized reason \"300\"\r\n");
  run_expect("CLOSESTREAM", "1 x", "552 Unrecognized reason \"x\"\r\n");
  run_expect("CLOSESTREAM", "-1 1", "552 Unknown stream \"-1\"\r\n");
  run_expect("CLOSESTREAM", "9 1", "552 Unknown stream \"9\"\r\n");
  uint16_t src, sid;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, &src);
  int ci = circ_with_begin("a.example", &sid);
  cr_assert_geq(ci, 0);
  exit_connected((size_t)ci, sid);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  events_clear();
  run_expect("CLOSESTREAM", "1 6 Flags", "250 OK\r\n");
  cr_assert(wait_eof(fd, 1000));
  cr_assert_geq(find_event(0, "650 STREAM 1 CLOSED"), 0);
  cr_assert_not_null(fake_last_msg((size_t)ci, RELAY_END));
  run_expect("CLOSESTREAM", "1 6", "552 Unknown stream \"1\"\r\n");
  close(fd);
}

/* ---- EXTENDCIRCUIT / SETCIRCUITPURPOSE ---- */

Test(ctlstream, extendcircuit_path, .fini = teardown)
{
  listen_to(BIT(CTLEV_CIRC));
  mk_client_with_circuits();
  events_clear();
  run_expect("EXTENDCIRCUIT", "0 g2,$2121212121212121212121212121212121212121~m1,e2",
             "250 EXTENDED 3\r\n");
  cr_assert_eq(fake_n_circs(), 3);
  fake_circ_t *fc = fake_circ(2);
  cr_assert_eq(fc->n_hops, 3);
  cr_assert_eq(fc->hops[0].rsa_id[0], 0x12);
  cr_assert_eq(fc->hops[1].rsa_id[0], 0x21);
  cr_assert_eq(fc->hops[2].rsa_id[0], 0x32);
  assert_circ_line(find_event(0, "650 CIRC 3 LAUNCHED"),
                   "650 CIRC 3 LAUNCHED BUILD_FLAGS=NEED_CAPACITY "
                   "PURPOSE=GENERAL", "");
  /* controller purpose; a 2-hop path */
  run_expect("EXTENDCIRCUIT", "0 1111111111111111111111111111111111111111,m2 "
             "purpose=controller", "250 EXTENDED 4\r\n");
  cr_assert_eq(fake_circ(3)->n_hops, 2);
  assert_circ_line(find_event(0, "650 CIRC 4 LAUNCHED"),
                   "650 CIRC 4 LAUNCHED BUILD_FLAGS=NEED_CAPACITY "
                   "PURPOSE=CONTROLLER", "");
  /* no path: the client picks */
  run_expect("EXTENDCIRCUIT", "0", "250 EXTENDED 5\r\n");
  cr_assert_eq(fake_circ(4)->n_hops, 3);
}

Test(ctlstream, extendcircuit_errors, .fini = teardown)
{
  mk_client_with_circuits();
  run_expect("EXTENDCIRCUIT", "", "512 Missing argument to EXTENDCIRCUIT\r\n");
  run_expect("EXTENDCIRCUIT", "x", "552 Unknown circuit \"x\"\r\n");
  run_expect("EXTENDCIRCUIT", "77 m1", "552 Unknown circuit \"77\"\r\n");
  run_expect("EXTENDCIRCUIT", "1 m1", "551 Couldn't extend circuit 1: allium "
             "extends only the circuits it builds (EXTENDCIRCUIT 0)\r\n");
  run_expect("EXTENDCIRCUIT", "0 nosuch", "552 No such router \"nosuch\"\r\n");
  run_expect("EXTENDCIRCUIT", "0 g1,,e1", "552 No such router \",e1\"\r\n");
  run_expect("EXTENDCIRCUIT", "0 g1,", "552 No such router \"\"\r\n");
  run_expect("EXTENDCIRCUIT", "0 $12", "552 No such router \"$12\"\r\n");
  run_expect("EXTENDCIRCUIT", "0 $4141414141414141414141414141414141414141",
             "552 No such router \"$4141414141414141414141414141414141414141\"\r\n");
  /* a fingerprint with the wrong nickname */
  run_expect("EXTENDCIRCUIT", "0 $1111111111111111111111111111111111111111~m1",
             "552 No such router \"$1111111111111111111111111111111111111111~m1\"\r\n");
  run_expect("EXTENDCIRCUIT", "0 g1,m1,m2,e1,e2",
             "512 Too many relays in the path (at most 4)\r\n");
  run_expect("EXTENDCIRCUIT", "0 g1 purpose=bogus",
             "552 Unknown purpose \"bogus\"\r\n");
  run_expect("EXTENDCIRCUIT", "0 g1 e1", "512 Unexpected argument \"e1\" to "
             "EXTENDCIRCUIT\r\n");
  cr_assert_eq(fake_n_circs(), 2, "nothing launched");
  fake_set_launch_fails(true);
  run_expect("EXTENDCIRCUIT", "0 g1,m1,e1", "551 Couldn't start circuit\r\n");
  fake_set_launch_fails(false);
}

Test(ctlstream, setcircuitpurpose_keeps_streams_off, .fini = teardown)
{
  listen_to(BIT(CTLEV_CIRC_MINOR));
  mk_client_with_circuits();
  run_expect("SETCIRCUITPURPOSE", "1", "512 Missing argument to SETCIRCUITPURPOSE\r\n");
  run_expect("SETCIRCUITPURPOSE", "1 general", "512 Missing argument to SETCIRCUITPURPOSE\r\n");
  run_expect("SETCIRCUITPURPOSE", "9 purpose=general", "552 Unknown circuit \"9\"\r\n");
  run_expect("SETCIRCUITPURPOSE", "1 purpose=x", "552 Unknown purpose \"x\"\r\n");
  events_clear();
  run_expect("SETCIRCUITPURPOSE", "1 purpose=controller", "250 OK\r\n");
  run_expect("SETCIRCUITPURPOSE", "2 purpose=CONTROLLER", "250 OK\r\n");
  cr_assert_geq(find_event(0, "650 CIRC_MINOR 1 PURPOSE_CHANGED"), 0);
  cr_assert(strstr(events[0], "PURPOSE=CONTROLLER") &&
            strstr(events[0], "OLD_PURPOSE=GENERAL"), "%s", events[0]);
  size_t before = fake_n_circs();
  uint16_t src;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, &src);
  cr_assert(!begin_on(0, "a.example", NULL));
  cr_assert(!begin_on(1, "a.example", NULL));
  cr_assert_gt(fake_n_circs(), before, "a circuit was launched for it");
  /* back to general: the stream goes there */
  run_expect("SETCIRCUITPURPOSE", "1 purpose=general", "250 OK\r\n");
  client_attach_waiting(cl);
  cr_assert(begin_on(0, "a.example", NULL));
  close(fd);
}

/* ---- ATTACHSTREAM ---- */

Test(ctlstream, attach_with_leave_unattached, .fini = teardown)
{
  listen_to(BIT(CTLEV_STREAM));
  mk_client_with_circuits_opts(true, NULL);
  uint16_t src, sid;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, &src);
  cr_assert(!begin_anywhere("a.example"), "left for the controller");
  char want[256];
  snprintf(want, sizeof(want), "650 STREAM 1 NEW 0 a.example:80 "
           "SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", src);
  cr_assert_eq(n_events, 1);
  cr_assert_str_eq(events[0], want);
  run_expect("ATTACHSTREAM", "", "512 Missing argument to ATTACHSTREAM\r\n");
  run_expect("ATTACHSTREAM", "1", "512 Missing argument to ATTACHSTREAM\r\n");
  run_expect("ATTACHSTREAM", "x 1", "552 Unknown stream \"x\"\r\n");
  run_expect("ATTACHSTREAM", "9 1", "552 Unknown stream \"9\"\r\n");
  run_expect("ATTACHSTREAM", "1 77", "552 Unknown circuit \"77\"\r\n");
  run_expect("ATTACHSTREAM", "1 2 HOP=0", "552 Bad value for HOP=0\r\n");
  run_expect("ATTACHSTREAM", "1 2 HOP=1",
             "551 Can't attach stream to one-hop circuit.\r\n");
  run_expect("ATTACHSTREAM", "1 2 HOP=2", "551 Streams can only exit at the "
             "circuit's last hop in allium.\r\n");
  run_expect("ATTACHSTREAM", "1 2 HOP=4",
             "551 Circuit doesn't have that many hops.\r\n");
  cr_assert(!begin_anywhere("a.example"));
  events_clear();
  run_expect("ATTACHSTREAM", "1 2 HOP=3", "250 OK\r\n");
  cr_assert(begin_on(1, "a.example", &sid));
  cr_assert(!begin_on(0, "a.example", NULL));
  snprintf(want, sizeof(want), "650 STREAM 1 SENTCONNECT 2 a.example:80 "
           "SOURCE_ADDR=127.0.0.1:%u PURPOSE=USER\r\n", src);
  cr_assert_str_eq(events[0], want);
  exit_connected(1, sid);
  expect(fd, "\x05\x00\x00\x01\x5d\xb8\xd8\x22\x00\x00", 10);
  run_expect("ATTACHSTREAM", "1 1",
             "555 Connection is not managed by controller.\r\n");
  close(fd);
}

Test(ctlstream, attach_zero_lets_the_client_choose, .fini = teardown)
{
  mk_client_with_circuits_opts(true, NULL);
  uint16_t src;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, &src);
  cr_assert(!begin_anywhere("a.example"));
  run_expect("ATTACHSTREAM", "1 0", "250 OK\r\n");
  cr_assert(begin_anywhere("a.example"));
  close(fd);
}

Test(ctlstream, attach_without_the_option, .fini = teardown)
{
  mk_client_with_circuits();
  uint16_t src, sid;
  int fd = socks5_request("a.example", 80, SOCKS_CMD_CONNECT, &src);
  int ci = circ_with_begin("a.example", &sid);
  cr_assert_geq(ci, 0, "attached by the client");
  /* a controller circuit, not built yet, then built */
  run_expect("EXTENDCIRCUIT", "0 g3,m2,e1 purpose=controller",
             "250 EXTENDED 3\r\n");
  run_expect("ATTACHSTREAM", "1 3",
             "551 Can't attach stream to non-open origin circuit\r\n");
  fake_build(2);
  run_expect("ATTACHSTREAM", "1 3", "250 OK\r\n");
  cr_assert(begin_on(2, "a.example", &sid));
  cr_assert_not_null(fake_last_msg((size_t)ci, RELAY_END), "left the old one");
  /* the exit's policy: e1 takes 80 and 443 only */
  close(fd);
  fd = socks5_request("b.example", 25, SOCKS_CMD_CONNECT, &src);
  run_expect("ATTACHSTREAM", "2 3", "551 Unable to attach stream: the exit's "
             "policy refuses it\r\n");
  close(fd);
}

/* ---- MAPADDRESS ---- */

Test(ctlstream, mapaddress_replies_events_getinfo, .fini = teardown)
{
  listen_to(BIT(CTLEV_ADDRMAP));
  mk_client_with_circuits();
  run_expect("MAPADDRESS", "", "512 syntax error: not enough arguments to "
             "mapaddress.\r\n");
  run_expect("MAPADDRESS", "a=\"b", "512 syntax error: malformed arguments "
             "to mapaddress.\r\n");
  events_clear();
  run_expect("MAPADDRESS", "a.example=b.example 0.0.0.0=c.example bad "
             "x.example=bad!name",
             "250-a.example=b.example\r\n"
             "250-127.192.0.1=c.example\r\n"
             "512-syntax error: mapping 'bad' is not of expected form "
             "'foo=bar'.\r\n"
             "512 syntax error: invalid address 'bad!name'\r\n");
  cr_assert_eq(n_events, 2);
  cr_assert_str_eq(events[0], "650 ADDRMAP a.example b.example NEVER "
                   "CACHED=\"YES\"\r\n");
  cr_assert_str_eq(events[1], "650 ADDRMAP 127.192.0.1 c.example NEVER "
                   "CACHED=\"YES\"\r\n");
  /* the same name again: the same virtual address */
  run_expect("MAPADDRESS", "0.0.0.0=c.example", "250 127.192.0.1=c.example\r\n");
  char *r = run("MAPADDRESS", ".=d.example");
  cr_assert(!strncmp(r, "250 ", 4) && strstr(r, ".virtual=d.example\r\n"), "%s", r);
  al_free(r);
  r = run("MAPADDRESS", "::=e.example");
  cr_assert(!strncmp(r, "250 fe80::", 10), "%s", r);
  al_free(r);
  char *m = getinfo("address-mappings/control");
  cr_assert(!strncmp(m, "a.example b.example NEVER\n127.192.0.1 c.example "
                     "NEVER\n", 52), "%s", m);
  al_free(m);
  m = getinfo("address-mappings/config");
  cr_assert_str_eq(m, "");
  al_free(m);
  m = getinfo("address-mappings/cache");
  cr_assert_str_eq(m, "");
  al_free(m);
  /* old=old removes */
  run_expect("MAPADDRESS", "a.example=a.example", "250 a.example=a.example\r\n");
  m = getinfo("address-mappings/all");
  cr_assert(!strstr(m, "a.example b.example"), "%s", m);
  al_free(m);
}

Test(ctlstream, mapping_applied_to_socks, .fini = teardown)
{
  config_line_t *map = NULL;
  confline_append(&map, "MapAddress", "cfg.example www.example", NULL, 1);
  confline_append(&map, "MapAddress", "bad", NULL, 2);
  mk_client_with_circuits_opts(false, map);
  confline_free(map);
  char *m = getinfo("address-mappings/config");
  cr_assert_str_eq(m, "cfg.example www.example NEVER");
  al_free(m);
  run_expect("MAPADDRESS", "A.example=10.0.0.9", "250 A.example=10.0.0.9\r\n");
  uint16_t src, sid;
  int fd = socks5_request("a.example", 443, SOCKS_CMD_CONNECT, &src);
  cr_assert_geq(circ_with_begin("10.0.0.9", &sid), 0, "mapped (case-insensitive)");
  close(fd);
  fd = socks5_request("cfg.example", 80, SOCKS_CMD_CONNECT, &src);
  cr_assert_geq(circ_with_begin("www.example", &sid), 0, "config mapping");
  close(fd);
  /* RESOLVE of a name mapped to an address: answered at once */
  fd = socks5_request("a.example", 0, SOCKS_CMD_RESOLVE, &src);
  expect(fd, "\x05\x00\x00\x01\x0a\x00\x00\x09\x00\x00", 10);
  close(fd);
}

/* ---- RESOLVE ---- */

/* The fake circuit and stream carrying a RESOLVE for name; -1. */
static int
circ_with_resolve(const char *name, uint16_t *sid)
{
  pump(20);
  for (size_t i = 0; i < fake_n_circs(); i++) {
    fake_circ_t *fc = fake_circ(i);
    for (size_t k = 0; k < fc->n_msgs; k++)
      if (fc->msgs[k].command == RELAY_RESOLVE &&
          fc->msgs[k].len == strlen(name) + 1 &&
          !memcmp(fc->msgs[k].body, name, strlen(name) + 1)) {
        *sid = fc->msgs[k].stream_id;
        return (int)i;
      }
  }
  return -1;
}

static void
exit_resolved(int ci, uint16_t sid, uint8_t type, const void *v, uint8_t len)
{
  relay_resolved_t m;
  memset(&m, 0, sizeof(m));
  m.n = 1;
  m.answers[0].type = type;
  m.answers[0].len = len;
  m.answers[0].value = v;
  m.answers[0].ttl = 60;
  uint8_t body[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_resolved_encode(&m, body, sizeof(body), &n), 0);
  fake_exit_send((size_t)ci, RELAY_RESOLVED, sid, body, n);
}

/* "650 ADDRMAP <head> "<local>" <mid>EXPIRES="<utc>" CACHED="NO" STREAMID=<id>" */
static void
assert_addrmap(const char *e, const char *head, const char *mid,
               unsigned long long id)
{
  cr_assert(!strncmp(e, "650 ADDRMAP ", 12), "%s", e);
  cr_assert(!strncmp(e + 12, head, strlen(head)), "%s", e);
  const char *p = e + 12 + strlen(head);
  cr_assert(p[0] == ' ' && p[1] == '"' && p[21] == '"', "%s", e);
  p += 22;
  cr_assert(!strncmp(p, mid, strlen(mid)), "%s", e);
  p += strlen(mid);
  cr_assert(!strncmp(p, " EXPIRES=\"", 10) && p[29] == '"', "%s", e);
  char tail[80];
  snprintf(tail, sizeof(tail), " CACHED=\"NO\" STREAMID=%llu\r\n", id);
  cr_assert_str_eq(p + 30, tail);
}

Test(ctlstream, resolve_events, .fini = teardown)
{
  listen_to(BIT(CTLEV_ADDRMAP));
  mk_client_with_circuits();
  run_expect("RESOLVE", "a.example", "250 OK\r\n");
  uint16_t sid;
  int ci = circ_with_resolve("a.example", &sid);
  cr_assert_geq(ci, 0);
  exit_resolved(ci, sid, RELAY_RESOLVED_IPV4, "\x0a\x01\x02\x03", 4);
  pump(5);
  cr_assert_eq(n_events, 1);
  assert_addrmap(events[0], "a.example 10.1.2.3", "", 1);
  /* a failure, then a reverse lookup */
  events_clear();
  run_expect("RESOLVE", "b.example", "250 OK\r\n");
  run_expect("RESOLVE", "mode=reverse 10.0.0.1", "250 OK\r\n");
  run_expect("RESOLVE", "mode=reverse b.example bad!name",
             "512-Invalid address \"b.example\"\r\n"
             "512-Invalid address \"bad!name\"\r\n250 OK\r\n");
  run_expect("RESOLVE", "\"x", "512 Invalid arguments to RESOLVE\r\n");
  int cb = circ_with_resolve("b.example", &sid);
  cr_assert_geq(cb, 0);
  cb = circ_with_resolve("1.0.0.10.in-addr.arpa", &sid);
  cr_assert_geq(cb, 0);
  exit_resolved(cb, sid, RELAY_RESOLVED_HOSTNAME, "h.example", 9);
  pump(5);
  cr_assert_eq(n_events, 1);
  assert_addrmap(events[0], "10.0.0.1 h.example", "", 3);
  cb = circ_with_resolve("b.example", &sid);
  exit_resolved(cb, sid, RELAY_RESOLVED_ERROR_NONTRANSIENT, "", 0);
  pump(5);
  cr_assert_eq(n_events, 2);
  assert_addrmap(events[1], "b.example <error>", " error=yes", 2);
}

/* ---- DROPGUARDS ---- */

Test(ctlstream, dropguards, .fini = teardown)
{
  listen_to(BIT(CTLEV_GUARD));
  mk_client_with_circuits();
  cr_assert_gt(guard_selection_n_sampled(cl->gs), 0);
  run_expect("DROPGUARDS", "now", "512 Too many arguments to DROPGUARDS\r\n");
  events_clear();
  run_expect("DROPGUARDS", "", "250 OK\r\n");
  cr_assert_geq(find_event(0, "650 GUARD ENTRY $"), 0);
  cr_assert(strstr(events[0], " DROPPED\r\n"), "%s", events[0]);
  cr_assert_gt(guard_selection_n_sampled(cl->gs), 0, "sampled afresh");
  cr_assert_geq(find_event(0, "650 GUARD ENTRY") , 0);
}

/* ---- the argument parsers alone ---- */

Test(ctlstream, parsers)
{
  char err[CLIENT_CTL_ERR_LEN];
  client_ctl_attach_args_t a;
  cr_assert_eq(client_ctl_parse_attach("18446744073709551615 4294967295 "
                                       "HOP=255 X=1", &a, err, sizeof(err)), 0);
  cr_assert_eq(a.stream_id, UINT64_MAX);
  cr_assert_eq(a.circ_id, UINT32_MAX);
  cr_assert_eq(a.hop, 255);
  cr_assert_eq(client_ctl_parse_attach("18446744073709551616 1", &a, err,
                                       sizeof(err)), 552);
  cr_assert_eq(client_ctl_parse_attach("1 4294967296", &a, err, sizeof(err)),
               552);
  cr_assert_eq(client_ctl_parse_attach("1 1 HOP=256", &a, err, sizeof(err)),
               552);
  cr_assert_eq(client_ctl_parse_attach("1=2 1", &a, err, sizeof(err)), 512);
  uint8_t id[20];
  bool has_id;
  char nick[20];
  cr_assert_eq(client_ctl_parse_server_spec("$0123456789abcdef0123456789ABCDEF01234567=n1",
                                            id, &has_id, nick), 0);
  cr_assert(has_id);
  cr_assert_str_eq(nick, "n1");
  cr_assert_eq(client_ctl_parse_server_spec("$0123", id, &has_id, nick), -1);
  cr_assert_eq(client_ctl_parse_server_spec("0123456789abcdef0123456789ABCDEF01234567",
                                            id, &has_id, nick), 0, "no $");
  cr_assert(has_id);
  cr_assert_eq(id[19], 0x67);
  cr_assert_eq(client_ctl_parse_server_spec("$n1", id, &has_id, nick), -1);
  cr_assert_eq(client_ctl_parse_server_spec("abcdefghijklmnopqrst", id, &has_id,
                                            nick), -1, "20 characters");
  cr_assert_eq(client_ctl_parse_server_spec("a-b", id, &has_id, nick), -1);
  cr_assert_eq(client_ctl_parse_server_spec("$0123456789abcdef0123456789ABCDEF01234567+x",
                                            id, &has_id, nick), -1);
  cr_assert(client_ctl_addr_ok("www.example.com."));
  cr_assert(client_ctl_addr_ok("[::1]"));
  cr_assert(client_ctl_addr_ok("10.0.0.1"));
  cr_assert(!client_ctl_addr_ok(""));
  cr_assert(!client_ctl_addr_ok("a..b"));
  cr_assert(!client_ctl_addr_ok(".a"));
  cr_assert(!client_ctl_addr_ok("a b"));
  char big[300];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  cr_assert(!client_ctl_addr_ok(big), "over 255 bytes");
  uint64_t v;
  cr_assert_eq(client_ctl_parse_id("", 10, &v), -1);
  cr_assert_eq(client_ctl_parse_id("+1", 10, &v), -1);
  cr_assert_eq(client_ctl_parse_id("11", 10, &v), -1);
  cr_assert_eq(client_ctl_parse_id("10", 10, &v), 0);
  cr_assert_eq(v, 10);
}
