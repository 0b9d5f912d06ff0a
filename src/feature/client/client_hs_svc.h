/* client_hs_svc.h -- onion services hosted by this process (rend-spec-v3
 * 3.1 introduction points, 2.2 descriptor upload, 4.2 rendezvous and the
 * streams the client then opens).  Internal to feature/client: a service
 * runs on the client role's circuits (guards, paths, chanmgr), as in tor.
 *
 *   client_hs_svc.c         one host per HiddenServiceDir: keys, the
 *                           hs_service_run state machine over client
 *                           circuits, descriptors built and uploaded for
 *                           the current and next periods; every
 *                           rendezvous circuit it joins becomes a
 *                           client_hs_svc_circ_t.
 *   client_hs_svc_stream.c  the streams the client opens on such a
 *                           circuit: BEGIN -> hs_service_stream_decide()
 *                           -> a non-blocking connection to the
 *                           HiddenServicePort target (TCP or unix:), an
 *                           empty CONNECTED once it is up, then data both
 *                           ways with back-pressure (tor-spec 7.4; as
 *                           client_conn.c does for an application).
 *
 * Lifetimes: the host owns each client_hs_svc_circ_t.  When the circuit
 * closes (chanmgr on_closed, possibly from inside chanmgr_close_circ()
 * called by the stream code itself) the host sets closed and calls
 * client_hs_svc_streams_closed(); the struct is freed by the host's next
 * tick, so it stays valid for the rest of the current call chain.
 */
#ifndef ALLIUM_FEATURE_CLIENT_CLIENT_HS_SVC_H
#define ALLIUM_FEATURE_CLIENT_CLIENT_HS_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/stream/stream.h"
#include "allium/feature/hs_client/hs_client_fetch.h"
#include "allium/feature/hs_service/hs_service_config.h"
#include "client_st.h"

struct client_hs_svc_conn_t;

/** A rendezvous circuit one of our services joined (service side). */
typedef struct client_hs_svc_circ_t {
  struct client_hs_svc_circ_t *next;
  client_t *c;
  uint64_t handle;                    /**< chanmgr circuit */
  const hs_service_config_t *cfg;     /**< borrowed; outlives the circuit */
  struct client_hs_svc_conn_t *conns; /**< local connections (stream code) */
  size_t n_streams;                   /**< streams accepted and not ended */
  bool closed;                        /**< circuit gone; freed at next tick */
  uint64_t bytes_in, bytes_out;       /**< from / to the client */
} client_hs_svc_circ_t;

/* ---- client_hs_svc_stream.c ---- */

/** A stream event of rc's circuit (chanmgr on_stream): BEGIN (connect or
 * refuse per rc->cfg), END from the client, ERROR. */
void client_hs_svc_stream_event(client_hs_svc_circ_t *rc,
                                const relay_stream_event_t *ev);
/** Data from the client for stream sid (a view, valid during the call). */
void client_hs_svc_stream_data(client_hs_svc_circ_t *rc, uint16_t sid,
                               const uint8_t *data, size_t len);
/** The circuit is gone: drop every local connection (nothing is sent). */
void client_hs_svc_streams_closed(client_hs_svc_circ_t *rc);
/** Connect deadlines and deferred frees; the host calls it every 100 ms. */
void client_hs_svc_streams_tick(client_hs_svc_circ_t *rc, uint64_t now_msec);

/* ---- client_hs_svc.c ---- */

/** Start hosting every service of cfgs (borrowed; outlives c): load or
 * create keys, then wait for directory information.  0, or -1 (logged). */
int client_hs_svc_start(client_t *c, const hs_service_configs_t *cfgs);
/** ADD_ONION: host cfgs->svc[0] in memory only (cfgs is taken, freed with
 * the service or at once on failure) under identity kp (copied), with the
 * authorized clients' x25519 public keys (copied; none: no client
 * authorization).  0, -2 when a service with that identity already runs,
 * -1 when it cannot start. */
int client_hs_svc_add(client_t *c, hs_service_configs_t *cfgs,
                      const ed25519_keypair_t *kp,
                      const uint8_t (*clients)[32], size_t n_clients);
/** DEL_ONION: stop the service added with identity pk (introduction and
 * rendezvous circuits closed, uploads stopped).  0, or -1 when no service
 * added by client_hs_svc_add() has that identity. */
int client_hs_svc_remove(client_t *c, const ed25519_public_key_t *pk);
/** Does a service (configured or added) run with identity pk? */
bool client_hs_svc_exists(client_t *c, const ed25519_public_key_t *pk);

/* ---- client_ctl_onion.c ---- */

/** Publish "HS_DESC action addr auth hsdir [descid] [REASON=reason]"
 * (control-spec 4.1.25); hsdir NULL: "UNKNOWN"; blinded NULL: no
 * descriptor id.  The caller checks ctlev_wanted(CTLEV_HS_DESC). */
void client_ctl_hs_desc_event(client_t *c, const char *action,
                              const ed25519_public_key_t *pk,
                              const char *auth, const uint8_t *hsdir,
                              const ed25519_public_key_t *blinded,
                              const char *reason);

/** hs_client_fetch_observe_fn (arg: the client): HS_DESC REQUESTED,
 * RECEIVED, FAILED for every HSDir a descriptor fetch asks, and
 * HS_DESC_CONTENT (4.1.26) after RECEIVED and FAILED. */
void client_ctl_fetch_observe(void *arg, hs_client_fetch_ev_t ev,
                              const ed25519_public_key_t *pk,
                              const uint8_t *hsdir,
                              const ed25519_public_key_t *blinded,
                              const char *reason, const uint8_t *body,
                              size_t len);

/** Timer: every 100 ms from client_tick. */
void client_hs_svc_tick(client_t *c);
/** Directory information changed (new consensus). */
void client_hs_svc_dirinfo(client_t *c);
/** Heartbeat line(s). */
void client_hs_svc_log_status(const client_t *c);
/** Close everything (client_free). */
void client_hs_svc_free_all(client_t *c);

/** Add every hosted service's counters to out (client_stats.c). */
struct client_stats_t;
void client_hs_svc_add_stats(const client_t *c, struct client_stats_t *out);

#endif
