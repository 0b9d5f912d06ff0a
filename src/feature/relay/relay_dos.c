/* relay_dos.c -- the relay's DoS options resolved against the consensus
 * (tor(1) DENIAL OF SERVICE MITIGATION OPTIONS; param-spec 9; dos-spec.md):
 * each torrc option at "auto" / 0 takes the consensus parameter of the same
 * name, within tor's bounds, or tor 0.4.9's default; the relays of the
 * consensus are exempt by address; the heartbeat's "DoS mitigation" line.
 * The defences themselves are core/dos/dos.c, applied by the cell engine.
 * See include/allium/feature/relay/relay_dos.h. */
#define LOG_MODULE "relay"
#include "allium/feature/relay/relay_dos.h"

#include <string.h>

#include "allium/feature/nodelist/nodelist.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define I32MAX INT32_MAX

void
relay_dos_options_default(relay_dos_options_t *o)
{
  memset(o, 0, sizeof(*o));
  o->cc_enabled = o->conn_enabled = o->stream_enabled = -1;
  o->refuse_single_hop_rend = -1;
}

/* torrc value v when set (> 0), else the consensus parameter. */
static uint32_t
num(int v, relay_dos_param_fn fn, void *arg, const char *name, int32_t def,
    int32_t min, int32_t max)
{
  if (v > 0)
    return (uint32_t)v;
  if (!fn)
    return (uint32_t)def;
  int32_t r = fn(arg, name, def, min, max);
  return r < 0 ? 0 : (uint32_t)r;
}

/* An "auto"-able switch: 0 / 1 from torrc, else the consensus. */
static bool
on(int v, relay_dos_param_fn fn, void *arg, const char *name)
{
  if (v >= 0)
    return v != 0;
  return fn ? fn(arg, name, 0, 0, 1) != 0 : false;
}

void
relay_dos_resolve(const relay_dos_options_t *o, relay_dos_param_fn fn,
                  void *arg, dos_params_t *out)
{
  dos_params_default(out);
  out->cc_enabled = on(o->cc_enabled, fn, arg, "DoSCircuitCreationEnabled");
  out->cc_min_conns = num(o->cc_min_conns, fn, arg,
                          "DoSCircuitCreationMinConnections",
                          DOS_CC_MIN_CONNS_DEFAULT, 0, I32MAX);
  out->cc_rate = num(o->cc_rate, fn, arg, "DoSCircuitCreationRate",
                     DOS_CC_RATE_DEFAULT, 1, I32MAX);
  out->cc_burst = num(o->cc_burst, fn, arg, "DoSCircuitCreationBurst",
                      DOS_CC_BURST_DEFAULT, 1, I32MAX);
  out->cc_defense_type = (uint8_t)num(o->cc_defense_type, fn, arg,
                                      "DoSCircuitCreationDefenseType",
                                      DOS_CC_DEFENSE_TYPE_DEFAULT, 1, 2);
  out->cc_period_sec = num(o->cc_period_sec, fn, arg,
                           "DoSCircuitCreationDefenseTimePeriod",
                           DOS_CC_PERIOD_DEFAULT, 0, I32MAX);
  out->conn_enabled = on(o->conn_enabled, fn, arg, "DoSConnectionEnabled");
  out->conn_max_concurrent = num(o->conn_max_concurrent, fn, arg,
                                 "DoSConnectionMaxConcurrentCount",
                                 DOS_CONN_MAX_CONCURRENT_DEFAULT, 1, I32MAX);
  out->conn_defense_type = (uint8_t)num(o->conn_defense_type, fn, arg,
                                        "DoSConnectionDefenseType",
                                        DOS_CONN_DEFENSE_TYPE_DEFAULT, 1, 2);
  out->conn_connect_rate = num(o->conn_connect_rate, fn, arg,
                               "DoSConnectionConnectRate",
                               DOS_CONN_CONNECT_RATE_DEFAULT, 1, I32MAX);
  out->conn_connect_burst = num(o->conn_connect_burst, fn, arg,
                                "DoSConnectionConnectBurst",
                                DOS_CONN_CONNECT_BURST_DEFAULT, 1, I32MAX);
  out->conn_connect_period_sec = num(o->conn_connect_period_sec, fn, arg,
                                     "DoSConnectionConnectDefenseTimePeriod",
                                     DOS_CONN_CONNECT_PERIOD_DEFAULT, 0,
                                     I32MAX);
  out->stream_enabled = on(o->stream_enabled, fn, arg,
                           "DoSStreamCreationEnabled");
  out->stream_rate = num(o->stream_rate, fn, arg, "DoSStreamCreationRate",
                         DOS_STREAM_RATE_DEFAULT, 1, I32MAX);
  out->stream_burst = num(o->stream_burst, fn, arg, "DoSStreamCreationBurst",
                          DOS_STREAM_BURST_DEFAULT, 1, I32MAX);
  out->stream_defense_type = (uint8_t)num(o->stream_defense_type, fn, arg,
                                          "DoSStreamCreationDefenseType",
                                          DOS_STREAM_DEFENSE_TYPE_DEFAULT,
                                          1, 3);
  out->refuse_single_hop_rend = on(o->refuse_single_hop_rend, fn, arg,
                                   "DoSRefuseSingleHopClientRendezvous");
}

static int32_t
nodelist_param(void *arg, const char *name, int32_t def, int32_t min,
               int32_t max)
{
  return nodelist_get_param(arg, name, def, min, max);
}

void
relay_dos_resolve_nodelist(const relay_dos_options_t *o,
                           const nodelist_t *nl, dos_params_t *out)
{
  relay_dos_resolve(o, nl ? nodelist_param : NULL, (void *)nl, out);
}

size_t
relay_dos_set_relays_from(dos_t *d, const nodelist_t *nl)
{
  size_t n = nl ? nodelist_n_nodes(nl) : 0, k = 0;
  static const uint8_t zero[16] = { 0 };
  if (!d)
    return 0;
  dos_addr_t *a = al_calloc(2 * n + 1, sizeof(*a));
  for (size_t i = 0; i < n; i++) {
    const node_t *node = nodelist_get_node(nl, i);
    if (memcmp(node->ipv4, zero, 4)) {
      a[k].family = 4;
      memcpy(a[k++].addr, node->ipv4, 4);
    }
    if (node->has_ipv6) {
      a[k].family = 6;
      memcpy(a[k++].addr, node->ipv6, 16);
    }
  }
  (void)dos_set_relay_addrs(d, a, k);
  al_free(a);
  return k;
}

void
relay_dos_log_heartbeat(const dos_t *d)
{
  char line[512];
  if (!d)
    return;
  const dos_params_t *p = dos_get_params(d);
  dos_format_heartbeat(d, evloop_monotonic_msec(), line, sizeof(line));
  if (p->cc_enabled || p->conn_enabled || p->stream_enabled ||
      p->refuse_single_hop_rend)
    log_notice("Heartbeat: %s", line);
  else
    log_info("Heartbeat: %s", line);
}
