/* stream.c -- per-circuit stream table: ids, states, BEGIN / BEGIN_DIR /
 * CONNECTED / DATA / END / RESOLVE / RESOLVED and stream-level SENDMEs
 * (tor-spec 6.2, 6.2.1, 6.3, 6.4, 7.4), with half-closed streams; under
 * congestion control no stream windows but XON / XOFF (proposal 324 4.1).
 * See include/allium/core/stream/stream.h.
 *
 * Constant-time cell path: streams are found by id in a hash map; only
 * streams with queued bytes or a pending END are visited when packaging
 * (the ready list); a write while nothing is queued packages straight
 * from the caller's bytes (the one copy is into the cell); incoming DATA
 * goes to the data sink, when one is set, without a copy. */
#define LOG_MODULE "stream"
#include "allium/core/stream/stream.h"
#include "allium/core/stream/flow.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/core/stream/relay_queue.h"
#include "allium/core/cell/cell.h"
#include "allium/core/circuit/congestion_codec.h"
#include "allium/lib/container/dlist.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

typedef struct relay_stream_t {
  uint16_t id;
  relay_stream_state_t state;
  relay_flow_t flow;
  uint8_t *obuf;            /**< queued outgoing bytes [ooff, olen) */
  size_t ooff, olen, ocap;
  uint64_t oldest_msec;     /**< when the queue last went non-empty; 0 */
  bool end_pending;
  uint8_t end_reason;
  cell_addr_t end_addr;     /**< EXITPOLICY: the refused address, or NONE */
  uint32_t end_ttl;
  uint64_t closed_at;
  bool recv_paused;         /**< the reader is full: hold our SENDMEs */
  unsigned sendmes_owed;    /**< SENDMEs held back while paused */
  bool xoff_recv;           /**< flow control: the peer sent XOFF */
  bool xoff_sent;           /**< flow control: we sent XOFF */
  bool drain_wanted;        /**< a write left >= drain_mark queued */
  size_t idx;               /**< index in t->s */
  dlist_node_t ready;       /**< in t->ready: bytes queued or END pending */
} relay_stream_t;

struct relay_streams_t {
  relay_stream_role_t role;
  relay_stream_sender_t sender;
  relay_stream_t **s;
  size_t n, cap;
  hmap_t *by_id;            /**< the streams of s, by id (2-byte key) */
  relay_stream_t *last;     /**< the last one found */
  dlist_t ready;            /**< streams to package, round robin */
  size_t n_ready;
  size_t queued;            /**< bytes queued over all streams */
  uint16_t next_id;
  uint64_t now;
  relay_queue_t events;
  relay_stream_data_sink_t data_sink;
  void *data_sink_arg;
  bool flowctrl;            /**< congestion control: XON/XOFF, no windows */
  size_t drain_mark;        /**< 0: no DRAINED events */
};

#define STREAM_OF(node) DLIST_ENTRY(node, relay_stream_t, ready)

/* Keep s on the ready list exactly while it has something to package. */
static void
stream_update_ready(relay_streams_t *t, relay_stream_t *s)
{
  bool want = s->state != RELAY_STREAM_CLOSING &&
              (s->olen > s->ooff || s->end_pending);
  bool linked = dlist_node_is_linked(&s->ready);
  if (want && !linked) {
    dlist_push_tail(&t->ready, &s->ready);
    t->n_ready++;
  } else if (!want && linked) {
    dlist_remove(&s->ready);
    t->n_ready--;
  }
}

relay_streams_t *
relay_streams_new(relay_stream_role_t role, const relay_stream_sender_t *sender)
{
  relay_streams_t *t = al_calloc(1, sizeof(*t));
  t->role = role;
  t->sender = *sender;
  t->next_id = 1;
  t->by_id = hmap_new(sizeof(uint16_t));
  dlist_init(&t->ready);
  relay_queue_init(&t->events, sizeof(relay_stream_event_t));
  return t;
}

int
relay_streams_set_role(relay_streams_t *t, relay_stream_role_t role)
{
  if (!t || (role != RELAY_STREAM_ROLE_CLIENT &&
             role != RELAY_STREAM_ROLE_EXIT))
    return RELAY_STREAM_ERR_ARG;
  if (hmap_count(t->by_id) != 0 || t->next_id != 1 ||
      relay_queue_len(&t->events) != 0)
    return RELAY_STREAM_ERR_STATE;
  t->role = role;
  return 0;
}

