/* test_socks.c -- SOCKS4/4a/5 server state machine (RFC 1928, RFC 1929,
 * torspec socks-extensions.txt): byte-exact handshakes, byte-at-a-time
 * feeding, truncation, error replies, reply encoding. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/feature/proxy/socks.h"

/* Outcome of running a whole client byte stream through the machine. */
typedef struct run_t {
  socks_result_t last;       /* READY, ERROR or NEED_MORE */
  uint8_t replies[1024];     /* every reply byte, concatenated */
  size_t nreplies;
  size_t used;               /* input bytes consumed */
  socks_error_t err;
  socks_request_t req;
  bool have_req;
} run_t;

static void
add_reply(run_t *r, socks_state_t *st)
{
  size_t n;
  const uint8_t *b = socks_state_reply(st, &n);
  cr_assert_leq(r->nreplies + n, sizeof(r->replies));
  memcpy(r->replies + r->nreplies, b, n);
  r->nreplies += n;
}

/* Feed in in pieces of `chunk` bytes (0: everything at once). */
static void
run(const socks_config_t *cfg, const uint8_t *in, size_t len, size_t chunk,
    run_t *r)
{
  memset(r, 0, sizeof(*r));
  socks_state_t *st = socks_state_new(cfg);
  size_t pos = 0;
  r->last = SOCKS_NEED_MORE;
  while (pos < len) {
    size_t n = chunk ? chunk : len - pos;
    if (n > len - pos)
      n = len - pos;
    size_t used = 0;
    socks_result_t res = socks_feed(st, in + pos, n, &used);
    cr_assert_leq(used, n);
    pos += used;
    r->last = res;
    if (res == SOCKS_NEED_MORE) {
      cr_assert_eq(used, n);
      continue;
    }
    add_reply(r, st);
    if (res == SOCKS_REPLY)
      continue;
    if (res == SOCKS_REQUEST_READY) {
      r->req = *socks_state_request(st);
      r->have_req = true;
    } else {
      r->err = socks_state_error(st);
    }
    break;
  }
  r->used = pos;
  socks_state_free(st);
  cr_assert_null(st);
}

static void
same_run(const run_t *a, const run_t *b)
{
  cr_assert_eq(a->last, b->last);
  cr_assert_eq(a->nreplies, b->nreplies);
  cr_assert_eq(memcmp(a->replies, b->replies, a->nreplies), 0);
  if (a->last != SOCKS_ERROR)
    cr_assert_eq(a->used, b->used);  /* after an error it does not matter */
  cr_assert_eq(a->err, b->err);
  cr_assert_eq(a->have_req, b->have_req);
  if (a->have_req) {
    const socks_request_t *x = &a->req, *y = &b->req;
    cr_assert_eq(x->version, y->version);
    cr_assert_eq(x->command, y->command);
    cr_assert_eq(x->socks4a, y->socks4a);
    cr_assert_eq(x->target.atyp, y->target.atyp);
    cr_assert_eq(memcmp(x->target.addr, y->target.addr, 16), 0);
    cr_assert_str_eq(x->target.hostname, y->target.hostname);
    cr_assert_eq(x->target.port, y->target.port);
    cr_assert_eq(x->has_auth, y->has_auth);
    cr_assert_eq(x->username_len, y->username_len);
    cr_assert_eq(x->password_len, y->password_len);
    cr_assert_eq(memcmp(x->username, y->username, x->username_len), 0);
    cr_assert_eq(memcmp(x->password, y->password, x->password_len), 0);
  }
}

/* Run in, check the whole run against byte-at-a-time and 3-byte feeding,
 * and that every proper prefix gives NEED_MORE (for successful runs). */
static void
check(const socks_config_t *cfg, const uint8_t *in, size_t len, run_t *r)
{
  run(cfg, in, len, 0, r);
  run_t one, three;
  run(cfg, in, len, 1, &one);
  same_run(r, &one);
  run(cfg, in, len, 3, &three);
  same_run(r, &three);
  if (r->last != SOCKS_REQUEST_READY)
    return;
  cr_assert_eq(r->used, len);
  for (size_t i = 0; i < len; i++) {
    run_t t;
    run(cfg, in, i, 0, &t);
    cr_assert_eq(t.last == SOCKS_NEED_MORE || t.last == SOCKS_REPLY, true,
                 "prefix %zu gave %d", i, t.last);
    cr_assert_eq(t.used, i);
    cr_assert(!t.have_req);
  }
}

