/* dir_url.h -- request paths for directory documents (dir-spec.txt).
 *
 * Builds the paths a client GETs from a directory cache over a BEGIN_DIR
 * stream: consensuses (appendix B and section 3.11 for flavours, with the
 * optional "+"-joined list of authority fingerprint prefixes), key
 * certificates (appendix B), microdescriptors (section 4.3) and server
 * descriptors (appendix B).  Fingerprints and server descriptor digests are
 * upper-case hex ("Clients SHOULD use upper case letters", appendix B);
 * microdescriptor digests are base64 of SHA-256 without trailing '='
 * (section 4.3), joined with '-'.
 *
 * Long lists are split into batches: at most 92 microdescriptor digests per
 * request (dir-spec 4.3, "Due to squid proxy url limitations at most 92
 * microdescriptor hashes can be retrieved in a single request"), at most 96
 * fingerprints or digests for every other kind (appendix B gives 96 for
 * consensus and /tor/server/fp/ lists; allium applies it to the other hex
 * lists too), and never a path longer than DIR_URL_MAX_PATH bytes (the squid
 * limit behind both numbers; it matters for /tor/keys/fp-sk/ pairs).
 * Items are sorted and de-duplicated so equal requests produce equal paths.
 *
 * Consensus diffs (section 4.5: "X-Or-Diff-From-Consensus" and
 * /tor/status-vote/current/consensus[-F]/diff/<HASH>/<FPRLIST>) are not
 * built here yet; dir_http.h can send the header.
 */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_URL_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIR_URL_ID_LEN 20          /* SHA-1 fingerprint / descriptor digest */
#define DIR_URL_MD_DIGEST_LEN 32   /* SHA-256 microdescriptor digest */
#define DIR_URL_MAX_MICRODESCS 92  /* dir-spec 4.3 */
#define DIR_URL_MAX_FPS 96         /* dir-spec appendix B */
#define DIR_URL_MAX_PATH 4096      /* bytes, including a ".z" suffix */
/** Fingerprint prefix length (bytes) tor puts in consensus URLs (app. B). */
#define DIR_URL_CONSENSUS_FP_PREFIX 3

/** What a request fetches; selects the response body limit (dir_http.h). */
typedef enum dir_doc_kind_t {
  DIR_DOC_CONSENSUS = 0,   /* any flavour, or a diff */
  DIR_DOC_KEY_CERTS,       /* /tor/keys/... */
  DIR_DOC_MICRODESCS,      /* /tor/micro/d/... */
  DIR_DOC_SERVER_DESCS,    /* /tor/server/d/ or /tor/server/fp/ batches */
  DIR_DOC_SERVER_ALL,      /* /tor/server/all */
  DIR_DOC_OTHER,
} dir_doc_kind_t;

/** A list of request paths (each NUL-terminated, heap-allocated). */
typedef struct dir_url_list_t {
  char **paths;
  size_t n;
} dir_url_list_t;

/** Free every path and reset the list to empty (the struct itself is the
 * caller's).  NULL is fine. */
void dir_url_list_clear(dir_url_list_t *l);

/** Path of the current consensus of flavour ("ns" or NULL: the plain
 * consensus; e.g. "microdesc": consensus-microdesc).  If n_auth > 0, append
 * "/" and the "+"-joined, sorted, upper-case hex of the first prefix_len
 * bytes (1..20) of each authority identity in auth_ids: a cache then serves
 * the consensus only if more than half of them signed it.  ".z" is appended
 * when compressed.  Returns NULL on a bad flavour (only [a-z0-9-] allowed),
 * prefix_len or more than DIR_URL_MAX_FPS authorities.  Caller frees. */
char *dir_url_consensus(const char *flavor,
                        const uint8_t (*auth_ids)[DIR_URL_ID_LEN],
                        size_t n_auth, size_t prefix_len, bool compressed);

/** "/tor/keys/all[.z]".  Caller frees. */
char *dir_url_keys_all(bool compressed);
/** "/tor/server/all[.z]".  Caller frees. */
char *dir_url_server_all(bool compressed);

/* Batch builders.  Each clears *out first, then fills it with one path per
 * batch (none when n == 0).  Return 0, or -1 on bad arguments (out->n is
 * then 0).  The caller releases out with dir_url_list_clear(). */

/** /tor/keys/fp/<F1>+<F2>... by authority identity fingerprints. */
int dir_url_keys_fp(dir_url_list_t *out,
                    const uint8_t (*ids)[DIR_URL_ID_LEN], size_t n,
                    bool compressed);
/** /tor/keys/fp-sk/<F1>-<S1>+... by (identity, signing key) fingerprint
 * pairs: ids[i] goes with sks[i]. */
int dir_url_keys_fp_sk(dir_url_list_t *out,
                       const uint8_t (*ids)[DIR_URL_ID_LEN],
                       const uint8_t (*sks)[DIR_URL_ID_LEN], size_t n,
                       bool compressed);
/** /tor/micro/d/<D1>-<D2>... by SHA-256 microdescriptor digests. */
int dir_url_microdescs(dir_url_list_t *out,
                       const uint8_t (*digests)[DIR_URL_MD_DIGEST_LEN],
                       size_t n, bool compressed);
/** /tor/server/d/<D1>+<D2>... by server descriptor digests. */
int dir_url_server_d(dir_url_list_t *out,
                     const uint8_t (*digests)[DIR_URL_ID_LEN], size_t n,
                     bool compressed);
/** /tor/server/fp/<F1>+<F2>... by identity fingerprints (dir-spec advises
 * against this for clients: prefer dir_url_server_d()). */
int dir_url_server_fp(dir_url_list_t *out,
                      const uint8_t (*ids)[DIR_URL_ID_LEN], size_t n,
                      bool compressed);

#endif
