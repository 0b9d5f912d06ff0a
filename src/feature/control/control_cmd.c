/* control_cmd.c -- the control port's commands (control-spec 3): the
 * authentication handshake (3.5 AUTHENTICATE, 3.21 PROTOCOLINFO, 3.24
 * AUTHCHALLENGE), GETINFO (3.9), GETCONF / SETCONF / RESETCONF / SAVECONF /
 * LOADCONF (3.1-3.4, 3.6, 3.22), SIGNAL (3.7), SETEVENTS (3.4), USEFEATURE
 * (3.20), TAKEOWNERSHIP / DROPOWNERSHIP (3.23, 3.32), QUIT.
 *
 * Reply codes and texts follow tor's, so that controllers written for tor
 * (stem, nyx) read them.  Commands allium does not implement yet get
 * "551 ... not supported", never a silent success.
 */
#define LOG_MODULE "control"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/control/control.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "control_st.h"

#include <ctype.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_ARGS 4096

typedef int (*cmd_fn)(control_conn_t *cc, const control_cmd_t *cmd,
                      bytes_writer_t *w);

static int
reply_ok(bytes_writer_t *w)
{
  control_reply_line(w, 250, ' ', "OK");
  return 0;
}

/* ---- authentication ---- */

static void
auth_methods(const control_t *c, char *buf, size_t len)
{
  buf[0] = '\0';
  if (c->cookie_auth)
    snprintf(buf, len, "COOKIE,SAFECOOKIE");
  if (c->cfg.n_hashed_passwords)
    snprintf(buf + strlen(buf), len - strlen(buf), "%sHASHEDPASSWORD",
             buf[0] ? "," : "");
  if (!buf[0])
    snprintf(buf, len, "NULL");
}

static int
cmd_protocolinfo(control_conn_t *cc, const control_cmd_t *cmd,
                 bytes_writer_t *w)
{
  (void)cmd;
  control_t *c = cc->ctl;
  if (!cc->authenticated && cc->protocolinfo_seen) {
    control_reply_line(w, 514, ' ', "No more PROTOCOLINFO commands allowed "
                       "before authentication.");
    return 1;
  }
  cc->protocolinfo_seen = true;
  char methods[64];
  auth_methods(c, methods, sizeof(methods));
  control_reply_line(w, 250, '-', "PROTOCOLINFO 1");
  if (c->cookie_auth) {
    char *q = control_quote(c->cfg.cookie_path, strlen(c->cfg.cookie_path));
    control_reply_line(w, 250, '-', "AUTH METHODS=%s COOKIEFILE=%s", methods,
                       q);
    al_free(q);
  } else {
    control_reply_line(w, 250, '-', "AUTH METHODS=%s", methods);
  }
  control_reply_line(w, 250, '-', "VERSION Tor=\"%s\"", c->cfg.version);
  return reply_ok(w);
}

static int
auth_fail(control_conn_t *cc, bytes_writer_t *w, const char *why)
{
  log_notice_rl(60, "Authentication of a controller from %s failed: %s",
                cc->peer, why);
  control_reply_line(w, 515, ' ', "Authentication failed: %s", why);
  return 1;
}

static int
auth_succeed(control_conn_t *cc, bytes_writer_t *w)
{
  cc->authenticated = true;
  if (cc->auth_timer) {
    event_free(cc->auth_timer);
    cc->auth_timer = NULL;
  }
  log_info_rl(10, "Authenticated a controller connection from %s.",
              cc->peer);
  return reply_ok(w);
}

static bool
password_matches(const control_t *c, const uint8_t *s, size_t n)
{
  bool ok = false;
  for (size_t i = 0; i < c->cfg.n_hashed_passwords; i++)
    if (control_password_check(c->cfg.hashed_passwords[i], s, n) == 1)
      ok = true;
  return ok;
}

