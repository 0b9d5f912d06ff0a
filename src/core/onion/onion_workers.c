/* onion_workers.c -- create cells answered on the worker pool (tor-spec
 * 5.1 handshakes through onion_server_answer(); workqueue.h supplies the
 * threads, the bounded drop-oldest queue and the age cutoff).
 *
 * Keys are shared with the workers as immutable, reference-counted
 * snapshots: a request takes a reference when it is submitted and drops it
 * in its reply, both on the loop thread, so no atomics are needed and a key
 * rotation never changes what a running worker reads.
 */
#include "allium/core/onion/onion_workers.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/workqueue.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

typedef struct keys_ref_t {
  onion_server_keys_t keys;
  onion_server_params_t params;
  unsigned refs;            /* loop thread only */
} keys_ref_t;

struct onion_workers_t {
  workqueue_t *wq;
  keys_ref_t *cur;
  onion_workers_stats_t stats;
};

struct onion_request_t {
  onion_workers_t *w;
  workqueue_job_t *job;
  keys_ref_t *keys;
  onion_done_fn cb;
  void *ctx;
  bool cancelled;
  uint8_t command;
  size_t len;
  uint8_t payload[CELL_PAYLOAD_LEN];
  int result;
  onion_answer_t ans;
};

static void
keys_unref(keys_ref_t *k)
{
  if (k && --k->refs == 0) {
    memwipe(k, sizeof(*k));
    al_free(k);
  }
}

static keys_ref_t *
keys_new(const onion_server_keys_t *keys, const onion_server_params_t *p)
{
  keys_ref_t *k = al_calloc(1, sizeof(*k));
  k->keys = *keys;
  if (p)
    k->params = *p;
  k->refs = 1;
  return k;
}

static void
request_free(onion_request_t *r)
{
  keys_unref(r->keys);
  memwipe(r, sizeof(*r));
  al_free(r);
}

/* Worker thread: reads only r and its immutable key snapshot. */
static void
request_work(void *arg)
{
  onion_request_t *r = arg;
  r->result = onion_server_answer(&r->ans, &r->keys->keys, &r->keys->params,
                                  r->command, r->payload, r->len);
}

/* Loop thread. */
static void
request_reply(void *arg, workqueue_status_t status)
{
  onion_request_t *r = arg;
  onion_workers_t *w = r->w;
  if (r->cancelled || status == WORKQUEUE_CANCELLED) {
    request_free(r);
    return;
  }
  if (status != WORKQUEUE_DONE) {
    memset(&r->ans, 0, sizeof(r->ans));
    r->result = ONION_ERR_BUSY;
    r->ans.destroy_reason = CELL_DESTROY_RESOURCELIMIT;
    r->ans.error = status == WORKQUEUE_EXPIRED
      ? "create cell waited too long for a worker"
      : status == WORKQUEUE_SHUTDOWN ? "worker pool shut down"
      : "create cell dropped: worker queue full";
    if (status == WORKQUEUE_EXPIRED)
      w->stats.expired++;
    else
      w->stats.dropped++;
  } else if (r->result == 0) {
    w->stats.answered++;
  } else {
    w->stats.failed++;
  }
  r->cb(r->ctx, r->result, &r->ans);
  request_free(r);
}

onion_workers_t *
onion_workers_new(const onion_workers_cfg_t *cfg,
                  const onion_server_keys_t *keys)
{
  if (!cfg || !cfg->base || !keys)
    return NULL;
  workqueue_cfg_t wc = {
    .n_threads = cfg->n_threads,
    .max_pending = cfg->max_pending ? cfg->max_pending
                                    : ONION_WORKERS_DEFAULT_PENDING,
    .max_wait_msec = cfg->max_wait_msec ? cfg->max_wait_msec
                                        : ONION_WORKERS_DEFAULT_WAIT_MSEC,
    .base = cfg->base,
  };
  onion_workers_t *w = al_calloc(1, sizeof(*w));
  w->wq = workqueue_new(&wc);
  if (!w->wq) {
    al_free(w);
    return NULL;
  }
  w->cur = keys_new(keys, NULL);
  return w;
}

void
onion_workers_free_(onion_workers_t *w)
{
  if (!w)
    return;
  workqueue_free(w->wq);     /* runs the remaining replies */
  keys_unref(w->cur);
  al_free(w);
}

void
onion_workers_set_keys(onion_workers_t *w, const onion_server_keys_t *k)
{
  if (!w || !k)
    return;
  keys_ref_t *n = keys_new(k, &w->cur->params);
  keys_unref(w->cur);
  w->cur = n;
}

void
onion_workers_set_params(onion_workers_t *w,
                         const onion_server_params_t *params)
{
  if (!w)
    return;
  onion_server_params_t zero = { 0 };
  keys_ref_t *n = keys_new(&w->cur->keys, params ? params : &zero);
  keys_unref(w->cur);
  w->cur = n;
}

onion_request_t *
onion_workers_submit(onion_workers_t *w, uint8_t command,
                     const uint8_t *payload, size_t len, onion_done_fn cb,
                     void *ctx)
{
  if (!w || !cb || (!payload && len))
    return NULL;
  onion_request_t *r = al_calloc(1, sizeof(*r));
  r->w = w;
  r->cb = cb;
  r->ctx = ctx;
  r->command = command;
  r->len = len > CELL_PAYLOAD_LEN ? CELL_PAYLOAD_LEN : len;
  if (r->len)
    memcpy(r->payload, payload, r->len);
  r->keys = w->cur;
  w->cur->refs++;
  r->job = workqueue_submit(w->wq, request_work, request_reply, r);
  if (!r->job) {
    request_free(r);
    return NULL;
  }
  return r;
}

void
onion_workers_cancel(onion_workers_t *w, onion_request_t *req)
{
  if (!w || !req)
    return;
  if (workqueue_cancel(w->wq, req->job) == 0)
    request_free(req);       /* never ran, reply never comes */
  else
    req->cancelled = true;   /* running: its reply frees it silently */
}

void
onion_workers_get_stats(onion_workers_t *w, onion_workers_stats_t *out)
{
  workqueue_stats_t s;
  workqueue_get_stats(w->wq, &s);
  *out = w->stats;
  out->pending = s.pending;
  out->pending_max = s.pending_max;
  out->n_threads = s.n_threads;
}
