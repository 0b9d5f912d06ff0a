/* aes.h -- AES-128-CTR and AES-256-CTR stream ciphers (big-endian counter
 * over the whole 16-byte IV, as tor-spec 0.3 uses them). */
#ifndef ALLIUM_LIB_CRYPTO_AES_H
#define ALLIUM_LIB_CRYPTO_AES_H

#include <stddef.h>
#include <stdint.h>

#define AES_BLOCK_LEN 16

typedef struct aes_ctr_t aes_ctr_t;

/** New CTR stream with a 16- or 32-byte key (keylen selects AES-128/256) and
 * a 16-byte IV (NULL means all zeros).  NULL on a bad key length.
 * The key is not kept outside OpenSSL's context; caller frees. */
aes_ctr_t *aes_ctr_new(const uint8_t *key, size_t keylen, const uint8_t *iv);
/** XOR the next len keystream bytes into buf, in place. */
void aes_ctr_crypt_inplace(aes_ctr_t *c, uint8_t *buf, size_t len);
/** out = in XOR next len keystream bytes (in and out may be equal). */
void aes_ctr_crypt(aes_ctr_t *c, const uint8_t *in, uint8_t *out, size_t len);
/** Free and wipe. */
void aes_ctr_free_(aes_ctr_t *c);
#define aes_ctr_free(p) do { aes_ctr_free_(p); (p) = NULL; } while (0)

#endif
