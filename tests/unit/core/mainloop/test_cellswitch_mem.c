/* test_cellswitch_mem.c -- what an idle relay circuit costs in the cell
 * engine, and that it is given back: a raw peer opens thousands of
 * CREATE_FAST circuits (tor-spec 5.1.5) and keeps them, the heap growth
 * per circuit (cs_circ_t, circ_relay_t with its relay crypto, map entries,
 * circuit id set) is measured with mallinfo2() and must stay under 2 KiB;
 * closing the channel frees them all (DESTROY from that side, tor-spec
 * 5.4), the engine's maps shrink back within a tick and the heap
 * returns to where it was.  glibc only; the byte counts
 * are skipped under ASan, whose allocator mallinfo2() does not see. */
#include <criterion/criterion.h>

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"

#include "core/mainloop/cellswitch_st.h"
#include "core/mainloop/switch_relay.h"

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_COUNTS_RELIABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_COUNTS_RELIABLE 0
#endif
#endif
#ifndef HEAP_COUNTS_RELIABLE
#define HEAP_COUNTS_RELIABLE 1
#endif

/** The budget for one idle relay circuit (tor's is several KiB). */
#define CIRC_BYTES_MAX 2048

static struct event_base *BASE;
static tls_context_t *TLS;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
  TLS = tls_context_new_client();
}

static void teardown(void)
{
  tls_context_free(TLS);
  event_base_free(BASE);
}

TestSuite(cellswitch_mem, .init = setup, .fini = teardown, .timeout = 120);

typedef struct peer_t {
  channel_t *ch;
  int open, closed, n_created_fast, n_destroy;
} peer_t;

static void
peer_open(channel_t *ch, void *arg)
{
  (void)ch;
  ((peer_t *)arg)->open++;
}

static void
peer_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  peer_t *p = arg;
  (void)ch;
  if (cell->command == CELL_CREATED_FAST)
    p->n_created_fast++;
  else if (cell->command == CELL_DESTROY)
    p->n_destroy++;
}

static void
peer_close(channel_t *ch, int reason, const char *why, void *arg)
{
  (void)ch;
  (void)reason;
  (void)why;
  ((peer_t *)arg)->closed++;
}

static void
run_until(const int *flag, int target, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (*flag < target && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static size_t
n_circuits(srelay_t *r)
{
  cellswitch_stats_t s;
  cellswitch_get_stats(srelay_switch(r), &s);
  return s.n_circuits;
}

static size_t
heap_in_use(void)
{
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

static void
peer_connect(peer_t *p, srelay_t *r)
{
  const circ_hop_spec_t *s = srelay_spec(r);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  memcpy(&sin.sin_addr, s->addr[0].u.ipv4.addr, 4);
  sin.sin_port = htons(s->addr[0].u.ipv4.port);
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), s->rsa_id,
                         NULL };
  channel_callbacks_t cbs = { peer_open, peer_cell, peer_close, p };
  p->ch = channel_connect(BASE, TLS, &t, &cbs);
  cr_assert_not_null(p->ch);
  run_until(&p->open, 1, 5000);
  cr_assert_eq(p->open, 1);
}

/* CREATE_FAST on ids first..first+n-1 (the initiator's half); wait for
 * every CREATED_FAST. */
static void
open_circuits(peer_t *p, srelay_t *r, uint32_t first, int n)
{
  uint8_t payload[CELL_PAYLOAD_LEN] = { 0 };
  int want = p->n_created_fast + n;
  for (int i = 0; i < n; i++) {
    crypto_rand(payload, 20);
    cell_t cell = { 0x80000000u | (first + (uint32_t)i), CELL_CREATE_FAST,
                    CELL_PAYLOAD_LEN, payload };
    cr_assert_eq(channel_send_cell(p->ch, &cell), 0);
    if (i % 256 == 255)
      run_until(&p->n_created_fast, want - n + i + 1 - 128, 10000);
  }
  run_until(&p->n_created_fast, want, 30000);
  cr_assert_eq(p->n_created_fast, want);
  cr_assert_eq(p->n_destroy, 0);
  (void)r;
}

Test(cellswitch_mem, idle_relay_circuits_are_small_and_given_back)
{
  enum { WARM = 500, N = 4000 };
  srelay_t *r = srelay_new(BASE, NULL);
  peer_t p = { 0 };
  peer_connect(&p, r);
  /* Warm up buffers, pools and map tables with circuits of their own. */
  open_circuits(&p, r, 1, WARM);
  size_t before = heap_in_use();
  open_circuits(&p, r, 1 + WARM, N);
  cr_assert_eq(n_circuits(r), WARM + N);
  size_t after = heap_in_use();
  size_t per = after > before ? (after - before) / N : 0;
  if (HEAP_COUNTS_RELIABLE)
    fprintf(stderr, "cellswitch_mem: an idle relay circuit costs %zu heap "
            "bytes\n", per);
  else
    fprintf(stderr, "cellswitch_mem: heap bytes not measurable under ASan\n");
  if (HEAP_COUNTS_RELIABLE)
    cr_assert_leq(per, CIRC_BYTES_MAX, "an idle relay circuit costs %zu "
                  "bytes (budget %d)", per, CIRC_BYTES_MAX);
  /* The channel goes: every circuit on it is freed. */
  channel_close(p.ch, CHANNEL_CLOSE_REQUESTED);
  uint64_t end = evloop_monotonic_msec() + 10000;
  while (n_circuits(r) > 0 && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  cr_assert_eq(n_circuits(r), 0);
  /* Within a tick or two the circuit maps shrink back and the heap is
   * trimmed (cs_mem_tick). */
  cellswitch_t *sw = srelay_switch(r);
  cr_assert_geq(hmap_capacity(sw->circ_by_handle), (size_t)(WARM + N));
  end = evloop_monotonic_msec() + 5000;
  cr_assert_geq(sw->mem_peak_circs, (size_t)(WARM + N));
  while (sw->mem_peak_circs > 0 && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  cr_assert_eq(sw->mem_peak_circs, 0, "no memory pass after the flood");
  cr_assert_leq(hmap_capacity(sw->circ_by_handle), 64);
  cr_assert_leq(hmap_capacity(sw->circ_by_id), 64);
  size_t gone = heap_in_use();
  if (HEAP_COUNTS_RELIABLE)
    fprintf(stderr, "cellswitch_mem: heap: %zu before, %zu with %d circuits, "
            "%zu after they closed\n", before, after, N, gone);
  if (HEAP_COUNTS_RELIABLE)
    cr_assert_lt(gone, before + (size_t)N * 64,
                 "heap %zu after close, %zu before", gone, before);
  channel_free(p.ch);
  srelay_free(r);
}
