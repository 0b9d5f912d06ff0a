/* test_dircache_store.c -- the directory cache's store and answers
 * (src/feature/dircache; dir-spec 4, 6.1, 6.2, appendix B, 4.5.2): a
 * DataDirectory holding real tor 0.4.9 cache files is loaded, then every
 * kind of request is answered and the responses are read back with the
 * directory client's own response parser (decompression round trips for
 * deflate, gzip and identity), including 304, 400, 404, 503, partial digest
 * lists, the authority-prefix rule and consensus diffs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "allium/feature/dircache/consdiff.h"
#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/microdesc.h"
#include "allium/feature/dirparse/routerdesc.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#include "feature/dircache/edit.h"
#include "feature/dirparse/fixture.h"

/* 2026-11-24 03:54:30 UTC: inside the fixtures' validity interval. */
static time_t
t_now(void)
{
  struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 24,
                   .tm_hour = 3, .tm_min = 54, .tm_sec = 30 };
  return timegm(&tm);
}

static char datadir[64];

static void
put(const char *fixture, const char *name)
{
  size_t len;
  char *s = fixture_load(fixture, &len);
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", datadir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(s, 1, len, f), len);
  fclose(f);
  free(s);
}

static dircache_t *
load_cache(void)
{
  strcpy(datadir, "/tmp/dircache-test-XXXXXX");
  cr_assert_not_null(mkdtemp(datadir));
  put("certs.txt", "cached-certs");
  put("consensus-ns.txt", "cached-consensus");
  put("consensus-md.txt", "cached-microdesc-consensus");
  put("microdescs.txt", "cached-microdescs.new");
  put("descriptors.txt", "cached-descriptors.new");
  dircache_t *dc = dircache_new(datadir, t_now());
  static const char *const names[] = {
    "cached-certs", "cached-consensus", "cached-microdesc-consensus",
    "cached-microdescs.new", "cached-descriptors.new",
  };
  for (size_t i = 0; i < 5; i++) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", datadir, names[i]);
    unlink(path);
  }
  rmdir(datadir);
  return dc;
}

/* A parsed reply: status, encoding, decompressed body. */
typedef struct got_t {
  int status;
  compress_method_t enc;
  char *body;
  size_t len;
  bool is_diff;
  char *raw;
} got_t;

static got_t
ask_at(dircache_t *dc, const char *req, time_t now, const char *peer)
{
  dircache_reply_t r;
  got_t g;
  memset(&g, 0, sizeof(g));
  cr_assert_eq(dircache_handle_request(dc, (const uint8_t *)req, strlen(req),
                                       now, peer, &r), 0);
  dir_http_limits_t lim;
  dir_http_limits_for_kind(DIR_DOC_CONSENSUS, &lim);
  dir_http_parser_t *p = dir_http_parser_new(&lim, false);
  int rc = dir_http_parser_feed(p, r.data, r.len);
  if (rc == DIR_HTTP_NEED_MORE)
    rc = dir_http_parser_eof(p);
  cr_assert_eq(rc, DIR_HTTP_DONE, "reply does not parse: %s",
               dir_http_parser_error(p));
  const dir_http_response_t *resp = dir_http_parser_response(p);
  g.status = resp->status;
  cr_assert_eq(g.status, r.status);
  g.enc = resp->encoding;
  g.body = (char *)dir_http_parser_take_body(p, &g.len);
  g.is_diff = r.is_diff;
  g.raw = al_strndup((const char *)r.data, r.len);
  dir_http_parser_free(p);
  dircache_reply_clear(&r);
  return g;
}

static got_t
ask(dircache_t *dc, const char *req)
{
  return ask_at(dc, req, t_now(), NULL);
}

static void
got_free(got_t *g)
{
  al_free(g->body);
  al_free(g->raw);
}

static size_t
count_lines_starting(const char *s, const char *kw)
{
  size_t n = 0, kl = strlen(kw);
  for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
    n += !strncmp(p, kw, kl);
  return n;
}

