/* hs_desc_inner.c -- the second-layer plaintext of a v3 onion service
 * descriptor (rend-spec-v3 2.5.2.2, 2.5.4; "flow-control" of proposal 324,
 * "pow-params" of proposal 327), parsed and built, with the certificate
 * checks of the introduction points (cert-spec types 09 and 0B, signed by
 * the descriptor signing key).  The link specifier block of an introduction
 * point is checked with the EXTEND2 link specifier codec of src/core/cell
 * and kept verbatim.  The decrypt-and-parse / build-and-encrypt entry
 * points of the whole inner part are in hs_desc_entry.c.
 */
#include <stdio.h>
#include <string.h>

#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/bytes/bytes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"

#define CERT_OBJ "ED25519 CERT"
/* The handshake type appended to a link specifier block so that the
 * EXTEND2 decoder can check it (no handshake of this type exists). */
#define LSPEC_FAKE_HTYPE 0xffff
#define LSPEC_TAIL 4

enum {
  K_CREATE2, K_INTRO_AUTH, K_SINGLE_ONION, K_FLOW_CONTROL, K_POW,
  K_INTRO, K_ONION_KEY, K_AUTH_KEY, K_ENC_KEY, K_ENC_CERT, K_LEGACY, K_LEGACY_CERT,
};

