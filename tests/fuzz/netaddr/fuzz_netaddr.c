/* fuzz_netaddr.c -- fuzz target for lib/net's textual parsers (ports, RFC
 * 791 dotted quads, RFC 4291 IPv6 text, "addr:port", RFC 9110 tokens).
 * The input is used as is (not NUL-terminated: a read past len is the bug
 * ASan finds).  Checks: every parser agrees with itself (a dotted quad that
 * parses formats back to the same text; an addr:port that parses splits
 * into an address and a port that parse alone); results only on success. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/lib/net/address.h"
#include "allium/lib/net/http_token.h"

int
fuzz_init(void)
{
  return 0;
}

static void
check_ipv4(const char *s, size_t len)
{
  uint8_t a[4] = { 1, 2, 3, 4 };
  char back[16];
  if (net_ipv4_parse(s, len, a) < 0) {
    if (a[0] != 1 || a[3] != 4)
      abort();
    return;
  }
  snprintf(back, sizeof(back), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
  if (strlen(back) != len || memcmp(back, s, len))
    abort();
}

static void
check_addrport(const char *s, size_t len)
{
  net_addrport_t r;
  memset(&r, 0x5a, sizeof(r));
  if (net_addrport_parse(s, len, NET_AP_ANY, 0, &r) < 0) {
    if (r.family != 0x5a5a5a5a)
      abort();
    return;
  }
  uint8_t a[16];
  uint16_t p;
  const char *colon = s[0] == '[' ? (const char *)memchr(s, ']', len) + 1
                                  : (const char *)memchr(s, ':', len);
  size_t plen = len - (size_t)(colon + 1 - s);
  if (net_port_parse(colon + 1, plen, 0, &p) < 0 || p != r.port)
    abort();
  if (r.family == 4 ? net_ipv4_parse(s, (size_t)(colon - s), a) < 0 ||
                      memcmp(a, r.addr, 4)
                    : net_ipv6_parse(s + 1, (size_t)(colon - s) - 2, a) < 0 ||
                      memcmp(a, r.addr, 16))
    abort();
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  /* An exact-size heap copy so ASan sees any read past the end. */
  char *s = malloc(len ? len : 1);
  if (!s)
    return 0;
  memcpy(s, data, len);
  uint16_t p;
  uint8_t a6[16];
  (void)net_port_parse(s, len, 0, &p);
  (void)net_ipv6_parse(s, len, a6);
  check_ipv4(s, len);
  if (len)
    check_addrport(s, len);
  size_t t = http_token_len(s, len);
  if (t > len || (t < len && http_is_tchar((unsigned char)s[t])))
    abort();
  (void)http_field_value_ok(s, len);
  free(s);
  return 0;
}
