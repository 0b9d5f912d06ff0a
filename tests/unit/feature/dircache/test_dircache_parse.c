/* test_dircache_parse.c -- the directory cache's HTTP/1.0 request parser
 * and URL parser (src/feature/dircache; dir-spec 6, 4.3, 4.5.2, appendix
 * B): well-formed requests, every prefix of one (NEED_MORE), malformed,
 * truncated and oversized input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dircache/dircache_parse.h"
#include "allium/lib/compress/compress.h"
#include "allium/lib/malloc/malloc.h"

static int
parse_str(const char *s, dircache_request_t *r)
{
  return dircache_request_parse((const uint8_t *)s, strlen(s), r);
}

/* ---------- requests ---------- */

Test(dircache_request, minimal)
{
  dircache_request_t r;
  const char *s = "GET /tor/keys/all.z HTTP/1.0\r\n\r\n";
  cr_assert_eq(parse_str(s, &r), DIRCACHE_REQ_OK);
  cr_assert_str_eq(r.method, "GET");
  cr_assert_str_eq(r.path, "/tor/keys/all.z");
  cr_assert_eq(r.http_minor, 0);
  cr_assert_not(r.has_accept_encoding);
  cr_assert_eq(r.head_len, strlen(s));
  dircache_request_clear(&r);
  cr_assert_null(r.path);
}

Test(dircache_request, headers_as_tor_sends_them)
{
  dircache_request_t r;
  const char *s =
    "GET /tor/status-vote/current/consensus-microdesc/0232AF+14C131.z HTTP/1.0\r\n"
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "Accept-Encoding: deflate, identity, x-tor-lzma, x-zstd, gzip\r\n"
    "X-Or-Diff-From-Consensus: "
    "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB, "
    "0101010101010101010101010101010101010101010101010101010101010101\r\n"
    "\r\nTRAILING";
  cr_assert_eq(parse_str(s, &r), DIRCACHE_REQ_OK);
  cr_assert(r.has_accept_encoding);
  cr_assert(r.accept & DIRCACHE_ACCEPT_BIT(COMPRESS_DEFLATE));
  cr_assert(r.accept & DIRCACHE_ACCEPT_BIT(COMPRESS_GZIP));
  cr_assert(r.accept & DIRCACHE_ACCEPT_BIT(COMPRESS_IDENTITY));
  cr_assert(r.accept & DIRCACHE_ACCEPT_BIT(COMPRESS_ZSTD));
  cr_assert_eq(r.if_modified_since, 784111777);
  cr_assert_eq(r.n_diff_from, 2);
  cr_assert_eq(r.diff_from[0][0], 0xab);
  cr_assert_eq(r.diff_from[1][31], 0x01);
  cr_assert_eq(r.head_len, strlen(s) - strlen("TRAILING"));
  dircache_request_clear(&r);
}

Test(dircache_request, bare_lf_http11_absolute_uri)
{
  dircache_request_t r;
  cr_assert_eq(parse_str("GET http://1.2.3.4:9030/tor/server/all HTTP/1.1\n"
                         "Host: x\n\n", &r), DIRCACHE_REQ_OK);
  cr_assert_str_eq(r.path, "/tor/server/all");
  cr_assert_eq(r.http_minor, 1);
  dircache_request_clear(&r);
}

Test(dircache_request, accept_q_zero_and_unknown)
{
  dircache_request_t r;
  cr_assert_eq(parse_str("GET / HTTP/1.0\r\nAccept-Encoding: gzip;q=0, "
                         "br, deflate;q=0.5\r\n\r\n", &r), DIRCACHE_REQ_OK);
  cr_assert(r.has_accept_encoding);
  cr_assert_eq(r.accept, DIRCACHE_ACCEPT_BIT(COMPRESS_DEFLATE));
  dircache_request_clear(&r);
}

Test(dircache_request, bad_diff_from_entries_skipped)
{
  dircache_request_t r;
  cr_assert_eq(parse_str("GET / HTTP/1.0\r\nX-Or-Diff-From-Consensus: zz, "
                         "ABAB, "
                         "0101010101010101010101010101010101010101010101010101010101010101"
                         "\r\n\r\n", &r), DIRCACHE_REQ_OK);
  cr_assert_eq(r.n_diff_from, 1);
  dircache_request_clear(&r);
}

