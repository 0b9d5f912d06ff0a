/* test_hs_service_desc.c -- a service's descriptor for one time period
 * (src/feature/hs_service/hs_service_desc.c): what it builds goes through
 * the HSDir's outer-layer checks and the client's decryption, with and
 * without client authorization; the keys are checked against values
 * computed here independently (blinding, subcredential); the revision
 * counter follows appendix F.2. */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/feature/dirparse/hs_desc_outer.h"
#undef HS_DESC_ERR_CERT
#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/feature/hs_service/hs_service_desc.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

#define NOW ((time_t)1764849600)   /* 2025-12-04 12:00 UTC */

static ed25519_keypair_t ID;
static relay_extend2_t LS[20];
static hs_service_intro_t IP[20];

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(ed25519_keypair_generate(&ID), 0);
  for (int i = 0; i < 20; i++) {
    relay_extend2_t *m = &LS[i];
    memset(m, 0, sizeof(*m));
    m->n_spec = 3;
    m->spec[0].type = RELAY_LSPEC_IPV4;
    m->spec[0].u.ipv4.addr[0] = 127;
    m->spec[0].u.ipv4.addr[3] = (uint8_t)(i + 1);
    m->spec[0].u.ipv4.port = (uint16_t)(5000 + i);
    m->spec[1].type = RELAY_LSPEC_LEGACY_ID;
    memset(m->spec[1].u.legacy_id, 0x30 + i, RELAY_LEGACY_ID_LEN);
    m->spec[2].type = RELAY_LSPEC_ED25519_ID;
    memset(m->spec[2].u.ed25519_id, 0x60 + i, RELAY_ED25519_ID_LEN);
    IP[i].lspecs = m;
    x25519_keypair_t k;
    ed25519_keypair_t a;
    cr_assert_eq(x25519_keypair_generate(&k), 0);
    memcpy(IP[i].onion_key, k.pub, 32);
    cr_assert_eq(x25519_keypair_generate(&k), 0);
    memcpy(IP[i].enc_key, k.pub, 32);
    cr_assert_eq(ed25519_keypair_generate(&a), 0);
    IP[i].auth_key = a.pub;
  }
}

TestSuite(hs_service_desc, .init = setup);

static hs_service_desc_params_t
params(size_t n_intro)
{
  hs_service_desc_params_t p;
  memset(&p, 0, sizeof(p));
  p.identity = &ID;
  p.now = NOW;
  p.period_num = hs_time_period_num(NOW, 1440, 720);
  p.intro = IP;
  p.n_intro = n_intro;
  return p;
}

/* Parse d as an HSDir and a client would, with keys derived here. */
static hs_desc_layer2_t *
open_desc(const hs_service_desc_t *d, uint64_t period, const uint8_t *client_secret,
          int *rv_out)
{
  ed25519_public_key_t blinded;
  uint8_t subcred[32];
  cr_assert_eq(hs_blind_public_key(&blinded, &ID.pub, NULL, 0, period, 1440), 0);
  cr_assert_arr_eq(blinded.pubkey, d->blinded_key.pubkey, 32);
  cr_assert_eq(hs_subcredential_from_identity(subcred, &ID.pub, &blinded), 0);
  cr_assert_arr_eq(subcred, d->subcredential, 32);
  hs_desc_outer_t *o = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  cr_assert_eq(strlen(d->text), d->len);
  int r = hs_desc_outer_parse(d->text, d->len, 0, NULL, NOW, &o, &err);  /* an HSDir */
  cr_assert_eq(r, 0, "HSDir check: %d %s", r, err.msg);
  cr_assert_arr_eq(o->blinded_key.pubkey, blinded.pubkey, 32);
  hs_desc_outer_free(o);
  r = hs_desc_outer_parse(d->text, d->len, 0, &blinded, NOW, &o, &err);    /* a client */
  cr_assert_eq(r, 0, "client check: %d %s", r, err.msg);
  cr_assert_eq(o->revision_counter, d->revision_counter);
  cr_assert_eq(o->lifetime_min, 180);
  hs_desc_layer2_t *l2 = NULL;
  *rv_out = hs_desc_decrypt_inner(o->superencrypted, o->superencrypted_len,
                                  o->revision_counter, &blinded, subcred, client_secret,
                                  &o->signing_key, NOW + 3600, &l2, &err);
  hs_desc_outer_free(o);
  return l2;
}

