/* consdiff.c -- generate consensus diffs (dir-spec.txt 4.5.1, appendix E
 * "Limited ed diff format"; proposal 140 section 4).
 *
 * The old consensus's signatures are deleted first ("N,$d", as the spec
 * requires), then the old body is edited into the whole new consensus.  The
 * edit script is found piecewise: the header (lines before the first "r "
 * line), each router entry (an "r " line and the lines up to the next one),
 * matched between the documents by RSA identity in one merge pass (both are
 * sorted by identity, dir-spec 3.4.1), and the footer.  Inside each piece a
 * longest common subsequence (after trimming the common prefix and suffix)
 * gives keep / delete / insert steps; pieces too large for that are
 * replaced wholesale.  Runs of deletes and inserts become d, c and a
 * commands, written back to front.
 */
#include <stdio.h>
#include <string.h>

#include "allium/feature/dircache/consdiff.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#include "consdiff_st.h"

/** Largest LCS table (cells) for one piece. */
#define CD_LCS_MAX_CELLS (4u << 20)

enum { OP_KEEP = 'K', OP_DEL = 'D', OP_INS = 'I' };

void
cd_split_lines(const char *s, size_t len, cd_lines_t *out, bool *ends_nl)
{
  size_t n = 0, cap = 0;
  out->l = NULL;
  *ends_nl = len == 0 || s[len - 1] == '\n';
  for (size_t i = 0; i < len;) {
    const char *nl = memchr(s + i, '\n', len - i);
    size_t l = nl ? (size_t)(nl - (s + i)) : len - i;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      out->l = al_reallocarray(out->l, cap, sizeof(*out->l));
    }
    out->l[n].p = s + i;
    out->l[n].len = l;
    n++;
    i += l + 1;
  }
  out->n = n;
}

void
cd_buf_add(cd_buf_t *b, const char *s, size_t len)
{
  if (b->len + len + 1 > b->cap) {
    b->cap = (b->len + len + 1) * 2;
    b->p = al_realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, len);
  b->len += len;
  b->p[b->len] = '\0';
}

void
cd_buf_line(cd_buf_t *b, const char *s, size_t len)
{
  cd_buf_add(b, s, len);
  cd_buf_add(b, "\n", 1);
}

static bool
line_starts(const cd_line_t *l, const char *kw)
{
  size_t k = strlen(kw);
  return l->len >= k && !memcmp(l->p, kw, k);
}

static bool
line_eq(const cd_line_t *a, const cd_line_t *b)
{
  return a->len == b->len && !memcmp(a->p, b->p, a->len);
}

int
consdiff_digest_as_signed(const char *c, size_t len, uint8_t out[32])
{
  static const char kw[] = "directory-signature ";
  size_t kl = sizeof(kw) - 1;
  for (size_t i = 0; i + kl <= len;) {
    if (!memcmp(c + i, kw, kl))
      return digest_sha3_256(out, c, i + kl) == 0 ? 0 : CONSDIFF_ERR_INPUT;
    const char *nl = memchr(c + i, '\n', len - i);
    if (!nl)
      break;
    i = (size_t)(nl - c) + 1;
  }
  return CONSDIFF_ERR_INPUT;
}

/* ---- pieces ---- */

typedef struct cd_piece_t {
  size_t start, end;           /* line range */
  uint8_t id[20];
} cd_piece_t;

typedef struct cd_doc_t {
  size_t hdr_end;              /* header: [0, hdr_end) */
  cd_piece_t *r;               /* router entries */
  size_t n_r;
  size_t foot_start, foot_end; /* footer */
} cd_doc_t;

/* Identity of an "r nick ID ..." line. */
static int
router_id(const cd_line_t *l, uint8_t id[20])
{
  const char *p = memchr(l->p + 2, ' ', l->len - 2);
  if (!p)
    return -1;
  p++;
  const char *e = memchr(p, ' ', l->len - (size_t)(p - l->p));
  if (!e || e - p != 27)
    return -1;
  return base64_decode(id, 20, p, 27) == 20 ? 0 : -1;
}

/* Split lines [0, n) of L into header, routers sorted by identity, and
 * footer.  -1 if an "r" line is malformed or out of order. */
