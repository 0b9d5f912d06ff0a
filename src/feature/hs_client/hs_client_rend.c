/* hs_client_rend.c -- the client's introduction and rendezvous with an
 * onion service (rend-spec-v3 3.2 INTRODUCE1 / INTRODUCE_ACK, 3.3 the
 * encrypted plaintext, 3.3.2 hs-ntor client side, 4.1
 * ESTABLISH_RENDEZVOUS, 4.2 RENDEZVOUS2, 4.2.1 key expansion -> the virtual
 * hop).  Sans-IO over the caller's circuit operations; see
 * include/allium/feature/hs_client/hs_client_rend.h. */
#define LOG_MODULE "hs_client"
#include "allium/feature/hs_client/hs_client_rend.h"

#include <stdio.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/circuit/congestion_codec.h"
#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/feature/nodelist/routerset.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define DEFAULT_INTRO_TIMEOUT_MSEC 30000u
#define DEFAULT_TOTAL_TIMEOUT_MSEC 120000u
/** Rendezvous circuits launched per attempt before giving up (only while
 * no INTRODUCE1 went out: after that the service may be on its way to the
 * cookie, and a new circuit could not be found). */
#define MAX_RP_LAUNCHES 2u
/** No failure pending. */
#define NO_STATUS 1

typedef struct rend_ip_t {
  circ_hop_spec_t spec;
  uint8_t auth_key[HS_CELL_AUTH_KEY_LEN];   /* KP_hs_ipt_sid */
  uint8_t enc_key[X25519_KEY_LEN];          /* B, KP_hss_ntor */
  x25519_keypair_t x;                       /* ours, once sent */
  bool sent;
} rend_ip_t;

typedef enum rp_state_t {
  RP_NONE = 0,
  RP_BUILDING,
  RP_ESTABLISHING,   /* ESTABLISH_RENDEZVOUS sent */
  RP_READY,          /* RENDEZVOUS_ESTABLISHED in */
} rp_state_t;

typedef enum ip_state_t {
  IP_NONE = 0,
  IP_BUILDING,
  IP_BUILT,          /* waiting for the rendezvous point */
  IP_SENT,           /* INTRODUCE1 out, ack awaited */
} ip_state_t;

struct hs_client_rend_t {
  hs_client_rend_net_t net;
  hs_client_rend_done_fn done;
  void *arg;
  ed25519_public_key_t service_pk;
  uint8_t subcred[32];
  rend_ip_t ips[HS_DESC_MAX_INTRO_POINTS];
  size_t n_ips;
  size_t next_ip;            /* next index of ips to try */
  size_t cur_ip;             /* the one ip_circ goes to */
  circ_hop_spec_t rp;
  uint8_t cookie[HS_CELL_COOKIE_LEN];
  uint64_t rp_circ;          /* 0: none */
  rp_state_t rp_state;
  unsigned rp_launches;
  uint64_t ip_circ;          /* 0: none */
  ip_state_t ip_state;
  uint64_t ip_deadline;      /* 0: none */
  uint64_t total_deadline;
  uint32_t intro_timeout;
  bool any_sent;             /* an INTRODUCE1 went out */
  bool acked;                /* an INTRODUCE_ACK with status 0 came */
  bool intro_timed_out;      /* an intro point did not answer in time */
  int pending_status;        /* failure found in start (NO_STATUS: none) */
  bool in_start;             /* inside hs_client_rend_start(): defer done */
  bool finished;
  /* Proposal 324 9: congestion control asked for in INTRODUCE1 (the
   * descriptor's flow-control line and our consensus allow it). */
  bool want_cc;
  uint8_t cc_sendme_inc;     /* the descriptor's */
  cc_params_t cc;            /* with want_cc: our consensus's */
};

static const hs_client_rend_circ_ev_t rend_ev;

