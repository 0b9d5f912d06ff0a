/* exit_stream_st.h -- (private to src/feature/exit/exit_stream*.c and
 * their tests) the exit's objects: one exit_t, one exit_circ_t per circuit
 * with exit streams, one exit_conn_t per stream (BEGIN or RESOLVE). */
#ifndef ALLIUM_SRC_FEATURE_EXIT_EXIT_STREAM_ST_H
#define ALLIUM_SRC_FEATURE_EXIT_EXIT_STREAM_ST_H

#include "allium/feature/exit/exit_stream.h"

struct event;
struct channel_bw_sock_t;

typedef enum exit_conn_state_t {
  EXIT_CONN_RESOLVING = 1,   /**< BEGIN: looking the name up */
  EXIT_CONN_CONNECTING,      /**< BEGIN: connect() in progress */
  EXIT_CONN_OPEN,            /**< CONNECTED sent */
  EXIT_CONN_LOOKUP,          /**< RESOLVE: lookup in progress */
} exit_conn_state_t;

typedef struct exit_circ_t exit_circ_t;

typedef struct exit_conn_t {
  exit_circ_t *ec;
  struct exit_conn_t *next, *prev;
  uint16_t id;
  uint8_t state;             /**< exit_conn_state_t */
  bool ended;                /**< the table's stream is gone or closing */
  bool draining;             /**< writing out the last bytes, then close */
  bool reading;              /**< rev is added */
  bool recv_paused;          /**< our SENDMEs are held back */
  bool counted;              /**< in st.open_streams */
  bool bw_wwait;             /**< BandwidthRate: waiting to write */
  struct channel_bw_sock_t *bw;   /**< the socket's share of the buckets */
  bool want_v4, want_v6, prefer_v6;
  int fd;
  struct event *rev, *wev;
  exit_dns_req_t *req;
  policy_addr_t addr;        /**< where we connect */
  uint16_t port;
  uint32_t ttl;
  uint8_t *obuf;             /**< bytes for the socket [ooff, olen) */
  size_t ooff, olen, ocap;
} exit_conn_t;

struct exit_circ_t {
  exit_t *x;
  exit_circ_t *cnext, *cprev;  /**< in x->circs */
  uint64_t circ;
  relay_streams_t *t;
  exit_conn_t *conns;
  exit_conn_t *last;         /**< the last one found */
};

struct exit_t {
  struct event_base *base;
  cellswitch_t *sw;
  exit_cfg_t cfg;
  exit_resolver_t resolver;
  exit_stats_t st;
  exit_circ_t *circs;        /**< circuits with exit streams */
  bool accepting;            /**< the policy accepts something */
  uint8_t rbuf[EXIT_READ_CHUNK];   /**< socket reads land here */
};

/* exit_stream.c */
exit_conn_t *exit_conn_find(exit_circ_t *ec, uint16_t id);
void exit_conn_free(exit_conn_t *xc);
/** addr is known: policy check, then a non-blocking connect (or END). */
void exit_conn_connect(exit_conn_t *xc);
exit_conn_t *exit_conn_new(exit_circ_t *ec, uint16_t id);

/* exit_stream_begin.c */
void exit_on_begin(exit_circ_t *ec, const relay_stream_event_t *ev,
                   bool prev_is_relay);
void exit_on_resolve(exit_circ_t *ec, const relay_stream_event_t *ev);

#endif
