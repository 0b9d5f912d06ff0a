/* dircache_store.c -- what a directory cache holds (dir-spec.txt 4.1-4.3,
 * 4.5): both consensus flavours with older ones for diffs, microdescriptors
 * by SHA-256 digest, server descriptors by SHA-1 digest and by fingerprint,
 * authority key certificates; loaded from tor's DataDirectory file names
 * (cached-consensus, cached-microdesc-consensus, cached-microdescs and
 * cached-microdescs.new, cached-descriptors and cached-descriptors.new,
 * cached-certs) and fed by the directory client afterwards.
 *
 * Descriptors stay while a consensus listed them within DIRCACHE_DESC_KEEP
 * ("Caches must not discard any descriptor listed by any recent consensus",
 * 4.2); older consensuses stay while younger than DIRCACHE_DIFF_MAX_AGE.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "dircache"
#include "allium/feature/dircache/consdiff.h"
#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/keycert.h"
#include "allium/feature/dirparse/microdesc.h"
#include "allium/feature/dirparse/routerdesc.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dircache_st.h"

/** Largest cache file read (bytes). */
#define DC_MAX_FILE (512u << 20)

/* ---- documents ---- */

void
dc_doc_clear(dc_doc_t *d)
{
  if (!d)
    return;
  al_free(d->text);
  for (size_t i = 0; i <= COMPRESS_LZMA; i++)
    al_free(d->enc[i]);
  memset(d, 0, sizeof(*d));
}

int
dc_doc_encoded(dc_doc_t *d, compress_method_t m, const uint8_t **out,
               size_t *len)
{
  if (m == COMPRESS_IDENTITY) {
    *out = (const uint8_t *)d->text;
    *len = d->len;
    return 0;
  }
  if (m != COMPRESS_DEFLATE && m != COMPRESS_GZIP && m != COMPRESS_ZSTD &&
      m != COMPRESS_LZMA)
    return -1;
  if (!d->enc[m] && compress_buffer(m, (const uint8_t *)d->text, d->len,
                                    &d->enc[m], &d->enc_len[m]) < 0)
    return -1;
  *out = d->enc[m];
  *len = d->enc_len[m];
  return 0;
}

static void
cons_free(dc_cons_t *c)
{
  if (!c)
    return;
  dc_doc_clear(&c->doc);
  if (c->diff) {
    dc_doc_clear(c->diff);
    al_free(c->diff);
  }
  al_free(c->sig_ids);
  al_free(c);
}

static void
ent_free(dc_ent_t *e)
{
  if (!e)
    return;
  al_free(e->text);
  al_free(e);
}

/* ---- life cycle ---- */

static size_t load_file(dircache_t *dc, const char *datadir,
                        const char *name, int what, time_t now);

dircache_t *
dircache_new(const char *datadir, time_t now)
{
  dircache_t *dc = al_calloc(1, sizeof(*dc));
  dc_map_init(&dc->md, offsetof(dc_ent_t, key), 32);
  dc_map_init(&dc->sd, offsetof(dc_ent_t, key), 20);
  dc_map_init(&dc->sd_fp, offsetof(dc_ent_t, fp), 20);
  dc_hs_init(dc);
  if (!datadir)
    return dc;
  load_file(dc, datadir, "cached-certs", 'k', now);
  load_file(dc, datadir, "cached-consensus", 'c', now);
  load_file(dc, datadir, "cached-microdesc-consensus", 'c', now);
  size_t n_md = load_file(dc, datadir, "cached-microdescs", 'm', now);
  n_md += load_file(dc, datadir, "cached-microdescs.new", 'm', now);
  size_t n_sd = load_file(dc, datadir, "cached-descriptors", 's', now);
  n_sd += load_file(dc, datadir, "cached-descriptors.new", 's', now);
  log_notice("Directory cache loaded: consensus %s, microdesc consensus %s, "
             "%zu microdescriptors, %zu server descriptors, %zu "
             "certificates", dc->cur[0] ? "yes" : "no",
             dc->cur[1] ? "yes" : "no", n_md, n_sd, dc->n_certs);
  return dc;
}

static void
map_free_all(dc_map_t *m)
{
  size_t pos = 0;
  dc_ent_t *e;
  while ((e = dc_map_next(m, &pos)))
    ent_free(e);
  dc_map_clear(m);
}

