/* test_origin_sink.c -- an origin circuit's cell sink and in-place
 * handling (core/circuit/circuit_origin.c; tor-spec 5.1.5, 5.4): cells go
 * to the sink in order instead of the queue, cells queued before the sink
 * was set stay queued, a malformed, truncated or unexpected reply handled
 * in place closes the circuit with a DESTROY through the sink and leaves
 * output to flush (circ_origin_has_output()). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/lib/crypto/crypto_util.h"

typedef struct got_t {
  int n;
  uint8_t cmd[8];
} got_t;

static void
got_cell(void *arg, uint8_t command, const uint8_t payload[CELL_PAYLOAD_LEN])
{
  got_t *g = arg;
  cr_assert_not_null(payload);
  if (g->n < 8)
    g->cmd[g->n] = command;
  g->n++;
}

Test(origin_sink, cells_go_to_the_sink_in_order)
{
  cr_assert_eq(crypto_global_init(), 0);
  circ_origin_t *c = circ_origin_new();
  got_t g = { 0 };
  circ_cell_t cc;
  /* Queued before the sink: stays in the queue. */
  cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
  circ_origin_set_cell_sink(c, got_cell, &g);
  cr_assert(circ_origin_has_output(c));
  cr_assert_eq(g.n, 0);
  cr_assert_eq(circ_origin_next_cell(c, &cc), 1);
  cr_assert_eq(cc.command, CELL_CREATE_FAST);
  cr_assert_eq(circ_origin_next_cell(c, &cc), 0);
  cr_assert_not(circ_origin_has_output(c));
  /* A truncated CREATED_FAST (all zero: key hash mismatch) handled in
   * place: the circuit closes, its DESTROY goes to the sink at once. */
  uint8_t p[CELL_PAYLOAD_LEN] = { 0 };
  cr_assert_eq(circ_origin_handle_cell_inplace(c, CELL_CREATED_FAST, p), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_CLOSED);
  cr_assert_eq(g.n, 1);
  cr_assert_eq(g.cmd[0], CELL_DESTROY);
  cr_assert_eq(circ_origin_next_cell(c, &cc), 0, "nothing queued");
  cr_assert(circ_origin_has_output(c), "the CLOSED event waits");
  circ_event_t ev;
  cr_assert_eq(circ_origin_next_event(c, &ev), 1);
  cr_assert_eq(ev.type, CIRC_EV_CLOSED);
  cr_assert_eq(ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_not(circ_origin_has_output(c));
  /* After teardown everything is ignored, in place or not. */
  memset(p, 0xff, sizeof(p));
  cr_assert_eq(circ_origin_handle_cell_inplace(c, CELL_RELAY, p), 0);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_DESTROY, p), 0);
  cr_assert_eq(g.n, 1);
  circ_origin_free(c);
}

Test(origin_sink, unexpected_cells_in_place_close_once)
{
  cr_assert_eq(crypto_global_init(), 0);
  static const uint8_t cmds[] = { CELL_RELAY, CELL_RELAY_EARLY,
                                  CELL_CREATED2, CELL_CREATED_FAST };
  for (size_t i = 0; i < sizeof(cmds); i++) {
    circ_origin_t *c = circ_origin_new();
    got_t g = { 0 };
    circ_cell_t cc;
    cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
    cr_assert_eq(circ_origin_next_cell(c, &cc), 1);
    circ_origin_set_cell_sink(c, got_cell, &g);
    uint8_t p[CELL_PAYLOAD_LEN];
    memset(p, (int)(0x11 * (i + 1)), sizeof(p));
    cr_assert_eq(circ_origin_handle_cell_inplace(c, cmds[i], p), 0);
    cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_CLOSED, "cmd %u",
                 cmds[i]);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.cmd[0], CELL_DESTROY);
    cr_assert_eq(circ_origin_handle_cell_inplace(c, cmds[i], p), 0);
    cr_assert_eq(g.n, 1, "one DESTROY only");
    circ_origin_set_cell_sink(c, NULL, NULL);
    circ_origin_free(c);
  }
  circ_origin_t *c = circ_origin_new();
  cr_assert_eq(circ_origin_handle_cell(c, CELL_RELAY, NULL), CIRC_ERR_ARG);
  circ_origin_free(c);
}
