/* dirserve_check.c -- directory requests on BEGIN_DIR streams (tor-spec
 * 6.2; dir-spec 6) at an allium relay started as the daemon, directly and
 * through a real tor relay (tor relaying the cells and the SENDMEs), built
 * by allium's client (chanmgr); and a BEGIN, refused with END EXITPOLICY
 * (6.3: allium is not an exit).
 *
 *   dirserve-check ALLIUM_DATADIR ALLIUM_PORT TOR_DATADIR TOR_PORT PATH
 *
 * Both relays' keys are read (never written) from their DataDirectory.
 * For each path (allium; tor -> allium) GETs PATH over BEGIN_DIR, expects
 * "HTTP/1.0 200" and END DONE, prints the body's size and SHA-256 (both
 * must match), then opens a BEGIN to allium.  Then the same through tor to
 * an in-process allium relay (relay_run + the engine) whose dir_request
 * hook serves a random 3 MiB body: tor relays the stream and circuit
 * SENDMEs of a multi-megabyte response, which must arrive intact.  Every
 * wait is bounded.  Exit 0 when all of it held.  Test-only code; loopback
 * only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"
#include "core/mainloop/cellswitch_st.h"

typedef struct run_t {
  int built, closed, connected, ended;
  uint8_t end_reason;
  chanmgr_close_info_t info;
  uint8_t *rx;
  size_t rx_len, rx_cap;
} run_t;

static void
on_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm; (void)circ;
  ((run_t *)arg)->built = 1;
}

static void
on_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
          void *arg)
{
  run_t *p = arg;
  (void)cm; (void)circ;
  p->closed = 1;
  p->info = *info;
}

static void
on_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
          void *arg)
{
  run_t *p = arg;
  (void)cm; (void)circ;
  if (ev->type == RELAY_STREAM_EV_CONNECTED) {
    p->connected = 1;
  } else if (ev->type == RELAY_STREAM_EV_DATA) {
    if (p->rx_len + ev->len > p->rx_cap) {
      p->rx_cap = (p->rx_len + ev->len) * 2;
      p->rx = al_realloc(p->rx, p->rx_cap);
    }
    memcpy(p->rx + p->rx_len, ev->data, ev->len);
    p->rx_len += ev->len;
  } else if (ev->type == RELAY_STREAM_EV_END) {
    p->ended = 1;
    p->end_reason = ev->reason;
  }
}

static int
load_spec(circ_hop_spec_t *s, const char *datadir, const char *port)
{
  relay_keys_t *k = NULL;
  int r = relay_keys_load_or_create(datadir, 0, &k);
  if (r < 0) {
    fprintf(stderr, "cannot read the keys in %s: %s\n", datadir,
            relay_keys_strerror(r));
    return -1;
  }
  memset(s, 0, sizeof(*s));
  memcpy(s->rsa_id, relay_keys_identity_digest(k), 20);
  memcpy(s->ed_id, relay_keys_master_public(k)->pubkey, 32);
  s->has_ed_id = true;
  memcpy(s->ntor_key, relay_keys_onion_ntor(k)->pub, 32);
  s->n_addr = 1;
  s->addr[0].type = RELAY_LSPEC_IPV4;
  s->addr[0].len = 6;
  s->addr[0].u.ipv4.addr[0] = 127;
  s->addr[0].u.ipv4.addr[3] = 1;
  s->addr[0].u.ipv4.port = (uint16_t)atoi(port);
  relay_keys_free(k);
  return 0;
}

static void
run_loop(struct event_base *base, const int *flag, const int *closed,
         uint32_t msec)
{
  uint64_t t0 = evloop_monotonic_msec();
  while (!*flag && !*closed && evloop_monotonic_msec() - t0 < msec)
    event_base_loop(base, EVLOOP_ONCE);
}

/* Build hops, GET path over BEGIN_DIR, then BEGIN.  0 if all held; the
 * body's digest into digest. */
