/* circuit_event.h -- what the sans-IO circuit state machines
 * (circuit_origin.h, circuit_relay.h) hand back to their caller: cells to
 * put on a channel and events (tor-spec 5, 6).
 *
 * Circuit ids belong to the channel layer: a circ_cell_t carries only the
 * direction, the cell command and the 509-byte payload; the caller frames it
 * with the circuit id it uses on that channel (cell_encode()).
 */
#ifndef ALLIUM_CORE_CIRCUIT_CIRCUIT_EVENT_H
#define ALLIUM_CORE_CIRCUIT_CIRCUIT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/relay_msg.h"

/** Cell directions. */
#define CIRC_DIR_NEXT 0   /**< away from the originator (forward) */
#define CIRC_DIR_PREV 1   /**< towards the originator (backward) */

/** Most RELAY_EARLY cells a circuit may carry (tor-spec 5.6). */
#define CIRC_MAX_RELAY_EARLY 8
/** Most link specifiers kept from an EXTEND2 request. */
#define CIRC_MAX_LSPEC 8

/** Errors returned by circ_origin_* / circ_relay_* API calls. */
#define CIRC_ERR_STATE (-1)      /**< wrong state (closed, handshake pending) */
#define CIRC_ERR_ARG (-2)        /**< bad argument (hop index, length) */
#define CIRC_ERR_EARLY (-3)      /**< no RELAY_EARLY cell left for EXTEND2 */
#define CIRC_ERR_WINDOW (-4)     /**< DATA with the circuit window closed */
#define CIRC_ERR_CRYPTO (-5)

typedef struct circ_cell_t {
  uint8_t dir;        /**< CIRC_DIR_*; an origin circuit only sends NEXT */
  uint8_t command;    /**< CELL_CREATE2, CELL_CREATED2, CELL_RELAY,
                       *   CELL_RELAY_EARLY or CELL_DESTROY */
  uint8_t payload[CELL_PAYLOAD_LEN];
} circ_cell_t;

typedef enum circ_event_type_t {
  /** origin: a hop finished its handshake; hop = its index. */
  CIRC_EV_HOP_ADDED = 1,
  /** the circuit is closed: reason (cell_destroy_reason_t), remote (the
   * reason came from a DESTROY/TRUNCATED we got), hop (origin: the hop
   * involved, or CIRC_HOP_NONE), what (static description). */
  CIRC_EV_CLOSED,
  /** a recognized relay message no part of the circuit handles (onion
   * service commands, stream commands without a stream table, ...):
   * hop, command, stream_id, len, body. */
  CIRC_EV_RELAY_MSG,
  /** a recognized message with an unknown relay command was dropped
   * (tor-spec 6.1): hop, command. */
  CIRC_EV_IGNORED,
  /** relay: EXTEND2 accepted; open (or find) a channel to the target
   * described by extend.lspec, send a CREATE2 cell with extend.create2 on
   * it, and pass the answer (CREATED2 or DESTROY) to the circuit as a cell
   * from CIRC_DIR_NEXT, or call circ_relay_extend_failed(). */
  CIRC_EV_EXTEND_REQUEST,
  /** relay: the next hop was torn down after a TRUNCATE (a DESTROY towards
   * it is queued); once that DESTROY is sent, forget the next channel and
   * circuit id -- the circuit itself stays open and may extend again. */
  CIRC_EV_NEXT_CLOSED,
} circ_event_type_t;

#define CIRC_HOP_NONE 0xff

/** An EXTEND2 request, checked (tor-spec 5.1.2): at least one address and
 * the legacy RSA identity; at most one of each identity. */
typedef struct circ_extend_target_t {
  uint8_t n_lspec;
  relay_lspec_t lspec[CIRC_MAX_LSPEC];   /**< known types only (no views) */
  uint8_t create2[CELL_PAYLOAD_LEN];     /**< CREATE2 payload, zero-padded:
                                          *   the client's HTYPE and HDATA */
  uint16_t htype;                        /**< the client's handshake type */
  /* The first address of each family (later ones are ignored, as tor). */
  bool has_ipv4;
  uint8_t ipv4[4];
  uint16_t ipv4_port;
  bool has_ipv6;
  uint8_t ipv6[16];
  uint16_t ipv6_port;
  uint8_t rsa_id[RELAY_LEGACY_ID_LEN];   /**< the next hop must prove it */
  bool has_ed_id;
  uint8_t ed_id[RELAY_ED25519_ID_LEN];   /**< ... and this one if present */
} circ_extend_target_t;

typedef struct circ_event_t {
  circ_event_type_t type;
  uint8_t hop;
  uint8_t reason;
  bool remote;
  const char *what;
  uint8_t command;
  uint16_t stream_id;
  uint16_t len;
  uint8_t body[RELAY_BODY_MAX];
  circ_extend_target_t extend;
} circ_event_t;

#endif
