/* relay_keys.c -- load or create a relay's key set in DataDirectory/keys/
 * in the same file formats tor uses (tor-spec 1.1 for the keys themselves,
 * cert-spec 2.1 for the ed25519 signing certificate; the on-disk layout is
 * described in shared/TOR-FILE-FORMATS.md and implemented in keyfile.c).
 */
#include "allium/feature/keys/relay_keys.h"

#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "feature/keys/keyfile.h"

#define LOG_MODULE "keys"
#include "allium/lib/log/log.h"

struct relay_keys_t {
  rsa_key_t *id_rsa;
  uint8_t id_digest[DIGEST_SHA1_LEN];
  rsa_key_t *onion_rsa;
  x25519_keypair_t ntor;
  ed25519_keypair_t master;
  ed25519_keypair_t signing;
  torcert_t *signing_cert;
};

/* Paths of the key files, all under <datadir>/keys/. */
#define F_ID "secret_id_key"
#define F_ONION "secret_onion_key"
#define F_NTOR "secret_onion_key_ntor"
#define F_MASTER_SEC "ed25519_master_id_secret_key"
#define F_MASTER_PUB "ed25519_master_id_public_key"
#define F_SIGNING_SEC "ed25519_signing_secret_key"
#define F_SIGNING_CERT "ed25519_signing_cert"

typedef struct load_ctx_t {
  const char *keydir;
  int create;
  time_t now;
} load_ctx_t;

static char *
kpath(const load_ctx_t *lc, const char *name)
{
  return al_asprintf("%s/%s", lc->keydir, name);
}

/* RSA key (identity or TAP onion) from file name; generate if missing. */
static int
load_rsa(const load_ctx_t *lc, const char *name, rsa_key_t **out)
{
  char *path = kpath(lc, name);
  int r = keyfile_read_rsa(path, out);
  if (r == RELAY_KEYS_ERR_MISSING && lc->create) {
    *out = rsa_key_generate(1024);
    if (!*out) {
      log_warn("Could not generate an RSA key for %s.", path);
      r = RELAY_KEYS_ERR_CRYPTO;
    } else {
      r = keyfile_write_rsa(path, *out);
      if (r < 0)
        rsa_key_free(*out);
      else
        log_notice("Generated a new RSA key in %s.", path);
    }
  } else if (r == RELAY_KEYS_ERR_MISSING) {
    log_warn("Key file %s is missing.", path);
  }
  al_free(path);
  return r;
}

static int
load_ntor(const load_ctx_t *lc, x25519_keypair_t *kp)
{
  char *path = kpath(lc, F_NTOR);
  int r = keyfile_read_ntor(path, kp);
  if (r == RELAY_KEYS_ERR_MISSING && lc->create) {
    if (x25519_keypair_generate(kp) < 0) {
      r = RELAY_KEYS_ERR_CRYPTO;
    } else {
      r = keyfile_write_ntor(path, kp);
      if (r == 0)
        log_notice("Generated a new ntor onion key in %s.", path);
    }
  } else if (r == RELAY_KEYS_ERR_MISSING) {
    log_warn("Key file %s is missing.", path);
  }
  al_free(path);
  return r;
}

static int
load_master(const load_ctx_t *lc, ed25519_keypair_t *kp)
{
  char *spath = kpath(lc, F_MASTER_SEC), *ppath = kpath(lc, F_MASTER_PUB);
  ed25519_public_key_t filepub;
  int r = keyfile_read_ed25519_secret(spath, "type0", kp);
  int rp;

  if (r == RELAY_KEYS_ERR_MISSING) {
    rp = keyfile_read_ed25519_public(ppath, &filepub);
    if (rp != RELAY_KEYS_ERR_MISSING) {
      /* Public key only: an offline master key, which we do not support;
       * never replace an existing identity with a new one. */
      log_warn("%s is missing but %s exists; offline master keys are not "
               "supported.", spath, ppath);
      r = rp < 0 ? rp : RELAY_KEYS_ERR_MISSING;
      goto out;
    }
    if (!lc->create) {
      log_warn("Key file %s is missing.", spath);
      goto out;
    }
    if (ed25519_keypair_generate(kp) < 0) {
      r = RELAY_KEYS_ERR_CRYPTO;
      goto out;
    }
    r = keyfile_write_ed25519_secret(spath, "type0", kp);
    if (r == 0)
      r = keyfile_write_ed25519_public(ppath, &kp->pub);
    if (r == 0)
      log_notice("Generated a new ed25519 master identity key in %s.", spath);
    goto out;
  }
  if (r < 0)
    goto out;
  rp = keyfile_read_ed25519_public(ppath, &filepub);
  if (rp == RELAY_KEYS_ERR_MISSING && lc->create) {
    r = keyfile_write_ed25519_public(ppath, &kp->pub);
  } else if (rp == RELAY_KEYS_ERR_MISSING) {
    r = 0;   /* the secret key alone is enough to run */
  } else if (rp < 0) {
    r = rp;
  } else if (memcmp(filepub.pubkey, kp->pub.pubkey, ED25519_PUBKEY_LEN) != 0) {
    log_warn("%s does not match %s.", ppath, spath);
    r = RELAY_KEYS_ERR_MISMATCH;
  }
 out:
  al_free(spath);
  al_free(ppath);
  return r;
}

