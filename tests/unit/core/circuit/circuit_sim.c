/* circuit_sim.c -- in-memory originator + relay chain for the circuit and
 * stream tests (see circuit_sim.h). */
#include "circuit_sim.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

void
sim_init(sim_t *s, size_t n_relays)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_leq(n_relays, SIM_MAX_RELAYS);
  memset(s, 0, sizeof(*s));
  s->n_relays = n_relays;
  s->o = circ_origin_new();
  s->exit_echo_begin = true;
  for (size_t i = 0; i < n_relays; i++) {
    sim_relay_t *r = &s->r[i];
    crypto_rand(r->keys.rsa_id, sizeof(r->keys.rsa_id));
    cr_assert_eq(x25519_keypair_generate(&r->keys.ntor), 0);
    memcpy(r->spec.rsa_id, r->keys.rsa_id, 20);
    crypto_rand(r->spec.ed_id, sizeof(r->spec.ed_id));
    r->spec.has_ed_id = true;
    memcpy(r->spec.ntor_key, r->keys.ntor.pub, 32);
    r->spec.n_addr = 1;
    r->spec.addr[0].type = RELAY_LSPEC_IPV4;
    r->spec.addr[0].len = 6;
    uint8_t ip[4] = { 127, 0, 0, (uint8_t)(i + 1) };
    memcpy(r->spec.addr[0].u.ipv4.addr, ip, 4);
    r->spec.addr[0].u.ipv4.port = 9001;
  }
}

void
sim_free(sim_t *s)
{
  circ_origin_free(s->o);
  for (size_t i = 0; i < s->n_relays; i++) {
    circ_relay_free(s->r[i].circ);
    memwipe(&s->r[i].keys, sizeof(s->r[i].keys));
  }
  free(s->c_rx);
  free(s->x_rx);
}

circ_relay_t *
sim_relay(sim_t *s, size_t idx)
{
  return idx < s->n_relays ? s->r[idx].circ : NULL;
}

static void
append(uint8_t **buf, size_t *len, const uint8_t *data, size_t n)
{
  *buf = realloc(*buf, *len + n + 1);
  cr_assert_not_null(*buf);
  memcpy(*buf + *len, data, n);
  *len += n;
}

/* Deliver cell to position to (coming from position from). */
static void sim_deliver(sim_t *s, int from, int to, circ_cell_t *cell);

/* A CREATE2 / CREATE_FAST arrived at relay idx from position idx (its
 * previous hop). */
static void
sim_create(sim_t *s, size_t idx, uint8_t command, const uint8_t *payload)
{
  uint8_t reason = 0;
  sim_relay_t *r = &s->r[idx];
  if (r->server_params.cc_sendme_inc) {
    /* Answer with the server parameters (a CC_RESPONSE when asked). */
    onion_answer_t ans;
    if (onion_server_answer(&ans, &r->keys, &r->server_params, command,
                            payload, CELL_PAYLOAD_LEN) == 0 &&
        (r->circ = circ_relay_new_answered(&ans)) != NULL) {
      /* As the engine does: CC_RESPONSE sent -> a congestion window. */
      if (ans.cc_negotiated) {
        cc_params_t p;
        cc_params_default(&p);
        cr_assert_eq(circ_relay_enable_cc(r->circ, &p, ans.cc_sendme_inc), 0);
      }
      memset(&ans, 0, sizeof(ans));
      return;
    }
    memset(&ans, 0, sizeof(ans));
    reason = CELL_DESTROY_PROTOCOL;
  } else if (circ_relay_create_cell(&r->circ, &r->keys, command, payload,
                                    CELL_PAYLOAD_LEN, &reason) == 0) {
    return;   /* CREATED2 is in its queue */
  }
  circ_cell_t d;
  memset(&d, 0, sizeof(d));
  d.dir = CIRC_DIR_PREV;
  d.command = CELL_DESTROY;
  d.payload[0] = reason;
  sim_deliver(s, (int)idx + 1, (int)idx, &d);
}

