/* test_relay_keys.c -- tests for src/feature/keys: the relay key set in
 * DataDirectory/keys/ in tor's file formats, including interop in both
 * directions with the real tor binary (`tor --list-fingerprint`, which
 * creates or loads keys and never touches the network). */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

static char tmpdir[256];
static char datadir[300];

static const char *const KEYFILES[] = {
  "secret_id_key", "secret_onion_key", "secret_onion_key_ntor",
  "ed25519_master_id_secret_key", "ed25519_master_id_public_key",
  "ed25519_signing_secret_key", "ed25519_signing_cert",
};
#define N_KEYFILES (sizeof(KEYFILES) / sizeof(KEYFILES[0]))

static void
rm_rf(const char *path)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char *sub = al_asprintf("%s/%s", path, e->d_name);
      rm_rf(sub);
      al_free(sub);
    }
    if (d)
      closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  strcpy(tmpdir, "/tmp/allium-test-keys-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  snprintf(datadir, sizeof(datadir), "%s/D", tmpdir);
}

static void
teardown(void)
{
  rm_rf(tmpdir);
}

TestSuite(relay_keys, .init = setup, .fini = teardown);

static char *
keyfile(const char *name)
{
  return al_asprintf("%s/keys/%s", datadir, name);
}

static char *
slurp(const char *path, size_t *len)
{
  char *buf = NULL;
  int r = fs_read_file(path, &buf, len, 1 << 20);
  cr_assert_eq(r, 0, "cannot read %s: %s", path, fs_strerror(r));
  return buf;
}

/* Snapshot of every key file's bytes. */
typedef struct snap_t {
  char *data[N_KEYFILES];
  size_t len[N_KEYFILES];
} snap_t;

static void
snap_take(snap_t *s)
{
  for (size_t i = 0; i < N_KEYFILES; i++) {
    char *p = keyfile(KEYFILES[i]);
    s->data[i] = slurp(p, &s->len[i]);
    al_free(p);
  }
}

static void
snap_assert_same(const snap_t *a, const snap_t *b)
{
  for (size_t i = 0; i < N_KEYFILES; i++) {
    cr_assert_eq(a->len[i], b->len[i], "%s changed size", KEYFILES[i]);
    cr_assert(memcmp(a->data[i], b->data[i], a->len[i]) == 0, "%s changed", KEYFILES[i]);
  }
}

static void
snap_free(snap_t *s)
{
  for (size_t i = 0; i < N_KEYFILES; i++)
    al_free(s->data[i]);
}

/* Path of the tor binary, or NULL. */
static const char *
find_tor(void)
{
  static char found[512];
  const char *path = getenv("PATH");
  char *copy, *save = NULL, *dir;
  const char *fallback[] = { "/usr/sbin/tor", "/usr/bin/tor", "/usr/local/bin/tor" };
  if (path) {
    copy = al_strdup(path);
    for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
      snprintf(found, sizeof(found), "%s/tor", dir);
      if (access(found, X_OK) == 0) {
        al_free(copy);
        return found;
      }
    }
    al_free(copy);
  }
  for (size_t i = 0; i < 3; i++)
    if (access(fallback[i], X_OK) == 0)
      return fallback[i];
  return NULL;
}

