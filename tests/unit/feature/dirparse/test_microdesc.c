/* test_microdesc.c -- microdescriptors (dir-spec 3.3) from real tor 0.4.9 and
 * their digests against the real microdesc consensus "m" lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/microdesc.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "fixture.h"

static void
setup(void)
{
  crypto_global_init();
}

static int
batch_exact(const char *s, size_t len, microdesc_t ***l, size_t *n, netdoc_err_t *e)
{
  memset(e, 0, sizeof(*e));
  char *b = fixture_exact(s, len);
  int rv = microdesc_parse_batch(b, len, l, n, e);
  free(b);
  return rv;
}

Test(microdesc, real_batch_matches_consensus, .init = setup)
{
  size_t len, clen, n;
  char *s = fixture_load("microdescs.txt", &len);
  char *cs = fixture_load("consensus-md.txt", &clen);
  microdesc_t **l;
  netdoc_err_t e;
  cr_assert_eq(batch_exact(s, len, &l, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 4);
  consensus_t *c;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(consensus_parse(cs, clen, &c, &e), 0, "%s", e.msg);
  for (size_t i = 0; i < c->n_routers; i++) {
    int found = 0;
    for (size_t k = 0; k < n; k++)
      found += memcmp(l[k]->digest, c->routers[i].md_digest, 32) == 0;
    cr_assert_eq(found, 1, "router %zu has no microdescriptor", i);
  }
  char b64[64];
  base64_encode(b64, sizeof(b64), l[0]->digest, 32, BASE64_FLAG_NOPAD);
  cr_assert_str_eq(b64, "5s1lzL07Aj1wkPDPe4hcmW0glah6WD5ecoL0qXvnvC4");
  cr_assert_not_null(l[0]->onion_key);
  cr_assert(l[0]->has_ed25519_id);
  base64_encode(b64, sizeof(b64), l[0]->ntor_onion_key, 32, BASE64_FLAG_NOPAD);
  cr_assert_str_eq(b64, "/4ArONOG3BCvdgV/wWRQeevDwql8GSsr/eSGXWE1a0E");
  cr_assert_null(l[0]->policy);
  cr_assert_eq(strncmp(l[0]->body, "onion-key\n", 10), 0);
  /* one alone, annotations and all */
  const char *second = strstr(s + 1, "@last-listed");
  microdesc_t *md;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(microdesc_parse(s, (size_t)(second - s), &md, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(md->digest, l[0]->digest, 32), 0);
  microdesc_free(md);
  cr_assert_lt(microdesc_parse(s, len, &md, &e), 0);
  consensus_free(c);
  microdesc_list_free(l, n);
  free(s);
  free(cs);
}

