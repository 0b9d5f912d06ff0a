/* client_hs_svc_stream.c -- the streams a client opens on a rendezvous
 * circuit one of our onion services joined (rend-spec-v3 1.1, 4.2; tor-spec
 * 6.2 BEGIN with the empty host ":PORT", 6.2.1 BEGIN_DIR, 6.3
 * END, 6.4 RESOLVE, 7.4 stream-level flow control; tor(1)
 * HiddenServicePort, HiddenServiceMaxStreams*, ...AllowUnknownPorts).
 *
 * A BEGIN goes through hs_service_stream_decide(); an accepted one becomes
 * a non-blocking connection (bufferevent) to the port line's target, TCP
 * or unix:, answered with an EMPTY CONNECTED once it is up (no address
 * leaves the service).  Then bytes flow both ways, mirrored from
 * client_conn.c:
 *   client -> local: cell body straight into the bufferevent's output (the
 *     one copy); above CLIENT_RECV_HIGH queued the stream's SENDMEs are
 *     held back, released from the write callback at CLIENT_RECV_LOW;
 *   local -> client: relay_stream_write() while the stream's queue holds
 *     less than CLIENT_PAUSE_BYTES, else reading stops until it drains
 *     (re-checked on the host's 100 ms tick and when the client sends).
 *
 * END reasons (all chosen to match tor's onion services):
 *   unmapped port, over HiddenServiceMaxStreams (tor(1) "silently
 *   ignored"): END DONE, which says nothing about the port (tor answers
 *   every BEGIN its service refuses with DONE, against port scans); with
 *   CLOSE_CIRCUIT the END DONE goes first, then the circuit is torn down;
 *   BEGIN_DIR: END NOTDIRECTORY (tor-spec 6.2.1, we are no directory);
 *   RESOLVE: RESOLVED with a non-transient error (6.4);
 *   connection failed: the errno mapping an exit uses (timeouts, no
 *   route, no resources, resets; refused or anything else while
 *   connecting: CONNECTREFUSED), 10 s without a connection: TIMEOUT;
 *   local EOF: DONE after the bytes read; local error: CONNRESET / errno.
 *
 * Re-entrancy: every chanmgr call may run callbacks, including the
 * circuit's on_closed, which lands in client_hs_svc_streams_closed() and
 * frees every connection of rc at once.  So after each chanmgr call the
 * code checks rc->closed (rc itself outlives the call chain) and touches
 * no connection if it is set.  Connections closed while the circuit lives
 * are marked dead (socket closed at once) and freed by the tick.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define LOG_MODULE "hs_service"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_msg.h"
#include "allium/feature/hs_service/hs_service_stream.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_hs_svc.h"

#define SVC_READ_HIWAT (64 * 1024)      /* local socket bytes read per turn */
#define SVC_CONNECT_MSEC 10000          /* connect deadline */
#define SVC_CLOSING_MSEC 30000          /* flushing to the local socket */
#define SVC_PEEK_VECS 8

typedef enum svc_conn_state_t {
  SVC_CONNECTING = 0,  /* BEGIN accepted, local connect in progress */
  SVC_OPEN,            /* CONNECTED sent */
  SVC_CLOSING,         /* client sent END: flushing to the local socket */
  SVC_DEAD,            /* socket closed; freed at the next tick */
} svc_conn_state_t;

typedef struct client_hs_svc_conn_t {
  struct client_hs_svc_conn_t *next;
  client_hs_svc_circ_t *rc;
  struct bufferevent *bev;
  svc_conn_state_t state;
  uint16_t sid;            /* stream id while the stream lives, else 0 */
  uint16_t port;           /* virtual port, for logs */
  bool paused;             /* local reading stopped (client side full) */
  bool recv_paused;        /* local side slow: stream SENDMEs held back */
  uint64_t started_msec;   /* BEGIN accepted (0 until the first tick) */
  uint64_t closing_msec;
} svc_conn_t;

static void svc_pump(svc_conn_t *k, bool force);

/* ---------------------------------------------------------------- */
/* Lookup and closing */

static relay_streams_t *
svc_streams(client_hs_svc_circ_t *rc)
{
  if (rc->closed)
    return NULL;
  return chanmgr_streams(rc->c->cm, rc->handle);
}

/* The live connection of stream sid (a short list: one per open stream
 * of this circuit; nothing is reordered, so the tick may walk it while
 * callbacks look streams up). */
