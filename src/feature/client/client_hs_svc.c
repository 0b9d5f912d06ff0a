/* client_hs_svc.c -- onion services hosted by this process (rend-spec-v3
 * 3.1 introduction points, 2.2.1-2.2.6 descriptors and their upload, 3.3
 * INTRODUCE2, 4.2 rendezvous): one host per HiddenServiceDir.  The host
 * loads (or creates) the service's keys in tor's layout, runs
 * hs_service_run (feature/hs_service) over the client role's circuits
 * (guard, middle, then the introduction or rendezvous point:
 * client_circ_launch_hs_spec()), and keeps two descriptors (2.2.4.2: the
 * first and the second, for the time periods hs_ring_store_tp_srv() names)
 * uploaded to their responsible HSDirs (hs_service_upload): when the set of
 * ready introduction points changes, when a descriptor's period changes,
 * when the responsible HSDirs change with a new consensus, every 60-120
 * minutes, and again 30 s after a round in which no HSDir stored it.  Each
 * rendezvous circuit it joins carries the client's streams
 * (client_hs_svc_stream.c).  With HiddenServiceSingleHopMode (a single
 * onion service, not anonymous) the introduction and rendezvous circuits
 * are one hop, straight to the point, and the descriptors say
 * "single-onion-service" (rend-spec-v3 3, 2.5.2.2).  No key, cookie or
 * onion address is logged.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "hs_service"
#include "allium/core/circuit/congestion_codec.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/hs_common/hs_auth_files.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/hs_common/hs_ring.h"
#include "allium/feature/hs_service/hs_service_desc.h"
#include "allium/feature/hs_service/hs_service_publish.h"
#include "allium/feature/hs_service/hs_service_run.h"
#include "allium/feature/hs_service/hs_service_upload.h"
#include "allium/feature/keys/hs_keys.h"
#include "allium/feature/nodelist/routerset.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_hs_svc.h"

#define SVC_MAX_TARGETS 32            /* HSDirs per descriptor */
#define SVC_REUPLOAD_MIN_MSEC (60ull * 60 * 1000)
#define SVC_REUPLOAD_MAX_MSEC (120ull * 60 * 1000)
#define SVC_RETRY_MSEC 30000          /* after a round nobody stored */
#define SVC_RUN_TICK_MSEC 1000

struct client_hs_svc_host_t;

struct svc_slot_t;

/** One upload of a round: which HSDir (HS_DESC events). */
typedef struct svc_upload_t {
  struct svc_slot_t *sl;
  uint8_t hsdir[20];
} svc_upload_t;

/** One of the two descriptors (2.2.4.2). */
typedef struct svc_slot_t {
  struct client_hs_svc_host_t *h;
  bool second;
  bool have_tp;
  uint64_t tp;
  uint8_t subcred[HS_DIGEST_LEN];
  bool dirty;                   /* an upload is wanted */
  uint64_t next_upload_msec;    /* periodic re-upload */
  uint64_t retry_msec;          /* no new round before */
  uint8_t hsdirs[SVC_MAX_TARGETS][20];   /* where the last round went */
  size_t n_hsdirs;
  size_t pending, stored;       /* this round */
  time_t cons_valid_after;      /* the consensus its HSDirs came from */
  uint8_t cc_sendme_inc;        /* its flow-control line's (0: none) */
  ed25519_public_key_t blinded; /* this round's (HS_DESC events) */
  svc_upload_t up[SVC_MAX_TARGETS];   /* this round's uploads */
} svc_slot_t;

/** A circuit launched for the state machine: routes chanmgr's events. */
typedef struct svc_circ_t {
  struct svc_circ_t *next;
  struct client_hs_svc_host_t *h;   /* NULL once detached */
  uint64_t handle;
  hs_service_circ_ev_t ev;
  void *arg;
  client_hs_svc_circ_t *rc;         /* once joined */
  bool dead;
  uint8_t last_hop;                 /* 2, or 0 for a single onion */
} svc_circ_t;

