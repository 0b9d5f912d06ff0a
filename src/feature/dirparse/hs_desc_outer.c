/* hs_desc_outer.c -- the outer layer of a v3 onion-service descriptor
 * (rend-spec-v3 2.4 [DESC-OUTER]), with its descriptor-signing-key
 * certificate (cert-spec 2.1, CERT_TYPE 08 signed by the blinded key, which
 * the signed-with-ed25519-key extension carries).
 *
 * hs_desc_outer_parse() makes the checks a tor HSDir makes before it caches
 * a descriptor: size limit, keyword order and multiplicity, version 3,
 * lifetime range, the cert's type, key, signer and expiry, the signature
 * over the document.  hs_desc_outer_build() makes the document a service
 * uploads.
 */
#include <stdio.h>
#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

enum {
  K_HS_DESCRIPTOR, K_LIFETIME, K_SIGNING_CERT, K_REVISION, K_SUPERENC, K_SIGNATURE,
};

static const netdoc_rule_t outer_rules[] = {
  { "hs-descriptor", K_HS_DESCRIPTOR, NETDOC_AT_START, 1, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "descriptor-lifetime", K_LIFETIME, NETDOC_ONCE, 1, 1, NETDOC_OBJ_FORBIDDEN, NULL },
  { "descriptor-signing-key-cert", K_SIGNING_CERT, NETDOC_ONCE, 0, 0,
    NETDOC_OBJ_REQUIRED, "ED25519 CERT" },
  { "revision-counter", K_REVISION, NETDOC_ONCE, 1, 1, NETDOC_OBJ_FORBIDDEN, NULL },
  { "superencrypted", K_SUPERENC, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, "MESSAGE" },
  { "signature", K_SIGNATURE, NETDOC_AT_END, 1, 1, NETDOC_OBJ_FORBIDDEN, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

#define SIG_B64_LEN 86   /* 64 bytes, unpadded base64 */

/* Parse, type-check and verify the descriptor-signing-key cert of tok into
 * d (signing key, blinded key, expiry). */
static int
outer_check_cert(const netdoc_token_t *tok, const ed25519_public_key_t *blinded_key,
                 time_t now, hs_desc_outer_t *d, netdoc_err_t *err)
{
  torcert_t *c = NULL;
  int rv;
  if (torcert_parse(&c, tok->obj, tok->obj_len) < 0)
    return netdoc_err(err, HS_DESC_ERR_CERT, tok->lineno, "malformed signing-key cert");
  if (c->cert_type != CERT_TYPE_SIGNING_HS_DESC) {
    rv = netdoc_err(err, HS_DESC_ERR_CERT, tok->lineno, "signing-key cert of type %u",
                    (unsigned)c->cert_type);
    goto out;
  }
  if (c->key_type != CERT_KEY_TYPE_ED25519 || !c->has_signing_key) {
    rv = netdoc_err(err, HS_DESC_ERR_CERT, tok->lineno,
                    "signing-key cert lacks an ed25519 key or the blinded key");
    goto out;
  }
  if (blinded_key && !crypto_memeq(blinded_key->pubkey, c->signing_key.pubkey,
                                   ED25519_PUBKEY_LEN)) {
    rv = netdoc_err(err, HS_DESC_ERR_WRONG_KEY, tok->lineno,
                    "signing-key cert is signed by another blinded key");
    goto out;
  }
  if (torcert_checksig(c, NULL) < 0) {
    rv = netdoc_err(err, DIRPARSE_ERR_SIG, tok->lineno, "bad signing-key cert signature");
    goto out;
  }
  if (torcert_is_expired(c, now)) {
    rv = netdoc_err(err, HS_DESC_ERR_EXPIRED, tok->lineno, "signing-key cert expired");
    goto out;
  }
  memcpy(d->signing_key.pubkey, c->certified_key, ED25519_PUBKEY_LEN);
  d->blinded_key = c->signing_key;
  d->cert_expiry = torcert_expiration(c);
  rv = 0;
 out:
  torcert_free(c);
  return rv;
}

/* The signature line: verify with d->signing_key over the prefix and the
 * document up to the start of that line. */
static int
outer_check_sig(const netdoc_t *doc, const netdoc_token_t *tok, const hs_desc_outer_t *d,
                netdoc_err_t *err)
{
  uint8_t sig[ED25519_SIG_LEN];
  if (strlen(tok->args[0]) != SIG_B64_LEN ||
      netdoc_parse_b64(tok->args[0], sig, sizeof(sig)) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok->lineno, "malformed signature");
  size_t signed_len = (size_t)(tok->line - doc->start);
  if (ed25519_verify_prefixed(sig, HS_DESC_SIG_PREFIX, (const uint8_t *)doc->start,
                              signed_len, &d->signing_key) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, tok->lineno, "bad descriptor signature");
  return 0;
}

/* Version, lifetime and revision counter. */
static int
outer_check_fields(const netdoc_t *doc, hs_desc_outer_t *d, netdoc_err_t *err)
{
  int64_t v;
  const netdoc_token_t *t = netdoc_find(doc->tok, doc->n_tok, K_HS_DESCRIPTOR);
  if (netdoc_parse_int(t->args[0], 0, UINT32_MAX, &v) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "malformed version");
  if (v != HS_DESC_VERSION)
    return netdoc_err(err, HS_DESC_ERR_VERSION, t->lineno, "unsupported version %lld",
                      (long long)v);
  d->version = (uint32_t)v;
  t = netdoc_find(doc->tok, doc->n_tok, K_LIFETIME);
  if (netdoc_parse_int(t->args[0], HS_DESC_MIN_LIFETIME, HS_DESC_MAX_LIFETIME, &v) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno,
                      "descriptor-lifetime not in %d..%d minutes", HS_DESC_MIN_LIFETIME,
                      HS_DESC_MAX_LIFETIME);
  d->lifetime_min = (uint32_t)v;
  t = netdoc_find(doc->tok, doc->n_tok, K_REVISION);
  uint64_t rc;
  const char *a = t->args[0];
  if (a[0] == '\0' || (a[0] == '0' && a[1] != '\0') ||
      decimal_parse_u64(a, strlen(a), UINT64_MAX, &rc) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "malformed revision-counter");
  d->revision_counter = rc;
  t = netdoc_find(doc->tok, doc->n_tok, K_SUPERENC);
  if (t->obj_len < HS_DESC_BLOB_MIN_LEN)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno,
                      "superencrypted blob of %zu bytes is too short", t->obj_len);
  d->superencrypted = al_memdup(t->obj, t->obj_len);
  d->superencrypted_len = t->obj_len;
  return 0;
}

int
hs_desc_outer_parse(const char *s, size_t len, size_t max_len,
                    const ed25519_public_key_t *blinded_key, time_t now,
                    hs_desc_outer_t **out, netdoc_err_t *err)
{
  if (!out || !s)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  if (!max_len)
    max_len = HS_DESC_MAX_LEN;
  if (len > max_len)
    return netdoc_err(err, DIRPARSE_ERR_LIMIT, 0, "descriptor of %zu bytes exceeds %zu",
                      len, max_len);
  netdoc_t *doc = NULL;
  int rv = netdoc_tokenize(s, len, NETDOC_F_LARGE_OBJECTS, &doc, err);
  if (rv < 0)
    return rv;
  hs_desc_outer_t *d = al_calloc(1, sizeof(*d));
  if ((rv = netdoc_check_rules(doc->tok, doc->n_tok, outer_rules, err)) < 0)
    goto fail;
  if ((rv = outer_check_fields(doc, d, err)) < 0)
    goto fail;
  if ((rv = outer_check_cert(netdoc_find(doc->tok, doc->n_tok, K_SIGNING_CERT),
                             blinded_key, now, d, err)) < 0)
    goto fail;
  if ((rv = outer_check_sig(doc, netdoc_find(doc->tok, doc->n_tok, K_SIGNATURE), d,
                            err)) < 0)
    goto fail;
  netdoc_free(doc);
  *out = d;
  return 0;
 fail:
  netdoc_free(doc);
  hs_desc_outer_free(d);
  return rv;
}

/* "-----BEGIN type-----\n" base64 lines of 64 "-----END type-----\n" */
static char *
outer_armor(const char *type, const uint8_t *data, size_t len)
{
  size_t n = base64_encode_size(len, BASE64_FLAG_MULTILINE);
  if (n == SIZE_MAX)
    return NULL;
  char *b64 = al_malloc(n);
  if (base64_encode(b64, n, data, len, BASE64_FLAG_MULTILINE) < 0) {
    al_free(b64);
    return NULL;
  }
  char *r = al_asprintf("-----BEGIN %s-----\n%s-----END %s-----\n", type, b64, type);
  al_free(b64);
  return r;
}

int
hs_desc_outer_build(char **out, size_t *outlen, const ed25519_keypair_t *blinded,
                    const ed25519_keypair_t *signing, time_t now, time_t cert_lifetime,
                    uint64_t revision_counter, uint32_t lifetime_min,
                    const uint8_t *blob, size_t blob_len)
{
  if (!out || !outlen || !blinded || !signing || !blob || blob_len < HS_DESC_BLOB_MIN_LEN ||
      lifetime_min < HS_DESC_MIN_LIFETIME || lifetime_min > HS_DESC_MAX_LIFETIME ||
      cert_lifetime <= 0 || blob_len > HS_DESC_MAX_LEN)
    return DIRPARSE_ERR_ARG;
  *out = NULL;
  torcert_t *c = NULL;
  if (torcert_create(&c, CERT_TYPE_SIGNING_HS_DESC, CERT_KEY_TYPE_ED25519,
                     signing->pub.pubkey, blinded, now, cert_lifetime, 1) < 0)
    return DIRPARSE_ERR_ARG;
  char *cert = outer_armor("ED25519 CERT", c->encoded, c->encoded_len);
  torcert_free(c);
  char *msg = outer_armor("MESSAGE", blob, blob_len);
  char *body = NULL;
  if (cert && msg)
    body = al_asprintf("hs-descriptor %d\ndescriptor-lifetime %u\n"
                       "descriptor-signing-key-cert\n%srevision-counter %llu\n"
                       "superencrypted\n%s", HS_DESC_VERSION, (unsigned)lifetime_min,
                       cert, (unsigned long long)revision_counter, msg);
  al_free(cert);
  al_free(msg);
  if (!body)
    return DIRPARSE_ERR_ARG;
  size_t blen = strlen(body);
  uint8_t sig[ED25519_SIG_LEN];
  char sig64[SIG_B64_LEN + 1];
  if (ed25519_sign_prefixed(sig, HS_DESC_SIG_PREFIX, (const uint8_t *)body, blen,
                            signing) < 0 ||
      base64_encode(sig64, sizeof(sig64), sig, sizeof(sig), BASE64_FLAG_NOPAD) < 0) {
    al_free(body);
    return DIRPARSE_ERR_ARG;
  }
  char *doc = al_asprintf("%ssignature %s\n", body, sig64);
  al_free(body);
  size_t dlen = strlen(doc);
  if (dlen > HS_DESC_MAX_LEN) {
    al_free(doc);
    return DIRPARSE_ERR_LIMIT;
  }
  *out = doc;
  *outlen = dlen;
  return 0;
}

void
hs_desc_outer_free_(hs_desc_outer_t *d)
{
  if (!d)
    return;
  al_free(d->superencrypted);
  memwipe(d, sizeof(*d));
  al_free(d);
}
