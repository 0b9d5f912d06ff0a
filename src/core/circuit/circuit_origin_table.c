/* circuit_origin_table.c -- the table of origin circuits on one channel:
 * circuit ids from the channel's set (tor-spec 5.1.1), cells moved between
 * the sans-IO circuits and the channel, incoming cells routed by circuit
 * id, events handed to the caller.
 * See include/allium/core/circuit/circuit_origin_table.h.
 *
 * The cell path is constant time and copies a cell once per direction:
 * circuits are found by id in a hash map; an incoming cell's payload is
 * copied once into the table's cell buffer and decrypted there in place;
 * a circuit's outgoing cells go straight from its encrypt buffer into the
 * channel's output (the circuit's cell sink), not through a queue.  Only
 * circuits that may have output are visited by a flush (the dirty list),
 * and only closed ones by the reaper (the closed list). */
#define LOG_MODULE "circuit"
#include "allium/core/circuit/circuit_origin_table.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/lib/container/dlist.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

/* Bound on flush passes: callbacks that keep queueing are resumed on the
 * next flush instead of looping forever. */
#define CIRC_MGR_MAX_PASSES 64

typedef struct mgr_entry_t {
  uint32_t id;
  circ_origin_t *circ;
  circ_mgr_t *m;
  bool closed;                 /**< CLOSED event delivered */
  dlist_node_t all;            /**< in m->all while the entry exists */
  dlist_node_t work;           /**< in m->dirty, or m->closed once closed */
} mgr_entry_t;

struct circ_mgr_t {
  channel_t *ch;               /**< NULL once closed */
  circ_mgr_callbacks_t cbs;
  hmap_t *by_id;               /**< entries not closed, by circuit id */
  mgr_entry_t *last;           /**< the last one found (not closed) */
  dlist_t all;
  dlist_t dirty;               /**< entries that may have cells or events */
  dlist_t closed;              /**< entries to reap */
  size_t n;
  unsigned busy;               /**< a cell or a flush is being handled */
  uint8_t cell[CELL_PAYLOAD_LEN];  /**< the incoming cell being handled */
};

#define ENTRY_OF(node, member) DLIST_ENTRY(node, mgr_entry_t, member)

circ_mgr_t *
circ_mgr_new(channel_t *ch, const circ_mgr_callbacks_t *cbs)
{
  circ_mgr_t *m = al_calloc(1, sizeof(*m));
  m->ch = ch;
  if (cbs)
    m->cbs = *cbs;
  m->by_id = hmap_new(sizeof(uint32_t));
  dlist_init(&m->all);
  dlist_init(&m->dirty);
  dlist_init(&m->closed);
  return m;
}

void
circ_mgr_free_(circ_mgr_t *m)
{
  if (!m)
    return;
  dlist_node_t *n;
  while ((n = dlist_first(&m->all)) != NULL) {
    mgr_entry_t *e = ENTRY_OF(n, all);
    dlist_remove(&e->all);
    circ_origin_free(e->circ);
    al_free(e);
  }
  hmap_free(m->by_id);
  memwipe(m->cell, sizeof(m->cell));
  al_free(m);
}

/* The entry by id: the last one found first (a bulk transfer hits it on
 * every cell without hashing), then the map. */
static mgr_entry_t *
find_entry(circ_mgr_t *m, uint32_t id)
{
  if (m->last && m->last->id == id)
    return m->last;
  mgr_entry_t *e = hmap_get(m->by_id, &id);
  if (e)
    m->last = e;
  return e;
}

/* e may have cells or events to move: visit it on the next flush. */
static void
entry_mark(mgr_entry_t *e)
{
  if (!e->closed && !dlist_node_is_linked(&e->work))
    dlist_push_tail(&e->m->dirty, &e->work);
}

/* e is closed (its CLOSED event went out): it leaves the map and waits to be reaped. */
static void
entry_closed(circ_mgr_t *m, mgr_entry_t *e)
{
  e->closed = true;
  if (m->last == e)
    m->last = NULL;
  if (hmap_get(m->by_id, &e->id) == e)
    (void)hmap_remove(m->by_id, &e->id);
  dlist_remove(&e->work);
  dlist_push_tail(&m->closed, &e->work);
}

/* The circuit's cell sink: one copy, from its buffer into the channel's
 * output (cells without an open channel are dropped, as tor-spec 5.4
 * leaves nothing to send them on). */
static void
entry_sink(void *arg, uint8_t command, const uint8_t payload[CELL_PAYLOAD_LEN])
{
  mgr_entry_t *e = arg;
  channel_t *ch = e->m->ch;
  if (!ch || channel_state(ch) != CHANNEL_STATE_OPEN)
    return;
  if (channel_send_fixed(ch, e->id, command, payload) < 0)
    log_info_rl(60, "could not queue a cell on the channel");
  else
    channel_note_output(ch);
}

