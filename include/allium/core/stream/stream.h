/* stream.h -- the stream table of one circuit edge (tor-spec 6.2-6.4, 7.4):
 * stream ids, states, BEGIN / BEGIN_DIR / CONNECTED / DATA / END / RESOLVE /
 * RESOLVED and stream-level SENDMEs, for both ends of a circuit:
 *   RELAY_STREAM_ROLE_CLIENT: the originator (opens streams, gets CONNECTED);
 *   RELAY_STREAM_ROLE_EXIT:   the last hop (gets BEGIN, answers CONNECTED).
 *
 * Sans-IO: the table sends relay messages through the relay_stream_sender_t
 * its circuit supplies, receives the circuit's recognized stream messages
 * through relay_streams_handle(), and reports what happened as events the
 * caller drains with relay_streams_next_event().  Outgoing data is buffered
 * per stream and packaged as RELAY_DATA while both the stream window and the
 * circuit window (sender->can_package) allow; call relay_streams_flush()
 * when the circuit window opens (circuits do this themselves).
 *
 * Half-closed streams: after we send END a stream stays in state CLOSING;
 * whatever the peer still sends on it is ignored until its END arrives or
 * RELAY_STREAM_HALF_CLOSED_SECS pass (see relay_streams_set_time()).
 */
#ifndef ALLIUM_CORE_STREAM_STREAM_H
#define ALLIUM_CORE_STREAM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/relay_msg.h"

#define RELAY_STREAM_HALF_CLOSED_SECS 60
/** Most streams one table holds (ids are 16-bit, 0 is reserved). */
#define RELAY_STREAM_MAX 4096

/** relay_streams_handle(): the circuit must be closed (TORPROTOCOL). */
#define RELAY_STREAM_ERR_PROTOCOL (-1)
/** API misuse or resource errors (no such stream, table full, ...). */
#define RELAY_STREAM_ERR_STATE (-2)
#define RELAY_STREAM_ERR_FULL (-3)
#define RELAY_STREAM_ERR_ARG (-4)

typedef enum relay_stream_role_t {
  RELAY_STREAM_ROLE_CLIENT = 0,
  RELAY_STREAM_ROLE_EXIT = 1,
} relay_stream_role_t;

typedef enum relay_stream_state_t {
  RELAY_STREAM_NONE = 0,        /**< no such stream */
  RELAY_STREAM_CONNECTING = 1,  /**< BEGIN sent / received, no CONNECTED yet */
  RELAY_STREAM_RESOLVING = 2,   /**< RESOLVE sent / received */
  RELAY_STREAM_OPEN = 3,
  RELAY_STREAM_CLOSING = 4,     /**< we sent END (half-closed) */
} relay_stream_state_t;

/** How the table sends: the circuit's functions.  send() gets a whole relay
 * message (body_len <= RELAY_BODY_MAX) and returns 0 or negative (circuit
 * gone); it is only called for RELAY_DATA when can_package() said yes. */
typedef struct relay_stream_sender_t {
  int (*send)(void *ctx, uint8_t command, uint16_t stream_id,
              const uint8_t *body, size_t body_len);
  bool (*can_package)(void *ctx);
  /** Largest DATA body for the next cell (NULL: RELAY_BODY_MAX).  Circuits
   * return less at the start of a SENDME increment so the cell carries
   * random padding (tor-spec 7.3, proposal 289). */
  size_t (*max_data)(void *ctx);
  void *ctx;
} relay_stream_sender_t;

typedef enum relay_stream_event_type_t {
  RELAY_STREAM_EV_CONNECTED = 1,  /**< client: addr, ttl */
  RELAY_STREAM_EV_DATA,           /**< data, len */
  RELAY_STREAM_EV_END,            /**< reason; the stream is gone */
  RELAY_STREAM_EV_RESOLVED,       /**< client: data/len = RESOLVED body */
  RELAY_STREAM_EV_BEGIN,          /**< exit: host, port, flags */
  RELAY_STREAM_EV_BEGIN_DIR,      /**< exit */
  RELAY_STREAM_EV_RESOLVE,        /**< exit: host = name to look up */
  RELAY_STREAM_EV_ERROR,          /**< malformed/unexpected: command, error */
  /** The stream's queue fell below the table's drain mark after a write
   * had left it at or above (relay_streams_set_drain_mark()): the writer
   * may write again.  Only with a drain mark set. */
  RELAY_STREAM_EV_DRAINED,
} relay_stream_event_type_t;

