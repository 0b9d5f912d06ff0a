/* client_st.h -- the client's internal state, shared by client.c (object,
 * configuration, timer, dirinfo), client_circ_pool.c (circuit pool, paths,
 * guards; path-spec 2, guard-spec 4) and client_conn.c (listeners and
 * application connections; tor-spec 6.2-6.4, socks-extensions.txt).
 * Not for other modules.
 */
#ifndef ALLIUM_FEATURE_CLIENT_CLIENT_ST_H
#define ALLIUM_FEATURE_CLIENT_CLIENT_ST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/client/client.h"
#include "allium/feature/client/client_attach.h"
#include "allium/feature/pathsel/guards.h"
#include "allium/feature/pathsel/vanguards.h"
#include "allium/feature/proxy/http_connect.h"
#include "allium/feature/proxy/socks.h"
#include "allium/lib/crypto/ed25519.h"

struct event;
struct bufferevent;
struct evconnlistener;
struct sockaddr;

#define CLIENT_HANDSHAKE_TIMEOUT_MSEC 60000
#define CLIENT_TICK_MSEC 100
#define CLIENT_MAX_BUILDING 6          /* circuits building at once */
#define CLIENT_PREEMPTIVE 2            /* clean exit circuits to keep */
#define CLIENT_PREEMPTIVE_MAX 6        /* ... and at most, for predicted ports */
#define CLIENT_MAX_ATTEMPTS 4          /* circuits tried per stream */
#define CLIENT_PAUSE_BYTES (256 * 1024)/* stop reading the app above this */
/* Exit -> app back-pressure: above HIGH bytes waiting for the app the
 * stream's SENDMEs are held back (tor-spec 7.4); at LOW they go out. */
#define CLIENT_RECV_HIGH (512 * 1024)
#define CLIENT_RECV_LOW (128 * 1024)
#define CLIENT_OPTIMISTIC_MAX 16384    /* optimistic data sent with BEGIN */
#define CLIENT_AVOID_MAX 8
#define CLIENT_CTL_MAX_HOPS 4          /* hops a CIRC event path shows */

/** Isolation attributes with owned copies of the strings. */
typedef struct client_iso_t {
  proxy_iso_attrs_t a;     /* pointers into the buffers below */
  uint8_t *auth1, *auth2;
  char *dest;
} client_iso_t;

typedef struct client_circ_t {
  struct client_circ_t *next;
  client_t *c;
  uint64_t handle;         /* 0 until chanmgr_launch returned */
  uint64_t num;            /* our number, for logs */
  bool built, closed;
  bool no_new_streams;     /* built under node rules since changed (SIGHUP) */
  bool preemptive;
  uint16_t port;           /* port it was built for (0: any) */
  uint8_t guard_id[20];
  bool has_guard;          /* guard from the guard module */
  guard_circ_state_t guard_state;
  uint8_t exit_id[20];
  uint64_t launched_msec;
  uint64_t first_use_msec; /* 0: clean */
  bool has_iso;
  client_iso_t iso;        /* first stream's attributes */
  proxy_iso_circ_t iso_state; /* every stream's (transitive isolation) */
  size_t n_streams;        /* attached now */
  struct hmap_t *conns;    /* attached conns by stream id (2-byte key) */
  struct client_conn_t *last_conn; /* the last one found in conns */
  uint64_t bytes_in, bytes_out;
  bool hs;                 /* a rendezvous circuit joined with hs_pk */
  ed25519_public_key_t hs_pk;
  /* control port (client_ctl.c; control-spec 4.1.1) */
  uint32_t ctl_id;         /* process-wide circuit ID, from 1 */
  uint8_t path_ids[CLIENT_CTL_MAX_HOPS][20]; /* the hops' RSA ids */
  uint8_t n_path;          /* hops in path_ids */
  uint8_t n_done;          /* hops in (EXTENDED) */
  bool internal, need_uptime;
  int64_t created_sec;     /* wall clock at launch (TIME_CREATED) */
  uint32_t created_usec;
  uint64_t ctl_bw_in, ctl_bw_out; /* bytes_in / bytes_out at the last CIRC_BW */
  const char *ctl_purpose; /* static; NULL: GENERAL (HS_CLIENT_REND if hs) */
  bool ctl_controller;     /* purpose CONTROLLER: streams only by ATTACHSTREAM */
} client_circ_t;

