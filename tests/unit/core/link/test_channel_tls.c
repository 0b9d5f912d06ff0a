/* test_channel_tls.c -- channels (tor-spec 2, 4) between two allium
 * endpoints over real loopback TCP and libevent: handshake, cells both
 * ways, identity mismatch, idle close; and the circuit-id allocator
 * (tor-spec 5.1.1). */
#include <criterion/criterion.h>

#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "allium/core/channel/channel.h"
#include "allium/core/channel/link_keys.h"
#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#include "core/link/link_fixture.h"

/* ---- circuit ids ---- */

TestSuite(circid, .init = (void (*)(void))crypto_global_init);

Test(circid, halves_and_uniqueness)
{
  circid_set_t *ini = circid_set_new(5, 1), *resp = circid_set_new(4, 0);
  cr_assert_null(circid_set_new(3, 1));
  for (int i = 0; i < 500; i++) {
    uint32_t a, b;
    cr_assert_eq(circid_set_alloc(ini, &a), 0);
    cr_assert_eq(circid_set_alloc(resp, &b), 0);
    cr_assert(a & 0x80000000u);
    cr_assert_not(b & 0x80000000u);
    cr_assert_neq(b, 0);
    cr_assert(circid_set_is_peers(resp, a));
    cr_assert(circid_set_is_peers(ini, b));
    cr_assert_not(circid_set_is_peers(ini, a));
    cr_assert_eq(circid_set_add(ini, a), -1);   /* already used */
  }
  cr_assert_eq(circid_set_count(ini), 500);
  cr_assert_not(circid_set_is_peers(ini, 0));
  cr_assert_not(circid_set_is_peers(resp, 0));
  cr_assert_not(circid_set_is_peers(resp, 0x00000001u)); /* our own half */
  cr_assert_eq(circid_set_add(resp, 0), -1);
  cr_assert_eq(circid_set_add(resp, 0x80000001u), 0);
  cr_assert(circid_set_contains(resp, 0x80000001u));
  cr_assert_eq(circid_set_remove(resp, 0x80000001u), 0);
  cr_assert_eq(circid_set_remove(resp, 0x80000001u), -1);
  cr_assert_not(circid_set_contains(resp, 0x80000001u));
  cr_assert_eq(circid_set_count(resp), 500);
  circid_set_free(ini);
  circid_set_free(resp);
  cr_assert_null(ini);
}

Test(circid, sorted_insert_remove)
{
  circid_set_t *s = circid_set_new(4, 0);
  static const uint32_t ids[] = { 50, 10, 30, 20, 40, 1, 0x7fffffffu };
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
    cr_assert_eq(circid_set_add(s, ids[i]), 0);
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
    cr_assert(circid_set_contains(s, ids[i]));
  cr_assert_not(circid_set_contains(s, 25));
  cr_assert_eq(circid_set_remove(s, 30), 0);
  cr_assert_not(circid_set_contains(s, 30));
  cr_assert(circid_set_contains(s, 40));
  cr_assert(circid_set_contains(s, 20));
  circid_set_free(s);
}

/* ---- channels over loopback ---- */

static relay_t R;
static struct event_base *BASE;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  relay_make(&R, time(NULL));
  BASE = event_base_new();
  cr_assert_not_null(BASE);
}

static void teardown(void)
{
  event_base_free(BASE);
  relay_free(&R);
}

TestSuite(channel, .init = setup, .fini = teardown, .timeout = 30);

typedef struct side_t {
  channel_t *ch;
  int opened, closed, reason, cells;
  uint8_t last_cmd;
  uint32_t last_circ;
  int reply;                /* answer CREATE_FAST with CREATED_FAST */
  int close_after_cells;    /* close (REQUESTED) after this many cells */
} side_t;

typedef struct world_t {
  int lfd;
  struct event *lev;
  side_t cli, srv;
  uint32_t idle_msec;
  const link_creds_t *cli_creds;   /* connect as this relay */
  int srv_addrs;                   /* the server advertises 127.0.0.9 */
} world_t;

static void maybe_stop(world_t *w)
{
  if ((w->cli.closed || w->cli.opened) && (w->srv.closed || w->srv.opened))
    event_base_loopbreak(BASE);
}

static void s_open(channel_t *ch, void *arg)
{
  (void)ch;
  ((side_t *)arg)->opened = 1;
}