static int
one_path(struct event_base *base, chanmgr_t *cm, const char *name,
         const circ_hop_spec_t *hops, size_t n, const char *path,
         uint8_t digest[DIGEST_SHA256_LEN])
{
  run_t p;
  memset(&p, 0, sizeof(p));
  chanmgr_circ_cbs_t cbs = { .on_built = on_built, .on_closed = on_closed,
                             .on_stream = on_stream, .arg = &p };
  chanmgr_launch_t l = { hops, n, false, 20000 };
  uint64_t circ = 0, t0 = evloop_monotonic_msec();
  if (chanmgr_launch(cm, &l, &cbs, &circ) < 0)
    return printf("FAIL %s: cannot launch\n", name), -1;
  run_loop(base, &p.built, &p.closed, 22000);
  if (!p.built)
    return printf("FAIL %s: not built: %s\n", name,
                  p.closed ? p.info.what : "timed out"), -1;
  relay_streams_t *t = chanmgr_streams(cm, circ);
  char req[512];
  uint16_t sid;
  snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
  if (relay_stream_begin_dir(t, &sid) < 0 ||
      relay_stream_write(t, sid, (const uint8_t *)req, strlen(req)) < 0)
    return printf("FAIL %s: cannot open a stream\n", name), -1;
  chanmgr_flush(cm, circ);
  run_loop(base, &p.ended, &p.closed, 30000);
  int rc = 0;
  const char *hdr_end = NULL;
  if (p.rx_len > 4)
    hdr_end = memmem(p.rx, p.rx_len, "\r\n\r\n", 4);
  if (!p.connected || !p.ended || p.end_reason != RELAY_END_DONE ||
      p.rx_len < 12 || memcmp(p.rx, "HTTP/1.0 200", 12) != 0 || !hdr_end) {
    printf("FAIL %s: BEGIN_DIR: connected %d, ended %d (reason %u), %zu "
           "bytes: %.40s\n", name, p.connected, p.ended, p.end_reason,
           p.rx_len, p.rx ? (const char *)p.rx : "");
    rc = -1;
  } else {
    size_t off = (size_t)(hdr_end + 4 - (const char *)p.rx);
    char hex[2 * DIGEST_SHA256_LEN + 1];
    (void)digest_sha256(digest, p.rx + off, p.rx_len - off);
    for (size_t i = 0; i < DIGEST_SHA256_LEN; i++)
      snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    printf("ok   %s: BEGIN_DIR %s: 200, %zu body bytes, sha256 %s, %llu ms\n",
           name, path, p.rx_len - off, hex,
           (unsigned long long)(evloop_monotonic_msec() - t0));
  }
  /* BEGIN at allium (the last hop): END EXITPOLICY. */
  p.ended = 0;
  p.connected = 0;
  if (relay_stream_begin(t, "example.com", 80, 0, &sid) < 0)
    return printf("FAIL %s: cannot open a BEGIN stream\n", name), -1;
  chanmgr_flush(cm, circ);
  run_loop(base, &p.ended, &p.closed, 10000);
  if (!p.ended || p.connected || p.end_reason != RELAY_END_EXITPOLICY) {
    printf("FAIL %s: BEGIN: ended %d (reason %u), connected %d\n", name,
           p.ended, p.end_reason, p.connected);
    rc = -1;
  } else {
    printf("ok   %s: BEGIN refused with END EXITPOLICY\n", name);
  }
  chanmgr_close_circ(cm, circ, CELL_DESTROY_FINISHED);
  al_free(p.rx);
  return rc;
}

/* ---- the in-process relay serving a big body ---- */

#define BIG_LEN (3 * 1024 * 1024 + 12345)
#define BIG_HDR "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"
static uint8_t *BIG;

static int
big_hook(void *arg, cellswitch_t *sw, uint64_t stream, const uint8_t *data,
         size_t len)
{
  (void)arg;
  if (len < 4 || memcmp(data + len - 4, "\r\n\r\n", 4) != 0)
    return CELLSWITCH_DIR_NEED_MORE;
  size_t hl = strlen(BIG_HDR);
  uint8_t *resp = al_malloc(hl + BIG_LEN);
  memcpy(resp, BIG_HDR, hl);
  memcpy(resp + hl, BIG, BIG_LEN);
  return cellswitch_dir_respond(sw, stream, resp, hl + BIG_LEN) < 0 ? -1 : 0;
}

