/* relay_dirserve.c -- the relay as a directory cache over BEGIN_DIR
 * ("tunnelled-dir-server", tor-spec 6.2; dir-spec 4 "Directory cache
 * operation", 6 HTTP): the cell engine's dir_request hook
 * (core/mainloop/cellswitch.h, which answers BEGIN_DIR and paces the
 * response by the stream and circuit windows) is answered by
 * dircache_handle_request() from a dircache_t loaded from the
 * DataDirectory (or CacheDirectory).  New documents reach the cache through
 * dircache_on_document() (the relay's own directory bootstrap connects it
 * with relay_dirserve_cache()) and, as a fallback, by re-reading the cache
 * files when they change.  One rate-limited info line per request kind;
 * the counters join the heartbeat.  The cache is also the relay's HSDir
 * store (rend-spec-v3 2.2.6): requests are marked DIRCACHE_FROM_RELAY when
 * the circuit's previous hop is a relay (onion-service requests must come
 * anonymously), and the same timer drops expired descriptors. */
#define LOG_MODULE "relay"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dircache/dircache_parse.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "relay_run_st.h"

/* The engine must let a whole descriptor upload through. */
_Static_assert(CELLSWITCH_DIR_POST_MAX >=
               DIRCACHE_REQ_MAX_HEAD + DIRCACHE_REQ_MAX_BODY,
               "CELLSWITCH_DIR_POST_MAX too small for an HSDir upload");

/** Look at the cache files (and expire onion-service descriptors) this
 * often. */
#define DIRSERVE_RELOAD_MSEC (60 * 1000)
/** Largest cache file re-read (cached-descriptors of a big network). */
#define DIRSERVE_FILE_MAX (256u * 1024 * 1024)

typedef enum dirserve_file_kind_t {
  DF_CONSENSUS, DF_MICRODESCS, DF_CERTS,
} dirserve_file_kind_t;

static const struct {
  const char *name;
  dirserve_file_kind_t kind;
} dirserve_files[] = {
  { "cached-consensus", DF_CONSENSUS },
  { "cached-microdesc-consensus", DF_CONSENSUS },
  { "cached-microdescs", DF_MICRODESCS },
  { "cached-microdescs.new", DF_MICRODESCS },
  /* cached-descriptors[.new] are not re-read: every descriptor's
   * signatures would be checked again on the loop.  They come from
   * dircache_new() and dircache_on_document(). */
  { "cached-certs", DF_CERTS },
};
#define N_DIRSERVE_FILES (sizeof(dirserve_files) / sizeof(dirserve_files[0]))

struct relay_dirserve_t {
  dircache_t *cache;
  char *dir;
  evloop_handle_t *reload;
  time_t fixed_now;              /**< tests: a fixed clock (0: time()) */
  struct { time_t mtime; off_t size; } seen[N_DIRSERVE_FILES];
  log_ratelim_t rl[DIRCACHE_URL_N_KINDS + 1];
};

static time_t
ds_now(const relay_dirserve_t *ds)
{
  return ds->fixed_now ? ds->fixed_now : time(NULL);
}

/* Remember the files' state (0: unchanged, 1: changed since last look). */
static int
file_changed(relay_dirserve_t *ds, size_t i)
{
  char path[4096];
  struct stat st;
  snprintf(path, sizeof(path), "%s/%s", ds->dir, dirserve_files[i].name);
  if (stat(path, &st) < 0)
    return 0;
  if (st.st_mtime == ds->seen[i].mtime && st.st_size == ds->seen[i].size)
    return 0;
  ds->seen[i].mtime = st.st_mtime;
  ds->seen[i].size = st.st_size;
  return 1;
}

/* Re-read the cache files that changed; the cache keeps only what is
 * newer than what it holds. */
void
relay_dirserve_check_files(relay_dirserve_t *ds, time_t now)
{
  for (size_t i = 0; ds && ds->dir && i < N_DIRSERVE_FILES; i++) {
    if (!file_changed(ds, i))
      continue;
    char path[4096], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", ds->dir, dirserve_files[i].name);
    if (fs_read_file(path, &text, &len, DIRSERVE_FILE_MAX) < 0)
      continue;
    size_t n = 0;
    switch (dirserve_files[i].kind) {
    case DF_CONSENSUS:
      n = dircache_add_consensus(ds->cache, text, len, now) == 0;
      break;
    case DF_MICRODESCS:
      n = dircache_add_microdescs(ds->cache, text, len, now);
      break;
    case DF_CERTS:
      n = dircache_add_certs(ds->cache, text, len, now);
      break;
    }
    if (n)
      log_info("Directory cache: %zu new document%s from %s.", n,
               n == 1 ? "" : "s", dirserve_files[i].name);
    al_free(text);
  }
}

static void
reload_cb(int what, void *arg)
{
  (void)what;
  relay_dirserve_t *ds = arg;
  relay_dirserve_check_files(ds, ds_now(ds));
  dircache_hs_expire(ds->cache, ds_now(ds));
}

relay_dirserve_t *
relay_dirserve_new(const char *datadir)
{
  return relay_dirserve_new_at(datadir, 0);
}

