/* link_handshake.h -- the link handshake after TLS, for both roles, as a
 * sans-IO state machine (tor-spec.txt section 4, "Negotiating and
 * initializing connections": 4.1 VERSIONS, 4.2 CERTS, 4.3 AUTH_CHALLENGE,
 * 4.5 NETINFO; the "in-protocol" (v3) handshake of section 2).
 *
 * Initiator (we connect):
 *   send VERSIONS; receive VERSIONS (pick the highest common version),
 *   CERTS (validated against the TLS peer certificate, 4.2), optionally
 *   AUTH_CHALLENGE, NETINFO; send NETINFO (TIME 0); done.
 *   An initiating relay (cfg->creds set) answers an AUTH_CHALLENGE that
 *   offers method 3 with CERTS (types 2, 3, 4, 6, 7), AUTHENTICATE
 *   "AUTH0003" (4.4.2, link_auth.h) and NETINFO (with its clock) at once.
 * Responder (a relay accepting a connection):
 *   receive VERSIONS; send VERSIONS, CERTS (types 1, 2, 4, 5, 7),
 *   AUTH_CHALLENGE (method 3), NETINFO; receive either NETINFO alone (a
 *   client: the peer stays unauthenticated) or CERTS (types 2, 4, 6, 7
 *   checked as 4.2 says; type 3 ignored), AUTHENTICATE of type 3 (every
 *   field and the signature checked) and NETINFO (an authenticated relay:
 *   peer->authenticated with its RSA and ed25519 identities).  Anything
 *   else -- bad certificates, a wrong field, a bad signature, CERTS without
 *   AUTHENTICATE -- fails the handshake.
 * VPADDING is ignored anywhere.  Any other cell is a protocol error.
 *
 * Bytes in: link_handshake_feed() takes the start of the received stream,
 * processes whole cells only and says how many bytes it used; after DONE it
 * stops, so the rest of the stream belongs to the channel.  Bytes out:
 * link_handshake_output() / link_handshake_output_drain().
 */
#ifndef ALLIUM_CORE_CHANNEL_LINK_HANDSHAKE_H
#define ALLIUM_CORE_CHANNEL_LINK_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/core/cell/link_cells.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rsa.h"

typedef enum link_role_t {
  LINK_ROLE_INITIATOR = 0,
  LINK_ROLE_RESPONDER = 1,
} link_role_t;

typedef enum link_state_t {
  LINK_HS_RUNNING = 0,
  LINK_HS_DONE = 1,
  LINK_HS_FAILED = 2,
} link_state_t;

/** Errors (negative) from link_handshake_feed() and the cert checks. */
typedef enum link_err_t {
  LINK_OK = 0,
  LINK_ERR_PROTOCOL = -1,   /**< cell not allowed at this point */
  LINK_ERR_MALFORMED = -2,  /**< a cell does not parse */
  LINK_ERR_VERSION = -3,    /**< no common link protocol version */
  LINK_ERR_CERTS = -4,      /**< CERTS missing/invalid/expired/bad sig */
  LINK_ERR_IDENTITY = -5,   /**< valid certs, but not the expected relay */
  LINK_ERR_INTERNAL = -6,   /**< our side failed (config, encoding) */
  LINK_ERR_STATE = -7,      /**< called after DONE/FAILED */
  LINK_ERR_AUTH = -8,       /**< AUTHENTICATE missing/invalid */
} link_err_t;

/** Static name of a link_err_t. */
const char *link_err_name(int err);

/** Warn when the peer's NETINFO clock differs from ours by more (seconds). */
#define LINK_CLOCK_SKEW_WARN 3600

/** A relay's encoded certificates for its CERTS cells (borrowed).  A
 * responder sends types 1 (when given), 2, 4, 5, 7; an initiating relay
 * sends types 2, 3 (when given), 4, 6, 7 and signs AUTHENTICATE with
 * auth_key.  link_creds.h makes all of them. */
