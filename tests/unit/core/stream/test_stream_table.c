/* test_stream_table.c -- the stream table's constant-time cell path
 * (core/stream/stream.c; tor-spec 6.2-6.3, 7.4): lookups by id through a
 * hash map over thousands of streams removed in random order, the data
 * sink (incoming DATA without a copy, in order with queued events, never
 * for malformed, oversized or unknown-stream input), writes packaged
 * straight from the caller's bytes while nothing is queued, the ready list
 * (round robin, only streams with queued bytes), and a sink that ends the
 * stream or the whole table from inside the call. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/stream/flow.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/core/stream/stream.h"

typedef struct snd_t {
  bool open;
  int sent;
  uint8_t cmd[64];
  uint16_t sid[64];
  size_t len[64];
  uint8_t bytes[8192];
  size_t n_bytes;          /* DATA bytes seen, in order */
} snd_t;

static int
snd_send(void *ctx, uint8_t cmd, uint16_t sid, const uint8_t *b, size_t n)
{
  snd_t *f = ctx;
  cr_assert_leq(n, RELAY_BODY_MAX);
  if (f->sent < 64) {
    f->cmd[f->sent] = cmd;
    f->sid[f->sent] = sid;
    f->len[f->sent] = n;
  }
  f->sent++;
  if (cmd == RELAY_DATA && f->n_bytes + n <= sizeof(f->bytes)) {
    memcpy(f->bytes + f->n_bytes, b, n);
    f->n_bytes += n;
  }
  return 0;
}

static bool
snd_can(void *ctx)
{
  return ((snd_t *)ctx)->open;
}

typedef struct sink_t {
  int calls;
  uint16_t sid;
  uint8_t got[4096];
  size_t n;
  relay_streams_t *t;
  bool end_in_sink;        /* relay_stream_end() from inside */
  bool close_in_sink;      /* relay_streams_circuit_closed() from inside */
} sink_t;

static void
sink_cb(void *arg, uint16_t sid, const uint8_t *data, size_t len)
{
  sink_t *k = arg;
  k->calls++;
  k->sid = sid;
  cr_assert_leq(k->n + len, sizeof(k->got));
  memcpy(k->got + k->n, data, len);
  k->n += len;
  if (k->end_in_sink)
    cr_assert_eq(relay_stream_end(k->t, sid, RELAY_END_DONE), 0);
  if (k->close_in_sink)
    relay_streams_circuit_closed(k->t);
}

/* A client table with stream sid open (BEGIN sent, CONNECTED seen and
 * drained). */
static relay_streams_t *
open_client(snd_t *f, relay_stream_sender_t *s, uint16_t *sid)
{
  *s = (relay_stream_sender_t){ snd_send, snd_can, NULL, f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, s);
  cr_assert_eq(relay_stream_begin(t, "h.example", 80, 0, sid), 0);
  uint8_t conn[8] = { 127, 0, 0, 1, 0, 0, 0, 60 };
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, *sid, conn, 8), 0);
  relay_stream_event_t ev;
  cr_assert_eq(relay_streams_next_event(t, &ev), 1);
  cr_assert_eq(ev.type, RELAY_STREAM_EV_CONNECTED);
  return t;
}

Test(stream_table, data_sink_keeps_order_with_events)
{
  snd_t f = { .open = true };
  relay_stream_sender_t s;
  uint16_t a, b;
  relay_streams_t *t = open_client(&f, &s, &a);
  sink_t k = { .t = t };
  relay_streams_set_data_sink(t, sink_cb, &k);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                    (const uint8_t *)"hello", 5), 0);
  cr_assert_eq(k.calls, 1);
  cr_assert_eq(k.sid, a);
  cr_assert_eq(memcmp(k.got, "hello", 5), 0);
  cr_assert_not(relay_streams_has_events(t), "no event for sunk data");
  /* An event waits (CONNECTED of stream b): DATA behind it is an event
   * too, so the owner sees CONNECTED(b) before DATA(a). */
  cr_assert_eq(relay_stream_begin(t, "h.example", 443, 0, &b), 0);
  uint8_t conn[8] = { 127, 0, 0, 1, 0, 0, 0, 60 };
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, b, conn, 8), 0);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                    (const uint8_t *)"world", 5), 0);
  cr_assert_eq(k.calls, 1);
  relay_stream_event_t ev;
  cr_assert_eq(relay_streams_next_event(t, &ev), 1);
  cr_assert_eq(ev.type, RELAY_STREAM_EV_CONNECTED);
  cr_assert_eq(ev.stream_id, b);
  cr_assert_eq(relay_streams_next_event(t, &ev), 1);
  cr_assert_eq(ev.type, RELAY_STREAM_EV_DATA);
  cr_assert_eq(ev.len, 5);
  cr_assert_eq(memcmp(ev.data, "world", 5), 0);
  cr_assert_not(relay_streams_has_events(t));
  /* Malformed, oversized, unknown-stream and stream-0 DATA never reach
   * the sink. */
  uint8_t big[RELAY_BODY_MAX + 1] = { 0 };
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a, big, sizeof(big)),
               RELAY_STREAM_ERR_PROTOCOL);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, 0, big, 4),
               RELAY_STREAM_ERR_PROTOCOL);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, 999, big, 4), 0);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a, NULL, 3),
               RELAY_STREAM_ERR_PROTOCOL);
  cr_assert_eq(k.calls, 1);
  /* Clearing the sink brings the events back. */
  relay_streams_set_data_sink(t, NULL, NULL);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                    (const uint8_t *)"x", 1), 0);
  cr_assert_eq(k.calls, 1);
  cr_assert(relay_streams_has_events(t));
  relay_streams_free(t);
}

