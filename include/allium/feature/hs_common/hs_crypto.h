/* hs_crypto.h -- onion service (v3) cryptographic helpers (rend-spec-v3):
 * onion addresses (6), key blinding (A.2) and subcredentials (2.1), HSDir
 * ring indices (2.2.3), the disaster SRV (2.3.1), time periods (2.2.1) and
 * the descriptor-cookie encryption of client authorization (2.5.1.2).
 *
 * Pure functions.  Periods are counted in minutes as the spec does;
 * unix times are seconds.  Functions returning int give 0 or -1.
 */
#ifndef ALLIUM_FEATURE_HS_COMMON_HS_CRYPTO_H
#define ALLIUM_FEATURE_HS_COMMON_HS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/crypto/ed25519.h"

#define HS_VERSION 3
#define HS_ONION_SUFFIX ".onion"
/** base32 of PUBKEY(32) | CHECKSUM(2) | VERSION(1) = 56 characters. */
#define HS_ONION_ADDR_NO_SUFFIX_LEN 56
/** With ".onion"; buffers need one more byte for the NUL. */
#define HS_ONION_ADDR_LEN (HS_ONION_ADDR_NO_SUFFIX_LEN + 6)
#define HS_CHECKSUM_LEN 2
#define HS_DIGEST_LEN 32            /* SHA3-256: credentials, indices, SRVs */
#define HS_DEFAULT_PERIOD_LENGTH 1440        /* minutes */
#define HS_DEFAULT_ROTATION_OFFSET 720       /* minutes (12 voting periods) */
#define HS_CLIENT_ID_LEN 8
#define HS_CLIENT_AUTH_IV_LEN 16

/* ---- onion addresses (rend-spec-v3 6) ---- */

/** CHECKSUM = SHA3-256(".onion checksum" | PUBKEY | VERSION)[:2]. */
int hs_onion_checksum(uint8_t out[HS_CHECKSUM_LEN], const ed25519_public_key_t *pk,
                      uint8_t version);

/** Write the NUL-terminated v3 address "<56 chars>.onion" of pk into out
 * (outlen >= HS_ONION_ADDR_LEN + 1). */
int hs_onion_address_encode(char *out, size_t outlen, const ed25519_public_key_t *pk);

/** Split an address (with or without ".onion", either case) into its fields
 * without judging them; any output pointer may be NULL.  -1 on a bad length
 * or character. */
int hs_onion_address_decode(const char *addr, ed25519_public_key_t *pk_out,
                            uint8_t checksum_out[HS_CHECKSUM_LEN],
                            uint8_t *version_out);

/** Full client-side validation (rend-spec-v3 2.2.7): decodes, requires
 * version 3, a correct checksum and a key in the prime-order subgroup.
 * pk_out may be NULL. */
int hs_onion_address_parse(const char *addr, ed25519_public_key_t *pk_out);

/* ---- blinding and credentials (rend-spec-v3 A.2, 2.1) ---- */

#define HS_BLIND_NONCE_LEN 25
/** N = "key-blind" | INT_8(period_num) | INT_8(period_length). */
void hs_blinding_nonce(uint8_t out[HS_BLIND_NONCE_LEN], uint64_t period_num,
                       uint64_t period_length);

/** Unclamped blinding factor h = SHA3-256("Derive temporary signing key" |
 * 00 | A | secret | B-string | "key-blind" | INT_8(period_num) |
 * INT_8(period_length)).  secret may be NULL when secret_len is 0. */
int hs_blinding_factor(uint8_t h_out[32], const ed25519_public_key_t *pk,
                       const uint8_t *secret, size_t secret_len,
                       uint64_t period_num, uint64_t period_length);

/** Blinded public key A' = clamp(h) * A for the period. */
int hs_blind_public_key(ed25519_public_key_t *out, const ed25519_public_key_t *pk,
                        const uint8_t *secret, size_t secret_len,
                        uint64_t period_num, uint64_t period_length);

/** Blinded key pair (a' = clamp(h) * a mod l, prf' derived, A'); wipe out
 * with ed25519_keypair_wipe() when done. */
int hs_blind_keypair(ed25519_keypair_t *out, const ed25519_keypair_t *kp,
                     const uint8_t *secret, size_t secret_len,
                     uint64_t period_num, uint64_t period_length);

/** N_hs_cred = SHA3-256("credential" | A). */
int hs_credential(uint8_t out[HS_DIGEST_LEN], const ed25519_public_key_t *pk);

