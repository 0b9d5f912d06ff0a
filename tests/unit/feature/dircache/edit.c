/* edit.c -- see edit.h. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"

/* s with the first line starting with prefix replaced by repl (NULL:
 * deleted; repl may hold several lines).  Caller frees. */
char *
edit_line(const char *s, const char *prefix, const char *repl)
{
  const char *p = s;
  size_t pl = strlen(prefix);
  while (p && strncmp(p, prefix, pl)) {
    p = strchr(p, '\n');
    p = p ? p + 1 : NULL;
  }
  cr_assert_not_null(p, "no line %s", prefix);
  const char *e = strchr(p, '\n');
  e = e ? e + 1 : p + strlen(p);
  size_t rl = repl ? strlen(repl) + 1 : 0;
  char *out = malloc(strlen(s) + rl + 1);
  size_t a = (size_t)(p - s);
  memcpy(out, s, a);
  if (repl) {
    memcpy(out + a, repl, rl - 1);
    out[a + rl - 1] = '\n';
  }
  strcpy(out + a + rl, e);
  return out;
}

/* The microdesc fixture edited as the next hour's consensus would be. */
char *
delete_block(const char *s, const char *from, const char *to)
{
  const char *a = strstr(s, from), *b = a ? strstr(a, to) : NULL;
  cr_assert(a && b && (a == s || a[-1] == '\n'));
  char *out = malloc(strlen(s) + 1);
  memcpy(out, s, (size_t)(a - s));
  strcpy(out + (a - s), b);
  return out;
}

char *
next_consensus(const char *c)
{
  char *a = edit_line(c, "valid-after ", "valid-after 2026-11-24 03:54:40");
  char *b = edit_line(a, "fresh-until ", "fresh-until 2026-11-24 03:55:00");
  free(a);
  a = edit_line(b, "valid-until ", "valid-until 2026-11-24 03:55:20");
  free(b);
  b = edit_line(a, "w Bandwidth=68", "w Bandwidth=70 Unmeasured=1");
  free(a);
  a = delete_block(b, "r auth0 ", "r relay0 ");   /* auth0's entry goes */
  free(b);
  b = a;
  a = edit_line(b, "bandwidth-weights ", "bandwidth-weights Wbd=1");
  free(b);
  b = edit_line(a, "KuZ4Zcu", "AuZ4ZcueIPrnYcLJ3E2+gACyPmqDUk7QU1Ceaa6K9WFNUO/UBZ7UKtawEAq4KXxQ");
  free(a);
  return b;
}

