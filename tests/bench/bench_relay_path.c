/* bench_relay_path.c -- relay-side rows of bench-crypto:
 *   - a middle relay's cell path: circ_relay_process_cell() on an extended
 *     circuit, forward (decrypt + recognized check) and backward (encrypt),
 *     in place, with the heap allocations per cell counted (tor-spec 5.5);
 *   - create-cell answers on one core: onion_server_answer() for ntor,
 *     ntor v3 (with CC_REQUEST) and CREATE_FAST (tor-spec 5.1.4, 5.1.5,
 *     proposal 332);
 *   - the same answers through the onion worker pool on a libevent loop,
 *     with 1 thread and with one per online core.
 */
#include "config.h"

#include "bench_relay_path.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/cell/relay_msg.h"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/core/onion/onion_server.h"
#include "allium/core/onion/onion_workers.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/workqueue.h"
#include "allium/lib/malloc/malloc.h"

/* Count heap allocations (glibc: forward to the real allocator).  Not with
 * the sanitizers, which bring their own malloc. */
static atomic_ulong n_allocs;
#if defined(__GLIBC__) && !defined(ALLIUM_SANITIZERS) && !defined(ALLIUM_FUZZING)
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void *
malloc(size_t n)
{
  atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
  return __libc_malloc(n);
}
void *
calloc(size_t a, size_t b)
{
  atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
  return __libc_calloc(a, b);
}
void *
realloc(void *p, size_t n)
{
  atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
  return __libc_realloc(p, n);
}
#endif

