/* cellswitch_sched.c -- the cell engine's queues and scheduler: pooled
 * cell slots, per-circuit-side queues with a cap, EWMA-fair choice among
 * the circuits of one channel (tor's CircuitPriorityHalflife idea: serve
 * the circuit that sent least recently, with past cells counting half
 * every half-life), and TCP back-pressure in both directions.  No torspec
 * section prescribes this (tor-spec 5.1 only says cells of a circuit keep
 * their order).  See doc/architecture.md "The cell engine". */
#define LOG_MODULE "cellswitch"
#include <string.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "cellswitch_st.h"

/** Free slots kept for reuse (about 2 MiB). */
#define CS_POOL_KEEP 4096
/** Cells one channel writes before others get a turn. */
#define CS_FLUSH_BATCH 128
/** Rescale a channel's EWMA values when the unit grows past this. */
#define CS_EWMA_RESCALE 1e9
/** Memory a queued cell is accounted as (MaxMemInQueues). */
#define CS_CELL_MEM (sizeof(cs_cell_t))

cs_cell_t *
cs_cell_alloc(cellswitch_t *sw)
{
  cs_cell_t *c = sw->free_cells;
  if (c) {
    sw->free_cells = c->next;
    sw->n_free_cells--;
  } else {
    c = al_malloc(sizeof(*c));
    sw->st.slots_allocated++;
  }
  c->next = NULL;
  return c;
}

void
cs_cell_release(cellswitch_t *sw, cs_cell_t *c)
{
  if (sw->n_free_cells >= CS_POOL_KEEP) {
    memwipe(c, sizeof(*c));
    al_free(c);
    return;
  }
  c->next = sw->free_cells;
  sw->free_cells = c;
  sw->n_free_cells++;
}

void
cs_pool_trim(cellswitch_t *sw, size_t keep)
{
  while (sw->n_free_cells > keep) {
    cs_cell_t *c = sw->free_cells;
    sw->free_cells = c->next;
    sw->n_free_cells--;
    memwipe(c, sizeof(*c));
    al_free(c);
  }
}

int
cs_end_cmp(const void *a, const void *b)
{
  const cs_end_t *x = a, *y = b;
  return (x->ewma > y->ewma) - (x->ewma < y->ewma);
}

void
cs_chan_mark_pending(cs_chan_t *chan)
{
  if (chan->pending || chan->blocked || !chan->open ||
      minheap_len(&chan->active) == 0)
    return;
  chan->pending = true;
  dlist_push_tail(&chan->sw->pending, &chan->pending_node);
  cs_schedule_flush(chan->sw);
}

/* The other side's channel feeds this end's queue. */
static cs_chan_t *
feeder(const cs_end_t *end)
{
  const cs_circ_t *c = end->circ;
  const cs_end_t *other = end->dir == CIRC_DIR_PREV ? &c->next : &c->prev;
  return other->chan;
}

/* Stop reading on the channel feeding end.  Only a client's channel (an
 * incoming one whose peer did not prove a relay identity) is paused: it
 * carries that client's circuits alone.  A channel to or from a relay is
 * shared by many users' circuits; pausing it would let one circuit stall
 * the others, so there the per-circuit cap applies, as in tor. */
static void
pause_feeder(cs_end_t *end)
{
  cs_chan_t *src = feeder(end);
  if (end->full_src || !src || src->closed || src->has_id)
    return;
  end->full_src = src;
  if (src->n_full++ == 0) {
    src->paused_at = evloop_monotonic_msec();
    dlist_push_tail(&src->sw->paused, &src->paused_node);
    channel_set_reading(src->ch, 0);
    src->sw->st.reads_paused++;
  }
}

void
cs_end_unpause(cs_end_t *end)
{
  cs_chan_t *src = end->full_src;
  if (!src)
    return;
  end->full_src = NULL;
  if (--src->n_full > 0)
    return;
  dlist_remove(&src->paused_node);
  if (!src->closed && !src->pause_overridden)
    channel_set_reading(src->ch, 1);
  src->pause_overridden = false;
}

void
cs_check_pauses(cellswitch_t *sw, uint64_t now)
{
  dlist_node_t *n;
  while ((n = dlist_first(&sw->paused)) != NULL) {
    cs_chan_t *chan = DLIST_ENTRY(n, cs_chan_t, paused_node);
    if (now - chan->paused_at < sw->cfg.pause_max_msec)
      return;   /* oldest first */
    dlist_remove(n);
    chan->pause_overridden = true;
    sw->st.pauses_overridden++;
    log_info_rl(60, "A channel's reading was paused for %u ms: reading "
                "again (the circuit queue cap applies).",
                sw->cfg.pause_max_msec);
    if (!chan->closed)
      channel_set_reading(chan->ch, 1);
  }
}

void
cs_end_enqueue(cs_end_t *end, cs_cell_t *cell)
{
  cs_chan_t *chan = end->chan;
  cellswitch_t *sw = chan->sw;
  if (end->q.n >= sw->cfg.queue_cap_cells) {
    cs_cell_release(sw, cell);
    if (!end->circ->closing && end->circ->rc) {
      sw->st.queue_overflows++;
      log_notice_rl(60, "Closing a circuit whose cell queue passed %zu "
                    "cells.", sw->cfg.queue_cap_cells);
      circ_relay_close(end->circ->rc, CELL_DESTROY_RESOURCELIMIT);
    }
    return;
  }
  cell->queued_msec = (uint32_t)evloop_monotonic_msec();
  if (end->q.tail)
    end->q.tail->next = cell;
  else
    end->q.head = cell;
  end->q.tail = cell;
  end->q.n++;
  chan->n_queued++;
  sw->st.cells_queued++;
  relay_mem_add(CS_CELL_MEM);
  if (end->q.n >= sw->cfg.circq_high)
    pause_feeder(end);
  if (end->heap_idx < 0)
    minheap_push(&chan->active, end);
  cs_chan_mark_pending(chan);
}

