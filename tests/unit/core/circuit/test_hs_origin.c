/* test_hs_origin.c -- onion-service support of origin circuits:
 *  - KH per hop (tor-spec 5.2.2: the 20 bytes after Df|Db|Kf|Kb) for
 *    CREATE_FAST, ntor and ntor v3, checked against the relay side of the
 *    handshake computed here by hand (onion_ntor / onion_ntor_v3 / KDF-TOR);
 *  - the virtual hs-ntor hop (rend-spec-v3 4.2, 4.2.1): a client and a
 *    service circuit joined through a fake rendezvous point that relays
 *    every cell from one circuit to the other, both directions, SENDMEs,
 *    streams moved to the virtual hop, wrong direction keys, refusals. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/malloc/malloc.h"

#define KEYS92 92

/* A relay we play by hand: identity, onion key, and once answered the
 * relay-side crypto and the whole key material (for the expected KH). */
typedef struct fake_hop_t {
  uint8_t rsa_id[20];
  uint8_t ed_id[32];
  x25519_keypair_t onion;
  uint8_t keys[KEYS92];
  relay_crypto_t *rc;
  circ_hop_spec_t spec;
} fake_hop_t;

static void
fake_hop_init(fake_hop_t *h, uint8_t n)
{
  memset(h, 0, sizeof(*h));
  crypto_rand(h->rsa_id, sizeof(h->rsa_id));
  crypto_rand(h->ed_id, sizeof(h->ed_id));
  cr_assert_eq(x25519_keypair_generate(&h->onion), 0);
  memcpy(h->spec.rsa_id, h->rsa_id, 20);
  memcpy(h->spec.ed_id, h->ed_id, 32);
  h->spec.has_ed_id = true;
  memcpy(h->spec.ntor_key, h->onion.pub, 32);
  h->spec.n_addr = 1;
  h->spec.addr[0].type = RELAY_LSPEC_IPV4;
  h->spec.addr[0].len = 6;
  uint8_t ip[4] = { 127, 0, 0, n };
  memcpy(h->spec.addr[0].u.ipv4.addr, ip, 4);
  h->spec.addr[0].u.ipv4.port = 9001;
}

static void
fake_hop_free(fake_hop_t *h)
{
  relay_crypto_free(h->rc);
  memwipe(h, sizeof(*h));
}

static void
drain_events(circ_origin_t *c)
{
  circ_event_t ev;
  while (circ_origin_next_event(c, &ev) == 1)
    ;
}

/* Answer c's CREATE2 (ntor) as relay h; deliver CREATED2. */
static void
answer_create2(circ_origin_t *c, fake_hop_t *h)
{
  circ_cell_t cell;
  cell_create2_t cr;
  cell_created2_t cd;
  uint8_t reply[NTOR_REPLY_LEN];
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell.command, CELL_CREATE2);
  cr_assert_eq(cell_create2_decode(&cr, cell.payload, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(cr.htype, CELL_HTYPE_NTOR);
  cr_assert_eq(ntor_server_respond(reply, h->keys, sizeof(h->keys), cr.hdata,
                                   h->rsa_id, &h->onion, NULL), 0);
  h->rc = relay_crypto_new(RELAY_CRYPTO_TOR1, h->keys, sizeof(h->keys), 0);
  cr_assert_not_null(h->rc);
  cd.hlen = NTOR_REPLY_LEN;
  cd.hdata = reply;
  cr_assert_eq(cell_created2_encode(&cd, p, sizeof(p), &n), 0);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED2, p), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_OPEN);
}

/* A one-hop circuit to h, built. */
static circ_origin_t *
one_hop(fake_hop_t *h)
{
  circ_origin_t *c = circ_origin_new();
  cr_assert_eq(circ_origin_start(c, &h->spec, 0, 0), 0);
  answer_create2(c, h);
  circ_origin_build_done(c);
  drain_events(c);
  return c;
}

