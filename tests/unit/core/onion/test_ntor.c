/* test_ntor.c -- ntor handshake (tor-spec 5.1.4): every vector of
 * ntor_v1.json, random round trips, tampered replies and bad inputs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/onion/onion_ntor.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/hmac.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#include "core/onion/onion_trace.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(ntor, .init = setup);

static void
load_kp(const json_t *v, const char *sec, const char *pub, x25519_keypair_t *kp)
{
  uint8_t check[32];
  vectors_hex_fixed(v, sec, kp->sec, 32);
  vectors_hex_fixed(v, pub, kp->pub, 32);
  cr_assert_eq(x25519_public_from_secret(check, kp->sec), 0);
  cr_assert_arr_eq(check, kp->pub, 32, "%s does not match %s", pub, sec);
}


static void
check_vector(const json_t *v)
{
  uint8_t id[NTOR_ID_LEN], skin[NTOR_ONIONSKIN_LEN], reply[NTOR_REPLY_LEN];
  uint8_t skeys[92], ckeys[92], k72[72];
  x25519_keypair_t b, x, y;
  ntor_client_state_t *st = NULL;
  const json_t *im = json_get(v, "intermediate"), *split = json_get(v, "keys_split");

  vectors_hex_fixed(v, "node_id", id, sizeof(id));
  load_kp(v, "b", "B", &b);
  load_kp(v, "x", "X", &x);
  load_kp(v, "y", "Y", &y);

  cr_assert_eq(ntor_client_create_with_key(&st, skin, id, b.pub, &x), 0);
  vectors_check_hex(v, "client_handshake", skin, sizeof(skin));

  cr_assert_eq(ntor_server_respond(reply, k72, sizeof(k72), skin, id, &b, &y), 0);
  vectors_check_hex(v, "server_handshake", reply, sizeof(reply));
  vectors_check_hex(v, "keys", k72, sizeof(k72));
  vectors_check_hex(split, "Df", k72, 20);
  vectors_check_hex(split, "Db", k72 + 20, 20);
  vectors_check_hex(split, "Kf", k72 + 40, 16);
  vectors_check_hex(split, "Kb", k72 + 56, 16);

  cr_assert_eq(ntor_server_respond(reply, skeys, 92, skin, id, &b, &y), 0);
  vectors_check_hex(v, "keys_92", skeys, 92);
  vectors_check_hex(v, "KH", skeys + 72, 20);

  cr_assert_eq(ntor_client_finish(st, reply, ckeys, 92), 0);
  cr_assert_arr_eq(ckeys, skeys, 92);
  cr_assert_eq(ntor_client_finish(st, reply, ckeys, 72), 0);
  vectors_check_hex(v, "keys", ckeys, 72);

  /* Intermediates: the DH results, the transcript layout, and AUTH. */
  uint8_t dh[32], si[204], mac[32];
  cr_assert_eq(x25519_scalarmult(dh, y.sec, x.pub), 0);
  vectors_check_hex(im, "EXP_X_y", dh, 32);
  memcpy(si, dh, 32);
  cr_assert_eq(x25519_scalarmult(dh, x.sec, b.pub), 0);
  vectors_check_hex(im, "EXP_X_b", dh, 32);
  memcpy(si + 32, dh, 32);
  memcpy(si + 64, id, 20);
  memcpy(si + 84, b.pub, 32);
  memcpy(si + 116, x.pub, 32);
  memcpy(si + 148, y.pub, 32);
  memcpy(si + 180, "ntor-curve25519-sha256-1", 24);
  vectors_check_hex(im, "secret_input", si, sizeof(si));
  cr_assert_eq(crypto_hmac_sha256(mac, (const uint8_t *)"ntor-curve25519-sha256-1:key_extract",
                                  36, si, sizeof(si)), 0);
  vectors_check_hex(im, "key_seed", mac, 32);
  vectors_check_hex(im, "auth", reply + 32, 32);

  /* The same values as our code computes them. */
  ntor_trace_t tr;
  memset(&tr, 0, sizeof(tr));
  cr_assert_eq(ntor_server_respond_traced(reply, k72, sizeof(k72), skin, id, &b, &y,
                                          &tr), 0);
  vectors_check_hex(im, "secret_input", tr.secret_input, sizeof(tr.secret_input));
  vectors_check_hex(im, "key_seed", tr.key_seed, 32);
  vectors_check_hex(im, "verify", tr.verify, 32);
  vectors_check_hex(im, "auth_input", tr.auth_input, sizeof(tr.auth_input));
  vectors_check_hex(im, "auth", tr.auth, 32);
  ntor_client_state_free(st);
  cr_assert_null(st);
}

Test(ntor, vectors)
{
  json_t *doc = vectors_load("ntor_v1.json");
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  cr_assert_gt(arr->n, 0);
  for (size_t i = 0; i < arr->n; i++)
    check_vector(json_at(arr, i));
  json_free(doc);
}

