/* x25519.c -- Curve25519 Diffie-Hellman (RFC 7748 section 5 and 6.1) over
 * libsodium, as ntor (tor-spec 5.1.4) uses it.
 *
 * Secret scalars are clamped by the scalar multiplication itself, and the
 * top bit of a received u-coordinate is ignored (RFC 7748 section 5: "the
 * most significant bit of the final byte MUST be masked").  An all-zero
 * result means the peer sent a small-order point; we report that as -1.
 */
#include <string.h>

#include <sodium.h>

#include "allium/lib/crypto/x25519.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

/* Clamp a Curve25519 scalar in place (RFC 7748 decodeScalar25519). */
static void
x25519_clamp(uint8_t k[X25519_KEY_LEN])
{
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
}

int
x25519_keypair_generate(x25519_keypair_t *kp)
{
  if (!kp)
    return -1;
  crypto_rand(kp->sec, X25519_KEY_LEN);
  x25519_clamp(kp->sec);
  if (x25519_public_from_secret(kp->pub, kp->sec) < 0) {
    memwipe(kp, sizeof(*kp));
    return -1;
  }
  return 0;
}

int
x25519_public_from_secret(uint8_t pub[X25519_KEY_LEN],
                          const uint8_t sec[X25519_KEY_LEN])
{
  if (!pub || !sec)
    return -1;
  if (crypto_scalarmult_base(pub, sec) != 0)
    return -1;
  return 0;
}

int
x25519_scalarmult(uint8_t out[X25519_KEY_LEN],
                  const uint8_t scalar[X25519_KEY_LEN],
                  const uint8_t point[X25519_KEY_LEN])
{
  uint8_t u[X25519_KEY_LEN];
  int r;

  if (!out)
    return -1;
  memset(out, 0, X25519_KEY_LEN);
  if (!scalar || !point)
    return -1;
  memcpy(u, point, sizeof(u));
  u[31] &= 127;   /* RFC 7748: ignore the top bit of u */
  /* libsodium clamps the scalar itself and returns -1 for an all-zero
   * result (it may leave out unwritten for small-order inputs, hence the
   * memset above). */
  r = crypto_scalarmult(out, scalar, u);
  memwipe(u, sizeof(u));
  if (r != 0) {
    memset(out, 0, X25519_KEY_LEN);
    return -1;
  }
  if (sodium_is_zero(out, X25519_KEY_LEN))
    return -1;
  return 0;
}
