/* test_exit_policy.c -- the effective exit policy from the options
 * (exit_policy.h; tor(1) ExitRelay, ExitPolicy, ExitPolicyRejectPrivate,
 * ExitPolicyRejectLocalInterfaces, ReducedExitPolicy, IPv6Exit) and its
 * descriptor form (dir-spec 2.1.1 policy lines, "ipv6-policy"). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "allium/feature/exit/exit_policy.h"
#include "allium/lib/malloc/malloc.h"

static config_line_t L[4];

static const config_line_t *
lines(const char *a, const char *b)
{
  memset(L, 0, sizeof(L));
  L[0].key = (char *)"ExitPolicy";
  L[0].value = (char *)a;
  if (b) {
    L[1].key = (char *)"ExitPolicy";
    L[1].value = (char *)b;
    L[0].next = &L[1];
  }
  return &L[0];
}

static exit_policy_cfg_t
cfg_default(void)
{
  exit_policy_cfg_t c;
  memset(&c, 0, sizeof(c));
  c.exit_relay = -1;
  c.reject_private = true;
  return c;
}

static policy_t *
build(const exit_policy_cfg_t *c)
{
  policy_t *p = NULL;
  char *err = NULL;
  cr_assert_eq(exit_policy_build(c, &p, &err), 0, "%s", err ? err : "");
  cr_assert_not_null(p);
  return p;
}

static policy_result_t
eval(const policy_t *p, const char *addr, uint16_t port)
{
  policy_addr_t a;
  cr_assert_eq(policy_addr_parse(addr, strlen(addr), &a), 0);
  return policy_eval(p, &a, port);
}

static char *
joined(const policy_t *p)
{
  char **v;
  size_t n;
  cr_assert_eq(exit_policy_desc_lines(p, &v, &n), 0);
  size_t len = 1;
  for (size_t i = 0; i < n; i++)
    len += strlen(v[i]) + 1;
  char *s = al_calloc(1, len);
  for (size_t i = 0; i < n; i++) {
    strcat(s, v[i]);
    strcat(s, "|");
  }
  exit_policy_lines_free(v, n);
  return s;
}

Test(exit_policy, auto_without_policy_is_not_an_exit)
{
  exit_policy_cfg_t c = cfg_default();
  policy_t *p = build(&c);
  cr_assert(!exit_policy_is_exit(p));
  char *s = joined(p);
  cr_assert_str_eq(s, "reject *:*|");
  cr_assert_null(exit_policy_ipv6_summary(p));
  al_free(s);
  policy_free(p);
}

Test(exit_policy, exit_relay_0_wins_over_a_policy)
{
  exit_policy_cfg_t c = cfg_default();
  c.exit_relay = 0;
  c.policy = lines("accept *:80", NULL);
  policy_t *p = build(&c);
  cr_assert(!exit_policy_is_exit(p));
  cr_assert_eq(eval(p, "93.184.216.34", 80), POLICY_RESULT_REJECTED);
  policy_free(p);
}

Test(exit_policy, exit_relay_1_alone_gives_the_default_policy)
{
  exit_policy_cfg_t c = cfg_default();
  c.exit_relay = 1;
  policy_t *p = build(&c);
  cr_assert(exit_policy_is_exit(p));
  cr_assert_eq(eval(p, "93.184.216.34", 80), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "93.184.216.34", 25), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "93.184.216.34", 6881), POLICY_RESULT_REJECTED);
  /* ExitPolicyRejectPrivate */
  cr_assert_eq(eval(p, "127.0.0.1", 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "192.168.1.1", 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "10.0.0.1", 443), POLICY_RESULT_REJECTED);
  /* IPv6Exit 0: no IPv6 at all */
  cr_assert_eq(eval(p, "2001:db8::1", 80), POLICY_RESULT_REJECTED);
  cr_assert(!exit_policy_accepts_family(p, 6));
  cr_assert_null(exit_policy_ipv6_summary(p));
  char *s = joined(p);
  cr_assert(strstr(s, "reject 127.0.0.0/8:*|"), "%s", s);
  cr_assert(strstr(s, "reject *:25|"), "%s", s);
  cr_assert(strstr(s, "accept *:*|"), "%s", s);
  cr_assert(!strstr(s, "[") && !strstr(s, "*6"), "IPv6 rule in %s", s);
  al_free(s);
  policy_free(p);
}

Test(exit_policy, auto_with_a_policy_exits_and_appends_the_default)
{
  exit_policy_cfg_t c = cfg_default();
  c.policy = lines("reject *:8080, accept 1.2.3.0/24:*", NULL);
  policy_t *p = build(&c);
  cr_assert(exit_policy_is_exit(p));
  cr_assert_eq(eval(p, "1.2.3.4", 8080), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "1.2.3.4", 25), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "5.6.7.8", 25), POLICY_RESULT_REJECTED);   /* default */
  cr_assert_eq(eval(p, "5.6.7.8", 443), POLICY_RESULT_ACCEPTED);  /* default */
  policy_free(p);
}

