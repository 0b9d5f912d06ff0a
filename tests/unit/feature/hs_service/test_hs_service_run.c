/* test_hs_service_run.c -- the service's introduction / rendezvous state
 * machine (src/feature/hs_service/hs_service_run.c) over an in-process
 * fake circuit layer: ESTABLISH_INTRO verifies against each circuit's KH,
 * publish comes once all points are ready (or after the grace time), an
 * INTRODUCE1 built by the client code for a published point leads to a
 * circuit to the client's rendezvous point, RENDEZVOUS1 and a join whose
 * keys equal the client's; replays are refused; failed or slow intro
 * circuits are replaced with new points and new keys. */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/feature/hs_service/hs_service_run.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"

#define MAXC 64

typedef struct fc_t {
  uint64_t h;
  circ_hop_spec_t last;
  uint8_t kh[HS_CELL_KH_LEN];
  bool closed, joined, join_cc;
  uint8_t sent_cmd;
  uint8_t sent[RELAY_BODY_MAX];
  size_t sent_len;
  uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN];
} fc_t;

static struct {
  fc_t c[MAXC];
  size_t n;
  uint64_t now;
  int picks, publishes, rendezvous;
  uint64_t rend_circ;
} W;
static const hs_service_circ_ev_t *EV;
static void *EVARG;

static int
f_pick(void *ctx, const circ_hop_spec_t *in_use, size_t n,
       circ_hop_spec_t *out)
{
  (void)ctx;
  memset(out, 0, sizeof(*out));
  W.picks++;
  out->rsa_id[0] = (uint8_t)W.picks;   /* distinct points */
  for (size_t i = 0; i < n; i++)
    cr_assert_neq(in_use[i].rsa_id[0], out->rsa_id[0]);
  out->n_addr = 1;
  out->addr[0].type = RELAY_LSPEC_IPV4;
  out->addr[0].u.ipv4.addr[0] = 127;
  out->addr[0].u.ipv4.port = (uint16_t)(5000 + W.picks);
  crypto_rand(out->ntor_key, 32);
  return 0;
}

static int
f_launch(void *ctx, const circ_hop_spec_t *last,
         const hs_service_circ_ev_t *ev, void *arg, uint64_t *out)
{
  (void)ctx;
  cr_assert_lt(W.n, MAXC);
  fc_t *c = &W.c[W.n++];
  memset(c, 0, sizeof(*c));
  c->h = 100 + W.n;
  c->last = *last;
  crypto_rand(c->kh, sizeof(c->kh));
  EV = ev;
  EVARG = arg;
  *out = c->h;
  return 0;
}

static fc_t *
fc(uint64_t h)
{
  for (size_t i = 0; i < W.n; i++)
    if (W.c[i].h == h)
      return &W.c[i];
  cr_assert_fail("unknown circuit %llu", (unsigned long long)h);
  return NULL;
}

static int
f_send(void *ctx, uint64_t h, uint8_t cmd, const uint8_t *b, size_t n)
{
  (void)ctx;
  fc_t *c = fc(h);
  cr_assert(!c->closed);
  c->sent_cmd = cmd;
  memcpy(c->sent, b, n);
  c->sent_len = n;
  return 0;
}

static int
f_kh(void *ctx, uint64_t h, uint8_t out[HS_CELL_KH_LEN])
{
  (void)ctx;
  memcpy(out, fc(h)->kh, HS_CELL_KH_LEN);
  return 0;
}

static int
f_join(void *ctx, uint64_t h, const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
       bool cc_requested)
{
  (void)ctx;
  fc(h)->joined = true;
  fc(h)->join_cc = cc_requested;
  memcpy(fc(h)->keys, keys, CIRC_ORIGIN_HS_KEYS_LEN);
  return 0;
}

static void
f_close(void *ctx, uint64_t h)
{
  (void)ctx;
  fc(h)->closed = true;
}

static uint64_t
f_now(void *ctx)
{
  (void)ctx;
  return W.now;
}

static void
on_publish(void *arg)
{
  (void)arg;
  W.publishes++;
}

static void
on_rendezvous(void *arg, uint64_t circ)
{
  (void)arg;
  W.rendezvous++;
  W.rend_circ = circ;
}

static hs_service_config_t SVC;
static uint8_t SUB[2][32];

