/* test_link_auth.c -- relay authentication in the link handshake
 * (tor-spec 4.2 initiator CERTS, 4.4.2 AUTHENTICATE "AUTH0003"): an
 * initiating relay and a responder in memory with a shared stand-in for the
 * TLS exporter; tampered, truncated and oversized CERTS/AUTHENTICATE cells;
 * the AUTH0003 body codec; link_keys (types 3, 5, 6, 7, rotation). */
#include <criterion/criterion.h>

#include <string.h>
#include <time.h>

#include "allium/core/cell/cell.h"
#include "allium/core/channel/link_auth.h"
#include "allium/core/channel/link_handshake.h"
#include "allium/core/channel/link_keys.h"
#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/tls/tls.h"

#include "core/link/link_fixture.h"

static time_t NOW;
static relay_t R;        /* the responder */
static relay_t ME;       /* the initiating relay's long-term keys */
static link_keys_t *KEYS;

/* Stand-in for the RFC 5705 exporter: SHA256(secret | label | context). */
typedef struct fake_tls_t {
  uint8_t secret[32];
  uint8_t last_ctx[64];
  size_t last_ctx_len;
} fake_tls_t;

static int fake_export(void *arg, uint8_t *out, size_t outlen,
                       const uint8_t *ctx, size_t ctxlen)
{
  fake_tls_t *t = arg;
  uint8_t buf[32 + 64 + sizeof(LINK_AUTH3_EXPORTER_LABEL)];
  uint8_t d[32];
  if (outlen > 32 || ctxlen > 64)
    return -1;
  memcpy(buf, t->secret, 32);
  memcpy(buf + 32, LINK_AUTH3_EXPORTER_LABEL, sizeof(LINK_AUTH3_EXPORTER_LABEL));
  memcpy(buf + 32 + sizeof(LINK_AUTH3_EXPORTER_LABEL), ctx, ctxlen);
  digest_sha256(d, buf, 32 + sizeof(LINK_AUTH3_EXPORTER_LABEL) + ctxlen);
  memcpy(out, d, outlen);
  memcpy(t->last_ctx, ctx, ctxlen);
  t->last_ctx_len = ctxlen;
  return 0;
}

static fake_tls_t TLS_I, TLS_R;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  NOW = time(NULL);
  relay_make(&R, NOW);
  relay_make(&ME, NOW);
  KEYS = link_keys_new(ME.rsa, &ME.ed_id.pub, &ME.ed_sign, ME.c4, ME.c4_len,
                       NOW);
  cr_assert_not_null(KEYS);
  crypto_rand(TLS_I.secret, 32);
  TLS_R = TLS_I;
}

static void teardown(void)
{
  link_keys_free(KEYS);
  relay_free(&R);
  relay_free(&ME);
}

TestSuite(link_auth, .init = setup, .fini = teardown, .timeout = 60);

static void init_cfg(link_config_t *ic, link_config_t *rc)
{
  size_t len;
  memset(ic, 0, sizeof(*ic));
  memset(rc, 0, sizeof(*rc));
  ic->role = LINK_ROLE_INITIATOR;
  ic->now = NOW;
  ic->tls_peer_cert = tls_context_link_cert_der(R.tls, &len);
  ic->tls_peer_cert_len = len;
  ic->creds = link_keys_creds(KEYS);
  ic->tls_export = fake_export;
  ic->tls_export_arg = &TLS_I;
  rc->role = LINK_ROLE_RESPONDER;
  rc->now = NOW;
  rc->creds = &R.creds;
  rc->tls_own_cert = tls_context_link_cert_der(R.tls, &len);
  rc->tls_own_cert_len = len;
  rc->tls_export = fake_export;
  rc->tls_export_arg = &TLS_R;
}

/* ---- moving cells between the two sides ---- */

typedef struct flight_t {
  size_t n;
  cell_t cells[8];
  uint8_t *payloads[8];
} flight_t;