/* Run tor --list-fingerprint on datadir; returns its stdout (caller frees). */
static char *
run_tor_list_fingerprint(void)
{
  const char *tor = find_tor();
  char *empty, *outfile, *cmd, *out;
  FILE *f;
  int st;
  unsigned port = 20000 + (unsigned)crypto_rand_uint64(40000);

  if (!tor)
    cr_assert_fail("tor is not installed: these interop tests need the tor binary "
                   "(the project installs it as a test dependency)");
  empty = al_asprintf("%s/empty-torrc", tmpdir);
  f = fopen(empty, "w");
  cr_assert_not_null(f);
  fclose(f);
  outfile = al_asprintf("%s/tor-out.txt", tmpdir);
  cmd = al_asprintf("'%s' --list-fingerprint --DataDirectory '%s' --ORPort 127.0.0.1:%u "
                    "--Address 127.0.0.1 -f '%s' --defaults-torrc '%s' --Log 'notice stderr' "
                    "> '%s' 2>&1 </dev/null", tor, datadir, port, empty, empty, outfile);
  st = system(cmd);
  out = slurp(outfile, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tor failed (%d): %s", st, out);
  al_free(cmd);
  al_free(empty);
  al_free(outfile);
  return out;
}

/* Second word of a "NICKNAME VALUE\n" file. */
static char *
fp_file_value(const char *name)
{
  char *path = al_asprintf("%s/%s", datadir, name);
  char *body = slurp(path, NULL), *sp = strchr(body, ' '), *v;
  cr_assert_not_null(sp, "%s has no space", name);
  v = al_strdup(sp + 1);
  v[strcspn(v, "\r\n")] = '\0';
  al_free(body);
  al_free(path);
  return v;
}

static mode_t
mode_of(const char *path)
{
  struct stat st;
  cr_assert_eq(stat(path, &st), 0, "stat %s", path);
  return st.st_mode & 07777;
}

static void
assert_keys_consistent(const relay_keys_t *k)
{
  const torcert_t *c = relay_keys_signing_cert(k);
  const x25519_keypair_t *ntor = relay_keys_onion_ntor(k);
  uint8_t pub[32];
  cr_assert_not_null(c);
  cr_assert_eq(c->cert_type, CERT_TYPE_ID_SIGNING);
  cr_assert_arr_eq(c->certified_key, relay_keys_signing_keypair(k)->pub.pubkey, 32);
  cr_assert_eq(torcert_validate(c, relay_keys_master_public(k), time(NULL)), 0);
  cr_assert_arr_eq(c->signing_key.pubkey, relay_keys_master_public(k)->pubkey, 32);
  cr_assert_eq(x25519_public_from_secret(pub, ntor->sec), 0);
  cr_assert_arr_eq(pub, ntor->pub, 32);
  cr_assert_eq(rsa_key_bits(relay_keys_identity_rsa(k)), 1024);
  cr_assert_eq(rsa_key_bits(relay_keys_onion_rsa(k)), 1024);
  cr_assert(rsa_key_is_private(relay_keys_identity_rsa(k)));
  cr_assert_not(rsa_key_public_eq(relay_keys_identity_rsa(k), relay_keys_onion_rsa(k)));
}

Test(relay_keys, loads_keys_made_by_tor)
{
  relay_keys_t *k = NULL;
  char fp[41], edfp[44], *want, *want_ed, *out;
  snap_t before, after;

  out = run_tor_list_fingerprint();
  al_free(out);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), 0);
  assert_keys_consistent(k);
  cr_assert_eq(relay_keys_fingerprint_hex(k, fp), 0);
  cr_assert_eq(relay_keys_fingerprint_ed25519(k, edfp), 0);
  want = fp_file_value("fingerprint");
  want_ed = fp_file_value("fingerprint-ed25519");
  cr_assert_str_eq(fp, want);
  cr_assert_str_eq(edfp, want_ed);
  /* identity digest accessor agrees */
  {
    uint8_t d[20];
    cr_assert_eq(rsa_key_fingerprint(relay_keys_identity_rsa(k), d), 0);
    cr_assert_arr_eq(d, relay_keys_identity_digest(k), 20);
  }
  relay_keys_free(k);
  cr_assert_null(k);

  /* Loading with create_missing=1 must not rewrite anything either. */
  snap_take(&before);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  snap_take(&after);
  snap_assert_same(&before, &after);
  /* and our fingerprint files are byte-identical to tor's */
  {
    char *p = al_asprintf("%s/fingerprint", datadir), *q;
    char *tor_fp = slurp(p, NULL), *tor_ed, *ours, *ours_ed;
    q = al_asprintf("%s/fingerprint-ed25519", datadir);
    tor_ed = slurp(q, NULL);
    cr_assert_eq(relay_keys_write_fingerprint_files(k, datadir, "Unnamed"), 0);
    ours = slurp(p, NULL);
    ours_ed = slurp(q, NULL);
    cr_assert_str_eq(ours, tor_fp);
    cr_assert_str_eq(ours_ed, tor_ed);
    al_free(p); al_free(q); al_free(tor_fp); al_free(tor_ed); al_free(ours); al_free(ours_ed);
  }
  snap_free(&before);
  snap_free(&after);
  relay_keys_free(k);
  al_free(want);
  al_free(want_ed);
}

