/* fuzz_socks.c -- fuzz target for the SOCKS4/4a/5 server state machine
 * (src/feature/proxy/socks.c).
 *
 * Input: byte 0 picks the port config (bit 0: SOCKS4 allowed, bit 1: SOCKS5
 * allowed, bit 2: no-auth, bit 3: user/pass, bit 4: prefer no-auth), the
 * rest is the client's byte stream.  The stream is run once in one piece
 * and once a byte at a time; both runs must give the same replies, result
 * and request.  Every reply must fit its bounds, and a ready request is
 * echoed through socks_reply_encode().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/proxy/socks.h"

#include "../fuzzing.h"

typedef struct outcome_t {
  socks_result_t last;
  uint8_t replies[2048];
  size_t nreplies;
  socks_error_t err;
  socks_request_t req;
  int have_req;
} outcome_t;

static outcome_t o1, o2;

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_socks: %s\n", what);
  abort();
}

static void
run(const socks_config_t *cfg, const uint8_t *in, size_t len, size_t chunk,
    outcome_t *o)
{
  memset(o, 0, sizeof(*o));
  socks_state_t *st = socks_state_new(cfg);
  size_t pos = 0;
  o->last = SOCKS_NEED_MORE;
  while (pos < len) {
    size_t n = chunk && chunk < len - pos ? chunk : len - pos;
    size_t used = 0;
    socks_result_t r = socks_feed(st, in + pos, n, &used);
    if (used > n)
      fail("consumed more than given");
    pos += used;
    o->last = r;
    if (r == SOCKS_NEED_MORE) {
      if (used != n)
        fail("NEED_MORE without consuming everything");
      continue;
    }
    size_t rl;
    const uint8_t *rb = socks_state_reply(st, &rl);
    if (rl > 1024 || o->nreplies + rl > sizeof(o->replies))
      fail("reply too long");
    memcpy(o->replies + o->nreplies, rb, rl);
    o->nreplies += rl;
    if (r == SOCKS_REPLY) {
      if (used == 0 || rl == 0)
        fail("REPLY without progress or bytes");
      continue;
    }
    if (r == SOCKS_REQUEST_READY) {
      const socks_request_t *rq = socks_state_request(st);
      if (!rq)
        fail("READY without request");
      o->req = *rq;
      o->have_req = 1;
    } else {
      o->err = socks_state_error(st);
      if (o->err == SOCKS_ERR_NONE)
        fail("ERROR without a reason");
    }
    break;
  }
  socks_state_free(st);
}

static void
check_request(const socks_request_t *rq)
{
  uint8_t out[300];
  if (rq->version != 4 && rq->version != 5)
    fail("bad version");
  if (rq->username_len > SOCKS_MAX_FIELD || rq->password_len > SOCKS_MAX_FIELD)
    fail("field too long");
  if (rq->target.atyp == SOCKS_ATYP_HOSTNAME) {
    size_t hl = strnlen(rq->target.hostname, sizeof(rq->target.hostname));
    if (hl == 0 || hl > SOCKS_MAX_FIELD)
      fail("bad hostname length");
  }
  int n = socks_reply_encode(5, SOCKS5_SUCCEEDED, &rq->target, out,
                             sizeof(out));
  if (n < 8)
    fail("cannot echo target");
  if (rq->target.atyp == SOCKS_ATYP_IPV4 &&
      socks_reply_encode(4, SOCKS4_GRANTED, &rq->target, out, 8) != 8)
    fail("cannot echo SOCKS4 target");
}

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  socks_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.allow_socks4 = data[0] & 1;
  cfg.allow_socks5 = (data[0] >> 1) & 1;
  cfg.allow_noauth = (data[0] >> 2) & 1;
  cfg.allow_userpass = (data[0] >> 3) & 1;
  cfg.prefer_noauth = (data[0] >> 4) & 1;
  run(&cfg, data + 1, len - 1, 0, &o1);
  run(&cfg, data + 1, len - 1, 1, &o2);
  if (o1.last != o2.last || o1.nreplies != o2.nreplies ||
      memcmp(o1.replies, o2.replies, o1.nreplies) != 0 || o1.err != o2.err ||
      o1.have_req != o2.have_req)
    fail("one-piece and byte-at-a-time runs differ");
  if (o1.have_req) {
    if (memcmp(&o1.req.target, &o2.req.target, sizeof(o1.req.target)) != 0)
      fail("requests differ");
    if (o1.req.username_len != o2.req.username_len ||
        memcmp(o1.req.username, o2.req.username, o1.req.username_len) != 0)
      fail("usernames differ");
    check_request(&o1.req);
  }
  return 0;
}
