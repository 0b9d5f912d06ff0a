/* consdiff_apply.c -- apply a consensus diff (dir-spec.txt 4.5.1 and
 * appendix E), strictly: only "N d", "N,M d", "N,$ d", "N c", "N,M c" and
 * "N a" commands, each referring to lines of the original document, in
 * strictly decreasing order ("The commands MUST apply to the file from back
 * to front"), blocks ended by a "." line; the base must have the digest the
 * "hash" line names and the result must have the other.  Used by the tests
 * of the generator, and usable by a client that asks for diffs.
 */
#include <stdio.h>
#include <string.h>

#include "allium/feature/dircache/consdiff.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#include "consdiff_st.h"

typedef struct cd_cmd_t {
  char op;                     /* 'a', 'c', 'd' */
  size_t s, e;                 /* 1-based range (a: s = e = line) */
  bool to_end;                 /* "N,$d" */
  size_t blk, n_blk;           /* block lines in the diff's line array */
} cd_cmd_t;

/* Decimal number at p[0..len) starting at *i. */
static bool
read_num(const char *p, size_t len, size_t *i, size_t *out)
{
  size_t v = 0, k = *i;
  if (k >= len || p[k] < '0' || p[k] > '9')
    return false;
  for (; k < len && p[k] >= '0' && p[k] <= '9'; k++) {
    if (v > (SIZE_MAX - 9) / 10 || k - *i > 9)
      return false;
    v = v * 10 + (size_t)(p[k] - '0');
  }
  *i = k;
  *out = v;
  return true;
}

/* One command line. */
static int
parse_cmd(const cd_line_t *l, cd_cmd_t *c)
{
  size_t i = 0;
  memset(c, 0, sizeof(*c));
  if (!read_num(l->p, l->len, &i, &c->s))
    return CONSDIFF_ERR_SYNTAX;
  c->e = c->s;
  bool range = false;
  if (i < l->len && l->p[i] == ',') {
    i++;
    range = true;
    if (i < l->len && l->p[i] == '$')
      c->to_end = true, i++;
    else if (!read_num(l->p, l->len, &i, &c->e))
      return CONSDIFF_ERR_SYNTAX;
  }
  if (i + 1 != l->len)
    return CONSDIFF_ERR_SYNTAX;
  c->op = l->p[i];
  if (c->op != 'a' && c->op != 'c' && c->op != 'd')
    return CONSDIFF_ERR_SYNTAX;
  if ((c->op == 'a' && range) || (c->to_end && c->op != 'd'))
    return CONSDIFF_ERR_SYNTAX;
  if (c->op != 'a' && (c->s == 0 || (!c->to_end && c->e < c->s)))
    return CONSDIFF_ERR_RANGE;
  return 0;
}

/* Parse the commands of D from line 2; check their order against a base
 * of nb lines. */
static int
parse_cmds(const cd_lines_t *D, size_t nb, cd_cmd_t **out, size_t *n_out)
{
  cd_cmd_t *c = NULL;
  size_t n = 0, cap = 0;
  size_t lim_dc = nb, lim_a = nb;  /* largest allowed e (d/c), n (a) */
  bool closed = false;             /* "0a" seen: nothing may follow */
  int r = 0;
  for (size_t i = 2; i < D->n && r == 0;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      c = al_reallocarray(c, cap, sizeof(*c));
    }
    cd_cmd_t *k = &c[n++];
    if ((r = parse_cmd(&D->l[i++], k)) < 0)
      break;
    if (k->to_end)
      k->e = nb;
    if (closed ||
        (k->op == 'a' ? k->s > lim_a : (k->e > lim_dc || k->s > k->e))) {
      r = CONSDIFF_ERR_RANGE;
      break;
    }
    if (k->op == 'a') {
      closed = k->s == 0;
      lim_dc = k->s;
      lim_a = k->s ? k->s - 1 : 0;
    } else {
      lim_dc = lim_a = k->s - 1;
    }
    if (k->op == 'd')
      continue;
    k->blk = i;
    while (i < D->n && !(D->l[i].len == 1 && D->l[i].p[0] == '.'))
      i++;
    if (i == D->n) {
      r = CONSDIFF_ERR_SYNTAX;
      break;
    }
    k->n_blk = i - k->blk;
    i++;
  }
  if (r < 0) {
    al_free(c);
    return r;
  }
  *out = c;
  *n_out = n;
  return 0;
}

/* The header lines; fills the two digests. */
static int
parse_header(const cd_lines_t *D, uint8_t from[32], uint8_t to[32])
{
  static const char v1[] = "network-status-diff-version 1";
  if (D->n < 2 || D->l[0].len != sizeof(v1) - 1 ||
      memcmp(D->l[0].p, v1, sizeof(v1) - 1))
    return CONSDIFF_ERR_SYNTAX;
  const cd_line_t *h = &D->l[1];
  if (h->len != 5 + 64 + 1 + 64 || memcmp(h->p, "hash ", 5) ||
      h->p[69] != ' ' || base16_decode_exact(from, 32, h->p + 5, 64) != 0 ||
      base16_decode_exact(to, 32, h->p + 70, 64) != 0)
    return CONSDIFF_ERR_SYNTAX;
  return 0;
}

int
consdiff_apply(const char *base, size_t base_len, const char *diff,
               size_t diff_len, char **out, size_t *out_len)
{
  uint8_t want_from[32], want_to[32], d[32];
  cd_lines_t B = { NULL, 0 }, D = { NULL, 0 };
  cd_cmd_t *c = NULL;
  size_t n = 0;
  bool nl_b, nl_d;
  int r;
  *out = NULL;
  cd_split_lines(base, base_len, &B, &nl_b);
  cd_split_lines(diff, diff_len, &D, &nl_d);
  if (!nl_b || !nl_d) {
    r = CONSDIFF_ERR_SYNTAX;
    goto done;
  }
  if ((r = parse_header(&D, want_from, want_to)) < 0)
    goto done;
  if (consdiff_digest_as_signed(base, base_len, d) < 0 ||
      memcmp(d, want_from, 32)) {
    r = CONSDIFF_ERR_DIGEST;
    goto done;
  }
  if ((r = parse_cmds(&D, B.n, &c, &n)) < 0)
    goto done;
  cd_buf_t b = { NULL, 0, 0 };
  cd_buf_add(&b, "", 0);
  size_t pos = 0;                /* next base line (0-based) to copy */
  for (size_t k = n; k-- > 0;) {
    const cd_cmd_t *m = &c[k];
    size_t upto = m->op == 'a' ? m->s : m->s - 1;
    for (; pos < upto; pos++)
      cd_buf_line(&b, B.l[pos].p, B.l[pos].len);
    for (size_t j = 0; j < m->n_blk; j++)
      cd_buf_line(&b, D.l[m->blk + j].p, D.l[m->blk + j].len);
    if (m->op != 'a')
      pos = m->e;
  }
  for (; pos < B.n; pos++)
    cd_buf_line(&b, B.l[pos].p, B.l[pos].len);
  if (digest_sha3_256(d, b.p, b.len) < 0 || memcmp(d, want_to, 32)) {
    al_free(b.p);
    r = CONSDIFF_ERR_DIGEST;
    goto done;
  }
  *out = b.p;
  *out_len = b.len;
  r = 0;
done:
  al_free(c);
  al_free(B.l);
  al_free(D.l);
  return r;
}
