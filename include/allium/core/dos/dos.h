/* dos.h -- a relay's denial-of-service defences (torspec dos-spec.md,
 * param-spec 9 "Denial-of-service parameters", tor(1) "DENIAL OF SERVICE
 * MITIGATION OPTIONS"), as sans-IO logic with the clock passed in:
 *
 *   - circuit creation: per client address a token bucket of CREATE cells
 *     (rate per second, burst); an address whose bucket is empty while it
 *     holds at least cc_min_conns connections is "marked" for a random time
 *     in [period + 1, period * 3/2] seconds, and with defense type 2 its
 *     CREATE / CREATE2 / CREATE_FAST cells are refused meanwhile;
 *   - connections: more than conn_max_concurrent connections at once from
 *     one client address, or connecting faster than the connect bucket
 *     (rate, burst; marked for [period + 1, period * 3/2]), gets new
 *     connections closed (defense type 2);
 *   - streams: a token bucket per circuit (rate, burst) for BEGIN /
 *     BEGIN_DIR / RESOLVE at the last hop: defense 2 refuses the stream,
 *     3 closes the circuit;
 *   - single-hop clients: ESTABLISH_RENDEZVOUS on a circuit whose previous
 *     hop is a client (not a relay) is dropped when refuse_single_hop_rend.
 *
 * Client addresses are kept in a hash map bounded by max_addrs entries;
 * idle entries expire (dos_tick()), and when the map is full the least
 * recently seen address without open connections makes room.  Addresses
 * of relays (dos_set_relay_addrs(): those of the consensus) are never
 * tracked.  What "client" means is the caller's: the cell engine counts
 * every accepted connection from a non-relay address and stops counting it
 * when the peer authenticates as a relay (tor-spec 4.4).
 *
 * Nothing here knows about options or consensuses: feature/relay/relay_dos.c
 * resolves them into a dos_params_t.  Not thread-safe (the event loop's).
 */
#ifndef ALLIUM_CORE_DOS_DOS_H
#define ALLIUM_CORE_DOS_DOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defense types (tor(1)). */
#define DOS_DEFENSE_NONE 1          /**< detect and count only */
#define DOS_DEFENSE_REFUSE 2        /**< CREATE refused / connection closed /
                                     *   stream refused */
#define DOS_STREAM_DEFENSE_CLOSE 3  /**< streams: close the circuit */

/* tor 0.4.9's values when neither torrc nor the consensus sets one
 * (tor(1); the Enabled switches default to off). */
#define DOS_CC_MIN_CONNS_DEFAULT 3
#define DOS_CC_RATE_DEFAULT 3
#define DOS_CC_BURST_DEFAULT 90
#define DOS_CC_DEFENSE_TYPE_DEFAULT DOS_DEFENSE_REFUSE
#define DOS_CC_PERIOD_DEFAULT (60 * 60)
#define DOS_CONN_MAX_CONCURRENT_DEFAULT 100
#define DOS_CONN_DEFENSE_TYPE_DEFAULT DOS_DEFENSE_REFUSE
#define DOS_CONN_CONNECT_RATE_DEFAULT 20
#define DOS_CONN_CONNECT_BURST_DEFAULT 40
#define DOS_CONN_CONNECT_PERIOD_DEFAULT (24 * 60 * 60)
#define DOS_STREAM_RATE_DEFAULT 100
#define DOS_STREAM_BURST_DEFAULT 300
#define DOS_STREAM_DEFENSE_TYPE_DEFAULT DOS_DEFENSE_REFUSE
/** Client addresses remembered at most (0 in dos_params_t selects it). */
#define DOS_MAX_ADDRS_DEFAULT 65536
/** An address with no connection and no defence in force is forgotten
 * after this long without activity (or once its buckets are full again,
 * whichever is later). */
#define DOS_ADDR_IDLE_MSEC (10 * 60 * 1000)

/** An IPv4 (family 4, addr[0..3], rest zero) or IPv6 (family 6) address. */
typedef struct dos_addr_t {
  uint8_t family;
  uint8_t addr[16];
} dos_addr_t;

typedef struct dos_params_t {
  bool cc_enabled;
  uint32_t cc_min_conns;        /**< concurrent connections to be marked */
  uint32_t cc_rate;             /**< CREATE cells per second (>= 1) */
  uint32_t cc_burst;            /**< (>= 1) */
  uint8_t cc_defense_type;      /**< DOS_DEFENSE_NONE or _REFUSE */
  uint32_t cc_period_sec;       /**< base marking time */
  bool conn_enabled;
  uint32_t conn_max_concurrent; /**< open connections per address */
  uint8_t conn_defense_type;
  uint32_t conn_connect_rate;   /**< new connections per second (>= 1) */
  uint32_t conn_connect_burst;  /**< (>= 1) */
  uint32_t conn_connect_period_sec;
  bool stream_enabled;
  uint32_t stream_rate;         /**< streams per second per circuit */
  uint32_t stream_burst;
  uint8_t stream_defense_type;  /**< _NONE, _REFUSE or _CLOSE */
  bool refuse_single_hop_rend;
  size_t max_addrs;             /**< 0: DOS_MAX_ADDRS_DEFAULT */
} dos_params_t;

/** The defaults above, every defence off (what tor does with no torrc
 * value and no consensus parameter). */
void dos_params_default(dos_params_t *p);

typedef struct dos_t dos_t;

/** New state with p (copied; out-of-range values are clamped: rates and
 * bursts at least 1, unknown defense types become _NONE).  dos_free(). */
