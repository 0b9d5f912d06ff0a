/* test_relay_reach.c -- the ORPort reachability self-test
 * (src/feature/relay/relay_reach.c): the state machine (AssumeReachable,
 * launch spacing, one test in flight, the 20-minute complaint and slow
 * retries, proof only from a grown counter), the proof counter's
 * private-address rule, our own hop, the first-hop choice, and two relays
 * over loopback: one reaches the other through itself (reachable), and a
 * relay advertising a dead ORPort stays unconfirmed. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/relay/relay_reach.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

static char DIRA[64], DIRB[64];
static relay_keys_t *KA, *KB;

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(evloop_init(), 0);
  snprintf(DIRA, sizeof(DIRA), "/tmp/allium-reachA.XXXXXX");
  snprintf(DIRB, sizeof(DIRB), "/tmp/allium-reachB.XXXXXX");
  cr_assert_not_null(mkdtemp(DIRA));
  cr_assert_not_null(mkdtemp(DIRB));
  cr_assert_eq(relay_keys_load_or_create(DIRA, 1, &KA), 0);
  cr_assert_eq(relay_keys_load_or_create(DIRB, 1, &KB), 0);
}

static void
teardown(void)
{
  char cmd[192];
  relay_keys_free(KA);
  relay_keys_free(KB);
  evloop_shutdown();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", DIRA, DIRB);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(relay_reach, .init = setup, .fini = teardown, .timeout = 60);

#define MIN_MS 60000ull

/* ---- state machine ---- */

Test(relay_reach, assumed_publishes_and_never_tests)
{
  relay_reach_sm_t sm;
  relay_reach_sm_init(&sm, true, 1000, 0);
  cr_assert_eq(sm.state, RELAY_REACH_ASSUMED);
  cr_assert(relay_reach_sm_may_publish(&sm));
  cr_assert_eq(relay_reach_sm_tick(&sm, 2000, true), RELAY_REACH_ACT_NONE);
  cr_assert_eq(relay_reach_sm_tick(&sm, 1000 + 30 * MIN_MS, true),
               RELAY_REACH_ACT_NONE, "no complaint either");
  cr_assert_not(relay_reach_sm_note_inbound(&sm, 5, 3000));
  cr_assert_str_eq(relay_reach_state_name(sm.state), "assumed");
}

Test(relay_reach, testing_blocks_until_the_counter_grows)
{
  relay_reach_sm_t sm;
  relay_reach_sm_init(&sm, false, 1000, 7);
  cr_assert_eq(sm.state, RELAY_REACH_TESTING);
  cr_assert_not(relay_reach_sm_may_publish(&sm));
  cr_assert_not(relay_reach_sm_note_inbound(&sm, 7, 1500), "not grown");
  cr_assert_not(relay_reach_sm_note_inbound(&sm, 3, 1500), "went down");
  cr_assert_not(relay_reach_sm_may_publish(&sm));
  cr_assert(relay_reach_sm_note_inbound(&sm, 8, 2000));
  cr_assert_eq(sm.state, RELAY_REACH_REACHABLE);
  cr_assert_eq(sm.reachable_ms, 2000);
  cr_assert(relay_reach_sm_may_publish(&sm));
  cr_assert_not(relay_reach_sm_note_inbound(&sm, 9, 2500), "only once");
  cr_assert_eq(relay_reach_sm_tick(&sm, 3000, true), RELAY_REACH_ACT_NONE);
}

Test(relay_reach, launch_spacing_and_one_in_flight)
{
  relay_reach_sm_t sm;
  relay_reach_sm_init(&sm, false, 0, 0);
  cr_assert_eq(relay_reach_sm_tick(&sm, 10, false), RELAY_REACH_ACT_NONE,
               "no first hop known yet");
  cr_assert_eq(relay_reach_sm_tick(&sm, 20, true), RELAY_REACH_ACT_LAUNCH);
  cr_assert(sm.in_flight);
  cr_assert_eq(relay_reach_sm_tick(&sm, 20 + 60000, true), RELAY_REACH_ACT_NONE,
               "one test at a time");
  relay_reach_sm_note_done(&sm, false);
  cr_assert_eq(sm.n_failed, 1);
  relay_reach_sm_note_done(&sm, false);
  cr_assert_eq(sm.n_failed, 1, "nothing in flight: ignored");
  cr_assert_eq(relay_reach_sm_tick(&sm, 20 + 60000, true), RELAY_REACH_ACT_LAUNCH,
               "spacing is from the last launch");
  relay_reach_sm_note_done(&sm, true);
  cr_assert_eq(sm.n_built, 1);
  uint64_t t = 20 + 60000;
  cr_assert_eq(relay_reach_sm_tick(&sm, t + RELAY_REACH_RETRY_SEC * 1000 - 1, true),
               RELAY_REACH_ACT_NONE);
  cr_assert_eq(relay_reach_sm_tick(&sm, t + RELAY_REACH_RETRY_SEC * 1000, true),
               RELAY_REACH_ACT_LAUNCH);
  cr_assert_eq(sm.n_launched, 3);
  cr_assert_not(relay_reach_sm_may_publish(&sm), "built circuits prove nothing");
}

