/* congestion.c -- RTT-based circuit congestion control (proposal 324):
 * consensus parameters (6.5), RTT estimation with clock heuristics and
 * N_EWMA smoothing (2.1, 2.1.1, 2.1.2), the cwnd BDP estimator (3.1.2) and
 * TOR_VEGAS with RFC 3742 limited slow start (3.3), SENDME pacing every
 * sendme_inc cells with authenticated digests (2.2, proposal 289).
 * See include/allium/core/circuit/congestion.h. */
#include "allium/core/circuit/congestion.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

/* One DATA cell the peer's SENDME will acknowledge. */
typedef struct cc_pending_t {
  uint8_t digest[CC_DIGEST_LEN];
  uint64_t sent_usec;
} cc_pending_t;

struct cc_state_t {
  cc_params_t p;
  uint64_t sendme_inc;
  int64_t cwnd;             /* may only be compared against inflight */
  uint64_t inflight;
  bool in_slow_start;
  bool cwnd_full;
  uint64_t next_cc_event, next_cwnd_event;
  uint64_t rtt_min, rtt_ewma, rtt_max;   /* usec; 0: none yet */
  bool clock_stalled;       /* the last 0-delta sample (2.1.1) */
  uint64_t bdp;
  cc_pending_t *ring;       /* acked-cell ring, oldest at head */
  size_t head, n, cap;
  uint64_t cells_sent, cells_received, since_sendme;
  uint64_t sendmes_received, sendmes_sent;
  uint64_t clock_stalls, clock_jumps;
};

/* ---- parameters ---- */

typedef struct cc_param_def_t {
  const char *name;
  size_t off;
  int32_t def, min, max;
} cc_param_def_t;

#define P(n, f, d, lo, hi) { n, offsetof(cc_params_t, f), d, lo, hi }
#define OUTBUF_CELLS 62
static const cc_param_def_t cc_param_defs[] = {
  P("cc_alg", alg, CC_ALG_VEGAS, 0, 3),
  P("cc_sendme_inc", sendme_inc, 31, 1, 255),
  P("cc_cwnd_init", cwnd_init, 4 * 31, 31, 10000),
  P("cc_cwnd_min", cwnd_min, 4 * 31, 31, 1000),
  P("cc_cwnd_max", cwnd_max, INT32_MAX, 500, INT32_MAX),
  P("cc_cwnd_inc", cwnd_inc, 1, 1, 1000),
  P("cc_cwnd_inc_pct_ss", cwnd_inc_pct_ss, 100, 1, 500),
  P("cc_cwnd_inc_rate", cwnd_inc_rate, 31, 1, 250),
  P("cc_bwe_min", bwe_min, 5, 2, 20),
  P("cc_ewma_cwnd_pct", ewma_cwnd_pct, 50, 1, 255),
  P("cc_ewma_max", ewma_max, 10, 2, INT32_MAX),
  P("cc_ewma_ss", ewma_ss, 2, 2, INT32_MAX),
  P("cc_rtt_reset_pct", rtt_reset_pct, 100, 0, 100),
  P("cc_vegas_alpha_exit", vegas_alpha, 3 * OUTBUF_CELLS, 0, 1000),
  P("cc_vegas_beta_exit", vegas_beta, 4 * OUTBUF_CELLS, 0, 1000),
  P("cc_vegas_gamma_exit", vegas_gamma, 3 * OUTBUF_CELLS, 0, 1000),
  P("cc_vegas_delta_exit", vegas_delta, 5 * OUTBUF_CELLS, 0, INT32_MAX),
  P("cc_sscap_exit", sscap, 600, 100, INT32_MAX),
  P("cc_ss_max", ss_max, 5000, 500, INT32_MAX),
  P("cc_cwnd_full_gap", cwnd_full_gap, 4, 0, INT16_MAX),
  P("cc_cwnd_full_minpct", cwnd_full_minpct, 25, 0, 100),
  P("cc_cwnd_full_per_cwnd", cwnd_full_per_cwnd, 1, 0, 1),
  P("cc_xoff_client", xoff_client, 500, 1, 10000),
  P("cc_xoff_exit", xoff_exit, 500, 1, 10000),
  P("cc_xon_rate", xon_rate, 500, 1, 5000),
  P("cc_xon_change_pct", xon_change_pct, 25, 1, 99),
  P("cc_xon_ewma_cnt", xon_ewma_cnt, 2, 2, 100),
};
#undef P
#define N_DEFS (sizeof(cc_param_defs) / sizeof(cc_param_defs[0]))

