/* test_relay_acct.c -- accounting without I/O (feature/relay/relay_acct):
 * AccountingStart / AccountingRule parsing (valid, malformed, truncated,
 * out of range), interval starts and ends across month, year and leap-year
 * boundaries, weeks and days, the soft and hard limits under each rule,
 * the randomized wakeup, and the state file round trip with malformed and
 * foreign lines ignored.  The clock is injected. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/relay/relay_acct.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"

static time_t
T(int y, int m, int d, int hh, int mm, int ss)
{
  time_t t;
  cr_assert_eq(civil_to_time(y, m, d, hh, mm, ss, &t), 0);
  return t;
}

static relay_acct_start_t
S(const char *s)
{
  relay_acct_start_t st;
  char *err = NULL;
  cr_assert_eq(relay_acct_parse_start(s, &st, &err), 0, "%s", s);
  return st;
}

Test(relay_acct, parse_start)
{
  relay_acct_start_t st = S(NULL);
  cr_assert(st.unit == RELAY_ACCT_MONTH && st.day == 1 && st.hour == 0);
  st = S("day 00:00");
  cr_assert(st.unit == RELAY_ACCT_DAY && st.hour == 0 && st.minute == 0);
  st = S("week 7 23:59");
  cr_assert(st.unit == RELAY_ACCT_WEEK && st.day == 7 && st.hour == 23 &&
            st.minute == 59);
  st = S("month 28 5:07");
  cr_assert(st.unit == RELAY_ACCT_MONTH && st.day == 28 && st.hour == 5 &&
            st.minute == 7);
  const char *bad[] = { "", "year 1 00:00", "month 29 00:00", "month 0 0:00",
                        "week 8 00:00", "week 0 00:00", "day 24:00",
                        "day 12:60", "day 12", "day 12:", "month 1",
                        "month 1 00:00 x", "day 123:00", "month x 00:00",
                        "day -1:00", "dayz 00:00" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    char *err = NULL;
    cr_assert_eq(relay_acct_parse_start(bad[i], &st, &err), -1, "%s", bad[i]);
    cr_assert(err != NULL);
    al_free(err);
  }
}

Test(relay_acct, parse_rule)
{
  relay_acct_rule_t r;
  cr_assert(relay_acct_parse_rule(NULL, &r) == 0 && r == RELAY_ACCT_RULE_MAX);
  cr_assert(relay_acct_parse_rule("sum", &r) == 0 && r == RELAY_ACCT_RULE_SUM);
  cr_assert(relay_acct_parse_rule("IN", &r) == 0 && r == RELAY_ACCT_RULE_IN);
  cr_assert(relay_acct_parse_rule("out", &r) == 0 && r == RELAY_ACCT_RULE_OUT);
  cr_assert_eq(relay_acct_parse_rule("both", &r), -1);
  cr_assert_eq(relay_acct_parse_rule("", &r), -1);
}

Test(relay_acct, month_intervals)
{
  relay_acct_start_t st = S("month 1 0:00");
  time_t s = relay_acct_interval_start(&st, T(2026, 12, 4, 10, 0, 0));
  cr_assert_eq(s, T(2026, 12, 1, 0, 0, 0));
  cr_assert_eq(relay_acct_next_start(&st, s), T(2027, 1, 1, 0, 0, 0));
  /* exactly at the start belongs to the new interval */
  cr_assert_eq(relay_acct_interval_start(&st, T(2027, 1, 1, 0, 0, 0)),
               T(2027, 1, 1, 0, 0, 0));
  cr_assert_eq(relay_acct_interval_start(&st, T(2026, 12, 31, 23, 59, 59)),
               T(2026, 12, 1, 0, 0, 0));
  st = S("month 15 12:30");
  /* before the 15th: the interval began last month (across a year) */
  cr_assert_eq(relay_acct_interval_start(&st, T(2027, 1, 10, 0, 0, 0)),
               T(2026, 12, 15, 12, 30, 0));
  cr_assert_eq(relay_acct_interval_start(&st, T(2027, 1, 15, 12, 29, 59)),
               T(2026, 12, 15, 12, 30, 0));
  /* February, leap and not */
  st = S("month 28 23:00");
  time_t f = relay_acct_interval_start(&st, T(2028, 3, 1, 0, 0, 0));
  cr_assert_eq(f, T(2028, 2, 28, 23, 0, 0));
  cr_assert_eq(relay_acct_next_start(&st, f), T(2028, 3, 28, 23, 0, 0));
  cr_assert_eq(relay_acct_next_start(&st, f) - f, 29 * 86400);
  f = relay_acct_interval_start(&st, T(2027, 3, 1, 0, 0, 0));
  cr_assert_eq(relay_acct_next_start(&st, f) - f, 28 * 86400);
  /* a year of intervals has twelve of them, all consecutive */
  st = S("month 3 04:05");
  time_t t = relay_acct_interval_start(&st, T(2030, 1, 10, 0, 0, 0));
  for (int i = 0; i < 12; i++) {
    time_t n = relay_acct_next_start(&st, t);
    cr_assert_eq(relay_acct_interval_start(&st, n - 1), t);
    cr_assert_eq(relay_acct_interval_start(&st, n), n);
    t = n;
  }
  cr_assert_eq(t, T(2031, 1, 3, 4, 5, 0));
}

