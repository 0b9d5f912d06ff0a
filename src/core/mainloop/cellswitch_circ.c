/* cellswitch_circ.c -- the cell engine's circuits: CREATE2 answered
 * (tor-spec 5.1; CREATE/TAP refused, 5.1 and proposal 350) on the loop,
 * through the owner's hook or on the onion worker pool, cells of a
 * known circuit handed to its sans-IO relay state machine (circ_relay:
 * 5.5, 5.6, 6.1), what it queues moved onto the right channel, DESTROY
 * both ways (5.4) and the teardown of every circuit of a closed channel;
 * two circuits joined at a rendezvous point (rend-spec-v3 4.2:
 * cellswitch_circ_splice()).  EXTEND2 handling is in cellswitch_extend.c.
 * See include/allium/core/mainloop/cellswitch.h. */
#define LOG_MODULE "cellswitch"
#include <string.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "cellswitch_st.h"

void cs_extend_request(cs_circ_t *c, const circ_event_t *ev);

static void
end_init(cs_end_t *end, cs_circ_t *c, uint8_t dir)
{
  end->circ = c;
  end->dir = dir;
  end->heap_idx = -1;
  dlist_init(&end->chan_node);
}

/* Put end on chan under id: map entry, channel list. */
static void
end_attach(cs_end_t *end, cs_chan_t *chan, uint32_t id)
{
  end->chan = chan;
  end->id = id;
  hmap_put_u64(chan->sw->circ_by_id, cs_key(chan, id), end);
  dlist_push_tail(&chan->ends, &end->chan_node);
}

void
cs_end_detach(cs_end_t *end)
{
  cs_chan_t *chan = end->chan;
  cs_circ_t *c = end->circ;
  cs_end_t *other = end->dir == CIRC_DIR_PREV ? &c->next : &c->prev;
  cs_end_drop_queue(end);
  /* The other side may have paused this channel. */
  if (chan && other->full_src == chan)
    cs_end_unpause(other);
  if (!chan)
    return;
  if (hmap_get_u64(chan->sw->circ_by_id, cs_key(chan, end->id)) == end)
    hmap_remove_u64(chan->sw->circ_by_id, cs_key(chan, end->id));
  if (!chan->closed && channel_circids(chan->ch))
    (void)circid_set_remove(channel_circids(chan->ch), end->id);
  dlist_remove(&end->chan_node);
  end->chan = NULL;
  end->id = 0;
}

void
cs_end_send_destroy(cs_end_t *end, uint8_t reason)
{
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  cs_chan_t *chan = end->chan;
  if (!chan)
    return;
  cs_end_drop_queue(end);
  if (chan->open && cell_destroy_encode(reason, p, sizeof(p), &n) == 0 &&
      channel_send_fixed(chan->ch, end->id, CELL_DESTROY, p) == 0)
    chan->sw->st.cells_out++;
  cs_end_detach(end);
}

/* A circuit with congestion control closes: add what it did to the
 * relay's totals (heartbeat). */
static void
cc_note_closed(cellswitch_t *sw, const circ_relay_t *rc)
{
  const cc_state_t *cc = circ_relay_cc(rc);
  if (!cc)
    return;
  cc_stats_t st;
  cc_get_stats(cc, &st);
  sw->st.cc_data_sent += st.cells_sent;
  sw->st.cc_data_received += st.cells_received;
  sw->st.cc_sendmes_received += st.sendmes_received;
  sw->st.cc_sendmes_sent += st.sendmes_sent;
}

/* A joined circuit goes: so does its partner (rend-spec-v3 4.2; tor closes
 * the other circuit with the same reason). */
static void
splice_teardown(cs_circ_t *c)
{
  cs_circ_t *o = c->splice;
  if (!o)
    return;
  c->splice = NULL;
  o->splice = NULL;
  if (c->sw->freeing || !o->rc)
    return;
  circ_relay_close(o->rc, c->close_reason ? c->close_reason
                                          : CELL_DESTROY_FINISHED);
  cs_circ_pump(o);
}

