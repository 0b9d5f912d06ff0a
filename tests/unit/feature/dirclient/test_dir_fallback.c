/* test_dir_fallback.c -- the FallbackDir value parser (tor(1)
 * "FallbackDir ipv4address[:dirport] orport=N id=FINGERPRINT [weight=N]
 * [ipv6=[addr]:orport]"): well-formed lines in tor's and the built-in
 * list's forms, and malformed, truncated and oversized ones. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "allium/feature/dirclient/dir_fallback.h"
#include "allium/lib/malloc/malloc.h"

#define FP "EB0EEE7C95D2B4324115C07FE175CB1D1DF18B99"

static const dir_fallback_t zero;

static void
expect_bad(const char *line, const char *err_part)
{
  dir_fallback_t f;
  char *err = NULL;
  memset(&f, 0x5a, sizeof(f));
  cr_assert_eq(dir_fallback_parse(line, &f, &err), -1, "accepted: %s", line);
  cr_assert_not_null(err, "no message for: %s", line);
  if (err_part)
    cr_assert(strstr(err, err_part), "message \"%s\" lacks \"%s\"", err,
              err_part);
  cr_assert(!memcmp(&f, &zero, sizeof(f)), "not zeroed: %s", line);
  al_free(err);
}

Test(dir_fallback, builtin_form)
{
  dir_fallback_t f;
  char *err = NULL;
  cr_assert_eq(dir_fallback_parse("102.211.56.112 orport=80 id=" FP, &f,
                                  &err), 0);
  cr_assert_null(err);
  const uint8_t ip[4] = { 102, 211, 56, 112 };
  cr_assert_arr_eq(f.ipv4, ip, 4);
  cr_assert_eq(f.orport, 80);
  cr_assert_eq(f.dirport, 0);
  cr_assert_eq(f.weight, 1);
  cr_assert(!f.has_ipv6);
  cr_assert_eq(f.rsa_id[0], 0xEB);
  cr_assert_eq(f.rsa_id[19], 0x99);
}

Test(dir_fallback, tor_manpage_form_any_order)
{
  dir_fallback_t f;
  char *err = NULL;
  cr_assert_eq(dir_fallback_parse(
      "  10.0.0.1:9030\tipv6=[2001:db8::1]:9001 weight=7 id=" FP
      " orport=9001 ", &f, &err), 0, "%s", err ? err : "");
  cr_assert_eq(f.dirport, 9030);
  cr_assert_eq(f.orport, 9001);
  cr_assert_eq(f.weight, 7);
  cr_assert(f.has_ipv6);
  cr_assert_eq(f.ipv6_orport, 9001);
  cr_assert_eq(f.ipv6[0], 0x20);
  cr_assert_eq(f.ipv6[15], 0x01);
  /* lower-case hex is fine */
  cr_assert_eq(dir_fallback_parse("1.2.3.4 orport=1 id="
                                  "eb0eee7c95d2b4324115c07fe175cb1d1df18b99",
                                  &f, NULL), 0);
  cr_assert_eq(f.rsa_id[0], 0xEB);
}

