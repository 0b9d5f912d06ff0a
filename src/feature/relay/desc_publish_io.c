/* desc_publish_io.c -- the uploader's I/O (dir-spec 2.1: "ORs ... upload
 * them to every directory authority they know, by posting them to the URL
 * http://<hostname:port>/tor/"): a periodic schedule check on the caller's
 * event loop, and one plain-HTTP connection per authority DirPort with a
 * time limit and a bounded response -- or, for an authority without a
 * DirPort (and, as a fallback, one whose DirPort refuses connections), the
 * same request over BEGIN_DIR on a one-hop circuit to its ORPort
 * (desc_publish_tunnel.c; tor-spec 6.2), as tor does.  Request encoding, response
 * classification and the schedule itself are in desc_publish.c.
 * See include/allium/feature/relay/desc_publish.h.
 */
#define LOG_MODULE "relay"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "allium/feature/dirclient/dir_http.h"
#include "allium/feature/relay/desc_publish.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"
#include "desc_publish_tunnel.h"

typedef struct upload_t {
  desc_publish_t *p;
  size_t idx;                  /* authority index */
  struct bufferevent *bev;
  struct event *deadline;
  dir_http_parser_t *parser;
  bool checking;               /* POST answered 200: now GETting it back */
  desc_tunnel_t *tun;          /* BEGIN_DIR transport (no DirPort) */
  bool tunnel;                 /* use BEGIN_DIR for this upload */
  uint8_t *req;                /* the POST, kept for a BEGIN_DIR retry */
  size_t req_len;
} upload_t;

struct desc_publish_t {
  struct event_base *base;
  dir_authority_t *auths;
  size_t n_auths;
  uint8_t rsa_id[20];
  desc_publish_cbs_t cbs;
  upload_t **up;               /* per authority; NULL when idle */
  char *desc;
  size_t desc_len;
  uint8_t digest[20];          /* of desc's signed part */
  desc_due_t why;              /* reason for the current descriptor */
  desc_sched_t sched;
  uint64_t bw, uptime;
  struct event *check_ev;
  uint32_t timeout_msec;
  time_t (*now_fn)(void);
  tls_context_t *tls;          /* for BEGIN_DIR (borrowed); NULL: none */
  desc_tunnel_t *graveyard;    /* finished tunnels, freed by reap_ev */
  struct event *reap_ev;
  size_t n_tunnelled;          /* uploads sent over BEGIN_DIR */
};

static time_t
pub_now(const desc_publish_t *p)
{
  return p->now_fn ? p->now_fn() : time(NULL);
}

/* "auth0 (127.0.0.1:7000)" or "127.0.0.1:7000" (the DirPort; for an
 * authority without one "auth0 (ORPort 127.0.0.1:7001, BEGIN_DIR)"). */
static void
auth_name(const dir_authority_t *a, char *buf, size_t len)
{
  if (a->dirport == 0) {
    snprintf(buf, len, "%s%sORPort %u.%u.%u.%u:%u, BEGIN_DIR%s", a->nickname,
             a->nickname[0] ? " (" : "", a->ipv4[0], a->ipv4[1], a->ipv4[2], a->ipv4[3],
             a->orport, a->nickname[0] ? ")" : "");
    return;
  }
  if (a->nickname[0])
    snprintf(buf, len, "%s (%u.%u.%u.%u:%u)", a->nickname, a->ipv4[0], a->ipv4[1], a->ipv4[2],
             a->ipv4[3], a->dirport);
  else
    snprintf(buf, len, "%u.%u.%u.%u:%u", a->ipv4[0], a->ipv4[1], a->ipv4[2], a->ipv4[3],
             a->dirport);
}

/* Free the finished tunnels (from the loop, outside their callbacks). */
static void
reap_tunnels(desc_publish_t *p)
{
  while (p->graveyard) {
    desc_tunnel_t *t = p->graveyard;
    p->graveyard = *desc_tunnel_next(t);
    desc_tunnel_free(t);
  }
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  reap_tunnels(arg);
}