static int
cmd_authenticate(control_conn_t *cc, const control_cmd_t *cmd,
                 bytes_writer_t *w)
{
  control_t *c = cc->ctl;
  if (cc->authenticated) {
    control_reply_line(w, 250, ' ', "OK");
    return 0;
  }
  uint8_t *secret = NULL;
  size_t n = 0;
  if (control_parse_auth_secret(cmd->args, &secret, &n) < 0) {
    control_reply_line(w, 513, ' ', "Invalid authentication argument");
    return 1;
  }
  int r;
  if (cc->challenged) {
    uint8_t want[CONTROL_SAFECOOKIE_HASH_LEN];
    control_safecookie_hash(false, c->cookie, cc->client_nonce,
                            cc->client_nonce_len, cc->server_nonce, want);
    if (n == sizeof(want) && crypto_memeq(secret, want, n))
      r = auth_succeed(cc, w);
    else
      r = auth_fail(cc, w, "SAFECOOKIE authentication failed");
    memwipe(want, sizeof(want));
  } else if (!c->cookie_auth && !c->cfg.n_hashed_passwords) {
    r = auth_succeed(cc, w);
  } else if (c->cookie_auth && n == CONTROL_COOKIE_LEN &&
             crypto_memeq(secret, c->cookie, n)) {
    r = auth_succeed(cc, w);
  } else if (c->cfg.n_hashed_passwords && password_matches(c, secret, n)) {
    r = auth_succeed(cc, w);
  } else if (c->cfg.n_hashed_passwords) {
    r = auth_fail(cc, w, c->cookie_auth
                  ? "Password did not match HashedControlPassword value "
                    "from configuration, and authentication cookie did "
                    "not match"
                  : "Password did not match HashedControlPassword value "
                    "from configuration");
  } else {
    r = auth_fail(cc, w, n == CONTROL_COOKIE_LEN
                  ? "Authentication cookie did not match expected value."
                  : "Wrong length on authentication cookie.");
  }
  if (secret)
    memwipe(secret, n);
  al_free(secret);
  return r;
}

static int
cmd_authchallenge(control_conn_t *cc, const control_cmd_t *cmd,
                  bytes_writer_t *w)
{
  control_t *c = cc->ctl;
  if (cc->authenticated || cc->challenged) {
    control_reply_line(w, 513, ' ', "AUTHCHALLENGE only allowed once, "
                       "before authentication");
    return 1;
  }
  const char *a = cmd->args;
  size_t kw = strcspn(a, " ");
  if (kw != 10 || strncasecmp(a, "SAFECOOKIE", 10)) {
    control_reply_line(w, 513, ' ', "AUTHCHALLENGE only supports "
                       "SAFECOOKIE authentication");
    return 1;
  }
  if (!c->cookie_auth) {
    control_reply_line(w, 513, ' ', "Cookie authentication is disabled");
    return 1;
  }
  a += kw;
  while (*a == ' ')
    a++;
  uint8_t *nonce = NULL;
  size_t n = 0;
  if (!*a || control_parse_auth_secret(a, &nonce, &n) < 0 || n == 0 ||
      n > sizeof(cc->client_nonce)) {
    al_free(nonce);
    control_reply_line(w, 513, ' ', "Invalid base16 client nonce");
    return 1;
  }
  memcpy(cc->client_nonce, nonce, n);
  cc->client_nonce_len = n;
  al_free(nonce);
  crypto_rand(cc->server_nonce, sizeof(cc->server_nonce));
  uint8_t sh[CONTROL_SAFECOOKIE_HASH_LEN];
  control_safecookie_hash(true, c->cookie, cc->client_nonce, n,
                          cc->server_nonce, sh);
  char shx[2 * sizeof(sh) + 1], snx[2 * CONTROL_NONCE_LEN + 1];
  base16_encode(shx, sizeof(shx), sh, sizeof(sh));
  base16_encode(snx, sizeof(snx), cc->server_nonce, CONTROL_NONCE_LEN);
  control_reply_line(w, 250, ' ', "AUTHCHALLENGE SERVERHASH=%s "
                     "SERVERNONCE=%s", shx, snx);
  cc->challenged = true;
  return 0;
}

static int
cmd_quit(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w)
{
  (void)cc; (void)cmd;
  control_reply_line(w, 250, ' ', "closing connection");
  return 1;
}

/* ---- GETINFO ---- */

static bool
value_is_multiline(const char *v)
{
  return strchr(v, '\n') != NULL;
}