void
cs_circ_free(cs_circ_t *c)
{
  cellswitch_t *sw = c->sw;
  splice_teardown(c);
  cs_end_detach(&c->prev);
  cs_end_detach(&c->next);
  dlist_remove(&c->wait_node);
  c->waiting_for = NULL;
  if (c->req) {            /* its answer will never be needed */
    onion_workers_cancel(sw->workers, c->req);
    c->req = NULL;
  }
  if (c->create2)
    cs_cell_release(sw, c->create2);
  hmap_remove_u64(sw->circ_by_handle, c->handle);
  if (c->counted) {
    sw->n_circuits--;
    if (sw->cfg.hooks.on_circ_closed && !sw->freeing)
      sw->cfg.hooks.on_circ_closed(sw->cfg.hooks.arg, sw, c->handle);
  }
  cs_stream_circ_free(c);
  cc_note_closed(sw, c->rc);
  circ_relay_free(c->rc);
  al_free(c);
}

/* ---- moving what the state machine produced ---- */

/* One cell the circuit queued: DESTROY goes out at once, others queue. */
static void
route_cell(cs_circ_t *c, cs_cell_t *cell)
{
  cs_end_t *end = cell->cc.dir == CIRC_DIR_PREV ? &c->prev : &c->next;
  if (cell->cc.command == CELL_DESTROY) {
    uint8_t reason = cell->cc.payload[0];
    cs_cell_release(c->sw, cell);
    cs_end_send_destroy(end, reason);
    return;
  }
  if (!end->chan || !end->chan->open || !end->id) {
    cs_cell_release(c->sw, cell);   /* nowhere to go (closed side) */
    return;
  }
  cs_end_enqueue(end, cell);
}

static bool
drain_cells(cs_circ_t *c)
{
  bool any = false;
  for (;;) {
    cs_cell_t *cell = cs_cell_alloc(c->sw);
    if (circ_relay_next_cell(c->rc, &cell->cc) != 1) {
      cs_cell_release(c->sw, cell);
      return any;
    }
    any = true;
    route_cell(c, cell);
  }
}

/* DoSRefuseSingleHopClientRendezvous: an ESTABLISH_RENDEZVOUS whose
 * circuit comes straight from a client (we are its first hop) is dropped
 * silently (tor(1)).  true: pass the message on. */
static bool
cs_rend_allowed(cs_circ_t *c, const circ_event_t *ev)
{
  if (ev->command != RELAY_ESTABLISH_RENDEZVOUS || !c->sw->dos)
    return true;
  bool single_hop = c->prev.chan && c->prev.chan->client;
  return dos_rend_allowed(c->sw->dos, single_hop);
}

int
cellswitch_stream_admit(cellswitch_t *sw, uint64_t circ)
{
  cs_circ_t *c = sw ? hmap_get_u64(sw->circ_by_handle, circ) : NULL;
  if (!c || !sw->dos)
    return DOS_STREAM_ALLOW;
  return dos_stream_check(sw->dos, &c->dos_streams, evloop_monotonic_msec());
}

static bool
drain_events(cs_circ_t *c)
{
  cellswitch_t *sw = c->sw;
  circ_event_t ev;
  bool any = false;
  while (circ_relay_next_event(c->rc, &ev) == 1) {
    any = true;
    switch (ev.type) {
    case CIRC_EV_EXTEND_REQUEST:
      cs_extend_request(c, &ev);
      break;
    case CIRC_EV_CLOSED:
      c->closing = true;
      c->close_reason = ev.remote ? CELL_DESTROY_DESTROYED : ev.reason;
      break;
    case CIRC_EV_RELAY_MSG:
      if (cs_stream_relay_msg(c, &ev))
        break;
      if (!cs_rend_allowed(c, &ev))
        break;
      if (sw->cfg.hooks.on_relay_msg)
        sw->cfg.hooks.on_relay_msg(sw->cfg.hooks.arg, sw, c->handle, &ev);
      break;
    default:
      break;
    }
  }
  memwipe(&ev, sizeof(ev));
  return any;
}

void
cs_circ_pump(cs_circ_t *c)
{
  cellswitch_t *sw = c->sw;
  if (c->in_pump || !c->rc)
    return;
  c->in_pump = true;
  for (int pass = 0; pass < 64; pass++) {
    bool any = false;
    relay_streams_t *s = circ_relay_streams(c->rc);
    /* The engine's own directory streams, else the owner's table. */
    bool own = !c->closing && cs_stream_pump(c);
    if (!own && s && sw->cfg.hooks.on_streams && !c->closing)
      sw->cfg.hooks.on_streams(sw->cfg.hooks.arg, sw, c->handle, s);
    any |= drain_cells(c);
    any |= drain_events(c);
    if (!any)
      break;
  }
  c->in_pump = false;
  if (c->closing || circ_relay_state(c->rc) == CIRC_RELAY_CLOSED) {
    drain_cells(c);   /* the DESTROYs of the close */
    cs_circ_free(c);
  }
}