static int32_t *
param_field(cc_params_t *p, const cc_param_def_t *d)
{
  return (int32_t *)(void *)((uint8_t *)p + d->off);
}

void
cc_params_default(cc_params_t *p)
{
  cc_params_load(p, NULL, NULL);
}

void
cc_params_load(cc_params_t *p, cc_param_getter_t get, void *arg)
{
  memset(p, 0, sizeof(*p));
  for (size_t i = 0; i < N_DEFS; i++) {
    const cc_param_def_t *d = &cc_param_defs[i];
    *param_field(p, d) = get ? get(arg, d->name, d->def, d->min, d->max)
                             : d->def;
  }
  cc_params_clamp(p);
}

/* Onion-service path parameters (prop 324 6.5.3): Vegas thresholds and the
 * slow-start cap of a rendezvous circuit. */
static const cc_param_def_t cc_onion_defs[] = {
  { "cc_vegas_alpha_onion", offsetof(cc_params_t, vegas_alpha),
    3 * OUTBUF_CELLS, 0, 1000 },
  { "cc_vegas_beta_onion", offsetof(cc_params_t, vegas_beta),
    7 * OUTBUF_CELLS, 0, 1000 },
  { "cc_vegas_gamma_onion", offsetof(cc_params_t, vegas_gamma),
    5 * OUTBUF_CELLS, 0, 1000 },
  { "cc_vegas_delta_onion", offsetof(cc_params_t, vegas_delta),
    9 * OUTBUF_CELLS, 0, INT32_MAX },
  { "cc_sscap_onion", offsetof(cc_params_t, sscap), 600, 100, INT32_MAX },
};

void
cc_params_load_onion(cc_params_t *p, cc_param_getter_t get, void *arg)
{
  cc_params_load(p, get, arg);
  for (size_t i = 0; i < sizeof(cc_onion_defs) / sizeof(cc_onion_defs[0]);
       i++) {
    const cc_param_def_t *d = &cc_onion_defs[i];
    *param_field(p, d) = get ? get(arg, d->name, d->def, d->min, d->max)
                             : d->def;
  }
  cc_params_clamp(p);
}

void
cc_params_clamp(cc_params_t *p)
{
  for (size_t i = 0; i < N_DEFS; i++) {
    int32_t *v = param_field(p, &cc_param_defs[i]);
    if (*v < cc_param_defs[i].min)
      *v = cc_param_defs[i].min;
    if (*v > cc_param_defs[i].max)
      *v = cc_param_defs[i].max;
  }
  /* 6.5.1: the windows never go below one SENDME increment. */
  if (p->cwnd_min < p->sendme_inc)
    p->cwnd_min = p->sendme_inc;
  if (p->cwnd_init < p->sendme_inc)
    p->cwnd_init = p->sendme_inc;
  if (p->cwnd_max < p->cwnd_min)
    p->cwnd_max = p->cwnd_min;
  if (p->cwnd_init > p->cwnd_max)
    p->cwnd_init = p->cwnd_max;
  if (p->vegas_beta < p->vegas_alpha)
    p->vegas_beta = p->vegas_alpha;
  if (p->vegas_delta < p->vegas_beta)
    p->vegas_delta = p->vegas_beta;
}

/* ---- life cycle ---- */

static uint64_t sendme_per_cwnd(const cc_state_t *cc);
static uint64_t cwnd_update_rate(const cc_state_t *cc);

