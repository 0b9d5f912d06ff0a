/* hs_service_upload.c -- one onion-service descriptor to one HSDir
 * (rend-spec-v3 2.2.6 "POST /tor/hs/3/publish" on a BEGIN_DIR stream,
 * tor-spec 6.2; dir-spec 1 / 6 HTTP/1.0 requests and answers).  See
 * hs_service_upload.h.  Logs carry no descriptor, onion address or blinded
 * key; the HSDir's nickname only at debug level.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define LOG_MODULE "hs"

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_msg.h"
#include "allium/core/stream/stream.h"
#include "allium/feature/hs_service/hs_service_publish.h"
#include "allium/feature/hs_service/hs_service_upload.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define DEFAULT_ATTEMPT_MSEC 30000
#define DEFAULT_MAX_PENDING 32
/* Most of an answer we keep: tor's answer to a publish is a head alone. */
#define RESP_MAX (16 * 1024)
/* A status line must end within this. */
#define STATUS_LINE_MAX (8 * 1024)

typedef struct upload_t {
  struct upload_t *next;
  hs_service_uploader_t *u;
  hs_service_upload_cb cb;
  void *arg;
  char *req;                /* the request, until written */
  size_t req_len;
  uint64_t circ;            /* 0: none (or closed by us) */
  uint16_t stream;          /* 0: no stream yet */
  uint8_t *resp;            /* the answer so far */
  size_t resp_len, resp_cap;
  uint64_t deadline_msec;   /* 0: not set yet (set at the next tick) */
  bool dead;                /* finished or withdrawn: freed at a tick */
  char nick[sizeof(((node_t *)0)->nickname)];
} upload_t;

struct hs_service_uploader_t {
  hs_service_upload_cfg_t cfg;
  upload_t *uploads;
};

/* ---- HTTP answers ---- */

int
hs_service_upload_parse_status(const uint8_t *buf, size_t len)
{
  static const char prefix[] = "HTTP/1.";
  const size_t plen = sizeof(prefix) - 1;
  if (!buf)
    return -1;
  size_t lim = len < STATUS_LINE_MAX ? len : STATUS_LINE_MAX;
  size_t eol = 0;
  while (eol + 1 < lim && !(buf[eol] == '\r' && buf[eol + 1] == '\n'))
    eol++;
  if (eol + 1 >= lim)
    return -1;                      /* no CRLF (yet, or in time) */
  /* "HTTP/1.x SP ddd" then end of line or SP reason */
  if (eol < plen + 5 || memcmp(buf, prefix, plen) != 0 ||
      buf[plen] < '0' || buf[plen] > '9' || buf[plen + 1] != ' ')
    return -1;
  const uint8_t *d = buf + plen + 2;
  int status = 0;
  for (size_t i = 0; i < 3; i++) {
    if (d[i] < '0' || d[i] > '9')
      return -1;
    status = status * 10 + (d[i] - '0');
  }
  size_t after = plen + 5;
  if (after < eol && buf[after] != ' ')
    return -1;
  for (size_t i = after; i < eol; i++)
    if (buf[i] == '\0' || buf[i] == '\n' || buf[i] == '\r')
      return -1;
  if (status < 100 || status > 599)
    return -1;
  return status;
}

/* Offset of the body (just after the blank line ending the head), or 0
 * when the head is not complete. */
static size_t
resp_body_offset(const uint8_t *buf, size_t len)
{
  for (size_t i = 0; i + 4 <= len; i++)
    if (!memcmp(buf + i, "\r\n\r\n", 4))
      return i + 4;
  return 0;
}

/* The Content-Length of the head buf[0..head_len), or -1 if absent or
 * malformed. */
static long long
resp_content_length(const uint8_t *buf, size_t head_len)
{
  static const char name[] = "content-length:";
  const size_t nlen = sizeof(name) - 1;
  size_t i = 0;
  while (i < head_len) {
    size_t eol = i;
    while (eol + 1 < head_len && !(buf[eol] == '\r' && buf[eol + 1] == '\n'))
      eol++;
    if (eol + 1 >= head_len)
      break;
    if (i > 0 && eol - i > nlen) {
      bool match = true;
      for (size_t k = 0; k < nlen && match; k++) {
        uint8_t c = buf[i + k];
        if (c >= 'A' && c <= 'Z')
          c = (uint8_t)(c - 'A' + 'a');
        match = c == (uint8_t)name[k];
      }
      if (match) {
        size_t p = i + nlen;
        while (p < eol && (buf[p] == ' ' || buf[p] == '\t'))
          p++;
        long long v = 0;
        size_t digits = 0;
        while (p < eol && buf[p] >= '0' && buf[p] <= '9' && digits < 12) {
          v = v * 10 + (buf[p++] - '0');
          digits++;
        }
        while (p < eol && (buf[p] == ' ' || buf[p] == '\t'))
          p++;
        return digits && p == eol ? v : -1;
      }
    }
    i = eol + 2;
  }
  return -1;
}

