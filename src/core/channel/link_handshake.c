/* link_handshake.c -- sans-IO link handshake for both roles (tor-spec.txt
 * section 4 "Negotiating and initializing connections": 4.1 VERSIONS, 4.2
 * CERTS, 4.3 AUTH_CHALLENGE, 4.4.2 AUTHENTICATE type 3, 4.5 NETINFO).  See
 * link_handshake.h. */
#include "allium/core/channel/link_handshake.h"

#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/channel/link_auth.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#define LOG_MODULE "link"
#include "allium/lib/log/log.h"

typedef enum hs_step_t {
  STEP_WAIT_VERSIONS,
  STEP_WAIT_CERTS,       /* initiator */
  STEP_WAIT_NETINFO,     /* initiator: AUTH_CHALLENGE may come first */
  STEP_WAIT_CLIENT,      /* responder: NETINFO (maybe CERTS+AUTHENTICATE) */
  STEP_DONE,
  STEP_FAILED,
} hs_step_t;

struct link_handshake_t {
  link_role_t role;
  time_t now_fixed;
  int have_exp_rsa, have_exp_ed;
  uint8_t exp_rsa[DIGEST_SHA1_LEN];
  ed25519_public_key_t exp_ed;
  uint8_t *tls_peer_cert;
  size_t tls_peer_cert_len;
  cell_addr_t peer_addr;
  uint8_t n_my;
  cell_addr_t my[LINK_MAX_PEER_ADDRS];
  /* Our CERTS payload (responder, or initiating relay), encoded once. */
  uint8_t *certs_payload;
  size_t certs_payload_len;
  /* AUTHENTICATE (4.4.2). */
  int authenticating;             /* initiator with relay credentials */
  ed25519_keypair_t auth_key;     /* initiator: the type 6 key */
  int have_my_id;                 /* my_rsa256/my_ed known (from creds) */
  uint8_t my_rsa256[DIGEST_SHA256_LEN];
  ed25519_public_key_t my_ed;
  link_certs_result_t peer_certs; /* what the peer's CERTS proved */
  uint8_t *tls_own_cert;          /* responder: SCERT source */
  size_t tls_own_cert_len;
  link_tls_export_fn tls_export;
  void *tls_export_arg;
  digest_ctx_t *dig_sent, *dig_recv;
  int rec_sent;                   /* still hashing what we send */
  uint8_t slog[DIGEST_SHA256_LEN];/* responder: VERSIONS..AUTH_CHALLENGE */
  int sent_netinfo;

  hs_step_t step;
  int got_auth_challenge, got_certs, got_authenticate;
  link_peer_t peer;
  int err;
  const char *why;

  uint8_t *out;
  size_t out_len, out_cap;
};

static time_t hs_now(const link_handshake_t *hs)
{
  return hs->now_fixed ? hs->now_fixed : time(NULL);
}

static int hs_fail(link_handshake_t *hs, int err, const char *why)
{
  hs->step = STEP_FAILED;
  hs->err = err;
  hs->why = why;
  if (hs->role == LINK_ROLE_RESPONDER &&
      (err == LINK_ERR_AUTH || err == LINK_ERR_CERTS))
    log_notice_rl(60, "refusing a relay that tried to authenticate to us: "
                  "%s (%s)", link_err_name(err), why);
  else
    log_info_rl(60, "link handshake failed: %s (%s)", link_err_name(err),
                why);
  return err;
}

