/* aes128_ctr.c -- AES-128-CTR with a zero IV and a 128-bit big-endian
 * counter (tor-spec 0.3 and 5.2: the relay-cell cipher), as a compact value
 * embedded in the caller's state.  On x86-64 CPUs with AES-NI the key
 * schedule (FIPS 197 section 5.2) and eight counter blocks at a time are
 * computed with the AES instructions (constant time, no tables); the state
 * is 224 bytes instead of the ~650 bytes of an OpenSSL 3 EVP_CIPHER_CTX.
 * Elsewhere it falls back to the EVP-backed aes_ctr_t of aes.c.
 * See include/allium/lib/crypto/aes.h. */
#include "allium/lib/crypto/aes.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#define LOG_MODULE "crypto"
#include "allium/lib/log/log.h"

#define AES128_MODE_EMPTY 0
#define AES128_MODE_NI 1
#define AES128_MODE_EVP 2

static atomic_int aes128_hw_allowed = 1;

void
aes128_ctr_set_hw_allowed(int allowed)
{
  atomic_store(&aes128_hw_allowed, allowed ? 1 : 0);
}


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define NI_TARGET __attribute__((target("aes,sse2,ssse3")))

static int
ni_cpu_has_aes(void)
{
  static atomic_int known = -1;
  int k = atomic_load(&known);
  if (k < 0) {
    __builtin_cpu_init();
    k = __builtin_cpu_supports("aes") && __builtin_cpu_supports("ssse3");
    atomic_store(&known, k);
  }
  return k;
}

NI_TARGET static inline __m128i
ni_expand_step(__m128i key, __m128i assist)
{
  assist = _mm_shuffle_epi32(assist, 0xff);
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, assist);
}

#define NI_ROUND(i, rcon)                                                  \
  rk[i] = ni_expand_step(rk[(i) - 1],                                      \
                         _mm_aeskeygenassist_si128(rk[(i) - 1], (rcon)))

NI_TARGET static void
ni_key_schedule(aes128_ctr_t *c, const uint8_t key[16])
{
  __m128i rk[11];
  rk[0] = _mm_loadu_si128((const __m128i *)key);
  NI_ROUND(1, 0x01); NI_ROUND(2, 0x02); NI_ROUND(3, 0x04);
  NI_ROUND(4, 0x08); NI_ROUND(5, 0x10); NI_ROUND(6, 0x20);
  NI_ROUND(7, 0x40); NI_ROUND(8, 0x80); NI_ROUND(9, 0x1b);
  NI_ROUND(10, 0x36);
  for (int i = 0; i < 11; i++)
    _mm_store_si128((__m128i *)c->rk_[i], rk[i]);
  memwipe(rk, sizeof(rk));
}

/* The counter block (hi, lo) as 16 big-endian bytes in a register. */
NI_TARGET static inline __m128i
ni_counter(uint64_t hi, uint64_t lo)
{
  return _mm_set_epi64x((long long)__builtin_bswap64(lo),
                        (long long)__builtin_bswap64(hi));
}

#define NI_EACH8(stmt) \
  do { stmt(0); stmt(1); stmt(2); stmt(3); \
       stmt(4); stmt(5); stmt(6); stmt(7); } while (0)

/* The keystream of the eight counter blocks from c's counter on (the
 * counter is not advanced), the AES rounds of the eight interleaved so the
 * AES unit's pipeline stays full. */
NI_TARGET static inline void
ni_blocks8(const aes128_ctr_t *c, __m128i *b0, __m128i *b1, __m128i *b2,
           __m128i *b3, __m128i *b4, __m128i *b5, __m128i *b6, __m128i *b7)
{
  const __m128i *rk = (const __m128i *)c->rk_;
  uint64_t hi = c->ctr_hi_, lo = c->ctr_lo_;
  __m128i k = _mm_load_si128(&rk[0]);
  __m128i x0, x1, x2, x3, x4, x5, x6, x7;
  if (__builtin_expect(lo <= UINT64_MAX - 7, 1)) {
#define NI_CTR(j) x##j = _mm_xor_si128(ni_counter(hi, lo + (j)), k)
    NI_EACH8(NI_CTR);
#undef NI_CTR
  } else {                    /* the low half wraps inside these eight */
#define NI_CTR(j) x##j = _mm_xor_si128(ni_counter(hi, lo), k); \
    if (++lo == 0) hi++
    NI_EACH8(NI_CTR);
#undef NI_CTR
  }
  for (int r = 1; r < 10; r++) {
    k = _mm_load_si128(&rk[r]);
#define NI_ENC(j) x##j = _mm_aesenc_si128(x##j, k)
    NI_EACH8(NI_ENC);
#undef NI_ENC
  }
  k = _mm_load_si128(&rk[10]);
#define NI_LAST(j) *b##j = _mm_aesenclast_si128(x##j, k)
  NI_EACH8(NI_LAST);
#undef NI_LAST
}

