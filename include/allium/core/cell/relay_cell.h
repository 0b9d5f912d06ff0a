/* relay_cell.h -- the relay header inside a RELAY/RELAY_EARLY payload
 * (tor-spec.txt 6.1): command numbers and names, header pack/unpack, and
 * building a whole 509-byte relay payload with its padding.
 *
 * Layout of the 509-byte payload:
 *   command [1] | recognized [2] | stream id [2] | digest [4] | length [2]
 *   | data [length <= 498] | padding
 * Padding per 6.1: four zero bytes, then random bytes (all zeros if fewer
 * than four bytes remain).
 */
#ifndef ALLIUM_CORE_CELL_RELAY_CELL_H
#define ALLIUM_CORE_CELL_RELAY_CELL_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_HEADER_LEN 11
#define RELAY_BODY_MAX 498   /* CELL_PAYLOAD_LEN - RELAY_HEADER_LEN */
#define RELAY_DIGEST_LEN 4
/** Offset of the digest field inside the payload. */
#define RELAY_DIGEST_OFFSET 5

/** Relay commands (6.1; 32-40 rend-spec-v3, 41-42 padding-spec, 19-22
 * prop329 conflux, 16-18 prop339 UDP, 43-44 prop324 flow control). */
typedef enum relay_command_t {
  RELAY_BEGIN = 1,
  RELAY_DATA = 2,
  RELAY_END = 3,
  RELAY_CONNECTED = 4,
  RELAY_SENDME = 5,
  RELAY_EXTEND = 6,
  RELAY_EXTENDED = 7,
  RELAY_TRUNCATE = 8,
  RELAY_TRUNCATED = 9,
  RELAY_DROP = 10,
  RELAY_RESOLVE = 11,
  RELAY_RESOLVED = 12,
  RELAY_BEGIN_DIR = 13,
  RELAY_EXTEND2 = 14,
  RELAY_EXTENDED2 = 15,
  RELAY_CONNECT_UDP = 16,
  RELAY_CONNECTED_UDP = 17,
  RELAY_DATAGRAM = 18,
  RELAY_CONFLUX_LINK = 19,
  RELAY_CONFLUX_LINKED = 20,
  RELAY_CONFLUX_LINKED_ACK = 21,
  RELAY_CONFLUX_SWITCH = 22,
  RELAY_ESTABLISH_INTRO = 32,
  RELAY_ESTABLISH_RENDEZVOUS = 33,
  RELAY_INTRODUCE1 = 34,
  RELAY_INTRODUCE2 = 35,
  RELAY_RENDEZVOUS1 = 36,
  RELAY_RENDEZVOUS2 = 37,
  RELAY_INTRO_ESTABLISHED = 38,
  RELAY_RENDEZVOUS_ESTABLISHED = 39,
  RELAY_INTRODUCE_ACK = 40,
  RELAY_PADDING_NEGOTIATE = 41,
  RELAY_PADDING_NEGOTIATED = 42,
  /* Proposal 324 flow control.  tor 0.4.9 uses 43 = XOFF, 44 = XON (a
   * 1-byte body sent as 44 is logged by a tor exit as "malformed XON");
   * the 2023 tor-spec.txt table lists the two the other way round. */
  RELAY_XOFF = 43,
  RELAY_XON = 44,
} relay_command_t;

/** Static name ("EXTEND2", ...), or NULL for an unknown command. */
const char *relay_command_name(uint8_t cmd);

typedef struct relay_header_t {
  uint8_t command;
  uint16_t recognized;
  uint16_t stream_id;
  uint8_t digest[RELAY_DIGEST_LEN];
  uint16_t length;
} relay_header_t;

/** Write h into out[0..11).  No checks. */
void relay_header_pack(const relay_header_t *h, uint8_t out[RELAY_HEADER_LEN]);
/** Read a header from in[0..11).  No checks (see relay_cell_unpack). */
void relay_header_unpack(relay_header_t *h,
                         const uint8_t in[RELAY_HEADER_LEN]);

/** Fills out[0..n) with random bytes (e.g. crypto_rand). */
typedef void (*relay_rng_fn)(void *out, size_t n);

/** Build a full 509-byte relay payload from h (its length field is
 * replaced by body_len) and body.  Padding: four zero bytes, then bytes
 * from rng (zeros if rng is NULL).  body_len > RELAY_BODY_MAX:
 * CELL_ERR_SPACE. */
int relay_cell_pack(uint8_t payload[509], const relay_header_t *h,
                    const uint8_t *body, size_t body_len, relay_rng_fn rng);
/** Parse a decrypted 509-byte payload.  *body is a view into payload.
 * A length field above RELAY_BODY_MAX: CELL_ERR_LENGTH. */
int relay_cell_unpack(relay_header_t *h, const uint8_t **body,
                      const uint8_t payload[509]);

/** RELAY_END reasons (6.3). */
typedef enum relay_end_reason_t {
  RELAY_END_MISC = 1,
  RELAY_END_RESOLVEFAILED = 2,
  RELAY_END_CONNECTREFUSED = 3,
  RELAY_END_EXITPOLICY = 4,
  RELAY_END_DESTROY = 5,
  RELAY_END_DONE = 6,
  RELAY_END_TIMEOUT = 7,
  RELAY_END_NOROUTE = 8,
  RELAY_END_HIBERNATING = 9,
  RELAY_END_INTERNAL = 10,
  RELAY_END_RESOURCELIMIT = 11,
  RELAY_END_CONNRESET = 12,
  RELAY_END_TORPROTOCOL = 13,
  RELAY_END_NOTDIRECTORY = 14,
} relay_end_reason_t;

/** Static name ("EXITPOLICY", ...), or NULL for an unknown reason. */
const char *relay_end_reason_name(uint8_t reason);

#endif
