/* nodelist.h -- the client's peer database: one node_t per relay of the
 * current consensus, completed by its microdescriptor (microdesc flavour,
 * dir-spec 3.3 / 3.9.2) or server descriptor (ns flavour, dir-spec 2.1.1).
 *
 * A node is "usable" for circuits when the consensus lists it Running and
 * Valid and we hold a descriptor for it (which gives the ntor onion key);
 * path-spec 2.1.0 / 2.2, guard-spec 4.12.
 *
 * The family relation (path-spec 2.2): two nodes are in the same family when
 * each lists the other in its "family" line (by "$fingerprint", optionally
 * followed by "=nick" or "~nick", or by nickname), or when their
 * microdescriptors' "family-ids" lines share an entry (proposal 321, happy
 * families: the authorities only list a family id whose certificate the
 * relay proved).  nodes_are_related() also treats two nodes whose IPv4 (or
 * IPv6 /32) addresses share a /16 as related unless enforce_distinct_subnets
 * is 0 (EnforceDistinctSubnets).
 *
 * node_t fields are public for reading; only this module changes them.
 */
#ifndef ALLIUM_FEATURE_NODELIST_NODELIST_H
#define ALLIUM_FEATURE_NODELIST_NODELIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/microdesc.h"
#include "allium/feature/dirparse/routerdesc.h"

/* Node flags: the consensus "s" flags (same bit values). */
#define NODE_FLAG_AUTHORITY   CONSENSUS_FLAG_AUTHORITY
#define NODE_FLAG_BADEXIT     CONSENSUS_FLAG_BADEXIT
#define NODE_FLAG_EXIT        CONSENSUS_FLAG_EXIT
#define NODE_FLAG_FAST        CONSENSUS_FLAG_FAST
#define NODE_FLAG_GUARD       CONSENSUS_FLAG_GUARD
#define NODE_FLAG_HSDIR       CONSENSUS_FLAG_HSDIR
#define NODE_FLAG_MIDDLEONLY  CONSENSUS_FLAG_MIDDLEONLY
#define NODE_FLAG_RUNNING     CONSENSUS_FLAG_RUNNING
#define NODE_FLAG_STABLE      CONSENSUS_FLAG_STABLE
#define NODE_FLAG_STALEDESC   CONSENSUS_FLAG_STALEDESC
#define NODE_FLAG_V2DIR       CONSENSUS_FLAG_V2DIR
#define NODE_FLAG_VALID       CONSENSUS_FLAG_VALID

/* Error codes. */
#define NODELIST_ERR_INVAL    (-1)   /* bad argument */
#define NODELIST_ERR_NOMATCH  (-2)   /* descriptor not wanted by the consensus */

/** A port-list exit-policy summary ("accept 80,443"), compact form. */
typedef struct node_port_range_t {
  uint16_t lo, hi;
} node_port_range_t;

typedef struct node_summary_t {
  bool accept;                 /* true: ranges accepted; false: rejected */
  size_t n;
  node_port_range_t *ranges;   /* owned, sorted */
} node_summary_t;

struct policy_t;

typedef struct node_t {
  uint8_t rsa_id[20];
  bool has_ed25519_id;
  uint8_t ed25519_id[32];
  char nickname[20];
  uint8_t ipv4[4];
  uint16_t orport;
  bool has_ipv6;
  uint8_t ipv6[16];
  uint16_t ipv6_port;
  uint32_t flags;              /* NODE_FLAG_* */
  bool has_bandwidth;
  bool bw_measured;            /* false if the consensus said Unmeasured=1 */
  uint32_t bandwidth;          /* consensus weight (kilobytes/s) */
  bool has_summary;            /* summary valid (else: reject all) */
  node_summary_t summary;      /* IPv4 exit policy summary */
  struct policy_t *full_policy;/* from a server descriptor, or NULL; owned */
  char **family;               /* "family" entries, owned copies */
  size_t n_family;
  char **family_ids;           /* microdesc "family-ids" entries, owned */
  size_t n_family_ids;
  bool has_ntor_key;
  uint8_t ntor_key[32];        /* curve25519 ntor onion key */
  char *protocols;             /* "pr" line of the consensus (or descriptor), owned */
  bool has_md_digest;
  uint8_t md_digest[32];       /* microdesc flavour: wanted microdescriptor */
  uint8_t desc_digest[20];     /* ns flavour: wanted server descriptor */
  bool has_descriptor;         /* a matching microdesc/descriptor is attached */
} node_t;

typedef struct nodelist_t nodelist_t;

/** New empty nodelist; caller frees with nodelist_free(). */
nodelist_t *nodelist_new(void);
void nodelist_free_(nodelist_t *nl);
#define nodelist_free(p) do { nodelist_free_(p); (p) = NULL; } while (0)

/** Replace the consensus.  Takes ownership of c (freed with the nodelist or
 * the next call).  Nodes are rebuilt; descriptors already held that the new
 * consensus still names stay attached, the others are dropped.
 * 0 or NODELIST_ERR_INVAL. */
int nodelist_set_consensus(nodelist_t *nl, consensus_t *c);
/** The current consensus (owned by the nodelist), or NULL. */
const consensus_t *nodelist_get_consensus(const nodelist_t *nl);

/** Attach a microdescriptor.  Takes ownership of md in every case (freed
 * at once when no node wants it: NODELIST_ERR_NOMATCH). */
