/* app_client.c -- the client role in the running daemon: it ties the
 * directory bootstrap (feature/dirclient dir_boot), the peer database
 * (feature/nodelist), the channel and circuit manager (core/mainloop
 * chanmgr) and the application ports (feature/client) together, from the
 * options tor(1) documents (SocksPort, HTTPTunnelPort, DirAuthority,
 * UseMicrodescriptors, EntryNodes/ExitNodes/ExcludeNodes/StrictNodes,
 * CircuitBuildTimeout, ...).  No torspec section of its own: process
 * structure.
 *
 * app_client_init() (a subsystem, before privileges drop) builds the
 * objects and binds the ports; app_client_start() (once the loop is about
 * to run) begins bootstrapping; app_client_shutdown() frees everything.
 */
#define LOG_MODULE "main"
#include "allium/app/main/exitcodes.h"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/core/policy/policy.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/feature/client/client.h"
#include "allium/feature/dirclient/dir_defaults.h"
#include "allium/feature/dirclient/dir_boot.h"
#include "allium/feature/hs_common/hs_auth_private.h"
#include "allium/feature/hs_service/hs_service_config.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/nodelist/routerset.h"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/feature/proxy/isolation.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"
#include "allium/lib/tls/tls.h"
#include "app_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct app_client_t {
  tls_context_t *tls;
  chanmgr_t *cm;
  nodelist_t *nl;
  dir_boot_t *boot;
  client_t *client;
  proxy_port_cfg_t *ports;
  size_t n_ports;
  dir_servers_t dirs;            /* authorities and fallback mirrors */
  routerset_t *entry, *exit, *exclude, *exclude_exit;
  policy_t *socks_policy;
  uint16_t *long_lived;
  size_t n_long_lived;
  char *state_file;
  char *cache_dir;
  hs_auth_store_t *onion_auth;   /* ClientOnionAuthDir keys, or NULL */
  hs_service_configs_t *services;/* HiddenServiceDir blocks, or NULL */
} app_client_t;

static app_client_t *C;

/* Parse every SocksPort / HTTPTunnelPort line into dst->ports, dropping
 * disabled ("0") ones.  0 or -1 (logged). */
static int
parse_ports(app_client_t *dst, const config_line_t *lines,
            proxy_port_kind_t kind)
{
  for (const config_line_t *l = lines; l; l = l->next) {
    proxy_port_cfg_t p;
    char *err = NULL;
    if (proxy_port_parse(l->value, kind, &p, &err) < 0) {
      log_err("Invalid %s line \"%s\": %s", l->key, l->value,
              err ? err : "malformed");
      al_free(err);
      return -1;
    }
    if (p.disabled) {
      proxy_port_cfg_clear(&p);
      continue;
    }
    dst->ports = al_realloc(dst->ports,
                            (dst->n_ports + 1) * sizeof(*dst->ports));
    dst->ports[dst->n_ports++] = p;
  }
  return 0;
}

/* The values of a line list, as an array (NULL-free; caller frees). */
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

/* The directory servers: DirAuthority, AlternateDirAuthority, FallbackDir,
 * UseDefaultFallbackDirs and the built-in lists (dir_defaults.h). */
static int
resolve_dir_servers(const allium_options_t *o)
{
  dir_servers_cfg_t dc;
  char *err = NULL;
  memset(&dc, 0, sizeof(dc));
  const char **da = line_values(o->DirAuthority, &dc.n_dir_authority);
  const char **aa = line_values(o->AlternateDirAuthority,
                                &dc.n_alt_dir_authority);
  const char **fb = line_values(o->FallbackDir, &dc.n_fallback_dir);
  dc.dir_authority = da;
  dc.alt_dir_authority = aa;
  dc.fallback_dir = fb;
  dc.use_default_fallbacks = o->UseDefaultFallbackDirs != 0;
  int r = dir_servers_resolve(&dc, &C->dirs, &err);
  if (r < 0)
    log_err("Invalid directory server configuration: %s",
            err ? err : "malformed");
  else
    log_info("Directory servers: %zu %s authorities, %zu %s fallback "
             "mirrors", C->dirs.n_auths,
             C->dirs.auths_builtin ? "built-in" : "configured",
             C->dirs.n_fallbacks,
             C->dirs.fallbacks_builtin ? "built-in" : "configured");
  al_free(err);
  al_free(da);
  al_free(aa);
  al_free(fb);
  return r;
}