cc_state_t *
cc_new(const cc_params_t *p, uint8_t sendme_inc)
{
  if (!p || sendme_inc == 0)
    return NULL;
  cc_state_t *cc = al_calloc(1, sizeof(*cc));
  cc->p = *p;
  cc_params_clamp(&cc->p);
  cc->sendme_inc = sendme_inc;
  cc->cwnd = cc->p.cwnd_init;
  if (cc->cwnd < (int64_t)sendme_inc)
    cc->cwnd = sendme_inc;
  cc->in_slow_start = true;
  cc->next_cc_event = cwnd_update_rate(cc);
  cc->next_cwnd_event = sendme_per_cwnd(cc);
  return cc;
}

void
cc_free_(cc_state_t *cc)
{
  if (!cc)
    return;
  if (cc->ring) {
    memwipe(cc->ring, cc->cap * sizeof(*cc->ring));
    al_free(cc->ring);
  }
  memwipe(cc, sizeof(*cc));
  al_free(cc);
}

/* ---- sender ---- */

bool
cc_can_send(const cc_state_t *cc)
{
  return cc->cwnd > (int64_t)cc->inflight;
}

uint64_t
cc_send_room(const cc_state_t *cc)
{
  return cc_can_send(cc) ? (uint64_t)cc->cwnd - cc->inflight : 0;
}

bool
cc_next_sent_needs_digest(const cc_state_t *cc)
{
  return (cc->cells_sent + 1) % cc->sendme_inc == 0;
}

size_t
cc_max_data_len(const cc_state_t *cc, size_t body_max)
{
  /* The cell after an acked one starts a new increment: random padding
   * makes the digest the next SENDME echoes unpredictable (tor-spec 7.3). */
  if (cc->cells_sent % cc->sendme_inc == 0 && body_max > 20)
    return body_max - 20;
  return body_max;
}

static int
ring_push(cc_state_t *cc, const uint8_t *digest, uint64_t now)
{
  if (cc->n == cc->cap) {
    size_t ncap = cc->cap ? cc->cap * 2 : 8;
    cc_pending_t *nr = al_calloc(ncap, sizeof(*nr));
    for (size_t i = 0; i < cc->n; i++)
      nr[i] = cc->ring[(cc->head + i) % cc->cap];
    if (cc->ring) {
      memwipe(cc->ring, cc->cap * sizeof(*cc->ring));
      al_free(cc->ring);
    }
    cc->ring = nr;
    cc->cap = ncap;
    cc->head = 0;
  }
  cc_pending_t *e = &cc->ring[(cc->head + cc->n) % cc->cap];
  memcpy(e->digest, digest, CC_DIGEST_LEN);
  e->sent_usec = now;
  cc->n++;
  return 0;
}

int
cc_note_cell_sent(cc_state_t *cc, uint64_t now_usec, const uint8_t *digest)
{
  if (!cc_can_send(cc))
    return CC_ERR_FULL;
  if (cc_next_sent_needs_digest(cc)) {
    if (!digest)
      return CC_ERR_ARG;
    ring_push(cc, digest, now_usec);
  }
  cc->cells_sent++;
  cc->inflight++;
  return 0;
}

/* ---- RTT (2.1) ---- */

/* CWND_UPDATE_RATE and SENDME_PER_CWND of 3.3. */
static uint64_t
cwnd_update_rate(const cc_state_t *cc)
{
  if (cc->in_slow_start)
    return 1;
  uint64_t per = (uint64_t)cc->p.cwnd_inc_rate * cc->sendme_inc;
  uint64_t cwnd = cc->cwnd > 0 ? (uint64_t)cc->cwnd : 0;
  return (cwnd + per / 2) / per;
}

static uint64_t
sendme_per_cwnd(const cc_state_t *cc)
{
  uint64_t cwnd = cc->cwnd > 0 ? (uint64_t)cc->cwnd : 0;
  return (cwnd + cc->sendme_inc / 2) / cc->sendme_inc;
}

/* N of N_EWMA (2.1.2). */
static uint64_t
ewma_n(const cc_state_t *cc)
{
  if (cc->in_slow_start)
    return (uint64_t)cc->p.ewma_ss;
  uint64_t n = cwnd_update_rate(cc) * (uint64_t)cc->p.ewma_cwnd_pct / 100;
  if (n > (uint64_t)cc->p.ewma_max)
    n = (uint64_t)cc->p.ewma_max;
  return n < 2 ? 2 : n;
}

