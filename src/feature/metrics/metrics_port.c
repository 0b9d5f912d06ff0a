/* metrics_port.c -- the MetricsPort listeners and connections (tor(1)
 * MetricsPort, MetricsPortPolicy): a peer the policy does not accept is
 * closed at once, unanswered; past METRICS_PORT_MAX_CONNS connections, or
 * after METRICS_PORT_TIMEOUT_MSEC, a connection is closed too.  One
 * request is read (metrics_http.c), answered and the connection closed:
 * our side is shut down once the answer is out, and whatever the peer
 * still sends is read and dropped until it closes (so a refused request
 * body does not turn the answer into a reset).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define LOG_MODULE "metrics"
#include "allium/feature/metrics/metrics_http.h"
#include "allium/feature/metrics/metrics_port.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"

typedef struct mlistener_t {
  struct metrics_port_t *mp;
  struct evconnlistener *lev;
  struct event *pause_ev;
  uint16_t port;
} mlistener_t;

typedef struct mconn_t {
  struct mconn_t *next;
  struct metrics_port_t *mp;
  struct bufferevent *bev;
  struct event *timer;
  bool answered;
} mconn_t;

struct metrics_port_t {
  struct event_base *base;
  const policy_t *policy;
  metrics_collect_fn collect;
  void *arg;
  mlistener_t **ls;
  size_t n_ls;
  mconn_t *conns;
  size_t n_conns;
  uint32_t timeout_msec;
};

const char *
metrics_port_strerror(int err)
{
  switch (err) {
  case METRICS_PORT_OK: return "no error";
  case METRICS_PORT_ERR_SYNTAX: return "not [address:]port [format]";
  case METRICS_PORT_ERR_FORMAT: return "unknown metrics format";
  case METRICS_PORT_ERR_BIND: return "could not bind the listener";
  default: return "unknown MetricsPort error";
  }
}

static int
cfg_fail(char **err, int code, const char *value, const char *why)
{
  if (err)
    *err = al_asprintf("Invalid MetricsPort \"%s\": %s", value, why);
  return code;
}

/* "auto" or a decimal port of at least min. */
static int
parse_port_word(const char *s, size_t n, unsigned min, metrics_port_cfg_t *out)
{
  if (n == 4 && !strncasecmp(s, "auto", 4)) {
    out->is_auto = true;
    out->port = 0;
    return 0;
  }
  return net_port_parse(s, n, min, &out->port) < 0 ? -1 : 0;
}

/* "port", "auto", "address:port", "[IPv6]:port". */
static int
parse_addr_port(const char *s, size_t n, metrics_port_cfg_t *out)
{
  const char *colon = NULL;
  if (n && s[0] == '[') {
    const char *rb = memchr(s, ']', n);
    if (!rb || (size_t)(rb - s) + 1 >= n || rb[1] != ':')
      return -1;
    colon = rb + 1;
  } else {
    for (size_t i = n; i > 0; i--)
      if (s[i - 1] == ':') {
        colon = s + i - 1;
        break;
      }
  }
  if (!colon)
    return parse_port_word(s, n, 0, out);
  if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s)))
    return -1;   /* an IPv6 address with a port needs brackets */
  policy_addr_t a;
  if (policy_addr_parse(s, (size_t)(colon - s), &a) < 0)
    return -1;
  out->addr = a;
  return parse_port_word(colon + 1, n - (size_t)(colon - s) - 1, 1, out);
}

int
metrics_port_parse(const char *value, metrics_port_cfg_t *out, char **err)
{
  metrics_port_cfg_t c;
  memset(&c, 0, sizeof(c));
  c.addr.family = 4;
  memcpy(c.addr.addr, "\x7f\0\0\x01", 4);
  const char *p = value ? value : "";
  p += strspn(p, " \t");
  size_t n = strcspn(p, " \t");
  if (n == 0 || parse_addr_port(p, n, &c) < 0)
    return cfg_fail(err, METRICS_PORT_ERR_SYNTAX, value ? value : "",
                    "expected [address:]port [format]");
  p += n;
  p += strspn(p, " \t");
  n = strcspn(p, " \t");
  if (n) {
    if (!(n == 10 && !strncasecmp(p, "prometheus", 10)))
      return cfg_fail(err, METRICS_PORT_ERR_FORMAT, value,
                      "the only format is \"prometheus\"");
    p += n;
    p += strspn(p, " \t");
    if (*p)
      return cfg_fail(err, METRICS_PORT_ERR_SYNTAX, value,
                      "expected [address:]port [format]");
  }
  *out = c;
  return 0;
}

