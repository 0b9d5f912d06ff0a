/* channel_io.c -- the bytes under a channel (tor-spec.txt section 2
 * "Connections": cells over TLS over TCP): a non-blocking socket driven by
 * OpenSSL directly, with the channel's own plaintext buffers.
 *
 * Cost per MiB relayed is what this file is about (issue 9):
 *  - reading: one persistent EV_READ event (no epoll_ctl per read);
 *    SSL read-ahead fills OpenSSL's record buffer with one read(2) of all
 *    the socket has (up to CHANNEL_TLS_READ_BUFFER bytes); cells are then
 *    decoded in place from one linear buffer (no pullup, no copy);
 *  - writing: cells are encoded straight into one linear output buffer;
 *    one deferred flush per loop iteration turns it into TLS records of up
 *    to 16 KiB, one write(2) each; EV_WRITE is only added while the socket
 *    is full.
 * TLS 1.3 post-handshake messages (key updates, tickets: we ask for none)
 * are handled by OpenSSL inside SSL_read / SSL_write; a read that needs the
 * socket writable (or the converse) waits on the other event.  Tor links
 * never renegotiate (SSL_OP_NO_RENEGOTIATION in lib/tls).
 *
 * Bandwidth limits (channel_bw.c): every read and write is counted; while
 * a BandwidthRate-style limit is on, each read and write first asks
 * channel_bw for an allowance, and a channel whose bucket is empty stops
 * reading (its read event removed) or writing until the refill timer
 * calls channel_io_bw_resume(). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/util.h>

#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"
#define LOG_MODULE "channel"
#include "allium/lib/log/log.h"
#include "channel_st.h"

/** The plaintext input buffer's first size: a TLS record's worth and more. */
#define CHANNEL_IN_FIRST (32 * 1024)
/** Largest plaintext input buffer: a whole variable-length cell fits. */
#define CHANNEL_IN_MAX (128 * 1024)
/** Plaintext handed to one SSL_write: one full TLS record. */
#define CHANNEL_RECORD_MAX 16384
/** Plaintext read from one channel per wakeup before others get a turn. */
#define CHANNEL_READ_BUDGET (256 * 1024)

static void io_on_read(evutil_socket_t fd, short what, void *arg);
static void io_on_write(evutil_socket_t fd, short what, void *arg);
static void io_on_flush(evutil_socket_t fd, short what, void *arg);
static void io_write(channel_t *ch);

/* ---- closing on errors ---- */

static void
io_fail(channel_t *ch, int reason, const char *why)
{
  if (!ch->error && why)
    ch->error = why;
  channel_close(ch, reason);
}

/* A TLS read or write result that is neither data nor WANT_*. */
static void
io_tls_fail(channel_t *ch, int r)
{
  if (!ch->tls_up)
    io_fail(ch, CHANNEL_CLOSE_TLS_ERROR, "TLS handshake or record error");
  else if (r == TLS_CLOSED)
    io_fail(ch, CHANNEL_CLOSE_EOF, NULL);
  else
    io_fail(ch, CHANNEL_CLOSE_TLS_ERROR, "TLS record error");
}

/* ---- the write event (only while the socket is full) ---- */

static void
io_want_write(channel_t *ch, int on)
{
  if (on && !ch->wev_added) {
    if (event_add(ch->wev, NULL) == 0)
      ch->wev_added = 1;
  } else if (!on && ch->wev_added) {
    event_del(ch->wev);
    ch->wev_added = 0;
  }
}

static void
io_schedule_flush(channel_t *ch)
{
  if (ch->flush_scheduled || ch->state == CHANNEL_STATE_CLOSED ||
      !ch->tls_up || ch->bw_wblocked)
    return;
  ch->flush_scheduled = 1;
  event_active(ch->fev, EV_TIMEOUT, 0);
}

/* ---- buffers ---- */

