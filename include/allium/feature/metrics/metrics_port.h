/* metrics_port.h -- the MetricsPort listeners (tor(1) MetricsPort
 * "[address:]port [format]", MetricsPortPolicy): accept a connection only
 * from an address the policy accepts (anything else is closed at once,
 * unanswered), read one HTTP request, answer it and close.  The values
 * come from a callback the daemon sets: this feature includes no other.
 */
#ifndef ALLIUM_FEATURE_METRICS_METRICS_PORT_H
#define ALLIUM_FEATURE_METRICS_METRICS_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/policy/policy.h"
#include "allium/feature/metrics/metrics_text.h"

struct event_base;

typedef enum metrics_port_err_t {
  METRICS_PORT_OK = 0,
  METRICS_PORT_ERR_SYNTAX = -1,  /**< not "[address:]port [format]" */
  METRICS_PORT_ERR_FORMAT = -2,  /**< a format other than "prometheus" */
  METRICS_PORT_ERR_BIND = -3,    /**< the listener could not be bound */
} metrics_port_err_t;

const char *metrics_port_strerror(int err);

/** Concurrent connections at most (more are closed at once). */
#define METRICS_PORT_MAX_CONNS 16
/** Default time a connection may take, from accept to close (ms). */
#define METRICS_PORT_TIMEOUT_MSEC 10000

/** One MetricsPort line. */
typedef struct metrics_port_cfg_t {
  policy_addr_t addr;   /**< 127.0.0.1 when the line names none */
  uint16_t port;        /**< 0: disabled (with is_auto false) */
  bool is_auto;         /**< "auto": any free port */
} metrics_port_cfg_t;

/** Parse a MetricsPort value: "[address:]port [format]", address IPv4 or
 * [IPv6] (default 127.0.0.1), port 0-65535 or "auto", format "prometheus"
 * (the default and only one).  0 or a metrics_port_err_t; *err (may be
 * NULL) gets a message the caller al_free()s. */
int metrics_port_parse(const char *value, metrics_port_cfg_t *out,
                       char **err);

/** MetricsPortPolicy's decision for a peer: the first entry matching
 * (addr, port) decides; with no policy, or no entry matching, the peer is
 * refused (tor(1): "every request will be rejected"). */
bool metrics_policy_allows(const policy_t *p, const policy_addr_t *addr,
                           uint16_t port);

/** Fills out with every metric, at each request. */
typedef void (*metrics_collect_fn)(metrics_text_t *out, void *arg);

typedef struct metrics_port_t metrics_port_t;

/** A set of listeners on base; policy is borrowed (NULL refuses all). */
metrics_port_t *metrics_port_new(struct event_base *base,
                                 const policy_t *policy,
                                 metrics_collect_fn collect, void *arg);
/** Bind one listener for cfg (logs "Opened Metrics listener ...").  0 or
 * METRICS_PORT_ERR_BIND with *err (caller frees). */
int metrics_port_open(metrics_port_t *mp, const metrics_port_cfg_t *cfg,
                      char **err);
/** A new policy (borrowed from now on; SIGHUP). */
void metrics_port_set_policy(metrics_port_t *mp, const policy_t *policy);
/** Listeners bound, and the port listener i is bound to (0 if none). */
size_t metrics_port_n_listeners(const metrics_port_t *mp);
uint16_t metrics_port_bound_port(const metrics_port_t *mp, size_t i);
/** Connections open now. */
size_t metrics_port_n_conns(const metrics_port_t *mp);
/** Close every listener and connection.  NULL ok. */
void metrics_port_free_(metrics_port_t *mp);
#define metrics_port_free(p) do { metrics_port_free_(p); (p) = NULL; } while (0)

/* ---- for tests ---- */
/** The per-connection time limit (default METRICS_PORT_TIMEOUT_MSEC). */
void metrics_port_set_timeout(metrics_port_t *mp, uint32_t msec);

#endif
