/* test_control_conn.c -- the control port over a real loopback socket
 * (control-spec 3.5, 3.21, 3.24, 3.4, 3.9, 4.1): authentication with the
 * cookie, SAFECOOKIE and a password, what is refused before it, GETINFO,
 * GETCONF / SETCONF through a fake backend, SETEVENTS and event delivery,
 * SIGNAL, over-long lines, the authentication timeout, TAKEOWNERSHIP. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/control/control.h"
#include "allium/feature/control/control_auth.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

static struct event_base *base;
static control_t *ctl;
static char dir[] = "/tmp/allium-ctl-XXXXXX";
static char cookie_path[256];
static char last_signal[32];
static int n_setconf;

static int
fake_getconf(void *arg, const char *key, control_conf_value_t **v, size_t *n)
{
  (void)arg;
  if (strcasecmp(key, "SocksPort") && strcasecmp(key, "ExitNodes"))
    return CONTROL_ERR_UNRECOGNIZED;
  *v = al_reallocarray(*v, *n + 1, sizeof(**v));
  bool socks = !strcasecmp(key, "SocksPort");
  (*v)[*n].key = al_strdup(socks ? "SocksPort" : "ExitNodes");
  (*v)[*n].value = socks ? al_strdup("9050") : NULL;
  (*n)++;
  return 0;
}

static int
fake_setconf(void *arg, const control_arg_t *a, size_t n, bool reset,
             char **err)
{
  (void)arg; (void)reset;
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(a[i].key, "ExitNodes")) {
      *err = al_asprintf("Unrecognized option: Unknown option '%s'.  "
                         "Failing.", a[i].key);
      return CONTROL_ERR_UNRECOGNIZED;
    }
  n_setconf++;
  return CONTROL_OK;
}

static int
fake_signal(void *arg, const char *name)
{
  (void)arg;
  snprintf(last_signal, sizeof(last_signal), "%s", name);
  return strcmp(name, "DORMANT") ? 0 : -1;
}

static uint16_t
start(const char *hashed, bool cookie, uint32_t timeout)
{
  base = event_base_new();
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cookie_path, sizeof(cookie_path), "%s/control_auth_cookie", dir);
  const char *pw[1] = { hashed };
  control_cfg_t cfg = {
    .base = base, .cookie_path = cookie ? cookie_path : NULL,
    .hashed_passwords = pw, .n_hashed_passwords = hashed ? 1 : 0,
    .auth_timeout_sec = timeout, .version = "0.4.9.0-allium (test)",
    .backend = { NULL, fake_getconf, fake_setconf, NULL, NULL, fake_signal },
  };
  char *err = NULL;
  ctl = control_new(&cfg, &err);
  cr_assert_not_null(ctl, "%s", err ? err : "");
  cr_assert_eq(control_listen(ctl, "127.0.0.1:auto", false, &err), 0);
  const char *a = control_listener_addr(ctl, 0);
  cr_assert_not_null(a);
  return (uint16_t)atoi(strrchr(a, ':') + 1);
}

static void
stop(void)
{
  control_free(ctl);
  ctlinfo_reset();
  if (base)
    event_base_free(base);
  base = NULL;
  unlink(cookie_path);
  rmdir(dir);
  strcpy(dir, "/tmp/allium-ctl-XXXXXX");
}

TestSuite(control_conn, .fini = stop);

static int
dial(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  for (int i = 0; i < 5; i++)
    event_base_loop(base, EVLOOP_NONBLOCK);
  return fd;
}

/* Pump the loop and read until a final reply line ("NNN " ... CRLF) or the
 * connection closes; *closed tells which.  Returns everything read. */
static char *
read_reply(int fd, bool *closed)
{
  static char buf[1 << 16];
  size_t off = 0;
  *closed = false;
  for (int round = 0; round < 2000; round++) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    ssize_t n = recv(fd, buf + off, sizeof(buf) - 1 - off, 0);
    if (n == 0) {
      *closed = true;
      break;
    }
    if (n > 0) {
      off += (size_t)n;
      buf[off] = '\0';
      /* the last complete line */
      if (off >= 2 && buf[off - 2] == '\r' && buf[off - 1] == '\n') {
        char *end = buf + off - 2;
        char *start = end;
        while (start > buf && start[-1] != '\n')
          start--;
        if (end - start >= 4 && start[3] == ' ')
          break;
      }
    } else {
      usleep(1000);
    }
  }
  buf[off] = '\0';
  return buf;
}

