/* rsa.c -- RSA keys over OpenSSL 3 EVP_PKEY, and the PKCS#1 v1.5 "raw"
 * signatures tor uses (tor-spec 0.3 and dir-spec 1.3: the digest is padded
 * with PKCS#1 type-1 padding, no ASN.1 DigestInfo, then signed with the
 * private key).  Keys are (de)serialised as PKCS#1 RSAPublicKey /
 * RSAPrivateKey DER and "RSA PUBLIC KEY" / "RSA PRIVATE KEY" PEM.
 *
 * Parsing is strict: DER must re-encode to exactly the input, PEM must be a
 * single unencrypted block of the expected type, and moduli must be
 * 1024..8192 bits.
 */
#include <ctype.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "allium/lib/crypto/rsa.h"
#include "allium/lib/malloc/malloc.h"

#define RSA_MIN_BITS 1024
#define RSA_MAX_BITS 8192
/* Comfortably above a PEM-encoded 8192-bit private key. */
#define RSA_MAX_ENCODED_LEN 16384

#define PEM_NAME_PRIVATE "RSA PRIVATE KEY"
#define PEM_NAME_PUBLIC "RSA PUBLIC KEY"

struct rsa_key_t {
  EVP_PKEY *pkey;
  int is_private;
};

/* Wrap pkey (taking ownership) in a new rsa_key_t. */
static rsa_key_t *
rsa_key_wrap(EVP_PKEY *pkey, int is_private)
{
  rsa_key_t *k = al_calloc(1, sizeof(*k));
  k->pkey = pkey;
  k->is_private = is_private;
  return k;
}

rsa_key_t *
rsa_key_generate(int bits)
{
  EVP_PKEY_CTX *ctx;
  EVP_PKEY *pkey = NULL;

  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
    return NULL;
  ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  if (!ctx)
    return NULL;
  if (EVP_PKEY_keygen_init(ctx) <= 0 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0 ||
      EVP_PKEY_generate(ctx, &pkey) <= 0) {
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  return rsa_key_wrap(pkey, 1);
}

void
rsa_key_free_(rsa_key_t *k)
{
  if (!k)
    return;
  EVP_PKEY_free(k->pkey);   /* OpenSSL clears private components */
  al_free(k);
}

int
rsa_key_bits(const rsa_key_t *k)
{
  if (!k || !k->pkey)
    return -1;
  return EVP_PKEY_get_bits(k->pkey);
}

int
rsa_key_is_private(const rsa_key_t *k)
{
  return k && k->pkey && k->is_private;
}

int
rsa_key_public_eq(const rsa_key_t *a, const rsa_key_t *b)
{
  if (!a || !b || !a->pkey || !b->pkey)
    return 0;
  return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

int
rsa_key_exponent_is_65537(const rsa_key_t *k)
{
  BIGNUM *e = NULL;
  int r;

  if (!k || !k->pkey)
    return 0;
  if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
    ERR_clear_error();
    return 0;
  }
  r = BN_is_word(e, 65537);
  BN_free(e);
  return r;
}

/* Encode k's selected part as format ("DER"/"PEM") in PKCS#1 structure.
 * *out is a fresh al_malloc() buffer with a NUL after the *outlen bytes. */
static int
rsa_encode(const rsa_key_t *k, int selection, const char *format,
           uint8_t **out, size_t *outlen)
{
  OSSL_ENCODER_CTX *ectx;
  unsigned char *data = NULL;
  size_t len = 0;
  int ok;

  if (!out || !outlen)
    return -1;
  *out = NULL;
  *outlen = 0;
  if (!k || !k->pkey)
    return -1;
  if (selection == EVP_PKEY_KEYPAIR && !k->is_private)
    return -1;
  ectx = OSSL_ENCODER_CTX_new_for_pkey(k->pkey, selection, format,
                                       "type-specific", NULL);
  if (!ectx) {
    ERR_clear_error();
    return -1;
  }
  ok = OSSL_ENCODER_CTX_get_num_encoders(ectx) > 0 &&
       OSSL_ENCODER_to_data(ectx, &data, &len) == 1 && data && len > 0;
  OSSL_ENCODER_CTX_free(ectx);
  if (!ok) {
    OPENSSL_clear_free(data, len);
    ERR_clear_error();
    return -1;
  }
  *out = al_malloc(len + 1);
  memcpy(*out, data, len);
  (*out)[len] = 0;
  *outlen = len;
  OPENSSL_clear_free(data, len);
  return 0;
}

int
rsa_key_private_to_pem(const rsa_key_t *k, char **out, size_t *outlen)
{
  return rsa_encode(k, EVP_PKEY_KEYPAIR, "PEM", (uint8_t **)out, outlen);
}

int
rsa_key_public_to_pem(const rsa_key_t *k, char **out, size_t *outlen)
{
  return rsa_encode(k, EVP_PKEY_PUBLIC_KEY, "PEM", (uint8_t **)out, outlen);
}

int
rsa_key_public_to_der(const rsa_key_t *k, uint8_t **out, size_t *outlen)
{
  return rsa_encode(k, EVP_PKEY_PUBLIC_KEY, "DER", out, outlen);
}

int
rsa_key_private_to_der(const rsa_key_t *k, uint8_t **out, size_t *outlen)
{
  return rsa_encode(k, EVP_PKEY_KEYPAIR, "DER", out, outlen);
}

/* Strict DER decoder: PKCS#1 structure, size limits, and the input must be
 * exactly the canonical encoding of the key it holds. */
static rsa_key_t *
rsa_decode_der(const uint8_t *der, size_t len, int selection)
{
  OSSL_DECODER_CTX *dctx;
  EVP_PKEY *pkey = NULL;
  const unsigned char *p = der;
  size_t plen = len;
  rsa_key_t *k = NULL;
  uint8_t *re = NULL;
  size_t relen = 0;
  int bits, is_private = (selection == EVP_PKEY_KEYPAIR);

  if (!der || len == 0 || len > RSA_MAX_ENCODED_LEN)
    return NULL;
  dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "type-specific", "RSA",
                                       selection, NULL, NULL);
  if (!dctx)
    goto err;
  if (OSSL_DECODER_from_data(dctx, &p, &plen) != 1 || !pkey) {
    OSSL_DECODER_CTX_free(dctx);
    goto err;
  }
  OSSL_DECODER_CTX_free(dctx);
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
    goto err;
  bits = EVP_PKEY_get_bits(pkey);
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
    goto err;
  k = rsa_key_wrap(pkey, is_private);
  pkey = NULL;
  if (is_private) {
    /* The private half must exist and match the public half. */
    EVP_PKEY_CTX *cctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    int good = cctx && EVP_PKEY_pairwise_check(cctx) == 1;
    EVP_PKEY_CTX_free(cctx);
    if (!good)
      goto err;
  }
  if (rsa_encode(k, selection, "DER", &re, &relen) < 0 || relen != len ||
      CRYPTO_memcmp(re, der, len) != 0)
    goto err;
  al_free_secret(re, relen);
  return k;
 err:
  if (re)
    al_free_secret(re, relen);
  EVP_PKEY_free(pkey);
  rsa_key_free(k);
  ERR_clear_error();
  return NULL;
}

