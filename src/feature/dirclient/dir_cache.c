/* dir_cache.c -- the documents a directory bootstrap accepts and the
 * client's directory cache (dir-spec 5.1, 5.2; tor's DataDirectory file
 * names: cached-certs, cached-consensus / cached-microdesc-consensus,
 * cached-descriptors / cached-microdescs).
 *
 * Certificates are kept only for configured v3 identities; a consensus is
 * accepted only when dir_boot_check_consensus() agrees (signatures from
 * more than half of the authorities, reasonably live, newer than the
 * one held); descriptors are attached only when the consensus names them.
 * Cache files are written atomically with mode 0600; a cache file that does
 * not parse or verify is ignored with a log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "dirboot"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/feature/dirparse/microdesc.h"
#include "allium/feature/dirparse/routerdesc.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dir_boot_st.h"

char *
dir_cache_path(const dir_boot_t *b, const char *name)
{
  if (!b->cache_dir)
    return NULL;
  return al_asprintf("%s/%s", b->cache_dir, name);
}

const char *
dir_cache_consensus_name(const dir_boot_t *b)
{
  return b->use_microdescs ? "cached-microdesc-consensus" : "cached-consensus";
}

const char *
dir_cache_descs_name(const dir_boot_t *b)
{
  return b->use_microdescs ? "cached-microdescs" : "cached-descriptors";
}

void
dir_cache_write(const dir_boot_t *b, const char *name, const char *data,
                size_t len)
{
  char *path = dir_cache_path(b, name);
  if (!path)
    return;
  int r = fs_write_file_atomic(path, data, len, 0600);
  if (r < 0)
    log_warn("Cannot write the directory cache file %s: %s", name,
             fs_strerror(r));
  al_free(path);
}

/* ---- descriptor text store ---- */

void
dir_store_clear(dir_store_t *s)
{
  for (size_t i = 0; i < s->n; i++)
    al_free(s->e[i].text);
  al_free(s->e);
  s->n = s->cap = 0;
}

static int
store_cmp(const void *a, const void *b)
{
  return memcmp(((const dir_store_ent_t *)a)->digest,
                ((const dir_store_ent_t *)b)->digest, 32);
}

dir_store_ent_t *
dir_store_find(dir_store_t *s, const uint8_t *digest, size_t dlen)
{
  dir_store_ent_t key;
  memset(&key, 0, sizeof(key));
  memcpy(key.digest, digest, dlen);
  if (!s->n)
    return NULL;
  return bsearch(&key, s->e, s->n, sizeof(*s->e), store_cmp);
}

void
dir_store_add(dir_store_t *s, const uint8_t *digest, size_t dlen,
              const char *text, size_t len)
{
  if (dlen > 32 || dir_store_find(s, digest, dlen))
    return;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->e = al_realloc(s->e, s->cap * sizeof(*s->e));
  }
  dir_store_ent_t *e = &s->e[s->n++];
  memset(e, 0, sizeof(*e));
  memcpy(e->digest, digest, dlen);
  e->text = al_malloc(len + 1);
  memcpy(e->text, text, len);
  e->text[len] = '\0';
  e->len = len;
  /* Keep sorted: insertion of the last element. */
  for (size_t i = s->n - 1; i > 0 && store_cmp(&s->e[i - 1], &s->e[i]) > 0;
       i--) {
    dir_store_ent_t t = s->e[i];
    s->e[i] = s->e[i - 1];
    s->e[i - 1] = t;
  }
}

/* Drop the entries not marked in keep (order is preserved). */
static void
store_prune(dir_store_t *s, const bool *keep)
{
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (keep[i])
      s->e[k++] = s->e[i];
    else
      al_free(s->e[i].text);
  }
  s->n = k;
}

void
dir_cache_save_descs(dir_boot_t *b)
{
  const consensus_t *c = nodelist_get_consensus(b->nl);
  if (!b->cache_dir || !c)
    return;
  size_t total = 0, cap = 0, n = 0;
  char *buf = NULL;
  bool *keep = al_calloc(b->store.n ? b->store.n : 1, sizeof(bool));
  for (size_t i = 0; i < c->n_routers; i++) {
    const consensus_router_t *r = &c->routers[i];
    const dir_store_ent_t *e;
    if (b->use_microdescs)
      e = r->has_md_digest ? dir_store_find(&b->store, r->md_digest, 32) : NULL;
    else
      e = dir_store_find(&b->store, r->desc_digest, 20);
    if (!e)
      continue;
    keep[e - b->store.e] = true;
    if (total + e->len + 1 > cap) {
      cap = (total + e->len + 1) * 2;
      buf = al_realloc(buf, cap);
    }
    memcpy(buf + total, e->text, e->len);
    total += e->len;
    n++;
  }
  dir_cache_write(b, dir_cache_descs_name(b), buf ? buf : "", total);
  log_info("Wrote %zu descriptors to the cache", n);
  al_free(buf);
  store_prune(&b->store, keep);
  al_free(keep);
}

