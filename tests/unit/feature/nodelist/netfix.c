/* netfix.c -- synthetic consensus/microdescriptor structs for tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/malloc/malloc.h"
#include "netfix.h"

void
netfix_id(uint8_t id[20], uint8_t b)
{
  memset(id, b, 20);
}

static void
parse_ip(const char *ip, uint8_t out[4])
{
  unsigned a, b, c, d;
  if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
    abort();
  out[0] = (uint8_t)a;
  out[1] = (uint8_t)b;
  out[2] = (uint8_t)c;
  out[3] = (uint8_t)d;
}

static void
parse_kvs(const char *s, consensus_kv_t **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  if (!s)
    return;
  char *copy = al_strdup(s), *save = NULL;
  for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(t, '=');
    *eq = '\0';
    *out = al_reallocarray(*out, *n + 1, sizeof(consensus_kv_t));
    (*out)[*n].name = al_strdup(t);
    (*out)[*n].value = (int32_t)atol(eq + 1);
    (*n)++;
  }
  al_free(copy);
}

static int
cmp_router(const void *a, const void *b)
{
  return memcmp(((const consensus_router_t *)a)->identity,
                ((const consensus_router_t *)b)->identity, 20);
}

static void
md_digest(uint8_t d[32], uint8_t id)
{
  memset(d, 0xAA, 32);
  d[0] = id;
}

consensus_t *
netfix_consensus(const netfix_relay_t *r, size_t n, bool md_flavor, const char *weights,
                 const char *params)
{
  consensus_t *c = al_calloc(1, sizeof(*c));
  c->flavor = md_flavor ? CONSENSUS_FLAVOR_MICRODESC : CONSENSUS_FLAVOR_NS;
  c->consensus_method = 33;
  c->valid_after = NETFIX_VALID_AFTER;
  c->fresh_until = NETFIX_VALID_AFTER + 3600;
  c->valid_until = NETFIX_VALID_AFTER + 3 * 3600;
  parse_kvs(weights, &c->bw_weights, &c->n_bw_weights);
  parse_kvs(params, &c->params, &c->n_params);
  c->routers = al_calloc(n ? n : 1, sizeof(consensus_router_t));
  c->n_routers = n;
  for (size_t i = 0; i < n; i++) {
    consensus_router_t *cr = &c->routers[i];
    snprintf(cr->nickname, sizeof(cr->nickname), "%s", r[i].nick);
    netfix_id(cr->identity, r[i].id);
    memset(cr->desc_digest, r[i].id ^ 0x55, 20);
    parse_ip(r[i].ip, cr->ipv4);
    cr->orport = 9001;
    cr->flags = r[i].flags;
    cr->has_bandwidth = 1;
    cr->bandwidth = r[i].bw;
    cr->protocols = al_strdup("Link=4-5 Relay=1-4");
    if (!md_flavor && r[i].policy)
      cr->policy_summary = al_strdup(r[i].policy);
    if (md_flavor) {
      cr->has_md_digest = 1;
      md_digest(cr->md_digest, r[i].id);
    }
  }
  qsort(c->routers, n, sizeof(consensus_router_t), cmp_router);
  return c;
}

microdesc_t *
netfix_microdesc(const netfix_relay_t *r, size_t n, size_t i)
{
  microdesc_t *md = al_calloc(1, sizeof(*md));
  md_digest(md->digest, r[i].id);
  memset(md->ntor_onion_key, r[i].id, 32);
  md->has_ed25519_id = 1;
  memset(md->ed25519_id, r[i].id ^ 0xFF, 32);
  if (r[i].policy)
    md->policy = al_strdup(r[i].policy);
  if (r[i].family) {
    char *copy = al_strdup(r[i].family), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      uint8_t fid = 0;
      for (size_t j = 0; j < n; j++)
        if (!strcmp(r[j].nick, t))
          fid = r[j].id;
      char hex[42];
      hex[0] = '$';
      uint8_t id[20];
      netfix_id(id, fid);
      node_format_rsa_id(id, hex + 1);
      md->family = al_reallocarray(md->family, md->n_family + 1, sizeof(char *));
      md->family[md->n_family++] = al_strdup(hex);
    }
    al_free(copy);
  }
  return md;
}

nodelist_t *
netfix_nodelist(const netfix_relay_t *r, size_t n, const char *weights, const char *params)
{
  nodelist_t *nl = nodelist_new();
  nodelist_set_consensus(nl, netfix_consensus(r, n, true, weights, params));
  for (size_t i = 0; i < n; i++)
    nodelist_add_microdesc(nl, netfix_microdesc(r, n, i));
  return nl;
}

static uint64_t
splitmix(void *ctx, uint64_t max)
{
  netfix_rng_t *r = ctx;
  for (;;) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    uint64_t lim = UINT64_MAX - UINT64_MAX % max;
    if (z < lim)
      return z % max;
  }
}

void
netfix_rng_init(netfix_rng_t *r, uint64_t seed)
{
  r->state = seed;
  r->rng.fn = splitmix;
  r->rng.ctx = r;
}
