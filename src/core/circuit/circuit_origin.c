/* circuit_origin.c -- origin circuits as a sans-IO state machine: CREATE2 /
 * CREATED2 and EXTEND2 / EXTENDED2 with ntor (tor-spec 5.1, 5.1.2, 5.1.4),
 * RELAY_EARLY accounting (5.6), teardown by DESTROY / TRUNCATED (5.4),
 * layered relay crypto (5.5, 6.1) and circuit-level authenticated SENDMEs
 * (7.3, proposal 289); one-hop CREATE_FAST / CREATED_FAST with KDF-TOR
 * (5.1.5, 5.2.1); ntor v3 with the CC_REQUEST extension towards a hop
 * that should run congestion control (proposal 324 10, proposal 332), and
 * then that hop's congestion window and SENDME pacing (congestion.h).
 * See include/allium/core/circuit/circuit_origin.h. */
#define LOG_MODULE "circuit"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/circuit/congestion_codec.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/core/stream/relay_queue.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>
#include <time.h>

/* Df | Db | Kf | Kb (72 bytes of relay crypto) | KH: tor-spec 5.2.2, the
 * 20 bytes after the relay keys are the circuit's KH ("rend nonce"), which
 * onion services use (rend-spec-v3 3.1.1 HANDSHAKE_AUTH). */
#define TOR1_KEY_MATERIAL 72
#define NTOR_KEY_MATERIAL (TOR1_KEY_MATERIAL + CIRC_ORIGIN_KH_LEN)
/* CREATE_FAST: KDF-TOR gives the CREATED_FAST check value first, then the
 * same 92 bytes (tor-spec 5.1.5, 5.2.1). */
#define FAST_KEY_MATERIAL (CELL_FAST_KEY_LEN + NTOR_KEY_MATERIAL)

typedef struct origin_hop_t {
  circ_hop_spec_t spec;
  relay_flow_t flow;
  cc_state_t *cc;                   /**< congestion control; NULL: windows */
  uint8_t kh[CIRC_ORIGIN_KH_LEN];   /**< KH of this hop's handshake */
  bool is_virtual;                  /**< the hs-ntor hop (no relay, no KH) */
} origin_hop_t;

struct circ_origin_t {
  circ_origin_state_t state;
  origin_hop_t hops[CIRC_ORIGIN_MAX_HOPS];
  relay_crypto_t *crypto[CIRC_ORIGIN_MAX_HOPS];
  size_t n_hops;
  ntor_client_state_t *pending;     /**< handshake in progress */
  ntor3_client_state_t *pending3;   /**< ... or an ntor v3 one */
  circ_hop_spec_t pending_spec;
  bool fast_pending;                /**< CREATE_FAST sent, X below */
  uint8_t fast_x[CELL_FAST_KEY_LEN];
  unsigned early_used;
  bool built;                       /**< circ_origin_build_done() called */
  bool has_deadline;
  uint64_t deadline;
  relay_streams_t *streams;
  size_t streams_hop;
  relay_queue_t cells;
  relay_queue_t events;
  circ_origin_cell_sink_t sink;     /**< cells go here when set */
  void *sink_arg;
  circ_origin_clock_t clock;        /**< NULL: CLOCK_MONOTONIC */
  void *clock_arg;
};

/* A CREATE2 / EXTEND2 answer is awaited. */
static bool
handshake_pending(const circ_origin_t *c)
{
  return c->pending || c->pending3;
}

static void
pending_free(circ_origin_t *c)
{
  ntor_client_state_free(c->pending);
  ntor3_client_state_free(c->pending3);
}

static uint64_t
origin_now_usec(const circ_origin_t *c)
{
  if (c->clock)
    return c->clock(c->clock_arg);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

circ_origin_t *
circ_origin_new(void)
{
  circ_origin_t *c = al_calloc(1, sizeof(*c));
  relay_queue_init(&c->cells, sizeof(circ_cell_t));
  relay_queue_init(&c->events, sizeof(circ_event_t));
  return c;
}

void
circ_origin_free_(circ_origin_t *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n_hops; i++) {
    relay_crypto_free(c->crypto[i]);
    cc_free(c->hops[i].cc);
  }
  pending_free(c);
  relay_streams_free(c->streams);
  relay_queue_clear(&c->cells);
  relay_queue_clear(&c->events);
  memwipe(c, sizeof(*c));
  al_free(c);
}

