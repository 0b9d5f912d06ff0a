/* fuzz_policy.c -- fuzz target for exit policies and summaries
 * (src/core/policy).
 *
 * The input is read as lines.  Each line is parsed as a policy entry (a
 * parsed entry must format to text that parses back to the same entry),
 * added to a policy with the torrc rules, and parsed as a port-list
 * summary (its formatting must parse again, format identically and allow
 * the same ports).  The whole input is also parsed as a comma-separated
 * ExitPolicy value.  The policy is then evaluated for a few addresses and
 * summarized for both families; summaries must parse back and be at most
 * POLICY_SUMMARY_MAXLEN characters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/policy/policy.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "../fuzzing.h"

#define MAX_INPUT 4096

static policy_summary_t s1, s2;

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_policy: %s\n", what);
  abort();
}

static int
entry_eq(const policy_entry_t *a, const policy_entry_t *b)
{
  return a->action == b->action && a->family == b->family &&
         a->maskbits == b->maskbits && !memcmp(a->addr, b->addr, 16) &&
         a->port_lo == b->port_lo && a->port_hi == b->port_hi;
}

static void
check_entry(const char *line, size_t len)
{
  policy_entry_t e, e2;
  if (policy_entry_parse(line, len, &e) < 0)
    return;
  if (e.port_lo == 0 || e.port_lo > e.port_hi)
    fail("bad port range");
  char *f = policy_entry_format(&e);
  if (policy_entry_parse(f, strlen(f), &e2) < 0 || !entry_eq(&e, &e2))
    fail("entry does not round-trip");
  al_free(f);
}

static const uint16_t probe_ports[] = { 0, 1, 22, 80, 443, 1000, 65535 };

static void
check_summary(const char *line, size_t len)
{
  if (policy_summary_parse(line, len, &s1) < 0)
    return;
  char *f = policy_summary_format(&s1);
  if (policy_summary_parse(f, strlen(f), &s2) < 0)
    fail("summary format does not parse");
  char *g = policy_summary_format(&s2);
  if (strcmp(f, g) != 0)
    fail("summary format not stable");
  for (size_t i = 0; i < sizeof(probe_ports) / sizeof(probe_ports[0]); i++) {
    uint16_t p = probe_ports[i];
    if (policy_summary_allows_port(&s1, p) !=
        policy_summary_allows_port(&s2, p))
      fail("summary port lookup changed");
  }
  al_free(f);
  al_free(g);
}

/* Brute-force "accepted for most addresses" (policy.h policy_summarize). */
static int
brute_accepts(const policy_t *p, int fam, uint16_t port)
{
  for (size_t i = 0; i < p->n; i++) {
    const policy_entry_t *e = &p->entries[i];
    if (port < e->port_lo || port > e->port_hi)
      continue;
    if (e->family != 0 && e->family != fam)
      continue;
    int accept = e->action == POLICY_ACCEPT;
    if (e->family != 0 && e->maskbits > (accept ? 0 : 1))
      continue;
    return accept;
  }
  return 1;
}

static void
check_policy(const policy_t *p)
{
  static const char *addrs[] = { "127.0.0.1", "8.8.8.8", "18.7.22.69",
                                 "::1", "2001:db8::1", "fc00::1" };
  for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
    policy_addr_t a;
    if (policy_addr_parse(addrs[i], strlen(addrs[i]), &a) < 0)
      fail("probe address");
    for (size_t j = 0; j < sizeof(probe_ports) / sizeof(probe_ports[0]); j++) {
      policy_result_t r = policy_eval(p, &a, probe_ports[j]);
      if (r != POLICY_RESULT_ACCEPTED && r != POLICY_RESULT_REJECTED)
        fail("known address gave a 'probably'");
    }
  }
  for (size_t j = 0; j < sizeof(probe_ports) / sizeof(probe_ports[0]); j++)
    (void)policy_eval(p, NULL, probe_ports[j]);
  for (int fam = 4; fam <= 6; fam += 2) {
    if (policy_summarize(p, fam, &s1) < 0)
      fail("summarize");
    char *f = policy_summary_format(&s1);
    if (strlen(f) > POLICY_SUMMARY_MAXLEN ||
        policy_summary_parse(f, strlen(f), &s2) < 0)
      fail("summary of a policy does not parse");
    if (strlen(f) < POLICY_SUMMARY_MAXLEN - 12) {  /* not truncated */
      for (size_t i = 0; i < p->n && i < 64; i++) {
        const uint16_t ports[4] = { p->entries[i].port_lo,
                                    p->entries[i].port_hi,
                                    (uint16_t)(p->entries[i].port_lo - 1),
                                    (uint16_t)(p->entries[i].port_hi + 1) };
        for (int j = 0; j < 4; j++) {
          if (ports[j] == 0)
            continue;
          if (policy_summary_allows_port(&s1, ports[j]) !=
              (brute_accepts(p, fam, ports[j]) != 0))
            fail("summary disagrees with the policy");
        }
      }
    }
    al_free(f);
  }
}

int
fuzz_init(void)
{
  log_sinks_clear();  /* policy_add_entry warns about accept6 + IPv4 */
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len > MAX_INPUT)
    return 0;
  char *text = al_malloc(len + 1);
  memcpy(text, data, len);
  text[len] = '\0';
  policy_t *p = policy_new();
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && data[i] != '\n')
      continue;
    const char *line = text + start;
    size_t ll = i - start;
    check_entry(line, ll);
    check_summary(line, ll);
    size_t before = p->n;
    if (policy_add_entry(p, line, ll) < 0 && p->n != before)
      fail("failed add changed the policy");
    start = i + 1;
  }
  check_policy(p);
  policy_free(p);
  if (!memchr(data, '\0', len)) {
    p = policy_new();
    if (policy_parse_config(p, text) < 0 && p->n != 0)
      fail("failed config parse left entries");
    check_policy(p);
    if (!policy_is_terminated(p))
      policy_add_default_exit(p);
    check_policy(p);
    policy_free(p);
  }
  al_free(text);
  return 0;
}