/* ---- CREATE ---- */

static void
refuse_create(cs_chan_t *chan, uint32_t id, uint8_t reason)
{
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  chan->sw->st.creates_refused++;
  if (cell_destroy_encode(reason, p, sizeof(p), &n) == 0 &&
      channel_send_fixed(chan->ch, id, CELL_DESTROY, p) == 0)
    chan->sw->st.cells_out++;
}

/* The pool's answer (on the loop).  c is alive: a circuit freed before
 * this cancels its request, so this never runs for it. */
static void
worker_done(void *ctx, int result, onion_answer_t *ans)
{
  cs_circ_t *c = ctx;
  c->req = NULL;
  if (result < 0) {
    (void)cellswitch_create_answered(c->sw, c->handle, NULL,
                                     ans->destroy_reason);
    return;
  }
  circ_relay_t *rc = circ_relay_new_answered(ans);
  /* We answered CC_RESPONSE: the circuit runs congestion control. */
  if (rc && ans->cc_negotiated) {
    if (circ_relay_enable_cc(rc, &c->sw->cc_params, ans->cc_sendme_inc) == 0)
      c->sw->st.cc_circuits++;
    else
      circ_relay_free(rc);   /* cannot honour what we promised */
  }
  (void)cellswitch_create_answered(c->sw, c->handle, rc,
                                   CELL_DESTROY_INTERNAL);
}

void
cs_circ_handle_create(cs_chan_t *chan, const cell_t *cell)
{
  cellswitch_t *sw = chan->sw;
  circid_set_t *ids = channel_circids(chan->ch);
  if (!ids || !circid_set_is_peers(ids, cell->circ_id)) {
    log_info_rl(60, "Dropping a CREATE cell with a circuit id from our "
                "half of the id space.");
    sw->st.unknown_circ_cells++;
    return;
  }
  if (cell->command == CELL_CREATE) {
    log_info_rl(60, "Refusing a CREATE (TAP) cell: only CREATE2 and "
                "CREATE_FAST are served.");
    refuse_create(chan, cell->circ_id, CELL_DESTROY_PROTOCOL);
    return;
  }
  if (sw->hibernating) {   /* tor: no new circuits while hibernating */
    refuse_create(chan, cell->circ_id, CELL_DESTROY_HIBERNATING);
    sw->st.creates_refused++;
    return;
  }
  /* DoSCircuitCreation*: a client address over its rate (dos-spec). */
  if (sw->dos && chan->dos_tracked &&
      !dos_create_allowed(sw->dos, &chan->peer_addr,
                          evloop_monotonic_msec())) {
    refuse_create(chan, cell->circ_id, CELL_DESTROY_RESOURCELIMIT);
    return;
  }
  if (circid_set_add(ids, cell->circ_id) < 0)
    return;
  cs_circ_t *c = al_calloc(1, sizeof(*c));
  c->sw = sw;
  c->kind = CS_CIRC_RELAY;
  c->state = CS_CIRC_ANSWERING;
  c->handle = sw->next_handle++;
  end_init(&c->prev, c, CIRC_DIR_PREV);
  end_init(&c->next, c, CIRC_DIR_NEXT);
  dlist_init(&c->wait_node);
  end_attach(&c->prev, chan, cell->circ_id);
  hmap_put_u64(sw->circ_by_handle, c->handle, c);
  if (hmap_count(sw->circ_by_handle) > sw->mem_peak_circs)
    sw->mem_peak_circs = hmap_count(sw->circ_by_handle);   /* cs_mem_tick */
  if (sw->cfg.hooks.answer_create) {
    if (sw->cfg.hooks.answer_create(sw->cfg.hooks.arg, sw, c->handle,
                                    cell->command, cell->payload) < 0) {
      cs_end_send_destroy(&c->prev, CELL_DESTROY_RESOURCELIMIT);
      sw->st.creates_refused++;
      cs_circ_free(c);
    }
    return;
  }
  if (sw->workers) {
    c->req = onion_workers_submit(sw->workers, cell->command, cell->payload,
                                  cell->payload_len, worker_done, c);
    if (!c->req) {
      cs_end_send_destroy(&c->prev, CELL_DESTROY_INTERNAL);
      sw->st.creates_refused++;
      cs_circ_free(c);
    }
    return;
  }
  circ_relay_t *rc = NULL;
  uint8_t reason = CELL_DESTROY_PROTOCOL;
  /* CREATE2 (ntor, ntor v3) and CREATE_FAST (tor-spec 5.1.5). */
  (void)circ_relay_create_cell(&rc, &sw->cfg.keys, cell->command,
                               cell->payload, cell->payload_len, &reason);
  (void)cellswitch_create_answered(sw, c->handle, rc, reason);
}

