/* origin_channels.c -- the channel table of a node's own (origin)
 * circuits: one channel per relay RSA identity (tor-spec 2, 4), multi-hop
 * origin circuits built hop by hop over them (tor-spec 5.1 CREATE2, 5.1.5
 * CREATE_FAST, 5.3 EXTEND2, 5.4 teardown), a 1-second timer for build
 * deadlines, stream expiry and reaping.  The API keeps its historical
 * prefix chanmgr_.  See include/allium/core/mainloop/origin_channels.h.
 *
 * Lookups on the cell path are constant time: circuits by handle and by
 * (channel, circuit id), channels by identity, all in lib/container hash
 * maps that hold live entries only; the lists are walked by the timer.
 *
 * ORCONN events (control-spec 4.1.3) go to the control bus
 * (core/mainloop/ctlbus.h) for every channel: LAUNCHED, CONNECTED, FAILED,
 * CLOSED, each with a process-wide connection ID; "orconn-status" text
 * comes from chanmgr_orconn_status().
 *
 * Memory discipline: owner callbacks may re-enter any chanmgr function, so
 * nothing is ever unlinked or freed while a callback may be on the stack.
 * Closed circuits and closed channels are only marked dead; the timer (and
 * chanmgr_free) reaps them from the top of the event loop.
 */
#define LOG_MODULE "chanmgr"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_origin_table.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define CHANMGR_TICK_MSEC 1000
#define CHANMGR_DEFAULT_IDLE_MSEC (3u * 60u * 1000u)
#define CHANMGR_DEFAULT_KEEPALIVE_MSEC (5u * 60u * 1000u)

/* One channel to one relay identity. */
typedef struct cm_chan_t {
  chanmgr_t *cm;
  channel_t *ch;
  circ_mgr_t *mgr;            /**< created when the channel opens */
  uint8_t rsa_id[20];
  bool open;                  /**< on_open ran */
  bool dead;                  /**< closed: never reused, reaped later */
  size_t n_circs;             /**< cm_circ_t (live or dead) pointing here */
  hmap_t *by_id;              /**< live started circuits by circuit id */
  uint64_t ctl_id;            /**< ORCONN ID (control-spec 4.1.3) */
  struct cm_chan_t *next;
} cm_chan_t;

/* One circuit we launched. */
typedef struct cm_circ_t {
  uint64_t handle;
  cm_chan_t *chan;
  uint32_t circ_id;           /**< valid once started */
  bool started;               /**< given to chan->mgr */
  circ_origin_t *origin;      /**< chan->mgr's circuit once started; it is
                               *   freed only after its CLOSED event made
                               *   this one dead */
  bool built;                 /**< on_built ran (or is about to) */
  bool dead;                  /**< on_closed ran; reaped later */
  bool fast_first;
  size_t n_hops;
  size_t hops_done;           /**< HOP_ADDED events seen */
  circ_hop_spec_t hops[CIRC_ORIGIN_MAX_HOPS];
  uint64_t deadline;          /**< monotonic msec; 0: none */
  chanmgr_circ_cbs_t cbs;
  struct cm_circ_t *next;
} cm_circ_t;

struct chanmgr_t {
  struct event_base *base;
  tls_context_t *tls;
  struct event *timer;
  struct event *oom_ev;       /**< the deferred MaxMemInQueues pass */
  cm_chan_t *chans;
  cm_circ_t *circs;
  hmap_t *by_handle;          /**< live circuits by handle (8-byte key) */
  cm_circ_t *last;            /**< the last live circuit found by handle */
  hmap_t *by_rsa;             /**< usable channels by RSA identity */
  uint64_t next_handle;
  uint32_t idle_msec;
  uint32_t keepalive_msec;
  bool freeing;
  chanmgr_name_fn namer;      /**< relay nicknames for the control port */
  void *namer_arg;
};

/* ORCONN IDs: process-wide, from 1 (as tor's global connection IDs). */
static uint64_t next_orconn_id = 1;

/* ---- lookups ---- */

