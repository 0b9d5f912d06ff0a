/* test_hs_client_rend.c -- the client's introduction and rendezvous
 * (rend-spec-v3 3.2-3.3, 4.1-4.2.1) against an in-process world: a fake
 * circuit layer (launch / send / join / close recorded, events fired by
 * the test), a fake service that really decrypts INTRODUCE1 with its
 * hs-ntor keys and answers with a real RENDEZVOUS1 handshake, and fake
 * intro / rendezvous points that ack, refuse, time out or vanish. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/cell/hs_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#include "netfix.h"

#define NOW ((time_t)1700000000)
#define MAX_CIRCS 32
#define MAX_MSGS 8
#define N_IPS_MAX 4

typedef struct fmsg_t {
  uint8_t command;
  uint8_t body[RELAY_BODY_MAX];
  size_t len;
} fmsg_t;

typedef struct fcirc_t {
  uint64_t h;
  circ_hop_spec_t last;
  hs_client_rend_circ_ev_t ev;
  void *arg;
  bool closed;           /* by the module (close op) or the test */
  bool closed_by_module;
  bool joined;
  uint8_t join_keys[CIRC_ORIGIN_HS_KEYS_LEN];
  bool join_cc;          /* joined with congestion control */
  uint8_t join_inc;
  fmsg_t msgs[MAX_MSGS];
  size_t n_msgs;
} fcirc_t;

/* The service's secrets for one introduction point. */
typedef struct fsvc_ip_t {
  ed25519_keypair_t auth;
  x25519_keypair_t enc;   /* b, B */
} fsvc_ip_t;

typedef struct world_t {
  fcirc_t c[MAX_CIRCS];
  size_t n;
  uint64_t now;
  int launch_fail;        /* launches to refuse from now on */
  int join_fail;
  ed25519_keypair_t signer;
  ed25519_public_key_t service_pk;
  uint8_t subcred[32];
  hs_desc_layer2_t *desc;
  fsvc_ip_t ips[N_IPS_MAX];
  circ_hop_spec_t rp;
  hs_client_rend_t *r;
  int n_done;
  int status;
  uint64_t done_circ;
  bool free_in_done;
  const cc_params_t *cc;  /* the client's consensus parameters, or NULL */
  int n_cc_req;           /* INTRODUCE1s carrying the CC request */
} world_t;

/* ---- the fake circuit layer ---- */

static int
f_launch(void *ctx, const circ_hop_spec_t *last,
         const hs_client_rend_circ_ev_t *ev, void *arg, uint64_t *out)
{
  world_t *w = ctx;
  if (w->launch_fail > 0) {
    w->launch_fail--;
    return -1;
  }
  cr_assert_lt(w->n, MAX_CIRCS);
  fcirc_t *c = &w->c[w->n++];
  memset(c, 0, sizeof(*c));
  c->h = 100 + w->n;
  c->last = *last;
  c->ev = *ev;
  c->arg = arg;
  *out = c->h;
  return 0;
}

static fcirc_t *
find(world_t *w, uint64_t h)
{
  for (size_t i = 0; i < w->n; i++)
    if (w->c[i].h == h)
      return &w->c[i];
  return NULL;
}

static int
f_send(void *ctx, uint64_t h, uint8_t command, const uint8_t *body,
       size_t len)
{
  fcirc_t *c = find(ctx, h);
  cr_assert_not_null(c);
  cr_assert_not(c->closed);
  cr_assert_lt(c->n_msgs, MAX_MSGS);
  cr_assert_leq(len, RELAY_BODY_MAX);
  fmsg_t *m = &c->msgs[c->n_msgs++];
  m->command = command;
  memcpy(m->body, body, len);
  m->len = len;
  return 0;
}

static int
f_join(void *ctx, uint64_t h, const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
       const cc_params_t *cc, uint8_t sendme_inc)
{
  world_t *w = ctx;
  fcirc_t *c = find(w, h);
  cr_assert_not_null(c);
  if (w->join_fail)
    return -1;
  c->joined = true;
  c->join_cc = cc != NULL;
  c->join_inc = sendme_inc;
  cr_assert(cc ? sendme_inc > 0 : sendme_inc == 0);
  memcpy(c->join_keys, keys, CIRC_ORIGIN_HS_KEYS_LEN);
  return 0;
}

static void
f_close(void *ctx, uint64_t h)
{
  fcirc_t *c = find(ctx, h);
  cr_assert_not_null(c);
  if (c->closed)
    return;
  c->closed = true;
  c->closed_by_module = true;
  c->ev.closed(c->arg, c->h);   /* as chanmgr: on_closed inside */
}

static uint64_t
f_now(void *ctx)
{
  return ((world_t *)ctx)->now;
}

static void
on_done(void *arg, int status, uint64_t circ)
{
  world_t *w = arg;
  w->n_done++;
  w->status = status;
  w->done_circ = circ;
  if (w->free_in_done)
    hs_client_rend_free(w->r);
}

