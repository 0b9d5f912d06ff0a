/* exit_stream.c -- exit streams at the last hop of a circuit (tor-spec 6.2
 * BEGIN / CONNECTED / DATA, 6.3 END, 6.4 RESOLVE / RESOLVED, 7.4 stream
 * flow control): policy check, resolution, non-blocking connect, the data
 * path with back-pressure both ways, half-closed streams; the sockets'
 * share of the BandwidthRate buckets; a new policy or resolver on reload.
 * See include/allium/feature/exit/exit_stream.h. */
#define LOG_MODULE "exit"
#include "allium/feature/exit/exit_stream.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/channel/channel_bw.h"
#include "allium/feature/exit/exit_parse.h"
#include "allium/feature/exit/exit_policy.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "exit_stream_st.h"

/* ---- small helpers ---- */

static void
conn_set_read(exit_conn_t *xc, bool on)
{
  if (!xc->rev || on == xc->reading)
    return;
  if (on)
    event_add(xc->rev, NULL);
  else
    event_del(xc->rev);
  xc->reading = on;
}

static void
conn_want_write(exit_conn_t *xc, uint32_t timeout_msec)
{
  if (!xc->wev)
    return;
  struct timeval tv = { (time_t)(timeout_msec / 1000),
                        (suseconds_t)(timeout_msec % 1000) * 1000 };
  event_add(xc->wev, timeout_msec ? &tv : NULL);
}

/* Forget xc: cancel its lookup, close its socket, leave the circuit.
 * Sends nothing. */
void
exit_conn_free(exit_conn_t *xc)
{
  exit_circ_t *ec = xc->ec;
  exit_t *x = ec->x;
  if (xc->req && x->resolver.cancel)
    x->resolver.cancel(x->resolver.ctx, xc->req);
  xc->req = NULL;
  if (xc->rev)
    event_free(xc->rev);
  if (xc->wev)
    event_free(xc->wev);
  if (xc->fd >= 0)
    close(xc->fd);
  channel_bw_sock_free(xc->bw);
  if (xc->counted)
    x->st.open_streams--;
  if (xc->obuf)
    al_free(xc->obuf);
  if (xc->prev)
    xc->prev->next = xc->next;
  else
    ec->conns = xc->next;
  if (xc->next)
    xc->next->prev = xc->prev;
  if (ec->last == xc)
    ec->last = NULL;
  al_free(xc);
}

/* End the stream with reason (unless the table already ended it) and
 * forget the connection. */
static void
conn_end(exit_conn_t *xc, uint8_t reason)
{
  if (!xc->ended)
    (void)relay_stream_end(xc->ec->t, xc->id, reason);
  exit_conn_free(xc);
}

exit_conn_t *
exit_conn_find(exit_circ_t *ec, uint16_t id)
{
  if (ec->last && ec->last->id == id)
    return ec->last;
  for (exit_conn_t *xc = ec->conns; xc; xc = xc->next)
    if (xc->id == id)
      return ec->last = xc;
  return NULL;
}

exit_conn_t *
exit_conn_new(exit_circ_t *ec, uint16_t id)
{
  exit_conn_t *xc = al_calloc(1, sizeof(*xc));
  xc->ec = ec;
  xc->id = id;
  xc->fd = -1;
  xc->next = ec->conns;
  if (ec->conns)
    ec->conns->prev = xc;
  ec->conns = xc;
  return xc;
}

/* Move what we queued on the circuit, from outside the engine's pump.
 * The circuit (and with it every exit_conn_t of it) may be gone after. */
static void
circ_flush(exit_t *x, uint64_t circ)
{
  cellswitch_circ_flush(x->sw, circ);
}

/* ---- BandwidthRate / BandwidthBurst (core/channel/channel_bw.h): the
 * destination sockets spend the global buckets, not RelayBandwidthRate's
 * (tor(1): those bound relayed traffic only), and count for
 * AccountingMax. ---- */