static double
clock_sec(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_sec(void)
{
  return clock_sec(CLOCK_MONOTONIC);
}

/* CPU seconds of this thread: the per-core figures hold on a busy
 * machine too. */
static double
cpu_sec(void)
{
  return clock_sec(CLOCK_THREAD_CPUTIME_ID);
}

/* ---- middle relay cell path ---- */

/* A relay circuit in the EXTENDED state, from fixed key material. */
static circ_relay_t *
extended_circuit(void)
{
  onion_answer_t ans;
  memset(&ans, 0, sizeof(ans));
  ans.command = CELL_CREATED2;
  ans.htype = CELL_HTYPE_NTOR;
  crypto_rand(ans.keys, sizeof(ans.keys));
  circ_relay_t *c = circ_relay_new_answered(&ans);
  relay_crypto_t *cli = relay_crypto_new(RELAY_CRYPTO_TOR1, ans.keys,
                                         sizeof(ans.keys), 0);
  circ_cell_t out;
  circ_event_t ev;
  (void)circ_relay_next_cell(c, &out);            /* CREATED2 */
  relay_extend2_t *m = calloc(1, sizeof(*m));
  uint8_t hs[84], body[RELAY_BODY_MAX], cell[CELL_PAYLOAD_LEN];
  size_t n;
  crypto_rand(hs, sizeof(hs));
  m->spec[0].type = RELAY_LSPEC_IPV4;
  m->spec[0].len = 6;
  m->spec[0].u.ipv4.addr[0] = 127;
  m->spec[0].u.ipv4.port = 9001;
  m->spec[1].type = RELAY_LSPEC_LEGACY_ID;
  m->spec[1].len = 20;
  m->n_spec = 2;
  m->htype = CELL_HTYPE_NTOR;
  m->hlen = sizeof(hs);
  m->hdata = hs;
  relay_header_t h = { .command = RELAY_EXTEND2 };
  int dir;
  if (relay_extend2_encode(m, body, sizeof(body), &n) < 0 ||
      relay_cell_pack(cell, &h, body, n, crypto_rand) < 0 ||
      relay_crypto_origin_encrypt(&cli, 1, 0, cell) < 0 ||
      circ_relay_process_cell(c, CIRC_DIR_PREV, CELL_RELAY_EARLY, cell,
                              &dir) != 0 ||
      !circ_relay_next_event(c, &ev) || ev.type != CIRC_EV_EXTEND_REQUEST)
    abort();
  cell_created2_t cd = { 64, hs };
  memset(cell, 0, sizeof(cell));
  if (cell_created2_encode(&cd, cell, sizeof(cell), &n) < 0 ||
      circ_relay_process_cell(c, CIRC_DIR_NEXT, CELL_CREATED2, cell,
                              &dir) != 0 ||
      circ_relay_state(c) != CIRC_RELAY_EXTENDED)
    abort();
  while (circ_relay_next_cell(c, &out))
    ;                                               /* EXTENDED2 */
  free(m);
  relay_crypto_free(cli);
  return c;
}

static void
path_row(const char *what, circ_relay_t *c, int from_dir, double seconds)
{
  uint8_t cell[CELL_PAYLOAD_LEN];
  unsigned long long cells = 0, passed = 0;
  crypto_rand(cell, sizeof(cell));
  unsigned long a0 = atomic_load(&n_allocs);
  double start = now_sec(), cpu0 = cpu_sec(), el;
  do {
    for (int i = 0; i < 4096; i++) {
      int dir;
      if (circ_relay_process_cell(c, from_dir, CELL_RELAY, cell, &dir) == 1)
        passed++;
    }
    cells += 4096;
    el = now_sec() - start;
  } while (el < seconds);
  double cpu = cpu_sec() - cpu0;
  unsigned long allocs = atomic_load(&n_allocs) - a0;
  printf("%-44s %12.0f cells/s %9.1f MB/s  %.0f cells/CPU-s", what,
         cells / el, cells / el * CELL_PAYLOAD_LEN / 1e6, cells / cpu);
#ifdef COUNT_ALLOCS
  printf("  %.4f allocs/cell", (double)allocs / (double)cells);
#else
  (void)allocs;
#endif
  printf("%s\n", passed == cells ? "" : "  (some cells not passed on!)");
}

void
bench_relay_path(double seconds)
{
  circ_relay_t *c = extended_circuit();
  path_row("middle relay: forward cell in place", c, CIRC_DIR_PREV, seconds);
  path_row("middle relay: backward cell in place", c, CIRC_DIR_NEXT,
           seconds);
  circ_relay_free(c);
}

/* ---- create-cell answers ---- */

typedef struct answer_set_t {
  onion_server_keys_t keys;
  uint8_t ntor[CELL_PAYLOAD_LEN];
  uint8_t ntor3[CELL_PAYLOAD_LEN];
  uint8_t fast[CELL_PAYLOAD_LEN];
} answer_set_t;

static void
answer_set_init(answer_set_t *s)
{
  static const uint8_t ver[] = NTOR3_CIRC_VERIFICATION;
  static const uint8_t cm[] = { 1, ONION_EXT_CC_REQUEST, 0 };
  ntor_client_state_t *st = NULL;
  ntor3_client_state_t *st3 = NULL;
  uint8_t skin[NTOR_ONIONSKIN_LEN], *skin3 = NULL;
  size_t skin3_len, n;
  memset(s, 0, sizeof(*s));
  crypto_rand(s->keys.rsa_id, 20);
  crypto_rand(s->keys.ed_id, 32);
  s->keys.has_ed_id = true;
  x25519_keypair_generate(&s->keys.ntor);
  if (ntor_client_create(&st, skin, s->keys.rsa_id, s->keys.ntor.pub) < 0 ||
      ntor3_client_create(&st3, &skin3, &skin3_len, s->keys.ed_id,
                          s->keys.ntor.pub, ver, sizeof(ver) - 1, cm,
                          sizeof(cm), NULL) < 0)
    abort();
  cell_create2_t c2 = { CELL_HTYPE_NTOR, sizeof(skin), skin };
  cell_create2_t c3 = { CELL_HTYPE_NTOR_V3, (uint16_t)skin3_len, skin3 };
  if (cell_create2_encode(&c2, s->ntor, sizeof(s->ntor), &n) < 0 ||
      cell_create2_encode(&c3, s->ntor3, sizeof(s->ntor3), &n) < 0)
    abort();
  crypto_rand(s->fast, 20);
  ntor_client_state_free(st);
  ntor3_client_state_free(st3);
  al_free(skin3);
}

static void
answer_row(const char *what, const answer_set_t *s, uint8_t cmd,
           const uint8_t *p, double seconds)
{
  onion_answer_t a;
  unsigned long long ops = 0;
  unsigned long a0 = atomic_load(&n_allocs);
  double start = now_sec(), cpu0 = cpu_sec(), el;
  do {
    for (int i = 0; i < 16; i++)
      if (onion_server_answer(&a, &s->keys, NULL, cmd, p,
                              CELL_PAYLOAD_LEN) < 0)
        abort();
    ops += 16;
    el = now_sec() - start;
  } while (el < seconds);
  double cpu = cpu_sec() - cpu0;
  unsigned long allocs = atomic_load(&n_allocs) - a0;
  printf("%-44s %12.0f ops/s  %.0f ops/CPU-s", what, ops / el, ops / cpu);
#ifdef COUNT_ALLOCS
  printf("  %.1f allocs/op", (double)allocs / (double)ops);
#else
  (void)allocs;
#endif
  printf("\n");
}

void
bench_answers(double seconds)
{
  answer_set_t s;
  answer_set_init(&s);
  answer_row("create answer, 1 core: ntor", &s, CELL_CREATE2, s.ntor,
             seconds);
  answer_row("create answer, 1 core: ntor v3 + CC_REQUEST", &s, CELL_CREATE2,
             s.ntor3, seconds);
  answer_row("create answer, 1 core: CREATE_FAST", &s, CELL_CREATE_FAST,
             s.fast, seconds);
}

/* ---- the worker pool ---- */

typedef struct pool_run_t {
  onion_workers_t *w;
  struct event_base *base;
  const uint8_t *payload;
  uint8_t cmd;
  double deadline;
  unsigned long long done, failed, outstanding;
  int stopping;
} pool_run_t;

static void pool_done(void *ctx, int result, onion_answer_t *ans);

static void
pool_submit(pool_run_t *r)
{
  if (onion_workers_submit(r->w, r->cmd, r->payload, CELL_PAYLOAD_LEN,
                           pool_done, r))
    r->outstanding++;
}

static void
pool_done(void *ctx, int result, onion_answer_t *ans)
{
  pool_run_t *r = ctx;
  (void)ans;
  r->outstanding--;
  if (result == 0)
    r->done++;
  else
    r->failed++;
  if (!r->stopping && now_sec() >= r->deadline) {
    r->stopping = 1;
    event_base_loopbreak(r->base);
  }
  if (!r->stopping)
    pool_submit(r);
}

static void
pool_row(const char *what, unsigned threads, uint8_t cmd, const uint8_t *p,
         const onion_server_keys_t *keys, double seconds)
{
  pool_run_t r;
  memset(&r, 0, sizeof(r));
  r.base = event_base_new();
  onion_workers_cfg_t cfg = { .base = r.base, .n_threads = threads };
  r.w = onion_workers_new(&cfg, keys);
  r.cmd = cmd;
  r.payload = p;
  double start = now_sec(), cpu0 = clock_sec(CLOCK_PROCESS_CPUTIME_ID);
  r.deadline = start + seconds;
  for (int i = 0; i < 256; i++)     /* keep the workers busy */
    pool_submit(&r);
  event_base_dispatch(r.base);
  double el = now_sec() - start;
  double cpu = clock_sec(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  unsigned n = threads ? threads : workqueue_online_cores();
  printf("%-44s %12.0f ops/s  %.0f ops/CPU-s (%u threads%s)\n", what,
         r.done / el, r.done / cpu, n, r.failed ? ", FAILURES" : "");
  r.stopping = 1;
  onion_workers_free(r.w);
  event_base_free(r.base);
}

void
bench_workers(double seconds)
{
  answer_set_t s;
  answer_set_init(&s);
  pool_row("worker pool: ntor, 1 thread", 1, CELL_CREATE2, s.ntor, &s.keys,
           seconds);
  pool_row("worker pool: ntor, NumCPUs 0", 0, CELL_CREATE2, s.ntor, &s.keys,
           seconds);
  pool_row("worker pool: ntor v3, NumCPUs 0", 0, CELL_CREATE2, s.ntor3,
           &s.keys, seconds);
}
