/* sdnotify.h -- the systemd service notification protocol, written from
 * sd_notify(3) / systemd.service(5) (no torspec section; tor(1) sends the
 * same messages when run with Type=notify): datagrams such as "READY=1"
 * to the AF_UNIX socket named by $NOTIFY_SOCKET, and "WATCHDOG=1" every
 * $WATCHDOG_USEC / 2 when the service manager asks for a watchdog.
 * Every call is a no-op when $NOTIFY_SOCKET was not set. */
#ifndef ALLIUM_APP_MAIN_SDNOTIFY_H
#define ALLIUM_APP_MAIN_SDNOTIFY_H

#include <stdint.h>
#include <sys/types.h>

/** Read $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID and open the
 * notification socket: 1 when notifications will be sent, 0 when
 * $NOTIFY_SOCKET is unset, -1 (logged) when it is unusable. */
int sdnotify_open(void);

/** As sdnotify_open() with explicit values (NULL = unset); self is the
 * pid compared with watchdog_pid. */
int sdnotify_open_with(const char *notify_socket, const char *watchdog_usec,
                       const char *watchdog_pid, pid_t self);

/** Whether sdnotify_open*() found a usable socket. */
int sdnotify_active(void);

/** Send one notification ("READY=1", "STATUS=...", several assignments
 * separated by "\n").  0, or -1 when inactive or the send failed. */
int sdnotify_send(const char *state);

/** The watchdog interval asked for in microseconds ($WATCHDOG_USEC), 0 when
 * none (or when $WATCHDOG_PID names another process). */
uint64_t sdnotify_watchdog_usec(void);

/** Start sending "WATCHDOG=1" every watchdog_usec / 2 from the main loop
 * (needs evloop_init()).  0 (also when no watchdog is asked for) or -1. */
int sdnotify_watchdog_start(void);

/** "RELOADING=1" with MONOTONIC_USEC (systemd.service(5) Type=notify-reload
 * asks for it; harmless with Type=notify) before a SIGHUP reload. */
int sdnotify_send_reloading(void);

/** Stop the watchdog timer and close the socket. */
void sdnotify_close(void);

#endif
