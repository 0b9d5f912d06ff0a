/* dircache.h -- a relay's directory cache: the documents it serves over
 * BEGIN_DIR streams (tor-spec 6.2, "tunnelled-dir-server"; dir-spec.txt 4
 * "Directory cache operation", 6 HTTP, appendix B URLs) and the answers to
 * requests for them.
 *
 * The store holds both consensus flavours (the current one and older ones
 * for diffs), microdescriptors by SHA-256 digest, server descriptors by
 * SHA-1 digest and by identity fingerprint (the newest), and authority key
 * certificates, all indexed in hash tables.  dircache_new() loads it from a
 * DataDirectory written by tor or by allium's directory client
 * (cached-consensus, cached-microdesc-consensus, cached-microdescs[.new],
 * cached-descriptors[.new], cached-certs); the dircache_add_*() functions
 * take the documents the directory client accepts afterwards (the client
 * verified them and writes the files; the cache never writes to disk).
 *
 * dircache_handle_request() is sans-IO: the bytes received so far on a
 * stream in, NEED_MORE or one whole HTTP/1.0 response out (the caller
 * writes it and closes the stream).  Answers: 200 with Content-Encoding
 * chosen from Accept-Encoding (deflate, gzip, identity; without the header
 * ".z" means deflate), 304 for If-Modified-Since when the consensus is not
 * newer, 400 for a malformed request or path, 404 when nothing requested is
 * held, 503 when the consensus is missing or no longer reasonably live
 * (expired more than 24 hours ago, dir-spec 5.1).  Consensus diffs
 * (DirCache=2, dir-spec 4.5): when a new consensus arrives, a diff from
 * each older one of its flavour held (up to DIRCACHE_DIFF_MAX_OLD, not older
 * than DIRCACHE_DIFF_MAX_AGE) is generated; a request with
 * X-Or-Diff-From-Consensus naming one of them, or a .../diff/<HASH> path,
 * gets the diff.
 *
 * The cache is also an HSDir (rend-spec-v3 2.2.6, HSDir=2): it owns an
 * hsdir_store_t (hsdir_store.h) fed by "POST /tor/hs/3/publish" (200 when
 * stored; 400 for a descriptor that fails verification, a revision counter
 * not above the stored one, or a body over HSV3MaxDescriptorSize from the
 * consensus) and read by "GET /tor/hs/3/<z>" (200, or 404).  Those requests
 * must come "anonymously" (2.2.6): a request without DIRCACHE_FROM_RELAY
 * (a client's one-hop circuit, or no circuit) gets 503 as tor answers.
 * dircache_hs_expire() drops expired descriptors (the relay's timer).
 */
#ifndef ALLIUM_FEATURE_DIRCACHE_DIRCACHE_H
#define ALLIUM_FEATURE_DIRCACHE_DIRCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dircache/dircache_parse.h"
#include "allium/feature/dirclient/dir_boot.h"
#include "allium/lib/compress/compress.h"

/** Older consensuses kept per flavour for diffs, and their maximum age
 * (seconds after their valid-after). */
#define DIRCACHE_DIFF_MAX_OLD 8
#define DIRCACHE_DIFF_MAX_AGE (6 * 3600)
/** A consensus is served until this long after its valid-until. */
#define DIRCACHE_REASONABLY_LIVE (24 * 3600)
/** Descriptors not listed by a consensus for this long are dropped. */
#define DIRCACHE_DESC_KEEP (7 * 24 * 3600)
/** Most descriptors of each kind held. */
#define DIRCACHE_MAX_DESCS 200000

typedef struct dircache_t dircache_t;

/** The DirCache protocol version this implementation serves ("DirCache=2":
 * consensus diffs). */
#define DIRCACHE_PROTOCOL_VERSION 2

/** New cache; loads the cache files of datadir (NULL: start empty).  now is
 * used to drop documents no longer worth serving.  Never NULL.  Free with
 * dircache_free(). */
dircache_t *dircache_new(const char *datadir, time_t now);
void dircache_free_(dircache_t *dc);
#define dircache_free(p) do { dircache_free_(p); (p) = NULL; } while (0)

/** A consensus of either flavour (text[0..len), copied).  Kept if it parses
 * and is newer than the one held of its flavour; the one held becomes a
 * diff source.  0 if kept, -1 otherwise. */
int dircache_add_consensus(dircache_t *dc, const char *text, size_t len,
                           time_t now);
/** Microdescriptors (one or more, annotations allowed).  Returns how many
 * new ones were stored. */