static const netdoc_rule_t header_rules[] = {
  { "create2-formats", K_CREATE2, NETDOC_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "intro-auth-required", K_INTRO_AUTH, NETDOC_AT_MOST_ONCE, 1, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "single-onion-service", K_SINGLE_ONION, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "flow-control", K_FLOW_CONTROL, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "pow-params", K_POW, NETDOC_ANY, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "onion-key", K_ONION_KEY, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "auth-key", K_AUTH_KEY, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "enc-key", K_ENC_KEY, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "enc-key-cert", K_ENC_CERT, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

static const netdoc_rule_t intro_rules[] = {
  { "introduction-point", K_INTRO, NETDOC_AT_START, 1, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "onion-key", K_ONION_KEY, NETDOC_ONCE_OR_MORE, 2, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "auth-key", K_AUTH_KEY, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, CERT_OBJ },
  { "enc-key", K_ENC_KEY, NETDOC_ONCE_OR_MORE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "enc-key-cert", K_ENC_CERT, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, CERT_OBJ },
  { "legacy-key", K_LEGACY, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "legacy-key-cert", K_LEGACY_CERT, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_OPTIONAL, NULL },
  { "create2-formats", K_CREATE2, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "intro-auth-required", K_INTRO_AUTH, NETDOC_NEVER, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_OPTIONAL, NULL },
  { "single-onion-service", K_SINGLE_ONION, NETDOC_NEVER, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_OPTIONAL, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

static void
intro_point_clear(hs_desc_intro_point_t *ip)
{
  al_free(ip->lspecs);
  torcert_free(ip->auth_key_cert);
  torcert_free(ip->enc_key_cert);
  memset(ip, 0, sizeof(*ip));
}

void
hs_desc_layer2_free_(hs_desc_layer2_t *l)
{
  if (!l)
    return;
  for (size_t i = 0; i < HS_DESC_MAX_INTRO_POINTS; i++)
    intro_point_clear(&l->intro[i]);
  memwipe(l, sizeof(*l));
  al_free_(l);
}

int
hs_desc_intro_point_lspecs(const hs_desc_intro_point_t *ip, relay_extend2_t *m)
{
  if (!ip || !m || !ip->lspecs || ip->lspecs_len == 0 ||
      ip->lspecs_len > HS_DESC_LSPECS_MAX)
    return HS_DESC_ERR_SYNTAX;
  /* ip->lspecs always carries the fake handshake header after its bytes. */
  if (relay_extend2_decode(m, ip->lspecs, ip->lspecs_len + LSPEC_TAIL) < 0 || m->n_spec == 0)
    return HS_DESC_ERR_SYNTAX;
  m->htype = 0;
  m->hlen = 0;
  m->hdata = NULL;
  return HS_DESC_OK;
}

/* Store n bytes of link specifiers (plus the fake handshake tail) in ip
 * and check them. */
static int
intro_point_set_lspecs(hs_desc_intro_point_t *ip, const uint8_t *p, size_t n)
{
  if (n == 0 || n > HS_DESC_LSPECS_MAX)
    return HS_DESC_ERR_SYNTAX;
  al_free(ip->lspecs);
  ip->lspecs = al_malloc(n + LSPEC_TAIL);
  memcpy(ip->lspecs, p, n);
  const uint8_t tail[LSPEC_TAIL] = { 0xff, 0xff, 0, 0 };
  memcpy(ip->lspecs + n, tail, LSPEC_TAIL);
  ip->lspecs_len = n;
  relay_extend2_t *m = al_malloc(sizeof(*m));
  int rv = hs_desc_intro_point_lspecs(ip, m);
  al_free(m);
  return rv;
}

/* Parse and check one certificate of an introduction point. */
static int
intro_cert(torcert_t **out, const netdoc_token_t *t, uint8_t type,
           const ed25519_public_key_t *signing_key, time_t now, netdoc_err_t *err)
{
  if (torcert_parse(out, t->obj, t->obj_len) < 0)
    return netdoc_err(err, HS_DESC_ERR_CERT, t->lineno, "bad certificate");
  if ((*out)->cert_type != type || !(*out)->has_signing_key)
    return netdoc_err(err, HS_DESC_ERR_CERT, t->lineno,
                      "wrong certificate type or no signing key");
  if (signing_key && torcert_validate(*out, signing_key, now) < 0)
    return netdoc_err(err, HS_DESC_ERR_CERT, t->lineno,
                      "certificate not signed by the descriptor signing key "
                      "or expired");
  return HS_DESC_OK;
}

/* The one "KEYWORD ntor <b64>" of id in tok[0..n) into key. */
static int
ntor_key(uint8_t key[X25519_KEY_LEN], const netdoc_token_t *tok, size_t n, int id,
         int lineno, netdoc_err_t *err)
{
  int found = 0;
  for (size_t i = 0; i < n; i++) {
    if (tok[i].id != id || strcmp(tok[i].args[0], "ntor") != 0)
      continue;
    if (found++ || netdoc_parse_b64(tok[i].args[1], key, X25519_KEY_LEN) < 0)
      return netdoc_err(err, HS_DESC_ERR_SYNTAX, tok[i].lineno,
                        "bad or repeated ntor key");
  }
  if (!found)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, lineno,
                      "introduction point without an ntor key");
  return HS_DESC_OK;
}

/* 1 when cert certifies the ed25519 form of curve25519 key u (either sign). */
static int
certifies_curve_key(const torcert_t *c, const uint8_t u[X25519_KEY_LEN])
{
  ed25519_public_key_t ed;
  if (ed25519_public_from_curve25519(&ed, u, 0) < 0)
    return 0;
  return memcmp(ed.pubkey, c->certified_key, 31) == 0 &&
         (ed.pubkey[31] & 0x7f) == (c->certified_key[31] & 0x7f);
}

static int
intro_parse(hs_desc_intro_point_t *ip, netdoc_token_t *tok, size_t n,
            const ed25519_public_key_t *signing_key, time_t now, netdoc_err_t *err)
{
  int rv = netdoc_check_rules(tok, n, intro_rules, err);
  if (rv < 0)
    return HS_DESC_ERR_SYNTAX;
  int line = tok[0].lineno;
  uint8_t buf[HS_DESC_LSPECS_MAX];
  const char *a = tok[0].args[0];
  int r = base64_decode(buf, sizeof(buf), a, strlen(a));
  if (r <= 0 || intro_point_set_lspecs(ip, buf, (size_t)r) < 0)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, line, "bad link specifiers");
  if ((rv = ntor_key(ip->onion_key, tok, n, K_ONION_KEY, line, err)) < 0 ||
      (rv = ntor_key(ip->enc_key, tok, n, K_ENC_KEY, line, err)) < 0)
    return rv;
  const netdoc_token_t *t = netdoc_find(tok, n, K_AUTH_KEY);
  if ((rv = intro_cert(&ip->auth_key_cert, t, CERT_TYPE_AUTH_HS_IP_KEY, signing_key, now,
                       err)) < 0)
    return rv;
  t = netdoc_find(tok, n, K_ENC_CERT);
  if ((rv = intro_cert(&ip->enc_key_cert, t, CERT_TYPE_CROSS_HS_IP_KEYS, signing_key, now,
                       err)) < 0)
    return rv;
  if (!certifies_curve_key(ip->enc_key_cert, ip->enc_key))
    return netdoc_err(err, HS_DESC_ERR_CERT, t->lineno,
                      "enc-key-cert does not certify enc-key");
  return HS_DESC_OK;
}

static int
header_pow(hs_desc_layer2_t *l, const netdoc_token_t *t, netdoc_err_t *err)
{
  if (strcmp(t->args[0], "v1") != 0)
    return HS_DESC_OK;                       /* other PoW schemes: ignored */
  int64_t effort;
  time_t exp;
  if (l->has_pow_v1 || t->n_args < 4 ||
      netdoc_parse_b64(t->args[1], l->pow_seed, HS_DESC_POW_SEED_LEN) < 0 ||
      netdoc_parse_int(t->args[2], 0, UINT32_MAX, &effort) < 0 ||
      civil_parse_iso(t->args[3], 'T', &exp) < 0)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, t->lineno, "bad pow-params");
  l->has_pow_v1 = 1;
  l->pow_suggested_effort = (uint32_t)effort;
  l->pow_expiration = exp;
  return HS_DESC_OK;
}

static int
header_flow_control(hs_desc_layer2_t *l, const netdoc_token_t *t, netdoc_err_t *err)
{
  const char *v = t->args[0];
  size_t n = strlen(v);
  int64_t inc;
  if (n == 0 || n >= sizeof(l->flow_control_versions) ||
      strspn(v, "0123456789,-") != n ||
      netdoc_parse_int(t->args[1], 0, 255, &inc) < 0)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, t->lineno, "bad flow-control");
  memcpy(l->flow_control_versions, v, n + 1);
  l->flow_control_sendme_inc = (uint8_t)inc;
  l->has_flow_control = 1;
  return HS_DESC_OK;
}

