/* exit_dns_name.c -- the pure parts of the exit resolver: which names the
 * exit resolves (tor-spec 6.2 / 6.4 hostnames, RFC 1035 2.3.4 limits,
 * tor(1) ServerDNSAllowNonRFC953Hostnames), reverse-lookup names
 * (RFC 1035 3.5 in-addr.arpa, RFC 3596 2.5 ip6.arpa) as asked for in a
 * RELAY_RESOLVE (tor-spec 6.4), and the TTLs reported to clients.
 * Fuzzed by tests/fuzz/exitdns.  See include/allium/feature/exit/exit_dns.h.
 *
 * TTLs.  tor 0.4.9 (src/core/or/connection_edge.c, since the fix for
 * "DefectTor", and TROVE-2021-009 / tor#40674 for the fuzz) reports one of
 * two TTLs in RELAY_CONNECTED and RELAY_RESOLVED: 300 s when the DNS TTL is
 * below 300 s, else 3600 s -- a finer TTL would let a client (or whoever
 * watches the exit's resolver) tell which names share a record and when
 * the exit last asked for them.  tor keeps the answer in its cache for that
 * clipped TTL plus a uniform random offset in [-240, 240] s, so that the
 * moment an entry falls out of the cache (observable by a client as the
 * end of fast answers) does not reveal when another client looked the name
 * up ("Website Fingerprinting with Website Oracles", Pulls and Dahlberg,
 * PETS 2020).  allium does the same: exit_dns_clip_ttl() for what is
 * reported, exit_dns_fuzzy_ttl() for how long it is kept.  The reported
 * TTL never counts down while cached (tor-spec 6.2's note: the exit
 * expires its own entries on its own schedule), so a cached answer reports
 * the same TTL as a fresh one. */
#include "allium/feature/exit/exit_dns.h"

#include <string.h>

#include "allium/lib/crypto/rand.h"

/* tor's clipping constants (values from tor 0.4.9; see the header). */
#define DNS_TTL_LOW 300u
#define DNS_TTL_HIGH 3600u
#define DNS_TTL_FUZZ 240u

const char *const exit_dns_default_test_addresses[] = {
  "www.google.com", "www.mit.edu", "www.yahoo.com", "www.slashdot.org", NULL
};

uint32_t
exit_dns_clip_ttl(uint32_t ttl)
{
  return ttl < DNS_TTL_LOW ? DNS_TTL_LOW : DNS_TTL_HIGH;
}

uint32_t
exit_dns_fuzzy_ttl(uint32_t ttl)
{
  /* No underflow: DNS_TTL_FUZZ < DNS_TTL_LOW. */
  return exit_dns_clip_ttl(ttl) +
         (uint32_t)crypto_rand_uint64(2 * DNS_TTL_FUZZ + 1) - DNS_TTL_FUZZ;
}

static char
lower(char c)
{
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* 1 when s[0..len) ends with suffix (lower case), case-insensitively. */
static int
ends_with_ci(const char *s, size_t len, const char *suffix)
{
  size_t n = strlen(suffix);
  if (len < n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (lower(s[len - n + i]) != suffix[i])
      return 0;
  return 1;
}

static int
is_rfc953_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

exit_dns_status_t
exit_dns_name_check(const char *name, bool allow_non_rfc953)
{
  if (!name)
    return EXIT_DNS_INVALID;
  size_t len = strnlen(name, EXIT_DNS_NAME_MAX + 1);
  if (len == 0 || len > EXIT_DNS_NAME_MAX)
    return EXIT_DNS_INVALID;
  if (name[len - 1] == '.')
    len--;                      /* one trailing dot: the root */
  if (len == 0)
    return EXIT_DNS_INVALID;
  size_t label = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c == '.') {
      if (label == 0)
        return EXIT_DNS_INVALID;   /* empty label: "..", leading dot */
      label = 0;
      continue;
    }
    if (c <= 0x20 || c == 0x7f)
      return EXIT_DNS_INVALID;     /* controls and blanks, always */
    if (!allow_non_rfc953 && !is_rfc953_char(c))
      return EXIT_DNS_INVALID;
    if (++label > EXIT_DNS_LABEL_MAX)
      return EXIT_DNS_INVALID;
  }
  if (label == 0)
    return EXIT_DNS_INVALID;
  /* Names that belong to Tor itself are never sent to a DNS server. */
  if (ends_with_ci(name, len, ".onion") || ends_with_ci(name, len, ".exit"))
    return EXIT_DNS_INVALID;
  return EXIT_DNS_OK;
}

/* The decimal octet s[0..n), 0..255 without leading zeros; -1 if not. */
static int
octet(const char *s, size_t n)
{
  if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
    return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= 255 ? v : -1;
}

static int
reverse_v4(const char *s, size_t len, exit_dns_addr_t *out)
{
  uint8_t a[4];
  size_t pos = 0;
  for (int i = 0; i < 4; i++) {
    size_t start = pos;
    while (pos < len && s[pos] != '.')
      pos++;
    int v = octet(s + start, pos - start);
    if (v < 0)
      return -1;
    a[3 - i] = (uint8_t)v;
    if (i < 3) {
      if (pos >= len)
        return -1;
      pos++;                    /* the dot */
    }
  }
  if (pos != len)
    return -1;
  memset(out, 0, sizeof(*out));
  out->family = 4;
  memcpy(out->addr, a, 4);
  return 1;
}

static int
hexval(char c)
{
  c = lower(c);
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static int
reverse_v6(const char *s, size_t len, exit_dns_addr_t *out)
{
  /* 32 nibbles, least significant first, each followed by a dot except
   * the last (the dot before "ip6.arpa" was cut by the caller). */
  if (len != 63)
    return -1;
  uint8_t a[16];
  memset(a, 0, sizeof(a));
  for (int i = 0; i < 32; i++) {
    int v = hexval(s[2 * i]);
    if (v < 0 || (i < 31 && s[2 * i + 1] != '.'))
      return -1;
    int nib = 31 - i;           /* nibble index from the most significant */
    a[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
  }
  memset(out, 0, sizeof(*out));
  out->family = 6;
  memcpy(out->addr, a, 16);
  return 1;
}

int
exit_dns_reverse_name_parse(const char *name, exit_dns_addr_t *out)
{
  if (!name || !out)
    return 0;
  size_t len = strnlen(name, EXIT_DNS_NAME_MAX + 2);
  if (len > EXIT_DNS_NAME_MAX + 1)
    return 0;                   /* too long for any name (name check) */
  if (len && name[len - 1] == '.')
    len--;
  if (ends_with_ci(name, len, ".in-addr.arpa"))
    return reverse_v4(name, len - strlen(".in-addr.arpa"), out);
  if (ends_with_ci(name, len, ".ip6.arpa"))
    return reverse_v6(name, len - strlen(".ip6.arpa"), out);
  if ((len == strlen("in-addr.arpa") && ends_with_ci(name, len, "in-addr.arpa"))
      || (len == strlen("ip6.arpa") && ends_with_ci(name, len, "ip6.arpa")))
    return -1;                  /* the zone itself: no address */
  return 0;
}
