/* test_ed25519_ext.c -- tor's Ed25519 extensions against
 * ed25519_tor_extensions.json: expanded keys, curve25519 <-> ed25519
 * conversion with the sign bit, self-signatures, key blinding
 * (rend-spec-v3 A.2), public-key validation and unpadded base64. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/encoding/binascii.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(ed25519_ext, .init = setup);

static void
check_set(const json_t *v)
{
  const char *name = json_get_str(v, "name");
  uint8_t seed[32], esk[64], pub[32], csk[32], cpk[32], selfsig[64];
  uint8_t param[32], besk[64], bpub[32], u[32], sig[64];
  ed25519_keypair_t kp, bkp, ckp;
  ed25519_public_key_t pk;
  const json_t *sb = json_get(v, "sign_bit");
  int signbit, got_signbit = -1;

  cr_assert_not_null(sb);
  signbit = (int)sb->number;
  vectors_hex_fixed(v, "secret_key_seed", seed, 32);
  vectors_hex_fixed(v, "expanded_secret_key", esk, 64);
  vectors_hex_fixed(v, "public_key", pub, 32);
  vectors_hex_fixed(v, "curve25519_secret_key", csk, 32);
  vectors_hex_fixed(v, "curve25519_public_key", cpk, 32);
  vectors_hex_fixed(v, "self_signature", selfsig, 64);
  vectors_hex_fixed(v, "blinding_param", param, 32);
  vectors_hex_fixed(v, "blinded_expanded_secret_key", besk, 64);
  vectors_hex_fixed(v, "blinded_public_key", bpub, 32);

  /* Expansion, public key, self-signature. */
  cr_assert_eq(ed25519_keypair_from_seed(&kp, seed), 0);
  cr_assert_arr_eq(kp.sec.seckey, esk, 64, "%s: expanded", name);
  cr_assert_arr_eq(kp.pub.pubkey, pub, 32, "%s: public", name);
  cr_assert_eq(ed25519_public_validate(&kp.pub), 0);
  cr_assert_eq(ed25519_sign(sig, pub, 32, &kp), 0);
  cr_assert_arr_eq(sig, selfsig, 64, "%s: self-signature", name);
  cr_assert_eq(ed25519_verify(selfsig, pub, 32, &kp.pub), 0);

  /* curve25519 halves. */
  cr_assert_arr_eq(csk, esk, 32);
  cr_assert_eq(x25519_public_from_secret(u, csk), 0);
  cr_assert_arr_eq(u, cpk, 32, "%s: curve25519 public", name);
  cr_assert_eq(signbit, pub[31] >> 7);

  /* curve25519 -> ed25519 with the sign bit; the wrong sign bit differs. */
  cr_assert_eq(ed25519_public_from_curve25519(&pk, cpk, signbit), 0);
  cr_assert_arr_eq(pk.pubkey, pub, 32, "%s: converted public", name);
  cr_assert_eq(ed25519_public_from_curve25519(&pk, cpk, !signbit), 0);
  cr_assert(memcmp(pk.pubkey, pub, 32) != 0);

  /* ... and the key pair derived from the curve25519 secret. */
  cr_assert_eq(ed25519_keypair_from_curve25519(&ckp, &got_signbit, csk), 0);
  cr_assert_eq(got_signbit, signbit, "%s: sign bit", name);
  cr_assert_arr_eq(ckp.sec.seckey, csk, 32);
  cr_assert_arr_eq(ckp.pub.pubkey, pub, 32);
  cr_assert_eq(ed25519_sign(sig, cpk, 32, &ckp), 0);
  cr_assert_eq(ed25519_public_from_curve25519(&pk, cpk, got_signbit), 0);
  cr_assert_eq(ed25519_verify(sig, cpk, 32, &pk), 0);

  /* Blinding. */
  cr_assert_eq(ed25519_keypair_blind(&bkp, &kp, param), 0);
  cr_assert_arr_eq(bkp.sec.seckey, besk, 64, "%s: blinded secret", name);
  cr_assert_arr_eq(bkp.pub.pubkey, bpub, 32, "%s: blinded public", name);
  cr_assert_eq(ed25519_public_blind(&pk, &kp.pub, param), 0);
  cr_assert_arr_eq(pk.pubkey, bpub, 32, "%s: blinded public (pk only)", name);
  cr_assert_eq(ed25519_public_validate(&pk), 0);
  cr_assert_eq(ed25519_sign(sig, seed, 32, &bkp), 0);
  cr_assert_eq(ed25519_verify(sig, seed, 32, &pk), 0);
  cr_assert_eq(ed25519_verify(sig, seed, 32, &kp.pub), -1);

  ed25519_keypair_wipe(&kp);
  ed25519_keypair_wipe(&bkp);
  ed25519_keypair_wipe(&ckp);
}

Test(ed25519_ext, vector_sets)
{
  json_t *doc = vectors_load("ed25519_tor_extensions.json");
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  cr_assert_eq(arr->n, 10);
  for (size_t i = 0; i < arr->n; i++)
    check_set(json_at(arr, i));
  json_free(doc);
}

