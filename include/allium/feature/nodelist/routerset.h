/* routerset.h -- node lists as torrc options give them (EntryNodes,
 * ExitNodes, ExcludeNodes; tor(1) "node lists"): comma-separated entries,
 * each a fingerprint ("$HEX", "HEX", optionally "$HEX=nick" / "$HEX~nick"),
 * a nickname, or a country code "{cc}" (accepted but matching nothing until
 * GeoIP exists).  Blanks around entries are ignored.
 */
#ifndef ALLIUM_FEATURE_NODELIST_ROUTERSET_H
#define ALLIUM_FEATURE_NODELIST_ROUTERSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/feature/nodelist/nodelist.h"

typedef struct routerset_t routerset_t;

/** Parse a node list.  *out: new set, caller frees with routerset_free().
 * Returns 0, or -1 for a malformed entry (bad fingerprint, bad nickname,
 * unterminated "{"), *out then NULL.  An empty string gives an empty set. */
int routerset_parse(const char *s, routerset_t **out);
/** Entries parsed (fingerprints + nicknames + country codes). */
size_t routerset_len(const routerset_t *rs);
/** True for NULL or a set with no entries. */
bool routerset_is_empty(const routerset_t *rs);
/** True if the set names node n (by RSA fingerprint or nickname). */
bool routerset_contains_node(const routerset_t *rs, const node_t *n);

void routerset_free_(routerset_t *rs);
#define routerset_free(p) do { routerset_free_(p); (p) = NULL; } while (0)

#endif
