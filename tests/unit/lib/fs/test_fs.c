/* test_fs.c -- unit tests for src/lib/fs: bounded reads, atomic writes,
 * private directory checks, mkdir -p and existence tests. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

static char tmpdir[256];

static void
rm_rf(const char *path)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d;
    struct dirent *e;
    chmod(path, 0700);
    d = opendir(path);
    if (d) {
      while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
          continue;
        char *sub = al_asprintf("%s/%s", path, e->d_name);
        rm_rf(sub);
        al_free(sub);
      }
      closedir(d);
    }
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void
setup(void)
{
  strcpy(tmpdir, "/tmp/allium-test-fs-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
  rm_rf(tmpdir);
}

static char *
tpath(const char *name)
{
  return al_asprintf("%s/%s", tmpdir, name);
}

static void
put(const char *path, const char *s)
{
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fwrite(s, 1, strlen(s), f);
  fclose(f);
}

static mode_t
mode_of(const char *path)
{
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  return st.st_mode & 07777;
}

/* Number of entries in tmpdir (to find leftover temp files). */
static int
count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  cr_assert_not_null(d);
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  return n;
}

TestSuite(fs, .init = setup, .fini = teardown);

Test(fs, read_file_ok)
{
  char *p = tpath("a"), *buf = NULL;
  size_t len = 99;
  put(p, "hello\nworld");
  cr_assert_eq(fs_read_file(p, &buf, &len, 100), FS_OK);
  cr_assert_eq(len, 11);
  cr_assert_str_eq(buf, "hello\nworld");
  cr_assert_eq(buf[len], '\0');
  al_free(buf);
  /* exactly at the limit is fine, one over is refused */
  cr_assert_eq(fs_read_file(p, &buf, &len, 11), FS_OK);
  al_free(buf);
  cr_assert_eq(fs_read_file(p, &buf, &len, 10), FS_ERR_TOOBIG);
  cr_assert_null(buf);
  cr_assert_eq(len, 0);
  al_free(p);
}

Test(fs, read_file_empty_and_errors)
{
  char *p = tpath("empty"), *buf = NULL;
  size_t len = 5;
  put(p, "");
  cr_assert_eq(fs_read_file(p, &buf, &len, 0), FS_OK);
  cr_assert_eq(len, 0);
  cr_assert_str_eq(buf, "");
  al_free(buf);
  al_free(p);
  p = tpath("missing");
  cr_assert_eq(fs_read_file(p, &buf, &len, 100), FS_ERR_NOENT);
  cr_assert_null(buf);
  cr_assert_eq(fs_read_file(tmpdir, &buf, &len, 100), FS_ERR_NOTFILE);
  cr_assert_eq(fs_read_file("/dev/null", &buf, NULL, 100), FS_ERR_NOTFILE);
  cr_assert_eq(fs_read_file(NULL, &buf, NULL, 100), FS_ERR_INVAL);
  cr_assert_eq(fs_read_file("", &buf, NULL, 100), FS_ERR_INVAL);
  cr_assert_eq(fs_read_file(p, NULL, NULL, 100), FS_ERR_INVAL);
  al_free(p);
}

Test(fs, write_atomic_creates_with_mode)
{
  char *p = tpath("key"), *buf = NULL;
  size_t len;
  const uint8_t data[] = { 0, 1, 2, 0xff, 0 };
  mode_t old = umask(0);
  cr_assert_eq(fs_write_file_atomic(p, data, sizeof(data), 0600), FS_OK);
  umask(old);
  cr_assert_eq(mode_of(p), 0600);
  cr_assert_eq(fs_read_file(p, &buf, &len, 1000), FS_OK);
  cr_assert_eq(len, sizeof(data));
  cr_assert_arr_eq(buf, data, sizeof(data));
  al_free(buf);
  /* umask must not change the mode asked for */
  old = umask(077);
  cr_assert_eq(fs_write_file_atomic(p, "x", 1, 0644), FS_OK);
  umask(old);
  cr_assert_eq(mode_of(p), 0644);
  cr_assert_eq(count_entries(tmpdir), 1);
  al_free(p);
}

Test(fs, write_atomic_replaces)
{
  char *p = tpath("f"), *buf = NULL;
  put(p, "old content that is long");
  cr_assert_eq(fs_write_file_atomic(p, "new", 3, 0600), FS_OK);
  cr_assert_eq(fs_read_file(p, &buf, NULL, 100), FS_OK);
  cr_assert_str_eq(buf, "new");
  al_free(buf);
  cr_assert_eq(fs_write_file_atomic(p, NULL, 0, 0600), FS_OK);
  cr_assert_eq(fs_read_file(p, &buf, NULL, 100), FS_OK);
  cr_assert_str_eq(buf, "");
  al_free(buf);
  cr_assert_eq(count_entries(tmpdir), 1);
  al_free(p);
}