/* ---- accepting documents ---- */

void
dir_cache_save_certs(const dir_boot_t *b)
{
  size_t total = 0;
  for (size_t i = 0; i < b->n_certs; i++)
    total += strlen(b->cert_texts[i]);
  char *buf = al_malloc(total + 1);
  size_t off = 0;
  for (size_t i = 0; i < b->n_certs; i++) {
    size_t l = strlen(b->cert_texts[i]);
    memcpy(buf + off, b->cert_texts[i], l);
    off += l;
  }
  dir_cache_write(b, "cached-certs", buf, off);
  al_free(buf);
}

/* Keep cert (text[0..len)) if a configured v3ident names it and it is not
 * older than the one held for that identity.  Takes cert; true if kept. */
static bool
merge_cert(dir_boot_t *b, authcert_t *cert, const char *text, size_t len)
{
  authcert_t *one[1] = { cert }, *kept[1];
  if (dir_boot_trusted_certs(one, 1, b->auths, b->n_auths, kept, 1) != 1) {
    authcert_free(cert);
    return false;
  }
  size_t i;
  for (i = 0; i < b->n_certs; i++)
    if (!memcmp(b->certs[i]->identity_digest, cert->identity_digest, 20))
      break;
  if (i < b->n_certs && b->certs[i]->published >= cert->published) {
    authcert_free(cert);
    return false;
  }
  if (i == b->n_certs) {
    if (b->n_certs >= b->n_auths) {
      authcert_free(cert);
      return false;
    }
    b->n_certs++;
  }
  authcert_free(b->certs[i]);
  al_free(b->cert_texts[i]);
  b->certs[i] = cert;
  b->cert_texts[i] = al_malloc(len + 1);
  memcpy(b->cert_texts[i], text, len);
  b->cert_texts[i][len] = '\0';
  return true;
}

/* Start of the next line beginning with kw at or after p, else end. */
static const char *
next_line_with(const char *p, const char *end, const char *kw)
{
  size_t kl = strlen(kw);
  for (const char *q = p; q < end;) {
    if ((size_t)(end - q) >= kl && !memcmp(q, kw, kl))
      return q;
    const char *nl = memchr(q, '\n', (size_t)(end - q));
    q = nl ? nl + 1 : end;
  }
  return end;
}

int
dir_boot_take_certs(dir_boot_t *b, const char *body, size_t len,
                    const char *from)
{
  static const char kw[] = "dir-key-certificate-version ";
  const char *end = body + len;
  size_t kept = 0, bad = 0;
  const char *p = next_line_with(body, end, kw);
  while (p < end) {
    const char *next = next_line_with(p + 1, end, kw);
    authcert_t *cert = NULL;
    if (authcert_parse(p, (size_t)(next - p), &cert, NULL, NULL) == 0)
      kept += merge_cert(b, cert, p, (size_t)(next - p));
    else
      bad++;
    p = next;
  }
  if (bad)
    log_warn_rl(60, "%zu invalid key certificates from %s ignored", bad, from);
  if (kept)
    dir_boot_emit(b, DIR_BOOT_DOC_CERTS, body, len);
  if (kept) {
    b->certs_stale = false;
    log_info("Loaded %zu authority key certificates from %s (%zu held)",
             kept, from, b->n_certs);
  }
  return kept ? 0 : -1;
}

int
dir_boot_take_consensus(dir_boot_t *b, const char *body, size_t len,
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
  consensus_flavor_t want = b->use_microdescs ? CONSENSUS_FLAVOR_MICRODESC
                                              : CONSENSUS_FLAVOR_NS;
  if (c->flavor != want) {
    log_warn_rl(60, "Consensus from %s has the wrong flavour; ignored", from);
    consensus_free(c);
    return -1;
  }
  int valid = dir_boot_check_consensus(c, b->certs, b->n_certs, b->auths,
                                       b->n_auths, b->now(), b->cons_va, &why);
  if (valid < 0) {
    if (!strncmp(why, "not newer", 9))
      log_info("Ignored the consensus from %s: %s", from, why);
    else
      log_warn_rl(60, "Rejected the consensus from %s: %s", from, why);
    if (!strncmp(why, "not enough", 10))
      b->certs_stale = true;
    consensus_free(c);
    return -1;
  }
  size_t n_routers = c->n_routers;
  b->cons_va = c->valid_after;
  if (nodelist_set_consensus(b->nl, c) < 0) {
    log_warn_rl(60, "The nodelist refused the consensus from %s", from);
    return -1;
  }
  log_notice("Loaded a consensus from %s: %zu routers, signatures %d/%zu "
             "valid", from, n_routers, valid, b->n_v3);
  dir_boot_emit(b, DIR_BOOT_DOC_CONSENSUS, body, len);
  bootstrap_report(BOOTSTRAP_LOADING_KEYS);
  return 0;
}

/* Server descriptors: each from its "router " line through the end of its
 * signature object; parsed one by one so one bad descriptor does not cost
 * the others. */
