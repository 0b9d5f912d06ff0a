/* hs_client_fetch.c -- onion-service descriptor fetch from the responsible
 * HSDirs (rend-spec-v3 2.2.3, 2.2.4.1, 2.2.6; dir-spec 6 BEGIN_DIR
 * requests).  See hs_client_fetch.h.  Onion addresses appear in logs only
 * through safe_str() (SafeLogging 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "hs"

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_msg.h"
#include "allium/core/stream/stream.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/feature/hs_client/hs_client_fetch.h"
#include "allium/feature/nodelist/routerset.h"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/hs_common/hs_ring.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_CAND 32                 /* responsible HSDirs asked, at most */
#define HSDIR_FAIL_SEC (15 * 60)    /* tor: an HSDir is asked once per 15 min */
#define HSDIR_FAIL_MAX 256
#define DEFAULT_ATTEMPT_MSEC 30000
/* HSV3MaxDescriptorSize default (param-spec; hs_desc_outer.h HS_DESC_MAX_LEN). */
#define HS_CLIENT_DESC_MAX_LEN 50000

typedef struct waiter_t {
  hs_client_fetch_cb cb;
  void *arg;
  struct waiter_t *next;
} waiter_t;

typedef struct fetch_t {
  struct fetch_t *next;
  hs_client_fetcher_t *f;
  ed25519_public_key_t pk, blinded;
  uint64_t tp, plen;
  uint8_t cand[MAX_CAND][20];
  size_t n_cand, next_cand;
  uint8_t cur[20];                /* HSDir of the attempt under way */
  uint64_t circ;                  /* 0: none */
  uint16_t stream;
  dir_http_parser_t *http;
  uint64_t deadline_msec;
  hs_client_desc_status_t worst;  /* NOT_FOUND, or INVALID once seen */
  waiter_t *waiters;
  bool dead;                      /* finished: freed at the next tick */
  size_t n_asked;                 /* HSDirs asked so far */
} fetch_t;

typedef struct hsdir_fail_t {
  uint8_t rsa[20];
  uint8_t blinded[32];
  time_t until;
} hsdir_fail_t;

struct hs_client_fetcher_t {
  hs_client_fetch_cfg_t cfg;
  hs_client_cache_t *cache;
  fetch_t *fetches;
  hsdir_fail_t fails[HSDIR_FAIL_MAX];
  size_t next_fail;
};

