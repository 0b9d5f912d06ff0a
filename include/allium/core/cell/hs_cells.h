/* hs_cells.h -- bodies of the onion-service relay messages (rend-spec-v3
 * 3.1-3.4 and 4; command numbers in tor-spec 6.1 / relay_cell.h):
 *
 *   ESTABLISH_INTRO (32)         3.1.1, DoS extension 3.1.1.1 (proposal 305)
 *   INTRO_ESTABLISHED (38)       3.1.3
 *   INTRODUCE1 / INTRODUCE2 (34/35)  3.2.1 outer framing (same layout)
 *   INTRODUCE_ACK (40)           3.2.2
 *   the decrypted INTRODUCE2 plaintext  3.3
 *   ESTABLISH_RENDEZVOUS (33)    4.1
 *   RENDEZVOUS_ESTABLISHED (39)  4.1
 *   RENDEZVOUS1 / RENDEZVOUS2 (36/37)  4.2
 *
 * Sans-IO, in the style of relay_msg.h: decoders take (struct, body, len)
 * and return 0 or a negative cell_err_t; len above RELAY_BODY_MAX is
 * CELL_ERR_LENGTH; "view" fields point into the body.  Encoders write at
 * most min(outlen, RELAY_BODY_MAX) bytes, store the length in *len_out and
 * return CELL_ERR_SPACE when it does not fit.  Trailing bytes are
 * CELL_ERR_TRAILING except where the spec says to ignore them (noted).
 *
 * Extension lists (N_EXTENSIONS, then TYPE/LEN/FIELD) are decoded
 * generically; unknown types are kept and skipped by every interpreter,
 * and only the first occurrence of a type counts (3.1.1).
 */
#ifndef ALLIUM_CORE_CELL_HS_CELLS_H
#define ALLIUM_CORE_CELL_HS_CELLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/relay_msg.h"   /* relay_lspec_t */
#include "allium/lib/crypto/ed25519.h"

/** AUTH_KEY_TYPE of ESTABLISH_INTRO / INTRODUCE1: ed25519, MAC SHA3-256.
 * 0 and 1 are the obsolete RSA forms and are refused. */
#define HS_CELL_AUTH_KEY_ED25519 2
#define HS_CELL_AUTH_KEY_LEN 32
/** HANDSHAKE_AUTH: MAC(KH, ...) with rend-spec MAC = SHA3-256. */
#define HS_CELL_MAC_LEN 32
#define HS_CELL_SIG_LEN 64
/** KH, the circuit's "rend nonce" from the circuit extension KDF (tor-spec
 * 5.2.2: the last HASH_LEN bytes after Df|Db|Kf|Kb). */
#define HS_CELL_KH_LEN 20
#define HS_CELL_COOKIE_LEN 20
#define HS_CELL_LEGACY_KEY_ID_LEN 20
/** hs-ntor CLIENT_PK at the start of INTRODUCE1's ENCRYPTED. */
#define HS_CELL_CLIENT_PK_LEN 32
/** hs-ntor HANDSHAKE_INFO = SERVER_PK (32) | AUTH (32). */
#define HS_CELL_HANDSHAKE_INFO_LEN 64
/** ONION_KEY_TYPE of the INTRODUCE2 plaintext: ntor, 32 bytes. */
#define HS_CELL_ONION_KEY_NTOR 1
#define HS_CELL_ONION_KEY_LEN 32
/** Prefix of the signed part of ESTABLISH_INTRO (3.1.1). */
#define HS_CELL_ESTABLISH_INTRO_SIG_PREFIX "Tor establish-intro cell v1"

/* Extension types. */
#define HS_EXT_ESTABLISH_INTRO_DOS 1   /**< 3.1.1.1, proposal 305 */
#define HS_EXT_INTRO2_CC_REQUEST 1     /**< plaintext: congestion control */
#define HS_EXT_INTRO2_POW 2            /**< plaintext: proof of work */

/* DoS extension parameters (3.1.1.1). */
#define HS_DOS_PARAM_RATE_PER_SEC 1
#define HS_DOS_PARAM_BURST_PER_SEC 2
/** Both parameters range over 0..INT32_MAX. */
#define HS_DOS_PARAM_MAX 2147483647u

/* INTRODUCE_ACK STATUS (3.2.2). */
#define HS_INTRO_ACK_SUCCESS 0
#define HS_INTRO_ACK_UNKNOWN_SERVICE 1
#define HS_INTRO_ACK_BAD_FORMAT 2
#define HS_INTRO_ACK_CANT_RELAY 3

/* ---- extension lists ---- */

typedef struct hs_cell_ext_t {
  uint8_t type;
  uint8_t len;
  const uint8_t *data;     /**< view, len bytes (encode: may be NULL if 0) */
} hs_cell_ext_t;

typedef struct hs_cell_exts_t {
  uint8_t n;
  hs_cell_ext_t ext[255];
} hs_cell_exts_t;

/** First extension of the given type, or NULL. */
const hs_cell_ext_t *hs_cell_exts_find(const hs_cell_exts_t *e, uint8_t type);

