/* test_nodelist.c -- the peer database: nodes from synthetic and real
 * consensuses, descriptors attached, usability, lookups, missing
 * descriptors, exit-policy summaries, family and /16 relations. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/policy/policy.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "netfix.h"

static const netfix_relay_t net[] = {
  { "alpha", 0x10, "10.1.0.1", F_STD | F_GUARD, 1000, "reject 1-65535", "beta" },
  { "beta", 0x20, "10.2.0.1", F_STD | F_GUARD, 2000, "reject 1-65535", "alpha" },
  { "gamma", 0x30, "10.3.0.1", F_STD | F_EXIT, 3000, "accept 80,443", "alpha" },
  { "delta", 0x40, "10.3.9.9", F_STD, 500, NULL, NULL },
  { "eps", 0x05, "10.5.0.1", NODE_FLAG_VALID | NODE_FLAG_FAST, 700, "reject 25", NULL },
};
#define NNET (sizeof(net) / sizeof(net[0]))

static const node_t *
by_byte(const nodelist_t *nl, uint8_t b)
{
  uint8_t id[20];
  netfix_id(id, b);
  return nodelist_find_by_rsa_id(nl, id);
}

Test(nodelist, build_md_and_lookup)
{
  nodelist_t *nl = netfix_nodelist(net, NNET, NULL, NULL);
  cr_assert_eq(nodelist_n_nodes(nl), NNET);
  /* sorted by RSA id */
  for (size_t i = 1; i < NNET; i++)
    cr_assert_lt(memcmp(nodelist_get_node(nl, i - 1)->rsa_id,
                        nodelist_get_node(nl, i)->rsa_id, 20), 0);
  const node_t *g = by_byte(nl, 0x30);
  cr_assert_not_null(g);
  cr_assert_str_eq(g->nickname, "gamma");
  cr_assert_eq(g->bandwidth, 3000);
  cr_assert(g->bw_measured);
  cr_assert(g->has_ntor_key);
  cr_assert_eq(g->ntor_key[31], 0x30);
  cr_assert(g->has_ed25519_id);
  cr_assert_str_eq(g->protocols, "Link=4-5 Relay=1-4");
  cr_assert_eq(g->ipv4[0], 10);
  cr_assert_eq(g->ipv4[1], 3);
  uint8_t ed[32];
  memset(ed, 0x30 ^ 0xFF, 32);
  cr_assert_eq(nodelist_find_by_ed25519_id(nl, ed), g);
  cr_assert_eq(nodelist_find_by_nickname(nl, "GAMMA"), g);
  cr_assert_null(nodelist_find_by_nickname(nl, "nobody"));
  cr_assert_null(by_byte(nl, 0x99));
  memset(ed, 0x77, 32);
  cr_assert_null(nodelist_find_by_ed25519_id(nl, ed));
  cr_assert_null(nodelist_get_node(nl, NNET));
  nodelist_free(nl);
  nodelist_free(nl);  /* NULL is fine */
}

Test(nodelist, usable_needs_running_valid_descriptor)
{
  nodelist_t *nl = netfix_nodelist(net, NNET, NULL, NULL);
  cr_assert(node_is_usable(by_byte(nl, 0x10)));
  cr_assert(!node_is_usable(by_byte(nl, 0x05)), "not Running");
  cr_assert(!node_is_usable(NULL));
  nodelist_free(nl);

  /* consensus without microdescs: nothing usable, all missing */
  nl = nodelist_new();
  cr_assert_eq(nodelist_set_consensus(nl, netfix_consensus(net, NNET, true, NULL, NULL)), 0);
  cr_assert(!node_is_usable(by_byte(nl, 0x10)));
  uint8_t *miss;
  size_t n, dl;
  nodelist_get_missing_descriptors(nl, &miss, &n, &dl);
  cr_assert_eq(n, NNET);
  cr_assert_eq(dl, 32);
  al_free(miss);
  cr_assert_float_eq(nodelist_descriptor_fraction(nl), 0.0, 1e-9);

  cr_assert_eq(nodelist_add_microdesc(nl, netfix_microdesc(net, NNET, 0)), 0);
  cr_assert(node_is_usable(by_byte(nl, 0x10)));
  nodelist_get_missing_descriptors(nl, &miss, &n, &dl);
  cr_assert_eq(n, NNET - 1);
  for (size_t i = 0; i < n; i++)
    cr_assert_neq(miss[i * 32], 0x10);
  al_free(miss);

  /* an unwanted microdesc is refused (and freed) */
  netfix_relay_t stray = { "stray", 0x77, "1.2.3.4", F_STD, 1, NULL, NULL };
  cr_assert_eq(nodelist_add_microdesc(nl, netfix_microdesc(&stray, 1, 0)), NODELIST_ERR_NOMATCH);
  cr_assert_eq(nodelist_add_microdesc(nl, NULL), NODELIST_ERR_INVAL);

  /* batch add takes the array */
  microdesc_t **mds = al_calloc(NNET, sizeof(*mds));
  for (size_t i = 0; i < NNET; i++)
    mds[i] = netfix_microdesc(net, NNET, i);
  cr_assert_eq(nodelist_add_microdescs(nl, mds, NNET), NNET);
  nodelist_get_missing_descriptors(nl, &miss, &n, &dl);
  cr_assert_eq(n, 0);
  cr_assert_null(miss);
  cr_assert_float_eq(nodelist_descriptor_fraction(nl), 1.0, 1e-9);
  nodelist_free(nl);
}

