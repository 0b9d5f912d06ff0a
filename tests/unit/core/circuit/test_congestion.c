/* test_congestion.c -- proposal 324 congestion control: parameters and
 * clamping, the congestion window and inflight accounting, SENDME digests,
 * RTT estimation with clock stalls and jumps, TOR_VEGAS slow start and
 * steady state against hand-computed sequences, receiver SENDME pacing. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/circuit/congestion.h"

/* The test's sender: cell i (1-based) has a digest made of i. */
typedef struct tx_t {
  cc_state_t *cc;
  uint64_t next_cell;        /* cells sent so far */
  uint64_t acked[256];       /* digested cells, in order */
  size_t n_acked, head;
} tx_t;

static void
digest_of(uint64_t i, uint8_t d[CC_DIGEST_LEN])
{
  memset(d, 0xa5, CC_DIGEST_LEN);
  memcpy(d, &i, sizeof(i));
}

static void
tx_send(tx_t *t, int n, uint64_t now)
{
  uint8_t d[CC_DIGEST_LEN];
  for (int k = 0; k < n; k++) {
    cr_assert(cc_can_send(t->cc), "cell %llu", (unsigned long long)t->next_cell + 1);
    bool need = cc_next_sent_needs_digest(t->cc);
    digest_of(++t->next_cell, d);
    cr_assert_eq(cc_note_cell_sent(t->cc, now, d), 0);
    if (need)
      t->acked[t->n_acked++] = t->next_cell;
  }
}

static int
tx_ack(tx_t *t, uint64_t now)
{
  uint8_t d[CC_DIGEST_LEN];
  digest_of(t->head < t->n_acked ? t->acked[t->head] : 0, d);
  int r = cc_note_sendme_received(t->cc, now, d, false);
  if (r == 0)
    t->head++;
  return r;
}

static cc_stats_t
st(const tx_t *t)
{
  cc_stats_t s;
  cc_get_stats(t->cc, &s);
  return s;
}

Test(congestion, defaults)
{
  cc_params_t p;
  cc_params_default(&p);
  cr_assert_eq(p.alg, CC_ALG_VEGAS);
  cr_assert_eq(p.sendme_inc, 31);
  cr_assert_eq(p.cwnd_init, 124);
  cr_assert_eq(p.cwnd_min, 124);
  cr_assert_eq(p.cwnd_max, INT32_MAX);
  cr_assert_eq(p.cwnd_inc, 1);
  cr_assert_eq(p.cwnd_inc_rate, 31);
  cr_assert_eq(p.cwnd_inc_pct_ss, 100);
  cr_assert_eq(p.vegas_alpha, 186);
  cr_assert_eq(p.vegas_beta, 248);
  cr_assert_eq(p.vegas_gamma, 186);
  cr_assert_eq(p.vegas_delta, 310);
  cr_assert_eq(p.sscap, 600);
  cr_assert_eq(p.ss_max, 5000);
  cr_assert_eq(p.ewma_cwnd_pct, 50);
  cr_assert_eq(p.ewma_max, 10);
  cr_assert_eq(p.ewma_ss, 2);
  cr_assert_eq(p.cwnd_full_gap, 4);
  cr_assert_eq(p.cwnd_full_minpct, 25);
  cr_assert_eq(p.cwnd_full_per_cwnd, 1);
  cr_assert_eq(p.xoff_client, 500);
  cr_assert_eq(p.xon_rate, 500);
}

static int32_t
fake_getter(void *arg, const char *name, int32_t def, int32_t min,
            int32_t max)
{
  int *calls = arg;
  (*calls)++;
  int32_t v = def;
  if (!strcmp(name, "cc_sendme_inc"))
    v = 50;
  else if (!strcmp(name, "cc_alg"))
    v = 0;
  else if (!strcmp(name, "cc_vegas_alpha_exit"))
    v = 100000;         /* out of range: the getter clamps, as tor's does */
  else if (!strcmp(name, "cc_cwnd_min"))
    v = 31;
  if (v < min)
    v = min;
  return v > max ? max : v;
}

