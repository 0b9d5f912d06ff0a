/* crypto_util.c -- one-time initialisation of OpenSSL and libsodium, and
 * constant-time comparison helpers.  See include/allium/lib/crypto/crypto_util.h.
 * No torspec section: tor-spec 0.3 only names the primitives used. */
#include "allium/lib/crypto/crypto_util.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <pthread.h>
#include <sodium.h>

#define LOG_MODULE "crypto"
#include "allium/lib/log/log.h"

static pthread_once_t crypto_init_once = PTHREAD_ONCE_INIT;
static int crypto_init_result = -1;

static void
crypto_do_global_init(void)
{
  if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
                          OPENSSL_INIT_ADD_ALL_CIPHERS |
                          OPENSSL_INIT_ADD_ALL_DIGESTS, NULL) != 1) {
    log_err("OpenSSL initialisation failed");
    return;
  }
  /* sodium_init() returns 0 the first time, 1 if already done, -1 on error. */
  if (sodium_init() < 0) {
    log_err("libsodium initialisation failed");
    return;
  }
  crypto_init_result = 0;
}

int
crypto_global_init(void)
{
  if (pthread_once(&crypto_init_once, crypto_do_global_init) != 0)
    return -1;
  return crypto_init_result;
}

int
crypto_memeq(const void *a, const void *b, size_t n)
{
  if (n == 0)
    return 1;
  return CRYPTO_memcmp(a, b, n) == 0;
}

int
crypto_is_zero(const void *a, size_t n)
{
  const volatile uint8_t *p = a;
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++)
    acc |= p[i];
  /* Map acc == 0 to 1 and anything else to 0 without a data-dependent branch. */
  return (int)(1 & (((unsigned)acc - 1) >> 8));
}