static socks_config_t
defcfg(void)
{
  socks_config_t c;
  socks_config_default(&c);
  return c;
}

#define CHECK(cfg, r, ...)                                   \
  do {                                                       \
    static const uint8_t in_[] = { __VA_ARGS__ };            \
    check(&(cfg), in_, sizeof(in_), &(r));                   \
  } while (0)

#define REPLIES_ARE(r, ...)                                  \
  do {                                                       \
    static const uint8_t w_[] = { __VA_ARGS__ };             \
    cr_assert_eq((r).nreplies, sizeof(w_));                  \
    cr_assert_eq(memcmp((r).replies, w_, sizeof(w_)), 0);    \
  } while (0)

Test(socks4, connect)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 4, 1, 0, 80, 1, 2, 3, 4, 'u', 's', 'e', 'r', 0);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(r.nreplies, 0);
  cr_assert_eq(r.req.version, 4);
  cr_assert(!r.req.socks4a);
  cr_assert_eq(r.req.command, SOCKS_CMD_CONNECT);
  cr_assert_eq(r.req.target.atyp, SOCKS_ATYP_IPV4);
  cr_assert_eq(memcmp(r.req.target.addr, "\x01\x02\x03\x04", 4), 0);
  cr_assert_eq(r.req.target.port, 80);
  cr_assert(r.req.has_auth);
  cr_assert_eq(r.req.username_len, 4);
  cr_assert_eq(memcmp(r.req.username, "user", 4), 0);
  cr_assert_eq(r.req.password_len, 0);
  /* empty user id: no auth */
  CHECK(c, r, 4, 1, 0x1f, 0x90, 10, 0, 0, 1, 0);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert(!r.req.has_auth);
  cr_assert_eq(r.req.target.port, 8080);
}

Test(socks4, socks4a_and_resolve)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 4, 1, 1, 0xbb, 0, 0, 0, 1, 0,
        'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert(r.req.socks4a);
  cr_assert_eq(r.req.target.atyp, SOCKS_ATYP_HOSTNAME);
  cr_assert_str_eq(r.req.target.hostname, "example.com");
  cr_assert_eq(r.req.target.port, 443);
  CHECK(c, r, 4, 0xf0, 0, 0, 0, 0, 0, 0xff, 'i', 'd', 0, 'a', '.', 'b', 0);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(r.req.command, SOCKS_CMD_RESOLVE);
  cr_assert_str_eq(r.req.target.hostname, "a.b");
  cr_assert_eq(r.req.username_len, 2);
}

Test(socks4, errors)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 4, 2, 0, 80, 1, 2, 3, 4, 0);  /* BIND */
  cr_assert_eq(r.last, SOCKS_ERROR);
  cr_assert_eq(r.err, SOCKS_ERR_COMMAND);
  REPLIES_ARE(r, 0, 91, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 4, 0xf1, 0, 80, 1, 2, 3, 4, 0);  /* RESOLVE_PTR: 5 only */
  cr_assert_eq(r.err, SOCKS_ERR_COMMAND);
  CHECK(c, r, 4, 1, 0, 80, 0, 0, 0, 0, 0);  /* 0.0.0.0 */
  cr_assert_eq(r.err, SOCKS_ERR_MALFORMED);
  REPLIES_ARE(r, 0, 91, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 4, 1, 0, 80, 0, 0, 0, 9, 0, 0);  /* 4a, empty hostname */
  cr_assert_eq(r.err, SOCKS_ERR_HOSTNAME);
  REPLIES_ARE(r, 0, 91, 0, 0, 0, 0, 0, 0);
  c.allow_socks4 = false;
  CHECK(c, r, 4, 1, 0, 80, 1, 2, 3, 4, 0);
  cr_assert_eq(r.err, SOCKS_ERR_SOCKS4_OFF);
  REPLIES_ARE(r, 0, 91, 0, 0, 0, 0, 0, 0);
}