Test(relay_keys, tor_accepts_keys_made_by_allium)
{
  relay_keys_t *k = NULL;
  char fp[41], edfp[44], grouped[60], *out, *line, *tor_ed;
  snap_t before, after;
  size_t j = 0;

  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  assert_keys_consistent(k);
  cr_assert_eq(relay_keys_fingerprint_hex(k, fp), 0);
  cr_assert_eq(relay_keys_fingerprint_ed25519(k, edfp), 0);
  snap_take(&before);
  out = run_tor_list_fingerprint();
  snap_take(&after);
  snap_assert_same(&before, &after);
  /* tor prints "Unnamed XXXX XXXX ..." */
  for (size_t i = 0; i < 40; i++) {
    if (i && i % 4 == 0)
      grouped[j++] = ' ';
    grouped[j++] = fp[i];
  }
  grouped[j] = '\0';
  line = al_asprintf("Unnamed %s\n", grouped);
  cr_assert_not_null(strstr(out, line), "tor printed:\n%s\nexpected %s", out, line);
  cr_assert_null(strstr(out, "Generating"), "tor regenerated keys:\n%s", out);
  tor_ed = fp_file_value("fingerprint-ed25519");
  cr_assert_str_eq(tor_ed, edfp);
  al_free(tor_ed);
  tor_ed = fp_file_value("fingerprint");
  cr_assert_str_eq(tor_ed, fp);
  al_free(tor_ed);
  al_free(line);
  al_free(out);
  snap_free(&before);
  snap_free(&after);
  relay_keys_free(k);
}