const char *
hs_client_rend_status_name(int status)
{
  switch (status) {
  case HS_CLIENT_REND_OK: return "joined";
  case HS_CLIENT_REND_ERR_INTRO: return "introduction failed";
  case HS_CLIENT_REND_ERR_REND: return "rendezvous failed";
  case HS_CLIENT_REND_ERR_TIMEOUT: return "introduction timed out";
  case HS_CLIENT_REND_ERR_NO_PATH: return "no rendezvous path";
  default: return "unknown";
  }
}

static uint64_t
now_msec(const hs_client_rend_t *r)
{
  return r->net.now_msec(r->net.ctx);
}

/* Close a circuit we own; its handle is forgotten first, so the closed
 * event that may run inside is not ours any more. */
static void
close_circ(hs_client_rend_t *r, uint64_t *circ)
{
  uint64_t h = *circ;
  *circ = 0;
  if (h)
    r->net.close(r->net.ctx, h);
}

static void
wipe_secrets(hs_client_rend_t *r)
{
  for (size_t i = 0; i < r->n_ips; i++)
    memwipe(&r->ips[i].x, sizeof(r->ips[i].x));
  memwipe(r->cookie, sizeof(r->cookie));
  memwipe(r->subcred, sizeof(r->subcred));
}

/* Report once; circ is the joined circuit (OK) or 0.  r may be freed by
 * done: nothing touches it afterwards. */
static void
finish(hs_client_rend_t *r, int status, uint64_t circ)
{
  if (r->finished)
    return;
  if (r->in_start) {
    if (r->pending_status == NO_STATUS)
      r->pending_status = status;   /* reported by the first tick */
    return;
  }
  r->finished = true;
  r->ip_state = IP_NONE;
  close_circ(r, &r->ip_circ);
  if (status != HS_CLIENT_REND_OK)
    close_circ(r, &r->rp_circ);
  r->rp_circ = 0;
  wipe_secrets(r);
  if (status == HS_CLIENT_REND_OK)
    log_info_rl(60, "Onion service rendezvous complete: circuit ready");
  else
    log_info_rl(60, "Onion service connection failed: %s",
                hs_client_rend_status_name(status));
  r->done(r->arg, status, circ);
}

/* ---- link specifiers and hop specs ---- */

int
hs_client_rend_spec_from_node(const node_t *n, circ_hop_spec_t *out)
{
  static const uint8_t zero4[4] = { 0 };
  if (!n || !out)
    return -1;
  memset(out, 0, sizeof(*out));
  if (!n->has_ntor_key || n->orport == 0 || !memcmp(n->ipv4, zero4, 4))
    return -1;
  memcpy(out->rsa_id, n->rsa_id, sizeof(out->rsa_id));
  if (n->has_ed25519_id) {
    memcpy(out->ed_id, n->ed25519_id, sizeof(out->ed_id));
    out->has_ed_id = true;
  }
  memcpy(out->ntor_key, n->ntor_key, sizeof(out->ntor_key));
  out->addr[0].type = RELAY_LSPEC_IPV4;
  out->addr[0].len = 6;
  memcpy(out->addr[0].u.ipv4.addr, n->ipv4, 4);
  out->addr[0].u.ipv4.port = n->orport;
  out->n_addr = 1;
  if (n->has_ipv6 && n->ipv6_port) {
    out->addr[1].type = RELAY_LSPEC_IPV6;
    out->addr[1].len = 18;
    memcpy(out->addr[1].u.ipv6.addr, n->ipv6, 16);
    out->addr[1].u.ipv6.port = n->ipv6_port;
    out->n_addr = 2;
  }
  return 0;
}

