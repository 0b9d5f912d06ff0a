/* test_dirstream.c -- directory streams at the relay's cell engine
 * (cellswitch_stream.c; tor-spec 6.2 BEGIN_DIR, 6.3 END, 7.3/7.4 windows)
 * over real loopback TLS: the client's chanmgr opens a one-hop circuit
 * (ntor or CREATE_FAST) to an in-process relay whose dir_request hook
 * serves a fixed multi-megabyte body; the body arrives intact (SHA-256)
 * with the windows respected (the client closes circuits that overrun
 * them) and the relay's queues bounded by the circuit window.  BEGIN and
 * RESOLVE get END EXITPOLICY, BEGIN_DIR without a hook END NOTDIRECTORY;
 * hostile requests (endless, never completed, too many streams, the
 * global memory cap, a client that hangs up mid-response) stay bounded;
 * DoSStreamCreation* refuses streams past the burst, or closes the
 * circuit (core/dos). */
#include <criterion/criterion.h>

#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include "core/mainloop/cellswitch_st.h"
#include "core/mainloop/switch_relay.h"

#define BIG_LEN (3 * 1024 * 1024 + 777)
#define REQ "GET /tor/status-vote/current/consensus HTTP/1.0\r\n\r\n"

static struct event_base *BASE;
static tls_context_t *TLS;
static chanmgr_t *CM;
static struct event *POKE;

static void poke(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what; (void)arg;
}

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
  TLS = tls_context_new_client();
  CM = chanmgr_new(BASE, TLS);
  POKE = event_new(BASE, -1, EV_PERSIST, poke, NULL);
  struct timeval tv = { 0, 20000 };
  event_add(POKE, &tv);
}

static void teardown(void)
{
  chanmgr_free(CM);
  event_free(POKE);
  tls_context_free(TLS);
  event_base_free(BASE);
}