/** Move all of from's output into to; 0 or to's error. */
static int move(link_handshake_t *from, link_handshake_t *to)
{
  size_t n, used = 0;
  const uint8_t *out = link_handshake_output(from, &n);
  uint8_t *copy = al_memdup(out, n ? n : 1);
  link_handshake_output_drain(from, n);
  int r = link_handshake_feed(to, copy, n, &used);
  al_free(copy);
  return r;
}

/** Decode from's pending output (link protocol 5; a VERSIONS cell first
 * when first_versions) into f (payloads copied, caller frees with
 * flight_free). */
static void flight_take_(link_handshake_t *from, flight_t *f,
                         int first_versions)
{
  size_t n, off = 0;
  const uint8_t *out = link_handshake_output(from, &n);
  memset(f, 0, sizeof(*f));
  while (off < n) {
    size_t used = 0;
    cell_t c;
    unsigned lp = f->n == 0 && first_versions ? CELL_LINKPROTO_UNNEGOTIATED
                                              : 5;
    cr_assert_eq(cell_decode(&c, out + off, n - off, lp, &used), 0);
    cr_assert_lt(f->n, 8);
    f->payloads[f->n] = al_memdup(c.payload, c.payload_len ? c.payload_len : 1);
    c.payload = f->payloads[f->n];
    f->cells[f->n++] = c;
    off += used;
  }
  link_handshake_output_drain(from, n);
}

#define flight_take(from, f) flight_take_((from), (f), 0)

static void flight_free(flight_t *f)
{
  for (size_t i = 0; i < f->n; i++)
    al_free(f->payloads[i]);
}

/** Feed f's cells to `to`; 0 or the first error. */
static int flight_feed(const flight_t *f, link_handshake_t *to)
{
  for (size_t i = 0; i < f->n; i++) {
    uint8_t buf[CELL_VAR_PAYLOAD_MAX + 16];
    size_t len = 0, used = 0;
    unsigned lp = f->cells[i].command == CELL_VERSIONS
                      ? CELL_LINKPROTO_UNNEGOTIATED : 5;
    cr_assert_eq(cell_encode(&f->cells[i], lp, buf, sizeof(buf), &len), 0);
    int r = link_handshake_feed(to, buf, len, &used);
    if (r < 0)
      return r;
    cr_assert_eq(used, len);
  }
  return 0;
}

static cell_t *flight_find(flight_t *f, uint8_t cmd)
{
  for (size_t i = 0; i < f->n; i++)
    if (f->cells[i].command == cmd)
      return &f->cells[i];
  return NULL;
}

/** Run up to the initiator's CERTS/AUTHENTICATE/NETINFO flight; *fi gets
 * it (not yet fed to the responder). */
static void run_to_auth(link_config_t *ic, link_config_t *rc,
                        link_handshake_t **pi, link_handshake_t **pr,
                        flight_t *fi)
{
  link_handshake_t *i = link_handshake_new(ic), *r = link_handshake_new(rc);
  cr_assert_not_null(i);
  cr_assert_not_null(r);
  cr_assert_eq(move(i, r), 0);                    /* VERSIONS */
  cr_assert_eq(move(r, i), 0);                    /* VERSIONS..NETINFO */
  cr_assert_eq(link_handshake_state(i), LINK_HS_DONE);
  flight_take(i, fi);
  *pi = i;
  *pr = r;
}

/** Expect the responder to fail on (a mutated) fi with err and why_part. */
static void expect_refused(link_handshake_t *r, const flight_t *fi, int err,
                           const char *why_part)
{
  const char *why;
  int got = flight_feed(fi, r);
  cr_assert_eq(got, err, "got %s (%d)", link_err_name(got), got);
  cr_assert_eq(link_handshake_state(r), LINK_HS_FAILED);
  link_handshake_error(r, &why);
  cr_assert(strstr(why, why_part), "reason: %s", why);
  cr_assert_not(link_handshake_peer(r)->authenticated);
}

