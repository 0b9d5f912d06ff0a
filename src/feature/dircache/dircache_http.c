/* dircache_http.c -- sans-IO parser for the HTTP/1.0 requests a directory
 * cache receives on BEGIN_DIR streams (dir-spec.txt section 6: "All clients
 * and servers MUST support HTTP 1.0"; 6.1 Accept-Encoding; 4.5.2
 * X-Or-Diff-From-Consensus; If-Modified-Since as in RFC 1945).
 *
 * The parser is stateless: it is given every byte received so far and says
 * NEED_MORE until the head (request line, headers, blank line) is complete.
 * Anything malformed is DIRCACHE_REQ_BAD (the caller answers 400); a head
 * longer than DIRCACHE_REQ_MAX_HEAD bytes or with more than
 * DIRCACHE_REQ_MAX_HEADERS lines is DIRCACHE_REQ_TOO_BIG.  A POST (the
 * HSDir's descriptor upload, rend-spec-v3 2.2.6) needs a Content-Length
 * (RFC 1945 7.2.2) of at most DIRCACHE_REQ_MAX_BODY and stays NEED_MORE
 * until that many body bytes follow the head.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "allium/feature/dircache/dircache_parse.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/lib/compress/compress.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/http_token.h"

void
dircache_request_clear(dircache_request_t *r)
{
  if (!r)
    return;
  al_free(r->path);
  memset(r, 0, sizeof(*r));
}

/* Offset just past the blank line ending the head, or 0 if not there yet. */
static size_t
find_head_end(const uint8_t *buf, size_t len)
{
  size_t line = 0;
  for (size_t i = 0; i < len; i++) {
    if (buf[i] != '\n')
      continue;
    size_t l = i - line;
    if (l == 0 || (l == 1 && buf[line] == '\r'))
      return line == 0 ? 0 : i + 1;
    line = i + 1;
  }
  return 0;
}

/* Printable non-space ASCII. */
static bool
path_chars_ok(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return false;
  return true;
}

/* "METHOD SP target SP HTTP/1.x".  An absolute "http://host/path" target is
 * reduced to its path. */
static int
parse_request_line(const char *s, size_t len, dircache_request_t *out)
{
  size_t m = 0;
  while (m < len && s[m] >= 'A' && s[m] <= 'Z')
    m++;
  if (m == 0 || m >= sizeof(out->method) || m >= len || s[m] != ' ')
    return DIRCACHE_REQ_BAD;
  memcpy(out->method, s, m);
  out->method[m] = '\0';
  const char *t = s + m + 1;
  const char *sp = memchr(t, ' ', len - m - 1);
  if (!sp)
    return DIRCACHE_REQ_BAD;
  size_t tlen = (size_t)(sp - t);
  const char *ver = sp + 1;
  size_t vlen = len - (size_t)(ver - s);
  if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) || (ver[7] != '0' && ver[7] != '1'))
    return DIRCACHE_REQ_BAD;
  out->http_minor = ver[7] - '0';
  if (tlen > 7 && !strncasecmp(t, "http://", 7)) {
    const char *slash = memchr(t + 7, '/', tlen - 7);
    if (!slash)
      return DIRCACHE_REQ_BAD;
    tlen -= (size_t)(slash - t);
    t = slash;
  }
  if (tlen == 0 || t[0] != '/' || !path_chars_ok(t, tlen))
    return DIRCACHE_REQ_BAD;
  if (tlen > DIRCACHE_REQ_MAX_PATH)
    return DIRCACHE_REQ_TOO_BIG;
  out->path = al_strndup(t, tlen);
  return DIRCACHE_REQ_OK;
}

/* Accept-Encoding: "m1, m2;q=0.5, ...".  Unknown codings are ignored; a
 * coding with q=0 is refused. */
static void
parse_accept(const char *v, size_t len, dircache_request_t *out)
{
  out->has_accept_encoding = true;
  size_t i = 0;
  while (i < len) {
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    size_t start = i;
    while (i < len && v[i] != ',' && v[i] != ';' && v[i] != ' ' &&
           v[i] != '\t')
      i++;
    size_t tlen = i - start;
    bool q_zero = false;
    while (i < len && v[i] != ',') {
      if (v[i] == 'q' && i + 1 < len && v[i + 1] == '=') {
        size_t k = i + 2;
        q_zero = k < len && v[k] == '0';
        for (k++; k < len && (v[k] == '.' || v[k] == '0'); k++)
          ;
        q_zero = q_zero && (k >= len || v[k] == ',' || v[k] == ' ' ||
                            v[k] == ';');
      }
      i++;
    }
    if (!tlen || q_zero)
      continue;
    int m = compress_method_parse(v + start, tlen);
    if (m >= 0 && m < 32)
      out->accept |= DIRCACHE_ACCEPT_BIT(m);
  }
}

/* X-Or-Diff-From-Consensus: hex SHA3-256 digests separated by commas
 * and/or spaces.  Malformed entries are skipped; at most
 * DIRCACHE_MAX_DIFF_FROM are kept. */
