/* link_auth.h -- the body of an AUTHENTICATE cell of type 3,
 * "Ed25519-SHA256-RFC5705" (tor-spec.txt section 4.4.2): an initiating
 * relay proves that it holds the ed25519 authentication key certified by
 * its CERTS cell (type 6), bound to this TLS session and this handshake.
 *
 * Layout of the Authentication field (AuthLen bytes):
 *   TYPE "AUTH0003" [8] | CID [32] | SID [32] | CID_ED [32] | SID_ED [32] |
 *   SLOG [32] | CLOG [32] | SCERT [32] | TLSSECRETS [32] | RAND [24] |
 *   (extra bytes, signed, ignored) | SIG [64]
 * SIG is an ed25519 signature (no prefix) over every byte before it.
 * TLSSECRETS is the TLS exporter (LINK_AUTH3_EXPORTER_LABEL, 32 bytes)
 * with context CID -- what C tor does (torspec issue #270), not CID_ED as
 * the spec text says.
 */
#ifndef ALLIUM_CORE_CHANNEL_LINK_AUTH_H
#define ALLIUM_CORE_CHANNEL_LINK_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/crypto/ed25519.h"

#define LINK_AUTH3_TYPE "AUTH0003"
#define LINK_AUTH3_TYPE_LEN 8
#define LINK_AUTH3_FIELD_LEN 32
#define LINK_AUTH3_RAND_LEN 24
/** TYPE through TLSSECRETS: the part a responder compares. */
#define LINK_AUTH3_FIXED_LEN (LINK_AUTH3_TYPE_LEN + 8 * LINK_AUTH3_FIELD_LEN)
/** Shortest Authentication field: fixed part, RAND and the signature. */
#define LINK_AUTH3_MIN_LEN \
  (LINK_AUTH3_FIXED_LEN + LINK_AUTH3_RAND_LEN + ED25519_SIG_LEN)
/** TLS exporter label (4.4.2); the output is 32 bytes. */
#define LINK_AUTH3_EXPORTER_LABEL \
  "EXPORTER FOR TOR TLS CLIENT BINDING AUTH0003"

/** The fields of an AUTH0003 body. */
typedef struct link_auth3_t {
  uint8_t type[LINK_AUTH3_TYPE_LEN];
  uint8_t cid[32];        /**< SHA256 of the initiator's RSA identity DER */
  uint8_t sid[32];        /**< SHA256 of the responder's RSA identity DER */
  uint8_t cid_ed[32];     /**< initiator's ed25519 identity */
  uint8_t sid_ed[32];     /**< responder's ed25519 identity (or zero) */
  uint8_t slog[32];       /**< SHA256 of what the responder sent */
  uint8_t clog[32];       /**< SHA256 of what the initiator sent */
  uint8_t scert[32];      /**< SHA256 of the responder's TLS certificate */
  uint8_t tlssecrets[32]; /**< RFC 5705 exporter output */
  uint8_t rand[LINK_AUTH3_RAND_LEN];
  uint8_t sig[ED25519_SIG_LEN];
  const uint8_t *signed_part; /**< parse only: view of the signed bytes */
  size_t signed_len;
} link_auth3_t;

/** Parse an Authentication field of len bytes (at least
 * LINK_AUTH3_MIN_LEN; bytes between RAND and SIG are kept in the signed
 * part and otherwise ignored).  out->signed_part points into body.  Does
 * not check TYPE or the signature.  0, or -1 when too short. */
int link_auth3_parse(link_auth3_t *out, const uint8_t *body, size_t len);

/** Encode a's fields (TYPE is set to "AUTH0003", RAND taken from a), sign
 * them with key and write LINK_AUTH3_MIN_LEN bytes to out (outlen at
 * least that).  0 or -1. */
int link_auth3_encode(const link_auth3_t *a, const ed25519_keypair_t *key,
                      uint8_t *out, size_t outlen);

/** Check a parsed body: TYPE through TLSSECRETS must equal `expected`'s
 * (TYPE must be "AUTH0003"), and SIG must verify with auth_key over the
 * signed part.  0, or -1 with a static reason in *why (may be NULL). */
int link_auth3_check(const link_auth3_t *got, const link_auth3_t *expected,
                     const ed25519_public_key_t *auth_key, const char **why);

#endif