typedef struct relay_stream_event_t {
  relay_stream_event_type_t type;
  uint16_t stream_id;
  uint8_t command;          /**< ERROR: the offending relay command */
  int error;                /**< ERROR: a cell_err_t or RELAY_STREAM_ERR_* */
  uint8_t reason;           /**< END: relay_end_reason_t */
  cell_addr_t addr;         /**< CONNECTED */
  uint32_t ttl;             /**< CONNECTED */
  char host[RELAY_HOST_MAX];/**< BEGIN host, RESOLVE name (NUL-terminated) */
  uint16_t port;            /**< BEGIN */
  uint32_t flags;           /**< BEGIN */
  uint16_t len;             /**< DATA / RESOLVED */
  uint8_t data[RELAY_BODY_MAX];
} relay_stream_event_t;

typedef struct relay_streams_t relay_streams_t;

/** New empty table; *sender is copied.  Caller frees with
 * relay_streams_free() (which sends nothing). */
relay_streams_t *relay_streams_new(relay_stream_role_t role,
                                   const relay_stream_sender_t *sender);
void relay_streams_free_(relay_streams_t *t);
/** Change the role of a table that has never held a stream (an onion
 * service's rendezvous circuit: the origin edge accepts BEGINs from the
 * client, rend-spec-v3 4.2).  0, or RELAY_STREAM_ERR_STATE if a stream
 * was ever opened on t. */
int relay_streams_set_role(relay_streams_t *t, relay_stream_role_t role);
#define relay_streams_free(p) do { relay_streams_free_(p); (p) = NULL; } while (0)

/** Tell the table the time (seconds, any monotonic origin); expires
 * half-closed streams older than RELAY_STREAM_HALF_CLOSED_SECS. */
void relay_streams_set_time(relay_streams_t *t, uint64_t now);

/* ---- client side ---- */
/** Open a stream to host:port (BEGIN, flags per 6.2); *id_out gets the new
 * stream id (never 0).  0 or RELAY_STREAM_ERR_*. */
int relay_stream_begin(relay_streams_t *t, const char *host, uint16_t port,
                       uint32_t flags, uint16_t *id_out);
/** Open a directory stream (BEGIN_DIR). */
int relay_stream_begin_dir(relay_streams_t *t, uint16_t *id_out);
/** Ask the exit to resolve name (RESOLVE); the answer is a RESOLVED event. */
int relay_stream_resolve(relay_streams_t *t, const char *name,
                         uint16_t *id_out);

/* ---- exit side ---- */
/** Answer a BEGIN/BEGIN_DIR: CONNECTED (addr NULL or type NONE: empty body,
 * as for BEGIN_DIR), the stream becomes OPEN. */
int relay_stream_connected(relay_streams_t *t, uint16_t id,
                           const cell_addr_t *addr, uint32_t ttl);
/** Answer a RESOLVE; the stream is then gone. */
int relay_stream_resolved(relay_streams_t *t, uint16_t id,
                          const relay_resolved_t *answers);

/* ---- both ---- */
/** Queue len bytes (copied) for the stream and package what the windows
 * allow.  Allowed while CONNECTING (sent once open) or OPEN. */
int relay_stream_write(relay_streams_t *t, uint16_t id, const uint8_t *data,
                       size_t len);
/** Bytes queued and not yet packaged. */
size_t relay_stream_pending(const relay_streams_t *t, uint16_t id);
/** MaxMemInQueues (relay_mem.h): bytes queued in all of t's streams, and
 * in *oldest_msec (if not NULL) when the oldest of them was queued (0:
 * nothing queued).  Scans t: for the OOM pass, not per cell. */
size_t relay_streams_queued(const relay_streams_t *t, uint64_t *oldest_msec);
/** Discard every byte queued in t's streams (the OOM pass, before closing
 * the circuit); returns how many were freed. */
size_t relay_streams_drop_queued(relay_streams_t *t);
/** Close the stream: END with reason is sent once the queued data is out
 * (at once if none); the stream is then half-closed. */