/** Append one encoded cell to the output. */
static int queue_cell(link_handshake_t *hs, uint8_t cmd, const uint8_t *pl,
                      size_t pl_len, unsigned linkproto)
{
  cell_t c = { .circ_id = 0, .command = cmd, .payload_len = (uint16_t)pl_len,
               .payload = pl };
  size_t need = cell_encoded_len(cmd, pl_len, linkproto), n = 0;
  if (pl_len > CELL_VAR_PAYLOAD_MAX || need == 0)
    return LINK_ERR_INTERNAL;
  if (hs->out_len + need > hs->out_cap) {
    hs->out_cap = (hs->out_len + need) * 2;
    hs->out = al_realloc(hs->out, hs->out_cap);
  }
  if (cell_encode(&c, linkproto, hs->out + hs->out_len,
                  hs->out_cap - hs->out_len, &n) < 0)
    return LINK_ERR_INTERNAL;
  if (hs->rec_sent) {
    digest_ctx_add(hs->dig_sent, hs->out + hs->out_len, n);
  }
  hs->out_len += n;
  return LINK_OK;
}

static int queue_versions(link_handshake_t *hs)
{
  cell_versions_t v;
  uint8_t buf[2 * CELL_VERSIONS_MAX];
  size_t n;
  cell_versions_set_ours(&v);
  if (cell_versions_encode(&v, buf, sizeof(buf), &n) < 0)
    return LINK_ERR_INTERNAL;
  return queue_cell(hs, CELL_VERSIONS, buf, n, CELL_LINKPROTO_UNNEGOTIATED);
}

static int queue_netinfo(link_handshake_t *hs)
{
  cell_netinfo_t ni;
  uint8_t buf[CELL_PAYLOAD_LEN];
  size_t n;
  memset(&ni, 0, sizeof(ni));
  /* tor-spec 4.5: clients SHOULD send 0 as their timestamp; relays (also
   * an initiating relay that authenticated) send their clock. */
  ni.timestamp = hs->role == LINK_ROLE_RESPONDER || hs->peer.we_authenticated
                     ? (uint32_t)hs_now(hs) : 0;
  hs->sent_netinfo = 1;
  ni.other = hs->peer_addr;
  ni.n_my = hs->n_my;
  memcpy(ni.my, hs->my, sizeof(hs->my[0]) * hs->n_my);
  if (cell_netinfo_encode(&ni, buf, sizeof(buf), &n) < 0)
    return LINK_ERR_INTERNAL;
  return queue_cell(hs, CELL_NETINFO, buf, n, hs->peer.linkproto);
}

static int queue_auth_challenge(link_handshake_t *hs)
{
  cell_auth_challenge_t ac;
  uint8_t buf[64];
  size_t n;
  memset(&ac, 0, sizeof(ac));
  crypto_rand(ac.challenge, sizeof(ac.challenge));
  ac.n_methods = 1;
  ac.methods[0] = CELL_AUTHTYPE_ED25519_SHA256_RFC5705;
  if (cell_auth_challenge_encode(&ac, buf, sizeof(buf), &n) < 0)
    return LINK_ERR_INTERNAL;
  return queue_cell(hs, CELL_AUTH_CHALLENGE, buf, n, hs->peer.linkproto);
}

/** One CERTS entry to send: type, body, and whether it may be absent. */
typedef struct cert_src_t {
  uint8_t type;
  const uint8_t *body;
  size_t len;
  int optional;
} cert_src_t;

/** Encode a CERTS payload from n entries (absent optional ones skipped). */
static int encode_certs(link_handshake_t *hs, const cert_src_t *src, int n)
{
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  int r = LINK_ERR_INTERNAL;
  size_t cap = 1;
  for (int i = 0; i < n; i++) {
    if (!src[i].body || src[i].len == 0) {
      if (src[i].optional)
        continue;
      goto done;
    }
    if (src[i].len > 0xffff)
      goto done;
    cell_cert_entry_t *e = &cc->certs[cc->n++];
    e->type = src[i].type;
    e->len = (uint16_t)src[i].len;
    e->body = src[i].body;
    cap += 3 + src[i].len;
  }
  if (cap > CELL_VAR_PAYLOAD_MAX)
    goto done;
  hs->certs_payload = al_malloc(cap);
  if (cell_certs_encode(cc, hs->certs_payload, cap,
                        &hs->certs_payload_len) < 0)
    goto done;
  r = LINK_OK;
done:
  al_free(cc);
  return r;
}

