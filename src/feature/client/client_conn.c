/* client_conn.c -- application connections on SocksPort / HTTPTunnelPort
 * connections (tor(1) SocksPort, HTTPTunnelPort, SocksTimeout,
 * CircuitStreamTimeout; socks-extensions.txt; RFC 1928, 1929; RFC 9110
 * 9.3.6 CONNECT): read the request with the sans-IO parsers, wait for a
 * usable circuit, open the stream (tor-spec 6.2 BEGIN, 6.4 RESOLVE), answer
 * the application when CONNECTED / RESOLVED / END arrives (6.3 reasons;
 * retry on another circuit where tor(1) would), then relay bytes both ways
 * with back-pressure on the application side.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define LOG_MODULE "client"
#include "allium/core/policy/policy.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_st.h"

#define CLIENT_READ_HIWAT (64 * 1024)
#define CLIENT_CLOSING_MSEC 10000

static void conn_try_attach(client_conn_t *k);
static void conn_check_recv_pressure(client_conn_t *k);

/* ---------------------------------------------------------------- */
/* Closing */

static bool
conn_attached(const client_conn_t *k)
{
  return k->circ && k->stream_id;
}

/* Forget the stream (the caller ends it or it is gone already). */
static void
conn_detach(client_conn_t *k, uint16_t *id_out, client_circ_t **circ_out)
{
  if (id_out)
    *id_out = k->stream_id;
  if (circ_out)
    *circ_out = k->circ;
  if (k->circ && k->circ->n_streams)
    k->circ->n_streams--;
  if (k->circ && k->circ->last_conn == k)
    k->circ->last_conn = NULL;
  if (k->circ && k->circ->conns && k->stream_id &&
      hmap_get(k->circ->conns, &k->stream_id) == k)
    (void)hmap_remove(k->circ->conns, &k->stream_id);
  k->circ = NULL;
  k->stream_id = 0;
}

/* Detach and send END(reason) if the stream still exists. */
static void
conn_end_stream(client_conn_t *k, uint8_t reason)
{
  if (!conn_attached(k)) {
    conn_detach(k, NULL, NULL);
    return;
  }
  uint16_t id;
  client_circ_t *circ;
  conn_detach(k, &id, &circ);
  if (circ->closed)
    return;
  relay_streams_t *t = chanmgr_streams(k->c->cm, circ->handle);
  if (t && relay_stream_state(t, id) != RELAY_STREAM_NONE &&
      relay_stream_state(t, id) != RELAY_STREAM_CLOSING) {
    relay_stream_end(t, id, reason);
    chanmgr_flush(k->c->cm, circ->handle);
  }
}

/* Close at once; the struct is freed at the next tick. */
static void
conn_kill(client_conn_t *k)
{
  if (k->state == CONN_DEAD)
    return;
  client_ctl_resolve_answer(k, NULL, 0);   /* RESOLVE not answered: failed */
  uint8_t reason = k->state == CONN_OPEN ? RELAY_END_DONE : RELAY_END_MISC;
  if (k->ctl_new) {
    k->ctl_new = false;
    client_ctl_stream_event(k, "CLOSED", k->ctl_reason ? k->ctl_reason
                            : k->state == CONN_CLOSING ? RELAY_END_DONE
                            : reason);
  }
  k->state = CONN_DEAD;
  conn_end_stream(k, reason);
  if (k->bev)
    bufferevent_free(k->bev);
  k->bev = NULL;
  socks_state_free(k->socks);
  http_connect_free(k->hc);
  client_iso_clear(&k->iso);
  if (k->l->n_conns > 0)
    k->l->n_conns--;
}

/* Send what is buffered for the app, then close. */
static void
conn_close_after_flush(client_conn_t *k)
{
  if (k->state == CONN_DEAD)
    return;
  conn_end_stream(k, RELAY_END_DONE);
  if (k->state == CONN_DEAD)
    return;
  k->state = CONN_CLOSING;
  k->closing_msec = client_now_msec();
  if (!k->bev || evbuffer_get_length(bufferevent_get_output(k->bev)) == 0) {
    conn_kill(k);
    return;
  }
  bufferevent_disable(k->bev, EV_READ);
}

static void
conn_write(client_conn_t *k, const void *data, size_t len)
{
  if (k->bev && len)
    bufferevent_write(k->bev, data, len);
}

