/* test_hs_cells.c -- onion-service relay message bodies and the
 * ESTABLISH_INTRO check (src/core/cell/hs_cells.c, rend-spec-v3 3.1-3.4, 4). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/hs_cells.h"
#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/x25519.h"
#include "cell_test_util.h"
#include "helpers/vectors.h"

static ed25519_keypair_t auth_kp, other_kp;
static uint8_t kh[HS_CELL_KH_LEN];

static void
setup(void)
{
  uint8_t seed[32];
  cr_assert_eq(crypto_global_init(), 0);
  memset(seed, 0x11, sizeof(seed));
  cr_assert_eq(ed25519_keypair_from_seed(&auth_kp, seed), 0);
  memset(seed, 0x22, sizeof(seed));
  cr_assert_eq(ed25519_keypair_from_seed(&other_kp, seed), 0);
  for (size_t i = 0; i < sizeof(kh); i++)
    kh[i] = (uint8_t)(0xA0 + i);
}

TestSuite(hs_cells, .init = setup);

/* Static decoders in "bytes in, result out" form for the truncation helper. */
static int
dec_est_intro(const uint8_t *p, size_t n)
{
  static hs_establish_intro_t m;
  return hs_establish_intro_decode(&m, p, n);
}

static int
verify_est_intro(const uint8_t *p, size_t n)
{
  return hs_establish_intro_verify(NULL, p, n, kh);
}

static int
dec_intro1(const uint8_t *p, size_t n)
{
  static hs_introduce1_t m;
  return hs_introduce1_decode(&m, p, n);
}

static int
dec_ack(const uint8_t *p, size_t n)
{
  static hs_introduce_ack_t m;
  return hs_introduce_ack_decode(&m, p, n);
}

static int
dec_plain(const uint8_t *p, size_t n)
{
  static hs_intro2_plain_t m;
  return hs_intro2_plain_decode(&m, p, n);
}

static int
dec_established(const uint8_t *p, size_t n)
{
  static hs_cell_exts_t m;
  return hs_intro_established_decode(&m, p, n);
}

/* An extension list with a DoS extension (rate, burst) and an unknown one. */
static uint8_t dos_buf[32];
static const uint8_t unknown_ext[3] = { 0xde, 0xad, 0x00 };

static void
make_exts(hs_cell_exts_t *e, uint64_t rate, uint64_t burst, bool unknown_first)
{
  size_t n = 0;
  memset(e, 0, sizeof(*e));
  cr_assert_eq(hs_intro_dos_ext_encode(rate, burst, dos_buf, sizeof(dos_buf),
                                       &n), CELL_OK);
  cr_assert_eq(n, 19);
  hs_cell_ext_t unk = { 0x77, sizeof(unknown_ext), unknown_ext };
  hs_cell_ext_t dos = { HS_EXT_ESTABLISH_INTRO_DOS, (uint8_t)n, dos_buf };
  e->ext[0] = unknown_first ? unk : dos;
  e->ext[1] = unknown_first ? dos : unk;
  e->n = 2;
}

/* ---- ESTABLISH_INTRO ---- */

Test(hs_cells, establish_intro_sizes_match_spec)
{
  uint8_t out[RELAY_BODY_MAX];
  size_t n = 0;
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, NULL, out, sizeof(out),
                                        &n), CELL_OK);
  cr_assert_eq(n, 134);   /* 3.1.1.1: "134 bytes" without the extension */
  hs_cell_exts_t e = { 0 };
  hs_cell_ext_t *x = &e.ext[0];
  cr_assert_eq(hs_intro_dos_ext_encode(25, 200, dos_buf, sizeof(dos_buf), &n),
               CELL_OK);
  *x = (hs_cell_ext_t){ HS_EXT_ESTABLISH_INTRO_DOS, (uint8_t)n, dos_buf };
  e.n = 1;
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, &e, out, sizeof(out),
                                        &n), CELL_OK);
  cr_assert_eq(n, 155);   /* "... to 155 bytes" with it */
  /* Layout: 02 0020 KEY 01 | 01 13 02 01 <u64 25> 02 <u64 200> | MAC ... */
  cr_assert_eq(out[0], 2);
  cr_assert_eq(out[1], 0);
  cr_assert_eq(out[2], 32);
  cr_assert_arr_eq(out + 3, auth_kp.pub.pubkey, 32);
  static const uint8_t ext[] = { 1, 1, 19, 2, 1, 0, 0, 0, 0, 0, 0, 0, 25,
                                 2, 0, 0, 0, 0, 0, 0, 0, 200 };
  cr_assert_arr_eq(out + 35, ext, sizeof(ext));
  cr_assert_eq(out[35 + sizeof(ext) + 32], 0);
  cr_assert_eq(out[35 + sizeof(ext) + 33], 64);
}

Test(hs_cells, establish_intro_build_verify_round_trip)
{
  uint8_t out[RELAY_BODY_MAX], again[RELAY_BODY_MAX];
  size_t n = 0, n2 = 0;
  hs_cell_exts_t e;
  make_exts(&e, 25, 200, true);
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, &e, out, sizeof(out),
                                        &n), CELL_OK);
  static hs_establish_intro_t m;
  cr_assert_eq(hs_establish_intro_verify(&m, out, n, kh), CELL_OK);
  cr_assert_arr_eq(m.auth_key, auth_kp.pub.pubkey, 32);
  cr_assert_eq(m.exts.n, 2);
  cr_assert_eq(m.exts.ext[0].type, 0x77);   /* unknown: kept, skipped */
  cr_assert_eq(m.mac_off, 3 + 32 + 1 + 5 + 21);
  hs_intro_dos_t dos;
  hs_intro_dos_from_exts(&dos, &m.exts);
  cr_assert_eq(dos.verdict, HS_INTRO_DOS_ENABLE);
  cr_assert_eq(dos.rate_per_sec, 25);
  cr_assert_eq(dos.burst_per_sec, 200);
  /* Plain re-encoding gives the same bytes. */
  cr_assert_eq(hs_establish_intro_encode(&m, again, sizeof(again), &n2),
               CELL_OK);
  cr_assert_eq(n2, n);
  cr_assert_arr_eq(again, out, n);
  /* Every prefix is refused by the decoder and by the check. */
  test_all_truncations_fail(dec_est_intro, out, n, NULL);
  test_all_truncations_fail(verify_est_intro, out, n, NULL);
}

