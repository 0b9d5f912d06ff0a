/* path.h -- choosing a whole 3-hop path (path-spec 2.2): the exit first
 * (or, for internal circuits, a last hop chosen like a middle), then the
 * guard from the guard module (guard-spec 4.6), then the middle; no relay
 * twice, no two in the same family or (EnforceDistinctSubnets) /16.
 */
#ifndef ALLIUM_FEATURE_PATHSEL_PATH_H
#define ALLIUM_FEATURE_PATHSEL_PATH_H

#include "allium/feature/pathsel/guards.h"
#include "allium/feature/pathsel/pathsel.h"

typedef struct pathsel_path_t {
  const node_t *hops[3];           /* guard, middle, exit (borrowed) */
  guard_entry_t *guard;            /* the guard-module entry (borrowed) */
  guard_circ_state_t guard_state;  /* circuit state per guard-spec 4.6 */
} pathsel_path_t;

/** Choose a path.  internal: the last hop is chosen like a middle and its
 * exit policy ignored; else the exit must allow port (0: any port).  The
 * guard comes from gs (which must have been updated with nl).
 * 0, PATHSEL_ERR_NONODE (no exit or middle) or PATHSEL_ERR_NOGUARD. */
int pathsel_build_path(const nodelist_t *nl, guard_selection_t *gs,
                       const pathsel_options_t *o, bool internal, uint16_t port,
                       time_t now, const pathsel_rng_t *rng, pathsel_path_t *out);

#endif
