/* test_dir_fetch_loop.c -- circuit_mgr and dir_fetch (tor-spec 5.1.5, 6.2;
 * dir-spec 6) end to end over real loopback TLS channels against a fake
 * directory server written here from the spec: it answers CREATE_FAST with
 * KDF-TOR keys, BEGIN_DIR with CONNECTED and each HTTP request with a
 * response in DATA cells followed by END.  Failure modes: DESTROY instead
 * of CREATED_FAST, a wrong KH, a silent server (timeout), a 404, a stream
 * ended early, wrong identity. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/channel/channel.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/feature/dirclient/dir_fetch.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/malloc/malloc.h"

#include "core/link/link_fixture.h"

typedef enum srv_mode_t {
  SRV_OK = 0,
  SRV_DESTROY,      /* DESTROY instead of CREATED_FAST */
  SRV_BAD_KH,       /* CREATED_FAST with a wrong KH */
  SRV_SILENT,       /* never answers CREATE_FAST */
  SRV_404,          /* every response is a 404 */
  SRV_EARLY_END,    /* END before the whole body */
} srv_mode_t;

#define BODY_LEN 100000   /* ~200 DATA cells: client SENDMEs needed */

typedef struct srv_t {
  srv_mode_t mode;
  channel_t *ch;
  relay_crypto_t *rc;
  uint32_t circ_id;
  uint16_t sid;
  char req[1024];
  size_t req_len;
  int n_requests;
  int n_sendmes;
  uint8_t *body;
} srv_t;

static relay_t R;
static struct event_base *BASE;
static srv_t S;

typedef struct cli_t {
  int done, err;
  char why[128];
  int status[4];
  size_t len[4];
  int body_ok[4];
  int n_results;
} cli_t;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  relay_make(&R, time(NULL));
  BASE = event_base_new();
  cr_assert_not_null(BASE);
  memset(&S, 0, sizeof(S));
  S.body = al_malloc(BODY_LEN);
  for (size_t i = 0; i < BODY_LEN; i++)
    S.body[i] = (uint8_t)('a' + i % 26);
}

static void teardown(void)
{
  relay_crypto_free(S.rc);
  al_free(S.body);
  event_base_free(BASE);
  relay_free(&R);
}

TestSuite(dir_fetch_loop, .init = setup, .fini = teardown, .timeout = 60);

static void
srv_send_relay(srv_t *s, uint8_t cmd, uint16_t sid, const uint8_t *b,
               size_t len)
{
  uint8_t p[CELL_PAYLOAD_LEN];
  relay_header_t h;
  memset(&h, 0, sizeof(h));
  h.command = cmd;
  h.stream_id = sid;
  cr_assert_eq(relay_cell_pack(p, &h, b, len, NULL), 0);
  relay_crypto_relay_originate(s->rc, p);
  cell_t c = { s->circ_id, CELL_RELAY, CELL_PAYLOAD_LEN, p };
  cr_assert_eq(channel_send_cell(s->ch, &c), 0);
}

static void
srv_respond(srv_t *s)
{
  char head[128];
  int status = s->mode == SRV_404 ? 404 : 200;
  size_t blen = s->mode == SRV_404 ? 0 : BODY_LEN;
  int hl = snprintf(head, sizeof(head),
                    "HTTP/1.0 %d X\r\nContent-Length: %zu\r\n\r\n", status,
                    blen);
  s->n_requests++;
  srv_send_relay(s, RELAY_DATA, s->sid, (const uint8_t *)head, (size_t)hl);
  if (s->mode == SRV_EARLY_END)
    blen = 1000;
  for (size_t off = 0; off < blen; off += RELAY_BODY_MAX) {
    size_t n = blen - off < RELAY_BODY_MAX ? blen - off : RELAY_BODY_MAX;
    srv_send_relay(s, RELAY_DATA, s->sid, s->body + off, n);
  }
  uint8_t reason = RELAY_END_DONE;
  srv_send_relay(s, RELAY_END, s->sid, &reason, 1);
}