/* ---- events the test fires ---- */

static void
fire_built(world_t *w, fcirc_t *c)
{
  c->ev.built(c->arg, c->h);
}

static void
fire_closed(world_t *w, fcirc_t *c)
{
  (void)w;
  c->closed = true;
  c->ev.closed(c->arg, c->h);
}

static void
fire_msg(fcirc_t *c, uint8_t command, const uint8_t *body, size_t len)
{
  c->ev.relay_msg(c->arg, c->h, true, command, body, len);
}

static void
fire_ack(fcirc_t *c, uint16_t status)
{
  hs_introduce_ack_t a;
  memset(&a, 0, sizeof(a));
  a.status = status;
  uint8_t b[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(hs_introduce_ack_encode(&a, b, sizeof(b), &n), 0);
  fire_msg(c, RELAY_INTRODUCE_ACK, b, n);
}

/* ---- the world ---- */

static void
make_intro(world_t *w, size_t i)
{
  hs_desc_intro_point_t *ip = &w->desc->intro[i];
  relay_extend2_t m;
  memset(&m, 0, sizeof(m));
  m.n_spec = 3;
  m.spec[0].type = RELAY_LSPEC_IPV4;
  m.spec[0].u.ipv4.addr[0] = 127;
  m.spec[0].u.ipv4.addr[3] = (uint8_t)(i + 10);
  m.spec[0].u.ipv4.port = (uint16_t)(5000 + i);
  m.spec[1].type = RELAY_LSPEC_LEGACY_ID;
  memset(m.spec[1].u.legacy_id, 0x30 + (int)i, RELAY_LEGACY_ID_LEN);
  m.spec[2].type = RELAY_LSPEC_ED25519_ID;
  memset(m.spec[2].u.ed25519_id, 0x60 + (int)i, RELAY_ED25519_ID_LEN);
  x25519_keypair_t onion;
  cr_assert_eq(x25519_keypair_generate(&onion), 0);
  memcpy(ip->onion_key, onion.pub, 32);
  cr_assert_eq(x25519_keypair_generate(&w->ips[i].enc), 0);
  memcpy(ip->enc_key, w->ips[i].enc.pub, 32);
  cr_assert_eq(ed25519_keypair_generate(&w->ips[i].auth), 0);
  cr_assert_eq(hs_desc_intro_point_init(ip, &m, &w->ips[i].auth.pub,
                                        &w->signer, NOW, 3600), 0);
}

static void
world_init(world_t *w, size_t n_ips)
{
  cr_assert_eq(crypto_global_init(), 0);
  memset(w, 0, sizeof(*w));
  w->now = 1000;
  cr_assert_eq(ed25519_keypair_generate(&w->signer), 0);
  crypto_rand(w->service_pk.pubkey, 32);
  crypto_rand(w->subcred, 32);
  w->desc = al_calloc(1, sizeof(*w->desc));
  w->desc->n_intro = n_ips;
  for (size_t i = 0; i < n_ips; i++)
    make_intro(w, i);
  x25519_keypair_t k;
  cr_assert_eq(x25519_keypair_generate(&k), 0);
  memset(w->rp.rsa_id, 0xaa, 20);
  memset(w->rp.ed_id, 0xbb, 32);
  w->rp.has_ed_id = true;
  memcpy(w->rp.ntor_key, k.pub, 32);
  w->rp.n_addr = 1;
  w->rp.addr[0].type = RELAY_LSPEC_IPV4;
  w->rp.addr[0].len = 6;
  w->rp.addr[0].u.ipv4.addr[0] = 127;
  w->rp.addr[0].u.ipv4.addr[3] = 99;
  w->rp.addr[0].u.ipv4.port = 9099;
}

static hs_client_rend_cfg_t
world_cfg(world_t *w)
{
  hs_client_rend_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.net.launch = f_launch;
  cfg.net.send = f_send;
  cfg.net.join = f_join;
  cfg.net.close = f_close;
  cfg.net.now_msec = f_now;
  cfg.net.ctx = w;
  cfg.rp = &w->rp;
  cfg.intro_timeout_msec = 5000;
  cfg.total_timeout_msec = 60000;
  cfg.cc = w->cc;
  return cfg;
}

static void
world_start(world_t *w)
{
  hs_client_rend_cfg_t cfg = world_cfg(w);
  w->r = hs_client_rend_start(&cfg, &w->service_pk, w->subcred, w->desc,
                              on_done, w);
  cr_assert_not_null(w->r);
  cr_assert_eq(w->n_done, 0);
}

static void
world_free(world_t *w)
{
  hs_client_rend_free(w->r);
  hs_desc_layer2_free(w->desc);
}

/* Which intro point of the descriptor circuit c goes to (by legacy id). */
static size_t
intro_index(world_t *w, const fcirc_t *c)
{
  for (size_t i = 0; i < w->desc->n_intro; i++) {
    uint8_t id[20];
    memset(id, 0x30 + (int)i, 20);
    if (!memcmp(c->last.rsa_id, id, 20))
      return i;
  }
  cr_assert_fail("circuit to an unknown relay");
  return 0;
}

/* The service's side of one INTRODUCE1: check and decrypt it, and make
 * the RENDEZVOUS1 HANDSHAKE_INFO; keys_out gets its key expansion. */
static void
service_answer(world_t *w, const fmsg_t *m, size_t ipi,
               uint8_t cookie_out[20], uint8_t info[64], uint8_t keys_out[128])
{
  cr_assert_eq(m->command, RELAY_INTRODUCE1);
  cr_assert_eq(m->len, 310);   /* as tor clients' (IPv4 rendezvous point) */
  hs_introduce1_t *in = al_calloc(1, sizeof(*in));
  cr_assert_eq(hs_introduce1_decode(in, m->body, m->len), 0);
  cr_assert_arr_eq(in->auth_key, w->ips[ipi].auth.pub.pubkey, 32);
  hs_ntor_intro_keys_t k;
  cr_assert_eq(hs_ntor_service_intro_keys(&k, &w->ips[ipi].enc, in->client_pk,
                                          in->auth_key, w->subcred), 0);
  uint8_t mac[32];
  cr_assert_eq(hs_ntor_mac(mac, k.mac_key, 32, m->body, in->mac_covered_len),
               0);
  cr_assert_arr_eq(mac, in->mac, 32);
  uint8_t pt[RELAY_BODY_MAX];
  memcpy(pt, in->enc_data, in->enc_data_len);
  cr_assert_eq(hs_ntor_intro_crypt(&k, pt, in->enc_data_len), 0);
  hs_intro2_plain_t *p = al_calloc(1, sizeof(*p));
  cr_assert_eq(hs_intro2_plain_decode(p, pt, in->enc_data_len), 0);
  memcpy(cookie_out, p->cookie, 20);
  if (hs_cell_exts_find(&p->exts, HS_EXT_INTRO2_CC_REQUEST))
    w->n_cc_req++;
  cr_assert_arr_eq(p->onion_key, w->rp.ntor_key, 32);
  bool has_legacy = false, has_ed = false, has_v4 = false;
  for (size_t i = 0; i < p->n_spec; i++) {
    if (p->spec[i].type == RELAY_LSPEC_LEGACY_ID)
      has_legacy = !memcmp(p->spec[i].u.legacy_id, w->rp.rsa_id, 20);
    if (p->spec[i].type == RELAY_LSPEC_ED25519_ID)
      has_ed = !memcmp(p->spec[i].u.ed25519_id, w->rp.ed_id, 32);
    if (p->spec[i].type == RELAY_LSPEC_IPV4)
      has_v4 = p->spec[i].u.ipv4.port == 9099;
  }
  cr_assert(has_legacy && has_ed && has_v4);
  x25519_keypair_t y;
  cr_assert_eq(x25519_keypair_generate(&y), 0);
  hs_ntor_rend_keys_t rk;
  cr_assert_eq(hs_ntor_service_rend_keys(&rk, &w->ips[ipi].enc, &y,
                                         in->client_pk, in->auth_key), 0);
  memcpy(info, y.pub, 32);
  memcpy(info + 32, rk.auth_input_mac, 32);
  cr_assert_eq(hs_ntor_key_expansion(keys_out, rk.ntor_key_seed), 0);
  al_free(p);
  al_free(in);
}

/* Start, build both circuits, establish the rendezvous point: returns the
 * rendezvous circuit; *ipc the intro circuit with INTRODUCE1 sent. */
static fcirc_t *
world_to_introduce(world_t *w, fcirc_t **ipc, uint8_t cookie[20])
{
  world_start(w);
  cr_assert_eq(w->n, 2);
  fcirc_t *rp = &w->c[0];
  fcirc_t *ip = &w->c[1];
  cr_assert_arr_eq(rp->last.rsa_id, w->rp.rsa_id, 20);
  fire_built(w, ip);
  cr_assert_eq(ip->n_msgs, 0);   /* the rendezvous point is not ready */
  fire_built(w, rp);
  cr_assert_eq(rp->n_msgs, 1);
  cr_assert_eq(rp->msgs[0].command, RELAY_ESTABLISH_RENDEZVOUS);
  cr_assert_eq(rp->msgs[0].len, 20);
  memcpy(cookie, rp->msgs[0].body, 20);
  cr_assert_eq(ip->n_msgs, 0);
  fire_msg(rp, RELAY_RENDEZVOUS_ESTABLISHED, NULL, 0);
  cr_assert_eq(ip->n_msgs, 1);
  *ipc = ip;
  return rp;
}

/* ---- tests ---- */

Test(hs_client_rend, introduce_and_rendezvous)
{
  world_t w;
  world_init(&w, 3);
  fcirc_t *ip;
  uint8_t cookie[20], got_cookie[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  size_t ipi = intro_index(&w, ip);
  /* The intro circuit ends at the intro point the link specifiers name. */
  cr_assert_eq(ip->last.addr[0].u.ipv4.port, 5000 + ipi);
  cr_assert(ip->last.has_ed_id);
  cr_assert_arr_eq(ip->last.ntor_key, w.desc->intro[ipi].onion_key, 32);
  service_answer(&w, &ip->msgs[0], ipi, got_cookie, info, keys);
  cr_assert_arr_eq(got_cookie, cookie, 20);
  fire_ack(ip, HS_INTRO_ACK_SUCCESS);
  cr_assert(ip->closed_by_module);
  cr_assert_eq(w.n_done, 0);
  fire_msg(rp, RELAY_RENDEZVOUS2, info, sizeof(info));
  cr_assert_eq(w.n_done, 1);
  cr_assert_eq(w.status, HS_CLIENT_REND_OK);
  cr_assert_eq(w.done_circ, rp->h);
  cr_assert(rp->joined);
  cr_assert_arr_eq(rp->join_keys, keys, 128);
  cr_assert_not(rp->closed);
  /* Freeing afterwards leaves the caller's circuit alone. */
  hs_client_rend_free(w.r);
  cr_assert_not(rp->closed);
  world_free(&w);
}

Test(hs_client_rend, rendezvous2_before_the_ack_is_fine)
{
  world_t w;
  world_init(&w, 1);
  fcirc_t *ip;
  uint8_t cookie[20], c2[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  service_answer(&w, &ip->msgs[0], 0, c2, info, keys);
  fire_msg(rp, RELAY_RENDEZVOUS2, info, sizeof(info));
  cr_assert_eq(w.status, HS_CLIENT_REND_OK);
  cr_assert(ip->closed_by_module);
  world_free(&w);
}

Test(hs_client_rend, nack_then_next_intro_point)
{
  world_t w;
  world_init(&w, 2);
  fcirc_t *ip;
  uint8_t cookie[20], c2[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  size_t first = intro_index(&w, ip);
  fire_ack(ip, HS_INTRO_ACK_UNKNOWN_SERVICE);
  cr_assert(ip->closed_by_module);
  cr_assert_eq(w.n, 3);
  fcirc_t *ip2 = &w.c[2];
  size_t second = intro_index(&w, ip2);
  cr_assert_neq(first, second);
  fire_built(&w, ip2);   /* rendezvous point ready: INTRODUCE1 at once */
  cr_assert_eq(ip2->n_msgs, 1);
  /* A fresh client key for each intro point. */
  cr_assert(memcmp(ip->msgs[0].body + 56, ip2->msgs[0].body + 56, 32) != 0);
  service_answer(&w, &ip2->msgs[0], second, c2, info, keys);
  cr_assert_arr_eq(c2, cookie, 20);   /* same rendezvous circuit, cookie */
  fire_ack(ip2, HS_INTRO_ACK_SUCCESS);
  fire_msg(rp, RELAY_RENDEZVOUS2, info, sizeof(info));
  cr_assert_eq(w.status, HS_CLIENT_REND_OK);
  world_free(&w);
}

Test(hs_client_rend, every_intro_point_refuses)
{
  world_t w;
  world_init(&w, 2);
  fcirc_t *ip;
  uint8_t cookie[20];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  fire_ack(ip, HS_INTRO_ACK_CANT_RELAY);
  fire_built(&w, &w.c[2]);
  cr_assert_eq(w.c[2].n_msgs, 1);
  /* A malformed ack counts as a refusal too. */
  uint8_t bad[1] = { 0 };
  fire_msg(&w.c[2], RELAY_INTRODUCE_ACK, bad, 1);
  cr_assert_eq(w.n_done, 1);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_INTRO);
  cr_assert(rp->closed_by_module);
  cr_assert_eq(w.n, 3);
  world_free(&w);
}

Test(hs_client_rend, intro_circuits_fail_to_build)
{
  world_t w;
  world_init(&w, 3);
  world_start(&w);
  fire_built(&w, &w.c[0]);
  fire_closed(&w, &w.c[1]);
  fire_closed(&w, &w.c[2]);
  cr_assert_eq(w.n_done, 0);
  fire_closed(&w, &w.c[3]);
  cr_assert_eq(w.n_done, 1);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_INTRO);
  cr_assert(w.c[0].closed_by_module);
  world_free(&w);
}

Test(hs_client_rend, no_ack_in_time_is_a_timeout)
{
  world_t w;
  world_init(&w, 2);
  fcirc_t *ip;
  uint8_t cookie[20];
  world_to_introduce(&w, &ip, cookie);
  w.now += 4999;
  hs_client_rend_tick(w.r);
  cr_assert_eq(w.n, 2);
  w.now += 1;
  hs_client_rend_tick(w.r);
  cr_assert(ip->closed_by_module);
  cr_assert_eq(w.n, 3);
  /* The second intro circuit never finishes building. */
  w.now += 5000;
  hs_client_rend_tick(w.r);
  cr_assert_eq(w.n_done, 1);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_TIMEOUT);
  world_free(&w);
}

Test(hs_client_rend, late_rendezvous2_for_an_earlier_intro_point)
{
  world_t w;
  world_init(&w, 2);
  fcirc_t *ip;
  uint8_t cookie[20], c2[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  size_t first = intro_index(&w, ip);
  w.now += 5000;
  hs_client_rend_tick(w.r);          /* no ack: next intro point */
  fire_built(&w, &w.c[2]);
  cr_assert_eq(w.c[2].n_msgs, 1);
  /* The first INTRODUCE1 reached the service after all. */
  service_answer(&w, &ip->msgs[0], first, c2, info, keys);
  fire_msg(rp, RELAY_RENDEZVOUS2, info, sizeof(info));
  cr_assert_eq(w.status, HS_CLIENT_REND_OK);
  cr_assert_arr_eq(rp->join_keys, keys, 128);
  cr_assert(w.c[2].closed_by_module);
  world_free(&w);
}

Test(hs_client_rend, bad_rendezvous2_fails_the_rendezvous)
{
  world_t w;
  world_init(&w, 1);
  fcirc_t *ip;
  uint8_t cookie[20], c2[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  service_answer(&w, &ip->msgs[0], 0, c2, info, keys);
  fire_ack(ip, HS_INTRO_ACK_SUCCESS);
  info[40] ^= 1;   /* AUTH_INPUT_MAC off by a bit */
  fire_msg(rp, RELAY_RENDEZVOUS2, info, sizeof(info));
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_REND);
  cr_assert_not(rp->joined);
  cr_assert(rp->closed_by_module);
  world_free(&w);
}

Test(hs_client_rend, truncated_rendezvous2_and_join_failure)
{
  world_t w;
  world_init(&w, 1);
  fcirc_t *ip;
  uint8_t cookie[20], c2[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  service_answer(&w, &ip->msgs[0], 0, c2, info, keys);
  fire_msg(rp, RELAY_RENDEZVOUS2, info, 63);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_REND);
  world_free(&w);

  world_init(&w, 1);
  rp = world_to_introduce(&w, &ip, cookie);
  service_answer(&w, &ip->msgs[0], 0, c2, info, keys);
  w.join_fail = 1;
  fire_msg(rp, RELAY_RENDEZVOUS2, info, sizeof(info));
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_REND);
  cr_assert(rp->closed_by_module);
  world_free(&w);
}

Test(hs_client_rend, rendezvous_circuit_lost_after_the_ack)
{
  world_t w;
  world_init(&w, 2);
  fcirc_t *ip;
  uint8_t cookie[20];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  fire_ack(ip, HS_INTRO_ACK_SUCCESS);
  fire_closed(&w, rp);
  cr_assert_eq(w.n_done, 1);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_REND);
  world_free(&w);
}

