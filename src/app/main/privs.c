/* privs.c -- dropping root for the `User` option with libcap, and
 * DisableDebuggerAttachment (tor-manual "User" and
 * "DisableDebuggerAttachment" options; no torspec section: local process
 * behaviour). */
#define LOG_MODULE "privs"
#include "allium/app/main/privs.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

static int
set_err(char **errmsg, char *msg)
{
  if (errmsg)
    *errmsg = msg;
  else
    al_free(msg);
  return -1;
}

/* Parse a decimal port 0..65535 or "auto" (-1). */
static int
parse_port_number(const char *s, size_t len, int *out)
{
  if (len == 4 && !strncasecmp(s, "auto", 4)) {
    *out = -1;
    return 0;
  }
  uint16_t v;
  if (net_port_parse(s, len, 0, &v) < 0)
    return -1;
  *out = v;
  return 0;
}

int
privs_port_parse(const char *value, int *port_out)
{
  if (!value)
    return -1;
  while (*value == ' ' || *value == '\t')
    value++;
  size_t len = strcspn(value, " \t");
  if (len == 0)
    return -1;
  if (len >= 5 && !strncasecmp(value, "unix:", 5)) {
    *port_out = -1;
    return len > 5 ? 0 : -1;
  }
  const char *portpart = value;
  if (value[0] == '[') {
    const char *close = memchr(value, ']', len);
    if (!close || close + 1 >= value + len || close[1] != ':')
      return -1;
    portpart = close + 2;
  } else {
    const char *colon = memchr(value, ':', len);
    if (colon) {
      if (memchr(colon + 1, ':', (size_t)(value + len - colon - 1)))
        return -1;   /* bare IPv6 without brackets */
      if (colon == value)
        return -1;
      portpart = colon + 1;
    }
  }
  return parse_port_number(portpart, (size_t)(value + len - portpart), port_out);
}

int
privs_ports_need_bind_service(const char *const *values, size_t n)
{
  int need = 0;
  for (size_t i = 0; i < n; i++) {
    int port;
    if (privs_port_parse(values[i], &port) < 0)
      return -1;
    if (port >= 1 && port < 1024)
      need = 1;
  }
  return need;
}

int
privs_check_user(const char *user, char **errmsg)
{
  if (!user || !*user)
    return 0;
  struct passwd *pw = getpwnam(user);
  if (!pw)
    return set_err(errmsg, al_asprintf("User \"%s\" not found.", user));
  if (geteuid() == 0 || pw->pw_uid == geteuid())
    return 0;
  return set_err(errmsg, al_asprintf("User is set to \"%s\", but allium is not "
                                     "running as root and cannot switch users.",
                                     user));
}

/* Set by privs_disable_debugger_attachment(): apply it again after a uid
 * change, which resets the dumpable flag. */
static int debugger_disabled;

