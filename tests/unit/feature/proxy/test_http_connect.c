/* test_http_connect.c -- HTTP CONNECT parser for HTTPTunnelPort: good,
 * bad, oversized and slowloris-style partial input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/feature/proxy/http_connect.h"
#include "allium/lib/malloc/malloc.h"

/* Feed s in chunks of `chunk` bytes (0: at once). Returns the last result;
 * *used gets the bytes consumed, *status the error status. */
static http_connect_result_t
feed(http_connect_t *hc, const char *s, size_t len, size_t chunk,
     size_t *used)
{
  size_t pos = 0;
  http_connect_result_t r = HTTP_CONNECT_NEED_MORE;
  while (pos < len) {
    size_t n = chunk ? chunk : len - pos;
    if (n > len - pos)
      n = len - pos;
    size_t u = 0;
    r = http_connect_feed(hc, (const uint8_t *)s + pos, n, &u);
    cr_assert_leq(u, n);
    pos += u;
    if (r != HTTP_CONNECT_NEED_MORE)
      break;
    cr_assert_eq(u, n);
  }
  if (used)
    *used = pos;
  return r;
}

/* Expect status (0 = success) for s, at once and byte by byte. */
static void
expect(const char *s, int status)
{
  for (size_t chunk = 0; chunk <= 1; chunk++) {
    http_connect_t *hc = http_connect_new();
    http_connect_result_t r = feed(hc, s, strlen(s), chunk, NULL);
    int st = -1;
    const char *resp = http_connect_response(hc, &st);
    if (status == 0) {
      cr_assert_eq(r, HTTP_CONNECT_REQUEST_READY, "'%s' chunk %zu", s, chunk);
      cr_assert_null(resp);
      cr_assert_eq(st, 0);
    } else {
      cr_assert_eq(r, HTTP_CONNECT_ERROR, "'%s' chunk %zu", s, chunk);
      cr_assert_eq(st, status, "'%s': %d", s, st);
      char pre[32];
      snprintf(pre, sizeof(pre), "HTTP/1.0 %d ", status);
      cr_assert_eq(strncmp(resp, pre, strlen(pre)), 0);
      cr_assert_not_null(strstr(resp, "\r\n\r\n"));
      cr_assert_null(http_connect_request(hc));
    }
    http_connect_free(hc);
  }
}

Test(http_connect, good)
{
  const char *req = "CONNECT www.example.com:443 HTTP/1.1\r\n"
                    "Host: www.example.com:443\r\n"
                    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
                    "X-Tor-Stream-Isolation: abc\r\n"
                    "\r\n"
                    "\x16\x03\x01";
  size_t len = strlen(req);
  for (size_t chunk = 0; chunk <= 7; chunk++) {
    http_connect_t *hc = http_connect_new();
    size_t used;
    cr_assert_eq(feed(hc, req, len, chunk, &used), HTTP_CONNECT_REQUEST_READY);
    cr_assert_eq(used, len - 3);  /* tunnel data is not consumed */
    const http_connect_request_t *r = http_connect_request(hc);
    cr_assert_not_null(r);
    cr_assert_str_eq(r->host, "www.example.com");
    cr_assert_eq(r->port, 443);
    cr_assert(!r->host_is_ipv6);
    cr_assert_eq(r->http_minor, 1);
    cr_assert_str_eq(r->proxy_auth, "Basic dXNlcjpwYXNz");
    cr_assert_str_eq(r->basic_user, "user");
    cr_assert_str_eq(r->basic_pass, "pass");
    cr_assert_str_eq(r->stream_isolation, "abc");
    size_t u2;
    cr_assert_eq(http_connect_feed(hc, (const uint8_t *)"x", 1, &u2),
                 HTTP_CONNECT_REQUEST_READY);
    cr_assert_eq(u2, 0);
    http_connect_free(hc);
  }
}

