/* test_metrics_text.c -- the Prometheus text format writer
 * (src/feature/metrics/metrics_text.c): HELP/TYPE once per family, name
 * checks, counters named *_total, escaping of label values and help. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/metrics/metrics_text.h"

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

Test(metrics_text, families_and_samples)
{
  metrics_text_t *t = metrics_text_new();
  cr_assert_eq(metrics_text_family(t, "tor_relay_traffic_bytes_total",
                                   METRICS_COUNTER, "Traffic"), 0);
  cr_assert_eq(metrics_text_u64(t, L("direction", "read"), 12), 0);
  cr_assert_eq(metrics_text_u64(t, L("direction", "written"), 18446744073709551615ULL), 0);
  cr_assert_eq(metrics_text_family(t, "allium_bootstrap_percent",
                                   METRICS_GAUGE, "Bootstrap"), 0);
  cr_assert_eq(metrics_text_u64(t, NULL, 100), 0);
  cr_assert_eq(metrics_text_family(t, "g", METRICS_GAUGE, NULL), 0);
  cr_assert_eq(metrics_text_u64(t, L("a", "1", "b", "2"), 0), 0);
  cr_assert_eq(metrics_text_double(t, NULL, 0.5), 0);
  cr_assert_eq(metrics_text_double(t, NULL, -INFINITY), 0);
  cr_assert_eq(metrics_text_double(t, NULL, NAN), 0);
  size_t n = 0;
  const char *s = metrics_text_data(t, &n);
  const char *want =
    "# HELP tor_relay_traffic_bytes_total Traffic\n"
    "# TYPE tor_relay_traffic_bytes_total counter\n"
    "tor_relay_traffic_bytes_total{direction=\"read\"} 12\n"
    "tor_relay_traffic_bytes_total{direction=\"written\"} 18446744073709551615\n"
    "# HELP allium_bootstrap_percent Bootstrap\n"
    "# TYPE allium_bootstrap_percent gauge\n"
    "allium_bootstrap_percent 100\n"
    "# HELP g \n"
    "# TYPE g gauge\n"
    "g{a=\"1\",b=\"2\"} 0\n"
    "g 0.5\n"
    "g -Inf\n"
    "g NaN\n";
  cr_assert_str_eq(s, want);
  cr_assert_eq(n, strlen(want));
  metrics_text_free(t);
  cr_assert_null(t);
  metrics_text_free(t);   /* NULL is fine */
}

Test(metrics_text, escaping)
{
  metrics_text_t *t = metrics_text_new();
  cr_assert_eq(metrics_text_family(t, "x", METRICS_GAUGE,
                                   "back\\slash \"quote\"\nnewline"), 0);
  cr_assert_eq(metrics_text_u64(t, L("v", "a\\b\"c\nd"), 1), 0);
  cr_assert_eq(metrics_text_u64(t, L("v", ""), 2), 0);
  const char *want =
    "# HELP x back\\\\slash \"quote\"\\nnewline\n"
    "# TYPE x gauge\n"
    "x{v=\"a\\\\b\\\"c\\nd\"} 1\n"
    "x{v=\"\"} 2\n";
  cr_assert_str_eq(metrics_text_data(t, NULL), want);
  metrics_text_free(t);
}

Test(metrics_text, refusals_write_nothing)
{
  metrics_text_t *t = metrics_text_new();
  cr_assert_eq(metrics_text_u64(t, NULL, 1), METRICS_TEXT_ERR_NO_FAMILY);
  cr_assert_eq(metrics_text_family(t, "c", METRICS_COUNTER, "h"),
               METRICS_TEXT_ERR_TYPE);
  cr_assert_eq(metrics_text_family(t, "_total", METRICS_COUNTER, "h"),
               METRICS_TEXT_ERR_TYPE);
  cr_assert_eq(metrics_text_family(t, "g_total", METRICS_GAUGE, "h"),
               METRICS_TEXT_ERR_TYPE);
  cr_assert_eq(metrics_text_family(t, "g", (metrics_type_t)7, "h"),
               METRICS_TEXT_ERR_TYPE);
  cr_assert_eq(metrics_text_family(t, "1abc", METRICS_GAUGE, "h"),
               METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_family(t, "a-b", METRICS_GAUGE, "h"),
               METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_family(t, "", METRICS_GAUGE, "h"),
               METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_family(t, NULL, METRICS_GAUGE, "h"),
               METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_family(t, "a b", METRICS_GAUGE, "h"),
               METRICS_TEXT_ERR_NAME);
  size_t n = 1;
  metrics_text_data(t, &n);
  cr_assert_eq(n, 0);
  cr_assert_eq(metrics_text_family(t, "ns:name_total", METRICS_COUNTER, "h"),
               0);
  cr_assert_eq(metrics_text_u64(t, L("a:b", "x"), 1), METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_u64(t, L("__name", "x"), 1),
               METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_u64(t, L("9a", "x"), 1), METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_u64(t, L("a", "x", "a", "y"), 1),
               METRICS_TEXT_ERR_NAME);
  cr_assert_eq(metrics_text_double(t, NULL, -1.0), METRICS_TEXT_ERR_VALUE);
  cr_assert_eq(metrics_text_double(t, NULL, NAN), METRICS_TEXT_ERR_VALUE);
  cr_assert_eq(metrics_text_family(t, "ns:name_total", METRICS_COUNTER, "h"),
               METRICS_TEXT_ERR_DUP);
  const char *want = "# HELP ns:name_total h\n# TYPE ns:name_total counter\n";
  cr_assert_str_eq(metrics_text_data(t, NULL), want);
  cr_assert_eq(metrics_text_u64(t, L("_ok", "x"), 3), 0);
  cr_assert_not_null(strstr(metrics_text_data(t, NULL),
                            "ns:name_total{_ok=\"x\"} 3\n"));
  cr_assert_not_null(metrics_text_strerror(METRICS_TEXT_ERR_DUP));
  cr_assert_not_null(metrics_text_strerror(-42));
  metrics_text_free(t);
}

Test(metrics_text, grows)
{
  metrics_text_t *t = metrics_text_new();
  cr_assert_eq(metrics_text_family(t, "big", METRICS_GAUGE, "h"), 0);
  char v[64];
  for (int i = 0; i < 5000; i++) {
    snprintf(v, sizeof(v), "%d", i);
    cr_assert_eq(metrics_text_u64(t, L("i", v), (uint64_t)i), 0);
  }
  size_t n = 0;
  const char *s = metrics_text_data(t, &n);
  cr_assert_eq(strlen(s), n);
  cr_assert_not_null(strstr(s, "big{i=\"4999\"} 4999\n"));
  metrics_text_free(t);
}
