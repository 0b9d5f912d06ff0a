/* dir_url.c -- build directory request paths and split long digest lists
 * into batches (dir-spec.txt sections 3.11, 4.3 and appendix B).
 * See dir_url.h for the rules applied.
 */
#include "allium/feature/dirclient/dir_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

void
dir_url_list_clear(dir_url_list_t *l)
{
  if (!l)
    return;
  for (size_t i = 0; i < l->n; i++)
    al_free(l->paths[i]);
  al_free(l->paths);
  l->n = 0;
}

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/** Sort items[0..n) and drop duplicates (freeing them).  Returns new n. */
static size_t
sort_unique(char **items, size_t n)
{
  if (n == 0)
    return 0;
  qsort(items, n, sizeof(char *), cmp_str);
  size_t k = 1;
  for (size_t i = 1; i < n; i++) {
    if (!strcmp(items[i], items[k - 1]))
      al_free(items[i]);
    else
      items[k++] = items[i];
  }
  return k;
}

static void
list_push(dir_url_list_t *out, char *path)
{
  out->paths = al_reallocarray(out->paths, out->n + 1, sizeof(char *));
  out->paths[out->n++] = path;
}

/** Join prefix, items[lo..hi) with sep, and ".z".  Caller frees. */
static char *
join_range(const char *prefix, char **items, size_t lo, size_t hi, char sep,
           bool z)
{
  size_t len = strlen(prefix) + (z ? 2 : 0) + 1;
  for (size_t i = lo; i < hi; i++)
    len += strlen(items[i]) + 1;
  char *p = al_malloc(len);
  size_t off = strlen(prefix);
  memcpy(p, prefix, off);
  for (size_t i = lo; i < hi; i++) {
    if (i > lo)
      p[off++] = sep;
    size_t l = strlen(items[i]);
    memcpy(p + off, items[i], l);
    off += l;
  }
  if (z) {
    memcpy(p + off, ".z", 2);
    off += 2;
  }
  p[off] = 0;
  return p;
}

/** Sort, de-duplicate and batch items (takes ownership of each string and
 * of the array).  Returns 0, or -1 if one item alone is too long. */
static int
build_batches(dir_url_list_t *out, const char *prefix, char **items,
              size_t n, char sep, size_t max_items, bool z)
{
  int rv = 0;
  n = sort_unique(items, n);
  size_t fixed = strlen(prefix) + (z ? 2 : 0);
  size_t lo = 0;
  while (lo < n && rv == 0) {
    size_t hi = lo, len = fixed;
    while (hi < n && hi - lo < max_items) {
      size_t add = strlen(items[hi]) + (hi > lo ? 1 : 0);
      if (len + add > DIR_URL_MAX_PATH)
        break;
      len += add;
      hi++;
    }
    if (hi == lo) {
      rv = -1;
      break;
    }
    list_push(out, join_range(prefix, items, lo, hi, sep, z));
    lo = hi;
  }
  for (size_t i = 0; i < n; i++)
    al_free(items[i]);
  al_free(items);
  if (rv < 0)
    dir_url_list_clear(out);
  return rv;
}

static char *
hex_of(const uint8_t *p, size_t len)
{
  char *s = al_malloc(2 * len + 1);
  if (base16_encode(s, 2 * len + 1, p, len) < 0)
    s[0] = 0; /* cannot happen: the buffer is exactly big enough */
  return s;
}

static int
hex_batches(dir_url_list_t *out, const char *prefix,
            const uint8_t (*ids)[DIR_URL_ID_LEN], size_t n, bool z)
{
  dir_url_list_clear(out);
  if (n > 0 && !ids)
    return -1;
  char **items = al_calloc(n ? n : 1, sizeof(char *));
  for (size_t i = 0; i < n; i++)
    items[i] = hex_of(ids[i], DIR_URL_ID_LEN);
  return build_batches(out, prefix, items, n, '+', DIR_URL_MAX_FPS, z);
}

static bool
flavor_ok(const char *f)
{
  if (!*f || strlen(f) > 64)
    return false;
  for (; *f; f++) {
    if (!((*f >= 'a' && *f <= 'z') || (*f >= '0' && *f <= '9') || *f == '-'))
      return false;
  }
  return true;
}

