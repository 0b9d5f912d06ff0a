/* test_hs_desc_outer.c -- the v3 onion-service descriptor outer layer
 * (rend-spec-v3 2.4): round trips, every malformed case an HSDir refuses,
 * and two descriptors made by tor 0.4.9 (data/README). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "fixture.h"
#include "hsdesc_fixture.h"

static void
setup(void)
{
  crypto_global_init();
}

/* Parse s[0..len) from an exactly-sized copy. */
static int
parse(const char *s, size_t len, const ed25519_public_key_t *bk, time_t now,
      hs_desc_outer_t **d, netdoc_err_t *e)
{
  memset(e, 0, sizeof(*e));
  char *b = fixture_exact(s, len);
  int rv = hs_desc_outer_parse(b, len, 0, bk, now, d, e);
  free(b);
  if (rv < 0) {
    cr_assert_null(*d);
    cr_assert_neq(e->msg[0], '\0', "an error without a message");
  }
  return rv;
}

static int
parse_str(const char *s, hs_desc_outer_t **d)
{
  netdoc_err_t e;
  return parse(s, strlen(s), NULL, HSDESC_NOW, d, &e);
}

Test(hs_desc_outer, round_trip, .init = setup)
{
  ed25519_keypair_t id, bk, sk;
  hsdesc_keypair(&id, 1);
  hsdesc_keypair(&sk, 2);
  uint64_t tp = hs_time_period_num(HSDESC_NOW, HS_DEFAULT_PERIOD_LENGTH,
                                   HS_DEFAULT_ROTATION_OFFSET);
  cr_assert_eq(hs_blind_keypair(&bk, &id, NULL, 0, tp, HS_DEFAULT_PERIOD_LENGTH), 0);
  uint8_t *blob = hsdesc_blob(10048);
  char *doc = NULL;
  size_t len = 0;
  cr_assert_eq(hs_desc_outer_build(&doc, &len, &bk, &sk, HSDESC_NOW, HS_DESC_CERT_LIFETIME,
                                   UINT64_MAX, 180, blob, 10048), 0);
  cr_assert_eq(strlen(doc), len);
  cr_assert_eq(strncmp(doc, "hs-descriptor 3\ndescriptor-lifetime 180\n"
                       "descriptor-signing-key-cert\n-----BEGIN ED25519 CERT-----\n", 96), 0);
  cr_assert_not_null(strstr(doc, "\nrevision-counter 18446744073709551615\n"));
  cr_assert_eq(doc[len - 1], '\n');

  hs_desc_outer_t *d = NULL;
  netdoc_err_t e;
  for (int known = 0; known < 2; known++) {
    cr_assert_eq(parse(doc, len, known ? &bk.pub : NULL, HSDESC_NOW, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->version, 3);
    cr_assert_eq(d->lifetime_min, 180);
    cr_assert_eq(d->revision_counter, UINT64_MAX);
    cr_assert_arr_eq(d->blinded_key.pubkey, bk.pub.pubkey, 32);
    cr_assert_arr_eq(d->signing_key.pubkey, sk.pub.pubkey, 32);
    cr_assert_eq(d->superencrypted_len, 10048);
    cr_assert_arr_eq(d->superencrypted, blob, 10048);
    cr_assert_geq(d->cert_expiry, HSDESC_NOW + HS_DESC_CERT_LIFETIME);
    cr_assert_lt(d->cert_expiry, HSDESC_NOW + HS_DESC_CERT_LIFETIME + 3600);
    cr_assert_eq(d->cert_expiry % 3600, 0);
    hs_desc_outer_free(d);
    cr_assert_null(d);
  }
  /* deterministic: ed25519 signatures are */
  char *doc2 = NULL;
  size_t len2 = 0;
  cr_assert_eq(hs_desc_outer_build(&doc2, &len2, &bk, &sk, HSDESC_NOW, HS_DESC_CERT_LIFETIME,
                                   UINT64_MAX, 180, blob, 10048), 0);
  cr_assert_eq(len2, len);
  cr_assert_eq(memcmp(doc, doc2, len), 0);
  al_free(doc2);
  al_free(doc);
  free(blob);
  hs_desc_outer_free(d);   /* NULL is fine */
}

Test(hs_desc_outer, large_blob_and_size_limit, .init = setup)
{
  size_t len;
  /* 30000 bytes: over the tokenizer's ordinary object limit */
  char *doc = hsdesc_build(3, 4, 7, 720, 30000, &len);
  cr_assert_gt(len, 40000);
  cr_assert_leq(len, HS_DESC_MAX_LEN);
  hs_desc_outer_t *d = NULL;
  netdoc_err_t e;
  cr_assert_eq(parse(doc, len, NULL, HSDESC_NOW, &d, &e), 0, "%s", e.msg);
  cr_assert_eq(d->superencrypted_len, 30000);
  cr_assert_eq(d->lifetime_min, 720);
  hs_desc_outer_free(d);
  /* the caller's limit (consensus param) below the document's size */
  char *b = fixture_exact(doc, len);
  cr_assert_eq(hs_desc_outer_parse(b, len, len - 1, NULL, HSDESC_NOW, &d, &e),
               DIRPARSE_ERR_LIMIT);
  cr_assert_eq(hs_desc_outer_parse(b, len, len, NULL, HSDESC_NOW, &d, &e), 0, "%s", e.msg);
  hs_desc_outer_free(d);
  free(b);
  al_free(doc);

  /* a blob that makes the document exceed 50000 bytes is refused by build */
  ed25519_keypair_t bk, sk;
  hsdesc_keypair(&bk, 3);
  hsdesc_keypair(&sk, 4);
  uint8_t *blob = hsdesc_blob(37000);
  cr_assert_eq(hs_desc_outer_build(&doc, &len, &bk, &sk, HSDESC_NOW, 3600, 1, 180, blob,
                                   37000), DIRPARSE_ERR_LIMIT);
  cr_assert_null(doc);
  /* and an oversized document by parse, before anything else */
  char *big = malloc(HS_DESC_MAX_LEN + 1);
  memset(big, 'a', HS_DESC_MAX_LEN);
  big[HS_DESC_MAX_LEN] = '\n';
  cr_assert_eq(hs_desc_outer_parse(big, HS_DESC_MAX_LEN + 1, 0, NULL, HSDESC_NOW, &d, &e),
               DIRPARSE_ERR_LIMIT);
  free(big);
  free(blob);
}

Test(hs_desc_outer, bad_args, .init = setup)
{
  ed25519_keypair_t kp;
  hsdesc_keypair(&kp, 5);
  uint8_t *blob = hsdesc_blob(100);
  char *doc = NULL;
  size_t len;
  hs_desc_outer_t *d = NULL;
  cr_assert_eq(hs_desc_outer_parse(NULL, 0, 0, NULL, 0, &d, NULL), DIRPARSE_ERR_ARG);
  cr_assert_eq(hs_desc_outer_parse("x", 1, 0, NULL, 0, NULL, NULL), DIRPARSE_ERR_ARG);
  cr_assert_eq(hs_desc_outer_build(&doc, &len, &kp, &kp, HSDESC_NOW, 3600, 1, 29, blob, 100),
               DIRPARSE_ERR_ARG);
  cr_assert_eq(hs_desc_outer_build(&doc, &len, &kp, &kp, HSDESC_NOW, 3600, 1, 721, blob, 100),
               DIRPARSE_ERR_ARG);
  cr_assert_eq(hs_desc_outer_build(&doc, &len, &kp, &kp, HSDESC_NOW, 3600, 1, 180, blob,
                                   HS_DESC_BLOB_MIN_LEN - 1), DIRPARSE_ERR_ARG);
  cr_assert_eq(hs_desc_outer_build(&doc, &len, NULL, &kp, HSDESC_NOW, 3600, 1, 180, blob, 100),
               DIRPARSE_ERR_ARG);
  cr_assert_eq(hs_desc_outer_build(&doc, &len, &kp, &kp, HSDESC_NOW, 0, 1, 180, blob, 100),
               DIRPARSE_ERR_ARG);
  cr_assert_null(doc);
  free(blob);
}

Test(hs_desc_outer, truncated, .init = setup)
{
  size_t len;
  char *doc = hsdesc_build(6, 7, 1, 180, 300, &len);
  hs_desc_outer_t *d = NULL;
  netdoc_err_t e;
  for (size_t n = 0; n < len; n++)
    cr_assert_lt(parse(doc, n, NULL, HSDESC_NOW, &d, &e), 0, "prefix of %zu accepted", n);
  cr_assert_eq(parse(doc, len, NULL, HSDESC_NOW, &d, &e), 0, "%s", e.msg);
  hs_desc_outer_free(d);
  /* anything after the signature */
  char *more = malloc(len + 8);
  memcpy(more, doc, len);
  memcpy(more + len, "extra\n", 6);
  cr_assert_lt(parse(more, len + 6, NULL, HSDESC_NOW, &d, &e), 0);
  free(more);
  al_free(doc);
}

Test(hs_desc_outer, bad_signature, .init = setup)
{
  size_t len;
  char *doc = hsdesc_build(8, 9, 41, 180, 200, &len);
  hs_desc_outer_t *d = NULL;
  netdoc_err_t e;
  /* a signed field changed */
  char *p = strstr(doc, "revision-counter 41\n");
  cr_assert_not_null(p);
  p[18] = '2';
  cr_assert_eq(parse(doc, len, NULL, HSDESC_NOW, &d, &e), DIRPARSE_ERR_SIG);
  p[18] = '1';
  cr_assert_eq(parse(doc, len, NULL, HSDESC_NOW, &d, &e), 0, "%s", e.msg);
  hs_desc_outer_free(d);
  /* a changed signature character */
  char *s = strstr(doc, "\nsignature ") + 11;
  char c = s[10];
  s[10] = c == 'A' ? 'B' : 'A';
  cr_assert_eq(parse(doc, len, NULL, HSDESC_NOW, &d, &e), DIRPARSE_ERR_SIG);
  s[10] = c;
  /* a changed superencrypted byte (a base64 character in the object) */
  char *m = strstr(doc, "-----BEGIN MESSAGE-----\n") + 24;
  c = m[5];
  m[5] = c == 'A' ? 'B' : 'A';
  cr_assert_eq(parse(doc, len, NULL, HSDESC_NOW, &d, &e), DIRPARSE_ERR_SIG);
  m[5] = c;
  /* signature of the wrong length or with padding */
  s[85] = '\n';
  cr_assert_eq(parse(doc, (size_t)(s - doc) + 86, NULL, HSDESC_NOW, &d, &e),
               DIRPARSE_ERR_SYNTAX);
  al_free(doc);

  /* signed by a key other than the certified one */
  ed25519_keypair_t bk, sk, other;
  hsdesc_keypair(&bk, 10);
  hsdesc_keypair(&sk, 11);
  hsdesc_keypair(&other, 12);
  uint8_t *blob = hsdesc_blob(100);
  char *cert = hsdesc_cert(CERT_TYPE_SIGNING_HS_DESC, &bk, &sk, 3600, 1);
  char *msg = hsdesc_armor("MESSAGE", blob, 100);
  char *body = al_asprintf("hs-descriptor 3\ndescriptor-lifetime 180\n"
                           "descriptor-signing-key-cert\n%srevision-counter 1\n"
                           "superencrypted\n%s", cert, msg);
  char *good = hsdesc_sign(body, &sk);
  char *bad = hsdesc_sign(body, &other);
  cr_assert_eq(parse_str(good, &d), 0);
  hs_desc_outer_free(d);
  cr_assert_eq(parse_str(bad, &d), DIRPARSE_ERR_SIG);
  free(good);
  free(bad);
  al_free(body);
  free(cert);
  free(msg);
  free(blob);
}

/* A body from a template: "@C" is replaced by the armored cert, "@M" by the
 * armored blob; then signed by sk. */
static char *
from_template(const char *tpl, const char *cert, const char *msg,
              const ed25519_keypair_t *sk)
{
  size_t cap = strlen(tpl) + strlen(cert) * 2 + strlen(msg) * 2 + 1;
  char *body = calloc(1, cap);
  for (const char *p = tpl; *p; p++) {
    if (p[0] == '@' && (p[1] == 'C' || p[1] == 'M')) {
      strcat(body, p[1] == 'C' ? cert : msg);
      p++;
    } else {
      size_t n = strlen(body);
      body[n] = *p;
    }
  }
  char *r = hsdesc_sign(body, sk);
  free(body);
  return r;
}

#define STD_HEAD "hs-descriptor 3\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n@C"
#define STD_TAIL "revision-counter 1\nsuperencrypted\n@M"

static const struct {
  const char *tpl;
  int want;
} malformed_cases[] = {
  { STD_HEAD STD_TAIL, 0 },
  { STD_HEAD "unknown-keyword x\n" STD_TAIL, 0 },
  /* order and multiplicity */
  { "descriptor-lifetime 180\nhs-descriptor 3\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "descriptor-lifetime 180\n" STD_TAIL, DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter 2\n" STD_TAIL, DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "superencrypted\n@M", DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-signing-key-cert\n@C" STD_TAIL, DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime 180\n" STD_TAIL, DIRPARSE_ERR_SYNTAX },
  { STD_HEAD STD_TAIL "descriptor-signing-key-cert\n@C", DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "hs-descriptor 3\n" STD_TAIL, DIRPARSE_ERR_SYNTAX },
  /* arguments and objects */
  { "hs-descriptor 2\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    HS_DESC_ERR_VERSION },
  { "hs-descriptor 4\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    HS_DESC_ERR_VERSION },
  { "hs-descriptor three\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n@C"
    STD_TAIL, DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime 29\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime 30\ndescriptor-signing-key-cert\n@C" STD_TAIL, 0 },
  { "hs-descriptor 3\ndescriptor-lifetime 720\ndescriptor-signing-key-cert\n@C" STD_TAIL, 0 },
  { "hs-descriptor 3\ndescriptor-lifetime 721\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime 180 1\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime -180\ndescriptor-signing-key-cert\n@C" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime 180\ndescriptor-signing-key-cert x\n@C" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter\nsuperencrypted\n@M", DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter -1\nsuperencrypted\n@M", DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter 01\nsuperencrypted\n@M", DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter 0x10\nsuperencrypted\n@M", DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter 18446744073709551616\nsuperencrypted\n@M",
    DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter 18446744073709551615\nsuperencrypted\n@M", 0 },
  { STD_HEAD "revision-counter 0\nsuperencrypted\n@M", 0 },
  { STD_HEAD "revision-counter 1\nsuperencrypted\n", DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter 1\nsuperencrypted\n@C", DIRPARSE_ERR_SYNTAX },
  { STD_HEAD "revision-counter 1\nsuperencrypted x\n@M", DIRPARSE_ERR_SYNTAX },
  { "hs-descriptor 3\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n@M" STD_TAIL,
    DIRPARSE_ERR_SYNTAX },
  /* the signing-key cert is not a cert */
  { "hs-descriptor 3\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n"
    "-----BEGIN ED25519 CERT-----\nAQgAB51t\n-----END ED25519 CERT-----\n" STD_TAIL,
    HS_DESC_ERR_CERT },
};

Test(hs_desc_outer, malformed, .init = setup)
{
  ed25519_keypair_t bk, sk;
  hsdesc_keypair(&bk, 20);
  hsdesc_keypair(&sk, 21);
  uint8_t *blob = hsdesc_blob(HS_DESC_BLOB_MIN_LEN);
  char *cert = hsdesc_cert(CERT_TYPE_SIGNING_HS_DESC, &bk, &sk, 3600, 1);
  char *msg = hsdesc_armor("MESSAGE", blob, HS_DESC_BLOB_MIN_LEN);
  for (size_t i = 0; i < sizeof(malformed_cases) / sizeof(malformed_cases[0]); i++) {
    char *doc = from_template(malformed_cases[i].tpl, cert, msg, &sk);
    hs_desc_outer_t *d = NULL;
    netdoc_err_t e;
    int rv = parse(doc, strlen(doc), &bk.pub, HSDESC_NOW, &d, &e);
    cr_assert_eq(rv, malformed_cases[i].want, "case %zu: got %d (%s)", i, rv, e.msg);
    if (rv == 0)
      cr_assert_not_null(d);
    hs_desc_outer_free(d);
    free(doc);
  }
  free(msg);
  /* a blob one byte shorter than SALT | MAC | 1 byte */
  msg = hsdesc_armor("MESSAGE", blob, HS_DESC_BLOB_MIN_LEN - 1);
  char *doc = from_template(STD_HEAD STD_TAIL, cert, msg, &sk);
  hs_desc_outer_t *d = NULL;
  cr_assert_eq(parse_str(doc, &d), DIRPARSE_ERR_SYNTAX);
  free(doc);
  free(msg);
  free(cert);
  free(blob);
}

Test(hs_desc_outer, cert_checks, .init = setup)
{
  ed25519_keypair_t bk, sk, other;
  hsdesc_keypair(&bk, 30);
  hsdesc_keypair(&sk, 31);
  hsdesc_keypair(&other, 32);
  uint8_t *blob = hsdesc_blob(100);
  char *msg = hsdesc_armor("MESSAGE", blob, 100);
  hs_desc_outer_t *d = NULL;
  netdoc_err_t e;

  /* wrong type (an intro-point auth key cert, 09) */
  char *cert = hsdesc_cert(CERT_TYPE_AUTH_HS_IP_KEY, &bk, &sk, 3600, 1);
  char *doc = from_template(STD_HEAD STD_TAIL, cert, msg, &sk);
  cr_assert_eq(parse_str(doc, &d), HS_DESC_ERR_CERT);
  free(doc);
  free(cert);
  /* no signed-with-key extension: the blinded key is unknown */
  cert = hsdesc_cert(CERT_TYPE_SIGNING_HS_DESC, &bk, &sk, 3600, 0);
  doc = from_template(STD_HEAD STD_TAIL, cert, msg, &sk);
  cr_assert_eq(parse_str(doc, &d), HS_DESC_ERR_CERT);
  free(doc);
  free(cert);

  /* expiry: valid up to and including the expiration second */
  cert = hsdesc_cert(CERT_TYPE_SIGNING_HS_DESC, &bk, &sk, 3600, 1);
  doc = from_template(STD_HEAD STD_TAIL, cert, msg, &sk);
  cr_assert_eq(parse(doc, strlen(doc), NULL, HSDESC_NOW, &d, &e), 0, "%s", e.msg);
  time_t exp = d->cert_expiry;
  hs_desc_outer_free(d);
  cr_assert_eq(parse(doc, strlen(doc), NULL, exp, &d, &e), 0, "%s", e.msg);
  hs_desc_outer_free(d);
  cr_assert_eq(parse(doc, strlen(doc), NULL, exp + 1, &d, &e), HS_DESC_ERR_EXPIRED);

  /* a caller expecting another blinded key */
  cr_assert_eq(parse(doc, strlen(doc), &other.pub, HSDESC_NOW, &d, &e), HS_DESC_ERR_WRONG_KEY);
  cr_assert_eq(parse(doc, strlen(doc), &bk.pub, HSDESC_NOW, &d, &e), 0, "%s", e.msg);
  hs_desc_outer_free(d);
  free(doc);

  /* a cert whose extension names bk but that other signed */
  torcert_t *c = NULL;
  cr_assert_eq(torcert_create(&c, CERT_TYPE_SIGNING_HS_DESC, CERT_KEY_TYPE_ED25519,
                              sk.pub.pubkey, &other, HSDESC_NOW, 3600, 1), 0);
  for (unsigned i = 0; i < c->n_ext; i++)
    if (c->ext[i].type == CERTEXT_SIGNED_WITH_KEY)
      memcpy(c->ext[i].data, bk.pub.pubkey, 32);
  uint8_t *enc = NULL;
  size_t enclen = 0;
  cr_assert_eq(torcert_encode(c, &enc, &enclen), 0);
  torcert_free(c);
  cert = hsdesc_armor("ED25519 CERT", enc, enclen);
  free(enc);
  doc = from_template(STD_HEAD STD_TAIL, cert, msg, &sk);
  cr_assert_eq(parse_str(doc, &d), DIRPARSE_ERR_SIG);
  cr_assert_eq(parse(doc, strlen(doc), &bk.pub, HSDESC_NOW, &d, &e), DIRPARSE_ERR_SIG);
  free(doc);
  free(cert);
  free(msg);
  free(blob);
}

/* In a TestingTorNetwork tor makes a time period one shared-random protocol
 * run long (24 rounds of the voting interval, 20 s in tornet: 8 minutes)
 * and offsets it by one phase (12 rounds: 4 minutes). */
#define TORNET_PERIOD_LENGTH 8
#define TORNET_PERIOD_OFFSET 4

/* Which time period's blinded key of the service signed desc (-1: none of
 * the periods around now). */
static int64_t
tor_period(const hs_desc_outer_t *d)
{
  ed25519_public_key_t id, blinded;
  cr_assert_eq(hs_onion_address_parse(HSDESC_TOR_ONION, &id), 0);
  uint64_t tp = hs_time_period_num(HSDESC_TOR_NOW, TORNET_PERIOD_LENGTH, TORNET_PERIOD_OFFSET);
  for (uint64_t p = tp - 1; p <= tp + 1; p++) {
    cr_assert_eq(hs_blind_public_key(&blinded, &id, NULL, 0, p, TORNET_PERIOD_LENGTH), 0);
    if (memcmp(blinded.pubkey, d->blinded_key.pubkey, 32) == 0)
      return (int64_t)p;
  }
  return -1;
}

Test(hs_desc_outer, tor_descriptors, .init = setup)
{
  static const char *const names[] = { "hsdesc-client.txt", "hsdesc-service.txt" };
  ed25519_public_key_t first_blinded;
  for (size_t i = 0; i < 2; i++) {
    size_t len;
    char *s = fixture_load(names[i], &len);
    hs_desc_outer_t *d = NULL;
    netdoc_err_t e;
    cr_assert_eq(parse(s, len, NULL, HSDESC_TOR_NOW, &d, &e), 0, "%s: %s", names[i], e.msg);
    cr_assert_eq(d->version, 3);
    cr_assert_eq(d->lifetime_min, 180);
    cr_assert_eq(d->revision_counter, HSDESC_TOR_REVISION);
    /* tor pads the superencrypted plaintext to a multiple of 10000 bytes */
    cr_assert_eq(d->superencrypted_len, 10000 + 16 + 32);
    /* the cert's signer is the service's blinded key for the current period */
    int64_t p = tor_period(d);
    cr_assert_eq(p, (int64_t)hs_time_period_num(HSDESC_TOR_NOW, TORNET_PERIOD_LENGTH,
                                                TORNET_PERIOD_OFFSET),
                 "%s: blinded key of period %lld", names[i], (long long)p);
    if (i == 0)
      first_blinded = d->blinded_key;
    else
      cr_assert_arr_eq(first_blinded.pubkey, d->blinded_key.pubkey, 32);
    /* the same checks with the key a client derives */
    ed25519_public_key_t bk = d->blinded_key;
    time_t exp = d->cert_expiry;
    cr_assert_gt(exp, HSDESC_TOR_NOW);
    hs_desc_outer_free(d);
    cr_assert_eq(parse(s, len, &bk, HSDESC_TOR_NOW, &d, &e), 0, "%s", e.msg);
    hs_desc_outer_free(d);
    bk.pubkey[0] ^= 1;
    cr_assert_eq(parse(s, len, &bk, HSDESC_TOR_NOW, &d, &e), HS_DESC_ERR_WRONG_KEY);
    cr_assert_eq(parse(s, len, NULL, exp + 1, &d, &e), HS_DESC_ERR_EXPIRED);
    /* one signed byte changed: "descriptor-lifetime 180" -> "181" */
    char *l = strstr(s, "descriptor-lifetime 180\n");
    cr_assert_not_null(l);
    l[22] = '1';
    cr_assert_eq(parse(s, len, NULL, HSDESC_TOR_NOW, &d, &e), DIRPARSE_ERR_SIG);
    free(s);
  }
}