/* A live circuit by handle: the last one found first, then the map. */
static cm_circ_t *
find_circ(const chanmgr_t *cm, uint64_t handle)
{
  if (!cm || handle == 0)
    return NULL;
  if (cm->last && cm->last->handle == handle)
    return cm->last;
  cm_circ_t *x = hmap_get_u64(cm->by_handle, handle);
  if (x)
    ((chanmgr_t *)cm)->last = x;
  return x;
}

static cm_circ_t *
find_circ_by_id(const cm_chan_t *chan, uint32_t circ_id)
{
  return chan->by_id ? hmap_get(chan->by_id, &circ_id) : NULL;
}

/* x got circuit id id on its channel. */
static void
circ_set_started(cm_circ_t *x, uint32_t id)
{
  x->circ_id = id;
  x->started = true;
  x->origin = circ_mgr_get(x->chan->mgr, id);
  (void)hmap_put(x->chan->by_id, &id, x, NULL);
}

/* x is dead: leave the lookup maps (the lists keep it until reaped). */
static void
circ_unmap(cm_circ_t *x)
{
  if (x->chan->cm->last == x)
    x->chan->cm->last = NULL;
  x->origin = NULL;
  if (hmap_get_u64(x->chan->cm->by_handle, x->handle) == x)
    (void)hmap_remove_u64(x->chan->cm->by_handle, x->handle);
  if (x->started && find_circ_by_id(x->chan, x->circ_id) == x)
    (void)hmap_remove(x->chan->by_id, &x->circ_id);
}

/* chan is dead: no new circuit may pick it. */
static void
chan_unmap(cm_chan_t *chan)
{
  if (hmap_get(chan->cm->by_rsa, chan->rsa_id) == chan)
    (void)hmap_remove(chan->cm->by_rsa, chan->rsa_id);
}

/* The circ_origin_t of a started live circuit, or NULL. */
static circ_origin_t *
circ_of(cm_circ_t *x)
{
  if (!x || x->dead || !x->started || !x->chan->mgr)
    return NULL;
  return x->origin;
}

/* ---- control port (control-spec 4.1.3 ORCONN) ---- */

/* "$FP~nick" (or "$FP" when the nickname is unknown) of chan's relay. */
static void
chan_long_name(const cm_chan_t *chan, char *buf, size_t len)
{
  char fp[41];
  base16_encode(fp, sizeof(fp), chan->rsa_id, 20);
  const char *nick = chan->cm->namer
    ? chan->cm->namer(chan->rsa_id, chan->cm->namer_arg) : NULL;
  snprintf(buf, len, "$%s%s%s", fp, nick && *nick ? "~" : "",
           nick && *nick ? nick : "");
}

static size_t
chan_n_live_circs(const cm_chan_t *chan)
{
  size_t n = 0;
  for (const cm_circ_t *x = chan->cm->circs; x; x = x->next)
    n += x->chan == chan && !x->dead;
  return n;
}

/* control-spec 4.1.3 OR connection closure reasons. */
static const char *
orconn_reason(int reason)
{
  switch (reason) {
  case CHANNEL_CLOSE_REQUESTED: return "DONE";
  case CHANNEL_CLOSE_CONNECT_FAILED: return "CONNECTREFUSED";
  case CHANNEL_CLOSE_TLS_ERROR: return "IOERROR";
  case CHANNEL_CLOSE_EOF: return "DONE";
  case CHANNEL_CLOSE_IO_ERROR: return "IOERROR";
  case CHANNEL_CLOSE_HANDSHAKE_FAILED: return "MISC";
  case CHANNEL_CLOSE_PROTOCOL: return "MISC";
  case CHANNEL_CLOSE_TIMEOUT: return "TIMEOUT";
  case CHANNEL_CLOSE_IDLE: return "DONE";
  default: return "MISC";
  }
}

/* One ORCONN event; reason < 0: none. */
static void
chan_publish(const cm_chan_t *chan, const char *status, int reason)
{
  if (!ctlev_wanted(CTLEV_ORCONN))
    return;
  char name[80], ncircs[32] = "";
  chan_long_name(chan, name, sizeof(name));
  size_t n = chan_n_live_circs(chan);
  if (n)
    snprintf(ncircs, sizeof(ncircs), " NCIRCS=%zu", n);
  ctlev_publish(CTLEV_ORCONN, "%s %s%s%s%s ID=%llu", name, status,
                reason >= 0 ? " REASON=" : "",
                reason >= 0 ? orconn_reason(reason) : "", ncircs,
                (unsigned long long)chan->ctl_id);
}