/** The responder's CERTS: types 1 (if given), 2, 4, 5, 7 (tor-spec 4.2). */
static int encode_creds(link_handshake_t *hs, const link_creds_t *cr)
{
  const cert_src_t src[] = {
    { CELL_CERT_RSA_LINK, cr->rsa_link_cert, cr->rsa_link_cert_len, 1 },
    { CELL_CERT_RSA_ID, cr->id_cert, cr->id_cert_len, 0 },
    { CELL_CERT_ED_ID_SIGNING, cr->signing_cert, cr->signing_cert_len, 0 },
    { CELL_CERT_ED_SIGNING_LINK, cr->link_cert, cr->link_cert_len, 0 },
    { CELL_CERT_RSA_ED_CROSSCERT, cr->crosscert, cr->crosscert_len, 0 },
  };
  return encode_certs(hs, src, (int)(sizeof(src) / sizeof(src[0])));
}

/** An initiating relay's CERTS: types 2, 3 (if given), 4, 6, 7 (4.4). */
static int encode_auth_creds(link_handshake_t *hs, const link_creds_t *cr)
{
  const cert_src_t src[] = {
    { CELL_CERT_RSA_ID, cr->id_cert, cr->id_cert_len, 0 },
    { CELL_CERT_RSA_AUTH, cr->rsa_auth_cert, cr->rsa_auth_cert_len, 1 },
    { CELL_CERT_ED_ID_SIGNING, cr->signing_cert, cr->signing_cert_len, 0 },
    { CELL_CERT_ED_SIGNING_AUTH, cr->auth_cert, cr->auth_cert_len, 0 },
    { CELL_CERT_RSA_ED_CROSSCERT, cr->crosscert, cr->crosscert_len, 0 },
  };
  if (!cr->auth_key)
    return LINK_ERR_INTERNAL;
  hs->auth_key = *cr->auth_key;
  hs->authenticating = 1;
  return encode_certs(hs, src, (int)(sizeof(src) / sizeof(src[0])));
}

/** Set up what AUTHENTICATE needs: our identities, the transcripts. */
static int setup_auth(link_handshake_t *hs, const link_config_t *cfg)
{
  hs->tls_export = cfg->tls_export;
  hs->tls_export_arg = cfg->tls_export_arg;
  hs->dig_sent = digest_ctx_new(DIGEST_ALG_SHA256);
  hs->dig_recv = digest_ctx_new(DIGEST_ALG_SHA256);
  hs->rec_sent = 1;
  if (!hs->dig_sent || !hs->dig_recv)
    return LINK_ERR_INTERNAL;
  if (!cfg->creds)
    return LINK_OK;
  hs->have_my_id = link_creds_identity(cfg->creds, hs_now(hs),
                                       hs->my_rsa256, &hs->my_ed) == 0;
  if (cfg->role == LINK_ROLE_INITIATOR)
    return hs->have_my_id ? encode_auth_creds(hs, cfg->creds)
                          : LINK_ERR_INTERNAL;
  const uint8_t *own = cfg->tls_own_cert ? cfg->tls_own_cert
                                         : cfg->creds->rsa_link_cert;
  size_t own_len = cfg->tls_own_cert ? cfg->tls_own_cert_len
                                     : cfg->creds->rsa_link_cert_len;
  if (own && own_len) {
    hs->tls_own_cert = al_memdup(own, own_len);
    hs->tls_own_cert_len = own_len;
  }
  return encode_creds(hs, cfg->creds);
}

