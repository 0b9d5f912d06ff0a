/* test_relay.c -- a minimal in-process onion relay for main-loop tests
 * (see test_relay.h): tor-spec 4 (responder), 5.1 CREATE2, 5.3 EXTEND2,
 * 5.4 DESTROY, 6.2 BEGIN / CONNECTED, DATA echo at the last hop; hooks
 * for scripting a hostile peer. */
#include "core/mainloop/test_relay.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#include "core/link/link_fixture.h"

typedef struct tr_circ_t tr_circ_t;

typedef struct tr_conn_t {
  trelay_t *r;
  channel_t *ch;
  bool outgoing;
  bool closed;
  tr_circ_t *waiting;          /**< outgoing: circuit whose CREATE2 waits */
  struct tr_conn_t *next;
} tr_conn_t;

struct tr_circ_t {
  circ_relay_t *c;
  tr_conn_t *prev;
  uint32_t prev_id;
  tr_conn_t *next_conn;
  uint32_t next_id;
  uint8_t create2[CELL_PAYLOAD_LEN];
  bool closed;
  struct tr_circ_t *next;
};

struct trelay_t {
  struct event_base *base;
  trelay_mode_t mode;
  relay_t id;
  circ_relay_keys_t keys;
  circ_hop_spec_t spec;
  tls_context_t *client_tls;
  int lfd;
  struct event *lev;
  tr_conn_t *conns;
  tr_circ_t *circs;
  size_t n_accepted, n_creates, n_echoed;
  trelay_hook_fn hook;
  void *hook_arg;
  tr_conn_t *last_accepted;
  uint32_t last_circ_id;
};

static void pump(tr_circ_t *t);
static void conn_send(tr_conn_t *cn, uint32_t id, uint8_t cmd,
                      const uint8_t *payload);

/* A cell of t towards the previous hop: CREATED2 goes through the hook. */
static void
send_prev(tr_circ_t *t, const circ_cell_t *cc)
{
  trelay_t *r = t->prev->r;
  if (cc->command == CELL_CREATED2 && !t->prev->outgoing && r->hook) {
    uint8_t p[CELL_PAYLOAD_LEN];
    memcpy(p, cc->payload, sizeof(p));
    if (r->hook(r, TRELAY_AT_CREATED2, t->prev_id, p, r->hook_arg))
      return;
    conn_send(t->prev, t->prev_id, cc->command, p);
    return;
  }
  conn_send(t->prev, t->prev_id, cc->command, cc->payload);
}

static void
conn_send(tr_conn_t *cn, uint32_t id, uint8_t cmd, const uint8_t *payload)
{
  if (!cn || cn->closed || channel_state(cn->ch) != CHANNEL_STATE_OPEN)
    return;
  cell_t cell = { id, cmd, CELL_PAYLOAD_LEN, payload };
  (void)channel_send_cell(cn->ch, &cell);
}

static tr_circ_t *
find_circ(trelay_t *r, tr_conn_t *cn, uint32_t id, int *from_dir)
{
  for (tr_circ_t *t = r->circs; t; t = t->next) {
    if (t->closed)
      continue;
    if (t->prev == cn && t->prev_id == id) {
      *from_dir = CIRC_DIR_PREV;
      return t;
    }
    if (t->next_conn == cn && t->next_id == id && id) {
      *from_dir = CIRC_DIR_NEXT;
      return t;
    }
  }
  return NULL;
}

/* ---- channels ---- */

static void on_open(channel_t *ch, void *arg);
static void on_cell(channel_t *ch, const cell_t *cell, void *arg);
static void on_close(channel_t *ch, int reason, const char *why, void *arg);

static tr_conn_t *
conn_add(trelay_t *r, bool outgoing)
{
  tr_conn_t *cn = al_calloc(1, sizeof(*cn));
  cn->r = r;
  cn->outgoing = outgoing;
  cn->next = r->conns;
  r->conns = cn;
  return cn;
}

