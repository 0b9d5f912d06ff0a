/* pathsel.h -- client path selection (path-spec 2.2): bandwidth-weighted
 * choice of a node for a position with the consensus bandwidth-weights
 * (dir-spec 3.4.1 "bandwidth-weights", 3.8.3), exit choice for a target
 * port (path-spec 2.2.1), the user's node lists (path-spec 2.2.2, tor(1)
 * ExitNodes / ExcludeNodes / EntryNodes / StrictNodes), and whole 3-hop
 * paths (exit first, then the guard from guards.h, then the middle).
 */
#ifndef ALLIUM_FEATURE_PATHSEL_PATHSEL_H
#define ALLIUM_FEATURE_PATHSEL_PATHSEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/nodelist/routerset.h"

#define PATHSEL_ERR_NONODE   (-1)   /* no node satisfies the constraints */
#define PATHSEL_ERR_INVAL    (-2)
#define PATHSEL_ERR_NOGUARD  (-3)   /* the guard module had no guard */

/** Random source: uniform integer in [0, max), max > 0.  NULL rng (or a
 * NULL fn) means crypto_rand_uint64.  Tests inject a seeded generator. */
typedef struct pathsel_rng_t {
  uint64_t (*fn)(void *ctx, uint64_t max);
  void *ctx;
} pathsel_rng_t;

/** Uniform integer in [0, max) from rng (or the system CSPRNG). */
uint64_t pathsel_rand(const pathsel_rng_t *rng, uint64_t max);

typedef enum pathsel_position_t {
  PATHSEL_POS_GUARD = 0,
  PATHSEL_POS_MIDDLE = 1,
  PATHSEL_POS_EXIT = 2,
} pathsel_position_t;

/** What a path is for.  tor(1) StrictNodes: with StrictNodes 0,
 * ExcludeNodes may be ignored only for directory fetches and reachability
 * self-tests when nothing else works; never for general (application or
 * preemptive) circuits.  ExcludeExitNodes is never relaxed. */
typedef enum pathsel_purpose_t {
  PATHSEL_PURPOSE_GENERAL = 0,
  PATHSEL_PURPOSE_DIR = 1,
  PATHSEL_PURPOSE_SELFTEST = 2,
} pathsel_purpose_t;

/** Path-selection configuration (tor(1) names).  Sets are borrowed.
 * pathsel_options_init() gives the defaults: no node lists, StrictNodes 0,
 * purpose GENERAL, ClientUseIPv4 1, ClientUseIPv6 1, ClientPreferIPv6ORPort
 * 0, EnforceDistinctSubnets 1, need_fast 1, need_stable 0, and the guard
 * counts 0 (= the consensus parameter or the guard-spec default).  As in
 * tor(1): NumPrimaryGuards is the size of the primary list
 * (guard-n-primary-guards), NumEntryGuards / NumDirectoryGuards how many
 * primaries are used in parallel for circuits / directory requests
 * (guard-n-primary-guards-to-use / guard-n-primary-dir-guards-to-use). */
typedef struct pathsel_options_t {
  const routerset_t *entry_nodes;
  const routerset_t *exit_nodes;
  const routerset_t *exclude_nodes;
  const routerset_t *exclude_exit_nodes;  /* ExcludeExitNodes */
  bool strict_nodes;
  pathsel_purpose_t purpose;   /* GENERAL unless set */
  bool client_use_ipv4;        /* ClientUseIPv4 (default 1): first hops */
  bool client_use_ipv6;        /* ClientUseIPv6 (default 1): first hops */
  bool prefer_ipv6_orport;     /* ClientPreferIPv6ORPort 1 */
  bool enforce_distinct_subnets;
  bool need_fast;              /* "fast" circuits: Fast flag everywhere */
  bool need_stable;            /* long-lived ports: Stable flag everywhere */
  bool allow_bad_exits;
  int num_primary_guards;      /* NumPrimaryGuards; 0 = consensus/default */
  int num_entry_guards;        /* NumEntryGuards; 0 = consensus/default */
  int num_directory_guards;    /* NumDirectoryGuards; 0 = consensus/default */
} pathsel_options_t;

void pathsel_options_init(pathsel_options_t *o);

