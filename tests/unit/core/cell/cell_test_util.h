/* cell_test_util.h -- helpers for the cell codec tests: run a decoder on a
 * heap copy of exactly n bytes (so ASan sees any over-read) and check that
 * every strict prefix of a valid encoding is rejected. */
#ifndef ALLIUM_TESTS_CELL_TEST_UTIL_H
#define ALLIUM_TESTS_CELL_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/lib/malloc/malloc.h"

/** A decoder wrapped to "bytes in, result out". */
typedef int (*test_decode_fn)(const uint8_t *p, size_t n);

/** Decode an exact-size heap copy of p[0..n). */
static inline int
test_decode_copy(test_decode_fn fn, const uint8_t *p, size_t n)
{
  uint8_t *copy = al_malloc(n);
  if (n)
    memcpy(copy, p, n);
  int rv = fn(n ? copy : NULL, n);
  al_free(copy);
  return rv;
}

/** Every prefix shorter than n must fail, except lengths listed in ok[]
 * (terminated by SIZE_MAX), which the spec allows as shorter forms. */
static inline void
test_all_truncations_fail(test_decode_fn fn, const uint8_t *p, size_t n,
                          const size_t *ok)
{
  cr_assert_eq(test_decode_copy(fn, p, n), CELL_OK, "full encoding fails");
  for (size_t k = 0; k < n; k++) {
    bool allowed = false;
    for (size_t i = 0; ok && ok[i] != SIZE_MAX; i++)
      allowed |= ok[i] == k;
    int rv = test_decode_copy(fn, p, k);
    if (allowed)
      cr_assert_eq(rv, CELL_OK, "prefix %zu of %zu should decode", k, n);
    else
      cr_assert_lt(rv, 0, "prefix %zu of %zu decoded", k, n);
  }
}

#endif
