/* fs.h -- small file-system helpers every module uses: bounded whole-file
 * reads, atomic file replacement (temp file + fsync + rename + directory
 * fsync), private-directory checks in the spirit of tor's DataDirectory
 * handling, mkdir -p and existence tests.
 *
 * Every function returns 0 (or a non-negative value where stated) or one of
 * the negative FS_ERR_* codes below; fs_strerror() names them.  When a
 * failure came from a system call, errno is left as that call set it.
 */
#ifndef ALLIUM_LIB_FS_FS_H
#define ALLIUM_LIB_FS_FS_H

#include <stddef.h>
#include <sys/types.h>

#define FS_OK              0
#define FS_ERR_IO         (-1)   /* a system call failed (see errno) */
#define FS_ERR_NOENT      (-2)   /* the path does not exist */
#define FS_ERR_TOOBIG     (-3)   /* file larger than the allowed maximum */
#define FS_ERR_NOTFILE    (-4)   /* expected a regular file */
#define FS_ERR_NOTDIR     (-5)   /* expected a directory */
#define FS_ERR_PERM       (-6)   /* mode too permissive */
#define FS_ERR_OWNER      (-7)   /* owned by another user */
#define FS_ERR_INVAL      (-8)   /* bad argument (NULL, empty path, ...) */

/** Static, human-readable description of an FS_* code. */
const char *fs_strerror(int err);

/** Read the whole regular file at path into a new NUL-terminated buffer
 * (*out, caller frees; for secrets use al_free_secret(*out, *len_out + 1)).
 * Refuses files larger than maxlen bytes (FS_ERR_TOOBIG) and non-regular
 * files.  len_out may be NULL.  On error *out is NULL. */
int fs_read_file(const char *path, char **out, size_t *len_out, size_t maxlen);

/** Replace path atomically with len bytes of data and permission bits mode:
 * a temporary file is created in the same directory with that mode, written,
 * fsync()ed and renamed over path; then the directory is fsync()ed.  On any
 * failure the temporary file is removed and path is left untouched. */
int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* fs_check_private_dir() flags. */
#define FS_DIR_CREATE  0x01  /* create (mode 0700) if missing */
#define FS_DIR_STRICT  0x02  /* refuse any group/other read/write/exec bits */
#define FS_DIR_FIX     0x04  /* chmod to 0700 instead of refusing wrong bits */

/** Check that path is a directory owned by geteuid() that no group or other
 * user can write (with FS_DIR_STRICT: nor read or enter).  With
 * FS_DIR_CREATE a missing directory (not its parents) is created 0700;
 * with FS_DIR_FIX a directory that has wrong bits but the right owner is
 * chmod()ed to 0700 (tor's DataDirectoryGroupReadable 0 behaviour). */
int fs_check_private_dir(const char *path, int flags);

/** Create path and all missing parents with mode (as mkdir -p); existing
 * directories are fine, an existing non-directory is FS_ERR_NOTDIR. */
int fs_mkdir_p(const char *path, mode_t mode);
/** The folder part of path ("." when there is none, "/" for a file in the
 * root).  New string; caller frees. */
char *fs_dirname(const char *path);

/** 1 when path exists and is a regular file, 0 when it does not exist,
 * FS_ERR_NOTFILE when it is something else, FS_ERR_IO on other errors. */
int fs_file_exists(const char *path);

#endif