/* A SOCKS reply with a SOCKS5 status (mapped for SOCKS4). */
static void
conn_socks_reply(client_conn_t *k, uint8_t status5, const socks_addr_t *bound)
{
  uint8_t buf[300];
  int n;
  if (k->socks_version == 4)
    n = socks_reply_encode(4, socks4_status_from_socks5(status5),
                           bound && bound->atyp == SOCKS_ATYP_IPV4 ? bound
                                                                   : NULL,
                           buf, sizeof(buf));
  else
    n = socks_reply_encode(5, status5, bound, buf, sizeof(buf));
  if (n > 0)
    conn_write(k, buf, (size_t)n);
}

/* Fail the request: SOCKS status, or the HTTP answer for reason. */
static void
conn_fail(client_conn_t *k, uint8_t status5, uint8_t reason)
{
  log_info_rl(60, "Stream %llu failed (END reason %u, reply %u)",
              (unsigned long long)k->num, reason, status5);
  if (k->ctl_new && k->state != CONN_OPEN && k->state != CONN_CLOSING) {
    k->ctl_reason = reason ? reason : RELAY_END_MISC;
    client_ctl_stream_event(k, "FAILED", k->ctl_reason);
  }
  if (k->http) {
    const char *resp = http_connect_failure_response(reason, NULL);
    conn_write(k, resp, strlen(resp));
  } else {
    conn_socks_reply(k, status5, NULL);
  }
  conn_close_after_flush(k);
}

static void
conn_fail_reason(client_conn_t *k, uint8_t reason)
{
  conn_fail(k, client_end_reason_socks5(reason), reason);
}

/* For client_conn_req.c (client_st.h). */
void
client_conn_write(client_conn_t *k, const void *data, size_t len)
{
  conn_write(k, data, len);
}

void
client_conn_socks_reply(client_conn_t *k, uint8_t status5,
                        const socks_addr_t *bound)
{
  conn_socks_reply(k, status5, bound);
}

void
client_conn_fail(client_conn_t *k, uint8_t status5, uint8_t reason)
{
  conn_fail(k, status5, reason);
}

void
client_conn_close_after_flush(client_conn_t *k)
{
  conn_close_after_flush(k);
}

/* ---------------------------------------------------------------- */
/* Circuit choice and stream start */

static bool
conn_avoids(const client_conn_t *k, const client_circ_t *circ)
{
  for (size_t i = 0; i < k->n_avoid; i++)
    if (k->avoid[i] == circ->handle)
      return true;
  return false;
}

static void
conn_add_avoid(client_conn_t *k, const client_circ_t *circ)
{
  if (!circ)
    return;
  if (k->n_avoid == CLIENT_AVOID_MAX) {
    memmove(k->avoid, k->avoid + 1, (CLIENT_AVOID_MAX - 1) * sizeof(uint64_t));
    k->n_avoid--;
  }
  k->avoid[k->n_avoid++] = circ->handle;
}

/* A joined rendezvous circuit (k is for its service): no exit policy; the
 * same lifetime and isolation rules as exit circuits. */
static client_attach_verdict_t
conn_hs_circ_verdict(const client_conn_t *k, const client_circ_t *circ,
                     uint64_t now)
{
  if (circ->closed || circ->no_new_streams)
    return CLIENT_ATTACH_CLOSED;
  if (!circ->built)
    return CLIENT_ATTACH_NOT_BUILT;
  if (now >= circ->first_use_msec &&
      now - circ->first_use_msec >= (uint64_t)k->c->max_dirtiness_sec * 1000)
    return CLIENT_ATTACH_DIRTY;
  if (circ->has_iso &&
      !proxy_iso_circ_may_add(&circ->iso.a, &circ->iso_state, &k->iso.a))
    return CLIENT_ATTACH_ISOLATION;
  return CLIENT_ATTACH_OK;
}

static client_attach_verdict_t
conn_circ_verdict(const client_conn_t *k, const client_circ_t *circ,
                  uint64_t now)
{
  if (circ->hs != k->onion ||
      (k->onion && memcmp(circ->hs_pk.pubkey, k->onion_pk.pubkey, 32) != 0))
    return CLIENT_ATTACH_POLICY;
  if (circ->hs)
    return conn_hs_circ_verdict(k, circ, now);
  if (circ->ctl_controller)    /* only ATTACHSTREAM puts streams there */
    return CLIENT_ATTACH_POLICY;
  client_circ_view_t v;
  v.built = circ->built;
  v.closed = circ->closed || circ->no_new_streams;
  v.exit = client_circ_exit_node(k->c, circ);
  v.first_use_msec = circ->first_use_msec;
  v.iso = circ->has_iso ? &circ->iso.a : NULL;
  v.iso_state = &circ->iso_state;
  return client_circ_may_attach(&v, &k->dest, k->port, &k->iso.a, now,
                                k->c->max_dirtiness_sec);
}

