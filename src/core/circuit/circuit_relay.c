/* circuit_relay.c -- relay side of a circuit as a sans-IO state machine:
 * answering CREATE2 with ntor (tor-spec 5.1, 5.1.4), EXTEND2 -> CREATE2 ->
 * EXTENDED2 (5.1.2), RELAY_EARLY limits (5.6), DESTROY / TRUNCATE (5.4),
 * one layer of relay crypto with the recognized check (5.5, 6.1) and
 * circuit-level authenticated SENDMEs at the edge (7.3, proposal 289).
 * See include/allium/core/circuit/circuit_relay.h. */
#define LOG_MODULE "circuit"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/relay/relay_queue.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

#define NTOR_KEY_MATERIAL 72   /* Df | Db | Kf | Kb */

struct circ_relay_t {
  circ_relay_state_t state;
  relay_crypto_t *crypto;
  relay_flow_t flow;
  unsigned early_seen;
  relay_streams_t *streams;
  relay_queue_t cells;
  relay_queue_t events;
};

static void
push_cell(circ_relay_t *c, int dir, uint8_t command, const uint8_t *payload,
          size_t len)
{
  circ_cell_t cell;
  memset(&cell, 0, sizeof(cell));
  cell.dir = (uint8_t)dir;
  cell.command = command;
  memcpy(cell.payload, payload, len);
  relay_queue_push(&c->cells, &cell);
  memwipe(&cell, sizeof(cell));
}

static void
push_event(circ_relay_t *c, circ_event_t *ev)
{
  relay_queue_push(&c->events, ev);
  memwipe(ev, sizeof(*ev));
}

static void
push_destroy(circ_relay_t *c, int dir, uint8_t reason)
{
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  if (cell_destroy_encode(reason, p, sizeof(p), &n) == 0)
    push_cell(c, dir, CELL_DESTROY, p, sizeof(p));
}

/* Close.  from_dir: where a DESTROY came from (-1: our own decision); the
 * other side(s) get DESTROY with reason (ours) or DESTROYED (propagated). */
static void
relay_close(circ_relay_t *c, uint8_t reason, int from_dir, const char *what)
{
  if (c->state == CIRC_RELAY_CLOSED)
    return;
  bool has_next = c->state == CIRC_RELAY_EXTENDED ||
                  c->state == CIRC_RELAY_EXTENDING;
  uint8_t out_reason = from_dir < 0 ? reason : CELL_DESTROY_DESTROYED;
  if (from_dir != CIRC_DIR_PREV)
    push_destroy(c, CIRC_DIR_PREV, out_reason);
  if (from_dir != CIRC_DIR_NEXT && has_next)
    push_destroy(c, CIRC_DIR_NEXT, out_reason);
  c->state = CIRC_RELAY_CLOSED;
  if (c->streams)
    relay_streams_circuit_closed(c->streams);
  circ_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = CIRC_EV_CLOSED;
  ev.reason = reason;
  ev.remote = from_dir >= 0;
  ev.hop = CIRC_HOP_NONE;
  ev.what = what;
  push_event(c, &ev);
  log_info_rl(60, "relay circuit closed: %s (reason %u)", what, reason);
}

static void
protocol_error(circ_relay_t *c, const char *what)
{
  relay_close(c, CELL_DESTROY_PROTOCOL, -1, what);
}

void
circ_relay_close(circ_relay_t *c, uint8_t reason)
{
  relay_close(c, reason, -1, "closed by caller");
}

void
circ_relay_extend_failed(circ_relay_t *c, uint8_t reason)
{
  if (c->state != CIRC_RELAY_EXTENDING)
    return;
  /* Nothing exists towards the next hop yet. */
  c->state = CIRC_RELAY_OPEN;
  relay_close(c, reason, -1, "extend failed");
}

/* ---- creation ---- */

static const x25519_keypair_t *
pick_onion_key(const circ_relay_keys_t *keys, const uint8_t *skin)
{
  const uint8_t *keyid = skin + NTOR_ONIONSKIN_KEYID_OFF;
  if (crypto_memeq(keyid, keys->ntor.pub, X25519_KEY_LEN))
    return &keys->ntor;
  if (keys->has_old && crypto_memeq(keyid, keys->ntor_old.pub, X25519_KEY_LEN))
    return &keys->ntor_old;
  return NULL;
}

