/* test_ntor_v3.c -- ntor v3 (proposal 332): every vector of ntor_v3.json
 * (handshakes, messages, intermediates visible on the wire, keystream),
 * round trips with and without messages, tampering, bad inputs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/onion/onion_ntor_v3.h"
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

TestSuite(ntor3, .init = setup);

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
check_vector(const json_t *v)
{
  x25519_keypair_t b, x, y;
  uint8_t id[32], *cm, *ver, *sm, *ks;
  size_t cm_len, ver_len, sm_len, ks_len;
  const json_t *im = json_get(v, "intermediate");
  ntor3_client_state_t *cst = NULL;
  ntor3_server_state_t *sst = NULL;
  uint8_t *skin = NULL, *reply = NULL, *got_cm = NULL, *got_sm = NULL;
  size_t skin_len = 0, reply_len = 0, got_cm_len = 0, got_sm_len = 0;

  load_kp(v, "b", "B", &b);
  load_kp(v, "x", "X", &x);
  load_kp(v, "y", "Y", &y);
  vectors_hex_fixed(v, "ID", id, 32);
  cm_len = vectors_hex(v, "client_message", &cm);
  ver_len = vectors_hex(v, "verification", &ver);
  sm_len = vectors_hex(v, "server_message", &sm);
  ks_len = vectors_hex(v, "keystream_after_server_enc_key", &ks);
  cr_assert_gt(ks_len, 0);

  ntor3_trace_t ctr, str;
  memset(&ctr, 0, sizeof(ctr));
  memset(&str, 0, sizeof(str));
  cr_assert_eq(ntor3_client_create_traced(&cst, &skin, &skin_len, id, b.pub, ver,
                                          ver_len, cm, cm_len, &x, &ctr), 0);
  vectors_check_hex(v, "client_handshake", skin, skin_len);
  vectors_check_hex(im, "ENC_K1", ctr.enc_k1, 32);
  vectors_check_hex(im, "MAC_K1", ctr.mac_k1, 32);
  vectors_check_hex(im, "msg_mac", ctr.msg_mac, 32);
  vectors_check_hex(im, "encrypted_client_message", skin + 96, cm_len);
  vectors_check_hex(im, "msg_mac", skin + 96 + cm_len, 32);

  cr_assert_eq(ntor3_server_process(&sst, &got_cm, &got_cm_len, skin, skin_len, id,
                                    &b, ver, ver_len), 0);
  cr_assert_eq(got_cm_len, cm_len);
  cr_assert_arr_eq(got_cm, cm, cm_len);

  uint8_t *skeys = al_malloc(ks_len), *ckeys = al_malloc(ks_len);
  cr_assert_eq(ntor3_server_reply_traced(sst, sm, sm_len, &y, &reply, &reply_len,
                                         skeys, ks_len, &str), 0);
  vectors_check_hex(im, "key_seed", str.key_seed, 32);
  vectors_check_hex(im, "verify", str.verify, 32);
  vectors_check_hex(im, "server_enc_key", str.server_enc_key, 32);
  vectors_check_hex(im, "auth", str.auth, 32);
  vectors_check_hex(v, "server_handshake", reply, reply_len);
  vectors_check_hex(im, "auth", reply + 32, 32);
  vectors_check_hex(im, "encrypted_server_message", reply + 64, sm_len);
  vectors_check_hex(v, "keystream_after_server_enc_key", skeys, ks_len);

  cr_assert_eq(ntor3_client_finish(cst, reply, reply_len, &got_sm, &got_sm_len,
                                   ckeys, ks_len), 0);
  cr_assert_eq(got_sm_len, sm_len);
  cr_assert_arr_eq(got_sm, sm, sm_len);
  vectors_check_hex(v, "keystream_after_server_enc_key", ckeys, ks_len);

  al_free(skeys); al_free(ckeys); al_free(skin); al_free(reply);
  al_free(got_cm); al_free(got_sm);
  free(cm); free(ver); free(sm); free(ks);
  ntor3_client_state_free(cst);
  ntor3_server_state_free(sst);
}

Test(ntor3, vectors)
{
  json_t *doc = vectors_load("ntor_v3.json");
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  cr_assert_gt(arr->n, 0);
  for (size_t i = 0; i < arr->n; i++)
    check_vector(json_at(arr, i));
  json_free(doc);
}

/* One full random handshake; returns 0 and checks keys/messages agree. */
static void
round_trip(size_t cm_len, size_t sm_len)
{
  x25519_keypair_t b;
  uint8_t id[32], cm[300], sm[300], sk[92], ck[92];
  const uint8_t *ver = (const uint8_t *)NTOR3_CIRC_VERIFICATION;
  size_t ver_len = strlen(NTOR3_CIRC_VERIFICATION);
  ntor3_client_state_t *cst = NULL;
  ntor3_server_state_t *sst = NULL;
  uint8_t *skin = NULL, *reply = NULL, *got_cm = NULL, *got_sm = NULL;
  size_t skin_len, reply_len, got_cm_len, got_sm_len;

  cr_assert_eq(x25519_keypair_generate(&b), 0);
  crypto_rand(id, sizeof(id));
  crypto_rand(cm, sizeof(cm));
  crypto_rand(sm, sizeof(sm));
  cr_assert_eq(ntor3_client_create(&cst, &skin, &skin_len, id, b.pub, ver, ver_len,
                                   cm, cm_len, NULL), 0);
  cr_assert_eq(skin_len, NTOR3_CLIENT_OVERHEAD + cm_len);
  cr_assert_eq(ntor3_server_process(&sst, &got_cm, &got_cm_len, skin, skin_len, id,
                                    &b, ver, ver_len), 0);
  cr_assert_eq(got_cm_len, cm_len);
  if (cm_len)
    cr_assert_arr_eq(got_cm, cm, cm_len);
  else
    cr_assert_null(got_cm);
  cr_assert_eq(ntor3_server_reply(sst, sm, sm_len, NULL, &reply, &reply_len, sk,
                                  sizeof(sk)), 0);
  cr_assert_eq(reply_len, NTOR3_SERVER_OVERHEAD + sm_len);
  cr_assert_eq(ntor3_client_finish(cst, reply, reply_len, &got_sm, &got_sm_len, ck,
                                   sizeof(ck)), 0);
  cr_assert_eq(got_sm_len, sm_len);
  if (sm_len)
    cr_assert_arr_eq(got_sm, sm, sm_len);
  cr_assert_arr_eq(sk, ck, sizeof(sk));
  al_free(skin); al_free(reply); al_free(got_cm); al_free(got_sm);
  ntor3_client_state_free(cst);
  ntor3_server_state_free(sst);
}

