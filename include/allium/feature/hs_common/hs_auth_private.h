/* hs_auth_private.h -- the client's onion-service authorization keys:
 * ClientOnionAuthDir and its "*.auth_private" files (rend-spec-v3 G.1.3
 * [CLIENT-AUTH-MGMT], descriptor client authorization 2.5.1.2).
 *
 * A file holds one entry:
 *     <56-character onion address>:descriptor:x25519:<base32 secret key>
 * (the address without ".onion", as tor; the key 52 base32 characters,
 * either case).  As tor, spaces around fields and the line end are
 * ignored; blank lines and lines starting with '#' are skipped (the spec
 * lets tools add headers); a second entry in one file is an error.
 * Files not ending in ".auth_private" are ignored.
 */
#ifndef ALLIUM_FEATURE_HS_COMMON_HS_AUTH_PRIVATE_H
#define ALLIUM_FEATURE_HS_COMMON_HS_AUTH_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/crypto/ed25519.h"

#define HS_AUTH_PRIVATE_SUFFIX ".auth_private"
/** Largest file read (a valid one is ~120 bytes; comments allowed). */
#define HS_AUTH_PRIVATE_MAX_FILE 8192
/** Most entries kept from one directory. */
#define HS_AUTH_PRIVATE_MAX_ENTRIES 4096

typedef struct hs_auth_private_t {
  ed25519_public_key_t service_pk;   /* from the onion address */
  uint8_t secret[32];                /* x25519 secret key; wiped on free */
} hs_auth_private_t;

/** Parse the len bytes of one file's content into *out.  0, or -1 with
 * *why (static text, never the key) set; out is wiped on failure. */
int hs_auth_private_parse(const char *s, size_t len, hs_auth_private_t *out,
                          const char **why);

typedef struct hs_auth_store_t hs_auth_store_t;

/** Read every "*.auth_private" regular file of dir.  Files that do not
 * parse are logged by name (not content) and skipped; *n_bad (may be NULL)
 * gets their number.  A later file for the same service replaces an
 * earlier one (files are read in name order).  NULL with *err (static text)
 * when dir cannot be read. */
hs_auth_store_t *hs_auth_store_load_dir(const char *dir, size_t *n_bad,
                                        const char **err);
/** An empty store (for tests and callers without ClientOnionAuthDir). */
hs_auth_store_t *hs_auth_store_new(void);
/** Add (or replace) an entry; 0, or -1 when full. */
int hs_auth_store_add(hs_auth_store_t *st, const hs_auth_private_t *e);
/** Number of entries. */
size_t hs_auth_store_size(const hs_auth_store_t *st);
/** The i-th entry (borrowed until the store changes), or NULL past the
 * end (ONION_CLIENT_AUTH_VIEW lists them). */
const hs_auth_private_t *hs_auth_store_get(const hs_auth_store_t *st,
                                           size_t i);
/** The x25519 secret for a service, or NULL (st may be NULL). */
const uint8_t *hs_auth_store_find(const hs_auth_store_t *st,
                                  const ed25519_public_key_t *service_pk);
/** Free (NULL ok); every secret is wiped. */
void hs_auth_store_free_(hs_auth_store_t *st);
#define hs_auth_store_free(p) do { hs_auth_store_free_(p); (p) = NULL; } while (0)

#endif
