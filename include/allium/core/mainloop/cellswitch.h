/* cellswitch.h -- the relay's cell engine: it owns the relay's channels
 * (accepted on the ORPort and opened to extend circuits) and switches cells
 * between them for every relay circuit (tor-spec 2 connections, 4 link
 * handshake as responder, 5.1 CREATE2, 5.1.1 circuit ids, 5.1.2 EXTEND2,
 * 5.4 DESTROY, 5.6 RELAY_EARLY via circ_relay).
 *
 * Performance core (doc/architecture.md "The cell engine"):
 *   - a circuit is found by (channel, circuit id) in one hash lookup, a
 *     channel by RSA identity in one (one channel per relay identity, used
 *     for every extend to it);
 *   - each side of a circuit has its own cell queue (capped: a circuit
 *     whose queue passes the cap is closed with RESOURCELIMIT); a channel
 *     serves its circuits by lowest recent activity (EWMA with a
 *     half-life, tor's CircuitPriorityHalflife idea) from a min-heap;
 *   - only channels with pending output are visited (a list, no scan);
 *   - TCP back-pressure: a channel whose output buffer passes the high-water
 *     mark gets no more cells until it drains to the low-water mark; a
 *     circuit queue that grows past its high mark stops reading on the
 *     channel feeding it, if that is a client's channel (a relay's channel
 *     is shared: there the cap decides), until it shrinks below its low
 *     mark (for at most CELLSWITCH_PAUSE_MAX_MSEC: then the cap decides);
 *   - cells are queued in pooled slots (no allocation per cell once warm)
 *     and written straight into the channel's output buffer, in batches
 *     from one deferred flush per loop iteration.
 *
 * Circuits are named by a 64-bit handle never reused (0 is never one).
 * The engine is the only owner of its channels and circuits; callbacks
 * (hooks) run from the event loop and may call any cellswitch function but
 * cellswitch_free().  The circuit map entries name a circuit object with a
 * kind, so origin circuits can live here later.
 */
#ifndef ALLIUM_CORE_MAINLOOP_CELLSWITCH_H
#define ALLIUM_CORE_MAINLOOP_CELLSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "allium/core/cell/link_cells.h"
#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/dos/dos.h"
#include "allium/core/onion/onion_workers.h"
#include "allium/core/stream/stream.h"
#include "allium/lib/tls/tls.h"

struct event_base;

typedef struct cellswitch_t cellswitch_t;

/** Defaults (a 0 in cellswitch_config_t selects them). */
#define CELLSWITCH_QUEUE_CAP_CELLS 2500    /**< per circuit side */
#define CELLSWITCH_CIRCQ_HIGH_CELLS 256    /**< pause the feeding channel */
#define CELLSWITCH_CIRCQ_LOW_CELLS 64      /**< resume it */
#define CELLSWITCH_OUTBUF_HIGH (256 * 1024)
#define CELLSWITCH_OUTBUF_LOW (64 * 1024)
#define CELLSWITCH_EWMA_HALFLIFE_MSEC 30000
/** A channel's reading stays paused at most this long; then it reads
 * again and the queue cap decides (two relays pausing each other must not
 * stall for ever). */
#define CELLSWITCH_PAUSE_MAX_MSEC 10000
#define CELLSWITCH_CHANNEL_IDLE_MSEC (3 * 60 * 1000)
#define CELLSWITCH_KEEPALIVE_MSEC (5 * 60 * 1000)

/** What the owner (the relay runtime, a test) plugs in.  Every member may
 * be NULL. */
