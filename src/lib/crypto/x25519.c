/* x25519.c -- Curve25519 Diffie-Hellman (RFC 7748 section 5 and 6.1) over
 * libsodium, as ntor (tor-spec 5.1.4) uses it.
 *
 * Secret scalars are clamped by the scalar multiplication itself, and the
 * top bit of a received u-coordinate is ignored (RFC 7748 section 5: "the
 * most significant bit of the final byte MUST be masked").  An all-zero
 * result means the peer sent a small-order point; we report that as -1.
 *
 * Public keys (the fixed-base multiplication X25519(k, 9), once per ntor
 * handshake for the relay's ephemeral Y) are computed on the twisted
 * Edwards curve, where libsodium has a precomputed table of multiples of
 * the base point (crypto_scalarmult_ed25519_base: ~13 us here against ~31
 * us for the Montgomery ladder crypto_scalarmult_base runs; the map adds
 * ~3 us), then mapped to the Montgomery u-coordinate with RFC 7748 section 4.1's
 * birational map u = (1 + y) / (1 - y).  The Edwards base point maps to
 * u = 9 and both functions clamp the scalar the same way, so the result is
 * bit for bit X25519(k, 9); the unit tests check that against the ladder.
 * The map needs one field inversion, done below in constant time with
 * 5 x 51-bit limbs (the inversion is z^(p-2), p = 2^255 - 19).
 */
#include <pthread.h>
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

#ifdef __SIZEOF_INT128__
/* ---- GF(2^255 - 19), 5 limbs of 51 bits, constant time ---- */

typedef unsigned __int128 u128;
typedef struct fe_t { uint64_t v[5]; } fe_t;

#define MASK51 ((UINT64_C(1) << 51) - 1)

static uint64_t
load64_le(const uint8_t *p)
{
  uint64_t r = 0;
  for (int i = 7; i >= 0; i--)
    r = (r << 8) | p[i];
  return r;
}

/* The low 255 bits of s (the top bit is ignored). */
static void
fe_frombytes(fe_t *h, const uint8_t s[32])
{
  h->v[0] = load64_le(s) & MASK51;
  h->v[1] = (load64_le(s + 6) >> 3) & MASK51;
  h->v[2] = (load64_le(s + 12) >> 6) & MASK51;
  h->v[3] = (load64_le(s + 19) >> 1) & MASK51;
  h->v[4] = (load64_le(s + 24) >> 12) & MASK51;
}

/* One carry pass: limbs back under 2^51 (+ a small carry into limb 0). */
static void
fe_carry(fe_t *h)
{
  uint64_t c;
  c = h->v[0] >> 51; h->v[0] &= MASK51; h->v[1] += c;
  c = h->v[1] >> 51; h->v[1] &= MASK51; h->v[2] += c;
  c = h->v[2] >> 51; h->v[2] &= MASK51; h->v[3] += c;
  c = h->v[3] >> 51; h->v[3] &= MASK51; h->v[4] += c;
  c = h->v[4] >> 51; h->v[4] &= MASK51; h->v[0] += c * 19;
}

/* h = the five 128-bit column sums r0..r4, carried back to 51-bit limbs
 * (2^255 = 19 mod p folds the top carry into limb 0). */
static void
fe_reduce(fe_t *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4)
{
  r1 += (uint64_t)(r0 >> 51);
  r2 += (uint64_t)(r1 >> 51);
  r3 += (uint64_t)(r2 >> 51);
  r4 += (uint64_t)(r3 >> 51);
  uint64_t c = (uint64_t)(r4 >> 51);
  h->v[0] = ((uint64_t)r0 & MASK51) + c * 19;
  h->v[1] = (uint64_t)r1 & MASK51;
  h->v[2] = (uint64_t)r2 & MASK51;
  h->v[3] = (uint64_t)r3 & MASK51;
  h->v[4] = (uint64_t)r4 & MASK51;
  c = h->v[0] >> 51;
  h->v[0] &= MASK51;
  h->v[1] += c;
}

static void
fe_mul(fe_t *h, const fe_t *f, const fe_t *g)
{
  const uint64_t *a = f->v, *b = g->v;
  uint64_t b1 = b[1] * 19, b2 = b[2] * 19, b3 = b[3] * 19, b4 = b[4] * 19;
  u128 r0 = (u128)a[0] * b[0] + (u128)a[1] * b4 + (u128)a[2] * b3 +
            (u128)a[3] * b2 + (u128)a[4] * b1;
  u128 r1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b4 +
            (u128)a[3] * b3 + (u128)a[4] * b2;
  u128 r2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] +
            (u128)a[3] * b4 + (u128)a[4] * b3;
  u128 r3 = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] +
            (u128)a[3] * b[0] + (u128)a[4] * b4;
  u128 r4 = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] +
            (u128)a[3] * b[1] + (u128)a[4] * b[0];
  fe_reduce(h, r0, r1, r2, r3, r4);
}

