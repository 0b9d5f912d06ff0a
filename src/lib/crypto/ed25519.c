/* ed25519.c -- Ed25519 signatures (RFC 8032 section 5.1) with tor's 64-byte
 * expanded secret keys (a || prf, see cert-spec and shared/TOR-FILE-FORMATS).
 *
 * Because the secret key is already expanded, signing follows RFC 8032
 * 5.1.6 steps 2-6 by hand over libsodium's group and scalar primitives:
 *   r = SHA-512(prf || M) mod l;  R = rB;  k = SHA-512(R || A || M) mod l;
 *   S = r + k*a mod l.
 * Verification is RFC 8032 5.1.7 (libsodium's strict verifier).  Blinding
 * and the curve25519 conversion live in ed25519_blind.c.
 */
#include <string.h>

#include <sodium.h>

#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"
#include "ed25519_internal.h"

void
ed25519_scalar_clamp(uint8_t s[32])
{
  s[0] &= 248;
  s[31] &= 63;
  s[31] |= 64;
}

void
ed25519_scalar_reduce32(uint8_t out[32], const uint8_t in[32])
{
  uint8_t wide[64];
  memset(wide, 0, sizeof(wide));
  memcpy(wide, in, 32);
  crypto_core_ed25519_scalar_reduce(out, wide);
  memwipe(wide, sizeof(wide));
}

int
ed25519_secret_from_seed(ed25519_secret_key_t *out,
                         const uint8_t seed[ED25519_SEED_LEN])
{
  if (!out || !seed)
    return -1;
  /* RFC 8032 5.1.5: h = SHA-512(seed); a = clamp(h[0:32]); prf = h[32:64]. */
  if (crypto_hash_sha512(out->seckey, seed, ED25519_SEED_LEN) != 0)
    return -1;
  ed25519_scalar_clamp(out->seckey);
  return 0;
}

int
ed25519_public_from_secret(ed25519_public_key_t *out,
                           const ed25519_secret_key_t *sk)
{
  uint8_t a[32];
  int r;

  if (!out || !sk)
    return -1;
  /* B has order l, so a*B = (a mod l)*B; reducing keeps the noclamp
   * multiplication below 2^255 whatever the stored key holds. */
  ed25519_scalar_reduce32(a, sk->seckey);
  r = crypto_scalarmult_ed25519_base_noclamp(out->pubkey, a);
  memwipe(a, sizeof(a));
  return r == 0 ? 0 : -1;
}

int
ed25519_keypair_from_seed(ed25519_keypair_t *kp,
                          const uint8_t seed[ED25519_SEED_LEN])
{
  if (!kp || !seed)
    return -1;
  if (ed25519_secret_from_seed(&kp->sec, seed) < 0 ||
      ed25519_public_from_secret(&kp->pub, &kp->sec) < 0) {
    ed25519_keypair_wipe(kp);
    return -1;
  }
  return 0;
}

int
ed25519_keypair_generate(ed25519_keypair_t *kp)
{
  uint8_t seed[ED25519_SEED_LEN];
  int r;

  if (!kp)
    return -1;
  crypto_rand(seed, sizeof(seed));
  r = ed25519_keypair_from_seed(kp, seed);
  memwipe(seed, sizeof(seed));
  return r;
}

/* Signature over the concatenation prefix||msg (prefix may be NULL or ""),
 * RFC 8032 5.1.6 with the expanded key in kp. */
static int
ed25519_sign_parts(uint8_t sig[ED25519_SIG_LEN], const char *prefix,
                   const uint8_t *msg, size_t len, const ed25519_keypair_t *kp)
{
  crypto_hash_sha512_state st;
  uint8_t h[64], r[32], k[32], a[32], ka[32];
  size_t plen = prefix ? strlen(prefix) : 0;
  int ret = -1;

  if (!sig || !kp || (!msg && len))
    return -1;
  memset(sig, 0, ED25519_SIG_LEN);

  /* r = SHA-512(prf || M) mod l */
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, kp->sec.seckey + 32, 32);
  if (plen)
    crypto_hash_sha512_update(&st, (const uint8_t *)prefix, plen);
  if (len)
    crypto_hash_sha512_update(&st, msg, len);
  crypto_hash_sha512_final(&st, h);
  crypto_core_ed25519_scalar_reduce(r, h);

  /* R = rB.  r == 0 has negligible probability; sodium refuses it. */
  if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0)
    goto out;

  /* k = SHA-512(R || A || M) mod l */
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, sig, 32);
  crypto_hash_sha512_update(&st, kp->pub.pubkey, 32);
  if (plen)
    crypto_hash_sha512_update(&st, (const uint8_t *)prefix, plen);
  if (len)
    crypto_hash_sha512_update(&st, msg, len);
  crypto_hash_sha512_final(&st, h);
  crypto_core_ed25519_scalar_reduce(k, h);

  /* S = r + k*a mod l */
  ed25519_scalar_reduce32(a, kp->sec.seckey);
  crypto_core_ed25519_scalar_mul(ka, k, a);
  crypto_core_ed25519_scalar_add(sig + 32, r, ka);
  ret = 0;

 out:
  memwipe(&st, sizeof(st));
  memwipe(h, sizeof(h));
  memwipe(r, sizeof(r));
  memwipe(a, sizeof(a));
  memwipe(ka, sizeof(ka));
  memwipe(k, sizeof(k));
  if (ret < 0)
    memset(sig, 0, ED25519_SIG_LEN);
  return ret;
}

int
ed25519_sign(uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg, size_t len,
             const ed25519_keypair_t *kp)
{
  return ed25519_sign_parts(sig, NULL, msg, len, kp);
}

int
ed25519_sign_prefixed(uint8_t sig[ED25519_SIG_LEN], const char *prefix,
                      const uint8_t *msg, size_t len,
                      const ed25519_keypair_t *kp)
{
  return ed25519_sign_parts(sig, prefix, msg, len, kp);
}

int
ed25519_verify(const uint8_t sig[ED25519_SIG_LEN], const uint8_t *msg,
               size_t len, const ed25519_public_key_t *pk)
{
  static const uint8_t empty[1] = { 0 };
  if (!sig || !pk || (!msg && len))
    return -1;
  if (!msg)
    msg = empty;
  return crypto_sign_ed25519_verify_detached(sig, msg, len, pk->pubkey) == 0
    ? 0 : -1;
}

int
ed25519_verify_prefixed(const uint8_t sig[ED25519_SIG_LEN], const char *prefix,
                        const uint8_t *msg, size_t len,
                        const ed25519_public_key_t *pk)
{
  size_t plen;
  uint8_t *buf;
  int r;

  if (!sig || !pk || (!msg && len))
    return -1;
  plen = prefix ? strlen(prefix) : 0;
  if (len > SIZE_MAX - plen - 1)
    return -1;
  buf = al_malloc(plen + len + 1);
  if (plen)
    memcpy(buf, prefix, plen);
  if (len)
    memcpy(buf + plen, msg, len);
  r = ed25519_verify(sig, buf, plen + len, pk);
  al_free(buf);
  return r;
}

int
ed25519_public_validate(const ed25519_public_key_t *pk)
{
  if (!pk)
    return -1;
  /* libsodium: canonical encoding, on the curve, not of small order, and
   * l*P is the identity (the prime-order subgroup). */
  return crypto_core_ed25519_is_valid_point(pk->pubkey) ? 0 : -1;
}

void
ed25519_keypair_wipe(ed25519_keypair_t *kp)
{
  if (kp)
    memwipe(kp, sizeof(*kp));
}