typedef struct client_hs_svc_host_t {
  struct client_hs_svc_host_t *next;
  client_t *c;
  const hs_service_config_t *cfg;
  ed25519_keypair_t id;
  hs_auth_clients_t *clients;
  hs_service_run_t *run;
  hs_service_uploader_t *up;
  svc_slot_t slot[2];
  uint64_t ip_gen;              /* publish() calls so far */
  uint64_t last_run_msec;
  svc_circ_t *circs;
  client_hs_svc_circ_t *rcs;    /* joined rendezvous circuits */
  bool published;
  uint64_t uploads_ok, uploads_failed, rend_circs;
  /* Proposal 324 9.1: the sendme-inc of the flow-control line of the
   * descriptors we build (0: no line, congestion control off). */
  uint8_t cc_sendme_inc;
  /* ADD_ONION (control port): the configuration is ours, no directory. */
  hs_service_configs_t *owned_cfg;
} client_hs_svc_host_t;

/* ---------------------------------------------------------------- */
/* Circuits for hs_service_run */

static svc_circ_t *
circ_find(client_hs_svc_host_t *h, uint64_t handle)
{
  for (svc_circ_t *w = h->circs; w; w = w->next)
    if (w->handle == handle && !w->dead)
      return w;
  return NULL;
}

static void
on_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm;
  svc_circ_t *w = arg;
  if (!w->rc && w->h)
    w->ev.built(w->arg, circ);
}

static void
on_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
          void *arg)
{
  (void)cm;
  (void)info;
  svc_circ_t *w = arg;
  w->dead = true;
  if (w->rc) {
    if (!w->rc->closed) {
      w->rc->closed = true;
      client_hs_svc_streams_closed(w->rc);
    }
  } else if (w->h) {
    w->ev.closed(w->arg, circ);
  }
}

static void
on_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
          void *arg)
{
  (void)cm;
  (void)circ;
  svc_circ_t *w = arg;
  if (w->rc && !w->rc->closed)
    client_hs_svc_stream_event(w->rc, ev);
}

static void
on_data(chanmgr_t *cm, uint64_t circ, uint16_t sid, const uint8_t *data,
        size_t len, void *arg)
{
  (void)cm;
  (void)circ;
  svc_circ_t *w = arg;
  if (w->rc && !w->rc->closed)
    client_hs_svc_stream_data(w->rc, sid, data, len);
}

static void
on_relay_msg(chanmgr_t *cm, uint64_t circ, const circ_event_t *ev, void *arg)
{
  (void)cm;
  svc_circ_t *w = arg;
  if (!w->rc && w->h)
    w->ev.relay_msg(w->arg, circ, ev->hop == w->last_hop, ev->command,
                    ev->body,
                    ev->len);
}

/* An introduction point: usable, Fast, Stable when any such node exists
 * (as tor's services ask for uptime), HSIntro=4 (ed25519 auth keys), not
 * excluded, not in use. */
typedef struct ip_filter_t {
  const pathsel_options_t *o;
  const circ_hop_spec_t *in_use;
  size_t n;
  bool need_stable;
} ip_filter_t;

static bool
ip_filter(const node_t *n, void *arg)
{
  const ip_filter_t *f = arg;
  static const uint8_t zero4[4] = { 0 };
  if (!node_is_usable(n) || !(n->flags & NODE_FLAG_FAST) ||
      (f->need_stable && !(n->flags & NODE_FLAG_STABLE)) ||
      !memcmp(n->ipv4, zero4, 4) || n->orport == 0 || !n->protocols ||
      !cc_protover_has(n->protocols, "HSIntro", 4))
    return false;
  for (size_t i = 0; i < f->n; i++)
    if (!memcmp(f->in_use[i].rsa_id, n->rsa_id, 20))
      return false;
  return !(f->o && f->o->exclude_nodes &&
           routerset_contains_node(f->o->exclude_nodes, n));
}

static int
net_pick(void *ctx, const circ_hop_spec_t *in_use, size_t n,
         circ_hop_spec_t *out)
{
  client_hs_svc_host_t *h = ctx;
  client_t *c = h->c;
  if (!c->enough_dirinfo)
    return -1;
  ip_filter_t f = { &c->path_opts, in_use, n, true };
  const node_t *node = pathsel_choose_weighted(c->nl, PATHSEL_POS_MIDDLE,
                                               ip_filter, &f, NULL);
  if (!node) {
    f.need_stable = false;
    node = pathsel_choose_weighted(c->nl, PATHSEL_POS_MIDDLE, ip_filter, &f,
                                   NULL);
  }
  if (!node || client_hop_spec_from_node(node, out) != 0)
    return -1;
  return 0;
}

