/* test_policy.c -- exit policy parsing, evaluation and summaries
 * (dir-spec 2.1.1, 2.1.3, 3.8.2; tor(1) ExitPolicy). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/policy/policy.h"
#include "allium/lib/malloc/malloc.h"

static int
parse(const char *s, policy_entry_t *e)
{
  return policy_entry_parse(s, strlen(s), e);
}

static bool
entry_eq(const policy_entry_t *a, const policy_entry_t *b)
{
  return a->action == b->action && a->family == b->family &&
         a->maskbits == b->maskbits && !memcmp(a->addr, b->addr, 16) &&
         a->port_lo == b->port_lo && a->port_hi == b->port_hi;
}

/* Parse s and check it formats back as want. */
static void
roundtrip(const char *s, const char *want)
{
  policy_entry_t e;
  cr_assert_eq(parse(s, &e), 0, "parse %s", s);
  char *f = policy_entry_format(&e);
  cr_assert_str_eq(f, want, "format of %s", s);
  policy_entry_t e2;
  cr_assert_eq(parse(f, &e2), 0, "reparse %s", f);
  cr_assert(entry_eq(&e, &e2), "reparse differs: %s", f);
  al_free(f);
}

static policy_addr_t
A(const char *s)
{
  policy_addr_t a;
  cr_assert_eq(policy_addr_parse(s, strlen(s), &a), 0, "addr %s", s);
  return a;
}

static policy_t *
P(const char *cfg)
{
  policy_t *p = policy_new();
  cr_assert_eq(policy_parse_config(p, cfg), 0, "policy %s", cfg);
  return p;
}

Test(policy_entry, good_forms)
{
  roundtrip("accept *:*", "accept *:*");
  roundtrip("reject *:25", "reject *:25");
  roundtrip("accept 18.7.22.69:*", "accept 18.7.22.69:*");
  roundtrip("reject 18.0.0.0/8:*", "reject 18.0.0.0/8:*");
  roundtrip("reject 18.1.2.3/8:*", "reject 18.0.0.0/8:*");
  roundtrip("accept 10.0.0.0/255.0.0.0:80-88", "accept 10.0.0.0/8:80-88");
  roundtrip("accept 1.2.3.4/255.255.255.255:1-65535", "accept 1.2.3.4:*");
  roundtrip("accept 0.0.0.0/0:443", "accept *4:443");
  roundtrip("reject *4", "reject *4:*");
  roundtrip("accept *6:80", "accept6 *6:80");
  roundtrip("accept6 *:80", "accept6 *6:80");
  roundtrip("reject6 [FC00::]/7:*", "reject6 [fc00::]/7:*");
  roundtrip("accept [2001:db8::1]:443", "accept6 [2001:db8::1]:443");
  roundtrip("accept6 [C000::]/3:*", "accept6 [c000::]/3:*");
  roundtrip("  accept\t*:80  ", "accept *:80");
  roundtrip("ACCEPT *:80", "accept *:80");
  roundtrip("accept *:0-80", "accept *:1-80");  /* dir-spec 2.1.3 */
  roundtrip("accept *:65535", "accept *:65535");
  roundtrip("accept 1.2.3.4/32:7", "accept 1.2.3.4:7");
  roundtrip("accept 1.2.3.4/0:7", "accept *4:7");
}

Test(policy_entry, fields)
{
  policy_entry_t e;
  cr_assert_eq(parse("reject 172.16.9.9/12:135-139", &e), 0);
  cr_assert_eq(e.action, POLICY_REJECT);
  cr_assert_eq(e.family, 4);
  cr_assert_eq(e.maskbits, 12);
  cr_assert_eq(e.addr[0], 172);
  cr_assert_eq(e.addr[1], 16);
  cr_assert_eq(e.addr[2], 0);
  cr_assert_eq(e.port_lo, 135);
  cr_assert_eq(e.port_hi, 139);
  cr_assert_eq(parse("accept *", &e), 0);
  cr_assert_eq(e.family, 0);
  cr_assert_eq(e.port_lo, 1);
  cr_assert_eq(e.port_hi, 65535);
}