Test(hs_client_rend, no_rendezvous2_after_the_ack)
{
  world_t w;
  world_init(&w, 1);
  fcirc_t *ip;
  uint8_t cookie[20];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  fire_ack(ip, HS_INTRO_ACK_SUCCESS);
  w.now += 59999;
  hs_client_rend_tick(w.r);
  cr_assert_eq(w.n_done, 0);
  w.now += 1;
  hs_client_rend_tick(w.r);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_REND);
  cr_assert(rp->closed_by_module);
  world_free(&w);
}

Test(hs_client_rend, rendezvous_circuit_rebuilt_before_use)
{
  world_t w;
  world_init(&w, 1);
  world_start(&w);
  fire_closed(&w, &w.c[0]);          /* first rendezvous circuit fails */
  cr_assert_eq(w.n, 3);
  fcirc_t *rp2 = &w.c[2];
  cr_assert_arr_eq(rp2->last.rsa_id, w.rp.rsa_id, 20);
  fire_built(&w, rp2);
  cr_assert_eq(rp2->n_msgs, 1);
  fire_closed(&w, rp2);              /* and the second: give up */
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_REND);
  cr_assert(w.c[1].closed_by_module);
  world_free(&w);
}

Test(hs_client_rend, ignores_what_it_should)
{
  world_t w;
  world_init(&w, 1);
  fcirc_t *ip;
  uint8_t cookie[20], c2[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(&w, &ip, cookie);
  service_answer(&w, &ip->msgs[0], 0, c2, info, keys);
  /* From a hop other than the last: not the rendezvous point's word. */
  rp->ev.relay_msg(rp->arg, rp->h, false, RELAY_RENDEZVOUS2, info, 64);
  ip->ev.relay_msg(ip->arg, ip->h, false, RELAY_INTRODUCE_ACK,
                   (const uint8_t *)"\0\1\0", 3);
  /* Wrong commands on each circuit, an unknown handle. */
  fire_msg(rp, RELAY_INTRODUCE_ACK, (const uint8_t *)"\0\0\0", 3);
  fire_msg(ip, RELAY_RENDEZVOUS2, info, 64);
  rp->ev.relay_msg(rp->arg, 4242, true, RELAY_RENDEZVOUS2, info, 64);
  rp->ev.built(rp->arg, 4242);
  rp->ev.closed(rp->arg, 4242);
  cr_assert_eq(w.n_done, 0);
  cr_assert_not(ip->closed);
  cr_assert_not(rp->closed);
  fire_msg(rp, RELAY_RENDEZVOUS2, info, 64);
  cr_assert_eq(w.status, HS_CLIENT_REND_OK);
  world_free(&w);
}

Test(hs_client_rend, start_failures_are_reported_by_tick)
{
  world_t w;
  /* No introduction point at all. */
  world_init(&w, 0);
  world_start(&w);
  cr_assert_eq(w.n, 0);
  hs_client_rend_tick(w.r);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_INTRO);
  world_free(&w);
  /* An intro point without an IPv4 link specifier is skipped. */
  world_init(&w, 1);
  relay_extend2_t m;
  memset(&m, 0, sizeof(m));
  m.n_spec = 1;
  m.spec[0].type = RELAY_LSPEC_LEGACY_ID;
  memset(m.spec[0].u.legacy_id, 1, 20);
  torcert_free(w.desc->intro[0].auth_key_cert);
  torcert_free(w.desc->intro[0].enc_key_cert);
  cr_assert_eq(hs_desc_intro_point_init(&w.desc->intro[0], &m,
                                        &w.ips[0].auth.pub, &w.signer, NOW,
                                        3600), 0);
  world_start(&w);
  cr_assert_eq(w.n, 0);
  hs_client_rend_tick(w.r);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_INTRO);
  world_free(&w);
  /* No circuit can be launched. */
  world_init(&w, 1);
  w.launch_fail = 1;
  world_start(&w);
  cr_assert_eq(w.n_done, 0);
  hs_client_rend_tick(w.r);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_NO_PATH);
  world_free(&w);
  /* Freeing before done: no callback, every circuit closed. */
  world_init(&w, 2);
  hs_client_rend_cfg_t cfg = world_cfg(&w);
  w.r = hs_client_rend_start(&cfg, &w.service_pk, w.subcred, w.desc, on_done,
                             &w);
  world_free(&w);
  cr_assert_eq(w.n_done, 0);
  cr_assert(w.c[0].closed_by_module && w.c[1].closed_by_module);
  world_init(&w, 2);
  cfg = world_cfg(&w);
  w.r = NULL;
  /* Bad arguments. */
  cr_assert_null(hs_client_rend_start(NULL, &w.service_pk, w.subcred, w.desc,
                                      on_done, &w));
  cr_assert_null(hs_client_rend_start(&cfg, &w.service_pk, w.subcred, NULL,
                                      on_done, &w));
  cfg.net.join = NULL;
  cr_assert_null(hs_client_rend_start(&cfg, &w.service_pk, w.subcred, w.desc,
                                      on_done, &w));
  world_free(&w);
}

