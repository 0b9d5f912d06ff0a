/* dircache_map.c -- the directory cache's hash tables: open addressing with
 * linear probing over digests (SHA-1 / SHA-256 of documents, RSA identity
 * fingerprints), so each request item is found in constant time
 * (dir-spec 4: caches serve descriptors by digest and fingerprint).  The
 * keys are uniform; a random per-table salt keeps the slot of a key
 * unpredictable to a peer. */
#include <string.h>

#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

#include "dircache_st.h"

void
dc_map_init(dc_map_t *m, size_t keyoff, size_t keylen)
{
  memset(m, 0, sizeof(*m));
  m->keyoff = keyoff;
  m->keylen = keylen;
  crypto_rand((uint8_t *)&m->salt, sizeof(m->salt));
}

static const uint8_t *
key_of(const dc_map_t *m, const dc_ent_t *e)
{
  return (const uint8_t *)e + m->keyoff;
}

static size_t
slot_of(const dc_map_t *m, const uint8_t *key)
{
  uint64_t h;
  memcpy(&h, key + 8, sizeof(h));
  h ^= m->salt;
  h *= 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 17) & (m->cap - 1);
}

dc_ent_t *
dc_map_get(const dc_map_t *m, const uint8_t *key)
{
  if (!m->cap)
    return NULL;
  for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
    dc_ent_t *e = m->slots[i];
    if (!e)
      return NULL;
    if (!memcmp(key_of(m, e), key, m->keylen))
      return e;
  }
}

static void
grow(dc_map_t *m)
{
  dc_ent_t **old = m->slots;
  size_t ocap = m->cap;
  m->cap = ocap ? ocap * 2 : 256;
  m->slots = al_calloc(m->cap, sizeof(*m->slots));
  m->n = 0;
  for (size_t i = 0; i < ocap; i++)
    if (old[i])
      dc_map_put(m, old[i]);
  al_free(old);
}

dc_ent_t *
dc_map_put(dc_map_t *m, dc_ent_t *e)
{
  if ((m->n + 1) * 4 > m->cap * 3)
    grow(m);
  const uint8_t *key = key_of(m, e);
  for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
    dc_ent_t *x = m->slots[i];
    if (!x) {
      m->slots[i] = e;
      m->n++;
      return NULL;
    }
    if (!memcmp(key_of(m, x), key, m->keylen)) {
      m->slots[i] = e;
      return x;
    }
  }
}

void
dc_map_clear(dc_map_t *m)
{
  al_free(m->slots);
  m->cap = m->n = 0;
}
