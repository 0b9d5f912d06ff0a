/* test_consensus.c -- consensus documents (dir-spec 3.4.1, 3.9) from real
 * tor 0.4.9: fields, digests and signatures against the real certificates. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirparse/consensus.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "fixture.h"

static authcert_t **certs;
static size_t n_certs;

static void
setup(void)
{
  crypto_global_init();
  size_t len;
  char *s = fixture_load("certs.txt", &len);
  netdoc_err_t e;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(authcert_parse_list(s, len, &certs, &n_certs, &e), 0, "%s", e.msg);
  free(s);
}

static void
teardown(void)
{
  authcert_list_free(certs, n_certs);
}

static int
parse_exact(const char *s, size_t len, consensus_t **c, netdoc_err_t *e)
{
  memset(e, 0, sizeof(*e));
  char *b = fixture_exact(s, len);
  int rv = consensus_parse(b, len, c, e);
  free(b);
  return rv;
}

/* Replace the first occurrence of from by to; caller frees. */
static char *
edit(const char *s, const char *from, const char *to, size_t *len)
{
  const char *p = strstr(s, from);
  cr_assert_not_null(p, "no '%s'", from);
  size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to), sl = strlen(s);
  char *r = malloc(sl - fl + tl + 1);
  memcpy(r, s, a);
  memcpy(r + a, to, tl);
  memcpy(r + a + tl, p + fl, sl - a - fl + 1);
  *len = sl - fl + tl;
  return r;
}

static void
expect_error(const char *s, const char *from, const char *to, int line, const char *needle)
{
  size_t len;
  char *b = edit(s, from, to, &len);
  consensus_t *c = NULL;
  netdoc_err_t e;
  cr_assert_lt(parse_exact(b, len, &c, &e), 0, "accepted edit '%s'", to);
  cr_assert_null(c);
  cr_assert_eq(e.line, line, "edit '%s': line %d (%s)", to, e.line, e.msg);
  cr_assert_not_null(strstr(e.msg, needle), "edit '%s': %s", to, e.msg);
  free(b);
}

Test(consensus, ns_real, .init = setup, .fini = teardown)
{
  size_t len;
  char *s = fixture_load("consensus-ns.txt", &len);
  consensus_t *c;
  netdoc_err_t e;
  cr_assert_eq(parse_exact(s, len, &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->flavor, CONSENSUS_FLAVOR_NS);
  cr_assert_eq(c->consensus_method, 35);
  cr_assert_eq((long long)c->valid_after, 1795492460LL);
  cr_assert_eq(c->fresh_until - c->valid_after, 20);
  cr_assert_eq(c->valid_until - c->valid_after, 40);
  cr_assert_eq(c->vote_seconds, 4);
  cr_assert_eq(c->dist_seconds, 4);
  cr_assert_eq(c->n_known_flags, 12);
  cr_assert_str_eq(c->client_versions, "");
  cr_assert_eq(c->n_dirsources, 2);
  cr_assert_str_eq(c->dirsources[0].nickname, "auth0");
  cr_assert_str_eq(c->dirsources[0].contact, "tornet@localhost");
  cr_assert_eq(c->dirsources[1].dirport, 17016);
  cr_assert_eq(c->n_routers, 4);
  const consensus_router_t *r = &c->routers[1];
  cr_assert_str_eq(r->nickname, "exit0");
  cr_assert_eq(r->orport, 17025);
  cr_assert(r->flags & CONSENSUS_FLAG_EXIT);
  cr_assert(r->flags & CONSENSUS_FLAG_VALID);
  cr_assert(!(r->flags & CONSENSUS_FLAG_AUTHORITY));
  cr_assert_str_eq(r->version, "Tor 0.4.9.11");
  cr_assert_str_eq(r->policy_summary, "reject 1-65535");
  cr_assert(r->has_bandwidth && r->unmeasured);
  cr_assert_not_null(strstr(r->protocols, "Relay=2-6"));
  cr_assert_eq(consensus_find_router(c, r->identity), r);
  cr_assert_eq(consensus_get_bw_weight(c, "Wgg", -1), 5035);
  cr_assert_eq(consensus_get_bw_weight(c, "Wxx", -1), -1);
  cr_assert_eq(c->n_sigs, 2);
  cr_assert(!c->sigs[0].alg_sha256);
  cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, 0), 2);
  cr_assert(c->sigs[0].verified && c->sigs[1].verified);
  /* with only one certificate, one signature; with the certs expired, none */
  cr_assert_eq(consensus_verify_signatures(c, certs, 1, 0), 1);
  cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, certs[0]->expires + 5), 0);
  cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, c->valid_after), 2);
  cr_assert(consensus_is_live(c, c->valid_after, 0));
  cr_assert(consensus_is_live(c, c->valid_until, 0));
  cr_assert(!consensus_is_live(c, c->valid_until + 1, 0));
  cr_assert(consensus_is_live(c, c->valid_until + 1, 5));
  cr_assert(!consensus_is_live(c, c->valid_after - 1, 0));
  consensus_free(c);
  cr_assert_null(c);
  free(s);
}

