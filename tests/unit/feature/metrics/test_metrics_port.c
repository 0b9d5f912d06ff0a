/* test_metrics_port.c -- MetricsPort parsing, the MetricsPortPolicy
 * decision, and the listener on loopback (src/feature/metrics/
 * metrics_port.c): answers, refusals, the time limit and the connection
 * cap. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/feature/metrics/metrics_port.h"
#include "allium/lib/malloc/malloc.h"

/* ---- MetricsPort values ---- */

Test(metrics_port, parse_good)
{
  metrics_port_cfg_t c;
  cr_assert_eq(metrics_port_parse("9035", &c, NULL), 0);
  cr_assert_eq(c.port, 9035);
  cr_assert_eq(c.addr.family, 4);
  cr_assert_eq(memcmp(c.addr.addr, "\x7f\0\0\x01", 4), 0);
  cr_assert(!c.is_auto);
  cr_assert_eq(metrics_port_parse(" 10.0.0.1:80  prometheus ", &c, NULL), 0);
  cr_assert_eq(c.port, 80);
  cr_assert_eq(memcmp(c.addr.addr, "\x0a\0\0\x01", 4), 0);
  cr_assert_eq(metrics_port_parse("[::1]:9035 Prometheus", &c, NULL), 0);
  cr_assert_eq(c.addr.family, 6);
  cr_assert_eq(c.addr.addr[15], 1);
  cr_assert_eq(metrics_port_parse("auto", &c, NULL), 0);
  cr_assert(c.is_auto);
  cr_assert_eq(metrics_port_parse("127.0.0.2:auto", &c, NULL), 0);
  cr_assert(c.is_auto);
  cr_assert_eq(c.addr.addr[3], 2);
  cr_assert_eq(metrics_port_parse("0", &c, NULL), 0);
  cr_assert_eq(c.port, 0);
  cr_assert(!c.is_auto);
}

Test(metrics_port, parse_bad)
{
  static const char *const bad[] = {
    "", "   ", "abc", "70000", "-1", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4",
    "1.2.3.4:x", "[::1]9035", "[::1]", "::1:9035", "localhost:9035",
    "unix:/tmp/x", "9035 prometheus extra", "1.2.3.256:9035",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    metrics_port_cfg_t c;
    char *err = NULL;
    cr_assert_eq(metrics_port_parse(bad[i], &c, &err),
                 METRICS_PORT_ERR_SYNTAX, "\"%s\"", bad[i]);
    cr_assert_not_null(err);
    cr_assert_not_null(strstr(err, "MetricsPort"));
    al_free(err);
  }
  char *err = NULL;
  metrics_port_cfg_t c;
  cr_assert_eq(metrics_port_parse("9035 json", &c, &err),
               METRICS_PORT_ERR_FORMAT);
  cr_assert_not_null(strstr(err, "prometheus"));
  al_free(err);
  cr_assert_eq(metrics_port_parse(NULL, &c, NULL), METRICS_PORT_ERR_SYNTAX);
  cr_assert_not_null(metrics_port_strerror(METRICS_PORT_ERR_BIND));
  cr_assert_not_null(metrics_port_strerror(-77));
}

/* ---- MetricsPortPolicy ---- */

static policy_addr_t
addr(const char *s)
{
  policy_addr_t a;
  cr_assert_eq(policy_addr_parse(s, strlen(s), &a), 0, "%s", s);
  return a;
}

Test(metrics_port, policy_decision)
{
  policy_addr_t lo = addr("127.0.0.1"), other = addr("127.0.0.3");
  policy_addr_t v6 = addr("::1"), none;
  memset(&none, 0, sizeof(none));
  /* no policy: nobody (tor(1): "every request will be rejected") */
  cr_assert(!metrics_policy_allows(NULL, &lo, 9035));
  policy_t *p = policy_new();
  cr_assert(!metrics_policy_allows(p, &lo, 9035));   /* empty */
  cr_assert_eq(policy_parse_config(p, "accept 127.0.0.1"), 0);
  cr_assert(metrics_policy_allows(p, &lo, 9035));
  /* no entry matches: refused (not dir-spec's "accepted") */
  cr_assert(!metrics_policy_allows(p, &other, 9035));
  cr_assert(!metrics_policy_allows(p, &v6, 9035));
  cr_assert(!metrics_policy_allows(p, &none, 9035));
  cr_assert(!metrics_policy_allows(p, NULL, 9035));
  policy_free(p);
  /* first match decides */
  p = policy_new();
  cr_assert_eq(policy_parse_config(p, "reject 127.0.0.3, accept 127.0.0.0/8,"
                                   " accept6 [::1]"), 0);
  cr_assert(metrics_policy_allows(p, &lo, 9035));
  cr_assert(!metrics_policy_allows(p, &other, 9035));
  cr_assert(metrics_policy_allows(p, &v6, 9035));
  policy_free(p);
  p = policy_new();
  cr_assert_eq(policy_parse_config(p, "accept *:9035"), 0);
  cr_assert(metrics_policy_allows(p, &other, 9035));
  cr_assert(!metrics_policy_allows(p, &other, 9036));
  policy_free(p);
  p = policy_new();
  cr_assert_eq(policy_parse_config(p, "reject *"), 0);
  cr_assert(!metrics_policy_allows(p, &lo, 9035));
  policy_free(p);
}