TestSuite(dirstream, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the relay side: a dir_request hook ---- */

typedef enum { SRV_SYNC, SRV_ASYNC, SRV_NEVER, SRV_HOLD, SRV_FAIL } mode_t_;

typedef struct dsrv_t {
  srelay_t *r;
  mode_t_ mode;
  uint8_t *body;
  size_t len;
  int n_calls, n_answered;
  size_t max_len;                /* longest request the hook saw */
  uint64_t pending_stream;
} dsrv_t;

static void
respond_later(evutil_socket_t fd, short what, void *arg)
{
  dsrv_t *d = arg;
  (void)fd;
  (void)what;
  uint8_t *copy = al_malloc(d->len);
  memcpy(copy, d->body, d->len);
  cr_assert_eq(cellswitch_dir_respond(srelay_switch(d->r), d->pending_stream,
                                      copy, d->len), 0);
  d->n_answered++;
}

static int
dir_request(void *arg, cellswitch_t *sw, uint64_t stream, const uint8_t *data,
            size_t len)
{
  dsrv_t *d = arg;
  d->n_calls++;
  if (len > d->max_len)
    d->max_len = len;
  if (d->mode == SRV_NEVER)
    return CELLSWITCH_DIR_NEED_MORE;
  if (d->mode == SRV_FAIL)
    return -1;
  if (len < 4 || memcmp(data + len - 4, "\r\n\r\n", 4) != 0)
    return CELLSWITCH_DIR_NEED_MORE;
  cr_assert_eq(len, strlen(REQ));
  cr_assert_eq(memcmp(data, REQ, len), 0);
  if (d->mode == SRV_HOLD)
    return 0;
  if (d->mode == SRV_ASYNC) {
    struct timeval tv = { 0, 50000 };
    d->pending_stream = stream;
    cr_assert_eq(event_base_once(BASE, -1, EV_TIMEOUT, respond_later, d,
                                 &tv), 0);
    return 0;
  }
  uint8_t *copy = al_malloc(d->len);
  memcpy(copy, d->body, d->len);
  cr_assert_eq(cellswitch_dir_respond(sw, stream, copy, d->len), 0);
  /* A second answer to the same stream is refused (and freed). */
  cr_assert_eq(cellswitch_dir_respond(sw, stream, al_malloc(1), 1), -1);
  d->n_answered++;
  return 0;
}

/* CREATE_FAST (and CREATE2) answered through the answer_create seam. */
typedef struct fast_t {
  cellswitch_t *sw;
  uint64_t circ;
  uint8_t command;
  uint8_t payload[CELL_PAYLOAD_LEN];
} fast_t;

static void
fast_later(evutil_socket_t fd, short what, void *arg)
{
  fast_t *f = arg;
  circ_relay_t *rc = NULL;
  uint8_t reason = CELL_DESTROY_PROTOCOL;
  (void)fd;
  (void)what;
  circ_relay_keys_t keys = f->sw->cfg.keys;
  (void)circ_relay_create_cell(&rc, &keys, f->command, f->payload,
                               CELL_PAYLOAD_LEN, &reason);
  (void)cellswitch_create_answered(f->sw, f->circ, rc, reason);
  memwipe(&keys, sizeof(keys));
  al_free(f);
}

static int
answer_any(void *arg, cellswitch_t *sw, uint64_t circ, uint8_t command,
           const uint8_t *payload)
{
  (void)arg;
  fast_t *f = al_calloc(1, sizeof(*f));
  f->sw = sw;
  f->circ = circ;
  f->command = command;
  memcpy(f->payload, payload, CELL_PAYLOAD_LEN);
  struct timeval zero = { 0, 0 };
  cr_assert_eq(event_base_once(BASE, -1, EV_TIMEOUT, fast_later, f, &zero),
               0);
  return 0;
}

static srelay_t *
dir_relay(dsrv_t *d, mode_t_ mode, size_t body_len, bool with_hook)
{
  memset(d, 0, sizeof(*d));
  d->r = srelay_new(BASE, NULL);
  d->mode = mode;
  d->len = body_len;
  d->body = al_malloc(body_len ? body_len : 1);
  crypto_rand(d->body, body_len);
  cellswitch_hooks_t *h = &srelay_switch(d->r)->cfg.hooks;
  memset(h, 0, sizeof(*h));   /* no echo exit: the engine owns streams */
  h->dir_request = with_hook ? dir_request : NULL;
  h->answer_create = answer_any;
  h->arg = d;
  return d->r;
}

static void
dsrv_free(dsrv_t *d)
{
  srelay_free(d->r);
  al_free(d->body);
}

/* ---- the client side ---- */

#define MAX_SID 16

typedef struct dcli_t {
  uint64_t circ;
  int built, closed, connected, ended;
  chanmgr_close_info_t info;
  uint16_t end_sid[MAX_SID];
  uint8_t end_reason[MAX_SID];
  uint8_t *rx;
  size_t rx_len, rx_cap;
  size_t hangup_after;    /* END our stream after this many bytes (0: no) */
  uint16_t sid;
} dcli_t;

static void
c_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  dcli_t *c = arg;
  (void)cm;
  (void)circ;
  c->built++;
}

static void
c_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
         void *arg)
{
  dcli_t *c = arg;
  (void)cm;
  (void)circ;
  c->closed++;
  c->info = *info;
}

static void
c_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
         void *arg)
{
  dcli_t *c = arg;
  if (ev->type == RELAY_STREAM_EV_CONNECTED) {
    c->connected++;
  } else if (ev->type == RELAY_STREAM_EV_DATA) {
    if (c->rx_len + ev->len > c->rx_cap) {
      c->rx_cap = (c->rx_len + ev->len) * 2;
      c->rx = al_realloc(c->rx, c->rx_cap);
    }
    memcpy(c->rx + c->rx_len, ev->data, ev->len);
    c->rx_len += ev->len;
    if (c->hangup_after && c->rx_len >= c->hangup_after) {
      c->hangup_after = 0;
      cr_assert_eq(relay_stream_end(chanmgr_streams(cm, circ), ev->stream_id,
                                    RELAY_END_DONE), 0);
      chanmgr_flush(cm, circ);
    }
  } else if (ev->type == RELAY_STREAM_EV_END && c->ended < MAX_SID) {
    c->end_sid[c->ended] = ev->stream_id;
    c->end_reason[c->ended++] = ev->reason;
  }
}

