/* hashmap.h -- an open-addressing hash map from fixed-size keys (1 to
 * HMAP_KEY_MAX bytes, set when the map is made) to pointers, for lookups on
 * the cell path: circuit by (channel, circuit id), channel by identity.
 *
 * Linear probing with backward-shift deletion (no tombstones), keys stored
 * inline, a stored 64-bit hash compared before the key.  A lookup never
 * allocates; an insert grows the table (doubling, amortised O(1)) when the
 * load would pass 3/4.  Keys may be chosen by a peer (a circuit id), so the
 * hash is SipHash-1-3 under a random key drawn when the map is made: a peer
 * cannot aim its ids at one probe run.
 *
 * No onion-routing knowledge; not thread-safe.
 */
#ifndef ALLIUM_LIB_CONTAINER_HASHMAP_H
#define ALLIUM_LIB_CONTAINER_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

/** Longest key. */
#define HMAP_KEY_MAX 32

typedef struct hmap_t hmap_t;

/** New empty map for keys of key_len bytes (1..HMAP_KEY_MAX); NULL if
 * key_len is out of range.  Caller frees with hmap_free(). */
hmap_t *hmap_new(size_t key_len);
/** Free the map (not the values); NULL is fine. */
void hmap_free_(hmap_t *m);
#define hmap_free(p) do { hmap_free_(p); (p) = NULL; } while (0)

/** The value under key (key_len bytes), or NULL. */
void *hmap_get(const hmap_t *m, const void *key);
/** Store val (not NULL) under key: 0 if the key was new, 1 if an old value
 * was replaced (*old_out gets it when old_out is not NULL), -1 if val is
 * NULL. */
int hmap_put(hmap_t *m, const void *key, void *val, void **old_out);
/** Remove key; its value, or NULL if absent. */
void *hmap_remove(hmap_t *m, const void *key);
/** Entries stored. */
size_t hmap_count(const hmap_t *m);
/** Slots allocated (for tests and memory accounting). */
size_t hmap_capacity(const hmap_t *m);
/** Give memory back after many removals: shrink the table while it would
 * stay at most a quarter full (never below the minimum).  Returns the bytes
 * freed (0: nothing to do).  Invalidates hmap_iter() positions: never call
 * it during a walk. */
size_t hmap_compact(hmap_t *m);

/** Walk the map: start with *pos = 0; each call returns 1 and fills
 * *key_out (borrowed, valid until the next change) and *val_out, or 0 at
 * the end.  The map must not change during a walk. */
int hmap_iter(const hmap_t *m, size_t *pos, const void **key_out,
              void **val_out);

/* Convenience for 8-byte keys (the cell path's (channel, circuit id)). */
static inline void *hmap_get_u64(const hmap_t *m, uint64_t k)
{
  return hmap_get(m, &k);
}
static inline int hmap_put_u64(hmap_t *m, uint64_t k, void *v)
{
  return hmap_put(m, &k, v, NULL);
}
static inline void *hmap_remove_u64(hmap_t *m, uint64_t k)
{
  return hmap_remove(m, &k);
}

/** SipHash-1-3 of data under a 16-byte key (exported for tests). */
uint64_t hmap_siphash13(const uint8_t key[16], const void *data, size_t len);

#endif