static hs_service_run_t *
start(int n_intro)
{
  memset(&W, 0, sizeof(W));
  memset(&SVC, 0, sizeof(SVC));
  SVC.num_intro_points = n_intro;
  cr_assert_eq(crypto_global_init(), 0);
  crypto_rand(SUB, sizeof(SUB));
  hs_service_run_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.net = (hs_service_net_t){ .pick = f_pick, .launch = f_launch,
    .send = f_send, .kh = f_kh, .join = f_join, .close = f_close,
    .now_msec = f_now };
  cfg.svc = &SVC;
  cfg.publish = on_publish;
  cfg.rendezvous = on_rendezvous;
  hs_service_run_t *s = hs_service_run_start(&cfg);
  cr_assert_not_null(s);
  cr_assert_eq(hs_service_run_set_subcreds(s, (const uint8_t(*)[32])SUB, 2),
               0);
  cr_assert_eq(W.n, (size_t)n_intro);
  return s;
}

/* Build circuit i and answer its ESTABLISH_INTRO (checked) with
 * INTRO_ESTABLISHED. */
static void
establish(size_t i)
{
  fc_t *c = &W.c[i];
  EV->built(EVARG, c->h);
  cr_assert_eq(c->sent_cmd, RELAY_ESTABLISH_INTRO);
  cr_assert_eq(hs_establish_intro_verify(NULL, c->sent, c->sent_len, c->kh),
               0);
  EV->relay_msg(EVARG, c->h, true, RELAY_INTRO_ESTABLISHED, NULL, 0);
}

/* A descriptor can be built from the published points. */
static void
check_descriptor(const hs_service_intro_t *ips, size_t n)
{
  ed25519_keypair_t id;
  cr_assert_eq(ed25519_keypair_generate(&id), 0);
  hs_service_desc_params_t dp;
  memset(&dp, 0, sizeof(dp));
  dp.identity = &id;
  dp.period_num = 20000;
  dp.now = 1728000000;
  dp.intro = ips;
  dp.n_intro = n;
  hs_service_desc_t *d = NULL;
  cr_assert_eq(hs_service_desc_build(&dp, &d), 0);
  cr_assert_gt(d->len, 1000);
  hs_service_desc_free(d);
}

Test(hs_service_run, establish_publish_introduce_rendezvous)
{
  hs_service_run_t *s = start(3);
  establish(0);
  establish(1);
  hs_service_run_tick(s);
  cr_assert_eq(W.publishes, 0);   /* not all ready, grace not over */
  establish(2);
  hs_service_run_tick(s);
  cr_assert_eq(W.publishes, 1);
  hs_service_run_tick(s);
  cr_assert_eq(W.publishes, 1);   /* nothing changed */

  hs_service_intro_t ips[3];
  cr_assert_eq(hs_service_run_intro_points(s, ips, 3), 3);
  check_descriptor(ips, 3);   /* they make a descriptor */
  /* a client introduces itself through the second point */
  circ_hop_spec_t rp;
  memset(&rp, 0, sizeof(rp));
  memset(rp.rsa_id, 0x77, 20);
  crypto_rand(rp.ntor_key, 32);
  rp.n_addr = 1;
  rp.addr[0].type = RELAY_LSPEC_IPV4;
  rp.addr[0].u.ipv4.addr[0] = 127;
  rp.addr[0].u.ipv4.port = 6000;
  uint8_t cookie[20], c1[HS_CLIENT_INTRODUCE1_MAX_LEN];
  crypto_rand(cookie, 20);
  x25519_keypair_t x;
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  size_t n = 0;
  cr_assert_eq(hs_client_introduce1_build(c1, sizeof(c1), &n,
                                          ips[1].auth_key.pubkey,
                                          ips[1].enc_key, SUB[0], &x, cookie,
                                          &rp), 0);
  /* on the wrong intro circuit it is refused (other auth key) */
  EV->relay_msg(EVARG, W.c[0].h, true, RELAY_INTRODUCE2, c1, n);
  cr_assert_eq(W.n, 3);
  EV->relay_msg(EVARG, W.c[1].h, true, RELAY_INTRODUCE2, c1, n);
  cr_assert_eq(W.n, 4);
  fc_t *rc = &W.c[3];
  cr_assert_arr_eq(rc->last.rsa_id, rp.rsa_id, 20);
  cr_assert_arr_eq(rc->last.ntor_key, rp.ntor_key, 32);
  /* replayed: refused, nothing launched */
  EV->relay_msg(EVARG, W.c[1].h, true, RELAY_INTRODUCE2, c1, n);
  cr_assert_eq(W.n, 4);

  EV->built(EVARG, rc->h);
  cr_assert_eq(rc->sent_cmd, RELAY_RENDEZVOUS1);
  cr_assert_eq(rc->sent_len, HS_SERVICE_REND1_LEN);
  cr_assert_arr_eq(rc->sent, cookie, 20);
  cr_assert(rc->joined);
  cr_assert_not(rc->join_cc);   /* not asked for */
  cr_assert_eq(W.rendezvous, 1);
  cr_assert_eq(W.rend_circ, rc->h);
  /* the client's view of RENDEZVOUS2 gives the same keys */
  hs_ntor_rend_keys_t k;
  uint8_t kc[HS_NTOR_KEY_EXPANSION_LEN];
  cr_assert_eq(hs_ntor_client_rend_keys(&k, &x, ips[1].enc_key,
                                        ips[1].auth_key.pubkey,
                                        rc->sent + 20), 0);
  cr_assert_eq(hs_ntor_key_expansion(kc, k.ntor_key_seed), 0);
  cr_assert_arr_eq(kc, rc->keys, sizeof(kc));

  hs_service_run_stats_t st;
  hs_service_run_stats(s, &st);
  cr_assert_eq(st.intro_established, 3);
  cr_assert_eq(st.introduce2_ok, 1);
  cr_assert_eq(st.introduce2_replay, 1);
  cr_assert_eq(st.introduce2_refused, 1);
  cr_assert_eq(st.rend_joined, 1);
  hs_service_run_free(s);
  cr_assert_null(s);
  /* the joined circuit is the owner's: not closed by free */
  cr_assert(!rc->closed);
  cr_assert(W.c[0].closed && W.c[1].closed && W.c[2].closed);
}

