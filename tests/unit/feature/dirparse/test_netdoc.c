/* test_netdoc.c -- the dir-spec 1.2 meta-format tokenizer and rule tables. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirparse/netdoc.h"
#include "fixture.h"

static int
tok(const char *s, netdoc_t **d, netdoc_err_t *e)
{
  memset(e, 0, sizeof(*e));
  char *b = fixture_exact(s, strlen(s));
  int rv = netdoc_tokenize(b, strlen(s), 0, d, e);
  if (rv == 0) {
    /* pointers into b would dangle: tests only look at owned fields */
    for (size_t i = 0; i < (*d)->n_tok; i++)
      (*d)->tok[i].line = (*d)->tok[i].eol = (*d)->tok[i].end = NULL;
  }
  free(b);
  return rv;
}

static void
expect_fail(const char *s, int line, const char *needle)
{
  netdoc_t *d = NULL;
  netdoc_err_t e;
  int rv = tok(s, &d, &e);
  cr_assert_lt(rv, 0, "accepted: %s", s);
  cr_assert_null(d);
  cr_assert_eq(e.line, line, "line %d != %d (%s)", e.line, line, e.msg);
  cr_assert_not_null(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
  char pfx[32];
  snprintf(pfx, sizeof(pfx), "line %d:", line);
  cr_assert_eq(strncmp(e.msg, pfx, strlen(pfx)), 0, "%s", e.msg);
}

Test(netdoc, keywords_args_objects)
{
  netdoc_t *d;
  netdoc_err_t e;
  cr_assert_eq(tok("a 1  2\tthree\n\nb-c\nobj x\n-----BEGIN FOO BAR-----\nAAEC\n"
                   "-----END FOO BAR-----\nempty \n", &d, &e), 0, "%s", e.msg);
  cr_assert_eq(d->n_tok, 4);
  cr_assert_str_eq(d->tok[0].keyword, "a");
  cr_assert_eq(d->tok[0].n_args, 3);
  cr_assert_str_eq(d->tok[0].args[2], "three");
  cr_assert_eq(d->tok[1].lineno, 3);
  cr_assert_str_eq(d->tok[1].keyword, "b-c");
  cr_assert_eq(d->tok[1].n_args, 0);
  cr_assert_str_eq(d->tok[2].obj_type, "FOO BAR");
  cr_assert_eq(d->tok[2].obj_len, 3);
  cr_assert_eq(d->tok[2].obj[2], 2);
  cr_assert_eq(d->tok[3].lineno, 8);
  cr_assert_eq(d->tok[3].n_args, 0);
  netdoc_free(d);
  cr_assert_null(d);
}

Test(netdoc, rejects_bad_bytes_and_lines)
{
  expect_fail("a 1\nb 2\r\n", 2, "CR");
  expect_fail("a 1\nb\n c\n", 3, "keyword");
  expect_fail("a 1\nb 2", 2, "missing newline");
  expect_fail("a\x01 1\n", 1, "control");
  expect_fail("-a\n", 1, "keyword");
  expect_fail("a_b 1\n", 1, "keyword");
  expect_fail("a\n-----BEGIN X-----\nAAEC\n-----END Y-----\n", 4, "does not match");
  expect_fail("a\n-----BEGIN X-----\nAA!C\n-----END X-----\n", 3, "base64");
  expect_fail("a\n-----BEGIN X-----\nAAF\n-----END X-----\n", 3, "bad base64");
  expect_fail("a\n-----BEGIN X-----\nAAEC\n", 4, "without END");
  expect_fail("a\n-----BEGIN X----\nAAEC\n-----END X-----\n", 2, "BEGIN");
  expect_fail("a\n-----BEGIN X-----\n-----END X-----\n", 3, "bad base64");
  expect_fail("a\n-----XYZ\n", 2, "BEGIN");
  /* NUL inside a line */
  netdoc_t *d = NULL;
  netdoc_err_t e;
  memset(&e, 0, sizeof(e));
  char buf[] = "a 1\nb \0 2\n";
  cr_assert_lt(netdoc_tokenize(buf, sizeof(buf) - 1, 0, &d, &e), 0);
  cr_assert_eq(e.line, 2);
  cr_assert_not_null(strstr(e.msg, "NUL"));
}

Test(netdoc, limits)
{
  size_t n = NETDOC_MAX_LINE + 10;
  char *s = malloc(n + 8);
  memcpy(s, "a\nb ", 4);
  memset(s + 4, 'x', n - 4);
  s[n] = '\n';
  netdoc_t *d = NULL;
  netdoc_err_t e;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(netdoc_tokenize(s, n + 1, 0, &d, &e), DIRPARSE_ERR_LIMIT);
  cr_assert_eq(e.line, 2);
  /* a line of exactly the limit is fine */
  memset(&e, 0, sizeof(e));
  s[NETDOC_MAX_LINE + 2] = '\n';
  cr_assert_eq(netdoc_tokenize(s, NETDOC_MAX_LINE + 3, 0, &d, &e), 0, "%s", e.msg);
  netdoc_free(d);
  free(s);
  /* object lines over 64 characters */
  char ol[200];
  snprintf(ol, sizeof(ol), "a\n-----BEGIN X-----\n%s\n-----END X-----\n",
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  expect_fail(ol, 3, "object line");
  /* objects over NETDOC_MAX_OBJECT bytes */
  size_t lines = NETDOC_MAX_OBJECT / 48 + 2;
  char *big = malloc(lines * 65 + 64);
  strcpy(big, "a\n-----BEGIN X-----\n");
  for (size_t i = 0; i < lines; i++)
    strcat(big, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
  strcat(big, "-----END X-----\n");
  memset(&e, 0, sizeof(e));
  cr_assert_eq(netdoc_tokenize(big, strlen(big), 0, &d, &e), DIRPARSE_ERR_LIMIT);
  free(big);
}

enum { T_START, T_ONCE, T_MAYBE, T_ANY, T_END, T_NEVER };
static const netdoc_rule_t rules[] = {
  { "start", T_START, NETDOC_AT_START, 1, 1, NETDOC_OBJ_FORBIDDEN, NULL },
  { "once", T_ONCE, NETDOC_ONCE, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "maybe", T_MAYBE, NETDOC_AT_MOST_ONCE, 2, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { "any", T_ANY, NETDOC_ANY, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_FORBIDDEN, NULL },
  { "end", T_END, NETDOC_AT_END, 0, 0, NETDOC_OBJ_REQUIRED, "SIGNATURE" },
  { "never", T_NEVER, NETDOC_NEVER, 0, NETDOC_ARGS_ANY, NETDOC_OBJ_OPTIONAL, NULL },
  { NULL, 0, 0, 0, 0, 0, NULL },
};

static void
rules_case(const char *s, int ok, int line, const char *needle)
{
  netdoc_t *d;
  netdoc_err_t e;
  cr_assert_eq(tok(s, &d, &e), 0, "%s", e.msg);
  int rv = netdoc_check_rules(d->tok, d->n_tok, rules, &e);
  if (ok) {
    cr_assert_eq(rv, 0, "%s: %s", s, e.msg);
  } else {
    cr_assert_lt(rv, 0, "accepted: %s", s);
    cr_assert_eq(e.line, line, "%s: line %d (%s)", s, e.line, e.msg);
    cr_assert_not_null(strstr(e.msg, needle), "%s", e.msg);
  }
  netdoc_free(d);
}

#define SIG "end\n-----BEGIN SIGNATURE-----\nAAEC\n-----END SIGNATURE-----\n"

Test(netdoc, rule_tables)
{
  rules_case("start 1\nonce\nunknown x\n-----BEGIN Q-----\nAAEC\n-----END Q-----\n" SIG, 1, 0, "");
  rules_case("start 1\nonce\nany\nany 1 2\nmaybe 1 2 3\n" SIG, 1, 0, "");
  rules_case("once\nstart 1\n" SIG, 0, 2, "first");
  rules_case("start 1\n" SIG, 0, 1, "missing \"once\"");
  rules_case("start 1\nonce\nonce\n" SIG, 0, 3, "duplicate");
  rules_case("start 1\nonce\nmaybe 1\n" SIG, 0, 3, "too few");
  rules_case("start 1 2\nonce\n" SIG, 0, 1, "too many");
  rules_case("start 1\nonce\n" SIG "any\n", 0, 3, "last");
  rules_case("start 1\nonce\nend\n", 0, 3, "needs an object");
  rules_case("start 1\nonce\nany\n-----BEGIN SIGNATURE-----\nAAEC\n-----END SIGNATURE-----\n"
             SIG, 0, 3, "unexpected object");
  rules_case("start 1\nonce\nend\n-----BEGIN X-----\nAAEC\n-----END X-----\n", 0, 3, "wrong object");
  rules_case("start 1\nonce\nnever\n" SIG, 0, 3, "not allowed");
  rules_case("start 1\nonce\nany\n", 0, 3, "does not end");
}

Test(netdoc, helpers)
{
  int64_t v;
  cr_assert_eq(netdoc_parse_int("0", 0, 10, &v), 0);
  cr_assert_eq(netdoc_parse_int("-5", -10, 10, &v), 0);
  cr_assert_eq(v, -5);
  cr_assert_lt(netdoc_parse_int("-5", 0, 10, &v), 0);
  cr_assert_lt(netdoc_parse_int("05", 0, 10, &v), 0);
  cr_assert_lt(netdoc_parse_int("11", 0, 10, &v), 0);
  cr_assert_lt(netdoc_parse_int("", 0, 10, &v), 0);
  cr_assert_lt(netdoc_parse_int("1x", 0, 10, &v), 0);
  cr_assert_lt(netdoc_parse_int("99999999999999999999", 0, INT64_MAX, &v), 0);
  time_t t;
  cr_assert_eq(netdoc_parse_time("2026-11-24", "03:54:20", &t), 0);
  cr_assert_eq((long long)t, 1795492460LL);
  cr_assert_eq(netdoc_parse_time("2024-02-29", "00:00:00", &t), 0);
  cr_assert_lt(netdoc_parse_time("2023-02-29", "00:00:00", &t), 0);
  cr_assert_lt(netdoc_parse_time("2023-13-01", "00:00:00", &t), 0);
  cr_assert_lt(netdoc_parse_time("2023-12-01", "24:00:00", &t), 0);
  cr_assert_lt(netdoc_parse_time("2023-12-1", "00:00:00", &t), 0);
  uint8_t a[16];
  int v6;
  uint16_t port;
  cr_assert_eq(netdoc_parse_ipv4("127.0.0.1", a), 0);
  cr_assert_lt(netdoc_parse_ipv4("127.0.0.01", a), 0);
  cr_assert_lt(netdoc_parse_ipv4("256.0.0.1", a), 0);
  cr_assert_lt(netdoc_parse_ipv4("1.2.3", a), 0);
  cr_assert_eq(netdoc_parse_addrport("[2001:db8::1]:443", a, &v6, &port), 0);
  cr_assert(v6 && port == 443 && a[0] == 0x20 && a[15] == 1);
  cr_assert_eq(netdoc_parse_addrport("10.0.0.1:9001", a, &v6, &port), 0);
  cr_assert(!v6 && port == 9001 && a[0] == 10);
  cr_assert_lt(netdoc_parse_addrport("10.0.0.1:0", a, &v6, &port), 0);
  cr_assert_lt(netdoc_parse_addrport("[::1:443", a, &v6, &port), 0);
  cr_assert_eq(netdoc_check_portlist("1-65535"), 0);
  cr_assert_eq(netdoc_check_portlist("22,80,443-445"), 0);
  cr_assert_lt(netdoc_check_portlist("22,"), 0);
  cr_assert_lt(netdoc_check_portlist("0"), 0);
  cr_assert_lt(netdoc_check_portlist("5-4"), 0);
  cr_assert_lt(netdoc_check_portlist("1-2-3"), 0);
  cr_assert(netdoc_is_nickname("auth0"));
  cr_assert(!netdoc_is_nickname("a_b"));
  cr_assert(!netdoc_is_nickname("aaaaaaaaaaaaaaaaaaaa"));
}