bool
metrics_policy_allows(const policy_t *p, const policy_addr_t *addr,
                      uint16_t port)
{
  if (!p || !addr || !addr->family)
    return false;
  for (size_t i = 0; i < p->n; i++)
    if (policy_entry_matches(&p->entries[i], addr, port))
      return p->entries[i].action == POLICY_ACCEPT;
  return false;
}

/* ---- connections ---- */

static void
conn_free(mconn_t *k)
{
  metrics_port_t *mp = k->mp;
  for (mconn_t **pp = &mp->conns; *pp; pp = &(*pp)->next)
    if (*pp == k) {
      *pp = k->next;
      break;
    }
  mp->n_conns--;
  if (k->timer)
    event_free(k->timer);
  if (k->bev)
    bufferevent_free(k->bev);
  al_free(k);
}

static void
conn_answer(mconn_t *k, int status)
{
  size_t blen = 0, rlen = 0;
  const char *body = NULL;
  metrics_text_t *t = NULL;
  char *msg = NULL;
  if (status == 200) {
    t = metrics_text_new();
    if (k->mp->collect)
      k->mp->collect(t, k->mp->arg);
    body = metrics_text_data(t, &blen);
  } else {
    msg = al_asprintf("%d\n", status);
    body = msg;
    blen = strlen(msg);
  }
  char *resp = metrics_http_response(status, body, blen, &rlen);
  k->answered = true;
  bufferevent_write(k->bev, resp, rlen);
  al_free(resp);
  al_free(msg);
  metrics_text_free(t);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
  mconn_t *k = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  if (k->answered) {
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  size_t len = evbuffer_get_length(in);
  if (len > METRICS_HTTP_MAX_HEAD)
    len = METRICS_HTTP_MAX_HEAD;
  const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)len);
  metrics_http_req_t req;
  int r = metrics_http_parse(data, len, &req);
  if (r == 0)
    return;
  if (r < 0) {
    log_info_rl(60, "Answering 400 on the MetricsPort: %s.",
                metrics_http_strerror(r));
    conn_answer(k, 400);
  } else {
    conn_answer(k, metrics_http_route(&req));
  }
  evbuffer_drain(in, evbuffer_get_length(in));
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
  mconn_t *k = arg;
  if (!k->answered || evbuffer_get_length(bufferevent_get_output(bev)))
    return;
  /* All written: our half is done; wait for the peer's close. */
  shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
  (void)bev;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    conn_free(arg);
}

static void
conn_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  conn_free(arg);
}

/* ---- listeners ---- */

static void
peer_addr(const struct sockaddr *sa, int socklen, policy_addr_t *out)
{
  memset(out, 0, sizeof(*out));
  if (sa->sa_family == AF_INET && socklen >= (int)sizeof(struct sockaddr_in)) {
    out->family = 4;
    memcpy(out->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6 &&
             socklen >= (int)sizeof(struct sockaddr_in6)) {
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0xff, 0xff };
    if (!memcmp(a, mapped, 12)) {
      out->family = 4;
      memcpy(out->addr, a + 12, 4);
    } else {
      out->family = 6;
      memcpy(out->addr, a, 16);
    }
  }
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
          struct sockaddr *sa, int socklen, void *arg)
{
  (void)lev;
  mlistener_t *l = arg;
  metrics_port_t *mp = l->mp;
  policy_addr_t pa;
  peer_addr(sa, socklen, &pa);
  if (!metrics_policy_allows(mp->policy, &pa, l->port)) {
    log_info_rl(60, "Refused a MetricsPort connection: its address is not "
                "accepted by MetricsPortPolicy.");
    evutil_closesocket(fd);
    return;
  }
  if (mp->n_conns >= METRICS_PORT_MAX_CONNS) {
    log_info_rl(60, "Refused a MetricsPort connection: %d already open.",
                METRICS_PORT_MAX_CONNS);
    evutil_closesocket(fd);
    return;
  }
  struct bufferevent *bev = bufferevent_socket_new(mp->base, fd,
                                                   BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    evutil_closesocket(fd);
    return;
  }
  mconn_t *k = al_calloc(1, sizeof(*k));
  k->mp = mp;
  k->bev = bev;
  k->next = mp->conns;
  mp->conns = k;
  mp->n_conns++;
  k->timer = evtimer_new(mp->base, conn_timeout_cb, k);
  if (!k->timer) {
    conn_free(k);
    return;
  }
  struct timeval tv = { mp->timeout_msec / 1000,
                        (suseconds_t)(mp->timeout_msec % 1000) * 1000 };
  evtimer_add(k->timer, &tv);
  bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, k);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  mlistener_t *l = arg;
  evconnlistener_enable(l->lev);
}

