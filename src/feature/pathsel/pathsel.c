/* pathsel.c -- bandwidth-weighted node choice (path-spec 2.2, dir-spec
 * 3.4.1 "bandwidth-weights" and 3.8.3), exit choice for a port (path-spec
 * 2.2.1) and the user's node lists (path-spec 2.2.2, tor(1) ExitNodes,
 * ExcludeNodes, ExcludeExitNodes, StrictNodes: ExcludeNodes is relaxed only
 * for directory fetches and self-tests, never for general circuits), and
 * the first-hop address families (tor(1) ClientUseIPv4, ClientUseIPv6,
 * ClientPreferIPv6ORPort).
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
  o->client_use_ipv4 = true;
  o->client_use_ipv6 = true;
}

bool
pathsel_exclude_relaxable(const pathsel_options_t *o)
{
  return o && !o->strict_nodes && o->purpose != PATHSEL_PURPOSE_GENERAL;
}

bool
pathsel_exit_config_ok(const pathsel_options_t *o, const node_t *n,
                       bool ignore_exclude)
{
  if (!n)
    return false;
  if (n->flags & NODE_FLAG_MIDDLEONLY)
    return false;
  if (!o)
    return !(n->flags & NODE_FLAG_BADEXIT);
  if ((n->flags & NODE_FLAG_BADEXIT) && !o->allow_bad_exits)
    return false;
  if (!routerset_is_empty(o->exit_nodes) && !routerset_contains_node(o->exit_nodes, n))
    return false;
  if (routerset_contains_node(o->exclude_exit_nodes, n))
    return false;
  if (!ignore_exclude && routerset_contains_node(o->exclude_nodes, n))
    return false;
  return true;
}

static bool
has_ipv4_orport(const node_t *n)
{
  static const uint8_t zero4[4] = { 0 };
  return n->orport != 0 && memcmp(n->ipv4, zero4, 4) != 0;
}

static bool
has_ipv6_orport(const node_t *n)
{
  return n->has_ipv6 && n->ipv6_port != 0;
}

bool
pathsel_node_reachable(const pathsel_options_t *o, const node_t *n)
{
  if (!n)
    return false;
  bool use4 = o ? o->client_use_ipv4 : true;
  bool use6 = o ? o->client_use_ipv6 : true;
  return (use4 && has_ipv4_orport(n)) || (use6 && has_ipv6_orport(n));
}

bool
pathsel_first_hop_use_ipv6(const pathsel_options_t *o, const node_t *n)
{
  if (!n || !has_ipv6_orport(n))
    return false;
  bool use4 = o ? o->client_use_ipv4 : true;
  bool use6 = o ? o->client_use_ipv6 : true;
  if (!use6)
    return false;
  if (!has_ipv4_orport(n) || !use4)
    return true;
  return o && o->prefer_ipv6_orport;
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
  bool first_hop;
  uint16_t port;
  bool ignore_exclude;         /* ExcludeNodes */
  bool ignore_exit_exclude;    /* ExcludeExitNodes: diagnosis only */
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
  if (f->first_hop && !pathsel_node_reachable(o, n))
    return false;
  if (f->exit) {
    if (f->ignore_exit_exclude) {
      pathsel_options_t x = *o;
      x.exclude_exit_nodes = NULL;
      if (!pathsel_exit_config_ok(&x, n, f->ignore_exclude))
        return false;
    } else if (!pathsel_exit_config_ok(o, n, f->ignore_exclude)) {
      return false;
    }
    if (!node_allows_exit_port(n, f->port))
      return false;
  }
  return pathsel_compatible(o, f->av, n);
}

/* Warn (rate-limited) that a general circuit has no hop outside the
 * exclusions. */
static void
warn_excluded(const char *what)
{
  static log_ratelim_t rl = LOG_RATELIM_INIT(600);
  unsigned dropped = 0;
  if (!log_ratelim_check(&rl, &dropped))
    return;
  log_warn("No usable %s relay outside ExcludeNodes/ExcludeExitNodes: not "
           "building the circuit.  StrictNodes 0 relaxes ExcludeNodes only "
           "for directory fetches and self-tests, never for a general "
           "circuit. [%u similar messages suppressed]", what, dropped);
}

static const node_t *
choose_hop(const nodelist_t *nl, const pathsel_options_t *o, int role,
           uint16_t port, const pathsel_avoid_t *av, const pathsel_rng_t *rng)
{
  pathsel_options_t dflt;
  if (!o) {
    pathsel_options_init(&dflt);
    o = &dflt;
  }
  bool exit = role == 2;
  hop_filter_t f = { o, av, exit, role == 0, port, false, false };
  pathsel_position_t pos = exit ? PATHSEL_POS_EXIT : PATHSEL_POS_MIDDLE;
  const node_t *n = pathsel_choose_weighted(nl, pos, hop_filter, &f, rng);
  bool excl = !routerset_is_empty(o->exclude_nodes);
  bool excl_exit = exit && !routerset_is_empty(o->exclude_exit_nodes);
  if (n || (!excl && !excl_exit))
    return n;
  f.ignore_exclude = true;
  if (excl && pathsel_exclude_relaxable(o)) {
    n = pathsel_choose_weighted(nl, pos, hop_filter, &f, rng);
    if (n)
      log_info("No %s node outside ExcludeNodes; using an excluded one for "
               "a %s since StrictNodes is 0.", exit ? "exit" : "non-exit",
               o->purpose == PATHSEL_PURPOSE_DIR ? "directory fetch" : "self-test");
    return n;
  }
  f.ignore_exit_exclude = true;
  if (o->purpose == PATHSEL_PURPOSE_GENERAL &&
      pathsel_choose_weighted(nl, pos, hop_filter, &f, rng))
    warn_excluded(exit ? "exit" : role == 0 ? "first-hop" : "middle");
  return NULL;
}

const node_t *
pathsel_choose_exit(const nodelist_t *nl, const pathsel_options_t *o, uint16_t port,
                    const pathsel_avoid_t *av, const pathsel_rng_t *rng)
{
  return choose_hop(nl, o, 2, port, av, rng);
}

const node_t *
pathsel_choose_middle(const nodelist_t *nl, const pathsel_options_t *o,
                      const pathsel_avoid_t *av, const pathsel_rng_t *rng)
{
  return choose_hop(nl, o, 1, 0, av, rng);
}

const node_t *
pathsel_choose_first_hop(const nodelist_t *nl, const pathsel_options_t *o,
                         const pathsel_avoid_t *av, const pathsel_rng_t *rng)
{
  return choose_hop(nl, o, 0, 0, av, rng);
}
