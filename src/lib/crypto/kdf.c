/* kdf.c -- key derivation functions: HKDF-SHA256 (RFC 5869, used by ntor,
 * tor-spec 5.1.4 / proposal 216) and KDF-TOR (tor-spec 5.2.1, used by
 * CREATE_FAST).  See include/allium/lib/crypto/kdf.h. */
#include "allium/lib/crypto/kdf.h"

#include <string.h>

#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/hmac.h"
#include "allium/lib/malloc/malloc.h"

#define HKDF_HASH_LEN 32
#define HKDF_MAX_OUT (255 * HKDF_HASH_LEN)
#define KDF_TOR_MAX_OUT (256 * DIGEST_SHA1_LEN)

int
crypto_hkdf_sha256_extract(uint8_t prk[32],
                           const uint8_t *salt, size_t saltlen,
                           const uint8_t *ikm, size_t ikmlen)
{
  /* HMAC pads the key with zeros to the block size, so an empty salt and
   * 32 zero bytes give the same PRK, as RFC 5869 2.2 requires. */
  return crypto_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);
}

int
crypto_hkdf_sha256_expand(uint8_t *out, size_t outlen,
                          const uint8_t *prk, size_t prklen,
                          const uint8_t *info, size_t infolen)
{
  /* T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty; out = T(1) | T(2) ...
   * The PRK's key schedule is done once for all the blocks. */
  crypto_hmac_sha256_key_t k;
  uint8_t t[HKDF_HASH_LEN];
  if (outlen > HKDF_MAX_OUT || prklen < HKDF_HASH_LEN || (!info && infolen) ||
      (!out && outlen) || infolen > SIZE_MAX - HKDF_HASH_LEN - 1)
    return -1;
  if (crypto_hmac_sha256_key_init(&k, prk, prklen) < 0)
    return -1;
  size_t done = 0, tlen = 0;
  int r = 0;
  for (unsigned i = 1; done < outlen; i++) {
    uint8_t ctr = (uint8_t)i;
    if (crypto_hmac_sha256_keyed(t, &k, t, tlen, info, infolen, &ctr, 1) < 0) {
      r = -1;
      break;
    }
    tlen = HKDF_HASH_LEN;
    size_t take = outlen - done < tlen ? outlen - done : tlen;
    memcpy(out + done, t, take);
    done += take;
  }
  crypto_hmac_sha256_key_wipe(&k);
  memwipe(t, sizeof(t));
  if (r < 0 && outlen)
    memwipe(out, outlen);
  return r;
}

int
crypto_hkdf_sha256(uint8_t *out, size_t outlen,
                   const uint8_t *ikm, size_t ikmlen,
                   const uint8_t *salt, size_t saltlen,
                   const uint8_t *info, size_t infolen)
{
  uint8_t prk[HKDF_HASH_LEN];
  if (outlen > HKDF_MAX_OUT)
    return -1;
  int r = crypto_hkdf_sha256_extract(prk, salt, saltlen, ikm, ikmlen);
  if (r == 0)
    r = crypto_hkdf_sha256_expand(out, outlen, prk, sizeof(prk), info, infolen);
  memwipe(prk, sizeof(prk));
  return r;
}

int
crypto_kdf_tor(uint8_t *out, size_t outlen, const uint8_t *k0, size_t k0len)
{
  /* tor-spec 5.2.1: K = H(K0 | [00]) | H(K0 | [01]) | ... */
  uint8_t block[DIGEST_SHA1_LEN];
  if (outlen > KDF_TOR_MAX_OUT || (!k0 && k0len) || (!out && outlen))
    return -1;
  digest_ctx_t *base = digest_ctx_new(DIGEST_ALG_SHA1);
  if (!base)
    return -1;
  digest_ctx_add(base, k0, k0len);
  digest_ctx_t *d = digest_ctx_dup(base);
  size_t done = 0;
  for (unsigned i = 0; done < outlen; i++) {
    uint8_t ctr = (uint8_t)i;
    digest_ctx_assign(d, base);
    digest_ctx_add(d, &ctr, 1);
    digest_ctx_peek(d, block, sizeof(block));
    size_t take = outlen - done < sizeof(block) ? outlen - done : sizeof(block);
    memcpy(out + done, block, take);
    done += take;
  }
  digest_ctx_free(d);
  digest_ctx_free(base);
  memwipe(block, sizeof(block));
  return 0;
}
