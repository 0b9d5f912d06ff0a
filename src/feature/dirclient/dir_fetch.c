/* dir_fetch.c -- directory fetches over a one-hop CREATE_FAST circuit and
 * BEGIN_DIR streams (tor-spec 5.1.5, 6.2; dir-spec 4, 6): channel ->
 * circuit -> one stream per request, run one after the other, responses
 * parsed by the sans-IO dir_http parser.  See
 * include/allium/feature/dirclient/dir_fetch.h. */
#define LOG_MODULE "dirclient"
#include "allium/feature/dirclient/dir_fetch.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_origin_table.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <event2/event.h>
#include <string.h>

struct dir_fetch_t {
  struct event_base *base;
  dir_fetch_callbacks_t cbs;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  uint8_t rsa_id[20];
  dir_fetch_request_t *reqs;   /**< paths point into paths[] */
  char **paths;                /**< owned copies */
  size_t n_reqs;
  size_t cur;                  /**< request in progress (== n_reqs: none) */
  channel_t *ch;
  circ_mgr_t *mgr;
  uint32_t circ_id;
  bool circ_open;
  uint16_t stream_id;          /**< 0: no stream in progress */
  dir_http_parser_t *parser;
  struct event *timer;
  bool finished;
};

static void
progress(dir_fetch_t *f, int pct, const char *tag)
{
  if (f->cbs.on_progress)
    f->cbs.on_progress(pct, tag, f->cbs.arg);
}

/* Report the end (once); the channel is closed if still open. */
static void
finish(dir_fetch_t *f, int err, const char *why)
{
  if (f->finished)
    return;
  f->finished = true;
  if (f->timer)
    evtimer_del(f->timer);
  if (err)
    log_info_rl(60, "directory fetch failed: %s", why);
  if (f->ch && channel_state(f->ch) != CHANNEL_STATE_CLOSED)
    channel_close(f->ch, CHANNEL_CLOSE_REQUESTED);
  if (f->cbs.on_done)
    f->cbs.on_done(err, why, f->cbs.arg);
}

static void
result(dir_fetch_t *f, int status, const uint8_t *body, size_t len,
       const char *why)
{
  if (f->cbs.on_result)
    f->cbs.on_result(f->cur, status, body, len, why, f->cbs.arg);
}

/* Open the stream for request f->cur and queue its HTTP request. */
static void
start_request(dir_fetch_t *f)
{
  relay_streams_t *t;
  size_t rlen;
  circ_origin_t *c = circ_mgr_get(f->mgr, f->circ_id);
  if (f->cur >= f->n_reqs) {
    finish(f, 0, "done");
    return;
  }
  if (!c || !(t = circ_origin_streams(c))) {
    finish(f, -1, "circuit gone");
    return;
  }
  const dir_fetch_request_t *rq = &f->reqs[f->cur];
  dir_http_request_opts_t o = { .accept_encoding = DIR_HTTP_ACCEPT_ALL };
  char *req = dir_http_request_encode(rq->path, &o, &rlen);
  if (!req) {
    result(f, -1, NULL, 0, "cannot encode the request");
    f->cur++;
    start_request(f);
    return;
  }
  dir_http_limits_t lim;
  dir_http_limits_for_kind(rq->kind, &lim);
  size_t pl = strlen(rq->path);
  dir_http_parser_free(f->parser);
  f->parser = dir_http_parser_new(&lim, pl > 2 &&
                                  !strcmp(rq->path + pl - 2, ".z"));
  if (relay_stream_begin_dir(t, &f->stream_id) < 0 ||
      relay_stream_write(t, f->stream_id, (const uint8_t *)req, rlen) < 0) {
    al_free(req);
    finish(f, -1, "cannot open a BEGIN_DIR stream");
    return;
  }
  al_free(req);
  circ_mgr_flush(f->mgr);
}

/* The current request is over: report, end the stream, go on. */
static void
request_over(dir_fetch_t *f, bool parsed, const char *why)
{
  circ_origin_t *c = circ_mgr_get(f->mgr, f->circ_id);
  relay_streams_t *t = c ? circ_origin_streams(c) : NULL;
  if (parsed) {
    const dir_http_response_t *r = dir_http_parser_response(f->parser);
    result(f, r->status, r->body, r->body_len, NULL);
  } else {
    result(f, -1, NULL, 0, why);
  }
  dir_http_parser_free(f->parser);
  if (t && relay_stream_state(t, f->stream_id) != RELAY_STREAM_NONE)
    (void)relay_stream_end(t, f->stream_id, RELAY_END_DONE);
  f->stream_id = 0;
  f->cur++;
  if (!f->finished)
    start_request(f);
}

static void
on_stream(circ_mgr_t *m, uint32_t circ_id, const relay_stream_event_t *ev,
          void *arg)
{
  dir_fetch_t *f = arg;
  (void)m;
  if (f->finished || circ_id != f->circ_id || ev->stream_id != f->stream_id ||
      f->stream_id == 0)
    return;
  int r;
  switch (ev->type) {
  case RELAY_STREAM_EV_CONNECTED:
    return;
  case RELAY_STREAM_EV_DATA:
    r = dir_http_parser_feed(f->parser, ev->data, ev->len);
    if (r == DIR_HTTP_DONE)
      request_over(f, true, NULL);
    else if (r == DIR_HTTP_ERROR)
      request_over(f, false, dir_http_parser_error(f->parser));
    return;
  case RELAY_STREAM_EV_END:
    f->stream_id = 0;   /* gone already: request_over sends no END */
    r = dir_http_parser_eof(f->parser);
    if (r == DIR_HTTP_DONE)
      request_over(f, true, NULL);
    else
      request_over(f, false, ev->reason == RELAY_END_DESTROY
                   ? "circuit closed" : "stream ended early");
    return;
  case RELAY_STREAM_EV_ERROR:
    request_over(f, false, "stream protocol error");
    return;
  default:
    return;
  }
}