Test(microdesc, without_tap_key_and_with_policies, .init = setup)
{
  const char *doc =
    "ntor-onion-key /4ArONOG3BCvdgV/wWRQeevDwql8GSsr/eSGXWE1a0E\n"
    "a [2001:db8::7]:9001\n"
    "family $0123456789ABCDEF0123456789ABCDEF01234567 friend\n"
    "p accept 80,443,1000-2000\n"
    "p6 reject 1-65535\n"
    "id rsa1024 3NzSS+f+KoQg7nxUwoD0f4QL5aM\n"
    "id ed25519 5PSP8rZ/UdyGB6kv3Q+4re2l/+y2ObWhv2NSv5alPTs\n"
    "id future-key whatever\n"
    "pr Link=4-5 Relay=2-4\n"
    "ntor-onion-key L/M3DhZIuvI1iOtWkoDKMOz/9CArC98va2NyzITck3E\n";
  microdesc_t **l;
  size_t n;
  netdoc_err_t e;
  cr_assert_eq(batch_exact(doc, strlen(doc), &l, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 2);
  cr_assert_null(l[0]->onion_key);
  cr_assert(l[0]->has_ipv6 && l[0]->ipv6_port == 9001);
  cr_assert_eq(l[0]->n_family, 2);
  cr_assert_str_eq(l[0]->family[1], "friend");
  cr_assert_str_eq(l[0]->policy, "accept 80,443,1000-2000");
  cr_assert_str_eq(l[0]->policy6, "reject 1-65535");
  cr_assert(l[0]->has_rsa_id);
  cr_assert_str_eq(l[0]->protocols, "Link=4-5 Relay=2-4");
  cr_assert_eq(l[1]->body_len, strlen("ntor-onion-key L/M3DhZIuvI1iOtWkoDKMOz/9CArC98va2NyzITck3E\n"));
  microdesc_list_free(l, n);
}

static void
expect_error(const char *doc, int line, const char *needle)
{
  microdesc_t **l = NULL;
  size_t n = 0;
  netdoc_err_t e;
  cr_assert_lt(batch_exact(doc, strlen(doc), &l, &n, &e), 0, "accepted: %s", doc);
  cr_assert_null(l);
  cr_assert_eq(e.line, line, "line %d: %s", e.line, e.msg);
  cr_assert_not_null(strstr(e.msg, needle), "%s", e.msg);
}

#define NTOR "ntor-onion-key /4ArONOG3BCvdgV/wWRQeevDwql8GSsr/eSGXWE1a0E\n"

Test(microdesc, errors, .init = setup)
{
  expect_error(NTOR "p accept 80\np accept 443\n", 3, "duplicate");
  expect_error(NTOR "p allow 80\n", 2, "policy");
  expect_error(NTOR "p accept 80,\n", 2, "policy");
  expect_error("ntor-onion-key AAAA\n", 1, "ntor-onion-key");
  expect_error(NTOR "id ed25519 AAAA\n", 2, "ed25519");
  expect_error(NTOR "id rsa1024 3NzSS+f+KoQg7nxUwoD0f4QL5aM\nid rsa1024 3NzSS+f+KoQg7nxUwoD0f4QL5aM\n",
               3, "duplicate");
  expect_error(NTOR "a 1.2.3.4\n", 2, "address");
  expect_error("p accept 80\n", 1, "missing \"ntor-onion-key\"");
  expect_error(NTOR "onion-key\n-----BEGIN RSA PUBLIC KEY-----\nAAEC\n-----END RSA PUBLIC KEY-----\n",
               2, "onion-key");
  expect_error(NTOR "pr\n-----BEGIN X-----\nAAEC\n-----END X-----\n", 2, "unexpected object");
  expect_error(NTOR "@annotation\n", 2, "empty");
}

Test(microdesc, truncations_and_changes, .init = setup)
{
  size_t len;
  char *s = fixture_load("microdescs.txt", &len);
  const char *second = strstr(s + 1, "@last-listed");
  size_t one = (size_t)(second - s);
  uint8_t ref[32];
  microdesc_t *md;
  netdoc_err_t e;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(microdesc_parse(s, one, &md, &e), 0);
  memcpy(ref, md->digest, 32);
  microdesc_free(md);
  for (size_t k = 0; k < one; k++) {
    char *b = fixture_exact(s, k);
    memset(&e, 0, sizeof(e));
    if (microdesc_parse(b, k, &md, &e) == 0) {
      /* only cutting whole trailing lines can still parse: digest differs */
      cr_assert_neq(memcmp(md->digest, ref, 32), 0, "truncation %zu", k);
      microdesc_free(md);
    }
    free(b);
  }
  const char *body = strstr(s, "onion-key");
  for (size_t i = (size_t)(body - s); i < one; i++) {
    char *b = fixture_exact(s, one);
    b[i] = b[i] == 'A' ? 'B' : 'A';
    memset(&e, 0, sizeof(e));
    if (microdesc_parse(b, one, &md, &e) == 0) {
      cr_assert_neq(memcmp(md->digest, ref, 32), 0, "change at %zu", i);
      microdesc_free(md);
    }
    free(b);
  }
  free(s);
}

/* microdesc_parse_each: the good microdescriptors of a batch survive a bad
 * neighbour, whatever is wrong with it. */
static void
each_exact(const char *s, size_t len, microdesc_t ***l, size_t *n, size_t *bad)
{
  char *b = fixture_exact(s, len);
  cr_assert_eq(microdesc_parse_each(b, len, l, n, bad), 0);
  for (size_t i = 0; i < *n; i++)
    cr_assert_not_null((*l)[i]);
  free(b);
}

Test(microdesc, each_matches_strict_batch, .init = setup)
{
  size_t len, n, n2, bad;
  char *s = fixture_load("microdescs.txt", &len);
  microdesc_t **l, **l2;
  netdoc_err_t e;
  cr_assert_eq(batch_exact(s, len, &l, &n, &e), 0, "%s", e.msg);
  each_exact(s, len, &l2, &n2, &bad);
  cr_assert_eq(n2, n);
  cr_assert_eq(bad, 0);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(memcmp(l[i]->digest, l2[i]->digest, 32), 0, "md %zu", i);
    cr_assert_eq(l2[i]->body_len, l[i]->body_len);
  }
  microdesc_list_free(l, n);
  microdesc_list_free(l2, n2);
  /* without annotations, and the second "ntor-onion-key" cut */
  const char *doc = NTOR "p accept 80\n" NTOR "id ed25519 5PSP8rZ/UdyGB6kv3Q+4re2l/+y2ObWhv2NSv5alPTs\n";
  each_exact(doc, strlen(doc), &l2, &n2, &bad);
  cr_assert_eq(n2, 2);
  cr_assert_eq(bad, 0);
  cr_assert_str_eq(l2[0]->policy, "accept 80");
  cr_assert(l2[1]->has_ed25519_id);
  microdesc_list_free(l2, n2);
  free(s);
}