/* ---- the good path ---- */

Test(link_auth, relay_authenticates)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  run_to_auth(&ic, &rc, &i, &r, &f);
  cr_assert_eq(f.n, 3);
  cr_assert_eq(f.cells[0].command, CELL_CERTS);
  cr_assert_eq(f.cells[1].command, CELL_AUTHENTICATE);
  cr_assert_eq(f.cells[2].command, CELL_NETINFO);
  /* CERTS carries types 2, 3, 4, 6, 7 and nothing else. */
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  cr_assert_eq(cell_certs_decode(cc, f.cells[0].payload,
                                 f.cells[0].payload_len), 0);
  cr_assert_eq(cc->n, 5);
  static const uint8_t want[] = { 2, 3, 4, 6, 7 };
  for (size_t k = 0; k < sizeof(want); k++)
    cr_assert_not_null(cell_certs_find(cc, want[k]), "type %u", want[k]);
  al_free(cc);
  cr_assert_eq(flight_feed(&f, r), 0);
  cr_assert_eq(link_handshake_state(r), LINK_HS_DONE);
  const link_peer_t *pr = link_handshake_peer(r), *pi = link_handshake_peer(i);
  cr_assert(pr->authenticated);
  cr_assert_arr_eq(pr->rsa_id, ME.rsa_fp, 20);
  cr_assert_arr_eq(pr->ed_id.pubkey, ME.ed_id.pub.pubkey, 32);
  cr_assert_eq(pr->netinfo_time, (uint32_t)NOW);   /* relays send a clock */
  cr_assert(pi->authenticated && pi->we_authenticated);
  /* Both used CID (SHA256 of the initiator's RSA identity) as context. */
  uint8_t *der = NULL, cid[32];
  size_t len;
  cr_assert_eq(rsa_key_public_to_der(ME.rsa, &der, &len), 0);
  digest_sha256(cid, der, len);
  al_free(der);
  cr_assert_eq(TLS_R.last_ctx_len, 32);
  cr_assert_arr_eq(TLS_R.last_ctx, cid, 32);
  cr_assert_arr_eq(TLS_I.last_ctx, cid, 32);
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, responder_sends_type1)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  rc.creds = link_keys_creds(KEYS);   /* a full set: type 1 included */
  ic.creds = NULL;
  size_t len;
  ic.tls_peer_cert = tls_context_link_cert_der(link_keys_tls(KEYS), &len);
  ic.tls_peer_cert_len = len;
  i = link_handshake_new(&ic);
  r = link_handshake_new(&rc);
  cr_assert_eq(move(i, r), 0);
  flight_take_(r, &f, 1);
  cell_t *c = flight_find(&f, CELL_CERTS);
  cr_assert_not_null(c);
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  cr_assert_eq(cell_certs_decode(cc, c->payload, c->payload_len), 0);
  cr_assert_eq(cc->n, 5);
  static const uint8_t want[] = { 1, 2, 4, 5, 7 };
  for (size_t k = 0; k < sizeof(want); k++)
    cr_assert_not_null(cell_certs_find(cc, want[k]), "type %u", want[k]);
  const cell_cert_entry_t *t1 = cell_certs_find(cc, 1);
  cr_assert_eq(t1->len, len);
  cr_assert_arr_eq(t1->body, ic.tls_peer_cert, len);
  al_free(cc);
  /* The initiator (a client) accepts it and does not authenticate. */
  cr_assert_eq(flight_feed(&f, i), 0);
  cr_assert_eq(link_handshake_state(i), LINK_HS_DONE);
  cr_assert_not(link_handshake_peer(i)->we_authenticated);
  cr_assert_eq(move(i, r), 0);
  cr_assert_eq(link_handshake_state(r), LINK_HS_DONE);
  cr_assert_not(link_handshake_peer(r)->authenticated);   /* a client */
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, no_method3_offered_no_auth)
{
  /* An AUTH_CHALLENGE listing only method 1: the initiating relay answers
   * with NETINFO alone, as a client would. */
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  i = link_handshake_new(&ic);
  r = link_handshake_new(&rc);
  cr_assert_eq(move(i, r), 0);
  flight_take_(r, &f, 1);
  cell_t *c = flight_find(&f, CELL_AUTH_CHALLENGE);
  cr_assert_not_null(c);
  uint8_t *ac = f.payloads[c - f.cells];
  c->payload_len = 36;
  ac[33] = 1;   /* N_METHODS = 1 */
  ac[35] = 1;   /* method 1 only */
  cr_assert_eq(flight_feed(&f, i), 0);
  cr_assert_eq(link_handshake_state(i), LINK_HS_DONE);
  cr_assert_not(link_handshake_peer(i)->we_authenticated);
  flight_free(&f);
  flight_take(i, &f);
  cr_assert_eq(f.n, 1);
  cr_assert_eq(f.cells[0].command, CELL_NETINFO);
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

/* ---- tampering: each must be refused ---- */

static void tamper_auth_byte(size_t off, int err, const char *why)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  run_to_auth(&ic, &rc, &i, &r, &f);
  cell_t *a = flight_find(&f, CELL_AUTHENTICATE);
  cr_assert_not_null(a);
  cr_assert_lt(4 + off, a->payload_len);
  ((uint8_t *)a->payload)[4 + off] ^= 0x01;
  expect_refused(r, &f, err, why);
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, tampered_fields_refused)
{
  tamper_auth_byte(0, LINK_ERR_AUTH, "TYPE");
  tamper_auth_byte(8, LINK_ERR_AUTH, "CID");
  tamper_auth_byte(8 + 32, LINK_ERR_AUTH, "SID");
  tamper_auth_byte(8 + 64, LINK_ERR_AUTH, "CID_ED");
  tamper_auth_byte(8 + 96, LINK_ERR_AUTH, "SID_ED");
  tamper_auth_byte(8 + 128, LINK_ERR_AUTH, "SLOG");
  tamper_auth_byte(8 + 160, LINK_ERR_AUTH, "CLOG");
  tamper_auth_byte(8 + 192, LINK_ERR_AUTH, "SCERT");
  tamper_auth_byte(8 + 224, LINK_ERR_AUTH, "TLSSECRETS");
  tamper_auth_byte(8 + 256, LINK_ERR_AUTH, "signature");      /* RAND */
  tamper_auth_byte(LINK_AUTH3_MIN_LEN - 1, LINK_ERR_AUTH, "signature");
}