link_handshake_t *link_handshake_new(const link_config_t *cfg)
{
  if (!cfg || (cfg->role != LINK_ROLE_INITIATOR &&
               cfg->role != LINK_ROLE_RESPONDER) ||
      cfg->n_my_addrs > LINK_MAX_PEER_ADDRS)
    return NULL;
  if (cfg->role == LINK_ROLE_INITIATOR &&
      (!cfg->tls_peer_cert || !cfg->tls_peer_cert_len))
    return NULL;
  if (cfg->role == LINK_ROLE_RESPONDER && !cfg->creds)
    return NULL;
  if (cfg->role == LINK_ROLE_INITIATOR && cfg->creds && !cfg->tls_export)
    return NULL;
  link_handshake_t *hs = al_calloc(1, sizeof(*hs));
  hs->role = cfg->role;
  hs->now_fixed = cfg->now;
  if (cfg->expected_rsa_id) {
    hs->have_exp_rsa = 1;
    memcpy(hs->exp_rsa, cfg->expected_rsa_id, DIGEST_SHA1_LEN);
  }
  if (cfg->expected_ed_id) {
    hs->have_exp_ed = 1;
    hs->exp_ed = *cfg->expected_ed_id;
  }
  if (cfg->tls_peer_cert) {
    hs->tls_peer_cert = al_memdup(cfg->tls_peer_cert, cfg->tls_peer_cert_len);
    hs->tls_peer_cert_len = cfg->tls_peer_cert_len;
  }
  hs->peer_addr = cfg->peer_addr;
  hs->n_my = cfg->n_my_addrs;
  memcpy(hs->my, cfg->my_addrs, sizeof(hs->my));
  hs->step = STEP_WAIT_VERSIONS;
  int r = setup_auth(hs, cfg);
  if (r == LINK_OK && cfg->role == LINK_ROLE_INITIATOR)
    r = queue_versions(hs);
  if (r != LINK_OK)
    link_handshake_free(hs);
  return hs;
}

void link_handshake_free_(link_handshake_t *hs)
{
  if (!hs)
    return;
  al_free(hs->tls_peer_cert);
  al_free(hs->tls_own_cert);
  al_free(hs->certs_payload);
  digest_ctx_free(hs->dig_sent);
  digest_ctx_free(hs->dig_recv);
  ed25519_keypair_wipe(&hs->auth_key);
  al_free(hs->out);
  memwipe(hs, sizeof(*hs));
  al_free(hs);
}

/* ---- incoming cells ---- */

static int on_versions(link_handshake_t *hs, const cell_t *c)
{
  cell_versions_t v;
  if (cell_versions_decode(&v, c->payload, c->payload_len) < 0)
    return hs_fail(hs, LINK_ERR_MALFORMED, "malformed VERSIONS cell");
  unsigned lp = cell_versions_choose(&v);
  if (lp == 0)
    return hs_fail(hs, LINK_ERR_VERSION, "no common link protocol version");
  hs->peer.linkproto = lp;
  if (hs->role == LINK_ROLE_INITIATOR) {
    hs->step = STEP_WAIT_CERTS;
    return LINK_OK;
  }
  int r = queue_versions(hs);
  if (r == LINK_OK)
    r = queue_cell(hs, CELL_CERTS, hs->certs_payload, hs->certs_payload_len,
                   lp);
  if (r == LINK_OK)
    r = queue_auth_challenge(hs);
  if (r == LINK_OK) {
    /* 4.4.2 SLOG: what we sent up to and including AUTH_CHALLENGE. */
    digest_ctx_peek(hs->dig_sent, hs->slog, sizeof(hs->slog));
    hs->rec_sent = 0;
    r = queue_netinfo(hs);
  }
  if (r != LINK_OK)
    return hs_fail(hs, r, "could not encode our handshake cells");
  hs->step = STEP_WAIT_CLIENT;
  return LINK_OK;
}

