/* stress_onion_workers.c -- a plain (non-criterion) stress run of the
 * onion worker pool for the thread sanitizer: 4 threads, a small queue
 * flooded with CREATE2 cells (drop-oldest), cancels of pending and running
 * requests, key rotations with jobs in flight, and shutdown with requests
 * still queued.  Criterion cannot start under TSan, hence this program; it
 * also runs in `make check`.  Build with CFLAGS=-fsanitize=thread to check
 * for data races (doc/testing.md).  Exit 0 when every request got exactly
 * one answer (or was cancelled) and none failed. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <event2/event.h>
#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_workers.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/workqueue.h"
static int outstanding, ok, busy, bad;
static struct event_base *base;
static onion_workers_t *w;
static uint8_t p[CELL_PAYLOAD_LEN];
static void done(void *ctx, int r, onion_answer_t *a) {
  (void)ctx;
  if (r == 0) { circ_relay_t *c = circ_relay_new_answered(a); circ_relay_free(c); ok++; }
  else if (r == ONION_ERR_BUSY) busy++; else bad++;
  if (--outstanding == 0) event_base_loopbreak(base);
}
int main(void) {
  crypto_global_init();
  onion_server_keys_t k; memset(&k, 0, sizeof k);
  crypto_rand(k.rsa_id, 20); x25519_keypair_generate(&k.ntor);
  ntor_client_state_t *st; uint8_t skin[84]; size_t n;
  ntor_client_create(&st, skin, k.rsa_id, k.ntor.pub);
  cell_create2_t c2 = { 2, 84, skin }; cell_create2_encode(&c2, p, sizeof p, &n);
  base = event_base_new();
  onion_workers_cfg_t cfg = { .base = base, .n_threads = 4, .max_pending = 32 };
  w = onion_workers_new(&cfg, &k);
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 300; i++) {
      onion_request_t *h = onion_workers_submit(w, CELL_CREATE2, p, sizeof p, done, NULL);
      outstanding++;
      if (i % 5 == 0) { onion_workers_cancel(w, h); outstanding--; }
      if (i % 50 == 0) { onion_server_keys_t k2 = k; onion_workers_set_keys(w, &k2); }
    }
    struct timeval tv = { 30, 0 }; event_base_loopexit(base, &tv);
    event_base_dispatch(base);
  }
  for (int i = 0; i < 20; i++) { onion_workers_submit(w, CELL_CREATE2, p, sizeof p, done, NULL); outstanding++; }
  onion_workers_free(w);
  printf("ok=%d busy=%d bad=%d outstanding=%d\n", ok, busy, bad, outstanding);
  event_base_free(base);
  ntor_client_state_free(st);
  return bad != 0 || outstanding != 0;
}
