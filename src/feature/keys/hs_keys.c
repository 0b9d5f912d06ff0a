/* hs_keys.c -- an onion service's HiddenServiceDir in tor's layout: the
 * ed25519 identity key files, hostname and authorized_clients/ (see
 * hs_keys.h; rend-spec-v3 6 for the address written to hostname).
 */
#define LOG_MODULE "keys"
#include "allium/feature/keys/hs_keys.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "feature/keys/keyfile.h"

/* The private-directory check with tor's HiddenServiceDirGroupReadable
 * rule: group may read and enter when group_readable, nobody else. */
static int
check_dir(const char *dir, int flags, int create)
{
  int group = (flags & HS_KEYS_GROUP_READABLE) != 0;
  struct stat st;
  int existed = stat(dir, &st) == 0;
  int r = fs_check_private_dir(dir, (create ? FS_DIR_CREATE : 0) |
                                    (group ? 0 : FS_DIR_STRICT));
  if (r == 0 && group) {
    if (!existed && chmod(dir, 0750) < 0)
      r = FS_ERR_IO;
    else if (stat(dir, &st) < 0)
      r = FS_ERR_IO;
    else if (st.st_mode & 0027)
      r = FS_ERR_PERM;
  }
  if (r == FS_ERR_PERM) {
    log_warn("Permissions on directory %s are too permissive (want 0700%s).", dir,
             group ? " or 0750" : "");
    return RELAY_KEYS_ERR_IO;
  }
  if (r == FS_ERR_NOENT && !create)
    return RELAY_KEYS_ERR_MISSING;
  if (r < 0) {
    log_warn("Onion service directory %s: %s.", dir, fs_strerror(r));
    return RELAY_KEYS_ERR_IO;
  }
  return 0;
}

/* Load the secret key, or make one when neither key file exists. */
static int
load_secret(const char *dir, const char *secpath, const char *pubpath, int create,
            ed25519_keypair_t *kp, int *made)
{
  int r = keyfile_read_ed25519_secret(secpath, "type0", kp);
  *made = 0;
  if (r != RELAY_KEYS_ERR_MISSING)
    return r;
  if (fs_file_exists(pubpath) != 0) {
    log_warn("Onion service directory %s has %s but not %s: refusing to make a new "
             "key (restore the secret key, or remove both files for a new address).",
             dir, HS_KEYS_PUBLIC_FILE, HS_KEYS_SECRET_FILE);
    return RELAY_KEYS_ERR_MISSING;
  }
  if (!create)
    return RELAY_KEYS_ERR_MISSING;
  if (ed25519_keypair_generate(kp) < 0)
    return RELAY_KEYS_ERR_CRYPTO;
  r = keyfile_write_ed25519_secret(secpath, "type0", kp);
  if (r < 0) {
    ed25519_keypair_wipe(kp);
    return r;
  }
  *made = 1;
  log_notice("Generated a new onion service key in %s.", dir);
  return 0;
}

/* The public key file: must match, rewritten when missing. */
static int
check_public(const char *pubpath, int create, const ed25519_keypair_t *kp)
{
  ed25519_public_key_t pk;
  int r = keyfile_read_ed25519_public(pubpath, &pk);
  if (r == 0 && !crypto_memeq(pk.pubkey, kp->pub.pubkey, ED25519_PUBKEY_LEN)) {
    log_warn("%s does not match the secret key next to it: refusing to start the "
             "service (if the secret key is the right one, move the public key away).",
             pubpath);
    return RELAY_KEYS_ERR_MISMATCH;
  }
  if (r == RELAY_KEYS_ERR_MISSING && create)
    return keyfile_write_ed25519_public(pubpath, &kp->pub);
  return r;
}

/* hostname: "<addr>\n", rewritten only when it differs. */
static int
write_hostname(const char *dir, int flags, const char *addr)
{
  char *path = al_asprintf("%s/%s", dir, HS_KEYS_HOSTNAME_FILE);
  char *want = al_asprintf("%s\n", addr), *have = NULL;
  size_t len = 0;
  int r = 0;
  if (fs_read_file(path, &have, &len, 4096) != 0 || strcmp(have, want) != 0) {
    mode_t mode = (flags & HS_KEYS_GROUP_READABLE) ? 0640 : 0600;
    if (fs_write_file_atomic(path, want, strlen(want), mode) < 0) {
      log_warn("Could not write %s: %s.", path, strerror(errno));
      r = RELAY_KEYS_ERR_IO;
    }
  }
  al_free(have);
  al_free(want);
  al_free(path);
  return r;
}

/* authorized_clients/ beside the keys (tor makes it even when empty). */
static int
make_auth_dir(const char *dir, int flags)
{
  char *path = al_asprintf("%s/authorized_clients", dir);
  int r = fs_check_private_dir(path, FS_DIR_CREATE |
                                     ((flags & HS_KEYS_GROUP_READABLE) ? 0 : FS_DIR_STRICT));
  if (r == 0 && (flags & HS_KEYS_GROUP_READABLE))
    r = chmod(path, 0750) < 0 ? FS_ERR_IO : 0;
  if (r < 0)
    log_warn("Onion service directory %s: %s.", path, fs_strerror(r));
  al_free(path);
  return r < 0 ? RELAY_KEYS_ERR_IO : 0;
}

int
hs_keys_load_or_create(const char *dir, int flags, ed25519_keypair_t *kp,
                       char addr_out[HS_ONION_ADDR_LEN + 1])
{
  char addr[HS_ONION_ADDR_LEN + 1];
  int create = (flags & HS_KEYS_CREATE) != 0, made = 0;
  if (!dir || !*dir || !kp)
    return RELAY_KEYS_ERR_INVAL;
  memset(kp, 0, sizeof(*kp));
  int r = check_dir(dir, flags, create);
  if (r < 0)
    return r;
  char *secpath = al_asprintf("%s/%s", dir, HS_KEYS_SECRET_FILE);
  char *pubpath = al_asprintf("%s/%s", dir, HS_KEYS_PUBLIC_FILE);
  r = load_secret(dir, secpath, pubpath, create, kp, &made);
  if (r == 0)
    r = check_public(pubpath, create, kp);
  if (r == 0 && hs_onion_address_encode(addr, sizeof(addr), &kp->pub) < 0)
    r = RELAY_KEYS_ERR_CRYPTO;
  if (r == 0 && create)
    r = write_hostname(dir, flags, addr);
  if (r == 0 && create)
    r = make_auth_dir(dir, flags);
  al_free(secpath);
  al_free(pubpath);
  if (r < 0) {
    ed25519_keypair_wipe(kp);
    return r;
  }
  if (addr_out)
    memcpy(addr_out, addr, sizeof(addr));
  log_info("Loaded the onion service key in %s%s.", dir, made ? " (new)" : "");
  return 0;
}
