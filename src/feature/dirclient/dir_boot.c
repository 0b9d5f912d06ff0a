/* dir_boot.c -- the client's directory bootstrap and refresh (dir-spec 4,
 * 5.1, 5.2): the directory servers (fallback mirrors and authorities) and
 * one-hop BEGIN_DIR fetches from them (dir_fetch), the missing descriptors
 * in batches spread over several servers, and the bootstrapper's life
 * cycle.  The consensus fetches and their schedules are in
 * dir_boot_cons.c; documents are accepted and cached by dir_cache.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define LOG_MODULE "dirboot"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dir_boot_st.h"

/** Whole-fetch timeout (milliseconds). */
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

void
dir_boot_schedule(struct event *ev, uint32_t ms)
{
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
  evtimer_add(ev, &tv);
}

static bool
usable(const dir_boot_t *b, dir_src_t src, size_t i)
{
  return src == DIR_SRC_FALLBACK ? b->fallbacks[i].orport != 0
                                 : b->auths[i].orport != 0;
}

/* Random fallback by weight, or authority; avoid `avoid` if another is
 * usable. */
bool
dir_boot_pick(const dir_boot_t *b, dir_src_t src, size_t avoid, size_t *idx)
{
  size_t n = src == DIR_SRC_FALLBACK ? b->n_fallbacks : b->n_auths;
  uint64_t total = 0, others = 0;
  for (size_t i = 0; i < n; i++) {
    if (!usable(b, src, i))
      continue;
    uint64_t w = src == DIR_SRC_FALLBACK ? b->fallbacks[i].weight : 1;
    total += w ? w : 1;
    others += i != avoid ? (w ? w : 1) : 0;
  }
  if (total == 0)
    return false;
  bool skip = others > 0 && avoid < n;
  uint64_t r = crypto_rand_uint64(skip ? others : total);
  for (size_t i = 0; i < n; i++) {
    if (!usable(b, src, i) || (skip && i == avoid))
      continue;
    uint64_t w = src == DIR_SRC_FALLBACK ? b->fallbacks[i].weight : 1;
    w = w ? w : 1;
    if (r < w) {
      *idx = i;
      return true;
    }
    r -= w;
  }
  return false;
}

static bool
have_usable(const dir_boot_t *b, dir_src_t src)
{
  size_t i;
  return dir_boot_pick(b, src, SIZE_MAX, &i);
}

const char *
dir_boot_src_name(dir_src_t src)
{
  return src == DIR_SRC_AUTHORITY ? "an authority"
                                  : "a fallback directory mirror";
}

void
dir_boot_job_free(dir_job_t *j)
{
  if (!j)
    return;
  dir_fetch_free(j->fetch);
  dir_url_list_clear(&j->paths);
  al_free(j->reqs);
  al_free(j);
}

/* The server's ORPort address and identity. */
static void
server_get(const dir_boot_t *b, dir_src_t src, size_t idx,
           const uint8_t **ip, uint16_t *port, const uint8_t **id)
{
  if (src == DIR_SRC_FALLBACK) {
    *ip = b->fallbacks[idx].ipv4;
    *port = b->fallbacks[idx].orport;
    *id = b->fallbacks[idx].rsa_id;
  } else {
    *ip = b->auths[idx].ipv4;
    *port = b->auths[idx].orport;
    *id = b->auths[idx].rsa_id;
  }
}

void
dir_boot_describe(const dir_boot_t *b, dir_src_t src, size_t idx, char *buf,
                  size_t len)
{
  const uint8_t *ip, *id;
  uint16_t port;
  char addr[32], name[48];
  server_get(b, src, idx, &ip, &port, &id);
  snprintf(addr, sizeof(addr), "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3],
           port);
  if (src == DIR_SRC_AUTHORITY && b->auths[idx].nickname[0]) {
    snprintf(name, sizeof(name), "%s", b->auths[idx].nickname);
  } else {
    name[0] = '$';
    base16_encode(name + 1, sizeof(name) - 1, id, 20);
  }
  snprintf(buf, len, "%s %s at %s",
           src == DIR_SRC_FALLBACK ? "fallback directory mirror"
                                   : "directory authority",
           name, safe_str(addr));
}