Test(hs_client_rend, done_may_free)
{
  world_t w;
  world_init(&w, 1);
  fcirc_t *ip;
  uint8_t cookie[20];
  world_to_introduce(&w, &ip, cookie);
  w.free_in_done = true;
  fire_ack(ip, HS_INTRO_ACK_UNKNOWN_SERVICE);
  cr_assert_eq(w.status, HS_CLIENT_REND_ERR_INTRO);
  cr_assert_null(w.r);
  world_free(&w);
}

Test(hs_client_rend, introduce1_size_and_refusals)
{
  world_t w;
  world_init(&w, 1);
  x25519_keypair_t x;
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  uint8_t a[RELAY_BODY_MAX], b[RELAY_BODY_MAX], cookie[20];
  size_t na, nb;
  crypto_rand(cookie, 20);
  const uint8_t *auth = w.ips[0].auth.pub.pubkey;
  cr_assert_eq(hs_client_introduce1_build(a, sizeof(a), &na, auth,
                                          w.ips[0].enc.pub, w.subcred, &x,
                                          cookie, &w.rp), 0);
  cr_assert_eq(na, 310);
  /* Same inputs, same cell (only x makes it fresh). */
  cr_assert_eq(hs_client_introduce1_build(b, sizeof(b), &nb, auth,
                                          w.ips[0].enc.pub, w.subcred, &x,
                                          cookie, &w.rp), 0);
  cr_assert_arr_eq(a, b, na);
  /* An IPv6 address as well: the padding absorbs it, same size. */
  circ_hop_spec_t rp6 = w.rp;
  rp6.n_addr = 2;
  rp6.addr[1].type = RELAY_LSPEC_IPV6;
  rp6.addr[1].len = 18;
  rp6.addr[1].u.ipv6.port = 9;
  cr_assert_eq(hs_client_introduce1_build(b, sizeof(b), &nb, auth,
                                          w.ips[0].enc.pub, w.subcred, &x,
                                          cookie, &rp6), 0);
  cr_assert_eq(nb, 310);
  /* Too small a buffer, missing pieces. */
  cr_assert_lt(hs_client_introduce1_build(b, 309, &nb, auth,
                                          w.ips[0].enc.pub, w.subcred, &x,
                                          cookie, &w.rp), 0);
  cr_assert_lt(hs_client_introduce1_build(b, sizeof(b), &nb, auth,
                                          w.ips[0].enc.pub, w.subcred, &x,
                                          cookie, NULL), 0);
  /* A different subcredential: the service's MAC check fails. */
  uint8_t sc[32];
  memcpy(sc, w.subcred, 32);
  sc[0] ^= 1;
  cr_assert_eq(hs_client_introduce1_build(b, sizeof(b), &nb, auth,
                                          w.ips[0].enc.pub, sc, &x, cookie,
                                          &w.rp), 0);
  hs_introduce1_t *in = al_calloc(1, sizeof(*in));
  cr_assert_eq(hs_introduce1_decode(in, b, nb), 0);
  hs_ntor_intro_keys_t k;
  cr_assert_eq(hs_ntor_service_intro_keys(&k, &w.ips[0].enc, in->client_pk,
                                          in->auth_key, w.subcred), 0);
  uint8_t mac[32];
  cr_assert_eq(hs_ntor_mac(mac, k.mac_key, 32, b, in->mac_covered_len), 0);
  cr_assert(memcmp(mac, in->mac, 32) != 0);
  al_free(in);
  world_free(&w);
}