/* tor -> an in-process relay serving BIG: 0 if it arrived intact. */
static int
big_through_tor(chanmgr_t *cm, const circ_hop_spec_t *t)
{
  char dir[] = "/tmp/dirserve-check-XXXXXX", cmd[128];
  relay_keys_t *k = NULL;
  int rc = -1;
  if (!mkdtemp(dir))
    return -1;
  if (relay_keys_load_or_create(dir, 1, &k) < 0)
    goto out;
  config_line_t orport = { .key = (char *)"ORPort",
                           .value = (char *)"127.0.0.1:auto" };
  relay_run_config_t cfg = { .orport = &orport, .nickname = "dirservebig",
                             .assume_reachable = true, .keys = k,
                             .extend_allow_private = true };
  char *err = NULL;
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, &err);
  if (!rr || relay_run_start(rr) < 0) {
    printf("FAIL in-process relay: %s\n", err ? err : "cannot start");
    al_free(err);
    relay_run_free(rr);
    goto out;
  }
  relay_run_switch(rr)->cfg.hooks.dir_request = big_hook;
  BIG = al_malloc(BIG_LEN);
  crypto_rand(BIG, BIG_LEN);
  circ_hop_spec_t hops[2];
  hops[0] = *t;
  circ_hop_spec_t *r = &hops[1];
  memset(r, 0, sizeof(*r));
  memcpy(r->rsa_id, relay_keys_identity_digest(k), 20);
  memcpy(r->ed_id, relay_keys_master_public(k)->pubkey, 32);
  r->has_ed_id = true;
  memcpy(r->ntor_key, relay_keys_onion_ntor(k)->pub, 32);
  r->n_addr = 1;
  r->addr[0].type = RELAY_LSPEC_IPV4;
  r->addr[0].len = 6;
  r->addr[0].u.ipv4.addr[0] = 127;
  r->addr[0].u.ipv4.addr[3] = 1;
  r->addr[0].u.ipv4.port = relay_run_ports(rr)->v[0].port;
  uint8_t want[DIGEST_SHA256_LEN], got[DIGEST_SHA256_LEN];
  (void)digest_sha256(want, BIG, BIG_LEN);
  if (one_path(evloop_base(), cm, "tor -> in-process relay (3 MiB)", hops, 2,
               "/big", got) == 0) {
    if (memcmp(want, got, sizeof(want)) != 0)
      printf("FAIL tor -> in-process relay: the 3 MiB body differs\n");
    else
      rc = 0;
  }
  cellswitch_stats_t st;
  cellswitch_get_stats(relay_run_switch(rr), &st);
  printf("%s  in-process relay: %llu BEGIN_DIR, %llu responses, %llu "
         "bytes\n", rc ? "FAIL" : "ok ", (unsigned long long)st.dir_streams,
         (unsigned long long)st.dir_responses,
         (unsigned long long)st.dir_bytes);
  relay_run_free(rr);
  al_free(BIG);
out:
  relay_keys_free(k);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    rc = -1;
  return rc;
}

int
main(int argc, char **argv)
{
  if (argc != 6) {
    fprintf(stderr, "usage: %s ALLIUM_DATADIR ALLIUM_PORT TOR_DATADIR "
            "TOR_PORT PATH\n", argv[0]);
    return 2;
  }
  if (crypto_global_init() < 0)
    return 1;
  circ_hop_spec_t a, t;
  if (load_spec(&a, argv[1], argv[2]) < 0 ||
      load_spec(&t, argv[3], argv[4]) < 0)
    return 1;
  if (evloop_init() < 0)
    return 1;
  struct event_base *base = evloop_base();
  tls_context_t *tls = tls_context_new_client();
  chanmgr_t *cm = chanmgr_new(base, tls);
  circ_hop_spec_t direct[1] = { a }, via[2] = { t, a };
  uint8_t d1[DIGEST_SHA256_LEN], d2[DIGEST_SHA256_LEN];
  int failures = 0;
  failures += one_path(base, cm, "allium", direct, 1, argv[5], d1) < 0;
  failures += one_path(base, cm, "tor -> allium", via, 2, argv[5], d2) < 0;
  if (!failures && memcmp(d1, d2, sizeof(d1)) != 0) {
    printf("FAIL the two bodies differ\n");
    failures++;
  }
  failures += big_through_tor(cm, &t) < 0;
  chanmgr_free(cm);
  tls_context_free(tls);
  evloop_shutdown();
  return failures ? 1 : 0;
}
