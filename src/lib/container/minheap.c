/* minheap.c -- intrusive binary min-heap (see
 * include/allium/lib/container/minheap.h).  No torspec section. */
#include "allium/lib/container/minheap.h"

#include <string.h>

#include "allium/lib/malloc/malloc.h"

#define POS(h, e) (*(int *)(void *)((char *)(e) + (h)->idx_off))

void
minheap_init(minheap_t *h, minheap_cmp_fn cmp, size_t idx_off)
{
  memset(h, 0, sizeof(*h));
  h->cmp = cmp;
  h->idx_off = idx_off;
}

void
minheap_clear(minheap_t *h)
{
  for (size_t i = 0; i < h->n; i++)
    POS(h, h->items[i]) = -1;
  al_free(h->items);
  h->items = NULL;
  h->n = h->cap = 0;
}

static void
place(minheap_t *h, size_t i, void *e)
{
  h->items[i] = e;
  POS(h, e) = (int)i;
}

static void
sift_up(minheap_t *h, size_t i)
{
  void *e = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->cmp(e, h->items[parent]) >= 0)
      break;
    place(h, i, h->items[parent]);
    i = parent;
  }
  place(h, i, e);
}

static void
sift_down(minheap_t *h, size_t i)
{
  void *e = h->items[i];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    void *best = e;
    if (l < h->n && h->cmp(h->items[l], best) < 0) {
      m = l;
      best = h->items[l];
    }
    if (r < h->n && h->cmp(h->items[r], best) < 0)
      m = r;
    if (m == i)
      break;
    place(h, i, h->items[m]);
    i = m;
  }
  place(h, i, e);
}

void
minheap_push(minheap_t *h, void *e)
{
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 8;
    h->items = al_reallocarray(h->items, h->cap, sizeof(void *));
  }
  h->items[h->n] = e;
  POS(h, e) = (int)h->n;
  h->n++;
  sift_up(h, h->n - 1);
}

static void
remove_at(minheap_t *h, size_t i)
{
  void *e = h->items[i];
  POS(h, e) = -1;
  h->n--;
  if (i == h->n)
    return;
  void *moved = h->items[h->n];
  place(h, i, moved);
  sift_down(h, i);
  if ((size_t)POS(h, moved) == i)
    sift_up(h, i);
}

void *
minheap_pop(minheap_t *h)
{
  if (!h->n)
    return NULL;
  void *e = h->items[0];
  remove_at(h, 0);
  return e;
}

bool
minheap_contains(const minheap_t *h, const void *e)
{
  int p = *(const int *)(const void *)((const char *)e + h->idx_off);
  return p >= 0 && (size_t)p < h->n && h->items[p] == e;
}

void
minheap_remove(minheap_t *h, void *e)
{
  if (minheap_contains(h, e))
    remove_at(h, (size_t)POS(h, e));
}

void
minheap_update(minheap_t *h, void *e)
{
  if (!minheap_contains(h, e))
    return;
  size_t i = (size_t)POS(h, e);
  sift_up(h, i);
  sift_down(h, (size_t)POS(h, e));
}