Test(policy_entry, malformed)
{
  static const char *bad[] = {
    "", "accept", "accept ", "permit *:*", "accept *:*:*", "accepted *:*",
    "accept *:", "accept *:0", "accept *:0-0", "accept *:65536",
    "accept *:80-79", "accept *:-80", "accept *:80-", "accept *:8o",
    "accept *:+80", "accept *:123456", "accept 1.2.3.4/33:*",
    "accept 1.2.3.4/-1:*", "accept 1.2.3.4/:*", "accept 1.2.3.4/255.0.255.0:*",
    "accept 1.2.3.4/255.255.255.1:*", "accept 1.2.3:*", "accept 1.2.3.256:*",
    "accept 1.2.3.4.5:*", "accept [::1]/129:*", "accept [::1:*",
    "accept ::1:80", "accept [1.2.3.4]:80", "accept [zz::]:*", "accept **:*",
    "accept *5:*", "accept *:*x", "accept 1.2.3.4/8 :80", "accept []:*",
    "accept *:80,443", "accept6 1.2.3.4:*", "accept * :80", "accept 1.2.3.4/1234:*",
    "accept \x01:*", "accept *:\xff",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    policy_entry_t e;
    cr_assert_lt(parse(bad[i], &e), 0, "should fail: '%s'", bad[i]);
  }
  policy_entry_t e;
  cr_assert_eq(parse("accept6 1.2.3.4:*", &e), POLICY_E_FAMILY);
  cr_assert_eq(parse("reject private:*", &e), POLICY_E_PRIVATE);
  cr_assert_eq(parse("accept 1.2.3.4/33:*", &e), POLICY_E_MASK);
  cr_assert_eq(parse("accept *:80-79", &e), POLICY_E_PORT);
  char big[400];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  memcpy(big, "accept ", 7);
  cr_assert_eq(parse(big, &e), POLICY_E_TOOLONG);
}

Test(policy_config, private_expansion)
{
  policy_t *p = P("reject private:80, accept *:*");
  cr_assert_eq(p->n, 13);
  for (size_t i = 0; i < 12; i++) {
    cr_assert_eq(p->entries[i].action, POLICY_REJECT);
    cr_assert_eq(p->entries[i].port_lo, 80);
    cr_assert_eq(p->entries[i].port_hi, 80);
  }
  cr_assert_eq(policy_eval(p, &(policy_addr_t){ 0 }, 80),
               POLICY_RESULT_PROBABLY_ACCEPTED);
  policy_addr_t a = A("192.168.1.1");
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, &a, 81), POLICY_RESULT_ACCEPTED);
  a = A("fe80::1");
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_REJECTED);
  a = A("::1");
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_REJECTED);
  a = A("2001:db8::1");
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_ACCEPTED);
  policy_free(p);
  /* accept6 private still produces both families */
  p = P("accept6 private");
  cr_assert_eq(p->n, 12);
  cr_assert_eq(p->entries[0].family, 4);
  policy_free(p);
  p = policy_new();
  cr_assert_lt(policy_parse_config(p, "reject privatex:*"), 0);
  cr_assert_lt(policy_parse_config(p, "reject private:0"), 0);
  cr_assert_lt(policy_parse_config(p, "reject private/8:*"), 0);
  cr_assert_eq(p->n, 0);
  policy_free(p);
}