typedef enum client_conn_state_t {
  CONN_HANDSHAKE = 0,      /* reading the SOCKS / HTTP request */
  CONN_WAIT_CIRC,          /* request read, no circuit yet */
  CONN_WAIT_HS,            /* .onion: waiting for client_hs.c's attempt */
  CONN_CONNECTING,         /* BEGIN sent */
  CONN_RESOLVING,          /* RESOLVE sent */
  CONN_OPEN,
  CONN_CLOSING,            /* flushing the last bytes to the app */
  CONN_DEAD,               /* freed at the next tick */
} client_conn_state_t;

typedef struct client_listener_t {
  client_t *c;
  size_t idx;              /* unique per client: the isolation listener id */
  proxy_port_cfg_t cfg;    /* deep copy */
  struct evconnlistener *lev;
  uint16_t bound_port;
  int n_conns;
  struct event *pause_ev;  /* re-enables lev after EMFILE/ENFILE */
  uint32_t pause_msec;     /* last pause (back-off), 0: none lately */
  uint64_t pause_at_msec;  /* when the last pause started */
  struct client_listener_t *next_retired; /* on c->retired (SIGHUP) */
} client_listener_t;

typedef struct client_conn_t {
  struct client_conn_t *next, *prev;
  client_t *c;
  client_listener_t *l;
  uint64_t num;            /* stream number for logs */
  struct bufferevent *bev;
  client_conn_state_t state;
  bool http;               /* HTTP CONNECT, else SOCKS */
  socks_state_t *socks;
  http_connect_t *hc;
  uint8_t socks_version;
  uint8_t command;         /* SOCKS_CMD_* (HTTP: CONNECT) */
  socks_addr_t target;     /* for RESOLVE / RESOLVE_PTR */
  char host[RELAY_HOST_MAX];
  uint16_t port;
  policy_addr_t dest;      /* host as an address; family 0: a hostname */
  client_iso_t iso;
  uint64_t accepted_msec;
  uint64_t request_msec;   /* request read: SocksTimeout counts from here */
  uint64_t attempt_msec;   /* BEGIN / RESOLVE sent */
  client_circ_t *circ;     /* attached circuit */
  client_circ_t *launched; /* circuit launched for this stream */
  uint16_t stream_id;
  int attempts;
  uint8_t last_reason;     /* last END reason (for the final reply) */
  uint64_t avoid[CLIENT_AVOID_MAX];   /* circuits that failed us */
  size_t n_avoid;
  size_t optimistic;       /* input bytes already sent with BEGIN */
  bool paused;             /* reading stopped for back-pressure */
  bool recv_paused;        /* the app is slow: stream SENDMEs held back */
  uint64_t bytes_in, bytes_out;
  uint64_t next_launch_msec; /* no circuit launch for it before */
  uint64_t retry_after_msec; /* no new attempt before (after an END) */
  uint64_t closing_msec;
  int first_byte;          /* first byte the app sent, -1: none */
  bool onion;              /* CONNECT to a valid .onion: onion_pk */
  ed25519_public_key_t onion_pk;
  uint64_t hs_attempt;     /* CONN_WAIT_HS: the attempt waited for */
  /* control port (client_ctl.c; control-spec 4.1.2) */
  uint64_t ctl_id;         /* process-wide stream ID, from 1 */
  bool ctl_new;            /* NEW / NEWRESOLVE announced: CLOSED follows */
  uint8_t ctl_reason;      /* END reason of FAILED / a remote END (CLOSED) */
  bool ctl_remote;         /* ctl_reason came in an END from the exit */
  uint16_t src_port;       /* the application's port (SOURCE_ADDR) */
  uint64_t ctl_bw_in, ctl_bw_out; /* bytes_in / bytes_out at the last STREAM_BW */
  bool ctl_auto;           /* ATTACHSTREAM id 0: the client picks, even with
                            * __LeaveStreamsUnattached (until a retry) */
  bool ctl_resolve;        /* a controller's RESOLVE: no application; the
                            * answer is an ADDRMAP event */
  bool ctl_answered;       /* ... sent */
} client_conn_t;

