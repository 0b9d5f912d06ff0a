/* log.c -- leveled logging with stderr/stdout/file/syslog/callback sinks.
 * Line format follows tor's: "Mon DD HH:MM:SS.mmm [severity] module: text". */
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

typedef struct log_sink_t {
  log_sink_kind_t kind;
  int min_sev, max_sev;
  char *path;
  int fd;
  log_callback_fn cb;
  void *arg;
  struct log_sink_t *next;
} log_sink_t;

static const char *severity_names[] = { "debug", "info", "notice", "warn", "err" };
static log_sink_t *sinks;
static int sinks_configured;   /* 0: use the built-in default (notice+ stderr) */
static int safe_logging = 1;
static int syslog_open;
static int in_log;             /* guards against a callback that logs */
/* The observer (the control port's log events): independent of the sinks,
 * so a reload of the Log lines keeps it. */
static log_callback_fn observer_fn;
static void *observer_arg;
static int observer_min_sev = SEV_ERR + 1;

const char *
log_severity_name(int sev)
{
  if (sev < SEV_DEBUG || sev > SEV_ERR)
    return "unknown";
  return severity_names[sev];
}

int
log_severity_parse(const char *s)
{
  for (int i = SEV_DEBUG; i <= SEV_ERR; i++)
    if (!strcasecmp(s, severity_names[i]))
      return i;
  if (!strcasecmp(s, "warning"))
    return SEV_WARN;
  if (!strcasecmp(s, "error"))
    return SEV_ERR;
  return -1;
}

void
log_set_safe_logging(int mode)
{
  safe_logging = mode;
}

const char *
safe_str(const char *s)
{
  return safe_logging ? "[scrubbed]" : s;
}

void
log_set_observer(int min_sev, log_callback_fn fn, void *arg)
{
  observer_fn = fn;
  observer_arg = arg;
  observer_min_sev = fn ? min_sev : SEV_ERR + 1;
}

int
log_is_enabled(int sev)
{
  if (sev >= observer_min_sev)
    return 1;
  if (!sinks_configured)
    return sev >= SEV_NOTICE;
  for (log_sink_t *k = sinks; k; k = k->next)
    if (sev >= k->min_sev && sev <= k->max_sev)
      return 1;
  return 0;
}

static void
write_all(int fd, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    buf += w;
    len -= (size_t)w;
  }
}

static int
syslog_priority(int sev)
{
  switch (sev) {
  case SEV_DEBUG: return 7;   /* syslog priorities */
  case SEV_INFO: return 6;
  case SEV_NOTICE: return 5;
  case SEV_WARN: return 4;
  default: return 3;
  }
}

static void
sink_emit(log_sink_t *k, int sev, const char *module, const char *line,
          size_t linelen, const char *msg)
{
  switch (k->kind) {
  case LOG_SINK_STDERR: write_all(STDERR_FILENO, line, linelen); break;
  case LOG_SINK_STDOUT: write_all(STDOUT_FILENO, line, linelen); break;
  case LOG_SINK_FILE: if (k->fd >= 0) write_all(k->fd, line, linelen); break;
  case LOG_SINK_SYSLOG:
    syslog(syslog_priority(sev), "[%s] %s: %s", log_severity_name(sev), module, msg);
    break;
  case LOG_SINK_CALLBACK: if (k->cb) k->cb(sev, module, msg, k->arg); break;
  }
}

void
log_msgv_(int sev, const char *module, const char *fmt, va_list ap)
{
  if (!log_is_enabled(sev) || in_log)
    return;
  char msg[4096];
  vsnprintf(msg, sizeof(msg), fmt, ap);

  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  time_t t = tv.tv_sec;
  localtime_r(&t, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm);
  char line[4300];
  int n = snprintf(line, sizeof(line), "%s.%03d [%s] %s: %s\n", stamp,
                   (int)(tv.tv_usec / 1000), log_severity_name(sev), module, msg);
  if (n < 0)
    return;
  size_t linelen = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  if (linelen == sizeof(line) - 1)
    line[linelen - 1] = '\n';

  in_log = 1;
  if (!sinks_configured) {
    if (sev >= SEV_NOTICE)
      write_all(STDERR_FILENO, line, linelen);
  } else {
    for (log_sink_t *k = sinks; k; k = k->next)
      if (sev >= k->min_sev && sev <= k->max_sev)
        sink_emit(k, sev, module, line, linelen, msg);
  }
  if (observer_fn && sev >= observer_min_sev)
    observer_fn(sev, module, msg, observer_arg);
  in_log = 0;
}

