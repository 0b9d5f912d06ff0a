/* app_signals.c -- what the daemon does on signals (tor-manual SIGNALS):
 * SIGTERM/SIGINT exit cleanly, SIGHUP reloads the configuration from the
 * same command line, SIGUSR1 logs a status summary, SIGPIPE is ignored. */
#define LOG_MODULE "main"
#include "allium/app/main/exitcodes.h"
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
  (void)app_reload_config();
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

static int
str_differs(const char *a, const char *b)
{
  if (!a || !b)
    return a != b;
  return strcmp(a, b) != 0;
}

/* Options that need a restart: warn and keep the running values. */
static void
keep_unchangeable(allium_options_t *newo, const allium_options_t *oldo)
{
  static const struct { const char *name; size_t off; } strs[] = {
    { "DataDirectory", offsetof(allium_options_t, DataDirectory) },
    { "PidFile", offsetof(allium_options_t, PidFile) },
    { "User", offsetof(allium_options_t, User) },
  };
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
    char **np = (char **)((char *)newo + strs[i].off);
    char *const *op = (char *const *)((const char *)oldo + strs[i].off);
    if (str_differs(*np, *op)) {
      log_warn("Changing %s requires a restart; keeping the old value.",
               strs[i].name);
      al_free(*np);
      *np = *op ? al_strdup(*op) : NULL;
    }
  }
  if (newo->RunAsDaemon != oldo->RunAsDaemon) {
    log_warn("Changing RunAsDaemon requires a restart; keeping the old value.");
    newo->RunAsDaemon = oldo->RunAsDaemon;
  }
}

int
app_reload_config(void)
{
  app_state_t *st = app_state();
  allium_options_t *newo = NULL;
  char *err = NULL;
  cmdline_flags_t flags;
  memset(&flags, 0, sizeof(flags));
  if (options_load(st->argc, st->argv, &newo, &err, &flags) < 0 || !newo) {
    log_warn("Reloading the configuration failed: %s. Keeping the old "
             "configuration.", err ? err : "unknown error");
    al_free(err);
    options_free(newo);
    return -1;
  }
  if (app_logging_apply(newo, &err) < 0) {
    log_warn("Reloading the configuration failed: %s. Keeping the old "
             "configuration.", err);
    al_free(err);
    options_free(newo);
    return -1;
  }
  keep_unchangeable(newo, st->opts);
  options_free(st->opts);
  st->opts = newo;
  st->flags = flags;
  log_notice("Received reload signal (hup). Reloading config.");
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
}
