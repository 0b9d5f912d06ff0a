/* test_flow_sendme.c -- SENDME window accounting (tor-spec 7.3, 7.4,
 * proposal 289) on its own and inside circuits: forged SENDME v1 digests,
 * window overflows, SENDME versions. */
#include <criterion/criterion.h>
#include <string.h>

#include "circuit_sim.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/stream/flow.h"

Test(flow, circuit_package_and_digests)
{
  relay_flow_t f;
  uint8_t d[RELAY_SENDME_DIGEST_LEN];
  relay_flow_init_circuit(&f);
  int triggers = 0;
  for (int i = 0; i < 1000; i++) {
    cr_assert(relay_flow_can_package(&f));
    bool trig = relay_flow_packaging_triggers_sendme(&f);
    /* The 100th, 200th, ... cell triggers. */
    cr_assert_eq(trig, (i + 1) % 100 == 0, "cell %d", i);
    memset(d, i & 0xff, sizeof(d));
    cr_assert_eq(relay_flow_note_packaged(&f, d), 0);
    triggers += trig;
  }
  cr_assert_eq(triggers, 10);
  cr_assert_eq(f.n_pending, 10);
  cr_assert_not(relay_flow_can_package(&f));
  cr_assert_eq(relay_flow_note_packaged(&f, d), RELAY_FLOW_ERR_EMPTY);

  relay_sendme_t s = { .version = 1 };
  memset(s.digest, 99, sizeof(s.digest));       /* digest of cell 99 */
  relay_sendme_t bad = s;
  bad.digest[19] ^= 1;
  cr_assert_eq(relay_flow_handle_sendme(&f, &bad), RELAY_FLOW_ERR_DIGEST);
  relay_sendme_t v0 = { .version = 0 };
  cr_assert_eq(relay_flow_handle_sendme(&f, &v0), RELAY_FLOW_ERR_VERSION);
  cr_assert_eq(relay_flow_handle_sendme(&f, NULL), RELAY_FLOW_ERR_VERSION);
  cr_assert_eq(f.package_window, 0, "errors change nothing");
  cr_assert_eq(relay_flow_handle_sendme(&f, &s), 0);
  cr_assert_eq(f.package_window, 100);
  /* Replaying the same digest fails: the next expected one is cell 199. */
  cr_assert_eq(relay_flow_handle_sendme(&f, &s), RELAY_FLOW_ERR_DIGEST);
  for (int k = 1; k < 10; k++) {
    memset(s.digest, (k * 100 + 99) & 0xff, sizeof(s.digest));
    cr_assert_eq(relay_flow_handle_sendme(&f, &s), 0, "sendme %d", k);
  }
  cr_assert_eq(f.package_window, 1000);
  cr_assert_eq(relay_flow_handle_sendme(&f, &s), RELAY_FLOW_ERR_OVERFLOW);
  relay_flow_clear(&f);
}

Test(flow, circuit_deliver)
{
  relay_flow_t f;
  relay_flow_init_circuit(&f);
  int sendmes = 0;
  for (int i = 0; i < 5000; i++) {
    int r = relay_flow_note_delivered(&f);
    cr_assert_geq(r, 0);
    if (r == 1) {
      cr_assert_eq((i + 1) % 100, 0);
      sendmes++;
    }
  }
  cr_assert_eq(sendmes, 50);
  /* Without the automatic raise the window would underflow. */
  f.deliver_window = 0;
  cr_assert_eq(relay_flow_note_delivered(&f), RELAY_FLOW_ERR_DELIVER);
}

Test(flow, stream_windows)
{
  relay_flow_t f;
  relay_flow_init_stream(&f);
  cr_assert_eq(f.package_window, 500);
  cr_assert_eq(relay_flow_handle_sendme(&f, NULL), RELAY_FLOW_ERR_OVERFLOW);
  for (int i = 0; i < 50; i++)
    cr_assert_eq(relay_flow_note_packaged(&f, NULL), 0);
  cr_assert_eq(f.n_pending, 0, "stream level keeps no digests");
  cr_assert_eq(relay_flow_handle_sendme(&f, NULL), 0);
  cr_assert_eq(f.package_window, 500);
  int sendmes = 0;
  for (int i = 0; i < 500; i++)
    sendmes += relay_flow_note_delivered(&f);
  cr_assert_eq(sendmes, 10);   /* one every 50 cells */
}