Test(nodelist, new_consensus_keeps_descriptors)
{
  nodelist_t *nl = netfix_nodelist(net, NNET, NULL, NULL);
  /* the next consensus drops delta and changes alpha's flags */
  netfix_relay_t next[NNET - 1];
  memcpy(next, net, sizeof(next) - sizeof(next[0]));
  next[3] = net[4];
  next[0].flags = F_STD;
  cr_assert_eq(nodelist_set_consensus(nl, netfix_consensus(next, NNET - 1, true, NULL, NULL)), 0);
  cr_assert_eq(nodelist_n_nodes(nl), NNET - 1);
  cr_assert_null(by_byte(nl, 0x40));
  const node_t *a = by_byte(nl, 0x10);
  cr_assert(node_is_usable(a));
  cr_assert_eq(a->flags & NODE_FLAG_GUARD, 0);
  cr_assert_eq(a->n_family, 1);
  cr_assert_eq(nodelist_set_consensus(nl, NULL), NODELIST_ERR_INVAL);
  nodelist_free(nl);
}

Test(nodelist, params_and_weights)
{
  nodelist_t *nl = netfix_nodelist(net, NNET, "Wgg=6000 Wmm=-5", "bwweightscale=20000 x=7");
  cr_assert_eq(nodelist_get_bw_weight(nl, "Wgg", 1), 6000);
  cr_assert_eq(nodelist_get_bw_weight(nl, "Wee", 10000), 10000);
  cr_assert_eq(nodelist_get_param(nl, "x", 0, 0, 5), 5);
  cr_assert_eq(nodelist_get_param(nl, "y", 3, 0, 5), 3);
  cr_assert(nodelist_consensus_is_live(nl, NETFIX_VALID_AFTER + 10));
  cr_assert(!nodelist_consensus_is_live(nl, NETFIX_VALID_AFTER - 10));
  cr_assert(nodelist_consensus_is_live(nl, NETFIX_VALID_AFTER + 20 * 3600));
  cr_assert(!nodelist_consensus_is_live(nl, NETFIX_VALID_AFTER + 28 * 3600));
  nodelist_free(nl);
  cr_assert_eq(nodelist_get_param(NULL, "x", 9, 0, 5), 5);
  cr_assert_eq(nodelist_get_bw_weight(NULL, "Wgg", 42), 42);
}

Test(nodelist, exit_policy_summaries)
{
  nodelist_t *nl = netfix_nodelist(net, NNET, NULL, NULL);
  const node_t *g = by_byte(nl, 0x30), *a = by_byte(nl, 0x10), *d = by_byte(nl, 0x40),
               *e = by_byte(nl, 0x05);
  cr_assert(node_allows_exit_port(g, 80));
  cr_assert(node_allows_exit_port(g, 443));
  cr_assert(!node_allows_exit_port(g, 22));
  cr_assert(node_allows_exit_port(g, 0));
  cr_assert(!node_allows_exit_port(a, 80));
  cr_assert(node_policy_rejects_all(a));
  cr_assert(!node_allows_exit_port(a, 0));
  cr_assert(node_policy_rejects_all(d), "no summary = reject all");
  cr_assert(!node_allows_exit_port(d, 80));
  cr_assert(node_allows_exit_port(e, 80));
  cr_assert(!node_allows_exit_port(e, 25));
  cr_assert(!node_allows_exit_port(NULL, 80));
  nodelist_free(nl);

  /* ns flavour: the consensus p line, 20-byte missing digests */
  nl = nodelist_new();
  nodelist_set_consensus(nl, netfix_consensus(net, NNET, false, NULL, NULL));
  cr_assert(node_allows_exit_port(by_byte(nl, 0x30), 443));
  cr_assert(!node_allows_exit_port(by_byte(nl, 0x30), 444));
  uint8_t *miss;
  size_t n, dl;
  nodelist_get_missing_descriptors(nl, &miss, &n, &dl);
  cr_assert_eq(n, NNET);
  cr_assert_eq(dl, 20);
  al_free(miss);
  nodelist_free(nl);
}

