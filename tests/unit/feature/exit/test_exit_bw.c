/* test_exit_bw.c -- an exit's destination sockets under the bandwidth
 * buckets (tor(1) BandwidthRate / BandwidthBurst bound all of the node's
 * traffic, RelayBandwidthRate / RelayBandwidthBurst only relayed traffic;
 * AccountingMax counts every byte): channel_bw_sock_*() of
 * core/channel/channel_bw.h and their use in exit_stream.c. */
#include <string.h>

#include "allium/core/channel/channel_bw.h"
#include "allium/lib/evloop/evloop.h"

#include "exit_net.h"

TestSuite(exit_bw, .init = exit_net_setup, .fini = exit_net_teardown,
          .timeout = 60);

static int RESUMED[2];

static void on_resume(void *arg, int reading)
{
  (void)arg;
  RESUMED[reading ? 1 : 0]++;
}

static bool resumed_read(void *arg)
{
  (void)arg;
  return RESUMED[1] > 0;
}

Test(exit_bw, socket_spends_global_buckets_not_relay_ones)
{
  channel_bw_cfg_t c = { .rate = 64 * 1024, .burst = 64 * 1024,
                         .relay_rate = 1000, .relay_burst = 1000,
                         .refill_msec = 100 };
  cr_assert_eq(channel_bw_configure(BASE, &c), 0);
  channel_bw_sock_t *s = channel_bw_sock_new(on_resume, NULL);
  /* a share of the global bucket, not bounded by the 1000-byte relay one */
  size_t n = channel_bw_sock_read_allow(s, 1 << 20);
  cr_assert_geq(n, 8192, "allowed %zu", n);
  cr_assert_leq(n, 64 * 1024);
  cr_assert_eq(channel_bw_sock_write_allow(s, 100), 100);
  channel_bw_stats_t before, after;
  channel_bw_get_stats(&before);
  channel_bw_sock_read_done(64 * 1024);     /* empties the read bucket */
  channel_bw_sock_write_done(1000);
  channel_bw_get_stats(&after);
  /* AccountingMax reads bytes_read / bytes_written */
  cr_assert_eq(after.bytes_read - before.bytes_read, 64 * 1024);
  cr_assert_eq(after.bytes_written - before.bytes_written, 1000);
  cr_assert_eq(after.other_bytes_read - before.other_bytes_read, 64 * 1024);
  cr_assert_eq(after.relay_bytes_read, before.relay_bytes_read);
  cr_assert_eq(after.relay_read_emptied, before.relay_read_emptied);
  cr_assert_eq(channel_bw_sock_read_allow(s, 4096), 0, "bucket not empty");
  cr_assert_eq(channel_bw_sock_read_allow(s, 4096), 0);
  channel_bw_get_stats(&after);
  cr_assert_eq(after.other_reads_blocked, 1, "queued twice");
  /* the refill wakes it, once */
  run_until(resumed_read, NULL, 2000);
  cr_assert_eq(RESUMED[1], 1);
  cr_assert_eq(RESUMED[0], 0);
  cr_assert_gt(channel_bw_sock_read_allow(s, 4096), 0);
  /* lifting the limits wakes whoever waits, and allows everything */
  channel_bw_sock_write_done(64 * 1024);
  cr_assert_eq(channel_bw_sock_write_allow(s, 10), 0);
  cr_assert_eq(channel_bw_configure(BASE, NULL), 0);
  cr_assert_eq(RESUMED[0], 1);
  cr_assert_eq(channel_bw_sock_write_allow(s, 1 << 30), 1 << 30);
  channel_bw_sock_free(s);
  cr_assert_null(s);
  channel_bw_sock_free(s);   /* NULL is fine */
}

Test(exit_bw, freed_socket_is_not_woken)
{
  channel_bw_cfg_t c = { .rate = 32 * 1024, .burst = 32 * 1024 };
  cr_assert_eq(channel_bw_configure(BASE, &c), 0);
  channel_bw_sock_t *s = channel_bw_sock_new(on_resume, NULL);
  channel_bw_sock_read_done(32 * 1024);
  cr_assert_eq(channel_bw_sock_read_allow(s, 1), 0);
  channel_bw_sock_free(s);
  uint64_t end = evloop_monotonic_msec() + 300;
  while (evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  channel_bw_shutdown();
  cr_assert_eq(RESUMED[0] + RESUMED[1], 0);
}

/* A download and an upload through the exit under a small BandwidthRate:
 * the exit's socket waits for tokens, the bytes arrive intact, and they
 * are counted as the node's traffic. */
Test(exit_bw, exit_streams_are_rate_limited)
{
  const size_t down = 384 * 1024, up = 128 * 1024;
  const uint64_t rate = 256 * 1024;
  net_t n;
  srv_t s;
  cli_t c = { 0 };
  channel_bw_cfg_t bc = { .rate = rate, .burst = rate, .refill_msec = 100 };
  net_start(&n, "accept 127.0.0.1:*,reject *:*", NULL);
  srv_start(&s, down, true);
  channel_bw_stats_t before, after;
  channel_bw_get_stats(&before);
  cr_assert_eq(channel_bw_configure(BASE, &bc), 0);
  uint64_t t0 = evloop_monotonic_msec();
  c.target = "127.0.0.1";
  c.port = s.port;
  c.to_send = up;
  launch(&c, &n, 3);
  run_until(ended_or_resolved, &c, 40000);
  uint64_t ms = evloop_monotonic_msec() - t0;
  channel_bw_get_stats(&after);
  channel_bw_shutdown();
  cr_assert_eq(c.closed, 0);
  cr_assert_eq(c.end_reason, RELAY_END_DONE);
  cr_assert_eq(c.rx, down, "received %zu", c.rx);
  cr_assert(!c.bad);
  cr_assert_eq(s.rx, up);
  cr_assert(!s.bad);
  cr_assert_eq(after.other_bytes_read - before.other_bytes_read, down);
  cr_assert_eq(after.other_bytes_written - before.other_bytes_written, up);
  exit_stats_t st = net_stats(&n);
  cr_assert_gt(st.bw_waits, 0, "the exit's socket never waited for tokens");
  cr_assert_gt(after.other_reads_blocked - before.other_reads_blocked, 0,
               "the exit never waited to read from its destination");
  /* the exit alone reads `down` bytes from a bucket of `rate` per second
   * that starts full */
  cr_assert_geq(ms + 150, (down - rate) * 1000 / rate, "took %llu ms",
                (unsigned long long)ms);
  cr_log_info("exit under %llu B/s: %llu ms, %llu waits",
              (unsigned long long)rate, (unsigned long long)ms,
              (unsigned long long)st.bw_waits);
  srv_stop(&s);
  net_stop(&n);
}
