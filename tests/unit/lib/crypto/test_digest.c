/* test_digest.c -- SHA-1/SHA-256/SHA-512/SHA3-256/SHAKE-256 known answers
 * (FIPS 180-4 and FIPS 202 examples), running digests, and SHAKE-256
 * squeezed in pieces (own Keccak sponge checked against OpenSSL). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "helpers/vectors.h"

#define MSG448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"



typedef int (*oneshot_fn)(uint8_t *, const void *, size_t);

struct kat {
  digest_alg_t alg;
  oneshot_fn fn;
  const char *msg;
  const char *hex;
};

static const struct kat kats[] = {
  { DIGEST_ALG_SHA1, digest_sha1, "abc",
    "a9993e364706816aba3e25717850c26c9cd0d89d" },
  { DIGEST_ALG_SHA1, digest_sha1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
  { DIGEST_ALG_SHA1, digest_sha1, MSG448,
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
  { DIGEST_ALG_SHA256, digest_sha256, "abc",
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  { DIGEST_ALG_SHA256, digest_sha256, "",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  { DIGEST_ALG_SHA256, digest_sha256, MSG448,
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
  { DIGEST_ALG_SHA512, digest_sha512, "abc",
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
  { DIGEST_ALG_SHA512, digest_sha512, "",
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
  { DIGEST_ALG_SHA512, digest_sha512, MSG448,
    "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
    "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445" },
  { DIGEST_ALG_SHA3_256, digest_sha3_256, "",
    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a" },
  { DIGEST_ALG_SHA3_256, digest_sha3_256, "abc",
    "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532" },
};

#define SHAKE_EMPTY_64 \
  "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f" \
  "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be"
#define SHAKE_ABC_64 \
  "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739" \
  "d5a15bef186a5386c75744c0527e1faa9f8726e462a12a4feb06bd8801e751e4"

Test(digest, oneshot_known_answers)
{
  cr_assert_eq(crypto_global_init(), 0);
  for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
    uint8_t out[64];
    cr_assert_eq(kats[i].fn(out, kats[i].msg, strlen(kats[i].msg)), 0);
    test_expect_hex(out, digest_alg_len(kats[i].alg), kats[i].hex);
  }
}

Test(digest, alg_len)
{
  cr_assert_eq(digest_alg_len(DIGEST_ALG_SHA1), 20);
  cr_assert_eq(digest_alg_len(DIGEST_ALG_SHA256), 32);
  cr_assert_eq(digest_alg_len(DIGEST_ALG_SHA512), 64);
  cr_assert_eq(digest_alg_len(DIGEST_ALG_SHA3_256), 32);
}

Test(digest, null_input_with_length_fails)
{
  uint8_t out[64];
  cr_assert_eq(digest_sha256(out, NULL, 1), -1);
  cr_assert_eq(digest_sha256(out, NULL, 0), 0);
  test_expect_hex(out, 32, kats[4].hex);
  cr_assert_eq(digest_shake256(out, 8, NULL, 3), -1);
}

Test(digest, running_matches_oneshot_byte_by_byte)
{
  for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
    digest_ctx_t *d = digest_ctx_new(kats[i].alg);
    cr_assert_not_null(d);
    for (const char *p = kats[i].msg; *p; p++)
      digest_ctx_add(d, p, 1);
    uint8_t out[64];
    digest_ctx_peek(d, out, sizeof(out)); /* clamps to the digest length */
    test_expect_hex(out, digest_alg_len(kats[i].alg), kats[i].hex);
    digest_ctx_free(d);
    cr_assert_null(d);
  }
}

