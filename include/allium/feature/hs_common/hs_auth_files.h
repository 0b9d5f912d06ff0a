/* hs_auth_files.h -- the service side of v3 client authorization on disk
 * (rend-spec-v3 "Client authorization" / tor(1) CLIENT AUTHORIZATION):
 * <HiddenServiceDir>/authorized_clients/<name>.auth, one line
 *
 *   descriptor:x25519:<base32 of the client's 32-byte x25519 public key>
 *
 * Read as tor 0.4.9 reads them (observed): blank lines and whitespace
 * around the line and around each ':'-separated field are ignored; the
 * auth type and key type are case-sensitive; the key is exactly 52 base32
 * characters of either case, without '=' padding.  Only names ending in
 * ".auth" (case-sensitive, and longer than ".auth" itself) are read; hidden
 * files count.
 *
 * One deliberate difference: tor ignores a malformed .auth file with a
 * warning, so a directory whose only file is malformed silently disables
 * client authorization and exposes the service to anyone with the address.
 * Here any malformed or unreadable .auth file is an error (fail closed).
 * A NUL byte in a file is malformed (tor would stop reading there).
 */
#ifndef ALLIUM_FEATURE_HS_COMMON_HS_AUTH_FILES_H
#define ALLIUM_FEATURE_HS_COMMON_HS_AUTH_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/crypto/x25519.h"

#define HS_AUTH_DIRNAME "authorized_clients"
#define HS_AUTH_SUFFIX ".auth"
/** Largest .auth file read (a valid one is under 100 bytes). */
#define HS_AUTH_FILE_MAX 4096
/** Most clients a service accepts (tor's descriptors hold about 600 lines
 * before the 50 kB limit; the descriptor builder refuses what will not fit). */
#define HS_AUTH_MAX_CLIENTS 1024
/** base32 of 32 bytes, no padding. */
#define HS_AUTH_KEY_B32_LEN 52

/* Errors. */
#define HS_AUTH_ERR_SYNTAX (-1)   /* not one "descriptor:x25519:KEY" line */
#define HS_AUTH_ERR_TYPE   (-2)   /* another auth type or key type */
#define HS_AUTH_ERR_KEY    (-3)   /* the key is not 52 base32 characters */
#define HS_AUTH_ERR_IO     (-4)   /* unreadable file or directory */
#define HS_AUTH_ERR_LIMIT  (-5)   /* file too large, too many clients */
#define HS_AUTH_ERR_ARG    (-6)

/** Static text for an HS_AUTH_ERR_* code. */
const char *hs_auth_strerror(int err);

/** Parse the contents of one .auth file (buf[0..len), need not be
 * NUL-terminated) into the client's public key.  0 or HS_AUTH_ERR_*. */
int hs_auth_parse(const char *buf, size_t len, uint8_t pk_out[X25519_KEY_LEN]);

/** 1 when a file called name is a client-authorization file tor would
 * read (ends in ".auth" and is longer than that), else 0. */
int hs_auth_filename_ok(const char *name);

/** The authorized clients of a service. */
typedef struct hs_auth_clients_t {
  size_t n;
  uint8_t (*keys)[X25519_KEY_LEN];   /* n public keys, distinct, owned */
} hs_auth_clients_t;

/** Read every .auth file in dir (the service's authorized_clients folder)
 * in name order.  A missing dir gives an empty list (no client
 * authorization), as in tor.  Any malformed or unreadable .auth file is an
 * error naming the file in *errmsg (new string, caller frees; never the
 * key).  Duplicate keys are kept once.  *out: new list, caller frees.
 * 0 or HS_AUTH_ERR_*. */
int hs_auth_load_dir(const char *dir, hs_auth_clients_t **out, char **errmsg);

void hs_auth_clients_free_(hs_auth_clients_t *c);
#define hs_auth_clients_free(p) do { hs_auth_clients_free_(p); (p) = NULL; } while (0)

#endif
