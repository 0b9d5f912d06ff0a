/* netdoc.c -- tokenizer and rule checker for the directory document
 * meta-format of dir-spec section 1.2 ("Document meta-format"): keyword lines
 * with arguments, each optionally followed by one PEM-style base64 object,
 * and the multiplicity tags ("At start, exactly once", "At most once", ...)
 * that every document description uses.  See
 * include/allium/feature/dirparse/netdoc.h.
 */
#include "allium/feature/dirparse/netdoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"
#include "allium/lib/time/civil.h"

static const char BEGIN_PFX[] = "-----BEGIN ";
static const char END_PFX[] = "-----END ";
static const char DASHES[] = "-----";

int
netdoc_err(netdoc_err_t *err, int code, int line, const char *fmt, ...)
{
  if (!err || err->msg[0] != '\0')
    return code;
  char tmp[sizeof(err->msg) - 24];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  err->line = line;
  if (line > 0)
    snprintf(err->msg, sizeof(err->msg), "line %d: %s", line, tmp);
  else
    snprintf(err->msg, sizeof(err->msg), "%s", tmp);
  return code;
}

static int
is_alnum(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_kwchar(unsigned char c)
{
  return is_alnum(c) || c == '-';
}

/* Find the line starting at pos: on success *linelen is its length without
 * the NL (the NL is at pos + *linelen).  Rejects NUL, CR and other control
 * characters, overlong lines and a missing final NL. */
static int
next_line(const char *s, size_t len, size_t pos, int lineno, size_t *linelen,
          netdoc_err_t *err)
{
  size_t lim = len - pos;
  if (lim > (size_t)NETDOC_MAX_LINE + 1)
    lim = (size_t)NETDOC_MAX_LINE + 1;
  for (size_t i = 0; i < lim; i++) {
    unsigned char c = (unsigned char)s[pos + i];
    if (c == '\n') {
      *linelen = i;
      return 0;
    }
    if (c == '\0')
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, lineno, "NUL byte");
    if (c == '\r')
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, lineno, "CR byte (CRLF line ending?)");
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, lineno, "control character 0x%02x", c);
  }
  if (pos + lim >= len && lim <= (size_t)NETDOC_MAX_LINE)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, lineno, "missing newline at end of document");
  return netdoc_err(err, DIRPARSE_ERR_LIMIT, lineno, "line longer than %d bytes",
                    NETDOC_MAX_LINE);
}

static void
token_clear(netdoc_token_t *t)
{
  al_free(t->keyword);
  al_free(t->args);
  al_free(t->obj_type);
  if (t->obj)
    memwipe(t->obj, t->obj_len);
  al_free(t->obj);
}

/* Split the keyword line l[0..n) into t (keyword and arguments). */
static int
parse_keyword_line(const char *l, size_t n, int flags, int lineno,
                   netdoc_token_t *t, netdoc_err_t *err)
{
  size_t k = 0;
  if (l[0] == '@' && (flags & NETDOC_F_ANNOTATIONS)) {
    t->is_annotation = 1;
    k = 1;
  }
  if (k >= n || !is_alnum((unsigned char)l[k]))
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, lineno, "line does not start with a keyword");
  while (k < n && is_kwchar((unsigned char)l[k]))
    k++;
  if (k < n && l[k] != ' ' && l[k] != '\t')
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, lineno, "bad character in keyword");
  t->keyword = al_strndup(l, n);
  char *b = t->keyword;
  /* Count and split arguments. */
  int cap = 0;
  for (size_t i = k; i < n; i++) {
    if (b[i] == ' ' || b[i] == '\t') {
      b[i] = '\0';
    } else if (i == k || b[i - 1] == '\0') {
      if (cap >= NETDOC_MAX_ARGS)
        return netdoc_err(err, DIRPARSE_ERR_LIMIT, lineno, "more than %d arguments",
                          NETDOC_MAX_ARGS);
      cap++;
    }
  }
  b[k] = '\0';
  t->args = al_calloc((size_t)cap + 1, sizeof(char *));
  for (size_t i = k + 1; i < n; i++) {
    if (b[i] != '\0' && b[i - 1] == '\0')
      t->args[t->n_args++] = &b[i];
  }
  return 0;
}

static int
is_b64char(unsigned char c)
{
  return is_alnum(c) || c == '+' || c == '/' || c == '=';
}