static void
bw_resume(void *arg, int reading)
{
  exit_conn_t *xc = arg;
  if (!reading) {
    xc->bw_wwait = false;
    if (xc->olen > xc->ooff &&
        (xc->state == EXIT_CONN_OPEN || xc->draining))
      conn_want_write(xc, xc->draining ? EXIT_DRAIN_TIMEOUT_MSEC : 0);
  } else if (xc->state == EXIT_CONN_OPEN && !xc->ended && !xc->draining &&
             relay_stream_pending(xc->ec->t, xc->id) < EXIT_PENDING_LOW) {
    conn_set_read(xc, true);
  }
}

/* How much xc may read now (0: wait for bw_resume()). */
static size_t
bw_read_room(exit_conn_t *xc, size_t want)
{
  size_t n = channel_bw_sock_read_allow(xc->bw, want);
  if (!n)
    xc->ec->x->st.bw_waits++;
  return n;
}

/* How much xc may write now (0: wait for bw_resume()). */
static size_t
bw_write_room(exit_conn_t *xc, size_t want)
{
  size_t n = channel_bw_sock_write_allow(xc->bw, want);
  if (!n && want) {
    xc->bw_wwait = true;
    xc->ec->x->st.bw_waits++;
  }
  return n;
}

/* ---- socket output (DATA from the circuit) ---- */

static int
obuf_append(exit_conn_t *xc, const uint8_t *p, size_t n)
{
  if (xc->ooff > 0 && xc->ooff == xc->olen)
    xc->ooff = xc->olen = 0;
  if (xc->olen + n > xc->ocap) {
    if (xc->ooff > 0) {
      memmove(xc->obuf, xc->obuf + xc->ooff, xc->olen - xc->ooff);
      xc->olen -= xc->ooff;
      xc->ooff = 0;
    }
    size_t cap = xc->ocap ? xc->ocap : 4096;
    while (cap < xc->olen + n)
      cap *= 2;
    if (cap != xc->ocap) {
      xc->obuf = al_realloc(xc->obuf, cap);
      xc->ocap = cap;
    }
  }
  memcpy(xc->obuf + xc->olen, p, n);
  xc->olen += n;
  return 0;
}

/* Write what we can of buf; the bytes written, or -1 with errno. */
static ssize_t
sock_write(int fd, const uint8_t *p, size_t n)
{
  ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
  if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return 0;
  return w;
}

/* Hold back or release the stream's SENDMEs by the output queue size. */
static void
update_recv_pause(exit_conn_t *xc)
{
  size_t queued = xc->olen - xc->ooff;
  if (!xc->recv_paused && queued >= EXIT_OBUF_HIGH) {
    xc->recv_paused = true;
    xc->ec->x->st.recv_paused++;
    (void)relay_stream_set_recv_paused(xc->ec->t, xc->id, true);
  } else if (xc->recv_paused && queued <= EXIT_OBUF_LOW) {
    xc->recv_paused = false;
    (void)relay_stream_set_recv_paused(xc->ec->t, xc->id, false);
  }
}

/* DATA for an exit stream: straight to the socket, queued if it blocks.
 * 0, or -1 when xc was closed. */
static int
conn_data(exit_conn_t *xc, const uint8_t *p, size_t n)
{
  exit_t *x = xc->ec->x;
  if (xc->draining)
    return 0;
  if (xc->state == EXIT_CONN_OPEN && xc->olen == xc->ooff && !xc->bw_wwait) {
    size_t room = bw_write_room(xc, n);
    ssize_t w = room ? sock_write(xc->fd, p, room) : 0;
    if (w < 0) {
      log_info_rl(60, "Closing an exit stream: write failed (%s).",
                  strerror(errno));
      conn_end(xc, exit_end_reason_for_errno(errno));
      return -1;
    }
    x->st.bytes_to_net += (uint64_t)w;
    channel_bw_sock_write_done((size_t)w);
    p += w;
    n -= (size_t)w;
    if (n == 0)
      return 0;
  }
  size_t cap = x->cfg.obuf_max ? x->cfg.obuf_max : EXIT_OBUF_MAX;
  if (xc->olen - xc->ooff + n > cap) {
    x->st.obuf_overflows++;
    log_info_rl(60, "Closing an exit stream: the client sent more than %zu "
                "bytes the destination has not taken (stop signals "
                "ignored): END RESOURCELIMIT.", cap);
    conn_end(xc, RELAY_END_RESOURCELIMIT);
    return -1;
  }
  obuf_append(xc, p, n);
  if (xc->state == EXIT_CONN_OPEN && !xc->bw_wwait)
    conn_want_write(xc, 0);
  update_recv_pause(xc);
  return 0;
}

