/* app_signals.c -- what the daemon does on signals (tor-manual SIGNALS):
 * SIGTERM/SIGINT exit cleanly, SIGHUP reopens the log files (logrotate)
 * and reloads the configuration from the same command line (telling
 * systemd RELOADING=1 ... READY=1), SIGUSR1 logs a status summary,
 * SIGPIPE is ignored. */
#define LOG_MODULE "main"
#include "allium/app/main/exitcodes.h"
#include "allium/app/main/sdnotify.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app_state.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static evloop_handle_t *sig_handles[4];

static void
on_exit_signal(int signum, void *arg)
{
  (void)arg;
  log_notice("Interrupt: exiting cleanly.");
  log_info("Caught signal %d (%s).", signum, strsignal(signum));
  app_state()->exit_status = ALLIUM_EXIT_OK;
  evloop_exit();
}

static void
on_hup(int signum, void *arg)
{
  (void)signum; (void)arg;
  /* app_reload_config() reopens the log files first, whatever the reload
   * does (logrotate; also for SIGNAL RELOAD from a controller). */
  (void)sdnotify_send_reloading();
  (void)app_reload_config();
  (void)sdnotify_send("READY=1");
}

static void
on_usr1(int signum, void *arg)
{
  (void)signum; (void)arg;
  app_log_status();
}

int
app_signals_init(void)
{
  signal(SIGPIPE, SIG_IGN);
  static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
  static const evloop_cb_fn cbs[4] = { on_exit_signal, on_exit_signal, on_hup,
                                       on_usr1 };
  for (int i = 0; i < 4; i++) {
    sig_handles[i] = evloop_signal_add(sigs[i], cbs[i], NULL);
    if (!sig_handles[i]) {
      log_err("Couldn't install the handler for signal %d.", sigs[i]);
      return -1;
    }
  }
  return 0;
}

void
app_signals_shutdown(void)
{
  for (int i = 0; i < 4; i++)
    evloop_handle_free(sig_handles[i]);
}

/* Options a running daemon cannot change (tor(1) lists several of them as
 * "cannot be changed while tor is running"): a reload keeps the running
 * values and says which need a restart.  Names not in the table yet are
 * skipped. */
static const char *const restart_options[] = {
  "DataDirectory", "CacheDirectory", "KeyDirectory", "PidFile", "User",
  "RunAsDaemon", "Sandbox", "DisableDebuggerAttachment", "DisableNetwork",
  "UseMicrodescriptors", "DirAuthority", "AlternateDirAuthority",
  "AlternateBridgeAuthority", "FallbackDir", "UseDefaultFallbackDirs",
  "TestingTorNetwork", "FetchDirInfoEarly", "FetchDirInfoExtraEarly",
  "UseEntryGuards", "NumEntryGuards", "GuardLifetime", "KeepalivePeriod",
  "ClientUseIPv4", "ClientUseIPv6", "ClientPreferIPv6ORPort", "ConnLimit",
  "MaxMemInQueues", "ConfluxEnabled", "ConnectionPadding",
  "ReducedConnectionPadding", "CircuitPadding", "LearnCircuitBuildTimeout",
  "ORPort", "Address", "AddressDisableIPv6", "NumCPUs", "AssumeReachable",
  "DirCache", "VanguardsLiteEnabled", "MetricsPort",
  "ControlPort", "ControlSocket", "ControlSocketsGroupWritable",
  "CookieAuthentication", "CookieAuthFile", "CookieAuthFileGroupReadable",
  "HashedControlPassword", "ControlPortWriteToFile",
  "ControlPortFileGroupReadable",
  NULL
};

char *
app_options_needing_restart(allium_options_t *newo,
                            const allium_options_t *oldo)
{
  char *names = NULL;
  for (size_t i = 0; restart_options[i]; i++) {
    if (options_same_value(newo, oldo, restart_options[i]))
      continue;
    char *n = al_asprintf("%s%s%s", names ? names : "", names ? ", " : "",
                          restart_options[i]);
    al_free(names);
    names = n;
  }
  return names;
}

static void
keep_unchangeable(allium_options_t *newo, const allium_options_t *oldo)
{
  char *kept = options_keep_values(newo, oldo, restart_options);
  if (kept)
    log_warn("Changing %s needs a restart; keeping the running value%s.",
             kept, strchr(kept, ',') ? "s" : "");
  al_free(kept);
}

int
app_options_apply(allium_options_t *newo)
{
  app_state_t *st = app_state();
  char *err = NULL;
  /* The relay's and the client's new options are parsed before anything
   * changes: an error keeps the whole old configuration. */
  if (app_relay_check_reload(newo) < 0 ||
      app_client_reconfigure(st->opts, newo) < 0) {
    app_relay_abort_reload();
    return -1;
  }
  if (app_logging_apply(newo, &err) < 0) {
    log_warn("Couldn't apply the new Log lines: %s. Keeping the old log "
             "destinations.", err);
    al_free(err);
  }
  app_relay_reconfigure(st->opts, newo);
  app_metrics_reconfigure(newo);
  options_free(st->opts);
  st->opts = newo;
  return 0;
}

int
app_reload_config(void)
{
  app_state_t *st = app_state();
  allium_options_t *newo = NULL;
  char *err = NULL;
  cmdline_flags_t flags;
  memset(&flags, 0, sizeof(flags));
  /* logrotate: after a rename the files are recreated even when the Log
   * lines did not change or the new configuration is refused (tor does
   * too). */
  log_sinks_reopen();
  if (options_load(st->argc, st->argv, &newo, &err, &flags) < 0 || !newo) {
    log_warn("Reloading the configuration failed: %s. Keeping the old "
             "configuration.", err ? err : "unknown error");
    al_free(err);
    options_free(newo);
    return -1;
  }
  keep_unchangeable(newo, st->opts);
  if (app_options_apply(newo) < 0) {
    log_warn("Reloading the configuration failed (see above). Keeping the "
             "old configuration.");
    options_free(newo);
    return -1;
  }
  /* After the Log lines are applied: the new sinks see it too. */
  log_notice("Received reload signal (hup). Reloading config.");
  st->flags = flags;
  return 0;
}

/* Resident set size in kB from /proc/self/statm, or -1. */
static long
rss_kb(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return -1;
  long size = 0, resident = -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2)
    resident = -1;
  fclose(f);
  if (resident < 0)
    return -1;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

void
app_log_status(void)
{
  app_state_t *st = app_state();
  uint64_t up = (evloop_monotonic_msec() - st->start_msec) / 1000;
  log_notice("Status: uptime %llu:%02llu:%02llu, options file \"%s\", "
             "%d log sink%s, RSS %ld kB.",
             (unsigned long long)(up / 3600), (unsigned long long)(up / 60 % 60),
             (unsigned long long)(up % 60), app_options_file(),
             log_sinks_count(), log_sinks_count() == 1 ? "" : "s", rss_kb());
  app_client_log_status();
  app_relay_log_status();
}
