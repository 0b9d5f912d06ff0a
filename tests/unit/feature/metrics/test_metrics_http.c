/* test_metrics_http.c -- the MetricsPort's HTTP request parser, router and
 * response writer (src/feature/metrics/metrics_http.c): good requests,
 * malformed, truncated, oversized and split across reads. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/metrics/metrics_http.h"
#include "allium/lib/malloc/malloc.h"

static int
parse(const char *s, metrics_http_req_t *req)
{
  metrics_http_req_t dummy;
  return metrics_http_parse((const uint8_t *)s, strlen(s), req ? req : &dummy);
}

/* Every proper prefix of s needs more; all of s gives want. */
static void
expect_split(const char *s, int want)
{
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++) {
    metrics_http_req_t r;
    int got = metrics_http_parse((const uint8_t *)s, i, &r);
    if (want < 0 && got == want)
      return;   /* an error may be seen before the end */
    cr_assert_eq(got, 0, "prefix %zu of \"%s\": %d", i, s, got);
  }
  cr_assert_eq(parse(s, NULL), want, "\"%s\"", s);
}

Test(metrics_http, get_metrics)
{
  const char *s = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9035\r\n"
                  "User-Agent: Prometheus/2.45\r\nAccept: text/plain\r\n\r\n";
  metrics_http_req_t r;
  cr_assert_eq(parse(s, &r), (int)strlen(s));
  cr_assert_eq(r.method_len, 3);
  cr_assert_eq(memcmp(r.method, "GET", 3), 0);
  cr_assert_eq(r.target_len, 8);
  cr_assert_eq(memcmp(r.target, "/metrics", 8), 0);
  cr_assert_eq(r.minor_version, 1);
  cr_assert_eq(r.n_fields, 3);
  cr_assert_eq(metrics_http_route(&r), 200);
  expect_split(s, (int)strlen(s));
}

