/* switch_relay.c -- an in-process relay on the real cell engine for tests
 * (see switch_relay.h): tor-spec 4 responder via channel_accept, 5.1
 * CREATE2, 5.1.2 EXTEND2, 5.4 DESTROY through cellswitch; an echo exit at
 * the last hop (6.2 BEGIN -> CONNECTED, DATA echoed). */
#include "core/mainloop/switch_relay.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/channel/link_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#include "core/link/link_fixture.h"
#include "core/mainloop/cellswitch_st.h"

struct srelay_t {
  struct event_base *base;
  relay_t id;
  link_keys_t *lk;             /**< link credentials: we authenticate */
  tls_context_t *client_tls;
  cellswitch_t *sw;
  circ_hop_spec_t spec;
  int lfd;
  struct event *lev;
  size_t n_echoed;
  bool async;
  onion_workers_t *workers;
  bool accept_may_fail;        /**< DoS tests: the engine may refuse */
};

static void
exit_created(void *arg, cellswitch_t *sw, uint64_t circ, circ_relay_t *rc)
{
  (void)arg;
  (void)sw;
  (void)circ;
  cr_assert_not_null(circ_relay_attach_streams(rc));
}

static void
exit_streams(void *arg, cellswitch_t *sw, uint64_t circ, relay_streams_t *s)
{
  srelay_t *r = arg;
  relay_stream_event_t *ev = al_malloc(sizeof(*ev));
  (void)sw;
  (void)circ;
  while (relay_streams_next_event(s, ev) == 1) {
    if (ev->type == RELAY_STREAM_EV_BEGIN ||
        ev->type == RELAY_STREAM_EV_BEGIN_DIR) {
      cell_addr_t a = { .type = CELL_ADDR_IPV4, .addr = { 127, 0, 0, 1 } };
      (void)relay_stream_connected(s, ev->stream_id,
                                   ev->type == RELAY_STREAM_EV_BEGIN ? &a
                                                                     : NULL,
                                   300);
    } else if (ev->type == RELAY_STREAM_EV_DATA) {
      if (relay_stream_write(s, ev->stream_id, ev->data, ev->len) == 0)
        r->n_echoed += ev->len;
    }
  }
  al_free(ev);
}

/* ---- the async answer seam, driven from a timer ---- */

typedef struct pending_answer_t {
  srelay_t *r;
  uint64_t circ;
  uint8_t command;
  uint8_t payload[CELL_PAYLOAD_LEN];
} pending_answer_t;

static void
answer_later(evutil_socket_t fd, short what, void *arg)
{
  pending_answer_t *p = arg;
  circ_relay_t *rc = NULL;
  uint8_t reason = CELL_DESTROY_PROTOCOL;
  (void)fd;
  (void)what;
  circ_relay_keys_t keys = p->r->sw->cfg.keys;
  (void)circ_relay_create_cell(&rc, &keys, p->command, p->payload,
                               CELL_PAYLOAD_LEN, &reason);
  (void)cellswitch_create_answered(p->r->sw, p->circ, rc, reason);
  memwipe(&keys, sizeof(keys));
  al_free(p);
}

static int
answer_create(void *arg, cellswitch_t *sw, uint64_t circ, uint8_t command,
              const uint8_t *payload)
{
  srelay_t *r = arg;
  (void)sw;
  if (command != CELL_CREATE2 && command != CELL_CREATE_FAST)
    return -1;
  pending_answer_t *p = al_calloc(1, sizeof(*p));
  p->r = r;
  p->command = command;
  p->circ = circ;
  memcpy(p->payload, payload, CELL_PAYLOAD_LEN);
  struct timeval zero = { 0, 0 };
  cr_assert_eq(event_base_once(r->base, -1, EV_TIMEOUT, answer_later, p,
                               &zero), 0);
  return 0;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
  srelay_t *r = arg;
  struct sockaddr_in peer;
  socklen_t plen = sizeof(peer);
  (void)what;
  int fd = accept(lfd, (struct sockaddr *)&peer, &plen);
  if (fd >= 0 && cellswitch_accept(r->sw, fd, (struct sockaddr *)&peer,
                                   plen) < 0)
    cr_assert(r->accept_may_fail, "cellswitch_accept() refused");
}

void
srelay_set_accept_may_fail(srelay_t *r, bool on)
{
  r->accept_may_fail = on;
}