Test(hs_origin, kh_ntor_matches_relay_side)
{
  cr_assert_eq(crypto_global_init(), 0);
  fake_hop_t h;
  fake_hop_init(&h, 1);
  circ_origin_t *c = one_hop(&h);
  uint8_t kh[CIRC_ORIGIN_KH_LEN];
  cr_assert_eq(circ_origin_hop_kh(c, 0, kh), 0);
  cr_assert_arr_eq(kh, h.keys + 72, CIRC_ORIGIN_KH_LEN);
  /* The relay crypto still uses the first 72 bytes: a cell gets through. */
  cr_assert_eq(circ_origin_send(c, 0, RELAY_DROP, 0, NULL, 0), 0);
  circ_cell_t cell;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(relay_crypto_relay_decrypt(h.rc, cell.payload), 1);
  cr_assert_eq(cell.payload[0], RELAY_DROP);
  /* No such hop. */
  cr_assert_eq(circ_origin_hop_kh(c, 1, kh), CIRC_ERR_ARG);
  cr_assert_eq(circ_origin_hop_kh(NULL, 0, kh), CIRC_ERR_ARG);
  cr_assert_not(circ_origin_hop_is_virtual(c, 0));
  /* Two circuits, two KHs. */
  fake_hop_t h2;
  fake_hop_init(&h2, 2);
  circ_origin_t *c2 = one_hop(&h2);
  uint8_t kh2[CIRC_ORIGIN_KH_LEN];
  cr_assert_eq(circ_origin_hop_kh(c2, 0, kh2), 0);
  cr_assert(memcmp(kh, kh2, sizeof(kh)) != 0);
  circ_origin_free(c);
  circ_origin_free(c2);
  fake_hop_free(&h);
  fake_hop_free(&h2);
}

Test(hs_origin, kh_create_fast_matches_kdf_tor)
{
  cr_assert_eq(crypto_global_init(), 0);
  circ_origin_t *c = circ_origin_new();
  cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
  circ_cell_t cell;
  cell_create_fast_t cf;
  cell_created_fast_t cd;
  uint8_t k0[40], k[20 + KEYS92];
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell_create_fast_decode(&cf, cell.payload, CELL_PAYLOAD_LEN),
               0);
  memcpy(k0, cf.x, 20);
  crypto_rand(k0 + 20, 20);
  /* KDF-TOR(X | Y) = check value | Df | Db | Kf | Kb | KH */
  cr_assert_eq(crypto_kdf_tor(k, sizeof(k), k0, sizeof(k0)), 0);
  memcpy(cd.y, k0 + 20, 20);
  memcpy(cd.kh, k, 20);
  cr_assert_eq(cell_created_fast_encode(&cd, p, sizeof(p), &n), 0);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED_FAST, p), 0);
  cr_assert_eq(circ_origin_n_hops(c), 1);
  uint8_t kh[CIRC_ORIGIN_KH_LEN];
  cr_assert_eq(circ_origin_hop_kh(c, 0, kh), 0);
  cr_assert_arr_eq(kh, k + 20 + 72, CIRC_ORIGIN_KH_LEN);
  /* ... and not the check value. */
  cr_assert(memcmp(kh, k, 20) != 0);
  circ_origin_free(c);
}

