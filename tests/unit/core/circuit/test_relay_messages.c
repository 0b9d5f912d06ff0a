/* test_relay_messages.c -- relay message dispatch at both circuit ends:
 * unknown commands dropped (tor-spec 6.1), malformed stream and circuit
 * messages reported as events (never a crash), the stream table's ids and
 * states with a fake sender, and random garbage into every entry point. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "circuit_sim.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/stream/stream.h"
#include "allium/lib/crypto/rand.h"

static relay_streams_t *
build3(sim_t *s)
{
  sim_init(s, 3);
  cr_assert(sim_build(s, 3));
  sim_attach_exit(s, 2);
  return circ_origin_attach_streams(s->o, 2);
}

Test(relay_msgs, unknown_command_ignored_both_ways)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  uint8_t junk[5] = { 1, 2, 3, 4, 5 };
  cr_assert_eq(circ_origin_send(s.o, 2, 0xEE, 4, junk, 5), 0);
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), 0xEE, 0, junk, 5), 0);
  cr_assert_eq(circ_origin_send(s.o, 1, 0x99, 0, NULL, 0), 0);
  sim_pump(&s);
  cr_assert_eq(s.r[2].n_ignored, 1);
  cr_assert_eq(s.r[1].n_ignored, 1);
  cr_assert_eq(s.o_ignored, 1);
  cr_assert_not(s.o_closed);
  /* Still fully working. */
  uint16_t sid;
  cr_assert_eq(relay_stream_begin(t, "x.example", 1, 0, &sid), 0);
  cr_assert_eq(relay_stream_write(t, sid, junk, 5), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_connected, 1);
  cr_assert_eq(s.x_rx_len, 5);
  sim_free(&s);
}

Test(relay_msgs, known_unhandled_command_is_an_event)
{
  sim_t s;
  build3(&s);
  uint8_t b[3] = { 9, 9, 9 };
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_ESTABLISH_INTRO, 0, b, 3), 0);
  cr_assert_eq(circ_relay_send(sim_relay(&s, 2), RELAY_INTRODUCE_ACK, 0, b, 3),
               0);
  sim_pump(&s);
  cr_assert_eq(s.r[2].n_relay_msgs, 1);
  cr_assert_eq(s.r[2].last_msg.command, RELAY_ESTABLISH_INTRO);
  cr_assert_eq(s.r[2].last_msg.len, 3);
  cr_assert_eq(s.o_relay_msgs, 1);
  cr_assert_eq(s.o_last_msg.hop, 2);
  cr_assert_eq(s.o_last_msg.command, RELAY_INTRODUCE_ACK);
  cr_assert(memcmp(s.o_last_msg.body, b, 3) == 0);
  sim_free(&s);
}

/* Malformed stream messages towards the exit: an ERROR event each. */
Test(relay_msgs, malformed_stream_messages_at_exit)
{
  sim_t s;
  build3(&s);
  static const struct { uint8_t cmd; uint16_t sid; const char *body; } m[] = {
    { RELAY_BEGIN, 10, "no-port-here" },
    { RELAY_BEGIN, 11, "host:0" },
    { RELAY_BEGIN, 12, "host:99999" },
    { RELAY_BEGIN, 13, "[::1:80" },
    { RELAY_RESOLVE, 14, "" },
    { RELAY_CONNECTED, 15, "x" },      /* no such stream: dropped */
  };
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
    cr_assert_eq(circ_origin_send(s.o, 2, m[i].cmd, m[i].sid,
                                  (const uint8_t *)m[i].body,
                                  strlen(m[i].body)), 0);
  sim_pump(&s);
  cr_assert_eq(s.r[2].n_stream_errors, 5);
  cr_assert_eq(s.x_begins, 0);
  cr_assert_not(s.o_closed);
  cr_assert_not(s.r[2].closed);
  sim_free(&s);
}