Test(congestion, load_and_clamp)
{
  cc_params_t p;
  int calls = 0;
  cc_params_load(&p, fake_getter, &calls);
  cr_assert_geq(calls, 25, "every parameter is asked for");
  cr_assert_eq(p.sendme_inc, 50);
  cr_assert_eq(p.alg, 0);
  cr_assert_eq(p.vegas_alpha, 1000);
  cr_assert_eq(p.cwnd_min, 50, "cwnd_min raised to sendme_inc");
  cr_assert_eq(p.vegas_beta, 1000, "beta raised to alpha");
  cr_assert_eq(p.vegas_delta, 1000, "delta raised to beta");

  cc_params_default(&p);
  p.sendme_inc = 0;
  p.cwnd_init = -5;
  p.cwnd_max = 1;
  p.cwnd_full_per_cwnd = 7;
  p.rtt_reset_pct = 101;
  cc_params_clamp(&p);
  cr_assert_eq(p.sendme_inc, 1);
  cr_assert_eq(p.cwnd_max, 500);
  cr_assert_eq(p.cwnd_init, 31);
  cr_assert_eq(p.cwnd_full_per_cwnd, 1);
  cr_assert_eq(p.rtt_reset_pct, 100);
  cr_assert_null(cc_new(&p, 0));
  cr_assert_null(cc_new(NULL, 31));
}

Test(congestion, window_and_digests)
{
  cc_params_t p;
  cc_params_default(&p);
  tx_t t = { .cc = cc_new(&p, 31) };
  uint8_t d[CC_DIGEST_LEN] = { 0 };
  cr_assert_eq(cc_send_room(t.cc), 124);
  cr_assert_eq(cc_max_data_len(t.cc, 498), 478, "first cell gets padding");
  tx_send(&t, 1, 0);
  cr_assert_eq(cc_max_data_len(t.cc, 498), 498);
  tx_send(&t, 123, 0);
  cr_assert_not(cc_can_send(t.cc));
  cr_assert_eq(cc_send_room(t.cc), 0);
  cr_assert_eq(cc_note_cell_sent(t.cc, 0, d), CC_ERR_FULL);
  cr_assert_eq(t.n_acked, 4);
  cr_assert_eq(t.acked[0], 31);
  cr_assert_eq(t.acked[3], 124);
  cc_stats_t s = st(&t);
  cr_assert_eq(s.inflight, 124);
  cr_assert_eq(s.pending_digests, 4);
  /* A wrong digest, or a v0 SENDME: refused, nothing changes. */
  digest_of(62, d);
  cr_assert_eq(cc_note_sendme_received(t.cc, 10000, d, false), CC_ERR_DIGEST);
  cr_assert_eq(cc_note_sendme_received(t.cc, 10000, NULL, false), CC_ERR_DIGEST);
  s = st(&t);
  cr_assert_eq(s.inflight, 124);
  cr_assert_eq(s.pending_digests, 4);
  cr_assert_eq(s.sendmes_received, 0);
  cc_free(t.cc);
  cr_assert_null(t.cc);
  cc_free(t.cc);   /* NULL is fine */
}

Test(congestion, bogus_sendme_never_underflows)
{
  cc_params_t p;
  cc_params_default(&p);
  tx_t t = { .cc = cc_new(&p, 31) };
  cr_assert_eq(tx_ack(&t, 5), CC_ERR_UNEXPECTED, "nothing sent");
  tx_send(&t, 30, 0);
  cr_assert_eq(tx_ack(&t, 5), CC_ERR_UNEXPECTED, "30 cells: no SENDME due");
  tx_send(&t, 1, 0);
  cr_assert_eq(tx_ack(&t, 5), 0);
  cr_assert_eq(st(&t).inflight, 0);
  cr_assert_eq(tx_ack(&t, 6), CC_ERR_UNEXPECTED, "a second one is bogus");
  cr_assert_eq(st(&t).inflight, 0);
  cc_free(t.cc);
}