void
log_msg_(int sev, const char *module, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_msgv_(sev, module, fmt, ap);
  va_end(ap);
}

static int
sink_open_file(log_sink_t *k)
{
  k->fd = open(k->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  return k->fd < 0 ? -1 : 0;
}

void
log_sinks_clear(void)
{
  log_sink_t *k = sinks;
  while (k) {
    log_sink_t *next = k->next;
    if (k->fd >= 0)
      close(k->fd);
    al_free(k->path);
    al_free(k);
    k = next;
  }
  sinks = NULL;
  sinks_configured = 1;
}

int
log_sink_add(log_sink_kind_t kind, int min_sev, int max_sev, const char *path,
             log_callback_fn cb, void *arg)
{
  log_sink_t *k = al_calloc(1, sizeof(*k));
  k->kind = kind;
  k->min_sev = min_sev;
  k->max_sev = max_sev;
  k->fd = -1;
  k->cb = cb;
  k->arg = arg;
  if (kind == LOG_SINK_FILE) {
    k->path = al_strdup(path);
    if (sink_open_file(k) < 0) {
      al_free(k->path);
      al_free(k);
      return -1;
    }
  }
  if (kind == LOG_SINK_SYSLOG && !syslog_open) {
    openlog("allium", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    syslog_open = 1;
  }
  /* Append, keeping configuration order. */
  log_sink_t **pp = &sinks;
  while (*pp)
    pp = &(*pp)->next;
  *pp = k;
  sinks_configured = 1;
  return 0;
}

void
log_sinks_reset_default(void)
{
  log_sinks_clear();
  sinks_configured = 0;
}

void
log_sinks_set_min_severity(int sev)
{
  for (log_sink_t *k = sinks; k; k = k->next)
    if (k->min_sev > sev)
      k->min_sev = sev;
}

void
log_sinks_reopen(void)
{
  for (log_sink_t *k = sinks; k; k = k->next) {
    if (k->kind != LOG_SINK_FILE)
      continue;
    int oldfd = k->fd;
    if (sink_open_file(k) < 0)
      k->fd = oldfd;
    else if (oldfd >= 0)
      close(oldfd);
  }
}

int
log_sinks_count(void)
{
  if (!sinks_configured)
    return 1;
  int n = 0;
  for (log_sink_t *k = sinks; k; k = k->next)
    n++;
  return n;
}

static long long (*ratelim_clock)(void);

void
log_ratelim_set_clock(long long (*now_sec)(void))
{
  ratelim_clock = now_sec;
}

static long long
ratelim_now(void)
{
  if (ratelim_clock)
    return ratelim_clock();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec;
}

static unsigned ratelim_gen;

void
log_ratelim_reset_all(void)
{
  ratelim_gen++;
}

int
log_ratelim_check(log_ratelim_t *rl, unsigned *n_suppressed)
{
  long long now = ratelim_now() + 1;   /* +1: 0 means "never" */
  if (rl->gen != ratelim_gen) {
    rl->gen = ratelim_gen;
    rl->last_allowed = 0;
    rl->suppressed = 0;
  }
  if (rl->last_allowed && now - rl->last_allowed < rl->interval_sec &&
      now >= rl->last_allowed) {
    if (rl->suppressed < UINT_MAX)
      rl->suppressed++;
    return 0;
  }
  if (n_suppressed)
    *n_suppressed = rl->suppressed;
  rl->suppressed = 0;
  rl->last_allowed = now;
  return 1;
}

char *
log_ratelim_suffix(const log_ratelim_t *rl, unsigned n, char *buf,
                   size_t buflen)
{
  if (!buf || buflen == 0)
    return buf;
  buf[0] = '\0';
  if (n)
    snprintf(buf, buflen, " [%u similar message(s) suppressed in last %d "
             "seconds]", n, rl->interval_sec);
  return buf;
}

void
log_msg_ratelim_(log_ratelim_t *rl, int sev, const char *module,
                 const char *fmt, ...)
{
  if (!log_is_enabled(sev) || in_log)
    return;
  unsigned n = 0;
  if (!log_ratelim_check(rl, &n))
    return;
  char msg[4096], suffix[96];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  log_msg_(sev, module, "%s%s", msg,
           log_ratelim_suffix(rl, n, suffix, sizeof(suffix)));
}
