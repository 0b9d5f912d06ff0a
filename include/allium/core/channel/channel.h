/* channel.h -- a channel: one TLS connection to one peer carrying cells
 * (tor-spec.txt section 2 "Connections", 3 "Cell packet format", 4 the
 * link handshake, 5.1.1 circuit-id choice), over libevent bufferevents.
 *
 * channel_connect() opens a TCP connection, runs TLS as a client and the
 * link handshake as initiator (link_handshake.h); channel_accept() does
 * the responder side on an accepted socket.  Once the handshake is done
 * the channel is OPEN: on_open fires, then every received cell goes to
 * on_cell, and channel_send_cell() queues cells.  A channel closes once;
 * on_close reports why.
 *
 * Callbacks run from the event loop.  They may call channel_send_cell()
 * and channel_close(), but must not free the channel: free it later (for
 * instance from a timer, or after the loop returns).
 */
#ifndef ALLIUM_CORE_CHANNEL_CHANNEL_H
#define ALLIUM_CORE_CHANNEL_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "allium/core/cell/cell.h"
#include "allium/core/channel/link_handshake.h"
#include "allium/lib/tls/tls.h"

struct event_base;

/* ---- circuit-id allocation (tor-spec 5.1.1) ---- */

/** Random tries before giving up on finding a free id (tor uses 64). */
#define CIRCID_MAX_TRIES 64

/** The set of circuit ids in use on one channel. */
typedef struct circid_set_t circid_set_t;

/** New empty set for a channel with link protocol linkproto (>= 4: 4-byte
 * ids) on which we are the initiator or not: the initiator's ids have the
 * most significant bit set, the responder's have it clear.  Caller frees. */
circid_set_t *circid_set_new(unsigned linkproto, int we_initiated);
void circid_set_free_(circid_set_t *s);
#define circid_set_free(p) do { circid_set_free_(p); (p) = NULL; } while (0)
/** Pick a random unused id of our half (never 0) and mark it used.
 * 0, or -1 after CIRCID_MAX_TRIES ids were all taken. */
int circid_set_alloc(circid_set_t *s, uint32_t *out);
/** Mark an id used (e.g. one the peer chose).  0, or -1 if already used
 * or 0. */
int circid_set_add(circid_set_t *s, uint32_t id);
/** 1 if id is in use. */
int circid_set_contains(const circid_set_t *s, uint32_t id);
/** Release an id; 0, or -1 if it was not in use. */
int circid_set_remove(circid_set_t *s, uint32_t id);
size_t circid_set_count(const circid_set_t *s);
/** 1 if id belongs to the half the peer picks from (for checking CREATE
 * cells it sends us). */
int circid_set_is_peers(const circid_set_t *s, uint32_t id);

/* ---- channels ---- */

typedef struct channel_t channel_t;

typedef enum channel_state_t {
  CHANNEL_STATE_CONNECTING = 0,   /**< TCP connect / TLS handshake */
  CHANNEL_STATE_HANDSHAKING = 1,  /**< link handshake (section 4) */
  CHANNEL_STATE_OPEN = 2,
  CHANNEL_STATE_CLOSED = 3,
} channel_state_t;

typedef enum channel_close_reason_t {
  CHANNEL_CLOSE_REQUESTED = 0,    /**< channel_close() */
  CHANNEL_CLOSE_CONNECT_FAILED,   /**< TCP connect failed */
  CHANNEL_CLOSE_TLS_ERROR,        /**< TLS handshake or record error */
  CHANNEL_CLOSE_EOF,              /**< the peer closed the connection */
  CHANNEL_CLOSE_IO_ERROR,         /**< socket error after the handshake */
  CHANNEL_CLOSE_HANDSHAKE_FAILED, /**< link handshake error (see why) */
  CHANNEL_CLOSE_PROTOCOL,         /**< malformed cell after the handshake */
  CHANNEL_CLOSE_TIMEOUT,          /**< handshake took too long */
  CHANNEL_CLOSE_IDLE,             /**< idle timeout with no circuits */
} channel_close_reason_t;

/** Static name of a close reason. */
const char *channel_close_reason_name(int reason);

typedef struct channel_callbacks_t {
  /** Handshake done; channel_peer() is filled. */
  void (*on_open)(channel_t *ch, void *arg);
  /** A cell arrived (payload is a view valid during the call only).
   * PADDING and VPADDING are consumed by the channel. */
  void (*on_cell)(channel_t *ch, const cell_t *cell, void *arg);
  /** The channel closed (once).  why: static text. */
  void (*on_close)(channel_t *ch, int reason, const char *why, void *arg);
  void *arg;
} channel_callbacks_t;

/** Where to connect and whom to expect there. */
typedef struct channel_target_t {
  const struct sockaddr *addr;
  socklen_t addrlen;
  const uint8_t *expected_rsa_id;               /**< 20 bytes, or NULL */
  const ed25519_public_key_t *expected_ed_id;   /**< or NULL */
} channel_target_t;

/** Default bound on TCP+TLS+link handshake time. */
#define CHANNEL_HANDSHAKE_TIMEOUT_MSEC 30000

/** Start connecting to t (copied) with the client TLS context tls (its
 * TLS session keeps what it needs, so tls may be freed after this).  NULL if the attempt could not even start.
 * Caller frees with channel_free() (not from a callback). */
channel_t *channel_connect(struct event_base *base, tls_context_t *tls,
                           const channel_target_t *t,
                           const channel_callbacks_t *cbs);

/** channel_connect() as a relay: once the responder's CERTS checked out,
 * answer its AUTH_CHALLENGE with CERTS (types 2, 3, 4, 6, 7), AUTHENTICATE
 * AUTH0003 (tor-spec 4.4.2) and NETINFO, using creds (copied, including
 * the auth key; see link_keys_creds()).  creds NULL: same as
 * channel_connect(). */