Test(relay_msgs, malformed_stream_messages_at_client)
{
  sim_t s;
  relay_streams_t *t = build3(&s);
  s.exit_echo_begin = false;
  uint16_t a, b, c;
  cr_assert_eq(relay_stream_begin(t, "a.example", 80, 0, &a), 0);
  cr_assert_eq(relay_stream_begin(t, "b.example", 80, 0, &b), 0);
  cr_assert_eq(relay_stream_resolve(t, "c.example", &c), 0);
  sim_pump(&s);
  circ_relay_t *x = sim_relay(&s, 2);
  uint8_t bad[3] = { 1, 2, 3 };
  cr_assert_eq(circ_relay_send(x, RELAY_CONNECTED, a, bad, 3), 0);
  cr_assert_eq(circ_relay_send(x, RELAY_DATA, b, bad, 3), 0); /* not open */
  /* c was answered already (the sim exit resolves): dropped. */
  cr_assert_eq(circ_relay_send(x, RELAY_RESOLVED, c, bad, 3), 0);
  cr_assert_eq(circ_relay_send(x, RELAY_BEGIN, 44, bad, 3), 0);
  sim_pump(&s);
  cr_assert_eq(s.c_errors, 2);
  cr_assert_eq(s.c_resolved, 1);
  cr_assert_eq(relay_stream_state(t, a), RELAY_STREAM_CLOSING);
  cr_assert_eq(relay_stream_state(t, b), RELAY_STREAM_CLOSING);
  cr_assert_eq(relay_stream_state(t, c), RELAY_STREAM_NONE);
  cr_assert_not(s.o_closed);
  sim_free(&s);
}

Test(relay_msgs, malformed_circuit_messages_close)
{
  static const struct { uint8_t cmd; uint16_t sid; uint8_t len;
                        uint8_t body[4]; const char *what; } m[] = {
    { RELAY_SENDME, 0, 3, { 7, 0, 0 }, "malformed SENDME" },
    { RELAY_SENDME, 0, 3, { 1, 0, 5 }, "malformed SENDME" },
    { RELAY_EXTENDED2, 0, 2, { 0, 64 }, "unexpected EXTENDED2" },
    { RELAY_DATA, 0, 1, { 0 }, "DATA on stream 0" },
    { RELAY_BEGIN, 0, 0, { 0 }, "stream protocol violation" },
    { RELAY_END, 0, 1, { 6 }, "stream protocol violation" },
  };
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
    sim_t s;
    build3(&s);
    cr_assert_eq(circ_relay_send(sim_relay(&s, 2), m[i].cmd, m[i].sid,
                                 m[i].body, m[i].len), 0);
    sim_pump(&s);
    cr_assert(s.o_closed, "case %zu", i);
    cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_PROTOCOL, "case %zu", i);
    cr_assert_str_eq(s.o_close_ev.what, m[i].what, "case %zu", i);
    cr_assert(s.r[0].closed, "case %zu", i);
    sim_free(&s);
    /* The same message towards the exit closes there. */
    build3(&s);
    cr_assert_eq(circ_origin_send(s.o, 2, m[i].cmd, m[i].sid, m[i].body,
                                  m[i].len), 0);
    sim_pump(&s);
    if (m[i].cmd != RELAY_EXTENDED2) {
      cr_assert(s.r[2].closed, "case %zu at exit", i);
      cr_assert(s.o_closed, "case %zu at exit", i);
    } else {
      cr_assert_eq(s.r[2].n_relay_msgs, 1);   /* not the relay's business */
    }
    sim_free(&s);
  }
}

Test(relay_msgs, malformed_extend2_closes)
{
  sim_t s;
  sim_init(&s, 3);
  cr_assert(sim_build(&s, 2));
  /* A raw EXTEND2 in RELAY_EARLY with a truncated body. */
  uint8_t b[6] = { 1, 0, 6, 127, 0, 0 };
  cr_assert_eq(circ_origin_send(s.o, 1, RELAY_EXTEND2, 0, b, sizeof(b)), 0);
  circ_cell_t c;
  cr_assert(circ_origin_next_cell(s.o, &c));
  cr_assert_eq(circ_relay_handle_cell(sim_relay(&s, 0), CIRC_DIR_PREV,
                                      CELL_RELAY_EARLY, c.payload), 0);
  sim_pump(&s);
  cr_assert(s.r[1].closed);
  cr_assert_str_eq(s.r[1].close_ev.what, "malformed EXTEND2");
  sim_free(&s);
}

Test(relay_msgs, relay_create_rejects)
{
  sim_t s;
  sim_init(&s, 1);
  circ_relay_t *c = NULL;
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  uint8_t reason = 0;
  cr_assert_lt(circ_relay_create(&c, &s.r[0].keys, p, sizeof(p), &reason), 0);
  cr_assert_eq(reason, CELL_DESTROY_PROTOCOL);
  cr_assert_null(c);
  p[1] = 3;   /* ntor v3: not answered here */
  p[3] = 100;
  cr_assert_lt(circ_relay_create(&c, &s.r[0].keys, p, sizeof(p), &reason), 0);
  cr_assert_lt(circ_relay_create(&c, &s.r[0].keys, p, 3, &reason), 0);
  cr_assert_lt(circ_relay_create(&c, &s.r[0].keys, NULL, 0, &reason), 0);
  sim_free(&s);
}

