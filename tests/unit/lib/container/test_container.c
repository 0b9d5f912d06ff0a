/* test_container.c -- unit tests for src/lib/container: the hash map
 * (insert/replace/remove against a reference model under random churn,
 * growth, backward-shift deletion across wrap-around, SipHash-1-3 known
 * answer, bad key lengths), the intrusive list and the min-heap. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "allium/lib/container/dlist.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/container/minheap.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(hashmap, .init = setup);

Test(hashmap, siphash13_known_answer)
{
  /* SipHash-1-3 with key 00..0f: the empty and 1-byte answers are the
   * published reference vectors; the 15-byte one (full-word path) was
   * cross-checked with an independent implementation. */
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; i++)
    key[i] = (uint8_t)i;
  for (int i = 0; i < 64; i++)
    msg[i] = (uint8_t)i;
  cr_assert_eq(hmap_siphash13(key, msg, 0), UINT64_C(0xabac0158050fc4dc));
  cr_assert_eq(hmap_siphash13(key, msg, 1), UINT64_C(0xc9f49bf37d57ca93));
  cr_assert_eq(hmap_siphash13(key, msg, 15), UINT64_C(0xd320d86d2a519956));
}

Test(hashmap, bad_key_len)
{
  cr_assert_null(hmap_new(0));
  cr_assert_null(hmap_new(HMAP_KEY_MAX + 1));
  hmap_free_(NULL);
}

Test(hashmap, put_get_replace_remove)
{
  hmap_t *m = hmap_new(20);
  uint8_t k1[20] = { 1 }, k2[20] = { 2 };
  int a, b, c;
  void *old = NULL;
  cr_assert_null(hmap_get(m, k1));
  cr_assert_eq(hmap_put(m, k1, &a, NULL), 0);
  cr_assert_eq(hmap_put(m, k2, &b, NULL), 0);
  cr_assert_eq(hmap_put(m, k1, NULL, NULL), -1);
  cr_assert_eq(hmap_get(m, k1), &a);
  cr_assert_eq(hmap_put(m, k1, &c, &old), 1);
  cr_assert_eq(old, &a);
  cr_assert_eq(hmap_get(m, k1), &c);
  cr_assert_eq(hmap_count(m), 2);
  cr_assert_eq(hmap_remove(m, k1), &c);
  cr_assert_null(hmap_remove(m, k1));
  cr_assert_null(hmap_get(m, k1));
  cr_assert_eq(hmap_get(m, k2), &b);
  cr_assert_eq(hmap_count(m), 1);
  hmap_free(m);
  cr_assert_null(m);
}

/* Random churn against a plain array model: every key present in the
 * model is found with its value, every absent key is not. */
Test(hashmap, churn_matches_model)
{
  enum { N = 4096 };
  static int vals[N];
  static bool present[N];
  hmap_t *m = hmap_new(8);
  uint64_t x = 88172645463325252ULL;
  memset(present, 0, sizeof(present));
  for (int step = 0; step < 200000; step++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    uint64_t k = x % N;
    if ((x >> 20) & 1) {
      int r = hmap_put_u64(m, k * 0x100000001ULL, &vals[k]);
      cr_assert_eq(r, present[k] ? 1 : 0);
      present[k] = true;
    } else {
      void *v = hmap_remove_u64(m, k * 0x100000001ULL);
      cr_assert_eq(v, present[k] ? &vals[k] : NULL);
      present[k] = false;
    }
  }
  size_t n = 0;
  for (uint64_t k = 0; k < N; k++) {
    void *v = hmap_get_u64(m, k * 0x100000001ULL);
    cr_assert_eq(v, present[k] ? &vals[k] : NULL, "key %llu",
                 (unsigned long long)k);
    n += present[k];
  }
  cr_assert_eq(hmap_count(m), n);
  /* The load never passes 3/4. */
  cr_assert_leq(hmap_count(m) * 4, hmap_capacity(m) * 3);
  size_t pos = 0, seen = 0;
  const void *key;
  void *val;
  while (hmap_iter(m, &pos, &key, &val)) {
    uint64_t k;
    memcpy(&k, key, 8);
    cr_assert_eq(val, &vals[k / 0x100000001ULL]);
    seen++;
  }
  cr_assert_eq(seen, n);
  hmap_free(m);
}

Test(hashmap, grows_and_empties)
{
  hmap_t *m = hmap_new(4);
  int v;
  for (uint32_t i = 0; i < 10000; i++)
    cr_assert_eq(hmap_put(m, &i, &v, NULL), 0);
  cr_assert_eq(hmap_count(m), 10000);
  cr_assert_geq(hmap_capacity(m), 10000 * 4 / 3);
  for (uint32_t i = 0; i < 10000; i++)
    cr_assert_eq(hmap_remove(m, &i), &v);
  cr_assert_eq(hmap_count(m), 0);
  size_t pos = 0;
  cr_assert_eq(hmap_iter(m, &pos, NULL, NULL), 0);
  hmap_free(m);
}

