/* app_control.c -- the control port in the running daemon (tor(1)
 * ControlPort, ControlSocket, CookieAuthentication, CookieAuthFile,
 * HashedControlPassword, ControlPortWriteToFile, __OwningControllerProcess;
 * control-spec 3).  It builds feature/control's control_t from the
 * options, implements its backend (GETCONF / SETCONF / RESETCONF /
 * SAVECONF / LOADCONF / SIGNAL over the daemon's options and roles) and
 * registers the GETINFO keys only the daemon can answer (config-file,
 * config-text, config/names, net/listeners/...).
 */
#define LOG_MODULE "control"
#include "allium/app/config/options.h"
#include "allium/app/main/exitcodes.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/client/client.h"
#include "allium/feature/control/control.h"
#include "allium/feature/control/control_auth.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app_state.h"
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/** The version controllers see: tor's form (stem parses it), naming
 * allium in the part tor uses for its git tag. */
#define CONTROL_VERSION "0.4.9.0-allium (allium-" PACKAGE_VERSION ")"
/** tor's MAX_SIGNAL_NEWNYM_INTERVAL: NEWNYMs closer than this wait. */
#define NEWNYM_INTERVAL_MSEC 10000

typedef struct app_control_t {
  control_t *ctl;
  char *port_file;                 /* ControlPortWriteToFile written */
  uint64_t last_newnym_msec;
  evloop_handle_t *newnym_timer;
  evloop_handle_t *exit_timer;
  evloop_handle_t *owner_timer;
  long owner_pid;
} app_control_t;

static app_control_t *A;

/* ---- backend: configuration ---- */

static int
be_getconf(void *arg, const char *key, control_conf_value_t **vals,
           size_t *n)
{
  (void)arg;
  const char *canon = NULL;
  char **v = NULL;
  size_t nv = 0;
  if (options_get_strings(app_state()->opts, key, &canon, &v, &nv) < 0)
    return CONTROL_ERR_UNRECOGNIZED;
  size_t add = nv ? nv : 1;
  *vals = al_reallocarray(*vals, *n + add, sizeof(**vals));
  for (size_t i = 0; i < add; i++) {
    (*vals)[*n + i].key = al_strdup(canon);
    (*vals)[*n + i].value = nv ? v[i] : NULL;
  }
  *n += add;
  al_free(v);
  return 0;
}

/* CONF_CHANGED (control-spec 4.1.18): the new values of the keys. */
static void
publish_conf_changed(const control_arg_t *args, size_t n)
{
  if (!ctlev_wanted(CTLEV_CONF_CHANGED))
    return;
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 1u << 20);
  control_reply_line(&w, 650, '-', "CONF_CHANGED");
  for (size_t i = 0; i < n; i++) {
    const char *canon = NULL;
    char **v = NULL;
    size_t nv = 0;
    if (options_get_strings(app_state()->opts, args[i].key, &canon, &v,
                            &nv) < 0)
      continue;
    if (!nv)
      control_reply_line(&w, 650, '-', "%s", canon);
    for (size_t k = 0; k < nv; k++) {
      control_reply_line(&w, 650, '-', "%s=%s", canon, v[k]);
      al_free(v[k]);
    }
    al_free(v);
  }
  control_reply_line(&w, 650, ' ', "OK");
  ctlev_publish_raw(CTLEV_CONF_CHANGED, (const char *)bytes_writer_data(&w),
                    bytes_writer_len(&w));
  bytes_writer_clear(&w);
}

static int
be_setconf(void *arg, const control_arg_t *args, size_t n, bool reset,
           char **err)
{
  (void)arg; (void)reset;
  app_state_t *st = app_state();
  const char **keys = al_calloc(n, sizeof(*keys));
  const char **values = al_calloc(n, sizeof(*values));
  for (size_t i = 0; i < n; i++) {
    keys[i] = args[i].key;
    values[i] = args[i].has_value ? args[i].value : NULL;
  }
  allium_options_t *newo = NULL;
  char *bad = NULL, *why = NULL;
  int code = CONTROL_OK;
  if (options_with_changes(st->opts, keys, values, n, &newo, &bad, &why) <
      0) {
    code = bad ? CONTROL_ERR_UNRECOGNIZED : CONTROL_ERR_VALUE;
    *err = bad ? al_asprintf("Unrecognized option: Unknown option '%s'.  "
                             "Failing.", bad)
               : al_asprintf("Unacceptable option value: %s",
                             why ? why : "invalid");
  } else {
    char *restart = app_options_needing_restart(newo, st->opts);
    if (restart) {
      code = CONTROL_ERR_TRANSITION;
      *err = al_asprintf("Transition not allowed: %s can't be changed "
                         "while allium is running", restart);
      al_free(restart);
      options_free(newo);
    } else if (app_options_apply(newo) < 0) {
      code = CONTROL_ERR_VALUE;
      *err = al_strdup("Unacceptable option value: the running roles "
                       "refused it (see the log)");
      options_free(newo);
    }
  }
  al_free(bad);
  al_free(why);
  al_free(keys);
  al_free(values);
  if (code == CONTROL_OK) {
    log_notice_rl(10, "The controller changed %zu option%s.", n,
                  n == 1 ? "" : "s");
    publish_conf_changed(args, n);
  }
  return code;
}

