/* hs_desc_crypt.h -- the encryption of the two inner layers of a v3 onion
 * service descriptor (rend-spec-v3 2.5.3 [HS-DESC-ENCRYPTION-KEYS], with the
 * parameters of 2.5.1.1 and 2.5.2.1).
 *
 *   secret_input = SECRET_DATA | N_hs_subcred | INT_8(revision_counter)
 *   keys = SHAKE-256(secret_input | SALT | STRING_CONSTANT, 32 + 16 + 32)
 *        = SECRET_KEY | SECRET_IV | MAC_KEY
 *   blob = SALT(16) | AES-256-CTR(SECRET_KEY, SECRET_IV) XOR plaintext | MAC(32)
 *   MAC  = SHA3-256(INT_8(32) | MAC_KEY | INT_8(16) | SALT | ciphertext)
 *
 * First layer ("superencrypted"): SECRET_DATA = blinded public key,
 * STRING_CONSTANT "hsdir-superencrypted-data"; the plaintext is padded with
 * NUL bytes to a multiple of 10000 bytes.  Second layer ("encrypted"):
 * SECRET_DATA = blinded key | descriptor cookie (the cookie only with client
 * authorization), STRING_CONSTANT "hsdir-encrypted-data", no padding.
 *
 * Error codes (negative) are shared with hs_desc_inner.h.
 */
#ifndef ALLIUM_FEATURE_HS_COMMON_HS_DESC_CRYPT_H
#define ALLIUM_FEATURE_HS_COMMON_HS_DESC_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/ed25519.h"

#define HS_DESC_SALT_LEN 16
#define HS_DESC_MAC_LEN 32
#define HS_DESC_KEY_LEN 32
#define HS_DESC_IV_LEN 16
#define HS_DESC_MAC_KEY_LEN 32
#define HS_DESC_COOKIE_LEN 16   /* N_hs_desc_enc: 16 bytes in tor (the spec says 32) */
#define HS_DESC_CRYPT_OVERHEAD (HS_DESC_SALT_LEN + HS_DESC_MAC_LEN)
/** First-layer plaintexts are NUL-padded to a multiple of this. */
#define HS_DESC_PAD_MULTIPLE 10000
/** Largest blob accepted or produced: an HSDir takes descriptors up to 50k,
 * so no layer inside one can be larger. */
#define HS_DESC_MAX_BLOB 50000

#define HS_DESC_CONST_SUPERENC "hsdir-superencrypted-data"
#define HS_DESC_CONST_ENC "hsdir-encrypted-data"

/* Errors shared by hs_desc_crypt and hs_desc_inner. */
#define HS_DESC_OK 0
#define HS_DESC_ERR_SYNTAX (-1)  /* malformed plaintext or blob */
#define HS_DESC_ERR_CERT   (-2)  /* a certificate is bad, expired or mis-signed */
#define HS_DESC_ERR_LIMIT  (-3)  /* too large, too many introduction points */
#define HS_DESC_ERR_ARG    (-4)  /* bad call */
#define HS_DESC_ERR_MAC    (-5)  /* MAC mismatch: wrong key, subcredential,
                                    revision counter or cookie, or tampering */
#define HS_DESC_ERR_AUTH   (-6)  /* client authorization needed and we have
                                    no (matching) key */

typedef enum hs_desc_layer_t {
  HS_DESC_LAYER_SUPERENCRYPTED = 1,  /* first layer (2.5.1) */
  HS_DESC_LAYER_ENCRYPTED = 2,       /* second layer (2.5.2) */
} hs_desc_layer_t;

/** Derive SECRET_KEY, SECRET_IV and MAC_KEY for one layer.  cookie (32
 * bytes) may be NULL; it is only used for the second layer.  0 or
 * HS_DESC_ERR_ARG. */
int hs_desc_layer_keys(uint8_t key_out[HS_DESC_KEY_LEN], uint8_t iv_out[HS_DESC_IV_LEN],
                       uint8_t mac_key_out[HS_DESC_MAC_KEY_LEN], hs_desc_layer_t layer,
                       const ed25519_public_key_t *blinded_pk,
                       const uint8_t *cookie, const uint8_t subcred[HS_DIGEST_LEN],
                       uint64_t revision_counter, const uint8_t salt[HS_DESC_SALT_LEN]);

/** D_MAC over SALT | ciphertext (ct_len bytes). */
int hs_desc_layer_mac(uint8_t mac_out[HS_DESC_MAC_LEN],
                      const uint8_t mac_key[HS_DESC_MAC_KEY_LEN],
                      const uint8_t salt[HS_DESC_SALT_LEN],
                      const uint8_t *ct, size_t ct_len);

/** Encrypt plaintext (len bytes) into a new blob *out (*outlen bytes; caller
 * frees).  salt NULL: 16 fresh random bytes (a caller passes one only for
 * known-answer tests).  The first layer is NUL-padded first.  0,
 * HS_DESC_ERR_ARG or HS_DESC_ERR_LIMIT (result over HS_DESC_MAX_BLOB). */
int hs_desc_layer_encrypt(uint8_t **out, size_t *outlen, hs_desc_layer_t layer,
                          const ed25519_public_key_t *blinded_pk, const uint8_t *cookie,
                          const uint8_t subcred[HS_DIGEST_LEN], uint64_t revision_counter,
                          const uint8_t *salt, const uint8_t *plaintext, size_t len);

/** Check the MAC (constant time) and decrypt blob.  *out: new buffer
 * (caller frees), NUL-terminated; *outlen counts the bytes before the first
 * NUL (the padding and anything after it are dropped, since no plaintext
 * document contains a NUL).  0, HS_DESC_ERR_SYNTAX (shorter than salt and
 * MAC), HS_DESC_ERR_LIMIT (over HS_DESC_MAX_BLOB), HS_DESC_ERR_MAC or
 * HS_DESC_ERR_ARG. */
int hs_desc_layer_decrypt(char **out, size_t *outlen, hs_desc_layer_t layer,
                          const ed25519_public_key_t *blinded_pk, const uint8_t *cookie,
                          const uint8_t subcred[HS_DIGEST_LEN], uint64_t revision_counter,
                          const uint8_t *blob, size_t bloblen);

#endif