static int
net_launch(void *ctx, const circ_hop_spec_t *last,
           const hs_service_circ_ev_t *ev, void *arg, uint64_t *out)
{
  client_hs_svc_host_t *h = ctx;
  svc_circ_t *w = al_calloc(1, sizeof(*w));
  w->h = h;
  w->ev = *ev;
  w->arg = arg;
  chanmgr_circ_cbs_t cbs = { NULL, on_built, on_closed, on_stream,
                             on_relay_msg, w, on_data };
  /* A single onion service reaches its introduction and rendezvous points
   * directly (rend-spec-v3 3: not anonymous). */
  bool direct = h->c->hs_single_onion;
  w->last_hop = direct ? 0 : 2;
  int e = direct ? client_circ_launch_direct(h->c, last, &cbs, &w->handle)
                 : client_circ_launch_hs_spec(h->c, last, &cbs, &w->handle);
  if (e != 0) {
    al_free(w);
    return -1;
  }
  if (direct)
    log_info_rl(60, "Single onion service: one-hop circuit launched");
  w->next = h->circs;
  h->circs = w;
  *out = w->handle;
  return 0;
}

static int
net_send(void *ctx, uint64_t circ, uint8_t command, const uint8_t *body,
         size_t len)
{
  client_hs_svc_host_t *h = ctx;
  svc_circ_t *w = circ_find(h, circ);
  if (w)
    client_ctl_circ_sent(h->c, circ, command);
  return w ? chanmgr_send(h->c->cm, circ, w->last_hop, command, 0, body, len)
           : -1;
}

static int
net_kh(void *ctx, uint64_t circ, uint8_t out[HS_CELL_KH_LEN])
{
  client_hs_svc_host_t *h = ctx;
  svc_circ_t *w = circ_find(h, circ);
  const circ_origin_t *o = chanmgr_circuit(h->c->cm, circ);
  return o && w ? circ_origin_hop_kh(o, w->last_hop, out) : -1;
}

static int32_t
cc_param_from_nodelist(void *arg, const char *name, int32_t def, int32_t min,
                       int32_t max)
{
  return nodelist_get_param(arg, name, def, min, max);
}

/* The onion-service congestion control parameters of our consensus. */
static void
host_cc_params(const client_hs_svc_host_t *h, cc_params_t *p)
{
  const nodelist_t *nl = h->c->nl;
  cc_params_load_onion(p, nl ? cc_param_from_nodelist : NULL, (void *)nl);
}

/* What the flow-control line advertises now (9.1): the consensus's
 * cc_sendme_inc, or 0 (no line) when cc_alg is 0. */
static uint8_t
host_cc_sendme_inc(const client_hs_svc_host_t *h)
{
  cc_params_t p;
  host_cc_params(h, &p);
  return p.alg == CC_ALG_FIXED ? 0 : (uint8_t)p.sendme_inc;
}

static int
net_join(void *ctx, uint64_t circ, const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
         bool cc_requested)
{
  client_hs_svc_host_t *h = ctx;
  cc_params_t p;
  host_cc_params(h, &p);
  /* 9.4: only when asked, and only if our descriptor offered it. */
  bool cc = cc_requested && h->cc_sendme_inc && p.alg != CC_ALG_FIXED;
  if (cc_requested && !cc)
    log_info_rl(60, "Onion service: congestion control asked for but not "
                "offered; the rendezvous circuit uses windows");
  return chanmgr_add_virtual_hop(h->c->cm, circ, keys, true, cc ? &p : NULL,
                                 cc ? h->cc_sendme_inc : 0);
}

static void
net_close(void *ctx, uint64_t circ)
{
  client_hs_svc_host_t *h = ctx;
  chanmgr_close_circ(h->c->cm, circ, 0);
}

static uint64_t
net_now(void *ctx)
{
  (void)ctx;
  return client_now_msec();
}

