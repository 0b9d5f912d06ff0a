/* test_hs_ring.c -- the HSDir hash ring (src/feature/hs_common/hs_ring.c;
 * rend-spec-v3 2.2.1-2.2.4, 2.3.1): ring order and responsible HSDirs
 * against an independent computation (gen_hs_ring_vectors.py, Python
 * hashlib), which nodes belong in the ring, time periods and SRV choice
 * for fetch and upload on the real and a testing network, disaster SRV,
 * consensus parameters, and degenerate rings. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/hs_common/hs_ring.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(hs_ring, .init = setup);

/* ---- known answers from gen_hs_ring_vectors.py ---- */
static const int ring_order[] = { 1, 6, 5, 9, 4, 11, 0, 10, 2 };
static const char ring_first_index[] =
  "0ff426f9e127789c6f68fbcdc2dca44b44f05735638b7966bc07b99b94158ed8";
static const int resp_spread1[] = { 0, 4 };
static const int resp_spread3[] = { 0, 10, 2, 4, 11, 1 };
static const int resp_spread4[] = { 0, 10, 2, 1, 4, 11, 6, 5 };
static const int resp_spread8[] = { 0, 10, 2, 1, 6, 5, 9, 4, 11 };
static const char disaster_srv_19000[] =
  "448a03610f647457c7ffb0d8506dff31ad076aaa66bcbdad8f2e45b785bfa9aa";

#define N_NODES 12

static void
sha3_str(uint8_t out[32], const char *s, int suffix)
{
  uint8_t buf[64];
  size_t n = strlen(s);
  memcpy(buf, s, n);
  if (suffix >= 0)
    buf[n++] = (uint8_t)suffix;
  cr_assert_eq(digest_sha3_256(out, buf, n), 0);
}

static node_t nodes[N_NODES];
static const node_t *nodeptrs[N_NODES];

static void
make_nodes(void)
{
  memset(nodes, 0, sizeof(nodes));
  for (int i = 0; i < N_NODES; i++) {
    sha3_str(nodes[i].ed25519_id, "ring node", i);
    nodes[i].has_ed25519_id = true;
    nodes[i].flags = NODE_FLAG_HSDIR | NODE_FLAG_RUNNING | NODE_FLAG_VALID;
    nodes[i].protocols = (char *)"HSDir=1-2 Link=1-5";
    nodeptrs[i] = &nodes[i];
  }
  nodes[3].flags &= ~NODE_FLAG_HSDIR;
  nodes[7].has_ed25519_id = false;
  nodes[8].protocols = (char *)"HSDir=1 Link=1-5";
  nodes[10].protocols = NULL;   /* unknown protocols: not a reason to skip */
}

static int
node_num(const node_t *n)
{
  return (int)(n - nodes);
}

static hs_ring_params_t
real_params(void)
{
  hs_ring_params_t p;
  hs_ring_params_from_consensus(NULL, false, &p);
  return p;
}

Test(hs_ring, order_and_responsible_known_answers)
{
  make_nodes();
  hs_ring_params_t p = real_params();
  uint8_t srv[32], idx[32];
  sha3_str(srv, "test srv", -1);
  hs_ring_t *r = hs_ring_build(nodeptrs, N_NODES, srv, 19000, &p);
  cr_assert_not_null(r);
  size_t want_n = sizeof(ring_order) / sizeof(ring_order[0]);
  cr_assert_eq(hs_ring_size(r), want_n);
  for (size_t i = 0; i < want_n; i++)
    cr_assert_eq(node_num(hs_ring_node(r, i, NULL)), ring_order[i],
                 "ring position %zu", i);
  hs_ring_node(r, 0, idx);
  test_expect_hex(idx, 32, ring_first_index);
  cr_assert_null(hs_ring_node(r, want_n, idx));

  ed25519_public_key_t blinded;
  sha3_str(blinded.pubkey, "test blinded", -1);
  struct { int spread; const int *want; size_t n; } cases[] = {
    { 1, resp_spread1, 2 }, { 3, resp_spread3, 6 },
    { 4, resp_spread4, 8 }, { 8, resp_spread8, 9 },
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const node_t *out[32];
    size_t n = hs_ring_responsible(r, &blinded, 19000, &p, cases[c].spread,
                                   out, 32);
    cr_assert_eq(n, cases[c].n, "spread %d: %zu nodes", cases[c].spread, n);
    for (size_t i = 0; i < n; i++)
      cr_assert_eq(node_num(out[i]), cases[c].want[i], "spread %d pos %zu",
                   cases[c].spread, i);
  }
  /* max bounds the output */
  const node_t *few[2];
  cr_assert_eq(hs_ring_responsible(r, &blinded, 19000, &p, 4, few, 2), 2);
  cr_assert_eq(node_num(few[0]), 0);
  cr_assert_eq(node_num(few[1]), 10);
  /* another period gives another ring position for the service */
  const node_t *other[8];
  size_t n1 = hs_ring_responsible(r, &blinded, 19001, &p, 3, other, 8);
  cr_assert_eq(n1, 6);
  hs_ring_free(r);
  cr_assert_null(r);
  hs_ring_free(r);   /* NULL is fine */
}

