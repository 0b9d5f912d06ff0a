/* consensus_body.c -- the preamble, authority section and router status
 * entries of a consensus (dir-spec 3.4.1; "r" without digest and "m" lines
 * of the microdesc flavour, dir-spec 3.9.2).  Called by consensus.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/malloc/malloc.h"
#include "consensus_internal.h"

static int
tok_time(const netdoc_token_t *t, int a, time_t *out, netdoc_err_t *err)
{
  if (netdoc_parse_time(t->args[a], t->args[a + 1], out) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad time in \"%s\"", t->keyword);
  return 0;
}

static int
kv_name_ok(const char *s, size_t n)
{
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-'))
      return 0;
  }
  return 1;
}

int
consensus_parse_kv(const netdoc_token_t *t, consensus_kv_t **kv, size_t *n, int sorted,
                   netdoc_err_t *err)
{
  consensus_kv_t *a = al_calloc((size_t)t->n_args + 1, sizeof(*a));
  size_t cnt = 0;
  int rv = 0;
  for (int i = 0; i < t->n_args; i++) {
    const char *eq = strchr(t->args[i], '=');
    int64_t v;
    if (!eq || !kv_name_ok(t->args[i], (size_t)(eq - t->args[i])) ||
        netdoc_parse_int(eq + 1, INT32_MIN, INT32_MAX, &v) < 0) {
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad entry in \"%s\"", t->keyword);
      break;
    }
    a[cnt].name = al_strndup(t->args[i], (size_t)(eq - t->args[i]));
    a[cnt].value = (int32_t)v;
    cnt++;
    if (cnt > 1 && (sorted ? strcmp(a[cnt - 2].name, a[cnt - 1].name) >= 0
                           : strcmp(a[cnt - 2].name, a[cnt - 1].name) == 0)) {
      rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unsorted or duplicate entry in \"%s\"",
                      t->keyword);
      break;
    }
  }
  if (rv < 0) {
    for (size_t i = 0; i < cnt; i++)
      al_free(a[i].name);
    al_free(a);
    return rv;
  }
  *kv = a;
  *n = cnt;
  return 0;
}

static int
parse_srv(const netdoc_token_t *t, uint32_t *reveals, uint8_t val[32], int *has,
          netdoc_err_t *err)
{
  int64_t r;
  if (netdoc_parse_int(t->args[0], 0, UINT32_MAX, &r) < 0 || netdoc_parse_b64(t->args[1], val, 32) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad shared random value");
  *reveals = (uint32_t)r;
  *has = 1;
  return 0;
}

static int
parse_version_line(consensus_t *c, const netdoc_token_t *t, netdoc_err_t *err)
{
  if (strcmp(t->args[0], "3") != 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unsupported network-status-version");
  if (t->n_args < 2 || strcmp(t->args[1], "ns") == 0)
    c->flavor = CONSENSUS_FLAVOR_NS;
  else if (strcmp(t->args[1], "microdesc") == 0)
    c->flavor = CONSENSUS_FLAVOR_MICRODESC;
  else
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unsupported consensus flavour");
  return 0;
}

static int
header_item(consensus_t *c, const netdoc_token_t *t, netdoc_err_t *err)
{
  int64_t v, v2;
  switch (t->id) {
  case H_VERSION:
    return parse_version_line(c, t, err);
  case H_VOTE_STATUS:
    if (strcmp(t->args[0], "consensus") != 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "not a consensus");
    return 0;
  case H_METHOD:
    if (netdoc_parse_int(t->args[0], 1, INT32_MAX, &v) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad consensus-method");
    c->consensus_method = (int)v;
    return 0;
  case H_VALID_AFTER: return tok_time(t, 0, &c->valid_after, err);
  case H_FRESH_UNTIL: return tok_time(t, 0, &c->fresh_until, err);
  case H_VALID_UNTIL: return tok_time(t, 0, &c->valid_until, err);
  case H_VOTING_DELAY:
    if (netdoc_parse_int(t->args[0], 0, INT32_MAX, &v) < 0 ||
        netdoc_parse_int(t->args[1], 0, INT32_MAX, &v2) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad voting-delay");
    c->vote_seconds = (int)v;
    c->dist_seconds = (int)v2;
    return 0;
  case H_CLIENT_VERSIONS: c->client_versions = netdoc_join_args(t->args, t->n_args); return 0;
  case H_SERVER_VERSIONS: c->server_versions = netdoc_join_args(t->args, t->n_args); return 0;
  case H_REC_CLIENT:
    c->recommended_client_protocols = netdoc_join_args(t->args, t->n_args);
    return 0;
  case H_REC_RELAY:
    c->recommended_relay_protocols = netdoc_join_args(t->args, t->n_args);
    return 0;
  case H_REQ_CLIENT: c->required_client_protocols = netdoc_join_args(t->args, t->n_args); return 0;
  case H_REQ_RELAY: c->required_relay_protocols = netdoc_join_args(t->args, t->n_args); return 0;
  case H_KNOWN_FLAGS:
    c->known_flags = al_calloc((size_t)t->n_args + 1, sizeof(char *));
    for (int i = 0; i < t->n_args; i++)
      c->known_flags[c->n_known_flags++] = al_strdup(t->args[i]);
    return 0;
  case H_PARAMS: return consensus_parse_kv(t, &c->params, &c->n_params, 1, err);
  case H_SRV_PREV:
    return parse_srv(t, &c->srv_previous_reveals, c->srv_previous, &c->has_srv_previous, err);
  case H_SRV_CUR:
    return parse_srv(t, &c->srv_current_reveals, c->srv_current, &c->has_srv_current, err);
  default:
    return 0;
  }
}

int
consensus_parse_header(consensus_t *c, const netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  for (size_t i = 0; i < n; i++) {
    int rv = header_item(c, &tok[i], err);
    if (rv < 0)
      return rv;
  }
  const netdoc_token_t *t = netdoc_find(tok, n, H_VALID_UNTIL);
  if (!(c->valid_after < c->fresh_until && c->fresh_until <= c->valid_until))
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno,
                      "valid-after, fresh-until, valid-until out of order");
  return 0;
}

/* ---- authority section ---- */

