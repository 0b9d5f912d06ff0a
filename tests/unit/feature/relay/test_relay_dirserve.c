/* test_relay_dirserve.c -- the relay as a directory cache end to end
 * (relay_dirserve.c over cellswitch_stream.c; tor-spec 5.1.5 CREATE_FAST,
 * 6.2 BEGIN_DIR; dir-spec 4, 6): the allium client's own directory fetcher
 * (dir_fetch.h: one-hop CREATE_FAST circuit, one BEGIN_DIR stream per
 * request, HTTP/1.0, deflate) fetches certificates, both consensus flavours
 * and a microdescriptor from an in-process relay running the real cell
 * engine whose dir_request hook is relay_dirserve_request() over a
 * dircache loaded from a fixture DataDirectory.  The consensuses arrive
 * byte for byte; the relay's counters show what it served.  Also: the
 * whole relay runtime (relay_run_new() with DirCache) answers a client's
 * BEGIN_DIR from the cache files of its DataDirectory. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/dirclient/dir_fetch.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include "core/mainloop/cellswitch_st.h"
#include "core/mainloop/switch_relay.h"
#include "feature/dirparse/fixture.h"
#include "feature/relay/relay_run_st.h"

static struct event_base *BASE;

/* 2026-11-24 03:54:30 UTC: inside the fixtures' validity interval. */
static time_t
t_now(void)
{
  struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 24,
                   .tm_hour = 3, .tm_min = 54, .tm_sec = 30 };
  return timegm(&tm);
}

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
}

static void teardown(void)
{
  event_base_free(BASE);
}

TestSuite(relay_dirserve, .init = setup, .fini = teardown, .timeout = 60);

static char datadir[64];
static const char *const NAMES[][2] = {
  { "certs.txt", "cached-certs" },
  { "consensus-ns.txt", "cached-consensus" },
  { "consensus-md.txt", "cached-microdesc-consensus" },
  { "microdescs.txt", "cached-microdescs.new" },
  { "descriptors.txt", "cached-descriptors.new" },
};

static void
make_datadir(void)
{
  strcpy(datadir, "/tmp/dirserve-test-XXXXXX");
  cr_assert_not_null(mkdtemp(datadir));
  for (size_t i = 0; i < 5; i++) {
    size_t len;
    char *s = fixture_load(NAMES[i][0], &len);
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", datadir, NAMES[i][1]);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(s, 1, len, f), len);
    fclose(f);
    free(s);
  }
}

static void
remove_datadir(void)
{
  for (size_t i = 0; i < 5; i++) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", datadir, NAMES[i][1]);
    unlink(path);
  }
  rmdir(datadir);
}

/* ---- the relay: engine + relay_dirserve ---- */

typedef struct fast_t {
  cellswitch_t *sw;
  uint64_t circ;
  uint8_t command;
  uint8_t payload[CELL_PAYLOAD_LEN];
} fast_t;

static void
answer_later(evutil_socket_t fd, short what, void *arg)
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

/* CREATE_FAST through the answer seam (the engine's own synchronous path
 * is the "engine" helper's). */
static int
answer_create(void *arg, cellswitch_t *sw, uint64_t circ, uint8_t command,
              const uint8_t *payload)
{
  (void)arg;
  fast_t *f = al_calloc(1, sizeof(*f));
  f->sw = sw;
  f->circ = circ;
  f->command = command;
  memcpy(f->payload, payload, CELL_PAYLOAD_LEN);
  struct timeval zero = { 0, 0 };
  cr_assert_eq(event_base_once(BASE, -1, EV_TIMEOUT, answer_later, f, &zero),
               0);
  return 0;
}

static int
dir_request(void *arg, cellswitch_t *sw, uint64_t stream, const uint8_t *data,
            size_t len)
{
  return relay_dirserve_request(arg, sw, stream, data, len);
}

/* ---- the client: dir_fetch ---- */

#define N_REQ 4

typedef struct cli_t {
  int done, err, status[N_REQ];
  uint8_t *body[N_REQ];
  size_t len[N_REQ];
} cli_t;

static void
c_result(size_t idx, int status, const uint8_t *body, size_t body_len,
         const char *why, void *arg)
{
  cli_t *c = arg;
  (void)why;
  cr_assert_lt(idx, N_REQ);
  c->status[idx] = status;
  if (body) {
    c->body[idx] = al_malloc(body_len + 1);
    memcpy(c->body[idx], body, body_len);
    c->len[idx] = body_len;
  }
}

static void
c_done(int err, const char *why, void *arg)
{
  cli_t *c = arg;
  (void)why;
  c->done = 1;
  c->err = err;
}

