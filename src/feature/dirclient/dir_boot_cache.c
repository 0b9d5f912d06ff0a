/* dir_boot_cache.c -- fetching as a directory cache (dir-spec.txt 4
 * "Directory cache operation": 4.1 both consensus flavours, fetched "at a
 * randomly chosen time in the first half-interval after its current
 * consensus stops being fresh"; 4.2 every server descriptor the consensus
 * lists; 4.3 every microdescriptor).
 *
 * The nodelist keeps one flavour (the client's); in cache mode the other
 * flavour's consensus is verified the same way (signatures of more than
 * half of the authorities, reasonably live, newer), kept here with the
 * texts of the descriptors of the other kind it lists, and written to the
 * cache files tor uses (cached-consensus / cached-microdesc-consensus,
 * cached-descriptors / cached-microdescs).  Every accepted document is
 * reported through on_document, which feeds the relay's directory cache.
 */
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "dirboot"
#include "allium/feature/dirparse/microdesc.h"
#include "allium/feature/dirparse/routerdesc.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dir_boot_st.h"

time_t
dir_boot_cache_refresh_time(time_t va, time_t fu, double r)
{
  if (fu <= va)
    return fu;
  if (!(r >= 0 && r < 1))
    r = 0;
  return fu + (time_t)(r * (double)(fu - va) / 2.0);
}

void
dir_boot_emit(dir_boot_t *b, dir_boot_doc_t kind, const char *text,
              size_t len)
{
  if (b->on_document && !b->loading_cache)
    b->on_document(kind, text, len, b->on_document_arg);
}

void
dir_boot_set_document_cb(dir_boot_t *b, dir_boot_document_fn fn, void *arg)
{
  if (!b)
    return;
  b->on_document = fn;
  b->on_document_arg = arg;
}

/* The other flavour and its descriptor digest length. */
static bool
other_is_md(const dir_boot_t *b)
{
  return !b->use_microdescs;
}

static size_t
other_dlen(const dir_boot_t *b)
{
  return other_is_md(b) ? 32 : 20;
}

static const char *
other_cons_name(const dir_boot_t *b)
{
  return other_is_md(b) ? "cached-microdesc-consensus" : "cached-consensus";
}

static const char *
other_descs_name(const dir_boot_t *b)
{
  return other_is_md(b) ? "cached-microdescs" : "cached-descriptors";
}

char *
dir_boot_other_cons_path(const dir_boot_t *b, const uint8_t (*ids)[20],
                         size_t n)
{
  if (!b->fetch_as_cache)
    return NULL;
  return dir_url_consensus(other_is_md(b) ? "microdesc" : NULL, ids, n,
                           DIR_URL_CONSENSUS_FP_PREFIX, true);
}

static int
cmp_digest32(const void *a, const void *b)
{
  return memcmp(a, b, 32);
}

/* The digests the other consensus lists, each in a 32-byte slot, sorted. */
static void
index_other(dir_boot_t *b)
{
  const consensus_t *c = b->other_cons;
  al_free(b->other_digests);
  b->other_digests = al_calloc(c->n_routers ? c->n_routers : 1, 32);
  size_t n = 0;
  for (size_t i = 0; i < c->n_routers; i++) {
    const consensus_router_t *r = &c->routers[i];
    if (other_is_md(b) && !r->has_md_digest)
      continue;
    memcpy(b->other_digests + n * 32,
           other_is_md(b) ? r->md_digest : r->desc_digest, other_dlen(b));
    n++;
  }
  qsort(b->other_digests, n, 32, cmp_digest32);
  b->n_other_digests = n;
}

static bool
other_lists(const dir_boot_t *b, const uint8_t *d)
{
  uint8_t key[32] = { 0 };
  memcpy(key, d, other_dlen(b));
  return b->n_other_digests &&
         bsearch(key, b->other_digests, b->n_other_digests, 32,
                 cmp_digest32) != NULL;
}