Test(stream_table, sink_counts_the_window_and_sends_sendmes)
{
  snd_t f = { .open = true };
  relay_stream_sender_t s;
  uint16_t a;
  relay_streams_t *t = open_client(&f, &s, &a);
  sink_t k = { .t = t };
  relay_streams_set_data_sink(t, sink_cb, &k);
  int before = f.sent;
  for (int i = 0; i < RELAY_STREAMWINDOW_INCREMENT; i++)
    cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                      (const uint8_t *)"d", 1), 0);
  cr_assert_eq(k.calls, RELAY_STREAMWINDOW_INCREMENT);
  cr_assert_eq(f.sent, before + 1, "one stream SENDME per increment");
  cr_assert_eq(f.cmd[before], RELAY_SENDME);
  cr_assert_eq(f.sid[before], a);
  relay_streams_free(t);
}

Test(stream_table, sink_may_end_the_stream_or_close_the_table)
{
  snd_t f = { .open = true };
  relay_stream_sender_t s;
  uint16_t a;
  relay_streams_t *t = open_client(&f, &s, &a);
  sink_t k = { .t = t, .end_in_sink = true };
  relay_streams_set_data_sink(t, sink_cb, &k);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                    (const uint8_t *)"bye", 3), 0);
  cr_assert_eq(relay_stream_state(t, a), RELAY_STREAM_CLOSING);
  cr_assert_eq(f.cmd[f.sent - 1], RELAY_END);
  /* Half-closed: more DATA is dropped, not sunk. */
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                    (const uint8_t *)"more", 4), 0);
  cr_assert_eq(k.calls, 1);
  relay_streams_free(t);

  memset(&f, 0, sizeof(f));
  f.open = true;
  t = open_client(&f, &s, &a);
  sink_t k2 = { .t = t, .close_in_sink = true };
  relay_streams_set_data_sink(t, sink_cb, &k2);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, a,
                                    (const uint8_t *)"x", 1), 0);
  cr_assert_eq(k2.calls, 1);
  cr_assert_eq(relay_stream_state(t, a), RELAY_STREAM_NONE);
  relay_stream_event_t ev;
  cr_assert_eq(relay_streams_next_event(t, &ev), 1);
  cr_assert_eq(ev.type, RELAY_STREAM_EV_END);
  relay_streams_free(t);
}

Test(stream_table, thousands_of_streams_found_after_random_removals)
{
  snd_t f = { .open = true };
  relay_stream_sender_t s = { snd_send, snd_can, NULL, &f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &s);
  enum { N = 3000 };
  static uint16_t ids[N];
  static bool gone[N];
  memset(gone, 0, sizeof(gone));
  for (int i = 0; i < N; i++)
    cr_assert_eq(relay_stream_begin(t, "h", 80, 0, &ids[i]), 0);
  srand(9);
  for (int round = 0; round < N / 2; round++) {
    int i = rand() % N;
    if (gone[i])
      continue;
    cr_assert_eq(relay_streams_handle(t, RELAY_END, ids[i], NULL, 0), 0);
    gone[i] = true;
    if (round % 97 == 0)
      for (int j = 0; j < N; j++)
        cr_assert_eq(relay_stream_state(t, ids[j]),
                     gone[j] ? RELAY_STREAM_NONE : RELAY_STREAM_CONNECTING,
                     "stream %d after %d removals", j, round);
  }
  for (int j = 0; j < N; j++)
    cr_assert_eq(relay_stream_state(t, ids[j]),
                 gone[j] ? RELAY_STREAM_NONE : RELAY_STREAM_CONNECTING);
  relay_streams_free(t);
}

