/* hs_service_stream.c -- a service's answer to a BEGIN on a rendezvous
 * circuit: the virtual port from the BEGIN body (tor-spec 6.2 with the
 * empty host tor's clients send to services) and the HiddenServicePort /
 * HiddenServiceMaxStreams / ...AllowUnknownPorts policy of tor(1).  See
 * hs_service_stream.h. */
#include "allium/feature/hs_service/hs_service_stream.h"

#include <string.h>

#include "allium/lib/crypto/rand.h"
#include "allium/lib/net/address.h"

#define BEGIN_BODY_MAX 498

int
hs_service_begin_port(const uint8_t *body, size_t len, uint16_t *port)
{
  if (!port)
    return -1;
  *port = 0;
  if (!body || len == 0 || len > BEGIN_BODY_MAX)
    return -1;
  const uint8_t *nul = memchr(body, '\0', len);
  if (!nul)
    return -1;
  size_t slen = (size_t)(nul - body);
  size_t rest = len - slen - 1;
  if (rest != 0 && rest != 4)
    return -1;
  const uint8_t *colon = NULL;
  for (size_t i = slen; i > 0; i--) {
    if (body[i - 1] == ':') {
      colon = body + i - 1;
      break;
    }
  }
  if (!colon)
    return -1;
  size_t plen = slen - (size_t)(colon - body) - 1;
  uint16_t p = 0;
  if (plen == 0 || net_port_parse((const char *)colon + 1, plen, 1, &p) < 0)
    return -1;
  *port = p;
  return 0;
}

hs_stream_verdict_t
hs_service_stream_decide(const hs_service_config_t *cfg, uint16_t port,
                         size_t open_streams,
                         const hs_service_port_t **target)
{
  if (target)
    *target = NULL;
  if (!cfg || !target)
    return HS_STREAM_CLOSE_CIRCUIT;
  if (cfg->max_streams > 0 && open_streams >= (size_t)cfg->max_streams)
    return cfg->max_streams_close_circuit ? HS_STREAM_CLOSE_CIRCUIT
                                          : HS_STREAM_IGNORE;
  size_t n = 0;
  for (size_t i = 0; i < cfg->n_ports; i++)
    if (cfg->ports[i].virt_port == port)
      n++;
  if (n == 0)
    return cfg->allow_unknown_ports ? HS_STREAM_REFUSE
                                    : HS_STREAM_CLOSE_CIRCUIT;
  size_t pick = n > 1 ? (size_t)crypto_rand_uint64(n) : 0;
  for (size_t i = 0; i < cfg->n_ports; i++) {
    if (cfg->ports[i].virt_port != port)
      continue;
    if (pick-- == 0) {
      *target = &cfg->ports[i];
      break;
    }
  }
  return HS_STREAM_ACCEPT;
}

const char *
hs_stream_verdict_name(hs_stream_verdict_t v)
{
  switch (v) {
  case HS_STREAM_ACCEPT: return "accept";
  case HS_STREAM_REFUSE: return "refuse (unknown port)";
  case HS_STREAM_IGNORE: return "ignore (stream limit)";
  case HS_STREAM_CLOSE_CIRCUIT: return "close circuit";
  default: return "unknown";
  }
}