int
privs_disable_debugger_attachment(void)
{
  if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0) {
    log_warn("Couldn't disable debugger attachment: prctl(PR_SET_DUMPABLE) "
             "failed: %s", strerror(errno));
    return -1;
  }
  debugger_disabled = 1;
  log_info("Debugger attachment and core dumps disabled "
           "(DisableDebuggerAttachment).");
  return 0;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st; (void)flag; (void)ftw;
  if (lchown(path, chown_uid, chown_gid) < 0) {
    log_warn("Couldn't chown \"%s\": %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* Switch groups, gid and uid; keep permitted capabilities across setuid when
 * asked. */
static int
switch_ids(const struct passwd *pw, int keep_caps, char **errmsg)
{
  if (keep_caps && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
    return set_err(errmsg, al_asprintf("prctl(PR_SET_KEEPCAPS) failed: %s",
                                       strerror(errno)));
  if (initgroups(pw->pw_name, pw->pw_gid) < 0) {
    gid_t g = pw->pw_gid;
    if (setgroups(1, &g) < 0)
      return set_err(errmsg, al_asprintf("Couldn't set the groups of \"%s\": %s",
                                         pw->pw_name, strerror(errno)));
  }
  if (setgid(pw->pw_gid) < 0)
    return set_err(errmsg, al_asprintf("setgid(%u) failed: %s",
                                       (unsigned)pw->pw_gid, strerror(errno)));
  if (setuid(pw->pw_uid) < 0)
    return set_err(errmsg, al_asprintf("setuid(%u) failed: %s",
                                       (unsigned)pw->pw_uid, strerror(errno)));
  return 0;
}

/* A capability set holding only CAP_NET_BIND_SERVICE (permitted+effective)
 * when keep, else empty.  Caller cap_free()s. */
static cap_t
wanted_caps(int keep)
{
  cap_t caps = cap_init();
  if (!caps)
    return NULL;
  if (keep) {
    cap_value_t v = CAP_NET_BIND_SERVICE;
    if (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
        cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0) {
      cap_free(caps);
      return NULL;
    }
  }
  return caps;
}

int
privs_drop(const char *user, const char *datadir, int keep_bind_service,
           char **errmsg)
{
  if (!user || !*user)
    return 0;
  struct passwd *pw = getpwnam(user);
  if (!pw)
    return set_err(errmsg, al_asprintf("User \"%s\" not found.", user));
  if (geteuid() != 0) {
    if (pw->pw_uid == geteuid())
      return 0;
    return set_err(errmsg, al_asprintf("Can't switch to user \"%s\": not root.",
                                       user));
  }
  /* Copy: getpwnam's buffer may be reused by initgroups. */
  struct passwd pwc = *pw;
  char *name = al_strdup(pw->pw_name);
  pwc.pw_name = name;
  int r = -1;
  if (datadir) {
    chown_uid = pwc.pw_uid;
    chown_gid = pwc.pw_gid;
    if (nftw(datadir, chown_one, 16, FTW_PHYS) != 0) {
      set_err(errmsg, al_asprintf("Couldn't give DataDirectory \"%s\" to user "
                                  "\"%s\".", datadir, name));
      goto out;
    }
  }
  if (switch_ids(&pwc, keep_bind_service, errmsg) < 0)
    goto out;
  cap_t caps = wanted_caps(keep_bind_service);
  if (!caps || cap_set_proc(caps) < 0) {
    set_err(errmsg, al_asprintf("Couldn't set capabilities: %s", strerror(errno)));
    if (caps)
      cap_free(caps);
    goto out;
  }
  cap_free(caps);
  (void)prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
  if (privs_verify(pwc.pw_uid, pwc.pw_gid, keep_bind_service, errmsg) < 0)
    goto out;
  /* setuid() reset the dumpable flag to fs.suid_dumpable. */
  if (debugger_disabled && privs_disable_debugger_attachment() < 0) {
    set_err(errmsg, al_strdup("Couldn't disable debugger attachment again "
                              "after switching users"));
    goto out;
  }
  log_notice("Switched to user \"%s\" (uid %u)%s.", name, (unsigned)pwc.pw_uid,
             keep_bind_service ? ", keeping CAP_NET_BIND_SERVICE" : "");
  r = 0;
 out:
  al_free(name);
  return r;
}

int
privs_verify(uid_t uid, gid_t gid, int keep_bind_service, char **errmsg)
{
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
    return set_err(errmsg, al_strdup("getresuid/getresgid failed"));
  if (ru != uid || eu != uid || su != uid)
    return set_err(errmsg, al_asprintf("uid check failed: real %u effective %u "
                                       "saved %u, wanted %u", (unsigned)ru,
                                       (unsigned)eu, (unsigned)su, (unsigned)uid));
  if (rg != gid || eg != gid || sg != gid)
    return set_err(errmsg, al_asprintf("gid check failed: real %u effective %u "
                                       "saved %u, wanted %u", (unsigned)rg,
                                       (unsigned)eg, (unsigned)sg, (unsigned)gid));
  if (uid != 0 && setuid(0) == 0)
    return set_err(errmsg, al_strdup("setuid(0) succeeded after dropping "
                                     "privileges"));
  cap_t want = wanted_caps(keep_bind_service);
  cap_t have = cap_get_proc();
  int same = want && have && cap_compare(want, have) == 0;
  char *txt = have ? cap_to_text(have, NULL) : NULL;
  char *msg = same ? NULL : al_asprintf("capability check failed: have \"%s\"",
                                        txt ? txt : "?");
  if (txt)
    cap_free(txt);
  if (want)
    cap_free(want);
  if (have)
    cap_free(have);
  if (!same)
    return set_err(errmsg, msg);
  return 0;
}