/* ---- DoS parameters extension (3.1.1.1) ---- */

typedef enum hs_intro_dos_verdict_t {
  /** No usable extension (absent, malformed, out of range, burst < rate,
   * or only one non-zero parameter): keep the consensus defaults. */
  HS_INTRO_DOS_DEFAULT = 0,
  /** Both parameters present, valid and non-zero: apply them. */
  HS_INTRO_DOS_ENABLE = 1,
  /** A parameter is 0: the service turns the INTRODUCE2 defence off. */
  HS_INTRO_DOS_DISABLE = 2,
} hs_intro_dos_verdict_t;

typedef struct hs_intro_dos_t {
  hs_intro_dos_verdict_t verdict;
  uint64_t rate_per_sec;   /**< as sent (0 if absent) */
  uint64_t burst_per_sec;
} hs_intro_dos_t;

/** What an intro point makes of the first DoS extension in exts.  Never
 * fails: a bad extension is ignored (HS_INTRO_DOS_DEFAULT), never a reason
 * to refuse the cell.  Unknown PARAM_TYPEs are skipped; a repeated type
 * counts once (first wins). */
void hs_intro_dos_from_exts(hs_intro_dos_t *out, const hs_cell_exts_t *exts);
/** EXT_FIELD of a DoS extension with both parameters (19 bytes).  Values
 * above HS_DOS_PARAM_MAX or burst < rate (both non-zero) are
 * CELL_ERR_VALUE. */
int hs_intro_dos_ext_encode(uint64_t rate_per_sec, uint64_t burst_per_sec,
                            uint8_t *out, size_t outlen, size_t *len_out);

/* ---- ESTABLISH_INTRO (3.1.1) ---- */

typedef struct hs_establish_intro_t {
  uint8_t auth_key[HS_CELL_AUTH_KEY_LEN];   /**< KP_hs_ipt_sid */
  hs_cell_exts_t exts;
  uint8_t handshake_auth[HS_CELL_MAC_LEN];
  uint8_t sig[HS_CELL_SIG_LEN];
  /** decode: offset of HANDSHAKE_AUTH (= bytes the MAC covers); SIG_LEN
   * is at mac_off + HS_CELL_MAC_LEN (= bytes the signature covers). */
  size_t mac_off;
} hs_establish_intro_t;

/** Framing only (no MAC/signature check): AUTH_KEY_TYPE must be 2
 * (CELL_ERR_UNSUPPORTED), AUTH_KEY_LEN 32 and SIG_LEN 64
 * (CELL_ERR_LENGTH); nothing may follow SIG. */
int hs_establish_intro_decode(hs_establish_intro_t *m, const uint8_t *body,
                              size_t len);
/** Writes the fields as given (HANDSHAKE_AUTH and SIG included). */
int hs_establish_intro_encode(const hs_establish_intro_t *m, uint8_t *out,
                              size_t outlen, size_t *len_out);
/** Service: a complete ESTABLISH_INTRO for auth_kp with extensions exts
 * (NULL: none), HANDSHAKE_AUTH = MAC(KH, cell so far) and SIG = ed25519 of
 * the prefix and everything before SIG_LEN. */
int hs_establish_intro_build(const ed25519_keypair_t *auth_kp,
                             const uint8_t kh[HS_CELL_KH_LEN],
                             const hs_cell_exts_t *exts, uint8_t *out,
                             size_t outlen, size_t *len_out);
/** Intro point: decode body and check HANDSHAKE_AUTH (constant time)
 * against the circuit's KH and SIG against AUTH_KEY.  Either wrong:
 * CELL_ERR_AUTH (both are always computed).  m may be NULL; on error a
 * non-NULL *m is zeroed. */
int hs_establish_intro_verify(hs_establish_intro_t *m, const uint8_t *body,
                              size_t len, const uint8_t kh[HS_CELL_KH_LEN]);

/* ---- INTRO_ESTABLISHED (3.1.3) ---- */

/** N_EXTENSIONS and extensions; an empty body (legacy) is 0 extensions. */
int hs_intro_established_decode(hs_cell_exts_t *m, const uint8_t *body,
                                size_t len);
int hs_intro_established_encode(const hs_cell_exts_t *m, uint8_t *out,
                                size_t outlen, size_t *len_out);

/* ---- INTRODUCE1 / INTRODUCE2 outer framing (3.2.1, 3.3.2) ---- */

typedef struct hs_introduce1_t {
  uint8_t auth_key[HS_CELL_AUTH_KEY_LEN];   /**< selects the intro circuit */
  hs_cell_exts_t exts;
  /** ENCRYPTED = CLIENT_PK | ENCRYPTED_DATA | MAC (view, encrypted_len
   * >= CLIENT_PK + MAC bytes). */
  const uint8_t *encrypted;
  size_t encrypted_len;
  /* decode only, views into ENCRYPTED: */
  const uint8_t *client_pk;      /**< 32 bytes, X */
  const uint8_t *enc_data;       /**< ENCRYPTED_DATA */
  size_t enc_data_len;
  const uint8_t *mac;            /**< last 32 bytes */
  /** decode: bytes of the body before MAC, i.e. the whole cell from
   * LEGACY_KEY_ID through ENCRYPTED_DATA, which the intro MAC covers. */
  size_t mac_covered_len;
} hs_introduce1_t;

