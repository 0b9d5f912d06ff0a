/* onion_trace.h -- NOT a public API: traced variants of the handshake
 * functions that also copy out their secret intermediate values, so the
 * unit tests can compare every intermediate of the known-answer vectors.
 * Production code calls the functions in include/allium/core/onion/.
 * A trace holds secrets: callers memwipe() it after use.
 */
#ifndef ALLIUM_CORE_ONION_ONION_TRACE_H
#define ALLIUM_CORE_ONION_ONION_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_ntor_v3.h"

/* ntor (tor-spec 5.1.4) */
#define NTOR_TRACE_SECRET_INPUT_LEN 204
#define NTOR_TRACE_AUTH_INPUT_LEN 178
typedef struct ntor_trace_t {
  uint8_t secret_input[NTOR_TRACE_SECRET_INPUT_LEN];
  uint8_t key_seed[32];
  uint8_t verify[32];
  uint8_t auth_input[NTOR_TRACE_AUTH_INPUT_LEN];
  uint8_t auth[32];
} ntor_trace_t;

/** ntor_server_respond() that also fills *trace (may be NULL). */
int ntor_server_respond_traced(uint8_t reply_out[NTOR_REPLY_LEN],
                               uint8_t *keys_out, size_t keys_len,
                               const uint8_t onionskin[NTOR_ONIONSKIN_LEN],
                               const uint8_t node_id[NTOR_ID_LEN],
                               const x25519_keypair_t *b,
                               const x25519_keypair_t *y, ntor_trace_t *trace);

/* ntor v3 (proposal 332) */
typedef struct ntor3_trace_t {
  uint8_t enc_k1[32];
  uint8_t mac_k1[32];
  uint8_t msg_mac[32];
  uint8_t key_seed[32];
  uint8_t verify[32];
  uint8_t server_enc_key[32];
  uint8_t auth[32];
} ntor3_trace_t;

/** ntor3_client_create() that also fills enc_k1, mac_k1, msg_mac. */
int ntor3_client_create_traced(ntor3_client_state_t **state_out,
                               uint8_t **onionskin_out, size_t *onionskin_len_out,
                               const uint8_t id[NTOR3_ID_LEN],
                               const uint8_t B[NTOR3_KEY_LEN],
                               const uint8_t *ver, size_t ver_len,
                               const uint8_t *msg, size_t msg_len,
                               const x25519_keypair_t *x, ntor3_trace_t *trace);

/** ntor3_server_reply() that also fills key_seed, verify, server_enc_key, auth. */
int ntor3_server_reply_traced(const ntor3_server_state_t *state,
                              const uint8_t *msg, size_t msg_len,
                              const x25519_keypair_t *y,
                              uint8_t **reply_out, size_t *reply_len_out,
                              uint8_t *keys_out, size_t keys_len, ntor3_trace_t *trace);

/* hs-ntor (rend-spec-v3 3.3.2) */
#define HS_NTOR_TRACE_INTRO_INPUT_LEN (32 + 32 + 32 + 32 + 33)
#define HS_NTOR_TRACE_REND_INPUT_LEN (32 + 32 + 32 + 3 * 32 + 33)
#define HS_NTOR_TRACE_AUTH_INPUT_LEN (32 + 32 + 3 * 32 + 33 + 6)
typedef struct hs_ntor_trace_t {
  uint8_t intro_secret_hs_input[HS_NTOR_TRACE_INTRO_INPUT_LEN];
  uint8_t rend_secret_hs_input[HS_NTOR_TRACE_REND_INPUT_LEN];
  uint8_t verify[32];
  uint8_t auth_input[HS_NTOR_TRACE_AUTH_INPUT_LEN];
} hs_ntor_trace_t;

/** hs_ntor_service_intro_keys() that also fills intro_secret_hs_input. */
int hs_ntor_service_intro_keys_traced(hs_ntor_intro_keys_t *out,
                                      const x25519_keypair_t *b, const uint8_t X[32],
                                      const uint8_t auth_key[HS_NTOR_AUTH_KEY_LEN],
                                      const uint8_t subcred[HS_NTOR_SUBCRED_LEN],
                                      hs_ntor_trace_t *trace);

/** hs_ntor_service_rend_keys() that also fills rend_secret_hs_input, verify
 * and auth_input. */
int hs_ntor_service_rend_keys_traced(hs_ntor_rend_keys_t *out, const x25519_keypair_t *b,
                                     const x25519_keypair_t *y, const uint8_t X[32],
                                     const uint8_t auth_key[HS_NTOR_AUTH_KEY_LEN],
                                     hs_ntor_trace_t *trace);

#endif
