/* test_dir_authority.c -- the DirAuthority value parser (tor(1)
 * "DirAuthority [nickname] [flags] ipv4address:dirport fingerprint"). */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/feature/dirclient/dir_authority.h"
#include "allium/lib/malloc/malloc.h"

#define FP "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
#define V3 "330034F98048FAEDF6E72053100735451C70A478"

static const uint8_t fp_bin[20] = {
  0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD,
  0xEF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x01 };
static const uint8_t v3_bin[20] = {
  0x33, 0x00, 0x34, 0xF9, 0x80, 0x48, 0xFA, 0xED, 0xF6, 0xE7,
  0x20, 0x53, 0x10, 0x07, 0x35, 0x45, 0x1C, 0x70, 0xA4, 0x78 };

static void
expect_bad(const char *line, const char *err_part)
{
  dir_authority_t a;
  char *err = NULL;
  memset(&a, 0x5a, sizeof(a));
  cr_assert_eq(dir_authority_parse(line, &a, &err), -1, "accepted: %s", line);
  cr_assert_not_null(err, "no message for: %s", line);
  if (err_part)
    cr_assert(strstr(err, err_part), "message \"%s\" lacks \"%s\"", err,
              err_part);
  cr_assert_eq(a.orport, 0);
  cr_assert_eq(a.has_v3ident, false);
  al_free(err);
}

Test(dir_authority, tornet_form)
{
  dir_authority_t a;
  char *err = NULL;
  cr_assert_eq(dir_authority_parse("auth0 orport=5000 v3ident=" V3
                                   " 127.0.0.1:7000 " FP, &a, &err), 0);
  cr_assert_null(err);
  cr_assert_str_eq(a.nickname, "auth0");
  cr_assert_eq(a.orport, 5000);
  cr_assert_eq(a.dirport, 7000);
  cr_assert_eq(a.has_v3ident, true);
  cr_assert_arr_eq(a.v3ident, v3_bin, 20);
  cr_assert_arr_eq(a.rsa_id, fp_bin, 20);
  const uint8_t lo[4] = { 127, 0, 0, 1 };
  cr_assert_arr_eq(a.ipv4, lo, 4);
  cr_assert(!a.is_bridge_auth && !a.no_v2 && !a.hs);
}

Test(dir_authority, grouped_fingerprint_and_flags)
{
  dir_authority_t a;
  char *err = NULL;
  cr_assert_eq(dir_authority_parse(
      "moria1 orport=9201 no-v2 hs weight=10 ipv6=[2001:db8::1]:9201 "
      "v3ident=" V3 " 128.31.0.39:9231 "
      "ABCD EF01 2345 6789 ABCD ef01 2345 6789 ABCD EF01", &a, &err), 0,
      "%s", err ? err : "");
  cr_assert_str_eq(a.nickname, "moria1");
  cr_assert(a.no_v2 && a.hs);
  cr_assert_eq(a.orport, 9201);
  cr_assert_eq(a.dirport, 9231);
  cr_assert_arr_eq(a.rsa_id, fp_bin, 20);
  const uint8_t ip[4] = { 128, 31, 0, 39 };
  cr_assert_arr_eq(a.ipv4, ip, 4);
}

Test(dir_authority, no_nickname_bridge)
{
  dir_authority_t a;
  cr_assert_eq(dir_authority_parse("bridge 10.0.0.1:80 " FP, &a, NULL), 0);
  cr_assert_str_eq(a.nickname, "");
  cr_assert(a.is_bridge_auth);
  cr_assert_eq(a.orport, 0);
  cr_assert_eq(a.has_v3ident, false);
  cr_assert_eq(dir_authority_parse("  10.0.0.1:80\t" FP "  ", &a, NULL), 0);
  cr_assert_eq(a.dirport, 80);
}

Test(dir_authority, bad_lines)
{
  expect_bad("auth0 orport=5000 127.0.0.1:7000", "fingerprint");
  expect_bad("auth0 127.0.0.1:7000 ABCDEF0123456789ABCDEF0123456789ABCDEF0",
             "fingerprint");
  expect_bad("auth0 127.0.0.1:7000 ABCDEF0123456789ABCDEF0123456789ABCDEF0G",
             "fingerprint");
  expect_bad("auth0 127.0.0.1:7000 " FP "00", "fingerprint");
  expect_bad("auth0 127.0.0.1:7000 " FP " ABCD", "fingerprint");
  expect_bad("auth0 127.0.0.1:7000 ABCD EF01 2345 6789 ABCD EF01 2345 6789 "
             "ABCD EF0", "fingerprint");
  expect_bad("auth0 127.0.0.1:70000 " FP, "dirport");
  expect_bad("auth0 127.0.0.1:0 " FP, "dirport");
  expect_bad("auth0 127.0.0.1: " FP, "dirport");
  expect_bad("auth0 127.0.0.1:7a " FP, "dirport");
  expect_bad("auth0 127.0.0.256:7000 " FP, "dirport");
  expect_bad("auth0 orport=0 127.0.0.1:7000 " FP, "orport");
  expect_bad("auth0 orport=65536 127.0.0.1:7000 " FP, "orport");
  expect_bad("auth0 orport=-1 127.0.0.1:7000 " FP, "orport");
  expect_bad("auth0 v3ident=1234 127.0.0.1:7000 " FP, "v3ident");
  expect_bad("auth0 v3ident=" V3 "Z 127.0.0.1:7000 " FP, "v3ident");
  expect_bad("auth0 frobnicate 127.0.0.1:7000 " FP, "unknown");
  expect_bad("auth0 colour=blue 127.0.0.1:7000 " FP, "unknown");
  expect_bad("auth0 weight=x 127.0.0.1:7000 " FP, "weight");
  expect_bad("auth0 ipv6=[::1 127.0.0.1:7000 " FP, "ipv6");
  expect_bad("auth0 ipv6=[zz::1]:80 127.0.0.1:7000 " FP, "ipv6");
  expect_bad("auth0 orport=5000", "address");
  expect_bad("waytoolongnicknameXYZ 127.0.0.1:7000 " FP, "nickname");
  expect_bad("bad-nick 127.0.0.1:7000 " FP, "nickname");
  expect_bad("", "empty");
  expect_bad("   ", "empty");
  expect_bad("[::1]:80 " FP, NULL);
}

Test(dir_authority, oversized)
{
  char big[DIR_AUTHORITY_MAX_LINE + 100];
  memset(big, ' ', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  memcpy(big, "auth0 127.0.0.1:7000 " FP, strlen("auth0 127.0.0.1:7000 " FP));
  expect_bad(big, "too long");
  /* Many short tokens. */
  char many[600] = "auth0";
  for (int i = 0; i < 60; i++)
    strcat(many, " hs");
  strcat(many, " 127.0.0.1:7000 " FP);
  expect_bad(many, "too many");
  expect_bad(NULL, NULL);
}