int
dir_boot_take_other_consensus(dir_boot_t *b, const char *body, size_t len,
                              const char *from)
{
  consensus_t *c = NULL;
  netdoc_err_t err;
  const char *why = NULL;
  memset(&err, 0, sizeof(err));
  if (consensus_parse(body, len, &c, &err) < 0) {
    log_warn_rl(60, "Invalid consensus from %s: %s", from, err.msg);
    return -1;
  }
  consensus_flavor_t want = other_is_md(b) ? CONSENSUS_FLAVOR_MICRODESC
                                           : CONSENSUS_FLAVOR_NS;
  time_t have = b->other_cons ? b->other_cons->valid_after : 0;
  if (c->flavor != want ||
      dir_boot_check_consensus(c, b->certs, b->n_certs, b->auths, b->n_auths,
                               b->now(), have, &why) < 0) {
    log_info("Ignored the %s consensus from %s: %s",
             other_is_md(b) ? "microdesc" : "ns", from,
             why ? why : "wrong flavour");
    consensus_free(c);
    return -1;
  }
  consensus_free(b->other_cons);
  b->other_cons = c;
  index_other(b);
  b->other_dirty = true;
  if (!b->loading_cache) {
    dir_cache_write(b, other_cons_name(b), body, len);
    log_notice("Loaded the %s consensus as a directory cache (%zu routers)",
               other_is_md(b) ? "microdesc" : "ns", c->n_routers);
  }
  dir_boot_emit(b, DIR_BOOT_DOC_CONSENSUS, body, len);
  return 0;
}

static bool
store_other(dir_boot_t *b, const uint8_t *d, const char *text, size_t len)
{
  if (!other_lists(b, d) || dir_store_find(&b->other_store, d, other_dlen(b)))
    return false;
  dir_store_add(&b->other_store, d, other_dlen(b), text, len);
  return true;
}

/* Server descriptors one by one (from "router " to the next one). */
static size_t
take_other_sds(dir_boot_t *b, const char *body, size_t len, size_t *bad)
{
  size_t n = 0;
  const char *end = body + len;
  for (const char *p = body; p < end;) {
    if (!(end - p >= 7 && !memcmp(p, "router ", 7))) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      p = nl ? nl + 1 : end;
      continue;
    }
    const char *next = end;
    for (const char *q = p, *nl; (nl = memchr(q, '\n', (size_t)(end - q)));
         q = nl + 1)
      if (nl + 1 < end && (nl[1] == '@' ||
          (end - nl - 1 >= 7 && !memcmp(nl + 1, "router ", 7)))) {
        next = nl + 1;
        break;
      }
    routerdesc_t *rd = NULL;
    if (routerdesc_parse(p, (size_t)(next - p), &rd, NULL) == 0)
      n += store_other(b, rd->digest, p, (size_t)(next - p));
    else
      (*bad)++;
    routerdesc_free(rd);
    p = next;
  }
  return n;
}

size_t
dir_boot_take_other_descs(dir_boot_t *b, const char *body, size_t len,
                          const char *from)
{
  size_t n = 0, bad = 0;
  if (!b->other_cons)
    return 0;
  if (other_is_md(b)) {
    microdesc_t **mds = NULL;
    size_t k = 0;
    if (microdesc_parse_each(body, len, &mds, &k, &bad) == 0) {
      for (size_t i = 0; i < k; i++)
        n += store_other(b, mds[i]->digest, mds[i]->body, mds[i]->body_len);
      microdesc_list_free(mds, k);
    }
  } else {
    n = take_other_sds(b, body, len, &bad);
  }
  if (bad)
    log_warn_rl(60, "%zu invalid descriptors from %s ignored", bad, from);
  if (n) {
    b->other_dirty = true;
    dir_boot_emit(b, other_is_md(b) ? DIR_BOOT_DOC_MICRODESCS
                                    : DIR_BOOT_DOC_SERVER_DESCS, body, len);
  }
  return n;
}

