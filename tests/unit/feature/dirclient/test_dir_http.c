/* test_dir_http.c -- HTTP/1.0 request encoding and the sans-IO response
 * parser of src/feature/dirclient (dir-spec section 6), on synthetic
 * responses and on responses captured from a real tor 0.4.9 authority. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirclient/dir_http.h"
#include "allium/lib/compress/compress.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

/* ---------- requests ---------- */

Test(dir_http, request_minimal_exact)
{
  size_t n;
  char *r = dir_http_request_encode("/tor/keys/all.z", NULL, &n);
  cr_assert_str_eq(r, "GET /tor/keys/all.z HTTP/1.0\r\n\r\n");
  cr_assert_eq(n, strlen(r));
  al_free(r);
}

Test(dir_http, request_all_options_exact)
{
  uint8_t h[2][32];
  memset(h[0], 0xab, 32);
  memset(h[1], 0x01, 32);
  dir_http_request_opts_t o = {
    .host = "127.0.0.1:9030",
    .accept_encoding = DIR_HTTP_ACCEPT_ALL,
    .if_modified_since = 784111777,
    .diff_from = (const uint8_t (*)[32])h,
    .n_diff_from = 2,
  };
  char *r = dir_http_request_encode("/tor/status-vote/current/consensus.z",
                                    &o, NULL);
  cr_assert_str_eq(r,
    "GET /tor/status-vote/current/consensus.z HTTP/1.0\r\n"
    "Host: 127.0.0.1:9030\r\n"
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "Accept-Encoding: deflate, identity, x-tor-lzma, x-zstd, gzip\r\n"
    "X-Or-Diff-From-Consensus: "
    "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB, "
    "0101010101010101010101010101010101010101010101010101010101010101\r\n"
    "\r\n");
  al_free(r);
  dir_http_request_opts_t o2 = { .accept_encoding = DIR_HTTP_ACCEPT_ANON };
  r = dir_http_request_encode("/tor/micro/d/AAAA", &o2, NULL);
  cr_assert_str_eq(r, "GET /tor/micro/d/AAAA HTTP/1.0\r\n"
                      "Accept-Encoding: deflate\r\n\r\n");
  al_free(r);
}

Test(dir_http, request_bad_arguments)
{
  cr_assert_null(dir_http_request_encode(NULL, NULL, NULL));
  cr_assert_null(dir_http_request_encode("", NULL, NULL));
  cr_assert_null(dir_http_request_encode("tor/keys", NULL, NULL));
  cr_assert_null(dir_http_request_encode("/a b", NULL, NULL));
  cr_assert_null(dir_http_request_encode("/a\r\nX: y", NULL, NULL));
  dir_http_request_opts_t o = { .host = "evil\r\nX-Injected: 1" };
  cr_assert_null(dir_http_request_encode("/tor/keys/all", &o, NULL));
  dir_http_request_opts_t o2 = { .accept_encoding = "deflate\n" };
  cr_assert_null(dir_http_request_encode("/tor/keys/all", &o2, NULL));
  dir_http_request_opts_t o3 = { .n_diff_from = 1 };
  cr_assert_null(dir_http_request_encode("/tor/keys/all", &o3, NULL));
  char *longp = al_malloc(DIR_URL_MAX_PATH + 2);
  memset(longp, 'a', DIR_URL_MAX_PATH + 1);
  longp[0] = '/';
  longp[DIR_URL_MAX_PATH + 1] = 0;
  cr_assert_null(dir_http_request_encode(longp, NULL, NULL));
  longp[DIR_URL_MAX_PATH] = 0;
  char *r = dir_http_request_encode(longp, NULL, NULL);
  cr_assert_not_null(r);
  al_free(r);
  al_free(longp);
}

