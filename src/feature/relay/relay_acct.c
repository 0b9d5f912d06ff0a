/* relay_acct.c -- AccountingMax / AccountingStart / AccountingRule and
 * hibernation, without I/O (tor(1) "SERVER OPTIONS"; the "hibernating"
 * descriptor line is dir-spec 2.1.1; the state file keys are tor's).
 *
 * An interval runs from one AccountingStart point to the next (UTC).  Bytes
 * read and written in it are counted under AccountingRule.  Near the end
 * of the budget (the soft limit) the relay stops taking new work; at
 * AccountingMax it closes everything until the next interval.  Once a
 * relay knows how fast it spends its budget (bytes per awake minute, the
 * "expected usage"), each new interval begins asleep until a random point
 * chosen so that the budget, spent at that pace, lasts to the interval's
 * end: relays that share a schedule do not all wake at once. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allium/feature/relay/relay_acct.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"

#define DAY_SEC INT64_C(86400)
/** Soft limit margins: 5% of AccountingMax, 500 MiB, 3 h of usage. */
#define SOFT_MARGIN_BYTES ((uint64_t)500 << 20)
#define SOFT_MARGIN_MINUTES 180

/* ---- options ---- */

int
relay_acct_parse_rule(const char *s, relay_acct_rule_t *out)
{
  static const char *const names[] = { "max", "sum", "in", "out" };
  if (!s) {
    *out = RELAY_ACCT_RULE_MAX;
    return 0;
  }
  for (int i = 0; i < 4; i++)
    if (!strcasecmp(s, names[i])) {
      *out = (relay_acct_rule_t)i;
      return 0;
    }
  return -1;
}

/* A small decimal number (1 to 2 digits) at *p; advances *p. */
static int
small_num(const char **p, int *out)
{
  int n = 0, digits = 0;
  while (isdigit((unsigned char)**p) && digits < 3) {
    n = n * 10 + (**p - '0');
    (*p)++;
    digits++;
  }
  if (digits == 0 || digits > 2)
    return -1;
  *out = n;
  return 0;
}

static int
start_fail(char **errmsg, const char *s, const char *why)
{
  if (errmsg)
    *errmsg = al_asprintf("AccountingStart \"%.40s\": %s", s, why);
  return -1;
}

int
relay_acct_parse_start(const char *s, relay_acct_start_t *out, char **errmsg)
{
  memset(out, 0, sizeof(*out));
  out->unit = RELAY_ACCT_MONTH;
  out->day = 1;
  if (!s)
    return 0;
  const char *p = s;
  while (*p == ' ')
    p++;
  size_t wl = strcspn(p, " \t");
  if (wl == 3 && !strncasecmp(p, "day", 3))
    out->unit = RELAY_ACCT_DAY;
  else if (wl == 4 && !strncasecmp(p, "week", 4))
    out->unit = RELAY_ACCT_WEEK;
  else if (wl == 5 && !strncasecmp(p, "month", 5))
    out->unit = RELAY_ACCT_MONTH;
  else
    return start_fail(errmsg, s, "expected day, week or month");
  p += wl;
  while (*p == ' ' || *p == '\t')
    p++;
  if (out->unit != RELAY_ACCT_DAY) {
    if (small_num(&p, &out->day) < 0 || (*p != ' ' && *p != '\t'))
      return start_fail(errmsg, s, "expected a day number and HH:MM");
    int top = out->unit == RELAY_ACCT_WEEK ? 7 : 28;
    if (out->day < 1 || out->day > top)
      return start_fail(errmsg, s, out->unit == RELAY_ACCT_WEEK
                        ? "the day of the week must be 1 (Monday) to 7"
                        : "the day of the month must be 1 to 28");
    while (*p == ' ' || *p == '\t')
      p++;
  }
  if (small_num(&p, &out->hour) < 0 || *p++ != ':' ||
      small_num(&p, &out->minute) < 0)
    return start_fail(errmsg, s, "expected HH:MM");
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p)
    return start_fail(errmsg, s, "trailing characters");
  if (out->hour > 23 || out->minute > 59)
    return start_fail(errmsg, s, "the time must be 00:00 to 23:59");
  return 0;
}

/* ---- intervals ---- */