/* h = f^2: fe_mul's products with the symmetric ones paired (15 instead
 * of 25 multiplications). */
static void
fe_sq(fe_t *h, const fe_t *f)
{
  const uint64_t *a = f->v;
  uint64_t d0 = 2 * a[0], d1 = 2 * a[1];
  uint64_t a3_19 = 19 * a[3], a4_19 = 19 * a[4];
  u128 r0 = (u128)a[0] * a[0] + (u128)d1 * a4_19 + (u128)(2 * a[2]) * a3_19;
  u128 r1 = (u128)d0 * a[1] + (u128)(2 * a[2]) * a4_19 + (u128)a[3] * a3_19;
  u128 r2 = (u128)d0 * a[2] + (u128)a[1] * a[1] + (u128)(2 * a[3]) * a4_19;
  u128 r3 = (u128)d0 * a[3] + (u128)d1 * a[2] + (u128)a[4] * a4_19;
  u128 r4 = (u128)d0 * a[4] + (u128)d1 * a[3] + (u128)a[2] * a[2];
  fe_reduce(h, r0, r1, r2, r3, r4);
}

/* h = f^(2^n), n >= 1. */
static void
fe_sqn(fe_t *h, const fe_t *f, int n)
{
  fe_sq(h, f);
  while (--n > 0)
    fe_sq(h, h);
}

/* h = z^(p - 2) = 1/z (0 for z = 0): the addition chain 2^255 - 21. */
static void
fe_invert(fe_t *h, const fe_t *z)
{
  fe_t z2, z9, z11, t, z5_0, z10_0, z20_0, z50_0, z100_0;
  fe_sq(&z2, z);
  fe_sqn(&t, &z2, 2);
  fe_mul(&z9, &t, z);
  fe_mul(&z11, &z9, &z2);
  fe_sq(&t, &z11);
  fe_mul(&z5_0, &t, &z9);              /* z^(2^5 - 1) */
  fe_sqn(&t, &z5_0, 5);
  fe_mul(&z10_0, &t, &z5_0);           /* 2^10 - 1 */
  fe_sqn(&t, &z10_0, 10);
  fe_mul(&z20_0, &t, &z10_0);          /* 2^20 - 1 */
  fe_sqn(&t, &z20_0, 20);
  fe_mul(&t, &t, &z20_0);              /* 2^40 - 1 */
  fe_sqn(&t, &t, 10);
  fe_mul(&z50_0, &t, &z10_0);          /* 2^50 - 1 */
  fe_sqn(&t, &z50_0, 50);
  fe_mul(&z100_0, &t, &z50_0);         /* 2^100 - 1 */
  fe_sqn(&t, &z100_0, 100);
  fe_mul(&t, &t, &z100_0);             /* 2^200 - 1 */
  fe_sqn(&t, &t, 50);
  fe_mul(&t, &t, &z50_0);              /* 2^250 - 1 */
  fe_sqn(&t, &t, 5);
  fe_mul(h, &t, &z11);                 /* 2^255 - 32 + 11 */
  memwipe(&z2, sizeof(z2));
  memwipe(&z9, sizeof(z9));
  memwipe(&z11, sizeof(z11));
  memwipe(&t, sizeof(t));
  memwipe(&z5_0, sizeof(z5_0));
  memwipe(&z10_0, sizeof(z10_0));
  memwipe(&z20_0, sizeof(z20_0));
  memwipe(&z50_0, sizeof(z50_0));
  memwipe(&z100_0, sizeof(z100_0));
}

/* The canonical 32-byte encoding (fully reduced mod p). */
static void
fe_tobytes(uint8_t s[32], const fe_t *f)
{
  fe_t h = *f;
  fe_carry(&h);
  fe_carry(&h);
  /* Now h < 2p; q = 1 iff h >= p, i.e. iff h + 19 >= 2^255. */
  uint64_t q = (h.v[0] + 19) >> 51;
  q = (h.v[1] + q) >> 51;
  q = (h.v[2] + q) >> 51;
  q = (h.v[3] + q) >> 51;
  q = (h.v[4] + q) >> 51;
  h.v[0] += 19 * q;
  /* Carry through, dropping the carry out of limb 4: that is q * 2^255. */
  for (int i = 0; i < 4; i++) {
    h.v[i + 1] += h.v[i] >> 51;
    h.v[i] &= MASK51;
  }
  h.v[4] &= MASK51;
  uint64_t w[4] = {
    h.v[0] | (h.v[1] << 51),
    (h.v[1] >> 13) | (h.v[2] << 38),
    (h.v[2] >> 26) | (h.v[3] << 25),
    (h.v[3] >> 39) | (h.v[4] << 12),
  };
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++)
      s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
  memwipe(&h, sizeof(h));
  memwipe(w, sizeof(w));
}

