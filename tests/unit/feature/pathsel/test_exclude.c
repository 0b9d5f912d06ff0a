/* test_exclude.c -- tor(1) ExcludeNodes / ExcludeExitNodes / StrictNodes
 * and ClientUseIPv4 / ClientUseIPv6 in path selection, on a synthetic
 * consensus: with StrictNodes 0 an excluded relay is never a guard, middle
 * or exit of a general circuit (the circuit fails instead), ExcludeNodes is
 * relaxed only for directory fetches and self-tests, ExcludeExitNodes never;
 * first hops need an ORPort of an allowed address family. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/pathsel/guards.h"
#include "allium/feature/pathsel/path.h"
#include "allium/lib/log/log.h"
#include "netfix.h"

#define NOW (NETFIX_VALID_AFTER + 600)
#define NG 24
#define NR (NG + 8)

static netfix_relay_t relays[NR];
static char nicks[NR][20], ips[NR][20];

/* NG guards g0.. (every 4th one has an IPv6 ORPort, set below), 4 exits
 * x0..x3 for 80,443 and 4 plain middles m0..m3. */
static nodelist_t *
make_net(void)
{
  for (int i = 0; i < NR; i++) {
    if (i < NG)
      snprintf(nicks[i], sizeof(nicks[i]), "g%d", i);
    else if (i < NG + 4)
      snprintf(nicks[i], sizeof(nicks[i]), "x%d", i - NG);
    else
      snprintf(nicks[i], sizeof(nicks[i]), "m%d", i - NG - 4);
    snprintf(ips[i], sizeof(ips[i]), "10.%d.0.1", i + 1);
    relays[i].nick = nicks[i];
    relays[i].id = (uint8_t)(i + 1);
    relays[i].ip = ips[i];
    relays[i].bw = 1000 + 50 * (uint32_t)i;
    relays[i].family = NULL;
    relays[i].flags = i < NG ? F_STD | F_GUARD : i < NG + 4 ? F_STD | F_EXIT : F_STD;
    relays[i].policy = i >= NG && i < NG + 4 ? "accept 80,443" : NULL;
  }
  nodelist_t *nl = netfix_nodelist(relays, NR, NULL, NULL);
  for (int i = 0; i < NG; i += 4) {
    /* the fixture has no "a" lines: give some guards an IPv6 ORPort */
    node_t *n = (node_t *)nodelist_find_by_nickname(nl, nicks[i]);
    cr_assert_not_null(n);
    n->has_ipv6 = true;
    n->ipv6[0] = 0x20;
    n->ipv6[1] = 0x01;
    n->ipv6[15] = (uint8_t)(i + 1);
    n->ipv6_port = 9001;
  }
  return nl;
}

static routerset_t *
set(const char *s)
{
  routerset_t *rs = NULL;
  cr_assert_eq(routerset_parse(s, &rs), 0, "%s", s);
  return rs;
}

/* Every exit (x0..x3) and every middle (m0..m3) and the first 20 guards
 * are excluded: a general circuit cannot be built, and never uses them. */
Test(exclude, general_circuits_never_relax)
{
  nodelist_t *nl = make_net();
  routerset_t *ex = set("x0,x1,x2,x3,m0,m1,m2,m3,g0,g1,g2,g3,g4,g5,g6,g7,g8,g9,"
                        "g10,g11,g12,g13,g14,g15,g16,g17,g18,g19");
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.exclude_nodes = ex;
  cr_assert_eq(o.strict_nodes, false);
  netfix_rng_t r;
  netfix_rng_init(&r, 7);
  /* no exit outside the set: no exit at all, for any port */
  cr_assert_null(pathsel_choose_exit(nl, &o, 80, NULL, &r.rng));
  cr_assert_null(pathsel_choose_exit(nl, &o, 0, NULL, &r.rng));
  /* middles: only g20..g23 remain */
  for (int i = 0; i < 2000; i++) {
    const node_t *m = pathsel_choose_middle(nl, &o, NULL, &r.rng);
    cr_assert_not_null(m);
    cr_assert(!routerset_contains_node(ex, m), "middle %s is excluded", m->nickname);
    const node_t *f = pathsel_choose_first_hop(nl, &o, NULL, &r.rng);
    cr_assert(!routerset_contains_node(ex, f), "first hop %s is excluded", f->nickname);
  }
  /* whole paths fail rather than use an exit of the set */
  guard_selection_t *gs = guard_selection_new("default");
  guard_selection_update(gs, nl, &o, NOW, &r.rng);
  pathsel_path_t p;
  cr_assert_eq(pathsel_build_path(nl, gs, &o, false, 80, NOW, &r.rng, &p), PATHSEL_ERR_NONODE);
  /* internal circuits can be built, from non-excluded relays only */
  for (int i = 0; i < 300; i++) {
    int rc = pathsel_build_path(nl, gs, &o, true, 0, NOW, &r.rng, &p);
    if (rc != 0)
      continue;   /* four relays, /16 and family rules: may run out */
    for (int h = 0; h < 3; h++)
      cr_assert(!routerset_contains_node(ex, p.hops[h]), "hop %d %s excluded", h,
                p.hops[h]->nickname);
    p.guard->is_pending = false;
  }
  for (size_t i = 0; i < guard_selection_n_sampled(gs); i++) {
    guard_entry_t *g = guard_selection_get_sampled(gs, i);
    const node_t *n = nodelist_find_by_rsa_id(nl, g->rsa_id);
    cr_assert(!routerset_contains_node(ex, n), "sampled guard %s excluded", n->nickname);
  }
  guard_selection_free(gs);
  routerset_free(ex);
  nodelist_free(nl);
}

