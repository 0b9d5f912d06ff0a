/* test_link_handshake.c -- the sans-IO link handshake (tor-spec 4.1-4.5):
 * an initiator and a responder with fresh keys talking in memory, tampered
 * CERTS cells, malformed and out-of-order cells. */
#include <criterion/criterion.h>

#include <string.h>
#include <time.h>

#include "allium/core/cell/cell.h"
#include "allium/core/channel/link_handshake.h"
#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/tls/tls.h"

#include "core/link/link_fixture.h"

static time_t NOW;
static relay_t R;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  NOW = time(NULL);
  relay_make(&R, NOW);
}

static void teardown(void)
{
  relay_free(&R);
}

TestSuite(link_hs, .init = setup, .fini = teardown);

static void init_cfg(link_config_t *ic, link_config_t *rc, const relay_t *r)
{
  size_t len;
  memset(ic, 0, sizeof(*ic));
  memset(rc, 0, sizeof(*rc));
  ic->role = LINK_ROLE_INITIATOR;
  ic->now = NOW;
  ic->tls_peer_cert = tls_context_link_cert_der(r->tls, &len);
  ic->tls_peer_cert_len = len;
  ic->peer_addr.type = CELL_ADDR_IPV4;
  memcpy(ic->peer_addr.addr, "\x7f\x00\x00\x02", 4);
  rc->role = LINK_ROLE_RESPONDER;
  rc->now = NOW;
  rc->creds = &r->creds;
  rc->peer_addr.type = CELL_ADDR_IPV4;
  memcpy(rc->peer_addr.addr, "\x7f\x00\x00\x01", 4);
  rc->n_my_addrs = 1;
  rc->my_addrs[0] = ic->peer_addr;
}

/* A byte pipe from one side's output to the other's input. */
typedef struct pipe_t {
  uint8_t buf[16384];
  size_t len;
} pipe_t;

/** Move output of `from` into p and feed p to `to`, `chunk` bytes at a
 * time.  Returns the first error of `to` (or 0). */
static int pump(link_handshake_t *from, pipe_t *p, link_handshake_t *to,
                size_t chunk)
{
  size_t n;
  const uint8_t *out = link_handshake_output(from, &n);
  cr_assert_leq(p->len + n, sizeof(p->buf));
  memcpy(p->buf + p->len, out, n);
  link_handshake_output_drain(from, n);
  size_t avail = p->len;
  p->len += n;
  while (avail < p->len || (p->len && chunk == 0)) {
    avail = chunk && avail + chunk < p->len ? avail + chunk : p->len;
    size_t used = 0;
    int r = link_handshake_feed(to, p->buf, avail, &used);
    memmove(p->buf, p->buf + used, p->len - used);
    p->len -= used;
    avail -= used;
    if (r < 0)
      return r;
    if (link_handshake_state(to) == LINK_HS_DONE || chunk == 0)
      break;
  }
  return 0;
}

static void run_pair(link_config_t *ic, link_config_t *rc, size_t chunk,
                     link_handshake_t **pi, link_handshake_t **pr)
{
  pipe_t *a = al_calloc(1, sizeof(*a)), *b = al_calloc(1, sizeof(*b));
  link_handshake_t *i = link_handshake_new(ic), *r = link_handshake_new(rc);
  cr_assert_not_null(i);
  cr_assert_not_null(r);
  for (int round = 0; round < 10; round++) {
    pump(i, a, r, chunk);
    pump(r, b, i, chunk);
    if (link_handshake_state(i) != LINK_HS_RUNNING &&
        link_handshake_state(r) != LINK_HS_RUNNING)
      break;
  }
  al_free(a);
  al_free(b);
  *pi = i;
  *pr = r;
}

static void check_done(link_handshake_t *i, link_handshake_t *r)
{
  const char *why;
  link_handshake_error(i, &why);
  cr_assert_eq(link_handshake_state(i), LINK_HS_DONE, "initiator: %s", why);
  cr_assert_eq(link_handshake_state(r), LINK_HS_DONE);
  cr_assert_eq(link_handshake_linkproto(i), 5);
  cr_assert_eq(link_handshake_linkproto(r), 5);
  const link_peer_t *pi = link_handshake_peer(i), *pr = link_handshake_peer(r);
  cr_assert(pi->authenticated);
  cr_assert_not(pr->authenticated);
  cr_assert_arr_eq(pi->rsa_id, R.rsa_fp, 20);
  cr_assert_arr_eq(pi->ed_id.pubkey, R.ed_id.pub.pubkey, 32);
  cr_assert_eq(pi->netinfo_time, (uint32_t)NOW);
  cr_assert_eq(pi->clock_skew, 0);
  cr_assert_eq(pr->netinfo_time, 0);   /* clients send TIME 0 */
  cr_assert_eq(pi->my_addr_seen.type, CELL_ADDR_IPV4);
  cr_assert_arr_eq(pi->my_addr_seen.addr, "\x7f\x00\x00\x01", 4);
  cr_assert_eq(pi->n_addrs, 1);
  cr_assert_arr_eq(pr->my_addr_seen.addr, "\x7f\x00\x00\x02", 4);
  size_t n;
  link_handshake_output(i, &n);
  cr_assert_eq(n, 0);
}