void
chanmgr_set_namer(chanmgr_t *cm, chanmgr_name_fn fn, void *arg)
{
  if (!cm)
    return;
  cm->namer = fn;
  cm->namer_arg = arg;
}

char *
chanmgr_orconn_status(const chanmgr_t *cm)
{
  size_t cap = 128, len = 0;
  char *out = al_malloc(cap);
  out[0] = '\0';
  for (const cm_chan_t *c = cm ? cm->chans : NULL; c; c = c->next) {
    if (c->dead)
      continue;
    char name[80];
    chan_long_name(c, name, sizeof(name));
    size_t need = strlen(name) + 16;
    if (len + need + 1 > cap) {
      cap = (len + need + 1) * 2;
      out = al_realloc(out, cap);
    }
    int w = snprintf(out + len, cap - len, "%s%s %s", len ? "\n" : "", name,
                     c->open ? "CONNECTED" : "LAUNCHED");
    if (w > 0)
      len += (size_t)w;
  }
  return out;
}

/* ---- ending circuits ---- */

/* Report the end of x to its owner (once) and mark it dead. */
static void
circ_finish(cm_circ_t *x, uint8_t reason, bool remote, const char *what)
{
  if (x->dead)
    return;
  x->dead = true;
  circ_unmap(x);
  chanmgr_close_info_t info;
  memset(&info, 0, sizeof(info));
  info.reason = reason;
  info.remote = remote;
  info.was_built = x->built;
  info.failed_hop = x->built ? CIRC_HOP_NONE
                    : (uint8_t)(x->hops_done < CIRC_HOP_NONE ? x->hops_done
                                                              : CIRC_HOP_NONE);
  info.what = what ? what : "closed";
  if (x->built)
    log_info("circuit %llu (%zu hops) closed: %s (%s%s)",
             (unsigned long long)x->handle, x->n_hops, info.what,
             cell_destroy_reason_name(reason), remote ? ", remote" : "");
  else
    log_info("circuit %llu failed at hop %u of %zu: %s (%s%s)",
             (unsigned long long)x->handle, (unsigned)info.failed_hop,
             x->n_hops, info.what, cell_destroy_reason_name(reason),
             remote ? ", remote" : "");
  if (x->cbs.on_closed)
    x->cbs.on_closed(x->chan->cm, x->handle, &info, x->cbs.arg);
}

/* Hand the stream events still queued on c to x's owner (so every stream
 * ends before on_closed). */
static void
drain_streams(cm_circ_t *x, circ_origin_t *c)
{
  relay_streams_t *t = circ_origin_streams(c);
  if (!t)
    return;
  relay_stream_event_t sev;
  bool any = false;
  while (!x->dead && relay_streams_next_event(t, &sev) == 1) {
    any = true;
    if (x->cbs.on_stream)
      x->cbs.on_stream(x->chan->cm, x->handle, &sev, x->cbs.arg);
  }
  if (any)
    memwipe(&sev, sizeof(sev));
}

/* Close x ourselves: DESTROY queued if it got that far, streams ended,
 * on_closed run before returning. */
static void
circ_close_local(cm_circ_t *x, uint8_t reason, const char *what)
{
  if (x->dead)
    return;
  circ_origin_t *c = circ_of(x);
  if (c) {
    circ_origin_close(c, reason);
    drain_streams(x, c);
  }
  circ_finish(x, reason, false, what);
  if (x->started && x->chan->mgr)
    circ_mgr_flush_circ(x->chan->mgr, x->circ_id);   /* the DESTROY */
}

/* ---- building ---- */

/* Give a circuit waiting for its (now open) channel to the circ_mgr. */
static void
circ_start(cm_circ_t *x)
{
  uint32_t id = 0;
  cm_chan_t *chan = x->chan;
  int r;
  if (x->dead || x->started || !chan->mgr)
    return;
  /* Deadlines are ours (they cover the connect): none for circ_origin. */
  if (x->fast_first)
    r = circ_mgr_launch_fast(chan->mgr, &x->hops[0], 0, 0, &id);
  else
    r = circ_mgr_launch(chan->mgr, &x->hops[0], 0, 0, &id);
  if (r < 0) {
    circ_finish(x, CELL_DESTROY_INTERNAL, false, "cannot launch circuit");
    return;
  }
  circ_set_started(x, id);
}

