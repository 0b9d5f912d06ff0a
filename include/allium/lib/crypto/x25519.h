/* x25519.h -- Curve25519 Diffie-Hellman (RFC 7748), as ntor uses it. */
#ifndef ALLIUM_LIB_CRYPTO_X25519_H
#define ALLIUM_LIB_CRYPTO_X25519_H

#include <stdint.h>

#define X25519_KEY_LEN 32

typedef struct x25519_keypair_t {
  uint8_t pub[X25519_KEY_LEN];
  uint8_t sec[X25519_KEY_LEN];   /* secret: wipe with memwipe() when done */
} x25519_keypair_t;

/** Fresh random key pair (secret clamped). 0 or -1. */
int x25519_keypair_generate(x25519_keypair_t *kp);
/** pub = X25519(sec, 9), through the Edwards curve's fixed-base table
 * (the fast path; see x25519.c). 0 or -1. */
int x25519_public_from_secret(uint8_t pub[X25519_KEY_LEN], const uint8_t sec[X25519_KEY_LEN]);
/** The same through libsodium's Montgomery ladder: the reference the tests
 * compare the fast path with. 0 or -1. */
int x25519_public_from_secret_ladder(uint8_t pub[X25519_KEY_LEN],
                                     const uint8_t sec[X25519_KEY_LEN]);
/** out = X25519(scalar, point); the top bit of point is ignored (RFC 7748).
 * Returns 0, or -1 when the result is all zeros (a small-order point: the
 * caller must treat the handshake as failed); out is written either way. */
int x25519_scalarmult(uint8_t out[X25519_KEY_LEN], const uint8_t scalar[X25519_KEY_LEN],
                      const uint8_t point[X25519_KEY_LEN]);

#endif