Test(ed25519_ext, validation_and_blind_failure)
{
  json_t *doc = vectors_load("ed25519_tor_extensions.json");
  const json_t *arr = json_get(doc, "validation_vectors");
  int nvalid = 0, ninvalid = 0, nblind = 0;
  cr_assert_not_null(arr);
  cr_assert_eq(arr->n, 6);
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const json_t *ev = json_get(v, "expect_valid");
    ed25519_public_key_t pk, out;
    if (ev) {
      vectors_hex_fixed(v, "public_key", pk.pubkey, 32);
      int want = ev->boolean ? 0 : -1;
      cr_assert_eq(ed25519_public_validate(&pk), want, "%s",
                   json_get_str(v, "name"));
      if (ev->boolean)
        nvalid++;
      else
        ninvalid++;
    } else {
      uint8_t param[32], want[32];
      vectors_hex_fixed(v, "blinding_param", param, 32);
      vectors_hex_fixed(v, "bad_public_key", pk.pubkey, 32);
      memset(out.pubkey, 0x5a, 32);
      cr_assert_eq(ed25519_public_blind(&out, &pk, param), -1);
      vectors_hex_fixed(v, "good_public_key", pk.pubkey, 32);
      vectors_hex_fixed(v, "good_blinded_public_key", want, 32);
      cr_assert_eq(ed25519_public_blind(&out, &pk, param), 0);
      cr_assert_arr_eq(out.pubkey, want, 32);
      nblind++;
    }
  }
  cr_assert_eq(nvalid, 1);
  cr_assert_eq(ninvalid, 4);
  cr_assert_eq(nblind, 1);
  json_free(doc);
}

Test(ed25519_ext, blinding_rejects_torsion_keys)
{
  json_t *doc = vectors_load("ed25519_tor_extensions.json");
  const json_t *arr = json_get(doc, "validation_vectors");
  uint8_t param[32] = {2};
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const json_t *ev = json_get(v, "expect_valid");
    ed25519_public_key_t pk, out;
    if (!ev || ev->boolean)
      continue;
    vectors_hex_fixed(v, "public_key", pk.pubkey, 32);
    cr_assert_eq(ed25519_public_blind(&out, &pk, param), -1);
  }
  json_free(doc);
}

Test(ed25519_ext, base64_encoding)
{
  json_t *doc = vectors_load("ed25519_tor_extensions.json");
  const json_t *arr = json_get(doc, "encoding_vectors");
  cr_assert_not_null(arr);
  cr_assert_eq(arr->n, 1);
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const char *b64 = json_get_str(v, "base64");
    uint8_t pub[32], dec[33];
    char enc[64];
    cr_assert_not_null(b64);
    vectors_hex_fixed(v, "public_key", pub, 32);
    cr_assert_eq(base64_encode(enc, sizeof(enc), pub, 32, BASE64_FLAG_NOPAD), 43);
    cr_assert_str_eq(enc, b64);
    cr_assert_eq(base64_decode(dec, sizeof(dec), b64, strlen(b64)), 32);
    cr_assert_arr_eq(dec, pub, 32);
  }
  json_free(doc);
}

Test(ed25519_ext, curve25519_roundtrip_random)
{
  for (int i = 0; i < 16; i++) {
    x25519_keypair_t ckp;
    ed25519_keypair_t kp;
    ed25519_public_key_t pk;
    uint8_t sig[64];
    int sb = -1;
    cr_assert_eq(x25519_keypair_generate(&ckp), 0);
    cr_assert_eq(ed25519_keypair_from_curve25519(&kp, &sb, ckp.sec), 0);
    cr_assert(sb == 0 || sb == 1);
    cr_assert_eq(ed25519_public_from_curve25519(&pk, ckp.pub, sb), 0);
    cr_assert_arr_eq(pk.pubkey, kp.pub.pubkey, 32);
    cr_assert_eq(ed25519_sign(sig, ckp.pub, 32, &kp), 0);
    cr_assert_eq(ed25519_verify(sig, ckp.pub, 32, &pk), 0);
  }
  /* u = p - 1 (i.e. -1) has no Edwards image: must fail, not crash. */
  uint8_t u[32];
  ed25519_public_key_t pk;
  memset(u, 0xff, 32);
  u[0] = 0xec;
  u[31] = 0x7f;
  cr_assert_eq(ed25519_public_from_curve25519(&pk, u, 0), -1);
  /* Garbage u values still return a 32-byte answer or -1. */
  memset(u, 0xff, 32);
  (void)ed25519_public_from_curve25519(&pk, u, 1);
  cr_assert_eq(ed25519_public_from_curve25519(NULL, u, 1), -1);
}

Test(ed25519_ext, blind_random_keys)
{
  for (int i = 0; i < 8; i++) {
    ed25519_keypair_t kp, bkp;
    ed25519_public_key_t bpk;
    uint8_t param[32], sig[64];
    cr_assert_eq(ed25519_keypair_generate(&kp), 0);
    randombytes_buf(param, sizeof(param));
    cr_assert_eq(ed25519_keypair_blind(&bkp, &kp, param), 0);
    cr_assert_eq(ed25519_public_blind(&bpk, &kp.pub, param), 0);
    cr_assert_arr_eq(bkp.pub.pubkey, bpk.pubkey, 32);
    cr_assert_eq(ed25519_sign_prefixed(sig, "prefix", param, 32, &bkp), 0);
    cr_assert_eq(ed25519_verify_prefixed(sig, "prefix", param, 32, &bpk), 0);
    /* In-place blinding works too. */
    cr_assert_eq(ed25519_keypair_blind(&kp, &kp, param), 0);
    cr_assert_arr_eq(kp.sec.seckey, bkp.sec.seckey, 64);
  }
}
