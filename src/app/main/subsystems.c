/* subsystems.c -- the daemon's subsystems in start-up order (shutdown runs
 * in reverse).  No torspec section: process structure. */
#define LOG_MODULE "main"
#include "allium/app/main/subsystems.h"
#include "allium/app/main/daemon.h"
#include "allium/app/main/exitcodes.h"
#include "allium/app/main/privs.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app_state.h"

static int
log_init(void)
{
  char *err = NULL;
  if (app_logging_apply(app_state()->opts, &err) < 0) {
    log_err("%s", err);
    al_free(err);
    return ALLIUM_EXIT_CONFIG;
  }
  app_log_banner();
  return 0;
}

static void
log_shutdown(void)
{
  log_sinks_reset_default();
}

static int
fdlimit_init(void)
{
  return app_fdlimit_setup(app_state()->opts);
}

static int
daemon_init(void)
{
  if (!app_state()->opts->RunAsDaemon)
    return 0;
  return daemon_start() < 0 ? ALLIUM_EXIT_RUNTIME : 0;
}

static int
crypto_init(void)
{
  if (crypto_global_init() < 0) {
    log_err("Couldn't initialize the crypto libraries.");
    return ALLIUM_EXIT_RUNTIME;
  }
  return 0;
}

static int
loop_init(void)
{
  return evloop_init() < 0 ? ALLIUM_EXIT_RUNTIME : 0;
}

static int
datadir_init(void)
{
  return app_datadir_setup(app_state()->opts);
}

static int
keys_init(void)
{
  return app_keys_setup(app_state()->opts);
}

static int
pidfile_init(void)
{
  app_state_t *st = app_state();
  if (!st->opts->PidFile)
    return 0;
  char *err = NULL;
  if (pidfile_write(st->opts->PidFile, &err) < 0) {
    log_err("%s", err);
    al_free(err);
    return ALLIUM_EXIT_RUNTIME;
  }
  st->pidfile = al_strdup(st->opts->PidFile);
  return 0;
}

static void
pidfile_shutdown(void)
{
  app_state_t *st = app_state();
  pidfile_remove(st->pidfile);
  al_free(st->pidfile);
}

/* Listeners are opened here, as root, before privileges are dropped: the
 * client role's SocksPort / HTTPTunnelPort (the relay role adds its own in
 * a later issue). */
static int
listeners_init(void)
{
  return app_client_init();
}

static int
privs_init(void)
{
  app_state_t *st = app_state();
  const char *user = st->opts->User;
  if (!user || !*user)
    return 0;
  size_t n = 0;
  const char **ports = app_port_values(st->opts, &n);
  int keep = privs_ports_need_bind_service(ports, n);
  al_free(ports);
  if (keep < 0)
    keep = 0;   /* validated by the options layer; be conservative */
  char *err = NULL;
  if (privs_drop(user, st->datadir, keep, &err) < 0) {
    log_err("Couldn't switch to user \"%s\": %s", user, err);
    al_free(err);
    return ALLIUM_EXIT_PRIVS;
  }
  st->user = al_strdup(user);
  return 0;
}

static int
signals_init(void)
{
  return app_signals_init() < 0 ? ALLIUM_EXIT_RUNTIME : 0;
}

/* THE start-up order.  The client and relay roles join here later. */
static const subsys_t subsystems[] = {
  { "log",       log_init,       log_shutdown },
  { "fdlimit",   fdlimit_init,   NULL },   /* RLIMIT_NOFILE, ConnLimit */
  { "daemon",    daemon_init,    NULL },   /* fork before libevent exists */
  { "crypto",    crypto_init,    NULL },
  { "evloop",    loop_init,      evloop_shutdown },
  { "datadir",   datadir_init,   NULL },
  { "keys",      keys_init,      app_keys_shutdown },   /* relays only */
  { "pidfile",   pidfile_init,   pidfile_shutdown },
  { "listeners", listeners_init, app_client_shutdown },
  { "relay",     app_relay_init, app_relay_shutdown },  /* ORPort: binds */
  { "control",   app_control_init, app_control_shutdown }, /* binds */
  { "metrics",   app_metrics_init, app_metrics_shutdown }, /* MetricsPort */
  { "privs",     privs_init,     NULL },   /* after binding, before work */
  { "signals",   signals_init,   app_signals_shutdown },
};
#define N_SUBSYS (sizeof(subsystems) / sizeof(subsystems[0]))

static size_t n_started;

const subsys_t *
subsystems_list(size_t *n_out)
{
  *n_out = N_SUBSYS;
  return subsystems;
}

int
subsystems_init_all(void)
{
  for (size_t i = 0; i < N_SUBSYS; i++) {
    log_debug("Starting subsystem %s.", subsystems[i].name);
    int r = subsystems[i].init ? subsystems[i].init() : 0;
    if (r != 0) {
      log_info("Subsystem %s failed to start (exit status %d).",
               subsystems[i].name, r);
      subsystems_shutdown_all();
      return r;
    }
    n_started = i + 1;
  }
  return 0;
}

void
subsystems_shutdown_all(void)
{
  while (n_started > 0) {
    n_started--;
    log_debug("Stopping subsystem %s.", subsystems[n_started].name);
    if (subsystems[n_started].shutdown)
      subsystems[n_started].shutdown();
  }
}
