/* origin_channels.h -- the channel table of a node's own (origin)
 * circuits, with the circuits built over it (API prefix chanmgr_): one
 * channel per relay identity, reused by every circuit through that relay
 * (tor-spec 2 "Connections", 4 link handshake), and multi-hop origin
 * circuits built hop by hop (tor-spec 5.1 CREATE2 / 5.1.5 CREATE_FAST,
 * 5.3 EXTEND2 / EXTENDED2, 5.4 teardown).
 *
 * chanmgr_launch() takes a whole path (1..CIRC_ORIGIN_MAX_HOPS hops) and
 * runs it: open (or reuse) a channel to hop 0 -- several launches that need
 * the same relay while it is still connecting share the one connection --
 * then CREATE2/ntor (or CREATE_FAST) to hop 0 and an EXTEND2 for each
 * following hop.  When the last hop is in, the build deadline stops
 * (circ_origin_build_done()), a client stream table is attached at the last
 * hop and on_built runs.  Every circuit ends with exactly one on_closed
 * (build failure, timeout, DESTROY/TRUNCATED from the network, its channel
 * closing, or chanmgr_close_circ()), after which its handle is dead.
 *
 * Circuits are named by a 64-bit handle that is never reused (0 is never a
 * handle).  A 1-second timer drives build deadlines, stream expiry and
 * idle-channel closing.  Callbacks run from the event loop or from inside
 * chanmgr calls; they may call any chanmgr function except chanmgr_free().
 *
 * Callback order for one circuit: on_hop(0), on_hop(1), ... on_hop(n-1),
 * then on_built at once (from the same event); stream events and
 * on_relay_msg only after on_built; on_closed last.  When a circuit ends
 * (network or chanmgr_close_circ()) its open streams get their END events
 * (reason RELAY_END_DESTROY) before on_closed; after on_closed nothing more
 * is called for the handle.  No callback of a new circuit runs inside
 * chanmgr_launch().  Build deadlines are checked by the 1 s timer, so a
 * timeout fires up to a second late.  A channel whose connection or
 * handshake failed is never reused: the next launch opens a new one.
 */
#ifndef ALLIUM_CORE_MAINLOOP_ORIGIN_CHANNELS_H
#define ALLIUM_CORE_MAINLOOP_ORIGIN_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/stream/stream.h"
#include "allium/lib/tls/tls.h"

struct event_base;

typedef struct chanmgr_t chanmgr_t;

/** Why a circuit closed. */
typedef struct chanmgr_close_info_t {
  uint8_t reason;       /**< cell_destroy_reason_t (CELL_DESTROY_*) */
  bool remote;          /**< the reason came from a DESTROY/TRUNCATED */
  bool was_built;       /**< on_built had run */
  /** While building: the hop whose connection or handshake failed (0 also
   * covers a failed channel to the first hop) -- the number of hops that
   * were in; CIRC_HOP_NONE once built. */
  uint8_t failed_hop;
  const char *what;     /**< static description, for logs */
} chanmgr_close_info_t;

typedef struct chanmgr_circ_cbs_t {
  /** Hop number hop (0 = first) finished its handshake.  May be NULL. */
  void (*on_hop)(chanmgr_t *cm, uint64_t circ, unsigned hop, void *arg);
  /** Every hop is in; chanmgr_streams() now returns the stream table. */
  void (*on_built)(chanmgr_t *cm, uint64_t circ, void *arg);
  /** The circuit is gone (once).  info is valid during the call only. */
  void (*on_closed)(chanmgr_t *cm, uint64_t circ,
                    const chanmgr_close_info_t *info, void *arg);
  /** An event of a stream of this circuit (relay_streams_next_event()). */
  void (*on_stream)(chanmgr_t *cm, uint64_t circ,
                    const relay_stream_event_t *ev, void *arg);
  /** A relay message no part of the circuit handled (CIRC_EV_RELAY_MSG):
   * the onion-service messages (INTRO_ESTABLISHED, RENDEZVOUS_ESTABLISHED,
   * INTRODUCE_ACK, RENDEZVOUS2, INTRODUCE2) arrive here, ev->hop saying
   * which hop sent it.  May be NULL. */
  void (*on_relay_msg)(chanmgr_t *cm, uint64_t circ, const circ_event_t *ev,
                       void *arg);
  void *arg;
  /** Incoming stream data, without a copy: data is a view into the cell
   * buffer, valid during the call only (the cell path: set it to write
   * straight from the cell to the application).  When NULL, data comes as
   * RELAY_STREAM_EV_DATA events through on_stream.  It runs in order with
   * on_stream's events, and may call any chanmgr function (except
   * chanmgr_free()). */
  void (*on_data)(chanmgr_t *cm, uint64_t circ, uint16_t stream_id,
                  const uint8_t *data, size_t len, void *arg);
} chanmgr_circ_cbs_t;