Test(ntor3, round_trips)
{
  static const size_t lens[] = { 0, 1, 15, 16, 17, 100, 300 };
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
    for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j += 2)
      round_trip(lens[i], lens[j]);
}

Test(ntor3, tampering)
{
  x25519_keypair_t b, other;
  uint8_t id[32], cm[20] = "client says hi", sm[20] = "relay says hi", k[72];
  uint8_t zero[72] = {0};
  const uint8_t ver[] = "circuit extend";
  ntor3_client_state_t *cst = NULL;
  ntor3_server_state_t *sst = NULL;
  uint8_t *skin = NULL, *reply = NULL, *m = NULL;
  size_t skin_len, reply_len, m_len;

  cr_assert_eq(x25519_keypair_generate(&b), 0);
  cr_assert_eq(x25519_keypair_generate(&other), 0);
  crypto_rand(id, sizeof(id));
  cr_assert_eq(ntor3_client_create(&cst, &skin, &skin_len, id, b.pub, ver, 14, cm,
                                   sizeof(cm), NULL), 0);

  /* Any flipped onionskin bit (except X's ignored top bit) is refused. */
  for (size_t i = 0; i < skin_len; i++) {
    if (i == NTOR3_ONIONSKIN_X_OFF + 31)
      continue;
    skin[i] ^= 0x01;
    cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, skin, skin_len, id, &b, ver,
                                      14), -1, "flip at %zu accepted", i);
    cr_assert_null(sst);
    cr_assert_null(m);
    skin[i] ^= 0x01;
  }
  /* Wrong key, identity, verification string, truncation. */
  cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, skin, skin_len, id, &other, ver,
                                    14), -1);
  cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, skin, skin_len, id, &b, ver,
                                    13), -1);
  for (size_t n = 0; n < skin_len; n += 7)
    cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, skin, n, id, &b, ver, 14), -1);

  cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, skin, skin_len, id, &b, ver,
                                    14), 0);
  al_free(m);
  cr_assert_eq(ntor3_server_reply(sst, sm, sizeof(sm), NULL, &reply, &reply_len, k,
                                  sizeof(k)), 0);
  for (size_t i = 0; i < reply_len; i++) {
    if (i == 31)
      continue;
    reply[i] ^= 0x80;
    memset(k, 0x55, sizeof(k));
    cr_assert_eq(ntor3_client_finish(cst, reply, reply_len, &m, &m_len, k, sizeof(k)),
                 -1, "flip at %zu accepted", i);
    cr_assert_arr_eq(k, zero, sizeof(k));
    reply[i] ^= 0x80;
  }
  for (size_t n = 0; n < reply_len; n += 5)
    cr_assert_eq(ntor3_client_finish(cst, reply, n, &m, &m_len, k, sizeof(k)), -1);
  cr_assert_eq(ntor3_client_finish(cst, reply, reply_len, &m, &m_len, k, 0), -1);
  cr_assert_eq(ntor3_client_finish(cst, reply, reply_len, &m, &m_len, k, sizeof(k)), 0);
  cr_assert_eq(m_len, sizeof(sm));
  cr_assert_arr_eq(m, sm, sizeof(sm));
  al_free(m);
  /* A small-order Y is refused. */
  memset(reply, 0, 32);
  cr_assert_eq(ntor3_client_finish(cst, reply, reply_len, &m, &m_len, k, sizeof(k)), -1);

  al_free(skin); al_free(reply);
  ntor3_client_state_free(cst);
  ntor3_server_state_free(sst);
}

