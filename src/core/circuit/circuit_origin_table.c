/* circuit_origin_table.c -- origin circuits bound to one channel: circuit ids from
 * the channel's set (tor-spec 5.1.1), cells moved between the sans-IO
 * circuits and the channel, incoming cells routed by circuit id, events
 * handed to the caller.  See include/allium/core/circuit/circuit_origin_table.h. */
#define LOG_MODULE "circuit"
#include "allium/core/circuit/circuit_origin_table.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

/* Bound on flush passes: callbacks that keep queueing are resumed on the
 * next flush instead of looping forever. */
#define CIRC_MGR_MAX_PASSES 64

typedef struct mgr_entry_t {
  uint32_t id;
  circ_origin_t *circ;
  bool closed;                 /**< CLOSED event delivered */
  struct mgr_entry_t *next;
} mgr_entry_t;

struct circ_mgr_t {
  channel_t *ch;               /**< NULL once closed */
  circ_mgr_callbacks_t cbs;
  mgr_entry_t *list;
  size_t n;
  bool flushing;
  bool again;
};

circ_mgr_t *
circ_mgr_new(channel_t *ch, const circ_mgr_callbacks_t *cbs)
{
  circ_mgr_t *m = al_calloc(1, sizeof(*m));
  m->ch = ch;
  if (cbs)
    m->cbs = *cbs;
  return m;
}

void
circ_mgr_free_(circ_mgr_t *m)
{
  if (!m)
    return;
  mgr_entry_t *e = m->list;
  while (e) {
    mgr_entry_t *next = e->next;
    circ_origin_free(e->circ);
    al_free(e);
    e = next;
  }
  al_free(m);
}

static mgr_entry_t *
find_entry(circ_mgr_t *m, uint32_t id)
{
  for (mgr_entry_t *e = m->list; e; e = e->next)
    if (e->id == id && !e->closed)
      return e;
  return NULL;
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
  e->next = m->list;
  m->list = e;
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
  c = find_entry(m, id)->circ;
  int r = fast ? circ_origin_start_fast(c, first, now, timeout)
               : circ_origin_start(c, first, now, timeout);
  if (r < 0) {
    /* Never started: nothing went out; drop it quietly. */
    mgr_entry_t *e = find_entry(m, id);
    e->closed = true;
    circ_origin_close(c, CELL_DESTROY_INTERNAL);
    while (circ_origin_next_event(c, &(circ_event_t){ 0 }) == 1)
      ;
    circ_cell_t junk;
    while (circ_origin_next_cell(c, &junk) == 1)
      ;
    circ_mgr_flush(m);
    return -1;
  }
  if (id_out)
    *id_out = id;
  circ_mgr_flush(m);
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

void
circ_mgr_handle_cell(circ_mgr_t *m, const cell_t *cell)
{
  uint8_t payload[CELL_PAYLOAD_LEN];
  mgr_entry_t *e = find_entry(m, cell->circ_id);
  if (!e || cell->circ_id == 0) {
    log_info_rl(60, "cell %u for unknown circuit dropped", cell->command);
    return;
  }
  memset(payload, 0, sizeof(payload));
  memcpy(payload, cell->payload,
         cell->payload_len < sizeof(payload) ? cell->payload_len
                                             : sizeof(payload));
  (void)circ_origin_handle_cell(e->circ, cell->command, payload);
  memwipe(payload, sizeof(payload));
  circ_mgr_flush(m);
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
  memwipe(&cc, sizeof(cc));
  return n;
}

/* Deliver e's circuit and stream events.  Returns the number delivered.
 * Runs for every cell that arrives, so the events live on the stack (a
 * callback may flush again: each nesting level has its own) and are wiped
 * only when something was delivered. */
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
      e->closed = true;
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
  mgr_entry_t **pp = &m->list;
  while (*pp) {
    mgr_entry_t *e = *pp;
    if (!e->closed) {
      pp = &e->next;
      continue;
    }
    (void)move_cells(m, e);   /* a last DESTROY */
    circid_set_t *ids = m->ch ? channel_circids(m->ch) : NULL;
    if (ids)
      (void)circid_set_remove(ids, e->id);
    *pp = e->next;
    circ_origin_free(e->circ);
    al_free(e);
    m->n--;
  }
}

void
circ_mgr_flush(circ_mgr_t *m)
{
  if (m->flushing) {
    m->again = true;
    return;
  }
  m->flushing = true;
  for (int pass = 0; pass < CIRC_MGR_MAX_PASSES; pass++) {
    size_t moved = 0;
    m->again = false;
    for (mgr_entry_t *e = m->list; e; e = e->next) {
      moved += move_cells(m, e);
      moved += deliver_events(m, e);
      moved += move_cells(m, e);
    }
    if (!moved && !m->again)
      break;
  }
  reap_closed(m);
  m->flushing = false;
}

void
circ_mgr_tick(circ_mgr_t *m, uint64_t now)
{
  for (mgr_entry_t *e = m->list; e; e = e->next) {
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
  for (mgr_entry_t *e = m->list; e; e = e->next)
    if (!e->closed)
      circ_origin_close(e->circ, CELL_DESTROY_CHANNEL_CLOSED);
  circ_mgr_flush(m);
}