struct client_t {
  struct event_base *base;
  chanmgr_t *cm;
  nodelist_t *nl;
  pathsel_options_t path_opts;
  char *state_file;
  bool use_entry_guards;
  bool vanguards_lite;     /* VanguardsLiteEnabled (proposal 333) */
  vanguards_t vanguards;   /* layer-2 nodes of onion-service circuits */
  uint32_t build_timeout_msec, stream_timeout_msec, socks_timeout_msec;
  uint32_t max_dirtiness_sec, handshake_timeout_msec;
  uint16_t *long_lived;
  size_t n_long_lived;
  int conn_limit;
  const struct policy_t *socks_policy;   /* borrowed; NULL: accept all */
  socks_safety_cfg_t socks_safety;       /* SafeSocks, TestSocks, ... */
  client_listener_t **listeners;   /* each allocated alone: conns point in */
  size_t n_listeners;
  size_t next_listener_idx;
  /* Listeners removed by a reload, closed, kept until their connections
   * are gone (client_reconf.c). */
  client_listener_t *retired;
  guard_selection_t *gs;
  char *guard_state_saved; /* last Guard lines written / read */
  bool enough_dirinfo;
  bool launched_any, built_any;
  struct event *tick;
  client_circ_t *circs;
  client_conn_t *conns;
  uint64_t next_circ_num, next_conn_num;
  uint64_t bytes_in, bytes_out;
  unsigned preemptive_rr;
  client_predict_t predict;     /* ports used lately (path-spec 2.1.1) */
  unsigned fail_streak;     /* builds failed in a row */
  uint64_t preempt_after_msec; /* no preemptive launch before */
  bool in_attach;          /* client_attach_waiting() running */
  struct hs_client_fetcher_t *hs_fetch; /* onion-service descriptors */
  struct client_hs_attempt_t *hs_attempts; /* client_hs.c */
  struct client_hs_circ_t *hs_circs;       /* client_hs.c */
  struct client_hs_svc_host_t *hs_hosts;   /* client_hs_svc.c */
  bool hs_single_onion;    /* HiddenServiceSingleHopMode (non-anonymous) */
  bool testing_network;
  bool ctl_attached;       /* client_ctl_attach() ran: GETINFO keys are ours */
  uint64_t ctl_bw_msec;    /* last CIRC_BW / STREAM_BW round */
  uint32_t nym_epoch;      /* NEWNYM count: part of the isolation key */
  struct client_ctl_shim_t *ctl_shims; /* client_ctl_hs.c */
  bool leave_unattached;   /* __LeaveStreamsUnattached */
  struct client_addrmap_ent_t *amap; /* MAPADDRESS / MapAddress (client_ctl_stream.c) */
  size_t n_amap;
  uint32_t amap_next_virt; /* next virtual IPv4 offset tried */
  client_listener_t *ctl_listener; /* never bound: RESOLVE's streams hang here */
  /* client_ctl_onion.c: ADD_ONION services' owners, the control port's
   * client authorization keys, HSFETCH requests. */
  struct client_ctl_onion_t *ctl_onion;
  const struct hs_auth_store_t *auth_dir; /* ClientOnionAuthDir keys (borrowed) */
  char *auth_dir_path;     /* ClientOnionAuthDir, or NULL (Flags=Permanent) */
};

/* client.c */
uint64_t client_now_msec(void);
void client_iso_copy(client_iso_t *dst, const proxy_iso_attrs_t *src);
void client_iso_clear(client_iso_t *iso);
void client_save_guards(client_t *c);