Test(http_connect, good_variants)
{
  http_connect_t *hc = http_connect_new();
  const char *s = "\r\nCONNECT [2001:db8::1]:8080 HTTP/1.0\n\n";
  cr_assert_eq(feed(hc, s, strlen(s), 0, NULL), HTTP_CONNECT_REQUEST_READY);
  const http_connect_request_t *r = http_connect_request(hc);
  cr_assert_str_eq(r->host, "2001:db8::1");
  cr_assert(r->host_is_ipv6);
  cr_assert_eq(r->port, 8080);
  cr_assert_eq(r->http_minor, 0);
  cr_assert_null(r->proxy_auth);
  cr_assert_null(r->basic_user);
  cr_assert_null(r->stream_isolation);
  http_connect_free(hc);
  hc = http_connect_new();
  s = "CONNECT 10.0.0.1:1 HTTP/1.1\r\nproxy-authorization:   Bearer xyz  \r\n"
      "Empty:\r\n\r\n";
  cr_assert_eq(feed(hc, s, strlen(s), 1, NULL), HTTP_CONNECT_REQUEST_READY);
  r = http_connect_request(hc);
  cr_assert_str_eq(r->host, "10.0.0.1");
  cr_assert_str_eq(r->proxy_auth, "Bearer xyz");
  cr_assert_null(r->basic_user);
  http_connect_free(hc);
  /* Basic with bad base64 / no colon: kept raw, not decoded */
  hc = http_connect_new();
  s = "CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic !!!\r\n\r\n";
  cr_assert_eq(feed(hc, s, strlen(s), 0, NULL), HTTP_CONNECT_REQUEST_READY);
  cr_assert_null(http_connect_request(hc)->basic_user);
  http_connect_free(hc);
  hc = http_connect_new();
  s = "CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: basic dXNlcg==\r\n\r\n";
  cr_assert_eq(feed(hc, s, strlen(s), 0, NULL), HTTP_CONNECT_REQUEST_READY);
  cr_assert_null(http_connect_request(hc)->basic_user);
  http_connect_free(hc);
  expect("CONNECT a:65535 HTTP/1.1\r\n\r\n", 0);
  http_connect_free(hc);  /* NULL is fine */
}

