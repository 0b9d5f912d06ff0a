/* exit_dns_cache.c -- the exit resolver's bounded answer cache (tor-spec
 * 6.2 note on TTLs; tor(1) has no option for its size).  Keyed by query
 * type and lower-cased name (or address, for PTR), at most cache_max
 * entries, least recently used evicted first; expired entries are never
 * served.  Only answers (EXIT_DNS_OK) and "no such name" (EXIT_DNS_NOTFOUND)
 * are kept: a timeout or SERVFAIL is retried by the next request.
 *
 * What one client can learn from it about another's lookups.  A shared
 * cache is an oracle by nature: an answer that comes back faster than a
 * DNS round trip says someone asked for that name recently.  tor keeps its
 * cache and limits the leak the same way allium does:
 *   - the TTL reported for a cached answer is the same clipped value
 *     (300 s or 3600 s, exit_dns_clip_ttl()) as for a fresh one: it never
 *     counts down, so it does not say when the entry was made;
 *   - each entry lives for the clipped TTL plus a uniform random offset in
 *     [-240, 240] s (exit_dns_fuzzy_ttl(), tor's TROVE-2021-009 fix), so
 *     the moment it disappears does not pin down when it was made either;
 *   - the raw TTL from the server is used only to choose between the two
 *     clipped values, never reported;
 *   - a cache hit goes through the same zero-timeout event as every other
 *     answer (exit_dns.c), and nothing about who asked is stored (no
 *     circuit, stream or client in an entry);
 *   - the cache is bounded, so a client cannot grow it to make entries
 *     outlive their TTL, and eviction order depends only on use.
 * What remains (a name being cached at all, observable by timing) is the
 * same as in tor. */
#define LOG_MODULE "exitdns"
#include "exit_dns_st.h"

#include <string.h>

#include "allium/lib/malloc/malloc.h"

void
dns_cache_init_(exit_dns_t *dns)
{
  dns->cache = hmap_new(DNS_KEY_LEN);
  dlist_init(&dns->lru);
}

static void
entry_drop(exit_dns_t *dns, dns_cache_entry_t *e)
{
  hmap_remove(dns->cache, e->key);
  dlist_remove(&e->lru);
  dns_part_clear_(&e->part);
  al_free(e);
}

void
dns_cache_free_all_(exit_dns_t *dns)
{
  dlist_node_t *n;
  while ((n = dlist_first(&dns->lru)))
    entry_drop(dns, DLIST_ENTRY(n, dns_cache_entry_t, lru));
  hmap_free(dns->cache);
}

const dns_cache_entry_t *
dns_cache_get_(exit_dns_t *dns, const uint8_t key[DNS_KEY_LEN])
{
  dns_cache_entry_t *e = hmap_get(dns->cache, key);
  if (!e)
    return NULL;
  if (exit_dns_now_(dns) >= e->expires) {
    entry_drop(dns, e);
    return NULL;
  }
  dlist_remove(&e->lru);
  dlist_push_tail(&dns->lru, &e->lru);
  return e;
}

/* Drop expired entries from the old end of the LRU list (at most a few per
 * call, so a put stays O(1)). */
static void
expire_some(exit_dns_t *dns, uint64_t now)
{
  for (int i = 0; i < 4; i++) {
    dlist_node_t *n = dlist_first(&dns->lru);
    if (!n)
      return;
    dns_cache_entry_t *e = DLIST_ENTRY(n, dns_cache_entry_t, lru);
    if (now < e->expires)
      return;
    entry_drop(dns, e);
  }
}

void
dns_cache_put_(exit_dns_t *dns, const uint8_t key[DNS_KEY_LEN],
               const dns_part_t *part)
{
  if (part->status != EXIT_DNS_OK && part->status != EXIT_DNS_NOTFOUND)
    return;
  uint64_t now = exit_dns_now_(dns);
  expire_some(dns, now);
  dns_cache_entry_t *e = hmap_get(dns->cache, key);
  if (e) {
    entry_drop(dns, e);
  } else {
    while (hmap_count(dns->cache) >= dns->cache_max) {
      dlist_node_t *n = dlist_first(&dns->lru);
      if (!n)
        break;
      entry_drop(dns, DLIST_ENTRY(n, dns_cache_entry_t, lru));
      dns->stats.cache_evictions++;
    }
  }
  e = al_calloc(1, sizeof(*e));
  memcpy(e->key, key, DNS_KEY_LEN);
  dlist_init(&e->lru);
  e->part = *part;
  e->part.hostname = part->hostname ? al_strdup(part->hostname) : NULL;
  e->expires = now + exit_dns_fuzzy_ttl(part->ttl);
  e->reported_ttl = exit_dns_clip_ttl(part->ttl);
  if (hmap_put(dns->cache, key, e, NULL) < 0) {
    dns_part_clear_(&e->part);
    al_free(e);
    return;
  }
  dlist_push_tail(&dns->lru, &e->lru);
}