char *
dir_url_consensus(const char *flavor, const uint8_t (*auth_ids)[DIR_URL_ID_LEN],
                  size_t n_auth, size_t prefix_len, bool compressed)
{
  char base[128];
  if (!flavor || !strcmp(flavor, "ns")) {
    strcpy(base, "/tor/status-vote/current/consensus");
  } else {
    if (!flavor_ok(flavor))
      return NULL;
    snprintf(base, sizeof(base), "/tor/status-vote/current/consensus-%s",
             flavor);
  }
  if (n_auth == 0)
    return al_asprintf("%s%s", base, compressed ? ".z" : "");
  if (!auth_ids || n_auth > DIR_URL_MAX_FPS || prefix_len < 1 ||
      prefix_len > DIR_URL_ID_LEN)
    return NULL;
  char **items = al_calloc(n_auth, sizeof(char *));
  for (size_t i = 0; i < n_auth; i++)
    items[i] = hex_of(auth_ids[i], prefix_len);
  size_t n = sort_unique(items, n_auth);
  strcat(base, "/");
  char *path = join_range(base, items, 0, n, '+', compressed);
  for (size_t i = 0; i < n; i++)
    al_free(items[i]);
  al_free(items);
  return path;
}

char *
dir_url_keys_all(bool compressed)
{
  return al_strdup(compressed ? "/tor/keys/all.z" : "/tor/keys/all");
}

char *
dir_url_server_all(bool compressed)
{
  return al_strdup(compressed ? "/tor/server/all.z" : "/tor/server/all");
}

int
dir_url_keys_fp(dir_url_list_t *out, const uint8_t (*ids)[DIR_URL_ID_LEN],
                size_t n, bool compressed)
{
  return hex_batches(out, "/tor/keys/fp/", ids, n, compressed);
}

int
dir_url_server_d(dir_url_list_t *out,
                 const uint8_t (*digests)[DIR_URL_ID_LEN], size_t n,
                 bool compressed)
{
  return hex_batches(out, "/tor/server/d/", digests, n, compressed);
}

int
dir_url_server_fp(dir_url_list_t *out, const uint8_t (*ids)[DIR_URL_ID_LEN],
                  size_t n, bool compressed)
{
  return hex_batches(out, "/tor/server/fp/", ids, n, compressed);
}

int
dir_url_keys_fp_sk(dir_url_list_t *out, const uint8_t (*ids)[DIR_URL_ID_LEN],
                   const uint8_t (*sks)[DIR_URL_ID_LEN], size_t n,
                   bool compressed)
{
  dir_url_list_clear(out);
  if (n > 0 && (!ids || !sks))
    return -1;
  char **items = al_calloc(n ? n : 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    char *f = hex_of(ids[i], DIR_URL_ID_LEN), *s = hex_of(sks[i], DIR_URL_ID_LEN);
    items[i] = al_asprintf("%s-%s", f, s);
    al_free(f);
    al_free(s);
  }
  return build_batches(out, "/tor/keys/fp-sk/", items, n, '+',
                       DIR_URL_MAX_FPS, compressed);
}

int
dir_url_microdescs(dir_url_list_t *out,
                   const uint8_t (*digests)[DIR_URL_MD_DIGEST_LEN], size_t n,
                   bool compressed)
{
  dir_url_list_clear(out);
  if (n > 0 && !digests)
    return -1;
  char **items = al_calloc(n ? n : 1, sizeof(char *));
  size_t sz = base64_encode_size(DIR_URL_MD_DIGEST_LEN, BASE64_FLAG_NOPAD);
  for (size_t i = 0; i < n; i++) {
    items[i] = al_malloc(sz);
    if (base64_encode(items[i], sz, digests[i], DIR_URL_MD_DIGEST_LEN,
                      BASE64_FLAG_NOPAD) < 0)
      items[i][0] = 0; /* cannot happen: sized by base64_encode_size() */
  }
  return build_batches(out, "/tor/micro/d/", items, n, '-',
                       DIR_URL_MAX_MICRODESCS, compressed);
}
