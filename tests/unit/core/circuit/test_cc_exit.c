/* test_cc_exit.c -- congestion control at the relay end of a circuit
 * (proposal 324 4, 2.2, 4.1; circuit_relay.c circ_relay_enable_cc()): the
 * exit answers CC_REQUEST with CC_RESPONSE and then runs a congestion
 * window instead of the fixed 1000-cell circuit window, accepts only
 * authenticated circuit SENDMEs, and uses XON/XOFF instead of stream
 * windows -- checked against allium's own client through the in-memory
 * circuit simulation (circuit_sim.c: the simulated exit enables congestion
 * control exactly when it sent CC_RESPONSE, as the cell engine does). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/circuit/congestion.h"
#include "circuit_sim.h"

static void
cc_sim(sim_t *s, uint8_t exit_inc, bool want)
{
  sim_init(s, 3);
  for (size_t i = 0; i < 3; i++) {
    memcpy(s->r[i].keys.ed_id, s->r[i].spec.ed_id, 32);
    s->r[i].keys.has_ed_id = true;
  }
  s->r[2].server_params.cc_sendme_inc = exit_inc;
  s->r[2].spec.want_cc = want;
  cc_params_default(&s->r[2].spec.cc_params);
  cr_assert(sim_build(s, 3));
}

static cc_stats_t
exit_stats(sim_t *s)
{
  cc_stats_t st;
  const cc_state_t *cc = circ_relay_cc(sim_relay(s, 2));
  cr_assert_not_null(cc);
  cc_get_stats(cc, &st);
  return st;
}

Test(cc_exit, negotiated_only_at_the_exit)
{
  sim_t s;
  cc_sim(&s, 31, true);
  cr_assert_null(circ_relay_cc(sim_relay(&s, 0)));
  cr_assert_null(circ_relay_cc(sim_relay(&s, 1)));
  cc_stats_t st = exit_stats(&s);
  cr_assert_eq(st.sendme_inc, 31);
  cr_assert_eq(st.cwnd, 124);
  cr_assert_not_null(circ_origin_cc(s.o, 2));
  sim_free(&s);
}

Test(cc_exit, not_asked_keeps_fixed_windows)
{
  sim_t s;
  cc_sim(&s, 31, false);   /* client uses plain ntor: no CC_REQUEST */
  cr_assert_null(circ_relay_cc(sim_relay(&s, 2)));
  uint8_t b[10] = { 0 };
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_DATA, 9, b, 10), 0);
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_DATA, 9, b, 10),
               CIRC_ERR_WINDOW);
  sim_free(&s);
}

Test(cc_exit, congestion_window_limits_exit_data)
{
  sim_t s;
  cc_sim(&s, 31, true);
  uint8_t b[10] = { 0 };
  for (int i = 0; i < 124; i++)
    cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_DATA, 9, b, 10), 0,
                 "cell %d", i);
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_DATA, 9, b, 10),
               CIRC_ERR_WINDOW);
  cc_stats_t st = exit_stats(&s);
  cr_assert_eq(st.inflight, 124);
  cr_assert_eq(st.pending_digests, 4);
  /* the client's SENDMEs (every 31 cells) open the window again */
  sim_pump(&s);
  st = exit_stats(&s);
  cr_assert_eq(st.sendmes_received, 4);
  cr_assert_eq(st.inflight, 0);
  cr_assert_not(s.r[2].closed);
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_DATA, 9, b, 10), 0);
  sim_free(&s);
}

Test(cc_exit, download_past_the_fixed_window)
{
  sim_t s;
  cc_sim(&s, 31, true);
  sim_attach_exit(&s, 2);
  relay_streams_t *t = circ_origin_attach_streams(s.o, 2);
  size_t n = 3 * 1000 * RELAY_BODY_MAX;   /* ~3000 cells: 3 fixed windows */
  uint8_t *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (uint8_t)(i * 7 + 3);
  s.exit_echo_begin = true;
  s.x_reply = big;
  s.x_reply_len = n;
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "h.example", 80, 0, &sid), 0);
  for (int i = 0; i < 200 && s.c_rx_len < n; i++)
    sim_pump(&s);
  cr_assert_not(s.o_closed);
  cr_assert_eq(s.c_rx_len, n);
  cr_assert_eq(memcmp(s.c_rx, big, n), 0);
  cc_stats_t st = exit_stats(&s);
  cr_assert_geq(st.cells_sent, 3000);
  /* one authenticated circuit SENDME per 31 DATA cells, nothing else */
  cr_assert_eq(st.sendmes_received, st.cells_sent / 31);
  cr_assert_eq(st.pending_digests, st.cells_sent / 31 - st.sendmes_received);
  free(big);
  sim_free(&s);
}

