/* relay_msg.h -- bodies of relay messages (the "Data" part of a relay cell,
 * at most RELAY_BODY_MAX bytes): BEGIN, BEGIN_DIR, CONNECTED, END (tor-spec
 * 6.2, 6.2.1, 6.3), RESOLVE/RESOLVED (6.4), SENDME (7.3.1, 7.4), EXTEND2,
 * EXTENDED2 (5.1.2), TRUNCATE/TRUNCATED (5.4) and DATA (6.2).
 *
 * Decoders: (struct, body, len) -> 0 or a negative cell_err_t; len above
 * RELAY_BODY_MAX is CELL_ERR_LENGTH; trailing bytes are CELL_ERR_TRAILING
 * unless the spec says to ignore them (noted per message).  View fields
 * point into the body.  Encoders write at most min(outlen, RELAY_BODY_MAX)
 * bytes and store the length in *len_out; too big is CELL_ERR_SPACE.
 */
#ifndef ALLIUM_CORE_CELL_RELAY_MSG_H
#define ALLIUM_CORE_CELL_RELAY_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/link_cells.h"   /* cell_addr_t */
#include "allium/core/cell/relay_cell.h"

/* ---- BEGIN (6.2) ---- */

#define RELAY_BEGIN_FLAG_IPV6_OK 0x1u
#define RELAY_BEGIN_FLAG_IPV4_NOT_OK 0x2u
#define RELAY_BEGIN_FLAG_IPV6_PREFERRED 0x4u

/** Longest host we can hold (with its NUL). */
#define RELAY_HOST_MAX RELAY_BODY_MAX

typedef struct relay_begin_t {
  /** NUL-terminated hostname, dotted-quad IPv4, or IPv6 without the
   * brackets (the encoder adds them when the host contains ':'). */
  char host[RELAY_HOST_MAX];
  uint16_t port;           /**< 1..65535 */
  uint32_t flags;          /**< 0 when the sender omitted FLAGS */
} relay_begin_t;

/** ADDRPORT must be HOST:PORT or [IPV6]:PORT with a decimal port 1-65535,
 * NUL-terminated; FLAGS (4 bytes) may be absent; nothing may follow. */
int relay_begin_decode(relay_begin_t *m, const uint8_t *body, size_t len);
/** Always writes FLAGS. */
int relay_begin_encode(const relay_begin_t *m, uint8_t *out, size_t outlen,
                       size_t *len_out);

/* ---- BEGIN_DIR (6.2.1): the body is ignored / empty ---- */

int relay_begin_dir_decode(const uint8_t *body, size_t len);
int relay_begin_dir_encode(uint8_t *out, size_t outlen, size_t *len_out);

/* ---- CONNECTED (6.2) ---- */

typedef struct relay_connected_t {
  cell_addr_t addr;        /**< NONE: empty body (BEGIN_DIR answer) */
  uint32_t ttl;
} relay_connected_t;

/** Accepts exactly: empty, IPv4+TTL (8 bytes), or 0000 6 IPv6 TTL (25). */
int relay_connected_decode(relay_connected_t *m, const uint8_t *body,
                           size_t len);
int relay_connected_encode(const relay_connected_t *m, uint8_t *out,
                           size_t outlen, size_t *len_out);

/* ---- END (6.3) ---- */

typedef struct relay_end_t {
  uint8_t reason;          /**< relay_end_reason_t; empty body -> MISC */
  cell_addr_t addr;        /**< EXITPOLICY only; NONE if absent */
  uint32_t ttl;            /**< 0xffffffff if absent */
} relay_end_t;

/** Lenient as 6.3 asks: an EXITPOLICY address of a wrong length is treated
 * as absent, and bytes after the reason of other reasons are ignored. */
int relay_end_decode(relay_end_t *m, const uint8_t *body, size_t len);
/** An address is only allowed with RELAY_END_EXITPOLICY. */
int relay_end_encode(const relay_end_t *m, uint8_t *out, size_t outlen,
                     size_t *len_out);

/* ---- RESOLVE / RESOLVED (6.4) ---- */

typedef struct relay_resolve_t {
  char name[RELAY_HOST_MAX];   /**< NUL-terminated, non-empty */
} relay_resolve_t;

int relay_resolve_decode(relay_resolve_t *m, const uint8_t *body, size_t len);
int relay_resolve_encode(const relay_resolve_t *m, uint8_t *out,
                         size_t outlen, size_t *len_out);

#define RELAY_RESOLVED_HOSTNAME 0x00
#define RELAY_RESOLVED_IPV4 0x04
#define RELAY_RESOLVED_IPV6 0x06
#define RELAY_RESOLVED_ERROR_TRANSIENT 0xF0
#define RELAY_RESOLVED_ERROR_NONTRANSIENT 0xF1
/** Every answer takes at least 6 bytes. */
#define RELAY_RESOLVED_MAX_ANSWERS (RELAY_BODY_MAX / 6)

