/* test_relay_mem.c -- MaxMemInQueues accounting (core/stream/relay_mem.c):
 * the O(1) total kept by the stream queues, the once-per-crossing OOM
 * callback, the "oldest queued data" time each stream table reports, what
 * dropping a table's queues frees, and tor's automatic default. */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/core/stream/stream.h"

static uint64_t fake_ms;
static uint64_t
fake_clock(void)
{
  return fake_ms;
}

static int sent;
static bool can_pkg;
static int
fake_send(void *ctx, uint8_t cmd, uint16_t id, const uint8_t *b, size_t n)
{
  (void)ctx; (void)cmd; (void)id; (void)b; (void)n;
  sent++;
  return 0;
}
static bool
fake_can(void *ctx)
{
  (void)ctx;
  return can_pkg;
}

static int oom_calls;
static void
oom_cb(void *arg)
{
  (void)arg;
  oom_calls++;
}

static void
setup(void)
{
  relay_mem_set_clock(fake_clock);
  relay_mem_set_limit(0);
  relay_mem_set_oom_cb(oom_cb, NULL);
  oom_calls = 0;
  sent = 0;
  can_pkg = false;
  fake_ms = 1000;
}

static void
teardown(void)
{
  relay_mem_set_clock(NULL);
  relay_mem_set_oom_cb(NULL, NULL);
  relay_mem_set_limit(0);
}

TestSuite(relay_mem, .init = setup, .fini = teardown);

static relay_streams_t *
mk_table(void)
{
  relay_stream_sender_t s = { fake_send, fake_can, NULL, NULL };
  return relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &s);
}

Test(relay_mem, counter_and_oom_once_per_crossing)
{
  uint64_t base = relay_mem_total();
  relay_mem_set_limit(base + 1000);
  relay_mem_add(600);
  cr_assert_eq(relay_mem_total(), base + 600);
  cr_assert_eq(oom_calls, 0);
  cr_assert_eq(relay_mem_to_free(), 0);
  relay_mem_add(600);               /* crosses */
  cr_assert_eq(oom_calls, 1);
  cr_assert(relay_mem_over_limit());
  /* Must get back under 90% of the limit. */
  cr_assert_eq(relay_mem_to_free(), base + 1200 - (base + 1000 - (base + 1000) / 10));
  relay_mem_add(10);                /* still over: no second call */
  cr_assert_eq(oom_calls, 1);
  relay_mem_sub(810);               /* back under */
  cr_assert_not(relay_mem_over_limit());
  relay_mem_add(700);               /* crosses again */
  cr_assert_eq(oom_calls, 2);
  relay_mem_sub(900);
  relay_mem_sub(UINT32_MAX);        /* never wraps below 0 */
  cr_assert_eq(relay_mem_total(), 0);
  relay_mem_set_limit(0);
  relay_mem_add(1u << 30);          /* no limit: never over */
  cr_assert_not(relay_mem_over_limit());
  cr_assert_eq(oom_calls, 2);
  relay_mem_sub(1u << 30);
}

Test(relay_mem, streams_account_queued_bytes)
{
  uint64_t base = relay_mem_total();
  relay_streams_t *t = mk_table();
  uint16_t a, b;
  cr_assert_eq(relay_stream_begin(t, "example.com", 80, 0, &a), 0);
  cr_assert_eq(relay_stream_begin(t, "example.net", 80, 0, &b), 0);
  uint8_t data[3000];
  memset(data, 'x', sizeof(data));
  uint64_t oldest = 99;
  cr_assert_eq(relay_streams_queued(t, &oldest), 0);
  cr_assert_eq(oldest, 0);
  fake_ms = 5000;
  cr_assert_eq(relay_stream_write(t, b, data, 1000), 0);   /* CONNECTING */
  fake_ms = 7000;
  cr_assert_eq(relay_stream_write(t, a, data, 3000), 0);
  cr_assert_eq(relay_stream_write(t, b, data, 500), 0);
  cr_assert_eq(relay_mem_total(), base + 4500);
  cr_assert_eq(relay_streams_queued(t, &oldest), 4500);
  cr_assert_eq(oldest, 5000);   /* b's first byte, not its latest */
  /* END on a stream not yet open discards its queue. */
  cr_assert_eq(relay_stream_end(t, b, RELAY_END_DONE), 0);
  cr_assert_eq(relay_mem_total(), base + 3000);
  cr_assert_eq(relay_streams_queued(t, &oldest), 3000);
  cr_assert_eq(oldest, 7000);
  cr_assert_eq(relay_streams_drop_queued(t), 3000);
  cr_assert_eq(relay_mem_total(), base);
  cr_assert_eq(relay_streams_queued(t, &oldest), 0);
  cr_assert_eq(relay_stream_write(t, a, data, 200), 0);
  cr_assert_eq(relay_mem_total(), base + 200);
  relay_streams_free(t);         /* freeing gives the bytes back */
  cr_assert_eq(relay_mem_total(), base);
}

