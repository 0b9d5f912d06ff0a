/* circuit_relay.c -- relay side of a circuit as a sans-IO state machine:
 * built from a create-cell answer (tor-spec 5.1, 5.1.4, 5.1.5; proposal
 * 332: onion_server.c), EXTEND2 -> CREATE2 -> EXTENDED2 (5.1.2), RELAY_EARLY
 * limits (5.6), DESTROY / TRUNCATE (5.4), one layer of relay crypto with the
 * recognized check, in place (5.5, 6.1), per-circuit queue cap (tor's
 * circ_max_cell_queue_size, param-spec) and circuit-level authenticated
 * SENDMEs at the edge (7.3, proposal 289) -- or, once congestion control
 * was negotiated in the ntor v3 handshake (proposal 324 4, 2.2), a
 * congestion window (congestion.c) instead of the fixed circuit windows and
 * XON/XOFF instead of stream windows.
 * See include/allium/core/circuit/circuit_relay.h. */
#define LOG_MODULE "circuit"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/core/circuit/congestion.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/onion/onion_server.h"
#include "allium/core/stream/relay_queue.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

struct circ_relay_t {
  circ_relay_state_t state;
  relay_crypto_t *crypto;
  relay_flow_t *flow;        /* allocated when first needed: only a circuit
                              * with messages for this hop uses windows */
  cc_state_t *cc;            /* congestion control negotiated: no windows */
  unsigned early_seen;
  uint16_t htype;
  bool cc_requested;
  bool next_gone;            /* TRUNCATE: ignore what the old next hop says */
  bool spliced;              /* rendezvous point: joined to another circuit */
  uint8_t kh[ONION_KH_LEN];  /* KH of the create handshake (secret) */
  relay_streams_t *streams;
  relay_queue_t cells;
  size_t queued[2];          /* cells in `cells` per direction */
  size_t queue_cap;
  relay_queue_t events;
};

static void relay_close(circ_relay_t *c, uint8_t reason, int from_dir,
                        const char *what);

/* The circuit-level windows, created on first use.  Most relay circuits
 * only pass cells on and never need them (360 bytes each). */
static relay_flow_t *
flow_get(circ_relay_t *c)
{
  if (!c->flow) {
    c->flow = al_malloc(sizeof(*c->flow));
    relay_flow_init_circuit(c->flow);
  }
  return c->flow;
}

static relay_flow_t flow_initial;
static pthread_once_t flow_initial_once = PTHREAD_ONCE_INIT;

static void
flow_initial_init(void)
{
  relay_flow_init_circuit(&flow_initial);
}

static void
push_cell_nocap(circ_relay_t *c, int dir, uint8_t command,
                const uint8_t *payload, size_t len)
{
  circ_cell_t cell;
  cell.dir = (uint8_t)dir;
  cell.command = command;
  memcpy(cell.payload, payload, len);
  if (len < sizeof(cell.payload))
    memset(cell.payload + len, 0, sizeof(cell.payload) - len);
  relay_queue_push(&c->cells, &cell);
  c->queued[dir & 1]++;
  memwipe(&cell, sizeof(cell));
}

/* Drop every queued cell (those of direction dir only, if dir >= 0). */
static void
drop_queued(circ_relay_t *c, int dir)
{
  relay_queue_t keep;
  circ_cell_t cell;
  relay_queue_init(&keep, sizeof(circ_cell_t));
  while (relay_queue_pop(&c->cells, &cell))
    if (dir >= 0 && cell.dir != dir)
      relay_queue_push(&keep, &cell);
  memwipe(&cell, sizeof(cell));
  relay_queue_clear(&c->cells);
  c->cells = keep;
  if (dir >= 0)
    c->queued[dir & 1] = 0;
  else
    c->queued[0] = c->queued[1] = 0;
}

/* Queue a cell; a direction past its cap closes the circuit with
 * RESOURCELIMIT, dropping what was queued (tor closes such circuits). */
