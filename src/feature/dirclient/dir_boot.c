/* dir_boot.c -- the client's directory bootstrap and refresh (dir-spec 4,
 * 5.1, 5.2): fetch the authorities' key certificates and the consensus from
 * a randomly chosen authority over a one-hop BEGIN_DIR circuit (dir_fetch),
 * retrying with a doubling backoff (authorities answer 404 until their first
 * consensus exists), then the missing descriptors in batches spread over
 * several authorities, and a new consensus at the random time dir-spec 5.1
 * gives once the current one is no longer fresh.  Documents are accepted and
 * cached by dir_cache.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define LOG_MODULE "dirboot"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dir_boot_st.h"

/** Whole-fetch timeouts (milliseconds). */
#define CONSENSUS_FETCH_TIMEOUT_MS 60000
#define DESC_FETCH_TIMEOUT_MS 120000
/** Descriptor retry backoff (milliseconds). */
#define DESC_RETRY_MIN_MS 2000
#define DESC_RETRY_MAX_MS 600000
#define REASONABLY_LIVE_SLACK (24 * 60 * 60)

/* ---- sans-IO helpers ---- */

time_t
dir_boot_refresh_time(time_t va, time_t fu, time_t vu, bool early, double r)
{
  if (early || fu <= va || vu <= fu)
    return fu;
  if (r < 0 || r >= 1)
    r = 0;
  double start = (double)fu + 0.75 * (double)(fu - va);
  if (start > (double)vu)
    start = (double)vu;
  double end = start + 0.875 * ((double)vu - start);
  return (time_t)(start + r * (end - start));
}

uint32_t
dir_boot_backoff_next(uint32_t cur_ms)
{
  if (cur_ms < DIR_BOOT_BACKOFF_MIN_MS)
    return DIR_BOOT_BACKOFF_MIN_MS;
  if (cur_ms >= DIR_BOOT_BACKOFF_MAX_MS / 2)
    return DIR_BOOT_BACKOFF_MAX_MS;
  return cur_ms * 2;
}

bool
dir_boot_sigs_enough(int n_valid, size_t n_auth)
{
  return n_auth > 0 && n_valid > 0 && (size_t)n_valid * 2 > n_auth;
}

bool
dir_boot_enough(bool live_ok, double desc_fraction)
{
  return live_ok && desc_fraction >= DIR_BOOT_ENOUGH_FRACTION;
}

size_t
dir_boot_trusted_certs(authcert_t **certs, size_t n,
                       const dir_authority_t *auths, size_t n_auths,
                       authcert_t **out, size_t cap)
{
  size_t k = 0;
  for (size_t i = 0; i < n && k < cap; i++) {
    if (!certs[i])
      continue;
    for (size_t j = 0; j < n_auths; j++)
      if (auths[j].has_v3ident &&
          !memcmp(certs[i]->identity_digest, auths[j].v3ident, 20)) {
        out[k++] = certs[i];
        certs[i] = NULL;
        break;
      }
  }
  return k;
}

int
dir_boot_check_consensus(consensus_t *c, authcert_t *const *certs,
                         size_t n_certs, const dir_authority_t *auths,
                         size_t n_auths, time_t now, time_t have_va,
                         const char **why)
{
  size_t n_v3 = 0;
  for (size_t i = 0; i < n_auths; i++)
    n_v3 += auths[i].has_v3ident;
  *why = NULL;
  if (now < c->valid_after) {
    *why = "not yet valid (valid-after in the future)";
    return -1;
  }
  if (now > c->valid_until + REASONABLY_LIVE_SLACK) {
    *why = "expired more than 24 hours ago";
    return -1;
  }
  if (have_va && c->valid_after <= have_va) {
    *why = "not newer than the consensus we have";
    return -1;
  }
  int valid = consensus_verify_signatures(c, certs, n_certs, now);
  if (!dir_boot_sigs_enough(valid, n_v3)) {
    *why = "not enough valid authority signatures";
    return -1;
  }
  return valid;
}

/* ---- helpers ---- */

static void
schedule(struct event *ev, uint32_t ms)
{
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
  evtimer_add(ev, &tv);
}