static inline void
ctr_add(aes128_ctr_t *c, unsigned n)
{
  uint64_t lo = c->ctr_lo_ + n;
  if (lo < c->ctr_lo_)
    c->ctr_hi_++;
  c->ctr_lo_ = lo;
}

NI_TARGET static void
ni_crypt(aes128_ctr_t *c, uint8_t *buf, size_t len)
{
  __m128i ks[8];
  for (; len >= 128; buf += 128, len -= 128) {
    __m128i b0, b1, b2, b3, b4, b5, b6, b7;
    ni_blocks8(c, &b0, &b1, &b2, &b3, &b4, &b5, &b6, &b7);
    ctr_add(c, 8);
#define NI_XOR(j) _mm_storeu_si128((__m128i *)(buf + 16 * (j)), \
    _mm_xor_si128(_mm_loadu_si128((const __m128i *)(buf + 16 * (j))), b##j))
    NI_EACH8(NI_XOR);
#undef NI_XOR
  }
  if (len == 0)
    return;
  /* 1..127 bytes: eight blocks computed, only those used are counted (the
   * rest is computed again next time: no keystream is ever used twice). */
  ni_blocks8(c, &ks[0], &ks[1], &ks[2], &ks[3], &ks[4], &ks[5], &ks[6],
             &ks[7]);
  size_t full = len / 16, tail = len % 16;
  for (size_t j = 0; j < full; j++)
    _mm_storeu_si128((__m128i *)(buf + 16 * j),
                     _mm_xor_si128(_mm_loadu_si128(
                                     (const __m128i *)(buf + 16 * j)), ks[j]));
  ctr_add(c, (unsigned)full);
  if (tail) {
    _mm_storeu_si128((__m128i *)c->ks_, ks[full]);
    buf += 16 * full;
    for (size_t i = 0; i < tail; i++)
      buf[i] ^= c->ks_[i];
    c->ks_used_ = (uint8_t)tail;
    ctr_add(c, 1);
  }
  memwipe(ks, sizeof(ks));
}
#else
static int ni_cpu_has_aes(void) { return 0; }
static void ni_key_schedule(aes128_ctr_t *c, const uint8_t key[16])
{ (void)c; (void)key; }
static void ni_crypt(aes128_ctr_t *c, uint8_t *buf, size_t len)
{ (void)c; (void)buf; (void)len; }
#endif

int
aes128_ctr_hw_active(void)
{
  return ni_cpu_has_aes() && atomic_load(&aes128_hw_allowed);
}

int
aes128_ctr_init(aes128_ctr_t *c, const uint8_t key[16], const uint8_t *iv)
{
  memset(c, 0, sizeof(*c));
  if (!key)
    return -1;
  c->ks_used_ = 16;
  if (iv) {
    for (int i = 0; i < 8; i++) {
      c->ctr_hi_ = (c->ctr_hi_ << 8) | iv[i];
      c->ctr_lo_ = (c->ctr_lo_ << 8) | iv[8 + i];
    }
  }
  if (aes128_ctr_hw_active()) {
    ni_key_schedule(c, key);
    c->mode_ = AES128_MODE_NI;
    return 0;
  }
  c->evp_ = aes_ctr_new(key, 16, iv);
  if (!c->evp_)
    return -1;
  c->mode_ = AES128_MODE_EVP;
  return 0;
}

void
aes128_ctr_crypt_inplace(aes128_ctr_t *c, uint8_t *buf, size_t len)
{
  if (c->mode_ == AES128_MODE_EVP) {
    aes_ctr_crypt_inplace(c->evp_, buf, len);
    return;
  }
  if (c->mode_ != AES128_MODE_NI) {   /* caller bug: never keyed */
    log_err("aes128_ctr_crypt_inplace() on an unkeyed context");
    abort();
  }
  /* Use up the keystream left over from a previous partial block. */
  while (len > 0 && c->ks_used_ < 16) {
    *buf++ ^= c->ks_[c->ks_used_++];
    len--;
  }
  if (len > 0)
    ni_crypt(c, buf, len);
}

void
aes128_ctr_clear(aes128_ctr_t *c)
{
  if (c->mode_ == AES128_MODE_EVP)
    aes_ctr_free(c->evp_);
  memwipe(c, sizeof(*c));
}
