/* evloop.h -- a thin wrapper around one process-wide libevent event_base.
 *
 * The daemon has a single main loop.  evloop_base() creates it on first use;
 * other modules add their events to it.  Signal and timer helpers hide the
 * libevent boilerplate for the common cases.  Not thread-safe: call from the
 * main thread only.
 */
#ifndef ALLIUM_LIB_EVLOOP_EVLOOP_H
#define ALLIUM_LIB_EVLOOP_EVLOOP_H

#include <stdint.h>

struct event_base;

/** Create the event base (idempotent). 0 or -1 (libevent failed). */
int evloop_init(void);
/** Free every helper event still registered and the base (NULL ok). */
void evloop_shutdown(void);
/** The process-wide event base, created on first use; never NULL unless
 * libevent could not allocate one (then NULL). Owned by evloop. */
struct event_base *evloop_base(void);

/** Run the loop until evloop_exit() or no events remain. 0, 1 (no events
 * were pending) or -1 (libevent error). */
int evloop_run(void);
/** Make evloop_run() return after the current callbacks finish. */
void evloop_exit(void);

/** Callback for signals and timers; arg is the caller's pointer. */
typedef void (*evloop_cb_fn)(int what, void *arg);

typedef struct evloop_handle_t evloop_handle_t;

/** Call cb(signum, arg) from the loop each time signum arrives (persistent).
 * Returns a handle the caller releases with evloop_handle_free(), or NULL. */
evloop_handle_t *evloop_signal_add(int signum, evloop_cb_fn cb, void *arg);

/** Call cb(0, arg) after msec milliseconds; repeat every msec if periodic.
 * Returns a handle (caller frees with evloop_handle_free()), or NULL. */
evloop_handle_t *evloop_timer_add(uint32_t msec, int periodic, evloop_cb_fn cb,
                                  void *arg);

/** Cancel and free a signal or timer handle (NULL ok). */
void evloop_handle_free_(evloop_handle_t *h);
#define evloop_handle_free(h) do { evloop_handle_free_(h); (h) = NULL; } while (0)

/** Monotonic milliseconds since an arbitrary origin. */
uint64_t evloop_monotonic_msec(void);

#endif