static char *
cmd(int fd, const char *line, bool *closed)
{
  cr_assert_eq(send(fd, line, strlen(line), 0), (ssize_t)strlen(line));
  return read_reply(fd, closed);
}

static void
read_cookie(uint8_t out[CONTROL_COOKIE_LEN])
{
  FILE *f = fopen(cookie_path, "rb");
  cr_assert_not_null(f);
  cr_assert_eq(fread(out, 1, CONTROL_COOKIE_LEN, f), CONTROL_COOKIE_LEN);
  fclose(f);
  struct stat st;
  cr_assert_eq(stat(cookie_path, &st), 0);
  cr_assert_eq(st.st_mode & 077, 0);
}

static void
auth_cookie(int fd)
{
  uint8_t ck[CONTROL_COOKIE_LEN];
  read_cookie(ck);
  char hex[2 * CONTROL_COOKIE_LEN + 1], line[128];
  base16_encode(hex, sizeof(hex), ck, sizeof(ck));
  snprintf(line, sizeof(line), "AUTHENTICATE %s\r\n", hex);
  bool closed;
  cr_assert_str_eq(cmd(fd, line, &closed), "250 OK\r\n");
}

Test(control_conn, protocolinfo_and_cookie)
{
  int fd = dial(start(NULL, true, 60));
  bool closed;
  char *r = cmd(fd, "PROTOCOLINFO 1\r\n", &closed);
  char want[512];
  snprintf(want, sizeof(want), "250-PROTOCOLINFO 1\r\n"
           "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"%s\"\r\n"
           "250-VERSION Tor=\"0.4.9.0-allium (test)\"\r\n250 OK\r\n",
           cookie_path);
  cr_assert_str_eq(r, want);
  auth_cookie(fd);
  r = cmd(fd, "GETINFO version process/pid\r\n", &closed);
  char pid[128];
  snprintf(pid, sizeof(pid), "250-version=0.4.9.0-allium (test)\r\n"
           "250-process/pid=%ld\r\n250 OK\r\n", (long)getpid());
  cr_assert_str_eq(r, pid);
  r = cmd(fd, "GETINFO version no/such\r\n", &closed);
  cr_assert_str_eq(r, "552 Unrecognized key \"no/such\"\r\n");
  cr_assert_eq(control_n_conns(ctl), 1);
  r = cmd(fd, "QUIT\r\n", &closed);
  cr_assert_str_eq(r, "250 closing connection\r\n");
  read_reply(fd, &closed);
  cr_assert(closed);
  close(fd);
}

Test(control_conn, nothing_but_auth_before_authentication)
{
  uint16_t port = start(NULL, true, 60);
  bool closed;
  const char *pre[] = { "GETINFO version\r\n", "SETCONF ExitNodes=x\r\n",
                        "SIGNAL NEWNYM\r\n", "NOSUCHCOMMAND\r\n",
                        "SETEVENTS CIRC\r\n" };
  for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
    int fd = dial(port);
    char *r = cmd(fd, pre[i], &closed);
    cr_assert_str_eq(r, "514 Authentication required.\r\n", "%s", pre[i]);
    read_reply(fd, &closed);
    cr_assert(closed, "%s", pre[i]);
    close(fd);
  }
  cr_assert_str_eq(last_signal, "");
  cr_assert_eq(n_setconf, 0);
  /* a second PROTOCOLINFO before authenticating */
  int fd = dial(port);
  cmd(fd, "PROTOCOLINFO\r\n", &closed);
  char *r = cmd(fd, "PROTOCOLINFO\r\n", &closed);
  cr_assert(strncmp(r, "514 ", 4) == 0, "%s", r);
  close(fd);
  /* a wrong cookie */
  fd = dial(port);
  char line[128];
  snprintf(line, sizeof(line), "AUTHENTICATE %064d\r\n", 0);
  r = cmd(fd, line, &closed);
  cr_assert_str_eq(r, "515 Authentication failed: Authentication cookie did "
                   "not match expected value.\r\n");
  read_reply(fd, &closed);
  cr_assert(closed);
  close(fd);
  /* a cookie of the wrong length */
  fd = dial(port);
  r = cmd(fd, "AUTHENTICATE \"short\"\r\n", &closed);
  cr_assert(strstr(r, "Wrong length") != NULL, "%s", r);
  close(fd);
}