/* ---- rendezvous point choice ---- */

Test(hs_client_rend, rendezvous_point_needs_hsrend_and_fast)
{
  cr_assert_eq(crypto_global_init(), 0);
  const netfix_relay_t relays[] = {
    { "nohsrend", 1, "10.1.0.1", F_STD, 1000, NULL, NULL },
    { "good", 2, "10.2.0.1", F_STD, 1000, NULL, NULL },
    { "slow", 3, "10.3.0.1", NODE_FLAG_RUNNING | NODE_FLAG_VALID, 1000,
      NULL, NULL },
    { "excluded", 4, "10.4.0.1", F_STD, 1000, NULL, NULL },
  };
  const size_t n = sizeof(relays) / sizeof(relays[0]);
  consensus_t *c = netfix_consensus(relays, n, true, NULL, NULL);
  for (size_t i = 0; i < c->n_routers; i++) {
    if (strcmp(c->routers[i].nickname, "nohsrend") == 0)
      continue;
    al_free(c->routers[i].protocols);
    c->routers[i].protocols = al_strdup("HSRend=1-2 Link=4-5 Relay=1-4");
  }
  nodelist_t *nl = nodelist_new();
  cr_assert_eq(nodelist_set_consensus(nl, c), 0);
  for (size_t i = 0; i < n; i++)
    nodelist_add_microdesc(nl, netfix_microdesc(relays, n, i));
  routerset_t *ex = NULL;
  cr_assert_eq(routerset_parse("excluded", &ex), 0);
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.exclude_nodes = ex;
  netfix_rng_t rng;
  netfix_rng_init(&rng, 7);
  for (int i = 0; i < 50; i++) {
    const node_t *rp = hs_client_rend_choose_rp(nl, &o, &rng.rng);
    cr_assert_not_null(rp);
    cr_assert_str_eq(rp->nickname, "good");
  }
  circ_hop_spec_t s;
  const node_t *g = nodelist_find_by_nickname(nl, "good");
  cr_assert_eq(hs_client_rend_spec_from_node(g, &s), 0);
  cr_assert_eq(s.addr[0].u.ipv4.port, 9001);
  cr_assert_arr_eq(s.rsa_id, g->rsa_id, 20);
  cr_assert(s.has_ed_id);
  cr_assert_eq(hs_client_rend_spec_from_node(NULL, &s), -1);
  /* Without the exclusion "excluded" is possible too; never the others. */
  o.exclude_nodes = NULL;
  bool seen_excluded = false;
  for (int i = 0; i < 200; i++) {
    const node_t *rp = hs_client_rend_choose_rp(nl, &o, &rng.rng);
    cr_assert(strcmp(rp->nickname, "good") == 0 ||
              strcmp(rp->nickname, "excluded") == 0);
    seen_excluded |= strcmp(rp->nickname, "excluded") == 0;
  }
  cr_assert(seen_excluded);
  cr_assert_null(hs_client_rend_choose_rp(NULL, &o, NULL));
  routerset_free(ex);
  nodelist_free(nl);
}

