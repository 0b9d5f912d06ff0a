/* cellswitch_oom.c -- MaxMemInQueues for the relay's cell queues (tor(1)
 * MaxMemInQueues: when queued data passes the limit, close the circuits
 * holding the oldest queued data first until at least 10% of the limit is
 * free again).  Every queued cell is counted in core/stream/relay_mem;
 * this is the pass that frees them.  Also gives memory back to the system
 * once many circuits are gone (after a CREATE2 flood whose channels
 * closed): the circuit maps are shrunk and the C library trims its heaps.
 * No torspec section.
 * See include/allium/core/mainloop/cellswitch.h. */
#define LOG_MODULE "cellswitch"
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "cellswitch_st.h"

typedef struct oom_entry_t {
  uint64_t handle;
  uint32_t age_msec;       /**< of the circuit's oldest queued cell */
  size_t bytes;
} oom_entry_t;

static int
oldest_first(const void *a, const void *b)
{
  const oom_entry_t *x = a, *y = b;
  return (x->age_msec < y->age_msec) - (x->age_msec > y->age_msec);
}

static uint32_t
end_age(const cs_end_t *e, uint32_t now)
{
  return e->q.head ? now - e->q.head->queued_msec : 0;
}

size_t
cellswitch_oom_pass(cellswitch_t *sw, size_t to_free)
{
  size_t n = hmap_count(sw->circ_by_handle), k = 0, pos = 0, freed = 0;
  size_t closed = 0;
  uint32_t now = (uint32_t)evloop_monotonic_msec();
  void *v;
  if (!n || !to_free)
    return 0;
  oom_entry_t *ent = al_calloc(n, sizeof(*ent));
  while (k < n && hmap_iter(sw->circ_by_handle, &pos, NULL, &v)) {
    const cs_circ_t *c = v;
    size_t cells = c->prev.q.n + c->next.q.n;
    if (!cells)
      continue;
    uint32_t a = end_age(&c->prev, now), b = end_age(&c->next, now);
    ent[k].handle = c->handle;
    ent[k].age_msec = a > b ? a : b;
    ent[k].bytes = cells * sizeof(cs_cell_t);
    k++;
  }
  qsort(ent, k, sizeof(*ent), oldest_first);
  for (size_t i = 0; i < k && freed < to_free; i++) {
    cellswitch_circ_close(sw, ent[i].handle, CELL_DESTROY_RESOURCELIMIT);
    freed += ent[i].bytes;
    closed++;
  }
  sw->st.oom_circuits_closed += closed;
  al_free(ent);
  if (closed)
    log_notice_rl(60, "MaxMemInQueues: closed %zu relay circuit%s holding "
                  "the oldest queued cells, freeing %zu bytes.", closed,
                  closed == 1 ? "" : "s", freed);
  return freed;
}

static void
on_oom_event(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  cellswitch_oom_pass(arg, (size_t)relay_mem_to_free());
}

/* Called from inside a queue write: only schedule the pass. */
static void
on_over_limit(void *arg)
{
  cellswitch_t *sw = arg;
  if (sw->oom_ev)
    event_active(sw->oom_ev, EV_TIMEOUT, 0);
}

int
cellswitch_watch_memory(cellswitch_t *sw)
{
  if (sw->oom_ev)
    return 0;
  sw->oom_ev = event_new(sw->base, -1, 0, on_oom_event, sw);
  if (!sw->oom_ev)
    return -1;
  /* Beside the client's pass (chanmgr) when both roles run: each frees
   * from its own queues (a relay's cells are never left unbounded). */
  if (relay_mem_add_oom_cb(on_over_limit, sw) < 0) {
    event_free(sw->oom_ev);
    sw->oom_ev = NULL;
    return -1;
  }
  return 0;
}

void
cs_mem_unwatch(cellswitch_t *sw)
{
  relay_mem_remove_oom_cb(on_over_limit, sw);
}

/** Give memory back when the circuit count fell by at least this many ... */
#define CS_TRIM_MIN_DROP 1024
/** ... and to at most half of its peak since the last time. */
#define CS_TRIM_FRACTION 2

void
cs_mem_tick(cellswitch_t *sw)
{
  /* Still over the limit (the crossing callback fires once per crossing;
   * another owner's pass may have freed too little): our pass again. */
  if (sw->oom_ev && relay_mem_over_limit())
    cellswitch_oom_pass(sw, (size_t)relay_mem_to_free());
  size_t now = hmap_count(sw->circ_by_handle);
  if (now > sw->mem_peak_circs)
    sw->mem_peak_circs = now;
  if (sw->mem_peak_circs < now + CS_TRIM_MIN_DROP ||
      now > sw->mem_peak_circs / CS_TRIM_FRACTION)
    return;
  size_t freed = hmap_compact(sw->circ_by_handle) +
                 hmap_compact(sw->circ_by_id);
  cs_pool_trim(sw, 0);
  int trimmed = 0;
#if defined(__GLIBC__)
  /* Freed circuits leave free chunks all over the heap (and in the worker
   * threads' arenas); return their pages to the system. */
  trimmed = malloc_trim(0);
#endif
  log_info("%zu relay circuits went away (%zu left): circuit maps shrunk "
           "by %zu bytes; %s.", sw->mem_peak_circs - now, now, freed,
           trimmed ? "heap pages returned to the system"
                   : "no heap pages to return");
  sw->mem_peak_circs = now;
}
