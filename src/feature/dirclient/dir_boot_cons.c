/* dir_boot_cons.c -- the client's consensus fetches (dir-spec 5.1, 5.2):
 * while bootstrapping (no reasonably live consensus) several attempts at
 * once on two schedules, as tor(1) describes for its
 * ClientBootstrapConsensus* options: fallback directory mirrors at once,
 * then after randomised, exponentially growing delays; authorities 6 s
 * later (at once without fallbacks) on their own schedule; each schedule
 * is advanced by attempts, not by failures; at most 3 attempts in
 * progress; the first attempt whose channel opens wins and the others are
 * closed.  With a live consensus held, one refresh at a time at the random
 * time dir-spec 5.1 gives, retried with a doubling backoff while the
 * consensus stays live. */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#define LOG_MODULE "dirboot"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dir_boot_st.h"

/** Whole-fetch timeout (milliseconds). */
#define CONSENSUS_FETCH_TIMEOUT_MS 60000

uint32_t
dir_boot_sched_next(uint32_t last_ms, double r, bool testing)
{
  uint64_t cap = testing ? DIR_BOOT_TESTING_MAX_MS : DIR_BOOT_SCHED_MAX_MS;
  uint64_t lo = (uint64_t)last_ms + 1000;
  uint64_t hi = (uint64_t)last_ms * (testing ? 2 : 3);
  if (hi < lo)
    hi = lo;
  if (hi > cap)
    hi = cap;
  if (lo > hi)
    lo = hi;
  if (!(r >= 0 && r < 1))
    r = 0;
  return (uint32_t)(lo + (uint64_t)(r * (double)(hi - lo)));
}

static bool
need_certs(const dir_boot_t *b)
{
  if (b->certs_stale)
    return true;
  for (size_t i = 0; i < b->n_auths; i++) {
    if (!b->auths[i].has_v3ident)
      continue;
    bool have = false;
    for (size_t k = 0; k < b->n_certs && !have; k++)
      have = !memcmp(b->certs[k]->identity_digest, b->auths[i].v3ident, 20) &&
             authcert_is_live(b->certs[k], b->now(), 0);
    if (!have)
      return true;
  }
  return false;
}

static void
cons_on_progress(int pct, const char *tag, void *arg)
{
  dir_job_t *j = arg;
  (void)pct;
  if (!strcmp(tag, "conn")) {
    bootstrap_report(BOOTSTRAP_CONN);
  } else if (!strcmp(tag, "conn_done")) {
    bootstrap_report(BOOTSTRAP_CONN_DONE);
    j->connected = true;
    dir_boot_reap_soon(j->b);   /* close the other attempts */
  } else if (!strcmp(tag, "onehop_create")) {
    bootstrap_report(BOOTSTRAP_ONEHOP_CREATE);
    bootstrap_report(BOOTSTRAP_REQUESTING_STATUS);
  }
}

static void
cons_on_result(size_t idx, int status, const uint8_t *body, size_t len,
               const char *why, void *arg)
{
  dir_job_t *j = arg;
  dir_boot_t *b = j->b;
  const char *path = idx < j->paths.n ? j->paths.paths[idx] : "?";
  if (status != 200 || !body) {
    log_info("Directory request %s: %s %d%s%s", path,
             status < 0 ? "failed" : "status", status, why ? ": " : "",
             why ? why : "");
    return;
  }
  if ((int)idx == j->other_idx) {
    if (dir_boot_take_other_consensus(b, (const char *)body, len,
                                      dir_boot_src_name(j->src)) == 0)
      dir_boot_schedule(b->desc_timer, 0);
    return;
  }
  if ((int)idx == j->keys_idx) {
    if (dir_boot_take_certs(b, (const char *)body, len,
                            dir_boot_src_name(j->src)) == 0)
      dir_cache_save_certs(b);
    return;
  }
  bootstrap_report(BOOTSTRAP_LOADING_STATUS);
  if (dir_boot_take_consensus(b, (const char *)body, len,
                              dir_boot_src_name(j->src)) < 0)
    return;
  j->got_consensus = true;
  dir_cache_write(b, dir_cache_consensus_name(b), (const char *)body, len);
}

