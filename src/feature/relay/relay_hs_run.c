/* relay_hs_run.c -- the relay's onion-service roles (relay_hs.c) wired to
 * the cell engine: the on_relay_msg / on_circ_closed hooks
 * (include/allium/core/mainloop/cellswitch.h), messages sent on engine
 * circuits, circuits joined with cellswitch_circ_splice() (rend-spec-v3
 * 3.1-3.3, 4.1-4.2), the consensus parameters
 * HiddenServiceEnableIntroDoS{Defense,RatePerSec,BurstPerSec} (dir-spec
 * 3.4.1 "params") and the heartbeat line. */
#define LOG_MODULE "relay"
#include <string.h>

#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/mainloop/cellswitch.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/relay/relay_hs.h"
#include "allium/feature/relay/relay_publish.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "relay_run_st.h"

/* ---- the module on a cell engine (relay_hs.h) ---- */

static int
io_send(void *arg, uint64_t circ, uint8_t command, const uint8_t *body,
        size_t len)
{
  cellswitch_t *sw = *(cellswitch_t *const *)arg;
  circ_relay_t *rc = sw ? cellswitch_circ_relay(sw, circ) : NULL;
  if (!rc || circ_relay_state(rc) == CIRC_RELAY_CLOSED ||
      circ_relay_send(rc, command, 0, body, len) < 0)
    return -1;
  cellswitch_circ_flush(sw, circ);   /* no-op inside its own pump */
  return 0;
}

static void
io_close(void *arg, uint64_t circ, uint8_t reason)
{
  cellswitch_t *sw = *(cellswitch_t *const *)arg;
  if (sw)
    cellswitch_circ_close(sw, circ, reason);
}

static int
io_splice(void *arg, uint64_t a, uint64_t b)
{
  cellswitch_t *sw = *(cellswitch_t *const *)arg;
  return sw ? cellswitch_circ_splice(sw, a, b) : -1;
}

relay_hs_t *
relay_hs_new_switch(cellswitch_t *const *swp)
{
  relay_hs_io_t io = { io_send, io_close, io_splice, (void *)swp };
  return swp ? relay_hs_new(&io) : NULL;
}

void
relay_hs_switch_relay_msg(relay_hs_t *h, cellswitch_t *sw, uint64_t circ,
                          const circ_event_t *ev)
{
  circ_relay_t *rc = cellswitch_circ_relay(sw, circ);
  if (!h || !rc || !ev)
    return;
  relay_hs_circ_info_t ci;
  ci.last_hop = circ_relay_state(rc) == CIRC_RELAY_OPEN;
  ci.prev_is_client = !cellswitch_circ_prev_is_relay(sw, circ);
  ci.kh = circ_relay_kh(rc);
  (void)relay_hs_handle_msg(h, circ, &ci, ev->command, ev->body, ev->len,
                            evloop_monotonic_msec());
}

/* ---- the relay runtime's hooks ---- */

int
relay_hs_run_init(relay_run_t *rr)
{
  rr->hs = relay_hs_new_switch(&rr->sw);
  return rr->hs ? 0 : -1;
}

void
relay_hs_run_on_relay_msg(void *arg, cellswitch_t *sw, uint64_t circ,
                          const circ_event_t *ev)
{
  relay_run_t *rr = arg;
  relay_hs_switch_relay_msg(rr->hs, sw, circ, ev);
}

void
relay_hs_run_on_circ_closed(void *arg, cellswitch_t *sw, uint64_t circ)
{
  relay_run_t *rr = arg;
  (void)sw;
  relay_hs_circ_closed(rr->hs, circ);
}

/* The INTRODUCE2 defence's consensus parameters (tor's defaults before a
 * consensus), applied when they change. */
void
relay_hs_run_refresh(relay_run_t *rr)
{
  if (!rr->hs)
    return;
  const nodelist_t *nl = rr->pub ? relay_publish_nodelist(rr->pub) : NULL;
  if (nl && !nodelist_get_consensus(nl))
    nl = NULL;
  relay_hs_params_t p, old;
  p.intro_dos_enabled =
    nl ? nodelist_get_param(nl, "HiddenServiceEnableIntroDoSDefense",
                            RELAY_HS_INTRO_DOS_ENABLED_DEFAULT, 0, 1) != 0
       : RELAY_HS_INTRO_DOS_ENABLED_DEFAULT;
  p.intro_dos_rate = (uint32_t)(
    nl ? nodelist_get_param(nl, "HiddenServiceEnableIntroDoSRatePerSec",
                            RELAY_HS_INTRO_DOS_RATE_DEFAULT, 0, INT32_MAX)
       : RELAY_HS_INTRO_DOS_RATE_DEFAULT);
  p.intro_dos_burst = (uint32_t)(
    nl ? nodelist_get_param(nl, "HiddenServiceEnableIntroDoSBurstPerSec",
                            RELAY_HS_INTRO_DOS_BURST_DEFAULT, 0, INT32_MAX)
       : RELAY_HS_INTRO_DOS_BURST_DEFAULT);
  relay_hs_get_params(rr->hs, &old);
  if (p.intro_dos_enabled == old.intro_dos_enabled &&
      p.intro_dos_rate == old.intro_dos_rate &&
      p.intro_dos_burst == old.intro_dos_burst && rr->hs_params_logged)
    return;
  rr->hs_params_logged = true;
  relay_hs_set_params(rr->hs, &p);
  log_info("Onion-service introduction points: INTRODUCE2 defence %s "
           "(rate %u/s, burst %u) unless a service sets its own.",
           p.intro_dos_enabled ? "on" : "off", p.intro_dos_rate,
           p.intro_dos_burst);
}

void
relay_hs_run_log_heartbeat(relay_run_t *rr)
{
  relay_hs_stats_t s;
  if (!rr->hs)
    return;
  relay_hs_get_stats(rr->hs, &s);
  if (!s.intro_established && !s.rend_established && !s.intro_refused &&
      !s.rend_refused && !s.rend1_refused && !s.introduce1_bad &&
      !s.introduce1_unknown)
    return;
  log_notice("Heartbeat: onion services: %zu introduction points now "
             "(%llu established, %llu refused), %llu INTRODUCE2 relayed "
             "(%llu unknown key, %llu malformed, %llu over the rate); %zu "
             "rendezvous circuits waiting, %llu established, %llu joined "
             "(%llu RENDEZVOUS1 refused).", s.intro_circuits,
             (unsigned long long)s.intro_established,
             (unsigned long long)s.intro_refused,
             (unsigned long long)s.introduce2_sent,
             (unsigned long long)s.introduce1_unknown,
             (unsigned long long)s.introduce1_bad,
             (unsigned long long)s.introduce1_dos, s.rend_waiting,
             (unsigned long long)s.rend_established,
             (unsigned long long)s.rend_joined,
             (unsigned long long)s.rend1_refused);
}

void
relay_run_get_hs_stats(const relay_run_t *rr, relay_hs_stats_t *out)
{
  memset(out, 0, sizeof(*out));
  if (rr && rr->hs)
    relay_hs_get_stats(rr->hs, out);
}