/* client_circ_pool.c */
/** What a new circuit is for. */
typedef struct client_launch_t {
  uint16_t port;               /* exit port (0: any) */
  const policy_addr_t *dest;   /* destination address if known, or NULL */
  bool preemptive;
  bool internal;               /* last hop chosen like a middle */
} client_launch_t;
client_circ_t *client_circ_launch(client_t *c, const client_launch_t *want);
/** hs_client_launch_fn (arg: the client): a 3-hop circuit (guard, middle)
 * ending at last, with the caller's callbacks; not part of the pool.  The
 * _fetch / _upload variants name its purpose for the control port
 * (HS_CLIENT_HSDIR, HS_SERVICE_HSDIR). */
int client_circ_launch_hs(void *arg, const node_t *last,
                          const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out);
int client_circ_launch_hs_fetch(void *arg, const node_t *last,
                                const chanmgr_circ_cbs_t *cbs,
                                uint64_t *circ_out);
int client_circ_launch_hs_upload(void *arg, const node_t *last,
                                 const chanmgr_circ_cbs_t *cbs,
                                 uint64_t *circ_out);
/** Bring the vanguards-lite layer-2 set up to date (new consensus). */
void client_circ_vanguards_refresh(client_t *c);
/** The same ending at a hop spec (e.g. an introduction point that need not
 * be in the consensus).  The second hop is a vanguards-lite layer-2 node
 * (proposal 333) unless that is disabled or none fits. */
int client_circ_launch_hs_spec(client_t *c, const circ_hop_spec_t *last,
                               const chanmgr_circ_cbs_t *cbs,
                               uint64_t *circ_out);
/** A one-hop circuit straight to last (CREATE2 ntor): a single onion
 * service's introduction and rendezvous circuits (rend-spec-v3 3,
 * HiddenServiceSingleHopMode).  Not anonymous. */
int client_circ_launch_direct(client_t *c, const circ_hop_spec_t *last,
                              const chanmgr_circ_cbs_t *cbs,
                              uint64_t *circ_out);
/** A joined rendezvous circuit (client_hs.c) into the pool, for streams to
 * the service pk only. */
client_circ_t *client_circ_adopt_hs(client_t *c, uint64_t handle,
                                    const ed25519_public_key_t *pk);
/** Its closed event (client_hs.c routes the circuit's events). */
void client_circ_hs_closed(client_circ_t *circ,
                           const chanmgr_close_info_t *info);
void client_circ_maintain(client_t *c);
void client_circ_sweep(client_t *c);
void client_circ_close_all(client_t *c);
size_t client_circ_count(const client_t *c, bool built, bool clean_only);
const node_t *client_circ_exit_node(const client_t *c,
                                    const client_circ_t *circ);

/* client_hs.c: onion services (rend-spec-v3 2-4) */
/** k (onion, CONN_WAIT_CIRC) has no joined circuit it may use: wait for
 * the attempt under way for its service, or start one (descriptor, then
 * introduction and rendezvous).  k goes to CONN_WAIT_HS. */
void client_hs_want(client_conn_t *k);
/** The proposal 304 code for k timing out in CONN_WAIT_HS. */
uint8_t client_hs_timeout_code(const client_conn_t *k);
void client_hs_tick(client_t *c);
/** Stop every attempt (no reply to waiting streams) and forget the
 * circuits' routes; before client_circ_close_all(). */
void client_hs_free_all(client_t *c);
/** After client_circ_close_all(): close what is left, free the routes. */
void client_hs_free_routes(client_t *c);

/* client_reconf.c */
/** A new (not yet bound) listener for a copy of cfg, with a fresh idx. */
client_listener_t *client_listener_new(client_t *c,
                                       const proxy_port_cfg_t *cfg);
/** Free the retired listeners that have no connection left. */
void client_listeners_sweep(client_t *c);
/** Close and free every listener (live and retired). */
void client_listeners_free_all(client_t *c);

