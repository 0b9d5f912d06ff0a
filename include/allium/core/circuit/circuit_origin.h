/* circuit_origin.h -- an origin (client-built) circuit as a sans-IO state
 * machine (tor-spec 5.1-5.6, 6.1, 7.3; proposal 289).
 *
 * Life cycle:
 *   circ_origin_new()
 *   circ_origin_start(first hop)     -> CREATE2 cell queued
 *   CREATED2 in (circ_origin_handle_cell) -> ntor finished, HOP_ADDED event
 *   circ_origin_extend(next hop)     -> EXTEND2 in a RELAY_EARLY cell queued
 *   EXTENDED2 in                     -> HOP_ADDED event ... repeat
 *   circ_origin_build_done()         -> stops the build deadline
 *   circ_origin_send() / streams     -> RELAY cells queued
 *   DESTROY / TRUNCATED / errors     -> CLOSED event (+ DESTROY queued when
 *                                       we close it ourselves)
 * The caller moves cells between the circuit and its channel:
 * circ_origin_next_cell() yields what to send (all towards hop 0), and every
 * cell for this circuit from the channel goes to circ_origin_handle_cell().
 * Time is supplied by the caller (circ_origin_tick()).
 *
 * The ntor handshake (HTYPE 2) is used, except for a hop whose spec has
 * want_cc: it is extended to with ntor v3 (HTYPE 3) carrying a CC_REQUEST,
 * and a CC_RESPONSE in its reply turns congestion control on for that hop
 * (proposal 324 10): a congestion window instead of the 1000-cell circuit
 * window, a circuit SENDME every sendme_inc DATA cells, no stream SENDMEs,
 * XON/XOFF for streams.  EXTEND2 always travels in RELAY_EARLY (at most 8
 * per circuit, so at most 9 hops).
 */
#ifndef ALLIUM_CORE_CIRCUIT_CIRCUIT_ORIGIN_H
#define ALLIUM_CORE_CIRCUIT_CIRCUIT_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/circuit/circuit_event.h"
#include "allium/core/circuit/congestion.h"
#include "allium/core/stream/flow.h"
#include "allium/core/stream/stream.h"

#define CIRC_ORIGIN_MAX_HOPS (CIRC_MAX_RELAY_EARLY + 1)
/** KH of a hop: the 20 bytes of the handshake's key material after
 * Df|Db|Kf|Kb (tor-spec 5.2.2), the "rend nonce" an onion service MACs into
 * ESTABLISH_INTRO (rend-spec-v3 3.1.1). */
#define CIRC_ORIGIN_KH_LEN 20
/** Key material of the virtual onion-service hop: Df|Db|Kf|Kb from the
 * hs-ntor key expansion (rend-spec-v3 4.2.1), 32 bytes each. */
#define CIRC_ORIGIN_HS_KEYS_LEN 128

/** A relay to add to the circuit. */
typedef struct circ_hop_spec_t {
  uint8_t rsa_id[RELAY_LEGACY_ID_LEN];   /**< RSA identity digest */
  uint8_t ed_id[RELAY_ED25519_ID_LEN];   /**< ed25519 identity */
  bool has_ed_id;
  uint8_t ntor_key[32];                  /**< ntor onion key (curve25519) */
  uint8_t n_addr;                        /**< 1 or 2 (IPv4 first) */
  relay_lspec_t addr[2];                 /**< RELAY_LSPEC_IPV4 / _IPV6 */
  /** Negotiate congestion control with this hop (ntor v3 + CC_REQUEST,
   * needs has_ed_id; only with circ_origin_extend()): the caller checked
   * FlowCtrl=2, Relay=4 and cc_alg != 0 (proposal 324 10.1). */
  bool want_cc;
  cc_params_t cc_params;                 /**< with want_cc: the consensus's */
} circ_hop_spec_t;

typedef enum circ_origin_state_t {
  CIRC_ORIGIN_NEW = 0,
  CIRC_ORIGIN_BUILDING,   /**< a CREATE2/EXTEND2 answer is pending */
  CIRC_ORIGIN_OPEN,       /**< no handshake pending; may extend again */
  CIRC_ORIGIN_CLOSED,
} circ_origin_state_t;

typedef struct circ_origin_t circ_origin_t;

