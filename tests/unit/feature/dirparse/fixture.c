/* fixture.c -- see fixture.h. */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
fixture_load(const char *name, size_t *len)
{
  const char *src = getenv("ALLIUM_SRCDIR");
  char path[1024];
  snprintf(path, sizeof(path), "%s/tests/unit/feature/dirparse/data/%s",
           src ? src : ALLIUM_SRCDIR, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  cr_assert(n >= 0);
  char *buf = malloc((size_t)n + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  buf[n] = '\0';
  *len = (size_t)n;
  return buf;
}

char *
fixture_exact(const char *s, size_t len)
{
  char *b = malloc(len ? len : 1);
  cr_assert_not_null(b);
  memcpy(b, s, len);
  return b;
}
