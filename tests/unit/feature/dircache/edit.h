/* edit.h -- line edits of directory documents for the dircache tests. */
#ifndef ALLIUM_TESTS_DIRCACHE_EDIT_H
#define ALLIUM_TESTS_DIRCACHE_EDIT_H

/** s with the first line starting with prefix replaced by repl (NULL:
 * deleted; repl may hold several lines).  Caller frees with free(). */
char *edit_line(const char *s, const char *prefix, const char *repl);
/** s without the lines from the one starting with from up to (not
 * including) the next one starting with to.  Caller frees. */
char *delete_block(const char *s, const char *from, const char *to);
/** The microdesc fixture consensus c edited as the next one would be
 * (valid 20 s later, a bandwidth changed, auth0 gone, new footer and
 * signature).  Caller frees with free(). */
char *next_consensus(const char *c);

#endif
