/* relay_run.h -- the relay role at run time: from the relay options (ORPort,
 * Address, AddressDisableIPv6, Nickname, NumCPUs, HeartbeatPeriod,
 * AssumeReachable) and the keys in DataDirectory/keys it builds the link
 * credentials with link_keys_new() (a TLS server context with an RSA-2048
 * link key certified by the identity key; CERTS 2, 4, 5, 7 as responder,
 * 2, 3, 4, 6, 7 and AUTHENTICATE as initiator: tor-spec 4.2, 4.4), binds
 * the ORPort listeners, accepts every connection into the cell engine
 * (core/mainloop/cellswitch.h), which answers CREATE2 (ntor, ntor v3) and
 * CREATE_FAST on NumCPUs onion worker threads and extends as an
 * authenticated relay, rotates the link keys on tor's schedule, and logs
 * a heartbeat every HeartbeatPeriod.
 *
 * relay_run_new() parses and binds (call before privileges drop);
 * relay_run_start() begins accepting once the loop is about to run.
 */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_RUN_H
#define ALLIUM_FEATURE_RELAY_RELAY_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/mainloop/cellswitch.h"
#include "allium/feature/dirclient/dir_boot.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/relay_dos.h"
#include "allium/feature/relay/relay_ports.h"
#include "allium/lib/conf/confline.h"

struct event_base;

/** What the relay runs with (borrowed during relay_run_new() only, except
 * keys, which must outlive the relay). */
typedef struct relay_run_config_t {
  const config_line_t *orport;       /**< ORPort lines */
  const config_line_t *address;      /**< Address lines */
  bool address_disable_ipv6;         /**< AddressDisableIPv6 */
  const char *nickname;              /**< NULL: "Unnamed" */
  int num_cpus;                      /**< NumCPUs (0: count the cores) */
  int heartbeat_sec;                 /**< HeartbeatPeriod (0: off) */
  bool assume_reachable;             /**< AssumeReachable */
  bool extend_allow_private;         /**< testing networks only */
  const relay_keys_t *keys;          /**< identity, onion and ed25519 keys */
  const char *datadir;               /**< DataDirectory (previous ntor key);
                                      *   NULL: none */
  bool dircache;                     /**< DirCache: serve BEGIN_DIR */
  const char *cachedir;              /**< where the cache files are */
  relay_dos_options_t dos;           /**< DoS* options (relay_dos.h); all
                                      *   zero: every number from the
                                      *   consensus, the switches off */
} relay_run_config_t;

typedef struct relay_run_t relay_run_t;

/** Parse the options, build the credentials and the engine, bind every
 * listening ORPort.  NULL with *errmsg (caller frees) on failure. */
relay_run_t *relay_run_new(struct event_base *base,
                           const relay_run_config_t *cfg, char **errmsg);
/** Begin accepting, start the heartbeat and rotation timers, and hand
 * over to descriptor publishing (relay_run_publish_seam()).  0 or -1. */
int relay_run_start(relay_run_t *rr);
/** Close the listeners and every channel; free.  NULL ok. */
void relay_run_free_(relay_run_t *rr);
#define relay_run_free(p) do { relay_run_free_(p); (p) = NULL; } while (0)

/** Log the heartbeat line now (also what SIGUSR1 prints for the relay). */
void relay_run_log_heartbeat(relay_run_t *rr);
/** Format the heartbeat line into buf (for tests).  Returns buf. */
char *relay_run_format_heartbeat(char *buf, size_t len, uint64_t uptime_sec,
                                 size_t n_circuits, uint64_t bytes_sent,
                                 uint64_t bytes_received);

/** The keys changed (onion-key rotation: relay_keys_rotate_onion_keys()
 * said rotated and the set was reloaded): new circuits, on the loop and
 * on the worker threads, use keys' ntor key and the previous one from
 * DataDirectory.  keys replaces the set given to relay_run_new() and must
 * outlive the relay. */
void relay_run_keys_changed(relay_run_t *rr, const relay_keys_t *keys);

/** SIGHUP: a new Nickname (NULL: "Unnamed") for the heartbeat and the
 * next descriptor.  Returns whether it changed. */
