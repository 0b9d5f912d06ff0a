/* policy.c -- exit policy entries, evaluation and defaults.
 *
 * Implements dir-spec.txt 2.1.1/2.1.3 exitpattern lines and the torrc
 * ExitPolicy syntax of tor(1) (accept6/reject6, *4, *6, private, default
 * exit policy, ExitPolicyRejectPrivate).  Summaries (dir-spec 3.8.2) live in
 * policy_summary.c.  Everything here is pure computation on bytes.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "allium/core/policy/policy.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"

#define LOG_MODULE "policy"
#include "allium/lib/log/log.h"

/* Longest entry text we look at. */
#define ENTRY_MAXLEN 256

static bool
is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Parse a decimal integer of 1..5 digits in s[0..len) into *out (<= max).
 * No sign, no leading '+', leading zeros allowed. */
static int
parse_uint(const char *s, size_t len, unsigned max, unsigned *out)
{
  unsigned v = 0;
  if (len == 0 || len > 5)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(s[i]))
      return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > max)
    return -1;
  *out = v;
  return 0;
}

int
policy_addr_parse(const char *s, size_t len, policy_addr_t *out)
{
  memset(out, 0, sizeof(*out));
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
    s++;
    len -= 2;
    out->family = 6;
  } else {
    out->family = memchr(s, ':', len) ? 6 : 4;
  }
  int rv = out->family == 6 ? net_ipv6_parse(s, len, out->addr)
                            : net_ipv4_parse(s, len, out->addr);
  if (rv < 0) {
    memset(out, 0, sizeof(*out));
    return POLICY_E_SYNTAX;
  }
  return 0;
}

int
policy_addr_format(const policy_addr_t *a, char *buf, size_t buflen)
{
  char tmp[64];
  int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : -1;
  if (af < 0 || !inet_ntop(af, a->addr, tmp, sizeof(tmp)))
    return -1;
  if (strlen(tmp) + 1 > buflen)
    return -1;
  memcpy(buf, tmp, strlen(tmp) + 1);
  return 0;
}

/* The "private" networks of tor(1) ExitPolicy. */
typedef struct private_net_t {
  uint8_t family;
  uint8_t bits;
  uint8_t addr[16];
} private_net_t;

static const private_net_t private_nets[] = {
  { 4, 8, { 0, 0, 0, 0 } },
  { 4, 16, { 169, 254, 0, 0 } },
  { 4, 8, { 127, 0, 0, 0 } },
  { 4, 16, { 192, 168, 0, 0 } },
  { 4, 8, { 10, 0, 0, 0 } },
  { 4, 12, { 172, 16, 0, 0 } },
  { 6, 8, { 0 } },
  { 6, 7, { 0xfc, 0x00 } },
  { 6, 10, { 0xfe, 0x80 } },
  { 6, 10, { 0xfe, 0xc0 } },
  { 6, 8, { 0xff, 0x00 } },
  { 6, 127, { 0 } },
};
#define N_PRIVATE_NETS (sizeof(private_nets) / sizeof(private_nets[0]))

/* True if the first bits bits of a and b agree. */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
  unsigned full = bits / 8, rem = bits % 8;
  if (memcmp(a, b, full) != 0)
    return false;
  if (rem) {
    uint8_t m = (uint8_t)(0xff << (8 - rem));
    if ((a[full] & m) != (b[full] & m))
      return false;
  }
  return true;
}

/* Clear every bit of addr (alen bytes) past bits. */
static void
apply_mask(uint8_t *addr, size_t alen, unsigned bits)
{
  for (size_t i = 0; i < alen; i++) {
    if (bits >= 8) {
      bits -= 8;
      continue;
    }
    addr[i] &= (uint8_t)(0xff << (8 - bits)) & 0xff;
    bits = 0;
  }
}

bool
policy_addr_is_private(const policy_addr_t *a)
{
  for (size_t i = 0; i < N_PRIVATE_NETS; i++) {
    if (private_nets[i].family == a->family &&
        prefix_equal(a->addr, private_nets[i].addr, private_nets[i].bits))
      return true;
  }
  return false;
}

/* Parse a dotted-quad IPv4 netmask into a prefix length; must be
 * contiguous. */
static int
parse_ip4_mask(const char *s, size_t len, unsigned *bits)
{
  policy_addr_t m;
  if (policy_addr_parse(s, len, &m) < 0 || m.family != 4)
    return POLICY_E_MASK;
  uint32_t v = ((uint32_t)m.addr[0] << 24) | ((uint32_t)m.addr[1] << 16) |
               ((uint32_t)m.addr[2] << 8) | m.addr[3];
  uint32_t inv = ~v;
  if ((inv & (inv + 1)) != 0)  /* inv must be 2^k - 1 */
    return POLICY_E_MASK;
  unsigned n = 0;
  while (n < 32 && (v & (0x80000000u >> n)))
    n++;
  *bits = n;
  return 0;
}