Test(hs_origin, kh_ntor_v3_hop_matches_relay_side)
{
  cr_assert_eq(crypto_global_init(), 0);
  fake_hop_t h0, h1;
  fake_hop_init(&h0, 1);
  fake_hop_init(&h1, 2);
  circ_origin_t *c = circ_origin_new();
  cr_assert_eq(circ_origin_start(c, &h0.spec, 0, 0), 0);
  answer_create2(c, &h0);
  drain_events(c);
  h1.spec.want_cc = true;   /* ntor v3 with a CC_REQUEST */
  cc_params_default(&h1.spec.cc_params);
  cr_assert_eq(circ_origin_extend(c, &h1.spec), 0);
  circ_cell_t cell;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell.command, CELL_RELAY_EARLY);
  cr_assert_eq(relay_crypto_relay_decrypt(h0.rc, cell.payload), 1);
  relay_header_t rh;
  const uint8_t *body;
  cr_assert_eq(relay_cell_unpack(&rh, &body, cell.payload), 0);
  cr_assert_eq(rh.command, RELAY_EXTEND2);
  relay_extend2_t *m = al_calloc(1, sizeof(*m));
  cr_assert_eq(relay_extend2_decode(m, body, rh.length), 0);
  cr_assert_eq(m->htype, CELL_HTYPE_NTOR_V3);
  ntor3_server_state_t *st = NULL;
  uint8_t *msg = NULL, *reply = NULL;
  size_t msg_len = 0, reply_len = 0;
  const char *ver = NTOR3_CIRC_VERIFICATION;
  cr_assert_eq(ntor3_server_process(&st, &msg, &msg_len, m->hdata, m->hlen,
                                    h1.ed_id, &h1.onion,
                                    (const uint8_t *)ver, strlen(ver)), 0);
  /* No CC_RESPONSE: the hop keeps fixed windows. */
  cr_assert_eq(ntor3_server_reply(st, NULL, 0, NULL, &reply, &reply_len,
                                  h1.keys, sizeof(h1.keys)), 0);
  relay_extended2_t e = { (uint16_t)reply_len, reply };
  uint8_t eb[RELAY_BODY_MAX];
  size_t eb_len;
  cr_assert_eq(relay_extended2_encode(&e, eb, sizeof(eb), &eb_len), 0);
  relay_header_t oh;
  memset(&oh, 0, sizeof(oh));
  oh.command = RELAY_EXTENDED2;
  uint8_t p[CELL_PAYLOAD_LEN];
  cr_assert_eq(relay_cell_pack(p, &oh, eb, eb_len, crypto_rand), 0);
  relay_crypto_relay_originate(h0.rc, p);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_RELAY, p), 0);
  cr_assert_eq(circ_origin_n_hops(c), 2);
  uint8_t kh[CIRC_ORIGIN_KH_LEN];
  cr_assert_eq(circ_origin_hop_kh(c, 1, kh), 0);
  cr_assert_arr_eq(kh, h1.keys + 72, CIRC_ORIGIN_KH_LEN);
  cr_assert_eq(circ_origin_hop_kh(c, 0, kh), 0);
  cr_assert_arr_eq(kh, h0.keys + 72, CIRC_ORIGIN_KH_LEN);
  al_free(msg);
  al_free(reply);
  al_free(m);
  ntor3_server_state_free(st);
  circ_origin_free(c);
  fake_hop_free(&h0);
  fake_hop_free(&h1);
}

/* ---- the virtual hop through a fake rendezvous point ---- */

typedef struct rend_t {
  fake_hop_t rp_c, rp_s;       /* the RP as seen by each circuit */
  circ_origin_t *client, *service;
  uint8_t client_keys[CIRC_ORIGIN_HS_KEYS_LEN];
  uint8_t service_keys[CIRC_ORIGIN_HS_KEYS_LEN];
  int rp_for_us;               /* cells the RP recognized (must stay 0) */
} rend_t;

/* hs-ntor as in rend-spec-v3 3.3.2 / 4.2: both sides' key expansions. */
static void
hs_ntor_both_sides(rend_t *r)
{
  x25519_keypair_t x, b, y;
  uint8_t auth_key[32];
  hs_ntor_rend_keys_t sk, ck;
  cr_assert_eq(x25519_keypair_generate(&x), 0);
  cr_assert_eq(x25519_keypair_generate(&b), 0);
  cr_assert_eq(x25519_keypair_generate(&y), 0);
  crypto_rand(auth_key, sizeof(auth_key));
  cr_assert_eq(hs_ntor_service_rend_keys(&sk, &b, &y, x.pub, auth_key), 0);
  uint8_t info[HS_NTOR_HANDSHAKE_INFO_LEN];
  memcpy(info, y.pub, 32);
  memcpy(info + 32, sk.auth_input_mac, 32);
  cr_assert_eq(hs_ntor_client_rend_keys(&ck, &x, b.pub, auth_key, info), 0);
  cr_assert_eq(hs_ntor_key_expansion(r->client_keys, ck.ntor_key_seed), 0);
  cr_assert_eq(hs_ntor_key_expansion(r->service_keys, sk.ntor_key_seed), 0);
  cr_assert_arr_eq(r->client_keys, r->service_keys, sizeof(r->client_keys));
}

