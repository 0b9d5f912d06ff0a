/* client.h -- the client's application side: SocksPort / HTTPTunnelPort
 * listeners, application connections, the pool of exit circuits and the
 * attachment of application streams to circuits (tor-spec 6.2-6.4,
 * path-spec 2.1 "When we build" and 2.2 "Path selection", guard-spec 4.6-4.8,
 * socks-extensions.txt, tor(1) SocksPort / HTTPTunnelPort semantics).
 *
 * Usage by the daemon:
 *   client_new(&cfg)                once the options are known;
 *   client_open_listeners()         before dropping privileges;
 *   client_dirinfo_changed(c, ok)   after every consensus / descriptor
 *                                   update (ok: enough to build circuits);
 *   client_log_status()             on SIGUSR1;
 *   client_reconfigure()            on SIGHUP;
 *   client_free()                   at shutdown (before chanmgr_free()).
 * Everything runs from the event loop of cfg->base.
 */
#ifndef ALLIUM_FEATURE_CLIENT_CLIENT_H
#define ALLIUM_FEATURE_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/feature/proxy/isolation.h"
#include "allium/feature/proxy/socks.h"

struct event_base;

typedef struct client_cfg_t {
  struct event_base *base;            /**< borrowed */
  chanmgr_t *cm;                      /**< borrowed */
  /** Borrowed; contents change when client_dirinfo_changed() is called. */
  nodelist_t *nl;
  /** n_ports parsed SocksPort / HTTPTunnelPort lines; deep-copied. */
  const proxy_port_cfg_t *ports;
  size_t n_ports;
  /** Routersets borrowed for the client's lifetime. */
  pathsel_options_t path_opts;
  /** DataDirectory/state for Guard lines; NULL = none; copied. */
  const char *state_file;
  /** UseEntryGuards (false: first hop chosen like a middle each time). */
  bool use_entry_guards;
  /** VanguardsLiteEnabled 0 (default false: auto, i.e. enabled): onion-
   * service circuits use an ordinary middle, not a layer-2 node. */
  bool no_vanguards_lite;
  uint32_t circuit_build_timeout_msec;/**< CircuitBuildTimeout; 0: 60000 */
  uint32_t stream_timeout_msec;       /**< CircuitStreamTimeout; 0: 10000 */
  uint32_t socks_timeout_msec;        /**< SocksTimeout; 0: 120000 */
  uint32_t max_dirtiness_sec;         /**< MaxCircuitDirtiness; 0: 600 */
  const uint16_t *long_lived_ports;   /**< LongLivedPorts; copied */
  size_t n_long_lived_ports;
  /** Most open application connections (all ports together; the fd
   * budget's cap, lib/fs/fdlimit.h); 0 = 4096.  At the cap, the oldest
   * connection still in its handshake is closed for a new one. */
  int conn_limit;
  /** SocksPolicy: which client addresses may use the SocksPort(s); NULL
   * accepts everyone.  Borrowed for the client's lifetime. */
  const struct policy_t *socks_policy;
  /** SafeSocks / TestSocks / WarnUnsafeSocks (all false: no warnings). */
  socks_safety_cfg_t socks_safety;
  /** TestingTorNetwork: onion-service time periods as tor's test networks. */
  bool testing_network;
  /** ClientOnionAuthDir keys (feature/hs_common/hs_auth_private.h), or
   * NULL; borrowed for the client's lifetime. */
  const struct hs_auth_store_t *onion_auth;
  /** ClientOnionAuthDir (copied), or NULL: where ONION_CLIENT_AUTH_ADD
   * Flags=Permanent writes its .auth_private files. */
  const char *onion_auth_dir;
  /** Onion services to host (HiddenServiceDir blocks; borrowed, must
   * outlive the client), or NULL.  Their keys are loaded or created by
   * client_new(), which fails when one cannot be. */
  const struct hs_service_configs_t *onion_services;
  /** HiddenServiceSingleHopMode + HiddenServiceNonAnonymousMode: the
   * services are single onion services (one-hop introduction and
   * rendezvous circuits, "single-onion-service" in their descriptors). */
  bool onion_services_single_hop;
  /** __LeaveStreamsUnattached (control-spec 3.13): new streams wait for a
   * controller's ATTACHSTREAM instead of being attached by the client. */
  bool leave_streams_unattached;
  /** MapAddress lines ("old new"; borrowed during client_new() /
   * client_reconfigure() only): the config mappings of the address map. */
  const struct config_line_t *map_address;
} client_cfg_t;

typedef struct client_t client_t;

/** New client; loads the guards from state_file (if any).  Nothing is
 * bound yet.  Caller frees with client_free().  NULL on bad arguments. */
client_t *client_new(const client_cfg_t *cfg);

