/* fuzz_fallbackdir.c -- fuzz target for the FallbackDir value parser of
 * src/feature/dirclient (tor(1) "FallbackDir ipv4address[:dirport]
 * orport=N id=FINGERPRINT [weight=N] [ipv6=[addr]:orport]").  Checks: an
 * error always comes with a message and a zeroed result; a success has a
 * nonzero orport and weight, and no message. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/dirclient/dir_fallback.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  static const dir_fallback_t zero;
  char *s = malloc(len + 1);
  if (!s)
    return 0;
  memcpy(s, data, len);
  s[len] = '\0';
  dir_fallback_t f;
  char *err = NULL;
  int r = dir_fallback_parse(s, &f, &err);
  if (r < 0) {
    if (!err || memcmp(&f, &zero, sizeof(f)))
      abort();
  } else {
    if (r != 0 || err || f.orport == 0 || f.weight == 0 ||
        f.weight > DIR_FALLBACK_MAX_WEIGHT ||
        (f.has_ipv6 && f.ipv6_orport == 0))
      abort();
  }
  al_free(err);
  free(s);
  return 0;
}