/* Stop u's transport (tunnels are freed later: we may be inside one of
 * their callbacks). */
static void
upload_close_transport(upload_t *u)
{
  if (u->bev)
    bufferevent_free(u->bev);
  u->bev = NULL;
  if (u->deadline)
    event_free(u->deadline);
  u->deadline = NULL;
  if (u->tun) {
    desc_publish_t *p = u->p;
    desc_tunnel_detach(u->tun);
    *desc_tunnel_next(u->tun) = p->graveyard;
    p->graveyard = u->tun;
    u->tun = NULL;
    if (!p->reap_ev)
      p->reap_ev = event_new(p->base, -1, 0, on_reap, p);
    if (p->reap_ev)
      event_active(p->reap_ev, 0, 0);
  }
  dir_http_parser_free(u->parser);
}

static void
upload_free(upload_t *u)
{
  if (!u)
    return;
  upload_close_transport(u);
  al_free(u->req);
  al_free(u);
}

static void
log_result(const dir_authority_t *a, const desc_upload_result_t *r)
{
  char name[64];
  auth_name(a, name, sizeof(name));
  switch (r->status) {
  case DESC_UPLOAD_ACCEPTED:
    log_notice("Uploaded our descriptor to dirauth %s: accepted (%s)", name, r->reason);
    break;
  case DESC_UPLOAD_NOT_NEW:
    log_notice("Uploaded our descriptor to dirauth %s: not new (HTTP 200 with "
               "X-Descriptor-Not-New): it already had it, or it could not parse it; "
               "see whether the next consensus lists us", name);
    break;
  case DESC_UPLOAD_DISCARDED:
    log_notice("Uploaded our descriptor to dirauth %s: discarded: %s", name, r->reason);
    break;
  case DESC_UPLOAD_REJECTED:
    log_notice("Uploaded our descriptor to dirauth %s: rejected (HTTP 400): %s", name, r->reason);
    break;
  case DESC_UPLOAD_FAILED:
    if (r->http_status)
      log_notice("Uploaded our descriptor to dirauth %s: failed (HTTP %d %s)", name,
                 r->http_status, r->reason);
    else
      log_notice("Uploading our descriptor to dirauth %s failed: %s", name, r->reason);
    break;
  }
}

/* End u with result r: log, free, then tell the caller (who may free p). */
static void
upload_finish(upload_t *u, const desc_upload_result_t *r)
{
  desc_publish_t *p = u->p;
  const dir_authority_t *a = &p->auths[u->idx];
  p->up[u->idx] = NULL;
  upload_free(u);
  log_result(a, r);
  if (p->cbs.on_result)
    p->cbs.on_result(p, a, r, p->cbs.arg);
}

static void
upload_fail(upload_t *u, const char *why)
{
  desc_upload_result_t r;
  memset(&r, 0, sizeof(r));
  r.status = DESC_UPLOAD_FAILED;
  snprintf(r.reason, sizeof(r.reason), "%s", why);
  upload_finish(u, &r);
}

static int upload_open(desc_publish_t *p, upload_t *u, const uint8_t *req, size_t req_len);

/* The POST got a plain 200: ask for the descriptor back by digest. */
static void
upload_start_check(upload_t *u)
{
  char path[56];
  size_t len = 0;
  desc_publish_check_path(u->p->digest, path);
  char *req = dir_http_request_encode(path, NULL, &len);
  upload_close_transport(u);
  u->checking = true;
  if (!req || upload_open(u->p, u, (const uint8_t *)req, len) < 0)
    upload_fail(u, "accepted with 200, but could not open the check connection");
  al_free(req);
}

static void
upload_done(upload_t *u)
{
  desc_upload_result_t r;
  const dir_http_response_t *resp = dir_http_parser_response(u->parser);
  if (u->checking) {
    desc_publish_classify_check(resp, u->p->digest, &r);
  } else {
    desc_publish_classify(resp, &r);
    if (r.status == DESC_UPLOAD_ACCEPTED) {
      upload_start_check(u);
      return;
    }
  }
  upload_finish(u, &r);
}

