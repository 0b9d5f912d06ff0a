/* test_hs_crypto.c -- onion service v3 crypto helpers: every entry of
 * hs_v3_misc.json (addresses, blinding, credentials, indices, disaster SRV,
 * time periods, client-auth cookie) plus malformed addresses. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/encoding/binascii.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(hs_crypto, .init = setup);


static uint64_t
num(const json_t *v, const char *key)
{
  const json_t *n = json_get(v, key);
  cr_assert_not_null(n, "no field %s", key);
  cr_assert_eq(n->type, JSON_NUMBER);
  return (uint64_t)n->number;
}

static const json_t *
group(const json_t *doc, const char *name)
{
  const json_t *arr = json_get(doc, name);
  cr_assert_not_null(arr, "no group %s", name);
  cr_assert_gt(arr->n, 0, "group %s is empty", name);
  return arr;
}

Test(hs_crypto, onion_addresses)
{
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = group(doc, "onion_addresses");
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    ed25519_public_key_t pk, got;
    uint8_t cks[2], cks2[2], version;
    char addr[HS_ONION_ADDR_LEN + 1];
    const char *want = json_get_str(v, "onion_address");

    vectors_hex_fixed(v, "public_key", pk.pubkey, 32);
    cr_assert_eq(hs_onion_checksum(cks, &pk, (uint8_t)num(v, "version")), 0);
    vectors_check_hex(v, "checksum", cks, 2);
    cr_assert_eq(hs_onion_address_encode(addr, sizeof(addr), &pk), 0);
    cr_assert_str_eq(addr, want);
    cr_assert_eq(hs_onion_address_decode(want, &got, cks2, &version), 0);
    cr_assert_arr_eq(got.pubkey, pk.pubkey, 32);
    vectors_check_hex(v, "checksum", cks2, 2);
    cr_assert_eq(version, num(v, "version"));
    memset(&got, 0, sizeof(got));
    cr_assert_eq(hs_onion_address_parse(want, &got), 0);
    cr_assert_arr_eq(got.pubkey, pk.pubkey, 32);
    /* without suffix and in upper case, too */
    char up[HS_ONION_ADDR_LEN + 1];
    for (size_t k = 0; k <= HS_ONION_ADDR_LEN; k++)
      up[k] = (char)(want[k] >= 'a' && want[k] <= 'z' ? want[k] - 32 : want[k]);
    cr_assert_eq(hs_onion_address_parse(up, NULL), 0);
    up[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
    cr_assert_eq(hs_onion_address_parse(up, NULL), 0);
  }
  json_free(doc);
}

Test(hs_crypto, malformed_addresses)
{
  const char *good = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";
  char buf[128];
  ed25519_public_key_t pk;

  cr_assert_eq(hs_onion_address_parse(good, &pk), 0);
  cr_assert_eq(hs_onion_address_parse(NULL, &pk), -1);
  cr_assert_eq(hs_onion_address_parse("", &pk), -1);
  cr_assert_eq(hs_onion_address_parse(".onion", &pk), -1);
  /* truncated / oversized */
  cr_assert_eq(hs_onion_address_parse("25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5si.onion", &pk), -1);
  cr_assert_eq(hs_onion_address_parse("25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sidd.onion", &pk), -1);
  cr_assert_eq(hs_onion_address_parse("a25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion", &pk), -1);
  /* wrong suffix, bad characters */
  cr_assert_eq(hs_onion_address_parse("25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onioo", &pk), -1);
  cr_assert_eq(hs_onion_address_parse("25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5si1.onion", &pk), -1);
  cr_assert_eq(hs_onion_address_parse("25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5s=d.onion", &pk), -1);
  /* any changed character breaks the checksum or the version */
  for (size_t i = 0; i < HS_ONION_ADDR_NO_SUFFIX_LEN; i++) {
    strcpy(buf, good);
    buf[i] = buf[i] == 'a' ? 'b' : 'a';
    cr_assert_eq(hs_onion_address_parse(buf, NULL), -1, "change at %zu accepted", i);
  }
  /* a version other than 3 with a correct checksum */
  ed25519_public_key_t k;
  uint8_t raw[35];
  memcpy(k.pubkey, pk.pubkey, 32);
  memcpy(raw, pk.pubkey, 32);
  raw[34] = 4;
  cr_assert_eq(hs_onion_checksum(raw + 32, &k, 4), 0);
  cr_assert_eq(base32_encode(buf, sizeof(buf), raw, sizeof(raw)), 56);
  uint8_t version = 0;
  cr_assert_eq(hs_onion_address_decode(buf, NULL, NULL, &version), 0);
  cr_assert_eq(version, 4);
  cr_assert_eq(hs_onion_address_parse(buf, NULL), -1);
  /* the identity point (y = 1) is not an acceptable key */
  memset(raw, 0, sizeof(raw));
  raw[0] = 1;
  memcpy(k.pubkey, raw, 32);
  raw[34] = 3;
  cr_assert_eq(hs_onion_checksum(raw + 32, &k, 3), 0);
  cr_assert_eq(base32_encode(buf, sizeof(buf), raw, sizeof(raw)), 56);
  cr_assert_eq(hs_onion_address_parse(buf, NULL), -1);
  /* encode with a short buffer */
  cr_assert_eq(hs_onion_address_encode(buf, HS_ONION_ADDR_LEN, &pk), -1);
}

