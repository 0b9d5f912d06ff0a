/* http_token.h -- the character classes of HTTP/1.1 message syntax (RFC
 * 9110 5.6.2 "token", 5.5 field values) that the HTTP CONNECT proxy and the
 * directory client's response parser share. */
#ifndef ALLIUM_LIB_NET_HTTP_TOKEN_H
#define ALLIUM_LIB_NET_HTTP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

/** True if c is an RFC 9110 tchar: ALPHA / DIGIT / one of !#$%&'*+-.^_`|~ */
bool http_is_tchar(unsigned char c);

/** Length of the run of tchars at the start of s[0..len) (0 if none). */
size_t http_token_len(const char *s, size_t len);

/** True if s[0..len) holds no control character but HTAB (RFC 9110 5.5:
 * field values are VCHAR, obs-text, SP and HTAB; NUL, CR, LF and DEL are
 * refused). */
bool http_field_value_ok(const char *s, size_t len);

#endif
