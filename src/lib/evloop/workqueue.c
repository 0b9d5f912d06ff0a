/* workqueue.c -- worker thread pool with a bounded, drop-oldest job queue
 * and replies delivered on the libevent loop through an eventfd (or pipe).
 * No spec section: local process machinery (tor's cpuworker rules:
 * drop the oldest request when full, do not run requests that waited too
 * long).  See include/allium/lib/evloop/workqueue.h.
 *
 * One mutex guards the pending and reply lists and the counters.  A job is
 * in exactly one place: the pending list (PENDING), a worker's hands
 * (RUNNING), the reply list (REPLY), or the batch the loop is delivering
 * (DELIVERING; that list is the loop thread's alone).  The loop takes all
 * ready replies in one lock round and is woken once per batch; a submit
 * wakes a worker only when one is idle.  Workers block signals so they go to the main thread.
 */
#include "allium/lib/evloop/workqueue.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#define WQ_DEFAULT_PENDING 4096
#define WQ_MAX_THREADS 128
/* Replies a busy pool collects before it wakes the loop (worker_signal). */
#define WQ_REPLY_BATCH 8

typedef enum {
  JOB_PENDING, JOB_RUNNING, JOB_REPLY, JOB_DELIVERING, JOB_REPLYING
} job_state_t;

struct workqueue_job_t {
  workqueue_job_t *prev, *next;
  workqueue_work_fn work;
  workqueue_reply_fn reply;
  void *arg;
  uint64_t queued_at;
  job_state_t state;
  workqueue_status_t status;
  bool cancelled;
};

typedef struct job_list_t {
  workqueue_job_t *head, *tail;
  size_t n;
} job_list_t;

struct workqueue_t {
  pthread_mutex_t lock;
  pthread_cond_t work_cond;   /* a job is pending, or stopping */
  pthread_cond_t idle_cond;   /* nothing pending or running */
  job_list_t pending;
  job_list_t replies;
  job_list_t delivering;      /* taken by the loop in one batch; loop only */
  size_t n_running;
  unsigned n_idle;            /* workers waiting on work_cond */
  bool stopping;
  bool signalled;             /* a wakeup is in the fd, not yet drained */
  workqueue_cfg_t cfg;
  pthread_t *threads;
  unsigned n_threads;
  int rfd, wfd;               /* eventfd: rfd == wfd */
  struct event *ev;
  workqueue_stats_t stats;
};

static void
list_append(job_list_t *l, workqueue_job_t *j)
{
  j->next = NULL;
  j->prev = l->tail;
  if (l->tail)
    l->tail->next = j;
  else
    l->head = j;
  l->tail = j;
  l->n++;
}

static void
list_unlink(job_list_t *l, workqueue_job_t *j)
{
  if (j->prev)
    j->prev->next = j->next;
  else
    l->head = j->next;
  if (j->next)
    j->next->prev = j->prev;
  else
    l->tail = j->prev;
  j->prev = j->next = NULL;
  l->n--;
}

static workqueue_job_t *
list_pop(job_list_t *l)
{
  workqueue_job_t *j = l->head;
  if (j)
    list_unlink(l, j);
  return j;
}

/* Lock held.  Make the loop's wakeup fd readable (once per drain). */
static void
wq_signal(workqueue_t *wq)
{
  if (wq->signalled)
    return;
  wq->signalled = true;
#ifdef __linux__
  if (wq->rfd == wq->wfd) {
    uint64_t one = 1;
    ssize_t r = write(wq->wfd, &one, sizeof(one));
    (void)r;   /* EAGAIN: the counter is already non-zero */
    return;
  }
#endif
  char c = 1;
  ssize_t r = write(wq->wfd, &c, 1);
  (void)r;     /* EAGAIN: the pipe already holds a wakeup */
}

/* Lock held: queue j's reply with status, without waking the loop. */
static void
queue_reply(workqueue_t *wq, workqueue_job_t *j, workqueue_status_t status)
{
  j->state = JOB_REPLY;
  j->status = status;
  list_append(&wq->replies, j);
}

/* Lock held: hand j to the loop with status, waking it now. */
static void
push_reply(workqueue_t *wq, workqueue_job_t *j, workqueue_status_t status)
{
  queue_reply(wq, j, status);
  wq_signal(wq);
}

/* Lock held, on a worker after it queued a reply: wake the loop once per
 * batch.  While jobs are still waiting the workers are about to produce
 * more replies, so the loop is woken after WQ_REPLY_BATCH of them (one
 * wakeup, one pass of sends for the batch); as soon as nothing is waiting
 * (the normal, unloaded case) it is woken at once, so a reply is never
 * held back by more than the batch's few jobs. */
static void
worker_signal(workqueue_t *wq)
{
  if (wq->replies.n >= WQ_REPLY_BATCH || wq->pending.n == 0 || wq->stopping)
    wq_signal(wq);
}