/* ---- inside circuits ---- */

static relay_streams_t *
build3(sim_t *s)
{
  sim_init(s, 3);
  cr_assert(sim_build(s, 3));
  sim_attach_exit(s, 2);
  return circ_origin_attach_streams(s->o, 2);
}

static void
send_data_cells(sim_t *s, int n)
{
  uint8_t b[100] = { 1 };
  for (int i = 0; i < n; i++)
    cr_assert_eq(circ_origin_send(s->o, 2, RELAY_DATA, 77, b, sizeof(b)), 0);
}

Test(flow, forged_sendme_v1_closes_origin)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 3));
  send_data_cells(&s, 100);   /* the 100th digest is now expected */
  cr_assert_eq(circ_origin_flow(s.o, 2)->n_pending, 1);
  uint8_t forged[23] = { 1, 0, 20 };
  memset(forged + 3, 0x5a, 20);
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_SENDME, 0, forged,
                               sizeof(forged)), 0);
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_eq(s.o_close_ev.hop, 2);
  cr_assert_str_eq(s.o_close_ev.what, "SENDME digest or version rejected");
  sim_free(&s);
}

Test(flow, genuine_sendme_keeps_circuit)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 3));
  send_data_cells(&s, 250);
  sim_pump(&s);
  cr_assert_not(s.o_closed);
  cr_assert_eq(s.r[2].n_relay_msgs, 250);   /* no stream table: events */
  cr_assert_eq(s.r[2].last_msg.command, RELAY_DATA);
  /* Two SENDMEs came back and were accepted. */
  cr_assert_eq(circ_origin_flow(s.o, 2)->package_window, 1000 - 250 + 200);
  cr_assert_eq(circ_origin_flow(s.o, 2)->n_pending, 0);
  sim_free(&s);
}

Test(flow, forged_sendme_v1_closes_relay)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 3));
  uint8_t b[10] = { 0 };
  for (int i = 0; i < 100; i++)
    cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_DATA, 9, b, 10), 0);
  uint8_t forged[23] = { 1, 0, 20 };
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_SENDME, 0, forged,
                                sizeof(forged)), 0);
  sim_pump(&s);
  cr_assert(s.r[2].closed);
  cr_assert_str_eq(s.r[2].close_ev.what, "SENDME digest or version rejected");
  cr_assert(s.o_closed);
  sim_free(&s);
}

Test(flow, sendme_v0_refused)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 3));
  send_data_cells(&s, 100);
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_SENDME, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert_str_eq(s.o_close_ev.what, "SENDME digest or version rejected");
  sim_free(&s);
}

Test(flow, circuit_window_overflow_closes)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 3));
  uint8_t body[23] = { 1, 0, 20 };
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_SENDME, 0, body,
                               sizeof(body)), 0);
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert_str_eq(s.o_close_ev.what, "SENDME overflows the circuit window");
  sim_free(&s);
}

Test(flow, stream_window_overflow_closes)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "a.example", 80, 0, &sid), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_connected, 1);
  /* A stream SENDME while the client's stream window is full. */
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_SENDME, sid, NULL, 0),
               0);
  sim_pump(&s);
  cr_assert(s.o_closed);
  cr_assert_str_eq(s.o_close_ev.what, "stream protocol violation");
  sim_free(&s);
}

Test(flow, circuit_window_stops_packaging)
{
  sim_t s;
  sim_init(&s, 2);
  cr_assert(sim_build(&s, 2));
  uint8_t b[1] = { 0 };
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(circ_origin_send(s.o, 1, RELAY_DATA, 3, b, 1), 0);
  cr_assert_eq(circ_origin_send(s.o, 1, RELAY_DATA, 3, b, 1), CIRC_ERR_WINDOW);
  sim_pump(&s);
  cr_assert_not(s.o_closed);
  cr_assert_eq(circ_origin_send(s.o, 1, RELAY_DATA, 3, b, 1), 0);
  sim_free(&s);
}
