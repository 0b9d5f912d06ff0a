/* fuzz_consensus.c -- fuzz target for the consensus parser of
 * src/feature/dirparse (dir-spec 3.4.1 and 3.9, both flavours) and the
 * dir-spec 1.2 tokenizer under it.  Whatever parses is walked through the
 * lookups and signature checking (no certificates: nothing may verify). */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dirparse/consensus.h"
#include "allium/lib/crypto/crypto_util.h"

int
fuzz_init(void)
{
  return crypto_global_init() < 0 ? -1 : 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  consensus_t *c = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (consensus_parse((const char *)data, len, &c, &err) < 0) {
    if (c || err.msg[0] == '\0')
      abort();
    return 0;
  }
  if (consensus_verify_signatures(c, NULL, 0, 0) != 0)
    abort();
  (void)consensus_get_param(c, "bwweightscale", 10000, 1, INT32_MAX);
  (void)consensus_get_bw_weight(c, "Wgg", 0);
  for (size_t i = 0; i < c->n_routers; i++)
    if (consensus_find_router(c, c->routers[i].identity) != &c->routers[i])
      abort();
  consensus_free(c);
  return 0;
}
