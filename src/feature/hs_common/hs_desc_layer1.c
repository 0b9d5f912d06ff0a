/* hs_desc_layer1.c -- the first-layer plaintext of a v3 onion service
 * descriptor (rend-spec-v3 2.5.1.2, 2.5.1.3, 2.5.1.4): desc-auth-type,
 * desc-auth-ephemeral-key, auth-client lines and the "encrypted" MESSAGE
 * object, parsed and built; plus the auth-client lines themselves (real and
 * fake) and the client's search for its descriptor cookie.
 *
 * The "encrypted" object may be larger than the generic tokenizer's object
 * limit, so it is cut out and decoded here; the rest of the document goes
 * through netdoc_tokenize() with the object removed (line numbers in errors
 * after the object are therefore counted without its lines).
 */
#include <string.h>

#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/bytes/bytes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#define MSG_BEGIN "-----BEGIN MESSAGE-----"
#define MSG_END "-----END MESSAGE-----"

enum { K_AUTH_TYPE, K_EPHEMERAL, K_AUTH_CLIENT, K_ENCRYPTED };

static const netdoc_rule_t layer1_rules[] = {
  { "desc-auth-type", K_AUTH_TYPE, NETDOC_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "desc-auth-ephemeral-key", K_EPHEMERAL, NETDOC_ONCE, 1, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "auth-client", K_AUTH_CLIENT, NETDOC_ONCE_OR_MORE, 3, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "encrypted", K_ENCRYPTED, NETDOC_ONCE, 0, 0, NETDOC_OBJ_FORBIDDEN, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

void
hs_desc_layer1_free_(hs_desc_layer1_t *l)
{
  if (!l)
    return;
  if (l->clients)
    al_free_secret(l->clients, l->n_clients * sizeof(*l->clients));
  al_free(l->encrypted);
  memwipe(l, sizeof(*l));
  al_free_(l);
}

/* The line s[0..n) (no NL) equals lit. */
static int
line_is(const char *s, size_t n, const char *lit)
{
  return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* Cut the "encrypted" item with its MESSAGE object out of doc[0..len):
 * *kw_end gets the offset just after the "encrypted\n" line, *obj_end the
 * offset just after the END line; the object is decoded into l.  Returns 1
 * when found, 0 when there is no "encrypted" line, or an error. */
static int
layer1_cut_message(const char *doc, size_t len, size_t *kw_end, size_t *obj_end,
                   hs_desc_layer1_t *l, netdoc_err_t *err)
{
  size_t pos = 0;
  int lineno = 1, state = 0;        /* 0 looking, 1 want BEGIN, 2 in body */
  size_t body_start = 0;
  while (pos < len) {
    const char *nl = memchr(doc + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (doc + pos)) : len - pos;
    const char *line = doc + pos;
    size_t next = pos + n + (nl ? 1 : 0);
    if (state == 0 && line_is(line, n, "encrypted")) {
      *kw_end = next;
      state = 1;
    } else if (state == 1) {
      if (!line_is(line, n, MSG_BEGIN))
        return netdoc_err(err, HS_DESC_ERR_SYNTAX, lineno,
                          "\"encrypted\" without a MESSAGE object");
      body_start = next;
      state = 2;
    } else if (state == 2) {
      if (line_is(line, n, MSG_END)) {
        size_t b64len = (size_t)(line - (doc + body_start));
        size_t cap = b64len / 4 * 3 + 3;
        if (cap > HS_DESC_MAX_BLOB + 3)
          return netdoc_err(err, HS_DESC_ERR_LIMIT, lineno,
                            "encrypted object too large");
        l->encrypted = al_malloc(cap);
        int r = base64_decode(l->encrypted, cap, doc + body_start, b64len);
        if (r <= 0)
          return netdoc_err(err, HS_DESC_ERR_SYNTAX, lineno,
                            "bad base64 in encrypted object");
        l->encrypted_len = (size_t)r;
        *obj_end = next;
        return 1;
      }
      if (n == 0 || n > NETDOC_MAX_OBJ_LINE)
        return netdoc_err(err, HS_DESC_ERR_SYNTAX, lineno,
                          "bad line in encrypted object");
    }
    pos = next;
    lineno++;
  }
  if (state != 0)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, lineno,
                      "unterminated encrypted object");
  return 0;
}

/* Read the fields of the checked tokens into l. */
static int
layer1_fill(hs_desc_layer1_t *l, const netdoc_t *d, netdoc_err_t *err)
{
  const netdoc_token_t *t = netdoc_find(d->tok, d->n_tok, K_AUTH_TYPE);
  if (strcmp(t->args[0], "x25519") != 0)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, t->lineno,
                      "unknown desc-auth-type");
  t = netdoc_find(d->tok, d->n_tok, K_EPHEMERAL);
  if (netdoc_parse_b64(t->args[0], l->ephemeral_key, X25519_KEY_LEN) < 0)
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, t->lineno,
                      "bad desc-auth-ephemeral-key");
  size_t n = 0;
  for (size_t i = 0; i < d->n_tok; i++)
    if (d->tok[i].id == K_AUTH_CLIENT)
      n++;
  if (n > HS_DESC_MAX_AUTH_CLIENTS)
    return netdoc_err(err, HS_DESC_ERR_LIMIT, 0, "too many auth-client lines");
  l->clients = al_calloc(n, sizeof(*l->clients));
  l->n_clients = n;
  size_t k = 0;
  for (size_t i = 0; i < d->n_tok; i++) {
    t = &d->tok[i];
    if (t->id != K_AUTH_CLIENT)
      continue;
    hs_desc_auth_client_t *c = &l->clients[k++];
    if (netdoc_parse_b64(t->args[0], c->client_id, sizeof(c->client_id)) < 0 ||
        netdoc_parse_b64(t->args[1], c->iv, sizeof(c->iv)) < 0 ||
        netdoc_parse_b64(t->args[2], c->encrypted_cookie, sizeof(c->encrypted_cookie)) < 0)
      return netdoc_err(err, HS_DESC_ERR_SYNTAX, t->lineno,
                        "bad auth-client");
  }
  return HS_DESC_OK;
}

