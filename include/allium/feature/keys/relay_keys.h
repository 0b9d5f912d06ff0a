/* relay_keys.h -- a relay's long-term and medium-term keys, kept in
 * DataDirectory/keys/ in exactly the file formats tor 0.4.9 uses (so a tor
 * data directory can be moved to allium and back):
 *
 *   secret_id_key                  RSA-1024 identity (PKCS#1 PEM)
 *   secret_onion_key               RSA-1024 TAP onion key (PKCS#1 PEM)
 *   secret_onion_key_ntor          curve25519 ntor onion key
 *   ed25519_master_id_secret_key   ed25519 master identity (expanded secret)
 *   ed25519_master_id_public_key   its public key
 *   ed25519_signing_secret_key     ed25519 medium-term signing key
 *   ed25519_signing_cert           cert-spec type-4 certificate of the
 *                                  signing key, signed by the master key
 *
 * Specs: tor-spec section 1.1 (keys), cert-spec section 2 (the signing cert).
 */
#ifndef ALLIUM_FEATURE_KEYS_RELAY_KEYS_H
#define ALLIUM_FEATURE_KEYS_RELAY_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rsa.h"
#include "allium/lib/crypto/x25519.h"

typedef struct relay_keys_t relay_keys_t;
struct torcert_t;

/** Why a key operation failed.  Functions return int: 0 (or a count) on
 * success, one of these on failure; relay_keys_strerror() names them. */
typedef enum relay_keys_err_t {
  RELAY_KEYS_OK = 0,
  RELAY_KEYS_ERR_IO = -1,       /**< could not read/write a file or dir */
  RELAY_KEYS_ERR_FORMAT = -2,   /**< a key file is corrupt / wrong type */
  RELAY_KEYS_ERR_MISSING = -3,  /**< a key is missing and create_missing=0 */
  RELAY_KEYS_ERR_MISMATCH = -4, /**< keys do not belong together */
  RELAY_KEYS_ERR_CRYPTO = -5,   /**< key generation/signing failed */
  RELAY_KEYS_ERR_INVAL = -6,    /**< bad argument (NULL or empty path) */
} relay_keys_err_t;

/** A short, static English description of err (a relay_keys_err_t), for
 * log lines: "a key file is corrupt or of the wrong type".  Never NULL;
 * an unknown value gives "unknown relay key error". */
const char *relay_keys_strerror(int err);

/** Lifetime of a freshly made ed25519 signing certificate (tor's default). */
#define RELAY_KEYS_SIGNING_CERT_LIFETIME (30 * 24 * 3600)
/** Renew the signing key/cert when it expires within this many seconds. */
#define RELAY_KEYS_SIGNING_RENEW_MARGIN (2 * 24 * 3600)

/** Load the key set from datadir/keys/.  When create_missing is nonzero,
 * create datadir (0700) and datadir/keys (0700) as needed, generate any
 * missing key, and renew the signing key/cert if it expires within
 * RELAY_KEYS_SIGNING_RENEW_MARGIN or does not match the master key.
 * When create_missing is 0, a missing key is an error (nothing is written).
 * A present but malformed file is always an error (logged, naming the file);
 * it is never overwritten.  On success *out is a new key set (caller frees
 * with relay_keys_free()) and 0 is returned; else a RELAY_KEYS_ERR_*. */
int relay_keys_load_or_create(const char *datadir, int create_missing, relay_keys_t **out);

/** Same, with an explicit "now" (for tests of expiry/renewal). */
int relay_keys_load_or_create_at(const char *datadir, int create_missing, time_t now,
                                 relay_keys_t **out);

/** Free k and wipe every secret in it; NULL is fine. */
void relay_keys_free_(relay_keys_t *k);
#define relay_keys_free(p) do { relay_keys_free_(p); (p) = NULL; } while (0)

/** Upper-case hex SHA-1 of the RSA identity key's PKCS#1 DER, NUL-terminated
 * (40 chars).  0 or -1. */
int relay_keys_fingerprint_hex(const relay_keys_t *k, char out[41]);
/** The ed25519 master public key in base64 without '=' padding,
 * NUL-terminated (43 chars).  0 or -1. */
int relay_keys_fingerprint_ed25519(const relay_keys_t *k, char out[44]);
/** Write datadir/fingerprint ("NICKNAME HEXFP\n") and
 * datadir/fingerprint-ed25519 ("NICKNAME BASE64\n") as tor does.  0 or -1. */
int relay_keys_write_fingerprint_files(const relay_keys_t *k, const char *datadir,
                                       const char *nickname);

/** tor's defaults for onion-key rotation: a new key every 28 days
 * ("onion-key-rotation-days"), the previous one still answered for 7 days
 * ("onion-key-grace-period-days"). */
#define RELAY_KEYS_ONION_ROTATION (28 * 24 * 3600)
#define RELAY_KEYS_ONION_GRACE (7 * 24 * 3600)

/** Rotate the onion keys in datadir/keys when secret_onion_key_ntor was
 * made (its modification time) at least lifetime seconds before now: the
 * current ntor and TAP keys become secret_onion_key_ntor.old and
 * secret_onion_key.old (the .old ntor file's mtime is set to now, the
 * rotation time) and fresh keys are written (src/feature/keys/
 * onion_rotate.c).  .old files rotated out grace or more seconds ago are
 * removed.  *rotated is 1 when keys were rotated: reload the key set with
 * relay_keys_load_or_create() and publish a new descriptor.  Call it
 * periodically (tor checks hourly).  0 or a RELAY_KEYS_ERR_*. */
int relay_keys_rotate_onion_keys(const char *datadir, time_t now, time_t lifetime, time_t grace,
                                 int *rotated);

/** The previous ntor key (secret_onion_key_ntor.old) while it is within
 * grace seconds of its rotation, for answering handshakes made with the
 * key of an older descriptor.  0, RELAY_KEYS_ERR_MISSING (none, or expired)
 * or another RELAY_KEYS_ERR_*.  Wipe *out after use. */
int relay_keys_load_prev_ntor(const char *datadir, time_t now, time_t grace,
                              x25519_keypair_t *out);

/* Accessors: borrowed pointers, valid until relay_keys_free(). */
/** RSA-1024 identity key (private). */
const rsa_key_t *relay_keys_identity_rsa(const relay_keys_t *k);
/** SHA-1 of the identity key DER (20 bytes). */
const uint8_t *relay_keys_identity_digest(const relay_keys_t *k);
/** RSA-1024 TAP onion key (private). */
const rsa_key_t *relay_keys_onion_rsa(const relay_keys_t *k);
/** curve25519 ntor onion key pair. */
const x25519_keypair_t *relay_keys_onion_ntor(const relay_keys_t *k);
/** ed25519 master identity public key. */
const ed25519_public_key_t *relay_keys_master_public(const relay_keys_t *k);
/** ed25519 master identity key pair (the secret is always present here). */
const ed25519_keypair_t *relay_keys_master_keypair(const relay_keys_t *k);
/** ed25519 medium-term signing key pair. */
const ed25519_keypair_t *relay_keys_signing_keypair(const relay_keys_t *k);
/** The signing key's certificate (type 4), parsed. */
const struct torcert_t *relay_keys_signing_cert(const relay_keys_t *k);
/** The signing key's certificate as encoded bytes (no file header). */
const uint8_t *relay_keys_signing_cert_encoded(const relay_keys_t *k, size_t *len_out);

#endif
