/* app_metrics.c -- the daemon's MetricsPort (tor(1) MetricsPort,
 * MetricsPortPolicy): opens the listeners (feature/metrics) before
 * privileges drop, and fills each answer, in the Prometheus text format,
 * with what the rest of allium counts: bootstrap progress
 * (core/mainloop/bootstrap.h), channel bytes (core/channel/channel_bw.h),
 * the client role (feature/client client_get_stats()) and the relay role
 * (cellswitch, DoS, introduction / rendezvous point counters through
 * feature/relay relay_run).  tor's metric names where tor has one,
 * allium_* otherwise.
 */
#define LOG_MODULE "main"
#include <string.h>

#include "allium/app/main/exitcodes.h"
#include "allium/core/channel/channel_bw.h"
#include "allium/core/dos/dos.h"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/core/mainloop/cellswitch.h"
#include "allium/feature/client/client.h"
#include "allium/feature/metrics/metrics_port.h"
#include "allium/feature/relay/relay_hs.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app_state.h"

static metrics_port_t *MP;
static policy_t *POLICY;

/* ---- writing: a family, then its samples ---- */

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
fam(metrics_text_t *t, const char *name, metrics_type_t type,
    const char *help)
{
  int r = metrics_text_family(t, name, type, help);
  if (r < 0)
    log_warn_rl(60, "Metric %s not written: %s.", name, metrics_text_strerror(r));
}

static void
val(metrics_text_t *t, const char *const *labels, uint64_t v)
{
  (void)metrics_text_u64(t, labels, v);
}

static void
collect_general(metrics_text_t *t)
{
  fam(t, "allium_bootstrap_percent", METRICS_GAUGE,
      "Bootstrap progress of the client role (100: done)");
  val(t, NULL, (uint64_t)bootstrap_percent());
  fam(t, "allium_uptime_seconds", METRICS_GAUGE,
      "Seconds since allium started");
  val(t, NULL, (evloop_monotonic_msec() - app_state()->start_msec) / 1000);
  channel_bw_stats_t bw;
  channel_bw_get_stats(&bw);
  fam(t, "allium_traffic_bytes_total", METRICS_COUNTER,
      "Bytes read and written on every channel and exit connection");
  val(t, L("direction", "read"), bw.bytes_read);
  val(t, L("direction", "written"), bw.bytes_written);
}

static void
collect_client(metrics_text_t *t, const client_t *c)
{
  client_stats_t s;
  client_get_stats(c, &s);
  fam(t, "allium_client_circuits", METRICS_GAUGE,
      "Client circuits now, by state");
  val(t, L("state", "built"), s.circuits_built);
  val(t, L("state", "building"), s.circuits_building);
  fam(t, "allium_client_streams", METRICS_GAUGE,
      "Application streams now, by state");
  val(t, L("state", "open"), s.streams_open);
  val(t, L("state", "waiting"), s.streams_waiting);
  fam(t, "allium_client_connections", METRICS_GAUGE,
      "Application connections open now (SocksPort, HTTPTunnelPort)");
  val(t, NULL, s.conns);
  fam(t, "allium_client_bytes_total", METRICS_COUNTER,
      "Application bytes carried by the client role");
  val(t, L("direction", "received"), s.bytes_in);
  val(t, L("direction", "sent"), s.bytes_out);
  if (!s.hs_services)
    return;
  fam(t, "allium_hs_services", METRICS_GAUGE, "Onion services hosted");
  val(t, NULL, s.hs_services);
  fam(t, "tor_hs_intro_num_total", METRICS_COUNTER,
      "INTRODUCE2 cells accepted by the onion services");
  val(t, NULL, s.hs_introduce2_ok);
  fam(t, "allium_hs_intro_rejected_total", METRICS_COUNTER,
      "INTRODUCE2 cells the onion services refused, by reason");
  val(t, L("reason", "invalid"), s.hs_introduce2_refused);
  val(t, L("reason", "replay"), s.hs_introduce2_replay);
  fam(t, "allium_hs_intro_points_total", METRICS_COUNTER,
      "Introduction point circuits of the onion services, by result");
  val(t, L("result", "established"), s.hs_intro_established);
  val(t, L("result", "failed"), s.hs_intro_failed);
  fam(t, "tor_hs_rdv_num_total", METRICS_COUNTER,
      "Rendezvous circuits the onion services joined");
  val(t, NULL, s.hs_rend_joined);
  fam(t, "tor_hs_rdv_error_total", METRICS_COUNTER,
      "Rendezvous circuits the onion services failed to join");
  val(t, NULL, s.hs_rend_failed);
  fam(t, "allium_hs_desc_uploads_total", METRICS_COUNTER,
      "Descriptor uploads of the onion services, by result");
  val(t, L("result", "stored"), s.hs_uploads_ok);
  val(t, L("result", "failed"), s.hs_uploads_failed);
}

