/* control.h -- the control port (control-spec): ControlPort / ControlSocket
 * listeners, authentication (none, COOKIE, SAFECOOKIE, HASHEDPASSWORD),
 * the commands and the asynchronous events.
 *
 * What the commands need from the rest of the daemon comes from two
 * places: the control bus (core/mainloop/ctlbus.h: events, GETINFO keys
 * registered by each module) and the backend below, which the daemon
 * (src/app) implements for configuration and signals.  Everything runs on
 * the event loop of cfg->base.
 */
#ifndef ALLIUM_FEATURE_CONTROL_CONTROL_H
#define ALLIUM_FEATURE_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/feature/control/control_proto.h"

struct event_base;

/** Reply codes the backend returns (control-spec 4). */
#define CONTROL_OK 250
#define CONTROL_ERR_UNRECOGNIZED 552  /**< unknown option / key */
#define CONTROL_ERR_VALUE 513         /**< unacceptable value */
#define CONTROL_ERR_TRANSITION 553    /**< can't change that while running */
#define CONTROL_ERR_INTERNAL 551

/** One configuration value for GETCONF. */
typedef struct control_conf_value_t {
  char *key;     /**< canonical spelling */
  char *value;   /**< NULL: unset / default (sent as "250 Key") */
} control_conf_value_t;

typedef struct control_backend_t {
  void *arg;
  /** GETCONF key: append its values (one per line of a line list; one
   * with value NULL when unset) to *vals / *n (al_realloc'd array, caller
   * frees).  0, or CONTROL_ERR_UNRECOGNIZED. */
  int (*getconf)(void *arg, const char *key, control_conf_value_t **vals,
                 size_t *n);
  /** SETCONF (reset false) / RESETCONF (reset true): args are KEY or
   * KEY=VALUE tokens; a key without value goes back to its default.
   * All or nothing.  CONTROL_OK, or an error code with *err (caller
   * frees). */
  int (*setconf)(void *arg, const control_arg_t *args, size_t n, bool reset,
                 char **err);
  /** SAVECONF [FORCE]: CONTROL_OK or an error code with *err. */
  int (*saveconf)(void *arg, bool force, char **err);
  /** LOADCONF: the torrc text replaces the configuration (as a reload).
   * CONTROL_OK or an error code with *err. */
  int (*loadconf)(void *arg, const char *text, char **err);
  /** SIGNAL name (upper case, already checked against the signal names):
   * 0, or -1 when it can't be done. */
  int (*signal)(void *arg, const char *name);
} control_backend_t;

typedef struct control_cfg_t {
  struct event_base *base;            /**< borrowed */
  /** CookieAuthentication: the cookie file (copied; NULL: no cookie). */
  const char *cookie_path;
  bool cookie_group_readable;         /**< CookieAuthFileGroupReadable */
  /** HashedControlPassword values ("16:..."), copied. */
  const char *const *hashed_passwords;
  size_t n_hashed_passwords;
  /** Seconds an unauthenticated connection may stay (0: 60). */
  uint32_t auth_timeout_sec;
  /** The version string for PROTOCOLINFO and GETINFO version. */
  const char *version;
  control_backend_t backend;
} control_cfg_t;

typedef struct control_t control_t;

/** New control port (no listener yet).  Writes a fresh cookie when
 * cookie_path is set.  NULL with *err (caller frees) on failure. */
control_t *control_new(const control_cfg_t *cfg, char **err);

/** Open one listener from a ControlPort value ("9051", "127.0.0.1:9051",
 * "auto", "unix:/path" with flags GroupWritable / WorldWritable /
 * RelaxDirModeCheck) or, with is_socket, a ControlSocket path.  Logs
 * "Opened Control listener connection (ready) on ADDR" at notice.  0, or -1
 * with *err (caller frees). */
int control_listen(control_t *c, const char *value, bool is_socket,
                   char **err);

/** The "ADDR:PORT" (or "unix:PATH") of listener i, for
 * ControlPortWriteToFile and net/listeners/control; NULL past the end. */
const char *control_listener_addr(const control_t *c, size_t i);

/** Number of open controller connections (authenticated or not). */
size_t control_n_conns(const control_t *c);

/** Close every listener and connection (files made for unix sockets and
 * the cookie are removed).  NULL ok. */
void control_free_(control_t *c);
#define control_free(p) do { control_free_(p); (p) = NULL; } while (0)

#endif
