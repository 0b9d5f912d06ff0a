/* consensus.h -- network-status consensus documents (dir-spec 3.4.1), both
 * the "ns" flavour and the "microdesc" flavour (dir-spec 3.9.2).
 *
 * consensus_parse() checks the syntax of the whole document (preamble,
 * authority section, router status entries, footer) and computes the SHA-1
 * and SHA-256 digests of the signed portion: from "network-status-version"
 * through the space after the first "directory-signature" keyword.  It does
 * not check signatures or times: consensus_verify_signatures() counts the
 * valid signatures from distinct authorities among a caller-supplied set of
 * key certificates; the caller applies the threshold and the time checks.
 */
#ifndef ALLIUM_FEATURE_DIRPARSE_CONSENSUS_H
#define ALLIUM_FEATURE_DIRPARSE_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirparse/keycert.h"
#include "allium/feature/dirparse/netdoc.h"

typedef enum consensus_flavor_t {
  CONSENSUS_FLAVOR_NS,
  CONSENSUS_FLAVOR_MICRODESC,
} consensus_flavor_t;

/* Router status flags ("s" line); unknown flags are ignored. */
#define CONSENSUS_FLAG_AUTHORITY      (1u << 0)
#define CONSENSUS_FLAG_BADEXIT        (1u << 1)
#define CONSENSUS_FLAG_EXIT           (1u << 2)
#define CONSENSUS_FLAG_FAST           (1u << 3)
#define CONSENSUS_FLAG_GUARD          (1u << 4)
#define CONSENSUS_FLAG_HSDIR          (1u << 5)
#define CONSENSUS_FLAG_MIDDLEONLY     (1u << 6)
#define CONSENSUS_FLAG_NOEDCONSENSUS  (1u << 7)
#define CONSENSUS_FLAG_RUNNING        (1u << 8)
#define CONSENSUS_FLAG_STABLE         (1u << 9)
#define CONSENSUS_FLAG_STALEDESC      (1u << 10)
#define CONSENSUS_FLAG_SYBIL          (1u << 11)
#define CONSENSUS_FLAG_V2DIR          (1u << 12)
#define CONSENSUS_FLAG_VALID          (1u << 13)

/** A "name=int32" pair (params, bandwidth-weights). */
typedef struct consensus_kv_t {
  char *name;
  int32_t value;
} consensus_kv_t;

/** One authority of the authority section ("dir-source" group). */
typedef struct consensus_dirsource_t {
  char *nickname;
  uint8_t identity[20];
  char *address;
  uint8_t ipv4[4];
  uint16_t dirport, orport;
  int is_legacy;               /* "-legacy" entry: no contact/vote-digest */
  char *contact;               /* NULL for legacy entries */
  uint8_t vote_digest[20];
} consensus_dirsource_t;

/** One router status entry. */
typedef struct consensus_router_t {
  char nickname[20];
  uint8_t identity[20];        /* RSA identity digest */
  uint8_t desc_digest[20];     /* ns flavour: server descriptor digest */
  time_t published;
  uint8_t ipv4[4];
  uint16_t orport, dirport;
  int has_ipv6;                /* first "a" line with an IPv6 address */
  uint8_t ipv6[16];
  uint16_t ipv6_port;
  uint32_t flags;              /* CONSENSUS_FLAG_* */
  char *version;               /* "v" line, NULL if absent */
  char *protocols;             /* "pr" line, NULL if absent */
  int has_bandwidth;
  uint32_t bandwidth;          /* w Bandwidth= */
  int has_measured;
  uint32_t measured;           /* w Measured= (votes only) */
  int unmeasured;              /* w Unmeasured=1 */
  char *policy_summary;        /* "p" line, e.g. "accept 80,443"; NULL if absent */
  int has_md_digest;
  uint8_t md_digest[32];       /* microdesc flavour: "m" digest */
} consensus_router_t;

/** One "directory-signature". */
typedef struct consensus_sig_t {
  int alg_known;               /* sha1 or sha256 */
  int alg_sha256;              /* 1: sha256, 0: sha1 */
  uint8_t identity[20];
  uint8_t signing_key_digest[20];
  uint8_t *sig;                /* owned */
  size_t sig_len;
  int verified;                /* set by consensus_verify_signatures() */
} consensus_sig_t;

typedef struct consensus_t {
  consensus_flavor_t flavor;
  int consensus_method;        /* 1 if absent */
  time_t valid_after, fresh_until, valid_until;
  int vote_seconds, dist_seconds;
  char *client_versions, *server_versions;   /* NULL if absent */
  char **known_flags;
  size_t n_known_flags;
  char *recommended_client_protocols, *recommended_relay_protocols;
  char *required_client_protocols, *required_relay_protocols;
  consensus_kv_t *params;
  size_t n_params;
  int has_srv_previous, has_srv_current;
  uint32_t srv_previous_reveals, srv_current_reveals;
  uint8_t srv_previous[32], srv_current[32];
  consensus_dirsource_t *dirsources;
  size_t n_dirsources;
  consensus_router_t *routers;
  size_t n_routers;
  consensus_kv_t *bw_weights;
  size_t n_bw_weights;
  consensus_sig_t *sigs;
  size_t n_sigs;
  uint8_t digest_sha1[20];     /* of the signed portion */
  uint8_t digest_sha256[32];
} consensus_t;

/** Parse a consensus of either flavour.  *out: new consensus, caller frees
 * with consensus_free().  0 or a DIRPARSE_ERR_* with err naming the line. */
int consensus_parse(const char *s, size_t len, consensus_t **out, netdoc_err_t *err);

/** Verify every signature whose (identity, signing-key digest) matches one of
 * certs[0..n_certs) (only certificates whose identity the caller trusts
 * should be passed; when now != 0, certificates not live at now are skipped).
 * Sets sigs[i].verified.  Returns the number of distinct authority
 * identities that have at least one valid signature. */
int consensus_verify_signatures(consensus_t *c, authcert_t *const *certs, size_t n_certs,
                                time_t now);

/** The value of consensus parameter name, or def if absent; clamped to
 * [min, max]. */
int32_t consensus_get_param(const consensus_t *c, const char *name, int32_t def,
                            int32_t min, int32_t max);
/** Bandwidth weight by name (e.g. "Wgg"), or def if absent. */
int32_t consensus_get_bw_weight(const consensus_t *c, const char *name, int32_t def);
/** 1 when valid_after - skew <= now <= valid_until + skew, else 0. */
int consensus_is_live(const consensus_t *c, time_t now, time_t skew);
/** Router entry with identity digest id, or NULL (entries are sorted). */
const consensus_router_t *consensus_find_router(const consensus_t *c, const uint8_t id[20]);

void consensus_free_(consensus_t *c);
#define consensus_free(p) do { consensus_free_(p); (p) = NULL; } while (0)

#endif