/* Send the optimistic data: what the app sent after its request. */
static void
conn_send_optimistic(client_conn_t *k, relay_streams_t *t)
{
  struct evbuffer *in = bufferevent_get_input(k->bev);
  size_t n = evbuffer_get_length(in);
  if (n > CLIENT_OPTIMISTIC_MAX)
    n = CLIENT_OPTIMISTIC_MAX;
  k->optimistic = 0;
  if (!n)
    return;
  const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
  if (data && relay_stream_write(t, k->stream_id, data, n) == 0)
    k->optimistic = n;
}

static void
conn_start_stream(client_conn_t *k, client_circ_t *circ)
{
  client_t *c = k->c;
  relay_streams_t *t = chanmgr_streams(c->cm, circ->handle);
  if (!t) {
    conn_add_avoid(k, circ);
    return;
  }
  uint16_t sid = 0;
  int r;
  if (k->command == SOCKS_CMD_CONNECT)
    /* rend-spec-v3 4.2 / tor: ":port" at an onion service */
    r = relay_stream_begin(t, circ->hs ? "" : k->host, k->port,
                           client_begin_flags(k->l->cfg.flags), &sid);
  else
    r = relay_stream_resolve(t, k->host, &sid);
  if (r == RELAY_STREAM_ERR_ARG) {
    conn_fail(k, SOCKS5_GENERAL_FAILURE, RELAY_END_MISC);   /* bad target */
    return;
  }
  if (r != 0) {
    log_info_rl(60, "Could not open a stream on circuit %llu (%d)",
                (unsigned long long)circ->handle, r);
    conn_add_avoid(k, circ);
    return;
  }
  uint64_t now = client_now_msec();
  log_info("Attaching stream %llu (port %u) to circuit %llu",
           (unsigned long long)k->num, k->port,
           (unsigned long long)circ->handle);
  k->circ = circ;
  k->stream_id = sid;
  if (!circ->conns)
    circ->conns = hmap_new(sizeof(uint16_t));
  (void)hmap_put(circ->conns, &k->stream_id, k, NULL);
  k->attempts++;
  k->attempt_msec = now;
  k->state = k->command == SOCKS_CMD_CONNECT ? CONN_CONNECTING
                                             : CONN_RESOLVING;
  circ->n_streams++;
  if (!circ->first_use_msec)
    circ->first_use_msec = now ? now : 1;
  if (!circ->has_iso) {
    client_iso_copy(&circ->iso, &k->iso.a);
    circ->has_iso = true;
  }
  proxy_iso_circ_add(&circ->iso.a, &circ->iso_state, &k->iso.a);
  if (k->command == SOCKS_CMD_CONNECT)
    conn_send_optimistic(k, t);
  client_ctl_stream_event(k, k->command == SOCKS_CMD_CONNECT ? "SENTCONNECT"
                                                             : "SENTRESOLVE",
                          0);
  chanmgr_flush(c->cm, circ->handle);
}

/* A circuit still building that may serve k when done. */
static bool
conn_has_building_candidate(const client_conn_t *k)
{
  if (k->launched && !k->launched->closed)
    return true;
  for (const client_circ_t *x = k->c->circs; x; x = x->next) {
    if (x->closed || x->built || !x->preemptive || conn_avoids(k, x))
      continue;
    if (client_exit_allows(client_circ_exit_node(k->c, x), &k->dest,
                           k->port))
      return true;
  }
  return false;
}