int
circ_relay_create(circ_relay_t **out, const circ_relay_keys_t *keys,
                  const uint8_t *payload, size_t len, uint8_t *destroy_reason)
{
  cell_create2_t cr;
  uint8_t reply[NTOR_REPLY_LEN];
  uint8_t k[NTOR_KEY_MATERIAL];
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  *out = NULL;
  *destroy_reason = CELL_DESTROY_PROTOCOL;
  if (!payload || cell_create2_decode(&cr, payload, len) < 0 ||
      cr.htype != CELL_HTYPE_NTOR || cr.hlen != NTOR_ONIONSKIN_LEN)
    return CIRC_ERR_ARG;
  const x25519_keypair_t *kp = pick_onion_key(keys, cr.hdata);
  if (!kp || ntor_server_respond(reply, k, sizeof(k), cr.hdata, keys->rsa_id,
                                 kp, NULL) < 0)
    return CIRC_ERR_CRYPTO;
  circ_relay_t *c = al_calloc(1, sizeof(*c));
  c->crypto = relay_crypto_new(RELAY_CRYPTO_TOR1, k, sizeof(k), 0);
  memwipe(k, sizeof(k));
  if (!c->crypto) {
    al_free(c);
    *destroy_reason = CELL_DESTROY_INTERNAL;
    return CIRC_ERR_CRYPTO;
  }
  relay_flow_init_circuit(&c->flow);
  relay_queue_init(&c->cells, sizeof(circ_cell_t));
  relay_queue_init(&c->events, sizeof(circ_event_t));
  c->state = CIRC_RELAY_OPEN;
  cell_created2_t cd = { NTOR_REPLY_LEN, reply };
  (void)cell_created2_encode(&cd, p, sizeof(p), &n);
  push_cell(c, CIRC_DIR_PREV, CELL_CREATED2, p, sizeof(p));
  memwipe(reply, sizeof(reply));
  *destroy_reason = CELL_DESTROY_NONE;
  *out = c;
  return 0;
}

void
circ_relay_free_(circ_relay_t *c)
{
  if (!c)
    return;
  relay_crypto_free(c->crypto);
  relay_streams_free(c->streams);
  relay_flow_clear(&c->flow);
  relay_queue_clear(&c->cells);
  relay_queue_clear(&c->events);
  memwipe(c, sizeof(*c));
  al_free(c);
}

/* ---- sending towards the originator ---- */

int
circ_relay_send(circ_relay_t *c, uint8_t command, uint16_t stream_id,
                const uint8_t *body, size_t body_len)
{
  relay_header_t h;
  uint8_t buf[CELL_PAYLOAD_LEN];
  if (c->state == CIRC_RELAY_CLOSED)
    return CIRC_ERR_STATE;
  if (body_len > RELAY_BODY_MAX || (body_len && !body))
    return CIRC_ERR_ARG;
  if (command == RELAY_DATA && !relay_flow_can_package(&c->flow))
    return CIRC_ERR_WINDOW;
  memset(&h, 0, sizeof(h));
  h.command = command;
  h.stream_id = stream_id;
  if (relay_cell_pack(buf, &h, body, body_len, crypto_rand) < 0)
    return CIRC_ERR_ARG;
  relay_crypto_relay_originate(c->crypto, buf);
  if (command == RELAY_DATA) {
    uint8_t d[RELAY_SENDME_DIGEST_LEN];
    relay_crypto_digest_peek(c->crypto, 1, d, sizeof(d));
    (void)relay_flow_note_packaged(&c->flow, d);
    memwipe(d, sizeof(d));
  }
  push_cell(c, CIRC_DIR_PREV, CELL_RELAY, buf, sizeof(buf));
  memwipe(buf, sizeof(buf));
  return 0;
}

/* ---- recognized forward messages ---- */

static void
emit_msg(circ_relay_t *c, circ_event_type_t type, const relay_header_t *h,
         const uint8_t *body)
{
  circ_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.hop = CIRC_HOP_NONE;
  ev.command = h->command;
  ev.stream_id = h->stream_id;
  if (type == CIRC_EV_RELAY_MSG) {
    ev.len = h->length;
    memcpy(ev.body, body, h->length);
  }
  push_event(c, &ev);
}