/* Fill out from the decoded link specifiers m (first of each kind). */
static int
spec_from_lspecs(const relay_extend2_t *m, circ_hop_spec_t *out)
{
  bool v4 = false, v6 = false, legacy = false;
  relay_lspec_t a6;
  memset(&a6, 0, sizeof(a6));
  for (size_t i = 0; i < m->n_spec; i++) {
    const relay_lspec_t *l = &m->spec[i];
    if (l->type == RELAY_LSPEC_IPV4 && !v4) {
      out->addr[0] = *l;
      v4 = true;
    } else if (l->type == RELAY_LSPEC_IPV6 && !v6) {
      a6 = *l;
      v6 = true;
    } else if (l->type == RELAY_LSPEC_LEGACY_ID && !legacy) {
      memcpy(out->rsa_id, l->u.legacy_id, RELAY_LEGACY_ID_LEN);
      legacy = true;
    } else if (l->type == RELAY_LSPEC_ED25519_ID && !out->has_ed_id) {
      memcpy(out->ed_id, l->u.ed25519_id, RELAY_ED25519_ID_LEN);
      out->has_ed_id = true;
    }
  }
  /* chanmgr connects to the first address: IPv4 first, as we require it. */
  if (!v4 || !legacy || out->addr[0].u.ipv4.port == 0)
    return -1;
  out->n_addr = 1;
  if (v6 && a6.u.ipv6.port) {
    out->addr[1] = a6;
    out->n_addr = 2;
  }
  return 0;
}

int
hs_client_rend_spec_from_intro(const hs_desc_intro_point_t *ip,
                               circ_hop_spec_t *out)
{
  if (!ip || !out)
    return -1;
  memset(out, 0, sizeof(*out));
  relay_extend2_t *m = al_calloc(1, sizeof(*m));
  int r = hs_desc_intro_point_lspecs(ip, m) == HS_DESC_OK
          ? spec_from_lspecs(m, out) : -1;
  al_free(m);
  if (r < 0)
    return -1;
  memcpy(out->ntor_key, ip->onion_key, sizeof(out->ntor_key));
  return 0;
}

/* ---- rendezvous point choice ---- */

static bool
rp_filter(const node_t *n, void *arg)
{
  const pathsel_options_t *o = arg;
  static const uint8_t zero4[4] = { 0 };
  if (!node_is_usable(n) || !(n->flags & NODE_FLAG_FAST) ||
      !memcmp(n->ipv4, zero4, 4) || n->orport == 0)
    return false;
  if (!n->protocols || !cc_protover_has(n->protocols, "HSRend", 2))
    return false;
  return !(o && o->exclude_nodes &&
           routerset_contains_node(o->exclude_nodes, n));
}

const node_t *
hs_client_rend_choose_rp(const nodelist_t *nl, const pathsel_options_t *o,
                         const pathsel_rng_t *rng)
{
  if (!nl)
    return NULL;
  return pathsel_choose_weighted(nl, PATHSEL_POS_MIDDLE, rp_filter,
                                 (void *)o, rng);
}

/* ---- INTRODUCE1 ---- */

/* The plaintext of 3.3 into buf (room for max bytes), zero-padded to at
 * least min bytes; *len_out its length. */
static int
intro_plaintext(uint8_t *buf, size_t max, size_t min, size_t *len_out,
                const uint8_t cookie[HS_CELL_COOKIE_LEN],
                const circ_hop_spec_t *rp, bool want_cc)
{
  hs_intro2_plain_t *p = al_calloc(1, sizeof(*p));
  size_t n = 0;
  int r = -1;
  memcpy(p->cookie, cookie, HS_CELL_COOKIE_LEN);
  if (want_cc) {
    /* Proposal 324 9.2: the congestion control request, empty. */
    p->exts.n = 1;
    p->exts.ext[0].type = HS_EXT_INTRO2_CC_REQUEST;
    p->exts.ext[0].len = 0;
  }
  memcpy(p->onion_key, rp->ntor_key, HS_CELL_ONION_KEY_LEN);
  for (uint8_t i = 0; i < rp->n_addr && i < 2; i++)
    p->spec[p->n_spec++] = rp->addr[i];
  relay_lspec_t *l = &p->spec[p->n_spec++];
  l->type = RELAY_LSPEC_LEGACY_ID;
  l->len = RELAY_LEGACY_ID_LEN;
  memcpy(l->u.legacy_id, rp->rsa_id, RELAY_LEGACY_ID_LEN);
  if (rp->has_ed_id) {
    l = &p->spec[p->n_spec++];
    l->type = RELAY_LSPEC_ED25519_ID;
    l->len = RELAY_ED25519_ID_LEN;
    memcpy(l->u.ed25519_id, rp->ed_id, RELAY_ED25519_ID_LEN);
  }
  if (hs_intro2_plain_encode(p, buf, max, &n) == 0) {
    p->pad_len = n < min ? min - n : 0;
    if (hs_intro2_plain_encode(p, buf, max, &n) == 0) {
      *len_out = n;
      r = 0;
    }
  }
  memwipe(p, sizeof(*p));
  al_free(p);
  return r;
}

