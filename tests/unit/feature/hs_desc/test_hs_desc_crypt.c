/* test_hs_desc_crypt.c -- descriptor layer encryption (rend-spec-v3 2.5.3):
 * the keys and MAC recomputed independently from the formulas with the
 * one-shot primitives, padding sizes, round trips, and every way the MAC
 * check must fail (wrong subcredential, revision, blinded key, cookie,
 * layer; flipped salt, ciphertext or MAC), truncated and oversized blobs. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/hs_common/hs_desc_crypt.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

static ed25519_public_key_t BK;
static uint8_t SUBCRED[32], COOKIE[32], SALT[16];

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  for (int i = 0; i < 32; i++) {
    BK.pubkey[i] = (uint8_t)(0x10 + i);
    SUBCRED[i] = (uint8_t)(0xa0 ^ i);
    COOKIE[i] = (uint8_t)(0x55 + 3 * i);
  }
  for (int i = 0; i < 16; i++)
    SALT[i] = (uint8_t)(0xf0 - i);
}

TestSuite(hs_desc_crypt, .init = setup);

static size_t
cat(uint8_t *buf, size_t off, const void *p, size_t n)
{
  memcpy(buf + off, p, n);
  return off + n;
}

/* keys and blob recomputed with one-shot SHAKE-256 / SHA3-256 / AES. */
static void
reference_encrypt(uint8_t *blob, const char *constant, const uint8_t *cookie, uint64_t rev,
                  const uint8_t *pt, size_t ct_len, size_t pt_len)
{
  uint8_t in[256], keys[80], revb[8];
  for (int i = 0; i < 8; i++)
    revb[i] = (uint8_t)(rev >> (56 - 8 * i));
  size_t n = cat(in, 0, BK.pubkey, 32);
  if (cookie)
    n = cat(in, n, cookie, HS_DESC_COOKIE_LEN);
  n = cat(in, n, SUBCRED, 32);
  n = cat(in, n, revb, 8);
  n = cat(in, n, SALT, 16);
  n = cat(in, n, constant, strlen(constant));
  cr_assert_eq(digest_shake256(keys, sizeof(keys), in, n), 0);
  memcpy(blob, SALT, 16);
  memset(blob + 16, 0, ct_len);
  memcpy(blob + 16, pt, pt_len);
  aes_ctr_t *c = aes_ctr_new(keys, 32, keys + 32);
  aes_ctr_crypt_inplace(c, blob + 16, ct_len);
  aes_ctr_free(c);
  uint8_t *m = al_malloc(8 + 32 + 8 + 16 + ct_len);
  const uint8_t l32[8] = { 0, 0, 0, 0, 0, 0, 0, 32 }, l16[8] = { 0, 0, 0, 0, 0, 0, 0, 16 };
  n = cat(m, 0, l32, 8);
  n = cat(m, n, keys + 48, 32);
  n = cat(m, n, l16, 8);
  n = cat(m, n, SALT, 16);
  n = cat(m, n, blob + 16, ct_len);
  cr_assert_eq(digest_sha3_256(blob + 16 + ct_len, m, n), 0);
  al_free(m);
}

Test(hs_desc_crypt, second_layer_matches_formula)
{
  const char *pt = "create2-formats 2\n";
  uint8_t *blob = NULL, ref[128];
  size_t len = 0;
  cr_assert_eq(hs_desc_layer_encrypt(&blob, &len, HS_DESC_LAYER_ENCRYPTED, &BK, COOKIE,
                                     SUBCRED, 0x0102030405060708ULL, SALT,
                                     (const uint8_t *)pt, strlen(pt)), 0);
  cr_assert_eq(len, strlen(pt) + 48, "second layer is not padded");
  reference_encrypt(ref, "hsdir-encrypted-data", COOKIE, 0x0102030405060708ULL,
                    (const uint8_t *)pt, strlen(pt), strlen(pt));
  cr_assert_arr_eq(blob, ref, len);
  al_free(blob);
  /* Without a cookie the cookie is left out of SECRET_DATA. */
  cr_assert_eq(hs_desc_layer_encrypt(&blob, &len, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 7, SALT, (const uint8_t *)pt, strlen(pt)), 0);
  reference_encrypt(ref, "hsdir-encrypted-data", NULL, 7, (const uint8_t *)pt, strlen(pt),
                    strlen(pt));
  cr_assert_arr_eq(blob, ref, len);
  al_free(blob);
}

