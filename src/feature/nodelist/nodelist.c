/* nodelist.c -- the peer database: nodes built from a consensus (dir-spec
 * 3.4.1, both flavours) completed by microdescriptors (dir-spec 3.3) or
 * server descriptors (dir-spec 2.1.1); which nodes are usable (path-spec
 * 2.2, guard-spec 4.12) and which descriptors are missing (dir-spec 5).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "nodelist"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/core/policy/policy.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "nodelist_internal.h"

struct nodelist_t {
  consensus_t *consensus;
  node_t *nodes;               /* sorted by rsa_id (consensus order) */
  size_t n_nodes;
  microdesc_t **mds;           /* mds[i]: descriptor of nodes[i] or NULL */
  routerdesc_t **rds;          /* rds[i]: descriptor of nodes[i] or NULL */
  struct md_index_t *md_index; /* nodes wanting a microdesc, by digest */
  size_t n_md_index;
  bool ctl_attached;           /* nodelist_ctl_attach(): GETINFO and events */
  bool ctl_defer;              /* nodelist_ctl_defer(): NEWDESC held back */
  size_t *ctl_pending;         /* nodes with new descriptors, held back */
  size_t n_pending, cap_pending;
};

typedef struct md_index_t {
  uint8_t digest[32];
  size_t idx;
} md_index_t;

nodelist_t *
nodelist_new(void)
{
  return al_calloc(1, sizeof(nodelist_t));
}

static void
node_clear_descriptor(node_t *n)
{
  node_summary_clear(&n->summary);
  n->has_summary = false;
  policy_free(n->full_policy);
  for (size_t i = 0; i < n->n_family; i++)
    al_free(n->family[i]);
  al_free(n->family);
  n->n_family = 0;
  for (size_t i = 0; i < n->n_family_ids; i++)
    al_free(n->family_ids[i]);
  al_free(n->family_ids);
  n->n_family_ids = 0;
  n->has_ntor_key = false;
  n->has_descriptor = false;
}

static void
node_clear(node_t *n)
{
  node_clear_descriptor(n);
  al_free(n->protocols);
}

static void
nodelist_clear_nodes(nodelist_t *nl)
{
  for (size_t i = 0; i < nl->n_nodes; i++) {
    node_clear(&nl->nodes[i]);
    microdesc_free(nl->mds[i]);
    routerdesc_free(nl->rds[i]);
  }
  al_free(nl->nodes);
  al_free(nl->mds);
  al_free(nl->rds);
  al_free(nl->md_index);
  nl->n_md_index = 0;
  nl->n_nodes = 0;
}

void
nodelist_free_(nodelist_t *nl)
{
  if (!nl)
    return;
  if (nl->ctl_attached)
    nodelist_ctl_detach(nl);
  al_free(nl->ctl_pending);
  nodelist_clear_nodes(nl);
  consensus_free(nl->consensus);
  al_free(nl);
}

static size_t
copy_strings(char ***dst, char *const *src, size_t n)
{
  if (!src || n == 0)
    return 0;
  *dst = al_calloc(n, sizeof(char *));
  for (size_t i = 0; i < n; i++)
    (*dst)[i] = al_strdup(src[i]);
  return n;
}

static void
node_copy_family(node_t *n, char *const *fam, size_t nf)
{
  n->n_family = copy_strings(&n->family, fam, nf);
}

/* Fill the descriptor part of n from a microdescriptor. */
static void
node_apply_microdesc(node_t *n, const microdesc_t *md)
{
  node_clear_descriptor(n);
  memcpy(n->ntor_key, md->ntor_onion_key, 32);
  n->has_ntor_key = true;
  n->has_ed25519_id = md->has_ed25519_id != 0;
  if (md->has_ed25519_id)
    memcpy(n->ed25519_id, md->ed25519_id, 32);
  if (!n->has_ipv6 && md->has_ipv6) {
    n->has_ipv6 = true;
    memcpy(n->ipv6, md->ipv6, 16);
    n->ipv6_port = md->ipv6_port;
  }
  if (md->policy) {
    if (node_summary_parse(md->policy, &n->summary) == 0)
      n->has_summary = true;
    else
      log_info("Unparseable policy summary in a microdescriptor; treating as reject-all.");
  }
  node_copy_family(n, md->family, md->n_family);
  n->n_family_ids = copy_strings(&n->family_ids, md->family_ids, md->n_family_ids);
  if (!n->protocols && md->protocols)
    n->protocols = al_strdup(md->protocols);
  n->has_descriptor = true;
}