typedef struct link_creds_t {
  const uint8_t *id_cert;      /**< type 2: self-signed RSA identity X.509 */
  size_t id_cert_len;
  const uint8_t *signing_cert; /**< type 4: ed25519 identity -> signing */
  size_t signing_cert_len;
  const uint8_t *link_cert;    /**< type 5: signing -> SHA256(TLS cert) */
  size_t link_cert_len;
  const uint8_t *crosscert;    /**< type 7: RSA identity -> ed25519 identity */
  size_t crosscert_len;
  /* Optional (responder): type 1, the X.509 TLS link certificate. */
  const uint8_t *rsa_link_cert;
  size_t rsa_link_cert_len;
  /* Initiating relay: type 3 (optional), type 6 and the type 6 key. */
  const uint8_t *rsa_auth_cert; /**< type 3: RSA auth key X.509, by identity */
  size_t rsa_auth_cert_len;
  const uint8_t *auth_cert;    /**< type 6: signing -> ed25519 auth key */
  size_t auth_cert_len;
  const ed25519_keypair_t *auth_key; /**< the key type 6 certifies */
} link_creds_t;

/** RFC 5705 exporter of the TLS session (tls_conn_export_keying_material
 * with LINK_AUTH3_EXPORTER_LABEL): outlen bytes for context.  0 or -1. */
typedef int (*link_tls_export_fn)(void *arg, uint8_t *out, size_t outlen,
                                  const uint8_t *context, size_t ctxlen);

/** Make a type 5 certificate: `signing` certifies the SHA-256 of the TLS
 * certificate DER, expiring now + lifetime.  *out: new buffer, caller
 * frees.  0 or LINK_ERR_INTERNAL. */
int link_make_tls_link_cert(uint8_t **out, size_t *outlen,
                            const ed25519_keypair_t *signing,
                            const uint8_t *tls_cert_der, size_t tls_cert_len,
                            time_t now, time_t lifetime);

/** What an initiator learned from a valid CERTS cell. */
typedef struct link_certs_result_t {
  uint8_t rsa_id[DIGEST_SHA1_LEN];     /**< SHA-1 of the RSA identity DER */
  uint8_t rsa_id256[DIGEST_SHA256_LEN]; /**< SHA-256 of it (CID/SID) */
  ed25519_public_key_t ed_id;          /**< ed25519 master identity */
  ed25519_public_key_t ed_signing;     /**< medium-term signing key */
  ed25519_public_key_t ed_auth;        /**< initiator: type 6 auth key */
} link_certs_result_t;

/** Check a responder's CERTS cell as tor-spec 4.2 requires for an
 * Ed25519+RSA identity: exactly one each of types 2, 4, 5, 7; all valid
 * at now and correctly signed; the type 5 cert certifies the SHA-256 of
 * tls_cert_der; RSA-1024 identity; crosscert certifies the ed25519 id.
 * Then, if given, the identities must equal expected_rsa_id (20 bytes) /
 * expected_ed_id.  0, LINK_ERR_CERTS or LINK_ERR_IDENTITY; *why gets a
 * static reason (may be NULL). */
int link_certs_check_responder(const cell_certs_t *certs,
                               const uint8_t *tls_cert_der,
                               size_t tls_cert_len, time_t now,
                               const uint8_t *expected_rsa_id,
                               const ed25519_public_key_t *expected_ed_id,
                               link_certs_result_t *out, const char **why);

/** Check an initiating relay's CERTS cell (tor-spec 4.2, "To
 * authenticate the initiator as having a given Ed25519,RSA identity"):
 * exactly one each of types 2, 4, 6, 7 (type 3 is ignored), valid at now,
 * correctly signed, chained identity -> signing -> auth, RSA-1024 identity
 * cross-certifying the ed25519 identity.  0 or LINK_ERR_CERTS (*why). */
int link_certs_check_initiator(const cell_certs_t *certs, time_t now,
                               link_certs_result_t *out, const char **why);

/** Our own identities from our credentials: SHA-256 of the RSA identity
 * DER (from type 2) and the ed25519 identity (from type 7).  0 or -1. */