void
relay_streams_set_data_sink(relay_streams_t *t, relay_stream_data_sink_t fn,
                            void *arg)
{
  t->data_sink = fn;
  t->data_sink_arg = fn ? arg : NULL;
}

bool
relay_streams_has_events(const relay_streams_t *t)
{
  return relay_queue_len(&t->events) > 0;
}

/* MaxMemInQueues: the bytes of s still queued leave the total. */
static void
stream_drop_queued(relay_streams_t *t, relay_stream_t *s)
{
  relay_mem_sub(s->olen - s->ooff);
  t->queued -= s->olen - s->ooff;
  s->ooff = s->olen = 0;
  s->oldest_msec = 0;
}

static void
stream_free(relay_streams_t *t, relay_stream_t *s)
{
  if (!s)
    return;
  stream_drop_queued(t, s);
  if (dlist_node_is_linked(&s->ready)) {
    dlist_remove(&s->ready);
    t->n_ready--;
  }
  if (s->obuf)
    al_free_secret(s->obuf, s->ocap);
  relay_flow_clear(&s->flow);
  al_free(s);
}

void
relay_streams_free_(relay_streams_t *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->n; i++)
    stream_free(t, t->s[i]);
  al_free(t->s);
  hmap_free(t->by_id);
  relay_queue_clear(&t->events);
  al_free(t);
}

/* The stream by id: the last one found first (no hashing while one
 * stream carries the data), then the map. */
static relay_stream_t *
stream_find(const relay_streams_t *t, uint16_t id, size_t *idx)
{
  relay_stream_t *s = t->last;
  if (!s || s->id != id) {
    s = hmap_get(t->by_id, &id);
    if (s)
      ((relay_streams_t *)t)->last = s;
  }
  if (s && idx)
    *idx = s->idx;
  return s;
}

static void
stream_remove(relay_streams_t *t, uint16_t id)
{
  size_t i;
  relay_stream_t *s = stream_find(t, id, &i);
  if (!s)
    return;
  (void)hmap_remove(t->by_id, &id);
  if (t->last == s)
    t->last = NULL;
  stream_free(t, s);
  t->n--;
  if (i < t->n) {
    t->s[i] = t->s[t->n];
    t->s[i]->idx = i;
  }
}

static relay_stream_t *
stream_add(relay_streams_t *t, uint16_t id, relay_stream_state_t state)
{
  if (t->n >= RELAY_STREAM_MAX)
    return NULL;
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 8;
    t->s = al_reallocarray(t->s, t->cap, sizeof(*t->s));
  }
  relay_stream_t *s = al_calloc(1, sizeof(*s));
  s->id = id;
  s->state = state;
  relay_flow_init_stream(&s->flow);
  dlist_init(&s->ready);
  s->idx = t->n;
  t->s[t->n++] = s;
  (void)hmap_put(t->by_id, &s->id, s, NULL);
  return s;
}

static void
push_event(relay_streams_t *t, relay_stream_event_t *ev)
{
  relay_queue_push(&t->events, ev);
  memwipe(ev, sizeof(*ev));
}

static void
emit_simple(relay_streams_t *t, relay_stream_event_type_t type, uint16_t id,
            uint8_t reason)
{
  relay_stream_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.stream_id = id;
  ev.reason = reason;
  push_event(t, &ev);
}

static void
emit_error(relay_streams_t *t, uint16_t id, uint8_t command, int err)
{
  relay_stream_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = RELAY_STREAM_EV_ERROR;
  ev.stream_id = id;
  ev.command = command;
  ev.error = err;
  push_event(t, &ev);
}

int
relay_streams_next_event(relay_streams_t *t, relay_stream_event_t *ev)
{
  return relay_queue_pop(&t->events, ev);
}

void
relay_streams_set_time(relay_streams_t *t, uint64_t now)
{
  t->now = now;
  for (size_t i = 0; i < t->n;) {
    relay_stream_t *s = t->s[i];
    if (s->state == RELAY_STREAM_CLOSING &&
        now >= s->closed_at + RELAY_STREAM_HALF_CLOSED_SECS) {
      stream_remove(t, s->id);
      continue;
    }
    i++;
  }
}

