/* test_fdlimit.c -- unit tests for src/lib/fs/fdlimit.c: raising the soft
 * RLIMIT_NOFILE, the ConnLimit minimum, the reserve / application cap
 * split and the listener pause schedule. */
#include <criterion/criterion.h>

#include <sys/resource.h>

#include "allium/lib/fs/fdlimit.h"

Test(fdlimit, raises_soft_to_hard)
{
  struct rlimit rl;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 200)
    cr_skip_test("hard limit too low to test");
  /* Criterion runs each test in its own process: lowering is local. */
  struct rlimit low = { 100, rl.rlim_max };
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  fdlimit_t fl;
  cr_assert_eq(fdlimit_raise(50, 1u << 20, &fl), FDLIMIT_OK);
  cr_assert_eq(fl.old_soft, 100);
  struct rlimit now;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
  if (rl.rlim_max == RLIM_INFINITY)
    cr_assert_eq(fl.limit, 1u << 20);
  else
    cr_assert_eq(fl.limit, (uint64_t)rl.rlim_max);
  cr_assert_eq((uint64_t)now.rlim_cur, fl.limit);
}

Test(fdlimit, below_connlimit_is_refused)
{
  struct rlimit rl;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  /* Lower the hard limit too (allowed without privileges). */
  struct rlimit low = { 64, 64 };
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  fdlimit_t fl;
  cr_assert_eq(fdlimit_raise(1000, 1u << 20, &fl), FDLIMIT_ERR_TOO_LOW);
  cr_assert_eq(fl.limit, 64);
  cr_assert_eq(fl.hard, 64);
  cr_assert_eq(fdlimit_raise(64, 1u << 20, &fl), FDLIMIT_OK);
  cr_assert_str_eq(fdlimit_strerror(FDLIMIT_ERR_TOO_LOW),
                   "descriptor limit below ConnLimit");
  cr_assert_str_eq(fdlimit_strerror(12345), "unknown error");
}

Test(fdlimit, reserve_and_app_cap)
{
  /* 1024: 32 misc + 128 for channels/dir fetches. */
  cr_assert_eq(fdlimit_reserve(1024), 160);
  cr_assert_eq(fdlimit_app_cap(1024), 864);
  /* Small limits keep the minimum channel reserve. */
  cr_assert_eq(fdlimit_reserve(256), 32 + 64);
  cr_assert_eq(fdlimit_app_cap(256), 160);
  /* Degenerate limits never give a zero or wrapped cap. */
  cr_assert_eq(fdlimit_app_cap(0), 1);
  cr_assert_eq(fdlimit_app_cap(1), 1);
  cr_assert_eq(fdlimit_app_cap(10), 1);
  cr_assert_eq(fdlimit_reserve(10), 9);
  cr_assert_eq(fdlimit_app_cap(UINT64_MAX),
               UINT64_MAX - 32 - UINT64_MAX / 8);
}

Test(fdlimit, pause_backoff)
{
  cr_assert_eq(fdlimit_pause_next(0), 100);
  cr_assert_eq(fdlimit_pause_next(100), 200);
  cr_assert_eq(fdlimit_pause_next(200), 400);
  cr_assert_eq(fdlimit_pause_next(400), 800);
  cr_assert_eq(fdlimit_pause_next(800), 1000);
  cr_assert_eq(fdlimit_pause_next(1000), 1000);
  cr_assert_eq(fdlimit_pause_next(UINT32_MAX), 1000);
}
