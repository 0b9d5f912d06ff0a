/* rand.c -- cryptographically strong random numbers from OpenSSL's CSPRNG.
 * Used for keys, nonces, circuit IDs and path selection (tor-spec 0.3 and
 * path-spec).  See include/allium/lib/crypto/rand.h. */
#include "allium/lib/crypto/rand.h"

#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_MODULE "crypto"
#include "allium/lib/log/log.h"

void
crypto_rand(void *out, size_t n)
{
  uint8_t *p = out;
  while (n > 0) {
    int chunk = n > INT_MAX ? INT_MAX : (int)n;
    if (RAND_bytes(p, chunk) != 1) {
      /* Continuing without randomness would be unsafe. */
      log_err("The random number generator failed; exiting");
      fprintf(stderr, "allium: RAND_bytes() failed; exiting\n");
      abort();
    }
    p += chunk;
    n -= (size_t)chunk;
  }
}

uint64_t
crypto_rand_uint64(uint64_t max)
{
  if (max <= 1)
    return 0; /* max == 0 is a caller error: return 0 rather than divide by 0 */
  /* Reject values in the final partial range so every residue is equally
   * likely: cutoff is the largest multiple of max not above 2^64. */
  uint64_t cutoff = UINT64_MAX - (UINT64_MAX % max + 1) % max;
  uint64_t v;
  do {
    crypto_rand(&v, sizeof(v));
  } while (v > cutoff);
  return v % max;
}

double
crypto_rand_double(void)
{
  uint64_t v;
  crypto_rand(&v, sizeof(v));
  /* 53 random bits: every value is an exact multiple of 2^-53 in [0, 1). */
  return (double)(v >> 11) * (1.0 / 9007199254740992.0);
}