Test(hs_ring, membership)
{
  make_nodes();
  cr_assert(hs_ring_node_is_hsdir(&nodes[0]));
  cr_assert_not(hs_ring_node_is_hsdir(&nodes[3]), "no HSDir flag");
  cr_assert_not(hs_ring_node_is_hsdir(&nodes[7]), "no ed25519 id");
  cr_assert_not(hs_ring_node_is_hsdir(&nodes[8]), "no HSDir=2");
  cr_assert(hs_ring_node_is_hsdir(&nodes[10]), "protocols unknown");
  cr_assert_not(hs_ring_node_is_hsdir(NULL));
}

Test(hs_ring, degenerate_rings)
{
  make_nodes();
  hs_ring_params_t p = real_params();
  uint8_t srv[32] = { 0 };
  ed25519_public_key_t blinded;
  memset(&blinded, 7, sizeof(blinded));
  const node_t *out[8];
  /* empty */
  hs_ring_t *r = hs_ring_build(NULL, 0, srv, 1, &p);
  cr_assert_not_null(r);
  cr_assert_eq(hs_ring_size(r), 0);
  cr_assert_eq(hs_ring_responsible(r, &blinded, 1, &p, 3, out, 8), 0);
  hs_ring_free(r);
  /* a single HSDir is chosen once, whatever the spread and replicas */
  r = hs_ring_build(&nodeptrs[0], 1, srv, 1, &p);
  cr_assert_eq(hs_ring_responsible(r, &blinded, 1, &p, 4, out, 8), 1);
  cr_assert_eq(out[0], &nodes[0]);
  cr_assert_eq(hs_ring_responsible(r, &blinded, 1, &p, 0, out, 8), 0);
  cr_assert_eq(hs_ring_responsible(r, NULL, 1, &p, 1, out, 8), 0);
  hs_ring_free(r);
  /* only non-HSDirs */
  const node_t *bad[3] = { &nodes[3], &nodes[7], &nodes[8] };
  r = hs_ring_build(bad, 3, srv, 1, &p);
  cr_assert_eq(hs_ring_size(r), 0);
  hs_ring_free(r);
  cr_assert_null(hs_ring_build(NULL, 2, srv, 1, &p));
  cr_assert_null(hs_ring_build(nodeptrs, 2, NULL, 1, &p));
}

/* ---- time periods and SRVs ---- */

static consensus_t
fake_consensus(time_t valid_after, int interval, bool cur, bool prev)
{
  consensus_t c;
  memset(&c, 0, sizeof(c));
  c.valid_after = valid_after;
  c.fresh_until = valid_after + interval;
  c.valid_until = valid_after + 3 * interval;
  c.has_srv_current = cur;
  c.has_srv_previous = prev;
  memset(c.srv_current, 0xcc, 32);
  memset(c.srv_previous, 0xbb, 32);
  return c;
}

/* 2016-04-13 00:00:00 UTC (the spec's example day). */
#define DAY0 1460505600