/* Check "-----<pfx>TYPE-----" in l[0..n); on success type and tlen give TYPE. */
static int
parse_armor(const char *l, size_t n, const char *pfx, const char **type, size_t *tlen)
{
  size_t p = strlen(pfx), d = strlen(DASHES);
  if (n < p + d + 1 || memcmp(l, pfx, p) != 0 || memcmp(l + n - d, DASHES, d) != 0)
    return -1;
  const char *ty = l + p;
  size_t tl = n - p - d;
  if (!is_alnum((unsigned char)ty[0]) || ty[tl - 1] == '-' || ty[tl - 1] == ' ')
    return -1;
  for (size_t i = 0; i < tl; i++) {
    unsigned char c = (unsigned char)ty[i];
    if (c == ' ' ? (ty[i + 1] == ' ' || !is_alnum((unsigned char)ty[i + 1])) : !is_kwchar(c))
      return -1;
  }
  *type = ty;
  *tlen = tl;
  return 0;
}

/* Parse the object starting at *pos (a BEGIN line) into t. */
static int
parse_object(const char *s, size_t len, size_t *pos, int *lineno, int flags,
             netdoc_token_t *t, netdoc_err_t *err)
{
  const size_t maxobj = (flags & NETDOC_F_LARGE_OBJECTS) ? (size_t)NETDOC_MAX_LARGE_OBJECT
                                                         : (size_t)NETDOC_MAX_OBJECT;
  size_t n;
  int rv = next_line(s, len, *pos, *lineno, &n, err);
  if (rv < 0)
    return rv;
  const char *type;
  size_t tlen;
  if (parse_armor(s + *pos, n, BEGIN_PFX, &type, &tlen) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, *lineno, "malformed BEGIN line");
  t->obj_type = al_strndup(type, tlen);
  *pos += n + 1;
  (*lineno)++;
  int first_data_line = *lineno;
  size_t maxb64 = BASE64_ENCODED_LEN(maxobj);
  char *b64 = al_malloc(maxb64 + 1);
  size_t nb = 0;
  for (;;) {
    if (*pos >= len) {
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, *lineno, "object without END line");
      goto out;
    }
    if ((rv = next_line(s, len, *pos, *lineno, &n, err)) < 0)
      goto out;
    const char *l = s + *pos;
    if (n >= 5 && l[0] == '-') {
      const char *et;
      size_t el;
      if (parse_armor(l, n, END_PFX, &et, &el) < 0 || el != tlen ||
          memcmp(et, type, tlen) != 0) {
        rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, *lineno, "END line does not match BEGIN");
        goto out;
      }
      *pos += n + 1;
      (*lineno)++;
      break;
    }
    if (n == 0 || n > NETDOC_MAX_OBJ_LINE) {
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, *lineno, "object line of %zu characters", n);
      goto out;
    }
    for (size_t i = 0; i < n; i++) {
      if (!is_b64char((unsigned char)l[i])) {
        rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, *lineno, "bad base64 character in object");
        goto out;
      }
    }
    if (nb + n > maxb64) {
      rv = netdoc_err(err, DIRPARSE_ERR_LIMIT, *lineno, "object larger than %zu bytes",
                      maxobj);
      goto out;
    }
    memcpy(b64 + nb, l, n);
    nb += n;
    *pos += n + 1;
    (*lineno)++;
  }
  t->obj = al_malloc(nb / 4 * 3 + 3);
  int dl = nb ? base64_decode(t->obj, nb / 4 * 3 + 3, b64, nb) : -1;
  if (dl <= 0 || (size_t)dl > maxobj) {
    rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, first_data_line, "bad base64 in %s object",
                    t->obj_type);
    goto out;
  }
  t->obj_len = (size_t)dl;
  rv = 0;
 out:
  al_free(b64);
  return rv;
}

static void
doc_push(netdoc_t *d, size_t *cap, const netdoc_token_t *t)
{
  if (d->n_tok == *cap) {
    *cap = *cap ? *cap * 2 : 32;
    d->tok = al_reallocarray(d->tok, *cap, sizeof(*d->tok));
  }
  d->tok[d->n_tok++] = *t;
}