Test(hs_service_desc, client_reads_what_service_built)
{
  hs_service_desc_params_t p = params(3);
  p.flow_control_sendme_inc = 31;
  hs_service_desc_t *d = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &d), 0);
  int rv = 0;
  hs_desc_layer2_t *l2 = open_desc(d, p.period_num, NULL, &rv);
  cr_assert_eq(rv, 0);
  cr_assert_eq(l2->n_create2_formats, 1);
  cr_assert_eq(l2->create2_formats[0], 2);
  cr_assert(l2->has_flow_control);
  cr_assert_str_eq(l2->flow_control_versions, "1-2");
  cr_assert_eq(l2->flow_control_sendme_inc, 31);
  cr_assert_not(l2->single_onion_service);
  cr_assert_eq(l2->n_intro, 3);
  for (size_t i = 0; i < 3; i++) {
    const hs_desc_intro_point_t *ip = &l2->intro[i];
    relay_extend2_t m;
    cr_assert_eq(hs_desc_intro_point_lspecs(ip, &m), 0);
    cr_assert_eq(m.n_spec, 3);
    cr_assert_eq(m.spec[0].u.ipv4.port, 5000 + i);
    cr_assert_arr_eq(ip->onion_key, IP[i].onion_key, 32);
    cr_assert_arr_eq(ip->enc_key, IP[i].enc_key, 32);
    cr_assert_arr_eq(ip->auth_key_cert->certified_key, IP[i].auth_key.pubkey, 32);
  }
  hs_desc_layer2_free(l2);
  hs_service_desc_free(d);
  cr_assert_null(d);
}

Test(hs_service_desc, single_onion_and_no_intro_points)
{
  hs_service_desc_params_t p = params(0);
  p.single_onion = 1;
  hs_service_desc_t *d = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &d), 0);
  int rv = 0;
  hs_desc_layer2_t *l2 = open_desc(d, p.period_num, NULL, &rv);
  cr_assert_eq(rv, 0);
  cr_assert(l2->single_onion_service);
  cr_assert_not(l2->has_flow_control);
  cr_assert_eq(l2->n_intro, 0);
  hs_desc_layer2_free(l2);
  hs_service_desc_free(d);
}

Test(hs_service_desc, client_authorization)
{
  x25519_keypair_t alice, bob, eve;
  cr_assert_eq(x25519_keypair_generate(&alice), 0);
  cr_assert_eq(x25519_keypair_generate(&bob), 0);
  cr_assert_eq(x25519_keypair_generate(&eve), 0);
  uint8_t clients[2][32];
  memcpy(clients[0], alice.pub, 32);
  memcpy(clients[1], bob.pub, 32);
  hs_service_desc_params_t p = params(2);
  p.client_pubs = (const uint8_t (*)[32])clients;
  p.n_clients = 2;
  hs_service_desc_t *d = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &d), 0);
  int rv = 0;
  hs_desc_layer2_t *l2 = open_desc(d, p.period_num, alice.sec, &rv);
  cr_assert_eq(rv, 0, "alice cannot open it: %d", rv);
  cr_assert_eq(l2->n_intro, 2);
  hs_desc_layer2_free(l2);
  l2 = open_desc(d, p.period_num, bob.sec, &rv);
  cr_assert_eq(rv, 0, "bob cannot open it: %d", rv);
  hs_desc_layer2_free(l2);
  l2 = open_desc(d, p.period_num, eve.sec, &rv);
  cr_assert_eq(rv, HS_DESC_ERR_AUTH, "eve: %d", rv);
  cr_assert_null(l2);
  l2 = open_desc(d, p.period_num, NULL, &rv);
  cr_assert_eq(rv, HS_DESC_ERR_AUTH, "no key: %d", rv);
  cr_assert_null(l2);
  hs_service_desc_free(d);
}