/* The first "m " digest of the microdesc consensus fixture. */
static void
first_md_digest(char *out, size_t outlen)
{
  size_t len;
  char *s = fixture_load("consensus-md.txt", &len);
  char *m = strstr(s, "\nm ");
  cr_assert_not_null(m);
  m += 3;
  size_t n = strcspn(m, "\n");
  cr_assert_lt(n, outlen);
  memcpy(out, m, n);
  out[n] = '\0';
  free(s);
}

Test(relay_dirserve, dir_fetch_gets_the_consensus_from_the_relay)
{
  make_datadir();
  relay_dirserve_t *ds = relay_dirserve_new_at(datadir, t_now());
  remove_datadir();
  srelay_t *r = srelay_new(BASE, NULL);
  cellswitch_hooks_t *h = &srelay_switch(r)->cfg.hooks;
  memset(h, 0, sizeof(*h));
  h->answer_create = answer_create;
  h->dir_request = dir_request;
  h->arg = ds;

  char md[64], mdpath[128];
  first_md_digest(md, sizeof(md));
  snprintf(mdpath, sizeof(mdpath), "/tor/micro/d/%s.z", md);
  const dir_fetch_request_t reqs[N_REQ] = {
    { "/tor/keys/all.z", DIR_DOC_KEY_CERTS },
    { "/tor/status-vote/current/consensus.z", DIR_DOC_CONSENSUS },
    { "/tor/status-vote/current/consensus-microdesc.z", DIR_DOC_CONSENSUS },
    { mdpath, DIR_DOC_MICRODESCS },
  };
  const circ_hop_spec_t *spec = srelay_spec(r);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(spec->addr[0].u.ipv4.port);
  dir_fetch_server_t srv = { (struct sockaddr *)&sin, sizeof(sin), { 0 } };
  memcpy(srv.rsa_id, spec->rsa_id, 20);
  tls_context_t *tls = tls_context_new_client();
  cli_t c = { 0 };
  dir_fetch_callbacks_t cbs = { c_result, c_done, NULL, &c };
  dir_fetch_t *f = dir_fetch_start(BASE, tls, &srv, reqs, N_REQ, 20000,
                                   &cbs);
  cr_assert_not_null(f);
  for (int i = 0; i < 20000 && !c.done; i++)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert(c.done, "fetch did not finish");
  cr_assert_eq(c.err, 0);
  for (int i = 0; i < N_REQ; i++)
    cr_assert_eq(c.status[i], 200, "request %d: status %d", i, c.status[i]);
  /* Both consensuses byte for byte as in the DataDirectory. */
  const char *fx[2] = { "consensus-ns.txt", "consensus-md.txt" };
  for (int i = 0; i < 2; i++) {
    size_t len;
    char *s = fixture_load(fx[i], &len);
    cr_assert_eq(c.len[1 + i], len, "%s: %zu bytes", fx[i], c.len[1 + i]);
    cr_assert_eq(memcmp(c.body[1 + i], s, len), 0);
    free(s);
  }
  cr_assert_not_null(strstr((const char *)c.body[0],
                            "dir-key-certificate-version"));
  cr_assert_gt(c.len[3], 0);
  cellswitch_stats_t st;
  cellswitch_get_stats(srelay_switch(r), &st);
  cr_assert_eq(st.dir_streams, N_REQ);
  cr_assert_eq(st.dir_responses, N_REQ);
  dircache_stats_t d;
  dircache_get_stats(relay_dirserve_dircache(ds), &d);
  cr_assert_eq(d.requests[DIRCACHE_URL_CONSENSUS], 2);
  cr_assert_eq(d.requests[DIRCACHE_URL_MICRODESCS], 1);
  cr_assert_eq(d.requests[DIRCACHE_URL_KEYS_ALL], 1);
  cr_assert_eq(d.status_200, N_REQ);
  cr_assert_eq(st.dir_bytes, d.bytes_out);
  relay_dirserve_log_heartbeat(ds, &st);
  dir_fetch_free(f);
  tls_context_free(tls);
  for (int i = 0; i < N_REQ; i++)
    al_free(c.body[i]);
  srelay_free(r);
  relay_dirserve_free(ds);
}

/* rend-spec-v3 2.2.6: onion-service descriptors are fetched and posted
 * anonymously.  A client's one-hop circuit (its channel did not
 * authenticate as a relay) gets 503 from the HSDir, while a directory
 * document on the same circuit is still served. */