Test(relay_keys, modes_and_reload)
{
  relay_keys_t *k = NULL, *k2 = NULL;
  char fp1[41], fp2[41], ed1[44], ed2[44];
  char *kd = al_asprintf("%s/keys", datadir);
  mode_t old = umask(022);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  umask(old);
  cr_assert_eq(mode_of(datadir), 0700);
  cr_assert_eq(mode_of(kd), 0700);
  for (size_t i = 0; i < N_KEYFILES; i++) {
    char *p = keyfile(KEYFILES[i]);
    cr_assert_eq(mode_of(p), 0600, "%s", KEYFILES[i]);
    al_free(p);
  }
  /* sizes as tor writes them */
  {
    size_t sizes[] = { 0, 0, 96, 96, 64, 96, 172 };
    for (size_t i = 2; i < N_KEYFILES; i++) {
      char *p = keyfile(KEYFILES[i]), *b;
      size_t len;
      b = slurp(p, &len);
      cr_assert_eq(len, sizes[i], "%s is %zu bytes", KEYFILES[i], len);
      al_free(b);
      al_free(p);
    }
    char *p = keyfile("secret_id_key"), *b;
    size_t len;
    b = slurp(p, &len);
    cr_assert(len > 800 && len < 1000);
    cr_assert_eq(b[len - 1], '\0');
    cr_assert(strncmp(b, "-----BEGIN RSA PRIVATE KEY-----\n", 32) == 0);
    al_free(b);
    al_free(p);
  }
  cr_assert_eq(relay_keys_write_fingerprint_files(k, datadir, "myrelay"), 0);
  {
    char *p = al_asprintf("%s/fingerprint", datadir), *b;
    cr_assert_eq(mode_of(p), 0600);
    b = slurp(p, NULL);
    cr_assert_eq(strlen(b), 8 + 40 + 1);
    cr_assert(strncmp(b, "myrelay ", 8) == 0);
    cr_assert_eq(b[48], '\n');
    al_free(b);
    al_free(p);
  }
  cr_assert_lt(relay_keys_write_fingerprint_files(k, datadir, "bad name"), 0);
  cr_assert_lt(relay_keys_write_fingerprint_files(k, datadir, ""), 0);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k2), 0);
  relay_keys_fingerprint_hex(k, fp1);
  relay_keys_fingerprint_hex(k2, fp2);
  relay_keys_fingerprint_ed25519(k, ed1);
  relay_keys_fingerprint_ed25519(k2, ed2);
  cr_assert_str_eq(fp1, fp2);
  cr_assert_str_eq(ed1, ed2);
  cr_assert_eq(strlen(fp1), 40);
  cr_assert_eq(strlen(ed1), 43);
  cr_assert_arr_eq(relay_keys_signing_keypair(k)->sec.seckey,
                   relay_keys_signing_keypair(k2)->sec.seckey, 64);
  cr_assert_arr_eq(relay_keys_onion_ntor(k)->sec, relay_keys_onion_ntor(k2)->sec, 32);
  cr_assert(rsa_key_public_eq(relay_keys_onion_rsa(k), relay_keys_onion_rsa(k2)));
  {
    size_t l1, l2;
    const uint8_t *e1 = relay_keys_signing_cert_encoded(k, &l1);
    const uint8_t *e2 = relay_keys_signing_cert_encoded(k2, &l2);
    cr_assert_eq(l1, 140);
    cr_assert_eq(l1, l2);
    cr_assert_arr_eq(e1, e2, l1);
  }
  relay_keys_free(k);
  relay_keys_free(k2);
  relay_keys_free(k2);  /* NULL is fine */
  al_free(kd);
}

Test(relay_keys, missing_without_create)
{
  relay_keys_t *k = NULL;
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), RELAY_KEYS_ERR_MISSING);
  cr_assert_null(k);
  cr_assert_eq(fs_file_exists(datadir), 0);   /* nothing created */
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  for (size_t i = 0; i < N_KEYFILES; i++) {
    char *p = keyfile(KEYFILES[i]), *save;
    size_t len;
    int r;
    if (i == 4) {     /* the master public key alone may be absent */
      al_free(p);
      continue;
    }
    save = slurp(p, &len);
    cr_assert_eq(unlink(p), 0);
    r = relay_keys_load_or_create(datadir, 0, &k);
    cr_assert_lt(r, 0, "loaded without %s", KEYFILES[i]);
    cr_assert_null(k);
    cr_assert_eq(fs_write_file_atomic(p, save, len, 0600), 0);
    al_free(save);
    al_free(p);
  }
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), 0);
  relay_keys_free(k);
  cr_assert_eq(relay_keys_load_or_create(NULL, 1, &k), RELAY_KEYS_ERR_INVAL);
  cr_assert_eq(relay_keys_load_or_create("", 1, &k), RELAY_KEYS_ERR_INVAL);
}

Test(relay_keys, strerror_names_each_error)
{
  static const int errs[] = {
    RELAY_KEYS_OK, RELAY_KEYS_ERR_IO, RELAY_KEYS_ERR_FORMAT,
    RELAY_KEYS_ERR_MISSING, RELAY_KEYS_ERR_MISMATCH, RELAY_KEYS_ERR_CRYPTO,
    RELAY_KEYS_ERR_INVAL,
  };
  for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(relay_keys_strerror(errs[i]),
                        relay_keys_strerror(errs[j]));
  relay_keys_t *k = NULL;
  int r = relay_keys_load_or_create(datadir, 0, &k);
  cr_assert_eq(r, RELAY_KEYS_ERR_MISSING);
  cr_assert_str_eq(relay_keys_strerror(r), "a key file is missing");
  cr_assert_str_eq(relay_keys_strerror(-99), "unknown relay key error");
  cr_assert_str_eq(relay_keys_strerror(1), "unknown relay key error");
}

