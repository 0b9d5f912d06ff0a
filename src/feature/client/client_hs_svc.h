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
