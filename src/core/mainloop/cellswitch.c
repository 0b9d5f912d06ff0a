/* cellswitch.c -- the relay's cell engine, channel side: the engine object,
 * accepted and opened channels, the identity map (one channel per relay
 * identity, tor-spec 2 "Connections"; canonical: an open authenticated
 * channel wins), dispatch of incoming cells by (channel, circuit id), the
 * deferred flush and the reaping of closed channels.  Circuits are in
 * cellswitch_circ.c, queues and scheduling in cellswitch_sched.c.
 * See include/allium/core/mainloop/cellswitch.h. */
#define LOG_MODULE "cellswitch"
#include "allium/core/mainloop/cellswitch.h"

#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/policy/policy.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "cellswitch_st.h"

static void on_flush(evutil_socket_t fd, short what, void *arg);

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
  cellswitch_t *sw = arg;
  (void)fd;
  (void)what;
  cs_check_pauses(sw, evloop_monotonic_msec());
  cs_stream_tick(sw, evloop_monotonic_msec());
  cs_mem_tick(sw);
  if (sw->dos)
    dos_tick(sw->dos, evloop_monotonic_msec());
}

static void
apply_defaults(cellswitch_config_t *c)
{
  if (!c->queue_cap_cells)
    c->queue_cap_cells = CELLSWITCH_QUEUE_CAP_CELLS;
  if (!c->circq_high)
    c->circq_high = CELLSWITCH_CIRCQ_HIGH_CELLS;
  if (!c->circq_low || c->circq_low >= c->circq_high)
    c->circq_low = c->circq_high / 4;
  if (c->circq_high > c->queue_cap_cells)
    c->circq_high = c->queue_cap_cells;
  if (!c->outbuf_high)
    c->outbuf_high = CELLSWITCH_OUTBUF_HIGH;
  if (!c->outbuf_low || c->outbuf_low >= c->outbuf_high)
    c->outbuf_low = c->outbuf_high / 4;
  if (!c->ewma_halflife_msec)
    c->ewma_halflife_msec = CELLSWITCH_EWMA_HALFLIFE_MSEC;
  if (!c->idle_msec)
    c->idle_msec = CELLSWITCH_CHANNEL_IDLE_MSEC;
  if (!c->keepalive_msec)
    c->keepalive_msec = CELLSWITCH_KEEPALIVE_MSEC;
  if (!c->pause_max_msec)
    c->pause_max_msec = CELLSWITCH_PAUSE_MAX_MSEC;
  if (c->n_my_addrs > sizeof(c->my_addrs) / sizeof(c->my_addrs[0]))
    c->n_my_addrs = sizeof(c->my_addrs) / sizeof(c->my_addrs[0]);
}

cellswitch_t *
cellswitch_new(struct event_base *base, const cellswitch_config_t *cfg)
{
  if (!base || !cfg)
    return NULL;
  cellswitch_t *sw = al_calloc(1, sizeof(*sw));
  sw->base = base;
  sw->cfg = *cfg;
  cc_params_default(&sw->cc_params);
  apply_defaults(&sw->cfg);
  sw->circ_by_id = hmap_new(sizeof(uint64_t));
  sw->circ_by_handle = hmap_new(sizeof(uint64_t));
  sw->chan_by_rsa = hmap_new(20);
  dlist_init(&sw->chans);
  dlist_init(&sw->dead);
  dlist_init(&sw->pending);
  dlist_init(&sw->paused);
  dlist_init(&sw->dir_circs);
  sw->flush_ev = event_new(base, -1, 0, on_flush, sw);
  sw->tick = event_new(base, -1, EV_PERSIST, on_tick, sw);
  sw->next_handle = 1;
  sw->next_chan_idx = 1;
  struct timeval sec = { 1, 0 };
  if (!sw->flush_ev || !sw->tick || event_add(sw->tick, &sec) < 0) {
    cellswitch_free(sw);
    return NULL;
  }
  return sw;
}

static void
chan_free(cs_chan_t *chan)
{
  dlist_remove(&chan->all_node);
  dlist_remove(&chan->pending_node);
  dlist_remove(&chan->paused_node);
  minheap_clear(&chan->active);
  channel_free(chan->ch);
  al_free(chan);
}

static void
reap_dead(cellswitch_t *sw)
{
  dlist_node_t *n;
  while ((n = dlist_pop_head(&sw->dead)) != NULL)
    chan_free(DLIST_ENTRY(n, cs_chan_t, all_node));
}

