/* fuzz_hscells.c -- fuzz target for the onion-service relay message codecs
 * (src/core/cell/hs_cells.c, rend-spec-v3 3.1-3.4, 4).
 *
 * Input: byte 0 picks the decoder (mod 8), the rest is the message body:
 *   0 ESTABLISH_INTRO (decode, verify against a fixed KH, DoS extension;
 *     a decoded cell's extensions are re-signed with a fixed key and must
 *     verify), 1 INTRO_ESTABLISHED, 2 INTRODUCE1/2, 3 INTRODUCE_ACK,
 *   4 INTRODUCE2 plaintext, 5 ESTABLISH_RENDEZVOUS + RENDEZVOUS_ESTABLISHED,
 *   6 RENDEZVOUS1 then its HANDSHAKE_INFO as RENDEZVOUS2, 7 a DoS EXT_FIELD.
 * Every successful decode is re-encoded; the encoding must decode again and
 * re-encode to identical bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/hs_cells.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/ed25519.h"

#include "../fuzzing.h"

#define OUT_MAX 1024

static uint8_t out1[OUT_MAX];
static uint8_t out2[OUT_MAX];
static ed25519_keypair_t kp;
static const uint8_t kh[HS_CELL_KH_LEN] = { 1, 2, 3, 4, 5 };

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_hscells: %s\n", what);
  abort();
}

/* Decode p[0..n); if that works, re-encode, decode again, re-encode and
 * compare.  Encoders may only fail with CELL_ERR_SPACE. */
#define ROUNDTRIP(type, dec, enc, p, n)                                   \
  do {                                                                    \
    static type m_, again_;                                               \
    size_t n1_ = 0, n2_ = 0;                                              \
    if (dec(&m_, (p), (n)) != CELL_OK)                                    \
      break;                                                              \
    int rv_ = enc(&m_, out1, OUT_MAX, &n1_);                              \
    if (rv_ == CELL_ERR_SPACE)                                            \
      break;                                                              \
    if (rv_ != CELL_OK)                                                   \
      fail(#enc " failed on a decoded value");                            \
    if (dec(&again_, out1, n1_) != CELL_OK)                               \
      fail(#dec " rejects its own encoding");                             \
    if (enc(&again_, out2, OUT_MAX, &n2_) != CELL_OK)                     \
      fail(#enc " fails on re-decoded value");                            \
    if (n1_ != n2_ || memcmp(out1, out2, n1_) != 0)                       \
      fail(#enc " not stable");                                           \
  } while (0)

static void
fuzz_establish_intro(const uint8_t *b, size_t n)
{
  static hs_establish_intro_t m;
  ROUNDTRIP(hs_establish_intro_t, hs_establish_intro_decode,
            hs_establish_intro_encode, b, n);
  int dv = hs_establish_intro_decode(&m, b, n);
  int vv = hs_establish_intro_verify(NULL, b, n, kh);
  if (dv < 0 && vv != dv)
    fail("verify accepts what decode refuses");
  if (dv < 0)
    return;
  hs_intro_dos_t d;
  hs_intro_dos_from_exts(&d, &m.exts);
  if (d.verdict == HS_INTRO_DOS_ENABLE &&
      (d.rate_per_sec == 0 || d.burst_per_sec < d.rate_per_sec ||
       d.burst_per_sec > HS_DOS_PARAM_MAX))
    fail("DoS parameters enabled out of range");
  size_t k = 0;
  if (hs_establish_intro_build(&kp, kh, &m.exts, out1, OUT_MAX, &k) != CELL_OK)
    fail("build refuses decoded extensions");
  if (hs_establish_intro_verify(NULL, out1, k, kh) != CELL_OK)
    fail("own ESTABLISH_INTRO does not verify");
  out1[k - 1] ^= 1;
  if (hs_establish_intro_verify(NULL, out1, k, kh) != CELL_ERR_AUTH)
    fail("tampered ESTABLISH_INTRO verifies");
}

static void
fuzz_rendezvous(const uint8_t *b, size_t n)
{
  uint8_t cookie[HS_CELL_COOKIE_LEN], again[HS_CELL_COOKIE_LEN];
  size_t k = 0;
  if (hs_establish_rendezvous_decode(cookie, b, n) == CELL_OK) {
    if (hs_establish_rendezvous_encode(cookie, out1, OUT_MAX, &k) != CELL_OK ||
        k != HS_CELL_COOKIE_LEN ||
        hs_establish_rendezvous_decode(again, out1, k) != CELL_OK ||
        memcmp(again, cookie, sizeof(cookie)) != 0)
      fail("ESTABLISH_RENDEZVOUS not stable");
  }
  if ((hs_rendezvous_established_decode(b, n) == CELL_OK) != (n <= RELAY_BODY_MAX))
    fail("RENDEZVOUS_ESTABLISHED");
}

static void
fuzz_rendezvous1(const uint8_t *b, size_t n)
{
  ROUNDTRIP(hs_rendezvous1_t, hs_rendezvous1_decode, hs_rendezvous1_encode,
            b, n);
  hs_rendezvous1_t r1;
  if (hs_rendezvous1_decode(&r1, b, n) == CELL_OK)
    ROUNDTRIP(hs_rendezvous2_t, hs_rendezvous2_decode, hs_rendezvous2_encode,
              r1.handshake_info, r1.handshake_info_len);
}

static void
fuzz_dos_field(const uint8_t *b, size_t n)
{
  hs_cell_exts_t e = { 0 };
  hs_intro_dos_t d;
  e.n = 1;
  e.ext[0].type = HS_EXT_ESTABLISH_INTRO_DOS;
  e.ext[0].len = (uint8_t)(n > 255 ? 255 : n);
  e.ext[0].data = b;
  hs_intro_dos_from_exts(&d, &e);
  if (d.verdict == HS_INTRO_DOS_ENABLE) {
    size_t k = 0;
    hs_intro_dos_t d2;
    if (hs_intro_dos_ext_encode(d.rate_per_sec, d.burst_per_sec, out1,
                                OUT_MAX, &k) != CELL_OK)
      fail("enabled DoS parameters do not encode");
    e.ext[0].len = (uint8_t)k;
    e.ext[0].data = out1;
    hs_intro_dos_from_exts(&d2, &e);
    if (memcmp(&d, &d2, sizeof(d)) != 0)
      fail("DoS extension not stable");
  }
}

int
fuzz_init(void)
{
  uint8_t seed[ED25519_SEED_LEN] = { 9 };
  if (crypto_global_init() < 0 || ed25519_keypair_from_seed(&kp, seed) < 0)
    abort();
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  const uint8_t *b = data + 1;
  size_t n = len - 1;
  switch (data[0] & 7) {
  case 0:
    fuzz_establish_intro(b, n);
    break;
  case 1:
    ROUNDTRIP(hs_cell_exts_t, hs_intro_established_decode,
              hs_intro_established_encode, b, n);
    break;
  case 2:
    ROUNDTRIP(hs_introduce1_t, hs_introduce1_decode, hs_introduce1_encode,
              b, n);
    break;
  case 3:
    ROUNDTRIP(hs_introduce_ack_t, hs_introduce_ack_decode,
              hs_introduce_ack_encode, b, n);
    break;
  case 4:
    ROUNDTRIP(hs_intro2_plain_t, hs_intro2_plain_decode,
              hs_intro2_plain_encode, b, n);
    break;
  case 5:
    fuzz_rendezvous(b, n);
    break;
  case 6:
    fuzz_rendezvous1(b, n);
    break;
  default:
    fuzz_dos_field(b, n);
    break;
  }
  return 0;
}