Test(dir_http, dates)
{
  char b[32];
  cr_assert_eq(dir_http_format_date(0, b, sizeof(b)), 0);
  cr_assert_str_eq(b, "Thu, 01 Jan 1970 00:00:00 GMT");
  cr_assert_eq(dir_http_format_date(1795494293, b, sizeof(b)), 0);
  cr_assert_str_eq(b, "Tue, 24 Nov 2026 04:24:53 GMT");
  cr_assert_eq(dir_http_format_date(951782400, b, sizeof(b)), 0);
  cr_assert_str_eq(b, "Tue, 29 Feb 2000 00:00:00 GMT");
  cr_assert_eq(dir_http_format_date(-1, b, sizeof(b)), -1);
  cr_assert_eq(dir_http_format_date(5, b, 10), -1);
  time_t t;
  cr_assert_eq(dir_http_parse_date("Tue, 24 Nov 2026 04:24:53 GMT", 29, &t), 0);
  cr_assert_eq(t, 1795494293);
  cr_assert_eq(dir_http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t), 0);
  cr_assert_eq(t, 784111777);
  const char *bad[] = {
    "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GM",
    "Sun 06 Nov 1994 08:49:37 GMTX", "Xyz, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 Nov 1969 08:49:37 GMT",
    "Sun, 0a Nov 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(dir_http_parse_date(bad[i], strlen(bad[i]), &t), -1, "%s", bad[i]);
}

Test(dir_http, status_actions)
{
  cr_assert_eq(dir_http_status_action(200), DIR_STATUS_OK);
  cr_assert_eq(dir_http_status_action(304), DIR_STATUS_NOT_MODIFIED);
  cr_assert_eq(dir_http_status_action(404), DIR_STATUS_NOT_FOUND);
  cr_assert_eq(dir_http_status_action(503), DIR_STATUS_BUSY);
  cr_assert_eq(dir_http_status_action(400), DIR_STATUS_BAD_REQUEST);
  cr_assert_eq(dir_http_status_action(500), DIR_STATUS_FAILED);
  cr_assert_str_eq(dir_http_status_action_name(DIR_STATUS_BUSY), "busy");
  cr_assert_str_eq(dir_http_status_action_name(DIR_STATUS_NOT_FOUND), "not found");
}

/* ---------- response parsing helpers ---------- */

/* Feed buf in chunks of `chunk` bytes (0: one go), then EOF unless the
 * parser finished.  Returns the parser (caller frees) and the final rc. */
static dir_http_parser_t *
run(const void *buf, size_t len, size_t chunk, const dir_http_limits_t *lim,
    bool z, int *rc)
{
  dir_http_parser_t *p = dir_http_parser_new(lim, z);
  const uint8_t *b = buf;
  int r = DIR_HTTP_NEED_MORE;
  if (chunk == 0)
    chunk = len ? len : 1;
  for (size_t off = 0; off < len && r != DIR_HTTP_ERROR; off += chunk) {
    size_t k = len - off < chunk ? len - off : chunk;
    r = dir_http_parser_feed(p, b + off, k);
  }
  if (r == DIR_HTTP_NEED_MORE)
    r = dir_http_parser_eof(p);
  *rc = r;
  return p;
}

/* Build head + body into one buffer (caller frees). */
static uint8_t *
cat(const char *head, const uint8_t *body, size_t blen, size_t *len)
{
  size_t h = strlen(head);
  uint8_t *b = al_malloc(h + blen + 1);
  memcpy(b, head, h);
  if (blen)
    memcpy(b + h, body, blen);
  *len = h + blen;
  return b;
}

static void
expect_error(const char *resp, size_t len, const char *msg_part)
{
  size_t chunks[] = { 0, 1, 7 };
  for (int c = 0; c < 3; c++) {
    int rc;
    dir_http_parser_t *p = run(resp, len, chunks[c], NULL, false, &rc);
    cr_assert_eq(rc, DIR_HTTP_ERROR, "expected error for chunk %zu", chunks[c]);
    cr_assert_null(dir_http_parser_response(p));
    const char *e = dir_http_parser_error(p);
    cr_assert_not_null(e);
    if (msg_part)
      cr_assert_not_null(strstr(e, msg_part), "error '%s' lacks '%s'", e, msg_part);
    cr_assert_eq(dir_http_parser_feed(p, (const uint8_t *)"x", 1), DIR_HTTP_ERROR);
    cr_assert_eq(dir_http_parser_eof(p), DIR_HTTP_ERROR);
    dir_http_parser_free(p);
  }
}
#define EXPECT_ERROR(s, m) expect_error((s), sizeof(s) - 1, (m))