/* The stream table's data sink: DATA from the cell buffer to the owner.
 * x is freed only by reap(), never under a callback. */
static void
circ_on_data(void *arg, uint16_t stream_id, const uint8_t *data, size_t len)
{
  cm_circ_t *x = arg;
  if (!x->dead && x->cbs.on_data)
    x->cbs.on_data(x->chan->cm, x->handle, stream_id, data, len, x->cbs.arg);
}

/* Hop number hop is in: tell the owner, then extend or finish. */
static void
circ_hop_added(cm_circ_t *x, unsigned hop)
{
  chanmgr_t *cm = x->chan->cm;
  if (hop + 1 > x->hops_done)
    x->hops_done = hop + 1;
  log_debug("circuit %llu: hop %u of %zu added",
            (unsigned long long)x->handle, hop, x->n_hops);
  if (x->cbs.on_hop)
    x->cbs.on_hop(cm, x->handle, hop, x->cbs.arg);
  circ_origin_t *c = circ_of(x);
  if (!c || x->built)
    return;
  if (x->hops_done < x->n_hops) {
    if (circ_origin_extend(c, &x->hops[x->hops_done]) < 0)
      circ_close_local(x, CELL_DESTROY_INTERNAL, "cannot extend");
    return;
  }
  circ_origin_build_done(c);
  relay_streams_t *t = circ_origin_attach_streams(c, x->n_hops - 1);
  if (!t) {
    circ_close_local(x, CELL_DESTROY_INTERNAL, "cannot attach streams");
    return;
  }
  if (x->cbs.on_data)
    relay_streams_set_data_sink(t, circ_on_data, x);
  x->built = true;
  log_info("circuit %llu built (%zu hops)", (unsigned long long)x->handle,
           x->n_hops);
  if (x->cbs.on_built)
    x->cbs.on_built(cm, x->handle, x->cbs.arg);
}

/* ---- circ_mgr callbacks (arg: the cm_chan_t) ---- */

static void
mgr_on_circ(circ_mgr_t *m, uint32_t circ_id, const circ_event_t *ev,
            void *arg)
{
  cm_chan_t *chan = arg;
  (void)m;
  cm_circ_t *x = find_circ_by_id(chan, circ_id);
  if (!x)
    return;   /* closed by us already */
  switch (ev->type) {
  case CIRC_EV_HOP_ADDED:
    circ_hop_added(x, ev->hop);
    break;
  case CIRC_EV_CLOSED:
    circ_finish(x, ev->reason, ev->remote,
                chan->dead ? "channel closed" : ev->what);
    break;
  case CIRC_EV_RELAY_MSG:
    if (x->cbs.on_relay_msg)
      x->cbs.on_relay_msg(chan->cm, x->handle, ev, x->cbs.arg);
    else
      log_debug("circuit %llu: relay command %u unhandled",
                (unsigned long long)x->handle, ev->command);
    break;
  default:
    log_debug("circuit %llu: event %d ignored", (unsigned long long)x->handle,
              (int)ev->type);
    break;
  }
}

static void
mgr_on_stream(circ_mgr_t *m, uint32_t circ_id, const relay_stream_event_t *ev,
              void *arg)
{
  cm_chan_t *chan = arg;
  (void)m;
  cm_circ_t *x = find_circ_by_id(chan, circ_id);
  if (x && x->cbs.on_stream)
    x->cbs.on_stream(chan->cm, x->handle, ev, x->cbs.arg);
}

/* ---- channel callbacks (arg: the cm_chan_t) ---- */