static void
push_cell(circ_origin_t *c, uint8_t command, const uint8_t *payload,
          size_t len)
{
  if (c->sink && len == CELL_PAYLOAD_LEN) {
    c->sink(c->sink_arg, command, payload);   /* no copy here */
    return;
  }
  if (c->sink) {
    uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
    memcpy(p, payload, len);
    c->sink(c->sink_arg, command, p);
    memwipe(p, sizeof(p));
    return;
  }
  circ_cell_t cell;
  memset(&cell, 0, sizeof(cell));
  cell.dir = CIRC_DIR_NEXT;
  cell.command = command;
  memcpy(cell.payload, payload, len);
  relay_queue_push(&c->cells, &cell);
  memwipe(&cell, sizeof(cell));
}

static void
push_event(circ_origin_t *c, circ_event_t *ev)
{
  relay_queue_push(&c->events, ev);
  memwipe(ev, sizeof(*ev));
}

/* What congestion control did on this circuit (info level, no addresses). */
static void
origin_log_cc_stats(const circ_origin_t *c)
{
  for (size_t i = 0; i < c->n_hops; i++) {
    if (!c->hops[i].cc)
      continue;
    cc_stats_t st;
    cc_get_stats(c->hops[i].cc, &st);
    log_info("Congestion control stats (hop %zu): sendme_inc %u, cwnd %llu, "
             "%s, DATA cells sent %llu / received %llu, circuit SENDMEs "
             "sent %llu / received %llu, RTT min %llu ms ewma %llu ms",
             i + 1, st.sendme_inc, (unsigned long long)st.cwnd,
             st.in_slow_start ? "slow start" : "steady state",
             (unsigned long long)st.cells_sent,
             (unsigned long long)st.cells_received,
             (unsigned long long)st.sendmes_sent,
             (unsigned long long)st.sendmes_received,
             (unsigned long long)(st.rtt_min_usec / 1000),
             (unsigned long long)(st.rtt_ewma_usec / 1000));
  }
}

/* Close the circuit.  send_destroy: queue a DESTROY (reason NONE, 5.4). */
static void
origin_close(circ_origin_t *c, uint8_t reason, bool remote, size_t hop,
             const char *what, bool send_destroy)
{
  if (c->state == CIRC_ORIGIN_CLOSED)
    return;
  if (send_destroy && (c->n_hops > 0 || handshake_pending(c) ||
                       c->fast_pending)) {
    uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
    size_t n;
    if (cell_destroy_encode(CELL_DESTROY_NONE, p, sizeof(p), &n) == 0)
      push_cell(c, CELL_DESTROY, p, sizeof(p));
  }
  c->state = CIRC_ORIGIN_CLOSED;
  pending_free(c);
  origin_log_cc_stats(c);
  c->fast_pending = false;
  memwipe(c->fast_x, sizeof(c->fast_x));
  if (c->streams)
    relay_streams_circuit_closed(c->streams);
  circ_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = CIRC_EV_CLOSED;
  ev.reason = reason;
  ev.remote = remote;
  ev.hop = hop < CIRC_HOP_NONE ? (uint8_t)hop : CIRC_HOP_NONE;
  ev.what = what;
  push_event(c, &ev);
  log_info("origin circuit closed: %s (reason %u)", what, reason);
}

static void
protocol_error(circ_origin_t *c, size_t hop, const char *what)
{
  origin_close(c, CELL_DESTROY_PROTOCOL, false, hop, what, true);
}

void
circ_origin_close(circ_origin_t *c, uint8_t reason)
{
  origin_close(c, reason, false, CIRC_HOP_NONE, "closed by caller", true);
}

static void origin_add_hop(circ_origin_t *c, const uint8_t *keys,
                           cc_state_t *cc);

/* ---- sending ---- */

/* Pack, encrypt to hop and queue.  DATA counts against the hop's window. */
static int
origin_send_msg(circ_origin_t *c, size_t hop, uint8_t command,
                uint16_t stream_id, const uint8_t *body, size_t len,
                bool early)
{
  relay_header_t h;
  uint8_t buf[CELL_PAYLOAD_LEN];
  if (hop >= c->n_hops || len > RELAY_BODY_MAX || (len && !body))
    return CIRC_ERR_ARG;
  relay_flow_t *flow = &c->hops[hop].flow;
  cc_state_t *cc = c->hops[hop].cc;
  if (command == RELAY_DATA &&
      !(cc ? cc_can_send(cc) : relay_flow_can_package(flow)))
    return CIRC_ERR_WINDOW;
  memset(&h, 0, sizeof(h));
  h.command = command;
  h.stream_id = stream_id;
  if (relay_cell_pack(buf, &h, body, len, crypto_rand) < 0)
    return CIRC_ERR_ARG;
  if (relay_crypto_origin_encrypt(c->crypto, c->n_hops, hop, buf) < 0)
    return CIRC_ERR_CRYPTO;
  if (command == RELAY_DATA) {
    uint8_t d[RELAY_SENDME_DIGEST_LEN];
    relay_crypto_digest_peek(c->crypto[hop], 0, d, sizeof(d));
    if (cc)
      (void)cc_note_cell_sent(cc, origin_now_usec(c), d);
    else
      (void)relay_flow_note_packaged(flow, d);
    memwipe(d, sizeof(d));
  }
  /* buf is ciphertext now: it goes out as it is, no wipe needed. */
  push_cell(c, early ? CELL_RELAY_EARLY : CELL_RELAY, buf, sizeof(buf));
  return 0;
}