/* ---- congestion control on the rendezvous circuit (proposal 324 9) ---- */

/* One whole introduction and rendezvous; the joined circuit. */
static fcirc_t *
world_join(world_t *w)
{
  fcirc_t *ip;
  uint8_t cookie[20], c2[20], info[64], keys[128];
  fcirc_t *rp = world_to_introduce(w, &ip, cookie);
  service_answer(w, &ip->msgs[0], intro_index(w, ip), c2, info, keys);
  fire_ack(ip, HS_INTRO_ACK_SUCCESS);
  fire_msg(rp, RELAY_RENDEZVOUS2, info, sizeof(info));
  cr_assert_eq(w->status, HS_CLIENT_REND_OK);
  cr_assert(rp->joined);
  return rp;
}

static void
desc_flow_control(world_t *w, const char *versions, uint8_t inc)
{
  w->desc->has_flow_control = 1;
  snprintf(w->desc->flow_control_versions,
           sizeof(w->desc->flow_control_versions), "%s", versions);
  w->desc->flow_control_sendme_inc = inc;
}

Test(hs_client_rend, cc_requested_when_the_descriptor_allows)
{
  world_t w;
  cc_params_t cc;
  cc_params_default(&cc);
  world_init(&w, 1);
  w.cc = &cc;
  desc_flow_control(&w, "1-2", 31);
  fcirc_t *rp = world_join(&w);
  cr_assert_eq(w.n_cc_req, 1);
  cr_assert(rp->join_cc);
  cr_assert_eq(rp->join_inc, 31);
  world_free(&w);
}

