/* http_token.c -- RFC 9110 5.6.2 tchar / token and the 5.5 field-value
 * character rule.  See include/allium/lib/net/http_token.h. */
#include "allium/lib/net/http_token.h"

#include <string.h>

bool
http_is_tchar(unsigned char c)
{
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z'))
    return true;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

size_t
http_token_len(const char *s, size_t len)
{
  size_t n = 0;
  while (n < len && http_is_tchar((unsigned char)s[n]))
    n++;
  return n;
}

bool
http_field_value_ok(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return false;
  }
  return true;
}
