/* bootstrap.c -- "Bootstrapped N% (tag): summary" progress lines
 * (control-spec 4.1.10, the BOOTSTRAP status event's phases).  See
 * include/allium/core/mainloop/bootstrap.h. */
#define LOG_MODULE "bootstrap"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/lib/log/log.h"

#include <stddef.h>

typedef struct phase_t {
  int pct;
  const char *tag;
  const char *summary;
} phase_t;

static const phase_t phases[] = {
  { 0, "starting", "Starting" },
  { 5, "conn", "Connecting to a relay" },
  { 10, "conn_done", "Connected to a relay" },
  { 15, "handshake_done", "Handshake with a relay done" },
  { 20, "onehop_create", "Establishing an encrypted directory connection" },
  { 25, "requesting_status", "Asking for networkstatus consensus" },
  { 30, "loading_status", "Loading networkstatus consensus" },
  { 40, "loading_keys", "Loading authority key certs" },
  { 45, "requesting_descriptors", "Asking for relay descriptors" },
  { 50, "loading_descriptors", "Loading relay descriptors" },
  { 75, "enough_dirinfo", "Loaded enough directory info to build circuits" },
  { 80, "ap_conn", "Connecting to a relay to build circuits" },
  { 85, "ap_conn_done", "Connected to a relay to build circuits" },
  { 90, "ap_handshake_done", "Handshake finished with a relay to build circuits" },
  { 95, "circuit_create", "Establishing a Tor circuit" },
  { 100, "done", "Done" },
};

static int last_pct = -1;

static const phase_t *
phase_for(int pct)
{
  const phase_t *p = &phases[0];
  for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
    if (phases[i].pct <= pct)
      p = &phases[i];
  return p;
}

const char *
bootstrap_tag(int percent)
{
  return phase_for(percent)->tag;
}

const char *
bootstrap_summary(int percent)
{
  return phase_for(percent)->summary;
}

bool
bootstrap_report_msg(int percent, const char *summary)
{
  if (percent < 0 || percent > 100 || percent <= last_pct)
    return false;
  last_pct = percent;
  const char *sum = summary ? summary : bootstrap_summary(percent);
  log_notice("Bootstrapped %d%% (%s): %s", percent, bootstrap_tag(percent),
             sum);
  /* control-spec 4.1.10: STATUS_CLIENT BOOTSTRAP (summaries hold no
   * quote or backslash). */
  ctlev_publish(CTLEV_STATUS_CLIENT, "NOTICE BOOTSTRAP PROGRESS=%d TAG=%s "
                "SUMMARY=\"%s\"", percent, bootstrap_tag(percent), sum);
  if (percent == BOOTSTRAP_DONE) {
    ctlev_publish(CTLEV_STATUS_CLIENT, "NOTICE CIRCUIT_ESTABLISHED");
    ctlev_publish(CTLEV_NETWORK_LIVENESS, "UP");
  }
  return true;
}

bool
bootstrap_report(int percent)
{
  return bootstrap_report_msg(percent, NULL);
}

int
bootstrap_percent(void)
{
  return last_pct < 0 ? 0 : last_pct;
}

void
bootstrap_reset(void)
{
  last_pct = -1;
}