Test(digest, peek_does_not_disturb_state)
{
  static const digest_alg_t algs[] = { DIGEST_ALG_SHA1, DIGEST_ALG_SHA256,
                                       DIGEST_ALG_SHA512, DIGEST_ALG_SHA3_256 };
  for (size_t a = 0; a < 4; a++) {
    digest_ctx_t *d = digest_ctx_new(algs[a]);
    size_t len = digest_alg_len(algs[a]);
    uint8_t p1[64], p2[64], want[64], trunc[4];
    digest_ctx_add(d, "ab", 2);
    digest_ctx_peek(d, p1, len);
    digest_ctx_peek(d, p2, len);
    cr_assert(memcmp(p1, p2, len) == 0);
    /* peek of "ab" equals the one-shot digest of "ab" */
    digest_ctx_t *e = digest_ctx_new(algs[a]);
    digest_ctx_add(e, "a", 1);
    digest_ctx_add(e, "b", 1);
    digest_ctx_peek(e, want, len);
    cr_assert(memcmp(p1, want, len) == 0);
    digest_ctx_free(e);
    digest_ctx_peek(d, trunc, sizeof(trunc));
    cr_assert(memcmp(trunc, p1, sizeof(trunc)) == 0);
    digest_ctx_add(d, "c", 1);
    digest_ctx_peek(d, p1, len);
    /* kats[] lists "abc" for every algorithm; find it */
    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++)
      if (kats[i].alg == algs[a] && !strcmp(kats[i].msg, "abc"))
        test_expect_hex(p1, len, kats[i].hex);
    digest_ctx_free(d);
  }
}

Test(digest, dup_is_independent)
{
  uint8_t o1[32], o2[32], w1[32], w2[32];
  digest_ctx_t *d = digest_ctx_new(DIGEST_ALG_SHA256);
  digest_ctx_add(d, "hello ", 6);
  digest_ctx_t *c = digest_ctx_dup(d);
  cr_assert_not_null(c);
  digest_ctx_add(d, "world", 5);
  digest_ctx_add(c, "there", 5);
  digest_ctx_peek(d, o1, 32);
  digest_ctx_peek(c, o2, 32);
  digest_sha256(w1, "hello world", 11);
  digest_sha256(w2, "hello there", 11);
  cr_assert(memcmp(o1, w1, 32) == 0);
  cr_assert(memcmp(o2, w2, 32) == 0);
  digest_ctx_free(d);
  /* the copy survives freeing the original */
  digest_ctx_add(c, "!", 1);
  digest_ctx_peek(c, o2, 32);
  digest_sha256(w2, "hello there!", 12);
  cr_assert(memcmp(o2, w2, 32) == 0);
  digest_ctx_free(c);
}

Test(digest, assign_copies_state)
{
  uint8_t o1[20], o2[20], w[20];
  digest_ctx_t *src = digest_ctx_new(DIGEST_ALG_SHA1);
  digest_ctx_t *dst = digest_ctx_new(DIGEST_ALG_SHA1);
  digest_ctx_add(src, "relay ", 6);
  digest_ctx_add(dst, "something else entirely", 23);
  digest_ctx_assign(dst, src);
  digest_ctx_assign(dst, dst); /* self-assignment is harmless */
  digest_ctx_add(src, "cell", 4);
  digest_ctx_add(dst, "cell", 4);
  digest_ctx_peek(src, o1, 20);
  digest_ctx_peek(dst, o2, 20);
  digest_sha1(w, "relay cell", 10);
  cr_assert(memcmp(o1, w, 20) == 0);
  cr_assert(memcmp(o2, w, 20) == 0);
  /* and they stay independent afterwards */
  digest_ctx_add(dst, "x", 1);
  digest_ctx_peek(src, o1, 20);
  cr_assert(memcmp(o1, w, 20) == 0);
  digest_ctx_free(src);
  digest_ctx_free(dst);
  digest_ctx_free(dst); /* NULL is fine */
}

Test(digest, shake256_oneshot_known_answers)
{
  uint8_t out[64];
  cr_assert_eq(digest_shake256(out, 64, "", 0), 0);
  test_expect_hex(out, 64, SHAKE_EMPTY_64);
  cr_assert_eq(digest_shake256(out, 64, "abc", 3), 0);
  test_expect_hex(out, 64, SHAKE_ABC_64);
  cr_assert_eq(digest_shake256(out, 0, "abc", 3), 0);
}

