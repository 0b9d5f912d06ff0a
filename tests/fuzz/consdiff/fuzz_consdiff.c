/* fuzz_consdiff.c -- fuzz the consensus diff applier and generator
 * (src/feature/dircache; dir-spec 4.5.1, appendix E).
 *
 * Input: a base document, a NUL byte, a diff.  The diff is applied to the
 * base; when that works, the result is checked by diffing the base against
 * it again and applying that diff (the generator's output must always apply
 * and give the same document back). */
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dircache/consdiff.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  const uint8_t *nul = memchr(data, 0, len);
  if (!nul)
    return 0;
  size_t blen = (size_t)(nul - data);
  const char *base = (const char *)data, *diff = (const char *)nul + 1;
  size_t dlen = len - blen - 1;
  char *out = NULL, *d2 = NULL, *out2 = NULL;
  size_t olen = 0, d2len = 0, o2len = 0;
  if (consdiff_apply(base, blen, diff, dlen, &out, &olen) == 0) {
    if (!out || strlen(out) != olen)
      __builtin_trap();
  } else if (out) {
    __builtin_trap();
  }
  /* Generator round trip: base against the diff text itself as a target
   * (any bytes), when the generator accepts them. */
  if (consdiff_generate(base, blen, diff, dlen, &d2, &d2len) == 0) {
    if (consdiff_apply(base, blen, d2, d2len, &out2, &o2len) != 0 ||
        o2len != dlen || memcmp(out2, diff, dlen))
      __builtin_trap();
  }
  al_free(out);
  al_free(d2);
  al_free(out2);
  return 0;
}
