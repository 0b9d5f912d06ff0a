/* isolation.c -- SocksPort / HTTPTunnelPort values and stream isolation.
 *
 * Implements the option syntax and flag semantics documented in tor(1) for
 * SocksPort and HTTPTunnelPort, and the resulting isolation rule: two
 * streams may share a circuit only if no isolation flag of either port
 * separates them.  See isolation.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "allium/feature/proxy/isolation.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"

typedef struct port_flag_t {
  const char *name;
  uint32_t bits;
  bool iso;          /* bits are PROXY_ISO_*, else PROXY_PF_* */
  bool http_ok;      /* allowed on HTTPTunnelPort */
} port_flag_t;

static const port_flag_t port_flags[] = {
  { "IsolateClientAddr", PROXY_ISO_CLIENTADDR, true, true },
  { "IsolateSOCKSAuth", PROXY_ISO_SOCKSAUTH, true, true },
  { "IsolateClientProtocol", PROXY_ISO_CLIENTPROTOCOL, true, true },
  { "IsolateDestPort", PROXY_ISO_DESTPORT, true, true },
  { "IsolateDestAddr", PROXY_ISO_DESTADDR, true, true },
  { "KeepAliveIsolateSOCKSAuth", PROXY_PF_KEEPALIVE_ISO_SOCKSAUTH, false,
    true },
  { "IPv4Traffic", PROXY_PF_IPV4_TRAFFIC, false, false },
  { "IPv6Traffic", PROXY_PF_IPV6_TRAFFIC, false, false },
  { "PreferIPv6", PROXY_PF_PREFER_IPV6, false, false },
  { "DNSRequest", PROXY_PF_DNS_REQUEST, false, false },
  { "OnionTraffic", PROXY_PF_ONION_TRAFFIC, false, false },
  { "CacheIPv4DNS", PROXY_PF_CACHE_IPV4_DNS, false, false },
  { "CacheIPv6DNS", PROXY_PF_CACHE_IPV6_DNS, false, false },
  { "CacheDNS", PROXY_PF_CACHE_IPV4_DNS | PROXY_PF_CACHE_IPV6_DNS, false,
    false },
  { "UseIPv4Cache", PROXY_PF_USE_IPV4_CACHE, false, false },
  { "UseIPv6Cache", PROXY_PF_USE_IPV6_CACHE, false, false },
  { "UseDNSCache", PROXY_PF_USE_IPV4_CACHE | PROXY_PF_USE_IPV6_CACHE, false,
    false },
  { "PreferIPv6Automap", PROXY_PF_PREFER_IPV6_AUTOMAP, false, false },
  { "PreferSOCKSNoAuth", PROXY_PF_PREFER_SOCKS_NOAUTH, false, false },
  { "ExtendedErrors", PROXY_PF_EXTENDED_ERRORS, false, false },
  { "GroupWritable", PROXY_PF_GROUP_WRITABLE, false, false },
  { "WorldWritable", PROXY_PF_WORLD_WRITABLE, false, false },
  { "RelaxDirModeCheck", PROXY_PF_RELAX_DIRMODE_CHECK, false, false },
};
#define N_PORT_FLAGS (sizeof(port_flags) / sizeof(port_flags[0]))

#define MAX_TOKEN 1024

static const char *
kind_name(proxy_port_kind_t kind)
{
  return kind == PROXY_PORT_HTTP_TUNNEL ? "HTTPTunnelPort" : "SocksPort";
}

/* Set *err (if wanted) and return -1. */
static int
port_error(char **err, proxy_port_kind_t kind, const char *what,
           const char *tok, size_t toklen)
{
  if (err) {
    int n = toklen > 64 ? 64 : (int)toklen;
    *err = al_asprintf("%s: %s '%.*s'", kind_name(kind), what, n, tok);
  }
  return -1;
}

/* Parse 0..65535 from s[0..len) (0: the port is disabled). */
static int
parse_port_num(const char *s, size_t len, unsigned *out)
{
  uint16_t v;
  if (net_port_parse(s, len, 0, &v) < 0)
    return -1;
  *out = v;
  return 0;
}

/* Parse a C-quoted string starting at s[0] == '"'.  Returns the number of
 * input bytes used, or -1; *out gets a new string. */
static long
parse_quoted(const char *s, char **out)
{
  size_t cap = strlen(s) + 1, n = 0;
  char *buf = al_malloc(cap);
  size_t i = 1;
  for (;;) {
    char c = s[i];
    if (c == '\0' || n + 1 >= cap || i > MAX_TOKEN)
      break;
    if (c == '"') {
      buf[n] = '\0';
      *out = buf;
      return (long)i + 1;
    }
    if (c == '\\') {
      char e = s[i + 1];
      switch (e) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case '\\': case '"': case '\'': c = e; break;
      default: al_free(buf); return -1;
      }
      i++;
    }
    buf[n++] = c;
    i++;
  }
  al_free(buf);
  return -1;
}