static void
ch_on_open(channel_t *ch, void *arg)
{
  cm_chan_t *chan = arg;
  chanmgr_t *cm = chan->cm;
  if (cm->freeing || chan->dead)
    return;
  chan->open = true;
  chan_publish(chan, "CONNECTED", -1);
  log_info("channel to a relay open (link protocol %u)",
           channel_linkproto(ch));
  channel_set_idle_timeout(ch, cm->idle_msec);
  channel_set_keepalive(ch, cm->keepalive_msec);
  circ_mgr_callbacks_t mcb = { mgr_on_circ, mgr_on_stream, chan };
  chan->mgr = circ_mgr_new(ch, &mcb);
  /* Circuits launched from callbacks below start at once (the channel is
   * open now) and are skipped here; nothing is unlinked meanwhile. */
  for (cm_circ_t *x = cm->circs; x; x = x->next)
    if (x->chan == chan && !x->dead && !x->started) {
      circ_start(x);
      if (chan->dead)
        break;
    }
}

static void
ch_on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  cm_chan_t *chan = arg;
  (void)ch;
  if (!chan->cm->freeing && !chan->dead && chan->mgr)
    circ_mgr_handle_cell(chan->mgr, cell);
}

static void
ch_on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  cm_chan_t *chan = arg;
  chanmgr_t *cm = chan->cm;
  (void)ch;
  if (chan->dead)
    return;
  chan->dead = true;
  chan_unmap(chan);
  if (cm->freeing)
    return;
  chan_publish(chan, chan->open ? "CLOSED" : "FAILED", reason);
  log_info("channel to a relay closed: %s%s%s",
           channel_close_reason_name(reason), why && *why ? ": " : "",
           why && *why ? why : "");
  if (chan->mgr)
    circ_mgr_channel_closed(chan->mgr);
  /* Circuits still waiting for the channel, and any whose CLOSED event the
   * circ_mgr could not deliver now (a flush already running). */
  uint8_t r = chan->open ? CELL_DESTROY_CHANNEL_CLOSED
                         : CELL_DESTROY_CONNECTFAILED;
  const char *what = chan->open ? "channel closed"
                                : channel_close_reason_name(reason);
  for (cm_circ_t *x = cm->circs; x; x = x->next) {
    if (x->chan != chan || x->dead)
      continue;
    circ_origin_t *c = circ_of(x);
    if (c)
      drain_streams(x, c);
    circ_finish(x, r, false, what);
  }
}

/* ---- channels ---- */

/* Fill ss from the first IPv4 / IPv6 link specifier of hop; 0 or -1. */
static int
hop_sockaddr(const circ_hop_spec_t *hop, struct sockaddr_storage *ss,
             socklen_t *len)
{
  memset(ss, 0, sizeof(*ss));
  for (size_t i = 0; i < hop->n_addr && i < 2; i++) {
    const relay_lspec_t *l = &hop->addr[i];
    if (l->type == RELAY_LSPEC_IPV4) {
      struct sockaddr_in *sin = (struct sockaddr_in *)ss;
      sin->sin_family = AF_INET;
      memcpy(&sin->sin_addr, l->u.ipv4.addr, 4);
      sin->sin_port = htons(l->u.ipv4.port);
      *len = sizeof(*sin);
      return 0;
    }
    if (l->type == RELAY_LSPEC_IPV6) {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
      sin6->sin6_family = AF_INET6;
      memcpy(&sin6->sin6_addr, l->u.ipv6.addr, 16);
      sin6->sin6_port = htons(l->u.ipv6.port);
      *len = sizeof(*sin6);
      return 0;
    }
  }
  return -1;
}

/* A usable (not dead) channel to hop's identity, opening one if needed;
 * NULL if no connection attempt could start. */
