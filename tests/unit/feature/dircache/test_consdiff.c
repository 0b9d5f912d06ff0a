/* test_consdiff.c -- consensus diffs (src/feature/dircache; dir-spec 4.5,
 * appendix E): diffs generated between real tor 0.4.9 consensuses and
 * edited copies of them apply back exactly (also for hundreds of random
 * edits), and the applier refuses wrong bases, tampered results, commands
 * out of order or range, and malformed or truncated diffs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dircache/consdiff.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#include "feature/dirparse/fixture.h"
#include "feature/dircache/edit.h"

static void
roundtrip(const char *from, const char *to, size_t *diff_len)
{
  char *d = NULL, *res = NULL;
  size_t dl = 0, rl = 0;
  int r = consdiff_generate(from, strlen(from), to, strlen(to), &d, &dl);
  cr_assert_eq(r, 0, "generate: %s", consdiff_strerror(r));
  cr_assert_eq(strlen(d), dl);
  cr_assert(!strncmp(d, "network-status-diff-version 1\nhash ", 35));
  r = consdiff_apply(from, strlen(from), d, dl, &res, &rl);
  cr_assert_eq(r, 0, "apply: %s\n%s", consdiff_strerror(r), d);
  cr_assert_eq(rl, strlen(to));
  cr_assert(!memcmp(res, to, rl));
  if (diff_len)
    *diff_len = dl;
  al_free(d);
  al_free(res);
}

Test(consdiff, digest_as_signed_matches_definition)
{
  size_t len;
  char *c = fixture_load("consensus-md.txt", &len);
  uint8_t d[32], want[32];
  cr_assert_eq(consdiff_digest_as_signed(c, len, d), 0);
  const char *sig = strstr(c, "\ndirectory-signature ");
  digest_sha3_256(want, c, (size_t)(sig - c) + 21);
  cr_assert(!memcmp(d, want, 32));
  cr_assert_eq(consdiff_digest_as_signed("no sigs\n", 8, d),
               CONSDIFF_ERR_INPUT);
  free(c);
}

Test(consdiff, real_consensus_edits_roundtrip)
{
  size_t len, dl;
  char *c = fixture_load("consensus-md.txt", &len);
  char *n = next_consensus(c);
  roundtrip(c, n, &dl);
  cr_assert_lt(dl, strlen(n), "a diff is smaller than the consensus");
  roundtrip(n, c, NULL);    /* adds a router entry back */
  roundtrip(c, c, NULL);    /* identical: signatures deleted and re-added */
  free(n);
  free(c);
  c = fixture_load("consensus-ns.txt", &len);
  n = edit_line(c, "valid-after ", "valid-after 2026-11-24 03:54:40");
  roundtrip(c, n, NULL);
  free(n);
  free(c);
}

Test(consdiff, diff_format_is_back_to_front)
{
  size_t len;
  char *c = fixture_load("consensus-md.txt", &len);
  char *n = next_consensus(c);
  char *d = NULL;
  size_t dl;
  cr_assert_eq(consdiff_generate(c, len, n, strlen(n), &d, &dl), 0);
  /* The first command deletes the signatures: "N,$d" where line N is the
   * first directory-signature line of the old consensus. */
  size_t sig_line = 1;
  for (const char *p = c; p < strstr(c, "\ndirectory-signature "); p++)
    sig_line += *p == '\n';
  char want[32];
  snprintf(want, sizeof(want), "\n%zu,$d\n", sig_line + 1);
  const char *third = strchr(strchr(d, '\n') + 1, '\n');
  cr_assert(!strncmp(third, want, strlen(want)), "%s", d);
  al_free(d);
  free(n);
  free(c);
}

