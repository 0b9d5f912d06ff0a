/* vanguards.h -- vanguards-lite (proposal 333, building on proposal 292
 * section 2): a small set of layer-2 ("L2") nodes used as the second hop
 * of every onion-service circuit.  Each member lives a random time drawn
 * from the max(X,X) distribution between a minimum (1 day) and a maximum
 * (12 days), and is replaced when it expires, leaves the consensus or
 * loses a required flag (Stable, Fast, Running, Valid).  New members are
 * chosen bandwidth-weighted like middles, outside ExcludeNodes, distinct
 * from each other.  As proposal 333 section 1 says, the set is not written
 * to disk: it starts afresh with each process.
 *
 * The set is a plain struct (no allocation): a zeroed vanguards_t is an
 * empty set.  Time is passed in and randomness through a pathsel_rng_t so
 * tests control both.
 */
#ifndef ALLIUM_FEATURE_PATHSEL_VANGUARDS_H
#define ALLIUM_FEATURE_PATHSEL_VANGUARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/pathsel/pathsel.h"

/* Proposal 333 section 1: 4 L2 nodes by default, consensus parameter
 * guard-hs-l2-number, at most 19; lifetimes 1 to 12 days, max(X,X). */
#define VANGUARDS_MAX              19
#define VANGUARDS_DFLT_NUM         4
#define VANGUARDS_DFLT_LIFETIME_MIN (24 * 3600)
#define VANGUARDS_DFLT_LIFETIME_MAX (12 * 24 * 3600)

/** One layer-2 node. */
typedef struct vanguard_entry_t {
  uint8_t rsa_id[20];
  char nickname[20];
  time_t added;
  time_t expires;              /* removed once now >= expires */
} vanguard_entry_t;

typedef struct vanguards_t {
  vanguard_entry_t e[VANGUARDS_MAX];
  size_t n;
} vanguards_t;

/** Forget every member (same as zeroing the struct). */
void vanguards_clear(vanguards_t *v);

/** Wanted set size: consensus parameter guard-hs-l2-number (default 4,
 * 1..19). */
size_t vanguards_target_size(const nodelist_t *nl);
/** Lifetime bounds in seconds: guard-hs-l2-lifetime-min / -max (defaults
 * 1 and 12 days); *max is never below *min. */
void vanguards_lifetime_bounds(const nodelist_t *nl, time_t *min, time_t *max);
/** A lifetime in [min, max]: the larger of two uniform draws (proposal 292
 * section 3.3), so longer lifetimes are likelier. */
time_t vanguards_draw_lifetime(time_t min, time_t max, const pathsel_rng_t *rng);

/** May n be (or stay) a layer-2 node: Running, Valid, with a usable
 * descriptor, Stable, Fast, and not in ExcludeNodes (o may be NULL). */
bool vanguards_node_suitable(const pathsel_options_t *o, const node_t *n);

/** Bring the set up to date with nl at now: drop members that expired,
 * left the consensus, are no longer suitable, or exceed the target size;
 * then add new suitable nodes (middle-weighted, not already members) until
 * the target size is reached or no candidate remains (small networks).
 * Returns the number of members removed plus added (0: unchanged). */
int vanguards_refresh(vanguards_t *v, const nodelist_t *nl,
                      const pathsel_options_t *o, time_t now,
                      const pathsel_rng_t *rng);

/** Is id a member? */
bool vanguards_contains(const vanguards_t *v, const uint8_t rsa_id[20]);

/** Choose a member uniformly among those that have not expired, are in nl,
 * are still suitable, and are pathsel_compatible() with every node of av
 * (the guard and the last hop: not the same node, family or /16).  NULL
 * if there is none (the caller then falls back to an ordinary middle). */
const node_t *vanguards_choose(const vanguards_t *v, const nodelist_t *nl,
                               const pathsel_options_t *o,
                               const pathsel_avoid_t *av, time_t now,
                               const pathsel_rng_t *rng);

#endif
