/* hs_keys.h -- an onion service's directory (HiddenServiceDir) in exactly
 * the layout tor 0.4.9 uses, so a service directory can move between tor
 * and allium and keep its address (rend-spec-v3 1.1 / 6 for the identity
 * key and the address; the files are tor's, see shared/TOR-FILE-FORMATS.md):
 *
 *   hs_ed25519_secret_key   "== ed25519v1-secret: type0 ==" + NULs, then the
 *                           64-byte expanded secret key (scalar | PRF half)
 *   hs_ed25519_public_key   "== ed25519v1-public: type0 ==" + NULs, then the
 *                           32-byte public key
 *   hostname                "<56 characters>.onion\n"
 *   authorized_clients/     client-authorization .auth files (hs_auth_files.h)
 *
 * Rules (as tor 0.4.9 behaves, observed): the directory is created 0700
 * (0750 with HiddenServiceDirGroupReadable) and an existing one with any
 * group or other permission bit is refused (group read/enter allowed with
 * group_readable; never write, never other); keys are generated only when
 * neither key file exists; a present secret key is never overwritten; a
 * missing public key is rewritten from the secret; a public key that does not
 * match the secret key, or a public key without its secret key, is an error;
 * hostname is rewritten when it differs (0600, or 0640 when group_readable);
 * authorized_clients/ is created alongside.
 */
#ifndef ALLIUM_FEATURE_KEYS_HS_KEYS_H
#define ALLIUM_FEATURE_KEYS_HS_KEYS_H

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/ed25519.h"

#define HS_KEYS_SECRET_FILE "hs_ed25519_secret_key"
#define HS_KEYS_PUBLIC_FILE "hs_ed25519_public_key"
#define HS_KEYS_HOSTNAME_FILE "hostname"

/* Flags for hs_keys_load_or_create(). */
#define HS_KEYS_CREATE 0x01          /* create the directory and missing keys */
#define HS_KEYS_GROUP_READABLE 0x02  /* HiddenServiceDirGroupReadable 1 */

/** Check (and with HS_KEYS_CREATE create) the service directory dir, load
 * or create its identity key pair into *kp and write hostname; addr_out
 * (may be NULL) gets "<56 chars>.onion".  Without HS_KEYS_CREATE nothing is
 * written and a missing key is RELAY_KEYS_ERR_MISSING.  0 or a
 * RELAY_KEYS_ERR_* code (relay_keys_strerror() names it; the reason is
 * logged with the file's name, never a key or the address). */
int hs_keys_load_or_create(const char *dir, int flags, ed25519_keypair_t *kp,
                           char addr_out[HS_ONION_ADDR_LEN + 1]);

#endif
