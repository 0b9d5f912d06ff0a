/* test_hs_keys.c -- tests for src/feature/keys/hs_keys.c: an onion service
 * directory in tor's layout (hs_ed25519_secret_key, hs_ed25519_public_key,
 * hostname, authorized_clients/), the permission and never-overwrite rules,
 * and interop with tor 0.4.9 in both directions: tor is started offline
 * (DisableNetwork 1, SocksPort 0, no listeners) with a HiddenServiceDir,
 * which makes it create or load the keys and write hostname. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "allium/feature/keys/hs_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

static char tmpdir[256];
static char hsdir[300];

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
  strcpy(tmpdir, "/tmp/allium-test-hskeys-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  snprintf(hsdir, sizeof(hsdir), "%s/hs", tmpdir);
}

static void
teardown(void)
{
  rm_rf(tmpdir);
}

TestSuite(hs_keys, .init = setup, .fini = teardown);

static char *
in_hs(const char *name)
{
  return al_asprintf("%s/%s", hsdir, name);
}

static char *
slurp(const char *path, size_t *len)
{
  char *buf = NULL;
  int r = fs_read_file(path, &buf, len, 1 << 20);
  cr_assert_eq(r, 0, "cannot read %s: %s", path, fs_strerror(r));
  return buf;
}

static mode_t
mode_of(const char *path)
{
  struct stat st;
  cr_assert_eq(stat(path, &st), 0, "stat %s", path);
  return st.st_mode & 07777;
}

static void
write_file(const char *path, const void *data, size_t len)
{
  cr_assert_eq(fs_write_file_atomic(path, data, len, 0600), 0);
}

Test(hs_keys, creates_tor_layout)
{
  ed25519_keypair_t kp;
  char addr[HS_ONION_ADDR_LEN + 1];
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &kp, addr), 0);
  cr_assert_eq(mode_of(hsdir), 0700);
  char *sec = in_hs(HS_KEYS_SECRET_FILE), *pub = in_hs(HS_KEYS_PUBLIC_FILE);
  char *host = in_hs(HS_KEYS_HOSTNAME_FILE), *auth = in_hs("authorized_clients");
  size_t n = 0;
  char *b = slurp(sec, &n);
  cr_assert_eq(n, 96);
  cr_assert_str_eq(b, "== ed25519v1-secret: type0 ==");   /* NUL-padded header */
  cr_assert_arr_eq(b + 32, kp.sec.seckey, 64);
  al_free(b);
  b = slurp(pub, &n);
  cr_assert_eq(n, 64);
  cr_assert_str_eq(b, "== ed25519v1-public: type0 ==");
  cr_assert_arr_eq(b + 32, kp.pub.pubkey, 32);
  al_free(b);
  b = slurp(host, &n);
  cr_assert_eq(n, 63);
  cr_assert_eq(b[62], '\n');
  b[62] = '\0';
  cr_assert_str_eq(b, addr);
  cr_assert_eq(hs_onion_address_parse(b, NULL), 0);
  al_free(b);
  cr_assert_eq(mode_of(sec), 0600);
  cr_assert_eq(mode_of(host), 0600);
  cr_assert_eq(mode_of(auth), 0700);
  /* Loading again gives the same key and writes nothing new. */
  ed25519_keypair_t again;
  char addr2[HS_ONION_ADDR_LEN + 1];
  cr_assert_eq(hs_keys_load_or_create(hsdir, 0, &again, addr2), 0);
  cr_assert_arr_eq(again.sec.seckey, kp.sec.seckey, 64);
  cr_assert_str_eq(addr, addr2);
  al_free(sec);
  al_free(pub);
  al_free(host);
  al_free(auth);
}

Test(hs_keys, missing_without_create)
{
  ed25519_keypair_t kp;
  cr_assert_eq(hs_keys_load_or_create(hsdir, 0, &kp, NULL), RELAY_KEYS_ERR_MISSING);
  cr_assert_eq(access(hsdir, F_OK), -1, "nothing may be created without HS_KEYS_CREATE");
  cr_assert_eq(mkdir(hsdir, 0700), 0);
  cr_assert_eq(hs_keys_load_or_create(hsdir, 0, &kp, NULL), RELAY_KEYS_ERR_MISSING);
  cr_assert_eq(hs_keys_load_or_create(NULL, HS_KEYS_CREATE, &kp, NULL), RELAY_KEYS_ERR_INVAL);
  cr_assert_eq(hs_keys_load_or_create("", HS_KEYS_CREATE, &kp, NULL), RELAY_KEYS_ERR_INVAL);
}