static void
run_until(const int *flag, int target, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (*flag < target && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

static void
run_for(uint32_t msec)
{
  int never = 0;
  run_until(&never, 1, msec);
}

static void
build_one_hop(dcli_t *c, srelay_t *r, bool fast)
{
  static chanmgr_circ_cbs_t cbs;
  cbs.on_built = c_built;
  cbs.on_closed = c_closed;
  cbs.on_stream = c_stream;
  cbs.arg = c;
  chanmgr_launch_t l = { srelay_spec(r), 1, fast, 10000 };
  cr_assert_eq(chanmgr_launch(CM, &l, &cbs, &c->circ), 0);
  run_until(&c->built, 1, 10000);
  cr_assert_eq(c->built, 1, "not built (closed %d: %s)", c->closed,
               c->closed ? c->info.what : "");
}

/* Open a BEGIN_DIR stream and send the request in two pieces. */
static uint16_t
begin_dir(dcli_t *c, const char *req)
{
  relay_streams_t *t = chanmgr_streams(CM, c->circ);
  uint16_t sid;
  size_t half = strlen(req) / 2;
  cr_assert_eq(relay_stream_begin_dir(t, &sid), 0);
  cr_assert_eq(relay_stream_write(t, sid, (const uint8_t *)req, half), 0);
  chanmgr_flush(CM, c->circ);
  cr_assert_eq(relay_stream_write(t, sid, (const uint8_t *)req + half,
                                  strlen(req) - half), 0);
  chanmgr_flush(CM, c->circ);
  return sid;
}

static cellswitch_stats_t
stats(srelay_t *r)
{
  cellswitch_stats_t s;
  cellswitch_get_stats(srelay_switch(r), &s);
  return s;
}

/* Serve d's body to c over one stream; check it and the bounds. */
static void
fetch_and_check(dsrv_t *d, dcli_t *c)
{
  cellswitch_stats_t s0 = stats(d->r);
  (void)begin_dir(c, REQ);
  size_t max_ahead = 0;
  uint64_t end = evloop_monotonic_msec() + 40000;
  while (c->ended < 1 && !c->closed && evloop_monotonic_msec() < end) {
    event_base_loop(BASE, EVLOOP_ONCE);
    /* Bytes copied out of the body and not yet at the client: what the
     * stream window (500 cells) lets out plus what the engine keeps
     * buffered in the stream -- never the whole body at once. */
    size_t ahead = stats(d->r).dir_bytes - s0.dir_bytes - c->rx_len;
    if (ahead > max_ahead)
      max_ahead = ahead;
  }
  cr_assert_eq(c->closed, 0, "circuit closed: %s", c->info.what);
  cr_assert_eq(c->connected, 1);
  cr_assert_eq(c->ended, 1);
  cr_assert_eq(c->end_reason[0], RELAY_END_DONE);
  cr_assert_eq(c->rx_len, d->len);
  uint8_t h1[DIGEST_SHA256_LEN], h2[DIGEST_SHA256_LEN];
  cr_assert_eq(digest_sha256(h1, d->body, d->len), 0);
  cr_assert_eq(digest_sha256(h2, c->rx, c->rx_len), 0);
  cr_assert_eq(memcmp(h1, h2, sizeof(h1)), 0, "SHA-256 differs");
  cr_assert_leq(max_ahead, 500 * RELAY_BODY_MAX + CELLSWITCH_DIR_LOWAT +
                CELLSWITCH_DIR_CHUNK, "%zu bytes ahead of the client",
                max_ahead);
  cellswitch_stats_t s = stats(d->r);
  cr_assert_eq(s.dir_streams - s0.dir_streams, 1);
  cr_assert_eq(s.dir_responses - s0.dir_responses, 1);
  cr_assert_eq(s.dir_bytes - s0.dir_bytes, d->len);
  cr_assert_eq(srelay_switch(d->r)->dir_held, 0);
  cr_log_info("served %zu bytes; at most %zu bytes ahead of the client",
              d->len, max_ahead);
}

Test(dirstream, ntor_one_hop_serves_three_mebibytes_intact)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_SYNC, BIG_LEN, true);
  build_one_hop(&c, r, false);
  fetch_and_check(&d, &c);
  cr_assert_geq(d.n_calls, 1);
  /* The circuit stays; closing it leaves nothing behind. */
  cr_assert_eq(stats(r).n_circuits, 1);
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);
  run_for(300);
  cr_assert_eq(stats(r).n_circuits, 0);
  cr_assert_eq(stats(r).cells_queued, 0);
  al_free(c.rx);
  dsrv_free(&d);
}

