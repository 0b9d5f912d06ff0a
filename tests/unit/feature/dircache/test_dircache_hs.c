/* test_dircache_hs.c -- the directory cache as an HSDir (HSDir=2;
 * src/feature/dircache/dircache_hs.c; rend-spec-v3 2.2.6): descriptors
 * POSTed to /tor/hs/3/publish and fetched from /tor/hs/3/<z> through
 * dircache_handle_request_from(), with the status codes a tor HSDir gives:
 * 200 stored / served (compressed when asked), 400 for a bad signature, a
 * replayed or lower revision-counter, an oversized body (also when the
 * consensus lowers HSV3MaxDescriptorSize) or a truncated document, 404 for
 * an unknown or malformed key, 503 when the request did not come over a
 * relay's circuit; expiry and counters. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/lib/compress/compress.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#include "feature/dirparse/fixture.h"
#include "feature/dirparse/hsdesc_fixture.h"

static void
setup(void)
{
  crypto_global_init();
}

TestSuite(dircache_hs, .init = setup);

/* One answer: status, and the body decoded from its Content-Encoding. */
typedef struct hs_got_t {
  int status;
  compress_method_t enc;
  char *body;
  size_t len;
} hs_got_t;

static hs_got_t
ask_raw(dircache_t *dc, const uint8_t *req, size_t len, unsigned flags,
        time_t now)
{
  dircache_reply_t r;
  hs_got_t g;
  memset(&g, 0, sizeof(g));
  cr_assert_eq(dircache_handle_request_from(dc, req, len, now, NULL, flags,
                                            &r), 0);
  g.status = r.status;
  g.enc = r.encoding;
  cr_assert_eq(memcmp(r.data, "HTTP/1.0 ", 9), 0);
  const char *hend = strstr((const char *)r.data, "\r\n\r\n");
  cr_assert_not_null(hend);
  size_t off = (size_t)(hend + 4 - (const char *)r.data);
  if (r.status == 200 && r.len > off) {
    uint8_t *out = NULL;
    size_t olen = 0;
    cr_assert_eq(compress_uncompress_buffer(r.encoding, r.data + off,
                                            r.len - off, NULL, &out, &olen),
                 0);
    g.body = (char *)out;
    g.len = olen;
  }
  dircache_reply_clear(&r);
  return g;
}

/* POST doc[0..len) to /tor/hs/3/publish. */
static int
publish(dircache_t *dc, const char *doc, size_t len, unsigned flags,
        time_t now)
{
  char head[128];
  int h = snprintf(head, sizeof(head), "POST /tor/hs/3/publish HTTP/1.0\r\n"
                   "Content-Length: %zu\r\n\r\n", len);
  uint8_t *req = al_malloc((size_t)h + len);
  memcpy(req, head, (size_t)h);
  memcpy(req + h, doc, len);
  hs_got_t g = ask_raw(dc, req, (size_t)h + len, flags, now);
  al_free(req);
  cr_assert_null(g.body);
  return g.status;
}

/* GET /tor/hs/3/<base64 of blinded seed b's key>. */
static hs_got_t
fetch(dircache_t *dc, uint8_t b, const char *accept, unsigned flags,
      time_t now)
{
  ed25519_keypair_t kp;
  hsdesc_keypair(&kp, b);
  char b64[64], req[256];
  cr_assert_geq(base64_encode(b64, sizeof(b64), kp.pub.pubkey, 32,
                              BASE64_FLAG_NOPAD), 0);
  snprintf(req, sizeof(req), "GET /tor/hs/3/%s HTTP/1.0\r\n%s%s%s\r\n", b64,
           accept ? "Accept-Encoding: " : "", accept ? accept : "",
           accept ? "\r\n" : "");
  return ask_raw(dc, (const uint8_t *)req, strlen(req), flags, now);
}

static void
got_clear(hs_got_t *g)
{
  al_free(g->body);
  memset(g, 0, sizeof(*g));
}

#define RELAY DIRCACHE_FROM_RELAY

