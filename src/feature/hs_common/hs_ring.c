/* hs_ring.c -- the HSDir hash ring (rend-spec-v3 2.2.1, 2.2.3, 2.2.4,
 * 2.3.1; param-spec hsdir_n_replicas / hsdir_spread_* / hsdir-interval).
 * See hs_ring.h.  Pure: no clock, no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "allium/core/circuit/congestion_codec.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/hs_common/hs_ring.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

typedef struct hs_ring_entry_t {
  uint8_t index[HS_DIGEST_LEN];
  const node_t *node;
} hs_ring_entry_t;

struct hs_ring_t {
  size_t n;
  hs_ring_entry_t *e;
};

void
hs_ring_params_from_consensus(const consensus_t *c, bool testing_network,
                              hs_ring_params_t *out)
{
  memset(out, 0, sizeof(*out));
  uint64_t vi = 3600;
  if (c && c->fresh_until > c->valid_after)
    vi = (uint64_t)(c->fresh_until - c->valid_after);
  out->voting_interval = vi;
  out->rotation_offset = (vi * (HS_RING_SR_ROUNDS / 2)) / 60;
  if (testing_network) {
    out->period_length = (vi * HS_RING_SR_ROUNDS) / 60;
    if (out->period_length == 0)
      out->period_length = 1;
  } else {
    out->period_length = (uint64_t)consensus_get_param(
        c, "hsdir-interval", HS_DEFAULT_PERIOD_LENGTH, HS_RING_PERIOD_MIN,
        HS_RING_PERIOD_MAX);
  }
  out->n_replicas = consensus_get_param(c, "hsdir_n_replicas",
                                        HS_RING_N_REPLICAS_DEFAULT, 1, 16);
  out->spread_fetch = consensus_get_param(c, "hsdir_spread_fetch",
                                          HS_RING_SPREAD_FETCH_DEFAULT, 1, 128);
  out->spread_store = consensus_get_param(c, "hsdir_spread_store",
                                          HS_RING_SPREAD_STORE_DEFAULT, 1, 128);
}

uint64_t
hs_ring_time_period(const hs_ring_params_t *p, time_t valid_after)
{
  return hs_time_period_num((int64_t)valid_after, p->period_length,
                            p->rotation_offset);
}

bool
hs_ring_in_tp_to_srv(const hs_ring_params_t *p, time_t valid_after)
{
  if (valid_after < 0 || p->voting_interval == 0)
    return true;
  uint64_t va = (uint64_t)valid_after;
  uint64_t run = p->voting_interval * HS_RING_SR_ROUNDS;
  uint64_t srv_start = va - va % run;           /* this run's new SRV */
  int64_t tp_start = hs_time_period_next_start((int64_t)srv_start,
                                               p->period_length,
                                               p->rotation_offset);
  /* From the new SRV up to the next period start: "=" segment. */
  if (va >= srv_start && (int64_t)va < tp_start)
    return false;
  return true;
}

void
hs_ring_srv(uint8_t out[32], const consensus_t *c, bool use_current,
            uint64_t tp, const hs_ring_params_t *p)
{
  if (c && use_current && c->has_srv_current) {
    memcpy(out, c->srv_current, 32);
    return;
  }
  if (c && !use_current && c->has_srv_previous) {
    memcpy(out, c->srv_previous, 32);
    return;
  }
  (void)hs_disaster_srv(out, p->period_length, tp);
}

void
hs_ring_fetch_tp_srv(const consensus_t *c, const hs_ring_params_t *p,
                     uint64_t *tp_out, uint8_t srv_out[32])
{
  time_t va = c ? c->valid_after : 0;
  uint64_t tp = hs_ring_time_period(p, va);
  *tp_out = tp;
  hs_ring_srv(srv_out, c, hs_ring_in_tp_to_srv(p, va), tp, p);
}

void
hs_ring_store_tp_srv(const consensus_t *c, const hs_ring_params_t *p,
                     bool second, uint64_t *tp_out, uint8_t srv_out[32])
{
  time_t va = c ? c->valid_after : 0;
  uint64_t tp = hs_ring_time_period(p, va);
  bool tp_to_srv = hs_ring_in_tp_to_srv(p, va);
  if (!second) {
    if (tp_to_srv && tp > 0)
      tp--;
    hs_ring_srv(srv_out, c, false, tp, p);
  } else {
    if (!tp_to_srv)
      tp++;
    hs_ring_srv(srv_out, c, true, tp, p);
  }
  *tp_out = tp;
}

