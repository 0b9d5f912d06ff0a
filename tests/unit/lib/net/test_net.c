/* test_net.c -- lib/net: decimal ports, IPv4 dotted quads, IPv6 text,
 * "addr:port" (RFC 791, RFC 4291 2.2, RFC 3986 3.2.2) and the RFC 9110
 * token / field-value rules, with malformed, truncated and oversized
 * input. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/lib/net/address.h"
#include "allium/lib/net/http_token.h"

static int
port(const char *s, unsigned min, uint16_t *out)
{
  return net_port_parse(s, strlen(s), min, out);
}

Test(net, ports)
{
  uint16_t p = 7;
  cr_assert_eq(port("1", 1, &p), 0);
  cr_assert_eq(p, 1);
  cr_assert_eq(port("65535", 1, &p), 0);
  cr_assert_eq(p, 65535);
  cr_assert_eq(port("0009050", 1, &p), 0);   /* leading zeros, as tor */
  cr_assert_eq(p, 9050);
  cr_assert_eq(port("0", 0, &p), 0);
  cr_assert_eq(p, 0);
  p = 7;
  cr_assert_eq(port("0", 1, &p), NET_ERR_PORT);
  cr_assert_eq(port("65536", 0, &p), NET_ERR_PORT);
  cr_assert_eq(port("99999999999999999999999", 0, &p), NET_ERR_PORT);
  cr_assert_eq(port("+80", 0, &p), NET_ERR_PORT);
  cr_assert_eq(port("-1", 0, &p), NET_ERR_PORT);
  cr_assert_eq(port(" 80", 0, &p), NET_ERR_PORT);
  cr_assert_eq(port("80 ", 0, &p), NET_ERR_PORT);
  cr_assert_eq(port("8O", 0, &p), NET_ERR_PORT);
  cr_assert_eq(port("", 0, &p), NET_ERR_EMPTY);
  cr_assert_eq(net_port_parse(NULL, 2, 0, &p), NET_ERR_EMPTY);
  cr_assert_eq(net_port_parse("8\0" "0", 3, 0, &p), NET_ERR_PORT);
  cr_assert_eq(p, 7, "failures leave *out alone");
  cr_assert_eq(net_port_parse("4431", 3, 1, &p), 0);   /* length-bound */
  cr_assert_eq(p, 443);
}