/* The next hop's channel is open: send the waiting CREATE2. */
static void
on_open(channel_t *ch, void *arg)
{
  tr_conn_t *cn = arg;
  tr_circ_t *t = cn->waiting;
  cn->waiting = NULL;
  if (!cn->outgoing || !t || t->closed)
    return;
  if (circid_set_alloc(channel_circids(ch), &t->next_id) < 0) {
    circ_relay_extend_failed(t->c, CELL_DESTROY_RESOURCELIMIT);
    pump(t);
    return;
  }
  conn_send(cn, t->next_id, CELL_CREATE2, t->create2);
}

static void
handle_create(trelay_t *r, tr_conn_t *cn, const cell_t *cell)
{
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  uint8_t reason = 0;
  r->n_creates++;
  r->last_circ_id = cell->circ_id;
  if (r->hook) {
    uint8_t h[CELL_PAYLOAD_LEN] = { 0 };
    memcpy(h, cell->payload,
           cell->payload_len < sizeof(h) ? cell->payload_len : sizeof(h));
    if (r->hook(r, TRELAY_AT_CREATE2, cell->circ_id, h, r->hook_arg))
      return;
  }
  if (r->mode == TRELAY_SILENT)
    return;
  if (r->mode == TRELAY_DESTROY_CREATE) {
    p[0] = CELL_DESTROY_RESOURCELIMIT;
    conn_send(cn, cell->circ_id, CELL_DESTROY, p);
    return;
  }
  tr_circ_t *t = al_calloc(1, sizeof(*t));
  if (circ_relay_create(&t->c, &r->keys, cell->payload, cell->payload_len,
                        &reason) < 0) {
    al_free(t);
    p[0] = reason;
    conn_send(cn, cell->circ_id, CELL_DESTROY, p);
    return;
  }
  cr_assert_not_null(circ_relay_attach_streams(t->c));
  t->prev = cn;
  t->prev_id = cell->circ_id;
  t->next = r->circs;
  r->circs = t;
  pump(t);
}

static void
on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  tr_conn_t *cn = arg;
  trelay_t *r = cn->r;
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  int dir = 0;
  (void)ch;
  tr_circ_t *t = find_circ(r, cn, cell->circ_id, &dir);
  if (!t) {
    if (!cn->outgoing && cell->command == CELL_CREATE2)
      handle_create(r, cn, cell);
    return;
  }
  memcpy(p, cell->payload,
         cell->payload_len < sizeof(p) ? cell->payload_len : sizeof(p));
  cr_assert_eq(circ_relay_handle_cell(t->c, dir, cell->command, p), 0);
  pump(t);
}

static void
on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  tr_conn_t *cn = arg;
  trelay_t *r = cn->r;
  uint8_t p[CELL_PAYLOAD_LEN] = { CELL_DESTROY_CHANNEL_CLOSED };
  (void)ch;
  (void)reason;
  (void)why;
  cn->closed = true;
  if (cn->waiting && !cn->waiting->closed) {
    tr_circ_t *t = cn->waiting;
    cn->waiting = NULL;
    circ_relay_extend_failed(t->c, CELL_DESTROY_CONNECTFAILED);
    pump(t);
  }
  for (tr_circ_t *t = r->circs; t; t = t->next) {
    if (t->closed)
      continue;
    if (t->prev == cn) {
      cr_assert_eq(circ_relay_handle_cell(t->c, CIRC_DIR_PREV, CELL_DESTROY,
                                          p), 0);
      pump(t);
    } else if (t->next_conn == cn && t->next_id) {
      cr_assert_eq(circ_relay_handle_cell(t->c, CIRC_DIR_NEXT, CELL_DESTROY,
                                          p), 0);
      pump(t);
    }
  }
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
  trelay_t *r = arg;
  struct sockaddr_in peer;
  socklen_t plen = sizeof(peer);
  (void)what;
  int fd = accept(lfd, (struct sockaddr *)&peer, &plen);
  if (fd < 0)
    return;
  tr_conn_t *cn = conn_add(r, false);
  channel_callbacks_t cbs = { on_open, on_cell, on_close, cn };
  cn->ch = channel_accept(r->base, r->id.tls, fd, (struct sockaddr *)&peer,
                          plen, &r->id.creds, &cbs);
  cr_assert_not_null(cn->ch);
  r->n_accepted++;
  r->last_accepted = cn;
}

/* ---- circuits ---- */

