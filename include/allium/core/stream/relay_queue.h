/* relay_queue.h -- a FIFO of fixed-size records, used by the sans-IO
 * circuit and stream state machines (src/core/circuit, src/core/stream) to
 * hand output cells and events to their caller.
 *
 * The queue owns copies of the records it holds.  No record may be larger
 * than the elsize given at init.
 */
#ifndef ALLIUM_CORE_STREAM_RELAY_QUEUE_H
#define ALLIUM_CORE_STREAM_RELAY_QUEUE_H

#include <stddef.h>

typedef struct relay_queue_t {
  unsigned char *buf;   /**< cap * elsize bytes */
  size_t elsize;
  size_t cap;
  size_t head;          /**< index of the oldest record */
  size_t n;             /**< records held */
} relay_queue_t;

/** Make q an empty queue of records of elsize bytes (no allocation yet). */
void relay_queue_init(relay_queue_t *q, size_t elsize);
/** Append a copy of the elsize bytes at rec (grows; aborts on OOM). */
void relay_queue_push(relay_queue_t *q, const void *rec);
/** Move the oldest record to out (elsize bytes) and return 1; 0 if empty. */
int relay_queue_pop(relay_queue_t *q, void *out);
/** Records held. */
size_t relay_queue_len(const relay_queue_t *q);
/** Drop every record, wipe and free the storage; q stays usable. */
void relay_queue_clear(relay_queue_t *q);

#endif
