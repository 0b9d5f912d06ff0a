/* test_cellswitch.c -- the relay's cell engine (cellswitch.h; tor-spec 2,
 * 4, 5.1, 5.1.1, 5.1.2, 5.4, 5.6) over real loopback TLS: the client's
 * chanmgr builds 3-hop circuits through three in-process relays running the
 * engine and echoes 1 MiB end to end (also with tiny watermarks, so the
 * back-pressure paths run, and with asynchronous CREATE2 answers); channel
 * reuse between relays; DESTROY propagation; a channel dropped
 * mid-circuit.  Hostile peers: cells on unknown circuit ids, CREATE2
 * garbage, CREATE (TAP), ids from the wrong half, EXTEND2 to the relay
 * itself or to a private address, a 9th RELAY_EARLY; memory stays
 * bounded. */
#include <criterion/criterion.h>

#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include "core/mainloop/cellswitch_st.h"
#include "core/mainloop/switch_relay.h"

#define ECHO_LEN (1024 * 1024)

static struct event_base *BASE;
static tls_context_t *TLS;
static chanmgr_t *CM;
static struct event *POKE;

static void poke(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what; (void)arg;
}

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
  TLS = tls_context_new_client();
  CM = chanmgr_new(BASE, TLS);
  POKE = event_new(BASE, -1, EV_PERSIST, poke, NULL);
  struct timeval tv = { 0, 20000 };
  event_add(POKE, &tv);
}

static void teardown(void)
{
  chanmgr_free(CM);
  event_free(POKE);
  tls_context_free(TLS);
  event_base_free(BASE);
}

TestSuite(cellswitch, .init = setup, .fini = teardown, .timeout = 60);