Test(hs_crypto, blinding)
{
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = group(doc, "blinding");
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    ed25519_keypair_t kp, bkp;
    ed25519_public_key_t bpk, check;
    uint8_t *secret = NULL, h[32], cred[32], sub[32];
    size_t secret_len = vectors_hex(v, "secret", &secret);
    uint64_t pn = num(v, "period_num"), pl = num(v, "period_length_minutes");

    vectors_hex_fixed(v, "identity_public_key", kp.pub.pubkey, 32);
    vectors_hex_fixed(v, "identity_expanded_secret_key", kp.sec.seckey, 64);
    cr_assert_eq(ed25519_public_from_secret(&check, &kp.sec), 0);
    cr_assert_arr_eq(check.pubkey, kp.pub.pubkey, 32);

    uint8_t nonce[HS_BLIND_NONCE_LEN];
    hs_blinding_nonce(nonce, pn, pl);
    vectors_check_hex(v, "nonce_N", nonce, sizeof(nonce));
    cr_assert_eq(hs_blinding_factor(h, &kp.pub, secret, secret_len, pn, pl), 0);
    vectors_check_hex(v, "blinding_factor_h_unclamped", h, 32);
    cr_assert_eq(hs_blind_public_key(&bpk, &kp.pub, secret, secret_len, pn, pl), 0);
    vectors_check_hex(v, "blinded_public_key", bpk.pubkey, 32);
    cr_assert_eq(hs_blind_keypair(&bkp, &kp, secret, secret_len, pn, pl), 0);
    vectors_check_hex(v, "blinded_public_key", bkp.pub.pubkey, 32);
    vectors_check_hex(v, "blinded_expanded_secret_key", bkp.sec.seckey, 64);
    cr_assert_eq(hs_credential(cred, &kp.pub), 0);
    vectors_check_hex(v, "credential", cred, 32);
    cr_assert_eq(hs_subcredential(sub, cred, &bpk), 0);
    vectors_check_hex(v, "subcredential", sub, 32);
    memset(sub, 0, sizeof(sub));
    cr_assert_eq(hs_subcredential_from_identity(sub, &kp.pub, &bpk), 0);
    vectors_check_hex(v, "subcredential", sub, 32);

    /* a different period or a secret gives a different key */
    cr_assert_eq(hs_blind_public_key(&check, &kp.pub, secret, secret_len, pn + 1, pl), 0);
    cr_assert(memcmp(check.pubkey, bpk.pubkey, 32) != 0);
    cr_assert_eq(hs_blind_public_key(&check, &kp.pub, (const uint8_t *)"s", 1, pn, pl), 0);
    cr_assert(memcmp(check.pubkey, bpk.pubkey, 32) != 0);
    ed25519_keypair_wipe(&bkp);
    free(secret);
  }
  json_free(doc);
}

Test(hs_crypto, indices_and_srv)
{
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = group(doc, "hs_indexes");
  size_t n_store = 0, n_dir = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    uint8_t out[32];
    if (json_get(v, "hs_index")) {
      ed25519_public_key_t bpk;
      vectors_hex_fixed(v, "blinded_public_key", bpk.pubkey, 32);
      cr_assert_eq(hs_build_hs_index(out, &bpk, num(v, "replica"),
                                     num(v, "period_length_minutes"),
                                     num(v, "period_num")), 0);
      vectors_check_hex(v, "hs_index", out, 32);
      n_store++;
    } else {
      ed25519_public_key_t node;
      uint8_t srv[32];
      vectors_hex_fixed(v, "node_identity", node.pubkey, 32);
      vectors_hex_fixed(v, "shared_random_value", srv, 32);
      cr_assert_eq(hs_build_hsdir_index(out, &node, srv, num(v, "period_num"),
                                        num(v, "period_length_minutes")), 0);
      vectors_check_hex(v, "hsdir_index", out, 32);
      n_dir++;
    }
  }
  cr_assert_gt(n_store, 0);
  cr_assert_gt(n_dir, 0);

  arr = group(doc, "disaster_srv");
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    uint8_t out[32];
    cr_assert_eq(hs_disaster_srv(out, num(v, "period_length_minutes"),
                                 num(v, "period_num")), 0);
    vectors_check_hex(v, "disaster_srv", out, 32);
  }
  json_free(doc);
}