int nodelist_add_microdesc(nodelist_t *nl, microdesc_t *md);
/** Attach n microdescriptors (takes ownership of the array and of each
 * element).  Returns how many were attached. */
size_t nodelist_add_microdescs(nodelist_t *nl, microdesc_t **mds, size_t n);
/** Attach a server descriptor whose digest the consensus names.  Takes
 * ownership of rd in every case; NODELIST_ERR_NOMATCH when unwanted. */
int nodelist_add_routerdesc(nodelist_t *nl, routerdesc_t *rd);
/** As nodelist_add_microdescs, for server descriptors. */
size_t nodelist_add_routerdescs(nodelist_t *nl, routerdesc_t **rds, size_t n);

/** Number of nodes (consensus entries) and the i-th, sorted by RSA id. */
size_t nodelist_n_nodes(const nodelist_t *nl);
const node_t *nodelist_get_node(const nodelist_t *nl, size_t i);
/** Lookups; NULL when absent.  Returned pointers live until the next
 * nodelist_set_consensus(). */
const node_t *nodelist_find_by_rsa_id(const nodelist_t *nl, const uint8_t id[20]);
const node_t *nodelist_find_by_ed25519_id(const nodelist_t *nl, const uint8_t id[32]);
/** Node whose nickname matches (case-insensitive), or NULL; the first in
 * RSA-id order if several share it. */
const node_t *nodelist_find_by_nickname(const nodelist_t *nl, const char *nick);

/** Digests of the descriptors the consensus names but we lack: 32-byte
 * microdesc digests (microdesc flavour) or 20-byte descriptor digests (ns
 * flavour), concatenated.  *out: new buffer of *n * *digest_len bytes,
 * caller frees (NULL when *n is 0). */
void nodelist_get_missing_descriptors(const nodelist_t *nl, uint8_t **out, size_t *n,
                                      size_t *digest_len);

/** A consensus is set and "reasonably live" (path-spec 2.1.0):
 * valid_after <= now <= valid_until + 24 hours. */
bool nodelist_consensus_is_live(const nodelist_t *nl, time_t now);

/** Fraction (0..1) of nodes of the consensus that have a descriptor. */
double nodelist_descriptor_fraction(const nodelist_t *nl);

/** Consensus parameter / bandwidth weight of the current consensus (def
 * when absent or no consensus). */
int32_t nodelist_get_param(const nodelist_t *nl, const char *name, int32_t def,
                           int32_t min, int32_t max);
int32_t nodelist_get_bw_weight(const nodelist_t *nl, const char *name, int32_t def);

/* --- per-node predicates --- */

/** Running, Valid, and with a descriptor holding an ntor key. */
bool node_is_usable(const node_t *n);
/** Does the node's exit policy accept (or probably accept, for an unknown
 * address) connections to port?  Port 0 asks "any port at all" (not
 * reject-all).  Uses the full policy when a server descriptor gave one,
 * else the summary.  No summary means reject-all. */
bool node_allows_exit_port(const node_t *n, uint16_t port);
/** True if the node's policy rejects every port. */
bool node_policy_rejects_all(const node_t *n);
/** Does the family entry ent ("$HEX", "$HEX=nick", "$HEX~nick", "nick")
 * name node n? */
bool node_family_entry_matches(const char *ent, const node_t *n);
/** Each lists the other (mutual family), or they share a family id. */
bool nodes_in_same_family(const node_t *a, const node_t *b);
/** Same IPv4 /16 (or same IPv6 /32 if both have IPv6). */
bool nodes_in_same_subnet(const node_t *a, const node_t *b);
/** Same node, same family, or (if enforce_distinct_subnets) same subnet. */
bool nodes_are_related(const node_t *a, const node_t *b, bool enforce_distinct_subnets);

/** Render an id as 40 uppercase hex characters + NUL into buf[41]. */
void node_format_rsa_id(const uint8_t id[20], char buf[41]);

/* --- the control port (nodelist_ctl.c, control-spec 3.9 / 4.1) --- */

/** Answer GETINFO "ns/id/<FP>", "ns/name/<nick>", "ns/all", "md/id/<FP>",
 * "md/name/<nick>", "md/all", "consensus/valid-after", "fresh-until",
 * "valid-until" and "dir/status-vote/current/consensus" from nl, and
 * publish NS / NEWCONSENSUS when nl takes a consensus and NEWDESC when
 * descriptors arrive (only while a controller listens).  One nodelist at a
 * time: the client's.  nodelist_free() detaches by itself. */
void nodelist_ctl_attach(nodelist_t *nl);
void nodelist_ctl_detach(nodelist_t *nl);
/** Between nodelist_ctl_defer(nl, true) and (nl, false), descriptors added
 * one at a time are announced in one NEWDESC event at the end (as tor
 * announces a fetched batch); a new consensus flushes them first. */
void nodelist_ctl_defer(nodelist_t *nl, bool on);
/** Keep a copy of the text of the consensus nl has just taken, for GETINFO
 * "dir/status-vote/current/consensus" (without it: 551 not available).
 * Call after nodelist_set_consensus() (which forgets the previous text),
 * e.g. from dir_boot's on_document(DIR_BOOT_DOC_CONSENSUS). */
void nodelist_ctl_set_consensus_text(nodelist_t *nl, const char *text,
                                     size_t len);

#endif
