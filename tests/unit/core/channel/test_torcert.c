/* test_torcert.c -- tests for tor's ed25519 certificates (cert-spec 2.1,
 * 2.2.1) and the RSA->Ed25519 cross-certificate (cert-spec 2.3). */
#include <criterion/criterion.h>

#include <string.h>
#include <time.h>

#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

/* A type-4 certificate written by tor 0.4.9.11 (`tor --list-fingerprint`,
 * file keys/ed25519_signing_cert without its 32-byte header) and the master
 * public key from the same run. */
static const char TOR_CERT_HEX[] =
  "010400079f0c0134e2ff03b629acf7f4d03855216e33973bdff62b1d6b3dd15055716df2"
  "e8a8b001002004009a19d4a5ca57eb95f0a20735edeb30b4372df050436686f69e45c175"
  "1e6b33d010138050a87ebc8d9d4aa59dfd0bd705e073616154f0bddfab9f5d884de64ca2"
  "49cad30ce101c09c5b1538ad0a928bf21fef53ac14a06c163ac3265070f2550f";
static const char TOR_MASTER_HEX[] =
  "9a19d4a5ca57eb95f0a20735edeb30b4372df050436686f69e45c1751e6b33d0";

static const time_t NOW = 1795491309;   /* when the tor cert was made */