static void
parse_diff_from(const char *v, size_t len, dircache_request_t *out)
{
  size_t i = 0;
  while (i < len) {
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    size_t start = i;
    while (i < len && v[i] != ' ' && v[i] != '\t' && v[i] != ',')
      i++;
    if (i - start == 64 && out->n_diff_from < DIRCACHE_MAX_DIFF_FROM &&
        base16_decode_exact(out->diff_from[out->n_diff_from], 32, v + start,
                            64) == 0)
      out->n_diff_from++;
  }
}

/* Content-Length: decimal digits only; two different values are BAD.  A
 * value past DIRCACHE_REQ_MAX_BODY is kept as MAX_BODY + 1 (TOO_BIG for a
 * POST; other methods ignore it). */
static int
parse_content_length(const char *v, size_t len, dircache_request_t *out)
{
  size_t n = 0;
  if (len == 0)
    return DIRCACHE_REQ_BAD;
  for (size_t i = 0; i < len; i++) {
    if (v[i] < '0' || v[i] > '9')
      return DIRCACHE_REQ_BAD;
    n = n * 10 + (size_t)(v[i] - '0');
    if (n > DIRCACHE_REQ_MAX_BODY)
      n = DIRCACHE_REQ_MAX_BODY + 1;   /* saturate: no overflow */
  }
  if (out->has_content_length && out->content_length != n)
    return DIRCACHE_REQ_BAD;
  out->has_content_length = true;
  out->content_length = n;
  return DIRCACHE_REQ_OK;
}

/* One "Name: value" line (without its line end). */
static int
parse_header(const char *s, size_t len, dircache_request_t *out)
{
  size_t n = http_token_len(s, len);
  if (n == 0 || n >= len || s[n] != ':')
    return DIRCACHE_REQ_BAD;
  const char *v = s + n + 1;
  size_t vlen = len - n - 1;
  while (vlen && (*v == ' ' || *v == '\t'))
    v++, vlen--;
  while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
    vlen--;
  if (!http_field_value_ok(v, vlen))
    return DIRCACHE_REQ_BAD;
  if (n == 15 && !strncasecmp(s, "Accept-Encoding", n)) {
    parse_accept(v, vlen, out);
  } else if (n == 17 && !strncasecmp(s, "If-Modified-Since", n)) {
    time_t t;
    if (dir_http_parse_date(v, vlen, &t) == 0 && t > 0)
      out->if_modified_since = t;
  } else if (n == 24 && !strncasecmp(s, "X-Or-Diff-From-Consensus", n)) {
    parse_diff_from(v, vlen, out);
  } else if (n == 14 && !strncasecmp(s, "Content-Length", n)) {
    return parse_content_length(v, vlen, out);
  }
  return DIRCACHE_REQ_OK;
}

/* Length of the line at s (bytes before LF, minus a CR before it). */
static size_t
line_len(const char *s, const char *end, const char **next)
{
  const char *nl = memchr(s, '\n', (size_t)(end - s));
  *next = nl ? nl + 1 : end;
  const char *e = nl ? nl : end;
  if (e > s && e[-1] == '\r')
    e--;
  return (size_t)(e - s);
}

int
dircache_request_parse(const uint8_t *buf, size_t len,
                       dircache_request_t *out)
{
  if (!buf || !out)
    return DIRCACHE_REQ_BAD;
  memset(out, 0, sizeof(*out));
  size_t scan = len < DIRCACHE_REQ_MAX_HEAD ? len : DIRCACHE_REQ_MAX_HEAD;
  size_t head = find_head_end(buf, scan);
  if (len && (buf[0] == '\n' || buf[0] == '\r'))
    return DIRCACHE_REQ_BAD;
  if (!head)
    return len >= DIRCACHE_REQ_MAX_HEAD ? DIRCACHE_REQ_TOO_BIG
                                        : DIRCACHE_REQ_NEED_MORE;
  for (size_t i = 0; i < head; i++)
    if (buf[i] == 0)
      return DIRCACHE_REQ_BAD;
  const char *p = (const char *)buf, *end = p + head, *next;
  size_t l = line_len(p, end, &next);
  int r = parse_request_line(p, l, out);
  size_t n_headers = 0;
  for (p = next; r == DIRCACHE_REQ_OK && p < end; p = next) {
    l = line_len(p, end, &next);
    if (l == 0)
      break;
    if (++n_headers > DIRCACHE_REQ_MAX_HEADERS)
      r = DIRCACHE_REQ_TOO_BIG;
    else
      r = parse_header(p, l, out);
  }
  if (r == DIRCACHE_REQ_OK && !strcmp(out->method, "POST")) {
    if (!out->has_content_length)
      r = DIRCACHE_REQ_BAD;
    else if (out->content_length > DIRCACHE_REQ_MAX_BODY)
      r = DIRCACHE_REQ_TOO_BIG;
    else if (len - head < out->content_length)
      r = DIRCACHE_REQ_NEED_MORE;
    else
      out->body_len = out->content_length;
  }
  if (r != DIRCACHE_REQ_OK) {
    dircache_request_clear(out);
    return r;
  }
  out->head_len = head;
  return DIRCACHE_REQ_OK;
}