Test(relay_reach, complaint_after_twenty_minutes_then_slow)
{
  relay_reach_sm_t sm;
  relay_reach_sm_init(&sm, false, 5000, 0);
  uint64_t t0 = 5000, c = t0 + (uint64_t)RELAY_REACH_COMPLAIN_SEC * 1000;
  cr_assert_eq(relay_reach_sm_tick(&sm, c - 1, false), RELAY_REACH_ACT_NONE);
  cr_assert_eq(relay_reach_sm_tick(&sm, c, true), RELAY_REACH_ACT_COMPLAIN);
  cr_assert_eq(relay_reach_sm_tick(&sm, c + 1, true), RELAY_REACH_ACT_LAUNCH);
  relay_reach_sm_note_done(&sm, false);
  /* slow phase: the next launch and complaint one slow period later */
  uint64_t slow = (uint64_t)RELAY_REACH_SLOW_RETRY_SEC * 1000;
  cr_assert_eq(relay_reach_sm_tick(&sm, c + 60000, true), RELAY_REACH_ACT_NONE);
  cr_assert_eq(relay_reach_sm_tick(&sm, c + slow, true), RELAY_REACH_ACT_COMPLAIN);
  cr_assert_eq(relay_reach_sm_tick(&sm, c + slow + 1, true), RELAY_REACH_ACT_LAUNCH);
  cr_assert_eq(sm.n_launched, 2);
  /* reachable at last: quiet */
  cr_assert(relay_reach_sm_note_inbound(&sm, 1, c + slow + 2));
  cr_assert_eq(relay_reach_sm_tick(&sm, c + 3 * slow, true), RELAY_REACH_ACT_NONE);
}

Test(relay_reach, inbound_count_private_rule)
{
  cellswitch_stats_t s;
  memset(&s, 0, sizeof(s));
  s.created_inbound = 5;
  s.created_inbound_private = 5;
  cr_assert_eq(relay_reach_inbound_count(&s, false), 0,
               "loopback peers prove nothing on the public network");
  cr_assert_eq(relay_reach_inbound_count(&s, true), 5,
               "... but do in a testing network");
  s.created_inbound = 7;
  cr_assert_eq(relay_reach_inbound_count(&s, false), 2);
  s.created_inbound_private = 9;   /* inconsistent: never wraps */
  cr_assert_eq(relay_reach_inbound_count(&s, false), 0);
}

/* ---- hops ---- */

Test(relay_reach, self_spec)
{
  router_desc_params_t p;
  circ_hop_spec_t h;
  memset(&p, 0, sizeof(p));
  cr_assert_eq(relay_reach_self_spec(&p, &h), -1, "no keys");
  cr_assert_eq(relay_reach_self_spec(NULL, &h), -1);
  p.keys = KB;
  p.orport = 9001;
  cr_assert_eq(relay_reach_self_spec(&p, &h), -1, "0.0.0.0");
  memcpy(p.ipv4, (uint8_t[]){ 192, 0, 2, 7 }, 4);
  p.orport = 0;
  cr_assert_eq(relay_reach_self_spec(&p, &h), -1, "no ORPort");
  p.orport = 9001;
  cr_assert_eq(relay_reach_self_spec(&p, &h), 0);
  cr_assert_eq(memcmp(h.rsa_id, relay_keys_identity_digest(KB), 20), 0);
  cr_assert(h.has_ed_id);
  cr_assert_eq(memcmp(h.ed_id, relay_keys_master_public(KB)->pubkey, 32), 0);
  cr_assert_eq(memcmp(h.ntor_key, relay_keys_onion_ntor(KB)->pub, 32), 0);
  cr_assert_eq(h.n_addr, 1);
  cr_assert_eq(h.addr[0].type, RELAY_LSPEC_IPV4);
  cr_assert_eq(h.addr[0].u.ipv4.port, 9001);
  cr_assert_eq(h.addr[0].u.ipv4.addr[0], 192);
}