/* ---- socket input (DATA to the circuit) ---- */

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
  exit_conn_t *xc = arg;
  exit_circ_t *ec = xc->ec;
  exit_t *x = ec->x;
  uint64_t circ = ec->circ;
  (void)what;
  if (relay_stream_pending(ec->t, xc->id) >= EXIT_PENDING_HIGH) {
    conn_set_read(xc, false);
    x->st.reads_paused++;
    return;
  }
  size_t room = bw_read_room(xc, sizeof(x->rbuf));
  if (!room) {
    conn_set_read(xc, false);  /* bw_resume() after the next refill */
    return;
  }
  ssize_t n = recv(fd, x->rbuf, room, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (n <= 0) {
    /* EOF: END DONE once the data is out (6.3); the stream is then
     * half-closed at the table.  A read error: its reason. */
    uint8_t reason = n == 0 ? RELAY_END_DONE
                            : exit_end_reason_for_errno(errno);
    (void)relay_stream_end(ec->t, xc->id, reason);
    xc->ended = true;
    if (n == 0 && xc->olen > xc->ooff) {
      conn_set_read(xc, false);
      xc->draining = true;       /* write out what the client sent */
      conn_want_write(xc, EXIT_DRAIN_TIMEOUT_MSEC);
    } else {
      exit_conn_free(xc);
    }
    circ_flush(x, circ);
    return;
  }
  x->st.bytes_from_net += (uint64_t)n;
  channel_bw_sock_read_done((size_t)n);
  if (relay_stream_write(ec->t, xc->id, x->rbuf, (size_t)n) < 0) {
    xc->ended = true;          /* the stream is gone or closing */
    exit_conn_free(xc);
  } else if (relay_stream_pending(ec->t, xc->id) >= EXIT_PENDING_HIGH) {
    conn_set_read(xc, false);  /* a window is empty: wait for SENDMEs */
    x->st.reads_paused++;
  }
  circ_flush(x, circ);
}

/* ---- connect ---- */

static void on_writable(evutil_socket_t fd, short what, void *arg);

static void
conn_connected(exit_conn_t *xc)
{
  exit_t *x = xc->ec->x;
  cell_addr_t ca;
  exit_addr_to_cell(&xc->addr, &ca);
  if (relay_stream_connected(xc->ec->t, xc->id, &ca, xc->ttl) < 0) {
    xc->ended = true;
    exit_conn_free(xc);
    return;
  }
  xc->state = EXIT_CONN_OPEN;
  x->st.connected++;
  conn_set_read(xc, true);
  if (xc->olen > xc->ooff)
    conn_want_write(xc, 0);
}

static void
conn_write_out(exit_conn_t *xc)
{
  exit_t *x = xc->ec->x;
  while (xc->olen > xc->ooff && !xc->bw_wwait) {
    size_t room = bw_write_room(xc, xc->olen - xc->ooff);
    if (!room)
      break;                   /* bw_resume() after the next refill */
    ssize_t w = sock_write(xc->fd, xc->obuf + xc->ooff, room);
    if (w < 0) {
      log_info_rl(60, "Closing an exit stream: write failed (%s).",
                  strerror(errno));
      conn_end(xc, exit_end_reason_for_errno(errno));
      return;
    }
    if (w == 0)
      break;
    xc->ooff += (size_t)w;
    x->st.bytes_to_net += (uint64_t)w;
    channel_bw_sock_write_done((size_t)w);
  }
  if (xc->olen > xc->ooff) {
    if (!xc->bw_wwait)
      conn_want_write(xc, xc->draining ? EXIT_DRAIN_TIMEOUT_MSEC : 0);
  } else if (xc->draining) {
    shutdown(xc->fd, SHUT_WR);
    exit_conn_free(xc);
    return;
  }
  update_recv_pause(xc);
}

