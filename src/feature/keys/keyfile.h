/* keyfile.h -- (private to src/feature/keys) reading and writing single key
 * files in tor's on-disk formats: PKCS#1 PEM RSA keys (written with a
 * trailing NUL byte, as tor does) and "tagged" binary files with a 32-byte
 * header "== <type>: <tag> ==" padded with NUL bytes.
 *
 * Every function returns 0 or a RELAY_KEYS_ERR_* code; RELAY_KEYS_ERR_MISSING
 * means the file does not exist (nothing logged), any other error is logged
 * with the file's name (never its contents).
 */
#ifndef ALLIUM_FEATURE_KEYS_KEYFILE_H
#define ALLIUM_FEATURE_KEYS_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/keys/relay_keys.h"

#define KEYFILE_HEADER_LEN 32
#define KEYFILE_RSA_MAX 16384

/** Read a tagged file whose body is between minlen and maxlen bytes and
 * whose header is "== type: tag ==".  *body: new buffer, caller frees with
 * al_free_secret(*body, *bodylen). */
int keyfile_read_tagged(const char *path, const char *type, const char *tag,
                        size_t minlen, size_t maxlen, uint8_t **body, size_t *bodylen);
/** Write header + body atomically with mode 0600. */
int keyfile_write_tagged(const char *path, const char *type, const char *tag,
                         const uint8_t *body, size_t bodylen);

/** RSA-1024 private key (e = 65537) from PKCS#1 PEM; caller frees *out. */
int keyfile_read_rsa(const char *path, rsa_key_t **out);
int keyfile_write_rsa(const char *path, const rsa_key_t *k);

/** curve25519 ntor key: header "== c25519v1: onion ==", secret, public. */
int keyfile_read_ntor(const char *path, x25519_keypair_t *kp);
int keyfile_write_ntor(const char *path, const x25519_keypair_t *kp);

/** Expanded ed25519 secret key ("ed25519v1-secret", tag "type0"/"type4");
 * the public half is recomputed. */
int keyfile_read_ed25519_secret(const char *path, const char *tag, ed25519_keypair_t *kp);
int keyfile_write_ed25519_secret(const char *path, const char *tag,
                                 const ed25519_keypair_t *kp);
/** ed25519 public key ("ed25519v1-public: type0"). */
int keyfile_read_ed25519_public(const char *path, ed25519_public_key_t *pk);
int keyfile_write_ed25519_public(const char *path, const ed25519_public_key_t *pk);

/** ed25519 certificate ("ed25519v1-cert", tag "type4"); caller frees *out. */
int keyfile_read_cert(const char *path, const char *tag, torcert_t **out);
int keyfile_write_cert(const char *path, const char *tag, const torcert_t *c);

#endif
