/* test_hs_service_intro.c -- the service side of an introduction
 * (src/feature/hs_service/hs_service_intro.c): INTRODUCE1 cells built by
 * the client code (hs_client_introduce1_build) open at the service with
 * the right cookie and rendezvous point; the RENDEZVOUS1 answer verifies
 * at the client (hs_ntor_client_rend_keys) with the same virtual-hop keys;
 * replays, wrong keys, wrong subcredentials, flipped bits, truncated and
 * oversized cells are refused; the replay cache expires and fills. */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/feature/hs_service/hs_service_intro.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rand.h"

static hs_service_ip_keys_t IP;
static uint8_t SUB[2][32];
static circ_hop_spec_t RP;
static uint8_t COOKIE[HS_CELL_COOKIE_LEN];

static void
setup(void)
{
  ed25519_keypair_t a;
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(ed25519_keypair_generate(&a), 0);
  memcpy(IP.auth_key, a.pub.pubkey, 32);
  cr_assert_eq(x25519_keypair_generate(&IP.enc), 0);
  crypto_rand(SUB, sizeof(SUB));
  crypto_rand(COOKIE, sizeof(COOKIE));
  memset(&RP, 0, sizeof(RP));
  memset(RP.rsa_id, 0x41, 20);
  memset(RP.ed_id, 0x42, 32);
  RP.has_ed_id = true;
  memset(RP.ntor_key, 0x43, 32);
  RP.n_addr = 1;
  RP.addr[0].type = RELAY_LSPEC_IPV4;
  RP.addr[0].u.ipv4.addr[0] = 127;
  RP.addr[0].u.ipv4.addr[3] = 9;
  RP.addr[0].u.ipv4.port = 5099;
}

TestSuite(hs_service_intro, .init = setup);

/* An INTRODUCE1 for IP under subcredential sub; x returned. */
static size_t
intro1(uint8_t *buf, const uint8_t sub[32], x25519_keypair_t *x)
{
  size_t n = 0;
  cr_assert_eq(x25519_keypair_generate(x), 0);
  cr_assert_eq(hs_client_introduce1_build(buf, HS_CLIENT_INTRODUCE1_MAX_LEN,
                                          &n, IP.auth_key, IP.enc.pub, sub, x,
                                          COOKIE, &RP), 0);
  return n;
}

Test(hs_service_intro, open_and_rendezvous_roundtrip)
{
  uint8_t c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  x25519_keypair_t x;
  hs_service_intro2_t in;
  hs_replay_cache_t *rc = hs_replay_cache_new(0, 0);
  /* the second subcredential (the next period's descriptor) works too */
  size_t n = intro1(c, SUB[1], &x);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 2, rc, 100, c, n),
               HS_INTRO2_OK);
  cr_assert_eq(in.subcred_index, 1);
  cr_assert_arr_eq(in.cookie, COOKIE, 20);
  cr_assert_arr_eq(in.client_pk, x.pub, 32);
  cr_assert_arr_eq(in.rp.rsa_id, RP.rsa_id, 20);
  cr_assert(in.rp.has_ed_id);
  cr_assert_arr_eq(in.rp.ed_id, RP.ed_id, 32);
  cr_assert_arr_eq(in.rp.ntor_key, RP.ntor_key, 32);
  cr_assert_eq(in.rp.n_addr, 1);
  cr_assert_eq(in.rp.addr[0].u.ipv4.port, 5099);
  cr_assert_eq(in.rp.addr[0].u.ipv4.addr[3], 9);

  uint8_t r1[HS_SERVICE_REND1_LEN], ks[CIRC_ORIGIN_HS_KEYS_LEN];
  cr_assert_eq(hs_service_rend1_build(&IP, &in, r1, ks), 0);
  cr_assert_arr_eq(r1, COOKIE, 20);
  /* RENDEZVOUS2 body = HANDSHAKE_INFO = RENDEZVOUS1 after the cookie */
  hs_ntor_rend_keys_t k;
  uint8_t kc[HS_NTOR_KEY_EXPANSION_LEN];
  cr_assert_eq(hs_ntor_client_rend_keys(&k, &x, IP.enc.pub, IP.auth_key,
                                        r1 + 20), 0);
  cr_assert_eq(hs_ntor_key_expansion(kc, k.ntor_key_seed), 0);
  cr_assert_arr_eq(kc, ks, sizeof(ks));
  /* a tampered HANDSHAKE_INFO does not verify at the client */
  r1[40] ^= 1;
  cr_assert_lt(hs_ntor_client_rend_keys(&k, &x, IP.enc.pub, IP.auth_key,
                                        r1 + 20), 0);
  hs_replay_cache_free(rc);
  cr_assert_null(rc);
}

