/* test_circuit_sim.c -- origin and relay circuit state machines end to end
 * (tor-spec 5, 6, 7; proposal 289) over an in-memory chain of relays:
 * build through CREATE2 + EXTEND2, a stream to the exit, 1 MiB each way
 * through every layer with SENDME v1, END, DESTROY; plus build failures,
 * tampering, RELAY_EARLY limits, timeouts and TRUNCATE. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "circuit_sim.h"
#include "allium/core/cell/circ_cells.h"

#define MIB (1024 * 1024)

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

/* Build 3 hops, exit streams on relay 2, client streams on hop 2. */
static relay_streams_t *
build3(sim_t *s)
{
  sim_init(s, 3);
  cr_assert(sim_build(s, 3), "3-hop build failed");
  cr_assert_eq(s->o_hops_added, 3);
  cr_assert_eq(circ_origin_state(s->o), CIRC_ORIGIN_OPEN);
  cr_assert_eq(circ_relay_state(sim_relay(s, 0)), CIRC_RELAY_EXTENDED);
  cr_assert_eq(circ_relay_state(sim_relay(s, 1)), CIRC_RELAY_EXTENDED);
  cr_assert_eq(circ_relay_state(sim_relay(s, 2)), CIRC_RELAY_OPEN);
  cr_assert_eq(circ_origin_early_used(s->o), 2);
  cr_assert(memcmp(circ_origin_hop_spec(s->o, 1)->rsa_id, s->r[1].keys.rsa_id,
                   20) == 0);
  cr_assert_null(circ_origin_hop_spec(s->o, 3));
  sim_attach_exit(s, 2);
  relay_streams_t *t = circ_origin_attach_streams(s->o, 2);
  cr_assert_not_null(t);
  cr_assert_null(circ_origin_attach_streams(s->o, 2));
  return t;
}

Test(circuit_sim, three_hops_one_mib_each_way)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  uint8_t *up = pattern(MIB, 1), *down = pattern(MIB, 2);
  s.x_reply = down;
  s.x_reply_len = MIB;

  uint16_t sid = 0;
  cr_assert_eq(relay_stream_begin(t, "example.com", 443, 0, &sid), 0);
  cr_assert_neq(sid, 0);
  cr_assert_eq(relay_stream_state(t, sid), RELAY_STREAM_CONNECTING);
  /* Queued before CONNECTED: sent once the stream opens. */
  cr_assert_eq(relay_stream_write(t, sid, up, MIB), 0);
  cr_assert_eq(relay_stream_pending(t, sid), MIB);
  sim_pump(&s);

  cr_assert_eq(s.x_begins, 1);
  cr_assert_eq(s.exit_sid, sid);
  cr_assert_eq(s.c_connected, 1);
  cr_assert_eq(relay_stream_state(t, sid), RELAY_STREAM_OPEN);
  cr_assert_not(s.o_closed, "closed: %s", s.o_close_ev.what);
  cr_assert_eq(s.x_rx_len, MIB);
  cr_assert_eq(s.c_rx_len, MIB);
  cr_assert(memcmp(s.x_rx, up, MIB) == 0);
  cr_assert(memcmp(s.c_rx, down, MIB) == 0);
  cr_assert_eq(relay_stream_pending(t, sid), 0);
  /* Far more cells than one window: SENDMEs must have flowed. */
  cr_assert_gt(s.cells_moved, 3 * 2 * 2000);
  const relay_flow_t *f = circ_origin_flow(s.o, 2);
  cr_assert_geq(f->package_window, 0);
  cr_assert_leq(f->package_window, RELAY_CIRCWINDOW_START);
  cr_assert_gt(f->deliver_window, RELAY_CIRCWINDOW_START - 100);
  cr_assert_eq(circ_origin_flow(s.o, 0)->package_window,
               RELAY_CIRCWINDOW_START);   /* hops 0,1 carried no DATA */

  /* END from the client; the exit still had data in flight: ignored. */
  cr_assert_eq(relay_stream_end(t, sid, RELAY_END_MISC), 0);
  cr_assert_eq(relay_stream_state(t, sid), RELAY_STREAM_CLOSING);
  relay_streams_t *xt = circ_relay_streams(sim_relay(&s, 2));
  static const uint8_t late[10] = "late data";
  cr_assert_eq(relay_stream_write(xt, sid, late, sizeof(late)), 0);
  size_t before = s.c_rx_len;
  sim_pump(&s);
  cr_assert_eq(s.c_rx_len, before, "data after END must be ignored");
  cr_assert_eq(s.c_errors, 0);
  cr_assert_eq(s.r[2].n_stream_ends, 1);
  cr_assert_eq(s.r[2].last_end_reason, RELAY_END_MISC);
  cr_assert_eq(relay_stream_state(xt, sid), RELAY_STREAM_NONE);
  /* The half-closed entry expires. */
  relay_streams_set_time(t, 10);
  cr_assert_eq(relay_stream_state(t, sid), RELAY_STREAM_CLOSING);
  relay_streams_set_time(t, 10 + RELAY_STREAM_HALF_CLOSED_SECS);
  cr_assert_eq(relay_stream_state(t, sid), RELAY_STREAM_NONE);

  /* DESTROY from the client reaches every relay. */
  circ_origin_close(s.o, CELL_DESTROY_FINISHED);
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert_not(s.o_close_ev.remote);
  for (int i = 0; i < 3; i++) {
    cr_assert(s.r[i].closed, "relay %d not closed", i);
    cr_assert(s.r[i].close_ev.remote);
    cr_assert_eq(circ_relay_state(sim_relay(&s, (size_t)i)),
                 CIRC_RELAY_CLOSED);
  }
  cr_assert_eq(s.r[0].close_ev.reason, CELL_DESTROY_NONE);   /* OP: NONE */
  cr_assert_eq(s.r[1].close_ev.reason, CELL_DESTROY_DESTROYED);
  /* Nothing is accepted any more. */
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_DROP, 0, NULL, 0),
               CIRC_ERR_STATE);
  free(up);
  free(down);
  sim_free(&s);
}

