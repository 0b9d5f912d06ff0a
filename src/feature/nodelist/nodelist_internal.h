/* nodelist_internal.h -- helpers shared by the nodelist sources (not for
 * other modules). */
#ifndef ALLIUM_FEATURE_NODELIST_NODELIST_INTERNAL_H
#define ALLIUM_FEATURE_NODELIST_NODELIST_INTERNAL_H

#include "allium/feature/nodelist/nodelist.h"

/** Parse a "accept|reject PortList" summary into out (ranges allocated;
 * free with node_summary_clear).  0 or -1 (out left empty). */
int node_summary_parse(const char *s, node_summary_t *out);
/** Summarize a full IPv4 policy into out.  0 or -1. */
int node_summary_from_policy(const struct policy_t *p, node_summary_t *out);
void node_summary_clear(node_summary_t *s);
/** The exit policy of a server descriptor as a policy_t, or NULL if a line
 * does not parse (the node is then treated as reject-all). Caller frees. */
struct policy_t *node_policy_from_routerdesc(const routerdesc_t *rd);

/** Decode exactly 40 hex digits (len must be 40) into out.  0 or -1. */
int node_parse_hex_id(const char *s, size_t len, uint8_t out[20]);

#endif
