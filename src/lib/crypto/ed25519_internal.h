/* ed25519_internal.h -- scalar helpers shared by ed25519.c and
 * ed25519_blind.c.  Not for use outside src/lib/crypto. */
#ifndef ALLIUM_LIB_CRYPTO_ED25519_INTERNAL_H
#define ALLIUM_LIB_CRYPTO_ED25519_INTERNAL_H

#include <stdint.h>

/** Clamp a 32-byte ed25519 scalar in place (RFC 8032 5.1.5 step 2). */
void ed25519_scalar_clamp(uint8_t s[32]);
/** out = in (32 bytes little-endian, any value) mod l. */
void ed25519_scalar_reduce32(uint8_t out[32], const uint8_t in[32]);

#endif
