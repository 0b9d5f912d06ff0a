/* relay_run_st.h -- (private to src/feature/relay/relay_run*.c,
 * relay_listen.c and their tests) the running relay's state. */
#ifndef ALLIUM_SRC_FEATURE_RELAY_RELAY_RUN_ST_H
#define ALLIUM_SRC_FEATURE_RELAY_RELAY_RUN_ST_H

#include "allium/core/channel/link_keys.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/evloop/evloop.h"

struct evconnlistener;
struct event;

typedef struct relay_listener_t {
  relay_run_t *rr;
  relay_port_t *port;          /**< in rr->ports */
  int fd;
  struct evconnlistener *lev;
  struct event *resume;
  uint32_t pause_msec;
} relay_listener_t;

struct relay_run_t {
  struct event_base *base;
  const relay_keys_t *keys;
  char *nickname;
  int heartbeat_sec;
  bool assume_reachable;
  int n_workers;
  relay_ports_t ports;
  relay_address_t addr;
  link_keys_t *lk, *old_lk;        /**< link credentials, and the set
                                     *   before the last rotation */
  tls_context_t *client_tls;
  cellswitch_t *sw;
  onion_workers_t *workers;    /**< onion handshakes off the loop */
  char *datadir;               /**< for the previous ntor key; may be NULL */
  relay_listener_t *listeners;
  size_t n_listeners;
  evloop_handle_t *rotate, *heartbeat;
  uint64_t start_msec;
  /* directory presence (relay_publish.c) */
  struct relay_publish_t *pub;
  dir_boot_document_fn doc_fn;
  void *doc_arg;
};

/* relay_listen.c */
int relay_listen_open(relay_run_t *rr, char **errmsg);
int relay_listen_enable(relay_run_t *rr);
void relay_listen_close(relay_run_t *rr);

#endif