typedef struct cellswitch_hooks_t {
  /** Answer a CREATE2 (command CELL_CREATE2) or CREATE_FAST: the seam for
   * an onion-handshake worker pool.  When set, the engine calls it instead
   * of answering synchronously with circ_relay_create(); the owner later
   * calls cellswitch_create_answered() with the same handle (the circuit
   * may have died meanwhile: then that call just frees the answer).
   * payload: CELL_PAYLOAD_LEN bytes, valid during the call only.  Return 0,
   * or negative to refuse at once (DESTROY(RESOURCELIMIT) sent). */
  int (*answer_create)(void *arg, cellswitch_t *sw, uint64_t circ,
                       uint8_t command, const uint8_t *payload);
  /** A relay circuit was created with us as its last hop; the owner may
   * attach a stream table (circ_relay_attach_streams()). */
  void (*on_circ_created)(void *arg, cellswitch_t *sw, uint64_t circ,
                          circ_relay_t *rc);
  /** The circuit's stream table may have events (after every cell that
   * reached it): drain relay_streams_next_event(). */
  void (*on_streams)(void *arg, cellswitch_t *sw, uint64_t circ,
                     relay_streams_t *streams);
  /** A recognized relay message no part of the circuit handled
   * (CIRC_EV_RELAY_MSG: BEGIN_DIR without a stream table, ...). */
  void (*on_relay_msg)(void *arg, cellswitch_t *sw, uint64_t circ,
                       const circ_event_t *ev);
  /** The circuit is gone (once, for circuits that got past CREATE). */
  void (*on_circ_closed)(void *arg, cellswitch_t *sw, uint64_t circ);
  void *arg;
  /** A directory request on a BEGIN_DIR stream (tor-spec 6.2,
   * cellswitch_stream.c): data[0..len) is everything received on the
   * stream so far (at most CELLSWITCH_DIR_REQUEST_MAX bytes).  Return
   * CELLSWITCH_DIR_NEED_MORE to wait for more, 0 when the request is taken
   * (answer with cellswitch_dir_respond(), from the hook or later), or
   * negative to close the stream (END MISC).  NULL: BEGIN_DIR is answered
   * with END NOTDIRECTORY.  The engine owns the stream tables of circuits
   * ending here unless on_streams is set (then the owner handles every
   * stream command itself). */
  int (*dir_request)(void *arg, cellswitch_t *sw, uint64_t stream,
                     const uint8_t *data, size_t len);
} cellswitch_hooks_t;

typedef struct cellswitch_config_t {
  circ_relay_keys_t keys;           /**< copied */
  tls_context_t *server_tls;        /**< accepted channels (borrowed) */
  const link_creds_t *creds;        /**< our CERTS certificates (borrowed;
                                     *   channels copy them).  When they
                                     *   carry the AUTHENTICATE key
                                     *   (link_keys_creds()), channels we
                                     *   open authenticate us as a relay
                                     *   (channel_connect_relay()) */
  tls_context_t *client_tls;        /**< channels we open (borrowed) */
  size_t queue_cap_cells;           /**< 0: CELLSWITCH_QUEUE_CAP_CELLS */
  size_t circq_high, circq_low;     /**< cells; 0: defaults */
  size_t outbuf_high, outbuf_low;   /**< bytes; 0: defaults */
  uint32_t ewma_halflife_msec;      /**< 0: default */
  uint32_t idle_msec;               /**< channel with no circuit; 0: default */
  uint32_t keepalive_msec;          /**< 0: default */
  uint32_t pause_max_msec;          /**< 0: CELLSWITCH_PAUSE_MAX_MSEC */
  /** Extend to private / loopback / link-local addresses (testing
   * networks only; tor's ExtendAllowPrivateAddresses). */
  bool extend_allow_private;
  cellswitch_hooks_t hooks;
  /** Our advertised addresses, listed in the NETINFO of every channel
   * (tor-spec 4.5: lets the peer tell a canonical connection). */
  cell_addr_t my_addrs[2];
  size_t n_my_addrs;
  /** A directory request still incomplete after this long: END TIMEOUT
   * (0: CELLSWITCH_DIR_REQUEST_TIMEOUT_MSEC). */
  uint32_t dir_request_timeout_msec;
} cellswitch_config_t;

/** New engine on base with cfg (copied; the TLS contexts and creds are
 * borrowed and must outlive it).  Caller frees with cellswitch_free(). */
cellswitch_t *cellswitch_new(struct event_base *base,
                             const cellswitch_config_t *cfg);
/** Close every channel (circuits die without DESTROYs going anywhere) and
 * free everything; NULL ok.  Never from inside a hook. */
void cellswitch_free_(cellswitch_t *sw);
#define cellswitch_free(p) do { cellswitch_free_(p); (p) = NULL; } while (0)

/** Serve an accepted ORPort socket fd (the engine owns it from now on,
 * even on failure).  0, or -1 (closed). */
