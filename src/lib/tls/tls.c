/* tls.c -- TLS contexts and sessions for tor's link protocol (tor-spec.txt
 * section 2 "Connections", 2.2 "TLS security considerations") over
 * OpenSSL 3.  See include/allium/lib/tls/tls.h. */
#include "allium/lib/tls/tls.h"

#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#define LOG_MODULE "tls"
#include "allium/lib/log/log.h"

struct tls_context_t {
  SSL_CTX *ctx;
  int is_server;
  uint8_t *link_der;
  size_t link_der_len;
  uint8_t *id_der;
  size_t id_der_len;
};

struct tls_conn_t {
  SSL *ssl;
  int is_server;
};

/* ---- key conversion ---- */

/** EVP_PKEY (private) from an rsa_key_t via its PKCS#1 DER. */
static EVP_PKEY *pkey_from_rsa_private(const rsa_key_t *k)
{
  uint8_t *der = NULL;
  size_t len = 0;
  if (rsa_key_private_to_der(k, &der, &len) < 0)
    return NULL;
  const unsigned char *p = der;
  EVP_PKEY *pk = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
  al_free_secret(der, len);
  return pk;
}

/** EVP_PKEY (public) from an rsa_key_t via its PKCS#1 DER. */
static EVP_PKEY *pkey_from_rsa_public(const rsa_key_t *k)
{
  uint8_t *der = NULL;
  size_t len = 0;
  if (rsa_key_public_to_der(k, &der, &len) < 0)
    return NULL;
  const unsigned char *p = der;
  EVP_PKEY *pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
  al_free(der);
  return pk;
}

/** rsa_key_t (public) from an RSA EVP_PKEY; NULL if not RSA. */
static rsa_key_t *rsa_from_pkey_public(const EVP_PKEY *pk)
{
  if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
    return NULL;
  unsigned char *der = NULL;
  int n = i2d_PublicKey(pk, &der);
  if (n <= 0)
    return NULL;
  rsa_key_t *k = rsa_key_public_from_der(der, (size_t)n);
  OPENSSL_free(der);
  return k;
}

/* ---- certificate generation ---- */

/** "www.<random a-z2-7>.<tld>" into a new string. */
static char *random_hostname(const char *tld)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  size_t n = 8 + (size_t)crypto_rand_uint64(13);   /* 8..20 characters */
  uint8_t r[20];
  char mid[21];
  crypto_rand(r, sizeof(r));
  for (size_t i = 0; i < n; i++)
    mid[i] = alphabet[r[i] & 31];
  mid[n] = '\0';
  return al_asprintf("www.%s.%s", mid, tld);
}

static X509_NAME *name_with_cn(const char *cn)
{
  X509_NAME *name = X509_NAME_new();
  if (!name)
    return NULL;
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  (const unsigned char *)cn, -1, -1, 0)) {
    X509_NAME_free(name);
    return NULL;
  }
  return name;
}

/** A v3 X.509 certificate for subject_key signed by issuer_key with
 * SHA-256, random 64-bit serial.  NULL on failure. */
static X509 *cert_build(EVP_PKEY *subject_key, const char *subject_cn,
                        EVP_PKEY *issuer_key, const char *issuer_cn,
                        time_t not_before, time_t not_after)
{
  X509 *x = X509_new();
  X509_NAME *sn = name_with_cn(subject_cn), *in = name_with_cn(issuer_cn);
  BIGNUM *serial_bn = NULL;
  uint8_t serial[8];
  int ok = 0;
  if (!x || !sn || !in)
    goto done;
  crypto_rand(serial, sizeof(serial));
  serial[0] &= 0x7f;
  serial_bn = BN_bin2bn(serial, sizeof(serial), NULL);
  if (!serial_bn || !BN_to_ASN1_INTEGER(serial_bn, X509_get_serialNumber(x)))
    goto done;
  if (!X509_set_version(x, 2) || !X509_set_subject_name(x, sn) ||
      !X509_set_issuer_name(x, in) || !X509_set_pubkey(x, subject_key))
    goto done;
  if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &not_before) ||
      !X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &not_after))
    goto done;
  if (!X509_sign(x, issuer_key, EVP_sha256()))
    goto done;
  ok = 1;
