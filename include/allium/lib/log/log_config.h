/* log_config.h -- parse tor-style `Log` lines and install the sinks.
 *
 * A Log value is one or more severity groups followed by a destination:
 *
 *   notice stderr              notice and above to stderr
 *   info file /var/log/a.log   info and above appended to a file
 *   notice-warn stdout         notice and warn only
 *   [handshake]debug [*]info stderr   domains: accepted, ignored
 *   notice syslog
 *   notice                     no destination: stdout
 *
 * Severity ranges are "min" (up to err) or "min-max".  Domains in brackets
 * are accepted for tor compatibility but allium has no per-domain filtering:
 * each group's severity range applies to every module, and the union of the
 * groups' ranges is used.
 */
#ifndef ALLIUM_LIB_LOG_LOG_CONFIG_H
#define ALLIUM_LIB_LOG_LOG_CONFIG_H

#include <stddef.h>

#include "allium/lib/log/log.h"

/** One parsed Log line. */
typedef struct log_sink_spec_t {
  log_sink_kind_t kind;
  int min_sev, max_sev;
  char *path;          /* LOG_SINK_FILE only; owned by the spec. */
  int had_domains;     /* 1 when [domain] prefixes were given (ignored) */
} log_sink_spec_t;

/** Parse a severity range "notice" or "notice-warn" into *min and *max
 * (max defaults to SEV_ERR).  0 or -1. */
int log_severity_range_parse(const char *s, int *min_out, int *max_out);

/** Parse one Log value (the text after "Log ") into *out.  On failure
 * returns -1 and, when errmsg is not NULL, sets *errmsg to a message the
 * caller frees.  On success the caller clears *out with
 * log_sink_spec_clear(). */
int log_sink_spec_parse(const char *value, log_sink_spec_t *out, char **errmsg);

/** Free the fields of a spec (not the spec itself); NULL ok. */
void log_sink_spec_clear(log_sink_spec_t *spec);

/** Replace the current sinks with those described by lines[0..n-1];
 * n == 0 means the default, "notice stdout" (as tor does).  All lines are
 * parsed and every file is opened before anything changes, so on failure
 * (-1, *errmsg set, caller frees) the previous sinks stay in place. */
int log_config_apply(const char *const *lines, size_t n, char **errmsg);

#endif