/* ---- the listener ---- */

static struct event_base *base;
static int n_collect;

static void
collect(metrics_text_t *t, void *arg)
{
  cr_assert_eq(arg, &n_collect);
  n_collect++;
  metrics_text_family(t, "test_up", METRICS_GAUGE, "Up");
  metrics_text_u64(t, NULL, 1);
}

static void
setup(void)
{
  base = event_base_new();
  n_collect = 0;
}

static void
teardown(void)
{
  event_base_free(base);
}

static uint64_t
now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A connection from src (NULL: any) to 127.0.0.1:port, non-blocking. */
static int
dial(uint16_t port, const char *src)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  if (src) {
    inet_pton(AF_INET, src, &sa.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  }
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* Run the loop until the peer closes fd (or ms pass); returns what was
 * received (caller frees), *closed whether it ended. */
static char *
pump(int fd, uint64_t ms, bool *closed)
{
  char *out = al_calloc(1, 1);
  size_t n = 0;
  uint64_t end = now_ms() + ms;
  *closed = false;
  while (now_ms() < end) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r > 0) {
      out = al_realloc(out, n + (size_t)r + 1);
      memcpy(out + n, buf, (size_t)r);
      n += (size_t)r;
      out[n] = '\0';
      continue;
    }
    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      *closed = true;
      break;
    }
    usleep(1000);
  }
  return out;
}

static metrics_port_t *
listen_with(const policy_t *p, uint16_t *port)
{
  metrics_port_t *mp = metrics_port_new(base, p, collect, &n_collect);
  metrics_port_cfg_t c;
  cr_assert_eq(metrics_port_parse("127.0.0.1:auto", &c, NULL), 0);
  char *err = NULL;
  cr_assert_eq(metrics_port_open(mp, &c, &err), 0, "%s", err ? err : "");
  cr_assert_eq(metrics_port_n_listeners(mp), 1);
  *port = metrics_port_bound_port(mp, 0);
  cr_assert_neq(*port, 0);
  return mp;
}

static char *
ask(uint16_t port, const char *src, const char *req, bool *closed)
{
  int fd = dial(port, src);
  if (req)
    cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
  char *got = pump(fd, 3000, closed);
  close(fd);
  return got;
}

TestSuite(metrics_listener, .init = setup, .fini = teardown);

Test(metrics_listener, answers)
{
  policy_t *p = policy_new();
  cr_assert_eq(policy_parse_config(p, "accept 127.0.0.1"), 0);
  uint16_t port;
  metrics_port_t *mp = listen_with(p, &port);
  bool closed;
  char *got = ask(port, NULL, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                  &closed);
  cr_assert(closed);
  cr_assert_eq(strncmp(got, "HTTP/1.0 200 OK\r\n", 17), 0, "%s", got);
  cr_assert_not_null(strstr(got, "version=0.0.4"));
  cr_assert_not_null(strstr(got, "\r\n\r\n# HELP test_up Up\n# TYPE test_up "
                            "gauge\ntest_up 1\n"));
  cr_assert_eq(n_collect, 1);
  al_free(got);
  got = ask(port, NULL, "GET /nope HTTP/1.0\r\n\r\n", &closed);
  cr_assert_eq(strncmp(got, "HTTP/1.0 404 ", 13), 0, "%s", got);
  al_free(got);
  /* a body after a refused method: the answer still arrives */
  got = ask(port, NULL, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\n"
            "hello", &closed);
  cr_assert_eq(strncmp(got, "HTTP/1.0 405 ", 13), 0, "%s", got);
  al_free(got);
  got = ask(port, NULL, "BLAH\r\n\r\n", &closed);
  cr_assert_eq(strncmp(got, "HTTP/1.0 400 ", 13), 0, "%s", got);
  al_free(got);
  cr_assert_eq(n_collect, 1);
  event_base_loop(base, EVLOOP_NONBLOCK);
  metrics_port_free(mp);
  cr_assert_null(mp);
  policy_free(p);
}

