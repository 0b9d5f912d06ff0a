/* test_kdf.c -- HKDF-SHA256 (RFC 5869 / proposal 216 vectors) and KDF-TOR
 * (tor-spec 5.2.1) against /work/shared/testvectors, plus limits. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/kdf.h"
#include "helpers/vectors.h"

Test(kdf, hkdf_sha256_vectors)
{
  json_t *doc = vectors_load("hkdf_sha256.json");
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  size_t checked = 0, prk_checked = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const char *name = json_get_str(v, "name");
    uint8_t *ikm, *salt, *info, *okm;
    size_t ikmlen = vectors_hex(v, "ikm", &ikm);
    size_t saltlen = vectors_hex(v, "salt", &salt);
    size_t infolen = vectors_hex(v, "info", &info);
    size_t okmlen = vectors_hex(v, "okm", &okm);
    cr_assert_eq((size_t)json_get(v, "length")->number, okmlen, "%s", name);
    uint8_t *out = malloc(okmlen);
    cr_assert_eq(crypto_hkdf_sha256(out, okmlen, ikm, ikmlen, salt, saltlen,
                                    info, infolen), 0, "%s", name);
    cr_assert(memcmp(out, okm, okmlen) == 0, "okm mismatch in %s", name);
    /* every prefix length gives the prefix of the output */
    for (size_t l = 0; l < okmlen; l += 13) {
      uint8_t part[256];
      cr_assert_eq(crypto_hkdf_sha256(part, l, ikm, ikmlen, salt, saltlen,
                                      info, infolen), 0);
      cr_assert(memcmp(part, okm, l) == 0, "%s prefix %zu", name, l);
    }
    uint8_t prk[32];
    cr_assert_eq(crypto_hkdf_sha256_extract(prk, salt, saltlen, ikm, ikmlen), 0);
    if (json_get(v, "prk")) {
      uint8_t want_prk[32];
      vectors_hex_fixed(v, "prk", want_prk, 32);
      cr_assert(memcmp(prk, want_prk, 32) == 0, "prk mismatch in %s", name);
      prk_checked++;
    }
    memset(out, 0, okmlen);
    cr_assert_eq(crypto_hkdf_sha256_expand(out, okmlen, prk, 32, info, infolen), 0);
    cr_assert(memcmp(out, okm, okmlen) == 0, "expand mismatch in %s", name);
    free(out);
    free(ikm);
    free(salt);
    free(info);
    free(okm);
    checked++;
  }
  cr_assert_gt(checked, 0);
  cr_assert_gt(prk_checked, 0);
  json_free(doc);
}

Test(kdf, hkdf_empty_salt_is_zero_salt)
{
  uint8_t zero[32] = { 0 }, a[50], b[50];
  cr_assert_eq(crypto_hkdf_sha256(a, 50, (const uint8_t *)"k", 1, NULL, 0,
                                  (const uint8_t *)"i", 1), 0);
  cr_assert_eq(crypto_hkdf_sha256(b, 50, (const uint8_t *)"k", 1, zero, 32,
                                  (const uint8_t *)"i", 1), 0);
  cr_assert(memcmp(a, b, 50) == 0);
}

Test(kdf, hkdf_limits)
{
  size_t max = 255 * 32;
  uint8_t *out = malloc(max + 1);
  uint8_t prk[32] = { 1 };
  cr_assert_eq(crypto_hkdf_sha256(out, max, (const uint8_t *)"k", 1, NULL, 0,
                                  NULL, 0), 0);
  cr_assert_eq(crypto_hkdf_sha256(out, max + 1, (const uint8_t *)"k", 1, NULL, 0,
                                  NULL, 0), -1);
  cr_assert_eq(crypto_hkdf_sha256(out, (size_t)-1, NULL, 0, NULL, 0, NULL, 0), -1);
  cr_assert_eq(crypto_hkdf_sha256_expand(out, max + 1, prk, 32, NULL, 0), -1);
  cr_assert_eq(crypto_hkdf_sha256_expand(out, 10, prk, 31, NULL, 0), -1);
  cr_assert_eq(crypto_hkdf_sha256_expand(out, 10, prk, 32, NULL, 5), -1);
  cr_assert_eq(crypto_hkdf_sha256(out, 0, NULL, 0, NULL, 0, NULL, 0), 0);
  free(out);
}

Test(kdf, kdf_tor_vectors)
{
  json_t *doc = vectors_load("kdf_tor.json");
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  size_t checked = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const char *name = json_get_str(v, "name");
    uint8_t *k0, *want;
    size_t k0len = vectors_hex(v, "k0", &k0);
    size_t len = vectors_hex(v, "output", &want);
    cr_assert_eq((size_t)json_get(v, "length")->number, len, "%s", name);
    uint8_t *out = malloc(len);
    cr_assert_eq(crypto_kdf_tor(out, len, k0, k0len), 0, "%s", name);
    cr_assert(memcmp(out, want, len) == 0, "output mismatch in %s", name);
    free(out);
    free(k0);
    free(want);
    checked++;
  }
  cr_assert_gt(checked, 0);
  json_free(doc);
}

Test(kdf, kdf_tor_limits)
{
  size_t max = 256 * 20;
  uint8_t *out = malloc(max + 1);
  uint8_t k0[] = "Tor", last[20], blk[4];
  cr_assert_eq(crypto_kdf_tor(out, max + 1, k0, 3), -1);
  cr_assert_eq(crypto_kdf_tor(out, max, k0, 3), 0);
  /* the last block is SHA1(K0 | ff) */
  memcpy(blk, k0, 3);
  blk[3] = 0xff;
  digest_sha1(last, blk, 4);
  cr_assert(memcmp(out + max - 20, last, 20) == 0);
  cr_assert_eq(crypto_kdf_tor(out, 0, k0, 3), 0);
  cr_assert_eq(crypto_kdf_tor(out, 10, NULL, 3), -1);
  free(out);
}