static int
header_parse(hs_desc_layer2_t *l, netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  if (netdoc_check_rules(tok, n, header_rules, err) < 0)
    return HS_DESC_ERR_SYNTAX;
  int has_ntor = 0, rv;
  for (size_t i = 0; i < n; i++) {
    const netdoc_token_t *t = &tok[i];
    switch (t->id) {
    case K_CREATE2:
      for (int k = 0; k < t->n_args; k++) {
        int64_t v;
        if (k >= HS_DESC_CREATE2_MAX_FORMATS || netdoc_parse_int(t->args[k], 0, 65535, &v) < 0)
          return netdoc_err(err, HS_DESC_ERR_SYNTAX, t->lineno,
                            "bad create2-formats");
        l->create2_formats[l->n_create2_formats++] = (uint16_t)v;
        has_ntor |= v == 2;
      }
      if (!has_ntor)
        return netdoc_err(err, HS_DESC_ERR_SYNTAX, t->lineno,
                          "create2-formats without ntor");
      break;
    case K_INTRO_AUTH:
      l->has_intro_auth_required = 1;
      for (int k = 0; k < t->n_args; k++)
        l->intro_auth_ed25519 |= strcmp(t->args[k], "ed25519") == 0;
      break;
    case K_SINGLE_ONION:
      l->single_onion_service = 1;
      break;
    case K_FLOW_CONTROL:
      if ((rv = header_flow_control(l, t, err)) < 0)
        return rv;
      break;
    case K_POW:
      if ((rv = header_pow(l, t, err)) < 0)
        return rv;
      break;
    default:
      break;
    }
  }
  return HS_DESC_OK;
}

/* Parse the tokens of d into l. */
static int
layer2_fill(hs_desc_layer2_t *l, netdoc_t *d, const ed25519_public_key_t *signing_key,
            time_t now, netdoc_err_t *err)
{
  size_t starts[HS_DESC_MAX_INTRO_POINTS + 1], n_ip = 0;
  for (size_t i = 0; i < d->n_tok; i++) {
    if (strcmp(d->tok[i].keyword, "introduction-point") != 0)
      continue;
    if (n_ip == HS_DESC_MAX_INTRO_POINTS)
      return netdoc_err(err, HS_DESC_ERR_LIMIT, d->tok[i].lineno,
                        "more than %d introduction points",
                        HS_DESC_MAX_INTRO_POINTS);
    starts[n_ip++] = i;
  }
  starts[n_ip] = d->n_tok;
  size_t hdr_end = n_ip ? starts[0] : d->n_tok;
  int rv = header_parse(l, d->tok, hdr_end, err);
  for (size_t k = 0; rv == HS_DESC_OK && k < n_ip; k++) {
    rv = intro_parse(&l->intro[k], d->tok + starts[k], starts[k + 1] - starts[k],
                     signing_key, now, err);
    l->n_intro = k + 1;
  }
  return rv;
}