static void
srv_create_fast(srv_t *s, const cell_t *c)
{
  cell_create_fast_t cf;
  cell_created_fast_t cd;
  uint8_t k0[40], keys[92], p[CELL_PAYLOAD_LEN];
  size_t n;
  s->circ_id = c->circ_id;
  if (s->mode == SRV_SILENT)
    return;
  if (s->mode == SRV_DESTROY) {
    uint8_t d[CELL_PAYLOAD_LEN] = { CELL_DESTROY_RESOURCELIMIT };
    cell_t r = { c->circ_id, CELL_DESTROY, CELL_PAYLOAD_LEN, d };
    cr_assert_eq(channel_send_cell(s->ch, &r), 0);
    return;
  }
  cr_assert_eq(cell_create_fast_decode(&cf, c->payload, c->payload_len), 0);
  memcpy(k0, cf.x, 20);
  memset(cd.y, 0x5a, 20);
  memcpy(k0 + 20, cd.y, 20);
  cr_assert_eq(crypto_kdf_tor(keys, sizeof(keys), k0, sizeof(k0)), 0);
  memcpy(cd.kh, keys, 20);
  if (s->mode == SRV_BAD_KH)
    cd.kh[19] ^= 1;
  s->rc = relay_crypto_new(RELAY_CRYPTO_TOR1, keys + 20, 72, 0);
  memset(p, 0, sizeof(p));
  cr_assert_eq(cell_created_fast_encode(&cd, p, sizeof(p), &n), 0);
  cell_t r = { c->circ_id, CELL_CREATED_FAST, CELL_PAYLOAD_LEN, p };
  cr_assert_eq(channel_send_cell(s->ch, &r), 0);
}

static void
srv_relay(srv_t *s, const cell_t *c)
{
  uint8_t p[CELL_PAYLOAD_LEN];
  relay_header_t h;
  const uint8_t *body;
  memcpy(p, c->payload, sizeof(p));
  cr_assert_not_null(s->rc);
  cr_assert_eq(relay_crypto_relay_decrypt(s->rc, p), 1);
  cr_assert_eq(relay_cell_unpack(&h, &body, p), 0);
  switch (h.command) {
  case RELAY_BEGIN_DIR:
    s->sid = h.stream_id;
    s->req_len = 0;
    srv_send_relay(s, RELAY_CONNECTED, s->sid, NULL, 0);
    return;
  case RELAY_DATA:
    cr_assert_eq(h.stream_id, s->sid);
    cr_assert_lt(s->req_len + h.length, sizeof(s->req));
    memcpy(s->req + s->req_len, body, h.length);
    s->req_len += h.length;
    s->req[s->req_len] = 0;
    if (strstr(s->req, "\r\n\r\n")) {
      cr_assert(!strncmp(s->req, "GET /tor/", 9), "request: %s", s->req);
      srv_respond(s);
    }
    return;
  case RELAY_SENDME:
    s->n_sendmes++;
    return;
  default:
    return;
  }
}

static void s_open(channel_t *ch, void *arg) { (void)ch; (void)arg; }

static void s_cell(channel_t *ch, const cell_t *c, void *arg)
{
  srv_t *s = arg;
  (void)ch;
  if (c->command == CELL_CREATE_FAST)
    srv_create_fast(s, c);
  else if (c->command == CELL_RELAY || c->command == CELL_RELAY_EARLY)
    srv_relay(s, c);
}

static void s_close(channel_t *ch, int reason, const char *why, void *arg)
{
  (void)ch; (void)reason; (void)why; (void)arg;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
  srv_t *s = arg;
  struct sockaddr_in peer;
  socklen_t plen = sizeof(peer);
  (void)what;
  int fd = accept(lfd, (struct sockaddr *)&peer, &plen);
  cr_assert_geq(fd, 0);
  channel_callbacks_t cbs = { s_open, s_cell, s_close, s };
  s->ch = channel_accept(BASE, R.tls, fd, (struct sockaddr *)&peer, plen,
                         &R.creds, &cbs);
  cr_assert_not_null(s->ch);
}

static void c_result(size_t idx, int status, const uint8_t *body, size_t len,
                     const char *why, void *arg)
{
  cli_t *c = arg;
  (void)why;
  cr_assert_lt(idx, 4);
  c->n_results++;
  c->status[idx] = status;
  c->len[idx] = len;
  c->body_ok[idx] = body && len == BODY_LEN && !memcmp(body, S.body, len);
}

static void c_done(int err, const char *why, void *arg)
{
  cli_t *c = arg;
  cr_assert_eq(c->done, 0, "on_done twice");
  c->done = 1;
  c->err = err;
  snprintf(c->why, sizeof(c->why), "%s", why);
  event_base_loopbreak(BASE);
}