Test(policy_config, list_and_errors)
{
  policy_t *p = P("accept 18.7.22.69:*,reject 18.0.0.0/8:*,accept *:*");
  cr_assert_eq(p->n, 3);
  policy_addr_t a = A("18.7.22.69");
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_ACCEPTED);
  a = A("18.7.22.70");
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_REJECTED);
  a = A("19.0.0.1");
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_ACCEPTED);
  a = A("2001:db8::5");
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_ACCEPTED);
  /* an error leaves the policy unchanged */
  cr_assert_lt(policy_parse_config(p, "accept *:80, reject *:bad"), 0);
  cr_assert_eq(p->n, 3);
  /* empty items are skipped; accept6 with IPv4 is ignored */
  cr_assert_eq(policy_parse_config(p, " , accept6 1.2.3.4:80,,"), 0);
  cr_assert_eq(p->n, 3);
  policy_free(p);
}

Test(policy_eval, first_match)
{
  policy_t *p = P("reject 1.2.3.4:80, accept 1.2.3.0/24:*, reject *:*");
  policy_addr_t a = A("1.2.3.4");
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, &a, 81), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(policy_eval(p, &a, 0), POLICY_RESULT_REJECTED);
  a = A("1.2.3.200");
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_ACCEPTED);
  a = A("1.2.4.1");
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_REJECTED);
  /* unknown address: partial accept then reject *:* */
  cr_assert_eq(policy_eval(p, NULL, 80), POLICY_RESULT_PROBABLY_REJECTED);
  policy_free(p);

  p = P("accept *:80");  /* no match: accepted (dir-spec 2.1.1) */
  a = A("9.9.9.9");
  cr_assert_eq(policy_eval(p, &a, 22), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(policy_eval(p, NULL, 22), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(policy_eval(p, NULL, 0), POLICY_RESULT_REJECTED);
  policy_free(p);

  p = P("reject *4:*, accept *6:443, reject *:*");
  a = A("1.1.1.1");
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_REJECTED);
  a = A("2606:4700::1111");
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(policy_eval(p, &a, 80), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, NULL, 443), POLICY_RESULT_PROBABLY_REJECTED);
  cr_assert_eq(policy_eval(p, NULL, 80), POLICY_RESULT_REJECTED);
  policy_free(p);

  /* mask boundaries */
  p = P("accept 10.0.0.0/31:*, accept [2001:db8::]/127:*, reject *:*");
  a = A("10.0.0.1");
  cr_assert_eq(policy_eval(p, &a, 1), POLICY_RESULT_ACCEPTED);
  a = A("10.0.0.2");
  cr_assert_eq(policy_eval(p, &a, 1), POLICY_RESULT_REJECTED);
  a = A("2001:db8::1");
  cr_assert_eq(policy_eval(p, &a, 1), POLICY_RESULT_ACCEPTED);
  a = A("2001:db8::2");
  cr_assert_eq(policy_eval(p, &a, 1), POLICY_RESULT_REJECTED);
  policy_free(p);
}

Test(policy_eval, defaults)
{
  policy_t *p = policy_new();
  policy_addr_t mine = A("203.0.113.7");
  policy_add_reject_private(p, &mine, 1);
  cr_assert(!policy_is_terminated(p));
  cr_assert_eq(policy_parse_config(p, "accept *:4663"), 0);
  policy_add_default_exit(p);
  cr_assert(policy_is_terminated(p));
  cr_assert_eq(p->n, 12 + 1 + 1 + 11);
  policy_addr_t a = A("8.8.8.8");
  cr_assert_eq(policy_eval(p, &a, 25), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, &a, 4663), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(policy_eval(p, &a, 4662), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, &a, 4664), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, &a, 6429), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, &a, 6430), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_ACCEPTED);
  cr_assert_eq(policy_eval(p, &mine, 443), POLICY_RESULT_REJECTED);
  a = A("127.0.0.1");
  cr_assert_eq(policy_eval(p, &a, 443), POLICY_RESULT_REJECTED);
  cr_assert_eq(policy_eval(p, NULL, 443), POLICY_RESULT_PROBABLY_ACCEPTED);
  cr_assert_eq(policy_eval(p, NULL, 25), POLICY_RESULT_REJECTED);
  policy_summary_t s;
  cr_assert_eq(policy_summarize(p, 4, &s), 0);
  char *t = policy_summary_format(&s);
  cr_assert_str_eq(t, "reject 25,119,135-139,445,563,1214,4661-4662,4664-4666,"
                      "6346-6429,6699,6881-6999");
  al_free(t);
  policy_free(p);
  cr_assert(policy_addr_is_private(&(policy_addr_t){ 4, { 10, 1, 2, 3 } }));
  a = A("172.32.0.1");
  cr_assert(!policy_addr_is_private(&a));
  a = A("fc12::1");
  cr_assert(policy_addr_is_private(&a));
}