Test(metrics_listener, refused_peers_get_nothing)
{
  policy_t *p = policy_new();
  cr_assert_eq(policy_parse_config(p, "accept 127.0.0.2"), 0);
  uint16_t port;
  metrics_port_t *mp = listen_with(p, &port);
  bool closed;
  char *got = ask(port, NULL, "GET /metrics HTTP/1.0\r\n\r\n", &closed);
  cr_assert(closed);
  cr_assert_str_eq(got, "");
  al_free(got);
  got = ask(port, "127.0.0.2", "GET /metrics HTTP/1.0\r\n\r\n", &closed);
  cr_assert_eq(strncmp(got, "HTTP/1.0 200 OK", 15), 0, "%s", got);
  al_free(got);
  /* no policy at all: nobody */
  metrics_port_set_policy(mp, NULL);
  got = ask(port, "127.0.0.2", "GET /metrics HTTP/1.0\r\n\r\n", &closed);
  cr_assert(closed);
  cr_assert_str_eq(got, "");
  al_free(got);
  cr_assert_eq(n_collect, 1);
  metrics_port_free(mp);
  policy_free(p);
}

Test(metrics_listener, timeout_and_cap)
{
  policy_t *p = policy_new();
  cr_assert_eq(policy_parse_config(p, "accept 127.0.0.1"), 0);
  uint16_t port;
  metrics_port_t *mp = listen_with(p, &port);
  metrics_port_set_timeout(mp, 300);
  /* a request that never ends is closed after the time limit */
  int fd = dial(port, NULL);
  cr_assert_eq(send(fd, "GET /metr", 9, 0), 9);
  uint64_t t0 = now_ms();
  bool closed;
  char *got = pump(fd, 3000, &closed);
  cr_assert(closed);
  cr_assert_str_eq(got, "");
  cr_assert_geq(now_ms() - t0, 250);
  al_free(got);
  close(fd);
  /* at most METRICS_PORT_MAX_CONNS at once */
  metrics_port_set_timeout(mp, 5000);
  int fds[METRICS_PORT_MAX_CONNS + 1];
  for (int i = 0; i < METRICS_PORT_MAX_CONNS; i++) {
    fds[i] = dial(port, NULL);
    got = pump(fds[i], 50, &closed);
    cr_assert(!closed);
    al_free(got);
  }
  cr_assert_eq(metrics_port_n_conns(mp), METRICS_PORT_MAX_CONNS);
  fds[METRICS_PORT_MAX_CONNS] = dial(port, NULL);
  got = pump(fds[METRICS_PORT_MAX_CONNS], 2000, &closed);
  cr_assert(closed);
  al_free(got);
  cr_assert_eq(metrics_port_n_conns(mp), METRICS_PORT_MAX_CONNS);
  for (int i = 0; i <= METRICS_PORT_MAX_CONNS; i++)
    close(fds[i]);
  metrics_port_free(mp);   /* closes the open ones */
  policy_free(p);
}

Test(metrics_listener, bind_failure)
{
  uint16_t port;
  metrics_port_t *mp = listen_with(NULL, &port);
  metrics_port_t *mp2 = metrics_port_new(base, NULL, collect, &n_collect);
  metrics_port_cfg_t c;
  char v[32];
  snprintf(v, sizeof(v), "127.0.0.1:%u", port);
  cr_assert_eq(metrics_port_parse(v, &c, NULL), 0);
  /* LEV_OPT_REUSEABLE allows TIME_WAIT reuse, not two listeners */
  char *err = NULL;
  cr_assert_eq(metrics_port_open(mp2, &c, &err), METRICS_PORT_ERR_BIND);
  cr_assert_not_null(err);
  cr_assert_not_null(strstr(err, "Could not bind Metrics listener"));
  al_free(err);
  cr_assert_eq(metrics_port_n_listeners(mp2), 0);
  cr_assert_eq(metrics_port_bound_port(mp2, 0), 0);
  metrics_port_free(mp2);
  metrics_port_free(mp);
  metrics_port_free(mp);   /* NULL is fine */
}
