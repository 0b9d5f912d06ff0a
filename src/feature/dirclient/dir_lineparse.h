/* dir_lineparse.h -- private to src/feature/dirclient: the two small helpers
 * shared by the torrc-line parsers of directory servers (DirAuthority,
 * FallbackDir, the built-in lists): blank-separated tokens and a formatted
 * error message. */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_LINEPARSE_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_LINEPARSE_H

#include <stddef.h>

/* Split buf in place on blanks (space, tab) into at most max tokens.
 * 0, or -1 when there are more than max. */
int dir_line_tokenize(char *buf, char **toks, size_t max, size_t *n);

/* If err is not NULL, set *err to the formatted message (caller frees).
 * Always returns -1. */
int dir_line_fail(char **err, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
