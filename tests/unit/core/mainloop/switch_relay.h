/* switch_relay.h -- an in-process relay running the real cell engine
 * (cellswitch.h) for tests: a fresh identity and ntor key, an ORPort on
 * 127.0.0.1 (random port) accepted into the engine, and an echo exit at the
 * last hop (BEGIN answered with CONNECTED, DATA echoed back) through the
 * engine's hooks.  Replaces test_relay.c for relay-side tests. */
#ifndef ALLIUM_TESTS_MAINLOOP_SWITCH_RELAY_H
#define ALLIUM_TESTS_MAINLOOP_SWITCH_RELAY_H

#include <stddef.h>

#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/mainloop/cellswitch.h"

struct event_base;

typedef struct srelay_t srelay_t;

/** A relay on base.  tweak (may be NULL) supplies queue/watermark settings
 * (its keys, TLS and hooks are ignored).  Criterion asserts on failure. */
srelay_t *srelay_new(struct event_base *base, const cellswitch_config_t *tweak);
/** Free (outside the loop); NULL ok. */
void srelay_free_(srelay_t *r);
#define srelay_free(p) do { srelay_free_(p); (p) = NULL; } while (0)

const circ_hop_spec_t *srelay_spec(const srelay_t *r);
cellswitch_t *srelay_switch(srelay_t *r);
/** Stream bytes echoed as the last hop. */
size_t srelay_n_echoed(const srelay_t *r);
/** Close every channel of the engine now. */
void srelay_close_channels(srelay_t *r);
/** Answer CREATE2 through the async seam (answer_create hook) from a
 * zero-delay timer instead of synchronously. */
void srelay_set_async_answers(srelay_t *r, bool on);

/** Answer CREATE cells on an onion worker pool of n_threads (0: back to
 * answering on the loop). */
void srelay_set_workers(srelay_t *r, unsigned n_threads);
onion_workers_t *srelay_workers(srelay_t *r);
/** DoS tests: the engine may refuse accepted connections. */
void srelay_set_accept_may_fail(srelay_t *r, bool on);

#endif
