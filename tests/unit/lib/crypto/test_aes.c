/* test_aes.c -- AES-128-CTR / AES-256-CTR against NIST SP 800-38A F.5.1 and
 * F.5.5, chunked streaming, full 128-bit counter carry, bad keys, and the
 * hs client-auth cookie vector (rend-spec-v3 2.5.1.2, hs_v3_misc.json). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/digest.h"
#include "helpers/vectors.h"


#define NIST_IV "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
#define NIST_PT "6bc1bee22e409f96e93d7e117393172a" \
  "ae2d8a571e03ac9c9eb76fac45af8e51" \
  "30c81c46a35ce411e5fbc1191a0a52ef" \
  "f69f2445df4f9b17ad2b417be66c3710"
#define F51_KEY "2b7e151628aed2a6abf7158809cf4f3c"
#define F51_CT "874d6191b620e3261bef6864990db6ce" \
  "9806f66b7970fdff8617187bb9fffdff" \
  "5ae4df3edbd5d35e5b4f09020db03eab" \
  "1e031dda2fbe03d1792170a0f3009cee"
#define F55_KEY "603deb1015ca71be2b73aef0857d7781" \
  "1f352c073b6108d72d9810a30914dff4"
#define F55_CT "601ec313775789a5b7a7f504bbf3d228" \
  "f443e3ca4d62b59aca84e990cacaf5c5" \
  "2b0930daa23de94ce87017ba2d84988d" \
  "dfc9c58db67aada613c2dd08457941a6"

static void
nist_case(const char *keyhex, const char *cthex)
{
  uint8_t key[32], iv[16], pt[64], ct[64], buf[64];
  size_t keylen = test_unhex(keyhex, key, sizeof(key));
  test_unhex(NIST_IV, iv, sizeof(iv));
  test_unhex(NIST_PT, pt, sizeof(pt));
  test_unhex(cthex, ct, sizeof(ct));

  /* one call */
  aes_ctr_t *c = aes_ctr_new(key, keylen, iv);
  cr_assert_not_null(c);
  aes_ctr_crypt(c, pt, buf, 64);
  cr_assert(memcmp(buf, ct, 64) == 0, "one-shot, keylen %zu", keylen);
  aes_ctr_free(c);
  cr_assert_null(c);

  /* odd-sized chunks, in place: 1+3+5+7+11+13+17+7 = 64 */
  static const size_t chunks[] = { 1, 3, 5, 7, 11, 13, 17, 7 };
  c = aes_ctr_new(key, keylen, iv);
  memcpy(buf, pt, 64);
  size_t off = 0;
  for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
    aes_ctr_crypt_inplace(c, buf + off, chunks[i]);
    off += chunks[i];
  }
  cr_assert_eq(off, 64);
  cr_assert(memcmp(buf, ct, 64) == 0, "chunked, keylen %zu", keylen);
  aes_ctr_free(c);

  /* decryption is the same operation, with zero-length calls mixed in */
  c = aes_ctr_new(key, keylen, iv);
  aes_ctr_crypt(c, ct, buf, 0);
  aes_ctr_crypt(c, ct, buf, 15);
  aes_ctr_crypt(c, ct + 15, buf + 15, 0);
  aes_ctr_crypt(c, ct + 15, buf + 15, 49);
  cr_assert(memcmp(buf, pt, 64) == 0, "decrypt, keylen %zu", keylen);
  aes_ctr_free(c);
}

Test(aes, nist_sp800_38a_f51_aes128_ctr)
{
  nist_case(F51_KEY, F51_CT);
}

Test(aes, nist_sp800_38a_f55_aes256_ctr)
{
  nist_case(F55_KEY, F55_CT);
}

Test(aes, long_stream_random_chunks_match_oneshot)
{
  enum { N = 5000 };
  uint8_t key[16] = { 7 }, *in = malloc(N), *want = malloc(N), *got = malloc(N);
  for (size_t i = 0; i < N; i++)
    in[i] = (uint8_t)(i ^ (i >> 8));
  aes_ctr_t *c = aes_ctr_new(key, 16, NULL);
  aes_ctr_crypt(c, in, want, N);
  aes_ctr_free(c);
  c = aes_ctr_new(key, 16, NULL);
  size_t off = 0, step = 1;
  while (off < N) {
    size_t n = step < N - off ? step : N - off;
    aes_ctr_crypt(c, in + off, got + off, n);
    off += n;
    step = (step * 17 + 5) % 97; /* includes 0, 1-byte, >16-byte steps */
  }
  aes_ctr_free(c);
  cr_assert(memcmp(got, want, N) == 0);
  free(in);
  free(want);
  free(got);
}

