/* hs_rend_client.c -- test driver (not a production tool): runs allium's
 * onion-service client rendezvous (hs_client_rend, rend-spec-v3 3.2-4.2.1)
 * and one stream over the joined circuit against a live service on a
 * private loopback network, before the SOCKS path is wired to it.
 *
 *   hs-rend-client --datadir DIR --desc FILE --onion ADDR --get PATH
 *                  --out FILE [--timeout SEC]
 *
 * DIR is a tor or allium client DataDirectory (cached-microdesc-consensus
 * and cached-microdescs[.new], or cached-consensus and
 * cached-descriptors[.new]: the relays to build circuits through); FILE the
 * service's descriptor (e.g. from its control port: GETINFO
 * hs/service/desc/id/ADDR).  The outer layer is verified (the blinded key
 * from its certificate), the subcredential derived from ADDR, the inner
 * layers decrypted; then hs_client_rend_start() with a circuit layer made
 * of chanmgr and 3-hop paths (two random middles, no guards: a test tool)
 * and, once joined, "GET PATH HTTP/1.0" to virtual port 80.  The raw
 * response goes to --out.  Prints "hs-rend-client: joined in N ms" and
 * "hs-rend-client: first byte after N ms" and exits 0 when the stream
 * ended normally, 1 otherwise.  Loopback networks only: every relay used
 * must have a 127.0.0.0/8 address. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
/* hs_desc_outer.h and hs_desc_crypt.h both define HS_DESC_ERR_CERT (with
 * different values); this file uses neither. */
#undef HS_DESC_ERR_CERT
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_CIRCS 64

typedef struct drv_circ_t {
  struct drv_t *d;
  uint64_t h;
  hs_client_rend_circ_ev_t ev;
  void *arg;
  bool ours;            /* the joined circuit: the driver's streams */
} drv_circ_t;

typedef struct drv_t {
  struct event_base *base;
  chanmgr_t *cm;
  nodelist_t *nl;
  hs_client_rend_t *r;
  drv_circ_t circs[MAX_CIRCS];
  size_t n_circs;
  const char *get;
  FILE *out;
  uint64_t t0, t_join, t_first;
  uint64_t joined;
  uint16_t sid;
  size_t bytes;
  int result;           /* -1 running, 0 ok, 1 failed */
} drv_t;

static uint64_t
mono_msec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
drv_stop(drv_t *d, int result, const char *why)
{
  if (d->result >= 0)
    return;
  d->result = result;
  fprintf(stderr, "hs-rend-client: %s\n", why);
  event_base_loopexit(d->base, NULL);
}

static char *
slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = al_malloc(cap + 1);
  size_t k;
  while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      cap *= 2;
      buf = al_realloc(buf, cap + 1);
    }
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* ---- network view ---- */

static nodelist_t *
load_nodelist(const char *dir)
{
  char path[4096];
  size_t len = 0;
  bool md = true;
  snprintf(path, sizeof(path), "%s/cached-microdesc-consensus", dir);
  char *s = slurp(path, &len);
  if (!s) {   /* a tor client with UseMicrodescriptors 0 */
    md = false;
    snprintf(path, sizeof(path), "%s/cached-consensus", dir);
    s = slurp(path, &len);
  }
  consensus_t *c = NULL;
  if (!s || consensus_parse(s, len, &c, NULL) < 0) {
    al_free(s);
    return NULL;
  }
  al_free(s);
  nodelist_t *nl = nodelist_new();
  nodelist_set_consensus(nl, c);
  const char *mdf[] = { "cached-microdescs", "cached-microdescs.new" };
  const char *rdf[] = { "cached-descriptors", "cached-descriptors.new" };
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, md ? mdf[i] : rdf[i]);
    s = slurp(path, &len);
    size_t n = 0, bad = 0;
    if (s && md) {
      microdesc_t **mds = NULL;
      if (microdesc_parse_each(s, len, &mds, &n, &bad) == 0)
        nodelist_add_microdescs(nl, mds, n);
    } else if (s) {
      routerdesc_t **rds = NULL;
      if (routerdesc_parse_batch(s, len, &rds, &n, NULL) == 0)
        nodelist_add_routerdescs(nl, rds, n);
    }
    al_free(s);
  }
  return nl;
}