int
hs_client_introduce1_build(uint8_t *out, size_t outlen, size_t *len_out,
                           const uint8_t auth_key[HS_CELL_AUTH_KEY_LEN],
                           const uint8_t B[32], const uint8_t subcred[32],
                           const x25519_keypair_t *x,
                           const uint8_t cookie[HS_CELL_COOKIE_LEN],
                           const circ_hop_spec_t *rp)
{
  return hs_client_introduce1_build_cc(out, outlen, len_out, auth_key, B,
                                       subcred, x, cookie, rp, false);
}

int
hs_client_introduce1_build_cc(uint8_t *out, size_t outlen, size_t *len_out,
                              const uint8_t auth_key[HS_CELL_AUTH_KEY_LEN],
                              const uint8_t B[32], const uint8_t subcred[32],
                              const x25519_keypair_t *x,
                              const uint8_t cookie[HS_CELL_COOKIE_LEN],
                              const circ_hop_spec_t *rp, bool want_cc)
{
  /* LEGACY_KEY_ID, AUTH_KEY_TYPE, AUTH_KEY_LEN, AUTH_KEY, N_EXTENSIONS */
  const size_t hdr = HS_CELL_LEGACY_KEY_ID_LEN + 1 + 2 + HS_CELL_AUTH_KEY_LEN + 1;
  const size_t overhead = hdr + HS_CELL_CLIENT_PK_LEN + HS_CELL_MAC_LEN;
  uint8_t enc[HS_CLIENT_INTRODUCE1_MAX_LEN];
  hs_ntor_intro_keys_t k;
  hs_introduce1_t *m = NULL;
  size_t plain_len = 0;
  int r = -1;
  if (!out || !len_out || !auth_key || !B || !subcred || !x || !cookie ||
      !rp)
    return -1;
  memcpy(enc, x->pub, HS_CELL_CLIENT_PK_LEN);
  uint8_t *pt = enc + HS_CELL_CLIENT_PK_LEN;
  if (intro_plaintext(pt, HS_CLIENT_INTRODUCE1_MAX_LEN - overhead,
                      HS_CLIENT_INTRODUCE1_PAD_TO - hdr, &plain_len, cookie,
                      rp, want_cc) < 0 ||
      hs_ntor_client_intro_keys(&k, x, B, auth_key, subcred) < 0 ||
      hs_ntor_intro_crypt(&k, pt, plain_len) < 0)
    goto done;
  memset(pt + plain_len, 0, HS_CELL_MAC_LEN);
  m = al_calloc(1, sizeof(*m));
  memcpy(m->auth_key, auth_key, HS_CELL_AUTH_KEY_LEN);
  m->encrypted = enc;
  m->encrypted_len = HS_CELL_CLIENT_PK_LEN + plain_len + HS_CELL_MAC_LEN;
  size_t n = 0;
  if (hs_introduce1_encode(m, out, outlen, &n) < 0 ||
      n != overhead + plain_len)
    goto done;
  /* MAC over the whole cell up to the MAC field (3.3.2). */
  if (hs_ntor_mac(out + n - HS_CELL_MAC_LEN, k.mac_key, sizeof(k.mac_key),
                  out, n - HS_CELL_MAC_LEN) < 0)
    goto done;
  *len_out = n;
  r = 0;
 done:
  memwipe(&k, sizeof(k));
  memwipe(enc, sizeof(enc));
  al_free(m);
  return r;
}

