/* link_certs.c -- checking a CERTS cell for an Ed25519+RSA identity
 * (tor-spec.txt 4.2): a responder's (types 2, 4, 5, 7) and an initiating
 * relay's (types 2, 4, 6, 7); making the type 5 "TLS link" certificate
 * (cert-spec.txt 2.1, A.1 CERT_TYPE 05, key type 03 "SHA256 of an X.509
 * certificate"). */
#include "allium/core/channel/link_handshake.h"

#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/tls/tls.h"

const char *link_err_name(int err)
{
  switch (err) {
  case LINK_OK: return "OK";
  case LINK_ERR_PROTOCOL: return "PROTOCOL";
  case LINK_ERR_MALFORMED: return "MALFORMED";
  case LINK_ERR_VERSION: return "VERSION";
  case LINK_ERR_CERTS: return "CERTS";
  case LINK_ERR_IDENTITY: return "IDENTITY";
  case LINK_ERR_INTERNAL: return "INTERNAL";
  case LINK_ERR_STATE: return "STATE";
  case LINK_ERR_AUTH: return "AUTH";
  default: return "UNKNOWN";
  }
}

int link_make_tls_link_cert(uint8_t **out, size_t *outlen,
                            const ed25519_keypair_t *signing,
                            const uint8_t *tls_cert_der, size_t tls_cert_len,
                            time_t now, time_t lifetime)
{
  uint8_t digest[DIGEST_SHA256_LEN];
  torcert_t *c = NULL;
  if (digest_sha256(digest, tls_cert_der, tls_cert_len) < 0)
    return LINK_ERR_INTERNAL;
  if (torcert_create(&c, CERT_TYPE_SIGNING_LINK, CERT_KEY_TYPE_SHA256_OF_X509,
                     digest, signing, now, lifetime, 0) < 0)
    return LINK_ERR_INTERNAL;
  *out = al_memdup(c->encoded, c->encoded_len);
  *outlen = c->encoded_len;
  torcert_free(c);
  return LINK_OK;
}

/** Parse one ed25519 cert of the expected type from a CERTS entry. */
static int parse_edcert(const cell_certs_t *certs, uint8_t type,
                        torcert_t **out)
{
  const cell_cert_entry_t *e = cell_certs_find(certs, type);
  if (!e)
    return -1;
  if (torcert_parse(out, e->body, e->len) < 0)
    return -1;
  if ((*out)->cert_type != type) {
    torcert_free(*out);
    return -1;
  }
  return 0;
}

/** SHA-256 of the PKCS#1 DER of an RSA public key (tor-spec 4.4.2 CID). */
static int rsa_key_digest256(const rsa_key_t *k, uint8_t out[DIGEST_SHA256_LEN])
{
  uint8_t *der = NULL;
  size_t len = 0;
  if (rsa_key_public_to_der(k, &der, &len) < 0)
    return -1;
  int r = digest_sha256(out, der, len);
  al_free(der);
  return r < 0 ? -1 : 0;
}

/** The RSA part: type 2 identity and type 7 crosscert. */
static int check_rsa_part(const cell_certs_t *certs, time_t now,
                          link_certs_result_t *res, const char **why)
{
  const cell_cert_entry_t *id = cell_certs_find(certs, CELL_CERT_RSA_ID);
  const cell_cert_entry_t *cc = cell_certs_find(certs,
                                                CELL_CERT_RSA_ED_CROSSCERT);
  rsa_key_t *rsa = NULL;
  rsa_crosscert_t *x = NULL;
  int r = LINK_ERR_CERTS;
  if (!id || !cc) {
    *why = !id ? "no RSA identity certificate (type 2)"
               : "no RSA->Ed25519 cross-certificate (type 7)";
    return r;
  }
  if (tls_x509_check_rsa_id_cert(id->body, id->len, now, 1024, &rsa,
                                 why) < 0)
    return r;
  if (rsa_key_fingerprint(rsa, res->rsa_id) < 0 ||
      rsa_key_digest256(rsa, res->rsa_id256) < 0) {
    *why = "cannot hash the RSA identity";
    goto done;
  }
  if (rsa_crosscert_parse(&x, cc->body, cc->len) < 0) {
    *why = "malformed RSA->Ed25519 cross-certificate";
    goto done;
  }
  int v = rsa_crosscert_validate(x, rsa, NULL, now);
  if (v < 0) {
    *why = v == TORCERT_ERR_EXPIRED ? "RSA->Ed25519 cross-certificate expired"
                                    : "RSA->Ed25519 cross-certificate not "
                                      "signed by the RSA identity";
    goto done;
  }
  res->ed_id = x->ed_key;
  r = LINK_OK;
done:
  rsa_crosscert_free(x);
  rsa_key_free(rsa);
  return r;
}

/** The type 4 cert (ed25519 identity -> signing key). */
static int check_id_signing(const cell_certs_t *certs, time_t now,
                            link_certs_result_t *res, const char **why)
{
  torcert_t *idsign = NULL;
  int r = LINK_ERR_CERTS;
  if (parse_edcert(certs, CELL_CERT_ED_ID_SIGNING, &idsign) < 0) {
    *why = "missing or malformed Ed25519 identity->signing cert (type 4)";
    return r;
  }
  if (!idsign->has_signing_key ||
      !crypto_memeq(idsign->signing_key.pubkey, res->ed_id.pubkey,
                    ED25519_PUBKEY_LEN) ||
      idsign->key_type != CERT_KEY_TYPE_ED25519) {
    *why = "type 4 cert is not for the cross-certified Ed25519 identity";
    goto done;
  }
  int v = torcert_validate(idsign, &res->ed_id, now);
  if (v < 0) {
    *why = v == TORCERT_ERR_EXPIRED ? "Ed25519 signing cert expired"
                                    : "Ed25519 signing cert badly signed";
    goto done;
  }
  memcpy(res->ed_signing.pubkey, idsign->certified_key, ED25519_PUBKEY_LEN);
  r = LINK_OK;
done:
  torcert_free(idsign);
  return r;
}

