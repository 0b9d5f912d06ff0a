/* channel_tls.c -- a channel over one TLS connection (tor-spec.txt section
 * 2 "Connections", 3 cell framing, 4 link handshake), driven by libevent's
 * bufferevent_openssl.  The handshake logic lives in link_handshake.c; this
 * file only moves bytes, times things out and delivers cells. */
#include "allium/core/channel/channel.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "allium/core/channel/link_auth.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"
#define LOG_MODULE "channel"
#include "allium/lib/log/log.h"

#define CHANNEL_CREDS_BUFS 7

struct channel_t {
  struct event_base *base;
  struct bufferevent *bev;
  struct event *tick;
  tls_conn_t *tls;
  link_handshake_t *hs;
  link_config_t cfg;
  link_creds_t creds;             /* our relay certs: owned copies */
  uint8_t *creds_buf[CHANNEL_CREDS_BUFS];
  ed25519_keypair_t auth_key;     /* initiating relay: type 6 key copy */
  uint8_t exp_rsa[DIGEST_SHA1_LEN];
  ed25519_public_key_t exp_ed;
  channel_state_t state;
  int initiator;
  channel_callbacks_t cbs;
  link_peer_t peer;
  circid_set_t *circids;
  const char *error;
  uint64_t t_start, t_tls, t_open, last_in, last_out;
  uint32_t idle_msec, keepalive_msec;
  /* Back-pressure hooks (channel_set_output_low_water, channel_set_reading) */
  void (*on_drained)(channel_t *ch, void *arg);
  int read_paused;
};

const char *channel_close_reason_name(int reason)
{
  static const char *const names[] = {
    "requested", "connect failed", "TLS error", "EOF", "I/O error",
    "handshake failed", "protocol error", "timeout", "idle",
  };
  if (reason < 0 || (size_t)reason >= sizeof(names) / sizeof(names[0]))
    return "unknown";
  return names[reason];
}

void channel_close(channel_t *ch, int reason)
{
  if (!ch || ch->state == CHANNEL_STATE_CLOSED)
    return;
  ch->state = CHANNEL_STATE_CLOSED;
  if (ch->bev) {
    bufferevent_disable(ch->bev, EV_READ | EV_WRITE);
    bufferevent_free(ch->bev);     /* drops its SSL reference, closes fd */
    ch->bev = NULL;
  }
  if (ch->tick) {
    event_free(ch->tick);
    ch->tick = NULL;
  }
  log_info("channel closed: %s%s%s", channel_close_reason_name(reason),
           ch->error ? ": " : "", ch->error ? ch->error : "");
  if (ch->cbs.on_close)
    ch->cbs.on_close(ch, reason, ch->error ? ch->error : "", ch->cbs.arg);
}

void channel_free_(channel_t *ch)
{
  if (!ch)
    return;
  if (ch->bev)
    bufferevent_free(ch->bev);
  if (ch->tick)
    event_free(ch->tick);
  tls_conn_free(ch->tls);
  link_handshake_free(ch->hs);
  circid_set_free(ch->circids);
  for (int i = 0; i < CHANNEL_CREDS_BUFS; i++)
    al_free(ch->creds_buf[i]);
  ed25519_keypair_wipe(&ch->auth_key);
  al_free(ch);
}

/** Write whatever the handshake has queued. */
static void flush_handshake(channel_t *ch)
{
  size_t n;
  const uint8_t *out = link_handshake_output(ch->hs, &n);
  if (n) {
    bufferevent_write(ch->bev, out, n);
    link_handshake_output_drain(ch->hs, n);
    ch->last_out = evloop_monotonic_msec();
  }
}

