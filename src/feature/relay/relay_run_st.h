/* relay_run_st.h -- (private to src/feature/relay/relay_run*.c,
 * relay_listen.c and their tests) the running relay's state. */
#ifndef ALLIUM_SRC_FEATURE_RELAY_RELAY_RUN_ST_H
#define ALLIUM_SRC_FEATURE_RELAY_RELAY_RUN_ST_H

#include "allium/core/channel/link_keys.h"
#include "allium/core/circuit/congestion.h"
#include "allium/feature/relay/relay_run.h"
#include <time.h>

#include "allium/feature/dircache/dircache.h"
#include "allium/lib/evloop/evloop.h"

struct evconnlistener;
struct event;
struct workqueue_t;
struct workqueue_job_t;

typedef struct relay_listener_t {
  relay_run_t *rr;
  relay_port_t *port;          /**< in rr->ports */
  int fd;
  struct evconnlistener *lev;
  struct event *resume;
  uint32_t pause_msec;
} relay_listener_t;

struct relay_run_t {
  struct event_base *base;
  const relay_keys_t *keys;
  char *nickname;
  int heartbeat_sec;
  bool assume_reachable;
  int n_workers;
  relay_ports_t ports;
  relay_address_t addr;
  link_keys_t *lk, *old_lk;        /**< link credentials, and the set
                                     *   before the last rotation */
  tls_context_t *client_tls;
  cellswitch_t *sw;
  onion_workers_t *workers;    /**< onion handshakes off the loop */
  char *datadir;               /**< for the previous ntor key; may be NULL */
  relay_listener_t *listeners;
  size_t n_listeners;
  evloop_handle_t *rotate, *heartbeat;
  uint64_t start_msec;
  /* directory presence (relay_publish.c) */
  struct relay_publish_t *pub;
  dir_boot_document_fn doc_fn;
  void *doc_arg;
  struct relay_dirserve_t *dirserve;   /**< DirCache: relay_dirserve.c */
  /* link-key renewal off the loop (relay_link_rotate.c) */
  struct workqueue_t *link_wq;         /**< one thread, made on first use */
  struct workqueue_job_t *link_job;    /**< renewal in flight, or NULL */
  bool link_stopping;
  unsigned link_rotations;             /**< renewals installed */
  /* DoS defences (relay_dos.c; applied by the engine) */
  dos_t *dos;
  relay_dos_options_t dos_opts;
  dos_params_t dos_last;               /**< last resolved (to log changes) */
  evloop_handle_t *dos_timer;          /**< consensus parameters, relays */
  time_t dos_consensus_va;             /**< valid-after last applied */
  struct exit_t *exit;                 /**< exit streams (relay_run_enable_exit) */
  /* congestion control at circuits ending here (proposal 324) */
  cc_params_t cc_last;                 /**< applied (to log changes) */
  bool cc_applied;
  /* onion-service roles: intro and rendezvous point (relay_hs_run.c) */
  struct relay_hs_t *hs;
  bool hs_params_logged;               /**< the parameters were logged once */
};

/* relay_link_rotate.c: link credentials renewed on a worker thread */
void relay_link_rotate_start(relay_run_t *rr);
void relay_link_rotate_stop(relay_run_t *rr);

/* relay_listen.c */
int relay_listen_open(relay_run_t *rr, char **errmsg);
int relay_listen_enable(relay_run_t *rr);
void relay_listen_close(relay_run_t *rr);

/* relay_hs_run.c: introduction and rendezvous point (relay_hs.h) wired to
 * the engine's hooks */
int relay_hs_run_init(relay_run_t *rr);
void relay_hs_run_on_relay_msg(void *arg, cellswitch_t *sw, uint64_t circ,
                               const circ_event_t *ev);
void relay_hs_run_on_circ_closed(void *arg, cellswitch_t *sw, uint64_t circ);
/** Consensus parameters of the INTRODUCE2 defence (on the 10 s timer). */
void relay_hs_run_refresh(relay_run_t *rr);
void relay_hs_run_log_heartbeat(relay_run_t *rr);

/* relay_dirserve.c: BEGIN_DIR requests answered from a dircache_t */
typedef struct relay_dirserve_t relay_dirserve_t;
/** New server with its cache loaded from datadir (NULL: empty). */
relay_dirserve_t *relay_dirserve_new(const char *datadir);
/** Tests: the same with a fixed clock (0: the real one). */
relay_dirserve_t *relay_dirserve_new_at(const char *datadir, time_t fixed_now);
/** Start re-reading the cache files when they change. */
void relay_dirserve_start(relay_dirserve_t *ds);
void relay_dirserve_free_(relay_dirserve_t *ds);
#define relay_dirserve_free(p) \
  do { relay_dirserve_free_(p); (p) = NULL; } while (0)
dircache_t *relay_dirserve_dircache(relay_dirserve_t *ds);
/** The dir_request hook's work: CELLSWITCH_DIR_NEED_MORE, 0 (answered
 * with cellswitch_dir_respond()) or -1. */
int relay_dirserve_request(relay_dirserve_t *ds, cellswitch_t *sw,
                           uint64_t stream, const uint8_t *data, size_t len);
/** cellswitch_hooks_t.dir_request with arg = the relay_run_t. */
int relay_dirserve_hook(void *arg, cellswitch_t *sw, uint64_t stream,
                        const uint8_t *data, size_t len);
void relay_dirserve_check_files(relay_dirserve_t *ds, time_t now);
/** The heartbeat's directory line (and the cache's own). */
void relay_dirserve_log_heartbeat(relay_dirserve_t *ds,
                                  const cellswitch_stats_t *s);

#endif