static cm_chan_t *
chan_get(chanmgr_t *cm, const circ_hop_spec_t *hop)
{
  struct sockaddr_storage ss;
  socklen_t sslen = 0;
  cm_chan_t *c = hmap_get(cm->by_rsa, hop->rsa_id);
  if (c && !c->dead)
    return c;
  if (hop_sockaddr(hop, &ss, &sslen) < 0)
    return NULL;
  c = al_calloc(1, sizeof(*c));
  c->cm = cm;
  c->by_id = hmap_new(sizeof(uint32_t));
  memcpy(c->rsa_id, hop->rsa_id, 20);
  c->ctl_id = next_orconn_id++;
  chan_publish(c, "LAUNCHED", -1);
  ed25519_public_key_t ed;
  memset(&ed, 0, sizeof(ed));
  _Static_assert(sizeof(ed.pubkey) == sizeof(hop->ed_id), "ed25519 size");
  if (hop->has_ed_id)
    memcpy(ed.pubkey, hop->ed_id, sizeof(ed.pubkey));
  channel_target_t t = { (const struct sockaddr *)&ss, sslen, c->rsa_id,
                         hop->has_ed_id ? &ed : NULL };
  channel_callbacks_t ccb = { ch_on_open, ch_on_cell, ch_on_close, c };
  c->ch = channel_connect(cm->base, cm->tls, &t, &ccb);
  if (!c->ch) {
    if (!c->dead)
      chan_publish(c, "FAILED", CHANNEL_CLOSE_CONNECT_FAILED);
    hmap_free(c->by_id);
    al_free(c);
    return NULL;
  }
  log_info("opening a channel to a relay");
  /* Listed even if it already failed (closed from inside channel_connect):
   * the timer reaps it. */
  c->next = cm->chans;
  cm->chans = c;
  if (!c->dead)
    (void)hmap_put(cm->by_rsa, c->rsa_id, c, NULL);
  return c->dead ? NULL : c;
}

/* ---- timer and reaping ---- */

/* Free dead circuits, then dead channels no circuit points to.  Only from
 * the top of the loop (no callback on the stack). */
static void
reap(chanmgr_t *cm)
{
  cm_circ_t **pp = &cm->circs;
  while (*pp) {
    cm_circ_t *x = *pp;
    if (!x->dead) {
      pp = &x->next;
      continue;
    }
    *pp = x->next;
    circ_unmap(x);
    x->chan->n_circs--;
    memwipe(x, sizeof(*x));
    al_free(x);
  }
  cm_chan_t **cp = &cm->chans;
  while (*cp) {
    cm_chan_t *c = *cp;
    if (!c->dead || c->n_circs > 0) {
      cp = &c->next;
      continue;
    }
    *cp = c->next;
    chan_unmap(c);
    circ_mgr_free(c->mgr);
    channel_free(c->ch);
    hmap_free(c->by_id);
    al_free(c);
  }
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
  chanmgr_t *cm = arg;
  (void)fd;
  (void)what;
  uint64_t now = evloop_monotonic_msec();
  for (cm_circ_t *x = cm->circs; x; x = x->next)
    if (!x->dead && !x->built && x->deadline && now >= x->deadline)
      circ_close_local(x, CELL_DESTROY_TIMEOUT, "build timed out");
  /* circ_mgr_tick's clock only feeds relay_streams_set_time() here (our
   * circuits have no circ_origin deadline), which counts in seconds. */
  for (cm_chan_t *c = cm->chans; c; c = c->next)
    if (!c->dead && c->mgr)
      circ_mgr_tick(c->mgr, now / 1000);
  reap(cm);
}

/* ---- MaxMemInQueues: the OOM pass (tor(1) MaxMemInQueues) ---- */

typedef struct oom_victim_t {
  cm_circ_t *x;
  uint64_t oldest;            /**< when its oldest queued byte came */
} oom_victim_t;

static int
oom_victim_cmp(const void *a, const void *b)
{
  uint64_t x = ((const oom_victim_t *)a)->oldest;
  uint64_t y = ((const oom_victim_t *)b)->oldest;
  return x < y ? -1 : x > y;
}

size_t
chanmgr_oom_pass(chanmgr_t *cm)
{
  uint64_t need = relay_mem_to_free(), before = relay_mem_total();
  if (!cm || !need)
    return 0;
  size_t n = 0, k = 0, freed = 0, closed = 0;
  for (cm_circ_t *x = cm->circs; x; x = x->next)
    n += circ_of(x) != NULL;
  oom_victim_t *v = al_calloc(n ? n : 1, sizeof(*v));
  for (cm_circ_t *x = cm->circs; x && k < n; x = x->next) {
    circ_origin_t *c = circ_of(x);
    uint64_t oldest = 0;
    if (c && relay_streams_queued(circ_origin_streams(c), &oldest) > 0)
      v[k++] = (oom_victim_t){ x, oldest };
  }
  qsort(v, k, sizeof(*v), oom_victim_cmp);
  for (size_t i = 0; i < k && freed < need; i++) {
    circ_origin_t *c = circ_of(v[i].x);   /* NULL if a callback closed it */
    if (!c)
      continue;
    freed += relay_streams_drop_queued(circ_origin_streams(c));
    circ_close_local(v[i].x, CELL_DESTROY_RESOURCELIMIT,
                     "out of memory for queues");
    closed++;
  }
  al_free(v);
  log_notice_rl(10, "MaxMemInQueues: %llu bytes queued, over the limit of "
                "%llu: closed %zu circuit(s) holding the oldest queued "
                "data, freeing %zu bytes (%llu queued now).",
                (unsigned long long)before,
                (unsigned long long)relay_mem_limit(), closed, freed,
                (unsigned long long)relay_mem_total());
  return freed;
}