Test(hs_crypto, time_periods)
{
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = group(doc, "time_periods");
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    int64_t now = (int64_t)num(v, "unix_time");
    uint64_t len = num(v, "period_length_minutes");
    uint64_t off = num(v, "rotation_offset_minutes");
    uint64_t pn = hs_time_period_num(now, len, off);
    int checked = 0;
    if (json_get(v, "period_num")) {
      cr_assert_eq(pn, num(v, "period_num"), "%s", json_get_str(v, "name"));
      checked++;
    }
    if (json_get(v, "period_start_unix")) {
      cr_assert_eq(hs_time_period_start(pn, len, off), (int64_t)num(v, "period_start_unix"));
      checked++;
    }
    if (json_get(v, "next_period_start_unix")) {
      cr_assert_eq(hs_time_period_next_start(now, len, off),
                   (int64_t)num(v, "next_period_start_unix"), "%s",
                   json_get_str(v, "name"));
      checked++;
    }
    if (json_get(v, "next_period_num")) {
      cr_assert_eq(pn + 1, num(v, "next_period_num"));
      cr_assert_eq(hs_time_period_num(hs_time_period_next_start(now, len, off), len, off),
                   num(v, "next_period_num"));
      checked++;
    }
    cr_assert_gt(checked, 0);
  }
  json_free(doc);
  /* edges: before the offset, zero length uses the default */
  cr_assert_eq(hs_time_period_num(0, 1440, 720), 0);
  cr_assert_eq(hs_time_period_num(-5, 1440, 720), 0);
  cr_assert_eq(hs_time_period_num(1460546101, 0, 720), 16903);
}

Test(hs_crypto, client_auth_cookie)
{
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = group(doc, "client_auth");
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    uint8_t subcred[32], esec[32], epub[32], cpub[32], iv[16], id[8];
    uint8_t *cookie = NULL, enc[64];
    size_t clen = vectors_hex(v, "descriptor_cookie", &cookie);
    cr_assert_leq(clen, sizeof(enc));

    vectors_hex_fixed(v, "subcredential", subcred, 32);
    vectors_hex_fixed(v, "service_ephemeral_secret_key", esec, 32);
    vectors_hex_fixed(v, "client_auth_public_key", cpub, 32);
    vectors_hex_fixed(v, "iv", iv, 16);
    cr_assert_eq(x25519_public_from_secret(epub, esec), 0);
    vectors_check_hex(v, "service_ephemeral_public_key", epub, 32);
    cr_assert_eq(hs_client_auth_encrypt_cookie(id, enc, esec, cpub, subcred, iv,
                                               cookie, clen), 0);
    vectors_check_hex(v, "client_id", id, 8);
    vectors_check_hex(v, "encrypted_cookie", enc, clen);
    uint8_t keys[HS_CLIENT_AUTH_KEYS_LEN], seed[32];
    cr_assert_eq(hs_client_auth_keys(keys, seed, esec, cpub, subcred), 0);
    vectors_check_hex(v, "secret_seed", seed, 32);
    vectors_check_hex(v, "keys", keys, sizeof(keys));
    free(cookie);
  }
  json_free(doc);

  /* round trip with fresh keys; the client finds its id and the cookie */
  x25519_keypair_t client, eph;
  uint8_t subcred[32], iv[16], cookie[32], enc[32], dec[32], id[8], id2[8];
  cr_assert_eq(x25519_keypair_generate(&client), 0);
  cr_assert_eq(x25519_keypair_generate(&eph), 0);
  crypto_rand(subcred, 32);
  crypto_rand(iv, 16);
  crypto_rand(cookie, 32);
  cr_assert_eq(hs_client_auth_encrypt_cookie(id, enc, eph.sec, client.pub, subcred, iv,
                                             cookie, 32), 0);
  cr_assert_eq(hs_client_auth_decrypt_cookie(id2, NULL, client.sec, eph.pub, subcred,
                                             NULL, NULL, 0), 0);
  cr_assert_arr_eq(id, id2, 8);
  cr_assert_eq(hs_client_auth_decrypt_cookie(id2, dec, client.sec, eph.pub, subcred, iv,
                                             enc, 32), 0);
  cr_assert_arr_eq(dec, cookie, 32);
  subcred[0] ^= 1;   /* another period: another id */
  cr_assert_eq(hs_client_auth_decrypt_cookie(id2, NULL, client.sec, eph.pub, subcred,
                                             NULL, NULL, 0), 0);
  cr_assert(memcmp(id, id2, 8) != 0);
  uint8_t zero[32] = {0};
  cr_assert_eq(hs_client_auth_encrypt_cookie(id, enc, eph.sec, zero, subcred, iv,
                                             cookie, 32), -1);
}
