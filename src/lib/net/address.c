/* address.c -- decimal ports, IPv4 dotted quads (RFC 791), IPv6 text
 * (RFC 4291 2.2) and "addr:port" with RFC 3986 3.2.2 brackets.  The one
 * parser of each that torrc values, directory documents, relay cells and
 * proxy requests use.  See include/allium/lib/net/address.h. */
#include "allium/lib/net/address.h"

#include <arpa/inet.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"

const char *
net_strerror(int err)
{
  switch (err) {
  case NET_OK: return "no error";
  case NET_ERR_EMPTY: return "empty address or port";
  case NET_ERR_PORT: return "not a port";
  case NET_ERR_IPV4: return "not an IPv4 address";
  case NET_ERR_IPV6: return "not an IPv6 address";
  case NET_ERR_SYNTAX: return "not an address:port";
  default: return "unknown address error";
  }
}

int
net_port_parse(const char *s, size_t len, unsigned min, uint16_t *out)
{
  uint64_t v;
  if (!s || len == 0)
    return NET_ERR_EMPTY;
  if (decimal_parse_u64(s, len, 65535, &v) < 0 || v < min)
    return NET_ERR_PORT;
  *out = (uint16_t)v;
  return NET_OK;
}

int
net_ipv4_parse(const char *s, size_t len, uint8_t out[4])
{
  uint8_t a[4];
  size_t i = 0;
  if (!s || len == 0)
    return NET_ERR_EMPTY;
  for (int part = 0; part < 4; part++) {
    unsigned v = 0, nd = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 3) {
      if (nd == 1 && v == 0)
        return NET_ERR_IPV4;          /* leading zero ("01") */
      v = v * 10 + (unsigned)(s[i++] - '0');
      nd++;
    }
    if (nd == 0 || v > 255)
      return NET_ERR_IPV4;
    a[part] = (uint8_t)v;
    if (part < 3 && (i >= len || s[i++] != '.'))
      return NET_ERR_IPV4;
  }
  if (i != len)
    return NET_ERR_IPV4;              /* a fourth digit, or trailing text */
  memcpy(out, a, 4);
  return NET_OK;
}

int
net_ipv6_parse(const char *s, size_t len, uint8_t out[16])
{
  char buf[NET_IPV6_TEXT_MAX + 1];
  uint8_t a[16];
  if (!s || len == 0)
    return NET_ERR_EMPTY;
  if (len > NET_IPV6_TEXT_MAX || memchr(s, '\0', len))
    return NET_ERR_IPV6;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (inet_pton(AF_INET6, buf, a) != 1)
    return NET_ERR_IPV6;
  memcpy(out, a, 16);
  return NET_OK;
}

/* "[v6]:port" with s[0] == '['. */
static int
parse_bracketed(const char *s, size_t len, unsigned min_port,
                net_addrport_t *r)
{
  const char *rb = memchr(s, ']', len);
  if (!rb || (size_t)(rb - s) + 1 >= len || rb[1] != ':')
    return NET_ERR_SYNTAX;
  int rv = net_ipv6_parse(s + 1, (size_t)(rb - s - 1), r->addr);
  if (rv < 0)
    return rv == NET_ERR_EMPTY ? NET_ERR_IPV6 : rv;
  size_t off = (size_t)(rb - s) + 2;
  rv = net_port_parse(s + off, len - off, min_port, &r->port);
  if (rv < 0)
    return NET_ERR_PORT;
  r->family = 6;
  return NET_OK;
}

int
net_addrport_parse(const char *s, size_t len, int families,
                   unsigned min_port, net_addrport_t *out)
{
  net_addrport_t r;
  int rv;
  memset(&r, 0, sizeof(r));
  if (!s || len == 0)
    return NET_ERR_EMPTY;
  if (s[0] == '[') {
    if (!(families & NET_AP_IPV6))
      return NET_ERR_SYNTAX;
    rv = parse_bracketed(s, len, min_port, &r);
  } else {
    const char *colon = memchr(s, ':', len);
    if (!colon || !(families & NET_AP_IPV4))
      return NET_ERR_SYNTAX;
    size_t hlen = (size_t)(colon - s);
    rv = net_ipv4_parse(s, hlen, r.addr);
    if (rv == NET_OK) {
      r.family = 4;
      if (net_port_parse(colon + 1, len - hlen - 1, min_port, &r.port) < 0)
        rv = NET_ERR_PORT;
    } else if (rv == NET_ERR_EMPTY) {
      rv = NET_ERR_IPV4;
    }
  }
  if (rv < 0)
    return rv;
  *out = r;
  return NET_OK;
}