static void
summary_rt(const char *s)
{
  policy_summary_t sum;
  cr_assert_eq(policy_summary_parse(s, strlen(s), &sum), 0, "parse %s", s);
  char *f = policy_summary_format(&sum);
  cr_assert_str_eq(f, s);
  al_free(f);
}

Test(policy_summary, parse_format)
{
  summary_rt("accept 80,443,1000-2000");
  summary_rt("reject 1-65535");
  summary_rt("accept 1-65535");
  summary_rt("accept 65535");
  summary_rt("reject 1,3,5-7");
  static const char *bad[] = {
    "", "accept", "accept ", "accept 0", "accept 65536", "accept 80,",
    "accept ,80", "accept 80,,443", "accept 443,80", "accept 80,80",
    "accept 80-79", "accept 1-5,5", "accept 1-5,3-9", "allow 80",
    "accept  80", "accept 80 ", "reject -1", "accept 80-", "accept 0080x",
    "Accept 80", "accept 100000", "accept 80;443", "accept\t80",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    policy_summary_t sum;
    cr_assert_lt(policy_summary_parse(bad[i], strlen(bad[i]), &sum), 0,
                 "should fail: '%s'", bad[i]);
  }
  char big[1100];
  size_t n = (size_t)snprintf(big, sizeof(big), "accept 1");
  for (unsigned p = 3; n < 1003; p += 2)
    n += (size_t)snprintf(big + n, sizeof(big) - n, ",%u", p);
  policy_summary_t sum;
  cr_assert_eq(policy_summary_parse(big, n, &sum), POLICY_E_TOOLONG);
}

Test(policy_summary, allows_port)
{
  policy_summary_t s;
  const char *t = "accept 80,443,1000-2000";
  cr_assert_eq(policy_summary_parse(t, strlen(t), &s), 0);
  cr_assert(policy_summary_allows_port(&s, 80));
  cr_assert(policy_summary_allows_port(&s, 443));
  cr_assert(policy_summary_allows_port(&s, 1000));
  cr_assert(policy_summary_allows_port(&s, 1500));
  cr_assert(policy_summary_allows_port(&s, 2000));
  cr_assert(!policy_summary_allows_port(&s, 2001));
  cr_assert(!policy_summary_allows_port(&s, 81));
  cr_assert(!policy_summary_allows_port(&s, 0));
  cr_assert(!policy_summary_allows_port(&s, 1));
  t = "reject 25,119";
  cr_assert_eq(policy_summary_parse(t, strlen(t), &s), 0);
  cr_assert(!policy_summary_allows_port(&s, 25));
  cr_assert(policy_summary_allows_port(&s, 24));
  cr_assert(policy_summary_allows_port(&s, 65535));
  cr_assert(!policy_summary_allows_port(&s, 0));
  t = "reject 1-65535";
  cr_assert_eq(policy_summary_parse(t, strlen(t), &s), 0);
  cr_assert(!policy_summary_allows_port(&s, 80));
}

static void
summarize_is(const char *cfg, int fam, const char *want)
{
  policy_t *p = P(cfg);
  policy_summary_t s;
  cr_assert_eq(policy_summarize(p, fam, &s), 0);
  char *t = policy_summary_format(&s);
  cr_assert_str_eq(t, want, "summary of %s", cfg);
  policy_summary_t s2;
  cr_assert_eq(policy_summary_parse(t, strlen(t), &s2), 0);
  al_free(t);
  policy_free(p);
}

