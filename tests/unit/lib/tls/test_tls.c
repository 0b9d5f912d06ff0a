/* test_tls.c -- TLS contexts and sessions for the link protocol (tor-spec
 * section 2): a client and a server over a socketpair, certificate DER
 * access, the RFC 5705 exporter, and the X.509 identity-certificate check
 * used for CERTS cells (tor-spec 4.2). */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/tls/tls.h"

static rsa_key_t *ID;
static time_t NOW;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  NOW = time(NULL);
  ID = rsa_key_generate(1024);
  cr_assert_not_null(ID);
}

static void teardown(void)
{
  rsa_key_free(ID);
}

TestSuite(tls, .init = setup, .fini = teardown);

typedef struct pair_t {
  tls_context_t *cctx, *sctx;
  tls_conn_t *c, *s;
  int fds[2];
} pair_t;

static void pair_open(pair_t *p)
{
  p->cctx = tls_context_new_client();
  p->sctx = tls_context_new_server(ID, 0, NOW, 0);
  cr_assert_not_null(p->cctx);
  cr_assert_not_null(p->sctx);
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
  for (int i = 0; i < 2; i++)
    fcntl(p->fds[i], F_SETFL, fcntl(p->fds[i], F_GETFL) | O_NONBLOCK);
  p->c = tls_conn_new(p->cctx, 0);
  p->s = tls_conn_new(p->sctx, 1);
  cr_assert_not_null(p->c);
  cr_assert_not_null(p->s);
  cr_assert_eq(tls_conn_set_fd(p->c, p->fds[0]), 0);
  cr_assert_eq(tls_conn_set_fd(p->s, p->fds[1]), 0);
  int rc = TLS_WANT_READ, rs = TLS_WANT_READ;
  for (int i = 0; i < 100 && (rc != TLS_OK || rs != TLS_OK); i++) {
    if (rc != TLS_OK)
      rc = tls_conn_handshake(p->c);
    if (rs != TLS_OK)
      rs = tls_conn_handshake(p->s);
    cr_assert_geq(rc, 0);
    cr_assert_geq(rs, 0);
  }
  cr_assert_eq(rc, TLS_OK);
  cr_assert_eq(rs, TLS_OK);
}

static void pair_close(pair_t *p)
{
  tls_conn_free(p->c);
  tls_conn_free(p->s);
  cr_assert_null(p->c);
  close(p->fds[0]);
  close(p->fds[1]);
  tls_context_free(p->cctx);
  tls_context_free(p->sctx);
}

/** Read exactly len bytes from c (pumping the other side's pending writes
 * is not needed: the socketpair buffers them). */
static void read_all(tls_conn_t *c, uint8_t *buf, size_t len)
{
  size_t got = 0;
  for (int i = 0; i < 1000 && got < len; i++) {
    size_t n = 0;
    int r = tls_conn_read(c, buf + got, len - got, &n);
    cr_assert_geq(r, 0);
    got += n;
  }
  cr_assert_eq(got, len);
}

Test(tls, handshake_certs_and_data)
{
  pair_t p;
  uint8_t *der = NULL, *own = NULL;
  size_t len = 0, own_len = 0, link_len, id_len;
  pair_open(&p);
  const uint8_t *link = tls_context_link_cert_der(p.sctx, &link_len);
  const uint8_t *id = tls_context_id_cert_der(p.sctx, &id_len);
  cr_assert_not_null(link);
  cr_assert_not_null(id);
  /* The client sees the server's link certificate. */
  cr_assert_eq(tls_conn_peer_cert_der(p.c, &der, &len), 0);
  cr_assert_eq(len, link_len);
  cr_assert_arr_eq(der, link, len);
  cr_assert_eq(tls_conn_own_cert_der(p.s, &own, &own_len), 0);
  cr_assert_eq(own_len, link_len);
  cr_assert_arr_eq(own, link, own_len);
  al_free(der);
  al_free(own);
  /* The client presents nothing. */
  cr_assert_eq(tls_conn_peer_cert_der(p.s, &der, &len), -1);
  cr_assert_eq(tls_conn_own_cert_der(p.c, &der, &len), -1);
  cr_assert_str_eq(tls_conn_version_name(p.c), "TLSv1.3");
  cr_assert_str_neq(tls_conn_cipher_name(p.c), "(none)");
  /* Data both ways. */
  uint8_t msg[3000], got[3000];
  size_t n;
  for (size_t i = 0; i < sizeof(msg); i++)
    msg[i] = (uint8_t)(i * 7);
  cr_assert_eq(tls_conn_write(p.c, msg, sizeof(msg), &n), TLS_OK);
  cr_assert_eq(n, sizeof(msg));
  read_all(p.s, got, sizeof(got));
  cr_assert_arr_eq(got, msg, sizeof(msg));
  cr_assert_eq(tls_conn_write(p.s, msg, 10, &n), TLS_OK);
  read_all(p.c, got, 10);
  cr_assert_arr_eq(got, msg, 10);
  /* Nothing more to read. */
  cr_assert_eq(tls_conn_read(p.c, got, 1, &n), TLS_WANT_READ);
  pair_close(&p);
}