Test(control_conn, safecookie)
{
  int fd = dial(start(NULL, true, 60));
  uint8_t ck[CONTROL_COOKIE_LEN], cn[32], sn[32], sh[32], ch[32];
  read_cookie(ck);
  memset(cn, 0xab, sizeof(cn));
  char hex[65], line[256];
  base16_encode(hex, sizeof(hex), cn, sizeof(cn));
  snprintf(line, sizeof(line), "AUTHCHALLENGE SAFECOOKIE %s\r\n", hex);
  bool closed;
  char *r = cmd(fd, line, &closed);
  char shx[65], snx[65];
  cr_assert_eq(sscanf(r, "250 AUTHCHALLENGE SERVERHASH=%64s SERVERNONCE=%64s",
                      shx, snx), 2, "%s", r);
  cr_assert_eq(base16_decode(sn, sizeof(sn), snx, 64), 32);
  control_safecookie_hash(true, ck, cn, sizeof(cn), sn, sh);
  char want[65];
  base16_encode(want, sizeof(want), sh, sizeof(sh));
  cr_assert_str_eq(shx, want);
  /* the plain cookie is no longer enough after AUTHCHALLENGE */
  int fd2 = dial(control_listener_addr(ctl, 0) ?
                 (uint16_t)atoi(strrchr(control_listener_addr(ctl, 0), ':') + 1)
                 : 0);
  r = cmd(fd2, line, &closed);
  base16_encode(hex, sizeof(hex), ck, sizeof(ck));
  snprintf(line, sizeof(line), "AUTHENTICATE %s\r\n", hex);
  r = cmd(fd2, line, &closed);
  cr_assert(strncmp(r, "515 ", 4) == 0, "%s", r);
  close(fd2);
  control_safecookie_hash(false, ck, cn, sizeof(cn), sn, ch);
  base16_encode(hex, sizeof(hex), ch, sizeof(ch));
  snprintf(line, sizeof(line), "AUTHENTICATE %s\r\n", hex);
  cr_assert_str_eq(cmd(fd, line, &closed), "250 OK\r\n");
  r = cmd(fd, "AUTHCHALLENGE SAFECOOKIE 00\r\n", &closed);
  cr_assert(strncmp(r, "513 ", 4) == 0, "%s", r);
  close(fd);
}

Test(control_conn, password)
{
  char *h = control_password_hash((const uint8_t *)"hunter2", 7);
  uint16_t port = start(h, false, 60);
  bool closed;
  int fd = dial(port);
  char *r = cmd(fd, "PROTOCOLINFO\r\n", &closed);
  cr_assert(strstr(r, "250-AUTH METHODS=HASHEDPASSWORD\r\n") != NULL, "%s", r);
  r = cmd(fd, "AUTHENTICATE \"hunter3\"\r\n", &closed);
  cr_assert(strncmp(r, "515 ", 4) == 0, "%s", r);
  close(fd);
  fd = dial(port);
  r = cmd(fd, "AUTHCHALLENGE SAFECOOKIE 0011\r\n", &closed);
  cr_assert(strncmp(r, "513 ", 4) == 0, "%s", r);   /* no cookie here */
  close(fd);
  fd = dial(port);
  cr_assert_str_eq(cmd(fd, "AUTHENTICATE \"hunter2\"\r\n", &closed),
                   "250 OK\r\n");
  close(fd);
  fd = dial(port);                               /* hex form of the password */
  cr_assert_str_eq(cmd(fd, "AUTHENTICATE 68756e74657232\r\n", &closed),
                   "250 OK\r\n");
  close(fd);
  al_free(h);
}

Test(control_conn, no_auth_configured_accepts_anyone)
{
  int fd = dial(start(NULL, false, 60));
  bool closed;
  char *r = cmd(fd, "PROTOCOLINFO\r\n", &closed);
  cr_assert(strstr(r, "METHODS=NULL") != NULL, "%s", r);
  cr_assert_str_eq(cmd(fd, "AUTHENTICATE\r\n", &closed), "250 OK\r\n");
  close(fd);
}