/* 0 when cert certifies signing->pub, is signed by master and does not
 * expire within the renewal margin; else negative. */
static int
signing_cert_ok(const torcert_t *cert, const ed25519_keypair_t *signing,
                const ed25519_public_key_t *master, time_t now, int *expiring)
{
  *expiring = 0;
  if (cert->cert_type != CERT_TYPE_ID_SIGNING ||
      memcmp(cert->certified_key, signing->pub.pubkey, ED25519_PUBKEY_LEN) != 0 ||
      torcert_checksig(cert, master) < 0)
    return RELAY_KEYS_ERR_MISMATCH;
  if (torcert_is_expired(cert, now + RELAY_KEYS_SIGNING_RENEW_MARGIN)) {
    *expiring = 1;
    return RELAY_KEYS_ERR_MISMATCH;
  }
  return 0;
}

static int
make_signing(const load_ctx_t *lc, relay_keys_t *k)
{
  char *spath = kpath(lc, F_SIGNING_SEC), *cpath = kpath(lc, F_SIGNING_CERT);
  int r = RELAY_KEYS_ERR_CRYPTO;

  torcert_free(k->signing_cert);
  if (ed25519_keypair_generate(&k->signing) < 0)
    goto out;
  if (torcert_create(&k->signing_cert, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                     k->signing.pub.pubkey, &k->master, lc->now,
                     RELAY_KEYS_SIGNING_CERT_LIFETIME, 1) < 0)
    goto out;
  r = keyfile_write_ed25519_secret(spath, "type4", &k->signing);
  if (r == 0)
    r = keyfile_write_cert(cpath, "type4", k->signing_cert);
  if (r == 0)
    log_notice("Generated a new ed25519 signing key and certificate in %s.", lc->keydir);
 out:
  al_free(spath);
  al_free(cpath);
  return r;
}

static int
load_signing(const load_ctx_t *lc, relay_keys_t *k)
{
  char *spath = kpath(lc, F_SIGNING_SEC), *cpath = kpath(lc, F_SIGNING_CERT);
  int r, expiring = 0;

  r = keyfile_read_ed25519_secret(spath, "type4", &k->signing);
  if (r == 0)
    r = keyfile_read_cert(cpath, "type4", &k->signing_cert);
  if (r == 0) {
    r = signing_cert_ok(k->signing_cert, &k->signing, &k->master.pub, lc->now, &expiring);
    if (r < 0 && !lc->create) {
      if (expiring && !torcert_is_expired(k->signing_cert, lc->now)) {
        log_notice("The ed25519 signing certificate in %s expires soon.", cpath);
        r = 0;
      } else {
        log_warn("%s is %s.", cpath,
                 expiring ? "expired" : "not a valid certificate of the signing key");
      }
    } else if (r < 0) {
      log_notice("Renewing the ed25519 signing key (%s).",
                 expiring ? "its certificate expires soon" : "certificate does not match");
      r = make_signing(lc, k);
    }
  } else if (r == RELAY_KEYS_ERR_MISSING && lc->create) {
    r = make_signing(lc, k);
  } else if (r == RELAY_KEYS_ERR_MISSING) {
    log_warn("Key file %s or %s is missing.", spath, cpath);
  }
  al_free(spath);
  al_free(cpath);
  return r;
}

static int
check_dirs(const char *datadir, const char *keydir, int create)
{
  int flags = FS_DIR_STRICT | (create ? FS_DIR_CREATE | FS_DIR_FIX : 0);
  int r = fs_check_private_dir(datadir, flags);
  if (r < 0) {
    log_warn("DataDirectory %s: %s.", datadir, fs_strerror(r));
    return r == FS_ERR_NOENT ? RELAY_KEYS_ERR_MISSING : RELAY_KEYS_ERR_IO;
  }
  r = fs_check_private_dir(keydir, flags);
  if (r < 0) {
    log_warn("Key directory %s: %s.", keydir, fs_strerror(r));
    return r == FS_ERR_NOENT ? RELAY_KEYS_ERR_MISSING : RELAY_KEYS_ERR_IO;
  }
  return 0;
}

const char *
relay_keys_strerror(int err)
{
  switch ((relay_keys_err_t)err) {
  case RELAY_KEYS_OK: return "no error";
  case RELAY_KEYS_ERR_IO: return "a key file or directory could not be read or written";
  case RELAY_KEYS_ERR_FORMAT: return "a key file is corrupt or of the wrong type";
  case RELAY_KEYS_ERR_MISSING: return "a key file is missing";
  case RELAY_KEYS_ERR_MISMATCH: return "the key files do not belong together";
  case RELAY_KEYS_ERR_CRYPTO: return "a key could not be generated or signed";
  case RELAY_KEYS_ERR_INVAL: return "bad argument";
  }
  return "unknown relay key error";
}

