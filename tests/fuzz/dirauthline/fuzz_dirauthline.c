/* fuzz_dirauthline.c -- fuzz target for the DirAuthority value parser of
 * src/feature/dirclient (tor(1) "DirAuthority [nickname] [flags]
 * ipv4address:dirport fingerprint").  Checks: an error always comes with a
 * message and a zeroed result; a success has a nonzero dirport and a
 * NUL-terminated nickname. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dirclient/dir_authority.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  static const dir_authority_t zero;
  char *s = malloc(len + 1);
  if (!s)
    return 0;
  memcpy(s, data, len);
  s[len] = '\0';
  dir_authority_t a;
  char *err = NULL;
  int r = dir_authority_parse(s, &a, &err);
  if (r < 0) {
    if (!err || memcmp(&a, &zero, sizeof(a)))
      abort();
  } else {
    if (r != 0 || err || a.dirport == 0 ||
        memchr(a.nickname, '\0', sizeof(a.nickname)) == NULL)
      abort();
  }
  al_free(err);
  free(s);
  return 0;
}