static void
rend_init(rend_t *r)
{
  cr_assert_eq(crypto_global_init(), 0);
  memset(r, 0, sizeof(*r));
  fake_hop_init(&r->rp_c, 9);
  fake_hop_init(&r->rp_s, 9);
  r->client = one_hop(&r->rp_c);
  r->service = one_hop(&r->rp_s);
  hs_ntor_both_sides(r);
}

static void
rend_free(rend_t *r)
{
  circ_origin_free(r->client);
  circ_origin_free(r->service);
  fake_hop_free(&r->rp_c);
  fake_hop_free(&r->rp_s);
}

/* The RP: a cell from one circuit loses that circuit's layer, must not be
 * for the RP itself, gets the other circuit's backward layer and goes down
 * it (rend-spec-v3 4.2 "passes relay cells, unchanged"). */
static size_t
rend_pump(rend_t *r)
{
  size_t moved = 0;
  circ_cell_t cell;
  for (int round = 0; round < 100000; round++) {
    bool any = false;
    if (circ_origin_next_cell(r->client, &cell) == 1) {
      any = true;
      if (cell.command == CELL_RELAY || cell.command == CELL_RELAY_EARLY) {
        if (relay_crypto_relay_decrypt(r->rp_c.rc, cell.payload) == 1) {
          r->rp_for_us++;
        } else {
          relay_crypto_relay_encrypt(r->rp_s.rc, cell.payload);
          cr_assert_eq(circ_origin_handle_cell(r->service, CELL_RELAY,
                                               cell.payload), 0);
          moved++;
        }
      }
    }
    if (circ_origin_next_cell(r->service, &cell) == 1) {
      any = true;
      if (cell.command == CELL_RELAY || cell.command == CELL_RELAY_EARLY) {
        if (relay_crypto_relay_decrypt(r->rp_s.rc, cell.payload) == 1) {
          r->rp_for_us++;
        } else {
          relay_crypto_relay_encrypt(r->rp_c.rc, cell.payload);
          cr_assert_eq(circ_origin_handle_cell(r->client, CELL_RELAY,
                                               cell.payload), 0);
          moved++;
        }
      }
    }
    if (!any)
      break;
  }
  return moved;
}

/* The next RELAY_MSG event of c (others skipped); false if none. */
static bool
next_msg(circ_origin_t *c, circ_event_t *out)
{
  while (circ_origin_next_event(c, out) == 1)
    if (out->type == CIRC_EV_RELAY_MSG)
      return true;
  return false;
}

