/* dircache_parse.h -- the server side of a directory cache's HTTP: a sans-IO
 * HTTP/1.0 request parser (dir-spec.txt section 6, 6.1 headers, 4.5.2
 * X-Or-Diff-From-Consensus) and a parser for the request paths a cache
 * serves (dir-spec 4.3, 4.5.2 and appendix B).
 *
 * dircache_request_parse() looks at the bytes received so far on a
 * BEGIN_DIR stream: it answers NEED_MORE until the blank line ending the
 * header block has arrived, then fills a dircache_request_t.  It keeps no
 * state between calls, so the caller simply accumulates the bytes.  Line
 * ends may be CRLF or a bare LF.  The request line and headers together are
 * limited to DIRCACHE_REQ_MAX_HEAD bytes and DIRCACHE_REQ_MAX_HEADERS lines.
 * A POST (an HSDir's "/tor/hs/3/publish", rend-spec-v3 2.2.6) must carry a
 * Content-Length (RFC 1945 7.2.2: required on HTTP/1.0 POSTs) of at most
 * DIRCACHE_REQ_MAX_BODY bytes, and is NEED_MORE until the whole body is
 * there; other methods have no body (bytes after the head are ignored).
 *
 * dircache_url_parse() splits a path into what is asked for: the document
 * kind, the flavour of a consensus, the list of digests or fingerprints
 * (hex for SHA-1 digests and fingerprints, either case; base64 without '='
 * for microdescriptor SHA-256 digests, joined by '-'), the consensus
 * authority fingerprint prefixes (an even number of hex digits, 2..40) and
 * the ".z" suffix, and the onion-service descriptor paths of an HSDir
 * (rend-spec-v3 2.2.6: "/tor/hs/3/publish", "/tor/hs/3/<z>" with z the
 * blinded key in base64, '=' padding optional).
 */
#ifndef ALLIUM_FEATURE_DIRCACHE_DIRCACHE_PARSE_H
#define ALLIUM_FEATURE_DIRCACHE_DIRCACHE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DIRCACHE_REQ_MAX_HEAD 8192      /* request line + headers, bytes */
#define DIRCACHE_REQ_MAX_HEADERS 32     /* header lines */
#define DIRCACHE_REQ_MAX_PATH 4096      /* bytes of the path */
#define DIRCACHE_MAX_DIFF_FROM 8        /* X-Or-Diff-From-Consensus hashes */
/** Largest POST body (an onion-service descriptor: HSV3MaxDescriptorSize,
 * 50000 by default, is clamped to this).  The cell engine's
 * CELLSWITCH_DIR_POST_MAX must hold a head and a body this long. */
#define DIRCACHE_REQ_MAX_BODY (256 * 1024)

/* Results of dircache_request_parse(). */
#define DIRCACHE_REQ_OK 0
#define DIRCACHE_REQ_NEED_MORE 1
#define DIRCACHE_REQ_BAD (-1)           /* malformed: answer 400 */
#define DIRCACHE_REQ_TOO_BIG (-2)       /* head over the limits: answer 400 */

/* Accept-Encoding bits (1u << compress_method_t). */
#define DIRCACHE_ACCEPT_BIT(m) (1u << (unsigned)(m))

/** One parsed request.  Owned by the caller: dircache_request_clear(). */
typedef struct dircache_request_t {
  char method[8];              /* "GET", "HEAD", "POST", ... */
  char *path;                  /* NUL-terminated, heap */
  int http_minor;              /* 0 or 1 */
  bool has_accept_encoding;    /* an Accept-Encoding header was present */
  uint32_t accept;             /* DIRCACHE_ACCEPT_BIT()s of known methods */
  time_t if_modified_since;    /* 0: absent or unparseable */
  uint8_t diff_from[DIRCACHE_MAX_DIFF_FROM][32];  /* SHA3-256 digests */
  size_t n_diff_from;
  size_t head_len;             /* bytes of the head, blank line included */
  bool has_content_length;     /* a Content-Length header was present */
  size_t content_length;       /* its value */
  size_t body_len;             /* POST: the body, at buf + head_len (the
                                * caller's buffer); 0 for other methods */
} dircache_request_t;

