/* test_circuit_relay.c -- relay-side circuit rules (tor-spec 5.1.2, 5.1.5,
 * 5.4, 5.5, 5.6; param-spec circ_max_cell_queue_size): the in-place fast
 * path through 3 relays, circuits from a worker's answer (ntor v3,
 * CREATE_FAST), the EXTEND_REQUEST target, malformed EXTEND2 link
 * specifiers and handshake types, TRUNCATE, DESTROY both ways, the
 * per-circuit queue cap. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "circuit_sim.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/core/onion/onion_server.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

#define KIB 1024

static uint8_t *
pattern(size_t len, uint32_t seed)
{
  uint8_t *p = malloc(len);
  cr_assert_not_null(p);
  for (size_t i = 0; i < len; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (uint8_t)(seed >> 16);
  }
  return p;
}

Test(circuit_relay, fast_path_round_trip_three_relays)
{
  sim_t s;
  sim_init(&s, 3);
  s.fast_path = true;
  cr_assert(sim_build(&s, 3));
  sim_attach_exit(&s, 2);
  relay_streams_t *t = circ_origin_attach_streams(s.o, 2);
  uint8_t *up = pattern(300 * KIB, 7), *down = pattern(300 * KIB, 8);
  s.x_reply = down;
  s.x_reply_len = 300 * KIB;
  uint16_t sid = 0;
  cr_assert_eq(relay_stream_begin(t, "example.com", 80, 0, &sid), 0);
  cr_assert_eq(relay_stream_write(t, sid, up, 300 * KIB), 0);
  sim_pump(&s);
  cr_assert_not(s.o_closed, "closed: %s", s.o_close_ev.what);
  cr_assert_eq(s.x_rx_len, 300 * KIB);
  cr_assert_eq(s.c_rx_len, 300 * KIB);
  cr_assert(memcmp(s.x_rx, up, 300 * KIB) == 0);
  cr_assert(memcmp(s.c_rx, down, 300 * KIB) == 0);
  /* Two middle hops passed every DATA cell on both ways in place. */
  cr_assert_gt(s.fast_passed, 4 * (300 * KIB / 498));
  /* DESTROY from the exit side reaches the client through the fast path. */
  circ_relay_close(sim_relay(&s, 2), CELL_DESTROY_FINISHED);
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert(s.r[0].closed && s.r[1].closed);
  cr_assert_eq(s.r[1].close_ev.reason, CELL_DESTROY_FINISHED);
  cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_DESTROYED);
  free(up);
  free(down);
  sim_free(&s);
}

Test(circuit_relay, destroy_from_client_reaches_every_hop)
{
  sim_t s;
  sim_init(&s, 3);
  s.fast_path = true;
  cr_assert(sim_build(&s, 3));
  circ_origin_close(s.o, CELL_DESTROY_NONE);
  sim_pump(&s);
  for (int i = 0; i < 3; i++) {
    cr_assert(s.r[i].closed, "relay %d", i);
    cr_assert(s.r[i].close_ev.remote);
  }
  cr_assert_eq(s.r[2].close_ev.reason, CELL_DESTROY_DESTROYED);
  sim_free(&s);
}

Test(circuit_relay, extend_request_carries_the_target)
{
  sim_t s;
  sim_init(&s, 2);
  /* Relay 1 also has an IPv6 address. */
  relay_lspec_t *a6 = &s.r[1].spec.addr[1];
  a6->type = RELAY_LSPEC_IPV6;
  a6->len = 18;
  memset(a6->u.ipv6.addr, 0, 16);
  a6->u.ipv6.addr[15] = 1;
  a6->u.ipv6.port = 9002;
  s.r[1].spec.n_addr = 2;
  cr_assert(sim_build(&s, 2));
  cr_assert_eq(s.r[0].n_extend_requests, 1);
  const circ_extend_target_t *t = &s.r[0].last_extend.extend;
  cr_assert(t->has_ipv4);
  static const uint8_t ip4[4] = { 127, 0, 0, 2 };
  cr_assert_arr_eq(t->ipv4, ip4, 4);
  cr_assert_eq(t->ipv4_port, 9001);
  cr_assert(t->has_ipv6);
  cr_assert_eq(t->ipv6[15], 1);
  cr_assert_eq(t->ipv6_port, 9002);
  cr_assert_arr_eq(t->rsa_id, s.r[1].keys.rsa_id, 20);
  cr_assert(t->has_ed_id);
  cr_assert_arr_eq(t->ed_id, s.r[1].spec.ed_id, 32);
  cr_assert_eq(t->htype, CELL_HTYPE_NTOR);
  /* The onward CREATE2 is the client's handshake. */
  cell_create2_t cr;
  cr_assert_eq(cell_create2_decode(&cr, t->create2, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(cr.htype, CELL_HTYPE_NTOR);
  cr_assert_eq(cr.hlen, 84);
  cr_assert_arr_eq(cr.hdata, s.r[1].keys.rsa_id, 20);
  /* Identity comparisons the runtime makes (self, previous hop). */
  cr_assert(circ_extend_target_names(t, s.r[1].keys.rsa_id, NULL));
  cr_assert_not(circ_extend_target_names(t, s.r[0].keys.rsa_id, NULL));
  cr_assert(circ_extend_target_names(t, s.r[0].keys.rsa_id,
                                     s.r[1].spec.ed_id));
  cr_assert_not(circ_extend_target_names(t, s.r[0].keys.rsa_id,
                                         s.r[0].spec.ed_id));
  sim_free(&s);
}

/* Send an EXTEND2 built from m to hop 1 of a 2-hop circuit (as RELAY_EARLY); true if the
 * relay accepted it (EXTEND_REQUEST); otherwise it must have closed the
 * circuit with PROTOCOL and *what says why. */
static bool
extend2_body_accepted(const uint8_t *body, size_t n, const char **what)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 2));
  cr_assert_eq(circ_origin_send(s.o, 1, RELAY_EXTEND2, 0, body, n), 0);
  sim_pump(&s);
  bool ok = s.r[1].n_extend_requests == 1;
  *what = s.r[1].close_ev.what;
  if (!ok) {
    cr_assert(s.r[1].closed);
    cr_assert_eq(s.r[1].close_ev.reason, CELL_DESTROY_PROTOCOL);
  }
  sim_free(&s);
  return ok;
}

