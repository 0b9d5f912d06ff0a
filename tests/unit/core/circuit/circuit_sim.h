/* circuit_sim.h -- in-memory circuit simulation for the circuit / stream
 * tests: one originator and a chain of relay-side circuits with freshly
 * generated relay keys, wired by function calls (no sockets).  Position 0
 * is the originator, position i + 1 is relay i. */
#ifndef TESTS_UNIT_CORE_CIRCUIT_CIRCUIT_SIM_H
#define TESTS_UNIT_CORE_CIRCUIT_CIRCUIT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/circuit/circuit_relay.h"
#include "allium/core/onion/onion_server.h"

#define SIM_MAX_RELAYS 10

typedef struct sim_t sim_t;
/** Called for every cell moved from position from to position to; may
 * modify it. */
typedef void (*sim_tamper_fn)(sim_t *s, int from, int to, circ_cell_t *cell);

typedef struct sim_relay_t {
  circ_relay_keys_t keys;
  circ_hop_spec_t spec;        /**< what the client believes (editable) */
  circ_relay_t *circ;
  bool closed;
  circ_event_t close_ev;
  int n_ignored;
  int n_relay_msgs;
  circ_event_t last_msg;
  int n_stream_errors;
  int n_stream_ends;
  uint8_t last_end_reason;
  int n_extend_requests;
  circ_event_t last_extend;    /**< the last EXTEND_REQUEST event */
  int n_next_closed;           /**< NEXT_CLOSED events (TRUNCATE) */
  /** Non-zero cc_sendme_inc: the relay answers CREATE2 through
   * onion_server_answer() with these (CC_RESPONSE to a CC_REQUEST). */
  onion_server_params_t server_params;
} sim_relay_t;

struct sim_t {
  circ_origin_t *o;
  sim_relay_t r[SIM_MAX_RELAYS];
  size_t n_relays;
  sim_tamper_fn tamper;
  /** Relays take cells through circ_relay_process_cell() in place and
   * passed-on cells go straight to the neighbour (the engine's path). */
  bool fast_path;
  uint64_t fast_passed;        /**< cells passed on by the fast path */
  int tamper_count;            /**< free for the tamper hook */
  /* originator observations */
  bool o_closed;
  circ_event_t o_close_ev;
  int o_hops_added;
  int o_ignored;
  int o_relay_msgs;
  circ_event_t o_last_msg;
  /* client stream observations */
  int c_connected;
  int c_errors;
  int c_ends;
  uint8_t c_end_reason;
  int c_resolved;
  uint8_t *c_rx;               /**< data received by the client */
  size_t c_rx_len;
  /* exit stream behaviour / observations */
  bool exit_echo_begin;        /**< answer BEGIN with CONNECTED */
  uint16_t exit_sid;
  uint8_t *x_rx;               /**< data received at the exit */
  size_t x_rx_len;
  int x_begins;
  int x_resolves;
  int x_begin_dirs;
  const uint8_t *x_reply;      /**< written by the exit once connected */
  size_t x_reply_len;
  uint64_t cells_moved;
};

/** n relays with fresh keys; the originator is not started. */
void sim_init(sim_t *s, size_t n_relays);
void sim_free(sim_t *s);
/** Move cells and handle events until nothing moves (bounded); returns the
 * number of cells moved. */
uint64_t sim_pump(sim_t *s);
/** Start and extend through relays 0..n-1; true if all hops were added. */
bool sim_build(sim_t *s, size_t n);
/** Exit-role stream table on relay idx. */
void sim_attach_exit(sim_t *s, size_t idx);
/** The relay circuit at idx, or NULL. */
circ_relay_t *sim_relay(sim_t *s, size_t idx);

#endif
