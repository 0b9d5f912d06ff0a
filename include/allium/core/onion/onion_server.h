/* onion_server.h -- the relay's answer to a create cell, as one pure,
 * thread-safe function (tor-spec 5.1 CREATE2/CREATED2, 5.1.4 ntor, 5.1.5
 * CREATE_FAST, 5.2.1 KDF-TOR; proposal 332 ntor v3 with its extensions,
 * proposal 324 CC_REQUEST, proposal 346 SUBPROTO).
 *
 * onion_server_answer() takes the relay's onion keys and the command and
 * payload of a CREATE / CREATE_FAST / CREATE2 cell, and fills an
 * onion_answer_t: either the reply cell (CREATED2 or CREATED_FAST payload)
 * with the relay-crypto key material Df|Db|Kf|Kb for relay_crypto_new() and
 * the circuit's KH (onion-service handshakes), or
 * an error with the DESTROY reason to send back.  It touches no global
 * state, does not log (the caller logs on its own thread), and may run on
 * any thread: the worker pool (onion_workers.h) calls it off the event loop.
 *
 * Accepted: CREATE2 HTYPE 2 (ntor) and 3 (ntor v3), CREATE_FAST.  Refused
 * with PROTOCOL, as tor 0.4.9 does: CREATE (TAP) and CREATE2 HTYPE 0 (TAP),
 * any other HTYPE, a wrong HLEN, an onionskin for another identity or an
 * onion key that is neither the current nor the previous one.
 */
#ifndef ALLIUM_CORE_ONION_ONION_SERVER_H
#define ALLIUM_CORE_ONION_ONION_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/cell.h"
#include "allium/lib/crypto/x25519.h"

/** Relay-crypto key material handed to relay_crypto_new(RELAY_CRYPTO_TOR1):
 * Df(20) | Db(20) | Kf(16) | Kb(16). */
#define ONION_KEYS_LEN 72
/** KH, the circuit's "rend nonce" (tor-spec 5.2.1, 5.2.2): for ntor and
 * ntor v3 the HASH_LEN bytes of key material after Df|Db|Kf|Kb; for
 * CREATE_FAST the first HASH_LEN bytes of KDF-TOR (the KH of CREATED_FAST).
 * An introduction point checks ESTABLISH_INTRO's HANDSHAKE_AUTH with it
 * (rend-spec-v3 3.1.1). */
#define ONION_KH_LEN 20
/** HTYPE we report for CREATE_FAST answers (the CREATE2 type number that
 * tor-spec gives to the CREATE_FAST handshake). */
#define ONION_HTYPE_FAST 0x0001

/** ntor v3 extension types (proposal 324 2.2, proposal 346). */
#define ONION_EXT_CC_REQUEST 1
#define ONION_EXT_CC_RESPONSE 2
#define ONION_EXT_SUBPROTO 3

/** The relay's long-term circuit keys. */
typedef struct onion_server_keys_t {
  uint8_t rsa_id[20];             /**< RSA identity digest (ntor NODEID) */
  x25519_keypair_t ntor;          /**< current ntor onion key */
  bool has_old;
  x25519_keypair_t ntor_old;      /**< previous onion key, still accepted */
  bool has_ed_id;                 /**< without it ntor v3 is refused */
  uint8_t ed_id[32];              /**< ed25519 master identity (ntor v3 ID) */
} onion_server_keys_t;

/** What the relay offers in ntor v3 server messages.  All zero (or a NULL
 * pointer) is the relay role today: no congestion control, so no
 * CC_RESPONSE is sent even when the client asks (the client then keeps the
 * fixed windows, proposal 324 4).  The exit issue sets cc_sendme_inc. */
typedef struct onion_server_params_t {
  /** Non-zero: answer a CC_REQUEST with CC_RESPONSE(sendme_inc). */
  uint8_t cc_sendme_inc;
} onion_server_params_t;

typedef struct onion_answer_t {
  /* filled on success */
  uint8_t command;                    /**< CELL_CREATED2 / CELL_CREATED_FAST */
  uint16_t htype;                     /**< NTOR, NTOR_V3 or ONION_HTYPE_FAST */
  uint8_t reply[CELL_PAYLOAD_LEN];    /**< reply payload, zero-padded */
  uint8_t keys[ONION_KEYS_LEN];       /**< Df|Db|Kf|Kb (secret) */
  uint8_t kh[ONION_KH_LEN];           /**< KH (secret) */
  bool used_old_key;                  /**< the previous onion key answered */
  bool cc_requested;                  /**< ntor v3 CC_REQUEST present */
  bool cc_negotiated;                 /**< we answered with CC_RESPONSE */
  uint8_t cc_sendme_inc;              /**< when cc_negotiated */
  /* filled on failure */
  uint8_t destroy_reason;             /**< cell_destroy_reason_t */
  const char *error;                  /**< static text, never peer data */
} onion_answer_t;

/** Errors (negative) of onion_server_answer(). */
#define ONION_ERR_ARG (-1)        /**< NULL arguments */
#define ONION_ERR_REFUSED (-2)    /**< TAP, unknown HTYPE or command */
#define ONION_ERR_MALFORMED (-3)  /**< bad lengths, bad extensions */
#define ONION_ERR_HANDSHAKE (-4)  /**< not our identity/key, bad MAC, DH */

/** Answer a create cell (command CELL_CREATE, CELL_CREATE_FAST or
 * CELL_CREATE2; payload of len bytes, normally 509, never read past len).
 * params may be NULL.  Returns 0 with *ans filled, or a negative ONION_ERR_*
 * with ans->destroy_reason and ans->error set (nothing else).  Pure and
 * thread-safe: uses only its arguments and the thread-safe crypto
 * primitives (OpenSSL EVP per call, libsodium, RAND_bytes). */
int onion_server_answer(onion_answer_t *ans, const onion_server_keys_t *keys,
                        const onion_server_params_t *params, uint8_t command,
                        const uint8_t *payload, size_t len);

/** Wipe the secrets of an answer (keys, reply); NULL is fine. */
void onion_answer_wipe(onion_answer_t *ans);

/** Parsed ntor v3 client message (proposal 332 A.2 encoding:
 * N_EXTENSIONS [1] then that many TYPE [1] | LEN [1] | BODY [LEN]). */
typedef struct onion_v3_client_msg_t {
  bool cc_requested;
  bool subproto_requested;        /**< a non-empty SUBPROTO request */
} onion_v3_client_msg_t;

/** Parse a client message; 0, or ONION_ERR_MALFORMED if an extension is
 * truncated.  An empty message means no extensions; bytes after the last
 * extension are ignored (as tor's trunnel parser does).  Only the first
 * extension of each type counts (proposal 332 A.2).  Exposed for tests and
 * the fuzzer. */
int onion_v3_client_msg_parse(onion_v3_client_msg_t *out, const uint8_t *msg,
                              size_t len);

#endif