/* Copy the known link specifiers of m into t; 0, or -1 if the request
 * lacks a legacy identity or an address (5.1.2). */
static int
copy_target(circ_extend_target_t *t, const relay_extend2_t *m)
{
  bool has_id = false, has_addr = false;
  for (unsigned i = 0; i < m->n_spec; i++) {
    const relay_lspec_t *l = &m->spec[i];
    if (l->type > RELAY_LSPEC_ED25519_ID)
      continue;   /* unknown: ignored */
    has_id |= l->type == RELAY_LSPEC_LEGACY_ID;
    has_addr |= l->type == RELAY_LSPEC_IPV4 || l->type == RELAY_LSPEC_IPV6;
    if (t->n_lspec < CIRC_MAX_LSPEC)
      t->lspec[t->n_lspec++] = *l;
  }
  return has_id && has_addr ? 0 : -1;
}

static void
relay_handle_extend2(circ_relay_t *c, bool early, const relay_header_t *h,
                     const uint8_t *body)
{
  if (!early) {
    protocol_error(c, "EXTEND2 outside RELAY_EARLY");
    return;
  }
  if (c->state != CIRC_RELAY_OPEN) {
    protocol_error(c, "EXTEND2 on an extended circuit");
    return;
  }
  relay_extend2_t *m = al_calloc(1, sizeof(*m));
  circ_event_t *ev = al_calloc(1, sizeof(*ev));
  size_t n;
  int r = relay_extend2_decode(m, body, h->length);
  if (r == 0)
    r = copy_target(&ev->extend, m);
  if (r == 0) {
    cell_create2_t cr = { m->htype, m->hlen, m->hdata };
    r = cell_create2_encode(&cr, ev->extend.create2,
                            sizeof(ev->extend.create2), &n);
  }
  al_free(m);
  if (r < 0) {
    al_free(ev);
    protocol_error(c, "malformed EXTEND2");
    return;
  }
  ev->type = CIRC_EV_EXTEND_REQUEST;
  ev->hop = CIRC_HOP_NONE;
  c->state = CIRC_RELAY_EXTENDING;
  push_event(c, ev);
  al_free(ev);
}

static void
relay_handle_data(circ_relay_t *c, const relay_header_t *h,
                  const uint8_t *body)
{
  if (h->stream_id == 0) {
    protocol_error(c, "DATA on stream 0");
    return;
  }
  int w = relay_flow_note_delivered(&c->flow);
  if (w < 0) {
    protocol_error(c, "circuit deliver window exceeded");
    return;
  }
  if (w == 1) {
    relay_sendme_t s = { .version = 1 };
    uint8_t b[RELAY_BODY_MAX];
    size_t blen;
    relay_crypto_digest_peek(c->crypto, 0, s.digest, sizeof(s.digest));
    if (relay_sendme_encode(&s, b, sizeof(b), &blen) == 0)
      (void)circ_relay_send(c, RELAY_SENDME, 0, b, blen);
    memwipe(&s, sizeof(s));
  }
  if (c->streams) {
    if (relay_streams_handle(c->streams, RELAY_DATA, h->stream_id, body,
                             h->length) < 0)
      protocol_error(c, "stream protocol violation");
  } else {
    emit_msg(c, CIRC_EV_RELAY_MSG, h, body);
  }
}

static void
relay_handle_sendme(circ_relay_t *c, const relay_header_t *h,
                    const uint8_t *body)
{
  relay_sendme_t s;
  if (relay_sendme_decode(&s, body, h->length) < 0) {
    protocol_error(c, "malformed SENDME");
    return;
  }
  int r = relay_flow_handle_sendme(&c->flow, &s);
  memwipe(&s, sizeof(s));
  if (r < 0) {
    protocol_error(c, r == RELAY_FLOW_ERR_OVERFLOW
                   ? "SENDME overflows the circuit window"
                   : "SENDME digest or version rejected");
    return;
  }
  if (c->streams)
    relay_streams_flush(c->streams);
}