Test(link_auth, wrong_exporter_refused)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  TLS_R.secret[0] ^= 1;    /* another TLS session */
  run_to_auth(&ic, &rc, &i, &r, &f);
  expect_refused(r, &f, LINK_ERR_AUTH, "TLSSECRETS");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, wrong_slog_refused)
{
  /* A VPADDING the initiator saw but the responder never sent (a
   * man-in-the-middle changing the transcript) breaks SLOG. */
  link_config_t ic, rc;
  link_handshake_t *i = NULL, *r = NULL;
  flight_t f;
  uint8_t pad[CELL_VAR_HEADER_MAX + 4];
  size_t n = 0, used = 0;
  cell_t vp = { 0, CELL_VPADDING, 4, (const uint8_t *)"abcd" };
  init_cfg(&ic, &rc);
  i = link_handshake_new(&ic);
  r = link_handshake_new(&rc);
  cr_assert_eq(move(i, r), 0);
  cr_assert_eq(cell_encode(&vp, CELL_LINKPROTO_UNNEGOTIATED, pad, sizeof(pad),
                           &n), 0);
  cr_assert_eq(link_handshake_feed(i, pad, n, &used), 0);
  cr_assert_eq(move(r, i), 0);
  flight_take(i, &f);
  expect_refused(r, &f, LINK_ERR_AUTH, "SLOG");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, auth_signed_by_other_key_refused)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  link_creds_t creds = *link_keys_creds(KEYS);
  ed25519_keypair_t other;
  cr_assert_eq(ed25519_keypair_generate(&other), 0);
  creds.auth_key = &other;      /* type 6 certifies a different key */
  init_cfg(&ic, &rc);
  ic.creds = &creds;
  run_to_auth(&ic, &rc, &i, &r, &f);
  expect_refused(r, &f, LINK_ERR_AUTH, "signature");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

