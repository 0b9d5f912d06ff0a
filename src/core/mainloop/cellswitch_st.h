/* cellswitch_st.h -- (private to src/core/mainloop/cellswitch*.c and their
 * tests) the cell engine's objects: channels, circuits, the two sides of a
 * circuit ("ends", each with its cell queue), pooled cell slots.  See
 * include/allium/core/mainloop/cellswitch.h and doc/architecture.md. */
#ifndef ALLIUM_SRC_CORE_MAINLOOP_CELLSWITCH_ST_H
#define ALLIUM_SRC_CORE_MAINLOOP_CELLSWITCH_ST_H

#include <stdbool.h>
#include <stdint.h>

#include "allium/core/circuit/congestion.h"
#include "allium/core/mainloop/cellswitch.h"
#include "allium/core/onion/onion_workers.h"
#include "allium/lib/container/dlist.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/container/minheap.h"

struct event;

/** One queued cell: a pooled slot (allocated once, reused). */
typedef struct cs_cell_t {
  struct cs_cell_t *next;
  uint32_t queued_msec;    /**< when queued (monotonic, truncated) */
  circ_cell_t cc;          /**< command + 509-byte payload */
} cs_cell_t;

typedef struct cs_cellq_t {
  cs_cell_t *head, *tail;
  uint32_t n;
} cs_cellq_t;

typedef struct cs_chan_t cs_chan_t;
typedef struct cs_circ_t cs_circ_t;

/** One side of a circuit: its presence on one channel. */
typedef struct cs_end_t {
  cs_circ_t *circ;
  cs_chan_t *chan;         /**< NULL: no channel (yet / any more) */
  uint32_t id;             /**< circuit id on chan; 0: none */
  uint8_t dir;             /**< CIRC_DIR_PREV or CIRC_DIR_NEXT */
  cs_cellq_t q;            /**< cells to send on chan */
  double ewma;             /**< recent cells sent, in chan's EWMA units */
  int heap_idx;            /**< in chan->active; -1 when not */
  cs_chan_t *full_src;     /**< channel paused because q is over high */
  dlist_node_t chan_node;  /**< in chan->ends */
} cs_end_t;

/** What a circuit map entry names (origin circuits join later). */
typedef enum cs_circ_kind_t {
  CS_CIRC_RELAY = 1,
} cs_circ_kind_t;

typedef enum cs_circ_state_t {
  CS_CIRC_ANSWERING = 1,   /**< CREATE received, handshake pending */
  CS_CIRC_LIVE,
} cs_circ_state_t;

struct cs_circ_t {
  cellswitch_t *sw;
  uint64_t handle;
  cs_circ_kind_t kind;
  cs_circ_state_t state;
  circ_relay_t *rc;
  cs_end_t prev, next;
  cs_chan_t *waiting_for;  /**< extend: channel still opening */
  dlist_node_t wait_node;  /**< in waiting_for->waiting */
  cs_cell_t *create2;      /**< extend: CREATE2 payload while waiting */
  bool in_pump, closing, counted;
  onion_request_t *req;    /**< CREATE on the worker pool, not answered */
  struct cs_dirstreams_t *dir;  /**< engine-owned streams (cellswitch_stream.c) */
  dos_stream_bucket_t dos_streams;  /**< DoSStreamCreation* (core/dos) */
  /** Rendezvous point: the circuit joined to this one (each names the
   * other), or NULL.  Unrecognized forward cells go down its prev side. */
  struct cs_circ_t *splice;
  uint8_t close_reason;    /**< DESTROY reason for a joined circuit */
};

struct cs_chan_t {
  cellswitch_t *sw;
  channel_t *ch;
  uint32_t idx;            /**< key half of the circuit map */
  bool outgoing, open, closed, blocked, pending, mapped, has_id;
  uint8_t rsa_id[20];
  ed25519_public_key_t ed_id;
  bool has_ed;
  bool peer_private;       /**< ops: accepted from a private address */
  dlist_t ends;            /**< cs_end_t on this channel */
  dlist_t waiting;         /**< circuits waiting to extend over it */
  minheap_t active;        /**< ends with queued cells, by ewma */
  dlist_node_t pending_node;   /**< in sw->pending */
  dlist_node_t all_node;       /**< in sw->chans or sw->dead */
  uint32_t n_full;         /**< ends fed by us over their high mark */
  size_t n_queued;         /**< cells queued in all ends on us */
  uint64_t paused_at;      /**< when reading was paused (n_full > 0) */
  bool pause_overridden;   /**< paused too long: reading again */
  dlist_node_t paused_node;    /**< in sw->paused while n_full > 0 */
  uint64_t ewma_base_msec; /**< EWMA unit origin */
  double ewma_unit;        /**< the unit at the last flush (direct path) */
  /* DoS defences (core/dos): the peer's address; counted as a client
   * connection (accepted, peer not authenticated as a relay). */
  dos_addr_t peer_addr;
  bool dos_tracked;
  bool client;             /**< accepted, peer not (yet) a relay */
};