Test(dir_http, identity_with_content_length)
{
  const char *s = "HTTP/1.0 200 OK\r\nDate: Tue, 24 Nov 2026 04:24:53 GMT\r\n"
                  "Content-Length: 5\r\nX-Your-Address-Is: 127.0.0.1\r\n"
                  "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                  "Content-Encoding: identity\r\n\r\nhello";
  size_t chunks[] = { 0, 1, 2, 3, 10 };
  for (int c = 0; c < 5; c++) {
    dir_http_parser_t *p = dir_http_parser_new(NULL, false);
    int r = DIR_HTTP_NEED_MORE;
    size_t len = strlen(s), ch = chunks[c] ? chunks[c] : len;
    for (size_t off = 0; off < len; off += ch) {
      cr_assert_eq(r, DIR_HTTP_NEED_MORE);
      r = dir_http_parser_feed(p, (const uint8_t *)s + off,
                               len - off < ch ? len - off : ch);
    }
    cr_assert_eq(r, DIR_HTTP_DONE, "done without EOF (chunk %zu)", ch);
    const dir_http_response_t *resp = dir_http_parser_response(p);
    cr_assert_not_null(resp);
    cr_assert_eq(resp->status, 200);
    cr_assert_eq(resp->http_minor, 0);
    cr_assert_str_eq(resp->reason, "OK");
    cr_assert_eq(resp->n_headers, 5);
    cr_assert_eq(resp->content_length, 5);
    cr_assert(resp->have_content_length);
    cr_assert_eq(resp->date, 1795494293);
    cr_assert_eq(resp->last_modified, 784111777);
    cr_assert_str_eq(resp->your_address, "127.0.0.1");
    cr_assert_str_eq(dir_http_response_header(resp, "content-length"), "5");
    cr_assert_null(dir_http_response_header(resp, "Expires"));
    cr_assert_eq(resp->encoding, COMPRESS_IDENTITY);
    cr_assert_eq(resp->body_len, 5);
    cr_assert_str_eq((const char *)resp->body, "hello");
    cr_assert_eq(dir_http_parser_eof(p), DIR_HTTP_DONE);
    cr_assert_eq(dir_http_parser_feed(p, NULL, 0), DIR_HTTP_DONE);
    size_t bl;
    uint8_t *body = dir_http_parser_take_body(p, &bl);
    cr_assert_eq(bl, 5);
    cr_assert_str_eq((char *)body, "hello");
    al_free(body);
    cr_assert_eq(dir_http_parser_response(p)->body_len, 0);
    cr_assert_null(dir_http_parser_error(p));
    dir_http_parser_free(p);
    cr_assert_null(p);
  }
}

