/* test_hostile.c -- the client side of the channel and circuit manager
 * (origin_channels.h) against scripted hostile peers over real loopback TLS:
 * tor-spec 4 (link handshake, CERTS 4.2), 5.1 (CREATE2 / CREATED2, ntor
 * 5.1.4), 5.4 (DESTROY), 5.5.2.1 / 6.1 (an origin closes a circuit on a
 * relay cell it cannot recognize), 3 (cell framing).
 *
 * Each test makes one peer misbehave (wrong circuit ids, cells out of
 * order, malformed cells, truncated input, bad certificates), checks that
 * allium ignores it or closes the circuit / channel with a log line at
 * info or higher, and then proves the manager goes on: a fresh two-hop
 * circuit through well-behaved relays builds and echoes data.
 *
 * Cell-level misbehaviour uses test_relay.h hooks (the relay speaks the
 * real link protocol through channel_accept and then sends whatever the
 * script says).  Byte-level misbehaviour (half a cell, a closed socket)
 * uses rawpeer below: its own TLS server (tls.h) and responder link
 * handshake (link_handshake.h) on a raw socket. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "core/link/link_fixture.h"
#include "core/mainloop/test_relay.h"

#define ECHO_LEN 4096
#define MAX_CIRCS 4

static struct event_base *BASE;
static tls_context_t *TLS;
static chanmgr_t *CM;
static struct event *POKE;

/* ---- log capture ---- */

static char *LOGBUF;
static size_t LOGLEN, LOGCAP;

static void
log_cb(int severity, const char *module, const char *msg, void *arg)
{
  (void)arg;
  char line[1024];
  int n = snprintf(line, sizeof(line), "[%s] %s: %s\n",
                   log_severity_name(severity), module, msg);
  if (n <= 0)
    return;
  size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  if (LOGLEN + len + 1 > LOGCAP) {
    LOGCAP = (LOGLEN + len + 1) * 2;
    LOGBUF = al_realloc(LOGBUF, LOGCAP);
  }
  memcpy(LOGBUF + LOGLEN, line, len);
  LOGLEN += len;
  LOGBUF[LOGLEN] = '\0';
}

/* Forget what was logged so far. */
static void
log_mark(void)
{
  log_ratelim_reset_all();   /* lines looked for again must reappear */
  LOGLEN = 0;
  if (LOGBUF)
    LOGBUF[0] = '\0';
}

/* True if a line at info or higher since log_mark() contains needle. */
static bool
log_has(const char *needle)
{
  return LOGBUF && strstr(LOGBUF, needle) != NULL;
}

#define assert_logged(s) \
  cr_assert(log_has(s), "no log line with \"%s\"; log:\n%s", (s), \
            LOGBUF ? LOGBUF : "")

/* ---- fixture ---- */

static void poke(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what; (void)arg;
}

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  log_sinks_clear();
  cr_assert_eq(log_sink_add(LOG_SINK_CALLBACK, SEV_INFO, SEV_ERR, NULL,
                            log_cb, NULL), 0);
  BASE = event_base_new();
  cr_assert_not_null(BASE);
  TLS = tls_context_new_client();
  cr_assert_not_null(TLS);
  CM = chanmgr_new(BASE, TLS);
  cr_assert_not_null(CM);
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
  log_sinks_reset_default();
  al_free(LOGBUF);
  LOGLEN = LOGCAP = 0;
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 30);

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

/* ---- a client circuit ---- */

typedef struct cli_t {
  uint64_t circ;
  int built;
  int closed;
  chanmgr_close_info_t info;
  uint16_t sid;
  int connected;
  int ends;
  uint8_t rx[ECHO_LEN];
  size_t rx_len;
  int after_close_calls;
} cli_t;

static void
c_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  cli_t *c = arg;
  (void)cm;
  cr_assert_eq(circ, c->circ);
  c->built++;
}

static void
c_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
         void *arg)
{
  cli_t *c = arg;
  cr_assert_eq(circ, c->circ);
  cr_assert_not_null(info->what);
  cr_assert(!chanmgr_circ_alive(cm, circ));
  c->closed++;
  c->info = *info;
}

static void
c_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
         void *arg)
{
  cli_t *c = arg;
  (void)cm;
  cr_assert_eq(circ, c->circ);
  if (c->closed)
    c->after_close_calls++;
  if (ev->type == RELAY_STREAM_EV_CONNECTED) {
    c->connected++;
  } else if (ev->type == RELAY_STREAM_EV_DATA) {
    cr_assert_leq(c->rx_len + ev->len, ECHO_LEN);
    memcpy(c->rx + c->rx_len, ev->data, ev->len);
    c->rx_len += ev->len;
  } else if (ev->type == RELAY_STREAM_EV_END) {
    c->ends++;
  }
}