int
hs_desc_layer2_parse(const char *s, size_t len, const ed25519_public_key_t *signing_key,
                     time_t now, hs_desc_layer2_t **out, netdoc_err_t *err)
{
  if (!out || (!s && len))
    return HS_DESC_ERR_ARG;
  *out = NULL;
  if (len > HS_DESC_MAX_BLOB)
    return netdoc_err(err, HS_DESC_ERR_LIMIT, 0, "second layer too large");
  if (len == 0)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, 0, "empty second layer");
  char *txt = al_malloc(len + 2);
  memcpy(txt, s, len);
  size_t tl = len;
  if (txt[tl - 1] != '\n')
    txt[tl++] = '\n';
  txt[tl] = '\0';
  netdoc_t *d = NULL;
  hs_desc_layer2_t *l = al_calloc(1, sizeof(*l));
  int rv = netdoc_tokenize(txt, tl, 0, &d, err);
  if (rv == 0)
    rv = layer2_fill(l, d, signing_key, now, err);
  netdoc_free(d);
  al_free(txt);
  if (rv != HS_DESC_OK) {
    hs_desc_layer2_free(l);
    return rv == DIRPARSE_ERR_LIMIT ? HS_DESC_ERR_LIMIT : rv;
  }
  *out = l;
  return HS_DESC_OK;
}

/* ---- building ---- */

static void
put_str(bytes_writer_t *w, const char *s)
{
  bytes_put_bytes(w, s, strlen(s));
}

/* Append base64 of p[0..n) on the current line (n <= HS_DESC_LSPECS_MAX). */
static void
put_b64(bytes_writer_t *w, const uint8_t *p, size_t n, int flags)
{
  char buf[BASE64_ENCODED_LEN(HS_DESC_LSPECS_MAX) + 1];
  int r = base64_encode(buf, sizeof(buf), p, n, flags);
  if (r > 0)
    bytes_put_bytes(w, buf, (size_t)r);
}

static int
put_cert(bytes_writer_t *w, const char *kw, const torcert_t *c)
{
  if (!c || !c->encoded || c->encoded_len == 0 || c->encoded_len > NETDOC_MAX_OBJECT)
    return HS_DESC_ERR_ARG;
  size_t bsz = base64_encode_size(c->encoded_len, BASE64_FLAG_MULTILINE);
  char *b = al_malloc(bsz);
  int r = base64_encode(b, bsz, c->encoded, c->encoded_len, BASE64_FLAG_MULTILINE);
  put_str(w, kw);
  put_str(w, "\n-----BEGIN " CERT_OBJ "-----\n");
  if (r > 0)
    bytes_put_bytes(w, b, (size_t)r);
  put_str(w, "-----END " CERT_OBJ "-----\n");
  al_free(b);
  return r > 0 ? HS_DESC_OK : HS_DESC_ERR_ARG;
}

static int
intro_build(bytes_writer_t *w, const hs_desc_intro_point_t *ip)
{
  relay_extend2_t *m = al_malloc(sizeof(*m));
  int rv = hs_desc_intro_point_lspecs(ip, m);
  al_free(m);
  if (rv < 0)
    return HS_DESC_ERR_ARG;
  put_str(w, "introduction-point ");
  put_b64(w, ip->lspecs, ip->lspecs_len, 0);
  put_str(w, "\nonion-key ntor ");
  put_b64(w, ip->onion_key, X25519_KEY_LEN, 0);
  put_str(w, "\n");
  if ((rv = put_cert(w, "auth-key", ip->auth_key_cert)) < 0)
    return rv;
  put_str(w, "enc-key ntor ");
  put_b64(w, ip->enc_key, X25519_KEY_LEN, 0);
  put_str(w, "\n");
  return put_cert(w, "enc-key-cert", ip->enc_key_cert);
}

