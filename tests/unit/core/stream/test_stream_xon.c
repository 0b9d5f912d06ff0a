/* test_stream_xon.c -- streams under congestion control (proposal 324 4.1,
 * core/stream/stream.c): no stream windows and no stream SENDMEs (one
 * arriving is a protocol violation), XOFF / XON sent when the reader backs
 * up and drains, an XOFF from the peer stops packaging until its XON,
 * malformed XON / XOFF, and XON / XOFF ignored without congestion control. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/stream/flow.h"
#include "allium/core/stream/stream.h"

typedef struct xs_t {
  bool open;
  int sent, data, sendmes, xon, xoff;
  uint8_t last_cmd;
  uint8_t last_body[RELAY_BODY_MAX];
  size_t last_len;
} xs_t;

static int
xs_send(void *ctx, uint8_t cmd, uint16_t sid, const uint8_t *b, size_t n)
{
  xs_t *x = ctx;
  (void)sid;
  x->sent++;
  x->last_cmd = cmd;
  x->last_len = n;
  if (n)
    memcpy(x->last_body, b, n);
  x->data += cmd == RELAY_DATA;
  x->sendmes += cmd == RELAY_SENDME;
  x->xon += cmd == RELAY_XON;
  x->xoff += cmd == RELAY_XOFF;
  return 0;
}

static bool
xs_can(void *ctx)
{
  return ((xs_t *)ctx)->open;
}

static relay_streams_t *
xs_open(xs_t *x, bool flowctrl, uint16_t *sid)
{
  relay_stream_sender_t s = { xs_send, xs_can, NULL, x };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &s);
  relay_streams_set_flowctrl(t, flowctrl);
  cr_assert_eq(relay_stream_begin(t, "h.example", 80, 0, sid), 0);
  uint8_t conn[8] = { 127, 0, 0, 1, 0, 0, 0, 60 };
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, *sid, conn, 8), 0);
  relay_stream_event_t ev;
  while (relay_streams_next_event(t, &ev))
    ;
  return t;
}

Test(stream_xon, no_windows_no_sendmes)
{
  xs_t x = { .open = true };
  uint16_t a;
  relay_streams_t *t = xs_open(&x, true, &a);
  relay_stream_event_t ev;
  /* far more than a stream window arrives: no SENDME, no error */
  for (int i = 0; i < 3 * RELAY_STREAMWINDOW_START; i++) {
    cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                      (const uint8_t *)"d", 1), 0);
    while (relay_streams_next_event(t, &ev))
      ;
  }
  cr_assert_eq(x.sendmes, 0);
  /* and we may send more than a stream window */
  static uint8_t big[RELAY_BODY_MAX * 600];
  cr_assert_eq(relay_stream_write(t, a, big, sizeof(big)), 0);
  cr_assert_eq(x.data, 600);
  cr_assert_eq(relay_stream_pending(t, a), 0);
  /* a stream SENDME is a protocol violation under congestion control */
  cr_assert_eq(relay_streams_handle(t, RELAY_SENDME, a, NULL, 0),
               RELAY_STREAM_ERR_PROTOCOL);
  relay_streams_free(t);
}

Test(stream_xon, xoff_and_xon_sent_for_a_slow_reader)
{
  xs_t x = { .open = true };
  uint16_t a;
  relay_streams_t *t = xs_open(&x, true, &a);
  cr_assert_eq(relay_stream_set_recv_paused(t, a, true), 0);
  cr_assert_eq(x.xoff, 1);
  cr_assert_eq(x.last_cmd, RELAY_XOFF);
  cr_assert_eq(x.last_len, 1);
  cr_assert_eq(x.last_body[0], 0);
  cr_assert_eq(relay_stream_set_recv_paused(t, a, true), 0);
  cr_assert_eq(x.xoff, 1, "one XOFF per pause");
  cr_assert_eq(relay_stream_set_recv_paused(t, a, false), 0);
  cr_assert_eq(x.xon, 1);
  cr_assert_eq(x.last_cmd, RELAY_XON);
  cr_assert_eq(x.last_len, 5);
  static const uint8_t unlimited[5] = { 0, 0, 0, 0, 0 };
  cr_assert_arr_eq(x.last_body, unlimited, 5);
  cr_assert_eq(relay_stream_set_recv_paused(t, a, false), 0);
  cr_assert_eq(x.xon, 1);
  cr_assert_eq(x.sendmes, 0);
  cr_assert_eq(relay_stream_set_recv_paused(t, 999, true),
               RELAY_STREAM_ERR_STATE);
  relay_streams_free(t);
}

Test(stream_xon, peer_xoff_stops_packaging)
{
  xs_t x = { .open = true };
  uint16_t a;
  relay_streams_t *t = xs_open(&x, true, &a);
  static const uint8_t xoff[1] = { 0 }, xon[5] = { 0, 0, 0, 1, 0 };
  cr_assert_eq(relay_streams_handle(t, RELAY_XOFF, a, xoff, 1), 0);
  cr_assert(relay_stream_xoff_received(t, a));
  uint8_t buf[2000] = { 0 };
  cr_assert_eq(relay_stream_write(t, a, buf, sizeof(buf)), 0);
  cr_assert_eq(x.data, 0, "nothing packaged after XOFF");
  cr_assert_eq(relay_stream_pending(t, a), sizeof(buf));
  cr_assert_eq(relay_streams_handle(t, RELAY_XON, a, xon, 5), 0);
  cr_assert_not(relay_stream_xoff_received(t, a));
  cr_assert_eq(x.data, 5, "XON resumes: 2000 bytes in 5 cells");
  cr_assert_eq(relay_stream_pending(t, a), 0);
  /* malformed: bad version, truncated XON */
  static const uint8_t bad[5] = { 1, 0, 0, 0, 0 };
  cr_assert_eq(relay_streams_handle(t, RELAY_XOFF, a, bad, 1),
               RELAY_STREAM_ERR_PROTOCOL);
  cr_assert_eq(relay_streams_handle(t, RELAY_XON, a, bad, 5),
               RELAY_STREAM_ERR_PROTOCOL);
  cr_assert_eq(relay_streams_handle(t, RELAY_XON, a, xon, 4),
               RELAY_STREAM_ERR_PROTOCOL);
  cr_assert_eq(relay_streams_handle(t, RELAY_XOFF, a, NULL, 0),
               RELAY_STREAM_ERR_PROTOCOL);
  /* unknown stream: dropped */
  cr_assert_eq(relay_streams_handle(t, RELAY_XOFF, 4242, xoff, 1), 0);
  relay_streams_free(t);
}

Test(stream_xon, ignored_without_congestion_control)
{
  xs_t x = { .open = true };
  uint16_t a;
  relay_streams_t *t = xs_open(&x, false, &a);
  static const uint8_t xoff[1] = { 0 };
  cr_assert_eq(relay_streams_handle(t, RELAY_XOFF, a, xoff, 1), 0);
  cr_assert_not(relay_stream_xoff_received(t, a));
  uint8_t buf[100] = { 0 };
  cr_assert_eq(relay_stream_write(t, a, buf, sizeof(buf)), 0);
  cr_assert_eq(x.data, 1);
  /* windows still apply: pausing holds SENDMEs, sends no XOFF */
  cr_assert_eq(relay_stream_set_recv_paused(t, a, true), 0);
  cr_assert_eq(x.xoff, 0);
  cr_assert(relay_stream_command_is_stream(RELAY_XON, 1));
  cr_assert_not(relay_stream_command_is_stream(RELAY_XOFF, 0));
  relay_streams_free(t);
}
