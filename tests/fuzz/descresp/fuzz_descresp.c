/* fuzz_descresp.c -- fuzz what a directory authority can send back to a
 * relay uploading its descriptor (dir-spec 2.1, 6.2): the response to the
 * "POST /tor/" and to the confirming "GET /tor/server/d/<digest>", parsed
 * with the uploader's limits and classified by desc_publish_classify() and
 * desc_publish_classify_check() (src/feature/relay/desc_publish.c).
 *
 * Input: one option byte (bits 0-2: chunk size, 0 = all at once, else
 * 2^(k-1) bytes), then the response bytes.
 */
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/relay/desc_publish.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

static void
check_result(const desc_upload_result_t *r)
{
  if (r->status > DESC_UPLOAD_FAILED || strlen(r->reason) >= DESC_UPLOAD_REASON_MAX)
    __builtin_trap();
  for (const char *c = r->reason; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
      __builtin_trap();
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  static const uint8_t digest[20] = { 1, 2, 3 };
  if (len < 1)
    return 0;
  uint8_t opt = data[0];
  data++;
  len--;
  dir_http_limits_t lim;
  desc_publish_response_limits(&lim);
  dir_http_parser_t *p = dir_http_parser_new(&lim, false);
  size_t k = opt & 7;
  size_t chunk = k ? ((size_t)1 << (k - 1)) : (len ? len : 1);
  int r = DIR_HTTP_NEED_MORE;
  for (size_t off = 0; off < len && r == DIR_HTTP_NEED_MORE; off += chunk)
    r = dir_http_parser_feed(p, data + off, len - off < chunk ? len - off : chunk);
  if (r == DIR_HTTP_NEED_MORE)
    r = dir_http_parser_eof(p);
  const dir_http_response_t *resp = dir_http_parser_response(p);
  desc_upload_result_t res;
  desc_publish_classify(r == DIR_HTTP_DONE ? resp : NULL, &res);
  check_result(&res);
  if (res.status == DESC_UPLOAD_ACCEPTED && res.http_status != 200)
    __builtin_trap();
  desc_publish_classify_check(r == DIR_HTTP_DONE ? resp : NULL, digest, &res);
  check_result(&res);
  dir_http_parser_free(p);
  return 0;
}
