/* relay_reach.h -- the ORPort reachability self-test (tor(1)
 * AssumeReachable; dir-spec 2.1 "ORs SHOULD NOT publish a descriptor until
 * they have verified that their ORPort is reachable"; tor-spec 5.1 CREATE2,
 * 5.1.2 EXTEND2).
 *
 * As tor does, a relay that does not set AssumeReachable 1 builds test
 * circuits whose last hop is itself, reached at its advertised address and
 * ORPort: here a two-hop circuit, first hop a random Running relay of the
 * relay's own consensus (CREATE2 ntor, or CREATE_FAST when its onion key is
 * not known yet), then EXTEND2 to ourselves.  The proof is tor's: a CREATE
 * cell that we answered on a channel the peer opened (a channel we opened
 * proves nothing), counted by the cell engine (cellswitch_stats_t
 * created_inbound); peers on private or loopback addresses count only when
 * private addresses may be extended to (TestingTorNetwork), as tor's
 * ExtendAllowPrivateAddresses rule.  Any relay or client reaching us that
 * way is proof too.  Until then the relay does not publish a descriptor;
 * once reachable it logs
 *   "Self-testing indicates your ORPort A:P is reachable from the outside.
 *    Excellent. Publishing server descriptor."
 * and publishes.  Without success for RELAY_REACH_COMPLAIN_SEC it warns
 * (tor's wording) and keeps trying every RELAY_REACH_SLOW_RETRY_SEC.
 *
 * Two layers: relay_reach_sm_* is the pure state machine (time and events
 * supplied by the caller, unit-tested); relay_reach_t runs it on the event
 * loop with one test circuit at a time.
 */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_REACH_H
#define ALLIUM_FEATURE_RELAY_RELAY_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/mainloop/cellswitch.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/tls/tls.h"

struct event_base;

/** Seconds between test circuits during the first RELAY_REACH_COMPLAIN_SEC
 * (one circuit in flight at a time). */
#define RELAY_REACH_RETRY_SEC 5
/** No success after this long: warn, then test (and warn) this often
 * (tor's TIMEOUT_UNTIL_UNREACHABILITY_COMPLAINT, 20 minutes). */
#define RELAY_REACH_COMPLAIN_SEC (20 * 60)
#define RELAY_REACH_SLOW_RETRY_SEC (20 * 60)
/** A test circuit not built after this long counts as failed. */
#define RELAY_REACH_CIRC_TIMEOUT_SEC 30

/* ---- the state machine ---- */

typedef enum relay_reach_state_t {
  RELAY_REACH_ASSUMED = 0,   /**< AssumeReachable 1: no test, publish */
  RELAY_REACH_TESTING,       /**< not confirmed yet: do not publish */
  RELAY_REACH_REACHABLE,     /**< confirmed */
} relay_reach_state_t;

typedef enum relay_reach_action_t {
  RELAY_REACH_ACT_NONE = 0,
  RELAY_REACH_ACT_LAUNCH,    /**< launch a test circuit now */
  RELAY_REACH_ACT_COMPLAIN,  /**< log the "not reachable" warning now */
} relay_reach_action_t;

typedef struct relay_reach_sm_t {
  relay_reach_state_t state;
  uint64_t start_ms;         /**< testing began */
  uint64_t last_launch_ms;   /**< 0: never */
  uint64_t last_complaint_ms;/**< 0: never */
  bool in_flight;            /**< a test circuit is being built */
  uint64_t inbound_base;     /**< proof counter when testing began */
  unsigned n_launched, n_built, n_failed;
  uint64_t reachable_ms;     /**< when confirmed */
} relay_reach_sm_t;

/** Start: ASSUMED when assume_reachable, else TESTING from now_ms with the
 * proof counter (inbound CREATEs that count) at inbound. */
void relay_reach_sm_init(relay_reach_sm_t *sm, bool assume_reachable,
                         uint64_t now_ms, uint64_t inbound);
/** The proof counter is now inbound: true exactly once, when this moves
 * TESTING to REACHABLE (the counter grew since init). */
bool relay_reach_sm_note_inbound(relay_reach_sm_t *sm, uint64_t inbound,
                                 uint64_t now_ms);
/** What to do at now_ms; can_launch says whether a first hop is known.
 * LAUNCH marks a test in flight (report its end with _note_done());
 * COMPLAIN is returned once per RELAY_REACH_SLOW_RETRY_SEC after the first
 * RELAY_REACH_COMPLAIN_SEC, and takes precedence over LAUNCH for that
 * call. */
relay_reach_action_t relay_reach_sm_tick(relay_reach_sm_t *sm,
                                         uint64_t now_ms, bool can_launch);
/** The test circuit in flight ended: built (EXTENDED2 from ourselves
 * arrived) or failed. */
void relay_reach_sm_note_done(relay_reach_sm_t *sm, bool built);
/** Whether the descriptor may be published (ASSUMED or REACHABLE). */
bool relay_reach_sm_may_publish(const relay_reach_sm_t *sm);
/** "assumed", "testing", "reachable". */
const char *relay_reach_state_name(relay_reach_state_t s);

/** The proof counter from the engine's counters: inbound CREATEs, less
 * those from private peers unless allow_private. */
uint64_t relay_reach_inbound_count(const cellswitch_stats_t *s,
                                   bool allow_private);

/** The hop that is us, from our descriptor's parameters (address, ORPort,
 * identities, ntor key).  0, or -1 without an IPv4 ORPort or keys. */
int relay_reach_self_spec(const router_desc_params_t *p, circ_hop_spec_t *out);

/** Pick the first hop: a random node of nl that has an IPv4 ORPort and is
 * Running (and Valid) and is not self_rsa_id.  NULL if none. */
const node_t *relay_reach_pick_first_hop(const nodelist_t *nl,
                                         const uint8_t self_rsa_id[20]);

/* ---- on the event loop ---- */

typedef struct relay_reach_t relay_reach_t;

typedef struct relay_reach_cfg_t {
  struct event_base *base;
  tls_context_t *tls;          /**< client TLS context (borrowed) */
  cellswitch_t *sw;            /**< the relay's engine (borrowed) */
  bool assume_reachable;       /**< AssumeReachable */
  bool allow_private;          /**< TestingTorNetwork: private peers count */
  bool publish;                /**< PublishServerDescriptor (for the log) */
  /** Our descriptor's parameters now (address, ORPort, keys): 0 or -1. */
  int (*get_self)(void *arg, router_desc_params_t *out);
  /** The relay's directory view (may return NULL before it exists). */
  nodelist_t *(*get_nodelist)(void *arg);
  /** Reachability confirmed (once). */
  void (*on_reachable)(void *arg);
  void *arg;
  uint32_t tick_msec;          /**< 0: 1000 */
} relay_reach_cfg_t;

/** New self-test (cfg copied); nothing runs before relay_reach_start(). */
relay_reach_t *relay_reach_new(const relay_reach_cfg_t *cfg);
/** Start testing (or, with AssumeReachable, just say so).  0 or -1. */
int relay_reach_start(relay_reach_t *r);
void relay_reach_free_(relay_reach_t *r);
#define relay_reach_free(p) do { relay_reach_free_(p); (p) = NULL; } while (0)
/** Whether the descriptor may be published; NULL: true. */
bool relay_reach_may_publish(const relay_reach_t *r);
/** The state machine (tests, heartbeat). */
const relay_reach_sm_t *relay_reach_get_sm(const relay_reach_t *r);

#endif