/* 1 if the answer is complete before END (head in, Content-Length given
 * and its body in), 0 otherwise. */
static int
resp_complete_early(const uint8_t *buf, size_t len)
{
  size_t body = resp_body_offset(buf, len);
  if (!body)
    return 0;
  long long cl = resp_content_length(buf, body);
  return cl >= 0 && (unsigned long long)(len - body) >= (unsigned long long)cl;
}

/* The status of a whole answer (the stream ended): -1 unless the head is
 * complete and, with a Content-Length, the body too. */
static int
resp_status_at_end(const uint8_t *buf, size_t len)
{
  size_t body = resp_body_offset(buf, len);
  if (!body)
    return -1;
  long long cl = resp_content_length(buf, body);
  if (cl >= 0 && (unsigned long long)(len - body) < (unsigned long long)cl)
    return -1;
  return hs_service_upload_parse_status(buf, len);
}

/* ---- one upload ---- */

static void
upload_stop(upload_t *up)
{
  al_free(up->req);
  al_free(up->resp);
  up->resp_len = up->resp_cap = 0;
  uint64_t circ = up->circ;
  up->circ = 0;                     /* our own close: cb_closed ignores it */
  if (circ)
    chanmgr_close_circ(up->u->cfg.cm, circ, CELL_DESTROY_FINISHED);
}

/* The upload is over: close its circuit, then tell the owner. */
static void
upload_finish(upload_t *up, int status, const char *why)
{
  if (up->dead)
    return;
  up->dead = true;
  upload_stop(up);
  if (status < 0)
    log_info_rl(60, "Onion service descriptor upload failed (%s)", why);
  else
    log_info_rl(60, "Onion service descriptor upload: HSDir answered %d",
                status);
  log_debug("Onion service descriptor upload to HSDir %s: %d", up->nick,
            status);
  up->cb(up->arg, status);
}

static int
resp_append(upload_t *up, const uint8_t *data, size_t len)
{
  if (len > RESP_MAX - up->resp_len)
    return -1;
  if (up->resp_len + len > up->resp_cap) {
    size_t cap = up->resp_cap ? up->resp_cap : 1024;
    while (cap < up->resp_len + len)
      cap *= 2;
    if (cap > RESP_MAX)
      cap = RESP_MAX;
    up->resp = al_realloc(up->resp, cap);
    up->resp_cap = cap;
  }
  if (len)
    memcpy(up->resp + up->resp_len, data, len);
  up->resp_len += len;
  return 0;
}

static void
cb_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm;
  upload_t *up = arg;
  if (up->dead || circ != up->circ)
    return;
  chanmgr_t *m = up->u->cfg.cm;
  relay_streams_t *t = chanmgr_streams(m, circ);
  if (!t || relay_stream_begin_dir(t, &up->stream) != 0) {
    upload_finish(up, -1, "no directory stream");
    return;
  }
  chanmgr_flush(m, circ);
}

static void
send_request(upload_t *up)
{
  chanmgr_t *m = up->u->cfg.cm;
  uint64_t circ = up->circ;
  relay_streams_t *t = chanmgr_streams(m, circ);
  if (!up->req)
    return;                         /* a second CONNECTED: ignored */
  if (!t || relay_stream_write(t, up->stream, (const uint8_t *)up->req,
                               up->req_len) != 0) {
    upload_finish(up, -1, "could not send the request");
    return;
  }
  al_free(up->req);
  up->req_len = 0;
  chanmgr_flush(m, circ);
}

static void
on_data(upload_t *up, const uint8_t *data, size_t len)
{
  if (up->req) {
    upload_finish(up, -1, "answer before the request");
    return;
  }
  if (resp_append(up, data, len) != 0) {
    upload_finish(up, -1, "answer too long");
    return;
  }
  if (hs_service_upload_parse_status(up->resp, up->resp_len) < 0 &&
      (up->resp_len >= STATUS_LINE_MAX ||
       resp_body_offset(up->resp, up->resp_len))) {
    upload_finish(up, -1, "malformed answer");
    return;
  }
  if (resp_complete_early(up->resp, up->resp_len))
    upload_finish(up, hs_service_upload_parse_status(up->resp, up->resp_len),
                  "malformed answer");
}