/* Response bytes for u: 1 when u is finished (and freed), else 0. */
static int
upload_feed(upload_t *u, const void *data, size_t len)
{
  int r = dir_http_parser_feed(u->parser, data, len);
  if (r == DIR_HTTP_DONE) {
    upload_done(u);
    return 1;
  }
  if (r == DIR_HTTP_ERROR) {
    const char *e = dir_http_parser_error(u->parser);
    char msg[DESC_UPLOAD_REASON_MAX];
    snprintf(msg, sizeof(msg), "bad response: %s", e ? e : "unparseable");
    upload_fail(u, msg);
    return 1;
  }
  return 0;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
  upload_t *u = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  while (evbuffer_get_length(in) > 0) {
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
      break;
    size_t n = v.iov_len;
    if (upload_feed(u, v.iov_base, n))
      return;
    evbuffer_drain(in, n);
  }
}

/* ---- BEGIN_DIR transport ---- */

static void
tun_on_data(const uint8_t *data, size_t len, void *arg)
{
  (void)upload_feed(arg, data, len);
}

static void
tun_on_end(bool clean, const char *why, void *arg)
{
  upload_t *u = arg;
  (void)clean;
  if (dir_http_parser_eof(u->parser) == DIR_HTTP_DONE)
    upload_done(u);
  else
    upload_fail(u, clean ? "stream closed before a complete response" : why);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
  upload_t *u = arg;
  (void)bev;
  if (what & BEV_EVENT_CONNECTED)
    return;
  if (what & BEV_EVENT_EOF) {
    if (dir_http_parser_eof(u->parser) == DIR_HTTP_DONE)
      upload_done(u);
    else
      upload_fail(u, "connection closed before a complete response");
    return;
  }
  /* An authority whose DirPort refuses us may still take the upload on its
   * ORPort (BEGIN_DIR), which every authority serves. */
  if (!(what & BEV_EVENT_TIMEOUT) && !u->tunnel && u->p->tls &&
      u->p->auths[u->idx].orport && u->req && !u->checking) {
    log_info("DirPort of dirauth %u.%u.%u.%u:%u refused the upload; trying "
             "its ORPort (BEGIN_DIR).", u->p->auths[u->idx].ipv4[0],
             u->p->auths[u->idx].ipv4[1], u->p->auths[u->idx].ipv4[2],
             u->p->auths[u->idx].ipv4[3], u->p->auths[u->idx].dirport);
    upload_close_transport(u);
    u->tunnel = true;
    if (upload_open(u->p, u, u->req, u->req_len) < 0)
      upload_fail(u, "could not open a BEGIN_DIR connection");
    return;
  }
  upload_fail(u, (what & BEV_EVENT_TIMEOUT) ? "timed out" : "connection failed");
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  upload_fail(arg, "timed out");
}

/* Open the connection to authority i and queue the request. */
static int
upload_open(desc_publish_t *p, upload_t *u, const uint8_t *req, size_t req_len)
{
  const dir_authority_t *a = &p->auths[u->idx];
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(a->dirport);
  memcpy(&sin.sin_addr, a->ipv4, 4);
  struct timeval tv = { p->timeout_msec / 1000, (p->timeout_msec % 1000) * 1000 };
  dir_http_limits_t lim;
  desc_publish_response_limits(&lim);
  u->parser = dir_http_parser_new(&lim, false);
  u->deadline = evtimer_new(p->base, on_deadline, u);
  if (!u->parser || !u->deadline)
    return -1;
  if (u->tunnel) {
    desc_tunnel_cbs_t tc = { tun_on_data, tun_on_end, u };
    u->tun = desc_tunnel_start(p->base, p->tls, a->ipv4, a->orport, a->rsa_id,
                               req, req_len, &tc);
    if (!u->tun || evtimer_add(u->deadline, &tv) < 0)
      return -1;
    p->n_tunnelled += !u->checking;
    return 0;
  }
  u->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!u->bev)
    return -1;
  bufferevent_setcb(u->bev, on_read, NULL, on_event, u);
  bufferevent_set_timeouts(u->bev, &tv, &tv);
  if (bufferevent_enable(u->bev, EV_READ | EV_WRITE) < 0 ||
      evbuffer_add(bufferevent_get_output(u->bev), req, req_len) < 0 ||
      evtimer_add(u->deadline, &tv) < 0)
    return -1;
  return bufferevent_socket_connect(u->bev, (struct sockaddr *)&sin, sizeof(sin));
}

