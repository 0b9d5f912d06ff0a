/* fuzz_dircacheurl.c -- fuzz the directory cache's URL / digest-list parser
 * (src/feature/dircache; dir-spec appendix B, 4.3, 4.5.2).  Input: the path
 * (a NUL ends it early). */
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dircache/dircache_parse.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  char *path = al_malloc(len + 1);
  memcpy(path, data, len);
  path[len] = '\0';
  dircache_url_t u;
  int r = dircache_url_parse(path, &u);
  if (r == DIRCACHE_URL_OK) {
    if ((unsigned)u.kind >= DIRCACHE_URL_N_KINDS ||
        u.n_items > DIRCACHE_URL_MAX_ITEMS ||
        u.n_fp_prefixes > DIRCACHE_URL_MAX_ITEMS ||
        (u.n_items && !u.items))
      __builtin_trap();
    for (size_t i = 0; i < u.n_fp_prefixes; i++)
      if (u.fp_prefix_lens[i] < 1 || u.fp_prefix_lens[i] > 20)
        __builtin_trap();
    (void)dircache_url_kind_name(u.kind);
    dircache_url_clear(&u);
  } else if (r != DIRCACHE_URL_UNKNOWN && r != DIRCACHE_URL_MALFORMED) {
    __builtin_trap();
  } else if (u.items || u.fp_prefixes) {
    __builtin_trap();
  }
  al_free(path);
  return 0;
}