static svc_conn_t *
svc_find(client_hs_svc_circ_t *rc, uint16_t sid)
{
  for (svc_conn_t *k = rc->conns; k; k = k->next)
    if (k->sid == sid && k->state != SVC_DEAD)
      return k;
  return NULL;
}

/* Forget the stream; the id is free for the client to reuse. */
static void
svc_detach(svc_conn_t *k)
{
  if (!k->sid)
    return;
  k->sid = 0;
  if (k->rc->n_streams)
    k->rc->n_streams--;
}

/* Free the local socket (the struct stays until the tick). */
static void
svc_drop_socket(svc_conn_t *k)
{
  k->state = SVC_DEAD;
  if (k->bev)
    bufferevent_free(k->bev);
  k->bev = NULL;
}

/* Close k now; END(reason) if its stream still lives.  May close the
 * circuit: the caller touches nothing of rc's afterwards. */
static void
svc_kill(svc_conn_t *k, uint8_t reason)
{
  if (k->state == SVC_DEAD)
    return;
  client_hs_svc_circ_t *rc = k->rc;
  uint16_t sid = k->sid;
  svc_detach(k);
  svc_drop_socket(k);
  relay_streams_t *t = sid ? svc_streams(rc) : NULL;
  if (!t)
    return;
  relay_stream_state_t st = relay_stream_state(t, sid);
  if (st == RELAY_STREAM_NONE || st == RELAY_STREAM_CLOSING)
    return;
  (void)relay_stream_end(t, sid, reason);
  chanmgr_flush(rc->c->cm, rc->handle);
}

/* The client ended the stream: write what is queued, then close. */
static void
svc_close_after_flush(svc_conn_t *k)
{
  svc_detach(k);
  if (k->state != SVC_OPEN || !k->bev ||
      evbuffer_get_length(bufferevent_get_output(k->bev)) == 0) {
    svc_drop_socket(k);
    return;
  }
  k->state = SVC_CLOSING;
  k->closing_msec = 0;
  bufferevent_disable(k->bev, EV_READ);
  bufferevent_setwatermark(k->bev, EV_WRITE, 0, 0);
}

/* END reason for a local socket error (errno as the callback left it),
 * tor-spec 6.3 as an exit maps them; a failed connect that says nothing
 * more (or a unix path with nobody there) is CONNECTREFUSED, a failure
 * of an open connection CONNRESET. */
static uint8_t
svc_errno_reason(int err, bool connecting)
{
  switch (err) {
  case ETIMEDOUT:
    return RELAY_END_TIMEOUT;
  case ENETUNREACH:
  case EHOSTUNREACH:
    return RELAY_END_NOROUTE;
  case EMFILE:
  case ENFILE:
  case ENOBUFS:
  case ENOMEM:
  case EADDRNOTAVAIL:
    return RELAY_END_RESOURCELIMIT;
  case ECONNRESET:
  case EPIPE:
  case ECONNABORTED:
    return RELAY_END_CONNRESET;
  default:
    return connecting ? RELAY_END_CONNECTREFUSED : RELAY_END_CONNRESET;
  }
}

/* ---------------------------------------------------------------- */
/* Back-pressure */

/* Client -> local: hold the stream's SENDMEs while more than
 * CLIENT_RECV_HIGH bytes wait for the local socket, release them at
 * CLIENT_RECV_LOW (the write callback fires there). */
static void
svc_check_recv_pressure(svc_conn_t *k)
{
  if (!k->bev || !k->sid)
    return;
  size_t queued = evbuffer_get_length(bufferevent_get_output(k->bev));
  bool pause = !k->recv_paused && queued > CLIENT_RECV_HIGH;
  bool resume = k->recv_paused && queued <= CLIENT_RECV_LOW;
  if (!pause && !resume)
    return;
  client_hs_svc_circ_t *rc = k->rc;
  relay_streams_t *t = svc_streams(rc);
  if (!t)
    return;
  k->recv_paused = pause;
  (void)relay_stream_set_recv_paused(t, k->sid, pause);
  if (resume)
    chanmgr_flush(rc->c->cm, rc->handle);
}

/* Local -> client, until the stream's queue is full (force: all that was
 * read, the local side is done).  No copy besides the table's: the
 * input's chunks are peeked, written, then drained. */