static void s_cell(channel_t *ch, const cell_t *c, void *arg)
{
  side_t *s = arg;
  s->cells++;
  s->last_cmd = c->command;
  s->last_circ = c->circ_id;
  if (s->reply && c->command == CELL_CREATE_FAST) {
    uint8_t y[40] = { 1 };
    cell_t r = { c->circ_id, CELL_CREATED_FAST, sizeof(y), y };
    cr_assert_eq(circid_set_is_peers(channel_circids(ch), c->circ_id), 1);
    cr_assert_eq(channel_send_cell(ch, &r), 0);
  }
  if (s->close_after_cells && s->cells >= s->close_after_cells)
    channel_close(ch, CHANNEL_CLOSE_REQUESTED);
  event_base_loopbreak(BASE);
}

static void s_close(channel_t *ch, int reason, const char *why, void *arg)
{
  side_t *s = arg;
  (void)ch;
  (void)why;
  cr_assert_eq(s->closed, 0, "on_close twice");
  s->closed = 1;
  s->reason = reason;
  event_base_loopbreak(BASE);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
  world_t *w = arg;
  struct sockaddr_in peer;
  socklen_t plen = sizeof(peer);
  (void)what;
  int fd = accept(lfd, (struct sockaddr *)&peer, &plen);
  cr_assert_geq(fd, 0);
  channel_callbacks_t cbs = { s_open, s_cell, s_close, &w->srv };
  w->srv.ch = channel_accept(BASE, R.tls, fd, (struct sockaddr *)&peer, plen,
                             &R.creds, &cbs);
  cr_assert_not_null(w->srv.ch);
  if (w->srv_addrs) {
    cell_addr_t a = { .type = CELL_ADDR_IPV4 };
    memcpy(a.addr, "\x7f\x00\x00\x09", 4);
    cr_assert_eq(channel_set_my_addrs(w->srv.ch, &a, 1), 0);
  }
  if (w->idle_msec)
    channel_set_idle_timeout(w->srv.ch, w->idle_msec);
}

/** Listen, connect a client expecting (rsa, ed), run until both sides
 * opened or closed. */
static void world_start(world_t *w, tls_context_t *cctx, const uint8_t *rsa,
                        const ed25519_public_key_t *ed)
{
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  w->lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_eq(bind(w->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(w->lfd, 4), 0);
  cr_assert_eq(getsockname(w->lfd, (struct sockaddr *)&sin, &slen), 0);
  w->lev = event_new(BASE, w->lfd, EV_READ | EV_PERSIST, on_accept, w);
  event_add(w->lev, NULL);
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), rsa, ed };
  channel_callbacks_t cbs = { s_open, s_cell, s_close, &w->cli };
  w->cli.ch = channel_connect_relay(BASE, cctx, &t, w->cli_creds, &cbs);
  cr_assert_not_null(w->cli.ch);
  for (int i = 0; i < 100; i++) {
    maybe_stop(w);
    if ((w->cli.closed || w->cli.opened) && (w->srv.closed || w->srv.opened))
      break;
    event_base_loop(BASE, EVLOOP_ONCE);
  }
}

static void world_stop(world_t *w)
{
  channel_free(w->cli.ch);
  channel_free(w->srv.ch);
  event_free(w->lev);
  close(w->lfd);
}