static int
be_saveconf(void *arg, bool force, char **err)
{
  (void)arg; (void)force;
  const char *file = app_options_file();
  char *body = options_dump(app_state()->opts);
  char *text = al_asprintf("# This file was generated by allium (SAVECONF); "
                           "if you edit it, comments will not be "
                           "preserved\n%s", body ? body : "");
  al_free(body);
  char *tmp = al_asprintf("%s.tmp", file);
  int r = -1;
  FILE *f = fopen(tmp, "w");
  if (f) {
    r = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0)
      r = -1;
    if (r == 0 && rename(tmp, file) != 0)
      r = -1;
  }
  int e = errno;
  if (r < 0) {
    unlink(tmp);
    *err = al_asprintf("Unable to write configuration to disk: %s",
                       strerror(e));
  } else {
    log_notice_rl(10, "Saved the configuration to \"%s\".", file);
  }
  al_free(tmp);
  al_free(text);
  return r < 0 ? CONTROL_ERR_INTERNAL : CONTROL_OK;
}

static int
be_loadconf(void *arg, const char *text, char **err)
{
  (void)arg;
  app_state_t *st = app_state();
  allium_options_t *newo = NULL;
  char *why = NULL;
  if (options_load_from_string(text, &newo, &why) < 0) {
    *err = al_asprintf("Invalid config file: %s", why ? why : "invalid");
    al_free(why);
    return CONTROL_ERR_VALUE;
  }
  char *restart = app_options_needing_restart(newo, st->opts);
  if (restart) {
    *err = al_asprintf("Transition not allowed: %s can't be changed while "
                       "allium is running", restart);
    al_free(restart);
    options_free(newo);
    return CONTROL_ERR_TRANSITION;
  }
  if (app_options_apply(newo) < 0) {
    options_free(newo);
    *err = al_strdup("Invalid config file: the running roles refused it "
                     "(see the log)");
    return CONTROL_ERR_VALUE;
  }
  return CONTROL_OK;
}

/* ---- backend: signals ---- */

static void
exit_now(int what, void *arg)
{
  (void)what; (void)arg;
  app_state()->exit_status = ALLIUM_EXIT_OK;
  evloop_exit();
}

/* Exit once the reply had a moment to leave. */
static void
schedule_exit(void)
{
  if (!A->exit_timer)
    A->exit_timer = evloop_timer_add(100, 0, exit_now, NULL);
}

static void
do_newnym(int what, void *arg)
{
  (void)what; (void)arg;
  evloop_handle_free(A->newnym_timer);
  A->last_newnym_msec = evloop_monotonic_msec();
  struct client_t *c = app_client_get();
  if (c)
    client_newnym(c);
  log_info_rl(10, "NEWNYM: new streams get new circuits.");
}

static int
signal_newnym(void)
{
  uint64_t now = evloop_monotonic_msec();
  if (A->last_newnym_msec &&
      now - A->last_newnym_msec < NEWNYM_INTERVAL_MSEC) {
    if (A->newnym_timer)
      return 0;                              /* one is already waiting */
    uint64_t wait = A->last_newnym_msec + NEWNYM_INTERVAL_MSEC - now;
    log_notice_rl(10, "Rate limiting NEWNYM request: delaying by %llu "
                  "second(s)", (unsigned long long)((wait + 999) / 1000));
    A->newnym_timer = evloop_timer_add((uint32_t)wait, 0, do_newnym, NULL);
    return A->newnym_timer ? 0 : -1;
  }
  do_newnym(0, NULL);
  return 0;
}

static int
be_signal(void *arg, const char *name)
{
  (void)arg;
  if (!strcmp(name, "RELOAD"))
    return app_reload_config();
  if (!strcmp(name, "SHUTDOWN") || !strcmp(name, "HALT")) {
    log_notice("The controller asked allium to %s: exiting cleanly.",
               !strcmp(name, "HALT") ? "halt" : "shut down");
    schedule_exit();
    return 0;
  }
  if (!strcmp(name, "DUMP") || !strcmp(name, "HEARTBEAT")) {
    app_log_status();
    return 0;
  }
  if (!strcmp(name, "DEBUG")) {
    log_sinks_set_min_severity(SEV_DEBUG);
    log_notice_rl(10, "Switched every log to debug level (SIGHUP goes "
                  "back).");
    return 0;
  }
  if (!strcmp(name, "NEWNYM"))
    return signal_newnym();
  if (!strcmp(name, "CLEARDNSCACHE"))
    return 0;                    /* the client keeps no DNS answers */
  if (!strcmp(name, "ACTIVE"))
    return 0;                    /* allium never goes dormant */
  return -1;                     /* DORMANT: no dormant mode */
}