uint8_t *
channel_io_reserve(channel_t *ch, size_t n)
{
  if (ch->out_head == ch->out_len) {
    ch->out_head = ch->out_len = 0;
  } else if (ch->out_head && ch->out_cap - ch->out_len < n) {
    memmove(ch->out, ch->out + ch->out_head, ch->out_len - ch->out_head);
    ch->out_len -= ch->out_head;
    ch->out_head = 0;
  }
  if (ch->out_cap - ch->out_len < n) {
    size_t cap = ch->out_cap ? ch->out_cap * 2 : CHANNEL_RECORD_MAX;
    while (cap - ch->out_len < n)
      cap *= 2;
    ch->out = al_realloc(ch->out, cap);
    ch->out_cap = cap;
  }
  return ch->out + ch->out_len;
}

void
channel_io_commit(channel_t *ch, size_t n)
{
  ch->out_len += n;
  if (!ch->wev_added)
    io_schedule_flush(ch);
}

/** Free the buffers of a channel that holds nothing right now (from the
 * once-a-second tick): an idle channel then costs no buffer memory, and
 * a busy one allocates them again at most about once a second. */
void
channel_io_trim(channel_t *ch)
{
  if (ch->out_head == ch->out_len) {
    al_free(ch->out);
    ch->out = NULL;
    ch->out_cap = ch->out_head = ch->out_len = 0;
  }
  if (ch->in_len == 0) {
    al_free(ch->in);
    ch->in = NULL;
    ch->in_cap = 0;
  }
  if (ch->tls_up && ch->in == NULL && ch->out == NULL &&
      ch->state != CHANNEL_STATE_CLOSED)
    (void)tls_conn_release_buffers(ch->tls);
}

/* Room to read into: grow when the buffer is full of one unfinished cell. */
static int
io_in_room(channel_t *ch)
{
  if (ch->in_cap - ch->in_len >= 1024)
    return 0;
  size_t cap = ch->in_cap ? ch->in_cap * 2 : CHANNEL_IN_FIRST;
  if (cap > CHANNEL_IN_MAX)
    cap = CHANNEL_IN_MAX;
  if (cap <= ch->in_len)
    return ch->in_len < ch->in_cap ? 0 : -1;
  ch->in = al_realloc(ch->in, cap);
  ch->in_cap = cap;
  return 0;
}

/* ---- reading ---- */

/* Hand buffered plaintext to the handshake / cell reader; keep the rest
 * (less than one cell) at the front. */
static void
io_consume(channel_t *ch)
{
  if (!ch->in_len)
    return;
  size_t used = channel_consume_input(ch);
  if (ch->state == CHANNEL_STATE_CLOSED || used == 0)
    return;
  if (used < ch->in_len)
    memmove(ch->in, ch->in + used, ch->in_len - used);
  ch->in_len -= used;
}

/* Under a bandwidth limit: the bytes this wakeup may read (0: the channel
 * now waits for the refill, its read event removed). */
static size_t
io_read_budget(channel_t *ch)
{
  if (!channel_bw_on_)
    return CHANNEL_READ_BUDGET;
  size_t b = channel_bw_read_allow(ch, CHANNEL_READ_BUDGET);
  if (b == 0 && ch->rev)
    event_del(ch->rev);
  return b;
}

static void
io_read(channel_t *ch)
{
  ch->read_wants_write = 0;
  io_consume(ch);
  if (ch->bw_rblocked)
    return;
  size_t budget = io_read_budget(ch);
  if (budget == 0)
    return;
  while (ch->state != CHANNEL_STATE_CLOSED && !ch->read_paused) {
    size_t n = 0;
    if (budget == 0) {
      /* Bytes may wait inside OpenSSL where epoll cannot see them; those
       * in the socket make it readable again anyway. */
      if (tls_conn_pending(ch->tls))
        event_active(ch->rev, EV_READ, 0);
      return;
    }
    if (io_in_room(ch) < 0) {
      io_fail(ch, CHANNEL_CLOSE_PROTOCOL, "oversized cell");
      return;
    }
    size_t room = ch->in_cap - ch->in_len;
    int r = tls_conn_read(ch->tls, ch->in + ch->in_len,
                          room < budget ? room : budget, &n);
    if (r == TLS_OK) {
      ch->in_len += n;
      channel_bw_nread_ += n;
      if (channel_bw_on_)
        channel_bw_read_done(ch, n);
      budget = budget > n ? budget - n : 0;
      io_consume(ch);
      /* OpenSSL holds nothing more: rather than a read(2) that would
       * most likely say EAGAIN, let epoll say whether the socket has more
       * (level-triggered: it does so at once). */
      if (!tls_conn_pending(ch->tls))
        return;
      continue;
    }
    if (r == TLS_WANT_READ)
      return;
    if (r == TLS_WANT_WRITE) {
      ch->read_wants_write = 1;
      io_want_write(ch, 1);
      return;
    }
    io_tls_fail(ch, r);
    return;
  }
}