Test(hs_service_desc, next_period_differs)
{
  hs_service_desc_params_t p = params(1);
  hs_service_desc_t *a = NULL, *b = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &a), 0);
  p.period_num++;
  cr_assert_eq(hs_service_desc_build(&p, &b), 0);
  cr_assert(memcmp(a->blinded_key.pubkey, b->blinded_key.pubkey, 32) != 0);
  int rv = 0;
  hs_desc_layer2_t *l2 = open_desc(b, p.period_num, NULL, &rv);
  cr_assert_eq(rv, 0);
  hs_desc_layer2_free(l2);
  hs_service_desc_free(a);
  hs_service_desc_free(b);
}

/* Appendix F.2 computed here the slow, obvious way. */
static uint64_t
rev_reference(const ed25519_keypair_t *bk, uint64_t t)
{
  uint8_t in[22 + 64], key[32];
  memcpy(in, "rev-counter-generation", 22);
  memcpy(in + 22, bk->sec.seckey, 64);
  digest_sha3_256(key, in, sizeof(in));
  aes_ctr_t *c = aes_ctr_new(key, 32, NULL);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < t; i++) {
    uint8_t w[2] = { 0, 0 };
    aes_ctr_crypt_inplace(c, w, 2);
    sum += (uint64_t)w[0] | ((uint64_t)w[1] << 8);
  }
  aes_ctr_free(c);
  return sum;
}

Test(hs_service_desc, revision_counter)
{
  ed25519_keypair_t bk;
  uint64_t period = hs_time_period_num(NOW, 1440, 720);
  int64_t start = hs_time_period_start(period, 1440, 720);
  cr_assert_eq(hs_blind_keypair(&bk, &ID, NULL, 0, period, 1440), 0);
  int64_t srv = start - 720 * 60;
  /* Known answers from the reference above at a few points. */
  static const int64_t at[] = { 0, 1, 2, 4095, 4096, 20000 };
  for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
    cr_assert_eq(hs_service_rev_counter(&bk, start, 1440, 720, (time_t)(srv + at[i])),
                 rev_reference(&bk, (uint64_t)at[i] + 1), "at %lld", (long long)at[i]);
  /* Strictly increasing over the whole window (a word can be 0, so check
   * every 97 seconds against the previous sample: the sum never falls). */
  uint64_t prev = 0;
  for (int64_t t = srv - 100; t < start + 1440 * 60 + 100; t += 97) {
    uint64_t r = hs_service_rev_counter(&bk, start, 1440, 720, (time_t)t);
    cr_assert_geq(r, prev, "fell at %lld", (long long)t);
    prev = r;
  }
  /* About T * 32767.5 at the end, far below the T * 65535 bound. */
  uint64_t tmax = (1440 + 720) * 60;
  cr_assert_leq(prev, tmax * 65535);
  cr_assert_gt(prev, tmax * 30000);
  /* Before the window: clamped to T = 1.  Another blinded key: another
   * sequence. */
  cr_assert_eq(hs_service_rev_counter(&bk, start, 1440, 720, (time_t)(srv - 5000)),
               rev_reference(&bk, 1));
  ed25519_keypair_t bk2;
  cr_assert_eq(hs_blind_keypair(&bk2, &ID, NULL, 0, period + 1, 1440), 0);
  cr_assert_neq(hs_service_rev_counter(&bk, start, 1440, 720, NOW),
                hs_service_rev_counter(&bk2, start, 1440, 720, NOW));
  /* The descriptor carries it; a later build has a larger one. */
  hs_service_desc_params_t p = params(1);
  hs_service_desc_t *a = NULL, *b = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &a), 0);
  cr_assert_eq(a->revision_counter, hs_service_rev_counter(&bk, start, 1440, 720, NOW));
  p.now += 600;
  cr_assert_eq(hs_service_desc_build(&p, &b), 0);
  cr_assert_gt(b->revision_counter, a->revision_counter);
  hs_service_desc_free(a);
  hs_service_desc_free(b);
  ed25519_keypair_wipe(&bk);
  ed25519_keypair_wipe(&bk2);
}

