/* hsdir_store.c -- an HSDir's bounded cache of v3 onion-service descriptors
 * (rend-spec-v3 2.2.5 expiry, 2.2.6 publish/fetch, 2.4 revision-counter).
 *
 * Entries live in a hash map keyed by the blinded key (32 bytes).  Expiry
 * and eviction walk the map: the store holds at most a few tens of thousands
 * of entries and a walk happens only on a put that needs room or on an
 * explicit expire, so O(n) is fine.  Nothing here logs a key: a blinded key
 * names an onion service for a period.
 */
#include <string.h>

#define LOG_MODULE "hsdir"

#include "allium/feature/dircache/hsdir_store.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

typedef struct hsdir_entry_t {
  uint8_t key[ED25519_PUBKEY_LEN];
  uint64_t revision_counter;
  time_t stored_at;
  time_t expires_at;      /* min(stored_at + lifetime, cert expiry) */
  char *text;             /* NUL-terminated copy of the upload */
  size_t len;
} hsdir_entry_t;

struct hsdir_store_t {
  hmap_t *map;            /* key -> hsdir_entry_t */
  size_t bytes;
  size_t max_bytes;
  size_t max_entries;
  size_t max_desc_size;
  hsdir_store_stats_t stats;
};

static size_t
entry_cost(const hsdir_entry_t *e)
{
  return e->len + HSDIR_STORE_ENTRY_OVERHEAD;
}

static void
entry_free(hsdir_entry_t *e)
{
  if (!e)
    return;
  al_free(e->text);
  al_free(e);
}

hsdir_store_t *
hsdir_store_new(size_t max_bytes, size_t max_entries)
{
  hsdir_store_t *st = al_calloc(1, sizeof(*st));
  st->map = hmap_new(ED25519_PUBKEY_LEN);
  st->max_bytes = max_bytes ? max_bytes : HSDIR_STORE_DEFAULT_MAX_BYTES;
  st->max_entries = max_entries ? max_entries : HSDIR_STORE_DEFAULT_MAX_ENTRIES;
  st->max_desc_size = HS_DESC_MAX_LEN;
  return st;
}

void
hsdir_store_free_(hsdir_store_t *st)
{
  if (!st)
    return;
  size_t pos = 0;
  const void *k;
  void *v;
  while (hmap_iter(st->map, &pos, &k, &v))
    entry_free(v);
  hmap_free(st->map);
  al_free(st);
}

void
hsdir_store_set_max_desc_size(hsdir_store_t *st, size_t max_len)
{
  if (st)
    st->max_desc_size = max_len ? max_len : HS_DESC_MAX_LEN;
}

static void
store_remove(hsdir_store_t *st, hsdir_entry_t *e)
{
  hmap_remove(st->map, e->key);
  st->bytes -= entry_cost(e);
  entry_free(e);
}

size_t
hsdir_store_expire(hsdir_store_t *st, time_t now)
{
  if (!st)
    return 0;
  size_t n = 0;
  for (;;) {            /* the map must not change during a walk: restart */
    size_t pos = 0;
    const void *k;
    void *v;
    hsdir_entry_t *victim = NULL;
    while (hmap_iter(st->map, &pos, &k, &v)) {
      if (((hsdir_entry_t *)v)->expires_at <= now) {
        victim = v;
        break;
      }
    }
    if (!victim)
      break;
    store_remove(st, victim);
    n++;
  }
  st->stats.expired += n;
  return n;
}

/* Evict the soonest-expiring entry; 0, or -1 if the store is empty. */
static int
store_evict_one(hsdir_store_t *st)
{
  size_t pos = 0;
  const void *k;
  void *v;
  hsdir_entry_t *victim = NULL;
  while (hmap_iter(st->map, &pos, &k, &v)) {
    hsdir_entry_t *e = v;
    if (!victim || e->expires_at < victim->expires_at)
      victim = e;
  }
  if (!victim)
    return -1;
  store_remove(st, victim);
  st->stats.evicted++;
  return 0;
}