static void
init(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(torcert, .init = init);
TestSuite(rsa_crosscert, .init = init);

static size_t
unhex(const char *hex, uint8_t *out, size_t max)
{
  int n = base16_decode(out, max, hex, strlen(hex));
  cr_assert_gt(n, 0);
  return (size_t)n;
}

/* Make a fresh signed certificate in the wire format by hand, with extra
 * raw extension bytes (exts, n_ext of them), signed by kp. */
static uint8_t *
build_cert(const ed25519_keypair_t *kp, uint8_t version, uint8_t type, uint8_t n_ext,
           const uint8_t *exts, size_t extlen, size_t *outlen)
{
  size_t n = 40 + extlen + 64;
  uint8_t *buf = al_calloc(1, n);
  buf[0] = version;
  buf[1] = type;
  buf[2] = 0x00; buf[3] = 0x07; buf[4] = 0x9f; buf[5] = 0x0c;
  buf[6] = CERT_KEY_TYPE_ED25519;
  crypto_rand(buf + 7, 32);
  buf[39] = n_ext;
  if (extlen)
    memcpy(buf + 40, exts, extlen);
  cr_assert_eq(ed25519_sign(buf + 40 + extlen, buf, 40 + extlen, kp), 0);
  *outlen = n;
  return buf;
}

Test(torcert, parses_tor_generated_cert)
{
  uint8_t der[200], master[32];
  size_t len = unhex(TOR_CERT_HEX, der, sizeof(der));
  torcert_t *c = NULL;
  ed25519_public_key_t pk;
  uint8_t *enc = NULL;
  size_t enclen = 0;

  unhex(TOR_MASTER_HEX, master, sizeof(master));
  memcpy(pk.pubkey, master, 32);
  cr_assert_eq(len, 140);
  cr_assert_eq(torcert_parse(&c, der, len), 0);
  cr_assert_eq(c->cert_type, CERT_TYPE_ID_SIGNING);
  cr_assert_eq(c->key_type, CERT_KEY_TYPE_ED25519);
  cr_assert_eq(c->expiration_hours, 0x00079f0c);
  cr_assert(c->has_signing_key);
  cr_assert_arr_eq(c->signing_key.pubkey, master, 32);
  cr_assert_eq(torcert_checksig(c, NULL), 0);
  cr_assert_eq(torcert_checksig(c, &pk), 0);
  cr_assert_eq(torcert_validate(c, &pk, NOW), 0);
  cr_assert_eq(torcert_validate(c, &pk, NOW + 31 * 86400), TORCERT_ERR_EXPIRED);
  cr_assert_eq(torcert_encode(c, &enc, &enclen), 0);
  cr_assert_eq(enclen, len);
  cr_assert_arr_eq(enc, der, len);
  al_free(enc);
  /* one flipped bit anywhere breaks the signature (or the parse) */
  for (size_t i = 0; i < len; i++) {
    torcert_t *c2 = NULL;
    der[i] ^= 0x20;
    if (torcert_parse(&c2, der, len) == 0) {
      cr_assert_neq(torcert_checksig(c2, &pk), 0, "bit flip at %zu accepted", i);
      torcert_free(c2);
    }
    der[i] ^= 0x20;
  }
  torcert_free(c);
}

Test(torcert, create_round_trip)
{
  ed25519_keypair_t master, signing;
  torcert_t *c = NULL, *p = NULL, *d = NULL;
  uint8_t *enc = NULL;
  size_t enclen;

  cr_assert_eq(ed25519_keypair_generate(&master), 0);
  cr_assert_eq(ed25519_keypair_generate(&signing), 0);
  cr_assert_eq(torcert_create(&c, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                              signing.pub.pubkey, &master, NOW, 30 * 86400, 1), 0);
  cr_assert_eq(c->encoded_len, 140);
  /* tor rounds the expiration up to the next hour */
  cr_assert_eq(c->expiration_hours, 0x00079f0c);
  cr_assert_eq(torcert_expiration(c), (time_t)0x00079f0c * 3600);
  cr_assert_eq(torcert_encode(c, &enc, &enclen), 0);
  cr_assert_eq(enclen, c->encoded_len);
  cr_assert_arr_eq(enc, c->encoded, enclen);
  cr_assert_eq(torcert_parse(&p, enc, enclen), 0);
  cr_assert_arr_eq(p->certified_key, signing.pub.pubkey, 32);
  cr_assert_arr_eq(p->signing_key.pubkey, master.pub.pubkey, 32);
  cr_assert_eq(torcert_validate(p, &master.pub, NOW), 0);
  cr_assert_eq(torcert_validate(p, NULL, NOW + 30 * 86400), 0);
  cr_assert_eq(torcert_is_expired(p, torcert_expiration(p)), 0);
  cr_assert_eq(torcert_is_expired(p, torcert_expiration(p) + 1), 1);
  cr_assert_eq(torcert_validate(p, &master.pub, NOW + 31 * 86400), TORCERT_ERR_EXPIRED);
  /* wrong key */
  cr_assert_eq(torcert_checksig(p, &signing.pub), TORCERT_ERR_SIG);
  d = torcert_dup(p);
  cr_assert_eq(d->n_ext, 1);
  cr_assert_neq(d->ext, p->ext);
  cr_assert_eq(torcert_checksig(d, NULL), 0);
  torcert_free(d);
  torcert_free(p);
  al_free(enc);
  torcert_free(c);
  cr_assert_null(c);

  /* Without the extension: needs an explicit key. */
  cr_assert_eq(torcert_create(&c, CERT_TYPE_SIGNING_LINK, CERT_KEY_TYPE_SHA256_OF_X509,
                              signing.pub.pubkey, &signing, NOW, 2 * 86400, 0), 0);
  cr_assert_eq(c->encoded_len, 104);
  cr_assert_eq(torcert_parse(&p, c->encoded, c->encoded_len), 0);
  cr_assert_eq(p->has_signing_key, 0);
  cr_assert_eq(torcert_checksig(p, NULL), TORCERT_ERR_SIG);
  cr_assert_eq(torcert_checksig(p, &signing.pub), 0);
  cr_assert_eq(torcert_checksig(p, &master.pub), TORCERT_ERR_SIG);
  torcert_free(p);
  torcert_free(c);
  ed25519_keypair_wipe(&master);
  ed25519_keypair_wipe(&signing);
}

Test(torcert, create_bad_args)
{
  ed25519_keypair_t kp;
  torcert_t *c = NULL;
  uint8_t key[32] = { 0 };
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  cr_assert_lt(torcert_create(&c, CERT_TYPE_RSA_ED_CROSSCERT, 1, key, &kp, NOW, 1, 1), 0);
  cr_assert_lt(torcert_create(&c, CERT_TYPE_ID_SIGNING, 9, key, &kp, NOW, 1, 1), 0);
  cr_assert_lt(torcert_create(&c, CERT_TYPE_ID_SIGNING, 1, key, &kp, -1, 1, 1), 0);
  cr_assert_lt(torcert_create(&c, CERT_TYPE_ID_SIGNING, 1, NULL, &kp, NOW, 1, 1), 0);
  cr_assert_null(c);
}

Test(torcert, every_truncation_fails_and_trailing_garbage)
{
  ed25519_keypair_t kp;
  torcert_t *c = NULL, *p = NULL;
  uint8_t *buf;
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  cr_assert_eq(torcert_create(&c, CERT_TYPE_ID_SIGNING, 1, kp.pub.pubkey, &kp, NOW, 3600, 1), 0);
  for (size_t n = 0; n < c->encoded_len; n++) {
    /* exact-size heap copy so ASan sees any over-read */
    uint8_t *t = al_memdup(c->encoded, n ? n : 1);
    cr_assert_lt(torcert_parse(&p, t, n), 0, "truncation to %zu accepted", n);
    cr_assert_null(p);
    al_free(t);
  }
  buf = al_malloc(c->encoded_len + 1);
  memcpy(buf, c->encoded, c->encoded_len);
  buf[c->encoded_len] = 0;
  cr_assert_eq(torcert_parse(&p, buf, c->encoded_len + 1), TORCERT_ERR_PARSE);
  cr_assert_eq(torcert_parse(&p, NULL, 100), TORCERT_ERR_PARSE);
  cr_assert_eq(torcert_parse(NULL, buf, c->encoded_len), TORCERT_ERR_ARG);
  al_free(buf);
  torcert_free(c);
}

Test(torcert, header_fields_strict)
{
  ed25519_keypair_t kp;
  torcert_t *p = NULL;
  uint8_t *b;
  size_t n;
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  b = build_cert(&kp, 2, CERT_TYPE_ID_SIGNING, 0, NULL, 0, &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_UNKNOWN);
  al_free(b);
  b = build_cert(&kp, 0, CERT_TYPE_ID_SIGNING, 0, NULL, 0, &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_UNKNOWN);
  al_free(b);
  uint8_t bad_types[] = { 0, 1, 2, 3, 7, 0x0c, 0xff };
  for (size_t i = 0; i < sizeof(bad_types); i++) {
    b = build_cert(&kp, 1, bad_types[i], 0, NULL, 0, &n);
    cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_UNKNOWN, "type %u", bad_types[i]);
    al_free(b);
  }
  uint8_t good_types[] = { 4, 5, 6, 8, 9, 0x0a, 0x0b };
  for (size_t i = 0; i < sizeof(good_types); i++) {
    b = build_cert(&kp, 1, good_types[i], 0, NULL, 0, &n);
    cr_assert_eq(torcert_parse(&p, b, n), 0, "type %u", good_types[i]);
    cr_assert_eq(torcert_checksig(p, &kp.pub), 0);
    torcert_free(p);
    al_free(b);
  }
  b = build_cert(&kp, 1, 4, 0, NULL, 0, &n);
  b[6] = 0;
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_UNKNOWN);
  b[6] = 4;
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_UNKNOWN);
  b[6] = 3;
  cr_assert_eq(torcert_parse(&p, b, n), 0);
  torcert_free(p);
  /* N_EXTENSIONS says 1 but there are none: the "extension" would eat
   * into the signature, leaving less than 64 bytes. */
  b[39] = 1;
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
}

