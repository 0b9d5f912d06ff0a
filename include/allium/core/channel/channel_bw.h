/* channel_bw.h -- the relay's bandwidth budget on its channels (tor(1)
 * BandwidthRate / BandwidthBurst, RelayBandwidthRate / RelayBandwidthBurst,
 * TokenBucketRefillInterval): one read and one write token bucket for every
 * channel, and, when RelayBandwidthRate is set, a second pair that relayed
 * traffic (channels a relay accepted or opened as a relay; not the client
 * role's own channels) spends as well.  Buckets refill every refill
 * interval; a channel that finds a bucket empty stops reading (or writing)
 * until the next refill, and the refill wakes the waiting channels in the
 * order they stopped, each taking a share of the bucket, so that one busy
 * channel cannot starve the others.
 *
 * With no limit below the defaults (1 GByte/s) the buckets are off: the
 * channel I/O path then only counts bytes (two additions per read or
 * write), which AccountingMax uses.  Process-wide, like tor's. */
#ifndef ALLIUM_CORE_CHANNEL_CHANNEL_BW_H
#define ALLIUM_CORE_CHANNEL_CHANNEL_BW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/** tor's default BandwidthRate and BandwidthBurst (1 GByte). */
#define CHANNEL_BW_DEFAULT ((uint64_t)1 << 30)
/** tor's default TokenBucketRefillInterval (msec). */
#define CHANNEL_BW_REFILL_MSEC 100

typedef struct channel_bw_cfg_t {
  uint64_t rate, burst;             /**< BandwidthRate / BandwidthBurst */
  uint64_t relay_rate, relay_burst; /**< RelayBandwidth*; 0: no relay bucket */
  uint32_t refill_msec;             /**< 0: CHANNEL_BW_REFILL_MSEC */
} channel_bw_cfg_t;

typedef struct channel_bw_stats_t {
  bool limited;                     /**< buckets on */
  uint64_t bytes_read, bytes_written;           /**< every channel */
  uint64_t relay_bytes_read, relay_bytes_written;
  uint64_t read_emptied, write_emptied;         /**< global bucket ran dry */
  uint64_t relay_read_emptied, relay_write_emptied;
  uint64_t reads_blocked, writes_blocked;       /**< channel pauses */
  /* other sockets (channel_bw_sock_t), also in bytes_read/bytes_written */
  uint64_t other_bytes_read, other_bytes_written;
  uint64_t other_reads_blocked, other_writes_blocked;
} channel_bw_stats_t;

/** True when cfg sets no limit below the defaults (buckets stay off). */
bool channel_bw_cfg_unlimited(const channel_bw_cfg_t *cfg);
/** Apply cfg (NULL: no limit) on base's loop: at start and on SIGHUP.
 * Buckets keep their level across changes (clamped to a new burst).
 * 0 or -1 (the refill timer could not start: no limit applied). */
int channel_bw_configure(struct event_base *base, const channel_bw_cfg_t *cfg);
/** Stop the refill timer and wake every waiting channel (at exit). */
void channel_bw_shutdown(void);
/** Counters since start. */
void channel_bw_get_stats(channel_bw_stats_t *out);

/* ---- Other sockets: an exit's connections to its destinations.  They
 * spend the global buckets (tor(1) BandwidthRate: all of this node's
 * traffic) but not RelayBandwidthRate's (relayed traffic only), and their
 * bytes count in bytes_read / bytes_written (AccountingMax). ---- */

typedef struct channel_bw_sock_t channel_bw_sock_t;
/** Called from the refill (or when limits are lifted) for a socket that
 * found a bucket empty: reading 1 for the read bucket, 0 for write. */
typedef void (*channel_bw_resume_fn)(void *arg, int reading);
channel_bw_sock_t *channel_bw_sock_new(channel_bw_resume_fn resume,
                                       void *arg);
/** Leaves the waiting lists (no resume after); accepts NULL. */
void channel_bw_sock_free_(channel_bw_sock_t *s);
#define channel_bw_sock_free(s) \
  do { channel_bw_sock_free_(s); (s) = NULL; } while (0)
/** Bytes s may read (write) now, at most want: want itself with no limit;
 * 0 when the bucket is empty, and resume(arg, 1) (or (arg, 0)) comes with
 * the next refill. */
size_t channel_bw_sock_read_allow(channel_bw_sock_t *s, size_t want);
size_t channel_bw_sock_write_allow(channel_bw_sock_t *s, size_t want);
/** n bytes were read (written) on such a socket. */
void channel_bw_sock_read_done(size_t n);
void channel_bw_sock_write_done(size_t n);

#endif