int cellswitch_accept(cellswitch_t *sw, int fd, const struct sockaddr *peer,
                      socklen_t peerlen);

/** Replace the circuit keys (onion-key rotation) for new circuits (also
 * on the worker pool, if one is set). */
void cellswitch_set_keys(cellswitch_t *sw, const circ_relay_keys_t *keys);
/** Answer CREATE2 / CREATE_FAST on the onion-handshake worker pool w
 * (borrowed; it must outlive sw, or be unset with NULL first) instead of
 * on the loop, unless hooks.answer_create is set.  A circuit or channel
 * that dies first cancels its request.  NULL: answer synchronously. */
void cellswitch_set_workers(cellswitch_t *sw, onion_workers_t *w);
/** Replace the server TLS context and certificates (link-key rotation) for
 * channels accepted or opened from now on (both borrowed). */
void cellswitch_set_server_creds(cellswitch_t *sw, tls_context_t *tls,
                                 const link_creds_t *creds);

/** The answer to an answer_create() request: rc (ownership taken; NULL for
 * a refusal with DESTROY reason).  0, or -1 if the circuit no longer waits
 * (rc is then freed). */
int cellswitch_create_answered(cellswitch_t *sw, uint64_t circ,
                               circ_relay_t *rc, uint8_t reason);
/** The relay circuit of a handle (borrowed), NULL if gone or not answered
 * yet. */
circ_relay_t *cellswitch_circ_relay(cellswitch_t *sw, uint64_t circ);
/** After the owner wrote to a circuit's stream table outside a hook: move
 * what the circuit queued. */
void cellswitch_circ_flush(cellswitch_t *sw, uint64_t circ);
/** Rendezvous point (rend-spec-v3 4.2): join circuits a and b, both open
 * with us as their last hop (no next hop, no streams).  From now on every
 * RELAY / RELAY_EARLY cell from either originator that our layer does not
 * recognize goes down the other circuit as RELAY, under its backward layer
 * (in place: no allocation per cell, one copy); recognized ones are handled
 * as before.  When either circuit goes (DESTROY, close, its channel), the
 * other is closed too.  0, or -1 (not both live, open and unjoined;
 * nothing changed). */
int cellswitch_circ_splice(cellswitch_t *sw, uint64_t a, uint64_t b);
/** True when circ is joined to another circuit. */
bool cellswitch_circ_spliced(cellswitch_t *sw, uint64_t circ);
/** Close a circuit with reason (DESTROY both ways). */
void cellswitch_circ_close(cellswitch_t *sw, uint64_t circ, uint8_t reason);

/** MaxMemInQueues (core/stream/relay_mem.h) for the relay's queues: close
 * the circuits holding the oldest queued cells first until to_free bytes
 * are freed; log what was freed.  Returns the bytes freed. */
size_t cellswitch_oom_pass(cellswitch_t *sw, size_t to_free);
/** Run cellswitch_oom_pass(sw, relay_mem_to_free()) from the loop whenever
 * the queued total crosses the limit, and every second while it stays
 * over (a relay_mem callback beside the client's, if one runs too).  0, or
 * -1 on failure. */
int cellswitch_watch_memory(cellswitch_t *sw);