Test(relay_keys, create_fills_in_missing_files)
{
  relay_keys_t *k = NULL;
  char fp1[41], fp2[41], ed1[44], ed2[44];
  char *p;
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_fingerprint_hex(k, fp1);
  relay_keys_fingerprint_ed25519(k, ed1);
  relay_keys_free(k);
  /* lose the TAP key, the ntor key, the master public key and the signing
   * cert: they come back, and the identities stay. */
  const char *lose[] = { "secret_onion_key", "secret_onion_key_ntor",
                         "ed25519_master_id_public_key", "ed25519_signing_cert" };
  for (size_t i = 0; i < 4; i++) {
    p = keyfile(lose[i]);
    cr_assert_eq(unlink(p), 0);
    al_free(p);
  }
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  assert_keys_consistent(k);
  relay_keys_fingerprint_hex(k, fp2);
  relay_keys_fingerprint_ed25519(k, ed2);
  cr_assert_str_eq(fp1, fp2);
  cr_assert_str_eq(ed1, ed2);
  for (size_t i = 0; i < N_KEYFILES; i++) {
    p = keyfile(KEYFILES[i]);
    cr_assert_eq(fs_file_exists(p), 1, "%s", KEYFILES[i]);
    al_free(p);
  }
  relay_keys_free(k);
}

Test(relay_keys, master_secret_missing_public_present_refused)
{
  relay_keys_t *k = NULL;
  char *p = keyfile("ed25519_master_id_secret_key"), *pp = keyfile("ed25519_master_id_public_key");
  char *pub1, *pub2;
  size_t l1, l2;
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  pub1 = slurp(pp, &l1);
  cr_assert_eq(unlink(p), 0);
  cr_assert_lt(relay_keys_load_or_create(datadir, 1, &k), 0);
  cr_assert_null(k);
  cr_assert_eq(fs_file_exists(p), 0);
  pub2 = slurp(pp, &l2);
  cr_assert_eq(l1, l2);
  cr_assert_arr_eq(pub1, pub2, l1);
  al_free(pub1);
  al_free(pub2);
  al_free(p);
  al_free(pp);
}

/* Rewrite keyfile name with len bytes of data. */
static void
put_key(const char *name, const void *data, size_t len)
{
  char *p = keyfile(name);
  cr_assert_eq(fs_write_file_atomic(p, data, len, 0600), 0);
  al_free(p);
}

/* Load must fail (with and without create) and leave the file unchanged. */
static void
assert_refused(const char *name, const char *what)
{
  relay_keys_t *k = NULL;
  char *p = keyfile(name), *b1, *b2;
  size_t l1, l2;
  b1 = slurp(p, &l1);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), RELAY_KEYS_ERR_FORMAT,
               "%s %s accepted", name, what);
  cr_assert_null(k);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), RELAY_KEYS_ERR_FORMAT,
               "%s %s accepted with create", name, what);
  cr_assert_null(k);
  b2 = slurp(p, &l2);
  cr_assert_eq(l1, l2, "%s was rewritten", name);
  cr_assert(memcmp(b1, b2, l1) == 0, "%s was rewritten", name);
  al_free(b1);
  al_free(b2);
  al_free(p);
}

