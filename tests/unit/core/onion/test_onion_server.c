/* test_onion_server.c -- onion_server_answer(): CREATE2 ntor and ntor v3
 * (with and without extensions), CREATE_FAST, TAP/CREATE refused, bad
 * lengths, wrong identity / onion key, the previous onion key accepted
 * (tor-spec 5.1, 5.1.4, 5.1.5; proposal 332; proposals 324 and 346 for the
 * extensions).  Each success is checked against the client side. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/core/onion/onion_server.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

static onion_server_keys_t K;

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  memset(&K, 0, sizeof(K));
  crypto_rand(K.rsa_id, sizeof(K.rsa_id));
  crypto_rand(K.ed_id, sizeof(K.ed_id));
  K.has_ed_id = true;
  cr_assert_eq(x25519_keypair_generate(&K.ntor), 0);
  cr_assert_eq(x25519_keypair_generate(&K.ntor_old), 0);
  K.has_old = true;
}

TestSuite(onion_server, .init = setup);

/* CREATE2 payload with htype/hdata. */
static void
create2(uint8_t p[CELL_PAYLOAD_LEN], uint16_t htype, const uint8_t *hdata,
        size_t hlen)
{
  size_t n;
  memset(p, 0, CELL_PAYLOAD_LEN);
  cell_create2_t c = { htype, (uint16_t)hlen, hdata };
  cr_assert_eq(cell_create2_encode(&c, p, CELL_PAYLOAD_LEN, &n), 0);
}

/* ntor round trip against B; returns the server result. */
static int
ntor_round(const uint8_t B[32], const uint8_t id[20], onion_answer_t *ans,
           bool check)
{
  ntor_client_state_t *st = NULL;
  uint8_t skin[NTOR_ONIONSKIN_LEN], p[CELL_PAYLOAD_LEN];
  uint8_t ck[ONION_KEYS_LEN + ONION_KH_LEN];   /* Df|Db|Kf|Kb|KH */
  cr_assert_eq(ntor_client_create(&st, skin, id, B), 0);
  create2(p, CELL_HTYPE_NTOR, skin, sizeof(skin));
  int r = onion_server_answer(ans, &K, NULL, CELL_CREATE2, p, sizeof(p));
  if (r == 0 && check) {
    cell_created2_t cd;
    cr_assert_eq(ans->command, CELL_CREATED2);
    cr_assert_eq(ans->htype, CELL_HTYPE_NTOR);
    cr_assert_eq(cell_created2_decode(&cd, ans->reply, CELL_PAYLOAD_LEN), 0);
    cr_assert_eq(cd.hlen, NTOR_REPLY_LEN);
    cr_assert_eq(ntor_client_finish(st, cd.hdata, ck, sizeof(ck)), 0);
    cr_assert_arr_eq(ck, ans->keys, ONION_KEYS_LEN);
    /* KH: the 20 bytes after the relay-crypto keys (tor-spec 5.2.2). */
    cr_assert_arr_eq(ck + ONION_KEYS_LEN, ans->kh, ONION_KH_LEN, "KH");
  }
  ntor_client_state_free(st);
  return r;
}

Test(onion_server, ntor_current_and_old_key)
{
  onion_answer_t a;
  cr_assert_eq(ntor_round(K.ntor.pub, K.rsa_id, &a, true), 0);
  cr_assert_not(a.used_old_key);
  cr_assert_eq(ntor_round(K.ntor_old.pub, K.rsa_id, &a, true), 0);
  cr_assert(a.used_old_key);
  /* Without the old key it is refused. */
  K.has_old = false;
  cr_assert_eq(ntor_round(K.ntor_old.pub, K.rsa_id, &a, false),
               ONION_ERR_HANDSHAKE);
  cr_assert_eq(a.destroy_reason, CELL_DESTROY_PROTOCOL);
  cr_assert_not_null(a.error);
}