int
circ_origin_send(circ_origin_t *c, size_t hop, uint8_t command,
                 uint16_t stream_id, const uint8_t *body, size_t body_len)
{
  if (c->state != CIRC_ORIGIN_OPEN && c->state != CIRC_ORIGIN_BUILDING)
    return CIRC_ERR_STATE;
  /* 5.6: once built, spend the remaining RELAY_EARLY cells on the first
   * cells for hops beyond the first, to hide the circuit length. */
  bool early = c->built && hop > 0 && c->early_used < CIRC_MAX_RELAY_EARLY;
  int r = origin_send_msg(c, hop, command, stream_id, body, body_len, early);
  if (r == 0 && early)
    c->early_used++;
  return r;
}

/* ---- building ---- */

int
circ_origin_start(circ_origin_t *c, const circ_hop_spec_t *first,
                  uint64_t now, uint64_t timeout)
{
  uint8_t skin[NTOR_ONIONSKIN_LEN];
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  size_t n;
  if (c->state != CIRC_ORIGIN_NEW)
    return CIRC_ERR_STATE;
  if (ntor_client_create(&c->pending, skin, first->rsa_id,
                         first->ntor_key) < 0)
    return CIRC_ERR_CRYPTO;
  cell_create2_t cr = { CELL_HTYPE_NTOR, NTOR_ONIONSKIN_LEN, skin };
  if (cell_create2_encode(&cr, p, sizeof(p), &n) < 0) {
    ntor_client_state_free(c->pending);
    return CIRC_ERR_ARG;
  }
  c->pending_spec = *first;
  c->has_deadline = timeout != 0;
  c->deadline = now + timeout;
  c->state = CIRC_ORIGIN_BUILDING;
  push_cell(c, CELL_CREATE2, p, sizeof(p));
  return 0;
}

int
circ_origin_start_fast(circ_origin_t *c, const circ_hop_spec_t *first,
                       uint64_t now, uint64_t timeout)
{
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  cell_create_fast_t cf;
  size_t n;
  if (c->state != CIRC_ORIGIN_NEW)
    return CIRC_ERR_STATE;
  crypto_rand(cf.x, sizeof(cf.x));
  if (cell_create_fast_encode(&cf, p, sizeof(p), &n) < 0) {
    memwipe(&cf, sizeof(cf));
    return CIRC_ERR_ARG;
  }
  memcpy(c->fast_x, cf.x, sizeof(c->fast_x));
  memwipe(&cf, sizeof(cf));
  if (first)
    c->pending_spec = *first;
  else
    memset(&c->pending_spec, 0, sizeof(c->pending_spec));
  c->fast_pending = true;
  c->has_deadline = timeout != 0;
  c->deadline = now + timeout;
  c->state = CIRC_ORIGIN_BUILDING;
  push_cell(c, CELL_CREATE_FAST, p, sizeof(p));
  memwipe(p, sizeof(p));
  return 0;
}

/* CREATED_FAST: K0 = X | Y, KDF-TOR(K0) = KH | Df | Db | Kf | Kb; KH must
 * match what the relay sent (5.1.5, 5.2.1). */
static void
origin_handle_created_fast(circ_origin_t *c,
                           const uint8_t payload[CELL_PAYLOAD_LEN])
{
  cell_created_fast_t cf;
  uint8_t k0[2 * CELL_FAST_KEY_LEN];
  uint8_t keys[FAST_KEY_MATERIAL];
  if (c->n_hops != 0 || !c->fast_pending) {
    protocol_error(c, 0, "unexpected CREATED_FAST");
    return;
  }
  if (cell_created_fast_decode(&cf, payload, CELL_PAYLOAD_LEN) < 0) {
    memwipe(c->fast_x, sizeof(c->fast_x));
    protocol_error(c, 0, "malformed CREATED_FAST");
    return;
  }
  memcpy(k0, c->fast_x, CELL_FAST_KEY_LEN);
  memcpy(k0 + CELL_FAST_KEY_LEN, cf.y, CELL_FAST_KEY_LEN);
  memwipe(c->fast_x, sizeof(c->fast_x));
  int r = crypto_kdf_tor(keys, sizeof(keys), k0, sizeof(k0));
  memwipe(k0, sizeof(k0));
  if (r < 0 || !crypto_memeq(keys, cf.kh, CELL_FAST_KEY_LEN)) {
    memwipe(keys, sizeof(keys));
    memwipe(&cf, sizeof(cf));
    protocol_error(c, 0, "CREATE_FAST key hash mismatch");
    return;
  }
  memwipe(&cf, sizeof(cf));
  c->fast_pending = false;
  origin_add_hop(c, keys + CELL_FAST_KEY_LEN, NULL);
  memwipe(keys, sizeof(keys));
}

