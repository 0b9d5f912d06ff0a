/* relay_dos.h -- the relay's DoS options (tor(1) "DENIAL OF SERVICE
 * MITIGATION OPTIONS": DoSCircuitCreation*, DoSConnection*,
 * DoSStreamCreation*, DoSRefuseSingleHopClientRendezvous) resolved against
 * the consensus parameters of the same names (param-spec 9, dos-spec.md)
 * into the core/dos/dos.h parameters, as tor does: "auto" (Enabled,
 * RefuseSingleHop) or 0 (every number) takes the consensus value, else the
 * default of tor 0.4.9; any other torrc value wins.  Also the relay-address
 * set (relays of the consensus are exempt) and the heartbeat line.
 */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_DOS_H
#define ALLIUM_FEATURE_RELAY_RELAY_DOS_H

#include <stdbool.h>
#include <stdint.h>

#include "allium/core/dos/dos.h"

struct nodelist_t;

/** The torrc values: Enabled / RefuseSingleHop -1 = auto; numbers 0 = use
 * the consensus. */
typedef struct relay_dos_options_t {
  int cc_enabled;
  int cc_min_conns, cc_rate, cc_burst, cc_defense_type, cc_period_sec;
  int conn_enabled;
  int conn_max_concurrent, conn_defense_type;
  int conn_connect_rate, conn_connect_burst, conn_connect_period_sec;
  int stream_enabled;
  int stream_rate, stream_burst, stream_defense_type;
  int refuse_single_hop_rend;
} relay_dos_options_t;

/** Every option at its default ("auto" / 0). */
void relay_dos_options_default(relay_dos_options_t *o);

/** A consensus parameter (def when absent; clamped to [min, max]). */
typedef int32_t (*relay_dos_param_fn)(void *arg, const char *name,
                                      int32_t def, int32_t min, int32_t max);
/** Resolve o against the consensus (fn may be NULL: no consensus). */
void relay_dos_resolve(const relay_dos_options_t *o, relay_dos_param_fn fn,
                       void *arg, dos_params_t *out);
/** relay_dos_resolve() with the parameters of nl's consensus (NULL ok). */
void relay_dos_resolve_nodelist(const relay_dos_options_t *o,
                                const struct nodelist_t *nl,
                                dos_params_t *out);
/** The IPv4 and IPv6 addresses of every relay in nl's consensus into d's
 * exempt set.  Returns how many. */
size_t relay_dos_set_relays_from(dos_t *d, const struct nodelist_t *nl);
/** Log the heartbeat line (notice when a defence is on, else info). */
void relay_dos_log_heartbeat(const dos_t *d);

#endif
