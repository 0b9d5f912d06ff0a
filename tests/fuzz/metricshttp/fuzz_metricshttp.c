/* fuzz_metricshttp.c -- fuzz target for the MetricsPort's HTTP request
 * parser (src/feature/metrics/metrics_http.c, metrics_http_parse() and
 * metrics_http_route(); RFC 9112 request heads, tor(1) MetricsPort).  The
 * input is what a peer sends.  Checks: the result is 0 (only when less
 * than 8 KiB came), a head length within the input and the 8 KiB cap,
 * ending in LF, or one of the metrics_http_err_t codes; a parsed head
 * has a method and a target inside it, HTTP/1.0 or 1.1, routes to 200, 404
 * or 405, and parses the same alone; the response writer's length agrees
 * with its text. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/metrics/metrics_http.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

static void
check_head(const uint8_t *data, size_t len, int r,
           const metrics_http_req_t *req)
{
  const char *base = (const char *)data;
  if ((size_t)r > len || r > METRICS_HTTP_MAX_HEAD || data[r - 1] != '\n')
    abort();
  if (!req->method_len || !req->target_len ||
      req->method < base || req->target < req->method + req->method_len ||
      req->target + req->target_len > base + r)
    abort();
  if (req->minor_version != 0 && req->minor_version != 1)
    abort();
  int st = metrics_http_route(req);
  if (st != 200 && st != 404 && st != 405)
    abort();
  metrics_http_req_t again;
  if (metrics_http_parse(data, (size_t)r, &again) != r ||
      again.method_len != req->method_len ||
      again.target_len != req->target_len)
    abort();
  size_t n = 0;
  char *resp = metrics_http_response(st, base, (size_t)r, &n);
  if (n < (size_t)r || memcmp(resp + n - r, data, (size_t)r) != 0)
    abort();
  al_free(resp);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  metrics_http_req_t req;
  int r = metrics_http_parse(data, len, &req);
  if (r == 0) {
    if (len >= METRICS_HTTP_MAX_HEAD)
      abort();
    return 0;
  }
  if (r < 0) {
    if (r != METRICS_HTTP_ERR_SYNTAX && r != METRICS_HTTP_ERR_TOOLONG &&
        r != METRICS_HTTP_ERR_VERSION && r != METRICS_HTTP_ERR_HOST)
      abort();
    if (r == METRICS_HTTP_ERR_TOOLONG && len < METRICS_HTTP_MAX_HEAD)
      abort();
    return 0;
  }
  check_head(data, len, r, &req);
  return 0;
}