/* Take an RTT sample; false if it must not be used (stall or jump). */
static bool
rtt_sample(cc_state_t *cc, uint64_t rtt)
{
  if (rtt == 0) {
    cc->clock_stalled = true;
    cc->clock_stalls++;
    return false;
  }
  if (cc->rtt_ewma != 0 && !cc->in_slow_start) {
    if (rtt / CC_CLOCK_JUMP_RATIO > cc->rtt_ewma) {
      cc->clock_jumps++;
      return false;
    }
    if (rtt < cc->rtt_ewma / CC_CLOCK_JUMP_RATIO && cc->clock_stalled) {
      cc->clock_stalls++;
      return false;
    }
  }
  cc->clock_stalled = false;
  if (cc->rtt_ewma == 0) {
    cc->rtt_ewma = rtt;
  } else {
    uint64_t n = ewma_n(cc);
    cc->rtt_ewma = (rtt * 2 + cc->rtt_ewma * (n - 1)) / (n + 1);
  }
  if (cc->rtt_min == 0 || cc->rtt_ewma < cc->rtt_min)
    cc->rtt_min = cc->rtt_ewma;
  if (rtt > cc->rtt_max)
    cc->rtt_max = rtt;
  return true;
}

/* ---- TOR_VEGAS (3.3) ---- */

static int64_t
rfc3742_ss_inc(const cc_state_t *cc)
{
  int64_t inc = (int64_t)cc->sendme_inc;
  if (cc->cwnd <= cc->p.sscap)
    return ((int64_t)cc->p.cwnd_inc_pct_ss * inc + 50) / 100;
  int64_t v = (inc * cc->p.sscap + cc->cwnd) / (2 * cc->cwnd);
  return v < 1 ? 1 : v;
}

static void
vegas_update_full(cc_state_t *cc)
{
  uint64_t gap = (uint64_t)cc->p.cwnd_full_gap * cc->sendme_inc;
  if ((int64_t)(cc->inflight + gap) >= cc->cwnd)
    cc->cwnd_full = true;
  else if ((int64_t)(100 * cc->inflight) <
           (int64_t)cc->p.cwnd_full_minpct * cc->cwnd)
    cc->cwnd_full = false;
}

static void
vegas_slow_start(cc_state_t *cc, int64_t queue_use, bool blocked)
{
  if (queue_use < cc->p.vegas_gamma && !blocked) {
    if (cc->cwnd_full) {
      int64_t inc = rfc3742_ss_inc(cc);
      cc->cwnd += inc;
      if ((uint64_t)inc * sendme_per_cwnd(cc) <=
          (uint64_t)cc->p.cwnd_inc * (uint64_t)cc->p.cwnd_inc_rate)
        cc->in_slow_start = false;
    }
  } else {
    cc->in_slow_start = false;
    cc->cwnd = (int64_t)cc->bdp + cc->p.vegas_gamma;
  }
  if (cc->cwnd >= cc->p.ss_max) {
    cc->cwnd = cc->p.ss_max;
    cc->in_slow_start = false;
  }
}

static void
vegas_steady(cc_state_t *cc, int64_t queue_use, bool blocked)
{
  if (queue_use > cc->p.vegas_delta)
    cc->cwnd = (int64_t)cc->bdp + cc->p.vegas_delta - cc->p.cwnd_inc;
  else if (queue_use > cc->p.vegas_beta || blocked)
    cc->cwnd -= cc->p.cwnd_inc;
  else if (cc->cwnd_full && queue_use < cc->p.vegas_alpha)
    cc->cwnd += cc->p.cwnd_inc;
}

/* Clamp cwnd; at cwnd_min after slow start, pull rtt_min towards the EWMA
 * (3.1.2, cc_rtt_reset_pct) to escape starvation. */
