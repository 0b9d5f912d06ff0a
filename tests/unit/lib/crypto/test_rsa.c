/* test_rsa.c -- RSA keys and tor's raw PKCS#1 v1.5 signatures (rsa.c):
 * a fixed key with answers computed by the openssl command-line tool
 * (PKCS#1 PEM/DER, SHA-1 fingerprint, "pkeyutl -sign" without a digest),
 * generation, round trips, and hostile inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rsa.h"
#include "allium/lib/malloc/malloc.h"
#include "helpers/vectors.h"

/* openssl genrsa -traditional 1024 */
static const char kat_priv_pem[] =
  "-----BEGIN RSA PRIVATE KEY-----\n"
  "MIICXQIBAAKBgQDTzWy3x2/kjzXsaT+cFnGR4H9/jCrdldhWJdOv+bHHoCRgq11h\n"
  "DHyji0sRzENLuQUhotsvIGWCbFG9Ujdie2KUzaw4paha/T1GoU66bsALVPahn5JS\n"
  "0t7+NKhlk/0P9HxZkJfq88wBifQXolYOViJSlLx5zpGgBnIcgp7mzdeisQIDAQAB\n"
  "AoGAdHvW3d/udsoYQvPDSwnA3hSUqkYhUQpXF1HocTCnCH3XY977FSOz7JHv8FLh\n"
  "c+TGoLAbUXjEuwzti2yLDzuChAmfuPjyfcbrDX1ocoPUu9F68flO0xgHagpNJCxj\n"
  "OcL/Aw6yIe1s0MjsHhyNQvHzca+UA7Z1VRaJrc7/6QrBK8ECQQDyZIG4qiA3f+d3\n"
  "2LMQe+ESaxFL2mRMZ4zjmlYfdCM62gbUNrs3n628O0PbcA3DjyXYfoMZ8G3XgkZZ\n"
  "GxDn8t+JAkEA37FMSDrqmFV26O1RZZ2gCpIv8x346t2e3FYOa+xz6Gng03Roqm6/\n"
  "6E7Miq4COdibArPF3VPQ7ZDhC7FrfvX36QJBAK1MvpJQ0AfeIpfFDwFSEHEiq5MX\n"
  "6W3W+xwfVEPYvPduukMvflsehxB1LubNDooq5lwK16DMDTxvn+xFNakgNEECQCAr\n"
  "bk4A8xX/TH+JCai0d3yts2miSNb2Ek+brK1GrxCgkW23kwnXrY+qLW5QQg+xn/FO\n"
  "i0keMbDIoiS9WjlDBGkCQQCgqMucd2gqcHCXZ5GxIkfJGeaIF+ey/XHmOQTotAxb\n"
  "tchKQHiDCmIGzQSTbxOmuTE7I3Tc/WXmupxUxGQHKVUL\n"
  "-----END RSA PRIVATE KEY-----\n";
/* openssl rsa -RSAPublicKey_out */
static const char kat_pub_pem[] =
  "-----BEGIN RSA PUBLIC KEY-----\n"
  "MIGJAoGBANPNbLfHb+SPNexpP5wWcZHgf3+MKt2V2FYl06/5scegJGCrXWEMfKOL\n"
  "SxHMQ0u5BSGi2y8gZYJsUb1SN2J7YpTNrDilqFr9PUahTrpuwAtU9qGfklLS3v40\n"
  "qGWT/Q/0fFmQl+rzzAGJ9BeiVg5WIlKUvHnOkaAGchyCnubN16KxAgMBAAE=\n"
  "-----END RSA PUBLIC KEY-----\n";
/* sha1sum of openssl rsa -RSAPublicKey_out -outform DER */
static const char kat_fpr_hex[] = "d746cb67dd27578d6a57cc5516361f9a35cc4736";
/* openssl pkeyutl -sign -pkeyopt rsa_padding_mode:pkcs1 of kat_data */
static const char kat_data[] = "abcdefghijklmnopqrst";
static const char kat_sig_hex[] =
  "a02d301bc77230f13ecd6193ee30ee351d9a1cd9340637e9d6b5f7583b157643bc766e198f0491638d44069d24815b1f33977c98ccaf4cb658353fdd77f1a8b5"
  "a567e76d7af32e9714de24e9fb7aac55985ad22198f2880f25dd856eb195e7711356d0eb7828e21b8453bfc6e45bea30f1925116138be4e2c3c4f886e7a1cd7f";