Test(dir_http, close_delimited_lf_only_http11)
{
  const char *s = "HTTP/1.1 503 Directory busy, try again later\n"
                  "Server:   x  \n\nbody text";
  int rc;
  dir_http_parser_t *p = run(s, strlen(s), 1, NULL, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  const dir_http_response_t *r = dir_http_parser_response(p);
  cr_assert_eq(r->http_minor, 1);
  cr_assert_eq(r->status, 503);
  cr_assert_eq(dir_http_status_action(r->status), DIR_STATUS_BUSY);
  cr_assert_str_eq(r->reason, "Directory busy, try again later");
  cr_assert_str_eq(dir_http_response_header(r, "server"), "x");
  cr_assert_str_eq((const char *)r->body, "body text");
  cr_assert_eq(r->date, 0);
  dir_http_parser_free(p);
  /* No reason phrase at all; empty body. */
  const char *s2 = "HTTP/1.0 404\r\n\r\n";
  p = run(s2, strlen(s2), 0, NULL, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  cr_assert_str_eq(dir_http_parser_response(p)->reason, "");
  cr_assert_eq(dir_http_parser_response(p)->body_len, 0);
  dir_http_parser_free(p);
}

static void
compressed_case(compress_method_t m, const char *ce, bool z, bool with_cl)
{
  const char *doc = "network-status-version 3 microdesc\nvote-status consensus\n";
  uint8_t *zb;
  size_t zl;
  cr_assert_eq(compress_buffer(m, (const uint8_t *)doc, strlen(doc), &zb, &zl), 0);
  char head[256];
  snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\n%s%s%s", ce ? "Content-Encoding: " : "",
           ce ? ce : "", ce ? "\r\n" : "");
  if (with_cl)
    snprintf(head + strlen(head), sizeof(head) - strlen(head),
             "Content-Length: %zu\r\n", zl);
  strcat(head, "\r\n");
  size_t len;
  uint8_t *buf = cat(head, zb, zl, &len);
  size_t chunks[] = { 0, 1, 5 };
  for (int c = 0; c < 3; c++) {
    int rc;
    dir_http_parser_t *p = run(buf, len, chunks[c], NULL, z, &rc);
    cr_assert_eq(rc, DIR_HTTP_DONE, "%s: %s", ce ? ce : "none",
                 dir_http_parser_error(p) ? dir_http_parser_error(p) : "");
    const dir_http_response_t *r = dir_http_parser_response(p);
    cr_assert_eq(r->encoding, m);
    cr_assert_str_eq((const char *)r->body, doc);
    cr_assert_eq(r->raw_body_len, zl);
    dir_http_parser_free(p);
  }
  al_free(buf);
  al_free(zb);
}

Test(dir_http, compressed_bodies)
{
  compressed_case(COMPRESS_DEFLATE, "deflate", false, false);
  compressed_case(COMPRESS_DEFLATE, "deflate", true, true);
  compressed_case(COMPRESS_GZIP, "gzip", false, true);
  compressed_case(COMPRESS_GZIP, "x-gzip", true, false);
  compressed_case(COMPRESS_ZSTD, "x-zstd", false, true);
  compressed_case(COMPRESS_ZSTD, "x-zstd", true, false);
  compressed_case(COMPRESS_LZMA, "x-tor-lzma", false, false);
  compressed_case(COMPRESS_LZMA, "x-tor-lzma", true, true);
  /* ".z" URL without a Content-Encoding, or with a wrong "identity". */
  compressed_case(COMPRESS_DEFLATE, NULL, true, false);
  compressed_case(COMPRESS_GZIP, NULL, true, true);
  compressed_case(COMPRESS_DEFLATE, "identity", true, false);
  compressed_case(COMPRESS_IDENTITY, NULL, true, false);
}

Test(dir_http, bad_status_lines)
{
  EXPECT_ERROR("HTTP/2.0 200 OK\r\n\r\n", "status line");
  EXPECT_ERROR("HTTP/1.2 200 OK\r\n\r\n", "status line");
  EXPECT_ERROR("HTTP/1.0 20 OK\r\n\r\n", "status line");
  EXPECT_ERROR("HTTP/1.0 200OK\r\n\r\n", "status line");
  EXPECT_ERROR("HTTP/1.0 099 Low\r\n\r\n", "status line");
  EXPECT_ERROR("HTTP/1.0 600 High\r\n\r\n", "status line");
  EXPECT_ERROR("http/1.0 200 OK\r\n\r\n", "status line");
  EXPECT_ERROR("ICY 200 OK\r\n\r\n", "status line");
  EXPECT_ERROR("HTTP/1.0 200 O\x01K\r\n\r\n", "status line");
  EXPECT_ERROR("\r\n\r\n", "status line");
  EXPECT_ERROR("HTTP/1.0  200 OK\r\n\r\n", "status line");
  EXPECT_ERROR("", "empty response");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nDate: x", "head");
  EXPECT_ERROR("HTTP/1.0 200", "head");
}

Test(dir_http, bad_headers)
{
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nNoColon\r\n\r\n", "malformed header");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\n: empty\r\n\r\n", "malformed header");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nBad Name: x\r\n\r\n", "malformed header");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nA: b\r\n  folded\r\n\r\n", "folded");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nA: b\x00q\r\n\r\n", "NUL");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nA: b\x7fq\r\n\r\n", "control");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Encoding: br\r\n\r\n", "unknown Content-Encoding");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Encoding: br\r\n\r\n", "unknown");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Encoding: x-lzma\r\n\r\n", "unknown");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Encoding: deflate, gzip\r\n\r\n", "Content-Encoding");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\nab", "Content-Length");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length:\r\n\r\n", "Content-Length");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
               "Content-Length");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
               "conflicting");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: 999999999\r\n\r\n", "over the limit");
}