int
netdoc_tokenize(const char *s, size_t len, int flags, netdoc_t **out,
                netdoc_err_t *err)
{
  if (!out || (!s && len))
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  netdoc_t *d = al_calloc(1, sizeof(*d));
  d->start = s;
  d->len = len;
  size_t cap = 0, pos = 0, n;
  int lineno = 1, rv;
  while (pos < len) {
    if ((rv = next_line(s, len, pos, lineno, &n, err)) < 0)
      goto fail;
    if (n == 0) {           /* blank line between items */
      pos++;
      lineno++;
      continue;
    }
    netdoc_token_t t;
    memset(&t, 0, sizeof(t));
    t.id = NETDOC_ID_UNKNOWN;
    t.lineno = lineno;
    t.line = s + pos;
    t.eol = s + pos + n;
    if ((rv = parse_keyword_line(s + pos, n, flags, lineno, &t, err)) < 0) {
      token_clear(&t);
      goto fail;
    }
    pos += n + 1;
    lineno++;
    if (len - pos >= sizeof(BEGIN_PFX) - 1 &&
        memcmp(s + pos, BEGIN_PFX, sizeof(BEGIN_PFX) - 1) == 0) {
      if ((rv = parse_object(s, len, &pos, &lineno, flags, &t, err)) < 0) {
        token_clear(&t);
        goto fail;
      }
    } else if (len - pos >= 5 && memcmp(s + pos, DASHES, 5) == 0) {
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, lineno, "malformed BEGIN line");
      token_clear(&t);
      goto fail;
    }
    t.end = s + pos;
    doc_push(d, &cap, &t);
  }
  *out = d;
  return 0;
 fail:
  netdoc_free(d);
  return rv;
}

void
netdoc_free_(netdoc_t *d)
{
  if (!d)
    return;
  for (size_t i = 0; i < d->n_tok; i++)
    token_clear(&d->tok[i]);
  al_free(d->tok);
  al_free(d);
}

static int
check_one(netdoc_token_t *t, const netdoc_rule_t *r, netdoc_err_t *err)
{
  if (t->n_args < r->min_args)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "too few arguments for \"%s\"",
                      r->keyword);
  if (r->max_args != NETDOC_ARGS_ANY && t->n_args > r->max_args)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "too many arguments for \"%s\"",
                      r->keyword);
  if (r->obj == NETDOC_OBJ_REQUIRED && !t->obj)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "\"%s\" needs an object",
                      r->keyword);
  if (r->obj == NETDOC_OBJ_FORBIDDEN && t->obj)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unexpected object after \"%s\"",
                      r->keyword);
  if (t->obj && r->obj_type && strcmp(t->obj_type, r->obj_type) != 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "wrong object type for \"%s\"",
                      r->keyword);
  return 0;
}

static const netdoc_rule_t *
rule_lookup(const netdoc_rule_t *rules, const char *kw, size_t *idx)
{
  for (size_t i = 0; rules[i].keyword; i++) {
    if (strcmp(rules[i].keyword, kw) == 0) {
      *idx = i;
      return &rules[i];
    }
  }
  return NULL;
}

int
netdoc_check_rules(netdoc_token_t *tok, size_t n, const netdoc_rule_t *rules,
                   netdoc_err_t *err)
{
  size_t nrules = 0, first = n, last = n;
  while (rules[nrules].keyword)
    nrules++;
  for (size_t i = 0; i < n; i++) {
    if (tok[i].is_annotation)
      continue;
    if (first == n)
      first = i;
    last = i;
  }
  if (first == n)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, n ? tok[0].lineno : 0, "empty document");
  int *count = al_calloc(nrules ? nrules : 1, sizeof(int));
  int rv = 0;
  for (size_t i = 0; i < n && rv == 0; i++) {
    netdoc_token_t *t = &tok[i];
    size_t ri;
    const netdoc_rule_t *r;
    t->id = NETDOC_ID_UNKNOWN;
    if (t->is_annotation || !(r = rule_lookup(rules, t->keyword, &ri)))
      continue;
    t->id = r->id;
    count[ri]++;
    if (r->count == NETDOC_NEVER)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "\"%s\" not allowed here",
                      r->keyword);
    else if (count[ri] > 1 && r->count != NETDOC_ANY && r->count != NETDOC_ONCE_OR_MORE)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "duplicate \"%s\"", r->keyword);
    else if (r->count == NETDOC_AT_START && i != first)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "\"%s\" must be the first item",
                      r->keyword);
    else if (r->count == NETDOC_AT_END && i != last)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "\"%s\" must be the last item",
                      r->keyword);
    else
      rv = check_one(t, r, err);
  }
  for (size_t ri = 0; ri < nrules && rv == 0; ri++) {
    const netdoc_rule_t *r = &rules[ri];
    if (count[ri] > 0)
      continue;
    if (r->count == NETDOC_AT_START)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[first].lineno,
                      "document does not start with \"%s\"", r->keyword);
    else if (r->count == NETDOC_AT_END)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[last].lineno,
                      "document does not end with \"%s\"", r->keyword);
    else if (r->count == NETDOC_ONCE || r->count == NETDOC_ONCE_OR_MORE)
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[first].lineno,
                      "missing \"%s\" in document starting here", r->keyword);
  }
  al_free(count);
  return rv;
}