Test(hs_origin, virtual_hop_both_directions)
{
  rend_t r;
  rend_init(&r);
  cr_assert_eq(circ_origin_add_virtual_hop(r.client, r.client_keys, false),
               0);
  cr_assert_eq(circ_origin_add_virtual_hop(r.service, r.service_keys, true),
               0);
  cr_assert_eq(circ_origin_n_hops(r.client), 2);
  cr_assert(circ_origin_hop_is_virtual(r.client, 1));
  uint8_t kh[CIRC_ORIGIN_KH_LEN];
  cr_assert_eq(circ_origin_hop_kh(r.client, 1, kh), CIRC_ERR_ARG);
  /* client -> service: arrives from the service's virtual hop (1). */
  const uint8_t hello[] = "hello from the client";
  cr_assert_eq(circ_origin_send(r.client, 1, RELAY_DATA, 7, hello,
                                sizeof(hello)), 0);
  cr_assert_eq(rend_pump(&r), 1);
  circ_event_t ev;
  cr_assert(next_msg(r.service, &ev));
  cr_assert_eq(ev.hop, 1);
  cr_assert_eq(ev.command, RELAY_DATA);
  cr_assert_eq(ev.stream_id, 7);
  cr_assert_eq(ev.len, sizeof(hello));
  cr_assert_arr_eq(ev.body, hello, sizeof(hello));
  /* service -> client */
  const uint8_t back[] = "and back from the service";
  cr_assert_eq(circ_origin_send(r.service, 1, RELAY_DATA, 7, back,
                                sizeof(back)), 0);
  cr_assert_eq(rend_pump(&r), 1);
  cr_assert(next_msg(r.client, &ev));
  cr_assert_eq(ev.hop, 1);
  cr_assert_arr_eq(ev.body, back, sizeof(back));
  /* The RP never recognized a cell, nobody closed. */
  cr_assert_eq(r.rp_for_us, 0);
  cr_assert_eq(circ_origin_state(r.client), CIRC_ORIGIN_OPEN);
  cr_assert_eq(circ_origin_state(r.service), CIRC_ORIGIN_OPEN);
  /* The RP hop itself is still addressable from each side. */
  cr_assert_eq(circ_origin_send(r.client, 0, RELAY_DROP, 0, NULL, 0), 0);
  cr_assert_eq(rend_pump(&r), 0);
  cr_assert_eq(r.rp_for_us, 1);
  rend_free(&r);
}

Test(hs_origin, virtual_hop_sendme_windows)
{
  rend_t r;
  rend_init(&r);
  cr_assert_eq(circ_origin_add_virtual_hop(r.client, r.client_keys, false),
               0);
  cr_assert_eq(circ_origin_add_virtual_hop(r.service, r.service_keys, true),
               0);
  /* 1000 DATA cells (a full circuit window) and 1000 more: the service's
   * authenticated SENDMEs (SHA3 digests of the virtual hop) reopen it. */
  uint8_t data[100];
  memset(data, 0x5a, sizeof(data));
  int sent = 0;
  for (int i = 0; i < 2000; i++) {
    int e = circ_origin_send(r.client, 1, RELAY_DATA, 3, data, sizeof(data));
    if (e == CIRC_ERR_WINDOW) {
      rend_pump(&r);
      drain_events(r.service);
      e = circ_origin_send(r.client, 1, RELAY_DATA, 3, data, sizeof(data));
    }
    cr_assert_eq(e, 0, "cell %d: %d", i, e);
    sent++;
    if (i % 50 == 49) {
      rend_pump(&r);
      drain_events(r.service);
    }
  }
  rend_pump(&r);
  cr_assert_eq(sent, 2000);
  cr_assert_eq(circ_origin_state(r.client), CIRC_ORIGIN_OPEN);
  cr_assert_eq(circ_origin_state(r.service), CIRC_ORIGIN_OPEN);
  const relay_flow_t *f = circ_origin_flow(r.client, 1);
  cr_assert_not_null(f);
  rend_free(&r);
}

Test(hs_origin, streams_move_to_the_virtual_hop)
{
  rend_t r;
  rend_init(&r);
  /* As origin_channels does when the build completes. */
  relay_streams_t *t = circ_origin_attach_streams(r.client, 0);
  cr_assert_not_null(t);
  cr_assert_eq(circ_origin_add_virtual_hop(r.client, r.client_keys, false),
               0);
  cr_assert_eq(circ_origin_add_virtual_hop(r.service, r.service_keys, true),
               0);
  uint16_t sid = 0;
  cr_assert_eq(relay_stream_begin(circ_origin_streams(r.client), "hs", 80, 0,
                                  &sid), 0);
  relay_streams_flush(circ_origin_streams(r.client));
  cr_assert_eq(rend_pump(&r), 1);
  circ_event_t ev;
  cr_assert(next_msg(r.service, &ev));
  cr_assert_eq(ev.hop, 1);
  cr_assert_eq(ev.command, RELAY_BEGIN);
  cr_assert_eq(ev.stream_id, sid);
  cr_assert_eq(r.rp_for_us, 0);
  rend_free(&r);
}

