/* app_relay.c -- the relay role in the running daemon: when ORPort is set
 * (and the keys were loaded from DataDirectory/keys by app_setup.c), build
 * the relay runtime (feature/relay/relay_run.h) from the options tor(1)
 * documents -- ORPort, Address, AddressDisableIPv6, Nickname, NumCPUs,
 * HeartbeatPeriod, AssumeReachable; TestingTorNetwork allows extending to
 * private addresses as tor's does -- bind the ORPorts before privileges
 * drop, start accepting when the loop starts, free it at shutdown.  Its
 * presence in the directory (feature/relay/relay_publish.h) comes from
 * DirAuthority (or the built-in authorities), DirCache, ContactInfo,
 * MyFamily, PublishServerDescriptor and the Bandwidth* options (enforced on
 * every channel by core/channel/channel_bw.h; AccountingMax hibernation by
 * feature/relay/relay_hibernate.h); the relay
 * keeps its own directory view (a cache's when DirCache is on) even when
 * the client role runs too.  No torspec section of its own: process
 * structure. */
#define LOG_MODULE "main"
#include "allium/app/main/exitcodes.h"
#include "allium/core/channel/channel_bw.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/feature/dirclient/dir_defaults.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/relay/relay_hibernate.h"
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
static relay_hibernate_t *HIB; /* AccountingMax; freed before R */

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

/* RelayBandwidthRate and RelayBandwidthBurst as tor uses them: either one
 * alone stands for both. */
static void
relay_bw_of(const allium_options_t *o, uint64_t *rate, uint64_t *burst)
{
  *rate = o->RelayBandwidthRate ? o->RelayBandwidthRate : o->RelayBandwidthBurst;
  *burst = o->RelayBandwidthBurst ? o->RelayBandwidthBurst : *rate;
}

/* The token buckets (every role: tor's BandwidthRate bounds all traffic). */
static void
bw_apply(const allium_options_t *o)
{
  channel_bw_cfg_t c = {
    .rate = o->BandwidthRate,
    .burst = o->BandwidthBurst,
    .refill_msec = (uint32_t)o->TokenBucketRefillInterval,
  };
  relay_bw_of(o, &c.relay_rate, &c.relay_burst);
  if (channel_bw_configure(evloop_base(), &c) < 0)
    log_warn("Couldn't start the bandwidth refill timer: BandwidthRate is "
             "not enforced.");
}

static void
hib_cfg_of(const allium_options_t *o, relay_hibernate_cfg_t *hc, char **path)
{
  app_state_t *st = app_state();
  *path = st->datadir ? al_asprintf("%s/state", st->datadir) : NULL;
  hc->max = o->AccountingMax;
  hc->start = o->AccountingStart;
  hc->rule = o->AccountingRule;
  hc->state_file = *path;
}

/* AccountingMax: start, reconfigure or stop the hibernation module.
 * 0, or -1 (logged). */