/* ---- the attempt ---- */

static void launch_next_intro(hs_client_rend_t *r);

static int
launch_rp(hs_client_rend_t *r)
{
  crypto_rand(r->cookie, sizeof(r->cookie));
  r->rp_launches++;
  if (r->net.launch(r->net.ctx, &r->rp, &rend_ev, r, &r->rp_circ) < 0 ||
      r->rp_circ == 0) {
    r->rp_circ = 0;
    return -1;
  }
  r->rp_state = RP_BUILDING;
  return 0;
}

/* Both circuits ready: send INTRODUCE1 to the current intro point. */
static void
maybe_introduce(hs_client_rend_t *r)
{
  if (r->ip_state != IP_BUILT || r->rp_state != RP_READY)
    return;
  rend_ip_t *ip = &r->ips[r->cur_ip];
  uint8_t body[HS_CLIENT_INTRODUCE1_MAX_LEN];
  size_t n = 0;
  int e = -1;
  if (x25519_keypair_generate(&ip->x) == 0 &&
      hs_client_introduce1_build_cc(body, sizeof(body), &n, ip->auth_key,
                                    ip->enc_key, r->subcred, &ip->x,
                                    r->cookie, &r->rp, r->want_cc) == 0)
    e = r->net.send(r->net.ctx, r->ip_circ, RELAY_INTRODUCE1, body, n);
  memwipe(body, sizeof(body));
  if (e < 0) {
    log_info_rl(60, "Could not send INTRODUCE1; trying the next "
                "introduction point");
    r->ip_state = IP_NONE;
    close_circ(r, &r->ip_circ);
    launch_next_intro(r);
    return;
  }
  ip->sent = true;
  r->any_sent = true;
  r->ip_state = IP_SENT;
  r->ip_deadline = now_msec(r) + r->intro_timeout;
}

/* Circuit to the next untried introduction point, or the intro failure. */
static void
launch_next_intro(hs_client_rend_t *r)
{
  while (r->next_ip < r->n_ips) {
    r->cur_ip = r->next_ip++;
    uint64_t h = 0;
    if (r->net.launch(r->net.ctx, &r->ips[r->cur_ip].spec, &rend_ev, r,
                      &h) == 0 && h) {
      r->ip_circ = h;
      r->ip_state = IP_BUILDING;
      r->ip_deadline = now_msec(r) + r->intro_timeout;
      return;
    }
  }
  r->ip_state = IP_NONE;
  r->ip_deadline = 0;
  if (r->acked)
    return;   /* the service has our INTRODUCE1: RENDEZVOUS2 is awaited */
  finish(r, r->intro_timed_out ? HS_CLIENT_REND_ERR_TIMEOUT
                               : HS_CLIENT_REND_ERR_INTRO, 0);
}

/* The current intro point failed; fail over. */
static void
intro_failed(hs_client_rend_t *r, const char *why)
{
  log_info_rl(60, "Introduction point %zu of %zu: %s; trying the next",
              r->next_ip, r->n_ips, why);
  r->ip_state = IP_NONE;
  r->ip_deadline = 0;
  close_circ(r, &r->ip_circ);
  launch_next_intro(r);
}

static void
handle_introduce_ack(hs_client_rend_t *r, const uint8_t *body, size_t len)
{
  hs_introduce_ack_t *a = al_calloc(1, sizeof(*a));
  int e = hs_introduce_ack_decode(a, body, len);
  uint16_t status = a->status;
  al_free(a);
  if (e < 0) {
    intro_failed(r, "malformed INTRODUCE_ACK");
    return;
  }
  if (status != HS_INTRO_ACK_SUCCESS) {
    intro_failed(r, status == HS_INTRO_ACK_UNKNOWN_SERVICE
                 ? "service unknown there" : "introduction refused");
    return;
  }
  log_info_rl(60, "Introduction acknowledged; waiting for the service at "
              "the rendezvous point");
  r->acked = true;
  r->ip_state = IP_NONE;
  r->ip_deadline = 0;
  close_circ(r, &r->ip_circ);   /* tor closes it too: used once */
}