Test(fs, write_atomic_failure_leaves_nothing)
{
  /* The target is a directory: the write must fail, the directory stay,
   * and no temp file be left behind. (Works even as root.) */
  char *d = tpath("adir"), *f = NULL, *buf = NULL;
  cr_assert_eq(mkdir(d, 0700), 0);
  cr_assert_lt(fs_write_file_atomic(d, "x", 1, 0600), 0);
  cr_assert_eq(fs_file_exists(d), FS_ERR_NOTFILE);
  cr_assert_eq(count_entries(tmpdir), 1);
  /* Parent directory missing: fails, old content elsewhere untouched. */
  f = tpath("keep");
  put(f, "precious");
  al_free(d);
  d = tpath("nodir/file");
  cr_assert_eq(fs_write_file_atomic(d, "x", 1, 0600), FS_ERR_NOENT);
  /* Parent path component is a regular file. */
  al_free(d);
  d = tpath("keep/sub");
  cr_assert_lt(fs_write_file_atomic(d, "x", 1, 0600), 0);
  cr_assert_eq(fs_read_file(f, &buf, NULL, 100), FS_OK);
  cr_assert_str_eq(buf, "precious");
  cr_assert_eq(count_entries(tmpdir), 2);
  al_free(buf);
  al_free(d);
  al_free(f);
}

Test(fs, write_atomic_symlink_target_refused)
{
  /* The destination is a symlink to a directory: not a regular file, so
   * the write is refused and the link stays as it was. */
  char *target = tpath("realdir"), *link = tpath("lnk");
  struct stat st;
  cr_assert_eq(mkdir(target, 0700), 0);
  cr_assert_eq(symlink(target, link), 0);
  cr_assert_lt(fs_write_file_atomic(link, "x", 1, 0600), 0);
  cr_assert_eq(lstat(link, &st), 0);
  cr_assert(S_ISLNK(st.st_mode));
  cr_assert_eq(count_entries(tmpdir), 2);
  al_free(target);
  al_free(link);
}