static void
cwnd_clamp(cc_state_t *cc)
{
  if (cc->cwnd <= cc->p.cwnd_min) {
    cc->cwnd = cc->p.cwnd_min;
    if (!cc->in_slow_start && cc->rtt_ewma)
      cc->rtt_min = (cc->p.rtt_reset_pct * cc->rtt_ewma +
                     (100 - (uint64_t)cc->p.rtt_reset_pct) * cc->rtt_min) /
                    100;
  }
  if (cc->cwnd > cc->p.cwnd_max)
    cc->cwnd = cc->p.cwnd_max;
}

static void
vegas_on_ack(cc_state_t *cc, bool usable, bool blocked)
{
  if (cc->next_cc_event)
    cc->next_cc_event--;
  if (cc->next_cwnd_event)
    cc->next_cwnd_event--;
  if (!usable)
    return;
  /* BDP = cwnd * RTT_min / RTT_ewma (3.1.2). */
  uint64_t cwnd = (uint64_t)cc->cwnd;
  cc->bdp = cc->rtt_ewma ? cwnd * cc->rtt_min / cc->rtt_ewma : cwnd;
  int64_t queue_use = cc->bdp > cwnd ? 0 : (int64_t)(cwnd - cc->bdp);
  vegas_update_full(cc);
  if (cc->in_slow_start) {
    vegas_slow_start(cc, queue_use, blocked);
    cwnd_clamp(cc);
  } else if (cc->next_cc_event == 0) {
    vegas_steady(cc, queue_use, blocked);
    cwnd_clamp(cc);
  }
  if (cc->next_cc_event == 0)
    cc->next_cc_event = cwnd_update_rate(cc);
  if (cc->next_cwnd_event == 0)
    cc->next_cwnd_event = sendme_per_cwnd(cc);
  if (cc->p.cwnd_full_per_cwnd) {
    if (cc->next_cwnd_event == sendme_per_cwnd(cc))
      cc->cwnd_full = false;
  } else if (cc->next_cc_event == cwnd_update_rate(cc)) {
    cc->cwnd_full = false;
  }
}

int
cc_note_sendme_received(cc_state_t *cc, uint64_t now_usec,
                        const uint8_t *digest, bool blocked)
{
  if (cc->n == 0 || cc->inflight < cc->sendme_inc)
    return CC_ERR_UNEXPECTED;
  cc_pending_t *e = &cc->ring[cc->head];
  if (!digest || !crypto_memeq(e->digest, digest, CC_DIGEST_LEN))
    return CC_ERR_DIGEST;
  uint64_t sent = e->sent_usec;
  memwipe(e, sizeof(*e));
  cc->head = (cc->head + 1) % cc->cap;
  cc->n--;
  cc->sendmes_received++;
  /* A clock that went backwards is a stall, not a huge RTT. */
  uint64_t rtt = now_usec > sent ? now_usec - sent : 0;
  bool usable = rtt_sample(cc, rtt);
  vegas_on_ack(cc, usable, blocked);
  cc->inflight -= cc->sendme_inc;
  return 0;
}

/* ---- receiver ---- */

int
cc_note_cell_received(cc_state_t *cc)
{
  cc->cells_received++;
  if (++cc->since_sendme < cc->sendme_inc)
    return 0;
  cc->since_sendme = 0;
  cc->sendmes_sent++;
  return 1;
}

void
cc_get_stats(const cc_state_t *cc, cc_stats_t *out)
{
  memset(out, 0, sizeof(*out));
  out->cwnd = cc->cwnd > 0 ? (uint64_t)cc->cwnd : 0;
  out->inflight = cc->inflight;
  out->in_slow_start = cc->in_slow_start;
  out->sendme_inc = (uint8_t)cc->sendme_inc;
  out->rtt_min_usec = cc->rtt_min;
  out->rtt_ewma_usec = cc->rtt_ewma;
  out->rtt_max_usec = cc->rtt_max;
  out->bdp = cc->bdp;
  out->sendmes_received = cc->sendmes_received;
  out->sendmes_sent = cc->sendmes_sent;
  out->cells_sent = cc->cells_sent;
  out->cells_received = cc->cells_received;
  out->clock_stalls = cc->clock_stalls;
  out->clock_jumps = cc->clock_jumps;
  out->pending_digests = cc->n;
}
