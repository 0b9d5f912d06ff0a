/* test_rand.c -- sanity checks of the CSPRNG wrappers: output fills the
 * buffer, ranges are respected, small ranges are hit roughly uniformly. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"

Test(rand, bytes_fill_and_differ)
{
  uint8_t a[64], b[64], guard[3];
  memset(a, 0, sizeof(a));
  memset(b, 0, sizeof(b));
  crypto_rand(a, sizeof(a));
  crypto_rand(b, sizeof(b));
  cr_assert(!crypto_is_zero(a, sizeof(a)));
  cr_assert(memcmp(a, b, sizeof(a)) != 0);
  /* n == 0 writes nothing */
  memset(guard, 0x5a, sizeof(guard));
  crypto_rand(guard, 0);
  cr_assert_eq(guard[0], 0x5a);
  /* every byte position gets written (probability of a false failure: 2^-80) */
  uint8_t acc[10] = { 0 };
  for (int r = 0; r < 10; r++) {
    uint8_t t[10];
    crypto_rand(t, sizeof(t));
    for (int i = 0; i < 10; i++)
      acc[i] |= t[i];
  }
  for (int i = 0; i < 10; i++)
    cr_assert_neq(acc[i], 0);
}

Test(rand, uint64_in_range)
{
  static const uint64_t maxes[] = { 1, 2, 3, 7, 1000, (1ULL << 32) + 1,
                                    (1ULL << 63) + 1, UINT64_MAX };
  for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++)
    for (int i = 0; i < 200; i++)
      cr_assert_lt(crypto_rand_uint64(maxes[m]), maxes[m]);
  cr_assert_eq(crypto_rand_uint64(1), 0);
  cr_assert_eq(crypto_rand_uint64(0), 0);
}

Test(rand, uint64_small_range_roughly_uniform)
{
  unsigned counts[3] = { 0 };
  for (int i = 0; i < 3000; i++)
    counts[crypto_rand_uint64(3)]++;
  for (int i = 0; i < 3; i++)
    cr_assert(counts[i] > 800 && counts[i] < 1200, "bucket %d: %u", i, counts[i]);
  /* large range: the top half must be reachable */
  int high = 0;
  for (int i = 0; i < 64; i++)
    high |= crypto_rand_uint64((1ULL << 63) + 1) >= (1ULL << 62);
  cr_assert(high);
}

Test(rand, double_in_unit_interval)
{
  double lo = 1.0, hi = 0.0;
  for (int i = 0; i < 1000; i++) {
    double d = crypto_rand_double();
    cr_assert(d >= 0.0 && d < 1.0);
    if (d < lo)
      lo = d;
    if (d > hi)
      hi = d;
  }
  cr_assert(lo < 0.1 && hi > 0.9);
}
