/* test_vanguards.c -- vanguards-lite layer-2 set (proposal 333 section 1,
 * proposal 292 section 3.3) on synthetic consensuses: the set size and its
 * consensus parameter, lifetimes within [1, 12] days and skewed towards
 * the maximum (max(X,X)), replacement on expiry, on leaving the consensus
 * and on losing the Stable flag, ExcludeNodes, distinct members, small
 * networks with fewer suitable relays than wanted, the empty network, and
 * the per-circuit choice never equal or related to the guard / last hop. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/nodelist/routerset.h"
#include "allium/feature/pathsel/vanguards.h"
#include "netfix.h"

#define NOW (NETFIX_VALID_AFTER + 600)
#define DAY (24 * 3600)
#define NMAX 40

static netfix_relay_t relays[NMAX];
static char nicks[NMAX][20], ips[NMAX][20];

/* n relays r0.., each in its own /16, Stable+Fast+Running+Valid except
 * the ids listed in unstable (comma-free string of relay indexes as
 * chars, e.g. "\x01\x03"), all bandwidth 1000. */
static void
fill(size_t n, const char *unstable)
{
  for (size_t i = 0; i < n; i++) {
    snprintf(nicks[i], sizeof(nicks[i]), "r%zu", i);
    snprintf(ips[i], sizeof(ips[i]), "10.%zu.0.1", i + 1);
    relays[i].nick = nicks[i];
    relays[i].id = (uint8_t)(i + 1);
    relays[i].ip = ips[i];
    relays[i].bw = 1000;
    relays[i].flags = F_STD | NODE_FLAG_STABLE;
    relays[i].policy = NULL;
    relays[i].family = NULL;
    if (unstable && strchr(unstable, (int)i + 1))
      relays[i].flags &= ~(uint32_t)NODE_FLAG_STABLE;
  }
}

static nodelist_t *
net(size_t n, const char *params)
{
  fill(n, NULL);
  return netfix_nodelist(relays, n, NULL, params);
}

static void
check_members(const vanguards_t *v, const nodelist_t *nl, const pathsel_options_t *o)
{
  for (size_t i = 0; i < v->n; i++) {
    const node_t *n = nodelist_find_by_rsa_id(nl, v->e[i].rsa_id);
    cr_assert_not_null(n, "member %zu not in the consensus", i);
    cr_assert(vanguards_node_suitable(o, n), "member %s unsuitable", n->nickname);
    cr_assert_geq(v->e[i].expires - v->e[i].added, VANGUARDS_DFLT_LIFETIME_MIN);
    cr_assert_leq(v->e[i].expires - v->e[i].added, VANGUARDS_DFLT_LIFETIME_MAX);
    for (size_t j = 0; j < i; j++)
      cr_assert(memcmp(v->e[i].rsa_id, v->e[j].rsa_id, 20) != 0,
                "members %zu and %zu are the same relay", i, j);
  }
}

Test(vanguards, set_size_and_parameter)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 1);
  nodelist_t *nl = net(30, NULL);
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  cr_assert_eq(vanguards_target_size(nl), 4);
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW, &r.rng), 4);
  cr_assert_eq(v.n, 4);
  check_members(&v, nl, NULL);
  /* a second refresh changes nothing */
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW + 60, &r.rng), 0);
  cr_assert_eq(v.n, 4);
  nodelist_free(nl);

  /* guard-hs-l2-number: grows, clamped to 1..19, shrinks */
  nl = net(30, "guard-hs-l2-number=7");
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW, &r.rng), 3);
  cr_assert_eq(v.n, 7);
  check_members(&v, nl, NULL);
  nodelist_free(nl);
  nl = net(30, "guard-hs-l2-number=40");
  cr_assert_eq(vanguards_target_size(nl), VANGUARDS_MAX);
  vanguards_refresh(&v, nl, NULL, NOW, &r.rng);
  cr_assert_eq(v.n, VANGUARDS_MAX);
  check_members(&v, nl, NULL);
  nodelist_free(nl);
  nl = net(30, "guard-hs-l2-number=2");
  vanguard_entry_t first = v.e[0];
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW, &r.rng), VANGUARDS_MAX - 2);
  cr_assert_eq(v.n, 2);
  cr_assert(memcmp(v.e[0].rsa_id, first.rsa_id, 20) == 0, "oldest member kept");
  nodelist_free(nl);
  nl = net(30, "guard-hs-l2-number=0");
  cr_assert_eq(vanguards_target_size(nl), 1);
  nodelist_free(nl);
  vanguards_clear(&v);
  cr_assert_eq(v.n, 0);
}