Test(onion_server, ntor_wrong_key_or_identity)
{
  onion_answer_t a;
  x25519_keypair_t other;
  uint8_t id[20];
  cr_assert_eq(x25519_keypair_generate(&other), 0);
  cr_assert_eq(ntor_round(other.pub, K.rsa_id, &a, false),
               ONION_ERR_HANDSHAKE);
  cr_assert_eq(a.destroy_reason, CELL_DESTROY_PROTOCOL);
  memcpy(id, K.rsa_id, 20);
  id[0] ^= 1;
  cr_assert_eq(ntor_round(K.ntor.pub, id, &a, false), ONION_ERR_HANDSHAKE);
  /* Nothing secret is left in a failed answer. */
  static const uint8_t zero[ONION_KEYS_LEN];
  cr_assert_arr_eq(a.keys, zero, sizeof(zero));
  cr_assert_arr_eq(a.kh, zero, ONION_KH_LEN);
}

/* ntor v3 with client message cm; fills *ans; if check, verifies the
 * reply, the keys and returns the server message through sm. */
static int
v3_round(const uint8_t *cm, size_t cm_len, const onion_server_params_t *pr,
         onion_answer_t *ans, uint8_t **sm, size_t *sm_len)
{
  static const uint8_t ver[] = NTOR3_CIRC_VERIFICATION;
  ntor3_client_state_t *st = NULL;
  uint8_t *skin = NULL, p[CELL_PAYLOAD_LEN], ck[ONION_KEYS_LEN + ONION_KH_LEN];
  size_t skin_len = 0;
  cr_assert_eq(ntor3_client_create(&st, &skin, &skin_len, K.ed_id, K.ntor.pub,
                                   ver, sizeof(ver) - 1, cm, cm_len, NULL), 0);
  create2(p, CELL_HTYPE_NTOR_V3, skin, skin_len);
  int r = onion_server_answer(ans, &K, pr, CELL_CREATE2, p, sizeof(p));
  if (r == 0) {
    cell_created2_t cd;
    cr_assert_eq(ans->htype, CELL_HTYPE_NTOR_V3);
    cr_assert_eq(cell_created2_decode(&cd, ans->reply, CELL_PAYLOAD_LEN), 0);
    cr_assert_eq(ntor3_client_finish(st, cd.hdata, cd.hlen, sm, sm_len, ck,
                                     sizeof(ck)), 0);
    cr_assert_arr_eq(ck, ans->keys, ONION_KEYS_LEN);
    cr_assert_arr_eq(ck + ONION_KEYS_LEN, ans->kh, ONION_KH_LEN, "KH");
  }
  al_free(skin);
  ntor3_client_state_free(st);
  return r;
}

Test(onion_server, ntor3_no_extensions)
{
  onion_answer_t a;
  uint8_t *sm = NULL;
  size_t sm_len = 1;
  cr_assert_eq(v3_round(NULL, 0, NULL, &a, &sm, &sm_len), 0);
  cr_assert_not(a.cc_requested);
  cr_assert_eq(sm_len, 0);
  cr_assert_null(sm);
  static const uint8_t empty_list[] = { 0 };
  cr_assert_eq(v3_round(empty_list, 1, NULL, &a, &sm, &sm_len), 0);
  cr_assert_eq(sm_len, 0);
}

