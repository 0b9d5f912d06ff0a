/* congestion.h -- RTT-based circuit congestion control, sans-IO (torspec
 * proposal 324 "RTT-based Congestion Control for Tor": 2.1 RTT measurement,
 * 2.1.1 clock heuristics, 2.1.2 N_EWMA smoothing, 2.2 SENDME changes,
 * 3.1.2 cwnd BDP estimator, 3.3 TOR_VEGAS with RFC 3742 slow start, 6.5
 * consensus parameters; proposal 289 authenticated SENDMEs).
 *
 * One cc_state_t belongs to one endpoint of one circuit (the client's
 * exit hop, or an exit's circuit): it is symmetric, the side that sends
 * RELAY_DATA uses the sender half, the side that receives it the receiver
 * half, and both halves run at once on every circuit.
 *
 *   sender:   cc_can_send()             may another DATA cell go out?
 *             cc_next_sent_needs_digest() is the next one a SENDME will ack?
 *             cc_note_cell_sent(now, digest)   after it went out
 *             cc_note_sendme_received(now, digest, blocked)
 *                  checks the digest (oldest first, constant time), takes
 *                  an RTT sample, runs Vegas, inflight -= sendme_inc
 *   receiver: cc_note_cell_received()   1: send a circuit SENDME (v1) now
 *
 * Only RELAY_DATA cells count, and only circuit-level SENDMEs exist while
 * congestion control is on (stream flow uses XON/XOFF, congestion_codec.h).
 * Time is passed in by the caller, in microseconds of a monotonic clock.
 * Nothing here asserts on what the peer does: a SENDME with nothing
 * outstanding or a wrong digest is an error the caller turns into closing
 * the circuit (TORPROTOCOL), as tor does.
 */
#ifndef ALLIUM_CORE_CIRCUIT_CONGESTION_H
#define ALLIUM_CORE_CIRCUIT_CONGESTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** cc_alg values (prop 324 6.5.1). */
#define CC_ALG_FIXED 0      /**< no congestion control: the old windows */
#define CC_ALG_WESTWOOD 1   /**< not implemented: treated as Vegas */
#define CC_ALG_VEGAS 2
#define CC_ALG_NOLA 3       /**< not implemented: treated as Vegas */

/** The sendme digest length (proposal 289). */
#define CC_DIGEST_LEN 20
/** An RTT sample this many times the EWMA (or 1/this) is a clock jump. */
#define CC_CLOCK_JUMP_RATIO 5000

/** Errors (negative). */
#define CC_ERR_UNEXPECTED (-1)  /**< SENDME with nothing outstanding */
#define CC_ERR_DIGEST (-2)      /**< SENDME digest missing or wrong */
#define CC_ERR_FULL (-3)        /**< cell sent with a full window */
#define CC_ERR_ARG (-4)

/** Consensus parameters (names as in the consensus "params" line). */
typedef struct cc_params_t {
  int32_t alg;              /**< cc_alg [0,3], 2 */
  int32_t sendme_inc;       /**< cc_sendme_inc [1,255], 31 */
  int32_t cwnd_init;        /**< cc_cwnd_init [31,10000], 124 */
  int32_t cwnd_min;         /**< cc_cwnd_min [31,1000], 124 */
  int32_t cwnd_max;         /**< cc_cwnd_max [500,INT32_MAX], INT32_MAX */
  int32_t cwnd_inc;         /**< cc_cwnd_inc [1,1000], 1 */
  int32_t cwnd_inc_pct_ss;  /**< cc_cwnd_inc_pct_ss [1,500], 100 */
  int32_t cwnd_inc_rate;    /**< cc_cwnd_inc_rate [1,250], 31 */
  int32_t bwe_min;          /**< cc_bwe_min [2,20], 5 (unused by Vegas) */
  int32_t ewma_cwnd_pct;    /**< cc_ewma_cwnd_pct [1,255], 50 */
  int32_t ewma_max;         /**< cc_ewma_max [2,INT32_MAX], 10 */
  int32_t ewma_ss;          /**< cc_ewma_ss [2,INT32_MAX], 2 */
  int32_t rtt_reset_pct;    /**< cc_rtt_reset_pct [0,100], 100 */
  int32_t vegas_alpha;      /**< cc_vegas_alpha_exit [0,1000], 186 */
  int32_t vegas_beta;       /**< cc_vegas_beta_exit [0,1000], 248 */
  int32_t vegas_gamma;      /**< cc_vegas_gamma_exit [0,1000], 186 */
  int32_t vegas_delta;      /**< cc_vegas_delta_exit [0,INT32_MAX], 310 */
  int32_t sscap;            /**< cc_sscap_exit [100,INT32_MAX], 600 */
  int32_t ss_max;           /**< cc_ss_max [500,INT32_MAX], 5000 */
  int32_t cwnd_full_gap;    /**< cc_cwnd_full_gap [0,INT16_MAX], 4 */
  int32_t cwnd_full_minpct; /**< cc_cwnd_full_minpct [0,100], 25 */
  int32_t cwnd_full_per_cwnd; /**< cc_cwnd_full_per_cwnd [0,1], 1 */
  int32_t xoff_client;      /**< cc_xoff_client [1,10000] cells, 500 */
  int32_t xoff_exit;        /**< cc_xoff_exit [1,10000] cells, 500 */
  int32_t xon_rate;         /**< cc_xon_rate [1,5000] cells, 500 */
  int32_t xon_change_pct;   /**< cc_xon_change_pct [1,99], 25 */
  int32_t xon_ewma_cnt;     /**< cc_xon_ewma_cnt [2,100], 2 */
} cc_params_t;