Test(hs_cells, establish_intro_bad_mac_or_signature)
{
  uint8_t out[RELAY_BODY_MAX], bad[RELAY_BODY_MAX];
  size_t n = 0;
  hs_cell_exts_t e;
  make_exts(&e, 10, 20, false);
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, &e, out, sizeof(out),
                                        &n), CELL_OK);
  static hs_establish_intro_t m;
  cr_assert_eq(hs_establish_intro_verify(&m, out, n, kh), CELL_OK);
  /* Wrong KH: the signature is still good, the MAC is not. */
  uint8_t kh2[HS_CELL_KH_LEN];
  memcpy(kh2, kh, sizeof(kh2));
  kh2[19] ^= 1;
  cr_assert_eq(hs_establish_intro_verify(&m, out, n, kh2), CELL_ERR_AUTH);
  for (size_t i = 0; i < sizeof(m); i++)   /* zeroed on failure */
    cr_assert_eq(((uint8_t *)&m)[i], 0);
  /* Flip each byte in turn: every change except to the key type/lengths
   * (framing errors) must be an authentication failure. */
  for (size_t i = 0; i < n; i++) {
    memcpy(bad, out, n);
    bad[i] ^= 0x01;
    int rv = hs_establish_intro_verify(NULL, bad, n, kh);
    cr_assert_lt(rv, 0, "flip at %zu accepted", i);
  }
  /* HANDSHAKE_AUTH and SIG bytes flip to CELL_ERR_AUTH specifically. */
  size_t mac_at = n - 64 - 2 - 32;
  memcpy(bad, out, n);
  bad[mac_at + 5] ^= 0x80;
  cr_assert_eq(hs_establish_intro_verify(NULL, bad, n, kh), CELL_ERR_AUTH);
  memcpy(bad, out, n);
  bad[n - 1] ^= 0x80;
  cr_assert_eq(hs_establish_intro_verify(NULL, bad, n, kh), CELL_ERR_AUTH);
  /* Signed by another key than AUTH_KEY (MAC recomputed and correct). */
  size_t n2 = 0;
  cr_assert_eq(hs_establish_intro_build(&other_kp, kh, &e, bad, sizeof(bad),
                                        &n2), CELL_OK);
  cr_assert_eq(n2, n);
  memcpy(bad + n - 64, out + n - 64, 64);   /* auth_kp's SIG, other key */
  cr_assert_eq(hs_establish_intro_verify(NULL, bad, n, kh), CELL_ERR_AUTH);
}

Test(hs_cells, establish_intro_framing_errors)
{
  uint8_t out[RELAY_BODY_MAX + 8];
  size_t n = 0;
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, NULL, out,
                                        RELAY_BODY_MAX, &n), CELL_OK);
  uint8_t bad[RELAY_BODY_MAX + 8];
  memcpy(bad, out, n);
  bad[0] = 1;                     /* legacy RSA key type */
  cr_assert_eq(dec_est_intro(bad, n), CELL_ERR_UNSUPPORTED);
  bad[0] = 3;
  cr_assert_eq(dec_est_intro(bad, n), CELL_ERR_UNSUPPORTED);
  memcpy(bad, out, n);
  bad[2] = 31;                    /* AUTH_KEY_LEN */
  cr_assert_eq(dec_est_intro(bad, n), CELL_ERR_LENGTH);
  bad[1] = 1; bad[2] = 32;
  cr_assert_eq(dec_est_intro(bad, n), CELL_ERR_LENGTH);
  memcpy(bad, out, n);
  bad[n - 65] = 63;               /* SIG_LEN */
  cr_assert_eq(dec_est_intro(bad, n), CELL_ERR_LENGTH);
  memcpy(bad, out, n);
  bad[35] = 1;                    /* N_EXTENSIONS 1, eats into the MAC */
  bad[36] = 9;
  bad[37] = 200;                  /* longer than the rest */
  cr_assert_eq(dec_est_intro(bad, n), CELL_ERR_TRUNCATED);
  memcpy(bad, out, n);
  bad[n] = 0;                     /* trailing byte */
  cr_assert_eq(dec_est_intro(bad, n + 1), CELL_ERR_TRAILING);
  cr_assert_eq(verify_est_intro(bad, n + 1), CELL_ERR_TRAILING);
  cr_assert_eq(dec_est_intro(bad, RELAY_BODY_MAX + 1), CELL_ERR_LENGTH);
  /* Encoders: no room. */
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, NULL, out, 133, &n),
               CELL_ERR_SPACE);
  static hs_establish_intro_t m;
  cr_assert_eq(hs_establish_intro_decode(&m, out, 134), CELL_OK);
  cr_assert_eq(hs_establish_intro_encode(&m, bad, 100, &n), CELL_ERR_SPACE);
  /* Too many extensions for one relay body. */
  static hs_cell_exts_t big;
  static uint8_t blob[255];
  big.n = 3;
  for (int i = 0; i < 3; i++)
    big.ext[i] = (hs_cell_ext_t){ (uint8_t)(10 + i), 255, blob };
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, &big, out,
                                        RELAY_BODY_MAX, &n), CELL_ERR_SPACE);
  big.n = 1;
  big.ext[0].data = NULL;
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, &big, out,
                                        RELAY_BODY_MAX, &n), CELL_ERR_VALUE);
}