static void
run_until(const int *flag, int target, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (*flag < target && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

static void
run_for(uint32_t msec)
{
  int never = 0;
  run_until(&never, 1, msec);
}

static cellswitch_stats_t
stats(srelay_t *r)
{
  cellswitch_stats_t s;
  cellswitch_get_stats(srelay_switch(r), &s);
  return s;
}

/* Run until relay r has n circuits (or time runs out). */
static void
run_until_circuits(srelay_t *r, size_t n, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (stats(r).n_circuits != n && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

/* ---- a client through chanmgr ---- */

typedef struct cli_t {
  uint64_t circ;
  int built, closed, connected;
  chanmgr_close_info_t info;
  bool echo;
  uint16_t sid;
  uint8_t *rx;
  size_t rx_len;
} cli_t;

static void
c_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  cli_t *c = arg;
  c->built++;
  if (!c->echo)
    return;
  relay_streams_t *t = chanmgr_streams(cm, circ);
  uint8_t *buf = al_malloc(ECHO_LEN);
  for (size_t i = 0; i < ECHO_LEN; i++)
    buf[i] = (uint8_t)(i * 7 + (i >> 10));
  cr_assert_eq(relay_stream_begin(t, "echo.example", 7, 0, &c->sid), 0);
  cr_assert_eq(relay_stream_write(t, c->sid, buf, ECHO_LEN), 0);
  al_free(buf);
  chanmgr_flush(cm, circ);
}

static void
c_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
         void *arg)
{
  cli_t *c = arg;
  (void)cm;
  (void)circ;
  c->closed++;
  c->info = *info;
}

static void
c_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
         void *arg)
{
  cli_t *c = arg;
  (void)cm;
  (void)circ;
  if (ev->type == RELAY_STREAM_EV_CONNECTED) {
    c->connected++;
  } else if (ev->type == RELAY_STREAM_EV_DATA) {
    cr_assert_leq(c->rx_len + ev->len, ECHO_LEN);
    if (!c->rx)
      c->rx = al_malloc(ECHO_LEN);
    memcpy(c->rx + c->rx_len, ev->data, ev->len);
    c->rx_len += ev->len;
  }
}

static int
launch(cli_t *c, srelay_t **path, size_t n)
{
  static chanmgr_circ_cbs_t cbs;
  circ_hop_spec_t specs[CIRC_ORIGIN_MAX_HOPS];
  for (size_t i = 0; i < n; i++)
    specs[i] = *srelay_spec(path[i]);
  cbs.on_built = c_built;
  cbs.on_closed = c_closed;
  cbs.on_stream = c_stream;
  cbs.arg = c;
  chanmgr_launch_t l = { specs, n, false, 10000 };
  return chanmgr_launch(CM, &l, &cbs, &c->circ);
}

/* Build r[0..2], echo 1 MiB, check every byte. */
static void
echo_through(srelay_t **r, cli_t *c)
{
  c->echo = true;
  cr_assert_eq(launch(c, r, 3), 0);
  run_until(&c->built, 1, 10000);
  cr_assert_eq(c->built, 1, "not built (closed %d: %s)", c->closed,
               c->closed ? c->info.what : "");
  uint64_t end = evloop_monotonic_msec() + 30000;
  while (c->rx_len < ECHO_LEN && !c->closed && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(c->connected, 1);
  cr_assert_eq(c->rx_len, ECHO_LEN, "echoed %zu", c->rx_len);
  for (size_t i = 0; i < ECHO_LEN; i++)
    if (c->rx[i] != (uint8_t)(i * 7 + (i >> 10)))
      cr_assert_fail("byte %zu differs", i);
  cr_assert_eq(srelay_n_echoed(r[2]), ECHO_LEN);
}

Test(cellswitch, three_hops_echo_one_mebibyte)
{
  srelay_t *r[3];
  cli_t c = { 0 };
  for (int i = 0; i < 3; i++)
    r[i] = srelay_new(BASE, NULL);
  uint64_t t0 = evloop_monotonic_msec();
  echo_through(r, &c);
  uint64_t ms = evloop_monotonic_msec() - t0;
  cellswitch_stats_t s1 = stats(r[1]);
  cr_log_info("3-hop echo of 1 MiB: %llu ms; middle relay moved %llu cells "
              "in, %llu out", (unsigned long long)ms,
              (unsigned long long)s1.cells_in,
              (unsigned long long)s1.cells_out);
  for (int i = 0; i < 3; i++) {
    cellswitch_stats_t s = stats(r[i]);
    cr_assert_eq(s.n_circuits, 1);
    cr_assert_eq(s.circuits_created, 1);
    cr_assert_eq(s.unknown_circ_cells, 0);
    cr_assert_eq(s.extends, i < 2 ? 1 : 0);
  }
  /* Every relayed cell went through: 2 MiB of DATA plus control cells. */
  cr_assert_geq(s1.cells_in, 2 * ECHO_LEN / RELAY_BODY_MAX);
  /* The middle relay passed every circuit cell on in place (one copy per
   * hop), from a pool of slots allocated once: no allocation per cell. */
  cr_log_info("middle relay: %llu cells forwarded in place, %llu slots "
              "allocated", (unsigned long long)s1.cells_forwarded,
              (unsigned long long)s1.slots_allocated);
  cr_assert_geq(s1.cells_forwarded, s1.cells_in - 4);   /* CREATE2,
                                       * EXTEND2, CREATED2, DESTROY: ours */
  cr_assert_lt(s1.slots_allocated * 8, s1.cells_in,
               "%llu slots for %llu cells",
               (unsigned long long)s1.slots_allocated,
               (unsigned long long)s1.cells_in);
  /* DESTROY from the client reaches every hop. */
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);
  for (int i = 0; i < 3; i++)
    run_until_circuits(r[i], 0, 5000);
  for (int i = 0; i < 3; i++) {
    cellswitch_stats_t s = stats(r[i]);
    cr_assert_eq(s.n_circuits, 0, "relay %d still has a circuit", i);
    cr_assert_eq(s.cells_queued, 0);
    cr_assert_leq(s.cells_pooled, 4096);
  }
  al_free(c.rx);
  for (int i = 0; i < 3; i++)
    srelay_free(r[i]);
}

Test(cellswitch, echo_with_tiny_watermarks_uses_back_pressure)
{
  srelay_t *r[3];
  cli_t c = { 0 };
  cellswitch_config_t tw;
  memset(&tw, 0, sizeof(tw));
  tw.outbuf_high = 2048;
  tw.outbuf_low = 512;
  tw.circq_high = 4;
  tw.circq_low = 1;
  tw.extend_allow_private = true;
  for (int i = 0; i < 3; i++)
    r[i] = srelay_new(BASE, &tw);
  echo_through(r, &c);
  uint64_t blocked = 0, paused = 0;
  for (int i = 0; i < 3; i++) {
    blocked += stats(r[i]).outbuf_blocked;
    paused += stats(r[i]).reads_paused;
    cr_assert_eq(stats(r[i]).queue_overflows, 0);
  }
  cr_log_info("tiny watermarks: %llu output blocks, %llu read pauses",
              (unsigned long long)blocked, (unsigned long long)paused);
  cr_assert_gt(blocked, 0, "the output high-water mark was never reached");
  cr_assert_gt(paused, 0, "no channel's reading was ever paused");
  al_free(c.rx);
  for (int i = 0; i < 3; i++)
    srelay_free(r[i]);
}

Test(cellswitch, async_create_answers)
{
  srelay_t *r[3];
  cli_t c = { 0 };
  for (int i = 0; i < 3; i++) {
    r[i] = srelay_new(BASE, NULL);
    srelay_set_async_answers(r[i], true);
  }
  echo_through(r, &c);
  al_free(c.rx);
  for (int i = 0; i < 3; i++)
    srelay_free(r[i]);
}

/* CREATE2 answered on the onion worker pool (2 threads per relay). */
Test(cellswitch, echo_with_onion_workers)
{
  srelay_t *r[3];
  cli_t c = { 0 };
  for (int i = 0; i < 3; i++) {
    r[i] = srelay_new(BASE, NULL);
    srelay_set_workers(r[i], 2);
  }
  echo_through(r, &c);
  for (int i = 0; i < 3; i++) {
    onion_workers_stats_t ws;
    onion_workers_get_stats(srelay_workers(r[i]), &ws);
    cr_assert_eq(ws.n_threads, 2);
    cr_assert_eq(ws.answered, 1, "relay %d: %llu answered on the pool", i,
                 (unsigned long long)ws.answered);
    cr_assert_eq(stats(r[i]).circuits_created, 1);
  }
  al_free(c.rx);
  for (int i = 0; i < 3; i++)
    srelay_free(r[i]);
}

Test(cellswitch, relays_share_one_channel_per_identity)
{
  srelay_t *r[3];
  cli_t a = { 0 }, b = { 0 };
  for (int i = 0; i < 3; i++)
    r[i] = srelay_new(BASE, NULL);
  cr_assert_eq(launch(&a, r, 3), 0);
  cr_assert_eq(launch(&b, r, 3), 0);
  run_until(&a.built, 1, 10000);
  run_until(&b.built, 1, 10000);
  cr_assert_eq(a.built + b.built, 2);
  /* r0 -> r1 and r1 -> r2: one channel each, used by both circuits. */
  cr_assert_eq(stats(r[0]).n_channels, 2);   /* client in, r1 out */
  cr_assert_eq(stats(r[1]).n_channels, 2);   /* r0 in, r2 out */
  cr_assert_eq(stats(r[2]).n_channels, 1);
  cr_assert_eq(stats(r[0]).extends, 2);
  cr_assert_eq(stats(r[1]).n_circuits, 2);
  for (int i = 0; i < 3; i++)
    srelay_free(r[i]);
}

/* Relays authenticate (CERTS + AUTHENTICATE, tor-spec 4.4.2) on channels
 * they open, so the responder maps the channel to the initiator's identity
 * and uses it for its own extends back: R0 -> R1 makes R0 open a channel
 * to R1; then R1 -> R0 goes over that same channel (R1 opens none). */
Test(cellswitch, channels_reused_in_both_directions)
{
  srelay_t *r[2];
  cli_t a = { 0 }, b = { 0 };
  r[0] = srelay_new(BASE, NULL);
  r[1] = srelay_new(BASE, NULL);
  srelay_t *ab[2] = { r[0], r[1] }, *ba[2] = { r[1], r[0] };
  cr_assert_eq(launch(&a, ab, 2), 0);
  run_until(&a.built, 1, 10000);
  cr_assert_eq(a.built, 1, "closed: %s", a.closed ? a.info.what : "");
  cr_assert_eq(launch(&b, ba, 2), 0);
  run_until(&b.built, 1, 10000);
  cr_assert_eq(b.built, 1, "closed: %s", b.closed ? b.info.what : "");
  cr_assert_eq(stats(r[0]).extends, 1);
  cr_assert_eq(stats(r[1]).extends, 1);
  /* Each: the client's channel and the one R0 -> R1 channel. */
  cr_assert_eq(stats(r[0]).n_channels, 2);
  cr_assert_eq(stats(r[1]).n_channels, 2);
  /* R1 saw R0 prove its identity as a relay; R0 authenticated. */
  int n_relay_in = 0, n_we_auth = 0;
  for (int i = 0; i < 2; i++) {
    cellswitch_t *sw = srelay_switch(r[i]);
    for (dlist_node_t *n = sw->chans.next; n != &sw->chans; n = n->next) {
      cs_chan_t *ch = DLIST_ENTRY(n, cs_chan_t, all_node);
      const link_peer_t *p = channel_peer(ch->ch);
      if (!ch->outgoing && p->authenticated) {
        n_relay_in++;
        cr_assert(ch->mapped);
        cr_assert_eq(memcmp(p->rsa_id, srelay_spec(r[0])->rsa_id, 20), 0);
      }
      if (ch->outgoing && p->we_authenticated)
        n_we_auth++;
    }
  }
  cr_assert_eq(n_relay_in, 1);
  cr_assert_eq(n_we_auth, 1);
  for (int i = 0; i < 2; i++)
    srelay_free(r[i]);
}

/* R0 -> R1 -> R0: now that R1 knows R0's channel by identity, the extend
 * back would go over the channel the circuit came in on: refused (tor
 * does the same), and no second channel is opened. */
Test(cellswitch, extend_back_over_the_previous_channel_is_refused)
{
  srelay_t *r[2];
  cli_t c = { 0 };
  r[0] = srelay_new(BASE, NULL);
  r[1] = srelay_new(BASE, NULL);
  srelay_t *path[3] = { r[0], r[1], r[0] };
  cr_assert_eq(launch(&c, path, 3), 0);
  run_until(&c.closed, 1, 10000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.built, 0);
  cr_assert_eq(c.info.failed_hop, 2);
  cr_assert_eq(stats(r[1]).extends_refused, 1);
  cr_assert_eq(stats(r[1]).extends, 0);
  cr_assert_eq(stats(r[1]).n_channels, 1);   /* R0's only */
  run_until_circuits(r[0], 0, 2000);
  run_until_circuits(r[1], 0, 2000);
  cr_assert_eq(stats(r[0]).n_circuits, 0);
  cr_assert_eq(stats(r[1]).n_circuits, 0);
  for (int i = 0; i < 2; i++)
    srelay_free(r[i]);
}

Test(cellswitch, channel_drop_mid_circuit_destroys_both_ways)
{
  srelay_t *r[3];
  cli_t c = { 0 };
  for (int i = 0; i < 3; i++)
    r[i] = srelay_new(BASE, NULL);
  cr_assert_eq(launch(&c, r, 3), 0);
  run_until(&c.built, 1, 10000);
  cr_assert_eq(c.built, 1);
  /* The last relay loses its only channel (from r1). */
  srelay_close_channels(r[2]);
  cr_assert_eq(stats(r[2]).n_circuits, 0);
  run_until(&c.closed, 1, 5000);
  cr_assert_eq(c.closed, 1);
  cr_assert(c.info.remote);
  run_until_circuits(r[0], 0, 5000);
  run_until_circuits(r[1], 0, 5000);
  cr_assert_eq(stats(r[0]).n_circuits, 0);
  cr_assert_eq(stats(r[1]).n_circuits, 0);
  /* The relays still serve: a new circuit through all three. */
  cli_t d = { 0 };
  cr_assert_eq(launch(&d, r, 3), 0);
  run_until(&d.built, 1, 10000);
  cr_assert_eq(d.built, 1, "closed: %s", d.closed ? d.info.what : "");
  for (int i = 0; i < 3; i++)
    srelay_free(r[i]);
}

Test(cellswitch, extend_to_ourselves_is_refused)
{
  srelay_t *r[2];
  cli_t c = { 0 };
  r[0] = srelay_new(BASE, NULL);
  r[1] = r[0];
  cr_assert_eq(launch(&c, r, 2), 0);
  run_until(&c.closed, 1, 5000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.built, 0);
  cr_assert_eq(c.info.failed_hop, 1);
  cr_assert_eq(stats(r[0]).extends_refused, 1);
  cr_assert_eq(stats(r[0]).extends, 0);
  run_until_circuits(r[0], 0, 2000);
  cr_assert_eq(stats(r[0]).n_circuits, 0);
  srelay_free(r[0]);
}

Test(cellswitch, extend_to_an_unreachable_relay_fails_cleanly)
{
  srelay_t *r0 = srelay_new(BASE, NULL), *gone = srelay_new(BASE, NULL);
  circ_hop_spec_t specs[2] = { *srelay_spec(r0), *srelay_spec(gone) };
  srelay_free(gone);   /* nothing listens on its port any more */
  cli_t c = { 0 };
  static chanmgr_circ_cbs_t cbs;
  cbs.on_built = c_built;
  cbs.on_closed = c_closed;
  cbs.arg = &c;
  chanmgr_launch_t l = { specs, 2, false, 10000 };
  cr_assert_eq(chanmgr_launch(CM, &l, &cbs, &c.circ), 0);
  run_until(&c.closed, 1, 8000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.built, 0);
  cr_assert_eq(c.info.failed_hop, 1);
  cr_assert(c.info.remote);
  cr_assert_eq(c.info.reason, CELL_DESTROY_CONNECTFAILED);
  cr_assert_eq(stats(r0).extends_refused, 1);
  run_until_circuits(r0, 0, 2000);
  cr_assert_eq(stats(r0).n_circuits, 0);
  srelay_free(r0);
}

Test(cellswitch, extend_to_private_address_refused_by_default)
{
  cellswitch_config_t tw;
  memset(&tw, 0, sizeof(tw));
  tw.extend_allow_private = false;
  srelay_t *r[2];
  cli_t c = { 0 };
  r[0] = srelay_new(BASE, &tw);
  r[1] = srelay_new(BASE, NULL);
  cr_assert_eq(launch(&c, r, 2), 0);
  run_until(&c.closed, 1, 5000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.info.failed_hop, 1);
  cr_assert_eq(stats(r[0]).extends_refused, 1);
  cr_assert_eq(stats(r[1]).n_channels, 0);
  srelay_free(r[0]);
  srelay_free(r[1]);
}

/* ---- a raw peer: our own channel, cells as we like ---- */

typedef struct raw_t {
  channel_t *ch;
  int open, closed;
  int n_destroy, n_created2, n_other;
  uint32_t destroy_ids[64];
  uint8_t destroy_reasons[64];
  circ_origin_t *origin;
  uint32_t origin_id;
  int n_created_fast;
  uint8_t created2[CELL_PAYLOAD_LEN];   /**< the last CREATED2 payload */
} raw_t;

static void
raw_open(channel_t *ch, void *arg)
{
  raw_t *w = arg;
  (void)ch;
  w->open++;
}

static void
raw_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  raw_t *w = arg;
  (void)ch;
  if (cell->command == CELL_DESTROY) {
    if (w->n_destroy < 64) {
      w->destroy_ids[w->n_destroy] = cell->circ_id;
      w->destroy_reasons[w->n_destroy] = cell->payload[0];
    }
    w->n_destroy++;
  } else if (cell->command == CELL_CREATED2) {
    w->n_created2++;
    memcpy(w->created2, cell->payload, CELL_PAYLOAD_LEN);
  } else if (cell->command == CELL_CREATED_FAST) {
    w->n_created_fast++;
  } else {
    w->n_other++;
  }
  if (w->origin && cell->circ_id == w->origin_id &&
      cell->payload_len == CELL_PAYLOAD_LEN)
    cr_assert_eq(circ_origin_handle_cell(w->origin, cell->command,
                                         cell->payload), 0);
}

