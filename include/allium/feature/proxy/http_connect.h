/* http_connect.h -- sans-IO HTTP CONNECT request parser (HTTPTunnelPort).
 *
 * Parses "CONNECT host:port HTTP/1.x" (RFC 9110 9.3.6, request-target in
 * authority form) and its header block up to the empty line, with bounded
 * sizes, as tor's HTTPTunnelPort accepts it (tor(1) HTTPTunnelPort,
 * IsolateSOCKSAuth: Proxy-Authorization and X-Tor-Stream-Isolation are
 * kept for stream isolation).  Lines end in CRLF (a bare LF is tolerated).
 *
 * Feed bytes with http_connect_feed():
 *   HTTP_CONNECT_NEED_MORE      all bytes buffered, read more;
 *   HTTP_CONNECT_REQUEST_READY  http_connect_request() holds the request;
 *                               bytes after the header block are not
 *                               consumed (they are tunnel data);
 *   HTTP_CONNECT_ERROR          send http_connect_response() and close.
 */
#ifndef ALLIUM_FEATURE_PROXY_HTTP_CONNECT_H
#define ALLIUM_FEATURE_PROXY_HTTP_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CONNECT_MAX_REQUEST_LINE 1024  /* longer: 414 */
#define HTTP_CONNECT_MAX_HEADER_LINE 4096   /* longer: 431 */
#define HTTP_CONNECT_MAX_HEADERS 64         /* more: 431 */
#define HTTP_CONNECT_MAX_TOTAL 16384        /* whole head; longer: 431 */
#define HTTP_CONNECT_MAX_HOST 255

typedef enum http_connect_result_t {
  HTTP_CONNECT_NEED_MORE = 0,
  HTTP_CONNECT_REQUEST_READY = 1,
  HTTP_CONNECT_ERROR = 2,
} http_connect_result_t;

typedef struct http_connect_request_t {
  char host[HTTP_CONNECT_MAX_HOST + 1];  /* hostname or address literal;
                                          * IPv6 without brackets */
  bool host_is_ipv6;                     /* was [bracketed] */
  uint16_t port;
  uint8_t http_minor;                    /* HTTP/1.<minor>: 0 or 1 */
  /* Proxy-Authorization value as sent (NULL if absent); caller must not
   * free (owned by the parser). */
  char *proxy_auth;
  /* Decoded "Basic" credentials (NULL if absent or not Basic). */
  char *basic_user;
  char *basic_pass;
  /* X-Tor-Stream-Isolation value (NULL if absent). */
  char *stream_isolation;
} http_connect_request_t;

typedef struct http_connect_t http_connect_t;

/** New parser; caller frees with http_connect_free(). */
http_connect_t *http_connect_new(void);
/** Free (NULL ok); wipes credentials. */
void http_connect_free_(http_connect_t *hc);
#define http_connect_free(p) do { http_connect_free_(p); (p) = NULL; } while (0)

/** Feed len bytes; *consumed gets the number used. */
http_connect_result_t http_connect_feed(http_connect_t *hc,
                                        const uint8_t *data, size_t len,
                                        size_t *consumed);

/** After REQUEST_READY: the request (owned by hc), else NULL. */
const http_connect_request_t *http_connect_request(const http_connect_t *hc);
/** After ERROR: the response to send (static string) and its HTTP status
 * (400, 405, 414, 431, 505); NULL/0 otherwise. */
const char *http_connect_response(const http_connect_t *hc, int *status);

/** "HTTP/1.0 200 OK\r\n\r\n" (static string). */
const char *http_connect_success_response(void);
/** Failure response for a RELAY_END reason (tor-spec 6.3): 504 Gateway
 * Timeout for TIMEOUT; 503 Service Unavailable for HIBERNATING,
 * RESOURCELIMIT, INTERNAL; 502 Bad Gateway otherwise.  Static string;
 * *status (may be NULL) gets the code. */
const char *http_connect_failure_response(uint8_t end_reason, int *status);
/** Failure response for an onion-service request refused with a proposal
 * 304 SOCKS5 code (0xF0..0xF7).  A bad address gets what tor 0.4.9 sends
 * ("502 Bad Gateway (tor protocol violation)"), an introduction timeout
 * 504, the others 502 Bad Gateway.  Static string; *status may be NULL. */
const char *http_connect_onion_failure_response(uint8_t socks5_code,
                                                int *status);

#endif
