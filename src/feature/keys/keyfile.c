/* keyfile.c -- single key files in tor's formats (see keyfile.h and
 * shared/TOR-FILE-FORMATS.md): PKCS#1 PEM for RSA keys, and 32-byte
 * "== type: tag ==" headers followed by raw key bytes for curve25519 and
 * ed25519 keys and ed25519 certificates (cert-spec 2.1).
 */
#include "feature/keys/keyfile.h"

#include <stdio.h>
#include <string.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

#define LOG_MODULE "keys"
#include "allium/lib/log/log.h"

/* Fill hdr with "== type: tag ==" and NUL padding; -1 if too long. */
static int
make_header(uint8_t hdr[KEYFILE_HEADER_LEN], const char *type, const char *tag)
{
  char tmp[KEYFILE_HEADER_LEN + 1];
  int n = snprintf(tmp, sizeof(tmp), "== %s: %s ==", type, tag);
  if (n < 0 || n > KEYFILE_HEADER_LEN)
    return -1;
  memset(hdr, 0, KEYFILE_HEADER_LEN);
  memcpy(hdr, tmp, (size_t)n);
  return 0;
}

/* Read path (at most maxlen bytes) mapping fs errors to RELAY_KEYS_ERR_*. */
static int
read_raw(const char *path, size_t maxlen, char **buf, size_t *len)
{
  int r = fs_read_file(path, buf, len, maxlen);
  if (r == FS_OK)
    return 0;
  if (r == FS_ERR_NOENT)
    return RELAY_KEYS_ERR_MISSING;
  if (r == FS_ERR_TOOBIG) {
    log_warn("Key file %s is too large; refusing it.", path);
    return RELAY_KEYS_ERR_FORMAT;
  }
  log_warn("Could not read key file %s: %s.", path, fs_strerror(r));
  return r == FS_ERR_NOTFILE ? RELAY_KEYS_ERR_FORMAT : RELAY_KEYS_ERR_IO;
}

static int
write_raw(const char *path, const void *data, size_t len)
{
  int r = fs_write_file_atomic(path, data, len, 0600);
  if (r < 0) {
    log_warn("Could not write key file %s: %s.", path, fs_strerror(r));
    return RELAY_KEYS_ERR_IO;
  }
  return 0;
}

int
keyfile_read_tagged(const char *path, const char *type, const char *tag,
                    size_t minlen, size_t maxlen, uint8_t **body, size_t *bodylen)
{
  uint8_t hdr[KEYFILE_HEADER_LEN];
  char *buf = NULL;
  size_t len = 0;
  int r;

  *body = NULL;
  *bodylen = 0;
  if (make_header(hdr, type, tag) < 0)
    return RELAY_KEYS_ERR_FORMAT;
  r = read_raw(path, KEYFILE_HEADER_LEN + maxlen, &buf, &len);
  if (r < 0)
    return r;
  if (len < KEYFILE_HEADER_LEN + minlen) {
    log_warn("Key file %s is too short (%zu bytes); refusing it.", path, len);
    r = RELAY_KEYS_ERR_FORMAT;
  } else if (memcmp(buf, hdr, KEYFILE_HEADER_LEN) != 0) {
    log_warn("Key file %s does not have the expected \"== %s: %s ==\" header.", path,
             type, tag);
    r = RELAY_KEYS_ERR_FORMAT;
  } else {
    *bodylen = len - KEYFILE_HEADER_LEN;
    *body = al_memdup(buf + KEYFILE_HEADER_LEN, *bodylen ? *bodylen : 1);
  }
  al_free_secret(buf, len + 1);
  return r;
}

int
keyfile_write_tagged(const char *path, const char *type, const char *tag,
                     const uint8_t *body, size_t bodylen)
{
  uint8_t *buf;
  int r;
  buf = al_malloc(KEYFILE_HEADER_LEN + bodylen);
  if (make_header(buf, type, tag) < 0) {
    al_free(buf);
    return RELAY_KEYS_ERR_FORMAT;
  }
  memcpy(buf + KEYFILE_HEADER_LEN, body, bodylen);
  r = write_raw(path, buf, KEYFILE_HEADER_LEN + bodylen);
  al_free_secret(buf, KEYFILE_HEADER_LEN + bodylen);
  return r;
}

int
keyfile_read_rsa(const char *path, rsa_key_t **out)
{
  char *buf = NULL;
  size_t len = 0, n;
  int r;

  *out = NULL;
  r = read_raw(path, KEYFILE_RSA_MAX, &buf, &len);
  if (r < 0)
    return r;
  n = len;
  while (n > 0 && buf[n - 1] == '\0')   /* tor writes a trailing NUL */
    n--;
  if (memchr(buf, '\0', n) == NULL)
    *out = rsa_key_private_from_pem(buf, n);
  al_free_secret(buf, len + 1);
  if (!*out) {
    log_warn("Key file %s is not a PEM RSA private key; refusing it.", path);
    return RELAY_KEYS_ERR_FORMAT;
  }
  if (!rsa_key_is_private(*out) || rsa_key_bits(*out) != 1024 ||
      !rsa_key_exponent_is_65537(*out)) {
    log_warn("Key file %s does not hold a 1024-bit RSA key with exponent 65537.", path);
    rsa_key_free(*out);
    return RELAY_KEYS_ERR_FORMAT;
  }
  return 0;
}

