/* fs.c -- bounded file reads, atomic file replacement and private
 * directory checks (see include/allium/lib/fs/fs.h).  No spec section:
 * this mirrors the on-disk hygiene tor applies to its DataDirectory
 * (private 0700 directories, 0600 key files, write-temp-then-rename).
 */
#include "allium/lib/fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "allium/lib/malloc/malloc.h"

const char *
fs_strerror(int err)
{
  switch (err) {
  case FS_OK: return "success";
  case FS_ERR_IO: return "input/output error";
  case FS_ERR_NOENT: return "no such file or directory";
  case FS_ERR_TOOBIG: return "file too large";
  case FS_ERR_NOTFILE: return "not a regular file";
  case FS_ERR_NOTDIR: return "not a directory";
  case FS_ERR_PERM: return "permissions too open";
  case FS_ERR_OWNER: return "owned by another user";
  case FS_ERR_INVAL: return "invalid argument";
  default: return "unknown error";
  }
}

static int
errno_to_fs(int e)
{
  switch (e) {
  case ENOENT: return FS_ERR_NOENT;
  case ENOTDIR: return FS_ERR_NOTDIR;
  case EISDIR: return FS_ERR_NOTFILE;
  default: return FS_ERR_IO;
  }
}

/* Read exactly n bytes (or until EOF); returns bytes read or -1. */
static ssize_t
read_all(int fd, char *buf, size_t n)
{
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

int
fs_read_file(const char *path, char **out, size_t *len_out, size_t maxlen)
{
  struct stat st;
  int fd, saved;
  char *buf;
  ssize_t got;
  char extra;

  if (!out)
    return FS_ERR_INVAL;
  *out = NULL;
  if (len_out)
    *len_out = 0;
  if (!path || !*path || maxlen >= SIZE_MAX - 1)
    return FS_ERR_INVAL;
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return errno_to_fs(errno);
  if (fstat(fd, &st) < 0) {
    saved = errno;
    close(fd);
    errno = saved;
    return FS_ERR_IO;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return FS_ERR_NOTFILE;
  }
  if (st.st_size < 0 || (unsigned long long)st.st_size > maxlen) {
    close(fd);
    return FS_ERR_TOOBIG;
  }
  buf = al_malloc((size_t)st.st_size + 1);
  got = read_all(fd, buf, (size_t)st.st_size);
  if (got < 0) {
    saved = errno;
    al_free_secret(buf, (size_t)st.st_size + 1);
    close(fd);
    errno = saved;
    return FS_ERR_IO;
  }
  /* The file may have grown since fstat(): refuse rather than truncate. */
  if ((size_t)got == (size_t)st.st_size && read_all(fd, &extra, 1) == 1) {
    al_free_secret(buf, (size_t)st.st_size + 1);
    close(fd);
    return FS_ERR_TOOBIG;
  }
  close(fd);
  buf[got] = '\0';
  *out = buf;
  if (len_out)
    *len_out = (size_t)got;
  return FS_OK;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

char *
fs_dirname(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (!slash)
    return al_strdup(".");
  if (slash == path)
    return al_strdup("/");
  return al_strndup(path, (size_t)(slash - path));
}

static int
fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r;
  if (fd < 0)
    return -1;
  r = fsync(fd);
  /* Some file systems refuse fsync on directories; that is not fatal. */
  if (r < 0 && (errno == EINVAL || errno == EROFS))
    r = 0;
  close(fd);
  return r;
}

int
fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
  char *tmp = NULL, *dir = NULL;
  uint8_t rnd[6];
  int fd = -1, rv = FS_ERR_IO, saved = 0;
  struct stat st;

  if (!path || !*path || (!data && len))
    return FS_ERR_INVAL;
  if (path[strlen(path) - 1] == '/')
    return FS_ERR_INVAL;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return FS_ERR_NOTFILE;
  if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
    /* Uniqueness only matters against ourselves; O_EXCL catches the rest. */
    unsigned long v = (unsigned long)getpid() ^ (unsigned long)time(NULL);
    memcpy(rnd, &v, sizeof(rnd) < sizeof(v) ? sizeof(rnd) : sizeof(v));
  }
  tmp = al_asprintf("%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2],
                    rnd[3], rnd[4], rnd[5]);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
  if (fd < 0) {
    saved = errno;
    rv = errno_to_fs(errno);
    goto done_notmp;
  }
  /* open() applies the umask; set the exact mode asked for. */
  if (fchmod(fd, mode & 07777) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0)
    goto fail;
  if (close(fd) < 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) < 0)
    goto fail;
  dir = fs_dirname(path);
  if (fsync_dir(dir) < 0) {
    saved = errno;
    rv = FS_ERR_IO;   /* the new content is in place, but not known durable */
    goto done_notmp;
  }
  rv = FS_OK;
  goto done_notmp;

 fail:
  saved = errno;
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  rv = FS_ERR_IO;
 done_notmp:
  al_free(tmp);
  al_free(dir);
  if (rv != FS_OK)
    errno = saved;
  return rv;
}

int
fs_check_private_dir(const char *path, int flags)
{
  struct stat st;
  mode_t bad;

  if (!path || !*path)
    return FS_ERR_INVAL;
  if (lstat(path, &st) < 0) {
    if (errno != ENOENT)
      return errno_to_fs(errno);
    if (!(flags & FS_DIR_CREATE))
      return FS_ERR_NOENT;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
      return errno_to_fs(errno);
    if (lstat(path, &st) < 0)
      return errno_to_fs(errno);
    /* mkdir() honours the umask; make the mode exactly 0700. */
    if (S_ISDIR(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 07777) != 0700) {
      if (chmod(path, 0700) < 0)
        return FS_ERR_IO;
      st.st_mode = (st.st_mode & ~(mode_t)07777) | 0700;
    }
  }
  if (!S_ISDIR(st.st_mode))
    return FS_ERR_NOTDIR;
  if (st.st_uid != geteuid())
    return FS_ERR_OWNER;
  bad = (flags & FS_DIR_STRICT) ? 0077 : 0022;
  if (st.st_mode & bad) {
    if (!(flags & FS_DIR_FIX))
      return FS_ERR_PERM;
    if (chmod(path, 0700) < 0)
      return FS_ERR_IO;
  }
  return FS_OK;
}

int
fs_mkdir_p(const char *path, mode_t mode)
{
  char *copy;
  size_t i, n;
  struct stat st;
  int rv = FS_OK;

  if (!path || !*path)
    return FS_ERR_INVAL;
  copy = al_strdup(path);
  n = strlen(copy);
  while (n > 1 && copy[n - 1] == '/')
    copy[--n] = '\0';
  for (i = 1; i <= n; i++) {
    if (copy[i] != '/' && copy[i] != '\0')
      continue;
    char save = copy[i];
    copy[i] = '\0';
    if (mkdir(copy, mode) < 0) {
      if (errno != EEXIST) {
        rv = errno_to_fs(errno);
      } else if (stat(copy, &st) < 0) {
        rv = errno_to_fs(errno);
      } else if (!S_ISDIR(st.st_mode)) {
        rv = FS_ERR_NOTDIR;
      }
    }
    copy[i] = save;
    if (rv != FS_OK)
      break;
  }
  al_free(copy);
  return rv;
}

int
fs_file_exists(const char *path)
{
  struct stat st;
  if (!path || !*path)
    return FS_ERR_INVAL;
  if (stat(path, &st) < 0)
    return (errno == ENOENT || errno == ENOTDIR) ? 0 : FS_ERR_IO;
  return S_ISREG(st.st_mode) ? 1 : FS_ERR_NOTFILE;
}