/** Weight (scaled by bwweightscale) of node n for position pos:
 * bandwidth * W, with W chosen by the node's Guard/Exit flags (an Exit
 * that is BadExit counts as non-exit) from Wgg/Wgm/Wgd (guard),
 * Wmg/Wmm/Wme/Wmd (middle), Weg/Wem/Wee/Wed (exit); Exit-only nodes weigh 0
 * in the guard position.  Missing weights default to bwweightscale (10000),
 * out-of-range ones are clamped to [0, bwweightscale]. */
double pathsel_node_weight(const nodelist_t *nl, const node_t *n, pathsel_position_t pos);

/** Candidate filter for pathsel_choose_weighted(). */
typedef bool (*pathsel_filter_fn)(const node_t *n, void *arg);

/** Choose one node among those accepted by filter (NULL: all nodes),
 * bandwidth-weighted for pos.  If every candidate weighs 0, chooses
 * uniformly among them.  NULL when there is no candidate. */
const node_t *pathsel_choose_weighted(const nodelist_t *nl, pathsel_position_t pos,
                                      pathsel_filter_fn filter, void *arg,
                                      const pathsel_rng_t *rng);

/** Nodes a path must avoid (all hops chosen so far). */
typedef struct pathsel_avoid_t {
  const node_t *nodes[8];
  size_t n;
} pathsel_avoid_t;

/** True if n may be used together with every node of av (not the same, not
 * same family, not the same /16 when enforce_distinct_subnets). */
bool pathsel_compatible(const pathsel_options_t *o, const pathsel_avoid_t *av,
                        const node_t *n);

/** May ExcludeNodes be ignored for o's purpose (StrictNodes 0 and a
 * directory fetch or self-test)? */
bool pathsel_exclude_relaxable(const pathsel_options_t *o);

/** The configuration rules for an exit, without its policy: not MiddleOnly,
 * not BadExit (unless allow_bad_exits), in ExitNodes when set, never in
 * ExcludeExitNodes, not in ExcludeNodes (unless ignore_exclude). */
bool pathsel_exit_config_ok(const pathsel_options_t *o, const node_t *n,
                            bool ignore_exclude);

/** Can we connect to n directly (first hop) with ClientUseIPv4 /
 * ClientUseIPv6: an IPv4 ORPort when IPv4 is allowed, or an IPv6 ORPort
 * when IPv6 is allowed.  NULL o: the defaults. */
bool pathsel_node_reachable(const pathsel_options_t *o, const node_t *n);
/** Connect to n's IPv6 ORPort rather than its IPv4 one?  True when n has
 * both and IPv6 is allowed and (IPv4 is not, or ClientPreferIPv6ORPort is
 * 1), or when n has only IPv6.  Only meaningful if pathsel_node_reachable. */
bool pathsel_first_hop_use_ipv6(const pathsel_options_t *o, const node_t *n);

/** Choose an exit for port (0: any exit that allows some port, for
 * resolves / preemptive circuits): usable, its policy allows port,
 * Fast/Stable as asked, compatible with av (may be NULL), and
 * pathsel_exit_config_ok() (ExitNodes always strict, ExcludeExitNodes never
 * relaxed).  ExcludeNodes is ignored only when pathsel_exclude_relaxable()
 * and no other candidate exists.  NULL if none; for a general circuit that
 * fails only because of the exclusions, a rate-limited warning says so. */
const node_t *pathsel_choose_exit(const nodelist_t *nl, const pathsel_options_t *o,
                                  uint16_t port, const pathsel_avoid_t *av,
                                  const pathsel_rng_t *rng);

/** Choose a middle node compatible with av; same ExcludeNodes rule. */
const node_t *pathsel_choose_middle(const nodelist_t *nl, const pathsel_options_t *o,
                                    const pathsel_avoid_t *av, const pathsel_rng_t *rng);

/** Choose a first hop without the guard module (UseEntryGuards 0): like a
 * middle, and pathsel_node_reachable(). */
const node_t *pathsel_choose_first_hop(const nodelist_t *nl, const pathsel_options_t *o,
                                       const pathsel_avoid_t *av,
                                       const pathsel_rng_t *rng);

#endif
