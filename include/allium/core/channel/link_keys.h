/* link_keys.h -- a relay's short-lived link credentials, made from its
 * long-term keys and rotated on tor's schedule (tor-spec.txt 2 and 4.2,
 * cert-spec.txt 2.1 / A.1):
 *   - a TLS server context: a fresh RSA-2048 link key whose X.509
 *     certificate is signed by the RSA identity key (CERTS type 1), and the
 *     self-signed identity certificate (type 2);
 *   - type 5: the ed25519 signing key certifying SHA256 of that TLS cert;
 *   - type 6: the signing key certifying a fresh ed25519 AUTHENTICATE key
 *     (kept in memory only, like tor's: it is never written to disk);
 *   - type 3: a fresh RSA-1024 "AUTH" key's X.509 certificate signed by the
 *     identity key (sent by initiating relays as tor does; its private key
 *     is dropped at once: AUTHENTICATE type 1 no longer exists);
 *   - type 7: the RSA identity cross-certifying the ed25519 identity;
 *   - type 4 is the caller's (the relay's ed25519_signing_cert).
 *
 * The runtime builds one set at start and a new one when
 * link_keys_should_rotate() says so; channels copy the certificates they
 * use and their TLS sessions hold their own reference to the TLS state,
 * so an old set can be freed while channels made with it keep running.
 *
 * Cost: link_keys_new() generates an RSA-2048 and an RSA-1024 key, about
 * 0.5 s on one core (measured: 554 ms mean over 10).  It touches no shared
 * state, so the relay runtime builds the next set on a worker thread and
 * swaps the pointer on the event loop (feature/relay/relay_link_rotate.c).
 *
 * From the tor-format key files (feature/keys, relay_keys.h):
 *   link_keys_new(relay_keys_identity_rsa(k), relay_keys_master_public(k),
 *                 relay_keys_signing_keypair(k),
 *                 relay_keys_signing_cert_encoded(k, &len), len, now)
 * (tests/link/link_interop.c does exactly this with keys made by tor).
 */
#ifndef ALLIUM_CORE_CHANNEL_LINK_KEYS_H
#define ALLIUM_CORE_CHANNEL_LINK_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/core/channel/link_handshake.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rsa.h"
#include "allium/lib/tls/tls.h"

/** How often a new TLS context (link key) is made: tor regenerates its
 * TLS context every two hours. */
#define LINK_KEYS_TLS_ROTATE_SEC (2 * 3600)
/** Lifetime of the type 5 and type 6 certificates: tor's defaults for
 * TestingLinkCertLifetime and TestingAuthKeyLifetime (2 days). */
#define LINK_KEYS_CERT_LIFETIME (2 * 24 * 3600)
/** Rotate at the latest this long before a certificate expires (tor's
 * TestingLinkKeySlop / TestingAuthKeySlop default, 3 hours). */
#define LINK_KEYS_SLOP_SEC (3 * 3600)
/** Lifetime of the X.509 link certificate itself. */
#define LINK_KEYS_X509_LIFETIME TLS_LINK_CERT_LIFETIME

typedef struct link_keys_t link_keys_t;

/** A fresh set from the relay's long-term keys: identity (RSA-1024,
 * private), the ed25519 identity public key ed_id, the medium-term signing
 * key pair and its type 4 certificate (which must certify signing and be
 * signed by ed_id, valid at now).  Nothing is retained but copies.  NULL
 * on failure (logged). */
link_keys_t *link_keys_new(const rsa_key_t *identity,
                           const ed25519_public_key_t *ed_id,
                           const ed25519_keypair_t *signing,
                           const uint8_t *signing_cert, size_t signing_cert_len,
                           time_t now);
/** Free (wipes the auth key); NULL is fine. */
void link_keys_free_(link_keys_t *k);
#define link_keys_free(p) do { link_keys_free_(p); (p) = NULL; } while (0)

/** The TLS server context (borrowed, lives as long as k). */
tls_context_t *link_keys_tls(const link_keys_t *k);
/** All certificates and the auth key, for channel_accept() and
 * channel_connect() as a relay (borrowed, lives as long as k). */
const link_creds_t *link_keys_creds(const link_keys_t *k);
/** When k was made. */
time_t link_keys_created(const link_keys_t *k);
/** 1 when a new set should replace k at now: the TLS context is
 * LINK_KEYS_TLS_ROTATE_SEC old, or a certificate expires within
 * LINK_KEYS_SLOP_SEC, or the clock went backwards past creation. */
int link_keys_should_rotate(const link_keys_t *k, time_t now);

#endif