/* Fill m's link specifiers from spec. */
static int
fill_lspecs(relay_extend2_t *m, const circ_hop_spec_t *spec)
{
  if (spec->n_addr == 0 || spec->n_addr > 2)
    return CIRC_ERR_ARG;
  for (uint8_t i = 0; i < spec->n_addr; i++) {
    if (spec->addr[i].type != RELAY_LSPEC_IPV4 &&
        spec->addr[i].type != RELAY_LSPEC_IPV6)
      return CIRC_ERR_ARG;
    m->spec[m->n_spec++] = spec->addr[i];
  }
  relay_lspec_t *l = &m->spec[m->n_spec++];
  l->type = RELAY_LSPEC_LEGACY_ID;
  l->len = RELAY_LEGACY_ID_LEN;
  memcpy(l->u.legacy_id, spec->rsa_id, RELAY_LEGACY_ID_LEN);
  if (spec->has_ed_id) {
    l = &m->spec[m->n_spec++];
    l->type = RELAY_LSPEC_ED25519_ID;
    l->len = RELAY_ED25519_ID_LEN;
    memcpy(l->u.ed25519_id, spec->ed_id, RELAY_ED25519_ID_LEN);
  }
  return 0;
}

/* The onionskin for next into m: ntor, or ntor v3 with a CC_REQUEST when
 * next wants congestion control (proposal 324 10.3).  *skin3 gets the v3
 * onionskin buffer (caller frees). */
static int
make_onionskin(circ_origin_t *c, const circ_hop_spec_t *next,
               relay_extend2_t *m, uint8_t skin[NTOR_ONIONSKIN_LEN],
               uint8_t **skin3)
{
  if (next->want_cc && next->has_ed_id) {
    uint8_t cm[CC_EXT_REQUEST_LEN];
    size_t cm_len, len;
    if (cc_ext_encode_request(cm, sizeof(cm), &cm_len) < 0 ||
        ntor3_client_create(&c->pending3, skin3, &len, next->ed_id,
                            next->ntor_key,
                            (const uint8_t *)NTOR3_CIRC_VERIFICATION,
                            strlen(NTOR3_CIRC_VERIFICATION), cm, cm_len,
                            NULL) < 0)
      return CIRC_ERR_CRYPTO;
    m->htype = CELL_HTYPE_NTOR_V3;
    m->hlen = (uint16_t)len;
    m->hdata = *skin3;
    return 0;
  }
  if (ntor_client_create(&c->pending, skin, next->rsa_id, next->ntor_key) < 0)
    return CIRC_ERR_CRYPTO;
  m->htype = CELL_HTYPE_NTOR;
  m->hlen = NTOR_ONIONSKIN_LEN;
  m->hdata = skin;
  return 0;
}

int
circ_origin_extend(circ_origin_t *c, const circ_hop_spec_t *next)
{
  uint8_t skin[NTOR_ONIONSKIN_LEN];
  uint8_t *skin3 = NULL;
  uint8_t body[RELAY_BODY_MAX];
  size_t blen;
  if (c->state != CIRC_ORIGIN_OPEN || handshake_pending(c))
    return CIRC_ERR_STATE;
  if (c->n_hops > 0 && c->hops[c->n_hops - 1].is_virtual)
    return CIRC_ERR_STATE;   /* nothing extends past the other party */
  if (c->early_used >= CIRC_MAX_RELAY_EARLY || c->n_hops >= CIRC_ORIGIN_MAX_HOPS)
    return CIRC_ERR_EARLY;
  relay_extend2_t *m = al_calloc(1, sizeof(*m));
  int r = fill_lspecs(m, next);
  if (r == 0)
    r = make_onionskin(c, next, m, skin, &skin3);
  if (r == 0 && relay_extend2_encode(m, body, sizeof(body), &blen) < 0)
    r = CIRC_ERR_ARG;
  al_free(m);
  al_free(skin3);
  if (r == 0)
    r = origin_send_msg(c, c->n_hops - 1, RELAY_EXTEND2, 0, body, blen, true);
  if (r < 0) {
    pending_free(c);
    return r;
  }
  c->early_used++;
  c->pending_spec = *next;
  c->state = CIRC_ORIGIN_BUILDING;
  return 0;
}

void
circ_origin_build_done(circ_origin_t *c)
{
  c->has_deadline = false;
  c->built = true;
}

