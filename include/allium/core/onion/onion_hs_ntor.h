/* onion_hs_ntor.h -- the hs-ntor handshake of onion services (rend-spec-v3
 * 3.3.2 [NTOR-WITH-EXTRA-DATA], 4.2 [JOIN_REND], 4.2.1 key expansion).
 *
 *   intro:  ENC_KEY | MAC_KEY protect the encrypted part of INTRODUCE1
 *           (client: hs_ntor_client_intro_keys, service: hs_ntor_service_intro_keys;
 *           then hs_ntor_intro_crypt / hs_ntor_mac).
 *   rend:   the service answers with Y | AUTH_INPUT_MAC in RENDEZVOUS1
 *           (hs_ntor_service_rend_keys); the client checks it
 *           (hs_ntor_client_rend_keys) and both expand NTOR_KEY_SEED into
 *           Df | Db | Kf | Kb (hs_ntor_key_expansion: SHA3-256 digests and
 *           AES-256 keys, 128 bytes, for relay_crypto's HS mode).
 *
 * Key pairs are x25519_keypair_t; X, Y and B are 32-byte public keys; AUTH_KEY
 * is the intro point's 32-byte ed25519 auth key.  Pure functions, 0 or -1;
 * -1 also when a DH result is all zero.
 */
#ifndef ALLIUM_CORE_ONION_ONION_HS_NTOR_H
#define ALLIUM_CORE_ONION_ONION_HS_NTOR_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/crypto/x25519.h"

#define HS_NTOR_KEY_LEN 32
#define HS_NTOR_MAC_LEN 32
#define HS_NTOR_SUBCRED_LEN 32
#define HS_NTOR_AUTH_KEY_LEN 32
/** RENDEZVOUS1/2 HANDSHAKE_INFO = Y | AUTH_INPUT_MAC. */
#define HS_NTOR_HANDSHAKE_INFO_LEN (32 + HS_NTOR_MAC_LEN)
/** Df(32) | Db(32) | Kf(32) | Kb(32). */
#define HS_NTOR_KEY_EXPANSION_LEN 128

/** Keys for the encrypted section of INTRODUCE1/2. */
typedef struct hs_ntor_intro_keys_t {
  uint8_t enc_key[HS_NTOR_KEY_LEN];   /* AES-256-CTR key, zero IV */
  uint8_t mac_key[HS_NTOR_MAC_LEN];
} hs_ntor_intro_keys_t;

/** Rendezvous results. */
typedef struct hs_ntor_rend_keys_t {
  uint8_t ntor_key_seed[32];
  uint8_t auth_input_mac[HS_NTOR_MAC_LEN];
} hs_ntor_rend_keys_t;

/** Client: intro keys from its ephemeral key pair x, the service's intro
 * encryption key B, the intro point AUTH_KEY and the subcredential. */
int hs_ntor_client_intro_keys(hs_ntor_intro_keys_t *out, const x25519_keypair_t *x,
                              const uint8_t B[32],
                              const uint8_t auth_key[HS_NTOR_AUTH_KEY_LEN],
                              const uint8_t subcred[HS_NTOR_SUBCRED_LEN]);

/** Service: the same keys from its intro encryption key pair b and the
 * client's X. */
int hs_ntor_service_intro_keys(hs_ntor_intro_keys_t *out, const x25519_keypair_t *b,
                               const uint8_t X[32],
                               const uint8_t auth_key[HS_NTOR_AUTH_KEY_LEN],
                               const uint8_t subcred[HS_NTOR_SUBCRED_LEN]);

/** Service: NTOR_KEY_SEED and AUTH_INPUT_MAC from b, its fresh ephemeral
 * key pair y and the client's X.  The RENDEZVOUS1 HANDSHAKE_INFO is
 * y->pub | out->auth_input_mac. */
int hs_ntor_service_rend_keys(hs_ntor_rend_keys_t *out, const x25519_keypair_t *b,
                              const x25519_keypair_t *y, const uint8_t X[32],
                              const uint8_t auth_key[HS_NTOR_AUTH_KEY_LEN]);

/** Client: check the 64-byte HANDSHAKE_INFO (Y | AUTH) of RENDEZVOUS2
 * (constant time) and compute the same NTOR_KEY_SEED.  -1 (and *out zeroed)
 * if AUTH is wrong or a DH result is zero. */
int hs_ntor_client_rend_keys(hs_ntor_rend_keys_t *out, const x25519_keypair_t *x,
                             const uint8_t B[32],
                             const uint8_t auth_key[HS_NTOR_AUTH_KEY_LEN],
                             const uint8_t handshake_info[HS_NTOR_HANDSHAKE_INFO_LEN]);

/** K = SHAKE-256(NTOR_KEY_SEED | m_hsexpand), 128 bytes: Df | Db | Kf | Kb. */
int hs_ntor_key_expansion(uint8_t out[HS_NTOR_KEY_EXPANSION_LEN],
                          const uint8_t ntor_key_seed[32]);

/** rend-spec-v3 MAC(k, m) = SHA3-256(htonll(len(k)) | k | m). */
int hs_ntor_mac(uint8_t out[HS_NTOR_MAC_LEN], const uint8_t *key, size_t keylen,
                const uint8_t *msg, size_t msglen);

/** En-/decrypt the INTRODUCE1 ENCRYPTED_DATA in place with AES-256-CTR
 * under keys->enc_key and an all-zero IV. */
int hs_ntor_intro_crypt(const hs_ntor_intro_keys_t *keys, uint8_t *buf, size_t len);

#endif