/* EXTEND_REQUEST: open a channel to the target and queue its CREATE2. */
static void
do_extend(tr_circ_t *t, const circ_event_t *ev)
{
  trelay_t *r = t->prev->r;
  struct sockaddr_in sin;
  const uint8_t *rsa = NULL;
  ed25519_public_key_t ed;
  bool have_addr = false, have_ed = false;
  memset(&sin, 0, sizeof(sin));
  for (unsigned i = 0; i < ev->extend.n_lspec; i++) {
    const relay_lspec_t *l = &ev->extend.lspec[i];
    if (l->type == RELAY_LSPEC_IPV4) {
      sin.sin_family = AF_INET;
      memcpy(&sin.sin_addr, l->u.ipv4.addr, 4);
      sin.sin_port = htons(l->u.ipv4.port);
      have_addr = true;
    } else if (l->type == RELAY_LSPEC_LEGACY_ID) {
      rsa = l->u.legacy_id;
    } else if (l->type == RELAY_LSPEC_ED25519_ID) {
      memcpy(ed.pubkey, l->u.ed25519_id, sizeof(ed.pubkey));
      have_ed = true;
    }
  }
  if (!have_addr || !rsa) {
    circ_relay_extend_failed(t->c, CELL_DESTROY_PROTOCOL);
    return;
  }
  memcpy(t->create2, ev->extend.create2, CELL_PAYLOAD_LEN);
  tr_conn_t *cn = conn_add(r, true);
  cn->waiting = t;
  t->next_conn = cn;
  channel_target_t tg = { (struct sockaddr *)&sin, sizeof(sin), rsa,
                          have_ed ? &ed : NULL };
  channel_callbacks_t cbs = { on_open, on_cell, on_close, cn };
  cn->ch = channel_connect(r->base, r->client_tls, &tg, &cbs);
  if (!cn->ch) {
    cn->closed = true;
    cn->waiting = NULL;
    circ_relay_extend_failed(t->c, CELL_DESTROY_CONNECTFAILED);
  }
}

/* The exit side: CONNECTED for BEGIN, echo DATA. */
static size_t
exit_events(tr_circ_t *t)
{
  relay_streams_t *s = circ_relay_streams(t->c);
  relay_stream_event_t *ev = al_malloc(sizeof(*ev));
  size_t n = 0;
  while (s && !t->closed && relay_streams_next_event(s, ev) == 1) {
    n++;
    switch (ev->type) {
    case RELAY_STREAM_EV_BEGIN:
    case RELAY_STREAM_EV_BEGIN_DIR: {
      cell_addr_t a = { .type = CELL_ADDR_IPV4, .addr = { 127, 0, 0, 1 } };
      (void)relay_stream_connected(s, ev->stream_id,
                                   ev->type == RELAY_STREAM_EV_BEGIN ? &a
                                                                     : NULL,
                                   300);
      break;
    }
    case RELAY_STREAM_EV_DATA:
      if (relay_stream_write(s, ev->stream_id, ev->data, ev->len) == 0)
        t->prev->r->n_echoed += ev->len;
      break;
    default:
      break;
    }
  }
  al_free(ev);
  return n;
}

static void
pump(tr_circ_t *t)
{
  circ_cell_t cc;
  circ_event_t *ev = al_malloc(sizeof(*ev));
  for (int pass = 0; pass < 64; pass++) {
    size_t n = exit_events(t);
    while (circ_relay_next_cell(t->c, &cc) == 1) {
      n++;
      if (cc.dir == CIRC_DIR_PREV)
        send_prev(t, &cc);
      else if (t->next_id)
        conn_send(t->next_conn, t->next_id, cc.command, cc.payload);
    }
    while (circ_relay_next_event(t->c, ev) == 1) {
      n++;
      if (ev->type == CIRC_EV_EXTEND_REQUEST)
        do_extend(t, ev);
      else if (ev->type == CIRC_EV_CLOSED)
        t->closed = true;
    }
    if (!n)
      break;
  }
  /* Cells queued by the close (DESTROYs) still go out. */
  while (circ_relay_next_cell(t->c, &cc) == 1) {
    if (cc.dir == CIRC_DIR_PREV)
      send_prev(t, &cc);
    else if (t->next_id)
      conn_send(t->next_conn, t->next_id, cc.command, cc.payload);
  }
  al_free(ev);
}