static int
send_msg(relay_streams_t *t, uint8_t cmd, uint16_t id, const uint8_t *body,
         size_t len)
{
  return t->sender.send(t->sender.ctx, cmd, id, body, len);
}

/* Send END now and make the stream half-closed. */
static void
stream_send_end(relay_streams_t *t, relay_stream_t *s, uint8_t reason)
{
  relay_end_t end;
  uint8_t body[RELAY_BODY_MAX];
  size_t blen = 0;
  memset(&end, 0, sizeof(end));
  end.reason = reason;
  end.ttl = 0xffffffffu;
  if (reason == RELAY_END_EXITPOLICY && s->end_addr.type != CELL_ADDR_NONE) {
    end.addr = s->end_addr;
    end.ttl = s->end_ttl;
  }
  if (relay_end_encode(&end, body, sizeof(body), &blen) == 0)
    (void)send_msg(t, RELAY_END, s->id, body, blen);
  s->state = RELAY_STREAM_CLOSING;
  s->end_pending = false;
  s->closed_at = t->now;
  stream_drop_queued(t, s);
  stream_update_ready(t, s);
}

/* ---- client operations ---- */

static int
alloc_id(relay_streams_t *t, uint16_t *id_out)
{
  if (t->role != RELAY_STREAM_ROLE_CLIENT)
    return RELAY_STREAM_ERR_STATE;
  if (t->n >= RELAY_STREAM_MAX)
    return RELAY_STREAM_ERR_FULL;
  for (unsigned tries = 0; tries < 65536; tries++) {
    uint16_t id = t->next_id++;
    if (t->next_id == 0)
      t->next_id = 1;
    if (id != 0 && !stream_find(t, id, NULL)) {
      *id_out = id;
      return 0;
    }
  }
  return RELAY_STREAM_ERR_FULL;
}

static int
open_with(relay_streams_t *t, uint8_t cmd, relay_stream_state_t state,
          const uint8_t *body, size_t blen, uint16_t *id_out)
{
  uint16_t id;
  int r = alloc_id(t, &id);
  if (r < 0)
    return r;
  if (!stream_add(t, id, state))
    return RELAY_STREAM_ERR_FULL;
  if (send_msg(t, cmd, id, body, blen) < 0) {
    stream_remove(t, id);
    return RELAY_STREAM_ERR_STATE;
  }
  *id_out = id;
  return 0;
}

int
relay_stream_begin(relay_streams_t *t, const char *host, uint16_t port,
                   uint32_t flags, uint16_t *id_out)
{
  relay_begin_t b;
  uint8_t body[RELAY_BODY_MAX];
  size_t blen;
  if (!host || strlen(host) >= sizeof(b.host) || port == 0)
    return RELAY_STREAM_ERR_ARG;
  memset(&b, 0, sizeof(b));
  memcpy(b.host, host, strlen(host) + 1);
  b.port = port;
  b.flags = flags;
  if (relay_begin_encode(&b, body, sizeof(body), &blen) < 0)
    return RELAY_STREAM_ERR_ARG;
  return open_with(t, RELAY_BEGIN, RELAY_STREAM_CONNECTING, body, blen, id_out);
}

int
relay_stream_begin_dir(relay_streams_t *t, uint16_t *id_out)
{
  return open_with(t, RELAY_BEGIN_DIR, RELAY_STREAM_CONNECTING, NULL, 0,
                   id_out);
}

int
relay_stream_resolve(relay_streams_t *t, const char *name, uint16_t *id_out)
{
  relay_resolve_t m;
  uint8_t body[RELAY_BODY_MAX];
  size_t blen;
  if (!name || !*name || strlen(name) >= sizeof(m.name))
    return RELAY_STREAM_ERR_ARG;
  memset(&m, 0, sizeof(m));
  memcpy(m.name, name, strlen(name) + 1);
  if (relay_resolve_encode(&m, body, sizeof(body), &blen) < 0)
    return RELAY_STREAM_ERR_ARG;
  return open_with(t, RELAY_RESOLVE, RELAY_STREAM_RESOLVING, body, blen,
                   id_out);
}

