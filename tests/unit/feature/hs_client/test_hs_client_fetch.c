/* test_hs_client_fetch.c -- the pure parts of the descriptor fetch
 * (src/feature/hs_client/hs_client_fetch.c): the request URL (rend-spec-v3
 * 2.2.6: base64 of the blinded key without padding; expected value from
 * Python's base64) and which HSDir answers end a fetch; and a fetcher with
 * no consensus refuses to start. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/hs_client/hs_client_fetch.h"
#include "allium/lib/crypto/crypto_util.h"

Test(hs_client_fetch, url)
{
  ed25519_public_key_t b;
  for (int i = 0; i < 32; i++)
    b.pubkey[i] = (uint8_t)i;
  char url[80];
  cr_assert_eq(hs_client_fetch_url(&b, url, sizeof(url)), 0);
  cr_assert_str_eq(url, "/tor/hs/3/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  cr_assert_eq(strlen(url), 10 + 43);
  cr_assert_eq(hs_client_fetch_url(&b, url, 53), -1, "no room for the NUL");
  cr_assert_eq(hs_client_fetch_url(&b, url, 54), 0);
  cr_assert_eq(hs_client_fetch_url(NULL, url, sizeof(url)), -1);
}

Test(hs_client_fetch, final_answers)
{
  /* a usable descriptor, or an authentic one we may not open: done */
  cr_assert_eq(hs_client_fetch_answer_final(200, HS_CLIENT_DESC_OK), 1);
  cr_assert_eq(hs_client_fetch_answer_final(200, HS_CLIENT_DESC_NEED_AUTH), 1);
  cr_assert_eq(hs_client_fetch_answer_final(200, HS_CLIENT_DESC_BAD_AUTH), 1);
  /* a bad descriptor, 404, other statuses, transfer failures: next HSDir */
  cr_assert_eq(hs_client_fetch_answer_final(200, HS_CLIENT_DESC_INVALID), 0);
  cr_assert_eq(hs_client_fetch_answer_final(404, HS_CLIENT_DESC_NOT_FOUND), 0);
  cr_assert_eq(hs_client_fetch_answer_final(404, HS_CLIENT_DESC_OK), 0);
  cr_assert_eq(hs_client_fetch_answer_final(503, HS_CLIENT_DESC_OK), 0);
  cr_assert_eq(hs_client_fetch_answer_final(-1, HS_CLIENT_DESC_NOT_FOUND), 0);
}

static int
no_launch(void *arg, const node_t *last, const chanmgr_circ_cbs_t *cbs,
          uint64_t *circ_out)
{
  (void)arg;
  (void)last;
  (void)cbs;
  (void)circ_out;
  cr_assert_fail("no circuit may be launched without a consensus");
  return -1;
}

static void
never(void *arg, hs_client_desc_status_t st, const hs_client_desc_t *d)
{
  (void)arg;
  (void)st;
  (void)d;
  cr_assert_fail("no callback expected");
}

Test(hs_client_fetch, no_consensus_no_fetch)
{
  cr_assert_eq(crypto_global_init(), 0);
  nodelist_t *nl = nodelist_new();
  hs_client_fetch_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cr_assert_null(hs_client_fetcher_new(&cfg), "no chanmgr, no nodelist");
  cfg.cm = (chanmgr_t *)1;   /* never used: nothing is launched */
  cfg.nl = nl;
  cfg.launch = no_launch;
  hs_client_fetcher_t *f = hs_client_fetcher_new(&cfg);
  cr_assert_not_null(f);
  ed25519_public_key_t pk;
  memset(&pk, 9, sizeof(pk));
  hs_client_desc_status_t st = HS_CLIENT_DESC_OK;
  const hs_client_desc_t *d = (const hs_client_desc_t *)1;
  cr_assert_eq(hs_client_fetch_start(f, &pk, never, NULL, &st, &d), -1);
  cr_assert_eq(st, HS_CLIENT_DESC_NOT_FOUND);
  cr_assert_null(d);
  cr_assert_eq(hs_client_fetcher_n_pending(f), 0);
  hs_client_fetcher_tick(f, 1);
  /* a cached failure answers at once */
  hs_client_cache_put_failure(hs_client_fetcher_cache(f), &pk,
                              HS_CLIENT_DESC_NEED_AUTH, time(NULL), 60);
  cr_assert_eq(hs_client_fetch_start(f, &pk, never, NULL, &st, &d), 1);
  cr_assert_eq(st, HS_CLIENT_DESC_NEED_AUTH);
  cr_assert_null(d);
  hs_client_fetch_cancel(f, never, NULL);
  hs_client_fetcher_free(f);
  cr_assert_null(f);
  nodelist_free(nl);
}

