/* relay_hs.h -- the onion-service roles of a relay: introduction point
 * (rend-spec-v3 3.1 ESTABLISH_INTRO / INTRO_ESTABLISHED, 3.1.1.1 the DoS
 * extension of proposal 305, 3.2 INTRODUCE1 -> INTRODUCE2 and
 * INTRODUCE_ACK) and rendezvous point (4.1 ESTABLISH_RENDEZVOUS /
 * RENDEZVOUS_ESTABLISHED, 4.2 RENDEZVOUS1 -> RENDEZVOUS2 and the join of
 * the two circuits).
 *
 * Sans-IO: the module keeps the maps (introduction auth key -> the
 * service's circuit, rendezvous cookie -> the client's circuit, per-circuit
 * role and INTRODUCE2 token bucket) and acts through the relay_hs_io_t
 * callbacks (send a relay message, close a circuit, join two circuits); the
 * relay runtime (relay_run.c) plugs the cell engine in, tests plug fakes.
 * Circuits are the engine's 64-bit handles.  The callbacks may re-enter
 * relay_hs_circ_closed() (a close done synchronously); the module is ready
 * for that at every call.
 *
 * What is refused, as tor 0.4.9 does:
 *   - any of these messages on a circuit with a next hop (we must be its
 *     last hop), or on a circuit that already has an onion-service role:
 *     the circuit is closed (TORPROTOCOL);
 *   - ESTABLISH_INTRO with a bad MAC (KH) or signature, legacy RSA keys,
 *     bad framing: closed;
 *   - INTRODUCE1 a second time on a circuit, from a client straight to us
 *     (single hop), or with a legacy / non-ed25519 key: closed; a body that
 *     does not parse: INTRODUCE_ACK status 2; an unknown auth key: status 1;
 *     the service's INTRODUCE2 bucket empty (DoS defence) or its circuit
 *     unable to take the message: status 3 (nothing relayed); else the body
 *     goes unchanged as INTRODUCE2 and status 0;
 *   - ESTABLISH_RENDEZVOUS with a short body or a cookie already waiting:
 *     closed; RENDEZVOUS1 with a short body or an unknown cookie: closed.
 * A cookie lives as long as its circuit (tor: no other expiry).
 */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_HS_H
#define ALLIUM_FEATURE_RELAY_RELAY_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/mainloop/cellswitch.h"

/** Consensus parameter defaults (param-spec / dir-spec; tor's hs_dos.c):
 * the INTRODUCE2 defence is off unless the consensus (or the service's DoS
 * extension) turns it on. */
#define RELAY_HS_INTRO_DOS_ENABLED_DEFAULT 0
#define RELAY_HS_INTRO_DOS_RATE_DEFAULT 25
#define RELAY_HS_INTRO_DOS_BURST_DEFAULT 200

typedef struct relay_hs_t relay_hs_t;

/** What the module asks of the cell engine.  Every member is required. */
typedef struct relay_hs_io_t {
  /** Send relay message command with body (stream 0) towards circ's
   * originator.  0, or negative if the circuit cannot take it. */
  int (*send)(void *arg, uint64_t circ, uint8_t command, const uint8_t *body,
              size_t len);
  /** Close circ with a DESTROY reason (may call relay_hs_circ_closed()). */
  void (*close)(void *arg, uint64_t circ, uint8_t reason);
  /** Join circuits a and b (cellswitch_circ_splice()).  0 or negative. */
  int (*splice)(void *arg, uint64_t a, uint64_t b);
  void *arg;
} relay_hs_io_t;

/** What the engine knows about the circuit a message came on. */
typedef struct relay_hs_circ_info_t {
  bool last_hop;          /**< no next hop: we are the end of it */
  bool prev_is_client;    /**< its previous hop did not authenticate as a
                           *   relay (a client built it straight to us) */
  const uint8_t *kh;      /**< KH of its create handshake (20 bytes) */
} relay_hs_circ_info_t;

