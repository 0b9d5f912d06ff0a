/* consensus.c -- parse network-status consensus documents (dir-spec 3.4.1
 * "Vote and consensus status document formats", flavours of 3.9, signatures
 * as in 1.3 with the 3.4.1 rule that the digest runs through the space after
 * the first "directory-signature") and verify their signatures against
 * authority key certificates (dir-spec 3.1).
 * See include/allium/feature/dirparse/consensus.h.
 */
#include "allium/feature/dirparse/consensus.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"
#include "consensus_internal.h"

/* ---- rule tables ---- */

static const netdoc_rule_t header_rules[] = {
  { "network-status-version", H_VERSION, NETDOC_AT_START, 1, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "vote-status", H_VOTE_STATUS, NETDOC_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "consensus-method", H_METHOD, NETDOC_AT_MOST_ONCE, 1, 1, NETDOC_OBJ_FORBIDDEN, NULL },
  { "valid-after", H_VALID_AFTER, NETDOC_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "fresh-until", H_FRESH_UNTIL, NETDOC_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "valid-until", H_VALID_UNTIL, NETDOC_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "voting-delay", H_VOTING_DELAY, NETDOC_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN,
    NULL },
  { "client-versions", H_CLIENT_VERSIONS, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "server-versions", H_SERVER_VERSIONS, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "package", H_PACKAGE, NETDOC_ANY, 4, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "known-flags", H_KNOWN_FLAGS, NETDOC_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "recommended-client-protocols", H_REC_CLIENT, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "recommended-relay-protocols", H_REC_RELAY, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "required-client-protocols", H_REQ_CLIENT, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "required-relay-protocols", H_REQ_RELAY, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "params", H_PARAMS, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "shared-rand-previous-value", H_SRV_PREV, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "shared-rand-current-value", H_SRV_CUR, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  /* vote-only or out-of-section items */
  { "published", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "consensus-methods", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "flag-thresholds", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "contact", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "vote-digest", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "bandwidth-weights", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "s", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "m", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "r", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "directory-footer", H_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

static const netdoc_rule_t router_rules_ns[] = {
  { "r", R_R, NETDOC_AT_START, 8, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "a", R_A, NETDOC_ANY, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "s", R_S, NETDOC_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "v", R_V, NETDOC_AT_MOST_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "pr", R_PR, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "w", R_W, NETDOC_AT_MOST_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "p", R_P, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "dir-source", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "contact", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "vote-digest", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "bandwidth-weights", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

static const netdoc_rule_t router_rules_md[] = {
  { "r", R_R, NETDOC_AT_START, 7, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "a", R_A, NETDOC_ANY, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "s", R_S, NETDOC_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "v", R_V, NETDOC_AT_MOST_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "pr", R_PR, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "w", R_W, NETDOC_AT_MOST_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "p", R_P, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "m", R_M, NETDOC_ONCE, 1, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "dir-source", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "contact", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "vote-digest", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "bandwidth-weights", R_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

static const netdoc_rule_t footer_rules[] = {
  { "directory-footer", F_FOOTER, NETDOC_AT_START, 0, 0, NETDOC_OBJ_FORBIDDEN, NULL },
  { "bandwidth-weights", F_WEIGHTS, NETDOC_AT_MOST_ONCE, 0, NETDOC_ARGS_ANY,
    NETDOC_OBJ_FORBIDDEN, NULL },
  { "directory-signature", F_SIG, NETDOC_ONCE_OR_MORE, 2, NETDOC_ARGS_ANY,
    NETDOC_OBJ_REQUIRED, "SIGNATURE" },
  { "dir-source", F_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "r", F_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "s", F_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

/* ---- footer ---- */

static int
parse_sig(consensus_sig_t *sg, const netdoc_token_t *t, netdoc_err_t *err)
{
  int a = 0;
  if (t->n_args >= 3) {
    a = 1;
    if (strcmp(t->args[0], "sha1") == 0) {
      sg->alg_known = 1;
    } else if (strcmp(t->args[0], "sha256") == 0) {
      sg->alg_known = 1;
      sg->alg_sha256 = 1;
    } else {
      return 0;  /* unknown algorithm: ignored */
    }
  } else {
    sg->alg_known = 1;
  }
  if (netdoc_parse_hex(t->args[a], sg->identity, 20) < 0 ||
      netdoc_parse_hex(t->args[a + 1], sg->signing_key_digest, 20) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "bad digest in directory-signature");
  sg->sig = al_memdup(t->obj, t->obj_len);
  sg->sig_len = t->obj_len;
  return 0;
}

static int
parse_footer(consensus_t *c, netdoc_token_t *tok, size_t n, netdoc_err_t *err)
{
  int rv = netdoc_check_rules(tok, n, footer_rules, err);
  if (rv < 0)
    return rv;
  int seen_sig = 0;
  for (size_t i = 0; i < n; i++) {
    const netdoc_token_t *t = &tok[i];
    if (t->id != F_SIG && seen_sig)
      return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno,
                        "item after directory-signature");
    if (t->id == F_WEIGHTS) {
      rv = consensus_parse_kv(t, &c->bw_weights, &c->n_bw_weights, 0, err);
    } else if (t->id == F_SIG) {
      seen_sig = 1;
      c->sigs = al_reallocarray(c->sigs, c->n_sigs + 1, sizeof(*c->sigs));
      consensus_sig_t *sg = &c->sigs[c->n_sigs++];
      memset(sg, 0, sizeof(*sg));
      rv = parse_sig(sg, t, err);
    }
    if (rv < 0)
      return rv;
  }
  return 0;
}

/* ---- top level ---- */

static size_t
find_kw(const netdoc_t *d, size_t from, const char *kw)
{
  for (size_t i = from; i < d->n_tok; i++)
    if (strcmp(d->tok[i].keyword, kw) == 0)
      return i;
  return d->n_tok;
}

/* Compute the digests of the signed portion. */
static int
signed_digests(consensus_t *c, const netdoc_t *d, size_t i_sig, netdoc_err_t *err)
{
  const netdoc_token_t *t = &d->tok[i_sig];
  size_t kl = strlen("directory-signature");
  if (t->line[kl] != ' ')
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "directory-signature not followed by SP");
  size_t slen = (size_t)(t->line + kl + 1 - d->start);
  if (digest_sha1(c->digest_sha1, d->start, slen) < 0 ||
      digest_sha256(c->digest_sha256, d->start, slen) < 0)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, t->lineno, "digest failed");
  return 0;
}

static int
parse_sections(consensus_t *c, netdoc_t *d, netdoc_err_t *err)
{
  size_t n = d->n_tok;
  size_t i_auth = find_kw(d, 0, "dir-source");
  size_t i_foot = find_kw(d, i_auth, "directory-footer");
  size_t i_r = find_kw(d, i_auth, "r");
  size_t i_sig = find_kw(d, 0, "directory-signature");
  int last_line = n ? d->tok[n - 1].lineno : 1;
  if (i_auth == n)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, last_line, "no dir-source item");
  if (i_foot == n)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, last_line, "no directory-footer item");
  if (i_sig < i_foot)
    return netdoc_err(err, DIRPARSE_ERR_SYNTAX, d->tok[i_sig].lineno,
                      "directory-signature before directory-footer");
  if (i_r > i_foot)
    i_r = i_foot;
  int rv = netdoc_check_rules(d->tok, i_auth, header_rules, err);
  if (rv == 0)
    rv = consensus_parse_header(c, d->tok, i_auth, err);
  if (rv == 0)
    rv = consensus_parse_authorities(c, d->tok + i_auth, i_r - i_auth, err);
  const netdoc_rule_t *rr = c->flavor == CONSENSUS_FLAVOR_NS ? router_rules_ns : router_rules_md;
  if (rv == 0)
    rv = consensus_parse_routers(c, d->tok + i_r, i_foot - i_r, rr, err);
  if (rv == 0)
    rv = parse_footer(c, d->tok + i_foot, n - i_foot, err);
  if (rv == 0)
    rv = signed_digests(c, d, i_sig, err);
  return rv;
}

int
consensus_parse(const char *s, size_t len, consensus_t **out, netdoc_err_t *err)
{
  if (!out)
    return netdoc_err(err, DIRPARSE_ERR_ARG, 0, "bad arguments");
  *out = NULL;
  netdoc_t *d = NULL;
  int rv = netdoc_tokenize(s, len, 0, &d, err);
  if (rv < 0)
    return rv;
  consensus_t *c = al_calloc(1, sizeof(*c));
  c->consensus_method = 1;
  rv = parse_sections(c, d, err);
  netdoc_free(d);
  if (rv < 0) {
    consensus_free(c);
    return rv;
  }
  *out = c;
  return 0;
}

/* ---- signatures ---- */

int
consensus_verify_signatures(consensus_t *c, authcert_t *const *certs, size_t n_certs,
                            time_t now)
{
  if (!c)
    return 0;
  int good = 0;
  for (size_t i = 0; i < c->n_sigs; i++) {
    consensus_sig_t *sg = &c->sigs[i];
    sg->verified = 0;
    if (!sg->alg_known)
      continue;
    for (size_t k = 0; k < n_certs; k++) {
      const authcert_t *ac = certs[k];
      if (!ac || memcmp(ac->identity_digest, sg->identity, 20) != 0 ||
          memcmp(ac->signing_digest, sg->signing_key_digest, 20) != 0)
        continue;
      if (now != 0 && !authcert_is_live(ac, now, 0))
        continue;
      const uint8_t *dg = sg->alg_sha256 ? c->digest_sha256 : c->digest_sha1;
      size_t dl = sg->alg_sha256 ? 32 : 20;
      if (rsa_verify_raw(ac->signing_key, sg->sig, sg->sig_len, dg, dl) == 0) {
        sg->verified = 1;
        break;
      }
    }
    if (!sg->verified)
      continue;
    int dup = 0;
    for (size_t j = 0; j < i; j++)
      if (c->sigs[j].verified && memcmp(c->sigs[j].identity, sg->identity, 20) == 0)
        dup = 1;
    if (!dup)
      good++;
  }
  return good;
}

/* ---- lookups ---- */

static const consensus_kv_t *
kv_find(const consensus_kv_t *kv, size_t n, const char *name)
{
  for (size_t i = 0; name && i < n; i++)
    if (strcmp(kv[i].name, name) == 0)
      return &kv[i];
  return NULL;
}

int32_t
consensus_get_param(const consensus_t *c, const char *name, int32_t def,
                    int32_t min, int32_t max)
{
  const consensus_kv_t *kv = c ? kv_find(c->params, c->n_params, name) : NULL;
  int32_t v = kv ? kv->value : def;
  if (v < min)
    v = min;
  if (v > max)
    v = max;
  return v;
}

int32_t
consensus_get_bw_weight(const consensus_t *c, const char *name, int32_t def)
{
  const consensus_kv_t *kv = c ? kv_find(c->bw_weights, c->n_bw_weights, name) : NULL;
  return kv ? kv->value : def;
}

int
consensus_is_live(const consensus_t *c, time_t now, time_t skew)
{
  return c && now + skew >= c->valid_after && now - skew <= c->valid_until;
}

const consensus_router_t *
consensus_find_router(const consensus_t *c, const uint8_t id[20])
{
  size_t lo = 0, hi = c ? c->n_routers : 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = memcmp(c->routers[mid].identity, id, 20);
    if (r == 0)
      return &c->routers[mid];
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static void
kv_free(consensus_kv_t *kv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    al_free(kv[i].name);
  al_free(kv);
}

void
consensus_free_(consensus_t *c)
{
  if (!c)
    return;
  al_free(c->client_versions);
  al_free(c->server_versions);
  for (size_t i = 0; i < c->n_known_flags; i++)
    al_free(c->known_flags[i]);
  al_free(c->known_flags);
  al_free(c->recommended_client_protocols);
  al_free(c->recommended_relay_protocols);
  al_free(c->required_client_protocols);
  al_free(c->required_relay_protocols);
  kv_free(c->params, c->n_params);
  kv_free(c->bw_weights, c->n_bw_weights);
  for (size_t i = 0; i < c->n_dirsources; i++) {
    al_free(c->dirsources[i].nickname);
    al_free(c->dirsources[i].address);
    al_free(c->dirsources[i].contact);
  }
  al_free(c->dirsources);
  for (size_t i = 0; i < c->n_routers; i++) {
    al_free(c->routers[i].version);
    al_free(c->routers[i].protocols);
    al_free(c->routers[i].policy_summary);
  }
  al_free(c->routers);
  for (size_t i = 0; i < c->n_sigs; i++)
    al_free(c->sigs[i].sig);
  al_free(c->sigs);
  al_free(c);
}
