/* log.h -- leveled logging in tor's line format.
 *
 *   Nov 24 03:25:00.123 [notice] crypto: message text
 *
 * Each .c file that logs defines LOG_MODULE (a short string naming its module)
 * before including this header, then calls log_notice("...", ...) etc.
 * Severities mean what arti's LogConventions say: notice = an operator wants
 * to see it once; warn = an operator must act; info/debug = developers.
 * Never log keys, payloads, destinations or onion addresses directly: pass
 * them through safe_str() so SafeLogging can scrub them.
 */
#ifndef ALLIUM_LIB_LOG_LOG_H
#define ALLIUM_LIB_LOG_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define SEV_DEBUG 0
#define SEV_INFO 1
#define SEV_NOTICE 2
#define SEV_WARN 3
#define SEV_ERR 4

#ifndef LOG_MODULE
#define LOG_MODULE "general"
#endif

/** Emit one message at severity from module (a string literal). */
void log_msg_(int severity, const char *module, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
void log_msgv_(int severity, const char *module, const char *fmt, va_list ap);

#define log_debug(...) log_msg_(SEV_DEBUG, LOG_MODULE, __VA_ARGS__)
#define log_info(...) log_msg_(SEV_INFO, LOG_MODULE, __VA_ARGS__)
#define log_notice(...) log_msg_(SEV_NOTICE, LOG_MODULE, __VA_ARGS__)
#define log_warn(...) log_msg_(SEV_WARN, LOG_MODULE, __VA_ARGS__)
#define log_err(...) log_msg_(SEV_ERR, LOG_MODULE, __VA_ARGS__)

/** 1 when a message at severity would be written anywhere. */
int log_is_enabled(int severity);

/** Parse "debug"/"info"/"notice"/"warn"/"err"; -1 if unknown. */
int log_severity_parse(const char *s);
const char *log_severity_name(int severity);

/** SafeLogging: 1 (default) scrubs sensitive strings, 0 shows them,
 * 2 ("relay") scrubs only client-related ones (treated as 1 for now). */
void log_set_safe_logging(int mode);
/** Return s, or "[scrubbed]" when SafeLogging is on. */
const char *safe_str(const char *s);

/* Sinks.  Until sinks are configured (log_sink_add(), log_sinks_clear() or
 * log_config_apply() in log_config.h), notice and above go to stderr.  A sink receives messages in [min_sev, max_sev]. */
typedef enum log_sink_kind_t {
  LOG_SINK_STDERR, LOG_SINK_STDOUT, LOG_SINK_FILE, LOG_SINK_SYSLOG,
  LOG_SINK_CALLBACK,
} log_sink_kind_t;
typedef void (*log_callback_fn)(int severity, const char *module, const char *msg,
                                void *arg);

/** Remove every sink (messages are then dropped until one is added). */
void log_sinks_clear(void);
/** Add a sink; for LOG_SINK_FILE, path is appended to (created 0600).
 * For LOG_SINK_CALLBACK, cb/arg are used. 0 or -1 (file can't be opened). */
int log_sink_add(log_sink_kind_t kind, int min_sev, int max_sev, const char *path,
                 log_callback_fn cb, void *arg);
/** Back to the default: notice+ on stderr. */
void log_sinks_reset_default(void);
/** The one observer: fn receives every message of severity >= min_sev
 * (the formatted message, without time stamp), whatever the sinks are;
 * messages it logs itself are dropped.  NULL fn removes it. */
void log_set_observer(int min_sev, log_callback_fn fn, void *arg);
/** Lower every sink's minimum severity to sev (SIGNAL DEBUG; the next
 * reload of the Log lines goes back). */
void log_sinks_set_min_severity(int sev);
/** Reopen file sinks (after SIGHUP / log rotation). */
void log_sinks_reopen(void);
/** Number of installed sinks (the built-in default counts as 1). */
int log_sinks_count(void);

/* Rate-limited logging (tor's behaviour): after a message from a call site
 * is logged, the ones from the same site within interval_sec are dropped;
 * the next one that gets through ends with
 *   " [N similar message(s) suppressed in last S seconds]".
 * Use it for every line a peer or an application can trigger repeatedly.
 * Each call site owns one static log_ratelim_t (no allocation):
 *
 *   static log_ratelim_t rl = LOG_RATELIM_INIT(60);
 *   log_warn_ratelim(&rl, "Bad cell from %s", who);
 *
 * or, shorter, log_warn_rl(60, "Bad cell from %s", who) which declares the
 * static struct itself. */
typedef struct log_ratelim_t {
  int interval_sec;
  long long last_allowed;   /* clock seconds + 1; 0 = never */
  unsigned suppressed;      /* messages dropped since the last allowed one */
  unsigned gen;             /* log_ratelim_reset_all() generation seen */
} log_ratelim_t;
#define LOG_RATELIM_INIT(sec) { (sec), 0, 0, 0 }

/** 1 when a message may be logged now, else 0 (and counts it as
 * suppressed).  When it returns 1, *n_suppressed (if not NULL) receives the
 * number dropped since the last allowed message. */
int log_ratelim_check(log_ratelim_t *rl, unsigned *n_suppressed);
/** Write the suppression note for n dropped messages into buf (empty when
 * n is 0); returns buf. */
char *log_ratelim_suffix(const log_ratelim_t *rl, unsigned n, char *buf,
                         size_t buflen);
/** Forget every limiter's history (all call sites): the next message of
 * each is logged.  For tests that look for a repeated line. */
void log_ratelim_reset_all(void);
/** Tests: replace the monotonic clock (seconds) used by the limiter; NULL
 * restores it. */
void log_ratelim_set_clock(long long (*now_sec)(void));

void log_msg_ratelim_(log_ratelim_t *rl, int severity, const char *module,
                      const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

#define log_debug_ratelim(rl, ...) \
  log_msg_ratelim_((rl), SEV_DEBUG, LOG_MODULE, __VA_ARGS__)
#define log_info_ratelim(rl, ...) \
  log_msg_ratelim_((rl), SEV_INFO, LOG_MODULE, __VA_ARGS__)
#define log_notice_ratelim(rl, ...) \
  log_msg_ratelim_((rl), SEV_NOTICE, LOG_MODULE, __VA_ARGS__)
#define log_warn_ratelim(rl, ...) \
  log_msg_ratelim_((rl), SEV_WARN, LOG_MODULE, __VA_ARGS__)

/* One static limiter per call site, declared by the macro. */
#define log_sev_rl_(sev, sec, ...) do { \
    static log_ratelim_t log_rl_site_ = LOG_RATELIM_INIT(sec); \
    log_msg_ratelim_(&log_rl_site_, (sev), LOG_MODULE, __VA_ARGS__); \
  } while (0)
#define log_info_rl(sec, ...) log_sev_rl_(SEV_INFO, (sec), __VA_ARGS__)
#define log_notice_rl(sec, ...) log_sev_rl_(SEV_NOTICE, (sec), __VA_ARGS__)
#define log_warn_rl(sec, ...) log_sev_rl_(SEV_WARN, (sec), __VA_ARGS__)

#endif
