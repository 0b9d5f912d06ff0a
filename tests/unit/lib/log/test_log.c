/* test_log.c -- unit tests for src/lib/log: severity names, sinks (file,
 * callback), safe_str, tor-style Log line parsing and application, rate
 * limiting. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "test"
#include "allium/lib/log/log.h"
#include "allium/lib/log/log_config.h"
#include "allium/lib/malloc/malloc.h"

/* ---- helpers ---- */

typedef struct captured_t {
  int n;
  int last_sev;
  char last_module[32];
  char last_msg[256];
} captured_t;

static void
capture_cb(int sev, const char *module, const char *msg, void *arg)
{
  captured_t *c = arg;
  c->n++;
  c->last_sev = sev;
  snprintf(c->last_module, sizeof(c->last_module), "%s", module);
  snprintf(c->last_msg, sizeof(c->last_msg), "%s", msg);
}

static char *
tmp_path(const char *name)
{
  static char dir[64];
  if (!dir[0]) {
    snprintf(dir, sizeof(dir), "/tmp/allium-test-log-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
  }
  return al_asprintf("%s/%s", dir, name);
}

static char *
slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return al_strdup("");
  char *buf = al_calloc(1, 65536);
  size_t n = fread(buf, 1, 65535, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void
reset(void)
{
  log_sinks_reset_default();
  log_set_safe_logging(1);
}

TestSuite(log, .fini = reset);

/* ---- severities ---- */

Test(log, severity_parse_and_name)
{
  cr_assert_eq(log_severity_parse("debug"), SEV_DEBUG);
  cr_assert_eq(log_severity_parse("info"), SEV_INFO);
  cr_assert_eq(log_severity_parse("NOTICE"), SEV_NOTICE);
  cr_assert_eq(log_severity_parse("warn"), SEV_WARN);
  cr_assert_eq(log_severity_parse("warning"), SEV_WARN);
  cr_assert_eq(log_severity_parse("err"), SEV_ERR);
  cr_assert_eq(log_severity_parse("error"), SEV_ERR);
  cr_assert_eq(log_severity_parse(""), -1);
  cr_assert_eq(log_severity_parse("notic"), -1);
  cr_assert_eq(log_severity_parse("notice "), -1);
  cr_assert_str_eq(log_severity_name(SEV_NOTICE), "notice");
  cr_assert_str_eq(log_severity_name(SEV_ERR), "err");
  cr_assert_str_eq(log_severity_name(-1), "unknown");
  cr_assert_str_eq(log_severity_name(99), "unknown");
}

Test(log, severity_range)
{
  int lo, hi;
  cr_assert_eq(log_severity_range_parse("notice", &lo, &hi), 0);
  cr_assert_eq(lo, SEV_NOTICE);
  cr_assert_eq(hi, SEV_ERR);
  cr_assert_eq(log_severity_range_parse("info-warn", &lo, &hi), 0);
  cr_assert_eq(lo, SEV_INFO);
  cr_assert_eq(hi, SEV_WARN);
  cr_assert_eq(log_severity_range_parse("debug-debug", &lo, &hi), 0);
  cr_assert_eq(hi, SEV_DEBUG);
  cr_assert_eq(log_severity_range_parse("warn-info", &lo, &hi), -1);
  cr_assert_eq(log_severity_range_parse("notice-", &lo, &hi), -1);
  cr_assert_eq(log_severity_range_parse("-warn", &lo, &hi), -1);
  cr_assert_eq(log_severity_range_parse("", &lo, &hi), -1);
  cr_assert_eq(log_severity_range_parse("loud", &lo, &hi), -1);
  char big[100];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  cr_assert_eq(log_severity_range_parse(big, &lo, &hi), -1);
}

/* ---- sinks ---- */

Test(log, callback_sink_range)
{
  captured_t c = { 0 };
  log_sinks_clear();
  cr_assert_eq(log_sinks_count(), 0);
  cr_assert_eq(log_sink_add(LOG_SINK_CALLBACK, SEV_INFO, SEV_WARN, NULL,
                            capture_cb, &c), 0);
  cr_assert_eq(log_sinks_count(), 1);
  log_debug("not shown");
  cr_assert_eq(c.n, 0);
  log_info("hello %d", 42);
  cr_assert_eq(c.n, 1);
  cr_assert_eq(c.last_sev, SEV_INFO);
  cr_assert_str_eq(c.last_module, "test");
  cr_assert_str_eq(c.last_msg, "hello 42");
  log_err("too severe for this sink");
  cr_assert_eq(c.n, 1);
  cr_assert(log_is_enabled(SEV_WARN));
  cr_assert_not(log_is_enabled(SEV_ERR));
  cr_assert_not(log_is_enabled(SEV_DEBUG));
}

Test(log, no_sinks_drops_everything)
{
  log_sinks_clear();
  cr_assert_not(log_is_enabled(SEV_ERR));
  log_err("dropped");   /* must not crash */
  log_sinks_reset_default();
  cr_assert_eq(log_sinks_count(), 1);
  cr_assert(log_is_enabled(SEV_NOTICE));
  cr_assert_not(log_is_enabled(SEV_INFO));
}

Test(log, file_sink_format_and_mode)
{
  char *path = tmp_path("file.log");
  unlink(path);
  log_sinks_clear();
  cr_assert_eq(log_sink_add(LOG_SINK_FILE, SEV_NOTICE, SEV_ERR, path, NULL, NULL), 0);
  log_info("hidden line");
  log_notice("visible %s", "line");
  log_warn("second");
  char *text = slurp(path);
  cr_assert_null(strstr(text, "hidden line"));
  cr_assert_not_null(strstr(text, " [notice] test: visible line\n"), "got: %s", text);
  cr_assert_not_null(strstr(text, " [warn] test: second\n"));
  /* "Mon DD HH:MM:SS.mmm " prefix. */
  cr_assert(strlen(text) > 20);
  cr_assert_eq(text[15], '.');
  cr_assert_eq(text[19], ' ');
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  al_free(text);
  /* Rotation: rename the file, reopen, new lines go to a new file. */
  char *rotated = tmp_path("file.log.1");
  cr_assert_eq(rename(path, rotated), 0);
  log_sinks_reopen();
  log_notice("after rotation");
  text = slurp(path);
  cr_assert_not_null(strstr(text, "after rotation"));
  al_free(text);
  log_sinks_reset_default();
  unlink(path);
  unlink(rotated);
  al_free(rotated);
  al_free(path);
}

Test(log, file_sink_unopenable)
{
  log_sinks_clear();
  cr_assert_eq(log_sink_add(LOG_SINK_FILE, SEV_NOTICE, SEV_ERR,
                            "/nonexistent-dir/x/y.log", NULL, NULL), -1);
  cr_assert_eq(log_sinks_count(), 0);
}

Test(log, long_message_truncated)
{
  captured_t c = { 0 };
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_DEBUG, SEV_ERR, NULL, capture_cb, &c);
  char *big = al_malloc(10000);
  memset(big, 'x', 9999);
  big[9999] = '\0';
  log_notice("%s", big);
  cr_assert_eq(c.n, 1);
  al_free(big);
}

Test(log, safe_str)
{
  log_set_safe_logging(1);
  cr_assert_str_eq(safe_str("1.2.3.4"), "[scrubbed]");
  log_set_safe_logging(0);
  cr_assert_str_eq(safe_str("1.2.3.4"), "1.2.3.4");
  log_set_safe_logging(2);
  cr_assert_str_eq(safe_str("1.2.3.4"), "[scrubbed]");
}

/* ---- Log line parsing ---- */

static void
expect_spec(const char *line, log_sink_kind_t kind, int lo, int hi,
            const char *path)
{
  log_sink_spec_t s;
  char *err = NULL;
  cr_assert_eq(log_sink_spec_parse(line, &s, &err), 0, "\"%s\": %s", line,
               err ? err : "");
  cr_assert_null(err);
  cr_assert_eq(s.kind, kind, "\"%s\"", line);
  cr_assert_eq(s.min_sev, lo, "\"%s\"", line);
  cr_assert_eq(s.max_sev, hi, "\"%s\"", line);
  if (path)
    cr_assert_str_eq(s.path, path);
  else
    cr_assert_null(s.path);
  log_sink_spec_clear(&s);
}

static void
expect_bad(const char *line)
{
  log_sink_spec_t s;
  char *err = NULL;
  cr_assert_eq(log_sink_spec_parse(line, &s, &err), -1, "\"%s\" accepted", line);
  cr_assert_not_null(err, "\"%s\": no message", line);
  cr_assert_null(s.path);
  al_free(err);
}

Test(log, spec_parse_good)
{
  expect_spec("notice stderr", LOG_SINK_STDERR, SEV_NOTICE, SEV_ERR, NULL);
  expect_spec("  notice   stdout  ", LOG_SINK_STDOUT, SEV_NOTICE, SEV_ERR, NULL);
  expect_spec("notice-warn stdout", LOG_SINK_STDOUT, SEV_NOTICE, SEV_WARN, NULL);
  expect_spec("info file /var/log/allium/info.log", LOG_SINK_FILE, SEV_INFO,
              SEV_ERR, "/var/log/allium/info.log");
  expect_spec("debug file /tmp/a b.log ", LOG_SINK_FILE, SEV_DEBUG, SEV_ERR,
              "/tmp/a b.log");
  expect_spec("notice syslog", LOG_SINK_SYSLOG, SEV_NOTICE, SEV_ERR, NULL);
  expect_spec("WARN STDERR", LOG_SINK_STDERR, SEV_WARN, SEV_ERR, NULL);
  expect_spec("notice", LOG_SINK_STDOUT, SEV_NOTICE, SEV_ERR, NULL);
  expect_spec("err stderr", LOG_SINK_STDERR, SEV_ERR, SEV_ERR, NULL);
}

Test(log, spec_parse_domains)
{
  log_sink_spec_t s;
  cr_assert_eq(log_sink_spec_parse("[handshake]debug [*]notice stderr", &s, NULL), 0);
  cr_assert(s.had_domains);
  cr_assert_eq(s.min_sev, SEV_DEBUG);
  cr_assert_eq(s.max_sev, SEV_ERR);
  cr_assert_eq(s.kind, LOG_SINK_STDERR);
  log_sink_spec_clear(&s);
  cr_assert_eq(log_sink_spec_parse("[net,~crypto]info-notice file /tmp/x", &s, NULL), 0);
  cr_assert(s.had_domains);
  cr_assert_eq(s.min_sev, SEV_INFO);
  cr_assert_eq(s.max_sev, SEV_NOTICE);
  cr_assert_str_eq(s.path, "/tmp/x");
  log_sink_spec_clear(&s);
  cr_assert_eq(log_sink_spec_parse("notice stderr", &s, NULL), 0);
  cr_assert_not(s.had_domains);
  log_sink_spec_clear(&s);
}

Test(log, spec_parse_bad)
{
  expect_bad("");
  expect_bad("   ");
  expect_bad("stderr");
  expect_bad("loud stderr");
  expect_bad("notice nowhere");
  expect_bad("notice file");
  expect_bad("notice file   ");
  expect_bad("notice stderr extra");
  expect_bad("warn-info stderr");
  expect_bad("notice- stderr");
  expect_bad("[net debug stderr");
  expect_bad("[net]loud stderr");
  char big[600];
  memset(big, 'n', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  expect_bad(big);
  log_sink_spec_t s;
  cr_assert_eq(log_sink_spec_parse(NULL, &s, NULL), -1);
  cr_assert_eq(log_sink_spec_parse("nope", &s, NULL), -1);   /* NULL errmsg ok */
  log_sink_spec_clear(NULL);
}

/* ---- log_config_apply ---- */

Test(log, apply_default_is_one_stdout_sink)
{
  char *err = NULL;
  cr_assert_eq(log_config_apply(NULL, 0, &err), 0);
  cr_assert_eq(log_sinks_count(), 1);
  cr_assert(log_is_enabled(SEV_NOTICE));
  cr_assert_not(log_is_enabled(SEV_INFO));
}

Test(log, apply_files_and_ranges)
{
  char *a = tmp_path("a.log"), *b = tmp_path("b.log");
  unlink(a);
  unlink(b);
  char *la = al_asprintf("info-notice file %s", a);
  char *lb = al_asprintf("warn file %s", b);
  const char *lines[] = { la, lb };
  char *err = NULL;
  cr_assert_eq(log_config_apply(lines, 2, &err), 0, "%s", err ? err : "");
  cr_assert_eq(log_sinks_count(), 2);
  log_info("to-a-only");
  log_warn("to-b-only");
  log_debug("nowhere");
  char *ta = slurp(a), *tb = slurp(b);
  cr_assert_not_null(strstr(ta, "to-a-only"));
  cr_assert_null(strstr(ta, "to-b-only"));
  cr_assert_not_null(strstr(tb, "to-b-only"));
  cr_assert_null(strstr(tb, "to-a-only"));
  cr_assert_null(strstr(ta, "nowhere"));
  al_free(ta);
  al_free(tb);
  log_sinks_reset_default();
  unlink(a);
  unlink(b);
  al_free(la);
  al_free(lb);
  al_free(a);
  al_free(b);
}

Test(log, apply_failure_keeps_old_sinks)
{
  captured_t c = { 0 };
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_DEBUG, SEV_ERR, NULL, capture_cb, &c);
  const char *bad1[] = { "notice stderr", "loud stderr" };
  char *err = NULL;
  cr_assert_eq(log_config_apply(bad1, 2, &err), -1);
  cr_assert_not_null(err);
  cr_assert_not_null(strstr(err, "loud"), "%s", err);
  al_free(err);
  const char *bad2[] = { "notice file /nonexistent-dir/q/z.log" };
  cr_assert_eq(log_config_apply(bad2, 1, &err), -1);
  cr_assert_not_null(strstr(err, "/nonexistent-dir/q/z.log"), "%s", err);
  al_free(err);
  cr_assert_eq(log_sinks_count(), 1);
  log_notice("still captured");
  cr_assert_eq(c.n, 1);
  cr_assert_str_eq(c.last_msg, "still captured");
}

/* ---- rate limiting ---- */

Test(log, ratelim)
{
  log_ratelim_t rl = { .interval_sec = 3600 };
  unsigned supp = 99;
  cr_assert_eq(log_ratelim_check(&rl, &supp), 1);
  cr_assert_eq(supp, 0);
  cr_assert_eq(log_ratelim_check(&rl, &supp), 0);
  cr_assert_eq(log_ratelim_check(&rl, NULL), 0);
  cr_assert_eq(rl.suppressed, 2);
  log_ratelim_t zero = { .interval_sec = 0 };
  cr_assert_eq(log_ratelim_check(&zero, NULL), 1);
  cr_assert_eq(log_ratelim_check(&zero, NULL), 1);
}

static long long fake_now;
static long long
fake_clock(void)
{
  return fake_now;
}

static void
clock_reset(void)
{
  log_ratelim_set_clock(NULL);
  reset();
}

Test(log, ratelim_window_with_fake_clock, .fini = clock_reset)
{
  log_ratelim_set_clock(fake_clock);
  fake_now = 1000;
  log_ratelim_t rl = LOG_RATELIM_INIT(60);
  unsigned n = 7;
  cr_assert_eq(log_ratelim_check(&rl, &n), 1);
  cr_assert_eq(n, 0);
  fake_now = 1059;   /* still inside the interval */
  cr_assert_eq(log_ratelim_check(&rl, &n), 0);
  cr_assert_eq(log_ratelim_check(&rl, &n), 0);
  fake_now = 1060;   /* interval over */
  cr_assert_eq(log_ratelim_check(&rl, &n), 1);
  cr_assert_eq(n, 2);
  cr_assert_eq(rl.suppressed, 0);
  /* A clock that goes backwards never blocks forever. */
  fake_now = 10;
  cr_assert_eq(log_ratelim_check(&rl, &n), 1);
  cr_assert_eq(n, 0);
}

Test(log, ratelim_suffix_text)
{
  log_ratelim_t rl = LOG_RATELIM_INIT(30);
  char buf[96];
  cr_assert_str_eq(log_ratelim_suffix(&rl, 0, buf, sizeof(buf)), "");
  cr_assert_str_eq(log_ratelim_suffix(&rl, 5, buf, sizeof(buf)),
                   " [5 similar message(s) suppressed in last 30 seconds]");
  char tiny[8];
  log_ratelim_suffix(&rl, 123456, tiny, sizeof(tiny));
  cr_assert_eq(strlen(tiny), 7);   /* truncated, still terminated */
  cr_assert_null(log_ratelim_suffix(&rl, 1, NULL, 0));
}

Test(log, ratelim_macro_suppresses_and_reports, .fini = clock_reset)
{
  captured_t c = { 0 };
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_DEBUG, SEV_ERR, NULL, capture_cb, &c);
  log_ratelim_set_clock(fake_clock);
  fake_now = 5000;
  static log_ratelim_t rl = LOG_RATELIM_INIT(10);
  for (int i = 0; i < 1000; i++)
    log_warn_ratelim(&rl, "accept failed: %d", i);
  cr_assert_eq(c.n, 1);
  cr_assert_str_eq(c.last_msg, "accept failed: 0");
  cr_assert_eq(c.last_sev, SEV_WARN);
  fake_now = 5010;
  log_warn_ratelim(&rl, "accept failed: %d", 1000);
  cr_assert_eq(c.n, 2);
  cr_assert_str_eq(c.last_msg, "accept failed: 1000 [999 similar message(s) "
                   "suppressed in last 10 seconds]");
  /* Per-site macro: each expansion has its own limiter. */
  for (int i = 0; i < 50; i++)
    log_notice_rl(60, "site A %d", i);
  cr_assert_eq(c.n, 3);
  for (int i = 0; i < 50; i++)
    log_info_rl(60, "site B %d", i);
  cr_assert_eq(c.n, 4);
  cr_assert_str_eq(c.last_msg, "site B 0");
}