Test(link_hs, round_trip)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  init_cfg(&ic, &rc, &R);
  ic.expected_rsa_id = R.rsa_fp;
  ic.expected_ed_id = &R.ed_id.pub;
  run_pair(&ic, &rc, 0, &i, &r);
  check_done(i, r);
  link_handshake_free(i);
  link_handshake_free(r);
  cr_assert_null(i);
}

Test(link_hs, round_trip_byte_by_byte)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  init_cfg(&ic, &rc, &R);
  run_pair(&ic, &rc, 1, &i, &r);
  check_done(i, r);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_hs, clock_skew_reported)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  init_cfg(&ic, &rc, &R);
  rc.now = NOW + 7200;   /* responder two hours ahead */
  run_pair(&ic, &rc, 0, &i, &r);
  cr_assert_eq(link_handshake_state(i), LINK_HS_DONE);
  cr_assert_eq(link_handshake_peer(i)->clock_skew, 7200);
  link_handshake_free(i);
  link_handshake_free(r);
}

/** Run a pair expected to fail at the initiator with err; check reason. */
static void expect_initiator_error(link_config_t *ic, link_config_t *rc,
                                   int err, const char *why_part)
{
  link_handshake_t *i, *r;
  const char *why;
  run_pair(ic, rc, 0, &i, &r);
  cr_assert_eq(link_handshake_state(i), LINK_HS_FAILED);
  cr_assert_eq(link_handshake_error(i, &why), err, "got %s: %s",
               link_err_name(link_handshake_error(i, NULL)), why);
  cr_assert(strstr(why, why_part), "reason: %s", why);
  size_t used;
  cr_assert_eq(link_handshake_feed(i, (const uint8_t *)"x", 1, &used), err);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_hs, wrong_tls_cert_digest)
{
  link_config_t ic, rc;
  size_t len;
  init_cfg(&ic, &rc, &R);
  ic.tls_peer_cert = tls_context_id_cert_der(R.tls, &len);  /* not the link */
  ic.tls_peer_cert_len = len;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "TLS certificate");
}

Test(link_hs, wrong_rsa_identity)
{
  link_config_t ic, rc;
  uint8_t fp[20];
  init_cfg(&ic, &rc, &R);
  memcpy(fp, R.rsa_fp, 20);
  fp[19] ^= 1;
  ic.expected_rsa_id = fp;
  expect_initiator_error(&ic, &rc, LINK_ERR_IDENTITY, "RSA identity");
}

Test(link_hs, wrong_ed_identity)
{
  link_config_t ic, rc;
  ed25519_public_key_t other = R.ed_id.pub;
  init_cfg(&ic, &rc, &R);
  other.pubkey[0] ^= 0x80;
  ic.expected_rsa_id = R.rsa_fp;
  ic.expected_ed_id = &other;
  expect_initiator_error(&ic, &rc, LINK_ERR_IDENTITY, "Ed25519 identity");
}

Test(link_hs, expired_link_cert)
{
  link_config_t ic, rc;
  size_t len;
  uint8_t *old = NULL;
  size_t old_len;
  const uint8_t *link = tls_context_link_cert_der(R.tls, &len);
  cr_assert_eq(link_make_tls_link_cert(&old, &old_len, &R.ed_sign, link, len,
                                       NOW - 10 * 86400, 86400), 0);
  link_creds_t creds = R.creds;
  creds.link_cert = old;
  creds.link_cert_len = old_len;
  init_cfg(&ic, &rc, &R);
  rc.creds = &creds;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "expired");
  al_free(old);
}

Test(link_hs, everything_expired_later)
{
  link_config_t ic, rc;
  init_cfg(&ic, &rc, &R);
  ic.now = NOW + 400 * 86400;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "expired");
}