static int
header_build(bytes_writer_t *w, const hs_desc_layer2_t *l)
{
  if (l->n_create2_formats == 0 || l->n_create2_formats > HS_DESC_CREATE2_MAX_FORMATS)
    return HS_DESC_ERR_ARG;
  put_str(w, "create2-formats");
  for (unsigned i = 0; i < l->n_create2_formats; i++) {
    char b[8];
    int n = snprintf(b, sizeof(b), " %u", (unsigned)l->create2_formats[i]);
    bytes_put_bytes(w, b, (size_t)n);
  }
  put_str(w, "\n");
  if (l->intro_auth_ed25519)
    put_str(w, "intro-auth-required ed25519\n");
  if (l->single_onion_service)
    put_str(w, "single-onion-service\n");
  if (l->has_flow_control) {
    size_t n = strnlen(l->flow_control_versions, sizeof(l->flow_control_versions));
    if (n == 0 || n == sizeof(l->flow_control_versions) ||
        strspn(l->flow_control_versions, "0123456789,-") != n)
      return HS_DESC_ERR_ARG;
    char b[64];
    int k = snprintf(b, sizeof(b), "flow-control %s %u\n", l->flow_control_versions,
                     (unsigned)l->flow_control_sendme_inc);
    bytes_put_bytes(w, b, (size_t)k);
  }
  if (l->has_pow_v1) {
    char t[20], b[48];
    civil_format_iso(l->pow_expiration, 'T', t);
    put_str(w, "pow-params v1 ");
    put_b64(w, l->pow_seed, HS_DESC_POW_SEED_LEN, BASE64_FLAG_NOPAD);
    int k = snprintf(b, sizeof(b), " %u %s\n", (unsigned)l->pow_suggested_effort, t);
    bytes_put_bytes(w, b, (size_t)k);
  }
  return HS_DESC_OK;
}

int
hs_desc_layer2_build(const hs_desc_layer2_t *l, char **out, size_t *outlen)
{
  if (!l || !out || !outlen)
    return HS_DESC_ERR_ARG;
  *out = NULL;
  *outlen = 0;
  if (l->n_intro > HS_DESC_MAX_INTRO_POINTS)
    return HS_DESC_ERR_LIMIT;
  bytes_writer_t w;
  bytes_writer_init_heap(&w, HS_DESC_MAX_BLOB);
  int rv = header_build(&w, l);
  for (size_t i = 0; rv == HS_DESC_OK && i < l->n_intro; i++)
    rv = intro_build(&w, &l->intro[i]);
  bytes_put_u8(&w, 0);
  size_t n = 0;
  uint8_t *buf = bytes_writer_steal(&w, &n);
  if (rv != HS_DESC_OK || !buf) {
    al_free(buf);
    return rv != HS_DESC_OK ? rv : HS_DESC_ERR_LIMIT;
  }
  *out = (char *)buf;
  *outlen = n - 1;
  return HS_DESC_OK;
}

int
hs_desc_intro_point_init(hs_desc_intro_point_t *ip, const relay_extend2_t *m,
                         const ed25519_public_key_t *auth_key,
                         const ed25519_keypair_t *signing_kp, time_t now, time_t lifetime)
{
  if (!ip || !m || !auth_key || !signing_kp || m->n_spec == 0)
    return HS_DESC_ERR_ARG;
  relay_extend2_t *c = al_malloc(sizeof(*c));
  memcpy(c, m, sizeof(*c));
  c->htype = LSPEC_FAKE_HTYPE;
  c->hlen = 0;
  c->hdata = NULL;
  uint8_t buf[RELAY_BODY_MAX];
  size_t n = 0;
  int rv = relay_extend2_encode(c, buf, sizeof(buf), &n) < 0 || n <= LSPEC_TAIL
               ? HS_DESC_ERR_ARG : HS_DESC_OK;
  al_free(c);
  if (rv == HS_DESC_OK)
    rv = intro_point_set_lspecs(ip, buf, n - LSPEC_TAIL) < 0 ? HS_DESC_ERR_ARG : HS_DESC_OK;
  ed25519_public_key_t enc_ed;
  if (rv == HS_DESC_OK && ed25519_public_from_curve25519(&enc_ed, ip->enc_key, 0) < 0)
    rv = HS_DESC_ERR_ARG;
  torcert_free(ip->auth_key_cert);
  torcert_free(ip->enc_key_cert);
  if (rv == HS_DESC_OK &&
      (torcert_create(&ip->auth_key_cert, CERT_TYPE_AUTH_HS_IP_KEY, CERT_KEY_TYPE_ED25519,
                      auth_key->pubkey, signing_kp, now, lifetime, 1) < 0 ||
       torcert_create(&ip->enc_key_cert, CERT_TYPE_CROSS_HS_IP_KEYS, CERT_KEY_TYPE_ED25519,
                      enc_ed.pubkey, signing_kp, now, lifetime, 1) < 0))
    rv = HS_DESC_ERR_ARG;
  return rv;
}
