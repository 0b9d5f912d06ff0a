/* dir_lineparse.c -- tokens and error messages for the directory-server
 * line parsers (tor(1) DirAuthority, FallbackDir); see dir_lineparse.h. */
#include "dir_lineparse.h"

#include <stdarg.h>
#include <stdio.h>

#include "allium/lib/malloc/malloc.h"

int
dir_line_tokenize(char *buf, char **toks, size_t max, size_t *n)
{
  *n = 0;
  for (char *p = buf; *p;) {
    while (*p == ' ' || *p == '\t')
      *p++ = '\0';
    if (!*p)
      break;
    if (*n >= max)
      return -1;
    toks[(*n)++] = p;
    while (*p && *p != ' ' && *p != '\t')
      p++;
  }
  return 0;
}

int
dir_line_fail(char **err, const char *fmt, ...)
{
  if (err) {
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *err = al_strdup(buf);
  }
  return -1;
}
