/* test_sdnotify.c -- unit tests for src/app/main/app_sdnotify.c (the
 * systemd notification protocol of sd_notify(3)): datagrams reach a real
 * AF_UNIX socket bound in a temporary directory or in the abstract
 * namespace, bad $NOTIFY_SOCKET values are refused, and the watchdog
 * interval follows $WATCHDOG_USEC / $WATCHDOG_PID. */
#include <criterion/criterion.h>

#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "allium/app/main/sdnotify.h"
#include "allium/lib/evloop/evloop.h"

static char dir[64];
static char path[128];

/* A datagram socket bound at name (path, or abstract when it starts
 * with '@'). */
static int
bind_listener(const char *name)
{
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  size_t len = strlen(name);
  memcpy(sa.sun_path, name, len);
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  if (name[0] == '@')
    sa.sun_path[0] = '\0';
  else
    salen++;
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, salen), 0);
  return fd;
}

/* Receive one datagram into buf (NUL-terminated) within 2 s; its length
 * or -1. */
static int
recv_one(int fd, char *buf, size_t cap)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  if (poll(&p, 1, 2000) != 1)
    return -1;
  ssize_t n = recv(fd, buf, cap - 1, 0);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return (int)n;
}

static void
setup(void)
{
  snprintf(dir, sizeof(dir), "/tmp/allium-sdnotify.XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/notify", dir);
}

static void
teardown(void)
{
  sdnotify_close();
  unlink(path);
  rmdir(dir);
}

TestSuite(sdnotify, .init = setup, .fini = teardown);

Test(sdnotify, unset_is_inactive)
{
  cr_assert_eq(sdnotify_open_with(NULL, "1000", NULL, getpid()), 0);
  cr_assert_eq(sdnotify_active(), 0);
  cr_assert_eq(sdnotify_send("READY=1"), -1);
  cr_assert_eq(sdnotify_watchdog_usec(), 0);
  cr_assert_eq(sdnotify_watchdog_start(), 0);
  cr_assert_eq(sdnotify_open_with("", NULL, NULL, getpid()), 0);
}

Test(sdnotify, path_socket_gets_datagrams)
{
  int fd = bind_listener(path);
  cr_assert_eq(sdnotify_open_with(path, NULL, NULL, getpid()), 1);
  cr_assert_eq(sdnotify_active(), 1);
  char buf[256];
  cr_assert_eq(sdnotify_send("READY=1"), 0);
  cr_assert_eq(recv_one(fd, buf, sizeof(buf)), 7);
  cr_assert_str_eq(buf, "READY=1");
  cr_assert_eq(sdnotify_send_reloading(), 0);
  cr_assert_gt(recv_one(fd, buf, sizeof(buf)), 0);
  cr_assert_eq(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27), 0, "%s", buf);
  cr_assert_gt(strlen(buf), 27);
  cr_assert_eq(sdnotify_send("STOPPING=1"), 0);
  cr_assert_eq(recv_one(fd, buf, sizeof(buf)), 10);
  cr_assert_str_eq(buf, "STOPPING=1");
  close(fd);
}

Test(sdnotify, abstract_socket_gets_datagrams)
{
  char name[64];
  snprintf(name, sizeof(name), "@allium-sdnotify-test-%ld", (long)getpid());
  int fd = bind_listener(name);
  cr_assert_eq(sdnotify_open_with(name, NULL, NULL, getpid()), 1);
  char buf[64];
  cr_assert_eq(sdnotify_send("READY=1"), 0);
  cr_assert_eq(recv_one(fd, buf, sizeof(buf)), 7);
  cr_assert_str_eq(buf, "READY=1");
  close(fd);
}

Test(sdnotify, missing_listener_fails_quietly)
{
  cr_assert_eq(sdnotify_open_with(path, NULL, NULL, getpid()), 1);
  cr_assert_eq(sdnotify_send("READY=1"), -1);   /* nobody bound there */
  cr_assert_eq(sdnotify_send("READY=1"), -1);
}

Test(sdnotify, bad_names_are_refused)
{
  char longname[200];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[0] = '/';
  longname[sizeof(longname) - 1] = '\0';
  const char *bad[] = { "relative/path", "@", "/", "x", longname };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_assert_eq(sdnotify_open_with(bad[i], NULL, NULL, getpid()), -1, "%s",
                 bad[i]);
    cr_assert_eq(sdnotify_active(), 0);
  }
}

Test(sdnotify, watchdog_interval)
{
  char pid[32], other[32];
  snprintf(pid, sizeof(pid), "%ld", (long)getpid());
  snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
  cr_assert_eq(sdnotify_open_with(path, "3000000", NULL, getpid()), 1);
  cr_assert_eq(sdnotify_watchdog_usec(), 3000000);
  cr_assert_eq(sdnotify_open_with(path, "3000000", pid, getpid()), 1);
  cr_assert_eq(sdnotify_watchdog_usec(), 3000000);
  cr_assert_eq(sdnotify_open_with(path, "3000000", other, getpid()), 1);
  cr_assert_eq(sdnotify_watchdog_usec(), 0);
  const char *junk[] = { "", "0", "-5", "12x", " 12", "99999999999999999999999" };
  for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
    cr_assert_eq(sdnotify_open_with(path, junk[i], NULL, getpid()), 1);
    cr_assert_eq(sdnotify_watchdog_usec(), 0, "%s", junk[i]);
  }
}

static void
stop_loop(int what, void *arg)
{
  (void)what; (void)arg;
  evloop_exit();
}

Test(sdnotify, watchdog_keepalives_from_the_loop)
{
  int fd = bind_listener(path);
  cr_assert_eq(evloop_init(), 0);
  /* 20 ms: a keep-alive every 10 ms. */
  cr_assert_eq(sdnotify_open_with(path, "20000", NULL, getpid()), 1);
  cr_assert_eq(sdnotify_watchdog_start(), 0);
  evloop_handle_t *stop = evloop_timer_add(100, 0, stop_loop, NULL);
  cr_assert_not_null(stop);
  cr_assert_eq(evloop_run(), 0);
  int n = 0;
  char buf[64];
  struct pollfd p = { .fd = fd, .events = POLLIN };
  while (poll(&p, 1, 0) == 1 && recv_one(fd, buf, sizeof(buf)) > 0) {
    cr_assert_str_eq(buf, "WATCHDOG=1");
    n++;
  }
  cr_assert_geq(n, 3, "only %d keep-alives", n);
  evloop_handle_free(stop);
  sdnotify_close();
  evloop_shutdown();
  close(fd);
}