/* A CSV node-list option as one routerset (NULL if unset).  0 or -1. */
static int
parse_nodes(const char *name, char **csv, routerset_t **out)
{
  *out = NULL;
  if (!csv || !csv[0])
    return 0;
  size_t len = 1;
  for (size_t i = 0; csv[i]; i++)
    len += strlen(csv[i]) + 1;
  char *joined = al_malloc(len);
  joined[0] = '\0';
  for (size_t i = 0; csv[i]; i++) {
    if (i)
      strcat(joined, ",");
    strcat(joined, csv[i]);
  }
  int r = routerset_parse(joined, out);
  if (r < 0)
    log_err("Invalid %s \"%s\".", name, joined);
  al_free(joined);
  return r < 0 ? -1 : 0;
}

/* SocksPolicy lines (tor(1): exit-policy syntax, matched on the client's
 * address).  0 or -1 (logged). */
static int
parse_socks_policy(app_client_t *dst, const config_line_t *lines)
{
  for (const config_line_t *l = lines; l; l = l->next) {
    if (!dst->socks_policy)
      dst->socks_policy = policy_new();
    if (policy_parse_config(dst->socks_policy, l->value) < 0) {
      log_err("Invalid SocksPolicy \"%s\".", l->value);
      return -1;
    }
  }
  return 0;
}

static int
parse_long_lived(app_client_t *dst, char **csv)
{
  for (size_t i = 0; csv && csv[i]; i++) {
    uint16_t v;
    if (net_port_parse(csv[i], strlen(csv[i]), 1, &v) < 0) {
      log_err("Invalid LongLivedPorts entry \"%s\".", csv[i]);
      return -1;
    }
    dst->long_lived = al_realloc(dst->long_lived,
                                 (dst->n_long_lived + 1) * sizeof(uint16_t));
    dst->long_lived[dst->n_long_lived++] = (uint16_t)v;
  }
  return 0;
}

/* Everything parsed from options that a reload may change (see
 * app_client_reconfigure()).  0 or -1 (logged). */
static int
parse_changeable(app_client_t *dst, const allium_options_t *o)
{
  if (parse_ports(dst, o->SocksPort, PROXY_PORT_SOCKS) < 0 ||
      parse_ports(dst, o->HTTPTunnelPort, PROXY_PORT_HTTP_TUNNEL) < 0 ||
      parse_nodes("EntryNodes", o->EntryNodes, &dst->entry) < 0 ||
      parse_nodes("ExitNodes", o->ExitNodes, &dst->exit) < 0 ||
      parse_nodes("ExcludeNodes", o->ExcludeNodes, &dst->exclude) < 0 ||
      parse_nodes("ExcludeExitNodes", o->ExcludeExitNodes,
                  &dst->exclude_exit) < 0 ||
      parse_long_lived(dst, o->LongLivedPorts) < 0 ||
      parse_socks_policy(dst, o->SocksPolicy) < 0)
    return -1;
  return 0;
}

/* Free what parse_changeable() filled in. */
static void
free_changeable(app_client_t *a)
{
  for (size_t i = 0; i < a->n_ports; i++)
    proxy_port_cfg_clear(&a->ports[i]);
  al_free(a->ports);
  a->n_ports = 0;
  routerset_free(a->entry);
  routerset_free(a->exit);
  routerset_free(a->exclude);
  routerset_free(a->exclude_exit);
  policy_free(a->socks_policy);
  al_free(a->long_lived);
  a->n_long_lived = 0;
}

/* Exchange what parse_changeable() fills in between a and b. */
static void
swap_changeable(app_client_t *a, app_client_t *b)
{
  app_client_t t = *a;
  a->ports = b->ports;
  a->n_ports = b->n_ports;
  a->entry = b->entry;
  a->exit = b->exit;
  a->exclude = b->exclude;
  a->exclude_exit = b->exclude_exit;
  a->socks_policy = b->socks_policy;
  a->long_lived = b->long_lived;
  a->n_long_lived = b->n_long_lived;
  b->ports = t.ports;
  b->n_ports = t.n_ports;
  b->entry = t.entry;
  b->exit = t.exit;
  b->exclude = t.exclude;
  b->exclude_exit = t.exclude_exit;
  b->socks_policy = t.socks_policy;
  b->long_lived = t.long_lived;
  b->n_long_lived = t.n_long_lived;
}