Test(socks4, oversized)
{
  socks_config_t c = defcfg();
  uint8_t in[600];
  run_t r, one;
  memcpy(in, "\x04\x01\x00\x50\x01\x02\x03\x04", 8);
  /* 255-byte user id is fine */
  memset(in + 8, 'u', 255);
  in[263] = 0;
  check(&c, in, 264, &r);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(r.req.username_len, 255);
  /* 256 is not */
  memset(in + 8, 'u', 300);
  run(&c, in, 308, 0, &r);
  run(&c, in, 308, 1, &one);
  same_run(&r, &one);
  cr_assert_eq(r.last, SOCKS_ERROR);
  cr_assert_eq(r.err, SOCKS_ERR_TOOLONG);
  /* a 256-byte user id with its NUL is rejected too */
  in[8 + 256] = 0;
  run(&c, in, 265, 0, &r);
  cr_assert_eq(r.err, SOCKS_ERR_TOOLONG);
  /* 4a: 255-byte hostname fine, 256 too long */
  memcpy(in, "\x04\x01\x00\x50\x00\x00\x00\x01\x00", 9);
  memset(in + 9, 'h', 255);
  in[264] = 0;
  check(&c, in, 265, &r);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(strlen(r.req.target.hostname), 255);
  memset(in + 9, 'h', 256);
  in[265] = 0;
  check(&c, in, 266, &r);
  cr_assert_eq(r.err, SOCKS_ERR_TOOLONG);
  REPLIES_ARE(r, 0, 91, 0, 0, 0, 0, 0, 0);
}

Test(socks5, noauth_hostname)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 5, 1, 0,
        5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o',
        'm', 0, 80);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  REPLIES_ARE(r, 5, 0);
  cr_assert_eq(r.req.version, 5);
  cr_assert_eq(r.req.auth_method, SOCKS_AUTH_NONE);
  cr_assert(!r.req.has_auth);
  cr_assert_eq(r.req.command, SOCKS_CMD_CONNECT);
  cr_assert_eq(r.req.target.atyp, SOCKS_ATYP_HOSTNAME);
  cr_assert_str_eq(r.req.target.hostname, "example.com");
  cr_assert_eq(r.req.target.port, 80);
}

Test(socks5, userpass)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 5, 2, 0, 2,
        1, 4, 'u', 's', 'e', 'r', 4, 'p', 'a', 's', 's',
        5, 1, 0, 1, 93, 184, 216, 34, 1, 187);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  REPLIES_ARE(r, 5, 2, 1, 0);
  cr_assert(r.req.has_auth);
  cr_assert_eq(r.req.auth_method, SOCKS_AUTH_USERPASS);
  cr_assert_eq(r.req.username_len, 4);
  cr_assert_eq(memcmp(r.req.username, "user", 4), 0);
  cr_assert_eq(r.req.password_len, 4);
  cr_assert_eq(memcmp(r.req.password, "pass", 4), 0);
  cr_assert_eq(r.req.target.atyp, SOCKS_ATYP_IPV4);
  cr_assert_eq(memcmp(r.req.target.addr, "\x5d\xb8\xd8\x22", 4), 0);
  cr_assert_eq(r.req.target.port, 443);
  /* empty username and password are allowed (socks-extensions 1.1) */
  CHECK(c, r, 5, 1, 2, 1, 0, 0, 5, 1, 0, 1, 1, 1, 1, 1, 0, 1);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  REPLIES_ARE(r, 5, 2, 1, 0);
  cr_assert(r.req.has_auth);
  cr_assert_eq(r.req.username_len, 0);
  /* binary 255-byte fields */
  uint8_t in[600];
  size_t n = 0;
  in[n++] = 5; in[n++] = 1; in[n++] = 2;
  in[n++] = 1; in[n++] = 255;
  for (int i = 0; i < 255; i++) in[n++] = (uint8_t)i;
  in[n++] = 255;
  for (int i = 0; i < 255; i++) in[n++] = (uint8_t)(255 - i);
  memcpy(in + n, "\x05\x01\x00\x01\x01\x02\x03\x04\x00\x16", 10);
  n += 10;
  check(&c, in, n, &r);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(r.req.username_len, 255);
  cr_assert_eq(r.req.password_len, 255);
  cr_assert_eq(r.req.username[0], 0);
  cr_assert_eq(r.req.password[0], 255);
}