/** Parse the request head in buf[0..len).  Returns DIRCACHE_REQ_OK (out
 * filled; release with dircache_request_clear()), DIRCACHE_REQ_NEED_MORE,
 * DIRCACHE_REQ_BAD or DIRCACHE_REQ_TOO_BIG (out then holds nothing).  A
 * POST is BAD without a Content-Length, TOO_BIG when it passes
 * DIRCACHE_REQ_MAX_BODY, and NEED_MORE until its body is whole. */
int dircache_request_parse(const uint8_t *buf, size_t len,
                           dircache_request_t *out);
/** Free what a request holds and zero it.  NULL is fine. */
void dircache_request_clear(dircache_request_t *r);

/** What a path asks for. */
typedef enum dircache_url_kind_t {
  DIRCACHE_URL_CONSENSUS = 0,   /* /tor/status-vote/current/consensus[-F][/FPS] */
  DIRCACHE_URL_CONSENSUS_DIFF,  /* .../consensus[-F]/diff/<HASH>[/FPS] */
  DIRCACHE_URL_MICRODESCS,      /* /tor/micro/d/<D1>-<D2>... */
  DIRCACHE_URL_SERVER_D,        /* /tor/server/d/<D1>+... */
  DIRCACHE_URL_SERVER_FP,       /* /tor/server/fp/<F1>+... */
  DIRCACHE_URL_SERVER_ALL,      /* /tor/server/all */
  DIRCACHE_URL_SERVER_AUTHORITY,/* /tor/server/authority (a cache: 404) */
  DIRCACHE_URL_KEYS_ALL,        /* /tor/keys/all */
  DIRCACHE_URL_KEYS_FP,         /* /tor/keys/fp/<F1>+... */
  DIRCACHE_URL_KEYS_SK,         /* /tor/keys/sk/<S1>+... */
  DIRCACHE_URL_KEYS_FP_SK,      /* /tor/keys/fp-sk/<F1>-<S1>+... */
  DIRCACHE_URL_KEYS_AUTHORITY,  /* /tor/keys/authority (a cache: 404) */
  DIRCACHE_URL_HS_DESC,         /* GET /tor/hs/3/<z> (rend-spec-v3 2.2.6) */
  DIRCACHE_URL_HS_PUBLISH,      /* POST /tor/hs/3/publish */
  DIRCACHE_URL_NOT_SERVED,      /* well-formed, known, never served by a
                                 * cache (extra-info, votes, micro/all...) */
  DIRCACHE_URL_N_KINDS
} dircache_url_kind_t;

#define DIRCACHE_URL_MAX_ITEMS 256      /* digests or fingerprints per path */

/** A parsed path.  Release with dircache_url_clear(). */
typedef struct dircache_url_t {
  dircache_url_kind_t kind;
  bool microdesc_flavor;        /* consensus: "-microdesc" (else "ns") */
  bool compressed;              /* ended in ".z" */
  uint8_t (*items)[32];         /* digests: 20 bytes (sha1) or 32 (sha256) */
  uint8_t (*items2)[20];        /* fp-sk: the signing key digests */
  size_t n_items;
  uint8_t (*fp_prefixes)[20];   /* consensus authority prefixes */
  uint8_t *fp_prefix_lens;      /* their lengths in bytes (1..20) */
  size_t n_fp_prefixes;
  uint8_t diff_hash[32];        /* CONSENSUS_DIFF: SHA3-256 */
  bool hs_key_ok;               /* HS_DESC: hs_key holds a decoded key (a
                                 * malformed one is still HS_DESC: 404) */
  uint8_t hs_key[32];           /* HS_DESC: the blinded key */
} dircache_url_t;

/* Results of dircache_url_parse(). */
#define DIRCACHE_URL_OK 0
#define DIRCACHE_URL_UNKNOWN (-1)       /* not a path a cache knows: 404 */
#define DIRCACHE_URL_MALFORMED (-2)     /* a malformed known path: 400 */

/** Parse path (NUL-terminated).  Returns DIRCACHE_URL_OK (out filled),
 * DIRCACHE_URL_UNKNOWN or DIRCACHE_URL_MALFORMED. */
int dircache_url_parse(const char *path, dircache_url_t *out);
void dircache_url_clear(dircache_url_t *u);
/** Static name of a kind ("consensus", "microdescs", ...), for counters. */
const char *dircache_url_kind_name(dircache_url_kind_t k);

#endif