static int on_certs_initiator(link_handshake_t *hs, const cell_t *c)
{
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  link_certs_result_t res;
  const char *why = "";
  int r;
  if (cell_certs_decode(cc, c->payload, c->payload_len) < 0) {
    r = hs_fail(hs, LINK_ERR_MALFORMED, "malformed CERTS cell");
    goto done;
  }
  r = link_certs_check_responder(cc, hs->tls_peer_cert, hs->tls_peer_cert_len,
                                 hs_now(hs),
                                 hs->have_exp_rsa ? hs->exp_rsa : NULL,
                                 hs->have_exp_ed ? &hs->exp_ed : NULL, &res,
                                 &why);
  if (r < 0) {
    hs_fail(hs, r, why);
    goto done;
  }
  memcpy(hs->peer.rsa_id, res.rsa_id, sizeof(res.rsa_id));
  hs->peer.ed_id = res.ed_id;
  hs->peer.authenticated = 1;
  hs->peer_certs = res;
  hs->step = STEP_WAIT_NETINFO;
done:
  al_free(cc);
  return r;
}

static int on_netinfo(link_handshake_t *hs, const cell_t *c)
{
  cell_netinfo_t *ni = al_calloc(1, sizeof(*ni));
  int r = LINK_OK;
  if (cell_netinfo_decode(ni, c->payload, c->payload_len) < 0) {
    r = hs_fail(hs, LINK_ERR_MALFORMED, "malformed NETINFO cell");
    goto done;
  }
  hs->peer.netinfo_time = ni->timestamp;
  if (ni->timestamp) {
    hs->peer.clock_skew = (int64_t)ni->timestamp - (int64_t)hs_now(hs);
    if (llabs(hs->peer.clock_skew) > LINK_CLOCK_SKEW_WARN)
      log_warn_rl(60, "peer's clock differs from ours by %lld seconds: "
                  "our clock may be wrong", (long long)hs->peer.clock_skew);
  }
  hs->peer.my_addr_seen = ni->other;
  hs->peer.n_addrs = ni->n_my < LINK_MAX_PEER_ADDRS ? ni->n_my
                                                    : LINK_MAX_PEER_ADDRS;
  memcpy(hs->peer.addrs, ni->my, sizeof(ni->my[0]) * hs->peer.n_addrs);
  if (hs->role == LINK_ROLE_INITIATOR && !hs->sent_netinfo) {
    r = queue_netinfo(hs);
    if (r != LINK_OK) {
      hs_fail(hs, r, "could not encode NETINFO");
      goto done;
    }
  }
  hs->step = STEP_DONE;
done:
  al_free(ni);
  return r;
}

/** SHA256 of a buffer into out; LINK_ERR_INTERNAL on failure. */
static int sha256_of(uint8_t out[DIGEST_SHA256_LEN], const uint8_t *p,
                     size_t n)
{
  return p && n && digest_sha256(out, p, n) == 0 ? LINK_OK
                                                 : LINK_ERR_INTERNAL;
}

/** The AUTH0003 fields both sides compute (tor-spec 4.4.2): CID/SID,
 * CID_ED/SID_ED, SLOG, CLOG, SCERT, TLSSECRETS.  Role-specific inputs:
 * slog/clog digests and the responder's TLS certificate. */
static int auth3_expected(link_handshake_t *hs, link_auth3_t *a,
                          const uint8_t *slog, const uint8_t *clog,
                          const uint8_t *scert_der, size_t scert_len)
{
  int init = hs->role == LINK_ROLE_INITIATOR;
  memset(a, 0, sizeof(*a));
  memcpy(a->type, LINK_AUTH3_TYPE, LINK_AUTH3_TYPE_LEN);
  memcpy(a->cid, init ? hs->my_rsa256 : hs->peer_certs.rsa_id256, 32);
  memcpy(a->sid, init ? hs->peer_certs.rsa_id256 : hs->my_rsa256, 32);
  memcpy(a->cid_ed, init ? hs->my_ed.pubkey : hs->peer_certs.ed_id.pubkey,
         32);
  memcpy(a->sid_ed, init ? hs->peer_certs.ed_id.pubkey : hs->my_ed.pubkey,
         32);
  memcpy(a->slog, slog, 32);
  memcpy(a->clog, clog, 32);
  /* TLSSECRETS: tor-spec 4.4.2 says the exporter context is CID_ED, but C
   * tor (and so the network) uses CID, the SHA256 of the initiator's RSA
   * identity (torspec issue #270; checked against tor 0.4.9 by
   * tests/link/run-link-interop). */
  if (!hs->have_my_id ||
      sha256_of(a->scert, scert_der, scert_len) < 0 || !hs->tls_export ||
      hs->tls_export(hs->tls_export_arg, a->tlssecrets, sizeof(a->tlssecrets),
                     a->cid, sizeof(a->cid)) < 0)
    return LINK_ERR_INTERNAL;
  return LINK_OK;
}