Test(hs_service_intro, replay_refused)
{
  uint8_t c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  x25519_keypair_t x;
  hs_service_intro2_t in;
  hs_replay_cache_t *rc = hs_replay_cache_new(0, 0);
  size_t n = intro1(c, SUB[0], &x);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 2, rc, 1, c, n), 0);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 2, rc, 2, c, n),
               HS_INTRO2_ERR_REPLAY);
  cr_assert_eq(in.cookie[0] | in.client_pk[0] | in.rp.n_addr, 0);
  /* much later too: the cache lives as long as the intro point */
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 2, rc, 1000000, c, n),
               HS_INTRO2_ERR_REPLAY);
  /* another client's cell is fine */
  n = intro1(c, SUB[0], &x);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 2, rc, 3, c, n), 0);
  cr_assert_eq(hs_replay_cache_size(rc), 2);
  /* cells that fail the MAC do not enter the cache */
  c[n - 1] ^= 1;
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 2, rc, 4, c, n),
               HS_INTRO2_ERR_MAC);
  cr_assert_eq(hs_replay_cache_size(rc), 2);
  hs_replay_cache_free(rc);
}

Test(hs_service_intro, wrong_keys_refused)
{
  uint8_t c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  x25519_keypair_t x;
  hs_service_intro2_t in;
  uint8_t other[1][32];
  size_t n = intro1(c, SUB[0], &x);
  crypto_rand(other, sizeof(other));
  cr_assert_eq(hs_service_intro2_open(&in, &IP, (const uint8_t(*)[32])other,
                                      1, NULL, 0, c, n), HS_INTRO2_ERR_MAC);
  hs_service_ip_keys_t ip2 = IP;
  ip2.auth_key[3] ^= 0x10;
  cr_assert_eq(hs_service_intro2_open(&in, &ip2, SUB, 2, NULL, 0, c, n),
               HS_INTRO2_ERR_AUTH_KEY);
  ip2 = IP;
  cr_assert_eq(x25519_keypair_generate(&ip2.enc), 0);
  cr_assert_eq(hs_service_intro2_open(&in, &ip2, SUB, 2, NULL, 0, c, n),
               HS_INTRO2_ERR_MAC);
}

Test(hs_service_intro, every_flipped_bit_refused)
{
  uint8_t c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  x25519_keypair_t x;
  hs_service_intro2_t in;
  size_t n = intro1(c, SUB[0], &x);
  for (size_t i = 0; i < n; i++) {
    c[i] ^= 0x04;
    int e = hs_service_intro2_open(&in, &IP, SUB, 2, NULL, 0, c, n);
    cr_assert_lt(e, 0, "byte %zu accepted", i);
    c[i] ^= 0x04;
  }
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 2, NULL, 0, c, n), 0);
}

Test(hs_service_intro, truncated_and_oversized_refused)
{
  uint8_t c[1024];
  x25519_keypair_t x;
  hs_service_intro2_t in;
  size_t n = intro1(c, SUB[0], &x);
  for (size_t l = 0; l < n; l++)
    cr_assert_lt(hs_service_intro2_open(&in, &IP, SUB, 2, NULL, 0, c, l), 0,
                 "length %zu accepted", l);
  memset(c + n, 0, sizeof(c) - n);
  cr_assert_lt(hs_service_intro2_open(&in, &IP, SUB, 2, NULL, 0, c, n + 1),
               0);
  cr_assert_lt(hs_service_intro2_open(&in, &IP, SUB, 2, NULL, 0, c,
                                      sizeof(c)), 0);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 0, NULL, 0, c, n),
               HS_INTRO2_ERR_ARG);
  cr_assert_eq(hs_service_intro2_open(NULL, &IP, SUB, 2, NULL, 0, c, n),
               HS_INTRO2_ERR_ARG);
  cr_assert_eq(hs_service_intro2_open(&in, NULL, SUB, 2, NULL, 0, c, n),
               HS_INTRO2_ERR_ARG);
}

