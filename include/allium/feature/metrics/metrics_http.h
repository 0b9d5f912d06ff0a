/* metrics_http.h -- the HTTP side of the MetricsPort (tor(1) MetricsPort:
 * "an HTTP GET request to /metrics"), sans I/O: a parser for an HTTP/1.0 or
 * HTTP/1.1 request head (RFC 9112 2-3 and 5: request line, header fields up
 * to the empty line), the routing decision (200, 404, 405) and the response
 * writer.  The head is capped at METRICS_HTTP_MAX_HEAD bytes; a body is
 * never read (every answer closes the connection).
 */
#ifndef ALLIUM_FEATURE_METRICS_METRICS_HTTP_H
#define ALLIUM_FEATURE_METRICS_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

/** Longest request head (request line, fields, empty line) accepted. */
#define METRICS_HTTP_MAX_HEAD 8192

/** Why a request head was refused (each one is answered 400 and closed). */
typedef enum metrics_http_err_t {
  METRICS_HTTP_OK = 0,
  METRICS_HTTP_ERR_SYNTAX = -1,  /**< bad request line or header field */
  METRICS_HTTP_ERR_TOOLONG = -2, /**< no empty line in the first 8 KiB */
  METRICS_HTTP_ERR_VERSION = -3, /**< not HTTP/1.0 or HTTP/1.1 */
  METRICS_HTTP_ERR_HOST = -4,    /**< HTTP/1.1 without exactly one Host */
} metrics_http_err_t;

/** A short English phrase for err; never NULL. */
const char *metrics_http_strerror(int err);

/** A parsed request head.  method and target point into the parsed
 * buffer (not NUL-terminated), valid while it is. */
typedef struct metrics_http_req_t {
  const char *method;
  size_t method_len;
  const char *target;
  size_t target_len;
  int minor_version;   /**< 0 or 1 (HTTP/1.x) */
  size_t n_fields;     /**< header fields seen */
} metrics_http_req_t;

/** Parse the request head at buf[0..len) (all bytes received so far).
 * Returns the length of the head (> 0, up to and including the empty
 * line) when it is complete and valid, filling *out; 0 when more bytes are
 * needed (the head is not complete and len < METRICS_HTTP_MAX_HEAD); or a
 * metrics_http_err_t.  Lines end in CRLF or a bare LF (RFC 9112 2.2);
 * empty lines before the request line are skipped. */
int metrics_http_parse(const uint8_t *buf, size_t len,
                       metrics_http_req_t *out);

/** The status to answer req with: 200 for GET of "/metrics" (a query
 * string is allowed), 405 for another method on /metrics, 404 otherwise. */
int metrics_http_route(const metrics_http_req_t *req);

/** A complete response: status line (HTTP/1.0), Content-Type (the
 * Prometheus text format 0.0.4 for 200, text/plain otherwise),
 * Content-Length, "Allow: GET" for 405, "Connection: close", then body.
 * Returns a new buffer (caller al_free()s) and its length in *len_out.
 * body may be NULL when body_len is 0. */
char *metrics_http_response(int status, const char *body, size_t body_len,
                            size_t *len_out);

#endif
