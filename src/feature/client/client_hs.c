/* client_hs.c -- the client reaches onion services (rend-spec-v3 2.2
 * descriptor fetch, 3.2-3.3 introduction, 4.1-4.2.1 rendezvous): a CONNECT
 * to a valid .onion that no joined rendezvous circuit may carry starts one
 * attempt per service -- the descriptor (feature/hs_client fetch + cache),
 * then hs_client_rend over circuits built here (guard, middle, then the
 * introduction / rendezvous point: client_circ_launch_hs_spec()).  The
 * joined circuit goes into the pool (client_circ_adopt_hs()) for every
 * stream to that service that its isolation allows (client_conn.c sends
 * BEGIN with tor's ":port" form).  Streams arriving while an attempt is
 * under way wait for it; a failure answers them all with proposal 304's
 * code (X'F0'..X'F7').  No onion address or key is logged.
 */
#include <string.h>

#define LOG_MODULE "client"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/hs_client/hs_client_fetch.h"
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_st.h"

/** One attempt to reach a service. */
typedef struct client_hs_attempt_t {
  struct client_hs_attempt_t *next;
  client_t *c;
  uint64_t id;             /* never 0 */
  client_iso_t iso;        /* the first stream's isolation attributes */
  ed25519_public_key_t pk;
  bool fetching;           /* waiting for the descriptor */
  bool done;               /* finished: freed by the next tick */
  hs_client_rend_t *r;
  uint64_t started_msec;
} client_hs_attempt_t;

/** A circuit launched for an attempt; routes chanmgr's events to
 * hs_client_rend until joined, then to the pool's circuit. */
typedef struct client_hs_circ_t {
  struct client_hs_circ_t *next;
  client_t *c;
  client_hs_attempt_t *a;  /* NULL once the attempt is gone */
  uint64_t handle;
  hs_client_rend_circ_ev_t ev;
  void *arg;
  client_circ_t *joined;   /* the pool's circuit once joined */
  bool dead;               /* closed: freed by the next tick */
} client_hs_circ_t;

/* ---------------------------------------------------------------- */
/* The circuit layer for hs_client_rend */

static client_hs_circ_t *
hs_circ_find(client_t *c, uint64_t h)
{
  for (client_hs_circ_t *w = c->hs_circs; w; w = w->next)
    if (w->handle == h && !w->dead)
      return w;
  return NULL;
}

static void
hs_on_built(chanmgr_t *cm, uint64_t h, void *arg)
{
  (void)cm;
  client_hs_circ_t *w = arg;
  if (!w->joined && w->a)
    w->ev.built(w->arg, h);
}

static void
hs_on_closed(chanmgr_t *cm, uint64_t h, const chanmgr_close_info_t *info,
             void *arg)
{
  (void)cm;
  client_hs_circ_t *w = arg;
  w->dead = true;
  if (w->joined)
    client_circ_hs_closed(w->joined, info);
  else if (w->a)
    w->ev.closed(w->arg, h);
}

static void
hs_on_stream(chanmgr_t *cm, uint64_t h, const relay_stream_event_t *ev,
             void *arg)
{
  (void)cm;
  (void)h;
  client_hs_circ_t *w = arg;
  if (w->joined)
    client_conn_stream_event(w->c, w->joined, ev);
}

static void
hs_on_data(chanmgr_t *cm, uint64_t h, uint16_t sid, const uint8_t *data,
           size_t len, void *arg)
{
  (void)cm;
  (void)h;
  client_hs_circ_t *w = arg;
  if (w->joined)
    client_conn_stream_data(w->c, w->joined, sid, data, len);
}

static void
hs_on_relay_msg(chanmgr_t *cm, uint64_t h, const circ_event_t *ev, void *arg)
{
  (void)cm;
  client_hs_circ_t *w = arg;
  if (!w->joined && w->a)
    w->ev.relay_msg(w->arg, h, ev->hop == 2, ev->command, ev->body, ev->len);
}

static int
net_launch(void *ctx, const circ_hop_spec_t *last,
           const hs_client_rend_circ_ev_t *ev, void *arg, uint64_t *out)
{
  client_hs_attempt_t *a = ctx;
  client_t *c = a->c;
  client_hs_circ_t *w = al_calloc(1, sizeof(*w));
  w->c = c;
  w->a = a;
  w->ev = *ev;
  w->arg = arg;
  chanmgr_circ_cbs_t cbs = { NULL, hs_on_built, hs_on_closed, hs_on_stream,
                             hs_on_relay_msg, w, hs_on_data };
  if (client_circ_launch_hs_spec(c, last, &cbs, &w->handle) != 0) {
    al_free(w);
    return -1;
  }
  w->next = c->hs_circs;
  c->hs_circs = w;
  *out = w->handle;
  return 0;
}

