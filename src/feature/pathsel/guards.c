/* guards.c -- the entry-guard algorithm of guard-spec.txt section 4:
 * {SAMPLED_GUARDS} (4.1), {FILTERED_GUARDS} / {USABLE_FILTERED_GUARDS}
 * (4.2), {CONFIRMED_GUARDS} (4.3), {PRIMARY_GUARDS} (4.4), retrying (4.5),
 * selecting a guard (4.6), failure (4.7), success (4.8), waiting circuits
 * (4.9, per guard) and new consensuses (4.10), with the parameters of A.1
 * (consensus names from param-spec 11).  The state file is guards_state.c.
 */
#include "config.h"

#include <string.h>

#define LOG_MODULE "guards"
#include "allium/feature/pathsel/guards.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "guards_internal.h"

#define DAY (24 * 60 * 60)
#define HOUR (60 * 60)

guard_selection_t *
guard_selection_new(const char *name)
{
  guard_selection_t *gs = al_calloc(1, sizeof(*gs));
  gs->name = al_strdup(name ? name : "default");
  gs->n_primary_target = GUARD_DFLT_N_PRIMARY;
  gs->n_to_use = GUARD_DFLT_N_PRIMARY_TO_USE;
  gs->n_dir_to_use = GUARD_DFLT_N_PRIMARY_DIR_TO_USE;
  gs->min_filtered = GUARD_DFLT_MIN_FILTERED_SAMPLE;
  gs->max_sample_size = GUARD_DFLT_MAX_SAMPLE_SIZE;
  gs->max_sample_pct = GUARD_DFLT_MAX_SAMPLE_THRESHOLD_PCT;
  gs->lifetime = (time_t)GUARD_DFLT_LIFETIME_DAYS * DAY;
  gs->remove_unlisted_after = (time_t)GUARD_DFLT_REMOVE_UNLISTED_DAYS * DAY;
  gs->confirmed_min_lifetime = (time_t)GUARD_DFLT_CONFIRMED_MIN_LIFETIME_DAYS * DAY;
  gs->internet_down_interval = GUARD_DFLT_INTERNET_DOWN_INTERVAL;
  return gs;
}

void
guard_entry_free_(guard_entry_t *g)
{
  if (!g)
    return;
  al_free(g->sampled_by);
  al_free(g->extra);
  al_free(g);
}

void
guard_selection_free_(guard_selection_t *gs)
{
  if (!gs)
    return;
  for (size_t i = 0; i < gs->n_sampled; i++)
    guard_entry_free(gs->sampled[i]);
  al_free(gs->sampled);
  al_free(gs->primary);
  for (size_t i = 0; i < gs->n_foreign; i++)
    al_free(gs->foreign[i]);
  al_free(gs->foreign);
  al_free(gs->name);
  al_free(gs);
}

size_t
guard_selection_n_sampled(const guard_selection_t *gs)
{
  return gs ? gs->n_sampled : 0;
}

guard_entry_t *
guard_selection_get_sampled(guard_selection_t *gs, size_t i)
{
  return (gs && i < gs->n_sampled) ? gs->sampled[i] : NULL;
}

guard_entry_t *const *
guard_selection_get_primary(guard_selection_t *gs, size_t *n)
{
  *n = gs->n_primary;
  return gs->primary;
}

size_t
guard_selection_n_confirmed(const guard_selection_t *gs)
{
  size_t c = 0;
  for (size_t i = 0; i < gs->n_sampled; i++)
    if (gs->sampled[i]->confirmed_idx >= 0)
      c++;
  return c;
}

guard_entry_t *
guard_selection_find(guard_selection_t *gs, const uint8_t rsa_id[20])
{
  for (size_t i = 0; i < gs->n_sampled; i++)
    if (memcmp(gs->sampled[i]->rsa_id, rsa_id, 20) == 0)
      return gs->sampled[i];
  return NULL;
}

void
guards_add_entry(guard_selection_t *gs, guard_entry_t *g)
{
  gs->sampled = al_reallocarray(gs->sampled, gs->n_sampled + 1, sizeof(guard_entry_t *));
  gs->sampled[gs->n_sampled++] = g;
}

/* Renumber the confirmed guards 0..n-1 keeping their order (ties: sample
 * order). */
