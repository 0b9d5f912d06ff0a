/* control_getinfo.c -- the GETINFO keys the control port answers itself
 * (control-spec 3.9): version, the name lists (info/names, events/names,
 * signal/names, features/names), process/pid and the like, status/bootstrap-phase,
 * uptime, traffic/read and traffic/written, dormant, network-liveness,
 * status/version/current.  Every other key comes from the module that owns
 * the data, through the control bus (core/mainloop/ctlbus.h). */
#include "allium/core/channel/channel_bw.h"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"
#include "control_st.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

static char *
names_events(void)
{
  size_t cap = 1;
  for (int i = 0; i < CTLEV__COUNT; i++)
    cap += strlen(ctlev_name((ctlev_type_t)i)) + 1;
  char *s = al_malloc(cap);
  s[0] = '\0';
  for (int i = 0; i < CTLEV__COUNT; i++) {
    if (i)
      strcat(s, " ");
    strcat(s, ctlev_name((ctlev_type_t)i));
  }
  return s;
}

static char *
bootstrap_phase(void)
{
  int p = bootstrap_percent();
  if (p < 0)
    p = 0;
  return al_asprintf("NOTICE BOOTSTRAP PROGRESS=%d TAG=%s SUMMARY=\"%s\"", p,
                     bootstrap_tag(p), bootstrap_summary(p));
}

static char *
process_user(void)
{
  struct passwd *pw = getpwuid(geteuid());
  return al_strdup(pw && pw->pw_name ? pw->pw_name : "");
}

static char *
descriptor_limit(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return al_strdup("-1");
  return al_asprintf("%llu", (unsigned long long)rl.rlim_cur);
}

static int
getinfo_builtin(const char *key, void *arg, char **answer,
                const char **errmsg)
{
  control_t *c = arg;
  (void)errmsg;
  channel_bw_stats_t bw;
  if (!strcasecmp(key, "version"))
    *answer = al_strdup(c->cfg.version);
  else if (!strcasecmp(key, "info/names"))
    *answer = ctlinfo_names();
  else if (!strcasecmp(key, "events/names"))
    *answer = names_events();
  else if (!strcasecmp(key, "signal/names"))
    *answer = al_strdup("RELOAD SHUTDOWN DUMP DEBUG HALT HUP INT USR1 USR2 "
                        "TERM NEWNYM CLEARDNSCACHE HEARTBEAT ACTIVE "
                        "DORMANT");
  else if (!strcasecmp(key, "features/names"))
    *answer = al_strdup("VERBOSE_NAMES EXTENDED_EVENTS");
  else if (!strcasecmp(key, "process/pid"))
    *answer = al_asprintf("%ld", (long)getpid());
  else if (!strcasecmp(key, "process/uid"))
    *answer = al_asprintf("%ld", (long)geteuid());
  else if (!strcasecmp(key, "process/user"))
    *answer = process_user();
  else if (!strcasecmp(key, "process/descriptor-limit"))
    *answer = descriptor_limit();
  else if (!strcasecmp(key, "status/bootstrap-phase"))
    *answer = bootstrap_phase();
  else if (!strcasecmp(key, "uptime"))
    *answer = al_asprintf("%llu", (unsigned long long)
                          ((evloop_monotonic_msec() - c->start_msec) / 1000));
  else if (!strcasecmp(key, "traffic/read")) {
    channel_bw_get_stats(&bw);
    *answer = al_asprintf("%llu", (unsigned long long)bw.bytes_read);
  } else if (!strcasecmp(key, "traffic/written")) {
    channel_bw_get_stats(&bw);
    *answer = al_asprintf("%llu", (unsigned long long)bw.bytes_written);
  } else if (!strcasecmp(key, "dormant"))
    *answer = al_strdup("0");
  else if (!strcasecmp(key, "network-liveness"))
    *answer = al_strdup(bootstrap_percent() >= 100 ? "up" : "down");
  else if (!strcasecmp(key, "status/version/current"))
    *answer = al_strdup("unknown");
  else
    return CTLINFO_UNKNOWN;
  return 0;
}

void
control_getinfo_attach(control_t *c)
{
  static const struct { const char *key, *doc; } keys[] = {
    { "version", "The current version of allium (in tor's form)." },
    { "info/names", "List of GETINFO options, types, and documentation." },
    { "events/names", "Events that the controller can ask for with "
      "SETEVENTS." },
    { "signal/names", "Signal names recognized by the SIGNAL command." },
    { "features/names", "What arguments USEFEATURE accepts." },
    { "process/pid", "Process id belonging to the main allium process." },
    { "process/uid", "User id running the allium process." },
    { "process/user", "Username under which the allium process is "
      "running." },
    { "process/descriptor-limit", "File descriptor limit." },
    { "status/bootstrap-phase", "The last bootstrap phase status event "
      "that allium sent." },
    { "uptime", "Uptime of the allium daemon in seconds." },
    { "traffic/read", "Bytes read since the process was started." },
    { "traffic/written", "Bytes written since the process was started." },
    { "dormant", "Is allium dormant (not building circuits because it's "
      "idle)?" },
    { "network-liveness", "Current opinion on whether the network is "
      "live." },
    { "status/version/current", "Status of the current version." },
  };
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    ctlinfo_register(keys[i].key, getinfo_builtin, c, keys[i].doc);
}