static int
net_send(void *ctx, uint64_t h, uint8_t command, const uint8_t *body,
         size_t len)
{
  client_hs_attempt_t *a = ctx;
  client_ctl_circ_sent(a->c, h, command);
  return chanmgr_send(a->c->cm, h, 2, command, 0, body, len);
}

static int
net_join(void *ctx, uint64_t h, const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
         const cc_params_t *cc, uint8_t sendme_inc)
{
  client_hs_attempt_t *a = ctx;
  return chanmgr_add_virtual_hop(a->c->cm, h, keys, false, cc, sendme_inc);
}

static int32_t
cc_param_from_nodelist(void *arg, const char *name, int32_t def, int32_t min,
                       int32_t max)
{
  return nodelist_get_param(arg, name, def, min, max);
}

static void
net_close(void *ctx, uint64_t h)
{
  client_hs_attempt_t *a = ctx;
  chanmgr_close_circ(a->c->cm, h, 0);
}

static uint64_t
net_now(void *ctx)
{
  (void)ctx;
  return client_now_msec();
}

/* ---------------------------------------------------------------- */
/* Attempts */

/* An attempt under way for k's service whose circuit k may share. */
static client_hs_attempt_t *
attempt_find(client_t *c, const client_conn_t *k)
{
  for (client_hs_attempt_t *a = c->hs_attempts; a; a = a->next)
    if (!a->done && memcmp(a->pk.pubkey, k->onion_pk.pubkey, 32) == 0 &&
        proxy_iso_may_share(&a->iso.a, &k->iso.a))
      return a;
  return NULL;
}

static const client_hs_attempt_t *
attempt_by_id(const client_t *c, uint64_t id)
{
  for (const client_hs_attempt_t *a = c->hs_attempts; a; a = a->next)
    if (!a->done && a->id == id)
      return a;
  return NULL;
}

/* Every stream waiting for a's service: retry attaching (ok) or fail with
 * code. */
static void
attempt_wake(client_hs_attempt_t *a, uint8_t code)
{
  client_t *c = a->c;
  for (client_conn_t *k = c->conns; k; k = k->next) {
    if (k->state != CONN_WAIT_HS || !k->onion || k->hs_attempt != a->id)
      continue;
    k->hs_attempt = 0;
    if (code) {
      client_conn_fail_onion(k, code);
    } else {
      k->state = CONN_WAIT_CIRC;
    }
  }
  if (!code)
    client_attach_waiting(c);
}

/* Finished: a is freed by the next tick (we may be inside its callbacks). */
static void
attempt_finish(client_hs_attempt_t *a, uint8_t code)
{
  a->done = true;
  for (client_hs_circ_t *w = a->c->hs_circs; w; w = w->next)
    if (w->a == a && !w->joined)
      w->a = NULL;
  attempt_wake(a, code);
}

static void
attempt_rend_done(void *arg, int status, uint64_t circ)
{
  client_hs_attempt_t *a = arg;
  client_t *c = a->c;
  if (status == HS_CLIENT_REND_OK) {
    client_hs_circ_t *w = hs_circ_find(c, circ);
    if (!w) {
      chanmgr_close_circ(c->cm, circ, 0);
      status = HS_CLIENT_REND_ERR_REND;
    } else {
      w->joined = client_circ_adopt_hs(c, circ, &a->pk);
      log_info("Onion service reached in %llu ms",
               (unsigned long long)(client_now_msec() - a->started_msec));
    }
  }
  if (status != HS_CLIENT_REND_OK) {
    /* tor: all introduction points failed -> the descriptor is refetched
     * next time. */
    if (status == HS_CLIENT_REND_ERR_INTRO && c->hs_fetch)
      hs_client_cache_remove(hs_client_fetcher_cache(c->hs_fetch), &a->pk);
  }
  attempt_finish(a, status == HS_CLIENT_REND_OK ? 0
                                : client_hs_rend_status_socks5(status));
}

static void
attempt_start_rend(client_hs_attempt_t *a, const hs_client_desc_t *desc)
{
  client_t *c = a->c;
  hs_client_rend_cfg_t cfg;
  cc_params_t cc;
  memset(&cfg, 0, sizeof(cfg));
  /* Proposal 324 9: the onion-service path parameters of our consensus. */
  cc_params_load_onion(&cc, c->nl ? cc_param_from_nodelist : NULL,
                       (void *)c->nl);
  cfg.cc = &cc;
  cfg.net = (hs_client_rend_net_t){ net_launch, net_send, net_join,
                                    net_close, net_now, a };
  cfg.nl = c->nl;
  cfg.path_opts = &c->path_opts;
  cfg.total_timeout_msec = c->socks_timeout_msec;
  a->fetching = false;
  a->r = hs_client_rend_start(&cfg, &a->pk, desc->subcred, desc->layer2,
                              attempt_rend_done, a);
  if (!a->r)
    attempt_finish(a, SOCKS5_HS_INTRO_FAILED);
}