static int
parse_dirsource(consensus_dirsource_t *ds, const netdoc_token_t *t, netdoc_err_t *err)
{
  int64_t dp, op;
  if (t->n_args < 6 || t->obj)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "malformed dir-source");
  size_t nl = strlen(t->args[0]);
  ds->is_legacy = nl > 7 && strcmp(t->args[0] + nl - 7, "-legacy") == 0;
  char nick[32];
  snprintf(nick, sizeof(nick), "%.*s", (int)(ds->is_legacy ? nl - 7 : nl), t->args[0]);
  if (nl >= sizeof(nick) || !netdoc_is_nickname(nick) ||
      netdoc_parse_hex(t->args[1], ds->identity, 20) < 0 ||
      netdoc_parse_ipv4(t->args[3], ds->ipv4) < 0 ||
      netdoc_parse_int(t->args[4], 0, 65535, &dp) < 0 ||
      netdoc_parse_int(t->args[5], 0, 65535, &op) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "malformed dir-source");
  ds->nickname = al_strdup(t->args[0]);
  ds->address = al_strdup(t->args[2]);
  ds->dirport = (uint16_t)dp;
  ds->orport = (uint16_t)op;
  return 0;
}

static int
group_complete(const consensus_t *c, int line, int have_vd, netdoc_err_t *err)
{
  if (c->n_dirsources == 0)
    return 0;
  const consensus_dirsource_t *ds = &c->dirsources[c->n_dirsources - 1];
  if (!ds->is_legacy && (!ds->contact || !have_vd))
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, line, "dir-source without contact and vote-digest");
  return 0;
}

