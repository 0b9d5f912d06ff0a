/* hs_service_stream.h -- what a service does with a BEGIN that arrives on
 * one of its rendezvous circuits (rend-spec-v3 4.2 "the client can now
 * open streams"; tor(1) HiddenServicePort, HiddenServiceMaxStreams,
 * HiddenServiceMaxStreamsCloseCircuit, HiddenServiceAllowUnknownPorts).
 *
 * A client's BEGIN to a service carries ADDRPORT ":PORT" (tor leaves the
 * host empty; a host, if any, is ignored), then optional FLAGS:
 * hs_service_begin_port() reads the port.  hs_service_stream_decide()
 * then says, for a service's configuration, the virtual port and the
 * number of streams already open on that circuit:
 *   HS_STREAM_ACCEPT          connect to *target (one of the lines for the
 *                             port, chosen uniformly when several exist,
 *                             as tor does), then CONNECTED
 *   HS_STREAM_REFUSE          answer END: an unmapped port with
 *                             HiddenServiceAllowUnknownPorts 1
 *   HS_STREAM_IGNORE          drop the BEGIN silently: over
 *                             HiddenServiceMaxStreams (tor(1): "silently
 *                             ignored")
 *   HS_STREAM_CLOSE_CIRCUIT   tear the rendezvous circuit down: an unmapped
 *                             port (HiddenServiceAllowUnknownPorts 0, the
 *                             default) or over HiddenServiceMaxStreams with
 *                             HiddenServiceMaxStreamsCloseCircuit 1
 */
#ifndef ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_STREAM_H
#define ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "allium/feature/hs_service/hs_service_config.h"

typedef enum hs_stream_verdict_t {
  HS_STREAM_ACCEPT = 0,
  HS_STREAM_REFUSE,
  HS_STREAM_IGNORE,
  HS_STREAM_CLOSE_CIRCUIT,
} hs_stream_verdict_t;

/** Port of a BEGIN body: "[HOST]:PORT" NUL-terminated (HOST may be empty
 * and is not looked at beyond its length), then FLAGS (4 bytes) or
 * nothing.  0, or -1 (no NUL, no colon, a port outside 1..65535, a
 * truncated FLAGS or trailing bytes, a body over 498 bytes). */
int hs_service_begin_port(const uint8_t *body, size_t len, uint16_t *port);

/** Verdict for a BEGIN to virtual port port on a circuit already carrying
 * open_streams streams; with HS_STREAM_ACCEPT, *target is the port line to
 * connect to (borrowed from cfg).  Never fails: NULL cfg closes. */
hs_stream_verdict_t hs_service_stream_decide(const hs_service_config_t *cfg,
                                             uint16_t port,
                                             size_t open_streams,
                                             const hs_service_port_t **target);

/** Static name of a verdict, for logs. */
const char *hs_stream_verdict_name(hs_stream_verdict_t v);

#endif
