/* test_routerdesc.c -- server descriptors (dir-spec 2.1.1) from real tor
 * 0.4.9: parse, verify all signatures, match the consensus digests. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/routerdesc.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "fixture.h"

static void
setup(void)
{
  crypto_global_init();
}

static int
batch_exact(const char *s, size_t len, routerdesc_t ***l, size_t *n, netdoc_err_t *e)
{
  memset(e, 0, sizeof(*e));
  char *b = fixture_exact(s, len);
  int rv = routerdesc_parse_batch(b, len, l, n, e);
  free(b);
  return rv;
}

/* The first descriptor of the fixture (without its annotations). */
static char *
first_desc(size_t *len)
{
  size_t flen;
  char *s = fixture_load("descriptors.txt", &flen);
  const char *a = strstr(s, "router ");
  const char *b = strstr(a, "\n@");
  *len = (size_t)(b + 1 - a);
  char *r = fixture_exact(a, *len);
  free(s);
  return r;
}

Test(routerdesc, real_batch_verifies, .init = setup)
{
  size_t len, clen, n;
  char *s = fixture_load("descriptors.txt", &len);
  routerdesc_t **l;
  netdoc_err_t e;
  cr_assert_eq(batch_exact(s, len, &l, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 10);
  routerdesc_t *rd = l[0];
  cr_assert_str_eq(rd->nickname, "exit0");
  cr_assert_eq(rd->orport, 17025);
  cr_assert_eq(rd->ipv4[0], 127);
  char hex[41];
  base16_encode(hex, sizeof(hex), rd->rsa_id, 20);
  cr_assert_str_eq(hex, "B621B7EF1AD51D8152AB21189E6EC69AC28B601D");
  char b64[64];
  base64_encode(b64, sizeof(b64), rd->master_key.pubkey, 32, BASE64_FLAG_NOPAD);
  cr_assert_str_eq(b64, "cbCaEuyZu8/akbNAamVxIhYA1FyJqyAkPDQyse3Epbc");
  cr_assert_eq(rd->n_policy, 2);
  cr_assert(rd->policy[0].accept);
  cr_assert_str_eq(rd->policy[0].pattern, "127.0.0.1:*");
  cr_assert(!rd->policy[1].accept);
  cr_assert_eq(rd->bw_avg, 1073741824ULL);
  cr_assert_str_eq(rd->platform, "Tor 0.4.9.11 on Linux");
  cr_assert_str_eq(rd->contact, "tornet@localhost");
  cr_assert(rd->tunnelled_dir_server && rd->hidden_service_dir);
  cr_assert_not_null(rd->onion_key);
  cr_assert_gt(rd->cert_expires, rd->published);
  /* every router of the ns consensus has its descriptor here */
  char *cs = fixture_load("consensus-ns.txt", &clen);
  consensus_t *c;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(consensus_parse(cs, clen, &c, &e), 0, "%s", e.msg);
  for (size_t i = 0; i < c->n_routers; i++) {
    int found = 0;
    for (size_t k = 0; k < n; k++)
      if (memcmp(l[k]->digest, c->routers[i].desc_digest, 20) == 0) {
        cr_assert_eq(memcmp(l[k]->rsa_id, c->routers[i].identity, 20), 0);
        found++;
      }
    cr_assert_eq(found, 1, "router %s has no descriptor", c->routers[i].nickname);
  }
  consensus_free(c);
  routerdesc_list_free(l, n);
  free(cs);
  free(s);
}

Test(routerdesc, any_change_breaks_it, .init = setup)
{
  size_t len;
  char *d = first_desc(&len);
  routerdesc_t *rd;
  netdoc_err_t e;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(routerdesc_parse(d, len, &rd, &e), 0, "%s", e.msg);
  routerdesc_free(rd);
  for (size_t i = 0; i < len; i++) {
    char ch = d[i];
    if (ch == '\n')
      continue;
    char *b = fixture_exact(d, len);
    b[i] = ch == 'A' ? 'B' : ch == '1' ? '2' : 'A';
    memset(&e, 0, sizeof(e));
    int rv = routerdesc_parse(b, len, &rd, &e);
    cr_assert_lt(rv, 0, "change at offset %zu accepted", i);
    cr_assert_gt(e.line, 0, "offset %zu: %s", i, e.msg);
    free(b);
  }
  free(d);
}

Test(routerdesc, truncations_fail_cleanly, .init = setup)
{
  size_t len;
  char *d = first_desc(&len);
  for (size_t k = 0; k < len; k++) {
    routerdesc_t *rd = NULL;
    netdoc_err_t e;
    memset(&e, 0, sizeof(e));
    char *b = fixture_exact(d, k);
    cr_assert_lt(routerdesc_parse(b, k, &rd, &e), 0, "truncation at %zu accepted", k);
    cr_assert_null(rd);
    free(b);
  }
  free(d);
}

/* Edit the first descriptor; expect failure at line with needle. */
static void
expect_error(const char *from, const char *to, int line, const char *needle)
{
  size_t len;
  char *d = first_desc(&len);
  const char *p = strstr(d, from);
  cr_assert_not_null(p, "%s", from);
  size_t a = (size_t)(p - d), fl = strlen(from), tl = strlen(to);
  size_t nl = len - fl + tl;
  char *b = malloc(nl);
  memcpy(b, d, a);
  memcpy(b + a, to, tl);
  memcpy(b + a + tl, p + fl, len - a - fl);
  routerdesc_t **l = NULL;
  size_t n = 0;
  netdoc_err_t e;
  cr_assert_lt(batch_exact(b, nl, &l, &n, &e), 0, "accepted '%s'", to);
  cr_assert_eq(e.line, line, "'%s': line %d: %s", to, e.line, e.msg);
  cr_assert_not_null(strstr(e.msg, needle), "%s", e.msg);
  free(b);
  free(d);
}

Test(routerdesc, structural_errors, .init = setup)
{
  expect_error("platform Tor", "published 2026-11-24 03:52:46\nplatform Tor", 12, "duplicate");
  expect_error("proto Conflux", "xproto Conflux", 1, "missing \"proto\"");
  expect_error("router exit0 127.0.0.1 17025 0 0\n", "router exit0 127.0.0.1 17025 0 0\nhibernating 0\n",
               2, "second");
  expect_error("\nrouter-signature\n", "\nx-foo\nrouter-signature\n", 46, "next-to-last");
  expect_error("accept 127.0.0.1:*\n", "accept 127.0.0.1:*\nreject 1.2.3.4/40:*\n", 44,
               "exit pattern");
  expect_error("accept 127.0.0.1:*\nreject *:*\n", "", 1, "no exit policy");
  expect_error("uptime 0", "uptime -1", 13, "number");
  expect_error("router exit0", "router exit_0", 1, "router line");
  expect_error("ntor-onion-key-crosscert 1", "ntor-onion-key-crosscert 0", 34, "ntor-onion-key-crosscert");
  expect_error("ntor-onion-key-crosscert 1", "ntor-onion-key-crosscert 1 2", 34, "too many");
  expect_error("fingerprint B621", "fingerprint B622", 12, "fingerprint");
  expect_error("signing-key\n", "signing-key x\n", 22, "too many");
}
