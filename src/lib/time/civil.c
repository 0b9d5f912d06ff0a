/* civil.c -- UTC calendar arithmetic (proleptic Gregorian, days counted
 * from 1970-01-01) and the ISO form of dir-spec 1.3.  See
 * include/allium/lib/time/civil.h. */
#include "allium/lib/time/civil.h"
#include "allium/lib/encoding/binascii.h"

#include <stdio.h>
#include <string.h>

/* 9999-12-31 23:59:59 */
#define CIVIL_MAX_SECS INT64_C(253402300799)

int64_t
civil_to_days(int64_t y, int m, int d)
{
  /* Years counted from March, so the leap day ends a year; 400-year eras
   * of 146097 days. */
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void
civil_from_days(int64_t days, int64_t *y, int *m, int *d, int *wday)
{
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = mm;
  *y = yoe + era * 400 + (mm <= 2);
  if (wday) {
    int64_t w = (days + 4) % 7;   /* 1970-01-01 was a Thursday */
    *wday = (int)(w < 0 ? w + 7 : w);
  }
}

bool
civil_date_valid(int64_t y, int m, int d)
{
  static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                 30, 31 };
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
    return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

int
civil_to_time(int64_t y, int m, int d, int hh, int mm, int ss, time_t *out)
{
  if (y < 1970 || y > 9999 || !civil_date_valid(y, m, d) || hh < 0 ||
      hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
    return -1;
  int64_t t = civil_to_days(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
  if ((int64_t)(time_t)t != t)
    return -1;
  *out = (time_t)t;
  return 0;
}

/* Exactly n digits at s into *out. */
static bool
digits(const char *s, size_t n, int *out)
{
  uint64_t v;
  if (decimal_parse_u64(s, n, 9999, &v) < 0)
    return false;
  *out = (int)v;
  return true;
}

int
civil_parse_iso(const char *s, char sep, time_t *out)
{
  int y, mo, d, h, mi, se;
  if (!s || strlen(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != sep ||
      s[13] != ':' || s[16] != ':')
    return -1;
  if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
      !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
      !digits(s + 17, 2, &se))
    return -1;
  return civil_to_time(y, mo, d, h, mi, se, out);
}

void
civil_format_iso(time_t t, char sep, char buf[20])
{
  int64_t secs = (int64_t)t;
  if (secs < 0)
    secs = 0;
  if (secs > CIVIL_MAX_SECS)
    secs = CIVIL_MAX_SECS;
  int64_t y;
  int m, d;
  civil_from_days(secs / 86400, &y, &m, &d, NULL);
  int64_t rem = secs % 86400;
  snprintf(buf, 20, "%04d-%02d-%02d%c%02d:%02d:%02d", (int)y, m, d, sep,
           (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}