Test(socks5, method_choice)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 5, 2, 2, 0);  /* both offered: user/pass for isolation */
  REPLIES_ARE(r, 5, 2);
  cr_assert_eq(r.last, SOCKS_REPLY);
  c.prefer_noauth = true;
  CHECK(c, r, 5, 2, 2, 0);
  REPLIES_ARE(r, 5, 0);
  CHECK(c, r, 5, 1, 2);  /* only user/pass offered */
  REPLIES_ARE(r, 5, 2);
  c = defcfg();
  c.allow_userpass = false;
  CHECK(c, r, 5, 1, 2);
  cr_assert_eq(r.last, SOCKS_ERROR);
  cr_assert_eq(r.err, SOCKS_ERR_NO_METHOD);
  REPLIES_ARE(r, 5, 0xff);
  c = defcfg();
  CHECK(c, r, 5, 1, 1);  /* GSSAPI only */
  cr_assert_eq(r.err, SOCKS_ERR_NO_METHOD);
  REPLIES_ARE(r, 5, 0xff);
  CHECK(c, r, 5, 0);  /* no methods */
  cr_assert_eq(r.err, SOCKS_ERR_NO_METHOD);
  REPLIES_ARE(r, 5, 0xff);
  c.allow_socks5 = false;
  CHECK(c, r, 5, 1, 0);
  cr_assert_eq(r.err, SOCKS_ERR_SOCKS5_OFF);
  REPLIES_ARE(r, 5, 0xff);
}

Test(socks5, late_auth_after_noauth)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 5, 1, 0, 1, 1, 'a', 1, 'b',
        5, 0xf0, 0, 3, 3, 'x', '.', 'y', 0, 0);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  REPLIES_ARE(r, 5, 0, 1, 0);
  cr_assert(r.req.has_auth);
  cr_assert_eq(r.req.auth_method, SOCKS_AUTH_NONE);
  cr_assert_eq(r.req.username[0], 'a');
  cr_assert_eq(r.req.password[0], 'b');
  cr_assert_eq(r.req.command, SOCKS_CMD_RESOLVE);
  cr_assert_str_eq(r.req.target.hostname, "x.y");
  /* a second auth message is not accepted */
  CHECK(c, r, 5, 1, 0, 1, 0, 0, 1, 0, 0);
  cr_assert_eq(r.last, SOCKS_ERROR);
  cr_assert_eq(r.err, SOCKS_ERR_MALFORMED);
  REPLIES_ARE(r, 5, 0, 1, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0);
}

Test(socks5, resolve_ptr_ipv6)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 5, 1, 0, 5, 0xf1, 0, 1, 8, 8, 4, 4, 0, 0);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(r.req.command, SOCKS_CMD_RESOLVE_PTR);
  cr_assert_eq(memcmp(r.req.target.addr, "\x08\x08\x04\x04", 4), 0);
  CHECK(c, r, 5, 1, 0, 5, 1, 0, 4,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(r.req.target.atyp, SOCKS_ATYP_IPV6);
  cr_assert_eq(r.req.target.addr[0], 0x20);
  cr_assert_eq(r.req.target.addr[15], 1);
  cr_assert_eq(r.req.target.port, 443);
  CHECK(c, r, 5, 1, 0, 5, 0xf1, 0, 4,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  /* PTR of a hostname: address type not supported */
  CHECK(c, r, 5, 1, 0, 5, 0xf1, 0, 3, 1, 'a', 0, 0);
  cr_assert_eq(r.err, SOCKS_ERR_ADDRTYPE);
  REPLIES_ARE(r, 5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0);
}

Test(socks5, request_errors)
{
  socks_config_t c = defcfg();
  run_t r;
  CHECK(c, r, 5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80);  /* BIND */
  cr_assert_eq(r.err, SOCKS_ERR_COMMAND);
  REPLIES_ARE(r, 5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 5, 1, 0, 5, 3, 0, 1, 1, 2, 3, 4, 0, 80);  /* UDP */
  REPLIES_ARE(r, 5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 5, 1, 0, 5, 1, 0, 2, 1, 2, 3, 4, 0, 80);  /* atyp 2 */
  cr_assert_eq(r.err, SOCKS_ERR_ADDRTYPE);
  REPLIES_ARE(r, 5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 5, 1, 0, 5, 1, 0, 3, 0, 0, 80);  /* empty hostname */
  cr_assert_eq(r.err, SOCKS_ERR_HOSTNAME);
  REPLIES_ARE(r, 5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 5, 1, 0, 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80);  /* NUL inside */
  cr_assert_eq(r.err, SOCKS_ERR_HOSTNAME);
  REPLIES_ARE(r, 5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 5, 1, 0, 4, 1, 0, 80, 1, 2, 3, 4, 0);  /* wrong version */
  cr_assert_eq(r.err, SOCKS_ERR_MALFORMED);
  REPLIES_ARE(r, 5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0);
  CHECK(c, r, 5, 1, 2, 5, 0, 0);  /* auth message with wrong version */
  cr_assert_eq(r.err, SOCKS_ERR_AUTH);
  REPLIES_ARE(r, 5, 2, 1, 1);
  /* 255-byte hostname is fine */
  uint8_t in[300];
  memcpy(in, "\x05\x01\x00\x05\x01\x00\x03\xff", 8);
  memset(in + 8, 'h', 255);
  in[263] = 0;
  in[264] = 80;
  check(&c, in, 265, &r);
  cr_assert_eq(r.last, SOCKS_REQUEST_READY);
  cr_assert_eq(strlen(r.req.target.hostname), 255);
}

Test(socks, garbage_and_http)
{
  socks_config_t c = defcfg();
  run_t r;
  static const uint8_t firsts[] = { 0, 1, 3, 6, 0x7f, 0xff, 'A', 'x' };
  for (size_t i = 0; i < sizeof(firsts); i++) {
    uint8_t in[4] = { firsts[i], 1, 0, 0 };
    check(&c, in, sizeof(in), &r);
    cr_assert_eq(r.last, SOCKS_ERROR);
    cr_assert_eq(r.err, SOCKS_ERR_VERSION);
    cr_assert_eq(r.nreplies, 0);
  }
  static const char *http[] = { "GET / HTTP/1.1\r\n", "HEAD /",
                                "POST /x", "PUT /", "CONNECT a:1" };
  for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
    check(&c, (const uint8_t *)http[i], strlen(http[i]), &r);
    cr_assert_eq(r.last, SOCKS_ERROR);
    cr_assert_eq(r.err, SOCKS_ERR_HTTP);
    cr_assert_gt(r.nreplies, 100);
    cr_assert_eq(memcmp(r.replies, "HTTP/1.0 501 ", 13), 0);
  }
}