size_t
dir_boot_other_desc_paths(const dir_boot_t *b, dir_url_list_t *all)
{
  if (!b->fetch_as_cache || !b->other_cons)
    return 0;
  size_t dl = other_dlen(b), n = 0;
  uint8_t *miss = al_calloc(b->n_other_digests ? b->n_other_digests : 1, dl);
  for (size_t i = 0; i < b->n_other_digests; i++) {
    const uint8_t *d = b->other_digests + i * 32;
    if (!dir_store_find((dir_store_t *)&b->other_store, d, dl))
      memcpy(miss + dl * n++, d, dl);
  }
  dir_url_list_t more = { NULL, 0 };
  int r = other_is_md(b)
          ? dir_url_microdescs(&more, (const uint8_t (*)[32])miss, n, true)
          : dir_url_server_d(&more, (const uint8_t (*)[20])miss, n, true);
  al_free(miss);
  if (r == 0 && more.n) {
    all->paths = al_reallocarray(all->paths, all->n + more.n, sizeof(char *));
    memcpy(all->paths + all->n, more.paths, more.n * sizeof(char *));
    all->n += more.n;
    al_free(more.paths);
    more.n = 0;
  }
  dir_url_list_clear(&more);
  return r == 0 ? n : 0;
}

size_t
dir_boot_other_n_missing(const dir_boot_t *b)
{
  size_t n = 0;
  if (!b->fetch_as_cache || !b->other_cons)
    return 0;
  for (size_t i = 0; i < b->n_other_digests; i++)
    n += !dir_store_find((dir_store_t *)&b->other_store,
                         b->other_digests + i * 32, other_dlen(b));
  return n;
}

void
dir_cache_save_other_descs(dir_boot_t *b)
{
  if (!b->fetch_as_cache || !b->other_cons || !b->other_dirty)
    return;
  size_t total = 0, n = 0;
  dir_store_t *s = &b->other_store;
  bool *keep = al_calloc(s->n ? s->n : 1, sizeof(bool));
  for (size_t i = 0; i < s->n; i++)
    if ((keep[i] = other_lists(b, s->e[i].digest)))
      total += s->e[i].len;
  char *buf = al_malloc(total + 1);
  total = 0;
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (keep[i]) {
      memcpy(buf + total, s->e[i].text, s->e[i].len);
      total += s->e[i].len;
      s->e[k++] = s->e[i];
      n++;
    } else {
      al_free(s->e[i].text);
    }
  }
  s->n = k;
  dir_cache_write(b, other_descs_name(b), buf, total);
  log_info("Wrote %zu descriptors of the other kind to the cache", n);
  al_free(buf);
  al_free(keep);
  b->other_dirty = false;
}

void
dir_cache_load_other(dir_boot_t *b)
{
  char *path, *s = NULL;
  size_t len = 0;
  if (!b->fetch_as_cache || !b->cache_dir)
    return;
  path = dir_cache_path(b, other_cons_name(b));
  if (path && fs_read_file(path, &s, &len, DIR_CACHE_MAX_FILE) == 0)
    dir_boot_take_other_consensus(b, s, len, "the cache");
  al_free(s);
  al_free(path);
  if (!b->other_cons)
    return;
  path = dir_cache_path(b, other_descs_name(b));
  if (path && fs_read_file(path, &s, &len, DIR_CACHE_MAX_FILE) == 0) {
    size_t n = dir_boot_take_other_descs(b, s, len, "the cache");
    log_notice("Loaded %zu %s from the cache", n,
               other_is_md(b) ? "microdescriptors" : "server descriptors");
  }
  al_free(s);
  al_free(path);
  b->other_dirty = false;
}

void
dir_boot_cache_clear(dir_boot_t *b)
{
  dir_cache_save_other_descs(b);
  consensus_free(b->other_cons);
  al_free(b->other_digests);
  dir_store_clear(&b->other_store);
}