Test(vanguards, lifetimes_in_range_and_skewed)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 2);
  double sum = 0;
  const int N = 20000;
  time_t lo = VANGUARDS_DFLT_LIFETIME_MIN, hi = VANGUARDS_DFLT_LIFETIME_MAX;
  time_t seen_min = hi, seen_max = lo;
  for (int i = 0; i < N; i++) {
    time_t l = vanguards_draw_lifetime(lo, hi, &r.rng);
    cr_assert(l >= lo && l <= hi, "lifetime %lld out of range", (long long)l);
    seen_min = l < seen_min ? l : seen_min;
    seen_max = l > seen_max ? l : seen_max;
    sum += (double)(l - lo);
  }
  /* max of two uniforms on [0, span]: mean 2/3 span (uniform: 1/2) */
  double mean = sum / N / (double)(hi - lo);
  cr_assert(mean > 0.64 && mean < 0.69, "mean fraction %f", mean);
  cr_assert_lt(seen_min, lo + DAY);
  cr_assert_gt(seen_max, hi - DAY / 10);
  cr_assert_eq(vanguards_draw_lifetime(5, 5, &r.rng), 5);
  cr_assert_eq(vanguards_draw_lifetime(9, 3, &r.rng), 9);

  /* bounds from the consensus; max below min is raised to min */
  nodelist_t *nl = net(4, "guard-hs-l2-lifetime-min=3600 guard-hs-l2-lifetime-max=7200");
  vanguards_lifetime_bounds(nl, &lo, &hi);
  cr_assert_eq(lo, 3600);
  cr_assert_eq(hi, 7200);
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  vanguards_refresh(&v, nl, NULL, NOW, &r.rng);
  for (size_t i = 0; i < v.n; i++)
    cr_assert(v.e[i].expires - NOW >= 3600 && v.e[i].expires - NOW <= 7200);
  nodelist_free(nl);
  nl = net(4, "guard-hs-l2-lifetime-min=7200 guard-hs-l2-lifetime-max=60");
  vanguards_lifetime_bounds(nl, &lo, &hi);
  cr_assert_eq(lo, 7200);
  cr_assert_eq(hi, 7200);
  nodelist_free(nl);
  nl = nodelist_new();
  vanguards_lifetime_bounds(nl, &lo, &hi);
  cr_assert_eq(lo, DAY);
  cr_assert_eq(hi, 12 * DAY);
  nodelist_free(nl);
}

Test(vanguards, expiry_replaces_members)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 3);
  nodelist_t *nl = net(30, NULL);
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  vanguards_refresh(&v, nl, NULL, NOW, &r.rng);
  cr_assert_eq(v.n, 4);
  /* the member expiring first goes at its expiry, the others stay */
  size_t k = 0;
  for (size_t i = 1; i < v.n; i++)
    if (v.e[i].expires < v.e[k].expires)
      k = i;
  vanguards_t before = v;
  time_t t = before.e[k].expires;
  /* not chosen once expired, even before a refresh */
  for (int i = 0; i < 200; i++) {
    const node_t *n = vanguards_choose(&v, nl, NULL, NULL, t, &r.rng);
    cr_assert_not_null(n);
    cr_assert(memcmp(n->rsa_id, before.e[k].rsa_id, 20) != 0);
  }
  int ch = vanguards_refresh(&v, nl, NULL, t, &r.rng);
  cr_assert_geq(ch, 2);          /* at least one out, one in */
  cr_assert_eq(v.n, 4);
  cr_assert(!vanguards_contains(&v, before.e[k].rsa_id) ||
            v.e[3].added == t, "expired member still there");
  for (size_t i = 0; i < before.n; i++)
    if (before.e[i].expires > t)
      cr_assert(vanguards_contains(&v, before.e[i].rsa_id), "live member %zu lost", i);
  for (size_t i = 0; i < v.n; i++)
    cr_assert_gt(v.e[i].expires, t);
  /* after 12 days every original member is gone (unless drawn again) */
  time_t later = NOW + 12 * DAY + 1;
  vanguards_refresh(&v, nl, NULL, later, &r.rng);
  cr_assert_eq(v.n, 4);
  for (size_t i = 0; i < v.n; i++)
    cr_assert_gt(v.e[i].added, NOW);
  check_members(&v, nl, NULL);
  nodelist_free(nl);
}