Test(dircache_store, loads_a_tor_datadir)
{
  dircache_t *dc = load_cache();
  dircache_contents_t c;
  dircache_get_contents(dc, &c);
  cr_assert(c.have_consensus[0]);
  cr_assert(c.have_consensus[1]);
  cr_assert_eq(c.n_microdescs, 4);
  cr_assert_eq(c.n_server_descs, 10);
  cr_assert_eq(c.n_certs, 2);
  cr_assert_eq(c.n_old[1], 0);
  dircache_free(dc);
  cr_assert_null(dc);
  dircache_free(dc);
  /* A directory without cache files gives an empty cache. */
  dc = dircache_new("/nonexistent-dircache-dir", t_now());
  dircache_get_contents(dc, &c);
  cr_assert_not(c.have_consensus[0] || c.have_consensus[1] || c.n_certs);
  dircache_free(dc);
}

Test(dircache_store, consensus_encodings_roundtrip)
{
  dircache_t *dc = load_cache();
  size_t len;
  char *md = fixture_load("consensus-md.txt", &len);
  got_t g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc.z "
                    "HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  cr_assert_eq(g.enc, COMPRESS_DEFLATE);
  cr_assert_eq(g.len, len);
  cr_assert(!memcmp(g.body, md, len));
  cr_assert(strstr(g.raw, "Content-Type: text/plain\r\n"));
  got_free(&g);
  g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc.z HTTP/1.0\r\n"
              "Accept-Encoding: gzip, identity\r\n\r\n");
  cr_assert_eq(g.enc, COMPRESS_GZIP);
  cr_assert(!memcmp(g.body, md, len));
  got_free(&g);
  g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc.z HTTP/1.0\r\n"
              "Accept-Encoding: identity, x-zstd\r\n\r\n");
  cr_assert_eq(g.enc, COMPRESS_ZSTD);
  cr_assert(strstr(g.raw, "Content-Encoding: x-zstd\r\n"));
  cr_assert(!memcmp(g.body, md, len));
  got_free(&g);
  /* tor's own header: x-zstd (cheap to make) before x-tor-lzma. */
  g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc HTTP/1.0\r\n"
              "Accept-Encoding: deflate, identity, x-tor-lzma, x-zstd, gzip"
              "\r\n\r\n");
  cr_assert_eq(g.enc, COMPRESS_ZSTD);
  cr_assert(!memcmp(g.body, md, len));
  got_free(&g);
  /* A consensus has an x-tor-lzma form (the .lzma format tor sends) for
   * a client that takes nothing better. */
  g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc HTTP/1.0\r\n"
              "Accept-Encoding: x-tor-lzma, identity\r\n\r\n");
  cr_assert_eq(g.enc, COMPRESS_LZMA);
  cr_assert_eq(g.raw[strstr(g.raw, "\r\n\r\n") - g.raw + 4], 0x5d);
  cr_assert(strstr(g.raw, "Content-Encoding: x-tor-lzma\r\n"));
  cr_assert(!memcmp(g.body, md, len));
  got_free(&g);
  /* gzip refused by q=0: the next best. */
  g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc HTTP/1.0\r\n"
              "Accept-Encoding: gzip;q=0, deflate\r\n\r\n");
  cr_assert_eq(g.enc, COMPRESS_DEFLATE);
  got_free(&g);
  free(md);
  char *ns = fixture_load("consensus-ns.txt", &len);
  g = ask(dc, "GET /tor/status-vote/current/consensus HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.enc, COMPRESS_IDENTITY);
  cr_assert_eq(g.len, len);
  cr_assert(!memcmp(g.body, ns, len));
  got_free(&g);
  free(ns);
  dircache_free(dc);
}