Test(dircache_request, every_prefix_needs_more)
{
  const char *s = "GET /tor/micro/d/AAAA HTTP/1.0\r\nAccept-Encoding: "
                  "deflate\r\n\r\n";
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++) {
    dircache_request_t r;
    char *b = malloc(i ? i : 1);
    memcpy(b, s, i);
    int rc = dircache_request_parse((const uint8_t *)b, i, &r);
    cr_assert_eq(rc, DIRCACHE_REQ_NEED_MORE, "prefix %zu: %d", i, rc);
    free(b);
  }
}

Test(dircache_request, malformed)
{
  static const char *const bad[] = {
    "\r\n\r\n", "\n\n", "get /x HTTP/1.0\r\n\r\n", "GET\r\n\r\n",
    "GET /x\r\n\r\n", "GET /x HTTP/2.0\r\n\r\n", "GET /x HTTP/1.0 \r\n\r\n",
    "GET x HTTP/1.0\r\n\r\n", "GET /a b HTTP/1.0\r\n\r\n",
    "GET /x HTTP/1.0\r\nNoColon\r\n\r\n", "GET /x HTTP/1.0\r\n: v\r\n\r\n",
    "GET /x HTTP/1.0\r\n folded: v\r\n\r\n",
    "GETTINGLONG /x HTTP/1.0\r\n\r\n", "GET http://host HTTP/1.0\r\n\r\n",
    "GET /\x01 HTTP/1.0\r\n\r\n", "GET /\xc3\xa9 HTTP/1.0\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    dircache_request_t r;
    cr_assert_eq(parse_str(bad[i], &r), DIRCACHE_REQ_BAD, "case %zu", i);
    cr_assert_null(r.path);
  }
  /* A NUL byte inside the head. */
  const uint8_t nul[] = "GET /x HTTP/1.0\r\nA: \0b\r\n\r\n";
  dircache_request_t r;
  cr_assert_eq(dircache_request_parse(nul, sizeof(nul) - 1, &r),
               DIRCACHE_REQ_BAD);
}

Test(dircache_request, oversized)
{
  dircache_request_t r;
  size_t n = DIRCACHE_REQ_MAX_HEAD + 10;
  char *b = malloc(n + 1);
  memset(b, 'a', n);
  memcpy(b, "GET /", 5);
  b[n] = 0;
  cr_assert_eq(parse_str(b, &r), DIRCACHE_REQ_TOO_BIG);
  /* Too many header lines. */
  char *h = malloc(8192);
  size_t off = (size_t)sprintf(h, "GET / HTTP/1.0\r\n");
  for (int i = 0; i <= DIRCACHE_REQ_MAX_HEADERS; i++)
    off += (size_t)sprintf(h + off, "X-%d: y\r\n", i);
  sprintf(h + off, "\r\n");
  cr_assert_eq(parse_str(h, &r), DIRCACHE_REQ_TOO_BIG);
  /* A path longer than the limit (but a head within it). */
  memset(b, 'a', 5000);
  memcpy(b, "GET /", 5);
  sprintf(b + 5000, " HTTP/1.0\r\n\r\n");
  cr_assert_eq(parse_str(b, &r), DIRCACHE_REQ_TOO_BIG);
  free(b);
  free(h);
}

/* A POST is whole only with its Content-Length bytes of body; every
 * shorter prefix needs more. */
