/* fake_dirsrv.c -- see fake_dirsrv.h.  Server side of CREATE_FAST and
 * BEGIN_DIR written from tor-spec 5.1.5 and 6.2 (test-only). */
#include "fake_dirsrv.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/channel/channel.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_CONNS 16

typedef struct conn_t {
  fake_dirsrv_t *srv;
  channel_t *ch;
  relay_crypto_t *rc;
  uint32_t circ_id;
  uint16_t sid;
  char req[8192];
  size_t req_len;
} conn_t;

struct fake_dirsrv_t {
  struct event_base *base;
  relay_t *r;
  int lfd;
  uint16_t port;
  struct event *lev;
  fake_dirsrv_handler_fn fn;
  void *arg;
  conn_t conns[MAX_CONNS];
  size_t n_conns;
  int n_requests;
};

static void
send_relay(conn_t *c, uint8_t cmd, const uint8_t *b, size_t len)
{
  uint8_t p[CELL_PAYLOAD_LEN];
  relay_header_t h;
  memset(&h, 0, sizeof(h));
  h.command = cmd;
  h.stream_id = c->sid;
  cr_assert_eq(relay_cell_pack(p, &h, b, len, NULL), 0);
  relay_crypto_relay_originate(c->rc, p);
  cell_t cell = { c->circ_id, CELL_RELAY, CELL_PAYLOAD_LEN, p };
  channel_send_cell(c->ch, &cell);
}

static void
respond(conn_t *c)
{
  char path[sizeof(c->req)];
  int status = 404;
  size_t len = 0;
  cr_assert_eq(sscanf(c->req, "GET %8000s HTTP/1.0", path), 1);
  const char *body = c->srv->fn(path, &status, &len, c->srv->arg);
  c->srv->n_requests++;
  uint8_t *z = NULL;
  size_t pl = strlen(path);
  if (body && pl > 2 && !strcmp(path + pl - 2, ".z")) {
    uLongf zl = compressBound((uLong)len);
    z = al_malloc(zl);
    cr_assert_eq(compress2(z, &zl, (const Bytef *)body, (uLong)len, 6), Z_OK);
    body = (const char *)z;
    len = zl;
  }
  char head[128];
  int hl = snprintf(head, sizeof(head),
                    "HTTP/1.0 %d X\r\nContent-Length: %zu\r\n\r\n", status,
                    body ? len : 0);
  send_relay(c, RELAY_DATA, (const uint8_t *)head, (size_t)hl);
  for (size_t off = 0; body && off < len; off += RELAY_BODY_MAX) {
    size_t n = len - off < RELAY_BODY_MAX ? len - off : RELAY_BODY_MAX;
    send_relay(c, RELAY_DATA, (const uint8_t *)body + off, n);
  }
  uint8_t reason = RELAY_END_DONE;
  send_relay(c, RELAY_END, &reason, 1);
  al_free(z);
}

static void
create_fast(conn_t *c, const cell_t *cell)
{
  cell_create_fast_t cf;
  cell_created_fast_t cd;
  uint8_t k0[40], keys[92], p[CELL_PAYLOAD_LEN];
  size_t n;
  c->circ_id = cell->circ_id;
  cr_assert_eq(cell_create_fast_decode(&cf, cell->payload,
                                       cell->payload_len), 0);
  memcpy(k0, cf.x, 20);
  memset(cd.y, 0x5a, 20);
  memcpy(k0 + 20, cd.y, 20);
  cr_assert_eq(crypto_kdf_tor(keys, sizeof(keys), k0, sizeof(k0)), 0);
  memcpy(cd.kh, keys, 20);
  relay_crypto_free(c->rc);
  c->rc = relay_crypto_new(RELAY_CRYPTO_TOR1, keys + 20, 72, 0);
  memset(p, 0, sizeof(p));
  cr_assert_eq(cell_created_fast_encode(&cd, p, sizeof(p), &n), 0);
  cell_t r = { cell->circ_id, CELL_CREATED_FAST, CELL_PAYLOAD_LEN, p };
  channel_send_cell(c->ch, &r);
}

static void
relay(conn_t *c, const cell_t *cell)
{
  uint8_t p[CELL_PAYLOAD_LEN];
  relay_header_t h;
  const uint8_t *body;
  if (!c->rc || cell->circ_id != c->circ_id)
    return;
  memcpy(p, cell->payload, sizeof(p));
  if (relay_crypto_relay_decrypt(c->rc, p) != 1 ||
      relay_cell_unpack(&h, &body, p) != 0)
    return;
  if (h.command == RELAY_BEGIN_DIR) {
    c->sid = h.stream_id;
    c->req_len = 0;
    send_relay(c, RELAY_CONNECTED, NULL, 0);
  } else if (h.command == RELAY_DATA && h.stream_id == c->sid) {
    cr_assert_lt(c->req_len + h.length, sizeof(c->req));
    memcpy(c->req + c->req_len, body, h.length);
    c->req_len += h.length;
    c->req[c->req_len] = 0;
    if (strstr(c->req, "\r\n\r\n")) {
      respond(c);
      c->req_len = 0;
    }
  }
}

static void s_open(channel_t *ch, void *arg) { (void)ch; (void)arg; }

static void
s_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  (void)ch;
  if (cell->command == CELL_CREATE_FAST)
    create_fast(arg, cell);
  else if (cell->command == CELL_RELAY || cell->command == CELL_RELAY_EARLY)
    relay(arg, cell);
}

static void
s_close(channel_t *ch, int reason, const char *why, void *arg)
{
  (void)ch; (void)reason; (void)why; (void)arg;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
  fake_dirsrv_t *s = arg;
  struct sockaddr_in peer;
  socklen_t plen = sizeof(peer);
  (void)what;
  int fd = accept(lfd, (struct sockaddr *)&peer, &plen);
  if (fd < 0)
    return;
  cr_assert_lt(s->n_conns, MAX_CONNS, "too many connections");
  conn_t *c = &s->conns[s->n_conns++];
  memset(c, 0, sizeof(*c));
  c->srv = s;
  channel_callbacks_t cbs = { s_open, s_cell, s_close, c };
  c->ch = channel_accept(s->base, s->r->tls, fd, (struct sockaddr *)&peer,
                         plen, &s->r->creds, &cbs);
  cr_assert_not_null(c->ch);
}

fake_dirsrv_t *
fake_dirsrv_new(struct event_base *base, relay_t *r,
                fake_dirsrv_handler_fn fn, void *arg)
{
  fake_dirsrv_t *s = al_calloc(1, sizeof(*s));
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  s->base = base;
  s->r = r;
  s->fn = fn;
  s->arg = arg;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(s->lfd, 0);
  cr_assert_eq(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(s->lfd, 16), 0);
  cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&sin, &slen), 0);
  s->port = ntohs(sin.sin_port);
  s->lev = event_new(base, s->lfd, EV_READ | EV_PERSIST, on_accept, s);
  event_add(s->lev, NULL);
  return s;
}

uint16_t
fake_dirsrv_port(const fake_dirsrv_t *s)
{
  return s->port;
}

int
fake_dirsrv_n_requests(const fake_dirsrv_t *s)
{
  return s->n_requests;
}

void
fake_dirsrv_free(fake_dirsrv_t *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n_conns; i++) {
    channel_free(s->conns[i].ch);
    relay_crypto_free(s->conns[i].rc);
  }
  event_free(s->lev);
  close(s->lfd);
  al_free(s);
}