Test(dirstream, create_fast_and_a_late_answer)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_ASYNC, 1024 * 1024 + 3, true);
  build_one_hop(&c, r, true);
  fetch_and_check(&d, &c);
  cr_assert_eq(d.n_answered, 1);
  al_free(c.rx);
  dsrv_free(&d);
}

Test(dirstream, begin_and_resolve_get_exitpolicy_then_begin_dir_works)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_SYNC, 5000, true);
  build_one_hop(&c, r, false);
  relay_streams_t *t = chanmgr_streams(CM, c.circ);
  uint16_t a, b;
  cr_assert_eq(relay_stream_begin(t, "example.com", 80, 0, &a), 0);
  cr_assert_eq(relay_stream_resolve(t, "example.com", &b), 0);
  chanmgr_flush(CM, c.circ);
  run_until(&c.ended, 2, 5000);
  cr_assert_eq(c.ended, 2);
  cr_assert_eq(c.end_reason[0], RELAY_END_EXITPOLICY);
  cr_assert_eq(c.end_reason[1], RELAY_END_EXITPOLICY);
  cr_assert_eq(c.connected, 0);
  cr_assert_eq(stats(r).streams_refused, 2);
  c.ended = 0;
  fetch_and_check(&d, &c);
  al_free(c.rx);
  dsrv_free(&d);
}

Test(dirstream, no_hook_means_notdirectory)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_SYNC, 10, false);
  build_one_hop(&c, r, false);
  (void)begin_dir(&c, REQ);
  run_until(&c.ended, 1, 5000);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason[0], RELAY_END_NOTDIRECTORY);
  cr_assert_eq(c.connected, 0);
  cr_assert_eq(stats(r).dir_streams, 0);
  dsrv_free(&d);
}

Test(dirstream, endless_request_is_cut_and_the_circuit_lives)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_NEVER, 10, true);
  build_one_hop(&c, r, false);
  relay_streams_t *t = chanmgr_streams(CM, c.circ);
  uint16_t sid;
  cr_assert_eq(relay_stream_begin_dir(t, &sid), 0);
  size_t junk_len = CELLSWITCH_DIR_REQUEST_MAX + 20000;
  uint8_t *junk = al_malloc(junk_len);
  memset(junk, 'A', junk_len);
  cr_assert_eq(relay_stream_write(t, sid, junk, junk_len), 0);
  al_free(junk);
  chanmgr_flush(CM, c.circ);
  run_until(&c.ended, 1, 10000);
  cr_assert_eq(c.closed, 0);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason[0], RELAY_END_MISC);
  cr_assert_eq(stats(r).dir_requests_cut, 1);
  cr_assert_eq(stats(r).n_circuits, 1);
  cr_assert_eq(srelay_switch(r)->dir_held, 0);
  /* The hook saw at most the limit. */
  cr_assert_leq(d.n_calls, CELLSWITCH_DIR_REQUEST_MAX / 498 + 2);
  cr_assert_leq(d.max_len, CELLSWITCH_DIR_REQUEST_MAX);
  dsrv_free(&d);
}

/* A POST (an HSDir's descriptor upload) may grow to CELLSWITCH_DIR_POST_MAX,
 * not further. */