/** LEGACY_KEY_ID must be 20 zero bytes (legacy cells: CELL_ERR_UNSUPPORTED),
 * AUTH_KEY_TYPE 2 (CELL_ERR_UNSUPPORTED), AUTH_KEY_LEN 32 (CELL_ERR_LENGTH);
 * ENCRYPTED shorter than CLIENT_PK + MAC is CELL_ERR_TRUNCATED. */
int hs_introduce1_decode(hs_introduce1_t *m, const uint8_t *body, size_t len);
/** Writes LEGACY_KEY_ID zeros, the auth key, exts and encrypted as given. */
int hs_introduce1_encode(const hs_introduce1_t *m, uint8_t *out,
                         size_t outlen, size_t *len_out);

/* ---- INTRODUCE_ACK (3.2.2) ---- */

typedef struct hs_introduce_ack_t {
  uint16_t status;         /**< HS_INTRO_ACK_*; others kept as sent */
  hs_cell_exts_t exts;
} hs_introduce_ack_t;

int hs_introduce_ack_decode(hs_introduce_ack_t *m, const uint8_t *body,
                            size_t len);
int hs_introduce_ack_encode(const hs_introduce_ack_t *m, uint8_t *out,
                            size_t outlen, size_t *len_out);

/* ---- the decrypted INTRODUCE2 plaintext (3.3) ---- */

typedef struct hs_intro2_plain_t {
  uint8_t cookie[HS_CELL_COOKIE_LEN];
  hs_cell_exts_t exts;
  uint8_t onion_key[HS_CELL_ONION_KEY_LEN];   /**< ntor key of the RP */
  uint8_t n_spec;
  relay_lspec_t spec[255];
  /** decode: view of NSPEC and the specifiers exactly as sent, for an
   * EXTEND2 that must repeat them verbatim and in order (3.3). */
  const uint8_t *lspecs_raw;
  size_t lspecs_raw_len;
  /** decode: PAD bytes seen; encode: zero bytes to append. */
  size_t pad_len;
} hs_intro2_plain_t;

/** ONION_KEY_TYPE must be ntor (CELL_ERR_UNSUPPORTED) with a 32-byte key
 * (CELL_ERR_LENGTH); link specifiers as in EXTEND2 (known types at their
 * exact length, unknown kept, a repeated identity CELL_ERR_DUPLICATE);
 * everything after them is PAD. */
int hs_intro2_plain_decode(hs_intro2_plain_t *m, const uint8_t *p,
                           size_t len);
int hs_intro2_plain_encode(const hs_intro2_plain_t *m, uint8_t *out,
                           size_t outlen, size_t *len_out);

/* ---- ESTABLISH_RENDEZVOUS (4.1) ---- */

/** RENDEZVOUS_COOKIE; extra bytes are ignored (the spec says MUST). */
int hs_establish_rendezvous_decode(uint8_t cookie[HS_CELL_COOKIE_LEN],
                                   const uint8_t *body, size_t len);
int hs_establish_rendezvous_encode(const uint8_t cookie[HS_CELL_COOKIE_LEN],
                                   uint8_t *out, size_t outlen,
                                   size_t *len_out);

/* ---- RENDEZVOUS_ESTABLISHED (4.1): empty; extra bytes ignored ---- */

int hs_rendezvous_established_decode(const uint8_t *body, size_t len);
int hs_rendezvous_established_encode(uint8_t *out, size_t outlen,
                                     size_t *len_out);

/* ---- RENDEZVOUS1 / RENDEZVOUS2 (4.2) ---- */

typedef struct hs_rendezvous1_t {
  uint8_t cookie[HS_CELL_COOKIE_LEN];
  /** HANDSHAKE_INFO: the rest of the body, relayed verbatim as the body
   * of RENDEZVOUS2 (view, may be empty at the codec level). */
  const uint8_t *handshake_info;
  size_t handshake_info_len;
} hs_rendezvous1_t;

int hs_rendezvous1_decode(hs_rendezvous1_t *m, const uint8_t *body,
                          size_t len);
int hs_rendezvous1_encode(const hs_rendezvous1_t *m, uint8_t *out,
                          size_t outlen, size_t *len_out);

typedef struct hs_rendezvous2_t {
  uint8_t server_pk[32];   /**< Y */
  uint8_t auth[32];        /**< AUTH_INPUT_MAC */
} hs_rendezvous2_t;

/** The hs-ntor HANDSHAKE_INFO: at least 64 bytes; bytes after it (a
 * RENDEZVOUS1 sender's padding, relayed verbatim) are ignored. */
int hs_rendezvous2_decode(hs_rendezvous2_t *m, const uint8_t *body,
                          size_t len);
int hs_rendezvous2_encode(const hs_rendezvous2_t *m, uint8_t *out,
                          size_t outlen, size_t *len_out);

#endif
