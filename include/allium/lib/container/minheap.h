/* minheap.h -- an intrusive binary min-heap of pointers.  Each element
 * keeps its own position (an int field at idx_off, -1 when not in a heap),
 * so an element can be removed or re-keyed in O(log n) without a search.
 * The cell scheduler keeps one per channel, ordered by each circuit's
 * recent activity.  No torspec section. */
#ifndef ALLIUM_LIB_CONTAINER_MINHEAP_H
#define ALLIUM_LIB_CONTAINER_MINHEAP_H

#include <stdbool.h>
#include <stddef.h>

/** Negative, 0 or positive as a orders before, with or after b. */
typedef int (*minheap_cmp_fn)(const void *a, const void *b);

typedef struct minheap_t {
  void **items;
  size_t n, cap;
  size_t idx_off;          /**< offset of the element's int position field */
  minheap_cmp_fn cmp;
} minheap_t;

/** Set up an empty heap (no allocation until the first push). */
void minheap_init(minheap_t *h, minheap_cmp_fn cmp, size_t idx_off);
/** Free the array (not the elements). */
void minheap_clear(minheap_t *h);
/** Add e (its position field must be -1).  Amortised O(log n). */
void minheap_push(minheap_t *h, void *e);
/** The smallest element, or NULL. */
static inline void *minheap_peek(const minheap_t *h)
{
  return h->n ? h->items[0] : NULL;
}
/** Remove and return the smallest element, or NULL. */
void *minheap_pop(minheap_t *h);
/** Remove e if it is in the heap (position field then -1). */
void minheap_remove(minheap_t *h, void *e);
/** e's key changed: restore the order. */
void minheap_update(minheap_t *h, void *e);
/** 1 if e is in some heap. */
bool minheap_contains(const minheap_t *h, const void *e);
static inline size_t minheap_len(const minheap_t *h)
{
  return h->n;
}

#endif