void
circ_origin_tick(circ_origin_t *c, uint64_t now)
{
  if (c->state == CIRC_ORIGIN_CLOSED || !c->has_deadline)
    return;
  if (now >= c->deadline)
    origin_close(c, CELL_DESTROY_TIMEOUT, false, c->n_hops,
                 "circuit build timed out", true);
}

/* Finish the pending ntor v3 handshake; the reply's extensions decide
 * whether the hop runs congestion control (proposal 324 10.5).  0 with
 * keys filled and *cc_out set (NULL: windows), or -1 (circuit closed). */
static int
origin_finish_v3(circ_origin_t *c, const uint8_t *hdata, uint16_t hlen,
                 uint8_t *keys, cc_state_t **cc_out)
{
  uint8_t *sm = NULL;
  size_t sm_len = 0;
  cc_ext_t ext;
  uint8_t inc = 0;
  size_t idx = c->n_hops;
  const circ_hop_spec_t *spec = &c->pending_spec;
  *cc_out = NULL;
  if (ntor3_client_finish(c->pending3, hdata, hlen, &sm, &sm_len, keys,
                          NTOR_KEY_MATERIAL) < 0) {
    protocol_error(c, idx, "ntor v3 handshake failed");
    return -1;
  }
  int r = cc_ext_parse(sm, sm_len, &ext);
  al_free(sm);
  if (r == 0)
    r = cc_ext_check_response(&ext, spec->want_cc,
                              (uint8_t)spec->cc_params.sendme_inc, &inc);
  if (r < 0) {
    memwipe(keys, NTOR_KEY_MATERIAL);
    protocol_error(c, idx, r == CC_CODEC_ERR_INC
                   ? "congestion control: sendme_inc out of range"
                   : "bad ntor v3 reply extensions");
    return -1;
  }
  if (r == 1) {
    *cc_out = cc_new(&spec->cc_params, inc);
    log_info_rl(300, "Congestion control negotiated with exit (hop %zu): "
                "sendme_inc %u, circuit SENDMEs only, XON/XOFF for streams",
                idx + 1, inc);
  } else {
    log_info_rl(300, "Exit (hop %zu) did not accept congestion control: "
                "fixed SENDME windows", idx + 1);
  }
  return 0;
}

/* Finish the pending ntor handshake with a 64-byte reply (or ntor v3);
 * add the hop. */
static void
origin_finish_hop(circ_origin_t *c, const uint8_t *hdata, uint16_t hlen)
{
  uint8_t keys[NTOR_KEY_MATERIAL];
  cc_state_t *cc = NULL;
  size_t idx = c->n_hops;
  if (c->pending3) {
    if (origin_finish_v3(c, hdata, hlen, keys, &cc) < 0)
      return;
  } else if (hlen != NTOR_REPLY_LEN ||
             ntor_client_finish(c->pending, hdata, keys, sizeof(keys)) < 0) {
    protocol_error(c, idx, "ntor handshake failed");
    return;
  }
  pending_free(c);
  origin_add_hop(c, keys, cc);
  memwipe(keys, sizeof(keys));
}

/* Add hop n_hops with key material Df|Db|Kf|Kb|KH (92 bytes) and its
 * congestion control state (NULL: windows; owned by the hop now). */
static void
origin_add_hop(circ_origin_t *c, const uint8_t *keys, cc_state_t *cc)
{
  size_t idx = c->n_hops;
  c->crypto[idx] = relay_crypto_new(RELAY_CRYPTO_TOR1, keys,
                                    TOR1_KEY_MATERIAL, 0);
  if (!c->crypto[idx]) {
    cc_free(cc);
    origin_close(c, CELL_DESTROY_INTERNAL, false, idx, "relay crypto setup",
                 true);
    return;
  }
  c->hops[idx].spec = c->pending_spec;
  c->hops[idx].cc = cc;
  memcpy(c->hops[idx].kh, keys + TOR1_KEY_MATERIAL, CIRC_ORIGIN_KH_LEN);
  relay_flow_init_circuit(&c->hops[idx].flow);
  c->n_hops++;
  c->state = CIRC_ORIGIN_OPEN;
  circ_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = CIRC_EV_HOP_ADDED;
  ev.hop = (uint8_t)idx;
  push_event(c, &ev);
}

/* ---- receiving ---- */

static void
emit_msg(circ_origin_t *c, circ_event_type_t type, size_t hop,
         const relay_header_t *h, const uint8_t *body)
{
  circ_event_t ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.hop = (uint8_t)hop;
  ev.command = h->command;
  ev.stream_id = h->stream_id;
  if (type == CIRC_EV_RELAY_MSG) {
    ev.len = h->length;
    memcpy(ev.body, body, h->length);
  }
  push_event(c, &ev);
}

