/* tls.h -- TLS for tor's link protocol (tor-spec.txt section 2,
 * "Connections"; the v3 "in-protocol" handshake) over OpenSSL 3.
 *
 * The initiator (client) sends no certificate and accepts any server
 * certificate: the responder is authenticated afterwards, inside the tor
 * protocol, by the CERTS cell (tor-spec 4.2), which certifies the SHA-256
 * of the DER of the TLS certificate the server presented.
 *
 * A server context holds, like a tor relay:
 *   - a self-signed X.509 "identity" certificate of the RSA-1024 identity
 *     key (CERTS cell type 2),
 *   - a short-lived RSA-2048 link key and an X.509 link certificate for it,
 *     issued under the identity certificate's name and signed by the
 *     identity key (presented in TLS; CERTS cell type 1 if anyone wants it).
 * The DNs are random "www.<random>.net/.com" names carrying nothing
 * tor-specific (tor-spec 2: certificates sent in the clear SHOULD NOT
 * identify the host as a relay).
 *
 * Session resumption and compression are disabled (tor-spec 2.2).
 *
 * A tls_conn_t is one TLS session.  Drive it yourself over a non-blocking
 * socket (tls_conn_set_fd + handshake/read/write, which return
 * TLS_WANT_READ / TLS_WANT_WRITE; sessions read ahead, see
 * tls_conn_pending()), as core/channel does, or hand its SSL object to
 * libevent's bufferevent_openssl with tls_conn_ssl_ref().
 */
#ifndef ALLIUM_LIB_TLS_TLS_H
#define ALLIUM_LIB_TLS_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/lib/crypto/rsa.h"

struct ssl_st;

typedef struct tls_context_t tls_context_t;
typedef struct tls_conn_t tls_conn_t;

/** Results of the non-blocking calls (errors are negative). */
#define TLS_OK 0
#define TLS_WANT_READ 1
#define TLS_WANT_WRITE 2
#define TLS_ERR (-1)      /**< protocol or library error */
#define TLS_CLOSED (-2)   /**< the peer closed the TLS session */

/** Default lifetime of a server's link certificate (tor rotates daily-ish). */
#define TLS_LINK_CERT_LIFETIME (2 * 24 * 3600)
/** Lifetime of the self-signed identity certificate. */
#define TLS_ID_CERT_LIFETIME (365 * 24 * 3600)

/** RFC 5705 label used by AUTHENTICATE type 3 (tor-spec 4.4.2). */
#define TLS_EXPORTER_LABEL_AUTH0003 \
  "EXPORTER FOR TOR TLS CLIENT BINDING AUTH0003"

/** A client context: no certificate, no verification of the server's
 * certificate (the CERTS cell does that).  NULL on failure; caller frees. */
tls_context_t *tls_context_new_client(void);

/** A server context for the RSA identity key `identity` (private, normally
 * 1024 bits; not retained): a fresh link key of link_bits bits (0 = 2048)
 * and certificates valid from (about) now for link_lifetime seconds (0 =
 * TLS_LINK_CERT_LIFETIME).  NULL on failure; caller frees. */
tls_context_t *tls_context_new_server(const rsa_key_t *identity, int link_bits,
                                      time_t now, time_t link_lifetime);

/** Sessions made from a context keep what they need of it: a context may be
 * freed (e.g. replaced on link-key rotation) while its sessions run. */
void tls_context_free_(tls_context_t *ctx);
#define tls_context_free(p) do { tls_context_free_(p); (p) = NULL; } while (0)

/** The DER of the server's link (TLS) certificate / of its self-signed
 * identity certificate.  Borrowed (valid until the context is freed);
 * NULL (and *len = 0) for a client context. */
const uint8_t *tls_context_link_cert_der(const tls_context_t *ctx, size_t *len);
const uint8_t *tls_context_id_cert_der(const tls_context_t *ctx, size_t *len);

/** A new session on ctx (which must outlive it); server sessions use the
 * server context.  NULL on failure; caller frees. */
