/* relay_acct.h -- AccountingMax / AccountingStart / AccountingRule (tor(1)
 * "SERVER OPTIONS") without I/O: the accounting interval from
 * AccountingStart, the bytes counted in it under AccountingRule, the
 * expected usage per minute, the soft limit (stop accepting new circuits
 * and connections, republish with "hibernating 1": dir-spec 2.1.1) and the
 * hard limit (AccountingMax: close everything until the next interval),
 * and the randomized wakeup point within an interval that spreads relays'
 * waking over it.  The caller brings the clock and the random numbers, so
 * every path is testable; the state persists in DataDirectory/state with
 * tor's "Accounting*" keys.
 *
 * Difference from tor: AccountingStart times are UTC, not local time, so
 * an interval never has a daylight-saving jump in it. */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_ACCT_H
#define ALLIUM_FEATURE_RELAY_RELAY_ACCT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef enum relay_acct_rule_t {
  RELAY_ACCT_RULE_MAX = 0,    /**< the larger of bytes read and written */
  RELAY_ACCT_RULE_SUM,        /**< read + written */
  RELAY_ACCT_RULE_IN,         /**< read only */
  RELAY_ACCT_RULE_OUT,        /**< written only */
} relay_acct_rule_t;

typedef enum relay_acct_unit_t {
  RELAY_ACCT_MONTH = 0, RELAY_ACCT_WEEK, RELAY_ACCT_DAY,
} relay_acct_unit_t;

/** A parsed AccountingStart. */
typedef struct relay_acct_start_t {
  relay_acct_unit_t unit;
  int day;            /**< month: 1..28; week: 1 (Monday) .. 7 (Sunday) */
  int hour, minute;
} relay_acct_start_t;

typedef enum relay_hib_state_t {
  RELAY_HIB_AWAKE = 0,
  RELAY_HIB_SOFT,     /**< low on bytes: no new circuits or connections */
  RELAY_HIB_HARD,     /**< out of bytes, or waiting for the wakeup point */
} relay_hib_state_t;

/** A state change relay_acct_tick() reports (RELAY_ACCT_EV_NONE: none). */
typedef enum relay_acct_event_t {
  RELAY_ACCT_EV_NONE = 0,
  RELAY_ACCT_EV_SOFT,       /**< soft limit reached */
  RELAY_ACCT_EV_HARD,       /**< AccountingMax reached */
  RELAY_ACCT_EV_WAKE,       /**< a new interval's wakeup point passed */
  RELAY_ACCT_EV_SLEEP,      /**< a new interval began before its wakeup */
} relay_acct_event_t;

typedef struct relay_acct_t {
  uint64_t max;                   /**< AccountingMax */
  relay_acct_rule_t rule;
  relay_acct_start_t start;
  time_t interval_start, interval_end, wakeup;
  uint64_t n_read, n_written;     /**< in this interval */
  uint64_t seconds_active;        /**< awake (or soft) in this interval */
  uint64_t expected_usage;        /**< bytes per minute awake; 0: unknown */
  time_t soft_hit_at;             /**< 0: not this interval */
  uint64_t bytes_at_soft, seconds_to_soft;
  relay_hib_state_t state;
} relay_acct_t;

/** "max", "sum", "in", "out" (NULL: max).  0 or -1. */
int relay_acct_parse_rule(const char *s, relay_acct_rule_t *out);
/** "day HH:MM", "week D HH:MM", "month D HH:MM" (NULL: month 1 0:00).
 * 0 or -1 with *errmsg (caller frees). */
int relay_acct_parse_start(const char *s, relay_acct_start_t *out,
                           char **errmsg);
/** The start of the interval holding now (the latest start <= now). */
time_t relay_acct_interval_start(const relay_acct_start_t *st, time_t now);
/** The start of the interval after the one that starts at start. */
time_t relay_acct_next_start(const relay_acct_start_t *st, time_t start);

/** Set a up for the interval holding now, awake, nothing counted yet;
 * rnd picks the wakeup point once an expected usage is known. */
void relay_acct_init(relay_acct_t *a, uint64_t max, relay_acct_rule_t rule,
                     const relay_acct_start_t *st, time_t now, uint32_t rnd);
/** Count bytes read and written. */
void relay_acct_add(relay_acct_t *a, uint64_t n_read, uint64_t n_written);
/** Bytes used so far under the rule. */
uint64_t relay_acct_used(const relay_acct_t *a);
/** Where the soft limit is: AccountingMax less the smallest of 5%, 500
 * MiB and three hours of the expected usage. */
uint64_t relay_acct_soft_limit(const relay_acct_t *a);
/** Advance to now (called about once a second; seconds awake since the
 * last call are added to seconds_active); rnd picks a new interval's
 * wakeup point.  Returns the state change, if any. */
relay_acct_event_t relay_acct_tick(relay_acct_t *a, time_t now,
                                   uint64_t seconds, uint32_t rnd);

/** The state file lines (caller frees): AccountingBytesReadInInterval,
 * AccountingBytesWrittenInInterval, AccountingExpectedUsage,
 * AccountingIntervalStart, AccountingSecondsActive,
 * AccountingSecondsToReachSoftLimit, AccountingSoftLimitHitAt,
 * AccountingBytesAtSoftLimit. */
char *relay_acct_state_encode(const relay_acct_t *a);
/** Take the Accounting* lines of a state file's text (other and malformed
 * lines ignored; returns how many Accounting lines were malformed).  Counts
 * from the current interval are kept; those of an earlier interval only
 * give the expected usage.  Call after relay_acct_init(). */
int relay_acct_state_load(relay_acct_t *a, const char *text, time_t now,
                          uint32_t rnd);

#endif
