/* test_hs_vanguards.c -- vanguards-lite in the client (proposal 333): the
 * layer-2 set is filled on a directory update, every onion-service circuit
 * (client_circ_launch_hs / _spec) takes its second hop from it, never the
 * guard or the last hop; with no fitting member, or VanguardsLiteEnabled 0,
 * an ordinary middle is used.  Circuits go to the fake channel manager. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "allium/feature/client/client.h"
#include "allium/lib/log/log.h"
#include <stdlib.h>
#include "fake_origin_channels.h"
#include "netfix.h"
#include "../../../../src/feature/client/client_st.h"

#define F_ST (F_STD | NODE_FLAG_STABLE)

static const netfix_relay_t net[] = {
  { "g1", 0x11, "10.1.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
  { "g2", 0x12, "10.2.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
  { "m1", 0x21, "10.4.0.1", F_ST, 1000, NULL, NULL },
  { "m2", 0x22, "10.5.0.1", F_ST, 1000, NULL, NULL },
  { "m3", 0x23, "10.6.0.1", F_ST, 1000, NULL, NULL },
  { "m4", 0x24, "10.8.0.1", F_STD, 1000, NULL, NULL },   /* not Stable */
  { "e1", 0x31, "10.7.0.1", F_STD | F_EXIT, 1000, "accept 80,443", NULL },
};
#define NNET (sizeof(net) / sizeof(net[0]))

static struct event_base *base;
static nodelist_t *nl;
static client_t *cl;
static char cm_dummy;

static void
mk(const netfix_relay_t *r, size_t n, bool no_vanguards, bool guards)
{
  if (getenv("CLIENT_TEST_DEBUG")) {
    log_sinks_clear();
    log_sink_add(LOG_SINK_STDERR, SEV_DEBUG, SEV_ERR, NULL, NULL, NULL);
  }
  base = event_base_new();
  cr_assert_not_null(base);
  nl = netfix_nodelist(r, n, NULL, NULL);
  fake_reset();
  client_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.base = base;
  cfg.cm = (chanmgr_t *)(void *)&cm_dummy;
  cfg.nl = nl;
  pathsel_options_init(&cfg.path_opts);
  cfg.path_opts.enforce_distinct_subnets = true;
  cfg.use_entry_guards = guards;
  cfg.no_vanguards_lite = no_vanguards;
  cl = client_new(&cfg);
  cr_assert_not_null(cl);
  client_dirinfo_changed(cl, true);
  /* the preemptive circuits complete (their guards stop being pending) */
  for (size_t i = 0; i < fake_n_circs(); i++)
    fake_build(i);
}

static void
teardown(void)
{
  client_free(cl);
  fake_reset();
  nodelist_free(nl);
  if (base)
    event_base_free(base);
  base = NULL;
}

/* Launch an onion-service circuit to last; returns its fake circuit. */
static fake_circ_t *
launch(const char *last_nick)
{
  const node_t *last = nodelist_find_by_nickname(nl, last_nick);
  cr_assert_not_null(last);
  chanmgr_circ_cbs_t cbs;
  memset(&cbs, 0, sizeof(cbs));
  uint64_t h = 0;
  size_t before = fake_n_circs();
  cr_assert_eq(client_circ_launch_hs(cl, last, &cbs, &h), 0);
  cr_assert_eq(fake_n_circs(), before + 1);
  fake_circ_t *fc = fake_circ(before);
  cr_assert_eq(fc->n_hops, 3);
  cr_assert(memcmp(fc->hops[2].rsa_id, last->rsa_id, 20) == 0);
  cr_assert(memcmp(fc->hops[1].rsa_id, fc->hops[0].rsa_id, 20) != 0);
  cr_assert(memcmp(fc->hops[1].rsa_id, last->rsa_id, 20) != 0);
  return fc;
}

Test(hs_vanguards, second_hop_from_the_set, .fini = teardown)
{
  mk(net, NNET, false, true);
  /* Stable + Fast: g1, g2, m1, m2, m3 (not m4, not e1) */
  cr_assert_eq(cl->vanguards.n, 4);
  for (size_t i = 0; i < cl->vanguards.n; i++) {
    const node_t *n = nodelist_find_by_rsa_id(nl, cl->vanguards.e[i].rsa_id);
    cr_assert(n->flags & NODE_FLAG_STABLE, "%s not Stable", n->nickname);
  }
  vanguards_t set = cl->vanguards;
  static const char *lasts[] = { "e1", "m4", "m1", "g2" };
  for (int i = 0; i < 56; i++) {   /* FAKE_MAX_CIRCS in all */
    fake_circ_t *fc = launch(lasts[i % 4]);
    cr_assert(vanguards_contains(&cl->vanguards, fc->hops[1].rsa_id),
              "second hop not a layer-2 node");
  }
  /* the set did not change meanwhile */
  cr_assert_eq(memcmp(&set, &cl->vanguards, sizeof(set)), 0);
}

Test(hs_vanguards, fallback_to_a_middle, .fini = teardown)
{
  /* only m1 is Stable: the set is {m1}; a circuit ending at m1 gets an
   * ordinary middle, others get m1 */
  netfix_relay_t r[NNET];
  memcpy(r, net, sizeof(r));
  for (size_t i = 0; i < NNET; i++)
    r[i].flags = F_STD | (r[i].flags & (NODE_FLAG_GUARD | NODE_FLAG_EXIT | NODE_FLAG_V2DIR));
  r[2].flags |= NODE_FLAG_STABLE;
  mk(r, NNET, false, false);
  cr_assert_eq(cl->vanguards.n, 1);
  const node_t *m1 = nodelist_find_by_nickname(nl, "m1");
  cr_assert(vanguards_contains(&cl->vanguards, m1->rsa_id));
  for (int i = 0; i < 28; i++) {
    fake_circ_t *fc = launch("m1");
    cr_assert(memcmp(fc->hops[1].rsa_id, m1->rsa_id, 20) != 0);
    fc = launch("e1");
    if (memcmp(fc->hops[0].rsa_id, m1->rsa_id, 20) != 0)
      cr_assert(memcmp(fc->hops[1].rsa_id, m1->rsa_id, 20) == 0,
                "the layer-2 node fits but was not used");
  }
}

Test(hs_vanguards, disabled, .fini = teardown)
{
  mk(net, NNET, true, true);
  cr_assert_eq(cl->vanguards.n, 0);
  bool saw_unstable_middle = false;
  for (int i = 0; i < 56; i++) {
    fake_circ_t *fc = launch("e1");
    const node_t *m = nodelist_find_by_rsa_id(nl, fc->hops[1].rsa_id);
    saw_unstable_middle |= !(m->flags & NODE_FLAG_STABLE);
  }
  cr_assert_eq(cl->vanguards.n, 0);
  cr_assert(saw_unstable_middle, "ordinary middles include m4");
}
