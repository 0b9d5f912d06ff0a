/* aes.c -- AES-128-CTR and AES-256-CTR stream ciphers over OpenSSL EVP, with
 * the 128-bit big-endian counter tor-spec 0.3 specifies (relay crypto,
 * tor-spec 5.2 / 6; hs descriptor and introduction encryption use AES-256-CTR).
 * See include/allium/lib/crypto/aes.h. */
#include "allium/lib/crypto/aes.h"

#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "allium/lib/malloc/malloc.h"

#define LOG_MODULE "crypto"
#include "allium/lib/log/log.h"

struct aes_ctr_t {
  EVP_CIPHER_CTX *evp;
};

/* Fetch each cipher once: OpenSSL 3 would otherwise look it up again for
 * every context initialised from EVP_aes_*_ctr(). */
static const EVP_CIPHER *aes_ciphers[2];
static pthread_once_t aes_ciphers_once = PTHREAD_ONCE_INIT;

static void
aes_fetch_ciphers(void)
{
  EVP_CIPHER *c128 = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
  EVP_CIPHER *c256 = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
  aes_ciphers[0] = c128 ? c128 : EVP_aes_128_ctr();
  aes_ciphers[1] = c256 ? c256 : EVP_aes_256_ctr();
}

aes_ctr_t *
aes_ctr_new(const uint8_t *key, size_t keylen, const uint8_t *iv)
{
  static const uint8_t zero_iv[AES_BLOCK_LEN] = { 0 };
  const EVP_CIPHER *cipher;
  if (!key)
    return NULL;
  pthread_once(&aes_ciphers_once, aes_fetch_ciphers);
  if (keylen == 16)
    cipher = aes_ciphers[0];
  else if (keylen == 32)
    cipher = aes_ciphers[1];
  else
    return NULL;
  EVP_CIPHER_CTX *evp = EVP_CIPHER_CTX_new();
  if (!evp)
    return NULL;
  if (EVP_EncryptInit_ex(evp, cipher, NULL, key, iv ? iv : zero_iv) != 1) {
    EVP_CIPHER_CTX_free(evp);
    return NULL;
  }
  aes_ctr_t *c = al_malloc(sizeof(*c));
  c->evp = evp;
  return c;
}

void
aes_ctr_crypt(aes_ctr_t *c, const uint8_t *in, uint8_t *out, size_t len)
{
  /* OpenSSL's CTR mode keeps the unused part of the last keystream block,
   * so successive calls of any length continue one keystream. */
  while (len > 0) {
    int chunk = len > (size_t)(INT_MAX - AES_BLOCK_LEN) ?
      INT_MAX - AES_BLOCK_LEN : (int)len;
    int outl = 0;
    if (EVP_EncryptUpdate(c->evp, out, &outl, in, chunk) != 1 || outl != chunk) {
      log_err("AES-CTR encryption failed");
      fprintf(stderr, "allium: AES-CTR encryption failed\n");
      abort();
    }
    in += chunk;
    out += chunk;
    len -= (size_t)chunk;
  }
}

void
aes_ctr_crypt_inplace(aes_ctr_t *c, uint8_t *buf, size_t len)
{
  aes_ctr_crypt(c, buf, buf, len);
}

void
aes_ctr_free_(aes_ctr_t *c)
{
  if (!c)
    return;
  /* EVP_CIPHER_CTX_free() cleanses the key schedule and counter state. */
  EVP_CIPHER_CTX_free(c->evp);
  al_free_secret(c, sizeof(*c));
}
