/* node_policy.c -- per-node predicates: exit-policy checks with the
 * consensus/microdesc summary (dir-spec 3.8.2, "p" lines) or the full
 * descriptor policy (dir-spec 2.1.3, path-spec 2.2.1 "might support"),
 * the family relation (mutual "family" lines, path-spec 2.2, or a shared
 * "family-ids" entry, proposal 321) and the /16 rule (path-spec 2.2).
 */
#include <string.h>
#include <strings.h>

#define LOG_MODULE "nodelist"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/core/policy/policy.h"
#include "allium/lib/log/log.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "nodelist_internal.h"

static void
summary_copy(const policy_summary_t *ps, node_summary_t *out)
{
  out->accept = ps->accept;
  out->n = ps->n;
  out->ranges = al_calloc(ps->n ? ps->n : 1, sizeof(node_port_range_t));
  for (size_t i = 0; i < ps->n; i++) {
    out->ranges[i].lo = ps->ranges[i].lo;
    out->ranges[i].hi = ps->ranges[i].hi;
  }
}

int
node_summary_parse(const char *s, node_summary_t *out)
{
  memset(out, 0, sizeof(*out));
  if (!s)
    return -1;
  policy_summary_t *ps = al_malloc(sizeof(*ps));
  int r = policy_summary_parse(s, strlen(s), ps);
  if (r == 0)
    summary_copy(ps, out);
  al_free(ps);
  return r == 0 ? 0 : -1;
}

int
node_summary_from_policy(const policy_t *p, node_summary_t *out)
{
  memset(out, 0, sizeof(*out));
  policy_summary_t *ps = al_malloc(sizeof(*ps));
  int r = policy_summarize(p, 4, ps);
  if (r == 0)
    summary_copy(ps, out);
  al_free(ps);
  return r == 0 ? 0 : -1;
}

void
node_summary_clear(node_summary_t *s)
{
  al_free(s->ranges);
  s->n = 0;
  s->accept = false;
}

policy_t *
node_policy_from_routerdesc(const routerdesc_t *rd)
{
  policy_t *p = policy_new();
  for (size_t i = 0; i < rd->n_policy; i++) {
    char *line = al_asprintf("%s %s", rd->policy[i].accept ? "accept" : "reject",
                             rd->policy[i].pattern ? rd->policy[i].pattern : "");
    policy_entry_t e;
    int r = policy_entry_parse(line, strlen(line), &e);
    al_free(line);
    if (r != 0) {
      log_info("Unparseable exit policy line in a descriptor; treating as reject-all.");
      policy_free(p);
      return NULL;
    }
    policy_append(p, &e);
  }
  return p;
}

static bool
summary_allows(const node_summary_t *s, uint16_t port)
{
  bool in = false;
  for (size_t i = 0; i < s->n; i++) {
    if (port >= s->ranges[i].lo && port <= s->ranges[i].hi) {
      in = true;
      break;
    }
  }
  return s->accept ? in : !in;
}

bool
node_policy_rejects_all(const node_t *n)
{
  if (!n)
    return true;
  /* With a full policy, the summary was computed from it (dir-spec 3.8.2). */
  if (!n->has_summary)
    return true;
  if (n->summary.accept)
    return n->summary.n == 0;
  /* reject list: rejects all iff it covers 1-65535 */
  return n->summary.n == 1 && n->summary.ranges[0].lo <= 1 &&
         n->summary.ranges[0].hi == 65535;
}

bool
node_allows_exit_port(const node_t *n, uint16_t port)
{
  if (!n)
    return false;
  if (port == 0)
    return !node_policy_rejects_all(n);
  if (n->full_policy) {
    policy_result_t r = policy_eval(n->full_policy, NULL, port);
    return r == POLICY_RESULT_ACCEPTED || r == POLICY_RESULT_PROBABLY_ACCEPTED;
  }
  if (!n->has_summary)
    return false;
  return summary_allows(&n->summary, port);
}

/* Decode exactly 40 hex digits at s into out.  0 or -1. */
int
node_parse_hex_id(const char *s, size_t len, uint8_t out[20])
{
  return base16_decode_exact(out, 20, s, len);
}

bool
node_family_entry_matches(const char *ent, const node_t *n)
{
  if (!ent || !n)
    return false;
  if (ent[0] == '$') {
    size_t hexlen = strcspn(ent + 1, "=~");
    uint8_t id[20];
    if (node_parse_hex_id(ent + 1, hexlen, id) != 0)
      return false;
    return memcmp(id, n->rsa_id, 20) == 0;
  }
  return n->nickname[0] && strcasecmp(ent, n->nickname) == 0;
}

static bool
node_lists(const node_t *a, const node_t *b)
{
  for (size_t i = 0; i < a->n_family; i++)
    if (node_family_entry_matches(a->family[i], b))
      return true;
  return false;
}

/* Do a and b name a common family id (proposal 321, "Client behavior")? */
static bool
nodes_share_family_id(const node_t *a, const node_t *b)
{
  for (size_t i = 0; i < a->n_family_ids; i++)
    for (size_t j = 0; j < b->n_family_ids; j++)
      if (strcmp(a->family_ids[i], b->family_ids[j]) == 0)
        return true;
  return false;
}

bool
nodes_in_same_family(const node_t *a, const node_t *b)
{
  if (!a || !b)
    return false;
  return (node_lists(a, b) && node_lists(b, a)) || nodes_share_family_id(a, b);
}

bool
nodes_in_same_subnet(const node_t *a, const node_t *b)
{
  if (!a || !b)
    return false;
  static const uint8_t zero4[4] = {0, 0, 0, 0};
  if (memcmp(a->ipv4, zero4, 4) != 0 && memcmp(a->ipv4, b->ipv4, 2) == 0)
    return true;
  if (a->has_ipv6 && b->has_ipv6 && memcmp(a->ipv6, b->ipv6, 4) == 0)
    return true;
  return false;
}

bool
nodes_are_related(const node_t *a, const node_t *b, bool enforce_distinct_subnets)
{
  if (!a || !b)
    return false;
  if (a == b || memcmp(a->rsa_id, b->rsa_id, 20) == 0)
    return true;
  if (nodes_in_same_family(a, b))
    return true;
  return enforce_distinct_subnets && nodes_in_same_subnet(a, b);
}
