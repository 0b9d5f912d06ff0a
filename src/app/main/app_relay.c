/* app_relay.c -- the relay role in the running daemon: when ORPort is set
 * (and the keys were loaded from DataDirectory/keys by app_setup.c), build
 * the relay runtime (feature/relay/relay_run.h) from the options tor(1)
 * documents -- ORPort, Address, AddressDisableIPv6, Nickname, NumCPUs,
 * HeartbeatPeriod, AssumeReachable; TestingTorNetwork allows extending to
 * private addresses as tor's does -- bind the ORPorts before privileges
 * drop, start accepting when the loop starts, free it at shutdown.  Its
 * presence in the directory (feature/relay/relay_publish.h) comes from
 * DirAuthority (or the built-in authorities), DirCache, ContactInfo,
 * MyFamily, PublishServerDescriptor and the Bandwidth* options; the relay
 * keeps its own directory view (a cache's when DirCache is on) even when
 * the client role runs too.  No torspec section of its own: process
 * structure. */
#define LOG_MODULE "main"
#include "allium/app/main/exitcodes.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/feature/dirclient/dir_defaults.h"
#include "allium/feature/relay/relay_publish.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app_exit.h"
#include "app_state.h"

#include <string.h>

static relay_run_t *R;
static relay_publish_t *PUB;   /* owned by R */

/* The values of a line list, as an array (caller frees). */
static const char **
line_values(const config_line_t *lines, size_t *n)
{
  size_t k = 0;
  for (const config_line_t *l = lines; l; l = l->next)
    k++;
  const char **v = al_calloc(k ? k : 1, sizeof(*v));
  k = 0;
  for (const config_line_t *l = lines; l; l = l->next)
    v[k++] = l->value;
  *n = k;
  return v;
}

/* PublishServerDescriptor: "0" (alone) turns uploads off; "1" and "v3"
 * publish to the v3 authorities. */
static bool
wants_publish(char **v)
{
  bool any = false;
  for (size_t i = 0; v && v[i]; i++) {
    if (strcmp(v[i], "0"))
      return true;
    any = true;
  }
  return !any;
}

static uint64_t
min_set(uint64_t a, uint64_t b)
{
  return b && b < a ? b : a;
}

/* The publisher's options from o (directory servers left empty). */
static void
publish_cfg_from(const allium_options_t *o, relay_publish_cfg_t *pc)
{
  app_state_t *st = app_state();
  memset(pc, 0, sizeof(*pc));
  pc->datadir = st->datadir;
  pc->cache_dir = o->CacheDirectory ? o->CacheDirectory : st->datadir;
  pc->dir_cache = o->DirCache != 0;
  pc->publish = wants_publish(o->PublishServerDescriptor);
  pc->testing_network = o->TestingTorNetwork != 0;
  pc->assume_reachable = o->AssumeReachable != 0;
  pc->contact = o->ContactInfo;
  pc->family = o->MyFamily;
  /* tor: the smallest of the configured rates, the relay ones if set. */
  pc->bw_rate = min_set(min_set(o->BandwidthRate, o->RelayBandwidthRate),
                        o->MaxAdvertisedBandwidth);
  pc->bw_burst = min_set(o->BandwidthBurst, o->RelayBandwidthBurst);
}

/* tor(1): HeartbeatPeriod below 30 minutes only in testing networks. */
static int
heartbeat_of(const allium_options_t *o)
{
  int heartbeat = o->HeartbeatPeriod;
  if (heartbeat > 0 && heartbeat < 1800 && !o->TestingTorNetwork) {
    log_warn("HeartbeatPeriod option is too short; raising to 1800 "
             "seconds.");
    heartbeat = 1800;
  }
  return heartbeat;
}