static void
conn_try_attach(client_conn_t *k)
{
  if (k->state != CONN_WAIT_CIRC)
    return;
  client_t *c = k->c;
  if (c->leave_unattached && !k->onion && !k->ctl_auto)
    return;   /* __LeaveStreamsUnattached: left for ATTACHSTREAM */
  uint64_t now = client_now_msec();
  if (now < k->retry_after_msec)
    return;
  client_circ_t *best = NULL;
  for (client_circ_t *x = c->circs; x; x = x->next) {
    if (conn_avoids(k, x) || conn_circ_verdict(k, x, now) != CLIENT_ATTACH_OK)
      continue;
    /* Prefer a circuit in use (keeps clean ones for new isolation). */
    if (!best || (x->first_use_msec && !best->first_use_msec))
      best = x;
  }
  if (best) {
    conn_start_stream(k, best);
    return;
  }
  if (k->onion) {
    client_hs_want(k);
    return;
  }
  if (!c->enough_dirinfo || conn_has_building_candidate(k) ||
      now < k->next_launch_msec)
    return;
  client_launch_t w = { k->port, &k->dest, false, false };
  client_circ_t *circ = client_circ_launch(c, &w);
  if (circ)
    k->launched = circ;
  else
    k->next_launch_msec = now + 1000;
}

void
client_conn_try_attach(client_conn_t *k)
{
  conn_try_attach(k);
}

void
client_attach_waiting(client_t *c)
{
  if (c->in_attach)
    return;
  c->in_attach = true;
  for (client_conn_t *k = c->conns; k; k = k->next)
    if (k->state == CONN_WAIT_CIRC)
      conn_try_attach(k);
  c->in_attach = false;
}

/* ---------------------------------------------------------------- */
/* Stream events */

/* The stream is gone before CONNECTED / RESOLVED: retry or report. */
static void
conn_attempt_failed(client_conn_t *k, const client_circ_t *circ,
                    uint8_t reason)
{
  conn_add_avoid(k, circ);
  k->last_reason = reason;
  k->optimistic = 0;
  uint64_t now = client_now_msec();
  bool time_left = now - k->request_msec < k->c->socks_timeout_msec;
  if (client_end_reason_retriable(reason) &&
      k->attempts < CLIENT_MAX_ATTEMPTS && time_left) {
    /* Spaced out (250 ms, 500 ms, 1 s): an exit that refused because it
     * does not know the middle relay yet (a fresh consensus) or was
     * briefly overloaded gets a moment. */
    unsigned shift = k->attempts > 1 ? (unsigned)(k->attempts - 1) : 0;
    k->retry_after_msec = now + (250u << (shift < 4 ? shift : 4));
    log_info_rl(60, "Stream %llu: retrying on another circuit in %llu ms (END "
                "reason %u)", (unsigned long long)k->num,
                (unsigned long long)(k->retry_after_msec - now), reason);
    k->state = CONN_WAIT_CIRC;
    k->launched = NULL;
    k->ctl_auto = false;   /* __LeaveStreamsUnattached: back to the controller */
    client_ctl_stream_event(k, "DETACHED", reason);
    k->ctl_remote = false;
    return;
  }
  conn_fail_reason(k, reason);
}

static void
conn_pump_app(client_conn_t *k);
static void
conn_pump_app_(client_conn_t *k, bool force);

static void
conn_on_connected(client_conn_t *k, const relay_stream_event_t *ev)
{
  if (k->state != CONN_CONNECTING)
    return;
  k->state = CONN_OPEN;
  struct evbuffer *in = bufferevent_get_input(k->bev);
  evbuffer_drain(in, k->optimistic);
  k->bytes_out += k->optimistic;
  k->c->bytes_out += k->optimistic;
  k->optimistic = 0;
  log_info("Stream %llu connected", (unsigned long long)k->num);
  client_ctl_stream_event(k, "SUCCEEDED", 0);
  if (k->http) {
    const char *resp = http_connect_success_response();
    conn_write(k, resp, strlen(resp));
  } else {
    socks_addr_t bound;
    memset(&bound, 0, sizeof(bound));
    if (ev->addr.type == CELL_ADDR_IPV4) {
      bound.atyp = SOCKS_ATYP_IPV4;
      memcpy(bound.addr, ev->addr.addr, 4);
    } else if (ev->addr.type == CELL_ADDR_IPV6) {
      bound.atyp = SOCKS_ATYP_IPV6;
      memcpy(bound.addr, ev->addr.addr, 16);
    }
    conn_socks_reply(k, SOCKS5_SUCCEEDED, bound.atyp ? &bound : NULL);
  }
  conn_pump_app(k);
}

