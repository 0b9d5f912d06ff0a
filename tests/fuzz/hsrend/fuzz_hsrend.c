/* fuzz_hsrend.c -- fuzz target for the client's introduction / rendezvous
 * state machine (src/feature/hs_client/hs_client_rend.c, rend-spec-v3
 * 3.2-4.2): what intro points, rendezvous points and the network can do to
 * it.  The input is a program over a fake circuit layer:
 *   op 0 c        circuit c (index of the launches so far) is built
 *   op 1 c        circuit c closes
 *   op 2 c f cmd n body[n]
 *                 a relay message on c (f & 1: from its last hop)
 *   op 3 t        time advances by t * 250 ms, then tick
 *   op 4 c s      INTRODUCE_ACK with status s on c
 * Checks: done runs at most once and never inside start; after done no
 * circuit is launched, sent on or joined; a joined circuit is the
 * rendezvous one (the first launched or a relaunch) and never closed by
 * the module afterwards; everything is freed (ASan / LSan). */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_CIRCS 64

typedef struct fz_circ_t {
  uint64_t h;
  hs_client_rend_circ_ev_t ev;
  void *arg;
  bool closed;
  bool joined;
  bool rp;   /* launched towards the rendezvous point */
} fz_circ_t;

static struct {
  fz_circ_t c[MAX_CIRCS];
  size_t n;
  uint64_t now;
  int n_done;
  bool in_start;
} W;

static hs_desc_layer2_t *DESC;
static circ_hop_spec_t RP;
static uint8_t SUBCRED[32];
static ed25519_public_key_t SERVICE;

static int
f_launch(void *ctx, const circ_hop_spec_t *last,
         const hs_client_rend_circ_ev_t *ev, void *arg, uint64_t *out)
{
  (void)ctx;
  if (W.n_done || W.n >= MAX_CIRCS)
    abort();   /* nothing after done; bounded launches */
  fz_circ_t *c = &W.c[W.n++];
  memset(c, 0, sizeof(*c));
  c->h = 1000 + W.n;
  c->ev = *ev;
  c->arg = arg;
  c->rp = memcmp(last->rsa_id, RP.rsa_id, 20) == 0;
  *out = c->h;
  return 0;
}

static fz_circ_t *
find(uint64_t h)
{
  for (size_t i = 0; i < W.n; i++)
    if (W.c[i].h == h)
      return &W.c[i];
  abort();
}

static int
f_send(void *ctx, uint64_t h, uint8_t command, const uint8_t *body,
       size_t len)
{
  (void)ctx;
  (void)command;
  (void)body;
  fz_circ_t *c = find(h);
  if (W.n_done || c->closed || len > RELAY_BODY_MAX)
    abort();
  return 0;
}

static int
f_join(void *ctx, uint64_t h, const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
       const cc_params_t *cc, uint8_t sendme_inc)
{
  (void)ctx;
  if (cc || sendme_inc)   /* no CC parameters given: never CC */
    abort();
  (void)keys;
  fz_circ_t *c = find(h);
  if (W.n_done || c->closed || !c->rp || c->joined)
    abort();
  c->joined = true;
  return 0;
}

static void
f_close(void *ctx, uint64_t h)
{
  (void)ctx;
  fz_circ_t *c = find(h);
  if (c->joined)
    abort();   /* the caller's circuit */
  if (c->closed)
    return;
  c->closed = true;
  c->ev.closed(c->arg, c->h);
}

static uint64_t
f_now(void *ctx)
{
  (void)ctx;
  return W.now;
}

static void
on_done(void *arg, int status, uint64_t circ)
{
  (void)arg;
  if (W.in_start || W.n_done++)
    abort();
  if ((status == HS_CLIENT_REND_OK) != (circ != 0))
    abort();
  if (circ && !find(circ)->joined)
    abort();
}

int
fuzz_init(void)
{
  if (crypto_global_init() < 0)
    return -1;
  ed25519_keypair_t signer, auth;
  x25519_keypair_t k;
  if (ed25519_keypair_generate(&signer) < 0)
    return -1;
  DESC = al_calloc(1, sizeof(*DESC));
  DESC->n_intro = 2;
  for (size_t i = 0; i < 2; i++) {
    relay_extend2_t m;
    memset(&m, 0, sizeof(m));
    m.n_spec = 2;
    m.spec[0].type = RELAY_LSPEC_IPV4;
    m.spec[0].u.ipv4.addr[0] = 127;
    m.spec[0].u.ipv4.port = (uint16_t)(5000 + i);
    m.spec[1].type = RELAY_LSPEC_LEGACY_ID;
    memset(m.spec[1].u.legacy_id, (int)i + 1, RELAY_LEGACY_ID_LEN);
    if (x25519_keypair_generate(&k) < 0 ||
        ed25519_keypair_generate(&auth) < 0)
      return -1;
    memcpy(DESC->intro[i].onion_key, k.pub, 32);
    memcpy(DESC->intro[i].enc_key, k.pub, 32);
    if (hs_desc_intro_point_init(&DESC->intro[i], &m, &auth.pub, &signer,
                                 1700000000, 3600) < 0)
      return -1;
  }
  memset(RP.rsa_id, 0xaa, 20);
  RP.n_addr = 1;
  RP.addr[0].type = RELAY_LSPEC_IPV4;
  RP.addr[0].u.ipv4.addr[0] = 127;
  RP.addr[0].u.ipv4.port = 9;
  if (x25519_keypair_generate(&k) < 0)
    return -1;
  memcpy(RP.ntor_key, k.pub, 32);
  memset(SUBCRED, 7, sizeof(SUBCRED));
  return 0;
}

/* Run the program d[0..len) against r. */
static void
run(hs_client_rend_t *r, const uint8_t *d, size_t len)
{
  size_t i = 0;
  while (i + 2 <= len) {
    uint8_t op = d[i] % 5, a = d[i + 1];
    i += 2;
    fz_circ_t *c = W.n ? &W.c[a % W.n] : NULL;
    if (op == 3) {
      W.now += (uint64_t)a * 250;
      hs_client_rend_tick(r);
    } else if (!c || c->closed || c->joined) {
      continue;   /* events only for live circuits the module owns */
    } else if (op == 0) {
      c->ev.built(c->arg, c->h);
    } else if (op == 1) {
      c->closed = true;
      c->ev.closed(c->arg, c->h);
    } else if (op == 2 && i + 3 <= len) {
      bool last = d[i] & 1;
      uint8_t cmd = d[i + 1], n = d[i + 2];
      i += 3;
      size_t avail = len - i < n ? len - i : n;
      c->ev.relay_msg(c->arg, c->h, last, cmd, d + i, avail);
      i += avail;
    } else if (op == 4 && i + 1 <= len) {
      uint8_t ack[3] = { 0, d[i++], 0 };
      c->ev.relay_msg(c->arg, c->h, true, RELAY_INTRODUCE_ACK, ack, 3);
    }
  }
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  memset(&W, 0, sizeof(W));
  W.now = 1;
  hs_client_rend_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.net = (hs_client_rend_net_t){ f_launch, f_send, f_join, f_close, f_now,
                                    NULL };
  cfg.rp = &RP;
  W.in_start = true;
  hs_client_rend_t *r = hs_client_rend_start(&cfg, &SERVICE, SUBCRED, DESC,
                                             on_done, NULL);
  W.in_start = false;
  if (!r)
    abort();
  run(r, data, len);
  hs_client_rend_free(r);
  return 0;
}
