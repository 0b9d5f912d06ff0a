/* onion_rotate.c -- periodic rotation of a relay's onion keys (tor-spec
 * 1.1: "onion keys ... are rotated periodically"; dir-spec 2.1.1: the
 * previous ntor key "MUST be accepted for at least 1 week after any new key
 * is published").  As tor does, the current keys are renamed to
 * keys/secret_onion_key_ntor.old and keys/secret_onion_key.old and fresh
 * ones are written; the .old ntor key keeps answering handshakes for a
 * grace period.  tor records the rotation time in its state file; allium
 * uses the files' modification times: the current key's mtime is when it
 * was made, the .old file's mtime is set to the rotation time.
 * See include/allium/feature/keys/relay_keys.h.
 */
#include "allium/feature/keys/relay_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allium/lib/malloc/malloc.h"
#include "feature/keys/keyfile.h"

#define LOG_MODULE "keys"
#include "allium/lib/log/log.h"

#define F_ONION "secret_onion_key"
#define F_NTOR "secret_onion_key_ntor"
#define OLD ".old"

static char *
keypath(const char *datadir, const char *name, const char *suffix)
{
  return al_asprintf("%s/keys/%s%s", datadir, name, suffix);
}

/* mtime of path: 0, RELAY_KEYS_ERR_MISSING or RELAY_KEYS_ERR_IO. */
static int
file_mtime(const char *path, time_t *out)
{
  struct stat st;
  if (stat(path, &st) < 0)
    return errno == ENOENT ? RELAY_KEYS_ERR_MISSING : RELAY_KEYS_ERR_IO;
  *out = st.st_mtime;
  return 0;
}

static int
set_mtime(const char *path, time_t t)
{
  struct timespec ts[2] = { { t, 0 }, { t, 0 } };
  return utimensat(AT_FDCWD, path, ts, 0) < 0 ? RELAY_KEYS_ERR_IO : 0;
}

/* Remove the .old keys once they were rotated out more than grace ago. */
static int
expire_old(const char *datadir, time_t now, time_t grace)
{
  char *ntor_old = keypath(datadir, F_NTOR, OLD), *tap_old = keypath(datadir, F_ONION, OLD);
  time_t t;
  int r = file_mtime(ntor_old, &t);
  if (r == 0 && now - t >= grace) {
    if (unlink(ntor_old) < 0 || (unlink(tap_old) < 0 && errno != ENOENT))
      r = RELAY_KEYS_ERR_IO;
    else
      log_info("Removed the previous onion keys (rotated out more than %ld days ago).",
               (long)(grace / 86400));
  }
  al_free(ntor_old);
  al_free(tap_old);
  return r == RELAY_KEYS_ERR_MISSING ? 0 : r;
}

/* Current -> .old (mtime = now), then fresh keys in their place. */
static int
rotate_now(const char *datadir, time_t now)
{
  char *ntor = keypath(datadir, F_NTOR, ""), *ntor_old = keypath(datadir, F_NTOR, OLD);
  char *tap = keypath(datadir, F_ONION, ""), *tap_old = keypath(datadir, F_ONION, OLD);
  x25519_keypair_t kp;
  rsa_key_t *rsa = rsa_key_generate(1024);
  int r = 0;
  if (!rsa || x25519_keypair_generate(&kp) < 0)
    r = RELAY_KEYS_ERR_CRYPTO;
  else if (rename(ntor, ntor_old) < 0 || set_mtime(ntor_old, now) < 0 ||
           (rename(tap, tap_old) < 0 && errno != ENOENT))
    r = RELAY_KEYS_ERR_IO;
  if (r == 0)
    r = keyfile_write_ntor(ntor, &kp);
  if (r == 0)
    r = keyfile_write_rsa(tap, rsa);
  if (r == 0)
    log_notice("Rotated our onion keys; the previous ntor key stays in %s for the grace "
               "period.", ntor_old);
  else
    log_warn("Could not rotate the onion keys in %s/keys: %s.", datadir, relay_keys_strerror(r));
  memwipe(&kp, sizeof(kp));
  rsa_key_free(rsa);
  al_free(ntor);
  al_free(ntor_old);
  al_free(tap);
  al_free(tap_old);
  return r;
}

int
relay_keys_rotate_onion_keys(const char *datadir, time_t now, time_t lifetime, time_t grace,
                             int *rotated)
{
  if (!datadir || !*datadir || !rotated || lifetime <= 0 || grace < 0)
    return RELAY_KEYS_ERR_INVAL;
  *rotated = 0;
  int r = expire_old(datadir, now, grace);
  if (r < 0)
    return r;
  char *ntor = keypath(datadir, F_NTOR, "");
  time_t made;
  r = file_mtime(ntor, &made);
  al_free(ntor);
  if (r < 0)
    return r;
  /* A key "made" in the future (clock changes) counts as fresh. */
  if (made > now || now - made < lifetime)
    return 0;
  r = rotate_now(datadir, now);
  if (r == 0)
    *rotated = 1;
  return r;
}

int
relay_keys_load_prev_ntor(const char *datadir, time_t now, time_t grace, x25519_keypair_t *out)
{
  if (!datadir || !*datadir || !out)
    return RELAY_KEYS_ERR_INVAL;
  char *path = keypath(datadir, F_NTOR, OLD);
  time_t t;
  int r = file_mtime(path, &t);
  if (r == 0 && now - t >= grace)
    r = RELAY_KEYS_ERR_MISSING;
  if (r == 0)
    r = keyfile_read_ntor(path, out);
  al_free(path);
  return r;
}
