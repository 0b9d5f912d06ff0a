/* cellswitch_stream.c -- streams at a circuit that ends here: the relay's
 * "tunnelled-dir-server" side (tor-spec 6.2 BEGIN_DIR, 6.3 END, 7.4
 * stream-level flow control; dir-spec 6 "HTTP over BEGIN_DIR").
 *
 * A circuit gets an engine-owned stream table (circ_relay_attach_streams())
 * at its first stream command, unless the owner handles streams itself
 * (hooks.on_streams).  BEGIN_DIR is answered with an empty CONNECTED; the
 * DATA that follows is collected (bounded in size and time: END MISC /
 * END TIMEOUT) and handed to hooks.dir_request until it says the request
 * is whole; the owner's response is copied into
 * the stream a chunk at a time, only while the stream holds less than
 * CELLSWITCH_DIR_LOWAT unsent bytes, so the stream and circuit windows
 * (SENDMEs from the client) pace a multi-megabyte consensus; then END
 * DONE.  BEGIN and RESOLVE go to the exit hooks when an exit set them
 * (feature/exit/exit_stream.c), else they get END EXITPOLICY.
 * See include/allium/core/mainloop/cellswitch.h. */
#define LOG_MODULE "cellswitch"
#include <string.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "cellswitch_st.h"

typedef enum cs_dir_state_t {
  CS_DIR_REQUEST = 1,    /**< collecting the request */
  CS_DIR_WAITING,        /**< the owner took it; no response yet */
  CS_DIR_SENDING,        /**< writing the response */
} cs_dir_state_t;

typedef struct cs_dirstream_t {
  uint16_t id;           /**< 0: free slot */
  uint8_t state;
  uint8_t *buf;          /**< request, then response */
  size_t len, off;       /**< bytes in buf; response bytes written */
  uint64_t since_msec;   /**< when BEGIN_DIR arrived */
} cs_dirstream_t;

typedef struct cs_dirstreams_t {
  cs_circ_t *c;
  dlist_node_t node;     /**< in sw->dir_circs */
  relay_streams_t *t;    /**< owned by the circuit (circ_relay) */
  cs_dirstream_t s[CELLSWITCH_DIR_STREAMS_PER_CIRC];
  void *exit_data;       /**< the exit hooks' per-circuit state */
} cs_dirstreams_t;

static uint64_t
stream_handle(const cs_circ_t *c, uint16_t id)
{
  return (c->handle << 16) | id;
}

static cs_dirstream_t *
slot_find(cs_dirstreams_t *d, uint16_t id)
{
  for (size_t i = 0; id && i < CELLSWITCH_DIR_STREAMS_PER_CIRC; i++)
    if (d->s[i].id == id)
      return &d->s[i];
  return NULL;
}

static void
slot_clear(cellswitch_t *sw, cs_dirstream_t *s)
{
  sw->dir_held -= s->len;   /* request or response bytes held */
  al_free(s->buf);
  memset(s, 0, sizeof(*s));
}

static void
stream_refuse(cellswitch_t *sw, relay_streams_t *t, uint16_t id,
              uint8_t reason)
{
  sw->st.streams_refused++;
  (void)relay_stream_end(t, id, reason);
}

/* BEGIN_DIR: CONNECTED (empty body) and a slot, or END. */
static void
on_begin_dir(cs_circ_t *c, uint16_t id)
{
  cellswitch_t *sw = c->sw;
  cs_dirstreams_t *d = c->dir;
  if (!sw->cfg.hooks.dir_request) {
    log_info_rl(60, "Refusing a BEGIN_DIR stream: not a directory cache.");
    stream_refuse(sw, d->t, id, RELAY_END_NOTDIRECTORY);
    return;
  }
  cs_dirstream_t *s = NULL;
  for (size_t i = 0; i < CELLSWITCH_DIR_STREAMS_PER_CIRC && !s; i++)
    if (!d->s[i].id)
      s = &d->s[i];
  if (!s || sw->dir_held >= CELLSWITCH_DIR_HELD_MAX) {
    log_info_rl(60, "Refusing a BEGIN_DIR stream: %s.",
                s ? "too many directory responses in memory"
                  : "too many directory streams on one circuit");
    stream_refuse(sw, d->t, id, RELAY_END_RESOURCELIMIT);
    return;
  }
  if (relay_stream_connected(d->t, id, NULL, 0) < 0)
    return;
  s->id = id;
  s->state = CS_DIR_REQUEST;
  s->since_msec = evloop_monotonic_msec();
  sw->st.dir_streams++;
}

