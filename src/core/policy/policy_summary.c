/* policy_summary.c -- exit-policy port-list summaries.
 *
 * Implements dir-spec.txt 3.4.1 "p"/"p6" PortList lines and 3.8.2 (encoding
 * port lists): parsing, formatting, port lookup and computing the summary
 * of a full exit policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/policy/policy.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"

#define N_RANGES_MAX (sizeof(((policy_summary_t *)0)->ranges) / \
                      sizeof(((policy_summary_t *)0)->ranges[0]))

/* Parse a port 1..65535 at s[*pos..len); advances *pos. */
static int
parse_port(const char *s, size_t len, size_t *pos, unsigned *out)
{
  size_t i = *pos;
  uint16_t v;
  while (i < len && s[i] >= '0' && s[i] <= '9' && i - *pos < 6)
    i++;
  if (net_port_parse(s + *pos, i - *pos, 1, &v) < 0)
    return -1;
  *pos = i;
  *out = v;
  return 0;
}

int
policy_summary_parse(const char *s, size_t len, policy_summary_t *out)
{
  memset(out, 0, sizeof(*out));
  if (len > POLICY_SUMMARY_MAXLEN)
    return POLICY_E_TOOLONG;
  if (len < 8 || s[6] != ' ')
    return POLICY_E_SYNTAX;
  if (!memcmp(s, "accept", 6))
    out->accept = true;
  else if (!memcmp(s, "reject", 6))
    out->accept = false;
  else
    return POLICY_E_SYNTAX;
  size_t pos = 7;
  unsigned prev_hi = 0;
  for (;;) {
    unsigned lo, hi;
    if (parse_port(s, len, &pos, &lo) < 0)
      return POLICY_E_PORT;
    hi = lo;
    if (pos < len && s[pos] == '-') {
      pos++;
      if (parse_port(s, len, &pos, &hi) < 0)
        return POLICY_E_PORT;
    }
    if (lo > hi || lo <= prev_hi)
      return POLICY_E_PORT;
    if (out->n == N_RANGES_MAX)
      return POLICY_E_TOOLONG;
    out->ranges[out->n].lo = (uint16_t)lo;
    out->ranges[out->n].hi = (uint16_t)hi;
    out->n++;
    prev_hi = hi;
    if (pos == len)
      break;
    if (s[pos] != ',')
      return POLICY_E_SYNTAX;
    pos++;
  }
  return 0;
}

char *
policy_summary_format(const policy_summary_t *s)
{
  size_t cap = 8 + s->n * 12 + 1, len;
  char *buf = al_malloc(cap);
  memcpy(buf, s->accept ? "accept " : "reject ", 7);
  len = 7;
  for (size_t i = 0; i < s->n; i++) {
    unsigned lo = s->ranges[i].lo, hi = s->ranges[i].hi;
    /* merge adjacent / overlapping ranges */
    while (i + 1 < s->n && s->ranges[i + 1].lo <= hi + 1) {
      if (s->ranges[i + 1].hi > hi)
        hi = s->ranges[i + 1].hi;
      i++;
    }
    int w = lo == hi ? snprintf(buf + len, cap - len, "%s%u",
                                len > 7 ? "," : "", lo)
                     : snprintf(buf + len, cap - len, "%s%u-%u",
                                len > 7 ? "," : "", lo, hi);
    len += (size_t)w;
  }
  if (len == 7)
    len = 6;  /* an empty list: just the keyword */
  buf[len] = '\0';
  return buf;
}

bool
policy_summary_allows_port(const policy_summary_t *s, uint16_t port)
{
  if (port == 0)
    return false;
  size_t lo = 0, hi = s->n;
  bool listed = false;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (port < s->ranges[mid].lo) {
      hi = mid;
    } else if (port > s->ranges[mid].hi) {
      lo = mid + 1;
    } else {
      listed = true;
      break;
    }
  }
  return s->accept ? listed : !listed;
}

/* Does rule e decide ports for "most addresses" of family fam? */
static bool
rule_counts(const policy_entry_t *e, int fam)
{
  if (e->family != 0 && e->family != fam)
    return false;
  if (e->family == 0)
    return true;
  if (e->action == POLICY_ACCEPT)
    return e->maskbits == 0;
  return e->maskbits <= 1;
}

/* A run of ports with one decision. */
typedef struct port_run_t {
  uint32_t lo, hi;
  bool accept;
} port_run_t;

/* Length of the text for the list of runs with accept == want, and fill
 * out (ranges, truncated to fit POLICY_SUMMARY_MAXLEN). */
