/* hmac.c -- HMAC-SHA256 (RFC 2104 / FIPS 198-1) over libsodium's
 * crypto_auth_hmacsha256 streaming API (any key length; keys longer than
 * the block are hashed first, as RFC 2104 says).  Used by HKDF (RFC 5869)
 * and tor's ntor / hs-ntor MACs (tor-spec 5.1.4, rend-spec-v3).  No heap
 * allocation and no shared state, so it is cheap on the handshake path and
 * safe on worker threads.  See include/allium/lib/crypto/hmac.h. */
#include "allium/lib/crypto/hmac.h"

#include <sodium.h>

#include <string.h>

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

_Static_assert(sizeof(crypto_auth_hmacsha256_state) <= CRYPTO_HMAC_SHA256_KEY_BYTES,
               "crypto_hmac_sha256_key_t too small for libsodium's state");
_Static_assert(_Alignof(crypto_auth_hmacsha256_state) <= 16,
               "crypto_hmac_sha256_key_t under-aligned");

int
crypto_hmac_sha256_key_init(crypto_hmac_sha256_key_t *k, const uint8_t *key,
                            size_t keylen)
{
  static const uint8_t empty[1] = { 0 };
  if (!k || (!key && keylen))
    return -1;
  memset(k, 0, sizeof(*k));
  if (crypto_auth_hmacsha256_init((crypto_auth_hmacsha256_state *)k->opaque,
                                  key ? key : empty, keylen) != 0) {
    memwipe(k, sizeof(*k));
    return -1;
  }
  return 0;
}

int
crypto_hmac_sha256_keyed(uint8_t out[32], const crypto_hmac_sha256_key_t *k,
                         const uint8_t *m1, size_t l1,
                         const uint8_t *m2, size_t l2,
                         const uint8_t *m3, size_t l3)
{
  crypto_auth_hmacsha256_state st;
  int r = 0;
  if (!out || !k || (!m1 && l1) || (!m2 && l2) || (!m3 && l3))
    return -1;
  memcpy(&st, k->opaque, sizeof(st));
  if ((l1 && crypto_auth_hmacsha256_update(&st, m1, l1) != 0) ||
      (l2 && crypto_auth_hmacsha256_update(&st, m2, l2) != 0) ||
      (l3 && crypto_auth_hmacsha256_update(&st, m3, l3) != 0) ||
      crypto_auth_hmacsha256_final(&st, out) != 0)
    r = -1;
  memwipe(&st, sizeof(st));
  return r;
}

void
crypto_hmac_sha256_key_wipe(crypto_hmac_sha256_key_t *k)
{
  if (k)
    memwipe(k, sizeof(*k));
}