Test(hs_service_desc, bad_parameters)
{
  hs_service_desc_t *d = NULL;
  hs_service_desc_params_t p = params(20);
  cr_assert_eq(hs_service_desc_build(&p, &d), 0, "20 introduction points are allowed");
  hs_service_desc_free(d);
  p.n_intro = 21;
  cr_assert_eq(hs_service_desc_build(&p, &d), HS_DESC_ERR_ARG);
  cr_assert_null(d);
  p = params(1);
  p.identity = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &d), HS_DESC_ERR_ARG);
  p = params(1);
  p.lifetime_min = 29;
  cr_assert_eq(hs_service_desc_build(&p, &d), HS_DESC_ERR_ARG);
  p.lifetime_min = 721;
  cr_assert_eq(hs_service_desc_build(&p, &d), HS_DESC_ERR_ARG);
  p = params(1);
  p.intro = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &d), HS_DESC_ERR_ARG);
  p = params(1);
  p.n_clients = 1;
  cr_assert_eq(hs_service_desc_build(&p, &d), HS_DESC_ERR_ARG);
  hs_service_intro_t nols = IP[0];
  nols.lspecs = NULL;
  p = params(1);
  p.intro = &nols;
  cr_assert_eq(hs_service_desc_build(&p, &d), HS_DESC_ERR_ARG);
  cr_assert_eq(hs_service_desc_build(NULL, &d), HS_DESC_ERR_ARG);
  p = params(1);
  cr_assert_eq(hs_service_desc_build(&p, NULL), HS_DESC_ERR_ARG);
}

Test(hs_service_desc, too_large_refused)
{
  /* 20 introduction points and 700 clients cannot fit in 50000 bytes. */
  static uint8_t clients[700][32];
  for (size_t i = 0; i < 700; i++) {
    x25519_keypair_t k;
    cr_assert_eq(x25519_keypair_generate(&k), 0);
    memcpy(clients[i], k.pub, 32);
  }
  hs_service_desc_params_t p = params(20);
  p.client_pubs = (const uint8_t (*)[32])clients;
  p.n_clients = 700;
  hs_service_desc_t *d = NULL;
  int r = hs_service_desc_build(&p, &d);
  cr_assert_eq(r, HS_DESC_ERR_LIMIT, "got %d", r);
  cr_assert_null(d);
  /* With few clients it fits, and stays under the HSDir limit. */
  p.n_clients = 16;
  cr_assert_eq(hs_service_desc_build(&p, &d), 0);
  cr_assert_leq(d->len, HS_DESC_MAX_LEN);
  hs_service_desc_free(d);
}

Test(hs_service_desc, tampering_detected)
{
  hs_service_desc_params_t p = params(1);
  hs_service_desc_t *d = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &d), 0);
  /* Another revision counter (a replay with a forged counter): the
   * signature no longer holds. */
  char *rc = strstr(d->text, "\nrevision-counter ");
  cr_assert_not_null(rc);
  char *digit = rc + strlen("\nrevision-counter ");
  *digit = *digit == '9' ? '8' : (char)(*digit + 1);
  hs_desc_outer_t *o = NULL;
  cr_assert_eq(hs_desc_outer_parse(d->text, d->len, 0, NULL, NOW, &o, NULL), DIRPARSE_ERR_SIG);
  cr_assert_null(o);
  hs_service_desc_free(d);
  /* A client expecting the key of another period refuses it. */
  cr_assert_eq(hs_service_desc_build(&p, &d), 0);
  ed25519_public_key_t other;
  cr_assert_eq(hs_blind_public_key(&other, &ID.pub, NULL, 0, p.period_num + 1, 1440), 0);
  int r = hs_desc_outer_parse(d->text, d->len, 0, &other, NOW, &o, NULL);
  cr_assert_eq(r, HS_DESC_ERR_WRONG_KEY, "got %d", r);
  /* Expired once the 54-hour certificate runs out. */
  r = hs_desc_outer_parse(d->text, d->len, 0, NULL, NOW + 55 * 3600, &o, NULL);
  cr_assert_eq(r, HS_DESC_ERR_EXPIRED, "got %d", r);
  hs_service_desc_free(d);
}