const netdoc_token_t *
netdoc_find(const netdoc_token_t *tok, size_t n, int id)
{
  for (size_t i = 0; i < n; i++)
    if (tok[i].id == id)
      return &tok[i];
  return NULL;
}

/* ---- argument helpers ---- */

int
netdoc_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
  int neg = 0;
  if (*s == '-' && min < 0) {
    neg = 1;
    s++;
  }
  size_t n = strlen(s);
  if (n == 0 || n > 18 || (s[0] == '0' && (n > 1 || neg)))
    return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (neg)
    v = -v;
  if (v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

int
netdoc_parse_time(const char *date, const char *hms, time_t *out)
{
  if (strlen(date) != 10 || strlen(hms) != 8)
    return -1;
  char iso[20];
  memcpy(iso, date, 10);
  iso[10] = ' ';
  memcpy(iso + 11, hms, 8);
  iso[19] = '\0';
  return civil_parse_iso(iso, ' ', out);
}

int
netdoc_parse_hex(const char *s, uint8_t *out, size_t n)
{
  return base16_decode_exact(out, n, s, strlen(s));
}

int
netdoc_parse_b64(const char *s, uint8_t *out, size_t n)
{
  size_t sl = strlen(s);
  if (sl > BASE64_ENCODED_LEN(n) || n > 512)
    return -1;
  uint8_t tmp[515];
  int r = base64_decode(tmp, sizeof(tmp), s, sl);
  if (r != (int)n) {
    memwipe(tmp, sizeof(tmp));
    return -1;
  }
  memcpy(out, tmp, n);
  memwipe(tmp, sizeof(tmp));
  return 0;
}

int
netdoc_parse_ipv4(const char *s, uint8_t out[4])
{
  return net_ipv4_parse(s, strlen(s), out) < 0 ? -1 : 0;
}

int
netdoc_parse_addrport(const char *s, uint8_t addr[16], int *is_v6, uint16_t *port)
{
  net_addrport_t ap;
  if (net_addrport_parse(s, strlen(s), NET_AP_ANY, 1, &ap) < 0)
    return -1;
  memcpy(addr, ap.addr, 16);
  *is_v6 = ap.family == 6;
  *port = ap.port;
  return 0;
}

int
netdoc_is_nickname(const char *s)
{
  size_t n = strlen(s);
  if (n < 1 || n > 19)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_alnum((unsigned char)s[i]))
      return 0;
  return 1;
}

int
netdoc_check_portlist(const char *s)
{
  for (;;) {
    int64_t lo, hi;
    char num[8];
    size_t k = strcspn(s, "-,");
    if (k == 0 || k >= sizeof(num))
      return -1;
    memcpy(num, s, k);
    num[k] = '\0';
    if (netdoc_parse_int(num, 1, 65535, &lo) < 0)
      return -1;
    hi = lo;
    s += k;
    if (*s == '-') {
      s++;
      k = strcspn(s, "-,");
      if (k == 0 || k >= sizeof(num) || s[k] == '-')
        return -1;
      memcpy(num, s, k);
      num[k] = '\0';
      if (netdoc_parse_int(num, lo, 65535, &hi) < 0)
        return -1;
      s += k;
    }
    if (*s == '\0')
      return 0;
    s++;   /* ',' */
  }
}

char *
netdoc_join_args(char *const *args, int n)
{
  size_t tot = 1;
  for (int i = 0; i < n; i++)
    tot += strlen(args[i]) + 1;
  char *r = al_malloc(tot), *p = r;
  for (int i = 0; i < n; i++) {
    size_t l = strlen(args[i]);
    if (i)
      *p++ = ' ';
    memcpy(p, args[i], l);
    p += l;
  }
  *p = '\0';
  return r;
}