/* A random authority with an ORPort, avoiding `avoid` when possible. */
static size_t
pick_auth(const dir_boot_t *b, size_t avoid)
{
  size_t cand[64], n = 0;
  for (size_t i = 0; i < b->n_auths && n < 64; i++)
    if (b->auths[i].orport && (i != avoid || b->n_auths == 1))
      cand[n++] = i;
  if (n == 0)
    for (size_t i = 0; i < b->n_auths && n < 64; i++)
      if (b->auths[i].orport)
        cand[n++] = i;
  return n ? cand[crypto_rand_uint64(n)] : 0;
}

static size_t
n_usable_auths(const dir_boot_t *b)
{
  size_t n = 0;
  for (size_t i = 0; i < b->n_auths; i++)
    n += b->auths[i].orport != 0;
  return n;
}

static void
job_free(dir_job_t *j)
{
  if (!j)
    return;
  dir_fetch_free(j->fetch);
  dir_url_list_clear(&j->paths);
  al_free(j->reqs);
  al_free(j);
}

static dir_fetch_t *
job_start(dir_boot_t *b, dir_job_t *j, size_t auth, dir_doc_kind_t kind,
          uint32_t timeout_ms, const dir_fetch_callbacks_t *cbs)
{
  const dir_authority_t *a = &b->auths[auth];
  struct sockaddr_in sin;
  dir_fetch_server_t srv;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(a->orport);
  memcpy(&sin.sin_addr, a->ipv4, 4);
  memset(&srv, 0, sizeof(srv));
  srv.addr = (const struct sockaddr *)&sin;
  srv.addrlen = sizeof(sin);
  memcpy(srv.rsa_id, a->rsa_id, 20);
  j->reqs = al_calloc(j->paths.n ? j->paths.n : 1, sizeof(*j->reqs));
  j->n_reqs = j->paths.n;
  for (size_t i = 0; i < j->n_reqs; i++) {
    j->reqs[i].path = j->paths.paths[i];
    j->reqs[i].kind = (int)i == j->keys_idx ? DIR_DOC_KEY_CERTS : kind;
  }
  return dir_fetch_start(b->base, b->tls, &srv, j->reqs, j->n_reqs,
                         timeout_ms, cbs);
}

void
dir_boot_report(dir_boot_t *b)
{
  const consensus_t *c = nodelist_get_consensus(b->nl);
  double frac = nodelist_descriptor_fraction(b->nl);
  size_t n = c ? c->n_routers : 0;
  bool live = nodelist_consensus_is_live(b->nl, b->now());
  b->enough = dir_boot_enough(live, frac);
  if (c && n) {
    char msg[96];
    size_t k = (size_t)(frac * (double)n + 0.5);
    int pct = BOOTSTRAP_LOADING_DESCRIPTORS + (int)(frac * 24.0);
    snprintf(msg, sizeof(msg), "Loading relay descriptors (%zu/%zu)", k, n);
    bootstrap_report(BOOTSTRAP_REQUESTING_DESCRIPTORS);
    bootstrap_report_msg(pct > 74 ? 74 : pct, msg);
  }
  if (b->enough)
    bootstrap_report(BOOTSTRAP_ENOUGH_DIRINFO);
  if (b->cbs.on_dirinfo)
    b->cbs.on_dirinfo(b->nl, b->enough, b->cbs.arg);
}

static void
reap_soon(dir_boot_t *b)
{
  event_active(b->reap_ev, EV_TIMEOUT, 0);
}

/* ---- consensus fetch ---- */

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
  (void)pct;
  (void)arg;
  if (!strcmp(tag, "conn"))
    bootstrap_report(BOOTSTRAP_CONN);
  else if (!strcmp(tag, "conn_done"))
    bootstrap_report(BOOTSTRAP_CONN_DONE);
  else if (!strcmp(tag, "onehop_create")) {
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
    log_info_rl(60, "Directory request %s: %s %d%s%s", path,
                status < 0 ? "failed" : "status", status, why ? ": " : "",
                why ? why : "");
    return;
  }
  if ((int)idx == j->keys_idx) {
    if (dir_boot_take_certs(b, (const char *)body, len, "an authority") == 0)
      dir_cache_save_certs(b);
    return;
  }
  bootstrap_report(BOOTSTRAP_LOADING_STATUS);
  if (dir_boot_take_consensus(b, (const char *)body, len, "an authority") < 0)
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
  reap_soon(j->b);
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
  al_free(ids);
  if (!cp)
    return -1;
  j->paths.paths = al_reallocarray(j->paths.paths, j->paths.n + 1,
                                   sizeof(char *));
  j->paths.paths[j->paths.n++] = cp;
  return 0;
}

