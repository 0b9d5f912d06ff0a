/* dir_http.h -- HTTP/1.0 requests to directory caches and a sans-IO parser
 * for their responses (dir-spec.txt section 6: "All clients and servers MUST
 * support HTTP 1.0"; 6.1 headers and compression; 6.2 status codes; 4.5.2
 * X-Or-Diff-From-Consensus).
 *
 * Requests: dir_http_request_encode() turns a path from dir_url.h into the
 * bytes to write on a BEGIN_DIR stream.
 *
 * Responses: a dir_http_parser_t is fed the bytes read from the stream, in
 * chunks of any size, then told about EOF.  It parses the status line
 * ("HTTP/1.0" or "HTTP/1.1", a 3-digit code, a reason), a bounded header
 * block (CRLF or bare LF line ends), and the body: Content-Length bytes if
 * that header is present, otherwise everything up to EOF (a close-delimited
 * HTTP/1.0 body).  The body is decompressed on the fly by Content-Encoding
 * (identity, deflate, gzip; x-zstd / x-tor-lzma are refused), or by magic
 * bytes when the request path ended in ".z" and the header is missing or
 * says "identity".  The decompressed body is bounded per document kind, and
 * lib/compress refuses compression bombs.
 */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_HTTP_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirclient/dir_url.h"
#include "allium/lib/compress/compress.h"

/** Accept-Encoding value advertising everything allium decodes, worded
 * and ordered as tor 0.4.9 sends it (so a directory cache cannot tell the
 * two apart by this header). */
#define DIR_HTTP_ACCEPT_ALL "deflate, identity, x-tor-lzma, x-zstd, gzip"
/** dir-spec 6.1: anonymous requests SHOULD advertise nothing but deflate. */
#define DIR_HTTP_ACCEPT_ANON "deflate"

#define DIR_HTTP_SHA3_LEN 32 /* X-Or-Diff-From-Consensus digests */
#define DIR_HTTP_MAX_DIFF_FROM 8

/** Optional parts of a request.  Zeroed fields are omitted. */
typedef struct dir_http_request_opts_t {
  const char *host;            /* "Host: ..." (no CR/LF allowed) */
  const char *accept_encoding; /* "Accept-Encoding: ..." */
  time_t if_modified_since;    /* > 0: "If-Modified-Since: <RFC 1123 date>" */
  /** SHA3-256 digests of the signed parts of consensuses we hold (4.5.2):
   * sent hex-encoded as "X-Or-Diff-From-Consensus: H1, H2". */
  const uint8_t (*diff_from)[DIR_HTTP_SHA3_LEN];
  size_t n_diff_from;          /* at most DIR_HTTP_MAX_DIFF_FROM */
} dir_http_request_opts_t;

/** Encode "GET <path> HTTP/1.0\r\n", the optional headers in the order
 * Host, If-Modified-Since, Accept-Encoding, X-Or-Diff-From-Consensus, and
 * the blank line.  opts may be NULL.  path must start with '/' and contain
 * only printable non-space ASCII (at most DIR_URL_MAX_PATH bytes).  Returns
 * the NUL-terminated request (caller frees; *len_out, if not NULL, gets its
 * length) or NULL on bad arguments. */
char *dir_http_request_encode(const char *path,
                              const dir_http_request_opts_t *opts,
                              size_t *len_out);

/** Format t as an RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT") into buf
 * (at least 30 bytes).  Returns 0, or -1 if t is out of range. */
int dir_http_format_date(time_t t, char *buf, size_t buflen);
/** Parse an RFC 1123 date (len bytes).  Returns 0 and sets *out, or -1. */
int dir_http_parse_date(const char *s, size_t len, time_t *out);

/** Limits on one response. */
typedef struct dir_http_limits_t {
  size_t max_header_bytes; /* status line + headers, line ends included */
  size_t max_headers;      /* header lines */
  size_t max_body;         /* decompressed body bytes */
  size_t max_raw_body;     /* body bytes on the wire */
  unsigned max_ratio;      /* decompression ratio (0: lib/compress default) */
} dir_http_limits_t;

#define DIR_HTTP_MAX_HEADER_BYTES 16384
#define DIR_HTTP_MAX_HEADERS 64

