/* relay_publish.h -- a running relay's presence in the directory: its own
 * directory view (a dirclient bootstrap fetching as a cache when DirCache is
 * on, dir-spec 4 and 5), its server descriptor built from the runtime
 * (router_desc.h, dir-spec 2.1.1) and uploaded to every authority on tor's
 * schedule (desc_publish.h, dir-spec 2.1), the consensus check ("Our relay
 * is (not) listed in the consensus"), the observed bandwidth (the largest
 * 10-second average over the last day, read and written, the smaller of the
 * two) and hourly onion-key rotation (RELAY_KEYS_ONION_ROTATION).
 *
 * Wiring: app_relay.c fills a relay_publish_cfg_t from the options, calls
 * relay_publish_new() after relay_run_new() and gives the result to
 * relay_run_set_publisher(); relay_run_start() then starts it through
 * relay_run_publish_seam().  The directory cache (helper "dirserve") feeds
 * on the documents of this bootstrap: relay_run_set_dir_document_cb().
 */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_PUBLISH_H
#define ALLIUM_FEATURE_RELAY_RELAY_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirclient/dir_boot.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/conf/confline.h"

/** tor's default BandwidthRate / BandwidthBurst: 1 GB/s. */
#define RELAY_PUBLISH_DEFAULT_BW (1ull << 30)
/** Observed bandwidth: 10-second averages, kept as the largest per hour
 * for RELAY_PUBLISH_BW_HOURS hours. */
#define RELAY_PUBLISH_BW_PERIOD_SEC 10
#define RELAY_PUBLISH_BW_HOURS 24
/** Onion-key rotation check period (tor checks hourly). */
#define RELAY_PUBLISH_ROTATE_CHECK_SEC 3600

/** What the publisher runs with (borrowed during relay_publish_new()). */
typedef struct relay_publish_cfg_t {
  const dir_authority_t *auths;     /**< DirAuthority lines or built-ins */
  size_t n_auths;
  const dir_fallback_t *fallbacks;  /**< may be NULL */
  size_t n_fallbacks;
  const char *datadir;              /**< keys in datadir/keys; NULL: no rotation */
  const char *cache_dir;            /**< NULL: no directory cache files */
  bool dir_cache;                   /**< DirCache: fetch as a cache, advertise
                                     *   tunnelled-dir-server */
  bool publish;                     /**< PublishServerDescriptor is not 0 */
  bool testing_network;             /**< TestingTorNetwork */
  bool assume_reachable;            /**< AssumeReachable: skip the ORPort
                                     *   self-test (relay_reach.h) */
  const char *contact;              /**< ContactInfo, NULL: none */
  const config_line_t *family;      /**< MyFamily lines */
  uint64_t bw_rate, bw_burst;       /**< advertised rate/burst (bytes/s);
                                     *   0: RELAY_PUBLISH_DEFAULT_BW */
  /* exit (feature/exit/exit_policy.h): the descriptor's policy lines
   * (copied; n 0: "reject *:*") and "ipv6-policy" (copied; NULL: none) */
  const char *const *exit_policy;
  size_t n_exit_policy;
  const char *ipv6_policy;
} relay_publish_cfg_t;

typedef struct relay_publish_t relay_publish_t;

/** Parse cfg (MyFamily, ContactInfo) and build the directory view for the
 * relay rr (borrowed; outlives the publisher).  NULL with *errmsg (caller
 * frees) on a bad option. */
relay_publish_t *relay_publish_new(relay_run_t *rr, struct event_base *base,
                                   const relay_publish_cfg_t *cfg, char **errmsg);
/** Start the directory bootstrap, the bandwidth sampler, key rotation and
 * (unless PublishServerDescriptor 0) the uploader.  0 or -1. */
int relay_publish_start(relay_publish_t *p);
/** Stop and free; NULL ok. */
void relay_publish_free_(relay_publish_t *p);
#define relay_publish_free(p) do { relay_publish_free_(p); (p) = NULL; } while (0)

/** The relay's directory bootstrap and nodelist (borrowed). */
dir_boot_t *relay_publish_dir_boot(relay_publish_t *p);
nodelist_t *relay_publish_nodelist(relay_publish_t *p);
/** The DataDirectory the onion keys rotate in (NULL: none, or p NULL). */
const char *relay_publish_datadir(const relay_publish_t *p);

/** Fill *out for a descriptor published at now (pointers borrowed from p
 * and the runtime, valid until the next call).  0, or -1 when no IPv4
 * address can be advertised (set Address, or bind the ORPort to one). */
int relay_publish_fill_params(relay_publish_t *p, time_t now,
                              router_desc_params_t *out);

/** SIGHUP, first step: would relay_publish_reconfigure() accept cfg
 * (ContactInfo, MyFamily)?  0, or -1 with *errmsg (caller frees). */
int relay_publish_check_reload(relay_publish_t *p, const relay_publish_cfg_t *cfg,
                               char **errmsg);
/** SIGHUP: take ContactInfo, MyFamily, the advertised bandwidth and
 * PublishServerDescriptor from cfg (the other members are ignored: they
 * need a restart).  When a field of the descriptor changed (or
 * nickname_changed: relay_run_set_nickname() said so) a new descriptor is
 * built and uploaded as tor does (at once, or one check interval after the
 * last); PublishServerDescriptor 1 -> 0 stops uploading, 0 -> 1 starts.
 * -1 with *errmsg (nothing changed), 0 (no descriptor change), or 1. */
int relay_publish_reconfigure(relay_publish_t *p, const relay_publish_cfg_t *cfg,
                              bool nickname_changed, char **errmsg);

/* ---- pure helpers (exported for tests) ---- */

/** Parse MyFamily values (each a comma/space separated list of
 * fingerprints, "$"-prefixed or not, or nicknames) into normalised entries:
 * "$" + 40 upper-case hex digits (a "~nick"/"=nick" suffix dropped, as
 * tor's descriptors carry bare fingerprints) or the nickname as written.
 * Duplicates and our own fingerprint (self_hex, may be NULL) are dropped.
 * *out is a new array of new strings (free with relay_publish_family_free).
 * 0, or -1 with *errmsg on a malformed entry or too many. */
int relay_publish_family_parse(const config_line_t *lines, const char *self_hex,
                               char ***out, size_t *n_out, char **errmsg);
void relay_publish_family_free(char **v, size_t n);

/** Observed-bandwidth history: per-hour maxima of 10-second averages. */
typedef struct relay_bw_hist_t {
  uint64_t max_in[RELAY_PUBLISH_BW_HOURS], max_out[RELAY_PUBLISH_BW_HOURS];
  unsigned cur;                 /**< slot of the current hour */
  unsigned samples_in_hour;     /**< samples added to the current slot */
} relay_bw_hist_t;
/** Add one 10-second sample (bytes/s in each direction). */
void relay_bw_hist_add(relay_bw_hist_t *h, uint64_t in_bps, uint64_t out_bps);
/** The observed bandwidth: min(max read, max written) over the history. */
uint64_t relay_bw_hist_observed(const relay_bw_hist_t *h);

/** AccountingMax hibernation began (on) or ended: the next descriptor
 * says "hibernating 1" with an observed bandwidth of 0 (dir-spec 2.1.1),
 * published at once.  p NULL: nothing. */
void relay_publish_set_hibernating(relay_publish_t *p, bool on);

#endif
