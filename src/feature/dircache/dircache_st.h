/* dircache_st.h -- private state of the directory cache (dircache_store.c,
 * dircache_map.c, dircache_reply.c).  Not for other modules. */
#ifndef ALLIUM_FEATURE_DIRCACHE_DIRCACHE_ST_H
#define ALLIUM_FEATURE_DIRCACHE_DIRCACHE_ST_H

#include "allium/lib/container/hashmap.h"
#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dircache/hsdir_store.h"
#include "allium/lib/compress/compress.h"

/** A document with its compressed forms, made on first use. */
typedef struct dc_doc_t {
  char *text;
  size_t len;
  uint8_t *enc[COMPRESS_LZMA + 1];  /* [DEFLATE] .. [LZMA]; [0] unused */
  size_t enc_len[COMPRESS_LZMA + 1];
} dc_doc_t;

/** A consensus held. */
typedef struct dc_cons_t {
  dc_doc_t doc;
  time_t valid_after, valid_until;
  uint8_t (*sig_ids)[20];      /* identities of its signatures */
  size_t n_sigs;
  uint8_t sha3_signed[32];     /* digest as signed (diffs name it) */
  dc_doc_t *diff;              /* old ones: the diff to the current one */
} dc_cons_t;

/** A descriptor held (microdescriptor or server descriptor). */
typedef struct dc_ent_t {
  uint8_t key[32];             /* sha256 (md) or sha1 (server) digest */
  uint8_t fp[20];              /* server: identity fingerprint */
  time_t published;            /* server: published */
  time_t last_listed;          /* last time a consensus listed it */
  char *text;
  size_t len;
} dc_ent_t;

/** A table of dc_ent_t pointers keyed by keylen bytes at keyoff inside each
 * entry, over lib/container's hash map (SipHash under a random key). */
typedef struct dc_map_t {
  hmap_t *h;
  size_t n;                    /**< entries (hmap_count, kept for reads) */
  size_t keyoff, keylen;
} dc_map_t;

void dc_map_init(dc_map_t *m, size_t keyoff, size_t keylen);
dc_ent_t *dc_map_get(const dc_map_t *m, const uint8_t *key);
/** Insert e (replacing and returning any entry with the same key). */
dc_ent_t *dc_map_put(dc_map_t *m, dc_ent_t *e);
/** Walk: start with *pos = 0; the next entry, or NULL at the end.  The map
 * must not change during a walk. */
dc_ent_t *dc_map_next(const dc_map_t *m, size_t *pos);
/** Empty the table (entries are not freed). */
void dc_map_clear(dc_map_t *m);

typedef struct dc_cert_t {
  uint8_t id[20], sk[20];
  time_t published, expires;
  char *text;
  size_t len;
} dc_cert_t;

#define DC_MAX_CERTS 64

struct dircache_t {
  dc_cons_t *cur[2];                           /* [0] ns, [1] microdesc */
  dc_cons_t *old[2][DIRCACHE_DIFF_MAX_OLD];    /* oldest first */
  size_t n_old[2];
  dc_map_t md;                                 /* sha256 -> microdesc */
  dc_map_t sd;                                 /* sha1 -> server desc */
  dc_map_t sd_fp;                              /* fp -> newest server desc */
  dc_cert_t certs[DC_MAX_CERTS];
  size_t n_certs;
  hsdir_store_t *hs;                           /* onion-service descriptors */
  size_t hs_max_desc;                          /* HSV3MaxDescriptorSize */
  dircache_stats_t stats;
};

/* dircache_store.c */
void dc_doc_clear(dc_doc_t *d);
/** d's encoding m (identity: the text), made and kept on first use. */
int dc_doc_encoded(dc_doc_t *d, compress_method_t m, const uint8_t **out,
                   size_t *len);

/* dircache_hs.c: the HSDir part (rend-spec-v3 2.2.6) */
struct consensus_t;
struct dircache_request_t;
struct dircache_url_t;
/** Make dc->hs with the default limits. */
void dc_hs_init(dircache_t *dc);
/** Take HSV3MaxDescriptorSize from a consensus just accepted. */
void dc_hs_set_params(dircache_t *dc, const struct consensus_t *c);
/** Answer an HS_DESC or HS_PUBLISH request (body: the POST body, at the
 * request's head_len in the received bytes).  Returns the status. */
int dc_hs_answer(dircache_t *dc, const struct dircache_request_t *rq,
                 const struct dircache_url_t *u, const uint8_t *body,
                 bool anonymous, compress_method_t enc, time_t now,
                 const char *peer, dircache_reply_t *out);
/* dircache_reply.c: fill out with a response (status line, headers,
 * body[0..blen) for a 200); a body a client gets encoded with enc. */
void dc_reply_make(dircache_reply_t *out, int status, compress_method_t enc,
                   const uint8_t *body, size_t blen, time_t now,
                   const char *peer_addr);
void dc_reply_encoded(dircache_reply_t *out, const char *text, size_t len,
                      compress_method_t enc, time_t now, const char *peer);

#endif
