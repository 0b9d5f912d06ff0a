/* test_hmac.c -- HMAC-SHA256 against RFC 4231 test cases 1-4, 6 and 7. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/crypto/hmac.h"
#include "helpers/vectors.h"

static void
check(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t msglen,
      const char *hex, int tc)
{
  uint8_t out[32], want[32];
  cr_assert_eq(test_unhex(hex, want, sizeof(want)), 32);
  cr_assert_eq(crypto_hmac_sha256(out, key, keylen, msg, msglen), 0);
  cr_assert(memcmp(out, want, 32) == 0, "RFC 4231 test case %d", tc);
}

Test(hmac, rfc4231_case1)
{
  uint8_t key[20];
  memset(key, 0x0b, sizeof(key));
  check(key, 20, (const uint8_t *)"Hi There", 8,
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 1);
}

Test(hmac, rfc4231_case2)
{
  const char *m = "what do ya want for nothing?";
  check((const uint8_t *)"Jefe", 4, (const uint8_t *)m, strlen(m),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 2);
}

Test(hmac, rfc4231_case3)
{
  uint8_t key[20], msg[50];
  memset(key, 0xaa, sizeof(key));
  memset(msg, 0xdd, sizeof(msg));
  check(key, 20, msg, 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 3);
}

Test(hmac, rfc4231_case4)
{
  uint8_t key[25], msg[50];
  for (int i = 0; i < 25; i++)
    key[i] = (uint8_t)(i + 1);
  memset(msg, 0xcd, sizeof(msg));
  check(key, 25, msg, 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 4);
}

Test(hmac, rfc4231_case6)
{
  uint8_t key[131];
  const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
  memset(key, 0xaa, sizeof(key));
  check(key, 131, (const uint8_t *)m, strlen(m),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 6);
}

Test(hmac, rfc4231_case7)
{
  uint8_t key[131];
  const char *m = "This is a test using a larger than block-size key and a "
    "larger than block-size data. The key needs to be hashed before being "
    "used by the HMAC algorithm.";
  memset(key, 0xaa, sizeof(key));
  check(key, 131, (const uint8_t *)m, strlen(m),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 7);
}

Test(hmac, empty_key_and_message)
{
  /* HMAC-SHA256("", ""), computed independently with Python's hmac module. */
  check(NULL, 0, NULL, 0,
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", 0);
  uint8_t zero[32] = { 0 };
  uint8_t a[32], b[32];
  /* a key is zero-padded to the block size: "" and 32 zero bytes agree */
  cr_assert_eq(crypto_hmac_sha256(a, NULL, 0, (const uint8_t *)"x", 1), 0);
  cr_assert_eq(crypto_hmac_sha256(b, zero, 32, (const uint8_t *)"x", 1), 0);
  cr_assert(memcmp(a, b, 32) == 0);
}

Test(hmac, null_with_length_fails)
{
  uint8_t out[32];
  cr_assert_eq(crypto_hmac_sha256(out, NULL, 4, (const uint8_t *)"x", 1), -1);
  cr_assert_eq(crypto_hmac_sha256(out, (const uint8_t *)"k", 1, NULL, 1), -1);
}
