/* relay_run.h -- the relay role at run time: from the relay options (ORPort,
 * Address, AddressDisableIPv6, Nickname, NumCPUs, HeartbeatPeriod,
 * AssumeReachable) and the keys in DataDirectory/keys it builds the TLS
 * server context (an RSA-2048 link key certified by the identity key) and
 * the CERTS credentials (types 2, 4, 5, 7: tor-spec 4.2), binds the
 * ORPort listeners, accepts every connection into the cell engine
 * (core/mainloop/cellswitch.h), rotates the link certificate before it
 * expires, and logs a heartbeat every HeartbeatPeriod.
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
#include "allium/feature/keys/relay_keys.h"
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
  bool dircache;                     /**< DirCache: serve BEGIN_DIR */
  const char *datadir;               /**< where the cache files are */
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
/** Onion-handshake worker threads wanted (NumCPUs, or the cores, 1..16). */
int relay_run_n_workers(const relay_run_t *rr);

#endif