Test(dirstream, endless_post_is_cut_at_the_post_limit)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_NEVER, 10, true);
  build_one_hop(&c, r, false);
  relay_streams_t *t = chanmgr_streams(CM, c.circ);
  uint16_t sid;
  cr_assert_eq(relay_stream_begin_dir(t, &sid), 0);
  static const char head[] = "POST /tor/hs/3/publish HTTP/1.0\r\n";
  size_t junk_len = CELLSWITCH_DIR_POST_MAX + 20000;
  uint8_t *junk = al_malloc(junk_len);
  memset(junk, 'A', junk_len);
  memcpy(junk, head, strlen(head));
  cr_assert_eq(relay_stream_write(t, sid, junk, junk_len), 0);
  al_free(junk);
  chanmgr_flush(CM, c.circ);
  run_until(&c.ended, 1, 20000);
  cr_assert_eq(c.closed, 0);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason[0], RELAY_END_MISC);
  cr_assert_eq(stats(r).dir_requests_cut, 1);
  cr_assert_gt(d.max_len, CELLSWITCH_DIR_REQUEST_MAX);
  cr_assert_leq(d.max_len, CELLSWITCH_DIR_POST_MAX);
  cr_assert_gt(d.max_len, CELLSWITCH_DIR_POST_MAX - 498);
  cr_assert_eq(srelay_switch(r)->dir_held, 0);
  dsrv_free(&d);
}

Test(dirstream, hook_failure_ends_the_stream)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_FAIL, 10, true);
  build_one_hop(&c, r, false);
  (void)begin_dir(&c, REQ);
  run_until(&c.ended, 1, 5000);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason[0], RELAY_END_MISC);
  cr_assert_eq(stats(r).n_circuits, 1);
  dsrv_free(&d);
}

Test(dirstream, too_many_streams_on_one_circuit)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_HOLD, 10, true);
  build_one_hop(&c, r, false);
  for (int i = 0; i <= CELLSWITCH_DIR_STREAMS_PER_CIRC; i++)
    (void)begin_dir(&c, REQ);
  run_until(&c.ended, 1, 5000);
  run_for(200);
  cr_assert_eq(c.connected, CELLSWITCH_DIR_STREAMS_PER_CIRC);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason[0], RELAY_END_RESOURCELIMIT);
  cr_assert_eq(stats(r).dir_streams, CELLSWITCH_DIR_STREAMS_PER_CIRC);
  /* The held streams die with the circuit. */
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);
  run_for(300);
  cr_assert_eq(stats(r).n_circuits, 0);
  cr_assert_eq(srelay_switch(r)->dir_held, 0);
  dsrv_free(&d);
}

Test(dirstream, client_hangs_up_mid_response)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_SYNC, BIG_LEN, true);
  build_one_hop(&c, r, false);
  c.hangup_after = 100000;
  (void)begin_dir(&c, REQ);
  run_for(1500);
  cr_assert_eq(c.closed, 0);
  cr_assert_lt(c.rx_len, d.len);
  /* The relay dropped the response: nothing held, no END DONE counted. */
  cr_assert_eq(srelay_switch(r)->dir_held, 0);
  cr_assert_eq(stats(r).dir_responses, 0);
  cr_assert_lt(stats(r).dir_bytes, d.len);
  al_free(c.rx);
  dsrv_free(&d);
}

Test(dirstream, global_memory_cap_refuses_streams_and_requests)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_SYNC, 10, true);
  cellswitch_t *sw = srelay_switch(r);
  build_one_hop(&c, r, false);
  /* Nearly full: the stream opens, its request would pass the cap. */
  sw->dir_held = CELLSWITCH_DIR_HELD_MAX - 10;
  (void)begin_dir(&c, REQ);
  run_until(&c.ended, 1, 5000);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason[0], RELAY_END_RESOURCELIMIT);
  cr_assert_eq(sw->dir_held, CELLSWITCH_DIR_HELD_MAX - 10);
  /* Full: BEGIN_DIR itself is refused. */
  sw->dir_held = CELLSWITCH_DIR_HELD_MAX;
  (void)begin_dir(&c, REQ);
  run_until(&c.ended, 2, 5000);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.end_reason[1], RELAY_END_RESOURCELIMIT);
  cr_assert_eq(d.n_answered, 0);
  /* Room again: served. */
  sw->dir_held = 0;
  c.ended = 0;
  c.connected = 0;
  fetch_and_check(&d, &c);
  dsrv_free(&d);
  al_free(c.rx);
}

