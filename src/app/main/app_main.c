/* app_main.c -- allium's top level: command-line commands (--help,
 * --version, --list-options, --verify-config, --dump-config, --keygen,
 * --list-fingerprint, --hash-password), then the daemon: subsystems,
 * main loop, shutdown.
 * Command names and messages follow tor(1) (no torspec section). */
#define LOG_MODULE "main"
#include "allium/app/main/app_main.h"
#include "allium/app/main/exitcodes.h"
#include "allium/app/main/privs.h"
#include "allium/app/main/daemon.h"
#include "allium/app/main/sdnotify.h"
#include "allium/app/main/subsystems.h"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/feature/control/control_auth.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app_state.h"
#include "config.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define ALLIUM_VERSION_LINE \
  "allium " PACKAGE_VERSION " (speaks Tor link protocols 4-5)"

static void
print_usage(FILE *f)
{
  fprintf(f,
    "Usage: allium [-f FILE] [--defaults-torrc FILE] [COMMAND] [--Option value ...]\n"
    "\n"
    "allium is an onion router speaking the Tor protocol.  Without a COMMAND it\n"
    "runs as a daemon until SIGTERM or SIGINT.\n"
    "\n"
    "Options:\n"
    "  -f FILE                  read the configuration from FILE\n"
    "                           (default " ALLIUM_DEFAULT_TORRC ")\n"
    "  --defaults-torrc FILE    read defaults from FILE\n"
    "                           (default " ALLIUM_DEFAULT_TORRC_DEFAULTS ")\n"
    "  --ignore-missing-torrc   a missing -f FILE is not an error\n"
    "  --Option value           set any configuration option (see --list-options)\n"
    "\n"
    "Commands:\n"
    "  -h, --help               show this help and exit\n"
    "  --version                show the version and exit\n"
    "  --list-options           list every configuration option and exit\n"
    "  --verify-config          check the configuration and exit\n"
    "  --dump-config [short|full]  print the configuration (non-default or\n"
    "                           all options) and exit\n"
    "  --keygen                 create or load the relay keys in\n"
    "                           DataDirectory/keys, print the fingerprints, exit\n"
    "  --list-fingerprint       same as --keygen (tor's name)\n"
    "  --hash-password PASSWORD print the hash of PASSWORD for\n"
    "                           HashedControlPassword and exit\n"
    "\n"
    "Exit status: 0 success, 1 configuration or usage error, 2 run-time\n"
    "failure, 3 could not drop privileges.  See allium(1).\n");
}

/* --hash-password: the "16:" line HashedControlPassword takes (control-spec
 * 5.1), like tor prints it. */
static int
print_password_hash(const char *pw)
{
  if (crypto_global_init() < 0) {
    log_err("Couldn't initialise the crypto library.");
    return ALLIUM_EXIT_RUNTIME;
  }
  char *h = control_password_hash((const uint8_t *)pw, strlen(pw));
  printf("%s\n", h);
  al_free(h);
  return ALLIUM_EXIT_OK;
}

/* Commands that print to stdout: keep the log quiet (warnings only, on
 * stderr) so their output stays machine-readable. */
static int
argv_has_quiet_command(int argc, char **argv)
{
  static const char *const quiet[] = { "--version", "--help", "-h",
    "--list-options", "--list-torrc-options", "--keygen", "--list-fingerprint",
    "--dump-config", "--hash-password", NULL };
  for (int i = 1; i < argc; i++)
    for (int k = 0; quiet[k]; k++)
      if (!strcmp(argv[i], quiet[k]))
        return 1;
  return 0;
}

void
app_log_banner(void)
{
  struct utsname u;
  const char *sys = uname(&u) == 0 ? u.sysname : "unknown";
  log_notice("allium %s running on %s with Libevent %s, %s and libsodium %s.",
             PACKAGE_VERSION, sys, event_get_version(),
             OpenSSL_version(OPENSSL_VERSION), sodium_version_string());
  const char *file = app_options_file();
  if (access(file, F_OK) == 0)
    log_notice("Read configuration file \"%s\".", file);
  else
    log_notice("Configuration file \"%s\" not present, using reasonable "
               "defaults.", file);
}