Test(vanguards, leaving_consensus_or_losing_flags)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 4);
  nodelist_t *nl = net(10, NULL);
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  vanguards_refresh(&v, nl, NULL, NOW, &r.rng);
  cr_assert_eq(v.n, 4);
  uint8_t gone[20], unstable[20];
  memcpy(gone, v.e[0].rsa_id, 20);
  memcpy(unstable, v.e[1].rsa_id, 20);
  nodelist_free(nl);
  /* rebuild without "gone" and with "unstable" lacking Stable */
  fill(10, NULL);
  netfix_relay_t keep[10];
  size_t nk = 0;
  for (size_t i = 0; i < 10; i++) {
    if (relays[i].id == gone[0])
      continue;
    if (relays[i].id == unstable[0])
      relays[i].flags &= ~(uint32_t)NODE_FLAG_STABLE;
    keep[nk++] = relays[i];
  }
  nl = netfix_nodelist(keep, nk, NULL, NULL);
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW + 3600, &r.rng), 4);
  cr_assert_eq(v.n, 4);
  cr_assert(!vanguards_contains(&v, gone));
  cr_assert(!vanguards_contains(&v, unstable));
  check_members(&v, nl, NULL);
  nodelist_free(nl);

  /* losing Fast, Running or Valid also removes a member */
  static const uint32_t lose[] = { NODE_FLAG_FAST, NODE_FLAG_RUNNING, NODE_FLAG_VALID };
  for (size_t f = 0; f < 3; f++) {
    fill(10, NULL);
    nl = netfix_nodelist(relays, 10, NULL, NULL);
    vanguards_clear(&v);
    vanguards_refresh(&v, nl, NULL, NOW, &r.rng);
    node_t *n = (node_t *)nodelist_find_by_rsa_id(nl, v.e[2].rsa_id);
    uint8_t id[20];
    memcpy(id, n->rsa_id, 20);
    n->flags &= ~lose[f];
    cr_assert(!vanguards_node_suitable(NULL, n));
    vanguards_refresh(&v, nl, NULL, NOW + 60, &r.rng);
    cr_assert(!vanguards_contains(&v, id), "flag %zu", f);
    cr_assert_eq(v.n, 4);
    nodelist_free(nl);
  }
}

Test(vanguards, exclude_nodes)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 5);
  nodelist_t *nl = net(12, NULL);
  routerset_t *ex = NULL;
  cr_assert_eq(routerset_parse("r0,r1,r2,r3,r4,r5,r6,r7,r8", &ex), 0);
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.exclude_nodes = ex;
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  for (int round = 0; round < 50; round++) {
    vanguards_clear(&v);
    vanguards_refresh(&v, nl, &o, NOW, &r.rng);
    cr_assert_eq(v.n, 3);       /* only r9..r11 remain */
    for (size_t i = 0; i < v.n; i++)
      cr_assert(!routerset_contains_node(ex, nodelist_find_by_rsa_id(nl, v.e[i].rsa_id)));
  }
  /* excluding a member later removes it */
  routerset_t *ex2 = NULL;
  cr_assert_eq(routerset_parse("r0,r1,r2,r3,r4,r5,r6,r7,r8,r9", &ex2), 0);
  o.exclude_nodes = ex2;
  vanguards_refresh(&v, nl, &o, NOW + 60, &r.rng);
  cr_assert_eq(v.n, 2);
  for (int i = 0; i < 100; i++) {
    const node_t *n = vanguards_choose(&v, nl, &o, NULL, NOW + 60, &r.rng);
    cr_assert(!routerset_contains_node(ex2, n));
  }
  routerset_free(ex);
  routerset_free(ex2);
  nodelist_free(nl);
}

Test(vanguards, small_network_and_distinct)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 6);
  /* 5 relays, only r0, r1, r2 Stable: a set of 3 distinct members */
  fill(5, "\x04\x05");
  nodelist_t *nl = netfix_nodelist(relays, 5, NULL, NULL);
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW, &r.rng), 3);
  cr_assert_eq(v.n, 3);
  check_members(&v, nl, NULL);
  /* nothing more to add: unchanged, and the set still works */
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW + 60, &r.rng), 0);
  cr_assert_not_null(vanguards_choose(&v, nl, NULL, NULL, NOW + 60, &r.rng));
  nodelist_free(nl);
  /* bandwidth-weighted like middles: a heavy relay is nearly always in */
  int heavy_in = 0;
  for (int round = 0; round < 100; round++) {
    fill(30, NULL);
    relays[7].bw = 1000000;
    nl = netfix_nodelist(relays, 30, NULL, NULL);
    vanguards_clear(&v);
    vanguards_refresh(&v, nl, NULL, NOW, &r.rng);
    uint8_t id[20];
    netfix_id(id, relays[7].id);
    heavy_in += vanguards_contains(&v, id);
    nodelist_free(nl);
  }
  cr_assert_geq(heavy_in, 95);
}

