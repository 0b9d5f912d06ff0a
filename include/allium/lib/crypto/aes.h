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

/** AES-128-CTR (with a zero IV it is the relay-cell cipher of tor-spec 0.3 / 5.2)
 * as a fixed-size value the caller embeds in its own struct: no allocation
 * when the CPU has AES-NI (round keys, counter and the unused keystream
 * bytes are all in here, 224 bytes); otherwise it holds an EVP-backed
 * aes_ctr_t.  The fields are private to src/lib/crypto. */
typedef struct aes128_ctr_t {
  _Alignas(16) uint64_t rk_[11][2];   /* AES-NI round keys */
  uint64_t ctr_hi_, ctr_lo_;          /* next counter block, as numbers */
  uint8_t ks_[16];                    /* keystream of the last block */
  uint8_t ks_used_;                   /* bytes of ks_ already used (16: none left) */
  uint8_t mode_;                      /* 0 empty, 1 AES-NI, 2 EVP */
  aes_ctr_t *evp_;                    /* mode 2 */
} aes128_ctr_t;

/** Key c with a 16-byte key and a 16-byte IV (NULL: all zeros; any
 * previous contents of c are overwritten, not freed); 0, or -1 on failure
 * (c is then empty; aes128_ctr_clear() is still fine). */
int aes128_ctr_init(aes128_ctr_t *c, const uint8_t key[16], const uint8_t *iv);
/** XOR the next len keystream bytes into buf, in place. */
void aes128_ctr_crypt_inplace(aes128_ctr_t *c, uint8_t *buf, size_t len);
/** Wipe c and free what it holds; c is empty afterwards. */
void aes128_ctr_clear(aes128_ctr_t *c);
/** True if aes128_ctr_t uses AES-NI on this CPU (and it is not disabled). */
int aes128_ctr_hw_active(void);
/** Tests and benchmarks: 0 makes aes128_ctr_init() use the EVP fallback
 * even on an AES-NI CPU; 1 restores the default. */
void aes128_ctr_set_hw_allowed(int allowed);

#endif
