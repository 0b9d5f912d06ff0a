/* test_hs_ntor.c -- hs-ntor (rend-spec-v3 3.3.2, 4.2): every field of
 * hs_ntor.json (intro keys, INTRODUCE1 ciphertext/MAC/body, rendezvous
 * handshake, NTOR_KEY_SEED, key expansion), round trips and tampering. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#include "core/onion/onion_trace.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(hs_ntor, .init = setup);

static void
load_kp(const json_t *v, const char *sec, const char *pub, x25519_keypair_t *kp)
{
  uint8_t check[32];
  vectors_hex_fixed(v, sec, kp->sec, 32);
  vectors_hex_fixed(v, pub, kp->pub, 32);
  cr_assert_eq(x25519_public_from_secret(check, kp->sec), 0);
  cr_assert_arr_eq(check, kp->pub, 32);
}


static void
check_intro(const json_t *v, const x25519_keypair_t *b, const x25519_keypair_t *x,
            const uint8_t auth_key[32], const uint8_t subcred[32])
{
  hs_ntor_intro_keys_t ck, sk;
  uint8_t *hdr, *pt;
  size_t hdr_len = vectors_hex(v, "intro1_header", &hdr);
  size_t pt_len = vectors_hex(v, "intro1_plaintext", &pt);
  size_t body_len = hdr_len + 32 + pt_len + 32;
  uint8_t *body = al_malloc(body_len);

  cr_assert_eq(hs_ntor_client_intro_keys(&ck, x, b->pub, auth_key, subcred), 0);
  vectors_check_hex(v, "ENC_KEY", ck.enc_key, 32);
  vectors_check_hex(v, "MAC_KEY", ck.mac_key, 32);
  cr_assert_eq(hs_ntor_service_intro_keys(&sk, b, x->pub, auth_key, subcred), 0);
  cr_assert_arr_eq(&sk, &ck, sizeof(ck));

  /* Client builds the body: header | X | ENC(plaintext) | MAC. */
  memcpy(body, hdr, hdr_len);
  memcpy(body + hdr_len, x->pub, 32);
  memcpy(body + hdr_len + 32, pt, pt_len);
  cr_assert_eq(hs_ntor_intro_crypt(&ck, body + hdr_len + 32, pt_len), 0);
  vectors_check_hex(v, "intro1_ciphertext", body + hdr_len + 32, pt_len);
  cr_assert_eq(hs_ntor_mac(body + body_len - 32, ck.mac_key, 32, body, body_len - 32), 0);
  vectors_check_hex(v, "intro1_mac", body + body_len - 32, 32);
  vectors_check_hex(v, "intro1_body", body, body_len);

  /* Service checks the MAC and decrypts. */
  uint8_t mac[32];
  cr_assert_eq(hs_ntor_mac(mac, sk.mac_key, 32, body, body_len - 32), 0);
  cr_assert(crypto_memeq(mac, body + body_len - 32, 32));
  cr_assert_eq(hs_ntor_intro_crypt(&sk, body + hdr_len + 32, pt_len), 0);
  cr_assert_arr_eq(body + hdr_len + 32, pt, pt_len);
  free(hdr);
  free(pt);
  al_free(body);
}

static void
check_vector(const json_t *v)
{
  x25519_keypair_t b, x, y;
  uint8_t auth_key[32], subcred[32], info[64], K[128];
  hs_ntor_rend_keys_t srk, crk;
  const json_t *kx = json_get(v, "key_expansion_computed_here");

  load_kp(v, "b", "B", &b);
  load_kp(v, "x", "X", &x);
  load_kp(v, "y", "Y", &y);
  vectors_hex_fixed(v, "AUTH_KEY", auth_key, 32);
  vectors_hex_fixed(v, "subcredential", subcred, 32);
  check_intro(v, &b, &x, auth_key, subcred);

  cr_assert_eq(hs_ntor_service_rend_keys(&srk, &b, &y, x.pub, auth_key), 0);
  vectors_check_hex(v, "NTOR_KEY_SEED", srk.ntor_key_seed, 32);
  vectors_check_hex(v, "AUTH_INPUT_MAC", srk.auth_input_mac, 32);
  memcpy(info, y.pub, 32);
  memcpy(info + 32, srk.auth_input_mac, 32);
  vectors_check_hex(v, "rendezvous_handshake_info", info, 64);
  cr_assert_eq(hs_ntor_client_rend_keys(&crk, &x, b.pub, auth_key, info), 0);
  cr_assert_arr_eq(&crk, &srk, sizeof(crk));

  cr_assert_eq(hs_ntor_key_expansion(K, crk.ntor_key_seed), 0);
  vectors_check_hex(kx, "K", K, 128);
  vectors_check_hex(kx, "Df", K, 32);
  vectors_check_hex(kx, "Db", K + 32, 32);
  vectors_check_hex(kx, "Kf", K + 64, 32);
  vectors_check_hex(kx, "Kb", K + 96, 32);

  /* intermediates */
  const json_t *im = json_get(v, "intermediate_computed_here");
  hs_ntor_trace_t tr;
  hs_ntor_intro_keys_t ik;
  memset(&tr, 0, sizeof(tr));
  cr_assert_eq(hs_ntor_service_intro_keys_traced(&ik, &b, x.pub, auth_key, subcred,
                                                 &tr), 0);
  cr_assert_eq(hs_ntor_service_rend_keys_traced(&srk, &b, &y, x.pub, auth_key, &tr), 0);
  vectors_check_hex(im, "intro_secret_hs_input", tr.intro_secret_hs_input,
            sizeof(tr.intro_secret_hs_input));
  vectors_check_hex(im, "rend_secret_hs_input", tr.rend_secret_hs_input,
            sizeof(tr.rend_secret_hs_input));
  vectors_check_hex(im, "verify", tr.verify, 32);
  vectors_check_hex(im, "auth_input", tr.auth_input, sizeof(tr.auth_input));
}

