/* fdlimit.c -- the file-descriptor budget: RLIMIT_NOFILE raised to the
 * hard limit, checked against tor(1) ConnLimit ("the minimum number of
 * file descriptors that must be available ... If this number is less than
 * ConnLimit, then Tor will refuse to start"), a reserve for channels and
 * directory fetches, the cap on application connections, and the pause
 * schedule for a listener that hit EMFILE/ENFILE. */
#include "allium/lib/fs/fdlimit.h"

#include <errno.h>
#include <sys/resource.h>

int
fdlimit_raise(uint64_t min_required, uint64_t cap_unlimited, fdlimit_t *out)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return FDLIMIT_ERR_GETRLIMIT;
  out->old_soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX
                                               : (uint64_t)rl.rlim_cur;
  out->hard = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX
                                           : (uint64_t)rl.rlim_max;
  out->limit = out->old_soft;
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY)
    want = (rlim_t)cap_unlimited;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < want) {
    struct rlimit nrl = { want, rl.rlim_max };
    if (setrlimit(RLIMIT_NOFILE, &nrl) == 0)
      out->limit = (uint64_t)want;
  }
  if (out->limit > cap_unlimited)
    out->limit = cap_unlimited;   /* what we budget with */
  if (out->limit < min_required)
    return FDLIMIT_ERR_TOO_LOW;
  return FDLIMIT_OK;
}

uint64_t
fdlimit_reserve(uint64_t limit)
{
  uint64_t chan = limit / 8;
  if (chan < FDLIMIT_CHANNEL_RESERVE_MIN)
    chan = FDLIMIT_CHANNEL_RESERVE_MIN;
  uint64_t r = FDLIMIT_MISC_RESERVE + chan;
  if (limit == 0)
    return 0;
  if (r > limit - 1)
    r = limit - 1;
  return r;
}

uint64_t
fdlimit_app_cap(uint64_t limit)
{
  if (limit <= 1)
    return 1;
  uint64_t cap = limit - fdlimit_reserve(limit);
  return cap ? cap : 1;
}

uint32_t
fdlimit_pause_next(uint32_t prev_msec)
{
  if (prev_msec < FDLIMIT_PAUSE_MIN_MSEC)
    return FDLIMIT_PAUSE_MIN_MSEC;
  if (prev_msec >= FDLIMIT_PAUSE_MAX_MSEC / 2)
    return FDLIMIT_PAUSE_MAX_MSEC;
  return prev_msec * 2;
}

const char *
fdlimit_strerror(int err)
{
  switch (err) {
  case FDLIMIT_OK: return "no error";
  case FDLIMIT_ERR_GETRLIMIT: return "cannot read the descriptor limit";
  case FDLIMIT_ERR_TOO_LOW: return "descriptor limit below ConnLimit";
  default: return "unknown error";
  }
}