/* Some excluded, others not: thousands of paths, none through the set. */
Test(exclude, paths_avoid_excluded_relays)
{
  nodelist_t *nl = make_net();
  routerset_t *ex = set("x0,x2,m1,g0,g1,g2,g3,g5,g8,g13");
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.exclude_nodes = ex;
  netfix_rng_t r;
  netfix_rng_init(&r, 11);
  guard_selection_t *gs = guard_selection_new("default");
  guard_selection_update(gs, nl, &o, NOW, &r.rng);
  int built = 0;
  for (int i = 0; i < 2000; i++) {
    pathsel_path_t p;
    if (pathsel_build_path(nl, gs, &o, false, 443, NOW, &r.rng, &p) != 0)
      continue;
    built++;
    for (int h = 0; h < 3; h++)
      cr_assert(!routerset_contains_node(ex, p.hops[h]), "hop %d %s excluded", h,
                p.hops[h]->nickname);
    p.guard->is_pending = false;
  }
  cr_assert_gt(built, 1900);
  guard_selection_free(gs);
  routerset_free(ex);
  nodelist_free(nl);
}

/* Directory fetches and self-tests may fall back to an excluded relay
 * with StrictNodes 0, but not with StrictNodes 1. */
Test(exclude, dir_fetch_relaxation)
{
  nodelist_t *nl = make_net();
  routerset_t *ex = set("x0,x1,x2,x3");
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.exclude_nodes = ex;
  netfix_rng_t r;
  netfix_rng_init(&r, 3);
  cr_assert_not(pathsel_exclude_relaxable(&o));
  cr_assert_null(pathsel_choose_exit(nl, &o, 80, NULL, &r.rng));
  o.purpose = PATHSEL_PURPOSE_DIR;
  cr_assert(pathsel_exclude_relaxable(&o));
  const node_t *n = pathsel_choose_exit(nl, &o, 80, NULL, &r.rng);
  cr_assert_not_null(n);
  cr_assert(routerset_contains_node(ex, n));
  o.purpose = PATHSEL_PURPOSE_SELFTEST;
  cr_assert_not_null(pathsel_choose_exit(nl, &o, 443, NULL, &r.rng));
  /* not needed: a non-excluded node is still preferred */
  for (int i = 0; i < 500; i++)
    cr_assert(!routerset_contains_node(ex, pathsel_choose_middle(nl, &o, NULL, &r.rng)));
  o.strict_nodes = true;
  cr_assert_not(pathsel_exclude_relaxable(&o));
  cr_assert_null(pathsel_choose_exit(nl, &o, 80, NULL, &r.rng));
  o.purpose = PATHSEL_PURPOSE_DIR;
  cr_assert_null(pathsel_choose_exit(nl, &o, 80, NULL, &r.rng));
  routerset_free(ex);
  nodelist_free(nl);
}

/* ExcludeExitNodes: never an exit, whatever StrictNodes and the purpose;
 * still usable as a middle. */
Test(exclude, exclude_exit_nodes)
{
  nodelist_t *nl = make_net();
  routerset_t *xx = set("x0,x1,x2");
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.exclude_exit_nodes = xx;
  netfix_rng_t r;
  netfix_rng_init(&r, 5);
  bool x0_middle = false;
  for (int i = 0; i < 2000; i++) {
    const node_t *x = pathsel_choose_exit(nl, &o, 80, NULL, &r.rng);
    cr_assert_not_null(x);
    cr_assert_str_eq(x->nickname, "x3");
    const node_t *m = pathsel_choose_middle(nl, &o, NULL, &r.rng);
    x0_middle |= !strcmp(m->nickname, "x0");
  }
  cr_assert(x0_middle, "ExcludeExitNodes does not exclude middles");
  cr_assert(pathsel_exit_config_ok(&o, nodelist_find_by_nickname(nl, "x3"), false));
  cr_assert_not(pathsel_exit_config_ok(&o, nodelist_find_by_nickname(nl, "x1"), true));
  routerset_t *all = set("x0,x1,x2,x3");
  o.exclude_exit_nodes = all;
  for (int purpose = 0; purpose < 3; purpose++) {
    o.purpose = (pathsel_purpose_t)purpose;
    o.strict_nodes = false;
    cr_assert_null(pathsel_choose_exit(nl, &o, 80, NULL, &r.rng));
    o.strict_nodes = true;
    cr_assert_null(pathsel_choose_exit(nl, &o, 80, NULL, &r.rng));
  }
  routerset_free(all);
  routerset_free(xx);
  nodelist_free(nl);
}