Test(hs_service_intro, replay_cache_expires_and_fills)
{
  uint8_t d[32];
  hs_replay_cache_t *rc = hs_replay_cache_new(300, 4);
  for (int i = 0; i < 4; i++) {
    memset(d, i, sizeof(d));
    cr_assert_eq(hs_replay_cache_add(rc, d, 10), 0);
  }
  memset(d, 9, sizeof(d));
  cr_assert_eq(hs_replay_cache_add(rc, d, 100), HS_INTRO2_ERR_FULL);
  memset(d, 2, sizeof(d));
  cr_assert_eq(hs_replay_cache_add(rc, d, 309), HS_INTRO2_ERR_REPLAY);
  /* horizon passed: old entries purged, room again, a repeat is new */
  cr_assert_eq(hs_replay_cache_add(rc, d, 310), 0);
  memset(d, 9, sizeof(d));
  cr_assert_eq(hs_replay_cache_add(rc, d, 311), 0);
  cr_assert_eq(hs_replay_cache_add(rc, d, 312), HS_INTRO2_ERR_REPLAY);
  hs_replay_cache_free(rc);
  /* horizon 0: never expires, so a full cache stays full */
  rc = hs_replay_cache_new(0, 1);
  cr_assert_eq(hs_replay_cache_add(rc, d, 0), 0);
  memset(d, 7, sizeof(d));
  cr_assert_eq(hs_replay_cache_add(rc, d, 1000000), HS_INTRO2_ERR_FULL);
  hs_replay_cache_free(rc);
  hs_replay_cache_free(rc);   /* NULL ok */
  cr_assert_eq(hs_replay_cache_add(NULL, d, 0), HS_INTRO2_ERR_ARG);
  cr_assert_str_eq(hs_intro2_err_name(HS_INTRO2_ERR_REPLAY),
                   "replayed INTRODUCE2");
}

Test(hs_service_intro, rp_without_ipv4_refused)
{
  uint8_t c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  x25519_keypair_t x;
  hs_service_intro2_t in;
  circ_hop_spec_t save = RP;
  RP.addr[0].type = RELAY_LSPEC_IPV6;
  memset(RP.addr[0].u.ipv6.addr, 0, 16);
  RP.addr[0].u.ipv6.addr[15] = 1;
  RP.addr[0].u.ipv6.port = 5099;
  size_t n = 0;
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  int e = hs_client_introduce1_build(c, sizeof(c), &n, IP.auth_key,
                                     IP.enc.pub, SUB[0], &x, COOKIE, &RP);
  RP = save;
  if (e < 0)
    return;   /* the client refuses to build it: nothing to open */
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 1, NULL, 0, c, n),
               HS_INTRO2_ERR_RP);
}

/* ---- the congestion control request (proposal 324 9.2) ---- */

Test(hs_service_intro, cc_request_roundtrip)
{
  uint8_t c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  uint8_t plain_c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  x25519_keypair_t x;
  hs_service_intro2_t in;
  size_t n = 0, n0 = 0;
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  cr_assert_eq(hs_client_introduce1_build_cc(c, sizeof(c), &n, IP.auth_key,
                                             IP.enc.pub, SUB[0], &x, COOKIE,
                                             &RP, true), 0);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 1, NULL, 0, c, n),
               HS_INTRO2_OK);
  cr_assert(in.cc_requested);
  cr_assert_arr_eq(in.cookie, COOKIE, 20);
  /* Without it: no flag, and the same padded size (no length tell). */
  cr_assert_eq(hs_client_introduce1_build_cc(plain_c, sizeof(plain_c), &n0,
                                             IP.auth_key, IP.enc.pub, SUB[0],
                                             &x, COOKIE, &RP, false), 0);
  cr_assert_eq(n0, n);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 1, NULL, 0, plain_c, n0),
               HS_INTRO2_OK);
  cr_assert_not(in.cc_requested);
  /* The old entry point never asks. */
  cr_assert_eq(intro1(c, SUB[0], &x), n);
  cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 1, NULL, 0, c, n),
               HS_INTRO2_OK);
  cr_assert_not(in.cc_requested);
}

/* An INTRODUCE1 for IP whose decrypted plaintext is exactly pt[pt_len]
 * (sealed as the client does: hs-ntor keys, encryption, MAC). */
static size_t
seal_plaintext(uint8_t *out, size_t outlen, const uint8_t *pt, size_t pt_len)
{
  x25519_keypair_t x;
  hs_ntor_intro_keys_t k;
  uint8_t enc[HS_CLIENT_INTRODUCE1_MAX_LEN];
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  cr_assert_eq(hs_ntor_client_intro_keys(&k, &x, IP.enc.pub, IP.auth_key,
                                         SUB[0]), 0);
  cr_assert_leq(32 + pt_len + 32, sizeof(enc));
  memcpy(enc, x.pub, 32);
  memcpy(enc + 32, pt, pt_len);
  cr_assert_eq(hs_ntor_intro_crypt(&k, enc + 32, pt_len), 0);
  memset(enc + 32 + pt_len, 0, 32);
  hs_introduce1_t m;
  memset(&m, 0, sizeof(m));
  memcpy(m.auth_key, IP.auth_key, 32);
  m.encrypted = enc;
  m.encrypted_len = 32 + pt_len + 32;
  size_t n = 0;
  cr_assert_eq(hs_introduce1_encode(&m, out, outlen, &n), 0);
  cr_assert_eq(hs_ntor_mac(out + n - 32, k.mac_key, sizeof(k.mac_key), out,
                           n - 32), 0);
  return n;
}