/* RENDEZVOUS2: finish hs-ntor with the x of whichever INTRODUCE1 the
 * service answered, join, hand the circuit over. */
static void
handle_rendezvous2(hs_client_rend_t *r, const uint8_t *body, size_t len)
{
  hs_rendezvous2_t m;
  hs_ntor_rend_keys_t k;
  uint8_t info[HS_NTOR_HANDSHAKE_INFO_LEN];
  uint8_t keys[HS_NTOR_KEY_EXPANSION_LEN];
  bool ok = false;
  memset(&k, 0, sizeof(k));
  if (hs_rendezvous2_decode(&m, body, len) == 0) {
    memcpy(info, m.server_pk, 32);
    memcpy(info + 32, m.auth, 32);
    for (size_t i = 0; i < r->n_ips && !ok; i++)
      if (r->ips[i].sent &&
          hs_ntor_client_rend_keys(&k, &r->ips[i].x, r->ips[i].enc_key,
                                   r->ips[i].auth_key, info) == 0)
        ok = true;
  }
  ok = ok && hs_ntor_key_expansion(keys, k.ntor_key_seed) == 0;
  memwipe(&k, sizeof(k));
  uint64_t h = r->rp_circ;
  ok = ok && r->net.join(r->net.ctx, h, keys, r->want_cc ? &r->cc : NULL,
                         r->want_cc ? r->cc_sendme_inc : 0) == 0;
  memwipe(keys, sizeof(keys));
  if (!ok) {
    log_info_rl(60, "Bad RENDEZVOUS2 (handshake did not verify)");
    finish(r, HS_CLIENT_REND_ERR_REND, 0);
    return;
  }
  r->rp_circ = 0;   /* the caller's now */
  finish(r, HS_CLIENT_REND_OK, h);
}

/* ---- circuit events ---- */

static void
ev_built(void *arg, uint64_t circ)
{
  hs_client_rend_t *r = arg;
  if (r->finished || circ == 0)
    return;
  if (circ == r->rp_circ && r->rp_state == RP_BUILDING) {
    uint8_t body[HS_CELL_COOKIE_LEN];
    size_t n = 0;
    if (hs_establish_rendezvous_encode(r->cookie, body, sizeof(body),
                                       &n) < 0 ||
        r->net.send(r->net.ctx, circ, RELAY_ESTABLISH_RENDEZVOUS, body,
                    n) < 0) {
      memwipe(body, sizeof(body));
      close_circ(r, &r->rp_circ);   /* closed handler is not called */
      finish(r, HS_CLIENT_REND_ERR_REND, 0);
      return;
    }
    memwipe(body, sizeof(body));
    r->rp_state = RP_ESTABLISHING;
  } else if (circ == r->ip_circ && r->ip_state == IP_BUILDING) {
    r->ip_state = IP_BUILT;
    r->ip_deadline = 0;   /* waits for the rendezvous point, total only */
    maybe_introduce(r);
  }
}

static void
ev_closed(void *arg, uint64_t circ)
{
  hs_client_rend_t *r = arg;
  if (r->finished || circ == 0)
    return;
  if (circ == r->rp_circ) {
    r->rp_circ = 0;
    r->rp_state = RP_NONE;
    if (r->any_sent || r->rp_launches >= MAX_RP_LAUNCHES) {
      finish(r, HS_CLIENT_REND_ERR_REND, 0);
      return;
    }
    log_info_rl(60, "Rendezvous circuit failed before use; another one");
    if (launch_rp(r) < 0)
      finish(r, HS_CLIENT_REND_ERR_NO_PATH, 0);
  } else if (circ == r->ip_circ) {
    r->ip_circ = 0;
    intro_failed(r, "its circuit closed");
  }
}