Test(onion_server, ntor3_cc_request_and_unknown_ignored)
{
  onion_answer_t a;
  uint8_t *sm = NULL;
  size_t sm_len = 0;
  /* unknown type 9 (3 bytes), CC_REQUEST, empty SUBPROTO */
  static const uint8_t cm[] = { 3, 9, 3, 'a', 'b', 'c', 1, 0, 3, 0 };
  cr_assert_eq(v3_round(cm, sizeof(cm), NULL, &a, &sm, &sm_len), 0);
  cr_assert(a.cc_requested);
  cr_assert_not(a.cc_negotiated);
  cr_assert_eq(sm_len, 0, "no CC_RESPONSE until congestion control exists");
  /* The hook: an exit offering CC answers CC_RESPONSE(sendme_inc). */
  onion_server_params_t pr = { .cc_sendme_inc = 31 };
  cr_assert_eq(v3_round(cm, sizeof(cm), &pr, &a, &sm, &sm_len), 0);
  cr_assert(a.cc_negotiated);
  cr_assert_eq(sm_len, 4);
  static const uint8_t want[] = { 1, ONION_EXT_CC_RESPONSE, 1, 31 };
  cr_assert_arr_eq(sm, want, 4);
  al_free(sm);
  /* Without CC_REQUEST, no response even when offered. */
  static const uint8_t none[] = { 1, 9, 0 };
  cr_assert_eq(v3_round(none, sizeof(none), &pr, &a, &sm, &sm_len), 0);
  cr_assert_eq(sm_len, 0);
}

Test(onion_server, ntor3_subproto_and_malformed_refused)
{
  onion_answer_t a;
  uint8_t *sm = NULL;
  size_t sm_len = 0;
  static const uint8_t sub[] = { 1, ONION_EXT_SUBPROTO, 2, 0, 6 };
  cr_assert_eq(v3_round(sub, sizeof(sub), NULL, &a, &sm, &sm_len),
               ONION_ERR_REFUSED);
  cr_assert_eq(a.destroy_reason, CELL_DESTROY_PROTOCOL);
  static const uint8_t trunc1[] = { 2, 1, 0, 9 };
  cr_assert_eq(v3_round(trunc1, sizeof(trunc1), NULL, &a, &sm, &sm_len),
               ONION_ERR_MALFORMED);
  static const uint8_t trunc2[] = { 1, 9, 5, 1, 2 };
  cr_assert_eq(v3_round(trunc2, sizeof(trunc2), NULL, &a, &sm, &sm_len),
               ONION_ERR_MALFORMED);
}

Test(onion_server, ntor3_wrong_identity_short_and_no_ed)
{
  onion_answer_t a;
  uint8_t *sm = NULL;
  size_t sm_len = 0;
  uint8_t p[CELL_PAYLOAD_LEN], short_skin[NTOR3_CLIENT_OVERHEAD - 1] = { 0 };
  K.ed_id[3] ^= 0x40;
  /* The client used the real id, the relay now has another one. */
  static const uint8_t ver[] = NTOR3_CIRC_VERIFICATION;
  ntor3_client_state_t *st = NULL;
  uint8_t *skin = NULL;
  size_t skin_len;
  uint8_t real[32];
  memcpy(real, K.ed_id, 32);
  real[3] ^= 0x40;
  cr_assert_eq(ntor3_client_create(&st, &skin, &skin_len, real, K.ntor.pub,
                                   ver, sizeof(ver) - 1, NULL, 0, NULL), 0);
  create2(p, CELL_HTYPE_NTOR_V3, skin, skin_len);
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p, sizeof(p)),
               ONION_ERR_HANDSHAKE);
  /* Tampered MAC with the right identity. */
  K.ed_id[3] ^= 0x40;
  p[4 + skin_len - 1] ^= 1;
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p, sizeof(p)),
               ONION_ERR_HANDSHAKE);
  al_free(skin);
  ntor3_client_state_free(st);
  create2(p, CELL_HTYPE_NTOR_V3, short_skin, sizeof(short_skin));
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p, sizeof(p)),
               ONION_ERR_MALFORMED);
  K.has_ed_id = false;
  cr_assert_eq(v3_round(NULL, 0, NULL, &a, &sm, &sm_len), ONION_ERR_REFUSED);
}