/** Replace (or drop, body NULL) one certificate of the initiator's CERTS. */
static void swap_cert(flight_t *f, uint8_t type, uint8_t new_type,
                      const uint8_t *body, size_t len)
{
  cell_t *c = flight_find(f, CELL_CERTS);
  cell_certs_t *cc = al_calloc(1, sizeof(*cc)), *out = al_calloc(1, sizeof(*cc));
  cr_assert_eq(cell_certs_decode(cc, c->payload, c->payload_len), 0);
  for (unsigned k = 0; k < cc->n; k++) {
    cell_cert_entry_t e = cc->certs[k];
    if (e.type == type) {
      if (!body)
        continue;
      e.type = new_type;
      e.body = body;
      e.len = (uint16_t)len;
    }
    out->certs[out->n++] = e;
  }
  uint8_t *buf = al_malloc(CELL_VAR_PAYLOAD_MAX);
  size_t n = 0;
  cr_assert_eq(cell_certs_encode(out, buf, CELL_VAR_PAYLOAD_MAX, &n), 0);
  size_t idx = (size_t)(c - f->cells);
  al_free(f->payloads[idx]);
  f->payloads[idx] = buf;
  c->payload = buf;
  c->payload_len = (uint16_t)n;
  al_free(cc);
  al_free(out);
}

static void expect_certs_refused(uint8_t type, uint8_t new_type,
                                 const uint8_t *body, size_t len, int err,
                                 const char *why)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  run_to_auth(&ic, &rc, &i, &r, &f);
  swap_cert(&f, type, new_type, body, len);
  expect_refused(r, &f, err, why);
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, bad_initiator_certs_refused)
{
  const link_creds_t *k = link_keys_creds(KEYS);
  /* missing type 6, 4, 2, 7 */
  expect_certs_refused(6, 6, NULL, 0, LINK_ERR_CERTS, "type 6");
  expect_certs_refused(4, 4, NULL, 0, LINK_ERR_CERTS, "type 4");
  expect_certs_refused(2, 2, NULL, 0, LINK_ERR_CERTS, "type 2");
  expect_certs_refused(7, 7, NULL, 0, LINK_ERR_CERTS, "type 7");
  /* type 6 replaced by the type 5 cert (wrong cert type) */
  expect_certs_refused(6, 6, k->link_cert, k->link_cert_len, LINK_ERR_CERTS,
                       "type 6");
  /* a type 6 signed by someone else's signing key */
  torcert_t *c6 = NULL;
  ed25519_keypair_t other;
  cr_assert_eq(ed25519_keypair_generate(&other), 0);
  cr_assert_eq(torcert_create(&c6, CERT_TYPE_SIGNING_AUTH,
                              CERT_KEY_TYPE_ED25519, other.pub.pubkey, &other,
                              NOW, 86400, 0), 0);
  expect_certs_refused(6, 6, c6->encoded, c6->encoded_len, LINK_ERR_CERTS,
                       "badly signed");
  torcert_free(c6);
  /* the responder's identity certificate in place of ours: crosscert
   * no longer verifies */
  expect_certs_refused(2, 2, R.creds.id_cert, R.creds.id_cert_len,
                       LINK_ERR_CERTS, "cross-certificate");
}

