/* test_relay.h -- a minimal in-process onion relay for main-loop tests,
 * over real loopback TLS channels (tor-spec 4 link handshake as responder,
 * 5.1 CREATE2/ntor, 5.3 EXTEND2 by opening a channel to the next relay,
 * 6.2 BEGIN answered with CONNECTED, DATA echoed back at the last hop).
 *
 * Modes make it misbehave in simple ways (DESTROY every CREATE2, never
 * answer CREATE2); a hook (trelay_set_hook) lets a test script a hostile
 * peer: see or replace the answer to a CREATE2, tamper with or suppress
 * the CREATED2, and inject any cell (trelay_send_cell).  Everything is
 * freed by trelay_free(); channels are never freed from their own
 * callbacks. */
#ifndef ALLIUM_TESTS_MAINLOOP_TEST_RELAY_H
#define ALLIUM_TESTS_MAINLOOP_TEST_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/core/circuit/circuit_origin.h"

struct event_base;

typedef enum trelay_mode_t {
  TRELAY_OK = 0,
  TRELAY_DESTROY_CREATE,   /**< answer CREATE2 with DESTROY(RESOURCELIMIT) */
  TRELAY_SILENT,           /**< never answer CREATE2 */
} trelay_mode_t;

typedef struct trelay_t trelay_t;

/** Where a hook runs. */
typedef enum trelay_hook_at_t {
  /** A CREATE2 arrived on an accepted channel (payload: the CREATE2).
   * Return true to drop it (the hook answers itself, or not at all). */
  TRELAY_AT_CREATE2 = 1,
  /** A CREATED2 is about to go back on an accepted channel (payload: the
   * CREATED2, which the hook may change).  Return true to not send it. */
  TRELAY_AT_CREATED2,
} trelay_hook_at_t;

/** A test's script: circ_id is the circuit's id on the accepted channel;
 * payload is CELL_PAYLOAD_LEN bytes. */
typedef bool (*trelay_hook_fn)(trelay_t *r, trelay_hook_at_t at,
                               uint32_t circ_id, uint8_t *payload, void *arg);

/** A relay listening on 127.0.0.1 (random port) with a fresh identity and
 * ntor key, serving on base.  Criterion asserts on failure. */
trelay_t *trelay_new(struct event_base *base, trelay_mode_t mode);
/** The same with link certificates made as if the clock read now (an old
 * now gives expired certificates). */
trelay_t *trelay_new_at(struct event_base *base, trelay_mode_t mode,
                        time_t now);
/** Close and free everything (NULL ok).  Call outside the loop. */
void trelay_free_(trelay_t *r);
#define trelay_free(p) do { trelay_free_(p); (p) = NULL; } while (0)

/** How a client names this relay in a path (identity, ntor key, address). */
const circ_hop_spec_t *trelay_spec(const trelay_t *r);
void trelay_set_mode(trelay_t *r, trelay_mode_t mode);
/** Install (or with NULL remove) the hook. */
void trelay_set_hook(trelay_t *r, trelay_hook_fn fn, void *arg);
/** Send a cell as given (any circuit id, command and payload_len; a
 * fixed cell is zero-padded) on the most recently accepted channel that is
 * open.  0, or -1 (no open channel, or it cannot be encoded). */
int trelay_send_cell(trelay_t *r, uint32_t circ_id, uint8_t command,
                     const uint8_t *payload, uint16_t len);
/** The circuit id of the last CREATE2 received (0 if none). */
uint32_t trelay_last_circ_id(const trelay_t *r);
/** Close every channel of this relay (accepted and outgoing) now. */
void trelay_close_channels(trelay_t *r);

/** Channels accepted so far. */
size_t trelay_n_accepted(const trelay_t *r);
/** CREATE2 cells received so far. */
size_t trelay_n_creates(const trelay_t *r);
/** Stream bytes echoed back so far (as the last hop). */
size_t trelay_n_echoed(const trelay_t *r);

#endif
