/* crypto_util.h -- library initialisation and constant-time helpers. */
#ifndef ALLIUM_LIB_CRYPTO_CRYPTO_UTIL_H
#define ALLIUM_LIB_CRYPTO_CRYPTO_UTIL_H

#include <stddef.h>
#include <stdint.h>

/** Initialise OpenSSL and libsodium once; safe to call again. 0 or -1. */
int crypto_global_init(void);

/** Constant-time comparison: 1 when the n bytes at a and b are equal, else 0. */
int crypto_memeq(const void *a, const void *b, size_t n);

/** Constant-time: 1 when all n bytes at a are zero, else 0. */
int crypto_is_zero(const void *a, size_t n);

#endif
