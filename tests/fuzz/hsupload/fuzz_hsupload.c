/* fuzz_hsupload.c -- fuzz target for the status of an HSDir's answer to a
 * descriptor upload (src/feature/hs_service/hs_service_upload.c,
 * hs_service_upload_parse_status(); dir-spec HTTP/1.0 answers, rend-spec-v3
 * 2.2.6).  The input is what an HSDir sends back.  Checks: the result is -1
 * or a status in 100..599; a status only comes from a buffer starting with
 * "HTTP/1." and holding a CRLF within its first 8 KiB, with the three
 * digits right after the first space. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/hs_service/hs_service_upload.h"

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  int st = hs_service_upload_parse_status(data, len);
  if (st < 0) {
    if (st != -1)
      abort();
    return 0;
  }
  if (st < 100 || st > 599 || len < 12 || memcmp(data, "HTTP/1.", 7) != 0)
    abort();
  size_t scan = len < 8192 ? len : 8192;
  const uint8_t *cr = NULL;
  for (size_t i = 0; i + 1 < scan; i++)
    if (data[i] == '\r' && data[i + 1] == '\n') {
      cr = data + i;
      break;
    }
  if (!cr)
    abort();
  const uint8_t *sp = memchr(data, ' ', (size_t)(cr - data));
  if (!sp || cr - sp < 4)
    abort();
  int d = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
  if (d != st)
    abort();
  return 0;
}