Test(policy_summary, summarize)
{
  summarize_is("accept *:*", 4, "accept 1-65535");
  summarize_is("reject *:*", 4, "reject 1-65535");
  summarize_is("", 6, "accept 1-65535");
  summarize_is("accept *:80, accept *:443, reject *:*", 4, "accept 80,443");
  summarize_is("accept *:80-88, accept *:89-100, reject *:*", 4,
               "accept 80-100");
  summarize_is("reject *:25, accept *:*", 4, "reject 25");
  summarize_is("accept *:1-9, reject *:*", 4, "accept 1-9");
  /* tie in length: accept wins ("accept 2-65534" vs "reject 1,65535") */
  summarize_is("reject *:1, reject *:65535, accept *:*", 4, "accept 2-65534");
  /* small netblocks are ignored */
  summarize_is("reject 10.0.0.0/8:*, reject 1.2.3.4:80, accept *:*", 4,
               "accept 1-65535");
  summarize_is("accept 1.2.3.4:80, reject *:*", 4, "reject 1-65535");
  summarize_is("reject 0.0.0.0/1:80, accept *:*", 4, "reject 80");
  /* family specific rules */
  summarize_is("accept *4:80, accept *6:443, reject *:*", 4, "accept 80");
  summarize_is("accept *4:80, accept *6:443, reject *:*", 6, "accept 443");
  summarize_is("reject private:*, accept *:22, reject *:*", 6, "accept 22");
  policy_t *p = policy_new();
  policy_summary_t s;
  cr_assert_eq(policy_summarize(p, 5, &s), POLICY_E_FAMILY);
  policy_free(p);
}

Test(policy_summary, truncation)
{
  /* accept every odd port: both lists are far over 1000 characters */
  policy_t *p = policy_new();
  for (unsigned port = 1; port <= 65535; port += 2) {
    policy_entry_t e = { POLICY_ACCEPT, 0, 0, { 0 }, (uint16_t)port,
                         (uint16_t)port };
    policy_append(p, &e);
  }
  policy_entry_t r = { POLICY_REJECT, 0, 0, { 0 }, 1, 65535 };
  policy_append(p, &r);
  policy_summary_t s;
  cr_assert_eq(policy_summarize(p, 4, &s), 0);
  char *t = policy_summary_format(&s);
  cr_assert_leq(strlen(t), POLICY_SUMMARY_MAXLEN);
  cr_assert_gt(strlen(t), POLICY_SUMMARY_MAXLEN - 8);
  cr_assert_eq(strncmp(t, "accept 1,3,5,7,9,11,", 20), 0);
  cr_assert(s.accept);
  policy_summary_t s2;
  cr_assert_eq(policy_summary_parse(t, strlen(t), &s2), 0);
  al_free(t);
  policy_free(p);
}

Test(policy_addr, parse_format)
{
  policy_addr_t a;
  char buf[64];
  cr_assert_eq(policy_addr_parse("[::ffff:1.2.3.4]", 16, &a), 0);
  cr_assert_eq(a.family, 6);
  cr_assert_eq(policy_addr_format(&a, buf, sizeof(buf)), 0);
  cr_assert_str_eq(buf, "::ffff:1.2.3.4");
  cr_assert_eq(policy_addr_format(&a, buf, 4), -1);
  cr_assert_lt(policy_addr_parse("1.2.3.4 ", 8, &a), 0);
  cr_assert_lt(policy_addr_parse("", 0, &a), 0);
  cr_assert_lt(policy_addr_parse("[]", 2, &a), 0);
  a.family = 0;
  cr_assert_eq(policy_addr_format(&a, buf, sizeof(buf)), -1);
}
