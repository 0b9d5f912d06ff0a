/* test_congestion_codec.c -- proposal 324 wire formats: the ntor v3
 * CC_REQUEST / CC_RESPONSE extensions and the client's checks (10.3, 10.5),
 * XON / XOFF bodies (4.1), FlowCtrl=2 / Relay=4 protover tests; and origin
 * circuits negotiating congestion control with an exit in the circuit
 * simulation (ntor v3 only when asked, sendme_inc checks, the window). */
#include <criterion/criterion.h>
#include <string.h>

#include "circuit_sim.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/circuit/congestion_codec.h"

Test(cc_codec, request_response_roundtrip)
{
  uint8_t b[8];
  size_t n;
  cc_ext_t e;
  cr_assert_eq(cc_ext_encode_request(b, sizeof(b), &n), 0);
  cr_assert_eq(n, 3);
  cr_assert_eq(b[0], 1);
  cr_assert_eq(b[1], 1);
  cr_assert_eq(b[2], 0);
  cr_assert_eq(cc_ext_parse(b, n, &e), 0);
  cr_assert(e.cc_request);
  cr_assert_not(e.cc_response);
  cr_assert_eq(cc_ext_encode_response(31, b, sizeof(b), &n), 0);
  static const uint8_t want[] = { 1, 2, 1, 31 };
  cr_assert_eq(n, sizeof(want));
  cr_assert_arr_eq(b, want, sizeof(want));
  cr_assert_eq(cc_ext_parse(b, n, &e), 0);
  cr_assert(e.cc_response);
  cr_assert_eq(e.sendme_inc, 31);
  cr_assert_eq(cc_ext_encode_request(b, 2, &n), CC_CODEC_ERR_SPACE);
  cr_assert_eq(cc_ext_encode_response(1, b, 3, &n), CC_CODEC_ERR_SPACE);
}

Test(cc_codec, parse_edge_cases)
{
  cc_ext_t e;
  cr_assert_eq(cc_ext_parse(NULL, 0, &e), 0, "empty: no extensions");
  cr_assert_eq(e.n_ext, 0);
  static const uint8_t zero[] = { 0 };
  cr_assert_eq(cc_ext_parse(zero, 1, &e), 0);
  /* unknown extension (type 9, 2 bytes) ignored; duplicate response: the
   * first counts; trailing bytes ignored. */
  static const uint8_t many[] = { 3, 9, 2, 0xaa, 0xbb, 2, 1, 40, 2, 1, 20, 77 };
  cr_assert_eq(cc_ext_parse(many, sizeof(many), &e), 0);
  cr_assert(e.cc_response);
  cr_assert_eq(e.sendme_inc, 40);
  cr_assert_eq(e.n_ext, 3);
  /* truncated: every proper prefix of a non-empty list fails */
  for (size_t k = 1; k < 11; k++)
    cr_assert_eq(cc_ext_parse(many, k, &e), CC_CODEC_ERR_TRUNCATED, "len %zu", k);
  static const uint8_t empty_resp[] = { 1, 2, 0 };
  cr_assert_eq(cc_ext_parse(empty_resp, 3, &e), CC_CODEC_ERR_TRUNCATED);
  static const uint8_t over[] = { 1, 1, 200 };
  cr_assert_eq(cc_ext_parse(over, 3, &e), CC_CODEC_ERR_TRUNCATED);
  static const uint8_t sub[] = { 1, 3, 2, 2, 6 };
  cr_assert_eq(cc_ext_parse(sub, sizeof(sub), &e), 0);
  cr_assert(e.subproto);
}

Test(cc_codec, client_checks)
{
  cc_ext_t e = { 0 };
  uint8_t inc = 0;
  cr_assert_eq(cc_ext_check_response(&e, true, 31, &inc), 0, "not granted");
  e.cc_response = true;
  e.sendme_inc = 31;
  cr_assert_eq(cc_ext_check_response(&e, false, 31, &inc), CC_CODEC_ERR_UNASKED);
  cr_assert_eq(cc_ext_check_response(&e, true, 31, &inc), 1);
  cr_assert_eq(inc, 31);
  static const struct { uint8_t got; int want; } v[] = {
    { 0, CC_CODEC_ERR_INC }, { 15, CC_CODEC_ERR_INC }, { 16, 1 }, { 62, 1 },
    { 63, CC_CODEC_ERR_INC }, { 255, CC_CODEC_ERR_INC },
  };
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    e.sendme_inc = v[i].got;
    cr_assert_eq(cc_ext_check_response(&e, true, 31, &inc), v[i].want,
                 "sendme_inc %u", v[i].got);
  }
}

Test(cc_codec, xon_xoff)
{
  uint8_t b[8];
  size_t n;
  uint32_t k = 0;
  cr_assert_eq(cc_xon_encode(0x01020304, b, sizeof(b), &n), 0);
  static const uint8_t want[] = { 0, 1, 2, 3, 4 };
  cr_assert_eq(n, 5);
  cr_assert_arr_eq(b, want, 5);
  cr_assert_eq(cc_xon_decode(b, n, &k), 0);
  cr_assert_eq(k, 0x01020304);
  cr_assert_eq(cc_xon_decode(b, 4, &k), CC_CODEC_ERR_TRUNCATED);
  cr_assert_eq(cc_xon_decode(b, 0, &k), CC_CODEC_ERR_TRUNCATED);
  cr_assert_eq(cc_xon_decode(NULL, 5, &k), CC_CODEC_ERR_TRUNCATED);
  b[0] = 1;
  cr_assert_eq(cc_xon_decode(b, 5, &k), CC_CODEC_ERR_VERSION);
  cr_assert_eq(cc_xoff_encode(b, sizeof(b), &n), 0);
  cr_assert_eq(n, 1);
  cr_assert_eq(b[0], 0);
  cr_assert_eq(cc_xoff_decode(b, 1), 0);
  static const uint8_t longer[] = { 0, 9, 9 };
  cr_assert_eq(cc_xoff_decode(longer, 3), 0, "extra bytes ignored");
  static const uint8_t v1[] = { 1 };
  cr_assert_eq(cc_xoff_decode(v1, 1), CC_CODEC_ERR_VERSION);
  cr_assert_eq(cc_xoff_decode(b, 0), CC_CODEC_ERR_TRUNCATED);
  cr_assert_eq(cc_xoff_encode(b, 0, &n), CC_CODEC_ERR_SPACE);
  cr_assert_eq(cc_xon_encode(1, b, 4, &n), CC_CODEC_ERR_SPACE);
}