Test(link_hs, crosscert_by_other_rsa_key)
{
  link_config_t ic, rc;
  rsa_key_t *other = rsa_key_generate(1024);
  uint8_t *c7;
  size_t c7_len;
  cr_assert_eq(rsa_crosscert_create(&c7, &c7_len, &R.ed_id.pub, other, NOW,
                                    86400), 0);
  link_creds_t creds = R.creds;
  creds.crosscert = c7;
  creds.crosscert_len = c7_len;
  init_cfg(&ic, &rc, &R);
  rc.creds = &creds;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "cross-certificate");
  al_free(c7);
  rsa_key_free(other);
}

Test(link_hs, signing_cert_from_other_identity)
{
  link_config_t ic, rc;
  ed25519_keypair_t other;
  torcert_t *c4 = NULL;
  cr_assert_eq(ed25519_keypair_generate(&other), 0);
  cr_assert_eq(torcert_create(&c4, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                              R.ed_sign.pub.pubkey, &other, NOW, 86400, 1), 0);
  link_creds_t creds = R.creds;
  creds.signing_cert = c4->encoded;
  creds.signing_cert_len = c4->encoded_len;
  init_cfg(&ic, &rc, &R);
  rc.creds = &creds;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "type 4");
  torcert_free(c4);
}

Test(link_hs, link_cert_by_other_signing_key)
{
  link_config_t ic, rc;
  ed25519_keypair_t other;
  uint8_t *c5;
  size_t c5_len, len;
  const uint8_t *link = tls_context_link_cert_der(R.tls, &len);
  cr_assert_eq(ed25519_keypair_generate(&other), 0);
  cr_assert_eq(link_make_tls_link_cert(&c5, &c5_len, &other, link, len, NOW,
                                       86400), 0);
  link_creds_t creds = R.creds;
  creds.link_cert = c5;
  creds.link_cert_len = c5_len;
  init_cfg(&ic, &rc, &R);
  rc.creds = &creds;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "badly signed");
  al_free(c5);
}

Test(link_hs, id_cert_not_1024_bits)
{
  link_config_t ic, rc;
  rsa_key_t *big = rsa_key_generate(2048);
  uint8_t *der;
  size_t len;
  cr_assert_eq(tls_x509_make_cert(big, big, NOW - 3600, NOW + 86400, &der,
                                  &len), 0);
  link_creds_t creds = R.creds;
  creds.id_cert = der;
  creds.id_cert_len = len;
  init_cfg(&ic, &rc, &R);
  rc.creds = &creds;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "wrong size");
  al_free(der);
  rsa_key_free(big);
}

Test(link_hs, id_cert_corrupted)
{
  link_config_t ic, rc;
  link_creds_t creds = R.creds;
  uint8_t *der = al_memdup(creds.id_cert, creds.id_cert_len);
  der[creds.id_cert_len - 10] ^= 0x01;  /* inside the signature */
  creds.id_cert = der;
  init_cfg(&ic, &rc, &R);
  rc.creds = &creds;
  expect_initiator_error(&ic, &rc, LINK_ERR_CERTS, "self-signed");
  al_free(der);
}

/* ---- direct CERTS checks: missing types ---- */

Test(link_hs, certs_missing_each_type)
{
  static const uint8_t types[4] = { 2, 4, 5, 7 };
  const uint8_t *bodies[4] = { R.creds.id_cert, R.c4, R.c5, R.c7 };
  size_t lens[4] = { R.creds.id_cert_len, R.c4_len, R.c5_len, R.c7_len };
  size_t tlen;
  const uint8_t *tls = tls_context_link_cert_der(R.tls, &tlen);
  for (int skip = -1; skip < 4; skip++) {
    cell_certs_t *cc = al_calloc(1, sizeof(*cc));
    for (int k = 0; k < 4; k++) {
      if (k == skip)
        continue;
      cc->certs[cc->n].type = types[k];
      cc->certs[cc->n].len = (uint16_t)lens[k];
      cc->certs[cc->n].body = bodies[k];
      cc->n++;
    }
    link_certs_result_t res;
    const char *why;
    int r = link_certs_check_responder(cc, tls, tlen, NOW, NULL, NULL, &res,
                                       &why);
    if (skip < 0) {
      cr_assert_eq(r, 0, "%s", why);
      cr_assert_arr_eq(res.ed_signing.pubkey, R.ed_sign.pub.pubkey, 32);
    } else {
      cr_assert_eq(r, LINK_ERR_CERTS, "skip type %d", types[skip]);
    }
    al_free(cc);
  }
}

/* ---- malformed and out-of-order cells ---- */