/* ---- GETINFO keys of the daemon ---- */

static char *
listeners_of(const config_line_t *lines, const char *dflt_host)
{
  char *out = al_strdup("");
  for (const config_line_t *l = lines; l; l = l->next) {
    size_t w = strcspn(l->value, " \t");
    char *v = al_strndup(l->value, w);
    char *item;
    if (!strcmp(v, "0"))
      item = NULL;
    else if (!strncmp(v, "unix:", 5) || strchr(v, ':'))
      item = al_asprintf("\"%s\"", v);
    else
      item = al_asprintf("\"%s:%s\"", dflt_host, v);
    if (item) {
      char *n = al_asprintf("%s%s%s", out, out[0] ? " " : "", item);
      al_free(out);
      out = n;
    }
    al_free(item);
    al_free(v);
  }
  return out;
}

static int
getinfo_app(const char *key, void *arg, char **answer, const char **errmsg)
{
  (void)arg;
  app_state_t *st = app_state();
  if (!strcasecmp(key, "config-file")) {
    *answer = al_strdup(app_options_file());
  } else if (!strcasecmp(key, "config-text")) {
    *answer = options_dump(st->opts);
    size_t n = *answer ? strlen(*answer) : 0;
    if (n && (*answer)[n - 1] == '\n')
      (*answer)[n - 1] = '\0';
  } else if (!strcasecmp(key, "config/names")) {
    *answer = options_names_text();
  } else if (!strcasecmp(key, "net/listeners/control")) {
    char *out = al_strdup("");
    for (size_t i = 0; control_listener_addr(A->ctl, i); i++) {
      char *n = al_asprintf("%s%s\"%s\"", out, out[0] ? " " : "",
                            control_listener_addr(A->ctl, i));
      al_free(out);
      out = n;
    }
    *answer = out;
  } else if (!strcasecmp(key, "net/listeners/socks")) {
    *answer = listeners_of(st->opts->SocksPort, "127.0.0.1");
  } else if (!strcasecmp(key, "net/listeners/httptunnel")) {
    *answer = listeners_of(st->opts->HTTPTunnelPort, "127.0.0.1");
  } else if (!strcasecmp(key, "net/listeners/or")) {
    *answer = listeners_of(st->opts->ORPort, "0.0.0.0");
  } else if (!strcasecmp(key, "fingerprint")) {
    char fp[41];
    if (!st->keys || relay_keys_fingerprint_hex(st->keys, fp) < 0) {
      *errmsg = "Not running in server mode";
      return CTLINFO_ERR;
    }
    *answer = al_strdup(fp);
  } else if (!strcasecmp(key, "address")) {
    if (!st->keys || !st->opts->Address) {
      *errmsg = "Address unknown";
      return CTLINFO_ERR;
    }
    *answer = al_strdup(st->opts->Address->value);
  } else {
    return CTLINFO_UNKNOWN;
  }
  return 0;
}

static void
register_app_keys(void)
{
  static const struct { const char *key, *doc; } keys[] = {
    { "config-file", "Current location of the \"torrc\" file." },
    { "config-text", "Return the string that would be written by a "
      "saveconf command." },
    { "config/names", "List of configuration options, types, and "
      "documentation." },
    { "net/listeners/control", "Bound addresses of the control port." },
    { "net/listeners/socks", "Addresses of the SocksPort listeners." },
    { "net/listeners/httptunnel", "Addresses of the HTTPTunnelPort "
      "listeners." },
    { "net/listeners/or", "Addresses of the ORPort listeners." },
    { "fingerprint", "Get hex fingerprint of the relay's identity key." },
    { "address", "IP address of this relay (its Address option)." },
  };
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    ctlinfo_register(keys[i].key, getinfo_app, A, keys[i].doc);
}

/* ---- start-up ---- */

static int
write_port_file(const allium_options_t *o)
{
  if (!o->ControlPortWriteToFile)
    return 0;
  char *text = al_strdup("");
  for (size_t i = 0; control_listener_addr(A->ctl, i); i++) {
    const char *a = control_listener_addr(A->ctl, i);
    char *n = !strncmp(a, "unix:", 5)
                ? al_asprintf("%sUNIX_PORT=%s\n", text, a + 5)
                : al_asprintf("%sPORT=%s\n", text, a);
    al_free(text);
    text = n;
  }
  int r = fs_write_file_atomic(o->ControlPortWriteToFile, text, strlen(text),
                               o->ControlPortFileGroupReadable ? 0640 : 0600);
  if (r < 0) {
    log_err("Couldn't write ControlPortWriteToFile \"%s\": %s",
            o->ControlPortWriteToFile, fs_strerror(r));
  } else {
    A->port_file = al_strdup(o->ControlPortWriteToFile);
  }
  al_free(text);
  return r;
}