/* Parse "[address:]port|auto" (tok[0..len)). */
static int
parse_tcp_addr(proxy_port_cfg_t *out, const char *tok, size_t len)
{
  const char *portp = tok;
  size_t plen = len;
  const char *colon = NULL;
  if (len && tok[0] == '[') {
    const char *rb = memchr(tok, ']', len);
    if (!rb || rb + 1 >= tok + len || rb[1] != ':')
      return -1;
    colon = rb + 1;
  } else {
    colon = memchr(tok, ':', len);
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon - tok) - 1))
      return -1;
  }
  if (colon) {
    if (policy_addr_parse(tok, (size_t)(colon - tok), &out->addr) < 0)
      return -1;
    portp = colon + 1;
    plen = len - (size_t)(portp - tok);
  }
  if (plen == 4 && !strncasecmp(portp, "auto", 4)) {
    out->is_auto = true;
    return 0;
  }
  unsigned port;
  if (parse_port_num(portp, plen, &port) < 0)
    return -1;
  if (port == 0) {
    if (colon)
      return -1;
    out->disabled = true;
  }
  out->port = (uint16_t)port;
  return 0;
}

/* Parse the first token; returns bytes used or -1. */
static long
parse_first(proxy_port_cfg_t *out, const char *s, proxy_port_kind_t kind,
            char **err)
{
  if (!strncmp(s, "unix:", 5)) {
    if (kind != PROXY_PORT_SOCKS)
      return port_error(err, kind, "unix sockets not supported", s, 5);
    if (s[5] == '"') {
      long n = parse_quoted(s + 5, &out->unix_path);
      if (n < 0)
        return port_error(err, kind, "bad quoted path", s, strlen(s));
      if (s[5 + n] && s[5 + n] != ' ' && s[5 + n] != '\t')
        return port_error(err, kind, "junk after path", s, strlen(s));
      out->is_unix = true;
      return 5 + n;
    }
    size_t len = strcspn(s + 5, " \t");
    out->unix_path = al_strndup(s + 5, len);
    out->is_unix = true;
    return (long)(5 + len);
  }
  size_t len = strcspn(s, " \t");
  if (len > MAX_TOKEN || parse_tcp_addr(out, s, len) < 0)
    return port_error(err, kind, "bad address or port", s, len);
  return (long)len;
}

/* Apply one flag token. */
static int
apply_flag(proxy_port_cfg_t *out, const char *tok, size_t len,
           proxy_port_kind_t kind, char **err)
{
  if (len > 13 && !strncasecmp(tok, "SessionGroup=", 13)) {
    unsigned v = 0;
    size_t i;
    for (i = 13; i < len && tok[i] >= '0' && tok[i] <= '9' && v < 100000000;
         i++)
      v = v * 10 + (unsigned)(tok[i] - '0');
    if (i != len)
      return port_error(err, kind, "bad SessionGroup", tok, len);
    out->session_group = (int)v;
    return 0;
  }
  if (len == 16 && !strncasecmp(tok, "OnionTrafficOnly", 16)) {
    if (kind != PROXY_PORT_SOCKS)
      return port_error(err, kind, "flag not allowed", tok, len);
    out->flags &= ~(PROXY_PF_DNS_REQUEST | PROXY_PF_IPV4_TRAFFIC |
                    PROXY_PF_IPV6_TRAFFIC);
    out->flags |= PROXY_PF_ONION_TRAFFIC;
    return 0;
  }
  bool neg = len > 2 && !strncasecmp(tok, "No", 2);
  for (int pass = 0; pass < 2; pass++) {
    /* pass 0: the whole token; pass 1: without a "No" prefix */
    const char *name = pass ? tok + 2 : tok;
    size_t nlen = pass ? len - 2 : len;
    if (pass && !neg)
      break;
    for (size_t i = 0; i < N_PORT_FLAGS; i++) {
      const port_flag_t *f = &port_flags[i];
      if (strlen(f->name) != nlen || strncasecmp(f->name, name, nlen))
        continue;
      if (kind != PROXY_PORT_SOCKS && !f->http_ok)
        return port_error(err, kind, "flag not allowed", tok, len);
      uint32_t *field = f->iso ? &out->iso_flags : &out->flags;
      if (pass)
        *field &= ~f->bits;
      else
        *field |= f->bits;
      return 0;
    }
  }
  return port_error(err, kind, "unknown flag", tok, len);
}