static void
squeeze_in_pieces(const void *m, size_t n, const size_t *pieces, size_t npieces,
                  uint8_t *out)
{
  xof_ctx_t *x = xof_ctx_new();
  cr_assert_not_null(x);
  xof_ctx_add(x, m, n);
  size_t off = 0;
  for (size_t i = 0; i < npieces; i++) {
    xof_ctx_squeeze(x, out + off, pieces[i]);
    off += pieces[i];
  }
  xof_ctx_free(x);
  cr_assert_null(x);
}

Test(digest, xof_squeeze_uneven_pieces)
{
  static const size_t pieces[] = { 1, 0, 7, 13, 3, 40 }; /* 64 bytes */
  uint8_t out[64];
  squeeze_in_pieces("", 0, pieces, 6, out);
  test_expect_hex(out, 64, SHAKE_EMPTY_64);
  squeeze_in_pieces("abc", 3, pieces, 6, out);
  test_expect_hex(out, 64, SHAKE_ABC_64);
}

Test(digest, xof_matches_openssl_across_block_boundaries)
{
  /* SHAKE-256 rate is 136 bytes: cover inputs and outputs either side of
   * one and several blocks, absorbed and squeezed in uneven pieces. */
  static const size_t pieces[] = { 5, 131, 1, 135, 136, 137, 29, 1 }; /* 575 */
  uint8_t in[410], want[575], got[575];
  for (size_t i = 0; i < sizeof(in); i++)
    in[i] = (uint8_t)(i * 7 + 3);
  static const size_t inlens[] = { 0, 1, 135, 136, 137, 271, 272, 273, 410 };
  for (size_t k = 0; k < sizeof(inlens) / sizeof(inlens[0]); k++) {
    size_t n = inlens[k];
    cr_assert_eq(digest_shake256(want, sizeof(want), in, n), 0);
    xof_ctx_t *x = xof_ctx_new();
    for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 % 71 + 1)
      xof_ctx_add(x, in + off, step < n - off ? step : n - off);
    size_t off = 0;
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
      xof_ctx_squeeze(x, got + off, pieces[i]);
      off += pieces[i];
    }
    cr_assert_eq(off, sizeof(got));
    cr_assert(memcmp(got, want, sizeof(got)) == 0, "input length %zu", n);
    xof_ctx_free(x);
  }
}

Test(digest, sha3_disaster_srv_vector)
{
  /* rend-spec-v3 2.3.1: SHA3-256("shared-random-disaster" |
   * INT_8(period_length) | INT_8(period_num)), from hs_v3_misc.json. */
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = json_get(doc, "disaster_srv");
  cr_assert_not_null(arr);
  size_t checked = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    uint64_t len = (uint64_t)json_get(v, "period_length_minutes")->number;
    uint64_t num = (uint64_t)json_get(v, "period_num")->number;
    uint8_t msg[22 + 16], want[32], got[32];
    memcpy(msg, "shared-random-disaster", 22);
    for (int b = 0; b < 8; b++) {
      msg[22 + b] = (uint8_t)(len >> (56 - 8 * b));
      msg[30 + b] = (uint8_t)(num >> (56 - 8 * b));
    }
    vectors_hex_fixed(v, "disaster_srv", want, 32);
    cr_assert_eq(digest_sha3_256(got, msg, sizeof(msg)), 0);
    cr_assert(memcmp(got, want, 32) == 0, "%s", json_get_str(v, "name"));
    checked++;
  }
  cr_assert_gt(checked, 0);
  json_free(doc);
}

Test(digest, unknown_alg_gives_null)
{
  cr_assert_null(digest_ctx_new((digest_alg_t)42));
  cr_assert_eq(digest_alg_len((digest_alg_t)42), 0);
}

Test(digest, xof_zero_length_squeezes)
{
  uint8_t out[64];
  static const size_t pieces[] = { 0, 0, 64, 0 };
  squeeze_in_pieces("abc", 3, pieces, 4, out);
  test_expect_hex(out, 64, SHAKE_ABC_64);
  xof_ctx_free_(NULL);
}

Test(digest, xof_absorb_after_squeeze_aborts, .signal = SIGABRT)
{
  uint8_t out[4];
  xof_ctx_t *x = xof_ctx_new();
  xof_ctx_squeeze(x, out, sizeof(out));
  xof_ctx_add(x, "late", 4);
}
