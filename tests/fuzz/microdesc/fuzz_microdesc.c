/* fuzz_microdesc.c -- fuzz target for the microdescriptor batch parser of
 * src/feature/dirparse (dir-spec 3.3), strict and piece by piece.  Every
 * parsed microdescriptor's body must lie inside the input, and a batch that
 * parses strictly gives the same microdescriptors piece by piece. */
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

/* microdesc_parse_each: every good one lies inside the input; when the
 * strict parse succeeded, the same microdescriptors in the same order. */
static void
check_each(const uint8_t *data, size_t len, microdesc_t **strict, size_t n_strict,
           int strict_ok)
{
  microdesc_t **l = NULL;
  size_t n = 0, bad = 0;
  if (microdesc_parse_each((const char *)data, len, &l, &n, &bad) < 0)
    abort();
  if ((n == 0) != (l == NULL))
    abort();
  for (size_t i = 0; i < n; i++)
    if (l[i]->body_len == 0 || l[i]->body_len > len)
      abort();
  if (strict_ok) {
    if (bad != 0 || n != n_strict)
      abort();
    for (size_t i = 0; i < n; i++)
      if (memcmp(l[i]->digest, strict[i]->digest, 32) != 0)
        abort();
  }
  microdesc_list_free(l, n);
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
    check_each(data, len, NULL, 0, 0);
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (l[i]->body_len == 0 || l[i]->body_len > len)
      abort();
  check_each(data, len, l, n, 1);
  microdesc_list_free(l, n);
  return 0;
}
