/* torcert.h -- tor's compact ed25519 certificates (cert-spec section 2.1,
 * "Ed25519 Certificates", with the extensions of section 2.2) and the
 * RSA->Ed25519 cross-certificate (cert-spec section 2.3).
 *
 * Wire format of an ed25519 certificate (all integers big-endian):
 *   VERSION [1] = 1 | CERT_TYPE [1] | EXPIRATION_DATE [4] (hours since
 *   the epoch) | CERT_KEY_TYPE [1] | CERTIFIED_KEY [32] | N_EXTENSIONS [1] |
 *   N x (ExtLength [2] | ExtType [1] | ExtFlags [1] | ExtData) | SIGNATURE [64]
 * The signature is an ed25519 signature (no prefix) over everything before it.
 */
#ifndef ALLIUM_CORE_CHANNEL_TORCERT_H
#define ALLIUM_CORE_CHANNEL_TORCERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rsa.h"

#define TORCERT_VERSION 1

/* CERT_TYPE values (cert-spec A.1; tor-spec 4.2 for the CERTS cell). */
#define CERT_TYPE_LINK_RSA            0x01 /* X.509 link cert (CERTS cell only) */
#define CERT_TYPE_ID_RSA              0x02 /* X.509 RSA identity (CERTS cell only) */
#define CERT_TYPE_AUTH_RSA            0x03 /* X.509 RSA auth (CERTS cell only) */
#define CERT_TYPE_ID_SIGNING          0x04 /* ed25519 signing key, by identity */
#define CERT_TYPE_SIGNING_LINK        0x05 /* TLS link cert digest, by signing key */
#define CERT_TYPE_SIGNING_AUTH        0x06 /* ed25519 auth key, by signing key */
#define CERT_TYPE_RSA_ED_CROSSCERT    0x07 /* RSA->Ed25519 (section 2.3 format) */
#define CERT_TYPE_SIGNING_HS_DESC     0x08 /* HS descriptor signing key, by blinded key */
#define CERT_TYPE_AUTH_HS_IP_KEY      0x09 /* HS intro point auth key, by desc signing key */
#define CERT_TYPE_ONION_ID_CROSSCERT  0x0A /* ntor onion key cross-certifying identity */
#define CERT_TYPE_CROSS_HS_IP_KEYS    0x0B /* HS ntor enc key, cross-certifying desc key */

/* CERT_KEY_TYPE values (cert-spec A.4).  Old tors put 01 everywhere. */
#define CERT_KEY_TYPE_ED25519         0x01
#define CERT_KEY_TYPE_SHA256_OF_RSA   0x02
#define CERT_KEY_TYPE_SHA256_OF_X509  0x03

/* Extension types and flags (cert-spec 2.1, A.2). */
#define CERTEXT_SIGNED_WITH_KEY       0x04
#define CERTEXT_FLAG_AFFECTS_VALIDATION 0x01

#define TORCERT_KEY_LEN 32
#define TORCERT_MIN_LEN (40 + ED25519_SIG_LEN)  /* no extensions */
#define TORCERT_MAX_EXTENSIONS 255

/* Errors (negative). */
#define TORCERT_ERR_PARSE    (-1)  /* malformed, truncated, trailing bytes */
#define TORCERT_ERR_UNKNOWN  (-2)  /* unknown version/type or critical extension */
#define TORCERT_ERR_SIG      (-3)  /* bad signature / wrong or missing key */
#define TORCERT_ERR_EXPIRED  (-4)
#define TORCERT_ERR_ARG      (-5)

/** One extension as it appeared in the certificate (kept so that a parsed
 * certificate re-encodes to the same bytes). */
typedef struct torcert_ext_t {
  uint8_t type;
  uint8_t flags;
  uint16_t len;
  uint8_t *data;                 /* len bytes, owned by the cert */
} torcert_ext_t;

/** A parsed or freshly created ed25519 certificate.  All fields are
 * readable; treat them as read-only. */
typedef struct torcert_t {
  uint8_t cert_type;
  uint8_t key_type;
  uint32_t expiration_hours;     /* EXPIRATION_DATE field */
  uint8_t certified_key[TORCERT_KEY_LEN];
  int has_signing_key;           /* signed-with-ed25519-key extension present */
  ed25519_public_key_t signing_key;
  uint8_t n_ext;
  torcert_ext_t *ext;            /* n_ext entries, in wire order */
  uint8_t signature[ED25519_SIG_LEN];
  uint8_t *encoded;              /* the whole certificate, owned */
  size_t encoded_len;
} torcert_t;

