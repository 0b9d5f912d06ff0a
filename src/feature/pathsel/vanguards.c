/* vanguards.c -- vanguards-lite layer-2 node set (proposal 333 sections 1
 * and the parts of proposal 292 sections 2 and 3.3 it keeps): set size from
 * guard-hs-l2-number, per-member lifetimes from the max(X,X) distribution,
 * replacement of expired / unlisted / unsuitable members, middle-weighted
 * choice of new members, and the uniform choice of one member as the
 * second hop of an onion-service circuit.  Not persisted (proposal 333
 * section 1: "We don't write guards on disk").
 */
#include <string.h>

#define LOG_MODULE "pathsel"
#include "allium/feature/pathsel/vanguards.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"

void
vanguards_clear(vanguards_t *v)
{
  if (v)
    memset(v, 0, sizeof(*v));
}

size_t
vanguards_target_size(const nodelist_t *nl)
{
  return (size_t)nodelist_get_param(nl, "guard-hs-l2-number",
                                    VANGUARDS_DFLT_NUM, 1, VANGUARDS_MAX);
}

void
vanguards_lifetime_bounds(const nodelist_t *nl, time_t *min, time_t *max)
{
  int32_t lo = nodelist_get_param(nl, "guard-hs-l2-lifetime-min",
                                  VANGUARDS_DFLT_LIFETIME_MIN, 1, INT32_MAX);
  int32_t hi = nodelist_get_param(nl, "guard-hs-l2-lifetime-max",
                                  VANGUARDS_DFLT_LIFETIME_MAX, 1, INT32_MAX);
  *min = lo;
  *max = hi < lo ? lo : hi;
}

time_t
vanguards_draw_lifetime(time_t min, time_t max, const pathsel_rng_t *rng)
{
  if (max <= min)
    return min;
  uint64_t span = (uint64_t)(max - min) + 1;
  uint64_t a = pathsel_rand(rng, span), b = pathsel_rand(rng, span);
  return min + (time_t)(a > b ? a : b);
}

bool
vanguards_node_suitable(const pathsel_options_t *o, const node_t *n)
{
  if (!n || !node_is_usable(n))
    return false;
  uint32_t need = NODE_FLAG_STABLE | NODE_FLAG_FAST | NODE_FLAG_RUNNING |
                  NODE_FLAG_VALID;
  if ((n->flags & need) != need)
    return false;
  return !(o && routerset_contains_node(o->exclude_nodes, n));
}

bool
vanguards_contains(const vanguards_t *v, const uint8_t rsa_id[20])
{
  for (size_t i = 0; v && i < v->n; i++)
    if (memcmp(v->e[i].rsa_id, rsa_id, 20) == 0)
      return true;
  return false;
}

static void
log_member(const char *what, const vanguard_entry_t *e, const char *why)
{
  char hex[41];
  base16_encode(hex, sizeof(hex), e->rsa_id, 20);
  log_info("vanguards-lite: layer-2 node $%s (%s) %s%s", hex, e->nickname,
           what, why);
}

/* Why member e must go at now, or NULL if it stays. */
static const char *
member_drop_reason(const vanguard_entry_t *e, const nodelist_t *nl,
                   const pathsel_options_t *o, time_t now)
{
  if (now >= e->expires)
    return " (expired)";
  const node_t *n = nodelist_find_by_rsa_id(nl, e->rsa_id);
  if (!n)
    return " (not in the consensus)";
  if (!vanguards_node_suitable(o, n))
    return " (no longer suitable)";
  return NULL;
}

static int
drop_members(vanguards_t *v, const nodelist_t *nl, const pathsel_options_t *o,
             time_t now, size_t target)
{
  int changed = 0;
  size_t k = 0;
  for (size_t i = 0; i < v->n; i++) {
    const char *why = member_drop_reason(&v->e[i], nl, o, now);
    if (!why && k >= target)
      why = " (set shrinks)";
    if (why) {
      log_member("removed", &v->e[i], why);
      changed++;
      continue;
    }
    if (k != i)
      v->e[k] = v->e[i];
    k++;
  }
  v->n = k;
  return changed;
}

typedef struct add_filter_t {
  const vanguards_t *v;
  const pathsel_options_t *o;
} add_filter_t;

static bool
add_filter(const node_t *n, void *arg)
{
  const add_filter_t *f = arg;
  return vanguards_node_suitable(f->o, n) && !vanguards_contains(f->v, n->rsa_id);
}

int
vanguards_refresh(vanguards_t *v, const nodelist_t *nl,
                  const pathsel_options_t *o, time_t now,
                  const pathsel_rng_t *rng)
{
  if (!v || !nl)
    return 0;
  size_t target = vanguards_target_size(nl);
  int changed = drop_members(v, nl, o, now, target);
  time_t lo, hi;
  vanguards_lifetime_bounds(nl, &lo, &hi);
  add_filter_t f = { v, o };
  while (v->n < target) {
    const node_t *n = pathsel_choose_weighted(nl, PATHSEL_POS_MIDDLE,
                                              add_filter, &f, rng);
    if (!n)
      break;
    vanguard_entry_t *e = &v->e[v->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->rsa_id, n->rsa_id, 20);
    memcpy(e->nickname, n->nickname, sizeof(e->nickname));
    e->nickname[sizeof(e->nickname) - 1] = '\0';
    e->added = now;
    e->expires = now + vanguards_draw_lifetime(lo, hi, rng);
    log_member("added", e, "");
    changed++;
  }
  if (changed)
    log_info("vanguards-lite: %zu layer-2 nodes (wanted %zu)", v->n, target);
  return changed;
}

const node_t *
vanguards_choose(const vanguards_t *v, const nodelist_t *nl,
                 const pathsel_options_t *o, const pathsel_avoid_t *av,
                 time_t now, const pathsel_rng_t *rng)
{
  if (!v || !nl)
    return NULL;
  pathsel_options_t dflt;
  if (!o) {
    pathsel_options_init(&dflt);
    o = &dflt;
  }
  const node_t *cand[VANGUARDS_MAX];
  size_t nc = 0;
  for (size_t i = 0; i < v->n && i < VANGUARDS_MAX; i++) {
    if (now >= v->e[i].expires)
      continue;
    const node_t *n = nodelist_find_by_rsa_id(nl, v->e[i].rsa_id);
    if (!n || !vanguards_node_suitable(o, n))
      continue;
    if (av && !pathsel_compatible(o, av, n))
      continue;
    cand[nc++] = n;
  }
  if (!nc)
    return NULL;
  return cand[pathsel_rand(rng, nc)];
}
