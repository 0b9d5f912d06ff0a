/* guards.h -- entry-guard selection (guard-spec.txt section 4): the
 * persistent sampled guard set, the filtered / usable-filtered sets, the
 * confirmed list, the primary guards, the retry schedules, choosing a guard
 * for a circuit and recording success or failure; and the "Guard" lines of
 * tor's state file (guard-spec A.5).
 *
 * Time is always passed in ("now"), and randomness through a pathsel_rng_t,
 * so tests control both.  Bridges and path bias are not implemented; the
 * path-bias "pb_*" fields and any unknown K=V fields of a state line are
 * kept verbatim and written back.
 */
#ifndef ALLIUM_FEATURE_PATHSEL_GUARDS_H
#define ALLIUM_FEATURE_PATHSEL_GUARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/pathsel/pathsel.h"

typedef enum guard_reachable_t {
  GUARD_REACHABLE_MAYBE = 0,
  GUARD_REACHABLE_YES = 1,
  GUARD_REACHABLE_NO = 2,
} guard_reachable_t;

/** Circuit states of guard-spec 4.6. */
typedef enum guard_circ_state_t {
  GUARD_CIRC_USABLE_ON_COMPLETION = 1,
  GUARD_CIRC_USABLE_IF_NO_BETTER_GUARD = 2,
  GUARD_CIRC_WAITING_FOR_BETTER_GUARD = 3,
  GUARD_CIRC_COMPLETE = 4,
} guard_circ_state_t;

/** One sampled guard.  Read-only for other modules. */
typedef struct guard_entry_t {
  /* persistent (guard-spec 4.1, 4.3, A.5) */
  uint8_t rsa_id[20];
  char nickname[20];
  time_t sampled_on;
  char *sampled_by;            /* version string, owned, may be NULL */
  bool listed;
  time_t unlisted_since;       /* 0 = none */
  time_t confirmed_on;         /* 0 = not confirmed */
  int confirmed_idx;           /* -1 = not confirmed */
  char *extra;                 /* unknown K=V fields, space-separated, owned */
  /* runtime */
  uint64_t sample_idx;         /* sample order */
  bool filtered;               /* member of FILTERED_GUARDS */
  bool is_primary;
  guard_reachable_t reachable;
  time_t last_tried;           /* 0 = never */
  time_t failing_since;        /* 0 = never */
  bool is_pending;
} guard_entry_t;

typedef struct guard_selection_t guard_selection_t;

/** New empty guard state instance called name ("default").  Caller frees
 * with guard_selection_free(). */
guard_selection_t *guard_selection_new(const char *name);
void guard_selection_free_(guard_selection_t *gs);
#define guard_selection_free(p) do { guard_selection_free_(p); (p) = NULL; } while (0)

size_t guard_selection_n_sampled(const guard_selection_t *gs);
guard_entry_t *guard_selection_get_sampled(guard_selection_t *gs, size_t i);
/** Primary guards in order; *n receives the count.  The array is borrowed
 * and valid until the next call that changes the guard state (update,
 * choose, success, load). */
guard_entry_t *const *guard_selection_get_primary(guard_selection_t *gs, size_t *n);
/** Number of confirmed guards (they have confirmed_idx 0..n-1). */
size_t guard_selection_n_confirmed(const guard_selection_t *gs);
guard_entry_t *guard_selection_find(guard_selection_t *gs, const uint8_t rsa_id[20]);

/** Whenever a new consensus arrives or the options change (guard-spec
 * 4.10): update listed/unlisted, expire old entries, recompute the filtered
 * set, expand the sample if too few usable guards remain, and recompute the
 * primary guards. */
void guard_selection_update(guard_selection_t *gs, const nodelist_t *nl,
                            const pathsel_options_t *o, time_t now,
                            const pathsel_rng_t *rng);

/** Move guards whose is_reachable is <no> back to <maybe> when their retry
 * time has come (guard-spec 4.5, A.1 schedules). */
void guard_selection_retry(guard_selection_t *gs, time_t now);
/** Retry delay for a guard failing since failing_since, at now. */
time_t guard_retry_delay(bool primary, time_t failing_since, time_t now);

/** Choose a guard for a new circuit (guard-spec 4.6).  Guards related to a
 * node of av (same node, family, /16 per options) or without a usable
 * descriptor are skipped.  for_dir uses guard-n-primary-dir-guards-to-use.
 * On success *out is the entry (borrowed) and *state the circuit state.
 * PATHSEL_ERR_NOGUARD if none (all guards are then marked <maybe>). */
int guard_choose(guard_selection_t *gs, const nodelist_t *nl, const pathsel_options_t *o,
                 const pathsel_avoid_t *av, bool for_dir, time_t now,
                 const pathsel_rng_t *rng, guard_entry_t **out, guard_circ_state_t *state);

/** A circuit through g failed (guard-spec 4.7). */
void guard_mark_failure(guard_selection_t *gs, guard_entry_t *g, time_t now);
/** A circuit through g succeeded (guard-spec 4.8).  Returns the new state of
 * a circuit that was in old_state. */
guard_circ_state_t guard_mark_success(guard_selection_t *gs, guard_entry_t *g,
                                      guard_circ_state_t old_state, time_t now,
                                      const pathsel_rng_t *rng);
/** May a <waiting_for_better_guard> circuit through g become complete
 * (guard-spec 4.9, ignoring other circuits): every primary guard is <no>. */
bool guard_waiting_may_complete(guard_selection_t *gs, const guard_entry_t *g);

/* --- state file (guard-spec A.5) --- */

/** Parse the value of one "Guard" line (the text after "Guard ").  Lines of
 * other instances ("in=" another name) are kept verbatim.  0, or -1 for a
 * malformed line (warned, ignored). */
int guards_state_parse_line(guard_selection_t *gs, const char *value);
/** Load every "Guard" line of a state file's text; other lines are
 * ignored.  Returns the number of malformed lines skipped (0 = all good). */
int guards_state_load(guard_selection_t *gs, const char *text);
/** The Guard lines ("Guard in=... \n" each).  New string, caller frees. */
char *guards_state_encode(const guard_selection_t *gs);
/** Read the state file at path (missing file: nothing loaded, 0).
 * Returns the number of malformed lines, or an FS_ERR_* code. */
int guards_state_read_file(guard_selection_t *gs, const char *path);
/** Rewrite path atomically (mode 0600): every existing non-Guard line is
 * kept as is, the Guard lines are replaced by ours.  0 or FS_ERR_*. */
int guards_state_write_file(const guard_selection_t *gs, const char *path);

/* Defaults (guard-spec A.1 / param-spec 11). */
#define GUARD_DFLT_MAX_SAMPLE_THRESHOLD_PCT 20
#define GUARD_DFLT_MAX_SAMPLE_SIZE          60
#define GUARD_DFLT_LIFETIME_DAYS            120
#define GUARD_DFLT_REMOVE_UNLISTED_DAYS     20
#define GUARD_DFLT_MIN_FILTERED_SAMPLE      20
#define GUARD_DFLT_N_PRIMARY                3
#define GUARD_DFLT_N_PRIMARY_TO_USE         1
#define GUARD_DFLT_N_PRIMARY_DIR_TO_USE     3
#define GUARD_DFLT_INTERNET_DOWN_INTERVAL   600
#define GUARD_DFLT_CONFIRMED_MIN_LIFETIME_DAYS 60

#endif