void
dircache_free_(dircache_t *dc)
{
  if (!dc)
    return;
  for (int f = 0; f < 2; f++) {
    cons_free(dc->cur[f]);
    for (size_t i = 0; i < dc->n_old[f]; i++)
      cons_free(dc->old[f][i]);
  }
  map_free_all(&dc->md);
  map_free_all(&dc->sd);
  dc_map_clear(&dc->sd_fp);
  for (size_t i = 0; i < dc->n_certs; i++)
    al_free(dc->certs[i].text);
  hsdir_store_free(dc->hs);
  al_free(dc);
}

/* ---- consensuses ---- */

/* Mark the descriptors c lists as listed at now. */
static void
mark_listed(dircache_t *dc, const consensus_t *c, time_t now)
{
  for (size_t i = 0; i < c->n_routers; i++) {
    const consensus_router_t *r = &c->routers[i];
    dc_ent_t *e = NULL;
    if (c->flavor == CONSENSUS_FLAVOR_MICRODESC && r->has_md_digest)
      e = dc_map_get(&dc->md, r->md_digest);
    else if (c->flavor == CONSENSUS_FLAVOR_NS)
      e = dc_map_get(&dc->sd, r->desc_digest);
    if (e)
      e->last_listed = now;
  }
}

/* Rebuild m keeping the entries listed within DIRCACHE_DESC_KEEP. */
static void
prune_map(dc_map_t *m, dc_map_t *fp_index, time_t now)
{
  dc_map_t old = *m;
  m->h = NULL;
  m->n = 0;
  if (fp_index)
    dc_map_clear(fp_index);
  size_t pos = 0;
  dc_ent_t *e;
  while ((e = dc_map_next(&old, &pos))) {
    if (e->last_listed + DIRCACHE_DESC_KEEP < now) {
      ent_free(e);
      continue;
    }
    dc_map_put(m, e);
    if (fp_index) {
      dc_ent_t *f = dc_map_get(fp_index, e->fp);
      if (!f || f->published < e->published)
        dc_map_put(fp_index, e);
    }
  }
  dc_map_clear(&old);
}

/* Drop the older consensuses of flavour f past the age or count limit. */
static void
prune_old(dircache_t *dc, int f, time_t now)
{
  size_t k = 0;
  for (size_t i = 0; i < dc->n_old[f]; i++) {
    dc_cons_t *c = dc->old[f][i];
    bool keep = c->valid_after + DIRCACHE_DIFF_MAX_AGE >= now &&
                dc->n_old[f] - i <= DIRCACHE_DIFF_MAX_OLD;
    if (keep)
      dc->old[f][k++] = c;
    else
      cons_free(c);
  }
  dc->n_old[f] = k;
}

/* Make the diffs from every older consensus of f to the current one. */
static void
make_diffs(dircache_t *dc, int f)
{
  const dc_cons_t *cur = dc->cur[f];
  for (size_t i = 0; i < dc->n_old[f]; i++) {
    dc_cons_t *o = dc->old[f][i];
    if (o->diff) {
      dc_doc_clear(o->diff);
      al_free(o->diff);
    }
    char *d = NULL;
    size_t dl = 0;
    int r = consdiff_generate(o->doc.text, o->doc.len, cur->doc.text,
                              cur->doc.len, &d, &dl);
    if (r < 0) {
      log_info("No consensus diff from an older consensus: %s",
               consdiff_strerror(r));
      continue;
    }
    o->diff = al_calloc(1, sizeof(*o->diff));
    o->diff->text = d;
    o->diff->len = dl;
  }
}

