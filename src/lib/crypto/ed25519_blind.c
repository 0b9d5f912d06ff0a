/* ed25519_blind.c -- tor's Ed25519 extensions:
 *  - key blinding for onion services (rend-spec-v3 Appendix A.2): the
 *    parameter h is clamped, a' = h*a mod l, A' = h*A,
 *    prf' = SHA-512("Derive temporary signing key hash input" | prf)[:32];
 *  - the curve25519 -> ed25519 conversion used by the
 *    ntor-onion-key-crosscert (dir-spec "Converting a curve25519 public key
 *    to an ed25519 public key"; proposal 228): y = (u-1)/(u+1) mod p with the
 *    x sign bit in the top bit of byte 31, and the expanded key derived from
 *    a curve25519 secret, prf = SHA-512(sk | "Derive high part of ed25519
 *    key from curve25519 key\0")[:32].
 */
#include <string.h>

#include <openssl/bn.h>
#include <sodium.h>

#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/malloc/malloc.h"
#include "ed25519_internal.h"

#define BLIND_PRF_STRING "Derive temporary signing key hash input"
/* dir-spec: the string is hashed with its terminating NUL. */
#define CURVE_PRF_STRING "Derive high part of ed25519 key from curve25519 key"

int
ed25519_public_blind(ed25519_public_key_t *out, const ed25519_public_key_t *in,
                     const uint8_t param[32])
{
  uint8_t h[32], res[32];
  int r;

  if (!out || !in || !param)
    return -1;
  memcpy(h, param, 32);
  ed25519_scalar_clamp(h);
  /* noclamp: h is clamped already (the clamping variant would refuse an
   * all-zero raw parameter, whose clamped value 2^254 is legitimate).
   * libsodium refuses points that are not canonical, on the curve and in
   * the prime-order subgroup. */
  r = crypto_scalarmult_ed25519_noclamp(res, h, in->pubkey);
  memwipe(h, sizeof(h));
  if (r != 0)
    return -1;
  memcpy(out->pubkey, res, 32);
  return 0;
}

int
ed25519_keypair_blind(ed25519_keypair_t *out, const ed25519_keypair_t *in,
                      const uint8_t param[32])
{
  ed25519_keypair_t tmp;
  crypto_hash_sha512_state st;
  uint8_t h[32], a[32], digest[64];
  int r = -1;

  if (!out || !in || !param)
    return -1;
  memcpy(h, param, 32);
  ed25519_scalar_clamp(h);
  ed25519_scalar_reduce32(h, h);
  ed25519_scalar_reduce32(a, in->sec.seckey);
  crypto_core_ed25519_scalar_mul(tmp.sec.seckey, a, h);

  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, (const uint8_t *)BLIND_PRF_STRING,
                            strlen(BLIND_PRF_STRING));
  crypto_hash_sha512_update(&st, in->sec.seckey + 32, 32);
  crypto_hash_sha512_final(&st, digest);
  memcpy(tmp.sec.seckey + 32, digest, 32);

  if (ed25519_public_from_secret(&tmp.pub, &tmp.sec) == 0) {
    memcpy(out, &tmp, sizeof(tmp));
    r = 0;
  }
  memwipe(&tmp, sizeof(tmp));
  memwipe(&st, sizeof(st));
  memwipe(h, sizeof(h));
  memwipe(a, sizeof(a));
  memwipe(digest, sizeof(digest));
  return r;
}

int
ed25519_public_from_curve25519(ed25519_public_key_t *out, const uint8_t u[32],
                               int signbit)
{
  static const uint8_t p_le[32] = {
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
  };
  uint8_t ubuf[32];
  BN_CTX *ctx;
  BIGNUM *p, *bu, *num, *den;
  int r = -1;

  if (!out || !u)
    return -1;
  memcpy(ubuf, u, 32);
  ubuf[31] &= 127;   /* as for X25519, the top bit of u is not part of it */

  ctx = BN_CTX_new();
  if (!ctx)
    return -1;
  BN_CTX_start(ctx);
  p = BN_CTX_get(ctx);
  bu = BN_CTX_get(ctx);
  num = BN_CTX_get(ctx);
  den = BN_CTX_get(ctx);
  if (!den || !BN_lebin2bn(p_le, 32, p) || !BN_lebin2bn(ubuf, 32, bu))
    goto out;
  /* num = u - 1, den = u + 1 (mod p); y = num / den. */
  if (!BN_mod(bu, bu, p, ctx) ||
      !BN_mod_sub(num, bu, BN_value_one(), p, ctx) ||
      !BN_mod_add(den, bu, BN_value_one(), p, ctx))
    goto out;
  if (BN_is_zero(den))   /* u = -1: no corresponding Edwards point */
    goto out;
  if (!BN_mod_inverse(den, den, p, ctx) ||
      !BN_mod_mul(num, num, den, p, ctx))
    goto out;
  if (BN_bn2lebinpad(num, out->pubkey, 32) != 32)
    goto out;
  out->pubkey[31] |= (uint8_t)((signbit ? 1 : 0) << 7);
  r = 0;
 out:
  BN_CTX_end(ctx);
  BN_CTX_free(ctx);
  return r;
}

int
ed25519_keypair_from_curve25519(ed25519_keypair_t *out, int *signbit_out,
                                const uint8_t curve_secret[32])
{
  ed25519_keypair_t tmp;
  ed25519_public_key_t check;
  crypto_hash_sha512_state st;
  uint8_t digest[64], u[X25519_KEY_LEN];
  int signbit, r = -1;

  if (!out || !signbit_out || !curve_secret)
    return -1;
  memcpy(tmp.sec.seckey, curve_secret, 32);
  ed25519_scalar_clamp(tmp.sec.seckey);

  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, tmp.sec.seckey, 32);
  crypto_hash_sha512_update(&st, (const uint8_t *)CURVE_PRF_STRING,
                            strlen(CURVE_PRF_STRING) + 1);
  crypto_hash_sha512_final(&st, digest);
  memcpy(tmp.sec.seckey + 32, digest, 32);

  if (ed25519_public_from_secret(&tmp.pub, &tmp.sec) < 0)
    goto out;
  signbit = tmp.pub.pubkey[31] >> 7;
  /* Self-check: what a verifier derives from the X25519 public key and
   * the sign bit must be the key we sign with. */
  if (x25519_public_from_secret(u, tmp.sec.seckey) < 0 ||
      ed25519_public_from_curve25519(&check, u, signbit) < 0 ||
      sodium_memcmp(check.pubkey, tmp.pub.pubkey, 32) != 0)
    goto out;
  memcpy(out, &tmp, sizeof(tmp));
  *signbit_out = signbit;
  r = 0;
 out:
  memwipe(&tmp, sizeof(tmp));
  memwipe(&st, sizeof(st));
  memwipe(digest, sizeof(digest));
  return r;
}