static void
ev_relay_msg(void *arg, uint64_t circ, bool last_hop, uint8_t command,
             const uint8_t *body, size_t len)
{
  hs_client_rend_t *r = arg;
  if (r->finished || circ == 0 || !last_hop)
    return;
  if (circ == r->rp_circ) {
    if (command == RELAY_RENDEZVOUS_ESTABLISHED &&
        r->rp_state == RP_ESTABLISHING) {
      log_info_rl(60, "Rendezvous point established");
      r->rp_state = RP_READY;
      maybe_introduce(r);
    } else if (command == RELAY_RENDEZVOUS2 && r->rp_state == RP_READY &&
               r->any_sent) {
      handle_rendezvous2(r, body, len);
    } else {
      log_info_rl(60, "Unexpected relay command %u on a rendezvous circuit",
                  command);
    }
  } else if (circ == r->ip_circ) {
    if (command == RELAY_INTRODUCE_ACK && r->ip_state == IP_SENT)
      handle_introduce_ack(r, body, len);
    else
      log_info_rl(60, "Unexpected relay command %u on an introduction "
                  "circuit", command);
  }
}

static const hs_client_rend_circ_ev_t rend_ev = {
  ev_built, ev_closed, ev_relay_msg
};

/* ---- start / tick / free ---- */

/* Copy desc's usable introduction points in random order. */
static void
copy_intro_points(hs_client_rend_t *r, const hs_desc_layer2_t *desc)
{
  for (size_t i = 0; i < desc->n_intro && i < HS_DESC_MAX_INTRO_POINTS; i++) {
    const hs_desc_intro_point_t *d = &desc->intro[i];
    rend_ip_t *ip = &r->ips[r->n_ips];
    if (!d->auth_key_cert ||
        hs_client_rend_spec_from_intro(d, &ip->spec) < 0) {
      log_info_rl(60, "Skipping an introduction point we cannot reach");
      continue;
    }
    memcpy(ip->auth_key, d->auth_key_cert->certified_key,
           HS_CELL_AUTH_KEY_LEN);
    memcpy(ip->enc_key, d->enc_key, X25519_KEY_LEN);
    r->n_ips++;
  }
  for (size_t i = r->n_ips; i > 1; i--) {   /* Fisher-Yates */
    size_t j = (size_t)crypto_rand_uint64(i);
    rend_ip_t t = r->ips[i - 1];
    r->ips[i - 1] = r->ips[j];
    r->ips[j] = t;
    memwipe(&t, sizeof(t));
  }
}

bool
hs_client_rend_cc_usable(const hs_desc_layer2_t *desc,
                         const cc_params_t *cons)
{
  char pv[48];
  if (!desc || !cons || cons->alg == CC_ALG_FIXED || !desc->has_flow_control)
    return false;
  /* The versions as a protocol entry, to read the range like protover. */
  int w = snprintf(pv, sizeof(pv), "FlowCtrl=%s",
                   desc->flow_control_versions);
  if (w < 0 || (size_t)w >= sizeof(pv) || !cc_protover_has(pv, "FlowCtrl", 2))
    return false;
  /* 9.1: sendme-inc within a factor of 2 of our consensus's. */
  int32_t inc = desc->flow_control_sendme_inc, ours = cons->sendme_inc;
  return inc > 0 && inc * 2 >= ours && inc <= ours * 2;
}

