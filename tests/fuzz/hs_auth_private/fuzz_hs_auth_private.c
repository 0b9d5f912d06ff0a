/* fuzz_hs_auth_private.c -- fuzz target for the ClientOnionAuthDir
 * "*.auth_private" parser (src/feature/hs_common/hs_auth_private.c,
 * rend-spec-v3 G.1.3).
 *
 * Input: the file content.  A parsed entry is written back in the
 * canonical form, which must parse to the same key and address; a failure
 * must leave the output wiped and give a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/hs_common/hs_auth_private.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"

#include "../fuzzing.h"

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_hs_auth_private: %s\n", what);
  abort();
}

int
fuzz_init(void)
{
  return crypto_global_init();
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  hs_auth_private_t e, e2;
  const char *why = NULL;
  static const uint8_t zero[sizeof(e)];
  if (hs_auth_private_parse((const char *)data, len, &e, &why) != 0) {
    if (!why)
      fail("failure without a reason");
    if (memcmp(&e, zero, sizeof(e)))
      fail("output not wiped on failure");
    return 0;
  }
  char addr[HS_ONION_ADDR_LEN + 1], key[64], line[256];
  if (hs_onion_address_encode(addr, sizeof(addr), &e.service_pk) != 0)
    fail("cannot encode the parsed address");
  addr[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  if (base32_encode(key, sizeof(key), e.secret, sizeof(e.secret)) < 0)
    fail("cannot encode the parsed key");
  int n = snprintf(line, sizeof(line), "%s:descriptor:x25519:%s\n", addr, key);
  if (hs_auth_private_parse(line, (size_t)n, &e2, &why) != 0)
    fail("canonical form does not parse");
  if (memcmp(&e, &e2, sizeof(e)))
    fail("round trip changed the entry");
  return 0;
}
