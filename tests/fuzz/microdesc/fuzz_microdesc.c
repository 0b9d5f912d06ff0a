/* fuzz_microdesc.c -- fuzz target for the microdescriptor batch parser of
 * src/feature/dirparse (dir-spec 3.3).  Every parsed microdescriptor's body
 * must lie inside the input. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dirparse/microdesc.h"
#include "allium/lib/crypto/crypto_util.h"

int
fuzz_init(void)
{
  return crypto_global_init() < 0 ? -1 : 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  microdesc_t **l = NULL;
  size_t n = 0;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (microdesc_parse_batch((const char *)data, len, &l, &n, &err) < 0) {
    if (l || n || err.msg[0] == '\0')
      abort();
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (l[i]->body_len == 0 || l[i]->body_len > len)
      abort();
  microdesc_list_free(l, n);
  return 0;
}
