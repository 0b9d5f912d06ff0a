/* test_ed25519.c -- Ed25519 (RFC 8032 5.1) with expanded secret keys:
 * ed25519.json known answers, bit flips, prefixed signatures, random keys. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/ed25519.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(ed25519, .init = setup);

/* A valid signature stops verifying when any single bit of the message, the
 * signature or the public key is flipped (bits sampled with stride). */
static void
check_flips(const uint8_t sig[64], const uint8_t *msg, size_t len,
            const ed25519_public_key_t *pk)
{
  uint8_t s[64];
  ed25519_public_key_t k;
  uint8_t *m = malloc(len + 1);

  cr_assert_eq(ed25519_verify(sig, msg, len, pk), 0);
  for (int bit = 0; bit < 512; bit += 3) {
    memcpy(s, sig, 64);
    s[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    cr_assert_eq(ed25519_verify(s, msg, len, pk), -1, "sig bit %d", bit);
  }
  for (int bit = 0; bit < 256; bit += 5) {
    k = *pk;
    k.pubkey[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    cr_assert_eq(ed25519_verify(sig, msg, len, &k), -1, "key bit %d", bit);
  }
  if (len) {
    memcpy(m, msg, len);
    for (size_t bit = 0; bit < len * 8; bit += (len > 64 ? 97 : 7)) {
      m[bit / 8] ^= (uint8_t)(1 << (bit % 8));
      cr_assert_eq(ed25519_verify(sig, m, len, pk), -1, "msg bit %zu", bit);
      m[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    }
    cr_assert_eq(ed25519_verify(sig, m, len - 1, pk), -1);
  }
  m[len] = 0;
  cr_assert_eq(ed25519_verify(sig, m, len + 1, pk), -1);
  free(m);
}

Test(ed25519, rfc8032_and_tor_vectors)
{
  json_t *doc = vectors_load("ed25519.json");
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  cr_assert_eq(arr->n, 12);
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const char *name = json_get_str(v, "name");
    uint8_t seed[32], esk[64], pub[32], want_sig[64], sig[64];
    uint8_t *msg;
    size_t len = vectors_hex(v, "message", &msg);
    ed25519_secret_key_t sk;
    ed25519_public_key_t pk;
    ed25519_keypair_t kp;

    vectors_hex_fixed(v, "secret_key_seed", seed, 32);
    vectors_hex_fixed(v, "expanded_secret_key", esk, 64);
    vectors_hex_fixed(v, "public_key", pub, 32);
    vectors_hex_fixed(v, "signature", want_sig, 64);

    cr_assert_eq(ed25519_secret_from_seed(&sk, seed), 0);
    cr_assert_arr_eq(sk.seckey, esk, 64, "%s: expanded key", name);
    cr_assert_eq(ed25519_public_from_secret(&pk, &sk), 0);
    cr_assert_arr_eq(pk.pubkey, pub, 32, "%s: public key", name);
    cr_assert_eq(ed25519_keypair_from_seed(&kp, seed), 0);
    cr_assert_arr_eq(kp.sec.seckey, esk, 64);
    cr_assert_arr_eq(kp.pub.pubkey, pub, 32);
    cr_assert_eq(ed25519_public_validate(&kp.pub), 0);

    cr_assert_eq(ed25519_sign(sig, msg, len, &kp), 0);
    cr_assert_arr_eq(sig, want_sig, 64, "%s: signature", name);
    check_flips(sig, msg, len, &kp.pub);

    /* Signing from the expanded key alone gives the same answer. */
    memset(&kp, 0, sizeof(kp));
    memcpy(kp.sec.seckey, esk, 64);
    memcpy(kp.pub.pubkey, pub, 32);
    cr_assert_eq(ed25519_sign(sig, msg, len, &kp), 0);
    cr_assert_arr_eq(sig, want_sig, 64);

    ed25519_keypair_wipe(&kp);
    free(msg);
  }
  json_free(doc);
}

Test(ed25519, generate_sign_verify)
{
  ed25519_keypair_t a, b;
  uint8_t sig[64];
  static const uint8_t msg[] = "attack at dawn";

  cr_assert_eq(ed25519_keypair_generate(&a), 0);
  cr_assert_eq(ed25519_keypair_generate(&b), 0);
  cr_assert(memcmp(a.pub.pubkey, b.pub.pubkey, 32) != 0);
  cr_assert_eq(ed25519_public_validate(&a.pub), 0);
  cr_assert_eq(ed25519_sign(sig, msg, sizeof(msg), &a), 0);
  cr_assert_eq(ed25519_verify(sig, msg, sizeof(msg), &a.pub), 0);
  cr_assert_eq(ed25519_verify(sig, msg, sizeof(msg), &b.pub), -1);
  check_flips(sig, msg, sizeof(msg), &a.pub);

  /* Empty message, NULL pointer. */
  cr_assert_eq(ed25519_sign(sig, NULL, 0, &a), 0);
  cr_assert_eq(ed25519_verify(sig, NULL, 0, &a.pub), 0);
  cr_assert_eq(ed25519_verify(sig, (const uint8_t *)"", 0, &a.pub), 0);
  /* Argument errors. */
  cr_assert_eq(ed25519_sign(sig, NULL, 5, &a), -1);
  cr_assert_eq(ed25519_verify(sig, NULL, 5, &a.pub), -1);
  cr_assert_eq(ed25519_sign(NULL, msg, 1, &a), -1);
  cr_assert_eq(ed25519_keypair_generate(NULL), -1);
  cr_assert_eq(ed25519_public_validate(NULL), -1);
  ed25519_keypair_wipe(&a);
  ed25519_keypair_wipe(NULL);
}

Test(ed25519, prefixed)
{
  ed25519_keypair_t kp;
  uint8_t sig[64], sig2[64];
  static const char prefix[] = "Tor router descriptor signature v1";
  static const uint8_t body[] = "router test 127.0.0.1 9001 0 0\n";
  uint8_t cat[sizeof(prefix) - 1 + sizeof(body)];

  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  memcpy(cat, prefix, sizeof(prefix) - 1);
  memcpy(cat + sizeof(prefix) - 1, body, sizeof(body));

  cr_assert_eq(ed25519_sign_prefixed(sig, prefix, body, sizeof(body), &kp), 0);
  cr_assert_eq(ed25519_sign(sig2, cat, sizeof(cat), &kp), 0);
  cr_assert_arr_eq(sig, sig2, 64);
  cr_assert_eq(ed25519_verify_prefixed(sig, prefix, body, sizeof(body),
                                       &kp.pub), 0);
  cr_assert_eq(ed25519_verify(sig, cat, sizeof(cat), &kp.pub), 0);
  cr_assert_eq(ed25519_verify(sig, body, sizeof(body), &kp.pub), -1);
  cr_assert_eq(ed25519_verify_prefixed(sig, "Tor router descriptor signature v2",
                                       body, sizeof(body), &kp.pub), -1);
  cr_assert_eq(ed25519_verify_prefixed(sig, prefix, body, sizeof(body) - 1,
                                       &kp.pub), -1);
  /* NULL or empty prefix is plain signing. */
  cr_assert_eq(ed25519_sign_prefixed(sig, NULL, body, sizeof(body), &kp), 0);
  cr_assert_eq(ed25519_verify(sig, body, sizeof(body), &kp.pub), 0);
  cr_assert_eq(ed25519_verify_prefixed(sig, "", body, sizeof(body), &kp.pub), 0);
  cr_assert_eq(ed25519_sign_prefixed(sig, prefix, NULL, 0, &kp), 0);
  cr_assert_eq(ed25519_verify(sig, (const uint8_t *)prefix, strlen(prefix),
                              &kp.pub), 0);
}

Test(ed25519, noncanonical_and_garbage_signatures)
{
  ed25519_keypair_t kp;
  uint8_t sig[64];
  static const uint8_t msg[] = "m";
  /* l, little-endian: S = S + l must be rejected (malleability). */
  static const uint8_t l[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2,
    0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
  };
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  cr_assert_eq(ed25519_sign(sig, msg, 1, &kp), 0);
  unsigned carry = 0;
  for (int i = 32; i < 64; i++) {
    unsigned t = sig[i] + l[i - 32] + carry;
    sig[i] = (uint8_t)t;
    carry = t >> 8;
  }
  cr_assert_eq(ed25519_verify(sig, msg, 1, &kp.pub), -1);
  memset(sig, 0, 64);
  cr_assert_eq(ed25519_verify(sig, msg, 1, &kp.pub), -1);
  memset(sig, 0xff, 64);
  cr_assert_eq(ed25519_verify(sig, msg, 1, &kp.pub), -1);
  /* Identity public key and all-ones key never verify or validate. */
  ed25519_public_key_t id = {{1}};
  cr_assert_eq(ed25519_public_validate(&id), -1);
  cr_assert_eq(ed25519_verify(sig, msg, 1, &id), -1);
  memset(id.pubkey, 0xff, 32);
  cr_assert_eq(ed25519_public_validate(&id), -1);
}