Test(link_auth, type3_ignored_or_absent)
{
  /* Type 3 is not checked on the Ed25519 path (tor-spec 4.2): a garbage
   * one, or none, still authenticates. */
  for (int k = 0; k < 2; k++) {
    link_config_t ic, rc;
    link_handshake_t *i, *r;
    flight_t f;
    link_creds_t creds = *link_keys_creds(KEYS);
    creds.rsa_auth_cert = k ? NULL : (const uint8_t *)"junk";
    creds.rsa_auth_cert_len = k ? 0 : 4;
    init_cfg(&ic, &rc);
    ic.creds = &creds;
    run_to_auth(&ic, &rc, &i, &r, &f);
    cr_assert_eq(flight_feed(&f, r), 0);
    cr_assert(link_handshake_peer(r)->authenticated);
    flight_free(&f);
    link_handshake_free(i);
    link_handshake_free(r);
  }
}

Test(link_auth, expired_auth_cert_refused)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  rc.now = NOW + LINK_KEYS_CERT_LIFETIME + 7200;
  run_to_auth(&ic, &rc, &i, &r, &f);
  expect_refused(r, &f, LINK_ERR_CERTS, "expired");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, order_and_framing_refused)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  cell_t save;
  /* CERTS without AUTHENTICATE, then NETINFO */
  init_cfg(&ic, &rc);
  run_to_auth(&ic, &rc, &i, &r, &f);
  f.cells[1] = f.cells[2];
  f.n = 2;
  expect_refused(r, &f, LINK_ERR_AUTH, "without AUTHENTICATE");
  f.n = 3;
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
  /* AUTHENTICATE before CERTS */
  run_to_auth(&ic, &rc, &i, &r, &f);
  save = f.cells[0];
  f.cells[0] = f.cells[1];
  f.cells[1] = save;
  expect_refused(r, &f, LINK_ERR_PROTOCOL, "without CERTS");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
  /* two CERTS cells */
  run_to_auth(&ic, &rc, &i, &r, &f);
  f.cells[1] = f.cells[0];
  expect_refused(r, &f, LINK_ERR_PROTOCOL, "second CERTS");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

static void auth_with_len(uint16_t auth_type, size_t cut, size_t extra,
                          int err, const char *why)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  run_to_auth(&ic, &rc, &i, &r, &f);
  cell_t *a = flight_find(&f, CELL_AUTHENTICATE);
  size_t idx = (size_t)(a - f.cells);
  size_t body = a->payload_len - 4 - cut + extra;
  uint8_t *p = al_calloc(1, 4 + body + 8);
  memcpy(p, a->payload, a->payload_len < 4 + body ? a->payload_len : 4 + body);
  p[0] = (uint8_t)(auth_type >> 8);
  p[1] = (uint8_t)auth_type;
  p[2] = (uint8_t)(body >> 8);
  p[3] = (uint8_t)body;
  al_free(f.payloads[idx]);
  f.payloads[idx] = p;
  a->payload = p;
  a->payload_len = (uint16_t)(4 + body);
  expect_refused(r, &f, err, why);
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, truncated_oversized_authenticate_refused)
{
  auth_with_len(3, 1, 0, LINK_ERR_AUTH, "too short");
  auth_with_len(3, 100, 0, LINK_ERR_AUTH, "too short");
  auth_with_len(3, LINK_AUTH3_MIN_LEN, 0, LINK_ERR_AUTH, "too short");
  auth_with_len(1, 0, 0, LINK_ERR_AUTH, "did not offer");
  /* Extra bytes: they land before SIG, so the signature (made over the
   * short body) no longer verifies; the parser copes. */
  auth_with_len(3, 0, 1000, LINK_ERR_AUTH, "signature");
  /* An AUTHLEN larger than the cell: malformed. */
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  run_to_auth(&ic, &rc, &i, &r, &f);
  cell_t *a = flight_find(&f, CELL_AUTHENTICATE);
  ((uint8_t *)a->payload)[2] = 0xff;
  expect_refused(r, &f, LINK_ERR_MALFORMED, "malformed AUTHENTICATE");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}

