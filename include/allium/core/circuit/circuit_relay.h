/* circuit_relay.h -- the relay side of one circuit as a sans-IO state
 * machine (tor-spec 5.1, 5.1.2, 5.1.5, 5.4, 5.5, 5.6, 6.1, 7.3; proposal
 * 289).
 *
 * A relay circuit joins a "prev" channel (towards the originator) and,
 * once extended, a "next" channel.  The caller:
 *   - answers the create cell of a new circuit id: either synchronously with
 *     circ_relay_create() / circ_relay_create_cell(), or off the loop with
 *     onion_workers_submit() (onion_workers.h) and then
 *     circ_relay_new_answered() on the answer (the reply cell is queued);
 *   - hands every later cell of the circuit to circ_relay_process_cell()
 *     (in place, no copy: returns 1 when the caller must pass the cell on)
 *     or to circ_relay_handle_cell() (copies; passed-on cells are queued);
 *   - sends what circ_relay_next_cell() yields on the channel its dir names
 *     (NEXT: the next channel with the next circuit id, PREV: the previous);
 *   - acts on events: EXTEND_REQUEST (check the target, open a CREATE2
 *     towards it and pass back CREATED2 / DESTROY, or call
 *     circ_relay_extend_failed()), NEXT_CLOSED, RELAY_MSG, CLOSED.
 * At the last hop a stream table (exit role) may be attached; recognized
 * stream messages then go to it.  CREATE2 with ntor and ntor v3 and
 * CREATE_FAST are answered (onion_server.h); CREATE/TAP are refused.
 */
#ifndef ALLIUM_CORE_CIRCUIT_CIRCUIT_RELAY_H
#define ALLIUM_CORE_CIRCUIT_CIRCUIT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/circuit/circuit_event.h"
#include "allium/core/circuit/congestion.h"
#include "allium/core/stream/flow.h"
#include "allium/core/stream/stream.h"
#include "allium/core/onion/onion_server.h"
#include "allium/lib/crypto/x25519.h"

/** The relay's long-term circuit keys (see onion_server.h). */
typedef onion_server_keys_t circ_relay_keys_t;

/** Default cap of cells queued in one direction of one circuit: tor's
 * circ_max_cell_queue_size consensus parameter (param-spec: default 50000,
 * minimum 1000).  Past it the circuit closes with RESOURCELIMIT. */
#define CIRC_RELAY_QUEUE_CAP_DEFAULT 50000
#define CIRC_RELAY_QUEUE_CAP_MIN 1000

typedef enum circ_relay_state_t {
  CIRC_RELAY_OPEN = 1,      /**< we are the last hop */
  CIRC_RELAY_EXTENDING,     /**< EXTEND_REQUEST given, CREATED2 pending */
  CIRC_RELAY_EXTENDED,      /**< a next hop exists; unrecognized cells go on */
  CIRC_RELAY_CLOSED,
} circ_relay_state_t;

typedef struct circ_relay_t circ_relay_t;

/** A CREATE2 payload (len bytes, normally 509) arrived for a new circuit:
 * answer it here, on this thread (ntor or ntor v3).  On success *out is a
 * new circuit (caller frees with circ_relay_free()) with a CREATED2 cell
 * queued, and 0 is returned.  On failure (malformed, unsupported handshake,
 * onion key or identity not ours) returns a negative value and stores in
 * *destroy_reason the reason for the DESTROY the caller sends back. */
int circ_relay_create(circ_relay_t **out, const circ_relay_keys_t *keys,
                      const uint8_t *payload, size_t len,
                      uint8_t *destroy_reason);
/** As circ_relay_create() for any create command (CELL_CREATE2,
 * CELL_CREATE_FAST; CELL_CREATE is refused). */
int circ_relay_create_cell(circ_relay_t **out, const circ_relay_keys_t *keys,
                           uint8_t command, const uint8_t *payload,
                           size_t len, uint8_t *destroy_reason);
/** A new circuit from a successful onion_server_answer() (e.g. computed on
 * a worker thread): relay crypto from ans->keys, the reply cell
 * (ans->command, ans->reply) queued towards PREV.  NULL if ans is not a
 * success.  The caller wipes ans afterwards. */
circ_relay_t *circ_relay_new_answered(const onion_answer_t *ans);
/** Free, wiping keys; sends nothing.  NULL is fine. */
void circ_relay_free_(circ_relay_t *c);
#define circ_relay_free(p) do { circ_relay_free_(p); (p) = NULL; } while (0)

/** A cell of this circuit from direction from_dir (CIRC_DIR_PREV: the
 * originator's side; CIRC_DIR_NEXT: the next hop).  Peer errors close the
 * circuit (CLOSED event, DESTROYs queued) and return 0; negative only on
 * API misuse. */
int circ_relay_handle_cell(circ_relay_t *c, int from_dir, uint8_t command,
                           const uint8_t payload[CELL_PAYLOAD_LEN]);
/** Fast path, in place: payload (509 bytes, modified: our relay-crypto
 * layer is added or removed) is a cell of this circuit from from_dir.
 * Returns 1 when the caller must send command and payload, as they now
 * are, towards *to_dir (an unrecognized cell passed on; nothing is queued
 * or allocated); 0 when the cell was handled here (look at
 * circ_relay_next_cell() / circ_relay_next_event()); negative on API
 * misuse.  Order: when it returns 1, first send what circ_relay_next_cell()
 * still holds (those cells were encrypted earlier), then this cell, so each
 * direction leaves in keystream order. */