/* ---- writing ---- */

/* Under a bandwidth limit: the bytes this wakeup may write, at least what
 * a repeated SSL_write must offer again (0: ch waits for the refill). */
static size_t
io_write_budget(channel_t *ch)
{
  if (ch->bw_wblocked)
    return 0;                    /* the refill schedules the flush */
  if (!channel_bw_on_)
    return SIZE_MAX;
  size_t want = ch->out_len - ch->out_head;
  size_t b = channel_bw_write_allow(ch, want);
  if (b < ch->bw_wretry)
    b = ch->bw_wretry < want ? ch->bw_wretry : want;
  if (b == 0 && !ch->read_wants_write)
    io_want_write(ch, 0);
  return b;
}

static void
io_write(channel_t *ch)
{
  size_t wrote = 0, budget = io_write_budget(ch);
  while (ch->state != CHANNEL_STATE_CLOSED && ch->out_head < ch->out_len) {
    size_t n = 0, len = ch->out_len - ch->out_head;
    if (len > CHANNEL_RECORD_MAX)
      len = CHANNEL_RECORD_MAX;
    if (len > budget)
      len = budget;
    if (len == 0) {
      /* This wakeup's share is spent but the bucket is not empty: let the
       * other channels write first, then go on. */
      if (!ch->bw_wblocked && channel_bw_on_)
        io_schedule_flush(ch);
      break;
    }
    int r = tls_conn_write(ch->tls, ch->out + ch->out_head, len, &n);
    if (r == TLS_OK) {
      ch->out_head += n;
      wrote += n;
      budget -= n;
      ch->bw_wretry = 0;
      channel_bw_nwritten_ += n;
      if (channel_bw_on_)
        channel_bw_write_done(ch, n);
      continue;
    }
    if (r == TLS_WANT_WRITE || r == TLS_WANT_READ) {
      ch->bw_wretry = len;
      /* WANT_READ: the persistent read event brings us back. */
      if (r == TLS_WANT_WRITE)
        io_want_write(ch, 1);
      break;
    }
    io_tls_fail(ch, r);
    return;
  }
  if (ch->state == CHANNEL_STATE_CLOSED)
    return;
  if (wrote)
    ch->last_out = evloop_monotonic_msec();
  if (ch->out_head == ch->out_len) {
    ch->out_head = ch->out_len = 0;
    if (!ch->read_wants_write)
      io_want_write(ch, 0);
  }
  if (wrote && ch->on_drained && ch->state == CHANNEL_STATE_OPEN &&
      ch->out_len - ch->out_head <= ch->low_water)
    ch->on_drained(ch, ch->cbs.arg);
}

static void
io_on_flush(evutil_socket_t fd, short what, void *arg)
{
  channel_t *ch = arg;
  (void)fd;
  (void)what;
  ch->flush_scheduled = 0;
  if (ch->state != CHANNEL_STATE_CLOSED && ch->tls_up && !ch->wev_added)
    io_write(ch);
}

/* ---- the TLS handshake and connect() ---- */