static void become_open(channel_t *ch)
{
  ch->peer = *link_handshake_peer(ch->hs);
  ch->circids = circid_set_new(ch->peer.linkproto, ch->initiator);
  ch->state = CHANNEL_STATE_OPEN;
  ch->t_open = evloop_monotonic_msec();
  log_info("channel open: link protocol %u, %s, handshake %llu ms",
           ch->peer.linkproto, tls_conn_version_name(ch->tls),
           (unsigned long long)(ch->t_open - ch->t_start));
  if (ch->cbs.on_open)
    ch->cbs.on_open(ch, ch->cbs.arg);
}

/** Feed the link handshake from the input buffer. */
static void read_handshake(channel_t *ch, struct evbuffer *in)
{
  size_t len = evbuffer_get_length(in), used = 0;
  const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)len);
  int r = link_handshake_feed(ch->hs, data, len, &used);
  evbuffer_drain(in, used);
  if (r < 0) {
    link_handshake_error(ch->hs, &ch->error);
    channel_close(ch, CHANNEL_CLOSE_HANDSHAKE_FAILED);
    return;
  }
  flush_handshake(ch);
  if (link_handshake_state(ch->hs) == LINK_HS_DONE)
    become_open(ch);
}

/** Deliver whole cells from the input buffer. */
static void read_cells(channel_t *ch, struct evbuffer *in)
{
  while (ch->state == CHANNEL_STATE_OPEN && !ch->read_paused) {
    size_t len = evbuffer_get_length(in), hlen = 0, used = 0;
    size_t hdr = len < CELL_VAR_HEADER_MAX ? len : CELL_VAR_HEADER_MAX;
    cell_header_t h;
    cell_t c;
    if (len == 0)
      return;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)hdr);
    int r = cell_header_decode(&h, p, hdr, ch->peer.linkproto, &hlen);
    if (r == CELL_ERR_TRUNCATED)
      return;
    size_t total = hlen + h.payload_len;
    if (r == 0 && len < total)
      return;
    if (r < 0 || !(p = evbuffer_pullup(in, (ev_ssize_t)total)) ||
        cell_decode(&c, p, total, ch->peer.linkproto, &used) < 0) {
      ch->error = "malformed cell";
      channel_close(ch, CHANNEL_CLOSE_PROTOCOL);
      return;
    }
    ch->last_in = evloop_monotonic_msec();
    if (c.command != CELL_PADDING && c.command != CELL_VPADDING &&
        ch->cbs.on_cell)
      ch->cbs.on_cell(ch, &c, ch->cbs.arg);
    if (ch->state == CHANNEL_STATE_OPEN)
      evbuffer_drain(in, used);
  }
}

/* The output buffer fell to the low-water mark (channel_set_output_low_water). */
static void on_write(struct bufferevent *bev, void *arg)
{
  channel_t *ch = arg;
  (void)bev;
  if (ch->state == CHANNEL_STATE_OPEN && ch->on_drained)
    ch->on_drained(ch, ch->cbs.arg);
}

static void on_read(struct bufferevent *bev, void *arg)
{
  channel_t *ch = arg;
  if (!bev)
    return;
  struct evbuffer *in = bufferevent_get_input(bev);
  if (ch->state == CHANNEL_STATE_HANDSHAKING)
    read_handshake(ch, in);
  if (ch->state == CHANNEL_STATE_OPEN)
    read_cells(ch, in);
}

/** The RFC 5705 exporter for AUTHENTICATE (tor-spec 4.4.2). */
static int export_auth3(void *arg, uint8_t *out, size_t outlen,
                        const uint8_t *context, size_t ctxlen)
{
  channel_t *ch = arg;
  return tls_conn_export_keying_material(ch->tls, out, outlen,
                                         LINK_AUTH3_EXPORTER_LABEL, context,
                                         ctxlen);
}