/** New empty circuit.  Caller frees with circ_origin_free(). */
circ_origin_t *circ_origin_new(void);
/** Free, wiping every key; sends nothing.  NULL is fine. */
void circ_origin_free_(circ_origin_t *c);
#define circ_origin_free(p) do { circ_origin_free_(p); (p) = NULL; } while (0)

/** Begin the build towards first: queues a CREATE2 (ntor) cell.  The build
 * must finish (circ_origin_build_done()) before now + timeout, checked by
 * circ_origin_tick(); timeout 0 means no deadline. */
int circ_origin_start(circ_origin_t *c, const circ_hop_spec_t *first,
                      uint64_t now, uint64_t timeout);
/** Begin a one-hop build with CREATE_FAST (tor-spec 5.1.5): queues the
 * cell with 20 random bytes X.  On CREATED_FAST the keys come from
 * KDF-TOR(X | Y), KH is checked in constant time and the hop is added
 * (HOP_ADDED event); a wrong KH closes the circuit.  first (may be NULL) is
 * only recorded for circ_origin_hop_spec(); its onion key is unused.  Meant
 * for directory fetches over the first hop, as clients do when they know
 * no onion keys yet.  Deadline as for circ_origin_start(). */
int circ_origin_start_fast(circ_origin_t *c, const circ_hop_spec_t *first,
                           uint64_t now, uint64_t timeout);
/** Extend to next through the last hop: queues a RELAY_EARLY EXTEND2.
 * CIRC_ERR_EARLY once 8 RELAY_EARLY cells were sent, CIRC_ERR_STATE unless
 * OPEN or once the virtual onion-service hop is there. */
int circ_origin_extend(circ_origin_t *c, const circ_hop_spec_t *next);
/** The caller has all the hops it wanted: the build deadline stops, and
 * the RELAY_EARLY cells EXTEND2 did not use carry the next messages for
 * hops other than the first (tor-spec 5.6).  Extending later is still
 * possible while RELAY_EARLY cells remain. */
void circ_origin_build_done(circ_origin_t *c);
/** Check the build deadline: past it the circuit closes (TIMEOUT). */
void circ_origin_tick(circ_origin_t *c, uint64_t now);

/** A cell from the channel for this circuit (command and 509-byte
 * payload).  Errors in what the peer sent close the circuit (CLOSED event)
 * and still return 0; a negative value means API misuse. */
int circ_origin_handle_cell(circ_origin_t *c, uint8_t command,
                            const uint8_t payload[CELL_PAYLOAD_LEN]);
/** circ_origin_handle_cell() on a payload the caller lets the circuit
 * use as its work buffer: a RELAY cell is decrypted in place there (no
 * copy), and payload holds plaintext afterwards (wipe it). */
int circ_origin_handle_cell_inplace(circ_origin_t *c, uint8_t command,
                                    uint8_t payload[CELL_PAYLOAD_LEN]);

/** Where a circuit's outgoing cells go instead of its queue: the sink
 * gets the command and the 509-byte payload (valid during the call) of
 * every cell queued from now on, in order.  The cell path uses it to write
 * each cell from the circuit's encrypt buffer straight into the channel's
 * output.  The sink must not free the circuit. */
typedef void (*circ_origin_cell_sink_t)(void *arg, uint8_t command,
                                        const uint8_t payload[CELL_PAYLOAD_LEN]);
/** Set (fn not NULL) or clear the cell sink; cells already queued stay in
 * the queue (circ_origin_next_cell()). */
void circ_origin_set_cell_sink(circ_origin_t *c, circ_origin_cell_sink_t fn,
                               void *arg);
/** True if cells or events (its own or its stream table's) wait. */
bool circ_origin_has_output(circ_origin_t *c);

/** Send a relay message to hop (0-based), in RELAY_EARLY if the build is
 * done, hop > 0 and some are left.  RELAY_DATA obeys and counts the
 * circuit window of that hop (CIRC_ERR_WINDOW when closed).  body may be
 * NULL when body_len is 0. */
int circ_origin_send(circ_origin_t *c, size_t hop, uint8_t command,
                     uint16_t stream_id, const uint8_t *body, size_t body_len);