static void
cons_fetch(evutil_socket_t fd, short what, void *arg)
{
  dir_boot_t *b = arg;
  (void)fd;
  (void)what;
  if (b->cjob)
    return;
  dir_job_t *j = al_calloc(1, sizeof(*j));
  j->b = b;
  j->kind = DIR_JOB_CONSENSUS;
  if (cons_build_paths(b, j) < 0) {
    log_warn("Cannot build the consensus request");
    job_free(j);
    return;
  }
  dir_fetch_callbacks_t cbs = { cons_on_result, cons_on_done,
                                cons_on_progress, j };
  size_t a = pick_auth(b, b->last_auth);
  b->last_auth = a;
  b->cjob = j;
  j->fetch = job_start(b, j, a, DIR_DOC_CONSENSUS,
                       CONSENSUS_FETCH_TIMEOUT_MS, &cbs);
  log_info("Fetching the consensus from authority %s", b->auths[a].nickname);
  if (!j->fetch) {
    j->done = true;
    reap_soon(b);
  }
}

/* ---- descriptor fetches ---- */

static void
desc_on_result(size_t idx, int status, const uint8_t *body, size_t len,
               const char *why, void *arg)
{
  dir_job_t *j = arg;
  dir_boot_t *b = j->b;
  (void)idx;
  if (status != 200 || !body) {
    log_info_rl(60, "Descriptor request failed: %s %d%s%s",
                status < 0 ? "error" : "status", status, why ? ": " : "",
                why ? why : "");
    return;
  }
  size_t n = dir_boot_take_descs(b, (const char *)body, len, "an authority");
  j->n_attached += n;
  if (n) {
    b->desc_progress = true;
    b->descs_dirty = true;
    dir_boot_report(b);
  }
}

static void
desc_on_done(int err, const char *why, void *arg)
{
  dir_job_t *j = arg;
  if (err)
    log_info("Descriptor fetch ended: %s", why ? why : "error");
  j->done = true;
  reap_soon(j->b);
}

static bool
desc_jobs_running(const dir_boot_t *b)
{
  for (size_t i = 0; i < DIR_BOOT_MAX_FETCHES; i++)
    if (b->djobs[i])
      return true;
  return false;
}

static int
desc_build_paths(const dir_boot_t *b, dir_url_list_t *all, size_t *n_missing)
{
  uint8_t *digests = NULL;
  size_t n = 0, dlen = 0;
  int r;
  nodelist_get_missing_descriptors(b->nl, &digests, &n, &dlen);
  *n_missing = n;
  if (b->use_microdescs)
    r = dlen == 32 || n == 0
        ? dir_url_microdescs(all, (const uint8_t (*)[32])digests, n, true)
        : -1;
  else
    r = dlen == 20 || n == 0
        ? dir_url_server_d(all, (const uint8_t (*)[20])digests, n, true)
        : -1;
  al_free(digests);
  return r;
}

/* Spread the batches of all over up to DIR_BOOT_MAX_FETCHES authorities
 * (moving the path strings into the jobs). */
static void
desc_launch_jobs(dir_boot_t *b, dir_url_list_t *all)
{
  size_t n_jobs = n_usable_auths(b);
  if (n_jobs > DIR_BOOT_MAX_FETCHES)
    n_jobs = DIR_BOOT_MAX_FETCHES;
  if (n_jobs > all->n)
    n_jobs = all->n;
  size_t first = pick_auth(b, SIZE_MAX);
  for (size_t k = 0, a = first; k < n_jobs; k++) {
    dir_job_t *j = al_calloc(1, sizeof(*j));
    j->b = b;
    j->kind = DIR_JOB_DESCS;
    j->keys_idx = -1;
    for (size_t i = k; i < all->n; i += n_jobs) {
      j->paths.paths = al_reallocarray(j->paths.paths, j->paths.n + 1,
                                       sizeof(char *));
      j->paths.paths[j->paths.n++] = all->paths[i];
      all->paths[i] = NULL;
    }
    while (!b->auths[a].orport)
      a = (a + 1) % b->n_auths;
    dir_fetch_callbacks_t cbs = { desc_on_result, desc_on_done, NULL, j };
    j->fetch = job_start(b, j, a,
                         b->use_microdescs ? DIR_DOC_MICRODESCS
                                           : DIR_DOC_SERVER_DESCS,
                         DESC_FETCH_TIMEOUT_MS, &cbs);
    b->djobs[k] = j;
    if (!j->fetch)
      j->done = true;
    a = (a + 1) % b->n_auths;
  }
  dir_url_list_clear(all);
  reap_soon(b);
}

