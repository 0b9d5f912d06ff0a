/* test_exit_parse.c -- the exit's request parsing (exit_parse.h; tor-spec
 * 6.2 BEGIN targets and flags, 6.4 RESOLVE incl. PTR names and RESOLVED
 * bodies, 6.3 END reasons): well-formed, malformed, truncated and oversized
 * input. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/feature/exit/exit_parse.h"

static size_t
begin_body(uint8_t *out, const char *addrport, const uint8_t *flags)
{
  size_t n = strlen(addrport) + 1;
  memcpy(out, addrport, n);
  if (flags) {
    memcpy(out + n, flags, 4);
    n += 4;
  }
  return n;
}

Test(exit_parse, begin_ipv4_literal_without_flags)
{
  uint8_t b[RELAY_BODY_MAX];
  exit_begin_t x;
  size_t n = begin_body(b, "127.0.0.1:8080", NULL);
  cr_assert_eq(exit_begin_parse(b, n, &x), 0);
  cr_assert(!x.is_name);
  cr_assert_eq(x.addr.family, 4);
  cr_assert_eq(x.addr.addr[0], 127);
  cr_assert_eq(x.port, 8080);
  cr_assert(x.ipv4_ok);
  cr_assert(!x.ipv6_ok);
}

Test(exit_parse, begin_ipv6_literal_needs_ipv6_ok)
{
  uint8_t b[RELAY_BODY_MAX];
  exit_begin_t x;
  static const uint8_t ok6[4] = { 0, 0, 0, RELAY_BEGIN_FLAG_IPV6_OK };
  size_t n = begin_body(b, "[2001:db8::1]:443", ok6);
  cr_assert_eq(exit_begin_parse(b, n, &x), 0);
  cr_assert_eq(x.addr.family, 6);
  cr_assert_eq(x.addr.addr[0], 0x20);
  cr_assert_eq(x.addr.addr[15], 1);
  n = begin_body(b, "[2001:db8::1]:443", NULL);
  cr_assert_eq(exit_begin_parse(b, n, &x), EXIT_PARSE_E_FAMILY);
}

Test(exit_parse, begin_ipv4_not_ok_refuses_ipv4_literal)
{
  uint8_t b[RELAY_BODY_MAX];
  exit_begin_t x;
  static const uint8_t f[4] = { 0, 0, 0, RELAY_BEGIN_FLAG_IPV4_NOT_OK |
                                         RELAY_BEGIN_FLAG_IPV6_OK |
                                         RELAY_BEGIN_FLAG_IPV6_PREFERRED };
  size_t n = begin_body(b, "10.1.2.3:80", f);
  cr_assert_eq(exit_begin_parse(b, n, &x), EXIT_PARSE_E_FAMILY);
  n = begin_body(b, "example.com:80", f);
  cr_assert_eq(exit_begin_parse(b, n, &x), 0);
  cr_assert(x.is_name);
  cr_assert_str_eq(x.name, "example.com");
  cr_assert(!x.ipv4_ok);
  cr_assert(x.ipv6_ok);
  cr_assert(x.ipv6_preferred);
}

Test(exit_parse, begin_preferred_without_ok_is_ignored)
{
  uint8_t b[RELAY_BODY_MAX];
  exit_begin_t x;
  static const uint8_t f[4] = { 0, 0, 0, RELAY_BEGIN_FLAG_IPV6_PREFERRED };
  size_t n = begin_body(b, "example.com:80", f);
  cr_assert_eq(exit_begin_parse(b, n, &x), 0);
  cr_assert(!x.ipv6_preferred);
  cr_assert(x.ipv4_ok);
}

Test(exit_parse, begin_names_an_exit_never_resolves)
{
  uint8_t b[RELAY_BODY_MAX];
  exit_begin_t x;
  const char *bad[] = { "abcdefghijklmnop.onion:80", "x.ONION.:80",
                        "a.b.exit:80", "sp ace:80", "tab\there:80" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    size_t n = begin_body(b, bad[i], NULL);
    int r = exit_begin_parse(b, n, &x);
    cr_assert(r == EXIT_PARSE_E_NAME || r == EXIT_PARSE_E_BODY,
              "%s gave %d", bad[i], r);
  }
  /* a name over 255 bytes */
  char longname[300];
  memset(longname, 'a', 290);
  memcpy(longname + 290, ":80", 4);
  size_t n = begin_body(b, longname, NULL);
  cr_assert_eq(exit_begin_parse(b, n, &x), EXIT_PARSE_E_NAME);
}

