/* fuzz_keycert.c -- fuzz target for the authority key certificate parser
 * and verifier of src/feature/dirparse (dir-spec 3.1). */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dirparse/keycert.h"
#include "allium/lib/crypto/crypto_util.h"

int
fuzz_init(void)
{
  return crypto_global_init() < 0 ? -1 : 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  authcert_t **l = NULL;
  size_t n = 0;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (authcert_parse_list((const char *)data, len, &l, &n, &err) < 0) {
    if (l || n || err.msg[0] == '\0')
      abort();
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (!l[i]->identity_key || !l[i]->signing_key || !authcert_is_live(l[i], l[i]->published, 0))
      abort();
  authcert_list_free(l, n);
  return 0;
}