Test(socks, after_end_and_optimistic_data)
{
  socks_config_t c = defcfg();
  socks_state_t *st = socks_state_new(&c);
  static const uint8_t in[] = { 5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 80,
                                'G', 'E', 'T' };
  size_t used;
  cr_assert_eq(socks_feed(st, in, sizeof(in), &used), SOCKS_REPLY);
  cr_assert_eq(used, 3);
  cr_assert_null(socks_state_request(st));
  cr_assert_eq(socks_feed(st, in + 3, sizeof(in) - 3, &used),
               SOCKS_REQUEST_READY);
  cr_assert_eq(used, 10);  /* "GET" stays with the caller */
  size_t rl;
  socks_state_reply(st, &rl);
  cr_assert_eq(rl, 0);
  cr_assert_not_null(socks_state_request(st));
  cr_assert_eq(socks_feed(st, in + 13, 3, &used), SOCKS_ERROR);
  cr_assert_eq(used, 0);
  cr_assert_eq(socks_state_error(st), SOCKS_ERR_STATE);
  socks_state_free(st);
  /* after an error, stays failed */
  st = socks_state_new(&c);
  cr_assert_eq(socks_feed(st, (const uint8_t *)"\x09", 1, &used), SOCKS_ERROR);
  cr_assert_eq(socks_feed(st, in, 3, &used), SOCKS_ERROR);
  cr_assert_eq(used, 0);
  cr_assert_eq(socks_state_error(st), SOCKS_ERR_VERSION);
  socks_state_free(st);
  /* empty feed */
  st = socks_state_new(&c);
  cr_assert_eq(socks_feed(st, in, 0, &used), SOCKS_NEED_MORE);
  cr_assert_eq(used, 0);
  socks_state_free(st);
  socks_state_free(st);  /* NULL is fine */
}