static int64_t
floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static time_t
month_point(int64_t y, int m, const relay_acct_start_t *st)
{
  while (m < 1) {
    m += 12;
    y--;
  }
  while (m > 12) {
    m -= 12;
    y++;
  }
  int64_t d = civil_to_days(y, m, st->day);
  return (time_t)(d * DAY_SEC + st->hour * 3600 + st->minute * 60);
}

time_t
relay_acct_interval_start(const relay_acct_start_t *st, time_t now)
{
  int64_t t = (int64_t)now, days = floor_div(t, DAY_SEC);
  int64_t tod = st->hour * 3600 + st->minute * 60;
  if (st->unit == RELAY_ACCT_MONTH) {
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d, NULL);
    time_t c = month_point(y, m, st);
    return c <= now ? c : month_point(y, m - 1, st);
  }
  int64_t c = days * DAY_SEC + tod;
  if (st->unit == RELAY_ACCT_DAY)
    return (time_t)(c <= t ? c : c - DAY_SEC);
  int wday;   /* 0 = Sunday */
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d, &wday);
  int want = st->day % 7;
  c -= ((wday - want + 7) % 7) * DAY_SEC;
  return (time_t)(c <= t ? c : c - 7 * DAY_SEC);
}

time_t
relay_acct_next_start(const relay_acct_start_t *st, time_t start)
{
  if (st->unit == RELAY_ACCT_DAY)
    return start + DAY_SEC;
  if (st->unit == RELAY_ACCT_WEEK)
    return start + 7 * DAY_SEC;
  int64_t y;
  int m, d;
  civil_from_days(floor_div((int64_t)start, DAY_SEC), &y, &m, &d, NULL);
  return month_point(y, m + 1, st);
}

/* ---- the budget ---- */

uint64_t
relay_acct_used(const relay_acct_t *a)
{
  switch (a->rule) {
  case RELAY_ACCT_RULE_SUM:
    return a->n_read + a->n_written < a->n_read ? UINT64_MAX
                                                : a->n_read + a->n_written;
  case RELAY_ACCT_RULE_IN:
    return a->n_read;
  case RELAY_ACCT_RULE_OUT:
    return a->n_written;
  default:
    return a->n_read > a->n_written ? a->n_read : a->n_written;
  }
}

uint64_t
relay_acct_soft_limit(const relay_acct_t *a)
{
  uint64_t margin = a->max / 20;
  if (margin > SOFT_MARGIN_BYTES)
    margin = SOFT_MARGIN_BYTES;
  if (a->expected_usage) {
    uint64_t three_h = a->expected_usage > UINT64_MAX / SOFT_MARGIN_MINUTES
                           ? UINT64_MAX : a->expected_usage * SOFT_MARGIN_MINUTES;
    if (three_h < margin)
      margin = three_h;
  }
  return a->max - margin;
}

void
relay_acct_add(relay_acct_t *a, uint64_t n_read, uint64_t n_written)
{
  a->n_read = a->n_read + n_read < a->n_read ? UINT64_MAX : a->n_read + n_read;
  a->n_written = a->n_written + n_written < a->n_written
                     ? UINT64_MAX : a->n_written + n_written;
}

/* Bytes per awake minute the finished interval's numbers show (0: too
 * little to tell). */
static uint64_t
usage_of(const relay_acct_t *a)
{
  if (a->soft_hit_at && a->seconds_to_soft >= 60)
    return a->bytes_at_soft / (a->seconds_to_soft / 60);
  uint64_t used = relay_acct_used(a);
  if (a->seconds_active >= 60 && used > 0)
    return used / (a->seconds_active / 60);
  return 0;
}

/* When this interval's relay wakes: early enough that the budget, spent at
 * the expected pace, lasts until the interval's end. */
static void
pick_wakeup(relay_acct_t *a, uint32_t rnd)
{
  a->wakeup = a->interval_start;
  if (!a->expected_usage || !a->max)
    return;
  uint64_t len = (uint64_t)(a->interval_end - a->interval_start);
  uint64_t minutes = a->max / a->expected_usage;
  if (minutes >= len / 60)
    return;                       /* the budget lasts the whole interval */
  uint64_t window = len - minutes * 60;
  a->wakeup = a->interval_start + (time_t)(rnd % window);
}