Test(hs_origin, wrong_direction_keys_close_the_circuit)
{
  rend_t r;
  rend_init(&r);
  cr_assert_eq(circ_origin_add_virtual_hop(r.client, r.client_keys, false),
               0);
  /* The service forgot to swap Kf/Kb: nothing it receives is recognized. */
  cr_assert_eq(circ_origin_add_virtual_hop(r.service, r.service_keys, false),
               0);
  const uint8_t x[] = "x";
  cr_assert_eq(circ_origin_send(r.client, 1, RELAY_DATA, 1, x, 1), 0);
  rend_pump(&r);
  cr_assert_eq(circ_origin_state(r.service), CIRC_ORIGIN_CLOSED);
  rend_free(&r);
}

Test(hs_origin, tampered_cell_closes_the_circuit)
{
  rend_t r;
  rend_init(&r);
  cr_assert_eq(circ_origin_add_virtual_hop(r.client, r.client_keys, false),
               0);
  cr_assert_eq(circ_origin_add_virtual_hop(r.service, r.service_keys, true),
               0);
  const uint8_t x[] = "payload";
  cr_assert_eq(circ_origin_send(r.client, 1, RELAY_DATA, 1, x, sizeof(x)),
               0);
  circ_cell_t cell;
  cr_assert_eq(circ_origin_next_cell(r.client, &cell), 1);
  cr_assert_eq(relay_crypto_relay_decrypt(r.rp_c.rc, cell.payload), 0);
  cell.payload[200] ^= 1;   /* the RP flips a bit: digest check fails */
  relay_crypto_relay_encrypt(r.rp_s.rc, cell.payload);
  cr_assert_eq(circ_origin_handle_cell(r.service, CELL_RELAY, cell.payload),
               0);
  cr_assert_eq(circ_origin_state(r.service), CIRC_ORIGIN_CLOSED);
  rend_free(&r);
}

Test(hs_origin, add_virtual_hop_refusals)
{
  cr_assert_eq(crypto_global_init(), 0);
  uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN];
  crypto_rand(keys, sizeof(keys));
  circ_origin_t *c = circ_origin_new();
  /* No hop yet. */
  cr_assert_eq(circ_origin_add_virtual_hop(c, keys, false), CIRC_ERR_STATE);
  cr_assert_eq(circ_origin_add_virtual_hop(c, NULL, false), CIRC_ERR_ARG);
  cr_assert_eq(circ_origin_add_virtual_hop(NULL, keys, false), CIRC_ERR_ARG);
  fake_hop_t h, h1;
  fake_hop_init(&h, 1);
  fake_hop_init(&h1, 2);
  cr_assert_eq(circ_origin_start(c, &h.spec, 0, 0), 0);
  /* Handshake pending. */
  cr_assert_eq(circ_origin_add_virtual_hop(c, keys, false), CIRC_ERR_STATE);
  answer_create2(c, &h);
  cr_assert_eq(circ_origin_add_virtual_hop(c, keys, false), 0);
  /* Only one virtual hop, and nothing extends past it. */
  cr_assert_eq(circ_origin_add_virtual_hop(c, keys, false), CIRC_ERR_STATE);
  cr_assert_eq(circ_origin_extend(c, &h1.spec), CIRC_ERR_STATE);
  cr_assert_eq(circ_origin_n_hops(c), 2);
  circ_origin_close(c, 0);
  cr_assert_eq(circ_origin_add_virtual_hop(c, keys, false), CIRC_ERR_STATE);
  circ_origin_free(c);
  fake_hop_free(&h);
  fake_hop_free(&h1);
}

/* rend-spec-v3 messages from a relay hop reach the circuit's owner as
 * CIRC_EV_RELAY_MSG with the hop that sent them (origin_channels passes
 * them to on_relay_msg). */
