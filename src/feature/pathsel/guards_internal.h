/* guards_internal.h -- the guard_selection_t body and helpers shared by
 * guards.c, guards_select.c and guards_state.c (not for other modules). */
#ifndef ALLIUM_FEATURE_PATHSEL_GUARDS_INTERNAL_H
#define ALLIUM_FEATURE_PATHSEL_GUARDS_INTERNAL_H

#include "allium/feature/pathsel/guards.h"

/* sampled_by: our version (needs config.h included first). */
#define GUARDS_VERSION PACKAGE_VERSION

struct guard_selection_t {
  char *name;                  /* "in=" instance name */
  guard_entry_t **sampled;     /* in sample order */
  size_t n_sampled;
  uint64_t next_sample_idx;
  guard_entry_t **primary;
  size_t n_primary;
  char **foreign;              /* Guard line values of other instances */
  size_t n_foreign;
  time_t last_time_on_internet;  /* 0 = never */
  int n_primary_target, n_to_use, n_dir_to_use, min_filtered;
  int max_sample_size, max_sample_pct;
  time_t lifetime, remove_unlisted_after, confirmed_min_lifetime;
  int internet_down_interval;
};

void guard_entry_free_(guard_entry_t *g);
#define guard_entry_free(p) do { guard_entry_free_(p); (p) = NULL; } while (0)
/** Append g (takes ownership) to the sample. */
void guards_add_entry(guard_selection_t *gs, guard_entry_t *g);
/** The configuration part of the guard filter (guard-spec 4.2): not in
 * ExcludeNodes, in EntryNodes when set, reachable with ClientUseIPv4 /
 * ClientUseIPv6.  NULL o: true. */
bool guards_node_passes_config(const node_t *n, const pathsel_options_t *o);
void guards_renumber_confirmed(guard_selection_t *gs);
void guards_update_primary(guard_selection_t *gs);
/** Add guards until enough usable filtered ones exist or the sample is
 * full (guard-spec 4.2); recomputes nothing else. */
void guards_expand_sample(guard_selection_t *gs, const nodelist_t *nl,
                          const pathsel_options_t *o, time_t now, const pathsel_rng_t *rng);

#endif
