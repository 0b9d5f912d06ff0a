/* fdlimit.h -- the process's file-descriptor budget (tor(1) ConnLimit):
 * raise the soft RLIMIT_NOFILE to the hard limit at start, check it
 * against a required minimum, and split it into a reserve (log files,
 * listeners, channels, directory fetches) and a cap on application
 * connections. */
#ifndef ALLIUM_LIB_FS_FDLIMIT_H
#define ALLIUM_LIB_FS_FDLIMIT_H

#include <stdint.h>

/** Descriptors kept for everything that is not a channel or a directory
 * fetch: log files, listeners, the state file, libevent's own. */
#define FDLIMIT_MISC_RESERVE 32
/** At least this many more are kept for channels and directory fetches. */
#define FDLIMIT_CHANNEL_RESERVE_MIN 64

typedef struct fdlimit_t {
  uint64_t old_soft;       /* soft limit found at start */
  uint64_t limit;          /* soft limit now in force */
  uint64_t hard;           /* hard limit (UINT64_MAX: unlimited) */
} fdlimit_t;

typedef enum fdlimit_err_t {
  FDLIMIT_OK = 0,
  FDLIMIT_ERR_GETRLIMIT = -1,   /* the limit could not be read */
  FDLIMIT_ERR_TOO_LOW = -2,     /* below the required minimum (ConnLimit) */
} fdlimit_err_t;

/** Raise the soft RLIMIT_NOFILE as far as the hard limit allows (an
 * unlimited hard limit is capped at cap_unlimited) and fill *out.  Then
 * compare the result with min_required (ConnLimit).  FDLIMIT_OK, or an
 * fdlimit_err_t; *out is filled whenever the limit could be read.  A
 * failed raise keeps the old soft limit (not an error by itself). */
int fdlimit_raise(uint64_t min_required, uint64_t cap_unlimited,
                  fdlimit_t *out);

/** Descriptors kept back from application connections when the limit is
 * limit: FDLIMIT_MISC_RESERVE plus limit/8 (at least
 * FDLIMIT_CHANNEL_RESERVE_MIN) for channels and directory fetches.  Never
 * more than limit - 1. */
uint64_t fdlimit_reserve(uint64_t limit);
/** Most application (SOCKS / HTTP CONNECT) connections for limit (>= 1). */
uint64_t fdlimit_app_cap(uint64_t limit);

/** Listener back-off after EMFILE/ENFILE: the pause after prev_msec (0:
 * first error), doubling from FDLIMIT_PAUSE_MIN_MSEC to
 * FDLIMIT_PAUSE_MAX_MSEC. */
#define FDLIMIT_PAUSE_MIN_MSEC 100
#define FDLIMIT_PAUSE_MAX_MSEC 1000
uint32_t fdlimit_pause_next(uint32_t prev_msec);

const char *fdlimit_strerror(int err);

#endif