Test(dirstream, request_never_completed_times_out)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_SYNC, 10, true);
  srelay_switch(r)->cfg.dir_request_timeout_msec = 1500;
  build_one_hop(&c, r, false);
  relay_streams_t *t = chanmgr_streams(CM, c.circ);
  uint16_t sid;
  cr_assert_eq(relay_stream_begin_dir(t, &sid), 0);
  cr_assert_eq(relay_stream_write(t, sid, (const uint8_t *)"GET /tor/", 9),
               0);
  chanmgr_flush(CM, c.circ);
  uint64_t t0 = evloop_monotonic_msec();
  run_until(&c.ended, 1, 6000);
  uint64_t ms = evloop_monotonic_msec() - t0;
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason[0], RELAY_END_TIMEOUT);
  cr_assert_geq(ms, 1400, "ended after %llu ms", (unsigned long long)ms);
  cr_assert_eq(stats(r).dir_requests_cut, 1);
  cr_assert_eq(srelay_switch(r)->dir_held, 0);
  cr_assert_eq(stats(r).n_circuits, 1);
  /* The circuit still serves. */
  c.ended = 0;
  c.connected = 0;
  fetch_and_check(&d, &c);
  al_free(c.rx);
  dsrv_free(&d);
}

/* DoSStreamCreation* (core/dos; tor(1)) at the engine: per circuit, burst
 * 3 at 1/s: the 4th and 5th BEGIN_DIR get END RESOURCELIMIT; with defense
 * type 3 the next one closes the circuit; BEGIN counts too. */
Test(dirstream, dos_stream_rate_refuses_then_closes)
{
  dsrv_t d;
  dcli_t c = { 0 };
  srelay_t *r = dir_relay(&d, SRV_HOLD, 10, true);
  dos_params_t dp;
  dos_params_default(&dp);
  dp.stream_enabled = true;
  dp.stream_rate = 1;
  dp.stream_burst = 3;
  dos_t *dos = dos_new(&dp);
  cellswitch_set_dos(srelay_switch(r), dos);
  build_one_hop(&c, r, false);
  for (int i = 0; i < 5; i++)
    (void)begin_dir(&c, REQ);
  run_until(&c.ended, 2, 5000);
  run_for(200);
  cr_assert_eq(c.connected, 3);
  cr_assert_eq(c.ended, 2);
  cr_assert_eq(c.end_reason[0], RELAY_END_RESOURCELIMIT);
  cr_assert_eq(c.end_reason[1], RELAY_END_RESOURCELIMIT);
  cr_assert_eq(c.closed, 0);
  dos_stats_t st;
  dos_get_stats(dos, evloop_monotonic_msec(), &st);
  cr_assert_eq(st.stream_rejected, 2);
  dp.stream_defense_type = DOS_STREAM_DEFENSE_CLOSE;
  dos_set_params(dos, &dp);
  /* (Three: a token may have come back at 1/s on a slow machine.) */
  for (int i = 0; i < 3; i++)
    (void)begin_dir(&c, REQ);
  run_until(&c.closed, 1, 5000);
  cr_assert_eq(c.closed, 1, "the circuit was not closed");
  dos_get_stats(dos, evloop_monotonic_msec(), &st);
  cr_assert_eq(st.stream_circs_closed, 1);
  run_for(200);
  cr_assert_eq(stats(r).n_circuits, 0);
  cellswitch_set_dos(srelay_switch(r), NULL);
  dsrv_free(&d);
  dos_free(dos);
}