relay_dirserve_t *
relay_dirserve_new_at(const char *datadir, time_t fixed_now)
{
  relay_dirserve_t *ds = al_calloc(1, sizeof(*ds));
  ds->fixed_now = fixed_now;
  time_t now = ds_now(ds);
  ds->dir = datadir ? al_strdup(datadir) : NULL;
  ds->cache = dircache_new(datadir, now);
  for (size_t i = 0; i < DIRCACHE_URL_N_KINDS + 1; i++)
    ds->rl[i] = (log_ratelim_t)LOG_RATELIM_INIT(60);
  for (size_t i = 0; ds->dir && i < N_DIRSERVE_FILES; i++)
    (void)file_changed(ds, i);   /* dircache_new() read them */
  dircache_contents_t c;
  dircache_get_contents(ds->cache, &c);
  log_notice("Serving directory documents over BEGIN_DIR: %s%s%s, %zu "
             "microdescriptors, %zu server descriptors, %zu certificates "
             "held.", c.have_consensus[0] ? "ns consensus" : "no ns consensus",
             c.have_consensus[1] ? ", microdesc consensus"
                                 : ", no microdesc consensus",
             ds->dir ? "" : " (no DataDirectory)", c.n_microdescs,
             c.n_server_descs, c.n_certs);
  return ds;
}

void
relay_dirserve_start(relay_dirserve_t *ds)
{
  if (ds && !ds->reload)
    ds->reload = evloop_timer_add(DIRSERVE_RELOAD_MSEC, 1, reload_cb, ds);
}

void
relay_dirserve_free_(relay_dirserve_t *ds)
{
  if (!ds)
    return;
  evloop_handle_free(ds->reload);
  dircache_free(ds->cache);
  al_free(ds->dir);
  al_free(ds);
}

dircache_t *
relay_dirserve_dircache(relay_dirserve_t *ds)
{
  return ds ? ds->cache : NULL;
}

int
relay_dirserve_request(relay_dirserve_t *ds, cellswitch_t *sw,
                       uint64_t stream, const uint8_t *data, size_t len)
{
  dircache_reply_t rep;
  memset(&rep, 0, sizeof(rep));
  /* No X-Your-Address-Is: the engine does not tell which channel. */
  unsigned flags = cellswitch_circ_prev_is_relay(sw, stream >> 16)
                     ? DIRCACHE_FROM_RELAY : 0;
  int r = dircache_handle_request_from(ds->cache, data, len, ds_now(ds),
                                       NULL, flags, &rep);
  if (r == DIRCACHE_NEED_MORE)
    return CELLSWITCH_DIR_NEED_MORE;
  if (r < 0)
    return -1;
  size_t k = rep.kind <= DIRCACHE_URL_N_KINDS ? (size_t)rep.kind
                                               : DIRCACHE_URL_N_KINDS;
  log_info_ratelim(&ds->rl[k], "Directory request (%s%s): %d, %zu bytes, "
                   "%s.",
                   k < DIRCACHE_URL_N_KINDS
                     ? dircache_url_kind_name((dircache_url_kind_t)k)
                     : "unparseable",
                   rep.is_diff ? ", diff" : "", rep.status, rep.len,
                   compress_method_name(rep.encoding));
  uint8_t *body = rep.data;
  size_t blen = rep.len;
  rep.data = NULL;
  dircache_reply_clear(&rep);
  return cellswitch_dir_respond(sw, stream, body, blen) < 0 ? -1 : 0;
}

void
relay_dirserve_log_heartbeat(relay_dirserve_t *ds, const cellswitch_stats_t *s)
{
  dircache_stats_t d;
  if (!ds)
    return;
  dircache_get_stats(ds->cache, &d);
  uint64_t total = 0;
  for (size_t i = 0; i < DIRCACHE_URL_N_KINDS + 1; i++)
    total += d.requests[i];
  log_notice("Heartbeat: served %llu directory request%s over %llu BEGIN_DIR "
             "stream%s (consensus %llu, microdescs %llu, server descriptors "
             "%llu, certificates %llu), %.2f MB; %llu streams refused.",
             (unsigned long long)total, total == 1 ? "" : "s",
             (unsigned long long)s->dir_streams,
             s->dir_streams == 1 ? "" : "s",
             (unsigned long long)(d.requests[DIRCACHE_URL_CONSENSUS] +
                                  d.requests[DIRCACHE_URL_CONSENSUS_DIFF]),
             (unsigned long long)d.requests[DIRCACHE_URL_MICRODESCS],
             (unsigned long long)(d.requests[DIRCACHE_URL_SERVER_D] +
                                  d.requests[DIRCACHE_URL_SERVER_FP] +
                                  d.requests[DIRCACHE_URL_SERVER_ALL]),
             (unsigned long long)(d.requests[DIRCACHE_URL_KEYS_ALL] +
                                  d.requests[DIRCACHE_URL_KEYS_FP] +
                                  d.requests[DIRCACHE_URL_KEYS_SK] +
                                  d.requests[DIRCACHE_URL_KEYS_FP_SK]),
             (double)s->dir_bytes / 1e6,
             (unsigned long long)s->streams_refused);
  dircache_log_stats(ds->cache);
}

/* ---- relay_run glue ---- */

int
relay_dirserve_hook(void *arg, cellswitch_t *sw, uint64_t stream,
                    const uint8_t *data, size_t len)
{
  relay_run_t *rr = arg;
  if (!rr->dirserve)
    return -1;
  return relay_dirserve_request(rr->dirserve, sw, stream, data, len);
}

dircache_t *
relay_dirserve_cache(relay_run_t *rr)
{
  return rr ? relay_dirserve_dircache(rr->dirserve) : NULL;
}