Test(relay_mem, packaging_releases_bytes)
{
  uint64_t base = relay_mem_total();
  relay_streams_t *t = mk_table();
  uint16_t a;
  cr_assert_eq(relay_stream_begin(t, "example.com", 80, 0, &a), 0);
  uint8_t data[1200];
  memset(data, 'y', sizeof(data));
  cr_assert_eq(relay_stream_write(t, a, data, sizeof(data)), 0);
  uint8_t connected[8] = { 127, 0, 0, 1, 0, 0, 0, 60 };
  can_pkg = true;
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, a, connected,
                                    sizeof(connected)), 0);
  relay_streams_flush(t);
  cr_assert_geq(sent, 3);          /* BEGIN + DATA cells */
  cr_assert_eq(relay_mem_total(), base);
  uint64_t oldest = 1;
  cr_assert_eq(relay_streams_queued(t, &oldest), 0);
  cr_assert_eq(oldest, 0);
  relay_streams_free(t);
  cr_assert_eq(relay_mem_total(), base);
}

Test(relay_mem, oom_callback_fires_from_a_stream_write)
{
  uint64_t base = relay_mem_total();
  relay_mem_set_limit(base + 4096);
  relay_streams_t *t = mk_table();
  uint16_t a;
  cr_assert_eq(relay_stream_begin(t, "example.com", 80, 0, &a), 0);
  uint8_t data[5000] = { 0 };
  cr_assert_eq(relay_stream_write(t, a, data, 4000), 0);
  cr_assert_eq(oom_calls, 0);
  cr_assert_eq(relay_stream_write(t, a, data, 5000), 0);
  cr_assert_eq(oom_calls, 1);
  relay_streams_free(t);
  cr_assert_not(relay_mem_over_limit());
}

Test(relay_mem, default_limit_like_tor)
{
  if (sizeof(void *) < 8)
    cr_skip_test("64-bit figures");
  const uint64_t G = RELAY_MEM_GIB;
  cr_assert_eq(relay_mem_default_limit(0), 8 * G);          /* unknown */
  cr_assert_eq(relay_mem_default_limit(4 * G), 3 * G);      /* 75% */
  cr_assert_eq(relay_mem_default_limit(16 * G), 16 * G / 5 * 2); /* 40% */
  cr_assert_eq(relay_mem_default_limit(64 * G), 8 * G);     /* capped */
  cr_assert_eq(relay_mem_default_limit(100 * RELAY_MEM_MIB),
               RELAY_MEM_MIN_LIMIT);                        /* floor */
  int raised = 0;
  cr_assert_eq(relay_mem_limit_for_option(64 * 1024, &raised),
               RELAY_MEM_MIN_LIMIT);
  cr_assert_eq(raised, 1);
  cr_assert_eq(relay_mem_limit_for_option(G, &raised), G);
  cr_assert_eq(raised, 0);
  uint64_t ram = relay_mem_physical_ram();
  cr_assert_eq(relay_mem_limit_for_option(0, NULL),
               relay_mem_default_limit(ram));
}
