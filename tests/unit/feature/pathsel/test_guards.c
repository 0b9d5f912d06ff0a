/* test_guards.c -- guard-spec section 4: sampling, filtering, primary and
 * confirmed guards, selection, success/failure and the retry schedule with
 * an injected clock and RNG; and full 3-hop paths. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/pathsel/guards.h"
#include "allium/feature/pathsel/path.h"
#include "allium/lib/malloc/malloc.h"
#include "netfix.h"

#define NOW (NETFIX_VALID_AFTER + 600)
#define NG 30
#define NR (NG + 6)

static netfix_relay_t relays[NR];
static char nicks[NR][20], ips[NR][20];

static void
make_relays(void)
{
  for (int i = 0; i < NR; i++) {
    snprintf(nicks[i], sizeof(nicks[i]), "r%d", i);
    snprintf(ips[i], sizeof(ips[i]), "10.%d.0.1", i);
    relays[i].nick = nicks[i];
    relays[i].id = (uint8_t)(i + 1);
    relays[i].ip = ips[i];
    relays[i].bw = 1000 + 100 * (uint32_t)i;
    relays[i].family = NULL;
    if (i < NG) {
      relays[i].flags = F_STD | F_GUARD;
      relays[i].policy = "reject 1-65535";
    } else if (i < NG + 3) {
      relays[i].flags = F_STD | F_EXIT;
      relays[i].policy = "accept 80,443";
    } else {
      relays[i].flags = F_STD;
      relays[i].policy = NULL;
    }
  }
}

static nodelist_t *
make_net(const char *params)
{
  make_relays();
  return netfix_nodelist(relays, NR, NULL, params);
}

static guard_selection_t *
fresh(const nodelist_t *nl, const pathsel_options_t *o, netfix_rng_t *r)
{
  guard_selection_t *gs = guard_selection_new("default");
  guard_selection_update(gs, nl, o, NOW, &r->rng);
  return gs;
}

Test(guards, sample_and_primary)
{
  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 1);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  /* max(min_filtered=20, min(60, 30*20%)) = 20 */
  cr_assert_eq(guard_selection_n_sampled(gs), 20);
  size_t np;
  guard_entry_t *const *p = guard_selection_get_primary(gs, &np);
  cr_assert_eq(np, 3);
  for (size_t i = 0; i < np; i++) {
    cr_assert_eq(p[i], guard_selection_get_sampled(gs, i), "sample order");
    cr_assert(p[i]->is_primary);
  }
  cr_assert_eq(guard_selection_n_confirmed(gs), 0);
  for (size_t i = 0; i < 20; i++) {
    guard_entry_t *g = guard_selection_get_sampled(gs, i);
    cr_assert(g->listed);
    cr_assert(g->sampled_on <= NOW && g->sampled_on > NOW - 12 * 86400 - 1);
    const node_t *n = nodelist_find_by_rsa_id(nl, g->rsa_id);
    cr_assert(n->flags & NODE_FLAG_GUARD, "only guards are sampled");
    cr_assert_eq(guard_selection_find(gs, g->rsa_id), g);
  }
  /* a second update adds nothing */
  guard_selection_update(gs, nl, NULL, NOW + 1, &r.rng);
  cr_assert_eq(guard_selection_n_sampled(gs), 20);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, params_from_consensus_and_options)
{
  nodelist_t *nl = make_net("guard-min-filtered-sample-size=5 guard-n-primary-guards=2");
  netfix_rng_t r;
  netfix_rng_init(&r, 2);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  /* max(5, min(60, 6)) = 6, but only 5 needed */
  cr_assert_eq(guard_selection_n_sampled(gs), 5);
  size_t np;
  guard_selection_get_primary(gs, &np);
  cr_assert_eq(np, 2);
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.num_primary_guards = 4;
  guard_selection_update(gs, nl, &o, NOW, &r.rng);
  guard_selection_get_primary(gs, &np);
  cr_assert_eq(np, 4);
  /* NumEntryGuards 2: circuits use either of the first two primaries */
  o.num_entry_guards = 2;
  guard_selection_update(gs, nl, &o, NOW, &r.rng);
  guard_entry_t *const *p = guard_selection_get_primary(gs, &np);  /* valid until next update */
  bool seen[4] = { false };
  for (int i = 0; i < 200; i++) {
    guard_entry_t *g;
    guard_circ_state_t st;
    cr_assert_eq(guard_choose(gs, nl, &o, NULL, false, NOW, &r.rng, &g, &st), 0);
    for (int k = 0; k < 4; k++)
      seen[k] |= g == p[k];
  }
  cr_assert(seen[0] && seen[1] && !seen[2] && !seen[3]);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, choose_confirm_fail_and_fall_back)
{
  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 3);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  size_t np;
  guard_entry_t *const *p = guard_selection_get_primary(gs, &np);
  guard_entry_t *p0 = p[0], *p1 = p[1], *p2 = p[2];
  guard_entry_t *g;
  guard_circ_state_t st;

  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW, &r.rng, &g, &st), 0);
  cr_assert_eq(g, p0, "first primary (guard-n-primary-guards-to-use = 1)");
  cr_assert_eq(st, GUARD_CIRC_USABLE_ON_COMPLETION);
  cr_assert_eq(g->last_tried, NOW);
  cr_assert_eq(guard_mark_success(gs, g, st, NOW, &r.rng), GUARD_CIRC_COMPLETE);
  cr_assert_eq(p0->confirmed_idx, 0);
  cr_assert(p0->confirmed_on <= NOW && p0->confirmed_on >= NOW - 12 * 86400);
  cr_assert_eq(p0->reachable, GUARD_REACHABLE_YES);
  cr_assert_eq(guard_selection_n_confirmed(gs), 1);

  /* primaries fail one after another */
  guard_mark_failure(gs, p0, NOW + 1);
  cr_assert_eq(p0->reachable, GUARD_REACHABLE_NO);
  cr_assert_eq(p0->failing_since, NOW + 1);
  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW + 2, &r.rng, &g, &st), 0);
  cr_assert_eq(g, p1);
  guard_mark_failure(gs, p1, NOW + 2);
  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW + 3, &r.rng, &g, &st), 0);
  cr_assert_eq(g, p2);
  guard_mark_failure(gs, p2, NOW + 3);
  cr_assert(!guard_waiting_may_complete(gs, NULL));

  /* all primaries down: the first non-primary in sample order, pending */
  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW + 4, &r.rng, &g, &st), 0);
  guard_entry_t *s3 = guard_selection_get_sampled(gs, 3);
  cr_assert_eq(g, s3);
  cr_assert_eq(st, GUARD_CIRC_USABLE_IF_NO_BETTER_GUARD);
  cr_assert(g->is_pending);
  /* a second circuit gets the next non-pending one */
  guard_entry_t *g2;
  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW + 4, &r.rng, &g2, &st), 0);
  cr_assert_eq(g2, guard_selection_get_sampled(gs, 4));
  cr_assert(guard_waiting_may_complete(gs, s3));

  /* success of the non-primary: waiting, confirmed, becomes primary #2
   * (confirmed guards come first, then the old unconfirmed primaries) */
  cr_assert_eq(guard_mark_success(gs, s3, GUARD_CIRC_USABLE_IF_NO_BETTER_GUARD, NOW + 5,
                                  &r.rng), GUARD_CIRC_WAITING_FOR_BETTER_GUARD);
  cr_assert(!s3->is_pending);
  cr_assert_eq(s3->confirmed_idx, 1);
  p = guard_selection_get_primary(gs, &np);
  cr_assert_eq(np, 3);
  cr_assert_eq(p[0], p0);
  cr_assert_eq(p[1], s3);
  cr_assert_eq(p[2], p1);
  cr_assert(!p2->is_primary);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, retry_schedule)
{
  cr_assert_eq(guard_retry_delay(true, 1000, 1000), 600);
  cr_assert_eq(guard_retry_delay(true, 1000, 1000 + 6 * 3600 - 1), 600);
  cr_assert_eq(guard_retry_delay(true, 1000, 1000 + 6 * 3600), 90 * 60);
  cr_assert_eq(guard_retry_delay(true, 1000, 1000 + 96 * 3600), 4 * 3600);
  cr_assert_eq(guard_retry_delay(true, 1000, 1000 + 168 * 3600), 9 * 3600);
  cr_assert_eq(guard_retry_delay(false, 1000, 1000), 3600);
  cr_assert_eq(guard_retry_delay(false, 1000, 1000 + 7 * 3600), 4 * 3600);
  cr_assert_eq(guard_retry_delay(false, 1000, 1000 + 100 * 3600), 18 * 3600);
  cr_assert_eq(guard_retry_delay(false, 1000, 1000 + 200 * 3600), 36 * 3600);

  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 4);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  guard_entry_t *p0 = guard_selection_get_sampled(gs, 0);
  guard_entry_t *s5 = guard_selection_get_sampled(gs, 5);
  cr_assert(p0->is_primary && !s5->is_primary);
  p0->last_tried = s5->last_tried = NOW;
  guard_mark_failure(gs, p0, NOW);
  guard_mark_failure(gs, s5, NOW);
  guard_selection_retry(gs, NOW + 599);
  cr_assert_eq(p0->reachable, GUARD_REACHABLE_NO);
  guard_selection_retry(gs, NOW + 600);
  cr_assert_eq(p0->reachable, GUARD_REACHABLE_MAYBE, "primary: 10 minutes");
  cr_assert_eq(s5->reachable, GUARD_REACHABLE_NO);
  guard_selection_retry(gs, NOW + 3599);
  cr_assert_eq(s5->reachable, GUARD_REACHABLE_NO);
  guard_selection_retry(gs, NOW + 3600);
  cr_assert_eq(s5->reachable, GUARD_REACHABLE_MAYBE, "non-primary: 1 hour");

  /* failing for 7 hours: a primary is retried every 90 minutes */
  p0->reachable = GUARD_REACHABLE_NO;
  p0->failing_since = NOW;
  p0->last_tried = NOW + 7 * 3600;
  guard_selection_retry(gs, NOW + 7 * 3600 + 89 * 60);
  cr_assert_eq(p0->reachable, GUARD_REACHABLE_NO);
  guard_selection_retry(gs, NOW + 7 * 3600 + 90 * 60);
  cr_assert_eq(p0->reachable, GUARD_REACHABLE_MAYBE);

  /* guard_choose retries too: a down primary comes back after 10 min */
  guard_entry_t *g;
  guard_circ_state_t st;
  guard_mark_failure(gs, p0, NOW + 8 * 3600);
  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW + 8 * 3600 + 1, &r.rng, &g, &st), 0);
  cr_assert_neq(g, p0);
  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW + 9 * 3600, &r.rng, &g, &st), 0);
  cr_assert_eq(g, p0);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, exhausted_sample_marks_maybe)
{
  nodelist_t *nl = make_net("guard-min-filtered-sample-size=2 guard-n-primary-guards=1");
  netfix_rng_t r;
  netfix_rng_init(&r, 5);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  cr_assert_eq(guard_selection_n_sampled(gs), 2, "only 2 needed");
  guard_entry_t *g;
  guard_circ_state_t st;
  int r0 = 0, tries = 0;
  /* every chosen guard fails: the sample grows to its maximum,
   * max(2, min(60, 30 * 20%)) = 6, then selection gives up */
  while ((r0 = guard_choose(gs, nl, NULL, NULL, false, NOW + 1, &r.rng, &g, &st)) == 0) {
    cr_assert_lt(++tries, 20);
    guard_mark_failure(gs, g, NOW + 1);
  }
  cr_assert_eq(r0, PATHSEL_ERR_NOGUARD);
  cr_assert_eq(guard_selection_n_sampled(gs), 6);
  cr_assert_eq(tries, 6);
  cr_assert_null(g);
  for (size_t i = 0; i < guard_selection_n_sampled(gs); i++)
    cr_assert_eq(guard_selection_get_sampled(gs, i)->reachable, GUARD_REACHABLE_MAYBE);
  cr_assert_eq(guard_choose(gs, nl, NULL, NULL, false, NOW + 2, &r.rng, &g, &st), 0);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, internet_down_marks_primaries_maybe)
{
  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 6);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  guard_entry_t *p0 = guard_selection_get_sampled(gs, 0), *s4 = guard_selection_get_sampled(gs, 4);
  guard_mark_success(gs, p0, GUARD_CIRC_USABLE_ON_COMPLETION, NOW, &r.rng);
  for (int i = 0; i < 3; i++)
    guard_mark_failure(gs, guard_selection_get_sampled(gs, (size_t)i), NOW + 10);
  /* success 5 minutes later: primaries stay down */
  guard_mark_success(gs, s4, GUARD_CIRC_USABLE_IF_NO_BETTER_GUARD, NOW + 300, &r.rng);
  cr_assert_eq(guard_selection_get_sampled(gs, 1)->reachable, GUARD_REACHABLE_NO);
  /* 11 minutes after that: the net was probably down; retry primaries */
  guard_entry_t *s5 = guard_selection_get_sampled(gs, 5);
  guard_mark_success(gs, s5, GUARD_CIRC_USABLE_IF_NO_BETTER_GUARD, NOW + 300 + 660, &r.rng);
  size_t np;
  guard_entry_t *const *p = guard_selection_get_primary(gs, &np);
  for (size_t i = 0; i < np; i++)
    cr_assert_neq(p[i]->reachable, GUARD_REACHABLE_NO);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, entry_and_exclude_nodes_filter)
{
  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 7);
  pathsel_options_t o;
  pathsel_options_init(&o);
  routerset_t *entry = NULL, *excl = NULL;
  cr_assert_eq(routerset_parse("r1,r2,r3", &entry), 0);
  cr_assert_eq(routerset_parse("r2", &excl), 0);
  o.entry_nodes = entry;
  o.exclude_nodes = excl;
  guard_selection_t *gs = fresh(nl, &o, &r);
  size_t np;
  guard_entry_t *const *p = guard_selection_get_primary(gs, &np);
  cr_assert_eq(np, 2);
  for (size_t i = 0; i < np; i++)
    cr_assert(!strcmp(p[i]->nickname, "r1") || !strcmp(p[i]->nickname, "r3"));
  /* dropping EntryNodes: more guards get sampled and become primary */
  o.entry_nodes = NULL;
  guard_selection_update(gs, nl, &o, NOW, &r.rng);
  p = guard_selection_get_primary(gs, &np);
  cr_assert_eq(np, 3);
  for (size_t i = 0; i < guard_selection_n_sampled(gs); i++) {
    guard_entry_t *g = guard_selection_get_sampled(gs, i);
    cr_assert(!strcmp(g->nickname, "r2") ? !g->filtered : g->filtered);
  }
  routerset_free(entry);
  routerset_free(excl);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, unlisted_and_expired_guards_removed)
{
  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 8);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  guard_entry_t *first = guard_selection_get_sampled(gs, 0);
  uint8_t gone[20];
  memcpy(gone, first->rsa_id, 20);
  /* next consensus: that guard lost its Guard flag */
  for (int i = 0; i < NR; i++)
    if (relays[i].id == gone[0])
      relays[i].flags = F_STD;
  consensus_t *c = netfix_consensus(relays, NR, true, NULL, NULL);
  nodelist_set_consensus(nl, c);
  guard_selection_update(gs, nl, NULL, NOW, &r.rng);
  guard_entry_t *g = guard_selection_find(gs, gone);
  cr_assert_not_null(g);
  cr_assert(!g->listed);
  cr_assert(!g->filtered);
  cr_assert(!g->is_primary);
  cr_assert(g->unlisted_since <= NOW && g->unlisted_since >= NOW - 4 * 86400);
  /* 21 days later, with a live consensus, it is gone; so are guards whose
   * sampled_on is over 120 days old */
  time_t later = NOW + 21 * 86400;
  c = netfix_consensus(relays, NR, true, NULL, NULL);
  c->valid_after = later - 10;
  c->valid_until = later + 3600;
  nodelist_set_consensus(nl, c);
  guard_entry_t *old = guard_selection_get_sampled(gs, 1);
  uint8_t old_id[20];
  memcpy(old_id, old->rsa_id, 20);
  old->sampled_on = later - 121 * 86400;
  guard_selection_update(gs, nl, NULL, later, &r.rng);
  cr_assert_null(guard_selection_find(gs, gone));
  cr_assert_null(guard_selection_find(gs, old_id));
  cr_assert_geq(guard_selection_n_sampled(gs), 20, "refilled");
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, restriction_skips_related_guards)
{
  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 9);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  guard_entry_t *p0 = guard_selection_get_sampled(gs, 0);
  pathsel_avoid_t av = { { nodelist_find_by_rsa_id(nl, p0->rsa_id) }, 1 };
  guard_entry_t *g;
  guard_circ_state_t st;
  cr_assert_eq(guard_choose(gs, nl, NULL, &av, false, NOW, &r.rng, &g, &st), 0);
  cr_assert_neq(g, p0);
  cr_assert(g->is_primary, "the next primary");
  cr_assert_eq(st, GUARD_CIRC_USABLE_ON_COMPLETION);
  /* directory circuits may use any of the first 3 primaries */
  bool seen[3] = { false };
  size_t np;
  guard_entry_t *const *p = guard_selection_get_primary(gs, &np);
  for (int i = 0; i < 300; i++) {
    cr_assert_eq(guard_choose(gs, nl, NULL, NULL, true, NOW, &r.rng, &g, &st), 0);
    for (size_t k = 0; k < 3; k++)
      seen[k] |= g == p[k];
  }
  cr_assert(seen[0] && seen[1] && seen[2]);
  guard_selection_free(gs);
  nodelist_free(nl);
}

