/* test_pathsel.c -- bandwidth-weighted choice (dir-spec 3.8.3 weights),
 * exit choice by port, ExitNodes / ExcludeNodes / StrictNodes, family and
 * /16 constraints, with a seeded RNG. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/pathsel/pathsel.h"
#include "netfix.h"

#define DRAWS 30000

static const node_t *
by_nick(const nodelist_t *nl, const char *n)
{
  return nodelist_find_by_nickname(nl, n);
}

static size_t
count_picks(const nodelist_t *nl, pathsel_position_t pos, const node_t *target, uint64_t seed)
{
  netfix_rng_t r;
  netfix_rng_init(&r, seed);
  size_t c = 0;
  for (int i = 0; i < DRAWS; i++)
    if (pathsel_choose_weighted(nl, pos, NULL, NULL, &r.rng) == target)
      c++;
  return c;
}

Test(pathsel, bandwidth_proportional)
{
  netfix_relay_t net[] = {
    { "small", 0x01, "1.1.0.1", F_STD, 1000, NULL, NULL },
    { "big", 0x02, "1.2.0.1", F_STD, 3000, NULL, NULL },
  };
  nodelist_t *nl = netfix_nodelist(net, 2, NULL, NULL);
  size_t big = count_picks(nl, PATHSEL_POS_MIDDLE, by_nick(nl, "big"), 1);
  /* expected 22500; 5 sigma is ~375 */
  cr_assert(big > 22000 && big < 23000, "big picked %zu of %d", big, DRAWS);
  double ratio = (double)big / (double)(DRAWS - big);
  cr_assert(ratio > 2.8 && ratio < 3.2, "ratio %f", ratio);
  nodelist_free(nl);
}

