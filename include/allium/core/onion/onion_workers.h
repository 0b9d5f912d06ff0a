/* onion_workers.h -- answer create cells off the event loop: the loop
 * submits a CREATE/CREATE_FAST/CREATE2 cell, a worker thread runs
 * onion_server_answer(), the answer comes back to a callback on the loop
 * (tor-spec 5.1; tor's cpuworker rules: bounded queue, oldest request
 * dropped under a flood, requests that waited too long not answered).
 *
 * Use (loop thread only):
 *   w = onion_workers_new(&cfg, &keys);                   // NumCPUs threads
 *   req = onion_workers_submit(w, cmd, payload, len, done_cb, circ_ctx);
 *   ... done_cb(circ_ctx, result, &answer) runs later on the loop:
 *       result 0: circ_relay_new_answered(&answer) and send answer.reply;
 *       result < 0: send DESTROY(answer.destroy_reason)
 *   onion_workers_cancel(w, req) when the channel or circuit dies first:
 *       done_cb will then never run for req.
 * The answer passed to done_cb is wiped after it returns.
 */
#ifndef ALLIUM_CORE_ONION_ONION_WORKERS_H
#define ALLIUM_CORE_ONION_ONION_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "allium/core/onion/onion_server.h"

struct event_base;

typedef struct onion_workers_t onion_workers_t;
typedef struct onion_request_t onion_request_t;

/** The request was not answered: dropped from a full queue or expired
 * (answer.destroy_reason is RESOURCELIMIT). */
#define ONION_ERR_BUSY (-5)

/** Default bound of waiting requests, and how long one may wait (tor drops
 * onionskins that waited longer than its onion_queue_wait_cutoff, 5 s). */
#define ONION_WORKERS_DEFAULT_PENDING 4096
#define ONION_WORKERS_DEFAULT_WAIT_MSEC 5000

typedef struct onion_workers_cfg_t {
  struct event_base *base;   /**< loop for the callbacks (required) */
  unsigned n_threads;        /**< NumCPUs: 0 = online cores */
  size_t max_pending;        /**< 0: ONION_WORKERS_DEFAULT_PENDING */
  uint32_t max_wait_msec;    /**< 0: ONION_WORKERS_DEFAULT_WAIT_MSEC */
} onion_workers_cfg_t;

typedef void (*onion_done_fn)(void *ctx, int result, onion_answer_t *ans);

/** Start the pool with the relay's keys (copied).  NULL on failure. */
onion_workers_t *onion_workers_new(const onion_workers_cfg_t *cfg,
                                   const onion_server_keys_t *keys);
/** Stop; callbacks of unfinished requests run with ONION_ERR_BUSY (reason
 * RESOURCELIMIT) from inside this call.  NULL is fine. */
void onion_workers_free_(onion_workers_t *w);
#define onion_workers_free(p) do { onion_workers_free_(p); (p) = NULL; } while (0)

/** New keys (onion-key rotation): later requests use them; requests
 * already queued keep the ones they were submitted with. */
void onion_workers_set_keys(onion_workers_t *w, const onion_server_keys_t *k);
/** ntor v3 server offers (congestion control hook); NULL resets. */
void onion_workers_set_params(onion_workers_t *w,
                              const onion_server_params_t *params);

/** Queue a create cell (payload copied; len <= CELL_PAYLOAD_LEN is
 * used).  Returns the request handle (valid until cb runs or it is
 * cancelled), NULL on bad arguments. */
onion_request_t *onion_workers_submit(onion_workers_t *w, uint8_t command,
                                      const uint8_t *payload, size_t len,
                                      onion_done_fn cb, void *ctx);
/** Forget a request whose callback has not run: it never will. */
void onion_workers_cancel(onion_workers_t *w, onion_request_t *req);

/** Pool counters (see workqueue.h). */
typedef struct onion_workers_stats_t {
  uint64_t answered, failed, dropped, expired;
  size_t pending, pending_max;
  unsigned n_threads;
} onion_workers_stats_t;
void onion_workers_get_stats(onion_workers_t *w, onion_workers_stats_t *out);

#endif