/* ClientUseIPv4 0: only relays with an IPv6 ORPort are first hops (guard
 * sample, primary guards, UseEntryGuards 0); middles and exits unchanged. */
Test(exclude, client_use_ipv4_0)
{
  nodelist_t *nl = make_net();
  pathsel_options_t o;
  pathsel_options_init(&o);
  const node_t *g0 = nodelist_find_by_nickname(nl, "g0");
  const node_t *g1 = nodelist_find_by_nickname(nl, "g1");
  cr_assert(pathsel_node_reachable(&o, g0));
  cr_assert(pathsel_node_reachable(&o, g1));
  cr_assert_not(pathsel_first_hop_use_ipv6(&o, g0), "IPv4 preferred by default");
  o.prefer_ipv6_orport = true;
  cr_assert(pathsel_first_hop_use_ipv6(&o, g0));
  cr_assert_not(pathsel_first_hop_use_ipv6(&o, g1));
  o.prefer_ipv6_orport = false;
  o.client_use_ipv6 = false;
  o.prefer_ipv6_orport = true;
  cr_assert_not(pathsel_first_hop_use_ipv6(&o, g0), "IPv6 not allowed");
  o.prefer_ipv6_orport = false;
  o.client_use_ipv6 = true;
  o.client_use_ipv4 = false;
  cr_assert(pathsel_node_reachable(&o, g0));
  cr_assert_not(pathsel_node_reachable(&o, g1));
  cr_assert(pathsel_first_hop_use_ipv6(&o, g0));
  netfix_rng_t r;
  netfix_rng_init(&r, 13);
  bool other_middle = false;
  for (int i = 0; i < 1000; i++) {
    const node_t *f = pathsel_choose_first_hop(nl, &o, NULL, &r.rng);
    cr_assert_not_null(f);
    cr_assert(f->has_ipv6, "first hop %s has no IPv6 ORPort", f->nickname);
    other_middle |= !pathsel_choose_middle(nl, &o, NULL, &r.rng)->has_ipv6;
  }
  cr_assert(other_middle, "middles need no IPv6 ORPort");
  guard_selection_t *gs = guard_selection_new("default");
  guard_selection_update(gs, nl, &o, NOW, &r.rng);
  for (int i = 0; i < 500; i++) {
    pathsel_path_t p;
    cr_assert_eq(pathsel_build_path(nl, gs, &o, false, 80, NOW, &r.rng, &p), 0);
    cr_assert(p.hops[0]->has_ipv6, "guard %s has no IPv6 ORPort", p.hops[0]->nickname);
    p.guard->is_pending = false;
  }
  guard_selection_free(gs);
  /* neither family: nothing is reachable */
  o.client_use_ipv6 = false;
  cr_assert_not(pathsel_node_reachable(&o, g0));
  cr_assert_null(pathsel_choose_first_hop(nl, &o, NULL, &r.rng));
  nodelist_free(nl);
}

static char logbuf[4096];

static void
capture(int severity, const char *module, const char *msg, void *arg)
{
  (void)module;
  (void)arg;
  if (severity < SEV_WARN)
    return;
  size_t n = strlen(logbuf);
  snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

/* The failures say why, once (rate-limited). */
Test(exclude, failures_are_explained_once)
{
  nodelist_t *nl = make_net();
  char all_guards[256] = "x0,x1,x2,x3";
  for (int i = 0; i < NG; i++) {
    size_t n = strlen(all_guards);
    snprintf(all_guards + n, sizeof(all_guards) - n, ",g%d", i);
  }
  routerset_t *ex = set(all_guards);
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.exclude_nodes = ex;
  logbuf[0] = '\0';
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_DEBUG, SEV_ERR, NULL, capture, NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 17);
  guard_selection_t *gs = guard_selection_new("default");
  for (int i = 0; i < 50; i++) {
    guard_selection_update(gs, nl, &o, NOW, &r.rng);
    pathsel_path_t p;
    cr_assert_neq(pathsel_build_path(nl, gs, &o, false, 80, NOW, &r.rng, &p), 0);
    cr_assert_neq(pathsel_build_path(nl, gs, &o, true, 0, NOW, &r.rng, &p), 0);
  }
  cr_assert_eq(guard_selection_n_sampled(gs), 0);
  log_sinks_reset_default();
  const char *g = strstr(logbuf, "Every guard is ruled out");
  const char *x = strstr(logbuf, "No usable exit relay outside ExcludeNodes");
  cr_assert(g && x, "%s", logbuf);
  cr_assert_null(strstr(g + 1, "Every guard is ruled out"), "%s", logbuf);
  cr_assert_null(strstr(x + 1, "No usable exit relay"), "%s", logbuf);
  guard_selection_free(gs);
  routerset_free(ex);
  nodelist_free(nl);
}
