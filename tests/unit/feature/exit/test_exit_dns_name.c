/* test_exit_dns_name.c -- the exit resolver's pure helpers
 * (src/feature/exit/exit_dns_name.c): which names are resolved (RFC 1035
 * 2.3.4 limits, tor(1) ServerDNSAllowNonRFC953Hostnames, .onion/.exit),
 * reverse-lookup names (RFC 1035 3.5, RFC 3596 2.5), and the TTLs reported
 * and kept (tor 0.4.9's clipping), plus the options helper. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/app/config/options.h"
#include "allium/app/config/options_exit_dns.h"
#include "allium/feature/exit/exit_dns.h"

Test(exit_dns_name, accepted_names)
{
  const char *ok[] = { "a", "example.com", "Example.COM.", "a-b_c.d9",
                       "xn--bcher-kva.example", "onion", "exit",
                       "foo.onion.example", "in-addr.arpa.example" };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    cr_assert_eq(exit_dns_name_check(ok[i], false), EXIT_DNS_OK, "%s", ok[i]);
  char n[256];
  memset(n, 'a', 255);          /* 255 octets, labels of 63 */
  for (int i = 63; i < 255; i += 64)
    n[i] = '.';
  n[255] = '\0';
  cr_assert_eq(exit_dns_name_check(n, false), EXIT_DNS_OK);
}