Test(dircache_request, post_body)
{
  const char *s = "POST /tor/hs/3/publish HTTP/1.0\r\n"
                  "Content-Length: 11\r\n\r\nhello world and more";
  size_t head = strlen(s) - strlen("hello world and more");
  dircache_request_t r;
  for (size_t n = 0; n < head + 11; n++)
    cr_assert_eq(dircache_request_parse((const uint8_t *)s, n, &r),
                 DIRCACHE_REQ_NEED_MORE, "prefix %zu", n);
  cr_assert_eq(dircache_request_parse((const uint8_t *)s, head + 11, &r),
               DIRCACHE_REQ_OK);
  cr_assert_str_eq(r.method, "POST");
  cr_assert_str_eq(r.path, "/tor/hs/3/publish");
  cr_assert(r.has_content_length);
  cr_assert_eq(r.content_length, 11);
  cr_assert_eq(r.body_len, 11);
  cr_assert_eq(r.head_len, head);
  dircache_request_clear(&r);
  /* bytes past the body are not part of it */
  cr_assert_eq(parse_str(s, &r), DIRCACHE_REQ_OK);
  cr_assert_eq(r.body_len, 11);
  dircache_request_clear(&r);
  /* an empty body */
  cr_assert_eq(parse_str("POST /x HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
                         &r), DIRCACHE_REQ_OK);
  cr_assert_eq(r.body_len, 0);
  dircache_request_clear(&r);
  /* the same length twice is fine */
  cr_assert_eq(parse_str("POST /x HTTP/1.0\r\nContent-Length: 2\r\n"
                         "content-length:2\r\n\r\nab", &r), DIRCACHE_REQ_OK);
  cr_assert_eq(r.body_len, 2);
  dircache_request_clear(&r);
  /* a GET has no body: its Content-Length is not waited for */
  cr_assert_eq(parse_str("GET /tor/keys/all HTTP/1.0\r\nContent-Length: 99"
                         "\r\n\r\n", &r), DIRCACHE_REQ_OK);
  cr_assert_eq(r.body_len, 0);
  dircache_request_clear(&r);
}

Test(dircache_request, post_malformed_and_oversized)
{
  static const char *const bad[] = {
    "POST /tor/hs/3/publish HTTP/1.0\r\n\r\nbody",        /* no length */
    "POST /x HTTP/1.0\r\nContent-Length: 1x\r\n\r\nab",
    "POST /x HTTP/1.0\r\nContent-Length: -1\r\n\r\nab",
    "POST /x HTTP/1.0\r\nContent-Length:\r\n\r\nab",
    "POST /x HTTP/1.0\r\nContent-Length: 1 2\r\n\r\nab",
    "POST /x HTTP/1.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "GET /x HTTP/1.0\r\nContent-Length: 0x10\r\n\r\n",   /* any method */
  };
  dircache_request_t r;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_assert_eq(parse_str(bad[i], &r), DIRCACHE_REQ_BAD, "%s", bad[i]);
    cr_assert_null(r.path);
  }
  char big[200];
  snprintf(big, sizeof(big), "POST /x HTTP/1.0\r\nContent-Length: %d\r\n\r\n",
           DIRCACHE_REQ_MAX_BODY + 1);
  cr_assert_eq(parse_str(big, &r), DIRCACHE_REQ_TOO_BIG);
  cr_assert_eq(parse_str("POST /x HTTP/1.0\r\nContent-Length: "
                         "99999999999999999999999999999\r\n\r\n", &r),
               DIRCACHE_REQ_TOO_BIG);
  /* the largest body allowed: waits for it, then takes it */
  size_t head = (size_t)snprintf(big, sizeof(big), "POST /x HTTP/1.0\r\n"
                                 "Content-Length: %d\r\n\r\n",
                                 DIRCACHE_REQ_MAX_BODY);
  uint8_t *b = calloc(1, head + DIRCACHE_REQ_MAX_BODY);
  memcpy(b, big, head);
  cr_assert_eq(dircache_request_parse(b, head + DIRCACHE_REQ_MAX_BODY - 1, &r),
               DIRCACHE_REQ_NEED_MORE);
  cr_assert_eq(dircache_request_parse(b, head + DIRCACHE_REQ_MAX_BODY, &r),
               DIRCACHE_REQ_OK);
  cr_assert_eq(r.body_len, DIRCACHE_REQ_MAX_BODY);
  dircache_request_clear(&r);
  free(b);
}

/* ---------- URLs ---------- */

#define FP1 "0232AF901C31A04EE9848595AF9BB7620D4C5B2E"
#define FP2 "14c131dfc5c6f93646be72fa1401c02a8df2e8b4"
#define MD1 "R0fHfmbXpFI11PK0kmvHzrgcuW1vDhg4Qe/1CVXupXk"
#define MD2 "lyBY3cQH94cCRXlFDZXC3Dzn6m8f2Pm9m/e2z7xHsRA"