static void
upload_start(desc_publish_t *p, size_t i, const uint8_t *req, size_t req_len)
{
  upload_free(p->up[i]);
  p->up[i] = NULL;
  upload_t *u = al_calloc(1, sizeof(*u));
  u->p = p;
  u->idx = i;
  p->up[i] = u;
  u->req = al_memdup(req, req_len);
  u->req_len = req_len;
  if (p->auths[i].dirport == 0) {
    if (!p->auths[i].orport || !p->tls) {
      upload_fail(u, "the authority has no DirPort, and no ORPort or TLS context for BEGIN_DIR");
      return;
    }
    u->tunnel = true;   /* tor: BEGIN_DIR when there is no DirPort */
  }
  if (upload_open(p, u, req, req_len) < 0)
    upload_fail(u, "could not open a connection");
}

int
desc_publish_upload(desc_publish_t *p)
{
  if (!p || !p->desc)
    return -1;
  size_t req_len = 0;
  uint8_t *req = desc_publish_request_encode(p->desc, p->desc_len, desc_due_name(p->why),
                                             &req_len);
  if (!req)
    return -1;
  size_t n = p->n_auths;
  for (size_t i = 0; i < n; i++)
    upload_start(p, i, req, req_len);
  al_free(req);
  return 0;
}

int
desc_publish_set_descriptor(desc_publish_t *p, const char *desc, size_t len, uint64_t bw)
{
  uint8_t digest[20];
  if (!p || !desc || len == 0 || len > ROUTER_DESC_MAX_LEN ||
      router_desc_digest(desc, len, digest) < 0)
    return -1;
  memcpy(p->digest, digest, 20);
  al_free(p->desc);
  p->desc = al_memdup(desc, len);
  p->desc_len = len;
  p->bw = bw;
  desc_sched_note_built(&p->sched, pub_now(p), bw);
  log_info("New descriptor (%zu bytes, %s); uploading to %zu authorities.", len,
           desc_due_name(p->why), p->n_auths);
  return desc_publish_upload(p);
}

void
desc_publish_check(desc_publish_t *p)
{
  if (!p)
    return;
  desc_due_t due = desc_sched_due(&p->sched, pub_now(p), p->bw, p->uptime);
  if (due == DESC_DUE_NONE)
    return;
  p->why = due;
  log_info("A new descriptor is due: %s.", desc_due_name(due));
  p->cbs.want_descriptor(p, due, p->cbs.arg);
}

static void
on_check(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  desc_publish_check(arg);
}

int
desc_publish_start(desc_publish_t *p, uint32_t check_msec)
{
  if (!p)
    return -1;
  uint32_t ms = check_msec ? check_msec : DESC_SCHED_CHECK_INTERVAL * 1000u;
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  if (p->check_ev)
    event_free(p->check_ev);
  p->check_ev = event_new(p->base, -1, EV_PERSIST, on_check, p);
  if (!p->check_ev || event_add(p->check_ev, &tv) < 0)
    return -1;
  desc_publish_check(p);
  return 0;
}

void
desc_publish_note_stats(desc_publish_t *p, uint64_t bw, uint64_t uptime)
{
  if (!p)
    return;
  p->bw = bw;
  p->uptime = uptime;
}

void
desc_publish_note_changed(desc_publish_t *p)
{
  if (!p)
    return;
  desc_sched_note_changed(&p->sched);
  desc_publish_check(p);
}