dir_fetch_t *
dir_boot_job_start(dir_boot_t *b, dir_job_t *j, dir_src_t src, size_t idx,
                   dir_doc_kind_t kind, uint32_t timeout_ms,
                   const dir_fetch_callbacks_t *cbs)
{
  const uint8_t *ip, *id;
  uint16_t port;
  struct sockaddr_in sin;
  dir_fetch_server_t srv;
  server_get(b, src, idx, &ip, &port, &id);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  memcpy(&sin.sin_addr, ip, 4);
  memset(&srv, 0, sizeof(srv));
  srv.addr = (const struct sockaddr *)&sin;
  srv.addrlen = sizeof(sin);
  memcpy(srv.rsa_id, id, 20);
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

void
dir_boot_reap_soon(dir_boot_t *b)
{
  event_active(b->reap_ev, EV_TIMEOUT, 0);
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
  const char *path = idx < j->paths.n ? j->paths.paths[idx] : "";
  bool md_path = !strncmp(path, "/tor/micro/", 11);
  if (b->fetch_as_cache && md_path != b->use_microdescs) {
    j->n_attached += dir_boot_take_other_descs(b, (const char *)body, len,
                                               dir_boot_src_name(j->src));
    return;
  }
  size_t n = dir_boot_take_descs(b, (const char *)body, len,
                                 dir_boot_src_name(j->src));
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
  dir_boot_reap_soon(j->b);
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
  if (r == 0 && b->fetch_as_cache) {
    /* A cache fetches the other kind too (dir-spec 4.2, 4.3). */
    dir_url_list_t mine = *all;
    all->paths = NULL;
    all->n = 0;
    size_t more = dir_boot_other_desc_paths(b, all);
    *n_missing += more;
    all->paths = al_reallocarray(all->paths, all->n + mine.n + 1,
                                 sizeof(char *));
    if (mine.n)
      memcpy(all->paths + all->n, mine.paths, mine.n * sizeof(char *));
    all->n += mine.n;
    al_free(mine.paths);
  }
  return r;
}

/* Spread the batches of all over up to DIR_BOOT_MAX_FETCHES servers, the
 * fallback mirrors when there are any (caches: they spare the authorities)
 * but the authorities every other round after a round without progress
 * (the fallbacks may be unreachable), else the authorities (moving the
 * path strings into the jobs). */
static void
desc_launch_jobs(dir_boot_t *b, dir_url_list_t *all)
{
  /* Caches download from the authorities (dir-spec 4.2, 4.3). */
  dir_src_t src = have_usable(b, DIR_SRC_FALLBACK) && !b->desc_use_auths &&
                  !b->fetch_as_cache
                  ? DIR_SRC_FALLBACK : DIR_SRC_AUTHORITY;
  size_t n_jobs = 0, last = SIZE_MAX;
  size_t n_srv = src == DIR_SRC_FALLBACK ? b->n_fallbacks : b->n_auths;
  for (size_t i = 0; i < n_srv; i++)
    n_jobs += usable(b, src, i);
  if (n_jobs > DIR_BOOT_MAX_FETCHES)
    n_jobs = DIR_BOOT_MAX_FETCHES;
  if (n_jobs > all->n)
    n_jobs = all->n;
  for (size_t k = 0; k < n_jobs; k++) {
    size_t a;
    if (!dir_boot_pick(b, src, last, &a))
      break;
    last = a;
    dir_job_t *j = al_calloc(1, sizeof(*j));
    j->b = b;
    j->kind = DIR_JOB_DESCS;
    j->src = src;
    j->keys_idx = -1;
    for (size_t i = k; i < all->n; i += n_jobs) {
      j->paths.paths = al_reallocarray(j->paths.paths, j->paths.n + 1,
                                       sizeof(char *));
      j->paths.paths[j->paths.n++] = all->paths[i];
      all->paths[i] = NULL;
    }
    char who[160];
    dir_boot_describe(b, src, a, who, sizeof(who));
    log_info("Fetching %zu batch(es) of descriptors from %s", j->paths.n,
             who);
    dir_fetch_callbacks_t cbs = { desc_on_result, desc_on_done, NULL, j };
    j->fetch = dir_boot_job_start(b, j, src, a,
                                  b->use_microdescs ? DIR_DOC_MICRODESCS
                                                    : DIR_DOC_SERVER_DESCS,
                                  DESC_FETCH_TIMEOUT_MS, &cbs);
    b->djobs[k] = j;
    if (!j->fetch)
      j->done = true;
  }
  dir_url_list_clear(all);
  dir_boot_reap_soon(b);
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
reap_desc_jobs(dir_boot_t *b)
{
  if (!desc_jobs_running(b))
    return;
  for (size_t i = 0; i < DIR_BOOT_MAX_FETCHES; i++)
    if (b->djobs[i] && !b->djobs[i]->done)
      return;
  for (size_t i = 0; i < DIR_BOOT_MAX_FETCHES; i++)
    dir_boot_job_free(b->djobs[i]), b->djobs[i] = NULL;
  if (b->descs_dirty)
    dir_cache_save_descs(b);
  b->descs_dirty = false;
  dir_cache_save_other_descs(b);
  size_t other_missing = dir_boot_other_n_missing(b);
  const consensus_t *c = nodelist_get_consensus(b->nl);
  double frac = nodelist_descriptor_fraction(b->nl);
  size_t n = c ? c->n_routers : 0;
  log_notice("Have descriptors for %zu/%zu relays",
             (size_t)(frac * (double)n + 0.5), n);
  if (other_missing)
    log_notice("Directory cache: %zu descriptors of the other kind missing",
               other_missing);
  if (frac >= 1.0 && !other_missing)
    return;
  if (b->desc_progress) {
    b->desc_backoff_ms = 0;
    dir_boot_schedule(b->desc_timer, 0);
    return;
  }
  b->desc_use_auths = !b->desc_use_auths;
  b->desc_backoff_ms = b->desc_backoff_ms ? b->desc_backoff_ms * 2
                                          : DESC_RETRY_MIN_MS;
  if (b->desc_backoff_ms > DESC_RETRY_MAX_MS)
    b->desc_backoff_ms = DESC_RETRY_MAX_MS;
  dir_boot_schedule(b->desc_timer, b->desc_backoff_ms);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  dir_boot_cons_reap(arg);
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
      cfg->n_auths == 0 || cfg->n_auths > 64 ||
      cfg->n_fallbacks > DIR_BOOT_MAX_FALLBACKS)
    return NULL;
  dir_boot_t *b = al_calloc(1, sizeof(*b));
  b->base = cfg->base;
  b->tls = cfg->tls;
  b->auths = al_memdup(cfg->auths, cfg->n_auths * sizeof(*cfg->auths));
  b->n_auths = cfg->n_auths;
  if (cfg->fallbacks && cfg->n_fallbacks) {
    b->fallbacks = al_memdup(cfg->fallbacks,
                             cfg->n_fallbacks * sizeof(*cfg->fallbacks));
    b->n_fallbacks = cfg->n_fallbacks;
  }
  for (size_t i = 0; i < b->n_auths; i++)
    b->n_v3 += b->auths[i].has_v3ident;
  b->use_microdescs = cfg->use_microdescs;
  b->cache_dir = cfg->cache_dir ? al_strdup(cfg->cache_dir) : NULL;
  b->fetch_early = cfg->fetch_early;
  b->testing_network = cfg->testing_network;
  b->fetch_as_cache = cfg->fetch_as_cache;
  b->now = cfg->now ? cfg->now : default_now;
  b->last_idx[0] = b->last_idx[1] = SIZE_MAX;
  b->certs = al_calloc(b->n_auths, sizeof(*b->certs));
  b->cert_texts = al_calloc(b->n_auths, sizeof(*b->cert_texts));
  b->nl = nl;
  if (cbs)
    b->cbs = *cbs;
  b->cons_timer = evtimer_new(b->base, dir_boot_cons_fetch, b);
  for (size_t i = 0; i < 2; i++) {
    b->sched[i].b = b;
    b->sched[i].src = (dir_src_t)i;
    b->sched[i].timer = evtimer_new(b->base, dir_boot_sched_fire,
                                    &b->sched[i]);
  }
  b->desc_timer = evtimer_new(b->base, desc_fetch, b);
  b->reap_ev = event_new(b->base, -1, 0, on_reap, b);
  bool usable_auth = have_usable(b, DIR_SRC_AUTHORITY);
  if (!b->cons_timer || !b->desc_timer || !b->reap_ev || !b->sched[0].timer ||
      !b->sched[1].timer || b->n_v3 == 0 || !usable_auth) {
    if (b->n_v3 == 0 || !usable_auth)
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
    dir_boot_schedule_refresh(b);
    dir_boot_schedule(b->desc_timer, 0);
  } else {
    dir_boot_schedule(b->cons_timer, 0);
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
  for (size_t i = 0; i < DIR_BOOT_MAX_IN_PROGRESS; i++)
    dir_boot_job_free(b->cjobs[i]);
  for (size_t i = 0; i < DIR_BOOT_MAX_FETCHES; i++)
    dir_boot_job_free(b->djobs[i]);
  /* Keep what a round still in progress brought (tor also saves its
   * descriptor cache at exit). */
  if (b->descs_dirty)
    dir_cache_save_descs(b);
  dir_boot_cache_clear(b);
  if (b->cons_timer)
    event_free(b->cons_timer);
  if (b->desc_timer)
    event_free(b->desc_timer);
  if (b->reap_ev)
    event_free(b->reap_ev);
  for (size_t i = 0; i < 2; i++)
    if (b->sched[i].timer)
      event_free(b->sched[i].timer);
  authcert_list_free(b->certs, b->n_certs);
  for (size_t i = 0; i < b->n_certs; i++)
    al_free(b->cert_texts[i]);
  al_free(b->cert_texts);
  dir_store_clear(&b->store);
  al_free(b->cache_dir);
  al_free(b->auths);
  al_free(b->fallbacks);
  al_free(b);
}
