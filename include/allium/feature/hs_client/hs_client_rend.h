/* hs_client_rend.h -- the client side of the onion-service introduction and
 * rendezvous protocol (rend-spec-v3 3.2-3.3, 4.1-4.2.1): from a decrypted
 * descriptor (its second layer) to a rendezvous circuit joined with the
 * service by the virtual hs-ntor hop, ready for streams.
 *
 * One hs_client_rend_t is one connection attempt:
 *   1. a rendezvous point is chosen (a usable Fast node advertising
 *      HSRend=2, not in ExcludeNodes) and a 3-hop circuit built to it;
 *      ESTABLISH_RENDEZVOUS with a fresh random 20-byte cookie; wait for
 *      RENDEZVOUS_ESTABLISHED.
 *   2. meanwhile a 3-hop circuit to an introduction point of the descriptor
 *      (from its link specifiers and ntor onion key; it need not be in the
 *      consensus), in random order.
 *   3. once both are ready: INTRODUCE1 (hs-ntor client handshake with a
 *      fresh x, the service's enc-key B, the intro point's auth key and the
 *      subcredential; encrypted part = cookie, the rendezvous point's ntor
 *      onion key and link specifiers, padding as tor clients pad; MAC over
 *      the cell up to the MAC; with cfg->cc and a usable flow-control line
 *      in the descriptor, the proposal 324 9.2 CC request extension too).
 *      INTRODUCE_ACK status 0: the intro circuit is
 *      closed and RENDEZVOUS2 awaited; any other status, the intro circuit
 *      failing or the ack not arriving in time: the next introduction point
 *      (the same rendezvous circuit and cookie).
 *   4. RENDEZVOUS2 on the rendezvous circuit: the hs-ntor AUTH is checked
 *      (against every x we sent, since a late INTRODUCE2 may still reach the
 *      service), NTOR_KEY_SEED expanded, the virtual hop added (net->join)
 *      and done(HS_CLIENT_REND_OK, rendezvous circuit) reported: the circuit
 *      now belongs to the caller (streams end at the service).
 *
 * The module is sans-IO: circuits are built, used and closed through the
 * caller's hs_client_rend_net_t (the daemon's implementation sits on
 * chanmgr and the client's path selection for internal circuits; tests use
 * in-process fakes), whose events come back through the callbacks given to
 * launch().  Time comes from net->now_msec; the owner calls
 * hs_client_rend_tick() about once a second.
 *
 * done(arg, status, circ) runs exactly once, never inside
 * hs_client_rend_start() (a failure found there is reported by the next
 * tick), and may free the object.  Statuses and the proposal 304 SOCKS5
 * replies a caller gives (with ExtendedErrors; X'01' otherwise):
 *   HS_CLIENT_REND_OK           circ is the joined rendezvous circuit
 *   HS_CLIENT_REND_ERR_INTRO    every introduction point refused or its
 *                               circuit failed / no usable one     X'F2'
 *   HS_CLIENT_REND_ERR_REND     the rendezvous circuit failed, a bad
 *                               RENDEZVOUS2, or none after the ack X'F3'
 *   HS_CLIENT_REND_ERR_TIMEOUT  no INTRODUCE_ACK in time from any
 *                               introduction point tried, or the whole
 *                               attempt over total_timeout_msec   X'F7'
 *   HS_CLIENT_REND_ERR_NO_PATH  no rendezvous point or circuit could be
 *                               launched                          X'01'
 * Logs carry no onion address, cookie or key.
 */
#ifndef ALLIUM_FEATURE_HS_CLIENT_HS_CLIENT_REND_H
#define ALLIUM_FEATURE_HS_CLIENT_HS_CLIENT_REND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/hs_cells.h"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/x25519.h"

typedef enum hs_client_rend_status_t {
  HS_CLIENT_REND_OK = 0,
  HS_CLIENT_REND_ERR_INTRO = -1,
  HS_CLIENT_REND_ERR_REND = -2,
  HS_CLIENT_REND_ERR_TIMEOUT = -3,
  HS_CLIENT_REND_ERR_NO_PATH = -4,
} hs_client_rend_status_t;