/* openssl genrsa -traditional -3 1024: public exponent 3 */
static const char e3_priv_pem[] =
  "-----BEGIN RSA PRIVATE KEY-----\n"
  "MIICXAIBAAKBgQDXaAeMNUMbQXPpOEk5XbyEG+cqtxG0IRN7JoFrYdDTeSc5PhGr\n"
  "R1KDPntf9YxIPpdblnkvk4UcCBQATLTEJV2GG+0Fxvl2OSr+hxaJ5MngSCOEuvKh\n"
  "4hZrnHJXbE5piVu7uIr3gZqABW2l2a0s+ZXuO62ar1x6zFqCxgg08rNfiwIBAwKB\n"
  "gQCPmq+yziy81k1GJYYmPn2tZ+9xz2EiwLenbwDyQTXiUMTQ1AvHhOGs1FI/+Qgw\n"
  "Kbo9Dvt1DQNoBWKq3c3YGOkC2TtvJXC5SG3JVYIOryz4518yLyQWHQX4rHouwRK/\n"
  "DIduuA3km7WoGOKF4016mTaxOSFPEW5EYO5e1yODbB2dCwJBAPT/2H5zidAYeXeI\n"
  "JfIqBxPNjquBSMD1+y/w/AhW0qiIcH35ahyZ66Tid9j/KnfkC0Gx42ds/oaFZmLp\n"
  "OE5NDgkCQQDhFAaQXNZ8bdcPS03r3GPZRyrIuzf1l3tpyhVCW3hOCCUmfLZ7cBg7\n"
  "N2Urucqb39kkScCtyhW0b44gabeCOeXzAkEAo1U6/vexNWWmT7AZTBwEt95fHQDb\n"
  "K06ndUtSsDnhxbBK/qZGvbvybexP5f9xpUKyK8vs753/BFju7Jt63t4JWwJBAJYN\n"
  "WbWTOahJOgoyM/KS7TuExzB8z/kPp5vcDiw8+t6wGMRTJFJKutIk7h0mhxKVO22G\n"
  "gHPcDnhKXsBGelbRQ/cCQGyWmUGpMVUAVjLRi+29+4UO0aSlR34REU1jFItoUDm6\n"
  "u9Up7O9fi1ZbtCGmvnRx8aovdAxljOJ9nU/OJFb28i0=\n"
  "-----END RSA PRIVATE KEY-----\n";

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(rsa, .init = setup);