Test(dir_http, oversized_head)
{
  /* One header line longer than the whole head limit. */
  size_t n = DIR_HTTP_MAX_HEADER_BYTES + 10;
  char *s = al_malloc(n + 64);
  strcpy(s, "HTTP/1.0 200 OK\r\nX-Long: ");
  size_t o = strlen(s);
  memset(s + o, 'a', n);
  strcpy(s + o + n, "\r\n\r\n");
  expect_error(s, strlen(s), "too large");
  /* Without any newline at all. */
  memset(s, 'H', n);
  expect_error(s, n, "too large");
  al_free(s);
  /* Too many headers. */
  char *m = al_strdup("HTTP/1.0 200 OK\r\n");
  for (int i = 0; i <= DIR_HTTP_MAX_HEADERS; i++) {
    char *t = al_asprintf("%sH%d: v\r\n", m, i);
    al_free(m);
    m = t;
  }
  char *t = al_asprintf("%s\r\n", m);
  expect_error(t, strlen(t), "too many headers");
  al_free(t);
  al_free(m);
  /* Exactly at the header-count limit is fine. */
  m = al_strdup("HTTP/1.0 200 OK\r\n");
  for (int i = 0; i < DIR_HTTP_MAX_HEADERS; i++) {
    t = al_asprintf("%sH%d: v\r\n", m, i);
    al_free(m);
    m = t;
  }
  t = al_asprintf("%s\r\nok", m);
  int rc;
  dir_http_parser_t *p = run(t, strlen(t), 0, NULL, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  cr_assert_eq(dir_http_parser_response(p)->n_headers, DIR_HTTP_MAX_HEADERS);
  dir_http_parser_free(p);
  al_free(t);
  al_free(m);
}

Test(dir_http, content_length_mismatch)
{
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort", "shorter");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nlonger", "Content-Length");
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\nx", "after");
  /* Same value twice is fine. */
  const char *ok = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab";
  int rc;
  dir_http_parser_t *p = run(ok, strlen(ok), 1, NULL, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  dir_http_parser_free(p);
}

Test(dir_http, truncated_and_corrupt_compressed_body)
{
  const char *doc = "dir-key-certificate-version 3\nfingerprint AAAA\n";
  uint8_t *zb;
  size_t zl, len;
  cr_assert_eq(compress_buffer(COMPRESS_DEFLATE, (const uint8_t *)doc, strlen(doc), &zb, &zl), 0);
  uint8_t *buf = cat("HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\n\r\n", zb, zl - 4, &len);
  expect_error((const char *)buf, len, "truncated");
  al_free(buf);
  zb[zl / 2] ^= 0x55;
  buf = cat("HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\n\r\n", zb, zl, &len);
  expect_error((const char *)buf, len, "body:");
  al_free(buf);
  /* Plain text labelled gzip. */
  EXPECT_ERROR("HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n\r\nnetwork-status", "corrupt");
  al_free(zb);
}

Test(dir_http, decompression_bomb_refused)
{
  size_t n = 8u << 20;
  uint8_t *zeros = al_calloc(1, n), *zb;
  size_t zl, len;
  cr_assert_eq(compress_buffer(COMPRESS_DEFLATE, zeros, n, &zb, &zl), 0);
  uint8_t *buf = cat("HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\n\r\n", zb, zl, &len);
  dir_http_limits_t lim;
  dir_http_limits_for_kind(DIR_DOC_CONSENSUS, &lim);
  cr_assert_gt(lim.max_body, n);
  int rc;
  dir_http_parser_t *p = run(buf, len, 0, &lim, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_ERROR);
  cr_assert_not_null(strstr(dir_http_parser_error(p), "bomb"));
  dir_http_parser_free(p);
  /* And the size limit for a kind with a small body bound. */
  dir_http_limits_for_kind(DIR_DOC_KEY_CERTS, &lim);
  lim.max_ratio = 100000;
  p = run(buf, len, 0, &lim, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_ERROR);
  cr_assert_not_null(strstr(dir_http_parser_error(p), "too large"));
  dir_http_parser_free(p);
  al_free(buf);
  al_free(zb);
  al_free(zeros);
}

Test(dir_http, identity_body_over_limit)
{
  dir_http_limits_t lim;
  dir_http_limits_for_kind(DIR_DOC_OTHER, &lim);
  lim.max_body = 10;
  lim.max_raw_body = 100;
  const char *s = "HTTP/1.0 200 OK\r\n\r\n0123456789A";
  int rc;
  dir_http_parser_t *p = run(s, strlen(s), 1, &lim, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_ERROR);
  dir_http_parser_free(p);
  lim.max_body = 1000;
  lim.max_raw_body = 5;
  p = run(s, strlen(s), 0, &lim, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_ERROR);
  cr_assert_not_null(strstr(dir_http_parser_error(p), "size limit"));
  dir_http_parser_free(p);
  lim.max_raw_body = 11;
  lim.max_body = 11;
  p = run(s, strlen(s), 0, &lim, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  dir_http_parser_free(p);
}

/* ---------- responses captured from a real tor 0.4.9 authority ---------- */

static uint8_t *
load(const char *name, size_t *len)
{
  const char *src = getenv("ALLIUM_SRCDIR");
  char path[1024];
  snprintf(path, sizeof(path), "%s/tests/unit/feature/dirclient/data/%s",
           src ? src : ALLIUM_SRCDIR, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = al_malloc((size_t)n + 1);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* Parse a fixture in one go and byte by byte; both must agree. */
static void
check_fixture(const char *name, dir_doc_kind_t kind, bool z, int status,
              compress_method_t enc, const char *prefix)
{
  size_t len;
  uint8_t *raw = load(name, &len);
  dir_http_limits_t lim;
  dir_http_limits_for_kind(kind, &lim);
  int rc;
  dir_http_parser_t *p1 = run(raw, len, 0, &lim, z, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE, "%s: %s", name,
               dir_http_parser_error(p1) ? dir_http_parser_error(p1) : "");
  dir_http_parser_t *p2 = run(raw, len, 1, &lim, z, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  const dir_http_response_t *a = dir_http_parser_response(p1),
                            *b = dir_http_parser_response(p2);
  cr_assert_eq(a->status, status, "%s", name);
  cr_assert_eq(a->encoding, enc, "%s", name);
  cr_assert_gt(a->date, 1795490000);
  cr_assert_eq(a->body_len, b->body_len);
  cr_assert(!memcmp(a->body, b->body, a->body_len));
  cr_assert_eq(strlen((const char *)a->body), a->body_len);
  cr_assert(!strncmp((const char *)a->body, prefix, strlen(prefix)),
            "%s body starts with %.40s", name, (const char *)a->body);
  if (a->have_content_length)
    cr_assert_eq(a->content_length, a->raw_body_len);
  dir_http_parser_free(p1);
  dir_http_parser_free(p2);
  /* Cut anywhere inside a compressed body: an error at EOF. */
  if (enc != COMPRESS_IDENTITY) {
    p1 = run(raw, len - 3, 0, &lim, z, &rc);
    cr_assert_eq(rc, DIR_HTTP_ERROR, "%s truncated", name);
    dir_http_parser_free(p1);
  }
  al_free(raw);
}

Test(dir_http, real_tor_responses)
{
  check_fixture("consensus.z.http", DIR_DOC_CONSENSUS, true, 200,
                COMPRESS_DEFLATE, "network-status-version 3\n");
  check_fixture("consensus-microdesc.http", DIR_DOC_CONSENSUS, false, 200,
                COMPRESS_IDENTITY, "network-status-version 3 microdesc\n");
  check_fixture("keys-all.z.http", DIR_DOC_KEY_CERTS, true, 200,
                COMPRESS_DEFLATE, "dir-key-certificate-version 3\n");
  check_fixture("keys-all.http", DIR_DOC_KEY_CERTS, false, 200,
                COMPRESS_IDENTITY, "dir-key-certificate-version 3\n");
  check_fixture("micro-d.z.http", DIR_DOC_MICRODESCS, true, 200,
                COMPRESS_DEFLATE, "onion-key\n");
  check_fixture("server-d.z.http", DIR_DOC_SERVER_DESCS, true, 200,
                COMPRESS_DEFLATE, "router ");
  check_fixture("server-d-404.http", DIR_DOC_SERVER_DESCS, true, 404,
                COMPRESS_IDENTITY, "");
  check_fixture("consensus-304.http", DIR_DOC_CONSENSUS, true, 304,
                COMPRESS_IDENTITY, "");
}

Test(dir_http, real_keys_content_length_and_count)
{
  size_t len;
  uint8_t *raw = load("keys-all.http", &len);
  int rc;
  dir_http_parser_t *p = run(raw, len, 0, NULL, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  const dir_http_response_t *r = dir_http_parser_response(p);
  cr_assert(r->have_content_length);
  cr_assert_eq(r->content_length, 6783);
  /* Three authorities: three certificates. */
  int n = 0;
  for (const char *s = (const char *)r->body;
       (s = strstr(s, "dir-key-certificate-version 3\n")); s++)
    n++;
  cr_assert_eq(n, 3);
  dir_http_parser_free(p);
  /* The deflated form decodes to the same certificates. */
  uint8_t *rawz = load("keys-all.z.http", &len);
  dir_http_parser_t *pz = run(rawz, len, 0, NULL, true, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  p = run(raw, 6955, 0, NULL, false, &rc);
  cr_assert_eq(dir_http_parser_response(pz)->body_len, 6783);
  cr_assert(!memcmp(dir_http_parser_response(pz)->body,
                    dir_http_parser_response(p)->body, 6783));
  dir_http_parser_free(p);
  dir_http_parser_free(pz);
  al_free(rawz);
  al_free(raw);
}

/* The microdescriptor request path the fixture was fetched with is what
 * dir_url_microdescs() builds from the "m" lines of the real consensus. */
Test(dir_http, real_microdesc_url_roundtrip)
{
  size_t len;
  uint8_t *raw = load("consensus-microdesc.http", &len);
  int rc;
  dir_http_parser_t *p = run(raw, len, 0, NULL, false, &rc);
  cr_assert_eq(rc, DIR_HTTP_DONE);
  const char *body = (const char *)dir_http_parser_response(p)->body;
  uint8_t d[16][32];
  size_t n = 0;
  for (const char *s = body; (s = strstr(s, "\nm ")) && n < 16; s++) {
    cr_assert_eq(base64_decode(d[n], 32, s + 3, 43), 32);
    n++;
  }
  cr_assert_eq(n, 5);
  dir_url_list_t l = { 0 };
  cr_assert_eq(dir_url_microdescs(&l, (const uint8_t (*)[32])d, n, true), 0);
  cr_assert_eq(l.n, 1);
  cr_assert_str_eq(l.paths[0], "/tor/micro/d/"
      "Uom0VArm6WHFlyC3xJLigti5Yzj9NSwtGWKKzpWPRPU-"
      "gEmAnnRZj86UKp7b128xEP5qL2hmO8z1/ITTEVi8lK0-"
      "lEhNr7C7RNVllBnhZooMnNeQ6cx/rHsvPn3yaj8LS7A-"
      "sAXOXa/2pBM2FeAtUQsNlPSGW4cWgYdK4RMsYSNfo1A-"
      "zNBBQkRhENS4JlgLcWYwJsBF0FBuOTmOnO/X3u9JTIM.z");
  dir_url_list_clear(&l);
  dir_http_parser_free(p);
  al_free(raw);
}