static void
raw_close(channel_t *ch, int reason, const char *why, void *arg)
{
  raw_t *w = arg;
  (void)ch;
  (void)reason;
  (void)why;
  w->closed++;
}

static void
raw_connect(raw_t *w, srelay_t *r)
{
  const circ_hop_spec_t *s = srelay_spec(r);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  memcpy(&sin.sin_addr, s->addr[0].u.ipv4.addr, 4);
  sin.sin_port = htons(s->addr[0].u.ipv4.port);
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), s->rsa_id,
                         NULL };
  channel_callbacks_t cbs = { raw_open, raw_cell, raw_close, w };
  w->ch = channel_connect(BASE, TLS, &t, &cbs);
  cr_assert_not_null(w->ch);
  run_until(&w->open, 1, 5000);
  cr_assert_eq(w->open, 1);
}

static void
raw_send(raw_t *w, uint32_t id, uint8_t cmd, const uint8_t *payload)
{
  cell_t cell = { id, cmd, CELL_PAYLOAD_LEN, payload };
  cr_assert_eq(channel_send_cell(w->ch, &cell), 0);
}

/* Send what the origin circuit queued, with command override (0: none). */
static void
raw_pump(raw_t *w, uint8_t cmd_override)
{
  circ_cell_t cc;
  while (circ_origin_next_cell(w->origin, &cc) == 1)
    raw_send(w, w->origin_id, cmd_override ? cmd_override : cc.command,
             cc.payload);
}