static uint64_t
now_msec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
hs_client_fetch_url(const ed25519_public_key_t *blinded, char *out,
                    size_t outlen)
{
  char b64[64];
  if (!blinded || !out)
    return -1;
  if (base64_encode(b64, sizeof(b64), blinded->pubkey, 32,
                    BASE64_FLAG_NOPAD) < 0)
    return -1;
  int n = snprintf(out, outlen, "/tor/hs/3/%s", b64);
  return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int
hs_client_fetch_answer_final(int http_status, hs_client_desc_status_t st)
{
  if (http_status != 200)
    return 0;
  return st == HS_CLIENT_DESC_OK || st == HS_CLIENT_DESC_NEED_AUTH ||
         st == HS_CLIENT_DESC_BAD_AUTH;
}

/* ---- HSDirs that failed a blinded key lately ---- */

static bool
hsdir_failed(const hs_client_fetcher_t *f, const uint8_t rsa[20],
             const ed25519_public_key_t *blinded, time_t now)
{
  for (size_t i = 0; i < HSDIR_FAIL_MAX; i++) {
    const hsdir_fail_t *x = &f->fails[i];
    if (x->until > now && !memcmp(x->rsa, rsa, 20) &&
        !memcmp(x->blinded, blinded->pubkey, 32))
      return true;
  }
  return false;
}

static void
hsdir_note_failed(hs_client_fetcher_t *f, const uint8_t rsa[20],
                  const ed25519_public_key_t *blinded, time_t now)
{
  hsdir_fail_t *x = &f->fails[f->next_fail];
  f->next_fail = (f->next_fail + 1) % HSDIR_FAIL_MAX;
  memcpy(x->rsa, rsa, 20);
  memcpy(x->blinded, blinded->pubkey, 32);
  x->until = now + HSDIR_FAIL_SEC;
}

/* ---- one fetch ---- */

static void fetch_next_attempt(fetch_t *ft);

/* Tell the observer (HS_DESC events) about ft's HSDir of the moment. */
static void
fetch_observe(fetch_t *ft, hs_client_fetch_ev_t ev, const uint8_t *hsdir,
              const char *reason, const uint8_t *body, size_t len)
{
  const hs_client_fetch_cfg_t *cfg = &ft->f->cfg;
  if (cfg->observe)
    cfg->observe(cfg->observe_arg, ev, &ft->pk, hsdir, &ft->blinded, reason,
                 body, len);
}

/* The HS_DESC reason of an HSDir's answer. */
static const char *
answer_reason(int status, hs_client_desc_status_t st)
{
  if (status == 404)
    return "NOT_FOUND";
  if (status == 200)
    return st == HS_CLIENT_DESC_NOT_FOUND ? "UNEXPECTED" : "BAD_DESC";
  return status < 0 ? "UNEXPECTED" : "QUERY_REJECTED";
}

static void
onion_text(const ed25519_public_key_t *pk, char *out, size_t outlen)
{
  if (hs_onion_address_encode(out, outlen, pk) != 0)
    snprintf(out, outlen, "?");
}

static void
attempt_stop(fetch_t *ft)
{
  dir_http_parser_free(ft->http);
  uint64_t circ = ft->circ;
  ft->circ = 0;                  /* our own close: on_closed ignores it */
  if (circ)
    chanmgr_close_circ(ft->f->cfg.cm, circ, CELL_DESTROY_FINISHED);
}

static void
fetch_finish(fetch_t *ft, hs_client_desc_status_t st,
             const hs_client_desc_t *desc)
{
  if (ft->dead)
    return;
  ft->dead = true;
  attempt_stop(ft);
  char addr[HS_ONION_ADDR_LEN + 1];
  onion_text(&ft->pk, addr, sizeof(addr));
  if (st == HS_CLIENT_DESC_OK)
    log_notice_rl(10, "Onion service %s: descriptor fetched; %zu "
                  "introduction points", safe_str(addr),
                  desc->layer2->n_intro);
  else
    log_notice_rl(10, "Onion service %s: %s", safe_str(addr),
                  hs_client_desc_status_str(st));
  waiter_t *w = ft->waiters;
  ft->waiters = NULL;
  while (w) {
    waiter_t *next = w->next;
    w->cb(w->arg, st, desc);
    al_free(w);
    w = next;
  }
}

/* The HSDir's answer is complete (or the transfer failed: status -1). */
static void
fetch_answer(fetch_t *ft, int status, const uint8_t *body, size_t len)
{
  hs_client_fetcher_t *f = ft->f;
  time_t now = time(NULL);
  hs_client_desc_status_t st = HS_CLIENT_DESC_NOT_FOUND;
  hs_client_desc_t *d = NULL;
  const char *why = NULL;
  if (status == 200 && body) {
    size_t max = (size_t)nodelist_get_param(f->cfg.nl, "HSV3MaxDescriptorSize",
                                            HS_CLIENT_DESC_MAX_LEN, 1, INT32_MAX);
    st = hs_client_desc_open((const char *)body, len, max, &ft->pk, ft->tp,
                             ft->plen, hs_auth_store_find(f->cfg.auth, &ft->pk),
                             now, &d, &why);
  }
  log_info("Onion service descriptor fetch: HSDir answered %d (%s%s%s)",
           status, hs_client_desc_status_str(st), why ? ": " : "",
           why ? why : "");
  if (status == 200 && st == HS_CLIENT_DESC_OK)
    fetch_observe(ft, HS_CLIENT_FETCH_EV_RECEIVED, ft->cur, NULL, body, len);
  else
    fetch_observe(ft, HS_CLIENT_FETCH_EV_FAILED, ft->cur,
                  answer_reason(status, st), NULL, 0);
  if (hs_client_fetch_answer_final(status, st)) {
    if (st == HS_CLIENT_DESC_OK) {
      fetch_finish(ft, st, d);
      (void)hs_client_cache_put(f->cache, d, now);
    } else {
      hs_client_cache_put_failure(f->cache, &ft->pk, st, now,
                                  HS_CLIENT_FAIL_CACHE_SEC);
      fetch_finish(ft, st, NULL);
    }
    return;
  }
  if (st == HS_CLIENT_DESC_INVALID)
    ft->worst = HS_CLIENT_DESC_INVALID;
  hsdir_note_failed(f, ft->cur, &ft->blinded, now);
  attempt_stop(ft);
  fetch_next_attempt(ft);
}

static void
fetch_http_done(fetch_t *ft)
{
  const dir_http_response_t *r = dir_http_parser_response(ft->http);
  size_t len = 0;
  uint8_t *body = dir_http_parser_take_body(ft->http, &len);
  fetch_answer(ft, r ? r->status : -1, body, len);
  al_free(body);
}

static void
cb_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  fetch_t *ft = arg;
  if (ft->dead || circ != ft->circ)
    return;
  relay_streams_t *t = chanmgr_streams(cm, circ);
  if (!t || relay_stream_begin_dir(t, &ft->stream) != 0) {
    fetch_answer(ft, -1, NULL, 0);
    return;
  }
  chanmgr_flush(cm, circ);
}