Test(fs, write_atomic_tempfile_failure_keeps_old)
{
  /* A regular file whose name is so long that the temp name next to it
   * exceeds NAME_MAX: the temp file cannot be created (even as root), and
   * the existing content must survive unchanged. */
  char name[251], *p, *buf = NULL;
  memset(name, 'k', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  p = tpath(name);
  put(p, "old content");
  cr_assert_lt(fs_write_file_atomic(p, "new", 3, 0600), 0);
  cr_assert_eq(fs_read_file(p, &buf, NULL, 100), FS_OK);
  cr_assert_str_eq(buf, "old content");
  cr_assert_eq(count_entries(tmpdir), 1);
  al_free(buf);
  al_free(p);
}

Test(fs, write_atomic_bad_args)
{
  cr_assert_eq(fs_write_file_atomic(NULL, "x", 1, 0600), FS_ERR_INVAL);
  cr_assert_eq(fs_write_file_atomic("", "x", 1, 0600), FS_ERR_INVAL);
  cr_assert_eq(fs_write_file_atomic("/tmp/x", NULL, 1, 0600), FS_ERR_INVAL);
  cr_assert_eq(fs_write_file_atomic("/tmp/dir/", "x", 1, 0600), FS_ERR_INVAL);
}

Test(fs, private_dir_create)
{
  char *d = tpath("priv");
  mode_t old = umask(0);
  cr_assert_eq(fs_check_private_dir(d, 0), FS_ERR_NOENT);
  cr_assert_eq(fs_check_private_dir(d, FS_DIR_CREATE | FS_DIR_STRICT), FS_OK);
  umask(old);
  cr_assert_eq(mode_of(d), 0700);
  cr_assert_eq(fs_check_private_dir(d, FS_DIR_STRICT), FS_OK);
  al_free(d);
}

Test(fs, private_dir_refuses_open_modes)
{
  char *d = tpath("open");
  cr_assert_eq(mkdir(d, 0700), 0);
  cr_assert_eq(chmod(d, 0770), 0);
  cr_assert_eq(fs_check_private_dir(d, 0), FS_ERR_PERM);
  cr_assert_eq(fs_check_private_dir(d, FS_DIR_STRICT), FS_ERR_PERM);
  cr_assert_eq(chmod(d, 0702), 0);
  cr_assert_eq(fs_check_private_dir(d, 0), FS_ERR_PERM);
  /* group/world-readable: fine unless strict */
  cr_assert_eq(chmod(d, 0755), 0);
  cr_assert_eq(fs_check_private_dir(d, 0), FS_OK);
  cr_assert_eq(fs_check_private_dir(d, FS_DIR_STRICT), FS_ERR_PERM);
  cr_assert_eq(chmod(d, 0740), 0);
  cr_assert_eq(fs_check_private_dir(d, FS_DIR_STRICT), FS_ERR_PERM);
  cr_assert_eq(mode_of(d), 0740);
  /* FIX: chmod to 0700 */
  cr_assert_eq(fs_check_private_dir(d, FS_DIR_STRICT | FS_DIR_FIX), FS_OK);
  cr_assert_eq(mode_of(d), 0700);
  cr_assert_eq(chmod(d, 0777), 0);
  cr_assert_eq(fs_check_private_dir(d, FS_DIR_FIX), FS_OK);
  cr_assert_eq(mode_of(d), 0700);
  al_free(d);
}

Test(fs, private_dir_not_dir_or_other_owner)
{
  char *f = tpath("file");
  put(f, "x");
  cr_assert_eq(fs_check_private_dir(f, FS_DIR_CREATE), FS_ERR_NOTDIR);
  al_free(f);
  /* a symlink to a directory is not accepted as the private dir */
  f = tpath("lnk");
  cr_assert_eq(symlink(tmpdir, f), 0);
  cr_assert_eq(fs_check_private_dir(f, 0), FS_ERR_NOTDIR);
  al_free(f);
  if (geteuid() == 0) {
    f = tpath("other");
    cr_assert_eq(mkdir(f, 0700), 0);
    cr_assert_eq(chown(f, 12345, 12345), 0);
    cr_assert_eq(fs_check_private_dir(f, 0), FS_ERR_OWNER);
    cr_assert_eq(fs_check_private_dir(f, FS_DIR_FIX), FS_ERR_OWNER);
    al_free(f);
  } else {
    /* /tmp is owned by root and world-writable. */
    cr_assert_lt(fs_check_private_dir("/tmp", 0), 0);
  }
  cr_assert_eq(fs_check_private_dir(NULL, 0), FS_ERR_INVAL);
}

Test(fs, mkdir_p)
{
  char *d = tpath("a/b/c/"), *f = NULL;
  cr_assert_eq(fs_mkdir_p(d, 0700), FS_OK);
  cr_assert_eq(fs_mkdir_p(d, 0700), FS_OK);
  al_free(d);
  d = tpath("a/b/c");
  struct stat st;
  cr_assert_eq(stat(d, &st), 0);
  cr_assert(S_ISDIR(st.st_mode));
  al_free(d);
  f = tpath("a/file");
  put(f, "x");
  d = tpath("a/file/sub");
  cr_assert_eq(fs_mkdir_p(d, 0700), FS_ERR_NOTDIR);
  al_free(d);
  cr_assert_eq(fs_mkdir_p(f, 0700), FS_ERR_NOTDIR);
  cr_assert_eq(fs_mkdir_p("", 0700), FS_ERR_INVAL);
  al_free(f);
}

Test(fs, file_exists)
{
  char *f = tpath("x");
  cr_assert_eq(fs_file_exists(f), 0);
  put(f, "1");
  cr_assert_eq(fs_file_exists(f), 1);
  cr_assert_eq(fs_file_exists(tmpdir), FS_ERR_NOTFILE);
  cr_assert_eq(fs_file_exists(NULL), FS_ERR_INVAL);
  al_free(f);
  f = tpath("x/y");
  cr_assert_eq(fs_file_exists(f), 0);
  al_free(f);
}

Test(fs, strerror_names)
{
  int codes[] = { FS_OK, FS_ERR_IO, FS_ERR_NOENT, FS_ERR_TOOBIG, FS_ERR_NOTFILE,
                  FS_ERR_NOTDIR, FS_ERR_PERM, FS_ERR_OWNER, FS_ERR_INVAL };
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    cr_assert_not_null(fs_strerror(codes[i]));
    cr_assert_str_neq(fs_strerror(codes[i]), "unknown error");
  }
  cr_assert_str_eq(fs_strerror(-1000), "unknown error");
}

Test(fs, dirname)
{
  static const char *const cases[][2] = {
    { "/etc/allium/allium.conf", "/etc/allium" }, { "allium.conf", "." },
    { "/allium.conf", "/" }, { "a/b", "a" }, { "", "." },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *d = fs_dirname(cases[i][0]);
    cr_assert_str_eq(d, cases[i][1], "%s", cases[i][0]);
    al_free(d);
  }
}
