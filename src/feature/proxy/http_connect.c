/* http_connect.c -- sans-IO HTTP CONNECT request parser for HTTPTunnelPort.
 *
 * Request line "CONNECT authority HTTP/1.x" (RFC 9110 9.3.6, RFC 9112 3),
 * header fields (RFC 9112 5) up to the empty line, all bounded; see
 * http_connect.h.  Credentials from Proxy-Authorization and the
 * X-Tor-Stream-Isolation value are kept for stream isolation as tor(1)
 * describes for IsolateSOCKSAuth.
 */
#include <string.h>
#include <strings.h>

#include "allium/feature/proxy/http_connect.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"
#include "allium/lib/net/http_token.h"

struct http_connect_t {
  uint8_t *buf;            /* the head so far, HTTP_CONNECT_MAX_TOTAL bytes */
  size_t buflen;
  size_t line_start;       /* start of the current (unfinished) line */
  size_t nlines;           /* complete non-empty lines seen */
  bool done;
  bool failed;
  const char *response;
  int status;
  http_connect_request_t req;
};

#define RESP_HEAD(code) "HTTP/1.0 " code "\r\nContent-Type: text/plain\r\n" \
  "Connection: close\r\n"

static const char resp_400[] = RESP_HEAD("400 Bad Request")
  "\r\nMalformed HTTP CONNECT request.\n";
static const char resp_405[] = RESP_HEAD("405 Method Not Allowed")
  "Allow: CONNECT\r\n\r\n"
  "This is an HTTP CONNECT tunnel, not a full HTTP proxy: it only accepts "
  "CONNECT requests. Configure your application to use it as an HTTPS "
  "proxy, or use the SOCKS port.\n";
static const char resp_414[] = RESP_HEAD("414 URI Too Long")
  "\r\nRequest line too long.\n";
static const char resp_431[] = RESP_HEAD("431 Request Header Fields Too Large")
  "\r\nRequest header fields too large.\n";
static const char resp_505[] = RESP_HEAD("505 HTTP Version Not Supported")
  "\r\nOnly HTTP/1.0 and HTTP/1.1 are supported.\n";

http_connect_t *
http_connect_new(void)
{
  http_connect_t *hc = al_calloc(1, sizeof(*hc));
  hc->buf = al_malloc(HTTP_CONNECT_MAX_TOTAL);
  return hc;
}

/* Free a heap string after wiping it. */
static void
free_str(char **s)
{
  if (*s) {
    al_free_secret(*s, strlen(*s));
    *s = NULL;
  }
}

void
http_connect_free_(http_connect_t *hc)
{
  if (!hc)
    return;
  free_str(&hc->req.proxy_auth);
  free_str(&hc->req.basic_user);
  free_str(&hc->req.basic_pass);
  free_str(&hc->req.stream_isolation);
  al_free_secret(hc->buf, HTTP_CONNECT_MAX_TOTAL);
  al_free(hc);
}

/* Record an error response; returns -1. */
static int
set_error(http_connect_t *hc, int status)
{
  hc->failed = true;
  hc->status = status;
  switch (status) {
  case 405: hc->response = resp_405; break;
  case 414: hc->response = resp_414; break;
  case 431: hc->response = resp_431; break;
  case 505: hc->response = resp_505; break;
  default: hc->status = 400; hc->response = resp_400; break;
  }
  return -1;
}