/* u = (1 + y) / (1 - y) for the Edwards point whose encoding is ed. */
static void
edwards_to_montgomery(uint8_t u[32], const uint8_t ed[32])
{
  /* 2p, limb by limb: subtracting a reduced y from it never underflows. */
  static const uint64_t two_p[5] = {
    0xfffffffffffdaULL, 0xffffffffffffeULL, 0xffffffffffffeULL,
    0xffffffffffffeULL, 0xffffffffffffeULL,
  };
  fe_t y, num, den, inv;
  fe_frombytes(&y, ed);   /* drops the sign bit of x */
  for (int i = 0; i < 5; i++) {
    num.v[i] = y.v[i];
    den.v[i] = two_p[i] - y.v[i];
  }
  num.v[0] += 1;
  den.v[0] += 1;
  fe_invert(&inv, &den);
  fe_mul(&num, &num, &inv);
  fe_tobytes(u, &num);
  memwipe(&y, sizeof(y));
  memwipe(&num, sizeof(num));
  memwipe(&den, sizeof(den));
  memwipe(&inv, sizeof(inv));
}

/* ---- the public API ---- */
#endif /* __SIZEOF_INT128__ */

/* Fresh secret scalars come from a small per-thread pool filled by one
 * crypto_rand() call per SECRET_POOL_KEYS keys: OpenSSL's RAND_bytes costs
 * about as many instructions per call for 32 bytes as for 512 (thread-local
 * DRBG lookup), which was ~4% of a relay's ntor handshake.  Each secret is
 * wiped from the pool as it is taken.  A forked child must never reuse its
 * parent's pool: a fork handler bumps a generation number, and a pool from
 * another generation is wiped and refilled. */
#define SECRET_POOL_KEYS 16

typedef struct secret_pool_t {
  uint8_t bytes[SECRET_POOL_KEYS * X25519_KEY_LEN];
  unsigned left;          /* keys not yet taken, at the end of bytes */
  unsigned gen;
} secret_pool_t;

static _Thread_local secret_pool_t secret_pool;
static volatile unsigned fork_gen = 1;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void
on_fork_child(void)
{
  fork_gen++;
}

static void
register_fork_handler(void)
{
  (void)pthread_atfork(NULL, NULL, on_fork_child);
}

static void
secret_take(uint8_t out[X25519_KEY_LEN])
{
  secret_pool_t *p = &secret_pool;
  pthread_once(&fork_once, register_fork_handler);
  if (p->gen != fork_gen || p->left == 0) {
    memwipe(p->bytes, sizeof(p->bytes));
    crypto_rand(p->bytes, sizeof(p->bytes));
    p->left = SECRET_POOL_KEYS;
    p->gen = fork_gen;
  }
  uint8_t *k = p->bytes + (size_t)(--p->left) * X25519_KEY_LEN;
  memcpy(out, k, X25519_KEY_LEN);
  memwipe(k, X25519_KEY_LEN);
}

int
x25519_keypair_generate(x25519_keypair_t *kp)
{
  if (!kp)
    return -1;
  secret_take(kp->sec);
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
#ifdef __SIZEOF_INT128__
  uint8_t k[32], ed[32];
  int r = 0;
  if (!pub || !sec)
    return -1;
  /* libsodium clamps the same way, but refuses an all-zero input (which
   * X25519 clamps to 2^254): hand it the clamped copy.  -1 then only for
   * the identity, which no clamped scalar gives. */
  memcpy(k, sec, sizeof(k));
  x25519_clamp(k);
  if (crypto_scalarmult_ed25519_base(ed, k) != 0) {
    memset(pub, 0, X25519_KEY_LEN);
    r = -1;
  } else {
    edwards_to_montgomery(pub, ed);
  }
  memwipe(k, sizeof(k));
  memwipe(ed, sizeof(ed));
  return r;
#else
  /* No 128-bit integers for the map's field arithmetic: the ladder. */
  return x25519_public_from_secret_ladder(pub, sec);
#endif
}

int
x25519_public_from_secret_ladder(uint8_t pub[X25519_KEY_LEN],
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