static bool
extend2_accepted(relay_extend2_t *m, const char **what)
{
  uint8_t body[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_extend2_encode(m, body, sizeof(body), &n), 0);
  return extend2_body_accepted(body, n, what);
}

static void
lspec_ipv4(relay_lspec_t *l)
{
  l->type = RELAY_LSPEC_IPV4;
  l->len = 6;
  l->u.ipv4.addr[0] = 127;
  l->u.ipv4.addr[3] = 5;
  l->u.ipv4.port = 443;
}

static void
lspec_id(relay_lspec_t *l)
{
  l->type = RELAY_LSPEC_LEGACY_ID;
  l->len = 20;
  memset(l->u.legacy_id, 0xab, 20);
}

Test(circuit_relay, extend2_link_specifiers_and_htype_checked)
{
  relay_extend2_t *m = al_calloc(1, sizeof(*m));
  uint8_t hs[186];
  const char *what = NULL;
  crypto_rand(hs, sizeof(hs));
  m->htype = CELL_HTYPE_NTOR;
  m->hlen = 84;
  m->hdata = hs;
  /* good: IPv4 + legacy id (+ an unknown specifier, ignored) */
  lspec_ipv4(&m->spec[0]);
  lspec_id(&m->spec[1]);
  static const uint8_t junk[3] = { 1, 2, 3 };
  m->spec[2].type = 77;
  m->spec[2].len = 3;
  m->spec[2].u.data = junk;
  m->n_spec = 3;
  cr_assert(extend2_accepted(m, &what), "%s", what);
  /* no address */
  lspec_id(&m->spec[0]);
  m->n_spec = 1;
  cr_assert_not(extend2_accepted(m, &what));
  cr_assert_str_eq(what, "malformed EXTEND2");
  /* no legacy identity */
  lspec_ipv4(&m->spec[0]);
  cr_assert_not(extend2_accepted(m, &what));
  /* port 0 is no address */
  lspec_id(&m->spec[1]);
  m->spec[0].u.ipv4.port = 0;
  m->n_spec = 2;
  cr_assert_not(extend2_accepted(m, &what));
  /* two legacy identities (tor-spec 5.1.2: SHOULD reject); our encoder
   * refuses to write that, so splice a second copy in by hand */
  m->spec[0].u.ipv4.port = 443;
  uint8_t body[RELAY_BODY_MAX], dup[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_extend2_encode(m, body, sizeof(body), &n), 0);
  const size_t id_off = 1 + 2 + 6, id_len = 2 + 20;
  memcpy(dup, body, id_off + id_len);
  memcpy(dup + id_off + id_len, body + id_off, id_len);
  memcpy(dup + id_off + 2 * id_len, body + id_off + id_len,
         n - id_off - id_len);
  dup[0] = 3;
  cr_assert(extend2_body_accepted(body, n, &what), "%s", what);
  cr_assert_not(extend2_body_accepted(dup, n + id_len, &what));
  /* TAP handshake onward: refused (tor 0.4.9) */
  m->spec[0].u.ipv4.port = 443;
  m->htype = CELL_HTYPE_TAP;
  m->hlen = 186;
  cr_assert_not(extend2_accepted(m, &what));
  /* ntor v3 onward: fine, handshake data kept as is */
  m->htype = CELL_HTYPE_NTOR_V3;
  m->hlen = 150;
  cr_assert(extend2_accepted(m, &what));
  al_free(m);
}

