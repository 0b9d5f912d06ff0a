/* fuzz_dirhttp.c -- fuzz the sans-IO HTTP/1.0 response parser of
 * src/feature/dirclient (dir-spec.txt section 6), decompression included.
 *
 * Input: one option byte, then the response bytes.  Option bits: 0 = the
 * request URL ended in ".z" (magic-byte detection); 1-3 = chunk size
 * (0: all at once, else 2^(k-1) bytes).  Tight limits keep runs fast.
 */
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  uint8_t opt = data[0];
  data++;
  len--;
  dir_http_limits_t lim = {
    .max_header_bytes = 4096, .max_headers = 16,
    .max_body = 64 * 1024, .max_raw_body = 64 * 1024, .max_ratio = 50,
  };
  dir_http_parser_t *p = dir_http_parser_new(&lim, opt & 1);
  size_t k = (opt >> 1) & 7;
  size_t chunk = k ? ((size_t)1 << (k - 1)) : (len ? len : 1);
  int r = DIR_HTTP_NEED_MORE;
  for (size_t off = 0; off < len && r != DIR_HTTP_ERROR; off += chunk)
    r = dir_http_parser_feed(p, data + off, len - off < chunk ? len - off : chunk);
  if (r != DIR_HTTP_ERROR)
    r = dir_http_parser_eof(p);
  const dir_http_response_t *resp = dir_http_parser_response(p);
  if (r == DIR_HTTP_DONE) {
    if (!resp || resp->body_len > lim.max_body || resp->body[resp->body_len] ||
        resp->status < 100 || resp->status > 599 ||
        resp->n_headers > lim.max_headers)
      __builtin_trap();
    (void)dir_http_response_header(resp, "Content-Type");
    (void)dir_http_status_action(resp->status);
    size_t bl;
    uint8_t *b = dir_http_parser_take_body(p, &bl);
    al_free(b);
  } else if (resp || !dir_http_parser_error(p)) {
    __builtin_trap();
  }
  dir_http_parser_free(p);
  return 0;
}
