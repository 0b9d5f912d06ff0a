/* fuzz_exitdns.c -- fuzz target for the exit resolver's name parsers
 * (src/feature/exit/exit_dns_name.c: exit_dns_name_check(),
 * exit_dns_reverse_name_parse(); RFC 1035 2.3.4 / 3.5, RFC 3596 2.5,
 * tor-spec 6.4 RESOLVE names).  The input, cut at its first NUL, is one
 * name.  Checks: a name accepted in RFC 953 mode is accepted in the
 * permissive mode too, is at most 255 octets and never a .onion / .exit
 * name; a parsed reverse name gives family 4 or 6, and the canonical
 * reverse name of that address parses back to the same address and is
 * itself an acceptable name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fuzzing.h"
#include "allium/feature/exit/exit_dns.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

static void
canonical(const exit_dns_addr_t *a, char *buf, size_t len)
{
  if (a->family == 4) {
    snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a->addr[3], a->addr[2],
             a->addr[1], a->addr[0]);
    return;
  }
  size_t o = 0;
  for (int i = 15; i >= 0; i--) {
    o += (size_t)snprintf(buf + o, len - o, "%x.%x.", a->addr[i] & 0xf,
                          a->addr[i] >> 4);
  }
  snprintf(buf + o, len - o, "ip6.arpa");
}

static int
has_suffix(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  if (n && s[n - 1] == '.')
    n--;
  return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  char *s = al_malloc(len + 1);
  memcpy(s, data, len);
  s[len] = '\0';
  exit_dns_status_t strict = exit_dns_name_check(s, false);
  exit_dns_status_t loose = exit_dns_name_check(s, true);
  if (strict == EXIT_DNS_OK) {
    if (loose != EXIT_DNS_OK || strlen(s) > EXIT_DNS_NAME_MAX ||
        has_suffix(s, ".onion") || has_suffix(s, ".exit"))
      abort();
  } else if (strict != EXIT_DNS_INVALID) {
    abort();
  }
  exit_dns_addr_t a;
  memset(&a, 0xee, sizeof(a));
  int r = exit_dns_reverse_name_parse(s, &a);
  if (r < -1 || r > 1)
    abort();
  if (r == 1) {
    if (a.family != 4 && a.family != 6)
      abort();
    char c[128];
    canonical(&a, c, sizeof(c));
    exit_dns_addr_t b;
    if (exit_dns_reverse_name_parse(c, &b) != 1 || b.family != a.family ||
        memcmp(a.addr, b.addr, 16) != 0 ||
        exit_dns_name_check(c, false) != EXIT_DNS_OK)
      abort();
  }
  al_free(s);
  return 0;
}