Test(hs_desc_crypt, first_layer_padded_and_matches_formula)
{
  const char *pt = "desc-auth-type x25519\n";
  uint8_t *blob = NULL;
  size_t len = 0;
  cr_assert_eq(hs_desc_layer_encrypt(&blob, &len, HS_DESC_LAYER_SUPERENCRYPTED, &BK,
                                     COOKIE /* ignored */, SUBCRED, 42, SALT,
                                     (const uint8_t *)pt, strlen(pt)), 0);
  cr_assert_eq(len, 10000 + 48);
  uint8_t *ref = al_malloc(len);
  reference_encrypt(ref, "hsdir-superencrypted-data", NULL, 42, (const uint8_t *)pt, 10000,
                    strlen(pt));
  cr_assert_arr_eq(blob, ref, len);
  al_free(ref);
  char *out = NULL;
  size_t outlen = 0;
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_SUPERENCRYPTED, &BK, NULL,
                                     SUBCRED, 42, blob, len), 0);
  cr_assert_eq(outlen, strlen(pt), "padding dropped");
  cr_assert_str_eq(out, pt);
  al_free(out);
  al_free(blob);
}

Test(hs_desc_crypt, padding_sizes)
{
  static uint8_t pt[20001];
  memset(pt, 'a', sizeof(pt));
  const size_t in[] = { 0, 1, 9999, 10000, 10001, 20000, 20001 };
  const size_t want[] = { 10000, 10000, 10000, 10000, 20000, 20000, 30000 };
  for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
    uint8_t *blob = NULL;
    size_t len = 0;
    cr_assert_eq(hs_desc_layer_encrypt(&blob, &len, HS_DESC_LAYER_SUPERENCRYPTED, &BK, NULL,
                                       SUBCRED, 1, NULL, pt, in[i]), 0);
    cr_assert_eq(len, want[i] + 48, "input %zu", in[i]);
    char *out = NULL;
    size_t outlen = 0;
    cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_SUPERENCRYPTED, &BK,
                                       NULL, SUBCRED, 1, blob, len), 0);
    cr_assert_eq(outlen, in[i]);
    al_free(out);
    al_free(blob);
  }
  /* 50000 bytes of first layer would pad to 50000 + 48: over the limit. */
  uint8_t *big = al_calloc(1, 50000), *blob = NULL;
  size_t len = 0;
  memset(big, 'b', 50000);
  cr_assert_eq(hs_desc_layer_encrypt(&blob, &len, HS_DESC_LAYER_SUPERENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, NULL, big, 40001), HS_DESC_ERR_LIMIT);
  cr_assert_null(blob);
  al_free(big);
}

Test(hs_desc_crypt, fresh_salt_each_time)
{
  uint8_t *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  const uint8_t pt[] = "x";
  cr_assert_eq(hs_desc_layer_encrypt(&a, &la, HS_DESC_LAYER_ENCRYPTED, &BK, NULL, SUBCRED,
                                     1, NULL, pt, 1), 0);
  cr_assert_eq(hs_desc_layer_encrypt(&b, &lb, HS_DESC_LAYER_ENCRYPTED, &BK, NULL, SUBCRED,
                                     1, NULL, pt, 1), 0);
  cr_assert_neq(memcmp(a, b, 16), 0);
  al_free(a);
  al_free(b);
}

static void
expect_mac_failure(hs_desc_layer_t layer, const ed25519_public_key_t *bk, const uint8_t *cookie,
                   const uint8_t *subcred, uint64_t rev, const uint8_t *blob, size_t len)
{
  char *out = (char *)1;
  size_t outlen = 99;
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, layer, bk, cookie, subcred, rev, blob,
                                     len), HS_DESC_ERR_MAC);
  cr_assert_null(out);
  cr_assert_eq(outlen, 0);
}