static void
io_handshake(channel_t *ch)
{
  int r = tls_conn_handshake(ch->tls);
  if (r == TLS_WANT_READ) {
    io_want_write(ch, 0);
    return;
  }
  if (r == TLS_WANT_WRITE) {
    io_want_write(ch, 1);
    return;
  }
  if (r != TLS_OK) {
    io_tls_fail(ch, r);
    return;
  }
  io_want_write(ch, 0);
  ch->tls_up = 1;
  channel_tls_up(ch);    /* may close */
  if (ch->state == CHANNEL_STATE_CLOSED)
    return;
  if (ch->out_head < ch->out_len)
    io_schedule_flush(ch);
  io_read(ch);           /* records may already sit in OpenSSL's buffer */
}

static void
io_connected(channel_t *ch)
{
  int err = ch->connect_errno;
  socklen_t len = sizeof(err);
  if (!err && getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    err = errno;
  if (err) {
    log_info_rl(60, "channel connect failed: %s", strerror(err));
    io_fail(ch, CHANNEL_CLOSE_CONNECT_FAILED,
            "connection refused or unreachable");
    return;
  }
  ch->tcp_connecting = 0;
  if (tls_conn_set_fd(ch->tls, ch->fd) < 0) {
    io_fail(ch, CHANNEL_CLOSE_TLS_ERROR, "cannot attach TLS to the socket");
    return;
  }
  io_handshake(ch);
}

static void
io_on_read(evutil_socket_t fd, short what, void *arg)
{
  channel_t *ch = arg;
  (void)fd;
  (void)what;
  if (ch->state == CHANNEL_STATE_CLOSED || ch->tcp_connecting)
    return;
  if (!ch->tls_up) {
    io_handshake(ch);
    return;
  }
  io_read(ch);
  /* A write that waited for the peer (WANT_READ) can go on now. */
  if (ch->state != CHANNEL_STATE_CLOSED && ch->out_head < ch->out_len &&
      !ch->wev_added)
    io_write(ch);
}

static void
io_on_write(evutil_socket_t fd, short what, void *arg)
{
  channel_t *ch = arg;
  (void)fd;
  (void)what;
  if (ch->state == CHANNEL_STATE_CLOSED)
    return;
  if (ch->tcp_connecting) {
    io_connected(ch);
    return;
  }
  if (!ch->tls_up) {
    io_handshake(ch);
    return;
  }
  if (ch->read_wants_write) {
    io_read(ch);
    if (ch->state == CHANNEL_STATE_CLOSED)
      return;
  }
  io_want_write(ch, 0);
  io_write(ch);
}

/* ---- set up and tear down ---- */

/** Cells are small and latency-bound: no Nagle delays. */
static void
io_set_nodelay(int fd)
{
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* channel_set_bind_address(): the source address of new connections. */
static struct sockaddr_storage io_bind_addr;
static socklen_t io_bind_len;

int
channel_set_bind_address(const struct sockaddr *sa, socklen_t len)
{
  if (sa && len > sizeof(io_bind_addr))
    return -1;
  io_bind_len = sa ? len : 0;
  if (sa)
    memcpy(&io_bind_addr, sa, len);
  return 0;
}

static int
io_bind_source(int fd, int family)
{
  if (!io_bind_len || io_bind_addr.ss_family != family)
    return 0;
  return bind(fd, (const struct sockaddr *)&io_bind_addr, io_bind_len);
}

/** Start I/O on fd (accepted), or on a new socket connecting to
 * connect_to.  0, or -1 (nothing started; an accepted fd stays open). */
int
channel_io_start(channel_t *ch, int fd, const struct sockaddr *connect_to,
                 socklen_t addrlen)
{
  if (connect_to) {
    fd = socket(connect_to->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
      return -1;
    if (io_bind_source(fd, connect_to->sa_family) < 0) {
      close(fd);
      return -1;
    }
  }
  if (evutil_make_socket_nonblocking(fd) < 0 ||
      evutil_make_socket_closeonexec(fd) < 0) {
    if (connect_to)
      close(fd);
    return -1;
  }
  ch->fd = fd;
  channel_bw_attach(ch, ch->cfg.creds != NULL);
  io_set_nodelay(fd);
  ch->rev = event_new(ch->base, fd, EV_READ | EV_PERSIST, io_on_read, ch);
  ch->wev = event_new(ch->base, fd, EV_WRITE | EV_PERSIST, io_on_write, ch);
  ch->fev = event_new(ch->base, -1, 0, io_on_flush, ch);
  if (!ch->rev || !ch->wev || !ch->fev || event_add(ch->rev, NULL) < 0)
    goto fail;
  if (!connect_to) {
    if (tls_conn_set_fd(ch->tls, fd) < 0)
      goto fail;
    /* Bytes may be there already; look from the loop, so that no callback
     * runs inside channel_accept(). */
    event_active(ch->rev, EV_READ, 0);
    return 0;
  }
  ch->tcp_connecting = 1;
  if (connect(fd, connect_to, addrlen) < 0 && errno != EINPROGRESS) {
    /* Refused (a closed port on this host) is reported from the loop like
     * a refusal that arrives later; anything else (no route, no address
     * family) fails the call at once, so the caller knows nothing started
     * (as with bufferevent_socket_connect()). */
    if (errno != ECONNREFUSED) {
      log_info_rl(60, "channel connect failed at once: %s", strerror(errno));
      goto fail;
    }
    ch->connect_errno = ECONNREFUSED;
  }
  io_want_write(ch, 1);
  if (ch->connect_errno)
    event_active(ch->wev, EV_WRITE, 0);   /* report from the loop */
  return 0;
fail:
  if (ch->rev)
    event_free(ch->rev);
  if (ch->wev)
    event_free(ch->wev);
  if (ch->fev)
    event_free(ch->fev);
  ch->rev = ch->wev = ch->fev = NULL;
  ch->wev_added = 0;
  ch->fd = -1;
  if (connect_to)
    close(fd);
  return -1;
}

/** Stop all I/O and close the socket (buffers stay until channel_free:
 * the reader may still be looking at them). */
void
channel_io_close(channel_t *ch)
{
  channel_bw_detach(ch);
  if (ch->rev)
    event_del(ch->rev);
  if (ch->wev)
    event_del(ch->wev);
  if (ch->fev)
    event_del(ch->fev);
  ch->wev_added = 0;
  ch->flush_scheduled = 0;
  if (ch->fd >= 0)
    close(ch->fd);
  ch->fd = -1;
  ch->out_head = ch->out_len = 0;
}

void
channel_io_free(channel_t *ch)
{
  channel_io_close(ch);
  if (ch->rev)
    event_free(ch->rev);
  if (ch->wev)
    event_free(ch->wev);
  if (ch->fev)
    event_free(ch->fev);
  ch->rev = ch->wev = ch->fev = NULL;
  al_free(ch->in);
  al_free(ch->out);
  ch->in = ch->out = NULL;
}

void
channel_io_set_reading(channel_t *ch, int on)
{
  if (!ch->rev)
    return;
  if (on) {
    if (ch->bw_rblocked)
      return;          /* the bandwidth refill turns reading back on */
    event_add(ch->rev, NULL);
    /* Cells may wait in our buffer or in OpenSSL's with no new bytes
     * coming: look at them from the loop, not from inside the caller. */
    event_active(ch->rev, EV_READ, 0);
  } else {
    event_del(ch->rev);
  }
}

/** A bandwidth refill woke ch (channel_bw.c): read or write again. */
void
channel_io_bw_resume(channel_t *ch, int reading)
{
  if (ch->state == CHANNEL_STATE_CLOSED || !ch->rev)
    return;
  if (reading) {
    if (!ch->read_paused) {
      event_add(ch->rev, NULL);
      event_active(ch->rev, EV_READ, 0);
    }
  } else if (ch->out_head < ch->out_len) {
    if (ch->wev_added)
      event_active(ch->wev, EV_WRITE, 0);
    else
      io_schedule_flush(ch);
  }
}