Test(relay_msgs, old_onion_key_accepted)
{
  sim_t s;
  sim_init(&s, 2);
  s.r[0].keys.ntor_old = s.r[0].keys.ntor;
  s.r[0].keys.has_old = true;
  cr_assert_eq(x25519_keypair_generate(&s.r[0].keys.ntor), 0);
  cr_assert(sim_build(&s, 2));
  sim_free(&s);
}

/* ---- stream table with a fake sender ---- */

typedef struct fake_t {
  int sent;
  uint8_t last_cmd;
  uint16_t last_sid;
  bool window_open;
} fake_t;

static int
fake_send(void *ctx, uint8_t cmd, uint16_t sid, const uint8_t *b, size_t n)
{
  fake_t *f = ctx;
  (void)b;
  cr_assert_leq(n, RELAY_BODY_MAX);
  f->sent++;
  f->last_cmd = cmd;
  f->last_sid = sid;
  return 0;
}

static bool
fake_can(void *ctx)
{
  return ((fake_t *)ctx)->window_open;
}

Test(relay_msgs, stream_ids_skip_zero_and_used)
{
  fake_t f = { .window_open = true };
  relay_stream_sender_t snd = { fake_send, fake_can, NULL, &f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &snd);
  uint16_t id, first;
  cr_assert_eq(relay_stream_begin(t, "h", 1, 0, &first), 0);
  cr_assert_eq(first, 1);
  for (int i = 0; i < 70000; i++) {
    /* Open and immediately drop streams to wrap the 16-bit id space. */
    cr_assert_eq(relay_stream_begin(t, "h", 1, 0, &id), 0, "i=%d", i);
    cr_assert_neq(id, 0);
    cr_assert_neq(id, first, "id in use reallocated");
    cr_assert_eq(relay_streams_handle(t, RELAY_END, id, NULL, 0), 0);
  }
  cr_assert_eq(relay_stream_state(t, first), RELAY_STREAM_CONNECTING);
  /* an empty host is the ":port" BEGIN to an onion service */
  int sent = f.sent;
  cr_assert_eq(relay_stream_begin(t, "", 1, 0, &id), 0);
  cr_assert_eq(f.sent, sent + 1);
  cr_assert_eq(f.last_cmd, RELAY_BEGIN);
  cr_assert_eq(relay_stream_begin(t, "h", 0, 0, &id), RELAY_STREAM_ERR_ARG);
  cr_assert_eq(relay_stream_connected(t, first, NULL, 0),
               RELAY_STREAM_ERR_STATE);   /* client role */
  cr_assert_eq(relay_stream_write(t, 999, (const uint8_t *)"x", 1),
               RELAY_STREAM_ERR_STATE);
  relay_streams_free(t);
}

Test(relay_msgs, stream_waits_for_circuit_window)
{
  fake_t f = { .window_open = false };
  relay_stream_sender_t snd = { fake_send, fake_can, NULL, &f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_EXIT, &snd);
  uint8_t begin[] = "h.example:80";
  cr_assert_eq(relay_streams_handle(t, RELAY_BEGIN, 5, begin, sizeof(begin)),
               0);
  relay_stream_event_t ev;
  cr_assert(relay_streams_next_event(t, &ev));
  cr_assert_eq(ev.type, RELAY_STREAM_EV_BEGIN);
  cr_assert_str_eq(ev.host, "h.example");
  cr_assert_eq(ev.port, 80);
  /* Same id again: error event, no second stream. */
  cr_assert_eq(relay_streams_handle(t, RELAY_BEGIN, 5, begin, sizeof(begin)),
               0);
  cr_assert(relay_streams_next_event(t, &ev));
  cr_assert_eq(ev.type, RELAY_STREAM_EV_ERROR);
  cr_assert_eq(relay_stream_connected(t, 5, NULL, 0), 0);
  int before = f.sent;
  static uint8_t data[2000];
  cr_assert_eq(relay_stream_write(t, 5, data, sizeof(data)), 0);
  cr_assert_eq(f.sent, before, "circuit window closed: nothing sent");
  cr_assert_eq(relay_stream_pending(t, 5), sizeof(data));
  f.window_open = true;
  relay_streams_flush(t);
  cr_assert_eq(f.sent, before + 5);   /* 4 x 498 + 8 */
  cr_assert_eq(relay_stream_pending(t, 5), 0);
  /* Deferred END goes out after the data. */
  cr_assert_eq(relay_stream_end(t, 5, RELAY_END_DONE), 0);
  cr_assert_eq(f.last_cmd, RELAY_END);
  cr_assert_eq(relay_stream_end(t, 5, RELAY_END_DONE), RELAY_STREAM_ERR_STATE);
  /* Anything still arriving on the half-closed stream is ignored. */
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, 5, data, 10), 0);
  cr_assert_eq(relay_streams_handle(t, RELAY_SENDME, 5, NULL, 0), 0);
  cr_assert_not(relay_streams_next_event(t, &ev));
  cr_assert_eq(relay_streams_handle(t, RELAY_END, 5, NULL, 0), 0);
  cr_assert_eq(relay_stream_state(t, 5), RELAY_STREAM_NONE);
  cr_assert_not(relay_streams_next_event(t, &ev));
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, 0, data, 10),
               RELAY_STREAM_ERR_PROTOCOL);
  cr_assert_eq(relay_streams_handle(t, RELAY_DATA, 1, data, 499),
               RELAY_STREAM_ERR_PROTOCOL);
  relay_streams_free(t);
}

