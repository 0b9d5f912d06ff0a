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

/* --- the control-port view (nodelist_ctl.c) --- */

/** The microdescriptor attached to node i, or NULL. */
const microdesc_t *nodelist_node_microdesc(const nodelist_t *nl, size_t i);
/** Mark nl as attached to the control bus (nodelist_ctl_attach/detach). */
void nodelist_set_ctl_attached(nodelist_t *nl, bool on);
bool nodelist_ctl_is_attached(const nodelist_t *nl);
/** nl took a new consensus (prev: the one it replaced, or NULL): publish
 * NS (the entries that changed) and NEWCONSENSUS when wanted. */
void nodelist_ctl_on_consensus(const nodelist_t *nl, const consensus_t *prev);
/** Descriptors were attached to nodes idx[0..n): publish NEWDESC when
 * wanted. */
void nodelist_ctl_on_descriptors(const nodelist_t *nl, const size_t *idx,
                                 size_t n);
/** A multi-line event: "650+name" CRLF, each LF-separated line of text
 * with CRLF (a leading "." doubled), "." CRLF, "650 OK" CRLF.  New string
 * (al_free), its length in *len. */
char *nodelist_ctl_frame_event(const char *name, const char *text, size_t *len);

#endif
