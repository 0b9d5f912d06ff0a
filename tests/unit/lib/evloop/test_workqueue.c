/* test_workqueue.c -- the worker pool (src/lib/evloop/workqueue.c): FIFO
 * order, drop-oldest under a flood, the age cutoff, cancel (pending and
 * running), shutdown with pending jobs, delivery on a libevent loop, and a
 * multi-thread stress run (meant for the ASan/TSan builds too). */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/lib/evloop/workqueue.h"

#define NJOBS 64

typedef struct job_t {
  int idx;
  int ran_order;            /* set by the worker */
  int reply_order;          /* set on the loop thread */
  int status;
  int replies;
} job_t;

static atomic_int gate;       /* blockers wait until it is 1 */
static atomic_int started;    /* blockers that are running */
static int run_seq;           /* touched by the single worker only */
static int reply_seq;

static void
work_seq(void *arg)
{
  job_t *j = arg;
  j->ran_order = run_seq++;
}

static void
work_block(void *arg)
{
  (void)arg;
  atomic_fetch_add(&started, 1);
  for (int i = 0; i < 5000 && !atomic_load(&gate); i++)
    usleep(1000);
}

static void
reply_rec(void *arg, workqueue_status_t status)
{
  job_t *j = arg;
  j->status = (int)status;
  j->reply_order = reply_seq++;
  j->replies++;
}

static void
reset(void)
{
  atomic_store(&gate, 0);
  atomic_store(&started, 0);
  run_seq = reply_seq = 0;
}

static void
wait_started(int n)
{
  for (int i = 0; i < 5000 && atomic_load(&started) < n; i++)
    usleep(1000);
  cr_assert_eq(atomic_load(&started), n);
}

TestSuite(workqueue, .init = reset);

Test(workqueue, fifo_order_one_thread)
{
  job_t jobs[NJOBS];
  memset(jobs, 0, sizeof(jobs));
  workqueue_cfg_t cfg = { .n_threads = 1 };
  workqueue_t *wq = workqueue_new(&cfg);
  cr_assert_not_null(wq);
  cr_assert_eq(workqueue_n_threads(wq), 1);
  for (int i = 0; i < NJOBS; i++) {
    jobs[i].idx = i;
    cr_assert_not_null(workqueue_submit(wq, work_seq, reply_rec, &jobs[i]));
  }
  workqueue_wait_idle(wq);
  cr_assert_eq(workqueue_process_replies(wq), NJOBS);
  for (int i = 0; i < NJOBS; i++) {
    cr_assert_eq(jobs[i].ran_order, i);
    cr_assert_eq(jobs[i].reply_order, i);
    cr_assert_eq(jobs[i].status, WORKQUEUE_DONE);
    cr_assert_eq(jobs[i].replies, 1);
  }
  cr_assert_eq(workqueue_process_replies(wq), 0);
  workqueue_free(wq);
  cr_assert_null(wq);
}

Test(workqueue, flood_drops_oldest)
{
  job_t blocker = { 0 }, jobs[10];
  memset(jobs, 0, sizeof(jobs));
  workqueue_cfg_t cfg = { .n_threads = 1, .max_pending = 4 };
  workqueue_t *wq = workqueue_new(&cfg);
  cr_assert_not_null(workqueue_submit(wq, work_block, reply_rec, &blocker));
  wait_started(1);
  for (int i = 0; i < 10; i++)
    cr_assert_not_null(workqueue_submit(wq, work_seq, reply_rec, &jobs[i]));
  /* The drops are reported on the loop, never from inside submit. */
  for (int i = 0; i < 10; i++)
    cr_assert_eq(jobs[i].replies, 0);
  workqueue_stats_t st;
  workqueue_get_stats(wq, &st);
  cr_assert_eq(st.pending, 4);
  cr_assert_eq(st.dropped, 6);
  cr_assert_eq(st.pending_max, 4);
  atomic_store(&gate, 1);
  workqueue_wait_idle(wq);
  (void)workqueue_process_replies(wq);
  for (int i = 0; i < 6; i++)
    cr_assert_eq(jobs[i].status, WORKQUEUE_DROPPED, "job %d", i);
  for (int i = 6; i < 10; i++)
    cr_assert_eq(jobs[i].status, WORKQUEUE_DONE, "job %d", i);
  for (int i = 0; i < 10; i++)
    cr_assert_eq(jobs[i].replies, 1);
  cr_assert_eq(blocker.status, WORKQUEUE_DONE);
  workqueue_free(wq);
}