Test(control_conn, conf_signal_events)
{
  int fd = dial(start(NULL, true, 60));
  auth_cookie(fd);
  bool closed;
  cr_assert_str_eq(cmd(fd, "GETCONF SocksPort ExitNodes\r\n", &closed),
                   "250-SocksPort=9050\r\n250 ExitNodes\r\n");
  cr_assert_str_eq(cmd(fd, "GETCONF Nope\r\n", &closed),
                   "552 Unrecognized configuration key \"Nope\"\r\n");
  cr_assert_str_eq(cmd(fd, "SETCONF ExitNodes=\"a b\"\r\n", &closed),
                   "250 OK\r\n");
  cr_assert_eq(n_setconf, 1);
  char *r = cmd(fd, "SETCONF Foo=1\r\n", &closed);
  cr_assert(strncmp(r, "552 Unrecognized option", 23) == 0, "%s", r);
  cr_assert_str_eq(cmd(fd, "SETCONF ExitNodes=\"unterminated\r\n", &closed),
                   "512 Syntax error in SETCONF\r\n");
  cr_assert_str_eq(cmd(fd, "SIGNAL NEWNYM\r\n", &closed), "250 OK\r\n");
  cr_assert_str_eq(last_signal, "NEWNYM");
  cr_assert_str_eq(cmd(fd, "SIGNAL HUP\r\n", &closed), "250 OK\r\n");
  cr_assert_str_eq(last_signal, "RELOAD");
  cr_assert_str_eq(cmd(fd, "SIGNAL DORMANT\r\n", &closed),
                   "551 Unable to carry out signal DORMANT\r\n");
  cr_assert_str_eq(cmd(fd, "SIGNAL FOO\r\n", &closed),
                   "552 Unrecognized signal code \"FOO\"\r\n");
  cr_assert_str_eq(cmd(fd, "SETEVENTS CIRC NOSUCH\r\n", &closed),
                   "552 Unrecognized event \"NOSUCH\"\r\n");
  cr_assert_not(ctlev_wanted(CTLEV_CIRC));
  cr_assert_str_eq(cmd(fd, "SETEVENTS EXTENDED CIRC NOTICE BW\r\n", &closed),
                   "250 OK\r\n");
  cr_assert(ctlev_wanted(CTLEV_CIRC));
  cr_assert(ctlev_wanted(CTLEV_NOTICE));
  cr_assert_not(ctlev_wanted(CTLEV_STREAM));
  ctlev_publish(CTLEV_CIRC, "1 BUILT $%040d~x", 0);
  ctlev_publish(CTLEV_STREAM, "1 NEW 0 x:1");     /* not subscribed */
  log_notice("a notice for the controller");
  r = read_reply(fd, &closed);
  char want[256];
  snprintf(want, sizeof(want), "650 CIRC 1 BUILT $%040d~x\r\n"
           "650 NOTICE a notice for the controller\r\n", 0);
  cr_assert_str_eq(r, want);
  cr_assert_str_eq(cmd(fd, "USEFEATURE VERBOSE_NAMES\r\n", &closed),
                   "250 OK\r\n");
  cr_assert_str_eq(cmd(fd, "ADD_ONION NEW:BEST Port=80\r\n", &closed),
                   "551 ADD_ONION needs allium's client role, which is not "
                   "running (no SocksPort, HTTPTunnelPort or onion "
                   "service)\r\n");
  cr_assert_str_eq(cmd(fd, "REDIRECTSTREAM 1 x\r\n", &closed),
                   "551 REDIRECTSTREAM is not supported by allium yet\r\n");
  cr_assert_str_eq(cmd(fd, "BOGUS\r\n", &closed),
                   "510 Unrecognized command \"BOGUS\"\r\n");
  close(fd);
  for (int i = 0; i < 10; i++)
    event_base_loop(base, EVLOOP_NONBLOCK);
  cr_assert_eq(control_n_conns(ctl), 0);
  cr_assert_not(ctlev_wanted(CTLEV_CIRC));        /* nobody listens now */
}

static uint64_t hook_closed;
static int
module_cmd(uint64_t conn_id, const char *args, const char *data, void *arg,
           char **reply)
{
  (void)arg;
  *reply = al_asprintf("250-conn=%llu args=%s data=%s\r\n250 OK\r\n",
                       (unsigned long long)conn_id, args,
                       data ? "yes" : "no");
  return 0;
}

static void
module_closed(uint64_t id, void *arg)
{
  (void)arg;
  hook_closed = id;
}

/* Commands other modules register on the bus: reached only after
 * authentication; the connection's id comes along; the close hook runs. */
Test(control_conn, module_commands)
{
  uint16_t port = start(NULL, true, 60);
  static char tag[] = "m";
  cr_assert_eq(ctlcmd_register("ADD_ONION", module_cmd, tag), 0);
  cr_assert_eq(ctlcmd_on_close(module_closed, tag), 0);
  bool closed;
  int fd = dial(port);
  cr_assert_str_eq(cmd(fd, "ADD_ONION x\r\n", &closed),
                   "514 Authentication required.\r\n");
  close(fd);
  fd = dial(port);
  auth_cookie(fd);
  char *r = cmd(fd, "+ADD_ONION NEW:BEST\r\nline\r\n.\r\n", &closed);
  cr_assert(strstr(r, " args=NEW:BEST data=yes\r\n250 OK\r\n") != NULL, "%s",
            r);
  unsigned long long id = 0;
  cr_assert_eq(sscanf(r, "250-conn=%llu", &id), 1);
  close(fd);
  for (int i = 0; i < 20 && !hook_closed; i++)
    event_base_loop(base, EVLOOP_NONBLOCK);
  cr_assert_eq(hook_closed, id);
}