Test(exit_policy, a_final_catch_all_stops_the_default)
{
  exit_policy_cfg_t c = cfg_default();
  c.reject_private = false;
  c.policy = lines("accept 127.0.0.1:*", "reject *:*");
  policy_t *p = build(&c);
  cr_assert(exit_policy_is_exit(p));
  cr_assert_eq(eval(p, "127.0.0.1", 25), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "127.0.0.2", 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "93.184.216.34", 443), POLICY_RESULT_REJECTED);
  char *s = joined(p);
  cr_assert_str_eq(s, "accept 127.0.0.1:*|reject *:*|");
  al_free(s);
  policy_free(p);
}

Test(exit_policy, reject_everything_is_not_an_exit)
{
  exit_policy_cfg_t c = cfg_default();
  c.exit_relay = 1;
  c.policy = lines("reject *:*", NULL);
  policy_t *p = build(&c);
  cr_assert(!exit_policy_is_exit(p));
  policy_free(p);
}

Test(exit_policy, own_and_interface_addresses_are_rejected)
{
  policy_addr_t own = { 4, { 198, 51, 100, 7 } };
  policy_addr_t ifs[2] = { { 4, { 203, 0, 113, 9 } },
                           { 6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 } } };
  exit_policy_cfg_t c = cfg_default();
  c.exit_relay = 1;
  c.ipv6_exit = true;
  c.own_addrs = &own;
  c.n_own = 1;
  c.if_addrs = ifs;
  c.n_if = 2;
  c.reject_local_interfaces = true;
  policy_t *p = build(&c);
  cr_assert_eq(eval(p, "198.51.100.7", 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "198.51.100.8", 80), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "203.0.113.9", 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "2001:db8::9", 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "2001:db8::8", 80), POLICY_RESULT_ACCEPTED);
  policy_free(p);
  /* without ExitPolicyRejectLocalInterfaces they are allowed */
  c.reject_local_interfaces = false;
  p = build(&c);
  cr_assert_eq(eval(p, "203.0.113.9", 80), POLICY_RESULT_ACCEPTED);
  policy_free(p);
}

Test(exit_policy, ipv6_exit_and_the_ipv6_summary)
{
  exit_policy_cfg_t c = cfg_default();
  c.ipv6_exit = true;     /* with ExitRelay auto: an exit (tor(1)) */
  policy_t *p = build(&c);
  cr_assert(exit_policy_accepts_family(p, 6));
  cr_assert_eq(eval(p, "2001:db8::1", 443), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "::1", 443), POLICY_RESULT_REJECTED);   /* private */
  char *sum = exit_policy_ipv6_summary(p);
  cr_assert_not_null(sum);
  cr_assert(strncmp(sum, "reject ", 7) == 0, "%s", sum);
  cr_assert(strstr(sum, "25"), "%s", sum);
  al_free(sum);
  policy_free(p);
  c.policy = lines("accept6 *6:443", "reject *:*");
  p = build(&c);
  sum = exit_policy_ipv6_summary(p);
  cr_assert_str_eq(sum, "accept 443");
  cr_assert(!exit_policy_accepts_family(p, 4));
  al_free(sum);
  policy_free(p);
}

Test(exit_policy, reduced_exit_policy)
{
  exit_policy_cfg_t c = cfg_default();
  c.reduced = true;
  policy_t *p = build(&c);
  cr_assert(exit_policy_is_exit(p));
  cr_assert_eq(eval(p, "93.184.216.34", 443), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "93.184.216.34", 995), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "93.184.216.34", 64738), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(eval(p, "93.184.216.34", 8081), POLICY_RESULT_REJECTED);
  cr_assert_eq(eval(p, "93.184.216.34", 25), POLICY_RESULT_REJECTED);
  policy_free(p);
}

Test(exit_policy, bad_lines_are_errors)
{
  exit_policy_cfg_t c = cfg_default();
  c.policy = lines("accept *:80", "allow everything");
  policy_t *p = (policy_t *)1;
  char *err = NULL;
  cr_assert_lt(exit_policy_build(&c, &p, &err), 0);
  cr_assert_null(p);
  cr_assert_not_null(err);
  al_free(err);
}

Test(exit_policy, descriptor_lines_are_bounded)
{
  exit_policy_cfg_t c = cfg_default();
  c.reject_private = false;
  static config_line_t many[301];
  static char vals[300][32];
  for (int i = 0; i < 300; i++) {
    snprintf(vals[i], sizeof(vals[i]), "accept 10.%d.%d.1:80", i / 100, i % 100);
    many[i].key = (char *)"ExitPolicy";
    many[i].value = vals[i];
    many[i].next = &many[i + 1];
  }
  many[300].key = (char *)"ExitPolicy";
  many[300].value = (char *)"reject *:*";
  c.policy = many;
  policy_t *p = build(&c);
  char **v;
  size_t n;
  cr_assert_eq(exit_policy_desc_lines(p, &v, &n), 0);
  cr_assert_eq(n, EXIT_POLICY_MAX_LINES);
  cr_assert_str_eq(v[n - 1], "reject *:*");
  cr_assert_str_eq(v[0], "accept 10.0.0.1:80");
  exit_policy_lines_free(v, n);
  policy_free(p);
}

Test(exit_policy, local_addrs_include_loopback)
{
  policy_addr_t *a;
  size_t n;
  cr_assert_eq(exit_policy_local_addrs(&a, &n), 0);
  bool lo = false;
  for (size_t i = 0; i < n; i++)
    if (a[i].family == 4 && a[i].addr[0] == 127)
      lo = true;
  cr_assert(lo);
  al_free(a);
}