Test(hs_service_run, failures_replace_points)
{
  hs_service_run_t *s = start(3);
  establish(0);
  establish(1);
  /* circuit 2 never builds: after the timeout a new point, new circuit */
  W.now += 30000;
  hs_service_run_tick(s);
  cr_assert(W.c[2].closed);
  cr_assert_eq(W.n, 4);
  cr_assert_eq(W.picks, 4);
  /* grace over with 2 ready: publish with what we have */
  cr_assert_eq(W.publishes, 0);
  W.now += 10000;
  hs_service_run_tick(s);
  cr_assert_eq(W.publishes, 1);
  hs_service_intro_t ips[3];
  cr_assert_eq(hs_service_run_intro_points(s, ips, 3), 2);
  ed25519_public_key_t old = ips[0].auth_key;
  /* the first intro circuit dies: replaced, republished once all ready */
  EV->closed(EVARG, W.c[0].h);
  hs_service_run_tick(s);
  cr_assert_eq(W.n, 5);
  establish(3);
  establish(4);
  hs_service_run_tick(s);
  cr_assert_eq(W.publishes, 2);
  cr_assert_eq(hs_service_run_intro_points(s, ips, 3), 3);
  for (int i = 0; i < 3; i++)
    cr_assert_arr_neq(ips[i].auth_key.pubkey, old.pubkey, 32);
  hs_service_run_stats_t st;
  hs_service_run_stats(s, &st);
  cr_assert_eq(st.intro_failed, 2);
  hs_service_run_free(s);
}

Test(hs_service_run, bad_arguments)
{
  hs_service_run_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cr_assert_null(hs_service_run_start(NULL));
  cr_assert_null(hs_service_run_start(&cfg));
  hs_service_run_tick(NULL);
  hs_service_run_free_(NULL);
  cr_assert_eq(hs_service_run_set_subcreds(NULL, NULL, 1), -1);
}

Test(hs_service_run, malformed_established_and_wrong_hop)
{
  hs_service_run_t *s = start(3);
  fc_t *c = &W.c[0];
  EV->built(EVARG, c->h);
  cr_assert_eq(c->sent_cmd, RELAY_ESTABLISH_INTRO);
  /* from a middle hop: ignored */
  EV->relay_msg(EVARG, c->h, false, RELAY_INTRO_ESTABLISHED, NULL, 0);
  hs_service_run_stats_t st;
  hs_service_run_stats(s, &st);
  cr_assert_eq(st.intro_established, 0);
  /* N_EXTENSIONS 2 but nothing follows: the point is replaced */
  static const uint8_t bad[] = { 2 };
  EV->relay_msg(EVARG, c->h, true, RELAY_INTRO_ESTABLISHED, bad, 1);
  cr_assert(c->closed);
  hs_service_run_tick(s);
  cr_assert_eq(W.n, 4);
  hs_service_run_stats(s, &st);
  cr_assert_eq(st.intro_failed, 1);
  cr_assert_eq(st.intro_established, 0);
  hs_service_run_free(s);
}