/* ---- exit operations ---- */

int
relay_stream_connected(relay_streams_t *t, uint16_t id,
                       const cell_addr_t *addr, uint32_t ttl)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  relay_connected_t c;
  uint8_t body[RELAY_BODY_MAX];
  size_t blen;
  if (t->role != RELAY_STREAM_ROLE_EXIT || !s ||
      s->state != RELAY_STREAM_CONNECTING)
    return RELAY_STREAM_ERR_STATE;
  memset(&c, 0, sizeof(c));
  if (addr)
    c.addr = *addr;
  c.ttl = ttl;
  if (relay_connected_encode(&c, body, sizeof(body), &blen) < 0)
    return RELAY_STREAM_ERR_ARG;
  if (send_msg(t, RELAY_CONNECTED, id, body, blen) < 0)
    return RELAY_STREAM_ERR_STATE;
  s->state = RELAY_STREAM_OPEN;
  relay_streams_flush(t);
  return 0;
}

int
relay_stream_resolved(relay_streams_t *t, uint16_t id,
                      const relay_resolved_t *answers)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  uint8_t body[RELAY_BODY_MAX];
  size_t blen;
  if (t->role != RELAY_STREAM_ROLE_EXIT || !s ||
      s->state != RELAY_STREAM_RESOLVING)
    return RELAY_STREAM_ERR_STATE;
  if (relay_resolved_encode(answers, body, sizeof(body), &blen) < 0)
    return RELAY_STREAM_ERR_ARG;
  int r = send_msg(t, RELAY_RESOLVED, id, body, blen);
  stream_remove(t, id);
  return r < 0 ? RELAY_STREAM_ERR_STATE : 0;
}

/* ---- both ---- */

static int stream_package_bytes(relay_streams_t *t, relay_stream_t *s,
                                const uint8_t *p, size_t avail);

int
relay_stream_write(relay_streams_t *t, uint16_t id, const uint8_t *data,
                   size_t len)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  if (!s || s->end_pending ||
      (s->state != RELAY_STREAM_OPEN && s->state != RELAY_STREAM_CONNECTING))
    return RELAY_STREAM_ERR_STATE;
  if (len == 0)
    return 0;
  if (t->queued == 0 && s->state == RELAY_STREAM_OPEN) {
    /* Nothing queued on this circuit: package straight from data. */
    int n;
    while (len > 0 && (n = stream_package_bytes(t, s, data, len)) > 0) {
      data += n;
      len -= (size_t)n;
    }
    if (len == 0)
      return 0;
  }
  if (s->ooff > 0 && s->ooff == s->olen)
    s->ooff = s->olen = 0;
  if (len > SIZE_MAX / 2 - s->olen)
    return RELAY_STREAM_ERR_ARG;
  if (s->olen + len > s->ocap) {
    size_t ncap = s->ocap ? s->ocap : 4096;
    while (ncap < s->olen + len)
      ncap *= 2;
    s->obuf = al_realloc(s->obuf, ncap);
    s->ocap = ncap;
  }
  if (s->olen == s->ooff)
    s->oldest_msec = relay_mem_now_msec();
  memcpy(s->obuf + s->olen, data, len);
  s->olen += len;
  t->queued += len;
  relay_mem_add(len);
  if (t->drain_mark && s->olen - s->ooff >= t->drain_mark)
    s->drain_wanted = true;
  stream_update_ready(t, s);
  relay_streams_flush(t);
  return 0;
}

void
relay_streams_set_drain_mark(relay_streams_t *t, size_t mark)
{
  if (t)
    t->drain_mark = mark;
}

size_t
relay_streams_queued(const relay_streams_t *t, uint64_t *oldest_msec)
{
  size_t total = 0;
  uint64_t oldest = 0;
  for (size_t i = 0; t && i < t->n; i++) {
    const relay_stream_t *s = t->s[i];
    if (s->olen == s->ooff)
      continue;
    total += s->olen - s->ooff;
    if (!oldest || (s->oldest_msec && s->oldest_msec < oldest))
      oldest = s->oldest_msec;
  }
  if (oldest_msec)
    *oldest_msec = oldest;
  return total;
}

