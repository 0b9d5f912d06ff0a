/* fuzz_acctstate.c -- fuzz target for the accounting parsers
 * (src/feature/relay/relay_acct.c; tor(1) AccountingStart, AccountingRule,
 * the state file's Accounting* lines).  The input's first line is an
 * AccountingStart value, the second an AccountingRule, the rest a state
 * file.  Checks: a parsed AccountingStart is in range and its interval
 * holds "now" and ends after it; loading a state never yields a negative
 * bad-line count, and what it loads encodes and loads back unchanged. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/relay/relay_acct.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

static void
check_start(const relay_acct_start_t *st)
{
  if (st->hour < 0 || st->hour > 23 || st->minute < 0 || st->minute > 59)
    abort();
  if (st->unit == RELAY_ACCT_MONTH && (st->day < 1 || st->day > 28))
    abort();
  if (st->unit == RELAY_ACCT_WEEK && (st->day < 1 || st->day > 7))
    abort();
  const time_t now = 1795499727;          /* 2026-11-24 05:55:27 */
  time_t s = relay_acct_interval_start(st, now);
  time_t e = relay_acct_next_start(st, s);
  if (s > now || e <= now || e - s > 31 * 86400)
    abort();
}

static char *
take_line(char **p)
{
  char *line = *p;
  char *nl = line ? strchr(line, '\n') : NULL;
  if (nl) {
    *nl = '\0';
    *p = nl + 1;
  } else {
    *p = NULL;
  }
  return line;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  char *s = al_malloc(len + 1);
  memcpy(s, data, len);
  s[len] = '\0';
  char *p = s;
  char *start = take_line(&p), *rule_s = take_line(&p);
  relay_acct_start_t st;
  relay_acct_rule_t rule = RELAY_ACCT_RULE_MAX;
  char *err = NULL;
  if (relay_acct_parse_start(start, &st, &err) == 0) {
    if (err)
      abort();
    check_start(&st);
  } else {
    if (!err)
      abort();
    al_free(err);
    (void)relay_acct_parse_start(NULL, &st, NULL);
  }
  (void)relay_acct_parse_rule(rule_s, &rule);
  const time_t now = 1795499727;
  relay_acct_t a, b;
  relay_acct_init(&a, 1u << 30, rule, &st, now, 12345);
  if (relay_acct_state_load(&a, p ? p : "", now, 777) < 0)
    abort();
  (void)relay_acct_used(&a);
  (void)relay_acct_soft_limit(&a);
  char *enc = relay_acct_state_encode(&a);
  relay_acct_init(&b, 1u << 30, rule, &st, now, 12345);
  if (relay_acct_state_load(&b, enc, now, 777) != 0)
    abort();
  char *enc2 = relay_acct_state_encode(&b);
  if (a.interval_start == b.interval_start && strcmp(enc, enc2) &&
      a.seconds_active)
    abort();
  (void)relay_acct_tick(&b, now + 1, 1, 5);
  al_free(enc);
  al_free(enc2);
  al_free(s);
  return 0;
}