/* Replace, in the second microdescriptor of the fixture, the first
 * occurrence of what by with; returns the new text (caller frees). */
static char *
spoil_second(const char *s, const char *what, const char *with, size_t *len)
{
  const char *second = strstr(s + 1, "@last-listed");
  const char *at = strstr(second, what);
  cr_assert_not_null(at);
  size_t pre = (size_t)(at - s), wl = strlen(what), nl = strlen(with);
  size_t total = strlen(s) - wl + nl;
  char *out = malloc(total + 1);
  memcpy(out, s, pre);
  memcpy(out + pre, with, nl);
  strcpy(out + pre + nl, at + wl);
  *len = total;
  return out;
}

Test(microdesc, each_skips_only_the_bad_one, .init = setup)
{
  size_t len, n, bad;
  char *s = fixture_load("microdescs.txt", &len);
  microdesc_t **ref;
  netdoc_err_t e;
  cr_assert_eq(batch_exact(s, len, &ref, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 4);
  static const struct { const char *what, *with; } spoil[] = {
    { "ntor-onion-key L/M3", "ntor-onion-key !!!!" },            /* bad base64 */
    { "ntor-onion-key L/M3DhZIuvI1iOtWkoDKMOz/9CArC98va2NyzITck3E\n", "" }, /* no ntor */
    { "-----END RSA PUBLIC KEY-----", "-----END RSA PRIVATE KEY-----" },  /* object */
    { "id ed25519", "id\r ed25519" },                             /* CR byte */
    { "MIGJ", "MI\001J" },                                        /* control byte */
    { "ntor-onion-key", "p accept 80\np accept 81\nntor-onion-key" }, /* duplicate */
  };
  for (size_t k = 0; k < sizeof(spoil) / sizeof(spoil[0]); k++) {
    size_t blen;
    char *b = spoil_second(s, spoil[k].what, spoil[k].with, &blen);
    microdesc_t **l;
    size_t m;
    memset(&e, 0, sizeof(e));
    microdesc_t **strict = NULL;
    size_t ns = 0;
    cr_assert_lt(batch_exact(b, blen, &strict, &ns, &e), 0, "case %zu parsed strictly", k);
    each_exact(b, blen, &l, &m, &bad);
    cr_assert_eq(m, 3, "case %zu: %zu good", k, m);
    cr_assert_eq(bad, 1, "case %zu: %zu bad", k, bad);
    cr_assert_eq(memcmp(l[0]->digest, ref[0]->digest, 32), 0);
    cr_assert_eq(memcmp(l[1]->digest, ref[2]->digest, 32), 0);
    cr_assert_eq(memcmp(l[2]->digest, ref[3]->digest, 32), 0);
    microdesc_list_free(l, m);
    free(b);
  }
  /* A NUL byte inside the second one. */
  char *b = malloc(len);
  memcpy(b, s, len);
  char *at = strstr(strstr(b + 1, "@last-listed"), "id ed25519");
  at[2] = '\0';
  microdesc_t **l;
  size_t m;
  cr_assert_eq(microdesc_parse_each(b, len, &l, &m, &bad), 0);
  cr_assert_eq(m, 3);
  cr_assert_eq(bad, 1);
  microdesc_list_free(l, m);
  free(b);
  microdesc_list_free(ref, n);
  free(s);
}

Test(microdesc, each_truncated_oversized_and_empty, .init = setup)
{
  size_t len, n, bad;
  char *s = fixture_load("microdescs.txt", &len);
  microdesc_t **l;
  /* Every truncation keeps the complete microdescriptors before the cut. */
  const char *starts[5];
  starts[0] = s;
  for (int i = 1; i < 4; i++)
    starts[i] = strstr(starts[i - 1] + 1, "@last-listed");
  starts[4] = s + len;
  for (size_t k = 0; k <= len; k++) {
    each_exact(s, k, &l, &n, &bad);
    size_t whole = 0;
    while (whole < 4 && (size_t)(starts[whole + 1] - s) <= k)
      whole++;
    cr_assert_geq(n, whole, "cut at %zu: %zu good, want %zu", k, n, whole);
    cr_assert_leq(n, whole + 1, "cut at %zu", k);
    cr_assert_leq(bad, 1, "cut at %zu", k);
    microdesc_list_free(l, n);
  }
  /* An oversized line in the middle one. */
  size_t big = NETDOC_MAX_LINE + 10;
  char *line = malloc(big + 1);
  memset(line, 'A', big);
  memcpy(line, "family ", 7);
  line[big] = '\0';
  char *with = malloc(big + 40);
  snprintf(with, big + 40, "%s\nntor-onion-key", line);
  size_t blen;
  char *b = spoil_second(s, "ntor-onion-key", with, &blen);
  each_exact(b, blen, &l, &n, &bad);
  cr_assert_eq(n, 3);
  cr_assert_eq(bad, 1);
  microdesc_list_free(l, n);
  free(b);
  free(with);
  free(line);
  /* Empty, blank, garbage, bad calls. */
  cr_assert_eq(microdesc_parse_each(NULL, 0, &l, &n, &bad), 0);
  cr_assert_null(l);
  cr_assert_eq(n + bad, 0);
  each_exact("\n\n", 2, &l, &n, &bad);
  cr_assert_eq(n + bad, 0);
  each_exact("hello\n", 6, &l, &n, &bad);
  cr_assert_eq(n, 0);
  cr_assert_eq(bad, 1);
  cr_assert_null(l);
  cr_assert_eq(microdesc_parse_each(NULL, 5, &l, &n, &bad), DIRPARSE_ERR_ARG);
  cr_assert_eq(microdesc_parse_each("x", 1, NULL, &n, &bad), DIRPARSE_ERR_ARG);
  cr_assert_eq(microdesc_parse_each("x", 1, &l, &n, NULL), DIRPARSE_ERR_ARG);
  free(s);
}

/* proposal 321 "family-ids": kept as strings, unknown formats included;
 * at most one line; an empty line is allowed. */
Test(microdesc, family_ids, .init = setup)
{
  const char *doc = NTOR "family-ids ed25519:zndHU61VlnO7Bltx1y79xazHH0OcEE5h+8+XOB43pLI other:Example\n"
                    NTOR "family-ids\n" NTOR;
  microdesc_t **l;
  size_t n;
  netdoc_err_t e;
  cr_assert_eq(batch_exact(doc, strlen(doc), &l, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 3);
  cr_assert_eq(l[0]->n_family_ids, 2);
  cr_assert_str_eq(l[0]->family_ids[0], "ed25519:zndHU61VlnO7Bltx1y79xazHH0OcEE5h+8+XOB43pLI");
  cr_assert_str_eq(l[0]->family_ids[1], "other:Example");
  cr_assert_eq(l[1]->n_family_ids, 0);
  cr_assert_null(l[2]->family_ids);
  microdesc_list_free(l, n);
  expect_error(NTOR "family-ids a\nfamily-ids b\n", 3, "duplicate");
  expect_error(NTOR "family-ids\n-----BEGIN X-----\nAAEC\n-----END X-----\n", 2, "object");
}