Test(relay_acct, week_and_day_intervals)
{
  relay_acct_start_t st = S("week 1 00:00");   /* Monday */
  /* 2026-12-04 is a Friday; the week began Monday 2026-11-30 */
  time_t s = relay_acct_interval_start(&st, T(2026, 12, 4, 10, 0, 0));
  cr_assert_eq(s, T(2026, 11, 30, 0, 0, 0));
  cr_assert_eq(relay_acct_next_start(&st, s), T(2026, 12, 7, 0, 0, 0));
  st = S("week 5 12:00");                      /* Friday noon */
  cr_assert_eq(relay_acct_interval_start(&st, T(2026, 12, 4, 11, 59, 0)),
               T(2026, 11, 27, 12, 0, 0));
  cr_assert_eq(relay_acct_interval_start(&st, T(2026, 12, 4, 12, 0, 0)),
               T(2026, 12, 4, 12, 0, 0));
  st = S("week 7 00:00");                      /* Sunday */
  cr_assert_eq(relay_acct_interval_start(&st, T(2026, 12, 4, 0, 0, 0)),
               T(2026, 11, 29, 0, 0, 0));
  st = S("day 06:00");
  cr_assert_eq(relay_acct_interval_start(&st, T(2026, 12, 4, 5, 0, 0)),
               T(2026, 12, 3, 6, 0, 0));
  cr_assert_eq(relay_acct_interval_start(&st, T(2026, 12, 4, 6, 0, 0)),
               T(2026, 12, 4, 6, 0, 0));
  cr_assert_eq(relay_acct_next_start(&st, T(2026, 12, 31, 6, 0, 0)),
               T(2027, 1, 1, 6, 0, 0));
}

Test(relay_acct, rules_and_limits)
{
  relay_acct_start_t st = S("day 00:00");
  relay_acct_t a;
  relay_acct_init(&a, 1000, RELAY_ACCT_RULE_MAX, &st, T(2026, 12, 4, 1, 0, 0), 7);
  cr_assert_eq(a.state, RELAY_HIB_AWAKE);
  cr_assert_eq(relay_acct_soft_limit(&a), 950);   /* 5% margin */
  relay_acct_add(&a, 600, 900);
  cr_assert_eq(relay_acct_used(&a), 900);
  a.rule = RELAY_ACCT_RULE_SUM;
  cr_assert_eq(relay_acct_used(&a), 1500);
  a.rule = RELAY_ACCT_RULE_IN;
  cr_assert_eq(relay_acct_used(&a), 600);
  a.rule = RELAY_ACCT_RULE_OUT;
  cr_assert_eq(relay_acct_used(&a), 900);
  relay_acct_add(&a, UINT64_MAX, UINT64_MAX);     /* saturates */
  cr_assert_eq(a.n_read, UINT64_MAX);
  a.rule = RELAY_ACCT_RULE_SUM;
  cr_assert_eq(relay_acct_used(&a), UINT64_MAX);
  /* big budgets: the margin is at most 500 MiB */
  a.max = (uint64_t)100 << 30;
  cr_assert_eq(relay_acct_soft_limit(&a), a.max - ((uint64_t)500 << 20));
  a.expected_usage = 1000;                         /* 3 h of it is smaller */
  cr_assert_eq(relay_acct_soft_limit(&a), a.max - 180000);
}