int
hs_desc_layer1_parse(const char *s, size_t len, hs_desc_layer1_t **out, netdoc_err_t *err)
{
  if (!out || (!s && len))
    return HS_DESC_ERR_ARG;
  *out = NULL;
  if (len > HS_DESC_MAX_BLOB)
    return netdoc_err(err, HS_DESC_ERR_LIMIT, 0, "first layer too large");
  if (len == 0 || memchr(s, '\0', len))
    return netdoc_err(err, HS_DESC_ERR_SYNTAX, 0, "empty first layer or NUL byte");
  hs_desc_layer1_t *l = al_calloc(1, sizeof(*l));
  size_t kw_end = 0, obj_end = 0;
  int rv = layer1_cut_message(s, len, &kw_end, &obj_end, l, err);
  if (rv == 0)
    rv = netdoc_err(err, HS_DESC_ERR_SYNTAX, 0, "no \"encrypted\" item");
  netdoc_t *d = NULL;
  if (rv == 1) {
    /* The document without the object, with a final NL. */
    size_t rest = len - obj_end;
    char *txt = al_malloc(kw_end + rest + 2);
    memcpy(txt, s, kw_end);
    memcpy(txt + kw_end, s + obj_end, rest);
    size_t tl = kw_end + rest;
    if (txt[tl - 1] != '\n')
      txt[tl++] = '\n';
    txt[tl] = '\0';
    rv = netdoc_tokenize(txt, tl, 0, &d, err);
    if (rv == 0)
      rv = netdoc_check_rules(d->tok, d->n_tok, layer1_rules, err);
    if (rv == 0)
      rv = layer1_fill(l, d, err);
    netdoc_free(d);
    al_free(txt);
  }
  if (rv != HS_DESC_OK) {
    hs_desc_layer1_free(l);
    return rv == DIRPARSE_ERR_LIMIT ? HS_DESC_ERR_LIMIT : rv < 0 ? rv : HS_DESC_ERR_SYNTAX;
  }
  *out = l;
  return HS_DESC_OK;
}

/* Append base64 of p[0..n) on one line.  As C tor: the ephemeral key padded,
 * the auth-client fields without padding. */
static void
put_b64(bytes_writer_t *w, const uint8_t *p, size_t n, int flags)
{
  char buf[64];
  int r = base64_encode(buf, sizeof(buf), p, n, flags);   /* n <= 32: fits */
  if (r > 0)
    bytes_put_bytes(w, buf, (size_t)r);
}

static void
put_str(bytes_writer_t *w, const char *s)
{
  bytes_put_bytes(w, s, strlen(s));
}

int
hs_desc_layer1_build(const hs_desc_layer1_t *l, char **out, size_t *outlen)
{
  if (!l || !out || !outlen || !l->encrypted || l->encrypted_len == 0 ||
      l->n_clients == 0 || !l->clients)
    return HS_DESC_ERR_ARG;
  *out = NULL;
  *outlen = 0;
  if (l->encrypted_len > HS_DESC_MAX_BLOB || l->n_clients > HS_DESC_MAX_AUTH_CLIENTS)
    return HS_DESC_ERR_LIMIT;
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  put_str(&w, "desc-auth-type x25519\ndesc-auth-ephemeral-key ");
  put_b64(&w, l->ephemeral_key, X25519_KEY_LEN, 0);
  put_str(&w, "\n");
  for (size_t i = 0; i < l->n_clients; i++) {
    const hs_desc_auth_client_t *c = &l->clients[i];
    put_str(&w, "auth-client ");
    put_b64(&w, c->client_id, sizeof(c->client_id), BASE64_FLAG_NOPAD);
    put_str(&w, " ");
    put_b64(&w, c->iv, sizeof(c->iv), BASE64_FLAG_NOPAD);
    put_str(&w, " ");
    put_b64(&w, c->encrypted_cookie, sizeof(c->encrypted_cookie), BASE64_FLAG_NOPAD);
    put_str(&w, "\n");
  }
  put_str(&w, "encrypted\n" MSG_BEGIN "\n");
  size_t bsz = base64_encode_size(l->encrypted_len, BASE64_FLAG_MULTILINE);
  char *b64 = al_malloc(bsz);
  int r = base64_encode(b64, bsz, l->encrypted, l->encrypted_len, BASE64_FLAG_MULTILINE);
  if (r > 0)
    bytes_put_bytes(&w, b64, (size_t)r);
  al_free(b64);
  put_str(&w, MSG_END);
  bytes_put_u8(&w, 0);
  size_t n = 0;
  uint8_t *buf = bytes_writer_steal(&w, &n);
  if (!buf || r <= 0) {
    al_free(buf);
    return HS_DESC_ERR_LIMIT;
  }
  *out = (char *)buf;
  *outlen = n - 1;
  return HS_DESC_OK;
}