Test(cc_codec, protover)
{
  const char *tor049 = "Conflux=1 Cons=1-2 Desc=1-4 DirCache=2 FlowCtrl=1-2 "
                       "HSDir=2 HSIntro=4-5 HSRend=1-2 Link=3-5 LinkAuth=3 "
                       "Microdesc=1-3 Padding=2 Relay=2-6";
  cr_assert(cc_protover_supports_cc(tor049));
  cr_assert(cc_protover_has(tor049, "Link", 4));
  cr_assert_not(cc_protover_has(tor049, "Link", 6));
  cr_assert_not(cc_protover_has(tor049, "Lin", 3));
  cr_assert_not(cc_protover_supports_cc("FlowCtrl=1 Relay=2-4"));
  cr_assert_not(cc_protover_supports_cc("FlowCtrl=1-2 Relay=2-3"));
  cr_assert(cc_protover_supports_cc("Relay=1,4 FlowCtrl=2"));
  cr_assert_not(cc_protover_supports_cc(NULL));
  cr_assert_not(cc_protover_supports_cc(""));
  cr_assert_not(cc_protover_supports_cc("FlowCtrl= Relay=x"));
  cr_assert_not(cc_protover_supports_cc("FlowCtrl=3-1 Relay=4"));
  cr_assert_not(cc_protover_supports_cc("FlowCtrl=99999999999 Relay=4"));
  cr_assert_not(cc_protover_has("FlowCtrl=1;2", "FlowCtrl", 2));
}

/* ---- origin circuits negotiating with a simulated exit ---- */

static void
sim_cc_init(sim_t *s, uint8_t exit_inc, bool want)
{
  sim_init(s, 3);
  for (size_t i = 0; i < 3; i++) {
    memcpy(s->r[i].keys.ed_id, s->r[i].spec.ed_id, 32);
    s->r[i].keys.has_ed_id = true;
  }
  s->r[2].server_params.cc_sendme_inc = exit_inc;
  s->r[2].spec.want_cc = want;
  cc_params_default(&s->r[2].spec.cc_params);
}

Test(cc_origin, negotiated_with_exit)
{
  sim_t s;
  sim_cc_init(&s, 31, true);
  cr_assert(sim_build(&s, 3));
  cr_assert_null(circ_origin_cc(s.o, 0));
  cr_assert_null(circ_origin_cc(s.o, 1));
  const cc_state_t *cc = circ_origin_cc(s.o, 2);
  cr_assert_not_null(cc);
  cc_stats_t st;
  cc_get_stats(cc, &st);
  cr_assert_eq(st.sendme_inc, 31);
  cr_assert_eq(st.cwnd, 124);
  cr_assert_eq(s.r[1].last_extend.extend.htype, CELL_HTYPE_NTOR_V3);
  sim_free(&s);
}

Test(cc_origin, window_limits_data)
{
  sim_t s;
  sim_cc_init(&s, 31, true);
  s.r[2].spec.cc_params.cwnd_init = 62;
  cr_assert(sim_build(&s, 3));
  uint8_t body[100] = { 0 };
  for (int i = 0; i < 62; i++)
    cr_assert_eq(circ_origin_send(s.o, 2, RELAY_DATA, 1, body, sizeof(body)),
                 0, "cell %d", i);
  cr_assert_eq(circ_origin_send(s.o, 2, RELAY_DATA, 1, body, sizeof(body)),
               CIRC_ERR_WINDOW);
  cc_stats_t st;
  cc_get_stats(circ_origin_cc(s.o, 2), &st);
  cr_assert_eq(st.inflight, 62);
  cr_assert_eq(st.pending_digests, 2);
  sim_free(&s);
}

Test(cc_origin, exit_declines)
{
  sim_t s;
  sim_cc_init(&s, 0, true);   /* the exit offers no congestion control */
  cr_assert(sim_build(&s, 3));
  cr_assert_null(circ_origin_cc(s.o, 2));
  cr_assert_eq(s.r[1].last_extend.extend.htype, CELL_HTYPE_NTOR_V3);
  cr_assert_eq(circ_origin_flow(s.o, 2)->package_window, 1000);
  sim_free(&s);
}

Test(cc_origin, not_asked_uses_ntor)
{
  sim_t s;
  sim_cc_init(&s, 31, false);
  cr_assert(sim_build(&s, 3));
  cr_assert_null(circ_origin_cc(s.o, 2));
  cr_assert_eq(s.r[1].last_extend.extend.htype, CELL_HTYPE_NTOR);
  sim_free(&s);
}

Test(cc_origin, sendme_inc_out_of_range_closes)
{
  sim_t s;
  sim_cc_init(&s, 100, true);   /* more than twice our 31 */
  cr_assert_not(sim_build(&s, 3));
  cr_assert(s.o_closed);
  cr_assert_eq(s.o_close_ev.reason, CELL_DESTROY_PROTOCOL);
  sim_free(&s);
}