/* Parse the port part ("*", "N", "N-M"). */
static int
parse_portspec(const char *s, size_t len, policy_entry_t *e)
{
  uint16_t lo, hi;
  if (len == 1 && s[0] == '*') {
    e->port_lo = 1;
    e->port_hi = 65535;
    return 0;
  }
  const char *dash = memchr(s, '-', len);
  size_t lolen = dash ? (size_t)(dash - s) : len;
  if (net_port_parse(s, lolen, 0, &lo) < 0)
    return POLICY_E_PORT;
  hi = lo;
  if (dash && net_port_parse(dash + 1, len - lolen - 1, 0, &hi) < 0)
    return POLICY_E_PORT;
  if (lo > hi || hi == 0)
    return POLICY_E_PORT;
  if (lo == 0)
    lo = 1;  /* dir-spec 2.1.3: accept 0, but port 0 never matches */
  e->port_lo = lo;
  e->port_hi = hi;
  return 0;
}

/* Parse the address part: "*", "*4", "*6", ip4 with optional bits or mask,
 * or a bracketed ip6 with optional bits.  is6: keyword was accept6/reject6. */
static int
parse_addrspec(const char *s, size_t len, bool is6, policy_entry_t *e)
{
  if (len == 1 && s[0] == '*') {
    e->family = is6 ? 6 : 0;
    e->maskbits = 0;
    return 0;
  }
  if (len == 2 && s[0] == '*' && (s[1] == '4' || s[1] == '6')) {
    e->family = s[1] == '4' ? 4 : 6;
    e->maskbits = 0;
    return 0;
  }
  if (len == 7 && !strncasecmp(s, "private", 7))
    return POLICY_E_PRIVATE;
  const char *slash = memchr(s, '/', len);
  size_t alen = slash ? (size_t)(slash - s) : len;
  policy_addr_t a;
  bool bracketed = alen >= 2 && s[0] == '[';
  if (policy_addr_parse(s, alen, &a) < 0)
    return POLICY_E_SYNTAX;
  if (a.family == 6 && !bracketed)
    return POLICY_E_SYNTAX;  /* IPv6 must be in brackets */
  unsigned maxbits = a.family == 4 ? 32 : 128, bits = maxbits;
  if (slash) {
    const char *m = slash + 1;
    size_t mlen = len - alen - 1;
    if (a.family == 4 && memchr(m, '.', mlen)) {
      int r = parse_ip4_mask(m, mlen, &bits);
      if (r < 0)
        return r;
    } else if (mlen > 3 || parse_uint(m, mlen, maxbits, &bits) < 0) {
      return POLICY_E_MASK;
    }
  }
  if (is6 && a.family == 4)
    return POLICY_E_FAMILY;
  e->family = a.family;
  e->maskbits = (uint8_t)bits;
  memcpy(e->addr, a.addr, 16);
  apply_mask(e->addr, 16, bits);
  return 0;
}

/* Split "keyword pattern", parse the keyword, set *pat and *patlen. */
static int
parse_keyword(const char *s, size_t len, policy_entry_t *e, bool *is6,
              const char **pat, size_t *patlen)
{
  while (len && is_blank(*s)) {
    s++;
    len--;
  }
  while (len && is_blank(s[len - 1]))
    len--;
  if (len > ENTRY_MAXLEN)
    return POLICY_E_TOOLONG;
  size_t kw = 0;
  while (kw < len && !is_blank(s[kw]))
    kw++;
  if (kw == 6 && !strncasecmp(s, "accept", 6)) {
    e->action = POLICY_ACCEPT;
    *is6 = false;
  } else if (kw == 6 && !strncasecmp(s, "reject", 6)) {
    e->action = POLICY_REJECT;
    *is6 = false;
  } else if (kw == 7 && !strncasecmp(s, "accept6", 7)) {
    e->action = POLICY_ACCEPT;
    *is6 = true;
  } else if (kw == 7 && !strncasecmp(s, "reject6", 7)) {
    e->action = POLICY_REJECT;
    *is6 = true;
  } else {
    return POLICY_E_SYNTAX;
  }
  size_t p = kw;
  while (p < len && is_blank(s[p]))
    p++;
  if (p == kw || p == len)
    return POLICY_E_SYNTAX;
  *pat = s + p;
  *patlen = len - p;
  for (size_t i = 0; i < *patlen; i++) {
    unsigned char c = (unsigned char)(*pat)[i];
    if (c <= ' ' || c >= 0x7f)
      return POLICY_E_SYNTAX;
  }
  return 0;
}