/** The limits allium uses for a kind of document. */
void dir_http_limits_for_kind(dir_doc_kind_t kind, dir_http_limits_t *out);

typedef struct dir_http_header_t {
  char *name;   /* as received */
  char *value;  /* surrounding whitespace removed */
} dir_http_header_t;

/** A parsed response.  Owned by its parser. */
typedef struct dir_http_response_t {
  int http_minor;             /* 0 or 1 */
  int status;                 /* 100..599 */
  char *reason;               /* may be "" */
  dir_http_header_t *headers;
  size_t n_headers;
  compress_method_t encoding; /* from Content-Encoding, or detected */
  bool have_content_length;
  uint64_t content_length;    /* bytes on the wire */
  time_t date;                /* Date: (0 if absent or unparseable) */
  time_t last_modified;       /* Last-Modified: (0 if absent/unparseable) */
  const char *your_address;   /* X-Your-Address-Is value or NULL */
  uint8_t *body;              /* decompressed; NUL follows body_len bytes */
  size_t body_len;
  size_t raw_body_len;        /* body bytes received on the wire */
} dir_http_response_t;

/* Results of dir_http_parser_feed() / dir_http_parser_eof(). */
#define DIR_HTTP_DONE 0       /* a full response is available */
#define DIR_HTTP_NEED_MORE 1  /* feed more bytes (or call _eof) */
#define DIR_HTTP_ERROR (-1)   /* see dir_http_parser_error() */

typedef struct dir_http_parser_t dir_http_parser_t;

/** New parser.  limits NULL: dir_http_limits_for_kind(DIR_DOC_OTHER).
 * url_was_z: the request path ended in ".z" (enables magic-byte detection).
 * Caller frees with dir_http_parser_free(). */
dir_http_parser_t *dir_http_parser_new(const dir_http_limits_t *limits,
                                       bool url_was_z);
void dir_http_parser_free_(dir_http_parser_t *p);
#define dir_http_parser_free(p) \
  do { dir_http_parser_free_(p); (p) = NULL; } while (0)

/** Feed len bytes read from the stream.  Returns DIR_HTTP_NEED_MORE,
 * DIR_HTTP_DONE (Content-Length reached) or DIR_HTTP_ERROR (sticky).  Bytes
 * after a DONE response are an error ("data after body"). */
int dir_http_parser_feed(dir_http_parser_t *p, const uint8_t *data,
                         size_t len);

/** The stream was closed.  Returns DIR_HTTP_DONE if a complete response was
 * received (close-delimited bodies end here), else DIR_HTTP_ERROR. */
int dir_http_parser_eof(dir_http_parser_t *p);

/** The response once DONE was returned; NULL before.  Owned by p. */
const dir_http_response_t *dir_http_parser_response(const dir_http_parser_t *p);
/** Take the decompressed body (NUL-terminated; caller frees with al_free()),
 * leaving the response's body empty.  NULL unless DONE. */
uint8_t *dir_http_parser_take_body(dir_http_parser_t *p, size_t *len_out);
/** Static or parser-owned message for the last error, or NULL. */
const char *dir_http_parser_error(const dir_http_parser_t *p);

/** Value of the first header called name (case-insensitive), or NULL. */
const char *dir_http_response_header(const dir_http_response_t *r,
                                     const char *name);

/** What a client should do with a status code (dir-spec 6.2). */
typedef enum dir_http_status_action_t {
  DIR_STATUS_OK = 0,           /* 200: use the body */
  DIR_STATUS_NOT_MODIFIED,     /* 304: keep what we have */
  DIR_STATUS_NOT_FOUND,        /* 404: try another cache */
  DIR_STATUS_BUSY,             /* 503: cache declined; try another later */
  DIR_STATUS_BAD_REQUEST,      /* 400: our request was malformed */
  DIR_STATUS_FAILED,           /* anything else */
} dir_http_status_action_t;

dir_http_status_action_t dir_http_status_action(int status);
/** "ok", "not modified", "not found", "busy", "bad request", "failed". */
const char *dir_http_status_action_name(dir_http_status_action_t a);

#endif