done:
  BN_free(serial_bn);
  X509_NAME_free(sn);
  X509_NAME_free(in);
  if (!ok) {
    X509_free(x);
    x = NULL;
  }
  return x;
}

static int cert_to_der(X509 *x, uint8_t **der, size_t *len)
{
  unsigned char *buf = NULL;
  int n = i2d_X509(x, &buf);
  if (n <= 0)
    return -1;
  *der = al_memdup(buf, (size_t)n);
  *len = (size_t)n;
  OPENSSL_free(buf);
  return 0;
}

/* ---- contexts ---- */

static SSL_CTX *ctx_base(int is_server)
{
  SSL_CTX *ctx = SSL_CTX_new(is_server ? TLS_server_method()
                                       : TLS_client_method());
  if (!ctx)
    return NULL;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* tor-spec 2.2: no resumption, no compression. */
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION |
                           SSL_OP_NO_RENEGOTIATION |
                           SSL_OP_IGNORE_UNEXPECTED_EOF |
                           SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* Read-ahead: one read(2) takes every record the socket holds (up to
   * TLS_READ_BUFFER_LEN bytes) instead of a header and a body per record.
   * Whoever drives the session must then check tls_conn_pending(). */
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER_LEN);
  /* Only ephemeral key exchange (tor-spec 2.1). */
  if (!SSL_CTX_set_cipher_list(ctx, "ECDHE:DHE:!aNULL:!eNULL:!RC4:!3DES:"
                                    "!MD5:!SHA1:!CAMELLIA:!ARIA:@STRENGTH"))
    log_info("could not restrict the TLS 1.2 cipher list");
  return ctx;
}

tls_context_t *tls_context_new_client(void)
{
  SSL_CTX *ctx = ctx_base(0);
  if (!ctx)
    return NULL;
  tls_context_t *t = al_calloc(1, sizeof(*t));
  t->ctx = ctx;
  return t;
}

/** Build the identity and link certificates and install the link key. */
static int server_install_certs(tls_context_t *t, EVP_PKEY *idk,
                                EVP_PKEY *linkk, time_t now,
                                time_t lifetime)
{
  char *id_cn = random_hostname("net"), *link_cn = random_hostname("com");
  /* Start a little in the past (random up to a day) so a peer whose clock
   * is slightly behind accepts the certificates. */
  time_t start = now - 3600 - (time_t)crypto_rand_uint64(23 * 3600);
  X509 *idc = cert_build(idk, id_cn, idk, id_cn, start,
                         now + TLS_ID_CERT_LIFETIME);
  X509 *lc = cert_build(linkk, link_cn, idk, id_cn, start, now + lifetime);
  int r = -1;
  if (!idc || !lc)
    goto done;
  if (SSL_CTX_use_certificate(t->ctx, lc) != 1 ||
      SSL_CTX_use_PrivateKey(t->ctx, linkk) != 1 ||
      SSL_CTX_check_private_key(t->ctx) != 1)
    goto done;
  if (cert_to_der(idc, &t->id_der, &t->id_der_len) < 0 ||
      cert_to_der(lc, &t->link_der, &t->link_der_len) < 0)
    goto done;
  r = 0;
done:
  X509_free(idc);
  X509_free(lc);
  al_free(id_cn);
  al_free(link_cn);
  return r;
}

