/* circid.c -- per-channel circuit-id allocation (tor-spec.txt 5.1.1
 * "Choosing circuit IDs in create cells"): in link protocol 4 and later the
 * initiator of the connection picks ids with the most significant bit set,
 * the other side ids with it clear; 0 is never a circuit id; ids are chosen
 * at random among the unused ones, giving up after 64 tries.
 *
 * The set is a sorted array (binary search); a channel carries at most a
 * few thousand circuits. */
#include "allium/core/channel/channel.h"

#include <string.h>

#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

struct circid_set_t {
  unsigned linkproto;
  int initiator;
  uint32_t *ids;
  size_t n, cap;
};

circid_set_t *circid_set_new(unsigned linkproto, int we_initiated)
{
  if (linkproto < 4)
    return NULL;
  circid_set_t *s = al_calloc(1, sizeof(*s));
  s->linkproto = linkproto;
  s->initiator = we_initiated ? 1 : 0;
  return s;
}

void circid_set_free_(circid_set_t *s)
{
  if (!s)
    return;
  al_free(s->ids);
  al_free(s);
}

/** Index of id, or of where it would go; *found set. */
static size_t find(const circid_set_t *s, uint32_t id, int *found)
{
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->ids[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < s->n && s->ids[lo] == id;
  return lo;
}

int circid_set_contains(const circid_set_t *s, uint32_t id)
{
  int found;
  find(s, id, &found);
  return found;
}

int circid_set_add(circid_set_t *s, uint32_t id)
{
  int found;
  if (id == 0)
    return -1;
  size_t at = find(s, id, &found);
  if (found)
    return -1;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->ids = al_reallocarray(s->ids, s->cap, sizeof(*s->ids));
  }
  memmove(s->ids + at + 1, s->ids + at, (s->n - at) * sizeof(*s->ids));
  s->ids[at] = id;
  s->n++;
  return 0;
}

int circid_set_remove(circid_set_t *s, uint32_t id)
{
  int found;
  size_t at = find(s, id, &found);
  if (!found)
    return -1;
  memmove(s->ids + at, s->ids + at + 1, (s->n - at - 1) * sizeof(*s->ids));
  s->n--;
  return 0;
}

size_t circid_set_count(const circid_set_t *s)
{
  return s->n;
}

int circid_set_is_peers(const circid_set_t *s, uint32_t id)
{
  if (id == 0)
    return 0;
  int high = (id & 0x80000000u) != 0;
  return s->initiator ? !high : high;
}

int circid_set_alloc(circid_set_t *s, uint32_t *out)
{
  for (int i = 0; i < CIRCID_MAX_TRIES; i++) {
    uint32_t id;
    crypto_rand(&id, sizeof(id));
    if (s->initiator)
      id |= 0x80000000u;
    else
      id &= 0x7fffffffu;
    if (id == 0 || circid_set_contains(s, id))
      continue;
    if (circid_set_add(s, id) == 0) {
      *out = id;
      return 0;
    }
  }
  return -1;
}
