/* test_relay_hs_switch.c -- introduction and rendezvous point on the real
 * cell engine over loopback TLS (relay_hs_run.c, cellswitch_circ_splice();
 * rend-spec-v3 3.1-3.2, 4.1-4.2, tor-spec 5.2.1 KH).  Peers here speak
 * CREATE_FAST and relay crypto by hand (test-local code), so they know KH
 * and can add the end-to-end layer of a rendezvous circuit:
 *   - a service's ESTABLISH_INTRO signed with the KH it derived itself is
 *     accepted (INTRO_ESTABLISHED), one MACed with another KH refused; a
 *     client's INTRODUCE1 over two hops reaches it as INTRODUCE2 and the
 *     client gets INTRODUCE_ACK 0, an unknown key ACK 1;
 *   - client and service join at the rendezvous point: RENDEZVOUS2 carries
 *     HANDSHAKE_INFO, then messages under an end-to-end layer (the engine
 *     only swaps its two hop layers) pass both ways, in order, many cells;
 *   - a DESTROY from either side, a lost channel, or a queue over its cap
 *     on one of them closes the other (both directions);
 *   - RENDEZVOUS1 with an unknown cookie and a duplicate cookie close their
 *     circuits. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/hs_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/relay/relay_hs.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"

#include "core/mainloop/cellswitch_st.h"
#include "core/mainloop/switch_relay.h"

static struct event_base *BASE;
static tls_context_t *TLS;
static chanmgr_t *CM;
static struct event *POKE;
static cellswitch_t *RP_SW;   /* the engine relay_hs acts on */
static relay_hs_t *HS;

static void poke(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what; (void)arg;
}

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
  TLS = tls_context_new_client();
  CM = chanmgr_new(BASE, TLS);
  POKE = event_new(BASE, -1, EV_PERSIST, poke, NULL);
  struct timeval tv = { 0, 20000 };
  event_add(POKE, &tv);
}

static void
teardown(void)
{
  chanmgr_free(CM);
  event_free(POKE);
  tls_context_free(TLS);
  event_base_free(BASE);
}

TestSuite(relay_hs_switch, .init = setup, .fini = teardown, .timeout = 60);

