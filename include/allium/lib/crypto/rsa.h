/* rsa.h -- RSA keys (1024/2048/3072 bits) and PKCS#1 v1.5 signatures the way
 * tor's directory documents and cross-certificates use them: the padded
 * digest is signed *without* an ASN.1 DigestInfo (dir-spec 1.3 "signature"),
 * i.e. RSA private-key "encrypt" with PKCS#1 type-1 padding of the raw digest.
 */
#ifndef ALLIUM_LIB_CRYPTO_RSA_H
#define ALLIUM_LIB_CRYPTO_RSA_H

#include <stddef.h>
#include <stdint.h>

typedef struct rsa_key_t rsa_key_t;

/** New key of bits bits with e = 65537; NULL on failure; caller frees. */
rsa_key_t *rsa_key_generate(int bits);
void rsa_key_free_(rsa_key_t *k);
#define rsa_key_free(p) do { rsa_key_free_(p); (p) = NULL; } while (0)
/** Modulus size in bits. */
int rsa_key_bits(const rsa_key_t *k);
/** 1 when k holds the private half. */
int rsa_key_is_private(const rsa_key_t *k);
/** Copy of the public half only; caller frees. */
rsa_key_t *rsa_key_public_copy(const rsa_key_t *k);
/** 1 when a and b have the same public key. */
int rsa_key_public_eq(const rsa_key_t *a, const rsa_key_t *b);
/** 1 when the public exponent is 65537 (tor requires it). */
int rsa_key_exponent_is_65537(const rsa_key_t *k);

/** PKCS#1 "-----BEGIN RSA PRIVATE KEY-----" PEM; *out NUL-terminated,
 * caller frees with al_free_secret(). 0 or -1. */
int rsa_key_private_to_pem(const rsa_key_t *k, char **out, size_t *outlen);
/** Parse PKCS#1 RSA PRIVATE KEY PEM; NULL on error; caller frees. */
rsa_key_t *rsa_key_private_from_pem(const char *pem, size_t len);
/** PKCS#1 "-----BEGIN RSA PUBLIC KEY-----" PEM; caller frees. 0 or -1. */
int rsa_key_public_to_pem(const rsa_key_t *k, char **out, size_t *outlen);
rsa_key_t *rsa_key_public_from_pem(const char *pem, size_t len);
/** PKCS#1 RSAPublicKey DER; caller frees *out. 0 or -1. */
int rsa_key_public_to_der(const rsa_key_t *k, uint8_t **out, size_t *outlen);
/** Parse PKCS#1 RSAPublicKey DER (strict: no trailing bytes). */
rsa_key_t *rsa_key_public_from_der(const uint8_t *der, size_t len);
/** PKCS#1 RSAPrivateKey DER; caller frees *out with al_free_secret(). */
int rsa_key_private_to_der(const rsa_key_t *k, uint8_t **out, size_t *outlen);
rsa_key_t *rsa_key_private_from_der(const uint8_t *der, size_t len);

/** SHA-1 of the public key's PKCS#1 DER: tor's relay fingerprint. 0 or -1. */
int rsa_key_fingerprint(const rsa_key_t *k, uint8_t out[20]);

/** Sign: PKCS#1 v1.5 type-1 padding of data (a digest, no DigestInfo),
 * then the private-key operation.  *sig is modulus-sized; caller frees. */
int rsa_sign_raw(const rsa_key_t *k, const uint8_t *data, size_t datalen,
                 uint8_t **sig, size_t *siglen);
/** Public-key operation on sig and removal of type-1 padding; writes the
 * recovered data (at most outmax bytes) to out. Returns its length or -1. */
int rsa_recover_raw(const rsa_key_t *k, const uint8_t *sig, size_t siglen,
                    uint8_t *out, size_t outmax);
/** 0 when sig recovers to exactly digest (constant-time compare), else -1. */
int rsa_verify_raw(const rsa_key_t *k, const uint8_t *sig, size_t siglen,
                   const uint8_t *digest, size_t digestlen);

#endif