Test(relay_dirserve, hsdir_refuses_one_hop_circuits)
{
  relay_dirserve_t *ds = relay_dirserve_new_at(NULL, t_now());
  srelay_t *r = srelay_new(BASE, NULL);
  cellswitch_hooks_t *h = &srelay_switch(r)->cfg.hooks;
  memset(h, 0, sizeof(*h));
  h->answer_create = answer_create;
  h->dir_request = dir_request;
  h->arg = ds;
  const dir_fetch_request_t reqs[2] = {
    { "/tor/hs/3/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
      DIR_DOC_MICRODESCS },
    { "/tor/keys/all", DIR_DOC_KEY_CERTS },
  };
  const circ_hop_spec_t *spec = srelay_spec(r);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(spec->addr[0].u.ipv4.port);
  dir_fetch_server_t srv = { (struct sockaddr *)&sin, sizeof(sin), { 0 } };
  memcpy(srv.rsa_id, spec->rsa_id, 20);
  tls_context_t *tls = tls_context_new_client();
  cli_t c = { 0 };
  dir_fetch_callbacks_t cbs = { c_result, c_done, NULL, &c };
  dir_fetch_t *f = dir_fetch_start(BASE, tls, &srv, reqs, 2, 20000, &cbs);
  cr_assert_not_null(f);
  for (int i = 0; i < 20000 && !c.done; i++)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert(c.done, "fetch did not finish");
  cr_assert_eq(c.status[0], 503, "hs fetch: status %d", c.status[0]);
  cr_assert_eq(c.status[1], 404, "keys: status %d", c.status[1]);
  dircache_stats_t d;
  dircache_get_stats(relay_dirserve_dircache(ds), &d);
  cr_assert_eq(d.hs_not_anonymous, 1);
  cr_assert_eq(d.requests[DIRCACHE_URL_HS_DESC], 1);
  dir_fetch_free(f);
  tls_context_free(tls);
  for (int i = 0; i < 2; i++)
    al_free(c.body[i]);
  srelay_free(r);
  relay_dirserve_free(ds);
}

/* A request the cache cannot parse gets its 400 answer, not a hang. */
Test(relay_dirserve, bad_request_is_answered_400)
{
  relay_dirserve_t *ds = relay_dirserve_new_at(NULL, t_now());
  srelay_t *r = srelay_new(BASE, NULL);
  const char *req = "GARBAGE / HTTP/1.0\r\n\r\n";
  /* Straight through the hook's work, no stream: the engine refuses the
   * response (unknown stream) and the hook says so. */
  cr_assert_eq(relay_dirserve_request(ds, srelay_switch(r), 12345,
                                      (const uint8_t *)req, strlen(req)), -1);
  cr_assert_eq(relay_dirserve_request(ds, srelay_switch(r), 12345,
                                      (const uint8_t *)"GET /to", 7),
               CELLSWITCH_DIR_NEED_MORE);
  dircache_stats_t d;
  dircache_get_stats(relay_dirserve_dircache(ds), &d);
  cr_assert_eq(d.status_400, 1);
  srelay_free(r);
  relay_dirserve_free(ds);
}

/* The cache files changing on disk reach the cache. */
Test(relay_dirserve, reload_from_changed_files)
{
  strcpy(datadir, "/tmp/dirserve-test-XXXXXX");
  cr_assert_not_null(mkdtemp(datadir));
  relay_dirserve_t *ds = relay_dirserve_new_at(datadir, t_now());
  dircache_contents_t ct;
  dircache_get_contents(relay_dirserve_dircache(ds), &ct);
  cr_assert(!ct.have_consensus[1]);
  for (size_t i = 0; i < 5; i++) {
    size_t len;
    char *s = fixture_load(NAMES[i][0], &len);
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", datadir, NAMES[i][1]);
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(s, 1, len, fp), len);
    fclose(fp);
    free(s);
  }
  relay_dirserve_check_files(ds, t_now());
  dircache_get_contents(relay_dirserve_dircache(ds), &ct);
  cr_assert(ct.have_consensus[0]);
  cr_assert(ct.have_consensus[1]);
  cr_assert_gt(ct.n_microdescs, 0);
  cr_assert_gt(ct.n_certs, 0);
  remove_datadir();
  relay_dirserve_free(ds);
}

/* ---- the whole relay runtime with DirCache on ---- */

static relay_keys_t *KEYS;
static char RUNDIR[64];

static void
setup_run(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(evloop_init(), 0);
  snprintf(RUNDIR, sizeof(RUNDIR), "/tmp/allium-dirserve.XXXXXX");
  cr_assert_not_null(mkdtemp(RUNDIR));
  cr_assert_eq(relay_keys_load_or_create(RUNDIR, 1, &KEYS), 0);
}

static void
teardown_run(void)
{
  char cmd[128];
  relay_keys_free(KEYS);
  evloop_shutdown();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", RUNDIR);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(relay_dirserve_run, .init = setup_run, .fini = teardown_run,
          .timeout = 60);

typedef struct rcli_t {
  int built, closed, ended, connected;
  uint8_t end_reason;
  char rx[65536];
  size_t rx_len;
} rcli_t;

static void
r_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm; (void)circ;
  ((rcli_t *)arg)->built++;
}