int
circ_mgr_add(circ_mgr_t *m, circ_origin_t *c, uint32_t *id_out)
{
  uint32_t id;
  circid_set_t *ids = m->ch ? channel_circids(m->ch) : NULL;
  if (!ids || channel_state(m->ch) != CHANNEL_STATE_OPEN ||
      circid_set_alloc(ids, &id) < 0) {
    circ_origin_free(c);
    return -1;
  }
  mgr_entry_t *e = al_calloc(1, sizeof(*e));
  e->id = id;
  e->circ = c;
  e->m = m;
  dlist_init(&e->all);
  dlist_init(&e->work);
  dlist_push_tail(&m->all, &e->all);
  (void)hmap_put(m->by_id, &id, e, NULL);
  entry_mark(e);
  m->n++;
  if (id_out)
    *id_out = id;
  return 0;
}

static int
launch(circ_mgr_t *m, bool fast, const circ_hop_spec_t *first, uint64_t now,
       uint64_t timeout, uint32_t *id_out)
{
  uint32_t id;
  circ_origin_t *c = circ_origin_new();
  if (circ_mgr_add(m, c, &id) < 0)
    return -1;
  mgr_entry_t *e = find_entry(m, id);
  int r = fast ? circ_origin_start_fast(c, first, now, timeout)
               : circ_origin_start(c, first, now, timeout);
  if (r < 0) {
    /* Never started: nothing went out; drop it quietly. */
    entry_closed(m, e);
    circ_origin_close(c, CELL_DESTROY_INTERNAL);
    while (circ_origin_next_event(c, &(circ_event_t){ 0 }) == 1)
      ;
    circ_cell_t junk;
    while (circ_origin_next_cell(c, &junk) == 1)
      ;
    circ_mgr_flush_circ(m, id);
    return -1;
  }
  /* The CREATE cell waits in the circuit's queue (moved by the flush
   * below); everything after it goes out through the sink. */
  circ_origin_set_cell_sink(c, entry_sink, e);
  if (id_out)
    *id_out = id;
  circ_mgr_flush_circ(m, id);
  return 0;
}

int
circ_mgr_launch_fast(circ_mgr_t *m, const circ_hop_spec_t *first,
                     uint64_t now, uint64_t timeout, uint32_t *id_out)
{
  return launch(m, true, first, now, timeout, id_out);
}

int
circ_mgr_launch(circ_mgr_t *m, const circ_hop_spec_t *first, uint64_t now,
                uint64_t timeout, uint32_t *id_out)
{
  if (!first)
    return -1;
  return launch(m, false, first, now, timeout, id_out);
}

circ_origin_t *
circ_mgr_get(circ_mgr_t *m, uint32_t circ_id)
{
  mgr_entry_t *e = find_entry(m, circ_id);
  return e ? e->circ : NULL;
}

size_t
circ_mgr_n_circuits(const circ_mgr_t *m)
{
  return m->n;
}

static void circ_mgr_run(circ_mgr_t *m);

void
circ_mgr_handle_cell(circ_mgr_t *m, const cell_t *cell)
{
  mgr_entry_t *e = find_entry(m, cell->circ_id);
  if (!e || cell->circ_id == 0) {
    log_info_rl(60, "cell %u for unknown circuit dropped", cell->command);
    return;
  }
  /* The one copy of this hop: out of the channel's input buffer (a view
   * valid during the callback) into the table's cell buffer, where the
   * circuit decrypts it in place.  Nested flushes from callbacks wait
   * (busy) so that nothing is reaped under the circuit. */
  size_t len = cell->payload_len < sizeof(m->cell) ? cell->payload_len
                                                   : sizeof(m->cell);
  memcpy(m->cell, cell->payload, len);
  if (len < sizeof(m->cell))
    memset(m->cell + len, 0, sizeof(m->cell) - len);
  m->busy++;
  (void)circ_origin_handle_cell_inplace(e->circ, cell->command, m->cell);
  m->busy--;
  memwipe(m->cell, sizeof(m->cell));
  entry_mark(e);
  circ_mgr_run(m);
}

/* Move e's queued cells to the channel (dropped without one).  Returns the
 * number moved. */