int
proxy_port_parse(const char *value, proxy_port_kind_t kind,
                 proxy_port_cfg_t *out, char **err)
{
  memset(out, 0, sizeof(*out));
  if (err)
    *err = NULL;
  out->kind = kind;
  out->flags = PROXY_PF_DEFAULT;
  out->iso_flags = PROXY_ISO_DEFAULT;
  out->session_group = -1;
  out->addr.family = 4;
  out->addr.addr[0] = 127;
  out->addr.addr[3] = 1;
  const char *s = value;
  s += strspn(s, " \t");
  if (!*s) {
    port_error(err, kind, "empty value", "", 0);
    goto fail;
  }
  long n = parse_first(out, s, kind, err);
  if (n < 0)
    goto fail;
  s += n;
  for (;;) {
    s += strspn(s, " \t");
    if (!*s)
      break;
    size_t len = strcspn(s, " \t");
    if (apply_flag(out, s, len, kind, err) < 0)
      goto fail;
    s += len;
  }
  if (out->is_unix) {
    if (!out->unix_path[0]) {
      port_error(err, kind, "empty unix path", "", 0);
      goto fail;
    }
    out->iso_flags &= ~PROXY_ISO_CLIENTADDR;
    memset(&out->addr, 0, sizeof(out->addr));
  }
  return 0;
 fail:
  proxy_port_cfg_clear(out);
  return -1;
}

void
proxy_port_cfg_clear(proxy_port_cfg_t *cfg)
{
  al_free(cfg->unix_path);
  memset(cfg, 0, sizeof(*cfg));
}

/* Same bytes? */
static bool
blob_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
  if (alen != blen)
    return false;
  return alen == 0 || memcmp(a, b, alen) == 0;
}

static bool
addr_eq(const policy_addr_t *a, const policy_addr_t *b)
{
  if (a->family != b->family)
    return false;
  size_t n = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
  return n == 0 || memcmp(a->addr, b->addr, n) == 0;
}

/* Same SessionGroup (or, without one, the same port) and NEWNYM epoch:
 * an equivalence relation, so comparing with a circuit's first stream is
 * enough. */
static bool
same_group(const proxy_iso_attrs_t *a, const proxy_iso_attrs_t *b)
{
  if (a->session_group >= 0 || b->session_group >= 0) {
    if (a->session_group != b->session_group)
      return false;
  } else if (a->listener_id != b->listener_id) {
    return false;
  }
  return a->nym_epoch == b->nym_epoch;
}

static bool
auth_eq(const proxy_iso_attrs_t *a, const proxy_iso_attrs_t *b)
{
  if (a->has_auth != b->has_auth)
    return false;
  return !a->has_auth ||
         (blob_eq(a->auth1, a->auth1_len, b->auth1, b->auth1_len) &&
          blob_eq(a->auth2, a->auth2_len, b->auth2, b->auth2_len));
}

uint32_t
proxy_iso_differs(const proxy_iso_attrs_t *a, const proxy_iso_attrs_t *b)
{
  uint32_t d = 0;
  if (!addr_eq(&a->client_addr, &b->client_addr))
    d |= PROXY_ISO_CLIENTADDR;
  if (!auth_eq(a, b))
    d |= PROXY_ISO_SOCKSAUTH;
  if (a->proto != b->proto)
    d |= PROXY_ISO_CLIENTPROTOCOL;
  if (a->dest_port != b->dest_port)
    d |= PROXY_ISO_DESTPORT;
  const char *x = a->dest_addr ? a->dest_addr : "";
  const char *y = b->dest_addr ? b->dest_addr : "";
  if (strcasecmp(x, y) != 0)
    d |= PROXY_ISO_DESTADDR;
  return d;
}

bool
proxy_iso_may_share(const proxy_iso_attrs_t *a, const proxy_iso_attrs_t *b)
{
  if (!same_group(a, b))
    return false;
  return ((a->iso_flags | b->iso_flags) & proxy_iso_differs(a, b)) == 0;
}

/* Why this is exact: if some carried stream x isolates on attribute F,
 * every stream carried before or after x agreed with x on F, so F is never
 * both in flags_seen and in mixed.  For a new stream s and attribute F
 * compared with some carried stream (F in s's flags or in flags_seen):
 * if F is mixed the carried streams disagree on F, so s differs from one
 * of them, and F is then in s's flags (the other case is excluded above);
 * if F is not mixed, every carried stream has first's value. */
bool
proxy_iso_circ_may_add(const proxy_iso_attrs_t *first,
                       const proxy_iso_circ_t *st, const proxy_iso_attrs_t *s)
{
  if (!st || !st->used)
    return true;
  if (!first || !same_group(first, s))
    return false;
  uint32_t compared = st->flags_seen | s->iso_flags;
  return (compared & (st->mixed | proxy_iso_differs(first, s))) == 0;
}

void
proxy_iso_circ_add(const proxy_iso_attrs_t *first, proxy_iso_circ_t *st,
                   const proxy_iso_attrs_t *s)
{
  if (!st->used || !first) {
    st->used = true;
    st->flags_seen = s->iso_flags;
    st->mixed = 0;
    return;
  }
  st->flags_seen |= s->iso_flags;
  st->mixed |= proxy_iso_differs(first, s);
}
