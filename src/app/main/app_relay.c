/* app_relay.c -- the relay role in the running daemon: when ORPort is set
 * (and the keys were loaded from DataDirectory/keys by app_setup.c), build
 * the relay runtime (feature/relay/relay_run.h) from the options tor(1)
 * documents -- ORPort, Address, AddressDisableIPv6, Nickname, NumCPUs,
 * HeartbeatPeriod, AssumeReachable; TestingTorNetwork allows extending to
 * private addresses as tor's does -- bind the ORPorts before privileges
 * drop, start accepting when the loop starts, free it at shutdown.  No
 * torspec section of its own: process structure. */
#define LOG_MODULE "main"
#include "allium/app/main/exitcodes.h"
#include "allium/core/relay/relay_mem.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app_state.h"

static relay_run_t *R;

int
app_relay_init(void)
{
  app_state_t *st = app_state();
  const allium_options_t *o = st->opts;
  if (!st->keys) {
    log_info("No ORPort: the relay role is off.");
    return 0;
  }
  if (o->DisableNetwork) {
    log_notice("DisableNetwork is set: not opening the ORPort.");
    return 0;
  }
  if (relay_mem_limit() == 0) {   /* the client role did not set it */
    int raised = 0;
    relay_mem_set_limit(relay_mem_limit_for_option(o->MaxMemInQueues,
                                                   &raised));
    if (raised)
      log_warn("MaxMemInQueues must be at least 256 MB; using 256 MB.");
  }
  /* tor(1): HeartbeatPeriod below 30 minutes only in testing networks. */
  int heartbeat = o->HeartbeatPeriod;
  if (heartbeat > 0 && heartbeat < 1800 && !o->TestingTorNetwork) {
    log_warn("HeartbeatPeriod option is too short; raising to 1800 "
             "seconds.");
    heartbeat = 1800;
  }
  relay_run_config_t cfg = {
    .orport = o->ORPort,
    .address = o->Address,
    .address_disable_ipv6 = o->AddressDisableIPv6 != 0,
    .nickname = o->Nickname,
    .num_cpus = o->NumCPUs,
    .heartbeat_sec = heartbeat,
    .assume_reachable = o->AssumeReachable != 0,
    .extend_allow_private = o->TestingTorNetwork != 0,
    .keys = st->keys,
    .dircache = o->DirCache != 0,
    .datadir = o->CacheDirectory ? o->CacheDirectory : o->DataDirectory,
  };
  char *err = NULL;
  R = relay_run_new(evloop_base(), &cfg, &err);
  if (!R) {
    log_err("Couldn't start the relay: %s.", err ? err : "unknown error");
    al_free(err);
    return ALLIUM_EXIT_CONFIG;
  }
  return 0;
}

void
app_relay_start(void)
{
  if (R && relay_run_start(R) < 0) {
    log_err("Couldn't start accepting relay connections.");
    evloop_exit();
  }
}

void
app_relay_log_status(void)
{
  if (R)
    relay_run_log_heartbeat(R);
}

void
app_relay_shutdown(void)
{
  relay_run_free(R);
}