static int
hib_apply(const allium_options_t *o)
{
  relay_hibernate_cfg_t hc;
  char *path = NULL, *err = NULL;
  int r = 0;
  if (!o->AccountingMax) {
    if (HIB)
      log_notice("AccountingMax is now 0: accounting off.");
    relay_hibernate_free(HIB);
    return 0;
  }
  hib_cfg_of(o, &hc, &path);
  if (HIB)
    r = relay_hibernate_reconfigure(HIB, &hc, &err);
  else if (!(HIB = relay_hibernate_new(R, &hc, &err)))
    r = -1;
  if (r < 0) {
    log_warn("Couldn't apply the accounting options: %s.", err ? err : "error");
    al_free(err);
  }
  al_free(path);
  return r;
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
  uint64_t rrate, rburst;
  relay_bw_of(o, &rrate, &rburst);
  pc->bw_rate = min_set(min_set(o->BandwidthRate, rrate),
                        o->MaxAdvertisedBandwidth);
  pc->bw_burst = min_set(o->BandwidthBurst, rburst);
  if (pc->bw_burst < pc->bw_rate)   /* MaxAdvertisedBandwidth >= burst */
    pc->bw_burst = pc->bw_rate;
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

/* The DoS* options (tor(1) DENIAL OF SERVICE MITIGATION OPTIONS). */
static void
dos_options_of(const allium_options_t *o, relay_dos_options_t *d)
{
  d->cc_enabled = o->DoSCircuitCreationEnabled;
  d->cc_min_conns = o->DoSCircuitCreationMinConnections;
  d->cc_rate = o->DoSCircuitCreationRate;
  d->cc_burst = o->DoSCircuitCreationBurst;
  d->cc_defense_type = o->DoSCircuitCreationDefenseType;
  d->cc_period_sec = o->DoSCircuitCreationDefenseTimePeriod;
  d->conn_enabled = o->DoSConnectionEnabled;
  d->conn_max_concurrent = o->DoSConnectionMaxConcurrentCount;
  d->conn_defense_type = o->DoSConnectionDefenseType;
  d->conn_connect_rate = o->DoSConnectionConnectRate;
  d->conn_connect_burst = o->DoSConnectionConnectBurst;
  d->conn_connect_period_sec = o->DoSConnectionConnectDefenseTimePeriod;
  d->stream_enabled = o->DoSStreamCreationEnabled;
  d->stream_rate = o->DoSStreamCreationRate;
  d->stream_burst = o->DoSStreamCreationBurst;
  d->stream_defense_type = o->DoSStreamCreationDefenseType;
  d->refuse_single_hop_rend = o->DoSRefuseSingleHopClientRendezvous;
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
  bw_apply(o);
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
  int heartbeat = heartbeat_of(o);
  relay_dos_options_t dos;
  dos_options_of(o, &dos);
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
    .dos = dos,
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
  if (!r && hib_apply(o) < 0)
    r = ALLIUM_EXIT_CONFIG;
  if (r) {
    relay_run_free(R);
    PUB = NULL;
    app_exit_shutdown();
  }
  return r;
}

/* ---- GETINFO accounting/... (control-spec 3.9) ---- */

static void
fmt_time(time_t t, char *buf, size_t len)
{
  struct tm tm;
  if (t <= 0 || !gmtime_r(&t, &tm))
    snprintf(buf, len, "unknown");
  else
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static uint64_t
left_of(uint64_t max, uint64_t used)
{
  return used >= max ? 0 : max - used;
}

static int
getinfo_accounting(const char *key, void *arg, char **answer,
                   const char **errmsg)
{
  (void)arg;
  const relay_acct_t *a = HIB ? relay_hibernate_acct(HIB) : NULL;
  if (!strcmp(key, "accounting/enabled")) {
    *answer = al_strdup(a ? "1" : "0");
    return 0;
  }
  if (!a) {
    *errmsg = "Accounting is not enabled";
    return CTLINFO_ERR;
  }
  char t[32];
  if (!strcmp(key, "accounting/hibernating")) {
    relay_hib_state_t st = relay_hibernate_state(HIB);
    *answer = al_strdup(st == RELAY_HIB_AWAKE ? "awake"
                        : st == RELAY_HIB_SOFT ? "soft" : "hard");
  } else if (!strcmp(key, "accounting/bytes")) {
    *answer = al_asprintf("%llu %llu", (unsigned long long)a->n_read,
                          (unsigned long long)a->n_written);
  } else if (!strcmp(key, "accounting/bytes-left")) {
    uint64_t r, w;
    if (a->rule == RELAY_ACCT_RULE_SUM) {
      r = w = left_of(a->max, a->n_read + a->n_written);
    } else {
      r = a->rule == RELAY_ACCT_RULE_OUT ? a->max : left_of(a->max, a->n_read);
      w = a->rule == RELAY_ACCT_RULE_IN ? a->max
                                        : left_of(a->max, a->n_written);
    }
    *answer = al_asprintf("%llu %llu", (unsigned long long)r,
                          (unsigned long long)w);
  } else if (!strcmp(key, "accounting/interval-start")) {
    fmt_time(a->interval_start, t, sizeof(t));
    *answer = al_strdup(t);
  } else if (!strcmp(key, "accounting/interval-end")) {
    fmt_time(a->interval_end, t, sizeof(t));
    *answer = al_strdup(t);
  } else if (!strcmp(key, "accounting/interval-wake")) {
    fmt_time(a->wakeup, t, sizeof(t));
    *answer = al_strdup(t);
  } else {
    return CTLINFO_UNKNOWN;
  }
  return 0;
}

static void
register_accounting_keys(void)
{
  static const struct { const char *key, *doc; } keys[] = {
    { "accounting/enabled", "Is accounting currently enabled?" },
    { "accounting/hibernating", "Are we hibernating or awake?" },
    { "accounting/bytes", "Number of bytes read/written so far in the "
      "accounting interval." },
    { "accounting/bytes-left", "Number of bytes left to write/read so far "
      "in the accounting interval." },
    { "accounting/interval-start", "Time when the accounting period "
      "starts." },
    { "accounting/interval-end", "Time when the accounting period ends." },
    { "accounting/interval-wake", "Time to wake up in this accounting "
      "period." },
  };
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    (void)ctlinfo_register(keys[i].key, getinfo_accounting, &HIB,
                           keys[i].doc);
}

void
app_relay_start(void)
{
  register_accounting_keys();
  if (R && relay_run_start(R) < 0) {
    log_err("Couldn't start accepting relay connections.");
    evloop_exit();
    return;
  }
  relay_hibernate_reapply(HIB);   /* started asleep: ORPort stays closed */
}

void
app_relay_log_status(void)
{
  if (R)
    relay_run_log_heartbeat(R);
  channel_bw_stats_t s;
  channel_bw_get_stats(&s);
  if (s.limited)
    log_notice("Heartbeat: bandwidth limits: read %llu and wrote %llu bytes "
               "(relayed %llu / %llu); the read bucket ran empty %llu times "
               "(relay %llu), the write bucket %llu times (relay %llu); "
               "channels waited %llu times to read, %llu to write.",
               (unsigned long long)s.bytes_read,
               (unsigned long long)s.bytes_written,
               (unsigned long long)s.relay_bytes_read,
               (unsigned long long)s.relay_bytes_written,
               (unsigned long long)s.read_emptied,
               (unsigned long long)s.relay_read_emptied,
               (unsigned long long)s.write_emptied,
               (unsigned long long)s.relay_write_emptied,
               (unsigned long long)s.reads_blocked,
               (unsigned long long)s.writes_blocked);
  if (s.limited && (s.other_bytes_read || s.other_bytes_written))
    log_notice("Heartbeat: bandwidth limits: exit connections read %llu and "
               "wrote %llu bytes (in the totals above); they waited %llu "
               "times to read, %llu to write.",
               (unsigned long long)s.other_bytes_read,
               (unsigned long long)s.other_bytes_written,
               (unsigned long long)s.other_reads_blocked,
               (unsigned long long)s.other_writes_blocked);
  relay_hibernate_log_status(HIB);
}

struct relay_run_t *
app_relay_runtime(void)
{
  return R;
}

void
app_relay_shutdown(void)
{
  ctlinfo_unregister(&HIB);
  relay_hibernate_free(HIB);   /* saves the accounting state */
  channel_bw_shutdown();
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
  if (app_exit_check_reload(R, app_state()->opts, newo) < 0)
    return -1;
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
app_relay_abort_reload(void)
{
  app_exit_abort_reload();
}

void
app_relay_reconfigure(const allium_options_t *oldo, const allium_options_t *newo)
{
  (void)oldo;
  bw_apply(newo);              /* SIGHUP: new rates are enforced at once */
  if (!R)
    return;
  (void)hib_apply(newo);
  relay_run_set_heartbeat(R, heartbeat_of(newo));
  relay_dos_options_t dos;
  dos_options_of(newo, &dos);
  relay_run_set_dos_options(R, &dos);
  bool nick = relay_run_set_nickname(R, newo->Nickname);
  app_exit_reconfigure(R);     /* new BEGINs: the new exit policy */
  if (!PUB)
    return;
  relay_publish_cfg_t pc;
  char *err = NULL;
  publish_cfg_from(newo, &pc);
  app_exit_publish_cfg(&pc);
  if (relay_publish_reconfigure(PUB, &pc, nick, &err) < 0) {
    log_warn("Couldn't apply the new relay options: %s.", err ? err : "error");
    al_free(err);
  }
}