/* Deterministic random edits of the lines between routers' "r" lines. */
Test(consdiff, random_edits_roundtrip)
{
  size_t len;
  char *c = fixture_load("consensus-ns.txt", &len);
  uint32_t seed = 12345;
  for (int round = 0; round < 300; round++) {
    char *cur = strdup(c);
    int n_edits = 1 + round % 7;
    for (int k = 0; k < n_edits; k++) {
      seed = seed * 1103515245u + 12345u;
      static const char *const targets[] = {
        "s ", "v ", "pr ", "w ", "p ", "known-flags", "params", "client-versions",
        "contact ", "directory-footer", "vote-digest", "m ",
      };
      const char *t = targets[(seed >> 8) % 12];
      char line[64];
      snprintf(line, sizeof(line), "x-random %u", seed);
      char nt[32];
      snprintf(nt, sizeof(nt), "\n%s", t);
      const char *p = strstr(cur, nt);
      if (!p)
        continue;
      p++;
      char *next;
      switch ((seed >> 4) % 3) {
      case 0: next = edit_line(cur, t, NULL); break;
      case 1: next = edit_line(cur, t, line); break;
      default: {
        char two[160];
        const char *e = strchr(p, '\n');
        snprintf(two, sizeof(two), "%s\n%.*s", line, (int)(e - p), p);
        next = edit_line(cur, t, two);
      }
      }
      free(cur);
      cur = next;
    }
    roundtrip(c, cur, NULL);
    roundtrip(cur, c, NULL);
    free(cur);
  }
  free(c);
}

Test(consdiff, generate_refuses)
{
  size_t len;
  char *c = fixture_load("consensus-md.txt", &len);
  char *d = NULL;
  size_t dl;
  /* No signatures in from. */
  cr_assert_eq(consdiff_generate("a\n", 2, c, len, &d, &dl),
               CONSDIFF_ERR_INPUT);
  /* A "." line in to. */
  char *dot = edit_line(c, "v Tor", ".");
  cr_assert_eq(consdiff_generate(c, len, dot, strlen(dot), &d, &dl),
               CONSDIFF_ERR_INPUT);
  /* Routers out of order in to (relay0 moved first). */
  char *e1 = edit_line(c, "r relay0 ", NULL);
  char *e2 = edit_line(e1, "r auth1 ", "r relay0 3NzSS+f+KoQg7nxUwoD0f4QL5aM "
                       "2038-01-01 00:00:00 127.0.0.1 17020 0\nm x\n"
                       "r auth1 NEU/6Gj8z7h1qTN5Rqh13DHV+WM 2038-01-01 "
                       "00:00:00 127.0.0.1 17015 17016");
  cr_assert_eq(consdiff_generate(c, len, e2, strlen(e2), &d, &dl),
               CONSDIFF_ERR_INPUT);
  /* No final newline. */
  cr_assert_eq(consdiff_generate(c, len, c, len - 1, &d, &dl),
               CONSDIFF_ERR_INPUT);
  cr_assert_null(d);
  free(e1);
  free(e2);
  free(dot);
  free(c);
}

/* Apply diff text (with "hash" placeholders F and T replaced by the real
 * digests of base and of want) to base. */
static int
apply_crafted(const char *base, const char *want, const char *cmds)
{
  uint8_t f[32], t[32];
  char hf[65], ht[65];
  consdiff_digest_as_signed(base, strlen(base), f);
  digest_sha3_256(t, want, strlen(want));
  base16_encode(hf, sizeof(hf), f, 32);
  base16_encode(ht, sizeof(ht), t, 32);
  char *d = malloc(strlen(cmds) + 200);
  sprintf(d, "network-status-diff-version 1\nhash %s %s\n%s", hf, ht, cmds);
  char *out = NULL;
  size_t ol;
  int r = consdiff_apply(base, strlen(base), d, strlen(d), &out, &ol);
  if (r == 0)
    cr_assert_str_eq(out, want);
  al_free(out);
  free(d);
  return r;
}

#define BASE "l1\nl2\nl3\nl4\ndirectory-signature x\nsig\n"

