/* test_compact.c -- the embedded relay-cell primitives: aes128_ctr_t
 * (AES-NI and EVP fallback) against NIST SP 800-38A F.5.1 and against the
 * EVP-backed aes_ctr_t over long streams in uneven pieces, with the
 * counter carry; digest_sha1_run_t against FIPS 180 answers and the EVP
 * running digest, with peeks that do not disturb the state. */
#include <criterion/criterion.h>
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

static void
restore_hw(void)
{
  aes128_ctr_set_hw_allowed(1);
}

static void
nist_f51(int hw)
{
  uint8_t key[16], iv[16], pt[64], ct[64], buf[64];
  aes128_ctr_t c;
  aes128_ctr_set_hw_allowed(hw);
  test_unhex(F51_KEY, key, sizeof(key));
  test_unhex(NIST_IV, iv, sizeof(iv));
  test_unhex(NIST_PT, pt, sizeof(pt));
  test_unhex(F51_CT, ct, sizeof(ct));
  cr_assert_eq(aes128_ctr_init(&c, key, iv), 0);
  memcpy(buf, pt, 64);
  aes128_ctr_crypt_inplace(&c, buf, 64);
  cr_assert(memcmp(buf, ct, 64) == 0, "one call, hw %d", hw);
  aes128_ctr_clear(&c);

  static const size_t chunks[] = { 0, 1, 3, 5, 7, 11, 13, 17, 7 };
  cr_assert_eq(aes128_ctr_init(&c, key, iv), 0);
  memcpy(buf, ct, 64);
  size_t off = 0;
  for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
    aes128_ctr_crypt_inplace(&c, buf + off, chunks[i]);
    off += chunks[i];
  }
  cr_assert(memcmp(buf, pt, 64) == 0, "chunks, hw %d", hw);
  aes128_ctr_clear(&c);
  uint8_t zero[sizeof(c)];
  memset(zero, 0, sizeof(zero));
  cr_assert(memcmp(&c, zero, sizeof(c)) == 0, "clear wipes");
}

Test(aes128_ctr, nist_f51_hw, .fini = restore_hw)
{
  nist_f51(1);
}

Test(aes128_ctr, nist_f51_evp_fallback, .fini = restore_hw)
{
  nist_f51(0);
}

/* A relay-cell-like stream (509-byte pieces, then uneven ones) equals the
 * EVP aes_ctr_t's, from a zero IV and across a 64-bit counter carry. */
static void
stream_case(int hw, const char *ivhex)
{
  enum { N = 509 * 40 };
  uint8_t key[16], iv[16];
  uint8_t *want = calloc(1, N), *got = calloc(1, N);
  for (int i = 0; i < 16; i++)
    key[i] = (uint8_t)(0x11 * i + 3);
  test_unhex(ivhex, iv, sizeof(iv));
  aes_ctr_t *ref = aes_ctr_new(key, 16, iv);
  aes_ctr_crypt_inplace(ref, want, N);
  aes_ctr_free(ref);
  aes128_ctr_set_hw_allowed(hw);
  aes128_ctr_t c;
  cr_assert_eq(aes128_ctr_init(&c, key, iv), 0);
  size_t off = 0, step = 509;
  while (off < N) {
    size_t n = step < N - off ? step : N - off;
    aes128_ctr_crypt_inplace(&c, got + off, n);
    off += n;
    if (off >= N / 2)
      step = (step * 17 + 5) % 193;   /* 0, 1, <16, >128 */
  }
  aes128_ctr_clear(&c);
  cr_assert(memcmp(got, want, N) == 0, "hw %d iv %s", hw, ivhex);
  free(want);
  free(got);
}

Test(aes128_ctr, stream_matches_evp, .fini = restore_hw)
{
  static const char *const ivs[] = {
    "00000000000000000000000000000000",
    "0000000000000000fffffffffffffff0",
    "fffffffffffffffffffffffffffffff8",
  };
  for (int hw = 0; hw <= 1; hw++)
    for (size_t i = 0; i < sizeof(ivs) / sizeof(ivs[0]); i++)
      stream_case(hw, ivs[i]);
}

Test(aes128_ctr, null_key_fails_and_clear_of_empty_is_fine)
{
  aes128_ctr_t c;
  cr_assert_eq(aes128_ctr_init(&c, NULL, NULL), -1);
  aes128_ctr_clear(&c);
  cr_assert(sizeof(aes128_ctr_t) <= 224, "compact: %zu bytes",
            sizeof(aes128_ctr_t));
}

Test(sha1_run, known_answers_and_peek)
{
  static const struct { const char *m, *hex; } v[] = {
    { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
    { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
  };
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    uint8_t want[20], got[20], got2[20];
    digest_sha1_run_t d;
    test_unhex(v[i].hex, want, sizeof(want));
    digest_sha1_run_init(&d);
    for (const char *p = v[i].m; *p; p++) {
      digest_sha1_run_add(&d, p, 1);
      digest_sha1_run_peek(&d, got, 4);   /* peeks change nothing */
    }
    digest_sha1_run_peek(&d, got, sizeof(got));
    digest_sha1_run_peek(&d, got2, 30);   /* capped at 20 */
    cr_assert(memcmp(got, want, 20) == 0, "vector %zu", i);
    cr_assert(memcmp(got2, want, 20) == 0);
    digest_sha1_run_clear(&d);
  }
}

Test(sha1_run, copies_are_independent_and_match_evp)
{
  uint8_t cell[509], a[20], b[20], c[20];
  for (size_t i = 0; i < sizeof(cell); i++)
    cell[i] = (uint8_t)(i * 7);
  digest_sha1_run_t d, e;
  digest_ctx_t *ref = digest_ctx_new(DIGEST_ALG_SHA1);
  digest_sha1_run_init(&d);
  for (int k = 0; k < 50; k++) {
    digest_sha1_run_add(&d, cell, sizeof(cell));
    digest_ctx_add(ref, cell, sizeof(cell));
    cell[k] ^= 0x5a;
  }
  e = d;                                  /* copy by assignment */
  digest_sha1_run_add(&e, "x", 1);
  digest_sha1_run_peek(&d, a, 20);
  digest_ctx_peek(ref, b, 20);
  cr_assert(memcmp(a, b, 20) == 0);
  digest_sha1_run_peek(&e, c, 20);
  cr_assert(memcmp(a, c, 20) != 0);
  digest_ctx_free(ref);
}