/* Decide on congestion control for the attempt (proposal 324 9). */
static void
setup_cc(hs_client_rend_t *r, const hs_client_rend_cfg_t *cfg,
         const hs_desc_layer2_t *desc)
{
  r->want_cc = hs_client_rend_cc_usable(desc, cfg->cc);
  if (r->want_cc) {
    r->cc = *cfg->cc;
    r->cc_sendme_inc = desc->flow_control_sendme_inc;
  } else if (cfg->cc && cfg->cc->alg != CC_ALG_FIXED &&
             desc->has_flow_control) {
    log_info_rl(60, "The descriptor's flow-control line is unusable; "
                "no congestion control on the rendezvous circuit");
  }
}

/* The rendezvous point's hop spec; -1 if none. */
static int
pick_rp(hs_client_rend_t *r, const hs_client_rend_cfg_t *cfg)
{
  if (cfg->rp) {
    r->rp = *cfg->rp;
    return 0;
  }
  const node_t *n = hs_client_rend_choose_rp(cfg->nl, cfg->path_opts,
                                             cfg->rng);
  return n ? hs_client_rend_spec_from_node(n, &r->rp) : -1;
}

hs_client_rend_t *
hs_client_rend_start(const hs_client_rend_cfg_t *cfg,
                     const ed25519_public_key_t *service_pk,
                     const uint8_t subcred[32], const hs_desc_layer2_t *desc,
                     hs_client_rend_done_fn done, void *arg)
{
  if (!cfg || !service_pk || !subcred || !desc || !done ||
      !cfg->net.launch || !cfg->net.send || !cfg->net.join ||
      !cfg->net.close || !cfg->net.now_msec)
    return NULL;
  hs_client_rend_t *r = al_calloc(1, sizeof(*r));
  r->net = cfg->net;
  r->done = done;
  r->arg = arg;
  r->service_pk = *service_pk;
  memcpy(r->subcred, subcred, sizeof(r->subcred));
  r->intro_timeout = cfg->intro_timeout_msec ? cfg->intro_timeout_msec
                                             : DEFAULT_INTRO_TIMEOUT_MSEC;
  r->total_deadline = now_msec(r) + (cfg->total_timeout_msec
                                     ? cfg->total_timeout_msec
                                     : DEFAULT_TOTAL_TIMEOUT_MSEC);
  r->pending_status = NO_STATUS;
  r->in_start = true;
  setup_cc(r, cfg, desc);
  copy_intro_points(r, desc);
  if (r->n_ips == 0) {
    log_info_rl(60, "No usable introduction point in the descriptor");
    r->pending_status = HS_CLIENT_REND_ERR_INTRO;
  } else if (pick_rp(r, cfg) < 0 || launch_rp(r) < 0) {
    log_info_rl(60, "No rendezvous point (a node with HSRend=2) or no "
                "circuit to it");
    r->pending_status = HS_CLIENT_REND_ERR_NO_PATH;
  } else {
    launch_next_intro(r);   /* a failure here is deferred by finish() */
  }
  r->in_start = false;
  return r;
}

void
hs_client_rend_tick(hs_client_rend_t *r)
{
  if (!r || r->finished)
    return;
  if (r->pending_status != NO_STATUS) {
    finish(r, r->pending_status, 0);
    return;
  }
  uint64_t now = now_msec(r);
  if (now >= r->total_deadline) {
    finish(r, r->acked ? HS_CLIENT_REND_ERR_REND
                       : HS_CLIENT_REND_ERR_TIMEOUT, 0);
    return;
  }
  if (r->ip_deadline && now >= r->ip_deadline &&
      (r->ip_state == IP_BUILDING || r->ip_state == IP_SENT)) {
    r->intro_timed_out = true;
    intro_failed(r, r->ip_state == IP_SENT ? "no INTRODUCE_ACK in time"
                                           : "circuit build timed out");
  }
}

void
hs_client_rend_free_(hs_client_rend_t *r)
{
  if (!r)
    return;
  if (!r->finished) {
    r->finished = true;   /* closed events from here on are not ours */
    close_circ(r, &r->ip_circ);
    close_circ(r, &r->rp_circ);
  }
  wipe_secrets(r);
  memwipe(r, sizeof(*r));
  al_free(r);
}