Test(dircache_url, consensus_forms)
{
  dircache_url_t u;
  cr_assert_eq(dircache_url_parse("/tor/status-vote/current/consensus", &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_CONSENSUS);
  cr_assert_not(u.microdesc_flavor);
  cr_assert_not(u.compressed);
  dircache_url_clear(&u);
  cr_assert_eq(dircache_url_parse(
    "/tor/status-vote/current/consensus-microdesc/0232AF+14c131+D586D1.z",
    &u), 0);
  cr_assert(u.microdesc_flavor);
  cr_assert(u.compressed);
  cr_assert_eq(u.n_fp_prefixes, 3);
  cr_assert_eq(u.fp_prefix_lens[1], 3);
  cr_assert_eq(u.fp_prefixes[1][0], 0x14);
  dircache_url_clear(&u);
  cr_assert_eq(dircache_url_parse("/tor/status-vote/current/consensus-ns/"
                                  FP1 ".z", &u), 0);
  cr_assert_eq(u.fp_prefix_lens[0], 20);
  dircache_url_clear(&u);
  cr_assert_eq(dircache_url_parse(
    "/tor/status-vote/current/consensus-microdesc/diff/"
    "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB/"
    "0232AF.z", &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_CONSENSUS_DIFF);
  cr_assert_eq(u.diff_hash[5], 0xab);
  cr_assert_eq(u.n_fp_prefixes, 1);
  dircache_url_clear(&u);
}

Test(dircache_url, descriptor_lists)
{
  dircache_url_t u;
  cr_assert_eq(dircache_url_parse("/tor/micro/d/" MD1 "-" MD2 "-" MD1 ".z",
                                  &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_MICRODESCS);
  cr_assert_eq(u.n_items, 2, "duplicates dropped");
  cr_assert_eq(u.items[0][0], 0x47);
  dircache_url_clear(&u);
  cr_assert_eq(dircache_url_parse("/tor/server/d/" FP1 "+" FP2, &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_SERVER_D);
  cr_assert_eq(u.n_items, 2);
  cr_assert_eq(u.items[1][0], 0x14, "lower case accepted");
  dircache_url_clear(&u);
  cr_assert_eq(dircache_url_parse("/tor/server/fp/" FP2 "+bogus.z", &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_SERVER_FP);
  cr_assert_eq(u.n_items, 1, "malformed items skipped");
  dircache_url_clear(&u);
  cr_assert_eq(dircache_url_parse("/tor/keys/fp-sk/" FP1 "-" FP2, &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_KEYS_FP_SK);
  cr_assert_eq(u.items2[0][0], 0x14);
  dircache_url_clear(&u);
  cr_assert_eq(dircache_url_parse("/tor/keys/sk/" FP1, &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_KEYS_SK);
  dircache_url_clear(&u);
}

Test(dircache_url, fixed_paths)
{
  static const struct { const char *p; dircache_url_kind_t k; } ok[] = {
    { "/tor/server/all.z", DIRCACHE_URL_SERVER_ALL },
    { "/tor/server/authority", DIRCACHE_URL_SERVER_AUTHORITY },
    { "/tor/keys/all", DIRCACHE_URL_KEYS_ALL },
    { "/tor/keys/authority.z", DIRCACHE_URL_KEYS_AUTHORITY },
    { "/tor/extra/all.z", DIRCACHE_URL_NOT_SERVED },
    { "/tor/status-vote/next/consensus", DIRCACHE_URL_NOT_SERVED },
    { "/tor/status-vote/current/authority.z", DIRCACHE_URL_NOT_SERVED },
    { "/tor/micro/all", DIRCACHE_URL_NOT_SERVED },
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    dircache_url_t u;
    cr_assert_eq(dircache_url_parse(ok[i].p, &u), 0, "%s", ok[i].p);
    cr_assert_eq(u.kind, ok[i].k, "%s", ok[i].p);
    cr_assert_str_neq(dircache_url_kind_name(u.kind), "unknown");
    dircache_url_clear(&u);
  }
}

/* rend-spec-v3 2.2.6: /tor/hs/3/publish and /tor/hs/3/<z>. */
Test(dircache_url, hsdir_paths)
{
  /* base64 of bytes 0x00 .. 0x1f, unpadded as tor sends it */
  static const char key[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  dircache_url_t u;
  cr_assert_eq(dircache_url_parse("/tor/hs/3/publish", &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_HS_PUBLISH);
  cr_assert_str_eq(dircache_url_kind_name(u.kind), "hs-publish");
  dircache_url_clear(&u);
  char path[128];
  snprintf(path, sizeof(path), "/tor/hs/3/%s", key);
  cr_assert_eq(dircache_url_parse(path, &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_HS_DESC);
  cr_assert_str_eq(dircache_url_kind_name(u.kind), "hs-desc");
  cr_assert(u.hs_key_ok);
  for (int i = 0; i < 32; i++)
    cr_assert_eq(u.hs_key[i], i);
  dircache_url_clear(&u);
  snprintf(path, sizeof(path), "/tor/hs/3/%s=", key);     /* padded */
  cr_assert_eq(dircache_url_parse(path, &u), 0);
  cr_assert(u.hs_key_ok);
  cr_assert_eq(u.hs_key[31], 31);
  dircache_url_clear(&u);
  /* keys that do not decode: still an HS_DESC request (answered 404) */
  static const char *const badkeys[] = {
    "", "AAEC", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!8",
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8/x",
  };
  for (size_t i = 0; i < sizeof(badkeys) / sizeof(badkeys[0]); i++) {
    snprintf(path, sizeof(path), "/tor/hs/3/%s", badkeys[i]);
    cr_assert_eq(dircache_url_parse(path, &u), 0, "%s", path);
    cr_assert_eq(u.kind, DIRCACHE_URL_HS_DESC, "%s", path);
    cr_assert_not(u.hs_key_ok, "%s", path);
    dircache_url_clear(&u);
  }
  /* other versions: known, never served (v2 is gone) */
  cr_assert_eq(dircache_url_parse("/tor/hs/2/publish", &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_NOT_SERVED);
  cr_assert_eq(dircache_url_parse("/tor/rendezvous2/publish", &u), 0);
  cr_assert_eq(u.kind, DIRCACHE_URL_NOT_SERVED);
}

Test(dircache_url, unknown_and_malformed)
{
  static const char *const unknown[] = {
    "/", "/index.html", "/tor/", "/tor/server/x",
    "/tor/status-vote/current/consensus-bogus",
    "/tor/keys/d/" FP1,
  };
  static const char *const malformed[] = {
    "/tor/micro/d/", "/tor/micro/d/" FP1, "/tor/server/d/.z",
    "/tor/server/d/" FP1 "00", "/tor/keys/fp-sk/" FP1,
    "/tor/status-vote/current/consensus/", "/tor/status-vote/current/consensus/ABC",
    "/tor/status-vote/current/consensus/0232AF+",
    "/tor/status-vote/current/consensus/diff/ABCD",
    "/tor/status-vote/current/consensus-microdesc/diff/"
    "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABx",
  };
  dircache_url_t u;
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
    cr_assert_eq(dircache_url_parse(unknown[i], &u), DIRCACHE_URL_UNKNOWN,
                 "%s", unknown[i]);
  for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
    cr_assert_eq(dircache_url_parse(malformed[i], &u), DIRCACHE_URL_MALFORMED,
                 "%s", malformed[i]);
    cr_assert_null(u.items);
  }
  cr_assert_eq(dircache_url_parse(NULL, &u), DIRCACHE_URL_MALFORMED);
}

Test(dircache_url, oversized_lists)
{
  /* Items are counted by separators, valid or not. */
  size_t n = DIRCACHE_URL_MAX_ITEMS;
  char *p = malloc(64 + n + 40);
  size_t off = (size_t)sprintf(p, "/tor/server/d/");
  memset(p + off, '+', n);
  sprintf(p + off + n, "%040d", 7);
  dircache_url_t u;
  cr_assert_eq(dircache_url_parse(p, &u), DIRCACHE_URL_MALFORMED);
  /* Exactly at the limit is fine. */
  sprintf(p + off + n - 1, "%040d", 7);
  cr_assert_eq(dircache_url_parse(p, &u), DIRCACHE_URL_OK);
  cr_assert_eq(u.n_items, 1);
  dircache_url_clear(&u);
  free(p);
  char *big = malloc(DIRCACHE_REQ_MAX_PATH + 10);
  memset(big, 'a', DIRCACHE_REQ_MAX_PATH + 9);
  big[DIRCACHE_REQ_MAX_PATH + 9] = 0;
  cr_assert_eq(dircache_url_parse(big, &u), DIRCACHE_URL_MALFORMED);
  free(big);
}