Test(nodelist, malformed_summary_is_reject_all)
{
  netfix_relay_t bad[] = { { "bad", 0x11, "1.1.1.1", F_STD, 1, "accept 443,80", NULL },
                           { "bad2", 0x12, "1.1.1.2", F_STD, 1, "allow 80", NULL } };
  nodelist_t *nl = netfix_nodelist(bad, 2, NULL, NULL);
  cr_assert(node_policy_rejects_all(by_byte(nl, 0x11)));
  cr_assert(!node_allows_exit_port(by_byte(nl, 0x12), 80));
  nodelist_free(nl);
}

Test(nodelist, family_and_subnets)
{
  nodelist_t *nl = netfix_nodelist(net, NNET, NULL, NULL);
  const node_t *a = by_byte(nl, 0x10), *b = by_byte(nl, 0x20), *g = by_byte(nl, 0x30),
               *d = by_byte(nl, 0x40), *e = by_byte(nl, 0x05);
  cr_assert(nodes_in_same_family(a, b), "mutual");
  cr_assert(nodes_in_same_family(b, a));
  cr_assert(!nodes_in_same_family(a, g), "gamma lists alpha, not the reverse");
  cr_assert(!nodes_in_same_family(g, a));
  cr_assert(nodes_in_same_subnet(g, d), "10.3/16");
  cr_assert(!nodes_in_same_subnet(a, b));
  cr_assert(nodes_are_related(g, d, true));
  cr_assert(!nodes_are_related(g, d, false));
  cr_assert(nodes_are_related(a, b, false));
  cr_assert(nodes_are_related(e, e, false));
  cr_assert(!nodes_are_related(a, e, true));
  cr_assert(!nodes_are_related(a, NULL, true));

  cr_assert(node_family_entry_matches("$1010101010101010101010101010101010101010", a));
  cr_assert(node_family_entry_matches("$1010101010101010101010101010101010101010=alpha", a));
  cr_assert(node_family_entry_matches("$1010101010101010101010101010101010101010~x", a));
  cr_assert(node_family_entry_matches("Alpha", a));
  cr_assert(!node_family_entry_matches("$10101010", a));
  cr_assert(!node_family_entry_matches("$101010101010101010101010101010101010101G", a));
  cr_assert(!node_family_entry_matches("$2020202020202020202020202020202020202020", a));
  cr_assert(!node_family_entry_matches("", a));
  char hex[41];
  node_format_rsa_id(a->rsa_id, hex);
  cr_assert_str_eq(hex, "1010101010101010101010101010101010101010");
  nodelist_free(nl);
}

Test(nodelist, ipv6_subnet)
{
  nodelist_t *nl = netfix_nodelist(net, NNET, NULL, NULL);
  node_t a = *by_byte(nl, 0x10), b = *by_byte(nl, 0x20);
  cr_assert(!nodes_in_same_subnet(&a, &b));
  a.has_ipv6 = b.has_ipv6 = true;
  memset(a.ipv6, 0x20, 16);
  memset(b.ipv6, 0x20, 16);
  b.ipv6[15] = 1;
  cr_assert(nodes_in_same_subnet(&a, &b));
  b.ipv6[3] = 9;
  cr_assert(!nodes_in_same_subnet(&a, &b));
  nodelist_free(nl);
}

/* --- real documents from tor 0.4.9 (tests/unit/feature/dirparse/data) --- */

static char *
read_data(const char *name, size_t *len)
{
  char *path = al_asprintf("%s/tests/unit/feature/dirparse/data/%s", ALLIUM_SRCDIR, name);
  char *text = NULL;
  int r = fs_read_file(path, &text, len, 1 << 20);
  al_free(path);
  cr_assert_eq(r, 0, "reading %s", name);
  return text;
}

