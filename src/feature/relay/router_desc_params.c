/* router_desc_params.c -- checks on the inputs of a server descriptor
 * (dir-spec 2.1.1 item arguments; 2.1.3 nicknames and exit patterns), the
 * "what changed" comparison behind republication (dir-spec 2.1: a field
 * other than bandwidth or uptime changed), and the default "platform".
 * See include/allium/feature/relay/router_desc.h.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "allium/feature/relay/router_desc.h"
#include "allium/core/policy/policy.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"
#include "config.h"
#include "router_desc_internal.h"

int
router_desc_platform_default(char *buf, size_t buflen)
{
  struct utsname u;
  const char *sys = "Unknown";
  if (uname(&u) == 0 && u.sysname[0])
    sys = u.sysname;
  if (!buf || buflen == 0)
    return -1;
  int n = snprintf(buf, buflen, "allium %s on %s", PACKAGE_VERSION, sys);
  return (n < 0 || (size_t)n >= buflen) ? -1 : 0;
}

int
router_desc_nickname_ok(const char *s)
{
  size_t n = s ? strlen(s) : 0;
  if (n < 1 || n > 19)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* A line argument: printable ASCII (space allowed when spaces), no CR/LF. */
int
router_desc_text_ok(const char *s, int spaces)
{
  if (!s || strlen(s) > ROUTER_DESC_MAX_STRING)
    return 0;
  for (const char *c = s; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e || (*c == ' ' && !spaces))
      return 0;
  return 1;
}