/** TLS is up: start the link handshake. */
static void tls_done(channel_t *ch)
{
  uint8_t *der = NULL;
  size_t len = 0;
  ch->t_tls = evloop_monotonic_msec();
  if (ch->initiator) {
    if (tls_conn_peer_cert_der(ch->tls, &der, &len) < 0) {
      ch->error = "responder presented no TLS certificate";
      channel_close(ch, CHANNEL_CLOSE_HANDSHAKE_FAILED);
      return;
    }
    ch->cfg.tls_peer_cert = der;
    ch->cfg.tls_peer_cert_len = len;
  } else if (tls_conn_own_cert_der(ch->tls, &der, &len) == 0) {
    ch->cfg.tls_own_cert = der;      /* SCERT for AUTHENTICATE */
    ch->cfg.tls_own_cert_len = len;
  }
  ch->cfg.tls_export = export_auth3;
  ch->cfg.tls_export_arg = ch;
  ch->hs = link_handshake_new(&ch->cfg);
  ch->cfg.tls_peer_cert = NULL;
  ch->cfg.tls_own_cert = NULL;
  al_free(der);
  if (!ch->hs) {
    ch->error = "cannot start the link handshake";
    channel_close(ch, CHANNEL_CLOSE_HANDSHAKE_FAILED);
    return;
  }
  ch->state = CHANNEL_STATE_HANDSHAKING;
  flush_handshake(ch);
  on_read(ch->bev, ch);   /* data may already be buffered */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
  channel_t *ch = arg;
  if (what & BEV_EVENT_CONNECTED) {
    if (ch->state == CHANNEL_STATE_CONNECTING)
      tls_done(ch);
    return;
  }
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
    return;
  int sockerr = EVUTIL_SOCKET_ERROR();
  unsigned long sslerr = 0, e;
  while ((e = bufferevent_get_openssl_error(bev)) != 0)
    sslerr = e;
  int reason;
  if (ch->state == CHANNEL_STATE_CONNECTING &&
      (sockerr == ECONNREFUSED || sockerr == ETIMEDOUT ||
       sockerr == ENETUNREACH || sockerr == EHOSTUNREACH))
    reason = CHANNEL_CLOSE_CONNECT_FAILED;
  else if (what & BEV_EVENT_EOF)
    reason = ch->state == CHANNEL_STATE_CONNECTING ? CHANNEL_CLOSE_TLS_ERROR
                                                   : CHANNEL_CLOSE_EOF;
  else if (sslerr)
    reason = CHANNEL_CLOSE_TLS_ERROR;
  else if (sockerr == 0 || sockerr == ECONNRESET)
    reason = ch->state == CHANNEL_STATE_CONNECTING ? CHANNEL_CLOSE_TLS_ERROR
                                                   : CHANNEL_CLOSE_EOF;
  else
    reason = CHANNEL_CLOSE_IO_ERROR;
  if (!ch->error && reason == CHANNEL_CLOSE_CONNECT_FAILED)
    ch->error = "connection refused or unreachable";
  else if (!ch->error && reason == CHANNEL_CLOSE_TLS_ERROR)
    ch->error = "TLS handshake or record error";
  log_info_rl(60, "channel event 0x%x, socket error %d, TLS error %lu", what,
              sockerr, sslerr);
  channel_close(ch, reason);
}