Test(consensus, microdesc_real, .init = setup, .fini = teardown)
{
  size_t len;
  char *s = fixture_load("consensus-md.txt", &len);
  consensus_t *c;
  netdoc_err_t e;
  cr_assert_eq(parse_exact(s, len, &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->flavor, CONSENSUS_FLAVOR_MICRODESC);
  cr_assert_eq(c->n_routers, 4);
  cr_assert(c->routers[0].has_md_digest);
  char b64[64];
  base64_encode(b64, sizeof(b64), c->routers[0].md_digest, 32, BASE64_FLAG_NOPAD);
  cr_assert_str_eq(b64, "5s1lzL07Aj1wkPDPe4hcmW0glah6WD5ecoL0qXvnvC4");
  cr_assert_null(c->routers[0].policy_summary);
  cr_assert_eq(c->n_sigs, 2);
  cr_assert(c->sigs[0].alg_known && c->sigs[0].alg_sha256);
  cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, 0), 2);
  consensus_free(c);
  free(s);
}

/* Every one-character change in the signed portion must break both
 * signatures (or the parse). */
static void
check_all_changes(const char *name)
{
  size_t len;
  char *s = fixture_load(name, &len);
  const char *sig = strstr(s, "directory-signature ");
  size_t signed_len = (size_t)(sig - s) + strlen("directory-signature ");
  for (size_t i = 0; i < signed_len; i++) {
    char *b = fixture_exact(s, len);
    char ch = b[i];
    b[i] = ch == '\n' ? ' ' : ch == 'A' ? 'B' : ch == '1' ? '2' : 'A';
    consensus_t *c = NULL;
    netdoc_err_t e;
    memset(&e, 0, sizeof(e));
    if (consensus_parse(b, len, &c, &e) == 0) {
      cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, 0), 0,
                   "%s: change at offset %zu still verifies", name, i);
      consensus_free(c);
    } else {
      cr_assert_gt(e.line, 0, "%s: offset %zu: %s", name, i, e.msg);
    }
    free(b);
  }
  free(s);
}

Test(consensus, any_change_breaks_signatures, .init = setup, .fini = teardown)
{
  check_all_changes("consensus-ns.txt");
  check_all_changes("consensus-md.txt");
}

Test(consensus, truncations_fail_cleanly, .init = setup, .fini = teardown)
{
  size_t len;
  char *s = fixture_load("consensus-md.txt", &len);
  for (size_t k = 0; k < len; k++) {
    consensus_t *c = NULL;
    netdoc_err_t e;
    if (parse_exact(s, k, &c, &e) == 0) {
      /* cutting off the second signature leaves a valid document */
      cr_assert_lt(consensus_verify_signatures(c, certs, n_certs, 0), 2, "len %zu", k);
      consensus_free(c);
    }
  }
  free(s);
}

Test(consensus, structural_errors, .init = setup, .fini = teardown)
{
  size_t len;
  char *s = fixture_load("consensus-md.txt", &len);
  expect_error(s, "fresh-until", "valid-after 2026-11-24 03:54:20\nfresh-until", 5, "duplicate");
  expect_error(s, "known-flags Authority", "xknown-flags Authority", 1, "missing \"known-flags\"");
  expect_error(s, "vote-status consensus", "vote-status vote", 2, "not a consensus");
  expect_error(s, "network-status-version 3 microdesc", "network-status-version 3 foo", 1,
               "flavour");
  expect_error(s, "valid-until 2026-11-24 03:55:00", "valid-until 2026-11-24 03:53:40", 6,
               "order");
  expect_error(s, "valid-after 2026-11-24 03:54:20", "valid-after 2026-11-24 3:54:20", 4,
               "bad time");
  expect_error(s, "voting-delay 4 4", "voting-delay 4", 7, "too few");
  expect_error(s, "consensus-method 35", "consensus-method 35 36", 3, "too many");
  expect_error(s, "s Exit Fast", "s Exit Fast Fancy", 29, "known-flags");
  expect_error(s, "m 3UFNu6vdTiTYbVKmZnNqCTgIW//c2rm3qtGTYX+GAvU",
               "m 3UFNu6vdTiTYbVKmZnNqCTgIW//c2rm3qtGTYX+GAv", 28, "digest");
  expect_error(s, "r exit0 tiG37xrVHYFSqyEYnm7GmsKLYB0",
               "r exit0 AAG37xrVHYFSqyEYnm7GmsKLYB0", 27, "sorted");
  expect_error(s, "w Bandwidth=68 Unmeasured=1\n",
               "w Bandwidth=68 Unmeasured=1\nw Bandwidth=1\n", 33, "duplicate");
  expect_error(s, "w Bandwidth=61", "w Bandwidth=-61", 26, "\"w\"");
  expect_error(s, "contact tornet@localhost\nvote-digest 7F", "vote-digest 7F", 16,
               "vote-digest");
  expect_error(s, "directory-footer\n", "", 55, "directory-footer");
  expect_error(s, "bandwidth-weights", "directory-signature 330034F98048FAEDF6E72053100735451C70A478 "
               "B822944185BF24F1471C78D9E4D4B6CAD310E139\n-----BEGIN SIGNATURE-----\n"
               "AAEC\n-----END SIGNATURE-----\nbandwidth-weights", 50, "after directory-signature");
  expect_error(s, "-----END SIGNATURE-----", "-----END SIGNATUR-----", 55, "does not match");
  expect_error(s, "M5AURGgNSP/0hhbCRit3KHAN", "M5AURGgNSP/0hhbCRit3KH!N", 58, "base64");
  expect_error(s, "r auth1", "s Fast\nr auth1", 21, "authority section");
  free(s);
}