int
keyfile_write_rsa(const char *path, const rsa_key_t *k)
{
  char *pem = NULL;
  size_t len = 0;
  int r;
  if (rsa_key_private_to_pem(k, &pem, &len) < 0) {
    log_warn("Could not encode the RSA key for %s.", path);
    return RELAY_KEYS_ERR_CRYPTO;
  }
  /* Include the terminating NUL, byte for byte like tor's files. */
  r = write_raw(path, pem, len + 1);
  al_free_secret(pem, len + 1);
  return r;
}

int
keyfile_read_ntor(const char *path, x25519_keypair_t *kp)
{
  uint8_t *body = NULL, pub[X25519_KEY_LEN];
  size_t len = 0;
  int r = keyfile_read_tagged(path, "c25519v1", "onion", 64, 64, &body, &len);
  if (r < 0)
    return r;
  memcpy(kp->sec, body, X25519_KEY_LEN);
  memcpy(kp->pub, body + X25519_KEY_LEN, X25519_KEY_LEN);
  al_free_secret(body, len);
  if (x25519_public_from_secret(pub, kp->sec) < 0 ||
      !crypto_memeq(pub, kp->pub, X25519_KEY_LEN)) {
    log_warn("Key file %s: the public key does not match the secret key.", path);
    memwipe(kp, sizeof(*kp));
    return RELAY_KEYS_ERR_FORMAT;
  }
  return 0;
}

int
keyfile_write_ntor(const char *path, const x25519_keypair_t *kp)
{
  uint8_t body[2 * X25519_KEY_LEN];
  int r;
  memcpy(body, kp->sec, X25519_KEY_LEN);
  memcpy(body + X25519_KEY_LEN, kp->pub, X25519_KEY_LEN);
  r = keyfile_write_tagged(path, "c25519v1", "onion", body, sizeof(body));
  memwipe(body, sizeof(body));
  return r;
}

int
keyfile_read_ed25519_secret(const char *path, const char *tag, ed25519_keypair_t *kp)
{
  uint8_t *body = NULL;
  size_t len = 0;
  int r = keyfile_read_tagged(path, "ed25519v1-secret", tag, ED25519_SECKEY_LEN,
                              ED25519_SECKEY_LEN, &body, &len);
  if (r < 0)
    return r;
  memcpy(kp->sec.seckey, body, ED25519_SECKEY_LEN);
  al_free_secret(body, len);
  if (ed25519_public_from_secret(&kp->pub, &kp->sec) < 0) {
    log_warn("Key file %s does not hold a usable ed25519 key.", path);
    ed25519_keypair_wipe(kp);
    return RELAY_KEYS_ERR_FORMAT;
  }
  return 0;
}

int
keyfile_write_ed25519_secret(const char *path, const char *tag,
                             const ed25519_keypair_t *kp)
{
  return keyfile_write_tagged(path, "ed25519v1-secret", tag, kp->sec.seckey,
                              ED25519_SECKEY_LEN);
}

int
keyfile_read_ed25519_public(const char *path, ed25519_public_key_t *pk)
{
  uint8_t *body = NULL;
  size_t len = 0;
  int r = keyfile_read_tagged(path, "ed25519v1-public", "type0", ED25519_PUBKEY_LEN,
                              ED25519_PUBKEY_LEN, &body, &len);
  if (r < 0)
    return r;
  memcpy(pk->pubkey, body, ED25519_PUBKEY_LEN);
  al_free(body);
  return 0;
}

int
keyfile_write_ed25519_public(const char *path, const ed25519_public_key_t *pk)
{
  return keyfile_write_tagged(path, "ed25519v1-public", "type0", pk->pubkey,
                              ED25519_PUBKEY_LEN);
}

int
keyfile_read_cert(const char *path, const char *tag, torcert_t **out)
{
  uint8_t *body = NULL;
  size_t len = 0;
  int r = keyfile_read_tagged(path, "ed25519v1-cert", tag, TORCERT_MIN_LEN, 65536,
                              &body, &len);
  *out = NULL;
  if (r < 0)
    return r;
  if (torcert_parse(out, body, len) < 0) {
    log_warn("Key file %s does not hold a valid ed25519 certificate.", path);
    r = RELAY_KEYS_ERR_FORMAT;
  }
  al_free(body);
  return r;
}

int
keyfile_write_cert(const char *path, const char *tag, const torcert_t *c)
{
  return keyfile_write_tagged(path, "ed25519v1-cert", tag, c->encoded, c->encoded_len);
}