static int
store_refuse(hsdir_store_t *st, int code, const char *why)
{
  static log_ratelim_t rl = LOG_RATELIM_INIT(60);
  if (code == HSDIR_STORE_ERR_REPLAY)
    st->stats.replayed++;
  else
    st->stats.invalid++;
  log_info_ratelim(&rl, "Refused an onion-service descriptor upload: %s", why);
  return code;
}

int
hsdir_store_put(hsdir_store_t *st, const char *text, size_t len, time_t now,
                ed25519_public_key_t *blinded_out)
{
  if (!st || !text)
    return HSDIR_STORE_ERR_ARG;
  hs_desc_outer_t *d = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (hs_desc_outer_parse(text, len, st->max_desc_size, NULL, now, &d, &err) < 0)
    return store_refuse(st, HSDIR_STORE_ERR_INVALID, err.msg);
  hsdir_store_expire(st, now);
  hsdir_entry_t *old = hmap_get(st->map, d->blinded_key.pubkey);
  if (old && old->revision_counter >= d->revision_counter) {
    hs_desc_outer_free(d);
    return store_refuse(st, HSDIR_STORE_ERR_REPLAY,
                        "revision-counter not above the stored one");
  }
  if (len + HSDIR_STORE_ENTRY_OVERHEAD > st->max_bytes) {
    hs_desc_outer_free(d);
    return store_refuse(st, HSDIR_STORE_ERR_TOO_BIG, "larger than the store");
  }
  hsdir_entry_t *e = al_calloc(1, sizeof(*e));
  memcpy(e->key, d->blinded_key.pubkey, ED25519_PUBKEY_LEN);
  e->revision_counter = d->revision_counter;
  e->stored_at = now;
  e->expires_at = now + (time_t)d->lifetime_min * 60;
  if (d->cert_expiry < e->expires_at)
    e->expires_at = d->cert_expiry;
  e->text = al_malloc(len + 1);
  memcpy(e->text, text, len);
  e->text[len] = '\0';
  e->len = len;
  if (blinded_out)
    *blinded_out = d->blinded_key;
  hs_desc_outer_free(d);
  if (old)
    store_remove(st, old);
  while (st->bytes + entry_cost(e) > st->max_bytes ||
         hmap_count(st->map) + 1 > st->max_entries) {
    if (store_evict_one(st) < 0)
      break;
  }
  hmap_put(st->map, e->key, e, NULL);
  st->bytes += entry_cost(e);
  st->stats.stored++;
  return HSDIR_STORE_OK;
}

char *
hsdir_store_get(hsdir_store_t *st, const uint8_t blinded_key[ED25519_PUBKEY_LEN],
                time_t now, size_t *len_out)
{
  if (!st || !blinded_key)
    return NULL;
  hsdir_entry_t *e = hmap_get(st->map, blinded_key);
  if (!e)
    return NULL;
  if (e->expires_at <= now) {
    store_remove(st, e);
    st->stats.expired++;
    return NULL;
  }
  if (len_out)
    *len_out = e->len;
  return al_memdup(e->text, e->len + 1);
}

char *
hsdir_store_get_b64(hsdir_store_t *st, const char *blinded_key_b64, time_t now,
                    size_t *len_out)
{
  uint8_t key[ED25519_PUBKEY_LEN];
  if (!blinded_key_b64)
    return NULL;
  size_t n = strlen(blinded_key_b64);
  if (n != 43 && !(n == 44 && blinded_key_b64[43] == '='))
    return NULL;
  if (netdoc_parse_b64(blinded_key_b64, key, sizeof(key)) < 0)
    return NULL;
  return hsdir_store_get(st, key, now, len_out);
}

size_t
hsdir_store_count(const hsdir_store_t *st)
{
  return st ? hmap_count(st->map) : 0;
}

size_t
hsdir_store_bytes(const hsdir_store_t *st)
{
  return st ? st->bytes : 0;
}

void
hsdir_store_get_stats(const hsdir_store_t *st, hsdir_store_stats_t *out)
{
  if (!out)
    return;
  if (st)
    *out = st->stats;
  else
    memset(out, 0, sizeof(*out));
}