Test(relay_acct, soft_then_hard_then_next_interval)
{
  relay_acct_start_t st = S("day 00:00");
  relay_acct_t a;
  time_t t = T(2026, 12, 4, 0, 0, 0);
  relay_acct_init(&a, 10000, RELAY_ACCT_RULE_MAX, &st, t, 1);
  cr_assert_eq(relay_acct_tick(&a, t + 1, 1, 1), RELAY_ACCT_EV_NONE);
  relay_acct_add(&a, 9000, 100);
  cr_assert_eq(relay_acct_tick(&a, t + 2, 1, 1), RELAY_ACCT_EV_NONE);
  relay_acct_add(&a, 600, 0);                    /* 9600 >= 9500 */
  cr_assert_eq(relay_acct_tick(&a, t + 120, 118, 1), RELAY_ACCT_EV_SOFT);
  cr_assert_eq(a.state, RELAY_HIB_SOFT);
  cr_assert_eq(a.soft_hit_at, t + 120);
  cr_assert_eq(a.bytes_at_soft, 9600);
  cr_assert_eq(a.seconds_to_soft, 120);
  cr_assert_eq(relay_acct_tick(&a, t + 121, 1, 1), RELAY_ACCT_EV_NONE);
  relay_acct_add(&a, 400, 0);
  cr_assert_eq(relay_acct_tick(&a, t + 122, 1, 1), RELAY_ACCT_EV_HARD);
  cr_assert_eq(a.state, RELAY_HIB_HARD);
  uint64_t active = a.seconds_active;
  cr_assert_eq(relay_acct_tick(&a, t + 3600, 3478, 1), RELAY_ACCT_EV_NONE);
  cr_assert_eq(a.seconds_active, active);       /* asleep: not counted */
  /* Next day: 9600 bytes in 2 awake minutes = 4800 per minute, so the
   * 10000-byte budget lasts a bit over 2 minutes: wake at a random point
   * in the first 86400 - 120 seconds. */
  relay_acct_event_t ev = relay_acct_tick(&a, t + 86400, 1, 5000);
  cr_assert_eq(a.expected_usage, 4800);
  cr_assert_eq(a.interval_start, t + 86400);
  cr_assert_eq(a.wakeup, t + 86400 + 5000);
  cr_assert_eq(ev, RELAY_ACCT_EV_SLEEP);
  cr_assert_eq(a.n_read, 0);
  cr_assert_eq(relay_acct_tick(&a, t + 86400 + 4999, 1, 0), RELAY_ACCT_EV_NONE);
  cr_assert_eq(relay_acct_tick(&a, t + 86400 + 5000, 1, 0), RELAY_ACCT_EV_WAKE);
  cr_assert_eq(a.state, RELAY_HIB_AWAKE);
}

Test(relay_acct, wakeup_window_and_month_rollover)
{
  relay_acct_start_t st = S("month 1 00:00");
  relay_acct_t a;
  time_t t = T(2027, 1, 31, 23, 0, 0);
  relay_acct_init(&a, 1u << 20, RELAY_ACCT_RULE_SUM, &st, t, 0);
  a.expected_usage = 1;   /* the budget would last far beyond a month */
  relay_acct_tick(&a, T(2027, 2, 1, 0, 0, 0), 1, 123456);
  cr_assert_eq(a.interval_start, T(2027, 2, 1, 0, 0, 0));
  cr_assert_eq(a.interval_end, T(2027, 3, 1, 0, 0, 0));
  cr_assert_eq(a.wakeup, a.interval_start);      /* awake at once */
  cr_assert_eq(a.state, RELAY_HIB_AWAKE);
  /* a fast relay: the wakeup always leaves room to spend the budget */
  a.expected_usage = (1u << 20) / 60;            /* one hour's budget */
  for (uint32_t r = 0; r < 4000000000u; r += 99999989u) {
    a.interval_end = 0;                          /* force a new interval */
    a.n_read = a.n_written = 0;
    a.seconds_active = 0;
    a.soft_hit_at = 0;
    relay_acct_tick(&a, T(2027, 2, 10, 0, 0, 0), 1, r);
    cr_assert(a.wakeup >= a.interval_start);
    cr_assert(a.wakeup + 3600 <= a.interval_end + 60);
  }
}

Test(relay_acct, raised_max_wakes_a_soft_relay)
{
  relay_acct_start_t st = S("day 00:00");
  relay_acct_t a;
  time_t t = T(2026, 12, 4, 0, 0, 0);
  relay_acct_init(&a, 1000, RELAY_ACCT_RULE_OUT, &st, t, 0);
  relay_acct_add(&a, 0, 960);
  cr_assert_eq(relay_acct_tick(&a, t + 1, 1, 0), RELAY_ACCT_EV_SOFT);
  a.max = 100000;
  cr_assert_eq(relay_acct_tick(&a, t + 2, 1, 0), RELAY_ACCT_EV_WAKE);
}

