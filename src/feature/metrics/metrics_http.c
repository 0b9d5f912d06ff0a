/* metrics_http.c -- the MetricsPort's HTTP, sans I/O (tor(1) MetricsPort:
 * "an HTTP GET request to /metrics"): parse an HTTP/1.0 or 1.1 request
 * head (RFC 9112 2.2 message parsing, 3 request line, 5 field syntax and
 * 3.2 Host), decide the status, write the response (RFC 9110 15 status
 * codes; the Prometheus text format's Content-Type).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "allium/feature/metrics/metrics_http.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/http_token.h"

const char *
metrics_http_strerror(int err)
{
  switch (err) {
  case METRICS_HTTP_OK: return "no error";
  case METRICS_HTTP_ERR_SYNTAX: return "malformed HTTP request";
  case METRICS_HTTP_ERR_TOOLONG: return "HTTP request head too long";
  case METRICS_HTTP_ERR_VERSION: return "unsupported HTTP version";
  case METRICS_HTTP_ERR_HOST: return "HTTP/1.1 request without one Host";
  default: return "unknown HTTP error";
  }
}

/* The line starting at buf[pos]: its length without the terminator in
 * *line_len, the offset after the terminator in *next.  false when no LF
 * is in buf[pos..len); a CR anywhere but just before the LF is -1. */
static int
next_line(const uint8_t *buf, size_t len, size_t pos, size_t *line_len,
          size_t *next)
{
  const uint8_t *lf = memchr(buf + pos, '\n', len - pos);
  if (!lf)
    return 0;
  size_t end = (size_t)(lf - buf);
  *next = end + 1;
  if (end > pos && buf[end - 1] == '\r')
    end--;
  if (memchr(buf + pos, '\r', end - pos))
    return -1;
  *line_len = end - pos;
  return 1;
}

/* "METHOD SP target SP HTTP/1.x" (RFC 9112 3). */
static int
parse_request_line(const char *s, size_t n, metrics_http_req_t *out)
{
  size_t m = http_token_len(s, n);
  if (m == 0 || m >= n || s[m] != ' ')
    return METRICS_HTTP_ERR_SYNTAX;
  size_t t0 = m + 1, t = t0;
  while (t < n && s[t] > 0x20 && s[t] < 0x7f)
    t++;
  if (t == t0 || t >= n || s[t] != ' ')
    return METRICS_HTTP_ERR_SYNTAX;
  const char *v = s + t + 1;
  size_t vn = n - t - 1;
  if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
      v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
    return METRICS_HTTP_ERR_SYNTAX;
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
    return METRICS_HTTP_ERR_VERSION;
  out->method = s;
  out->method_len = m;
  out->target = s + t0;
  out->target_len = t - t0;
  out->minor_version = v[7] - '0';
  return 0;
}

/* "name:" OWS value OWS (RFC 9112 5; no blank before the colon, no
 * obs-fold).  *is_host is set for a Host field. */
static int
parse_field(const char *s, size_t n, bool *is_host)
{
  size_t k = http_token_len(s, n);
  if (k == 0 || k >= n || s[k] != ':')
    return METRICS_HTTP_ERR_SYNTAX;
  if (!http_field_value_ok(s + k + 1, n - k - 1))
    return METRICS_HTTP_ERR_SYNTAX;
  *is_host = k == 4 && !strncasecmp(s, "host", 4);
  return 0;
}

int
metrics_http_parse(const uint8_t *buf, size_t len, metrics_http_req_t *out)
{
  metrics_http_req_t req;
  size_t pos = 0, n = 0, next = 0, hosts = 0;
  bool have_line = false;
  memset(&req, 0, sizeof(req));
  if (!buf || !len)
    return 0;
  size_t scan = len < METRICS_HTTP_MAX_HEAD ? len : METRICS_HTTP_MAX_HEAD;
  for (;;) {
    int r = next_line(buf, scan, pos, &n, &next);
    if (r < 0)
      return METRICS_HTTP_ERR_SYNTAX;
    if (r == 0)
      return len >= METRICS_HTTP_MAX_HEAD ? METRICS_HTTP_ERR_TOOLONG : 0;
    const char *s = (const char *)buf + pos;
    pos = next;
    if (!have_line) {
      if (n == 0) {
        if (pos > 4)   /* a few empty lines first at most (RFC 9112 2.2) */
          return METRICS_HTTP_ERR_SYNTAX;
        continue;
      }
      r = parse_request_line(s, n, &req);
      if (r < 0)
        return r;
      have_line = true;
      continue;
    }
    if (n == 0)
      break;
    bool is_host = false;
    if (parse_field(s, n, &is_host) < 0)
      return METRICS_HTTP_ERR_SYNTAX;
    hosts += is_host;
    req.n_fields++;
  }
  if (req.minor_version == 1 && hosts != 1)
    return METRICS_HTTP_ERR_HOST;
  *out = req;
  return (int)pos;
}

int
metrics_http_route(const metrics_http_req_t *req)
{
  static const char path[] = "/metrics";
  size_t pl = sizeof(path) - 1;
  bool ours = req->target_len >= pl && !memcmp(req->target, path, pl) &&
              (req->target_len == pl || req->target[pl] == '?');
  if (!ours)
    return 404;
  if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0)
    return 405;
  return 200;
}

static const char *
reason(int status)
{
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 503: return "Service Unavailable";
  default: return "Error";
  }
}

char *
metrics_http_response(int status, const char *body, size_t body_len,
                      size_t *len_out)
{
  const char *ctype = status == 200
    ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8";
  char *head = al_asprintf("HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
                           "Content-Length: %zu\r\n%sConnection: close\r\n"
                           "\r\n", status, reason(status), ctype, body_len,
                           status == 405 ? "Allow: GET\r\n" : "");
  size_t hl = strlen(head);
  char *out = al_malloc(hl + body_len + 1);
  memcpy(out, head, hl);
  if (body_len)
    memcpy(out + hl, body, body_len);
  out[hl + body_len] = '\0';
  al_free(head);
  *len_out = hl + body_len;
  return out;
}