/* Fill the descriptor part of n from a server descriptor. */
static void
node_apply_routerdesc(node_t *n, const routerdesc_t *rd)
{
  node_clear_descriptor(n);
  memcpy(n->ntor_key, rd->ntor_onion_key, 32);
  n->has_ntor_key = true;
  n->has_ed25519_id = true;
  memcpy(n->ed25519_id, rd->master_key.pubkey, 32);
  if (!n->has_ipv6 && rd->has_ipv6) {
    n->has_ipv6 = true;
    memcpy(n->ipv6, rd->ipv6, 16);
    n->ipv6_port = rd->ipv6_port;
  }
  n->full_policy = node_policy_from_routerdesc(rd);
  if (n->full_policy) {
    /* The summary is only a fallback description here. */
    if (node_summary_from_policy(n->full_policy, &n->summary) == 0)
      n->has_summary = true;
  }
  node_copy_family(n, rd->family, rd->n_family);
  if (!n->protocols && rd->protocols)
    n->protocols = al_strdup(rd->protocols);
  n->has_descriptor = true;
}

static void
node_init_from_router(node_t *n, const consensus_router_t *r, bool md_flavor)
{
  memset(n, 0, sizeof(*n));
  memcpy(n->rsa_id, r->identity, 20);
  memcpy(n->nickname, r->nickname, sizeof(n->nickname));
  n->nickname[sizeof(n->nickname) - 1] = '\0';
  memcpy(n->ipv4, r->ipv4, 4);
  n->orport = r->orport;
  if (r->has_ipv6) {
    n->has_ipv6 = true;
    memcpy(n->ipv6, r->ipv6, 16);
    n->ipv6_port = r->ipv6_port;
  }
  n->flags = r->flags;
  n->has_bandwidth = r->has_bandwidth != 0;
  n->bandwidth = r->has_bandwidth ? r->bandwidth : 0;
  n->bw_measured = r->has_bandwidth && !r->unmeasured;
  if (r->protocols)
    n->protocols = al_strdup(r->protocols);
  if (md_flavor) {
    n->has_md_digest = r->has_md_digest != 0;
    memcpy(n->md_digest, r->md_digest, 32);
  } else {
    memcpy(n->desc_digest, r->desc_digest, 20);
  }
}

/* The consensus p line (ns flavour) is the node's summary until a
 * descriptor gives a full policy. */
static void
node_apply_consensus_summary(node_t *n, const consensus_router_t *r)
{
  if (!r->policy_summary || n->has_summary)
    return;
  if (node_summary_parse(r->policy_summary, &n->summary) == 0)
    n->has_summary = true;
}