static void
sim_deliver(sim_t *s, int from, int to, circ_cell_t *cell)
{
  if (s->tamper)
    s->tamper(s, from, to, cell);
  s->cells_moved++;
  if (to == 0) {
    cr_assert_eq(circ_origin_handle_cell(s->o, cell->command, cell->payload),
                 0);
    return;
  }
  size_t idx = (size_t)to - 1;
  if (idx >= s->n_relays)
    return;   /* off the end: dropped */
  sim_relay_t *r = &s->r[idx];
  if (!r->circ) {
    if (from == to - 1 && (cell->command == CELL_CREATE2 ||
                           cell->command == CELL_CREATE_FAST))
      sim_create(s, idx, cell->command, cell->payload);
    return;
  }
  int dir = from < to ? CIRC_DIR_PREV : CIRC_DIR_NEXT;
  if (!s->fast_path) {
    cr_assert_eq(circ_relay_handle_cell(r->circ, dir, cell->command,
                                        cell->payload), 0);
    return;
  }
  int to_dir = -1;
  int r2 = circ_relay_process_cell(r->circ, dir, cell->command, cell->payload,
                                   &to_dir);
  cr_assert_geq(r2, 0);
  if (r2 == 1) {   /* the same buffer goes on: no copy */
    /* Cells the circuit queued earlier were encrypted first: they go
     * first, or the next hop's keystream would be out of step. */
    circ_cell_t q;
    while (circ_relay_next_cell(r->circ, &q))
      sim_deliver(s, to, q.dir == CIRC_DIR_NEXT ? to + 1 : to - 1, &q);
    s->fast_passed++;
    sim_deliver(s, to, to_dir == CIRC_DIR_NEXT ? to + 1 : to - 1, cell);
  }
}

static void
sim_extend(sim_t *s, size_t idx, const circ_event_t *ev)
{
  size_t next = idx + 1;
  bool id_ok = false;
  if (next < s->n_relays) {
    for (unsigned i = 0; i < ev->extend.n_lspec; i++) {
      const relay_lspec_t *l = &ev->extend.lspec[i];
      if (l->type == RELAY_LSPEC_LEGACY_ID &&
          memcmp(l->u.legacy_id, s->r[next].keys.rsa_id, 20) == 0)
        id_ok = true;
    }
  }
  if (!id_ok || s->r[next].circ) {
    circ_relay_extend_failed(s->r[idx].circ, CELL_DESTROY_CONNECTFAILED);
    return;
  }
  circ_cell_t c;
  memset(&c, 0, sizeof(c));
  c.dir = CIRC_DIR_NEXT;
  c.command = CELL_CREATE2;
  memcpy(c.payload, ev->extend.create2, CELL_PAYLOAD_LEN);
  sim_deliver(s, (int)idx + 1, (int)next + 1, &c);
}

static void
sim_exit_events(sim_t *s, sim_relay_t *r)
{
  relay_streams_t *t = circ_relay_streams(r->circ);
  relay_stream_event_t ev;
  if (!t)
    return;
  while (relay_streams_next_event(t, &ev)) {
    switch (ev.type) {
    case RELAY_STREAM_EV_BEGIN:
    case RELAY_STREAM_EV_BEGIN_DIR:
      if (ev.type == RELAY_STREAM_EV_BEGIN)
        s->x_begins++;
      else
        s->x_begin_dirs++;
      s->exit_sid = ev.stream_id;
      if (s->exit_echo_begin) {
        cell_addr_t a = { .type = CELL_ADDR_IPV4, .addr = { 127, 0, 0, 9 } };
        cr_assert_eq(relay_stream_connected(t, ev.stream_id,
                     ev.type == RELAY_STREAM_EV_BEGIN ? &a : NULL, 300), 0);
        if (s->x_reply_len)
          cr_assert_eq(relay_stream_write(t, ev.stream_id, s->x_reply,
                                          s->x_reply_len), 0);
      }
      break;
    case RELAY_STREAM_EV_RESOLVE: {
      relay_resolved_t ans;
      static const uint8_t ip[4] = { 10, 1, 2, 3 };
      memset(&ans, 0, sizeof(ans));
      s->x_resolves++;
      ans.n = 1;
      ans.answers[0].type = RELAY_RESOLVED_IPV4;
      ans.answers[0].len = 4;
      ans.answers[0].value = ip;
      ans.answers[0].ttl = 60;
      cr_assert_eq(relay_stream_resolved(t, ev.stream_id, &ans), 0);
      break;
    }
    case RELAY_STREAM_EV_DATA:
      append(&s->x_rx, &s->x_rx_len, ev.data, ev.len);
      break;
    case RELAY_STREAM_EV_END:
      r->n_stream_ends++;
      r->last_end_reason = ev.reason;
      break;
    case RELAY_STREAM_EV_ERROR:
      r->n_stream_errors++;
      break;
    default:
      break;
    }
  }
}