/* Sign / recover / verify round trip, with bit flips. */
static void
check_sign_roundtrip(const rsa_key_t *priv, const rsa_key_t *pub)
{
  uint8_t digest[20], rec[512];
  uint8_t *sig = NULL;
  size_t siglen = 0;

  for (int i = 0; i < 20; i++)
    digest[i] = (uint8_t)(i * 7 + 1);
  cr_assert_eq(rsa_sign_raw(priv, digest, sizeof(digest), &sig, &siglen), 0);
  cr_assert_eq(siglen, (size_t)rsa_key_bits(priv) / 8);
  cr_assert_eq(rsa_recover_raw(pub, sig, siglen, rec, sizeof(rec)), 20);
  cr_assert_arr_eq(rec, digest, 20);
  cr_assert_eq(rsa_verify_raw(pub, sig, siglen, digest, 20), 0);
  cr_assert_eq(rsa_verify_raw(priv, sig, siglen, digest, 20), 0);
  /* Too small an output buffer, wrong lengths. */
  cr_assert_eq(rsa_recover_raw(pub, sig, siglen, rec, 19), -1);
  cr_assert_eq(rsa_recover_raw(pub, sig, siglen - 1, rec, sizeof(rec)), -1);
  cr_assert_eq(rsa_verify_raw(pub, sig, siglen, digest, 19), -1);
  cr_assert_eq(rsa_verify_raw(pub, sig, siglen - 1, digest, 20), -1);
  /* One flipped bit anywhere in the signature or the digest. */
  for (size_t bit = 0; bit < siglen * 8; bit += 61) {
    sig[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    cr_assert_eq(rsa_verify_raw(pub, sig, siglen, digest, 20), -1, "bit %zu", bit);
    sig[bit / 8] ^= (uint8_t)(1 << (bit % 8));
  }
  for (size_t bit = 0; bit < 160; bit += 3) {
    digest[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    cr_assert_eq(rsa_verify_raw(pub, sig, siglen, digest, 20), -1);
    digest[bit / 8] ^= (uint8_t)(1 << (bit % 8));
  }
  /* A signature >= the modulus. */
  memset(sig, 0xff, siglen);
  cr_assert_eq(rsa_recover_raw(pub, sig, siglen, rec, sizeof(rec)), -1);
  al_free(sig);
}

/* Serialisation round trips of a private key. */
static void
check_roundtrips(const rsa_key_t *k)
{
  char *pem = NULL, *pubpem = NULL;
  uint8_t *der = NULL, *pubder = NULL, fpr[20], fpr2[20], sha[20];
  size_t pemlen, pubpemlen, derlen, pubderlen;
  unsigned mdlen;
  rsa_key_t *k2, *p1, *p2, *p3;

  cr_assert_eq(rsa_key_private_to_pem(k, &pem, &pemlen), 0);
  cr_assert_eq(strlen(pem), pemlen);
  cr_assert(!strncmp(pem, "-----BEGIN RSA PRIVATE KEY-----\n", 32));
  cr_assert_eq(rsa_key_public_to_pem(k, &pubpem, &pubpemlen), 0);
  cr_assert_eq(strlen(pubpem), pubpemlen);
  cr_assert(!strncmp(pubpem, "-----BEGIN RSA PUBLIC KEY-----\n", 31));
  cr_assert_eq(rsa_key_private_to_der(k, &der, &derlen), 0);
  cr_assert_eq(rsa_key_public_to_der(k, &pubder, &pubderlen), 0);
  cr_assert_eq(der[0], 0x30);
  cr_assert_eq(pubder[0], 0x30);

  k2 = rsa_key_private_from_pem(pem, pemlen);
  cr_assert_not_null(k2);
  cr_assert(rsa_key_is_private(k2));
  cr_assert(rsa_key_public_eq(k, k2));
  rsa_key_free(k2);
  k2 = rsa_key_private_from_der(der, derlen);
  cr_assert_not_null(k2);
  cr_assert(rsa_key_is_private(k2));
  cr_assert(rsa_key_public_eq(k, k2));

  p1 = rsa_key_public_from_pem(pubpem, pubpemlen);
  p2 = rsa_key_public_from_der(pubder, pubderlen);
  p3 = rsa_key_public_copy(k);
  cr_assert(p1 && p2 && p3);
  cr_assert(!rsa_key_is_private(p1) && !rsa_key_is_private(p2) &&
            !rsa_key_is_private(p3));
  cr_assert(rsa_key_public_eq(p1, k) && rsa_key_public_eq(p2, k) &&
            rsa_key_public_eq(p3, k));
  cr_assert_eq(rsa_key_bits(p3), rsa_key_bits(k));
  cr_assert(rsa_key_exponent_is_65537(p3));

  /* Fingerprint: SHA-1 of the PKCS#1 public DER. */
  cr_assert_eq(rsa_key_fingerprint(k, fpr), 0);
  cr_assert_eq(rsa_key_fingerprint(p2, fpr2), 0);
  cr_assert_arr_eq(fpr, fpr2, 20);
  cr_assert_eq(EVP_Digest(pubder, pubderlen, sha, &mdlen, EVP_sha1(), NULL), 1);
  cr_assert_arr_eq(fpr, sha, 20);

  /* A public key can't sign or be written as private. */
  uint8_t *sig = NULL, *tmp = NULL;
  size_t siglen = 0, tmplen = 0;
  uint8_t d[20] = {0};
  char *tpem = NULL;
  cr_assert_eq(rsa_sign_raw(p1, d, 20, &sig, &siglen), -1);
  cr_assert_null(sig);
  cr_assert_eq(rsa_key_private_to_der(p1, &tmp, &tmplen), -1);
  cr_assert_eq(rsa_key_private_to_pem(p1, &tpem, &tmplen), -1);
  /* Private parsers refuse public keys and vice versa. */
  cr_assert_null(rsa_key_private_from_pem(pubpem, pubpemlen));
  cr_assert_null(rsa_key_private_from_der(pubder, pubderlen));
  cr_assert_null(rsa_key_public_from_pem(pem, pemlen));
  cr_assert_null(rsa_key_public_from_der(der, derlen));

  check_sign_roundtrip(k, p1);
  check_sign_roundtrip(k2, p2);

  rsa_key_free(k2);
  rsa_key_free(p1);
  rsa_key_free(p2);
  rsa_key_free(p3);
  al_free_secret(pem, pemlen);
  al_free_secret(der, derlen);
  al_free(pubpem);
  al_free(pubder);
}

Test(rsa, known_answers)
{
  rsa_key_t *k = rsa_key_private_from_pem(kat_priv_pem, strlen(kat_priv_pem));
  rsa_key_t *p;
  char *pem = NULL;
  size_t len = 0;
  uint8_t fpr[20], want_fpr[20], want_sig[128], rec[128];
  uint8_t *sig = NULL;
  size_t siglen = 0;

  cr_assert_not_null(k);
  cr_assert_eq(rsa_key_bits(k), 1024);
  cr_assert(rsa_key_is_private(k));
  cr_assert(rsa_key_exponent_is_65537(k));
  cr_assert_eq(rsa_key_private_to_pem(k, &pem, &len), 0);
  cr_assert_str_eq(pem, kat_priv_pem);
  al_free_secret(pem, len);
  cr_assert_eq(rsa_key_public_to_pem(k, &pem, &len), 0);
  cr_assert_str_eq(pem, kat_pub_pem);
  p = rsa_key_public_from_pem(pem, len);
  al_free(pem);
  cr_assert_not_null(p);

  cr_assert_eq(test_unhex(kat_fpr_hex, want_fpr, 20), 20);
  cr_assert_eq(rsa_key_fingerprint(k, fpr), 0);
  cr_assert_arr_eq(fpr, want_fpr, 20);
  cr_assert_eq(rsa_key_fingerprint(p, fpr), 0);
  cr_assert_arr_eq(fpr, want_fpr, 20);

  cr_assert_eq(test_unhex(kat_sig_hex, want_sig, 128), 128);
  cr_assert_eq(rsa_sign_raw(k, (const uint8_t *)kat_data, 20, &sig, &siglen), 0);
  cr_assert_eq(siglen, 128);
  cr_assert_arr_eq(sig, want_sig, 128);
  al_free(sig);
  cr_assert_eq(rsa_recover_raw(p, want_sig, 128, rec, sizeof(rec)), 20);
  cr_assert_arr_eq(rec, kat_data, 20);
  cr_assert_eq(rsa_verify_raw(p, want_sig, 128, (const uint8_t *)kat_data, 20), 0);
  want_sig[127] ^= 1;
  cr_assert_eq(rsa_verify_raw(p, want_sig, 128, (const uint8_t *)kat_data, 20), -1);

  check_roundtrips(k);
  rsa_key_free(k);
  rsa_key_free(p);
  cr_assert_null(k);
}

Test(rsa, generate_1024)
{
  rsa_key_t *k = rsa_key_generate(1024), *k2 = rsa_key_generate(1024);
  uint8_t *sig = NULL;
  size_t siglen = 0;
  uint8_t d[20] = {1, 2, 3};
  cr_assert(k && k2);
  cr_assert_eq(rsa_key_bits(k), 1024);
  cr_assert(rsa_key_is_private(k));
  cr_assert(rsa_key_exponent_is_65537(k));
  cr_assert(!rsa_key_public_eq(k, k2));
  check_roundtrips(k);
  /* A signature by k does not verify under k2. */
  cr_assert_eq(rsa_sign_raw(k, d, 20, &sig, &siglen), 0);
  cr_assert_eq(rsa_verify_raw(k2, sig, siglen, d, 20), -1);
  al_free(sig);
  /* Data too long for type-1 padding (needs 11 bytes of overhead). */
  uint8_t big[118] = {0};
  cr_assert_eq(rsa_sign_raw(k, big, 117, &sig, &siglen), 0);
  al_free(sig);
  cr_assert_eq(rsa_sign_raw(k, big, 118, &sig, &siglen), -1);
  cr_assert_eq(rsa_sign_raw(k, big, 0, &sig, &siglen), -1);
  rsa_key_free(k);
  rsa_key_free(k2);
}

Test(rsa, generate_2048_3072, .timeout = 120)
{
  int sizes[] = {2048, 3072};
  for (int i = 0; i < 2; i++) {
    rsa_key_t *k = rsa_key_generate(sizes[i]);
    cr_assert_not_null(k);
    cr_assert_eq(rsa_key_bits(k), sizes[i]);
    cr_assert(rsa_key_exponent_is_65537(k));
    check_roundtrips(k);
    rsa_key_free(k);
  }
}

Test(rsa, bad_sizes_and_args)
{
  cr_assert_null(rsa_key_generate(0));
  cr_assert_null(rsa_key_generate(-1));
  cr_assert_null(rsa_key_generate(512));
  cr_assert_null(rsa_key_generate(1 << 20));
  cr_assert_eq(rsa_key_bits(NULL), -1);
  cr_assert_eq(rsa_key_is_private(NULL), 0);
  cr_assert_eq(rsa_key_exponent_is_65537(NULL), 0);
  cr_assert_eq(rsa_key_public_eq(NULL, NULL), 0);
  cr_assert_null(rsa_key_public_copy(NULL));
  rsa_key_free_(NULL);
}

Test(rsa, exponent_3_detected)
{
  rsa_key_t *k = rsa_key_private_from_pem(e3_priv_pem, strlen(e3_priv_pem));
  rsa_key_t *p;
  cr_assert_not_null(k);
  cr_assert_eq(rsa_key_exponent_is_65537(k), 0);
  p = rsa_key_public_copy(k);
  cr_assert_not_null(p);
  cr_assert_eq(rsa_key_exponent_is_65537(p), 0);
  rsa_key_free(k);
  rsa_key_free(p);
}

/* A 512-bit key made with OpenSSL directly: our parsers refuse it. */
Test(rsa, small_key_refused)
{
  EVP_PKEY *pkey = EVP_RSA_gen(512);
  OSSL_ENCODER_CTX *e;
  unsigned char *der = NULL;
  size_t len = 0;
  cr_assert_not_null(pkey);
  e = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, "DER",
                                    "type-specific", NULL);
  cr_assert_eq(OSSL_ENCODER_to_data(e, &der, &len), 1);
  cr_assert_null(rsa_key_private_from_der(der, len));
  OSSL_ENCODER_CTX_free(e);
  OPENSSL_free(der);
  der = NULL;
  e = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "DER",
                                    "type-specific", NULL);
  cr_assert_eq(OSSL_ENCODER_to_data(e, &der, &len), 1);
  cr_assert_null(rsa_key_public_from_der(der, len));
  OSSL_ENCODER_CTX_free(e);
  OPENSSL_free(der);
  EVP_PKEY_free(pkey);
}

