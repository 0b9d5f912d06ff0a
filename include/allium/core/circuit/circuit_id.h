/* circuit_id.h -- choosing and checking circuit ids (tor-spec 5.1.1) for
 * link protocol 4 and later: 4-byte ids, the side that initiated the
 * connection uses ids with the MSB set, the other side with it clear; 0 is
 * never a circuit.  The channel layer owns the id -> circuit map and asks
 * its in_use() predicate here.
 */
#ifndef ALLIUM_CORE_CIRCUIT_CIRCUIT_ID_H
#define ALLIUM_CORE_CIRCUIT_CIRCUIT_ID_H

#include <stdbool.h>
#include <stdint.h>

/** Random tries before giving up on a channel (tor stops after 64). */
#define CIRC_ID_MAX_TRIES 64

/** Returns true if id is already used on the channel. */
typedef bool (*circ_id_in_use_fn)(void *ctx, uint32_t id);

/** Pick a random unused id for a CREATE2 we send on a channel we did
 * (we_initiated) or did not open.  0 if CIRC_ID_MAX_TRIES random ids were
 * all in use (the caller stops building circuits on that channel). */
uint32_t circ_id_pick(bool we_initiated, circ_id_in_use_fn in_use, void *ctx);

/** True if a CREATE2 with id from the peer obeys 5.1.1: nonzero, and its
 * MSB says the peer is the connection's initiator iff we are not. */
bool circ_id_peer_valid(uint32_t id, bool we_initiated);

#endif
