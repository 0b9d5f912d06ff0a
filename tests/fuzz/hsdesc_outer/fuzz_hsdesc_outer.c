/* fuzz_hsdesc_outer.c -- fuzz target for the v3 onion-service descriptor
 * outer layer (rend-spec-v3 2.4, src/feature/dirparse/hs_desc_outer.c) and
 * the HSDir store that takes uploads (src/feature/dircache/hsdir_store.c).
 *
 * "now" is fixed at the time the tor-made seeds were captured so that they
 * pass every check (cert expiry included) and exercise the whole path. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dircache/hsdir_store.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#define FUZZ_NOW ((time_t)1796393789)

int
fuzz_init(void)
{
  return crypto_global_init() < 0 ? -1 : 0;
}

/* A verified descriptor must verify again against the key it named, and
 * the store must take it and give back the same bytes. */
static void
check_accepted(const uint8_t *data, size_t len, const hs_desc_outer_t *d)
{
  if (d->version != HS_DESC_VERSION || d->lifetime_min < HS_DESC_MIN_LIFETIME ||
      d->lifetime_min > HS_DESC_MAX_LIFETIME || d->superencrypted_len < HS_DESC_BLOB_MIN_LEN ||
      d->cert_expiry < FUZZ_NOW)
    abort();
  hs_desc_outer_t *again = NULL;
  if (hs_desc_outer_parse((const char *)data, len, 0, &d->blinded_key, FUZZ_NOW, &again,
                          NULL) != 0 || again->revision_counter != d->revision_counter)
    abort();
  hs_desc_outer_free(again);
  hsdir_store_t *st = hsdir_store_new(0, 0);
  ed25519_public_key_t bk;
  if (hsdir_store_put(st, (const char *)data, len, FUZZ_NOW, &bk) != HSDIR_STORE_OK ||
      memcmp(bk.pubkey, d->blinded_key.pubkey, 32) != 0)
    abort();
  if (hsdir_store_put(st, (const char *)data, len, FUZZ_NOW, NULL) != HSDIR_STORE_ERR_REPLAY)
    abort();
  size_t n = 0;
  char *got = hsdir_store_get(st, bk.pubkey, FUZZ_NOW, &n);
  if (!got || n != len || memcmp(got, data, len) != 0)
    abort();
  al_free(got);
  hsdir_store_free(st);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  hs_desc_outer_t *d = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (hs_desc_outer_parse((const char *)data, len, 0, NULL, FUZZ_NOW, &d, &err) < 0) {
    if (d || err.msg[0] == '\0')
      abort();
    return 0;
  }
  check_accepted(data, len, d);
  hs_desc_outer_free(d);
  return 0;
}