void
cellswitch_free_(cellswitch_t *sw)
{
  dlist_node_t *n;
  if (!sw)
    return;
  sw->freeing = true;
  while ((n = dlist_first(&sw->chans)) != NULL) {
    cs_chan_t *chan = DLIST_ENTRY(n, cs_chan_t, all_node);
    channel_close(chan->ch, CHANNEL_CLOSE_REQUESTED);   /* -> dead list */
    if (dlist_first(&sw->chans) == n) {   /* never opened a bufferevent */
      dlist_remove(n);
      dlist_push_tail(&sw->dead, n);
    }
  }
  /* Circuits that never got a channel side (cannot happen) and answers
   * still pending elsewhere. */
  size_t pos = 0;
  void *v;
  while (pos = 0, hmap_iter(sw->circ_by_handle, &pos, NULL, &v))
    cs_circ_free(v);
  reap_dead(sw);
  cs_pool_trim(sw, 0);
  if (sw->flush_ev)
    event_free(sw->flush_ev);
  if (sw->tick)
    event_free(sw->tick);
  cs_mem_unwatch(sw);
  if (sw->oom_ev)
    event_free(sw->oom_ev);
  hmap_free(sw->circ_by_id);
  hmap_free(sw->circ_by_handle);
  hmap_free(sw->chan_by_rsa);
  memwipe(&sw->cfg.keys, sizeof(sw->cfg.keys));
  al_free(sw);
}

void
cs_schedule_flush(cellswitch_t *sw)
{
  if (!sw->freeing)
    event_active(sw->flush_ev, EV_TIMEOUT, 0);
}

/* Once per loop iteration at most: write what the pending channels can
 * take (each at most one batch, then it goes to the back), free closed
 * channels. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
  cellswitch_t *sw = arg;
  dlist_t round;
  dlist_node_t *n;
  (void)fd;
  (void)what;
  dlist_init(&round);
  /* Take the current list: channels re-queued by a flush wait for the
   * next iteration, so reads get their turn. */
  if (!dlist_is_empty(&sw->pending)) {
    round = sw->pending;
    round.next->prev = &round;
    round.prev->next = &round;
    dlist_init(&sw->pending);
  }
  while ((n = dlist_pop_head(&round)) != NULL) {
    cs_chan_t *chan = DLIST_ENTRY(n, cs_chan_t, pending_node);
    chan->pending = false;
    cs_chan_flush(chan);
  }
  reap_dead(sw);
}

/* ---- the identity map ---- */

cs_chan_t *
cs_chan_by_rsa(cellswitch_t *sw, const uint8_t rsa_id[20])
{
  return hmap_get(sw->chan_by_rsa, rsa_id);
}

/* Make chan the channel for its identity unless an open one is there
 * already (canonical rule: prefer an open, authenticated channel). */
static void
chan_map_identity(cs_chan_t *chan)
{
  cellswitch_t *sw = chan->sw;
  cs_chan_t *cur = hmap_get(sw->chan_by_rsa, chan->rsa_id);
  if (cur == chan)
    return;
  if (cur && cur->open && !chan->open)
    return;
  if (cur && cur->open && chan->open && cur->outgoing)
    return;   /* both open: keep the one we chose to open */
  if (cur)
    cur->mapped = false;
  hmap_put(sw->chan_by_rsa, chan->rsa_id, chan, NULL);
  chan->mapped = true;
}

static void
chan_unmap_identity(cs_chan_t *chan)
{
  if (!chan->mapped)
    return;
  chan->mapped = false;
  if (hmap_get(chan->sw->chan_by_rsa, chan->rsa_id) == chan)
    hmap_remove(chan->sw->chan_by_rsa, chan->rsa_id);
}

/* ---- DoS defences (core/dos) ---- */

/* The channel is no longer a counted client connection. */
static void
chan_dos_untrack(cs_chan_t *chan)
{
  chan->client = false;
  if (!chan->dos_tracked)
    return;
  chan->dos_tracked = false;
  if (chan->sw->dos)
    dos_conn_closed(chan->sw->dos, &chan->peer_addr,
                    evloop_monotonic_msec());
}

void
cellswitch_set_dos(cellswitch_t *sw, dos_t *d)
{
  sw->dos = d;
}

void
cellswitch_set_cc_params(cellswitch_t *sw, const cc_params_t *p)
{
  if (!p)
    cc_params_default(&sw->cc_params);
  else
    sw->cc_params = *p;
  cc_params_clamp(&sw->cc_params);
}

/* ---- channel callbacks ---- */