bool relay_run_set_nickname(relay_run_t *rr, const char *nickname);
/** SIGHUP: a new HeartbeatPeriod (0: off); the period restarts now. */
void relay_run_set_heartbeat(relay_run_t *rr, int heartbeat_sec);
/** SIGHUP: new DoS* options, resolved against the consensus now. */
void relay_run_set_dos_options(relay_run_t *rr, const relay_dos_options_t *o);
/** The DoS state (tests, the exit's stream admission). */
dos_t *relay_run_dos(relay_run_t *rr);

/** The engine (borrowed) -- for the descriptor and bandwidth code. */
cellswitch_t *relay_run_switch(relay_run_t *rr);
/** The parsed ORPorts (borrowed); a port bound as "auto" has its real
 * number filled in once bound. */
const relay_ports_t *relay_run_ports(const relay_run_t *rr);
/** The parsed Address lines (borrowed). */
const relay_address_t *relay_run_address(const relay_run_t *rr);
/** The directory cache served over BEGIN_DIR (borrowed; NULL when
 * DirCache is off): connect the relay's directory bootstrap with
 * dir_boot_set_document_cb(boot, dircache_on_document,
 * relay_dirserve_cache(rr)). */
struct dircache_t *relay_dirserve_cache(relay_run_t *rr);
/** Onion-handshake worker threads (NumCPUs, or the cores, 1..16). */
int relay_run_n_workers(const relay_run_t *rr);

/* ---- directory presence (relay_publish.h; helper "publish") ---- */

struct relay_publish_t;

/** The relay's current key set and nickname (borrowed). */
const relay_keys_t *relay_run_keys(const relay_run_t *rr);
const char *relay_run_nickname(const relay_run_t *rr);
/** Renew the link credentials now on a worker thread (the 60 s timer does
 * this when link_keys_should_rotate() says so); installed on the loop when
 * done.  0 (also when a renewal is already under way) or -1. */
int relay_run_rotate_link_now(relay_run_t *rr);
/** How many link-credential renewals were installed (tests, heartbeat). */
unsigned relay_run_link_rotations(const relay_run_t *rr);
/** Hand the descriptor publisher (and the relay's directory view) to rr,
 * which starts it in relay_run_start() and frees it with itself.  NULL: the
 * relay publishes nothing (logged at start). */
void relay_run_set_publisher(relay_run_t *rr, struct relay_publish_t *pub);
/** Report every document the relay's directory bootstrap accepts to fn
 * (the directory cache: dircache_on_document, helper "dirserve").  Any
 * time; documents before the call are not replayed, so call it before
 * relay_run_start() to see the first consensus.  fn NULL: stop. */
void relay_run_set_dir_document_cb(relay_run_t *rr, dir_boot_document_fn fn,
                                   void *arg);
/** The relay's directory bootstrap and nodelist (borrowed; NULL without a
 * publisher). */
dir_boot_t *relay_run_dir_boot(relay_run_t *rr);
nodelist_t *relay_run_nodelist(relay_run_t *rr);

/* ---- exit (feature/exit/exit_stream.h) ---- */
struct policy_t;
struct exit_resolver_t;
struct policy_addr_t;
/** Serve BEGIN / RESOLVE on circuits ending here under policy (borrowed;
 * must outlive rr), connecting to IPv6 only with ipv6_exit; names are
 * looked up with resolver (copied; NULL: names fail with RESOLVEFAILED).
 * Call once (before relay_run_start(), or later when a reload makes the
 * relay an exit).  0, or -1. */
int relay_run_enable_exit(relay_run_t *rr, const struct policy_t *policy,
                          bool ipv6_exit,
                          const struct exit_resolver_t *resolver);
struct exit_t;
/** The exit of rr (a reload changes its policy and resolver), or NULL. */
struct exit_t *relay_run_exit(relay_run_t *rr);
/** The published addresses of rr (its Address, else the advertised ORPort
 * addresses) into out[0..2): the number written. */
size_t relay_run_own_addrs(const relay_run_t *rr, struct policy_addr_t *out);

/** The introduction and rendezvous point counters (relay_hs.h) for the
 * MetricsPort; all zero before the module exists. */
struct relay_hs_stats_t;
void relay_run_get_hs_stats(const relay_run_t *rr,
                            struct relay_hs_stats_t *out);

#endif