static void
run_until(const int *flag, int target, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (*flag < target && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

/* ---- the relay under test: the switch relay with relay_hs hooked in ---- */

static void
hk_msg(void *arg, cellswitch_t *sw, uint64_t circ, const circ_event_t *ev)
{
  relay_hs_switch_relay_msg(arg, sw, circ, ev);
}

static void
hk_closed(void *arg, cellswitch_t *sw, uint64_t circ)
{
  (void)sw;
  relay_hs_circ_closed(arg, circ);
}

static srelay_t *
rp_new_tweak(const cellswitch_config_t *tweak)
{
  srelay_t *r = srelay_new(BASE, tweak);
  RP_SW = srelay_switch(r);
  HS = relay_hs_new_switch(&RP_SW);
  cr_assert_not_null(HS);
  /* No exit streams here: circuits ending at it are for onion services. */
  RP_SW->cfg.hooks.on_circ_created = NULL;
  RP_SW->cfg.hooks.on_streams = NULL;
  RP_SW->cfg.hooks.on_relay_msg = hk_msg;
  RP_SW->cfg.hooks.on_circ_closed = hk_closed;
  RP_SW->cfg.hooks.arg = HS;
  return r;
}

static srelay_t *
rp_new(void)
{
  return rp_new_tweak(NULL);
}

static void
rp_free(srelay_t *r)
{
  srelay_free(r);   /* the engine first: no hooks after this */
  RP_SW = NULL;
  relay_hs_free(HS);
}

static relay_hs_stats_t
hs_stats(void)
{
  relay_hs_stats_t s;
  relay_hs_get_stats(HS, &s);
  return s;
}

/* ---- a hand-made one-hop CREATE_FAST peer ---- */

typedef struct peer_t {
  channel_t *ch;
  int open, closed, created, n_destroy, n_msgs, n_unrecognized;
  uint8_t destroy_reason;
  uint32_t id;
  uint8_t x[CELL_FAST_KEY_LEN];
  uint8_t kh[20];
  relay_crypto_t *hops[2];   /* [0] the relay, [1] end to end (if set) */
  size_t n_hops;
  uint8_t cmd;               /* the last message */
  size_t hop, len;
  uint8_t body[RELAY_BODY_MAX];
  /* end-to-end DATA received in order */
  uint32_t e2e_next, e2e_bad;
} peer_t;

static void
p_open(channel_t *ch, void *arg)
{
  (void)ch;
  ((peer_t *)arg)->open++;
}

static void
p_close(channel_t *ch, int reason, const char *why, void *arg)
{
  (void)ch; (void)reason; (void)why;
  ((peer_t *)arg)->closed++;
}

static void
p_created_fast(peer_t *p, const uint8_t *payload)
{
  cell_created_fast_t cd;
  uint8_t k0[40], k[92];
  cr_assert_eq(cell_created_fast_decode(&cd, payload, CELL_PAYLOAD_LEN), 0);
  memcpy(k0, p->x, 20);
  memcpy(k0 + 20, cd.y, 20);
  cr_assert_eq(crypto_kdf_tor(k, sizeof(k), k0, sizeof(k0)), 0);
  cr_assert_arr_eq(cd.kh, k, 20);
  memcpy(p->kh, k, 20);                       /* KH (tor-spec 5.2.1) */
  p->hops[0] = relay_crypto_new(RELAY_CRYPTO_TOR1, k + 20, 72, 0);
  cr_assert_not_null(p->hops[0]);
  p->n_hops = 1;
  p->created++;
}

static void
p_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  peer_t *p = arg;
  (void)ch;
  if (cell->circ_id != p->id)
    return;
  if (cell->command == CELL_CREATED_FAST) {
    p_created_fast(p, cell->payload);
  } else if (cell->command == CELL_DESTROY) {
    p->n_destroy++;
    p->destroy_reason = cell->payload[0];
  } else if (cell->command == CELL_RELAY) {
    uint8_t c[CELL_PAYLOAD_LEN];
    relay_header_t h;
    const uint8_t *body;
    size_t hop;
    memcpy(c, cell->payload, sizeof(c));
    if (relay_crypto_origin_decrypt(p->hops, p->n_hops, c, &hop) < 0 ||
        relay_cell_unpack(&h, &body, c) < 0) {
      p->n_unrecognized++;
      return;
    }
    if (hop == 1 && h.command == RELAY_DATA) {
      uint32_t seq;
      memcpy(&seq, body, 4);
      if (seq != p->e2e_next || h.length != 400)
        p->e2e_bad++;
      p->e2e_next++;
    }
    p->n_msgs++;
    p->cmd = h.command;
    p->hop = hop;
    p->len = h.length;
    memcpy(p->body, body, h.length);
  }
}

/* Connect to r and make a one-hop circuit with CREATE_FAST. */
static void
p_start(peer_t *p, srelay_t *r)
{
  const circ_hop_spec_t *s = srelay_spec(r);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  memcpy(&sin.sin_addr, s->addr[0].u.ipv4.addr, 4);
  sin.sin_port = htons(s->addr[0].u.ipv4.port);
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), s->rsa_id,
                         NULL };
  channel_callbacks_t cbs = { p_open, p_cell, p_close, p };
  p->ch = channel_connect(BASE, TLS, &t, &cbs);
  cr_assert_not_null(p->ch);
  run_until(&p->open, 1, 5000);
  cr_assert_eq(p->open, 1);
  cr_assert_eq(circid_set_alloc(channel_circids(p->ch), &p->id), 0);
  uint8_t pl[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  cell_create_fast_t cf;
  crypto_rand(p->x, sizeof(p->x));
  memcpy(cf.x, p->x, sizeof(cf.x));
  cr_assert_eq(cell_create_fast_encode(&cf, pl, sizeof(pl), &n), 0);
  cell_t cell = { p->id, CELL_CREATE_FAST, CELL_PAYLOAD_LEN, pl };
  cr_assert_eq(channel_send_cell(p->ch, &cell), 0);
  run_until(&p->created, 1, 5000);
  cr_assert_eq(p->created, 1);
}