/** What to build. */
typedef struct chanmgr_launch_t {
  const circ_hop_spec_t *hops;  /**< n_hops specs, copied */
  size_t n_hops;                /**< 1..CIRC_ORIGIN_MAX_HOPS */
  bool fast_first;              /**< CREATE_FAST to hop 0 (one-hop
                                 *   directory circuits; n_hops must be 1) */
  uint32_t timeout_msec;        /**< whole build incl. connecting; 0: none */
} chanmgr_launch_t;

/** New manager on base, connecting with the client TLS context tls (both
 * borrowed; they must outlive it).  Caller frees with chanmgr_free(). */
chanmgr_t *chanmgr_new(struct event_base *base, tls_context_t *tls);
/** Close every channel and drop every circuit without callbacks; NULL ok.
 * Never from inside a chanmgr callback. */
void chanmgr_free_(chanmgr_t *cm);
#define chanmgr_free(p) do { chanmgr_free_(p); (p) = NULL; } while (0)

/** Channel options for channels opened from now on: close a channel with no
 * circuit after idle_msec (0: never), send PADDING after keepalive_msec of
 * silence (0: off).  Defaults: 3 minutes idle, 5 minutes keepalive
 * (KeepalivePeriod). */
void chanmgr_set_channel_timeouts(chanmgr_t *cm, uint32_t idle_msec,
                                  uint32_t keepalive_msec);

/** Start building l's path; *circ_out gets the handle.  cbs is copied.
 * 0, or -1 (bad arguments, or not even a connection attempt could start;
 * no callback runs then). */
int chanmgr_launch(chanmgr_t *cm, const chanmgr_launch_t *l,
                   const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out);

/** The stream table of a built circuit (borrowed), NULL if not built or
 * gone.  After writing, beginning or ending streams call chanmgr_flush(). */
relay_streams_t *chanmgr_streams(chanmgr_t *cm, uint64_t circ);
/** The circuit object (borrowed, read-only use), NULL if gone. */
const circ_origin_t *chanmgr_circuit(chanmgr_t *cm, uint64_t circ);
/** Send what the circuit has queued and deliver pending events. */
void chanmgr_flush(chanmgr_t *cm, uint64_t circ);
/** Send one relay message to hop of a built circuit (circ_origin_send()
 * rules), then flush.  0 or negative. */
int chanmgr_send(chanmgr_t *cm, uint64_t circ, size_t hop, uint8_t command,
                 uint16_t stream_id, const uint8_t *body, size_t len);
/** Onion services: end a built rendezvous circuit at the other party with
 * the virtual hs-ntor hop (circ_origin_add_virtual_hop(): keys Df|Db|Kf|Kb,
 * service_side swaps the directions).  The circuit's stream table moves to
 * that hop; it must hold no stream yet.  0, or negative (unknown / unbuilt
 * circuit, or circ_origin_add_virtual_hop()'s error).  KH of a hop, for a
 * service's ESTABLISH_INTRO: circ_origin_hop_kh(chanmgr_circuit(...)).
 * cc not NULL: the virtual hop runs congestion control with those
 * parameters and sendme_inc (circ_origin_add_virtual_hop_cc()). */
int chanmgr_add_virtual_hop(chanmgr_t *cm, uint64_t circ,
                            const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
                            bool service_side, const cc_params_t *cc,
                            uint8_t sendme_inc);
/** Tear the circuit down (DESTROY sent if it got that far); on_closed runs
 * before this returns, with reason and remote false.  Unknown handle: no-op. */
void chanmgr_close_circ(chanmgr_t *cm, uint64_t circ, uint8_t reason);

/** True while the handle names a live circuit. */
bool chanmgr_circ_alive(const chanmgr_t *cm, uint64_t circ);

/** MaxMemInQueues (core/stream/relay_mem.h): when the queued total is over
 * the limit, close the circuits holding the oldest queued data first
 * (their queues are discarded at once) until it is back under 90% of the
 * limit; log what was freed.  Runs by itself (deferred) when a queue write
 * crosses the limit.  Returns the bytes freed. */
size_t chanmgr_oom_pass(chanmgr_t *cm);
/** The RSA identity of hop of circ into out[20]; 0, or -1 if unknown. */
int chanmgr_circ_hop_id(const chanmgr_t *cm, uint64_t circ, size_t hop,
                        uint8_t out[20]);
size_t chanmgr_n_channels(const chanmgr_t *cm);   /**< open or opening */
size_t chanmgr_n_circuits(const chanmgr_t *cm);   /**< live circuits */

/* ---- control port (control-spec 4.1.3 ORCONN, 3.9 "orconn-status") ---- */

/** A relay's nickname for its RSA identity (or NULL when unknown); used to
 * write "$FP~nick" in ORCONN events.  Must not call back into chanmgr. */
typedef const char *(*chanmgr_name_fn)(const uint8_t rsa_id[20], void *arg);
/** Set (or with fn NULL clear) the nickname lookup; arg is borrowed. */
void chanmgr_set_namer(chanmgr_t *cm, chanmgr_name_fn fn, void *arg);
/** "orconn-status": one "$FP~nick STATUS" line (LAUNCHED or CONNECTED) per
 * live channel, "\n"-separated, no final newline; al_malloc'd. */
char *chanmgr_orconn_status(const chanmgr_t *cm);

#endif