static void
raw_free(raw_t *w)
{
  if (w->ch)
    channel_close(w->ch, CHANNEL_CLOSE_REQUESTED);
  channel_free(w->ch);
  circ_origin_free(w->origin);
}

Test(cellswitch, hostile_unknown_ids_garbage_create_and_tap)
{
  srelay_t *r = srelay_new(BASE, NULL);
  raw_t w = { 0 };
  uint8_t p[CELL_PAYLOAD_LEN];
  raw_connect(&w, r);
  /* Relay cells, CREATED2 and DESTROY on circuits that do not exist. */
  crypto_rand(p, sizeof(p));
  for (uint32_t i = 0; i < 50; i++)
    raw_send(&w, 0x80000100u + i, CELL_RELAY, p);
  raw_send(&w, 0x80000200u, CELL_CREATED2, p);
  raw_send(&w, 0x80000201u, CELL_DESTROY, p);
  /* CREATE2 garbage: unknown HTYPE, ntor with a key id not ours, HLEN
   * past the cell; CREATE (TAP); an id from the relay's half. */
  memset(p, 0, sizeof(p));
  p[0] = 0xff; p[1] = 0xff; p[3] = 84;
  raw_send(&w, 0x80000001u, CELL_CREATE2, p);
  crypto_rand(p, sizeof(p));
  p[0] = 0; p[1] = 2; p[2] = 0; p[3] = 84;
  raw_send(&w, 0x80000002u, CELL_CREATE2, p);
  p[2] = 0x02; p[3] = 0x00;
  raw_send(&w, 0x80000003u, CELL_CREATE2, p);
  raw_send(&w, 0x80000004u, CELL_CREATE, p);
  raw_send(&w, 0x00000005u, CELL_CREATE2, p);
  run_for(300);
  while (w.n_destroy < 4 && !w.closed)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(w.closed, 0, "the relay dropped the channel");
  cr_assert_eq(w.n_destroy, 4);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(w.destroy_ids[i], 0x80000001u + (uint32_t)i);
    cr_assert_eq(w.destroy_reasons[i], CELL_DESTROY_PROTOCOL);
  }
  cr_assert_eq(w.n_created2, 0);
  cellswitch_stats_t s = stats(r);
  cr_assert_eq(s.unknown_circ_cells, 52, "got %llu",
               (unsigned long long)s.unknown_circ_cells);
  cr_assert_eq(s.creates_refused, 4);
  cr_assert_eq(s.n_circuits, 0);
  cr_assert_eq(s.cells_queued, 0);
  /* Still serving: a real circuit through the same relay. */
  cli_t c = { 0 };
  srelay_t *path[1] = { r };
  cr_assert_eq(launch(&c, path, 1), 0);
  run_until(&c.built, 1, 5000);
  cr_assert_eq(c.built, 1);
  raw_free(&w);
  srelay_free(r);
}