struct cellswitch_t {
  struct event_base *base;
  cellswitch_config_t cfg;
  hmap_t *circ_by_id;      /**< (chan idx << 32 | circ id) -> cs_end_t */
  hmap_t *circ_by_handle;  /**< handle -> cs_circ_t */
  hmap_t *chan_by_rsa;     /**< RSA identity digest -> cs_chan_t */
  dlist_t chans;           /**< live channels */
  dlist_t dead;            /**< closed channels, freed by the flush event */
  dlist_t pending;         /**< channels with cells to write, not blocked */
  struct event *flush_ev;  /**< deferred: flush pending, reap dead */
  dlist_t paused;          /**< channels whose reading is paused */
  struct event *tick;      /**< 1 s: end pauses that last too long */
  struct event *oom_ev;    /**< deferred MaxMemInQueues pass */
  cs_cell_t *free_cells;   /**< slot pool */
  size_t n_free_cells;
  uint32_t next_chan_idx;
  uint64_t next_handle;
  size_t n_circuits;
  cellswitch_stats_t st;
  bool freeing;
  onion_workers_t *workers;    /**< CREATE answered off the loop (borrowed) */
  size_t dir_held;         /**< bytes held by directory streams */
  size_t mem_peak_circs;   /**< most circuits since memory was last given back */
  dlist_t dir_circs;       /**< circuits with directory streams */
  dos_t *dos;              /**< DoS defences (borrowed), or NULL */
  bool hibernating;        /**< AccountingMax: CREATE gets DESTROY(HIBERNATING) */
  cellswitch_exit_hooks_t exit_hooks;   /**< feature/exit (may be unset) */
  cc_params_t cc_params;   /**< for circuits that negotiated congestion
                            *   control (proposal 324); tor's defaults until
                            *   cellswitch_set_cc_params() */
};

/* ---- cellswitch_sched.c: slots, queues, scheduling, back-pressure ---- */
cs_cell_t *cs_cell_alloc(cellswitch_t *sw);
void cs_cell_release(cellswitch_t *sw, cs_cell_t *c);
void cs_pool_trim(cellswitch_t *sw, size_t keep);
/** Queue cell on end (taken); closes the circuit when over the cap. */
void cs_end_enqueue(cs_end_t *end, cs_cell_t *cell);
uint8_t *cs_end_direct_slot(cs_end_t *end);
void cs_end_direct_commit(cs_end_t *end, uint8_t command);
/** Drop every queued cell of end, leave the heap, undo its pause. */
void cs_end_drop_queue(cs_end_t *end);
/** Write up to a batch of cells from chan's circuits into its channel. */
void cs_chan_flush(cs_chan_t *chan);
void cs_chan_mark_pending(cs_chan_t *chan);
void cs_schedule_flush(cellswitch_t *sw);
int cs_end_cmp(const void *a, const void *b);
/** The channel's output buffer drained to the low mark. */
void cs_chan_drained(channel_t *ch, void *arg);
/** Undo the read pause end caused (if any). */
void cs_end_unpause(cs_end_t *end);
/** Resume reading on channels paused for longer than the limit. */
void cs_check_pauses(cellswitch_t *sw, uint64_t now);

/* ---- cellswitch_oom.c ---- */
/** Every second: after many circuits went away, give their memory back;
 * run the MaxMemInQueues pass again while still over the limit. */
void cs_mem_tick(cellswitch_t *sw);
/** Unregister the MaxMemInQueues callback (cellswitch_free()). */
void cs_mem_unwatch(cellswitch_t *sw);

/* ---- cellswitch_circ.c: circuits ---- */
static inline uint64_t cs_key(const cs_chan_t *chan, uint32_t id)
{
  return ((uint64_t)chan->idx << 32) | id;
}
/** A CREATE2 / CREATE_FAST / CREATE for an unused id on chan. */
void cs_circ_handle_create(cs_chan_t *chan, const cell_t *cell);
/** A cell for an existing circuit side. */
void cs_circ_handle_cell(cs_end_t *end, const cell_t *cell);
/** chan closed: every circuit on it hears DESTROY from that side. */
void cs_circ_channel_closed(cs_chan_t *chan);
/** chan opened: circuits waiting to extend over it send their CREATE2. */
void cs_circ_channel_opened(cs_chan_t *chan);
/** Move what the circuit queued; tear it down when it closed. */
void cs_circ_pump(cs_circ_t *c);
/** Remove the circuit from everything and free it (no cells sent). */
void cs_circ_free(cs_circ_t *c);
/** Send DESTROY(reason) on end now (ahead of queued cells, which are
 * dropped) and detach the end. */
void cs_end_send_destroy(cs_end_t *end, uint8_t reason);
void cs_end_detach(cs_end_t *end);

/* ---- cellswitch_stream.c: streams at the last hop ---- */
/** A RELAY_MSG event of c: true if the engine took it (stream command). */
bool cs_stream_relay_msg(cs_circ_t *c, const circ_event_t *ev);
/** Drain c's engine-owned stream table and write responses; false if c has
 * none (then the owner's on_streams hook runs). */
bool cs_stream_pump(cs_circ_t *c);
/** c is being freed. */
void cs_stream_circ_free(cs_circ_t *c);
/** Every second: end requests that stay incomplete too long. */
void cs_stream_tick(cellswitch_t *sw, uint64_t now_msec);

/* ---- cellswitch.c: channels ---- */
/** The channel to reach rsa_id (open or opening), or NULL. */
cs_chan_t *cs_chan_by_rsa(cellswitch_t *sw, const uint8_t rsa_id[20]);
/** Open a channel to addr expecting these identities (ed may be NULL). */
cs_chan_t *cs_chan_connect(cellswitch_t *sw, const struct sockaddr *addr,
                           socklen_t addrlen, const uint8_t rsa_id[20],
                           const ed25519_public_key_t *ed);

#endif
