/* exit_stream.h -- allium as an exit relay: the streams of circuits that end
 * here (tor-spec 6.2 RELAY_BEGIN -> resolve -> non-blocking connect ->
 * RELAY_CONNECTED with address and TTL; DATA both ways under the stream and
 * circuit SENDME windows (7.3, 7.4) with TCP back-pressure; 6.3 RELAY_END
 * with the reason of each failure, EXITPOLICY with the address and TTL;
 * 6.4 RELAY_RESOLVE / RELAY_RESOLVED including PTR).  BEGIN_DIR stays with
 * the cell engine's directory streams.
 *
 * The exit plugs into the cell engine through cellswitch_set_exit_hooks()
 * and resolves names through an exit_resolver_t (feature/exit/exit_dns.h;
 * without one, names get END RESOLVEFAILED and RESOLVED errors).  Data path:
 * the socket is read into one buffer of the exit and packaged from there
 * (one copy into the cell); DATA goes from the cell to the socket, queued
 * only when the socket would block.  Back-pressure: a socket is not read
 * while its stream holds EXIT_PENDING_HIGH unsent bytes (the stream or
 * circuit window is empty) and read again below EXIT_PENDING_LOW; a
 * socket whose output queue passes EXIT_OBUF_HIGH holds back its stream's
 * SENDMEs (the client stops within one window) until it drains to
 * EXIT_OBUF_LOW.  Bandwidth: the destination sockets take their bytes
 * from the BandwidthRate buckets (core/channel/channel_bw.h
 * channel_bw_sock_*; not RelayBandwidthRate's) and wait for the next
 * refill when those are empty; their bytes count for AccountingMax. */
#ifndef ALLIUM_FEATURE_EXIT_EXIT_STREAM_H
#define ALLIUM_FEATURE_EXIT_EXIT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/mainloop/cellswitch.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/exit/exit_dns.h"

struct event_base;

#define EXIT_PENDING_HIGH (32 * 1024)
#define EXIT_PENDING_LOW (8 * 1024)
#define EXIT_OBUF_HIGH (256 * 1024)
#define EXIT_OBUF_LOW (64 * 1024)
/** Most bytes one stream may hold for its destination.  Past EXIT_OBUF_HIGH
 * the client is told to stop (stream SENDMEs held back, or XOFF under
 * congestion control); a client that goes on sending anyway (XOFF ignored:
 * congestion control has no stream window to enforce it) gets END
 * RESOURCELIMIT at this size, so one stream cannot grow the exit without
 * bound. */
#define EXIT_OBUF_MAX (8 * 1024 * 1024)
#define EXIT_READ_CHUNK (16 * 1024)
/** A connect not finished after this long: END TIMEOUT. */
#define EXIT_CONNECT_TIMEOUT_MSEC (30 * 1000)
/** Output still unwritten this long after the stream ended: dropped. */
#define EXIT_DRAIN_TIMEOUT_MSEC (30 * 1000)
/** TTL reported for address literals (tor-spec 6.2 CONNECTED). */
#define EXIT_LITERAL_TTL 1800

/** How the exit looks names up (exit_dns.h, or a test's fake).  The
 * callback must never run from inside resolve() / resolve_ptr(). */
typedef struct exit_resolver_t {
  exit_dns_req_t *(*resolve)(void *ctx, const char *name, unsigned want,
                             exit_dns_cb_t cb, void *arg);
  exit_dns_req_t *(*resolve_ptr)(void *ctx, const exit_dns_addr_t *addr,
                                 exit_dns_cb_t cb, void *arg);
  void (*cancel)(void *ctx, exit_dns_req_t *req);
  void *ctx;
} exit_resolver_t;

typedef struct exit_cfg_t {
  const policy_t *policy;       /**< the effective exit policy (borrowed;
                                 *   must outlive the exit) */
  bool ipv6_exit;               /**< IPv6Exit: connect to IPv6 */
  const exit_resolver_t *resolver;   /**< copied; NULL: none */
  uint32_t connect_timeout_msec;     /**< 0: EXIT_CONNECT_TIMEOUT_MSEC */
  /** Accept BEGIN on circuits whose previous hop is not a relay (tests
   * only; tor refuses them: a client must not use us as a one-hop proxy). */
  bool allow_client_circuits;
  size_t obuf_max;              /**< 0: EXIT_OBUF_MAX (tests set less) */
} exit_cfg_t;

typedef struct exit_t exit_t;

/** New exit on base serving the circuits of sw (borrowed) that end here;
 * installs the engine's exit hooks.  Free it after the engine: the
 * engine's circuits call the hooks (and close their exit streams) until
 * the engine is freed. */
exit_t *exit_new(struct event_base *base, cellswitch_t *sw,
                 const exit_cfg_t *cfg);
void exit_free_(exit_t *x);
#define exit_free(p) do { exit_free_(p); (p) = NULL; } while (0)
/** Use another resolver from now on (copied; NULL: none).  Lookups in
 * flight on the old one are first cancelled and answered (BEGIN: END
 * RESOLVEFAILED; RESOLVE: a transient RESOLVED error, tor-spec 6.4), so
 * the old resolver may be freed right after. */
void exit_set_resolver(exit_t *x, const exit_resolver_t *r);
/** Cancel and answer every lookup in flight, as exit_set_resolver() does;
 * how many there were. */
size_t exit_refuse_lookups(exit_t *x);
/** A new effective policy (borrowed: must outlive the exit or the next
 * call) and IPv6Exit, for BEGINs from now on (a reload); streams already
 * connected keep going.  A policy that accepts nothing refuses every
 * BEGIN and RESOLVE with END EXITPOLICY, as a non-exit does. */
void exit_set_policy(exit_t *x, const policy_t *policy, bool ipv6_exit);

typedef struct exit_stats_t {
  uint64_t begins;              /**< BEGIN received */
  uint64_t connected;           /**< CONNECTED sent */
  uint64_t refused_policy;      /**< END EXITPOLICY */
  uint64_t refused_client;      /**< BEGIN on a client's circuit */
  uint64_t resolve_failed;      /**< END RESOLVEFAILED */
  uint64_t connect_failed;      /**< END CONNECTREFUSED/NOROUTE/TIMEOUT/.. */
  uint64_t resolves;            /**< RESOLVE received */
  uint64_t resolved;            /**< RESOLVED with an answer */
  uint64_t bytes_to_net, bytes_from_net;
  uint64_t reads_paused;        /**< socket reads paused (window empty) */
  uint64_t recv_paused;         /**< SENDMEs held (socket output full) */
  uint64_t obuf_overflows;      /**< END RESOURCELIMIT: EXIT_OBUF_MAX passed */
  uint64_t bw_waits;            /**< socket I/O waited for BandwidthRate
                                 *   tokens (core/channel/channel_bw.h) */
  size_t open_streams;          /**< now */
} exit_stats_t;
void exit_get_stats(const exit_t *x, exit_stats_t *out);

#endif
