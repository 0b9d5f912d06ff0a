/* hs_client_fetch.h -- fetching onion-service descriptors from the
 * responsible HSDirs (rend-spec-v3 2.2.3 hash ring, 2.2.4.1 client fetch,
 * 2.2.6 "GET /tor/hs/3/<z>" over BEGIN_DIR), opening them (hs_client_cache.h)
 * with ClientOnionAuthDir keys (hs_auth_private.h) and caching them.
 *
 * Usage: hs_client_fetcher_new() once the client's channel manager exists;
 * hs_client_fetch_start() per application request; hs_client_fetcher_tick()
 * from the client's timer (attempt deadlines).  Each fetch asks the
 * responsible HSDirs for the current period (hsdir_spread_fetch per replica)
 * one after the other in random order, skipping HSDirs that failed this
 * blinded key in the last 15 minutes, over a 3-hop circuit ending at the
 * HSDir built by the caller's launch function.  Requests for a service with
 * a fetch under way wait for that fetch.  Waiters get the result once,
 * never from inside hs_client_fetch_start().
 */
#ifndef ALLIUM_FEATURE_HS_CLIENT_HS_CLIENT_FETCH_H
#define ALLIUM_FEATURE_HS_CLIENT_HS_CLIENT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/hs_client/hs_client_cache.h"
#include "allium/feature/hs_common/hs_auth_private.h"
#include "allium/feature/nodelist/nodelist.h"

/** Build a 3-hop circuit whose last hop is last (copy what you need: the
 * node is borrowed for the call); cbs is for chanmgr_launch().  0 with
 * *circ_out set, or -1. */
typedef int (*hs_client_launch_fn)(void *arg, const node_t *last,
                                   const chanmgr_circ_cbs_t *cbs,
                                   uint64_t *circ_out);

/** What happened to one HSDir of a fetch (control-spec 4.1.25 HS_DESC):
 * an HSDir is asked, it gave a usable descriptor, or it failed (reason
 * "NOT_FOUND", "BAD_DESC", "QUERY_REJECTED", "UNEXPECTED"; or
 * "QUERY_NO_HSDIR" with hsdir NULL when no HSDir could be asked).  body:
 * the descriptor as the HSDir sent it (RECEIVED; borrowed for the call),
 * else NULL. */
typedef enum hs_client_fetch_ev_t {
  HS_CLIENT_FETCH_EV_REQUESTED = 0,
  HS_CLIENT_FETCH_EV_RECEIVED,
  HS_CLIENT_FETCH_EV_FAILED,
} hs_client_fetch_ev_t;
typedef void (*hs_client_fetch_observe_fn)(void *arg, hs_client_fetch_ev_t ev,
                                           const ed25519_public_key_t *pk,
                                           const uint8_t *hsdir,
                                           const ed25519_public_key_t *blinded,
                                           const char *reason,
                                           const uint8_t *body, size_t len);

typedef struct hs_client_fetch_cfg_t {
  chanmgr_t *cm;                  /**< borrowed */
  nodelist_t *nl;                 /**< borrowed; its contents may change */
  bool testing_network;           /**< TestingTorNetwork (period length) */
  const hs_auth_store_t *auth;    /**< ClientOnionAuthDir keys, or NULL */
  hs_client_launch_fn launch;
  void *launch_arg;
  /** The client's path options (borrowed; read at each fetch, so a reload
   * applies): HSDirs in ExcludeNodes are never asked, as in tor.  NULL:
   * none excluded. */
  const struct pathsel_options_t *path_opts;
  /** One HSDir attempt (circuit, stream, response); 0: 30000 ms. */
  uint32_t attempt_timeout_msec;
  /** Told about every HSDir attempt (the control port's HS_DESC events);
   * NULL: nobody. */
  hs_client_fetch_observe_fn observe;
  void *observe_arg;
} hs_client_fetch_cfg_t;

/** Result for a waiter: st OK with desc (borrowed for the call: copy what
 * you need), or a failure with desc NULL. */
typedef void (*hs_client_fetch_cb)(void *arg, hs_client_desc_status_t st,
                                   const hs_client_desc_t *desc);

typedef struct hs_client_fetcher_t hs_client_fetcher_t;

/** New fetcher (cfg copied).  NULL on bad arguments. */
hs_client_fetcher_t *hs_client_fetcher_new(const hs_client_fetch_cfg_t *cfg);
/** Stop every fetch (waiters are not called) and free; NULL ok. */
void hs_client_fetcher_free_(hs_client_fetcher_t *f);
#define hs_client_fetcher_free(p) \
  do { hs_client_fetcher_free_(p); (p) = NULL; } while (0)

/** Replace the ClientOnionAuthDir keys (borrowed; NULL: none). */
void hs_client_fetcher_set_auth(hs_client_fetcher_t *f,
                                const hs_auth_store_t *auth);

/** Ask for the descriptor of service_pk.  Returns 1 when the cache answers
 * at once (*st set; *desc borrowed until the next fetcher call, NULL on a
 * cached failure; cb is not called), 0 when cb(arg, ...) will be called
 * later, or -1 when no fetch can start (no live consensus, no HSDir):
 * *st = NOT_FOUND. */
int hs_client_fetch_start(hs_client_fetcher_t *f,
                          const ed25519_public_key_t *service_pk,
                          hs_client_fetch_cb cb, void *arg,
                          hs_client_desc_status_t *st,
                          const hs_client_desc_t **desc);
/** Withdraw every wait of (cb, arg) (the application went away). */
void hs_client_fetch_cancel(hs_client_fetcher_t *f, hs_client_fetch_cb cb,
                            void *arg);
/** Attempt deadlines; call every 100 ms or so. */
void hs_client_fetcher_tick(hs_client_fetcher_t *f, uint64_t now_msec);
/** The descriptor cache (owned by f). */
hs_client_cache_t *hs_client_fetcher_cache(hs_client_fetcher_t *f);
/** Fetches under way. */
size_t hs_client_fetcher_n_pending(const hs_client_fetcher_t *f);

/* ---- pure helpers (tests) ---- */

/** "/tor/hs/3/<base64 of the blinded key, no padding>" (rend-spec-v3
 * 2.2.6) into out (at least 55 bytes).  0 or -1. */
int hs_client_fetch_url(const ed25519_public_key_t *blinded, char *out,
                        size_t outlen);

/** What one HSDir's answer means: the HTTP status (or -1 when the
 * transfer failed) and the opened descriptor's status.  Returns
 * 1 if the fetch is finished with this answer (OK, or an authentic
 * descriptor we cannot open for authorization reasons), 0 to try the next
 * HSDir. */
int hs_client_fetch_answer_final(int http_status, hs_client_desc_status_t st);

#endif
