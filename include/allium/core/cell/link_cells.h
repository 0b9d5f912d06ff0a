/* link_cells.h -- payloads of the link-handshake cells (tor-spec.txt 4.1
 * VERSIONS, 4.2 CERTS, 4.3 AUTH_CHALLENGE, 4.4 AUTHENTICATE, 4.5 NETINFO,
 * 7.2 PADDING_NEGOTIATE).
 *
 * Decoders take a cell payload and return 0 or a negative cell_err_t (see
 * cell.h).  Fields documented as views point into the decoded buffer.
 * Encoders write the payload only (cell_encode() adds the header) into
 * out[0..outlen) and store its length in *len_out.
 */
#ifndef ALLIUM_CORE_CELL_LINK_CELLS_H
#define ALLIUM_CORE_CELL_LINK_CELLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- VERSIONS (4.1) ---- */

/** Most versions we keep from a peer's VERSIONS cell. */
#define CELL_VERSIONS_MAX 128

typedef struct cell_versions_t {
  size_t n;
  uint16_t versions[CELL_VERSIONS_MAX];
} cell_versions_t;

/** Decode a VERSIONS payload: an even number of bytes, no padding.  More
 * than CELL_VERSIONS_MAX entries is CELL_ERR_TOO_MANY. */
int cell_versions_decode(cell_versions_t *v, const uint8_t *p, size_t len);
int cell_versions_encode(const cell_versions_t *v, uint8_t *out,
                         size_t outlen, size_t *len_out);
/** Highest version in both theirs and CELL_LINKPROTO_MIN..MAX, 0 if none. */
unsigned cell_versions_choose(const cell_versions_t *theirs);
/** Fill v with the versions we offer (CELL_LINKPROTO_MIN..MAX). */
void cell_versions_set_ours(cell_versions_t *v);

/* ---- CERTS (4.2) ---- */

/** CertType values. */
typedef enum cell_cert_type_t {
  CELL_CERT_RSA_LINK = 1,
  CELL_CERT_RSA_ID = 2,
  CELL_CERT_RSA_AUTH = 3,
  CELL_CERT_ED_ID_SIGNING = 4,
  CELL_CERT_ED_SIGNING_LINK = 5,
  CELL_CERT_ED_SIGNING_AUTH = 6,
  CELL_CERT_RSA_ED_CROSSCERT = 7,
} cell_cert_type_t;

typedef struct cell_cert_entry_t {
  uint8_t type;
  uint16_t len;
  const uint8_t *body;   /**< view, len bytes */
} cell_cert_entry_t;

typedef struct cell_certs_t {
  uint8_t n;
  cell_cert_entry_t certs[255];
} cell_certs_t;

/** Decode a CERTS payload.  Extra bytes at the end are ignored (4.2).
 * Two certificates of the same type: CELL_ERR_DUPLICATE. */
int cell_certs_decode(cell_certs_t *c, const uint8_t *p, size_t len);
int cell_certs_encode(const cell_certs_t *c, uint8_t *out, size_t outlen,
                      size_t *len_out);
/** The entry of the given type, or NULL. */
const cell_cert_entry_t *cell_certs_find(const cell_certs_t *c,
                                         uint8_t type);

/* ---- AUTH_CHALLENGE (4.3) ---- */

#define CELL_AUTH_CHALLENGE_LEN 32
/** Most methods we keep; more is CELL_ERR_TOO_MANY. */
#define CELL_AUTH_METHODS_MAX 64
#define CELL_AUTHTYPE_RSA_SHA256_TLSSECRET 1
#define CELL_AUTHTYPE_ED25519_SHA256_RFC5705 3

typedef struct cell_auth_challenge_t {
  uint8_t challenge[CELL_AUTH_CHALLENGE_LEN];
  uint16_t n_methods;
  uint16_t methods[CELL_AUTH_METHODS_MAX];
} cell_auth_challenge_t;

/** Decode; extra bytes at the end are ignored (4.3). */
int cell_auth_challenge_decode(cell_auth_challenge_t *a, const uint8_t *p,
                               size_t len);
int cell_auth_challenge_encode(const cell_auth_challenge_t *a, uint8_t *out,
                               size_t outlen, size_t *len_out);
bool cell_auth_challenge_has_method(const cell_auth_challenge_t *a,
                                    uint16_t method);

/* ---- AUTHENTICATE (4.4) ---- */

typedef struct cell_authenticate_t {
  uint16_t auth_type;
  uint16_t auth_len;
  const uint8_t *auth;   /**< view, auth_len bytes */
} cell_authenticate_t;

/** Decode; extra bytes at the end are ignored (4.4). */
int cell_authenticate_decode(cell_authenticate_t *a, const uint8_t *p,
                             size_t len);
int cell_authenticate_encode(const cell_authenticate_t *a, uint8_t *out,
                             size_t outlen, size_t *len_out);

/* ---- NETINFO (4.5) ---- */

/** Address types (ATYPE) shared by NETINFO, CONNECTED, END, RESOLVED. */
#define CELL_ADDR_NONE 0
#define CELL_ADDR_IPV4 4
#define CELL_ADDR_IPV6 6

/** An IPv4 (first 4 bytes of addr) or IPv6 address, or none. */
typedef struct cell_addr_t {
  uint8_t type;          /**< CELL_ADDR_NONE, _IPV4 or _IPV6 */
  uint8_t addr[16];
} cell_addr_t;

/** Most "my addresses" we keep; a 509-byte payload holds at most 84. */
#define CELL_NETINFO_MAX_ADDRS 84

typedef struct cell_netinfo_t {
  uint32_t timestamp;
  cell_addr_t other;     /**< type NONE if absent or unrecognised */
  uint8_t n_my;          /**< recognised addresses only */
  cell_addr_t my[CELL_NETINFO_MAX_ADDRS];
} cell_netinfo_t;

/** Decode; addresses of unknown type or with a wrong ALEN are skipped, and
 * extra bytes at the end ignored (4.5). */
int cell_netinfo_decode(cell_netinfo_t *n, const uint8_t *p, size_t len);
/** Encode; an "other" address of type NONE is written as ATYPE 0, ALEN 0. */
int cell_netinfo_encode(const cell_netinfo_t *n, uint8_t *out, size_t outlen,
                        size_t *len_out);

/* ---- PADDING_NEGOTIATE (7.2) ---- */

#define CELL_PADNEG_STOP 1
#define CELL_PADNEG_START 2
#define CELL_PADDING_NEGOTIATE_LEN 6

typedef struct cell_padding_negotiate_t {
  uint8_t version;       /**< only 0 is defined */
  uint8_t command;       /**< CELL_PADNEG_STOP or _START */
  uint16_t ito_low_ms;
  uint16_t ito_high_ms;
} cell_padding_negotiate_t;

/** Decode; version must be 0 (else CELL_ERR_UNSUPPORTED), command 1 or 2
 * (else CELL_ERR_VALUE).  The rest of the payload is padding. */
int cell_padding_negotiate_decode(cell_padding_negotiate_t *pn,
                                  const uint8_t *p, size_t len);
int cell_padding_negotiate_encode(const cell_padding_negotiate_t *pn,
                                  uint8_t *out, size_t outlen,
                                  size_t *len_out);

#endif