static int
hex40_ok(const char *s, size_t n)
{
  if (n != 40)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F') ||
          (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

/* dir-spec 2.1.1 "family": a nickname, or "$" hexdigest optionally followed
 * by "~nickname" or "=nickname". */
int
router_desc_family_ok(const char *s)
{
  if (!s || !*s)
    return 0;
  if (s[0] != '$')
    return router_desc_nickname_ok(s);
  const char *sep = strpbrk(s + 1, "~=");
  size_t hexlen = sep ? (size_t)(sep - s - 1) : strlen(s + 1);
  if (!hex40_ok(s + 1, hexlen))
    return 0;
  return !sep || router_desc_nickname_ok(sep + 1);
}

static int
port_ok(const char *s, size_t n)
{
  uint16_t port;
  return n > 0 && n <= 5 && net_port_parse(s, n, 0, &port) == 0;
}

/* portspec: "*" | port | port "-" port. */
static int
portspec_ok(const char *s)
{
  if (strcmp(s, "*") == 0)
    return 1;
  const char *dash = strchr(s, '-');
  if (!dash)
    return port_ok(s, strlen(s));
  return port_ok(s, (size_t)(dash - s)) && port_ok(dash + 1, strlen(dash + 1));
}

/* addrspec (IPv4 only: dir-spec forbids accept6/reject6 and IPv6 patterns
 * are rarely wanted in a descriptor): "*" | ip4 ["/" bits | "/" ip4mask]. */
static int
addrspec_ok(const char *s, size_t n)
{
  char a[64];
  uint8_t ip[4];
  if (n == 1 && s[0] == '*')
    return 1;
  if (n == 0 || n >= sizeof(a))
    return 0;
  memcpy(a, s, n);
  a[n] = '\0';
  char *slash = strchr(a, '/');
  if (slash)
    *slash++ = '\0';
  if (net_ipv4_parse(a, strlen(a), ip) < 0)
    return 0;
  if (!slash)
    return 1;
  uint16_t bits;
  if (net_ipv4_parse(slash, strlen(slash), ip) == 0)
    return 1;
  return net_port_parse(slash, strlen(slash), 0, &bits) == 0 && bits <= 32;
}

/* "ipv6-policy": a port-list summary (dir-spec 2.1.1, 3.8.2). */
static int
ipv6_policy_ok(const char *s)
{
  policy_summary_t *sum = al_calloc(1, sizeof(*sum));
  int ok = policy_summary_parse(s, strlen(s), sum) == 0;
  al_free(sum);
  return ok;
}

/* "accept" | "reject" SP addrspec ":" portspec. */
int
router_desc_policy_ok(const char *s)
{
  if (!s || strlen(s) > 128)
    return 0;
  const char *pat;
  if (strncmp(s, "accept ", 7) == 0)
    pat = s + 7;
  else if (strncmp(s, "reject ", 7) == 0)
    pat = s + 7;
  else
    return 0;
  const char *colon = strrchr(pat, ':');
  if (!colon || strchr(pat, ' '))
    return 0;
  return addrspec_ok(pat, (size_t)(colon - pat)) && portspec_ok(colon + 1);
}

/* proto: Entries of Keyword "=" Values; a cheap character-level check (the
 * authority's own limit: no keyword longer than 100 characters). */
int
router_desc_proto_ok(const char *s)
{
  if (!s || !*s || strlen(s) > ROUTER_DESC_MAX_STRING)
    return 0;
  size_t word = 0;
  for (const char *c = s; *c; c++) {
    int alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                (*c >= '0' && *c <= '9');
    if (!alnum && !strchr("=,- ", *c))
      return 0;
    word = *c == ' ' ? 0 : word + 1;
    if (word > 100)
      return 0;
  }
  return 1;
}

int
router_desc_params_check(const router_desc_params_t *p)
{
  static const uint8_t zero4[4];
  if (!p || !p->keys || !router_desc_nickname_ok(p->nickname) || p->orport == 0 ||
      memcmp(p->ipv4, zero4, 4) == 0 || p->published <= 0)
    return ROUTER_DESC_ERR_ARG;
  if (p->has_ipv6 && p->ipv6_orport == 0)
    return ROUTER_DESC_ERR_ARG;
  if (p->bw_avg < 1 || p->bw_burst < p->bw_avg)
    return ROUTER_DESC_ERR_ARG;
  if ((p->platform && !router_desc_text_ok(p->platform, 1)) ||
      (p->proto && !router_desc_proto_ok(p->proto)) ||
      (p->contact && !router_desc_text_ok(p->contact, 1)))
    return ROUTER_DESC_ERR_ARG;
  if (p->n_family > ROUTER_DESC_MAX_FAMILY || (p->n_family && !p->family) ||
      p->n_policy > ROUTER_DESC_MAX_POLICY || (p->n_policy && !p->policy))
    return ROUTER_DESC_ERR_ARG;
  for (size_t i = 0; i < p->n_family; i++)
    if (!router_desc_family_ok(p->family[i]))
      return ROUTER_DESC_ERR_ARG;
  if (p->ipv6_policy && !ipv6_policy_ok(p->ipv6_policy))
    return ROUTER_DESC_ERR_ARG;
  for (size_t i = 0; i < p->n_policy; i++)
    if (!router_desc_policy_ok(p->policy[i]))
      return ROUTER_DESC_ERR_ARG;
  return 0;
}

static int
str_eq(const char *a, const char *b)
{
  if (!a || !b)
    return a == b;
  return strcmp(a, b) == 0;
}

/* Same public keys (the objects may differ, e.g. after a reload). */
static int
keys_eq(const relay_keys_t *a, const relay_keys_t *b)
{
  if (a == b)
    return 1;
  if (!a || !b)
    return 0;
  const rsa_key_t *oa = relay_keys_onion_rsa(a), *ob = relay_keys_onion_rsa(b);
  return memcmp(relay_keys_identity_digest(a), relay_keys_identity_digest(b), 20) == 0 &&
         memcmp(relay_keys_master_public(a)->pubkey, relay_keys_master_public(b)->pubkey,
                32) == 0 &&
         memcmp(relay_keys_signing_keypair(a)->pub.pubkey,
                relay_keys_signing_keypair(b)->pub.pubkey, 32) == 0 &&
         memcmp(relay_keys_onion_ntor(a)->pub, relay_keys_onion_ntor(b)->pub, 32) == 0 &&
         ((!oa && !ob) || (oa && ob && rsa_key_public_eq(oa, ob)));
}

static int
list_eq(const char *const *a, size_t na, const char *const *b, size_t nb)
{
  if (na != nb)
    return 0;
  for (size_t i = 0; i < na; i++)
    if (!str_eq(a[i], b[i]))
      return 0;
  return 1;
}

int
router_desc_params_same_except_cosmetic(const router_desc_params_t *a,
                                        const router_desc_params_t *b)
{
  if (!a || !b)
    return 0;
  const char *ca = a->contact && *a->contact ? a->contact : NULL;
  const char *cb = b->contact && *b->contact ? b->contact : NULL;
  return keys_eq(a->keys, b->keys) && str_eq(a->nickname, b->nickname) &&
         memcmp(a->ipv4, b->ipv4, 4) == 0 && a->orport == b->orport &&
         a->has_ipv6 == b->has_ipv6 &&
         (!a->has_ipv6 || (memcmp(a->ipv6, b->ipv6, 16) == 0 &&
                           a->ipv6_orport == b->ipv6_orport)) &&
         a->dirport == b->dirport && str_eq(a->platform, b->platform) &&
         str_eq(a->proto, b->proto) && str_eq(ca, cb) &&
         list_eq(a->family, a->n_family, b->family, b->n_family) &&
         a->tunnelled_dir_server == b->tunnelled_dir_server &&
         a->hidden_service_dir == b->hidden_service_dir &&
         list_eq(a->policy, a->n_policy, b->policy, b->n_policy) &&
         str_eq(a->ipv6_policy, b->ipv6_policy);
}