Test(metrics_http, http10_lf_and_trailing_bytes)
{
  const char *s = "GET /metrics HTTP/1.0\n\n";
  metrics_http_req_t r;
  cr_assert_eq(parse(s, &r), (int)strlen(s));
  cr_assert_eq(r.minor_version, 0);
  cr_assert_eq(r.n_fields, 0);
  /* a body (or a second request) after the head is not part of it */
  const char *b = "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
  cr_assert_eq(parse(b, &r), (int)strlen(b) - 3);
  cr_assert_eq(metrics_http_route(&r), 405);
  /* leading empty lines are skipped (RFC 9112 2.2) */
  cr_assert_gt(parse("\r\nGET /metrics HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(parse("\r\n\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n", NULL),
               METRICS_HTTP_ERR_SYNTAX);
}

Test(metrics_http, routes)
{
  metrics_http_req_t r;
  cr_assert_gt(parse("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(metrics_http_route(&r), 200);
  cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(metrics_http_route(&r), 404);
  cr_assert_gt(parse("GET /metricsx HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(metrics_http_route(&r), 404);
  cr_assert_gt(parse("GET /metrics/ HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(metrics_http_route(&r), 404);
  cr_assert_gt(parse("HEAD /metrics HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(metrics_http_route(&r), 405);
  cr_assert_gt(parse("get /metrics HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(metrics_http_route(&r), 405);   /* methods are case-sensitive */
  cr_assert_gt(parse("DELETE /x HTTP/1.0\r\n\r\n", &r), 0);
  cr_assert_eq(metrics_http_route(&r), 404);
}

Test(metrics_http, malformed)
{
  static const char *const bad[] = {
    "GARBAGE\r\n\r\n",
    "GET\r\n\r\n",
    "GET /metrics\r\n\r\n",
    "GET  /metrics HTTP/1.0\r\n\r\n",
    "GET /metrics  HTTP/1.0\r\n\r\n",
    "GET /metrics HTTP/1.0 \r\n\r\n",
    " GET /metrics HTTP/1.0\r\n\r\n",
    "G(T /metrics HTTP/1.0\r\n\r\n",
    "GET /met\x01rics HTTP/1.0\r\n\r\n",
    "GET /metrics http/1.0\r\n\r\n",
    "GET /metrics HTTP/1.00\r\n\r\n",
    "GET /metrics HTTP/1\r\n\r\n",
    "GET /metrics HTTP/1.0\r\nHost 1\r\n\r\n",
    "GET /metrics HTTP/1.0\r\nHost : x\r\n\r\n",
    "GET /metrics HTTP/1.0\r\n: x\r\n\r\n",
    "GET /metrics HTTP/1.0\r\nA: b\r\n folded\r\n\r\n",
    "GET /metrics HTTP/1.0\r\nA: b\x7f\r\n\r\n",
    "GET /metrics HTTP/1.0\r\nA: b\rc\r\n\r\n",
    "GET /metrics HTTP/1.0\rX\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(parse(bad[i], NULL), METRICS_HTTP_ERR_SYNTAX, "%zu: %s", i,
                 bad[i]);
  /* a NUL inside */
  const char nul[] = "GET /metrics HTTP/1.0\r\nA: b\0c\r\n\r\n";
  metrics_http_req_t r;
  cr_assert_eq(metrics_http_parse((const uint8_t *)nul, sizeof(nul) - 1, &r),
               METRICS_HTTP_ERR_SYNTAX);
  cr_assert_eq(metrics_http_parse(NULL, 0, &r), 0);
}

Test(metrics_http, versions_and_host)
{
  cr_assert_eq(parse("GET /metrics HTTP/2.0\r\n\r\n", NULL),
               METRICS_HTTP_ERR_VERSION);
  cr_assert_eq(parse("GET /metrics HTTP/1.2\r\n\r\n", NULL),
               METRICS_HTTP_ERR_VERSION);
  cr_assert_eq(parse("GET /metrics HTTP/0.9\r\n\r\n", NULL),
               METRICS_HTTP_ERR_VERSION);
  cr_assert_eq(parse("GET /metrics HTTP/1.1\r\n\r\n", NULL),
               METRICS_HTTP_ERR_HOST);
  cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
                     NULL), METRICS_HTTP_ERR_HOST);
  cr_assert_gt(parse("GET /metrics HTTP/1.1\r\nHOST:a\r\n\r\n", NULL), 0);
  cr_assert_gt(parse("GET /metrics HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
                     NULL), 0);
  cr_assert_str_eq(metrics_http_strerror(METRICS_HTTP_ERR_HOST),
                   "HTTP/1.1 request without one Host");
  cr_assert_not_null(metrics_http_strerror(-99));
}

Test(metrics_http, truncated_and_oversized)
{
  cr_assert_eq(parse("GET /metrics HTTP/1.0\r\n", NULL), 0);
  cr_assert_eq(parse("GET /metrics HTTP/1.0\r\nHost: x\r\n", NULL), 0);
  cr_assert_eq(parse("GET /metr", NULL), 0);
  /* a head that does not end within 8 KiB */
  size_t n = METRICS_HTTP_MAX_HEAD + 100;
  char *big = al_malloc(n + 1);
  memset(big, 'a', n);
  memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
  big[n] = '\0';
  metrics_http_req_t r;
  cr_assert_eq(metrics_http_parse((const uint8_t *)big,
                                  METRICS_HTTP_MAX_HEAD - 1, &r), 0);
  cr_assert_eq(metrics_http_parse((const uint8_t *)big,
                                  METRICS_HTTP_MAX_HEAD, &r),
               METRICS_HTTP_ERR_TOOLONG);
  cr_assert_eq(metrics_http_parse((const uint8_t *)big, n, &r),
               METRICS_HTTP_ERR_TOOLONG);
  /* one that ends exactly at the limit is fine */
  memcpy(big + METRICS_HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
  cr_assert_eq(metrics_http_parse((const uint8_t *)big, n, &r),
               METRICS_HTTP_MAX_HEAD);
  /* an empty line past the limit is not looked for */
  memset(big + 26, 'a', n - 26);
  memcpy(big + METRICS_HTTP_MAX_HEAD, "\r\n\r\n", 4);
  cr_assert_eq(metrics_http_parse((const uint8_t *)big, n, &r),
               METRICS_HTTP_ERR_TOOLONG);
  al_free(big);
}

Test(metrics_http, split_everywhere)
{
  const char *a = "GET /metrics HTTP/1.0\r\nA: b\r\n\r\n";
  const char *b = "GET /metrics HTTP/1.0\nA: b\n\n";
  expect_split(a, (int)strlen(a));
  expect_split(b, (int)strlen(b));
  expect_split("GET /metrics HTTP/1.1\r\n\r\n", METRICS_HTTP_ERR_HOST);
  expect_split("BAD\r\n\r\n", METRICS_HTTP_ERR_SYNTAX);
}

Test(metrics_http, responses)
{
  size_t n = 0;
  char *r = metrics_http_response(200, "a 1\n", 4, &n);
  const char *want = "HTTP/1.0 200 OK\r\n"
                     "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                     "Content-Length: 4\r\nConnection: close\r\n\r\na 1\n";
  cr_assert_eq(n, strlen(want));
  cr_assert_str_eq(r, want);
  al_free(r);
  r = metrics_http_response(405, NULL, 0, &n);
  cr_assert_not_null(strstr(r, "HTTP/1.0 405 Method Not Allowed\r\n"));
  cr_assert_not_null(strstr(r, "\r\nAllow: GET\r\n"));
  cr_assert_not_null(strstr(r, "\r\nContent-Length: 0\r\n"));
  cr_assert_eq(strlen(r), n);
  al_free(r);
  r = metrics_http_response(404, "404\n", 4, &n);
  cr_assert_eq(strncmp(r, "HTTP/1.0 404 Not Found\r\n", 24), 0);
  cr_assert_null(strstr(r, "Allow:"));
  al_free(r);
  r = metrics_http_response(400, "x", 1, &n);
  cr_assert_eq(strncmp(r, "HTTP/1.0 400 Bad Request\r\n", 26), 0);
  al_free(r);
}