/** Initiating relay, on AUTH_CHALLENGE: CERTS, AUTHENTICATE, NETINFO. */
static int send_authenticate(link_handshake_t *hs)
{
  link_auth3_t a;
  uint8_t slog[32], clog[32], body[4 + LINK_AUTH3_MIN_LEN];
  int r = queue_cell(hs, CELL_CERTS, hs->certs_payload,
                     hs->certs_payload_len, hs->peer.linkproto);
  if (r != LINK_OK)
    return r;
  digest_ctx_peek(hs->dig_recv, slog, sizeof(slog));
  digest_ctx_peek(hs->dig_sent, clog, sizeof(clog));
  hs->rec_sent = 0;
  r = auth3_expected(hs, &a, slog, clog, hs->tls_peer_cert,
                     hs->tls_peer_cert_len);
  if (r != LINK_OK)
    return r;
  crypto_rand(a.rand, sizeof(a.rand));
  body[0] = 0;
  body[1] = CELL_AUTHTYPE_ED25519_SHA256_RFC5705;
  body[2] = (uint8_t)(LINK_AUTH3_MIN_LEN >> 8);
  body[3] = (uint8_t)(LINK_AUTH3_MIN_LEN & 0xff);
  if (link_auth3_encode(&a, &hs->auth_key, body + 4, LINK_AUTH3_MIN_LEN) < 0)
    r = LINK_ERR_INTERNAL;
  memwipe(&a, sizeof(a));
  if (r == LINK_OK)
    r = queue_cell(hs, CELL_AUTHENTICATE, body, sizeof(body),
                   hs->peer.linkproto);
  if (r != LINK_OK)
    return r;
  hs->peer.we_authenticated = 1;
  return queue_netinfo(hs);
}

/** Initiator after CERTS: AUTH_CHALLENGE (once) then NETINFO. */
static int on_cell_wait_netinfo(link_handshake_t *hs, const cell_t *c)
{
  if (c->command == CELL_AUTH_CHALLENGE) {
    cell_auth_challenge_t ac;
    if (hs->got_auth_challenge)
      return hs_fail(hs, LINK_ERR_PROTOCOL, "second AUTH_CHALLENGE");
    if (cell_auth_challenge_decode(&ac, c->payload, c->payload_len) < 0)
      return hs_fail(hs, LINK_ERR_MALFORMED, "malformed AUTH_CHALLENGE");
    hs->got_auth_challenge = 1;
    if (!hs->authenticating)
      return LINK_OK;
    if (!cell_auth_challenge_has_method(&ac,
                                        CELL_AUTHTYPE_ED25519_SHA256_RFC5705)) {
      log_info_rl(60, "responder does not offer AUTH0003; not "
                  "authenticating");
      return LINK_OK;
    }
    int r = send_authenticate(hs);
    if (r != LINK_OK)
      return hs_fail(hs, r, "could not build our AUTHENTICATE cell");
    return LINK_OK;
  }
  if (c->command == CELL_NETINFO)
    return on_netinfo(hs, c);
  return hs_fail(hs, LINK_ERR_PROTOCOL, "unexpected cell before NETINFO");
}

