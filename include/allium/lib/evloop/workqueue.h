/* workqueue.h -- a pool of worker threads fed from the event loop, for
 * CPU-heavy jobs (onion handshakes) that must not stall the loop.
 *
 * The loop thread submits jobs (work function + reply function + argument).
 * Worker threads run work(arg); the reply(arg, status) then runs back on the
 * loop thread, woken through an eventfd (or a pipe) registered with the
 * libevent base.  Generic: nothing here knows what a job does.
 *
 * Bounded: at most max_pending jobs wait.  A submit to a full queue drops
 * the OLDEST waiting job (its reply gets WORKQUEUE_DROPPED), as tor drops
 * the oldest onionskin under a flood; a job that waited longer than
 * max_wait_msec is not run (WORKQUEUE_EXPIRED).  Every reply is delivered
 * on the loop thread, never from inside workqueue_submit().
 *
 * Thread rules: every function except the work callbacks is for the loop
 * thread only.  Work functions must touch only their argument (and
 * thread-safe libraries); arguments are not shared between jobs.
 */
#ifndef ALLIUM_LIB_EVLOOP_WORKQUEUE_H
#define ALLIUM_LIB_EVLOOP_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct workqueue_t workqueue_t;
typedef struct workqueue_job_t workqueue_job_t;

typedef enum workqueue_status_t {
  WORKQUEUE_DONE = 0,      /**< work() ran */
  WORKQUEUE_DROPPED,       /**< pushed out of a full queue; did not run */
  WORKQUEUE_EXPIRED,       /**< waited longer than max_wait_msec */
  WORKQUEUE_CANCELLED,     /**< cancelled while running (result stale) */
  WORKQUEUE_SHUTDOWN,      /**< the pool was freed before it ran */
} workqueue_status_t;

/** Runs on a worker thread. */
typedef void (*workqueue_work_fn)(void *arg);
/** Runs on the loop thread, exactly once per job unless workqueue_cancel()
 * returned 0 for it.  The job handle is invalid afterwards. */
typedef void (*workqueue_reply_fn)(void *arg, workqueue_status_t status);

typedef struct workqueue_cfg_t {
  unsigned n_threads;        /**< 0: the number of online cores */
  size_t max_pending;        /**< waiting jobs; 0: 4096 */
  uint32_t max_wait_msec;    /**< 0: no age limit */
  /** Loop to deliver replies on; NULL: the caller polls with
   * workqueue_process_replies(). */
  struct event_base *base;
} workqueue_cfg_t;

typedef struct workqueue_stats_t {
  uint64_t submitted, done, dropped, expired, cancelled;
  size_t pending;            /**< waiting now */
  size_t pending_max;        /**< most ever waiting */
  unsigned n_threads;
} workqueue_stats_t;

/** Start the pool.  NULL if threads or the wakeup fd cannot be created. */
workqueue_t *workqueue_new(const workqueue_cfg_t *cfg);
/** Stop: jobs not yet started get WORKQUEUE_SHUTDOWN, running ones finish,
 * threads are joined, every undelivered reply runs (on this thread), then
 * everything is freed.  NULL is fine. */
void workqueue_free_(workqueue_t *wq);
#define workqueue_free(p) do { workqueue_free_(p); (p) = NULL; } while (0)

/** Queue work(arg), reply(arg, status) later.  Returns the job handle
 * (valid until its reply runs), or NULL on bad arguments. */
workqueue_job_t *workqueue_submit(workqueue_t *wq, workqueue_work_fn work,
                                  workqueue_reply_fn reply, void *arg);

/** Cancel a job whose reply has not run yet.  0: it had not started and is
 * gone -- its reply will never run (the caller still owns arg).  1: too late
 * to stop it -- its reply runs later with WORKQUEUE_CANCELLED (free arg
 * there).  Negative on bad arguments. */
int workqueue_cancel(workqueue_t *wq, workqueue_job_t *job);

/** Deliver the replies that are ready (what the loop's wakeup event does);
 * returns how many ran. */
size_t workqueue_process_replies(workqueue_t *wq);

/** Block until no job is waiting or running (tests, shutdown paths); does
 * not deliver replies. */
void workqueue_wait_idle(workqueue_t *wq);

void workqueue_get_stats(workqueue_t *wq, workqueue_stats_t *out);
/** Threads the pool runs. */
unsigned workqueue_n_threads(const workqueue_t *wq);
/** The number of online cores (at least 1). */
unsigned workqueue_online_cores(void);

#endif