static void
cons_on_done(int err, const char *why, void *arg)
{
  dir_job_t *j = arg;
  if (err)
    log_info("Consensus fetch ended: %s", why ? why : "error");
  j->done = true;
  dir_boot_reap_soon(j->b);
}

/* Request paths: the v3 certificates when needed, then the consensus. */
static int
cons_build_paths(dir_boot_t *b, dir_job_t *j)
{
  uint8_t (*ids)[20] = al_calloc(b->n_auths ? b->n_auths : 1, 20);
  size_t n = 0;
  for (size_t i = 0; i < b->n_auths; i++)
    if (b->auths[i].has_v3ident)
      memcpy(ids[n++], b->auths[i].v3ident, 20);
  j->keys_idx = -1;
  if (need_certs(b) && n) {
    if (dir_url_keys_fp(&j->paths, (const uint8_t (*)[20])ids, n, true) < 0 ||
        j->paths.n != 1) {
      al_free(ids);
      return -1;
    }
    j->keys_idx = 0;
  }
  char *cp = dir_url_consensus(b->use_microdescs ? "microdesc" : NULL,
                               (const uint8_t (*)[20])ids, n,
                               DIR_URL_CONSENSUS_FP_PREFIX, true);
  /* A cache fetches the other flavour too (dir-spec 4.1). */
  char *op = dir_boot_other_cons_path(b, (const uint8_t (*)[20])ids, n);
  al_free(ids);
  if (!cp) {
    al_free(op);
    return -1;
  }
  j->paths.paths = al_reallocarray(j->paths.paths, j->paths.n + 2,
                                   sizeof(char *));
  j->paths.paths[j->paths.n++] = cp;
  j->other_idx = -1;
  if (op) {
    j->other_idx = (int)j->paths.n;
    j->paths.paths[j->paths.n++] = op;
  }
  return 0;
}

static size_t
cons_jobs_running(const dir_boot_t *b, bool *connected)
{
  size_t n = 0;
  if (connected)
    *connected = false;
  for (size_t i = 0; i < DIR_BOOT_MAX_IN_PROGRESS; i++)
    if (b->cjobs[i]) {
      n++;
      if (connected && b->cjobs[i]->connected && !b->cjobs[i]->done)
        *connected = true;
    }
  return n;
}

/* Start one consensus attempt from src; false if none could start. */
static bool
cons_attempt(dir_boot_t *b, dir_src_t src)
{
  size_t slot = 0, idx;
  while (slot < DIR_BOOT_MAX_IN_PROGRESS && b->cjobs[slot])
    slot++;
  if (slot == DIR_BOOT_MAX_IN_PROGRESS ||
      !dir_boot_pick(b, src, b->last_idx[src], &idx))
    return false;
  dir_job_t *j = al_calloc(1, sizeof(*j));
  j->b = b;
  j->kind = DIR_JOB_CONSENSUS;
  j->src = src;
  j->started_ms = evloop_monotonic_msec();
  if (cons_build_paths(b, j) < 0) {
    log_warn("Cannot build the consensus request");
    dir_boot_job_free(j);
    return false;
  }
  char who[160];
  dir_boot_describe(b, src, idx, who, sizeof(who));
  log_info("Fetching the consensus from %s", who);
  dir_fetch_callbacks_t cbs = { cons_on_result, cons_on_done,
                                cons_on_progress, j };
  b->last_idx[src] = idx;
  b->cjobs[slot] = j;
  j->fetch = dir_boot_job_start(b, j, src, idx, DIR_DOC_CONSENSUS,
                                CONSENSUS_FETCH_TIMEOUT_MS, &cbs);
  if (!j->fetch) {
    log_info("Could not connect to %s", who);
    j->done = true;
    dir_boot_reap_soon(b);
  }
  return true;
}