Test(onion_server, create_fast)
{
  onion_answer_t a;
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 }, k0[40], k[92];
  cell_created_fast_t cd;
  crypto_rand(p, CELL_FAST_KEY_LEN);
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE_FAST, p,
                                   sizeof(p)), 0);
  cr_assert_eq(a.command, CELL_CREATED_FAST);
  cr_assert_eq(a.htype, ONION_HTYPE_FAST);
  cr_assert_eq(cell_created_fast_decode(&cd, a.reply, CELL_PAYLOAD_LEN), 0);
  memcpy(k0, p, 20);
  memcpy(k0 + 20, cd.y, 20);
  cr_assert_eq(crypto_kdf_tor(k, sizeof(k), k0, sizeof(k0)), 0);
  cr_assert_arr_eq(k, cd.kh, 20, "KH");
  cr_assert_arr_eq(k, a.kh, ONION_KH_LEN, "KH kept for the circuit");
  cr_assert_arr_eq(k + 20, a.keys, ONION_KEYS_LEN, "Df|Db|Kf|Kb");
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE_FAST, p, 19),
               ONION_ERR_MALFORMED);
}

Test(onion_server, tap_and_create_refused)
{
  onion_answer_t a;
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE, p, sizeof(p)),
               ONION_ERR_REFUSED);
  cr_assert_eq(a.destroy_reason, CELL_DESTROY_PROTOCOL);
  p[2] = 0;
  p[3] = 186;   /* HTYPE 0, HLEN 186: a well-formed TAP CREATE2 */
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p, sizeof(p)),
               ONION_ERR_REFUSED);
  cr_assert_eq(a.destroy_reason, CELL_DESTROY_PROTOCOL);
  p[1] = 9;     /* unknown HTYPE */
  cr_assert_lt(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p, sizeof(p)),
               0);
  cr_assert_eq(a.destroy_reason, CELL_DESTROY_PROTOCOL);
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_RELAY, p, sizeof(p)),
               ONION_ERR_REFUSED);
}

Test(onion_server, bad_lengths)
{
  onion_answer_t a;
  uint8_t p[CELL_PAYLOAD_LEN + 8] = { 0 };
  p[1] = CELL_HTYPE_NTOR;
  p[2] = 0x01;
  p[3] = 0xfa;  /* HLEN 506 > 505 */
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p,
                                   CELL_PAYLOAD_LEN), ONION_ERR_MALFORMED);
  p[2] = 0;
  p[3] = 83;    /* ntor needs 84 */
  cr_assert_lt(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p,
                                   CELL_PAYLOAD_LEN), 0);
  p[3] = 84;    /* right HLEN, but the buffer ends early */
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p, 50),
               ONION_ERR_MALFORMED);
  for (size_t n = 0; n < 4; n++)
    cr_assert_lt(onion_server_answer(&a, &K, NULL, CELL_CREATE2, p, n), 0);
  cr_assert_eq(onion_server_answer(&a, &K, NULL, CELL_CREATE2, NULL, 0),
               ONION_ERR_MALFORMED);
  cr_assert_eq(onion_server_answer(&a, NULL, NULL, CELL_CREATE2, p, 509),
               ONION_ERR_ARG);
  cr_assert_eq(onion_server_answer(NULL, &K, NULL, CELL_CREATE2, p, 509),
               ONION_ERR_ARG);
}

Test(onion_server, client_msg_parser)
{
  onion_v3_client_msg_t m;
  static const uint8_t dup[] = { 2, 3, 0, 3, 2, 0, 6 };
  cr_assert_eq(onion_v3_client_msg_parse(&m, dup, sizeof(dup)), 0);
  cr_assert_not(m.subproto_requested, "only the first SUBPROTO counts");
  static const uint8_t trailing[] = { 1, 1, 0, 0xff };
  cr_assert_eq(onion_v3_client_msg_parse(&m, trailing, sizeof(trailing)), 0);
  cr_assert(m.cc_requested);
  cr_assert_eq(onion_v3_client_msg_parse(&m, NULL, 0), 0);
  static const uint8_t many[] = { 255 };
  cr_assert_eq(onion_v3_client_msg_parse(&m, many, 1), ONION_ERR_MALFORMED);
}
