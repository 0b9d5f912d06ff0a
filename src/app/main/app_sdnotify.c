/* app_sdnotify.c -- systemd service notifications (sd_notify(3),
 * systemd.service(5) Type=notify; no torspec section): one datagram per
 * state change to the AF_UNIX socket in $NOTIFY_SOCKET (a path, or an
 * abstract name when it starts with '@'), and a periodic "WATCHDOG=1"
 * when $WATCHDOG_USEC is set.  Written without libsystemd. */
#define LOG_MODULE "main"
#include "allium/app/main/sdnotify.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct {
  int fd;
  struct sockaddr_un sa;
  socklen_t salen;
  uint64_t wd_usec;
  evloop_handle_t *wd_timer;
  int warned;
} sdn = { .fd = -1 };

/* A decimal number without sign or junk, > 0; 0 on any error. */
static uint64_t
parse_u64(const char *s)
{
  if (!s || !*s)
    return 0;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
      return 0;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  return v;
}

/* Fill sdn.sa / sdn.salen from the $NOTIFY_SOCKET value: 0 or -1. */
static int
set_address(const char *name)
{
  size_t len = strlen(name);
  memset(&sdn.sa, 0, sizeof(sdn.sa));
  sdn.sa.sun_family = AF_UNIX;
  if (len < 2 || len >= sizeof(sdn.sa.sun_path) ||
      (name[0] != '/' && name[0] != '@'))
    return -1;
  memcpy(sdn.sa.sun_path, name, len);
  if (name[0] == '@') {
    /* Abstract namespace: a leading NUL, no terminator counted. */
    sdn.sa.sun_path[0] = '\0';
    sdn.salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  } else {
    sdn.salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  }
  return 0;
}

int
sdnotify_open_with(const char *notify_socket, const char *watchdog_usec,
                   const char *watchdog_pid, pid_t self)
{
  sdnotify_close();
  if (!notify_socket || !*notify_socket)
    return 0;
  if (set_address(notify_socket) < 0) {
    log_warn("NOTIFY_SOCKET is not an absolute path or an abstract socket "
             "name; not sending service notifications.");
    return -1;
  }
  sdn.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sdn.fd < 0) {
    log_warn("Couldn't create the service notification socket: %s",
             strerror(errno));
    return -1;
  }
  sdn.warned = 0;
  sdn.wd_usec = parse_u64(watchdog_usec);
  if (watchdog_pid && *watchdog_pid &&
      parse_u64(watchdog_pid) != (uint64_t)self)
    sdn.wd_usec = 0;     /* the watchdog is meant for another process */
  log_info("Sending service notifications%s.",
           sdn.wd_usec ? " and watchdog keep-alives" : "");
  return 1;
}

int
sdnotify_open(void)
{
  return sdnotify_open_with(getenv("NOTIFY_SOCKET"), getenv("WATCHDOG_USEC"),
                            getenv("WATCHDOG_PID"), getpid());
}

int
sdnotify_active(void)
{
  return sdn.fd >= 0;
}

int
sdnotify_send(const char *state)
{
  if (sdn.fd < 0 || !state)
    return -1;
  size_t len = strlen(state);
  ssize_t r;
  do {
    r = sendto(sdn.fd, state, len, MSG_NOSIGNAL,
               (const struct sockaddr *)&sdn.sa, sdn.salen);
  } while (r < 0 && errno == EINTR);
  if (r < 0 || (size_t)r != len) {
    if (!sdn.warned)
      log_info("Couldn't send a service notification: %s",
               r < 0 ? strerror(errno) : "short write");
    sdn.warned = 1;
    return -1;
  }
  return 0;
}

uint64_t
sdnotify_watchdog_usec(void)
{
  return sdn.fd >= 0 ? sdn.wd_usec : 0;
}

static void
on_watchdog(int what, void *arg)
{
  (void)what; (void)arg;
  (void)sdnotify_send("WATCHDOG=1");
}

int
sdnotify_watchdog_start(void)
{
  uint64_t usec = sdnotify_watchdog_usec();
  if (!usec || sdn.wd_timer)
    return 0;
  uint64_t msec = usec / 2000;   /* half the interval, as sd_watchdog_enabled(3) advises */
  if (msec < 1)
    msec = 1;
  if (msec > UINT32_MAX)
    msec = UINT32_MAX;
  sdn.wd_timer = evloop_timer_add((uint32_t)msec, 1, on_watchdog, NULL);
  if (!sdn.wd_timer)
    return -1;
  (void)sdnotify_send("WATCHDOG=1");
  return 0;
}

int
sdnotify_send_reloading(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
    return sdnotify_send("RELOADING=1");
  char msg[64];
  snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
           (unsigned long long)ts.tv_sec * 1000000ull +
           (unsigned long long)ts.tv_nsec / 1000ull);
  return sdnotify_send(msg);
}

void
sdnotify_close(void)
{
  evloop_handle_free(sdn.wd_timer);
  if (sdn.fd >= 0)
    close(sdn.fd);
  sdn.fd = -1;
  sdn.wd_usec = 0;
}
