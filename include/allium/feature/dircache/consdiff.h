/* consdiff.h -- consensus diffs (dir-spec.txt 4.5 and appendix E; proposal
 * 140): generating the limited ed-style diff from an older consensus to the
 * current one, applying one, and the SHA3-256 digests that name them.
 *
 * A diff is "network-status-diff-version 1", then "hash FROM TO" (hex
 * SHA3-256 of the old consensus as signed -- "network-status-version"
 * through the space after the first "directory-signature" keyword -- and of
 * the whole new consensus), then ed commands applied back to front: first
 * "N,$d" deleting the old signatures, then d / c / a commands with strictly
 * decreasing line numbers.  The generator aligns router entries by identity
 * (both documents are sorted by it) and finds a longest common subsequence
 * inside each entry, the header and the footer, so its cost is linear in
 * the size of the documents.
 */
#ifndef ALLIUM_FEATURE_DIRCACHE_CONSDIFF_H
#define ALLIUM_FEATURE_DIRCACHE_CONSDIFF_H

#include <stddef.h>
#include <stdint.h>

#define CONSDIFF_ERR_INPUT (-1)     /* a document is not a usable consensus */
#define CONSDIFF_ERR_SYNTAX (-2)    /* a diff that does not parse */
#define CONSDIFF_ERR_DIGEST (-3)    /* base or result digest mismatch */
#define CONSDIFF_ERR_RANGE (-4)     /* a command out of range or order */

/** SHA3-256 of consensus c[0..len) as signed (dir-spec 4.5.1).  0, or
 * CONSDIFF_ERR_INPUT when there is no "directory-signature" line. */
int consdiff_digest_as_signed(const char *c, size_t len, uint8_t out[32]);

/** Diff from consensus from[0..from_len) to to[0..to_len).  On success 0,
 * *out (NUL-terminated, caller frees with al_free()) and *out_len.
 * CONSDIFF_ERR_INPUT if either is not a consensus this generator handles
 * (no signatures, routers not sorted by identity, a line "." in to). */
int consdiff_generate(const char *from, size_t from_len, const char *to,
                      size_t to_len, char **out, size_t *out_len);

/** Apply diff to base.  Checks the base's digest-as-signed and the result's
 * full digest against the "hash" line.  On success 0 and *out
 * (NUL-terminated, caller frees with al_free()), *out_len; else a negative
 * CONSDIFF_ERR_*. */
int consdiff_apply(const char *base, size_t base_len, const char *diff,
                   size_t diff_len, char **out, size_t *out_len);

/** Static text for a CONSDIFF_ERR_* code. */
const char *consdiff_strerror(int err);

#endif