/* Parse "host:port" (authority form) into the request. */
static int
parse_authority(http_connect_t *hc, const char *s, size_t len)
{
  const char *colon;
  size_t hlen;
  const char *h = s;
  if (len && s[0] == '[') {
    const char *rb = memchr(s, ']', len);
    if (!rb || rb + 1 >= s + len || rb[1] != ':')
      return set_error(hc, 400);
    h = s + 1;
    hlen = (size_t)(rb - h);
    colon = rb + 1;
    for (size_t i = 0; i < hlen; i++) {
      char c = h[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
            (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
        return set_error(hc, 400);
    }
    hc->req.host_is_ipv6 = true;
  } else {
    colon = memchr(s, ':', len);
    if (!colon)
      return set_error(hc, 400);
    hlen = (size_t)(colon - s);
    for (size_t i = 0; i < hlen; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c <= ' ' || c >= 0x7f || strchr("/?#@[]:\\\"<>", c))
        return set_error(hc, 400);
    }
  }
  if (hlen == 0 || hlen > HTTP_CONNECT_MAX_HOST)
    return set_error(hc, 400);
  const char *p = colon + 1;
  size_t plen = len - (size_t)(p - s);
  uint16_t port;
  if (plen > 5 || net_port_parse(p, plen, 1, &port) < 0)
    return set_error(hc, 400);
  memcpy(hc->req.host, h, hlen);
  hc->req.host[hlen] = '\0';
  hc->req.port = port;
  return 0;
}

/* "METHOD SP request-target SP HTTP-version". */
static int
parse_request_line(http_connect_t *hc, const char *s, size_t len)
{
  size_t m = http_token_len(s, len);
  if (m == 0 || m == len || s[m] != ' ')
    return set_error(hc, 400);
  const char *t = s + m + 1;
  const char *sp = memchr(t, ' ', len - m - 1);
  if (!sp)
    return set_error(hc, 400);
  const char *v = sp + 1;
  size_t vlen = len - (size_t)(v - s);
  if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
      v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
    return set_error(hc, 400);
  if (m != 7 || memcmp(s, "CONNECT", 7) != 0)
    return set_error(hc, 405);
  if (v[5] != '1' || v[7] > '1')
    return set_error(hc, 505);
  hc->req.http_minor = (uint8_t)(v[7] - '0');
  return parse_authority(hc, t, (size_t)(sp - t));
}

/* Decode "Basic base64(user:pass)" into basic_user / basic_pass. */
static void
decode_basic(http_connect_t *hc, const char *v, size_t len)
{
  if (len < 6 || strncasecmp(v, "Basic ", 6) != 0)
    return;
  v += 6;
  len -= 6;
  while (len && *v == ' ') {
    v++;
    len--;
  }
  size_t cap = len / 4 * 3 + 3;
  uint8_t *dec = al_malloc(cap + 1);
  int n = base64_decode(dec, cap, v, len);
  if (n > 0 && !memchr(dec, 0, (size_t)n)) {
    dec[n] = 0;
    char *colon = strchr((char *)dec, ':');
    if (colon) {
      hc->req.basic_user = al_strndup((char *)dec, (size_t)(colon - (char *)dec));
      hc->req.basic_pass = al_strdup(colon + 1);
    }
  }
  al_free_secret(dec, cap + 1);
}

/* "name: OWS value OWS". */
static int
parse_header(http_connect_t *hc, const char *s, size_t len)
{
  size_t n = http_token_len(s, len);
  if (n == 0 || n == len || s[n] != ':')
    return set_error(hc, 400);
  const char *v = s + n + 1;
  size_t vlen = len - n - 1;
  while (vlen && (*v == ' ' || *v == '\t')) {
    v++;
    vlen--;
  }
  while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
    vlen--;
  if (!http_field_value_ok(v, vlen))
    return set_error(hc, 400);
  char **slot = NULL;
  if (n == 19 && !strncasecmp(s, "Proxy-Authorization", 19))
    slot = &hc->req.proxy_auth;
  else if (n == 22 && !strncasecmp(s, "X-Tor-Stream-Isolation", 22))
    slot = &hc->req.stream_isolation;
  if (!slot)
    return 0;
  if (*slot)
    return set_error(hc, 400);  /* ambiguous duplicate */
  *slot = al_strndup(v, vlen);
  if (slot == &hc->req.proxy_auth)
    decode_basic(hc, v, vlen);
  return 0;
}

/* Handle the complete line buf[start..end) (end excludes the LF).
 * Returns 1 at the end of the head, 0 to continue, -1 on error. */
static int
handle_line(http_connect_t *hc, size_t start, size_t end)
{
  const char *s = (const char *)hc->buf + start;
  size_t len = end - start;
  if (len && s[len - 1] == '\r')
    len--;
  /* size limits first, as check_partial() would see them */
  if (hc->nlines == 0 && len > HTTP_CONNECT_MAX_REQUEST_LINE)
    return set_error(hc, 414);
  if (hc->nlines > 0 && len > HTTP_CONNECT_MAX_HEADER_LINE)
    return set_error(hc, 431);
  if (memchr(s, '\0', len) || memchr(s, '\r', len))
    return set_error(hc, 400);
  if (hc->nlines == 0) {
    if (len == 0)
      return 0;  /* RFC 9112 2.2: ignore empty lines before the request */
    hc->nlines++;
    return parse_request_line(hc, s, len);
  }
  if (len == 0)
    return 1;
  if (hc->nlines > HTTP_CONNECT_MAX_HEADERS)
    return set_error(hc, 431);
  if (s[0] == ' ' || s[0] == '\t')
    return set_error(hc, 400);  /* obsolete line folding */
  hc->nlines++;
  return parse_header(hc, s, len);
}

/* Limits on the unfinished current line. */
static int
check_partial(http_connect_t *hc)
{
  size_t cur = hc->buflen - hc->line_start;
  if (hc->nlines == 0 && cur > HTTP_CONNECT_MAX_REQUEST_LINE + 1)
    return set_error(hc, 414);
  if (hc->nlines > 0 && cur > HTTP_CONNECT_MAX_HEADER_LINE + 1)
    return set_error(hc, 431);
  if (hc->buflen == HTTP_CONNECT_MAX_TOTAL)
    return set_error(hc, hc->nlines == 0 ? 414 : 431);
  return 0;
}

http_connect_result_t
http_connect_feed(http_connect_t *hc, const uint8_t *data, size_t len,
                  size_t *consumed)
{
  *consumed = 0;
  if (hc->failed)
    return HTTP_CONNECT_ERROR;
  if (hc->done)
    return HTTP_CONNECT_REQUEST_READY;
  size_t old = hc->buflen;
  size_t take = HTTP_CONNECT_MAX_TOTAL - old;
  if (take > len)
    take = len;
  memcpy(hc->buf + old, data, take);
  hc->buflen += take;
  for (size_t i = old; i < hc->buflen; i++) {
    if (hc->buf[i] != '\n')
      continue;
    int r = handle_line(hc, hc->line_start, i);
    hc->line_start = i + 1;
    if (r < 0) {
      *consumed = i + 1 - old;
      return HTTP_CONNECT_ERROR;
    }
    if (r == 1) {
      *consumed = i + 1 - old;
      hc->buflen = i + 1;
      hc->done = true;
      return HTTP_CONNECT_REQUEST_READY;
    }
  }
  *consumed = take;
  if (check_partial(hc) < 0)
    return HTTP_CONNECT_ERROR;
  return HTTP_CONNECT_NEED_MORE;
}

const http_connect_request_t *
http_connect_request(const http_connect_t *hc)
{
  return hc->done ? &hc->req : NULL;
}

const char *
http_connect_response(const http_connect_t *hc, int *status)
{
  if (status)
    *status = hc->failed ? hc->status : 0;
  return hc->failed ? hc->response : NULL;
}

const char *
http_connect_success_response(void)
{
  return "HTTP/1.0 200 OK\r\n\r\n";
}

const char *
http_connect_failure_response(uint8_t end_reason, int *status)
{
  int code;
  const char *r;
  switch (end_reason) {
  case RELAY_END_TIMEOUT:
    code = 504;
    r = "HTTP/1.0 504 Gateway Timeout\r\n\r\n";
    break;
  case RELAY_END_HIBERNATING:
  case RELAY_END_RESOURCELIMIT:
  case RELAY_END_INTERNAL:
    code = 503;
    r = "HTTP/1.0 503 Service Unavailable\r\n\r\n";
    break;
  default:
    code = 502;
    r = "HTTP/1.0 502 Bad Gateway\r\n\r\n";
    break;
  }
  if (status)
    *status = code;
  return r;
}

const char *
http_connect_onion_failure_response(uint8_t socks5_code, int *status)
{
  int code = 502;
  const char *r = "HTTP/1.0 502 Bad Gateway\r\n\r\n";
  if (socks5_code == 0xF6) {          /* SOCKS5_HS_BAD_ADDRESS */
    r = "HTTP/1.0 502 Bad Gateway (tor protocol violation)\r\n\r\n";
  } else if (socks5_code == 0xF7) {   /* SOCKS5_HS_INTRO_TIMEDOUT */
    code = 504;
    r = "HTTP/1.0 504 Gateway Timeout\r\n\r\n";
  }
  if (status)
    *status = code;
  return r;
}
