/* hs_desc_crypt.c -- encryption and MAC of the two inner layers of a v3
 * onion service descriptor (rend-spec-v3 2.5.3 [HS-DESC-ENCRYPTION-KEYS],
 * 2.5.1.1 and 2.5.2.1).  Pure functions over byte buffers; see
 * hs_desc_crypt.h for the formulas. */
#include <string.h>

#include "allium/feature/hs_common/hs_desc_crypt.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

static void
put_be64(uint8_t out[8], uint64_t v)
{
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)(v & 0xff);
    v >>= 8;
  }
}

int
hs_desc_layer_keys(uint8_t key_out[HS_DESC_KEY_LEN], uint8_t iv_out[HS_DESC_IV_LEN],
                   uint8_t mac_key_out[HS_DESC_MAC_KEY_LEN], hs_desc_layer_t layer,
                   const ed25519_public_key_t *blinded_pk,
                   const uint8_t *cookie, const uint8_t subcred[HS_DIGEST_LEN],
                   uint64_t revision_counter, const uint8_t salt[HS_DESC_SALT_LEN])
{
  const char *constant;
  if (!key_out || !iv_out || !mac_key_out || !blinded_pk || !subcred || !salt)
    return HS_DESC_ERR_ARG;
  if (layer == HS_DESC_LAYER_SUPERENCRYPTED)
    constant = HS_DESC_CONST_SUPERENC;
  else if (layer == HS_DESC_LAYER_ENCRYPTED)
    constant = HS_DESC_CONST_ENC;
  else
    return HS_DESC_ERR_ARG;

  uint8_t rev[8];
  put_be64(rev, revision_counter);
  xof_ctx_t *x = xof_ctx_new();
  xof_ctx_add(x, blinded_pk->pubkey, ED25519_PUBKEY_LEN);
  if (layer == HS_DESC_LAYER_ENCRYPTED && cookie)
    xof_ctx_add(x, cookie, HS_DESC_COOKIE_LEN);
  xof_ctx_add(x, subcred, HS_DIGEST_LEN);
  xof_ctx_add(x, rev, sizeof(rev));
  xof_ctx_add(x, salt, HS_DESC_SALT_LEN);
  xof_ctx_add(x, constant, strlen(constant));
  xof_ctx_squeeze(x, key_out, HS_DESC_KEY_LEN);
  xof_ctx_squeeze(x, iv_out, HS_DESC_IV_LEN);
  xof_ctx_squeeze(x, mac_key_out, HS_DESC_MAC_KEY_LEN);
  xof_ctx_free(x);
  return HS_DESC_OK;
}

int
hs_desc_layer_mac(uint8_t mac_out[HS_DESC_MAC_LEN],
                  const uint8_t mac_key[HS_DESC_MAC_KEY_LEN],
                  const uint8_t salt[HS_DESC_SALT_LEN],
                  const uint8_t *ct, size_t ct_len)
{
  if (!mac_out || !mac_key || !salt || (!ct && ct_len))
    return HS_DESC_ERR_ARG;
  uint8_t len[8];
  digest_ctx_t *d = digest_ctx_new(DIGEST_ALG_SHA3_256);
  put_be64(len, HS_DESC_MAC_KEY_LEN);
  digest_ctx_add(d, len, sizeof(len));
  digest_ctx_add(d, mac_key, HS_DESC_MAC_KEY_LEN);
  put_be64(len, HS_DESC_SALT_LEN);
  digest_ctx_add(d, len, sizeof(len));
  digest_ctx_add(d, salt, HS_DESC_SALT_LEN);
  if (ct_len)
    digest_ctx_add(d, ct, ct_len);
  digest_ctx_peek(d, mac_out, HS_DESC_MAC_LEN);
  digest_ctx_free(d);
  return HS_DESC_OK;
}

/* XOR AES-256-CTR(key, iv) into buf. */
static int
layer_stream(const uint8_t key[HS_DESC_KEY_LEN], const uint8_t iv[HS_DESC_IV_LEN],
             uint8_t *buf, size_t len)
{
  aes_ctr_t *c = aes_ctr_new(key, HS_DESC_KEY_LEN, iv);
  if (!c)
    return HS_DESC_ERR_ARG;
  aes_ctr_crypt_inplace(c, buf, len);
  aes_ctr_free(c);
  return HS_DESC_OK;
}