static void
send_request(fetch_t *ft, chanmgr_t *cm)
{
  char url[80];
  size_t len = 0;
  char *req = NULL;
  if (hs_client_fetch_url(&ft->blinded, url, sizeof(url)) == 0)
    req = dir_http_request_encode(url, NULL, &len);
  relay_streams_t *t = chanmgr_streams(cm, ft->circ);
  dir_http_limits_t lim;
  dir_http_limits_for_kind(DIR_DOC_OTHER, &lim);
  lim.max_body = (size_t)nodelist_get_param(ft->f->cfg.nl,
                                            "HSV3MaxDescriptorSize",
                                            HS_CLIENT_DESC_MAX_LEN, 1, INT32_MAX);
  if (lim.max_raw_body > lim.max_body)
    lim.max_raw_body = lim.max_body;
  ft->http = dir_http_parser_new(&lim, false);
  if (!req || !t || !ft->http ||
      relay_stream_write(t, ft->stream, (const uint8_t *)req, len) != 0) {
    al_free(req);
    fetch_answer(ft, -1, NULL, 0);
    return;
  }
  al_free(req);
  chanmgr_flush(cm, ft->circ);
}

static void
cb_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
          void *arg)
{
  fetch_t *ft = arg;
  if (ft->dead || circ != ft->circ || ev->stream_id != ft->stream)
    return;
  switch (ev->type) {
  case RELAY_STREAM_EV_CONNECTED:
    send_request(ft, cm);
    break;
  case RELAY_STREAM_EV_DATA:
    if (!ft->http) {
      fetch_answer(ft, -1, NULL, 0);
      break;
    }
    switch (dir_http_parser_feed(ft->http, ev->data, ev->len)) {
    case DIR_HTTP_DONE:
      fetch_http_done(ft);
      break;
    case DIR_HTTP_ERROR:
      fetch_answer(ft, -1, NULL, 0);
      break;
    default:
      break;
    }
    break;
  case RELAY_STREAM_EV_END:
    if (ft->http && dir_http_parser_eof(ft->http) == DIR_HTTP_DONE)
      fetch_http_done(ft);
    else
      fetch_answer(ft, -1, NULL, 0);
    break;
  default:
    break;
  }
}

static void
cb_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
          void *arg)
{
  (void)cm;
  fetch_t *ft = arg;
  if (ft->dead || circ != ft->circ)
    return;
  log_info("Onion service descriptor fetch: circuit to the HSDir closed "
           "(%s)", info && info->what ? info->what : "?");
  ft->circ = 0;
  fetch_answer(ft, -1, NULL, 0);
}