/* The address/port separator: the last ':' outside brackets. */
static const char *
find_port_colon(const char *p, size_t len)
{
  const char *rb = NULL;
  if (len && p[0] == '[') {
    rb = memchr(p, ']', len);
    if (!rb)
      return NULL;
  }
  const char *start = rb ? rb : p;
  return memchr(start, ':', len - (size_t)(start - p));
}

int
policy_entry_parse(const char *s, size_t len, policy_entry_t *out)
{
  policy_entry_t e;
  bool is6;
  const char *pat;
  size_t plen;
  memset(&e, 0, sizeof(e));
  int r = parse_keyword(s, len, &e, &is6, &pat, &plen);
  if (r < 0)
    return r;
  if (plen && pat[0] == '[' && !memchr(pat, ']', plen))
    return POLICY_E_SYNTAX;
  const char *colon = find_port_colon(pat, plen);
  size_t alen = colon ? (size_t)(colon - pat) : plen;
  if (colon && !(pat[0] == '[') && memchr(colon + 1, ':', plen - alen - 1))
    return POLICY_E_SYNTAX;  /* unbracketed IPv6 */
  r = parse_addrspec(pat, alen, is6, &e);
  if (r < 0)
    return r;
  if (colon) {
    r = parse_portspec(colon + 1, plen - alen - 1, &e);
    if (r < 0)
      return r;
  } else {
    e.port_lo = 1;
    e.port_hi = 65535;
  }
  *out = e;
  return 0;
}

char *
policy_entry_format(const policy_entry_t *e)
{
  char addr[80], ports[16];
  const char *kw = e->action == POLICY_ACCEPT ? "accept" : "reject";
  bool six = e->family == 6;
  if (e->family == 0) {
    strcpy(addr, "*");
  } else if (e->maskbits == 0) {
    strcpy(addr, six ? "*6" : "*4");
  } else {
    policy_addr_t a;
    char tmp[64];
    a.family = e->family;
    memcpy(a.addr, e->addr, 16);
    if (policy_addr_format(&a, tmp, sizeof(tmp)) < 0)
      strcpy(tmp, "?");
    unsigned full = six ? 128 : 32;
    if (e->maskbits == full)
      snprintf(addr, sizeof(addr), six ? "[%s]" : "%s", tmp);
    else
      snprintf(addr, sizeof(addr), six ? "[%s]/%u" : "%s/%u", tmp,
               (unsigned)e->maskbits);
  }
  if (e->port_lo == 1 && e->port_hi == 65535)
    strcpy(ports, "*");
  else if (e->port_lo == e->port_hi)
    snprintf(ports, sizeof(ports), "%u", (unsigned)e->port_lo);
  else
    snprintf(ports, sizeof(ports), "%u-%u", (unsigned)e->port_lo,
             (unsigned)e->port_hi);
  return al_asprintf("%s%s %s:%s", kw, six ? "6" : "", addr, ports);
}

/* True if e matches addr (ignoring ports). */
static bool
entry_matches_addr(const policy_entry_t *e, const policy_addr_t *addr)
{
  if (e->family == 0)
    return addr->family == 4 || addr->family == 6;
  if (e->family != addr->family)
    return false;
  return prefix_equal(e->addr, addr->addr, e->maskbits);
}

bool
policy_entry_matches(const policy_entry_t *e, const policy_addr_t *addr,
                     uint16_t port)
{
  if (port == 0 || port < e->port_lo || port > e->port_hi)
    return false;
  return entry_matches_addr(e, addr);
}

policy_t *
policy_new(void)
{
  return al_calloc(1, sizeof(policy_t));
}

void
policy_free_(policy_t *p)
{
  if (!p)
    return;
  al_free(p->entries);
  al_free(p);
}

void
policy_append(policy_t *p, const policy_entry_t *e)
{
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 16;
    p->entries = al_reallocarray(p->entries, p->cap, sizeof(*e));
  }
  p->entries[p->n++] = *e;
}

/* Append one rule per private network with the given action and ports. */
static void
append_private(policy_t *p, policy_action_t action, uint16_t lo, uint16_t hi)
{
  for (size_t i = 0; i < N_PRIVATE_NETS; i++) {
    policy_entry_t e;
    memset(&e, 0, sizeof(e));
    e.action = action;
    e.family = private_nets[i].family;
    e.maskbits = private_nets[i].bits;
    memcpy(e.addr, private_nets[i].addr, 16);
    e.port_lo = lo;
    e.port_hi = hi;
    policy_append(p, &e);
  }
}

