/* dir_boot_st.h -- private state of dir_boot.c and dir_cache.c (the client
 * directory bootstrap, dir-spec 5; not for other modules). */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_BOOT_ST_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_BOOT_ST_H

#include "allium/feature/dirclient/dir_boot.h"
#include "allium/feature/dirclient/dir_fetch.h"

#include <event2/util.h>

/** Descriptor fetches run in parallel (each from another authority). */
#define DIR_BOOT_MAX_FETCHES 4
/** Most fallback mirrors a bootstrapper takes. */
#define DIR_BOOT_MAX_FALLBACKS 1024
/** Largest cache file read (bytes). */
#define DIR_CACHE_MAX_FILE (256u << 20)

/** Raw descriptor texts by digest, for the descriptor cache file. */
typedef struct dir_store_ent_t {
  uint8_t digest[32];        /* sha256 (microdescs) or sha1 + zeros */
  char *text;
  size_t len;
} dir_store_ent_t;

typedef struct dir_store_t {
  dir_store_ent_t *e;
  size_t n, cap;
} dir_store_t;

typedef enum dir_job_kind_t { DIR_JOB_CONSENSUS, DIR_JOB_DESCS } dir_job_kind_t;

/** Where a fetch goes: a fallback mirror or an authority. */
typedef enum dir_src_t { DIR_SRC_FALLBACK = 0, DIR_SRC_AUTHORITY = 1 } dir_src_t;

/** One bootstrap schedule (tor(1): advanced by attempts, not failures). */
typedef struct dir_sched_t {
  struct dir_boot_t *b;
  dir_src_t src;
  struct event *timer;
  uint32_t delay_ms;         /* the delay before the next attempt */
  uint32_t n_attempts;
  bool waiting;              /* due, but too many attempts in progress */
} dir_sched_t;

typedef struct dir_job_t {
  struct dir_boot_t *b;
  dir_job_kind_t kind;
  bool connected;            /* consensus job: its channel is open */
  dir_src_t src;             /* where it fetches from */
  uint64_t started_ms;       /* consensus job: monotonic start time */
  dir_fetch_t *fetch;
  dir_url_list_t paths;
  dir_fetch_request_t *reqs;
  size_t n_reqs;
  int keys_idx;              /* index of the certificates request, or -1 */
  int other_idx;             /* cache mode: the other flavour, or -1 */
  bool got_consensus;        /* consensus job: a new consensus accepted */
  size_t n_attached;         /* descriptor job: descriptors attached */
  bool done;
} dir_job_t;

struct dir_boot_t {
  struct event_base *base;
  tls_context_t *tls;
  dir_authority_t *auths;
  size_t n_auths;
  dir_fallback_t *fallbacks;
  size_t n_fallbacks;
  size_t n_v3;               /* authorities with a v3ident */
  bool use_microdescs;
  char *cache_dir;
  bool fetch_early;
  time_t (*now)(void);
  bool testing_network;
  nodelist_t *nl;
  dir_boot_cbs_t cbs;

  authcert_t **certs;        /* trusted certificates (n_auths slots), owned */
  char **cert_texts;         /* their texts, for cached-certs */
  size_t n_certs;
  bool certs_stale;          /* a consensus named keys we lack */
  dir_store_t store;
  time_t cons_va;            /* valid-after of the consensus held, or 0 */
  bool enough;

  dir_job_t *cjobs[DIR_BOOT_MAX_IN_PROGRESS];
  bool bootstrapping;        /* the bootstrap schedules are running */
  dir_sched_t sched[2];      /* by dir_src_t */
  dir_job_t *djobs[DIR_BOOT_MAX_FETCHES];
  struct event *cons_timer, *desc_timer, *reap_ev;
  uint32_t backoff_ms, desc_backoff_ms;
  bool desc_progress;        /* the last descriptor round attached some */
  bool desc_use_auths;       /* this round: authorities, not fallbacks */
  bool refresh_use_auths;    /* next refresh attempt: an authority */
  size_t last_idx[2];        /* server of the last consensus fetch */
  bool descs_dirty;          /* descriptors attached since the last save */

  /* Fetching as a directory cache (dir_boot_cache.c). */
  bool fetch_as_cache;
  dir_boot_document_fn on_document;
  void *on_document_arg;
  bool loading_cache;        /* dir_cache_load() running: no on_document */
  consensus_t *other_cons;   /* the flavour the nodelist does not use */
  uint8_t *other_digests;    /* its descriptor digests, sorted */
  size_t n_other_digests;
  dir_store_t other_store;   /* descriptor texts of the other kind */
  bool other_dirty;          /* other_store changed since the last save */
};

/* dir_boot.c */
void dir_boot_schedule(struct event *ev, uint32_t ms);
void dir_boot_job_free(dir_job_t *j);
/** Pick a server of src at random (fallbacks by weight), avoiding index
 * avoid when another exists; false when src has none usable. */