/* Uniform index in [0, n) (n > 0). */
static size_t
rand_index(size_t n)
{
  uint64_t lim = UINT64_MAX - UINT64_MAX % n, v;
  do {
    crypto_rand(&v, sizeof(v));
  } while (v >= lim);
  return (size_t)(v % n);
}

int
hs_desc_layer1_set_clients(hs_desc_layer1_t *l, const uint8_t ephemeral_secret[32],
                           const uint8_t (*client_pubs)[X25519_KEY_LEN],
                           size_t n_clients, const uint8_t subcred[HS_DIGEST_LEN],
                           const uint8_t cookie[HS_DESC_COOKIE_LEN])
{
  if (!l || (n_clients && (!client_pubs || !ephemeral_secret || !subcred || !cookie)))
    return HS_DESC_ERR_ARG;
  if (n_clients > HS_DESC_MAX_AUTH_CLIENTS - HS_DESC_AUTH_CLIENT_MULTIPLE)
    return HS_DESC_ERR_LIMIT;
  size_t total = (n_clients + HS_DESC_AUTH_CLIENT_MULTIPLE - 1) /
                 HS_DESC_AUTH_CLIENT_MULTIPLE * HS_DESC_AUTH_CLIENT_MULTIPLE;
  if (total == 0)
    total = HS_DESC_AUTH_CLIENT_MULTIPLE;
  hs_desc_auth_client_t *c = al_calloc(total, sizeof(*c));
  for (size_t i = 0; i < total; i++) {
    crypto_rand(c[i].iv, sizeof(c[i].iv));
    if (i >= n_clients) {             /* fake: random of the right sizes */
      crypto_rand(c[i].client_id, sizeof(c[i].client_id));
      crypto_rand(c[i].encrypted_cookie, sizeof(c[i].encrypted_cookie));
    } else if (hs_client_auth_encrypt_cookie(c[i].client_id, c[i].encrypted_cookie,
                                             ephemeral_secret, client_pubs[i], subcred,
                                             c[i].iv, cookie, HS_DESC_COOKIE_LEN) < 0) {
      al_free_secret(c, total * sizeof(*c));
      return HS_DESC_ERR_ARG;
    }
  }
  for (size_t i = total - 1; i > 0; i--) {   /* Fisher-Yates */
    size_t j = rand_index(i + 1);
    hs_desc_auth_client_t tmp = c[i];
    c[i] = c[j];
    c[j] = tmp;
  }
  if (l->clients)
    al_free_secret(l->clients, l->n_clients * sizeof(*l->clients));
  l->clients = c;
  l->n_clients = total;
  return HS_DESC_OK;
}

int
hs_desc_layer1_find_cookie(const hs_desc_layer1_t *l, const uint8_t client_secret[32],
                           const uint8_t subcred[HS_DIGEST_LEN],
                           uint8_t cookie_out[HS_DESC_COOKIE_LEN])
{
  if (!l || !client_secret || !subcred || !cookie_out)
    return HS_DESC_ERR_ARG;
  uint8_t id[HS_CLIENT_ID_LEN];
  /* The client id does not depend on the IV; compute it once. */
  static const uint8_t zero_iv[HS_CLIENT_AUTH_IV_LEN];
  if (hs_client_auth_decrypt_cookie(id, NULL, client_secret, l->ephemeral_key, subcred,
                                    zero_iv, NULL, 0) < 0)
    return HS_DESC_ERR_AUTH;
  const hs_desc_auth_client_t *mine = NULL;
  for (size_t i = 0; i < l->n_clients; i++)
    if (crypto_memeq(id, l->clients[i].client_id, HS_CLIENT_ID_LEN) && !mine)
      mine = &l->clients[i];
  if (!mine)
    return HS_DESC_ERR_AUTH;
  if (hs_client_auth_decrypt_cookie(id, cookie_out, client_secret, l->ephemeral_key,
                                    subcred, mine->iv, mine->encrypted_cookie,
                                    HS_DESC_COOKIE_LEN) < 0)
    return HS_DESC_ERR_AUTH;
  return HS_DESC_OK;
}