/* hs_service_run: a rendezvous circuit is joined; it is ours now. */
static void
host_rendezvous(void *arg, uint64_t circ)
{
  client_hs_svc_host_t *h = arg;
  svc_circ_t *w = circ_find(h, circ);
  if (!w) {
    chanmgr_close_circ(h->c->cm, circ, 0);
    return;
  }
  client_hs_svc_circ_t *rc = al_calloc(1, sizeof(*rc));
  rc->c = h->c;
  rc->handle = circ;
  rc->cfg = h->cfg;
  rc->next = h->rcs;
  h->rcs = rc;
  w->rc = rc;
  h->rend_circs++;
  /* Target -> client: read on as soon as a stream's queue drains. */
  relay_streams_set_drain_mark(chanmgr_streams(h->c->cm, circ),
                               CLIENT_PAUSE_BYTES / 2);
  log_info_rl(60, "Onion service: a rendezvous circuit is joined");
}

/* ---------------------------------------------------------------- */
/* Descriptors */

static void
host_publish(void *arg)
{
  client_hs_svc_host_t *h = arg;
  h->ip_gen++;
  h->slot[0].dirty = h->slot[1].dirty = true;
}

static void
upload_cb(void *arg, int status)
{
  svc_upload_t *u = arg;
  svc_slot_t *sl = u->sl;
  client_hs_svc_host_t *h = sl->h;
  if (sl->pending)
    sl->pending--;
  if (ctlev_wanted(CTLEV_HS_DESC))
    client_ctl_hs_desc_event(h->c, status == 200 ? "UPLOADED" : "FAILED",
                             &h->id.pub, "UNKNOWN", u->hsdir, NULL,
                             status == 200 ? NULL : "UPLOAD_REJECTED");
  if (status == 200) {
    sl->stored++;
    h->uploads_ok++;
    log_info("Uploaded hidden service descriptor (status 200) to an HSDir "
             "(%s descriptor)", sl->second ? "second" : "first");
    if (!h->published) {
      h->published = true;
      log_notice("Onion service is published (its descriptor is stored on "
                 "an HSDir).");
    }
  } else {
    h->uploads_failed++;
    if (status < 0)
      log_info_rl(60, "Uploaded hidden service descriptor (failed): the "
                  "HSDir could not be reached");
    else
      log_info_rl(60, "Uploaded hidden service descriptor (status %d): the "
                  "HSDir refused it", status);
  }
  if (sl->pending == 0 && sl->stored == 0 && sl->n_hsdirs) {
    sl->dirty = true;   /* nobody stored it: again soon */
    sl->retry_msec = client_now_msec() + SVC_RETRY_MSEC;
  }
}

/* The descriptor parameters common to both slots. */
static void
desc_params(client_hs_svc_host_t *h, const hs_ring_params_t *rp,
            uint64_t tp, const hs_service_intro_t *ips, size_t n_ip,
            hs_service_desc_params_t *p)
{
  memset(p, 0, sizeof(*p));
  p->identity = &h->id;
  p->period_num = tp;
  p->period_length = rp->period_length;
  p->rotation_offset = rp->rotation_offset;
  p->now = time(NULL);
  p->single_onion = h->c->hs_single_onion;
  p->intro = ips;
  p->n_intro = n_ip;
  if (h->clients && h->clients->n) {
    p->client_pubs = (const uint8_t(*)[X25519_KEY_LEN])h->clients->keys;
    p->n_clients = h->clients->n;
  }
  h->cc_sendme_inc = host_cc_sendme_inc(h);
  p->flow_control_sendme_inc = h->cc_sendme_inc;
}

/* The nodes of the consensus as an array (new; caller frees). */
static const node_t **
all_nodes(const nodelist_t *nl, size_t *n_out)
{
  size_t n = nodelist_n_nodes(nl);
  const node_t **v = al_calloc(n ? n : 1, sizeof(*v));
  for (size_t i = 0; i < n; i++)
    v[i] = nodelist_get_node(nl, i);
  *n_out = n;
  return v;
}

/* The responsible HSDirs of slot sl now; do they differ from the last
 * round's? */
static size_t
slot_targets(client_hs_svc_host_t *h, svc_slot_t *sl,
             const hs_ring_params_t *rp, const node_t **out, bool *changed)
{
  const nodelist_t *nl = h->c->nl;
  size_t n_nodes = 0;
  uint64_t tp = 0;
  const node_t **nodes = all_nodes(nl, &n_nodes);
  size_t n = hs_service_publish_targets(nodelist_get_consensus(nl), nodes,
                                        n_nodes, rp, &h->id.pub, sl->second,
                                        &tp, out, SVC_MAX_TARGETS);
  al_free(nodes);
  bool diff = n != sl->n_hsdirs;
  for (size_t i = 0; !diff && i < n; i++)
    diff = memcmp(out[i]->rsa_id, sl->hsdirs[i], 20) != 0;
  *changed = diff;
  return n;
}

