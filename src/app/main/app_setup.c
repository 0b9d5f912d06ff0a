/* app_setup.c -- applying options to the process: log sinks and
 * SafeLogging, the DataDirectory, --keygen (tor-manual "Log",
 * "SafeLogging", "DataDirectory"; key files per tor-spec section 1.1 via
 * feature/keys). */
#define LOG_MODULE "config"
#include "allium/app/main/exitcodes.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/fs/fdlimit.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/log/log_config.h"
#include "allium/lib/malloc/malloc.h"
#include "app_state.h"
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static app_state_t the_state;

app_state_t *
app_state(void)
{
  return &the_state;
}

const char *
app_options_file(void)
{
  return the_state.flags.torrc_file ? the_state.flags.torrc_file
                                    : ALLIUM_DEFAULT_TORRC;
}

int
app_logging_apply(const allium_options_t *o, char **errmsg)
{
  size_t n = confline_count(o->Log);
  const char **lines = al_calloc(n ? n : 1, sizeof(*lines));
  size_t i = 0, files = 0;
  for (const config_line_t *l = o->Log; l; l = l->next)
    lines[i++] = l->value;
  int r = log_config_apply(lines, n, errmsg);
  al_free(lines);
  if (r < 0)
    return -1;
  log_set_safe_logging(o->SafeLogging);
  for (const config_line_t *l = o->Log; l; l = l->next) {
    log_sink_spec_t spec;
    if (log_sink_spec_parse(l->value, &spec, NULL) == 0 &&
        spec.kind == LOG_SINK_FILE)
      files++;
    log_sink_spec_clear(&spec);
  }
  if (files)
    log_notice("allium %s opening log file.", PACKAGE_VERSION);
  return 0;
}

/* tor(1) ConnLimit: ask for as many descriptors as the OS allows and
 * refuse to start below ConnLimit.  Part of the budget is kept for
 * channels and directory fetches; the rest caps application
 * connections (client_conn.c). */
#define APP_FD_CAP_UNLIMITED (1u << 20)

int
app_fdlimit_setup(const allium_options_t *o)
{
  app_state_t *st = app_state();
  fdlimit_t fl;
  uint64_t need = o->ConnLimit > 0 ? (uint64_t)o->ConnLimit : 0;
  int r = fdlimit_raise(need, APP_FD_CAP_UNLIMITED, &fl);
  if (r == FDLIMIT_ERR_GETRLIMIT) {
    log_warn("Couldn't read the file descriptor limit: %s; assuming %d.",
             strerror(errno), o->ConnLimit);
    fl.limit = need ? need : 1024;
  } else if (r == FDLIMIT_ERR_TOO_LOW) {
    log_err("Need %d file descriptors (ConnLimit), but the system allows "
            "only %llu (hard limit %llu).  Raise it with \"ulimit -H -n\" "
            "or lower ConnLimit.", o->ConnLimit,
            (unsigned long long)fl.limit, (unsigned long long)fl.hard);
    return ALLIUM_EXIT_RUNTIME;
  }
  st->fd_limit = fl.limit;
  st->app_conn_cap = fdlimit_app_cap(fl.limit);
  char hard[32] = "unlimited";
  if (fl.hard != UINT64_MAX)
    snprintf(hard, sizeof(hard), "%llu", (unsigned long long)fl.hard);
  log_info("File descriptor limit: %llu (was %llu, hard %s); keeping %llu "
           "for channels, directory fetches and files, at most %llu "
           "application connections.", (unsigned long long)fl.limit,
           (unsigned long long)fl.old_soft, hard,
           (unsigned long long)fdlimit_reserve(fl.limit),
           (unsigned long long)st->app_conn_cap);
  return 0;
}

const char **
app_port_values(const allium_options_t *o, size_t *n_out)
{
  const config_line_t *lists[] = { o->SocksPort, o->ORPort, o->DirPort,
                                   o->ControlPort, o->HTTPTunnelPort };
  size_t n = 0;
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
    n += confline_count(lists[i]);
  const char **vals = al_calloc(n ? n : 1, sizeof(*vals));
  size_t k = 0;
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
    for (const config_line_t *l = lists[i]; l; l = l->next)
      vals[k++] = l->value;
  *n_out = n;
  return vals;
}

/* Running as root with User set: the directory may belong to root (first
 * run) or to that user (later runs); privs_drop() chowns it afterwards. */
static int
datadir_check_for_user(const char *dir, const char *user)
{
  struct passwd *pw = getpwnam(user);
  if (!pw) {
    log_err("User \"%s\" not found.", user);
    return ALLIUM_EXIT_CONFIG;
  }
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    log_err("Couldn't create DataDirectory \"%s\": %s", dir, strerror(errno));
    return ALLIUM_EXIT_RUNTIME;
  }
  struct stat st;
  if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
    log_err("DataDirectory \"%s\" is not a directory.", dir);
    return ALLIUM_EXIT_RUNTIME;
  }
  if (st.st_uid != 0 && st.st_uid != pw->pw_uid) {
    log_err("DataDirectory \"%s\" is owned by uid %u, not by root or \"%s\"; "
            "refusing to use it.", dir, (unsigned)st.st_uid, user);
    return ALLIUM_EXIT_RUNTIME;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    log_err("DataDirectory \"%s\" is writable by group or others (mode %03o); "
            "refusing to use it. Fix it with: chmod 700 %s", dir,
            (unsigned)(st.st_mode & 0777), dir);
    return ALLIUM_EXIT_RUNTIME;
  }
  return 0;
}