/* A consensus naming routers (id byte, ip, port, flags); ntor keys are not
 * known (CREATE_FAST first hop) unless a key is given. */
typedef struct fake_router_t {
  const uint8_t *rsa_id;
  uint8_t ip[4];
  uint16_t port;
  uint32_t flags;
} fake_router_t;

static int
cmp_router(const void *a, const void *b)
{
  return memcmp(((const consensus_router_t *)a)->identity,
                ((const consensus_router_t *)b)->identity, 20);
}

static nodelist_t *
fake_nodelist(const fake_router_t *r, size_t n)
{
  consensus_t *c = al_calloc(1, sizeof(*c));
  c->flavor = CONSENSUS_FLAVOR_MICRODESC;
  c->consensus_method = 33;
  c->valid_after = time(NULL) - 60;
  c->fresh_until = c->valid_after + 3600;
  c->valid_until = c->valid_after + 3 * 3600;
  c->routers = al_calloc(n ? n : 1, sizeof(consensus_router_t));
  c->n_routers = n;
  for (size_t i = 0; i < n; i++) {
    consensus_router_t *cr = &c->routers[i];
    snprintf(cr->nickname, sizeof(cr->nickname), "r%zu", i);
    memcpy(cr->identity, r[i].rsa_id, 20);
    memcpy(cr->ipv4, r[i].ip, 4);
    cr->orport = r[i].port;
    cr->flags = r[i].flags;
    cr->protocols = al_strdup("Link=4-5 Relay=1-4");
  }
  qsort(c->routers, n, sizeof(consensus_router_t), cmp_router);
  nodelist_t *nl = nodelist_new();
  cr_assert_eq(nodelist_set_consensus(nl, c), 0);
  return nl;
}

#define RV (NODE_FLAG_RUNNING | NODE_FLAG_VALID)

Test(relay_reach, first_hop_choice)
{
  uint8_t id[5][20];
  for (int i = 0; i < 5; i++)
    memset(id[i], 0x10 * (i + 1), 20);
  fake_router_t r[] = {
    { id[0], { 10, 0, 0, 1 }, 9001, RV },                /* us */
    { id[1], { 10, 0, 0, 2 }, 9001, NODE_FLAG_VALID },   /* not Running */
    { id[2], { 0, 0, 0, 0 }, 9001, RV },                 /* no address */
    { id[3], { 10, 0, 0, 4 }, 0, RV },                   /* no ORPort */
    { id[4], { 10, 0, 0, 5 }, 9001, RV },                /* the only one */
  };
  cr_assert_null(relay_reach_pick_first_hop(NULL, id[0]));
  nodelist_t *nl = fake_nodelist(r, 4);
  cr_assert_null(relay_reach_pick_first_hop(nl, id[0]), "nobody usable");
  nodelist_free(nl);
  nl = fake_nodelist(r, 5);
  for (int i = 0; i < 20; i++) {
    const node_t *n = relay_reach_pick_first_hop(nl, id[0]);
    cr_assert_not_null(n);
    cr_assert_eq(memcmp(n->rsa_id, id[4], 20), 0);
  }
  /* without excluding ourselves, both Running relays come up */
  bool seen0 = false, seen4 = false;
  for (int i = 0; i < 200 && !(seen0 && seen4); i++) {
    const node_t *n = relay_reach_pick_first_hop(nl, NULL);
    seen0 |= !memcmp(n->rsa_id, id[0], 20);
    seen4 |= !memcmp(n->rsa_id, id[4], 20);
  }
  cr_assert(seen0 && seen4, "random over the candidates");
  nodelist_free(nl);
}

/* ---- two relays over loopback ---- */

typedef struct world_t {
  relay_run_t *a, *b;          /* a: first hop; b: under test */
  nodelist_t *nl;
  uint16_t b_port_advertised;
  int reached;
  relay_reach_t *reach;
  tls_context_t *tls;
  uint64_t deadline;
} world_t;