Test(circuit_sim, begin_dir_and_resolve)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  uint16_t d = 0, r = 0;
  cr_assert_eq(relay_stream_begin_dir(t, &d), 0);
  cr_assert_eq(relay_stream_resolve(t, "example.org", &r), 0);
  cr_assert_neq(d, r);
  sim_pump(&s);
  cr_assert_eq(s.x_begin_dirs, 1);
  cr_assert_eq(s.x_resolves, 1);
  cr_assert_eq(s.c_connected, 1);
  cr_assert_eq(s.c_resolved, 1);
  cr_assert_eq(relay_stream_state(t, d), RELAY_STREAM_OPEN);
  cr_assert_eq(relay_stream_state(t, r), RELAY_STREAM_NONE);
  /* The exit ends the dir stream. */
  relay_streams_t *xt = circ_relay_streams(sim_relay(&s, 2));
  cr_assert_eq(relay_stream_end(xt, d, RELAY_END_DONE), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_ends, 1);
  cr_assert_eq(s.c_end_reason, RELAY_END_DONE);
  cr_assert_eq(relay_stream_state(t, d), RELAY_STREAM_NONE);
  cr_assert_not(s.o_closed);
  sim_free(&s);
}

Test(circuit_sim, wrong_ntor_key_at_hop_two)
{
  sim_t s;
  sim_init(&s, 3);
  s.r[1].spec.ntor_key[5] ^= 1;   /* the client has a stale key */
  cr_assert_not(sim_build(&s, 3));
  cr_assert(s.o_closed);
  cr_assert_eq(circ_origin_state(s.o), CIRC_ORIGIN_CLOSED);
  cr_assert_eq(circ_origin_n_hops(s.o), 1);
  cr_assert_eq(s.o_close_ev.hop, 1, "failing hop index");
  cr_assert(s.o_close_ev.remote);
  cr_assert_str_eq(s.o_close_ev.what, "DESTROY received while building");
  cr_assert(s.r[0].closed);
  cr_assert_str_eq(s.r[0].close_ev.what, "extend refused by next hop");
  cr_assert_eq(s.r[0].close_ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_null(sim_relay(&s, 1));
  sim_free(&s);
}

static void
flip_created2(sim_t *s, int from, int to, circ_cell_t *cell)
{
  (void)s;
  if (from == 2 && to == 1 && cell->command == CELL_CREATED2)
    cell->payload[2 + 40] ^= 0x01;   /* inside AUTH */
}

Test(circuit_sim, bad_auth_in_extended2)
{
  sim_t s;
  sim_init(&s, 3);
  s.tamper = flip_created2;
  cr_assert_not(sim_build(&s, 3));
  cr_assert(s.o_closed);
  cr_assert_not(s.o_close_ev.remote);
  cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_eq(s.o_close_ev.hop, 1);
  cr_assert_str_eq(s.o_close_ev.what, "ntor handshake failed");
  /* Our DESTROY went forward and tore the relays down. */
  cr_assert(s.r[0].closed);
  cr_assert(s.r[1].closed);
  sim_free(&s);
}

Test(circuit_sim, wrong_identity_connect_failed)
{
  sim_t s;
  sim_init(&s, 3);
  s.r[1].spec.rsa_id[0] ^= 1;   /* no relay with that identity */
  cr_assert_not(sim_build(&s, 3));
  cr_assert(s.o_closed);
  cr_assert_eq(s.o_close_ev.hop, 1);
  cr_assert_eq(s.r[0].close_ev.reason, CELL_DESTROY_CONNECTFAILED);
  sim_free(&s);
}

static void
flip_forward_middle(sim_t *s, int from, int to, circ_cell_t *cell)
{
  if (from == 1 && to == 2 && (cell->command == CELL_RELAY ||
                               cell->command == CELL_RELAY_EARLY) &&
      s->tamper_count++ == 0)
    cell->payload[100] ^= 0x80;
}

Test(circuit_sim, tampered_forward_cell_closes)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "example.com", 80, 0, &sid), 0);
  s.tamper = flip_forward_middle;
  sim_pump(&s);
  /* Relay 1 could not recognize it and passed it on; relay 2 is the last
   * hop and cannot either: protocol error. */
  cr_assert(s.r[1].closed);
  cr_assert(s.r[1].close_ev.remote, "relay 1 only saw a DESTROY");
  cr_assert(s.r[2].closed);
  cr_assert_not(s.r[2].close_ev.remote);
  cr_assert_eq(s.r[2].close_ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_str_eq(s.r[2].close_ev.what,
                   "unrecognized relay cell at the last hop");
  cr_assert(s.o_closed);
  cr_assert(s.o_close_ev.remote);
  cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_DESTROYED);
  cr_assert_eq(s.c_ends, 1, "stream ended by the teardown");
  cr_assert_eq(s.c_end_reason, RELAY_END_DESTROY);
  sim_free(&s);
}