Test(hs_ring, real_network_schedule)
{
  consensus_t c = fake_consensus(DAY0 + 13 * 3600, 3600, true, true);
  hs_ring_params_t p;
  hs_ring_params_from_consensus(&c, false, &p);
  cr_assert_eq(p.voting_interval, 3600);
  cr_assert_eq(p.period_length, 1440);
  cr_assert_eq(p.rotation_offset, 720);
  cr_assert_eq(p.n_replicas, 2);
  cr_assert_eq(p.spread_fetch, 3);
  cr_assert_eq(p.spread_store, 4);
  /* spec 2.2.1: 2016-04-13 11:15:01 is in period 16903, which began on
   * 2016-04-12 12:00 */
  cr_assert_eq(hs_ring_time_period(&p, 1460546101), 16903);
  cr_assert_eq(hs_ring_time_period(&p, DAY0 + 12 * 3600 - 1), 16903);
  cr_assert_eq(hs_ring_time_period(&p, DAY0 + 12 * 3600), 16904);

  uint64_t tp;
  uint8_t srv[32], cc[32], bb[32];
  memset(cc, 0xcc, 32);
  memset(bb, 0xbb, 32);
  /* C1 at 13:00, right after TP#16904 started: "-" segment */
  cr_assert(hs_ring_in_tp_to_srv(&p, c.valid_after));
  hs_ring_fetch_tp_srv(&c, &p, &tp, srv);
  cr_assert_eq(tp, 16904);
  cr_assert_arr_eq(srv, cc, 32, "current SRV in the TP->SRV segment");
  hs_ring_store_tp_srv(&c, &p, false, &tp, srv);
  cr_assert_eq(tp, 16903);
  cr_assert_arr_eq(srv, bb, 32);
  hs_ring_store_tp_srv(&c, &p, true, &tp, srv);
  cr_assert_eq(tp, 16904);
  cr_assert_arr_eq(srv, cc, 32);
  /* C2 at 01:00 the next day, right after the new SRV: "=" segment */
  c = fake_consensus(DAY0 + 25 * 3600, 3600, true, true);
  cr_assert_not(hs_ring_in_tp_to_srv(&p, c.valid_after));
  hs_ring_fetch_tp_srv(&c, &p, &tp, srv);
  cr_assert_eq(tp, 16904);
  cr_assert_arr_eq(srv, bb, 32, "previous SRV in the SRV->TP segment");
  hs_ring_store_tp_srv(&c, &p, false, &tp, srv);
  cr_assert_eq(tp, 16904);
  cr_assert_arr_eq(srv, bb, 32);
  hs_ring_store_tp_srv(&c, &p, true, &tp, srv);
  cr_assert_eq(tp, 16905);
  cr_assert_arr_eq(srv, cc, 32);
  /* the boundaries themselves */
  cr_assert_not(hs_ring_in_tp_to_srv(&p, DAY0), "00:00 is a new SRV");
  cr_assert_not(hs_ring_in_tp_to_srv(&p, DAY0 + 11 * 3600));
  cr_assert(hs_ring_in_tp_to_srv(&p, DAY0 + 12 * 3600), "12:00 a new TP");
  cr_assert(hs_ring_in_tp_to_srv(&p, DAY0 + 23 * 3600));
}

Test(hs_ring, testing_network_schedule)
{
  /* V3AuthVotingInterval 20: tor uses 8-minute periods offset by 4 */
  time_t va = 1700000000 - 1700000000 % 480;   /* an SRV run start */
  consensus_t c = fake_consensus(va, 20, true, true);
  hs_ring_params_t p;
  hs_ring_params_from_consensus(&c, true, &p);
  cr_assert_eq(p.period_length, 8);
  cr_assert_eq(p.rotation_offset, 4);
  cr_assert_eq(hs_ring_time_period(&p, va), hs_time_period_num(va, 8, 4));
  cr_assert_not(hs_ring_in_tp_to_srv(&p, va));
  cr_assert_not(hs_ring_in_tp_to_srv(&p, va + 220));
  cr_assert(hs_ring_in_tp_to_srv(&p, va + 240));
  cr_assert(hs_ring_in_tp_to_srv(&p, va + 460));
  cr_assert_not(hs_ring_in_tp_to_srv(&p, va + 480));
  /* not testing: the hsdir-interval parameter, clamped */
  consensus_kv_t kv[4] = {
    { (char *)"hsdir-interval", 10 }, { (char *)"hsdir_n_replicas", 40 },
    { (char *)"hsdir_spread_fetch", 0 }, { (char *)"hsdir_spread_store", 7 },
  };
  c.params = kv;
  c.n_params = 4;
  hs_ring_params_from_consensus(&c, false, &p);
  cr_assert_eq(p.period_length, 30);
  cr_assert_eq(p.n_replicas, 16);
  cr_assert_eq(p.spread_fetch, 1);
  cr_assert_eq(p.spread_store, 7);
  kv[0].value = 100000;
  hs_ring_params_from_consensus(&c, false, &p);
  cr_assert_eq(p.period_length, 14400);
  /* a consensus with a bad interval falls back to an hour */
  c.fresh_until = c.valid_after;
  hs_ring_params_from_consensus(&c, false, &p);
  cr_assert_eq(p.voting_interval, 3600);
}

Test(hs_ring, disaster_srv)
{
  hs_ring_params_t p = real_params();
  uint8_t srv[32];
  /* no SRV at all in the consensus: rend-spec-v3 2.3.1 */
  consensus_t c = fake_consensus(DAY0 + 13 * 3600, 3600, false, false);
  hs_ring_srv(srv, &c, true, 19000, &p);
  test_expect_hex(srv, 32, disaster_srv_19000);
  hs_ring_srv(srv, &c, false, 19000, &p);
  test_expect_hex(srv, 32, disaster_srv_19000);
  hs_ring_srv(srv, NULL, true, 19000, &p);
  test_expect_hex(srv, 32, disaster_srv_19000);
  /* only the missing one is replaced */
  c.has_srv_current = 1;
  uint8_t cc[32];
  memset(cc, 0xcc, 32);
  hs_ring_srv(srv, &c, true, 19000, &p);
  cr_assert_arr_eq(srv, cc, 32);
  hs_ring_srv(srv, &c, false, 19000, &p);
  test_expect_hex(srv, 32, disaster_srv_19000);
}