static void
cb_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
          void *arg)
{
  (void)cm;
  upload_t *up = arg;
  if (up->dead || circ != up->circ || !up->stream ||
      ev->stream_id != up->stream)
    return;
  switch (ev->type) {
  case RELAY_STREAM_EV_CONNECTED:
    send_request(up);
    break;
  case RELAY_STREAM_EV_DATA:
    on_data(up, ev->data, ev->len);
    break;
  case RELAY_STREAM_EV_END: {
    int st = up->req ? -1 : resp_status_at_end(up->resp, up->resp_len);
    upload_finish(up, st, "stream ended without a complete answer");
    break;
  }
  case RELAY_STREAM_EV_ERROR:
    upload_finish(up, -1, "stream protocol error");
    break;
  default:
    break;
  }
}

static void
cb_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
          void *arg)
{
  (void)cm;
  (void)info;
  upload_t *up = arg;
  if (up->dead || circ != up->circ)
    return;
  up->circ = 0;                     /* gone: not ours to close */
  upload_finish(up, -1, "circuit closed");
}

/* ---- uploader ---- */

hs_service_uploader_t *
hs_service_uploader_new(const hs_service_upload_cfg_t *cfg)
{
  if (!cfg || !cfg->cm || !cfg->launch)
    return NULL;
  hs_service_uploader_t *u = al_calloc(1, sizeof(*u));
  u->cfg = *cfg;
  if (!u->cfg.attempt_timeout_msec)
    u->cfg.attempt_timeout_msec = DEFAULT_ATTEMPT_MSEC;
  if (!u->cfg.max_pending)
    u->cfg.max_pending = DEFAULT_MAX_PENDING;
  return u;
}

static void
upload_free(upload_t *up)
{
  up->dead = true;
  upload_stop(up);
  al_free(up);
}

void
hs_service_uploader_free_(hs_service_uploader_t *u)
{
  if (!u)
    return;
  while (u->uploads) {
    upload_t *up = u->uploads;
    u->uploads = up->next;
    upload_free(up);
  }
  al_free(u);
}

int
hs_service_upload_start(hs_service_uploader_t *u, const node_t *hsdir,
                        const char *desc, size_t len, hs_service_upload_cb cb,
                        void *arg)
{
  if (!u || !hsdir || !desc || !len || !cb)
    return -1;
  if (hs_service_uploader_n_pending(u) >= u->cfg.max_pending) {
    log_info_rl(60, "Onion service descriptor upload: too many under way");
    return -1;
  }
  upload_t *up = al_calloc(1, sizeof(*up));
  up->u = u;
  up->cb = cb;
  up->arg = arg;
  memcpy(up->nick, hsdir->nickname, sizeof(up->nick));
  up->nick[sizeof(up->nick) - 1] = '\0';
  up->req = hs_service_publish_request(desc, len, &up->req_len);
  chanmgr_circ_cbs_t cbs;
  memset(&cbs, 0, sizeof(cbs));
  cbs.on_built = cb_built;
  cbs.on_closed = cb_closed;
  cbs.on_stream = cb_stream;
  cbs.arg = up;
  uint64_t circ = 0;
  if (!up->req || u->cfg.launch(u->cfg.launch_arg, hsdir, &cbs, &circ) != 0 ||
      !circ) {
    log_info_rl(60, "Onion service descriptor upload: no circuit to the "
                "HSDir");
    al_free(up->req);
    al_free(up);
    return -1;
  }
  up->circ = circ;
  up->next = u->uploads;
  u->uploads = up;
  log_debug("Onion service descriptor upload to HSDir %s: %zu bytes",
            up->nick, len);
  return 0;
}

void
hs_service_upload_cancel(hs_service_uploader_t *u, hs_service_upload_cb cb,
                         void *arg)
{
  if (!u)
    return;
  for (upload_t *up = u->uploads; up; up = up->next) {
    if (up->dead || up->cb != cb || up->arg != arg)
      continue;
    up->dead = true;                /* before the close: no callback */
    upload_stop(up);
  }
}

void
hs_service_uploader_tick(hs_service_uploader_t *u, uint64_t now_msec)
{
  if (!u)
    return;
  for (upload_t *up = u->uploads; up; up = up->next) {
    if (up->dead)
      continue;
    if (!up->deadline_msec)
      up->deadline_msec = now_msec + u->cfg.attempt_timeout_msec;
    else if (now_msec >= up->deadline_msec)
      upload_finish(up, -1, "timed out");
  }
  for (upload_t **pp = &u->uploads; *pp;) {
    upload_t *up = *pp;
    if (up->dead) {
      *pp = up->next;
      upload_free(up);
    } else {
      pp = &up->next;
    }
  }
}

size_t
hs_service_uploader_n_pending(const hs_service_uploader_t *u)
{
  size_t n = 0;
  if (u)
    for (const upload_t *up = u->uploads; up; up = up->next)
      n += !up->dead;
  return n;
}