int
cellswitch_create_answered(cellswitch_t *sw, uint64_t circ, circ_relay_t *rc,
                           uint8_t reason)
{
  cs_circ_t *c = hmap_get_u64(sw->circ_by_handle, circ);
  if (!c || c->state != CS_CIRC_ANSWERING || !c->prev.chan) {
    circ_relay_free(rc);
    return -1;
  }
  if (!rc) {
    log_info_rl(60, "Refusing a CREATE cell (DESTROY reason %u).", reason);
    sw->st.creates_refused++;
    cs_end_send_destroy(&c->prev, reason);
    cs_circ_free(c);
    return 0;
  }
  c->rc = rc;
  c->state = CS_CIRC_LIVE;
  c->counted = true;
  sw->n_circuits++;
  sw->st.circuits_created++;
  switch (circ_relay_htype(rc)) {
  case CELL_HTYPE_NTOR: sw->st.created_ntor++; break;
  case CELL_HTYPE_NTOR_V3: sw->st.created_ntor_v3++; break;
  case ONION_HTYPE_FAST: sw->st.created_fast++; break;
  default: break;
  }
  /* ops: reachability self-test -- a CREATE we answered on a channel the
   * peer opened shows that our ORPort can be reached. */
  if (!c->prev.chan->outgoing) {
    sw->st.created_inbound++;
    sw->st.created_inbound_private += c->prev.chan->peer_private;
  }
  if (sw->cfg.hooks.on_circ_created)
    sw->cfg.hooks.on_circ_created(sw->cfg.hooks.arg, sw, c->handle, rc);
  cs_circ_pump(c);
  return 0;
}

/* ---- cells of known circuits ---- */

/* The direct path of a RELAY / RELAY_EARLY cell: when the other side's
 * channel would send it at once (cs_end_direct_slot), its one copy at this
 * hop is into that channel's output buffer, where our relay-crypto layer
 * is applied in place; no slot, no queue.  false: take the queued path
 * (nothing was done). */
static bool
cs_circ_direct(cs_circ_t *c, cs_end_t *end, const cell_t *cell)
{
  if ((cell->command != CELL_RELAY && cell->command != CELL_RELAY_EARLY) ||
      c->closing)
    return false;
  cs_end_t *out = end->dir == CIRC_DIR_PREV ? &c->next : &c->prev;
  cs_circ_t *o = end->dir == CIRC_DIR_PREV ? c->splice : NULL;
  if (o) {
    out = &o->prev;
    drain_cells(o);  /* the joined circuit's own cells were encrypted first */
  }
  drain_cells(c);   /* what the circuit queued earlier goes first */
  uint8_t *p = cs_end_direct_slot(out);
  if (!p)
    return false;
  int to_dir = 0;
  memcpy(p, cell->payload, CELL_PAYLOAD_LEN);
  int r = circ_relay_process_cell(c->rc, end->dir, cell->command, p, &to_dir);
  if (o && r == 1 && c->splice == o && to_dir == CIRC_DIR_NEXT) {
    /* Rendezvous point: onward down the joined circuit, as RELAY (a
     * RELAY_EARLY does not cross the join), under its backward layer. */
    if (circ_relay_splice_inbound(o->rc, p) == 1) {
      cs_end_direct_commit(out, CELL_RELAY);
      c->sw->st.cells_forwarded++;
    } else {
      memwipe(p, CELL_PAYLOAD_LEN);
    }
  } else if (o && r == 1) {
    memwipe(p, CELL_PAYLOAD_LEN);   /* the join went away meanwhile */
  } else if (r == 1 && to_dir == out->dir) {
    cs_end_direct_commit(out, cell->command);
    c->sw->st.cells_forwarded++;
  } else if (r == 1) {
    /* Not where we guessed (cannot happen for a relay circuit): queue. */
    cs_cell_t *slot = cs_cell_alloc(c->sw);
    memcpy(slot->cc.payload, p, CELL_PAYLOAD_LEN);
    memwipe(p, CELL_PAYLOAD_LEN);
    slot->cc.command = cell->command;
    slot->cc.dir = (uint8_t)to_dir;
    c->sw->st.cells_forwarded++;
    route_cell(c, slot);
  } else {
    memwipe(p, CELL_PAYLOAD_LEN);   /* was for us: plaintext, not sent */
  }
  cs_circ_pump(c);
  return true;
}

