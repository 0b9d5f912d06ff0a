/* test_evloop.c -- unit tests for src/lib/evloop: base lifetime, one-shot
 * and periodic timers, signal events, evloop_exit(). */
#include <criterion/criterion.h>

#include <signal.h>
#include <unistd.h>

#include "allium/lib/evloop/evloop.h"

static void
fini(void)
{
  evloop_shutdown();
}

TestSuite(evloop, .fini = fini);

Test(evloop, base_is_singleton)
{
  cr_assert_eq(evloop_init(), 0);
  struct event_base *b = evloop_base();
  cr_assert_not_null(b);
  cr_assert_eq(evloop_init(), 0);
  cr_assert_eq(evloop_base(), b);
  evloop_shutdown();
  evloop_shutdown();   /* idempotent */
  cr_assert_not_null(evloop_base());   /* recreated on use */
}

Test(evloop, run_without_events_returns)
{
  cr_assert_eq(evloop_run(), 1);
}

static void
count_cb(int what, void *arg)
{
  (void)what;
  int *n = arg;
  (*n)++;
}

Test(evloop, one_shot_timer)
{
  int n = 0;
  evloop_handle_t *h = evloop_timer_add(10, 0, count_cb, &n);
  cr_assert_not_null(h);
  uint64_t t0 = evloop_monotonic_msec();
  evloop_run();   /* returns when the only event has fired */
  cr_assert_eq(n, 1);
  cr_assert_geq(evloop_monotonic_msec() - t0, 9);
  evloop_handle_free(h);
  cr_assert_null(h);
}

typedef struct periodic_t {
  int n;
  evloop_handle_t *h;
} periodic_t;

static void
periodic_cb(int what, void *arg)
{
  (void)what;
  periodic_t *p = arg;
  if (++p->n == 3)
    evloop_exit();
}

Test(evloop, periodic_timer_and_exit)
{
  periodic_t p = { 0, NULL };
  p.h = evloop_timer_add(5, 1, periodic_cb, &p);
  cr_assert_not_null(p.h);
  cr_assert_eq(evloop_run(), 0);
  cr_assert_eq(p.n, 3);
  /* shutdown frees the still-registered handle (no leak under ASan). */
}

static void
sig_cb(int signum, void *arg)
{
  int *got = arg;
  *got = signum;
  evloop_exit();
}

static void
raise_cb(int what, void *arg)
{
  (void)what; (void)arg;
  raise(SIGUSR2);
}

Test(evloop, signal_event)
{
  int got = 0;
  evloop_handle_t *s = evloop_signal_add(SIGUSR2, sig_cb, &got);
  cr_assert_not_null(s);
  evloop_handle_t *t = evloop_timer_add(1, 0, raise_cb, NULL);
  cr_assert_not_null(t);
  evloop_run();
  cr_assert_eq(got, SIGUSR2);
  evloop_handle_free(s);
  evloop_handle_free(t);
}

Test(evloop, bad_arguments)
{
  cr_assert_null(evloop_timer_add(1, 0, NULL, NULL));
  cr_assert_null(evloop_signal_add(SIGUSR2, NULL, NULL));
  evloop_handle_free_(NULL);
  evloop_exit();   /* no loop running: harmless */
}

Test(evloop, monotonic)
{
  uint64_t a = evloop_monotonic_msec();
  usleep(2000);
  cr_assert_geq(evloop_monotonic_msec(), a + 1);
}