/* client_listener.c */
int client_listener_open(client_listener_t *l, char **err);
void client_listener_close(client_listener_t *l);
/** Application connections open on all listeners together. */
int client_listeners_n_conns(const client_t *c);

/* client_conn.c */
/** A new application connection on l (fd is ours to close). */
void client_conn_accepted(client_listener_t *l, int fd,
                          const struct sockaddr *sa, int socklen);
void client_conn_close_all(client_t *c);
/** Close the oldest application connection still in its SOCKS / HTTP
 * handshake (if it has been there min_age_msec at least) to make room for
 * a new one.  1 if one was closed, else 0. */
int client_conn_evict_handshake(client_t *c, uint64_t min_age_msec);
void client_conns_tick(client_t *c);
void client_attach_waiting(client_t *c);
/** The circuit closed: retry or close its streams. */
void client_conns_circ_closed(client_t *c, client_circ_t *circ);
/** A stream event of circ. */
void client_conn_stream_event(client_t *c, client_circ_t *circ,
                              const relay_stream_event_t *ev);
/** Stream data straight from the cell buffer (the cell path). */
void client_conn_stream_data(client_t *c, client_circ_t *circ,
                             uint16_t stream_id, const uint8_t *data,
                             size_t len);
/* ... the helpers client_conn_req.c uses */
void client_conn_write(client_conn_t *k, const void *data, size_t len);
void client_conn_socks_reply(client_conn_t *k, uint8_t status5,
                             const socks_addr_t *bound);
void client_conn_fail(client_conn_t *k, uint8_t status5, uint8_t reason);
void client_conn_close_after_flush(client_conn_t *k);
void client_conn_try_attach(client_conn_t *k);

/* client_conn.c, for client_ctl.c: CLOSESTREAM -- END(reason) to the
 * exit, the application refused (before CONNECTED) or closed. */
void client_conn_ctl_close(client_conn_t *k, uint8_t reason);

/* client_ctl.c: the control port's view (control-spec 4.1.1-4.1.3,
 * 4.1.12, 4.1.13, 4.1.26; only formatted while a controller listens) */
/** The next process-wide stream ID (from 1). */
uint64_t client_ctl_new_stream_id(void);
/** A new circuit: its ID, creation time and the path it will take. */
void client_ctl_circ_new(client_t *c, client_circ_t *circ,
                         const node_t *const *hops, size_t n_hops);
/** The same for a circuit built elsewhere (rendezvous), from the channel
 * manager's hops. */
void client_ctl_circ_new_handle(client_t *c, client_circ_t *circ);
/** The same from hop specs (circuits outside the pool). */
void client_ctl_circ_new_specs(client_circ_t *circ,
                               const circ_hop_spec_t *hops, size_t n_hops);
/** The PURPOSE of circ (control-spec 4.1.1), static. */
const char *client_ctl_purpose(const client_circ_t *circ);
/** CIRC_MINOR event (control-spec 4.1.27): "PURPOSE_CHANGED" with the old
 * purpose. */
void client_ctl_circ_minor(client_t *c, const client_circ_t *circ,
                           const char *event, const char *old_purpose);
/** CIRC event: status "LAUNCHED", "EXTENDED", "BUILT", "FAILED",
 * "CLOSED"; info (FAILED / CLOSED) gives REASON and REMOTE_REASON. */
void client_ctl_circ_event(client_t *c, const client_circ_t *circ,
                           const char *status,
                           const chanmgr_close_info_t *info);
/** STREAM event: status as control-spec 4.1.2; reason: RELAY_END_* or 0. */
void client_ctl_stream_event(client_conn_t *k, const char *status,
                             uint8_t reason);
/** GUARD event "ENTRY $FP~nick status". */
void client_ctl_guard_event(client_t *c, const uint8_t rsa_id[20],
                            const char *nick, const char *status);
