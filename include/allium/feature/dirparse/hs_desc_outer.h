/* hs_desc_outer.h -- the outer ("plaintext") layer of a v3 onion-service
 * descriptor (rend-spec-v3 2.4 [DESC-OUTER]; the signing-key certificate is
 * cert-spec 2.1 type 08): parse with every check an HSDir makes, and build.
 *
 *   hs-descriptor 3
 *   descriptor-lifetime <minutes, 30..720>
 *   descriptor-signing-key-cert
 *   -----BEGIN ED25519 CERT----- ... -----END ED25519 CERT-----
 *   revision-counter <uint64>
 *   superencrypted
 *   -----BEGIN MESSAGE----- ... -----END MESSAGE-----
 *   signature <base64 ed25519 signature>
 *
 * The signature is made with the descriptor signing key (the cert's
 * certified key) over "Tor onion service descriptor sig v3" followed by the
 * document up to and including the newline before "signature".  The cert is
 * signed by the blinded key, which it carries in its signed-with-key
 * extension: an HSDir learns the blinded key (the descriptor's index) from
 * there; a client passes the blinded key it derived and the parser requires
 * the cert to name that key.
 */
#ifndef ALLIUM_FEATURE_DIRPARSE_HS_DESC_OUTER_H
#define ALLIUM_FEATURE_DIRPARSE_HS_DESC_OUTER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirparse/netdoc.h"
#include "allium/lib/crypto/ed25519.h"

#define HS_DESC_VERSION 3
/** tor's HS_DESC_MAX_LEN, the default of consensus param HSV3MaxDescriptorSize. */
#define HS_DESC_MAX_LEN 50000
#define HS_DESC_MIN_LIFETIME 30            /* minutes (rend-spec-v3 2.4) */
#define HS_DESC_MAX_LIFETIME 720
#define HS_DESC_DEFAULT_LIFETIME 180       /* what services use (2.2.5) */
/** Lifetime tor gives the descriptor-signing-key certificate: 54 hours. */
#define HS_DESC_CERT_LIFETIME (54 * 3600)
#define HS_DESC_SIG_PREFIX "Tor onion service descriptor sig v3"
/** The superencrypted blob is SALT (16) | ENCRYPTED | MAC (32) (2.5.3);
 * it must hold at least one encrypted byte. */
#define HS_DESC_BLOB_MIN_LEN (16 + 32 + 1)

/* Errors beyond the DIRPARSE_ERR_* of netdoc.h (those mean: SYNTAX malformed,
 * SIG bad document or certificate signature, LIMIT over the size limit, ARG
 * bad call). */
#define HS_DESC_ERR_CERT     (-10) /* cert malformed, wrong type, no blinded key */
#define HS_DESC_ERR_EXPIRED  (-11) /* cert expired at `now` */
#define HS_DESC_ERR_WRONG_KEY (-12) /* cert signed by another blinded key */
#define HS_DESC_ERR_VERSION  (-13) /* hs-descriptor version other than 3 */

/** A verified outer layer.  Read-only for callers. */
typedef struct hs_desc_outer_t {
  uint32_t version;                     /* 3 */
  uint32_t lifetime_min;                /* descriptor-lifetime, minutes */
  ed25519_public_key_t signing_key;     /* descriptor signing key (certified) */
  ed25519_public_key_t blinded_key;     /* the cert's signer */
  time_t cert_expiry;                   /* unix time the cert expires */
  uint64_t revision_counter;
  uint8_t *superencrypted;              /* decoded MESSAGE object, owned */
  size_t superencrypted_len;
} hs_desc_outer_t;

/** Parse and verify the descriptor s[0..len) (need not be NUL-terminated).
 * max_len is the size limit (0: HS_DESC_MAX_LEN).  blinded_key: the key the
 * caller expects, or NULL to take it from the cert (an HSDir).  now: the
 * cert must not have expired.  *out: new descriptor, caller frees with
 * hs_desc_outer_free().  0 or a negative DIRPARSE_ERR_* / HS_DESC_ERR_*; err
 * (may be NULL) says why. */
int hs_desc_outer_parse(const char *s, size_t len, size_t max_len,
                        const ed25519_public_key_t *blinded_key, time_t now,
                        hs_desc_outer_t **out, netdoc_err_t *err);

/** Build a signed descriptor: a descriptor-signing-key cert for signing->pub
 * signed by blinded (expiring now + cert_lifetime, rounded up to the hour),
 * the revision counter, lifetime_min (30..720) and the blob (at least
 * HS_DESC_BLOB_MIN_LEN bytes), signed by signing.  *out: new NUL-terminated
 * document of *outlen bytes (without the NUL), caller frees with al_free().
 * 0, DIRPARSE_ERR_ARG or DIRPARSE_ERR_LIMIT (over HS_DESC_MAX_LEN). */
int hs_desc_outer_build(char **out, size_t *outlen, const ed25519_keypair_t *blinded,
                        const ed25519_keypair_t *signing, time_t now, time_t cert_lifetime,
                        uint64_t revision_counter, uint32_t lifetime_min,
                        const uint8_t *blob, size_t blob_len);

void hs_desc_outer_free_(hs_desc_outer_t *d);
#define hs_desc_outer_free(p) do { hs_desc_outer_free_(p); (p) = NULL; } while (0)

#endif