static cs_cell_t *
end_dequeue(cs_end_t *end)
{
  cs_cell_t *c = end->q.head;
  if (!c)
    return NULL;
  end->q.head = c->next;
  if (!end->q.head)
    end->q.tail = NULL;
  end->q.n--;
  end->chan->n_queued--;
  end->circ->sw->st.cells_queued--;
  relay_mem_sub(CS_CELL_MEM);
  return c;
}

void
cs_end_drop_queue(cs_end_t *end)
{
  cs_cell_t *c;
  cellswitch_t *sw = end->circ->sw;
  while (end->q.head) {
    c = end->q.head;
    end->q.head = c->next;
    end->q.n--;
    if (end->chan)
      end->chan->n_queued--;
    sw->st.cells_queued--;
    relay_mem_sub(CS_CELL_MEM);
    cs_cell_release(sw, c);
  }
  end->q.tail = NULL;
  if (end->chan && end->heap_idx >= 0)
    minheap_remove(&end->chan->active, end);
  cs_end_unpause(end);
}

/* 2^x for 0 <= x (scheduling accuracy; no libm): the integer part by
 * doubling, the fraction by a short series of e^(f ln 2). */
static double
cs_exp2(double x)
{
  double r = 1.0;
  while (x >= 1.0 && r < CS_EWMA_RESCALE * 2) {
    r *= 2.0;
    x -= 1.0;
  }
  double y = x * 0.6931471805599453, term = 1.0, sum = 1.0;
  for (int i = 1; i < 10; i++) {
    term *= y / i;
    sum += term;
  }
  return r * sum;
}

/* Express chan's EWMA values relative to now when the unit grew large:
 * every value of the channel shrinks by the same factor, so the heap
 * order holds. */
static double
ewma_unit(cs_chan_t *chan, uint64_t now)
{
  double hl = chan->sw->cfg.ewma_halflife_msec;
  double unit = cs_exp2((double)(now - chan->ewma_base_msec) / hl);
  if (unit < CS_EWMA_RESCALE)
    return unit;
  for (dlist_node_t *n = chan->ends.next; n != &chan->ends; n = n->next)
    DLIST_ENTRY(n, cs_end_t, chan_node)->ewma /= unit;
  chan->ewma_base_msec = now;
  return 1.0;
}

void
cs_chan_flush(cs_chan_t *chan)
{
  cellswitch_t *sw = chan->sw;
  size_t high = sw->cfg.outbuf_high, n = 0;
  if (!chan->open || chan->blocked)
    return;
  double unit = ewma_unit(chan, evloop_monotonic_msec());
  chan->ewma_unit = unit;
  size_t batch = chan->n_queued < CS_FLUSH_BATCH ? chan->n_queued
                                                 : CS_FLUSH_BATCH;
  if (batch > 1)
    channel_reserve_output(chan->ch, batch * (5 + CELL_PAYLOAD_LEN));
  cs_end_t *end;
  while ((end = minheap_peek(&chan->active)) != NULL) {
    if (channel_outbuf_len(chan->ch) >= high) {
      chan->blocked = true;
      sw->st.outbuf_blocked++;
      break;
    }
    if (n == CS_FLUSH_BATCH)
      break;
    cs_cell_t *c = end_dequeue(end);
    (void)channel_send_fixed(chan->ch, end->id, c->cc.command, c->cc.payload);
    cs_cell_release(sw, c);
    n++;
    end->ewma += unit;
    if (end->q.n == 0)
      minheap_pop(&chan->active);
    else
      minheap_update(&chan->active, end);
    if (end->full_src && end->q.n <= sw->cfg.circq_low)
      cs_end_unpause(end);
  }
  if (n) {
    sw->st.cells_out += n;
    channel_note_output(chan->ch);
  }
  cs_chan_mark_pending(chan);   /* more to write and room: next round */
}

/* The direct path (cs_circ_handle_cell): where a cell of end's circuit
 * arriving for end's channel can be written at once, or NULL.  Only when
 * the scheduler would send it next anyway: nothing of this circuit queued
 * that way, no other circuit waiting on that channel, and room in its
 * output buffer. */
uint8_t *
cs_end_direct_slot(cs_end_t *end)
{
  cs_chan_t *chan = end->chan;
  if (!chan || !chan->open || chan->blocked || !end->id || end->q.n ||
      minheap_len(&chan->active) ||
      channel_outbuf_len(chan->ch) >= chan->sw->cfg.outbuf_high)
    return NULL;
  return channel_fixed_reserve(chan->ch);
}

/* The cell in end's direct slot is to be sent as command. */
void
cs_end_direct_commit(cs_end_t *end, uint8_t command)
{
  channel_fixed_commit(end->chan->ch, end->id, command);
  end->ewma += end->chan->ewma_unit;   /* it counts as the scheduler's */
  end->circ->sw->st.cells_out++;
}

void
cs_chan_drained(channel_t *ch, void *arg)
{
  cs_chan_t *chan = arg;
  (void)ch;
  if (!chan->blocked)
    return;
  chan->blocked = false;
  cs_chan_mark_pending(chan);
}
