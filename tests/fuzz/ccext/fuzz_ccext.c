/* fuzz_ccext.c -- fuzz target for congestion control's parsers and state
 * (proposal 324): the ntor v3 extension list with CC_REQUEST / CC_RESPONSE
 * and the client's checks (10.3, 10.5), RELAY_XON / RELAY_XOFF bodies
 * (4.1), protover strings (FlowCtrl=2, Relay=4), and the sans-IO
 * congestion state driven by arbitrary sends, SENDMEs (right or wrong
 * digests, any clock) and receives.  The first byte picks the part.
 * Checks: encoders and parsers agree; a granted sendme_inc is within a
 * factor 2 of ours; inflight never exceeds the window it was sent under
 * and never underflows. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/core/circuit/congestion.h"
#include "allium/core/circuit/congestion_codec.h"

int
fuzz_init(void)
{
  return 0;
}

static void
fuzz_ext(const uint8_t *d, size_t len)
{
  cc_ext_t e;
  uint8_t inc = 0;
  if (cc_ext_parse(d, len, &e) < 0)
    return;
  for (int req = 0; req < 2; req++) {
    int r = cc_ext_check_response(&e, req, 31, &inc);
    if (r == 1 && (!req || inc < 16 || inc > 62 || inc != e.sendme_inc))
      abort();
    if (r == 0 && e.cc_response)
      abort();
  }
  if (e.cc_response) {
    uint8_t b[CC_EXT_RESPONSE_LEN];
    size_t n;
    cc_ext_t back;
    if (cc_ext_encode_response(e.sendme_inc, b, sizeof(b), &n) < 0 ||
        cc_ext_parse(b, n, &back) < 0 || back.sendme_inc != e.sendme_inc)
      abort();
  }
}

static void
fuzz_xon_xoff(const uint8_t *d, size_t len)
{
  uint32_t k;
  uint8_t b[CC_XON_LEN];
  size_t n;
  if (cc_xon_decode(d, len, &k) == 0) {
    if (cc_xon_encode(k, b, sizeof(b), &n) < 0 || memcmp(b, d, n))
      abort();
  }
  if (cc_xoff_decode(d, len) == 0 && (len < 1 || d[0] != 0))
    abort();
}

static void
fuzz_protover(const uint8_t *d, size_t len)
{
  char *s = malloc(len + 1);
  if (!s)
    return;
  memcpy(s, d, len);
  s[len] = '\0';
  bool cc = cc_protover_supports_cc(s);
  if (cc != (cc_protover_has(s, "FlowCtrl", 2) && cc_protover_has(s, "Relay", 4)))
    abort();
  free(s);
}

/* Ops: 2 bits of each byte pick send / SENDME / bad SENDME / receive;
 * the other 6 bits move the clock (sometimes backwards). */
static void
fuzz_state(const uint8_t *d, size_t len)
{
  cc_params_t p;
  cc_params_default(&p);
  if (len < 2)
    return;
  p.cwnd_inc_pct_ss = 1 + d[0] % 200;
  p.vegas_alpha = d[1] % 64;
  cc_params_clamp(&p);
  cc_state_t *cc = cc_new(&p, (uint8_t)(1 + d[1] % 40));
  uint8_t dg[CC_DIGEST_LEN];
  uint64_t now = 1000000, sent = 0, acked = 0;
  for (size_t i = 2; i < len; i++) {
    uint8_t op = d[i] & 3, dt = d[i] >> 2;
    now = dt == 63 ? now - (now > 5000 ? 5000 : 0) : now + (uint64_t)dt * 97;
    cc_stats_t st;
    cc_get_stats(cc, &st);
    if (op == 0) {
      bool could = cc_can_send(cc);
      memset(dg, 0, sizeof(dg));
      memcpy(dg, &sent, sizeof(sent));
      int r = cc_note_cell_sent(cc, now, dg);
      if ((r == 0) != could)
        abort();
      sent += r == 0;
    } else if (op == 1 || op == 2) {
      /* the right digest is that of the next acked cell */
      uint64_t want = (acked + 1) * st.sendme_inc;
      memset(dg, 0, sizeof(dg));
      want -= op == 2;
      uint64_t idx = want - 1;
      memcpy(dg, &idx, sizeof(idx));
      int r = cc_note_sendme_received(cc, now, dg, i & 4);
      if (r == 0)
        acked++;
      cc_stats_t after;
      cc_get_stats(cc, &after);
      if (r < 0 && (after.inflight != st.inflight || after.cwnd != st.cwnd))
        abort();
      if (after.inflight > st.inflight)
        abort();
    } else {
      (void)cc_note_cell_received(cc);
    }
  }
  cc_stats_t st;
  cc_get_stats(cc, &st);
  if (st.inflight != sent - acked * st.sendme_inc)
    abort();
  cc_free(cc);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  switch (data[0] % 4) {
  case 0: fuzz_ext(data + 1, len - 1); break;
  case 1: fuzz_xon_xoff(data + 1, len - 1); break;
  case 2: fuzz_protover(data + 1, len - 1); break;
  default: fuzz_state(data + 1, len - 1); break;
  }
  return 0;
}