static void
relay_handle_truncate(circ_relay_t *c)
{
  uint8_t b[RELAY_BODY_MAX];
  size_t blen;
  if (c->state == CIRC_RELAY_EXTENDED || c->state == CIRC_RELAY_EXTENDING)
    push_destroy(c, CIRC_DIR_NEXT, CELL_DESTROY_REQUESTED);
  c->state = CIRC_RELAY_OPEN;
  if (relay_truncated_encode(CELL_DESTROY_REQUESTED, b, sizeof(b), &blen) == 0)
    (void)circ_relay_send(c, RELAY_TRUNCATED, 0, b, blen);
}

static void
relay_dispatch(circ_relay_t *c, bool early, const relay_header_t *h,
               const uint8_t *body)
{
  if (relay_stream_command_is_stream(h->command, h->stream_id) &&
      h->command != RELAY_DATA) {
    if (!c->streams)
      emit_msg(c, CIRC_EV_RELAY_MSG, h, body);
    else if (relay_streams_handle(c->streams, h->command, h->stream_id, body,
                                  h->length) < 0)
      protocol_error(c, "stream protocol violation");
    return;
  }
  switch (h->command) {
  case RELAY_EXTEND2:
    relay_handle_extend2(c, early, h, body);
    return;
  case RELAY_EXTEND:
    protocol_error(c, "legacy EXTEND is not supported");
    return;
  case RELAY_TRUNCATE:
    relay_handle_truncate(c);
    return;
  case RELAY_DATA:
    relay_handle_data(c, h, body);
    return;
  case RELAY_SENDME:
    relay_handle_sendme(c, h, body);
    return;
  case RELAY_DROP:
    return;
  default:
    break;
  }
  if (relay_command_name(h->command) == NULL)
    emit_msg(c, CIRC_EV_IGNORED, h, body);   /* 6.1: drop */
  else
    emit_msg(c, CIRC_EV_RELAY_MSG, h, body);
}

/* ---- cells ---- */

static void
relay_handle_forward(circ_relay_t *c, uint8_t command,
                     const uint8_t payload[CELL_PAYLOAD_LEN])
{
  uint8_t buf[CELL_PAYLOAD_LEN];
  relay_header_t h;
  const uint8_t *body;
  bool early = command == CELL_RELAY_EARLY;
  if (early && ++c->early_seen > CIRC_MAX_RELAY_EARLY) {
    protocol_error(c, "more than 8 RELAY_EARLY cells");
    return;
  }
  memcpy(buf, payload, sizeof(buf));
  if (relay_crypto_relay_decrypt(c->crypto, buf) == 1) {
    if (relay_cell_unpack(&h, &body, buf) < 0)
      protocol_error(c, "malformed relay header");
    else
      relay_dispatch(c, early, &h, body);
  } else if (c->state == CIRC_RELAY_EXTENDED) {
    push_cell(c, CIRC_DIR_NEXT, command, buf, sizeof(buf));
  } else {
    protocol_error(c, "unrecognized relay cell at the last hop");
  }
  memwipe(buf, sizeof(buf));
}

static void
relay_handle_created2(circ_relay_t *c, const uint8_t payload[CELL_PAYLOAD_LEN])
{
  cell_created2_t cd;
  uint8_t b[RELAY_BODY_MAX];
  size_t blen;
  if (c->state != CIRC_RELAY_EXTENDING) {
    protocol_error(c, "unexpected CREATED2");
    return;
  }
  if (cell_created2_decode(&cd, payload, CELL_PAYLOAD_LEN) < 0) {
    protocol_error(c, "malformed CREATED2");
    return;
  }
  relay_extended2_t e = { cd.hlen, cd.hdata };
  if (relay_extended2_encode(&e, b, sizeof(b), &blen) < 0) {
    protocol_error(c, "CREATED2 too long for EXTENDED2");
    return;
  }
  c->state = CIRC_RELAY_EXTENDED;
  (void)circ_relay_send(c, RELAY_EXTENDED2, 0, b, blen);
}