/** Reads one consensus parameter: the value of name clamped to [min,max],
 * or def when absent.  (nodelist_get_param() has this shape.) */
typedef int32_t (*cc_param_getter_t)(void *arg, const char *name,
                                     int32_t def, int32_t min, int32_t max);

/** tor's defaults, for a circuit whose last hop is an exit. */
void cc_params_default(cc_params_t *p);
/** Every parameter from get (defaults and ranges as above); get NULL gives
 * the defaults.  Afterwards cc_params_clamp() holds. */
void cc_params_load(cc_params_t *p, cc_param_getter_t get, void *arg);
/** As cc_params_load(), for an onion-service rendezvous circuit (prop 324
 * 6.5.3): the Vegas thresholds and sscap come from the *_onion parameters
 * (alpha 186, beta 434, gamma 310, delta 558, sscap 600 by default). */
void cc_params_load_onion(cc_params_t *p, cc_param_getter_t get, void *arg);
/** Force each field into its range, and the cross-parameter rules (cwnd_min
 * and cwnd_init >= sendme_inc, cwnd_init <= cwnd_max, cwnd_min <= cwnd_max,
 * alpha <= beta <= delta). */
void cc_params_clamp(cc_params_t *p);

typedef struct cc_state_t cc_state_t;

/** A new state for a circuit whose negotiated SENDME increment is
 * sendme_inc (1..255); parameters are copied.  NULL on bad arguments. */
cc_state_t *cc_new(const cc_params_t *p, uint8_t sendme_inc);
/** Free (wipes the remembered digests); NULL is fine. */
void cc_free_(cc_state_t *cc);
#define cc_free(p) do { cc_free_(p); (p) = NULL; } while (0)

/* ---- sender ---- */
/** True while cwnd - inflight > 0 (prop 324 3). */
bool cc_can_send(const cc_state_t *cc);
/** cwnd - inflight, 0 when negative. */
uint64_t cc_send_room(const cc_state_t *cc);
/** True if the next DATA cell is one the peer's SENDME will acknowledge
 * (every sendme_inc-th one): its digest must be given to
 * cc_note_cell_sent(). */
bool cc_next_sent_needs_digest(const cc_state_t *cc);
/** Largest body for the next DATA cell: the first cell after each acked
 * one leaves room for random padding (as with the old windows). */
size_t cc_max_data_len(const cc_state_t *cc, size_t body_max);
/** A DATA cell went out at now_usec.  digest (CC_DIGEST_LEN bytes: our
 * rolling digest after the cell) is required when
 * cc_next_sent_needs_digest() was true, else ignored (may be NULL).
 * 0, CC_ERR_FULL (no room: nothing changes) or CC_ERR_ARG. */
int cc_note_cell_sent(cc_state_t *cc, uint64_t now_usec,
                      const uint8_t *digest);
/** A circuit SENDME arrived at now_usec.  digest: its v1 digest, or NULL
 * for a v0 SENDME (refused: CC_ERR_DIGEST).  blocked: our connection
 * towards the peer is congested (a congestion signal).  0, or
 * CC_ERR_UNEXPECTED (nothing outstanding) / CC_ERR_DIGEST: the caller
 * closes the circuit; on error nothing changes. */
int cc_note_sendme_received(cc_state_t *cc, uint64_t now_usec,
                            const uint8_t *digest, bool blocked);

/* ---- receiver ---- */
/** A DATA cell arrived: 1 if a circuit SENDME must be sent now (every
 * sendme_inc cells), else 0. */
int cc_note_cell_received(cc_state_t *cc);

/* ---- observation (logs, tests) ---- */
typedef struct cc_stats_t {
  uint64_t cwnd;
  uint64_t inflight;
  bool in_slow_start;
  uint8_t sendme_inc;
  uint64_t rtt_min_usec, rtt_ewma_usec, rtt_max_usec;
  uint64_t bdp;                /**< last cwnd-estimator BDP, cells */
  uint64_t sendmes_received, sendmes_sent;
  uint64_t cells_sent, cells_received;
  uint64_t clock_stalls, clock_jumps;
  uint64_t pending_digests;
} cc_stats_t;
void cc_get_stats(const cc_state_t *cc, cc_stats_t *out);

#endif