Test(relay_keys, corrupt_files_refused)
{
  relay_keys_t *k = NULL;
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  for (size_t i = 0; i < N_KEYFILES; i++) {
    char *p = keyfile(KEYFILES[i]), *orig, *buf;
    size_t len;
    orig = slurp(p, &len);
    buf = al_malloc(len + 20000);
    /* truncated by one byte, and to half */
    put_key(KEYFILES[i], orig, len - 1);
    if (i >= 2)   /* a PEM without its trailing NUL is still a valid PEM */
      assert_refused(KEYFILES[i], "truncated by one byte");
    put_key(KEYFILES[i], orig, len / 2);
    assert_refused(KEYFILES[i], "truncated to half");
    put_key(KEYFILES[i], orig, 0);
    assert_refused(KEYFILES[i], "empty");
    /* oversized: one extra byte, and 20000 extra bytes */
    memcpy(buf, orig, len);
    memset(buf + len, 'A', 20000);
    if (i >= 2 && i != 6) {
      put_key(KEYFILES[i], buf, len + 1);
      assert_refused(KEYFILES[i], "one byte too long");
    }
    put_key(KEYFILES[i], buf, len + 20000);
    assert_refused(KEYFILES[i], "oversized");
    /* wrong header / garbage */
    memcpy(buf, orig, len);
    buf[i >= 2 ? 15 : 11] ^= 0x01;
    put_key(KEYFILES[i], buf, len);
    assert_refused(KEYFILES[i], "with a damaged header");
    /* restore */
    put_key(KEYFILES[i], orig, len);
    cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), 0, "%s restore", KEYFILES[i]);
    relay_keys_free(k);
    al_free(buf);
    al_free(orig);
    al_free(p);
  }
}

Test(relay_keys, wrong_file_type_refused)
{
  relay_keys_t *k = NULL;
  char *p, *b;
  size_t len;
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  /* the signing secret key file in the master key's place: header says type4 */
  p = keyfile("ed25519_signing_secret_key");
  b = slurp(p, &len);
  put_key("ed25519_master_id_secret_key", b, len);
  assert_refused("ed25519_master_id_secret_key", "of type4");
  al_free(b);
  al_free(p);
  /* a tagged key file in an RSA key's place */
  p = keyfile("secret_onion_key_ntor");
  b = slurp(p, &len);
  put_key("secret_onion_key", b, len);
  assert_refused("secret_onion_key", "holding an ntor key");
  al_free(b);
  al_free(p);
}

Test(relay_keys, master_public_mismatch)
{
  relay_keys_t *k = NULL;
  char *p = keyfile("ed25519_master_id_public_key"), *b;
  size_t len;
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  b = slurp(p, &len);
  b[40] ^= 1;
  put_key("ed25519_master_id_public_key", b, len);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), RELAY_KEYS_ERR_MISMATCH);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), RELAY_KEYS_ERR_MISMATCH);
  cr_assert_null(k);
  al_free(b);
  al_free(p);
}

Test(relay_keys, ntor_mismatch_refused)
{
  relay_keys_t *k = NULL;
  char *p = keyfile("secret_onion_key_ntor"), *b;
  size_t len;
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  b = slurp(p, &len);
  b[95] ^= 1;
  put_key("secret_onion_key_ntor", b, len);
  assert_refused("secret_onion_key_ntor", "with a wrong public key");
  al_free(b);
  al_free(p);
}