/* ExcludeNodes: a responsible HSDir in the set is never asked; when every
 * responsible one is excluded no fetch starts. */
static const uint8_t *launched_id;
static int n_launched;
static uint8_t launched_ids[8][20];

static int
record_launch(void *arg, const node_t *last, const chanmgr_circ_cbs_t *cbs,
              uint64_t *circ_out)
{
  (void)arg;
  (void)cbs;
  cr_assert_lt(n_launched, 8);
  memcpy(launched_ids[n_launched++], last->rsa_id, 20);
  launched_id = last->rsa_id;
  *circ_out = 0;
  return -1;   /* launch "fails": the fetch moves to the next HSDir */
}

#include "allium/feature/nodelist/routerset.h"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/lib/malloc/malloc.h"
#include "netfix.h"

static void
never_ok(void *arg, hs_client_desc_status_t st, const hs_client_desc_t *d)
{
  (void)arg;
  (void)d;
  cr_assert_neq(st, HS_CLIENT_DESC_OK);
}

Test(hs_client_fetch, exclude_nodes_never_asked)
{
  cr_assert_eq(crypto_global_init(), 0);
  static const netfix_relay_t net[] = {
    { "h1", 0x41, "10.8.0.1", F_STD | NODE_FLAG_HSDIR | NODE_FLAG_STABLE, 1000, NULL, NULL },
    { "h2", 0x42, "10.9.0.1", F_STD | NODE_FLAG_HSDIR | NODE_FLAG_STABLE, 1000, NULL, NULL },
    { "h3", 0x43, "10.10.0.1", F_STD | NODE_FLAG_HSDIR | NODE_FLAG_STABLE, 1000, NULL, NULL },
  };
  /* the fixture's consensus, live now, with HSDir=2 relays */
  consensus_t *cons = netfix_consensus(net, 3, true, NULL, NULL);
  cons->valid_after = time(NULL) - 60;
  cons->fresh_until = cons->valid_after + 3600;
  cons->valid_until = cons->valid_after + 3 * 3600;
  for (size_t i = 0; i < cons->n_routers; i++) {
    al_free(cons->routers[i].protocols);
    cons->routers[i].protocols = al_strdup("Link=4-5 Relay=1-4 HSDir=2");
  }
  nodelist_t *nl = nodelist_new();
  cr_assert_eq(nodelist_set_consensus(nl, cons), 0);
  for (size_t i = 0; i < 3; i++)
    nodelist_add_microdesc(nl, netfix_microdesc(net, 3, i));
  pathsel_options_t po;
  pathsel_options_init(&po);
  routerset_t *ex = NULL;
  cr_assert_eq(routerset_parse("h1,h3", &ex), 0);
  po.exclude_nodes = ex;
  hs_client_fetch_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.cm = (chanmgr_t *)1;
  cfg.nl = nl;
  cfg.launch = record_launch;
  cfg.path_opts = &po;
  hs_client_fetcher_t *f = hs_client_fetcher_new(&cfg);
  cr_assert_not_null(f);
  ed25519_keypair_t kp;
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  ed25519_public_key_t pk = kp.pub;
  hs_client_desc_status_t st;
  const hs_client_desc_t *d = NULL;
  n_launched = 0;
  cr_assert_eq(hs_client_fetch_start(f, &pk, never_ok, NULL, &st, &d), 0);
  hs_client_fetcher_tick(f, 1);
  cr_assert_eq(n_launched, 1, "only h2 is asked");
  for (int i = 0; i < n_launched; i++)
    cr_assert_eq(launched_ids[i][0], 0x42, "an excluded HSDir was asked");
  hs_client_fetch_cancel(f, never_ok, NULL);
  hs_client_fetcher_free(f);
  /* every HSDir excluded: nothing to ask */
  routerset_free(ex);
  cr_assert_eq(routerset_parse("h1,h2,h3", &ex), 0);
  po.exclude_nodes = ex;
  f = hs_client_fetcher_new(&cfg);
  n_launched = 0;
  cr_assert_eq(hs_client_fetch_start(f, &pk, never_ok, NULL, &st, &d), -1);
  cr_assert_eq(n_launched, 0);
  hs_client_fetcher_free(f);
  routerset_free(ex);
  nodelist_free(nl);
}
