/* test_crypto_util.c -- library initialisation and constant-time helpers. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/lib/crypto/crypto_util.h"

Test(crypto_util, global_init_idempotent)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(crypto_global_init(), 0);
}

Test(crypto_util, memeq_detects_every_bit)
{
  uint8_t a[37], b[37];
  for (size_t i = 0; i < sizeof(a); i++)
    a[i] = b[i] = (uint8_t)(i * 31 + 1);
  cr_assert_eq(crypto_memeq(a, b, sizeof(a)), 1);
  cr_assert_eq(crypto_memeq(a, b, 0), 1);
  cr_assert_eq(crypto_memeq(NULL, NULL, 0), 1);
  for (size_t i = 0; i < sizeof(a); i++) {
    for (int bit = 0; bit < 8; bit++) {
      b[i] ^= (uint8_t)(1u << bit);
      cr_assert_eq(crypto_memeq(a, b, sizeof(a)), 0, "byte %zu bit %d", i, bit);
      b[i] ^= (uint8_t)(1u << bit);
    }
  }
  cr_assert_eq(crypto_memeq(a, b, sizeof(a)), 1);
}

Test(crypto_util, is_zero)
{
  uint8_t z[33] = { 0 };
  cr_assert_eq(crypto_is_zero(z, sizeof(z)), 1);
  cr_assert_eq(crypto_is_zero(z, 0), 1);
  cr_assert_eq(crypto_is_zero(NULL, 0), 1);
  for (size_t i = 0; i < sizeof(z); i++) {
    for (int bit = 0; bit < 8; bit++) {
      z[i] = (uint8_t)(1u << bit);
      cr_assert_eq(crypto_is_zero(z, sizeof(z)), 0, "byte %zu bit %d", i, bit);
      z[i] = 0;
    }
  }
  z[5] = 0xff;
  cr_assert_eq(crypto_is_zero(z, 5), 1);
  cr_assert_eq(crypto_is_zero(z, 6), 0);
}