rsa_key_t *
rsa_key_public_from_der(const uint8_t *der, size_t len)
{
  return rsa_decode_der(der, len, EVP_PKEY_PUBLIC_KEY);
}

rsa_key_t *
rsa_key_private_from_der(const uint8_t *der, size_t len)
{
  return rsa_decode_der(der, len, EVP_PKEY_KEYPAIR);
}

/* 1 when the len bytes at s are all whitespace. */
static int
all_space(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (!isspace((unsigned char)s[i]))
      return 0;
  return 1;
}

/* Decode one PEM block named want (no encryption headers, nothing but
 * whitespace around it) into a fresh buffer; caller frees with
 * al_free_secret(). 0 or -1. */
static int
rsa_pem_unwrap(const char *pem, size_t len, const char *want,
               uint8_t **der, size_t *derlen)
{
  static const char begin[] = "-----BEGIN ";
  BIO *bio;
  char *name = NULL, *header = NULL;
  unsigned char *data = NULL;
  long dlen = 0;
  size_t skip = 0;
  char *rest = NULL;
  long restlen;
  int r = -1;

  if (!pem || len == 0 || len > RSA_MAX_ENCODED_LEN)
    return -1;
  if (memchr(pem, '\0', len))
    return -1;
  while (skip < len && isspace((unsigned char)pem[skip]))
    skip++;
  if (len - skip < strlen(begin) || memcmp(pem + skip, begin, strlen(begin)))
    return -1;
  bio = BIO_new_mem_buf(pem + skip, (int)(len - skip));
  if (!bio)
    return -1;
  if (PEM_read_bio_ex(bio, &name, &header, &data, &dlen,
                      PEM_FLAG_ONLY_B64) != 1)
    goto out;
  if (strcmp(name, want) != 0 || (header && header[0]) || dlen <= 0)
    goto out;
  restlen = BIO_get_mem_data(bio, &rest);
  if (restlen < 0 || (restlen > 0 && !all_space(rest, (size_t)restlen)))
    goto out;
  *der = al_memdup(data, (size_t)dlen);
  *derlen = (size_t)dlen;
  r = 0;
 out:
  OPENSSL_free(name);
  OPENSSL_free(header);
  if (data)
    OPENSSL_clear_free(data, dlen > 0 ? (size_t)dlen : 0);
  BIO_free(bio);
  ERR_clear_error();
  return r;
}

/* Parse a PEM block of type name and decode its DER with selection. */
static rsa_key_t *
rsa_decode_pem(const char *pem, size_t len, const char *name, int selection)
{
  uint8_t *der = NULL;
  size_t derlen = 0;
  rsa_key_t *k;

  if (rsa_pem_unwrap(pem, len, name, &der, &derlen) < 0)
    return NULL;
  k = rsa_decode_der(der, derlen, selection);
  al_free_secret(der, derlen);
  return k;
}