/* A controller that asks for events and never reads them is dropped once
 * 16 MiB are waiting for it; the others are not. */
Test(control_conn, slow_event_reader_is_dropped)
{
  uint16_t port = start(NULL, true, 60);
  int slow = dial(port), quiet = dial(port);
  auth_cookie(slow);
  auth_cookie(quiet);
  bool closed;
  cr_assert_str_eq(cmd(slow, "SETEVENTS WARN\r\n", &closed), "250 OK\r\n");
  cr_assert_eq(control_n_conns(ctl), 2);
  char line[1024];
  memset(line, 'w', sizeof(line) - 1);
  line[sizeof(line) - 1] = '\0';
  for (int i = 0; i < 18 * 1024 && control_n_conns(ctl) == 2; i++)
    ctlev_publish(CTLEV_WARN, "%s", line);
  cr_assert_eq(control_n_conns(ctl), 1);
  cr_assert_not(ctlev_wanted(CTLEV_WARN));
  cr_assert_str_eq(cmd(quiet, "GETINFO version\r\n", &closed),
                   "250-version=0.4.9.0-allium (test)\r\n250 OK\r\n");
  close(slow);
  close(quiet);
}

Test(control_conn, long_line_closes)
{
  int fd = dial(start(NULL, true, 60));
  size_t n = 40000;
  char *big = al_malloc(n);
  memset(big, 'A', n);
  ssize_t sent = 0;
  bool closed = false;
  for (int i = 0; i < 1000 && sent < (ssize_t)n; i++) {
    ssize_t k = send(fd, big + sent, n - (size_t)sent, MSG_NOSIGNAL);
    if (k > 0)
      sent += k;
    event_base_loop(base, EVLOOP_NONBLOCK);
  }
  char *r = read_reply(fd, &closed);
  cr_assert_str_eq(r, "500 Line too long.\r\n");
  read_reply(fd, &closed);
  cr_assert(closed);
  al_free(big);
  close(fd);
}

Test(control_conn, unauthenticated_connection_times_out)
{
  int fd = dial(start(NULL, true, 1));
  bool closed = false;
  struct timeval t0, t1;
  gettimeofday(&t0, NULL);
  for (int i = 0; i < 300 && !closed; i++) {
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    usleep(10000);
    char b[16];
    closed = recv(fd, b, sizeof(b), 0) == 0;
  }
  gettimeofday(&t1, NULL);
  cr_assert(closed);
  cr_assert_geq(t1.tv_sec - t0.tv_sec, 0);
  cr_assert_eq(control_n_conns(ctl), 0);
  close(fd);
}

Test(control_conn, owner_closing_halts)
{
  int fd = dial(start(NULL, true, 60));
  auth_cookie(fd);
  bool closed;
  cr_assert_str_eq(cmd(fd, "TAKEOWNERSHIP\r\n", &closed), "250 OK\r\n");
  close(fd);
  for (int i = 0; i < 20; i++)
    event_base_loop(base, EVLOOP_NONBLOCK);
  cr_assert_str_eq(last_signal, "HALT");
}

Test(control_conn, bad_listener_values)
{
  start(NULL, false, 60);
  char *err = NULL;
  cr_assert_eq(control_listen(ctl, "127.0.0.1:99999", false, &err), -1);
  al_free(err);
  cr_assert_eq(control_listen(ctl, "localhost:9051", false, &err), -1);
  al_free(err);
  cr_assert_eq(control_listen(ctl, "auto BogusFlag", false, &err), -1);
  cr_assert_str_eq(err, "Unrecognized ControlPort flag \"BogusFlag\"");
  al_free(err);
  char path[300];
  snprintf(path, sizeof(path), "unix:%s/ctl.sock GroupWritable", dir);
  cr_assert_eq(control_listen(ctl, path, false, &err), 0);
  struct stat st;
  snprintf(path, sizeof(path), "%s/ctl.sock", dir);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0660);
  control_free(ctl);
  cr_assert_neq(stat(path, &st), 0);          /* removed at close */
}