static int
cmd_getinfo(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w)
{
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(cmd->args, MAX_ARGS, &a, &n) < 0) {
    control_reply_line(w, 512, ' ', "Syntax error in GETINFO");
    return 0;
  }
  char **answers = al_calloc(n ? n : 1, sizeof(*answers));
  int rc = 0;
  ctlinfo_set_conn_id(cc->id);
  for (size_t i = 0; i < n && rc == 0; i++) {
    const char *err = NULL;
    int r = a[i].has_value ? CTLINFO_UNKNOWN
                           : ctlinfo_get(a[i].key, &answers[i], &err);
    if (r == CTLINFO_UNKNOWN) {
      control_reply_line(w, 552, ' ', "Unrecognized key \"%s\"", a[i].key);
      rc = -1;
    } else if (r < 0 || !answers[i]) {
      control_reply_line(w, 551, ' ', "%s", err ? err : "Internal error");
      rc = -1;
    }
  }
  ctlinfo_set_conn_id(0);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (value_is_multiline(answers[i])) {
      char *head = al_asprintf("%s=", a[i].key);
      control_reply_data(w, 250, head, answers[i], strlen(answers[i]));
      al_free(head);
    } else {
      control_reply_line(w, 250, '-', "%s=%s", a[i].key, answers[i]);
    }
  }
  if (rc == 0)
    reply_ok(w);
  for (size_t i = 0; i < n; i++)
    al_free(answers[i]);
  al_free(answers);
  control_args_free(a, n);
  return 0;
}

/* ---- configuration ---- */

static void
conf_values_free(control_conf_value_t *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    al_free(v[i].key);
    al_free(v[i].value);
  }
  al_free(v);
}

static int
cmd_getconf(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w)
{
  const control_backend_t *b = &cc->ctl->cfg.backend;
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(cmd->args, MAX_ARGS, &a, &n) < 0 || !b->getconf) {
    control_reply_line(w, 512, ' ', "Syntax error in GETCONF");
    control_args_free(a, n);
    return 0;
  }
  control_conf_value_t *vals = NULL;
  size_t nv = 0;
  for (size_t i = 0; i < n; i++) {
    if (a[i].has_value ||
        b->getconf(b->arg, a[i].key, &vals, &nv) != 0) {
      control_reply_line(w, 552, ' ', "Unrecognized configuration key "
                         "\"%s\"", a[i].key);
      conf_values_free(vals, nv);
      control_args_free(a, n);
      return 0;
    }
  }
  for (size_t i = 0; i < nv; i++) {
    char sep = i + 1 == nv ? ' ' : '-';
    if (!vals[i].value) {
      control_reply_line(w, 250, sep, "%s", vals[i].key);
    } else {
      bool plain = vals[i].value[0] != '\0';
      for (const char *p = vals[i].value; *p && plain; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
          plain = false;
      if (plain) {
        control_reply_line(w, 250, sep, "%s=%s", vals[i].key, vals[i].value);
      } else {
        char *q = control_quote(vals[i].value, strlen(vals[i].value));
        control_reply_line(w, 250, sep, "%s=%s", vals[i].key, q);
        al_free(q);
      }
    }
  }
  if (nv == 0)
    reply_ok(w);
  conf_values_free(vals, nv);
  control_args_free(a, n);
  return 0;
}

static int
do_setconf(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w,
           bool reset)
{
  const control_backend_t *b = &cc->ctl->cfg.backend;
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(cmd->args, MAX_ARGS, &a, &n) < 0 || n == 0 ||
      !b->setconf) {
    control_reply_line(w, 512, ' ', "Syntax error in %s",
                       reset ? "RESETCONF" : "SETCONF");
    control_args_free(a, n);
    return 0;
  }
  char *err = NULL;
  int code = b->setconf(b->arg, a, n, reset, &err);
  if (code == CONTROL_OK)
    reply_ok(w);
  else
    control_reply_line(w, code, ' ', "%s", err ? err : "Failed");
  al_free(err);
  control_args_free(a, n);
  return 0;
}

static int
cmd_setconf(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w)
{
  return do_setconf(cc, cmd, w, false);
}

static int
cmd_resetconf(control_conn_t *cc, const control_cmd_t *cmd,
              bytes_writer_t *w)
{
  return do_setconf(cc, cmd, w, true);
}

static int
cmd_saveconf(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w)
{
  const control_backend_t *b = &cc->ctl->cfg.backend;
  bool force = !strcasecmp(cmd->args, "FORCE");
  if (cmd->args[0] && !force) {
    control_reply_line(w, 512, ' ', "Unrecognized SAVECONF argument \"%s\"",
                       cmd->args);
    return 0;
  }
  char *err = NULL;
  int code = b->saveconf ? b->saveconf(b->arg, force, &err)
                         : CONTROL_ERR_INTERNAL;
  if (code == CONTROL_OK)
    reply_ok(w);
  else
    control_reply_line(w, code, ' ', "%s",
                       err ? err : "Unable to write configuration to disk.");
  al_free(err);
  return 0;
}

