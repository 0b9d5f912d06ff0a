/* exitcodes.h -- the process exit statuses of allium, documented in
 * allium(1), EXIT STATUS.  Every path out of app_main() returns one of these.
 *
 *   0  ALLIUM_EXIT_OK       success (clean shutdown on SIGTERM/SIGINT too)
 *   1  ALLIUM_EXIT_CONFIG   bad command line or invalid configuration
 *   2  ALLIUM_EXIT_RUNTIME  run-time failure: DataDirectory unusable, key
 *                           error, can't bind a port, can't daemonize, ...
 *   3  ALLIUM_EXIT_PRIVS    could not switch to the User or drop
 *                           capabilities (or the drop did not verify)
 */
#ifndef ALLIUM_APP_MAIN_EXITCODES_H
#define ALLIUM_APP_MAIN_EXITCODES_H

#define ALLIUM_EXIT_OK 0
#define ALLIUM_EXIT_CONFIG 1
#define ALLIUM_EXIT_RUNTIME 2
#define ALLIUM_EXIT_PRIVS 3

/** Internal failure kinds; app_exit_code() maps them to exit statuses. */
typedef enum app_err_t {
  APP_ERR_NONE = 0,
  APP_ERR_USAGE,      /* unknown flag, missing argument */
  APP_ERR_CONFIG,     /* configuration file or option invalid */
  APP_ERR_DATADIR,    /* DataDirectory missing/unsafe/uncreatable */
  APP_ERR_KEYS,       /* relay keys unreadable or not creatable */
  APP_ERR_BIND,       /* a listener could not be opened */
  APP_ERR_DAEMON,     /* fork/setsid/PidFile failure */
  APP_ERR_INTERNAL,   /* libevent/crypto init and other run-time errors */
  APP_ERR_PRIVS,      /* User/capability switch failed */
} app_err_t;

/** The exit status for err (ALLIUM_EXIT_*); unknown values map to
 * ALLIUM_EXIT_RUNTIME. */
int app_exit_code(app_err_t err);

/** Static name of an exit status ("ok", "config", "runtime", "privs") or
 * "unknown". */
const char *app_exit_code_name(int code);

#endif