/* Launch the next attempt, or finish when no HSDir is left. */
static void
fetch_next_attempt(fetch_t *ft)
{
  hs_client_fetcher_t *f = ft->f;
  time_t now = time(NULL);
  while (!ft->dead && ft->next_cand < ft->n_cand) {
    const uint8_t *rsa = ft->cand[ft->next_cand++];
    const node_t *n = nodelist_find_by_rsa_id(f->cfg.nl, rsa);
    if (!n || !node_is_usable(n) || hsdir_failed(f, rsa, &ft->blinded, now))
      continue;
    chanmgr_circ_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.on_built = cb_built;
    cbs.on_closed = cb_closed;
    cbs.on_stream = cb_stream;
    cbs.arg = ft;
    uint64_t circ = 0;
    memcpy(ft->cur, rsa, 20);
    if (f->cfg.launch(f->cfg.launch_arg, n, &cbs, &circ) != 0 || !circ) {
      hsdir_note_failed(f, rsa, &ft->blinded, now);
      continue;
    }
    ft->circ = circ;
    ft->n_asked++;
    fetch_observe(ft, HS_CLIENT_FETCH_EV_REQUESTED, rsa, NULL, NULL, 0);
    ft->deadline_msec = now_msec() + f->cfg.attempt_timeout_msec;
    log_info("Onion service descriptor fetch: asking HSDir %s (%zu of %zu)",
             n->nickname, ft->next_cand, ft->n_cand);
    return;
  }
  if (!ft->dead) {
    if (!ft->n_asked)
      fetch_observe(ft, HS_CLIENT_FETCH_EV_FAILED, NULL, "QUERY_NO_HSDIR", NULL,
                    0);
    hs_client_cache_put_failure(f->cache, &ft->pk, ft->worst, now,
                                HS_CLIENT_FAIL_CACHE_SEC);
    fetch_finish(ft, ft->worst, NULL);
  }
}

/* Fill ft's candidates: the responsible HSDirs in random order. */
static int
fetch_plan(fetch_t *ft)
{
  const nodelist_t *nl = ft->f->cfg.nl;
  const consensus_t *c = nodelist_get_consensus(nl);
  if (!c || !nodelist_consensus_is_live(nl, time(NULL)))
    return -1;
  hs_ring_params_t p;
  hs_ring_params_from_consensus(c, ft->f->cfg.testing_network, &p);
  uint8_t srv[32];
  hs_ring_fetch_tp_srv(c, &p, &ft->tp, srv);
  ft->plen = p.period_length;
  if (hs_blind_public_key(&ft->blinded, &ft->pk, NULL, 0, ft->tp,
                          ft->plen) != 0)
    return -1;
  hs_ring_t *r = hs_ring_build_from_nodelist(nl, srv, ft->tp, &p);
  const node_t *resp[MAX_CAND];
  size_t n = hs_ring_responsible(r, &ft->blinded, ft->tp, &p, p.spread_fetch,
                                 resp, MAX_CAND);
  const pathsel_options_t *po = ft->f->cfg.path_opts;
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (po && po->exclude_nodes &&
        routerset_contains_node(po->exclude_nodes, resp[i]))
      continue;   /* ExcludeNodes: never asked (tor skips them too) */
    memcpy(ft->cand[kept++], resp[i]->rsa_id, 20);
  }
  if (kept < n)
    log_info_rl(60, "Onion service descriptor fetch: %zu of %zu responsible "
                "HSDirs are in ExcludeNodes", n - kept, n);
  n = kept;
  hs_ring_free(r);
  ft->n_cand = n;
  /* rend-spec-v3 2.2.3: choose randomly among them */
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)crypto_rand_uint64(i);
    uint8_t tmp[20];
    memcpy(tmp, ft->cand[i - 1], 20);
    memcpy(ft->cand[i - 1], ft->cand[j], 20);
    memcpy(ft->cand[j], tmp, 20);
  }
  return n ? 0 : -1;
}

/* ---- fetcher ---- */

hs_client_fetcher_t *
hs_client_fetcher_new(const hs_client_fetch_cfg_t *cfg)
{
  if (!cfg || !cfg->cm || !cfg->nl || !cfg->launch)
    return NULL;
  hs_client_fetcher_t *f = al_calloc(1, sizeof(*f));
  f->cfg = *cfg;
  if (!f->cfg.attempt_timeout_msec)
    f->cfg.attempt_timeout_msec = DEFAULT_ATTEMPT_MSEC;
  f->cache = hs_client_cache_new();
  return f;
}

static void
fetch_free(fetch_t *ft)
{
  attempt_stop(ft);
  while (ft->waiters) {
    waiter_t *w = ft->waiters;
    ft->waiters = w->next;
    al_free(w);
  }
  memwipe(ft, sizeof(*ft));
  al_free(ft);
}