static void
svc_pump(svc_conn_t *k, bool force)
{
  if (k->state != SVC_OPEN || !k->sid || !k->bev)
    return;
  client_hs_svc_circ_t *rc = k->rc;
  relay_streams_t *t = svc_streams(rc);
  if (!t)
    return;
  struct evbuffer *in = bufferevent_get_input(k->bev);
  struct evbuffer_iovec v[SVC_PEEK_VECS];
  bool wrote = false, failed = false;
  while (!failed && evbuffer_get_length(in) > 0) {
    if (!force && relay_stream_pending(t, k->sid) >= CLIENT_PAUSE_BYTES)
      break;
    int nv = evbuffer_peek(in, -1, NULL, v, SVC_PEEK_VECS);
    if (nv > SVC_PEEK_VECS)
      nv = SVC_PEEK_VECS;
    size_t done = 0;
    for (int i = 0; i < nv && !failed; i++) {
      if (relay_stream_write(t, k->sid, v[i].iov_base, v[i].iov_len) != 0)
        failed = true;
      else
        done += v[i].iov_len;
    }
    evbuffer_drain(in, done);
    rc->bytes_out += done;
    wrote = wrote || done > 0;
  }
  if (failed) {
    svc_kill(k, RELAY_END_INTERNAL);
    return;
  }
  bool full = relay_stream_pending(t, k->sid) >= CLIENT_PAUSE_BYTES;
  if (full && !k->paused)
    bufferevent_disable(k->bev, EV_READ);
  else if (!full && k->paused)
    bufferevent_enable(k->bev, EV_READ);
  k->paused = full;
  if (wrote)
    chanmgr_flush(rc->c->cm, rc->handle);
}

/* ---------------------------------------------------------------- */
/* bufferevent callbacks */

static void
svc_read_cb(struct bufferevent *bev, void *arg)
{
  svc_conn_t *k = arg;
  if (k->state == SVC_OPEN)
    svc_pump(k, false);
  else
    evbuffer_drain(bufferevent_get_input(bev),
                   evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
svc_write_cb(struct bufferevent *bev, void *arg)
{
  svc_conn_t *k = arg;
  if (k->state == SVC_CLOSING) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
      svc_drop_socket(k);
    return;
  }
  if (k->recv_paused)
    svc_check_recv_pressure(k);
}

/* The local connection is up: an empty CONNECTED, then what the client
 * already sent goes out and reading starts. */
static void
svc_on_connected(svc_conn_t *k)
{
  client_hs_svc_circ_t *rc = k->rc;
  relay_streams_t *t = svc_streams(rc);
  if (!t || relay_stream_connected(t, k->sid, NULL, 0) != 0) {
    svc_kill(k, RELAY_END_INTERNAL);
    return;
  }
  k->state = SVC_OPEN;
  log_info_rl(60, "Onion service stream to virtual port %u connected",
              k->port);
  bufferevent_enable(k->bev, EV_READ | EV_WRITE);
  chanmgr_flush(rc->c->cm, rc->handle);
  if (rc->closed || k->state != SVC_OPEN)
    return;
  svc_pump(k, false);
}

static void
svc_event_cb(struct bufferevent *bev, short what, void *arg)
{
  (void)bev;
  svc_conn_t *k = arg;
  int err = EVUTIL_SOCKET_ERROR();
  if (what & BEV_EVENT_CONNECTED) {
    if (k->state == SVC_CONNECTING)
      svc_on_connected(k);
    return;
  }
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
    return;
  if (k->state == SVC_CONNECTING) {
    uint8_t reason = svc_errno_reason((what & BEV_EVENT_ERROR) ? err : 0,
                                      true);
    log_info_rl(60, "Onion service stream to virtual port %u: local "
                "connection failed (END %u)", k->port, reason);
    svc_kill(k, reason);
    return;
  }
  if (k->state != SVC_OPEN) {
    svc_drop_socket(k);
    return;
  }
  /* Send what was read (bounded by the read high-water mark), then END. */
  client_hs_svc_circ_t *rc = k->rc;
  svc_pump(k, true);
  if (rc->closed || k->state != SVC_OPEN)
    return;
  svc_kill(k, (what & BEV_EVENT_ERROR) ? svc_errno_reason(err, false)
                                        : RELAY_END_DONE);
}

/* ---------------------------------------------------------------- */
/* BEGIN */

/* Fill ss for target; its length, or 0 (a unix path too long). */
static socklen_t
svc_target_sockaddr(const hs_service_port_t *target,
                    struct sockaddr_storage *ss)
{
  memset(ss, 0, sizeof(*ss));
  if (target->is_unix) {
    struct sockaddr_un *sun = (struct sockaddr_un *)ss;
    size_t n = target->unix_path ? strlen(target->unix_path) : 0;
    if (n == 0 || n >= sizeof(sun->sun_path))
      return 0;
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, target->unix_path, n + 1);
    return (socklen_t)sizeof(*sun);
  }
  if (target->target.family == 6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    memcpy(&sin6->sin6_addr, target->target.addr, 16);
    sin6->sin6_port = htons(target->target.port);
    return (socklen_t)sizeof(*sin6);
  }
  struct sockaddr_in *sin = (struct sockaddr_in *)ss;
  sin->sin_family = AF_INET;
  memcpy(&sin->sin_addr, target->target.addr, 4);
  sin->sin_port = htons(target->target.port);
  return (socklen_t)sizeof(*sin);
}