static void
begin_interval(relay_acct_t *a, time_t now, uint32_t rnd)
{
  a->interval_start = relay_acct_interval_start(&a->start, now);
  a->interval_end = relay_acct_next_start(&a->start, a->interval_start);
  a->n_read = a->n_written = 0;
  a->seconds_active = 0;
  a->soft_hit_at = 0;
  a->bytes_at_soft = a->seconds_to_soft = 0;
  pick_wakeup(a, rnd);
  a->state = now < a->wakeup ? RELAY_HIB_HARD : RELAY_HIB_AWAKE;
}

void
relay_acct_init(relay_acct_t *a, uint64_t max, relay_acct_rule_t rule,
                const relay_acct_start_t *st, time_t now, uint32_t rnd)
{
  memset(a, 0, sizeof(*a));
  a->max = max;
  a->rule = rule;
  a->start = *st;
  begin_interval(a, now, rnd);
}

relay_acct_event_t
relay_acct_tick(relay_acct_t *a, time_t now, uint64_t seconds, uint32_t rnd)
{
  relay_hib_state_t was = a->state;
  if (now >= a->interval_end || now < a->interval_start) {
    uint64_t u = usage_of(a);
    if (u)
      a->expected_usage = u;
    begin_interval(a, now, rnd);
    if (a->state == RELAY_HIB_HARD)
      return RELAY_ACCT_EV_SLEEP;
    return was != RELAY_HIB_AWAKE ? RELAY_ACCT_EV_WAKE : RELAY_ACCT_EV_NONE;
  }
  uint64_t used = relay_acct_used(a);
  if (a->state == RELAY_HIB_HARD) {
    if (now >= a->wakeup && used < relay_acct_soft_limit(a)) {
      a->state = RELAY_HIB_AWAKE;
      return RELAY_ACCT_EV_WAKE;
    }
    return RELAY_ACCT_EV_NONE;
  }
  a->seconds_active += seconds;
  if (a->state == RELAY_HIB_SOFT && used < relay_acct_soft_limit(a)) {
    a->state = RELAY_HIB_AWAKE;   /* AccountingMax was raised */
    return RELAY_ACCT_EV_WAKE;
  }
  if (a->state == RELAY_HIB_AWAKE && used >= relay_acct_soft_limit(a)) {
    a->state = RELAY_HIB_SOFT;
    a->soft_hit_at = now;
    a->bytes_at_soft = used;
    a->seconds_to_soft = a->seconds_active;
  }
  if (used >= a->max) {
    a->state = RELAY_HIB_HARD;
    a->wakeup = a->interval_end;
    return RELAY_ACCT_EV_HARD;
  }
  return a->state != was ? RELAY_ACCT_EV_SOFT : RELAY_ACCT_EV_NONE;
}

/* ---- the state file ---- */

char *
relay_acct_state_encode(const relay_acct_t *a)
{
  char start[20], soft[20];
  civil_format_iso(a->interval_start, ' ', start);
  civil_format_iso(a->soft_hit_at, ' ', soft);
  char *s = al_asprintf(
      "AccountingBytesReadInInterval %" PRIu64 "\n"
      "AccountingBytesWrittenInInterval %" PRIu64 "\n"
      "AccountingExpectedUsage %" PRIu64 "\n"
      "AccountingIntervalStart %s\n"
      "AccountingSecondsActive %" PRIu64 "\n"
      "AccountingSecondsToReachSoftLimit %" PRIu64 "\n",
      a->n_read, a->n_written, a->expected_usage, start, a->seconds_active,
      a->seconds_to_soft);
  if (a->soft_hit_at) {
    char *t = al_asprintf("%sAccountingSoftLimitHitAt %s\n"
                          "AccountingBytesAtSoftLimit %" PRIu64 "\n", s, soft,
                          a->bytes_at_soft);
    al_free(s);
    s = t;
  }
  return s;
}

static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
  if (len == 0 || len > 20)
    return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    unsigned dgt = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - dgt) / 10)
      return -1;
    v = v * 10 + dgt;
  }
  *out = v;
  return 0;
}

enum { K_READ, K_WRITTEN, K_EXPECTED, K_START, K_ACTIVE, K_TO_SOFT,
       K_SOFT_AT, K_AT_SOFT, K_N };