int
consensus_parse_authorities(consensus_t *c, const netdoc_token_t *tok, size_t n,
                            netdoc_err_t *err)
{
  static const char *const elsewhere[] = { "s", "m", "w", "p", "v", "pr", "a",
    "bandwidth-weights", "valid-after", "known-flags", "params", NULL };
  int have_vd = 0, rv = 0;
  for (size_t i = 0; i < n && rv == 0; i++) {
    const netdoc_token_t *t = &tok[i];
    consensus_dirsource_t *cur = c->n_dirsources ? &c->dirsources[c->n_dirsources - 1] : NULL;
    if (strcmp(t->keyword, "dir-source") == 0) {
      if ((rv = group_complete(c, t->lineno, have_vd, err)) < 0)
        break;
      c->dirsources = al_reallocarray(c->dirsources, c->n_dirsources + 1, sizeof(*cur));
      cur = &c->dirsources[c->n_dirsources++];
      memset(cur, 0, sizeof(*cur));
      have_vd = 0;
      rv = parse_dirsource(cur, t, err);
    } else if (strcmp(t->keyword, "contact") == 0) {
      if (!cur || cur->is_legacy || cur->contact || have_vd || t->obj)
        rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unexpected contact");
      else
        cur->contact = netdoc_join_args(t->args, t->n_args);
    } else if (strcmp(t->keyword, "vote-digest") == 0) {
      if (!cur || cur->is_legacy || !cur->contact || have_vd || t->obj || t->n_args < 1 ||
          netdoc_parse_hex(t->args[0], cur->vote_digest, 20) < 0)
        rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "unexpected or bad vote-digest");
      have_vd = 1;
    } else {
      for (int k = 0; elsewhere[k]; k++)
        if (strcmp(t->keyword, elsewhere[k]) == 0)
          rv = netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno,
                          "\"%s\" in the authority section", t->keyword);
    }
  }
  if (rv == 0)
    rv = group_complete(c, n ? tok[n - 1].lineno : 0, have_vd, err);
  return rv;
}

/* ---- router status entries ---- */

static const struct { const char *name; uint32_t bit; } flag_names[] = {
  { "Authority", CONSENSUS_FLAG_AUTHORITY }, { "BadExit", CONSENSUS_FLAG_BADEXIT },
  { "Exit", CONSENSUS_FLAG_EXIT }, { "Fast", CONSENSUS_FLAG_FAST },
  { "Guard", CONSENSUS_FLAG_GUARD }, { "HSDir", CONSENSUS_FLAG_HSDIR },
  { "MiddleOnly", CONSENSUS_FLAG_MIDDLEONLY },
  { "NoEdConsensus", CONSENSUS_FLAG_NOEDCONSENSUS }, { "Running", CONSENSUS_FLAG_RUNNING },
  { "Stable", CONSENSUS_FLAG_STABLE }, { "StaleDesc", CONSENSUS_FLAG_STALEDESC },
  { "Sybil", CONSENSUS_FLAG_SYBIL }, { "V2Dir", CONSENSUS_FLAG_V2DIR },
  { "Valid", CONSENSUS_FLAG_VALID }, { NULL, 0 },
};

static int
parse_r(const consensus_t *c, consensus_router_t *r, const netdoc_token_t *t, netdoc_err_t *err)
{
  int a = 2;
  int64_t op, dp;
  if (!netdoc_is_nickname(t->args[0]) || netdoc_parse_b64(t->args[1], r->identity, 20) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad nickname or identity in \"r\"");
  if (c->flavor == CONSENSUS_FLAVOR_NS && netdoc_parse_b64(t->args[a++], r->desc_digest, 20) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad digest in \"r\"");
  if (netdoc_parse_time(t->args[a], t->args[a + 1], &r->published) < 0 ||
      netdoc_parse_ipv4(t->args[a + 2], r->ipv4) < 0 ||
      netdoc_parse_int(t->args[a + 3], 1, 65535, &op) < 0 ||
      netdoc_parse_int(t->args[a + 4], 0, 65535, &dp) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad time, address or port in \"r\"");
  snprintf(r->nickname, sizeof(r->nickname), "%s", t->args[0]);
  r->orport = (uint16_t)op;
  r->dirport = (uint16_t)dp;
  return 0;
}