/* END(reason) on a stream we hold no connection for. */
static void
svc_end_unattached(client_hs_svc_circ_t *rc, uint16_t sid, uint8_t reason)
{
  relay_streams_t *t = svc_streams(rc);
  if (!t)
    return;
  (void)relay_stream_end(t, sid, reason);
  chanmgr_flush(rc->c->cm, rc->handle);
}

/* Start the local connection for an accepted BEGIN. */
static void
svc_connect(client_hs_svc_circ_t *rc, uint16_t sid, uint16_t port,
            const hs_service_port_t *target)
{
  struct sockaddr_storage ss;
  socklen_t sl = svc_target_sockaddr(target, &ss);
  if (!sl) {
    log_info_rl(60, "Onion service port %u: unix socket path too long", port);
    svc_end_unattached(rc, sid, RELAY_END_DONE);
    return;
  }
  struct bufferevent *bev = bufferevent_socket_new(rc->c->base, -1,
                                                   BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    svc_end_unattached(rc, sid, RELAY_END_RESOURCELIMIT);
    return;
  }
  svc_conn_t *k = al_calloc(1, sizeof(*k));
  k->rc = rc;
  k->bev = bev;
  k->sid = sid;
  k->port = port;
  k->state = SVC_CONNECTING;
  k->next = rc->conns;
  rc->conns = k;
  rc->n_streams++;
  bufferevent_setwatermark(bev, EV_READ, 0, SVC_READ_HIWAT);
  bufferevent_setwatermark(bev, EV_WRITE, CLIENT_RECV_LOW, 0);
  bufferevent_setcb(bev, svc_read_cb, svc_write_cb, svc_event_cb, k);
  if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)sl) < 0) {
    int err = EVUTIL_SOCKET_ERROR();
    uint8_t reason = svc_errno_reason(err, true);
    log_info_rl(60, "Onion service port %u: cannot connect locally (END %u)",
                port, reason);
    svc_kill(k, reason);
  }
}

static void
svc_on_begin(client_hs_svc_circ_t *rc, const relay_stream_event_t *ev)
{
  const hs_service_port_t *target = NULL;
  hs_stream_verdict_t v = hs_service_stream_decide(rc->cfg, ev->port,
                                                   rc->n_streams, &target);
  if (v == HS_STREAM_ACCEPT && target) {
    svc_connect(rc, ev->stream_id, ev->port, target);
    return;
  }
  log_info_rl(60, "Onion service stream to virtual port %u: %s (%zu open)",
              ev->port, hs_stream_verdict_name(v), rc->n_streams);
  /* REFUSE, IGNORE (the stream must not linger in the table) and
   * CLOSE_CIRCUIT alike: END DONE, as tor answers. */
  svc_end_unattached(rc, ev->stream_id, RELAY_END_DONE);
  if (v == HS_STREAM_CLOSE_CIRCUIT && !rc->closed)
    chanmgr_close_circ(rc->c->cm, rc->handle, CELL_DESTROY_NONE);
  /* rc->closed now: client_hs_svc_streams_closed() ran. */
}

/* RESOLVE: no name lookups at a service (6.4 error answer). */
static void
svc_on_resolve(client_hs_svc_circ_t *rc, uint16_t sid)
{
  relay_streams_t *t = svc_streams(rc);
  if (!t)
    return;
  relay_resolved_t *r = al_calloc(1, sizeof(*r));
  r->n = 1;
  r->answers[0].type = RELAY_RESOLVED_ERROR_NONTRANSIENT;
  if (relay_stream_resolved(t, sid, r) != 0)
    (void)relay_stream_end(t, sid, RELAY_END_RESOLVEFAILED);
  al_free(r);
  chanmgr_flush(rc->c->cm, rc->handle);
}

/* ---------------------------------------------------------------- */
/* Interface (client_hs_svc.h) */

