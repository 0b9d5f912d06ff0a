/* test_keycert.c -- authority key certificates (dir-spec 3.1) from real tor. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirparse/keycert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "fixture.h"

static void
setup(void)
{
  crypto_global_init();
}

static int
parse_exact(const char *s, size_t len, authcert_t ***l, size_t *n, netdoc_err_t *e)
{
  memset(e, 0, sizeof(*e));
  char *b = fixture_exact(s, len);
  int rv = authcert_parse_list(b, len, l, n, e);
  free(b);
  return rv;
}

Test(keycert, real_certs_verify, .init = setup)
{
  size_t len, n;
  char *s = fixture_load("certs.txt", &len);
  authcert_t **l;
  netdoc_err_t e;
  cr_assert_eq(parse_exact(s, len, &l, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 2);
  char hex[41];
  base16_encode(hex, sizeof(hex), l[0]->identity_digest, 20);
  cr_assert_str_eq(hex, "96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96");
  base16_encode(hex, sizeof(hex), l[0]->signing_digest, 20);
  cr_assert_str_eq(hex, "B8CA271187FF9D659F54EEE9506745D6819EAFB3");
  base16_encode(hex, sizeof(hex), l[1]->identity_digest, 20);
  cr_assert_str_eq(hex, "330034F98048FAEDF6E72053100735451C70A478");
  cr_assert(l[0]->has_dir_address);
  cr_assert_eq(l[0]->dir_port, 17016);
  cr_assert_eq(l[0]->dir_ipv4[0], 127);
  cr_assert_eq((long long)l[0]->expires - (long long)l[0]->published, 365LL * 86400);
  cr_assert(authcert_is_live(l[0], l[0]->published + 10, 0));
  cr_assert(!authcert_is_live(l[0], l[0]->expires + 10, 0));
  cr_assert_eq(rsa_key_bits(l[0]->identity_key), 3072);
  cr_assert_eq(rsa_key_bits(l[0]->signing_key), 2048);
  authcert_list_free(l, n);
  cr_assert_null(l);

  /* single-certificate entry point */
  const char *second = strstr(s + 1, "dir-key-certificate-version");
  authcert_t *c = NULL;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(authcert_parse(s, (size_t)(second - s), &c, NULL, &e), 0, "%s", e.msg);
  authcert_free(c);
  memset(&e, 0, sizeof(e));
  cr_assert_lt(authcert_parse(s, len, &c, NULL, &e), 0);
  authcert_t **l0 = NULL;
  size_t n0 = 5;
  cr_assert_eq(authcert_parse_list("", 0, &l0, &n0, &e), 0);
  cr_assert_eq(n0, 0);
  free(s);
}

/* Flipping one base64 character anywhere in the first certificate's signed
 * portion (or its signatures) must make it fail. */
Test(keycert, any_change_breaks_it, .init = setup)
{
  size_t len;
  char *s = fixture_load("certs.txt", &len);
  const char *second = strstr(s + 1, "dir-key-certificate-version");
  size_t one = (size_t)(second - s);
  int tested = 0;
  for (size_t i = 0; i < one; i++) {
    char c = s[i];
    if (c == '\n' || c == ' ' || c == '-' || c == '=')
      continue;
    char *b = fixture_exact(s, one);
    b[i] = (c == 'A') ? 'B' : (c >= '0' && c <= '8') ? c + 1 : 'A';
    authcert_t **l = NULL;
    size_t n = 0;
    netdoc_err_t e;
    memset(&e, 0, sizeof(e));
    int rv = authcert_parse_list(b, one, &l, &n, &e);
    cr_assert_lt(rv, 0, "change at offset %zu accepted", i);
    cr_assert_gt(e.line, 0, "offset %zu: %s", i, e.msg);
    free(b);
    tested++;
  }
  cr_assert_gt(tested, 1000);
  free(s);
}

Test(keycert, truncations_fail_cleanly, .init = setup)
{
  size_t len;
  char *s = fixture_load("certs.txt", &len);
  const char *second = strstr(s + 1, "dir-key-certificate-version");
  size_t one = (size_t)(second - s);
  for (size_t k = 0; k < one; k++) {
    authcert_t *c = NULL;
    netdoc_err_t e;
    memset(&e, 0, sizeof(e));
    char *b = fixture_exact(s, k);
    cr_assert_lt(authcert_parse(b, k, &c, NULL, &e), 0, "truncation at %zu accepted", k);
    cr_assert_null(c);
    free(b);
  }
  free(s);
}

Test(keycert, structural_errors, .init = setup)
{
  size_t len;
  char *s = fixture_load("certs.txt", &len);
  const char *second = strstr(s + 1, "dir-key-certificate-version");
  size_t one = (size_t)(second - s);
  authcert_t **l;
  size_t n;
  netdoc_err_t e;
  /* duplicate fingerprint line (line 3 repeated after line 3) */
  const char *fp = strstr(s, "fingerprint");
  size_t fpl = (size_t)(strchr(fp, '\n') + 1 - fp);
  char *b = malloc(one + fpl);
  size_t off = (size_t)(fp - s) + fpl;
  memcpy(b, s, off);
  memcpy(b + off, fp, fpl);
  memcpy(b + off + fpl, s + off, one - off);
  cr_assert_lt(parse_exact(b, one + fpl, &l, &n, &e), 0);
  cr_assert_eq(e.line, 4, "%s", e.msg);
  cr_assert_not_null(strstr(e.msg, "duplicate"));
  /* missing dir-key-published */
  const char *pub = strstr(s, "dir-key-published");
  size_t pl = (size_t)(strchr(pub, '\n') + 1 - pub);
  off = (size_t)(pub - s);
  memcpy(b, s, off);
  memcpy(b + off, s + off + pl, one - off - pl);
  cr_assert_lt(parse_exact(b, one - pl, &l, &n, &e), 0);
  cr_assert_not_null(strstr(e.msg, "missing \"dir-key-published\""), "%s", e.msg);
  /* wrong version */
  memcpy(b, s, one);
  b[strlen("dir-key-certificate-version ")] = '4';
  cr_assert_lt(parse_exact(b, one, &l, &n, &e), 0);
  cr_assert_eq(e.line, 1);
  free(b);
  free(s);
}