/** Bind every (non-disabled) port; call before privileges drop.  Logs
 * "Opened Socks listener connection (ready) on 127.0.0.1:9050" at notice.
 * Port "auto" binds an ephemeral port and logs the real one.  0, or -1 with
 * *err set (caller frees); listeners opened so far stay open. */
int client_open_listeners(client_t *c, char **err);

/** The bound port of the i-th configured port (after open); 0 if none
 * (disabled, unix socket, not open). */
uint16_t client_listener_port(const client_t *c, size_t i);

/** Directory info changed.  enough: the guard selection is updated, and
 * preemptive exit circuits are built when none is open or building;
 * waiting application streams get circuits.  Until the first call with
 * enough=true, application requests wait (up to SocksTimeout). */
void client_dirinfo_changed(client_t *c, bool enough);

/** Apply a new configuration (SIGHUP; tor(1) SIGNALS, "reload"):
 *  - ports: a listener whose binding (kind, address and port, or unix
 *    path) is unchanged stays bound, so its connections go on, and takes
 *    the new flags for new connections; a removed one is closed (its open
 *    connections go on until they end); a new one is opened;
 *  - path_opts and socks_policy are borrowed from now on (the caller frees
 *    the old ones after this call); the timeouts and LongLivedPorts are
 *    copied; base, cm, nl, state_file and use_entry_guards are ignored;
 *  - nodes_changed (EntryNodes, ExitNodes, ExcludeNodes, ExcludeExitNodes,
 *    StrictNodes, ... changed): the guards are re-evaluated, circuits not
 *    used yet are closed and used ones take no new streams (as tor does),
 *    so new streams only get circuits chosen under the new rules.
 * Returns how many new ports could not be bound (each logged). */
int client_reconfigure(client_t *c, const client_cfg_t *cfg,
                       bool nodes_changed);

/** One status line at notice (SIGUSR1): circuits, streams, bytes. */
void client_log_status(const client_t *c);

/** Close every listener, application connection and client circuit, save
 * the guard state.  NULL ok.  Not from inside a chanmgr callback. */
void client_free_(client_t *c);
#define client_free(p) do { client_free_(p); (p) = NULL; } while (0)

/* ---- for tests ---- */

/** How long an application may take to finish its SOCKS / HTTP CONNECT
 * handshake (default 60000 ms). */
void client_set_handshake_timeout(client_t *c, uint32_t msec);
/** New ClientOnionAuthDir keys (borrowed until the next call or the
 * client's end; NULL: none), e.g. after SIGHUP: descriptors are opened with
 * them from now on, and the remembered failures (such as "client
 * authorization missing") are forgotten so the next request fetches again. */
void client_set_onion_auth(client_t *c, const struct hs_auth_store_t *auth);
/** Open application connections (all ports). */
size_t client_n_conns(const client_t *c);
/** Client circuits alive (building or built). */
size_t client_n_circuits(const client_t *c);

/* ---- control port (control-spec) ---- */
/** Register the client's GETINFO keys on the control bus (core/mainloop/ctlbus.h) and publish its
 * events from now on (formatted only when a controller listens).  client_free() unregisters. */
void client_ctl_attach(client_t *c);
/** SIGNAL NEWNYM (tor(1) SIGNALS "NEWNYM"): circuits in use take no new streams, new ones are
 * built for later streams; the client's cached DNS answers are forgotten.  The rate limit is the
 * caller's. */
void client_newnym(client_t *c);
/** CLOSECIRCUIT id [IfUnused]: 0, or -1 when no client circuit has that id (or IfUnused and it
 * carries streams). */
int client_ctl_close_circuit(client_t *c, uint32_t id, bool if_unused);
/** CLOSESTREAM id reason: 0, or -1 when no stream has that id. */
int client_ctl_close_stream(client_t *c, uint64_t id, uint8_t reason);
/* ---- figures for the MetricsPort (client_stats.c) ---- */

/** What the client carries now and has carried since it started. */
typedef struct client_stats_t {
  size_t circuits_built, circuits_building;  /**< now */
  size_t streams_open, streams_waiting;      /**< now (waiting: a circuit) */
  size_t conns;                              /**< application connections */
  uint64_t bytes_in, bytes_out;              /**< application payload */
  /* onion services this process hosts (sums over every service) */
  size_t hs_services;
  uint64_t hs_intro_established, hs_intro_failed;
  uint64_t hs_introduce2_ok, hs_introduce2_refused, hs_introduce2_replay;
  uint64_t hs_rend_joined, hs_rend_failed;
  uint64_t hs_uploads_ok, hs_uploads_failed;
} client_stats_t;

/** Fill out (all zero for c NULL). */
void client_get_stats(const client_t *c, client_stats_t *out);

#endif