static void
conn_on_resolved(client_conn_t *k, const relay_stream_event_t *ev)
{
  if (k->state != CONN_RESOLVING)
    return;
  uint8_t buf[300];
  int n = client_resolved_reply(k->socks_version, k->command, ev->data,
                                ev->len, buf, sizeof(buf));
  client_ctl_resolve_answer(k, ev->data, ev->len);   /* RESOLVE: ADDRMAP */
  client_ctl_stream_event(k, "SUCCEEDED", 0);
  conn_detach(k, NULL, NULL);
  if (n > 0)
    conn_write(k, buf, (size_t)n);
  conn_close_after_flush(k);
}

/* The stream's connection: the last one found, else the circuit's map. */
static client_conn_t *
conn_find(client_t *c, client_circ_t *circ, uint16_t id)
{
  (void)c;
  client_conn_t *k = circ->last_conn;
  if (!k || k->stream_id != id)
    k = circ->conns ? hmap_get(circ->conns, &id) : NULL;
  if (!k || k->state == CONN_DEAD || k->circ != circ)
    return NULL;
  circ->last_conn = k;
  return k;
}

/* Exit -> app: cell buffer to the app's socket buffer (the one copy). */
static void
conn_on_data(client_conn_t *k, const uint8_t *data, size_t len)
{
  if (k->state != CONN_OPEN)
    return;
  conn_write(k, data, len);
  k->bytes_in += len;
  k->c->bytes_in += len;
  k->circ->bytes_in += len;
  conn_check_recv_pressure(k);
}

void
client_conn_stream_data(client_t *c, client_circ_t *circ, uint16_t stream_id,
                        const uint8_t *data, size_t len)
{
  client_conn_t *k = conn_find(c, circ, stream_id);
  if (!k)
    return;
  conn_on_data(k, data, len);
  if (k->state == CONN_OPEN && k->paused)
    conn_pump_app(k);
}

void
client_conn_stream_event(client_t *c, client_circ_t *circ,
                         const relay_stream_event_t *ev)
{
  client_conn_t *k = conn_find(c, circ, ev->stream_id);
  if (!k)
    return;
  switch (ev->type) {
  case RELAY_STREAM_EV_CONNECTED:
    conn_on_connected(k, ev);
    break;
  case RELAY_STREAM_EV_DATA:
    conn_on_data(k, ev->data, ev->len);
    break;
  case RELAY_STREAM_EV_RESOLVED:
    conn_on_resolved(k, ev);
    break;
  case RELAY_STREAM_EV_END:
    /* The control port: REASON=END for an END from the exit (DESTROY is
     * what the stream table reports when the circuit went away). */
    k->ctl_remote = ev->reason != RELAY_END_DESTROY;
    if (k->state == CONN_CONNECTING || k->state == CONN_RESOLVING) {
      conn_detach(k, NULL, NULL);
      conn_attempt_failed(k, circ, ev->reason);
    } else {
      k->ctl_reason = ev->reason ? ev->reason : RELAY_END_DONE;
      conn_detach(k, NULL, NULL);
      conn_close_after_flush(k);
    }
    break;
  case RELAY_STREAM_EV_DRAINED:
    break;   /* the queue has room again: pumped below */
  default:
    log_info_rl(60, "Stream %llu: unexpected relay message %u (%d)",
                (unsigned long long)k->num, ev->command, ev->error);
    break;
  }
  /* Data may have left the queues: resume a paused app. */
  if (k->state == CONN_OPEN && k->paused)
    conn_pump_app(k);
}

void
client_conns_circ_closed(client_t *c, client_circ_t *circ)
{
  for (client_conn_t *k = c->conns; k; k = k->next) {
    if (k->state == CONN_DEAD)
      continue;
    if (k->launched == circ) {
      k->launched = NULL;
      if (!circ->built)
        k->next_launch_msec = client_now_msec() + 1000;
    }
    if (k->circ != circ)
      continue;
    conn_detach(k, NULL, NULL);
    if (k->state == CONN_CONNECTING || k->state == CONN_RESOLVING)
      conn_attempt_failed(k, circ, RELAY_END_DESTROY);
    else
      conn_close_after_flush(k);
  }
}

/* ---------------------------------------------------------------- */
/* Application data */

/* Exit -> app: hold the stream's SENDMEs while more than CLIENT_RECV_HIGH
 * bytes wait for the app, send them once it is down to CLIENT_RECV_LOW
 * (the write callback fires there: see the watermark set at accept). */