static int
parse_s(const consensus_t *c, consensus_router_t *r, const netdoc_token_t *t, netdoc_err_t *err)
{
  for (int i = 0; i < t->n_args; i++) {
    size_t k;
    for (k = 0; k < c->n_known_flags; k++)
      if (strcmp(c->known_flags[k], t->args[i]) == 0)
        break;
    if (k == c->n_known_flags)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "flag not in known-flags");
    for (k = 0; flag_names[k].name; k++)
      if (strcmp(flag_names[k].name, t->args[i]) == 0)
        r->flags |= flag_names[k].bit;
  }
  return 0;
}

static int
parse_w(consensus_router_t *r, const netdoc_token_t *t, netdoc_err_t *err)
{
  for (int i = 0; i < t->n_args; i++) {
    const char *s = t->args[i];
    int64_t v;
    int bad = 0;
    if (strncmp(s, "Bandwidth=", 10) == 0) {
      bad = netdoc_parse_int(s + 10, 0, UINT32_MAX, &v) < 0;
      r->bandwidth = (uint32_t)v;
      r->has_bandwidth = 1;
    } else if (strncmp(s, "Measured=", 9) == 0) {
      bad = netdoc_parse_int(s + 9, 0, UINT32_MAX, &v) < 0;
      r->measured = (uint32_t)v;
      r->has_measured = 1;
    } else if (strncmp(s, "Unmeasured=", 11) == 0) {
      bad = netdoc_parse_int(s + 11, 0, 1, &v) < 0;
      r->unmeasured = (int)v;
    }
    if (bad)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad value in \"w\"");
  }
  if (!r->has_bandwidth)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "\"w\" without Bandwidth=");
  return 0;
}

static int
router_item(const consensus_t *c, consensus_router_t *r, const netdoc_token_t *t,
            netdoc_err_t *err)
{
  uint8_t addr[16];
  int v6;
  uint16_t port;
  switch (t->id) {
  case R_R: return parse_r(c, r, t, err);
  case R_A:
    if (netdoc_parse_addrport(t->args[0], addr, &v6, &port) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad address in \"a\"");
    if (v6 && !r->has_ipv6) {
      memcpy(r->ipv6, addr, 16);
      r->ipv6_port = port;
      r->has_ipv6 = 1;
    }
    return 0;
  case R_S: return parse_s(c, r, t, err);
  case R_V: r->version = netdoc_join_args(t->args, t->n_args); return 0;
  case R_PR: r->protocols = netdoc_join_args(t->args, t->n_args); return 0;
  case R_W: return parse_w(r, t, err);
  case R_P:
    if ((strcmp(t->args[0], "accept") != 0 && strcmp(t->args[0], "reject") != 0) ||
        netdoc_check_portlist(t->args[1]) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad policy summary");
    r->policy_summary = netdoc_join_args(t->args, 2);
    return 0;
  case R_M:
    if (netdoc_parse_b64(t->args[0], r->md_digest, 32) < 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad microdescriptor digest");
    r->has_md_digest = 1;
    return 0;
  default:
    return 0;
  }
}

int
consensus_parse_routers(consensus_t *c, netdoc_token_t *tok, size_t n,
                        const netdoc_rule_t *rules, netdoc_err_t *err)
{
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && strcmp(tok[j].keyword, "r") != 0)
      j++;
    int rv = netdoc_check_rules(tok + i, j - i, rules, err);
    if (rv < 0)
      return rv;
    c->routers = al_reallocarray(c->routers, c->n_routers + 1, sizeof(*c->routers));
    consensus_router_t *r = &c->routers[c->n_routers++];
    memset(r, 0, sizeof(*r));
    for (size_t k = i; k < j; k++)
      if ((rv = router_item(c, r, &tok[k], err)) < 0)
        return rv;
    if (c->n_routers > 1 && memcmp(r[-1].identity, r->identity, 20) >= 0)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, tok[i].lineno,
                        "router entries not sorted by identity");
    i = j;
  }
  return 0;
}