static size_t
build_list(const port_run_t *runs, size_t nruns, bool want,
           policy_summary_t *out)
{
  size_t textlen = 6;  /* "accept" / "reject" */
  out->accept = want;
  out->n = 0;
  for (size_t i = 0; i < nruns; i++) {
    if (runs[i].accept != want)
      continue;
    char tmp[16];
    unsigned lo = runs[i].lo, hi = runs[i].hi;
    int w = lo == hi ? snprintf(tmp, sizeof(tmp), "%u", lo)
                     : snprintf(tmp, sizeof(tmp), "%u-%u", lo, hi);
    size_t add = (size_t)w + 1;  /* separator */
    if (textlen + add <= POLICY_SUMMARY_MAXLEN && out->n < N_RANGES_MAX) {
      out->ranges[out->n].lo = (uint16_t)lo;
      out->ranges[out->n].hi = (uint16_t)hi;
      out->n++;
    }
    textlen += add;
  }
  return textlen;
}

static int
cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Smallest undecided segment >= k (path-compressing "next" links). */
static size_t
next_open(size_t *nxt, size_t k)
{
  size_t r = k;
  while (nxt[r] != r)
    r = nxt[r];
  while (nxt[k] != r) {
    size_t t = nxt[k];
    nxt[k] = r;
    k = t;
  }
  return r;
}

/* Split 1..65535 at every rule boundary into segments; the first rule that
 * counts and covers a segment decides it (rules are applied in order, each
 * segment is decided once).  Merge equal neighbours into runs; returns them
 * (caller frees) and their number in *nruns. */
static port_run_t *
compute_runs(const policy_t *pol, int family, size_t *nruns)
{
  uint32_t *b = al_reallocarray(NULL, 2 * pol->n + 2, sizeof(uint32_t));
  size_t nb = 0;
  b[nb++] = 1;
  b[nb++] = 65536;
  for (size_t i = 0; i < pol->n; i++) {
    if (!rule_counts(&pol->entries[i], family))
      continue;
    b[nb++] = pol->entries[i].port_lo;
    b[nb++] = (uint32_t)pol->entries[i].port_hi + 1;
  }
  qsort(b, nb, sizeof(*b), cmp_u32);
  size_t u = 1;
  for (size_t k = 1; k < nb; k++)
    if (b[k] != b[u - 1])
      b[u++] = b[k];
  size_t nseg = u - 1;  /* segment k: [b[k], b[k+1]) */
  size_t *nxt = al_reallocarray(NULL, nseg + 1, sizeof(size_t));
  uint8_t *acc = al_calloc(nseg + 1, 1);
  for (size_t k = 0; k <= nseg; k++)
    nxt[k] = k;
  for (size_t i = 0; i < pol->n; i++) {
    const policy_entry_t *e = &pol->entries[i];
    if (!rule_counts(e, family))
      continue;
    size_t lo = 0, hi = nseg;  /* find k with b[k] == port_lo */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (b[mid] < e->port_lo)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (size_t k = next_open(nxt, lo); k < nseg && b[k] <= e->port_hi;
         k = next_open(nxt, k + 1)) {
      acc[k] = e->action == POLICY_ACCEPT ? 1 : 2;
      nxt[k] = k + 1;
    }
  }
  port_run_t *runs = al_reallocarray(NULL, nseg, sizeof(*runs));
  size_t nr = 0;
  for (size_t k = 0; k < nseg; k++) {
    bool a = acc[k] != 2;  /* undecided: accepted (dir-spec 2.1.1) */
    if (nr && runs[nr - 1].accept == a) {
      runs[nr - 1].hi = b[k + 1] - 1;
    } else {
      runs[nr].lo = b[k];
      runs[nr].hi = b[k + 1] - 1;
      runs[nr].accept = a;
      nr++;
    }
  }
  al_free(acc);
  al_free(nxt);
  al_free(b);
  *nruns = nr;
  return runs;
}

int
policy_summarize(const policy_t *pol, int family, policy_summary_t *out)
{
  if (family != 4 && family != 6)
    return POLICY_E_FAMILY;
  size_t nruns;
  port_run_t *runs = compute_runs(pol, family, &nruns);
  policy_summary_t *rej = al_malloc(sizeof(*rej));
  size_t alen = build_list(runs, nruns, true, out);
  size_t rlen = build_list(runs, nruns, false, rej);
  if (out->n == 0) {
    /* nothing accepted */
    out->accept = false;
    out->n = 1;
    out->ranges[0].lo = 1;
    out->ranges[0].hi = 65535;
  } else if (rej->n == 0) {
    out->n = 1;
    out->ranges[0].lo = 1;
    out->ranges[0].hi = 65535;
  } else if (rlen < alen && rlen <= POLICY_SUMMARY_MAXLEN) {
    *out = *rej;
  }
  al_free(rej);
  al_free(runs);
  return 0;
}