int
app_datadir_setup(const allium_options_t *o)
{
  app_state_t *st = app_state();
  const char *dir = o->DataDirectory;
  if (!dir) {
    log_info("No DataDirectory configured; nothing is stored on disk.");
    return 0;
  }
  int r;
  if (geteuid() == 0 && o->User && *o->User) {
    r = datadir_check_for_user(dir, o->User);
    if (r)
      return r;
  } else if ((r = fs_check_private_dir(dir, FS_DIR_CREATE)) < 0) {
    const char *why = r == FS_ERR_IO ? strerror(errno) : fs_strerror(r);
    if (r == FS_ERR_PERM)
      log_err("DataDirectory \"%s\" is writable by group or others; refusing "
              "to use it. Fix it with: chmod 700 %s", dir, dir);
    else if (r == FS_ERR_OWNER)
      log_err("DataDirectory \"%s\" is not owned by this user (uid %u); "
              "refusing to use it.", dir, (unsigned)geteuid());
    else
      log_err("Couldn't use DataDirectory \"%s\": %s", dir, why);
    return ALLIUM_EXIT_RUNTIME;
  }
  al_free(st->datadir);
  st->datadir = al_strdup(dir);
  return 0;
}

/* 1 when some ORPort line enables a port (not "0"). */
static int
has_orport(const allium_options_t *o)
{
  for (const config_line_t *l = o->ORPort; l; l = l->next)
    if (strcmp(l->value, "0") != 0)
      return 1;
  return 0;
}

int
app_keys_setup(const allium_options_t *o)
{
  app_state_t *st = app_state();
  if (!has_orport(o) || !o->DataDirectory)
    return 0;
  int r = relay_keys_load_or_create(o->DataDirectory, 1, &st->keys);
  if (r < 0) {
    log_err("Couldn't load or create the relay keys in \"%s/keys\": %s.",
            o->DataDirectory, relay_keys_strerror(r));
    return ALLIUM_EXIT_RUNTIME;
  }
  const char *nick = o->Nickname ? o->Nickname : "Unnamed";
  char hex[41], ed[44];
  if (relay_keys_fingerprint_hex(st->keys, hex) < 0 ||
      relay_keys_fingerprint_ed25519(st->keys, ed) < 0 ||
      relay_keys_write_fingerprint_files(st->keys, o->DataDirectory, nick) < 0) {
    log_err("Couldn't write the fingerprint files in \"%s\".", o->DataDirectory);
    return ALLIUM_EXIT_RUNTIME;
  }
  log_notice("Your allium server's identity key fingerprint is '%s %s'", nick, hex);
  log_notice("Your allium server's identity key ed25519 fingerprint is '%s %s'",
             nick, ed);
  return 0;
}

void
app_keys_shutdown(void)
{
  relay_keys_free(app_state()->keys);
}

/* Print "NICK XXXX XXXX ... XXXX" like tor --list-fingerprint. */
static void
print_grouped(const char *nick, const char *hex)
{
  printf("%s", nick);
  for (size_t i = 0; hex[i]; i += 4)
    printf(" %.4s", hex + i);
  printf("\n");
}

int
app_do_keygen(const allium_options_t *o)
{
  const char *dir = o->DataDirectory;
  const char *nick = o->Nickname ? o->Nickname : "Unnamed";
  if (!dir) {
    log_err("--keygen and --list-fingerprint need a DataDirectory "
            "(set DataDirectory in the configuration or on the command line).");
    return ALLIUM_EXIT_CONFIG;
  }
  int r = app_datadir_setup(o);
  if (r)
    return r;
  relay_keys_t *keys = NULL;
  r = relay_keys_load_or_create(dir, 1, &keys);
  if (r < 0) {
    log_err("Couldn't load or create the relay keys in \"%s/keys\": %s.",
            dir, relay_keys_strerror(r));
    return ALLIUM_EXIT_RUNTIME;
  }
  char hex[41], ed[44];
  int ok = relay_keys_fingerprint_hex(keys, hex) == 0 &&
           relay_keys_fingerprint_ed25519(keys, ed) == 0;
  if (ok && relay_keys_write_fingerprint_files(keys, dir, nick) < 0) {
    log_err("Couldn't write the fingerprint files in \"%s\".", dir);
    ok = 0;
  }
  relay_keys_free(keys);
  if (!ok)
    return ALLIUM_EXIT_RUNTIME;
  print_grouped(nick, hex);
  printf("%s %s\n", nick, ed);
  fflush(stdout);
  return ALLIUM_EXIT_OK;
}