/* ---- the circuit layer for hs_client_rend ---- */

static drv_circ_t *
find_circ(drv_t *d, uint64_t h)
{
  for (size_t i = 0; i < d->n_circs; i++)
    if (d->circs[i].h == h)
      return &d->circs[i];
  return NULL;
}

static void
cb_built(chanmgr_t *cm, uint64_t h, void *arg)
{
  (void)cm;
  drv_circ_t *c = arg;
  if (!c->ours)
    c->ev.built(c->arg, h);
}

static void
cb_closed(chanmgr_t *cm, uint64_t h, const chanmgr_close_info_t *info,
          void *arg)
{
  (void)cm;
  drv_circ_t *c = arg;
  if (c->ours) {
    char msg[160];
    snprintf(msg, sizeof(msg), "rendezvous circuit closed: %s",
             info && info->what ? info->what : "?");
    drv_stop(c->d, 1, msg);   /* no-op once the stream ended */
    return;
  }
  c->ev.closed(c->arg, h);
}

static void
cb_relay_msg(chanmgr_t *cm, uint64_t h, const circ_event_t *ev, void *arg)
{
  (void)cm;
  drv_circ_t *c = arg;
  if (!c->ours)
    c->ev.relay_msg(c->arg, h, ev->hop == 2, ev->command, ev->body, ev->len);
}

static void
cb_stream(chanmgr_t *cm, uint64_t h, const relay_stream_event_t *ev,
          void *arg)
{
  drv_circ_t *c = arg;
  drv_t *d = c->d;
  if (!c->ours || ev->stream_id != d->sid)
    return;
  if (ev->type == RELAY_STREAM_EV_CONNECTED) {
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n",
                     d->get);
    relay_stream_write(chanmgr_streams(cm, h), d->sid, (const uint8_t *)req,
                       (size_t)n);
    chanmgr_flush(cm, h);
  } else if (ev->type == RELAY_STREAM_EV_END) {
    char msg[128];
    snprintf(msg, sizeof(msg), "stream ended (reason %u), %zu bytes",
             ev->reason, d->bytes);
    drv_stop(d, ev->reason == RELAY_END_DONE && d->bytes ? 0 : 1, msg);
  } else if (ev->type == RELAY_STREAM_EV_ERROR) {
    drv_stop(d, 1, "stream error");
  }
}

static void
cb_data(chanmgr_t *cm, uint64_t h, uint16_t sid, const uint8_t *data,
        size_t len, void *arg)
{
  (void)cm;
  (void)h;
  drv_circ_t *c = arg;
  drv_t *d = c->d;
  if (!c->ours || sid != d->sid)
    return;
  if (!d->t_first) {
    d->t_first = mono_msec();
    printf("hs-rend-client: first byte after %llu ms\n",
           (unsigned long long)(d->t_first - d->t0));
  }
  fwrite(data, 1, len, d->out);
  d->bytes += len;
}

/* A node of the consensus to pass through, not related to av's. */
static int
pick_hops(drv_t *d, const circ_hop_spec_t *last, circ_hop_spec_t hops[3])
{
  pathsel_options_t o;
  pathsel_options_init(&o);
  o.enforce_distinct_subnets = false;
  o.need_fast = false;
  pathsel_avoid_t av = { { NULL }, 0 };
  const node_t *ln = nodelist_find_by_rsa_id(d->nl, last->rsa_id);
  if (ln)
    av.nodes[av.n++] = ln;
  const node_t *a = pathsel_choose_middle(d->nl, &o, &av, NULL);
  if (!a)
    return -1;
  av.nodes[av.n++] = a;
  const node_t *b = pathsel_choose_middle(d->nl, &o, &av, NULL);
  if (!b || hs_client_rend_spec_from_node(a, &hops[0]) < 0 ||
      hs_client_rend_spec_from_node(b, &hops[1]) < 0)
    return -1;
  hops[2] = *last;
  for (int i = 0; i < 3; i++)
    if (hops[i].addr[0].u.ipv4.addr[0] != 127)
      return -1;   /* loopback networks only */
  return 0;
}