tls_context_t *tls_context_new_server(const rsa_key_t *identity, int link_bits,
                                      time_t now, time_t link_lifetime)
{
  if (!identity || !rsa_key_is_private(identity))
    return NULL;
  if (link_bits <= 0)
    link_bits = 2048;
  if (link_lifetime <= 0)
    link_lifetime = TLS_LINK_CERT_LIFETIME;
  EVP_PKEY *idk = pkey_from_rsa_private(identity);
  EVP_PKEY *linkk = EVP_RSA_gen((unsigned)link_bits);
  SSL_CTX *ctx = ctx_base(1);
  tls_context_t *t = NULL;
  if (!idk || !linkk || !ctx)
    goto fail;
  t = al_calloc(1, sizeof(*t));
  t->ctx = ctx;
  ctx = NULL;
  t->is_server = 1;
  if (server_install_certs(t, idk, linkk, now, link_lifetime) < 0)
    goto fail;
  EVP_PKEY_free(idk);
  EVP_PKEY_free(linkk);
  return t;
fail:
  log_warn("could not create a TLS server context");
  EVP_PKEY_free(idk);
  EVP_PKEY_free(linkk);
  SSL_CTX_free(ctx);
  tls_context_free(t);
  return NULL;
}

void tls_context_free_(tls_context_t *t)
{
  if (!t)
    return;
  SSL_CTX_free(t->ctx);
  al_free(t->link_der);
  al_free(t->id_der);
  al_free(t);
}

const uint8_t *tls_context_link_cert_der(const tls_context_t *t, size_t *len)
{
  *len = t->link_der_len;
  return t->link_der;
}

const uint8_t *tls_context_id_cert_der(const tls_context_t *t, size_t *len)
{
  *len = t->id_der_len;
  return t->id_der;
}

/* ---- sessions ---- */

tls_conn_t *tls_conn_new(tls_context_t *t, int is_server)
{
  if (!t || (is_server && !t->is_server))
    return NULL;
  SSL *ssl = SSL_new(t->ctx);
  if (!ssl)
    return NULL;
  if (is_server)
    SSL_set_accept_state(ssl);
  else
    SSL_set_connect_state(ssl);
  tls_conn_t *c = al_calloc(1, sizeof(*c));
  c->ssl = ssl;
  c->is_server = is_server;
  return c;
}

void tls_conn_free_(tls_conn_t *c)
{
  if (!c)
    return;
  SSL_free(c->ssl);
  al_free(c);
}

int tls_conn_set_fd(tls_conn_t *c, int fd)
{
  return SSL_set_fd(c->ssl, fd) == 1 ? 0 : -1;
}

/** Map an SSL_* return value to our result codes. */
static int map_ssl_result(tls_conn_t *c, int r)
{
  int e = SSL_get_error(c->ssl, r);
  switch (e) {
  case SSL_ERROR_WANT_READ:
    return TLS_WANT_READ;
  case SSL_ERROR_WANT_WRITE:
    return TLS_WANT_WRITE;
  case SSL_ERROR_ZERO_RETURN:
    return TLS_CLOSED;
  default: {
    unsigned long code = ERR_get_error();
    char buf[256];
    if (code) {
      ERR_error_string_n(code, buf, sizeof(buf));
      log_info("TLS error: %s", buf);
    }
    ERR_clear_error();
    return e == SSL_ERROR_SYSCALL && !code ? TLS_CLOSED : TLS_ERR;
  }
  }
}

int tls_conn_handshake(tls_conn_t *c)
{
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1)
    return TLS_OK;
  return map_ssl_result(c, r);
}

int tls_conn_read(tls_conn_t *c, uint8_t *buf, size_t len, size_t *n)
{
  *n = 0;
  ERR_clear_error();
  int r = SSL_read_ex(c->ssl, buf, len, n);
  if (r == 1)
    return TLS_OK;
  return map_ssl_result(c, r);
}

int tls_conn_write(tls_conn_t *c, const uint8_t *buf, size_t len, size_t *n)
{
  *n = 0;
  ERR_clear_error();
  int r = SSL_write_ex(c->ssl, buf, len, n);
  if (r == 1)
    return TLS_OK;
  return map_ssl_result(c, r);
}

int tls_conn_pending(const tls_conn_t *c)
{
  return SSL_has_pending(c->ssl);
}