int
dircache_add_consensus(dircache_t *dc, const char *text, size_t len,
                       time_t now)
{
  consensus_t *c = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (!dc || !text || consensus_parse(text, len, &c, &err) < 0) {
    log_info("Directory cache: consensus not parsed: %s", err.msg);
    return -1;
  }
  int f = c->flavor == CONSENSUS_FLAVOR_MICRODESC;
  if (dc->cur[f] && dc->cur[f]->valid_after >= c->valid_after) {
    consensus_free(c);
    return -1;
  }
  dc_cons_t *n = al_calloc(1, sizeof(*n));
  n->doc.text = al_memdup(text, len);
  n->doc.len = len;
  n->valid_after = c->valid_after;
  n->valid_until = c->valid_until;
  n->n_sigs = c->n_sigs;
  n->sig_ids = al_calloc(c->n_sigs ? c->n_sigs : 1, 20);
  for (size_t i = 0; i < c->n_sigs; i++)
    memcpy(n->sig_ids[i], c->sigs[i].identity, 20);
  consdiff_digest_as_signed(text, len, n->sha3_signed);
  mark_listed(dc, c, now);
  dc_hs_set_params(dc, c);
  consensus_free(c);
  if (dc->cur[f]) {
    if (dc->n_old[f] == DIRCACHE_DIFF_MAX_OLD) {
      cons_free(dc->old[f][0]);
      memmove(&dc->old[f][0], &dc->old[f][1],
              (DIRCACHE_DIFF_MAX_OLD - 1) * sizeof(dc->old[f][0]));
      dc->n_old[f]--;
    }
    dc->old[f][dc->n_old[f]++] = dc->cur[f];
  }
  dc->cur[f] = n;
  prune_old(dc, f, now);
  make_diffs(dc, f);
  if (f)
    prune_map(&dc->md, NULL, now);
  else
    prune_map(&dc->sd, &dc->sd_fp, now);
  return 0;
}

bool
dircache_consensus_digest(const dircache_t *dc, bool microdesc,
                          uint8_t out[32])
{
  const dc_cons_t *c = dc ? dc->cur[microdesc ? 1 : 0] : NULL;
  if (!c)
    return false;
  memcpy(out, c->sha3_signed, 32);
  return true;
}

/* ---- descriptors and certificates ---- */

size_t
dircache_add_microdescs(dircache_t *dc, const char *text, size_t len,
                        time_t now)
{
  microdesc_t **mds = NULL;
  size_t n = 0, bad = 0, added = 0;
  if (!dc || !text || microdesc_parse_each(text, len, &mds, &n, &bad) < 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (dc->md.n < DIRCACHE_MAX_DESCS && !dc_map_get(&dc->md, mds[i]->digest)) {
      dc_ent_t *e = al_calloc(1, sizeof(*e));
      memcpy(e->key, mds[i]->digest, 32);
      e->text = al_memdup(mds[i]->body, mds[i]->body_len);
      e->len = mds[i]->body_len;
      e->last_listed = now;
      dc_map_put(&dc->md, e);
      added++;
    }
  }
  microdesc_list_free(mds, n);
  return added;
}

/* End of the server descriptor starting at p: the next line starting with
 * "router " or "@", or end. */
static const char *
sd_end(const char *p, const char *end)
{
  for (const char *nl; (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1)
    if (nl + 1 < end && (nl[1] == '@' ||
        (end - nl - 1 >= 7 && !memcmp(nl + 1, "router ", 7))))
      return nl + 1;
  return end;
}

static bool
add_one_sd(dircache_t *dc, const char *p, size_t len, time_t now)
{
  routerdesc_t *rd = NULL;
  if (dc->sd.n >= DIRCACHE_MAX_DESCS ||
      routerdesc_parse(p, len, &rd, NULL) < 0)
    return false;
  bool added = false;
  if (!dc_map_get(&dc->sd, rd->digest)) {
    dc_ent_t *e = al_calloc(1, sizeof(*e));
    memcpy(e->key, rd->digest, 20);
    memcpy(e->fp, rd->rsa_id, 20);
    e->published = rd->published;
    e->text = al_memdup(p, len);
    e->len = len;
    e->last_listed = now;
    dc_map_put(&dc->sd, e);
    dc_ent_t *f = dc_map_get(&dc->sd_fp, e->fp);
    if (!f || f->published < e->published)
      dc_map_put(&dc->sd_fp, e);
    added = true;
  }
  routerdesc_free(rd);
  return added;
}

size_t
dircache_add_server_descs(dircache_t *dc, const char *text, size_t len,
                          time_t now)
{
  size_t added = 0;
  if (!dc || !text)
    return 0;
  const char *end = text + len;
  for (const char *p = text; p < end;) {
    if (!(end - p >= 7 && !memcmp(p, "router ", 7))) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      p = nl ? nl + 1 : end;
      continue;
    }
    const char *next = sd_end(p, end);
    added += add_one_sd(dc, p, (size_t)(next - p), now);
    p = next;
  }
  return added;
}

