/* bench_crypto.c -- rough throughput of the circuit crypto: relay cell
 * crypto (tor-spec 5.5 / 6.1), a middle relay's in-place cell path
 * (circ_relay_process_cell(), with heap allocations counted), create-cell
 * answers (onion_server_answer(): ntor, ntor v3, CREATE_FAST; tor-spec
 * 5.1.4, 5.1.5, proposal 332) on one core and on the worker pool
 * (onion_workers.h), Ed25519 and X25519.  Each figure runs for about one
 * second (ALLIUM_BENCH_SECONDS overrides); nothing is asserted.
 * Usage: bench-crypto [seconds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_relay_path.h"

#include "allium/core/circuit/relay_crypto.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/malloc/malloc.h"

static double bench_seconds = 1.0;

static double
now_sec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void (*bench_fn)(void *arg);

/* Run fn in batches until bench_seconds have passed; return ops/s. */
static double
run(bench_fn fn, void *arg, unsigned batch)
{
  double start = now_sec(), elapsed;
  unsigned long long ops = 0;
  do {
    for (unsigned i = 0; i < batch; i++)
      fn(arg);
    ops += batch;
    elapsed = now_sec() - start;
  } while (elapsed < bench_seconds);
  return (double)ops / elapsed;
}

static void
report_cells(const char *what, double per_sec)
{
  printf("%-44s %12.0f cells/s %9.1f MB/s\n", what, per_sec,
         per_sec * RELAY_PAYLOAD_LEN / 1e6);
}

static void
report_ops(const char *what, double per_sec)
{
  printf("%-44s %12.0f ops/s\n", what, per_sec);
}

/* ---- relay crypto ---- */

typedef struct relay_bench_t {
  relay_crypto_t *hops[3];
  uint8_t cell[RELAY_PAYLOAD_LEN];
} relay_bench_t;

static void
do_origin_encrypt(void *arg)
{
  relay_bench_t *b = arg;
  relay_crypto_origin_encrypt(b->hops, 3, 2, b->cell);
}

static void
do_relay_decrypt(void *arg)
{
  relay_bench_t *b = arg;
  (void)relay_crypto_relay_decrypt(b->hops[0], b->cell);
}

static void
bench_relay(void)
{
  relay_bench_t b;
  uint8_t keys[72];
  for (int i = 0; i < 3; i++) {
    crypto_rand(keys, sizeof(keys));
    b.hops[i] = relay_crypto_new(RELAY_CRYPTO_TOR1, keys, sizeof(keys), 0);
  }
  crypto_rand(b.cell, sizeof(b.cell));
  report_cells("relay crypto: originator encrypt, 3 hops", run(do_origin_encrypt, &b, 256));
  report_cells("relay crypto: relay decrypt 1 layer (pass on)", run(do_relay_decrypt, &b, 256));
  for (int i = 0; i < 3; i++)
    relay_crypto_free(b.hops[i]);
}

/* ---- handshakes ---- */

typedef struct ntor_bench_t {
  x25519_keypair_t b;
  uint8_t id[32];
  uint8_t skin[NTOR_ONIONSKIN_LEN];
  uint8_t *skin3;
  size_t skin3_len;
} ntor_bench_t;

static void
do_ntor_server(void *arg)
{
  ntor_bench_t *n = arg;
  uint8_t reply[NTOR_REPLY_LEN], keys[72];
  if (ntor_server_respond(reply, keys, sizeof(keys), n->skin, n->id, &n->b, NULL) < 0)
    abort();
}

static void
do_ntor3_server(void *arg)
{
  ntor_bench_t *n = arg;
  ntor3_server_state_t *st = NULL;
  uint8_t *msg = NULL, *reply = NULL, keys[72];
  size_t msg_len, reply_len;
  static const uint8_t sm[] = { 0x02, 0x00 };
  if (ntor3_server_process(&st, &msg, &msg_len, n->skin3, n->skin3_len, n->id, &n->b,
                           (const uint8_t *)NTOR3_CIRC_VERIFICATION,
                           strlen(NTOR3_CIRC_VERIFICATION)) < 0 ||
      ntor3_server_reply(st, sm, sizeof(sm), NULL, &reply, &reply_len, keys,
                         sizeof(keys)) < 0)
    abort();
  al_free(msg);
  al_free(reply);
  ntor3_server_state_free(st);
}

static void
bench_handshakes(void)
{
  ntor_bench_t n;
  ntor_client_state_t *cst = NULL;
  ntor3_client_state_t *c3 = NULL;
  static const uint8_t cm[] = { 0x02, 0x00 };

  x25519_keypair_generate(&n.b);
  crypto_rand(n.id, sizeof(n.id));
  if (ntor_client_create(&cst, n.skin, n.id, n.b.pub) < 0 ||
      ntor3_client_create(&c3, &n.skin3, &n.skin3_len, n.id, n.b.pub,
                          (const uint8_t *)NTOR3_CIRC_VERIFICATION,
                          strlen(NTOR3_CIRC_VERIFICATION), cm, sizeof(cm), NULL) < 0)
    abort();
  report_ops("ntor server handshakes", run(do_ntor_server, &n, 16));
  report_ops("ntor v3 server handshakes", run(do_ntor3_server, &n, 16));
  ntor_client_state_free(cst);
  ntor3_client_state_free(c3);
  al_free(n.skin3);
}

/* ---- public key primitives ---- */

typedef struct pk_bench_t {
  ed25519_keypair_t kp;
  uint8_t msg[64], sig[ED25519_SIG_LEN];
  x25519_keypair_t x;
  uint8_t peer[32], out[32];
} pk_bench_t;

static void
do_ed_sign(void *arg)
{
  pk_bench_t *p = arg;
  ed25519_sign(p->sig, p->msg, sizeof(p->msg), &p->kp);
}

static void
do_ed_verify(void *arg)
{
  pk_bench_t *p = arg;
  if (ed25519_verify(p->sig, p->msg, sizeof(p->msg), &p->kp.pub) < 0)
    abort();
}

static void
do_x25519(void *arg)
{
  pk_bench_t *p = arg;
  x25519_scalarmult(p->out, p->x.sec, p->peer);
}

static void
bench_pk(void)
{
  pk_bench_t p;
  x25519_keypair_t peer;
  ed25519_keypair_generate(&p.kp);
  crypto_rand(p.msg, sizeof(p.msg));
  ed25519_sign(p.sig, p.msg, sizeof(p.msg), &p.kp);
  x25519_keypair_generate(&p.x);
  x25519_keypair_generate(&peer);
  memcpy(p.peer, peer.pub, 32);
  report_ops("ed25519 sign", run(do_ed_sign, &p, 32));
  report_ops("ed25519 verify", run(do_ed_verify, &p, 32));
  report_ops("x25519 scalar multiplication", run(do_x25519, &p, 32));
  ed25519_keypair_wipe(&p.kp);
}

int
main(int argc, char **argv)
{
  const char *env = getenv("ALLIUM_BENCH_SECONDS");
  if (argc > 1)
    env = argv[1];
  if (env && atof(env) > 0)
    bench_seconds = atof(env);
  if (crypto_global_init() < 0) {
    fprintf(stderr, "crypto init failed\n");
    return 1;
  }
  printf("allium crypto benchmark (%.1f s per figure)\n", bench_seconds);
  bench_relay();
  bench_relay_path(bench_seconds);
  bench_handshakes();
  bench_answers(bench_seconds);
  bench_workers(bench_seconds);
  bench_pk();
  return 0;
}
