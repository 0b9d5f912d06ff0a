/* hsdesc_fixture.c -- see hsdesc_fixture.h. */
#include "hsdesc_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

void
hsdesc_keypair(ed25519_keypair_t *kp, uint8_t seed_byte)
{
  uint8_t seed[ED25519_SEED_LEN];
  for (size_t i = 0; i < sizeof(seed); i++)
    seed[i] = (uint8_t)(seed_byte + 3 * i);
  cr_assert_eq(ed25519_keypair_from_seed(kp, seed), 0);
}

uint8_t *
hsdesc_blob(size_t len)
{
  uint8_t *b = malloc(len ? len : 1);
  cr_assert_not_null(b);
  for (size_t i = 0; i < len; i++)
    b[i] = (uint8_t)(i * 131 + 7);
  return b;
}

char *
hsdesc_build(uint8_t b, uint8_t s, uint64_t rc, uint32_t life, size_t blob_len, size_t *len)
{
  ed25519_keypair_t bk, sk;
  hsdesc_keypair(&bk, b);
  hsdesc_keypair(&sk, s);
  uint8_t *blob = hsdesc_blob(blob_len);
  char *doc = NULL;
  cr_assert_eq(hs_desc_outer_build(&doc, len, &bk, &sk, HSDESC_NOW, HS_DESC_CERT_LIFETIME,
                                   rc, life, blob, blob_len), 0);
  free(blob);
  return doc;
}

char *
hsdesc_armor(const char *type, const uint8_t *data, size_t len)
{
  size_t n = base64_encode_size(len, BASE64_FLAG_MULTILINE);
  char *b64 = malloc(n);
  cr_assert_geq(base64_encode(b64, n, data, len, BASE64_FLAG_MULTILINE), 0);
  size_t outn = strlen(b64) + 2 * strlen(type) + 64;
  char *r = malloc(outn);
  snprintf(r, outn, "-----BEGIN %s-----\n%s-----END %s-----\n", type, b64, type);
  free(b64);
  return r;
}

char *
hsdesc_cert(uint8_t cert_type, const ed25519_keypair_t *blinded,
            const ed25519_keypair_t *signing, time_t lifetime, int with_ext)
{
  torcert_t *c = NULL;
  cr_assert_eq(torcert_create(&c, cert_type, CERT_KEY_TYPE_ED25519, signing->pub.pubkey,
                              blinded, HSDESC_NOW, lifetime, with_ext), 0);
  char *r = hsdesc_armor("ED25519 CERT", c->encoded, c->encoded_len);
  torcert_free(c);
  return r;
}

char *
hsdesc_sign(const char *body, const ed25519_keypair_t *signing)
{
  uint8_t sig[ED25519_SIG_LEN];
  char sig64[100];
  cr_assert_eq(ed25519_sign_prefixed(sig, HS_DESC_SIG_PREFIX, (const uint8_t *)body,
                                     strlen(body), signing), 0);
  cr_assert_geq(base64_encode(sig64, sizeof(sig64), sig, sizeof(sig), BASE64_FLAG_NOPAD), 0);
  size_t n = strlen(body) + strlen(sig64) + 16;
  char *r = malloc(n);
  snprintf(r, n, "%ssignature %s\n", body, sig64);
  return r;
}