void
hs_client_fetcher_free_(hs_client_fetcher_t *f)
{
  if (!f)
    return;
  while (f->fetches) {
    fetch_t *ft = f->fetches;
    f->fetches = ft->next;
    ft->dead = true;
    fetch_free(ft);
  }
  hs_client_cache_free(f->cache);
  memwipe(f, sizeof(*f));
  al_free(f);
}

void
hs_client_fetcher_set_auth(hs_client_fetcher_t *f, const hs_auth_store_t *auth)
{
  if (f)
    f->cfg.auth = auth;
}

int
hs_client_fetch_start(hs_client_fetcher_t *f,
                      const ed25519_public_key_t *service_pk,
                      hs_client_fetch_cb cb, void *arg,
                      hs_client_desc_status_t *st,
                      const hs_client_desc_t **desc)
{
  hs_client_desc_status_t dummy_st;
  const hs_client_desc_t *dummy_desc;
  if (!st)
    st = &dummy_st;
  if (!desc)
    desc = &dummy_desc;
  *st = HS_CLIENT_DESC_NOT_FOUND;
  *desc = NULL;
  if (!f || !service_pk || !cb)
    return -1;
  int known = 0;
  *desc = hs_client_cache_lookup(f->cache, service_pk, time(NULL), st, &known);
  if (known)
    return 1;
  fetch_t *ft = NULL;
  for (fetch_t *x = f->fetches; x; x = x->next)
    if (!x->dead && !memcmp(x->pk.pubkey, service_pk->pubkey, 32))
      ft = x;
  bool fresh = !ft;
  if (fresh) {
    ft = al_calloc(1, sizeof(*ft));
    ft->f = f;
    ft->pk = *service_pk;
    ft->worst = HS_CLIENT_DESC_NOT_FOUND;
    if (fetch_plan(ft) != 0) {
      log_info_rl(60, "Onion service descriptor fetch: no responsible HSDir "
                  "(no live consensus or no HSDirs)");
      memwipe(ft, sizeof(*ft));
      al_free(ft);
      return -1;
    }
    ft->next = f->fetches;
    f->fetches = ft;
  }
  waiter_t *w = al_calloc(1, sizeof(*w));
  w->cb = cb;
  w->arg = arg;
  w->next = ft->waiters;
  ft->waiters = w;
  if (fresh) {
    /* Launch from the next tick so that no callback runs in this call. */
    ft->deadline_msec = 0;
  }
  return 0;
}

void
hs_client_fetch_cancel(hs_client_fetcher_t *f, hs_client_fetch_cb cb,
                       void *arg)
{
  if (!f)
    return;
  for (fetch_t *ft = f->fetches; ft; ft = ft->next)
    for (waiter_t **pp = &ft->waiters; *pp;) {
      if ((*pp)->cb == cb && (*pp)->arg == arg) {
        waiter_t *w = *pp;
        *pp = w->next;
        al_free(w);
      } else {
        pp = &(*pp)->next;
      }
    }
}

void
hs_client_fetcher_tick(hs_client_fetcher_t *f, uint64_t now)
{
  if (!f)
    return;
  for (fetch_t *ft = f->fetches; ft; ft = ft->next) {
    if (ft->dead)
      continue;
    if (!ft->circ && ft->next_cand == 0) {
      fetch_next_attempt(ft);         /* first attempt of a new fetch */
    } else if (ft->circ && now >= ft->deadline_msec) {
      log_info("Onion service descriptor fetch: HSDir attempt timed out");
      fetch_answer(ft, -1, NULL, 0);
    }
  }
  for (fetch_t **pp = &f->fetches; *pp;) {
    if ((*pp)->dead) {
      fetch_t *ft = *pp;
      *pp = ft->next;
      fetch_free(ft);
    } else {
      pp = &(*pp)->next;
    }
  }
}

hs_client_cache_t *
hs_client_fetcher_cache(hs_client_fetcher_t *f)
{
  return f ? f->cache : NULL;
}

size_t
hs_client_fetcher_n_pending(const hs_client_fetcher_t *f)
{
  size_t n = 0;
  if (f)
    for (const fetch_t *ft = f->fetches; ft; ft = ft->next)
      n += !ft->dead;
  return n;
}