channel_t *channel_connect_relay(struct event_base *base, tls_context_t *tls,
                                 const channel_target_t *t,
                                 const link_creds_t *creds,
                                 const channel_callbacks_t *cbs);

/** Serve an accepted socket fd (the channel owns and closes it) with the
 * server context tls and our certificates creds (copied; creds->link_cert
 * must certify tls's link certificate, see link_make_tls_link_cert(); use
 * link_keys_tls() and link_keys_creds() of one link_keys_t); peer
 * is the accepted address (may be NULL).  NULL on failure (fd is then
 * closed). */
channel_t *channel_accept(struct event_base *base, tls_context_t *tls,
                          int fd, const struct sockaddr *peer,
                          socklen_t peerlen, const link_creds_t *creds,
                          const channel_callbacks_t *cbs);

/** Our advertised addresses for NETINFO's "this OR's addresses" (tor-spec
 * 4.5; a relay lists the addresses it is reachable at, so that its peer
 * can tell whether the connection is canonical).  Call right after
 * channel_accept() / channel_connect_relay(), before the event loop runs.
 * At most LINK_MAX_PEER_ADDRS are kept.  0, or -1 if too late. */
int channel_set_my_addrs(channel_t *ch, const cell_addr_t *addrs, size_t n);

/** Close (idempotent): on_close(reason) runs now if it has not yet.
 * Queued output is dropped. */
void channel_close(channel_t *ch, int reason);
void channel_free_(channel_t *ch);
#define channel_free(p) do { channel_free_(p); (p) = NULL; } while (0)

/** Queue a cell (OPEN only).  0, or -1 (not open / cannot encode). */
int channel_send_cell(channel_t *ch, const cell_t *cell);

channel_state_t channel_state(const channel_t *ch);
/** Peer facts from the handshake (borrowed; valid once OPEN).  On an
 * accepted channel, ->authenticated is 1 only for a relay that proved its
 * RSA and ed25519 identities (rsa_id, ed_id) with CERTS + AUTHENTICATE; a
 * peer that sent only NETINFO is a client.  On a channel we opened,
 * ->authenticated is the responder's proof and ->we_authenticated says
 * whether we authenticated as a relay. */
const link_peer_t *channel_peer(const channel_t *ch);
/** Negotiated link protocol (0 before). */
unsigned channel_linkproto(const channel_t *ch);
/** Milliseconds from start to TLS done / to OPEN (0 if not reached). */
uint64_t channel_tls_msec(const channel_t *ch);
uint64_t channel_handshake_msec(const channel_t *ch);
/** The handshake's failure reason, "" if none (static). */
const char *channel_error(const channel_t *ch);
/** TLS protocol version and cipher in use (static strings). */
const char *channel_tls_version(const channel_t *ch);
const char *channel_tls_cipher(const channel_t *ch);

/** This channel's circuit-id set (created when OPEN; NULL before). */
circid_set_t *channel_circids(channel_t *ch);

/** Close with CHANNEL_CLOSE_IDLE once no cell has moved for msec and no
 * circuit id is in use (0 = never, the default).  KeepalivePeriod-style:
 * tor-spec 2 allows closing idle connections after some minutes. */
void channel_set_idle_timeout(channel_t *ch, uint32_t msec);
/** Send a PADDING cell whenever nothing was sent for msec (0 = off). */
void channel_set_keepalive(channel_t *ch, uint32_t msec);

/* ---- the relay's cell path (cellswitch): batching and back-pressure ---- */

/** Queue one fixed-size cell (linkproto >= 4) by writing it straight into
 * the output buffer (the only copy).  Does not update the keepalive clock:
 * call channel_note_output() once per batch.  0, or -1 if not open. */
int channel_send_fixed(channel_t *ch, uint32_t circ_id, uint8_t command,
                       const uint8_t payload[CELL_PAYLOAD_LEN]);
/** Room for one fixed-size cell (linkproto >= 4) at the end of the output
 * buffer: returns where its 509-byte payload goes, or NULL if not open.
 * The caller fills the payload in place and then calls
 * channel_fixed_commit() (the cell is sent) or nothing (it is not); no
 * other output may be queued on ch in between. */
uint8_t *channel_fixed_reserve(channel_t *ch);
void channel_fixed_commit(channel_t *ch, uint32_t circ_id, uint8_t command);
/** Make room for bytes more output in one piece (before a batch of
 * channel_send_fixed(): one allocation instead of one per few cells). */
void channel_reserve_output(channel_t *ch, size_t bytes);
/** Note that output was queued now (after a batch of channel_send_fixed). */
void channel_note_output(channel_t *ch);
/** Bytes waiting in the output buffer (0 when closed). */
size_t channel_outbuf_len(const channel_t *ch);
/** Call on_drained(ch, cbs.arg) whenever a write brings the output buffer
 * down to low bytes or fewer (NULL: stop). */
void channel_set_output_low_water(channel_t *ch, size_t low,
                                  void (*on_drained)(channel_t *, void *));
/** Stop (on = 0) or resume (1) reading cells: while stopped, no on_cell
 * runs and TCP pushes back on the peer.  Resuming delivers cells already
 * buffered from the loop, not from inside this call. */
void channel_set_reading(channel_t *ch, int on);
int channel_is_reading(const channel_t *ch);

/** Process-wide source address for the channels opened from now on (load
 * tools and tests: a flood from another loopback address, 127.0.0.5);
 * NULL clears.  Only applied to targets of the same family.  0, or -1 if
 * the address is too long. */
int channel_set_bind_address(const struct sockaddr *sa, socklen_t len);

#endif
