/* app_state.h -- (internal to src/app/main) the running daemon's state,
 * shared by app_main.c, subsystems.c, app_signals.c and app_setup.c. */
#ifndef ALLIUM_SRC_APP_MAIN_APP_STATE_H
#define ALLIUM_SRC_APP_MAIN_APP_STATE_H

#include <stdint.h>

#include "allium/app/config/options.h"

typedef struct app_state_t {
  int argc;
  char **argv;                /* the command line, re-read on SIGHUP */
  allium_options_t *opts;     /* current options (owned) */
  cmdline_flags_t flags;      /* from the latest successful load */
  uint64_t start_msec;        /* evloop_monotonic_msec() at start-up */
  char *pidfile;              /* PidFile as written at start (owned) */
  char *datadir;              /* DataDirectory in use (owned; NULL = none) */
  char *user;                 /* User switched to (owned; NULL = none) */
  struct relay_keys_t *keys;  /* relay key set when ORPort is set (owned) */
  int exit_status;            /* set by the signal handlers */
  uint64_t fd_limit;          /* RLIMIT_NOFILE in force (app_fdlimit_setup) */
  uint64_t app_conn_cap;      /* most application connections (0: unset) */
} app_state_t;

/** The single state object of this process. */
app_state_t *app_state(void);

/** The configuration file in use, for messages (never NULL). */
const char *app_options_file(void);

/** Install the Log lines and SafeLogging of o.  0, or -1 with *errmsg
 * (caller frees); on failure the previous sinks stay. */
int app_logging_apply(const allium_options_t *o, char **errmsg);

/** Log the start-up banner (versions, configuration file) at notice. */
void app_log_banner(void);

/** Raise RLIMIT_NOFILE, check ConnLimit, compute the application
 * connection cap (0 or an exit status). */
int app_fdlimit_setup(const allium_options_t *o);

/** Check/create the DataDirectory (exit status on failure, 0 on success). */
int app_datadir_setup(const allium_options_t *o);

/** When o configures an ORPort: load or create the relay keys into
 * app_state()->keys and log the fingerprints.  0 or an exit status. */
int app_keys_setup(const allium_options_t *o);
/** Free app_state()->keys. */
void app_keys_shutdown(void);

/** --keygen / --list-fingerprint; returns an exit status. */
int app_do_keygen(const allium_options_t *o);

/** Port option values of o (SocksPort, ORPort, DirPort, ControlPort,
 * HTTPTunnelPort), as a new array of borrowed strings (caller al_free()s
 * the array only); *n_out receives the count. */
const char **app_port_values(const allium_options_t *o, size_t *n_out);

/** The client role (app_client.c): build the client objects and bind the
 * SocksPort / HTTPTunnelPort listeners when any is configured (a
 * subsystem: 0 or an exit status); start bootstrapping (called once the
 * main loop is about to run); log the client's status line (SIGUSR1);
 * free everything. */
int app_client_init(void);
void app_client_start(void);
void app_client_log_status(void);
void app_client_shutdown(void);
/** SIGHUP: apply the client options that can change while running
 * (SocksPort / HTTPTunnelPort listeners, their flags, SocksPolicy, the
 * node lists and StrictNodes, the circuit and stream timeouts) from newo;
 * oldo is the running configuration.  Everything is parsed first: -1
 * (logged) changes nothing. */
int app_client_reconfigure(const allium_options_t *oldo,
                           const allium_options_t *newo);

/** The relay role (app_relay.c): when ORPort is set, build the relay
 * runtime and bind the ORPorts (a subsystem, before privileges drop: 0 or
 * an exit status); start accepting (once the main loop is about to run);
 * log the heartbeat line (SIGUSR1); free everything. */
int app_relay_init(void);
/** SIGHUP (app_relay.c): whether newo's relay options (ContactInfo,
 * MyFamily) are acceptable (-1, logged, rejects the reload); then apply
 * Nickname, HeartbeatPeriod, ContactInfo, MyFamily, the Bandwidth* options
 * and PublishServerDescriptor, republishing when the descriptor changed;
 * the exit options (app_exit.c).  app_relay_abort_reload() forgets what
 * app_relay_check_reload() prepared when the reload is rejected later. */
int app_relay_check_reload(const allium_options_t *newo);
void app_relay_abort_reload(void);
void app_relay_reconfigure(const allium_options_t *oldo, const allium_options_t *newo);
void app_relay_start(void);
void app_relay_log_status(void);
void app_relay_shutdown(void);

/** The running client and relay objects (NULL when that role is off),
 * for app_metrics.c. */
struct client_t *app_client_runtime(void);
struct relay_run_t *app_relay_runtime(void);

/** The MetricsPort (app_metrics.c): parse MetricsPort / MetricsPortPolicy
 * and bind the listeners (a subsystem, before privileges drop: 0 or an
 * exit status); SIGHUP: take newo's MetricsPortPolicy (a changed
 * MetricsPort needs a restart); close everything. */
int app_metrics_init(void);
void app_metrics_reconfigure(const allium_options_t *newo);
void app_metrics_shutdown(void);

/** Register the SIGTERM/SIGINT/SIGHUP/SIGUSR1 handlers; ignore SIGPIPE. */
int app_signals_init(void);
void app_signals_shutdown(void);

/** The SIGHUP work: reload, keep the old config on error.  0 or -1. */
int app_reload_config(void);
/** Make newo (owned from now on, also on failure: then freed by the
 * caller) the running configuration: the roles are reconfigured, the Log
 * lines applied.  0, or -1 (logged) when a role refused it. */
int app_options_apply(allium_options_t *newo);
/** The names of the options that need a restart and differ between newo
 * and oldo, as "A, B" (caller frees), or NULL. */
char *app_options_needing_restart(allium_options_t *newo,
                                  const allium_options_t *oldo);
/** The client object when the client role runs, else NULL. */
struct client_t *app_client_get(void);
/** The control port (app_control.c): bind the ControlPort / ControlSocket
 * listeners (a subsystem, before privileges drop: 0 or an exit status);
 * attach the roles' GETINFO keys once they exist; free everything. */
int app_control_init(void);
void app_control_start(void);
void app_control_shutdown(void);

/** The SIGUSR1 work: log a status summary at notice. */
void app_log_status(void);

#endif