/* The daemon proper: start the subsystems, run the loop, shut down. */
static int
run_daemon(void)
{
  app_state_t *st = app_state();
  st->start_msec = evloop_monotonic_msec();
  int r = subsystems_init_all();
  if (r) {
    daemon_finish(r);
    return r;
  }
  bootstrap_reset();
  bootstrap_report(BOOTSTRAP_STARTING);
  app_client_start();
  app_relay_start();
  app_control_start();
  daemon_finish(ALLIUM_EXIT_OK);
  st->exit_status = ALLIUM_EXIT_OK;
  /* systemd Type=notify: ready once the main loop runs (as tor). */
  if (sdnotify_open() > 0) {
    (void)sdnotify_watchdog_start();
    (void)sdnotify_send("READY=1");
  }
  if (evloop_run() < 0) {
    log_err("The main loop failed.");
    st->exit_status = ALLIUM_EXIT_RUNTIME;
  }
  (void)sdnotify_send("STOPPING=1");
  sdnotify_close();
  subsystems_shutdown_all();
  return st->exit_status;
}

/* Handle the command flags; returns -1 when none was given (run the
 * daemon), else the exit status. */
static int
run_command(const cmdline_flags_t *fl, const allium_options_t *o)
{
  if (fl->verify_config) {
    printf("Configuration was valid\n");
    return ALLIUM_EXIT_OK;
  }
  if (fl->dump_config) {
    int full = fl->dump_config_mode && !strcmp(fl->dump_config_mode, "full");
    char *text = full ? options_dump_full(o) : options_dump(o);
    fputs(text ? text : "", stdout);
    al_free(text);
    return ALLIUM_EXIT_OK;
  }
  if (fl->keygen || fl->list_fingerprint)
    return app_do_keygen(o);
  return -1;
}

int
app_main(int argc, char **argv)
{
  app_state_t *st = app_state();
  memset(st, 0, sizeof(*st));
  st->argc = argc;
  st->argv = argv;
  if (argv_has_quiet_command(argc, argv))
    log_sink_add(LOG_SINK_STDERR, SEV_WARN, SEV_ERR, NULL, NULL, NULL);

  char *err = NULL;
  int r = options_load(argc, argv, &st->opts, &err, &st->flags);
  const cmdline_flags_t *fl = &st->flags;
  if (r == 0 && fl->help) {
    print_usage(stdout);
  } else if (r == 0 && fl->version) {
    printf("%s\n", ALLIUM_VERSION_LINE);
  } else if (r == 0 && fl->list_options) {
    options_print_list(stdout);
  } else if (r == 0 && fl->hash_password) {
    r = print_password_hash(fl->hash_password);
  } else if (r < 0 || !st->opts) {
    log_warn("Failed to parse/validate config: %s", err ? err : "unknown error");
    log_err("Reading config failed--see warnings above. "
            "For usage, try -h.");
    r = ALLIUM_EXIT_CONFIG;
  } else if (privs_check_user(st->opts->User, &err) < 0) {
    log_err("%s", err);
    r = ALLIUM_EXIT_CONFIG;
  } else if (st->opts->DisableDebuggerAttachment &&
             privs_disable_debugger_attachment() < 0) {
    log_err("DisableDebuggerAttachment is set, but it could not be "
            "applied; set it to 0 to run anyway.");
    r = ALLIUM_EXIT_RUNTIME;
  } else if ((r = run_command(fl, st->opts)) < 0) {
    r = run_daemon();
  }
  fflush(stdout);
  al_free(err);
  options_free(st->opts);
  al_free(st->datadir);
  al_free(st->user);
  log_sinks_reset_default();
  return r;
}