int
relay_keys_load_or_create_at(const char *datadir, int create_missing, time_t now,
                             relay_keys_t **out)
{
  relay_keys_t *k;
  load_ctx_t lc;
  char *keydir;
  int r;

  if (!out || !datadir || !*datadir)
    return RELAY_KEYS_ERR_INVAL;
  *out = NULL;
  if (crypto_global_init() < 0)
    return RELAY_KEYS_ERR_CRYPTO;
  keydir = al_asprintf("%s/keys", datadir);
  r = check_dirs(datadir, keydir, create_missing);
  if (r < 0) {
    al_free(keydir);
    return r;
  }
  lc.keydir = keydir;
  lc.create = create_missing;
  lc.now = now;
  k = al_calloc(1, sizeof(*k));
  if ((r = load_rsa(&lc, F_ID, &k->id_rsa)) < 0 ||
      (r = load_rsa(&lc, F_ONION, &k->onion_rsa)) < 0 ||
      (r = load_ntor(&lc, &k->ntor)) < 0 ||
      (r = load_master(&lc, &k->master)) < 0 ||
      (r = load_signing(&lc, k)) < 0)
    goto err;
  if (rsa_key_fingerprint(k->id_rsa, k->id_digest) < 0) {
    r = RELAY_KEYS_ERR_CRYPTO;
    goto err;
  }
  al_free(keydir);
  *out = k;
  return 0;
 err:
  al_free(keydir);
  relay_keys_free(k);
  return r;
}

int
relay_keys_load_or_create(const char *datadir, int create_missing, relay_keys_t **out)
{
  return relay_keys_load_or_create_at(datadir, create_missing, time(NULL), out);
}

void
relay_keys_free_(relay_keys_t *k)
{
  if (!k)
    return;
  rsa_key_free(k->id_rsa);
  rsa_key_free(k->onion_rsa);
  torcert_free(k->signing_cert);
  memwipe(k, sizeof(*k));
  al_free(k);
}

int
relay_keys_fingerprint_hex(const relay_keys_t *k, char out[41])
{
  if (!k || !out)
    return -1;
  return base16_encode(out, 41, k->id_digest, DIGEST_SHA1_LEN) == 40 ? 0 : -1;
}

int
relay_keys_fingerprint_ed25519(const relay_keys_t *k, char out[44])
{
  if (!k || !out)
    return -1;
  return base64_encode(out, 44, k->master.pub.pubkey, ED25519_PUBKEY_LEN,
                       BASE64_FLAG_NOPAD) == 43 ? 0 : -1;
}

static int
write_fp_file(const char *datadir, const char *name, const char *nickname, const char *fp)
{
  char *path = al_asprintf("%s/%s", datadir, name);
  char *body = al_asprintf("%s %s\n", nickname, fp);
  int r = fs_write_file_atomic(path, body, strlen(body), 0600);
  if (r < 0)
    log_warn("Could not write %s: %s.", path, fs_strerror(r));
  al_free(path);
  al_free(body);
  return r < 0 ? -1 : 0;
}

int
relay_keys_write_fingerprint_files(const relay_keys_t *k, const char *datadir,
                                   const char *nickname)
{
  char fp[41], edfp[44];
  if (!k || !datadir || !nickname || !*nickname || strpbrk(nickname, " \n\r"))
    return -1;
  if (relay_keys_fingerprint_hex(k, fp) < 0 || relay_keys_fingerprint_ed25519(k, edfp) < 0)
    return -1;
  if (write_fp_file(datadir, "fingerprint", nickname, fp) < 0 ||
      write_fp_file(datadir, "fingerprint-ed25519", nickname, edfp) < 0)
    return -1;
  return 0;
}

const rsa_key_t *relay_keys_identity_rsa(const relay_keys_t *k) { return k->id_rsa; }
const uint8_t *relay_keys_identity_digest(const relay_keys_t *k) { return k->id_digest; }
const rsa_key_t *relay_keys_onion_rsa(const relay_keys_t *k) { return k->onion_rsa; }
const x25519_keypair_t *relay_keys_onion_ntor(const relay_keys_t *k) { return &k->ntor; }
const ed25519_public_key_t *
relay_keys_master_public(const relay_keys_t *k)
{
  return &k->master.pub;
}
const ed25519_keypair_t *
relay_keys_master_keypair(const relay_keys_t *k)
{
  return &k->master;
}
const ed25519_keypair_t *
relay_keys_signing_keypair(const relay_keys_t *k)
{
  return &k->signing;
}
const struct torcert_t *
relay_keys_signing_cert(const relay_keys_t *k)
{
  return k->signing_cert;
}
const uint8_t *
relay_keys_signing_cert_encoded(const relay_keys_t *k, size_t *len_out)
{
  if (len_out)
    *len_out = k->signing_cert->encoded_len;
  return k->signing_cert->encoded;
}
