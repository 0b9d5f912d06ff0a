/* routerdesc_verify.c -- the keys, certificates and signatures of a server
 * descriptor (dir-spec 2.1.1: identity-ed25519, master-key-ed25519,
 * fingerprint, onion-key-crosscert, ntor-onion-key-crosscert,
 * router-sig-ed25519, router-signature; certificate formats of cert-spec).
 */
#include <string.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"
#include "routerdesc_internal.h"

#define ED_SIG_PREFIX "Tor router descriptor signature v1"

static rsa_key_t *
rsa_from(const netdoc_token_t *t, netdoc_err_t *err)
{
  rsa_key_t *k = rsa_key_public_from_der(t->obj, t->obj_len);
  if (!k || rsa_key_bits(k) != 1024 || !rsa_key_exponent_is_65537(k)) {
    rsa_key_free(k);
    netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad RSA key after \"%s\"", t->keyword);
  }
  return k;
}

/* identity-ed25519 + master-key-ed25519: the master key signs the signing key. */
static int
verify_identity_cert(routerdesc_t *rd, const netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  const netdoc_token_t *t = netdoc_find(tok, n, D_ID_ED);
  if (torcert_parse(&rd->id_cert, t->obj, t->obj_len) < 0 ||
      rd->id_cert->cert_type != CERT_TYPE_ID_SIGNING ||
      rd->id_cert->key_type != CERT_KEY_TYPE_ED25519 || !rd->id_cert->has_signing_key)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad identity-ed25519 certificate");
  rd->master_key = rd->id_cert->signing_key;
  memcpy(rd->signing_key.pubkey, rd->id_cert->certified_key, 32);
  rd->cert_expires = torcert_expiration(rd->id_cert);
  if (torcert_checksig(rd->id_cert, &rd->master_key) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, t->lineno, "bad identity-ed25519 signature");
  const netdoc_token_t *m = netdoc_find(tok, n, D_MASTER);
  uint8_t mk[32];
  if (netdoc_parse_b64(m->args[0], mk, 32) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, m->lineno, "bad master-key-ed25519");
  if (memcmp(mk, rd->master_key.pubkey, 32) != 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, m->lineno,
                      "master-key-ed25519 does not match identity-ed25519");
  return 0;
}

static int
verify_rsa_identity(routerdesc_t *rd, const netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  const netdoc_token_t *t = netdoc_find(tok, n, D_SIGNING_KEY);
  if (!(rd->identity_key = rsa_from(t, err)))
    return DIRPARSE_ERR_SYNTAX;
  if (rsa_key_fingerprint(rd->identity_key, rd->rsa_id) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad signing-key");
  t = netdoc_find(tok, n, D_FINGERPRINT);
  if (t) {
    char *fp = netdoc_join_args(t->args, t->n_args);
    uint8_t d[20];
    int ok = strlen(fp) == 49;
    for (int i = 0; ok && i < 49; i++)
      ok = (i % 5 == 4) ? fp[i] == ' ' : fp[i] != ' ';
    for (int i = 0, k = 0; ok && i < 49; i++)
      if (fp[i] != ' ')
        fp[k++] = fp[i];
    fp[40] = '\0';
    ok = ok && netdoc_parse_hex(fp, d, 20) == 0;
    al_free(fp);
    if (!ok)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad fingerprint");
    if (memcmp(d, rd->rsa_id, 20) != 0)
      return netdoc_err(err, DIRPARSE_ERR_SIG, t->lineno, "fingerprint does not match signing-key");
  }
  return 0;
}

static int
verify_onion_keys(routerdesc_t *rd, const netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  const netdoc_token_t *t = netdoc_find(tok, n, D_ONION_KEY);
  const netdoc_token_t *x = netdoc_find(tok, n, D_ONION_CROSS);
  if (t) {
    if (!x)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "onion-key without onion-key-crosscert");
    if (!(rd->onion_key = rsa_from(t, err)))
      return DIRPARSE_ERR_SYNTAX;
    uint8_t buf[128];
    int r = rsa_recover_raw(rd->onion_key, x->obj, x->obj_len, buf, sizeof(buf));
    if (r < 52 || memcmp(buf, rd->rsa_id, 20) != 0 ||
        memcmp(buf + 20, rd->master_key.pubkey, 32) != 0)
      return netdoc_err(err, DIRPARSE_ERR_SIG, x->lineno, "bad onion-key-crosscert");
  }
  t = netdoc_find(tok, n, D_NTOR_CROSS);
  int bit = strcmp(t->args[0], "1") == 0 ? 1 : strcmp(t->args[0], "0") == 0 ? 0 : -1;
  torcert_t *c = NULL;
  ed25519_public_key_t pk;
  if (bit < 0 || torcert_parse(&c, t->obj, t->obj_len) < 0 ||
      c->cert_type != CERT_TYPE_ONION_ID_CROSSCERT ||
      memcmp(c->certified_key, rd->master_key.pubkey, 32) != 0) {
    torcert_free(c);
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad ntor-onion-key-crosscert");
  }
  int bad = ed25519_public_from_curve25519(&pk, rd->ntor_onion_key, bit) < 0 ||
            torcert_checksig(c, &pk) < 0;
  if (!bad && torcert_expiration(c) < rd->cert_expires)
    rd->cert_expires = torcert_expiration(c);
  torcert_free(c);
  if (bad)
    return netdoc_err(err, DIRPARSE_ERR_SIG, t->lineno, "bad ntor-onion-key-crosscert signature");
  return 0;
}

static int
verify_signatures(routerdesc_t *rd, const netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  const char *from = tok[0].line;
  const netdoc_token_t *e = netdoc_find(tok, n, D_SIG_ED);
  const netdoc_token_t *r = netdoc_find(tok, n, D_SIG);
  size_t kl = strlen("router-sig-ed25519");
  if (e != &tok[n - 2] || e->line[kl] != ' ')
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, e->lineno,
                      "router-sig-ed25519 must be next-to-last");
  uint8_t sig[64], d256[32];
  if (netdoc_parse_b64(e->args[0], sig, 64) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, e->lineno, "bad router-sig-ed25519");
  digest_ctx_t *ctx = digest_ctx_new(DIGEST_ALG_SHA256);
  digest_ctx_add(ctx, ED_SIG_PREFIX, strlen(ED_SIG_PREFIX));
  digest_ctx_add(ctx, from, (size_t)(e->line + kl + 1 - from));
  digest_ctx_peek(ctx, d256, 32);
  digest_ctx_free(ctx);
  if (ed25519_verify(sig, d256, 32, &rd->signing_key) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, e->lineno, "bad router-sig-ed25519 signature");
  if (digest_sha1(rd->digest, from, (size_t)(r->eol + 1 - from)) < 0 ||
      rsa_verify_raw(rd->identity_key, r->obj, r->obj_len, rd->digest, 20) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, r->lineno, "bad router-signature");
  return 0;
}

int
routerdesc_verify(routerdesc_t *rd, const netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  if (tok[1].id != D_ID_ED)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[1].lineno,
                      "identity-ed25519 must be the second item");
  int rv = verify_identity_cert(rd, tok, n, err);
  if (rv == 0)
    rv = verify_rsa_identity(rd, tok, n, err);
  if (rv == 0)
    rv = verify_onion_keys(rd, tok, n, err);
  if (rv == 0)
    rv = verify_signatures(rd, tok, n, err);
  return rv;
}