size_t
relay_streams_drop_queued(relay_streams_t *t)
{
  size_t total = relay_streams_queued(t, NULL);
  for (size_t i = 0; t && i < t->n; i++) {
    stream_drop_queued(t, t->s[i]);
    stream_update_ready(t, t->s[i]);
  }
  return total;
}

size_t
relay_stream_pending(const relay_streams_t *t, uint16_t id)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  return s ? s->olen - s->ooff : 0;
}

int
relay_stream_end(relay_streams_t *t, uint16_t id, uint8_t reason)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  if (!s || s->state == RELAY_STREAM_CLOSING || s->end_pending)
    return RELAY_STREAM_ERR_STATE;
  s->end_pending = true;
  s->end_reason = reason;
  if (s->state != RELAY_STREAM_OPEN || s->olen == s->ooff) {
    stream_send_end(t, s, reason);
  } else {
    stream_update_ready(t, s);
    relay_streams_flush(t);
  }
  return 0;
}

/* Flow control (324 4.1.1): XOFF when the reader backs up, XON (rate 0:
 * unlimited) once it drained. */
static void
stream_send_xon_xoff(relay_streams_t *t, relay_stream_t *s, bool paused)
{
  uint8_t b[CC_XON_LEN];
  size_t blen;
  if (paused == s->xoff_sent || s->state == RELAY_STREAM_CLOSING)
    return;
  s->xoff_sent = paused;
  if (paused)
    log_info_rl(5, "flow control: sent XOFF on stream %u", s->id);
  else
    log_info_rl(5, "flow control: sent XON on stream %u", s->id);
  if (paused ? cc_xoff_encode(b, sizeof(b), &blen) == 0
             : cc_xon_encode(0, b, sizeof(b), &blen) == 0)
    (void)send_msg(t, paused ? RELAY_XOFF : RELAY_XON, s->id, b, blen);
}

int
relay_stream_end_exitpolicy(relay_streams_t *t, uint16_t id,
                            const cell_addr_t *addr, uint32_t ttl)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  if (!s || s->state == RELAY_STREAM_CLOSING || s->end_pending)
    return RELAY_STREAM_ERR_STATE;
  if (addr) {
    s->end_addr = *addr;
    s->end_ttl = ttl;
  }
  return relay_stream_end(t, id, RELAY_END_EXITPOLICY);
}

int
relay_stream_set_recv_paused(relay_streams_t *t, uint16_t id, bool paused)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  if (!s)
    return RELAY_STREAM_ERR_STATE;
  s->recv_paused = paused;
  if (t->flowctrl) {
    stream_send_xon_xoff(t, s, paused);
    return 0;
  }
  while (!paused && s->sendmes_owed > 0) {
    s->sendmes_owed--;
    if (s->state != RELAY_STREAM_CLOSING)
      (void)send_msg(t, RELAY_SENDME, s->id, NULL, 0);
  }
  return 0;
}

unsigned
relay_stream_sendmes_owed(const relay_streams_t *t, uint16_t id)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  return s ? s->sendmes_owed : 0;
}

relay_stream_state_t
relay_stream_state(const relay_streams_t *t, uint16_t id)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  return s ? s->state : RELAY_STREAM_NONE;
}

/* Package one DATA cell of s from the avail bytes at p.  The bytes sent
 * (> 0), 0 if nothing can go now, -1 if the circuit refused. */
static int
stream_package_bytes(relay_streams_t *t, relay_stream_t *s, const uint8_t *p,
                     size_t avail)
{
  if (s->state != RELAY_STREAM_OPEN || avail == 0 ||
      (t->flowctrl ? s->xoff_recv : !relay_flow_can_package(&s->flow)) ||
      !t->sender.can_package(t->sender.ctx))
    return 0;
  size_t max = t->sender.max_data ? t->sender.max_data(t->sender.ctx)
                                  : RELAY_BODY_MAX;
  if (max == 0 || max > RELAY_BODY_MAX)
    max = RELAY_BODY_MAX;
  size_t n = avail < max ? avail : max;
  if (send_msg(t, RELAY_DATA, s->id, p, n) < 0)
    return -1;
  if (!t->flowctrl)
    (void)relay_flow_note_packaged(&s->flow, NULL);
  return (int)n;
}

