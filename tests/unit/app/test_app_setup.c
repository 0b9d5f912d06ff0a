/* test_app_setup.c -- unit tests for src/app/main: applying Log lines and
 * SafeLogging from parsed options, collecting port values for the
 * privileged-port check, and the subsystem order. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "allium/app/config/options.h"
#include "allium/app/main/subsystems.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "app/main/app_state.h"

static allium_options_t *
load(const char *text)
{
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(text, &o, &err), 0, "%s: %s", text,
               err ? err : "");
  cr_assert_not_null(o);
  return o;
}

static void
fini(void)
{
  log_sinks_reset_default();
  log_set_safe_logging(1);
}

TestSuite(app, .fini = fini);

Test(app, logging_default_is_stdout)
{
  allium_options_t *o = load("SocksPort 9050\n");
  char *err = NULL;
  cr_assert_eq(app_logging_apply(o, &err), 0);
  cr_assert_eq(log_sinks_count(), 1);
  cr_assert(log_is_enabled(SEV_NOTICE));
  cr_assert_not(log_is_enabled(SEV_INFO));
  cr_assert_str_eq(safe_str("x"), "[scrubbed]");
  options_free(o);
}

Test(app, logging_lines_and_safelogging)
{
  char path[] = "/tmp/allium-test-app-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  char *text = al_asprintf("Log info file %s\nLog warn stderr\nSafeLogging 0\n",
                           path);
  allium_options_t *o = load(text);
  char *err = NULL;
  cr_assert_eq(app_logging_apply(o, &err), 0, "%s", err ? err : "");
  cr_assert_eq(log_sinks_count(), 2);
  cr_assert(log_is_enabled(SEV_INFO));
  cr_assert_str_eq(safe_str("1.2.3.4"), "1.2.3.4");
  log_sinks_reset_default();
  FILE *f = fopen(path, "r");
  char buf[512] = "";
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  cr_assert_not_null(strstr(buf, "opening log file"), "%s", buf);
  unlink(path);
  al_free(text);
  options_free(o);
}

Test(app, logging_unopenable_file_keeps_old_sinks)
{
  allium_options_t *o = load("Log notice file /nonexistent-allium/dir/x.log\n");
  log_sinks_clear();
  log_sink_add(LOG_SINK_STDERR, SEV_ERR, SEV_ERR, NULL, NULL, NULL);
  char *err = NULL;
  cr_assert_eq(app_logging_apply(o, &err), -1);
  cr_assert_not_null(err);
  cr_assert_not_null(strstr(err, "/nonexistent-allium/dir/x.log"), "%s", err);
  cr_assert_eq(log_sinks_count(), 1);
  cr_assert_not(log_is_enabled(SEV_WARN));
  al_free(err);
  options_free(o);
}

Test(app, port_values)
{
  allium_options_t *o = load("SocksPort 127.0.0.1:9050\nSocksPort 9150\n"
                             "ORPort 443\nControlPort 9051\n"
                             "DataDirectory /tmp/allium-unused\n");
  size_t n = 0;
  const char **v = app_port_values(o, &n);
  cr_assert_eq(n, 4);
  cr_assert_str_eq(v[0], "127.0.0.1:9050");
  cr_assert_str_eq(v[1], "9150");
  cr_assert_str_eq(v[2], "443");
  cr_assert_str_eq(v[3], "9051");
  al_free(v);
  options_free(o);
}

Test(app, subsystem_order)
{
  size_t n = 0;
  const subsys_t *s = subsystems_list(&n);
  const char *want[] = { "log", "fdlimit", "daemon", "crypto", "evloop", "datadir",
                         "keys", "pidfile", "listeners", "relay", "control",
                         "metrics", "privs",
                         "signals" };
  cr_assert_eq(n, sizeof(want) / sizeof(want[0]));
  for (size_t i = 0; i < n; i++) {
    cr_assert_str_eq(s[i].name, want[i]);
    cr_assert_not_null(s[i].init, "%s has no init", s[i].name);
  }
}