static void
log_presence(const desc_publish_t *p, const consensus_t *c, desc_presence_t now_p,
             uint32_t flags)
{
  char va[20];
  civil_format_iso(c->valid_after, ' ', va);
  if (now_p == DESC_PRESENCE_LISTED) {
    if (p->sched.presence != DESC_PRESENCE_LISTED)
      log_notice("The consensus of %s lists our relay as Running and Valid.", va);
    return;
  }
  if (now_p == p->sched.presence) {
    log_info("Our relay is still %s in the consensus of %s.", desc_presence_name(now_p), va);
    return;
  }
  if (now_p == DESC_PRESENCE_ABSENT)
    log_notice("Our relay is not in the consensus of %s: the authorities did not list it "
               "(not yet, an ORPort they cannot reach, or a descriptor they refused: see "
               "the upload results). We republish every %d minutes until they do.", va,
               DESC_SCHED_RETRY_INTERVAL / 60);
  else if (now_p == DESC_PRESENCE_NOT_RUNNING)
    log_notice("The consensus of %s lists our relay without %s%s: the authorities cannot "
               "reach our ORPort, or do not consider us valid.", va,
               (flags & CONSENSUS_FLAG_RUNNING) ? "" : "Running ",
               (flags & CONSENSUS_FLAG_VALID) ? "" : "Valid");
  else if (now_p == DESC_PRESENCE_STALE)
    log_notice("The consensus of %s marks our descriptor StaleDesc; republishing.", va);
}

void
desc_publish_consensus_changed(desc_publish_t *p, const consensus_t *c)
{
  if (!p || !c)
    return;
  uint32_t flags = 0;
  desc_presence_t pr = desc_publish_presence(c, p->rsa_id, &flags);
  log_presence(p, c, pr, flags);
  desc_sched_note_presence(&p->sched, pr);
  desc_publish_check(p);
}

desc_publish_t *
desc_publish_new(struct event_base *base, const dir_authority_t *auths, size_t n,
                 const uint8_t rsa_id[20], const desc_publish_cbs_t *cbs)
{
  if (!base || !auths || n == 0 || !rsa_id || !cbs || !cbs->want_descriptor)
    return NULL;
  desc_publish_t *p = al_calloc(1, sizeof(*p));
  p->base = base;
  p->auths = al_memdup(auths, n * sizeof(*auths));
  p->n_auths = n;
  memcpy(p->rsa_id, rsa_id, 20);
  p->cbs = *cbs;
  p->up = al_calloc(n, sizeof(*p->up));
  p->timeout_msec = DESC_PUBLISH_TIMEOUT_MSEC;
  p->why = DESC_DUE_FIRST;
  desc_sched_init(&p->sched);
  return p;
}

void
desc_publish_free_(desc_publish_t *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->n_auths; i++)
    upload_free(p->up[i]);
  if (p->check_ev)
    event_free(p->check_ev);
  reap_tunnels(p);
  if (p->reap_ev)
    event_free(p->reap_ev);
  al_free(p->up);
  al_free(p->auths);
  al_free(p->desc);
  al_free(p);
}

void
desc_publish_set_timeout(desc_publish_t *p, uint32_t msec)
{
  if (p && msec > 0)
    p->timeout_msec = msec;
}

void
desc_publish_set_clock(desc_publish_t *p, time_t (*now_fn)(void))
{
  if (p)
    p->now_fn = now_fn;
}

size_t
desc_publish_n_pending(const desc_publish_t *p)
{
  size_t n = 0;
  for (size_t i = 0; p && i < p->n_auths; i++)
    n += p->up[i] != NULL;
  return n;
}

desc_presence_t
desc_publish_get_presence(const desc_publish_t *p)
{
  return p ? p->sched.presence : DESC_PRESENCE_UNKNOWN;
}

void
desc_publish_set_tls(desc_publish_t *p, tls_context_t *tls)
{
  if (p)
    p->tls = tls;
}

size_t
desc_publish_n_tunnelled(const desc_publish_t *p)
{
  return p ? p->n_tunnelled : 0;
}