static size_t
move_cells(circ_mgr_t *m, mgr_entry_t *e)
{
  circ_cell_t cc;
  size_t n = 0;
  while (circ_origin_next_cell(e->circ, &cc) == 1) {
    n++;
    if (m->ch && channel_state(m->ch) == CHANNEL_STATE_OPEN) {
      cell_t cell = { e->id, cc.command, CELL_PAYLOAD_LEN, cc.payload };
      if (channel_send_cell(m->ch, &cell) < 0)
        log_info_rl(60, "could not queue a cell on the channel");
    }
  }
  if (n)
    memwipe(&cc, sizeof(cc));
  return n;
}

/* Deliver e's circuit and stream events.  Returns the number delivered.
 * The events live on the stack (a callback may flush again: each nesting
 * level has its own) and are wiped only when something was delivered. */
static size_t
deliver_events(circ_mgr_t *m, mgr_entry_t *e)
{
  circ_event_t ev;
  relay_stream_event_t sev;
  size_t n_circ = 0, n_stream = 0;
  relay_streams_t *t;
  while (!e->closed && (t = circ_origin_streams(e->circ)) != NULL &&
         relay_streams_next_event(t, &sev) == 1) {
    n_stream++;
    if (m->cbs.on_stream)
      m->cbs.on_stream(m, e->id, &sev, m->cbs.arg);
  }
  while (!e->closed && circ_origin_next_event(e->circ, &ev) == 1) {
    n_circ++;
    if (ev.type == CIRC_EV_CLOSED)
      entry_closed(m, e);
    if (m->cbs.on_circ)
      m->cbs.on_circ(m, e->id, &ev, m->cbs.arg);
  }
  if (n_stream)
    memwipe(&sev, sizeof(sev));
  if (n_circ)
    memwipe(&ev, sizeof(ev));
  return n_circ + n_stream;
}

/* Free the circuits whose CLOSED event went out; release their ids. */
static void
reap_closed(circ_mgr_t *m)
{
  dlist_node_t *n;
  while ((n = dlist_first(&m->closed)) != NULL) {
    mgr_entry_t *e = ENTRY_OF(n, work);
    dlist_remove(&e->work);
    dlist_remove(&e->all);
    (void)move_cells(m, e);   /* a last DESTROY */
    circid_set_t *ids = m->ch ? channel_circids(m->ch) : NULL;
    if (ids)
      (void)circid_set_remove(ids, e->id);
    circ_origin_free(e->circ);
    al_free(e);
    m->n--;
  }
}

/* Visit the dirty circuits until none is left (bounded), then reap. */
static void
circ_mgr_run(circ_mgr_t *m)
{
  if (m->busy)
    return;   /* the running flush (or cell) picks the marks up */
  m->busy++;
  for (int pass = 0; pass < CIRC_MGR_MAX_PASSES; pass++) {
    dlist_t work;
    dlist_node_t *n;
    dlist_init(&work);
    while ((n = dlist_first(&m->dirty)) != NULL) {
      dlist_remove(n);
      dlist_push_tail(&work, n);
    }
    if (dlist_is_empty(&work))
      break;
    while ((n = dlist_first(&work)) != NULL) {
      mgr_entry_t *e = ENTRY_OF(n, work);
      dlist_remove(n);
      (void)move_cells(m, e);
      (void)deliver_events(m, e);
      (void)move_cells(m, e);
      if (!e->closed && circ_origin_has_output(e->circ))
        entry_mark(e);
    }
  }
  reap_closed(m);
  m->busy--;
}

void
circ_mgr_flush_circ(circ_mgr_t *m, uint32_t circ_id)
{
  mgr_entry_t *e = find_entry(m, circ_id);
  if (e)
    entry_mark(e);
  circ_mgr_run(m);
}

void
circ_mgr_flush(circ_mgr_t *m)
{
  for (dlist_node_t *n = dlist_first(&m->all); n && n != &m->all;
       n = n->next)
    entry_mark(ENTRY_OF(n, all));
  circ_mgr_run(m);
}

void
circ_mgr_tick(circ_mgr_t *m, uint64_t now)
{
  for (dlist_node_t *n = dlist_first(&m->all); n && n != &m->all;
       n = n->next) {
    mgr_entry_t *e = ENTRY_OF(n, all);
    if (e->closed)
      continue;
    circ_origin_tick(e->circ, now);
    relay_streams_t *t = circ_origin_streams(e->circ);
    if (t)
      relay_streams_set_time(t, now);
  }
  circ_mgr_flush(m);
}

void
circ_mgr_channel_closed(circ_mgr_t *m)
{
  m->ch = NULL;
  for (dlist_node_t *n = dlist_first(&m->all); n && n != &m->all;
       n = n->next) {
    mgr_entry_t *e = ENTRY_OF(n, all);
    if (!e->closed)
      circ_origin_close(e->circ, CELL_DESTROY_CHANNEL_CLOSED);
  }
  circ_mgr_flush(m);
}
