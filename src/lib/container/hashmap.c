/* hashmap.c -- open-addressing hash map with fixed-size keys (linear
 * probing, backward-shift deletion, SipHash-1-3 under a per-map random
 * key).  See include/allium/lib/container/hashmap.h.  No torspec section. */
#include "allium/lib/container/hashmap.h"

#include <string.h>

#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

#define HMAP_MIN_CAP 16

typedef struct hmap_slot_t {
  uint64_t hash;      /* 0: empty (real hashes have bit 63 forced) */
  void *val;
} hmap_slot_t;

struct hmap_t {
  size_t key_len;
  size_t cap;         /* power of two */
  size_t count;
  hmap_slot_t *slots;
  uint8_t *keys;      /* cap * key_len */
  uint8_t sipkey[16];
};

/* ---- SipHash-1-3 (Aumasson, Bernstein) ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                          \
  do {                                                                    \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);             \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);             \
  } while (0)

static uint64_t
load_le64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

uint64_t
hmap_siphash13(const uint8_t key[16], const void *data, size_t len)
{
  const uint8_t *in = data;
  uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
  uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
  uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
  uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
  uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
  size_t full = len & ~(size_t)7;
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = load_le64(in + i);
    v3 ^= m;
    SIPROUND;
    v0 ^= m;
  }
  uint64_t b = (uint64_t)len << 56;
  for (size_t i = 0; i < (len & 7); i++)
    b |= (uint64_t)in[full + i] << (8 * i);
  v3 ^= b;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the map ---- */

static uint64_t
hash_key(const hmap_t *m, const void *key)
{
  return hmap_siphash13(m->sipkey, key, m->key_len) | (UINT64_C(1) << 63);
}

static void
alloc_table(hmap_t *m, size_t cap)
{
  m->cap = cap;
  m->slots = al_calloc(cap, sizeof(*m->slots));
  m->keys = al_reallocarray(NULL, cap, m->key_len);
}

hmap_t *
hmap_new(size_t key_len)
{
  if (key_len == 0 || key_len > HMAP_KEY_MAX)
    return NULL;
  hmap_t *m = al_calloc(1, sizeof(*m));
  m->key_len = key_len;
  crypto_rand(m->sipkey, sizeof(m->sipkey));
  alloc_table(m, HMAP_MIN_CAP);
  return m;
}

void
hmap_free_(hmap_t *m)
{
  if (!m)
    return;
  al_free(m->slots);
  al_free(m->keys);
  al_free(m);
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t
find_slot(const hmap_t *m, const void *key, uint64_t h)
{
  size_t mask = m->cap - 1, i = (size_t)h & mask;
  for (;;) {
    const hmap_slot_t *s = &m->slots[i];
    if (s->hash == 0)
      return i;
    if (s->hash == h && !memcmp(m->keys + i * m->key_len, key, m->key_len))
      return i;
    i = (i + 1) & mask;
  }
}

/* Move every entry into a new table of cap slots (a power of two that
 * holds them all). */
static void
rehash(hmap_t *m, size_t cap)
{
  hmap_slot_t *old = m->slots;
  uint8_t *oldkeys = m->keys;
  size_t oldcap = m->cap;
  alloc_table(m, cap);
  for (size_t i = 0; i < oldcap; i++) {
    if (!old[i].hash)
      continue;
    const uint8_t *k = oldkeys + i * m->key_len;
    size_t j = find_slot(m, k, old[i].hash);
    m->slots[j] = old[i];
    memcpy(m->keys + j * m->key_len, k, m->key_len);
  }
  al_free(old);
  al_free(oldkeys);
}

static void
grow(hmap_t *m)
{
  rehash(m, m->cap * 2);
}

size_t
hmap_compact(hmap_t *m)
{
  size_t cap = m->cap;
  /* Halve while the result stays at most a quarter full, so the next
   * growth is far away. */
  while (cap / 2 >= HMAP_MIN_CAP && m->count * 4 <= cap / 2)
    cap /= 2;
  if (cap == m->cap)
    return 0;
  size_t freed = (m->cap - cap) * (sizeof(*m->slots) + m->key_len);
  rehash(m, cap);
  return freed;
}

void *
hmap_get(const hmap_t *m, const void *key)
{
  uint64_t h = hash_key(m, key);
  return m->slots[find_slot(m, key, h)].val;
}

int
hmap_put(hmap_t *m, const void *key, void *val, void **old_out)
{
  if (!val)
    return -1;
  uint64_t h = hash_key(m, key);
  size_t i = find_slot(m, key, h);
  if (m->slots[i].hash) {
    if (old_out)
      *old_out = m->slots[i].val;
    m->slots[i].val = val;
    return 1;
  }
  if ((m->count + 1) * 4 > m->cap * 3) {
    grow(m);
    i = find_slot(m, key, h);
  }
  m->slots[i].hash = h;
  m->slots[i].val = val;
  memcpy(m->keys + i * m->key_len, key, m->key_len);
  m->count++;
  return 0;
}

/* Empty slot i and pull later entries of the probe run back so that no
 * lookup stops early at the hole (Knuth's algorithm R). */
static void
delete_at(hmap_t *m, size_t i)
{
  size_t mask = m->cap - 1, j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (!m->slots[j].hash)
      break;
    size_t home = (size_t)m->slots[j].hash & mask;
    /* Entry j may move to i only if its home is not in (i, j]. */
    int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (between)
      continue;
    m->slots[i] = m->slots[j];
    memcpy(m->keys + i * m->key_len, m->keys + j * m->key_len, m->key_len);
    i = j;
  }
  m->slots[i].hash = 0;
  m->slots[i].val = NULL;
  m->count--;
}

void *
hmap_remove(hmap_t *m, const void *key)
{
  uint64_t h = hash_key(m, key);
  size_t i = find_slot(m, key, h);
  if (!m->slots[i].hash)
    return NULL;
  void *v = m->slots[i].val;
  delete_at(m, i);
  return v;
}

size_t
hmap_count(const hmap_t *m)
{
  return m->count;
}

size_t
hmap_capacity(const hmap_t *m)
{
  return m->cap;
}

int
hmap_iter(const hmap_t *m, size_t *pos, const void **key_out, void **val_out)
{
  for (size_t i = *pos; i < m->cap; i++) {
    if (!m->slots[i].hash)
      continue;
    if (key_out)
      *key_out = m->keys + i * m->key_len;
    if (val_out)
      *val_out = m->slots[i].val;
    *pos = i + 1;
    return 1;
  }
  *pos = m->cap;
  return 0;
}
