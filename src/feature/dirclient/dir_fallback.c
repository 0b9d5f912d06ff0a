/* dir_fallback.c -- parse the FallbackDir configuration value (tor(1)
 * "FallbackDir ipv4address[:dirport] orport=N id=FINGERPRINT [weight=N]
 * [ipv6=[addr]:orport]"), a fallback directory mirror a bootstrapping
 * client may use (dir-spec 5.1).  See dir_fallback.h for the syntax. */
#include "allium/feature/dirclient/dir_fallback.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "dir_lineparse.h"

/* Address, orport, id, weight, ipv6: anything beyond is an error. */
#define MAX_TOKENS 8

/* Decimal in 1..max from s (all of it); -1 if not. */
static long long
parse_num(const char *s, uint64_t max)
{
  uint64_t v;
  size_t len = strlen(s);
  if (len == 0 || len > 10 || decimal_parse_u64(s, len, max, &v) < 0 ||
      v == 0)
    return -1;
  return (long long)v;
}

/* "a.b.c.d" or "a.b.c.d:dirport". */
static int
parse_addr(const char *tok, dir_fallback_t *out)
{
  char addr[16];
  const char *colon = strchr(tok, ':');
  size_t alen = colon ? (size_t)(colon - tok) : strlen(tok);
  if (alen == 0 || alen >= sizeof(addr))
    return -1;
  memcpy(addr, tok, alen);
  addr[alen] = '\0';
  if (inet_pton(AF_INET, addr, out->ipv4) != 1)
    return -1;
  if (colon) {
    long long p = parse_num(colon + 1, 65535);
    if (p < 0)
      return -1;
    out->dirport = (uint16_t)p;
  }
  return 0;
}

/* "[v6addr]:port". */
static int
parse_ipv6(const char *v, dir_fallback_t *out)
{
  char addr[48];
  const char *close = strchr(v, ']');
  if (v[0] != '[' || !close || close[1] != ':')
    return -1;
  size_t alen = (size_t)(close - v - 1);
  if (alen == 0 || alen >= sizeof(addr))
    return -1;
  memcpy(addr, v + 1, alen);
  addr[alen] = '\0';
  if (inet_pton(AF_INET6, addr, out->ipv6) != 1)
    return -1;
  long long p = parse_num(close + 2, 65535);
  if (p < 0)
    return -1;
  out->ipv6_orport = (uint16_t)p;
  out->has_ipv6 = true;
  return 0;
}

static int
parse_id(const char *s, uint8_t out[20])
{
  size_t l = strlen(s);
  if (l != 40)
    return -1;
  for (size_t i = 0; i < l; i++)
    if (!isxdigit((unsigned char)s[i]))
      return -1;
  return base16_decode(out, 20, s, l) == 20 ? 0 : -1;
}

/* One flag; seen records which were given (each at most once). */
static int
parse_flag(const char *t, dir_fallback_t *out, unsigned *seen, char **err)
{
  static const char *const names[] = { "orport=", "id=", "weight=", "ipv6=" };
  size_t k;
  for (k = 0; k < 4; k++)
    if (!strncmp(t, names[k], strlen(names[k])))
      break;
  if (k == 4)
    return dir_line_fail(err, "unknown FallbackDir flag \"%.40s\"", t);
  if (*seen & (1u << k))
    return dir_line_fail(err, "FallbackDir flag %s given twice", names[k]);
  *seen |= 1u << k;
  const char *v = t + strlen(names[k]);
  long long n;
  switch (k) {
  case 0:
    if ((n = parse_num(v, 65535)) < 0)
      return dir_line_fail(err, "bad orport in FallbackDir: \"%.40s\"", t);
    out->orport = (uint16_t)n;
    return 0;
  case 1:
    if (parse_id(v, out->rsa_id) < 0)
      return dir_line_fail(err, "bad id in FallbackDir (need 40 hex digits)");
    return 0;
  case 2:
    if ((n = parse_num(v, DIR_FALLBACK_MAX_WEIGHT)) < 0)
      return dir_line_fail(err, "bad weight in FallbackDir: \"%.40s\"", t);
    out->weight = (uint32_t)n;
    return 0;
  default:
    if (parse_ipv6(v, out) < 0)
      return dir_line_fail(err, "bad ipv6 address in FallbackDir: \"%.60s\"", t);
    return 0;
  }
}

static int
parse_tokens(char **toks, size_t n, dir_fallback_t *out, char **err)
{
  unsigned seen = 0;
  if (n == 0)
    return dir_line_fail(err, "empty FallbackDir");
  if (parse_addr(toks[0], out) < 0)
    return dir_line_fail(err, "bad address[:dirport] in FallbackDir: \"%.60s\"",
                toks[0]);
  out->weight = 1;
  for (size_t i = 1; i < n; i++)
    if (parse_flag(toks[i], out, &seen, err) < 0)
      return -1;
  if (!(seen & 1u))
    return dir_line_fail(err, "FallbackDir lacks orport=");
  if (!(seen & 2u))
    return dir_line_fail(err, "FallbackDir lacks id=");
  return 0;
}

int
dir_fallback_parse(const char *value, dir_fallback_t *out, char **err)
{
  char *toks[MAX_TOKENS];
  size_t n;
  if (err)
    *err = NULL;
  if (out)
    memset(out, 0, sizeof(*out));
  if (!value || !out)
    return dir_line_fail(err, "no FallbackDir value");
  if (strlen(value) > DIR_FALLBACK_MAX_LINE)
    return dir_line_fail(err, "FallbackDir value too long");
  char *buf = al_strdup(value);
  int r = dir_line_tokenize(buf, toks, MAX_TOKENS, &n) < 0
          ? dir_line_fail(err, "too many items in FallbackDir")
          : parse_tokens(toks, n, out, err);
  al_free(buf);
  if (r < 0)
    memset(out, 0, sizeof(*out));
  return r;
}