int tls_conn_release_buffers(tls_conn_t *c)
{
  return SSL_free_buffers(c->ssl) == 1 ? 0 : -1;
}

struct ssl_st *tls_conn_ssl_ref(tls_conn_t *c)
{
  if (SSL_up_ref(c->ssl) != 1)
    return NULL;
  return c->ssl;
}

struct ssl_st *tls_conn_ssl(tls_conn_t *c)
{
  return c->ssl;
}

int tls_conn_peer_cert_der(const tls_conn_t *c, uint8_t **der, size_t *len)
{
  X509 *x = SSL_get1_peer_certificate(c->ssl);
  if (!x)
    return -1;
  int r = cert_to_der(x, der, len);
  X509_free(x);
  return r;
}

int tls_conn_own_cert_der(const tls_conn_t *c, uint8_t **der, size_t *len)
{
  X509 *x = SSL_get_certificate(c->ssl);   /* borrowed */
  if (!x)
    return -1;
  return cert_to_der(x, der, len);
}

int tls_conn_export_keying_material(const tls_conn_t *c, uint8_t *out,
                                    size_t outlen, const char *label,
                                    const uint8_t *context, size_t ctxlen)
{
  static const uint8_t empty[1] = {0};
  int r = SSL_export_keying_material(c->ssl, out, outlen, label,
                                     strlen(label),
                                     context ? context : empty, ctxlen, 1);
  return r == 1 ? 0 : -1;
}

const char *tls_conn_version_name(const tls_conn_t *c)
{
  return SSL_get_version(c->ssl);
}

const char *tls_conn_cipher_name(const tls_conn_t *c)
{
  const char *n = SSL_get_cipher_name(c->ssl);
  return n ? n : "(none)";
}

/* ---- X.509 checks ---- */

int tls_x509_check_rsa_id_cert(const uint8_t *der, size_t len, time_t now,
                               int bits, rsa_key_t **key_out,
                               const char **why)
{
  const char *dummy;
  if (!why)
    why = &dummy;
  *key_out = NULL;
  if (!der || len == 0 || len > INT_MAX) {
    *why = "empty certificate";
    return -1;
  }
  const unsigned char *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)len);
  int r = -1;
  if (!x || p != der + len) {
    *why = "malformed X.509 certificate";
    goto done;
  }
  EVP_PKEY *pk = X509_get0_pubkey(x);
  if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
    *why = "identity certificate key is not RSA";
    goto done;
  }
  if (bits && EVP_PKEY_get_bits(pk) != bits) {
    *why = "identity key has the wrong size";
    goto done;
  }
  if (X509_verify(x, pk) != 1) {
    *why = "identity certificate is not correctly self-signed";
    goto done;
  }
  time_t future = now + 24 * 3600;
  if (X509_cmp_time(X509_get0_notBefore(x), &future) >= 0) {
    *why = "identity certificate is not yet valid";
    goto done;
  }
  if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
    *why = "identity certificate has expired";
    goto done;
  }
  rsa_key_t *k = rsa_from_pkey_public(pk);
  if (!k || !rsa_key_exponent_is_65537(k)) {
    rsa_key_free(k);
    *why = "identity key is unusable";
    goto done;
  }
  *key_out = k;
  r = 0;
done:
  ERR_clear_error();
  X509_free(x);
  return r;
}

int tls_x509_make_cert(const rsa_key_t *subject, const rsa_key_t *issuer,
                       time_t not_before, time_t not_after,
                       uint8_t **der, size_t *len)
{
  EVP_PKEY *sk = pkey_from_rsa_public(subject);
  EVP_PKEY *ik = pkey_from_rsa_private(issuer);
  int r = -1;
  char *cn = random_hostname("net");
  if (sk && ik) {
    X509 *x = cert_build(sk, cn, ik, cn, not_before, not_after);
    if (x)
      r = cert_to_der(x, der, len);
    X509_free(x);
  }
  al_free(cn);
  EVP_PKEY_free(sk);
  EVP_PKEY_free(ik);
  return r;
}