static void
desc_fetch(evutil_socket_t fd, short what, void *arg)
{
  dir_boot_t *b = arg;
  dir_url_list_t all = { NULL, 0 };
  size_t n_missing = 0;
  (void)fd;
  (void)what;
  if (desc_jobs_running(b) || !nodelist_get_consensus(b->nl))
    return;
  if (desc_build_paths(b, &all, &n_missing) < 0) {
    log_warn("Cannot build the descriptor requests");
    dir_url_list_clear(&all);
    return;
  }
  if (n_missing == 0) {
    dir_url_list_clear(&all);
    return;
  }
  bootstrap_report(BOOTSTRAP_REQUESTING_DESCRIPTORS);
  log_notice("Fetching %zu missing %s in %zu requests", n_missing,
             b->use_microdescs ? "microdescriptors" : "server descriptors",
             all.n);
  b->desc_progress = false;
  desc_launch_jobs(b, &all);
}

/* ---- scheduling ---- */

static void
schedule_refresh(dir_boot_t *b)
{
  const consensus_t *c = nodelist_get_consensus(b->nl);
  if (!c)
    return;
  time_t now = b->now();
  time_t t = dir_boot_refresh_time(c->valid_after, c->fresh_until,
                                   c->valid_until, b->fetch_early,
                                   crypto_rand_double());
  long long delay = t > now ? (long long)(t - now) : 0;
  if (delay > 7 * 24 * 3600)
    delay = 7 * 24 * 3600;
  evtimer_del(b->cons_timer);
  schedule(b->cons_timer, (uint32_t)delay * 1000u);
  log_info("Next consensus fetch in %lld seconds", delay);
}

static void
reap_consensus_job(dir_boot_t *b)
{
  dir_job_t *j = b->cjob;
  if (!j || !j->done)
    return;
  bool ok = j->got_consensus;
  b->cjob = NULL;
  job_free(j);
  if (ok) {
    b->descs_dirty = true;
    b->backoff_ms = 0;
    b->desc_backoff_ms = 0;
    dir_boot_report(b);
    schedule_refresh(b);
    evtimer_del(b->desc_timer);
    schedule(b->desc_timer, 0);
    return;
  }
  b->backoff_ms = dir_boot_backoff_next(b->backoff_ms);
  if (b->testing_network && b->backoff_ms > DIR_BOOT_TESTING_MAX_MS &&
      !nodelist_consensus_is_live(b->nl, b->now()))
    b->backoff_ms = DIR_BOOT_TESTING_MAX_MS;
  /* Keep a live consensus's refresh schedule if it is later. */
  log_info("No new consensus; retrying in %u ms", b->backoff_ms);
  evtimer_del(b->cons_timer);
  schedule(b->cons_timer, b->backoff_ms);
}

