/* dlist.h -- intrusive circular doubly-linked lists: a dlist_node_t lives
 * inside the element, so linking and unlinking never allocate and take
 * O(1).  An unlinked node points at itself (dlist_node_is_linked() is then
 * false), so unlinking twice is harmless.  Header only; no torspec
 * section. */
#ifndef ALLIUM_LIB_CONTAINER_DLIST_H
#define ALLIUM_LIB_CONTAINER_DLIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dlist_node_t {
  struct dlist_node_t *next, *prev;
} dlist_node_t;

/** A list head is a node that is not part of an element. */
typedef dlist_node_t dlist_t;

/** The element that contains node ptr as field member. */
#define DLIST_ENTRY(ptr, type, member) \
  ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void dlist_init(dlist_node_t *n)
{
  n->next = n->prev = n;
}
static inline bool dlist_is_empty(const dlist_t *l)
{
  return l->next == l;
}
static inline bool dlist_node_is_linked(const dlist_node_t *n)
{
  return n->next != n;
}
/** Link n (unlinked) before at (at the tail when at is the head). */
static inline void dlist_insert_before(dlist_node_t *at, dlist_node_t *n)
{
  n->prev = at->prev;
  n->next = at;
  at->prev->next = n;
  at->prev = n;
}
static inline void dlist_push_tail(dlist_t *l, dlist_node_t *n)
{
  dlist_insert_before(l, n);
}
static inline void dlist_push_head(dlist_t *l, dlist_node_t *n)
{
  dlist_insert_before(l->next, n);
}
/** Unlink n (no-op when unlinked). */
static inline void dlist_remove(dlist_node_t *n)
{
  n->prev->next = n->next;
  n->next->prev = n->prev;
  dlist_init(n);
}
/** First node, or NULL when empty. */
static inline dlist_node_t *dlist_first(const dlist_t *l)
{
  return l->next == l ? NULL : l->next;
}
/** Unlink and return the first node, or NULL. */
static inline dlist_node_t *dlist_pop_head(dlist_t *l)
{
  dlist_node_t *n = dlist_first(l);
  if (n)
    dlist_remove(n);
  return n;
}

#endif
