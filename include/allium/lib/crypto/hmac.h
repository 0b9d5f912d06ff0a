/* hmac.h -- HMAC-SHA256 (RFC 2104). */
#ifndef ALLIUM_LIB_CRYPTO_HMAC_H
#define ALLIUM_LIB_CRYPTO_HMAC_H

#include <stddef.h>
#include <stdint.h>

/** out = HMAC-SHA256(key, msg). 0 or -1. */
int crypto_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
                       const uint8_t *msg, size_t msglen);

/** HMAC-SHA256 with the key schedule done once: the inner and outer hash
 * states after the padded key, copied for each message.  For keys used
 * many times (ntor's constant tweak keys, an HKDF PRK).  Secret when the
 * key is: wipe with crypto_hmac_sha256_key_wipe(). */
#define CRYPTO_HMAC_SHA256_KEY_BYTES 208
typedef struct crypto_hmac_sha256_key_t {
  _Alignas(16) uint8_t opaque[CRYPTO_HMAC_SHA256_KEY_BYTES];
} crypto_hmac_sha256_key_t;
/** Prepare k for key (any length). 0 or -1. */
int crypto_hmac_sha256_key_init(crypto_hmac_sha256_key_t *k,
                                const uint8_t *key, size_t keylen);
/** out = HMAC-SHA256(key of k, m1 | m2 | m3); any part may be empty
 * (NULL, 0).  k is only read, so one prepared key serves several threads.
 * 0 or -1. */
int crypto_hmac_sha256_keyed(uint8_t out[32], const crypto_hmac_sha256_key_t *k,
                             const uint8_t *m1, size_t l1,
                             const uint8_t *m2, size_t l2,
                             const uint8_t *m3, size_t l3);
void crypto_hmac_sha256_key_wipe(crypto_hmac_sha256_key_t *k);
#endif