static void
conn_check_recv_pressure(client_conn_t *k)
{
  if (!k->bev || !conn_attached(k))
    return;
  size_t queued = evbuffer_get_length(bufferevent_get_output(k->bev));
  bool pause = !k->recv_paused && queued > CLIENT_RECV_HIGH;
  bool resume = k->recv_paused && queued <= CLIENT_RECV_LOW;
  if (!pause && !resume)
    return;   /* the common case: no lookup */
  relay_streams_t *t = chanmgr_streams(k->c->cm, k->circ->handle);
  if (!t)
    return;
  if (pause) {
    k->recv_paused = true;
    (void)relay_stream_set_recv_paused(t, k->stream_id, true);
  } else {
    k->recv_paused = false;
    (void)relay_stream_set_recv_paused(t, k->stream_id, false);
    if (!k->circ->closed)
      chanmgr_flush(k->c->cm, k->circ->handle);
  }
}

/* App -> circuit, until the stream's queue is full (force: everything,
 * the app has closed). */
static void
conn_pump_app_(client_conn_t *k, bool force)
{
  if (k->state != CONN_OPEN || !conn_attached(k) || !k->bev)
    return;
  client_circ_t *circ = k->circ;
  relay_streams_t *t = chanmgr_streams(k->c->cm, circ->handle);
  if (!t)
    return;
  struct evbuffer *in = bufferevent_get_input(k->bev);
  size_t n;
  bool wrote = false;
  while ((n = evbuffer_get_length(in)) > 0) {
    if (!force && relay_stream_pending(t, k->stream_id) >= CLIENT_PAUSE_BYTES)
      break;
    if (n > 16384)
      n = 16384;
    const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
    if (!data || relay_stream_write(t, k->stream_id, data, n) != 0) {
      conn_kill(k);
      break;
    }
    evbuffer_drain(in, n);
    k->bytes_out += n;
    k->c->bytes_out += n;
    circ->bytes_out += n;
    wrote = true;
  }
  if (k->state == CONN_OPEN) {
    bool full = relay_stream_pending(t, k->stream_id) >= CLIENT_PAUSE_BYTES;
    if (full && !k->paused)
      bufferevent_disable(k->bev, EV_READ);
    else if (!full && k->paused)
      bufferevent_enable(k->bev, EV_READ);
    k->paused = full;
  }
  if (wrote && !circ->closed)
    chanmgr_flush(k->c->cm, circ->handle);
}

static void
conn_pump_app(client_conn_t *k)
{
  conn_pump_app_(k, false);
}

/* Feed the handshake parser with what the app sent. */
static void
conn_handshake(client_conn_t *k)
{
  struct evbuffer *in = bufferevent_get_input(k->bev);
  size_t n;
  while (k->state == CONN_HANDSHAKE && (n = evbuffer_get_length(in)) > 0) {
    if (n > 1024)
      n = 1024;
    const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
    if (!data)
      break;
    if (k->first_byte < 0)
      k->first_byte = data[0];
    size_t used = 0;
    if (k->http) {
      http_connect_result_t r = http_connect_feed(k->hc, data, n, &used);
      evbuffer_drain(in, used);
      if (r == HTTP_CONNECT_REQUEST_READY) {
        client_conn_http_request(k);
      } else if (r == HTTP_CONNECT_ERROR) {
        const char *resp = http_connect_response(k->hc, NULL);
        if (resp)
          conn_write(k, resp, strlen(resp));
        conn_close_after_flush(k);
      } else if (!used) {
        break;
      }
      continue;
    }
    socks_result_t r = socks_feed(k->socks, data, n, &used);
    evbuffer_drain(in, used);
    size_t rlen = 0;
    const uint8_t *reply;
    if (r == SOCKS_REPLY || r == SOCKS_ERROR) {
      reply = socks_state_reply(k->socks, &rlen);
      conn_write(k, reply, rlen);
    }
    if (r == SOCKS_REQUEST_READY)
      client_conn_socks_request(k);
    else if (r == SOCKS_ERROR) {
      log_info_rl(60, "Stream %llu: bad SOCKS handshake (%d)",
                  (unsigned long long)k->num, (int)socks_state_error(k->socks));
      conn_close_after_flush(k);
    } else if (!used)
      break;
  }
}