Test(dircache_store, consensus_conditions)
{
  dircache_t *dc = load_cache();
  /* If-Modified-Since at/after valid-after (03:54:20): 304; before: 200. */
  got_t g = ask(dc, "GET /tor/status-vote/current/consensus HTTP/1.0\r\n"
                    "If-Modified-Since: Tue, 24 Nov 2026 03:54:20 GMT\r\n\r\n");
  cr_assert_eq(g.status, 304);
  cr_assert_eq(g.len, 0);
  got_free(&g);
  g = ask(dc, "GET /tor/status-vote/current/consensus HTTP/1.0\r\n"
              "If-Modified-Since: Tue, 24 Nov 2026 03:54:19 GMT\r\n\r\n");
  cr_assert_eq(g.status, 200);
  got_free(&g);
  /* Signed by both authorities (330034..., 96C37B...). */
  g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc/330034+96c37b.z"
              " HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  got_free(&g);
  g = ask(dc, "GET /tor/status-vote/current/consensus/330034+AAAAAA HTTP/1.0"
              "\r\n\r\n");
  cr_assert_eq(g.status, 404, "half is not more than half");
  got_free(&g);
  g = ask(dc, "GET /tor/status-vote/current/consensus/330034+96C37B+AAAAAA "
              "HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  got_free(&g);
  /* Reasonably live: up to 24 h after valid-until (03:55:00). */
  time_t vu = t_now() + 30;
  g = ask_at(dc, "GET /tor/status-vote/current/consensus HTTP/1.0\r\n\r\n",
             vu + 24 * 3600, NULL);
  cr_assert_eq(g.status, 200);
  got_free(&g);
  g = ask_at(dc, "GET /tor/status-vote/current/consensus HTTP/1.0\r\n\r\n",
             vu + 24 * 3600 + 1, NULL);
  cr_assert_eq(g.status, 503);
  got_free(&g);
  dircache_free(dc);
  dc = dircache_new(NULL, t_now());
  g = ask(dc, "GET /tor/status-vote/current/consensus-microdesc HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 503);
  got_free(&g);
  dircache_free(dc);
}

/* Hex / base64 of the digests the fixture consensuses list. */
static consensus_t *
fixture_consensus(const char *name)
{
  size_t len;
  char *s = fixture_load(name, &len);
  consensus_t *c = NULL;
  cr_assert_eq(consensus_parse(s, len, &c, NULL), 0);
  free(s);
  return c;
}

Test(dircache_store, microdescs_partial_lists)
{
  dircache_t *dc = load_cache();
  consensus_t *c = fixture_consensus("consensus-md.txt");
  char b0[64], b1[64], req[512];
  base64_encode(b0, sizeof(b0), c->routers[0].md_digest, 32,
                BASE64_FLAG_NOPAD);
  base64_encode(b1, sizeof(b1), c->routers[2].md_digest, 32,
                BASE64_FLAG_NOPAD);
  snprintf(req, sizeof(req), "GET /tor/micro/d/%s-%s-"
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.z HTTP/1.0\r\n\r\n",
           b0, b1);
  got_t g = ask(dc, req);
  cr_assert_eq(g.status, 200);
  cr_assert_eq(g.enc, COMPRESS_DEFLATE);
  cr_assert_eq(count_lines_starting(g.body, "ntor-onion-key "), 2);
  /* Each microdescriptor served is the one its digest names, in order. */
  microdesc_t **mds = NULL;
  size_t n = 0;
  cr_assert_eq(microdesc_parse_batch(g.body, g.len, &mds, &n, NULL), 0);
  cr_assert_eq(n, 2);
  cr_assert(!memcmp(mds[0]->digest, c->routers[0].md_digest, 32));
  cr_assert(!memcmp(mds[1]->digest, c->routers[2].md_digest, 32));
  microdesc_list_free(mds, n);
  got_free(&g);
  /* Answers made per request: x-zstd when accepted, never x-tor-lzma. */
  snprintf(req, sizeof(req), "GET /tor/micro/d/%s-%s HTTP/1.0\r\n"
           "Accept-Encoding: deflate, identity, x-tor-lzma, x-zstd, gzip"
           "\r\n\r\n", b0, b1);
  g = ask(dc, req);
  cr_assert_eq(g.enc, COMPRESS_ZSTD);
  cr_assert_eq(count_lines_starting(g.body, "ntor-onion-key "), 2);
  got_free(&g);
  snprintf(req, sizeof(req), "GET /tor/micro/d/%s-%s HTTP/1.0\r\n"
           "Accept-Encoding: x-tor-lzma, identity\r\n\r\n", b0, b1);
  g = ask(dc, req);
  cr_assert_eq(g.enc, COMPRESS_IDENTITY);
  cr_assert_eq(count_lines_starting(g.body, "ntor-onion-key "), 2);
  got_free(&g);
  g = ask(dc, "GET /tor/micro/d/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "
              "HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 404);
  got_free(&g);
  consensus_free(c);
  dircache_free(dc);
}

Test(dircache_store, server_descriptors)
{
  dircache_t *dc = load_cache();
  consensus_t *c = fixture_consensus("consensus-ns.txt");
  char h0[41], h1[41], req[512];
  base16_encode(h0, sizeof(h0), c->routers[1].desc_digest, 20);
  base16_encode(h1, sizeof(h1), c->routers[3].identity, 20);
  snprintf(req, sizeof(req), "GET /tor/server/d/%s+%040d HTTP/1.0\r\n"
           "Accept-Encoding: gzip\r\n\r\n", h0, 0);
  got_t g = ask(dc, req);
  cr_assert_eq(g.status, 200);
  cr_assert_eq(g.enc, COMPRESS_GZIP);
  routerdesc_t *rd = NULL;
  cr_assert_eq(routerdesc_parse(g.body, g.len, &rd, NULL), 0);
  cr_assert(!memcmp(rd->digest, c->routers[1].desc_digest, 20));
  routerdesc_free(rd);
  got_free(&g);
  /* By fingerprint: the newest descriptor of that relay. */
  size_t len;
  char *all = fixture_load("descriptors.txt", &len);
  routerdesc_t **rds = NULL;
  size_t n = 0;
  cr_assert_eq(routerdesc_parse_batch(all, len, &rds, &n, NULL), 0);
  time_t newest = 0;
  size_t n_fps = 0;
  for (size_t i = 0; i < n; i++) {
    if (!memcmp(rds[i]->rsa_id, c->routers[3].identity, 20) &&
        rds[i]->published > newest)
      newest = rds[i]->published;
    bool seen = false;
    for (size_t k = 0; k < i; k++)
      seen |= !memcmp(rds[k]->rsa_id, rds[i]->rsa_id, 20);
    n_fps += !seen;
  }
  snprintf(req, sizeof(req), "GET /tor/server/fp/%s.z HTTP/1.0\r\n\r\n", h1);
  g = ask(dc, req);
  cr_assert_eq(g.status, 200);
  cr_assert_eq(routerdesc_parse(g.body, g.len, &rd, NULL), 0);
  cr_assert_eq(rd->published, newest);
  routerdesc_free(rd);
  got_free(&g);
  g = ask(dc, "GET /tor/server/all.z HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  cr_assert_eq(count_lines_starting(g.body, "router "), n_fps);
  got_free(&g);
  g = ask(dc, "GET /tor/server/authority.z HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 404);
  got_free(&g);
  routerdesc_list_free(rds, n);
  free(all);
  consensus_free(c);
  dircache_free(dc);
}

Test(dircache_store, key_certificates)
{
  dircache_t *dc = load_cache();
  got_t g = ask(dc, "GET /tor/keys/all.z HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  cr_assert_eq(count_lines_starting(g.body, "dir-key-certificate-version"), 2);
  got_free(&g);
  g = ask(dc, "GET /tor/keys/fp/330034F98048FAEDF6E72053100735451C70A478+"
              "0000000000000000000000000000000000000000.z HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  cr_assert_eq(count_lines_starting(g.body, "dir-key-certificate-version"), 1);
  cr_assert(strstr(g.body, "fingerprint 330034F98048FAEDF6E72053100735451C70A478"));
  got_free(&g);
  g = ask(dc, "GET /tor/keys/sk/B822944185BF24F1471C78D9E4D4B6CAD310E139 "
              "HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  cr_assert(strstr(g.body, "fingerprint 330034F98048FAEDF6E72053100735451C70A478"));
  got_free(&g);
  g = ask(dc, "GET /tor/keys/fp-sk/96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96-"
              "B8CA271187FF9D659F54EEE9506745D6819EAFB3 HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 200);
  cr_assert(strstr(g.body, "fingerprint 96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96"));
  got_free(&g);
  g = ask(dc, "GET /tor/keys/fp-sk/96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96-"
              "B822944185BF24F1471C78D9E4D4B6CAD310E139 HTTP/1.0\r\n\r\n");
  cr_assert_eq(g.status, 404);
  got_free(&g);
  dircache_free(dc);
}

Test(dircache_store, errors_partial_requests_and_counters)
{
  dircache_t *dc = load_cache();
  dircache_reply_t r;
  const char *part = "GET /tor/keys/all HTTP/1.0\r\n";
  cr_assert_eq(dircache_handle_request(dc, (const uint8_t *)part,
                                       strlen(part), t_now(), NULL, &r),
               DIRCACHE_NEED_MORE);
  static const struct { const char *req; int status; } cases[] = {
    { "POST /tor/ HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 400 },
    { "garbage\r\n\r\n", 400 },
    { "GET /tor/micro/d/xyz HTTP/1.0\r\n\r\n", 400 },
    { "GET /tor/extra/all.z HTTP/1.0\r\n\r\n", 404 },
    { "GET /index.html HTTP/1.0\r\n\r\n", 404 },
    { "GET /tor/status-vote/current/consensus-foo HTTP/1.0\r\n\r\n", 404 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    got_t g = ask(dc, cases[i].req);
    cr_assert_eq(g.status, cases[i].status, "%s", cases[i].req);
    cr_assert_eq(g.len, 0);
    got_free(&g);
  }
  got_t g = ask_at(dc, "GET /tor/keys/all HTTP/1.0\r\n\r\n", t_now(),
                   "192.0.2.7");
  cr_assert(strstr(g.raw, "\r\nX-Your-Address-Is: 192.0.2.7\r\n"));
  got_free(&g);
  g = ask_at(dc, "GET /tor/keys/all HTTP/1.0\r\n\r\n", t_now(),
             "1.2.3.4\r\nX-Evil: 1");
  cr_assert_null(strstr(g.raw, "X-Evil"));
  cr_assert_null(strstr(g.raw, "X-Your-Address-Is"));
  got_free(&g);
  dircache_stats_t st;
  dircache_get_stats(dc, &st);
  cr_assert_eq(st.status_400, 3);
  cr_assert_eq(st.status_404, 3);
  cr_assert_eq(st.status_200, 2);
  cr_assert_eq(st.requests[DIRCACHE_URL_KEYS_ALL], 2);
  cr_assert_eq(st.requests[DIRCACHE_URL_N_KINDS], 1);
  cr_assert_gt(st.bytes_out, 0);
  dircache_free(dc);
}

static void
hex_digest(dircache_t *dc, char out[65])
{
  uint8_t d[32];
  cr_assert(dircache_consensus_digest(dc, true, d));
  base16_encode(out, 65, d, 32);
}

Test(dircache_store, consensus_diffs)
{
  dircache_t *dc = load_cache();
  size_t len;
  char *old = fixture_load("consensus-md.txt", &len);
  char *next = next_consensus(old);
  char h_old[65], req[512];
  hex_digest(dc, h_old);
  /* Not newer / not a consensus: refused. */
  cr_assert_eq(dircache_add_consensus(dc, old, len, t_now()), -1);
  cr_assert_eq(dircache_add_consensus(dc, "garbage\n", 8, t_now()), -1);
  cr_assert_eq(dircache_add_consensus(dc, next, strlen(next), t_now() + 20),
               0);
  dircache_contents_t ct;
  dircache_get_contents(dc, &ct);
  cr_assert_eq(ct.n_old[1], 1);
  cr_assert_eq(ct.n_diffs[1], 1);
  /* The header names the old consensus: a diff that applies. */
  snprintf(req, sizeof(req), "GET /tor/status-vote/current/consensus-microdesc"
           ".z HTTP/1.0\r\nX-Or-Diff-From-Consensus: %064d, %s\r\n\r\n", 0,
           h_old);
  got_t g = ask_at(dc, req, t_now() + 25, NULL);
  cr_assert_eq(g.status, 200);
  cr_assert(g.is_diff);
  cr_assert(!strncmp(g.body, "network-status-diff-version 1\n", 30));
  char *res = NULL;
  size_t rl;
  cr_assert_eq(consdiff_apply(old, len, g.body, g.len, &res, &rl), 0);
  cr_assert_str_eq(res, next);
  al_free(res);
  got_free(&g);
  /* By path. */
  snprintf(req, sizeof(req), "GET /tor/status-vote/current/consensus-"
           "microdesc/diff/%s/330034+96C37B.z HTTP/1.0\r\n\r\n", h_old);
  g = ask_at(dc, req, t_now() + 25, NULL);
  cr_assert(g.is_diff);
  got_free(&g);
  snprintf(req, sizeof(req), "GET /tor/status-vote/current/consensus-"
           "microdesc/diff/%064d.z HTTP/1.0\r\n\r\n", 0);
  g = ask_at(dc, req, t_now() + 25, NULL);
  cr_assert_eq(g.status, 404);
  got_free(&g);
  /* An unknown hash in the header: the full consensus. */
  snprintf(req, sizeof(req), "GET /tor/status-vote/current/consensus-microdesc"
           " HTTP/1.0\r\nX-Or-Diff-From-Consensus: %064d\r\n\r\n", 1);
  g = ask_at(dc, req, t_now() + 25, NULL);
  cr_assert_not(g.is_diff);
  cr_assert_str_eq(g.body, next);
  got_free(&g);
  /* The ns flavour has no diffs. */
  snprintf(req, sizeof(req), "GET /tor/status-vote/current/consensus HTTP/1.0"
           "\r\nX-Or-Diff-From-Consensus: %s\r\n\r\n", h_old);
  g = ask_at(dc, req, t_now() + 25, NULL);
  cr_assert_not(g.is_diff);
  got_free(&g);
  dircache_stats_t st;
  dircache_get_stats(dc, &st);
  cr_assert_eq(st.diffs_served, 2);
  /* Older consensuses age out. */
  char *t1 = edit_line(next, "valid-after ", "valid-after 2026-11-24 09:54:30");
  char *t2 = edit_line(t1, "fresh-until ", "fresh-until 2026-11-24 11:00:00");
  char *third = edit_line(t2, "valid-until ", "valid-until 2026-11-24 13:00:00");
  free(t1);
  free(t2);
  cr_assert_eq(dircache_add_consensus(dc, third, strlen(third),
                                      t_now() + 6 * 3600 + 5), 0);
  dircache_get_contents(dc, &ct);
  cr_assert_eq(ct.n_old[1], 1, "only the last one stays a diff source");
  free(third);
  free(next);
  free(old);
  dircache_free(dc);
}

Test(dircache_store, hostile_documents_are_not_stored)
{
  dircache_t *dc = dircache_new(NULL, t_now());
  size_t len;
  cr_assert_eq(dircache_add_microdescs(dc, "garbage\n", 8, t_now()), 0);
  cr_assert_eq(dircache_add_server_descs(dc, "router x\n", 9, t_now()), 0);
  cr_assert_eq(dircache_add_certs(dc, "dir-key-certificate-version 3\n", 30,
                                  t_now()), 0);
  cr_assert_eq(dircache_add_consensus(dc, "", 0, t_now()), -1);
  /* A server descriptor whose signature no longer matches. */
  char *d = fixture_load("descriptors.txt", &len);
  char *bw = strstr(d, "\nbandwidth ");
  cr_assert_not_null(bw);
  bw[11] = bw[11] == '1' ? '2' : '1';
  size_t n = dircache_add_server_descs(dc, d, len, t_now());
  cr_assert_eq(n, 9, "the tampered descriptor alone is dropped");
  free(d);
  /* Truncated inputs: only complete documents are stored. */
  d = fixture_load("certs.txt", &len);
  cr_assert_eq(dircache_add_certs(dc, d, len / 2, t_now()), 1,
               "the complete first certificate only");
  free(d);
  d = fixture_load("microdescs.txt", &len);
  for (size_t k = 0; k < len; k += 97)
    dircache_add_microdescs(dc, d, k, t_now());
  dircache_contents_t c;
  dircache_get_contents(dc, &c);
  cr_assert_leq(c.n_microdescs, 4);
  /* Certificates expired at now are not kept. */
  dircache_t *late = dircache_new(NULL, t_now() + 5 * 366 * 24 * 3600);
  free(d);
  d = fixture_load("certs.txt", &len);
  cr_assert_eq(dircache_add_certs(late, d, len, t_now() + 5 * 366 * 24 * 3600),
               0);
  free(d);
  dircache_free(late);
  dircache_free(dc);
}