/* Plaintext: cookie, the given extension bytes (N_EXTENSIONS first), the
 * rendezvous point's ntor key and link specifiers (IPv4 + legacy id). */
static size_t
plaintext_with_exts(uint8_t *pt, const uint8_t *exts, size_t exts_len)
{
  size_t o = 0;
  memcpy(pt, COOKIE, 20);
  o += 20;
  memcpy(pt + o, exts, exts_len);
  o += exts_len;
  pt[o++] = 1;                   /* ONION_KEY_TYPE ntor */
  pt[o++] = 0;
  pt[o++] = 32;
  memcpy(pt + o, RP.ntor_key, 32);
  o += 32;
  pt[o++] = 2;                   /* NSPEC */
  pt[o++] = 0;                   /* IPv4 */
  pt[o++] = 6;
  const uint8_t a[6] = { 127, 0, 0, 9, 0x13, 0xeb };
  memcpy(pt + o, a, 6);
  o += 6;
  pt[o++] = 2;                   /* legacy id */
  pt[o++] = 20;
  memcpy(pt + o, RP.rsa_id, 20);
  o += 20;
  return o;
}

static int
open_with_exts(const uint8_t *exts, size_t exts_len, bool *cc)
{
  uint8_t pt[400], c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  hs_service_intro2_t in;
  size_t pl = plaintext_with_exts(pt, exts, exts_len);
  size_t n = seal_plaintext(c, sizeof(c), pt, pl);
  int e = hs_service_intro2_open(&in, &IP, SUB, 1, NULL, 0, c, n);
  *cc = in.cc_requested;
  return e;
}

Test(hs_service_intro, cc_request_extension_variants)
{
  bool cc = true;
  /* none */
  const uint8_t none[] = { 0 };
  cr_assert_eq(open_with_exts(none, sizeof(none), &cc), HS_INTRO2_OK);
  cr_assert_not(cc);
  /* the request alone, as a tor client sends it */
  const uint8_t req[] = { 1, 1, 0 };
  cr_assert_eq(open_with_exts(req, sizeof(req), &cc), HS_INTRO2_OK);
  cr_assert(cc);
  /* after an unknown extension (ignored, 9.2) */
  const uint8_t after[] = { 2, 0x7f, 3, 'a', 'b', 'c', 1, 0 };
  cr_assert_eq(open_with_exts(after, sizeof(after), &cc), HS_INTRO2_OK);
  cr_assert(cc);
  /* only unknown extensions */
  const uint8_t unk[] = { 1, 0x7f, 0 };
  cr_assert_eq(open_with_exts(unk, sizeof(unk), &cc), HS_INTRO2_OK);
  cr_assert_not(cc);
  /* a body no version defines: still the request */
  const uint8_t body[] = { 1, 1, 2, 0xaa, 0xbb };
  cr_assert_eq(open_with_exts(body, sizeof(body), &cc), HS_INTRO2_OK);
  cr_assert(cc);
  /* a length running past the plaintext: refused, flag cleared */
  const uint8_t over[] = { 1, 1, 255 };
  cc = true;
  cr_assert_eq(open_with_exts(over, sizeof(over), &cc), HS_INTRO2_ERR_PLAIN);
  cr_assert_not(cc);
}

Test(hs_service_intro, cc_request_truncated_plaintext)
{
  /* The plaintext ends inside the extension list. */
  uint8_t pt[24], c[HS_CLIENT_INTRODUCE1_MAX_LEN];
  hs_service_intro2_t in;
  memcpy(pt, COOKIE, 20);
  pt[20] = 2;       /* two extensions announced */
  pt[21] = 1;
  pt[22] = 0;       /* the request */
  pt[23] = 0x7f;    /* the second has no length byte */
  for (size_t l = 20; l <= sizeof(pt); l++) {
    size_t n = seal_plaintext(c, sizeof(c), pt, l);
    cr_assert_eq(hs_service_intro2_open(&in, &IP, SUB, 1, NULL, 0, c, n),
                 HS_INTRO2_ERR_PLAIN, "length %zu", l);
    cr_assert_not(in.cc_requested);
  }
}