Test(cellswitch, hostile_ninth_relay_early_closes_the_circuit)
{
  srelay_t *r = srelay_new(BASE, NULL);
  raw_t w = { 0 };
  raw_connect(&w, r);
  w.origin = circ_origin_new();
  cr_assert_eq(circid_set_alloc(channel_circids(w.ch), &w.origin_id), 0);
  cr_assert_eq(circ_origin_start(w.origin, srelay_spec(r),
                                 evloop_monotonic_msec(), 0), 0);
  raw_pump(&w, 0);
  run_until(&w.n_created2, 1, 5000);
  cr_assert_eq(w.n_created2, 1);
  cr_assert_eq(circ_origin_n_hops(w.origin), 1);
  circ_origin_build_done(w.origin);
  cr_assert_eq(stats(r).n_circuits, 1);
  /* Eight RELAY_EARLY cells are allowed ... */
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(circ_origin_send(w.origin, 0, RELAY_DROP, 0, NULL, 0), 0);
    raw_pump(&w, CELL_RELAY_EARLY);
  }
  run_for(200);
  cr_assert_eq(w.n_destroy, 0);
  cr_assert_eq(stats(r).n_circuits, 1);
  /* ... the ninth closes the circuit. */
  cr_assert_eq(circ_origin_send(w.origin, 0, RELAY_DROP, 0, NULL, 0), 0);
  raw_pump(&w, CELL_RELAY_EARLY);
  run_until(&w.n_destroy, 1, 5000);
  cr_assert_eq(w.n_destroy, 1);
  cr_assert_eq(w.destroy_ids[0], w.origin_id);
  cr_assert_eq(w.destroy_reasons[0], CELL_DESTROY_PROTOCOL);
  cr_assert_eq(stats(r).n_circuits, 0);
  cr_assert_eq(w.closed, 0);
  raw_free(&w);
  srelay_free(r);
}