static void
collect_relay_hs(metrics_text_t *t, const relay_run_t *rr)
{
  relay_hs_stats_t h;
  relay_run_get_hs_stats(rr, &h);
  fam(t, "allium_relay_intro_circuits", METRICS_GAUGE,
      "Onion-service introduction points established here now");
  val(t, NULL, h.intro_circuits);
  fam(t, "allium_relay_rend_waiting", METRICS_GAUGE,
      "Rendezvous cookies waiting for their service");
  val(t, NULL, h.rend_waiting);
  fam(t, "allium_relay_hs_cells_total", METRICS_COUNTER,
      "Introduction and rendezvous point events, by cell and result");
  val(t, L("cell", "establish_intro", "result", "accepted"),
      h.intro_established);
  val(t, L("cell", "establish_intro", "result", "refused"), h.intro_refused);
  val(t, L("cell", "introduce1", "result", "relayed"), h.introduce2_sent);
  val(t, L("cell", "introduce1", "result", "unknown_key"),
      h.introduce1_unknown);
  val(t, L("cell", "introduce1", "result", "malformed"), h.introduce1_bad);
  val(t, L("cell", "introduce1", "result", "rate_limited"),
      h.introduce1_dos);
  val(t, L("cell", "establish_rendezvous", "result", "accepted"),
      h.rend_established);
  val(t, L("cell", "establish_rendezvous", "result", "refused"),
      h.rend_refused);
  val(t, L("cell", "rendezvous1", "result", "joined"), h.rend_joined);
  val(t, L("cell", "rendezvous1", "result", "refused"), h.rend1_refused);
}

static void
collect_relay_dos(metrics_text_t *t, relay_run_t *rr)
{
  const dos_t *d = relay_run_dos(rr);
  if (!d)
    return;
  dos_stats_t s;
  dos_get_stats(d, evloop_monotonic_msec(), &s);
  fam(t, "tor_relay_dos_total", METRICS_COUNTER,
      "Denial of service defences applied, by type");
  val(t, L("type", "circuit_rejected"), s.cc_circuits_rejected);
  val(t, L("type", "marked_address"), s.cc_marked);
  val(t, L("type", "conn_rejected"), s.conn_rejected);
  val(t, L("type", "conn_connect_rejected"), s.conn_connect_rejected);
  val(t, L("type", "conn_marked_address"), s.conn_marked);
  val(t, L("type", "stream_rejected"), s.stream_rejected);
  val(t, L("type", "stream_circuit_closed"), s.stream_circs_closed);
  val(t, L("type", "single_hop_refused"), s.single_hop_refused);
}