void
cs_circ_handle_cell(cs_end_t *end, const cell_t *cell)
{
  cs_circ_t *c = end->circ;
  if (c->state == CS_CIRC_ANSWERING) {
    /* Nothing but DESTROY makes sense before CREATED2. */
    if (cell->command == CELL_DESTROY) {
      cs_end_detach(end);
      cs_circ_free(c);
    }
    return;
  }
  if (cell->command == CELL_DESTROY) {
    /* The peer forgot the id: never send on it again. */
    uint8_t p[CELL_PAYLOAD_LEN];
    memcpy(p, cell->payload, sizeof(p));
    cs_end_drop_queue(end);
    cs_end_detach(end);
    (void)circ_relay_handle_cell(c->rc, end->dir, CELL_DESTROY, p);
    cs_circ_pump(c);
    return;
  }
  cellswitch_t *sw = c->sw;
  int to_dir = 0;
  if (cs_circ_direct(c, end, cell))
    return;
  /* The queued path: the cell's one copy at this hop is into its slot; our
   * relay-crypto layer is added or removed there, in place, and a cell to
   * pass on is queued as it is (circuit_relay.h). */
  cs_cell_t *slot = cs_cell_alloc(sw);
  memcpy(slot->cc.payload, cell->payload, CELL_PAYLOAD_LEN);
  cs_circ_t *o = end->dir == CIRC_DIR_PREV ? c->splice : NULL;
  if (o)
    drain_cells(o);  /* the joined circuit's own cells were encrypted first */
  int r = circ_relay_process_cell(c->rc, end->dir, cell->command,
                                  slot->cc.payload, &to_dir);
  uint64_t o_closed = 0;   /* handle of a joined circuit our cell closed */
  if (r == 1 && o) {
    /* Rendezvous point: down the joined circuit (see cs_circ_direct). */
    if (c->splice == o && to_dir == CIRC_DIR_NEXT &&
        circ_relay_splice_inbound(o->rc, slot->cc.payload) == 1) {
      slot->cc.command = CELL_RELAY;
      slot->cc.dir = CIRC_DIR_PREV;
      sw->st.cells_forwarded++;
      route_cell(o, slot);
      /* Past its queue cap it closed: it must be torn down (and us with
       * it), which only its pump does. */
      if (circ_relay_state(o->rc) == CIRC_RELAY_CLOSED)
        o_closed = o->handle;
    } else {
      memwipe(slot->cc.payload, CELL_PAYLOAD_LEN);
      cs_cell_release(sw, slot);
    }
  } else if (r == 1) {
    slot->cc.command = cell->command;
    slot->cc.dir = (uint8_t)to_dir;
    drain_cells(c);   /* what the circuit queued earlier goes first */
    sw->st.cells_forwarded++;
    route_cell(c, slot);
  } else {
    memwipe(slot->cc.payload, CELL_PAYLOAD_LEN);   /* was ours: plaintext */
    cs_cell_release(sw, slot);
  }
  cs_circ_pump(c);   /* may free c (and, joined, close and free o) */
  if (o_closed && (o = hmap_get_u64(sw->circ_by_handle, o_closed)) != NULL)
    cs_circ_pump(o);
}

/* ---- channels coming and going ---- */