Test(dircache_hs, publish_then_fetch)
{
  dircache_t *dc = dircache_new(NULL, HSDESC_NOW);
  size_t len;
  char *doc = hsdesc_build(40, 41, 5, 180, 1000, &len);
  hs_got_t g = fetch(dc, 40, NULL, RELAY, HSDESC_NOW);
  cr_assert_eq(g.status, 404);
  cr_assert_eq(publish(dc, doc, len, RELAY, HSDESC_NOW), 200);
  g = fetch(dc, 40, NULL, RELAY, HSDESC_NOW + 1);
  cr_assert_eq(g.status, 200);
  cr_assert_eq(g.enc, COMPRESS_IDENTITY);
  cr_assert_eq(g.len, len);
  cr_assert_eq(memcmp(g.body, doc, len), 0);
  got_clear(&g);
  /* compressed as the client accepts */
  g = fetch(dc, 40, "deflate, identity", RELAY, HSDESC_NOW + 1);
  cr_assert_eq(g.status, 200);
  cr_assert_eq(g.enc, COMPRESS_DEFLATE);
  cr_assert_eq(g.len, len);
  cr_assert_eq(memcmp(g.body, doc, len), 0);
  got_clear(&g);
  g = fetch(dc, 40, "gzip", RELAY, HSDESC_NOW + 1);
  cr_assert_eq(g.enc, COMPRESS_GZIP);
  cr_assert_eq(memcmp(g.body, doc, len), 0);
  got_clear(&g);
  /* another key: not found */
  g = fetch(dc, 41, NULL, RELAY, HSDESC_NOW + 1);
  cr_assert_eq(g.status, 404);
  dircache_contents_t c;
  dircache_get_contents(dc, &c);
  cr_assert_eq(c.n_hs_descs, 1);
  cr_assert_eq(c.hs_max_desc_size, HS_DESC_MAX_LEN);
  dircache_stats_t st;
  dircache_get_stats(dc, &st);
  cr_assert_eq(st.hs_stored, 1);
  cr_assert_eq(st.hs_served, 3);
  cr_assert_eq(st.hs_not_found, 2);
  cr_assert_eq(st.requests[DIRCACHE_URL_HS_PUBLISH], 1);
  cr_assert_eq(st.requests[DIRCACHE_URL_HS_DESC], 5);
  /* expiry: descriptor-lifetime 180 minutes after the upload */
  cr_assert_eq(dircache_hs_expire(dc, HSDESC_NOW + 180 * 60 - 1), 0);
  cr_assert_eq(dircache_hs_expire(dc, HSDESC_NOW + 180 * 60), 1);
  g = fetch(dc, 40, NULL, RELAY, HSDESC_NOW + 180 * 60);
  cr_assert_eq(g.status, 404);
  al_free(doc);
  dircache_free(dc);
  cr_assert_null(dc);
}

/* rend-spec-v3 2.2.6: only anonymously (over a relay's circuit). */
Test(dircache_hs, one_hop_requests_get_503)
{
  dircache_t *dc = dircache_new(NULL, HSDESC_NOW);
  size_t len;
  char *doc = hsdesc_build(40, 41, 5, 180, 1000, &len);
  cr_assert_eq(publish(dc, doc, len, 0, HSDESC_NOW), 503);
  dircache_contents_t c;
  dircache_get_contents(dc, &c);
  cr_assert_eq(c.n_hs_descs, 0);
  cr_assert_eq(publish(dc, doc, len, RELAY, HSDESC_NOW), 200);
  hs_got_t g = fetch(dc, 40, NULL, 0, HSDESC_NOW);
  cr_assert_eq(g.status, 503);
  cr_assert_null(g.body);
  /* dircache_handle_request() is the not-anonymous form */
  char req[200];
  ed25519_keypair_t kp;
  hsdesc_keypair(&kp, 40);
  char b64[64];
  base64_encode(b64, sizeof(b64), kp.pub.pubkey, 32, BASE64_FLAG_NOPAD);
  snprintf(req, sizeof(req), "GET /tor/hs/3/%s HTTP/1.0\r\n\r\n", b64);
  dircache_reply_t r;
  cr_assert_eq(dircache_handle_request(dc, (const uint8_t *)req, strlen(req),
                                       HSDESC_NOW, NULL, &r), 0);
  cr_assert_eq(r.status, 503);
  dircache_reply_clear(&r);
  dircache_stats_t st;
  dircache_get_stats(dc, &st);
  cr_assert_eq(st.hs_not_anonymous, 3);
  cr_assert_eq(st.hs_stored, 1);
  al_free(doc);
  dircache_free(dc);
}

/* The hostile uploads: replayed and lower revision counters, a bad
 * signature, truncation, garbage, NUL bytes, oversized bodies. */