Test(rsa, hostile_pem)
{
  size_t n = strlen(kat_priv_pem);
  char *buf = malloc(n + 64);
  rsa_key_t *k;

  cr_assert_null(rsa_key_private_from_pem(NULL, 0));
  cr_assert_null(rsa_key_private_from_pem("", 0));
  cr_assert_null(rsa_key_public_from_pem("garbage", 7));
  cr_assert_null(rsa_key_private_from_pem("-----BEGIN RSA PRIVATE KEY-----\n", 32));
  cr_assert_null(rsa_key_private_from_pem(
      "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n", 62));
  /* Every truncation (dropping only the final newline is still valid). */
  k = rsa_key_private_from_pem(kat_priv_pem, n - 1);
  cr_assert_not_null(k);
  rsa_key_free(k);
  for (size_t i = 0; i < n - 1; i++) {
    k = rsa_key_private_from_pem(kat_priv_pem, i);
    cr_assert_null(k, "truncated at %zu", i);
  }
  /* Trailing whitespace is fine, trailing garbage or a second block is not. */
  memcpy(buf, kat_priv_pem, n);
  memcpy(buf + n, "\n  \n", 4);
  k = rsa_key_private_from_pem(buf, n + 4);
  cr_assert_not_null(k);
  rsa_key_free(k);
  memcpy(buf + n, "x", 1);
  cr_assert_null(rsa_key_private_from_pem(buf, n + 1));
  memcpy(buf, "junk\n", 5);
  memcpy(buf + 5, kat_priv_pem, n);
  cr_assert_null(rsa_key_private_from_pem(buf, n + 5));
  /* Embedded NUL. */
  memcpy(buf, kat_priv_pem, n);
  buf[100] = 0;
  cr_assert_null(rsa_key_private_from_pem(buf, n));
  /* Corrupted base64 / content: never crash; mostly NULL. */
  for (size_t i = 32; i < n - 30; i += 7) {
    memcpy(buf, kat_priv_pem, n);
    buf[i] = (char)(buf[i] == 'A' ? 'B' : 'A');
    k = rsa_key_private_from_pem(buf, n);
    rsa_key_free(k);
    buf[i] = '*';
    cr_assert_null(rsa_key_private_from_pem(buf, n));
  }
  /* Wrong block type. */
  memcpy(buf, kat_priv_pem, n);
  memcpy(buf + 11, "XYZ", 3);
  cr_assert_null(rsa_key_private_from_pem(buf, n));
  /* Encrypted PEM is refused. */
  {
    static const char enc[] =
      "-----BEGIN RSA PRIVATE KEY-----\n"
      "Proc-Type: 4,ENCRYPTED\n"
      "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
      "AAAA\n"
      "-----END RSA PRIVATE KEY-----\n";
    cr_assert_null(rsa_key_private_from_pem(enc, strlen(enc)));
  }
  /* Oversized. */
  {
    size_t big = 1 << 20;
    char *huge = malloc(big);
    memset(huge, 'A', big);
    memcpy(huge, "-----BEGIN RSA PUBLIC KEY-----\n", 31);
    strcpy(huge + big - 40, "\n-----END RSA PUBLIC KEY-----\n");
    cr_assert_null(rsa_key_public_from_pem(huge, strlen(huge)));
    cr_assert_null(rsa_key_public_from_der((uint8_t *)huge, big));
    cr_assert_null(rsa_key_private_from_der((uint8_t *)huge, big));
    free(huge);
  }
  free(buf);
}