/* All slots taken by attempts that have not connected: close the oldest
 * if it is older than DIR_BOOT_CONNECT_TIMEOUT_MS (true), else return
 * false with *wait_ms set to when it will be. */
static bool
cons_drop_stalled(dir_boot_t *b, uint32_t *wait_ms)
{
  uint64_t now = evloop_monotonic_msec();
  size_t oldest = SIZE_MAX;
  for (size_t i = 0; i < DIR_BOOT_MAX_IN_PROGRESS; i++)
    if (b->cjobs[i] && !b->cjobs[i]->done &&
        (oldest == SIZE_MAX ||
         b->cjobs[i]->started_ms < b->cjobs[oldest]->started_ms))
      oldest = i;
  if (oldest == SIZE_MAX) {
    *wait_ms = 0;
    return false;
  }
  uint64_t age = now - b->cjobs[oldest]->started_ms;
  if (age < DIR_BOOT_CONNECT_TIMEOUT_MS) {
    *wait_ms = (uint32_t)(DIR_BOOT_CONNECT_TIMEOUT_MS - age) + 1;
    return false;
  }
  log_info("Giving up on a consensus attempt that did not connect within "
           "%u s", DIR_BOOT_CONNECT_TIMEOUT_MS / 1000);
  dir_boot_job_free(b->cjobs[oldest]);
  b->cjobs[oldest] = NULL;
  return true;
}

void
dir_boot_sched_fire(evutil_socket_t fd, short what, void *arg)
{
  dir_sched_t *s = arg;
  dir_boot_t *b = s->b;
  bool connected;
  uint32_t wait_ms = 0;
  (void)fd;
  (void)what;
  if (!b->bootstrapping)
    return;
  size_t n = cons_jobs_running(b, &connected);
  if (connected || (n >= DIR_BOOT_MAX_IN_PROGRESS &&
                    !cons_drop_stalled(b, &wait_ms))) {
    /* Woken when an attempt ends, or when the oldest one has had its
     * time to connect: no polling. */
    s->waiting = true;
    if (wait_ms)
      dir_boot_schedule(s->timer, wait_ms);
    return;
  }
  s->waiting = false;
  if (!cons_attempt(b, s->src))
    return;
  s->n_attempts++;
  s->delay_ms = dir_boot_sched_next(s->delay_ms, crypto_rand_double(),
                                    b->testing_network);
  dir_boot_schedule(s->timer, s->delay_ms);
}

void
dir_boot_bootstrap_begin(dir_boot_t *b)
{
  if (b->bootstrapping)
    return;
  b->bootstrapping = true;
  size_t dummy;
  bool have_fb = dir_boot_pick(b, DIR_SRC_FALLBACK, SIZE_MAX, &dummy);
  dir_sched_t *fb = &b->sched[DIR_SRC_FALLBACK];
  dir_sched_t *au = &b->sched[DIR_SRC_AUTHORITY];
  fb->waiting = au->waiting = false;
  fb->delay_ms = DIR_BOOT_FALLBACK_INITIAL_MS;
  au->delay_ms = have_fb ? DIR_BOOT_AUTHORITY_INITIAL_MS
                         : DIR_BOOT_AUTHORITY_ONLY_INITIAL_MS;
  log_info("Bootstrapping the consensus from %s",
           have_fb ? "fallback directory mirrors, then authorities"
                   : "the directory authorities");
  if (have_fb)
    dir_boot_schedule(fb->timer, fb->delay_ms);
  dir_boot_schedule(au->timer, au->delay_ms);
}

static void
bootstrap_end(dir_boot_t *b)
{
  b->bootstrapping = false;
  for (size_t i = 0; i < 2; i++) {
    evtimer_del(b->sched[i].timer);
    b->sched[i].waiting = false;
  }
}