Test(hs_service_run, pending_rendezvous_bounded)
{
  hs_service_run_t *s = start(3);
  establish(0);
  establish(1);
  establish(2);
  hs_service_run_tick(s);
  hs_service_intro_t ips[3];
  cr_assert_eq(hs_service_run_intro_points(s, ips, 3), 3);
  circ_hop_spec_t rp;
  memset(&rp, 0, sizeof(rp));
  rp.n_addr = 1;
  rp.addr[0].type = RELAY_LSPEC_IPV4;
  rp.addr[0].u.ipv4.port = 6000;
  uint8_t cookie[20] = { 0 }, c1[HS_CLIENT_INTRODUCE1_MAX_LEN];
  for (int i = 0; i < 20; i++) {
    x25519_keypair_t x;
    size_t n = 0;
    cr_assert_eq(x25519_keypair_generate(&x), 0);
    cr_assert_eq(hs_client_introduce1_build(c1, sizeof(c1), &n,
                                            ips[0].auth_key.pubkey,
                                            ips[0].enc_key, SUB[1], &x,
                                            cookie, &rp), 0);
    EV->relay_msg(EVARG, W.c[0].h, true, RELAY_INTRODUCE2, c1, n);
  }
  /* 16 rendezvous circuits pending at most (the default) */
  cr_assert_eq(W.n, 3 + 16);
  hs_service_run_stats_t st;
  hs_service_run_stats(s, &st);
  cr_assert_eq(st.introduce2_ok, 20);
  cr_assert_eq(st.rend_launched, 16);
  cr_assert_eq(st.rend_failed, 4);
  /* one fails to build: its entry is free again */
  EV->closed(EVARG, W.c[3].h);
  x25519_keypair_t x;
  size_t n = 0;
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  cr_assert_eq(hs_client_introduce1_build(c1, sizeof(c1), &n,
                                          ips[0].auth_key.pubkey,
                                          ips[0].enc_key, SUB[1], &x, cookie,
                                          &rp), 0);
  EV->relay_msg(EVARG, W.c[0].h, true, RELAY_INTRODUCE2, c1, n);
  cr_assert_eq(W.n, 3 + 17);
  hs_service_run_free(s);
  for (size_t i = 4; i < W.n; i++)
    cr_assert(W.c[i].closed, "pending rendezvous circuit %zu left open", i);
}

/* Rotation: a ready point is replaced after its lifetime (18-24 h), then
 * the set is republished; no earlier. */
Test(hs_service_run, points_rotate_after_their_lifetime)
{
  hs_service_run_t *s = start(3);
  for (size_t i = 0; i < 3; i++)
    establish(i);
  hs_service_run_tick(s);
  cr_assert_eq(W.publishes, 1);
  W.now += 18ull * 3600 * 1000 - 1000;   /* just under the minimum */
  hs_service_run_tick(s);
  cr_assert_eq(W.n, 3, "no point replaced before 18 h");
  W.now += 6ull * 3600 * 1000 + 2000;    /* past the maximum */
  hs_service_run_tick(s);
  cr_assert_eq(W.n, 6, "every point replaced by 24 h");
  for (size_t i = 0; i < 3; i++)
    cr_assert(W.c[i].closed);
  for (size_t i = 3; i < 6; i++)
    establish(i);
  hs_service_run_tick(s);
  cr_assert_eq(W.publishes, 2);
  hs_service_run_stats_t st;
  hs_service_run_stats(s, &st);
  cr_assert_eq(st.intro_rotated, 3);
  cr_assert_eq(st.intro_failed, 0);
  hs_service_run_free(s);
}

/* Proposal 324 9.2: the CC request in INTRODUCE2 reaches join. */
Test(hs_service_run, cc_request_reaches_join)
{
  hs_service_run_t *s = start(1);
  establish(0);
  hs_service_intro_t ips[1];
  W.now += 60000;
  hs_service_run_tick(s);
  cr_assert_eq(hs_service_run_intro_points(s, ips, 1), 1);
  circ_hop_spec_t rp;
  memset(&rp, 0, sizeof(rp));
  memset(rp.rsa_id, 0x78, 20);
  crypto_rand(rp.ntor_key, 32);
  rp.n_addr = 1;
  rp.addr[0].type = RELAY_LSPEC_IPV4;
  rp.addr[0].u.ipv4.addr[0] = 127;
  rp.addr[0].u.ipv4.port = 6001;
  for (int want = 0; want < 2; want++) {
    uint8_t cookie[20], c1[HS_CLIENT_INTRODUCE1_MAX_LEN];
    crypto_rand(cookie, 20);
    x25519_keypair_t x;
    cr_assert_eq(x25519_keypair_generate(&x), 0);
    size_t n = 0, before = W.n;
    cr_assert_eq(hs_client_introduce1_build_cc(c1, sizeof(c1), &n,
                                               ips[0].auth_key.pubkey,
                                               ips[0].enc_key, SUB[0], &x,
                                               cookie, &rp, want == 1), 0);
    EV->relay_msg(EVARG, W.c[0].h, true, RELAY_INTRODUCE2, c1, n);
    cr_assert_eq(W.n, before + 1);
    fc_t *rc = &W.c[before];
    EV->built(EVARG, rc->h);
    cr_assert(rc->joined);
    cr_assert_eq(rc->join_cc, want == 1);
  }
  hs_service_run_free(s);
}