Test(tls, exporter_agrees)
{
  pair_t p;
  uint8_t a[32], b[32], c[32], ctx1[32], ctx2[32];
  memset(ctx1, 1, sizeof(ctx1));
  memset(ctx2, 2, sizeof(ctx2));
  pair_open(&p);
  cr_assert_eq(tls_conn_export_keying_material(p.c, a, 32,
               TLS_EXPORTER_LABEL_AUTH0003, ctx1, 32), 0);
  cr_assert_eq(tls_conn_export_keying_material(p.s, b, 32,
               TLS_EXPORTER_LABEL_AUTH0003, ctx1, 32), 0);
  cr_assert_arr_eq(a, b, 32);
  cr_assert_eq(tls_conn_export_keying_material(p.s, c, 32,
               TLS_EXPORTER_LABEL_AUTH0003, ctx2, 32), 0);
  cr_assert_arr_neq(a, c, 32);
  cr_assert_eq(tls_conn_export_keying_material(p.s, c, 32, "OTHER LABEL",
                                               ctx1, 32), 0);
  cr_assert_arr_neq(a, c, 32);
  pair_close(&p);
}

Test(tls, ssl_ref_and_bad_use)
{
  tls_context_t *cctx = tls_context_new_client();
  size_t len;
  cr_assert_null(tls_context_link_cert_der(cctx, &len));
  cr_assert_eq(len, 0);
  cr_assert_null(tls_conn_new(cctx, 1));   /* no server certs */
  tls_conn_t *c = tls_conn_new(cctx, 0);
  struct ssl_st *ssl = tls_conn_ssl_ref(c);
  cr_assert_eq(ssl, tls_conn_ssl(c));
  tls_conn_free(c);                         /* our reference remains */
  cr_assert_not_null(ssl);
  SSL_free(ssl);
  rsa_key_t *pub = rsa_key_public_copy(ID);
  cr_assert_null(tls_context_new_server(pub, 0, NOW, 0));
  rsa_key_free(pub);
  tls_context_free(cctx);
  tls_context_free(cctx);                   /* NULL is fine */
}

/* ---- identity certificate checks ---- */

Test(tls, id_cert_good)
{
  tls_context_t *s = tls_context_new_server(ID, 0, NOW, 0);
  size_t len;
  const uint8_t *der = tls_context_id_cert_der(s, &len);
  rsa_key_t *k = NULL;
  const char *why = NULL;
  uint8_t fp1[20], fp2[20];
  cr_assert_eq(tls_x509_check_rsa_id_cert(der, len, NOW, 1024, &k, &why), 0,
               "%s", why);
  cr_assert(rsa_key_public_eq(k, ID));
  cr_assert_not(rsa_key_is_private(k));
  cr_assert_eq(rsa_key_fingerprint(k, fp1), 0);
  cr_assert_eq(rsa_key_fingerprint(ID, fp2), 0);
  cr_assert_arr_eq(fp1, fp2, 20);
  rsa_key_free(k);
  /* The link certificate is issued by the identity, not self-signed, and
   * its key is 2048 bits. */
  der = tls_context_link_cert_der(s, &len);
  cr_assert_eq(tls_x509_check_rsa_id_cert(der, len, NOW, 0, &k, &why), -1);
  cr_assert_null(k);
  tls_context_free(s);
}

static void expect_bad(const uint8_t *der, size_t len, time_t now, int bits,
                       const char *part)
{
  rsa_key_t *k = (rsa_key_t *)1;
  const char *why = "";
  cr_assert_eq(tls_x509_check_rsa_id_cert(der, len, now, bits, &k, &why), -1);
  cr_assert_null(k);
  cr_assert(strstr(why, part), "reason: %s", why);
}

Test(tls, id_cert_bad)
{
  uint8_t *der;
  size_t len;
  /* Expired an hour ago. */
  cr_assert_eq(tls_x509_make_cert(ID, ID, NOW - 86400, NOW - 3600, &der,
                                  &len), 0);
  expect_bad(der, len, NOW, 1024, "expired");
  al_free(der);
  /* Valid only from two days in the future. */
  cr_assert_eq(tls_x509_make_cert(ID, ID, NOW + 2 * 86400, NOW + 9 * 86400,
                                  &der, &len), 0);
  expect_bad(der, len, NOW, 1024, "not yet valid");
  al_free(der);
  /* Signed by another key. */
  rsa_key_t *other = rsa_key_generate(1024);
  cr_assert_eq(tls_x509_make_cert(ID, other, NOW - 60, NOW + 86400, &der,
                                  &len), 0);
  expect_bad(der, len, NOW, 1024, "self-signed");
  al_free(der);
  rsa_key_free(other);
  /* Right cert, wrong size asked for; trailing byte; truncated; garbage. */
  cr_assert_eq(tls_x509_make_cert(ID, ID, NOW - 60, NOW + 86400, &der, &len),
               0);
  expect_bad(der, len, NOW, 2048, "wrong size");
  uint8_t *longer = al_malloc(len + 1);
  memcpy(longer, der, len);
  longer[len] = 0;
  expect_bad(longer, len + 1, NOW, 1024, "malformed");
  expect_bad(der, len - 1, NOW, 1024, "malformed");
  expect_bad(der, 0, NOW, 1024, "empty");
  expect_bad(NULL, 10, NOW, 1024, "empty");
  memset(longer, 0x30, len);
  expect_bad(longer, len, NOW, 1024, "malformed");
  al_free(longer);
  al_free(der);
}
