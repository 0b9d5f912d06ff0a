/* path.c -- whole 3-hop paths (path-spec 2.2: "We choose the exit node
 * first, followed by the other nodes in the circuit, front to back"), with
 * the guard taken from guard-spec 4.6 selection restricted to nodes
 * compatible with the chosen exit.
 */
#include <string.h>

#define LOG_MODULE "pathsel"
#include "allium/feature/pathsel/path.h"
#include "allium/lib/log/log.h"

int
pathsel_build_path(const nodelist_t *nl, guard_selection_t *gs, const pathsel_options_t *o,
                   bool internal, uint16_t port, time_t now, const pathsel_rng_t *rng,
                   pathsel_path_t *out)
{
  if (!nl || !gs || !out)
    return PATHSEL_ERR_INVAL;
  memset(out, 0, sizeof(*out));
  pathsel_options_t dflt;
  if (!o) {
    pathsel_options_init(&dflt);
    o = &dflt;
  }
  pathsel_avoid_t av = { { NULL }, 0 };
  const node_t *last = internal ? pathsel_choose_middle(nl, o, &av, rng)
                                : pathsel_choose_exit(nl, o, port, &av, rng);
  if (!last)
    return PATHSEL_ERR_NONODE;
  av.nodes[av.n++] = last;

  guard_entry_t *g = NULL;
  guard_circ_state_t st;
  int r = guard_choose(gs, nl, o, &av, false, now, rng, &g, &st);
  if (r != 0)
    return r;
  const node_t *guard = nodelist_find_by_rsa_id(nl, g->rsa_id);
  if (!guard)
    return PATHSEL_ERR_NOGUARD;
  av.nodes[av.n++] = guard;

  const node_t *mid = pathsel_choose_middle(nl, o, &av, rng);
  if (!mid) {
    /* the guard was marked as tried; release its pending mark */
    g->is_pending = false;
    return PATHSEL_ERR_NONODE;
  }
  out->hops[0] = guard;
  out->hops[1] = mid;
  out->hops[2] = last;
  out->guard = g;
  out->guard_state = st;
  return 0;
}