void
guards_renumber_confirmed(guard_selection_t *gs)
{
  guard_entry_t **c = al_calloc(gs->n_sampled ? gs->n_sampled : 1, sizeof(*c));
  size_t n = 0;
  for (size_t i = 0; i < gs->n_sampled; i++) {
    guard_entry_t *g = gs->sampled[i];
    if (g->confirmed_idx < 0)
      continue;
    size_t j = n++;
    while (j > 0 && (c[j - 1]->confirmed_idx > g->confirmed_idx ||
                     (c[j - 1]->confirmed_idx == g->confirmed_idx &&
                      c[j - 1]->sample_idx > g->sample_idx))) {
      c[j] = c[j - 1];
      j--;
    }
    c[j] = g;
  }
  for (size_t i = 0; i < n; i++)
    c[i]->confirmed_idx = (int)i;
  al_free(c);
}

static guard_entry_t *
confirmed_at(guard_selection_t *gs, int idx)
{
  for (size_t i = 0; i < gs->n_sampled; i++)
    if (gs->sampled[i]->confirmed_idx == idx)
      return gs->sampled[i];
  return NULL;
}

static void
refresh_params(guard_selection_t *gs, const nodelist_t *nl, const pathsel_options_t *o)
{
  gs->n_primary_target = nodelist_get_param(nl, "guard-n-primary-guards",
                                            GUARD_DFLT_N_PRIMARY, 1, INT32_MAX);
  if (o && o->num_primary_guards > 0)
    gs->n_primary_target = o->num_primary_guards;
  gs->n_to_use = nodelist_get_param(nl, "guard-n-primary-guards-to-use",
                                    GUARD_DFLT_N_PRIMARY_TO_USE, 1, INT32_MAX);
  gs->n_dir_to_use = nodelist_get_param(nl, "guard-n-primary-dir-guards-to-use",
                                        GUARD_DFLT_N_PRIMARY_DIR_TO_USE, 1, INT32_MAX);
  if (o && o->num_entry_guards > 0)
    gs->n_to_use = o->num_entry_guards;
  if (o && o->num_directory_guards > 0)
    gs->n_dir_to_use = o->num_directory_guards;
  gs->min_filtered = nodelist_get_param(nl, "guard-min-filtered-sample-size",
                                        GUARD_DFLT_MIN_FILTERED_SAMPLE, 1, INT32_MAX);
  gs->max_sample_size = nodelist_get_param(nl, "guard-max-sample-size",
                                           GUARD_DFLT_MAX_SAMPLE_SIZE, 1, INT32_MAX);
  gs->max_sample_pct = nodelist_get_param(nl, "guard-max-sample-threshold-percent",
                                          GUARD_DFLT_MAX_SAMPLE_THRESHOLD_PCT, 1, 100);
  gs->lifetime = (time_t)nodelist_get_param(nl, "guard-lifetime-days",
                                            GUARD_DFLT_LIFETIME_DAYS, 1, 3650) * DAY;
  gs->remove_unlisted_after =
      (time_t)nodelist_get_param(nl, "guard-remove-unlisted-guards-after-days",
                                 GUARD_DFLT_REMOVE_UNLISTED_DAYS, 1, 3650) * DAY;
  gs->confirmed_min_lifetime =
      (time_t)nodelist_get_param(nl, "guard-confirmed-min-lifetime-days",
                                 GUARD_DFLT_CONFIRMED_MIN_LIFETIME_DAYS, 1, 3650) * DAY;
  gs->internet_down_interval =
      nodelist_get_param(nl, "guard-internet-likely-down-interval",
                         GUARD_DFLT_INTERNET_DOWN_INTERVAL, 1, INT32_MAX);
}

/* {GUARDS}: listed with Guard, Stable, Fast, V2Dir (and Running, Valid;
 * never MiddleOnly). */
static bool
node_is_guard_candidate(const node_t *n)
{
  uint32_t need = NODE_FLAG_GUARD | NODE_FLAG_STABLE | NODE_FLAG_FAST | NODE_FLAG_V2DIR |
                  NODE_FLAG_RUNNING | NODE_FLAG_VALID;
  return n && (n->flags & need) == need && !(n->flags & NODE_FLAG_MIDDLEONLY);
}

bool
guards_node_passes_config(const node_t *n, const pathsel_options_t *o)
{
  if (!o)
    return true;
  if (routerset_contains_node(o->exclude_nodes, n))
    return false;
  if (!pathsel_node_reachable(o, n))
    return false;
  if (!routerset_is_empty(o->entry_nodes) && !routerset_contains_node(o->entry_nodes, n))
    return false;
  return true;
}

static time_t
rand_past(time_t now, time_t interval, const pathsel_rng_t *rng)
{
  if (interval <= 0)
    return now;
  return now - (time_t)pathsel_rand(rng, (uint64_t)interval);
}