Test(ntor, random_round_trips)
{
  x25519_keypair_t b;
  uint8_t id[NTOR_ID_LEN];

  cr_assert_eq(x25519_keypair_generate(&b), 0);
  crypto_rand(id, sizeof(id));
  for (int i = 0; i < 20; i++) {
    uint8_t skin[NTOR_ONIONSKIN_LEN], reply[NTOR_REPLY_LEN], sk[72], ck[72];
    ntor_client_state_t *st = NULL;
    cr_assert_eq(ntor_client_create(&st, skin, id, b.pub), 0);
    cr_assert_arr_eq(skin, id, NTOR_ID_LEN);
    cr_assert_arr_eq(skin + NTOR_ONIONSKIN_KEYID_OFF, b.pub, 32);
    cr_assert_eq(ntor_server_respond(reply, sk, sizeof(sk), skin, id, &b, NULL), 0);
    cr_assert_eq(ntor_client_finish(st, reply, ck, sizeof(ck)), 0);
    cr_assert_arr_eq(sk, ck, sizeof(sk));
    ntor_client_state_free(st);
  }
}

Test(ntor, tampered_reply_fails)
{
  x25519_keypair_t b;
  uint8_t id[NTOR_ID_LEN], skin[NTOR_ONIONSKIN_LEN], reply[NTOR_REPLY_LEN];
  uint8_t sk[72], ck[72], zero[72] = {0};
  ntor_client_state_t *st = NULL;

  cr_assert_eq(x25519_keypair_generate(&b), 0);
  crypto_rand(id, sizeof(id));
  cr_assert_eq(ntor_client_create(&st, skin, id, b.pub), 0);
  cr_assert_eq(ntor_server_respond(reply, sk, sizeof(sk), skin, id, &b, NULL), 0);
  for (size_t i = 0; i < NTOR_REPLY_LEN; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      if (i == 31 && bit == 7)
        continue;   /* X25519 ignores the top bit of Y: not a change */
      reply[i] ^= (uint8_t)(1u << bit);
      memset(ck, 0xAA, sizeof(ck));
      cr_assert_eq(ntor_client_finish(st, reply, ck, sizeof(ck)), -1,
                   "flip at byte %zu bit %d accepted", i, bit);
      cr_assert_arr_eq(ck, zero, sizeof(ck), "keys not wiped on failure");
      reply[i] ^= (uint8_t)(1u << bit);
    }
  }
  cr_assert_eq(ntor_client_finish(st, reply, ck, sizeof(ck)), 0);
  cr_assert_arr_eq(ck, sk, sizeof(ck));

  /* A small-order Y (all zero) must be refused even with "matching" AUTH. */
  memset(reply, 0, 32);
  cr_assert_eq(ntor_client_finish(st, reply, ck, sizeof(ck)), -1);
  ntor_client_state_free(st);
}

Test(ntor, server_rejects_bad_onionskins)
{
  x25519_keypair_t b, other;
  uint8_t id[NTOR_ID_LEN], skin[NTOR_ONIONSKIN_LEN], reply[NTOR_REPLY_LEN], k[72];
  ntor_client_state_t *st = NULL;

  cr_assert_eq(x25519_keypair_generate(&b), 0);
  cr_assert_eq(x25519_keypair_generate(&other), 0);
  crypto_rand(id, sizeof(id));
  cr_assert_eq(ntor_client_create(&st, skin, id, b.pub), 0);

  /* wrong onion key */
  cr_assert_eq(ntor_server_respond(reply, k, sizeof(k), skin, id, &other, NULL), -1);
  /* wrong node id */
  skin[0] ^= 1;
  cr_assert_eq(ntor_server_respond(reply, k, sizeof(k), skin, id, &b, NULL), -1);
  skin[0] ^= 1;
  /* small-order X (zero and the order-8 point u=1) */
  uint8_t saved[32];
  memcpy(saved, skin + NTOR_ONIONSKIN_X_OFF, 32);
  memset(skin + NTOR_ONIONSKIN_X_OFF, 0, 32);
  cr_assert_eq(ntor_server_respond(reply, k, sizeof(k), skin, id, &b, NULL), -1);
  skin[NTOR_ONIONSKIN_X_OFF] = 1;
  cr_assert_eq(ntor_server_respond(reply, k, sizeof(k), skin, id, &b, NULL), -1);
  memcpy(skin + NTOR_ONIONSKIN_X_OFF, saved, 32);
  /* bad lengths and NULLs */
  cr_assert_eq(ntor_server_respond(reply, k, 0, skin, id, &b, NULL), -1);
  cr_assert_eq(ntor_server_respond(reply, k, NTOR_KEYS_MAX + 1, skin, id, &b, NULL), -1);
  cr_assert_eq(ntor_server_respond(reply, k, sizeof(k), NULL, id, &b, NULL), -1);
  cr_assert_eq(ntor_client_finish(NULL, reply, k, sizeof(k)), -1);
  cr_assert_eq(ntor_client_finish(st, reply, k, 0), -1);
  /* and the genuine one still works */
  cr_assert_eq(ntor_server_respond(reply, k, sizeof(k), skin, id, &b, NULL), 0);
  ntor_client_state_free(st);
  ntor_client_state_free(st);   /* NULL is fine */
}