/* ---- API ---- */

trelay_t *
trelay_new(struct event_base *base, trelay_mode_t mode)
{
  return trelay_new_at(base, mode, time(NULL));
}

trelay_t *
trelay_new_at(struct event_base *base, trelay_mode_t mode, time_t now)
{
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  cr_assert_eq(crypto_global_init(), 0);
  trelay_t *r = al_calloc(1, sizeof(*r));
  r->base = base;
  r->mode = mode;
  relay_make(&r->id, now);
  memcpy(r->keys.rsa_id, r->id.rsa_fp, 20);
  cr_assert_eq(x25519_keypair_generate(&r->keys.ntor), 0);
  r->client_tls = tls_context_new_client();
  cr_assert_not_null(r->client_tls);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  r->lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(r->lfd, 0);
  cr_assert_eq(bind(r->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(r->lfd, 16), 0);
  cr_assert_eq(getsockname(r->lfd, (struct sockaddr *)&sin, &slen), 0);
  r->lev = event_new(base, r->lfd, EV_READ | EV_PERSIST, on_accept, r);
  cr_assert_not_null(r->lev);
  cr_assert_eq(event_add(r->lev, NULL), 0);
  circ_hop_spec_t *s = &r->spec;
  memcpy(s->rsa_id, r->id.rsa_fp, 20);
  memcpy(s->ed_id, r->id.ed_id.pub.pubkey, sizeof(s->ed_id));
  s->has_ed_id = true;
  memcpy(s->ntor_key, r->keys.ntor.pub, 32);
  s->n_addr = 1;
  s->addr[0].type = RELAY_LSPEC_IPV4;
  s->addr[0].len = 6;
  s->addr[0].u.ipv4.addr[0] = 127;
  s->addr[0].u.ipv4.addr[3] = 1;
  s->addr[0].u.ipv4.port = ntohs(sin.sin_port);
  return r;
}

void
trelay_free_(trelay_t *r)
{
  if (!r)
    return;
  event_free(r->lev);
  close(r->lfd);
  trelay_close_channels(r);
  while (r->circs) {
    tr_circ_t *t = r->circs;
    r->circs = t->next;
    circ_relay_free(t->c);
    al_free(t);
  }
  while (r->conns) {
    tr_conn_t *cn = r->conns;
    r->conns = cn->next;
    channel_free(cn->ch);
    al_free(cn);
  }
  tls_context_free(r->client_tls);
  relay_free(&r->id);
  memwipe(&r->keys, sizeof(r->keys));
  al_free(r);
}

const circ_hop_spec_t *
trelay_spec(const trelay_t *r)
{
  return &r->spec;
}

void
trelay_set_mode(trelay_t *r, trelay_mode_t mode)
{
  r->mode = mode;
}

void
trelay_set_hook(trelay_t *r, trelay_hook_fn fn, void *arg)
{
  r->hook = fn;
  r->hook_arg = arg;
}

int
trelay_send_cell(trelay_t *r, uint32_t circ_id, uint8_t command,
                 const uint8_t *payload, uint16_t len)
{
  tr_conn_t *cn = r->last_accepted;
  if (!cn || cn->closed || channel_state(cn->ch) != CHANNEL_STATE_OPEN)
    return -1;
  cell_t cell = { circ_id, command, len, payload };
  return channel_send_cell(cn->ch, &cell);
}

uint32_t
trelay_last_circ_id(const trelay_t *r)
{
  return r->last_circ_id;
}

void
trelay_close_channels(trelay_t *r)
{
  for (tr_conn_t *cn = r->conns; cn; cn = cn->next)
    if (cn->ch && channel_state(cn->ch) != CHANNEL_STATE_CLOSED)
      channel_close(cn->ch, CHANNEL_CLOSE_REQUESTED);
}

size_t
trelay_n_accepted(const trelay_t *r)
{
  return r->n_accepted;
}

size_t
trelay_n_creates(const trelay_t *r)
{
  return r->n_creates;
}

size_t
trelay_n_echoed(const trelay_t *r)
{
  return r->n_echoed;
}