/* Known answers computed independently of this C code (Python's
 * cryptography Ed25519 and hashlib.sha3_256) from rend-spec-v3 3.1.1:
 *   body = 02 0020 PK N_EXT exts; body |= SHA3-256(htonll(20) | KH | body);
 *   cell = body | 0040 | Ed25519(seed 11*32, "Tor establish-intro cell v1" | body)
 * with KH = a0 a1 .. b3 and, second, a DoS extension rate 25 burst 200. */
static const char *const EST_INTRO_KAT[2] = {
  "020020d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9"
  "7787370051b6c3d756d2956219d2da2a060a3e5348f3499e8c7657cbd1491f2d"
  "6837b1e8004058be0eb46202c5b8224e4a38a0270666b83a4f81108724d2a52d"
  "d4ca9e7b99ecd5e1639e7cb816bb204e31f08cde0d6123f75718d84c2ecccda5"
  "96ba75ed8e09",
  "020020d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9"
  "778737010113020100000000000000190200000000000000c8063a4a2d3b779b"
  "db05dd8d30963d7fccfba0b7ea1e247781de717d28924cb4e90040972763a308"
  "f8b8327baf2cb44c75e7625cd7598669f8c7f2ed316533c7c8582c5148e5c40b"
  "af459b845c734ec3eeee14b7c92221ef658ed24bef7a2b05f2300c",
};

Test(hs_cells, establish_intro_known_answers)
{
  uint8_t want[RELAY_BODY_MAX], out[RELAY_BODY_MAX];
  size_t n = 0;
  for (int i = 0; i < 2; i++) {
    size_t wn = test_unhex(EST_INTRO_KAT[i], want, sizeof(want));
    hs_cell_exts_t e = { 0 };
    if (i == 1) {
      cr_assert_eq(hs_intro_dos_ext_encode(25, 200, dos_buf, sizeof(dos_buf),
                                           &n), CELL_OK);
      e.n = 1;
      e.ext[0] = (hs_cell_ext_t){ HS_EXT_ESTABLISH_INTRO_DOS, (uint8_t)n,
                                  dos_buf };
    }
    cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, &e, out, sizeof(out),
                                          &n), CELL_OK);
    cr_assert_eq(n, wn);
    cr_assert_arr_eq(out, want, n, "ESTABLISH_INTRO %d differs", i);
    cr_assert_eq(hs_establish_intro_verify(NULL, want, wn, kh), CELL_OK);
  }
}

/* ---- DoS extension ---- */

/* Interpret one DoS EXT_FIELD given as raw bytes. */
static hs_intro_dos_t
dos_of(const uint8_t *field, size_t len)
{
  hs_cell_exts_t e = { 0 };
  e.n = 1;
  e.ext[0] = (hs_cell_ext_t){ HS_EXT_ESTABLISH_INTRO_DOS, (uint8_t)len, field };
  hs_intro_dos_t d;
  hs_intro_dos_from_exts(&d, &e);
  return d;
}

#define U64(v) 0, 0, 0, 0, (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), \
               (uint8_t)((v) >> 8), (uint8_t)(v)