/* Lock held. */
static void
note_idle(workqueue_t *wq)
{
  if (wq->pending.n == 0 && wq->n_running == 0)
    pthread_cond_broadcast(&wq->idle_cond);
}

static void *
worker_main(void *p)
{
  workqueue_t *wq = p;
  pthread_mutex_lock(&wq->lock);
  for (;;) {
    while (!wq->stopping && wq->pending.n == 0) {
      wq->n_idle++;
      pthread_cond_wait(&wq->work_cond, &wq->lock);
      wq->n_idle--;
    }
    if (wq->stopping)
      break;
    workqueue_job_t *j = list_pop(&wq->pending);
    if (wq->cfg.max_wait_msec &&
        evloop_monotonic_msec() - j->queued_at > wq->cfg.max_wait_msec) {
      wq->stats.expired++;
      queue_reply(wq, j, WORKQUEUE_EXPIRED);
      worker_signal(wq);
      note_idle(wq);
      continue;
    }
    j->state = JOB_RUNNING;
    wq->n_running++;
    pthread_mutex_unlock(&wq->lock);
    j->work(j->arg);
    pthread_mutex_lock(&wq->lock);
    wq->n_running--;
    wq->stats.done++;
    queue_reply(wq, j, j->cancelled ? WORKQUEUE_CANCELLED : WORKQUEUE_DONE);
    worker_signal(wq);
    note_idle(wq);
  }
  pthread_mutex_unlock(&wq->lock);
  return NULL;
}

static void
drain_fd(workqueue_t *wq)
{
  uint8_t buf[64];
  for (;;) {
    ssize_t r = read(wq->rfd, buf, wq->rfd == wq->wfd ? 8 : sizeof(buf));
    if (r <= 0 || wq->rfd == wq->wfd)
      break;
  }
}

size_t
workqueue_process_replies(workqueue_t *wq)
{
  size_t done = 0;
  if (!wq)
    return 0;
  /* Take every ready reply in one critical section: one lock round per
   * batch, not per reply.  The delivering list belongs to the loop thread
   * (workers never touch it), so it is walked without the lock; a reply may
   * still cancel another job of the batch, which workqueue_cancel() then
   * unlinks from it. */
  pthread_mutex_lock(&wq->lock);
  wq->signalled = false;
  drain_fd(wq);
  if (wq->replies.n) {
    job_list_t *d = &wq->delivering;
    if (d->tail) {          /* left over from a reply that re-entered us */
      d->tail->next = wq->replies.head;
      wq->replies.head->prev = d->tail;
    } else {
      d->head = wq->replies.head;
    }
    d->tail = wq->replies.tail;
    d->n += wq->replies.n;
    for (workqueue_job_t *j = wq->replies.head; j; j = j->next)
      j->state = JOB_DELIVERING;
    memset(&wq->replies, 0, sizeof(wq->replies));
  }
  pthread_mutex_unlock(&wq->lock);
  workqueue_job_t *j;
  while ((j = list_pop(&wq->delivering)) != NULL) {
    j->state = JOB_REPLYING;   /* its handle is dead from here on */
    j->reply(j->arg, j->status);
    al_free(j);
    done++;
  }
  pthread_mutex_lock(&wq->lock);
  if (wq->replies.n)
    wq_signal(wq);      /* came in meanwhile: run again */
  pthread_mutex_unlock(&wq->lock);
  return done;
}

static void
wq_event_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  (void)workqueue_process_replies(arg);
}

unsigned
workqueue_online_cores(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    return 1;
  return n > WQ_MAX_THREADS ? WQ_MAX_THREADS : (unsigned)n;
}

static int
open_wakeup(workqueue_t *wq)
{
#ifdef __linux__
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd >= 0) {
    wq->rfd = wq->wfd = fd;
    return 0;
  }
#endif
  int p[2];
  if (pipe(p) < 0)
    return -1;
  for (int i = 0; i < 2; i++) {
    (void)fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
    (void)fcntl(p[i], F_SETFD, FD_CLOEXEC);
  }
  wq->rfd = p[0];
  wq->wfd = p[1];
  return 0;
}

