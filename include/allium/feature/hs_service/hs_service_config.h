/* hs_service_config.h -- onion service blocks of the configuration
 * (tor(1) HIDDEN SERVICE OPTIONS, as tor 0.4.9 reads them): every
 * HiddenServiceDir line starts a service; the per-service options after it
 * (up to the next HiddenServiceDir) apply to that service.
 *
 *   HiddenServiceDir DIR                 (distinct per service)
 *   HiddenServicePort VIRT [TARGET]      at least one; TARGET is PORT,
 *                                        ADDR, ADDR:PORT, [IPv6]:PORT or
 *                                        unix:PATH (PATH may be quoted);
 *                                        default 127.0.0.1:VIRT
 *   HiddenServiceVersion 3               (2 is obsolete, refused)
 *   HiddenServiceMaxStreams 0..65535     (0: unlimited; default 0)
 *   HiddenServiceMaxStreamsCloseCircuit 0|1
 *   HiddenServiceNumIntroductionPoints 3..20 (default 3; tor 0.4.9 refuses
 *                                        fewer than 3 although its manual
 *                                        does not say so)
 *   HiddenServiceEnableIntroDoSDefense 0|1, ...RatePerSec and
 *     ...BurstPerSec 0..2147483647 (defaults 25, 200; with the defence on
 *     the burst may not be below the rate)
 *   HiddenServiceAllowUnknownPorts 0|1, HiddenServiceDirGroupReadable 0|1
 * A per-service option given twice keeps the last value (tor warns too).
 * Other HiddenService* lines (ExportCircuitID, OnionBalanceInstance, PoW*)
 * are left to the option table, which refuses them.
 *
 * Differences from tor, all stricter: a target address must be an IP
 * literal or "localhost" (tor resolves host names at start-up), ports are
 * plain digits ("+80" is refused), "unix:" needs a path.
 */
#ifndef ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_CONFIG_H
#define ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/conf/confline.h"
#include "allium/lib/net/address.h"

#define HS_CONFIG_MIN_INTRO 3
#define HS_CONFIG_MAX_INTRO 20
#define HS_CONFIG_DEFAULT_INTRO 3
#define HS_CONFIG_MAX_STREAMS 65535
#define HS_CONFIG_DOS_RATE_DEFAULT 25
#define HS_CONFIG_DOS_BURST_DEFAULT 200
#define HS_CONFIG_DOS_MAX 2147483647u

/** One HiddenServicePort line. */
typedef struct hs_service_port_t {
  uint16_t virt_port;
  int is_unix;                 /* 1: unix_path; 0: target */
  char *unix_path;             /* owned */
  net_addrport_t target;
} hs_service_port_t;

/** One service block. */
typedef struct hs_service_config_t {
  char *dir;                   /* HiddenServiceDir, owned */
  size_t n_ports;
  hs_service_port_t *ports;    /* owned */
  int version;                 /* 3 */
  int max_streams;             /* 0: unlimited */
  int max_streams_close_circuit;
  int num_intro_points;
  int allow_unknown_ports;
  int dir_group_readable;
  int intro_dos_enabled;
  uint32_t intro_dos_rate;
  uint32_t intro_dos_burst;
} hs_service_config_t;

typedef struct hs_service_configs_t {
  size_t n;
  hs_service_config_t *svc;    /* n services in configuration order, owned */
} hs_service_configs_t;

/** Parse the HiddenService* lines (in file order) into *out (a new list,
 * possibly with n == 0; caller frees).  0, or -1 with *errmsg (new string,
 * "source:line: ..." when the line is known; caller frees). */
int hs_service_config_parse(const config_line_t *lines, hs_service_configs_t **out,
                            char **errmsg);

/** Parse one HiddenServicePort value ("VIRT [TARGET]") into *p (caller
 * clears with hs_service_port_clear()).  0 or -1 with *why (static text). */
int hs_service_port_parse(const char *value, hs_service_port_t *p, const char **why);
void hs_service_port_clear(hs_service_port_t *p);

void hs_service_configs_free_(hs_service_configs_t *c);
#define hs_service_configs_free(p) do { hs_service_configs_free_(p); (p) = NULL; } while (0)

#endif
