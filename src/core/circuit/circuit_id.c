/* circuit_id.c -- circuit id choice and checks for link protocol >= 4
 * (tor-spec 5.1.1).  See include/allium/core/circuit/circuit_id.h. */
#include "allium/core/circuit/circuit_id.h"
#include "allium/lib/crypto/rand.h"

#define CIRC_ID_MSB 0x80000000u

uint32_t
circ_id_pick(bool we_initiated, circ_id_in_use_fn in_use, void *ctx)
{
  for (int i = 0; i < CIRC_ID_MAX_TRIES; i++) {
    uint32_t id;
    crypto_rand(&id, sizeof(id));
    id = we_initiated ? (id | CIRC_ID_MSB) : (id & ~CIRC_ID_MSB);
    if (id == 0)
      continue;
    if (!in_use || !in_use(ctx, id))
      return id;
  }
  return 0;
}

bool
circ_id_peer_valid(uint32_t id, bool we_initiated)
{
  if (id == 0)
    return false;
  bool peer_msb = (id & CIRC_ID_MSB) != 0;
  /* The peer initiated iff we did not; the initiator sets the MSB. */
  return peer_msb == !we_initiated;
}