/** Counters for the heartbeat and tests. */
typedef struct cellswitch_stats_t {
  size_t n_channels;            /**< open or opening */
  size_t n_channels_open;
  size_t n_circuits;            /**< live relay circuits */
  uint64_t cells_in, cells_out; /**< circuit cells received / sent */
  uint64_t circuits_created;    /**< CREATE2 answered with CREATED2 */
  uint64_t creates_refused;     /**< CREATE* answered with DESTROY */
  uint64_t extends;             /**< CREATE2 sent onward */
  uint64_t extends_refused;     /**< EXTEND2 refused by the engine */
  uint64_t unknown_circ_cells;  /**< dropped: no such circuit */
  uint64_t queue_overflows;     /**< circuits closed for a full queue */
  size_t cells_queued;          /**< now, in all circuit queues */
  size_t cells_pooled;          /**< free slots kept for reuse */
  uint64_t reads_paused;        /**< times a channel's reading was paused */
  uint64_t outbuf_blocked;      /**< times a channel passed its high mark */
  uint64_t pauses_overridden;   /**< pauses ended by the time limit */
  uint64_t oom_circuits_closed; /**< closed by the MaxMemInQueues pass */
  uint64_t cells_forwarded;     /**< passed on in place (circ_relay_process_
                                 *   cell): copied once, into their slot */
  uint64_t slots_allocated;     /**< cell slots ever malloc'd (the pool
                                 *   reuses them: no allocation per cell) */
  /** circuits_created by handshake: CREATE2 ntor, ntor v3, CREATE_FAST */
  uint64_t created_ntor, created_ntor_v3, created_fast;
  uint64_t dir_streams;         /**< BEGIN_DIR streams accepted */
  uint64_t dir_responses;       /**< responses written to the end (END DONE) */
  uint64_t dir_bytes;           /**< response bytes handed to streams */
  uint64_t streams_refused;     /**< BEGIN / RESOLVE / BEGIN_DIR refused */
  uint64_t dir_requests_cut;    /**< requests over the size or time limit */
  /* ops: ORPort reachability self-test (feature/relay/relay_reach.c) */
  uint64_t created_inbound;     /**< CREATE answered on a channel the peer
                                 *   opened (tor: "create cells can reach
                                 *   us") */
  uint64_t created_inbound_private; /**< ... of those, from a private or
                                 *   loopback peer address */
  /* congestion control at circuits ending here (proposal 324): circuits
   * that negotiated it; totals of closed ones */
  uint64_t cc_circuits;
  uint64_t cc_data_sent, cc_data_received;
  uint64_t cc_sendmes_received, cc_sendmes_sent;
} cellswitch_stats_t;

void cellswitch_get_stats(const cellswitch_t *sw, cellswitch_stats_t *out);

/* ---- DoS defences (core/dos/dos.h; cellswitch.c, cellswitch_circ.c) ----
 * With a dos_t set, the engine applies it: an accepted connection from a
 * client address passes dos_conn_accept() (refused: closed at once) and is
 * counted until it closes or its peer authenticates as a relay; a CREATE /
 * CREATE2 / CREATE_FAST on a client channel passes dos_create_allowed()
 * (refused: DESTROY RESOURCELIMIT); BEGIN / BEGIN_DIR / RESOLVE on engine-
 * owned streams pass the circuit's stream bucket (END RESOURCELIMIT, or
 * the circuit closed); an ESTABLISH_RENDEZVOUS on a circuit from a client
 * channel passes dos_rend_allowed() before it reaches hooks.on_relay_msg
 * (dropped).  d is borrowed: it must outlive sw, or be unset (NULL). */
void cellswitch_set_dos(cellswitch_t *sw, dos_t *d);
/** Congestion control (proposal 324) for circuits ending here that
 * negotiated it (the ntor v3 CC_REQUEST answered by the onion workers, see
 * onion_workers_set_params()): the consensus parameters their congestion
 * window runs with (copied; a circuit keeps those it was created with). */
void cellswitch_set_cc_params(cellswitch_t *sw, const cc_params_t *p);
/** For an owner that handles stream commands itself (hooks.on_streams,
 * the exit: feature/exit): ask before acting on a BEGIN / BEGIN_DIR /
 * RESOLVE of circuit circ.  DOS_STREAM_ALLOW, DOS_STREAM_REFUSE (send END
 * RESOURCELIMIT) or DOS_STREAM_CLOSE_CIRC (close the circuit with
 * cellswitch_circ_close(..., RESOURCELIMIT)).  ALLOW when no dos_t is set
 * or the circuit is unknown. */
int cellswitch_stream_admit(cellswitch_t *sw, uint64_t circ);

/* ---- directory streams (cellswitch_stream.c; tor-spec 6.2 BEGIN_DIR) ----
 * A circuit ending here gets an engine-owned stream table at its first
 * stream command (unless hooks.on_streams is set).  BEGIN_DIR is answered
 * with an empty CONNECTED; the request bytes go to hooks.dir_request; the
 * response is written as DATA while the stream and circuit windows allow
 * (never more than CELLSWITCH_DIR_LOWAT + CELLSWITCH_DIR_CHUNK bytes copied
 * into the stream at a time), then END DONE.  We are not an exit: BEGIN and
 * RESOLVE get END EXITPOLICY.  A stream handle is (circuit handle << 16 |
 * stream id). */