Test(hs_cells, dos_extension_values)
{
  hs_cell_exts_t none = { 0 };
  hs_intro_dos_t d;
  hs_intro_dos_from_exts(&d, &none);
  cr_assert_eq(d.verdict, HS_INTRO_DOS_DEFAULT);
  hs_intro_dos_from_exts(&d, NULL);
  cr_assert_eq(d.verdict, HS_INTRO_DOS_DEFAULT);

  const uint8_t ok[] = { 2, 1, U64(25), 2, U64(200) };
  d = dos_of(ok, sizeof(ok));
  cr_assert_eq(d.verdict, HS_INTRO_DOS_ENABLE);
  cr_assert_eq(d.rate_per_sec, 25);
  cr_assert_eq(d.burst_per_sec, 200);
  const uint8_t max[] = { 2, 1, U64(0x7fffffffu), 2, U64(0x7fffffffu) };
  cr_assert_eq(dos_of(max, sizeof(max)).verdict, HS_INTRO_DOS_ENABLE);
  const uint8_t zero_rate[] = { 2, 1, U64(0), 2, U64(200) };
  cr_assert_eq(dos_of(zero_rate, sizeof(zero_rate)).verdict,
               HS_INTRO_DOS_DISABLE);
  const uint8_t zero_burst[] = { 1, 2, U64(0) };
  cr_assert_eq(dos_of(zero_burst, sizeof(zero_burst)).verdict,
               HS_INTRO_DOS_DISABLE);
  /* Out of range: ignored, never enabled or disabled. */
  const uint8_t big_rate[] = { 2, 1, U64(0x80000000u), 2, U64(0x80000000u) };
  cr_assert_eq(dos_of(big_rate, sizeof(big_rate)).verdict,
               HS_INTRO_DOS_DEFAULT);
  const uint8_t huge[] = { 2, 1, 0xff, 0, 0, 0, 0, 0, 0, 1, 2, U64(5) };
  cr_assert_eq(dos_of(huge, sizeof(huge)).verdict, HS_INTRO_DOS_DEFAULT);
  const uint8_t big_zero[] = { 2, 1, U64(0x80000000u), 2, U64(0) };
  cr_assert_eq(dos_of(big_zero, sizeof(big_zero)).verdict,
               HS_INTRO_DOS_DEFAULT);
  const uint8_t burst_lt_rate[] = { 2, 1, U64(200), 2, U64(25) };
  cr_assert_eq(dos_of(burst_lt_rate, sizeof(burst_lt_rate)).verdict,
               HS_INTRO_DOS_DEFAULT);
  const uint8_t lone_rate[] = { 1, 1, U64(25) };
  cr_assert_eq(dos_of(lone_rate, sizeof(lone_rate)).verdict,
               HS_INTRO_DOS_DEFAULT);
  /* Unknown parameter types are skipped; the first of a type counts. */
  const uint8_t unk[] = { 4, 9, U64(1), 1, U64(25), 1, U64(999), 2, U64(30) };
  d = dos_of(unk, sizeof(unk));
  cr_assert_eq(d.verdict, HS_INTRO_DOS_ENABLE);
  cr_assert_eq(d.rate_per_sec, 25);
  cr_assert_eq(d.burst_per_sec, 30);
  /* Malformed: N_PARAMS too big, trailing byte, empty. */
  cr_assert_eq(dos_of(ok, sizeof(ok) - 1).verdict, HS_INTRO_DOS_DEFAULT);
  const uint8_t trail[] = { 2, 1, U64(25), 2, U64(200), 0 };
  cr_assert_eq(dos_of(trail, sizeof(trail)).verdict, HS_INTRO_DOS_DEFAULT);
  cr_assert_eq(dos_of(ok, 0).verdict, HS_INTRO_DOS_DEFAULT);
  /* Only the first DoS extension counts. */
  hs_cell_exts_t two = { 0 };
  two.n = 2;
  two.ext[0] = (hs_cell_ext_t){ 1, sizeof(zero_rate), zero_rate };
  two.ext[1] = (hs_cell_ext_t){ 1, sizeof(ok), ok };
  hs_intro_dos_from_exts(&d, &two);
  cr_assert_eq(d.verdict, HS_INTRO_DOS_DISABLE);

  uint8_t out[32];
  size_t n = 0;
  cr_assert_eq(hs_intro_dos_ext_encode(HS_DOS_PARAM_MAX + 1ull, 5, out,
                                       sizeof(out), &n), CELL_ERR_VALUE);
  cr_assert_eq(hs_intro_dos_ext_encode(5, HS_DOS_PARAM_MAX + 1ull, out,
                                       sizeof(out), &n), CELL_ERR_VALUE);
  cr_assert_eq(hs_intro_dos_ext_encode(200, 25, out, sizeof(out), &n),
               CELL_ERR_VALUE);
  cr_assert_eq(hs_intro_dos_ext_encode(0, 0, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(dos_of(out, n).verdict, HS_INTRO_DOS_DISABLE);
  cr_assert_eq(hs_intro_dos_ext_encode(1, 1, out, 18, &n), CELL_ERR_SPACE);
}

Test(hs_cells, establish_intro_bad_dos_ext_does_not_fail_the_cell)
{
  uint8_t out[RELAY_BODY_MAX];
  size_t n = 0;
  const uint8_t bad_dos[] = { 2, 1, U64(200), 2, U64(25) };
  hs_cell_exts_t e = { 0 };
  e.n = 1;
  e.ext[0] = (hs_cell_ext_t){ 1, sizeof(bad_dos), bad_dos };
  cr_assert_eq(hs_establish_intro_build(&auth_kp, kh, &e, out, sizeof(out),
                                        &n), CELL_OK);
  static hs_establish_intro_t m;
  cr_assert_eq(hs_establish_intro_verify(&m, out, n, kh), CELL_OK);
  hs_intro_dos_t d;
  hs_intro_dos_from_exts(&d, &m.exts);
  cr_assert_eq(d.verdict, HS_INTRO_DOS_DEFAULT);
}

/* ---- INTRO_ESTABLISHED ---- */

Test(hs_cells, intro_established)
{
  static hs_cell_exts_t m;
  uint8_t out[16];
  size_t n = 9;
  cr_assert_eq(hs_intro_established_decode(&m, NULL, 0), CELL_OK);
  cr_assert_eq(m.n, 0);
  cr_assert_eq(hs_intro_established_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(out[0], 0);
  const uint8_t two[] = { 2, 9, 0, 5, 2, 0xaa, 0xbb };
  test_all_truncations_fail(dec_established, two, sizeof(two),
                            (const size_t[]){ 0, SIZE_MAX });
  cr_assert_eq(hs_intro_established_decode(&m, two, sizeof(two)), CELL_OK);
  cr_assert_eq(m.n, 2);
  cr_assert_eq(m.ext[0].type, 9);
  cr_assert_eq(m.ext[0].len, 0);
  cr_assert_eq(m.ext[1].type, 5);
  cr_assert_eq(m.ext[1].data[1], 0xbb);
  cr_assert_eq(hs_cell_exts_find(&m, 5), &m.ext[1]);
  cr_assert_null(hs_cell_exts_find(&m, 6));
  cr_assert_eq(hs_intro_established_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, sizeof(two));
  cr_assert_arr_eq(out, two, n);
  const uint8_t trail[] = { 0, 0 };
  cr_assert_eq(hs_intro_established_decode(&m, trail, 2), CELL_ERR_TRAILING);
  cr_assert_eq(hs_intro_established_encode(&m, out, 0, &n), CELL_ERR_SPACE);
}

/* ---- INTRODUCE1 / INTRODUCE2 ---- */

Test(hs_cells, introduce1_round_trip_and_views)
{
  uint8_t enc[100], out[RELAY_BODY_MAX], again[RELAY_BODY_MAX];
  for (size_t i = 0; i < sizeof(enc); i++)
    enc[i] = (uint8_t)i;
  static hs_introduce1_t m, d;
  memcpy(m.auth_key, auth_kp.pub.pubkey, 32);
  m.exts.n = 1;
  m.exts.ext[0] = (hs_cell_ext_t){ 0x42, 3, unknown_ext };
  m.encrypted = enc;
  m.encrypted_len = sizeof(enc);
  size_t n = 0, n2 = 0;
  cr_assert_eq(hs_introduce1_encode(&m, out, sizeof(out), &n), CELL_OK);
  size_t head = 20 + 1 + 2 + 32 + 1 + 5;
  cr_assert_eq(n, head + sizeof(enc));
  cr_assert(crypto_is_zero(out, 20));
  cr_assert_eq(hs_introduce1_decode(&d, out, n), CELL_OK);
  cr_assert_arr_eq(d.auth_key, auth_kp.pub.pubkey, 32);
  cr_assert_eq(d.exts.n, 1);
  cr_assert_eq(d.exts.ext[0].type, 0x42);
  cr_assert_eq(d.encrypted, out + head);
  cr_assert_eq(d.encrypted_len, sizeof(enc));
  cr_assert_eq(d.client_pk, out + head);
  cr_assert_eq(d.enc_data, out + head + 32);
  cr_assert_eq(d.enc_data_len, sizeof(enc) - 64);
  cr_assert_eq(d.mac, out + n - 32);
  cr_assert_eq(d.mac_covered_len, n - 32);
  cr_assert_eq(hs_introduce1_encode(&d, again, sizeof(again), &n2), CELL_OK);
  cr_assert_eq(n2, n);
  cr_assert_arr_eq(again, out, n);
  /* Prefixes: everything shorter than header + CLIENT_PK + MAC fails;
   * longer ones are a shorter ENCRYPTED and decode. */
  for (size_t k = 0; k < n; k++) {
    int rv = test_decode_copy(dec_intro1, out, k);
    if (k < head + 64)
      cr_assert_lt(rv, 0, "prefix %zu decoded", k);
    else
      cr_assert_eq(rv, CELL_OK, "prefix %zu refused", k);
  }
}

Test(hs_cells, introduce1_framing_errors)
{
  uint8_t enc[64] = { 0 }, out[RELAY_BODY_MAX + 1], bad[RELAY_BODY_MAX + 1];
  static hs_introduce1_t m;
  m.encrypted = enc;
  m.encrypted_len = sizeof(enc);
  size_t n = 0;
  cr_assert_eq(hs_introduce1_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(dec_intro1(out, n), CELL_OK);
  memcpy(bad, out, n);
  bad[7] = 1;                          /* legacy INTRODUCE1 */
  cr_assert_eq(dec_intro1(bad, n), CELL_ERR_UNSUPPORTED);
  memcpy(bad, out, n);
  bad[20] = 1;                         /* AUTH_KEY_TYPE */
  cr_assert_eq(dec_intro1(bad, n), CELL_ERR_UNSUPPORTED);
  memcpy(bad, out, n);
  bad[22] = 33;                        /* AUTH_KEY_LEN */
  cr_assert_eq(dec_intro1(bad, n), CELL_ERR_LENGTH);
  memcpy(bad, out, n);
  bad[55] = 1;                         /* an extension longer than the cell */
  bad[57] = 255;
  cr_assert_eq(dec_intro1(bad, n), CELL_ERR_TRUNCATED);
  memset(bad, 0, sizeof(bad));
  memcpy(bad, out, n);
  cr_assert_eq(dec_intro1(bad, RELAY_BODY_MAX), CELL_OK);
  cr_assert_eq(dec_intro1(bad, RELAY_BODY_MAX + 1), CELL_ERR_LENGTH);
  m.encrypted_len = 63;
  cr_assert_eq(hs_introduce1_encode(&m, out, sizeof(out), &n), CELL_ERR_VALUE);
  m.encrypted_len = 64;
  m.encrypted = NULL;
  cr_assert_eq(hs_introduce1_encode(&m, out, sizeof(out), &n), CELL_ERR_VALUE);
  static uint8_t huge[RELAY_BODY_MAX];
  m.encrypted = huge;
  m.encrypted_len = sizeof(huge);
  cr_assert_eq(hs_introduce1_encode(&m, out, sizeof(out), &n), CELL_ERR_SPACE);
}

/* ---- INTRODUCE_ACK ---- */

Test(hs_cells, introduce_ack)
{
  static hs_introduce_ack_t m;
  uint8_t out[16];
  size_t n = 0;
  const uint8_t ok[] = { 0, 0, 0 };
  cr_assert_eq(hs_introduce_ack_decode(&m, ok, sizeof(ok)), CELL_OK);
  cr_assert_eq(m.status, HS_INTRO_ACK_SUCCESS);
  const uint8_t fail_ext[] = { 0, 2, 1, 0x33, 1, 0x44 };
  test_all_truncations_fail(dec_ack, fail_ext, sizeof(fail_ext), NULL);
  cr_assert_eq(hs_introduce_ack_decode(&m, fail_ext, sizeof(fail_ext)),
               CELL_OK);
  cr_assert_eq(m.status, HS_INTRO_ACK_BAD_FORMAT);
  cr_assert_eq(m.exts.ext[0].type, 0x33);
  cr_assert_eq(m.exts.ext[0].data[0], 0x44);
  cr_assert_eq(hs_introduce_ack_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, sizeof(fail_ext));
  cr_assert_arr_eq(out, fail_ext, n);
  const uint8_t odd[] = { 0x12, 0x34, 0 };
  cr_assert_eq(hs_introduce_ack_decode(&m, odd, sizeof(odd)), CELL_OK);
  cr_assert_eq(m.status, 0x1234);
  const uint8_t trail[] = { 0, 1, 0, 7 };
  cr_assert_eq(hs_introduce_ack_decode(&m, trail, sizeof(trail)),
               CELL_ERR_TRAILING);
  cr_assert_eq(m.status, 0);
  cr_assert_eq(hs_introduce_ack_encode(&m, out, 2, &n), CELL_ERR_SPACE);
}

/* ---- INTRODUCE2 plaintext ---- */

/* A plaintext with every kind of link specifier and some padding. */
static void
make_plain(hs_intro2_plain_t *m)
{
  memset(m, 0, sizeof(*m));
  memset(m->cookie, 0xc0, sizeof(m->cookie));
  m->exts.n = 1;
  m->exts.ext[0] = (hs_cell_ext_t){ HS_EXT_INTRO2_CC_REQUEST, 0, NULL };
  memset(m->onion_key, 0x0e, sizeof(m->onion_key));
  m->n_spec = 4;
  m->spec[0].type = RELAY_LSPEC_IPV4;
  memcpy(m->spec[0].u.ipv4.addr, "\x7f\x00\x00\x01", 4);
  m->spec[0].u.ipv4.port = 9001;
  m->spec[1].type = RELAY_LSPEC_LEGACY_ID;
  memset(m->spec[1].u.legacy_id, 0x1d, 20);
  m->spec[2].type = RELAY_LSPEC_ED25519_ID;
  memset(m->spec[2].u.ed25519_id, 0xed, 32);
  m->spec[3].type = 0x99;
  m->spec[3].len = 3;
  m->spec[3].u.data = unknown_ext;
  m->pad_len = 17;
}

Test(hs_cells, intro2_plaintext_round_trip)
{
  static hs_intro2_plain_t m, d;
  uint8_t out[RELAY_BODY_MAX], again[RELAY_BODY_MAX];
  size_t n = 0, n2 = 0;
  make_plain(&m);
  cr_assert_eq(hs_intro2_plain_encode(&m, out, sizeof(out), &n), CELL_OK);
  size_t lspecs = 1 + 8 + 22 + 34 + 5;
  size_t head = 20 + 1 + 2 + 1 + 2 + 32;
  cr_assert_eq(n, head + lspecs + 17);
  cr_assert_eq(hs_intro2_plain_decode(&d, out, n), CELL_OK);
  cr_assert_arr_eq(d.cookie, m.cookie, 20);
  cr_assert_eq(d.exts.n, 1);
  cr_assert_eq(d.exts.ext[0].type, HS_EXT_INTRO2_CC_REQUEST);
  cr_assert_arr_eq(d.onion_key, m.onion_key, 32);
  cr_assert_eq(d.n_spec, 4);
  cr_assert_eq(d.spec[0].u.ipv4.port, 9001);
  cr_assert_eq(d.spec[3].type, 0x99);
  cr_assert_eq(d.spec[3].len, 3);
  cr_assert_eq(d.lspecs_raw, out + head);
  cr_assert_eq(d.lspecs_raw_len, lspecs);
  cr_assert_eq(d.pad_len, 17);
  cr_assert_eq(hs_intro2_plain_encode(&d, again, sizeof(again), &n2), CELL_OK);
  cr_assert_eq(n2, n);
  cr_assert_arr_eq(again, out, n);
  /* Prefixes ending inside the link specifiers fail; after them the
   * rest is padding. */
  for (size_t k = 0; k < n; k++) {
    int rv = test_decode_copy(dec_plain, out, k);
    if (k < head + lspecs)
      cr_assert_lt(rv, 0, "prefix %zu decoded", k);
    else
      cr_assert_eq(rv, CELL_OK, "prefix %zu refused", k);
  }
}

Test(hs_cells, intro2_plaintext_errors)
{
  static hs_intro2_plain_t m;
  uint8_t out[RELAY_BODY_MAX + 1], bad[RELAY_BODY_MAX + 1];
  size_t n = 0;
  make_plain(&m);
  m.pad_len = 0;
  cr_assert_eq(hs_intro2_plain_encode(&m, out, sizeof(out), &n), CELL_OK);
  size_t kt = 20 + 1 + 2;          /* ONION_KEY_TYPE offset */
  memcpy(bad, out, n);
  bad[kt] = 2;
  cr_assert_eq(dec_plain(bad, n), CELL_ERR_UNSUPPORTED);
  memcpy(bad, out, n);
  bad[kt + 2] = 31;
  cr_assert_eq(dec_plain(bad, n), CELL_ERR_LENGTH);
  size_t ls = kt + 3 + 32;         /* NSPEC offset */
  memcpy(bad, out, n);
  bad[ls + 2] = 7;                 /* IPv4 specifier of length 7 */
  cr_assert_lt(dec_plain(bad, n), 0);
  memcpy(bad, out, n);
  bad[ls + 1 + 8] = RELAY_LSPEC_ED25519_ID;   /* legacy -> second ed id */
  bad[ls + 1 + 9] = 32;
  cr_assert_lt(dec_plain(bad, n), 0);
  memcpy(bad, out, n);
  bad[ls] = 5;                     /* one more specifier than present */
  cr_assert_eq(dec_plain(bad, n), CELL_ERR_TRUNCATED);
  memset(bad, 0, sizeof(bad));
  memcpy(bad, out, n);
  cr_assert_eq(dec_plain(bad, RELAY_BODY_MAX + 1), CELL_ERR_LENGTH);
  /* Duplicate identities are refused by the encoder too. */
  m.spec[3].type = RELAY_LSPEC_LEGACY_ID;
  cr_assert_eq(hs_intro2_plain_encode(&m, out, sizeof(out), &n),
               CELL_ERR_DUPLICATE);
  make_plain(&m);
  m.pad_len = RELAY_BODY_MAX;
  cr_assert_eq(hs_intro2_plain_encode(&m, out, sizeof(out), &n),
               CELL_ERR_SPACE);
  m.pad_len = (size_t)-1;
  cr_assert_eq(hs_intro2_plain_encode(&m, out, sizeof(out), &n),
               CELL_ERR_SPACE);
}

/* The codecs and hs-ntor together: a client builds INTRODUCE1, the intro
 * point routes it by AUTH_KEY, the service checks the MAC over
 * mac_covered_len, decrypts and decodes the plaintext. */
Test(hs_cells, introduce_end_to_end_with_hs_ntor)
{
  x25519_keypair_t b, x;
  uint8_t subcred[32], plain[RELAY_BODY_MAX], enc[RELAY_BODY_MAX];
  uint8_t cell[RELAY_BODY_MAX];
  size_t plen = 0, n = 0;
  cr_assert_eq(x25519_keypair_generate(&b), 0);
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  memset(subcred, 0x5c, sizeof(subcred));
  static hs_intro2_plain_t p, got;
  make_plain(&p);
  p.pad_len = 100;
  cr_assert_eq(hs_intro2_plain_encode(&p, plain, sizeof(plain), &plen),
               CELL_OK);
  hs_ntor_intro_keys_t ck, sk;
  cr_assert_eq(hs_ntor_client_intro_keys(&ck, &x, b.pub, auth_kp.pub.pubkey,
                                         subcred), 0);
  memcpy(enc, x.pub, 32);
  memcpy(enc + 32, plain, plen);
  cr_assert_eq(hs_ntor_intro_crypt(&ck, enc + 32, plen), 0);
  static hs_introduce1_t m, d;
  memcpy(m.auth_key, auth_kp.pub.pubkey, 32);
  m.encrypted = enc;
  m.encrypted_len = 32 + plen + 32;
  memset(enc + 32 + plen, 0, 32);
  cr_assert_eq(hs_introduce1_encode(&m, cell, sizeof(cell), &n), CELL_OK);
  cr_assert_eq(hs_ntor_mac(cell + n - 32, ck.mac_key, 32, cell, n - 32), 0);
  /* INTRODUCE2 is the same body. */
  cr_assert_eq(hs_introduce1_decode(&d, cell, n), CELL_OK);
  cr_assert_arr_eq(d.auth_key, auth_kp.pub.pubkey, 32);
  cr_assert_eq(hs_ntor_service_intro_keys(&sk, &b, d.client_pk, d.auth_key,
                                          subcred), 0);
  uint8_t mac[32];
  cr_assert_eq(hs_ntor_mac(mac, sk.mac_key, 32, cell, d.mac_covered_len), 0);
  cr_assert(crypto_memeq(mac, d.mac, 32));
  memcpy(plain, d.enc_data, d.enc_data_len);
  cr_assert_eq(hs_ntor_intro_crypt(&sk, plain, d.enc_data_len), 0);
  cr_assert_eq(hs_intro2_plain_decode(&got, plain, d.enc_data_len), CELL_OK);
  cr_assert_arr_eq(got.cookie, p.cookie, 20);
  cr_assert_eq(got.n_spec, 4);
  cr_assert_eq(got.pad_len, 100);
}

/* rend-spec-v3 Appendix G.1 (shared/testvectors/hs_ntor.json): an
 * INTRODUCE1 body a tor client sent in a Chutney network.  Our decoders
 * must find the auth key, CLIENT_PK and MAC, the MAC must cover exactly
 * mac_covered_len bytes, and the decrypted plaintext must decode (and
 * re-encode to the same bytes: its padding is zeros). */
Test(hs_cells, introduce1_from_tor_vector)
{
  json_t *doc = vectors_load("hs_ntor.json");
  const json_t *v = json_at(json_get(doc, "vectors"), 0);
  cr_assert_not_null(v);
  uint8_t *body, *plain, *hdr, again[RELAY_BODY_MAX], dec[RELAY_BODY_MAX];
  size_t n = vectors_hex(v, "intro1_body", &body);
  size_t pn = vectors_hex(v, "intro1_plaintext", &plain);
  size_t hn = vectors_hex(v, "intro1_header", &hdr);
  x25519_keypair_t b;
  uint8_t subcred[32];
  vectors_hex_fixed(v, "b", b.sec, 32);
  vectors_hex_fixed(v, "B", b.pub, 32);
  vectors_hex_fixed(v, "subcredential", subcred, 32);

  static hs_introduce1_t m;
  cr_assert_eq(hs_introduce1_decode(&m, body, n), CELL_OK);
  vectors_check_hex(v, "AUTH_KEY", m.auth_key, 32);
  cr_assert_eq(m.exts.n, 0);
  cr_assert_eq(m.encrypted, body + hn);
  vectors_check_hex(v, "X", m.client_pk, 32);
  vectors_check_hex(v, "intro1_mac", m.mac, 32);
  cr_assert_eq(m.enc_data_len, pn);
  hs_ntor_intro_keys_t k;
  cr_assert_eq(hs_ntor_service_intro_keys(&k, &b, m.client_pk, m.auth_key,
                                          subcred), 0);
  uint8_t mac[32];
  cr_assert_eq(hs_ntor_mac(mac, k.mac_key, 32, body, m.mac_covered_len), 0);
  cr_assert_arr_eq(mac, m.mac, 32);
  size_t n2 = 0;
  cr_assert_eq(hs_introduce1_encode(&m, again, sizeof(again), &n2), CELL_OK);
  cr_assert_eq(n2, n);
  cr_assert_arr_eq(again, body, n);

  memcpy(dec, m.enc_data, m.enc_data_len);
  cr_assert_eq(hs_ntor_intro_crypt(&k, dec, m.enc_data_len), 0);
  cr_assert_arr_eq(dec, plain, pn);
  static hs_intro2_plain_t p;
  cr_assert_eq(hs_intro2_plain_decode(&p, dec, pn), CELL_OK);
  cr_assert_arr_eq(p.cookie, plain, 20);
  cr_assert_eq(p.exts.n, 1);
  cr_assert_eq(p.exts.ext[0].type, HS_EXT_INTRO2_CC_REQUEST);
  cr_assert_eq(p.exts.ext[0].len, 0);
  cr_assert_eq(p.n_spec, 3);
  cr_assert_eq(p.spec[0].type, RELAY_LSPEC_IPV4);
  cr_assert_arr_eq(p.spec[0].u.ipv4.addr, "\x7f\x00\x00\x01", 4);
  cr_assert_eq(p.spec[0].u.ipv4.port, 5001);
  cr_assert_eq(p.spec[1].type, RELAY_LSPEC_LEGACY_ID);
  cr_assert_eq(p.spec[2].type, RELAY_LSPEC_ED25519_ID);
  cr_assert_eq(p.lspecs_raw_len, 1 + 8 + 22 + 34);
  cr_assert_eq(p.lspecs_raw, dec + 20 + 3 + 3 + 32);
  cr_assert_eq(p.pad_len, pn - (20 + 3 + 3 + 32 + 65));
  cr_assert_eq(hs_intro2_plain_encode(&p, again, sizeof(again), &n2),
               CELL_OK);
  cr_assert_eq(n2, pn);
  cr_assert_arr_eq(again, plain, pn);

  /* The service's answer relayed as RENDEZVOUS2. */
  uint8_t *info;
  size_t in = vectors_hex(v, "rendezvous_handshake_info", &info);
  hs_rendezvous2_t r2;
  cr_assert_eq(hs_rendezvous2_decode(&r2, info, in), CELL_OK);
  vectors_check_hex(v, "Y", r2.server_pk, 32);
  vectors_check_hex(v, "AUTH_INPUT_MAC", r2.auth, 32);
  memwipe(&b, sizeof(b));
  memwipe(&k, sizeof(k));
  free(body);
  free(plain);
  free(hdr);
  free(info);
  json_free(doc);
}

/* ---- rendezvous ---- */

Test(hs_cells, establish_rendezvous_and_established)
{
  uint8_t cookie[20], got[20], out[32], body[RELAY_BODY_MAX + 1] = { 0 };
  size_t n = 0;
  for (int i = 0; i < 20; i++)
    cookie[i] = (uint8_t)(i * 7);
  cr_assert_eq(hs_establish_rendezvous_encode(cookie, out, sizeof(out), &n),
               CELL_OK);
  cr_assert_eq(n, 20);
  cr_assert_eq(hs_establish_rendezvous_decode(got, out, n), CELL_OK);
  cr_assert_arr_eq(got, cookie, 20);
  memcpy(body, cookie, 20);
  cr_assert_eq(hs_establish_rendezvous_decode(got, body, 120), CELL_OK);
  cr_assert_arr_eq(got, cookie, 20);    /* extra bytes ignored (4.1) */
  for (size_t k = 0; k < 20; k++)
    cr_assert_eq(hs_establish_rendezvous_decode(got, body, k),
                 CELL_ERR_TRUNCATED);
  cr_assert_eq(hs_establish_rendezvous_decode(got, body, RELAY_BODY_MAX + 1),
               CELL_ERR_LENGTH);
  cr_assert_eq(hs_establish_rendezvous_encode(cookie, out, 19, &n),
               CELL_ERR_SPACE);

  cr_assert_eq(hs_rendezvous_established_decode(NULL, 0), CELL_OK);
  cr_assert_eq(hs_rendezvous_established_decode(body, 5), CELL_OK);
  cr_assert_eq(hs_rendezvous_established_decode(body, RELAY_BODY_MAX + 1),
               CELL_ERR_LENGTH);
  n = 7;
  cr_assert_eq(hs_rendezvous_established_encode(out, sizeof(out), &n),
               CELL_OK);
  cr_assert_eq(n, 0);
}

Test(hs_cells, rendezvous1_to_rendezvous2)
{
  uint8_t info[64], out[RELAY_BODY_MAX], out2[RELAY_BODY_MAX];
  size_t n = 0, n2 = 0;
  for (int i = 0; i < 64; i++)
    info[i] = (uint8_t)(0x80 + i);
  hs_rendezvous1_t r1 = { .handshake_info = info, .handshake_info_len = 64 };
  memset(r1.cookie, 0x3c, 20);
  cr_assert_eq(hs_rendezvous1_encode(&r1, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 84);
  hs_rendezvous1_t d;
  cr_assert_eq(hs_rendezvous1_decode(&d, out, n), CELL_OK);
  cr_assert_arr_eq(d.cookie, r1.cookie, 20);
  cr_assert_eq(d.handshake_info, out + 20);
  cr_assert_eq(d.handshake_info_len, 64);
  for (size_t k = 0; k < 20; k++)
    cr_assert_eq(hs_rendezvous1_decode(&d, out, k), CELL_ERR_TRUNCATED);
  cr_assert_eq(hs_rendezvous1_decode(&d, out, 20), CELL_OK);
  cr_assert_eq(d.handshake_info_len, 0);
  cr_assert_eq(hs_rendezvous1_decode(&d, out, RELAY_BODY_MAX + 1),
               CELL_ERR_LENGTH);
  cr_assert_eq(hs_rendezvous1_decode(&d, out, n), CELL_OK);
  /* The rendezvous point relays HANDSHAKE_INFO as the RENDEZVOUS2 body. */
  hs_rendezvous2_t r2;
  cr_assert_eq(hs_rendezvous2_decode(&r2, d.handshake_info,
                                     d.handshake_info_len), CELL_OK);
  cr_assert_arr_eq(r2.server_pk, info, 32);
  cr_assert_arr_eq(r2.auth, info + 32, 32);
  cr_assert_eq(hs_rendezvous2_encode(&r2, out2, sizeof(out2), &n2), CELL_OK);
  cr_assert_eq(n2, 64);
  cr_assert_arr_eq(out2, info, 64);
  for (size_t k = 0; k < 64; k++)
    cr_assert_eq(hs_rendezvous2_decode(&r2, info, k), CELL_ERR_TRUNCATED);
  cr_assert_eq(hs_rendezvous2_decode(&r2, out, 84), CELL_OK);   /* padding */
  cr_assert_eq(hs_rendezvous2_encode(&r2, out2, 63, &n2), CELL_ERR_SPACE);
  r1.handshake_info = NULL;
  cr_assert_eq(hs_rendezvous1_encode(&r1, out, sizeof(out), &n),
               CELL_ERR_VALUE);
  static uint8_t big[RELAY_BODY_MAX];
  r1.handshake_info = big;
  r1.handshake_info_len = RELAY_BODY_MAX - 19;
  cr_assert_eq(hs_rendezvous1_encode(&r1, out, sizeof(out), &n),
               CELL_ERR_SPACE);
}