dos_t *dos_new(const dos_params_t *p);
void dos_free_(dos_t *d);
#define dos_free(p) do { dos_free_(p); (p) = NULL; } while (0)
/** Replace the parameters (new consensus, SIGHUP); the state is kept. */
void dos_set_params(dos_t *d, const dos_params_t *p);
const dos_params_t *dos_get_params(const dos_t *d);
/** Tests: the random source for marking times (uniform in [0, max)); NULL
 * restores crypto_rand_uint64. */
void dos_set_rand(dos_t *d, uint64_t (*fn)(void *arg, uint64_t max),
                  void *arg);

/** The relays' addresses (replaces the set; copied).  Their connections
 * are never counted or refused.  0, or -1 on a bad address (set unchanged). */
int dos_set_relay_addrs(dos_t *d, const dos_addr_t *addrs, size_t n);
bool dos_addr_is_relay(const dos_t *d, const dos_addr_t *a);

/* ---- connections ---- */
#define DOS_CONN_REFUSED (-1)   /**< close it now */
#define DOS_CONN_UNTRACKED 0    /**< accepted, not counted (relay address,
                                 *   map full of live addresses) */
#define DOS_CONN_TRACKED 1      /**< accepted and counted: call
                                 *   dos_conn_closed() when it goes */
/** A new connection from a: refused (defence in force), or accepted and
 * (for a client address) counted as concurrent, and its connect token
 * spent (an empty bucket marks the address: this one still passes). */
int dos_conn_accept(dos_t *d, const dos_addr_t *a, uint64_t now_msec);
/** A connection dos_conn_accept() tracked went away (or turned out to be
 * a relay's). */
void dos_conn_closed(dos_t *d, const dos_addr_t *a, uint64_t now_msec);
/** Open connections counted for a (tests, logs). */
uint32_t dos_conn_count(const dos_t *d, const dos_addr_t *a);

/* ---- circuits ---- */
/** A CREATE / CREATE2 / CREATE_FAST from a client connection of a: false
 * to refuse it (DESTROY with reason RESOURCELIMIT).  Spends a token; an
 * empty bucket with cc_min_conns connections marks the address (and this
 * cell is refused already, as tor does). */
bool dos_create_allowed(dos_t *d, const dos_addr_t *a, uint64_t now_msec);
/** a is marked by the circuit-creation defence now. */
bool dos_cc_is_marked(const dos_t *d, const dos_addr_t *a, uint64_t now_msec);

/* ---- streams (one bucket per circuit, kept by its owner) ---- */
typedef struct dos_stream_bucket_t {
  uint64_t tokens_milli;        /**< thousandths of a stream */
  uint64_t last_msec;
  bool started;
} dos_stream_bucket_t;
#define DOS_STREAM_ALLOW 0
#define DOS_STREAM_REFUSE 1      /**< END the stream (RESOURCELIMIT) */
#define DOS_STREAM_CLOSE_CIRC 2  /**< close the circuit (RESOURCELIMIT) */
/** A BEGIN / BEGIN_DIR / RESOLVE on the circuit owning b (zeroed when the
 * circuit is made).  For the exit's streams (feature/exit): call this with
 * the circuit's bucket before acting on the request, through
 * cellswitch_stream_admit() when the engine owns the circuit. */
int dos_stream_check(dos_t *d, dos_stream_bucket_t *b, uint64_t now_msec);

/* ---- rendezvous ---- */
/** An ESTABLISH_RENDEZVOUS arrived; single_hop: the circuit's previous hop
 * is a client connection.  false: drop it silently (tor(1)
 * DoSRefuseSingleHopClientRendezvous).  For the onion-service rendezvous
 * point (issue 11). */
bool dos_rend_allowed(dos_t *d, bool single_hop);

/** Forget idle addresses and expired marks (call every few seconds). */
void dos_tick(dos_t *d, uint64_t now_msec);

typedef struct dos_stats_t {
  uint64_t cc_circuits_rejected;  /**< CREATE cells refused */
  uint64_t cc_marked;             /**< times an address was marked */
  uint64_t conn_rejected;         /**< closed past conn_max_concurrent */
  uint64_t conn_connect_rejected; /**< closed: address marked for its
                                   *   connect rate */
  uint64_t conn_marked;           /**< times an address was marked for its
                                   *   connect rate */
  uint64_t stream_rejected;       /**< streams refused */
  uint64_t stream_circs_closed;   /**< circuits closed for their streams */
  uint64_t single_hop_refused;    /**< ESTABLISH_RENDEZVOUS dropped */
  size_t n_addrs;                 /**< client addresses remembered now */
  size_t n_marked_now;            /**< of them, under a defence now */
  uint64_t addrs_evicted;         /**< forgotten early: the map was full */
  uint64_t untracked;             /**< connections not counted: map full */
} dos_stats_t;
void dos_get_stats(const dos_t *d, uint64_t now_msec, dos_stats_t *out);
/** "DoS mitigation since startup: ..." (tor's heartbeat line); buf. */
char *dos_format_heartbeat(const dos_t *d, uint64_t now_msec, char *buf,
                           size_t len);

/** Convert a sockaddr (AF_INET / AF_INET6; v4-mapped IPv6 becomes IPv4)
 * into a; -1 for another family. */
struct sockaddr;
int dos_addr_from_sockaddr(dos_addr_t *a, const struct sockaddr *sa);

#endif