tls_conn_t *tls_conn_new(tls_context_t *ctx, int is_server);
void tls_conn_free_(tls_conn_t *c);
#define tls_conn_free(p) do { tls_conn_free_(p); (p) = NULL; } while (0)

/** Attach a (non-blocking) socket.  The fd stays the caller's. 0 or -1. */
int tls_conn_set_fd(tls_conn_t *c, int fd);
/** Bytes OpenSSL reads from the socket at most in one go (read-ahead). */
#define TLS_READ_BUFFER_LEN (64 * 1024)
/** 1 if the session holds read bytes (records or plaintext) that the
 * socket no longer shows as readable. */
int tls_conn_pending(const tls_conn_t *c);
/** Free the session's record buffers while it holds nothing (an idle
 * connection; they come back on the next read or write).  0, or -1 if
 * they are in use (nothing is freed then). */
int tls_conn_release_buffers(tls_conn_t *c);
/** Step the handshake: TLS_OK when done, TLS_WANT_*, or an error. */
int tls_conn_handshake(tls_conn_t *c);
/** Read up to len bytes; *n gets the count.  TLS_OK (with *n > 0),
 * TLS_WANT_*, TLS_CLOSED or TLS_ERR. */
int tls_conn_read(tls_conn_t *c, uint8_t *buf, size_t len, size_t *n);
/** Write up to len bytes; *n gets how many were taken. */
int tls_conn_write(tls_conn_t *c, const uint8_t *buf, size_t len, size_t *n);

/** The OpenSSL SSL object with an extra reference taken for the caller
 * (e.g. for bufferevent_openssl_socket_new(... BEV_OPT_CLOSE_ON_FREE),
 * which drops it).  The tls_conn_t keeps its own reference. */
struct ssl_st *tls_conn_ssl_ref(tls_conn_t *c);
/** Borrowed SSL object (no new reference). */
struct ssl_st *tls_conn_ssl(tls_conn_t *c);

/** DER of the peer's certificate (after the handshake).  *der: new
 * buffer, caller frees.  0, or -1 when the peer sent none. */
int tls_conn_peer_cert_der(const tls_conn_t *c, uint8_t **der, size_t *len);
/** DER of the certificate we presented (server) into a new buffer; -1 when
 * we presented none (client). */
int tls_conn_own_cert_der(const tls_conn_t *c, uint8_t **der, size_t *len);

/** RFC 5705 exporter: outlen bytes for label and context (context may be
 * NULL with ctxlen 0 -- still "with context" as tor uses it).  0 or -1. */
int tls_conn_export_keying_material(const tls_conn_t *c, uint8_t *out,
                                    size_t outlen, const char *label,
                                    const uint8_t *context, size_t ctxlen);

/** Negotiated protocol ("TLSv1.3") and cipher name; static strings. */
const char *tls_conn_version_name(const tls_conn_t *c);
const char *tls_conn_cipher_name(const tls_conn_t *c);

/* ---- X.509 helpers for the CERTS cell (tor-spec 4.2) ---- */

/** Check an RSA identity certificate (CERTS type 2): DER with nothing after
 * it, self-signed by its own key, valid at now (notBefore may lie up to
 * one day in the future for clock skew; notAfter must not be past), an RSA
 * key of `bits` bits (0 = any) with exponent 65537.  On success *key_out
 * gets the public key (caller frees).  0, or -1 with a static reason in
 * *why (may be NULL). */
int tls_x509_check_rsa_id_cert(const uint8_t *der, size_t len, time_t now,
                               int bits, rsa_key_t **key_out,
                               const char **why);

/** Make a certificate: the public key of `subject` signed by `issuer`
 * (SHA-256, random DNs), valid [not_before, not_after].  Used for the
 * CERTS type 3 "AUTH" certificate and by tests.  DER into a
 * new buffer (caller frees).  0 or -1. */
int tls_x509_make_cert(const rsa_key_t *subject, const rsa_key_t *issuer,
                       time_t not_before, time_t not_after,
                       uint8_t **der, size_t *len);

#endif
