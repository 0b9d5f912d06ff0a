/* circuit_relay.h -- the relay side of one circuit as a sans-IO state
 * machine (tor-spec 5.1, 5.1.2, 5.4, 5.5, 5.6, 6.1, 7.3; proposal 289).
 *
 * A relay circuit joins a "prev" channel (towards the originator) and,
 * once extended, a "next" channel.  The caller:
 *   - on a CREATE2 cell for a new circuit id calls circ_relay_create()
 *     (ntor server handshake with the relay's keys; CREATED2 queued);
 *   - hands every later cell of the circuit to circ_relay_handle_cell()
 *     with the direction it came from;
 *   - sends what circ_relay_next_cell() yields on the channel its dir names
 *     (NEXT: the next channel with the next circuit id, PREV: the previous);
 *   - acts on events: EXTEND_REQUEST (open a CREATE2 towards the target and
 *     pass back CREATED2 / DESTROY, or call circ_relay_extend_failed()),
 *     RELAY_MSG, CLOSED.
 * At the last hop a stream table (exit role) may be attached; recognized
 * stream messages then go to it.  Only ntor (HTYPE 2) is answered.
 */
#ifndef ALLIUM_CORE_CIRCUIT_CIRCUIT_RELAY_H
#define ALLIUM_CORE_CIRCUIT_CIRCUIT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/circuit/circuit_event.h"
#include "allium/core/relay/flow.h"
#include "allium/core/relay/stream.h"
#include "allium/lib/crypto/x25519.h"

/** The relay's long-term circuit keys. */
typedef struct circ_relay_keys_t {
  uint8_t rsa_id[20];             /**< RSA identity digest (ntor NODEID) */
  x25519_keypair_t ntor;          /**< current ntor onion key */
  bool has_old;
  x25519_keypair_t ntor_old;      /**< previous onion key, still accepted */
} circ_relay_keys_t;

typedef enum circ_relay_state_t {
  CIRC_RELAY_OPEN = 1,      /**< we are the last hop */
  CIRC_RELAY_EXTENDING,     /**< EXTEND_REQUEST given, CREATED2 pending */
  CIRC_RELAY_EXTENDED,      /**< a next hop exists; unrecognized cells go on */
  CIRC_RELAY_CLOSED,
} circ_relay_state_t;

typedef struct circ_relay_t circ_relay_t;

/** A CREATE2 payload (len bytes, normally 509) arrived for a new circuit.
 * On success *out is a new circuit (caller frees with circ_relay_free())
 * with a CREATED2 cell queued, and 0 is returned.  On failure (malformed,
 * unsupported handshake, onion key or identity not ours) returns a
 * negative value and stores in *destroy_reason the reason for the DESTROY
 * the caller sends back. */
int circ_relay_create(circ_relay_t **out, const circ_relay_keys_t *keys,
                      const uint8_t *payload, size_t len,
                      uint8_t *destroy_reason);
/** Free, wiping keys; sends nothing.  NULL is fine. */
void circ_relay_free_(circ_relay_t *c);
#define circ_relay_free(p) do { circ_relay_free_(p); (p) = NULL; } while (0)

/** A cell of this circuit from direction from_dir (CIRC_DIR_PREV: the
 * originator's side; CIRC_DIR_NEXT: the next hop).  Peer errors close the
 * circuit (CLOSED event, DESTROYs queued) and return 0; negative only on
 * API misuse. */
int circ_relay_handle_cell(circ_relay_t *c, int from_dir, uint8_t command,
                           const uint8_t payload[CELL_PAYLOAD_LEN]);
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

#endif