Test(rsa, hostile_der)
{
  rsa_key_t *k = rsa_key_private_from_pem(kat_priv_pem, strlen(kat_priv_pem));
  uint8_t *der = NULL, *pubder = NULL, *buf;
  size_t derlen, pubderlen;
  cr_assert_not_null(k);
  cr_assert_eq(rsa_key_private_to_der(k, &der, &derlen), 0);
  cr_assert_eq(rsa_key_public_to_der(k, &pubder, &pubderlen), 0);
  buf = malloc(derlen + 16);

  cr_assert_null(rsa_key_public_from_der(NULL, 0));
  cr_assert_null(rsa_key_public_from_der(pubder, 0));
  for (size_t i = 1; i < pubderlen; i++)
    cr_assert_null(rsa_key_public_from_der(pubder, i), "truncated %zu", i);
  for (size_t i = 1; i < derlen; i++)
    cr_assert_null(rsa_key_private_from_der(der, i), "truncated %zu", i);
  /* Trailing bytes. */
  memcpy(buf, pubder, pubderlen);
  buf[pubderlen] = 0;
  cr_assert_null(rsa_key_public_from_der(buf, pubderlen + 1));
  memcpy(buf, der, derlen);
  buf[derlen] = 0;
  cr_assert_null(rsa_key_private_from_der(buf, derlen + 1));
  /* Non-canonical (BER) length: 30 81 89 ... instead of 30 81 89 is
   * canonical; re-encode the outer length in long form with 2 bytes. */
  cr_assert_eq(pubder[0], 0x30);
  cr_assert_eq(pubder[1], 0x81);
  buf[0] = 0x30;
  buf[1] = 0x82;
  buf[2] = 0x00;
  memcpy(buf + 3, pubder + 2, pubderlen - 2);
  cr_assert_null(rsa_key_public_from_der(buf, pubderlen + 1));
  /* Single-byte corruption anywhere: never crash; a change in the private
   * key must be caught (pairwise check or re-encoding). */
  for (size_t i = 0; i < derlen; i++) {
    rsa_key_t *x;
    memcpy(buf, der, derlen);
    buf[i] ^= 0x41;
    x = rsa_key_private_from_der(buf, derlen);
    if (x && i > 12) {
      /* Only a change confined to one CRT value could pass the pairwise
       * check; then the public key must still be the original. */
      cr_assert(rsa_key_public_eq(x, k), "byte %zu", i);
    }
    rsa_key_free(x);
  }
  for (size_t i = 0; i < pubderlen; i++) {
    memcpy(buf, pubder, pubderlen);
    buf[i] ^= 0x80;
    rsa_key_t *x = rsa_key_public_from_der(buf, pubderlen);
    rsa_key_free(x);
  }
  /* Random garbage. */
  for (int r = 0; r < 200; r++) {
    size_t len = (size_t)(rand() % 400);
    for (size_t i = 0; i < len; i++)
      buf[i] = (uint8_t)rand();
    if (len > 0)
      buf[0] = 0x30;
    cr_assert_null(rsa_key_public_from_der(buf, len));
    cr_assert_null(rsa_key_private_from_der(buf, len));
  }
  free(buf);
  al_free_secret(der, derlen);
  al_free(pubder);
  rsa_key_free(k);
}