#define CELLSWITCH_DIR_NEED_MORE 1
/** Longest request kept (tor caps HTTP headers near 50 KB); past it the
 * stream is closed with END MISC. */
#define CELLSWITCH_DIR_REQUEST_MAX (64 * 1024)
/** The same for a request starting "POST " (an onion-service descriptor
 * upload to an HSDir, rend-spec-v3 2.2.6: head and a body of up to
 * HSV3MaxDescriptorSize bytes); the owner bounds the body itself. */
#define CELLSWITCH_DIR_POST_MAX (320 * 1024)
/** Directory streams open at once on one circuit; more get END
 * RESOURCELIMIT. */
#define CELLSWITCH_DIR_STREAMS_PER_CIRC 8
/** Request and response bytes held by the engine for all directory
 * streams; past it new BEGIN_DIR streams (and requests that would pass it)
 * get END RESOURCELIMIT. */
#define CELLSWITCH_DIR_HELD_MAX (256u * 1024 * 1024)
/** A request not whole after this long is closed with END TIMEOUT. */
#define CELLSWITCH_DIR_REQUEST_TIMEOUT_MSEC (60 * 1000)
#define CELLSWITCH_DIR_LOWAT (32 * 1024)
#define CELLSWITCH_DIR_CHUNK (16 * 1024)

/** The answer to a dir_request: body[0..len) (heap from al_malloc;
 * ownership taken, freed with al_free) is written to the stream as the
 * windows allow, then END DONE.  0, or -1 if the stream is gone or was
 * answered already (body freed). */
int cellswitch_dir_respond(cellswitch_t *sw, uint64_t stream, uint8_t *body,
                           size_t len);

/* ---- hibernation (AccountingMax, feature/relay/relay_hibernate.c) ---- */

/** While on, every CREATE2 / CREATE_FAST is answered with
 * DESTROY(HIBERNATING) (tor-spec 5.4) and counted in creates_refused. */
void cellswitch_set_hibernating(cellswitch_t *sw, bool on);
/** Close every channel (hard hibernation).  Returns how many. */
size_t cellswitch_close_all_channels(cellswitch_t *sw);
/* ---- exit streams (cellswitch_stream.c; the owner: feature/exit) ----
 * With exit hooks set, BEGIN and RESOLVE on the engine-owned stream tables
 * go to the exit instead of END EXITPOLICY, and so do the DATA, END and
 * ERROR events of every stream that is not a directory stream; BEGIN_DIR
 * stays with the engine.  DATA reaches on_data without a copy whenever no
 * event waits (relay_streams_set_data_sink()).  *cdata is one pointer per
 * circuit the exit owns (NULL until it sets it); the hooks run from the
 * engine's pump and may call relay_stream_*() on t, but not
 * cellswitch_circ_flush() (the pump moves what they queued). */
typedef struct cellswitch_exit_hooks_t {
  /** BEGIN, RESOLVE, and DATA / END / ERROR of the exit's streams. */
  void (*on_event)(void *arg, cellswitch_t *sw, uint64_t circ, void **cdata,
                   relay_streams_t *t, const relay_stream_event_t *ev);
  /** DATA for stream id of a circuit whose *cdata is set (a view, valid
   * during the call only). */
  void (*on_data)(void *arg, void *cdata, uint16_t id, const uint8_t *data,
                  size_t len);
  /** After every pump of a circuit whose *cdata is set: windows may have
   * opened (a SENDME arrived). */
  void (*on_pump)(void *arg, void *cdata);
  /** The circuit and its stream table are gone (also while the engine is
   * freed): free cdata, call nothing of the engine. */
  void (*on_circ_free)(void *arg, void *cdata);
  void *arg;
} cellswitch_exit_hooks_t;

/** Install (h not NULL) or remove the exit hooks (copied). */
void cellswitch_set_exit_hooks(cellswitch_t *sw,
                               const cellswitch_exit_hooks_t *h);
/** True when circ's previous hop authenticated as a relay in the link
 * handshake (tor refuses exit streams on circuits a client built straight
 * to us); false for a client's channel or an unknown circuit. */
bool cellswitch_circ_prev_is_relay(cellswitch_t *sw, uint64_t circ);

#endif
