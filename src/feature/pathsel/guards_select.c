/* guards_select.c -- choosing a guard for a circuit and reacting to
 * circuit outcomes: guard-spec 4.6 [SELECTING], 4.7 [ON_FAIL], 4.8
 * [ON_SUCCESS], 4.9 [UPDATE_WAITING] (per guard).
 */
#include <string.h>

#define LOG_MODULE "guards"
#include "allium/feature/pathsel/guards.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "guards_internal.h"

/* May g carry this circuit: a usable descriptor, compatible with the
 * circuit's other hops, and (even if the filtered set is stale) allowed by
 * the configuration: never an excluded or unreachable guard. */
static bool
guard_fits(const guard_entry_t *g, const nodelist_t *nl, const pathsel_options_t *o,
           const pathsel_avoid_t *av)
{
  const node_t *n = nodelist_find_by_rsa_id(nl, g->rsa_id);
  return n && node_is_usable(n) && guards_node_passes_config(n, o) &&
         pathsel_compatible(o, av, n);
}

static guard_entry_t *
choose_primary(guard_selection_t *gs, const nodelist_t *nl, const pathsel_options_t *o,
               const pathsel_avoid_t *av, bool for_dir, const pathsel_rng_t *rng)
{
  size_t limit = (size_t)(for_dir ? gs->n_dir_to_use : gs->n_to_use);
  guard_entry_t *cands[64];
  size_t nc = 0;
  for (size_t i = 0; i < gs->n_primary && nc < limit && nc < 64; i++) {
    guard_entry_t *g = gs->primary[i];
    if (g->reachable != GUARD_REACHABLE_NO && guard_fits(g, nl, o, av))
      cands[nc++] = g;
  }
  if (nc == 0)
    return NULL;
  return cands[pathsel_rand(rng, nc)];
}

/* First fitting usable-filtered guard of the confirmed list (confirmed
 * true) or of the sample order (confirmed false) that is not pending; else
 * the first fitting one. */
static guard_entry_t *
choose_nonprimary(guard_selection_t *gs, const nodelist_t *nl, const pathsel_options_t *o,
                  const pathsel_avoid_t *av, bool confirmed)
{
  guard_entry_t *first = NULL;
  size_t n = gs->n_sampled;
  for (size_t k = 0; k < n; k++) {
    guard_entry_t *g = NULL;
    if (confirmed) {
      for (size_t i = 0; i < n; i++)
        if (gs->sampled[i]->confirmed_idx == (int)k)
          g = gs->sampled[i];
      if (!g)
        break;
    } else {
      g = gs->sampled[k];
    }
    if (!g->filtered || g->reachable == GUARD_REACHABLE_NO || !guard_fits(g, nl, o, av))
      continue;
    if (!g->is_pending)
      return g;
    if (!first)
      first = g;
  }
  return first;
}

int
guard_choose(guard_selection_t *gs, const nodelist_t *nl, const pathsel_options_t *o,
             const pathsel_avoid_t *av, bool for_dir, time_t now,
             const pathsel_rng_t *rng, guard_entry_t **out, guard_circ_state_t *state)
{
  *out = NULL;
  if (!gs || !nl)
    return PATHSEL_ERR_INVAL;
  guard_selection_retry(gs, now);
  guard_entry_t *g = choose_primary(gs, nl, o, av, for_dir, rng);
  if (g) {
    *state = GUARD_CIRC_USABLE_ON_COMPLETION;
  } else {
    /* About to draw from USABLE_FILTERED_GUARDS: top it up (4.2). */
    size_t before = gs->n_sampled;
    guards_expand_sample(gs, nl, o, now, rng);
    if (gs->n_sampled != before)
      guards_update_primary(gs);
    g = choose_nonprimary(gs, nl, o, av, true);
    if (!g)
      g = choose_nonprimary(gs, nl, o, av, false);
    if (!g) {
      log_info("No usable guard left in the sample; marking all as maybe reachable.");
      for (size_t i = 0; i < gs->n_sampled; i++)
        gs->sampled[i]->reachable = GUARD_REACHABLE_MAYBE;
      return PATHSEL_ERR_NOGUARD;
    }
    g->is_pending = true;
    *state = GUARD_CIRC_USABLE_IF_NO_BETTER_GUARD;
  }
  g->last_tried = now;
  *out = g;
  return 0;
}

void
guard_mark_failure(guard_selection_t *gs, guard_entry_t *g, time_t now)
{
  (void)gs;
  if (!g)
    return;
  g->reachable = GUARD_REACHABLE_NO;
  g->is_pending = false;
  if (g->failing_since == 0)
    g->failing_since = now;
  if (g->last_tried == 0)
    g->last_tried = now;
}

guard_circ_state_t
guard_mark_success(guard_selection_t *gs, guard_entry_t *g, guard_circ_state_t old_state,
                   time_t now, const pathsel_rng_t *rng)
{
  if (!gs || !g)
    return old_state;
  g->reachable = GUARD_REACHABLE_YES;
  g->failing_since = 0;
  g->is_pending = false;
  if (g->confirmed_idx < 0) {
    g->confirmed_idx = (int)guard_selection_n_confirmed(gs);
    time_t back = gs->lifetime / 10;
    g->confirmed_on = back > 0 ? now - (time_t)pathsel_rand(rng, (uint64_t)back) : now;
    guards_update_primary(gs);
  }
  time_t last = gs->last_time_on_internet;
  gs->last_time_on_internet = now;
  if (old_state == GUARD_CIRC_USABLE_ON_COMPLETION)
    return GUARD_CIRC_COMPLETE;
  if (old_state == GUARD_CIRC_USABLE_IF_NO_BETTER_GUARD) {
    if (last == 0 || last + gs->internet_down_interval < now) {
      for (size_t i = 0; i < gs->n_primary; i++)
        gs->primary[i]->reachable = GUARD_REACHABLE_MAYBE;
    }
    return GUARD_CIRC_WAITING_FOR_BETTER_GUARD;
  }
  return old_state;
}

bool
guard_waiting_may_complete(guard_selection_t *gs, const guard_entry_t *g)
{
  if (!gs || !g)
    return false;
  for (size_t i = 0; i < gs->n_primary; i++)
    if (gs->primary[i] != g && gs->primary[i]->reachable != GUARD_REACHABLE_NO)
      return false;
  return true;
}