static int
doc_pieces(const cd_lines_t *L, size_t n, cd_doc_t *d)
{
  memset(d, 0, sizeof(*d));
  size_t i = 0;
  while (i < n && !line_starts(&L->l[i], "r "))
    i++;
  d->hdr_end = i;
  size_t cap = 0;
  while (i < n && line_starts(&L->l[i], "r ")) {
    if (d->n_r == cap) {
      cap = cap ? cap * 2 : 64;
      d->r = al_reallocarray(d->r, cap, sizeof(*d->r));
    }
    cd_piece_t *p = &d->r[d->n_r];
    if (router_id(&L->l[i], p->id) < 0 ||
        (d->n_r && memcmp(d->r[d->n_r - 1].id, p->id, 20) >= 0))
      return -1;
    d->n_r++;
    p->start = i++;
    while (i < n && !line_starts(&L->l[i], "r ") &&
           !line_starts(&L->l[i], "directory-footer") &&
           !line_starts(&L->l[i], "directory-signature"))
      i++;
    p->end = i;
  }
  d->foot_start = i;
  d->foot_end = n;
  return 0;
}

/* ---- edit steps ---- */

typedef struct cd_ops_t {
  char *op;
  size_t n, cap;
} cd_ops_t;

static void
ops_add(cd_ops_t *o, char op, size_t count)
{
  if (o->n + count > o->cap) {
    o->cap = (o->n + count) * 2;
    o->op = al_realloc(o->op, o->cap);
  }
  memset(o->op + o->n, op, count);
  o->n += count;
}

/* Steps turning F[fs, fe) into T[ts, te). */
static void
ops_piece(const cd_lines_t *F, size_t fs, size_t fe, const cd_lines_t *T,
          size_t ts, size_t te, cd_ops_t *o)
{
  size_t pre = 0, suf = 0;
  while (fs + pre < fe && ts + pre < te &&
         line_eq(&F->l[fs + pre], &T->l[ts + pre]))
    pre++;
  while (fe - suf > fs + pre && te - suf > ts + pre &&
         line_eq(&F->l[fe - suf - 1], &T->l[te - suf - 1]))
    suf++;
  ops_add(o, OP_KEEP, pre);
  size_t a = fs + pre, n = fe - suf - a, b = ts + pre, m = te - suf - b;
  if (n == 0 || m == 0 || (uint64_t)(n + 1) * (m + 1) > CD_LCS_MAX_CELLS) {
    ops_add(o, OP_DEL, n);
    ops_add(o, OP_INS, m);
  } else {
    /* L[i][j]: LCS of F[a+i..] and T[b+j..]. */
    uint16_t *L = al_calloc((n + 1) * (m + 1), sizeof(uint16_t));
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;) {
        uint16_t *c = &L[i * (m + 1) + j];
        if (line_eq(&F->l[a + i], &T->l[b + j]))
          *c = (uint16_t)(L[(i + 1) * (m + 1) + j + 1] + 1);
        else {
          uint16_t d = L[(i + 1) * (m + 1) + j], r = L[i * (m + 1) + j + 1];
          *c = d > r ? d : r;
        }
      }
    size_t i = 0, j = 0;
    while (i < n && j < m) {
      if (line_eq(&F->l[a + i], &T->l[b + j])) {
        ops_add(o, OP_KEEP, 1), i++, j++;
      } else if (L[(i + 1) * (m + 1) + j] >= L[i * (m + 1) + j + 1]) {
        ops_add(o, OP_DEL, 1), i++;
      } else {
        ops_add(o, OP_INS, 1), j++;
      }
    }
    ops_add(o, OP_DEL, n - i);
    ops_add(o, OP_INS, m - j);
    al_free(L);
  }
  ops_add(o, OP_KEEP, suf);
}

/* Steps for the whole document: header, routers merged by identity,
 * footer. */
static void
ops_doc(const cd_lines_t *F, const cd_doc_t *df, const cd_lines_t *T,
        const cd_doc_t *dt, cd_ops_t *o)
{
  ops_piece(F, 0, df->hdr_end, T, 0, dt->hdr_end, o);
  size_t i = 0, j = 0;
  while (i < df->n_r || j < dt->n_r) {
    int c = i == df->n_r ? 1 : j == dt->n_r ? -1
            : memcmp(df->r[i].id, dt->r[j].id, 20);
    if (c == 0) {
      ops_piece(F, df->r[i].start, df->r[i].end, T, dt->r[j].start,
                dt->r[j].end, o);
      i++, j++;
    } else if (c < 0) {
      ops_add(o, OP_DEL, df->r[i].end - df->r[i].start);
      i++;
    } else {
      ops_add(o, OP_INS, dt->r[j].end - dt->r[j].start);
      j++;
    }
  }
  ops_piece(F, df->foot_start, df->foot_end, T, dt->foot_start,
            dt->foot_end, o);
}

/* ---- hunks and output ---- */

typedef struct cd_hunk_t {
  size_t f0, f1, t0, t1;       /* replace F[f0, f1) by T[t0, t1) */
} cd_hunk_t;