/* ---------------------------------------------------------------- */
/* bufferevent callbacks */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
  client_conn_t *k = arg;
  switch (k->state) {
  case CONN_HANDSHAKE:
    conn_handshake(k);
    break;
  case CONN_OPEN:
    conn_pump_app(k);
    break;
  case CONN_CLOSING:
    evbuffer_drain(bufferevent_get_input(bev),
                   evbuffer_get_length(bufferevent_get_input(bev)));
    break;
  default:
    break;   /* kept for optimistic data / after CONNECTED */
  }
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
  client_conn_t *k = arg;
  if (k->recv_paused)
    conn_check_recv_pressure(k);
  if (k->state == CONN_CLOSING &&
      evbuffer_get_length(bufferevent_get_output(bev)) == 0)
    conn_kill(k);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
  (void)bev;
  client_conn_t *k = arg;
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
    return;
  /* Send what is left (bounded by the read high-water mark), then
   * END(DONE) once it is out. */
  if (k->state == CONN_OPEN)
    conn_pump_app_(k, true);
  conn_kill(k);
}

/* ---------------------------------------------------------------- */
/* Accepting */

int
client_conn_evict_handshake(client_t *c, uint64_t min_age_msec)
{
  /* New connections go to the head: the last match is the oldest. */
  client_conn_t *victim = NULL;
  for (client_conn_t *k = c->conns; k; k = k->next)
    if (k->state == CONN_HANDSHAKE)
      victim = k;
  if (!victim || client_now_msec() - victim->accepted_msec < min_age_msec)
    return 0;
  log_info_rl(60, "Application connection limit (%d) reached: closing the "
              "oldest one still in its handshake.", c->conn_limit);
  conn_kill(victim);
  return 1;
}

void
client_conn_accepted(client_listener_t *l, int fd,
                     const struct sockaddr *sa, int socklen)
{
  client_t *c = l->c;
  if (client_listeners_n_conns(c) >= c->conn_limit && !client_conn_evict_handshake(c, 0)) {
    log_notice_rl(60, "Too many application connections (%d, all past "
                  "their handshake); refusing new ones.", c->conn_limit);
    evutil_closesocket(fd);
    return;
  }
  struct bufferevent *bev = bufferevent_socket_new(c->base, fd,
                                                   BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    evutil_closesocket(fd);
    return;
  }
  client_conn_t *k = al_calloc(1, sizeof(*k));
  k->c = c;
  k->l = l;
  k->num = c->next_conn_num++;
  k->bev = bev;
  k->first_byte = -1;
  k->http = l->cfg.kind == PROXY_PORT_HTTP_TUNNEL;
  k->accepted_msec = client_now_msec();
  if (sa && sa->sa_family == AF_INET &&
      (size_t)socklen >= sizeof(struct sockaddr_in)) {
    k->src_port = ntohs(((const struct sockaddr_in *)(const void *)sa)
                        ->sin_port);
    k->iso.a.client_addr.family = 4;
    memcpy(k->iso.a.client_addr.addr,
           &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
  } else if (sa && sa->sa_family == AF_INET6 &&
             (size_t)socklen >= sizeof(struct sockaddr_in6)) {
    k->src_port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)
                        ->sin6_port);
    k->iso.a.client_addr.family = 6;
    memcpy(k->iso.a.client_addr.addr,
           &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
  }
  if (c->socks_policy && k->iso.a.client_addr.family &&
      policy_eval(c->socks_policy, &k->iso.a.client_addr, 1) ==
      POLICY_RESULT_REJECTED) {
    /* tor(1) SocksPolicy, for SocksPort and HTTPTunnelPort alike: refused
     * before any byte is read. */
    char abuf[64] = "?";
    (void)policy_addr_format(&k->iso.a.client_addr, abuf, sizeof(abuf));
    log_notice_rl(60, "Denying %s connection from untrusted address %s "
                  "(SocksPolicy)", k->http ? "HTTP tunnel" : "socks",
                  safe_str(abuf));
    bufferevent_free(bev);
    al_free(k);
    return;
  }
  if (k->http) {
    k->hc = http_connect_new();
  } else {
    socks_config_t sc;
    socks_config_default(&sc);
    sc.prefer_noauth = (l->cfg.flags & PROXY_PF_PREFER_SOCKS_NOAUTH) != 0;
    k->socks = socks_state_new(&sc);
  }
  l->n_conns++;
  k->next = c->conns;
  if (c->conns)
    c->conns->prev = k;
  c->conns = k;
  bufferevent_setwatermark(bev, EV_READ, 0, CLIENT_READ_HIWAT);
  bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, k);
  bufferevent_setwatermark(bev, EV_WRITE, CLIENT_RECV_LOW, 0);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ---------------------------------------------------------------- */
/* Timers */

