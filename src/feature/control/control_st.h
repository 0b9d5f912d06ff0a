/* control_st.h -- (private to src/feature/control) the control port's
 * structures. */
#ifndef ALLIUM_SRC_FEATURE_CONTROL_CONTROL_ST_H
#define ALLIUM_SRC_FEATURE_CONTROL_CONTROL_ST_H

#include <stdbool.h>
#include <stdint.h>

#include "allium/feature/control/control.h"
#include "allium/feature/control/control_auth.h"

struct bufferevent;
struct evconnlistener;
struct event;

/** Most bytes queued towards one controller before it is dropped as too
 * slow (events are never thrown away silently). */
#define CONTROL_MAX_OUTBUF (16u << 20)
#define CONTROL_MAX_LINE 16384
#define CONTROL_MAX_DATA (1u << 20)

typedef struct control_conn_t {
  struct control_t *ctl;
  struct bufferevent *bev;
  control_parser_t *parser;
  char peer[64];                 /**< for logs ("127.0.0.1:4567", "unix") */
  bool authenticated;
  bool protocolinfo_seen;        /**< before authentication */
  bool challenged;               /**< AUTHCHALLENGE answered */
  bool closing;                  /**< close once the output is flushed */
  bool shut;                     /**< output flushed and shut down; input
                                  *   is drained until EOF or a timeout */
  bool owner;                    /**< TAKEOWNERSHIP */
  uint8_t client_nonce[64];
  size_t client_nonce_len;
  uint8_t server_nonce[CONTROL_NONCE_LEN];
  uint64_t events;               /**< SETEVENTS mask (bit = ctlev_type_t) */
  uint64_t id;                   /**< never repeats (ctlcmd conn_id) */
  struct event *auth_timer;
  struct control_conn_t *prev, *next;
} control_conn_t;

typedef struct control_listener_t {
  struct evconnlistener *lev;
  char *addr;                    /**< "127.0.0.1:9051" or "unix:/path" */
  char *unix_path;               /**< removed at close; NULL for TCP */
} control_listener_t;

struct control_t {
  control_cfg_t cfg;             /**< strings and arrays owned */
  bool cookie_auth;
  uint8_t cookie[CONTROL_COOKIE_LEN];
  control_listener_t *listeners;
  size_t n_listeners;
  control_conn_t *conns;
  size_t n_conns;
  uint64_t start_msec;
  struct event *bw_timer;        /**< 1 s, while BW is wanted */
  uint64_t bw_last_read, bw_last_written;
  bool in_sink;                  /**< delivering an event */
};

/* control_cmd.c */
/** Run one command on cc, appending the reply to out.  Returns 1 when the
 * connection must be closed once out is written, else 0. */
int control_cmd_run(control_conn_t *cc, const control_cmd_t *cmd,
                    bytes_writer_t *out);
/** Register / unregister the GETINFO keys the control port answers
 * itself (version, events/names, process/..., status/bootstrap-phase). */
void control_getinfo_attach(struct control_t *c);

/* control_conn.c */
/** Recompute the bus mask and the log observer from every connection. */
void control_conn_update_events(struct control_t *c);
/** Close cc now (unlinks and frees; a TAKEOWNERSHIP owner halts). */
void control_conn_close(control_conn_t *cc);

#endif
