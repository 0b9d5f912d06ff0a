/* fuzz_hs_auth.c -- fuzz target for a service's client-authorization file
 * (authorized_clients/<name>.auth, "descriptor:x25519:<base32 key>"):
 * hs_auth_parse() on any bytes; a key it accepts must come back from the
 * canonical line built from it. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/hs_common/hs_auth_files.h"
#include "allium/lib/encoding/binascii.h"

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  uint8_t pk[X25519_KEY_LEN], again[X25519_KEY_LEN];
  if (hs_auth_parse((const char *)data, len, pk) < 0)
    return 0;
  char line[128] = "descriptor:x25519:";
  size_t off = strlen(line);
  if (base32_encode(line + off, sizeof(line) - off, pk, sizeof(pk)) != HS_AUTH_KEY_B32_LEN)
    abort();
  if (hs_auth_parse(line, strlen(line), again) < 0 || memcmp(pk, again, sizeof(pk)) != 0)
    abort();                         /* the canonical form must round-trip */
  return 0;
}