static void
conn_handshake_timeout(client_conn_t *k)
{
  log_info_rl(60, "Stream %llu: handshake not finished in time",
              (unsigned long long)k->num);
  if (k->http) {
    static const char resp[] = "HTTP/1.0 408 Request Timeout\r\n\r\n";
    conn_write(k, resp, sizeof(resp) - 1);
  } else if (k->first_byte == 4 || k->first_byte == 5) {
    k->socks_version = (uint8_t)k->first_byte;
    conn_socks_reply(k, SOCKS5_GENERAL_FAILURE, NULL);
  }
  conn_close_after_flush(k);
}

static void
conn_tick_one(client_conn_t *k, uint64_t now)
{
  client_t *c = k->c;
  switch (k->state) {
  case CONN_HANDSHAKE:
    if (now - k->accepted_msec >= c->handshake_timeout_msec)
      conn_handshake_timeout(k);
    break;
  case CONN_WAIT_CIRC:
    if (now - k->request_msec >= c->socks_timeout_msec) {
      log_info_rl(60, "Stream %llu: no usable circuit in time",
                  (unsigned long long)k->num);
      conn_fail_reason(k, k->last_reason ? k->last_reason
                                         : RELAY_END_TIMEOUT);
    }
    break;
  case CONN_WAIT_HS:
    if (now - k->request_msec >= c->socks_timeout_msec) {
      log_info_rl(60, "Stream %llu: onion service not reached in time",
                  (unsigned long long)k->num);
      client_conn_fail_onion(k, client_hs_timeout_code(k));
    }
    break;
  case CONN_CONNECTING:
  case CONN_RESOLVING:
    if (now - k->attempt_msec >= c->stream_timeout_msec) {
      log_info_rl(60, "Stream %llu: no answer on circuit %llu in time",
                  (unsigned long long)k->num,
                  (unsigned long long)(k->circ ? k->circ->handle : 0));
      client_circ_t *circ = k->circ;
      conn_end_stream(k, RELAY_END_TIMEOUT);
      conn_attempt_failed(k, circ, RELAY_END_TIMEOUT);
    }
    break;
  case CONN_OPEN:
    if (k->paused)
      conn_pump_app(k);
    break;
  case CONN_CLOSING:
    if (now - k->closing_msec >= CLIENT_CLOSING_MSEC)
      conn_kill(k);
    break;
  default:
    break;
  }
}

void
client_conns_tick(client_t *c)
{
  uint64_t now = client_now_msec();
  for (client_conn_t *k = c->conns; k; k = k->next)
    if (k->state != CONN_DEAD)
      conn_tick_one(k, now);
  /* Free the dead. */
  client_conn_t *k = c->conns;
  while (k) {
    client_conn_t *next = k->next;
    if (k->state == CONN_DEAD) {
      if (k->prev)
        k->prev->next = next;
      else
        c->conns = next;
      if (next)
        next->prev = k->prev;
      conn_detach(k, NULL, NULL);
      al_free(k);
    }
    k = next;
  }
}

void
client_conn_ctl_close(client_conn_t *k, uint8_t reason)
{
  if (k->state == CONN_DEAD || k->state == CONN_CLOSING)
    return;
  conn_end_stream(k, reason);
  if (k->state == CONN_OPEN)
    conn_close_after_flush(k);
  else
    conn_fail(k, SOCKS5_GENERAL_FAILURE, reason);
}

int
client_conn_ctl_attach(client_conn_t *k, client_circ_t *circ)
{
  if (k->state == CONN_CONNECTING || k->state == CONN_RESOLVING) {
    conn_end_stream(k, RELAY_END_MISC);   /* tor: it leaves its circuit */
    k->state = CONN_WAIT_CIRC;
    k->optimistic = 0;
  }
  if (k->state != CONN_WAIT_CIRC)
    return -1;
  k->ctl_auto = !circ;
  k->retry_after_msec = 0;
  if (circ)
    conn_start_stream(k, circ);
  else
    conn_try_attach(k);
  return !circ || k->circ == circ ? 0 : -1;
}

void
client_conn_close_all(client_t *c)
{
  for (client_conn_t *k = c->conns; k; k = k->next)
    conn_kill(k);
  client_conn_t *k = c->conns;
  while (k) {
    client_conn_t *next = k->next;
    conn_detach(k, NULL, NULL);
    al_free(k);
    k = next;
  }
  c->conns = NULL;
}