static void
on_oom_ev(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  (void)chanmgr_oom_pass(arg);
}

/* Called from inside a queue write: never free there, run at the top of
 * the loop. */
static void
on_mem_over_limit(void *arg)
{
  chanmgr_t *cm = arg;
  if (cm->oom_ev)
    event_active(cm->oom_ev, EV_TIMEOUT, 0);
}

/* ---- API ---- */

chanmgr_t *
chanmgr_new(struct event_base *base, tls_context_t *tls)
{
  if (!base || !tls)
    return NULL;
  chanmgr_t *cm = al_calloc(1, sizeof(*cm));
  cm->base = base;
  cm->tls = tls;
  cm->next_handle = 1;
  cm->idle_msec = CHANMGR_DEFAULT_IDLE_MSEC;
  cm->keepalive_msec = CHANMGR_DEFAULT_KEEPALIVE_MSEC;
  cm->by_handle = hmap_new(sizeof(uint64_t));
  cm->by_rsa = hmap_new(20);
  cm->timer = event_new(base, -1, EV_PERSIST, on_tick, cm);
  struct timeval tv = { CHANMGR_TICK_MSEC / 1000,
                        (CHANMGR_TICK_MSEC % 1000) * 1000 };
  if (!cm->timer || event_add(cm->timer, &tv) < 0) {
    if (cm->timer)
      event_free(cm->timer);
    hmap_free(cm->by_handle);
    hmap_free(cm->by_rsa);
    al_free(cm);
    return NULL;
  }
  cm->oom_ev = event_new(base, -1, 0, on_oom_ev, cm);
  relay_mem_set_oom_cb(on_mem_over_limit, cm);
  return cm;
}

void
chanmgr_free_(chanmgr_t *cm)
{
  if (!cm)
    return;
  cm->freeing = true;
  event_free(cm->timer);
  if (cm->oom_ev)
    event_free(cm->oom_ev);
  if (relay_mem_oom_arg() == cm)
    relay_mem_set_oom_cb(NULL, NULL);
  for (cm_chan_t *c = cm->chans; c; c = c->next)
    if (c->ch && channel_state(c->ch) != CHANNEL_STATE_CLOSED)
      channel_close(c->ch, CHANNEL_CLOSE_REQUESTED);
  for (cm_circ_t *x = cm->circs; x; x = x->next)
    x->dead = true;
  for (cm_chan_t *c = cm->chans; c; c = c->next)
    c->dead = true;
  reap(cm);
  hmap_free(cm->by_handle);
  hmap_free(cm->by_rsa);
  al_free(cm);
}

void
chanmgr_set_channel_timeouts(chanmgr_t *cm, uint32_t idle_msec,
                             uint32_t keepalive_msec)
{
  if (!cm)
    return;
  cm->idle_msec = idle_msec;
  cm->keepalive_msec = keepalive_msec;
}

static bool
launch_ok(const chanmgr_launch_t *l)
{
  if (!l || !l->hops || l->n_hops == 0 || l->n_hops > CIRC_ORIGIN_MAX_HOPS)
    return false;
  if (l->fast_first && l->n_hops != 1)
    return false;
  for (size_t i = 0; i < l->n_hops; i++)
    if (l->hops[i].n_addr < 1 || l->hops[i].n_addr > 2)
      return false;
  return true;
}