static void
on_dirinfo(nodelist_t *nl, bool enough, void *arg)
{
  (void)nl;
  (void)arg;
  if (C && C->client)
    client_dirinfo_changed(C->client, enough);
}

static uint32_t
secs_to_msec(int s, uint32_t dflt)
{
  if (s <= 0)
    return dflt;
  return s > 4000000 ? 4000000000u : (uint32_t)s * 1000u;
}

/* The client configuration from o and what was parsed into C. */
static void
client_cfg_fill(const allium_options_t *o, client_cfg_t *out)
{
  client_cfg_t cc;
  memset(&cc, 0, sizeof(cc));
  cc.base = evloop_base();
  cc.cm = C->cm;
  cc.nl = C->nl;
  cc.ports = C->ports;
  cc.n_ports = C->n_ports;
  pathsel_options_init(&cc.path_opts);
  cc.path_opts.entry_nodes = C->entry;
  cc.path_opts.exit_nodes = C->exit;
  cc.path_opts.exclude_nodes = C->exclude;
  cc.path_opts.exclude_exit_nodes = C->exclude_exit;
  cc.path_opts.strict_nodes = o->StrictNodes != 0;
  cc.path_opts.client_use_ipv4 = o->ClientUseIPv4 != 0;
  cc.path_opts.client_use_ipv6 = o->ClientUseIPv6 != 0;
  cc.path_opts.prefer_ipv6_orport = o->ClientPreferIPv6ORPort == 1;
  cc.path_opts.enforce_distinct_subnets = o->EnforceDistinctSubnets != 0;
  cc.path_opts.num_entry_guards = o->NumEntryGuards;
  cc.state_file = C->state_file;
  cc.use_entry_guards = o->UseEntryGuards != 0;
  cc.no_vanguards_lite = o->VanguardsLiteEnabled == 0;
  cc.circuit_build_timeout_msec = secs_to_msec(o->CircuitBuildTimeout, 60000);
  cc.stream_timeout_msec = secs_to_msec(o->CircuitStreamTimeout, 10000);
  cc.socks_timeout_msec = secs_to_msec(o->SocksTimeout, 120000);
  cc.max_dirtiness_sec = o->MaxCircuitDirtiness > 0
                         ? (uint32_t)o->MaxCircuitDirtiness : 600;
  cc.long_lived_ports = C->long_lived;
  cc.n_long_lived_ports = C->n_long_lived;
  /* ConnLimit is tor's fd minimum; the cap comes from the fd budget. */
  uint64_t cap = app_state()->app_conn_cap;
  cc.conn_limit = cap > 0 && cap < INT32_MAX ? (int)cap : 0;
  cc.socks_policy = C->socks_policy;
  cc.socks_safety.safe_socks = o->SafeSocks != 0;
  cc.socks_safety.test_socks = o->TestSocks != 0;
  cc.socks_safety.warn_unsafe = o->WarnUnsafeSocks != 0;
  cc.testing_network = o->TestingTorNetwork != 0;
  cc.onion_auth = C->onion_auth;
  cc.onion_auth_dir = o->ClientOnionAuthDir;
  cc.onion_services = C->services && C->services->n ? C->services : NULL;
  cc.onion_services_single_hop = o->HiddenServiceSingleHopMode &&
                                 o->HiddenServiceNonAnonymousMode;
  cc.leave_streams_unattached = o->LeaveStreamsUnattached != 0;
  cc.map_address = o->MapAddress;
  *out = cc;
}