static void
on_open(channel_t *ch, void *arg)
{
  cs_chan_t *chan = arg;
  const link_peer_t *peer = channel_peer(ch);
  chan->open = true;
  channel_set_output_low_water(ch, chan->sw->cfg.outbuf_low,
                               cs_chan_drained);
  channel_set_idle_timeout(ch, chan->sw->cfg.idle_msec);
  channel_set_keepalive(ch, chan->sw->cfg.keepalive_msec);
  if (peer->authenticated) {
    if (chan->has_id && memcmp(chan->rsa_id, peer->rsa_id, 20))
      chan_unmap_identity(chan);   /* cannot happen: the handshake checks */
    memcpy(chan->rsa_id, peer->rsa_id, 20);
    chan->ed_id = peer->ed_id;
    chan->has_id = chan->has_ed = true;
    chan_map_identity(chan);
    chan_dos_untrack(chan);   /* a relay: not a client connection */
  }
  log_debug("%s channel open (link protocol %u, %s)",
            chan->outgoing ? "outgoing" : "incoming", peer->linkproto,
            peer->authenticated ? "authenticated" : "a client");
  cs_circ_channel_opened(chan);
}

static void
on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  cs_chan_t *chan = arg;
  cellswitch_t *sw = chan->sw;
  (void)ch;
  if (cell->circ_id == 0 || cell->payload_len != CELL_PAYLOAD_LEN) {
    /* Link-level cells (NETINFO again, VERSIONS, AUTHORIZE ...) after the
     * handshake: nothing for circuits. */
    log_info_rl(60, "Dropping a cell with command %u outside any circuit.",
                cell->command);
    return;
  }
  sw->st.cells_in++;
  cs_end_t *end = hmap_get_u64(sw->circ_by_id, cs_key(chan, cell->circ_id));
  if (end) {
    cs_circ_handle_cell(end, cell);
    return;
  }
  switch (cell->command) {
  case CELL_CREATE2:
  case CELL_CREATE_FAST:
  case CELL_CREATE:
    cs_circ_handle_create(chan, cell);
    return;
  case CELL_DESTROY:
    return;   /* for a circuit we already forgot: fine (tor-spec 5.4) */
  default:
    sw->st.unknown_circ_cells++;
    log_info_rl(60, "Dropping a cell (command %u) for an unknown circuit.",
                cell->command);
    return;
  }
}

static void
on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  cs_chan_t *chan = arg;
  cellswitch_t *sw = chan->sw;
  (void)ch;
  log_info("%s channel closed (%s%s%s).",
           chan->outgoing ? "Outgoing" : "Incoming",
           channel_close_reason_name(reason), why && *why ? ": " : "",
           why ? why : "");
  chan->closed = true;
  chan->open = false;
  chan_dos_untrack(chan);
  chan_unmap_identity(chan);
  dlist_remove(&chan->pending_node);
  chan->pending = false;
  cs_circ_channel_closed(chan);
  dlist_remove(&chan->paused_node);
  dlist_remove(&chan->all_node);
  dlist_push_tail(&sw->dead, &chan->all_node);
  cs_schedule_flush(sw);
}

static cs_chan_t *
chan_new(cellswitch_t *sw, bool outgoing)
{
  cs_chan_t *chan = al_calloc(1, sizeof(*chan));
  chan->sw = sw;
  chan->outgoing = outgoing;
  chan->idx = sw->next_chan_idx++;
  if (sw->next_chan_idx == 0)
    sw->next_chan_idx = 1;
  dlist_init(&chan->ends);
  dlist_init(&chan->waiting);
  dlist_init(&chan->pending_node);
  dlist_init(&chan->paused_node);
  minheap_init(&chan->active, cs_end_cmp, offsetof(cs_end_t, heap_idx));
  chan->ewma_base_msec = evloop_monotonic_msec();
  chan->ewma_unit = 1.0;
  dlist_push_tail(&sw->chans, &chan->all_node);
  return chan;
}

/* NETINFO's "my addresses" (tor-spec 4.5). */
static void
chan_set_my_addrs(cs_chan_t *chan)
{
  const cellswitch_config_t *cfg = &chan->sw->cfg;
  if (cfg->n_my_addrs &&
      channel_set_my_addrs(chan->ch, cfg->my_addrs, cfg->n_my_addrs) < 0)
    log_info("Couldn't set our addresses for NETINFO on a channel.");
}

/* ops: whether an accepted peer's address is private or loopback (tor
 * does not count CREATE cells from such peers as proof of reachability
 * unless ExtendAllowPrivateAddresses is set). */
