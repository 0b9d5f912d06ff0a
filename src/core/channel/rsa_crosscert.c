/* rsa_crosscert.c -- the RSA->Ed25519 cross-certificate (cert-spec section
 * 2.3, certificate type 7 in the CERTS cell of tor-spec 4.2): the relay's
 * RSA identity key vouches for its ed25519 identity key.
 *
 *   ED25519_KEY [32] | EXPIRATION_DATE [4, hours since epoch] |
 *   SIGLEN [1] | SIGNATURE [SIGLEN]
 *
 * SIGNATURE is the RSA PKCS#1 type-1 signature (raw, no DigestInfo) of
 * SHA-256(RSA_CROSSCERT_PREFIX || ED25519_KEY || EXPIRATION_DATE).
 */
#include "allium/core/channel/torcert.h"

#include <string.h>

#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

static int
crosscert_digest(const uint8_t *signed_part, uint8_t out[DIGEST_SHA256_LEN])
{
  const size_t plen = strlen(RSA_CROSSCERT_PREFIX);
  uint8_t buf[64 + RSA_CROSSCERT_SIGNED_LEN];
  int r;
  memcpy(buf, RSA_CROSSCERT_PREFIX, plen);
  memcpy(buf + plen, signed_part, RSA_CROSSCERT_SIGNED_LEN);
  r = digest_sha256(out, buf, plen + RSA_CROSSCERT_SIGNED_LEN);
  return r < 0 ? -1 : 0;
}

static void
write_signed_part(const rsa_crosscert_t *c, uint8_t out[RSA_CROSSCERT_SIGNED_LEN])
{
  memcpy(out, c->ed_key.pubkey, ED25519_PUBKEY_LEN);
  out[32] = (uint8_t)(c->expiration_hours >> 24);
  out[33] = (uint8_t)(c->expiration_hours >> 16);
  out[34] = (uint8_t)(c->expiration_hours >> 8);
  out[35] = (uint8_t)c->expiration_hours;
}

int
rsa_crosscert_encode(const rsa_crosscert_t *c, uint8_t **out, size_t *outlen)
{
  size_t n;
  uint8_t *buf;
  if (!c || !out || !outlen || c->siglen == 0)
    return TORCERT_ERR_ARG;
  n = RSA_CROSSCERT_SIGNED_LEN + 1 + (size_t)c->siglen;
  buf = al_malloc(n);
  write_signed_part(c, buf);
  buf[RSA_CROSSCERT_SIGNED_LEN] = c->siglen;
  memcpy(buf + RSA_CROSSCERT_SIGNED_LEN + 1, c->sig, c->siglen);
  *out = buf;
  *outlen = n;
  return 0;
}

int
rsa_crosscert_create(uint8_t **out, size_t *outlen, const ed25519_public_key_t *ed_key,
                     const rsa_key_t *rsa, time_t now, time_t lifetime)
{
  rsa_crosscert_t c;
  uint8_t body[RSA_CROSSCERT_SIGNED_LEN], d[DIGEST_SHA256_LEN];
  uint8_t *sig = NULL;
  size_t siglen = 0;
  long long t;
  int r;

  if (!out || !outlen || !ed_key || !rsa || now < 0 || lifetime < 0)
    return TORCERT_ERR_ARG;
  *out = NULL;
  *outlen = 0;
  t = ((long long)now + (long long)lifetime + 3599) / 3600;
  if (t > (long long)UINT32_MAX)
    return TORCERT_ERR_ARG;
  memset(&c, 0, sizeof(c));
  c.ed_key = *ed_key;
  c.expiration_hours = (uint32_t)t;
  write_signed_part(&c, body);
  if (crosscert_digest(body, d) < 0)
    return TORCERT_ERR_SIG;
  if (rsa_sign_raw(rsa, d, sizeof(d), &sig, &siglen) < 0)
    return TORCERT_ERR_SIG;
  if (siglen == 0 || siglen > RSA_CROSSCERT_MAX_SIG) {
    al_free(sig);
    return TORCERT_ERR_ARG;   /* key too large for the 1-byte SIGLEN */
  }
  c.siglen = (uint8_t)siglen;
  memcpy(c.sig, sig, siglen);
  al_free(sig);
  r = rsa_crosscert_encode(&c, out, outlen);
  return r;
}

int
rsa_crosscert_parse(rsa_crosscert_t **out, const uint8_t *buf, size_t len)
{
  rsa_crosscert_t *c;
  if (!out)
    return TORCERT_ERR_ARG;
  *out = NULL;
  if (!buf || len < RSA_CROSSCERT_SIGNED_LEN + 2)
    return TORCERT_ERR_PARSE;
  if (buf[RSA_CROSSCERT_SIGNED_LEN] == 0 ||
      len != RSA_CROSSCERT_SIGNED_LEN + 1 + (size_t)buf[RSA_CROSSCERT_SIGNED_LEN])
    return TORCERT_ERR_PARSE;
  c = al_calloc(1, sizeof(*c));
  memcpy(c->ed_key.pubkey, buf, ED25519_PUBKEY_LEN);
  c->expiration_hours = ((uint32_t)buf[32] << 24) | ((uint32_t)buf[33] << 16) |
                        ((uint32_t)buf[34] << 8) | buf[35];
  c->siglen = buf[RSA_CROSSCERT_SIGNED_LEN];
  memcpy(c->sig, buf + RSA_CROSSCERT_SIGNED_LEN + 1, c->siglen);
  *out = c;
  return 0;
}

int
rsa_crosscert_checksig(const rsa_crosscert_t *c, const rsa_key_t *rsa)
{
  uint8_t body[RSA_CROSSCERT_SIGNED_LEN], d[DIGEST_SHA256_LEN];
  if (!c || !rsa || c->siglen == 0)
    return TORCERT_ERR_ARG;
  write_signed_part(c, body);
  if (crosscert_digest(body, d) < 0)
    return TORCERT_ERR_SIG;
  if (rsa_verify_raw(rsa, c->sig, c->siglen, d, sizeof(d)) < 0)
    return TORCERT_ERR_SIG;
  return 0;
}

time_t
rsa_crosscert_expiration(const rsa_crosscert_t *c)
{
  return (time_t)c->expiration_hours * 3600;
}

int
rsa_crosscert_is_expired(const rsa_crosscert_t *c, time_t now)
{
  return now > rsa_crosscert_expiration(c);
}

int
rsa_crosscert_validate(const rsa_crosscert_t *c, const rsa_key_t *rsa,
                       const ed25519_public_key_t *ed_key, time_t now)
{
  int r;
  if (!c || !rsa)
    return TORCERT_ERR_ARG;
  if (ed_key && memcmp(ed_key->pubkey, c->ed_key.pubkey, ED25519_PUBKEY_LEN) != 0)
    return TORCERT_ERR_SIG;
  r = rsa_crosscert_checksig(c, rsa);
  if (r < 0)
    return r;
  if (rsa_crosscert_is_expired(c, now))
    return TORCERT_ERR_EXPIRED;
  return 0;
}

void
rsa_crosscert_free_(rsa_crosscert_t *c)
{
  al_free(c);
}