static void
on_writable(evutil_socket_t fd, short what, void *arg)
{
  exit_conn_t *xc = arg;
  exit_t *x = xc->ec->x;
  uint64_t circ = xc->ec->circ;
  if (xc->state == EXIT_CONN_CONNECTING) {
    int err = 0;
    socklen_t el = sizeof(err);
    if (what & EV_TIMEOUT)
      err = ETIMEDOUT;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
      err = errno;
    if (err == EINPROGRESS)
      return;
    if (err) {
      x->st.connect_failed++;
      log_info_rl(60, "Exit connect failed: %s.", strerror(err));
      conn_end(xc, exit_end_reason_for_errno(err));
    } else {
      conn_connected(xc);
    }
    circ_flush(x, circ);
    return;
  }
  if (what & EV_TIMEOUT) {   /* draining for too long */
    exit_conn_free(xc);
    return;
  }
  conn_write_out(xc);
  circ_flush(x, circ);
}

static int
sockaddr_of(const policy_addr_t *a, uint16_t port,
            struct sockaddr_storage *ss, socklen_t *len)
{
  memset(ss, 0, sizeof(*ss));
  if (a->family == 4) {
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, a->addr, 4);
    *len = sizeof(*s);
    return 0;
  }
  if (a->family == 6) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    memcpy(&s->sin6_addr, a->addr, 16);
    *len = sizeof(*s);
    return 0;
  }
  return -1;
}

/* The address is known: check the policy, then connect.  The caller
 * flushes the circuit. */
void
exit_conn_connect(exit_conn_t *xc)
{
  exit_t *x = xc->ec->x;
  if (policy_eval(x->cfg.policy, &xc->addr, xc->port) !=
      POLICY_RESULT_ACCEPTED) {
    cell_addr_t ca;
    exit_addr_to_cell(&xc->addr, &ca);
    x->st.refused_policy++;
    log_info_rl(60, "Refusing an exit stream: the exit policy rejects "
                "the address (END EXITPOLICY).");
    (void)relay_stream_end_exitpolicy(xc->ec->t, xc->id, &ca, xc->ttl);
    xc->ended = true;
    exit_conn_free(xc);
    return;
  }
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  (void)sockaddr_of(&xc->addr, xc->port, &ss, &sl);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  0);
  if (fd < 0) {
    x->st.connect_failed++;
    conn_end(xc, exit_end_reason_for_errno(errno));
    return;
  }
  xc->fd = fd;
  if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
    x->st.connect_failed++;
    log_info_rl(60, "Exit connect failed: %s.", strerror(errno));
    conn_end(xc, exit_end_reason_for_errno(errno));
    return;
  }
  xc->bw = channel_bw_sock_new(bw_resume, xc);
  xc->rev = event_new(x->base, fd, EV_READ | EV_PERSIST, on_readable, xc);
  xc->wev = event_new(x->base, fd, EV_WRITE, on_writable, xc);
  xc->state = EXIT_CONN_CONNECTING;
  conn_want_write(xc, x->cfg.connect_timeout_msec
                      ? x->cfg.connect_timeout_msec
                      : EXIT_CONNECT_TIMEOUT_MSEC);
}

/* ---- engine hooks ---- */

static void
hook_on_data(void *arg, void *cdata, uint16_t id, const uint8_t *data,
             size_t len)
{
  (void)arg;
  exit_conn_t *xc = exit_conn_find(cdata, id);
  if (xc)
    (void)conn_data(xc, data, len);
}