size_t dircache_add_microdescs(dircache_t *dc, const char *text, size_t len,
                               time_t now);
/** Server descriptors (one or more, annotations allowed; each verified by
 * the dirparse parser).  Returns how many new ones were stored. */
size_t dircache_add_server_descs(dircache_t *dc, const char *text,
                                 size_t len, time_t now);
/** Authority key certificates (one or more).  Returns how many new ones
 * were stored. */
size_t dircache_add_certs(dircache_t *dc, const char *text, size_t len,
                          time_t now);

/** A dir_boot_document_fn (dir_boot_set_document_cb()) feeding the cache
 * arg (a dircache_t *) with what the directory client accepts, at the
 * current time: the relay's wiring is
 * dir_boot_set_document_cb(boot, dircache_on_document, dc). */
void dircache_on_document(dir_boot_doc_t kind, const char *text, size_t len,
                          void *arg);

/** What the cache holds, for logs and tests. */
typedef struct dircache_contents_t {
  bool have_consensus[2];      /* [0] ns, [1] microdesc */
  time_t valid_after[2];
  size_t n_old[2];             /* older consensuses held (diff sources) */
  size_t n_diffs[2];           /* diffs ready */
  size_t n_microdescs, n_server_descs, n_certs;
  size_t n_hs_descs, hs_bytes;  /* onion-service descriptors held */
  size_t hs_max_desc_size;      /* HSV3MaxDescriptorSize in force */
} dircache_contents_t;
void dircache_get_contents(const dircache_t *dc, dircache_contents_t *out);

/** The SHA3-256 digest-as-signed of the current consensus of a flavour
 * (microdesc or ns); false if none is held. */
bool dircache_consensus_digest(const dircache_t *dc, bool microdesc,
                               uint8_t out[32]);

/** One response. */
typedef struct dircache_reply_t {
  uint8_t *data;               /* status line, headers, body; heap */
  size_t len;
  int status;                  /* 200, 304, 400, 404, 503 */
  dircache_url_kind_t kind;    /* what was asked (DIRCACHE_URL_N_KINDS when
                                * the request did not parse) */
  bool is_diff;                /* a consensus diff was served */
  compress_method_t encoding;  /* its Content-Encoding */
} dircache_reply_t;
void dircache_reply_clear(dircache_reply_t *r);

#define DIRCACHE_NEED_MORE 1

/** Answer the request in req[0..len) (everything received on the stream so
 * far) at time now.  peer_addr (may be NULL) is sent as X-Your-Address-Is.
 * Returns DIRCACHE_NEED_MORE (out untouched) or 0 with *out filled (release
 * with dircache_reply_clear()).  The request is taken as not anonymous
 * (flags 0): onion-service paths get 503. */
int dircache_handle_request(dircache_t *dc, const uint8_t *req, size_t len,
                            time_t now, const char *peer_addr,
                            dircache_reply_t *out);

/** The request came over a circuit whose previous hop authenticated as a
 * relay: the client is at least two hops away (rend-spec-v3 2.2.6 wants
 * onion-service descriptors posted and fetched anonymously). */
#define DIRCACHE_FROM_RELAY 1u

/** dircache_handle_request() with DIRCACHE_FROM_* flags. */
int dircache_handle_request_from(dircache_t *dc, const uint8_t *req,
                                 size_t len, time_t now,
                                 const char *peer_addr, unsigned flags,
                                 dircache_reply_t *out);

/** Drop the onion-service descriptors expired at now; how many. */
size_t dircache_hs_expire(dircache_t *dc, time_t now);

/** Counters since dircache_new(). */
typedef struct dircache_stats_t {
  uint64_t requests[DIRCACHE_URL_N_KINDS + 1]; /* last: unparseable */
  uint64_t status_200, status_304, status_400, status_404, status_503;
  uint64_t diffs_served;
  uint64_t bytes_out;          /* response bytes, headers included */
  uint64_t hs_stored;          /* descriptors stored (200 to a publish) */
  uint64_t hs_rejected;        /* publishes refused (400) */
  uint64_t hs_served;          /* descriptors served (200 to a fetch) */
  uint64_t hs_not_found;       /* fetches answered 404 */
  uint64_t hs_not_anonymous;   /* onion-service requests answered 503 */
} dircache_stats_t;
void dircache_get_stats(const dircache_t *dc, dircache_stats_t *out);
/** One notice line with the counters and contents (for the heartbeat). */
void dircache_log_stats(const dircache_t *dc);

#endif