static bool
peer_is_private(const struct sockaddr *peer)
{
  policy_addr_t a;
  memset(&a, 0, sizeof(a));
  if (peer && peer->sa_family == AF_INET) {
    a.family = 4;
    memcpy(a.addr, &((const struct sockaddr_in *)peer)->sin_addr, 4);
  } else if (peer && peer->sa_family == AF_INET6) {
    a.family = 6;
    memcpy(a.addr, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
  } else {
    return true;
  }
  return policy_addr_is_private(&a);
}

int
cellswitch_accept(cellswitch_t *sw, int fd, const struct sockaddr *peer,
                  socklen_t peerlen)
{
  if (!sw || fd < 0 || !sw->cfg.server_tls || !sw->cfg.creds) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  /* DoSConnection*: refused before any TLS work. */
  dos_addr_t pa;
  int dos_r = DOS_CONN_UNTRACKED;
  if (dos_addr_from_sockaddr(&pa, peer) < 0)
    memset(&pa, 0, sizeof(pa));
  else if (sw->dos)
    dos_r = dos_conn_accept(sw->dos, &pa, evloop_monotonic_msec());
  if (dos_r == DOS_CONN_REFUSED) {
    close(fd);
    return -1;
  }
  cs_chan_t *chan = chan_new(sw, false);
  chan->peer_addr = pa;
  chan->client = true;
  chan->dos_tracked = dos_r == DOS_CONN_TRACKED;
  channel_callbacks_t cbs = { on_open, on_cell, on_close, chan };
  chan->ch = channel_accept(sw->base, sw->cfg.server_tls, fd, peer, peerlen,
                            sw->cfg.creds, &cbs);
  if (!chan->ch) {
    chan_dos_untrack(chan);
    dlist_remove(&chan->all_node);
    minheap_clear(&chan->active);
    al_free(chan);
    return -1;
  }
  chan_set_my_addrs(chan);
  chan->peer_private = peer_is_private(peer);   /* ops: relay_reach.c */
  return 0;
}

cs_chan_t *
cs_chan_connect(cellswitch_t *sw, const struct sockaddr *addr,
                socklen_t addrlen, const uint8_t rsa_id[20],
                const ed25519_public_key_t *ed)
{
  if (!sw->cfg.client_tls)
    return NULL;
  cs_chan_t *chan = chan_new(sw, true);
  memcpy(chan->rsa_id, rsa_id, 20);
  chan->has_id = true;
  channel_target_t t = { addr, addrlen, rsa_id, ed };
  channel_callbacks_t cbs = { on_open, on_cell, on_close, chan };
  /* As a relay when we can (tor-spec 4.4.2): the peer then knows which
   * relay this channel belongs to and uses it for its own extends to us. */
  const link_creds_t *creds =
    sw->cfg.creds && sw->cfg.creds->auth_key ? sw->cfg.creds : NULL;
  chan->ch = channel_connect_relay(sw->base, sw->cfg.client_tls, &t, creds,
                                   &cbs);
  if (!chan->ch) {
    dlist_remove(&chan->all_node);
    minheap_clear(&chan->active);
    al_free(chan);
    return NULL;
  }
  chan_set_my_addrs(chan);
  chan_map_identity(chan);
  return chan;
}

void
cellswitch_set_keys(cellswitch_t *sw, const circ_relay_keys_t *keys)
{
  memwipe(&sw->cfg.keys, sizeof(sw->cfg.keys));
  sw->cfg.keys = *keys;
  if (sw->workers)
    onion_workers_set_keys(sw->workers, keys);
}

void
cellswitch_set_workers(cellswitch_t *sw, onion_workers_t *w)
{
  sw->workers = w;
}

void
cellswitch_set_server_creds(cellswitch_t *sw, tls_context_t *tls,
                            const link_creds_t *creds)
{
  sw->cfg.server_tls = tls;
  sw->cfg.creds = creds;
}

void
cellswitch_get_stats(const cellswitch_t *sw, cellswitch_stats_t *out)
{
  *out = sw->st;
  out->n_channels = out->n_channels_open = 0;
  for (dlist_node_t *n = sw->chans.next; n != &sw->chans; n = n->next) {
    const cs_chan_t *chan = DLIST_ENTRY(n, cs_chan_t, all_node);
    out->n_channels++;
    out->n_channels_open += chan->open;
  }
  out->n_circuits = sw->n_circuits;
  out->cells_pooled = sw->n_free_cells;
}

/* ---- hibernation (AccountingMax) ---- */

void
cellswitch_set_hibernating(cellswitch_t *sw, bool on)
{
  sw->hibernating = on;
}

size_t
cellswitch_close_all_channels(cellswitch_t *sw)
{
  size_t n = 0;
  for (dlist_node_t *it = sw->chans.next; it != &sw->chans; it = it->next)
    n++;
  if (!n)
    return 0;
  channel_t **v = al_calloc(n, sizeof(*v));
  size_t k = 0;
  for (dlist_node_t *it = sw->chans.next; it != &sw->chans && k < n;
       it = it->next)
    v[k++] = DLIST_ENTRY(it, cs_chan_t, all_node)->ch;
  for (size_t i = 0; i < k; i++)
    if (v[i])
      channel_close(v[i], CHANNEL_CLOSE_REQUESTED);   /* -> dead list */
  al_free(v);
  return k;
}