static void
hook_on_pump(void *arg, void *cdata)
{
  (void)arg;
  exit_circ_t *ec = cdata;
  exit_conn_t *next;
  for (exit_conn_t *xc = ec->conns; xc; xc = next) {
    next = xc->next;
    if (xc->state == EXIT_CONN_OPEN && !xc->reading && !xc->ended &&
        !xc->draining &&
        relay_stream_pending(ec->t, xc->id) < EXIT_PENDING_LOW)
      conn_set_read(xc, true);
  }
}

static void
hook_on_circ_free(void *arg, void *cdata)
{
  (void)arg;
  exit_circ_t *ec = cdata;
  while (ec->conns)
    exit_conn_free(ec->conns);
  if (ec->cprev)
    ec->cprev->cnext = ec->cnext;
  else
    ec->x->circs = ec->cnext;
  if (ec->cnext)
    ec->cnext->cprev = ec->cprev;
  al_free(ec);
}

/* The client ended the stream (END), or the table did (ERROR). */
static void
on_stream_gone(exit_circ_t *ec, uint16_t id, bool flush_first)
{
  exit_conn_t *xc = exit_conn_find(ec, id);
  if (!xc)
    return;
  xc->ended = true;
  if (flush_first && xc->state == EXIT_CONN_OPEN && xc->olen > xc->ooff) {
    conn_set_read(xc, false);
    xc->draining = true;
    conn_want_write(xc, EXIT_DRAIN_TIMEOUT_MSEC);
    return;
  }
  exit_conn_free(xc);
}

/* The policy accepts nothing (ExitRelay 0 since a reload): BEGIN and
 * RESOLVE get END EXITPOLICY, as on a relay that never was an exit. */
static void
refuse_not_exit(exit_t *x, relay_streams_t *t, const relay_stream_event_t *ev)
{
  x->st.refused_policy++;
  log_info_rl(60, "Refusing a %s stream: this relay is not an exit.",
              ev->type == RELAY_STREAM_EV_BEGIN ? "BEGIN" : "RESOLVE");
  (void)relay_stream_end(t, ev->stream_id, RELAY_END_EXITPOLICY);
}

static void
hook_on_event(void *arg, cellswitch_t *sw, uint64_t circ, void **cdata,
              relay_streams_t *t, const relay_stream_event_t *ev)
{
  exit_t *x = arg;
  exit_circ_t *ec = *cdata;
  bool opens = ev->type == RELAY_STREAM_EV_BEGIN ||
               ev->type == RELAY_STREAM_EV_RESOLVE;
  if (opens && !x->accepting) {
    refuse_not_exit(x, t, ev);
    return;
  }
  if (!ec && opens) {
    ec = al_calloc(1, sizeof(*ec));
    ec->x = x;
    ec->circ = circ;
    ec->t = t;
    ec->cnext = x->circs;
    if (x->circs)
      x->circs->cprev = ec;
    x->circs = ec;
    *cdata = ec;
  }
  switch (ev->type) {
  case RELAY_STREAM_EV_BEGIN:
    exit_on_begin(ec, ev, cellswitch_circ_prev_is_relay(sw, circ));
    break;
  case RELAY_STREAM_EV_RESOLVE:
    exit_on_resolve(ec, ev);
    break;
  case RELAY_STREAM_EV_DATA:
    if (ec) {
      exit_conn_t *xc = exit_conn_find(ec, ev->stream_id);
      if (xc)
        (void)conn_data(xc, ev->data, ev->len);
    }
    break;
  case RELAY_STREAM_EV_END:
    if (ec)
      on_stream_gone(ec, ev->stream_id, true);
    break;
  case RELAY_STREAM_EV_ERROR:
    if (ec && relay_stream_state(t, ev->stream_id) != RELAY_STREAM_OPEN &&
        relay_stream_state(t, ev->stream_id) != RELAY_STREAM_CONNECTING)
      on_stream_gone(ec, ev->stream_id, false);
    break;
  default:
    break;
  }
}

/* ---- the exit ---- */