/* RELAY_DATA from hop: circuit window, SENDME v1, then the stream. */
static void
origin_handle_data(circ_origin_t *c, size_t hop, const relay_header_t *h,
                   const uint8_t *body)
{
  if (h->stream_id == 0) {
    protocol_error(c, hop, "DATA on stream 0");
    return;
  }
  cc_state_t *cc = c->hops[hop].cc;
  int w = cc ? cc_note_cell_received(cc)
             : relay_flow_note_delivered(&c->hops[hop].flow);
  if (w < 0) {
    protocol_error(c, hop, "circuit deliver window exceeded");
    return;
  }
  if (w == 1) {
    relay_sendme_t s = { .version = 1 };
    uint8_t b[RELAY_BODY_MAX];
    size_t blen;
    relay_crypto_digest_peek(c->crypto[hop], 1, s.digest, sizeof(s.digest));
    if (relay_sendme_encode(&s, b, sizeof(b), &blen) == 0)
      (void)origin_send_msg(c, hop, RELAY_SENDME, 0, b, blen, false);
    memwipe(&s, sizeof(s));
  }
  if (c->streams && hop == c->streams_hop) {
    if (relay_streams_handle(c->streams, h->command, h->stream_id, body,
                             h->length) < 0)
      protocol_error(c, hop, "stream protocol violation");
  } else {
    emit_msg(c, CIRC_EV_RELAY_MSG, hop, h, body);
  }
}

static void
origin_handle_sendme(circ_origin_t *c, size_t hop, const relay_header_t *h,
                     const uint8_t *body)
{
  relay_sendme_t s;
  if (relay_sendme_decode(&s, body, h->length) < 0) {
    protocol_error(c, hop, "malformed SENDME");
    return;
  }
  cc_state_t *cc = c->hops[hop].cc;
  if (cc) {
    int e = cc_note_sendme_received(cc, origin_now_usec(c),
                                    s.version == 1 ? s.digest : NULL, false);
    memwipe(&s, sizeof(s));
    if (e < 0) {
      protocol_error(c, hop, e == CC_ERR_UNEXPECTED
                     ? "circuit SENDME with nothing outstanding"
                     : "circuit SENDME digest or version rejected");
      return;
    }
    if (c->streams && hop == c->streams_hop)
      relay_streams_flush(c->streams);
    return;
  }
  int r = relay_flow_handle_sendme(&c->hops[hop].flow, &s);
  memwipe(&s, sizeof(s));
  if (r < 0) {
    protocol_error(c, hop, r == RELAY_FLOW_ERR_OVERFLOW
                   ? "SENDME overflows the circuit window"
                   : "SENDME digest or version rejected");
    return;
  }
  if (c->streams && hop == c->streams_hop)
    relay_streams_flush(c->streams);
}

static void
origin_handle_extended2(circ_origin_t *c, size_t hop, const relay_header_t *h,
                        const uint8_t *body)
{
  relay_extended2_t e;
  if (!handshake_pending(c) || hop + 1 != c->n_hops || c->n_hops == 0) {
    protocol_error(c, hop, "unexpected EXTENDED2");
    return;
  }
  if (relay_extended2_decode(&e, body, h->length) < 0) {
    protocol_error(c, c->n_hops, "malformed EXTENDED2");
    return;
  }
  origin_finish_hop(c, e.hdata, e.hlen);
}

static void
origin_dispatch(circ_origin_t *c, size_t hop, const relay_header_t *h,
                const uint8_t *body)
{
  uint8_t reason;
  if (relay_stream_command_is_stream(h->command, h->stream_id) &&
      h->command != RELAY_DATA) {
    if (c->streams && hop == c->streams_hop) {
      if (relay_streams_handle(c->streams, h->command, h->stream_id, body,
                               h->length) < 0)
        protocol_error(c, hop, "stream protocol violation");
    } else {
      emit_msg(c, CIRC_EV_RELAY_MSG, hop, h, body);
    }
    return;
  }
  switch (h->command) {
  case RELAY_DATA:
    origin_handle_data(c, hop, h, body);
    return;
  case RELAY_SENDME:
    origin_handle_sendme(c, hop, h, body);
    return;
  case RELAY_EXTENDED2:
    origin_handle_extended2(c, hop, h, body);
    return;
  case RELAY_TRUNCATED:
    if (relay_truncated_decode(&reason, body, h->length) < 0)
      reason = CELL_DESTROY_NONE;
    /* 5.4: an OP tears a truncated circuit down entirely. */
    origin_close(c, reason, true, hop, "TRUNCATED received", true);
    return;
  case RELAY_DROP:
  case RELAY_PADDING_NEGOTIATED:
    return;
  default:
    break;
  }
  if (relay_command_name(h->command) == NULL)
    emit_msg(c, CIRC_EV_IGNORED, hop, h, body);   /* 6.1: drop */
  else
    emit_msg(c, CIRC_EV_RELAY_MSG, hop, h, body);
}