static void
attempt_desc_cb(void *arg, hs_client_desc_status_t st,
                const hs_client_desc_t *desc)
{
  client_hs_attempt_t *a = arg;
  if (st != HS_CLIENT_DESC_OK || !desc) {
    a->fetching = false;
    attempt_finish(a, hs_client_desc_status_socks5(st));
    return;
  }
  attempt_start_rend(a, desc);
}

void
client_hs_want(client_conn_t *k)
{
  client_t *c = k->c;
  static uint64_t next_id = 1;
  k->state = CONN_WAIT_HS;
  const client_hs_attempt_t *same = attempt_find(c, k);
  if (same) {
    k->hs_attempt = same->id;
    return;   /* shares the attempt under way */
  }
  if (!c->hs_fetch) {
    client_conn_fail_onion(k, SOCKS5_HS_DESC_NOT_FOUND);
    return;
  }
  client_hs_attempt_t *a = al_calloc(1, sizeof(*a));
  a->c = c;
  a->id = next_id++;
  k->hs_attempt = a->id;
  client_iso_copy(&a->iso, &k->iso.a);
  a->pk = k->onion_pk;
  a->fetching = true;
  a->started_msec = client_now_msec();
  a->next = c->hs_attempts;
  c->hs_attempts = a;
  log_info("Stream %llu: connecting to an onion service",
           (unsigned long long)k->num);
  hs_client_desc_status_t st = HS_CLIENT_DESC_NOT_FOUND;
  const hs_client_desc_t *desc = NULL;
  int r = hs_client_fetch_start(c->hs_fetch, &a->pk, attempt_desc_cb, a, &st,
                                &desc);
  if (r == 1 && st == HS_CLIENT_DESC_OK && desc) {
    attempt_start_rend(a, desc);
  } else if (r != 0) {
    a->fetching = false;
    attempt_finish(a, hs_client_desc_status_socks5(
                        st == HS_CLIENT_DESC_OK ? HS_CLIENT_DESC_NOT_FOUND
                                                : st));
  }
}

uint8_t
client_hs_timeout_code(const client_conn_t *k)
{
  const client_hs_attempt_t *a = attempt_by_id(k->c, k->hs_attempt);
  return a && a->fetching ? SOCKS5_HS_DESC_NOT_FOUND
                          : SOCKS5_HS_INTRO_TIMEDOUT;
}

static void
attempt_free(client_t *c, client_hs_attempt_t *a)
{
  if (a->fetching && c->hs_fetch)
    hs_client_fetch_cancel(c->hs_fetch, attempt_desc_cb, a);
  for (client_hs_circ_t *w = c->hs_circs; w; w = w->next)
    if (w->a == a && !w->joined)
      w->a = NULL;
  hs_client_rend_free(a->r);
  client_iso_clear(&a->iso);
  al_free(a);
}

void
client_hs_tick(client_t *c)
{
  for (client_hs_attempt_t *a = c->hs_attempts; a; a = a->next)
    if (!a->done && a->r)
      hs_client_rend_tick(a->r);   /* may finish a */
  client_hs_attempt_t **pp = &c->hs_attempts;
  while (*pp) {
    client_hs_attempt_t *a = *pp;
    if (a->done) {
      *pp = a->next;
      attempt_free(c, a);
    } else {
      pp = &a->next;
    }
  }
  client_hs_circ_t **wp = &c->hs_circs;
  while (*wp) {
    client_hs_circ_t *w = *wp;
    if (w->dead) {
      *wp = w->next;
      al_free(w);
    } else {
      wp = &w->next;
    }
  }
}

void
client_hs_free_all(client_t *c)
{
  while (c->hs_attempts) {
    client_hs_attempt_t *a = c->hs_attempts;
    c->hs_attempts = a->next;
    a->done = true;
    attempt_free(c, a);
  }
  /* Joined circuits are closed with the pool (their closed events still
   * come through the routes): those are freed by client_hs_free_routes. */
}

void
client_hs_free_routes(client_t *c)
{
  while (c->hs_circs) {
    client_hs_circ_t *w = c->hs_circs;
    if (!w->dead) {   /* its events must not outlive w */
      w->joined = NULL;
      w->a = NULL;
      chanmgr_close_circ(c->cm, w->handle, 0);
    }
    c->hs_circs = w->next;
    al_free(w);
  }
}