/* Build the slot's descriptor and send it to targets[0..n). */
static void
slot_upload(client_hs_svc_host_t *h, svc_slot_t *sl,
            const hs_ring_params_t *rp, const node_t **targets, size_t n)
{
  hs_service_intro_t ips[HS_CONFIG_MAX_INTRO];
  size_t n_ip = hs_service_run_intro_points(h->run, ips, HS_CONFIG_MAX_INTRO);
  if (n_ip == 0 || n == 0)
    return;
  hs_service_desc_params_t p;
  hs_service_desc_t *d = NULL;
  desc_params(h, rp, sl->tp, ips, n_ip, &p);
  sl->cc_sendme_inc = p.flow_control_sendme_inc;
  int e = hs_service_desc_build(&p, &d);
  if (e < 0 || !d) {
    log_warn_rl(300, "Onion service: could not build a descriptor "
                "(error %d)", e);
    sl->retry_msec = client_now_msec() + SVC_RETRY_MSEC;
    return;
  }
  sl->pending = sl->stored = 0;
  sl->n_hsdirs = 0;
  bool ev = ctlev_wanted(CTLEV_HS_DESC);
  if (ev && hs_blind_public_key(&sl->blinded, &h->id.pub, NULL, 0, sl->tp,
                                rp->period_length) < 0)
    ev = false;
  if (ev)
    client_ctl_hs_desc_event(h->c, "CREATED", &h->id.pub, "UNKNOWN", NULL,
                             &sl->blinded, NULL);
  for (size_t i = 0; i < n; i++) {
    svc_upload_t *u = &sl->up[sl->n_hsdirs];
    memcpy(sl->hsdirs[sl->n_hsdirs++], targets[i]->rsa_id, 20);
    u->sl = sl;
    memcpy(u->hsdir, targets[i]->rsa_id, 20);
    if (ev)
      client_ctl_hs_desc_event(h->c, "UPLOAD", &h->id.pub, "UNKNOWN",
                               u->hsdir, &sl->blinded, NULL);
    if (hs_service_upload_start(h->up, targets[i], d->text, d->len,
                                upload_cb, u) == 0)
      sl->pending++;
    else
      h->uploads_failed++;
  }
  hs_service_desc_free(d);
  sl->dirty = false;
  uint64_t now = client_now_msec();
  sl->next_upload_msec = now + SVC_REUPLOAD_MIN_MSEC +
    crypto_rand_uint64(SVC_REUPLOAD_MAX_MSEC - SVC_REUPLOAD_MIN_MSEC);
  if (sl->pending == 0) {
    sl->retry_msec = now + SVC_RETRY_MSEC;
    sl->dirty = true;
  }
  log_info("Onion service: uploading the %s descriptor (%zu introduction "
           "point%s) to %zu HSDir%s", sl->second ? "second" : "first", n_ip,
           n_ip == 1 ? "" : "s", n, n == 1 ? "" : "s");
}