Test(relay_msgs, stream_sendme_every_50)
{
  fake_t f = { .window_open = true };
  relay_stream_sender_t snd = { fake_send, fake_can, NULL, &f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &snd);
  uint16_t id;
  cr_assert_eq(relay_stream_begin(t, "h", 1, 0, &id), 0);
  uint8_t conn[8] = { 1, 2, 3, 4, 0, 0, 0, 5 };
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, id, conn, 8), 0);
  int sendmes = 0;
  for (int i = 0; i < 500; i++) {
    int before = f.sent;
    cr_assert_eq(relay_streams_handle(t, RELAY_DATA, id, conn, 1), 0);
    if (f.sent != before) {
      cr_assert_eq(f.last_cmd, RELAY_SENDME);
      cr_assert_eq(f.last_sid, id);
      sendmes++;
    }
  }
  cr_assert_eq(sendmes, 10);
  relay_stream_event_t ev;
  int n = 0;
  while (relay_streams_next_event(t, &ev))
    n++;
  cr_assert_eq(n, 501);   /* CONNECTED + 500 DATA */
  relay_streams_circuit_closed(t);
  cr_assert(relay_streams_next_event(t, &ev));
  cr_assert_eq(ev.type, RELAY_STREAM_EV_END);
  cr_assert_eq(ev.reason, RELAY_END_DESTROY);
  relay_streams_free(t);
}

/* Random relay messages in both directions: the circuit may close, but
 * nothing crashes and every closure is reported. */
Test(relay_msgs, random_messages_never_crash)
{
  uint8_t body[RELAY_BODY_MAX];
  for (int round = 0; round < 40; round++) {
    sim_t s;
    relay_streams_t *t = build3(&s);
    uint16_t sid;
    cr_assert_eq(relay_stream_begin(t, "r.example", 443, 0, &sid), 0);
    sim_pump(&s);
    for (int i = 0; i < 30 && !s.o_closed; i++) {
      uint8_t r[4];
      crypto_rand(r, sizeof(r));
      size_t len = (size_t)((r[2] | (r[3] << 8)) % (RELAY_BODY_MAX + 1));
      crypto_rand(body, len);
      uint8_t cmd = (uint8_t)(r[0] % 46);
      uint16_t id = (r[1] & 1) ? sid : (uint16_t)(r[1] >> 1);
      if (r[1] & 2)
        (void)circ_origin_send(s.o, 2, cmd, id, body, len);
      else
        (void)circ_relay_send(sim_relay(&s, 2), cmd, id, body, len);
      sim_pump(&s);
    }
    if (s.o_closed)
      cr_assert_not_null(s.o_close_ev.what);
    sim_free(&s);
  }
}

/* Random raw cells into both state machines. */
Test(relay_msgs, random_cells_never_crash)
{
  uint8_t p[CELL_PAYLOAD_LEN];
  for (int round = 0; round < 20; round++) {
    sim_t s;
    build3(&s);
    for (int i = 0; i < 20; i++) {
      uint8_t r[2];
      crypto_rand(r, 2);
      crypto_rand(p, sizeof(p));
      uint8_t cmds[] = { CELL_RELAY, CELL_RELAY_EARLY, CELL_CREATED2,
                         CELL_DESTROY, CELL_CREATE2, CELL_PADDING };
      uint8_t cmd = cmds[r[0] % sizeof(cmds)];
      if (r[1] % 3 == 0)
        (void)circ_origin_handle_cell(s.o, cmd, p);
      else
        (void)circ_relay_handle_cell(sim_relay(&s, r[1] % 3),
                                     (r[1] & 4) ? CIRC_DIR_NEXT
                                                : CIRC_DIR_PREV, cmd, p);
      sim_pump(&s);
    }
    sim_free(&s);
  }
}