Test(http_connect, bad)
{
  expect("GET http://example.com/ HTTP/1.1\r\n\r\n", 405);
  expect("connect a:1 HTTP/1.1\r\n\r\n", 405);
  expect("POST / HTTP/1.0\r\n", 405);
  expect("CONNECT a:1 HTTP/2.0\r\n\r\n", 505);
  expect("CONNECT a:1 HTTP/1.2\r\n\r\n", 505);
  static const char *bad400[] = {
    "CONNECT a:1 HTTP/1.1 \r\n\r\n",
    "CONNECT  a:1 HTTP/1.1\r\n\r\n",
    "CONNECT a:1\r\n\r\n",
    "CONNECT a:1 HTTX/1.1\r\n\r\n",
    "CONNECT a:1 HTTP/11\r\n\r\n",
    "CONNECT a HTTP/1.1\r\n\r\n",
    "CONNECT a: HTTP/1.1\r\n\r\n",
    "CONNECT :80 HTTP/1.1\r\n\r\n",
    "CONNECT a:0 HTTP/1.1\r\n\r\n",
    "CONNECT a:65536 HTTP/1.1\r\n\r\n",
    "CONNECT a:123456 HTTP/1.1\r\n\r\n",
    "CONNECT a:8x HTTP/1.1\r\n\r\n",
    "CONNECT a:-1 HTTP/1.1\r\n\r\n",
    "CONNECT a/b:1 HTTP/1.1\r\n\r\n",
    "CONNECT u@a:1 HTTP/1.1\r\n\r\n",
    "CONNECT http://a:1 HTTP/1.1\r\n\r\n",
    "CONNECT [::1 HTTP/1.1\r\n\r\n",
    "CONNECT [::1]80 HTTP/1.1\r\n\r\n",
    "CONNECT []:80 HTTP/1.1\r\n\r\n",
    "CONNECT [zz]:80 HTTP/1.1\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\nNoColon\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\nBad Name: x\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\n: x\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\nA: b\x01\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\nA: b\rc\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\nX-Tor-Stream-Isolation: 1\r\n"
    "x-tor-stream-isolation: 2\r\n\r\n",
    "\x16\x03\x01\x02\x05\r\n\r\n",
    "\r\n GET / HTTP/1.1\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad400) / sizeof(bad400[0]); i++)
    expect(bad400[i], 400);
  /* NUL byte inside the request line */
  http_connect_t *hc = http_connect_new();
  size_t used;
  cr_assert_eq(feed(hc, "CONNECT a\0b:1 HTTP/1.1\r\n\r\n", 26, 0, &used),
               HTTP_CONNECT_ERROR);
  int st;
  http_connect_response(hc, &st);
  cr_assert_eq(st, 400);
  /* stays failed */
  cr_assert_eq(http_connect_feed(hc, (const uint8_t *)"x", 1, &used),
               HTTP_CONNECT_ERROR);
  cr_assert_eq(used, 0);
  http_connect_free(hc);
  /* 256-byte host */
  char buf[400];
  memset(buf, 0, sizeof(buf));
  strcpy(buf, "CONNECT ");
  memset(buf + 8, 'h', 256);
  strcat(buf, ":1 HTTP/1.1\r\n\r\n");
  expect(buf, 400);
  memset(buf + 8, 'h', 255);
  memmove(buf + 8 + 255, buf + 8 + 256, strlen(buf + 8 + 256) + 1);
  expect(buf, 0);
}

Test(http_connect, oversized)
{
  char *big = al_malloc(HTTP_CONNECT_MAX_TOTAL * 2);
  /* request line too long, even before its end arrives */
  memset(big, 'a', HTTP_CONNECT_MAX_REQUEST_LINE + 10);
  memcpy(big, "CONNECT ", 8);
  big[HTTP_CONNECT_MAX_REQUEST_LINE + 10] = 0;
  expect(big, 414);
  strcat(big, ":1 HTTP/1.1\r\n\r\n");
  expect(big, 414);
  /* one huge header line */
  size_t n = (size_t)sprintf(big, "CONNECT a:1 HTTP/1.1\r\nX: ");
  memset(big + n, 'v', HTTP_CONNECT_MAX_HEADER_LINE + 10);
  big[n + HTTP_CONNECT_MAX_HEADER_LINE + 10] = 0;
  expect(big, 431);
  /* too many headers */
  n = (size_t)sprintf(big, "CONNECT a:1 HTTP/1.1\r\n");
  for (int i = 0; i < HTTP_CONNECT_MAX_HEADERS; i++)
    n += (size_t)sprintf(big + n, "H%d: v\r\n", i);
  strcpy(big + n, "\r\n");
  expect(big, 0);  /* exactly the limit */
  strcpy(big + n, "One-More: v\r\n\r\n");
  expect(big, 431);
  /* total size: many lines within the per-line limits */
  n = (size_t)sprintf(big, "CONNECT a:1 HTTP/1.1\r\n");
  for (int i = 0; i < 8; i++) {
    n += (size_t)sprintf(big + n, "H%d: ", i);
    memset(big + n, 'v', 3000);
    n += 3000;
    n += (size_t)sprintf(big + n, "\r\n");
  }
  big[n] = 0;
  expect(big, 431);
  al_free(big);
}

Test(http_connect, slowloris)
{
  /* dribbling header bytes forever: only NEED_MORE until a bound hits,
   * never more than HTTP_CONNECT_MAX_TOTAL bytes consumed */
  http_connect_t *hc = http_connect_new();
  const char *start = "CONNECT a:1 HTTP/1.1\r\n";
  size_t used, total = 0;
  cr_assert_eq(feed(hc, start, strlen(start), 1, &used),
               HTTP_CONNECT_NEED_MORE);
  total += used;
  http_connect_result_t r = HTTP_CONNECT_NEED_MORE;
  unsigned i = 0;
  while (r == HTTP_CONNECT_NEED_MORE) {
    char line[32];
    int k = snprintf(line, sizeof(line), "X%u: y\r\n", i++);
    r = feed(hc, line, (size_t)k, 1, &used);
    total += used;
    cr_assert_leq(total, HTTP_CONNECT_MAX_TOTAL);
  }
  cr_assert_eq(r, HTTP_CONNECT_ERROR);
  int st;
  http_connect_response(hc, &st);
  cr_assert_eq(st, 431);
  http_connect_free(hc);
  /* every prefix of a good request is NEED_MORE */
  const char *req = "CONNECT h.example:80 HTTP/1.1\r\nA: b\r\n\r\n";
  for (size_t len = 0; len < strlen(req); len++) {
    hc = http_connect_new();
    cr_assert_eq(feed(hc, req, len, 0, &used), HTTP_CONNECT_NEED_MORE);
    cr_assert_eq(used, len);
    cr_assert_null(http_connect_request(hc));
    http_connect_free(hc);
  }
}

Test(http_connect, responses)
{
  cr_assert_str_eq(http_connect_success_response(), "HTTP/1.0 200 OK\r\n\r\n");
  int st;
  cr_assert_str_eq(http_connect_failure_response(RELAY_END_TIMEOUT, &st),
                   "HTTP/1.0 504 Gateway Timeout\r\n\r\n");
  cr_assert_eq(st, 504);
  cr_assert_str_eq(http_connect_failure_response(RELAY_END_HIBERNATING, &st),
                   "HTTP/1.0 503 Service Unavailable\r\n\r\n");
  cr_assert_eq(st, 503);
  http_connect_failure_response(RELAY_END_RESOURCELIMIT, &st);
  cr_assert_eq(st, 503);
  http_connect_failure_response(RELAY_END_INTERNAL, &st);
  cr_assert_eq(st, 503);
  static const uint8_t bad_gw[] = {
    RELAY_END_MISC, RELAY_END_RESOLVEFAILED, RELAY_END_CONNECTREFUSED,
    RELAY_END_EXITPOLICY, RELAY_END_DESTROY, RELAY_END_DONE,
    RELAY_END_NOROUTE, RELAY_END_CONNRESET, RELAY_END_TORPROTOCOL,
    RELAY_END_NOTDIRECTORY, 0, 99,
  };
  for (size_t i = 0; i < sizeof(bad_gw); i++) {
    cr_assert_str_eq(http_connect_failure_response(bad_gw[i], &st),
                     "HTTP/1.0 502 Bad Gateway\r\n\r\n");
    cr_assert_eq(st, 502);
  }
  cr_assert_not_null(http_connect_failure_response(1, NULL));
}

Test(http_connect, onion_failure_responses)
{
  int st = 0;
  /* what tor 0.4.9 sends for an invalid onion address */
  cr_assert_str_eq(http_connect_onion_failure_response(0xF6, &st),
                   "HTTP/1.0 502 Bad Gateway (tor protocol violation)\r\n\r\n");
  cr_assert_eq(st, 502);
  cr_assert_str_eq(http_connect_onion_failure_response(0xF7, &st),
                   "HTTP/1.0 504 Gateway Timeout\r\n\r\n");
  cr_assert_eq(st, 504);
  for (unsigned c = 0xF0; c <= 0xF5; c++) {
    st = 0;
    cr_assert_str_eq(http_connect_onion_failure_response((uint8_t)c, &st),
                     "HTTP/1.0 502 Bad Gateway\r\n\r\n");
    cr_assert_eq(st, 502);
  }
  cr_assert_not_null(http_connect_onion_failure_response(0xF6, NULL));
}
