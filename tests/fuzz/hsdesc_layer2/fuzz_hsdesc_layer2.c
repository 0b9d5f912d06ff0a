/* fuzz_hsdesc_layer2.c -- fuzz target for the second-layer plaintext of a
 * v3 onion service descriptor (rend-spec-v3 2.5.2.2): the first byte picks
 * whether the certificates are checked against a fixed descriptor signing
 * key (odd) or only parsed (even); the rest goes to hs_desc_layer2_parse().
 * What parses must build, parse again and build to the same text, and its
 * link specifiers must decode. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

static ed25519_keypair_t SIGN;
static const time_t NOW = 1800000000;

int
fuzz_init(void)
{
  uint8_t seed[32];
  if (crypto_global_init() < 0)
    return -1;
  memset(seed, 0x5a, sizeof(seed));   /* the key the seed corpus was made with */
  return ed25519_keypair_from_seed(&SIGN, seed);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  const ed25519_public_key_t *pk = (data[0] & 1) ? &SIGN.pub : NULL;
  hs_desc_layer2_t *l = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (hs_desc_layer2_parse((const char *)data + 1, len - 1, pk, NOW, &l, &err) < 0)
    return 0;
  relay_extend2_t *m = al_malloc(sizeof(*m));
  for (size_t i = 0; i < l->n_intro; i++)
    if (hs_desc_intro_point_lspecs(&l->intro[i], m) < 0)
      abort();
  al_free(m);
  char *s = NULL, *s2 = NULL;
  size_t n = 0, n2 = 0;
  int rv = hs_desc_layer2_build(l, &s, &n);
  if (rv == HS_DESC_ERR_LIMIT) {     /* re-encoding grew past 50000 bytes */
    hs_desc_layer2_free(l);
    return 0;
  }
  if (rv < 0)
    abort();
  hs_desc_layer2_t *again = NULL;
  if (hs_desc_layer2_parse(s, n, pk, NOW, &again, NULL) < 0 ||
      again->n_intro != l->n_intro || hs_desc_layer2_build(again, &s2, &n2) < 0 ||
      n2 != n || memcmp(s, s2, n) != 0)
    abort();
  al_free(s2);
  hs_desc_layer2_free(again);
  al_free(s);
  hs_desc_layer2_free(l);
  return 0;
}