exit_t *
exit_new(struct event_base *base, cellswitch_t *sw, const exit_cfg_t *cfg)
{
  if (!base || !sw || !cfg || !cfg->policy)
    return NULL;
  exit_t *x = al_calloc(1, sizeof(*x));
  x->base = base;
  x->sw = sw;
  x->cfg = *cfg;
  x->cfg.resolver = NULL;
  x->accepting = exit_policy_is_exit(cfg->policy);
  if (cfg->resolver)
    x->resolver = *cfg->resolver;
  cellswitch_exit_hooks_t h = {
    .on_event = hook_on_event,
    .on_data = hook_on_data,
    .on_pump = hook_on_pump,
    .on_circ_free = hook_on_circ_free,
    .arg = x,
  };
  cellswitch_set_exit_hooks(sw, &h);
  return x;
}

void
exit_set_policy(exit_t *x, const policy_t *policy, bool ipv6_exit)
{
  if (!x || !policy)
    return;
  x->cfg.policy = policy;
  x->cfg.ipv6_exit = ipv6_exit;
  x->accepting = exit_policy_is_exit(policy);
}

/* Cancel xc's lookup on the resolver in use and answer it: a BEGIN gets
 * END RESOLVEFAILED, a RESOLVE a transient error. */
static void
conn_lookup_refuse(exit_t *x, exit_conn_t *xc)
{
  if (x->resolver.cancel)
    x->resolver.cancel(x->resolver.ctx, xc->req);
  xc->req = NULL;
  exit_dns_answer_t a;
  memset(&a, 0, sizeof(a));
  a.status = EXIT_DNS_TRANSIENT;
  if (xc->state == EXIT_CONN_LOOKUP) {
    uint8_t body[RELAY_BODY_MAX];
    size_t len;
    relay_resolved_t rr;
    if (exit_resolved_build(&a, true, true, body, sizeof(body), &len) == 0 &&
        relay_resolved_decode(&rr, body, len) == 0)
      (void)relay_stream_resolved(xc->ec->t, xc->id, &rr);
    else
      (void)relay_stream_end(xc->ec->t, xc->id, RELAY_END_INTERNAL);
  } else {
    x->st.resolve_failed++;
    (void)relay_stream_end(xc->ec->t, xc->id, RELAY_END_RESOLVEFAILED);
  }
  xc->ended = true;
  exit_conn_free(xc);
}

size_t
exit_refuse_lookups(exit_t *x)
{
  size_t n = 0, n_circ = 0, k = 0;
  for (exit_circ_t *ec = x->circs; ec; ec = ec->cnext)
    n_circ++;
  uint64_t *ids = al_calloc(n_circ ? n_circ : 1, sizeof(*ids));
  for (exit_circ_t *ec = x->circs; ec; ec = ec->cnext) {
    exit_conn_t *next;
    bool any = false;
    for (exit_conn_t *xc = ec->conns; xc; xc = next) {
      next = xc->next;
      if (!xc->req)
        continue;
      conn_lookup_refuse(x, xc);
      any = true;
      n++;
    }
    if (any)
      ids[k++] = ec->circ;
  }
  /* Flush after the walk: a flush may free its circuit. */
  for (size_t i = 0; i < k; i++)
    circ_flush(x, ids[i]);
  al_free(ids);
  if (n)
    log_notice("The exit's resolver changed: %zu lookup%s in flight "
               "answered with an error.", n, n == 1 ? "" : "s");
  return n;
}

void
exit_set_resolver(exit_t *x, const exit_resolver_t *r)
{
  (void)exit_refuse_lookups(x);
  if (r)
    x->resolver = *r;
  else
    memset(&x->resolver, 0, sizeof(x->resolver));
}

void
exit_free_(exit_t *x)
{
  if (!x)
    return;
  memwipe(x->rbuf, sizeof(x->rbuf));
  al_free(x);
}

void
exit_get_stats(const exit_t *x, exit_stats_t *out)
{
  *out = x->st;
}