Test(hashmap, compact_shrinks_and_keeps_entries)
{
  hmap_t *m = hmap_new(8);
  static int vals[20000];
  for (uint64_t i = 0; i < 20000; i++)
    cr_assert_eq(hmap_put_u64(m, i, &vals[i]), 0);
  size_t big = hmap_capacity(m);
  cr_assert_eq(hmap_compact(m), 0, "a full table is not shrunk");
  cr_assert_eq(hmap_capacity(m), big);
  for (uint64_t i = 0; i < 20000; i++)
    if (i % 100 != 7)
      cr_assert_eq(hmap_remove_u64(m, i), &vals[i]);
  cr_assert_eq(hmap_count(m), 200);
  cr_assert_gt(hmap_compact(m), 0);
  size_t small = hmap_capacity(m);
  cr_assert_leq(small, big / 32);
  cr_assert_geq(small, 200 * 4, "at most a quarter full: %zu", small);
  cr_assert_eq(small & (small - 1), 0, "a power of two");
  for (uint64_t i = 0; i < 20000; i++)
    cr_assert_eq(hmap_get_u64(m, i), i % 100 == 7 ? &vals[i] : NULL);
  cr_assert_eq(hmap_compact(m), 0, "idempotent");
  /* Emptied: down to the minimum, and still usable. */
  for (uint64_t i = 7; i < 20000; i += 100)
    cr_assert_eq(hmap_remove_u64(m, i), &vals[i]);
  hmap_compact(m);
  cr_assert_eq(hmap_capacity(m), 16);
  cr_assert_eq(hmap_put_u64(m, 5, &vals[5]), 0);
  cr_assert_eq(hmap_get_u64(m, 5), &vals[5]);
  hmap_free(m);
}

TestSuite(dlist);

typedef struct item_t {
  int v;
  int heap_idx;
  dlist_node_t node;
} item_t;

Test(dlist, push_pop_remove)
{
  dlist_t l;
  item_t a = { .v = 1 }, b = { .v = 2 }, c = { .v = 3 };
  dlist_init(&l);
  dlist_init(&a.node);
  dlist_init(&b.node);
  dlist_init(&c.node);
  cr_assert(dlist_is_empty(&l));
  cr_assert_null(dlist_pop_head(&l));
  dlist_push_tail(&l, &a.node);
  dlist_push_tail(&l, &b.node);
  dlist_push_head(&l, &c.node);
  cr_assert(dlist_node_is_linked(&b.node));
  dlist_remove(&b.node);
  dlist_remove(&b.node);   /* twice is harmless */
  cr_assert_not(dlist_node_is_linked(&b.node));
  cr_assert_eq(DLIST_ENTRY(dlist_pop_head(&l), item_t, node)->v, 3);
  cr_assert_eq(DLIST_ENTRY(dlist_pop_head(&l), item_t, node)->v, 1);
  cr_assert(dlist_is_empty(&l));
}

TestSuite(minheap);

static int cmp_item(const void *a, const void *b)
{
  const item_t *x = a, *y = b;
  return (x->v > y->v) - (x->v < y->v);
}

Test(minheap, order_remove_update)
{
  enum { N = 500 };
  static item_t it[N];
  minheap_t h;
  minheap_init(&h, cmp_item, offsetof(item_t, heap_idx));
  uint32_t x = 2463534242u;
  for (int i = 0; i < N; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    it[i].v = (int)(x % 1000);
    it[i].heap_idx = -1;
    minheap_push(&h, &it[i]);
  }
  /* Remove every third, re-key every fifth. */
  for (int i = 0; i < N; i += 3)
    minheap_remove(&h, &it[i]);
  for (int i = 0; i < N; i += 3)
    cr_assert_not(minheap_contains(&h, &it[i]));
  for (int i = 1; i < N; i += 5) {
    if (!minheap_contains(&h, &it[i]))
      continue;
    it[i].v = (int)((it[i].v * 7) % 1000);
    minheap_update(&h, &it[i]);
  }
  int last = -1;
  size_t n = 0;
  item_t *e;
  while ((e = minheap_pop(&h)) != NULL) {
    cr_assert_geq(e->v, last);
    cr_assert_eq(e->heap_idx, -1);
    last = e->v;
    n++;
  }
  cr_assert_eq(n, N - (N + 2) / 3);
  cr_assert_null(minheap_peek(&h));
  minheap_clear(&h);
}