static void
relay_handle_from_next(circ_relay_t *c, uint8_t command,
                       const uint8_t payload[CELL_PAYLOAD_LEN])
{
  uint8_t buf[CELL_PAYLOAD_LEN];
  uint8_t reason;
  switch (command) {
  case CELL_RELAY:
    if (c->state != CIRC_RELAY_EXTENDED) {
      protocol_error(c, "RELAY cell from a next hop we do not have");
      return;
    }
    memcpy(buf, payload, sizeof(buf));
    relay_crypto_relay_encrypt(c->crypto, buf);
    push_cell(c, CIRC_DIR_PREV, CELL_RELAY, buf, sizeof(buf));
    memwipe(buf, sizeof(buf));
    return;
  case CELL_RELAY_EARLY:
    protocol_error(c, "inbound RELAY_EARLY");
    return;
  case CELL_CREATED2:
    relay_handle_created2(c, payload);
    return;
  case CELL_DESTROY:
    if (c->state != CIRC_RELAY_EXTENDED && c->state != CIRC_RELAY_EXTENDING)
      return;
    if (cell_destroy_decode(&reason, payload, CELL_PAYLOAD_LEN) < 0)
      reason = CELL_DESTROY_NONE;
    relay_close(c, reason, CIRC_DIR_NEXT,
                c->state == CIRC_RELAY_EXTENDING ? "extend refused by next hop"
                                                 : "DESTROY from next hop");
    return;
  default:
    return;
  }
}

int
circ_relay_handle_cell(circ_relay_t *c, int from_dir, uint8_t command,
                       const uint8_t payload[CELL_PAYLOAD_LEN])
{
  uint8_t reason;
  if (!payload || (from_dir != CIRC_DIR_PREV && from_dir != CIRC_DIR_NEXT))
    return CIRC_ERR_ARG;
  if (c->state == CIRC_RELAY_CLOSED)
    return 0;
  if (from_dir == CIRC_DIR_NEXT) {
    relay_handle_from_next(c, command, payload);
    return 0;
  }
  switch (command) {
  case CELL_RELAY:
  case CELL_RELAY_EARLY:
    relay_handle_forward(c, command, payload);
    return 0;
  case CELL_DESTROY:
    if (cell_destroy_decode(&reason, payload, CELL_PAYLOAD_LEN) < 0)
      reason = CELL_DESTROY_NONE;
    relay_close(c, reason, CIRC_DIR_PREV, "DESTROY from previous hop");
    return 0;
  case CELL_CREATE2:
  case CELL_CREATE:
  case CELL_CREATE_FAST:
    protocol_error(c, "CREATE on an existing circuit");
    return 0;
  default:
    return 0;
  }
}

/* ---- streams ---- */

static int
stream_send_cb(void *ctx, uint8_t command, uint16_t stream_id,
               const uint8_t *body, size_t len)
{
  return circ_relay_send(ctx, command, stream_id, body, len);
}

static bool
stream_can_package_cb(void *ctx)
{
  circ_relay_t *c = ctx;
  return c->state != CIRC_RELAY_CLOSED && relay_flow_can_package(&c->flow);
}

static size_t
stream_max_data_cb(void *ctx)
{
  circ_relay_t *c = ctx;
  return relay_flow_max_data_len(&c->flow);
}

relay_streams_t *
circ_relay_attach_streams(circ_relay_t *c)
{
  if (c->streams)
    return NULL;
  relay_stream_sender_t s = { stream_send_cb, stream_can_package_cb,
                              stream_max_data_cb, c };
  c->streams = relay_streams_new(RELAY_STREAM_ROLE_EXIT, &s);
  return c->streams;
}

relay_streams_t *
circ_relay_streams(circ_relay_t *c)
{
  return c->streams;
}

int
circ_relay_next_cell(circ_relay_t *c, circ_cell_t *out)
{
  return relay_queue_pop(&c->cells, out);
}

int
circ_relay_next_event(circ_relay_t *c, circ_event_t *out)
{
  return relay_queue_pop(&c->events, out);
}

circ_relay_state_t
circ_relay_state(const circ_relay_t *c)
{
  return c->state;
}

unsigned
circ_relay_early_seen(const circ_relay_t *c)
{
  return c->early_seen;
}

const relay_flow_t *
circ_relay_flow(const circ_relay_t *c)
{
  return &c->flow;
}
