/* rate_bucket.h -- a byte token bucket refilled from a millisecond clock:
 * rate bytes per second flow in, at most burst bytes are held.  Spending
 * may overdraw the bucket (a TLS read returns what it returns): the debt is
 * paid back by the next refills, so the long-run average never exceeds the
 * rate.  Pure arithmetic, no clock of its own (the caller passes "now"), so
 * it is usable and testable anywhere.  This is the model tor(1) documents
 * for BandwidthRate / BandwidthBurst: "a token bucket limits the average
 * ... bandwidth usage ... to the specified number of bytes per second";
 * the burst is the bucket's size. */
#ifndef ALLIUM_LIB_TIME_RATE_BUCKET_H
#define ALLIUM_LIB_TIME_RATE_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/** Largest rate or burst a bucket holds (larger values are clamped). */
#define RATE_BUCKET_MAX ((uint64_t)INT64_MAX / 2)

typedef struct rate_bucket_t {
  uint64_t rate;       /**< bytes per second (0: never refills) */
  uint64_t burst;      /**< most tokens held */
  int64_t tokens;      /**< may be negative: spent beyond what was there */
  uint64_t last_msec;  /**< clock of the last refill */
  uint64_t frac;       /**< rate * msec remainder below 1000 (no drift) */
} rate_bucket_t;

/** Set up b full (burst tokens) at time now_msec. */
void rate_bucket_init(rate_bucket_t *b, uint64_t rate, uint64_t burst,
                      uint64_t now_msec);
/** New rate and burst, keeping the tokens (clamped to the new burst). */
void rate_bucket_adjust(rate_bucket_t *b, uint64_t rate, uint64_t burst);
/** Add what flowed in since the last refill (a clock going backwards adds
 * nothing).  Returns true when the bucket went from empty (<= 0) to
 * holding tokens. */
bool rate_bucket_refill(rate_bucket_t *b, uint64_t now_msec);
/** Tokens available now (0 when empty or in debt). */
uint64_t rate_bucket_available(const rate_bucket_t *b);
/** Take n tokens (n may exceed what is there: the bucket goes into debt,
 * bounded by -burst).  Returns true when this emptied the bucket. */
bool rate_bucket_spend(rate_bucket_t *b, uint64_t n);

#endif