static void
p_send(peer_t *p, size_t hop, uint8_t command, const uint8_t *body,
       size_t len)
{
  uint8_t pl[CELL_PAYLOAD_LEN];
  relay_header_t h;
  memset(&h, 0, sizeof(h));
  h.command = command;
  h.stream_id = command == RELAY_DATA ? 1 : 0;
  cr_assert_eq(relay_cell_pack(pl, &h, body, len, crypto_rand), 0);
  cr_assert_eq(relay_crypto_origin_encrypt(p->hops, p->n_hops, hop, pl), 0);
  cell_t cell = { p->id, CELL_RELAY, CELL_PAYLOAD_LEN, pl };
  cr_assert_eq(channel_send_cell(p->ch, &cell), 0);
}

/* Run until p got n messages in all (or a DESTROY). */
static void
p_wait(peer_t *p, int n)
{
  uint64_t end = evloop_monotonic_msec() + 5000;
  while (p->n_msgs < n && !p->n_destroy && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

static void
p_wait_destroy(peer_t *p)
{
  run_until(&p->n_destroy, 1, 5000);
  cr_assert_eq(p->n_destroy, 1);
}

static void
p_free(peer_t *p)
{
  if (p->ch)
    channel_close(p->ch, CHANNEL_CLOSE_REQUESTED);
  channel_free(p->ch);
  relay_crypto_free(p->hops[0]);
  relay_crypto_free(p->hops[1]);
}

/* ---- introduction ---- */

typedef struct icli_t {
  uint64_t circ;
  int built, closed, acks;
  uint16_t status;
} icli_t;

static void
ic_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm; (void)circ;
  ((icli_t *)arg)->built++;
}

static void
ic_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
          void *arg)
{
  (void)cm; (void)circ; (void)info;
  ((icli_t *)arg)->closed++;
}

static void
ic_msg(chanmgr_t *cm, uint64_t circ, const circ_event_t *ev, void *arg)
{
  icli_t *c = arg;
  hs_introduce_ack_t a;
  (void)cm; (void)circ;
  if (ev->command == RELAY_INTRODUCE_ACK &&
      hs_introduce_ack_decode(&a, ev->body, ev->len) == 0) {
    c->status = a.status;
    c->acks++;
  }
}

/* A client circuit mid -> rp (two hops: rp sees a relay before it). */
static void
ic_launch(icli_t *c, srelay_t *mid, srelay_t *rp)
{
  static chanmgr_circ_cbs_t cbs;
  circ_hop_spec_t specs[2] = { *srelay_spec(mid), *srelay_spec(rp) };
  cbs.on_built = ic_built;
  cbs.on_closed = ic_closed;
  cbs.on_relay_msg = ic_msg;
  cbs.arg = c;
  chanmgr_launch_t l = { specs, 2, false, 10000 };
  cr_assert_eq(chanmgr_launch(CM, &l, &cbs, &c->circ), 0);
  run_until(&c->built, 1, 10000);
  cr_assert_eq(c->built, 1);
}

static size_t
intro1_body(uint8_t *out, const uint8_t key[32])
{
  static hs_introduce1_t m;
  uint8_t enc[150];
  size_t n;
  memset(&m, 0, sizeof(m));
  crypto_rand(enc, sizeof(enc));
  memcpy(m.auth_key, key, 32);
  m.encrypted = enc;
  m.encrypted_len = sizeof(enc);
  cr_assert_eq(hs_introduce1_encode(&m, out, RELAY_BODY_MAX, &n), 0);
  return n;
}

