/* circ_cells.h -- payloads of the circuit-management cells: CREATE2,
 * CREATED2 (tor-spec.txt 5.1), CREATE_FAST, CREATED_FAST (5.1.5) and
 * DESTROY with its reason codes (5.4).
 *
 * Decoders take the 509-byte payload of a fixed-length cell (or any
 * shorter/longer buffer; they never read past len) and return 0 or a
 * negative cell_err_t.  Bytes after the message are padding and ignored.
 * Encoders write only the message; cell_encode() pads it to 509 bytes.
 */
#ifndef ALLIUM_CORE_CELL_CIRC_CELLS_H
#define ALLIUM_CORE_CELL_CIRC_CELLS_H

#include <stddef.h>
#include <stdint.h>

/** Handshake types (HTYPE). */
#define CELL_HTYPE_TAP 0x0000
#define CELL_HTYPE_NTOR 0x0002
#define CELL_HTYPE_NTOR_V3 0x0003

/** Client/server handshake lengths of the fixed-size handshakes. */
#define CELL_TAP_ONIONSKIN_LEN 186
#define CELL_TAP_REPLY_LEN 148
#define CELL_NTOR_ONIONSKIN_LEN 84
#define CELL_NTOR_REPLY_LEN 64

/** Largest HDATA in a CREATE2 (509 - 4) and CREATED2 (509 - 2). */
#define CELL_CREATE2_HDATA_MAX 505
#define CELL_CREATED2_HDATA_MAX 507

typedef struct cell_create2_t {
  uint16_t htype;
  uint16_t hlen;
  const uint8_t *hdata;   /**< view, hlen bytes */
} cell_create2_t;

typedef struct cell_created2_t {
  uint16_t hlen;
  const uint8_t *hdata;   /**< view, hlen bytes */
} cell_created2_t;

/** Decode a CREATE2 payload.  HLEN beyond 505 or past the buffer: error.
 * HTYPE TAP or ntor with an HLEN other than 186 / 84: CELL_ERR_LENGTH. */
int cell_create2_decode(cell_create2_t *c, const uint8_t *p, size_t len);
int cell_create2_encode(const cell_create2_t *c, uint8_t *out, size_t outlen,
                        size_t *len_out);
/** Decode a CREATED2 payload (HLEN <= 507). */
int cell_created2_decode(cell_created2_t *c, const uint8_t *p, size_t len);
int cell_created2_encode(const cell_created2_t *c, uint8_t *out,
                         size_t outlen, size_t *len_out);

/** Handshake-length check shared with EXTEND2: 0 or CELL_ERR_LENGTH. */
int cell_check_client_handshake(uint16_t htype, uint16_t hlen);

#define CELL_FAST_KEY_LEN 20   /* HASH_LEN */

typedef struct cell_create_fast_t {
  uint8_t x[CELL_FAST_KEY_LEN];
} cell_create_fast_t;

typedef struct cell_created_fast_t {
  uint8_t y[CELL_FAST_KEY_LEN];
  uint8_t kh[CELL_FAST_KEY_LEN];   /**< derivative key data */
} cell_created_fast_t;

int cell_create_fast_decode(cell_create_fast_t *c, const uint8_t *p,
                            size_t len);
int cell_create_fast_encode(const cell_create_fast_t *c, uint8_t *out,
                            size_t outlen, size_t *len_out);
int cell_created_fast_decode(cell_created_fast_t *c, const uint8_t *p,
                             size_t len);
int cell_created_fast_encode(const cell_created_fast_t *c, uint8_t *out,
                             size_t outlen, size_t *len_out);

/** DESTROY / RELAY_TRUNCATED reasons (5.4). */
typedef enum cell_destroy_reason_t {
  CELL_DESTROY_NONE = 0,
  CELL_DESTROY_PROTOCOL = 1,
  CELL_DESTROY_INTERNAL = 2,
  CELL_DESTROY_REQUESTED = 3,
  CELL_DESTROY_HIBERNATING = 4,
  CELL_DESTROY_RESOURCELIMIT = 5,
  CELL_DESTROY_CONNECTFAILED = 6,
  CELL_DESTROY_OR_IDENTITY = 7,
  CELL_DESTROY_CHANNEL_CLOSED = 8,
  CELL_DESTROY_FINISHED = 9,
  CELL_DESTROY_TIMEOUT = 10,
  CELL_DESTROY_DESTROYED = 11,
  CELL_DESTROY_NOSUCHSERVICE = 12,
} cell_destroy_reason_t;

/** Static name ("CHANNEL_CLOSED", ...), or NULL for an unknown reason. */
const char *cell_destroy_reason_name(uint8_t reason);

/** DESTROY payload: one reason byte (unknown values are accepted). */
int cell_destroy_decode(uint8_t *reason, const uint8_t *p, size_t len);
int cell_destroy_encode(uint8_t reason, uint8_t *out, size_t outlen,
                        size_t *len_out);

#endif