static void
sim_relay_events(sim_t *s, size_t idx)
{
  sim_relay_t *r = &s->r[idx];
  circ_event_t ev;
  while (circ_relay_next_event(r->circ, &ev)) {
    switch (ev.type) {
    case CIRC_EV_EXTEND_REQUEST:
      r->n_extend_requests++;
      r->last_extend = ev;
      sim_extend(s, idx, &ev);
      break;
    case CIRC_EV_NEXT_CLOSED:
      r->n_next_closed++;
      break;
    case CIRC_EV_CLOSED:
      r->closed = true;
      r->close_ev = ev;
      break;
    case CIRC_EV_IGNORED:
      r->n_ignored++;
      break;
    case CIRC_EV_RELAY_MSG:
      r->n_relay_msgs++;
      r->last_msg = ev;
      break;
    default:
      break;
    }
  }
  sim_exit_events(s, r);
}

static void
sim_origin_events(sim_t *s)
{
  circ_event_t ev;
  while (circ_origin_next_event(s->o, &ev)) {
    if (ev.type == CIRC_EV_HOP_ADDED) {
      s->o_hops_added++;
    } else if (ev.type == CIRC_EV_CLOSED) {
      s->o_closed = true;
      s->o_close_ev = ev;
    } else if (ev.type == CIRC_EV_IGNORED) {
      s->o_ignored++;
    } else if (ev.type == CIRC_EV_RELAY_MSG) {
      s->o_relay_msgs++;
      s->o_last_msg = ev;
    }
  }
  relay_streams_t *t = circ_origin_streams(s->o);
  relay_stream_event_t se;
  while (t && relay_streams_next_event(t, &se)) {
    if (se.type == RELAY_STREAM_EV_CONNECTED) {
      s->c_connected++;
    } else if (se.type == RELAY_STREAM_EV_DATA) {
      append(&s->c_rx, &s->c_rx_len, se.data, se.len);
    } else if (se.type == RELAY_STREAM_EV_END) {
      s->c_ends++;
      s->c_end_reason = se.reason;
    } else if (se.type == RELAY_STREAM_EV_ERROR) {
      s->c_errors++;
    } else if (se.type == RELAY_STREAM_EV_RESOLVED) {
      s->c_resolved++;
    }
  }
}

uint64_t
sim_pump(sim_t *s)
{
  uint64_t start = s->cells_moved;
  circ_cell_t cell;
  for (int round = 0; round < 1000000; round++) {
    uint64_t before = s->cells_moved;
    sim_origin_events(s);
    while (circ_origin_next_cell(s->o, &cell))
      sim_deliver(s, 0, 1, &cell);
    for (size_t i = 0; i < s->n_relays; i++) {
      if (!s->r[i].circ)
        continue;
      sim_relay_events(s, i);
      while (circ_relay_next_cell(s->r[i].circ, &cell)) {
        int here = (int)i + 1;
        sim_deliver(s, here, cell.dir == CIRC_DIR_NEXT ? here + 1 : here - 1,
                    &cell);
      }
      sim_relay_events(s, i);
    }
    sim_origin_events(s);
    if (s->cells_moved == before)
      break;
  }
  return s->cells_moved - start;
}

bool
sim_build(sim_t *s, size_t n)
{
  if (circ_origin_start(s->o, &s->r[0].spec, 1000, 60) < 0)
    return false;
  sim_pump(s);
  for (size_t i = 1; i < n; i++) {
    if (circ_origin_n_hops(s->o) != i)
      return false;
    if (circ_origin_extend(s->o, &s->r[i].spec) < 0)
      return false;
    sim_pump(s);
  }
  if (circ_origin_n_hops(s->o) != n)
    return false;
  circ_origin_build_done(s->o);
  return true;
}

void
sim_attach_exit(sim_t *s, size_t idx)
{
  cr_assert_not_null(s->r[idx].circ);
  cr_assert_not_null(circ_relay_attach_streams(s->r[idx].circ));
}