Test(consensus, params_lookup, .init = setup, .fini = teardown)
{
  size_t len;
  char *s = fixture_load("consensus-md.txt", &len);
  char *b = edit(s, "recommended-client-protocols",
                 "params bwweightscale=10000 circwindow=-5 max=2147483647\n"
                 "shared-rand-current-value 3 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
                 "recommended-client-protocols", &len);
  consensus_t *c;
  netdoc_err_t e;
  cr_assert_eq(parse_exact(b, len, &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->n_params, 3);
  cr_assert_eq(consensus_get_param(c, "bwweightscale", 1, 1, INT32_MAX), 10000);
  cr_assert_eq(consensus_get_param(c, "circwindow", 1000, 100, 1000), 100);
  cr_assert_eq(consensus_get_param(c, "max", 0, 0, 500), 500);
  cr_assert_eq(consensus_get_param(c, "absent", 42, 0, 500), 42);
  cr_assert_eq(consensus_get_param(c, "absent", 42, 50, 500), 50);
  cr_assert(c->has_srv_current && c->srv_current_reveals == 3);
  cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, 0), 0);
  consensus_free(c);
  free(b);
  expect_error(s, "recommended-client-protocols", "params b=1 a=2\nrecommended-client-protocols",
               11, "unsorted");
  expect_error(s, "recommended-client-protocols",
               "params a=2147483648\nrecommended-client-protocols", 11, "params");
  expect_error(s, "recommended-client-protocols", "params a\nrecommended-client-protocols", 11,
               "params");
  free(s);
}

Test(consensus, footer_and_authority_variants, .init = setup, .fini = teardown)
{
  size_t len;
  char *s = fixture_load("consensus-md.txt", &len);
  /* a signature with an unknown algorithm is kept but ignored */
  size_t blen;
  char *b = edit(s, "-----END SIGNATURE-----\ndirectory-signature sha256 96",
                 "-----END SIGNATURE-----\ndirectory-signature sha3-512 whatever else\n"
                 "-----BEGIN SIGNATURE-----\nAAEC\n-----END SIGNATURE-----\n"
                 "directory-signature sha256 96", &blen);
  consensus_t *c;
  netdoc_err_t e;
  cr_assert_eq(parse_exact(b, blen, &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->n_sigs, 3);
  cr_assert(!c->sigs[1].alg_known);
  cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, 0), 2);
  cr_assert(!c->sigs[1].verified);
  consensus_free(c);
  free(b);
  /* the same authority signing twice counts once */
  const char *s1 = strstr(s, "directory-signature ");
  const char *s2 = strstr(s1 + 1, "directory-signature ");
  size_t l1 = (size_t)(s2 - s1);
  char *dup = malloc(len + l1);
  memcpy(dup, s, len);
  memcpy(dup + len, s1, l1);
  cr_assert_eq(parse_exact(dup, len + l1, &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->n_sigs, 3);
  cr_assert_eq(consensus_verify_signatures(c, certs, n_certs, 0), 2);
  cr_assert(c->sigs[2].verified);
  consensus_free(c);
  free(dup);
  /* a legacy dir-source has no contact or vote-digest */
  b = edit(s, "dir-source auth1", "dir-source auth0-legacy 00112233445566778899AABBCCDDEEFF00112233 "
           "127.0.0.1 127.0.0.1 17011 17010\ndir-source auth1", &blen);
  cr_assert_eq(parse_exact(b, blen, &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->n_dirsources, 3);
  cr_assert(c->dirsources[1].is_legacy);
  cr_assert_null(c->dirsources[1].contact);
  consensus_free(c);
  free(b);
  expect_error(s, "directory-signature sha256 33", "directory-signature\tsha256 33", 47, "SP");
  expect_error(s, "directory-footer\n", "directory-footer x\n", 45, "too many");
  expect_error(s, "dir-source auth1 96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96 127.0.0.1 127.0.0.1",
               "dir-source auth1 96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96 127.0.0.1 127.0.0.256", 18,
               "dir-source");
  free(s);
}