Test(relay_hs_switch, intro_point_with_kh_from_create_fast)
{
  srelay_t *rp = rp_new(), *mid = srelay_new(BASE, NULL);
  ed25519_keypair_t kp;
  uint8_t b[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  /* A MAC with the wrong KH: closed, nothing established. */
  peer_t bad = { 0 };
  p_start(&bad, rp);
  uint8_t wrong[20];
  memcpy(wrong, bad.kh, 20);
  wrong[0] ^= 1;
  cr_assert_eq(hs_establish_intro_build(&kp, wrong, NULL, b, sizeof(b), &n),
               0);
  p_send(&bad, 0, RELAY_ESTABLISH_INTRO, b, n);
  p_wait_destroy(&bad);
  cr_assert_eq(bad.destroy_reason, CELL_DESTROY_PROTOCOL);
  cr_assert_eq(hs_stats().intro_refused, 1);
  /* The service's own KH: INTRO_ESTABLISHED. */
  peer_t svc = { 0 };
  p_start(&svc, rp);
  cr_assert_eq(hs_establish_intro_build(&kp, svc.kh, NULL, b, sizeof(b), &n),
               0);
  p_send(&svc, 0, RELAY_ESTABLISH_INTRO, b, n);
  p_wait(&svc, 1);
  cr_assert_eq(svc.cmd, RELAY_INTRO_ESTABLISHED);
  cr_assert_eq(hs_stats().intro_circuits, 1);
  /* A client two hops away introduces itself. */
  icli_t c = { 0 };
  ic_launch(&c, mid, rp);
  n = intro1_body(b, kp.pub.pubkey);
  cr_assert_eq(chanmgr_send(CM, c.circ, 1, RELAY_INTRODUCE1, 0, b, n), 0);
  run_until(&c.acks, 1, 5000);
  cr_assert_eq(c.acks, 1);
  cr_assert_eq(c.status, HS_INTRO_ACK_SUCCESS);
  p_wait(&svc, 2);
  cr_assert_eq(svc.cmd, RELAY_INTRODUCE2);
  cr_assert_eq(svc.len, n);
  cr_assert_arr_eq(svc.body, b, n, "INTRODUCE2 = INTRODUCE1's body");
  /* Another client, a key nobody established: ACK 1. */
  icli_t c2 = { 0 };
  ic_launch(&c2, mid, rp);
  uint8_t other[32];
  crypto_rand(other, sizeof(other));
  n = intro1_body(b, other);
  cr_assert_eq(chanmgr_send(CM, c2.circ, 1, RELAY_INTRODUCE1, 0, b, n), 0);
  run_until(&c2.acks, 1, 5000);
  cr_assert_eq(c2.status, HS_INTRO_ACK_UNKNOWN_SERVICE);
  /* A client straight to the intro point (single hop): closed. */
  peer_t one = { 0 };
  p_start(&one, rp);
  n = intro1_body(b, kp.pub.pubkey);
  p_send(&one, 0, RELAY_INTRODUCE1, b, n);
  p_wait_destroy(&one);
  cr_assert_eq(svc.n_msgs, 2, "nothing more relayed");
  /* The service's circuit goes: its key with it. */
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);
  p_free(&svc);
  uint64_t end = evloop_monotonic_msec() + 5000;
  while (hs_stats().intro_circuits && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(hs_stats().intro_circuits, 0);
  ed25519_keypair_wipe(&kp);
  p_free(&bad);
  p_free(&one);
  rp_free(rp);
  srelay_free(mid);
}

/* ---- rendezvous ---- */

/* Client cl and service sv joined at rp with cookie; both get the end-to-
 * end layer (HS relay crypto; the service's reversed, rend-spec-v3
 * 4.2.1). */
static void
join(peer_t *cl, peer_t *sv, srelay_t *rp)
{
  uint8_t cookie[20], b[RELAY_BODY_MAX], e2e[128];
  p_start(cl, rp);
  p_start(sv, rp);
  crypto_rand(cookie, sizeof(cookie));
  p_send(cl, 0, RELAY_ESTABLISH_RENDEZVOUS, cookie, sizeof(cookie));
  p_wait(cl, 1);
  cr_assert_eq(cl->cmd, RELAY_RENDEZVOUS_ESTABLISHED);
  cr_assert_eq(hs_stats().rend_waiting, 1);
  /* RENDEZVOUS1: cookie | HANDSHAKE_INFO (+ padding, relayed as is). */
  memcpy(b, cookie, 20);
  crypto_rand(b + 20, 100);
  p_send(sv, 0, RELAY_RENDEZVOUS1, b, 120);
  p_wait(cl, 2);
  cr_assert_eq(cl->cmd, RELAY_RENDEZVOUS2);
  cr_assert_eq(cl->len, 100);
  cr_assert_arr_eq(cl->body, b + 20, 100);
  cr_assert_eq(hs_stats().rend_joined, 1);
  crypto_rand(e2e, sizeof(e2e));
  cl->hops[1] = relay_crypto_new(RELAY_CRYPTO_HS, e2e, sizeof(e2e), 0);
  sv->hops[1] = relay_crypto_new(RELAY_CRYPTO_HS, e2e, sizeof(e2e), 1);
  cl->n_hops = sv->n_hops = 2;
}

static void
send_data(peer_t *p, uint32_t n)
{
  uint8_t d[400];
  crypto_rand(d, sizeof(d));
  for (uint32_t i = 0; i < n; i++) {
    memcpy(d, &i, 4);
    p_send(p, 1, RELAY_DATA, d, sizeof(d));
  }
}

Test(relay_hs_switch, rendezvous_join_carries_cells_both_ways)
{
  srelay_t *rp = rp_new();
  peer_t cl = { 0 }, sv = { 0 };
  join(&cl, &sv, rp);
  /* 300 cells each way, end to end: the rendezvous point removes one
   * hop's layer and adds the other's; neither peer sees anything it cannot
   * read. */
  send_data(&cl, 300);
  send_data(&sv, 300);
  p_wait(&sv, 300);
  p_wait(&cl, 302);
  cr_assert_eq(sv.e2e_next, 300);
  cr_assert_eq(cl.e2e_next, 300);
  cr_assert_eq(sv.e2e_bad + cl.e2e_bad, 0);
  cr_assert_eq(sv.n_unrecognized + cl.n_unrecognized, 0);
  cr_assert_eq(sv.hop, 1);
  cr_assert_eq(cl.hop, 1);
  /* A message for the rendezvous point itself (hop 0) is still its own:
   * a DROP is swallowed, not passed on. */
  p_send(&cl, 0, RELAY_DROP, NULL, 0);
  send_data(&cl, 1);
  p_wait(&sv, 301);
  cr_assert_eq(sv.e2e_next, 301);
  cellswitch_stats_t st;
  cellswitch_get_stats(RP_SW, &st);
  cr_assert_geq(st.cells_forwarded, 601);
  p_free(&cl);
  p_free(&sv);
  rp_free(rp);
}

static void
teardown_from(bool client_side)
{
  srelay_t *rp = rp_new();
  peer_t cl = { 0 }, sv = { 0 };
  join(&cl, &sv, rp);
  peer_t *from = client_side ? &cl : &sv, *to = client_side ? &sv : &cl;
  uint8_t pl[CELL_PAYLOAD_LEN] = { CELL_DESTROY_FINISHED };
  cell_t d = { from->id, CELL_DESTROY, CELL_PAYLOAD_LEN, pl };
  cr_assert_eq(channel_send_cell(from->ch, &d), 0);
  p_wait_destroy(to);
  cellswitch_stats_t st;
  uint64_t end = evloop_monotonic_msec() + 5000;
  do {
    event_base_loop(BASE, EVLOOP_NONBLOCK);
    cellswitch_get_stats(RP_SW, &st);
  } while (st.n_circuits && evloop_monotonic_msec() < end);
  cr_assert_eq(st.n_circuits, 0, "both circuits gone");
  p_free(&cl);
  p_free(&sv);
  rp_free(rp);
}

Test(relay_hs_switch, destroy_from_client_closes_service_side)
{
  teardown_from(true);
}

Test(relay_hs_switch, destroy_from_service_closes_client_side)
{
  teardown_from(false);
}

Test(relay_hs_switch, channel_loss_closes_the_joined_circuit)
{
  srelay_t *rp = rp_new();
  peer_t cl = { 0 }, sv = { 0 };
  join(&cl, &sv, rp);
  channel_close(sv.ch, CHANNEL_CLOSE_REQUESTED);
  p_wait_destroy(&cl);
  p_free(&cl);
  p_free(&sv);
  rp_free(rp);
}

Test(relay_hs_switch, joined_circuit_over_its_queue_cap_closes_both)
{
  /* A queue cap of 8 cells and an output buffer that holds about one: a
   * burst from the service piles up for the client's circuit, which is
   * closed with RESOURCELIMIT -- and the service's with it, at once. */
  cellswitch_config_t tw;
  memset(&tw, 0, sizeof(tw));
  tw.queue_cap_cells = 8;
  tw.outbuf_high = 600;
  tw.extend_allow_private = true;
  srelay_t *rp = rp_new_tweak(&tw);
  peer_t cl = { 0 }, sv = { 0 };
  join(&cl, &sv, rp);
  send_data(&sv, 300);
  p_wait_destroy(&cl);
  cr_assert_eq(cl.destroy_reason, CELL_DESTROY_RESOURCELIMIT);
  p_wait_destroy(&sv);
  cellswitch_stats_t st;
  cellswitch_get_stats(RP_SW, &st);
  cr_assert_geq(st.queue_overflows, 1);
  cr_assert_eq(st.n_circuits, 0, "both circuits gone");
  p_free(&cl);
  p_free(&sv);
  rp_free(rp);
}

Test(relay_hs_switch, unknown_and_duplicate_cookies_close)
{
  srelay_t *rp = rp_new();
  peer_t a = { 0 }, b = { 0 }, c = { 0 };
  uint8_t cookie[20], body[84];
  p_start(&a, rp);
  p_start(&b, rp);
  p_start(&c, rp);
  crypto_rand(cookie, sizeof(cookie));
  memcpy(body, cookie, 20);
  crypto_rand(body + 20, 64);
  /* RENDEZVOUS1 for a cookie nobody set: closed. */
  p_send(&a, 0, RELAY_RENDEZVOUS1, body, sizeof(body));
  p_wait_destroy(&a);
  cr_assert_eq(a.destroy_reason, CELL_DESTROY_PROTOCOL);
  /* The cookie set by b; c tries the same one: c is closed, b waits. */
  p_send(&b, 0, RELAY_ESTABLISH_RENDEZVOUS, cookie, sizeof(cookie));
  p_wait(&b, 1);
  cr_assert_eq(b.cmd, RELAY_RENDEZVOUS_ESTABLISHED);
  p_send(&c, 0, RELAY_ESTABLISH_RENDEZVOUS, cookie, sizeof(cookie));
  p_wait_destroy(&c);
  cr_assert_eq(b.n_destroy, 0);
  cr_assert_eq(hs_stats().rend_waiting, 1);
  cr_assert_eq(hs_stats().rend_refused, 1);
  p_free(&a);
  p_free(&b);
  p_free(&c);
  rp_free(rp);
}
