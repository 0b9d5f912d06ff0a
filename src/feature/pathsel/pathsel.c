/* pathsel.c -- bandwidth-weighted node choice (path-spec 2.2, dir-spec
 * 3.4.1 "bandwidth-weights" and 3.8.3), exit choice for a port (path-spec
 * 2.2.1) and the user's node lists (path-spec 2.2.2, tor(1) ExitNodes,
 * ExcludeNodes, StrictNodes).
 */
#include <math.h>
#include <string.h>

#define LOG_MODULE "pathsel"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

uint64_t
pathsel_rand(const pathsel_rng_t *rng, uint64_t max)
{
  if (max == 0)
    return 0;
  if (rng && rng->fn) {
    uint64_t v = rng->fn(rng->ctx, max);
    return v < max ? v : v % max;
  }
  return crypto_rand_uint64(max);
}

void
pathsel_options_init(pathsel_options_t *o)
{
  memset(o, 0, sizeof(*o));
  o->enforce_distinct_subnets = true;
  o->need_fast = true;
}

/* Weight names per position, indexed [pos][kind] with kind 0 = Guard only,
 * 1 = neither, 2 = Exit only, 3 = Guard+Exit.  NULL: weight 0. */
static const char *const weight_names[3][4] = {
  { "Wgg", "Wgm", NULL, "Wgd" },
  { "Wmg", "Wmm", "Wme", "Wmd" },
  { "Weg", "Wem", "Wee", "Wed" },
};

double
pathsel_node_weight(const nodelist_t *nl, const node_t *n, pathsel_position_t pos)
{
  if (!n || (unsigned)pos > PATHSEL_POS_EXIT)
    return 0.0;
  int32_t scale = nodelist_get_param(nl, "bwweightscale", 10000, 1, INT32_MAX);
  bool guard = (n->flags & NODE_FLAG_GUARD) != 0;
  bool exit = (n->flags & NODE_FLAG_EXIT) && !(n->flags & NODE_FLAG_BADEXIT);
  int kind = guard ? (exit ? 3 : 0) : (exit ? 2 : 1);
  const char *name = weight_names[pos][kind];
  if (!name)
    return 0.0;
  int32_t w = nodelist_get_bw_weight(nl, name, scale);
  if (w < 0)
    w = 0;
  if (w > scale)
    w = scale;
  return (double)n->bandwidth * (double)w / (double)scale;
}

const node_t *
pathsel_choose_weighted(const nodelist_t *nl, pathsel_position_t pos,
                        pathsel_filter_fn filter, void *arg, const pathsel_rng_t *rng)
{
  size_t nn = nodelist_n_nodes(nl);
  if (nn == 0)
    return NULL;
  const node_t **cand = al_calloc(nn, sizeof(node_t *));
  double *w = al_calloc(nn, sizeof(double));
  size_t nc = 0;
  double total = 0.0;
  for (size_t i = 0; i < nn; i++) {
    const node_t *n = nodelist_get_node(nl, i);
    if (filter && !filter(n, arg))
      continue;
    cand[nc] = n;
    w[nc] = pathsel_node_weight(nl, n, pos);
    total += w[nc];
    nc++;
  }
  const node_t *res = NULL;
  if (nc == 0)
    goto done;
  if (!(total > 0.0)) {
    res = cand[pathsel_rand(rng, nc)];
    goto done;
  }
  /* Integer weights summing to at most 2^52, so one uniform draw decides. */
  double factor = 4503599627370496.0 / total;
  uint64_t itotal = 0;
  uint64_t *iw = al_calloc(nc, sizeof(uint64_t));
  for (size_t i = 0; i < nc; i++) {
    iw[i] = (uint64_t)floor(w[i] * factor);
    itotal += iw[i];
  }
  if (itotal == 0) {
    res = cand[pathsel_rand(rng, nc)];
  } else {
    uint64_t r = pathsel_rand(rng, itotal);
    for (size_t i = 0; i < nc; i++) {
      if (r < iw[i]) {
        res = cand[i];
        break;
      }
      r -= iw[i];
    }
  }
  al_free(iw);
done:
  al_free(cand);
  al_free(w);
  return res;
}

bool
pathsel_compatible(const pathsel_options_t *o, const pathsel_avoid_t *av, const node_t *n)
{
  if (!av)
    return true;
  bool subnets = o ? o->enforce_distinct_subnets : true;
  for (size_t i = 0; i < av->n && i < 8; i++)
    if (av->nodes[i] && nodes_are_related(av->nodes[i], n, subnets))
      return false;
  return true;
}

typedef struct hop_filter_t {
  const pathsel_options_t *o;
  const pathsel_avoid_t *av;
  bool exit;
  uint16_t port;
  bool ignore_exclude;
} hop_filter_t;

static bool
hop_filter(const node_t *n, void *arg)
{
  const hop_filter_t *f = arg;
  const pathsel_options_t *o = f->o;
  if (!node_is_usable(n))
    return false;
  if (o->need_fast && !(n->flags & NODE_FLAG_FAST))
    return false;
  if (o->need_stable && !(n->flags & NODE_FLAG_STABLE))
    return false;
  if (!f->ignore_exclude && routerset_contains_node(o->exclude_nodes, n))
    return false;
  if (f->exit) {
    if (n->flags & NODE_FLAG_MIDDLEONLY)
      return false;
    if ((n->flags & NODE_FLAG_BADEXIT) && !o->allow_bad_exits)
      return false;
    if (!routerset_is_empty(o->exit_nodes) && !routerset_contains_node(o->exit_nodes, n))
      return false;
    if (!node_allows_exit_port(n, f->port))
      return false;
  }
  return pathsel_compatible(o, f->av, n);
}

static const node_t *
choose_hop(const nodelist_t *nl, const pathsel_options_t *o, bool exit, uint16_t port,
           const pathsel_avoid_t *av, const pathsel_rng_t *rng)
{
  pathsel_options_t dflt;
  if (!o) {
    pathsel_options_init(&dflt);
    o = &dflt;
  }
  hop_filter_t f = { o, av, exit, port, false };
  pathsel_position_t pos = exit ? PATHSEL_POS_EXIT : PATHSEL_POS_MIDDLE;
  const node_t *n = pathsel_choose_weighted(nl, pos, hop_filter, &f, rng);
  if (!n && !o->strict_nodes && !routerset_is_empty(o->exclude_nodes)) {
    f.ignore_exclude = true;
    n = pathsel_choose_weighted(nl, pos, hop_filter, &f, rng);
    if (n)
      log_info("No %s node outside ExcludeNodes; using an excluded one since "
                 "StrictNodes is 0.", exit ? "exit" : "middle");
  }
  return n;
}

const node_t *
pathsel_choose_exit(const nodelist_t *nl, const pathsel_options_t *o, uint16_t port,
                    const pathsel_avoid_t *av, const pathsel_rng_t *rng)
{
  return choose_hop(nl, o, true, port, av, rng);
}

const node_t *
pathsel_choose_middle(const nodelist_t *nl, const pathsel_options_t *o,
                      const pathsel_avoid_t *av, const pathsel_rng_t *rng)
{
  return choose_hop(nl, o, false, 0, av, rng);
}