/** Static name of a status, for logs. */
const char *hs_client_rend_status_name(int status);

/** Events of one launched circuit (arg as given to launch()). */
typedef struct hs_client_rend_circ_ev_t {
  /** Every hop is in. */
  void (*built)(void *arg, uint64_t circ);
  /** The circuit is gone (build failure, DESTROY, ...); once. */
  void (*closed)(void *arg, uint64_t circ);
  /** A relay message no part of the circuit handled; last_hop: it came
   * from the circuit's last hop (the intro / rendezvous point). */
  void (*relay_msg)(void *arg, uint64_t circ, bool last_hop, uint8_t command,
                    const uint8_t *body, size_t len);
} hs_client_rend_circ_ev_t;

/** What the module needs from the circuit layer. */
typedef struct hs_client_rend_net_t {
  /** Build a 3-hop circuit whose last hop is last (the first two chosen as
   * for the client's internal circuits, compatible with last); *circ_out
   * gets a non-zero handle.  Events go to ev / arg, never from inside
   * launch().  0, or negative (nothing launched). */
  int (*launch)(void *ctx, const circ_hop_spec_t *last,
                const hs_client_rend_circ_ev_t *ev, void *arg,
                uint64_t *circ_out);
  /** Send a relay message (stream 0) to the last hop of a built circuit. */
  int (*send)(void *ctx, uint64_t circ, uint8_t command, const uint8_t *body,
              size_t len);
  /** Add the virtual hop with keys Df|Db|Kf|Kb (client side):
   * chanmgr_add_virtual_hop().  After success the circuit is the
   * caller's: route its events to the new owner.  cc not NULL: the
   * service was asked for congestion control (proposal 324 9), the hop
   * runs it with cc and sendme_inc (the descriptor's); NULL: windows. */
  int (*join)(void *ctx, uint64_t circ,
              const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
              const cc_params_t *cc, uint8_t sendme_inc);
  /** Close a circuit; its closed event may run inside this call, none of
   * its events after it. */
  void (*close)(void *ctx, uint64_t circ);
  /** Monotonic milliseconds. */
  uint64_t (*now_msec)(void *ctx);
  void *ctx;
} hs_client_rend_net_t;

typedef struct hs_client_rend_cfg_t {
  hs_client_rend_net_t net;             /**< copied */
  /** Where the rendezvous point comes from (borrowed, only during start):
   * a node of nl chosen by hs_client_rend_choose_rp() under path_opts
   * (NULL: defaults) and rng (NULL: system CSPRNG) ... */
  const nodelist_t *nl;
  const pathsel_options_t *path_opts;
  const pathsel_rng_t *rng;
  /** ... or this one when not NULL (tests, tools; copied). */
  const circ_hop_spec_t *rp;
  /** INTRODUCE1 sent -> INTRODUCE_ACK, and an intro circuit's build
   * (0: 30000). */
  uint32_t intro_timeout_msec;
  /** Whole attempt, start to joined (0: 120000, tor's SocksTimeout). */
  uint32_t total_timeout_msec;
  /** Our consensus's congestion control parameters for onion circuits
   * (cc_params_load_onion(); borrowed during start, copied).  NULL or
   * alg 0: never ask for congestion control.  Else it is asked for (the
   * CC request extension in INTRODUCE1) when hs_client_rend_cc_usable(). */
  const cc_params_t *cc;
} hs_client_rend_cfg_t;

typedef struct hs_client_rend_t hs_client_rend_t;

typedef void (*hs_client_rend_done_fn)(void *arg, int status, uint64_t circ);

/** Start an attempt to reach the service with identity service_pk (kept
 * for the owner, never logged), subcredential subcred of the descriptor's
 * time period, and its decrypted second layer desc (borrowed during the
 * call only: the introduction points are copied).
 * NULL only on bad arguments (nothing launched, done never called). */
hs_client_rend_t *hs_client_rend_start(const hs_client_rend_cfg_t *cfg,
                                       const ed25519_public_key_t *service_pk,
                                       const uint8_t subcred[32],
                                       const hs_desc_layer2_t *desc,
                                       hs_client_rend_done_fn done, void *arg);