void
cs_circ_channel_closed(cs_chan_t *chan)
{
  uint8_t p[CELL_PAYLOAD_LEN] = { CELL_DESTROY_CHANNEL_CLOSED };
  dlist_node_t *n;
  while ((n = dlist_pop_head(&chan->waiting)) != NULL) {
    cs_circ_t *c = DLIST_ENTRY(n, cs_circ_t, wait_node);
    c->waiting_for = NULL;
    if (c->create2) {
      cs_cell_release(c->sw, c->create2);
      c->create2 = NULL;
    }
    chan->sw->st.extends_refused++;
    circ_relay_extend_failed(c->rc, CELL_DESTROY_CONNECTFAILED);
    cs_circ_pump(c);
  }
  while ((n = dlist_first(&chan->ends)) != NULL) {
    cs_end_t *end = DLIST_ENTRY(n, cs_end_t, chan_node);
    cs_circ_t *c = end->circ;
    cs_end_detach(end);
    if (c->state == CS_CIRC_ANSWERING) {
      cs_circ_free(c);
      continue;
    }
    (void)circ_relay_handle_cell(c->rc, end->dir, CELL_DESTROY, p);
    cs_circ_pump(c);
  }
}

void
cs_circ_channel_opened(cs_chan_t *chan)
{
  dlist_node_t *n;
  while ((n = dlist_pop_head(&chan->waiting)) != NULL) {
    cs_circ_t *c = DLIST_ENTRY(n, cs_circ_t, wait_node);
    uint32_t id;
    c->waiting_for = NULL;
    cs_cell_t *create2 = c->create2;
    c->create2 = NULL;
    if (circid_set_alloc(channel_circids(chan->ch), &id) < 0) {
      cs_cell_release(c->sw, create2);
      chan->sw->st.extends_refused++;
      circ_relay_extend_failed(c->rc, CELL_DESTROY_RESOURCELIMIT);
      cs_circ_pump(c);
      continue;
    }
    end_attach(&c->next, chan, id);
    create2->cc.command = CELL_CREATE2;
    chan->sw->st.extends++;
    cs_end_enqueue(&c->next, create2);
  }
}

/* ---- API ---- */

int
cellswitch_circ_splice(cellswitch_t *sw, uint64_t a, uint64_t b)
{
  cs_circ_t *ca = hmap_get_u64(sw->circ_by_handle, a);
  cs_circ_t *cb = hmap_get_u64(sw->circ_by_handle, b);
  if (!ca || !cb || ca == cb || !ca->rc || !cb->rc || ca->splice ||
      cb->splice || ca->closing || cb->closing || ca->next.chan ||
      cb->next.chan || ca->dir || cb->dir ||
      circ_relay_state(ca->rc) != CIRC_RELAY_OPEN ||
      circ_relay_state(cb->rc) != CIRC_RELAY_OPEN ||
      circ_relay_streams(ca->rc) || circ_relay_streams(cb->rc))
    return -1;
  if (circ_relay_set_spliced(ca->rc) < 0 ||
      circ_relay_set_spliced(cb->rc) < 0)
    return -1;
  ca->splice = cb;
  cb->splice = ca;
  return 0;
}

bool
cellswitch_circ_spliced(cellswitch_t *sw, uint64_t circ)
{
  cs_circ_t *c = hmap_get_u64(sw->circ_by_handle, circ);
  return c && c->splice;
}

circ_relay_t *
cellswitch_circ_relay(cellswitch_t *sw, uint64_t circ)
{
  cs_circ_t *c = hmap_get_u64(sw->circ_by_handle, circ);
  return c ? c->rc : NULL;
}

void
cellswitch_circ_flush(cellswitch_t *sw, uint64_t circ)
{
  cs_circ_t *c = hmap_get_u64(sw->circ_by_handle, circ);
  if (c && c->rc)
    cs_circ_pump(c);
}

void
cellswitch_circ_close(cellswitch_t *sw, uint64_t circ, uint8_t reason)
{
  cs_circ_t *c = hmap_get_u64(sw->circ_by_handle, circ);
  if (!c)
    return;
  if (!c->rc) {
    cs_end_send_destroy(&c->prev, reason);
    cs_circ_free(c);
    return;
  }
  circ_relay_close(c->rc, reason);
  cs_circ_pump(c);
}
