/* fuzz_http.c -- fuzz target for the HTTP CONNECT request parser
 * (src/feature/proxy/http_connect.c).
 *
 * The input is the client's byte stream.  It is parsed once in one piece,
 * once a byte at a time and once in 7-byte pieces; all runs must agree on
 * the result, the bytes consumed, the error status and the request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/proxy/http_connect.h"

#include "../fuzzing.h"

typedef struct outcome_t {
  http_connect_result_t last;
  size_t used;
  int status;
  char host[HTTP_CONNECT_MAX_HOST + 1];
  unsigned port;
  char auth[64];
} outcome_t;

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_http: %s\n", what);
  abort();
}

static void
run(const uint8_t *in, size_t len, size_t chunk, outcome_t *o)
{
  memset(o, 0, sizeof(*o));
  http_connect_t *hc = http_connect_new();
  size_t pos = 0;
  o->last = HTTP_CONNECT_NEED_MORE;
  while (pos < len) {
    size_t n = chunk && chunk < len - pos ? chunk : len - pos;
    size_t used = 0;
    http_connect_result_t r = http_connect_feed(hc, in + pos, n, &used);
    if (used > n)
      fail("consumed more than given");
    pos += used;
    o->last = r;
    if (r == HTTP_CONNECT_NEED_MORE) {
      if (used != n)
        fail("NEED_MORE without consuming everything");
      if (pos > HTTP_CONNECT_MAX_TOTAL)
        fail("buffered past the bound");
      continue;
    }
    break;
  }
  o->used = pos;
  const char *resp = http_connect_response(hc, &o->status);
  if (o->last == HTTP_CONNECT_ERROR) {
    if (!resp || strncmp(resp, "HTTP/1.0 ", 9) != 0)
      fail("error without a response");
  } else if (resp) {
    fail("response without an error");
  }
  const http_connect_request_t *rq = http_connect_request(hc);
  if ((o->last == HTTP_CONNECT_REQUEST_READY) != (rq != NULL))
    fail("request presence");
  if (rq) {
    size_t hl = strlen(rq->host);
    if (hl == 0 || hl > HTTP_CONNECT_MAX_HOST || rq->port == 0)
      fail("bad request");
    memcpy(o->host, rq->host, hl + 1);
    o->port = rq->port;
    if (rq->proxy_auth)
      snprintf(o->auth, sizeof(o->auth), "%s", rq->proxy_auth);
    if ((rq->basic_user != NULL) != (rq->basic_pass != NULL))
      fail("half basic credentials");
  }
  http_connect_free(hc);
}

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  static outcome_t a, b, c;
  run(data, len, 0, &a);
  run(data, len, 1, &b);
  run(data, len, 7, &c);
  if (a.last == HTTP_CONNECT_ERROR) {
    a.used = b.used = c.used = 0;  /* does not matter after an error */
  }
  if (memcmp(&a, &b, sizeof(a)) != 0 || memcmp(&a, &c, sizeof(a)) != 0)
    fail("chunked runs differ");
  return 0;
}