Test(workqueue, expired_jobs_not_run)
{
  job_t blocker = { 0 }, late = { 0 };
  workqueue_cfg_t cfg = { .n_threads = 1, .max_wait_msec = 30 };
  workqueue_t *wq = workqueue_new(&cfg);
  workqueue_submit(wq, work_block, reply_rec, &blocker);
  wait_started(1);
  workqueue_submit(wq, work_seq, reply_rec, &late);
  usleep(80 * 1000);
  atomic_store(&gate, 1);
  workqueue_wait_idle(wq);
  (void)workqueue_process_replies(wq);
  cr_assert_eq(late.status, WORKQUEUE_EXPIRED);
  cr_assert_eq(run_seq, 0, "the expired job did not run");
  workqueue_stats_t st;
  workqueue_get_stats(wq, &st);
  cr_assert_eq(st.expired, 1);
  workqueue_free(wq);
}

Test(workqueue, cancel_pending_and_running)
{
  job_t blocker = { 0 }, a = { 0 }, b = { 0 };
  workqueue_cfg_t cfg = { .n_threads = 1 };
  workqueue_t *wq = workqueue_new(&cfg);
  workqueue_job_t *jb = workqueue_submit(wq, work_block, reply_rec, &blocker);
  wait_started(1);
  workqueue_job_t *ja = workqueue_submit(wq, work_seq, reply_rec, &a);
  workqueue_submit(wq, work_seq, reply_rec, &b);
  cr_assert_eq(workqueue_cancel(wq, ja), 0);    /* pending: gone */
  cr_assert_eq(workqueue_cancel(wq, jb), 1);    /* running: too late */
  cr_assert_lt(workqueue_cancel(wq, NULL), 0);
  atomic_store(&gate, 1);
  workqueue_wait_idle(wq);
  (void)workqueue_process_replies(wq);
  cr_assert_eq(a.replies, 0);
  cr_assert_eq(blocker.replies, 1);
  cr_assert_eq(blocker.status, WORKQUEUE_CANCELLED);
  cr_assert_eq(b.status, WORKQUEUE_DONE);
  cr_assert_eq(run_seq, 1, "only b ran");
  workqueue_free(wq);
}

Test(workqueue, cancel_finished_before_delivery)
{
  job_t a = { 0 };
  workqueue_cfg_t cfg = { .n_threads = 1 };
  workqueue_t *wq = workqueue_new(&cfg);
  workqueue_job_t *ja = workqueue_submit(wq, work_seq, reply_rec, &a);
  workqueue_wait_idle(wq);
  cr_assert_eq(workqueue_cancel(wq, ja), 0);
  cr_assert_eq(workqueue_process_replies(wq), 0);
  cr_assert_eq(a.replies, 0);
  workqueue_free(wq);
}

static void *
release_later(void *arg)
{
  (void)arg;
  usleep(100 * 1000);
  atomic_store(&gate, 1);
  return NULL;
}

Test(workqueue, shutdown_with_pending_jobs)
{
  job_t blocker = { 0 }, jobs[5];
  memset(jobs, 0, sizeof(jobs));
  workqueue_cfg_t cfg = { .n_threads = 1 };
  workqueue_t *wq = workqueue_new(&cfg);
  workqueue_submit(wq, work_block, reply_rec, &blocker);
  wait_started(1);
  for (int i = 0; i < 5; i++)
    workqueue_submit(wq, work_seq, reply_rec, &jobs[i]);
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, release_later, NULL), 0);
  workqueue_free(wq);    /* joins the worker once the blocker ends */
  pthread_join(t, NULL);
  cr_assert_eq(blocker.replies, 1);
  cr_assert_eq(blocker.status, WORKQUEUE_DONE);
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(jobs[i].replies, 1);
    cr_assert_eq(jobs[i].status, WORKQUEUE_SHUTDOWN);
  }
  cr_assert_eq(run_seq, 0);
}

/* ---- on a libevent loop, several threads ---- */

typedef struct loop_ctx_t {
  struct event_base *base;
  int want, got, bad;
} loop_ctx_t;

typedef struct sum_job_t {
  loop_ctx_t *ctx;
  uint64_t n, result;
} sum_job_t;

static void
work_sum(void *arg)
{
  sum_job_t *j = arg;
  uint64_t s = 0;
  for (uint64_t i = 0; i <= j->n; i++)
    s += i;
  j->result = s;
}

static void
reply_sum(void *arg, workqueue_status_t status)
{
  sum_job_t *j = arg;
  loop_ctx_t *c = j->ctx;
  if (status != WORKQUEUE_DONE || j->result != j->n * (j->n + 1) / 2)
    c->bad++;
  if (++c->got == c->want)
    event_base_loopexit(c->base, NULL);
}