Test(exit_dns_name, refused_names)
{
  const char *bad[] = { "", ".", "..", "a..b", ".a", "a.b..", "x.onion",
                        "x.ONION", "x.onion.", "a.b.exit", "A.EXIT.",
                        "sp ace", "tab\t", "nl\n", "ex!cl", "a/b", "a:b",
                        "\xc3\xa9t\xc3\xa9", "a\x7f" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(exit_dns_name_check(bad[i], false), EXIT_DNS_INVALID,
                 "name %zu", i);
  cr_assert_eq(exit_dns_name_check(NULL, true), EXIT_DNS_INVALID);
  char n[300];
  memset(n, 'a', 256);
  for (int i = 60; i < 256; i += 61)
    n[i] = '.';
  n[256] = '\0';
  cr_assert_eq(exit_dns_name_check(n, false), EXIT_DNS_INVALID, "256");
  memset(n, 'b', 64);
  n[64] = '\0';
  cr_assert_eq(exit_dns_name_check(n, true), EXIT_DNS_INVALID, "label 64");
  n[63] = '\0';
  cr_assert_eq(exit_dns_name_check(n, true), EXIT_DNS_OK, "label 63");
}

Test(exit_dns_name, non_rfc953_allowed)
{
  cr_assert_eq(exit_dns_name_check("ex!cl.test", true), EXIT_DNS_OK);
  cr_assert_eq(exit_dns_name_check("\xc3\xa9t\xc3\xa9", true), EXIT_DNS_OK);
  cr_assert_eq(exit_dns_name_check("sp ace", true), EXIT_DNS_INVALID);
  cr_assert_eq(exit_dns_name_check("x.onion", true), EXIT_DNS_INVALID);
}

Test(exit_dns_name, reverse_v4)
{
  exit_dns_addr_t a;
  cr_assert_eq(exit_dns_reverse_name_parse("1.0.0.127.in-addr.arpa", &a), 1);
  cr_assert_eq(a.family, 4);
  cr_assert_eq(memcmp(a.addr, "\x7f\x00\x00\x01", 4), 0);
  cr_assert_eq(exit_dns_reverse_name_parse("4.3.2.1.IN-ADDR.ARPA.", &a), 1);
  cr_assert_eq(memcmp(a.addr, "\x01\x02\x03\x04", 4), 0);
  const char *bad[] = { "1.0.127.in-addr.arpa", "1.0.0.0.127.in-addr.arpa",
                        "256.0.0.1.in-addr.arpa", "01.0.0.1.in-addr.arpa",
                        "a.0.0.1.in-addr.arpa", ".0.0.1.in-addr.arpa",
                        "1..0.1.in-addr.arpa", "in-addr.arpa",
                        "1234.0.0.1.in-addr.arpa" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(exit_dns_reverse_name_parse(bad[i], &a), -1, "%s", bad[i]);
  cr_assert_neq(exit_dns_reverse_name_parse("1.2.3.4.in-addr.arpa..", &a), 1);
  cr_assert_eq(exit_dns_reverse_name_parse("www.example.com", &a), 0);
  cr_assert_eq(exit_dns_reverse_name_parse("xin-addr.arpa", &a), 0);
  cr_assert_eq(exit_dns_reverse_name_parse(NULL, &a), 0);
}

Test(exit_dns_name, reverse_v6)
{
  exit_dns_addr_t a;
  const char *n = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0."
                  "1.2.3.4.ip6.arpa";
  cr_assert_eq(exit_dns_reverse_name_parse(n, &a), 1);
  cr_assert_eq(a.family, 6);
  static const uint8_t want[16] = { 0x43, 0x21, 0, 0, 0, 0x01, 0, 0x02,
                                    0, 0x03, 0, 0x04, 0x05, 0x67, 0x89,
                                    0xab };
  cr_assert_eq(memcmp(a.addr, want, 16), 0);
  cr_assert_eq(exit_dns_reverse_name_parse(
                   "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                   "0.0.0.0.IP6.ARPA.", &a), 1);
  cr_assert_eq(a.addr[15], 1);
  const char *bad[] = {
    "1.2.3.ip6.arpa",
    "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
    "10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
    "ip6.arpa",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(exit_dns_reverse_name_parse(bad[i], &a), -1, "%zu", i);
}

Test(exit_dns_name, ttl_clipping)
{
  cr_assert_eq(exit_dns_clip_ttl(0), 300);
  cr_assert_eq(exit_dns_clip_ttl(299), 300);
  cr_assert_eq(exit_dns_clip_ttl(300), 3600);
  cr_assert_eq(exit_dns_clip_ttl(86400), 3600);
  cr_assert_eq(exit_dns_clip_ttl(UINT32_MAX), 3600);
  uint32_t lo = UINT32_MAX, hi = 0;
  for (int i = 0; i < 2000; i++) {
    uint32_t t = exit_dns_fuzzy_ttl(10);
    cr_assert(t >= 60 && t <= 540, "%u", t);
    lo = t < lo ? t : lo;
    hi = t > hi ? t : hi;
    t = exit_dns_fuzzy_ttl(1000);
    cr_assert(t >= 3360 && t <= 3840, "%u", t);
  }
  cr_assert_lt(lo, 150, "fuzz reaches low");
  cr_assert_gt(hi, 450, "fuzz reaches high");
}

Test(exit_dns_name, options_helper)
{
  char *argv[] = { "allium", "--ignore-missing-torrc", "-f",
                   "/nonexistent/allium.conf", "--ServerDNSResolvConfFile",
                   "/tmp/x.conf", "--ServerDNSDetectHijacking", "0",
                   "--ServerDNSTestAddresses", "a.test,b.test",
                   "--ServerDNSAllowNonRFC953Hostnames", "1",
                   "--ServerDNSSearchDomains", "1",
                   "--ServerDNSRandomizeCase", "0", NULL };
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load(16, argv, &o, &err, NULL), 0, "%s", err);
  exit_dns_config_t c;
  options_exit_dns_config(o, &c);
  cr_assert_str_eq(c.resolv_conf, "/tmp/x.conf");
  cr_assert_not(c.detect_hijacking);
  cr_assert_str_eq(c.test_addresses[0], "a.test");
  cr_assert_str_eq(c.test_addresses[1], "b.test");
  cr_assert_null(c.test_addresses[2]);
  cr_assert(c.allow_non_rfc953);
  cr_assert(c.search_domains);
  cr_assert(c.no_randomize_case);
  options_free(o);
  char *argv2[] = { "allium", "--ignore-missing-torrc", "-f",
                    "/nonexistent/allium.conf", NULL };
  cr_assert_eq(options_load(4, argv2, &o, &err, NULL), 0, "%s", err);
  options_exit_dns_config(o, &c);
  cr_assert_null(c.resolv_conf);
  cr_assert(c.detect_hijacking);
  cr_assert_str_eq(c.test_addresses[0], "www.google.com");
  cr_assert_not(c.allow_non_rfc953);
  cr_assert_not(c.search_domains);
  cr_assert_not(c.no_randomize_case);
  options_free(o);
}
