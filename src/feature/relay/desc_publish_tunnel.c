/* desc_publish_tunnel.c -- an HTTP request to a directory authority over a
 * BEGIN_DIR stream (tor-spec 6.2) on a one-hop CREATE_FAST circuit
 * (tor-spec 5.1.5) through a channel to its ORPort (tor-spec 2-4): how a
 * relay uploads its descriptor to an authority it cannot reach on a DirPort
 * (dir-spec 2.1).  See desc_publish_tunnel.h. */
#define LOG_MODULE "relay"
#include "desc_publish_tunnel.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_origin_table.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

struct desc_tunnel_t {
  desc_tunnel_cbs_t cbs;
  bool detached;
  channel_t *ch;
  circ_mgr_t *mgr;
  uint32_t circ_id;
  uint16_t stream_id;
  uint8_t rsa_id[20];
  uint8_t *req;
  size_t req_len;
  desc_tunnel_t *next;         /* the caller's graveyard */
};

/* Report the end once and stop. */
static void
tunnel_end(desc_tunnel_t *t, bool clean, const char *why)
{
  if (t->detached)
    return;
  desc_tunnel_cbs_t cbs = t->cbs;
  desc_tunnel_detach(t);
  if (cbs.on_end)
    cbs.on_end(clean, why, cbs.arg);
}

static void
on_stream(circ_mgr_t *m, uint32_t circ_id, const relay_stream_event_t *ev,
          void *arg)
{
  desc_tunnel_t *t = arg;
  (void)m;
  if (t->detached || circ_id != t->circ_id || ev->stream_id != t->stream_id)
    return;
  switch (ev->type) {
  case RELAY_STREAM_EV_DATA:
    if (t->cbs.on_data)
      t->cbs.on_data(ev->data, ev->len, t->cbs.arg);
    return;
  case RELAY_STREAM_EV_END:
    t->stream_id = 0;
    tunnel_end(t, ev->reason == RELAY_END_DONE, ev->reason == RELAY_END_DONE
               ? "stream done" : "the authority ended the stream");
    return;
  case RELAY_STREAM_EV_ERROR:
    tunnel_end(t, false, "stream protocol error");
    return;
  default:
    return;
  }
}

static void
on_circ(circ_mgr_t *m, uint32_t circ_id, const circ_event_t *ev, void *arg)
{
  desc_tunnel_t *t = arg;
  if (t->detached || circ_id != t->circ_id)
    return;
  if (ev->type == CIRC_EV_HOP_ADDED) {
    circ_origin_t *c = circ_mgr_get(m, circ_id);
    relay_streams_t *s;
    circ_origin_build_done(c);
    if (!(s = circ_origin_attach_streams(c, 0)) ||
        relay_stream_begin_dir(s, &t->stream_id) < 0 ||
        relay_stream_write(s, t->stream_id, t->req, t->req_len) < 0) {
      tunnel_end(t, false, "cannot open a BEGIN_DIR stream");
      return;
    }
    circ_mgr_flush(m);
  } else if (ev->type == CIRC_EV_CLOSED) {
    t->circ_id = 0;
    tunnel_end(t, false, "circuit closed");
  }
}

static void
ch_on_open(channel_t *ch, void *arg)
{
  desc_tunnel_t *t = arg;
  if (t->detached)
    return;
  circ_mgr_callbacks_t cbs = { on_circ, on_stream, t };
  t->mgr = circ_mgr_new(ch, &cbs);
  circ_hop_spec_t spec;
  memset(&spec, 0, sizeof(spec));
  memcpy(spec.rsa_id, t->rsa_id, 20);
  if (!t->mgr || circ_mgr_launch_fast(t->mgr, &spec, 0, 0, &t->circ_id) < 0)
    tunnel_end(t, false, "cannot launch a circuit");
}

static void
ch_on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  desc_tunnel_t *t = arg;
  (void)ch;
  if (!t->detached && t->mgr) {
    circ_mgr_handle_cell(t->mgr, cell);
    circ_mgr_flush(t->mgr);
  }
}

static void
ch_on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  desc_tunnel_t *t = arg;
  (void)ch;
  if (t->detached)
    return;
  if (t->mgr)
    circ_mgr_channel_closed(t->mgr);
  tunnel_end(t, false, why && *why ? why : channel_close_reason_name(reason));
}

desc_tunnel_t *
desc_tunnel_start(struct event_base *base, tls_context_t *tls,
                  const uint8_t ipv4[4], uint16_t orport,
                  const uint8_t rsa_id[20], const uint8_t *req, size_t len,
                  const desc_tunnel_cbs_t *cbs)
{
  if (!base || !tls || !orport || !req || !len || !cbs)
    return NULL;
  desc_tunnel_t *t = al_calloc(1, sizeof(*t));
  t->cbs = *cbs;
  memcpy(t->rsa_id, rsa_id, 20);
  t->req = al_memdup(req, len);
  t->req_len = len;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(orport);
  memcpy(&sin.sin_addr, ipv4, 4);
  channel_target_t tg = { (const struct sockaddr *)&sin, sizeof(sin),
                          t->rsa_id, NULL };
  channel_callbacks_t ccb = { ch_on_open, ch_on_cell, ch_on_close, t };
  t->ch = channel_connect(base, tls, &tg, &ccb);
  if (!t->ch) {
    t->detached = true;
    desc_tunnel_free(t);
    return NULL;
  }
  return t;
}

void
desc_tunnel_detach(desc_tunnel_t *t)
{
  if (!t || t->detached)
    return;
  t->detached = true;
  if (t->ch && channel_state(t->ch) != CHANNEL_STATE_CLOSED)
    channel_close(t->ch, CHANNEL_CLOSE_REQUESTED);
}

void
desc_tunnel_free_(desc_tunnel_t *t)
{
  if (!t)
    return;
  desc_tunnel_detach(t);
  circ_mgr_free(t->mgr);
  channel_free(t->ch);
  al_free(t->req);
  al_free(t);
}

desc_tunnel_t **
desc_tunnel_next(desc_tunnel_t *t)
{
  return &t->next;
}
