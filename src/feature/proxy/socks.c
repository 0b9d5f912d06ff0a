/* socks.c -- sans-IO SOCKS4/4a/5 server state machine.
 *
 * Implements RFC 1928, RFC 1929, SOCKS4 and SOCKS4a, plus tor's extensions
 * (torspec socks-extensions.txt 1.1, 2 and 4): RESOLVE / RESOLVE_PTR,
 * credentials kept for isolation, lenient RFC 1929 handling and the HTML
 * answer to HTTP requests.  See socks.h for the calling convention.
 */
#include <string.h>

#include "allium/feature/proxy/socks.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/lib/malloc/malloc.h"

typedef enum socks_phase_t {
  PH_START = 0,      /* waiting for the first message */
  PH_V5_AUTH,        /* SOCKS5, username/password selected */
  PH_V5_REQUEST,     /* SOCKS5, waiting for the request */
  PH_DONE,           /* request delivered */
  PH_FAILED,         /* error delivered */
} socks_phase_t;

struct socks_state_t {
  socks_config_t cfg;
  socks_phase_t phase;
  bool authed;                     /* RFC 1929 message seen */
  uint8_t method;                  /* selected SOCKS5 method */
  uint8_t buf[SOCKS_MAX_MESSAGE];  /* bytes of the current message */
  size_t buflen;
  uint8_t reply[16];
  const uint8_t *reply_ptr;
  size_t reply_len;
  socks_error_t err;
  socks_request_t req;
};

/* Answer to an HTTP request on the SOCKS port (socks-extensions 4). */
static const char http_notice[] =
  "HTTP/1.0 501 Tor is not an HTTP Proxy\r\n"
  "Content-Type: text/html; charset=iso-8859-1\r\n\r\n"
  "<!DOCTYPE html>\n<html>\n<head>\n"
  "<title>This is a SOCKS proxy, not an HTTP proxy</title>\n"
  "</head>\n<body>\n"
  "<h1>This is a SOCKS proxy, not an HTTP proxy</h1>\n"
  "<p>Your application sent an HTTP request to a SOCKS port. Configure it "
  "to use this port as a SOCKS (version 4a or 5) proxy, or use an "
  "HTTPTunnelPort for HTTP CONNECT.</p>\n"
  "</body>\n</html>\n";

void
socks_config_default(socks_config_t *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->allow_socks4 = true;
  cfg->allow_socks5 = true;
  cfg->allow_noauth = true;
  cfg->allow_userpass = true;
  cfg->prefer_noauth = false;
}

socks_state_t *
socks_state_new(const socks_config_t *cfg)
{
  socks_state_t *st = al_calloc(1, sizeof(*st));
  st->cfg = *cfg;
  st->phase = PH_START;
  return st;
}

void
socks_state_free_(socks_state_t *st)
{
  if (!st)
    return;
  al_free_secret(st, sizeof(*st));
}

/* Set a fixed reply of n bytes. */
static void
set_reply(socks_state_t *st, const uint8_t *r, size_t n)
{
  memcpy(st->reply, r, n);
  st->reply_ptr = st->reply;
  st->reply_len = n;
}

/* Fail with err and reply bytes r[0..n).  Returns -1. */
static int
fail(socks_state_t *st, socks_error_t err, const uint8_t *r, size_t n)
{
  st->err = err;
  if (n)
    set_reply(st, r, n);
  else
    st->reply_len = 0;
  return -1;
}

/* Fail with a SOCKS5 error reply carrying rep. */
static int
fail5(socks_state_t *st, socks_error_t err, uint8_t rep)
{
  uint8_t r[10] = { 5, rep, 0, SOCKS_ATYP_IPV4, 0, 0, 0, 0, 0, 0 };
  return fail(st, err, r, sizeof(r));
}

/* Fail with a SOCKS4 "rejected or failed" reply. */
static int
fail4(socks_state_t *st, socks_error_t err)
{
  uint8_t r[8] = { 0, SOCKS4_REJECTED, 0, 0, 0, 0, 0, 0 };
  return fail(st, err, r, sizeof(r));
}

/* Find a NUL in b[off..n) within max+1 bytes.  Returns its index, 0 if
 * more input is needed, -1 if the field is longer than max. */
static long
find_nul(const uint8_t *b, size_t n, size_t off, size_t max)
{
  for (size_t i = off; i < n; i++) {
    if (b[i] == 0)
      return (long)i;
    if (i - off >= max)
      return -1;
  }
  return 0;
}