/* Package one DATA cell from s's queue.  1 if sent, 0 if nothing to do,
 * -1 if the circuit refused. */
static int
stream_package_one(relay_streams_t *t, relay_stream_t *s)
{
  int n = stream_package_bytes(t, s, s->obuf + s->ooff, s->olen - s->ooff);
  if (n <= 0)
    return n;
  s->ooff += (size_t)n;
  t->queued -= (size_t)n;
  relay_mem_sub((size_t)n);
  if (s->ooff == s->olen)
    s->oldest_msec = 0;
  if (s->drain_wanted && s->olen - s->ooff < t->drain_mark) {
    s->drain_wanted = false;
    emit_simple(t, RELAY_STREAM_EV_DRAINED, s->id, 0);
  }
  return 1;
}

void
relay_streams_flush(relay_streams_t *t)
{
  /* Round robin over the ready streams: one cell each per turn. */
  while (t->n_ready > 0 && t->sender.can_package(t->sender.ctx)) {
    bool progress = false;
    size_t turn = t->n_ready;
    for (size_t k = 0; k < turn && t->n_ready > 0; k++) {
      relay_stream_t *s = STREAM_OF(dlist_first(&t->ready));
      dlist_remove(&s->ready);
      t->n_ready--;
      int r = stream_package_one(t, s);
      if (r > 0)
        progress = true;
      if (r >= 0 && s->end_pending && s->state == RELAY_STREAM_OPEN &&
          s->olen == s->ooff)
        stream_send_end(t, s, s->end_reason);
      stream_update_ready(t, s);
      if (r < 0)
        return;
    }
    if (!progress)
      break;
  }
}

void
relay_streams_circuit_closed(relay_streams_t *t)
{
  while (t->n > 0) {
    relay_stream_t *s = t->s[t->n - 1];
    if (s->state != RELAY_STREAM_CLOSING)
      emit_simple(t, RELAY_STREAM_EV_END, s->id, RELAY_END_DESTROY);
    stream_remove(t, s->id);
  }
}

bool
relay_stream_command_is_stream(uint8_t command, uint16_t stream_id)
{
  switch (command) {
  case RELAY_BEGIN: case RELAY_DATA: case RELAY_END: case RELAY_CONNECTED:
  case RELAY_RESOLVE: case RELAY_RESOLVED: case RELAY_BEGIN_DIR:
    return true;
  case RELAY_SENDME:
  case RELAY_XON:
  case RELAY_XOFF:
    return stream_id != 0;
  default:
    return false;
  }
}

/* ---- incoming messages ---- */

/* A malformed or unexpected message on stream s: report and END it. */
static void
stream_fail(relay_streams_t *t, relay_stream_t *s, uint8_t cmd, int err)
{
  emit_error(t, s->id, cmd, err);
  if (s->state != RELAY_STREAM_CLOSING)
    stream_send_end(t, s, RELAY_END_TORPROTOCOL);
}

static int
handle_exit_open(relay_streams_t *t, uint8_t cmd, uint16_t id,
                 const uint8_t *body, size_t len)
{
  relay_stream_event_t ev;
  relay_begin_t b;
  relay_resolve_t rs;
  int r = 0;
  memset(&ev, 0, sizeof(ev));
  ev.stream_id = id;
  if (cmd == RELAY_BEGIN) {
    r = relay_begin_decode(&b, body, len);
    ev.type = RELAY_STREAM_EV_BEGIN;
    if (r == 0) {
      memcpy(ev.host, b.host, sizeof(ev.host));
      ev.port = b.port;
      ev.flags = b.flags;
    }
  } else if (cmd == RELAY_BEGIN_DIR) {
    r = relay_begin_dir_decode(body, len);
    ev.type = RELAY_STREAM_EV_BEGIN_DIR;
  } else {
    r = relay_resolve_decode(&rs, body, len);
    ev.type = RELAY_STREAM_EV_RESOLVE;
    if (r == 0)
      memcpy(ev.host, rs.name, sizeof(ev.host));
  }
  if (stream_find(t, id, NULL)) {
    /* Reusing a live stream id: drop the message. */
    emit_error(t, id, cmd, RELAY_STREAM_ERR_STATE);
    return 0;
  }
  relay_stream_t *s = stream_add(t, id, cmd == RELAY_RESOLVE ?
                                 RELAY_STREAM_RESOLVING :
                                 RELAY_STREAM_CONNECTING);
  if (!s) {
    relay_end_t end = { .reason = RELAY_END_RESOURCELIMIT };
    uint8_t eb[RELAY_BODY_MAX];
    size_t elen;
    if (relay_end_encode(&end, eb, sizeof(eb), &elen) == 0)
      (void)send_msg(t, RELAY_END, id, eb, elen);
    return 0;
  }
  if (r < 0) {
    stream_fail(t, s, cmd, r);
    return 0;
  }
  push_event(t, &ev);
  return 0;
}