Test(vanguards, choice_avoids_guard_and_last_hop)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 7);
  nodelist_t *nl = net(6, "guard-hs-l2-number=6");
  pathsel_options_t o;
  pathsel_options_init(&o);
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  vanguards_refresh(&v, nl, &o, NOW, &r.rng);
  cr_assert_eq(v.n, 6);
  const node_t *g = nodelist_get_node(nl, 0), *last = nodelist_get_node(nl, 3);
  pathsel_avoid_t av = { { g, last }, 2 };
  int seen[6] = { 0 };
  for (int i = 0; i < 3000; i++) {
    const node_t *n = vanguards_choose(&v, nl, &o, &av, NOW, &r.rng);
    cr_assert_not_null(n);
    cr_assert(n != g && n != last, "chose the guard or the last hop");
    for (size_t k = 0; k < 6; k++)
      if (n == nodelist_get_node(nl, k))
        seen[k]++;
  }
  /* uniform among the 4 others */
  for (size_t k = 0; k < 6; k++)
    if (k == 0 || k == 3)
      cr_assert_eq(seen[k], 0);
    else
      cr_assert(seen[k] > 600 && seen[k] < 900, "node %zu chosen %d times", k, seen[k]);
  /* a node in the guard's /16 is not chosen (EnforceDistinctSubnets) */
  node_t *m = (node_t *)nodelist_get_node(nl, 1);
  memcpy(m->ipv4, g->ipv4, 2);
  m->ipv4[3] = 77;
  for (int i = 0; i < 500; i++)
    cr_assert(vanguards_choose(&v, nl, &o, &av, NOW, &r.rng) != m);
  o.enforce_distinct_subnets = false;
  int got_m = 0;
  for (int i = 0; i < 500; i++)
    got_m += vanguards_choose(&v, nl, &o, &av, NOW, &r.rng) == m;
  cr_assert_gt(got_m, 0);
  o.enforce_distinct_subnets = true;
  /* every member related to a hop: no choice (caller falls back) */
  pathsel_avoid_t all = { { NULL }, 0 };
  for (size_t k = 0; k < 6; k++)
    all.nodes[all.n++] = nodelist_get_node(nl, k);
  cr_assert_null(vanguards_choose(&v, nl, &o, &all, NOW, &r.rng));
  nodelist_free(nl);
}

Test(vanguards, empty_network)
{
  netfix_rng_t r;
  netfix_rng_init(&r, 8);
  vanguards_t v;
  memset(&v, 0, sizeof(v));
  nodelist_t *nl = nodelist_new();        /* no consensus at all */
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW, &r.rng), 0);
  cr_assert_eq(v.n, 0);
  cr_assert_null(vanguards_choose(&v, nl, NULL, NULL, NOW, &r.rng));
  nodelist_free(nl);
  /* a consensus without a single Stable relay */
  fill(5, "\x01\x02\x03\x04\x05");
  nl = netfix_nodelist(relays, 5, NULL, NULL);
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW, &r.rng), 0);
  cr_assert_eq(v.n, 0);
  cr_assert_null(vanguards_choose(&v, nl, NULL, NULL, NOW, &r.rng));
  /* members of an old consensus vanish when it has none of them */
  nodelist_free(nl);
  nl = net(8, NULL);
  vanguards_refresh(&v, nl, NULL, NOW, &r.rng);
  cr_assert_eq(v.n, 4);
  nodelist_free(nl);
  nl = nodelist_new();
  cr_assert_eq(vanguards_refresh(&v, nl, NULL, NOW, &r.rng), 4);
  cr_assert_eq(v.n, 0);
  nodelist_free(nl);
  /* NULL arguments */
  cr_assert_eq(vanguards_refresh(NULL, NULL, NULL, NOW, NULL), 0);
  cr_assert_null(vanguards_choose(NULL, NULL, NULL, NULL, NOW, NULL));
  cr_assert(!vanguards_contains(NULL, v.e[0].rsa_id));
  cr_assert(!vanguards_node_suitable(NULL, NULL));
  vanguards_clear(NULL);
}