Test(ntor3, oversized_and_null_inputs)
{
  x25519_keypair_t b;
  uint8_t id[32] = {1};
  uint8_t *big = al_calloc(1, NTOR3_MSG_MAX + NTOR3_CLIENT_OVERHEAD + 1);
  ntor3_client_state_t *cst = NULL;
  ntor3_server_state_t *sst = NULL;
  uint8_t *skin = NULL, *m = NULL;
  size_t skin_len, m_len;

  cr_assert_eq(x25519_keypair_generate(&b), 0);
  cr_assert_eq(ntor3_client_create(&cst, &skin, &skin_len, id, b.pub, NULL, 0, big,
                                   NTOR3_MSG_MAX + 1, NULL), -1);
  cr_assert_eq(ntor3_client_create(&cst, &skin, &skin_len, id, b.pub, NULL, 0, NULL,
                                   5, NULL), -1);
  memcpy(big + NTOR3_ONIONSKIN_KEYID_OFF, b.pub, 32);
  memcpy(big, id, 32);
  cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, big,
                                    NTOR3_MSG_MAX + NTOR3_CLIENT_OVERHEAD + 1, id, &b,
                                    NULL, 0), -1);
  cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, NULL, 200, id, &b, NULL, 0), -1);
  /* empty VER and message work */
  cr_assert_eq(ntor3_client_create(&cst, &skin, &skin_len, id, b.pub, NULL, 0, NULL,
                                   0, NULL), 0);
  cr_assert_eq(ntor3_server_process(&sst, &m, &m_len, skin, skin_len, id, &b, NULL, 0), 0);
  cr_assert_eq(m_len, 0);
  cr_assert_null(m);
  al_free(skin);
  al_free(big);
  ntor3_client_state_free(cst);
  ntor3_server_state_free(sst);
}