/* Run a fetch of n requests against the fake server in mode. */
static void
run(srv_mode_t mode, size_t n, const uint8_t *rsa, uint32_t timeout_msec,
    cli_t *c)
{
  static const dir_fetch_request_t reqs[] = {
    { "/tor/keys/all", DIR_DOC_KEY_CERTS },
    { "/tor/status-vote/current/consensus", DIR_DOC_CONSENSUS },
    { "/tor/status-vote/current/consensus-microdesc", DIR_DOC_CONSENSUS },
  };
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  memset(c, 0, sizeof(*c));
  S.mode = mode;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(lfd, 4), 0);
  cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
  struct event *lev = event_new(BASE, lfd, EV_READ | EV_PERSIST, on_accept,
                                &S);
  event_add(lev, NULL);
  tls_context_t *tls = tls_context_new_client();
  cr_assert_not_null(tls);
  dir_fetch_server_t srv = { (struct sockaddr *)&sin, sizeof(sin), { 0 } };
  memcpy(srv.rsa_id, rsa, 20);
  dir_fetch_callbacks_t cbs = { c_result, c_done, NULL, c };
  dir_fetch_t *f = dir_fetch_start(BASE, tls, &srv, reqs, n, timeout_msec,
                                   &cbs);
  cr_assert_not_null(f);
  for (int i = 0; i < 5000 && !c->done; i++)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert(c->done, "fetch did not finish");
  dir_fetch_free(f);
  channel_free(S.ch);
  event_free(lev);
  close(lfd);
  tls_context_free(tls);
}

Test(dir_fetch_loop, three_documents)
{
  cli_t c;
  run(SRV_OK, 3, R.rsa_fp, 20000, &c);
  cr_assert_eq(c.err, 0, "err %d: %s", c.err, c.why);
  cr_assert_eq(c.n_results, 3);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(c.status[i], 200);
    cr_assert(c.body_ok[i], "body %d differs (%zu bytes)", i, c.len[i]);
  }
  cr_assert_eq(S.n_requests, 3);
  cr_assert_gt(S.n_sendmes, 0, "client never sent a SENDME");
}

Test(dir_fetch_loop, not_found_is_a_result)
{
  cli_t c;
  run(SRV_404, 2, R.rsa_fp, 20000, &c);
  cr_assert_eq(c.err, 0, "%s", c.why);
  cr_assert_eq(c.n_results, 2);
  cr_assert_eq(c.status[0], 404);
  cr_assert_eq(c.status[1], 404);
}

Test(dir_fetch_loop, early_end_is_an_error_result)
{
  cli_t c;
  run(SRV_EARLY_END, 2, R.rsa_fp, 20000, &c);
  cr_assert_eq(c.err, 0, "%s", c.why);
  cr_assert_eq(c.n_results, 2);
  cr_assert_eq(c.status[0], -1);
  cr_assert_eq(c.status[1], -1);
}

Test(dir_fetch_loop, destroy_fails_the_fetch)
{
  cli_t c;
  run(SRV_DESTROY, 2, R.rsa_fp, 20000, &c);
  cr_assert_lt(c.err, 0);
  cr_assert_eq(c.n_results, 0);
  cr_assert_str_eq(c.why, "circuit build failed");
}

Test(dir_fetch_loop, wrong_key_hash_fails_the_fetch)
{
  cli_t c;
  run(SRV_BAD_KH, 1, R.rsa_fp, 20000, &c);
  cr_assert_lt(c.err, 0);
  cr_assert_str_eq(c.why, "circuit build failed");
}

Test(dir_fetch_loop, silent_server_times_out)
{
  cli_t c;
  run(SRV_SILENT, 1, R.rsa_fp, 500, &c);
  cr_assert_lt(c.err, 0);
  cr_assert_str_eq(c.why, "timed out");
}

Test(dir_fetch_loop, wrong_identity_fails)
{
  cli_t c;
  uint8_t other[20];
  memcpy(other, R.rsa_fp, 20);
  other[0] ^= 1;
  run(SRV_OK, 1, other, 20000, &c);
  cr_assert_lt(c.err, 0);
  cr_assert_eq(c.n_results, 0);
}