static void
push_cell(circ_relay_t *c, int dir, uint8_t command, const uint8_t *payload,
          size_t len)
{
  if (c->queued[dir & 1] >= c->queue_cap) {
    drop_queued(c, -1);
    relay_close(c, CELL_DESTROY_RESOURCELIMIT, -1,
                "circuit cell queue full");
    return;
  }
  push_cell_nocap(c, dir, command, payload, len);
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
    push_cell_nocap(c, dir, CELL_DESTROY, p, sizeof(p));
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

/* ---- congestion control (proposal 324) ---- */

static uint64_t
now_usec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* At info level, what a circuit with congestion control did (no
 * addresses, no payload: counts only), for circuits that carried at least
 * CC_LOG_MIN_CELLS DATA cells (a log line costs a peer ~500 KB). */
#define CC_LOG_MIN_CELLS 1000
static void
cc_log_stats(const circ_relay_t *c)
{
  if (!c->cc || !log_is_enabled(SEV_INFO))
    return;
  cc_stats_t st;
  cc_get_stats(c->cc, &st);
  if (st.cells_sent + st.cells_received < CC_LOG_MIN_CELLS)
    return;
  log_info("Congestion control stats (exit circuit): sendme_inc %u, cwnd "
           "%llu, DATA cells sent %llu / received %llu, circuit SENDMEs "
           "received %llu / sent %llu, min RTT %llu us.", st.sendme_inc,
           (unsigned long long)st.cwnd, (unsigned long long)st.cells_sent,
           (unsigned long long)st.cells_received,
           (unsigned long long)st.sendmes_received,
           (unsigned long long)st.sendmes_sent,
           (unsigned long long)st.rtt_min_usec);
}

int
circ_relay_enable_cc(circ_relay_t *c, const cc_params_t *p,
                     uint8_t sendme_inc)
{
  if (!c || !p || sendme_inc == 0 || c->cc)
    return CIRC_ERR_ARG;
  if (c->streams || c->flow)
    return CIRC_ERR_STATE;   /* only before the first relay message */
  c->cc = cc_new(p, sendme_inc);
  return c->cc ? 0 : CIRC_ERR_ARG;
}

const cc_state_t *
circ_relay_cc(const circ_relay_t *c)
{
  return c ? c->cc : NULL;
}

circ_relay_t *
circ_relay_new_answered(const onion_answer_t *ans)
{
  if (!ans || (ans->command != CELL_CREATED2 &&
               ans->command != CELL_CREATED_FAST))
    return NULL;
  circ_relay_t *c = al_calloc(1, sizeof(*c));
  c->crypto = relay_crypto_new(RELAY_CRYPTO_TOR1, ans->keys, ONION_KEYS_LEN,
                               0);
  if (!c->crypto) {
    al_free(c);
    return NULL;
  }
  relay_queue_init(&c->cells, sizeof(circ_cell_t));
  relay_queue_init(&c->events, sizeof(circ_event_t));
  c->queue_cap = CIRC_RELAY_QUEUE_CAP_DEFAULT;
  c->state = CIRC_RELAY_OPEN;
  c->htype = ans->htype;
  c->cc_requested = ans->cc_requested;
  memcpy(c->kh, ans->kh, sizeof(c->kh));
  push_cell_nocap(c, CIRC_DIR_PREV, ans->command, ans->reply,
                  sizeof(ans->reply));
  return c;
}

int
circ_relay_create_cell(circ_relay_t **out, const circ_relay_keys_t *keys,
                       uint8_t command, const uint8_t *payload, size_t len,
                       uint8_t *destroy_reason)
{
  onion_answer_t ans;
  *out = NULL;
  int r = onion_server_answer(&ans, keys, NULL, command, payload, len);
  if (r < 0) {
    *destroy_reason = ans.destroy_reason;
    log_info_rl(60, "refused a create cell: %s", ans.error);
    return r == ONION_ERR_HANDSHAKE ? CIRC_ERR_CRYPTO : CIRC_ERR_ARG;
  }
  *out = circ_relay_new_answered(&ans);
  onion_answer_wipe(&ans);
  if (!*out) {
    *destroy_reason = CELL_DESTROY_INTERNAL;
    return CIRC_ERR_CRYPTO;
  }
  *destroy_reason = CELL_DESTROY_NONE;
  return 0;
}

int
circ_relay_create(circ_relay_t **out, const circ_relay_keys_t *keys,
                  const uint8_t *payload, size_t len, uint8_t *destroy_reason)
{
  return circ_relay_create_cell(out, keys, CELL_CREATE2, payload, len,
                                destroy_reason);
}

void
circ_relay_free_(circ_relay_t *c)
{
  if (!c)
    return;
  relay_crypto_free(c->crypto);
  relay_streams_free(c->streams);
  cc_log_stats(c);
  cc_free(c->cc);
  if (c->flow) {
    relay_flow_clear(c->flow);
    al_free(c->flow);
  }
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
  if (command == RELAY_DATA &&
      !(c->cc ? cc_can_send(c->cc) : relay_flow_can_package(flow_get(c))))
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
    if (c->cc)
      (void)cc_note_cell_sent(c->cc, now_usec(), d);
    else
      (void)relay_flow_note_packaged(flow_get(c), d);
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

/* Copy the known link specifiers of m into t and pick out the first
 * address of each family and the identities; 0, or -1 if the request lacks
 * the legacy identity or any address (5.1.2; the decoder has already
 * refused duplicate identities and wrong lengths). */
static int
copy_target(circ_extend_target_t *t, const relay_extend2_t *m)
{
  bool has_id = false;
  for (unsigned i = 0; i < m->n_spec; i++) {
    const relay_lspec_t *l = &m->spec[i];
    switch (l->type) {
    case RELAY_LSPEC_IPV4:
      if (!t->has_ipv4) {
        t->has_ipv4 = true;
        memcpy(t->ipv4, l->u.ipv4.addr, 4);
        t->ipv4_port = l->u.ipv4.port;
      }
      break;
    case RELAY_LSPEC_IPV6:
      if (!t->has_ipv6) {
        t->has_ipv6 = true;
        memcpy(t->ipv6, l->u.ipv6.addr, 16);
        t->ipv6_port = l->u.ipv6.port;
      }
      break;
    case RELAY_LSPEC_LEGACY_ID:
      has_id = true;
      memcpy(t->rsa_id, l->u.legacy_id, RELAY_LEGACY_ID_LEN);
      break;
    case RELAY_LSPEC_ED25519_ID:
      t->has_ed_id = true;
      memcpy(t->ed_id, l->u.ed25519_id, RELAY_ED25519_ID_LEN);
      break;
    default:
      continue;   /* unknown: ignored */
    }
    if (t->n_lspec < CIRC_MAX_LSPEC)
      t->lspec[t->n_lspec++] = *l;
  }
  if (t->has_ipv4 && t->ipv4_port == 0)
    t->has_ipv4 = false;
  if (t->has_ipv6 && t->ipv6_port == 0)
    t->has_ipv6 = false;
  return has_id && (t->has_ipv4 || t->has_ipv6) ? 0 : -1;
}

bool
circ_extend_target_names(const circ_extend_target_t *t,
                         const uint8_t rsa_id[20], const uint8_t *ed_id)
{
  if (!t || !rsa_id)
    return false;
  if (crypto_memeq(t->rsa_id, rsa_id, RELAY_LEGACY_ID_LEN))
    return true;
  return ed_id && t->has_ed_id &&
         crypto_memeq(t->ed_id, ed_id, RELAY_ED25519_ID_LEN);
}

static void
relay_handle_extend2(circ_relay_t *c, bool early, const relay_header_t *h,
                     const uint8_t *body)
{
  if (!early) {
    protocol_error(c, "EXTEND2 outside RELAY_EARLY");
    return;
  }
  if (c->spliced) {
    protocol_error(c, "EXTEND2 on a joined rendezvous circuit");
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
  /* Onward only what tor 0.4.9 still speaks: ntor and ntor v3. */
  if (r == 0 && m->htype != CELL_HTYPE_NTOR && m->htype != CELL_HTYPE_NTOR_V3)
    r = -1;
  if (r == 0) {
    cell_create2_t cr = { m->htype, m->hlen, m->hdata };
    ev->extend.htype = m->htype;
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
  c->next_gone = false;
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
  int w = c->cc ? cc_note_cell_received(c->cc)
                : relay_flow_note_delivered(flow_get(c));
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
  if (c->cc) {
    int e = cc_note_sendme_received(c->cc, now_usec(),
                                    s.version == 1 ? s.digest : NULL, false);
    memwipe(&s, sizeof(s));
    if (e < 0) {
      protocol_error(c, e == CC_ERR_UNEXPECTED
                     ? "circuit SENDME with nothing outstanding"
                     : "circuit SENDME digest or version rejected");
      return;
    }
    if (c->streams)
      relay_streams_flush(c->streams);
    return;
  }
  int r = relay_flow_handle_sendme(flow_get(c), &s);
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
  if (c->state == CIRC_RELAY_EXTENDED || c->state == CIRC_RELAY_EXTENDING) {
    /* Cells still queued for the next hop are dropped (tor-spec 5.4). */
    drop_queued(c, CIRC_DIR_NEXT);
    push_destroy(c, CIRC_DIR_NEXT, CELL_DESTROY_REQUESTED);
    circ_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = CIRC_EV_NEXT_CLOSED;
    ev.hop = CIRC_HOP_NONE;
    ev.reason = CELL_DESTROY_REQUESTED;
    ev.what = "TRUNCATE";
    push_event(c, &ev);
    c->next_gone = true;
  }
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

/* A RELAY / RELAY_EARLY cell from the originator's side, decrypted in
 * place; 1 if it is to be passed on to the next hop as it now is. */
static int
relay_handle_forward(circ_relay_t *c, uint8_t command,
                     uint8_t payload[CELL_PAYLOAD_LEN])
{
  relay_header_t h;
  const uint8_t *body;
  bool early = command == CELL_RELAY_EARLY;
  if (early && ++c->early_seen > CIRC_MAX_RELAY_EARLY) {
    protocol_error(c, "more than 8 RELAY_EARLY cells");
    return 0;
  }
  if (relay_crypto_relay_decrypt(c->crypto, payload) == 1) {
    if (relay_cell_unpack(&h, &body, payload) < 0)
      protocol_error(c, "malformed relay header");
    else
      relay_dispatch(c, early, &h, body);
    return 0;
  }
  if (c->state == CIRC_RELAY_EXTENDED || c->spliced)
    return 1;   /* onward (spliced: to the joined circuit) */
  protocol_error(c, c->state == CIRC_RELAY_EXTENDING
                 ? "unrecognized relay cell while extending"
                 : "unrecognized relay cell at the last hop");
  return 0;
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

/* A cell from the next hop; 1 if it is to be passed back (encrypted in
 * place). */
static int
relay_handle_from_next(circ_relay_t *c, uint8_t command,
                       uint8_t payload[CELL_PAYLOAD_LEN])
{
  uint8_t reason;
  if (c->next_gone && c->state == CIRC_RELAY_OPEN)
    return 0;    /* the truncated hop's last words */
  switch (command) {
  case CELL_RELAY:
    if (c->state != CIRC_RELAY_EXTENDED) {
      protocol_error(c, "RELAY cell from a next hop we do not have");
      return 0;
    }
    relay_crypto_relay_encrypt(c->crypto, payload);
    return 1;
  case CELL_RELAY_EARLY:
    protocol_error(c, "inbound RELAY_EARLY");
    return 0;
  case CELL_CREATED2:
    relay_handle_created2(c, payload);
    return 0;
  case CELL_DESTROY:
    if (c->state != CIRC_RELAY_EXTENDED && c->state != CIRC_RELAY_EXTENDING)
      return 0;
    if (cell_destroy_decode(&reason, payload, CELL_PAYLOAD_LEN) < 0)
      reason = CELL_DESTROY_NONE;
    relay_close(c, reason, CIRC_DIR_NEXT,
                c->state == CIRC_RELAY_EXTENDING ? "extend refused by next hop"
                                                 : "DESTROY from next hop");
    return 0;
  default:
    return 0;
  }
}

int
circ_relay_process_cell(circ_relay_t *c, int from_dir, uint8_t command,
                        uint8_t payload[CELL_PAYLOAD_LEN], int *to_dir)
{
  uint8_t reason;
  if (!c || !payload || !to_dir ||
      (from_dir != CIRC_DIR_PREV && from_dir != CIRC_DIR_NEXT))
    return CIRC_ERR_ARG;
  if (c->state == CIRC_RELAY_CLOSED)
    return 0;
  if (from_dir == CIRC_DIR_NEXT) {
    *to_dir = CIRC_DIR_PREV;
    return relay_handle_from_next(c, command, payload);
  }
  switch (command) {
  case CELL_RELAY:
  case CELL_RELAY_EARLY:
    *to_dir = CIRC_DIR_NEXT;
    return relay_handle_forward(c, command, payload);
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

int
circ_relay_handle_cell(circ_relay_t *c, int from_dir, uint8_t command,
                       const uint8_t payload[CELL_PAYLOAD_LEN])
{
  uint8_t buf[CELL_PAYLOAD_LEN];
  int to_dir = 0;
  if (!c || !payload)
    return CIRC_ERR_ARG;
  memcpy(buf, payload, sizeof(buf));
  int r = circ_relay_process_cell(c, from_dir, command, buf, &to_dir);
  if (r == 1) {
    push_cell(c, to_dir, command, buf, sizeof(buf));
    r = 0;
  }
  memwipe(buf, sizeof(buf));
  return r;
}

int
circ_relay_note_queued(circ_relay_t *c, int dir, size_t n)
{
  if (!c || n <= c->queue_cap)
    return 0;
  (void)dir;
  drop_queued(c, -1);
  relay_close(c, CELL_DESTROY_RESOURCELIMIT, -1, "circuit cell queue full");
  return -1;
}

void
circ_relay_set_queue_cap(circ_relay_t *c, size_t cap)
{
  if (cap == 0)
    cap = CIRC_RELAY_QUEUE_CAP_DEFAULT;
  c->queue_cap = cap < CIRC_RELAY_QUEUE_CAP_MIN ? CIRC_RELAY_QUEUE_CAP_MIN
                                                : cap;
}

size_t
circ_relay_queued(const circ_relay_t *c, int dir)
{
  return c->queued[dir & 1];
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
  return c->state != CIRC_RELAY_CLOSED &&
         (c->cc ? cc_can_send(c->cc) : relay_flow_can_package(flow_get(c)));
}

static size_t
stream_max_data_cb(void *ctx)
{
  circ_relay_t *c = ctx;
  return c->cc ? cc_max_data_len(c->cc, RELAY_BODY_MAX)
               : relay_flow_max_data_len(flow_get(c));
}

relay_streams_t *
circ_relay_attach_streams(circ_relay_t *c)
{
  if (c->streams)
    return NULL;
  relay_stream_sender_t s = { stream_send_cb, stream_can_package_cb,
                              stream_max_data_cb, c };
  c->streams = relay_streams_new(RELAY_STREAM_ROLE_EXIT, &s);
  if (c->cc)
    relay_streams_set_flowctrl(c->streams, true);
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
  int r = relay_queue_pop(&c->cells, out);
  if (r == 1 && c->queued[out->dir & 1])
    c->queued[out->dir & 1]--;
  else if (r == 0 && c->cells.cap)
    relay_queue_clear(&c->cells);   /* drained: an idle circuit holds none */
  return r;
}

int
circ_relay_next_event(circ_relay_t *c, circ_event_t *out)
{
  int r = relay_queue_pop(&c->events, out);
  if (r == 0 && c->events.cap)
    relay_queue_clear(&c->events);
  return r;
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
  if (c->flow)
    return c->flow;
  pthread_once(&flow_initial_once, flow_initial_init);
  return &flow_initial;   /* nothing sent or delivered yet */
}

uint16_t
circ_relay_htype(const circ_relay_t *c)
{
  return c->htype;
}

bool
circ_relay_cc_requested(const circ_relay_t *c)
{
  return c->cc_requested;
}

/* ---- onion services: KH, rendezvous splicing (rend-spec-v3 3.1.1, 4.2) ---- */

const uint8_t *
circ_relay_kh(const circ_relay_t *c)
{
  return c ? c->kh : NULL;
}

int
circ_relay_set_spliced(circ_relay_t *c)
{
  if (!c || c->state != CIRC_RELAY_OPEN || c->streams)
    return CIRC_ERR_STATE;
  c->spliced = true;
  return 0;
}

bool
circ_relay_spliced(const circ_relay_t *c)
{
  return c && c->spliced;
}

int
circ_relay_splice_inbound(circ_relay_t *c, uint8_t payload[CELL_PAYLOAD_LEN])
{
  if (!c || !payload || !c->spliced)
    return CIRC_ERR_ARG;
  if (c->state == CIRC_RELAY_CLOSED)
    return 0;
  relay_crypto_relay_encrypt(c->crypto, payload);
  return 1;
}