Test(dircache_hs, bad_uploads_get_400)
{
  dircache_t *dc = dircache_new(NULL, HSDESC_NOW);
  size_t l5, l4, l6;
  char *d5 = hsdesc_build(40, 41, 5, 180, 1000, &l5);
  char *d4 = hsdesc_build(40, 41, 4, 180, 1000, &l4);
  char *d6 = hsdesc_build(40, 42, 6, 180, 1200, &l6);
  cr_assert_eq(publish(dc, d5, l5, RELAY, HSDESC_NOW), 200);
  cr_assert_eq(publish(dc, d5, l5, RELAY, HSDESC_NOW + 1), 400);  /* equal */
  cr_assert_eq(publish(dc, d4, l4, RELAY, HSDESC_NOW + 1), 400);  /* lower */
  /* a flipped byte in the signature */
  char *bad = al_memdup(d6, l6 + 1);
  char *sig = strstr(bad, "\nsignature ");
  cr_assert_not_null(sig);
  sig[12] = sig[12] == 'A' ? 'B' : 'A';
  cr_assert_eq(publish(dc, bad, l6, RELAY, HSDESC_NOW + 1), 400);
  /* a flipped byte in the signed part */
  memcpy(bad, d6, l6);
  char *rc = strstr(bad, "revision-counter 6");
  cr_assert_not_null(rc);
  rc[17] = '7';
  cr_assert_eq(publish(dc, bad, l6, RELAY, HSDESC_NOW + 1), 400);
  /* truncated anywhere */
  for (size_t cut = 0; cut < l6; cut += 97)
    cr_assert_eq(publish(dc, d6, cut, RELAY, HSDESC_NOW + 1), 400, "%zu", cut);
  /* a NUL byte inside */
  memcpy(bad, d6, l6);
  bad[l6 / 2] = '\0';
  cr_assert_eq(publish(dc, bad, l6, RELAY, HSDESC_NOW + 1), 400);
  /* still the first one served */
  hs_got_t g = fetch(dc, 40, NULL, RELAY, HSDESC_NOW + 2);
  cr_assert_eq(g.status, 200);
  cr_assert_eq(g.len, l5);
  cr_assert_eq(memcmp(g.body, d5, l5), 0);
  got_clear(&g);
  /* a higher counter replaces it */
  cr_assert_eq(publish(dc, d6, l6, RELAY, HSDESC_NOW + 3), 200);
  g = fetch(dc, 40, NULL, RELAY, HSDESC_NOW + 3);
  cr_assert_eq(g.len, l6);
  cr_assert_eq(memcmp(g.body, d6, l6), 0);
  got_clear(&g);
  /* larger than HSV3MaxDescriptorSize (50000): refused before parsing */
  size_t lb = HS_DESC_MAX_LEN + 1;
  char *big = al_malloc(lb);
  memset(big, '\n', lb);
  memcpy(big, d6, l6);
  cr_assert_eq(publish(dc, big, lb, RELAY, HSDESC_NOW), 400);
  dircache_stats_t st;
  dircache_get_stats(dc, &st);
  cr_assert_eq(st.hs_stored, 2);
  cr_assert_eq(st.hs_rejected, 6 + (l6 + 96) / 97);
  al_free(big);
  al_free(bad);
  al_free(d4);
  al_free(d5);
  al_free(d6);
  dircache_free(dc);
}