/** The INTRODUCE2 defence from the consensus (or the defaults). */
typedef struct relay_hs_params_t {
  bool intro_dos_enabled;     /**< HiddenServiceEnableIntroDoSDefense */
  uint32_t intro_dos_rate;    /**< HiddenServiceEnableIntroDoSRatePerSec */
  uint32_t intro_dos_burst;   /**< HiddenServiceEnableIntroDoSBurstPerSec */
} relay_hs_params_t;

/** Counters for the heartbeat and the tests. */
typedef struct relay_hs_stats_t {
  size_t intro_circuits;          /**< now: established intro points */
  size_t rend_waiting;            /**< now: cookies waiting */
  uint64_t intro_established;     /**< ESTABLISH_INTRO accepted */
  uint64_t intro_refused;         /**< ESTABLISH_INTRO refused (closed) */
  uint64_t intro_replaced;        /**< older circuit of a key closed */
  uint64_t introduce2_sent;       /**< INTRODUCE1 relayed as INTRODUCE2 */
  uint64_t introduce1_unknown;    /**< ACK status 1 */
  uint64_t introduce1_bad;        /**< ACK status 2, or circuit closed */
  uint64_t introduce1_dos;        /**< ACK status 3: bucket empty */
  uint64_t rend_established;      /**< ESTABLISH_RENDEZVOUS accepted */
  uint64_t rend_refused;          /**< ESTABLISH_RENDEZVOUS refused */
  uint64_t rend_joined;           /**< RENDEZVOUS1 -> RENDEZVOUS2 + join */
  uint64_t rend1_refused;         /**< RENDEZVOUS1 refused (closed) */
} relay_hs_stats_t;

/** New module (io copied) with the default parameters.  Caller frees with
 * relay_hs_free(). */
relay_hs_t *relay_hs_new(const relay_hs_io_t *io);
/** Free the maps (closes nothing); NULL is fine. */
void relay_hs_free_(relay_hs_t *h);
#define relay_hs_free(p) do { relay_hs_free_(p); (p) = NULL; } while (0)

/** New consensus parameters: introduction circuits whose service did not
 * set its own (DoS extension) take them, keeping their tokens. */
void relay_hs_set_params(relay_hs_t *h, const relay_hs_params_t *p);
/** Parameters as they are now. */
void relay_hs_get_params(const relay_hs_t *h, relay_hs_params_t *out);

/** A relay message (stream 0) reached us on circ.  Returns true when it
 * is an onion-service message of a relay's roles (ESTABLISH_INTRO,
 * INTRODUCE1, ESTABLISH_RENDEZVOUS, RENDEZVOUS1), handled here; false for
 * anything else (left to the caller).  now_msec: a monotonic clock. */
bool relay_hs_handle_msg(relay_hs_t *h, uint64_t circ,
                         const relay_hs_circ_info_t *ci, uint8_t command,
                         const uint8_t *body, size_t len, uint64_t now_msec);
/** circ is gone: forget its key, cookie, role.  Unknown circuits are
 * fine. */
void relay_hs_circ_closed(relay_hs_t *h, uint64_t circ);

void relay_hs_get_stats(const relay_hs_t *h, relay_hs_stats_t *out);

/* ---- on the cell engine (relay_hs_run.c) ---- */

/** A module whose callbacks act on the engine *swp (read at each call, so
 * the engine may be made after the module; NULL: nothing is sent): sends
 * with circ_relay_send() + cellswitch_circ_flush(), closes with
 * cellswitch_circ_close(), joins with cellswitch_circ_splice(). */
relay_hs_t *relay_hs_new_switch(cellswitch_t *const *swp);
/** For cellswitch_hooks_t.on_relay_msg: a relay message of circuit
 * circ of sw, with what the engine knows of the circuit (last hop, previous
 * hop a client, KH).  Also call relay_hs_circ_closed() from
 * on_circ_closed. */
void relay_hs_switch_relay_msg(relay_hs_t *h, cellswitch_t *sw, uint64_t circ,
                               const circ_event_t *ev);

#endif