/** Responder: an initiating relay's CERTS (types 2, 4, 6, 7). */
static int on_certs_responder(link_handshake_t *hs, const cell_t *c)
{
  cell_certs_t *cc;
  const char *why = "";
  if (hs->got_certs)
    return hs_fail(hs, LINK_ERR_PROTOCOL, "second CERTS cell");
  cc = al_calloc(1, sizeof(*cc));
  int r = cell_certs_decode(cc, c->payload, c->payload_len);
  if (r < 0) {
    al_free(cc);
    return hs_fail(hs, LINK_ERR_MALFORMED, "malformed CERTS cell");
  }
  r = link_certs_check_initiator(cc, hs_now(hs), &hs->peer_certs, &why);
  al_free(cc);
  if (r < 0)
    return hs_fail(hs, r, why);
  if (hs->have_my_id &&
      (crypto_memeq(hs->peer_certs.rsa_id256, hs->my_rsa256, 32) ||
       crypto_memeq(hs->peer_certs.ed_id.pubkey, hs->my_ed.pubkey, 32)))
    return hs_fail(hs, LINK_ERR_IDENTITY, "initiator claims our own "
                   "identity");
  hs->got_certs = 1;
  return LINK_OK;
}

/** Responder: AUTHENTICATE after CERTS; every field and the signature are
 * checked (4.4.2).  CLOG excludes this cell (feed() hashes it later). */
static int on_authenticate(link_handshake_t *hs, const cell_t *c)
{
  cell_authenticate_t a;
  link_auth3_t got, want;
  uint8_t clog[32];
  const char *why = "";
  if (!hs->got_certs || hs->got_authenticate)
    return hs_fail(hs, LINK_ERR_PROTOCOL, "AUTHENTICATE without CERTS");
  if (cell_authenticate_decode(&a, c->payload, c->payload_len) < 0)
    return hs_fail(hs, LINK_ERR_MALFORMED, "malformed AUTHENTICATE");
  if (a.auth_type != CELL_AUTHTYPE_ED25519_SHA256_RFC5705)
    return hs_fail(hs, LINK_ERR_AUTH, "AUTHENTICATE of a type we did not "
                   "offer");
  if (link_auth3_parse(&got, a.auth, a.auth_len) < 0)
    return hs_fail(hs, LINK_ERR_AUTH, "AUTHENTICATE body too short");
  digest_ctx_peek(hs->dig_recv, clog, sizeof(clog));
  if (auth3_expected(hs, &want, hs->slog, clog, hs->tls_own_cert,
                     hs->tls_own_cert_len) < 0)
    return hs_fail(hs, LINK_ERR_INTERNAL, "cannot compute the expected "
                   "AUTHENTICATE (no TLS exporter or certificate)");
  int r = link_auth3_check(&got, &want, &hs->peer_certs.ed_auth, &why);
  memwipe(&want, sizeof(want));
  if (r < 0)
    return hs_fail(hs, LINK_ERR_AUTH, why);
  hs->got_authenticate = 1;
  hs->peer.authenticated = 1;
  memcpy(hs->peer.rsa_id, hs->peer_certs.rsa_id, sizeof(hs->peer.rsa_id));
  hs->peer.ed_id = hs->peer_certs.ed_id;
  log_info("initiator authenticated as a relay (AUTH0003)");
  return LINK_OK;
}

/** Responder after its flight: NETINFO alone (a client) or CERTS +
 * AUTHENTICATE + NETINFO (a relay). */
static int on_cell_wait_client(link_handshake_t *hs, const cell_t *c)
{
  if (c->command == CELL_CERTS)
    return on_certs_responder(hs, c);
  if (c->command == CELL_AUTHENTICATE)
    return on_authenticate(hs, c);
  if (c->command == CELL_NETINFO) {
    if (hs->got_certs && !hs->got_authenticate)
      return hs_fail(hs, LINK_ERR_AUTH, "CERTS without AUTHENTICATE");
    return on_netinfo(hs, c);
  }
  return hs_fail(hs, LINK_ERR_PROTOCOL, "unexpected cell before NETINFO");
}

