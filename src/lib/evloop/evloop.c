/* evloop.c -- one process-wide libevent event_base with signal and timer
 * helpers (no spec section: local process machinery). */
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#define LOG_MODULE "evloop"
#include "allium/lib/log/log.h"

#include <event2/event.h>
#include <time.h>

struct evloop_handle_t {
  struct event *ev;
  evloop_cb_fn cb;
  void *arg;
  int signum;                  /* -1 for timers */
  struct evloop_handle_t *next, *prev;   /* list of live handles */
};

static struct event_base *the_base;
static evloop_handle_t *handles;

int
evloop_init(void)
{
  if (the_base)
    return 0;
  the_base = event_base_new();
  if (!the_base) {
    log_err("Unable to create the libevent event base.");
    return -1;
  }
  log_info("Initialized libevent version %s using method %s.",
           event_get_version(), event_base_get_method(the_base));
  return 0;
}

struct event_base *
evloop_base(void)
{
  if (!the_base)
    (void)evloop_init();
  return the_base;
}

static void
handle_unlink(evloop_handle_t *h)
{
  if (h->prev)
    h->prev->next = h->next;
  else
    handles = h->next;
  if (h->next)
    h->next->prev = h->prev;
  h->next = h->prev = NULL;
}

void
evloop_handle_free_(evloop_handle_t *h)
{
  if (!h)
    return;
  handle_unlink(h);
  if (h->ev)
    event_free(h->ev);
  al_free(h);
}

void
evloop_shutdown(void)
{
  while (handles) {
    evloop_handle_t *h = handles;
    evloop_handle_free_(h);
  }
  if (the_base) {
    event_base_free(the_base);
    the_base = NULL;
  }
}

int
evloop_run(void)
{
  struct event_base *b = evloop_base();
  if (!b)
    return -1;
  return event_base_dispatch(b);
}

void
evloop_exit(void)
{
  if (the_base)
    event_base_loopbreak(the_base);
}

static void
handle_fire(evutil_socket_t fd, short what, void *arg)
{
  (void)what;
  evloop_handle_t *h = arg;
  h->cb(h->signum >= 0 ? (int)fd : 0, h->arg);
}

static evloop_handle_t *
handle_new(evloop_cb_fn cb, void *arg, int signum)
{
  evloop_handle_t *h = al_calloc(1, sizeof(*h));
  h->cb = cb;
  h->arg = arg;
  h->signum = signum;
  h->next = handles;
  if (handles)
    handles->prev = h;
  handles = h;
  return h;
}

evloop_handle_t *
evloop_signal_add(int signum, evloop_cb_fn cb, void *arg)
{
  struct event_base *b = evloop_base();
  if (!b || !cb)
    return NULL;
  evloop_handle_t *h = handle_new(cb, arg, signum);
  h->ev = evsignal_new(b, signum, handle_fire, h);
  if (!h->ev || event_add(h->ev, NULL) < 0) {
    log_warn("Unable to watch signal %d.", signum);
    evloop_handle_free_(h);
    return NULL;
  }
  return h;
}

evloop_handle_t *
evloop_timer_add(uint32_t msec, int periodic, evloop_cb_fn cb, void *arg)
{
  struct event_base *b = evloop_base();
  if (!b || !cb)
    return NULL;
  evloop_handle_t *h = handle_new(cb, arg, -1);
  h->ev = event_new(b, -1, periodic ? EV_PERSIST : 0, handle_fire, h);
  struct timeval tv = { (time_t)(msec / 1000), (suseconds_t)((msec % 1000) * 1000) };
  if (!h->ev || event_add(h->ev, &tv) < 0) {
    log_warn("Unable to add a timer.");
    evloop_handle_free_(h);
    return NULL;
  }
  return h;
}

uint64_t
evloop_monotonic_msec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
