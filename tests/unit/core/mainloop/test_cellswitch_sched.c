/* test_cellswitch_sched.c -- the cell engine's scheduler, read-pause time
 * limit and MaxMemInQueues pass, white-box (cellswitch_sched.c,
 * cellswitch_oom.c; doc/architecture.md "The cell engine": EWMA circuit
 * priority as tor's CircuitPriorityHalflife, back-pressure, tor's OOM
 * rule of closing the circuits with the oldest queued cells first). */
#include <criterion/criterion.h>

#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include "core/mainloop/cellswitch_st.h"

static struct event_base *BASE;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
}

static void teardown(void)
{
  event_base_free(BASE);
}

TestSuite(cellswitch_sched, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the scheduler and the pause limit, white-box ---- */

static void
fake_end(cs_circ_t *c, cs_end_t *e, cs_chan_t *chan, uint8_t dir, uint32_t id)
{
  e->circ = c;
  e->chan = chan;
  e->dir = dir;
  e->id = id;
  e->heap_idx = -1;
  dlist_init(&e->chan_node);
}

Test(cellswitch_sched, ewma_serves_the_quiet_circuit_first)
{
  cellswitch_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cellswitch_t *sw = cellswitch_new(BASE, &cfg);
  cs_chan_t chan;
  memset(&chan, 0, sizeof(chan));
  chan.sw = sw;
  chan.open = true;
  dlist_init(&chan.ends);
  dlist_init(&chan.pending_node);
  minheap_init(&chan.active, cs_end_cmp, offsetof(cs_end_t, heap_idx));
  chan.ewma_base_msec = evloop_monotonic_msec();
  cs_circ_t a, b;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  a.sw = b.sw = sw;
  fake_end(&a, &a.prev, &chan, CIRC_DIR_PREV, 1);
  fake_end(&b, &b.prev, &chan, CIRC_DIR_PREV, 2);
  for (int i = 0; i < 200; i++)
    cs_end_enqueue(&a.prev, cs_cell_alloc(sw));
  cr_assert_eq(a.prev.q.n, 200);
  cr_assert_eq(sw->st.cells_queued, 200);
  cs_chan_flush(&chan);   /* one batch from the bulk circuit */
  cr_assert_lt(a.prev.q.n, 200);
  cr_assert_gt(a.prev.ewma, 0.0);
  cs_end_enqueue(&b.prev, cs_cell_alloc(sw));
  cr_assert_eq(minheap_peek(&chan.active), &b.prev,
               "the circuit that sent nothing lately is not served first");
  cs_chan_flush(&chan);
  cr_assert_eq(b.prev.q.n, 0);
  /* The cap: queueing past it closes the circuit (no circ_relay here, so
   * only the cell is dropped) and never grows the queue. */
  size_t before = a.prev.q.n;
  sw->cfg.queue_cap_cells = before;
  cs_end_enqueue(&a.prev, cs_cell_alloc(sw));
  cr_assert_eq(a.prev.q.n, before);
  cs_end_drop_queue(&a.prev);
  cs_end_drop_queue(&b.prev);
  cr_assert_eq(sw->st.cells_queued, 0);
  dlist_remove(&chan.pending_node);
  minheap_clear(&chan.active);
  cellswitch_free(sw);
}

Test(cellswitch_sched, read_pause_has_a_time_limit)
{
  cellswitch_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.pause_max_msec = 500;
  cellswitch_t *sw = cellswitch_new(BASE, &cfg);
  cs_chan_t chan;
  memset(&chan, 0, sizeof(chan));
  chan.sw = sw;
  chan.closed = true;   /* no real channel behind it */
  dlist_init(&chan.paused_node);
  chan.n_full = 1;
  chan.paused_at = 1000;
  dlist_push_tail(&sw->paused, &chan.paused_node);
  cs_check_pauses(sw, 1400);
  cr_assert_not(chan.pause_overridden);
  cs_check_pauses(sw, 1600);
  cr_assert(chan.pause_overridden);
  cr_assert_not(dlist_node_is_linked(&chan.paused_node));
  cr_assert_eq(sw->st.pauses_overridden, 1);
  cellswitch_free(sw);
}

Test(cellswitch_sched, oom_pass_closes_the_oldest_queues_first)
{
  cellswitch_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cellswitch_t *sw = cellswitch_new(BASE, &cfg);
  cs_chan_t chan;
  memset(&chan, 0, sizeof(chan));
  chan.sw = sw;
  chan.open = true;
  chan.closed = true;   /* no real channel: nothing is sent */
  dlist_init(&chan.ends);
  dlist_init(&chan.pending_node);
  minheap_init(&chan.active, cs_end_cmp, offsetof(cs_end_t, heap_idx));
  uint32_t now = (uint32_t)evloop_monotonic_msec();
  uint32_t ages[3] = { 3000, 1000, 2000 };
  for (int i = 0; i < 3; i++) {
    cs_circ_t *c = al_calloc(1, sizeof(*c));
    c->sw = sw;
    c->handle = 100 + (uint64_t)i;
    dlist_init(&c->wait_node);
    fake_end(c, &c->prev, &chan, CIRC_DIR_PREV, (uint32_t)i + 1);
    fake_end(c, &c->next, NULL, CIRC_DIR_NEXT, 0);
    hmap_put_u64(sw->circ_by_handle, c->handle, c);
    for (int k = 0; k < 10; k++)
      cs_end_enqueue(&c->prev, cs_cell_alloc(sw));
    c->prev.q.head->queued_msec = now - ages[i];
  }
  cr_assert_eq(sw->st.cells_queued, 30);
  size_t freed = cellswitch_oom_pass(sw, 1);
  cr_assert_eq(freed, 10 * sizeof(cs_cell_t));
  cr_assert_null(hmap_get_u64(sw->circ_by_handle, 100), "not the oldest");
  cr_assert_not_null(hmap_get_u64(sw->circ_by_handle, 101));
  cr_assert_not_null(hmap_get_u64(sw->circ_by_handle, 102));
  cr_assert_eq(sw->st.oom_circuits_closed, 1);
  freed = cellswitch_oom_pass(sw, 15 * sizeof(cs_cell_t));
  cr_assert_eq(freed, 20 * sizeof(cs_cell_t));
  cr_assert_eq(hmap_count(sw->circ_by_handle), 0);
  cr_assert_eq(sw->st.cells_queued, 0);
  cr_assert_eq(cellswitch_oom_pass(sw, 1000), 0);
  dlist_remove(&chan.pending_node);
  minheap_clear(&chan.active);
  cellswitch_free(sw);
}