void
client_hs_svc_stream_data(client_hs_svc_circ_t *rc, uint16_t sid,
                          const uint8_t *data, size_t len)
{
  if (!rc || rc->closed)
    return;
  svc_conn_t *k = svc_find(rc, sid);
  if (!k || !k->bev ||
      (k->state != SVC_CONNECTING && k->state != SVC_OPEN))
    return;
  if (len)
    bufferevent_write(k->bev, data, len);
  rc->bytes_in += len;
  svc_check_recv_pressure(k);
  if (!rc->closed && k->state == SVC_OPEN && k->paused)
    svc_pump(k, false);
}

void
client_hs_svc_stream_event(client_hs_svc_circ_t *rc,
                           const relay_stream_event_t *ev)
{
  if (!rc || rc->closed || !ev)
    return;
  svc_conn_t *k;
  switch (ev->type) {
  case RELAY_STREAM_EV_BEGIN:
    svc_on_begin(rc, ev);
    return;
  case RELAY_STREAM_EV_BEGIN_DIR:
    log_info_rl(60, "BEGIN_DIR on an onion service circuit: refused");
    svc_end_unattached(rc, ev->stream_id, RELAY_END_NOTDIRECTORY);
    return;
  case RELAY_STREAM_EV_RESOLVE:
    log_info_rl(60, "RESOLVE on an onion service circuit: refused");
    svc_on_resolve(rc, ev->stream_id);
    return;
  case RELAY_STREAM_EV_DATA:
    client_hs_svc_stream_data(rc, ev->stream_id, ev->data, ev->len);
    return;
  case RELAY_STREAM_EV_DRAINED:
    /* Room in the stream's queue again: read the target on. */
    k = svc_find(rc, ev->stream_id);
    if (k)
      svc_pump(k, false);
    return;
  case RELAY_STREAM_EV_END:
    k = svc_find(rc, ev->stream_id);
    if (!k)
      return;
    if (k->state == SVC_CONNECTING) {
      svc_detach(k);
      svc_drop_socket(k);
    } else {
      svc_close_after_flush(k);
    }
    return;
  default:
    break;
  }
  /* ERROR (malformed, unexpected): the table ended the stream itself if
   * it had to; drop our side when the stream is gone. */
  k = svc_find(rc, ev->stream_id);
  relay_streams_t *t = svc_streams(rc);
  log_info_rl(60, "Onion service stream: relay command %u refused (%d)",
              ev->command, ev->error);
  if (k && t) {
    relay_stream_state_t st = relay_stream_state(t, ev->stream_id);
    if (st == RELAY_STREAM_NONE || st == RELAY_STREAM_CLOSING) {
      svc_detach(k);
      svc_drop_socket(k);
    }
  }
}

void
client_hs_svc_streams_closed(client_hs_svc_circ_t *rc)
{
  if (!rc)
    return;
  rc->closed = true;
  svc_conn_t *k = rc->conns;
  rc->conns = NULL;
  while (k) {
    svc_conn_t *next = k->next;
    if (k->bev)
      bufferevent_free(k->bev);
    al_free(k);
    k = next;
  }
  rc->n_streams = 0;
}

static void
svc_tick_one(svc_conn_t *k, uint64_t now)
{
  switch (k->state) {
  case SVC_CONNECTING:
    if (!k->started_msec)
      k->started_msec = now ? now : 1;
    else if (now - k->started_msec >= SVC_CONNECT_MSEC) {
      log_info_rl(60, "Onion service stream to virtual port %u: local "
                  "connection timed out", k->port);
      svc_kill(k, RELAY_END_TIMEOUT);
    }
    break;
  case SVC_OPEN:
    if (k->paused)
      svc_pump(k, false);
    break;
  case SVC_CLOSING:
    if (!k->closing_msec)
      k->closing_msec = now ? now : 1;
    else if (now - k->closing_msec >= SVC_CLOSING_MSEC)
      svc_drop_socket(k);
    break;
  default:
    break;
  }
}

void
client_hs_svc_streams_tick(client_hs_svc_circ_t *rc, uint64_t now_msec)
{
  if (!rc || rc->closed)
    return;
  /* New connections go to the head: no connection is unlinked while the
   * list is walked (only below), and rc->closed stops the walk. */
  for (svc_conn_t *k = rc->conns; k && !rc->closed; k = k->next)
    svc_tick_one(k, now_msec);
  if (rc->closed)
    return;
  svc_conn_t **pp = &rc->conns;
  while (*pp) {
    svc_conn_t *k = *pp;
    if (k->state == SVC_DEAD) {
      *pp = k->next;
      al_free(k);
    } else {
      pp = &k->next;
    }
  }
}