/* Update IS_LISTED / FIRST_UNLISTED_AT (guard-spec 4.10). */
static void
update_listed(guard_selection_t *gs, const nodelist_t *nl, time_t now,
              const pathsel_rng_t *rng)
{
  for (size_t i = 0; i < gs->n_sampled; i++) {
    guard_entry_t *g = gs->sampled[i];
    const node_t *n = nodelist_find_by_rsa_id(nl, g->rsa_id);
    bool listed = node_is_guard_candidate(n);
    if (listed) {
      g->listed = true;
      g->unlisted_since = 0;
      if (n->nickname[0])
        memcpy(g->nickname, n->nickname, sizeof(g->nickname));
    } else if (g->listed || g->unlisted_since == 0) {
      g->listed = false;
      g->unlisted_since = rand_past(now, gs->remove_unlisted_after / 5, rng);
    }
  }
}

/* Remove expired sampled guards (guard-spec 4.1). */
static void
expire_sampled(guard_selection_t *gs, time_t now)
{
  size_t k = 0;
  bool removed_confirmed = false;
  for (size_t i = 0; i < gs->n_sampled; i++) {
    guard_entry_t *g = gs->sampled[i];
    bool drop = false;
    if (!g->listed && g->unlisted_since && g->unlisted_since + gs->remove_unlisted_after <= now)
      drop = true;
    if (g->sampled_on + gs->lifetime <= now &&
        (g->confirmed_on == 0 || g->confirmed_on + gs->confirmed_min_lifetime <= now))
      drop = true;
    if (drop) {
      if (g->confirmed_idx >= 0)
        removed_confirmed = true;
      for (size_t j = 0; j < gs->n_primary; j++)
        if (gs->primary[j] == g)
          gs->primary[j] = NULL;
      guard_entry_free(g);
    } else {
      gs->sampled[k++] = g;
    }
  }
  gs->n_sampled = k;
  if (removed_confirmed)
    guards_renumber_confirmed(gs);
}

static void
update_filtered(guard_selection_t *gs, const nodelist_t *nl, const pathsel_options_t *o)
{
  for (size_t i = 0; i < gs->n_sampled; i++) {
    guard_entry_t *g = gs->sampled[i];
    const node_t *n = nodelist_find_by_rsa_id(nl, g->rsa_id);
    g->filtered = g->listed && n && guards_node_passes_config(n, o);
  }
}

static size_t
count_usable_filtered(const guard_selection_t *gs)
{
  size_t c = 0;
  for (size_t i = 0; i < gs->n_sampled; i++)
    if (gs->sampled[i]->filtered && gs->sampled[i]->reachable != GUARD_REACHABLE_NO)
      c++;
  return c;
}

typedef struct sample_filter_t {
  guard_selection_t *gs;
  const pathsel_options_t *o;
} sample_filter_t;

static bool
sample_candidate(const node_t *n, void *arg)
{
  sample_filter_t *f = arg;
  return node_is_guard_candidate(n) && guards_node_passes_config(n, f->o) &&
         !guard_selection_find(f->gs, n->rsa_id);
}

static size_t
max_sample(const guard_selection_t *gs, const nodelist_t *nl)
{
  size_t n_guards = 0;
  for (size_t i = 0; i < nodelist_n_nodes(nl); i++)
    if (node_is_guard_candidate(nodelist_get_node(nl, i)))
      n_guards++;
  size_t m = n_guards * (size_t)gs->max_sample_pct / 100;
  if (m > (size_t)gs->max_sample_size)
    m = (size_t)gs->max_sample_size;
  if (m < (size_t)gs->min_filtered)
    m = (size_t)gs->min_filtered;
  return m;
}

/* Add guards until USABLE_FILTERED_GUARDS is large enough or the sample is
 * full (guard-spec 4.2).  New guards are drawn bandwidth-weighted for the
 * guard position from {GUARDS} - {SAMPLED_GUARDS}; like tor, we only draw
 * guards our configuration would not filter out, so that EntryNodes and
 * ExcludeNodes cannot make us fill the sample with useless guards. */