/* Periods, subcredentials, and the upload decision for both slots. */
static void
host_descriptors(client_hs_svc_host_t *h)
{
  client_t *c = h->c;
  const consensus_t *cons = nodelist_get_consensus(c->nl);
  if (!c->enough_dirinfo || !cons ||
      !nodelist_consensus_is_live(c->nl, time(NULL)))
    return;
  hs_ring_params_t rp;
  hs_ring_params_from_consensus(cons, c->testing_network, &rp);
  uint8_t subs[2][HS_DIGEST_LEN];
  bool tp_changed = false;
  for (int i = 0; i < 2; i++) {
    svc_slot_t *sl = &h->slot[i];
    uint64_t tp = 0;
    uint8_t srv[32];
    hs_ring_store_tp_srv(cons, &rp, sl->second, &tp, srv);
    if (!sl->have_tp || tp != sl->tp) {
      ed25519_public_key_t bl;
      if (hs_blind_public_key(&bl, &h->id.pub, NULL, 0, tp,
                              rp.period_length) < 0 ||
          hs_subcredential_from_identity(sl->subcred, &h->id.pub, &bl) < 0)
        continue;
      sl->tp = tp;
      sl->have_tp = true;
      sl->dirty = true;
      tp_changed = true;
    }
    memcpy(subs[i], sl->subcred, HS_DIGEST_LEN);
  }
  if (!h->slot[0].have_tp || !h->slot[1].have_tp)
    return;
  if (tp_changed)
    hs_service_run_set_subcreds(h->run, (const uint8_t(*)[32])subs,
                                h->slot[0].tp == h->slot[1].tp ? 1 : 2);
  uint64_t now = client_now_msec();
  for (int i = 0; i < 2 && h->ip_gen; i++) {
    svc_slot_t *sl = &h->slot[i];
    const node_t *targets[SVC_MAX_TARGETS];
    bool changed = false;
    if (sl->pending || now < sl->retry_msec)
      continue;
    /* The ring is rebuilt only when a consensus arrived or an upload is
     * due or wanted: not every second. */
    if (cons->valid_after == sl->cons_valid_after && !sl->dirty &&
        now < sl->next_upload_msec)
      continue;
    sl->cons_valid_after = cons->valid_after;
    size_t n = slot_targets(h, sl, &rp, targets, &changed);
    /* 9.1: a new cc_sendme_inc (or cc_alg) is published at once. */
    if (changed || now >= sl->next_upload_msec ||
        (sl->n_hsdirs && host_cc_sendme_inc(h) != sl->cc_sendme_inc))
      sl->dirty = true;
    if (sl->dirty)
      slot_upload(h, sl, &rp, targets, n);
  }
}

/* ---------------------------------------------------------------- */
/* Hosts */

static void
host_free(client_hs_svc_host_t *h)
{
  client_t *c = h->c;
  for (svc_circ_t *w = h->circs; w; w = w->next)
    if (!w->rc)
      w->h = NULL;   /* the state machine's circuits: no more events */
  hs_service_run_free(h->run);
  for (svc_circ_t *w = h->circs; w; w = w->next)
    if (!w->dead)
      chanmgr_close_circ(c->cm, w->handle, 0);
  hs_service_uploader_free(h->up);
  while (h->circs) {
    svc_circ_t *w = h->circs;
    h->circs = w->next;
    al_free(w);
  }
  while (h->rcs) {
    client_hs_svc_circ_t *rc = h->rcs;
    h->rcs = rc->next;
    if (!rc->closed) {
      rc->closed = true;
      client_hs_svc_streams_closed(rc);
    }
    al_free(rc);
  }
  hs_auth_clients_free(h->clients);
  hs_service_configs_free(h->owned_cfg);
  memwipe(h, sizeof(*h));   /* identity key, subcredentials */
  al_free(h);
}

/* Keys, authorized clients, uploader and state machine of one service. */
static client_hs_svc_host_t *
host_new(client_t *c, const hs_service_config_t *cfg)
{
  client_hs_svc_host_t *h = al_calloc(1, sizeof(*h));
  h->c = c;
  h->cfg = cfg;
  int flags = HS_KEYS_CREATE |
              (cfg->dir_group_readable ? HS_KEYS_GROUP_READABLE : 0);
  int e = hs_keys_load_or_create(cfg->dir, flags, &h->id, NULL);
  if (e != 0) {
    log_err("Onion service directory %s is not usable: %s", cfg->dir,
            relay_keys_strerror(e));
    al_free(h);
    return NULL;
  }
  char *adir = al_asprintf("%s/%s", cfg->dir, HS_AUTH_DIRNAME);
  char *err = NULL;
  e = hs_auth_load_dir(adir, &h->clients, &err);
  al_free(adir);
  if (e != 0) {
    log_err("Onion service %s: %s", cfg->dir, err ? err : hs_auth_strerror(e));
    al_free(err);
    host_free(h);
    return NULL;
  }
  for (int i = 0; i < 2; i++) {
    h->slot[i].h = h;
    h->slot[i].second = i == 1;
  }
  return h;
}

