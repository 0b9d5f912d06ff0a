/* relay_listen.c -- the ORPort listeners (tor(1) ORPort): bind each
 * listening port (before privileges drop), log "Opened OR listener
 * connection (ready) on ADDR:PORT" as tor does, and hand every accepted
 * socket to the cell engine.  The [::] twin of a port-only line is skipped
 * when the host has no IPv6.  Out of descriptors, a listener pauses with
 * back-off instead of spinning.  No torspec section: tor-spec 2 only says
 * relays accept TLS connections on their ORPort. */
#define LOG_MODULE "relay"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "allium/lib/fs/fdlimit.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "relay_run_st.h"

#define RELAY_LISTEN_BACKLOG 1024

static void
fmt_port(char *buf, size_t len, const relay_port_t *p)
{
  char a[64];
  inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
  if (p->family == 4)
    snprintf(buf, len, "%s:%u", a, p->port);
  else
    snprintf(buf, len, "[%s]:%u", a, p->port);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
  relay_listener_t *l = arg;
  (void)lev;
  (void)cellswitch_accept(l->rr->sw, fd, sa, (socklen_t)salen);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
  relay_listener_t *l = arg;
  (void)fd;
  (void)what;
  if (l->lev)
    evconnlistener_enable(l->lev);
}

static void
error_cb(struct evconnlistener *lev, void *arg)
{
  relay_listener_t *l = arg;
  int e = EVUTIL_SOCKET_ERROR();
  if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
    log_info_rl(60, "Accepting on the ORPort failed: %s", strerror(e));
    return;
  }
  l->pause_msec = fdlimit_pause_next(l->pause_msec);
  log_warn_rl(60, "Out of file descriptors accepting on the ORPort: "
              "pausing the listener for %u ms.", l->pause_msec);
  evconnlistener_disable(lev);
  struct timeval tv = { 0, (suseconds_t)l->pause_msec * 1000 };
  event_add(l->resume, &tv);
}

/* Bind one port: the socket listens but accepts nothing until enabled. */
static int
bind_port(relay_listener_t *l, char **errmsg)
{
  relay_port_t *p = l->port;
  struct sockaddr_storage ss;
  socklen_t sslen;
  char name[80];
  int one = 1;
  memset(&ss, 0, sizeof(ss));
  if (p->family == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, p->addr, 4);
    sin->sin_port = htons(p->port);
    sslen = sizeof(*sin);
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    memcpy(&sin6->sin6_addr, p->addr, 16);
    sin6->sin6_port = htons(p->port);
    sslen = sizeof(*sin6);
  }
  l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l->fd >= 0) {
    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (p->family == 6)
      setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  fmt_port(name, sizeof(name), p);
  if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&ss, sslen) < 0 ||
      listen(l->fd, RELAY_LISTEN_BACKLOG) < 0) {
    int e = errno;
    if (l->fd >= 0)
      close(l->fd);
    l->fd = -1;
    if (p->implicit) {
      log_notice("Not listening on %s for the ORPort: %s.", name,
                 strerror(e));
      return 0;
    }
    char buf[200];
    snprintf(buf, sizeof(buf), "Could not bind to %s for the ORPort: %s",
             name, strerror(e));
    *errmsg = al_strdup(buf);
    return -1;
  }
  if (getsockname(l->fd, (struct sockaddr *)&ss, &sslen) == 0)
    p->port = ntohs(ss.ss_family == AF_INET
                    ? ((struct sockaddr_in *)&ss)->sin_port
                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
  evutil_make_socket_nonblocking(l->fd);
  return 0;
}

int
relay_listen_open(relay_run_t *rr, char **errmsg)
{
  uint16_t last_auto_v4 = 0;
  rr->listeners = al_calloc(rr->ports.n, sizeof(*rr->listeners));
  for (size_t i = 0; i < rr->ports.n; i++) {
    relay_port_t *p = &rr->ports.v[i];
    if (p->no_listen)
      continue;
    /* "auto" alone: the [::] twin takes the port the IPv4 one got. */
    if (p->is_auto && p->implicit && last_auto_v4)
      p->port = last_auto_v4;
    relay_listener_t *l = &rr->listeners[rr->n_listeners++];
    l->rr = rr;
    l->port = p;
    l->fd = -1;
    if (bind_port(l, errmsg) < 0)
      return -1;
    if (p->is_auto && p->family == 4)
      last_auto_v4 = p->port;
  }
  return 0;
}

int
relay_listen_enable(relay_run_t *rr)
{
  char name[80];
  for (size_t i = 0; i < rr->n_listeners; i++) {
    relay_listener_t *l = &rr->listeners[i];
    if (l->fd < 0)
      continue;
    l->resume = event_new(rr->base, -1, 0, resume_cb, l);
    l->lev = evconnlistener_new(rr->base, accept_cb, l,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                0, l->fd);
    if (!l->lev || !l->resume) {
      log_err("Couldn't start accepting on the ORPort.");
      return -1;
    }
    l->fd = -1;   /* owned by the listener now */
    evconnlistener_set_error_cb(l->lev, error_cb);
    fmt_port(name, sizeof(name), l->port);
    log_notice("Opened OR listener connection (ready) on %s", name);
  }
  return 0;
}

void
relay_listen_close(relay_run_t *rr)
{
  for (size_t i = 0; i < rr->n_listeners; i++) {
    relay_listener_t *l = &rr->listeners[i];
    if (l->lev)
      evconnlistener_free(l->lev);
    else if (l->fd >= 0)
      close(l->fd);
    if (l->resume)
      event_free(l->resume);
  }
  al_free(rr->listeners);
  rr->listeners = NULL;
  rr->n_listeners = 0;
}