/* The longest request s may grow to: CELLSWITCH_DIR_POST_MAX for a POST
 * (its first bytes held or arriving now), else CELLSWITCH_DIR_REQUEST_MAX. */
static size_t
dir_request_max(const cs_dirstream_t *s, const uint8_t *data, size_t len)
{
  uint8_t head[5];
  size_t n = s->len < sizeof(head) ? s->len : sizeof(head);
  if (n)
    memcpy(head, s->buf, n);
  if (n < sizeof(head)) {
    size_t k = len < sizeof(head) - n ? len : sizeof(head) - n;
    memcpy(head + n, data, k);
    n += k;
  }
  return n == sizeof(head) && !memcmp(head, "POST ", 5)
           ? CELLSWITCH_DIR_POST_MAX : CELLSWITCH_DIR_REQUEST_MAX;
}

/* Request bytes on stream s: collect, ask the owner. */
static void
on_request_data(cs_circ_t *c, cs_dirstream_t *s, const uint8_t *data,
                size_t len)
{
  cellswitch_t *sw = c->sw;
  if (s->state != CS_DIR_REQUEST)
    return;   /* a body after the request: ignored (dir-spec 6) */
  if (s->len + len > dir_request_max(s, data, len)) {
    log_info_rl(60, "Closing a directory stream whose request passed %d "
                "bytes.", (int)dir_request_max(s, data, len));
    sw->st.dir_requests_cut++;
    (void)relay_stream_end(c->dir->t, s->id, RELAY_END_MISC);
    slot_clear(sw, s);
    return;
  }
  if (sw->dir_held + len > CELLSWITCH_DIR_HELD_MAX) {
    log_info_rl(60, "Closing a directory stream: too many directory bytes "
                "in memory.");
    (void)relay_stream_end(c->dir->t, s->id, RELAY_END_RESOURCELIMIT);
    slot_clear(sw, s);
    return;
  }
  s->buf = al_realloc(s->buf, s->len + len);
  memcpy(s->buf + s->len, data, len);
  s->len += len;
  sw->dir_held += len;
  uint16_t id = s->id;
  int r = sw->cfg.hooks.dir_request(sw->cfg.hooks.arg, sw,
                                    stream_handle(c, id), s->buf, s->len);
  if (r == CELLSWITCH_DIR_NEED_MORE || s->id != id)
    return;
  if (r < 0) {
    (void)relay_stream_end(c->dir->t, id, RELAY_END_MISC);
    slot_clear(sw, s);
    return;
  }
  if (s->state == CS_DIR_REQUEST) {   /* answered later */
    al_free(s->buf);
    sw->dir_held -= s->len;
    s->len = 0;
    s->state = CS_DIR_WAITING;
  }
}

/* DoSStreamCreation*: true when the stream may go on; otherwise it was
 * ended or the circuit is closing. */
static bool
stream_admitted(cs_circ_t *c, uint16_t id)
{
  switch (cellswitch_stream_admit(c->sw, c->handle)) {
  case DOS_STREAM_REFUSE:
    stream_refuse(c->sw, c->dir->t, id, RELAY_END_RESOURCELIMIT);
    return false;
  case DOS_STREAM_CLOSE_CIRC:
    circ_relay_close(c->rc, CELL_DESTROY_RESOURCELIMIT);
    return false;
  default:
    return true;
  }
}

/* An event for the exit hooks: true if they took it. */
static bool
to_exit(cs_circ_t *c, const relay_stream_event_t *ev)
{
  const cellswitch_exit_hooks_t *h = &c->sw->exit_hooks;
  if (!h->on_event)
    return false;
  h->on_event(h->arg, c->sw, c->handle, &c->dir->exit_data, c->dir->t, ev);
  return true;
}