Test(relay_msgs, bad_resolved_and_connected_states)
{
  fake_t f = { .window_open = true };
  relay_stream_sender_t snd = { fake_send, fake_can, NULL, &f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &snd);
  relay_stream_event_t ev;
  uint16_t r, b;
  cr_assert_eq(relay_stream_resolve(t, "n.example", &r), 0);
  cr_assert_eq(relay_stream_begin(t, "h", 1, 0, &b), 0);
  uint8_t garbage[3] = { 4, 4, 1 };
  cr_assert_eq(relay_streams_handle(t, RELAY_RESOLVED, r, garbage, 3), 0);
  cr_assert(relay_streams_next_event(t, &ev));
  cr_assert_eq(ev.type, RELAY_STREAM_EV_ERROR);
  cr_assert_eq(ev.command, RELAY_RESOLVED);
  cr_assert_eq(relay_stream_state(t, r), RELAY_STREAM_NONE);
  /* RESOLVED on a BEGIN stream: wrong state. */
  uint8_t ok[10] = { 4, 4, 1, 2, 3, 4, 0, 0, 0, 9 };
  cr_assert_eq(relay_streams_handle(t, RELAY_RESOLVED, b, ok, 10), 0);
  cr_assert(relay_streams_next_event(t, &ev));
  cr_assert_eq(ev.type, RELAY_STREAM_EV_ERROR);
  /* CONNECTED twice: the second is an error, the stream is ended. */
  uint16_t c;
  cr_assert_eq(relay_stream_begin(t, "h", 2, 0, &c), 0);
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, c, NULL, 0), 0);
  cr_assert(relay_streams_next_event(t, &ev));
  cr_assert_eq(ev.type, RELAY_STREAM_EV_CONNECTED);
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, c, NULL, 0), 0);
  cr_assert(relay_streams_next_event(t, &ev));
  cr_assert_eq(ev.type, RELAY_STREAM_EV_ERROR);
  cr_assert_eq(f.last_cmd, RELAY_END);
  cr_assert_eq(relay_stream_state(t, c), RELAY_STREAM_CLOSING);
  relay_streams_free(t);
}

/* Receive back-pressure (tor-spec 7.4): a paused reader holds its SENDMEs,
 * unpausing sends them, and a peer that sends more than one window past
 * the last SENDME breaks the protocol. */
Test(relay_msgs, paused_reader_holds_sendmes)
{
  fake_t f = { .window_open = true };
  relay_stream_sender_t snd = { fake_send, fake_can, NULL, &f };
  relay_streams_t *t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &snd);
  uint16_t id;
  cr_assert_eq(relay_stream_begin(t, "h", 1, 0, &id), 0);
  uint8_t conn[8] = { 1, 2, 3, 4, 0, 0, 0, 5 };
  cr_assert_eq(relay_streams_handle(t, RELAY_CONNECTED, id, conn, 8), 0);
  cr_assert_eq(relay_stream_set_recv_paused(t, id, true), 0);
  cr_assert_eq(relay_stream_set_recv_paused(t, (uint16_t)(id + 1), true),
               RELAY_STREAM_ERR_STATE);
  int before = f.sent;
  for (int i = 0; i < 500; i++)
    cr_assert_eq(relay_streams_handle(t, RELAY_DATA, id, conn, 1), 0);
  cr_assert_eq(f.sent, before, "no SENDME while paused");
  cr_assert_eq(relay_stream_sendmes_owed(t, id), 10);
  cr_assert_eq(relay_stream_set_recv_paused(t, id, false), 0);
  cr_assert_eq(f.sent, before + 10);
  cr_assert_eq(f.last_cmd, RELAY_SENDME);
  cr_assert_eq(relay_stream_sendmes_owed(t, id), 0);
  /* Paused again: a window's worth is fine, 50 cells more is not. */
  cr_assert_eq(relay_stream_set_recv_paused(t, id, true), 0);
  for (int i = 0; i < 500; i++)
    cr_assert_eq(relay_streams_handle(t, RELAY_DATA, id, conn, 1), 0);
  int r = 0;
  for (int i = 0; i < 50 && r == 0; i++)
    r = relay_streams_handle(t, RELAY_DATA, id, conn, 1);
  cr_assert_eq(r, RELAY_STREAM_ERR_PROTOCOL);
  relay_streams_free(t);
}