Test(pathsel, position_weights)
{
  /* equal bandwidth; Wmg=2500 vs Wmm=10000: the plain node 4x as often in
   * the middle; Exit-only nodes weigh 0 as guards. */
  netfix_relay_t net[] = {
    { "g", 0x01, "1.1.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
    { "m", 0x02, "1.2.0.1", F_STD, 1000, NULL, NULL },
    { "e", 0x03, "1.3.0.1", F_STD | F_EXIT, 1000, "accept 1-65535", NULL },
  };
  nodelist_t *nl = netfix_nodelist(net, 3, "Wmg=2500 Wmm=10000 Wme=0 Wgg=10000 Wgm=5000",
                                   NULL);
  const node_t *g = by_nick(nl, "g"), *m = by_nick(nl, "m"), *e = by_nick(nl, "e");
  cr_assert_float_eq(pathsel_node_weight(nl, g, PATHSEL_POS_MIDDLE), 250.0, 1e-9);
  cr_assert_float_eq(pathsel_node_weight(nl, m, PATHSEL_POS_MIDDLE), 1000.0, 1e-9);
  cr_assert_float_eq(pathsel_node_weight(nl, e, PATHSEL_POS_MIDDLE), 0.0, 1e-9);
  cr_assert_float_eq(pathsel_node_weight(nl, e, PATHSEL_POS_GUARD), 0.0, 1e-9);
  cr_assert_float_eq(pathsel_node_weight(nl, e, PATHSEL_POS_EXIT), 1000.0, 1e-9, "Wee default");
  cr_assert_float_eq(pathsel_node_weight(nl, m, PATHSEL_POS_GUARD), 500.0, 1e-9);
  size_t cm = count_picks(nl, PATHSEL_POS_MIDDLE, m, 7);
  size_t cg = count_picks(nl, PATHSEL_POS_MIDDLE, g, 7);
  cr_assert_eq(cm + cg, DRAWS, "the Exit never appears in the middle with Wme=0");
  cr_assert(cm > 23600 && cm < 24400, "m picked %zu", cm);
  cr_assert_eq(count_picks(nl, PATHSEL_POS_GUARD, e, 3), 0);
  nodelist_free(nl);
}

Test(pathsel, weight_scale_and_clamping)
{
  netfix_relay_t net[] = {
    { "d", 0x01, "1.1.0.1", F_STD | F_GUARD | F_EXIT, 800, NULL, NULL },
    { "b", 0x02, "1.2.0.1", F_STD | F_EXIT | NODE_FLAG_BADEXIT, 800, NULL, NULL },
  };
  nodelist_t *nl = netfix_nodelist(net, 2, "Wgd=5000 Wmd=-3 Wed=99999 Wmm=1000 Wme=7000",
                                   "bwweightscale=20000");
  const node_t *d = by_nick(nl, "d"), *b = by_nick(nl, "b");
  cr_assert_float_eq(pathsel_node_weight(nl, d, PATHSEL_POS_GUARD), 200.0, 1e-9);
  cr_assert_float_eq(pathsel_node_weight(nl, d, PATHSEL_POS_MIDDLE), 0.0, 1e-9);
  cr_assert_float_eq(pathsel_node_weight(nl, d, PATHSEL_POS_EXIT), 800.0, 1e-9, "clamped");
  /* a BadExit counts as a non-exit: Wmm, not Wme */
  cr_assert_float_eq(pathsel_node_weight(nl, b, PATHSEL_POS_MIDDLE), 40.0, 1e-9);
  cr_assert_float_eq(pathsel_node_weight(nl, NULL, PATHSEL_POS_MIDDLE), 0.0, 1e-9);
  nodelist_free(nl);
}

Test(pathsel, zero_weights_uniform_and_empty)
{
  netfix_relay_t net[] = {
    { "a", 0x01, "1.1.0.1", F_STD, 0, NULL, NULL },
    { "b", 0x02, "1.2.0.1", F_STD, 0, NULL, NULL },
  };
  nodelist_t *nl = netfix_nodelist(net, 2, NULL, NULL);
  size_t ca = count_picks(nl, PATHSEL_POS_MIDDLE, by_nick(nl, "a"), 5);
  cr_assert(ca > 14000 && ca < 16000, "uniform: %zu", ca);
  nodelist_free(nl);
  nl = nodelist_new();
  cr_assert_null(pathsel_choose_weighted(nl, PATHSEL_POS_MIDDLE, NULL, NULL, NULL));
  nodelist_free(nl);
}

Test(pathsel, system_rng_works)
{
  netfix_relay_t net[] = { { "a", 0x01, "1.1.0.1", F_STD, 10, NULL, NULL } };
  nodelist_t *nl = netfix_nodelist(net, 1, NULL, NULL);
  cr_assert_not_null(pathsel_choose_weighted(nl, PATHSEL_POS_MIDDLE, NULL, NULL, NULL));
  cr_assert_lt(pathsel_rand(NULL, 5), 5);
  cr_assert_eq(pathsel_rand(NULL, 0), 0);
  nodelist_free(nl);
}

static const netfix_relay_t exits[] = {
  { "web", 0x01, "10.1.0.1", F_STD | F_EXIT, 1000, "accept 80,443", NULL },
  { "mail", 0x02, "10.2.0.1", F_STD | F_EXIT, 1000, "accept 25", NULL },
  { "bad", 0x03, "10.3.0.1", F_STD | F_EXIT | NODE_FLAG_BADEXIT, 1000, "accept 1-65535", NULL },
  { "mo", 0x04, "10.4.0.1", F_STD | F_EXIT | NODE_FLAG_MIDDLEONLY, 1000, "accept 1-65535", NULL },
  { "slow", 0x05, "10.5.0.1", NODE_FLAG_RUNNING | NODE_FLAG_VALID | F_EXIT, 1000, "accept 1-65535", NULL },
  { "none", 0x06, "10.6.0.1", F_STD, 1000, "reject 1-65535", NULL },
  { "web2", 0x07, "10.7.0.1", F_STD | F_EXIT, 1000, "reject 25", NULL },
};
#define NEXITS (sizeof(exits) / sizeof(exits[0]))

static void
assert_exit_set(const nodelist_t *nl, const pathsel_options_t *o, uint16_t port,
                const char *const *allowed, size_t n_allowed)
{
  netfix_rng_t r;
  netfix_rng_init(&r, port);
  bool seen[8] = { false };
  for (int i = 0; i < 2000; i++) {
    const node_t *x = pathsel_choose_exit(nl, o, port, NULL, &r.rng);
    cr_assert_not_null(x, "port %u", port);
    bool ok = false;
    for (size_t k = 0; k < n_allowed; k++)
      if (!strcmp(x->nickname, allowed[k])) {
        ok = true;
        seen[k] = true;
      }
    cr_assert(ok, "port %u chose %s", port, x->nickname);
  }
  for (size_t k = 0; k < n_allowed; k++)
    cr_assert(seen[k], "%s never chosen for port %u", allowed[k], port);
}

Test(pathsel, exit_by_port)
{
  nodelist_t *nl = netfix_nodelist(exits, NEXITS, NULL, NULL);
  pathsel_options_t o;
  pathsel_options_init(&o);
  assert_exit_set(nl, &o, 80, (const char *[]){ "web", "web2" }, 2);
  assert_exit_set(nl, &o, 25, (const char *[]){ "mail" }, 1);
  assert_exit_set(nl, &o, 22, (const char *[]){ "web2" }, 1);
  assert_exit_set(nl, &o, 0, (const char *[]){ "web", "mail", "web2" }, 3);
  o.allow_bad_exits = true;
  assert_exit_set(nl, &o, 25, (const char *[]){ "mail", "bad" }, 2);
  o.need_fast = false;
  assert_exit_set(nl, &o, 25, (const char *[]){ "mail", "bad", "slow" }, 3);
  nodelist_free(nl);
}

Test(pathsel, exit_nodes_are_strict)
{
  nodelist_t *nl = netfix_nodelist(exits, NEXITS, NULL, NULL);
  pathsel_options_t o;
  pathsel_options_init(&o);
  routerset_t *rs = NULL;
  cr_assert_eq(routerset_parse("web2", &rs), 0);
  o.exit_nodes = rs;
  assert_exit_set(nl, &o, 80, (const char *[]){ "web2" }, 1);
  cr_assert_null(pathsel_choose_exit(nl, &o, 25, NULL, NULL), "web2 rejects 25");
  routerset_free(rs);
  nodelist_free(nl);
}

Test(pathsel, exclude_nodes_and_strict_nodes)
{
  nodelist_t *nl = netfix_nodelist(exits, NEXITS, NULL, NULL);
  pathsel_options_t o;
  pathsel_options_init(&o);
  routerset_t *rs = NULL;
  cr_assert_eq(routerset_parse("$0101010101010101010101010101010101010101,mail", &rs), 0);
  o.exclude_nodes = rs;
  assert_exit_set(nl, &o, 80, (const char *[]){ "web2" }, 1);
  /* only "mail" allows 25: a general circuit never falls back to an
   * excluded exit, whatever StrictNodes says; a directory fetch may */
  cr_assert_null(pathsel_choose_exit(nl, &o, 25, NULL, NULL));
  o.purpose = PATHSEL_PURPOSE_DIR;
  assert_exit_set(nl, &o, 25, (const char *[]){ "mail" }, 1);
  o.purpose = PATHSEL_PURPOSE_GENERAL;
  o.strict_nodes = true;
  cr_assert_null(pathsel_choose_exit(nl, &o, 25, NULL, NULL));
  assert_exit_set(nl, &o, 80, (const char *[]){ "web2" }, 1);
  routerset_free(rs);
  nodelist_free(nl);
}

Test(pathsel, family_and_subnet_avoidance)
{
  netfix_relay_t net[] = {
    { "x", 0x01, "10.1.0.1", F_STD | F_EXIT, 1000, "accept 80", NULL },
    { "fam", 0x02, "10.2.0.1", F_STD, 1000, NULL, "x" },
    { "sub", 0x03, "10.1.9.9", F_STD, 1000, NULL, NULL },
    { "ok", 0x04, "10.4.0.1", F_STD, 100, NULL, NULL },
  };
  net[0].family = "fam";
  nodelist_t *nl = netfix_nodelist(net, 4, NULL, NULL);
  pathsel_options_t o;
  pathsel_options_init(&o);
  pathsel_avoid_t av = { { by_nick(nl, "x") }, 1 };
  netfix_rng_t r;
  netfix_rng_init(&r, 99);
  for (int i = 0; i < 500; i++) {
    const node_t *m = pathsel_choose_middle(nl, &o, &av, &r.rng);
    cr_assert_str_eq(m->nickname, "ok");
  }
  o.enforce_distinct_subnets = false;
  bool saw_sub = false;
  for (int i = 0; i < 500; i++) {
    const node_t *m = pathsel_choose_middle(nl, &o, &av, &r.rng);
    cr_assert_str_neq(m->nickname, "x");
    cr_assert_str_neq(m->nickname, "fam");
    saw_sub |= !strcmp(m->nickname, "sub");
  }
  cr_assert(saw_sub, "same /16 allowed with EnforceDistinctSubnets 0");
  /* everything related: nothing left */
  pathsel_avoid_t all = { { by_nick(nl, "x"), by_nick(nl, "ok"), by_nick(nl, "sub") }, 3 };
  cr_assert_null(pathsel_choose_middle(nl, &o, &all, &r.rng));
  cr_assert(pathsel_compatible(&o, NULL, by_nick(nl, "x")));
  nodelist_free(nl);
}