Test(torcert, unknown_extensions)
{
  ed25519_keypair_t kp;
  torcert_t *p = NULL;
  uint8_t *b, *enc;
  size_t n, enclen;
  /* type 0x7f, 3 bytes of data, flags 0: ignored */
  uint8_t ext_ok[] = { 0x00, 0x03, 0x7f, 0x00, 'a', 'b', 'c' };
  /* same with AFFECTS_VALIDATION: the cert is invalid */
  uint8_t ext_crit[] = { 0x00, 0x03, 0x7f, 0x01, 'a', 'b', 'c' };
  /* unknown flag bits other than AFFECTS_VALIDATION do not matter */
  uint8_t ext_flags[] = { 0x00, 0x00, 0x7e, 0xfe };
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);

  b = build_cert(&kp, 1, 4, 1, ext_ok, sizeof(ext_ok), &n);
  cr_assert_eq(torcert_parse(&p, b, n), 0);
  cr_assert_eq(p->n_ext, 1);
  cr_assert_eq(p->ext[0].type, 0x7f);
  cr_assert_eq(p->ext[0].len, 3);
  cr_assert_eq(p->has_signing_key, 0);
  cr_assert_eq(torcert_checksig(p, &kp.pub), 0);
  cr_assert_eq(torcert_encode(p, &enc, &enclen), 0);
  cr_assert_eq(enclen, n);
  cr_assert_arr_eq(enc, b, n);
  al_free(enc);
  torcert_free(p);
  al_free(b);

  b = build_cert(&kp, 1, 4, 1, ext_crit, sizeof(ext_crit), &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_UNKNOWN);
  cr_assert_null(p);
  al_free(b);

  b = build_cert(&kp, 1, 4, 1, ext_flags, sizeof(ext_flags), &n);
  cr_assert_eq(torcert_parse(&p, b, n), 0);
  torcert_free(p);
  al_free(b);
}

