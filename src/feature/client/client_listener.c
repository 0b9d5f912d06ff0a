/* client_listener.c -- the SocksPort / HTTPTunnelPort listeners (tor(1)
 * SocksPort, HTTPTunnelPort: "[address:]port|unix:path|auto"): bind with
 * libevent's evconnlistener, report the bound port ("auto"), log
 * "Opened Socks listener connection (ready) on ..." as tor does, and hand
 * each accepted socket to client_conn.c.  Out of descriptors (EMFILE,
 * ENFILE), a listener pauses with back-off instead of spinning.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#define LOG_MODULE "client"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/fs/fdlimit.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_st.h"

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
                   struct sockaddr *sa, int socklen, void *arg)
{
  (void)lev;
  client_conn_accepted(arg, fd, sa, socklen);
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  client_listener_t *l = arg;
  log_debug("Resuming the listener on port %u.", l->bound_port);
  if (l->lev)
    evconnlistener_enable(l->lev);
}

/* Out of descriptors: accept() would fail again at once and libevent would
 * call us in a loop.  Make room if a handshake idle for a second can go,
 * and stop listening for a moment (100 ms doubling to 1 s while it
 * lasts). */
#define CLIENT_EVICT_MIN_AGE_MSEC 1000
static void
listener_pause(client_listener_t *l, int e)
{
  uint64_t now = evloop_monotonic_msec();
  if (l->pause_msec && now - l->pause_at_msec > 10000)
    l->pause_msec = 0;   /* quiet for a while: start again from the bottom */
  l->pause_msec = fdlimit_pause_next(l->pause_msec);
  l->pause_at_msec = now;
  log_warn_rl(60, "Out of file descriptors accepting an application "
              "connection on port %u (%s): pausing the listener for %u ms.",
              l->bound_port, evutil_socket_error_to_string(e),
              l->pause_msec);
  /* Not one accepted in this same burst: libevent's accept loop ends on
   * EMFILE whenever no descriptor is left, even with nothing waiting. */
  (void)client_conn_evict_handshake(l->c, CLIENT_EVICT_MIN_AGE_MSEC);
  if (!l->pause_ev)
    l->pause_ev = evtimer_new(l->c->base, listener_resume_cb, l);
  if (!l->pause_ev)
    return;   /* keep listening: better than never again */
  evconnlistener_disable(l->lev);
  struct timeval tv = { l->pause_msec / 1000,
                        (suseconds_t)(l->pause_msec % 1000) * 1000 };
  evtimer_add(l->pause_ev, &tv);
}

static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
  (void)lev;
  client_listener_t *l = arg;
  int e = EVUTIL_SOCKET_ERROR();
  if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
    listener_pause(l, e);
    return;
  }
  log_warn_rl(60, "Error accepting an application connection on port %u: "
              "%s", l->bound_port, evutil_socket_error_to_string(e));
}

static const char *
kind_name(const client_listener_t *l)
{
  return l->cfg.kind == PROXY_PORT_HTTP_TUNNEL ? "HTTP tunnel" : "Socks";
}

static int
listener_open_unix(client_listener_t *l, char **err)
{
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  if (!l->cfg.unix_path || strlen(l->cfg.unix_path) >= sizeof(sun.sun_path)) {
    *err = al_asprintf("Unix socket path too long");
    return -1;
  }
  strcpy(sun.sun_path, l->cfg.unix_path);
  struct stat st;
  if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
    unlink(sun.sun_path);
  l->lev = evconnlistener_new_bind(l->c->base, listener_accept_cb, l,
                                   LEV_OPT_CLOSE_ON_FREE |
                                   LEV_OPT_CLOSE_ON_EXEC, -1,
                                   (struct sockaddr *)&sun, sizeof(sun));
  if (!l->lev) {
    *err = al_asprintf("Could not bind %s listener on %s: %s", kind_name(l),
                       sun.sun_path, strerror(errno));
    return -1;
  }
  evconnlistener_set_error_cb(l->lev, listener_error_cb);
  mode_t mode = 0600;
  if (l->cfg.flags & PROXY_PF_WORLD_WRITABLE)
    mode = 0666;
  else if (l->cfg.flags & PROXY_PF_GROUP_WRITABLE)
    mode = 0660;
  if (chmod(sun.sun_path, mode) != 0)
    log_warn("Could not set the mode of %s: %s", sun.sun_path,
             strerror(errno));
  log_notice("Opened %s listener connection (ready) on %s", kind_name(l),
             sun.sun_path);
  return 0;
}

int
client_listener_open(client_listener_t *l, char **err)
{
  char *dummy = NULL;
  if (!err)
    err = &dummy;
  if (l->cfg.is_unix) {
    int r = listener_open_unix(l, err);
    al_free(dummy);
    return r;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  uint16_t port = l->cfg.is_auto ? 0 : l->cfg.port;
  if (l->cfg.addr.family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, l->cfg.addr.addr, 16);
    s6->sin6_port = htons(port);
    len = sizeof(*s6);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    if (l->cfg.addr.family == 4)
      memcpy(&s4->sin_addr, l->cfg.addr.addr, 4);
    else
      s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s4->sin_port = htons(port);
    len = sizeof(*s4);
  }
  char abuf[64];
  policy_addr_t pa = l->cfg.addr;
  if (pa.family == 0) {
    pa.family = 4;
    memcpy(pa.addr, "\x7f\0\0\x01", 4);
  }
  if (policy_addr_format(&pa, abuf, sizeof(abuf)) != 0)
    snprintf(abuf, sizeof(abuf), "?");
  const char *lb = pa.family == 6 ? "[" : "", *rb = pa.family == 6 ? "]" : "";
  l->lev = evconnlistener_new_bind(l->c->base, listener_accept_cb, l,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                   LEV_OPT_CLOSE_ON_EXEC, -1,
                                   (struct sockaddr *)&ss, (int)len);
  if (!l->lev) {
    *err = al_asprintf("Could not bind %s listener on %s%s%s:%u: %s",
                       kind_name(l), lb, abuf, rb, port, strerror(errno));
    al_free(dummy);
    return -1;
  }
  evconnlistener_set_error_cb(l->lev, listener_error_cb);
  struct sockaddr_storage got;
  socklen_t glen = sizeof(got);
  l->bound_port = port;
  if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&got,
                  &glen) == 0)
    l->bound_port = ntohs(got.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *)&got)->sin6_port
                          : ((struct sockaddr_in *)&got)->sin_port);
  log_notice("Opened %s listener connection (ready) on %s%s%s:%u",
             kind_name(l), lb, abuf, rb, l->bound_port);
  return 0;
}

int
client_listeners_n_conns(const client_t *c)
{
  int n = 0;
  for (size_t i = 0; i < c->n_listeners; i++)
    n += c->listeners[i]->n_conns;
  return n;
}

void
client_listener_close(client_listener_t *l)
{
  if (l->pause_ev)
    event_free(l->pause_ev);
  l->pause_ev = NULL;
  if (l->lev)
    evconnlistener_free(l->lev);
  l->lev = NULL;
  if (l->cfg.is_unix && l->cfg.unix_path && l->bound_port == 0)
    unlink(l->cfg.unix_path);
}

