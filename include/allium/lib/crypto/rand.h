/* rand.h -- cryptographically strong random numbers (OpenSSL RAND_bytes). */
#ifndef ALLIUM_LIB_CRYPTO_RAND_H
#define ALLIUM_LIB_CRYPTO_RAND_H

#include <stddef.h>
#include <stdint.h>

/** Fill out with n random bytes; aborts if the generator fails. */
void crypto_rand(void *out, size_t n);
/** Uniform integer in [0, max) without modulo bias (rejection sampling);
 * max > 0 (max == 0 is a caller error and returns 0). */
uint64_t crypto_rand_uint64(uint64_t max);
/** Uniform double in [0, 1). */
double crypto_rand_double(void);

#endif