/** Tear the circuit down ourselves: DESTROY (reason NONE, as an OP must)
 * queued and a CLOSED event with reason. */
void circ_origin_close(circ_origin_t *c, uint8_t reason);

/** Create the circuit's stream table (client role) for streams ending at
 * hop; the circuit owns it and feeds it.  Returns it, or NULL if a table
 * exists already or hop does not. */
relay_streams_t *circ_origin_attach_streams(circ_origin_t *c, size_t hop);
/** The stream table, or NULL. */
relay_streams_t *circ_origin_streams(circ_origin_t *c);

/** Oldest queued cell: 1, or 0 if none. */
int circ_origin_next_cell(circ_origin_t *c, circ_cell_t *out);
/** Oldest event: 1, or 0 if none. */
int circ_origin_next_event(circ_origin_t *c, circ_event_t *out);

circ_origin_state_t circ_origin_state(const circ_origin_t *c);
size_t circ_origin_n_hops(const circ_origin_t *c);
/** RELAY_EARLY cells sent so far. */
unsigned circ_origin_early_used(const circ_origin_t *c);
/** What we were told about hop (identity, onion key, addresses); NULL if
 * no such hop.  Read-only, owned by the circuit. */
const circ_hop_spec_t *circ_origin_hop_spec(const circ_origin_t *c,
                                            size_t hop);
/** Circuit-level windows of hop (NULL if no such hop); read-only. */
const relay_flow_t *circ_origin_flow(const circ_origin_t *c, size_t hop);
/** KH of hop (CIRC_ORIGIN_KH_LEN bytes) into out: 0, or CIRC_ERR_ARG if no
 * such hop or it is the virtual hop (which has none).  Every handshake
 * gives one: CREATE_FAST, ntor and ntor v3. */
int circ_origin_hop_kh(const circ_origin_t *c, size_t hop,
                       uint8_t out[CIRC_ORIGIN_KH_LEN]);

/** Onion services (rend-spec-v3 4.2, 4.2.1): append the virtual hop that
 * ends a joined rendezvous circuit at the other party.  keys is the hs-ntor
 * expansion Df|Db|Kf|Kb (SHA3-256 digests, AES-256-CTR: RELAY_CRYPTO_HS).
 * The client sends with Kf/Df and receives with Kb/Db; the service
 * (service_side) uses them the other way round.  No cell is sent and no
 * event is queued.  A stream table already attached (origin_channels
 * attaches one when a build completes) moves to the new hop, so streams
 * begun from now on end at the other party; it must hold no stream yet.
 * 0, or CIRC_ERR_STATE (not OPEN, a handshake pending, no relay hop yet,
 * a virtual hop already there) or CIRC_ERR_ARG (no room, NULL keys) or
 * CIRC_ERR_CRYPTO. */
int circ_origin_add_virtual_hop(circ_origin_t *c,
                                const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
                                bool service_side);
/** circ_origin_add_virtual_hop() with congestion control on the virtual
 * hop when cc is not NULL (proposal 324 9: the client saw the descriptor's
 * flow-control line and sent the CC request in INTRODUCE1): a window of
 * cc's parameters (copied) instead of the 1000-cell circuit window, a
 * circuit SENDME every sendme_inc (1..255, the descriptor's) DATA cells,
 * streams with XON/XOFF instead of stream SENDMEs.  cc NULL: as
 * circ_origin_add_virtual_hop().  CIRC_ERR_ARG also for cc with a
 * sendme_inc of 0. */
int circ_origin_add_virtual_hop_cc(circ_origin_t *c,
                                   const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
                                   bool service_side, const cc_params_t *cc,
                                   uint8_t sendme_inc);
/** True if hop is the virtual onion-service hop. */
bool circ_origin_hop_is_virtual(const circ_origin_t *c, size_t hop);

/** Congestion control state of hop: NULL unless it was negotiated. */
const cc_state_t *circ_origin_cc(const circ_origin_t *c, size_t hop);
/** The clock congestion control reads (microseconds, monotonic); NULL
 * restores the default (CLOCK_MONOTONIC). */
typedef uint64_t (*circ_origin_clock_t)(void *arg);
void circ_origin_set_clock(circ_origin_t *c, circ_origin_clock_t fn,
                           void *arg);

#endif
