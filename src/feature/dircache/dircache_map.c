/* dircache_map.c -- the directory cache's tables: descriptors by digest
 * (SHA-1 / SHA-256 of documents) and by RSA identity fingerprint, so each
 * request item is found in constant time (dir-spec 4: caches serve
 * descriptors by digest and fingerprint).  A thin typed layer over
 * lib/container's hash map, whose random SipHash key keeps the slot of a
 * key unpredictable to a peer. */
#include <string.h>

#include "allium/lib/malloc/malloc.h"

#include "dircache_st.h"

void
dc_map_init(dc_map_t *m, size_t keyoff, size_t keylen)
{
  memset(m, 0, sizeof(*m));
  m->keyoff = keyoff;
  m->keylen = keylen;
}

dc_ent_t *
dc_map_get(const dc_map_t *m, const uint8_t *key)
{
  return m->h ? hmap_get(m->h, key) : NULL;
}

dc_ent_t *
dc_map_put(dc_map_t *m, dc_ent_t *e)
{
  void *old = NULL;
  if (!m->h)
    m->h = hmap_new(m->keylen);
  hmap_put(m->h, (const uint8_t *)e + m->keyoff, e, &old);
  m->n = hmap_count(m->h);
  return old;
}

dc_ent_t *
dc_map_next(const dc_map_t *m, size_t *pos)
{
  const void *key;
  void *val;
  if (!m->h || !hmap_iter(m->h, pos, &key, &val))
    return NULL;
  return val;
}

void
dc_map_clear(dc_map_t *m)
{
  hmap_free(m->h);
  m->n = 0;
}