static int
net_launch(void *ctx, const circ_hop_spec_t *last,
           const hs_client_rend_circ_ev_t *ev, void *arg, uint64_t *out)
{
  drv_t *d = ctx;
  circ_hop_spec_t hops[3];
  if (d->n_circs >= MAX_CIRCS || pick_hops(d, last, hops) < 0)
    return -1;
  drv_circ_t *c = &d->circs[d->n_circs];
  memset(c, 0, sizeof(*c));
  c->d = d;
  c->ev = *ev;
  c->arg = arg;
  chanmgr_launch_t l = { hops, 3, false, 60000 };
  chanmgr_circ_cbs_t cbs = { NULL, cb_built, cb_closed, cb_stream,
                             cb_relay_msg, c, cb_data };
  if (chanmgr_launch(d->cm, &l, &cbs, &c->h) < 0)
    return -1;
  d->n_circs++;
  *out = c->h;
  return 0;
}

static int
net_send(void *ctx, uint64_t h, uint8_t command, const uint8_t *body,
         size_t len)
{
  drv_t *d = ctx;
  return chanmgr_send(d->cm, h, 2, command, 0, body, len);
}

static int
net_join(void *ctx, uint64_t h, const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
         const cc_params_t *cc, uint8_t sendme_inc)
{
  drv_t *d = ctx;
  int r = chanmgr_add_virtual_hop(d->cm, h, keys, false, cc, sendme_inc);
  drv_circ_t *c = find_circ(d, h);
  if (r == 0 && c)
    c->ours = true;
  return r;
}

static void
net_close(void *ctx, uint64_t h)
{
  drv_t *d = ctx;
  chanmgr_close_circ(d->cm, h, 0);
}

static uint64_t
net_now(void *ctx)
{
  (void)ctx;
  return mono_msec();
}

/* ---- driver ---- */

static void
on_done(void *arg, int status, uint64_t circ)
{
  drv_t *d = arg;
  if (status != HS_CLIENT_REND_OK) {
    char msg[128];
    snprintf(msg, sizeof(msg), "rendezvous failed: %s",
             hs_client_rend_status_name(status));
    drv_stop(d, 1, msg);
    return;
  }
  d->t_join = mono_msec();
  d->joined = circ;
  printf("hs-rend-client: joined in %llu ms\n",
         (unsigned long long)(d->t_join - d->t0));
  relay_streams_t *t = chanmgr_streams(d->cm, circ);
  if (!t || relay_stream_begin(t, "hs", 80, 0, &d->sid) < 0) {
    drv_stop(d, 1, "cannot begin a stream");
    return;
  }
  chanmgr_flush(d->cm, circ);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  drv_t *d = arg;
  if (!d->joined)
    hs_client_rend_tick(d->r);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  drv_stop(arg, 1, "timed out");
}

/* Descriptor -> second layer and subcredential. */
static hs_desc_layer2_t *
open_descriptor(const char *file, const char *onion, ed25519_public_key_t *id,
                uint8_t subcred[32])
{
  size_t len = 0;
  char *s = slurp(file, &len);
  hs_desc_outer_t *o = NULL;
  hs_desc_layer2_t *l2 = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  time_t now = time(NULL);
  if (s && hs_onion_address_parse(onion, id) == 0 &&
      hs_desc_outer_parse(s, len, 0, NULL, now, &o, &err) == 0 &&
      hs_subcredential_from_identity(subcred, id, &o->blinded_key) == 0 &&
      hs_desc_decrypt_inner(o->superencrypted, o->superencrypted_len,
                            o->revision_counter, &o->blinded_key, subcred,
                            NULL, &o->signing_key, now, &l2, &err) == 0) {
    printf("hs-rend-client: descriptor opened, %zu introduction points\n",
           l2->n_intro);
  } else {
    fprintf(stderr, "hs-rend-client: cannot open the descriptor: %s\n",
            err.msg[0] ? err.msg : "?");
  }
  hs_desc_outer_free(o);
  al_free(s);
  return l2;
}

