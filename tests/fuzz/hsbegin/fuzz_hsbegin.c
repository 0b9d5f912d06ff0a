/* fuzz_hsbegin.c -- fuzz target for the port of a BEGIN arriving at an
 * onion service (src/feature/hs_service/hs_service_stream.c,
 * hs_service_begin_port; tor-spec 6.2 with rend-spec-v3's empty host).
 * Checks: a success gives a port in 1..65535 found as decimal digits right
 * before the NUL; a failure leaves the port 0; the policy decision for that
 * port never fails. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/hs_service/hs_service_stream.h"

static hs_service_port_t PORTS[2];
static hs_service_config_t CFG;

int
fuzz_init(void)
{
  PORTS[0].virt_port = 80;
  PORTS[0].target.port = 8080;
  PORTS[1].virt_port = 80;
  PORTS[1].target.port = 8081;
  CFG.ports = PORTS;
  CFG.n_ports = 2;
  CFG.max_streams = 3;
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  uint16_t port = 1;
  if (hs_service_begin_port(data, len, &port) < 0) {
    if (port != 0)
      abort();
    return 0;
  }
  const uint8_t *nul = memchr(data, '\0', len);
  if (port == 0 || !nul || nul == data || nul[-1] < '0' || nul[-1] > '9')
    abort();
  const hs_service_port_t *t = NULL;
  hs_stream_verdict_t v = hs_service_stream_decide(&CFG, port, len % 5, &t);
  if ((v == HS_STREAM_ACCEPT) != (t != NULL))
    abort();
  if (v == HS_STREAM_ACCEPT && (port != 80 || t->virt_port != 80))
    abort();
  return 0;
}