/* Slow start with the default parameters, step by step (prop 324 3.3). */
Test(congestion, slow_start_sequence)
{
  cc_params_t p;
  cc_params_default(&p);
  tx_t t = { .cc = cc_new(&p, 31) };
  tx_send(&t, 124, 0);
  /* ack 1: RTT 10 ms becomes ewma and min; BDP 124, queue 0, full:
   * +31 (100% of sendme_inc below sscap 600). */
  cr_assert_eq(tx_ack(&t, 10000), 0);
  cc_stats_t s = st(&t);
  cr_assert_eq(s.cwnd, 155);
  cr_assert_eq(s.inflight, 93);
  cr_assert_eq(s.rtt_ewma_usec, 10000);
  cr_assert_eq(s.rtt_min_usec, 10000);
  cr_assert(s.in_slow_start);
  tx_send(&t, 62, 10000);
  /* ack 2: cell 62 (sent at 0): RTT 20 ms; N = cc_ewma_ss = 2:
   * ewma = (2*20000 + 10000) / 3 = 16666; BDP = 155*10000/16666 = 93. */
  cr_assert_eq(tx_ack(&t, 20000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 16666);
  cr_assert_eq(s.rtt_min_usec, 10000);
  cr_assert_eq(s.bdp, 93);
  cr_assert_eq(s.cwnd, 186);
  cr_assert_eq(s.inflight, 124);
  /* ack 3: ewma (40000+16666)/3 = 18888, BDP 186*10000/18888 = 98. */
  cr_assert_eq(tx_ack(&t, 20000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 18888);
  cr_assert_eq(s.bdp, 98);
  cr_assert_eq(s.cwnd, 217);
  /* ack 4: ewma 19629, BDP 110, still full (93 + 4*31 >= 217): 248; a
   * new cwnd period starts and clears "full". */
  cr_assert_eq(tx_ack(&t, 20000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 19629);
  cr_assert_eq(s.cwnd, 248);
  cr_assert_eq(s.inflight, 62);
  /* ack 5, 6: the window is no longer full: no increase. */
  cr_assert_eq(tx_ack(&t, 30000), 0);
  cr_assert_eq(tx_ack(&t, 30000), 0);
  s = st(&t);
  cr_assert_eq(s.cwnd, 248);
  cr_assert_eq(s.inflight, 0);
  cr_assert_eq(s.rtt_ewma_usec, 19958);
  cr_assert(s.in_slow_start);
  /* A full window at 100 ms RTT: ewma (200000+19958)/3 = 73319,
   * BDP = 248*10000/73319 = 33, queue 215 >= gamma 186: slow start ends
   * with cwnd = BDP + gamma = 219. */
  tx_send(&t, 248, 30000);
  cr_assert_eq(tx_ack(&t, 130000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 73319);
  cr_assert_eq(s.bdp, 33);
  cr_assert_not(s.in_slow_start);
  cr_assert_eq(s.cwnd, 219);
  cr_assert_eq(s.inflight, 217);
  cr_assert_eq(s.sendmes_received, 7);
  cc_free(t.cc);
}

/* The hard cap on slow start (cc_ss_max). */
Test(congestion, slow_start_cap)
{
  cc_params_t p;
  cc_params_default(&p);
  p.ss_max = 500;
  p.sscap = 100000;
  tx_t t = { .cc = cc_new(&p, 31) };
  uint64_t now = 0;
  for (int round = 0; round < 40 && st(&t).in_slow_start; round++) {
    tx_send(&t, (int)cc_send_room(t.cc), now);
    now += 10000;
    while (st(&t).in_slow_start && st(&t).inflight >= 31 &&
           tx_ack(&t, now) == 0)
      ;
  }
  cc_stats_t s = st(&t);
  cr_assert_not(s.in_slow_start);
  cr_assert_eq(s.cwnd, 500, "cwnd %llu", (unsigned long long)s.cwnd);
  cc_free(t.cc);
}

/* Steady state: delta, beta and alpha (hand computed; small thresholds,
 * slow start left at the first full ack because its increment rounds to
 * 0, cc_cwnd_full_per_cwnd 0). */
Test(congestion, vegas_steady_state)
{
  cc_params_t p;
  cc_params_default(&p);
  p.cwnd_inc_pct_ss = 1;
  p.vegas_alpha = 10;
  p.vegas_beta = 20;
  p.vegas_gamma = 15;
  p.vegas_delta = 40;
  p.cwnd_min = 62;
  p.cwnd_full_per_cwnd = 0;
  tx_t t = { .cc = cc_new(&p, 31) };
  tx_send(&t, 124, 0);
  cr_assert_eq(tx_ack(&t, 10000), 0);
  cc_stats_t s = st(&t);
  cr_assert_not(s.in_slow_start);
  cr_assert_eq(s.cwnd, 124);
  tx_send(&t, 31, 10000);
  /* RTT 20 ms: ewma 16666, BDP 74, queue 50 > delta: 74 + 40 - 1. */
  cr_assert_eq(tx_ack(&t, 20000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 16666);
  cr_assert_eq(s.cwnd, 113);
  /* ewma 18888, BDP 59, queue 54 > delta: 59 + 40 - 1 = 98. */
  cr_assert_eq(tx_ack(&t, 20000), 0);
  cr_assert_eq(st(&t).cwnd, 98);
  /* RTT 12 ms: ewma 14296, BDP 68, queue 30 > beta: 97. */
  cr_assert_eq(tx_ack(&t, 12000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 14296);
  cr_assert_eq(s.cwnd, 97);
  /* RTT 10 ms: ewma 11432, BDP 84, queue 13: between alpha and beta. */
  cr_assert_eq(tx_ack(&t, 20000), 0);
  s = st(&t);
  cr_assert_eq(s.cwnd, 97);
  cr_assert_eq(s.inflight, 0);
  /* A full window, RTT 10 ms: ewma 10477, BDP 92, queue 5 < alpha: 98. */
  tx_send(&t, 97, 20000);
  cr_assert_eq(tx_ack(&t, 30000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 10477);
  cr_assert_eq(s.cwnd, 98);
  /* A huge queue (RTT 400 ms): the window falls to cc_cwnd_min, and
   * rtt_min is reset to the ewma (cc_rtt_reset_pct 100). */
  cr_assert_eq(tx_ack(&t, 420000), 0);
  s = st(&t);
  cr_assert_eq(s.cwnd, 62);
  cr_assert_eq(s.rtt_min_usec, s.rtt_ewma_usec);
  cc_free(t.cc);
}

Test(congestion, clock_stall_and_jump)
{
  cc_params_t p;
  cc_params_default(&p);
  p.cwnd_inc_pct_ss = 1;   /* leave slow start at once (see above) */
  tx_t t = { .cc = cc_new(&p, 31) };
  tx_send(&t, 124, 1000);
  /* A zero RTT is a stall: not used, nothing but inflight changes. */
  cr_assert_eq(tx_ack(&t, 1000), 0);
  cc_stats_t s = st(&t);
  cr_assert_eq(s.clock_stalls, 1);
  cr_assert_eq(s.rtt_ewma_usec, 0);
  cr_assert_eq(s.cwnd, 124);
  cr_assert(s.in_slow_start);
  cr_assert_eq(s.inflight, 93);
  /* A clock that went backwards is a stall too. */
  cr_assert_eq(tx_ack(&t, 500), 0);
  cr_assert_eq(st(&t).clock_stalls, 2);
  /* A real sample; slow start ends (increment rounds to 0). */
  cr_assert_eq(tx_ack(&t, 11000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 10000);
  cr_assert_not(s.in_slow_start);
  /* 60 s is more than 5000 x the 10 ms ewma: a jump, ignored. */
  tx_send(&t, 62, 11000);
  cr_assert_eq(tx_ack(&t, 60000000ull + 1000), 0);
  s = st(&t);
  cr_assert_eq(s.clock_jumps, 1);
  cr_assert_eq(s.rtt_ewma_usec, 10000);
  cr_assert_eq(s.cwnd, 124);
  /* A stall, then a tiny sample (< ewma / 5000) counts as a stall while
   * the last one stalled; a normal sample clears the state. */
  uint64_t base = 60000000ull + 1000;
  tx_send(&t, 31, base);
  cr_assert_eq(tx_ack(&t, 11000), 0);     /* the cell sent at 11000: stall */
  cr_assert_eq(st(&t).clock_stalls, 3);
  cr_assert_eq(tx_ack(&t, 11001), 0);    /* 1 us: tiny, stalled before */
  s = st(&t);
  cr_assert_eq(s.clock_stalls, 4);
  cr_assert_eq(s.rtt_ewma_usec, 10000);
  cr_assert_eq(s.inflight, 31);
  cr_assert_eq(tx_ack(&t, base + 10000), 0);
  s = st(&t);
  cr_assert_eq(s.rtt_ewma_usec, 10000);
  cr_assert_eq(s.inflight, 0);
  cc_free(t.cc);
}

Test(congestion, receiver_sendme_pacing)
{
  cc_params_t p;
  cc_params_default(&p);
  cc_state_t *cc = cc_new(&p, 31);
  int sendmes = 0;
  for (int i = 1; i <= 100; i++) {
    int r = cc_note_cell_received(cc);
    cr_assert_eq(r, i % 31 == 0, "cell %d", i);
    sendmes += r;
  }
  cr_assert_eq(sendmes, 3);
  cc_stats_t s;
  cc_get_stats(cc, &s);
  cr_assert_eq(s.cells_received, 100);
  cr_assert_eq(s.sendmes_sent, 3);
  cc_free(cc);
  /* sendme_inc 1: a SENDME per cell. */
  cc = cc_new(&p, 1);
  cr_assert_eq(cc_note_cell_received(cc), 1);
  cr_assert_eq(cc_note_cell_received(cc), 1);
  cc_free(cc);
}

/* Many SENDMEs outstanding: the digest ring grows and keeps order. */
Test(congestion, large_window_ring)
{
  cc_params_t p;
  cc_params_default(&p);
  p.cwnd_init = 10000;
  tx_t t = { .cc = cc_new(&p, 31) };
  tx_send(&t, 7750, 0);              /* 250 acked cells */
  cr_assert_eq(st(&t).pending_digests, 250);
  for (int i = 0; i < 250; i++)
    cr_assert_eq(tx_ack(&t, 1000 + (uint64_t)i), 0, "ack %d", i);
  cr_assert_eq(st(&t).inflight, 0);
  cr_assert_eq(tx_ack(&t, 5000), CC_ERR_UNEXPECTED);
  cc_free(t.cc);
}

/* Onion-service path parameters (prop 324 6.5.3). */
static int32_t
onion_getter(void *arg, const char *name, int32_t def, int32_t min,
             int32_t max)
{
  (void)arg;
  (void)min;
  (void)max;
  if (!strcmp(name, "cc_vegas_alpha_onion"))
    return 100;
  if (!strcmp(name, "cc_vegas_beta_exit"))
    return 999;   /* an exit parameter: not used for onion circuits */
  if (!strcmp(name, "cc_sendme_inc"))
    return 20;
  return def;
}

Test(congestion, onion_params)
{
  cc_params_t p;
  cc_params_load_onion(&p, NULL, NULL);
  cr_assert_eq(p.alg, CC_ALG_VEGAS);
  cr_assert_eq(p.sendme_inc, 31);
  cr_assert_eq(p.vegas_alpha, 3 * 62);
  cr_assert_eq(p.vegas_beta, 7 * 62);
  cr_assert_eq(p.vegas_gamma, 5 * 62);
  cr_assert_eq(p.vegas_delta, 9 * 62);
  cr_assert_eq(p.sscap, 600);
  cc_params_load_onion(&p, onion_getter, NULL);
  cr_assert_eq(p.vegas_alpha, 100);
  cr_assert_eq(p.vegas_beta, 7 * 62);
  cr_assert_eq(p.sendme_inc, 20);
  cr_assert_eq(p.cwnd_min, 124);
}