Test(cellswitch, hostile_flood_memory_stays_bounded)
{
  srelay_t *r = srelay_new(BASE, NULL);
  raw_t w = { 0 };
  uint8_t p[CELL_PAYLOAD_LEN];
  raw_connect(&w, r);
  /* 2000 bogus CREATE2 and 20000 cells for unknown circuits. */
  crypto_rand(p, sizeof(p));
  p[0] = 0; p[1] = 2; p[2] = 0; p[3] = 84;
  for (uint32_t i = 0; i < 2000; i++)
    raw_send(&w, 0x80010000u + i, CELL_CREATE2, p);
  for (uint32_t i = 0; i < 20000; i++)
    raw_send(&w, 0x80020000u + (i % 5000), CELL_RELAY, p);
  uint64_t end = evloop_monotonic_msec() + 20000;
  while ((w.n_destroy < 2000 || stats(r).unknown_circ_cells < 20000) &&
         evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cellswitch_stats_t s = stats(r);
  cr_assert_eq(w.n_destroy, 2000);
  cr_assert_eq(s.unknown_circ_cells, 20000);
  cr_assert_eq(s.n_circuits, 0);
  cr_assert_eq(s.cells_queued, 0);
  cr_assert_leq(s.cells_pooled, 4096);
  raw_free(&w);
  srelay_free(r);
}

/* ---- CREATE_FAST and ntor v3 answered by the engine ---- */

/* Run until the raw origin circuit has n hops (or time runs out). */
static void
raw_run_until_hops(raw_t *w, size_t n, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (circ_origin_n_hops(w->origin) < n && !w->n_destroy &&
         evloop_monotonic_msec() < end) {
    event_base_loop(BASE, EVLOOP_ONCE);
    raw_pump(w, 0);
  }
}

/* How the relay answers: on the loop, through the async hook, on the
 * worker pool. */
enum { ANSWER_SYNC, ANSWER_HOOK, ANSWER_WORKERS };

static void
set_answers(srelay_t *r, int mode)
{
  srelay_set_async_answers(r, mode == ANSWER_HOOK);
  if (mode == ANSWER_WORKERS)
    srelay_set_workers(r, 2);
}

static void
create_fast_then_extend(int mode)
{
  srelay_t *r1 = srelay_new(BASE, NULL), *r2 = srelay_new(BASE, NULL);
  set_answers(r1, mode);
  set_answers(r2, mode);
  raw_t w = { 0 };
  raw_connect(&w, r1);
  w.origin = circ_origin_new();
  cr_assert_eq(circid_set_alloc(channel_circids(w.ch), &w.origin_id), 0);
  cr_assert_eq(circ_origin_start_fast(w.origin, srelay_spec(r1),
                                      evloop_monotonic_msec(), 0), 0);
  raw_pump(&w, 0);
  raw_run_until_hops(&w, 1, 5000);
  cr_assert_eq(w.n_created_fast, 1, "no CREATED_FAST (%d DESTROY)",
               w.n_destroy);
  cr_assert_eq(circ_origin_n_hops(w.origin), 1);
  cr_assert_eq(stats(r1).circuits_created, 1);
  cr_assert_eq(stats(r1).created_fast, 1);
  /* The fast keys work: an EXTEND2 through the first hop succeeds. */
  cr_assert_eq(circ_origin_extend(w.origin, srelay_spec(r2)), 0);
  raw_pump(&w, 0);
  raw_run_until_hops(&w, 2, 5000);
  cr_assert_eq(circ_origin_n_hops(w.origin), 2);
  cr_assert_eq(w.n_destroy, 0);
  cr_assert_eq(stats(r2).circuits_created, 1);
  raw_free(&w);
  srelay_free(r1);
  srelay_free(r2);
}

Test(cellswitch, create_fast_answered_and_extended)
{
  create_fast_then_extend(ANSWER_SYNC);
}

Test(cellswitch, create_fast_answered_async)
{
  create_fast_then_extend(ANSWER_HOOK);
}

Test(cellswitch, create_fast_answered_on_workers)
{
  create_fast_then_extend(ANSWER_WORKERS);
}

/* A CREATE2 with ntor v3 (HTYPE 3, proposal 332) and a CC_REQUEST
 * extension; the client checks the relay's AUTH in ntor3_client_finish. */
static int
ntor3_create(raw_t *w, srelay_t *r, uint32_t id, bool corrupt,
             ntor3_client_state_t **st)
{
  const circ_hop_spec_t *s = srelay_spec(r);
  uint8_t *skin = NULL, p[CELL_PAYLOAD_LEN] = { 0 };
  size_t skin_len, n;
  const uint8_t ext[] = { 1, ONION_EXT_CC_REQUEST, 0 };
  if (ntor3_client_create(st, &skin, &skin_len, s->ed_id, s->ntor_key,
                          (const uint8_t *)NTOR3_CIRC_VERIFICATION,
                          strlen(NTOR3_CIRC_VERIFICATION), ext, sizeof(ext),
                          NULL) < 0)
    return -1;
  if (corrupt)
    skin[skin_len - 1] ^= 1;   /* the MAC */
  cell_create2_t c2 = { CELL_HTYPE_NTOR_V3, (uint16_t)skin_len, skin };
  int rv = cell_create2_encode(&c2, p, sizeof(p), &n);
  al_free(skin);
  if (rv < 0)
    return -1;
  raw_send(w, id, CELL_CREATE2, p);
  return 0;
}

static void
ntor_v3_through_engine(int mode)
{
  srelay_t *r = srelay_new(BASE, NULL);
  set_answers(r, mode);
  raw_t w = { 0 };
  ntor3_client_state_t *st = NULL, *bad = NULL;
  raw_connect(&w, r);
  uint32_t id;
  cr_assert_eq(circid_set_alloc(channel_circids(w.ch), &id), 0);
  cr_assert_eq(ntor3_create(&w, r, id, false, &st), 0);
  run_until(&w.n_created2, 1, 5000);
  cr_assert_eq(w.n_created2, 1, "no CREATED2 (%d DESTROY)", w.n_destroy);
  cell_created2_t c2;
  cr_assert_eq(cell_created2_decode(&c2, w.created2, CELL_PAYLOAD_LEN), 0);
  uint8_t keys[ONION_KEYS_LEN], *msg = NULL;
  size_t msg_len = 0;
  cr_assert_eq(ntor3_client_finish(st, c2.hdata, c2.hlen, &msg, &msg_len,
                                   keys, sizeof(keys)), 0,
               "the relay's ntor v3 reply does not authenticate");
  al_free(msg);
  cellswitch_stats_t s = stats(r);
  cr_assert_eq(s.circuits_created, 1);
  cr_assert_eq(s.n_circuits, 1);
  cr_assert_eq(s.created_ntor_v3, 1);
  cr_assert_eq(s.created_ntor, 0);
  /* A bad client MAC is refused with DESTROY(PROTOCOL). */
  uint32_t id2;
  cr_assert_eq(circid_set_alloc(channel_circids(w.ch), &id2), 0);
  cr_assert_eq(ntor3_create(&w, r, id2, true, &bad), 0);
  run_until(&w.n_destroy, 1, 5000);
  cr_assert_eq(w.n_destroy, 1);
  cr_assert_eq(w.destroy_ids[0], id2);
  cr_assert_eq(w.destroy_reasons[0], CELL_DESTROY_PROTOCOL);
  cr_assert_eq(stats(r).creates_refused, 1);
  memwipe(keys, sizeof(keys));
  ntor3_client_state_free(st);
  ntor3_client_state_free(bad);
  raw_free(&w);
  srelay_free(r);
}

Test(cellswitch, ntor_v3_answered)
{
  ntor_v3_through_engine(ANSWER_SYNC);
}

Test(cellswitch, ntor_v3_answered_async)
{
  ntor_v3_through_engine(ANSWER_HOOK);
}

Test(cellswitch, ntor_v3_answered_on_workers)
{
  ntor_v3_through_engine(ANSWER_WORKERS);
}

/* A circuit that dies while its CREATE2 is on the pool: CREATE2 and
 * DESTROY arrive in one read, the request is cancelled, nothing is
 * answered, nothing leaks (ASan builds). */
Test(cellswitch, worker_request_cancelled_when_the_circuit_dies)
{
  srelay_t *r = srelay_new(BASE, NULL);
  srelay_set_workers(r, 1);
  raw_t w = { 0 };
  raw_connect(&w, r);
  w.origin = circ_origin_new();
  cr_assert_eq(circid_set_alloc(channel_circids(w.ch), &w.origin_id), 0);
  cr_assert_eq(circ_origin_start(w.origin, srelay_spec(r),
                                 evloop_monotonic_msec(), 0), 0);
  raw_pump(&w, 0);
  uint8_t p[CELL_PAYLOAD_LEN] = { CELL_DESTROY_FINISHED };
  raw_send(&w, w.origin_id, CELL_DESTROY, p);
  run_for(500);
  cr_assert_eq(w.n_created2, 0);
  cr_assert_eq(w.n_destroy, 0);
  cellswitch_stats_t s = stats(r);
  cr_assert_eq(s.circuits_created, 0);
  cr_assert_eq(s.creates_refused, 0);
  cr_assert_eq(s.n_circuits, 0);
  onion_workers_stats_t ws;
  onion_workers_get_stats(srelay_workers(r), &ws);
  cr_assert_eq(ws.pending, 0);
  /* The relay still answers on the pool. */
  circ_origin_free(w.origin);
  w.origin = circ_origin_new();
  cr_assert_eq(circid_set_alloc(channel_circids(w.ch), &w.origin_id), 0);
  cr_assert_eq(circ_origin_start(w.origin, srelay_spec(r),
                                 evloop_monotonic_msec(), 0), 0);
  raw_pump(&w, 0);
  run_until(&w.n_created2, 1, 5000);
  cr_assert_eq(w.n_created2, 1);
  cr_assert_eq(stats(r).circuits_created, 1);
  raw_free(&w);
  srelay_free(r);
}