/** N_hs_subcred = SHA3-256("subcredential" | N_hs_cred | A'). */
int hs_subcredential(uint8_t out[HS_DIGEST_LEN], const uint8_t credential[HS_DIGEST_LEN],
                     const ed25519_public_key_t *blinded_pk);

/** Subcredential straight from the identity key and blinded key. */
int hs_subcredential_from_identity(uint8_t out[HS_DIGEST_LEN],
                                   const ed25519_public_key_t *pk,
                                   const ed25519_public_key_t *blinded_pk);

/* ---- hash ring (rend-spec-v3 2.2.3, 2.3.1) ---- */

/** hs_service_index = SHA3-256("store-at-idx" | A' | INT_8(replica) |
 * INT_8(period_length) | INT_8(period_num)). */
int hs_build_hs_index(uint8_t out[HS_DIGEST_LEN], const ed25519_public_key_t *blinded_pk,
                      uint64_t replica, uint64_t period_length, uint64_t period_num);

/** hs_relay_index = SHA3-256("node-idx" | node_id | SRV | INT_8(period_num) |
 * INT_8(period_length)) -- note the order differs from the store index. */
int hs_build_hsdir_index(uint8_t out[HS_DIGEST_LEN], const ed25519_public_key_t *node_id,
                         const uint8_t srv[HS_DIGEST_LEN], uint64_t period_num,
                         uint64_t period_length);

/** Disaster SRV = SHA3-256("shared-random-disaster" | INT_8(period_length) |
 * INT_8(period_num)). */
int hs_disaster_srv(uint8_t out[HS_DIGEST_LEN], uint64_t period_length, uint64_t period_num);

/* ---- time periods (rend-spec-v3 2.2.1) ---- */

/** Period number of unix time now: (now/60 - offset) / length.  Times before
 * the offset give period 0.  length must be > 0 (0 is treated as the
 * default). */
uint64_t hs_time_period_num(int64_t now, uint64_t length_min, uint64_t offset_min);

/** Unix time at which period period_num starts. */
int64_t hs_time_period_start(uint64_t period_num, uint64_t length_min, uint64_t offset_min);

/** Unix time at which the period after the one containing now starts. */
int64_t hs_time_period_next_start(int64_t now, uint64_t length_min, uint64_t offset_min);

/* ---- client authorization (rend-spec-v3 2.5.1.2) ---- */

#define HS_CLIENT_AUTH_KEYS_LEN 40
/** KEYS = SHAKE-256(subcred | X25519(sec, pub), 40) -- CLIENT-ID (8) |
 * COOKIE-KEY (32); sec/pub are the service's ephemeral secret and the
 * client's public key, or the client's secret and the ephemeral public key.
 * If seed_out is not NULL it gets SECRET_SEED.  -1 on a zero DH result. */
int hs_client_auth_keys(uint8_t keys_out[HS_CLIENT_AUTH_KEYS_LEN], uint8_t *seed_out,
                        const uint8_t sec[32], const uint8_t pub[32],
                        const uint8_t subcred[HS_DIGEST_LEN]);

/** Encrypt the descriptor cookie for one client: SECRET_SEED =
 * X25519(ephemeral_secret, client_pub); KEYS = SHAKE-256(subcred |
 * SECRET_SEED, 40); client_id = KEYS[0:8]; encrypted = AES-256-CTR(
 * KEYS[8:40], iv) XOR cookie (cookie_len bytes).  -1 on a zero DH result. */
int hs_client_auth_encrypt_cookie(uint8_t client_id_out[HS_CLIENT_ID_LEN],
                                  uint8_t *encrypted_out,
                                  const uint8_t ephemeral_secret[32],
                                  const uint8_t client_pub[32],
                                  const uint8_t subcred[HS_DIGEST_LEN],
                                  const uint8_t iv[HS_CLIENT_AUTH_IV_LEN],
                                  const uint8_t *cookie, size_t cookie_len);

/** Client side: with its secret key and the descriptor's ephemeral public
 * key, compute its client_id (to find its auth-client line) and, if
 * encrypted != NULL, decrypt that line's cookie into cookie_out.  A caller
 * compares client_id_out with each line's client-id (crypto_memeq). */
int hs_client_auth_decrypt_cookie(uint8_t client_id_out[HS_CLIENT_ID_LEN],
                                  uint8_t *cookie_out,
                                  const uint8_t client_secret[32],
                                  const uint8_t ephemeral_pub[32],
                                  const uint8_t subcred[HS_DIGEST_LEN],
                                  const uint8_t iv[HS_CLIENT_AUTH_IV_LEN],
                                  const uint8_t *encrypted, size_t len);

#endif