Test(exit_parse, begin_malformed_bodies)
{
  exit_begin_t x;
  const char *bad[] = { "", "host", "host:", "host:0", "host:65536",
                        ":80", "[::1:80", "host:80x" };
  uint8_t b[RELAY_BODY_MAX];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    size_t n = begin_body(b, bad[i], NULL);
    cr_assert_lt(exit_begin_parse(b, n, &x), 0, "'%s' accepted", bad[i]);
  }
  /* no NUL */
  cr_assert_lt(exit_begin_parse((const uint8_t *)"a:1", 3, &x), 0);
  /* truncated flags */
  size_t n = begin_body(b, "a.com:1", NULL);
  memset(b + n, 0, 2);
  cr_assert_lt(exit_begin_parse(b, n + 2, &x), 0);
  /* oversized */
  uint8_t big[RELAY_BODY_MAX + 10];
  memset(big, 'a', sizeof(big));
  cr_assert_lt(exit_begin_parse(big, sizeof(big), &x), 0);
  cr_assert_lt(exit_begin_parse(NULL, 0, &x), 0);
}

Test(exit_parse, ptr_names)
{
  policy_addr_t a;
  cr_assert_eq(exit_ptr_name_parse("4.3.2.1.in-addr.arpa", &a), 0);
  cr_assert_eq(a.family, 4);
  cr_assert_eq(a.addr[0], 1);
  cr_assert_eq(a.addr[3], 4);
  cr_assert_eq(exit_ptr_name_parse("1.0.0.127.IN-ADDR.ARPA.", &a), 0);
  cr_assert_eq(a.addr[0], 127);
  cr_assert_eq(a.addr[3], 1);
  const char *v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
                   "0.0.2.ip6.arpa";
  cr_assert_eq(exit_ptr_name_parse(v6, &a), 0);
  cr_assert_eq(a.family, 6);
  cr_assert_eq(a.addr[0], 0x20);
  cr_assert_eq(a.addr[1], 0x01);
  cr_assert_eq(a.addr[2], 0x0d);
  cr_assert_eq(a.addr[3], 0xb8);
  cr_assert_eq(a.addr[15], 0x01);
  const char *bad[] = { "in-addr.arpa", "3.2.1.in-addr.arpa",
                        "5.4.3.2.1.in-addr.arpa", "256.0.0.1.in-addr.arpa",
                        "01.0.0.1.in-addr.arpa", "a.b.c.d.in-addr.arpa",
                        "1..0.1.in-addr.arpa", "1.0.0.ip6.arpa",
                        "example.com", "", "x.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                        "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_lt(exit_ptr_name_parse(bad[i], &a), 0, "'%s' accepted", bad[i]);
}

Test(exit_parse, resolve_kinds)
{
  exit_resolve_t r;
  uint8_t b[RELAY_BODY_MAX];
  memcpy(b, "example.org", 12);
  cr_assert_eq(exit_resolve_parse(b, 12, &r), 0);
  cr_assert(!r.is_ptr && !r.is_literal);
  cr_assert_str_eq(r.name, "example.org");
  memcpy(b, "1.0.0.127.in-addr.arpa", 23);
  cr_assert_eq(exit_resolve_parse(b, 23, &r), 0);
  cr_assert(r.is_ptr);
  cr_assert_eq(r.addr.addr[0], 127);
  memcpy(b, "192.0.2.7", 10);
  cr_assert_eq(exit_resolve_parse(b, 10, &r), 0);
  cr_assert(r.is_literal);
  cr_assert_eq(r.addr.addr[3], 7);
  memcpy(b, "x.onion", 8);
  cr_assert_eq(exit_resolve_parse(b, 8, &r), EXIT_PARSE_E_NAME);
  cr_assert_lt(exit_resolve_parse(b, 0, &r), 0);                 /* empty */
  cr_assert_lt(exit_resolve_parse((const uint8_t *)"abc", 3, &r), 0); /* no NUL */
}

Test(exit_parse, resolved_bodies)
{
  exit_dns_answer_t a;
  uint8_t b[RELAY_BODY_MAX];
  size_t n;
  relay_resolved_t r;
  memset(&a, 0, sizeof(a));
  a.status = EXIT_DNS_OK;
  a.ttl = 300;
  a.n_addrs = 2;
  a.addrs[0].family = 6;
  a.addrs[0].addr[15] = 1;
  a.addrs[1].family = 4;
  a.addrs[1].addr[0] = 10;
  cr_assert_eq(exit_resolved_build(&a, true, false, b, sizeof(b), &n), 0);
  cr_assert_eq(relay_resolved_decode(&r, b, n), 0);
  cr_assert_eq(r.n, 1);          /* the IPv6 answer filtered out */
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_IPV4);
  cr_assert_eq(r.answers[0].ttl, 300);
  cr_assert_eq(exit_resolved_build(&a, true, true, b, sizeof(b), &n), 0);
  cr_assert_eq(relay_resolved_decode(&r, b, n), 0);
  cr_assert_eq(r.n, 2);
  /* only families not wanted: an error answer */
  a.n_addrs = 1;
  cr_assert_eq(exit_resolved_build(&a, true, false, b, sizeof(b), &n), 0);
  cr_assert_eq(relay_resolved_decode(&r, b, n), 0);
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_ERROR_NONTRANSIENT);
  /* PTR */
  a.hostname = "host.example";
  cr_assert_eq(exit_resolved_build(&a, true, false, b, sizeof(b), &n), 0);
  cr_assert_eq(relay_resolved_decode(&r, b, n), 0);
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_HOSTNAME);
  cr_assert_eq(r.answers[0].len, 12);
  cr_assert_eq(memcmp(r.answers[0].value, "host.example", 12), 0);
  /* errors */
  a.hostname = NULL;
  a.status = EXIT_DNS_TRANSIENT;
  cr_assert_eq(exit_resolved_build(&a, true, true, b, sizeof(b), &n), 0);
  cr_assert_eq(relay_resolved_decode(&r, b, n), 0);
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_ERROR_TRANSIENT);
  a.status = EXIT_DNS_NOTFOUND;
  cr_assert_eq(exit_resolved_build(&a, true, true, b, sizeof(b), &n), 0);
  cr_assert_eq(relay_resolved_decode(&r, b, n), 0);
  cr_assert_eq(r.answers[0].type, RELAY_RESOLVED_ERROR_NONTRANSIENT);
  /* a literal */
  policy_addr_t lit = { 4, { 192, 0, 2, 1 } };
  cr_assert_eq(exit_resolved_addr(&lit, 60, b, sizeof(b), &n), 0);
  cr_assert_eq(n, 1 + 1 + 4 + 4);
  cr_assert_eq(b[0], RELAY_RESOLVED_IPV4);
  policy_addr_t none = { 0, { 0 } };
  cr_assert_lt(exit_resolved_addr(&none, 60, b, sizeof(b), &n), 0);
}

Test(exit_parse, end_reasons_for_errno)
{
  cr_assert_eq(exit_end_reason_for_errno(ECONNREFUSED), RELAY_END_CONNECTREFUSED);
  cr_assert_eq(exit_end_reason_for_errno(ETIMEDOUT), RELAY_END_TIMEOUT);
  cr_assert_eq(exit_end_reason_for_errno(ENETUNREACH), RELAY_END_NOROUTE);
  cr_assert_eq(exit_end_reason_for_errno(EHOSTUNREACH), RELAY_END_NOROUTE);
  cr_assert_eq(exit_end_reason_for_errno(ECONNRESET), RELAY_END_CONNRESET);
  cr_assert_eq(exit_end_reason_for_errno(EMFILE), RELAY_END_RESOURCELIMIT);
  cr_assert_eq(exit_end_reason_for_errno(EINVAL), RELAY_END_MISC);
}
