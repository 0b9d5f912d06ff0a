/* consdiff_st.h -- shared helpers of consdiff.c and consdiff_apply.c
 * (consensus diffs, dir-spec 4.5 and appendix E): lines of a document and
 * a growable output buffer.  Private to src/feature/dircache. */
#ifndef ALLIUM_FEATURE_DIRCACHE_CONSDIFF_ST_H
#define ALLIUM_FEATURE_DIRCACHE_CONSDIFF_ST_H

#include <stdbool.h>
#include <stddef.h>

/** One line, without its LF. */
typedef struct cd_line_t {
  const char *p;
  size_t len;
} cd_line_t;

typedef struct cd_lines_t {
  cd_line_t *l;
  size_t n;
} cd_lines_t;

/** Split s[0..len) into lines.  A last line without LF is kept (flagged
 * by *ends_nl = false).  Caller frees out->l with al_free(). */
void cd_split_lines(const char *s, size_t len, cd_lines_t *out,
                    bool *ends_nl);

typedef struct cd_buf_t {
  char *p;
  size_t len, cap;
} cd_buf_t;

void cd_buf_add(cd_buf_t *b, const char *s, size_t len);
/** Append a line and its LF. */
void cd_buf_line(cd_buf_t *b, const char *s, size_t len);

#endif