static void
owner_check(int what, void *arg)
{
  (void)what; (void)arg;
  if (kill((pid_t)A->owner_pid, 0) == 0 || errno == EPERM)
    return;
  log_notice("Owning controller process has vanished -- exiting now.");
  schedule_exit();
}

static int
open_listeners(const allium_options_t *o)
{
  char *err = NULL;
  for (const config_line_t *l = o->ControlPort; l; l = l->next) {
    if (!strcmp(l->value, "0"))
      continue;
    if (control_listen(A->ctl, l->value, false, &err) < 0)
      goto fail;
  }
  for (const config_line_t *l = o->ControlSocket; l; l = l->next) {
    if (!strcmp(l->value, "0"))
      continue;
    char *v = o->ControlSocketsGroupWritable
                ? al_asprintf("%s GroupWritable", l->value)
                : al_strdup(l->value);
    int r = control_listen(A->ctl, v, true, &err);
    al_free(v);
    if (r < 0)
      goto fail;
  }
  return 0;
 fail:
  log_err("%s", err ? err : "Couldn't open a control listener.");
  al_free(err);
  return -1;
}

static bool
control_configured(const allium_options_t *o)
{
  for (const config_line_t *l = o->ControlPort; l; l = l->next)
    if (strcmp(l->value, "0"))
      return true;
  for (const config_line_t *l = o->ControlSocket; l; l = l->next)
    if (strcmp(l->value, "0"))
      return true;
  return false;
}

int
app_control_init(void)
{
  app_state_t *st = app_state();
  const allium_options_t *o = st->opts;
  if (!control_configured(o))
    return 0;
  size_t n_pw = 0;
  for (const config_line_t *l = o->HashedControlPassword; l; l = l->next) {
    if (!control_password_hash_ok(l->value)) {
      log_err("Bad HashedControlPassword: wrong length or bad encoding");
      return ALLIUM_EXIT_CONFIG;
    }
    n_pw++;
  }
  const char **pw = al_calloc(n_pw + 1, sizeof(*pw));
  n_pw = 0;
  for (const config_line_t *l = o->HashedControlPassword; l; l = l->next)
    pw[n_pw++] = l->value;
  char *cookie = NULL;
  if (o->CookieAuthentication)
    cookie = o->CookieAuthFile ? al_strdup(o->CookieAuthFile)
             : al_asprintf("%s/control_auth_cookie",
                           st->datadir ? st->datadir : ".");
  control_cfg_t cfg = {
    .base = evloop_base(),
    .cookie_path = cookie,
    .cookie_group_readable = o->CookieAuthFileGroupReadable != 0,
    .hashed_passwords = pw,
    .n_hashed_passwords = n_pw,
    .version = CONTROL_VERSION,
    .backend = { NULL, be_getconf, be_setconf, be_saveconf, be_loadconf,
                 be_signal },
  };
  A = al_calloc(1, sizeof(*A));
  char *err = NULL;
  A->ctl = control_new(&cfg, &err);
  al_free(cookie);
  al_free(pw);
  if (!A->ctl) {
    log_err("Couldn't start the control port: %s", err ? err : "error");
    al_free(err);
    al_free(A);
    return ALLIUM_EXIT_RUNTIME;
  }
  if (open_listeners(o) < 0 || write_port_file(o) < 0) {
    app_control_shutdown();
    return ALLIUM_EXIT_RUNTIME;
  }
  if (!o->CookieAuthentication && !o->HashedControlPassword)
    log_warn("ControlPort is open, but no authentication method has been "
             "configured.  This means that any program on your computer can "
             "reconfigure your allium.  That's bad!  Set "
             "CookieAuthentication 1 or HashedControlPassword.");
  register_app_keys();
  if (o->OwningControllerProcess) {
    A->owner_pid = strtol(o->OwningControllerProcess, NULL, 10);
    if (A->owner_pid > 0)
      A->owner_timer = evloop_timer_add(15000, 1, owner_check, NULL);
  }
  return 0;
}

void
app_control_start(void)
{
  if (!A)
    return;
  struct client_t *c = app_client_get();
  if (c)
    client_ctl_attach(c);
}

void
app_control_shutdown(void)
{
  if (!A)
    return;
  ctlinfo_unregister(A);
  control_free(A->ctl);
  evloop_handle_free(A->newnym_timer);
  evloop_handle_free(A->exit_timer);
  evloop_handle_free(A->owner_timer);
  if (A->port_file)
    unlink(A->port_file);
  al_free(A->port_file);
  al_free(A);
}
