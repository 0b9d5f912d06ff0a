/* dir_http_parse.c -- sans-IO parser for HTTP/1.0 responses from directory
 * caches (dir-spec.txt section 6; 6.1 Content-Encoding, Content-Length,
 * X-Your-Address-Is; 6.2 status codes).  Bytes are fed as they arrive; the
 * body is decompressed with lib/compress while it streams in, under the
 * size and ratio limits of dir_http_limits_t.  See dir_http.h.
 */
#include "allium/feature/dirclient/dir_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/http_token.h"

enum { ST_HEAD, ST_BODY, ST_DONE, ST_ERROR };

struct dir_http_parser_t {
  dir_http_limits_t lim;
  bool url_was_z;
  int state;
  char *line;               /* the header line being collected */
  size_t line_len, line_cap;
  size_t head_bytes;        /* bytes of status line + headers so far */
  bool got_status;
  dir_http_response_t resp;
  compress_decoder_t *dec;
  const char *err;
  char errbuf[96];
};

void
dir_http_limits_for_kind(dir_doc_kind_t kind, dir_http_limits_t *out)
{
  memset(out, 0, sizeof(*out));
  out->max_header_bytes = DIR_HTTP_MAX_HEADER_BYTES;
  out->max_headers = DIR_HTTP_MAX_HEADERS;
  switch (kind) {
  case DIR_DOC_CONSENSUS:    out->max_body = 16u << 20; break;
  case DIR_DOC_KEY_CERTS:    out->max_body = 1u << 20; break;
  case DIR_DOC_MICRODESCS:   out->max_body = 2u << 20; break;
  case DIR_DOC_SERVER_DESCS: out->max_body = 4u << 20; break;
  case DIR_DOC_SERVER_ALL:   out->max_body = 64u << 20; break;
  case DIR_DOC_OTHER:
  default:                   out->max_body = 1u << 20; break;
  }
  /* Compressed data can be slightly larger than its plain text. */
  out->max_raw_body = out->max_body + out->max_body / 16 + 1024;
  out->max_ratio = COMPRESS_DEFAULT_MAX_RATIO;
}

dir_http_parser_t *
dir_http_parser_new(const dir_http_limits_t *limits, bool url_was_z)
{
  dir_http_parser_t *p = al_calloc(1, sizeof(*p));
  if (limits)
    p->lim = *limits;
  else
    dir_http_limits_for_kind(DIR_DOC_OTHER, &p->lim);
  p->url_was_z = url_was_z;
  p->state = ST_HEAD;
  return p;
}

void
dir_http_parser_free_(dir_http_parser_t *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->resp.n_headers; i++) {
    al_free(p->resp.headers[i].name);
    al_free(p->resp.headers[i].value);
  }
  al_free(p->resp.headers);
  al_free(p->resp.reason);
  al_free(p->resp.body);
  al_free(p->line);
  compress_decoder_free(p->dec);
  al_free(p);
}

static int
fail(dir_http_parser_t *p, const char *msg)
{
  p->state = ST_ERROR;
  p->err = msg;
  return DIR_HTTP_ERROR;
}

static int
fail_compress(dir_http_parser_t *p, int code)
{
  snprintf(p->errbuf, sizeof(p->errbuf), "body: %s", compress_strerror(code));
  return fail(p, p->errbuf);
}

const char *
dir_http_response_header(const dir_http_response_t *r, const char *name)
{
  for (size_t i = 0; i < r->n_headers; i++)
    if (!strcasecmp(r->headers[i].name, name))
      return r->headers[i].value;
  return NULL;
}