Test(dircache_hs, wrong_methods_and_keys)
{
  dircache_t *dc = dircache_new(NULL, HSDESC_NOW);
  static const struct { const char *req; int status; } cases[] = {
    { "GET /tor/hs/3/publish HTTP/1.0\r\n\r\n", 404 },
    { "GET /tor/hs/3/AAAA HTTP/1.0\r\n\r\n", 404 },
    { "GET /tor/hs/3/ HTTP/1.0\r\n\r\n", 404 },
    { "GET /tor/hs/2/AAAA HTTP/1.0\r\n\r\n", 404 },
    { "HEAD /tor/hs/3/publish HTTP/1.0\r\n\r\n", 400 },
    { "POST /tor/hs/3/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 HTTP/1.0\r\n"
      "Content-Length: 0\r\n\r\n", 400 },
    { "POST /tor/hs/2/publish HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 400 },
    { "POST /tor/hs/3/publish HTTP/1.0\r\n\r\nhs-descriptor 3\n", 400 },
    { "POST /tor/hs/3/publish HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 400 },
    { "POST /tor/hs/3/publish HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", 400 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    hs_got_t g = ask_raw(dc, (const uint8_t *)cases[i].req,
                         strlen(cases[i].req), RELAY, HSDESC_NOW);
    cr_assert_eq(g.status, cases[i].status, "%s", cases[i].req);
    got_clear(&g);
  }
  /* a POST whose body has not all arrived waits */
  const char *part = "POST /tor/hs/3/publish HTTP/1.0\r\nContent-Length: 50"
                     "\r\n\r\nhs-descriptor 3\n";
  dircache_reply_t r;
  cr_assert_eq(dircache_handle_request_from(dc, (const uint8_t *)part,
                                            strlen(part), HSDESC_NOW, NULL,
                                            RELAY, &r), DIRCACHE_NEED_MORE);
  dircache_free(dc);
}

/* HSV3MaxDescriptorSize from the consensus bounds the uploads. */
Test(dircache_hs, consensus_param_bounds_uploads)
{
  size_t clen;
  char *c = fixture_load("consensus-ns.txt", &clen);
  char *ds = strstr(c, "\ndir-source ");
  cr_assert_not_null(ds);
  const char *param = "\nparams HSV3MaxDescriptorSize=3000";
  size_t pre = (size_t)(ds - c), plen = strlen(param);
  char *e = malloc(clen + plen + 1);
  memcpy(e, c, pre);
  memcpy(e + pre, param, plen);
  memcpy(e + pre + plen, ds, clen - pre + 1);
  dircache_t *dc = dircache_new(NULL, HSDESC_NOW);
  cr_assert_eq(dircache_add_consensus(dc, e, clen + plen, HSDESC_NOW), 0);
  dircache_contents_t cc;
  dircache_get_contents(dc, &cc);
  cr_assert_eq(cc.hs_max_desc_size, 3000);
  size_t ls, lb;
  char *small = hsdesc_build(40, 41, 5, 180, 500, &ls);
  char *big = hsdesc_build(42, 41, 5, 180, 2500, &lb);
  cr_assert_lt(ls, 3000);
  cr_assert_gt(lb, 3000);
  cr_assert_eq(publish(dc, big, lb, RELAY, HSDESC_NOW), 400);
  cr_assert_eq(publish(dc, small, ls, RELAY, HSDESC_NOW), 200);
  al_free(small);
  al_free(big);
  free(e);
  free(c);
  dircache_free(dc);
}

/* Descriptors a tor 0.4.9 service published (tests/unit/feature/dirparse/
 * data): stored and served back byte for byte; the same revision counter
 * re-encoded is refused as tor's HSDir refuses it. */
Test(dircache_hs, tor_descriptors)
{
  dircache_t *dc = dircache_new(NULL, HSDESC_TOR_NOW);
  size_t lc, ls;
  char *cdoc = fixture_load("hsdesc-client.txt", &lc);
  char *sdoc = fixture_load("hsdesc-service.txt", &ls);
  cr_assert_eq(publish(dc, cdoc, lc, RELAY, HSDESC_TOR_NOW), 200);
  cr_assert_eq(publish(dc, sdoc, ls, RELAY, HSDESC_TOR_NOW + 1), 400);
  /* fetched by the blinded key its cert names, in the URL form tor uses */
  hs_desc_outer_t *d = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  cr_assert_eq(hs_desc_outer_parse(cdoc, lc, HS_DESC_MAX_LEN, NULL,
                                   HSDESC_TOR_NOW, &d, &err), 0);
  char b64[64], req[200];
  base64_encode(b64, sizeof(b64), d->blinded_key.pubkey, 32,
                BASE64_FLAG_NOPAD);
  hs_desc_outer_free(d);
  snprintf(req, sizeof(req), "GET /tor/hs/3/%s HTTP/1.0\r\n"
           "Accept-Encoding: deflate, identity, x-tor-lzma, x-zstd, gzip"
           "\r\n\r\n", b64);
  hs_got_t g = ask_raw(dc, (const uint8_t *)req, strlen(req), RELAY,
                       HSDESC_TOR_NOW + 2);
  cr_assert_eq(g.status, 200);
  cr_assert_eq(g.len, lc);
  cr_assert_eq(memcmp(g.body, cdoc, lc), 0);
  got_clear(&g);
  free(cdoc);
  free(sdoc);
  dircache_free(dc);
}