Test(relay_keys, signing_cert_renewal)
{
  relay_keys_t *k = NULL;
  time_t now = time(NULL);
  uint8_t sk1[64];
  time_t exp1;
  char ed1[44], ed2[44];

  cr_assert_eq(relay_keys_load_or_create_at(datadir, 1, now, &k), 0);
  memcpy(sk1, relay_keys_signing_keypair(k)->sec.seckey, 64);
  exp1 = torcert_expiration(relay_keys_signing_cert(k));
  cr_assert_geq(exp1, now + RELAY_KEYS_SIGNING_CERT_LIFETIME);
  cr_assert_lt(exp1, now + RELAY_KEYS_SIGNING_CERT_LIFETIME + 3600);
  relay_keys_fingerprint_ed25519(k, ed1);
  relay_keys_free(k);

  /* 27 days later: still more than 2 days left, kept. */
  cr_assert_eq(relay_keys_load_or_create_at(datadir, 1, now + 27 * 86400, &k), 0);
  cr_assert_arr_eq(relay_keys_signing_keypair(k)->sec.seckey, sk1, 64);
  relay_keys_free(k);
  /* 29 days later without create: loads (not yet expired), unchanged. */
  cr_assert_eq(relay_keys_load_or_create_at(datadir, 0, now + 29 * 86400, &k), 0);
  cr_assert_arr_eq(relay_keys_signing_keypair(k)->sec.seckey, sk1, 64);
  relay_keys_free(k);
  /* 31 days later without create: expired, refused. */
  cr_assert_lt(relay_keys_load_or_create_at(datadir, 0, now + 31 * 86400, &k), 0);
  /* 29 days later with create: renewed. */
  cr_assert_eq(relay_keys_load_or_create_at(datadir, 1, now + 29 * 86400, &k), 0);
  cr_assert(memcmp(relay_keys_signing_keypair(k)->sec.seckey, sk1, 64) != 0);
  cr_assert_gt(torcert_expiration(relay_keys_signing_cert(k)), exp1);
  cr_assert_eq(torcert_validate(relay_keys_signing_cert(k), relay_keys_master_public(k),
                                now + 29 * 86400), 0);
  relay_keys_fingerprint_ed25519(k, ed2);
  cr_assert_str_eq(ed1, ed2);
  relay_keys_free(k);
  /* the renewed key is on disk */
  cr_assert_eq(relay_keys_load_or_create_at(datadir, 0, now + 29 * 86400, &k), 0);
  cr_assert(memcmp(relay_keys_signing_keypair(k)->sec.seckey, sk1, 64) != 0);
  relay_keys_free(k);
}

Test(relay_keys, signing_cert_of_other_master_renewed)
{
  relay_keys_t *k = NULL, *other = NULL;
  char *odir = al_asprintf("%s/O", tmpdir), *p, *b;
  size_t len;
  uint8_t sk1[64];

  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  memcpy(sk1, relay_keys_signing_keypair(k)->sec.seckey, 64);
  relay_keys_free(k);
  cr_assert_eq(relay_keys_load_or_create(odir, 1, &other), 0);
  relay_keys_free(other);
  /* take the other relay's signing key and cert */
  p = al_asprintf("%s/keys/ed25519_signing_cert", odir);
  b = slurp(p, &len);
  put_key("ed25519_signing_cert", b, len);
  al_free(b);
  al_free(p);
  p = al_asprintf("%s/keys/ed25519_signing_secret_key", odir);
  b = slurp(p, &len);
  put_key("ed25519_signing_secret_key", b, len);
  al_free(b);
  al_free(p);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), RELAY_KEYS_ERR_MISMATCH);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  assert_keys_consistent(k);
  relay_keys_free(k);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), 0);
  relay_keys_free(k);
  al_free(odir);
}

Test(relay_keys, directory_permissions)
{
  relay_keys_t *k = NULL;
  char *kd = al_asprintf("%s/keys", datadir);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  cr_assert_eq(chmod(kd, 0755), 0);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), RELAY_KEYS_ERR_IO);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);   /* fixed */
  relay_keys_free(k);
  cr_assert_eq(mode_of(kd), 0700);
  cr_assert_eq(chmod(datadir, 0777), 0);
  cr_assert_eq(relay_keys_load_or_create(datadir, 0, &k), RELAY_KEYS_ERR_IO);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), 0);
  relay_keys_free(k);
  cr_assert_eq(mode_of(datadir), 0700);
  /* keys is a file */
  rm_rf(kd);
  cr_assert_eq(fs_write_file_atomic(kd, "x", 1, 0600), 0);
  cr_assert_eq(relay_keys_load_or_create(datadir, 1, &k), RELAY_KEYS_ERR_IO);
  al_free(kd);
}