/* Keystream block 1 for iv must equal keystream block 0 for iv + 1. */
static void
check_carry(const char *ivhex, const char *nexthex)
{
  uint8_t key[32] = { 0x42 }, iv[16], next[16], z[32] = { 0 }, a[32], b[16];
  test_unhex(ivhex, iv, 16);
  test_unhex(nexthex, next, 16);
  for (size_t keylen = 16; keylen <= 32; keylen += 16) {
    aes_ctr_t *c = aes_ctr_new(key, keylen, iv);
    aes_ctr_crypt(c, z, a, 32);
    aes_ctr_free(c);
    c = aes_ctr_new(key, keylen, next);
    aes_ctr_crypt(c, z, b, 16);
    aes_ctr_free(c);
    cr_assert(memcmp(a + 16, b, 16) == 0, "carry from %s", ivhex);
  }
}

Test(aes, counter_is_128_bit_big_endian)
{
  check_carry("000000000000000000000000000000ff",
              "00000000000000000000000000000100");
  check_carry("0000000000000000ffffffffffffffff",
              "00000000000000010000000000000000");
  check_carry("000000ffffffffffffffffffffffffff",
              "00000100000000000000000000000000");
  check_carry("ffffffffffffffffffffffffffffffff",
              "00000000000000000000000000000000");
}

Test(aes, null_iv_is_zero_iv)
{
  uint8_t key[32] = { 1, 2, 3 }, iv[16] = { 0 }, z[40] = { 0 }, a[40], b[40];
  aes_ctr_t *c1 = aes_ctr_new(key, 32, NULL), *c2 = aes_ctr_new(key, 32, iv);
  aes_ctr_crypt(c1, z, a, 40);
  aes_ctr_crypt(c2, z, b, 40);
  cr_assert(memcmp(a, b, 40) == 0);
  aes_ctr_free(c1);
  aes_ctr_free(c2);
  aes_ctr_free(c1); /* NULL is fine */
}

Test(aes, bad_key_length_returns_null)
{
  uint8_t key[64] = { 0 };
  static const size_t bad[] = { 0, 1, 8, 15, 17, 24, 31, 33, 64 };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_null(aes_ctr_new(key, bad[i], NULL), "keylen %zu", bad[i]);
  cr_assert_null(aes_ctr_new(NULL, 16, NULL));
}

Test(aes, hs_client_auth_cookie_vector)
{
  /* KEYS = SHAKE256(subcredential | SECRET_SEED); CLIENT-ID = KEYS[0:8];
   * COOKIE-KEY = KEYS[8:40]; encrypted = AES-256-CTR(COOKIE-KEY, iv) ^ cookie.
   * KEYS squeezed in two pieces as the onion-service code does. */
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = json_get(doc, "client_auth");
  cr_assert_not_null(arr);
  size_t checked = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    uint8_t subcred[32], seed[32], iv[16], cookie[16], enc_want[16], id_want[8];
    uint8_t id[8], ckey[32], enc[16];
    vectors_hex_fixed(v, "subcredential", subcred, 32);
    vectors_hex_fixed(v, "secret_seed", seed, 32);
    vectors_hex_fixed(v, "iv", iv, 16);
    vectors_hex_fixed(v, "descriptor_cookie", cookie, 16);
    vectors_hex_fixed(v, "encrypted_cookie", enc_want, 16);
    vectors_hex_fixed(v, "client_id", id_want, 8);
    xof_ctx_t *x = xof_ctx_new();
    xof_ctx_add(x, subcred, 32);
    xof_ctx_add(x, seed, 32);
    xof_ctx_squeeze(x, id, 8);
    xof_ctx_squeeze(x, ckey, 32);
    xof_ctx_free(x);
    cr_assert(memcmp(id, id_want, 8) == 0);
    aes_ctr_t *c = aes_ctr_new(ckey, 32, iv);
    aes_ctr_crypt(c, cookie, enc, 16);
    aes_ctr_free(c);
    cr_assert(memcmp(enc, enc_want, 16) == 0);
    checked++;
  }
  cr_assert_gt(checked, 0);
  json_free(doc);
}
