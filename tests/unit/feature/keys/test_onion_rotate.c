/* test_onion_rotate.c -- tests for src/feature/keys/onion_rotate.c: onion
 * keys older than the rotation period are moved to *.old and replaced, the
 * previous ntor key is served for the grace period and then removed, fresh
 * keys and future timestamps are left alone, bad arguments are refused. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

static char tmp[256];
static char dd[300];
static const time_t DAY = 24 * 3600;

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
  strcpy(tmp, "/tmp/allium-test-rot-XXXXXX");
  cr_assert_not_null(mkdtemp(tmp));
  snprintf(dd, sizeof(dd), "%s/D", tmp);
  relay_keys_t *k = NULL;
  cr_assert_eq(relay_keys_load_or_create(dd, 1, &k), 0);
  relay_keys_free(k);
}

static void
teardown(void)
{
  rm_rf(tmp);
}

TestSuite(onion_rotate, .init = setup, .fini = teardown);

static void
set_age(const char *name, time_t t)
{
  char *p = al_asprintf("%s/keys/%s", dd, name);
  struct timespec ts[2] = { { t, 0 }, { t, 0 } };
  cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
  al_free(p);
}

static int
exists(const char *name)
{
  char *p = al_asprintf("%s/keys/%s", dd, name);
  int r = access(p, F_OK) == 0;
  al_free(p);
  return r;
}

static x25519_keypair_t
current_ntor(void)
{
  relay_keys_t *k = NULL;
  cr_assert_eq(relay_keys_load_or_create(dd, 0, &k), 0);
  x25519_keypair_t kp = *relay_keys_onion_ntor(k);
  relay_keys_free(k);
  return kp;
}

Test(onion_rotate, rotates_old_keys_and_keeps_previous_for_grace)
{
  time_t now = time(NULL);
  x25519_keypair_t before = current_ntor();
  int rotated = -1;
  /* Fresh: nothing happens. */
  cr_assert_eq(relay_keys_rotate_onion_keys(dd, now, RELAY_KEYS_ONION_ROTATION,
                                            RELAY_KEYS_ONION_GRACE, &rotated), 0);
  cr_assert_eq(rotated, 0);
  cr_assert(!exists("secret_onion_key_ntor.old"));
  x25519_keypair_t prev;
  cr_assert_eq(relay_keys_load_prev_ntor(dd, now, RELAY_KEYS_ONION_GRACE, &prev),
               RELAY_KEYS_ERR_MISSING);
  /* 28 days old: rotated. */
  set_age("secret_onion_key_ntor", now - 28 * DAY);
  cr_assert_eq(relay_keys_rotate_onion_keys(dd, now, RELAY_KEYS_ONION_ROTATION,
                                            RELAY_KEYS_ONION_GRACE, &rotated), 0);
  cr_assert_eq(rotated, 1);
  cr_assert(exists("secret_onion_key_ntor.old"));
  cr_assert(exists("secret_onion_key.old"));
  x25519_keypair_t after = current_ntor();
  cr_assert(memcmp(after.pub, before.pub, 32) != 0, "new ntor key");
  cr_assert_eq(relay_keys_load_prev_ntor(dd, now + DAY, RELAY_KEYS_ONION_GRACE, &prev), 0);
  cr_assert(memcmp(prev.pub, before.pub, 32) == 0, "the previous key is the old one");
  cr_assert(memcmp(prev.sec, before.sec, 32) == 0);
  /* Not rotated again right away. */
  cr_assert_eq(relay_keys_rotate_onion_keys(dd, now + DAY, RELAY_KEYS_ONION_ROTATION,
                                            RELAY_KEYS_ONION_GRACE, &rotated), 0);
  cr_assert_eq(rotated, 0);
  /* After the grace period the previous key is gone. */
  cr_assert_eq(relay_keys_load_prev_ntor(dd, now + 7 * DAY, RELAY_KEYS_ONION_GRACE, &prev),
               RELAY_KEYS_ERR_MISSING);
  cr_assert_eq(relay_keys_rotate_onion_keys(dd, now + 7 * DAY, RELAY_KEYS_ONION_ROTATION,
                                            RELAY_KEYS_ONION_GRACE, &rotated), 0);
  cr_assert_eq(rotated, 0);
  cr_assert(!exists("secret_onion_key_ntor.old"));
  cr_assert(!exists("secret_onion_key.old"));
  /* The identity is untouched throughout. */
  relay_keys_t *k = NULL;
  cr_assert_eq(relay_keys_load_or_create(dd, 0, &k), 0);
  relay_keys_free(k);
}

Test(onion_rotate, future_mtime_and_errors)
{
  time_t now = time(NULL);
  int rotated = -1;
  set_age("secret_onion_key_ntor", now + 100 * DAY);
  cr_assert_eq(relay_keys_rotate_onion_keys(dd, now, RELAY_KEYS_ONION_ROTATION,
                                            RELAY_KEYS_ONION_GRACE, &rotated), 0);
  cr_assert_eq(rotated, 0);
  cr_assert_eq(relay_keys_rotate_onion_keys(NULL, now, 1, 1, &rotated), RELAY_KEYS_ERR_INVAL);
  cr_assert_eq(relay_keys_rotate_onion_keys(dd, now, 0, 1, &rotated), RELAY_KEYS_ERR_INVAL);
  cr_assert_eq(relay_keys_rotate_onion_keys(dd, now, 1, 1, NULL), RELAY_KEYS_ERR_INVAL);
  x25519_keypair_t kp;
  cr_assert_eq(relay_keys_load_prev_ntor(NULL, now, 1, &kp), RELAY_KEYS_ERR_INVAL);
  char *missing = al_asprintf("%s/nowhere", tmp);
  cr_assert_eq(relay_keys_rotate_onion_keys(missing, now, 1, 1, &rotated),
               RELAY_KEYS_ERR_MISSING);
  al_free(missing);
  /* A corrupt .old file is an error, not a key. */
  char *old = al_asprintf("%s/keys/secret_onion_key_ntor.old", dd);
  FILE *f = fopen(old, "w");
  cr_assert_not_null(f);
  fputs("garbage", f);
  fclose(f);
  al_free(old);
  cr_assert_lt(relay_keys_load_prev_ntor(dd, now, RELAY_KEYS_ONION_GRACE, &kp), 0);
  cr_assert_neq(relay_keys_load_prev_ntor(dd, now, RELAY_KEYS_ONION_GRACE, &kp), 0);
}
