/* keccak.c -- Keccak-f[1600] permutation and sponge, as specified in
 * FIPS 202 sections 3.2 (step mappings theta, rho, pi, chi, iota), 4 (sponge)
 * and 5.1 (pad10*1).  Used for incremental SHAKE-256 squeezing (rend-spec-v3
 * derives keys by reading SHAKE-256 output in pieces). */
#include "lib/crypto/keccak.h"

#include <string.h>

/* iota round constants RC[i], FIPS 202 section 3.2.5. */
static const uint64_t keccak_rc[24] = {
  0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
  0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
  0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
  0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
  0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
  0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
  0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
  0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho rotation offsets for lane (x, y) at index x + 5*y, section 3.2.2. */
static const unsigned keccak_rho[25] = {
  0, 1, 62, 28, 27,
  36, 44, 6, 55, 20,
  3, 10, 43, 25, 39,
  41, 45, 15, 21, 8,
  18, 2, 61, 56, 14,
};

static inline uint64_t
rotl64(uint64_t v, unsigned r)
{
  return r ? (v << r) | (v >> (64 - r)) : v;
}

void
keccak_f1600(uint64_t a[25])
{
  uint64_t b[25], c[5], d[5];
  for (int round = 0; round < 24; round++) {
    /* theta */
    for (int x = 0; x < 5; x++)
      c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; x++)
      d[x] = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
    for (int i = 0; i < 25; i++)
      a[i] ^= d[i % 5];
    /* rho and pi: B[y, 2x+3y] = rot(A[x, y], r[x, y]) */
    for (int x = 0; x < 5; x++) {
      for (int y = 0; y < 5; y++) {
        int nx = y, ny = (2 * x + 3 * y) % 5;
        b[nx + 5 * ny] = rotl64(a[x + 5 * y], keccak_rho[x + 5 * y]);
      }
    }
    /* chi */
    for (int y = 0; y < 5; y++) {
      for (int x = 0; x < 5; x++) {
        a[x + 5 * y] = b[x + 5 * y] ^
          ((~b[(x + 1) % 5 + 5 * y]) & b[(x + 2) % 5 + 5 * y]);
      }
    }
    /* iota */
    a[0] ^= keccak_rc[round];
  }
  memset(b, 0, sizeof(b));
  memset(c, 0, sizeof(c));
  memset(d, 0, sizeof(d));
}

static inline void
sponge_xor_byte(keccak_sponge_t *s, size_t i, uint8_t v)
{
  s->a[i / 8] ^= (uint64_t)v << (8 * (i % 8));
}

static inline uint8_t
sponge_get_byte(const keccak_sponge_t *s, size_t i)
{
  return (uint8_t)(s->a[i / 8] >> (8 * (i % 8)));
}

void
keccak_sponge_init(keccak_sponge_t *s, size_t rate, uint8_t dsbyte)
{
  memset(s, 0, sizeof(*s));
  s->rate = rate;
  s->dsbyte = dsbyte;
}

int
keccak_sponge_absorb(keccak_sponge_t *s, const uint8_t *m, size_t n)
{
  if (s->squeezing)
    return -1;
  for (size_t i = 0; i < n; i++) {
    sponge_xor_byte(s, s->pos++, m[i]);
    if (s->pos == s->rate) {
      keccak_f1600(s->a);
      s->pos = 0;
    }
  }
  return 0;
}

void
keccak_sponge_squeeze(keccak_sponge_t *s, uint8_t *out, size_t n)
{
  if (!s->squeezing) {
    /* pad10*1 with the domain bits: first byte dsbyte, last bit 0x80. */
    sponge_xor_byte(s, s->pos, s->dsbyte);
    sponge_xor_byte(s, s->rate - 1, 0x80);
    keccak_f1600(s->a);
    s->pos = 0;
    s->squeezing = 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (s->pos == s->rate) {
      keccak_f1600(s->a);
      s->pos = 0;
    }
    out[i] = sponge_get_byte(s, s->pos++);
  }
}