/** The type 5 cert: signing key -> SHA256 of the TLS certificate. */
static int check_signing_link(const cell_certs_t *certs, const uint8_t *tls_der,
                              size_t tls_len, time_t now,
                              const link_certs_result_t *res, const char **why)
{
  torcert_t *link = NULL;
  uint8_t digest[DIGEST_SHA256_LEN];
  int r = LINK_ERR_CERTS;
  if (parse_edcert(certs, CELL_CERT_ED_SIGNING_LINK, &link) < 0) {
    *why = "missing or malformed TLS link cert (type 5)";
    return r;
  }
  int v = torcert_validate(link, &res->ed_signing, now);
  if (v < 0) {
    *why = v == TORCERT_ERR_EXPIRED ? "TLS link cert expired"
                                    : "TLS link cert badly signed";
    goto done;
  }
  if (digest_sha256(digest, tls_der, tls_len) < 0 ||
      !crypto_memeq(digest, link->certified_key, sizeof(digest))) {
    *why = "TLS link cert does not certify the TLS certificate";
    goto done;
  }
  r = LINK_OK;
done:
  torcert_free(link);
  return r;
}

/** The type 6 cert: signing key -> ed25519 AUTHENTICATE key. */
static int check_signing_auth(const cell_certs_t *certs, time_t now,
                              link_certs_result_t *res, const char **why)
{
  torcert_t *auth = NULL;
  int r = LINK_ERR_CERTS;
  if (parse_edcert(certs, CELL_CERT_ED_SIGNING_AUTH, &auth) < 0) {
    *why = "missing or malformed Ed25519 authentication cert (type 6)";
    return r;
  }
  if (auth->key_type != CERT_KEY_TYPE_ED25519) {
    *why = "type 6 cert does not certify an Ed25519 key";
    goto done;
  }
  int v = torcert_validate(auth, &res->ed_signing, now);
  if (v < 0) {
    *why = v == TORCERT_ERR_EXPIRED ? "Ed25519 authentication cert expired"
                                    : "Ed25519 authentication cert badly "
                                      "signed";
    goto done;
  }
  memcpy(res->ed_auth.pubkey, auth->certified_key, ED25519_PUBKEY_LEN);
  r = LINK_OK;
done:
  torcert_free(auth);
  return r;
}

int link_certs_check_responder(const cell_certs_t *certs,
                               const uint8_t *tls_cert_der,
                               size_t tls_cert_len, time_t now,
                               const uint8_t *expected_rsa_id,
                               const ed25519_public_key_t *expected_ed_id,
                               link_certs_result_t *out, const char **why)
{
  const char *dummy;
  link_certs_result_t res;
  if (!why)
    why = &dummy;
  *why = "";
  memset(&res, 0, sizeof(res));
  if (!tls_cert_der || tls_cert_len == 0) {
    *why = "no TLS peer certificate";
    return LINK_ERR_CERTS;
  }
  int r = check_rsa_part(certs, now, &res, why);
  if (r == LINK_OK)
    r = check_id_signing(certs, now, &res, why);
  if (r == LINK_OK)
    r = check_signing_link(certs, tls_cert_der, tls_cert_len, now, &res, why);
  if (r != LINK_OK)
    return r;
  if (expected_rsa_id &&
      !crypto_memeq(expected_rsa_id, res.rsa_id, DIGEST_SHA1_LEN)) {
    *why = "RSA identity is not the expected one";
    return LINK_ERR_IDENTITY;
  }
  if (expected_ed_id && !crypto_memeq(expected_ed_id->pubkey,
                                      res.ed_id.pubkey, ED25519_PUBKEY_LEN)) {
    *why = "Ed25519 identity is not the expected one";
    return LINK_ERR_IDENTITY;
  }
  if (out)
    *out = res;
  return LINK_OK;
}

int link_certs_check_initiator(const cell_certs_t *certs, time_t now,
                               link_certs_result_t *out, const char **why)
{
  const char *dummy;
  link_certs_result_t res;
  if (!why)
    why = &dummy;
  *why = "";
  memset(&res, 0, sizeof(res));
  int r = check_rsa_part(certs, now, &res, why);
  if (r == LINK_OK)
    r = check_id_signing(certs, now, &res, why);
  if (r == LINK_OK)
    r = check_signing_auth(certs, now, &res, why);
  if (r == LINK_OK && out)
    *out = res;
  return r;
}

int link_creds_identity(const link_creds_t *c, time_t now,
                        uint8_t rsa_id256[DIGEST_SHA256_LEN],
                        ed25519_public_key_t *ed_id)
{
  rsa_key_t *rsa = NULL;
  rsa_crosscert_t *x = NULL;
  int r = -1;
  if (!c || !c->id_cert || !c->crosscert)
    return -1;
  if (tls_x509_check_rsa_id_cert(c->id_cert, c->id_cert_len, now, 0, &rsa,
                                 NULL) < 0 ||
      rsa_key_digest256(rsa, rsa_id256) < 0 ||
      rsa_crosscert_parse(&x, c->crosscert, c->crosscert_len) < 0)
    goto done;
  *ed_id = x->ed_key;
  r = 0;
done:
  rsa_crosscert_free(x);
  rsa_key_free(rsa);
  return r;
}
