/* relay_mem.h -- MaxMemInQueues (tor(1)): one process-wide total of the
 * bytes queued in streams and circuits, kept in constant time per cell by
 * the queues themselves (relay_mem_add / relay_mem_sub), and a limit.
 * Crossing the limit calls the registered out-of-memory callback once;
 * the owner of the circuits (chanmgr) then runs its OOM pass: it closes
 * the circuits holding the oldest queued data first until the total is
 * back under 90% of the limit ("until it has recovered at least 10% of
 * this memory"). */
#ifndef ALLIUM_CORE_STREAM_RELAY_MEM_H
#define ALLIUM_CORE_STREAM_RELAY_MEM_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_MEM_MIB (UINT64_C(1) << 20)
#define RELAY_MEM_GIB (UINT64_C(1) << 30)
/** Smallest limit tor accepts (smaller configured values are raised). */
#define RELAY_MEM_MIN_LIMIT (RELAY_MEM_GIB / 4)

/** The limit in force (0: none, the initial state). */
void relay_mem_set_limit(uint64_t bytes);
uint64_t relay_mem_limit(void);
/** Bytes queued now. */
uint64_t relay_mem_total(void);
/** Account n more / fewer queued bytes (O(1)).  Crossing the limit calls
 * the OOM callback (once, until the total is back under the limit). */
void relay_mem_add(size_t n);
void relay_mem_sub(size_t n);
/** 1 when a limit is set and the total is above it. */
int relay_mem_over_limit(void);
/** Bytes an OOM pass must free to be back under 90% of the limit (0 when
 * not over the limit). */
uint64_t relay_mem_to_free(void);

typedef void (*relay_mem_oom_fn)(void *arg);
/** Register the OOM callback (NULL clears).  It must not free queues from
 * inside the call: schedule the pass (the caller may be mid-write). */
void relay_mem_set_oom_cb(relay_mem_oom_fn fn, void *arg);
/** The callback's argument now (to unregister only one's own). */
void *relay_mem_oom_arg(void);
/** More owners of queues (a relay's cell engine beside the client's
 * circuits): each registered callback is called too when the total
 * crosses the limit, and each pass frees from its own queues what
 * relay_mem_to_free() still asks when it runs.  At most
 * RELAY_MEM_MAX_EXTRA_CBS; 0, or -1 when full. */
#define RELAY_MEM_MAX_EXTRA_CBS 4
int relay_mem_add_oom_cb(relay_mem_oom_fn fn, void *arg);
/** Unregister (fn, arg) added with relay_mem_add_oom_cb(); no-op if absent. */
void relay_mem_remove_oom_cb(relay_mem_oom_fn fn, void *arg);

/** Milliseconds on the monotonic clock, for "oldest queued data"; tests
 * replace it (NULL restores). */
uint64_t relay_mem_now_msec(void);
void relay_mem_set_clock(uint64_t (*now_msec)(void));

/** tor's automatic MaxMemInQueues for a machine with ram bytes of physical
 * memory (0: unknown): 40% of it from 8 GiB of RAM up, else 75%; within
 * [256 MiB, 8 GiB] (2 GiB on 32-bit); 8 GiB (1 GiB on 32-bit) when the
 * memory is unknown. */
uint64_t relay_mem_default_limit(uint64_t ram);
/** Physical memory in bytes, or 0 when unknown. */
uint64_t relay_mem_physical_ram(void);
/** The limit for a MaxMemInQueues value: 0 picks the default; values
 * below RELAY_MEM_MIN_LIMIT are raised to it (*raised set to 1). */
uint64_t relay_mem_limit_for_option(uint64_t configured, int *raised);

#endif
