/* hs_service_run.h -- a service's introduction points and rendezvous, as
 * a sans-IO state machine (rend-spec-v3 3.1 establishing introduction
 * points, 3.3 INTRODUCE2, 4.2 RENDEZVOUS1 and the virtual hop), driven
 * through the caller's circuit operations like hs_client_rend.h:
 *
 *   - n slots (HiddenServiceNumIntroductionPoints); for each, net->pick
 *     chooses an introduction point (not one in use), a 3-hop circuit is
 *     launched to it with fresh keys (hs_service_ip_new()); once built,
 *     ESTABLISH_INTRO signed with the last hop's KH (net->kh); on
 *     INTRO_ESTABLISHED the slot is ready.  A slot whose circuit fails or
 *     does not get INTRO_ESTABLISHED within establish_timeout_msec starts
 *     over with a new point and new keys.  A ready point is replaced
 *     after a random lifetime of 18-24 hours or 16384-32768 INTRODUCE2
 *     cells, whichever comes first (as tor rotates them).
 *   - the set of ready points changes -> publish(arg) once every slot is
 *     ready, or once publish_grace_msec after the first became ready with
 *     some ready; the owner then reads hs_service_run_intro_points() and
 *     builds / uploads descriptors (hs_service_publish.h).
 *   - INTRODUCE2 on a ready slot's circuit: hs_service_intro2_open() with
 *     the subcredentials the owner set (one per live descriptor) and the
 *     slot's replay cache; then a 3-hop circuit to the rendezvous point
 *     (at most max_pending at a time); once built, RENDEZVOUS1, net->join
 *     with the hs-ntor keys (service side), and rendezvous(arg, circ): the
 *     circuit now belongs to the owner, who accepts BEGINs on it
 *     (hs_service_stream.h).
 * Time comes from net->now_msec; the owner calls hs_service_run_tick()
 * about once a second.  Logs carry no keys, cookies or addresses.
 */
#ifndef ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_RUN_H
#define ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/feature/hs_service/hs_service_config.h"
#include "allium/feature/hs_service/hs_service_desc.h"
#include "allium/feature/hs_service/hs_service_publish.h"

/** Events of one launched circuit (arg as given to launch()). */
typedef struct hs_service_circ_ev_t {
  void (*built)(void *arg, uint64_t circ);
  void (*closed)(void *arg, uint64_t circ);
  void (*relay_msg)(void *arg, uint64_t circ, bool last_hop, uint8_t command,
                    const uint8_t *body, size_t len);
} hs_service_circ_ev_t;

typedef struct hs_service_net_t {
  /** Choose an introduction point not among in_use[0..n): 0, or -1 when
   * there is none. */
  int (*pick)(void *ctx, const circ_hop_spec_t *in_use, size_t n,
              circ_hop_spec_t *out);
  /** As hs_client_rend_net_t: 3-hop circuit ending at last; events never
   * from inside launch(). */
  int (*launch)(void *ctx, const circ_hop_spec_t *last,
                const hs_service_circ_ev_t *ev, void *arg, uint64_t *circ_out);
  int (*send)(void *ctx, uint64_t circ, uint8_t command, const uint8_t *body,
              size_t len);
  /** KH of the last hop of a built circuit (circ_origin_hop_kh()). */
  int (*kh)(void *ctx, uint64_t circ, uint8_t out[HS_CELL_KH_LEN]);
  /** Add the virtual hop, service side; then the circuit is the owner's.
   * cc_requested: the INTRODUCE2 carried the congestion control request
   * (proposal 324 9.2); the owner turns CC on for the hop if its
   * descriptor advertised flow-control (else 9.4: windows). */
  int (*join)(void *ctx, uint64_t circ,
              const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN], bool cc_requested);
  void (*close)(void *ctx, uint64_t circ);
  uint64_t (*now_msec)(void *ctx);
  void *ctx;
} hs_service_net_t;

typedef struct hs_service_run_cfg_t {
  hs_service_net_t net;                    /**< copied */
  const hs_service_config_t *svc;          /**< borrowed for the lifetime */
  uint32_t establish_timeout_msec;         /**< 0: 30000 */
  uint32_t publish_grace_msec;             /**< 0: 10000 */
  uint32_t max_pending;                    /**< rendezvous launches; 0: 16 */
  void (*publish)(void *arg);
  void (*rendezvous)(void *arg, uint64_t circ);
  void *arg;
} hs_service_run_cfg_t;

typedef struct hs_service_run_t hs_service_run_t;

/** Start: launches the introduction circuits.  NULL on bad arguments. */
hs_service_run_t *hs_service_run_start(const hs_service_run_cfg_t *cfg);
/** Deadlines, relaunches, the publish decision. */
void hs_service_run_tick(hs_service_run_t *s);
/** The subcredentials INTRODUCE2 may be for (1 or 2; copied). */
int hs_service_run_set_subcreds(hs_service_run_t *s,
                                const uint8_t (*subcreds)[32], size_t n);
/** The ready introduction points for a descriptor into out (at most max;
 * lspecs point into s, valid until the next event or tick).  Returns how
 * many. */
size_t hs_service_run_intro_points(hs_service_run_t *s,
                                   hs_service_intro_t *out, size_t max);

typedef struct hs_service_run_stats_t {
  uint64_t intro_launched, intro_established, intro_failed, intro_rotated;
  uint64_t introduce2_ok, introduce2_refused, introduce2_replay;
  uint64_t rend_launched, rend_joined, rend_failed;
  uint64_t publishes;
} hs_service_run_stats_t;
void hs_service_run_stats(const hs_service_run_t *s,
                          hs_service_run_stats_t *out);

/** Close every circuit still owned, wipe keys, free.  NULL ok. */
void hs_service_run_free_(hs_service_run_t *s);
#define hs_service_run_free(p) do { hs_service_run_free_(p); (p) = NULL; } while (0)

#endif
