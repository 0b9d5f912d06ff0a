/* test_routerset.c -- torrc node lists (EntryNodes/ExitNodes/ExcludeNodes). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/nodelist/routerset.h"
#include "netfix.h"

static const netfix_relay_t net[] = {
  { "alpha", 0x10, "10.1.0.1", F_STD, 1000, NULL, NULL },
  { "beta", 0xAB, "10.2.0.1", F_STD, 2000, NULL, NULL },
};

Test(routerset, parse_and_match)
{
  nodelist_t *nl = netfix_nodelist(net, 2, NULL, NULL);
  const node_t *a = nodelist_find_by_nickname(nl, "alpha");
  const node_t *b = nodelist_find_by_nickname(nl, "beta");
  routerset_t *rs = NULL;
  cr_assert_eq(routerset_parse(" alpha , {us},", &rs), 0);
  cr_assert_eq(routerset_len(rs), 2);
  cr_assert(routerset_contains_node(rs, a));
  cr_assert(!routerset_contains_node(rs, b));
  routerset_free(rs);

  cr_assert_eq(routerset_parse("$abababababababababababababababababababab", &rs), 0);
  cr_assert(routerset_contains_node(rs, b));
  cr_assert(!routerset_contains_node(rs, a));
  routerset_free(rs);
  cr_assert_eq(routerset_parse("ABABABABABABABABABABABABABABABABABABABAB~beta", &rs), 0);
  cr_assert(routerset_contains_node(rs, b));
  routerset_free(rs);
  cr_assert_eq(routerset_parse("$ABABABABABABABABABABABABABABABABABABABAB=beta,ALPHA", &rs), 0);
  cr_assert(routerset_contains_node(rs, a));
  cr_assert(routerset_contains_node(rs, b));
  routerset_free(rs);

  cr_assert_eq(routerset_parse("", &rs), 0);
  cr_assert(routerset_is_empty(rs));
  cr_assert(!routerset_contains_node(rs, a));
  routerset_free(rs);
  cr_assert(routerset_is_empty(NULL));
  cr_assert(!routerset_contains_node(NULL, a));
  nodelist_free(nl);
}

Test(routerset, malformed)
{
  routerset_t *rs = (routerset_t *)1;
  const char *bad[] = { "$ABAB", "$ABABABABABABABABABABABABABABABABABABABAG",
                        "{us", "nick-name", "waytoolongnicknameabcdef",
                        "$ABABABABABABABABABABABABABABABABABABABAB=bad!",
                        "ok,bad name" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_assert_eq(routerset_parse(bad[i], &rs), -1, "%s", bad[i]);
    cr_assert_null(rs);
  }
  cr_assert_eq(routerset_parse(NULL, &rs), -1);
}