Test(circuit_relay, truncate_tears_down_only_the_next_hop)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 3));
  /* Three cells for hop 2 and then TRUNCATE for hop 0, delivered to relay
   * 0 without pumping: the cells for the next hop are dropped. */
  for (int i = 0; i < 3; i++)
    cr_assert_eq(circ_origin_send(s.o, 2, RELAY_DROP, 0, NULL, 0), 0);
  cr_assert_eq(circ_origin_send(s.o, 0, RELAY_TRUNCATE, 0, NULL, 0), 0);
  circ_relay_t *r0 = sim_relay(&s, 0);
  circ_cell_t c;
  while (circ_origin_next_cell(s.o, &c))
    cr_assert_eq(circ_relay_handle_cell(r0, CIRC_DIR_PREV, c.command,
                                        c.payload), 0);
  cr_assert_eq(circ_relay_state(r0), CIRC_RELAY_OPEN);
  cr_assert_eq(circ_relay_queued(r0, CIRC_DIR_NEXT), 1);
  cr_assert_eq(circ_relay_queued(r0, CIRC_DIR_PREV), 1);
  int seen_destroy = 0, seen_prev = 0;
  while (circ_relay_next_cell(r0, &c)) {
    if (c.dir == CIRC_DIR_NEXT) {
      cr_assert_eq(c.command, CELL_DESTROY);
      cr_assert_eq(c.payload[0], CELL_DESTROY_REQUESTED);
      seen_destroy++;
    } else {
      cr_assert_eq(c.command, CELL_RELAY);   /* TRUNCATED */
      seen_prev++;
    }
  }
  cr_assert_eq(seen_destroy, 1);
  cr_assert_eq(seen_prev, 1);
  circ_event_t ev;
  cr_assert(circ_relay_next_event(r0, &ev));
  cr_assert_eq(ev.type, CIRC_EV_NEXT_CLOSED);
  /* Late cells from the old next hop are ignored, not fatal. */
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  cr_assert_eq(circ_relay_handle_cell(r0, CIRC_DIR_NEXT, CELL_RELAY, p), 0);
  cr_assert_eq(circ_relay_state(r0), CIRC_RELAY_OPEN);
  cr_assert_eq(circ_relay_queued(r0, CIRC_DIR_PREV), 0);
  sim_free(&s);
}

Test(circuit_relay, queue_cap_closes_with_resourcelimit)
{
  sim_t s;
  sim_init(&s, 2);
  cr_assert(sim_build(&s, 2));
  circ_relay_t *r0 = sim_relay(&s, 0);
  circ_relay_set_queue_cap(r0, 10);     /* clamped to the minimum */
  uint8_t p[CELL_PAYLOAD_LEN];
  crypto_rand(p, sizeof(p));
  for (int i = 0; i < CIRC_RELAY_QUEUE_CAP_MIN; i++)
    cr_assert_eq(circ_relay_handle_cell(r0, CIRC_DIR_NEXT, CELL_RELAY, p), 0);
  cr_assert_eq(circ_relay_state(r0), CIRC_RELAY_EXTENDED);
  cr_assert_eq(circ_relay_queued(r0, CIRC_DIR_PREV), CIRC_RELAY_QUEUE_CAP_MIN);
  cr_assert_eq(circ_relay_handle_cell(r0, CIRC_DIR_NEXT, CELL_RELAY, p), 0);
  cr_assert_eq(circ_relay_state(r0), CIRC_RELAY_CLOSED);
  /* Only the two DESTROYs remain. */
  circ_cell_t c;
  int n = 0;
  while (circ_relay_next_cell(r0, &c)) {
    cr_assert_eq(c.command, CELL_DESTROY);
    cr_assert_eq(c.payload[0], CELL_DESTROY_RESOURCELIMIT);
    n++;
  }
  cr_assert_eq(n, 2);
  circ_event_t ev;
  cr_assert(circ_relay_next_event(r0, &ev));
  cr_assert_eq(ev.type, CIRC_EV_CLOSED);
  cr_assert_eq(ev.reason, CELL_DESTROY_RESOURCELIMIT);
  sim_free(&s);
}