Test(nodelist, real_md_consensus)
{
  size_t len;
  char *text = read_data("consensus-md.txt", &len);
  consensus_t *c = NULL;
  netdoc_err_t err;
  cr_assert_eq(consensus_parse(text, len, &c, &err), 0);
  al_free(text);
  nodelist_t *nl = nodelist_new();
  cr_assert_eq(nodelist_set_consensus(nl, c), 0);
  cr_assert_eq(nodelist_n_nodes(nl), 4);
  cr_assert_eq(nodelist_get_bw_weight(nl, "Wgg", 0), 5035);
  text = read_data("microdescs.txt", &len);
  microdesc_t **mds = NULL;
  size_t n = 0;
  cr_assert_eq(microdesc_parse_batch(text, len, &mds, &n, &err), 0);
  al_free(text);
  cr_assert_eq(nodelist_add_microdescs(nl, mds, n), 4);
  const node_t *x = nodelist_find_by_nickname(nl, "exit0");
  cr_assert_not_null(x);
  cr_assert(node_is_usable(x));
  cr_assert(x->flags & NODE_FLAG_EXIT);
  cr_assert(!x->bw_measured);
  for (size_t i = 0; i < 4; i++)
    cr_assert(node_is_usable(nodelist_get_node(nl, i)));
  nodelist_free(nl);
}

Test(nodelist, real_ns_consensus_with_descriptors)
{
  size_t len;
  char *text = read_data("consensus-ns.txt", &len);
  consensus_t *c = NULL;
  netdoc_err_t err;
  cr_assert_eq(consensus_parse(text, len, &c, &err), 0);
  al_free(text);
  nodelist_t *nl = nodelist_new();
  nodelist_set_consensus(nl, c);
  cr_assert(node_policy_rejects_all(nodelist_find_by_nickname(nl, "exit0")));
  text = read_data("descriptors.txt", &len);
  routerdesc_t **rds = NULL;
  size_t n = 0;
  cr_assert_eq(routerdesc_parse_batch(text, len, &rds, &n, &err), 0);
  al_free(text);
  cr_assert_eq(n, 10);
  cr_assert_eq(nodelist_add_routerdescs(nl, rds, n), 4, "only those the consensus names");
  uint8_t *miss;
  size_t nm, dl;
  nodelist_get_missing_descriptors(nl, &miss, &nm, &dl);
  cr_assert_eq(nm, 0);
  for (size_t i = 0; i < 4; i++) {
    const node_t *nd = nodelist_get_node(nl, i);
    cr_assert(node_is_usable(nd));
    cr_assert(nd->has_ed25519_id);
    cr_assert_not_null(nd->full_policy);
  }
  nodelist_free(nl);
}

Test(nodelist, unsorted_entries_are_sorted)
{
  consensus_t *c = netfix_consensus(net, NNET, true, NULL, NULL);
  for (size_t i = 0; i < NNET / 2; i++) {
    consensus_router_t t = c->routers[i];
    c->routers[i] = c->routers[NNET - 1 - i];
    c->routers[NNET - 1 - i] = t;
  }
  nodelist_t *nl = nodelist_new();
  nodelist_set_consensus(nl, c);
  for (size_t i = 1; i < NNET; i++)
    cr_assert_lt(memcmp(nodelist_get_node(nl, i - 1)->rsa_id,
                        nodelist_get_node(nl, i)->rsa_id, 20), 0);
  for (size_t i = 0; i < NNET; i++) {
    cr_assert_not_null(by_byte(nl, net[i].id));
    cr_assert_eq(nodelist_add_microdesc(nl, netfix_microdesc(net, NNET, i)), 0);
    cr_assert(by_byte(nl, net[i].id)->has_descriptor);
  }
  nodelist_free(nl);
}