Test(relay_acct, state_round_trip_and_malformed_lines)
{
  relay_acct_start_t st = S("day 00:00");
  relay_acct_t a, b;
  time_t t = T(2026, 12, 4, 0, 0, 0);
  relay_acct_init(&a, 10000, RELAY_ACCT_RULE_MAX, &st, t, 0);
  relay_acct_add(&a, 9600, 1234);
  relay_acct_tick(&a, t + 600, 600, 0);
  a.expected_usage = 77;
  char *s = relay_acct_state_encode(&a);
  cr_assert(strstr(s, "AccountingBytesReadInInterval 9600\n"));
  cr_assert(strstr(s, "AccountingIntervalStart 2026-12-04 00:00:00\n"));
  cr_assert(strstr(s, "AccountingSoftLimitHitAt 2026-12-04 00:10:00\n"));
  char *text = al_asprintf(
      "# tor state\nGuard in=default rsa_id=AAAA\n"
      "AccountingBytesWrittenInInterval 12x\n"       /* malformed */
      "AccountingBytesReadInInterval 99999999999999999999999\n" /* overflow */
      "AccountingBogus 1\n"                           /* unknown key */
      "AccountingIntervalStart 2026-13-04 00:00:00\n" /* bad date */
      "AccountingSecondsActive\n"                     /* truncated */
      "%sLastWritten 2026-12-04 00:10:00", s);
  relay_acct_init(&b, 10000, RELAY_ACCT_RULE_MAX, &st, t + 700, 0);
  cr_assert_eq(relay_acct_state_load(&b, text, t + 700, 0), 5);
  cr_assert_eq(b.n_read, 9600);
  cr_assert_eq(b.n_written, 1234);
  cr_assert_eq(b.seconds_active, 600);
  cr_assert_eq(b.expected_usage, 77);
  cr_assert_eq(b.soft_hit_at, t + 600);
  cr_assert_eq(b.bytes_at_soft, 9600);
  cr_assert_eq(b.state, RELAY_HIB_SOFT);   /* was awake, then soft */
  char *s2 = relay_acct_state_encode(&b);
  cr_assert_str_eq(s, s2);
  cr_assert_eq(relay_acct_tick(&b, t + 701, 1, 0), RELAY_ACCT_EV_NONE);
  relay_acct_add(&b, 400, 0);
  cr_assert_eq(relay_acct_tick(&b, t + 702, 1, 0), RELAY_ACCT_EV_HARD);
  al_free(s);
  al_free(s2);
  al_free(text);
}

Test(relay_acct, state_of_an_earlier_interval_gives_the_pace_only)
{
  relay_acct_start_t st = S("day 00:00");
  relay_acct_t b;
  time_t t = T(2026, 12, 5, 0, 0, 30);
  relay_acct_init(&b, 1 << 20, RELAY_ACCT_RULE_MAX, &st, t, 0);
  const char *text =
      "AccountingBytesReadInInterval 600000\n"
      "AccountingBytesWrittenInInterval 500000\n"
      "AccountingIntervalStart 2026-12-04 00:00:00\n"
      "AccountingSecondsActive 600\n";
  cr_assert_eq(relay_acct_state_load(&b, text, t, 40000), 0);
  cr_assert_eq(b.n_read, 0);
  cr_assert_eq(b.expected_usage, 60000);          /* 600000 B / 10 min */
  cr_assert_eq(b.wakeup, b.interval_start + 40000);
  cr_assert_eq(b.state, RELAY_HIB_HARD);          /* asleep until then */
  /* a state from the future (clock went back) changes nothing */
  relay_acct_init(&b, 1 << 20, RELAY_ACCT_RULE_MAX, &st, t, 0);
  cr_assert_eq(relay_acct_state_load(&b,
      "AccountingBytesReadInInterval 5\n"
      "AccountingIntervalStart 2030-01-01 00:00:00\n", t, 0), 0);
  cr_assert_eq(b.n_read, 0);
  cr_assert_eq(b.state, RELAY_HIB_AWAKE);
  cr_assert_eq(relay_acct_state_load(&b, "", t, 0), 0);
}