static const char *const KEYS[K_N] = {
  "AccountingBytesReadInInterval", "AccountingBytesWrittenInInterval",
  "AccountingExpectedUsage", "AccountingIntervalStart",
  "AccountingSecondsActive", "AccountingSecondsToReachSoftLimit",
  "AccountingSoftLimitHitAt", "AccountingBytesAtSoftLimit",
};

/* One "Key value" line into v[] / have[]: 0, 1 (not ours), or -1. */
static int
load_line(const char *p, size_t len, uint64_t v[K_N], bool have[K_N])
{
  if (len < 10 || strncmp(p, "Accounting", 10))
    return 1;
  size_t kl = 0;
  while (kl < len && p[kl] != ' ' && p[kl] != '\t')
    kl++;
  int k = -1;
  for (int i = 0; i < K_N; i++)
    if (strlen(KEYS[i]) == kl && !strncmp(p, KEYS[i], kl))
      k = i;
  if (k < 0)
    return -1;
  const char *val = p + kl;
  size_t vl = len - kl;
  while (vl && (*val == ' ' || *val == '\t')) {
    val++;
    vl--;
  }
  while (vl && (val[vl - 1] == ' ' || val[vl - 1] == '\t' || val[vl - 1] == '\r'))
    vl--;
  if (k == K_START || k == K_SOFT_AT) {
    char buf[20];
    time_t t;
    if (vl != 19)
      return -1;
    memcpy(buf, val, 19);
    buf[19] = 0;
    if (civil_parse_iso(buf, ' ', &t) < 0)
      return -1;
    v[k] = (uint64_t)t;
  } else if (parse_u64(val, vl, &v[k]) < 0) {
    return -1;
  }
  have[k] = true;
  return 0;
}

/* The loaded numbers into a (see relay_acct_state_load()). */
static void
apply_loaded(relay_acct_t *a, const uint64_t v[K_N], const bool have[K_N],
             time_t now, uint32_t rnd)
{
  if (have[K_EXPECTED])
    a->expected_usage = v[K_EXPECTED];
  relay_acct_t old = *a;
  old.n_read = have[K_READ] ? v[K_READ] : 0;
  old.n_written = have[K_WRITTEN] ? v[K_WRITTEN] : 0;
  old.seconds_active = have[K_ACTIVE] ? v[K_ACTIVE] : 0;
  old.seconds_to_soft = have[K_TO_SOFT] ? v[K_TO_SOFT] : 0;
  old.soft_hit_at = have[K_SOFT_AT] ? (time_t)v[K_SOFT_AT] : 0;
  old.bytes_at_soft = have[K_AT_SOFT] ? v[K_AT_SOFT] : 0;
  if (!have[K_START])
    return;
  time_t st = (time_t)v[K_START];
  if (st == a->interval_start) {
    /* This interval: go on counting.  A relay that was awake in it stays
     * awake; one that never was sleeps until a fresh wakeup point. */
    a->n_read = old.n_read;
    a->n_written = old.n_written;
    a->seconds_active = old.seconds_active;
    a->seconds_to_soft = old.seconds_to_soft;
    a->soft_hit_at = old.soft_hit_at;
    a->bytes_at_soft = old.bytes_at_soft;
    if (a->seconds_active)
      a->wakeup = a->interval_start;
    else
      pick_wakeup(a, rnd);
  } else if (st < a->interval_start) {
    uint64_t u = usage_of(&old);   /* an earlier interval: its pace only */
    if (u)
      a->expected_usage = u;
    pick_wakeup(a, rnd);
  } else {
    return;                        /* from the future: counts ignored */
  }
  a->state = now < a->wakeup ? RELAY_HIB_HARD : RELAY_HIB_AWAKE;
  if (a->state == RELAY_HIB_AWAKE && a->soft_hit_at)
    a->state = RELAY_HIB_SOFT;    /* the soft limit was reached already */
}

int
relay_acct_state_load(relay_acct_t *a, const char *text, time_t now,
                      uint32_t rnd)
{
  uint64_t v[K_N] = { 0 };
  bool have[K_N] = { false };
  int bad = 0;
  for (const char *p = text; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (load_line(p, len, v, have) < 0)
      bad++;
    p = eol ? eol + 1 : NULL;
  }
  apply_loaded(a, v, have, now, rnd);
  return bad;
}
