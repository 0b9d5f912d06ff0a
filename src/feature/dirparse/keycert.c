/* keycert.c -- parse and verify directory authority key certificates
 * (dir-spec 3.1 "Creating key certificates", signed as in 1.3 "Signing
 * documents").  See include/allium/feature/dirparse/keycert.h.
 */
#include "allium/feature/dirparse/keycert.h"

#include <string.h>

#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

enum {
  K_VERSION, K_DIR_ADDRESS, K_FINGERPRINT, K_ID_KEY, K_PUBLISHED, K_EXPIRES,
  K_SIGNING_KEY, K_CROSSCERT, K_CERTIFICATION,
};

static const netdoc_rule_t cert_rules[] = {
  { "dir-key-certificate-version", K_VERSION, NETDOC_AT_START, 1, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "dir-address", K_DIR_ADDRESS, NETDOC_AT_MOST_ONCE, 1, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "fingerprint", K_FINGERPRINT, NETDOC_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "dir-identity-key", K_ID_KEY, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, "RSA PUBLIC KEY" },
  { "dir-key-published", K_PUBLISHED, NETDOC_ONCE, 2, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "dir-key-expires", K_EXPIRES, NETDOC_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "dir-signing-key", K_SIGNING_KEY, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED,
    "RSA PUBLIC KEY" },
  { "dir-key-crosscert", K_CROSSCERT, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, NULL },
  { "dir-key-certification", K_CERTIFICATION, NETDOC_AT_END, 0, 0, NETDOC_OBJ_REQUIRED,
    "SIGNATURE" },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

/* Load an RSA public key from tok's object; min_bits checked. */
static rsa_key_t *
key_from_token(const netdoc_token_t *t, int min_bits, netdoc_err_t *err)
{
  rsa_key_t *k = rsa_key_public_from_der(t->obj, t->obj_len);
  if (!k) {
    netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad RSA key after \"%s\"", t->keyword);
    return NULL;
  }
  if (rsa_key_bits(k) < min_bits || !rsa_key_exponent_is_65537(k)) {
    netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unacceptable RSA key after \"%s\"",
               t->keyword);
    rsa_key_free(k);
    return NULL;
  }
  return k;
}

static int
key_digest(const rsa_key_t *k, uint8_t out[20])
{
  return rsa_key_fingerprint(k, out);
}