/* Build the client objects from o (ports already parsed). */
static int
client_objects_new(const allium_options_t *o)
{
  const char *dd = app_state()->datadir;
  C->tls = tls_context_new_client();
  if (!C->tls) {
    log_err("Couldn't create the client TLS context.");
    return -1;
  }
  C->cm = chanmgr_new(evloop_base(), C->tls);
  C->nl = nodelist_new();
  nodelist_ctl_attach(C->nl);   /* GETINFO ns/..., md/..., NEWCONSENSUS */
  uint32_t keepalive = secs_to_msec(o->KeepalivePeriod, 300000);
  chanmgr_set_channel_timeouts(C->cm, 180000, keepalive);
  int raised = 0;   /* tor(1) MaxMemInQueues; 0 picks from the RAM */
  uint64_t mem = relay_mem_limit_for_option(o->MaxMemInQueues, &raised);
  if (raised)
    log_warn("MaxMemInQueues must be at least 256 MB; using 256 MB.");
  relay_mem_set_limit(mem);
  log_info("MaxMemInQueues is %llu MB%s.", (unsigned long long)(mem >> 20),
           o->MaxMemInQueues ? "" : " (picked from the physical memory)");
  if (dd)
    C->state_file = al_asprintf("%s/state", dd);
  /* tor(1): CacheDirectory defaults to the DataDirectory. */
  if (o->CacheDirectory) {
    int r = fs_check_private_dir(o->CacheDirectory, FS_DIR_CREATE);
    if (r < 0) {
      log_err("CacheDirectory \"%s\" is not usable: %s",
              o->CacheDirectory, fs_strerror(r));
      return -1;
    }
    C->cache_dir = al_strdup(o->CacheDirectory);
  } else if (dd)
    C->cache_dir = al_strdup(dd);
  if (o->ClientOnionAuthDir) {
    /* Read once at start (not again on SIGHUP). */
    size_t bad = 0;
    const char *why = NULL;
    C->onion_auth = hs_auth_store_load_dir(o->ClientOnionAuthDir, &bad, &why);
    if (!C->onion_auth) {
      log_err("ClientOnionAuthDir \"%s\" is not usable: %s",
              o->ClientOnionAuthDir, why);
      return -1;
    }
    log_notice("Loaded %zu onion service client authorization key%s from "
               "ClientOnionAuthDir (%zu file%s ignored).",
               hs_auth_store_size(C->onion_auth),
               hs_auth_store_size(C->onion_auth) == 1 ? "" : "s", bad,
               bad == 1 ? "" : "s");
  }
  client_cfg_t cc;
  client_cfg_fill(o, &cc);
  C->client = client_new(&cc);
  return C->client ? 0 : -1;
}

static void app_client_free(void);

int
app_client_init(void)
{
  const allium_options_t *o = app_state()->opts;
  C = al_calloc(1, sizeof(*C));
  if (parse_changeable(C, o) < 0 || resolve_dir_servers(o) < 0) {
    app_client_free();
    return ALLIUM_EXIT_CONFIG;
  }
  char *why = NULL;
  if (hs_service_config_parse(o->HiddenServiceOptions, &C->services,
                              &why) < 0) {
    log_err("%s", why ? why : "Invalid onion service configuration");
    al_free(why);
    app_client_free();
    return ALLIUM_EXIT_CONFIG;
  }
  if (C->n_ports == 0 && C->services->n == 0) {
    log_info("No SocksPort, HTTPTunnelPort or HiddenServiceDir: the client "
             "role is off.");
    app_client_free();
    return 0;
  }
  if (client_objects_new(o) < 0) {
    app_client_free();
    return ALLIUM_EXIT_RUNTIME;
  }
  char *err = NULL;
  if (client_open_listeners(C->client, &err) < 0) {
    log_err("Failed to open a client listener: %s", err ? err : "unknown");
    al_free(err);
    app_client_free();
    return ALLIUM_EXIT_RUNTIME;
  }
  return 0;
}

void
app_client_start(void)
{
  const allium_options_t *o = app_state()->opts;
  if (!C || !C->client)
    return;
  if (o->DisableNetwork) {
    log_notice("DisableNetwork is set: not bootstrapping.");
    return;
  }
  dir_boot_cfg_t bc;
  memset(&bc, 0, sizeof(bc));
  bc.base = evloop_base();
  bc.tls = C->tls;
  bc.auths = C->dirs.auths;
  bc.n_auths = C->dirs.n_auths;
  bc.fallbacks = C->dirs.fallbacks;
  bc.n_fallbacks = C->dirs.n_fallbacks;
  /* auto means microdescriptors, as in tor. */
  bc.use_microdescs = o->UseMicrodescriptors != 0;
  bc.cache_dir = C->cache_dir;
  bc.fetch_early = o->FetchDirInfoEarly || o->FetchDirInfoExtraEarly;
  bc.testing_network = o->TestingTorNetwork != 0;
  dir_boot_cbs_t cbs = { on_dirinfo, NULL };
  C->boot = dir_boot_new(&bc, C->nl, &cbs);
  if (!C->boot || dir_boot_start(C->boot) < 0)
    log_warn("Couldn't start the directory bootstrap.");
}