Test(stream_table, write_packages_straight_then_queues)
{
  snd_t f = { .open = true };
  relay_stream_sender_t s;
  uint16_t a;
  relay_streams_t *t = open_client(&f, &s, &a);
  static uint8_t data[1200];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (uint8_t)(i * 13);
  uint64_t mem0 = relay_mem_total();
  int before = f.sent;
  cr_assert_eq(relay_stream_write(t, a, data, sizeof(data)), 0);
  cr_assert_eq(f.sent, before + 3);   /* 498 + 498 + 204 */
  cr_assert_eq(f.len[before + 2], 204);
  cr_assert_eq(relay_stream_pending(t, a), 0);
  cr_assert_eq(relay_mem_total(), mem0, "nothing was queued");
  cr_assert_eq(f.n_bytes, sizeof(data));
  cr_assert_eq(memcmp(f.bytes, data, sizeof(data)), 0);
  /* Circuit window closed: the bytes wait, counted in MaxMemInQueues. */
  f.open = false;
  cr_assert_eq(relay_stream_write(t, a, data, 700), 0);
  cr_assert_eq(relay_stream_pending(t, a), 700);
  cr_assert_eq(relay_mem_total(), mem0 + 700);
  /* Queued bytes go first: a later write appends behind them. */
  f.open = true;
  cr_assert_eq(relay_stream_write(t, a, data + 700, 10), 0);
  cr_assert_eq(relay_stream_pending(t, a), 0);
  cr_assert_eq(relay_mem_total(), mem0);
  cr_assert_eq(f.n_bytes, sizeof(data) + 710);
  cr_assert_eq(memcmp(f.bytes + sizeof(data), data, 710), 0);
  relay_streams_free(t);
}

Test(stream_table, ready_streams_take_turns)
{
  snd_t f = { .open = false };
  relay_stream_sender_t s = { snd_send, snd_can, NULL, &f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &s);
  uint16_t id[3];
  uint8_t conn[8] = { 127, 0, 0, 1, 0, 0, 0, 60 };
  static uint8_t data[3 * RELAY_BODY_MAX];
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(relay_stream_begin(t, "h", 80, 0, &id[i]), 0);
    cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, id[i], conn, 8), 0);
  }
  /* Stream 1 has nothing queued: it never takes a turn. */
  cr_assert_eq(relay_stream_write(t, id[0], data, sizeof(data)), 0);
  cr_assert_eq(relay_stream_write(t, id[2], data, sizeof(data)), 0);
  int before = f.sent;
  f.open = true;
  relay_streams_flush(t);
  cr_assert_eq(f.sent, before + 6);
  for (int i = 0; i < 6; i++) {
    cr_assert_eq(f.cmd[before + i], RELAY_DATA);
    cr_assert_eq(f.sid[before + i], id[(i % 2) ? 2 : 0], "cell %d", i);
  }
  relay_streams_free(t);
}

/* The drain mark: a write that leaves >= mark queued asks for one DRAINED
 * event once packaging takes the queue below mark; none without a mark,
 * none while the queue stays above it, and one per crossing. */
Test(stream_table, drained_event_after_the_queue_falls_below_the_mark)
{
  snd_t f = { .open = false };   /* circuit window closed: everything queues */
  relay_stream_sender_t s;
  uint16_t a;
  relay_streams_t *t = open_client(&f, &s, &a);
  static uint8_t buf[4 * RELAY_BODY_MAX];
  memset(buf, 'x', sizeof(buf));
  relay_stream_event_t ev;
  /* no mark: no event */
  cr_assert_eq(relay_stream_write(t, a, buf, sizeof(buf)), 0);
  f.open = true;
  relay_streams_flush(t);
  cr_assert_eq(relay_stream_pending(t, a), 0);
  cr_assert_not(relay_streams_has_events(t));
  /* mark of 2 cells: a write of 4 queued cells, then packaging */
  relay_streams_set_drain_mark(t, 2 * RELAY_BODY_MAX);
  f.open = false;
  cr_assert_eq(relay_stream_write(t, a, buf, sizeof(buf)), 0);
  cr_assert_not(relay_streams_has_events(t), "nothing packaged yet");
  /* a write below the mark on top does not ask again */
  f.open = true;
  relay_streams_flush(t);
  cr_assert_eq(relay_streams_next_event(t, &ev), 1);
  cr_assert_eq(ev.type, RELAY_STREAM_EV_DRAINED);
  cr_assert_eq(ev.stream_id, a);
  cr_assert_eq(relay_streams_next_event(t, &ev), 0, "one event per crossing");
  /* a small write that stays below the mark: no event */
  f.open = false;
  cr_assert_eq(relay_stream_write(t, a, buf, 10), 0);
  f.open = true;
  relay_streams_flush(t);
  cr_assert_not(relay_streams_has_events(t));
  relay_streams_free(t);
}