static void
r_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
         void *arg)
{
  (void)cm; (void)circ; (void)info;
  ((rcli_t *)arg)->closed++;
}

static void
r_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
         void *arg)
{
  rcli_t *c = arg;
  (void)cm; (void)circ;
  if (ev->type == RELAY_STREAM_EV_CONNECTED) {
    c->connected++;
  } else if (ev->type == RELAY_STREAM_EV_DATA) {
    size_t n = ev->len;
    if (c->rx_len + n >= sizeof(c->rx))
      n = sizeof(c->rx) - 1 - c->rx_len;
    memcpy(c->rx + c->rx_len, ev->data, n);
    c->rx_len += n;
    c->rx[c->rx_len] = '\0';
  } else if (ev->type == RELAY_STREAM_EV_END) {
    c->end_reason = ev->reason;
    c->ended++;
  }
}

/* relay_run_new() with DirCache builds the server from the DataDirectory;
 * a client's BEGIN_DIR on a one-hop circuit gets the key certificates. */
Test(relay_dirserve_run, runtime_serves_begin_dir)
{
  size_t len;
  char *certs = fixture_load("certs.txt", &len);
  char path[128];
  snprintf(path, sizeof(path), "%s/cached-certs", RUNDIR);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(certs, 1, len, f), len);
  fclose(f);
  free(certs);
  config_line_t orport = { .key = (char *)"ORPort",
                           .value = (char *)"127.0.0.1:auto" };
  relay_run_config_t cfg = { .orport = &orport, .nickname = "dirtest",
                             .assume_reachable = true, .keys = KEYS,
                             .dircache = true, .datadir = RUNDIR, .cachedir = RUNDIR };
  char *err = NULL;
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, &err);
  cr_assert_not_null(rr, "relay_run_new: %s", err ? err : "");
  cr_assert_not_null(relay_dirserve_cache(rr));
  cr_assert_eq(relay_run_start(rr), 0);

  circ_hop_spec_t spec;
  memset(&spec, 0, sizeof(spec));
  memcpy(spec.rsa_id, relay_keys_identity_digest(KEYS), 20);
  memcpy(spec.ed_id, relay_keys_master_public(KEYS)->pubkey, 32);
  spec.has_ed_id = true;
  memcpy(spec.ntor_key, relay_keys_onion_ntor(KEYS)->pub, 32);
  spec.n_addr = 1;
  spec.addr[0].type = RELAY_LSPEC_IPV4;
  spec.addr[0].len = 6;
  memcpy(spec.addr[0].u.ipv4.addr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
  spec.addr[0].u.ipv4.port = relay_run_ports(rr)->v[0].port;
  tls_context_t *tls = tls_context_new_client();
  chanmgr_t *cm = chanmgr_new(evloop_base(), tls);
  rcli_t c;
  memset(&c, 0, sizeof(c));
  chanmgr_circ_cbs_t cbs = { .on_built = r_built, .on_closed = r_closed,
                             .on_stream = r_stream, .arg = &c };
  chanmgr_launch_t l = { &spec, 1, false, 10000 };
  uint64_t circ;
  cr_assert_eq(chanmgr_launch(cm, &l, &cbs, &circ), 0);
  uint64_t end = evloop_monotonic_msec() + 10000;
  while (!c.built && !c.closed && evloop_monotonic_msec() < end)
    event_base_loop(evloop_base(), EVLOOP_ONCE);
  cr_assert_eq(c.built, 1);
  relay_streams_t *t = chanmgr_streams(cm, circ);
  uint16_t sid;
  const char *req = "GET /tor/keys/all HTTP/1.0\r\n\r\n";
  cr_assert_eq(relay_stream_begin_dir(t, &sid), 0);
  cr_assert_eq(relay_stream_write(t, sid, (const uint8_t *)req, strlen(req)),
               0);
  chanmgr_flush(cm, circ);
  end = evloop_monotonic_msec() + 10000;
  while (!c.ended && !c.closed && evloop_monotonic_msec() < end)
    event_base_loop(evloop_base(), EVLOOP_ONCE);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.ended, 1);
  cr_assert_eq(c.end_reason, RELAY_END_DONE);
  cr_assert_eq(strncmp(c.rx, "HTTP/1.0 200", 12), 0, "got: %.40s", c.rx);
  cr_assert_not_null(strstr(c.rx, "dir-key-certificate-version"));
  cellswitch_stats_t s;
  cellswitch_get_stats(relay_run_switch(rr), &s);
  cr_assert_eq(s.dir_streams, 1);
  cr_assert_eq(s.dir_responses, 1);
  relay_run_log_heartbeat(rr);
  chanmgr_free(cm);
  tls_context_free(tls);
  relay_run_free(rr);
}