Test(torcert, signed_with_key_extension_rules)
{
  ed25519_keypair_t kp, other;
  torcert_t *p = NULL;
  uint8_t *b;
  size_t n;
  uint8_t ext[2 * 36 + 1];
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  cr_assert_eq(ed25519_keypair_generate(&other), 0);
  /* flags 1 (AFFECTS_VALIDATION) on a known extension is fine */
  ext[0] = 0; ext[1] = 32; ext[2] = 4; ext[3] = 1;
  memcpy(ext + 4, kp.pub.pubkey, 32);
  b = build_cert(&kp, 1, 4, 1, ext, 36, &n);
  cr_assert_eq(torcert_parse(&p, b, n), 0);
  cr_assert_eq(torcert_checksig(p, NULL), 0);
  cr_assert_eq(torcert_checksig(p, &other.pub), TORCERT_ERR_SIG);
  torcert_free(p);
  al_free(b);
  /* embedded key is not the signer: signature check fails */
  memcpy(ext + 4, other.pub.pubkey, 32);
  b = build_cert(&kp, 1, 4, 1, ext, 36, &n);
  cr_assert_eq(torcert_parse(&p, b, n), 0);
  cr_assert_eq(torcert_checksig(p, NULL), TORCERT_ERR_SIG);
  cr_assert_eq(torcert_checksig(p, &kp.pub), TORCERT_ERR_SIG);
  torcert_free(p);
  al_free(b);
  /* twice: rejected */
  memcpy(ext + 4, kp.pub.pubkey, 32);
  memcpy(ext + 36, ext, 36);
  b = build_cert(&kp, 1, 4, 2, ext, 72, &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
  /* wrong length (31 and 33 bytes) */
  ext[1] = 31;
  b = build_cert(&kp, 1, 4, 1, ext, 35, &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
  ext[1] = 33;
  b = build_cert(&kp, 1, 4, 1, ext, 37, &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
}

Test(torcert, oversized_extension_length)
{
  ed25519_keypair_t kp;
  torcert_t *p = NULL;
  uint8_t *b;
  size_t n;
  uint8_t ext[8] = { 0xff, 0xff, 0x7f, 0x00, 1, 2, 3, 4 };
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  b = build_cert(&kp, 1, 4, 1, ext, sizeof(ext), &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
  /* length one too large (would take one signature byte) */
  ext[0] = 0; ext[1] = 5;
  b = build_cert(&kp, 1, 4, 1, ext, sizeof(ext), &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
  /* length one too small: a stray byte before the signature */
  ext[1] = 3;
  b = build_cert(&kp, 1, 4, 1, ext, sizeof(ext), &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
  /* 255 declared extensions, only a few present */
  b = build_cert(&kp, 1, 4, 255, ext, sizeof(ext), &n);
  cr_assert_eq(torcert_parse(&p, b, n), TORCERT_ERR_PARSE);
  al_free(b);
  cr_assert_null(p);
}

Test(torcert, many_extensions_round_trip)
{
  ed25519_keypair_t kp;
  torcert_t *p = NULL;
  uint8_t *b, *enc, ext[255 * 4];
  size_t n, enclen;
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  for (int i = 0; i < 255; i++) {
    ext[4 * i] = 0; ext[4 * i + 1] = 0; ext[4 * i + 2] = 0x80; ext[4 * i + 3] = 0;
  }
  b = build_cert(&kp, 1, 4, 255, ext, sizeof(ext), &n);
  cr_assert_eq(torcert_parse(&p, b, n), 0);
  cr_assert_eq(p->n_ext, 255);
  cr_assert_eq(torcert_encode(p, &enc, &enclen), 0);
  cr_assert_eq(enclen, n);
  cr_assert_arr_eq(enc, b, n);
  cr_assert_eq(torcert_checksig(p, &kp.pub), 0);
  al_free(enc);
  torcert_free(p);
  al_free(b);
}

/* ---- RSA->Ed25519 cross-certificate ---- */

static rsa_key_t *rsa1, *rsa2;

static void
rsa_init(void)
{
  init();
  rsa1 = rsa_key_generate(1024);
  rsa2 = rsa_key_generate(1024);
  cr_assert_not_null(rsa1);
  cr_assert_not_null(rsa2);
}

static void
rsa_fini(void)
{
  rsa_key_free(rsa1);
  rsa_key_free(rsa2);
}

Test(rsa_crosscert, round_trip_and_verify, .init = rsa_init, .fini = rsa_fini)
{
  ed25519_keypair_t kp, other;
  uint8_t *enc = NULL, *enc2 = NULL;
  size_t len = 0, len2 = 0;
  rsa_crosscert_t *c = NULL;
  rsa_key_t *pub = rsa_key_public_copy(rsa1);

  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  cr_assert_eq(ed25519_keypair_generate(&other), 0);
  cr_assert_eq(rsa_crosscert_create(&enc, &len, &kp.pub, rsa1, NOW, 30 * 86400), 0);
  cr_assert_eq(len, 32 + 4 + 1 + 128);
  cr_assert_eq(enc[36], 128);
  cr_assert_eq(rsa_crosscert_parse(&c, enc, len), 0);
  cr_assert_arr_eq(c->ed_key.pubkey, kp.pub.pubkey, 32);
  cr_assert_eq(c->expiration_hours, 0x00079f0c);
  cr_assert_eq(rsa_crosscert_checksig(c, rsa1), 0);
  cr_assert_eq(rsa_crosscert_checksig(c, pub), 0);
  cr_assert_eq(rsa_crosscert_validate(c, pub, &kp.pub, NOW), 0);
  cr_assert_eq(rsa_crosscert_validate(c, pub, NULL, NOW), 0);
  cr_assert_eq(rsa_crosscert_checksig(c, rsa2), TORCERT_ERR_SIG);
  cr_assert_eq(rsa_crosscert_validate(c, pub, &other.pub, NOW), TORCERT_ERR_SIG);
  cr_assert_eq(rsa_crosscert_validate(c, pub, &kp.pub, NOW + 31 * 86400),
               TORCERT_ERR_EXPIRED);
  cr_assert_eq(rsa_crosscert_is_expired(c, rsa_crosscert_expiration(c)), 0);
  cr_assert_eq(rsa_crosscert_is_expired(c, rsa_crosscert_expiration(c) + 1), 1);
  cr_assert_eq(rsa_crosscert_encode(c, &enc2, &len2), 0);
  cr_assert_eq(len2, len);
  cr_assert_arr_eq(enc2, enc, len);
  rsa_crosscert_free(c);

  /* The signature covers SHA-256(prefix || key || expiration). */
  {
    uint8_t buf[37 + 36], d[32], rec[64];
    size_t plen = strlen(RSA_CROSSCERT_PREFIX);
    int n;
    memcpy(buf, RSA_CROSSCERT_PREFIX, plen);
    memcpy(buf + plen, enc, 36);
    cr_assert_eq(digest_sha256(d, buf, plen + 36), 0);
    n = rsa_recover_raw(pub, enc + 37, 128, rec, sizeof(rec));
    cr_assert_eq(n, 32);
    cr_assert_arr_eq(rec, d, 32);
  }
  /* tampering with any signed byte breaks the signature */
  for (size_t i = 0; i < 36; i++) {
    enc[i] ^= 1;
    cr_assert_eq(rsa_crosscert_parse(&c, enc, len), 0);
    cr_assert_eq(rsa_crosscert_checksig(c, pub), TORCERT_ERR_SIG);
    rsa_crosscert_free(c);
    enc[i] ^= 1;
  }
  rsa_key_free(pub);
  al_free(enc);
  al_free(enc2);
}

Test(rsa_crosscert, malformed, .init = rsa_init, .fini = rsa_fini)
{
  ed25519_keypair_t kp;
  uint8_t *enc = NULL, *big;
  size_t len = 0;
  rsa_crosscert_t *c = NULL;
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  cr_assert_eq(rsa_crosscert_create(&enc, &len, &kp.pub, rsa1, NOW, 3600), 0);
  for (size_t n = 0; n < len; n++) {
    uint8_t *t = al_memdup(enc, n ? n : 1);
    cr_assert_lt(rsa_crosscert_parse(&c, t, n), 0, "truncation to %zu accepted", n);
    cr_assert_null(c);
    al_free(t);
  }
  big = al_malloc(len + 1);
  memcpy(big, enc, len);
  big[len] = 0;
  cr_assert_eq(rsa_crosscert_parse(&c, big, len + 1), TORCERT_ERR_PARSE);
  /* SIGLEN larger than what follows, and SIGLEN 0 */
  big[36] = 129;
  cr_assert_eq(rsa_crosscert_parse(&c, big, len), TORCERT_ERR_PARSE);
  big[36] = 0xff;
  cr_assert_eq(rsa_crosscert_parse(&c, big, len + 1), TORCERT_ERR_PARSE);
  big[36] = 0;
  cr_assert_eq(rsa_crosscert_parse(&c, big, 37), TORCERT_ERR_PARSE);
  /* a short signature parses but does not verify */
  big[36] = 1;
  cr_assert_eq(rsa_crosscert_parse(&c, big, 38), 0);
  cr_assert_eq(rsa_crosscert_checksig(c, rsa1), TORCERT_ERR_SIG);
  rsa_crosscert_free(c);
  cr_assert_eq(rsa_crosscert_parse(NULL, big, 38), TORCERT_ERR_ARG);
  cr_assert_eq(rsa_crosscert_parse(&c, NULL, 38), TORCERT_ERR_PARSE);
  al_free(big);
  al_free(enc);
  /* a key too large for the one-byte SIGLEN is refused */
  {
    rsa_key_t *k3 = rsa_key_generate(3072);
    cr_assert_not_null(k3);
    cr_assert_lt(rsa_crosscert_create(&enc, &len, &kp.pub, k3, NOW, 3600), 0);
    cr_assert_null(enc);
    rsa_key_free(k3);
  }
}