void
guards_expand_sample(guard_selection_t *gs, const nodelist_t *nl, const pathsel_options_t *o,
              time_t now, const pathsel_rng_t *rng)
{
  size_t maxs = max_sample(gs, nl);
  sample_filter_t f = { gs, o };
  while (count_usable_filtered(gs) < (size_t)gs->min_filtered && gs->n_sampled < maxs) {
    const node_t *n = pathsel_choose_weighted(nl, PATHSEL_POS_GUARD, sample_candidate, &f, rng);
    if (!n)
      break;
    guard_entry_t *g = al_calloc(1, sizeof(*g));
    memcpy(g->rsa_id, n->rsa_id, 20);
    memcpy(g->nickname, n->nickname, sizeof(g->nickname));
    g->sampled_on = rand_past(now, gs->lifetime / 10, rng);
    g->sampled_by = al_strdup(GUARDS_VERSION);
    g->listed = true;
    g->confirmed_idx = -1;
    g->sample_idx = gs->next_sample_idx++;
    g->filtered = true;
    guards_add_entry(gs, g);
  }
  if (count_usable_filtered(gs) == 0 && o) {
    /* Guards exist, but the configuration rules every one out: say so
     * (rate-limited); ExcludeNodes is never relaxed for guards. */
    for (size_t i = 0; i < nodelist_n_nodes(nl); i++) {
      if (!node_is_guard_candidate(nodelist_get_node(nl, i)))
        continue;
      static log_ratelim_t rl = LOG_RATELIM_INIT(600);
      unsigned dropped = 0;
      if (log_ratelim_check(&rl, &dropped))
        log_warn("Every guard is ruled out by ExcludeNodes, EntryNodes or "
                 "ClientUseIPv4/ClientUseIPv6: no circuit can be built.  "
                 "StrictNodes 0 never relaxes ExcludeNodes for guards of "
                 "general circuits. [%u similar messages suppressed]", dropped);
      break;
    }
  }
}

/* Regenerate {PRIMARY_GUARDS} (guard-spec 4.4). */
void
guards_update_primary(guard_selection_t *gs)
{
  size_t target = (size_t)gs->n_primary_target;
  guard_entry_t **np = al_calloc(target ? target : 1, sizeof(guard_entry_t *));
  size_t k = 0;
  for (int idx = 0; k < target; idx++) {
    guard_entry_t *g = confirmed_at(gs, idx);
    if (!g)
      break;
    if (g->filtered)
      np[k++] = g;
  }
  for (size_t j = 0; j < gs->n_primary && k < target; j++) {
    guard_entry_t *g = gs->primary[j];
    if (g && g->filtered && g->confirmed_idx < 0)
      np[k++] = g;
  }
  /* then in sample order (the array is in sample order) */
  for (size_t i = 0; i < gs->n_sampled && k < target; i++) {
    guard_entry_t *g = gs->sampled[i];
    bool already = false;
    for (size_t j = 0; j < k; j++)
      already |= np[j] == g;
    if (!already && g->filtered && g->confirmed_idx < 0)
      np[k++] = g;
  }
  for (size_t i = 0; i < gs->n_sampled; i++)
    gs->sampled[i]->is_primary = false;
  for (size_t j = 0; j < k; j++)
    np[j]->is_primary = true;
  al_free(gs->primary);
  gs->primary = np;
  gs->n_primary = k;
}

void
guard_selection_update(guard_selection_t *gs, const nodelist_t *nl,
                       const pathsel_options_t *o, time_t now, const pathsel_rng_t *rng)
{
  if (!gs || !nl)
    return;
  refresh_params(gs, nl, o);
  if (nodelist_consensus_is_live(nl, now)) {
    update_listed(gs, nl, now, rng);
    expire_sampled(gs, now);
  }
  update_filtered(gs, nl, o);
  guards_expand_sample(gs, nl, o, now, rng);
  guards_update_primary(gs);
}

time_t
guard_retry_delay(bool primary, time_t failing_since, time_t now)
{
  time_t elapsed = failing_since && now > failing_since ? now - failing_since : 0;
  if (primary) {
    if (elapsed < 6 * HOUR)
      return 10 * 60;
    if (elapsed < 96 * HOUR)
      return 90 * 60;
    if (elapsed < 168 * HOUR)
      return 4 * HOUR;
    return 9 * HOUR;
  }
  if (elapsed < 6 * HOUR)
    return 1 * HOUR;
  if (elapsed < 96 * HOUR)
    return 4 * HOUR;
  if (elapsed < 168 * HOUR)
    return 18 * HOUR;
  return 36 * HOUR;
}

void
guard_selection_retry(guard_selection_t *gs, time_t now)
{
  for (size_t i = 0; i < gs->n_sampled; i++) {
    guard_entry_t *g = gs->sampled[i];
    if (g->reachable != GUARD_REACHABLE_NO)
      continue;
    time_t delay = guard_retry_delay(g->is_primary, g->failing_since, now);
    if (g->last_tried + delay <= now)
      g->reachable = GUARD_REACHABLE_MAYBE;
  }
}