Test(cc_exit, upload_client_to_exit)
{
  sim_t s;
  cc_sim(&s, 31, true);
  sim_attach_exit(&s, 2);
  relay_streams_t *t = circ_origin_attach_streams(s.o, 2);
  s.exit_echo_begin = true;
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "h.example", 80, 0, &sid), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_connected, 1);
  size_t n = 2000 * RELAY_BODY_MAX;
  uint8_t *big = calloc(1, n);
  cr_assert_eq(relay_stream_write(t, sid, big, n), 0);
  for (int i = 0; i < 200 && s.x_rx_len < n; i++) {
    sim_pump(&s);
    relay_streams_flush(t);
  }
  cr_assert_eq(s.x_rx_len, n);
  cc_stats_t st = exit_stats(&s);
  cr_assert_geq(st.cells_received, 2000);
  cr_assert_eq(st.sendmes_sent, st.cells_received / 31);
  cr_assert_not(s.r[2].closed);
  free(big);
  sim_free(&s);
}

Test(cc_exit, sendme_v0_closes_the_exit_circuit)
{
  sim_t s;
  cc_sim(&s, 31, true);
  uint8_t b[10] = { 0 };
  for (int i = 0; i < 31; i++)
    cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_DATA, 9, b, 10), 0);
  /* a v0 SENDME (no digest) from the client, sent before the exit's DATA
   * reaches it */
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_SENDME, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert(s.r[2].closed);
  cr_assert_str_eq(s.r[2].close_ev.what,
                   "circuit SENDME digest or version rejected");
  sim_free(&s);
}

Test(cc_exit, sendme_with_nothing_outstanding_closes)
{
  sim_t s;
  cc_sim(&s, 31, true);
  uint8_t body[23] = { 1, 0, 20 };
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_SENDME, 0, body, sizeof(body)),
               0);
  sim_pump(&s);
  cr_assert(s.r[2].closed);
  cr_assert_str_eq(s.r[2].close_ev.what,
                   "circuit SENDME with nothing outstanding");
  sim_free(&s);
}

Test(cc_exit, xoff_from_client_stops_the_exit_stream)
{
  sim_t s;
  cc_sim(&s, 31, true);
  sim_attach_exit(&s, 2);
  relay_streams_t *t = circ_origin_attach_streams(s.o, 2);
  s.exit_echo_begin = true;
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "h.example", 80, 0, &sid), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_connected, 1);
  relay_streams_t *xt = circ_relay_streams(sim_relay(&s, 2));
  /* the client's reader backs up: XOFF */
  cr_assert_eq(relay_stream_set_recv_paused(t, sid, true), 0);
  sim_pump(&s);
  cr_assert(relay_stream_xoff_received(xt, s.exit_sid));
  static uint8_t data[200 * RELAY_BODY_MAX];
  cr_assert_eq(relay_stream_write(xt, s.exit_sid, data, sizeof(data)), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_rx_len, 0, "the exit sent %zu bytes after XOFF",
               s.c_rx_len);
  cr_assert_eq(relay_stream_pending(xt, s.exit_sid), sizeof(data));
  /* XON: the exit resumes and everything arrives */
  cr_assert_eq(relay_stream_set_recv_paused(t, sid, false), 0);
  for (int i = 0; i < 50 && s.c_rx_len < sizeof(data); i++)
    sim_pump(&s);
  cr_assert_not(relay_stream_xoff_received(xt, s.exit_sid));
  cr_assert_eq(s.c_rx_len, sizeof(data));
  /* no stream windows: a stream SENDME is a protocol violation */
  cr_assert_eq(relay_streams_handle(xt, RELAY_SENDME, s.exit_sid, NULL, 0),
               RELAY_STREAM_ERR_PROTOCOL);
  sim_free(&s);
}

Test(cc_exit, enable_cc_arguments_and_state)
{
  sim_t s;
  cc_sim(&s, 31, false);
  cc_params_t p;
  cc_params_default(&p);
  circ_relay_t *c = sim_relay(&s, 2);
  cr_assert_eq(circ_relay_enable_cc(NULL, &p, 31), CIRC_ERR_ARG);
  cr_assert_eq(circ_relay_enable_cc(c, NULL, 31), CIRC_ERR_ARG);
  cr_assert_eq(circ_relay_enable_cc(c, &p, 0), CIRC_ERR_ARG);
  uint8_t b[10] = { 0 };
  cr_assert_eq(circ_relay_send(c, RELAY_DATA, 9, b, 10), 0);
  /* windows already in use: too late to switch */
  cr_assert_eq(circ_relay_enable_cc(c, &p, 31), CIRC_ERR_STATE);
  cr_assert_null(circ_relay_cc(c));
  sim_free(&s);
}