static void
reap_desc_jobs(dir_boot_t *b)
{
  if (!desc_jobs_running(b))
    return;
  for (size_t i = 0; i < DIR_BOOT_MAX_FETCHES; i++)
    if (b->djobs[i] && !b->djobs[i]->done)
      return;
  for (size_t i = 0; i < DIR_BOOT_MAX_FETCHES; i++)
    job_free(b->djobs[i]), b->djobs[i] = NULL;
  if (b->descs_dirty)
    dir_cache_save_descs(b);
  b->descs_dirty = false;
  const consensus_t *c = nodelist_get_consensus(b->nl);
  double frac = nodelist_descriptor_fraction(b->nl);
  size_t n = c ? c->n_routers : 0;
  log_notice("Have descriptors for %zu/%zu relays",
             (size_t)(frac * (double)n + 0.5), n);
  if (frac >= 1.0)
    return;
  if (b->desc_progress) {
    b->desc_backoff_ms = 0;
    schedule(b->desc_timer, 0);
    return;
  }
  b->desc_backoff_ms = b->desc_backoff_ms ? b->desc_backoff_ms * 2
                                          : DESC_RETRY_MIN_MS;
  if (b->desc_backoff_ms > DESC_RETRY_MAX_MS)
    b->desc_backoff_ms = DESC_RETRY_MAX_MS;
  schedule(b->desc_timer, b->desc_backoff_ms);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  reap_consensus_job(arg);
  reap_desc_jobs(arg);
}

/* ---- lifecycle ---- */

static time_t
default_now(void)
{
  return time(NULL);
}

dir_boot_t *
dir_boot_new(const dir_boot_cfg_t *cfg, nodelist_t *nl,
             const dir_boot_cbs_t *cbs)
{
  if (!cfg || !nl || !cfg->base || !cfg->tls || !cfg->auths ||
      cfg->n_auths == 0 || cfg->n_auths > 64)
    return NULL;
  dir_boot_t *b = al_calloc(1, sizeof(*b));
  b->base = cfg->base;
  b->tls = cfg->tls;
  b->auths = al_memdup(cfg->auths, cfg->n_auths * sizeof(*cfg->auths));
  b->n_auths = cfg->n_auths;
  for (size_t i = 0; i < b->n_auths; i++)
    b->n_v3 += b->auths[i].has_v3ident;
  b->use_microdescs = cfg->use_microdescs;
  b->cache_dir = cfg->cache_dir ? al_strdup(cfg->cache_dir) : NULL;
  b->fetch_early = cfg->fetch_early;
  b->testing_network = cfg->testing_network;
  b->now = cfg->now ? cfg->now : default_now;
  b->last_auth = SIZE_MAX;
  b->certs = al_calloc(b->n_auths, sizeof(*b->certs));
  b->cert_texts = al_calloc(b->n_auths, sizeof(*b->cert_texts));
  b->nl = nl;
  if (cbs)
    b->cbs = *cbs;
  b->cons_timer = evtimer_new(b->base, cons_fetch, b);
  b->desc_timer = evtimer_new(b->base, desc_fetch, b);
  b->reap_ev = event_new(b->base, -1, 0, on_reap, b);
  if (!b->cons_timer || !b->desc_timer || !b->reap_ev || b->n_v3 == 0 ||
      n_usable_auths(b) == 0) {
    if (b->n_v3 == 0 || n_usable_auths(b) == 0)
      log_warn("No usable directory authority (need a v3ident and an "
               "orport)");
    dir_boot_free(b);
    return NULL;
  }
  return b;
}

int
dir_boot_start(dir_boot_t *b)
{
  if (!b)
    return -1;
  bootstrap_report(BOOTSTRAP_STARTING);
  if (dir_cache_load(b)) {
    schedule_refresh(b);
    schedule(b->desc_timer, 0);
  } else {
    schedule(b->cons_timer, 0);
  }
  return 0;
}

bool
dir_boot_have_enough(const dir_boot_t *b)
{
  return b && b->enough;
}

void
dir_boot_free_(dir_boot_t *b)
{
  if (!b)
    return;
  job_free(b->cjob);
  for (size_t i = 0; i < DIR_BOOT_MAX_FETCHES; i++)
    job_free(b->djobs[i]);
  /* Keep what a round still in progress brought (tor also saves its
   * descriptor cache at exit). */
  if (b->descs_dirty)
    dir_cache_save_descs(b);
  if (b->cons_timer)
    event_free(b->cons_timer);
  if (b->desc_timer)
    event_free(b->desc_timer);
  if (b->reap_ev)
    event_free(b->reap_ev);
  authcert_list_free(b->certs, b->n_certs);
  for (size_t i = 0; i < b->n_certs; i++)
    al_free(b->cert_texts[i]);
  al_free(b->cert_texts);
  dir_store_clear(&b->store);
  al_free(b->cache_dir);
  al_free(b->auths);
  al_free(b);
}