rsa_key_t *
rsa_key_private_from_pem(const char *pem, size_t len)
{
  return rsa_decode_pem(pem, len, PEM_NAME_PRIVATE, EVP_PKEY_KEYPAIR);
}

rsa_key_t *
rsa_key_public_from_pem(const char *pem, size_t len)
{
  return rsa_decode_pem(pem, len, PEM_NAME_PUBLIC, EVP_PKEY_PUBLIC_KEY);
}

rsa_key_t *
rsa_key_public_copy(const rsa_key_t *k)
{
  uint8_t *der = NULL;
  size_t len = 0;
  rsa_key_t *c;

  if (rsa_key_public_to_der(k, &der, &len) < 0)
    return NULL;
  c = rsa_key_public_from_der(der, len);
  al_free(der);
  return c;
}

int
rsa_key_fingerprint(const rsa_key_t *k, uint8_t out[20])
{
  uint8_t *der = NULL;
  size_t len = 0;
  unsigned int mdlen = 0;
  int ok;

  if (!out || rsa_key_public_to_der(k, &der, &len) < 0)
    return -1;
  ok = EVP_Digest(der, len, out, &mdlen, EVP_sha1(), NULL) == 1 &&
       mdlen == 20;
  al_free(der);
  if (!ok) {
    ERR_clear_error();
    return -1;
  }
  return 0;
}

/* New PKEY context on k with PKCS#1 v1.5 padding and no digest, prepared by
 * init (EVP_PKEY_sign_init or EVP_PKEY_verify_recover_init). */
static EVP_PKEY_CTX *
rsa_raw_ctx(const rsa_key_t *k, int (*init)(EVP_PKEY_CTX *))
{
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
  if (!ctx)
    return NULL;
  if (init(ctx) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
    EVP_PKEY_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

int
rsa_sign_raw(const rsa_key_t *k, const uint8_t *data, size_t datalen,
             uint8_t **sig, size_t *siglen)
{
  EVP_PKEY_CTX *ctx;
  size_t modlen, len;
  uint8_t *buf;

  if (!sig || !siglen)
    return -1;
  *sig = NULL;
  *siglen = 0;
  if (!k || !k->pkey || !k->is_private || !data)
    return -1;
  modlen = (size_t)EVP_PKEY_get_size(k->pkey);
  if (datalen == 0 || datalen + 11 > modlen)   /* PKCS#1 type-1 overhead */
    return -1;
  ctx = rsa_raw_ctx(k, EVP_PKEY_sign_init);
  if (!ctx) {
    ERR_clear_error();
    return -1;
  }
  buf = al_malloc(modlen);
  len = modlen;
  if (EVP_PKEY_sign(ctx, buf, &len, data, datalen) != 1 || len != modlen) {
    EVP_PKEY_CTX_free(ctx);
    al_free(buf);
    ERR_clear_error();
    return -1;
  }
  EVP_PKEY_CTX_free(ctx);
  *sig = buf;
  *siglen = len;
  return 0;
}

int
rsa_recover_raw(const rsa_key_t *k, const uint8_t *sig, size_t siglen,
                uint8_t *out, size_t outmax)
{
  EVP_PKEY_CTX *ctx;
  size_t modlen, len;
  uint8_t *buf;
  int r = -1;

  if (!k || !k->pkey || !sig || !out)
    return -1;
  modlen = (size_t)EVP_PKEY_get_size(k->pkey);
  if (siglen != modlen)
    return -1;
  ctx = rsa_raw_ctx(k, EVP_PKEY_verify_recover_init);
  if (!ctx) {
    ERR_clear_error();
    return -1;
  }
  buf = al_malloc(modlen);
  len = modlen;
  if (EVP_PKEY_verify_recover(ctx, buf, &len, sig, siglen) == 1 &&
      len <= outmax && len <= (size_t)INT32_MAX) {
    memcpy(out, buf, len);
    r = (int)len;
  }
  EVP_PKEY_CTX_free(ctx);
  al_free_secret(buf, modlen);
  ERR_clear_error();
  return r;
}

int
rsa_verify_raw(const rsa_key_t *k, const uint8_t *sig, size_t siglen,
               const uint8_t *digest, size_t digestlen)
{
  uint8_t *buf;
  size_t modlen;
  int n, r = -1;

  if (!k || !k->pkey || !sig || !digest || digestlen == 0)
    return -1;
  modlen = (size_t)EVP_PKEY_get_size(k->pkey);
  buf = al_malloc(modlen);
  n = rsa_recover_raw(k, sig, siglen, buf, modlen);
  if (n >= 0 && (size_t)n == digestlen &&
      CRYPTO_memcmp(buf, digest, digestlen) == 0)
    r = 0;
  al_free(buf);
  return r;
}