/* The descriptor publisher for R from the options.  0 or an exit status. */
static int
publisher_init(const allium_options_t *o)
{
  dir_servers_cfg_t dc;
  dir_servers_t dirs;
  char *err = NULL;
  memset(&dc, 0, sizeof(dc));
  memset(&dirs, 0, sizeof(dirs));
  const char **da = line_values(o->DirAuthority, &dc.n_dir_authority);
  const char **aa = line_values(o->AlternateDirAuthority, &dc.n_alt_dir_authority);
  const char **fb = line_values(o->FallbackDir, &dc.n_fallback_dir);
  dc.dir_authority = da;
  dc.alt_dir_authority = aa;
  dc.fallback_dir = fb;
  dc.use_default_fallbacks = o->UseDefaultFallbackDirs != 0;
  int r = dir_servers_resolve(&dc, &dirs, &err);
  al_free(da);
  al_free(aa);
  al_free(fb);
  if (r < 0) {
    log_err("Invalid directory server configuration: %s", err ? err : "malformed");
    al_free(err);
    return ALLIUM_EXIT_CONFIG;
  }
  relay_publish_cfg_t pc;
  publish_cfg_from(o, &pc);
  app_exit_publish_cfg(&pc);
  pc.auths = dirs.auths;
  pc.n_auths = dirs.n_auths;
  pc.fallbacks = dirs.fallbacks;
  pc.n_fallbacks = dirs.n_fallbacks;
  relay_publish_t *pub = relay_publish_new(R, evloop_base(), &pc, &err);
  dir_servers_clear(&dirs);
  if (!pub) {
    log_err("Couldn't set up descriptor publishing: %s.", err ? err : "unknown error");
    al_free(err);
    return ALLIUM_EXIT_CONFIG;
  }
  relay_run_set_publisher(R, pub);
  PUB = pub;
  return 0;
}

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
  /* Options a relay operator sets that this version cannot honour yet: say
   * so instead of accepting them silently.  It fails safe (bandwidth only
   * advertised), so it is a warning, not an error. */
  if (o->RelayBandwidthRate || o->BandwidthRate < (uint64_t)1 << 30)
    log_warn("BandwidthRate / RelayBandwidthRate are advertised in the "
             "descriptor but not enforced yet: the relay does not limit its "
             "traffic.");
  int heartbeat = heartbeat_of(o);
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
    .datadir = st->datadir,
    .dircache = o->DirCache != 0,
    .cachedir = o->CacheDirectory ? o->CacheDirectory : o->DataDirectory,
  };
  char *err = NULL;
  R = relay_run_new(evloop_base(), &cfg, &err);
  if (!R) {
    log_err("Couldn't start the relay: %s.", err ? err : "unknown error");
    al_free(err);
    return ALLIUM_EXIT_CONFIG;
  }
  int r = app_exit_init(R, o);
  if (!r)
    r = publisher_init(o);
  if (r) {
    relay_run_free(R);
    PUB = NULL;
    app_exit_shutdown();
  }
  return r;
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
  PUB = NULL;
  app_exit_shutdown();
}

/* ---- SIGHUP (tor(1) SIGNALS; tor republishes when an option that
 * appears in the descriptor changes) ---- */

int
app_relay_check_reload(const allium_options_t *newo)
{
  relay_publish_cfg_t pc;
  char *err = NULL;
  if (!PUB)
    return 0;
  publish_cfg_from(newo, &pc);
  if (relay_publish_check_reload(PUB, &pc, &err) < 0) {
    log_warn("Invalid relay option in the new configuration: %s.", err ? err : "malformed");
    al_free(err);
    return -1;
  }
  return 0;
}

void
app_relay_reconfigure(const allium_options_t *oldo, const allium_options_t *newo)
{
  (void)oldo;
  if (!R)
    return;
  relay_run_set_heartbeat(R, heartbeat_of(newo));
  bool nick = relay_run_set_nickname(R, newo->Nickname);
  if (!PUB)
    return;
  relay_publish_cfg_t pc;
  char *err = NULL;
  publish_cfg_from(newo, &pc);
  if (relay_publish_reconfigure(PUB, &pc, nick, &err) < 0) {
    log_warn("Couldn't apply the new relay options: %s.", err ? err : "error");
    al_free(err);
  }
}