static int
handle_data(relay_streams_t *t, relay_stream_t *s, const uint8_t *body,
            size_t len)
{
  relay_data_t d;
  int r = relay_data_decode(&d, body, len);
  if (s->state == RELAY_STREAM_CLOSING)
    return 0;    /* half-closed: ignore */
  bool ok_state = s->state == RELAY_STREAM_OPEN ||
      (t->role == RELAY_STREAM_ROLE_EXIT &&
       s->state == RELAY_STREAM_CONNECTING);
  if (!ok_state) {
    stream_fail(t, s, RELAY_DATA, RELAY_STREAM_ERR_STATE);
    return 0;
  }
  if (r < 0) {
    stream_fail(t, s, RELAY_DATA, r);
    return 0;
  }
  int w = t->flowctrl ? 0 : relay_flow_note_delivered(&s->flow);
  if (w < 0)
    return RELAY_STREAM_ERR_PROTOCOL;
  if (w == 1 && s->recv_paused) {
    /* The peer may send at most one window past our last SENDME: more
     * held-back SENDMEs than a window holds means it ignored the window. */
    if (++s->sendmes_owed >
        RELAY_STREAMWINDOW_START / RELAY_STREAMWINDOW_INCREMENT)
      return RELAY_STREAM_ERR_PROTOCOL;
  } else if (w == 1) {
    (void)send_msg(t, RELAY_SENDME, s->id, NULL, 0);
  }
  if (t->data_sink && relay_queue_len(&t->events) == 0) {
    /* Last: the sink may end streams or close the circuit. */
    t->data_sink(t->data_sink_arg, s->id, d.data, d.len);
    return 0;
  }
  relay_stream_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = RELAY_STREAM_EV_DATA;
  ev.stream_id = s->id;
  ev.len = d.len;
  memcpy(ev.data, d.data, d.len);
  push_event(t, &ev);
  return 0;
}

static int
handle_client_reply(relay_streams_t *t, relay_stream_t *s, uint8_t cmd,
                    const uint8_t *body, size_t len)
{
  if (s->state == RELAY_STREAM_CLOSING)
    return 0;
  if (cmd == RELAY_CONNECTED) {
    relay_connected_t c;
    int r = relay_connected_decode(&c, body, len);
    if (s->state != RELAY_STREAM_CONNECTING || r < 0) {
      stream_fail(t, s, cmd, r < 0 ? r : RELAY_STREAM_ERR_STATE);
      return 0;
    }
    s->state = RELAY_STREAM_OPEN;
    relay_stream_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = RELAY_STREAM_EV_CONNECTED;
    ev.stream_id = s->id;
    ev.addr = c.addr;
    ev.ttl = c.ttl;
    push_event(t, &ev);
    relay_streams_flush(t);
    return 0;
  }
  /* RESOLVED */
  relay_resolved_t *rv = al_malloc(sizeof(*rv));
  int r = relay_resolved_decode(rv, body, len);
  al_free(rv);
  if (s->state != RELAY_STREAM_RESOLVING || r < 0) {
    emit_error(t, s->id, cmd, r < 0 ? r : RELAY_STREAM_ERR_STATE);
    stream_remove(t, s->id);
    return 0;
  }
  relay_stream_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = RELAY_STREAM_EV_RESOLVED;
  ev.stream_id = s->id;
  ev.len = (uint16_t)len;
  memcpy(ev.data, body, len);
  push_event(t, &ev);
  stream_remove(t, s->id);
  return 0;
}