static size_t
take_server_descs(dir_boot_t *b, const char *body, size_t len, size_t *bad)
{
  size_t attached = 0;
  const char *end = body + len;
  const char *p = body;
  while (p < end) {
    if (!(p + 7 <= end && !memcmp(p, "router ", 7))) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      p = nl ? nl + 1 : end;
      continue;
    }
    const char *q = p;
    const char *next = end;
    for (const char *nl; (nl = memchr(q, '\n', (size_t)(end - q))); q = nl + 1)
      if (nl + 1 < end && (nl[1] == '@' ||
          (end - nl - 1 >= 7 && !memcmp(nl + 1, "router ", 7)))) {
        next = nl + 1;
        break;
      }
    routerdesc_t *rd = NULL;
    if (routerdesc_parse(p, (size_t)(next - p), &rd, NULL) == 0) {
      uint8_t d[20];
      memcpy(d, rd->digest, 20);
      if (nodelist_add_routerdesc(b->nl, rd) == 0) {
        if (b->cache_dir)
          dir_store_add(&b->store, d, 20, p, (size_t)(next - p));
        attached++;
      }
    } else {
      (*bad)++;
    }
    p = next;
  }
  return attached;
}

/* Microdescriptors: parsed one by one too (microdesc_parse_each), so a
 * malformed one does not cost the others of its response or cache file. */
static size_t
take_microdescs(dir_boot_t *b, const char *body, size_t len, size_t *bad)
{
  microdesc_t **mds = NULL;
  size_t n = 0, attached = 0;
  if (microdesc_parse_each(body, len, &mds, &n, bad) < 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    microdesc_t *md = mds[i];
    mds[i] = NULL;
    uint8_t d[32];
    char *text = al_memdup(md->body, md->body_len);
    size_t tlen = md->body_len;
    memcpy(d, md->digest, 32);
    if (nodelist_add_microdesc(b->nl, md) == 0) {
      if (b->cache_dir)
        dir_store_add(&b->store, d, 32, text, tlen);
      attached++;
    }
    al_free(text);
  }
  al_free(mds);
  return attached;
}

size_t
dir_boot_take_descs(dir_boot_t *b, const char *body, size_t len,
                    const char *from)
{
  size_t bad = 0, n;
  if (!nodelist_get_consensus(b->nl))
    return 0;
  /* One NEWDESC event for the whole batch (control port). */
  nodelist_ctl_defer(b->nl, true);
  n = b->use_microdescs ? take_microdescs(b, body, len, &bad)
                        : take_server_descs(b, body, len, &bad);
  nodelist_ctl_defer(b->nl, false);
  if (bad)
    log_warn_rl(60, "%zu invalid %s from %s ignored", bad,
             b->use_microdescs ? "microdescriptors" : "server descriptors", from);
  if (n)
    dir_boot_emit(b, b->use_microdescs ? DIR_BOOT_DOC_MICRODESCS
                                       : DIR_BOOT_DOC_SERVER_DESCS, body, len);
  return n;
}

/* ---- loading the cache ---- */

static char *
read_cache(const dir_boot_t *b, const char *name, size_t *len)
{
  char *path = dir_cache_path(b, name);
  char *data = NULL;
  if (!path)
    return NULL;
  int r = fs_read_file(path, &data, len, DIR_CACHE_MAX_FILE);
  if (r < 0 && r != FS_ERR_NOENT)
    log_warn("Cannot read the directory cache file %s: %s", name,
             fs_strerror(r));
  al_free(path);
  return r < 0 ? NULL : data;
}

bool
dir_cache_load(dir_boot_t *b)
{
  size_t len = 0;
  char *s;
  bool loaded = false;
  if (!b->cache_dir)
    return false;
  b->loading_cache = true;
  if ((s = read_cache(b, "cached-certs", &len))) {
    dir_boot_take_certs(b, s, len, "the cache");
    al_free(s);
  }
  if ((s = read_cache(b, dir_cache_consensus_name(b), &len))) {
    if (dir_boot_take_consensus(b, s, len, "the cache") == 0) {
      loaded = true;
      const consensus_t *c = nodelist_get_consensus(b->nl);
      char va[32] = "?";
      struct tm tm;
      if (gmtime_r(&c->valid_after, &tm))
        strftime(va, sizeof(va), "%Y-%m-%d %H:%M:%S", &tm);
      log_notice("Loaded a live consensus from the cache (%zu routers, "
                 "valid-after %s)", c->n_routers, va);
    } else {
      log_notice("Ignoring the cached consensus: expired or invalid");
    }
    al_free(s);
  }
  if (loaded && (s = read_cache(b, dir_cache_descs_name(b), &len))) {
    size_t n = dir_boot_take_descs(b, s, len, "the cache");
    log_notice("Loaded %zu descriptors from the cache", n);
    al_free(s);
  }
  if (loaded)
    dir_cache_load_other(b);
  b->loading_cache = false;
  if (loaded)
    dir_boot_report(b);
  return loaded;
}
