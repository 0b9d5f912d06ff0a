/* test_onion_workers.c -- create cells answered on worker threads and
 * delivered on a libevent loop (onion_workers.c over workqueue.c): ntor,
 * ntor v3 and CREATE_FAST answers become relay circuits the client can
 * finish; failures carry their DESTROY reason; a flood drops the oldest
 * requests with RESOURCELIMIT; cancel and shutdown are clean. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_workers.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"

static onion_server_keys_t K;

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  memset(&K, 0, sizeof(K));
  crypto_rand(K.rsa_id, sizeof(K.rsa_id));
  crypto_rand(K.ed_id, sizeof(K.ed_id));
  K.has_ed_id = true;
  cr_assert_eq(x25519_keypair_generate(&K.ntor), 0);
}

TestSuite(onion_workers, .init = setup);

#define NREQ 40

typedef struct req_t {
  struct event_base *base;
  int *outstanding;
  ntor_client_state_t *st;
  int result;
  uint8_t reason;
  int calls;
  bool client_ok;
} req_t;

static void
done_cb(void *ctx, int result, onion_answer_t *ans)
{
  req_t *r = ctx;
  r->calls++;
  r->result = result;
  r->reason = ans->destroy_reason;
  if (result == 0) {
    circ_relay_t *c = circ_relay_new_answered(ans);
    circ_cell_t cell;
    cr_assert_not_null(c);
    cr_assert_eq(circ_relay_next_cell(c, &cell), 1);
    cr_assert_eq(cell.dir, CIRC_DIR_PREV);
    if (r->st) {
      cell_created2_t cd;
      uint8_t k[72];
      cr_assert_eq(cell.command, CELL_CREATED2);
      cr_assert_eq(cell_created2_decode(&cd, cell.payload, CELL_PAYLOAD_LEN),
                   0);
      r->client_ok = ntor_client_finish(r->st, cd.hdata, k, sizeof(k)) == 0 &&
                     crypto_memeq(k, ans->keys, sizeof(k));
    } else {
      r->client_ok = cell.command == CELL_CREATED_FAST;
    }
    circ_relay_free(c);
  }
  if (--*r->outstanding == 0)
    event_base_loopexit(r->base, NULL);
}

static void
run_loop(struct event_base *base)
{
  struct timeval limit = { 20, 0 };
  event_base_loopexit(base, &limit);
  event_base_dispatch(base);
}

Test(onion_workers, answers_on_the_loop)
{
  struct event_base *base = event_base_new();
  onion_workers_cfg_t cfg = { .base = base, .n_threads = 2 };
  onion_workers_t *w = onion_workers_new(&cfg, &K);
  cr_assert_not_null(w);
  static req_t reqs[NREQ];
  int outstanding = NREQ;
  uint8_t p[CELL_PAYLOAD_LEN];
  for (int i = 0; i < NREQ; i++) {
    req_t *r = &reqs[i];
    memset(r, 0, sizeof(*r));
    r->base = base;
    r->outstanding = &outstanding;
    memset(p, 0, sizeof(p));
    uint8_t cmd = CELL_CREATE2;
    if (i % 10 == 9) {          /* CREATE_FAST */
      cmd = CELL_CREATE_FAST;
      crypto_rand(p, 20);
    } else if (i % 10 == 8) {   /* TAP: refused */
      cmd = CELL_CREATE;
    } else {
      uint8_t skin[NTOR_ONIONSKIN_LEN];
      size_t n;
      cr_assert_eq(ntor_client_create(&r->st, skin, K.rsa_id, K.ntor.pub), 0);
      cell_create2_t c2 = { CELL_HTYPE_NTOR, sizeof(skin), skin };
      cr_assert_eq(cell_create2_encode(&c2, p, sizeof(p), &n), 0);
    }
    cr_assert_not_null(onion_workers_submit(w, cmd, p, sizeof(p), done_cb, r));
  }
  run_loop(base);
  cr_assert_eq(outstanding, 0);
  for (int i = 0; i < NREQ; i++) {
    req_t *r = &reqs[i];
    cr_assert_eq(r->calls, 1);
    if (i % 10 == 8) {
      cr_assert_eq(r->result, ONION_ERR_REFUSED);
      cr_assert_eq(r->reason, CELL_DESTROY_PROTOCOL);
    } else {
      cr_assert_eq(r->result, 0, "request %d", i);
      cr_assert(r->client_ok, "request %d", i);
    }
    ntor_client_state_free(r->st);
  }
  onion_workers_stats_t st;
  onion_workers_get_stats(w, &st);
  cr_assert_eq(st.answered, NREQ - NREQ / 10);
  cr_assert_eq(st.failed, NREQ / 10);
  cr_assert_eq(st.n_threads, 2);
  onion_workers_free(w);
  event_base_free(base);
}

