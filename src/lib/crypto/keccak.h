/* keccak.h -- private: a Keccak-f[1600] sponge (FIPS 202) used for SHAKE-256
 * squeezed in pieces, which OpenSSL 3.0's EVP_DigestFinalXOF cannot do.
 * Not part of the public API; include only from src/lib/crypto. */
#ifndef ALLIUM_SRC_LIB_CRYPTO_KECCAK_H
#define ALLIUM_SRC_LIB_CRYPTO_KECCAK_H

#include <stddef.h>
#include <stdint.h>

/** Rate in bytes of SHAKE-256 (1600 - 2*256 bits). */
#define KECCAK_SHAKE256_RATE 136
/** FIPS 202 domain-separation + first pad bit for SHAKE ("1111" then pad10*1). */
#define KECCAK_SHAKE_DSBYTE 0x1f

typedef struct keccak_sponge_t {
  uint64_t a[25];     /* lane (x, y) at a[x + 5*y], little-endian bytes */
  size_t rate;        /* bytes absorbed/squeezed per permutation */
  size_t pos;         /* byte offset inside the current rate block */
  uint8_t dsbyte;     /* domain byte xored in at padding time */
  int squeezing;      /* 0 while absorbing, 1 after padding */
} keccak_sponge_t;

/** Apply the 24-round Keccak-f[1600] permutation to a. */
void keccak_f1600(uint64_t a[25]);
/** Start an empty sponge with rate bytes (< 200, multiple of 8) and dsbyte. */
void keccak_sponge_init(keccak_sponge_t *s, size_t rate, uint8_t dsbyte);
/** Absorb n bytes; ignored (returns -1) once squeezing has started. */
int keccak_sponge_absorb(keccak_sponge_t *s, const uint8_t *m, size_t n);
/** Squeeze the next n output bytes (pads on the first call). */
void keccak_sponge_squeeze(keccak_sponge_t *s, uint8_t *out, size_t n);

#endif
