/* hmac.c -- HMAC-SHA256 (RFC 2104 / FIPS 198-1) over OpenSSL.
 * Used by HKDF (RFC 5869) and tor's ntor / hs-ntor MACs (tor-spec 5.1.4,
 * rend-spec-v3). See include/allium/lib/crypto/hmac.h. */
#include "allium/lib/crypto/hmac.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int
crypto_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen,
                   const uint8_t *msg, size_t msglen)
{
  static const uint8_t empty[1] = { 0 };
  unsigned int outlen = 0;
  if (keylen > INT_MAX || (!key && keylen) || (!msg && msglen))
    return -1;
  /* OpenSSL wants non-NULL pointers even for empty inputs. */
  if (!HMAC(EVP_sha256(), key ? key : empty, (int)keylen,
            msg ? msg : empty, msglen, out, &outlen))
    return -1;
  return outlen == 32 ? 0 : -1;
}