Test(hs_keys, permissive_dir_refused)
{
  static const mode_t bad[] = { 0755, 0750, 0711, 0701, 0770 };
  ed25519_keypair_t kp;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    rm_rf(hsdir);
    cr_assert_eq(mkdir(hsdir, 0700), 0);
    cr_assert_eq(chmod(hsdir, bad[i]), 0);
    cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &kp, NULL), RELAY_KEYS_ERR_IO,
                 "mode %o accepted", (unsigned)bad[i]);
    cr_assert_eq(mode_of(hsdir), bad[i], "the mode must not be changed");
    char *sec = in_hs(HS_KEYS_SECRET_FILE);
    cr_assert_eq(access(sec, F_OK), -1, "no key may be written into a refused dir");
    al_free(sec);
  }
  /* Group-readable: 0750 is fine, group write and any other bit are not. */
  rm_rf(hsdir);
  cr_assert_eq(mkdir(hsdir, 0700), 0);
  cr_assert_eq(chmod(hsdir, 0750), 0);
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE | HS_KEYS_GROUP_READABLE, &kp,
                                      NULL), 0);
  char *host = in_hs(HS_KEYS_HOSTNAME_FILE);
  cr_assert_eq(mode_of(host), 0640);
  al_free(host);
  cr_assert_eq(chmod(hsdir, 0751), 0);
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_GROUP_READABLE, &kp, NULL),
               RELAY_KEYS_ERR_IO);
  cr_assert_eq(chmod(hsdir, 0770), 0);
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_GROUP_READABLE, &kp, NULL),
               RELAY_KEYS_ERR_IO);
  /* A new group-readable dir is made 0750. */
  rm_rf(hsdir);
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE | HS_KEYS_GROUP_READABLE, &kp,
                                      NULL), 0);
  cr_assert_eq(mode_of(hsdir), 0750);
}

Test(hs_keys, public_key_rules)
{
  ed25519_keypair_t kp, other, got;
  char a1[HS_ONION_ADDR_LEN + 1], a2[HS_ONION_ADDR_LEN + 1];
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &kp, a1), 0);
  char *sec = in_hs(HS_KEYS_SECRET_FILE), *pub = in_hs(HS_KEYS_PUBLIC_FILE);
  char *host = in_hs(HS_KEYS_HOSTNAME_FILE);
  /* Missing public key: rewritten from the secret. */
  cr_assert_eq(unlink(pub), 0);
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &got, a2), 0);
  cr_assert_str_eq(a1, a2);
  cr_assert_eq(access(pub, F_OK), 0);
  /* Wrong hostname: rewritten. */
  write_file(host, "garbage\n", 8);
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &got, NULL), 0);
  size_t n = 0;
  char *b = slurp(host, &n);
  cr_assert_eq(strncmp(b, a1, strlen(a1)), 0);
  al_free(b);
  /* Mismatched public key: refused, nothing overwritten. */
  cr_assert_eq(ed25519_keypair_generate(&other), 0);
  uint8_t body[64];
  memset(body, 0, sizeof(body));
  memcpy(body, "== ed25519v1-public: type0 ==", 29);
  memcpy(body + 32, other.pub.pubkey, 32);
  write_file(pub, body, sizeof(body));
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &got, NULL),
               RELAY_KEYS_ERR_MISMATCH);
  b = slurp(pub, &n);
  cr_assert_arr_eq(b + 32, other.pub.pubkey, 32);
  al_free(b);
  /* Public key without its secret key: refused, no new key. */
  cr_assert_eq(unlink(sec), 0);
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &got, NULL),
               RELAY_KEYS_ERR_MISSING);
  cr_assert_eq(access(sec, F_OK), -1);
  al_free(sec);
  al_free(pub);
  al_free(host);
}

Test(hs_keys, corrupt_secret_never_overwritten)
{
  static const size_t lens[] = { 0, 31, 32, 50, 95, 97, 4096 };
  ed25519_keypair_t kp;
  char *sec = in_hs(HS_KEYS_SECRET_FILE);
  cr_assert_eq(mkdir(hsdir, 0700), 0);
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    uint8_t *junk = al_calloc(1, lens[i] + 1);
    if (lens[i] >= 32)
      memcpy(junk, "== ed25519v1-secret: type0 ==", 29);
    write_file(sec, junk, lens[i]);
    cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &kp, NULL),
                 RELAY_KEYS_ERR_FORMAT, "len %zu", lens[i]);
    size_t n = 99999;
    char *b = slurp(sec, &n);
    cr_assert_eq(n, lens[i], "the bad key file was replaced");
    al_free(b);
    al_free(junk);
  }
  /* A relay key header (type4) is not a service key. */
  uint8_t body[96];
  memset(body, 0, sizeof(body));
  memcpy(body, "== ed25519v1-secret: type4 ==", 29);
  write_file(sec, body, sizeof(body));
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &kp, NULL),
               RELAY_KEYS_ERR_FORMAT);
  al_free(sec);
}