/** A responder fed raw bytes: returns the feed result. */
static int feed_responder(const uint8_t *bytes, size_t len)
{
  link_config_t ic, rc;
  init_cfg(&ic, &rc, &R);
  link_handshake_t *r = link_handshake_new(&rc);
  size_t used;
  int ret = link_handshake_feed(r, bytes, len, &used);
  link_handshake_free(r);
  return ret;
}

Test(link_hs, responder_rejects_bad_first_cells)
{
  /* NETINFO (fixed, 2-byte circ id) as first cell. */
  uint8_t netinfo[512] = { 0, 0, CELL_NETINFO };
  cr_assert_eq(feed_responder(netinfo, sizeof(netinfo)), LINK_ERR_PROTOCOL);
  /* VERSIONS with an odd payload. */
  uint8_t odd[] = { 0, 0, 7, 0, 3, 0, 4, 0 };
  cr_assert_eq(feed_responder(odd, sizeof(odd)), LINK_ERR_MALFORMED);
  /* VERSIONS with only 3: no common version. */
  uint8_t v3[] = { 0, 0, 7, 0, 2, 0, 3 };
  cr_assert_eq(feed_responder(v3, sizeof(v3)), LINK_ERR_VERSION);
  /* VERSIONS on a circuit. */
  uint8_t circ[] = { 0, 5, 7, 0, 2, 0, 4 };
  cr_assert_eq(feed_responder(circ, sizeof(circ)), LINK_ERR_PROTOCOL);
  /* Truncated VERSIONS: just waits. */
  uint8_t part[] = { 0, 0, 7, 0, 4, 0, 4 };
  cr_assert_eq(feed_responder(part, sizeof(part)), 0);
  /* VPADDING then AUTHORIZE then good VERSIONS. */
  uint8_t ok[] = { 0, 0, 128, 0, 1, 0xaa, 0, 0, 132, 0, 0,
                   0, 0, 7, 0, 4, 0, 4, 0, 5 };
  cr_assert_eq(feed_responder(ok, sizeof(ok)), 0);
}

/** Initiator that got the responder's VERSIONS; then feed `bytes`. */
static int feed_initiator_after_versions(const uint8_t *bytes, size_t len)
{
  link_config_t ic, rc;
  init_cfg(&ic, &rc, &R);
  link_handshake_t *i = link_handshake_new(&ic);
  uint8_t v[] = { 0, 0, 7, 0, 4, 0, 4, 0, 5 };
  size_t used;
  cr_assert_eq(link_handshake_feed(i, v, sizeof(v), &used), 0);
  cr_assert_eq(used, sizeof(v));
  cr_assert_eq(link_handshake_linkproto(i), 5);
  int ret = link_handshake_feed(i, bytes, len, &used);
  link_handshake_free(i);
  return ret;
}

Test(link_hs, initiator_rejects_bad_certs_cells)
{
  /* CERTS claiming one cert longer than the cell. */
  uint8_t trunc[] = { 0, 0, 0, 0, 129, 0, 4, 1, 2, 0, 9 };
  cr_assert_eq(feed_initiator_after_versions(trunc, sizeof(trunc)),
               LINK_ERR_MALFORMED);
  /* Empty CERTS: well-formed but no certificates. */
  uint8_t empty[] = { 0, 0, 0, 0, 129, 0, 1, 0 };
  cr_assert_eq(feed_initiator_after_versions(empty, sizeof(empty)),
               LINK_ERR_CERTS);
  /* NETINFO before CERTS. */
  uint8_t ni[514] = { 0, 0, 0, 0, CELL_NETINFO };
  cr_assert_eq(feed_initiator_after_versions(ni, sizeof(ni)),
               LINK_ERR_PROTOCOL);
  /* A second VERSIONS is ignored, VPADDING too. */
  uint8_t again[] = { 0, 0, 0, 0, 7, 0, 2, 0, 4, 0, 0, 0, 0, 128, 0, 0 };
  cr_assert_eq(feed_initiator_after_versions(again, sizeof(again)), 0);
}

Test(link_hs, bad_config)
{
  link_config_t ic, rc;
  init_cfg(&ic, &rc, &R);
  ic.tls_peer_cert = NULL;
  cr_assert_null(link_handshake_new(&ic));
  rc.creds = NULL;
  cr_assert_null(link_handshake_new(&rc));
  link_creds_t creds = R.creds;
  creds.crosscert = NULL;
  rc.creds = &creds;
  cr_assert_null(link_handshake_new(&rc));
  cr_assert_null(link_handshake_new(NULL));
}
