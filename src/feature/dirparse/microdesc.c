/* microdesc.c -- parse microdescriptors (dir-spec 3.3 "Computing
 * microdescriptors", with "onion-key" optional per proposal 350) and compute
 * the SHA-256 digest that microdesc consensus "m" lines (dir-spec 3.9.2)
 * refer to; "family-ids" is proposal 321's happy-family line.  A batch is parsed either strictly (all or nothing) or piece by
 * piece, keeping the good ones (what a client does with a directory
 * response or its cache).  See include/allium/feature/dirparse/microdesc.h.
 */
#include "allium/feature/dirparse/microdesc.h"

#include <stdbool.h>
#include <string.h>

#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

enum { M_ONION_KEY, M_NTOR, M_A, M_FAMILY, M_FAMILY_IDS, M_P, M_P6, M_ID, M_PR };

static const netdoc_rule_t md_rules[] = {
  { "onion-key", M_ONION_KEY, NETDOC_AT_MOST_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, "RSA PUBLIC KEY" },
  { "ntor-onion-key", M_NTOR, NETDOC_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "a", M_A, NETDOC_ANY, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "family", M_FAMILY, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "family-ids", M_FAMILY_IDS, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "p", M_P, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "p6", M_P6, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "id", M_ID, NETDOC_ANY, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "pr", M_PR, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

static int
parse_policy(const netdoc_token_t *t, char **out, netdoc_err_t *err)
{
  if ((strcmp(t->args[0], "accept") != 0 && strcmp(t->args[0], "reject") != 0) ||
      netdoc_check_portlist(t->args[1]) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad policy summary");
  *out = netdoc_join_args(t->args, 2);
  return 0;
}

static int
parse_id(microdesc_t *md, const netdoc_token_t *t, netdoc_err_t *err)
{
  if (strcmp(t->args[0], "rsa1024") == 0) {
    if (md->has_rsa_id || netdoc_parse_b64(t->args[1], md->rsa_id, 20) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad or duplicate id rsa1024");
    md->has_rsa_id = 1;
  } else if (strcmp(t->args[0], "ed25519") == 0) {
    if (md->has_ed25519_id || netdoc_parse_b64(t->args[1], md->ed25519_id, 32) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad or duplicate id ed25519");
    md->has_ed25519_id = 1;
  }
  return 0;
}

static int
md_item(microdesc_t *md, const netdoc_token_t *t, netdoc_err_t *err)
{
  uint8_t addr[16];
  int v6;
  uint16_t port;
  switch (t->id) {
  case M_ONION_KEY:
    md->onion_key = rsa_key_public_from_der(t->obj, t->obj_len);
    if (!md->onion_key || rsa_key_bits(md->onion_key) != 1024 ||
        !rsa_key_exponent_is_65537(md->onion_key))
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad onion-key");
    return 0;
  case M_NTOR:
    if (netdoc_parse_b64(t->args[0], md->ntor_onion_key, 32) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad ntor-onion-key");
    return 0;
  case M_A:
    if (netdoc_parse_addrport(t->args[0], addr, &v6, &port) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad address in \"a\"");
    if (v6 && !md->has_ipv6) {
      memcpy(md->ipv6, addr, 16);
      md->ipv6_port = port;
      md->has_ipv6 = 1;
    }
    return 0;
  case M_FAMILY:
    md->family = al_calloc((size_t)t->n_args + 1, sizeof(char *));
    for (int i = 0; i < t->n_args; i++)
      md->family[md->n_family++] = al_strdup(t->args[i]);
    return 0;
  case M_FAMILY_IDS:
    /* proposal 321: "ed25519:KEY" entries, or formats unknown to us, which
     * are kept too (compared as strings). */
    md->family_ids = al_calloc((size_t)t->n_args + 1, sizeof(char *));
    for (int i = 0; i < t->n_args; i++)
      md->family_ids[md->n_family_ids++] = al_strdup(t->args[i]);
    return 0;
  case M_P: return parse_policy(t, &md->policy, err);
  case M_P6: return parse_policy(t, &md->policy6, err);
  case M_ID: return parse_id(md, t, err);
  case M_PR: md->protocols = netdoc_join_args(t->args, t->n_args); return 0;
  default: return 0;
  }
}

/* One microdescriptor: tok[0..n), maybe starting with annotations. */
static int
md_from_tokens(netdoc_token_t *tok, size_t n, microdesc_t **out, netdoc_err_t *err)
{
  int rv = netdoc_check_rules(tok, n, md_rules, err);
  if (rv < 0)
    return rv;
  size_t first = 0;
  while (tok[first].is_annotation)
    first++;
  for (size_t i = first + 1; i < n; i++)
    if (tok[i].id == M_ONION_KEY)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[i].lineno, "onion-key not first");
  for (size_t i = first + 1; i < n; i++)
    if (tok[i].is_annotation)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[i].lineno, "annotation inside document");
  microdesc_t *md = al_calloc(1, sizeof(*md));
  for (size_t i = first; i < n && rv == 0; i++)
    rv = md_item(md, &tok[i], err);
  if (rv == 0) {
    const char *from = tok[first].line;
    md->body_len = (size_t)(tok[n - 1].end - from);
    md->body = al_strndup(from, md->body_len);
    if (digest_sha256(md->digest, from, md->body_len) < 0)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[first].lineno, "digest failed");
  }
  if (rv < 0) {
    microdesc_free(md);
    return rv;
  }
  *out = md;
  return 0;
}

/* Does token t start a new microdescriptor after the group seen so far? */
static int
starts_new(const netdoc_token_t *t, int has_items, int has_ntor)
{
  if (t->is_annotation || strcmp(t->keyword, "onion-key") == 0)
    return has_items;
  if (strcmp(t->keyword, "ntor-onion-key") == 0)
    return has_ntor;
  return 0;
}

int
microdesc_parse_batch(const char *s, size_t len, microdesc_t ***out, size_t *n,
                      netdoc_err_t *err)
{
  if (!out || !n)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  *n = 0;
  netdoc_t *d = NULL;
  int rv = netdoc_tokenize(s, len, NETDOC_F_ANNOTATIONS, &d, err);
  if (rv < 0)
    return rv;
  microdesc_t **l = NULL;
  size_t cnt = 0, start = 0;
  int has_items = 0, has_ntor = 0;
  for (size_t i = 0; i <= d->n_tok && rv == 0; i++) {
    if (i < d->n_tok && !starts_new(&d->tok[i], has_items, has_ntor)) {
      if (!d->tok[i].is_annotation)
        has_items = 1;
      if (strcmp(d->tok[i].keyword, "ntor-onion-key") == 0)
        has_ntor = 1;
      continue;
    }
    if (i > start) {
      microdesc_t *md = NULL;
      if ((rv = md_from_tokens(d->tok + start, i - start, &md, err)) < 0)
        break;
      l = al_reallocarray(l, cnt + 1, sizeof(*l));
      l[cnt++] = md;
    }
    start = i;
    has_items = i < d->n_tok && !d->tok[i].is_annotation;
    has_ntor = i < d->n_tok && strcmp(d->tok[i].keyword, "ntor-onion-key") == 0;
  }
  netdoc_free(d);
  if (rv < 0) {
    microdesc_list_free(l, cnt);
    return rv;
  }
  *out = l;
  *n = cnt;
  return 0;
}

/* Length of the keyword at the start of line p (up to SP, TAB or NL). */
static size_t
line_keyword_len(const char *p, const char *end)
{
  size_t k = 0;
  while (p + k < end && p[k] != ' ' && p[k] != '\t' && p[k] != '\n')
    k++;
  return k;
}

static bool
keyword_is(const char *p, size_t k, const char *kw)
{
  return k == strlen(kw) && memcmp(p, kw, k) == 0;
}

static bool
is_blank(const char *p, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (p[i] != '\n' && p[i] != ' ' && p[i] != '\t')
      return false;
  return true;
}

/* End of the piece starting at p: the start of the next line that begins
 * another microdescriptor (the same rule as starts_new(), applied to raw
 * lines so that one malformed piece cannot hide its neighbours), or end. */
static const char *
next_piece(const char *p, const char *end)
{
  bool has_items = false, has_ntor = false;
  while (p < end) {
    size_t k = line_keyword_len(p, end);
    bool annot = *p == '@';
    bool ntor = keyword_is(p, k, "ntor-onion-key");
    if ((has_items && (annot || keyword_is(p, k, "onion-key"))) || (ntor && has_ntor))
      return p;
    if (!annot && k > 0)
      has_items = true;
    has_ntor = has_ntor || ntor;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    p = nl ? nl + 1 : end;
  }
  return end;
}

int
microdesc_parse_each(const char *s, size_t len, microdesc_t ***out, size_t *n,
                     size_t *n_bad)
{
  if (!out || !n || !n_bad || (!s && len))
    return DIRPARSE_ERR_ARG;
  *out = NULL;
  *n = 0;
  *n_bad = 0;
  if (len == 0)
    return 0;
  microdesc_t **l = NULL;
  size_t cnt = 0;
  const char *end = s + len;
  for (const char *p = s; p < end;) {
    const char *q = next_piece(p, end);
    microdesc_t *md = NULL;
    if (is_blank(p, (size_t)(q - p))) {
      /* nothing between two microdescriptors */
    } else if (microdesc_parse(p, (size_t)(q - p), &md, NULL) == 0) {
      l = al_reallocarray(l, cnt + 1, sizeof(*l));
      l[cnt++] = md;
    } else {
      (*n_bad)++;
    }
    p = q;
  }
  *out = l;
  *n = cnt;
  return 0;
}

int
microdesc_parse(const char *s, size_t len, microdesc_t **out, netdoc_err_t *err)
{
  microdesc_t **l = NULL;
  size_t n = 0;
  if (!out)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  int rv = microdesc_parse_batch(s, len, &l, &n, err);
  if (rv < 0)
    return rv;
  if (n != 1) {
    microdesc_list_free(l, n);
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, 1, "expected exactly one microdescriptor");
  }
  *out = l[0];
  al_free(l);
  return 0;
}

void
microdesc_free_(microdesc_t *md)
{
  if (!md)
    return;
  al_free(md->body);
  rsa_key_free(md->onion_key);
  for (size_t i = 0; i < md->n_family; i++)
    al_free(md->family[i]);
  al_free(md->family);
  for (size_t i = 0; i < md->n_family_ids; i++)
    al_free(md->family_ids[i]);
  al_free(md->family_ids);
  al_free(md->policy);
  al_free(md->policy6);
  al_free(md->protocols);
  al_free(md);
}

void
microdesc_list_free_(microdesc_t **l, size_t n)
{
  if (!l)
    return;
  for (size_t i = 0; i < n; i++)
    microdesc_free(l[i]);
  al_free(l);
}
