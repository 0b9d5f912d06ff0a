/* test_civil.c -- UTC calendar arithmetic (lib/time/civil): known dates,
 * round trips over four centuries, leap years, and malformed, truncated
 * and out-of-range ISO times. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/lib/time/civil.h"

Test(civil, known_dates)
{
  cr_assert_eq(civil_to_days(1970, 1, 1), 0);
  cr_assert_eq(civil_to_days(2000, 3, 1), 11017);
  cr_assert_eq(civil_to_days(1969, 12, 31), -1);
  int64_t y;
  int m, d, w;
  civil_from_days(0, &y, &m, &d, &w);
  cr_assert(y == 1970 && m == 1 && d == 1 && w == 4);   /* a Thursday */
  civil_from_days(-1, &y, &m, &d, &w);
  cr_assert(y == 1969 && m == 12 && d == 31 && w == 3);
  time_t t;
  cr_assert_eq(civil_to_time(2026, 11, 24, 5, 55, 27, &t), 0);
  cr_assert_eq((int64_t)t, INT64_C(1795499727));
}

Test(civil, round_trip_and_leap_years)
{
  for (int64_t days = -1000; days < 146097 + 1000; days += 7) {
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d, NULL);
    cr_assert(civil_date_valid(y, m, d));
    cr_assert_eq(civil_to_days(y, m, d), days);
  }
  cr_assert(civil_date_valid(2000, 2, 29));
  cr_assert(civil_date_valid(2024, 2, 29));
  cr_assert(!civil_date_valid(1900, 2, 29));
  cr_assert(!civil_date_valid(2023, 2, 29));
  cr_assert(!civil_date_valid(2023, 4, 31));
  cr_assert(!civil_date_valid(2023, 13, 1));
  cr_assert(!civil_date_valid(2023, 0, 1));
  cr_assert(!civil_date_valid(2023, 1, 0));
}

Test(civil, iso_parse_and_format)
{
  time_t t = 0;
  cr_assert_eq(civil_parse_iso("2026-11-24 05:55:27", ' ', &t), 0);
  cr_assert_eq((int64_t)t, INT64_C(1795499727));
  cr_assert_eq(civil_parse_iso("2026-11-24T05:55:27", 'T', &t), 0);
  char buf[20];
  civil_format_iso(t, 'T', buf);
  cr_assert_str_eq(buf, "2026-11-24T05:55:27");
  civil_format_iso(-5, ' ', buf);
  cr_assert_str_eq(buf, "1970-01-01 00:00:00");
  static const char *const bad[] = {
    "2026-11-24T05:55:27",      /* wrong separator for ' ' */
    "2026-11-24 05:55:2",       /* truncated */
    "2026-11-24 05:55:270",     /* oversized */
    "2026-11-24 05:55:60",      /* no leap seconds here */
    "2026-11-24 24:00:00",
    "2026-11-24 05:60:00",
    "2023-02-29 00:00:00",
    "2026-13-01 00:00:00",
    "1969-12-31 23:59:59",
    "2026-1a-24 05:55:27",
    "+026-11-24 05:55:27",
    "2026/11/24 05:55:27",
    "",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(civil_parse_iso(bad[i], ' ', &t), -1, "%s", bad[i]);
  cr_assert_eq(civil_parse_iso(NULL, ' ', &t), -1);
}
