/* routerdesc.c -- parse relay server descriptors (dir-spec 2.1.1 "Server
 * descriptor format", nonterminals of 2.1.3) singly or in batches; the
 * signature checks are in routerdesc_verify.c.
 * See include/allium/feature/dirparse/routerdesc.h.
 */
#include <stdio.h>
#include <string.h>

#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"
#include "routerdesc_internal.h"

#define A NETDOC_ARGS_ANY
#define NOOBJ NETDOC_OBJ_FORBIDDEN
static const netdoc_rule_t rd_rules[] = {
  { "router", D_ROUTER, NETDOC_AT_START, 5, A, NOOBJ, NULL },
  { "identity-ed25519", D_ID_ED, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, "ED25519 CERT" },
  { "master-key-ed25519", D_MASTER, NETDOC_ONCE, 1, A, NOOBJ, NULL },
  { "bandwidth", D_BANDWIDTH, NETDOC_ONCE, 3, A, NOOBJ, NULL },
  { "platform", D_PLATFORM, NETDOC_AT_MOST_ONCE, 0, A, NOOBJ, NULL },
  { "published", D_PUBLISHED, NETDOC_ONCE, 2, A, NOOBJ, NULL },
  { "fingerprint", D_FINGERPRINT, NETDOC_AT_MOST_ONCE, 10, A, NOOBJ, NULL },
  { "hibernating", D_HIBERNATING, NETDOC_AT_MOST_ONCE, 1, A, NOOBJ, NULL },
  { "uptime", D_UPTIME, NETDOC_AT_MOST_ONCE, 1, A, NOOBJ, NULL },
  { "onion-key", D_ONION_KEY, NETDOC_AT_MOST_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, "RSA PUBLIC KEY" },
  { "onion-key-crosscert", D_ONION_CROSS, NETDOC_AT_MOST_ONCE, 0, 0, NETDOC_OBJ_REQUIRED,
    "CROSSCERT" },
  { "ntor-onion-key", D_NTOR, NETDOC_ONCE, 1, A, NOOBJ, NULL },
  { "ntor-onion-key-crosscert", D_NTOR_CROSS, NETDOC_ONCE, 1, 1, NETDOC_OBJ_REQUIRED,
    "ED25519 CERT" },
  { "signing-key", D_SIGNING_KEY, NETDOC_ONCE, 0, 0, NETDOC_OBJ_REQUIRED, "RSA PUBLIC KEY" },
  { "accept", D_ACCEPT, NETDOC_ANY, 1, A, NOOBJ, NULL },
  { "reject", D_REJECT, NETDOC_ANY, 1, A, NOOBJ, NULL },
  { "ipv6-policy", D_IPV6_POLICY, NETDOC_AT_MOST_ONCE, 2, A, NOOBJ, NULL },
  { "router-sig-ed25519", D_SIG_ED, NETDOC_ONCE, 1, A, NOOBJ, NULL },
  { "router-signature", D_SIG, NETDOC_AT_END, 0, 0, NETDOC_OBJ_REQUIRED, "SIGNATURE" },
  { "contact", D_CONTACT, NETDOC_AT_MOST_ONCE, 0, A, NOOBJ, NULL },
  { "family", D_FAMILY, NETDOC_AT_MOST_ONCE, 0, A, NOOBJ, NULL },
  { "or-address", D_OR_ADDRESS, NETDOC_ANY, 1, A, NOOBJ, NULL },
  { "proto", D_PROTO, NETDOC_ONCE, 0, A, NOOBJ, NULL },
  { "caches-extra-info", D_CACHES_EI, NETDOC_AT_MOST_ONCE, 0, 0, NOOBJ, NULL },
  { "tunnelled-dir-server", D_TUNNELLED, NETDOC_AT_MOST_ONCE, 0, 0, NOOBJ, NULL },
  { "hidden-service-dir", D_HSDIR, NETDOC_AT_MOST_ONCE, 0, A, NOOBJ, NULL },
  { "extra-info-digest", D_EI_DIGEST, NETDOC_AT_MOST_ONCE, 1, A, NOOBJ, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};
#undef A
#undef NOOBJ

/* exitpattern (dir-spec 2.1.3): addrspec ":" portspec. */
static int
check_exitpattern(const char *s)
{
  const char *colon = strrchr(s, ':');
  char addr[64], port[16];
  if (!colon || (size_t)(colon - s) >= sizeof(addr) || strlen(colon + 1) >= sizeof(port))
    return -1;
  memcpy(addr, s, (size_t)(colon - s));
  addr[colon - s] = '\0';
  strcpy(port, colon + 1);
  int64_t lo, hi, bits;
  char *dash = strchr(port, '-');
  if (strcmp(port, "*") != 0) {
    if (dash)
      *dash = '\0';
    if (netdoc_parse_int(port, 0, 65535, &lo) < 0 ||
        (dash && netdoc_parse_int(dash + 1, lo, 65535, &hi) < 0))
      return -1;
  }
  if (strcmp(addr, "*") == 0)
    return 0;
  char *slash = strchr(addr, '/');
  if (slash)
    *slash++ = '\0';
  uint8_t a[16];
  if (addr[0] == '[') {
    size_t l = strlen(addr);
    if (l < 3 || addr[l - 1] != ']')
      return -1;
    if (net_ipv6_parse(addr + 1, l - 2, a) < 0)
      return -1;
    return slash ? netdoc_parse_int(slash, 0, 128, &bits) : 0;
  }
  if (netdoc_parse_ipv4(addr, a) < 0)
    return -1;
  if (slash && netdoc_parse_int(slash, 0, 32, &bits) < 0 && netdoc_parse_ipv4(slash, a) < 0)
    return -1;
  return 0;
}

static int
parse_router_line(routerdesc_t *rd, const netdoc_token_t *t, netdoc_err_t *err)
{
  int64_t op, sp, dp;
  if (!netdoc_is_nickname(t->args[0]) || netdoc_parse_ipv4(t->args[1], rd->ipv4) < 0 ||
      netdoc_parse_int(t->args[2], 0, 65535, &op) < 0 ||
      netdoc_parse_int(t->args[3], 0, 65535, &sp) < 0 ||
      netdoc_parse_int(t->args[4], 0, 65535, &dp) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad router line");
  snprintf(rd->nickname, sizeof(rd->nickname), "%s", t->args[0]);
  rd->orport = (uint16_t)op;
  rd->dirport = (uint16_t)dp;
  return 0;
}

static int
parse_policy_line(routerdesc_t *rd, const netdoc_token_t *t, netdoc_err_t *err)
{
  if (check_exitpattern(t->args[0]) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad exit pattern");
  rd->policy = al_reallocarray(rd->policy, rd->n_policy + 1, sizeof(*rd->policy));
  rd->policy[rd->n_policy].accept = t->id == D_ACCEPT;
  rd->policy[rd->n_policy].pattern = al_strdup(t->args[0]);
  rd->n_policy++;
  return 0;
}

static int
parse_numbers(routerdesc_t *rd, const netdoc_token_t *t, netdoc_err_t *err)
{
  int64_t v[3];
  int k = t->id == D_BANDWIDTH ? 3 : 1;
  for (int i = 0; i < k; i++)
    if (netdoc_parse_int(t->args[i], 0, t->id == D_HIBERNATING ? 1 : INT64_MAX, &v[i]) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad number in \"%s\"", t->keyword);
  if (t->id == D_BANDWIDTH) {
    rd->bw_avg = (uint64_t)v[0];
    rd->bw_burst = (uint64_t)v[1];
    rd->bw_observed = (uint64_t)v[2];
  } else if (t->id == D_UPTIME) {
    rd->uptime = (uint64_t)v[0];
    rd->has_uptime = 1;
  } else {
    rd->hibernating = (int)v[0];
  }
  return 0;
}

static int
rd_item(routerdesc_t *rd, const netdoc_token_t *t, netdoc_err_t *err)
{
  uint8_t a[16];
  int v6;
  uint16_t port;
  switch (t->id) {
  case D_ROUTER: return parse_router_line(rd, t, err);
  case D_BANDWIDTH: case D_UPTIME: case D_HIBERNATING: return parse_numbers(rd, t, err);
  case D_PLATFORM: rd->platform = netdoc_join_args(t->args, t->n_args); return 0;
  case D_PROTO: rd->protocols = netdoc_join_args(t->args, t->n_args); return 0;
  case D_CONTACT: rd->contact = netdoc_join_args(t->args, t->n_args); return 0;
  case D_PUBLISHED:
    if (netdoc_parse_time(t->args[0], t->args[1], &rd->published) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad published time");
    return 0;
  case D_NTOR:
    if (netdoc_parse_b64(t->args[0], rd->ntor_onion_key, 32) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad ntor-onion-key");
    return 0;
  case D_ACCEPT: case D_REJECT: return parse_policy_line(rd, t, err);
  case D_IPV6_POLICY:
    if ((strcmp(t->args[0], "accept") != 0 && strcmp(t->args[0], "reject") != 0) ||
        netdoc_check_portlist(t->args[1]) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad ipv6-policy");
    rd->ipv6_policy = netdoc_join_args(t->args, 2);
    return 0;
  case D_FAMILY:
    rd->family = al_calloc((size_t)t->n_args + 1, sizeof(char *));
    for (int i = 0; i < t->n_args; i++)
      rd->family[rd->n_family++] = al_strdup(t->args[i]);
    return 0;
  case D_OR_ADDRESS:
    if (netdoc_parse_addrport(t->args[0], a, &v6, &port) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad or-address");
    if (v6 && !rd->has_ipv6) {
      memcpy(rd->ipv6, a, 16);
      rd->ipv6_port = port;
      rd->has_ipv6 = 1;
    }
    return 0;
  case D_CACHES_EI: rd->caches_extra_info = 1; return 0;
  case D_TUNNELLED: rd->tunnelled_dir_server = 1; return 0;
  case D_HSDIR: rd->hidden_service_dir = 1; return 0;
  default: return 0;
  }
}

/* One descriptor: tok[0..n), maybe starting with annotations. */
static int
rd_from_tokens(netdoc_token_t *tok, size_t n, routerdesc_t **out, netdoc_err_t *err)
{
  int rv = netdoc_check_rules(tok, n, rd_rules, err);
  if (rv < 0)
    return rv;
  size_t first = 0;
  while (tok[first].is_annotation)
    first++;
  for (size_t i = first; i < n; i++)
    if (tok[i].is_annotation)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[i].lineno, "annotation inside document");
  if (!netdoc_find(tok, n, D_ACCEPT) && !netdoc_find(tok, n, D_REJECT))
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[first].lineno, "no exit policy");
  routerdesc_t *rd = al_calloc(1, sizeof(*rd));
  for (size_t i = first; i < n && rv == 0; i++)
    rv = rd_item(rd, &tok[i], err);
  if (rv == 0)
    rv = routerdesc_verify(rd, tok + first, n - first, err);
  if (rv < 0) {
    routerdesc_free(rd);
    return rv;
  }
  *out = rd;
  return 0;
}

int
routerdesc_parse_batch(const char *s, size_t len, routerdesc_t ***out, size_t *n,
                       netdoc_err_t *err)
{
  if (!out || !n)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  *n = 0;
  netdoc_t *d = NULL;
  int rv = netdoc_tokenize(s, len, NETDOC_F_ANNOTATIONS, &d, err);
  if (rv < 0)
    return rv;
  routerdesc_t **l = NULL;
  size_t cnt = 0, start = 0;
  int has_items = 0;
  for (size_t i = 0; i <= d->n_tok && rv == 0; i++) {
    if (i < d->n_tok) {
      const netdoc_token_t *t = &d->tok[i];
      int brk = has_items && (t->is_annotation || strcmp(t->keyword, "router") == 0);
      if (!brk) {
        has_items |= !t->is_annotation;
        continue;
      }
    }
    if (i > start) {
      routerdesc_t *rd = NULL;
      if ((rv = rd_from_tokens(d->tok + start, i - start, &rd, err)) < 0)
        break;
      l = al_reallocarray(l, cnt + 1, sizeof(*l));
      l[cnt++] = rd;
    }
    start = i;
    has_items = i < d->n_tok && !d->tok[i].is_annotation;
  }
  netdoc_free(d);
  if (rv < 0) {
    routerdesc_list_free(l, cnt);
    return rv;
  }
  *out = l;
  *n = cnt;
  return 0;
}

int
routerdesc_parse(const char *s, size_t len, routerdesc_t **out, netdoc_err_t *err)
{
  routerdesc_t **l = NULL;
  size_t n = 0;
  if (!out)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  int rv = routerdesc_parse_batch(s, len, &l, &n, err);
  if (rv < 0)
    return rv;
  if (n != 1) {
    routerdesc_list_free(l, n);
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, 1, "expected exactly one descriptor");
  }
  *out = l[0];
  al_free(l);
  return 0;
}

void
routerdesc_free_(routerdesc_t *rd)
{
  if (!rd)
    return;
  torcert_free(rd->id_cert);
  rsa_key_free(rd->identity_key);
  rsa_key_free(rd->onion_key);
  al_free(rd->platform);
  al_free(rd->protocols);
  al_free(rd->contact);
  for (size_t i = 0; i < rd->n_family; i++)
    al_free(rd->family[i]);
  al_free(rd->family);
  for (size_t i = 0; i < rd->n_policy; i++)
    al_free(rd->policy[i].pattern);
  al_free(rd->policy);
  al_free(rd->ipv6_policy);
  al_free(rd);
}

void
routerdesc_list_free_(routerdesc_t **l, size_t n)
{
  if (!l)
    return;
  for (size_t i = 0; i < n; i++)
    routerdesc_free(l[i]);
  al_free(l);
}