struct client_t *
app_client_get(void)
{
  return C ? C->client : NULL;
}

void
app_client_log_status(void)
{
  if (C && C->client)
    client_log_status(C->client);
}

static void
app_client_free(void)
{
  if (!C)
    return;
  /* Users before what they use: the client and the directory bootstrap
   * hold the channel manager and the nodelist. */
  client_free(C->client);
  hs_auth_store_free(C->onion_auth);
  hs_service_configs_free(C->services);
  dir_boot_free(C->boot);
  chanmgr_free(C->cm);
  nodelist_free(C->nl);
  tls_context_free(C->tls);
  free_changeable(C);
  dir_servers_clear(&C->dirs);
  al_free(C->state_file);
  al_free(C->cache_dir);
  al_free(C);
}

struct client_t *
app_client_runtime(void)
{
  return C ? C->client : NULL;
}

void
app_client_shutdown(void)
{
  app_client_free();
}

/* Options whose change means new node rules for new circuits. */
static const char *const node_options[] = {
  "EntryNodes", "ExitNodes", "ExcludeNodes", "ExcludeExitNodes",
  "StrictNodes", "EnforceDistinctSubnets", NULL
};

/* SIGHUP: read ClientOnionAuthDir again (tor does); an unusable folder
 * keeps the keys in use. */
static void
reload_onion_auth(const allium_options_t *o)
{
  hs_auth_store_t *fresh = NULL;
  if (o->ClientOnionAuthDir) {
    size_t bad = 0;
    const char *why = NULL;
    fresh = hs_auth_store_load_dir(o->ClientOnionAuthDir, &bad, &why);
    if (!fresh) {
      log_warn("ClientOnionAuthDir \"%s\" is not usable: %s; keeping the "
               "keys loaded before.", o->ClientOnionAuthDir, why);
      return;
    }
    log_notice("Reloaded %zu onion service client authorization key%s "
               "from ClientOnionAuthDir (%zu file%s ignored).",
               hs_auth_store_size(fresh),
               hs_auth_store_size(fresh) == 1 ? "" : "s", bad,
               bad == 1 ? "" : "s");
  }
  client_set_onion_auth(C->client, fresh);
  hs_auth_store_free(C->onion_auth);
  C->onion_auth = fresh;
}

int
app_client_reconfigure(const allium_options_t *oldo,
                       const allium_options_t *newo)
{
  if (!C || !C->client) {
    app_client_t probe;
    memset(&probe, 0, sizeof(probe));
    int r = parse_changeable(&probe, newo);
    if (r == 0 && probe.n_ports)
      log_warn("SocksPort / HTTPTunnelPort now open a port, but the client "
               "role was off at start: that needs a restart.");
    free_changeable(&probe);
    return r;
  }
  app_client_t *old = al_calloc(1, sizeof(*old));
  if (parse_changeable(old, newo) < 0) {
    free_changeable(old);
    al_free(old);
    return -1;
  }
  reload_onion_auth(newo);
  if (!options_same_value(oldo, newo, "HiddenServiceDir"))
    log_warn("The onion service configuration changed: that needs a "
             "restart (the running services are unchanged).");
  bool nodes_changed = false;
  for (size_t i = 0; node_options[i]; i++)
    if (!options_same_value(oldo, newo, node_options[i]))
      nodes_changed = true;
  swap_changeable(C, old);   /* C: the new values; old: the running ones */
  client_cfg_t cc;
  client_cfg_fill(newo, &cc);
  int failed = client_reconfigure(C->client, &cc, nodes_changed);
  if (failed > 0)
    log_warn("%d new client port%s could not be opened (see above).",
             failed, failed == 1 ? "" : "s");
  free_changeable(old);   /* no longer borrowed by the client */
  al_free(old);
  return 0;
}