/** guard_selection_update() with GUARD events NEW, DROPPED, BAD, GOOD. */
void client_ctl_guard_update(client_t *c, time_t now);
/** CIRC_BW / STREAM_BW once a second (from the client's tick). */
void client_ctl_tick(client_t *c);
/* client_ctl_hs.c: circuits outside the pool */
/** chanmgr_launch() with the CIRC events and an ID; purpose as control-spec
 * 4.1.1 (static), e.g. "HS_VANGUARDS" until client_ctl_circ_sent(). */
int client_ctl_launch(client_t *c, const chanmgr_launch_t *l,
                      const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out,
                      const char *purpose);
/** An onion-service message was sent on circuit handle: its purpose may
 * now be known (CIRC_MINOR PURPOSE_CHANGED). */
void client_ctl_circ_sent(client_t *c, uint64_t handle, uint8_t command);
/** A rendezvous circuit joins the pool as circ: circ takes over its ID;
 * false if it had none. */
bool client_ctl_hand_over(client_t *c, client_circ_t *circ);
/** The i-th live circuit outside the pool (GETINFO), or NULL. */
const client_circ_t *client_ctl_shim_info(const client_t *c, size_t i);
/** Forget them all (client_free, after every owner closed its own). */
void client_ctl_shims_free(client_t *c);
/** Unregister the GETINFO keys (client_free). */
void client_ctl_detach(client_t *c);
/* client_ctl_onion.c: give the fetcher c->auth_dir plus the control
 * port's keys (client_set_onion_auth()). */
void client_ctl_onion_auth_apply(client_t *c);

/* client_circ_pool.c, for EXTENDCIRCUIT: a circuit through exactly the
 * n hops given (1..CLIENT_CTL_MAX_HOPS), no guard bookkeeping; purpose
 * CONTROLLER if controller.  NULL when it cannot be launched. */
client_circ_t *client_circ_launch_path(client_t *c, const node_t *const *hops,
                                       size_t n, bool controller);

/* client_conn.c, for ATTACHSTREAM (control-spec 3.13): circ NULL lets the
 * client choose (even with __LeaveStreamsUnattached); else k (waiting for
 * a circuit, or sent BEGIN / RESOLVE: that stream is ended first) goes on
 * circ.  0, or -1 if the stream could not be opened there. */
int client_conn_ctl_attach(client_conn_t *k, client_circ_t *circ);

/* client_ctl_stream.c: control-spec 3.8, 3.10-3.17, 3.29; the address map */
/** Rewrite host (buffer of len bytes) through the address map (chains
 * followed a few steps).  true if it changed. */
bool client_addrmap_rewrite(client_t *c, char *host, size_t len);
/** Replace the config mappings (MapAddress lines "old new"). */
void client_addrmap_set_config(client_t *c, const struct config_line_t *l);
/** Forget every mapping (client_free). */
void client_addrmap_free_all(client_t *c);
/** The answer to k if it is a controller's RESOLVE stream not answered
 * yet: the RESOLVED body, or NULL for a failure (ADDRMAP event,
 * control-spec 3.23 / 4.1.7).  Nothing for other streams. */
void client_ctl_resolve_answer(client_conn_t *k, const uint8_t *body,
                               size_t len);
/** Register the commands (from client_ctl_attach()). */
void client_ctl_stream_attach(client_t *c);

/* client_conn_req.c */
/** The SOCKS / HTTP CONNECT request has been read: check and route it. */
void client_conn_socks_request(client_conn_t *k);
void client_conn_http_request(client_conn_t *k);
/** A controller's RESOLVE of name (reverse: name is an address, PTR) on
 * listener l (never bound): a stream without an application.  0 or -1. */
int client_conn_ctl_resolve(client_listener_t *l, const char *name,
                            bool reverse);
/** Refuse an onion-service request with proposal 304 code (sent as such
 * with ExtendedErrors; HTTP CONNECT: the matching status line). */
void client_conn_fail_onion(client_conn_t *k, uint8_t code);

#endif