int
chanmgr_launch(chanmgr_t *cm, const chanmgr_launch_t *l,
               const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out)
{
  if (!cm || cm->freeing || !launch_ok(l))
    return -1;
  cm_chan_t *chan = chan_get(cm, &l->hops[0]);
  if (!chan)
    return -1;
  cm_circ_t *x = al_calloc(1, sizeof(*x));
  x->handle = cm->next_handle++;
  x->chan = chan;
  chan->n_circs++;
  x->fast_first = l->fast_first;
  x->n_hops = l->n_hops;
  memcpy(x->hops, l->hops, l->n_hops * sizeof(*l->hops));
  if (cbs)
    x->cbs = *cbs;
  if (l->timeout_msec)
    x->deadline = evloop_monotonic_msec() + l->timeout_msec;
  if (chan->open && chan->mgr) {
    uint32_t id = 0;
    int r = x->fast_first
      ? circ_mgr_launch_fast(chan->mgr, &x->hops[0], 0, 0, &id)
      : circ_mgr_launch(chan->mgr, &x->hops[0], 0, 0, &id);
    if (r < 0) {
      chan->n_circs--;
      memwipe(x, sizeof(*x));
      al_free(x);
      return -1;
    }
    circ_set_started(x, id);
  }
  x->next = cm->circs;
  cm->circs = x;
  (void)hmap_put_u64(cm->by_handle, x->handle, x);
  if (circ_out)
    *circ_out = x->handle;
  log_debug("circuit %llu launched (%zu hops)", (unsigned long long)x->handle,
            x->n_hops);
  return 0;
}

relay_streams_t *
chanmgr_streams(chanmgr_t *cm, uint64_t circ)
{
  cm_circ_t *x = find_circ(cm, circ);
  circ_origin_t *c = x && x->built ? circ_of(x) : NULL;
  return c ? circ_origin_streams(c) : NULL;
}

const circ_origin_t *
chanmgr_circuit(chanmgr_t *cm, uint64_t circ)
{
  return circ_of(find_circ(cm, circ));
}

void
chanmgr_flush(chanmgr_t *cm, uint64_t circ)
{
  cm_circ_t *x = find_circ(cm, circ);
  if (x && x->started && x->chan->mgr)
    circ_mgr_flush_circ(x->chan->mgr, x->circ_id);
}

int
chanmgr_send(chanmgr_t *cm, uint64_t circ, size_t hop, uint8_t command,
             uint16_t stream_id, const uint8_t *body, size_t len)
{
  cm_circ_t *x = find_circ(cm, circ);
  circ_origin_t *c = x && x->built ? circ_of(x) : NULL;
  if (!c)
    return -1;
  int r = circ_origin_send(c, hop, command, stream_id, body, len);
  circ_mgr_flush_circ(x->chan->mgr, x->circ_id);
  return r < 0 ? r : 0;
}

int
chanmgr_add_virtual_hop(chanmgr_t *cm, uint64_t circ,
                        const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
                        bool service_side, const cc_params_t *cc,
                        uint8_t sendme_inc)
{
  cm_circ_t *x = find_circ(cm, circ);
  circ_origin_t *c = x && x->built ? circ_of(x) : NULL;
  if (!c)
    return -1;
  return circ_origin_add_virtual_hop_cc(c, keys, service_side, cc,
                                        sendme_inc);
}

void
chanmgr_close_circ(chanmgr_t *cm, uint64_t circ, uint8_t reason)
{
  cm_circ_t *x = find_circ(cm, circ);
  if (x)
    circ_close_local(x, reason, "closed by owner");
}

bool
chanmgr_circ_alive(const chanmgr_t *cm, uint64_t circ)
{
  return find_circ(cm, circ) != NULL;
}

int
chanmgr_circ_hop_id(const chanmgr_t *cm, uint64_t circ, size_t hop,
                    uint8_t out[20])
{
  cm_circ_t *x = find_circ(cm, circ);
  if (!x || hop >= x->n_hops || !out)
    return -1;
  memcpy(out, x->hops[hop].rsa_id, 20);
  return 0;
}

size_t
chanmgr_n_channels(const chanmgr_t *cm)
{
  size_t n = 0;
  for (cm_chan_t *c = cm ? cm->chans : NULL; c; c = c->next)
    n += !c->dead;
  return n;
}

size_t
chanmgr_n_circuits(const chanmgr_t *cm)
{
  return cm ? hmap_count(cm->by_handle) : 0;
}