int
policy_add_entry(policy_t *p, const char *s, size_t len)
{
  policy_entry_t e;
  int r = policy_entry_parse(s, len, &e);
  if (r == POLICY_E_FAMILY) {
    log_warn("accept6/reject6 entry with an IPv4 address ignored");
    return 0;
  }
  if (r != POLICY_E_PRIVATE) {
    if (r == 0)
      policy_append(p, &e);
    return r;
  }
  /* "private": redo the parse with a placeholder address for the ports. */
  bool is6;
  const char *pat;
  size_t plen;
  memset(&e, 0, sizeof(e));
  r = parse_keyword(s, len, &e, &is6, &pat, &plen);
  if (r < 0)
    return r;
  e.port_lo = 1;
  e.port_hi = 65535;
  if (plen > 7) {
    if (pat[7] != ':')
      return POLICY_E_SYNTAX;
    r = parse_portspec(pat + 8, plen - 8, &e);
    if (r < 0)
      return r;
  }
  append_private(p, e.action, e.port_lo, e.port_hi);
  return 0;
}

int
policy_parse_config(policy_t *p, const char *value)
{
  size_t old_n = p->n;
  const char *s = value;
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    size_t i = 0;
    while (i < len && is_blank(s[i]))
      i++;
    if (i < len) {
      int r = policy_add_entry(p, s, len);
      if (r < 0) {
        p->n = old_n;
        return r;
      }
    }
    if (!comma)
      break;
    s = comma + 1;
  }
  return 0;
}

void
policy_add_reject_private(policy_t *p, const policy_addr_t *addrs, size_t n)
{
  append_private(p, POLICY_REJECT, 1, 65535);
  for (size_t i = 0; i < n; i++) {
    if (addrs[i].family != 4 && addrs[i].family != 6)
      continue;
    policy_entry_t e;
    memset(&e, 0, sizeof(e));
    e.action = POLICY_REJECT;
    e.family = addrs[i].family;
    e.maskbits = e.family == 4 ? 32 : 128;
    memcpy(e.addr, addrs[i].addr, 16);
    e.port_lo = 1;
    e.port_hi = 65535;
    policy_append(p, &e);
  }
}

void
policy_add_default_exit(policy_t *p)
{
  static const uint16_t rejects[][2] = {
    { 25, 25 }, { 119, 119 }, { 135, 139 }, { 445, 445 }, { 563, 563 },
    { 1214, 1214 }, { 4661, 4666 }, { 6346, 6429 }, { 6699, 6699 },
    { 6881, 6999 },
  };
  policy_entry_t e;
  memset(&e, 0, sizeof(e));
  e.family = 0;
  e.action = POLICY_REJECT;
  for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
    e.port_lo = rejects[i][0];
    e.port_hi = rejects[i][1];
    policy_append(p, &e);
  }
  e.action = POLICY_ACCEPT;
  e.port_lo = 1;
  e.port_hi = 65535;
  policy_append(p, &e);
}

/* True if e covers every address of family fam (0: both) on all ports. */
static bool
entry_is_catchall(const policy_entry_t *e, int fam)
{
  if (e->port_lo != 1 || e->port_hi != 65535 || e->maskbits != 0)
    return false;
  return e->family == 0 || e->family == fam;
}

bool
policy_is_terminated(const policy_t *p)
{
  bool v4 = false, v6 = false;
  for (size_t i = 0; i < p->n; i++) {
    if (entry_is_catchall(&p->entries[i], 4))
      v4 = true;
    if (entry_is_catchall(&p->entries[i], 6))
      v6 = true;
  }
  return v4 && v6;
}

/* Evaluation for an address not yet known. */
static policy_result_t
eval_unknown(const policy_t *p, uint16_t port)
{
  bool maybe_accept = false, maybe_reject = false;
  for (size_t i = 0; i < p->n; i++) {
    const policy_entry_t *e = &p->entries[i];
    if (port < e->port_lo || port > e->port_hi)
      continue;
    bool accept = e->action == POLICY_ACCEPT;
    if (e->family == 0 && e->maskbits == 0) {
      if (accept)
        return maybe_reject ? POLICY_RESULT_PROBABLY_ACCEPTED
                            : POLICY_RESULT_ACCEPTED;
      return maybe_accept ? POLICY_RESULT_PROBABLY_REJECTED
                          : POLICY_RESULT_REJECTED;
    }
    if (accept)
      maybe_accept = true;
    else
      maybe_reject = true;
  }
  return maybe_reject ? POLICY_RESULT_PROBABLY_ACCEPTED
                      : POLICY_RESULT_ACCEPTED;
}

policy_result_t
policy_eval(const policy_t *p, const policy_addr_t *addr, uint16_t port)
{
  if (port == 0)
    return POLICY_RESULT_REJECTED;
  if (!addr || (addr->family != 4 && addr->family != 6))
    return eval_unknown(p, port);
  for (size_t i = 0; i < p->n; i++) {
    if (policy_entry_matches(&p->entries[i], addr, port))
      return p->entries[i].action == POLICY_ACCEPT ? POLICY_RESULT_ACCEPTED
                                                   : POLICY_RESULT_REJECTED;
  }
  return POLICY_RESULT_ACCEPTED;
}