Test(onion_workers, flood_drops_oldest_with_resourcelimit)
{
  enum { FLOOD = 400 };
  struct event_base *base = event_base_new();
  onion_workers_cfg_t cfg = { .base = base, .n_threads = 1,
                              .max_pending = 4 };
  onion_workers_t *w = onion_workers_new(&cfg, &K);
  static req_t reqs[FLOOD];
  int outstanding = FLOOD;
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  crypto_rand(p, 20);
  for (int i = 0; i < FLOOD; i++) {
    memset(&reqs[i], 0, sizeof(reqs[i]));
    reqs[i].base = base;
    reqs[i].outstanding = &outstanding;
    onion_workers_submit(w, CELL_CREATE_FAST, p, sizeof(p), done_cb,
                         &reqs[i]);
  }
  run_loop(base);
  cr_assert_eq(outstanding, 0);
  int dropped = 0, ok = 0;
  for (int i = 0; i < FLOOD; i++) {
    cr_assert_eq(reqs[i].calls, 1);
    if (reqs[i].result == ONION_ERR_BUSY) {
      cr_assert_eq(reqs[i].reason, CELL_DESTROY_RESOURCELIMIT);
      dropped++;
    } else {
      cr_assert_eq(reqs[i].result, 0);
      ok++;
    }
  }
  /* The newest requests always survive; at most 4 + 1 wait or run. */
  cr_assert_eq(reqs[FLOOD - 1].result, 0);
  cr_assert_gt(dropped, 0);
  onion_workers_stats_t st;
  onion_workers_get_stats(w, &st);
  cr_assert_eq(st.dropped, (uint64_t)dropped);
  cr_assert_eq(st.answered, (uint64_t)ok);
  cr_assert_leq(st.pending_max, 4);
  onion_workers_free(w);
  event_base_free(base);
}

Test(onion_workers, cancel_and_shutdown)
{
  enum { N = 50 };
  struct event_base *base = event_base_new();
  onion_workers_cfg_t cfg = { .base = base, .n_threads = 1 };
  onion_workers_t *w = onion_workers_new(&cfg, &K);
  static req_t reqs[N];
  onion_request_t *h[N];
  int outstanding = N;
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  for (int i = 0; i < N; i++) {
    memset(&reqs[i], 0, sizeof(reqs[i]));
    reqs[i].base = base;
    reqs[i].outstanding = &outstanding;
    h[i] = onion_workers_submit(w, CELL_CREATE_FAST, p, sizeof(p), done_cb,
                                &reqs[i]);
    cr_assert_not_null(h[i]);
  }
  /* Whatever state each is in (pending, running, answered), a cancelled
   * request's callback never runs. */
  for (int i = 0; i < N; i += 2)
    onion_workers_cancel(w, h[i]);
  onion_server_keys_t k2 = K;
  cr_assert_eq(x25519_keypair_generate(&k2.ntor), 0);
  onion_workers_set_keys(w, &k2);       /* rotation with jobs in flight */
  onion_workers_free(w);                /* the rest get their callback */
  for (int i = 0; i < N; i++)
    cr_assert_eq(reqs[i].calls, i % 2 ? 1 : 0, "request %d", i);
  for (int i = 1; i < N; i += 2)
    cr_assert(reqs[i].result == 0 || reqs[i].result == ONION_ERR_BUSY);
  event_base_free(base);
}