Test(hs_client_rend, cc_uses_the_descriptors_sendme_inc)
{
  world_t w;
  cc_params_t cc;
  cc_params_default(&cc);
  world_init(&w, 1);
  w.cc = &cc;
  desc_flow_control(&w, "1-2", 40);   /* within a factor of 2 of 31 */
  fcirc_t *rp = world_join(&w);
  cr_assert(rp->join_cc);
  cr_assert_eq(rp->join_inc, 40);
  world_free(&w);
}

Test(hs_client_rend, no_cc_without_the_line_or_consensus)
{
  cc_params_t cc;
  cc_params_default(&cc);
  /* No flow-control line. */
  world_t w;
  world_init(&w, 1);
  w.cc = &cc;
  fcirc_t *rp = world_join(&w);
  cr_assert_eq(w.n_cc_req, 0);
  cr_assert_not(rp->join_cc);
  world_free(&w);
  /* The line, but cc_alg 0 in our consensus. */
  world_init(&w, 1);
  cc_params_t off = cc;
  off.alg = CC_ALG_FIXED;
  w.cc = &off;
  desc_flow_control(&w, "1-2", 31);
  rp = world_join(&w);
  cr_assert_eq(w.n_cc_req, 0);
  cr_assert_not(rp->join_cc);
  world_free(&w);
  /* The line, no parameters given. */
  world_init(&w, 1);
  desc_flow_control(&w, "1-2", 31);
  rp = world_join(&w);
  cr_assert_eq(w.n_cc_req, 0);
  cr_assert_not(rp->join_cc);
  world_free(&w);
}