static void
add_one_cert(dircache_t *dc, const char *p, size_t len, time_t now,
             size_t *added)
{
  authcert_t *ac = NULL;
  if (authcert_parse(p, len, &ac, NULL, NULL) < 0)
    return;
  size_t i;
  for (i = 0; i < dc->n_certs; i++)
    if (!memcmp(dc->certs[i].id, ac->identity_digest, 20) &&
        !memcmp(dc->certs[i].sk, ac->signing_digest, 20))
      break;
  if (ac->expires < now || (i == dc->n_certs && i == DC_MAX_CERTS) ||
      (i < dc->n_certs && dc->certs[i].published >= ac->published)) {
    authcert_free(ac);
    return;
  }
  if (i == dc->n_certs)
    dc->n_certs++;
  dc_cert_t *c = &dc->certs[i];
  al_free(c->text);
  memcpy(c->id, ac->identity_digest, 20);
  memcpy(c->sk, ac->signing_digest, 20);
  c->published = ac->published;
  c->expires = ac->expires;
  c->text = al_memdup(p, len);
  c->len = len;
  authcert_free(ac);
  (*added)++;
}

size_t
dircache_add_certs(dircache_t *dc, const char *text, size_t len, time_t now)
{
  static const char kw[] = "dir-key-certificate-version ";
  size_t added = 0, kl = sizeof(kw) - 1;
  if (!dc || !text)
    return 0;
  const char *end = text + len, *p = text, *start = NULL;
  while (p <= end) {
    bool at_kw = p < end && (size_t)(end - p) >= kl && !memcmp(p, kw, kl);
    if ((at_kw || p == end) && start) {
      add_one_cert(dc, start, (size_t)(p - start), now, &added);
      start = NULL;
    }
    if (at_kw)
      start = p;
    if (p == end)
      break;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    p = nl ? nl + 1 : end;
  }
  /* Expired certificates go. */
  size_t k = 0;
  for (size_t i = 0; i < dc->n_certs; i++) {
    if (dc->certs[i].expires >= now)
      dc->certs[k++] = dc->certs[i];
    else
      al_free(dc->certs[i].text);
  }
  dc->n_certs = k;
  return added;
}

void
dircache_on_document(dir_boot_doc_t kind, const char *text, size_t len,
                     void *arg)
{
  dircache_t *dc = arg;
  time_t now = time(NULL);
  switch (kind) {
  case DIR_BOOT_DOC_CONSENSUS:
    dircache_add_consensus(dc, text, len, now);
    break;
  case DIR_BOOT_DOC_MICRODESCS:
    dircache_add_microdescs(dc, text, len, now);
    break;
  case DIR_BOOT_DOC_SERVER_DESCS:
    dircache_add_server_descs(dc, text, len, now);
    break;
  case DIR_BOOT_DOC_CERTS:
    dircache_add_certs(dc, text, len, now);
    break;
  }
}

/* ---- loading and contents ---- */

static size_t
load_file(dircache_t *dc, const char *datadir, const char *name, int what,
          time_t now)
{
  char *path = al_asprintf("%s/%s", datadir, name), *s = NULL;
  size_t len = 0, n = 0;
  int r = fs_read_file(path, &s, &len, DC_MAX_FILE);
  al_free(path);
  if (r < 0) {
    if (r != FS_ERR_NOENT)
      log_warn("Directory cache: cannot read %s: %s", name, fs_strerror(r));
    return 0;
  }
  if (what == 'c')
    n = dircache_add_consensus(dc, s, len, now) == 0;
  else if (what == 'm')
    n = dircache_add_microdescs(dc, s, len, now);
  else if (what == 's')
    n = dircache_add_server_descs(dc, s, len, now);
  else
    n = dircache_add_certs(dc, s, len, now);
  al_free(s);
  return n;
}

void
dircache_get_contents(const dircache_t *dc, dircache_contents_t *out)
{
  memset(out, 0, sizeof(*out));
  if (!dc)
    return;
  for (int f = 0; f < 2; f++) {
    out->have_consensus[f] = dc->cur[f] != NULL;
    out->valid_after[f] = dc->cur[f] ? dc->cur[f]->valid_after : 0;
    out->n_old[f] = dc->n_old[f];
    for (size_t i = 0; i < dc->n_old[f]; i++)
      out->n_diffs[f] += dc->old[f][i]->diff != NULL;
  }
  out->n_microdescs = dc->md.n;
  out->n_server_descs = dc->sd.n;
  out->n_certs = dc->n_certs;
  out->n_hs_descs = hsdir_store_count(dc->hs);
  out->hs_bytes = hsdir_store_bytes(dc->hs);
  out->hs_max_desc_size = dc->hs_max_desc;
}