Test(dir_fallback, malformed)
{
  expect_bad(NULL, "no FallbackDir");
  expect_bad("", "empty");
  expect_bad("   \t ", "empty");
  expect_bad("1.2.3.4 id=" FP, "lacks orport");
  expect_bad("1.2.3.4 orport=443", "lacks id");
  expect_bad("orport=443 id=" FP, "address");
  expect_bad("1.2.3 orport=443 id=" FP, "address");
  expect_bad("1.2.3.256 orport=443 id=" FP, "address");
  expect_bad("example.com orport=443 id=" FP, "address");
  expect_bad("[::1]:80 orport=443 id=" FP, "address");
  expect_bad("1.2.3.4: orport=443 id=" FP, "address");
  expect_bad("1.2.3.4:0 orport=443 id=" FP, "address");
  expect_bad("1.2.3.4:65536 orport=443 id=" FP, "address");
  expect_bad("1.2.3.4:80:81 orport=443 id=" FP, "address");
  expect_bad("1.2.3.4 orport=0 id=" FP, "orport");
  expect_bad("1.2.3.4 orport=65536 id=" FP, "orport");
  expect_bad("1.2.3.4 orport= id=" FP, "orport");
  expect_bad("1.2.3.4 orport=-1 id=" FP, "orport");
  expect_bad("1.2.3.4 orport=+80 id=" FP, "orport");
  expect_bad("1.2.3.4 orport=443 id=" FP "0", "id");
  expect_bad("1.2.3.4 orport=443 id=EB0E", "id");
  expect_bad("1.2.3.4 orport=443 id=GB0EEE7C95D2B4324115C07FE175CB1D1DF18B99",
             "id");
  expect_bad("1.2.3.4 orport=443 id=$" FP, "id");
  expect_bad("1.2.3.4 orport=443 id=" FP " weight=0", "weight");
  expect_bad("1.2.3.4 orport=443 id=" FP " weight=1.5", "weight");
  expect_bad("1.2.3.4 orport=443 id=" FP " weight=99999999999", "weight");
  expect_bad("1.2.3.4 orport=443 id=" FP " ipv6=::1:80", "ipv6");
  expect_bad("1.2.3.4 orport=443 id=" FP " ipv6=[::1]", "ipv6");
  expect_bad("1.2.3.4 orport=443 id=" FP " ipv6=[::1]:0", "ipv6");
  expect_bad("1.2.3.4 orport=443 id=" FP " ipv6=[1.2.3.4]:80", "ipv6");
  expect_bad("1.2.3.4 orport=443 id=" FP " ipv6=[]:80", "ipv6");
  expect_bad("1.2.3.4 orport=443 id=" FP " bridge", "unknown");
  expect_bad("1.2.3.4 orport=443 id=" FP " v3ident=" FP, "unknown");
  expect_bad("1.2.3.4 orport=443 orport=444 id=" FP, "twice");
  expect_bad("1.2.3.4 orport=443 id=" FP " id=" FP, "twice");
  expect_bad("1.2.3.4 1.2.3.5 orport=443 id=" FP, "unknown");
}

Test(dir_fallback, truncated_prefixes)
{
  const char *line = "10.0.0.1:9030 orport=9001 id=" FP
                     " weight=7 ipv6=[2001:db8::1]:9001";
  size_t full = strlen(line);
  /* Every prefix that cuts the id (or comes before it) must fail
   * cleanly; later cuts may parse (the flags after id are optional). */
  size_t id_end = strstr(line, FP) - line + 40;
  for (size_t n = 0; n <= full; n++) {
    char buf[256];
    dir_fallback_t f;
    char *err = NULL;
    memcpy(buf, line, n);
    buf[n] = '\0';
    int r = dir_fallback_parse(buf, &f, &err);
    if (n < id_end) {
      cr_assert_eq(r, -1, "prefix %zu accepted", n);
      cr_assert_not_null(err);
      cr_assert(!memcmp(&f, &zero, sizeof(f)));
    } else if (r == 0) {
      cr_assert_null(err);
      cr_assert_eq(f.orport, 9001);
    }
    al_free(err);
  }
}

Test(dir_fallback, oversized)
{
  char big[DIR_FALLBACK_MAX_LINE + 64];
  int n = snprintf(big, sizeof(big), "1.2.3.4 orport=443 id=" FP);
  while ((size_t)n < DIR_FALLBACK_MAX_LINE + 1)
    big[n++] = ' ';
  big[n] = '\0';
  expect_bad(big, "too long");
  /* The longest accepted line still parses. */
  big[DIR_FALLBACK_MAX_LINE] = '\0';
  dir_fallback_t f;
  cr_assert_eq(dir_fallback_parse(big, &f, NULL), 0);
  /* Too many items. */
  expect_bad("1.2.3.4 orport=443 id=" FP " weight=1 ipv6=[::1]:1 a b c d",
             "too many");
}
