/* channel_tls.c -- a channel over one TLS connection (tor-spec.txt section
 * 2 "Connections", 3 cell framing, 4 link handshake).  The handshake logic
 * lives in link_handshake.c, the socket and TLS records in channel_io.c;
 * this file runs the channel's life cycle, times things out and frames
 * and delivers cells (decoded in place from the input buffer, encoded
 * straight into the output buffer). */
#include "allium/core/channel/channel.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>

#include "allium/core/channel/link_auth.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"
#define LOG_MODULE "channel"
#include "allium/lib/log/log.h"

#include "channel_st.h"

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
  channel_io_close(ch);
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
  channel_io_free(ch);
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
    memcpy(channel_io_reserve(ch, n), out, n);
    channel_io_commit(ch, n);
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

/** Feed the link handshake; bytes used. */
static size_t read_handshake(channel_t *ch, const uint8_t *data, size_t len)
{
  size_t used = 0;
  int r = link_handshake_feed(ch->hs, data, len, &used);
  if (r < 0) {
    link_handshake_error(ch->hs, &ch->error);
    channel_close(ch, CHANNEL_CLOSE_HANDSHAKE_FAILED);
    return used;
  }
  flush_handshake(ch);
  if (link_handshake_state(ch->hs) == LINK_HS_DONE)
    become_open(ch);
  return used;
}

/** Deliver the whole cells in data (decoded in place: on_cell sees a view
 * of the input buffer); bytes used. */
static size_t read_cells(channel_t *ch, const uint8_t *data, size_t len)
{
  size_t off = 0;
  while (ch->state == CHANNEL_STATE_OPEN && !ch->read_paused && off < len) {
    size_t avail = len - off, hlen = 0, used = 0;
    size_t hdr = avail < CELL_VAR_HEADER_MAX ? avail : CELL_VAR_HEADER_MAX;
    cell_header_t h;
    cell_t c;
    int r = cell_header_decode(&h, data + off, hdr, ch->peer.linkproto,
                               &hlen);
    if (r == CELL_ERR_TRUNCATED)
      break;
    if (r == 0 && avail < hlen + h.payload_len)
      break;
    if (r < 0 || cell_decode(&c, data + off, hlen + h.payload_len,
                             ch->peer.linkproto, &used) < 0) {
      ch->error = "malformed cell";
      channel_close(ch, CHANNEL_CLOSE_PROTOCOL);
      break;
    }
    off += used;
    if (c.command != CELL_PADDING && c.command != CELL_VPADDING &&
        ch->cbs.on_cell)
      ch->cbs.on_cell(ch, &c, ch->cbs.arg);
  }
  if (off)
    ch->last_in = evloop_monotonic_msec();
  return off;
}

size_t channel_consume_input(channel_t *ch)
{
  size_t used = 0;
  if (ch->state == CHANNEL_STATE_HANDSHAKING)
    used = read_handshake(ch, ch->in, ch->in_len);
  if (ch->state == CHANNEL_STATE_OPEN)
    used += read_cells(ch, ch->in + used, ch->in_len - used);
  return used;
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

/** TLS is up: start the link handshake (from channel_io.c). */
void channel_tls_up(channel_t *ch)
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
}

/** Once a second: handshake timeout, idle timeout, keepalive. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
  channel_t *ch = arg;
  uint64_t now = evloop_monotonic_msec();
  (void)fd;
  (void)what;
  channel_io_trim(ch);
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

static channel_t *channel_new(struct event_base *base, tls_context_t *tls,
                              int initiator, const channel_callbacks_t *cbs)
{
  channel_t *ch = al_calloc(1, sizeof(*ch));
  ch->base = base;
  ch->initiator = initiator;
  if (cbs)
    ch->cbs = *cbs;
  ch->fd = -1;
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
  if (channel_io_start(ch, -1, t->addr, t->addrlen) < 0) {
    channel_free(ch);
    return NULL;
  }
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
  if (channel_io_start(ch, fd, NULL, 0) < 0) {
    close(fd);
    channel_free(ch);
    return NULL;
  }
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
  size_t n = 0;
  if (!ch || ch->state != CHANNEL_STATE_OPEN)
    return -1;
  size_t need = cell_encoded_len(cell->command, cell->payload_len,
                                 ch->peer.linkproto);
  if (need == 0 ||
      cell_encode(cell, ch->peer.linkproto, channel_io_reserve(ch, need), need,
                  &n) < 0)
    return -1;
  channel_io_commit(ch, n);
  ch->last_out = evloop_monotonic_msec();
  return 0;
}

int channel_send_fixed(channel_t *ch, uint32_t circ_id, uint8_t command,
                       const uint8_t payload[CELL_PAYLOAD_LEN])
{
  if (!ch || ch->state != CHANNEL_STATE_OPEN ||
      ch->peer.linkproto < CELL_LINKPROTO_MIN)
    return -1;
  /* Linkproto >= 4: 4-byte circuit id, command, 509 bytes (tor-spec 3).
   * Written straight into the output buffer: the only copy of this hop. */
  uint8_t *p = channel_io_reserve(ch, 5 + CELL_PAYLOAD_LEN);
  p[0] = (uint8_t)(circ_id >> 24);
  p[1] = (uint8_t)(circ_id >> 16);
  p[2] = (uint8_t)(circ_id >> 8);
  p[3] = (uint8_t)circ_id;
  p[4] = command;
  memcpy(p + 5, payload, CELL_PAYLOAD_LEN);
  channel_io_commit(ch, 5 + CELL_PAYLOAD_LEN);
  return 0;
}

uint8_t *channel_fixed_reserve(channel_t *ch)
{
  if (!ch || ch->state != CHANNEL_STATE_OPEN ||
      ch->peer.linkproto < CELL_LINKPROTO_MIN)
    return NULL;
  return channel_io_reserve(ch, 5 + CELL_PAYLOAD_LEN) + 5;
}

void channel_fixed_commit(channel_t *ch, uint32_t circ_id, uint8_t command)
{
  uint8_t *p = ch->out + ch->out_len;
  p[0] = (uint8_t)(circ_id >> 24);
  p[1] = (uint8_t)(circ_id >> 16);
  p[2] = (uint8_t)(circ_id >> 8);
  p[3] = (uint8_t)circ_id;
  p[4] = command;
  channel_io_commit(ch, 5 + CELL_PAYLOAD_LEN);
}

void channel_reserve_output(channel_t *ch, size_t bytes)
{
  if (ch && ch->state == CHANNEL_STATE_OPEN)
    (void)channel_io_reserve(ch, bytes);
}

void channel_note_output(channel_t *ch)
{
  if (ch)
    ch->last_out = evloop_monotonic_msec();
}

size_t channel_outbuf_len(const channel_t *ch)
{
  if (!ch || ch->state == CHANNEL_STATE_CLOSED)
    return 0;
  return ch->out_len - ch->out_head;
}

void channel_set_output_low_water(channel_t *ch, size_t low,
                                  void (*on_drained)(channel_t *, void *))
{
  ch->on_drained = on_drained;
  ch->low_water = low;
}

void channel_set_reading(channel_t *ch, int on)
{
  if (!ch || ch->state == CHANNEL_STATE_CLOSED)
    return;
  if (!on == !!ch->read_paused)
    return;
  ch->read_paused = !on;
  channel_io_set_reading(ch, on);
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