Test(link_auth, truncated_certs_refused)
{
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  for (unsigned cut = 1; cut < 400; cut += 37) {
    run_to_auth(&ic, &rc, &i, &r, &f);
    cell_t *c = flight_find(&f, CELL_CERTS);
    c->payload_len = (uint16_t)(c->payload_len - cut);
    int got = flight_feed(&f, r);
    cr_assert(got == LINK_ERR_MALFORMED || got == LINK_ERR_CERTS,
              "cut %u: %s", cut, link_err_name(got));
    cr_assert_not(link_handshake_peer(r)->authenticated);
    flight_free(&f);
    link_handshake_free(i);
    link_handshake_free(r);
  }
}

/* ---- the AUTH0003 body codec ---- */

Test(link_auth, auth3_codec)
{
  link_auth3_t a, b;
  uint8_t buf[LINK_AUTH3_MIN_LEN + 10];
  ed25519_keypair_t k;
  cr_assert_eq(ed25519_keypair_generate(&k), 0);
  crypto_rand((uint8_t *)&a, sizeof(a));
  a.signed_part = NULL;
  cr_assert_eq(LINK_AUTH3_MIN_LEN, 8 + 8 * 32 + 24 + 64);
  cr_assert_eq(link_auth3_encode(&a, &k, buf, sizeof(buf) - 10), 0);
  cr_assert_eq(link_auth3_encode(&a, &k, buf, LINK_AUTH3_MIN_LEN - 1), -1);
  cr_assert_eq(link_auth3_parse(&b, buf, LINK_AUTH3_MIN_LEN), 0);
  cr_assert_arr_eq(b.type, "AUTH0003", 8);
  cr_assert_arr_eq(b.tlssecrets, a.tlssecrets, 32);
  cr_assert_arr_eq(b.rand, a.rand, 24);
  cr_assert_eq(b.signed_len, LINK_AUTH3_MIN_LEN - 64);
  cr_assert_eq(link_auth3_check(&b, &b, &k.pub, NULL), 0);
  memcpy(a.type, "AUTH0003", 8);
  cr_assert_eq(link_auth3_check(&b, &a, &k.pub, NULL), 0);
  const char *why;
  a.slog[5] ^= 1;
  cr_assert_eq(link_auth3_check(&b, &a, &k.pub, &why), -1);
  cr_assert(strstr(why, "SLOG"));
  cr_assert_eq(link_auth3_parse(&b, buf, LINK_AUTH3_MIN_LEN - 1), -1);
  cr_assert_eq(link_auth3_parse(&b, NULL, 0), -1);
  cr_assert_eq(link_auth3_check(NULL, &a, &k.pub, &why), -1);
}

/* ---- link_keys ---- */