static int
cmd_loadconf(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w)
{
  const control_backend_t *b = &cc->ctl->cfg.backend;
  if (!cmd->data) {
    control_reply_line(w, 512, ' ', "LOADCONF needs a data block "
                       "(+LOADCONF)");
    return 0;
  }
  char *err = NULL;
  int code = b->loadconf ? b->loadconf(b->arg, cmd->data, &err)
                         : CONTROL_ERR_INTERNAL;
  if (code == CONTROL_OK)
    reply_ok(w);
  else
    control_reply_line(w, code, ' ', "%s", err ? err : "Failed");
  al_free(err);
  return 0;
}

/* ---- SIGNAL, SETEVENTS, USEFEATURE, ownership ---- */

static const char *const signal_names[] = {
  "RELOAD", "SHUTDOWN", "DUMP", "DEBUG", "HALT", "CLEARDNSCACHE", "NEWNYM",
  "HEARTBEAT", "DORMANT", "ACTIVE", NULL
};

/* The signal an alias names ("HUP" is RELOAD, ...), or NULL. */
static const char *
signal_canonical(const char *s)
{
  static const struct { const char *alias, *name; } al[] = {
    { "HUP", "RELOAD" }, { "INT", "SHUTDOWN" }, { "USR1", "DUMP" },
    { "USR2", "DEBUG" }, { "TERM", "HALT" },
  };
  for (size_t i = 0; i < sizeof(al) / sizeof(al[0]); i++)
    if (!strcasecmp(s, al[i].alias))
      return al[i].name;
  for (size_t i = 0; signal_names[i]; i++)
    if (!strcasecmp(s, signal_names[i]))
      return signal_names[i];
  return NULL;
}

static int
cmd_signal(control_conn_t *cc, const control_cmd_t *cmd, bytes_writer_t *w)
{
  const control_backend_t *b = &cc->ctl->cfg.backend;
  const char *sig = signal_canonical(cmd->args);
  if (!sig || strchr(cmd->args, ' ')) {
    control_reply_line(w, 552, ' ', "Unrecognized signal code \"%s\"",
                       cmd->args);
    return 0;
  }
  /* SHUTDOWN and HALT only schedule the exit, so the reply still leaves. */
  if (!b->signal || b->signal(b->arg, sig) < 0) {
    control_reply_line(w, 551, ' ', "Unable to carry out signal %s", sig);
    return 0;
  }
  reply_ok(w);
  if (strcmp(sig, "SHUTDOWN") && strcmp(sig, "HALT"))
    ctlev_publish(CTLEV_SIGNAL, "%s", sig);
  return 0;
}

static int
cmd_setevents(control_conn_t *cc, const control_cmd_t *cmd,
              bytes_writer_t *w)
{
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(cmd->args, MAX_ARGS, &a, &n) < 0) {
    control_reply_line(w, 512, ' ', "Syntax error in SETEVENTS");
    return 0;
  }
  uint64_t mask = 0;
  for (size_t i = 0; i < n; i++) {
    if (!a[i].has_value && !strcasecmp(a[i].key, "EXTENDED"))
      continue;
    int t = a[i].has_value ? -1 : ctlev_from_name(a[i].key);
    if (t < 0) {
      control_reply_line(w, 552, ' ', "Unrecognized event \"%s\"", a[i].key);
      control_args_free(a, n);
      return 0;
    }
    mask |= 1ull << t;
  }
  control_args_free(a, n);
  cc->events = mask;
  control_conn_update_events(cc->ctl);
  return reply_ok(w);
}

static int
cmd_usefeature(control_conn_t *cc, const control_cmd_t *cmd,
               bytes_writer_t *w)
{
  (void)cc;
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(cmd->args, MAX_ARGS, &a, &n) < 0) {
    control_reply_line(w, 512, ' ', "Syntax error in USEFEATURE");
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (a[i].has_value || (strcasecmp(a[i].key, "EXTENDED_EVENTS") &&
                           strcasecmp(a[i].key, "VERBOSE_NAMES"))) {
      control_reply_line(w, 552, ' ', "Unrecognized feature \"%s\"",
                         a[i].key);
      control_args_free(a, n);
      return 0;
    }
  }
  control_args_free(a, n);
  return reply_ok(w);          /* both are always on, as in tor */
}