static void
on_circ(circ_mgr_t *m, uint32_t circ_id, const circ_event_t *ev, void *arg)
{
  dir_fetch_t *f = arg;
  if (f->finished || circ_id != f->circ_id)
    return;
  if (ev->type == CIRC_EV_HOP_ADDED) {
    circ_origin_t *c = circ_mgr_get(m, circ_id);
    circ_origin_build_done(c);
    if (!circ_origin_attach_streams(c, 0)) {
      finish(f, -1, "cannot attach streams");
      return;
    }
    f->circ_open = true;
    progress(f, 15, "onehop_create");
    start_request(f);
  } else if (ev->type == CIRC_EV_CLOSED) {
    f->circ_id = 0;
    finish(f, -1, f->circ_open ? "circuit closed" : "circuit build failed");
  }
}

static void
ch_on_open(channel_t *ch, void *arg)
{
  dir_fetch_t *f = arg;
  if (f->finished)
    return;
  progress(f, 10, "conn_done");
  circ_mgr_callbacks_t cbs = { on_circ, on_stream, f };
  f->mgr = circ_mgr_new(ch, &cbs);
  circ_hop_spec_t spec;
  memset(&spec, 0, sizeof(spec));
  memcpy(spec.rsa_id, f->rsa_id, sizeof(spec.rsa_id));
  if (circ_mgr_launch_fast(f->mgr, &spec, 0, 0, &f->circ_id) < 0)
    finish(f, -1, "cannot launch a circuit");
}

static void
ch_on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  dir_fetch_t *f = arg;
  (void)ch;
  if (!f->finished && f->mgr)
    circ_mgr_handle_cell(f->mgr, cell);
}

static void
ch_on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  dir_fetch_t *f = arg;
  (void)ch;
  if (f->mgr)
    circ_mgr_channel_closed(f->mgr);
  log_info("directory channel closed: %s", channel_close_reason_name(reason));
  finish(f, -1, why && *why ? why : channel_close_reason_name(reason));
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  finish(arg, -1, "timed out");
}

dir_fetch_t *
dir_fetch_start(struct event_base *base, tls_context_t *tls,
                const dir_fetch_server_t *srv,
                const dir_fetch_request_t *reqs, size_t n_reqs,
                uint32_t timeout_msec, const dir_fetch_callbacks_t *cbs)
{
  if (!base || !tls || !srv || !srv->addr || srv->addrlen == 0 ||
      srv->addrlen > sizeof(struct sockaddr_storage) || (n_reqs && !reqs))
    return NULL;
  for (size_t i = 0; i < n_reqs; i++)
    if (!reqs[i].path)
      return NULL;
  dir_fetch_t *f = al_calloc(1, sizeof(*f));
  f->base = base;
  if (cbs)
    f->cbs = *cbs;
  memcpy(&f->addr, srv->addr, srv->addrlen);
  f->addrlen = srv->addrlen;
  memcpy(f->rsa_id, srv->rsa_id, sizeof(f->rsa_id));
  f->n_reqs = n_reqs;
  f->reqs = al_calloc(n_reqs ? n_reqs : 1, sizeof(*f->reqs));
  f->paths = al_calloc(n_reqs ? n_reqs : 1, sizeof(*f->paths));
  for (size_t i = 0; i < n_reqs; i++) {
    f->paths[i] = al_strdup(reqs[i].path);
    f->reqs[i].kind = reqs[i].kind;
    f->reqs[i].path = f->paths[i];
  }
  f->timer = evtimer_new(base, on_timeout, f);
  if (f->timer && timeout_msec) {
    struct timeval tv = { (time_t)(timeout_msec / 1000),
                          (suseconds_t)(timeout_msec % 1000) * 1000 };
    evtimer_add(f->timer, &tv);
  }
  channel_target_t t = { (const struct sockaddr *)&f->addr, f->addrlen,
                         f->rsa_id, NULL };
  channel_callbacks_t ccb = { ch_on_open, ch_on_cell, ch_on_close, f };
  f->ch = channel_connect(base, tls, &t, &ccb);
  if (!f->timer || !f->ch) {
    f->finished = true;
    dir_fetch_free(f);
    return NULL;
  }
  progress(f, 5, "conn");
  return f;
}

void
dir_fetch_free_(dir_fetch_t *f)
{
  if (!f)
    return;
  f->finished = true;
  if (f->ch && channel_state(f->ch) != CHANNEL_STATE_CLOSED)
    channel_close(f->ch, CHANNEL_CLOSE_REQUESTED);
  circ_mgr_free(f->mgr);
  channel_free(f->ch);
  if (f->timer)
    event_free(f->timer);
  dir_http_parser_free(f->parser);
  for (size_t i = 0; i < f->n_reqs; i++)
    al_free(f->paths[i]);
  al_free(f->paths);
  al_free(f->reqs);
  al_free(f);
}