Test(hs_desc_crypt, mac_failures)
{
  const char *pt = "introduction-point AQ==\n";
  uint8_t *blob = NULL;
  size_t len = 0;
  cr_assert_eq(hs_desc_layer_encrypt(&blob, &len, HS_DESC_LAYER_ENCRYPTED, &BK, COOKIE,
                                     SUBCRED, 5, NULL, (const uint8_t *)pt, strlen(pt)), 0);
  char *out = NULL;
  size_t outlen = 0;
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_ENCRYPTED, &BK, COOKIE,
                                     SUBCRED, 5, blob, len), 0);
  cr_assert_str_eq(out, pt);
  al_free(out);

  uint8_t sub2[32], cookie2[32];
  memcpy(sub2, SUBCRED, 32);
  sub2[31] ^= 1;
  memcpy(cookie2, COOKIE, 32);
  cookie2[0] ^= 0x80;
  ed25519_public_key_t bk2 = BK;
  bk2.pubkey[5] ^= 4;
  expect_mac_failure(HS_DESC_LAYER_ENCRYPTED, &BK, COOKIE, sub2, 5, blob, len);
  expect_mac_failure(HS_DESC_LAYER_ENCRYPTED, &BK, cookie2, SUBCRED, 5, blob, len);
  expect_mac_failure(HS_DESC_LAYER_ENCRYPTED, &BK, NULL, SUBCRED, 5, blob, len);
  expect_mac_failure(HS_DESC_LAYER_ENCRYPTED, &BK, COOKIE, SUBCRED, 6, blob, len);
  expect_mac_failure(HS_DESC_LAYER_ENCRYPTED, &bk2, COOKIE, SUBCRED, 5, blob, len);
  expect_mac_failure(HS_DESC_LAYER_SUPERENCRYPTED, &BK, COOKIE, SUBCRED, 5, blob, len);
  const size_t flips[] = { 0, 15, 16, len - 33, len - 32, len - 1 };
  for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
    blob[flips[i]] ^= 0x01;
    expect_mac_failure(HS_DESC_LAYER_ENCRYPTED, &BK, COOKIE, SUBCRED, 5, blob, len);
    blob[flips[i]] ^= 0x01;
  }
  /* Truncated: one byte short of the tail, or dropping the last byte. */
  expect_mac_failure(HS_DESC_LAYER_ENCRYPTED, &BK, COOKIE, SUBCRED, 5, blob, len - 1);
  al_free(blob);
}

Test(hs_desc_crypt, short_oversized_and_bad_args)
{
  uint8_t buf[64] = { 0 };
  char *out = NULL;
  size_t outlen = 0;
  for (size_t n = 0; n < 48; n++)
    cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                       SUBCRED, 1, buf, n), HS_DESC_ERR_SYNTAX, "len %zu", n);
  /* Exactly salt + MAC with an empty ciphertext: only the MAC decides. */
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, buf, 48), HS_DESC_ERR_MAC);
  uint8_t *empty = NULL;
  size_t elen = 0;
  cr_assert_eq(hs_desc_layer_encrypt(&empty, &elen, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, NULL, NULL, 0), 0);
  cr_assert_eq(elen, 48);
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, empty, elen), 0);
  cr_assert_eq(outlen, 0);
  cr_assert_str_eq(out, "");
  al_free(out);
  al_free(empty);
  uint8_t *big = al_calloc(1, 50001);
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, big, 50001), HS_DESC_ERR_LIMIT);
  al_free(big);
  cr_assert_eq(hs_desc_layer_decrypt(NULL, &outlen, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, buf, 60), HS_DESC_ERR_ARG);
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, (hs_desc_layer_t)3, &BK, NULL, SUBCRED,
                                     1, buf, 60), HS_DESC_ERR_ARG);
  uint8_t k[32], iv[16], mk[32];
  cr_assert_eq(hs_desc_layer_keys(k, iv, mk, HS_DESC_LAYER_ENCRYPTED, NULL, NULL, SUBCRED, 1,
                                  SALT), HS_DESC_ERR_ARG);
}

Test(hs_desc_crypt, nul_inside_plaintext_ends_it)
{
  const uint8_t pt[] = { 'a', 'b', 0, 'c' };
  uint8_t *blob = NULL;
  size_t len = 0;
  cr_assert_eq(hs_desc_layer_encrypt(&blob, &len, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, NULL, pt, sizeof(pt)), 0);
  char *out = NULL;
  size_t outlen = 0;
  cr_assert_eq(hs_desc_layer_decrypt(&out, &outlen, HS_DESC_LAYER_ENCRYPTED, &BK, NULL,
                                     SUBCRED, 1, blob, len), 0);
  cr_assert_eq(outlen, 2);
  al_free(out);
  al_free(blob);
}