Test(hs_ntor, vectors)
{
  json_t *doc = vectors_load("hs_ntor.json");
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  cr_assert_gt(arr->n, 0);
  for (size_t i = 0; i < arr->n; i++)
    check_vector(json_at(arr, i));
  json_free(doc);
}

Test(hs_ntor, round_trip_and_tampering)
{
  x25519_keypair_t b, x, y;
  uint8_t auth_key[32], subcred[32], info[64];
  hs_ntor_intro_keys_t ck, sk;
  hs_ntor_rend_keys_t crk, srk, zero;

  memset(&zero, 0, sizeof(zero));
  for (int round = 0; round < 5; round++) {
    cr_assert_eq(x25519_keypair_generate(&b), 0);
    cr_assert_eq(x25519_keypair_generate(&x), 0);
    cr_assert_eq(x25519_keypair_generate(&y), 0);
    crypto_rand(auth_key, 32);
    crypto_rand(subcred, 32);
    cr_assert_eq(hs_ntor_client_intro_keys(&ck, &x, b.pub, auth_key, subcred), 0);
    cr_assert_eq(hs_ntor_service_intro_keys(&sk, &b, x.pub, auth_key, subcred), 0);
    cr_assert_arr_eq(&ck, &sk, sizeof(ck));
    /* another subcredential gives other keys */
    subcred[0] ^= 1;
    cr_assert_eq(hs_ntor_service_intro_keys(&sk, &b, x.pub, auth_key, subcred), 0);
    cr_assert(memcmp(&ck, &sk, sizeof(ck)) != 0);

    cr_assert_eq(hs_ntor_service_rend_keys(&srk, &b, &y, x.pub, auth_key), 0);
    memcpy(info, y.pub, 32);
    memcpy(info + 32, srk.auth_input_mac, 32);
    cr_assert_eq(hs_ntor_client_rend_keys(&crk, &x, b.pub, auth_key, info), 0);
    cr_assert_arr_eq(crk.ntor_key_seed, srk.ntor_key_seed, 32);
    for (size_t i = 0; i < sizeof(info); i++) {
      info[i] ^= 0x04;
      cr_assert_eq(hs_ntor_client_rend_keys(&crk, &x, b.pub, auth_key, info), -1,
                   "flip at %zu accepted", i);
      cr_assert_arr_eq(&crk, &zero, sizeof(crk));
      info[i] ^= 0x04;
    }
    auth_key[5] ^= 1;   /* a different intro point auth key */
    cr_assert_eq(hs_ntor_client_rend_keys(&crk, &x, b.pub, auth_key, info), -1);
  }
  /* small-order points */
  uint8_t zero_pt[32] = {0};
  cr_assert_eq(hs_ntor_client_intro_keys(&ck, &x, zero_pt, auth_key, subcred), -1);
  cr_assert_eq(hs_ntor_service_intro_keys(&sk, &b, zero_pt, auth_key, subcred), -1);
  cr_assert_eq(hs_ntor_service_rend_keys(&srk, &b, &y, zero_pt, auth_key), -1);
  memset(info, 0, 32);
  cr_assert_eq(hs_ntor_client_rend_keys(&crk, &x, b.pub, auth_key, info), -1);
  cr_assert_eq(hs_ntor_mac(NULL, auth_key, 32, NULL, 0), -1);
  cr_assert_eq(hs_ntor_key_expansion(NULL, auth_key), -1);
}