Test(circuit_relay, engine_queue_note)
{
  sim_t s;
  sim_init(&s, 1);
  cr_assert(sim_build(&s, 1));
  circ_relay_t *r0 = sim_relay(&s, 0);
  cr_assert_eq(circ_relay_note_queued(r0, CIRC_DIR_PREV,
                                      CIRC_RELAY_QUEUE_CAP_DEFAULT), 0);
  cr_assert_eq(circ_relay_state(r0), CIRC_RELAY_OPEN);
  cr_assert_eq(circ_relay_note_queued(r0, CIRC_DIR_PREV,
                                      CIRC_RELAY_QUEUE_CAP_DEFAULT + 1), -1);
  cr_assert_eq(circ_relay_state(r0), CIRC_RELAY_CLOSED);
  sim_free(&s);
}

Test(circuit_relay, create_fast_first_hop_then_extend)
{
  sim_t s;
  sim_init(&s, 3);
  s.fast_path = true;
  cr_assert_eq(circ_origin_start_fast(s.o, &s.r[0].spec, 1000, 60), 0);
  sim_pump(&s);
  cr_assert_eq(circ_origin_n_hops(s.o), 1);
  cr_assert_eq(circ_relay_htype(sim_relay(&s, 0)), ONION_HTYPE_FAST);
  for (size_t i = 1; i < 3; i++) {
    cr_assert_eq(circ_origin_extend(s.o, &s.r[i].spec), 0);
    sim_pump(&s);
  }
  cr_assert_eq(circ_origin_n_hops(s.o), 3);
  cr_assert_eq(circ_relay_htype(sim_relay(&s, 2)), CELL_HTYPE_NTOR);
  /* A message to the last hop goes through both layers. */
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_BEGIN_DIR, 5, NULL, 0), 0);
  sim_pump(&s);
  cr_assert_eq(s.r[2].n_relay_msgs, 1);
  cr_assert_eq(s.r[2].last_msg.command, RELAY_BEGIN_DIR);
  sim_free(&s);
}

Test(circuit_relay, ntor_v3_create_and_answered_constructor)
{
  onion_server_keys_t k;
  memset(&k, 0, sizeof(k));
  crypto_rand(k.rsa_id, 20);
  crypto_rand(k.ed_id, 32);
  k.has_ed_id = true;
  cr_assert_eq(x25519_keypair_generate(&k.ntor), 0);
  static const uint8_t ver[] = NTOR3_CIRC_VERIFICATION;
  static const uint8_t cm[] = { 1, ONION_EXT_CC_REQUEST, 0 };
  ntor3_client_state_t *st = NULL;
  uint8_t *skin = NULL, p[CELL_PAYLOAD_LEN] = { 0 };
  size_t skin_len, n;
  cr_assert_eq(ntor3_client_create(&st, &skin, &skin_len, k.ed_id, k.ntor.pub,
                                   ver, sizeof(ver) - 1, cm, sizeof(cm),
                                   NULL), 0);
  cell_create2_t c2 = { CELL_HTYPE_NTOR_V3, (uint16_t)skin_len, skin };
  cr_assert_eq(cell_create2_encode(&c2, p, sizeof(p), &n), 0);
  circ_relay_t *c = NULL;
  uint8_t reason = 0xff;
  cr_assert_eq(circ_relay_create(&c, &k, p, sizeof(p), &reason), 0);
  cr_assert_eq(reason, CELL_DESTROY_NONE);
  cr_assert_eq(circ_relay_htype(c), CELL_HTYPE_NTOR_V3);
  cr_assert(circ_relay_cc_requested(c));
  circ_cell_t out;
  cr_assert(circ_relay_next_cell(c, &out));
  cr_assert_eq(out.command, CELL_CREATED2);
  cell_created2_t cd;
  uint8_t keys[92], *sm = NULL;
  size_t sm_len = 0;
  cr_assert_eq(cell_created2_decode(&cd, out.payload, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(ntor3_client_finish(st, cd.hdata, cd.hlen, &sm, &sm_len, keys,
                                   sizeof(keys)), 0);
  cr_assert_eq(sm_len, 0);
  /* The circuit keeps KH = the client's key material after Df|Db|Kf|Kb
   * (what a service MACs its ESTABLISH_INTRO with, rend-spec-v3 3.1.1). */
  cr_assert_not_null(circ_relay_kh(c));
  cr_assert_arr_eq(circ_relay_kh(c), keys + 72, ONION_KH_LEN);
  cr_assert_null(circ_relay_kh(NULL));
  circ_relay_free(c);
  /* A failed answer makes no circuit; TAP CREATE is refused. */
  onion_answer_t bad;
  memset(&bad, 0, sizeof(bad));
  cr_assert_null(circ_relay_new_answered(&bad));
  cr_assert_null(circ_relay_new_answered(NULL));
  cr_assert_lt(circ_relay_create_cell(&c, &k, CELL_CREATE, p, sizeof(p),
                                      &reason), 0);
  cr_assert_eq(reason, CELL_DESTROY_PROTOCOL);
  cr_assert_null(c);
  al_free(skin);
  ntor3_client_state_free(st);
}