static int
start_threads(workqueue_t *wq, unsigned n)
{
  sigset_t all, old;
  sigfillset(&all);
  wq->threads = al_calloc(n, sizeof(pthread_t));
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (unsigned i = 0; i < n; i++) {
    if (pthread_create(&wq->threads[i], NULL, worker_main, wq) != 0)
      break;
    wq->n_threads++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return wq->n_threads == n ? 0 : -1;
}

workqueue_t *
workqueue_new(const workqueue_cfg_t *cfg)
{
  workqueue_t *wq = al_calloc(1, sizeof(*wq));
  wq->rfd = wq->wfd = -1;
  if (cfg)
    wq->cfg = *cfg;
  if (wq->cfg.max_pending == 0)
    wq->cfg.max_pending = WQ_DEFAULT_PENDING;
  unsigned n = wq->cfg.n_threads ? wq->cfg.n_threads : workqueue_online_cores();
  if (n > WQ_MAX_THREADS)
    n = WQ_MAX_THREADS;
  pthread_mutex_init(&wq->lock, NULL);
  pthread_cond_init(&wq->work_cond, NULL);
  pthread_cond_init(&wq->idle_cond, NULL);
  if (open_wakeup(wq) < 0)
    goto fail;
  if (wq->cfg.base) {
    wq->ev = event_new(wq->cfg.base, wq->rfd, EV_READ | EV_PERSIST,
                       wq_event_cb, wq);
    if (!wq->ev || event_add(wq->ev, NULL) < 0)
      goto fail;
  }
  if (start_threads(wq, n) < 0)
    goto fail;
  wq->stats.n_threads = n;
  return wq;
 fail:
  workqueue_free_(wq);
  return NULL;
}

void
workqueue_free_(workqueue_t *wq)
{
  if (!wq)
    return;
  pthread_mutex_lock(&wq->lock);
  wq->stopping = true;
  workqueue_job_t *j;
  while ((j = list_pop(&wq->pending)) != NULL)
    push_reply(wq, j, WORKQUEUE_SHUTDOWN);
  pthread_cond_broadcast(&wq->work_cond);
  pthread_mutex_unlock(&wq->lock);
  for (unsigned i = 0; i < wq->n_threads; i++)
    pthread_join(wq->threads[i], NULL);
  /* Every thread is gone: deliver what is left, here. */
  while ((j = list_pop(&wq->delivering)) != NULL ||
         (j = list_pop(&wq->replies)) != NULL) {
    j->reply(j->arg, j->status);
    al_free(j);
  }
  if (wq->ev)
    event_free(wq->ev);
  if (wq->rfd >= 0)
    close(wq->rfd);
  if (wq->wfd >= 0 && wq->wfd != wq->rfd)
    close(wq->wfd);
  pthread_cond_destroy(&wq->work_cond);
  pthread_cond_destroy(&wq->idle_cond);
  pthread_mutex_destroy(&wq->lock);
  al_free(wq->threads);
  al_free(wq);
}

workqueue_job_t *
workqueue_submit(workqueue_t *wq, workqueue_work_fn work,
                 workqueue_reply_fn reply, void *arg)
{
  if (!wq || !work || !reply)
    return NULL;
  workqueue_job_t *j = al_calloc(1, sizeof(*j));
  j->work = work;
  j->reply = reply;
  j->arg = arg;
  j->queued_at = evloop_monotonic_msec();
  j->state = JOB_PENDING;
  pthread_mutex_lock(&wq->lock);
  if (wq->pending.n >= wq->cfg.max_pending) {
    workqueue_job_t *old = list_pop(&wq->pending);   /* the oldest */
    wq->stats.dropped++;
    push_reply(wq, old, WORKQUEUE_DROPPED);
  }
  list_append(&wq->pending, j);
  wq->stats.submitted++;
  if (wq->pending.n > wq->stats.pending_max)
    wq->stats.pending_max = wq->pending.n;
  /* Under a flood every worker is busy and picks the job up when it is
   * done with its current one: wake one only when one sleeps. */
  if (wq->n_idle)
    pthread_cond_signal(&wq->work_cond);
  pthread_mutex_unlock(&wq->lock);
  return j;
}

int
workqueue_cancel(workqueue_t *wq, workqueue_job_t *job)
{
  if (!wq || !job)
    return -1;
  int r = 0;
  pthread_mutex_lock(&wq->lock);
  switch (job->state) {
  case JOB_PENDING:
    list_unlink(&wq->pending, job);
    note_idle(wq);
    if (wq->pending.n == 0 && wq->replies.n)
      wq_signal(wq);   /* a held-back batch no worker will complete */
    break;
  case JOB_REPLY:
    list_unlink(&wq->replies, job);
    break;
  case JOB_DELIVERING:
    list_unlink(&wq->delivering, job);
    break;
  case JOB_RUNNING:
    job->cancelled = true;
    r = 1;
    break;
  case JOB_REPLYING:        /* misuse: its reply is running right now */
    pthread_mutex_unlock(&wq->lock);
    return -1;
  }
  wq->stats.cancelled++;
  pthread_mutex_unlock(&wq->lock);
  if (r == 0)
    al_free(job);
  return r;
}

void
workqueue_wait_idle(workqueue_t *wq)
{
  if (!wq)
    return;
  pthread_mutex_lock(&wq->lock);
  while (wq->pending.n != 0 || wq->n_running != 0)
    pthread_cond_wait(&wq->idle_cond, &wq->lock);
  pthread_mutex_unlock(&wq->lock);
}

void
workqueue_get_stats(workqueue_t *wq, workqueue_stats_t *out)
{
  pthread_mutex_lock(&wq->lock);
  *out = wq->stats;
  out->pending = wq->pending.n;
  pthread_mutex_unlock(&wq->lock);
}

unsigned
workqueue_n_threads(const workqueue_t *wq)
{
  return wq ? wq->n_threads : 0;
}
