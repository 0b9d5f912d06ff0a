/* relay_queue.c -- FIFO of fixed-size records for the sans-IO circuit and
 * stream layers.  No protocol logic.  See include/allium/core/stream/relay_queue.h. */
#include "allium/core/stream/relay_queue.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

void
relay_queue_init(relay_queue_t *q, size_t elsize)
{
  memset(q, 0, sizeof(*q));
  q->elsize = elsize;
}

static void
relay_queue_grow(relay_queue_t *q)
{
  size_t ncap = q->cap ? q->cap * 2 : 8;
  unsigned char *nbuf = al_reallocarray(NULL, ncap, q->elsize);
  for (size_t i = 0; i < q->n; i++) {
    size_t src = (q->head + i) % q->cap;
    memcpy(nbuf + i * q->elsize, q->buf + src * q->elsize, q->elsize);
  }
  if (q->buf)
    al_free_secret(q->buf, q->cap * q->elsize);
  q->buf = nbuf;
  q->cap = ncap;
  q->head = 0;
}

void
relay_queue_push(relay_queue_t *q, const void *rec)
{
  if (q->n == q->cap)
    relay_queue_grow(q);
  size_t idx = (q->head + q->n) % q->cap;
  memcpy(q->buf + idx * q->elsize, rec, q->elsize);
  q->n++;
}

int
relay_queue_pop(relay_queue_t *q, void *out)
{
  if (q->n == 0)
    return 0;
  unsigned char *src = q->buf + q->head * q->elsize;
  memcpy(out, src, q->elsize);
  memwipe(src, q->elsize);
  q->head = (q->head + 1) % q->cap;
  q->n--;
  return 1;
}

size_t
relay_queue_len(const relay_queue_t *q)
{
  return q->n;
}

void
relay_queue_clear(relay_queue_t *q)
{
  if (q->buf)
    al_free_secret(q->buf, q->cap * q->elsize);
  q->cap = q->head = q->n = 0;
}