/* SOCKS4 / SOCKS4a request.  Returns message length, 0 (need more), -1. */
static int
parse_socks4(socks_state_t *st, const uint8_t *b, size_t n)
{
  socks_request_t *rq = &st->req;
  if (!st->cfg.allow_socks4)
    return fail4(st, SOCKS_ERR_SOCKS4_OFF);
  if (n < 2)
    return 0;
  if (b[1] != SOCKS_CMD_CONNECT && b[1] != SOCKS_CMD_RESOLVE)
    return fail4(st, SOCKS_ERR_COMMAND);
  if (n < 8)
    return 0;
  long unul = find_nul(b, n, 8, SOCKS_MAX_FIELD);
  if (unul < 0)
    return fail4(st, SOCKS_ERR_TOOLONG);
  if (unul == 0)
    return 0;
  bool is4a = b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0;
  size_t end = (size_t)unul + 1;
  memset(rq, 0, sizeof(*rq));
  if (is4a) {
    long hnul = find_nul(b, n, end, SOCKS_MAX_FIELD);
    if (hnul < 0)
      return fail4(st, SOCKS_ERR_TOOLONG);
    if (hnul == 0)
      return 0;
    size_t hlen = (size_t)hnul - end;
    if (hlen == 0)
      return fail4(st, SOCKS_ERR_HOSTNAME);
    rq->target.atyp = SOCKS_ATYP_HOSTNAME;
    memcpy(rq->target.hostname, b + end, hlen);
    end = (size_t)hnul + 1;
  } else {
    if (!b[4] && !b[5] && !b[6] && !b[7])
      return fail4(st, SOCKS_ERR_MALFORMED);
    rq->target.atyp = SOCKS_ATYP_IPV4;
    memcpy(rq->target.addr, b + 4, 4);
  }
  rq->version = 4;
  rq->socks4a = is4a;
  rq->command = b[1];
  rq->target.port = (uint16_t)((b[2] << 8) | b[3]);
  rq->username_len = (size_t)unul - 8;
  memcpy(rq->username, b + 8, rq->username_len);
  rq->has_auth = rq->username_len > 0;
  return (int)end;
}

/* SOCKS5 method selection. */
static int
parse_methods(socks_state_t *st, const uint8_t *b, size_t n)
{
  static const uint8_t none[2] = { 5, SOCKS_AUTH_NO_ACCEPTABLE };
  if (!st->cfg.allow_socks5)
    return fail(st, SOCKS_ERR_SOCKS5_OFF, none, 2);
  if (n < 2)
    return 0;
  size_t nm = b[1];
  if (nm == 0)
    return fail(st, SOCKS_ERR_NO_METHOD, none, 2);
  if (n < 2 + nm)
    return 0;
  bool noauth = false, userpass = false;
  for (size_t i = 0; i < nm; i++) {
    if (b[2 + i] == SOCKS_AUTH_NONE && st->cfg.allow_noauth)
      noauth = true;
    if (b[2 + i] == SOCKS_AUTH_USERPASS && st->cfg.allow_userpass)
      userpass = true;
  }
  uint8_t m;
  if (userpass && !(noauth && st->cfg.prefer_noauth))
    m = SOCKS_AUTH_USERPASS;
  else if (noauth)
    m = SOCKS_AUTH_NONE;
  else
    return fail(st, SOCKS_ERR_NO_METHOD, none, 2);
  uint8_t r[2] = { 5, m };
  set_reply(st, r, 2);
  st->method = m;
  st->phase = m == SOCKS_AUTH_USERPASS ? PH_V5_AUTH : PH_V5_REQUEST;
  return (int)(2 + nm);
}

/* RFC 1929 username/password message. */
static int
parse_auth(socks_state_t *st, const uint8_t *b, size_t n)
{
  static const uint8_t bad[2] = { 1, 1 };
  static const uint8_t ok[2] = { 1, 0 };
  if (b[0] != 1)
    return fail(st, SOCKS_ERR_AUTH, bad, 2);
  if (n < 2)
    return 0;
  size_t ulen = b[1];
  if (n < 3 + ulen)
    return 0;
  size_t plen = b[2 + ulen];
  if (n < 3 + ulen + plen)
    return 0;
  memcpy(st->req.username, b + 2, ulen);
  st->req.username_len = ulen;
  memcpy(st->req.password, b + 3 + ulen, plen);
  st->req.password_len = plen;
  st->authed = true;
  set_reply(st, ok, 2);
  st->phase = PH_V5_REQUEST;
  return (int)(3 + ulen + plen);
}

/* The address part of a SOCKS5 request, starting at b[3].  Returns the
 * message length, 0 or -1. */