static int
launch_specs(cli_t *c, const circ_hop_spec_t *specs, size_t n)
{
  chanmgr_circ_cbs_t cbs = { NULL, c_built, c_closed, c_stream, NULL, c,
                              NULL };
  chanmgr_launch_t l = { specs, n, false, 5000 };
  return chanmgr_launch(CM, &l, &cbs, &c->circ);
}

static void
launch(cli_t *c, trelay_t **path, size_t n)
{
  circ_hop_spec_t specs[CIRC_ORIGIN_MAX_HOPS];
  for (size_t i = 0; i < n; i++)
    specs[i] = *trelay_spec(path[i]);
  cr_assert_eq(launch_specs(c, specs, n), 0);
}

/* Open a stream on c's built circuit, send ECHO_LEN bytes, expect them
 * back. */
static void
echo_works(cli_t *c)
{
  uint8_t buf[ECHO_LEN];
  relay_streams_t *t = chanmgr_streams(CM, c->circ);
  cr_assert_not_null(t, "circuit not usable (closed %d: %s)", c->closed,
                     c->closed ? c->info.what : "");
  for (size_t i = 0; i < sizeof(buf); i++)
    buf[i] = (uint8_t)(i * 13 + 5);
  c->rx_len = 0;
  cr_assert_eq(relay_stream_begin(t, "echo.example", 7, 0, &c->sid), 0);
  cr_assert_eq(relay_stream_write(t, c->sid, buf, sizeof(buf)), 0);
  chanmgr_flush(CM, c->circ);
  uint64_t end = evloop_monotonic_msec() + 5000;
  while (c->rx_len < ECHO_LEN && !c->closed && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(c->rx_len, ECHO_LEN, "echoed %zu (closed %d)", c->rx_len,
               c->closed);
  cr_assert_eq(memcmp(c->rx, buf, sizeof(buf)), 0);
}

/* "Goes on": a new two-hop circuit through fresh well-behaved relays,
 * built by the same manager, carries data; then closes cleanly. */
static void
good_circuit_builds(void)
{
  trelay_t *g[2] = { trelay_new(BASE, TRELAY_OK), trelay_new(BASE, TRELAY_OK) };
  cli_t *c = al_calloc(1, sizeof(*c));
  launch(c, g, 2);
  run_until(&c->built, 1, 5000);
  cr_assert_eq(c->built, 1, "good circuit not built (%s)",
               c->closed ? c->info.what : "timeout");
  echo_works(c);
  chanmgr_close_circ(CM, c->circ, CELL_DESTROY_FINISHED);
  cr_assert_eq(c->closed, 1);
  cr_assert_eq(c->ends, 1);
  run_for(50);
  cr_assert_eq(c->after_close_calls, 0);
  al_free(c);
  trelay_free(g[0]);
  trelay_free(g[1]);
}

/* Expect c to have failed while building at hop 0. */
static void
assert_failed_at_first_hop(const cli_t *c, uint8_t reason)
{
  cr_assert_eq(c->closed, 1);
  cr_assert_eq(c->built, 0);
  cr_assert(!c->info.was_built);
  cr_assert_eq(c->info.failed_hop, 0, "failed hop %u", c->info.failed_hop);
  cr_assert_eq(c->info.reason, reason, "reason %u (%s)", c->info.reason,
               c->info.what);
}

/* ---- cell-level scripts (test_relay hooks) ---- */

typedef enum script_t {
  S_NONE = 0,
  S_WRONG_IDS,              /* junk on other ids before the CREATED2 */
  S_RELAY_BEFORE_CREATED2,  /* RELAY DATA, then the CREATED2 */
  S_EXTENDED2_BEFORE,       /* RELAY EXTENDED2, then the CREATED2 */
  S_CREATED2_TWICE,
  S_CREATED_FAST,           /* CREATED_FAST answers a CREATE2 */
  S_BAD_AUTH,
  S_BIG_HLEN,
  S_SHORT_HLEN,
} script_t;

static script_t SCRIPT;

/* A circuit id the client never used on this channel (client ids have the
 * high bit set, tor-spec 5.1.1). */
static uint32_t
other_id(uint32_t real, uint32_t salt)
{
  uint32_t id = (real ^ (0x01234567u + salt)) | 0x80000000u;
  return id == real ? id ^ 2u : id;
}

static void
send_wrong_ids(trelay_t *r, uint32_t real)
{
  uint8_t p[CELL_PAYLOAD_LEN];
  crypto_rand(p, sizeof(p));
  p[0] = 0;
  p[1] = 64;   /* a well-formed CREATED2 shape, for nobody */
  cr_assert_eq(trelay_send_cell(r, other_id(real, 0), CELL_CREATED2, p,
                                CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(trelay_send_cell(r, 0, CELL_CREATED2, p, CELL_PAYLOAD_LEN), 0);
  crypto_rand(p, sizeof(p));
  cr_assert_eq(trelay_send_cell(r, 0, CELL_RELAY, p, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(trelay_send_cell(r, other_id(real, 1), CELL_RELAY, p,
                                CELL_PAYLOAD_LEN), 0);
  /* A relay trying to build a circuit through a client. */
  cr_assert_eq(trelay_send_cell(r, 0x00000042u, CELL_CREATE2, p,
                                CELL_PAYLOAD_LEN), 0);
  memset(p, 0, sizeof(p));
  p[0] = CELL_DESTROY_PROTOCOL;
  cr_assert_eq(trelay_send_cell(r, other_id(real, 2), CELL_DESTROY, p, 1), 0);
  cr_assert_eq(trelay_send_cell(r, 0, CELL_DESTROY, p, 1), 0);
}

/* A plaintext relay cell (no hop keys exist yet) of command cmd. */
static void
send_plain_relay(trelay_t *r, uint32_t id, uint8_t cmd)
{
  uint8_t p[CELL_PAYLOAD_LEN], body[64];
  relay_header_t h;
  memset(&h, 0, sizeof(h));
  h.command = cmd;
  h.stream_id = cmd == RELAY_DATA ? 1 : 0;
  crypto_rand(body, sizeof(body));
  cr_assert_eq(relay_cell_pack(p, &h, body, sizeof(body), crypto_rand), 0);
  cr_assert_eq(trelay_send_cell(r, id, CELL_RELAY, p, CELL_PAYLOAD_LEN), 0);
}

static bool
hook(trelay_t *r, trelay_hook_at_t at, uint32_t id, uint8_t *p, void *arg)
{
  (void)arg;
  if (at == TRELAY_AT_CREATE2) {
    if (SCRIPT == S_WRONG_IDS)
      send_wrong_ids(r, id);
    else if (SCRIPT == S_RELAY_BEFORE_CREATED2)
      send_plain_relay(r, id, RELAY_DATA);
    else if (SCRIPT == S_EXTENDED2_BEFORE)
      send_plain_relay(r, id, RELAY_EXTENDED2);
    if (SCRIPT == S_CREATED_FAST) {
      crypto_rand(p, CELL_PAYLOAD_LEN);
      cr_assert_eq(trelay_send_cell(r, id, CELL_CREATED_FAST, p,
                                    CELL_PAYLOAD_LEN), 0);
      return true;
    }
    return false;
  }
  switch (SCRIPT) {
  case S_CREATED2_TWICE:
    cr_assert_eq(trelay_send_cell(r, id, CELL_CREATED2, p, CELL_PAYLOAD_LEN),
                 0);
    cr_assert_eq(trelay_send_cell(r, id, CELL_CREATED2, p, CELL_PAYLOAD_LEN),
                 0);
    return true;
  case S_BAD_AUTH:
    cr_assert_eq(p[0] * 256 + p[1], 64);
    p[2 + 32 + 7] ^= 0x10;   /* one bit of AUTH (after Y) */
    return false;
  case S_BIG_HLEN:
    p[0] = (CELL_PAYLOAD_LEN - 2 + 1) >> 8;   /* HLEN 508 > 507 available */
    p[1] = (CELL_PAYLOAD_LEN - 2 + 1) & 0xff;
    return false;
  case S_SHORT_HLEN:
    p[0] = 0;
    p[1] = 63;   /* fits the cell, but not an ntor reply */
    return false;
  default:
    return false;
  }
}

/* A hostile first hop with the hook installed and script s. */
static trelay_t *
hostile_relay(script_t s)
{
  trelay_t *r = trelay_new(BASE, TRELAY_OK);
  SCRIPT = s;
  trelay_set_hook(r, hook, NULL);
  return r;
}

/* ---- 1. wrong circuit ids ---- */

Test(hostile, cells_for_unknown_circuit_ids_are_dropped)
{
  trelay_t *r = hostile_relay(S_WRONG_IDS);
  cli_t *c = al_calloc(1, sizeof(*c));
  log_mark();
  launch(c, &r, 1);
  run_until(&c->built, 1, 5000);
  cr_assert_eq(c->built, 1, "%s", c->closed ? c->info.what : "timeout");
  assert_logged("for unknown circuit dropped");
  /* Again once the circuit is built and in use. */
  log_mark();
  send_wrong_ids(r, trelay_last_circ_id(r));
  run_for(100);
  assert_logged("for unknown circuit dropped");
  cr_assert(chanmgr_circ_alive(CM, c->circ));
  cr_assert_eq(chanmgr_n_channels(CM), 1);
  echo_works(c);
  cr_assert_eq(c->closed, 0);
  chanmgr_close_circ(CM, c->circ, CELL_DESTROY_FINISHED);
  al_free(c);
  good_circuit_builds();
  trelay_free(r);
}

/* ---- 2. out of order ---- */

Test(hostile, relay_cells_before_created2_close_the_circuit)
{
  trelay_t *r = hostile_relay(S_RELAY_BEFORE_CREATED2);
  cli_t *a = al_calloc(1, sizeof(*a)), *b = al_calloc(1, sizeof(*b));
  log_mark();
  launch(a, &r, 1);
  run_until(&a->closed, 1, 5000);
  assert_failed_at_first_hop(a, CELL_DESTROY_PROTOCOL);
  cr_assert(!a->info.remote);
  assert_logged("RELAY cell before CREATED2");
  /* An EXTENDED2 before the CREATED2, on the same (still open) channel. */
  SCRIPT = S_EXTENDED2_BEFORE;
  log_mark();
  launch(b, &r, 1);
  run_until(&b->closed, 1, 5000);
  assert_failed_at_first_hop(b, CELL_DESTROY_PROTOCOL);
  assert_logged("RELAY cell before CREATED2");
  cr_assert_eq(trelay_n_accepted(r), 1, "the channel itself stayed up");
  run_for(100);   /* the CREATED2s that follow hit dead circuits */
  cr_assert_eq(a->closed, 1);
  cr_assert_eq(b->closed, 1);
  al_free(a);
  al_free(b);
  good_circuit_builds();
  trelay_free(r);
}

Test(hostile, second_created2_or_created_fast_closes_the_circuit)
{
  trelay_t *r = hostile_relay(S_CREATED2_TWICE);
  cli_t *c = al_calloc(1, sizeof(*c)), *b = al_calloc(1, sizeof(*b));
  log_mark();
  launch(c, &r, 1);
  run_until(&c->closed, 1, 5000);
  cr_assert_eq(c->closed, 1);
  cr_assert_eq(c->info.reason, CELL_DESTROY_PROTOCOL);
  cr_assert(!c->info.remote);
  assert_logged("unexpected CREATED2");
  run_for(100);
  cr_assert_eq(c->closed, 1);
  cr_assert_eq(c->after_close_calls, 0);
  /* A CREATED_FAST where a CREATED2 belongs. */
  SCRIPT = S_CREATED_FAST;
  log_mark();
  launch(b, &r, 1);
  run_until(&b->closed, 1, 5000);
  assert_failed_at_first_hop(b, CELL_DESTROY_PROTOCOL);
  assert_logged("unexpected CREATED_FAST");
  al_free(c);
  al_free(b);
  good_circuit_builds();
  trelay_free(r);
}

Test(hostile, link_cells_after_the_handshake_are_ignored)
{
  trelay_t *r = hostile_relay(S_NONE);
  cli_t *c = al_calloc(1, sizeof(*c));
  uint8_t p[CELL_PAYLOAD_LEN];
  launch(c, &r, 1);
  run_until(&c->built, 1, 5000);
  cr_assert_eq(c->built, 1);
  uint32_t id = trelay_last_circ_id(r);
  log_mark();
  const uint8_t versions[] = { 0, 3, 0, 4, 0, 5 };
  cr_assert_eq(trelay_send_cell(r, 0, CELL_VERSIONS, versions,
                                sizeof(versions)), 0);
  cr_assert_eq(trelay_send_cell(r, id, CELL_VERSIONS, versions,
                                sizeof(versions)), 0);
  const uint8_t certs[] = { 1, 2, 0, 1, 0x30 };
  cr_assert_eq(trelay_send_cell(r, 0, CELL_CERTS, certs, sizeof(certs)), 0);
  crypto_rand(p, 32);
  p[32] = 0; p[33] = 1; p[34] = 0; p[35] = 3;
  cr_assert_eq(trelay_send_cell(r, 0, CELL_AUTH_CHALLENGE, p, 36), 0);
  memset(p, 0, sizeof(p));
  p[3] = 1;   /* a TIME; OTHERADDR and MYADDRS empty-ish */
  cr_assert_eq(trelay_send_cell(r, 0, CELL_NETINFO, p, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(trelay_send_cell(r, id, CELL_NETINFO, p, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(trelay_send_cell(r, 0, CELL_AUTHENTICATE, p, 40), 0);
  run_for(100);
  assert_logged("for unknown circuit dropped");
  cr_assert(chanmgr_circ_alive(CM, c->circ));
  echo_works(c);
  cr_assert_eq(c->closed, 0);
  al_free(c);
  good_circuit_builds();
  trelay_free(r);
}

/* ---- 3. malformed ---- */

Test(hostile, created2_with_a_wrong_ntor_auth_fails_the_hop)
{
  trelay_t *r = hostile_relay(S_BAD_AUTH);
  cli_t *c = al_calloc(1, sizeof(*c));
  log_mark();
  launch(c, &r, 1);
  run_until(&c->closed, 1, 5000);
  assert_failed_at_first_hop(c, CELL_DESTROY_PROTOCOL);
  cr_assert(!c->info.remote);
  assert_logged("ntor handshake failed");
  assert_logged("failed at hop 0");
  al_free(c);
  good_circuit_builds();
  trelay_free(r);
}

Test(hostile, created2_with_bad_hlen_fails_the_hop)
{
  trelay_t *r = hostile_relay(S_BIG_HLEN);
  cli_t *a = al_calloc(1, sizeof(*a)), *b = al_calloc(1, sizeof(*b));
  log_mark();
  launch(a, &r, 1);
  run_until(&a->closed, 1, 5000);
  assert_failed_at_first_hop(a, CELL_DESTROY_PROTOCOL);
  assert_logged("malformed CREATED2");
  SCRIPT = S_SHORT_HLEN;
  log_mark();
  launch(b, &r, 1);
  run_until(&b->closed, 1, 5000);
  assert_failed_at_first_hop(b, CELL_DESTROY_PROTOCOL);
  assert_logged("ntor handshake failed");
  al_free(a);
  al_free(b);
  good_circuit_builds();
  trelay_free(r);
}

Test(hostile, unrecognized_relay_cell_at_the_origin_closes_the_circuit)
{
  trelay_t *r = hostile_relay(S_NONE);
  trelay_t *path[2] = { r, trelay_new(BASE, TRELAY_OK) };
  cli_t *a = al_calloc(1, sizeof(*a)), *b = al_calloc(1, sizeof(*b));
  uint8_t p[CELL_PAYLOAD_LEN];
  launch(a, path, 2);
  run_until(&a->built, 1, 5000);
  cr_assert_eq(a->built, 1);
  log_mark();
  crypto_rand(p, sizeof(p));
  cr_assert_eq(trelay_send_cell(r, trelay_last_circ_id(r), CELL_RELAY, p,
                                CELL_PAYLOAD_LEN), 0);
  run_until(&a->closed, 1, 3000);
  cr_assert_eq(a->closed, 1);
  cr_assert(a->info.was_built);
  cr_assert_eq(a->info.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_eq(a->info.failed_hop, CIRC_HOP_NONE);
  assert_logged("unrecognized relay cell");
  /* An inbound RELAY_EARLY (tor-spec 5.6: only ever towards the exit). */
  launch(b, &r, 1);
  run_until(&b->built, 1, 5000);
  cr_assert_eq(b->built, 1);
  log_mark();
  cr_assert_eq(trelay_send_cell(r, trelay_last_circ_id(r), CELL_RELAY_EARLY,
                                p, CELL_PAYLOAD_LEN), 0);
  run_until(&b->closed, 1, 3000);
  cr_assert_eq(b->closed, 1);
  cr_assert_eq(b->info.reason, CELL_DESTROY_PROTOCOL);
  assert_logged("RELAY_EARLY");
  al_free(a);
  al_free(b);
  good_circuit_builds();
  trelay_free(path[1]);
  trelay_free(r);
}

Test(hostile, unknown_commands_and_a_huge_var_cell_are_ignored)
{
  trelay_t *r = hostile_relay(S_NONE);
  cli_t *c = al_calloc(1, sizeof(*c));
  uint8_t *big = al_malloc(CELL_VAR_PAYLOAD_MAX);
  launch(c, &r, 1);
  run_until(&c->built, 1, 5000);
  cr_assert_eq(c->built, 1);
  uint32_t id = trelay_last_circ_id(r);
  log_mark();
  crypto_rand(big, CELL_VAR_PAYLOAD_MAX);
  cr_assert_eq(trelay_send_cell(r, id, 50, big, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(trelay_send_cell(r, 0, 127, big, CELL_PAYLOAD_LEN), 0);
  cr_assert_eq(trelay_send_cell(r, id, 200, big, CELL_VAR_PAYLOAD_MAX), 0);
  cr_assert_eq(trelay_send_cell(r, 0, 255, big, CELL_VAR_PAYLOAD_MAX), 0);
  cr_assert_eq(trelay_send_cell(r, id, CELL_VPADDING, big,
                                CELL_VAR_PAYLOAD_MAX), 0);
  al_free(big);
  run_for(200);
  cr_assert(chanmgr_circ_alive(CM, c->circ));
  cr_assert_eq(chanmgr_n_channels(CM), 1);
  assert_logged("for unknown circuit dropped");
  echo_works(c);
  cr_assert_eq(c->closed, 0);
  al_free(c);
  good_circuit_builds();
  trelay_free(r);
}

/* ---- rawpeer: TLS + responder link handshake by hand, then bytes ---- */

typedef enum raw_script_t {
  RAW_CLOSE_AT_ACCEPT,    /* TCP close before TLS */
  RAW_CLOSE_AFTER_TLS,    /* TLS up, close before VERSIONS */
  RAW_HALF_CELL,          /* link up, half a fixed cell, TLS close_notify */
  RAW_HUGE_VAR_HEADER,    /* link up, var header of length 65535, TCP close */
} raw_script_t;

typedef struct rawpeer_t {
  relay_t id;
  circ_hop_spec_t spec;
  raw_script_t script;
  int lfd, fd;
  struct event *lev, *ev;
  tls_conn_t *tls;
  link_handshake_t *hs;
  bool tls_up;
  bool finished;
  uint8_t in[16384];
  size_t in_len;
} rawpeer_t;

static void
raw_finish(rawpeer_t *p, bool close_notify)
{
  if (p->finished)
    return;
  p->finished = true;
  if (p->ev)
    event_del(p->ev);
  if (close_notify && p->tls)
    (void)SSL_shutdown(tls_conn_ssl(p->tls));
  if (p->fd >= 0)
    close(p->fd);
  p->fd = -1;
}

/* Write all of buf (small; loopback). */
static void
raw_write(rawpeer_t *p, const uint8_t *buf, size_t len)
{
  for (int tries = 0; len && tries < 200; tries++) {
    size_t n = 0;
    int r = tls_conn_write(p->tls, buf, len, &n);
    if (r == TLS_OK) {
      buf += n;
      len -= n;
    } else if (r == TLS_WANT_WRITE || r == TLS_WANT_READ) {
      struct pollfd pfd = { p->fd, r == TLS_WANT_WRITE ? POLLOUT : POLLIN, 0 };
      (void)poll(&pfd, 1, 20);
    } else {
      return;
    }
  }
}

/* The link handshake is done: misbehave as scripted. */
static void
raw_act(rawpeer_t *p)
{
  uint8_t cell[CELL_MAX_NETWORK_SIZE];
  memset(cell, 0, sizeof(cell));
  cr_assert_geq(link_handshake_linkproto(p->hs), 4);
  cell[0] = 0x80;
  cell[3] = 0x01;
  if (p->script == RAW_HALF_CELL) {
    cell[4] = CELL_CREATED2;
    crypto_rand(cell + 5, sizeof(cell) - 5);
    raw_write(p, cell, CELL_MAX_NETWORK_SIZE / 2);
    raw_finish(p, true);
  } else {
    cell[4] = 200;
    cell[5] = 0xff;
    cell[6] = 0xff;
    crypto_rand(cell + 7, 100);
    raw_write(p, cell, 107);
    raw_finish(p, false);
  }
}

static void
raw_step(evutil_socket_t fd, short what, void *arg)
{
  rawpeer_t *p = arg;
  (void)fd;
  (void)what;
  if (p->finished)
    return;
  if (!p->tls_up) {
    int r = tls_conn_handshake(p->tls);
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
      return;
    if (r != TLS_OK || p->script == RAW_CLOSE_AFTER_TLS) {
      raw_finish(p, false);
      return;
    }
    p->tls_up = true;
    link_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = LINK_ROLE_RESPONDER;
    cfg.creds = &p->id.creds;
    cfg.peer_addr.type = CELL_ADDR_IPV4;
    cfg.peer_addr.addr[0] = 127;
    cfg.peer_addr.addr[3] = 1;
    p->hs = link_handshake_new(&cfg);
    cr_assert_not_null(p->hs);
  }
  for (;;) {
    size_t n = 0;
    if (p->in_len == sizeof(p->in))
      break;
    int r = tls_conn_read(p->tls, p->in + p->in_len,
                          sizeof(p->in) - p->in_len, &n);
    if (r == TLS_OK) {
      p->in_len += n;
      continue;
    }
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
      break;
    raw_finish(p, false);
    return;
  }
  size_t used = 0, olen = 0;
  if (link_handshake_state(p->hs) == LINK_HS_RUNNING) {
    int r = link_handshake_feed(p->hs, p->in, p->in_len, &used);
    memmove(p->in, p->in + used, p->in_len - used);
    p->in_len -= used;
    const uint8_t *out = link_handshake_output(p->hs, &olen);
    raw_write(p, out, olen);
    link_handshake_output_drain(p->hs, olen);
    if (r < 0) {
      raw_finish(p, false);
      return;
    }
  }
  if (link_handshake_state(p->hs) == LINK_HS_DONE)
    raw_act(p);
}

static void
raw_accept(evutil_socket_t lfd, short what, void *arg)
{
  rawpeer_t *p = arg;
  (void)what;
  int fd = accept(lfd, NULL, NULL);
  if (fd < 0)
    return;
  if (p->fd >= 0 || p->finished || p->script == RAW_CLOSE_AT_ACCEPT) {
    close(fd);
    p->finished = true;
    return;
  }
  p->fd = fd;
  cr_assert_eq(evutil_make_socket_nonblocking(fd), 0);
  p->tls = tls_conn_new(p->id.tls, 1);
  cr_assert_not_null(p->tls);
  cr_assert_eq(tls_conn_set_fd(p->tls, fd), 0);
  p->ev = event_new(BASE, fd, EV_READ | EV_PERSIST, raw_step, p);
  cr_assert_not_null(p->ev);
  cr_assert_eq(event_add(p->ev, NULL), 0);
  raw_step(fd, EV_READ, p);
}

static rawpeer_t *
rawpeer_new(raw_script_t script)
{
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  rawpeer_t *p = al_calloc(1, sizeof(*p));
  p->script = script;
  p->fd = -1;
  relay_make(&p->id, time(NULL));
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  p->lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(p->lfd, 0);
  cr_assert_eq(bind(p->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(p->lfd, 4), 0);
  cr_assert_eq(getsockname(p->lfd, (struct sockaddr *)&sin, &slen), 0);
  p->lev = event_new(BASE, p->lfd, EV_READ | EV_PERSIST, raw_accept, p);
  cr_assert_eq(event_add(p->lev, NULL), 0);
  circ_hop_spec_t *s = &p->spec;
  memcpy(s->rsa_id, p->id.rsa_fp, 20);
  memcpy(s->ed_id, p->id.ed_id.pub.pubkey, sizeof(s->ed_id));
  s->has_ed_id = true;
  crypto_rand(s->ntor_key, sizeof(s->ntor_key));
  s->n_addr = 1;
  s->addr[0].type = RELAY_LSPEC_IPV4;
  s->addr[0].len = 6;
  s->addr[0].u.ipv4.addr[0] = 127;
  s->addr[0].u.ipv4.addr[3] = 1;
  s->addr[0].u.ipv4.port = ntohs(sin.sin_port);
  return p;
}

static void
rawpeer_free(rawpeer_t *p)
{
  raw_finish(p, false);
  event_free(p->lev);
  close(p->lfd);
  if (p->ev)
    event_free(p->ev);
  tls_conn_free(p->tls);
  link_handshake_free(p->hs);
  relay_free(&p->id);
  al_free(p);
}

/* Launch a one-hop circuit to a raw peer running script s; return after
 * it closed. */
static void
raw_circuit(raw_script_t s, cli_t *c)
{
  rawpeer_t *p = rawpeer_new(s);
  log_mark();
  cr_assert_eq(launch_specs(c, &p->spec, 1), 0);
  run_until(&c->closed, 1, 5000);
  cr_assert(p->finished, "the peer ran its script");
  rawpeer_free(p);
}

/* ---- 4. truncated input ---- */

Test(hostile, half_a_cell_then_close_notify)
{
  cli_t *c = al_calloc(1, sizeof(*c));
  raw_circuit(RAW_HALF_CELL, c);
  /* The channel was open: the circuit dies with it. */
  assert_failed_at_first_hop(c, CELL_DESTROY_CHANNEL_CLOSED);
  assert_logged("channel to a relay closed");
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  al_free(c);
  good_circuit_builds();
}

Test(hostile, var_cell_header_of_65535_bytes_then_tcp_close)
{
  cli_t *c = al_calloc(1, sizeof(*c));
  raw_circuit(RAW_HUGE_VAR_HEADER, c);
  assert_failed_at_first_hop(c, CELL_DESTROY_CHANNEL_CLOSED);
  assert_logged("channel to a relay closed");
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  al_free(c);
  good_circuit_builds();
}

Test(hostile, close_right_after_tls_before_versions)
{
  cli_t *c = al_calloc(1, sizeof(*c));
  raw_circuit(RAW_CLOSE_AFTER_TLS, c);
  assert_failed_at_first_hop(c, CELL_DESTROY_CONNECTFAILED);
  assert_logged("channel to a relay closed");
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  al_free(c);
  good_circuit_builds();
}

Test(hostile, tcp_close_before_tls)
{
  cli_t *c = al_calloc(1, sizeof(*c));
  raw_circuit(RAW_CLOSE_AT_ACCEPT, c);
  assert_failed_at_first_hop(c, CELL_DESTROY_CONNECTFAILED);
  assert_logged("channel to a relay closed");
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  al_free(c);
  good_circuit_builds();
}

/* ---- 5. bad certificates ---- */

Test(hostile, certs_for_another_identity_fail_the_channel)
{
  trelay_t *r = trelay_new(BASE, TRELAY_OK);
  trelay_t *other = trelay_new(BASE, TRELAY_OK);
  cli_t *a = al_calloc(1, sizeof(*a)), *b = al_calloc(1, sizeof(*b));
  /* We expect other's RSA identity at r's address. */
  circ_hop_spec_t s = *trelay_spec(r);
  memcpy(s.rsa_id, trelay_spec(other)->rsa_id, 20);
  s.has_ed_id = false;
  log_mark();
  cr_assert_eq(launch_specs(a, &s, 1), 0);
  run_until(&a->closed, 1, 5000);
  assert_failed_at_first_hop(a, CELL_DESTROY_CONNECTFAILED);
  assert_logged("RSA identity is not the expected one");
  assert_logged("channel to a relay closed");
  /* The right RSA identity with another Ed25519 identity. */
  s = *trelay_spec(r);
  memcpy(s.ed_id, trelay_spec(other)->ed_id, sizeof(s.ed_id));
  log_mark();
  cr_assert_eq(launch_specs(b, &s, 1), 0);
  run_until(&b->closed, 1, 5000);
  assert_failed_at_first_hop(b, CELL_DESTROY_CONNECTFAILED);
  assert_logged("Ed25519 identity is not the expected one");
  cr_assert_eq(trelay_n_creates(r), 0);
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  al_free(a);
  al_free(b);
  good_circuit_builds();
  trelay_free(other);
  trelay_free(r);
}

Test(hostile, expired_or_future_certs_fail_the_channel)
{
  time_t now = time(NULL);
  trelay_t *old = trelay_new_at(BASE, TRELAY_OK, now - 10 * 365 * 86400);
  trelay_t *future = trelay_new_at(BASE, TRELAY_OK, now + 10 * 365 * 86400);
  cli_t *a = al_calloc(1, sizeof(*a)), *b = al_calloc(1, sizeof(*b));
  log_mark();
  launch(a, &old, 1);
  run_until(&a->closed, 1, 5000);
  assert_failed_at_first_hop(a, CELL_DESTROY_CONNECTFAILED);
  assert_logged("link handshake failed: CERTS");
  assert_logged("channel to a relay closed");
  log_mark();
  launch(b, &future, 1);
  run_until(&b->closed, 1, 5000);
  assert_failed_at_first_hop(b, CELL_DESTROY_CONNECTFAILED);
  assert_logged("link handshake failed: CERTS");
  cr_assert_eq(trelay_n_creates(old), 0);
  cr_assert_eq(trelay_n_creates(future), 0);
  al_free(a);
  al_free(b);
  good_circuit_builds();
  trelay_free(future);
  trelay_free(old);
}