Test(hs_client_rend, cc_usable_rules)
{
  cc_params_t cc;
  cc_params_default(&cc);
  hs_desc_layer2_t *d = al_calloc(1, sizeof(*d));
  cr_assert_not(hs_client_rend_cc_usable(d, &cc));   /* no line */
  d->has_flow_control = 1;
  d->flow_control_sendme_inc = 31;
  static const struct { const char *v; bool ok; } vs[] = {
    { "1-2", true }, { "2", true }, { "1-3", true }, { "2-5", true },
    { "1,2", true }, { "1", false }, { "3-4", false }, { "", false },
    { "x", false }, { "2-", false }, { "-2", false },
  };
  for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
    snprintf(d->flow_control_versions, sizeof(d->flow_control_versions),
             "%s", vs[i].v);
    cr_assert_eq(hs_client_rend_cc_usable(d, &cc), vs[i].ok, "%s", vs[i].v);
  }
  snprintf(d->flow_control_versions, sizeof(d->flow_control_versions),
           "1-2");
  static const struct { uint8_t inc; bool ok; } incs[] = {
    { 0, false }, { 1, false }, { 15, false }, { 16, true }, { 31, true },
    { 62, true }, { 63, false }, { 255, false },
  };
  for (size_t i = 0; i < sizeof(incs) / sizeof(incs[0]); i++) {
    d->flow_control_sendme_inc = incs[i].inc;
    cr_assert_eq(hs_client_rend_cc_usable(d, &cc), incs[i].ok, "inc %u",
                 incs[i].inc);
  }
  d->flow_control_sendme_inc = 31;
  cr_assert(hs_client_rend_cc_usable(d, &cc));
  cr_assert_not(hs_client_rend_cc_usable(d, NULL));
  cr_assert_not(hs_client_rend_cc_usable(NULL, &cc));
  cc.alg = CC_ALG_FIXED;
  cr_assert_not(hs_client_rend_cc_usable(d, &cc));
  al_free(d);
}