static int
parse_request5_addr(socks_state_t *st, const uint8_t *b, size_t n,
                    socks_addr_t *t)
{
  size_t alen;
  switch (b[3]) {
  case SOCKS_ATYP_IPV4:
    alen = 4;
    break;
  case SOCKS_ATYP_IPV6:
    alen = 16;
    break;
  case SOCKS_ATYP_HOSTNAME:
    if (n < 5)
      return 0;
    if (b[4] == 0)
      return fail5(st, SOCKS_ERR_HOSTNAME, SOCKS5_GENERAL_FAILURE);
    alen = 1 + (size_t)b[4];
    break;
  default:
    return fail5(st, SOCKS_ERR_ADDRTYPE, SOCKS5_ADDRESS_TYPE_NOT_SUPPORTED);
  }
  if (n < 4 + alen + 2)
    return 0;
  t->atyp = b[3];
  if (b[3] == SOCKS_ATYP_HOSTNAME) {
    if (memchr(b + 5, 0, alen - 1))
      return fail5(st, SOCKS_ERR_HOSTNAME, SOCKS5_GENERAL_FAILURE);
    memcpy(t->hostname, b + 5, alen - 1);
    t->hostname[alen - 1] = '\0';
  } else {
    memcpy(t->addr, b + 4, alen);
  }
  t->port = (uint16_t)((b[4 + alen] << 8) | b[5 + alen]);
  return (int)(4 + alen + 2);
}

/* SOCKS5 request (or a late RFC 1929 message after "no auth"). */
static int
parse_request5(socks_state_t *st, const uint8_t *b, size_t n)
{
  if (b[0] == 1 && st->method == SOCKS_AUTH_NONE && !st->authed)
    return parse_auth(st, b, n);
  if (b[0] != 5)
    return fail5(st, SOCKS_ERR_MALFORMED, SOCKS5_GENERAL_FAILURE);
  if (n < 2)
    return 0;
  uint8_t cmd = b[1];
  if (cmd != SOCKS_CMD_CONNECT && cmd != SOCKS_CMD_RESOLVE &&
      cmd != SOCKS_CMD_RESOLVE_PTR)
    return fail5(st, SOCKS_ERR_COMMAND, SOCKS5_COMMAND_NOT_SUPPORTED);
  if (n < 4)
    return 0;
  socks_addr_t t;
  memset(&t, 0, sizeof(t));
  int r = parse_request5_addr(st, b, n, &t);
  if (r <= 0)
    return r;
  if (cmd == SOCKS_CMD_RESOLVE_PTR && t.atyp == SOCKS_ATYP_HOSTNAME)
    return fail5(st, SOCKS_ERR_ADDRTYPE, SOCKS5_ADDRESS_TYPE_NOT_SUPPORTED);
  socks_request_t *rq = &st->req;
  rq->version = 5;
  rq->command = cmd;
  rq->target = t;
  rq->auth_method = st->method;
  rq->has_auth = st->authed;
  return r;
}

/* Parse the buffered message for the current phase. */
static int
parse_current(socks_state_t *st)
{
  const uint8_t *b = st->buf;
  size_t n = st->buflen;
  if (n == 0)
    return 0;
  switch (st->phase) {
  case PH_START:
    switch (b[0]) {
    case 4:
      return parse_socks4(st, b, n);
    case 5:
      return parse_methods(st, b, n);
    case 'G': case 'H': case 'P': case 'C':
      st->err = SOCKS_ERR_HTTP;
      st->reply_ptr = (const uint8_t *)http_notice;
      st->reply_len = sizeof(http_notice) - 1;
      return -1;
    default:
      return fail(st, SOCKS_ERR_VERSION, NULL, 0);
    }
  case PH_V5_AUTH:
    return parse_auth(st, b, n);
  case PH_V5_REQUEST:
    return parse_request5(st, b, n);
  default:
    return fail(st, SOCKS_ERR_STATE, NULL, 0);
  }
}

/* The error reply for an oversized message in the current phase. */
static void
fail_toolong(socks_state_t *st)
{
  if (st->phase == PH_START && st->buf[0] == 4)
    fail4(st, SOCKS_ERR_TOOLONG);
  else if (st->phase == PH_V5_REQUEST && st->buf[0] == 5)
    fail5(st, SOCKS_ERR_TOOLONG, SOCKS5_GENERAL_FAILURE);
  else
    fail(st, SOCKS_ERR_TOOLONG, NULL, 0);
}

