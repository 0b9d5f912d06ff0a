/* torcert.c -- encode, parse and verify tor's ed25519 certificates
 * (cert-spec section 2.1 "Ed25519 Certificates", section 2.2.1
 * "Signed-with-ed25519-key extension", appendix A.1/A.4 for the types).
 */
#include "allium/core/channel/torcert.h"

#include <string.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#define HDR_LEN 40   /* version..n_extensions */

static uint32_t
get_u32(const uint8_t *p)
{
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void
put_u32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Expiration in hours for now + lifetime, rounded up; 0 on bad input. */
static int
hours_after(time_t now, time_t lifetime, uint32_t *out)
{
  long long t;
  if (now < 0 || lifetime < 0)
    return -1;
  t = (long long)now + (long long)lifetime;
  t = (t + 3599) / 3600;
  if (t > (long long)UINT32_MAX)
    return -1;
  *out = (uint32_t)t;
  return 0;
}

static int
cert_type_known(uint8_t t)
{
  switch (t) {
  case CERT_TYPE_ID_SIGNING:
  case CERT_TYPE_SIGNING_LINK:
  case CERT_TYPE_SIGNING_AUTH:
  case CERT_TYPE_SIGNING_HS_DESC:
  case CERT_TYPE_AUTH_HS_IP_KEY:
  case CERT_TYPE_ONION_ID_CROSSCERT:
  case CERT_TYPE_CROSS_HS_IP_KEYS:
    return 1;
  default:
    return 0;
  }
}

static int
key_type_known(uint8_t t)
{
  return t == CERT_KEY_TYPE_ED25519 || t == CERT_KEY_TYPE_SHA256_OF_RSA ||
         t == CERT_KEY_TYPE_SHA256_OF_X509;
}

/* Length of the encoding of c's fields (without checking them). */
static size_t
encoded_len(const torcert_t *c)
{
  size_t n = HDR_LEN + ED25519_SIG_LEN;
  for (unsigned i = 0; i < c->n_ext; i++)
    n += 4 + (size_t)c->ext[i].len;
  return n;
}

/* Write the signed part of c (everything before the signature) to buf,
 * which has room for encoded_len(c) bytes; returns its length. */
static size_t
write_body(const torcert_t *c, uint8_t *buf)
{
  size_t off = 0;
  buf[off++] = TORCERT_VERSION;
  buf[off++] = c->cert_type;
  put_u32(buf + off, c->expiration_hours);
  off += 4;
  buf[off++] = c->key_type;
  memcpy(buf + off, c->certified_key, TORCERT_KEY_LEN);
  off += TORCERT_KEY_LEN;
  buf[off++] = c->n_ext;
  for (unsigned i = 0; i < c->n_ext; i++) {
    const torcert_ext_t *e = &c->ext[i];
    buf[off++] = (uint8_t)(e->len >> 8);
    buf[off++] = (uint8_t)e->len;
    buf[off++] = e->type;
    buf[off++] = e->flags;
    if (e->len)
      memcpy(buf + off, e->data, e->len);
    off += e->len;
  }
  return off;
}

int
torcert_encode(const torcert_t *c, uint8_t **out, size_t *outlen)
{
  size_t n, off;
  uint8_t *buf;
  if (!c || !out || !outlen)
    return TORCERT_ERR_ARG;
  n = encoded_len(c);
  buf = al_malloc(n);
  off = write_body(c, buf);
  memcpy(buf + off, c->signature, ED25519_SIG_LEN);
  *out = buf;
  *outlen = n;
  return 0;
}

int
torcert_create(torcert_t **out, uint8_t cert_type, uint8_t key_type,
               const uint8_t certified_key[TORCERT_KEY_LEN],
               const ed25519_keypair_t *signer, time_t now, time_t lifetime,
               int include_signing_key)
{
  torcert_t *c;
  size_t bodylen;

  if (!out || !certified_key || !signer)
    return TORCERT_ERR_ARG;
  *out = NULL;
  if (!cert_type_known(cert_type) || !key_type_known(key_type))
    return TORCERT_ERR_ARG;
  c = al_calloc(1, sizeof(*c));
  c->cert_type = cert_type;
  c->key_type = key_type;
  if (hours_after(now, lifetime, &c->expiration_hours) < 0) {
    al_free(c);
    return TORCERT_ERR_ARG;
  }
  memcpy(c->certified_key, certified_key, TORCERT_KEY_LEN);
  if (include_signing_key) {
    c->has_signing_key = 1;
    c->signing_key = signer->pub;
    c->n_ext = 1;
    c->ext = al_calloc(1, sizeof(torcert_ext_t));
    c->ext[0].type = CERTEXT_SIGNED_WITH_KEY;
    c->ext[0].flags = 0;
    c->ext[0].len = ED25519_PUBKEY_LEN;
    c->ext[0].data = al_memdup(signer->pub.pubkey, ED25519_PUBKEY_LEN);
  }
  c->encoded_len = encoded_len(c);
  c->encoded = al_malloc(c->encoded_len);
  bodylen = write_body(c, c->encoded);
  if (ed25519_sign(c->signature, c->encoded, bodylen, signer) < 0) {
    torcert_free(c);
    return TORCERT_ERR_SIG;
  }
  memcpy(c->encoded + bodylen, c->signature, ED25519_SIG_LEN);
  *out = c;
  return 0;
}

/* Parse the extension list at buf[*off..len-64); fills c->ext. */
static int
parse_extensions(torcert_t *c, const uint8_t *buf, size_t len, size_t *off)
{
  size_t end = len - ED25519_SIG_LEN;   /* caller ensured len >= HDR+SIG */
  if (c->n_ext)
    c->ext = al_calloc(c->n_ext, sizeof(torcert_ext_t));
  for (unsigned i = 0; i < c->n_ext; i++) {
    torcert_ext_t *e = &c->ext[i];
    if (end - *off < 4)
      return TORCERT_ERR_PARSE;
    e->len = (uint16_t)((buf[*off] << 8) | buf[*off + 1]);
    e->type = buf[*off + 2];
    e->flags = buf[*off + 3];
    *off += 4;
    if (end - *off < e->len)
      return TORCERT_ERR_PARSE;
    e->data = al_memdup(buf + *off, e->len);
    *off += e->len;
    if (e->type == CERTEXT_SIGNED_WITH_KEY) {
      if (c->has_signing_key || e->len != ED25519_PUBKEY_LEN)
        return TORCERT_ERR_PARSE;
      c->has_signing_key = 1;
      memcpy(c->signing_key.pubkey, e->data, ED25519_PUBKEY_LEN);
    } else if (e->flags & CERTEXT_FLAG_AFFECTS_VALIDATION) {
      return TORCERT_ERR_UNKNOWN;
    }
  }
  if (*off != end)
    return TORCERT_ERR_PARSE;    /* trailing bytes before the signature */
  return 0;
}

int
torcert_parse(torcert_t **out, const uint8_t *buf, size_t len)
{
  torcert_t *c;
  size_t off = 0;
  int r;

  if (!out)
    return TORCERT_ERR_ARG;
  *out = NULL;
  if (!buf || len < TORCERT_MIN_LEN)
    return TORCERT_ERR_PARSE;
  if (buf[0] != TORCERT_VERSION)
    return TORCERT_ERR_UNKNOWN;
  if (!cert_type_known(buf[1]) || !key_type_known(buf[6]))
    return TORCERT_ERR_UNKNOWN;
  c = al_calloc(1, sizeof(*c));
  c->cert_type = buf[1];
  c->expiration_hours = get_u32(buf + 2);
  c->key_type = buf[6];
  memcpy(c->certified_key, buf + 7, TORCERT_KEY_LEN);
  c->n_ext = buf[39];
  off = HDR_LEN;
  r = parse_extensions(c, buf, len, &off);
  if (r < 0) {
    torcert_free(c);
    return r;
  }
  memcpy(c->signature, buf + off, ED25519_SIG_LEN);
  c->encoded = al_memdup(buf, len);
  c->encoded_len = len;
  *out = c;
  return 0;
}

int
torcert_checksig(const torcert_t *c, const ed25519_public_key_t *pk)
{
  if (!c || !c->encoded || c->encoded_len < TORCERT_MIN_LEN)
    return TORCERT_ERR_ARG;
  if (pk && c->has_signing_key &&
      !crypto_memeq(pk->pubkey, c->signing_key.pubkey, ED25519_PUBKEY_LEN))
    return TORCERT_ERR_SIG;
  if (!pk) {
    if (!c->has_signing_key)
      return TORCERT_ERR_SIG;
    pk = &c->signing_key;
  }
  if (ed25519_verify(c->signature, c->encoded, c->encoded_len - ED25519_SIG_LEN, pk) < 0)
    return TORCERT_ERR_SIG;
  return 0;
}

time_t
torcert_expiration(const torcert_t *c)
{
  return (time_t)c->expiration_hours * 3600;
}

int
torcert_is_expired(const torcert_t *c, time_t now)
{
  return now > torcert_expiration(c);
}

int
torcert_validate(const torcert_t *c, const ed25519_public_key_t *pk, time_t now)
{
  int r = torcert_checksig(c, pk);
  if (r < 0)
    return r;
  if (torcert_is_expired(c, now))
    return TORCERT_ERR_EXPIRED;
  return 0;
}

torcert_t *
torcert_dup(const torcert_t *c)
{
  torcert_t *d;
  if (!c)
    return NULL;
  d = al_memdup(c, sizeof(*c));
  d->ext = NULL;
  if (c->n_ext) {
    d->ext = al_calloc(c->n_ext, sizeof(torcert_ext_t));
    for (unsigned i = 0; i < c->n_ext; i++) {
      d->ext[i] = c->ext[i];
      d->ext[i].data = al_memdup(c->ext[i].data ? c->ext[i].data : (const uint8_t *)"",
                                 c->ext[i].len);
    }
  }
  d->encoded = c->encoded ? al_memdup(c->encoded, c->encoded_len) : NULL;
  return d;
}

void
torcert_free_(torcert_t *c)
{
  if (!c)
    return;
  if (c->ext) {
    for (unsigned i = 0; i < c->n_ext; i++)
      al_free(c->ext[i].data);
    al_free(c->ext);
  }
  al_free(c->encoded);
  al_free(c);
}