/** Check deadlines (and report a failure found in start). */
void hs_client_rend_tick(hs_client_rend_t *r);
/** Close every circuit the attempt still owns (not a joined one handed to
 * the caller), wipe, free; no done call.  NULL ok. */
void hs_client_rend_free_(hs_client_rend_t *r);
#define hs_client_rend_free(p) \
  do { hs_client_rend_free_(p); (p) = NULL; } while (0)

/* ---- pieces, public for tests and the service side ---- */

/** A rendezvous point: usable, Fast, "HSRend=2" in its protocols, in no
 * ExcludeNodes (never relaxed), bandwidth-weighted as a middle.  NULL if
 * none. */
const node_t *hs_client_rend_choose_rp(const nodelist_t *nl,
                                       const pathsel_options_t *o,
                                       const pathsel_rng_t *rng);
/** Hop spec of node n (IPv4 ORPort required; IPv6 added when known). */
int hs_client_rend_spec_from_node(const node_t *n, circ_hop_spec_t *out);
/** Hop spec of an introduction point from its link specifiers (an IPv4
 * address and the legacy identity required; ed25519 identity and IPv6
 * used when present) and its ntor onion key.  0 or -1. */
int hs_client_rend_spec_from_intro(const hs_desc_intro_point_t *ip,
                                   circ_hop_spec_t *out);

/** Proposal 324 9.1-9.2: may a client with consensus parameters cons ask
 * for congestion control with this descriptor?  cons->alg != 0, a
 * flow-control line whose versions include 2, and its sendme-inc within a
 * factor of 2 of cons->sendme_inc (otherwise: no CC, never a failure). */
bool hs_client_rend_cc_usable(const hs_desc_layer2_t *desc,
                              const cc_params_t *cons);

/** Largest INTRODUCE1 we send.  A tor 0.4.9 intro point refuses ("over-long
 * INTRODUCE1 cell") one that would not fit the INTRODUCE2 relay message of
 * the smallest relay cell format (proposal 340: 509 - 16 - 1 - 2 - 2 = 488
 * bytes with a stream id). */
#define HS_CLIENT_INTRODUCE1_MAX_LEN 488
/** The plaintext is zero-padded until the cell without CLIENT_PK and MAC
 * reaches this many bytes, so the usual cell (IPv4 rendezvous point) is
 * 310 bytes whatever its link specifiers, as tor clients' cells are. */
#define HS_CLIENT_INTRODUCE1_PAD_TO 246

/** The INTRODUCE1 body (rend-spec-v3 3.2.1, 3.3, 3.3.2) for an intro
 * point with auth key auth_key and service enc-key B, from the client's
 * ephemeral x, the rendezvous cookie and point rp (its ntor key and link
 * specifiers: addresses, legacy id, ed25519 id); padded as said above, at
 * most HS_CLIENT_INTRODUCE1_MAX_LEN bytes.  0 or negative (also when out
 * is too small). */
int hs_client_introduce1_build(uint8_t *out, size_t outlen, size_t *len_out,
                               const uint8_t auth_key[HS_CELL_AUTH_KEY_LEN],
                               const uint8_t B[32], const uint8_t subcred[32],
                               const x25519_keypair_t *x,
                               const uint8_t cookie[HS_CELL_COOKIE_LEN],
                               const circ_hop_spec_t *rp);
/** hs_client_introduce1_build() with, when want_cc, the congestion
 * control request extension (type 1, empty; proposal 324 9.2) in the
 * encrypted plaintext. */
int hs_client_introduce1_build_cc(uint8_t *out, size_t outlen,
                                  size_t *len_out,
                                  const uint8_t auth_key[HS_CELL_AUTH_KEY_LEN],
                                  const uint8_t B[32],
                                  const uint8_t subcred[32],
                                  const x25519_keypair_t *x,
                                  const uint8_t cookie[HS_CELL_COOKIE_LEN],
                                  const circ_hop_spec_t *rp, bool want_cc);

#endif
