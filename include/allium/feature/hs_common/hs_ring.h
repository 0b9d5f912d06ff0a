/* hs_ring.h -- the HSDir hash ring of onion services v3 (rend-spec-v3
 * 2.2.1 time periods, 2.2.3 [WHERE-HSDESC], 2.2.4 [FETCHUPLOADDESC], 2.3.1
 * disaster SRV; param-spec hsdir_* parameters).
 *
 * Pure functions over a consensus and its nodes: which time period and
 * shared random value (SRV) a client fetches with and a service uploads
 * with, the relay indices of the HSDirs, and the HSDirs responsible for a
 * blinded key.  Times are the consensus valid-after (as the spec says:
 * never the local clock).
 *
 * Typical client use:
 *   hs_ring_params_t p;  hs_ring_params_from_consensus(c, testing, &p);
 *   uint64_t tp;  uint8_t srv[32];  hs_ring_fetch_tp_srv(c, &p, &tp, srv);
 *   hs_ring_t *r = hs_ring_build(nodes, n, srv, tp, &p);
 *   n = hs_ring_responsible(r, &blinded, tp, &p, p.spread_fetch, out, max);
 *   hs_ring_free(r);
 */
#ifndef ALLIUM_FEATURE_HS_COMMON_HS_RING_H
#define ALLIUM_FEATURE_HS_COMMON_HS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/lib/crypto/ed25519.h"

/* param-spec: names, defaults and bounds. */
#define HS_RING_N_REPLICAS_DEFAULT 2
#define HS_RING_SPREAD_FETCH_DEFAULT 3
#define HS_RING_SPREAD_STORE_DEFAULT 4
#define HS_RING_PERIOD_MIN 30                /* minutes */
#define HS_RING_PERIOD_MAX 14400
/** Rounds of a shared-random protocol run (srv-spec: 12 commit + 12
 * reveal); the time-period rotation offset is 12 voting intervals. */
#define HS_RING_SR_ROUNDS 24

typedef struct hs_ring_params_t {
  uint64_t voting_interval;   /* seconds (fresh-until - valid-after) */
  uint64_t period_length;     /* minutes */
  uint64_t rotation_offset;   /* minutes: 12 voting intervals */
  int n_replicas;             /* hsdir_n_replicas */
  int spread_fetch;           /* hsdir_spread_fetch */
  int spread_store;           /* hsdir_spread_store */
} hs_ring_params_t;

/** Ring parameters of consensus c.  The voting interval is fresh-until -
 * valid-after (dir-spec 3.4.1; 3600 when that is not positive).  Period
 * length: consensus parameter "hsdir-interval" (rend-spec-v3 2.2.1; 30..
 * 14400, default 1440) -- except on a testing network (TestingTorNetwork,
 * testing_network true), where tor 0.4.9 makes it one shared-random
 * protocol run (24 voting intervals, in minutes, at least 1) so that
 * periods rotate.  c may be NULL (all defaults). */
void hs_ring_params_from_consensus(const consensus_t *c, bool testing_network,
                                   hs_ring_params_t *out);

/** Time period of the consensus time valid_after (rend-spec-v3 2.2.1). */
uint64_t hs_ring_time_period(const hs_ring_params_t *p, time_t valid_after);

/** True when valid_after lies between the start of a time period and the
 * next new SRV (the "-" segments of rend-spec-v3 2.2.4: 12:00..00:00 UTC
 * on the real network), false between a new SRV and the next time period
 * (the "=" segments).  An SRV protocol run starts at a valid-after that is
 * a multiple of HS_RING_SR_ROUNDS voting intervals. */
bool hs_ring_in_tp_to_srv(const hs_ring_params_t *p, time_t valid_after);

/** The SRV for period tp: the consensus' current (use_current) or previous
 * one; when the consensus has none, the disaster SRV of tp (2.3.1). */
void hs_ring_srv(uint8_t out[32], const consensus_t *c, bool use_current,
                 uint64_t tp, const hs_ring_params_t *p);

/** Client fetch (2.2.4.1): always the current time period; the current SRV
 * in a "-" segment, the previous one in a "=" segment. */
void hs_ring_fetch_tp_srv(const consensus_t *c, const hs_ring_params_t *p,
                          uint64_t *tp_out, uint8_t srv_out[32]);

/** Service upload (2.2.4.2): second=false the first descriptor ("-":
 * previous TP and previous SRV; "=": current TP, previous SRV),
 * second=true the second one ("-": current TP, current SRV; "=": next TP,
 * current SRV). */
void hs_ring_store_tp_srv(const consensus_t *c, const hs_ring_params_t *p,
                          bool second, uint64_t *tp_out, uint8_t srv_out[32]);

/** Does node n belong in the ring: HSDir flag, an ed25519 identity, and
 * HSDir=2 in its protocol list when one is known. */
bool hs_ring_node_is_hsdir(const node_t *n);

typedef struct hs_ring_t hs_ring_t;

/** The ring of the nodes among nodes[0..n) that are HSDirs, ordered by
 * hs_relay_index (2.2.3) for srv and period tp.  NULL on allocation
 * failure or bad arguments.  The nodes are borrowed: free the ring before
 * the nodelist changes. */
hs_ring_t *hs_ring_build(const node_t *const *nodes, size_t n,
                         const uint8_t srv[32], uint64_t tp,
                         const hs_ring_params_t *p);
/** The same for every node of a nodelist. */
hs_ring_t *hs_ring_build_from_nodelist(const nodelist_t *nl,
                                       const uint8_t srv[32], uint64_t tp,
                                       const hs_ring_params_t *p);
void hs_ring_free_(hs_ring_t *r);
#define hs_ring_free(p) do { hs_ring_free_(p); (p) = NULL; } while (0)

/** Number of HSDirs in the ring; the i-th in ring order and its index. */
size_t hs_ring_size(const hs_ring_t *r);
const node_t *hs_ring_node(const hs_ring_t *r, size_t i,
                           uint8_t index_out[32]);

/** The HSDirs responsible for blinded in period tp (2.2.3): for replica
 * 1..p->n_replicas, the first spread nodes whose index follows (is >=)
 * hs_service_index(replica), going round the ring, skipping nodes chosen
 * for a lower replica.  Writes at most max node pointers to out, replica by
 * replica, and returns how many (fewer when the ring is small). */
size_t hs_ring_responsible(const hs_ring_t *r,
                           const ed25519_public_key_t *blinded, uint64_t tp,
                           const hs_ring_params_t *p, int spread,
                           const node_t **out, size_t max);

#endif