Test(guards, build_path)
{
  nodelist_t *nl = make_net(NULL);
  netfix_rng_t r;
  netfix_rng_init(&r, 10);
  guard_selection_t *gs = fresh(nl, NULL, &r);
  pathsel_options_t o;
  pathsel_options_init(&o);
  for (int i = 0; i < 200; i++) {
    pathsel_path_t path;
    cr_assert_eq(pathsel_build_path(nl, gs, &o, false, 443, NOW, &r.rng, &path), 0);
    cr_assert(path.hops[2]->flags & NODE_FLAG_EXIT);
    cr_assert(node_allows_exit_port(path.hops[2], 443));
    cr_assert(path.guard->is_primary);
    cr_assert_eq(nodelist_find_by_rsa_id(nl, path.guard->rsa_id), path.hops[0]);
    for (int a = 0; a < 3; a++)
      for (int b = a + 1; b < 3; b++)
        cr_assert(!nodes_are_related(path.hops[a], path.hops[b], true));
  }
  pathsel_path_t path;
  cr_assert_eq(pathsel_build_path(nl, gs, &o, false, 22, NOW, &r.rng, &path), PATHSEL_ERR_NONODE);
  cr_assert_eq(pathsel_build_path(nl, gs, &o, true, 0, NOW, &r.rng, &path), 0);
  cr_assert_eq(pathsel_build_path(NULL, gs, &o, true, 0, NOW, &r.rng, &path), PATHSEL_ERR_INVAL);
  guard_selection_free(gs);
  nodelist_free(nl);
}