Test(net, ipv4)
{
  uint8_t a[4] = { 9, 9, 9, 9 };
  static const uint8_t want[4] = { 192, 0, 2, 255 };
  cr_assert_eq(net_ipv4_parse("192.0.2.255", 11, a), 0);
  cr_assert_arr_eq(a, want, 4);
  cr_assert_eq(net_ipv4_parse("0.0.0.0", 7, a), 0);
  cr_assert_eq(net_ipv4_parse("127.0.0.1:80", 9, a), 0);   /* length-bound */
  memset(a, 9, sizeof(a));
  static const char *const bad[] = {
    "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..3.4",
    ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.1234", "0x7f.0.0.1",
    "1.2.3.-4", "localhost", "::1", "1.2.3.4:80", "1.2.3.4/8",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(net_ipv4_parse(bad[i], strlen(bad[i]), a), NET_ERR_IPV4,
                 "%s", bad[i]);
  cr_assert_eq(net_ipv4_parse("1.2.3.4", 0, a), NET_ERR_EMPTY);
  cr_assert_eq(net_ipv4_parse("1.2\0.3.4", 8, a), NET_ERR_IPV4);
  cr_assert_eq(a[0], 9, "failures leave out alone");
}

Test(net, ipv6)
{
  uint8_t a[16];
  uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8 };
  want[15] = 1;
  cr_assert_eq(net_ipv6_parse("2001:db8::1", 11, a), 0);
  cr_assert_arr_eq(a, want, 16);
  cr_assert_eq(net_ipv6_parse("::", 2, a), 0);
  cr_assert_eq(net_ipv6_parse("::ffff:192.0.2.1", 16, a), 0);
  cr_assert_eq(a[10], 0xff);
  cr_assert_eq(a[15], 1);
  static const char *const bad[] = {
    "[::1]", "1.2.3.4", "2001:db8:::1", "2001:db8::1::2", "12345::",
    "fe80::1%eth0", "::g", ":", "1:2:3:4:5:6:7:8:9", " ::1",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(net_ipv6_parse(bad[i], strlen(bad[i]), a), NET_ERR_IPV6,
                 "%s", bad[i]);
  char big[200];
  memset(big, '0', sizeof(big));
  memcpy(big, "::", 2);
  cr_assert_eq(net_ipv6_parse(big, sizeof(big), a), NET_ERR_IPV6);
  cr_assert_eq(net_ipv6_parse("::1\0", 4, a), NET_ERR_IPV6);
  cr_assert_eq(net_ipv6_parse("", 0, a), NET_ERR_EMPTY);
}

static int
ap(const char *s, int fam, unsigned min, net_addrport_t *out)
{
  return net_addrport_parse(s, strlen(s), fam, min, out);
}

Test(net, addrport)
{
  net_addrport_t r;
  cr_assert_eq(ap("127.0.0.1:9050", NET_AP_ANY, 1, &r), 0);
  cr_assert_eq(r.family, 4);
  cr_assert_eq(r.addr[0], 127);
  cr_assert_eq(r.addr[4], 0, "IPv4 zeroes the rest");
  cr_assert_eq(r.port, 9050);
  cr_assert_eq(ap("[::1]:443", NET_AP_ANY, 1, &r), 0);
  cr_assert_eq(r.family, 6);
  cr_assert_eq(r.addr[15], 1);
  cr_assert_eq(r.port, 443);
  cr_assert_eq(ap("1.2.3.4:0", NET_AP_ANY, 0, &r), 0);
  cr_assert_eq(r.port, 0);

  memset(&r, 0x5a, sizeof(r));
  cr_assert_eq(ap("1.2.3.4:0", NET_AP_ANY, 1, &r), NET_ERR_PORT);
  cr_assert_eq(ap("1.2.3.4:", NET_AP_ANY, 1, &r), NET_ERR_PORT);
  cr_assert_eq(ap("1.2.3.4:80:81", NET_AP_ANY, 1, &r), NET_ERR_PORT);
  cr_assert_eq(ap("1.2.3.4:65536", NET_AP_ANY, 1, &r), NET_ERR_PORT);
  cr_assert_eq(ap("1.2.3.4", NET_AP_ANY, 1, &r), NET_ERR_SYNTAX);
  cr_assert_eq(ap(":80", NET_AP_ANY, 1, &r), NET_ERR_IPV4);
  cr_assert_eq(ap("host.example:80", NET_AP_ANY, 1, &r), NET_ERR_IPV4);
  cr_assert_eq(ap("::1:80", NET_AP_ANY, 1, &r), NET_ERR_IPV4);
  cr_assert_eq(ap("[::1]", NET_AP_ANY, 1, &r), NET_ERR_SYNTAX);
  cr_assert_eq(ap("[::1]:", NET_AP_ANY, 1, &r), NET_ERR_PORT);
  cr_assert_eq(ap("[::1]80", NET_AP_ANY, 1, &r), NET_ERR_SYNTAX);
  cr_assert_eq(ap("[::1:80", NET_AP_ANY, 1, &r), NET_ERR_SYNTAX);
  cr_assert_eq(ap("[]:80", NET_AP_ANY, 1, &r), NET_ERR_IPV6);
  cr_assert_eq(ap("[1.2.3.4]:80", NET_AP_ANY, 1, &r), NET_ERR_IPV6);
  cr_assert_eq(ap("[::1]:80", NET_AP_IPV4, 1, &r), NET_ERR_SYNTAX);
  cr_assert_eq(ap("1.2.3.4:80", NET_AP_IPV6, 1, &r), NET_ERR_SYNTAX);
  cr_assert_eq(ap("", NET_AP_ANY, 1, &r), NET_ERR_EMPTY);
  cr_assert_eq(net_addrport_parse("1.2.3.4:80", 9, NET_AP_ANY, 1, &r), 0);
  cr_assert_eq(r.port, 8, "length-bound");
  memset(&r, 0x5a, sizeof(r));
  cr_assert_eq(ap("[::1]:99999", NET_AP_ANY, 1, &r), NET_ERR_PORT);
  cr_assert_eq(r.family, 0x5a5a5a5a, "failures leave *out alone");
}

Test(net, strerror)
{
  static const int errs[] = { NET_OK, NET_ERR_EMPTY, NET_ERR_PORT,
                              NET_ERR_IPV4, NET_ERR_IPV6, NET_ERR_SYNTAX };
  for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(net_strerror(errs[i]), net_strerror(errs[j]));
  cr_assert_str_eq(net_strerror(-999), "unknown address error");
  cr_assert_str_eq(net_strerror(NET_ERR_PORT), "not a port");
}

Test(http_token, tchar_and_token)
{
  for (int c = 0; c < 256; c++) {
    bool want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                (c >= 'A' && c <= 'Z') ||
                (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
    cr_assert_eq(http_is_tchar((unsigned char)c), want, "char %d", c);
  }
  cr_assert_eq(http_token_len("CONNECT host", 12), 7);
  cr_assert_eq(http_token_len("Content-Length: 5", 17), 14);
  cr_assert_eq(http_token_len(": x", 3), 0);
  cr_assert_eq(http_token_len("abc", 2), 2);
  cr_assert_eq(http_token_len("a\0b", 3), 1);
  cr_assert_eq(http_token_len("", 0), 0);
  cr_assert_eq(http_token_len("(x)", 3), 0);
}

Test(http_token, field_value)
{
  cr_assert(http_field_value_ok("text/plain; q=1", 15));
  cr_assert(http_field_value_ok("a\tb", 3));
  cr_assert(http_field_value_ok("\x80\xff", 2));     /* obs-text */
  cr_assert(http_field_value_ok("", 0));
  cr_assert_not(http_field_value_ok("a\rb", 3));
  cr_assert_not(http_field_value_ok("a\nb", 3));
  cr_assert_not(http_field_value_ok("a\0b", 3));
  cr_assert_not(http_field_value_ok("a\x7f", 2));
  cr_assert_not(http_field_value_ok("\x1b[31m", 5));
}