Test(hs_origin, hs_messages_reach_the_owner)
{
  cr_assert_eq(crypto_global_init(), 0);
  fake_hop_t h;
  fake_hop_init(&h, 1);
  circ_origin_t *c = one_hop(&h);
  const uint8_t cmds[] = { RELAY_INTRO_ESTABLISHED,
                           RELAY_RENDEZVOUS_ESTABLISHED, RELAY_INTRODUCE_ACK,
                           RELAY_RENDEZVOUS2, RELAY_INTRODUCE2 };
  for (size_t i = 0; i < sizeof(cmds); i++) {
    uint8_t body[64];
    memset(body, (int)i + 1, sizeof(body));
    relay_header_t rh;
    memset(&rh, 0, sizeof(rh));
    rh.command = cmds[i];
    uint8_t p[CELL_PAYLOAD_LEN];
    cr_assert_eq(relay_cell_pack(p, &rh, body, sizeof(body), crypto_rand), 0);
    relay_crypto_relay_originate(h.rc, p);
    cr_assert_eq(circ_origin_handle_cell(c, CELL_RELAY, p), 0);
    circ_event_t ev;
    cr_assert(next_msg(c, &ev), "command %u", cmds[i]);
    cr_assert_eq(ev.command, cmds[i]);
    cr_assert_eq(ev.hop, 0);
    cr_assert_eq(ev.len, sizeof(body));
    cr_assert_arr_eq(ev.body, body, sizeof(body));
  }
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_OPEN);
  circ_origin_free(c);
  fake_hop_free(&h);
}

/* ---- congestion control on the virtual hop (proposal 324 9) ---- */

/* Both ends joined with congestion control, SENDME increment inc. */
static void
rend_join_cc(rend_t *r, uint8_t inc)
{
  cc_params_t p;
  cc_params_load_onion(&p, NULL, NULL);
  cr_assert_eq(circ_origin_add_virtual_hop_cc(r->client, r->client_keys,
                                              false, &p, inc), 0);
  cr_assert_eq(circ_origin_add_virtual_hop_cc(r->service, r->service_keys,
                                              true, &p, inc), 0);
  cr_assert_not_null(circ_origin_cc(r->client, 1));
  cr_assert_not_null(circ_origin_cc(r->service, 1));
  cr_assert_null(circ_origin_cc(r->client, 0));
}

/* Send DATA from the client until the window closes; how many went. */
static int
fill_window(rend_t *r)
{
  uint8_t data[100];
  memset(data, 0x3c, sizeof(data));
  int n = 0;
  while (circ_origin_send(r->client, 1, RELAY_DATA, 3, data,
                          sizeof(data)) == 0)
    n++;
  return n;
}

Test(hs_origin, virtual_hop_cc_obeys_cwnd_and_sendme_inc)
{
  rend_t r;
  rend_init(&r);
  rend_join_cc(&r, 31);
  cc_stats_t st;
  cc_get_stats(circ_origin_cc(r.client, 1), &st);
  uint64_t cwnd = st.cwnd;
  cr_assert_eq(st.sendme_inc, 31);
  /* The congestion window, not the 1000-cell circuit window, bounds it. */
  cr_assert_eq((uint64_t)fill_window(&r), cwnd);
  cr_assert_eq(circ_origin_send(r.client, 1, RELAY_DATA, 3,
                                (const uint8_t *)"x", 1), CIRC_ERR_WINDOW);
  rend_pump(&r);
  drain_events(r.service);
  /* One authenticated circuit SENDME per 31 cells received. */
  cc_get_stats(circ_origin_cc(r.service, 1), &st);
  cr_assert_eq(st.cells_received, cwnd);
  cr_assert_eq(st.sendmes_sent, cwnd / 31);
  cc_get_stats(circ_origin_cc(r.client, 1), &st);
  cr_assert_eq(st.sendmes_received, cwnd / 31);
  cr_assert_eq(st.inflight, cwnd % 31);
  /* Many windows more, well past 1000 cells, in both directions. */
  int total = 0;
  for (int round = 0; round < 20; round++) {
    total += fill_window(&r);
    rend_pump(&r);
    drain_events(r.service);
  }
  cr_assert_gt(total, 1000);
  uint8_t data[50] = { 0 };
  for (int i = 0; i < 600; i++) {
    cr_assert_eq(circ_origin_send(r.service, 1, RELAY_DATA, 3, data,
                                  sizeof(data)), 0, "cell %d", i);
    if (i % 31 == 30) {
      rend_pump(&r);
      drain_events(r.client);
    }
  }
  rend_pump(&r);
  cc_get_stats(circ_origin_cc(r.client, 1), &st);
  cr_assert_eq(st.cells_received, 600);
  cr_assert_eq(st.sendmes_sent, 600 / 31);
  cr_assert_eq(circ_origin_state(r.client), CIRC_ORIGIN_OPEN);
  cr_assert_eq(circ_origin_state(r.service), CIRC_ORIGIN_OPEN);
  cr_assert_eq(r.rp_for_us, 0);
  rend_free(&r);
}