int circ_relay_process_cell(circ_relay_t *c, int from_dir, uint8_t command,
                            uint8_t payload[CELL_PAYLOAD_LEN], int *to_dir);
/** For callers that keep their own per-circuit output queues (the cell
 * engine): n cells now wait for direction dir.  Past the cap the circuit
 * closes with RESOURCELIMIT (DESTROYs queued) and -1 is returned; the
 * caller should then drop its queued cells of this circuit. */
int circ_relay_note_queued(circ_relay_t *c, int dir, size_t n);
/** Change the per-direction queue cap (clamped to
 * CIRC_RELAY_QUEUE_CAP_MIN; 0 = default). */
void circ_relay_set_queue_cap(circ_relay_t *c, size_t cap);
/** Cells waiting in circ_relay_next_cell() for direction dir. */
size_t circ_relay_queued(const circ_relay_t *c, int dir);
/** The CREATE2 of an EXTEND_REQUEST could not be delivered (no channel,
 * identity mismatch ...): the circuit closes with reason. */
void circ_relay_extend_failed(circ_relay_t *c, uint8_t reason);

/** Originate a relay message towards the originator (we are its end: e.g.
 * CONNECTED, DATA, END).  DATA obeys and counts the circuit window. */
int circ_relay_send(circ_relay_t *c, uint8_t command, uint16_t stream_id,
                    const uint8_t *body, size_t body_len);
/** Tear down: DESTROY(reason) both ways, CLOSED event. */
void circ_relay_close(circ_relay_t *c, uint8_t reason);

/** Create the exit-role stream table (owned by the circuit); NULL if one
 * exists. */
relay_streams_t *circ_relay_attach_streams(circ_relay_t *c);
relay_streams_t *circ_relay_streams(circ_relay_t *c);

int circ_relay_next_cell(circ_relay_t *c, circ_cell_t *out);
int circ_relay_next_event(circ_relay_t *c, circ_event_t *out);
circ_relay_state_t circ_relay_state(const circ_relay_t *c);
/** RELAY_EARLY cells received from the originator's side so far. */
unsigned circ_relay_early_seen(const circ_relay_t *c);
const relay_flow_t *circ_relay_flow(const circ_relay_t *c);
/** How the circuit was created: CELL_HTYPE_NTOR, CELL_HTYPE_NTOR_V3 or
 * ONION_HTYPE_FAST (then we are the first hop, tor-spec 5.4). */
uint16_t circ_relay_htype(const circ_relay_t *c);
/** The client asked for congestion control (ntor v3 CC_REQUEST). */
bool circ_relay_cc_requested(const circ_relay_t *c);
/** Congestion control was negotiated (we answered the ntor v3 CC_REQUEST
 * with CC_RESPONSE(sendme_inc), proposal 324 4): run a congestion window
 * with parameters p instead of the fixed circuit windows, and XON/XOFF
 * instead of stream windows.  Only before the circuit carried any relay
 * message.  0, or CIRC_ERR_ARG / CIRC_ERR_STATE. */
int circ_relay_enable_cc(circ_relay_t *c, const cc_params_t *p,
                         uint8_t sendme_inc);
/** The circuit's congestion control state, or NULL (fixed windows). */
const cc_state_t *circ_relay_cc(const circ_relay_t *c);

/* ---- onion services (rend-spec-v3 3.1.1, 4.2) ---- */

/** The circuit's KH (ONION_KH_LEN bytes, onion_server.h), derived with its
 * relay-crypto keys by the create handshake: an introduction point checks
 * ESTABLISH_INTRO's HANDSHAKE_AUTH with it.  Wiped with the circuit.  NULL
 * for a NULL circuit. */
const uint8_t *circ_relay_kh(const circ_relay_t *c);
/** Rendezvous point: the circuit (open, we are its last hop, no stream
 * table) is joined to another one.  From now on a forward cell that our
 * layer does not recognize is no protocol error: circ_relay_process_cell()
 * returns 1 with *to_dir = CIRC_DIR_NEXT and the caller hands it to the
 * joined circuit's circ_relay_splice_inbound() (as a RELAY cell).  EXTEND2
 * is refused.  0, or CIRC_ERR_STATE. */
int circ_relay_set_spliced(circ_relay_t *c);
bool circ_relay_spliced(const circ_relay_t *c);
/** A cell (payload, in place) from the circuit joined to c: add c's
 * backward layer as for a cell from a next hop.  1: send it as CELL_RELAY
 * towards CIRC_DIR_PREV after what circ_relay_next_cell() still holds; 0:
 * c is closed (drop it); CIRC_ERR_ARG if c is not spliced. */
int circ_relay_splice_inbound(circ_relay_t *c,
                              uint8_t payload[CELL_PAYLOAD_LEN]);

/** True if the EXTEND2 target names this identity (its RSA id equals
 * rsa_id, or ed_id is non-NULL and equals its ed25519 id): the runtime
 * refuses to extend to itself or back to the previous hop with it. */
bool circ_extend_target_names(const circ_extend_target_t *t,
                              const uint8_t rsa_id[20], const uint8_t *ed_id);

#endif