int relay_stream_end(relay_streams_t *t, uint16_t id, uint8_t reason);
/** Refuse or close the stream with END EXITPOLICY carrying the refused
 * address and its TTL (tor-spec 6.3; addr NULL or of type NONE: no
 * address). */
int relay_stream_end_exitpolicy(relay_streams_t *t, uint16_t id,
                                const cell_addr_t *addr, uint32_t ttl);
/** Receive-side back-pressure (tor-spec 7.4): while paused, the stream's
 * SENDMEs are held back, so the peer stops after one window (500 cells)
 * past the last SENDME; unpausing sends the held ones.  A peer that sends
 * more than a window while paused breaks the protocol (relay_streams_handle()
 * then returns RELAY_STREAM_ERR_PROTOCOL).  0, or RELAY_STREAM_ERR_STATE
 * for an unknown stream. */
int relay_stream_set_recv_paused(relay_streams_t *t, uint16_t id,
                                 bool paused);
/** Congestion control was negotiated on the circuit (proposal 324 4.1):
 * no stream windows and no stream SENDMEs (one arriving is a protocol
 * violation); relay_stream_set_recv_paused() sends XOFF / XON instead, and
 * an XOFF from the peer stops packaging that stream until its XON.  Off:
 * XON / XOFF are ignored. */
void relay_streams_set_flowctrl(relay_streams_t *t, bool on);
/** Flow control: the peer's last word on the stream was XOFF. */
bool relay_stream_xoff_received(const relay_streams_t *t, uint16_t id);
/** SENDMEs held back so far (0 if unknown). */
unsigned relay_stream_sendmes_owed(const relay_streams_t *t, uint16_t id);
/** State of a stream (RELAY_STREAM_NONE if unknown). */
relay_stream_state_t relay_stream_state(const relay_streams_t *t, uint16_t id);
/** Back-pressure for writers that stop at a queue size: when a write
 * leaves a stream with at least mark bytes queued, a RELAY_STREAM_EV_DRAINED
 * event follows once packaging brings it below mark (e.g. after the
 * peer's SENDME), so the writer resumes without polling.  0 (the default):
 * no such events. */
void relay_streams_set_drain_mark(relay_streams_t *t, size_t mark);
/** Package queued data while the windows allow (round-robin). */
void relay_streams_flush(relay_streams_t *t);
/** The circuit is gone: every stream ends with an END event of reason
 * RELAY_END_DESTROY; nothing is sent. */
void relay_streams_circuit_closed(relay_streams_t *t);

/** A recognized relay message for this edge (any stream command, incl.
 * stream-level SENDME).  Malformed or unexpected messages give an ERROR
 * event (and END the stream where one exists).  Returns 0, or
 * RELAY_STREAM_ERR_PROTOCOL when the circuit must be closed (stream
 * command on stream 0, a stream window overflow / underflow). */
int relay_streams_handle(relay_streams_t *t, uint8_t command,
                         uint16_t stream_id, const uint8_t *body, size_t len);

/** Oldest event into *ev: 1, or 0 if none. */
int relay_streams_next_event(relay_streams_t *t, relay_stream_event_t *ev);
/** True if an event waits for relay_streams_next_event(). */
bool relay_streams_has_events(const relay_streams_t *t);

/** Where incoming DATA goes instead of a RELAY_STREAM_EV_DATA event: the
 * sink gets the stream id and a view of the body (valid during the call
 * only; no copy was made).  It is used only while no event waits, so the
 * order of events and data is kept.  The sink runs from inside
 * relay_streams_handle() after the stream's window accounting; it may call
 * any relay_stream function of this table, and its caller may close the
 * circuit (the table must not be freed from it). */
typedef void (*relay_stream_data_sink_t)(void *arg, uint16_t stream_id,
                                         const uint8_t *data, size_t len);
/** Set (fn not NULL) or clear the data sink. */
void relay_streams_set_data_sink(relay_streams_t *t,
                                 relay_stream_data_sink_t fn, void *arg);

/** True for the commands relay_streams_handle() takes (BEGIN, DATA, END,
 * CONNECTED, SENDME / XON / XOFF with stream id != 0, RESOLVE, RESOLVED,
 * BEGIN_DIR). */
bool relay_stream_command_is_stream(uint8_t command, uint16_t stream_id);

#endif