Test(link_auth, link_keys_chain_and_rotation)
{
  const link_creds_t *c = link_keys_creds(KEYS);
  size_t len;
  const uint8_t *tls_der = tls_context_link_cert_der(link_keys_tls(KEYS), &len);
  torcert_t *t5 = NULL, *t6 = NULL;
  cr_assert_eq(torcert_parse(&t5, c->link_cert, c->link_cert_len), 0);
  cr_assert_eq(torcert_parse(&t6, c->auth_cert, c->auth_cert_len), 0);
  cr_assert_eq(t5->cert_type, CERT_TYPE_SIGNING_LINK);
  cr_assert_eq(t6->cert_type, CERT_TYPE_SIGNING_AUTH);
  cr_assert_eq(torcert_validate(t5, &ME.ed_sign.pub, NOW), 0);
  cr_assert_eq(torcert_validate(t6, &ME.ed_sign.pub, NOW), 0);
  cr_assert_arr_eq(t6->certified_key, c->auth_key->pub.pubkey, 32);
  uint8_t d[32];
  digest_sha256(d, tls_der, len);
  cr_assert_arr_eq(t5->certified_key, d, 32);
  cr_assert_leq(torcert_expiration(t6), NOW + LINK_KEYS_CERT_LIFETIME + 3600);
  torcert_free(t5);
  torcert_free(t6);
  cr_assert_eq(c->rsa_link_cert_len, len);
  cr_assert_not_null(c->rsa_auth_cert);
  /* type 3: an RSA-1024 key certified (X.509) by the identity; parses */
  rsa_key_t *k3 = NULL;
  cr_assert_eq(tls_x509_check_rsa_id_cert(c->rsa_auth_cert,
                                          c->rsa_auth_cert_len, NOW, 1024,
                                          &k3, NULL), -1);   /* not self-signed */
  cr_assert_null(k3);
  /* rotation: every 2 hours, and before a cert expires */
  cr_assert_eq(link_keys_should_rotate(KEYS, NOW), 0);
  cr_assert_eq(link_keys_should_rotate(KEYS, NOW + 3600), 0);
  cr_assert_eq(link_keys_should_rotate(KEYS, NOW + LINK_KEYS_TLS_ROTATE_SEC), 1);
  cr_assert_eq(link_keys_should_rotate(KEYS, NOW - 10), 1);
  cr_assert_eq(link_keys_created(KEYS), NOW);
  /* a type 4 for another key, or expired, is refused */
  cr_assert_null(link_keys_new(ME.rsa, &R.ed_id.pub, &ME.ed_sign, ME.c4,
                               ME.c4_len, NOW));
  cr_assert_null(link_keys_new(ME.rsa, &ME.ed_id.pub, &R.ed_sign, ME.c4,
                               ME.c4_len, NOW));
  cr_assert_null(link_keys_new(ME.rsa, &ME.ed_id.pub, &ME.ed_sign, ME.c4,
                               ME.c4_len, NOW + 31 * 86400));
  cr_assert_null(link_keys_new(NULL, &ME.ed_id.pub, &ME.ed_sign, ME.c4,
                               ME.c4_len, NOW));
  link_keys_free_(NULL);
}

Test(link_auth, link_keys_signing_cert_expiry_bounds_rotation)
{
  torcert_t *c4 = NULL;
  cr_assert_eq(torcert_create(&c4, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                              ME.ed_sign.pub.pubkey, &ME.ed_id, NOW, 4 * 3600,
                              1), 0);
  link_keys_t *k = link_keys_new(ME.rsa, &ME.ed_id.pub, &ME.ed_sign,
                                 c4->encoded, c4->encoded_len, NOW);
  cr_assert_not_null(k);
  /* the type 4 expires within 4-5 h: rotate (to notice) 3 h before */
  cr_assert_eq(link_keys_should_rotate(k, NOW), 0);
  cr_assert_eq(link_keys_should_rotate(k, NOW + 2 * 3600 - 1), 1);
  torcert_free(c4);
  link_keys_free(k);
  cr_assert_null(k);
}

Test(link_auth, own_identity_refused)
{
  /* A relay connecting to itself (or a peer replaying our certificates
   * with its own key would fail AUTHENTICATE anyway): refused at CERTS. */
  link_config_t ic, rc;
  link_handshake_t *i, *r;
  flight_t f;
  init_cfg(&ic, &rc);
  rc.creds = link_keys_creds(KEYS);       /* the responder is ME as well */
  size_t len;
  ic.tls_peer_cert = tls_context_link_cert_der(link_keys_tls(KEYS), &len);
  ic.tls_peer_cert_len = len;
  rc.tls_own_cert = ic.tls_peer_cert;
  rc.tls_own_cert_len = len;
  run_to_auth(&ic, &rc, &i, &r, &f);
  expect_refused(r, &f, LINK_ERR_IDENTITY, "our own identity");
  flight_free(&f);
  link_handshake_free(i);
  link_handshake_free(r);
}