static void
handle_event(cs_circ_t *c, const relay_stream_event_t *ev)
{
  cs_dirstreams_t *d = c->dir;
  cs_dirstream_t *s = slot_find(d, ev->stream_id);
  if ((ev->type == RELAY_STREAM_EV_BEGIN_DIR ||
       ev->type == RELAY_STREAM_EV_BEGIN ||
       ev->type == RELAY_STREAM_EV_RESOLVE) &&
      !stream_admitted(c, ev->stream_id))
    return;
  if (!s && ev->type != RELAY_STREAM_EV_BEGIN_DIR && to_exit(c, ev))
    return;
  switch (ev->type) {
  case RELAY_STREAM_EV_BEGIN_DIR:
    on_begin_dir(c, ev->stream_id);
    break;
  case RELAY_STREAM_EV_BEGIN:
  case RELAY_STREAM_EV_RESOLVE:
    log_info_rl(60, "Refusing a %s stream: this relay is not an exit.",
                ev->type == RELAY_STREAM_EV_BEGIN ? "BEGIN" : "RESOLVE");
    stream_refuse(c->sw, d->t, ev->stream_id, RELAY_END_EXITPOLICY);
    break;
  case RELAY_STREAM_EV_DATA:
    if (s)
      on_request_data(c, s, ev->data, ev->len);
    break;
  case RELAY_STREAM_EV_END:
    if (s)
      slot_clear(c->sw, s);
    break;
  default:
    break;
  }
}

/* Copy more of each response into its stream while the stream holds
 * little; END DONE when all of it is in. */
static void
write_responses(cs_circ_t *c)
{
  cellswitch_t *sw = c->sw;
  cs_dirstreams_t *d = c->dir;
  for (size_t i = 0; i < CELLSWITCH_DIR_STREAMS_PER_CIRC; i++) {
    cs_dirstream_t *s = &d->s[i];
    if (!s->id)
      continue;
    relay_stream_state_t st = relay_stream_state(d->t, s->id);
    if (st != RELAY_STREAM_OPEN) {   /* ended by the table (error) */
      slot_clear(sw, s);
      continue;
    }
    if (s->state != CS_DIR_SENDING)
      continue;
    while (s->off < s->len &&
           relay_stream_pending(d->t, s->id) < CELLSWITCH_DIR_LOWAT) {
      size_t n = s->len - s->off;
      if (n > CELLSWITCH_DIR_CHUNK)
        n = CELLSWITCH_DIR_CHUNK;
      if (relay_stream_write(d->t, s->id, s->buf + s->off, n) < 0)
        break;
      s->off += n;
      sw->st.dir_bytes += n;
    }
    if (s->off == s->len) {
      (void)relay_stream_end(d->t, s->id, RELAY_END_DONE);
      sw->st.dir_responses++;
      slot_clear(sw, s);
    }
  }
}

bool
cs_stream_pump(cs_circ_t *c)
{
  if (!c->dir || !c->rc)
    return false;
  relay_stream_event_t ev;
  while (relay_streams_next_event(c->dir->t, &ev) == 1)
    handle_event(c, &ev);
  write_responses(c);
  memwipe(&ev, sizeof(ev));
  const cellswitch_exit_hooks_t *h = &c->sw->exit_hooks;
  if (c->dir->exit_data && h->on_pump)
    h->on_pump(h->arg, c->dir->exit_data);
  return true;
}

/* The table's data sink (exit hooks set): a directory request's bytes, or
 * an exit stream's DATA without a copy. */
static void
data_sink(void *arg, uint16_t id, const uint8_t *data, size_t len)
{
  cs_circ_t *c = arg;
  cs_dirstream_t *s = slot_find(c->dir, id);
  const cellswitch_exit_hooks_t *h = &c->sw->exit_hooks;
  if (s)
    on_request_data(c, s, data, len);
  else if (c->dir->exit_data && h->on_data)
    h->on_data(h->arg, c->dir->exit_data, id, data, len);
}

void
cellswitch_set_exit_hooks(cellswitch_t *sw, const cellswitch_exit_hooks_t *h)
{
  if (h)
    sw->exit_hooks = *h;
  else
    memset(&sw->exit_hooks, 0, sizeof(sw->exit_hooks));
}

