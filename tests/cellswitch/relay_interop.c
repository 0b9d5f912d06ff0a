/* relay_interop.c -- circuits through an allium relay (the cell engine,
 * started as the daemon) and two real tor relays, all on loopback, built by
 * allium's client (chanmgr): tor-spec 4 (tor as initiating relay against
 * allium's CERTS / AUTH_CHALLENGE, allium as initiating relay with CERTS +
 * AUTHENTICATE against tor's), 5.1 CREATE2/ntor, 5.1.5 CREATE_FAST, 5.1.2
 * EXTEND2 in both directions, 5.4 DESTROY; and ntor v3 (proposal 332) by a
 * raw CREATE2 of HTYPE 3 to each relay, checked by the client's AUTH.
 *
 *   relay-interop ALLIUM_DATADIR ALLIUM_PORT TOR_DATADIR TOR_PORT
 *                 TOR2_DATADIR TOR2_PORT
 *
 * The relays' keys are read (never written) from their DataDirectory
 * (tor's file formats, relay_keys.h).  Builds A->T, T->A, T->A->U, A->T->U,
 * U->T->A (A: allium, T and U: tor), then A and T with CREATE_FAST, then
 * ntor v3 to T and to A; each bounded to 20 s.  (A->T->A is not a path:
 * tor refuses to extend back to the previous hop, as allium does.)  Exit 0
 * when every one succeeded. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/channel/channel.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/core/onion/onion_server.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

typedef struct path_run_t {
  int built, closed;
  chanmgr_close_info_t info;
} path_run_t;

static void
on_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm;
  (void)circ;
  ((path_run_t *)arg)->built = 1;
}

static void
on_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
          void *arg)
{
  path_run_t *p = arg;
  (void)cm;
  (void)circ;
  p->closed = 1;
  p->info = *info;
}

static int
load_spec(circ_hop_spec_t *s, const char *datadir, const char *port)
{
  relay_keys_t *k = NULL;
  int r = relay_keys_load_or_create(datadir, 0, &k);
  if (r < 0) {
    fprintf(stderr, "cannot read the keys in %s: %s\n", datadir,
            relay_keys_strerror(r));
    return -1;
  }
  memset(s, 0, sizeof(*s));
  memcpy(s->rsa_id, relay_keys_identity_digest(k), 20);
  memcpy(s->ed_id, relay_keys_master_public(k)->pubkey, 32);
  s->has_ed_id = true;
  memcpy(s->ntor_key, relay_keys_onion_ntor(k)->pub, 32);
  s->n_addr = 1;
  s->addr[0].type = RELAY_LSPEC_IPV4;
  s->addr[0].len = 6;
  s->addr[0].u.ipv4.addr[0] = 127;
  s->addr[0].u.ipv4.addr[3] = 1;
  s->addr[0].u.ipv4.port = (uint16_t)atoi(port);
  relay_keys_free(k);
  return 0;
}

/* ---- ntor v3 by hand: CREATE2 HTYPE 3 on a channel of our own ---- */

typedef struct v3_run_t {
  int open, closed, answered;
  uint8_t command;
  uint8_t reply[CELL_PAYLOAD_LEN];
} v3_run_t;

static void
v3_open(channel_t *ch, void *arg)
{
  (void)ch;
  ((v3_run_t *)arg)->open = 1;
}

static void
v3_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  v3_run_t *v = arg;
  (void)ch;
  if (cell->circ_id == 0 || cell->payload_len != CELL_PAYLOAD_LEN)
    return;
  v->answered = 1;
  v->command = cell->command;
  memcpy(v->reply, cell->payload, CELL_PAYLOAD_LEN);
}

static void
v3_close(channel_t *ch, int reason, const char *why, void *arg)
{
  (void)ch;
  (void)reason;
  (void)why;
  ((v3_run_t *)arg)->closed = 1;
}

/* 0 when the relay answers an ntor v3 CREATE2 (with a CC_REQUEST
 * extension) with a CREATED2 whose AUTH checks out. */