int
hs_desc_layer_encrypt(uint8_t **out, size_t *outlen, hs_desc_layer_t layer,
                      const ed25519_public_key_t *blinded_pk, const uint8_t *cookie,
                      const uint8_t subcred[HS_DIGEST_LEN], uint64_t revision_counter,
                      const uint8_t *salt, const uint8_t *plaintext, size_t len)
{
  if (!out || !outlen || (!plaintext && len))
    return HS_DESC_ERR_ARG;
  *out = NULL;
  *outlen = 0;
  size_t ct_len = len;
  if (layer == HS_DESC_LAYER_SUPERENCRYPTED) {
    ct_len = (len / HS_DESC_PAD_MULTIPLE + (len % HS_DESC_PAD_MULTIPLE ? 1 : 0))
             * HS_DESC_PAD_MULTIPLE;
    if (ct_len == 0)
      ct_len = HS_DESC_PAD_MULTIPLE;
  }
  if (len > HS_DESC_MAX_BLOB || ct_len > HS_DESC_MAX_BLOB - HS_DESC_CRYPT_OVERHEAD)
    return HS_DESC_ERR_LIMIT;

  uint8_t key[HS_DESC_KEY_LEN], iv[HS_DESC_IV_LEN], mac_key[HS_DESC_MAC_KEY_LEN];
  uint8_t *blob = al_calloc(1, ct_len + HS_DESC_CRYPT_OVERHEAD);
  if (salt)
    memcpy(blob, salt, HS_DESC_SALT_LEN);
  else
    crypto_rand(blob, HS_DESC_SALT_LEN);
  int rv = hs_desc_layer_keys(key, iv, mac_key, layer, blinded_pk, cookie, subcred,
                              revision_counter, blob);
  if (rv == HS_DESC_OK) {
    uint8_t *ct = blob + HS_DESC_SALT_LEN;
    if (len)
      memcpy(ct, plaintext, len);   /* the rest stays NUL: the padding */
    rv = layer_stream(key, iv, ct, ct_len);
  }
  if (rv == HS_DESC_OK)
    rv = hs_desc_layer_mac(blob + HS_DESC_SALT_LEN + ct_len, mac_key, blob,
                           blob + HS_DESC_SALT_LEN, ct_len);
  memwipe(key, sizeof(key));
  memwipe(iv, sizeof(iv));
  memwipe(mac_key, sizeof(mac_key));
  if (rv != HS_DESC_OK) {
    al_free(blob);
    return rv;
  }
  *out = blob;
  *outlen = ct_len + HS_DESC_CRYPT_OVERHEAD;
  return HS_DESC_OK;
}

int
hs_desc_layer_decrypt(char **out, size_t *outlen, hs_desc_layer_t layer,
                      const ed25519_public_key_t *blinded_pk, const uint8_t *cookie,
                      const uint8_t subcred[HS_DIGEST_LEN], uint64_t revision_counter,
                      const uint8_t *blob, size_t bloblen)
{
  if (!out || !outlen || (!blob && bloblen))
    return HS_DESC_ERR_ARG;
  *out = NULL;
  *outlen = 0;
  if (bloblen > HS_DESC_MAX_BLOB)
    return HS_DESC_ERR_LIMIT;
  if (bloblen < HS_DESC_CRYPT_OVERHEAD)
    return HS_DESC_ERR_SYNTAX;
  size_t ct_len = bloblen - HS_DESC_CRYPT_OVERHEAD;
  const uint8_t *salt = blob, *ct = blob + HS_DESC_SALT_LEN;
  uint8_t key[HS_DESC_KEY_LEN], iv[HS_DESC_IV_LEN], mac_key[HS_DESC_MAC_KEY_LEN];
  uint8_t mac[HS_DESC_MAC_LEN];
  int rv = hs_desc_layer_keys(key, iv, mac_key, layer, blinded_pk, cookie, subcred,
                              revision_counter, salt);
  if (rv == HS_DESC_OK)
    rv = hs_desc_layer_mac(mac, mac_key, salt, ct, ct_len);
  if (rv == HS_DESC_OK && !crypto_memeq(mac, ct + ct_len, HS_DESC_MAC_LEN))
    rv = HS_DESC_ERR_MAC;
  char *pt = NULL;
  if (rv == HS_DESC_OK) {
    pt = al_malloc(ct_len + 1);
    if (ct_len)
      memcpy(pt, ct, ct_len);
    pt[ct_len] = '\0';
    rv = layer_stream(key, iv, (uint8_t *)pt, ct_len);
  }
  memwipe(key, sizeof(key));
  memwipe(iv, sizeof(iv));
  memwipe(mac_key, sizeof(mac_key));
  if (rv != HS_DESC_OK) {
    al_free_secret(pt, ct_len + 1);
    return rv;
  }
  size_t n = strlen(pt);
  if (n < ct_len)
    memwipe(pt + n, ct_len - n);
  *out = pt;
  *outlen = n;
  return HS_DESC_OK;
}