Test(socks_reply, encode)
{
  uint8_t out[300];
  socks_addr_t b;
  memset(&b, 0, sizeof(b));
  cr_assert_eq(socks_reply_encode(5, SOCKS5_SUCCEEDED, NULL, out, sizeof(out)),
               10);
  cr_assert_eq(memcmp(out, "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10), 0);
  b.atyp = SOCKS_ATYP_IPV4;
  memcpy(b.addr, "\x0a\x00\x00\x01", 4);
  b.port = 0x1234;
  cr_assert_eq(socks_reply_encode(5, SOCKS5_SUCCEEDED, &b, out, sizeof(out)),
               10);
  cr_assert_eq(memcmp(out, "\x05\x00\x00\x01\x0a\x00\x00\x01\x12\x34", 10), 0);
  cr_assert_eq(socks_reply_encode(5, SOCKS5_TTL_EXPIRED, NULL, out, 10), 10);
  cr_assert_eq(out[1], 6);
  cr_assert_eq(socks_reply_encode(5, SOCKS5_TTL_EXPIRED, NULL, out, 9), -1);
  b.atyp = SOCKS_ATYP_IPV6;
  memset(b.addr, 0xab, 16);
  cr_assert_eq(socks_reply_encode(5, 0, &b, out, sizeof(out)), 22);
  cr_assert_eq(out[3], 4);
  cr_assert_eq(out[4], 0xab);
  cr_assert_eq(out[20], 0x12);
  b.atyp = SOCKS_ATYP_HOSTNAME;
  strcpy(b.hostname, "dns.example");
  b.port = 0;
  cr_assert_eq(socks_reply_encode(5, 0, &b, out, sizeof(out)), 4 + 1 + 11 + 2);
  cr_assert_eq(memcmp(out, "\x05\x00\x00\x03\x0b" "dns.example\x00\x00", 18),
               0);
  b.hostname[0] = 0;
  cr_assert_eq(socks_reply_encode(5, 0, &b, out, sizeof(out)), -1);
  b.atyp = 9;
  cr_assert_eq(socks_reply_encode(5, 0, &b, out, sizeof(out)), -1);
  /* SOCKS4 */
  cr_assert_eq(socks_reply_encode(4, SOCKS4_GRANTED, NULL, out, 8), 8);
  cr_assert_eq(memcmp(out, "\x00\x5a\x00\x00\x00\x00\x00\x00", 8), 0);
  b.atyp = SOCKS_ATYP_IPV4;
  memcpy(b.addr, "\x01\x02\x03\x04", 4);
  b.port = 80;
  cr_assert_eq(socks_reply_encode(4, SOCKS4_GRANTED, &b, out, 8), 8);
  cr_assert_eq(memcmp(out, "\x00\x5a\x00\x50\x01\x02\x03\x04", 8), 0);
  for (uint8_t s = 90; s <= 93; s++) {
    cr_assert_eq(socks_reply_encode(4, s, NULL, out, 8), 8);
    cr_assert_eq(out[1], s);
  }
  cr_assert_eq(socks_reply_encode(4, 89, NULL, out, 8), -1);
  cr_assert_eq(socks_reply_encode(4, 94, NULL, out, 8), -1);
  cr_assert_eq(socks_reply_encode(4, 90, NULL, out, 7), -1);
  b.atyp = SOCKS_ATYP_IPV6;
  cr_assert_eq(socks_reply_encode(4, 90, &b, out, 8), -1);
  cr_assert_eq(socks_reply_encode(3, 0, NULL, out, 8), -1);
}

Test(socks_reply, end_reasons)
{
  static const uint8_t want[15] = {
    [0] = 1,
    [RELAY_END_MISC] = SOCKS5_GENERAL_FAILURE,
    [RELAY_END_RESOLVEFAILED] = SOCKS5_HOST_UNREACHABLE,
    [RELAY_END_CONNECTREFUSED] = SOCKS5_CONNECTION_REFUSED,
    [RELAY_END_EXITPOLICY] = SOCKS5_NOT_ALLOWED,
    [RELAY_END_DESTROY] = SOCKS5_GENERAL_FAILURE,
    [RELAY_END_DONE] = SOCKS5_GENERAL_FAILURE,
    [RELAY_END_TIMEOUT] = SOCKS5_TTL_EXPIRED,
    [RELAY_END_NOROUTE] = SOCKS5_NET_UNREACHABLE,
    [RELAY_END_HIBERNATING] = SOCKS5_GENERAL_FAILURE,
    [RELAY_END_INTERNAL] = SOCKS5_GENERAL_FAILURE,
    [RELAY_END_RESOURCELIMIT] = SOCKS5_GENERAL_FAILURE,
    [RELAY_END_CONNRESET] = SOCKS5_CONNECTION_REFUSED,
    [RELAY_END_TORPROTOCOL] = SOCKS5_GENERAL_FAILURE,
    [RELAY_END_NOTDIRECTORY] = SOCKS5_GENERAL_FAILURE,
  };
  for (unsigned i = 0; i < 15; i++)
    cr_assert_eq(socks5_reply_from_end_reason((uint8_t)i), want[i],
                 "reason %u", i);
  cr_assert_eq(socks5_reply_from_end_reason(200), SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(socks4_status_from_socks5(SOCKS5_SUCCEEDED), 90);
  cr_assert_eq(socks4_status_from_socks5(SOCKS5_TTL_EXPIRED), 91);
  cr_assert_eq(socks4_status_from_socks5(SOCKS5_HS_BAD_ADDRESS), 91);
}