static int handle_cell(link_handshake_t *hs, const cell_t *c)
{
  if (c->command == CELL_VPADDING)
    return LINK_OK;
  switch (hs->step) {
  case STEP_WAIT_VERSIONS:
    if (c->command == CELL_VERSIONS)
      return on_versions(hs, c);
    if (c->command == CELL_AUTHORIZE && hs->role == LINK_ROLE_RESPONDER)
      return LINK_OK;
    return hs_fail(hs, LINK_ERR_PROTOCOL, "first cell is not VERSIONS");
  case STEP_WAIT_CERTS:
    if (c->command == CELL_VERSIONS)   /* 4.1: later ones are ignored */
      return LINK_OK;
    if (c->command == CELL_CERTS)
      return on_certs_initiator(hs, c);
    return hs_fail(hs, LINK_ERR_PROTOCOL, "expected a CERTS cell");
  case STEP_WAIT_NETINFO:
    if (c->command == CELL_VERSIONS)
      return LINK_OK;
    return on_cell_wait_netinfo(hs, c);
  case STEP_WAIT_CLIENT:
    if (c->command == CELL_VERSIONS)
      return LINK_OK;
    return on_cell_wait_client(hs, c);
  default:
    return LINK_ERR_STATE;
  }
}

int link_handshake_feed(link_handshake_t *hs, const uint8_t *data,
                        size_t len, size_t *consumed)
{
  size_t off = 0;
  *consumed = 0;
  if (hs->step == STEP_FAILED)
    return hs->err ? hs->err : LINK_ERR_STATE;
  while (hs->step != STEP_DONE && off < len) {
    size_t n = 0, used = 0;
    unsigned lp = hs->peer.linkproto;
    cell_frame_t fr = cell_frame_next(data + off, len - off, lp, &n);
    if (fr == CELL_FRAME_NEED_MORE)
      break;
    if (fr != CELL_FRAME_CELL)
      return hs_fail(hs, LINK_ERR_MALFORMED, "cannot frame cell");
    cell_t c;
    if (cell_decode(&c, data + off, len - off, lp, &used) < 0)
      return hs_fail(hs, LINK_ERR_MALFORMED, "cannot decode cell");
    if (c.circ_id != 0)
      return hs_fail(hs, LINK_ERR_PROTOCOL,
                     "handshake cell with a circuit id");
    /* 4.4.2 SLOG/CLOG: every byte received before AUTHENTICATE. */
    if (c.command != CELL_AUTHENTICATE)
      digest_ctx_add(hs->dig_recv, data + off, used);
    off += used;
    *consumed = off;
    int r = handle_cell(hs, &c);
    if (r < 0)
      return r;
  }
  return LINK_OK;
}

const uint8_t *link_handshake_output(const link_handshake_t *hs, size_t *len)
{
  *len = hs->out_len;
  return hs->out;
}

void link_handshake_output_drain(link_handshake_t *hs, size_t n)
{
  if (n >= hs->out_len) {
    hs->out_len = 0;
    return;
  }
  memmove(hs->out, hs->out + n, hs->out_len - n);
  hs->out_len -= n;
}

link_state_t link_handshake_state(const link_handshake_t *hs)
{
  if (hs->step == STEP_DONE)
    return LINK_HS_DONE;
  if (hs->step == STEP_FAILED)
    return LINK_HS_FAILED;
  return LINK_HS_RUNNING;
}

int link_handshake_error(const link_handshake_t *hs, const char **why)
{
  if (why)
    *why = hs->why ? hs->why : "";
  return hs->err;
}

unsigned link_handshake_linkproto(const link_handshake_t *hs)
{
  return hs->peer.linkproto;
}

const link_peer_t *link_handshake_peer(const link_handshake_t *hs)
{
  return &hs->peer;
}