static relay_run_t *
relay_on_loopback(const relay_keys_t *k, const char *nick)
{
  config_line_t o = { .key = "ORPort", .value = "127.0.0.1:auto" };
  relay_run_config_t cfg = { .orport = &o, .nickname = nick, .keys = k,
                             .extend_allow_private = true,
                             .num_cpus = 1 };
  char *err = NULL;
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, &err);
  cr_assert_not_null(rr, "%s", err ? err : "");
  cr_assert_eq(relay_run_start(rr), 0);
  return rr;
}

static int
w_get_self(void *arg, router_desc_params_t *out)
{
  world_t *w = arg;
  memset(out, 0, sizeof(*out));
  out->keys = KB;
  memcpy(out->ipv4, (uint8_t[]){ 127, 0, 0, 1 }, 4);
  out->orport = w->b_port_advertised;
  return 0;
}

static nodelist_t *
w_get_nodelist(void *arg)
{
  return ((world_t *)arg)->nl;
}

static void
w_on_reachable(void *arg)
{
  ((world_t *)arg)->reached++;
}

static void
w_check(int what, void *arg)
{
  world_t *w = arg;
  (void)what;
  if (w->reached || evloop_monotonic_msec() > w->deadline)
    evloop_exit();
}

static void
run_world(world_t *w, bool dead_port, uint32_t max_msec)
{
  w->a = relay_on_loopback(KA, "firsthop");
  w->b = relay_on_loopback(KB, "undertest");
  uint16_t pa = relay_run_ports(w->a)->v[0].port;
  w->b_port_advertised = dead_port ? 1 : relay_run_ports(w->b)->v[0].port;
  fake_router_t r[] = {
    { relay_keys_identity_digest(KA), { 127, 0, 0, 1 }, pa, RV },
    { relay_keys_identity_digest(KB), { 127, 0, 0, 1 },
      w->b_port_advertised, RV },
  };
  w->nl = fake_nodelist(r, 2);
  w->tls = tls_context_new_client();
  relay_reach_cfg_t rc = { .base = evloop_base(), .tls = w->tls,
                           .sw = relay_run_switch(w->b),
                           .allow_private = true, .publish = true,
                           .get_self = w_get_self,
                           .get_nodelist = w_get_nodelist,
                           .on_reachable = w_on_reachable, .arg = w,
                           .tick_msec = 100 };
  w->reach = relay_reach_new(&rc);
  cr_assert_not_null(w->reach);
  cr_assert_not(relay_reach_may_publish(w->reach));
  cr_assert_eq(relay_reach_start(w->reach), 0);
  w->deadline = evloop_monotonic_msec() + max_msec;
  evloop_handle_t *t = evloop_timer_add(50, 1, w_check, w);
  evloop_run();
  evloop_handle_free(t);
}

static void
world_free(world_t *w)
{
  relay_reach_free(w->reach);
  tls_context_free(w->tls);
  relay_run_free(w->a);
  relay_run_free(w->b);
  nodelist_free(w->nl);
}

Test(relay_reach, loopback_reachable_through_another_relay)
{
  world_t w;
  memset(&w, 0, sizeof(w));
  run_world(&w, false, 20000);
  const relay_reach_sm_t *sm = relay_reach_get_sm(w.reach);
  cr_assert_eq(w.reached, 1, "state %s, %u launched, %u failed",
               relay_reach_state_name(sm->state), sm->n_launched, sm->n_failed);
  cr_assert_eq(sm->state, RELAY_REACH_REACHABLE);
  cr_assert(relay_reach_may_publish(w.reach));
  cellswitch_stats_t s;
  cellswitch_get_stats(relay_run_switch(w.b), &s);
  cr_assert_geq(s.created_inbound, 1, "the CREATE2 came in on a channel A opened");
  cellswitch_get_stats(relay_run_switch(w.a), &s);
  cr_assert_geq(s.extends, 1, "A extended to B");
  world_free(&w);
}

Test(relay_reach, dead_orport_stays_unconfirmed)
{
  world_t w;
  memset(&w, 0, sizeof(w));
  run_world(&w, true, 3000);
  const relay_reach_sm_t *sm = relay_reach_get_sm(w.reach);
  cr_assert_eq(w.reached, 0);
  cr_assert_eq(sm->state, RELAY_REACH_TESTING);
  cr_assert_not(relay_reach_may_publish(w.reach));
  cr_assert_geq(sm->n_launched, 1);
  cr_assert_geq(sm->n_failed, 1, "the extend to a dead port fails");
  cr_assert_eq(sm->n_built, 0);
  world_free(&w);
}