bool dir_boot_pick(const struct dir_boot_t *b, dir_src_t src, size_t avoid,
                   size_t *idx);
/** Start j's requests against server idx of src. */
dir_fetch_t *dir_boot_job_start(struct dir_boot_t *b, dir_job_t *j,
                                dir_src_t src, size_t idx,
                                dir_doc_kind_t kind, uint32_t timeout_ms,
                                const dir_fetch_callbacks_t *cbs);
/** "fallback directory mirror $FP at ADDR" / "directory authority NICK at
 * ADDR" into buf (ADDR through safe_str(): shown only with SafeLogging 0). */
void dir_boot_describe(const struct dir_boot_t *b, dir_src_t src, size_t idx,
                       char *buf, size_t len);
void dir_boot_reap_soon(struct dir_boot_t *b);
/** "an authority" or "a fallback directory mirror", for log lines. */
const char *dir_boot_src_name(dir_src_t src);

/* dir_boot_cons.c: the consensus fetch and the bootstrap schedules */
/** Timer callback of cons_timer (arg: the dir_boot_t). */
void dir_boot_cons_fetch(evutil_socket_t fd, short what, void *arg);
/** Timer callback of a bootstrap schedule (arg: its dir_sched_t). */
void dir_boot_sched_fire(evutil_socket_t fd, short what, void *arg);
/** Start the bootstrap schedules (no-op when running). */
void dir_boot_bootstrap_begin(struct dir_boot_t *b);
/** Handle finished consensus jobs (from the reap event). */
void dir_boot_cons_reap(struct dir_boot_t *b);
/** Schedule the next consensus refresh (dir-spec 5.1). */
void dir_boot_schedule_refresh(struct dir_boot_t *b);

/* dir_boot_cache.c: fetching as a directory cache */
/** Report a document to cbs.on_document (not while loading the cache). */
void dir_boot_emit(struct dir_boot_t *b, dir_boot_doc_t kind,
                   const char *text, size_t len);
/** The other flavour's consensus request path (NULL: not in cache mode). */
char *dir_boot_other_cons_path(const struct dir_boot_t *b,
                               const uint8_t (*ids)[20], size_t n);
/** Accept a consensus of the other flavour; 0 when kept. */
int dir_boot_take_other_consensus(struct dir_boot_t *b, const char *body,
                                  size_t len, const char *from);
/** Accept descriptors of the other kind; returns how many were stored. */
size_t dir_boot_take_other_descs(struct dir_boot_t *b, const char *body,
                                 size_t len, const char *from);
/** Add the paths of the missing descriptors of the other kind to all;
 * returns how many are missing. */
size_t dir_boot_other_desc_paths(const struct dir_boot_t *b,
                                 dir_url_list_t *all);
/** How many descriptors of the other kind are missing (0 unless in cache
 * mode with an other-flavour consensus). */
size_t dir_boot_other_n_missing(const struct dir_boot_t *b);
/** Write the other kind's descriptor cache file when it changed. */
void dir_cache_save_other_descs(struct dir_boot_t *b);
/** Load the other flavour's consensus and descriptors from the cache. */
void dir_cache_load_other(struct dir_boot_t *b);
void dir_boot_cache_clear(struct dir_boot_t *b);

/* dir_cache.c */
/** The stored entry with digest (dlen bytes), or NULL. */
dir_store_ent_t *dir_store_find(dir_store_t *s, const uint8_t *digest,
                                size_t dlen);
char *dir_cache_path(const struct dir_boot_t *b, const char *name);
const char *dir_cache_consensus_name(const struct dir_boot_t *b);
const char *dir_cache_descs_name(const struct dir_boot_t *b);
void dir_cache_write(const struct dir_boot_t *b, const char *name,
                     const char *data, size_t len);
void dir_store_clear(dir_store_t *s);
void dir_store_add(dir_store_t *s, const uint8_t *digest, size_t dlen,
                   const char *text, size_t len);
/** Write the descriptor cache: the stored texts the consensus wants. */
void dir_cache_save_descs(struct dir_boot_t *b);
/** Parse a batch of descriptors (a response or cache file), store their
 * texts and attach them to the nodelist.  Returns the number attached. */
size_t dir_boot_take_descs(struct dir_boot_t *b, const char *body, size_t len,
                           const char *from);
/** Write cached-certs from the certificates held. */
void dir_cache_save_certs(const struct dir_boot_t *b);
/** Accept certificates text (response or cache); 0 if some were trusted. */
int dir_boot_take_certs(struct dir_boot_t *b, const char *body, size_t len,
                        const char *from);
/** Accept a consensus text; 0 when it became the nodelist's consensus. */
int dir_boot_take_consensus(struct dir_boot_t *b, const char *body,
                            size_t len, const char *from);
/** Load every cache file; true when a usable consensus was loaded. */
bool dir_cache_load(struct dir_boot_t *b);
/** Recompute "enough", report bootstrap progress and call on_dirinfo. */
void dir_boot_report(struct dir_boot_t *b);

#endif