/* A RELAY cell, decrypted in place in buf (the caller's work buffer). */
static void
origin_handle_relay(circ_origin_t *c, uint8_t buf[CELL_PAYLOAD_LEN])
{
  relay_header_t h;
  const uint8_t *body;
  size_t hop;
  if (c->n_hops == 0) {
    protocol_error(c, 0, "RELAY cell before CREATED2");
    return;
  }
  if (relay_crypto_origin_decrypt(c->crypto, c->n_hops, buf, &hop) < 0) {
    protocol_error(c, CIRC_HOP_NONE, "unrecognized relay cell");
  } else if (relay_cell_unpack(&h, &body, buf) < 0) {
    protocol_error(c, hop, "malformed relay header");
  } else {
    origin_dispatch(c, hop, &h, body);
  }
}

int
circ_origin_handle_cell(circ_origin_t *c, uint8_t command,
                        const uint8_t payload[CELL_PAYLOAD_LEN])
{
  uint8_t buf[CELL_PAYLOAD_LEN];
  if (!payload)
    return CIRC_ERR_ARG;
  memcpy(buf, payload, sizeof(buf));
  int r = circ_origin_handle_cell_inplace(c, command, buf);
  memwipe(buf, sizeof(buf));
  return r;
}

int
circ_origin_handle_cell_inplace(circ_origin_t *c, uint8_t command,
                                uint8_t payload[CELL_PAYLOAD_LEN])
{
  cell_created2_t cr;
  uint8_t reason;
  if (!payload)
    return CIRC_ERR_ARG;
  if (c->state == CIRC_ORIGIN_CLOSED || c->state == CIRC_ORIGIN_NEW)
    return 0;   /* 5.4: ignore everything after teardown */
  switch (command) {
  case CELL_CREATED2:
    if (c->n_hops != 0 || !c->pending) {
      protocol_error(c, 0, "unexpected CREATED2");
    } else if (cell_created2_decode(&cr, payload, CELL_PAYLOAD_LEN) < 0) {
      protocol_error(c, 0, "malformed CREATED2");
    } else {
      origin_finish_hop(c, cr.hdata, cr.hlen);
    }
    return 0;
  case CELL_CREATED_FAST:
    origin_handle_created_fast(c, payload);
    return 0;
  case CELL_RELAY:
    origin_handle_relay(c, payload);
    return 0;
  case CELL_RELAY_EARLY:
    protocol_error(c, 0, "inbound RELAY_EARLY");
    return 0;
  case CELL_DESTROY:
    if (cell_destroy_decode(&reason, payload, CELL_PAYLOAD_LEN) < 0)
      reason = CELL_DESTROY_NONE;
    origin_close(c, reason, true,
                 (handshake_pending(c) || c->fast_pending) ? c->n_hops
                                                           : CIRC_HOP_NONE,
                 (handshake_pending(c) || c->fast_pending)
                 ? "DESTROY received while building"
                            : "DESTROY received", false);
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
  circ_origin_t *c = ctx;
  return circ_origin_send(c, c->streams_hop, command, stream_id, body, len);
}

static bool
stream_can_package_cb(void *ctx)
{
  circ_origin_t *c = ctx;
  const origin_hop_t *h = &c->hops[c->streams_hop];
  return c->state == CIRC_ORIGIN_OPEN &&
         (h->cc ? cc_can_send(h->cc) : relay_flow_can_package(&h->flow));
}

static size_t
stream_max_data_cb(void *ctx)
{
  circ_origin_t *c = ctx;
  const origin_hop_t *h = &c->hops[c->streams_hop];
  return h->cc ? cc_max_data_len(h->cc, RELAY_BODY_MAX)
               : relay_flow_max_data_len(&h->flow);
}

relay_streams_t *
circ_origin_attach_streams(circ_origin_t *c, size_t hop)
{
  if (c->streams || hop >= c->n_hops)
    return NULL;
  relay_stream_sender_t s = { stream_send_cb, stream_can_package_cb,
                              stream_max_data_cb, c };
  c->streams = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &s);
  c->streams_hop = hop;
  if (c->hops[hop].cc)
    relay_streams_set_flowctrl(c->streams, true);
  return c->streams;
}

relay_streams_t *
circ_origin_streams(circ_origin_t *c)
{
  return c->streams;
}

/* ---- accessors ---- */

void
circ_origin_set_cell_sink(circ_origin_t *c, circ_origin_cell_sink_t fn,
                          void *arg)
{
  c->sink = fn;
  c->sink_arg = fn ? arg : NULL;
}