/** Create and sign a certificate of cert_type for certified_key (key_type
 * says what it is), signed by signer, expiring at now + lifetime seconds
 * (rounded up to a whole hour).  With include_signing_key the
 * signed-with-ed25519-key extension carries signer's public key.
 * *out: new certificate, caller frees with torcert_free().  0 or negative. */
int torcert_create(torcert_t **out, uint8_t cert_type, uint8_t key_type,
                   const uint8_t certified_key[TORCERT_KEY_LEN],
                   const ed25519_keypair_t *signer, time_t now, time_t lifetime,
                   int include_signing_key);

/** Parse a certificate strictly (exact length, version 1, known cert and
 * key types, no truncated/duplicate extensions, no unknown extension with
 * AFFECTS_VALIDATION, signed-with-key extension exactly 32 bytes).  Does not
 * check the signature or expiry.  *out: new cert, caller frees. */
int torcert_parse(torcert_t **out, const uint8_t *buf, size_t len);

/** Encode c from its fields (extensions and signature as stored) into a
 * new buffer (*out, caller frees).  For a parsed cert the result equals the
 * parsed bytes.  0 or negative. */
int torcert_encode(const torcert_t *c, uint8_t **out, size_t *outlen);

/** Check c's signature.  pk may be NULL: then the key from the
 * signed-with-ed25519-key extension is used (missing -> error).  If both
 * are present they must be equal.  0 or TORCERT_ERR_SIG. */
int torcert_checksig(const torcert_t *c, const ed25519_public_key_t *pk);

/** Time after which c is no longer valid (EXPIRATION_DATE * 3600). */
time_t torcert_expiration(const torcert_t *c);
/** 1 when c has expired at now (now > expiration), else 0. */
int torcert_is_expired(const torcert_t *c, time_t now);

/** Signature and expiry together: 0, TORCERT_ERR_SIG or TORCERT_ERR_EXPIRED. */
int torcert_validate(const torcert_t *c, const ed25519_public_key_t *pk, time_t now);

/** Independent copy of c; caller frees. */
torcert_t *torcert_dup(const torcert_t *c);

void torcert_free_(torcert_t *c);
#define torcert_free(p) do { torcert_free_(p); (p) = NULL; } while (0)

/* ---- RSA->Ed25519 cross-certificate (cert-spec 2.3) ----
 *   ED25519_KEY [32] | EXPIRATION_DATE [4] (hours) | SIGLEN [1] | SIGNATURE
 * SIGNATURE = RSA PKCS#1 type-1 (no DigestInfo) of
 *   SHA-256("Tor TLS RSA/Ed25519 cross-certificate" || ED25519_KEY ||
 *           EXPIRATION_DATE). */
#define RSA_CROSSCERT_PREFIX "Tor TLS RSA/Ed25519 cross-certificate"
#define RSA_CROSSCERT_SIGNED_LEN 36
#define RSA_CROSSCERT_MAX_SIG 255

typedef struct rsa_crosscert_t {
  ed25519_public_key_t ed_key;
  uint32_t expiration_hours;
  uint8_t siglen;
  uint8_t sig[RSA_CROSSCERT_MAX_SIG];
} rsa_crosscert_t;

/** Create and sign a cross-certificate of ed_key with rsa (private),
 * expiring at now + lifetime (rounded up to a whole hour).  *out and *outlen: new
 * encoded certificate, caller frees.  0 or negative. */
int rsa_crosscert_create(uint8_t **out, size_t *outlen, const ed25519_public_key_t *ed_key,
                         const rsa_key_t *rsa, time_t now, time_t lifetime);
/** Parse strictly (SIGLEN >= 1, exact length).  *out: caller frees. */
int rsa_crosscert_parse(rsa_crosscert_t **out, const uint8_t *buf, size_t len);
/** Encode into a new buffer; caller frees. 0 or negative. */
int rsa_crosscert_encode(const rsa_crosscert_t *c, uint8_t **out, size_t *outlen);
/** 0 when the signature was made by rsa, else TORCERT_ERR_SIG. */
int rsa_crosscert_checksig(const rsa_crosscert_t *c, const rsa_key_t *rsa);
time_t rsa_crosscert_expiration(const rsa_crosscert_t *c);
int rsa_crosscert_is_expired(const rsa_crosscert_t *c, time_t now);
/** Signature and expiry (and, when ed_key != NULL, that it certifies ed_key):
 * 0, TORCERT_ERR_SIG or TORCERT_ERR_EXPIRED. */
int rsa_crosscert_validate(const rsa_crosscert_t *c, const rsa_key_t *rsa,
                           const ed25519_public_key_t *ed_key, time_t now);
void rsa_crosscert_free_(rsa_crosscert_t *c);
#define rsa_crosscert_free(p) do { rsa_crosscert_free_(p); (p) = NULL; } while (0)

#endif