static int
cert_fields(authcert_t *c, netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  const netdoc_token_t *t = netdoc_find(tok, n, K_VERSION);
  if (strcmp(t->args[0], "3") != 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unknown certificate version");
  t = netdoc_find(tok, n, K_DIR_ADDRESS);
  if (t) {
    uint8_t a[16];
    int v6;
    if (netdoc_parse_addrport(t->args[0], a, &v6, &c->dir_port) < 0 || v6)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad dir-address");
    memcpy(c->dir_ipv4, a, 4);
    c->has_dir_address = 1;
  }
  t = netdoc_find(tok, n, K_PUBLISHED);
  if (netdoc_parse_time(t->args[0], t->args[1], &c->published) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad time");
  t = netdoc_find(tok, n, K_EXPIRES);
  if (netdoc_parse_time(t->args[0], t->args[1], &c->expires) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad time");
  t = netdoc_find(tok, n, K_ID_KEY);
  if (!(c->identity_key = key_from_token(t, 1024, err)))
    return DIRPARSE_ERR_SYNTAX;
  t = netdoc_find(tok, n, K_SIGNING_KEY);
  if (!(c->signing_key = key_from_token(t, 1024, err)))
    return DIRPARSE_ERR_SYNTAX;
  if (key_digest(c->identity_key, c->identity_digest) < 0 ||
      key_digest(c->signing_key, c->signing_digest) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "cannot encode key");
  uint8_t fp[20];
  t = netdoc_find(tok, n, K_FINGERPRINT);
  if (netdoc_parse_hex(t->args[0], fp, 20) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad fingerprint");
  if (memcmp(fp, c->identity_digest, 20) != 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, t->lineno,
                      "fingerprint does not match dir-identity-key");
  return 0;
}

/* Verify the cross-certificate and the certification signature. */
static int
cert_verify(authcert_t *c, netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  const netdoc_token_t *t = netdoc_find(tok, n, K_CROSSCERT);
  if (strcmp(t->obj_type, "ID SIGNATURE") != 0 && strcmp(t->obj_type, "SIGNATURE") != 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "wrong object type for crosscert");
  if (rsa_verify_raw(c->signing_key, t->obj, t->obj_len, c->identity_digest, 20) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, t->lineno, "bad dir-key-crosscert");
  const netdoc_token_t *last = netdoc_find(tok, n, K_CERTIFICATION);
  const char *from = tok[0].line;
  size_t slen = (size_t)(last->eol + 1 - from);
  if (digest_sha1(c->cert_digest, from, slen) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, last->lineno, "digest failed");
  if (rsa_verify_raw(c->identity_key, last->obj, last->obj_len, c->cert_digest, 20) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SIG, last->lineno, "bad dir-key-certification");
  return 0;
}

/* tok[0..n) is exactly one certificate (no annotations). */
static int
cert_from_tokens(netdoc_token_t *tok, size_t n, authcert_t **out, netdoc_err_t *err)
{
  int rv = netdoc_check_rules(tok, n, cert_rules, err);
  if (rv < 0)
    return rv;
  authcert_t *c = al_calloc(1, sizeof(*c));
  if ((rv = cert_fields(c, tok, n, err)) < 0 || (rv = cert_verify(c, tok, n, err)) < 0) {
    authcert_free(c);
    return rv;
  }
  *out = c;
  return 0;
}

int
authcert_parse(const char *s, size_t len, authcert_t **out, size_t *consumed,
               netdoc_err_t *err)
{
  authcert_t **l = NULL;
  size_t n = 0;
  if (!out)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  int rv = authcert_parse_list(s, len, &l, &n, err);
  if (rv < 0)
    return rv;
  if (n != 1) {
    authcert_list_free(l, n);
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, 0, "expected exactly one certificate");
  }
  *out = l[0];
  l[0] = NULL;
  authcert_list_free(l, n);
  if (consumed)
    *consumed = len;
  return 0;
}

int
authcert_parse_list(const char *s, size_t len, authcert_t ***out, size_t *n,
                    netdoc_err_t *err)
{
  netdoc_t *d = NULL;
  if (!out || !n)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  *n = 0;
  int rv = netdoc_tokenize(s, len, 0, &d, err);
  if (rv < 0)
    return rv;
  authcert_t **l = NULL;
  size_t cnt = 0, i = 0;
  while (i < d->n_tok) {
    size_t j = i + 1;
    while (j < d->n_tok && strcmp(d->tok[j].keyword, "dir-key-certificate-version") != 0)
      j++;
    authcert_t *c = NULL;
    if ((rv = cert_from_tokens(d->tok + i, j - i, &c, err)) < 0) {
      authcert_list_free(l, cnt);
      netdoc_free(d);
      return rv;
    }
    l = al_reallocarray(l, cnt + 1, sizeof(*l));
    l[cnt++] = c;
    i = j;
  }
  netdoc_free(d);
  *out = l;
  *n = cnt;
  return 0;
}

int
authcert_is_live(const authcert_t *c, time_t now, time_t skew)
{
  return c && now + skew >= c->published && now - skew <= c->expires;
}

void
authcert_free_(authcert_t *c)
{
  if (!c)
    return;
  rsa_key_free(c->identity_key);
  rsa_key_free(c->signing_key);
  al_free(c);
}

void
authcert_list_free_(authcert_t **l, size_t n)
{
  if (!l)
    return;
  for (size_t i = 0; i < n; i++)
    authcert_free(l[i]);
  al_free(l);
}
