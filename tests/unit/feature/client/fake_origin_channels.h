/* fake_origin_channels.h -- a stand-in for core/mainloop/chanmgr in the client
 * tests: launches are recorded, the test decides when a circuit is built
 * or closed, the client-side stream table is real (relay_streams_t) and
 * what it sends is recorded; the test plays the exit by feeding relay
 * messages back. */
#ifndef TESTS_UNIT_FEATURE_CLIENT_FAKE_CHANMGR_H
#define TESTS_UNIT_FEATURE_CLIENT_FAKE_CHANMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/mainloop/origin_channels.h"

#define FAKE_MAX_CIRCS 64
#define FAKE_MAX_MSGS 64

typedef struct fake_msg_t {
  uint8_t command;
  uint16_t stream_id;
  size_t len;
  uint8_t body[RELAY_BODY_MAX];
} fake_msg_t;

typedef struct fake_circ_t {
  uint64_t handle;
  bool alive, built;
  chanmgr_circ_cbs_t cbs;
  circ_hop_spec_t hops[CIRC_ORIGIN_MAX_HOPS];
  size_t n_hops;
  uint32_t timeout_msec;
  relay_streams_t *t;
  fake_msg_t msgs[FAKE_MAX_MSGS];   /**< the first FAKE_MAX_MSGS sent */
  size_t n_msgs;
  size_t n_sendmes;                 /**< every RELAY_SENDME sent */
} fake_circ_t;

/** Forget everything (frees stream tables). */
void fake_reset(void);
/** Number of launches so far; the i-th (0-based). */
size_t fake_n_circs(void);
fake_circ_t *fake_circ(size_t i);
/** Make launch fail (-1) while set. */
void fake_set_launch_fails(bool fail);
/** Run on_hop for each hop, then on_built. */
void fake_build(size_t i);
/** Close circuit i as the network would (remote, reason). */
void fake_close(size_t i, bool was_built, uint8_t failed_hop);
/** The exit answers: a relay message to the client's stream table, then
 * the events go to the client. */
void fake_exit_send(size_t i, uint8_t command, uint16_t stream_id,
                    const uint8_t *body, size_t len);
/** The last message the client sent on circuit i with command (NULL). */
const fake_msg_t *fake_last_msg(size_t i, uint8_t command);
size_t fake_count_msgs(size_t i, uint8_t command);

/* ---- the service side of a rendezvous circuit (client_hs_svc_stream) ---- */
/** Switch built circuit i's stream table to role (relay_streams_set_role());
 * 0 or negative. */
int fake_set_role(size_t i, relay_stream_role_t role);
/** From the next fake_build() on, deliver DATA through cbs.on_data (the
 * table's data sink, as the real chanmgr does) when the callbacks have one;
 * off after fake_reset(). */
void fake_set_use_data_sink(bool on);
/** The peer (exit, or the client at an onion service) sends a relay message
 * to circuit i's table; then pending events go out as in fake_exit_send().
 * Returns relay_streams_handle()'s result. */
int fake_peer_send(size_t i, uint8_t command, uint16_t stream_id,
                   const uint8_t *body, size_t len);
/** Called for every relay message a circuit's table (or chanmgr_send)
 * sends, with the circuit index; NULL: none.  Cleared by fake_reset(). */
typedef void (*fake_send_hook_t)(void *arg, size_t i, uint8_t command,
                                 uint16_t stream_id, const uint8_t *body,
                                 size_t len);
void fake_set_send_hook(fake_send_hook_t fn, void *arg);

#endif