Test(consdiff, apply_crafted_commands)
{
  cr_assert_eq(apply_crafted(BASE, "l1\nn\nl4\nx\n",
                             "5,$d\n4a\nx\n.\n2,3c\nn\n.\n"), 0);
  cr_assert_eq(apply_crafted(BASE, "A\nl1\nl3\n",
                             "4,$d\n2d\n0a\nA\n.\n"), 0);
  cr_assert_eq(apply_crafted(BASE, "l2\nl3\nl4\n", "5,$d\n1d\n"), 0);
  /* Order: the second command must be before the first. */
  cr_assert_eq(apply_crafted(BASE, "l1\n", "2d\n3d\n"), CONSDIFF_ERR_RANGE);
  cr_assert_eq(apply_crafted(BASE, "l1\n", "2d\n2d\n"), CONSDIFF_ERR_RANGE);
  cr_assert_eq(apply_crafted(BASE, "l1\n", "2a\nx\n.\n2a\ny\n.\n"),
               CONSDIFF_ERR_RANGE);
  cr_assert_eq(apply_crafted(BASE, "l1\n", "0a\nx\n.\n0a\ny\n.\n"),
               CONSDIFF_ERR_RANGE);
  /* Range. */
  cr_assert_eq(apply_crafted(BASE, "l1\n", "7d\n"), CONSDIFF_ERR_RANGE);
  cr_assert_eq(apply_crafted(BASE, "l1\n", "0d\n"), CONSDIFF_ERR_RANGE);
  cr_assert_eq(apply_crafted(BASE, "l1\n", "3,2d\n"), CONSDIFF_ERR_RANGE);
  cr_assert_eq(apply_crafted(BASE, "l1\n", "9,$d\n"), CONSDIFF_ERR_RANGE);
  /* Syntax. */
  static const char *const bad[] = {
    "1,$c\nx\n.\n", "1,2a\nx\n.\n", "1x\n", "d\n", "1 d\n", "1d \n",
    "1c\nunterminated\n", "-1d\n", "1,d\n", "99999999999999999999d\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(apply_crafted(BASE, "l1\n", bad[i]), CONSDIFF_ERR_SYNTAX,
                 "%s", bad[i]);
  /* The result must have the announced digest. */
  cr_assert_eq(apply_crafted(BASE, "l1\n", "5,$d\n"), CONSDIFF_ERR_DIGEST);
}

Test(consdiff, apply_refuses_wrong_base_and_bad_header)
{
  size_t len;
  char *c = fixture_load("consensus-md.txt", &len);
  char *n = next_consensus(c);
  char *d = NULL, *out = NULL;
  size_t dl, ol;
  cr_assert_eq(consdiff_generate(c, len, n, strlen(n), &d, &dl), 0);
  /* Applied to the new one instead of the old one. */
  cr_assert_eq(consdiff_apply(n, strlen(n), d, dl, &out, &ol),
               CONSDIFF_ERR_DIGEST);
  /* Tampered "to" digest. */
  char saved = d[110];
  d[110] = saved == 'A' ? 'B' : 'A';
  cr_assert_eq(consdiff_apply(c, len, d, dl, &out, &ol), CONSDIFF_ERR_DIGEST);
  d[110] = saved;
  /* Every truncation fails cleanly. */
  for (size_t k = 0; k < dl; k += 7) {
    char *t = fixture_exact(d, k);
    int r = consdiff_apply(c, len, t, k, &out, &ol);
    cr_assert_lt(r, 0, "truncated at %zu", k);
    cr_assert_null(out);
    free(t);
  }
  cr_assert_eq(consdiff_apply(c, len, "network-status-diff-version 2\n", 30,
                              &out, &ol), CONSDIFF_ERR_SYNTAX);
  cr_assert_eq(consdiff_apply(c, len, d, dl, &out, &ol), 0);
  cr_assert_str_eq(out, n);
  al_free(out);
  al_free(d);
  free(n);
  free(c);
}