static int
host_start(client_hs_svc_host_t *h)
{
  hs_service_upload_cfg_t uc;
  memset(&uc, 0, sizeof(uc));
  uc.cm = h->c->cm;
  uc.launch = client_circ_launch_hs_upload;
  uc.launch_arg = h->c;
  h->up = hs_service_uploader_new(&uc);
  hs_service_run_cfg_t rc;
  memset(&rc, 0, sizeof(rc));
  rc.net = (hs_service_net_t){ net_pick, net_launch, net_send, net_kh,
                               net_join, net_close, net_now, h };
  rc.svc = h->cfg;
  rc.publish = host_publish;
  rc.rendezvous = host_rendezvous;
  rc.arg = h;
  h->run = h->up ? hs_service_run_start(&rc) : NULL;
  return h->run ? 0 : -1;
}

int
client_hs_svc_start(client_t *c, const hs_service_configs_t *cfgs)
{
  if (!c || !cfgs)
    return -1;
  if (!c->cm && cfgs->n) {
    log_err("Onion services need the client's circuits.");
    return -1;
  }
  for (size_t i = 0; i < cfgs->n; i++) {
    client_hs_svc_host_t *h = host_new(c, &cfgs->svc[i]);
    if (!h)
      return -1;
    h->next = c->hs_hosts;
    c->hs_hosts = h;
    if (host_start(h) < 0) {
      log_err("Onion service %s could not start.", cfgs->svc[i].dir);
      return -1;
    }
    log_notice("Onion service configured in %s: %zu port%s, %d "
               "introduction points, %zu authorized client%s.",
               cfgs->svc[i].dir, cfgs->svc[i].n_ports,
               cfgs->svc[i].n_ports == 1 ? "" : "s",
               cfgs->svc[i].num_intro_points,
               h->clients ? h->clients->n : 0,
               h->clients && h->clients->n == 1 ? "" : "s");
  }
  return 0;
}

/* ---- runtime services (ADD_ONION / DEL_ONION, control-spec 3.27-3.28) */

static client_hs_svc_host_t *
host_by_pk(client_t *c, const ed25519_public_key_t *pk,
           client_hs_svc_host_t ***prev)
{
  client_hs_svc_host_t **hp = &c->hs_hosts;
  for (; *hp; hp = &(*hp)->next)
    if (!memcmp((*hp)->id.pub.pubkey, pk->pubkey, ED25519_PUBKEY_LEN)) {
      if (prev)
        *prev = hp;
      return *hp;
    }
  return NULL;
}

bool
client_hs_svc_exists(client_t *c, const ed25519_public_key_t *pk)
{
  return c && pk && host_by_pk(c, pk, NULL) != NULL;
}

int
client_hs_svc_add(client_t *c, hs_service_configs_t *cfgs,
                  const ed25519_keypair_t *kp,
                  const uint8_t (*clients)[X25519_KEY_LEN], size_t n_clients)
{
  if (!c || !cfgs || cfgs->n != 1 || !kp || !c->cm) {
    hs_service_configs_free(cfgs);
    return -1;
  }
  if (host_by_pk(c, &kp->pub, NULL)) {
    hs_service_configs_free(cfgs);
    return -2;
  }
  client_hs_svc_host_t *h = al_calloc(1, sizeof(*h));
  h->c = c;
  h->owned_cfg = cfgs;
  h->cfg = &cfgs->svc[0];
  h->id = *kp;
  if (n_clients) {
    h->clients = al_calloc(1, sizeof(*h->clients));
    h->clients->keys = al_calloc(n_clients, X25519_KEY_LEN);
    memcpy(h->clients->keys, clients, n_clients * X25519_KEY_LEN);
    h->clients->n = n_clients;
  }
  for (int i = 0; i < 2; i++) {
    h->slot[i].h = h;
    h->slot[i].second = i == 1;
  }
  if (host_start(h) < 0) {
    host_free(h);
    return -1;
  }
  h->next = c->hs_hosts;
  c->hs_hosts = h;
  log_notice_rl(10, "Onion service added by a controller: %zu port%s, %zu "
                "authorized client%s.", h->cfg->n_ports,
                h->cfg->n_ports == 1 ? "" : "s", n_clients,
                n_clients == 1 ? "" : "s");
  return 0;
}