/* ---- interop with tor 0.4.9 ---- */

static const char *
find_tor(void)
{
  static const char *const where[] = { "/usr/bin/tor", "/usr/sbin/tor", "/usr/local/bin/tor" };
  for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
    if (access(where[i], X_OK) == 0)
      return where[i];
  return NULL;
}

/* Start tor offline with hsdir as its service; wait (at most 30 s) until it
 * has written hostname, then stop it.  Returns 0 when hostname appeared. */
static int
run_tor_service(const char *tor)
{
  char *empty = al_asprintf("%s/empty", tmpdir), *data = al_asprintf("%s/tordata", tmpdir);
  char *logf = al_asprintf("notice file %s/tor.log", tmpdir);
  char *host = in_hs(HS_KEYS_HOSTNAME_FILE);
  write_file(empty, "", 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    FILE *null = freopen("/dev/null", "w", stdout);
    (void)null;
    dup2(1, 2);
    execl(tor, tor, "-f", empty, "--defaults-torrc", empty, "--DataDirectory", data,
          "--DisableNetwork", "1", "--SocksPort", "0", "--HiddenServiceDir", hsdir,
          "--HiddenServicePort", "80 127.0.0.1:8080", "--Log", logf, (char *)NULL);
    _exit(127);
  }
  int ok = 0, status = 0;
  for (int i = 0; i < 300 && !ok; i++) {
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    if (waitpid(pid, &status, WNOHANG) == pid)
      break;
    ok = access(host, F_OK) == 0;
    if (!ok)
      nanosleep(&ts, NULL);
  }
  if (kill(pid, SIGTERM) == 0)
    waitpid(pid, &status, 0);
  al_free(empty);
  al_free(data);
  al_free(logf);
  al_free(host);
  return ok ? 0 : -1;
}

static char *
read_hostname(void)
{
  char *host = in_hs(HS_KEYS_HOSTNAME_FILE);
  size_t n = 0;
  char *b = slurp(host, &n);
  cr_assert_eq(n, 63, "hostname is %zu bytes", n);
  b[strcspn(b, "\n")] = '\0';
  al_free(host);
  return b;
}

Test(hs_keys, loads_dir_made_by_tor)
{
  const char *tor = find_tor();
  if (!tor)
    cr_skip_test("tor is not installed: skipping the tor interop test");
  cr_assert_eq(run_tor_service(tor), 0, "tor did not write %s/hostname", hsdir);
  char *tors = read_hostname();
  char *sec = in_hs(HS_KEYS_SECRET_FILE);
  size_t n0 = 0, n1 = 0;
  char *before = slurp(sec, &n0);
  ed25519_keypair_t kp;
  char addr[HS_ONION_ADDR_LEN + 1];
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &kp, addr), 0);
  cr_assert_str_eq(addr, tors, "allium reads tor's key as %s, tor says %s", addr, tors);
  char *after = slurp(sec, &n1);
  cr_assert(n0 == n1 && !memcmp(before, after, n0), "tor's secret key was rewritten");
  al_free(before);
  al_free(after);
  al_free(sec);
  al_free(tors);
}

Test(hs_keys, tor_loads_dir_made_by_allium)
{
  const char *tor = find_tor();
  if (!tor)
    cr_skip_test("tor is not installed: skipping the tor interop test");
  ed25519_keypair_t kp;
  char addr[HS_ONION_ADDR_LEN + 1];
  cr_assert_eq(hs_keys_load_or_create(hsdir, HS_KEYS_CREATE, &kp, addr), 0);
  /* tor writes hostname from the key it loads. */
  char *host = in_hs(HS_KEYS_HOSTNAME_FILE);
  cr_assert_eq(unlink(host), 0);
  cr_assert_eq(run_tor_service(tor), 0, "tor did not write %s/hostname", hsdir);
  char *tors = read_hostname();
  cr_assert_str_eq(tors, addr, "tor reads allium's key as %s, allium says %s", tors, addr);
  ed25519_keypair_t again;
  cr_assert_eq(hs_keys_load_or_create(hsdir, 0, &again, NULL), 0);
  cr_assert_arr_eq(again.sec.seckey, kp.sec.seckey, 64, "tor replaced the key");
  al_free(tors);
  al_free(host);
}
