/* dir_authority.c -- parse the DirAuthority configuration value (tor(1)
 * "DirAuthority [nickname] [flags] ipv4address:dirport fingerprint"), the
 * authority list a client bootstraps from (dir-spec 5.1).  See
 * dir_authority.h for the accepted syntax. */
#include "allium/feature/dirclient/dir_authority.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "dir_lineparse.h"
#include "allium/lib/net/address.h"

#define MAX_TOKENS 32

/* Decimal port 1..65535 from s[0..len); -1 if not. */
static int
parse_port(const char *s, size_t len)
{
  uint16_t v;
  return net_port_parse(s, len, 1, &v) < 0 ? -1 : (int)v;
}

/* "a.b.c.d:port" -> 0 and fills ip/port; -1 if not that form. */
static int
parse_ipv4_port(const char *tok, uint8_t ip[4], uint16_t *port)
{
  net_addrport_t ap;
  if (net_addrport_parse(tok, strlen(tok), NET_AP_IPV4, 1, &ap) < 0)
    return -1;
  memcpy(ip, ap.addr, 4);
  *port = ap.port;
  return 0;
}

/* "[v6addr]:port" -> 0 if well formed. */
static int
check_ipv6_port(const char *v)
{
  net_addrport_t ap;
  return net_addrport_parse(v, strlen(v), NET_AP_IPV6, 1, &ap) < 0 ? -1 : 0;
}

static bool
is_hex(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

static int
parse_hex20(const char *s, uint8_t out[20])
{
  return base16_decode_exact(out, 20, s, strlen(s));
}

static bool
is_flag_word(const char *t)
{
  static const char *const words[] = { "no-v2", "hs", "no-hs", "bridge" };
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (!strcmp(t, words[i]))
      return true;
  return strchr(t, '=') != NULL;
}

/* Apply one flag token; 0 or -1 with *err. */
static int
parse_flag(const char *t, dir_authority_t *out, char **err)
{
  int p;
  if (!strcmp(t, "no-v2")) {
    out->no_v2 = true;
  } else if (!strcmp(t, "hs")) {
    out->hs = true;
  } else if (!strcmp(t, "no-hs")) {
    out->hs = false;
  } else if (!strcmp(t, "bridge")) {
    out->is_bridge_auth = true;
  } else if (!strncmp(t, "orport=", 7)) {
    if ((p = parse_port(t + 7, strlen(t + 7))) < 0)
      return dir_line_fail(err, "bad orport in DirAuthority: \"%.40s\"", t);
    out->orport = (uint16_t)p;
  } else if (!strncmp(t, "v3ident=", 8)) {
    if (parse_hex20(t + 8, out->v3ident) < 0)
      return dir_line_fail(err, "bad v3ident in DirAuthority (need 40 hex digits)");
    out->has_v3ident = true;
  } else if (!strncmp(t, "ipv6=", 5)) {
    if (check_ipv6_port(t + 5) < 0)
      return dir_line_fail(err, "bad ipv6 address in DirAuthority: \"%.60s\"", t);
  } else if (!strncmp(t, "weight=", 7)) {
    size_t l = strlen(t + 7);
    if (l == 0 || l > 9 || strspn(t + 7, "0123456789") != l)
      return dir_line_fail(err, "bad weight in DirAuthority: \"%.40s\"", t);
  } else {
    return dir_line_fail(err, "unknown DirAuthority flag \"%.40s\"", t);
  }
  return 0;
}

/* The fingerprint from toks[0..n): one 40-digit token or ten of four. */
static int
parse_fingerprint(char **toks, size_t n, uint8_t out[20], char **err)
{
  char hex[41];
  size_t len = 0;
  if (n == 0)
    return dir_line_fail(err, "DirAuthority lacks the fingerprint");
  if (n != 1 && n != 10)
    return dir_line_fail(err, "bad fingerprint in DirAuthority");
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(toks[i]);
    if ((n == 10 && l != 4) || len + l > 40 || !is_hex(toks[i], l))
      return dir_line_fail(err, "bad fingerprint in DirAuthority");
    memcpy(hex + len, toks[i], l);
    len += l;
  }
  hex[len] = '\0';
  if (parse_hex20(hex, out) < 0)
    return dir_line_fail(err, "bad fingerprint in DirAuthority (need 40 hex digits)");
  return 0;
}

static bool
valid_nickname(const char *s)
{
  size_t l = strlen(s);
  if (l < 1 || l > 19)
    return false;
  for (size_t i = 0; i < l; i++)
    if (!isalnum((unsigned char)s[i]))
      return false;
  return true;
}

static int
parse_tokens(char **toks, size_t n, dir_authority_t *out, char **err)
{
  size_t i = 0;
  if (i < n && !is_flag_word(toks[i]) && !strchr(toks[i], ':')) {
    if (!valid_nickname(toks[i]))
      return dir_line_fail(err, "bad nickname in DirAuthority: \"%.40s\"", toks[i]);
    strcpy(out->nickname, toks[i]);
    i++;
  }
  for (; i < n && !strchr(toks[i], ':'); i++)
    if (parse_flag(toks[i], out, err) < 0)
      return -1;
  /* ipv6=[..]:port contains ':' too: it is a flag, not the address. */
  while (i < n && !strncmp(toks[i], "ipv6=", 5)) {
    if (parse_flag(toks[i], out, err) < 0)
      return -1;
    for (i++; i < n && !strchr(toks[i], ':'); i++)
      if (parse_flag(toks[i], out, err) < 0)
        return -1;
  }
  if (i >= n)
    return dir_line_fail(err, "DirAuthority lacks the address:dirport");
  if (parse_ipv4_port(toks[i], out->ipv4, &out->dirport) < 0)
    return dir_line_fail(err, "bad address:dirport in DirAuthority: \"%.60s\"", toks[i]);
  i++;
  return parse_fingerprint(toks + i, n - i, out->rsa_id, err);
}

int
dir_authority_parse(const char *value, dir_authority_t *out, char **err)
{
  char *toks[MAX_TOKENS];
  size_t n;
  if (err)
    *err = NULL;
  if (out)
    memset(out, 0, sizeof(*out));
  if (!value || !out)
    return dir_line_fail(err, "no DirAuthority value");
  size_t len = strlen(value);
  if (len > DIR_AUTHORITY_MAX_LINE)
    return dir_line_fail(err, "DirAuthority value too long");
  char *buf = al_strdup(value);
  int r;
  if (dir_line_tokenize(buf, toks, MAX_TOKENS, &n) < 0)
    r = dir_line_fail(err, "too many items in DirAuthority");
  else if (n == 0)
    r = dir_line_fail(err, "empty DirAuthority");
  else
    r = parse_tokens(toks, n, out, err);
  al_free(buf);
  if (r < 0)
    memset(out, 0, sizeof(*out));
  return r;
}
