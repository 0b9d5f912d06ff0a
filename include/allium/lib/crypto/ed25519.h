/* ed25519.h -- Ed25519 signatures (RFC 8032) with tor's extensions.
 *
 * Secret keys are tor's 64-byte *expanded* form (clamped scalar a || PRF
 * half), as tor stores them on disk (see shared/TOR-FILE-FORMATS.md), not a
 * seed.  Extensions (rend-spec-v3 A.2 key blinding; tor-spec's
 * ntor-onion-key-crosscert): blinding of public and secret keys, and the
 * curve25519 -> ed25519 conversion with a sign bit.
 */
#ifndef ALLIUM_LIB_CRYPTO_ED25519_H
#define ALLIUM_LIB_CRYPTO_ED25519_H

#include <stddef.h>
#include <stdint.h>

#define ED25519_PUBKEY_LEN 32
#define ED25519_SECKEY_LEN 64
#define ED25519_SEED_LEN 32
#define ED25519_SIG_LEN 64

typedef struct ed25519_public_key_t {
  uint8_t pubkey[ED25519_PUBKEY_LEN];
} ed25519_public_key_t;

typedef struct ed25519_secret_key_t {
  uint8_t seckey[ED25519_SECKEY_LEN];   /* expanded: a || prf; wipe after use */
} ed25519_secret_key_t;

typedef struct ed25519_keypair_t {
  ed25519_public_key_t pub;
  ed25519_secret_key_t sec;
} ed25519_keypair_t;

/** Expanded secret key from a 32-byte seed (SHA-512, clamp). 0 or -1. */
int ed25519_secret_from_seed(ed25519_secret_key_t *out, const uint8_t seed[ED25519_SEED_LEN]);
/** Public key A = a*B of an expanded secret key. 0 or -1. */
int ed25519_public_from_secret(ed25519_public_key_t *out, const ed25519_secret_key_t *sk);
/** Fresh random key pair. 0 or -1. */
int ed25519_keypair_generate(ed25519_keypair_t *kp);
/** Key pair from a seed. 0 or -1. */
int ed25519_keypair_from_seed(ed25519_keypair_t *kp, const uint8_t seed[ED25519_SEED_LEN]);

/** Sign msg with an expanded secret key (RFC 8032 with the given key halves). */
int ed25519_sign(uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                 const ed25519_keypair_t *kp);
/** Sign prefix||msg (tor signs some documents with a text prefix). */
int ed25519_sign_prefixed(uint8_t sig[ED25519_SIG_LEN], const char *prefix,
                          const uint8_t *msg, size_t len, const ed25519_keypair_t *kp);
/** 0 when sig is a valid signature of msg by pk, else -1. */
int ed25519_verify(const uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                   const ed25519_public_key_t *pk);
int ed25519_verify_prefixed(const uint8_t sig[ED25519_SIG_LEN], const char *prefix,
                            const uint8_t *msg, size_t len, const ed25519_public_key_t *pk);

/** 0 when pk decodes to a point on the curve in the prime-order subgroup
 * (and is not the identity), else -1. */
int ed25519_public_validate(const ed25519_public_key_t *pk);

/** Blinded public key: clamp(param) * A.  0 or -1. */
int ed25519_public_blind(ed25519_public_key_t *out, const ed25519_public_key_t *in,
                         const uint8_t param[32]);
/** Blinded key pair: a' = a*clamp(param) mod l, prf' = SHA-512("Derive
 * temporary signing key hash input" | prf)[0:32]; public recomputed. 0 or -1. */
int ed25519_keypair_blind(ed25519_keypair_t *out, const ed25519_keypair_t *in,
                          const uint8_t param[32]);

/** ed25519 public key from a curve25519 public key u and a sign bit
 * (y = (u-1)/(u+1); the sign bit becomes the top bit of byte 31). 0 or -1. */
int ed25519_public_from_curve25519(ed25519_public_key_t *out, const uint8_t u[32],
                                   int signbit);
/** ed25519 key pair from a curve25519 secret key, as used to sign the
 * ntor-onion-key-crosscert; *signbit_out gets the sign bit. 0 or -1. */
int ed25519_keypair_from_curve25519(ed25519_keypair_t *out, int *signbit_out,
                                    const uint8_t curve_secret[32]);

/** Wipe a key pair. */
void ed25519_keypair_wipe(ed25519_keypair_t *kp);

#endif