int
client_hs_svc_remove(client_t *c, const ed25519_public_key_t *pk)
{
  client_hs_svc_host_t **hp = NULL;
  client_hs_svc_host_t *h = c && pk ? host_by_pk(c, pk, &hp) : NULL;
  if (!h || !h->owned_cfg)
    return -1;
  *hp = h->next;
  host_free(h);
  log_notice_rl(10, "Onion service removed by a controller.");
  return 0;
}

/* Free what died since the last tick. */
static void
host_sweep(client_hs_svc_host_t *h)
{
  uint64_t now = client_now_msec();
  svc_circ_t **wp = &h->circs;
  while (*wp) {
    svc_circ_t *w = *wp;
    if (w->dead) {
      *wp = w->next;
      al_free(w);
    } else {
      wp = &w->next;
    }
  }
  client_hs_svc_circ_t **rp = &h->rcs;
  while (*rp) {
    client_hs_svc_circ_t *rc = *rp;
    if (rc->closed) {
      *rp = rc->next;
      client_hs_svc_streams_closed(rc);
      al_free(rc);
    } else {
      client_hs_svc_streams_tick(rc, now);
      rp = &rc->next;
    }
  }
}

void
client_hs_svc_tick(client_t *c)
{
  uint64_t now = client_now_msec();
  for (client_hs_svc_host_t *h = c ? c->hs_hosts : NULL; h; h = h->next) {
    hs_service_uploader_tick(h->up, now);
    if (now - h->last_run_msec >= SVC_RUN_TICK_MSEC) {
      h->last_run_msec = now;
      if (c->enough_dirinfo)
        hs_service_run_tick(h->run);
      host_descriptors(h);
    }
    host_sweep(h);
  }
}

void
client_hs_svc_dirinfo(client_t *c)
{
  for (client_hs_svc_host_t *h = c ? c->hs_hosts : NULL; h; h = h->next)
    h->last_run_msec = 0;   /* look at periods and HSDirs at the next tick */
}

void
client_hs_svc_log_status(const client_t *c)
{
  for (const client_hs_svc_host_t *h = c ? c->hs_hosts : NULL; h; h = h->next) {
    hs_service_run_stats_t st;
    hs_service_intro_t ips[HS_CONFIG_MAX_INTRO];
    hs_service_run_stats(h->run, &st);
    size_t ready = hs_service_run_intro_points(h->run, ips,
                                               HS_CONFIG_MAX_INTRO);
    size_t open = 0, streams = 0;
    for (const client_hs_svc_circ_t *rc = h->rcs; rc; rc = rc->next)
      if (!rc->closed) {
        open++;
        streams += rc->n_streams;
      }
    log_notice("Onion service: %zu of %d introduction points ready; "
               "%llu introductions (%llu refused, %llu replayed); %llu "
               "rendezvous joined, %llu failed; %zu rendezvous circuits "
               "open, %zu streams; descriptors stored %llu times, %llu "
               "uploads failed", ready, h->cfg->num_intro_points,
               (unsigned long long)st.introduce2_ok,
               (unsigned long long)st.introduce2_refused,
               (unsigned long long)st.introduce2_replay,
               (unsigned long long)st.rend_joined,
               (unsigned long long)st.rend_failed, open, streams,
               (unsigned long long)h->uploads_ok,
               (unsigned long long)h->uploads_failed);
  }
}

void
client_hs_svc_free_all(client_t *c)
{
  while (c && c->hs_hosts) {
    client_hs_svc_host_t *h = c->hs_hosts;
    c->hs_hosts = h->next;
    host_free(h);
  }
}

/* ---- the MetricsPort's figures (client_stats.c) ---- */

void
client_hs_svc_add_stats(const client_t *c, client_stats_t *out)
{
  for (const client_hs_svc_host_t *h = c ? c->hs_hosts : NULL; h; h = h->next) {
    hs_service_run_stats_t st;
    hs_service_run_stats(h->run, &st);
    out->hs_services++;
    out->hs_intro_established += st.intro_established;
    out->hs_intro_failed += st.intro_failed;
    out->hs_introduce2_ok += st.introduce2_ok;
    out->hs_introduce2_refused += st.introduce2_refused;
    out->hs_introduce2_replay += st.introduce2_replay;
    out->hs_rend_joined += st.rend_joined;
    out->hs_rend_failed += st.rend_failed;
    out->hs_uploads_ok += h->uploads_ok;
    out->hs_uploads_failed += h->uploads_failed;
  }
}
