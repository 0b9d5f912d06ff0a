/* test_rate_bucket.c -- the byte token bucket (lib/time/rate_bucket):
 * starts full, refills at rate per second without drift, never holds more
 * than the burst, overdraws into bounded debt, and survives zero, huge and
 * overflowing rates, bursts, gaps and spends, and a clock going back. */
#include <criterion/criterion.h>

#include "allium/lib/time/rate_bucket.h"

Test(rate_bucket, starts_full_and_caps_at_burst)
{
  rate_bucket_t b;
  rate_bucket_init(&b, 1000, 5000, 100);
  cr_assert_eq(rate_bucket_available(&b), 5000);
  cr_assert(!rate_bucket_refill(&b, 10100));   /* 10 s later: still 5000 */
  cr_assert_eq(rate_bucket_available(&b), 5000);
}

Test(rate_bucket, spend_empties_and_refill_restores)
{
  rate_bucket_t b;
  rate_bucket_init(&b, 1000, 2000, 0);
  cr_assert(!rate_bucket_spend(&b, 1500));
  cr_assert_eq(rate_bucket_available(&b), 500);
  cr_assert(rate_bucket_spend(&b, 500));       /* exactly empty */
  cr_assert_eq(rate_bucket_available(&b), 0);
  cr_assert(!rate_bucket_spend(&b, 10));       /* already empty: no edge */
  cr_assert(rate_bucket_refill(&b, 100));      /* 100 ms: +100, -10 debt */
  cr_assert_eq(rate_bucket_available(&b), 90);
  cr_assert(!rate_bucket_refill(&b, 200));     /* not empty before */
  cr_assert_eq(rate_bucket_available(&b), 190);
}

Test(rate_bucket, no_drift_with_small_ticks)
{
  /* 7 bytes/s refilled every millisecond: the remainder carries over, so
   * 10 s give exactly 70 bytes, not 0. */
  rate_bucket_t b;
  rate_bucket_init(&b, 7, 1000, 0);
  rate_bucket_spend(&b, 1000);
  for (uint64_t t = 1; t <= 10000; t++)
    rate_bucket_refill(&b, t);
  cr_assert_eq(rate_bucket_available(&b), 70);
}

Test(rate_bucket, average_rate_over_time)
{
  /* A greedy spender taking everything every 100 ms for 60 s gets the
   * burst once plus rate * 60 s, no more. */
  rate_bucket_t b;
  rate_bucket_init(&b, 1048576, 2097152, 0);
  uint64_t total = 0;
  for (uint64_t t = 0; t <= 60000; t += 100) {
    rate_bucket_refill(&b, t);
    uint64_t n = rate_bucket_available(&b);
    rate_bucket_spend(&b, n);
    total += n;
  }
  cr_assert_eq(total, 2097152 + 60 * 1048576ull);
}

Test(rate_bucket, overdraw_is_debt_bounded_by_burst)
{
  rate_bucket_t b;
  rate_bucket_init(&b, 1000, 1000, 0);
  cr_assert(rate_bucket_spend(&b, 1500));
  cr_assert_eq(b.tokens, -500);
  rate_bucket_refill(&b, 400);                 /* +400: still in debt */
  cr_assert_eq(rate_bucket_available(&b), 0);
  rate_bucket_refill(&b, 600);
  cr_assert_eq(rate_bucket_available(&b), 100);
  rate_bucket_spend(&b, UINT64_MAX);           /* huge: clamps at -burst */
  cr_assert_eq(b.tokens, -1000);
  rate_bucket_refill(&b, 2600);                /* 2 s: -1000 -> +1000 */
  cr_assert_eq(rate_bucket_available(&b), 1000);
}

Test(rate_bucket, zero_rate_and_zero_burst)
{
  rate_bucket_t b;
  rate_bucket_init(&b, 0, 100, 0);
  rate_bucket_spend(&b, 100);
  rate_bucket_refill(&b, 1000000);
  cr_assert_eq(rate_bucket_available(&b), 0);  /* never refills */
  rate_bucket_init(&b, 1000, 0, 0);
  cr_assert_eq(rate_bucket_available(&b), 0);  /* holds nothing */
  rate_bucket_refill(&b, 5000);
  cr_assert_eq(rate_bucket_available(&b), 0);
}

Test(rate_bucket, huge_values_and_gaps_saturate)
{
  rate_bucket_t b;
  rate_bucket_init(&b, UINT64_MAX, UINT64_MAX, 0);
  cr_assert_eq(b.rate, RATE_BUCKET_MAX);
  cr_assert_eq(rate_bucket_available(&b), RATE_BUCKET_MAX);
  rate_bucket_spend(&b, RATE_BUCKET_MAX);
  rate_bucket_refill(&b, 1);                   /* rate * 1 ms, no wrap */
  cr_assert_eq(rate_bucket_available(&b), RATE_BUCKET_MAX / 1000);
  rate_bucket_refill(&b, UINT64_MAX);          /* a gap of ages: full */
  cr_assert_eq(rate_bucket_available(&b), RATE_BUCKET_MAX);
  rate_bucket_init(&b, 1000, 1000, 0);
  rate_bucket_spend(&b, 1000);
  rate_bucket_refill(&b, UINT64_MAX);
  cr_assert_eq(rate_bucket_available(&b), 1000);
}

Test(rate_bucket, clock_going_back_adds_nothing)
{
  rate_bucket_t b;
  rate_bucket_init(&b, 1000, 1000, 5000);
  rate_bucket_spend(&b, 1000);
  cr_assert(!rate_bucket_refill(&b, 4000));
  cr_assert_eq(rate_bucket_available(&b), 0);
  cr_assert_eq(b.last_msec, 5000);
  rate_bucket_refill(&b, 5500);
  cr_assert_eq(rate_bucket_available(&b), 500);
}

Test(rate_bucket, adjust_keeps_tokens_within_new_burst)
{
  rate_bucket_t b;
  rate_bucket_init(&b, 1000, 10000, 0);
  rate_bucket_adjust(&b, 500, 3000);
  cr_assert_eq(rate_bucket_available(&b), 3000);
  rate_bucket_spend(&b, 6000);                 /* debt clamps at -3000 */
  cr_assert_eq(b.tokens, -3000);
  rate_bucket_adjust(&b, 500, 1000);
  cr_assert_eq(b.tokens, -1000);
  rate_bucket_refill(&b, 4000);                /* 500/s * 4 s */
  cr_assert_eq(rate_bucket_available(&b), 1000);
}