bool
circ_origin_has_output(circ_origin_t *c)
{
  return relay_queue_len(&c->cells) > 0 || relay_queue_len(&c->events) > 0 ||
         (c->streams && relay_streams_has_events(c->streams));
}

int
circ_origin_next_cell(circ_origin_t *c, circ_cell_t *out)
{
  return relay_queue_pop(&c->cells, out);
}

int
circ_origin_next_event(circ_origin_t *c, circ_event_t *out)
{
  return relay_queue_pop(&c->events, out);
}

circ_origin_state_t
circ_origin_state(const circ_origin_t *c)
{
  return c->state;
}

size_t
circ_origin_n_hops(const circ_origin_t *c)
{
  return c->n_hops;
}

unsigned
circ_origin_early_used(const circ_origin_t *c)
{
  return c->early_used;
}

const relay_flow_t *
circ_origin_flow(const circ_origin_t *c, size_t hop)
{
  return hop < c->n_hops ? &c->hops[hop].flow : NULL;
}

const cc_state_t *
circ_origin_cc(const circ_origin_t *c, size_t hop)
{
  return hop < c->n_hops ? c->hops[hop].cc : NULL;
}

void
circ_origin_set_clock(circ_origin_t *c, circ_origin_clock_t fn, void *arg)
{
  c->clock = fn;
  c->clock_arg = fn ? arg : NULL;
}

int
circ_origin_hop_kh(const circ_origin_t *c, size_t hop,
                   uint8_t out[CIRC_ORIGIN_KH_LEN])
{
  if (!c || !out || hop >= c->n_hops || c->hops[hop].is_virtual)
    return CIRC_ERR_ARG;
  memcpy(out, c->hops[hop].kh, CIRC_ORIGIN_KH_LEN);
  return 0;
}

bool
circ_origin_hop_is_virtual(const circ_origin_t *c, size_t hop)
{
  return c && hop < c->n_hops && c->hops[hop].is_virtual;
}

/* ---- the virtual onion-service hop (rend-spec-v3 4.2.1) ---- */

int
circ_origin_add_virtual_hop(circ_origin_t *c,
                            const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
                            bool service_side)
{
  return circ_origin_add_virtual_hop_cc(c, keys, service_side, NULL, 0);
}

int
circ_origin_add_virtual_hop_cc(circ_origin_t *c,
                               const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
                               bool service_side, const cc_params_t *cc,
                               uint8_t sendme_inc)
{
  if (!c || !keys || (cc && sendme_inc == 0))
    return CIRC_ERR_ARG;
  if (c->state != CIRC_ORIGIN_OPEN || handshake_pending(c) ||
      c->fast_pending || c->n_hops == 0 ||
      c->hops[c->n_hops - 1].is_virtual)
    return CIRC_ERR_STATE;
  if (c->n_hops >= CIRC_ORIGIN_MAX_HOPS)
    return CIRC_ERR_ARG;
  size_t idx = c->n_hops;
  cc_state_t *st = NULL;
  if (cc && !(st = cc_new(cc, sendme_inc)))
    return CIRC_ERR_ARG;
  c->crypto[idx] = relay_crypto_new(RELAY_CRYPTO_HS, keys,
                                    CIRC_ORIGIN_HS_KEYS_LEN,
                                    service_side ? 1 : 0);
  if (!c->crypto[idx]) {
    cc_free(st);
    return CIRC_ERR_CRYPTO;
  }
  origin_hop_t *h = &c->hops[idx];
  memset(h, 0, sizeof(*h));
  h->is_virtual = true;
  /* Proposal 324 9: congestion control as negotiated through the
   * descriptor's flow-control line and INTRODUCE's CC request. */
  h->cc = st;
  relay_flow_init_circuit(&h->flow);
  c->n_hops++;
  if (c->streams) {
    /* The table moves to the other party (no stream was opened on it). */
    c->streams_hop = idx;
    relay_streams_set_flowctrl(c->streams, st != NULL);
    /* The service's edge accepts the client's BEGINs (4.2). */
    if (service_side &&
        relay_streams_set_role(c->streams, RELAY_STREAM_ROLE_EXIT) != 0)
      return CIRC_ERR_STATE;
  }
  log_info("origin circuit joined at the rendezvous point (%s side)",
           service_side ? "service" : "client");
  if (st)
    log_info("congestion control on the rendezvous circuit (%s side, "
             "sendme_inc %u)", service_side ? "service" : "client",
             (unsigned)sendme_inc);
  return 0;
}

const circ_hop_spec_t *
circ_origin_hop_spec(const circ_origin_t *c, size_t hop)
{
  return hop < c->n_hops ? &c->hops[hop].spec : NULL;
}