/** Once a second: handshake timeout, idle timeout, keepalive. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
  channel_t *ch = arg;
  uint64_t now = evloop_monotonic_msec();
  (void)fd;
  (void)what;
  if (ch->state != CHANNEL_STATE_OPEN) {
    if (now - ch->t_start > CHANNEL_HANDSHAKE_TIMEOUT_MSEC) {
      ch->error = "handshake timed out";
      channel_close(ch, CHANNEL_CLOSE_TIMEOUT);
    }
    return;
  }
  uint64_t last = ch->last_in > ch->last_out ? ch->last_in : ch->last_out;
  if (ch->idle_msec && now - last >= ch->idle_msec &&
      circid_set_count(ch->circids) == 0) {
    channel_close(ch, CHANNEL_CLOSE_IDLE);
    return;
  }
  if (ch->keepalive_msec && now - ch->last_out >= ch->keepalive_msec) {
    cell_t pad = { .circ_id = 0, .command = CELL_PADDING, .payload_len = 0,
                   .payload = NULL };
    channel_send_cell(ch, &pad);
  }
}

/** Cells are small and latency-bound: no Nagle delays. */
static void set_nodelay(channel_t *ch)
{
  evutil_socket_t fd = bufferevent_getfd(ch->bev);
  int one = 1;
  if (fd >= 0)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static channel_t *channel_new(struct event_base *base, tls_context_t *tls,
                              int initiator, const channel_callbacks_t *cbs)
{
  channel_t *ch = al_calloc(1, sizeof(*ch));
  ch->base = base;
  ch->initiator = initiator;
  if (cbs)
    ch->cbs = *cbs;
  ch->t_start = ch->last_in = ch->last_out = evloop_monotonic_msec();
  ch->tls = tls_conn_new(tls, !initiator);
  struct timeval one = { 1, 0 };
  ch->tick = event_new(base, -1, EV_PERSIST, on_tick, ch);
  if (!ch->tls || !ch->tick || event_add(ch->tick, &one) < 0) {
    channel_free(ch);
    return NULL;
  }
  return ch;
}

/** Fill a NETINFO address from a sockaddr. */
static void addr_from_sockaddr(cell_addr_t *a, const struct sockaddr *sa)
{
  memset(a, 0, sizeof(*a));
  if (!sa)
    return;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    a->type = CELL_ADDR_IPV4;
    memcpy(a->addr, &in->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    a->type = CELL_ADDR_IPV6;
    memcpy(a->addr, &in6->sin6_addr, 16);
  }
}

/** Copy our relay certificates (and auth key) into the channel. */
static const uint8_t *dup_cert(channel_t *ch, int i, const uint8_t *p,
                               size_t n)
{
  ch->creds_buf[i] = p && n ? al_memdup(p, n) : NULL;
  return ch->creds_buf[i];
}

static void copy_creds(channel_t *ch, const link_creds_t *c)
{
  ch->creds = *c;
  ch->creds.id_cert = dup_cert(ch, 0, c->id_cert, c->id_cert_len);
  ch->creds.signing_cert = dup_cert(ch, 1, c->signing_cert,
                                    c->signing_cert_len);
  ch->creds.link_cert = dup_cert(ch, 2, c->link_cert, c->link_cert_len);
  ch->creds.crosscert = dup_cert(ch, 3, c->crosscert, c->crosscert_len);
  ch->creds.rsa_link_cert = dup_cert(ch, 4, c->rsa_link_cert,
                                     c->rsa_link_cert_len);
  ch->creds.rsa_auth_cert = dup_cert(ch, 5, c->rsa_auth_cert,
                                     c->rsa_auth_cert_len);
  ch->creds.auth_cert = dup_cert(ch, 6, c->auth_cert, c->auth_cert_len);
  if (c->auth_key) {
    ch->auth_key = *c->auth_key;
    ch->creds.auth_key = &ch->auth_key;
  }
  ch->cfg.creds = &ch->creds;
}

channel_t *channel_connect(struct event_base *base, tls_context_t *tls,
                           const channel_target_t *t,
                           const channel_callbacks_t *cbs)
{
  return channel_connect_relay(base, tls, t, NULL, cbs);
}

channel_t *channel_connect_relay(struct event_base *base, tls_context_t *tls,
                                 const channel_target_t *t,
                                 const link_creds_t *creds,
                                 const channel_callbacks_t *cbs)
{
  if (!base || !tls || !t || !t->addr)
    return NULL;
  channel_t *ch = channel_new(base, tls, 1, cbs);
  if (!ch)
    return NULL;
  ch->cfg.role = LINK_ROLE_INITIATOR;
  if (t->expected_rsa_id) {
    memcpy(ch->exp_rsa, t->expected_rsa_id, sizeof(ch->exp_rsa));
    ch->cfg.expected_rsa_id = ch->exp_rsa;
  }
  if (t->expected_ed_id) {
    ch->exp_ed = *t->expected_ed_id;
    ch->cfg.expected_ed_id = &ch->exp_ed;
  }
  addr_from_sockaddr(&ch->cfg.peer_addr, t->addr);
  if (creds)
    copy_creds(ch, creds);
  ch->bev = bufferevent_openssl_socket_new(base, -1, tls_conn_ssl_ref(ch->tls),
                                           BUFFEREVENT_SSL_CONNECTING,
                                           BEV_OPT_CLOSE_ON_FREE);
  if (!ch->bev) {
    channel_free(ch);
    return NULL;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(ch->bev, 1);
  bufferevent_setcb(ch->bev, on_read, on_write, on_event, ch);
  bufferevent_enable(ch->bev, EV_READ | EV_WRITE);
  if (bufferevent_socket_connect(ch->bev, t->addr, (int)t->addrlen) < 0) {
    channel_free(ch);
    return NULL;
  }
  set_nodelay(ch);
  return ch;
}

channel_t *channel_accept(struct event_base *base, tls_context_t *tls,
                          int fd, const struct sockaddr *peer,
                          socklen_t peerlen, const link_creds_t *creds,
                          const channel_callbacks_t *cbs)
{
  (void)peerlen;
  channel_t *ch = base && tls && creds && fd >= 0
                      ? channel_new(base, tls, 0, cbs) : NULL;
  if (!ch) {
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  ch->cfg.role = LINK_ROLE_RESPONDER;
  addr_from_sockaddr(&ch->cfg.peer_addr, peer);
  copy_creds(ch, creds);
  evutil_make_socket_nonblocking(fd);
  ch->bev = bufferevent_openssl_socket_new(base, fd, tls_conn_ssl_ref(ch->tls),
                                           BUFFEREVENT_SSL_ACCEPTING,
                                           BEV_OPT_CLOSE_ON_FREE);
  if (!ch->bev) {
    close(fd);
    channel_free(ch);
    return NULL;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(ch->bev, 1);
  bufferevent_setcb(ch->bev, on_read, on_write, on_event, ch);
  bufferevent_enable(ch->bev, EV_READ | EV_WRITE);
  set_nodelay(ch);
  return ch;
}

int channel_set_my_addrs(channel_t *ch, const cell_addr_t *addrs, size_t n)
{
  if (!ch || ch->hs || ch->state != CHANNEL_STATE_CONNECTING ||
      (n && !addrs))
    return -1;
  if (n > LINK_MAX_PEER_ADDRS)
    n = LINK_MAX_PEER_ADDRS;
  memcpy(ch->cfg.my_addrs, addrs, n * sizeof(addrs[0]));
  ch->cfg.n_my_addrs = (uint8_t)n;
  return 0;
}

int channel_send_cell(channel_t *ch, const cell_t *cell)
{
  uint8_t buf[1024];
  size_t n = 0;
  if (!ch || ch->state != CHANNEL_STATE_OPEN || !ch->bev)
    return -1;
  size_t need = cell_encoded_len(cell->command, cell->payload_len,
                                 ch->peer.linkproto);
  uint8_t *out = need <= 1024 ? buf : al_malloc(need);
  int r = cell_encode(cell, ch->peer.linkproto, out, need, &n) < 0 ? -1 : 0;
  if (r == 0 && bufferevent_write(ch->bev, out, n) < 0)
    r = -1;
  if (out != buf)
    al_free(out);
  if (r == 0)
    ch->last_out = evloop_monotonic_msec();
  return r;
}

int channel_send_fixed(channel_t *ch, uint32_t circ_id, uint8_t command,
                       const uint8_t payload[CELL_PAYLOAD_LEN])
{
  struct evbuffer_iovec v;
  if (!ch || ch->state != CHANNEL_STATE_OPEN || !ch->bev ||
      ch->peer.linkproto < CELL_LINKPROTO_MIN)
    return -1;
  struct evbuffer *out = bufferevent_get_output(ch->bev);
  /* Linkproto >= 4: 4-byte circuit id, command, 509 bytes (tor-spec 3).
   * Written straight into the output buffer: the only copy of this hop. */
  if (evbuffer_reserve_space(out, 5 + CELL_PAYLOAD_LEN, &v, 1) < 1 ||
      v.iov_len < 5 + CELL_PAYLOAD_LEN)
    return -1;
  uint8_t *p = v.iov_base;
  p[0] = (uint8_t)(circ_id >> 24);
  p[1] = (uint8_t)(circ_id >> 16);
  p[2] = (uint8_t)(circ_id >> 8);
  p[3] = (uint8_t)circ_id;
  p[4] = command;
  memcpy(p + 5, payload, CELL_PAYLOAD_LEN);
  v.iov_len = 5 + CELL_PAYLOAD_LEN;
  if (evbuffer_commit_space(out, &v, 1) < 0)
    return -1;
  return 0;
}

void channel_reserve_output(channel_t *ch, size_t bytes)
{
  if (ch && ch->bev && ch->state == CHANNEL_STATE_OPEN)
    (void)evbuffer_expand(bufferevent_get_output(ch->bev), bytes);
}

void channel_note_output(channel_t *ch)
{
  if (ch)
    ch->last_out = evloop_monotonic_msec();
}

size_t channel_outbuf_len(const channel_t *ch)
{
  if (!ch || !ch->bev)
    return 0;
  return evbuffer_get_length(bufferevent_get_output(ch->bev));
}

void channel_set_output_low_water(channel_t *ch, size_t low,
                                  void (*on_drained)(channel_t *, void *))
{
  ch->on_drained = on_drained;
  if (ch->bev)
    bufferevent_setwatermark(ch->bev, EV_WRITE, low, 0);
}

void channel_set_reading(channel_t *ch, int on)
{
  if (!ch || ch->state == CHANNEL_STATE_CLOSED || !ch->bev)
    return;
  if (!on == !!ch->read_paused)
    return;
  ch->read_paused = !on;
  if (on) {
    bufferevent_enable(ch->bev, EV_READ);
    /* Cells may wait in the input buffer with no new bytes coming: look at
     * them from the loop, not from inside the caller. */
    bufferevent_trigger(ch->bev, EV_READ,
                        BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
  } else {
    bufferevent_disable(ch->bev, EV_READ);
  }
}

int channel_is_reading(const channel_t *ch)
{
  return ch && !ch->read_paused;
}

channel_state_t channel_state(const channel_t *ch)
{
  return ch->state;
}

const link_peer_t *channel_peer(const channel_t *ch)
{
  return &ch->peer;
}

unsigned channel_linkproto(const channel_t *ch)
{
  return ch->peer.linkproto;
}

uint64_t channel_tls_msec(const channel_t *ch)
{
  return ch->t_tls ? ch->t_tls - ch->t_start : 0;
}

uint64_t channel_handshake_msec(const channel_t *ch)
{
  return ch->t_open ? ch->t_open - ch->t_start : 0;
}

const char *channel_error(const channel_t *ch)
{
  return ch->error ? ch->error : "";
}

const char *channel_tls_version(const channel_t *ch)
{
  return tls_conn_version_name(ch->tls);
}

const char *channel_tls_cipher(const channel_t *ch)
{
  return tls_conn_cipher_name(ch->tls);
}

circid_set_t *channel_circids(channel_t *ch)
{
  return ch->circids;
}

void channel_set_idle_timeout(channel_t *ch, uint32_t msec)
{
  ch->idle_msec = msec;
}

void channel_set_keepalive(channel_t *ch, uint32_t msec)
{
  ch->keepalive_msec = msec;
}
