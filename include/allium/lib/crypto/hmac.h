/* hmac.h -- HMAC-SHA256 (RFC 2104). */
#ifndef ALLIUM_LIB_CRYPTO_HMAC_H
#define ALLIUM_LIB_CRYPTO_HMAC_H

#include <stddef.h>
#include <stdint.h>

/** out = HMAC-SHA256(key, msg). 0 or -1. */
int crypto_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
                       const uint8_t *msg, size_t msglen);

#endif
