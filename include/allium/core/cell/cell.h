/* cell.h -- cell framing for the Tor link protocol (tor-spec.txt section 3).
 *
 * Sans-IO: these functions only look at byte buffers.  The link layer keeps
 * an input buffer, asks cell_frame_next() whether a whole cell is there,
 * and decodes it with cell_decode().
 *
 * Link protocol numbers: CELL_LINKPROTO_UNNEGOTIATED (0) stands for "before
 * the VERSIONS exchange finished": 2-byte circuit ids, and VERSIONS,
 * VPADDING and AUTHORIZE (7, >= 128) are variable-length.  Versions 1-3
 * use 2-byte circuit ids, 4 and later 4-byte ones.
 *
 * Every decoder in src/core/cell returns 0 or a negative cell_err_t and never
 * reads outside the buffer it was given.  Decoded structs may point into the
 * input buffer ("view" fields); those stay valid only as long as the input.
 */
#ifndef ALLIUM_CORE_CELL_CELL_H
#define ALLIUM_CORE_CELL_CELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Payload length of a fixed-length cell. */
#define CELL_PAYLOAD_LEN 509
/** Largest fixed-length cell on the wire (4-byte circ id). */
#define CELL_MAX_NETWORK_SIZE 514
/** Largest variable-length cell header (4-byte circ id, cmd, length). */
#define CELL_VAR_HEADER_MAX 7
/** Largest variable-length payload. */
#define CELL_VAR_PAYLOAD_MAX 65535

/** Link protocol value meaning "VERSIONS not negotiated yet". */
#define CELL_LINKPROTO_UNNEGOTIATED 0
/** Link protocols this implementation speaks. */
#define CELL_LINKPROTO_MIN 4
#define CELL_LINKPROTO_MAX 5

/** Errors returned (negated) by every codec in src/core/cell. */
typedef enum cell_err_t {
  CELL_OK = 0,
  CELL_ERR_TRUNCATED = -1,   /**< input ends inside a field */
  CELL_ERR_TRAILING = -2,    /**< extra bytes where the spec allows none */
  CELL_ERR_LENGTH = -3,      /**< a length field is wrong for its type */
  CELL_ERR_VALUE = -4,       /**< a field holds a value that is not allowed */
  CELL_ERR_TOO_MANY = -5,    /**< more items than the format/struct allows */
  CELL_ERR_SPACE = -6,       /**< encoder: does not fit the output/format */
  CELL_ERR_DUPLICATE = -7,   /**< an item that may appear once repeats */
  CELL_ERR_UNSUPPORTED = -8, /**< unknown version or linkproto */
  CELL_ERR_AUTH = -9,        /**< a MAC or signature does not verify */
} cell_err_t;

/** Static name of a cell_err_t ("TRUNCATED", ...), "UNKNOWN" otherwise. */
const char *cell_err_name(int err);

/** Cell commands (tor-spec.txt section 3). */
typedef enum cell_command_t {
  CELL_PADDING = 0,
  CELL_CREATE = 1,
  CELL_CREATED = 2,
  CELL_RELAY = 3,
  CELL_DESTROY = 4,
  CELL_CREATE_FAST = 5,
  CELL_CREATED_FAST = 6,
  CELL_VERSIONS = 7,
  CELL_NETINFO = 8,
  CELL_RELAY_EARLY = 9,
  CELL_CREATE2 = 10,
  CELL_CREATED2 = 11,
  CELL_PADDING_NEGOTIATE = 12,
  CELL_VPADDING = 128,
  CELL_CERTS = 129,
  CELL_AUTH_CHALLENGE = 130,
  CELL_AUTHENTICATE = 131,
  CELL_AUTHORIZE = 132,
} cell_command_t;

/** Static name of a command ("RELAY_EARLY", ...), or NULL if unknown. */
const char *cell_command_name(uint8_t cmd);
/** True if cmd is a variable-length cell under link protocol linkproto. */
bool cell_command_is_var(uint8_t cmd, unsigned linkproto);
/** Circuit id width (2 or 4) under linkproto. */
size_t cell_circid_len(unsigned linkproto);

/** A decoded cell header. */
typedef struct cell_header_t {
  uint32_t circ_id;
  uint8_t command;
  bool is_var;
  /** Payload length: CELL_PAYLOAD_LEN for fixed cells. */
  uint16_t payload_len;
} cell_header_t;

/** Decode the header at buf.  On success stores its size in *hdr_len.
 * CELL_ERR_TRUNCATED if buf is shorter than the header. */
int cell_header_decode(cell_header_t *h, const uint8_t *buf, size_t len,
                       unsigned linkproto, size_t *hdr_len);
/** Encode h (is_var is recomputed from the command).  Fixed cells ignore
 * payload_len.  A circuit id that does not fit the width is CELL_ERR_VALUE. */
int cell_header_encode(const cell_header_t *h, unsigned linkproto,
                       uint8_t *out, size_t outlen, size_t *len_out);

/** Outcome of cell_frame_next(). */
typedef enum cell_frame_t {
  CELL_FRAME_CELL = 0,      /**< a whole cell of *n bytes starts the buffer */
  CELL_FRAME_NEED_MORE = 1, /**< at least *n more bytes are needed */
  CELL_FRAME_ERROR = -1,    /**< cannot frame (bad linkproto) */
} cell_frame_t;

/** Look at the start of an input buffer: is there a whole cell? */
cell_frame_t cell_frame_next(const uint8_t *buf, size_t len,
                             unsigned linkproto, size_t *n);

/** A cell; payload is a view (decode: into the input buffer). */
typedef struct cell_t {
  uint32_t circ_id;
  uint8_t command;
  uint16_t payload_len;   /**< fixed cells: always CELL_PAYLOAD_LEN on decode */
  const uint8_t *payload;
} cell_t;

/** Decode the cell at the start of buf; *consumed gets its wire size.
 * CELL_ERR_TRUNCATED if it is not all there. */
int cell_decode(cell_t *c, const uint8_t *buf, size_t len, unsigned linkproto,
                size_t *consumed);
/** Bytes cell_encode() will write for this command and payload length. */
size_t cell_encoded_len(uint8_t cmd, size_t payload_len, unsigned linkproto);
/** Encode c.  Fixed cells: payload_len <= CELL_PAYLOAD_LEN, zero-padded.
 * Variable cells: exactly payload_len bytes. */
int cell_encode(const cell_t *c, unsigned linkproto, uint8_t *out,
                size_t outlen, size_t *len_out);

#endif