static int
handle_end(relay_streams_t *t, relay_stream_t *s, const uint8_t *body,
           size_t len)
{
  relay_end_t e;
  if (s->state != RELAY_STREAM_CLOSING) {
    uint8_t reason = relay_end_decode(&e, body, len) == 0 ? e.reason
                                                           : RELAY_END_MISC;
    emit_simple(t, RELAY_STREAM_EV_END, s->id, reason);
  }
  stream_remove(t, s->id);
  return 0;
}

/* XON / XOFF from the peer (324 4.1.1): stop or resume packaging s. */
static int
handle_xon_xoff(relay_streams_t *t, relay_stream_t *s, uint8_t cmd,
                const uint8_t *body, size_t len)
{
  uint32_t kbps = 0;
  if (!t->flowctrl) {
    log_info_rl(60, "ignoring %s on a circuit without congestion control",
                cmd == RELAY_XON ? "XON" : "XOFF");
    return 0;
  }
  int r = cmd == RELAY_XON ? cc_xon_decode(body, len, &kbps)
                           : cc_xoff_decode(body, len);
  if (r < 0)
    return RELAY_STREAM_ERR_PROTOCOL;
  if (s->state == RELAY_STREAM_CLOSING)
    return 0;
  if (cmd == RELAY_XOFF)
    log_info_rl(5, "flow control: got XOFF on stream %u", s->id);
  else
    log_info_rl(5, "flow control: got XON on stream %u (rate %u kB/s)", s->id,
                (unsigned)kbps);
  s->xoff_recv = cmd == RELAY_XOFF;
  if (!s->xoff_recv)
    relay_streams_flush(t);
  return 0;
}

void
relay_streams_set_flowctrl(relay_streams_t *t, bool on)
{
  t->flowctrl = on;
}

bool
relay_stream_xoff_received(const relay_streams_t *t, uint16_t id)
{
  relay_stream_t *s = stream_find(t, id, NULL);
  return s && s->xoff_recv;
}

int
relay_streams_handle(relay_streams_t *t, uint8_t cmd, uint16_t id,
                     const uint8_t *body, size_t len)
{
  if (len > RELAY_BODY_MAX || (len && !body))
    return RELAY_STREAM_ERR_PROTOCOL;
  if (id == 0)
    return RELAY_STREAM_ERR_PROTOCOL;   /* stream command without stream */
  bool exit_open = t->role == RELAY_STREAM_ROLE_EXIT &&
      (cmd == RELAY_BEGIN || cmd == RELAY_BEGIN_DIR || cmd == RELAY_RESOLVE);
  if (exit_open)
    return handle_exit_open(t, cmd, id, body, len);
  relay_stream_t *s = stream_find(t, id, NULL);
  if (!s) {
    /* Unknown stream (or one long closed): drop (6.3). */
    log_info_rl(60, "dropping relay command %u for an unknown stream", cmd);
    return 0;
  }
  switch (cmd) {
  case RELAY_DATA:
    return handle_data(t, s, body, len);
  case RELAY_END:
    return handle_end(t, s, body, len);
  case RELAY_XON:
  case RELAY_XOFF:
    return handle_xon_xoff(t, s, cmd, body, len);
  case RELAY_SENDME:
    if (t->flowctrl)
      return RELAY_STREAM_ERR_PROTOCOL;   /* 324 2.2: no stream SENDMEs */
    if (s->state == RELAY_STREAM_CLOSING)
      return 0;
    if (relay_flow_handle_sendme(&s->flow, NULL) < 0)
      return RELAY_STREAM_ERR_PROTOCOL;
    relay_streams_flush(t);
    return 0;
  case RELAY_CONNECTED:
  case RELAY_RESOLVED:
    if (t->role == RELAY_STREAM_ROLE_CLIENT)
      return handle_client_reply(t, s, cmd, body, len);
    break;
  default:
    break;
  }
  /* A stream command the other role sends (e.g. BEGIN to a client). */
  if (s->state != RELAY_STREAM_CLOSING)
    emit_error(t, id, cmd, RELAY_STREAM_ERR_STATE);
  return 0;
}