static void
flip_backward(sim_t *s, int from, int to, circ_cell_t *cell)
{
  if (from == 1 && to == 0 && cell->command == CELL_RELAY &&
      s->tamper_count++ == 0)
    cell->payload[300] ^= 0x04;
}

Test(circuit_sim, tampered_backward_cell_closes)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "example.com", 80, 0, &sid), 0);
  s.tamper = flip_backward;
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert_not(s.o_close_ev.remote);
  cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_str_eq(s.o_close_ev.what, "unrecognized relay cell");
  cr_assert_eq(s.c_connected, 0);
  for (int i = 0; i < 3; i++)
    cr_assert(s.r[i].closed);
  sim_free(&s);
}

Test(circuit_sim, nine_hops_then_no_relay_early_left)
{
  sim_t s;
  sim_init(&s, 10);
  cr_assert(sim_build(&s, 9));
  cr_assert_eq(circ_origin_early_used(s.o), 8);
  cr_assert_eq(circ_relay_early_seen(sim_relay(&s, 0)), 8);
  cr_assert_eq(circ_origin_extend(s.o, &s.r[9].spec), CIRC_ERR_EARLY);
  cr_assert_eq(circ_origin_state(s.o), CIRC_ORIGIN_OPEN);
  /* The long circuit works end to end. */
  cr_assert_eq(circ_origin_send(s.o, 8, RELAY_DROP, 0, NULL, 0), 0);
  cr_assert_eq(circ_origin_send(s.o, 8, 0xC8, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert_eq(s.r[8].n_ignored, 1);
  cr_assert_not(s.o_closed);
  sim_free(&s);
}

static void
make_early(sim_t *s, int from, int to, circ_cell_t *cell)
{
  (void)s;
  if (from == 0 && to == 1 && cell->command == CELL_RELAY)
    cell->command = CELL_RELAY_EARLY;
}

Test(circuit_sim, early_cells_hide_circuit_length)
{
  sim_t s;
  build3(&s);
  circ_cell_t c;
  /* Cells for hop 0 never use RELAY_EARLY. */
  cr_assert_eq(circ_origin_send(s.o, 0, RELAY_DROP, 0, NULL, 0), 0);
  cr_assert(circ_origin_next_cell(s.o, &c));
  cr_assert_eq(c.command, CELL_RELAY);
  cr_assert_eq(circ_relay_handle_cell(sim_relay(&s, 0), CIRC_DIR_PREV,
                                      c.command, c.payload), 0);
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(circ_origin_send(s.o, 2, RELAY_DROP, 0, NULL, 0), 0);
    cr_assert(circ_origin_next_cell(s.o, &c));
    cr_assert_eq(c.command, i < 6 ? CELL_RELAY_EARLY : CELL_RELAY, "i=%d", i);
    cr_assert_eq(circ_relay_handle_cell(sim_relay(&s, 0), CIRC_DIR_PREV,
                                        c.command, c.payload), 0);
  }
  sim_pump(&s);
  cr_assert_not(s.r[0].closed);
  cr_assert_eq(circ_relay_early_seen(sim_relay(&s, 0)), 8);
  cr_assert_eq(circ_relay_early_seen(sim_relay(&s, 1)), 7);
  cr_assert_eq(circ_origin_extend(s.o, &s.r[2].spec), CIRC_ERR_EARLY);
  sim_free(&s);
}

Test(circuit_sim, ninth_relay_early_closes)
{
  sim_t s;
  build3(&s);
  s.tamper = make_early;
  /* Two were used by the EXTEND2s: six more are fine. */
  for (int i = 0; i < 6; i++)
    cr_assert_eq(circ_origin_send(s.o, 0, RELAY_DROP, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert_not(s.r[0].closed);
  cr_assert_eq(circ_relay_early_seen(sim_relay(&s, 0)), 8);
  cr_assert_eq(circ_origin_send(s.o, 0, RELAY_DROP, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert(s.r[0].closed);
  cr_assert_eq(s.r[0].close_ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_str_eq(s.r[0].close_ev.what, "more than 8 RELAY_EARLY cells");
  cr_assert(s.o_closed);
  cr_assert(s.r[2].closed);
  sim_free(&s);
}

Test(circuit_sim, extend2_outside_relay_early_closes)
{
  sim_t s;
  build3(&s);
  uint8_t body[8] = { 0 };
  for (int i = 0; i < 6; i++)   /* use up the RELAY_EARLY cells */
    cr_assert_eq(circ_origin_send(s.o, 1, RELAY_DROP, 0, NULL, 0), 0);
  cr_assert_eq(circ_origin_early_used(s.o), 8);
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_EXTEND2, 0, body, 8), 0);
  sim_pump(&s);
  cr_assert(s.r[2].closed);
  cr_assert_str_eq(s.r[2].close_ev.what, "EXTEND2 outside RELAY_EARLY");
  cr_assert(s.o_closed);
  sim_free(&s);
}

static void
to_origin_early(sim_t *s, int from, int to, circ_cell_t *cell)
{
  (void)s;
  if (from == 1 && to == 0 && cell->command == CELL_RELAY)
    cell->command = CELL_RELAY_EARLY;
}

Test(circuit_sim, inbound_relay_early_closes)
{
  sim_t s;
  build3(&s);
  s.tamper = to_origin_early;
  cr_assert_eq(circ_relay_send(sim_relay(&s, 0), RELAY_DROP, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert_str_eq(s.o_close_ev.what, "inbound RELAY_EARLY");
  sim_free(&s);
}

Test(circuit_sim, build_timeout)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert_eq(circ_origin_start(s.o, &s.r[0].spec, 100, 10), 0);
  circ_cell_t c;
  cr_assert(circ_origin_next_cell(s.o, &c));   /* CREATE2 lost */
  cr_assert_eq(c.command, CELL_CREATE2);
  circ_origin_tick(s.o, 105);
  cr_assert_eq(circ_origin_state(s.o), CIRC_ORIGIN_BUILDING);
  circ_origin_tick(s.o, 110);
  cr_assert_eq(circ_origin_state(s.o), CIRC_ORIGIN_CLOSED);
  cr_assert(circ_origin_next_cell(s.o, &c));
  cr_assert_eq(c.command, CELL_DESTROY);
  cr_assert_eq(c.payload[0], CELL_DESTROY_NONE);
  circ_event_t ev;
  cr_assert(circ_origin_next_event(s.o, &ev));
  cr_assert_eq(ev.type, CIRC_EV_CLOSED);
  cr_assert_eq(ev.reason, CELL_DESTROY_TIMEOUT);
  sim_free(&s);
}

Test(circuit_sim, build_done_stops_deadline)
{
  sim_t s;
  sim_init(&s, 2);
  cr_assert(sim_build(&s, 2));
  circ_origin_tick(s.o, 1000000);
  cr_assert_eq(circ_origin_state(s.o), CIRC_ORIGIN_OPEN);
  sim_free(&s);
}

Test(circuit_sim, truncate_then_teardown)
{
  sim_t s;
  build3(&s);
  cr_assert_eq(circ_origin_send(s.o, 1, RELAY_TRUNCATE, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert(s.r[2].closed, "hop 3 got DESTROY");
  cr_assert_eq(s.r[2].close_ev.reason, CELL_DESTROY_REQUESTED);
  cr_assert(s.o_closed);
  cr_assert(s.o_close_ev.remote);
  cr_assert_eq(s.o_close_ev.hop, 1);
  cr_assert_str_eq(s.o_close_ev.what, "TRUNCATED received");
  cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_REQUESTED);
  cr_assert(s.r[0].closed);
  cr_assert(s.r[1].closed);
  sim_free(&s);
}

/* Swallow every backward RELAY cell once the stream is open: no SENDME
 * reaches the client. */
static void
drop_backward(sim_t *s, int from, int to, circ_cell_t *cell)
{
  if (from == 1 && to == 0 && cell->command == CELL_RELAY &&
      s->c_connected > 0)
    cell->command = CELL_PADDING;
}

Test(circuit_sim, transfer_stalls_without_sendmes)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  uint8_t *up = pattern(MIB, 3);
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "example.com", 443, 0, &sid), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_connected, 1);
  s.tamper = drop_backward;
  cr_assert_eq(relay_stream_write(t, sid, up, MIB), 0);
  sim_pump(&s);
  /* Exactly one stream window (500 cells) got through; the first cell of
   * each of the 5 circuit increments is 20 bytes short for padding. */
  size_t expect = 5 * (RELAY_BODY_MAX - 20) + 495 * RELAY_BODY_MAX;
  cr_assert_eq(s.x_rx_len, expect);
  cr_assert(memcmp(s.x_rx, up, expect) == 0);
  cr_assert_eq(relay_stream_pending(t, sid), MIB - expect);
  cr_assert_eq(circ_origin_flow(s.o, 2)->package_window, 500);
  cr_assert_not(s.o_closed);
  free(up);
  sim_free(&s);
}