void
dir_boot_schedule_refresh(dir_boot_t *b)
{
  const consensus_t *c = nodelist_get_consensus(b->nl);
  if (!c)
    return;
  time_t now = b->now();
  time_t t = b->fetch_as_cache
             ? dir_boot_cache_refresh_time(c->valid_after, c->fresh_until,
                                           crypto_rand_double())
             : dir_boot_refresh_time(c->valid_after, c->fresh_until,
                                     c->valid_until, b->fetch_early,
                                     crypto_rand_double());
  long long delay = t > now ? (long long)(t - now) : 0;
  if (delay > 7 * 24 * 3600)
    delay = 7 * 24 * 3600;
  evtimer_del(b->cons_timer);
  dir_boot_schedule(b->cons_timer, (uint32_t)delay * 1000u);
  log_info("Next consensus fetch in %lld seconds", delay);
}

/* The refresh timer: bootstrap when no live consensus is held, else one
 * attempt (a fallback when configured, an authority every other retry
 * after a failure). */
void
dir_boot_cons_fetch(evutil_socket_t fd, short what, void *arg)
{
  dir_boot_t *b = arg;
  (void)fd;
  (void)what;
  if (!nodelist_consensus_is_live(b->nl, b->now())) {
    dir_boot_bootstrap_begin(b);
    return;
  }
  if (b->bootstrapping || cons_jobs_running(b, NULL))
    return;
  /* Caches fetch from the authorities (dir-spec 4.1). */
  if (b->fetch_as_cache || b->refresh_use_auths ||
      !cons_attempt(b, DIR_SRC_FALLBACK))
    cons_attempt(b, DIR_SRC_AUTHORITY);
}

/* Free finished jobs and, once one attempt has connected, the others;
 * true if one of them brought a new consensus (*src: from where). */
static bool
reap_jobs(dir_boot_t *b, bool *freed, dir_src_t *src)
{
  bool ok = false, connected;
  cons_jobs_running(b, &connected);
  *freed = false;
  for (size_t i = 0; i < DIR_BOOT_MAX_IN_PROGRESS; i++) {
    dir_job_t *j = b->cjobs[i];
    if (!j || !(j->done || (connected && !j->connected)))
      continue;
    if (!j->done)
      log_info("Closing a slower consensus attempt: another one connected");
    if (j->got_consensus) {
      ok = true;
      *src = j->src;
    }
    dir_boot_job_free(j);
    b->cjobs[i] = NULL;
    *freed = true;
  }
  return ok;
}

void
dir_boot_cons_reap(dir_boot_t *b)
{
  bool freed;
  dir_src_t src = DIR_SRC_FALLBACK;
  if (reap_jobs(b, &freed, &src)) {
    for (size_t i = 0; i < DIR_BOOT_MAX_IN_PROGRESS; i++)
      dir_boot_job_free(b->cjobs[i]), b->cjobs[i] = NULL;
    bootstrap_end(b);
    b->descs_dirty = true;
    b->backoff_ms = 0;
    b->refresh_use_auths = false;
    b->desc_backoff_ms = 0;
    /* Descriptors from where the consensus came: when the fallbacks were
     * unreachable, the authorities. */
    b->desc_use_auths = src == DIR_SRC_AUTHORITY;
    dir_boot_report(b);
    dir_boot_schedule_refresh(b);
    evtimer_del(b->desc_timer);
    dir_boot_schedule(b->desc_timer, 0);
    return;
  }
  if (!freed)
    return;
  if (b->bootstrapping) {
    for (size_t i = 0; i < 2; i++)
      if (b->sched[i].waiting)
        dir_boot_schedule(b->sched[i].timer, 0);
    return;
  }
  if (cons_jobs_running(b, NULL))
    return;
  if (!nodelist_consensus_is_live(b->nl, b->now())) {
    dir_boot_bootstrap_begin(b);
    return;
  }
  b->backoff_ms = dir_boot_backoff_next(b->backoff_ms);
  b->refresh_use_auths = !b->refresh_use_auths;
  log_info("No new consensus; retrying in %u ms", b->backoff_ms);
  evtimer_del(b->cons_timer);
  dir_boot_schedule(b->cons_timer, b->backoff_ms);
}