socks_result_t
socks_feed(socks_state_t *st, const uint8_t *data, size_t len,
           size_t *consumed)
{
  *consumed = 0;
  if (st->phase == PH_DONE || st->phase == PH_FAILED) {
    st->reply_len = 0;
    if (st->phase == PH_DONE)
      st->err = SOCKS_ERR_STATE;
    return SOCKS_ERROR;
  }
  st->reply_len = 0;
  size_t old = st->buflen;
  size_t take = sizeof(st->buf) - old;
  if (take > len)
    take = len;
  if (take)
    memcpy(st->buf + old, data, take);
  st->buflen += take;
  int r = parse_current(st);
  if (r < 0) {
    *consumed = take;
    st->phase = PH_FAILED;
    return SOCKS_ERROR;
  }
  if (r == 0) {
    if (st->buflen == sizeof(st->buf)) {
      fail_toolong(st);
      *consumed = take;
      st->phase = PH_FAILED;
      return SOCKS_ERROR;
    }
    *consumed = take;
    return SOCKS_NEED_MORE;
  }
  *consumed = (size_t)r - old;
  memwipe(st->buf, st->buflen);
  st->buflen = 0;
  if (st->req.version != 0) {
    st->phase = PH_DONE;
    return SOCKS_REQUEST_READY;
  }
  return SOCKS_REPLY;
}

const uint8_t *
socks_state_reply(const socks_state_t *st, size_t *len)
{
  *len = st->reply_len;
  return st->reply_len ? st->reply_ptr : (const uint8_t *)"";
}

const socks_request_t *
socks_state_request(const socks_state_t *st)
{
  return st->phase == PH_DONE ? &st->req : NULL;
}

socks_error_t
socks_state_error(const socks_state_t *st)
{
  return st->err;
}

/* SOCKS4 reply: VN=0, CD, DSTPORT, DSTIP. */
static int
encode_reply4(uint8_t status, const socks_addr_t *bound, uint8_t *out,
              size_t outlen)
{
  if (status < SOCKS4_GRANTED || status > SOCKS4_IDENTD_MISMATCH ||
      outlen < 8)
    return -1;
  memset(out, 0, 8);
  out[1] = status;
  if (bound && bound->atyp) {
    if (bound->atyp != SOCKS_ATYP_IPV4)
      return -1;
    out[2] = (uint8_t)(bound->port >> 8);
    out[3] = (uint8_t)bound->port;
    memcpy(out + 4, bound->addr, 4);
  }
  return 8;
}

int
socks_reply_encode(uint8_t version, uint8_t status,
                   const socks_addr_t *bound, uint8_t *out, size_t outlen)
{
  if (version == 4)
    return encode_reply4(status, bound, out, outlen);
  if (version != 5)
    return -1;
  uint8_t atyp = bound && bound->atyp ? bound->atyp : SOCKS_ATYP_IPV4;
  size_t alen;
  switch (atyp) {
  case SOCKS_ATYP_IPV4: alen = 4; break;
  case SOCKS_ATYP_IPV6: alen = 16; break;
  case SOCKS_ATYP_HOSTNAME:
    alen = strnlen(bound->hostname, sizeof(bound->hostname));
    if (alen == 0 || alen > SOCKS_MAX_FIELD)
      return -1;
    alen += 1;
    break;
  default: return -1;
  }
  if (outlen < 4 + alen + 2)
    return -1;
  out[0] = 5;
  out[1] = status;
  out[2] = 0;
  out[3] = atyp;
  if (!bound || !bound->atyp) {
    memset(out + 4, 0, 6);
    return 10;
  }
  if (atyp == SOCKS_ATYP_HOSTNAME) {
    out[4] = (uint8_t)(alen - 1);
    memcpy(out + 5, bound->hostname, alen - 1);
  } else {
    memcpy(out + 4, bound->addr, alen);
  }
  out[4 + alen] = (uint8_t)(bound->port >> 8);
  out[5 + alen] = (uint8_t)bound->port;
  return (int)(4 + alen + 2);
}

uint8_t
socks5_reply_from_end_reason(uint8_t reason)
{
  switch (reason) {
  case RELAY_END_RESOLVEFAILED: return SOCKS5_HOST_UNREACHABLE;
  case RELAY_END_CONNECTREFUSED: return SOCKS5_CONNECTION_REFUSED;
  case RELAY_END_CONNRESET: return SOCKS5_CONNECTION_REFUSED;
  case RELAY_END_EXITPOLICY: return SOCKS5_NOT_ALLOWED;
  case RELAY_END_TIMEOUT: return SOCKS5_TTL_EXPIRED;
  case RELAY_END_NOROUTE: return SOCKS5_NET_UNREACHABLE;
  case RELAY_END_MISC:
  case RELAY_END_DESTROY:
  case RELAY_END_DONE:
  case RELAY_END_HIBERNATING:
  case RELAY_END_INTERNAL:
  case RELAY_END_RESOURCELIMIT:
  case RELAY_END_TORPROTOCOL:
  case RELAY_END_NOTDIRECTORY:
  default:
    return SOCKS5_GENERAL_FAILURE;
  }
}

uint8_t
socks4_status_from_socks5(uint8_t socks5_status)
{
  return socks5_status == SOCKS5_SUCCEEDED ? SOCKS4_GRANTED : SOCKS4_REJECTED;
}