typedef struct relay_resolved_answer_t {
  uint8_t type;
  uint8_t len;
  const uint8_t *value;    /**< view, len bytes */
  uint32_t ttl;
} relay_resolved_answer_t;

typedef struct relay_resolved_t {
  uint8_t n;
  relay_resolved_answer_t answers[RELAY_RESOLVED_MAX_ANSWERS];
} relay_resolved_t;

/** IPv4/IPv6 answers must have length 4/16; an error answer must be the
 * only answer (CELL_ERR_VALUE otherwise); unknown types are kept. */
int relay_resolved_decode(relay_resolved_t *m, const uint8_t *body,
                          size_t len);
int relay_resolved_encode(const relay_resolved_t *m, uint8_t *out,
                          size_t outlen, size_t *len_out);

/* ---- SENDME (7.3.1) ---- */

#define RELAY_SENDME_DIGEST_LEN 20

typedef struct relay_sendme_t {
  uint8_t version;         /**< 0 or 1 */
  uint8_t digest[RELAY_SENDME_DIGEST_LEN];   /**< version 1 only */
} relay_sendme_t;

/** Empty body: version 0.  Version 0: rest ignored.  Version 1: DATA_LEN
 * must be >= 20 (first 20 bytes kept), data must be present; bytes after
 * DATA ignored.  Other versions: CELL_ERR_UNSUPPORTED. */
int relay_sendme_decode(relay_sendme_t *m, const uint8_t *body, size_t len);
/** Version 0 encodes as an empty body, version 1 as 01 0014 DIGEST. */
int relay_sendme_encode(const relay_sendme_t *m, uint8_t *out, size_t outlen,
                        size_t *len_out);

/* ---- EXTEND2 / EXTENDED2 (5.1.2) ---- */

#define RELAY_LSPEC_IPV4 0
#define RELAY_LSPEC_IPV6 1
#define RELAY_LSPEC_LEGACY_ID 2
#define RELAY_LSPEC_ED25519_ID 3
#define RELAY_LEGACY_ID_LEN 20
#define RELAY_ED25519_ID_LEN 32

typedef struct relay_lspec_t {
  uint8_t type;
  uint8_t len;             /**< decode: LSLEN; encode: used for unknown types */
  union {
    struct { uint8_t addr[4]; uint16_t port; } ipv4;
    struct { uint8_t addr[16]; uint16_t port; } ipv6;
    uint8_t legacy_id[RELAY_LEGACY_ID_LEN];
    uint8_t ed25519_id[RELAY_ED25519_ID_LEN];
    const uint8_t *data;   /**< unknown type: view, len bytes */
  } u;
} relay_lspec_t;

typedef struct relay_extend2_t {
  uint8_t n_spec;
  relay_lspec_t spec[255];
  uint16_t htype;
  uint16_t hlen;
  const uint8_t *hdata;    /**< view, hlen bytes */
} relay_extend2_t;

/** Known link specifier types must have their exact length; a second
 * legacy or ed25519 identity is CELL_ERR_DUPLICATE; TAP/ntor handshakes
 * must have their exact length; nothing may follow HDATA. */
int relay_extend2_decode(relay_extend2_t *m, const uint8_t *body,
                         size_t len);
int relay_extend2_encode(const relay_extend2_t *m, uint8_t *out,
                         size_t outlen, size_t *len_out);
/** First link specifier of the given type, or NULL. */
const relay_lspec_t *relay_extend2_find(const relay_extend2_t *m,
                                        uint8_t type);

typedef struct relay_extended2_t {
  uint16_t hlen;
  const uint8_t *hdata;    /**< view, hlen bytes */
} relay_extended2_t;

/** Same as CREATED2; nothing may follow HDATA. */
int relay_extended2_decode(relay_extended2_t *m, const uint8_t *body,
                           size_t len);
int relay_extended2_encode(const relay_extended2_t *m, uint8_t *out,
                           size_t outlen, size_t *len_out);

/* ---- TRUNCATE / TRUNCATED (5.4) ---- */

/** TRUNCATE has an empty body. */
int relay_truncate_decode(const uint8_t *body, size_t len);
int relay_truncate_encode(uint8_t *out, size_t outlen, size_t *len_out);
/** TRUNCATED: exactly one reason byte (cell_destroy_reason_t). */
int relay_truncated_decode(uint8_t *reason, const uint8_t *body, size_t len);
int relay_truncated_encode(uint8_t reason, uint8_t *out, size_t outlen,
                           size_t *len_out);

/* ---- DATA (6.2) ---- */

typedef struct relay_data_t {
  uint16_t len;
  const uint8_t *data;     /**< view, len bytes */
} relay_data_t;

int relay_data_decode(relay_data_t *m, const uint8_t *body, size_t len);
int relay_data_encode(const relay_data_t *m, uint8_t *out, size_t outlen,
                      size_t *len_out);

#endif