bool
hs_ring_node_is_hsdir(const node_t *n)
{
  if (!n || !(n->flags & NODE_FLAG_HSDIR) || !n->has_ed25519_id)
    return false;
  if (n->protocols && !cc_protover_has(n->protocols, "HSDir", 2))
    return false;
  return true;
}

static int
entry_cmp(const void *a, const void *b)
{
  const hs_ring_entry_t *x = a, *y = b;
  int r = memcmp(x->index, y->index, HS_DIGEST_LEN);
  if (r)
    return r;
  /* Equal indices (never in practice): a stable order by identity. */
  return memcmp(x->node->ed25519_id, y->node->ed25519_id, 32);
}

hs_ring_t *
hs_ring_build(const node_t *const *nodes, size_t n, const uint8_t srv[32],
              uint64_t tp, const hs_ring_params_t *p)
{
  if ((!nodes && n) || !srv || !p)
    return NULL;
  hs_ring_t *r = al_calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  if (n) {
    r->e = al_calloc(n, sizeof(*r->e));
    if (!r->e) {
      al_free(r);
      return NULL;
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (!hs_ring_node_is_hsdir(nodes[i]))
      continue;
    ed25519_public_key_t id;
    memcpy(id.pubkey, nodes[i]->ed25519_id, 32);
    if (hs_build_hsdir_index(r->e[r->n].index, &id, srv, tp,
                             p->period_length) != 0)
      continue;
    r->e[r->n++].node = nodes[i];
  }
  if (r->n > 1)
    qsort(r->e, r->n, sizeof(*r->e), entry_cmp);
  return r;
}

hs_ring_t *
hs_ring_build_from_nodelist(const nodelist_t *nl, const uint8_t srv[32],
                            uint64_t tp, const hs_ring_params_t *p)
{
  if (!nl)
    return NULL;
  size_t n = nodelist_n_nodes(nl);
  const node_t **v = al_calloc(n ? n : 1, sizeof(*v));
  if (!v)
    return NULL;
  for (size_t i = 0; i < n; i++)
    v[i] = nodelist_get_node(nl, i);
  hs_ring_t *r = hs_ring_build(v, n, srv, tp, p);
  al_free(v);
  return r;
}

void
hs_ring_free_(hs_ring_t *r)
{
  if (!r)
    return;
  al_free(r->e);
  al_free(r);
}

size_t
hs_ring_size(const hs_ring_t *r)
{
  return r ? r->n : 0;
}

const node_t *
hs_ring_node(const hs_ring_t *r, size_t i, uint8_t index_out[32])
{
  if (!r || i >= r->n)
    return NULL;
  if (index_out)
    memcpy(index_out, r->e[i].index, HS_DIGEST_LEN);
  return r->e[i].node;
}

/* First ring position whose index is >= target (r->n if none). */
static size_t
ring_lower_bound(const hs_ring_t *r, const uint8_t target[HS_DIGEST_LEN])
{
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (memcmp(r->e[mid].index, target, HS_DIGEST_LEN) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool
already_chosen(const node_t **out, size_t n, const node_t *node)
{
  for (size_t i = 0; i < n; i++)
    if (out[i] == node)
      return true;
  return false;
}

size_t
hs_ring_responsible(const hs_ring_t *r, const ed25519_public_key_t *blinded,
                    uint64_t tp, const hs_ring_params_t *p, int spread,
                    const node_t **out, size_t max)
{
  if (!r || !blinded || !p || !out || r->n == 0 || spread <= 0)
    return 0;
  size_t n_out = 0;
  for (int replica = 1; replica <= p->n_replicas; replica++) {
    uint8_t target[HS_DIGEST_LEN];
    if (hs_build_hs_index(target, blinded, (uint64_t)replica,
                          p->period_length, tp) != 0)
      continue;
    size_t pos = ring_lower_bound(r, target);
    int added = 0;
    for (size_t step = 0; step < r->n && added < spread; step++) {
      const node_t *node = r->e[(pos + step) % r->n].node;
      if (already_chosen(out, n_out, node))
        continue;
      if (n_out == max)
        return n_out;
      out[n_out++] = node;
      added++;
    }
  }
  return n_out;
}