Test(workqueue, replies_on_the_loop_many_threads)
{
  enum { N = 5000 };
  static sum_job_t jobs[N];
  loop_ctx_t c = { .base = event_base_new(), .want = N };
  workqueue_cfg_t cfg = { .n_threads = 4, .base = c.base,
                          .max_pending = N };
  workqueue_t *wq = workqueue_new(&cfg);
  cr_assert_not_null(wq);
  for (int i = 0; i < N; i++) {
    jobs[i] = (sum_job_t){ .ctx = &c, .n = (uint64_t)(i % 1000) };
    cr_assert_not_null(workqueue_submit(wq, work_sum, reply_sum, &jobs[i]));
  }
  struct timeval limit = { 20, 0 };
  event_base_loopexit(c.base, &limit);
  event_base_dispatch(c.base);
  cr_assert_eq(c.got, N);
  cr_assert_eq(c.bad, 0);
  workqueue_free(wq);
  event_base_free(c.base);
}

Test(workqueue, default_threads_are_cores)
{
  workqueue_t *wq = workqueue_new(NULL);
  cr_assert_not_null(wq);
  cr_assert_eq(workqueue_n_threads(wq), workqueue_online_cores());
  cr_assert_geq(workqueue_online_cores(), 1);
  cr_assert_null(workqueue_submit(wq, NULL, reply_rec, NULL));
  cr_assert_null(workqueue_submit(NULL, work_seq, reply_rec, NULL));
  workqueue_free(wq);
  workqueue_free(wq);   /* NULL now: fine */
}

/* A reply that cancels a later job of the same delivered batch: that job's
 * reply must never run, the rest of the batch is delivered in order, and
 * cancelling the job whose reply is running is refused. */
typedef struct cancel_ctx_t {
  workqueue_t *wq;
  workqueue_job_t *victim;
  workqueue_job_t *self;
  int cancel_r, self_r;
  job_t rec;
} cancel_ctx_t;

static void
work_nothing(void *arg)
{
  (void)arg;
}

static void
reply_cancels(void *arg, workqueue_status_t status)
{
  cancel_ctx_t *c = arg;
  c->cancel_r = workqueue_cancel(c->wq, c->victim);
  c->self_r = workqueue_cancel(c->wq, c->self);
  reply_rec(&c->rec, status);
}

Test(workqueue, reply_cancels_job_of_same_batch)
{
  job_t b = { 0 }, d = { 0 };
  cancel_ctx_t c = { 0 };
  workqueue_cfg_t cfg = { .n_threads = 1 };
  workqueue_t *wq = workqueue_new(&cfg);
  c.wq = wq;
  c.self = workqueue_submit(wq, work_nothing, reply_cancels, &c);
  c.victim = workqueue_submit(wq, work_seq, reply_rec, &b);
  workqueue_submit(wq, work_seq, reply_rec, &d);
  workqueue_wait_idle(wq);          /* all three replies are ready: one batch */
  cr_assert_eq(workqueue_process_replies(wq), 2);
  cr_assert_eq(c.cancel_r, 0);      /* gone before its reply ran */
  cr_assert_lt(c.self_r, 0);        /* its own reply is running */
  cr_assert_eq(c.rec.replies, 1);
  cr_assert_eq(b.replies, 0);
  cr_assert_eq(d.replies, 1);
  cr_assert_eq(d.status, WORKQUEUE_DONE);
  cr_assert_eq(workqueue_process_replies(wq), 0);
  workqueue_free(wq);
}

/* A busy pool holds replies back to wake the loop once per batch; when the
 * loop cancels the last waiting job, the held-back replies must still be
 * delivered at once (not only when the running job ends). */
Test(workqueue, held_back_batch_delivered_after_cancel)
{
  job_t q = { 0 }, blk = { 0 }, p = { 0 };
  struct event_base *base = event_base_new();
  workqueue_cfg_t cfg = { .n_threads = 1, .base = base };
  workqueue_t *wq = workqueue_new(&cfg);
  cr_assert_not_null(wq);
  workqueue_submit(wq, work_seq, reply_rec, &q);
  workqueue_submit(wq, work_block, reply_rec, &blk);
  workqueue_job_t *jp = workqueue_submit(wq, work_seq, reply_rec, &p);
  wait_started(1);                  /* q is done, blk runs, p waits */
  cr_assert_eq(workqueue_cancel(wq, jp), 0);
  for (int i = 0; i < 2000 && q.replies == 0; i++) {
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    usleep(1000);
  }
  cr_assert_eq(q.replies, 1, "q's reply waited for the blocker");
  cr_assert_eq(blk.replies, 0);
  atomic_store(&gate, 1);
  workqueue_wait_idle(wq);
  (void)workqueue_process_replies(wq);
  cr_assert_eq(blk.replies, 1);
  cr_assert_eq(p.replies, 0);
  workqueue_free(wq);
  event_base_free(base);
}
