/* relay_mem.c -- the MaxMemInQueues accounting (tor(1) MaxMemInQueues;
 * dos-spec: a relay or client under memory pressure frees the queues
 * holding the oldest data first).  A single counter, updated in O(1) by
 * every queue that stores stream or cell bytes; the OOM pass itself lives
 * with the owner of the circuits (core/mainloop/origin_channels.c).
 * See include/allium/core/stream/relay_mem.h. */
#include "allium/core/stream/relay_mem.h"
#include "allium/lib/evloop/evloop.h"

#include <unistd.h>

static uint64_t mem_total;
static uint64_t mem_limit;
static int oom_signalled;
static relay_mem_oom_fn oom_fn;
static void *oom_arg;
static struct {
  relay_mem_oom_fn fn;
  void *arg;
} extra_cbs[RELAY_MEM_MAX_EXTRA_CBS];
static uint64_t (*mem_clock)(void);

void
relay_mem_set_limit(uint64_t bytes)
{
  mem_limit = bytes;
  oom_signalled = 0;
}

uint64_t
relay_mem_limit(void)
{
  return mem_limit;
}

uint64_t
relay_mem_total(void)
{
  return mem_total;
}

int
relay_mem_over_limit(void)
{
  return mem_limit && mem_total > mem_limit;
}

void
relay_mem_add(size_t n)
{
  mem_total += n;
  if (!relay_mem_over_limit() || oom_signalled)
    return;
  oom_signalled = 1;
  if (oom_fn)
    oom_fn(oom_arg);
  for (int i = 0; i < RELAY_MEM_MAX_EXTRA_CBS; i++)
    if (extra_cbs[i].fn)
      extra_cbs[i].fn(extra_cbs[i].arg);
}

int
relay_mem_add_oom_cb(relay_mem_oom_fn fn, void *arg)
{
  for (int i = 0; i < RELAY_MEM_MAX_EXTRA_CBS; i++)
    if (!extra_cbs[i].fn) {
      extra_cbs[i].fn = fn;
      extra_cbs[i].arg = arg;
      oom_signalled = 0;
      return 0;
    }
  return -1;
}

void
relay_mem_remove_oom_cb(relay_mem_oom_fn fn, void *arg)
{
  for (int i = 0; i < RELAY_MEM_MAX_EXTRA_CBS; i++)
    if (extra_cbs[i].fn == fn && extra_cbs[i].arg == arg)
      extra_cbs[i].fn = NULL, extra_cbs[i].arg = NULL;
}

void
relay_mem_sub(size_t n)
{
  mem_total = n > mem_total ? 0 : mem_total - n;
  if (!relay_mem_over_limit())
    oom_signalled = 0;
}

uint64_t
relay_mem_to_free(void)
{
  if (!relay_mem_over_limit())
    return 0;
  uint64_t target = mem_limit - mem_limit / 10;
  return mem_total - target;
}

void
relay_mem_set_oom_cb(relay_mem_oom_fn fn, void *arg)
{
  oom_fn = fn;
  oom_arg = arg;
  oom_signalled = 0;
}

void *
relay_mem_oom_arg(void)
{
  return oom_arg;
}

uint64_t
relay_mem_now_msec(void)
{
  return mem_clock ? mem_clock() : evloop_monotonic_msec();
}

void
relay_mem_set_clock(uint64_t (*now_msec)(void))
{
  mem_clock = now_msec;
}

uint64_t
relay_mem_default_limit(uint64_t ram)
{
  int wide = sizeof(void *) >= 8;
  uint64_t max = wide ? 8 * RELAY_MEM_GIB : 2 * RELAY_MEM_GIB;
  if (ram == 0)
    return wide ? 8 * RELAY_MEM_GIB : RELAY_MEM_GIB;
  uint64_t want;
  if (wide && ram >= 8 * RELAY_MEM_GIB)
    want = ram / 5 * 2;        /* 40% */
  else
    want = ram / 4 * 3;        /* 75% */
  if (want > max)
    return max;
  if (want < RELAY_MEM_MIN_LIMIT)
    return RELAY_MEM_MIN_LIMIT;
  return want;
}

uint64_t
relay_mem_physical_ram(void)
{
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || psize <= 0)
    return 0;
  return (uint64_t)pages * (uint64_t)psize;
}

uint64_t
relay_mem_limit_for_option(uint64_t configured, int *raised)
{
  if (raised)
    *raised = 0;
  if (configured == 0)
    return relay_mem_default_limit(relay_mem_physical_ram());
  if (configured < RELAY_MEM_MIN_LIMIT) {
    if (raised)
      *raised = 1;
    return RELAY_MEM_MIN_LIMIT;
  }
  return configured;
}
