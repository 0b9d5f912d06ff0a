/* circuit_origin_table.h -- the table of origin circuits on one channel
 * (tor-spec 5.1.1 circuit ids, 5.1 / 5.1.5 circuit creation, 5.4
 * teardown).  The API keeps its historical prefix circ_mgr_.
 *
 * The manager owns a set of circ_origin_t on one channel: it picks each
 * circuit's id from the channel's circid set, moves the cells a circuit
 * queues onto the channel, routes incoming cells by circuit id to
 * circ_origin_handle_cell(), and hands circuit and stream events to the
 * caller's callbacks.  It does not own the channel: the caller forwards its
 * channel callbacks (circ_mgr_handle_cell() from on_cell,
 * circ_mgr_channel_closed() from on_close).
 *
 * After anything that may queue cells (a stream write, begin, end, ...)
 * call circ_mgr_flush_circ() (or circ_mgr_flush() for all of them).
 * Lookups by id are constant time; a circuit's cells go from its encrypt
 * buffer straight into the channel's output (circ_origin_set_cell_sink()),
 * incoming cells are decrypted in place in one table-owned buffer.  Callbacks run from inside the manager and may
 * call circ_mgr functions, except circ_mgr_free().  A circuit is removed
 * (and freed) right after its CLOSED event was delivered.
 */
#ifndef ALLIUM_CORE_CIRCUIT_CIRCUIT_ORIGIN_TABLE_H
#define ALLIUM_CORE_CIRCUIT_CIRCUIT_ORIGIN_TABLE_H

#include <stdint.h>

#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_origin.h"

typedef struct circ_mgr_t circ_mgr_t;

typedef struct circ_mgr_callbacks_t {
  /** A circuit event (HOP_ADDED, CLOSED, RELAY_MSG, IGNORED). */
  void (*on_circ)(circ_mgr_t *m, uint32_t circ_id, const circ_event_t *ev,
                  void *arg);
  /** An event of a stream on that circuit's stream table. */
  void (*on_stream)(circ_mgr_t *m, uint32_t circ_id,
                    const relay_stream_event_t *ev, void *arg);
  void *arg;
} circ_mgr_callbacks_t;

/** New manager for ch (borrowed; must be OPEN to launch circuits).
 * cbs is copied.  Caller frees with circ_mgr_free(). */
circ_mgr_t *circ_mgr_new(channel_t *ch, const circ_mgr_callbacks_t *cbs);
/** Free every circuit (nothing is sent) and the manager; NULL is fine.
 * Does not free the channel. */
void circ_mgr_free_(circ_mgr_t *m);
#define circ_mgr_free(p) do { circ_mgr_free_(p); (p) = NULL; } while (0)

/** Take ownership of c (state NEW), give it an id from the channel's set
 * and return that id in *id_out.  0, or -1 (channel not open, no free id;
 * c is then freed). */
int circ_mgr_add(circ_mgr_t *m, circ_origin_t *c, uint32_t *id_out);
/** A new one-hop CREATE_FAST circuit (circ_origin_start_fast()), its
 * cell sent at once.  0 and *id_out, or -1. */
int circ_mgr_launch_fast(circ_mgr_t *m, const circ_hop_spec_t *first,
                         uint64_t now, uint64_t timeout, uint32_t *id_out);
/** A new circuit whose first hop is built with CREATE2 / ntor. */
int circ_mgr_launch(circ_mgr_t *m, const circ_hop_spec_t *first,
                    uint64_t now, uint64_t timeout, uint32_t *id_out);
/** The circuit with this id, or NULL (borrowed). */
circ_origin_t *circ_mgr_get(circ_mgr_t *m, uint32_t circ_id);
size_t circ_mgr_n_circuits(const circ_mgr_t *m);

/** A cell from the channel (call from the channel's on_cell).  Cells for
 * unknown circuits are dropped. */
void circ_mgr_handle_cell(circ_mgr_t *m, const cell_t *cell);
/** Send every queued cell, deliver every pending event, drop closed
 * circuits. */
void circ_mgr_flush(circ_mgr_t *m);
/** circ_mgr_flush() for one circuit (the cell path: constant time): send
 * what circuit circ_id queued, deliver its events, drop closed circuits.
 * Unknown ids only reap. */
void circ_mgr_flush_circ(circ_mgr_t *m, uint32_t circ_id);
/** Time for build deadlines and stream expiry (the caller's clock, the
 * same unit as launch's now/timeout); then flushes. */
void circ_mgr_tick(circ_mgr_t *m, uint64_t now);
/** The channel is gone: every circuit closes (CHANNEL_CLOSED), events are
 * delivered, nothing is sent; the manager no longer uses the channel. */
void circ_mgr_channel_closed(circ_mgr_t *m);

#endif
