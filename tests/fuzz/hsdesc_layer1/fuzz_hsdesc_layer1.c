/* fuzz_hsdesc_layer1.c -- fuzz target for the first-layer plaintext of a v3
 * onion service descriptor (rend-spec-v3 2.5.1.2): hs_desc_layer1_parse()
 * on any bytes; what parses must build and parse again to the same fields,
 * and a client key (fixed, made once) looks for its cookie without
 * crashing. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

static uint8_t CLIENT_SEC[32], SUBCRED[32];

int
fuzz_init(void)
{
  if (crypto_global_init() < 0)
    return -1;
  memset(CLIENT_SEC, 0x42, sizeof(CLIENT_SEC));
  CLIENT_SEC[0] &= 248;
  CLIENT_SEC[31] = (CLIENT_SEC[31] & 127) | 64;
  memset(SUBCRED, 0x17, sizeof(SUBCRED));
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  hs_desc_layer1_t *l = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (hs_desc_layer1_parse((const char *)data, len, &l, &err) < 0)
    return 0;
  uint8_t cookie[HS_DESC_COOKIE_LEN];
  (void)hs_desc_layer1_find_cookie(l, CLIENT_SEC, SUBCRED, cookie);
  char *s = NULL;
  size_t n = 0;
  if (hs_desc_layer1_build(l, &s, &n) < 0)
    abort();                         /* a parsed layer must build */
  hs_desc_layer1_t *again = NULL;
  if (hs_desc_layer1_parse(s, n, &again, NULL) < 0 ||
      again->n_clients != l->n_clients || again->encrypted_len != l->encrypted_len ||
      memcmp(again->ephemeral_key, l->ephemeral_key, 32) != 0 ||
      memcmp(again->clients, l->clients, l->n_clients * sizeof(*l->clients)) != 0 ||
      memcmp(again->encrypted, l->encrypted, l->encrypted_len) != 0)
    abort();                         /* round trip changed something */
  hs_desc_layer1_free(again);
  al_free(s);
  hs_desc_layer1_free(l);
  return 0;
}
