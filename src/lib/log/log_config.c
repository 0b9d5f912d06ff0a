/* log_config.c -- parse tor-style `Log` option values into sink specs and
 * install them all-or-nothing (tor-manual "Log" option syntax; no torspec
 * section: logging is local behaviour). */
#define LOG_MODULE "log"
#include "allium/lib/log/log_config.h"
#include "allium/lib/malloc/malloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void
set_err(char **errmsg, char *msg)
{
  if (errmsg)
    *errmsg = msg;
  else
    al_free(msg);
}

int
log_severity_range_parse(const char *s, int *min_out, int *max_out)
{
  const char *dash = strchr(s, '-');
  char buf[32];
  size_t n = dash ? (size_t)(dash - s) : strlen(s);
  if (n == 0 || n >= sizeof(buf))
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  int lo = log_severity_parse(buf), hi = SEV_ERR;
  if (lo < 0)
    return -1;
  if (dash) {
    hi = log_severity_parse(dash + 1);
    if (hi < 0 || hi < lo)
      return -1;
  }
  *min_out = lo;
  *max_out = hi;
  return 0;
}

/* Copy the next whitespace-separated token of *sp into buf; 0, or -1 at end
 * or when the token does not fit. */
static int
next_token(const char **sp, char *buf, size_t buflen)
{
  const char *s = *sp;
  while (*s && isspace((unsigned char)*s))
    s++;
  if (!*s)
    return -1;
  size_t n = 0;
  while (s[n] && !isspace((unsigned char)s[n]))
    n++;
  *sp = s + n;
  if (n >= buflen)
    return -2;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return 0;
}

/* A severity group "[dom,...]sev[-sev]" (domain prefix optional).  Returns 1
 * when tok is one (range merged into *lo and *hi), 0 when it is not a group. */
static int
parse_group(const char *tok, int *lo, int *hi, int *had_domains, char **errmsg)
{
  const char *sev = tok;
  if (tok[0] == '[') {
    const char *close = strchr(tok, ']');
    if (!close) {
      set_err(errmsg, al_asprintf("Log: unterminated domain list in \"%s\"", tok));
      return -1;
    }
    *had_domains = 1;
    sev = close + 1;
  }
  int a, b;
  if (log_severity_range_parse(sev, &a, &b) < 0) {
    if (tok[0] == '[') {
      set_err(errmsg, al_asprintf("Log: bad severity \"%s\"", sev));
      return -1;
    }
    return 0;
  }
  if (a < *lo)
    *lo = a;
  if (b > *hi)
    *hi = b;
  return 1;
}

static int
parse_destination(const char *tok, const char *rest, log_sink_spec_t *out,
                  char **errmsg)
{
  if (!strcasecmp(tok, "stderr")) {
    out->kind = LOG_SINK_STDERR;
  } else if (!strcasecmp(tok, "stdout")) {
    out->kind = LOG_SINK_STDOUT;
  } else if (!strcasecmp(tok, "syslog")) {
    out->kind = LOG_SINK_SYSLOG;
  } else if (!strcasecmp(tok, "file")) {
    while (*rest && isspace((unsigned char)*rest))
      rest++;
    size_t n = strlen(rest);
    while (n > 0 && isspace((unsigned char)rest[n - 1]))
      n--;
    if (n == 0) {
      set_err(errmsg, al_strdup("Log: \"file\" needs a file name"));
      return -1;
    }
    out->kind = LOG_SINK_FILE;
    out->path = al_strndup(rest, n);
    return 0;
  } else {
    set_err(errmsg, al_asprintf("Log: unrecognized destination or severity "
                                "\"%s\" (use stderr, stdout, syslog or file PATH)",
                                tok));
    return -1;
  }
  while (*rest && isspace((unsigned char)*rest))
    rest++;
  if (*rest) {
    set_err(errmsg, al_asprintf("Log: unexpected text after \"%s\": \"%s\"", tok,
                                rest));
    return -1;
  }
  return 0;
}

int
log_sink_spec_parse(const char *value, log_sink_spec_t *out, char **errmsg)
{
  memset(out, 0, sizeof(*out));
  if (errmsg)
    *errmsg = NULL;
  if (!value) {
    set_err(errmsg, al_strdup("Log: empty value"));
    return -1;
  }
  int lo = SEV_ERR + 1, hi = -1, groups = 0;
  const char *s = value;
  char tok[256];
  for (;;) {
    int r = next_token(&s, tok, sizeof(tok));
    if (r == -2) {
      set_err(errmsg, al_strdup("Log: token too long"));
      return -1;
    }
    if (r < 0) {
      if (groups == 0) {
        set_err(errmsg, al_strdup("Log: missing severity (e.g. \"notice stdout\")"));
        return -1;
      }
      out->kind = LOG_SINK_STDOUT;   /* no destination: tor's default */
      break;
    }
    int g = parse_group(tok, &lo, &hi, &out->had_domains, errmsg);
    if (g < 0)
      return -1;
    if (g == 1) {
      groups++;
      continue;
    }
    if (groups == 0) {
      set_err(errmsg, al_asprintf("Log: bad severity \"%s\" (use debug, info, "
                                  "notice, warn or err, or a range like notice-warn)",
                                  tok));
      return -1;
    }
    if (parse_destination(tok, s, out, errmsg) < 0) {
      log_sink_spec_clear(out);
      return -1;
    }
    break;
  }
  out->min_sev = lo;
  out->max_sev = hi;
  return 0;
}

void
log_sink_spec_clear(log_sink_spec_t *spec)
{
  if (!spec)
    return;
  al_free(spec->path);
  memset(spec, 0, sizeof(*spec));
}

static void
specs_free(log_sink_spec_t *specs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    log_sink_spec_clear(&specs[i]);
  al_free(specs);
}

/* Check that a file sink can be opened for appending (creating it 0600). */
static int
probe_file(const char *path, char **errmsg)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    set_err(errmsg, al_asprintf("Couldn't open log file \"%s\": %s", path,
                                strerror(errno)));
    return -1;
  }
  close(fd);
  return 0;
}

int
log_config_apply(const char *const *lines, size_t n, char **errmsg)
{
  static const char *const default_line[] = { "notice stdout" };
  if (errmsg)
    *errmsg = NULL;
  if (n == 0) {
    lines = default_line;
    n = 1;
  }
  log_sink_spec_t *specs = al_calloc(n, sizeof(*specs));
  int domains = 0;
  for (size_t i = 0; i < n; i++) {
    if (log_sink_spec_parse(lines[i], &specs[i], errmsg) < 0 ||
        (specs[i].kind == LOG_SINK_FILE && probe_file(specs[i].path, errmsg) < 0)) {
      specs_free(specs, n);
      return -1;
    }
    domains |= specs[i].had_domains;
  }
  log_sinks_clear();
  for (size_t i = 0; i < n; i++) {
    if (log_sink_add(specs[i].kind, specs[i].min_sev, specs[i].max_sev,
                     specs[i].path, NULL, NULL) < 0) {
      /* The file vanished between the probe and now: fall back to stderr so
       * messages are not lost, and report it. */
      log_sink_add(LOG_SINK_STDERR, SEV_NOTICE, SEV_ERR, NULL, NULL, NULL);
      set_err(errmsg, al_asprintf("Couldn't open log file \"%s\"", specs[i].path));
      specs_free(specs, n);
      return -1;
    }
  }
  specs_free(specs, n);
  if (domains)
    log_info("Log domains are accepted for compatibility but not filtered on: "
             "every module is logged at the configured severities.");
  return 0;
}