/** Loop until cond or a bounded number of iterations. */
#define RUN_UNTIL(cond) \
  do { \
    for (int i_ = 0; i_ < 200 && !(cond); i_++) \
      event_base_loop(BASE, EVLOOP_ONCE); \
    cr_assert(cond, "timed out waiting for " #cond); \
  } while (0)

Test(channel, open_and_exchange_cells)
{
  world_t w;
  memset(&w, 0, sizeof(w));
  tls_context_t *cctx = tls_context_new_client();
  w.srv.reply = 1;
  world_start(&w, cctx, R.rsa_fp, &R.ed_id.pub);
  cr_assert(w.cli.opened, "client: %s", channel_error(w.cli.ch));
  cr_assert(w.srv.opened);
  cr_assert_eq(channel_state(w.cli.ch), CHANNEL_STATE_OPEN);
  cr_assert_eq(channel_linkproto(w.cli.ch), 5);
  const link_peer_t *p = channel_peer(w.cli.ch);
  cr_assert(p->authenticated);
  cr_assert_arr_eq(p->rsa_id, R.rsa_fp, 20);
  cr_assert_arr_eq(p->ed_id.pubkey, R.ed_id.pub.pubkey, 32);
  cr_assert_eq(p->my_addr_seen.type, CELL_ADDR_IPV4);
  cr_assert_arr_eq(p->my_addr_seen.addr, "\x7f\x00\x00\x01", 4);
  cr_assert_not(channel_peer(w.srv.ch)->authenticated);
  cr_assert_gt(channel_handshake_msec(w.cli.ch) + 1, 0);
  cr_assert_str_eq(channel_tls_version(w.cli.ch), "TLSv1.3");

  /* Client -> server CREATE_FAST, server answers CREATED_FAST. */
  uint32_t id;
  uint8_t x[20] = { 9 };
  cr_assert_eq(circid_set_alloc(channel_circids(w.cli.ch), &id), 0);
  cell_t c = { id, CELL_CREATE_FAST, sizeof(x), x };
  cr_assert_eq(channel_send_cell(w.cli.ch, &c), 0);
  RUN_UNTIL(w.cli.cells == 1);
  cr_assert_eq(w.srv.cells, 1);
  cr_assert_eq(w.srv.last_circ, id);
  cr_assert_eq(w.cli.last_cmd, CELL_CREATED_FAST);
  cr_assert_eq(w.cli.last_circ, id);

  /* A big variable-length cell and padding (consumed by the channel). */
  uint8_t *big = al_calloc(1, 60000);
  cell_t pad = { 0, CELL_PADDING, 0, NULL };
  cell_t vp = { 0, CELL_VPADDING, 100, big };
  cell_t var = { 0, CELL_AUTHORIZE, 60000, big };
  cr_assert_eq(channel_send_cell(w.cli.ch, &pad), 0);
  cr_assert_eq(channel_send_cell(w.cli.ch, &vp), 0);
  cr_assert_eq(channel_send_cell(w.cli.ch, &var), 0);
  RUN_UNTIL(w.srv.cells == 2);
  cr_assert_eq(w.srv.last_cmd, CELL_AUTHORIZE);
  al_free(big);

  /* Close from the client: the server sees EOF. */
  channel_close(w.cli.ch, CHANNEL_CLOSE_REQUESTED);
  cr_assert(w.cli.closed);
  cr_assert_eq(w.cli.reason, CHANNEL_CLOSE_REQUESTED);
  cr_assert_eq(channel_send_cell(w.cli.ch, &c), -1);
  channel_close(w.cli.ch, CHANNEL_CLOSE_IO_ERROR);   /* idempotent */
  RUN_UNTIL(w.srv.closed);
  cr_assert_eq(w.srv.reason, CHANNEL_CLOSE_EOF);
  world_stop(&w);
  tls_context_free(cctx);
}

Test(channel, wrong_identity_refused)
{
  world_t w;
  uint8_t fp[20];
  memset(&w, 0, sizeof(w));
  memcpy(fp, R.rsa_fp, 20);
  fp[0] ^= 1;
  tls_context_t *cctx = tls_context_new_client();
  world_start(&w, cctx, fp, NULL);
  RUN_UNTIL(w.cli.closed && w.srv.closed);
  cr_assert_not(w.cli.opened);
  cr_assert_eq(w.cli.reason, CHANNEL_CLOSE_HANDSHAKE_FAILED);
  cr_assert(strstr(channel_error(w.cli.ch), "RSA identity"));
  cr_assert_not(w.srv.opened);
  cr_assert_eq(channel_state(w.cli.ch), CHANNEL_STATE_CLOSED);
  world_stop(&w);
  tls_context_free(cctx);
}

Test(channel, idle_timeout_closes)
{
  world_t w;
  memset(&w, 0, sizeof(w));
  w.idle_msec = 1000;
  tls_context_t *cctx = tls_context_new_client();
  world_start(&w, cctx, NULL, NULL);
  cr_assert(w.cli.opened && w.srv.opened);
  RUN_UNTIL(w.srv.closed);
  cr_assert_eq(w.srv.reason, CHANNEL_CLOSE_IDLE);
  RUN_UNTIL(w.cli.closed);
  cr_assert_eq(w.cli.reason, CHANNEL_CLOSE_EOF);
  world_stop(&w);
  tls_context_free(cctx);
}

Test(channel, connect_refused)
{
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  side_t cli;
  memset(&cli, 0, sizeof(cli));
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  /* A port nobody listens on: bind, read the port, close. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
  close(fd);
  tls_context_t *cctx = tls_context_new_client();
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), NULL, NULL };
  channel_callbacks_t cbs = { s_open, s_cell, s_close, &cli };
  cli.ch = channel_connect(BASE, cctx, &t, &cbs);
  if (cli.ch) {
    RUN_UNTIL(cli.closed);
    cr_assert_eq(cli.reason, CHANNEL_CLOSE_CONNECT_FAILED, "%s",
                 channel_close_reason_name(cli.reason));
  }
  channel_free(cli.ch);
  tls_context_free(cctx);
}

/* A relay connecting to a relay (tor-spec 4.4.2) over real TLS: the
 * responder verifies CERTS + AUTHENTICATE (whose TLSSECRETS come from the
 * RFC 5705 exporter of this very session) and learns our identities. */
Test(channel, relay_authenticates_to_relay)
{
  world_t w;
  relay_t me;
  torcert_t *c4 = NULL;
  time_t now = time(NULL);
  memset(&w, 0, sizeof(w));
  relay_make(&me, now);
  cr_assert_eq(torcert_create(&c4, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                              me.ed_sign.pub.pubkey, &me.ed_id, now,
                              30 * 86400, 1), 0);
  link_keys_t *keys = link_keys_new(me.rsa, &me.ed_id.pub, &me.ed_sign,
                                    c4->encoded, c4->encoded_len, now);
  cr_assert_not_null(keys);
  torcert_free(c4);
  w.cli_creds = link_keys_creds(keys);
  w.srv.reply = 1;
  w.srv_addrs = 1;
  tls_context_t *cctx = tls_context_new_client();
  world_start(&w, cctx, R.rsa_fp, &R.ed_id.pub);
  cr_assert(w.cli.opened, "client: %s", channel_error(w.cli.ch));
  cr_assert(w.srv.opened, "server: %s", channel_error(w.srv.ch));
  const link_peer_t *ps = channel_peer(w.srv.ch), *pc = channel_peer(w.cli.ch);
  cr_assert(ps->authenticated, "responder did not authenticate us");
  cr_assert_arr_eq(ps->rsa_id, me.rsa_fp, 20);
  cr_assert_arr_eq(ps->ed_id.pubkey, me.ed_id.pub.pubkey, 32);
  cr_assert_neq(ps->netinfo_time, 0);   /* a relay sends its clock */
  cr_assert(pc->authenticated && pc->we_authenticated);
  cr_assert_eq(pc->n_addrs, 1);                 /* channel_set_my_addrs */
  cr_assert_arr_eq(pc->addrs[0].addr, "\x7f\x00\x00\x09", 4);
  cr_assert_eq(channel_set_my_addrs(w.srv.ch, NULL, 0), -1);   /* too late */
  /* The channel carries cells afterwards. */
  uint32_t id;
  uint8_t x[20] = { 7 };
  cr_assert_eq(circid_set_alloc(channel_circids(w.cli.ch), &id), 0);
  cell_t c = { id, CELL_CREATE_FAST, sizeof(x), x };
  cr_assert_eq(channel_send_cell(w.cli.ch, &c), 0);
  RUN_UNTIL(w.cli.cells == 1);
  cr_assert_eq(w.cli.last_cmd, CELL_CREATED_FAST);
  world_stop(&w);
  tls_context_free(cctx);
  link_keys_free(keys);
  relay_free(&me);
}

/* ---- bandwidth limits (channel_bw.h: RelayBandwidthRate) ---- */

#include "allium/core/channel/channel_bw.h"
#include "allium/lib/evloop/evloop.h"

/* Send n AUTHORIZE cells of len bytes client -> server; loop until the
 * server has them all (at most 20 s).  Returns the msec it took. */
static uint64_t
bw_push(world_t *w, int n, size_t len)
{
  uint8_t *body = al_calloc(1, len);
  cell_t var = { 0, CELL_AUTHORIZE, (uint16_t)len, body };
  int want = w->srv.cells + n;
  uint64_t t0 = evloop_monotonic_msec();
  for (int i = 0; i < n; i++)
    cr_assert_eq(channel_send_cell(w->cli.ch, &var), 0);
  while (w->srv.cells < want && evloop_monotonic_msec() - t0 < 20000)
    event_base_loop(BASE, EVLOOP_ONCE);
  al_free(body);
  cr_assert_eq(w->srv.cells, want, "only %d of %d cells arrived",
               w->srv.cells, want);
  return evloop_monotonic_msec() - t0;
}

Test(channel, relay_bucket_limits_the_accepted_side)
{
  world_t w;
  memset(&w, 0, sizeof(w));
  tls_context_t *cctx = tls_context_new_client();
  world_start(&w, cctx, R.rsa_fp, &R.ed_id.pub);
  cr_assert(w.cli.opened && w.srv.opened);
  /* Only relayed traffic is limited: the accepted (server) side is
   * relayed, the client (no relay credentials) is our own traffic. */
  channel_bw_cfg_t cfg = { CHANNEL_BW_DEFAULT, CHANNEL_BW_DEFAULT,
                           256 * 1024, 32 * 1024, 50 };
  cr_assert(!channel_bw_cfg_unlimited(&cfg));
  cr_assert_eq(channel_bw_configure(BASE, &cfg), 0);
  channel_bw_stats_t s0, s1, s2;
  channel_bw_get_stats(&s0);
  cr_assert(s0.limited);
  /* 512 KiB at 256 KiB/s with a 32 KiB burst: at least 1.875 s. */
  uint64_t ms = bw_push(&w, 32, 16384);
  channel_bw_get_stats(&s1);
  cr_assert_geq(ms, 1200, "512 KiB went through in %llu ms",
                (unsigned long long)ms);
  cr_assert_gt(s1.relay_read_emptied, s0.relay_read_emptied);
  cr_assert_gt(s1.reads_blocked, s0.reads_blocked);
  cr_assert_eq(s1.read_emptied, s0.read_emptied);   /* global: 1 GByte */
  cr_assert_geq(s1.relay_bytes_read - s0.relay_bytes_read, 32 * 16384);
  cr_assert_lt(s1.relay_bytes_written - s0.relay_bytes_written, 16384);
  /* Limits lifted: the same transfer is not held back, still counted. */
  cr_assert_eq(channel_bw_configure(BASE, NULL), 0);
  ms = bw_push(&w, 32, 16384);
  channel_bw_get_stats(&s2);
  cr_assert(!s2.limited);
  cr_assert_lt(ms, 1200, "unlimited transfer took %llu ms",
               (unsigned long long)ms);
  cr_assert_geq(s2.bytes_read - s1.bytes_read, 32 * 16384);
  cr_assert_geq(s2.bytes_written - s1.bytes_written, 32 * 16384);
  world_stop(&w);
  tls_context_free(cctx);
}

Test(channel, global_write_bucket_limits_every_channel)
{
  world_t w;
  memset(&w, 0, sizeof(w));
  tls_context_t *cctx = tls_context_new_client();
  world_start(&w, cctx, R.rsa_fp, &R.ed_id.pub);
  cr_assert(w.cli.opened && w.srv.opened);
  channel_bw_cfg_t cfg = { 256 * 1024, 256 * 1024, 0, 0, 100 };
  cr_assert_eq(channel_bw_configure(BASE, &cfg), 0);
  channel_bw_stats_t s0, s1;
  channel_bw_get_stats(&s0);
  /* 1 MiB over a 256 KiB/s global bucket (burst 256 KiB): >= 3 s for the
   * write side; reading is bounded the same way. */
  uint64_t ms = bw_push(&w, 64, 16384);
  channel_bw_get_stats(&s1);
  cr_assert_geq(ms, 2000, "1 MiB went through in %llu ms",
                (unsigned long long)ms);
  cr_assert_gt(s1.write_emptied + s1.read_emptied,
               s0.write_emptied + s0.read_emptied);
  /* SIGHUP-style change while running: a higher rate takes over. */
  cfg.rate = cfg.burst = 64 * 1024 * 1024;
  cr_assert_eq(channel_bw_configure(BASE, &cfg), 0);
  ms = bw_push(&w, 64, 16384);
  cr_assert_lt(ms, 2000, "after raising the rate 1 MiB took %llu ms",
               (unsigned long long)ms);
  channel_bw_shutdown();
  world_stop(&w);
  tls_context_free(cctx);
}