Test(log, ratelim_disabled_severity_counts_nothing, .fini = clock_reset)
{
  captured_t c = { 0 };
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_WARN, SEV_ERR, NULL, capture_cb, &c);
  log_ratelim_set_clock(fake_clock);
  fake_now = 1;
  log_ratelim_t rl = LOG_RATELIM_INIT(10);
  log_info_ratelim(&rl, "hidden");
  cr_assert_eq(rl.suppressed, 0);
  cr_assert_eq(rl.last_allowed, 0);
  log_warn_ratelim(&rl, "shown");
  cr_assert_eq(c.n, 1);
  cr_assert_str_eq(c.last_msg, "shown");
}

Test(log, ratelim_reset_all_forgets_history, .fini = clock_reset)
{
  log_ratelim_set_clock(fake_clock);
  fake_now = 100;
  log_ratelim_t rl = LOG_RATELIM_INIT(60);
  cr_assert_eq(log_ratelim_check(&rl, NULL), 1);
  cr_assert_eq(log_ratelim_check(&rl, NULL), 0);
  log_ratelim_reset_all();
  unsigned n = 9;
  cr_assert_eq(log_ratelim_check(&rl, &n), 1);
  cr_assert_eq(n, 0);
  cr_assert_eq(log_ratelim_check(&rl, NULL), 0);
}
