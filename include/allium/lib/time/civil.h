/* civil.h -- UTC calendar arithmetic without the C library's time zone
 * state: proleptic Gregorian dates <-> days since 1970-01-01, and the
 * "YYYY-MM-DD HH:MM:SS" form directory documents (dir-spec 1.3 "ISOTime")
 * and tor's state file use.  Used by every parser of a date (netdoc,
 * HTTP Date headers, the guards state), so the calendar lives in one place.
 */
#ifndef ALLIUM_LIB_TIME_CIVIL_H
#define ALLIUM_LIB_TIME_CIVIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/** Days since 1970-01-01 of year y, month m (1..12), day d. */
int64_t civil_to_days(int64_t y, int m, int d);
/** The date of day number days (since 1970-01-01); *wday 0 = Sunday. */
void civil_from_days(int64_t days, int64_t *y, int *m, int *d, int *wday);
/** True when m is 1..12 and d exists in that month of year y. */
bool civil_date_valid(int64_t y, int m, int d);
/** Seconds since the epoch of a UTC date and time: 1970 <= y <= 9999, a
 * valid date, 0..23:0..59:0..59.  0, or -1 (out of range, or not
 * representable in time_t). */
int civil_to_time(int64_t y, int m, int d, int hh, int mm, int ss,
                  time_t *out);
/** Parse "YYYY-MM-DD" + sep + "HH:MM:SS" (exactly 19 characters, sep
 * being ' ' or 'T' as given) with civil_to_time()'s rules.  0 or -1. */
int civil_parse_iso(const char *s, char sep, time_t *out);
/** Write t as "YYYY-MM-DD" sep "HH:MM:SS" into buf[20]; times before 1970
 * or after 9999 are clamped to the range. */
void civil_format_iso(time_t t, char sep, char buf[20]);

#endif
