/* fuzz_myfamily.c -- fuzz target for the MyFamily parser
 * (src/feature/relay/relay_publish.c relay_publish_family_parse(); tor(1)
 * MyFamily, dir-spec 2.1.1 "family").  The input is split at newlines into
 * option values.  Checks: on success every entry is "$" + 40 upper-case hex
 * digits or a 1-19 character alphanumeric nickname, no entry repeats, our
 * own fingerprint is never listed and there are at most
 * ROUTER_DESC_MAX_FAMILY; on failure there is a message and no list. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/relay/relay_publish.h"
#include "allium/lib/malloc/malloc.h"

#define SELF "0123456789ABCDEF0123456789ABCDEF01234567"

int
fuzz_init(void)
{
  return 0;
}

static void
check_entry(const char *e)
{
  size_t n = strlen(e);
  if (e[0] == '$') {
    if (n != 41 || !strcmp(e + 1, SELF))
      abort();
    for (size_t i = 1; i < n; i++)
      if (!isxdigit((unsigned char)e[i]) || islower((unsigned char)e[i]))
        abort();
    return;
  }
  if (n < 1 || n > 19)
    abort();
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)e[i]))
      abort();
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  char *s = al_malloc(len + 1);
  memcpy(s, data, len);
  s[len] = '\0';
  config_line_t lines[16];
  size_t nl = 0;
  char *p = s;
  while (nl < 16) {
    char *e = strchr(p, '\n');
    if (e)
      *e = '\0';
    memset(&lines[nl], 0, sizeof(lines[nl]));
    lines[nl].key = (char *)"MyFamily";
    lines[nl].value = p;
    if (nl)
      lines[nl - 1].next = &lines[nl];
    nl++;
    if (!e)
      break;
    p = e + 1;
  }
  char **v = NULL, *err = NULL;
  size_t n = 0;
  if (relay_publish_family_parse(lines, SELF, &v, &n, &err) == 0) {
    if (err || n > ROUTER_DESC_MAX_FAMILY || (n && !v))
      abort();
    for (size_t i = 0; i < n; i++) {
      check_entry(v[i]);
      for (size_t j = 0; j < i; j++)
        if (!strcmp(v[i], v[j]))
          abort();
    }
    relay_publish_family_free(v, n);
  } else {
    if (!err || v || n)
      abort();
    al_free(err);
  }
  al_free(s);
  return 0;
}