/** "HTTP/1.x NNN reason".  Returns 0 or -1. */
static int
parse_status_line(dir_http_parser_t *p, const char *s, size_t len)
{
  if (len < 12 || memcmp(s, "HTTP/1.", 7) || (s[7] != '0' && s[7] != '1') ||
      s[8] != ' ')
    return -1;
  int code = 0;
  for (int i = 9; i < 12; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    code = code * 10 + (s[i] - '0');
  }
  if (code < 100 || code > 599)
    return -1;
  if (len > 12 && s[12] != ' ')
    return -1;
  const char *reason = len > 12 ? s + 13 : s + 12;
  size_t rlen = len > 12 ? len - 13 : 0;
  for (size_t i = 0; i < rlen; i++) {
    unsigned char c = (unsigned char)reason[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return -1;
  }
  p->resp.http_minor = s[7] - '0';
  p->resp.status = code;
  p->resp.reason = al_strndup(reason, rlen);
  return 0;
}

/** "Name: value".  Returns 0 or -1 with p->err set. */
static int
parse_header_line(dir_http_parser_t *p, const char *s, size_t len)
{
  size_t colon = http_token_len(s, len);
  if (colon == 0 || colon == len || s[colon] != ':') {
    fail(p, "malformed header line");
    return -1;
  }
  size_t vs = colon + 1, ve = len;
  if (!http_field_value_ok(s + vs, len - vs)) {
    fail(p, "control character in header value");
    return -1;
  }
  while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
    vs++;
  while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
    ve--;
  if (p->resp.n_headers >= p->lim.max_headers) {
    fail(p, "too many headers");
    return -1;
  }
  dir_http_response_t *r = &p->resp;
  r->headers = al_reallocarray(r->headers, r->n_headers + 1,
                               sizeof(dir_http_header_t));
  r->headers[r->n_headers].name = al_strndup(s, colon);
  r->headers[r->n_headers].value = al_strndup(s + vs, ve - vs);
  r->n_headers++;
  return 0;
}

/** Content-Length: every occurrence must agree.  Returns 0 or -1. */
static int
parse_content_length(dir_http_parser_t *p)
{
  dir_http_response_t *r = &p->resp;
  for (size_t i = 0; i < r->n_headers; i++) {
    if (strcasecmp(r->headers[i].name, "Content-Length"))
      continue;
    const char *v = r->headers[i].value;
    size_t n = strlen(v);
    if (n == 0 || n > 18)
      return fail(p, "bad Content-Length"), -1;
    uint64_t cl = 0;
    for (size_t k = 0; k < n; k++) {
      if (v[k] < '0' || v[k] > '9')
        return fail(p, "bad Content-Length"), -1;
      cl = cl * 10 + (uint64_t)(v[k] - '0');
    }
    if (r->have_content_length && cl != r->content_length)
      return fail(p, "conflicting Content-Length headers"), -1;
    r->have_content_length = true;
    r->content_length = cl;
  }
  if (r->have_content_length && r->content_length > p->lim.max_raw_body)
    return fail(p, "Content-Length over the limit"), -1;
  return 0;
}

/** Choose the decoder method from Content-Encoding and the ".z" suffix. */
static int
choose_encoding(dir_http_parser_t *p, compress_method_t *out)
{
  const char *ce = dir_http_response_header(&p->resp, "Content-Encoding");
  int m = COMPRESS_IDENTITY;
  if (ce) {
    m = compress_method_parse(ce, strlen(ce));
    if (m < 0)
      return fail(p, "unknown Content-Encoding"), -1;
    if (!compress_method_supported((compress_method_t)m))
      return fail(p, "unsupported Content-Encoding"), -1;
  }
  if (m == COMPRESS_IDENTITY && p->url_was_z)
    m = COMPRESS_AUTO;
  *out = (compress_method_t)m;
  return 0;
}

static void
parse_dates(dir_http_parser_t *p)
{
  dir_http_response_t *r = &p->resp;
  const char *v;
  time_t t;
  if ((v = dir_http_response_header(r, "Date")) &&
      dir_http_parse_date(v, strlen(v), &t) == 0)
    r->date = t;
  if ((v = dir_http_response_header(r, "Last-Modified")) &&
      dir_http_parse_date(v, strlen(v), &t) == 0)
    r->last_modified = t;
  r->your_address = dir_http_response_header(r, "X-Your-Address-Is");
}

static int
finish_body(dir_http_parser_t *p)
{
  int r = compress_decoder_finish(p->dec);
  if (r < 0)
    return fail_compress(p, r);
  p->resp.encoding = compress_decoder_method(p->dec);
  if (p->resp.encoding == COMPRESS_AUTO)
    p->resp.encoding = COMPRESS_IDENTITY;
  p->resp.body = compress_decoder_take_output(p->dec, &p->resp.body_len);
  compress_decoder_free(p->dec);
  p->state = ST_DONE;
  return DIR_HTTP_DONE;
}

/** The blank line after the headers arrived. */
static int
end_of_headers(dir_http_parser_t *p)
{
  compress_method_t m;
  if (parse_content_length(p) < 0 || choose_encoding(p, &m) < 0)
    return DIR_HTTP_ERROR;
  parse_dates(p);
  p->resp.encoding = m;
  compress_limits_t cl = { .max_output = p->lim.max_body,
                           .max_ratio = p->lim.max_ratio };
  if (cl.max_output == 0)
    cl.max_output = 1; /* 0 would mean "default" to lib/compress */
  p->dec = compress_decoder_new(m, &cl);
  if (!p->dec)
    return fail(p, "unsupported Content-Encoding");
  p->state = ST_BODY;
  if (p->resp.have_content_length && p->resp.content_length == 0)
    return finish_body(p);
  return DIR_HTTP_NEED_MORE;
}

/** A complete line (without its line end) of the head. */
static int
head_line(dir_http_parser_t *p, const char *s, size_t len)
{
  if (memchr(s, 0, len))
    return fail(p, "NUL in response head");
  if (!p->got_status) {
    if (parse_status_line(p, s, len) < 0)
      return fail(p, "bad status line");
    p->got_status = true;
    return DIR_HTTP_NEED_MORE;
  }
  if (len == 0)
    return end_of_headers(p);
  if (s[0] == ' ' || s[0] == '\t')
    return fail(p, "folded header line");
  if (parse_header_line(p, s, len) < 0)
    return DIR_HTTP_ERROR;
  return DIR_HTTP_NEED_MORE;
}

/** Consume head bytes up to the end of the headers.  Returns the number of
 * bytes used via *used. */
static int
feed_head(dir_http_parser_t *p, const uint8_t *data, size_t len, size_t *used)
{
  size_t i = 0;
  int r = DIR_HTTP_NEED_MORE;
  while (i < len && p->state == ST_HEAD) {
    const uint8_t *nl = memchr(data + i, '\n', len - i);
    size_t take = nl ? (size_t)(nl - (data + i)) + 1 : len - i;
    if (take > p->lim.max_header_bytes - p->head_bytes)
      return fail(p, "response head too large");
    p->head_bytes += take;
    if (p->line_len + take + 1 > p->line_cap) {
      p->line_cap = p->line_len + take + 1 + 64;
      p->line = al_realloc(p->line, p->line_cap);
    }
    memcpy(p->line + p->line_len, data + i, take);
    p->line_len += take;
    i += take;
    if (!nl)
      break;
    size_t l = p->line_len - 1; /* drop '\n', then an optional '\r' */
    if (l > 0 && p->line[l - 1] == '\r')
      l--;
    p->line_len = 0;
    r = head_line(p, p->line, l);
    if (r != DIR_HTTP_NEED_MORE)
      break;
  }
  *used = i;
  return r;
}

static int
feed_body(dir_http_parser_t *p, const uint8_t *data, size_t len)
{
  dir_http_response_t *r = &p->resp;
  if (r->have_content_length && len > r->content_length - r->raw_body_len)
    return fail(p, "body longer than Content-Length");
  if (len > p->lim.max_raw_body - r->raw_body_len)
    return fail(p, "body over the size limit");
  r->raw_body_len += len;
  int rc = compress_decoder_feed(p->dec, data, len);
  if (rc < 0)
    return fail_compress(p, rc);
  if (r->have_content_length && r->raw_body_len == r->content_length)
    return finish_body(p);
  return DIR_HTTP_NEED_MORE;
}

/** Bytes arrived after a complete (Content-Length delimited) response. */
static int
fail_extra(dir_http_parser_t *p)
{
  return fail(p, p->resp.have_content_length ?
                 "data after the response body (Content-Length mismatch)" :
                 "data after the response body");
}

int
dir_http_parser_feed(dir_http_parser_t *p, const uint8_t *data, size_t len)
{
  if (p->state == ST_ERROR)
    return DIR_HTTP_ERROR;
  if (p->state == ST_DONE)
    return len ? fail_extra(p) : DIR_HTTP_DONE;
  if (len == 0)
    return DIR_HTTP_NEED_MORE;
  if (p->state == ST_HEAD) {
    size_t used = 0;
    int r = feed_head(p, data, len, &used);
    data += used;
    len -= used;
    if (r == DIR_HTTP_ERROR)
      return r;
    if (r == DIR_HTTP_DONE)
      return len ? fail_extra(p) : r;
  }
  if (p->state == ST_BODY && len > 0)
    return feed_body(p, data, len);
  return p->state == ST_DONE ? DIR_HTTP_DONE : DIR_HTTP_NEED_MORE;
}

int
dir_http_parser_eof(dir_http_parser_t *p)
{
  switch (p->state) {
  case ST_DONE:
    return DIR_HTTP_DONE;
  case ST_HEAD:
    if (!p->got_status && p->head_bytes == 0)
      return fail(p, "empty response");
    return fail(p, "connection closed inside the response head");
  case ST_BODY:
    if (p->resp.have_content_length &&
        p->resp.raw_body_len < p->resp.content_length)
      return fail(p, "body shorter than Content-Length");
    return finish_body(p);
  default:
    return DIR_HTTP_ERROR;
  }
}

const dir_http_response_t *
dir_http_parser_response(const dir_http_parser_t *p)
{
  return p->state == ST_DONE ? &p->resp : NULL;
}

uint8_t *
dir_http_parser_take_body(dir_http_parser_t *p, size_t *len_out)
{
  if (p->state != ST_DONE)
    return NULL;
  uint8_t *b = p->resp.body;
  if (len_out)
    *len_out = p->resp.body_len;
  p->resp.body = al_calloc(1, 1);
  p->resp.body_len = 0;
  return b;
}

const char *
dir_http_parser_error(const dir_http_parser_t *p)
{
  return p->state == ST_ERROR ? p->err : NULL;
}