static cd_hunk_t *
ops_hunks(const cd_ops_t *o, size_t *n_out)
{
  cd_hunk_t *h = NULL;
  size_t n = 0, cap = 0, i = 0, j = 0;
  bool open = false;
  for (size_t k = 0; k <= o->n; k++) {
    char op = k < o->n ? o->op[k] : OP_KEEP;
    if (op == OP_KEEP) {
      if (open)
        h[n - 1].f1 = i, h[n - 1].t1 = j, open = false;
      if (k < o->n)
        i++, j++;
      continue;
    }
    if (!open) {
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        h = al_reallocarray(h, cap, sizeof(*h));
      }
      h[n].f0 = i;
      h[n].t0 = j;
      n++;
      open = true;
    }
    if (op == OP_DEL)
      i++;
    else
      j++;
  }
  *n_out = n;
  return h;
}

static void
emit_hunk(cd_buf_t *b, const cd_hunk_t *h, const cd_lines_t *T)
{
  char cmd[64];
  if (h->f0 == h->f1)
    snprintf(cmd, sizeof(cmd), "%zua", h->f0);
  else if (h->f1 - h->f0 == 1)
    snprintf(cmd, sizeof(cmd), "%zu%c", h->f0 + 1, h->t0 == h->t1 ? 'd' : 'c');
  else
    snprintf(cmd, sizeof(cmd), "%zu,%zu%c", h->f0 + 1, h->f1,
             h->t0 == h->t1 ? 'd' : 'c');
  cd_buf_line(b, cmd, strlen(cmd));
  if (h->t0 == h->t1)
    return;
  for (size_t j = h->t0; j < h->t1; j++)
    cd_buf_line(b, T->l[j].p, T->l[j].len);
  cd_buf_line(b, ".", 1);
}

/* Index of the first "directory-signature" line, or n. */
static size_t
sig_start(const cd_lines_t *L)
{
  for (size_t i = 0; i < L->n; i++)
    if (line_starts(&L->l[i], "directory-signature "))
      return i;
  return L->n;
}

int
consdiff_generate(const char *from, size_t from_len, const char *to,
                  size_t to_len, char **out, size_t *out_len)
{
  uint8_t dfrom[32], dto[32];
  cd_lines_t F = { NULL, 0 }, T = { NULL, 0 };
  cd_doc_t df, dt;
  cd_ops_t ops = { NULL, 0, 0 };
  bool nl_f, nl_t;
  int r = CONSDIFF_ERR_INPUT;
  *out = NULL;
  memset(&df, 0, sizeof(df));
  memset(&dt, 0, sizeof(dt));
  if (consdiff_digest_as_signed(from, from_len, dfrom) < 0 ||
      digest_sha3_256(dto, to, to_len) < 0)
    return CONSDIFF_ERR_INPUT;
  cd_split_lines(from, from_len, &F, &nl_f);
  cd_split_lines(to, to_len, &T, &nl_t);
  size_t sf = sig_start(&F);
  if (!nl_f || !nl_t || sf == F.n || sig_start(&T) == T.n ||
      doc_pieces(&F, sf, &df) < 0 || doc_pieces(&T, T.n, &dt) < 0)
    goto done;
  for (size_t j = 0; j < T.n; j++)
    if (T.l[j].len == 1 && T.l[j].p[0] == '.')
      goto done;
  ops_doc(&F, &df, &T, &dt, &ops);
  size_t n_h = 0;
  cd_hunk_t *h = ops_hunks(&ops, &n_h);
  cd_buf_t b = { NULL, 0, 0 };
  char line[160], hf[65], ht[65];
  base16_encode(hf, sizeof(hf), dfrom, 32);
  base16_encode(ht, sizeof(ht), dto, 32);
  cd_buf_line(&b, "network-status-diff-version 1", 29);
  snprintf(line, sizeof(line), "hash %s %s", hf, ht);
  cd_buf_line(&b, line, strlen(line));
  snprintf(line, sizeof(line), "%zu,$d", sf + 1);
  cd_buf_line(&b, line, strlen(line));
  for (size_t k = n_h; k-- > 0;)
    emit_hunk(&b, &h[k], &T);
  al_free(h);
  *out = b.p;
  *out_len = b.len;
  r = 0;
done:
  al_free(ops.op);
  al_free(df.r);
  al_free(dt.r);
  al_free(F.l);
  al_free(T.l);
  return r;
}

const char *
consdiff_strerror(int err)
{
  switch (err) {
  case 0: return "ok";
  case CONSDIFF_ERR_INPUT: return "not a usable consensus";
  case CONSDIFF_ERR_SYNTAX: return "malformed diff";
  case CONSDIFF_ERR_DIGEST: return "digest mismatch";
  case CONSDIFF_ERR_RANGE: return "command out of range or order";
  default: return "unknown error";
  }
}
