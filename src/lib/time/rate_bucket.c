/* rate_bucket.c -- a byte token bucket refilled from a millisecond clock
 * (see rate_bucket.h).  tor(1) BandwidthRate / BandwidthBurst describe the
 * model: the rate is the average, the burst the bucket's size.  All
 * arithmetic saturates: huge rates, bursts, gaps and spends never wrap. */
#include "allium/lib/time/rate_bucket.h"

static uint64_t
clamp(uint64_t v)
{
  return v > RATE_BUCKET_MAX ? RATE_BUCKET_MAX : v;
}

void
rate_bucket_init(rate_bucket_t *b, uint64_t rate, uint64_t burst,
                 uint64_t now_msec)
{
  b->rate = clamp(rate);
  b->burst = clamp(burst);
  b->tokens = (int64_t)b->burst;
  b->last_msec = now_msec;
  b->frac = 0;
}

void
rate_bucket_adjust(rate_bucket_t *b, uint64_t rate, uint64_t burst)
{
  b->rate = clamp(rate);
  b->burst = clamp(burst);
  if (b->tokens > (int64_t)b->burst)
    b->tokens = (int64_t)b->burst;
  if (b->tokens < -(int64_t)b->burst)
    b->tokens = -(int64_t)b->burst;
}

bool
rate_bucket_refill(rate_bucket_t *b, uint64_t now_msec)
{
  bool was_empty = b->tokens <= 0;
  if (now_msec <= b->last_msec)
    return false;
  uint64_t elapsed = now_msec - b->last_msec;
  b->last_msec = now_msec;
  if (b->rate == 0)
    return false;
  /* Room to fill: from the current level (maybe in debt) up to burst. */
  uint64_t room = (uint64_t)((int64_t)b->burst - b->tokens);
  uint64_t add;
  if (elapsed > (UINT64_MAX - 1000) / b->rate) {
    add = room;                 /* a gap long enough to fill anything */
    b->frac = 0;
  } else {
    uint64_t milli = b->rate * elapsed + b->frac;
    add = milli / 1000;
    b->frac = milli % 1000;
  }
  if (add >= room) {
    add = room;
    b->frac = 0;
  }
  b->tokens += (int64_t)add;
  return was_empty && b->tokens > 0;
}

uint64_t
rate_bucket_available(const rate_bucket_t *b)
{
  return b->tokens > 0 ? (uint64_t)b->tokens : 0;
}

bool
rate_bucket_spend(rate_bucket_t *b, uint64_t n)
{
  bool had = b->tokens > 0;
  /* Debt is bounded by one burst: an overdraw larger than that is paid
   * back no longer than the bucket takes to fill. */
  int64_t floor = -(int64_t)b->burst;
  if (n > (uint64_t)(b->tokens - floor))
    b->tokens = floor;
  else
    b->tokens -= (int64_t)n;
  return had && b->tokens <= 0;
}