static int
ntor_v3_check(struct event_base *base, tls_context_t *tls,
              const circ_hop_spec_t *s, const char **why)
{
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(s->addr[0].u.ipv4.port);
  v3_run_t v = { 0 };
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), s->rsa_id,
                         NULL };
  channel_callbacks_t cbs = { v3_open, v3_cell, v3_close, &v };
  channel_t *ch = channel_connect(base, tls, &t, &cbs);
  ntor3_client_state_t *st = NULL;
  uint8_t *skin = NULL, p[CELL_PAYLOAD_LEN] = { 0 }, keys[ONION_KEYS_LEN];
  uint8_t *msg = NULL;
  size_t skin_len = 0, n, msg_len = 0;
  const uint8_t ext[] = { 1, ONION_EXT_CC_REQUEST, 0 };
  uint32_t id;
  int rv = -1;
  uint64_t t0 = evloop_monotonic_msec();
  *why = "cannot connect";
  if (!ch)
    return -1;
  while (!v.open && !v.closed && evloop_monotonic_msec() - t0 < 20000)
    event_base_loop(base, EVLOOP_ONCE);
  if (!v.open || circid_set_alloc(channel_circids(ch), &id) < 0)
    goto done;
  *why = "cannot make the onionskin";
  if (ntor3_client_create(&st, &skin, &skin_len, s->ed_id, s->ntor_key,
                          (const uint8_t *)NTOR3_CIRC_VERIFICATION,
                          strlen(NTOR3_CIRC_VERIFICATION), ext, sizeof(ext),
                          NULL) < 0)
    goto done;
  cell_create2_t c2 = { CELL_HTYPE_NTOR_V3, (uint16_t)skin_len, skin };
  if (cell_create2_encode(&c2, p, sizeof(p), &n) < 0)
    goto done;
  cell_t cell = { id, CELL_CREATE2, CELL_PAYLOAD_LEN, p };
  *why = "cannot send";
  if (channel_send_cell(ch, &cell) < 0)
    goto done;
  while (!v.answered && !v.closed && evloop_monotonic_msec() - t0 < 20000)
    event_base_loop(base, EVLOOP_ONCE);
  *why = v.answered ? "answered with DESTROY" : "no answer";
  cell_created2_t r2;
  if (!v.answered || v.command != CELL_CREATED2 ||
      cell_created2_decode(&r2, v.reply, CELL_PAYLOAD_LEN) < 0)
    goto done;
  *why = "the CREATED2 does not authenticate";
  if (ntor3_client_finish(st, r2.hdata, r2.hlen, &msg, &msg_len, keys,
                          sizeof(keys)) < 0)
    goto done;
  rv = 0;
done:
  memwipe(keys, sizeof(keys));
  al_free(msg);
  al_free(skin);
  ntor3_client_state_free(st);
  channel_close(ch, CHANNEL_CLOSE_REQUESTED);
  channel_free(ch);
  return rv;
}

int
main(int argc, char **argv)
{
  if (argc != 7) {
    fprintf(stderr, "usage: %s ALLIUM_DATADIR ALLIUM_PORT TOR_DATADIR "
            "TOR_PORT TOR2_DATADIR TOR2_PORT\n", argv[0]);
    return 2;
  }
  if (crypto_global_init() < 0)
    return 1;
  circ_hop_spec_t a, t, u;
  if (load_spec(&a, argv[1], argv[2]) < 0 ||
      load_spec(&t, argv[3], argv[4]) < 0 ||
      load_spec(&u, argv[5], argv[6]) < 0)
    return 1;
  struct event_base *base = event_base_new();
  tls_context_t *tls = tls_context_new_client();
  chanmgr_t *cm = chanmgr_new(base, tls);
  struct {
    const char *name;
    circ_hop_spec_t hops[3];
    size_t n;
    bool fast;
  } paths[] = {
    { "allium -> tor", { a, t }, 2, false },
    { "tor -> allium", { t, a }, 2, false },
    { "tor -> allium -> tor2", { t, a, u }, 3, false },
    { "allium -> tor -> tor2", { a, t, u }, 3, false },
    { "tor2 -> tor -> allium", { u, t, a }, 3, false },
    { "CREATE_FAST to tor", { t }, 1, true },
    { "CREATE_FAST to allium", { a }, 1, true },
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    path_run_t p = { 0 };
    chanmgr_circ_cbs_t cbs = { .on_built = on_built, .on_closed = on_closed,
                               .arg = &p };
    chanmgr_launch_t l = { paths[i].hops, paths[i].n, paths[i].fast,
                           20000 };
    uint64_t circ = 0, t0 = evloop_monotonic_msec();
    if (chanmgr_launch(cm, &l, &cbs, &circ) < 0) {
      printf("FAIL %s: cannot launch\n", paths[i].name);
      failures++;
      continue;
    }
    while (!p.built && !p.closed && evloop_monotonic_msec() - t0 < 22000)
      event_base_loop(base, EVLOOP_ONCE);
    if (p.built) {
      printf("ok   %s: built in %llu ms\n", paths[i].name,
             (unsigned long long)(evloop_monotonic_msec() - t0));
      chanmgr_close_circ(cm, circ, CELL_DESTROY_FINISHED);
    } else {
      printf("FAIL %s: %s (hop %u, reason %u)\n", paths[i].name,
             p.closed ? p.info.what : "timed out", p.info.failed_hop,
             p.info.reason);
      failures++;
    }
  }
  const struct { const char *name; const circ_hop_spec_t *s; } v3[] = {
    { "ntor v3 to tor", &t }, { "ntor v3 to allium", &a },
  };
  for (size_t i = 0; i < 2; i++) {
    const char *why = "";
    uint64_t t0 = evloop_monotonic_msec();
    if (ntor_v3_check(base, tls, v3[i].s, &why) == 0) {
      printf("ok   %s: CREATED2 authenticated in %llu ms\n", v3[i].name,
             (unsigned long long)(evloop_monotonic_msec() - t0));
    } else {
      printf("FAIL %s: %s\n", v3[i].name, why);
      failures++;
    }
  }
  chanmgr_free(cm);
  tls_context_free(tls);
  event_base_free(base);
  return failures ? 1 : 0;
}