/* Out of descriptors (or another accept error): stop for a second rather
 * than let libevent call us in a loop. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
  mlistener_t *l = arg;
  int e = EVUTIL_SOCKET_ERROR();
  log_warn_rl(60, "Error accepting a MetricsPort connection on port %u: %s",
              l->port, evutil_socket_error_to_string(e));
  if (!l->pause_ev)
    l->pause_ev = evtimer_new(l->mp->base, resume_cb, l);
  if (!l->pause_ev)
    return;
  evconnlistener_disable(lev);
  struct timeval tv = { 1, 0 };
  evtimer_add(l->pause_ev, &tv);
}

metrics_port_t *
metrics_port_new(struct event_base *base, const policy_t *policy,
                 metrics_collect_fn collect, void *arg)
{
  metrics_port_t *mp = al_calloc(1, sizeof(*mp));
  mp->base = base;
  mp->policy = policy;
  mp->collect = collect;
  mp->arg = arg;
  mp->timeout_msec = METRICS_PORT_TIMEOUT_MSEC;
  return mp;
}

/* cfg as a sockaddr; returns its length. */
static socklen_t
cfg_sockaddr(const metrics_port_cfg_t *cfg, struct sockaddr_storage *ss)
{
  memset(ss, 0, sizeof(*ss));
  uint16_t port = cfg->is_auto ? 0 : cfg->port;
  if (cfg->addr.family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, cfg->addr.addr, 16);
    s6->sin6_port = htons(port);
    return sizeof(*s6);
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  s4->sin_family = AF_INET;
  memcpy(&s4->sin_addr, cfg->addr.addr, 4);
  s4->sin_port = htons(port);
  return sizeof(*s4);
}

int
metrics_port_open(metrics_port_t *mp, const metrics_port_cfg_t *cfg,
                  char **err)
{
  struct sockaddr_storage ss;
  socklen_t len = cfg_sockaddr(cfg, &ss);
  char abuf[64];
  if (policy_addr_format(&cfg->addr, abuf, sizeof(abuf)) != 0)
    snprintf(abuf, sizeof(abuf), "?");
  const char *lb = cfg->addr.family == 6 ? "[" : "";
  const char *rb = cfg->addr.family == 6 ? "]" : "";
  mlistener_t *l = al_calloc(1, sizeof(*l));
  l->mp = mp;
  l->lev = evconnlistener_new_bind(mp->base, accept_cb, l,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                   LEV_OPT_CLOSE_ON_EXEC, -1,
                                   (struct sockaddr *)&ss, (int)len);
  if (!l->lev) {
    if (err)
      *err = al_asprintf("Could not bind Metrics listener on %s%s%s:%u: %s",
                         lb, abuf, rb, cfg->is_auto ? 0 : cfg->port,
                         strerror(errno));
    al_free(l);
    return METRICS_PORT_ERR_BIND;
  }
  evconnlistener_set_error_cb(l->lev, accept_error_cb);
  struct sockaddr_storage got;
  socklen_t glen = sizeof(got);
  l->port = cfg->port;
  if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&got,
                  &glen) == 0)
    l->port = ntohs(got.ss_family == AF_INET6
                    ? ((struct sockaddr_in6 *)&got)->sin6_port
                    : ((struct sockaddr_in *)&got)->sin_port);
  mp->ls = al_reallocarray(mp->ls, mp->n_ls + 1, sizeof(*mp->ls));
  mp->ls[mp->n_ls++] = l;
  log_notice("Opened Metrics listener connection (ready) on %s%s%s:%u",
             lb, abuf, rb, l->port);
  return 0;
}

void
metrics_port_set_policy(metrics_port_t *mp, const policy_t *policy)
{
  mp->policy = policy;
}

size_t
metrics_port_n_listeners(const metrics_port_t *mp)
{
  return mp ? mp->n_ls : 0;
}

uint16_t
metrics_port_bound_port(const metrics_port_t *mp, size_t i)
{
  return mp && i < mp->n_ls ? mp->ls[i]->port : 0;
}

size_t
metrics_port_n_conns(const metrics_port_t *mp)
{
  return mp ? mp->n_conns : 0;
}

void
metrics_port_set_timeout(metrics_port_t *mp, uint32_t msec)
{
  mp->timeout_msec = msec;
}

void
metrics_port_free_(metrics_port_t *mp)
{
  if (!mp)
    return;
  while (mp->conns)
    conn_free(mp->conns);
  for (size_t i = 0; i < mp->n_ls; i++) {
    if (mp->ls[i]->pause_ev)
      event_free(mp->ls[i]->pause_ev);
    evconnlistener_free(mp->ls[i]->lev);
    al_free(mp->ls[i]);
  }
  al_free(mp->ls);
  al_free(mp);
}