Test(hs_origin, virtual_hop_cc_other_sendme_inc)
{
  rend_t r;
  rend_init(&r);
  rend_join_cc(&r, 10);
  int n = fill_window(&r);
  rend_pump(&r);
  drain_events(r.service);
  cc_stats_t st;
  cc_get_stats(circ_origin_cc(r.service, 1), &st);
  cr_assert_eq(st.sendmes_sent, (uint64_t)n / 10);
  cr_assert_eq(circ_origin_state(r.client), CIRC_ORIGIN_OPEN);
  rend_free(&r);
}

/* Streams on a CC virtual hop use XON/XOFF; without CC they do not. */
static int
xoffs_after_pause(bool cc)
{
  rend_t r;
  rend_init(&r);
  relay_streams_t *t = circ_origin_attach_streams(r.client, 0);
  cr_assert_not_null(t);
  if (cc) {
    rend_join_cc(&r, 31);
  } else {
    cr_assert_eq(circ_origin_add_virtual_hop_cc(r.client, r.client_keys,
                                                false, NULL, 0), 0);
    cr_assert_eq(circ_origin_add_virtual_hop(r.service, r.service_keys,
                                             true), 0);
    cr_assert_null(circ_origin_cc(r.client, 1));
  }
  uint16_t sid = 0;
  cr_assert_eq(relay_stream_begin(circ_origin_streams(r.client), "hs", 80, 0,
                                  &sid), 0);
  relay_streams_flush(circ_origin_streams(r.client));
  rend_pump(&r);
  drain_events(r.service);
  cr_assert_eq(relay_stream_set_recv_paused(circ_origin_streams(r.client),
                                            sid, true), 0);
  relay_streams_flush(circ_origin_streams(r.client));
  rend_pump(&r);
  int xoffs = 0;
  circ_event_t ev;
  while (next_msg(r.service, &ev))
    if (ev.command == RELAY_XOFF && ev.stream_id == sid)
      xoffs++;
  rend_free(&r);
  return xoffs;
}

Test(hs_origin, virtual_hop_cc_streams_use_xon_xoff)
{
  cr_assert_eq(xoffs_after_pause(true), 1);
  cr_assert_eq(xoffs_after_pause(false), 0);
}

Test(hs_origin, virtual_hop_cc_refusals)
{
  rend_t r;
  rend_init(&r);
  cc_params_t p;
  cc_params_default(&p);
  /* A SENDME increment of 0 is refused and leaves the circuit as it was. */
  cr_assert_eq(circ_origin_add_virtual_hop_cc(r.client, r.client_keys, false,
                                              &p, 0), CIRC_ERR_ARG);
  cr_assert_eq(circ_origin_n_hops(r.client), 1);
  cr_assert_eq(circ_origin_add_virtual_hop_cc(NULL, r.client_keys, false, &p,
                                              31), CIRC_ERR_ARG);
  /* Without CC the virtual hop keeps the fixed windows. */
  cr_assert_eq(circ_origin_add_virtual_hop_cc(r.client, r.client_keys, false,
                                              NULL, 0), 0);
  cr_assert_null(circ_origin_cc(r.client, 1));
  cr_assert_eq(circ_origin_add_virtual_hop(r.service, r.service_keys, true),
               0);
  cr_assert_eq(fill_window(&r), 1000);
  rend_free(&r);
}