Test(nodelist, ns_descriptor_carried_to_next_consensus)
{
  size_t len;
  char *text = read_data("consensus-ns.txt", &len);
  consensus_t *c = NULL, *c2 = NULL;
  netdoc_err_t err;
  cr_assert_eq(consensus_parse(text, len, &c, &err), 0);
  cr_assert_eq(consensus_parse(text, len, &c2, &err), 0);
  al_free(text);
  /* the second consensus names a different descriptor for its first entry */
  c2->routers[0].desc_digest[0] ^= 1;
  nodelist_t *nl = nodelist_new();
  nodelist_set_consensus(nl, c);
  text = read_data("descriptors.txt", &len);
  routerdesc_t **rds = NULL;
  size_t n = 0;
  cr_assert_eq(routerdesc_parse_batch(text, len, &rds, &n, &err), 0);
  al_free(text);
  cr_assert_eq(nodelist_add_routerdescs(nl, rds, n), 4);
  nodelist_set_consensus(nl, c2);
  size_t have = 0;
  for (size_t i = 0; i < 4; i++)
    have += nodelist_get_node(nl, i)->has_descriptor;
  cr_assert_eq(have, 3);
  uint8_t *miss;
  size_t nm, dl;
  nodelist_get_missing_descriptors(nl, &miss, &nm, &dl);
  cr_assert_eq(nm, 1);
  cr_assert_eq(dl, 20);
  cr_assert_eq(memcmp(miss, c2->routers[0].desc_digest, 20), 0);
  al_free(miss);
  nodelist_free(nl);
}

/* Happy families (proposal 321): a shared "family-ids" entry makes two
 * microdescriptor nodes a family without any "family" line. */
static void
set_family_ids(microdesc_t *md, const char *a, const char *b)
{
  md->family_ids = al_calloc(3, sizeof(char *));
  if (a)
    md->family_ids[md->n_family_ids++] = al_strdup(a);
  if (b)
    md->family_ids[md->n_family_ids++] = al_strdup(b);
}

Test(nodelist, family_ids_make_a_family)
{
  static const netfix_relay_t fam[] = {
    { "one", 0x11, "10.1.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
    { "two", 0x12, "10.2.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
    { "three", 0x13, "10.3.0.1", F_STD | F_EXIT, 1000, "accept 80", NULL },
    { "four", 0x14, "10.4.0.1", F_STD, 1000, NULL, NULL },
  };
  nodelist_t *nl = nodelist_new();
  nodelist_set_consensus(nl, netfix_consensus(fam, 4, true, NULL, NULL));
  microdesc_t *md[4];
  for (size_t i = 0; i < 4; i++)
    md[i] = netfix_microdesc(fam, 4, i);
  set_family_ids(md[0], "ed25519:zndHU61VlnO7Bltx1y79xazHH0OcEE5h+8+XOB43pLI", NULL);
  set_family_ids(md[1], "future:Example", "ed25519:zndHU61VlnO7Bltx1y79xazHH0OcEE5h+8+XOB43pLI");
  set_family_ids(md[2], "future:Example", NULL);     /* unknown format: compared too */
  set_family_ids(md[3], "ed25519:zndHU61VlnO7Bltx1y79xazHH0OcEE5h+8+XOB43pLi", NULL);
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(nodelist_add_microdesc(nl, md[i]), 0);
  const node_t *a = by_byte(nl, 0x11), *b = by_byte(nl, 0x12), *c = by_byte(nl, 0x13),
               *d = by_byte(nl, 0x14);
  cr_assert_eq(a->n_family_ids, 1);
  cr_assert_eq(b->n_family_ids, 2);
  cr_assert_str_eq(b->family_ids[0], "future:Example");
  cr_assert(nodes_in_same_family(a, b));
  cr_assert(nodes_in_same_family(b, a));
  cr_assert(nodes_in_same_family(b, c), "shared unknown-format id");
  cr_assert(!nodes_in_same_family(a, c), "not transitive");
  cr_assert(!nodes_in_same_family(a, d), "ids differ in one character");
  cr_assert(!nodes_in_same_family(c, d));
  cr_assert(nodes_are_related(a, b, false));
  cr_assert(!nodes_are_related(a, d, false));
  /* A new microdescriptor without the line ends the relation. */
  microdesc_t *plain = netfix_microdesc(fam, 4, 1);
  memset(plain->digest, 0, 32);
  /* (different digest: not wanted by the consensus, so dropped) */
  cr_assert_eq(nodelist_add_microdesc(nl, plain), NODELIST_ERR_NOMATCH);
  cr_assert(nodes_in_same_family(a, by_byte(nl, 0x12)));
  /* A new consensus keeps the microdescriptors and their family ids. */
  nodelist_set_consensus(nl, netfix_consensus(fam, 4, true, NULL, NULL));
  cr_assert(nodes_in_same_family(by_byte(nl, 0x11), by_byte(nl, 0x12)));
  cr_assert(!nodes_in_same_family(by_byte(nl, 0x11), by_byte(nl, 0x14)));
  nodelist_free(nl);
}
