/* channel_st.h -- the body of channel_t, shared by channel_tls.c (life
 * cycle, link handshake, cells) and channel_io.c (the socket, TLS records
 * and the channel's plaintext buffers).  Private to src/core/channel. */
#ifndef ALLIUM_CORE_CHANNEL_CHANNEL_ST_H
#define ALLIUM_CORE_CHANNEL_CHANNEL_ST_H

#include <event2/event.h>

#include "allium/core/channel/channel.h"
#include "allium/core/channel/link_handshake.h"
#include "allium/lib/container/dlist.h"

#define CHANNEL_CREDS_BUFS 7

struct channel_t {
  struct event_base *base;
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
  size_t low_water;
  int read_paused;
  /* ---- channel_io.c ---- */
  int fd;
  struct event *rev;       /* EV_READ | EV_PERSIST, added unless paused */
  struct event *wev;       /* EV_WRITE | EV_PERSIST, added while waiting */
  struct event *fev;       /* deferred flush: once per loop iteration */
  int tcp_connecting;      /* waiting for connect() to finish */
  int connect_errno;       /* connect() failed at once */
  int tls_up;              /* the TLS handshake is done */
  int wev_added;
  int flush_scheduled;
  int read_wants_write;    /* SSL_read asked for the socket to be writable */
  uint8_t *in;             /* plaintext read, not yet consumed */
  size_t in_len, in_cap;
  uint8_t *out;            /* plaintext to write: [out_head, out_len) */
  size_t out_head, out_len, out_cap;
  /* ---- channel_bw.c: BandwidthRate & co. ---- */
  int bw_relayed;          /* relayed traffic: spends the relay buckets too */
  int bw_rblocked;         /* reading stopped until the next refill */
  int bw_wblocked;         /* writing stopped until the next refill */
  size_t bw_wretry;        /* an SSL_write to repeat at least this long */
  dlist_node_t bw_rnode, bw_wnode;   /* in the waiting lists */
};

/* channel_io.c */
int channel_io_start(channel_t *ch, int fd, const struct sockaddr *connect_to,
                     socklen_t addrlen);
void channel_io_close(channel_t *ch);
void channel_io_free(channel_t *ch);
uint8_t *channel_io_reserve(channel_t *ch, size_t n);
void channel_io_commit(channel_t *ch, size_t n);
void channel_io_set_reading(channel_t *ch, int on);
void channel_io_trim(channel_t *ch);

/* channel_bw.c: called by channel_io.c (only while channel_bw_on_) */
extern bool channel_bw_on_;
extern uint64_t channel_bw_nread_, channel_bw_nwritten_;
void channel_bw_attach(channel_t *ch, int relayed);
void channel_bw_detach(channel_t *ch);
/** Bytes ch may read now (at most want); 0: ch waits for the refill. */
size_t channel_bw_read_allow(channel_t *ch, size_t want);
void channel_bw_read_done(channel_t *ch, size_t n);
/** Bytes ch may write now (at most want); 0: ch waits for the refill. */
size_t channel_bw_write_allow(channel_t *ch, size_t want);
void channel_bw_write_done(channel_t *ch, size_t n);
/* channel_io.c: called by channel_bw.c when a refill wakes ch */
void channel_io_bw_resume(channel_t *ch, int reading);

/* channel_tls.c: called by channel_io.c */
void channel_tls_up(channel_t *ch);
/** Take what the link handshake or the cell reader can use from
 * ch->in[0, in_len); returns the number of bytes consumed. */
size_t channel_consume_input(channel_t *ch);

#endif