int
main(int argc, char **argv)
{
  const char *datadir = NULL, *desc = NULL, *onion = NULL, *get = NULL;
  const char *outp = NULL;
  int timeout = 120;
  static const struct option opts[] = {
    { "datadir", 1, NULL, 'd' }, { "desc", 1, NULL, 'f' },
    { "onion", 1, NULL, 'o' }, { "get", 1, NULL, 'g' },
    { "out", 1, NULL, 'w' }, { "timeout", 1, NULL, 't' }, { 0, 0, 0, 0 } };
  int ch;
  while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (ch) {
    case 'd': datadir = optarg; break;
    case 'f': desc = optarg; break;
    case 'o': onion = optarg; break;
    case 'g': get = optarg; break;
    case 'w': outp = optarg; break;
    case 't': timeout = atoi(optarg); break;
    default: return 2;
    }
  }
  if (!datadir || !desc || !onion || !get || !outp || timeout <= 0) {
    fprintf(stderr, "usage: hs-rend-client --datadir DIR --desc FILE "
            "--onion ADDR --get PATH --out FILE [--timeout SEC]\n");
    return 2;
  }
  if (getenv("HS_REND_CLIENT_DEBUG"))
    log_sink_add(LOG_SINK_STDERR, SEV_INFO, SEV_ERR, NULL, NULL, NULL);
  if (crypto_global_init() < 0)
    return 1;
  drv_t d;
  memset(&d, 0, sizeof(d));
  d.result = -1;
  d.get = get;
  ed25519_public_key_t id;
  uint8_t subcred[32];
  hs_desc_layer2_t *l2 = open_descriptor(desc, onion, &id, subcred);
  d.nl = load_nodelist(datadir);
  d.out = fopen(outp, "wb");
  if (!l2 || !d.nl || !d.out) {
    fprintf(stderr, "hs-rend-client: setup failed\n");
    return 1;
  }
  printf("hs-rend-client: %zu relays known\n", nodelist_n_nodes(d.nl));
  d.base = event_base_new();
  tls_context_t *tls = tls_context_new_client();
  d.cm = chanmgr_new(d.base, tls);
  hs_client_rend_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.net = (hs_client_rend_net_t){ net_launch, net_send, net_join,
                                    net_close, net_now, &d };
  cfg.nl = d.nl;
  d.t0 = mono_msec();
  d.r = hs_client_rend_start(&cfg, &id, subcred, l2, on_done, &d);
  hs_desc_layer2_free(l2);
  struct event *tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
  struct event *to = evtimer_new(d.base, on_timeout, &d);
  struct timeval one = { 1, 0 }, tv = { timeout, 0 };
  event_add(tick, &one);
  event_add(to, &tv);
  if (d.r)
    event_base_dispatch(d.base);
  else
    d.result = 1;
  event_free(tick);
  event_free(to);
  hs_client_rend_free(d.r);
  chanmgr_free(d.cm);
  tls_context_free(tls);
  nodelist_free(d.nl);
  event_base_free(d.base);
  fclose(d.out);
  uint64_t ms = d.t_first ? mono_msec() - d.t_first : 0;
  printf("hs-rend-client: %s, %zu bytes", d.result == 0 ? "ok" : "FAILED",
         d.bytes);
  if (ms)
    printf(" in %llu ms (%.1f MiB/s)", (unsigned long long)ms,
           (double)d.bytes / 1048576.0 / ((double)ms / 1000.0));
  printf("\n");
  return d.result == 0 ? 0 : 1;
}