static void
collect_relay(metrics_text_t *t, relay_run_t *rr)
{
  cellswitch_stats_t s;
  cellswitch_get_stats(relay_run_switch(rr), &s);
  channel_bw_stats_t bw;
  channel_bw_get_stats(&bw);
  fam(t, "tor_relay_connections", METRICS_GAUGE,
      "OR connections (channels) now, by state");
  val(t, L("type", "OR", "state", "opened"), s.n_channels_open);
  val(t, L("type", "OR", "state", "opening"),
      s.n_channels - s.n_channels_open);
  fam(t, "allium_relay_circuits", METRICS_GAUGE, "Relay circuits now");
  val(t, NULL, s.n_circuits);
  fam(t, "tor_relay_circuits_total", METRICS_COUNTER,
      "Relay circuits since start, by what happened");
  val(t, L("action", "created"), s.circuits_created);
  val(t, L("action", "refused"), s.creates_refused);
  val(t, L("action", "extended"), s.extends);
  val(t, L("action", "extend_refused"), s.extends_refused);
  val(t, L("action", "queue_full_closed"), s.queue_overflows);
  fam(t, "tor_relay_load_onionskins_total", METRICS_COUNTER,
      "Onion handshakes answered, by type");
  val(t, L("type", "ntor", "action", "processed"), s.created_ntor);
  val(t, L("type", "ntor_v3", "action", "processed"), s.created_ntor_v3);
  val(t, L("type", "fast", "action", "processed"), s.created_fast);
  fam(t, "allium_relay_oom_circuits_closed_total", METRICS_COUNTER,
      "Circuits closed by the MaxMemInQueues pass");
  val(t, NULL, s.oom_circuits_closed);
  fam(t, "allium_relay_cells_total", METRICS_COUNTER,
      "Circuit cells, by direction");
  val(t, L("direction", "received"), s.cells_in);
  val(t, L("direction", "sent"), s.cells_out);
  fam(t, "allium_relay_cells_queued", METRICS_GAUGE,
      "Cells in the circuit queues now");
  val(t, NULL, s.cells_queued);
  fam(t, "tor_relay_traffic_bytes_total", METRICS_COUNTER,
      "Relayed traffic (RelayBandwidthRate's), by direction");
  val(t, L("direction", "read"), bw.relay_bytes_read);
  val(t, L("direction", "written"), bw.relay_bytes_written);
  fam(t, "tor_relay_load_global_rate_limit_reached_total", METRICS_COUNTER,
      "Times the BandwidthRate bucket ran dry, by side");
  val(t, L("side", "read"), bw.read_emptied);
  val(t, L("side", "write"), bw.write_emptied);
  fam(t, "allium_relay_dir_requests_total", METRICS_COUNTER,
      "BEGIN_DIR requests answered to the end");
  val(t, NULL, s.dir_responses);
  collect_relay_dos(t, rr);
  collect_relay_hs(t, rr);
}

static void
collect(metrics_text_t *t, void *arg)
{
  (void)arg;
  collect_general(t);
  const client_t *c = app_client_runtime();
  if (c)
    collect_client(t, c);
  relay_run_t *rr = app_relay_runtime();
  if (rr)
    collect_relay(t, rr);
}

/* ---- options ---- */

/* MetricsPortPolicy lines into *out (NULL when there are none). */
static int
parse_policy(const config_line_t *lines, policy_t **out)
{
  *out = NULL;
  for (const config_line_t *l = lines; l; l = l->next) {
    if (!*out)
      *out = policy_new();
    if (policy_parse_config(*out, l->value) < 0) {
      log_err("Invalid MetricsPortPolicy \"%s\".", l->value);
      policy_free(*out);
      return -1;
    }
  }
  return 0;
}

int
app_metrics_init(void)
{
  const allium_options_t *o = app_state()->opts;
  metrics_port_cfg_t cfgs[16];
  size_t n = 0;
  for (const config_line_t *l = o->MetricsPort; l; l = l->next) {
    metrics_port_cfg_t c;
    char *err = NULL;
    if (metrics_port_parse(l->value, &c, &err) < 0) {
      log_err("%s", err);
      al_free(err);
      return ALLIUM_EXIT_CONFIG;
    }
    if ((c.port || c.is_auto) && n < sizeof(cfgs) / sizeof(cfgs[0]))
      cfgs[n++] = c;
  }
  if (!n)
    return 0;
  if (parse_policy(o->MetricsPortPolicy, &POLICY) < 0)
    return ALLIUM_EXIT_CONFIG;
  if (!POLICY)
    log_warn("MetricsPort is set but MetricsPortPolicy is not: every "
             "request to it will be refused.");
  MP = metrics_port_new(evloop_base(), POLICY, collect, NULL);
  for (size_t i = 0; i < n; i++) {
    char *err = NULL;
    if (metrics_port_open(MP, &cfgs[i], &err) < 0) {
      log_err("%s", err);
      al_free(err);
      app_metrics_shutdown();   /* the subsystem list will not */
      return ALLIUM_EXIT_RUNTIME;
    }
  }
  return 0;
}

void
app_metrics_reconfigure(const allium_options_t *newo)
{
  if (!MP)
    return;
  policy_t *p = NULL;
  if (parse_policy(newo->MetricsPortPolicy, &p) < 0)
    return;   /* options_validate() checked it: keep the old one */
  metrics_port_set_policy(MP, p);
  policy_free(POLICY);
  POLICY = p;
}

void
app_metrics_shutdown(void)
{
  metrics_port_free(MP);
  policy_free(POLICY);
}
