/* hmac.c -- HMAC-SHA256 (RFC 2104 / FIPS 198-1) over libsodium's
 * crypto_auth_hmacsha256 streaming API (any key length; keys longer than
 * the block are hashed first, as RFC 2104 says).  Used by HKDF (RFC 5869)
 * and tor's ntor / hs-ntor MACs (tor-spec 5.1.4, rend-spec-v3).  No heap
 * allocation and no shared state, so it is cheap on the handshake path and
 * safe on worker threads.  See include/allium/lib/crypto/hmac.h. */
#include "allium/lib/crypto/hmac.h"

#include <sodium.h>

#include "allium/lib/malloc/malloc.h"

int
crypto_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
                   const uint8_t *msg, size_t msglen)
{
  static const uint8_t empty[1] = { 0 };
  crypto_auth_hmacsha256_state st;
  if (!out || (!key && keylen) || (!msg && msglen))
    return -1;
  if (crypto_auth_hmacsha256_init(&st, key ? key : empty, keylen) != 0 ||
      crypto_auth_hmacsha256_update(&st, msg ? msg : empty, msglen) != 0 ||
      crypto_auth_hmacsha256_final(&st, out) != 0) {
    memwipe(&st, sizeof(st));
    return -1;
  }
  memwipe(&st, sizeof(st));
  return 0;
}