srelay_t *
srelay_new(struct event_base *base, const cellswitch_config_t *tweak)
{
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  cr_assert_eq(crypto_global_init(), 0);
  srelay_t *r = al_calloc(1, sizeof(*r));
  r->base = base;
  relay_make(&r->id, time(NULL));
  r->client_tls = tls_context_new_client();
  cr_assert_not_null(r->client_tls);
  cellswitch_config_t cfg;
  if (tweak)
    cfg = *tweak;
  else
    memset(&cfg, 0, sizeof(cfg));
  memcpy(cfg.keys.rsa_id, r->id.rsa_fp, 20);
  cr_assert_eq(x25519_keypair_generate(&cfg.keys.ntor), 0);
  memcpy(cfg.keys.ed_id, r->id.ed_id.pub.pubkey, 32);
  cfg.keys.has_ed_id = true;
  r->lk = link_keys_new(r->id.rsa, &r->id.ed_id.pub, &r->id.ed_sign,
                        r->id.c4, r->id.c4_len, time(NULL));
  cr_assert_not_null(r->lk);
  cfg.server_tls = link_keys_tls(r->lk);
  cfg.creds = link_keys_creds(r->lk);
  cfg.n_my_addrs = 1;
  cfg.my_addrs[0].type = CELL_ADDR_IPV4;
  cfg.my_addrs[0].addr[0] = 127;
  cfg.my_addrs[0].addr[3] = 1;
  cfg.client_tls = r->client_tls;
  cfg.extend_allow_private = tweak ? tweak->extend_allow_private : true;
  cfg.hooks.on_circ_created = exit_created;
  cfg.hooks.on_streams = exit_streams;
  cfg.hooks.answer_create = NULL;
  cfg.hooks.arg = r;
  r->sw = cellswitch_new(base, &cfg);
  cr_assert_not_null(r->sw);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  r->lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(r->lfd, 0);
  cr_assert_eq(bind(r->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(r->lfd, 64), 0);
  cr_assert_eq(getsockname(r->lfd, (struct sockaddr *)&sin, &slen), 0);
  r->lev = event_new(base, r->lfd, EV_READ | EV_PERSIST, on_accept, r);
  cr_assert_eq(event_add(r->lev, NULL), 0);
  circ_hop_spec_t *s = &r->spec;
  memcpy(s->rsa_id, r->id.rsa_fp, 20);
  memcpy(s->ed_id, r->id.ed_id.pub.pubkey, sizeof(s->ed_id));
  s->has_ed_id = true;
  memcpy(s->ntor_key, cfg.keys.ntor.pub, 32);
  s->n_addr = 1;
  s->addr[0].type = RELAY_LSPEC_IPV4;
  s->addr[0].len = 6;
  s->addr[0].u.ipv4.addr[0] = 127;
  s->addr[0].u.ipv4.addr[3] = 1;
  s->addr[0].u.ipv4.port = ntohs(sin.sin_port);
  memwipe(&cfg, sizeof(cfg));
  return r;
}

void
srelay_free_(srelay_t *r)
{
  if (!r)
    return;
  event_free(r->lev);
  close(r->lfd);
  cellswitch_free(r->sw);
  onion_workers_free(r->workers);
  link_keys_free(r->lk);
  tls_context_free(r->client_tls);
  relay_free(&r->id);
  al_free(r);
}

const circ_hop_spec_t *
srelay_spec(const srelay_t *r)
{
  return &r->spec;
}

cellswitch_t *
srelay_switch(srelay_t *r)
{
  return r->sw;
}

size_t
srelay_n_echoed(const srelay_t *r)
{
  return r->n_echoed;
}

void
srelay_close_channels(srelay_t *r)
{
  dlist_node_t *n;
  while ((n = dlist_first(&r->sw->chans)) != NULL)
    channel_close(DLIST_ENTRY(n, cs_chan_t, all_node)->ch,
                  CHANNEL_CLOSE_REQUESTED);
}

void
srelay_set_async_answers(srelay_t *r, bool on)
{
  r->async = on;
  r->sw->cfg.hooks.answer_create = on ? answer_create : NULL;
}

void
srelay_set_workers(srelay_t *r, unsigned n_threads)
{
  cellswitch_set_workers(r->sw, NULL);
  onion_workers_free(r->workers);
  if (!n_threads)
    return;
  onion_workers_cfg_t wc = { r->base, n_threads, 0, 0 };
  r->workers = onion_workers_new(&wc, &r->sw->cfg.keys);
  cr_assert_not_null(r->workers);
  cellswitch_set_workers(r->sw, r->workers);
}

onion_workers_t *
srelay_workers(srelay_t *r)
{
  return r->workers;
}