static int
cmp_md_index(const void *a, const void *b)
{
  const md_index_t *x = a, *y = b;
  int c = memcmp(x->digest, y->digest, 32);
  if (c)
    return c;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void
nodelist_index_md(nodelist_t *nl)
{
  al_free(nl->md_index);
  nl->md_index = al_calloc(nl->n_nodes ? nl->n_nodes : 1, sizeof(md_index_t));
  size_t k = 0;
  for (size_t i = 0; i < nl->n_nodes; i++) {
    if (!nl->nodes[i].has_md_digest)
      continue;
    memcpy(nl->md_index[k].digest, nl->nodes[i].md_digest, 32);
    nl->md_index[k++].idx = i;
  }
  nl->n_md_index = k;
  qsort(nl->md_index, k, sizeof(md_index_t), cmp_md_index);
}

/* Index of the first node wanting microdesc digest d, or SIZE_MAX. */
static size_t
nodelist_md_lookup(const nodelist_t *nl, const uint8_t d[32])
{
  size_t lo = 0, hi = nl->n_md_index;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (memcmp(nl->md_index[mid].digest, d, 32) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < nl->n_md_index && memcmp(nl->md_index[lo].digest, d, 32) == 0)
    return nl->md_index[lo].idx;
  return SIZE_MAX;
}

/* Move to nodes[i] the descriptor that the previous node list (old) held
 * and that the new entry still names (old slot set to NULL). */
static void
nodelist_carry_descriptor(nodelist_t *nl, size_t i, nodelist_t *old)
{
  node_t *n = &nl->nodes[i];
  if (n->has_md_digest) {
    size_t j = nodelist_md_lookup(old, n->md_digest);
    if (j != SIZE_MAX && old->mds[j]) {
      nl->mds[i] = old->mds[j];
      old->mds[j] = NULL;
      node_apply_microdesc(n, nl->mds[i]);
    }
    return;
  }
  const node_t *on = nodelist_find_by_rsa_id(old, n->rsa_id);
  if (!on)
    return;
  size_t j = (size_t)(on - old->nodes);
  if (old->rds[j] && memcmp(old->rds[j]->digest, n->desc_digest, 20) == 0) {
    nl->rds[i] = old->rds[j];
    old->rds[j] = NULL;
    node_apply_routerdesc(n, nl->rds[i]);
  }
}

static int
cmp_router_ptr(const void *a, const void *b)
{
  const consensus_router_t *ra = *(const consensus_router_t *const *)a;
  const consensus_router_t *rb = *(const consensus_router_t *const *)b;
  return memcmp(ra->identity, rb->identity, 20);
}

/* Publish the NEWDESC held back by nodelist_ctl_defer(). */
static void
nodelist_flush_pending(nodelist_t *nl)
{
  if (nl->n_pending && nl->ctl_attached)
    nodelist_ctl_on_descriptors(nl, nl->ctl_pending, nl->n_pending);
  nl->n_pending = 0;
}

/* New descriptors for nodes idx[0..n): tell the control bus now, or
 * later when deferred. */
static void
nodelist_note_descriptors(nodelist_t *nl, const size_t *idx, size_t n)
{
  if (!nl->ctl_attached || n == 0)
    return;
  if (!nl->ctl_defer) {
    nodelist_ctl_on_descriptors(nl, idx, n);
    return;
  }
  if (nl->n_pending + n > nl->cap_pending) {
    size_t cap = nl->cap_pending ? nl->cap_pending : 64;
    while (cap < nl->n_pending + n)
      cap *= 2;
    nl->ctl_pending = al_reallocarray(nl->ctl_pending, cap, sizeof(size_t));
    nl->cap_pending = cap;
  }
  memcpy(nl->ctl_pending + nl->n_pending, idx, n * sizeof(size_t));
  nl->n_pending += n;
}

void
nodelist_ctl_defer(nodelist_t *nl, bool on)
{
  if (!nl)
    return;
  nl->ctl_defer = on;
  if (!on)
    nodelist_flush_pending(nl);
}

int
nodelist_set_consensus(nodelist_t *nl, consensus_t *c)
{
  if (!nl || !c)
    return NODELIST_ERR_INVAL;
  nodelist_flush_pending(nl);   /* their indexes die with the old nodes */
  nodelist_t old = *nl;
  bool md_flavor = c->flavor == CONSENSUS_FLAVOR_MICRODESC;

  size_t cnt = c->n_routers ? c->n_routers : 1;
  nl->n_nodes = c->n_routers;
  nl->nodes = al_calloc(cnt, sizeof(node_t));
  nl->mds = al_calloc(cnt, sizeof(microdesc_t *));
  nl->rds = al_calloc(cnt, sizeof(routerdesc_t *));
  nl->md_index = NULL;
  nl->n_md_index = 0;
  /* Nodes sorted by RSA id whatever the order of the entries. */
  const consensus_router_t **ord = al_calloc(cnt, sizeof(*ord));
  for (size_t i = 0; i < c->n_routers; i++)
    ord[i] = &c->routers[i];
  qsort(ord, c->n_routers, sizeof(*ord), cmp_router_ptr);
  for (size_t i = 0; i < c->n_routers; i++) {
    node_init_from_router(&nl->nodes[i], ord[i], md_flavor);
    nodelist_carry_descriptor(nl, i, &old);
    if (!md_flavor)
      node_apply_consensus_summary(&nl->nodes[i], ord[i]);
  }
  al_free(ord);
  nodelist_index_md(nl);
  nodelist_clear_nodes(&old);
  consensus_t *prev = nl->consensus;
  nl->consensus = c;
  if (nl->ctl_attached)
    nodelist_ctl_on_consensus(nl, prev);
  consensus_free(prev);
  return 0;
}

const consensus_t *
nodelist_get_consensus(const nodelist_t *nl)
{
  return nl ? nl->consensus : NULL;
}

/* Attach md to the node that wants it; *idx receives its index. */
static int
add_microdesc_at(nodelist_t *nl, microdesc_t *md, size_t *idx)
{
  if (!nl || !md) {
    microdesc_free(md);
    return NODELIST_ERR_INVAL;
  }
  size_t i = nodelist_md_lookup(nl, md->digest);
  if (i != SIZE_MAX) {
    node_t *n = &nl->nodes[i];
    if (md->has_rsa_id && memcmp(md->rsa_id, n->rsa_id, 20) != 0)
      log_info("Microdescriptor \"id rsa1024\" differs from its consensus entry.");
    microdesc_free(nl->mds[i]);
    nl->mds[i] = md;
    node_apply_microdesc(n, md);
    /* Several entries may (wrongly) name the same digest: only the first
     * gets it, since the microdesc is owned once. */
    *idx = i;
    return 0;
  }
  microdesc_free(md);
  return NODELIST_ERR_NOMATCH;
}

int
nodelist_add_microdesc(nodelist_t *nl, microdesc_t *md)
{
  size_t i;
  int r = add_microdesc_at(nl, md, &i);
  if (r == 0)
    nodelist_note_descriptors(nl, &i, 1);
  return r;
}

size_t
nodelist_add_microdescs(nodelist_t *nl, microdesc_t **mds, size_t n)
{
  size_t added = 0;
  size_t *idx = al_calloc(n ? n : 1, sizeof(*idx));
  for (size_t i = 0; i < n; i++)
    if (add_microdesc_at(nl, mds[i], &idx[added]) == 0)
      added++;
  al_free(mds);
  if (nl)
    nodelist_note_descriptors(nl, idx, added);
  al_free(idx);
  return added;
}

/* Attach rd to the node whose entry names it; *idx receives its index. */
static int
add_routerdesc_at(nodelist_t *nl, routerdesc_t *rd, size_t *idx)
{
  if (!nl || !rd) {
    routerdesc_free(rd);
    return NODELIST_ERR_INVAL;
  }
  node_t *n = (node_t *)nodelist_find_by_rsa_id(nl, rd->rsa_id);
  if (!n || n->has_md_digest || memcmp(n->desc_digest, rd->digest, 20) != 0) {
    routerdesc_free(rd);
    return NODELIST_ERR_NOMATCH;
  }
  size_t i = (size_t)(n - nl->nodes);
  routerdesc_free(nl->rds[i]);
  nl->rds[i] = rd;
  node_apply_routerdesc(n, rd);
  *idx = i;
  return 0;
}

int
nodelist_add_routerdesc(nodelist_t *nl, routerdesc_t *rd)
{
  size_t i;
  int r = add_routerdesc_at(nl, rd, &i);
  if (r == 0)
    nodelist_note_descriptors(nl, &i, 1);
  return r;
}

size_t
nodelist_add_routerdescs(nodelist_t *nl, routerdesc_t **rds, size_t n)
{
  size_t added = 0;
  size_t *idx = al_calloc(n ? n : 1, sizeof(*idx));
  for (size_t i = 0; i < n; i++)
    if (add_routerdesc_at(nl, rds[i], &idx[added]) == 0)
      added++;
  al_free(rds);
  if (nl)
    nodelist_note_descriptors(nl, idx, added);
  al_free(idx);
  return added;
}

size_t
nodelist_n_nodes(const nodelist_t *nl)
{
  return nl ? nl->n_nodes : 0;
}

const node_t *
nodelist_get_node(const nodelist_t *nl, size_t i)
{
  if (!nl || i >= nl->n_nodes)
    return NULL;
  return &nl->nodes[i];
}

const node_t *
nodelist_find_by_rsa_id(const nodelist_t *nl, const uint8_t id[20])
{
  if (!nl || !id)
    return NULL;
  /* nodes[] is sorted by RSA id (nodelist_set_consensus sorts it). */
  size_t lo = 0, hi = nl->n_nodes;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(nl->nodes[mid].rsa_id, id, 20);
    if (c == 0)
      return &nl->nodes[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const node_t *
nodelist_find_by_ed25519_id(const nodelist_t *nl, const uint8_t id[32])
{
  if (!nl || !id)
    return NULL;
  for (size_t i = 0; i < nl->n_nodes; i++)
    if (nl->nodes[i].has_ed25519_id && memcmp(nl->nodes[i].ed25519_id, id, 32) == 0)
      return &nl->nodes[i];
  return NULL;
}

const node_t *
nodelist_find_by_nickname(const nodelist_t *nl, const char *nick)
{
  if (!nl || !nick)
    return NULL;
  for (size_t i = 0; i < nl->n_nodes; i++)
    if (strcasecmp(nl->nodes[i].nickname, nick) == 0)
      return &nl->nodes[i];
  return NULL;
}

void
nodelist_get_missing_descriptors(const nodelist_t *nl, uint8_t **out, size_t *n,
                                 size_t *digest_len)
{
  *out = NULL;
  *n = 0;
  *digest_len = 0;
  if (!nl || !nl->consensus)
    return;
  bool md = nl->consensus->flavor == CONSENSUS_FLAVOR_MICRODESC;
  size_t dl = md ? 32 : 20;
  *digest_len = dl;
  size_t count = 0;
  for (size_t i = 0; i < nl->n_nodes; i++)
    if (!nl->nodes[i].has_descriptor && (!md || nl->nodes[i].has_md_digest))
      count++;
  if (count == 0)
    return;
  uint8_t *buf = al_malloc(count * dl);
  size_t k = 0;
  for (size_t i = 0; i < nl->n_nodes; i++) {
    const node_t *nd = &nl->nodes[i];
    if (nd->has_descriptor || (md && !nd->has_md_digest))
      continue;
    memcpy(buf + k * dl, md ? nd->md_digest : nd->desc_digest, dl);
    k++;
  }
  *out = buf;
  *n = count;
}

bool
nodelist_consensus_is_live(const nodelist_t *nl, time_t now)
{
  if (!nl || !nl->consensus)
    return false;
  return nl->consensus->valid_after <= now &&
         now <= nl->consensus->valid_until + 24 * 60 * 60;
}

double
nodelist_descriptor_fraction(const nodelist_t *nl)
{
  if (!nl || nl->n_nodes == 0)
    return 0.0;
  size_t have = 0;
  for (size_t i = 0; i < nl->n_nodes; i++)
    if (nl->nodes[i].has_descriptor)
      have++;
  return (double)have / (double)nl->n_nodes;
}

int32_t
nodelist_get_param(const nodelist_t *nl, const char *name, int32_t def,
                   int32_t min, int32_t max)
{
  if (!nl || !nl->consensus) {
    if (def < min)
      return min;
    return def > max ? max : def;
  }
  return consensus_get_param(nl->consensus, name, def, min, max);
}

int32_t
nodelist_get_bw_weight(const nodelist_t *nl, const char *name, int32_t def)
{
  if (!nl || !nl->consensus)
    return def;
  return consensus_get_bw_weight(nl->consensus, name, def);
}

bool
node_is_usable(const node_t *n)
{
  uint32_t need = NODE_FLAG_RUNNING | NODE_FLAG_VALID;
  return n && (n->flags & need) == need && n->has_descriptor && n->has_ntor_key;
}

void
node_format_rsa_id(const uint8_t id[20], char buf[41])
{
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < 20; i++) {
    buf[2 * i] = hex[id[i] >> 4];
    buf[2 * i + 1] = hex[id[i] & 15];
  }
  buf[40] = '\0';
}

const microdesc_t *
nodelist_node_microdesc(const nodelist_t *nl, size_t i)
{
  return nl && i < nl->n_nodes ? nl->mds[i] : NULL;
}

void
nodelist_set_ctl_attached(nodelist_t *nl, bool on)
{
  if (nl)
    nl->ctl_attached = on;
}

bool
nodelist_ctl_is_attached(const nodelist_t *nl)
{
  return nl && nl->ctl_attached;
}