int link_creds_identity(const link_creds_t *c, time_t now,
                        uint8_t rsa_id256[DIGEST_SHA256_LEN],
                        ed25519_public_key_t *ed_id);

/** Most peer addresses kept from NETINFO. */
#define LINK_MAX_PEER_ADDRS 8

typedef struct link_config_t {
  link_role_t role;
  /** Wall-clock time for cert checks and NETINFO; 0 = time(NULL). */
  time_t now;
  /* Initiator. */
  const uint8_t *expected_rsa_id;              /**< 20 bytes, or NULL */
  const ed25519_public_key_t *expected_ed_id;  /**< or NULL */
  const uint8_t *tls_peer_cert;   /**< DER of the responder's TLS cert */
  size_t tls_peer_cert_len;
  /* Both: the peer's address as we see it (NETINFO OTHERADDR). */
  cell_addr_t peer_addr;
  /* Responder: certs for CERTS.  Initiator: when set, authenticate as
   * this relay (needs auth_cert, auth_key and tls_export).  Copied. */
  const link_creds_t *creds;
  /* Both, for AUTHENTICATE: the TLS session's exporter. */
  link_tls_export_fn tls_export;
  void *tls_export_arg;
  /* Responder: DER of the TLS certificate we presented (SCERT); when
   * NULL, creds->rsa_link_cert is used. */
  const uint8_t *tls_own_cert;
  size_t tls_own_cert_len;
  uint8_t n_my_addrs;             /**< our advertised addresses */
  cell_addr_t my_addrs[LINK_MAX_PEER_ADDRS];
} link_config_t;

/** What the handshake learned about the peer. */
typedef struct link_peer_t {
  unsigned linkproto;           /**< negotiated link protocol, 0 before */
  int authenticated;            /**< identities below were proven: by
                                     CERTS (their responder) or CERTS +
                                     AUTHENTICATE (their initiator) */
  int we_authenticated;         /**< initiator: we sent AUTHENTICATE */
  uint8_t rsa_id[DIGEST_SHA1_LEN];
  ed25519_public_key_t ed_id;
  uint32_t netinfo_time;        /**< their NETINFO TIME (0 for clients) */
  int64_t clock_skew;           /**< netinfo_time - our now; 0 if TIME 0 */
  cell_addr_t my_addr_seen;     /**< OTHERADDR: how they see us */
  uint8_t n_addrs;              /**< their advertised addresses */
  cell_addr_t addrs[LINK_MAX_PEER_ADDRS];
} link_peer_t;

typedef struct link_handshake_t link_handshake_t;

/** New handshake (the initiator's VERSIONS is queued at once).  The
 * config's buffers are copied.  NULL on a bad config; caller frees. */
link_handshake_t *link_handshake_new(const link_config_t *cfg);
void link_handshake_free_(link_handshake_t *hs);
#define link_handshake_free(p) \
  do { link_handshake_free_(p); (p) = NULL; } while (0)

/** Process whole cells at the start of data[0..len); *consumed gets the
 * bytes used (a partial cell is left for the next call; nothing is used
 * after DONE).  0 or a negative link_err_t (then the state is FAILED). */
int link_handshake_feed(link_handshake_t *hs, const uint8_t *data,
                        size_t len, size_t *consumed);

/** Bytes waiting to be sent (borrowed, valid until the next call). */
const uint8_t *link_handshake_output(const link_handshake_t *hs,
                                     size_t *len);
/** Mark the first n output bytes as sent. */
void link_handshake_output_drain(link_handshake_t *hs, size_t n);

link_state_t link_handshake_state(const link_handshake_t *hs);
/** The error that failed the handshake (0 if none) and a static reason. */
int link_handshake_error(const link_handshake_t *hs, const char **why);
/** Negotiated link protocol (0 before VERSIONS was exchanged). */
unsigned link_handshake_linkproto(const link_handshake_t *hs);
/** What we know about the peer (borrowed). */
const link_peer_t *link_handshake_peer(const link_handshake_t *hs);

#endif