bool
cellswitch_circ_prev_is_relay(cellswitch_t *sw, uint64_t circ)
{
  cs_circ_t *c = hmap_get_u64(sw->circ_by_handle, circ);
  return c && c->prev.chan && c->prev.chan->has_id;
}

bool
cs_stream_relay_msg(cs_circ_t *c, const circ_event_t *ev)
{
  cellswitch_t *sw = c->sw;
  if (sw->cfg.hooks.on_streams || !c->rc ||
      !relay_stream_command_is_stream(ev->command, ev->stream_id))
    return false;
  if (!c->dir) {
    relay_streams_t *t = circ_relay_attach_streams(c->rc);
    if (!t)
      return false;   /* someone else's table */
    c->dir = al_calloc(1, sizeof(*c->dir));
    c->dir->t = t;
    c->dir->c = c;
    dlist_push_tail(&sw->dir_circs, &c->dir->node);
    if (sw->exit_hooks.on_event)
      relay_streams_set_data_sink(t, data_sink, c);
  }
  if (relay_streams_handle(c->dir->t, ev->command, ev->stream_id, ev->body,
                           ev->len) < 0) {
    log_info_rl(60, "Closing a circuit: stream protocol violation.");
    circ_relay_close(c->rc, CELL_DESTROY_PROTOCOL);
  }
  return true;
}

void
cs_stream_circ_free(cs_circ_t *c)
{
  if (!c->dir)
    return;
  const cellswitch_exit_hooks_t *h = &c->sw->exit_hooks;
  if (c->dir->exit_data && h->on_circ_free)
    h->on_circ_free(h->arg, c->dir->exit_data);
  c->dir->exit_data = NULL;
  for (size_t i = 0; i < CELLSWITCH_DIR_STREAMS_PER_CIRC; i++)
    slot_clear(c->sw, &c->dir->s[i]);
  dlist_remove(&c->dir->node);
  al_free(c->dir);
  c->dir = NULL;
}

int
cellswitch_dir_respond(cellswitch_t *sw, uint64_t stream, uint8_t *body,
                       size_t len)
{
  cs_circ_t *c = hmap_get_u64(sw->circ_by_handle, stream >> 16);
  cs_dirstream_t *s = c && c->dir ? slot_find(c->dir, stream & 0xffff)
                                  : NULL;
  if (!s || s->state == CS_DIR_SENDING) {
    al_free(body);
    return -1;
  }
  al_free(s->buf);
  sw->dir_held -= s->len;   /* the request, if still held */
  s->buf = body;
  s->len = len;
  s->off = 0;
  s->state = CS_DIR_SENDING;
  sw->dir_held += len;
  if (!c->in_pump)
    cs_circ_pump(c);
  return 0;
}

/* End the requests of one circuit that stayed incomplete too long; true if
 * any was. */
static bool
expire_requests(cs_circ_t *c, uint64_t now_msec, uint32_t timeout)
{
  bool any = false;
  for (size_t i = 0; i < CELLSWITCH_DIR_STREAMS_PER_CIRC; i++) {
    cs_dirstream_t *s = &c->dir->s[i];
    if (!s->id || s->state != CS_DIR_REQUEST ||
        now_msec - s->since_msec < timeout)
      continue;
    log_info_rl(60, "Closing a directory stream whose request stayed "
                "incomplete for %u s.", timeout / 1000);
    (void)relay_stream_end(c->dir->t, s->id, RELAY_END_TIMEOUT);
    c->sw->st.dir_requests_cut++;
    slot_clear(c->sw, s);
    any = true;
  }
  return any;
}

void
cs_stream_tick(cellswitch_t *sw, uint64_t now_msec)
{
  uint32_t timeout = sw->cfg.dir_request_timeout_msec
                     ? sw->cfg.dir_request_timeout_msec
                     : CELLSWITCH_DIR_REQUEST_TIMEOUT_MSEC;
  dlist_node_t *n = sw->dir_circs.next;
  while (n != &sw->dir_circs) {
    cs_dirstreams_t *d = DLIST_ENTRY(n, cs_dirstreams_t, node);
    n = n->next;   /* the pump may free d's circuit */
    if (expire_requests(d->c, now_msec, timeout) && !d->c->in_pump)
      cs_circ_pump(d->c);
  }
}