static int
cmd_takeownership(control_conn_t *cc, const control_cmd_t *cmd,
                  bytes_writer_t *w)
{
  (void)cmd;
  cc->owner = true;
  log_info_rl(10, "Control connection from %s has taken ownership of this "
              "allium instance.", cc->peer);
  return reply_ok(w);
}

static int
cmd_dropownership(control_conn_t *cc, const control_cmd_t *cmd,
                  bytes_writer_t *w)
{
  (void)cmd;
  cc->owner = false;
  return reply_ok(w);
}

/* ---- dispatch ---- */

static const struct {
  const char *name;
  cmd_fn fn;
  bool before_auth;
} commands[] = {
  { "PROTOCOLINFO", cmd_protocolinfo, true },
  { "AUTHENTICATE", cmd_authenticate, true },
  { "AUTHCHALLENGE", cmd_authchallenge, true },
  { "QUIT", cmd_quit, true },
  { "GETINFO", cmd_getinfo, false },
  { "GETCONF", cmd_getconf, false },
  { "SETCONF", cmd_setconf, false },
  { "RESETCONF", cmd_resetconf, false },
  { "SAVECONF", cmd_saveconf, false },
  { "LOADCONF", cmd_loadconf, false },
  { "SIGNAL", cmd_signal, false },
  { "SETEVENTS", cmd_setevents, false },
  { "USEFEATURE", cmd_usefeature, false },
  { "TAKEOWNERSHIP", cmd_takeownership, false },
  { "DROPOWNERSHIP", cmd_dropownership, false },
};

/* Commands the client role registers on the control bus (client_ctl*.c):
 * without a client running they cannot be carried out. */
static const char *const client_cmds[] = {
  "MAPADDRESS", "EXTENDCIRCUIT", "SETCIRCUITPURPOSE", "ATTACHSTREAM",
  "CLOSESTREAM", "CLOSECIRCUIT", "RESOLVE", "ADD_ONION", "DEL_ONION",
  "HSFETCH", "ONION_CLIENT_AUTH_ADD", "ONION_CLIENT_AUTH_REMOVE",
  "ONION_CLIENT_AUTH_VIEW", "DROPGUARDS", NULL
};

/* tor's commands allium does not carry out yet: refused loudly. */
static const char *const not_yet[] = {
  "SETROUTERPURPOSE", "POSTDESCRIPTOR", "REDIRECTSTREAM", "HSPOST",
  "DROPTIMEOUTS", "SETVCONF", NULL
};

int
control_cmd_run(control_conn_t *cc, const control_cmd_t *cmd,
                bytes_writer_t *w)
{
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcasecmp(cmd->keyword, commands[i].name))
      continue;
    if (!cc->authenticated && !commands[i].before_auth)
      break;
    return commands[i].fn(cc, cmd, w);
  }
  if (!cc->authenticated) {
    control_reply_line(w, 514, ' ', "Authentication required.");
    return 1;
  }
  char *reply = NULL;
  if (ctlcmd_run(cmd->keyword, cc->id, cmd->args, cmd->data, &reply)) {
    if (reply) {
      size_t n = strlen(reply);
      bytes_put_bytes(w, reply, n);
      memwipe(reply, n);          /* ADD_ONION's PrivateKey, auth keys */
    } else {
      control_reply_line(w, 551, ' ', "Internal error");
    }
    al_free(reply);
    return 0;
  }
  for (size_t i = 0; client_cmds[i]; i++) {
    if (!strcasecmp(cmd->keyword, client_cmds[i])) {
      control_reply_line(w, 551, ' ', "%s needs allium's client role, which "
                         "is not running (no SocksPort, HTTPTunnelPort or "
                         "onion service)", client_cmds[i]);
      return 0;
    }
  }
  for (size_t i = 0; not_yet[i]; i++) {
    if (!strcasecmp(cmd->keyword, not_yet[i])) {
      control_reply_line(w, 551, ' ', "%s is not supported by allium yet",
                         not_yet[i]);
      return 0;
    }
  }
  /* tor quotes the unknown keyword back; keep it printable. */
  char kw[64];
  size_t k = 0;
  for (const char *p = cmd->keyword; *p && k + 1 < sizeof(kw); p++)
    kw[k++] = isprint((unsigned char)*p) ? *p : '?';
  kw[k] = '\0';
  control_reply_line(w, 510, ' ', "Unrecognized command \"%s\"", kw);
  return 0;
}
