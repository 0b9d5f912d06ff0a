/* kdf.h -- key derivation: HKDF-SHA256 (RFC 5869) and KDF-TOR (tor-spec 5.2.1). */
#ifndef ALLIUM_LIB_CRYPTO_KDF_H
#define ALLIUM_LIB_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

/** HKDF-SHA256 extract-then-expand: outlen (<= 255*32) bytes into out.
 * An empty salt means 32 zero bytes, as RFC 5869 says. 0 or -1. */
int crypto_hkdf_sha256(uint8_t *out, size_t outlen,
                       const uint8_t *ikm, size_t ikmlen,
                       const uint8_t *salt, size_t saltlen,
                       const uint8_t *info, size_t infolen);

/** HKDF-Extract (RFC 5869 2.2): prk = HMAC-SHA256(salt, ikm); an empty salt
 * means 32 zero bytes.  0 or -1. */
int crypto_hkdf_sha256_extract(uint8_t prk[32],
                               const uint8_t *salt, size_t saltlen,
                               const uint8_t *ikm, size_t ikmlen);

/** HKDF-Expand (RFC 5869 2.3): outlen (<= 255*32) bytes from a prk of
 * prklen (>= 32) bytes and info.  0 or -1. */
int crypto_hkdf_sha256_expand(uint8_t *out, size_t outlen,
                              const uint8_t *prk, size_t prklen,
                              const uint8_t *info, size_t infolen);

/** KDF-TOR: out = SHA1(K0|00) | SHA1(K0|01) | ... truncated to outlen
 * (<= 256*20). 0 or -1. */
int crypto_kdf_tor(uint8_t *out, size_t outlen, const uint8_t *k0, size_t k0len);

#endif
