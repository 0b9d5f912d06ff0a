/* fuzz_dircachereq.c -- fuzz the directory cache's sans-IO HTTP/1.0 request
 * parser (src/feature/dircache, dir-spec 6; POST bodies with Content-Length)
 * and, for requests that parse, the whole answer path against an empty
 * cache (URL parser, status codes), once as from a client's one-hop circuit
 * and once as from a relay's circuit (the HSDir's publish and fetch,
 * rend-spec-v3 2.2.6, on a fresh cache each time).
 *
 * Input: the request bytes.  Every prefix is parsed too (a prefix may only
 * need more, or fail the same way). */
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dircache/dircache.h"
#include "allium/lib/malloc/malloc.h"

static dircache_t *dc;

int
fuzz_init(void)
{
  dc = dircache_new(NULL, 1700000000);
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  dircache_request_t r;
  int rc = dircache_request_parse(data, len, &r);
  if (rc == DIRCACHE_REQ_OK) {
    if (!r.path || r.path[0] != '/' || r.head_len > len ||
        r.n_diff_from > DIRCACHE_MAX_DIFF_FROM ||
        r.head_len + r.body_len > len || r.body_len > DIRCACHE_REQ_MAX_BODY ||
        (r.body_len && strcmp(r.method, "POST")) ||
        strlen(r.path) > DIRCACHE_REQ_MAX_PATH)
      __builtin_trap();
    dircache_request_clear(&r);
  } else if (rc != DIRCACHE_REQ_NEED_MORE && rc != DIRCACHE_REQ_BAD &&
             rc != DIRCACHE_REQ_TOO_BIG) {
    __builtin_trap();
  }
  if (len > 1) {
    /* A strict prefix never parses as a longer request. */
    dircache_request_t p;
    if (dircache_request_parse(data, len / 2, &p) == DIRCACHE_REQ_OK) {
      if (p.head_len > len / 2)
        __builtin_trap();
      dircache_request_clear(&p);
    }
  }
  dircache_reply_t out;
  if (dircache_handle_request(dc, data, len, 1700000000, "127.0.0.1", &out) ==
      0) {
    if (!out.data || out.len < 12 || memcmp(out.data, "HTTP/1.0 ", 9) ||
        out.status == 200)
      __builtin_trap();
    dircache_reply_clear(&out);
  }
  /* As an HSDir: only a publish can be 200 (a descriptor that verifies). */
  dircache_t *hs = dircache_new(NULL, 1700000000);
  if (dircache_handle_request_from(hs, data, len, 1700000000, NULL,
                                   DIRCACHE_FROM_RELAY, &out) == 0) {
    if (!out.data || out.len < 12 || memcmp(out.data, "HTTP/1.0 ", 9) ||
        (out.status == 200 && out.kind != DIRCACHE_URL_HS_PUBLISH))
      __builtin_trap();
    dircache_reply_clear(&out);
  }
  dircache_free(hs);
  return 0;
}
