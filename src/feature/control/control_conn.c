/* control_conn.c -- the control port's listeners and connections
 * (control-spec 1 "Protocol outline", 3.5 authentication state, 4.1 event
 * delivery; tor(1) ControlPort, ControlSocket, CookieAuthentication).
 *
 * A connection reads bytes into the sans-IO parser (control_proto.h), runs
 * each complete command (control_cmd.c) and writes the reply.  Before
 * authentication only PROTOCOLINFO, AUTHENTICATE, AUTHCHALLENGE and QUIT
 * are allowed, and a connection that has not authenticated within
 * auth_timeout_sec is closed.  Events from the control bus are written to
 * every authenticated connection that asked for them; a controller that
 * lets more than CONTROL_MAX_OUTBUF bytes pile up is dropped.
 */
#define LOG_MODULE "control"
#include "allium/core/channel/channel_bw.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/control/control.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"
#include "control_st.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_EVENTS_MASK ((1ull << CTLEV_DEBUG) | (1ull << CTLEV_INFO) | \
                         (1ull << CTLEV_NOTICE) | (1ull << CTLEV_WARN) | \
                         (1ull << CTLEV_ERR))

static void conn_flush_reply(control_conn_t *cc, bytes_writer_t *w);

/* ---- closing ---- */

static void
conn_unlink(control_conn_t *cc)
{
  control_t *c = cc->ctl;
  if (cc->prev)
    cc->prev->next = cc->next;
  else if (c->conns == cc)
    c->conns = cc->next;
  if (cc->next)
    cc->next->prev = cc->prev;
  cc->prev = cc->next = NULL;
  c->n_conns--;
}

void
control_conn_close(control_conn_t *cc)
{
  control_t *c = cc->ctl;
  bool owner = cc->owner;
  uint64_t id = cc->id;
  bool authed = cc->authenticated;
  conn_unlink(cc);
  if (cc->auth_timer)
    event_free(cc->auth_timer);
  if (cc->bev)
    bufferevent_free(cc->bev);
  control_parser_free(cc->parser);
  memwipe(cc->client_nonce, sizeof(cc->client_nonce));
  memwipe(cc->server_nonce, sizeof(cc->server_nonce));
  al_free(cc);
  control_conn_update_events(c);
  if (authed)
    ctlcmd_conn_closed(id);
  if (owner && c->cfg.backend.signal) {
    log_notice("Owning controller connection has closed -- exiting now.");
    c->cfg.backend.signal(c->cfg.backend.arg, "HALT");
  }
}

/* ---- events ---- */

static void
log_observer(int sev, const char *module, const char *msg, void *arg)
{
  (void)module; (void)arg;
  ctlev_type_t t = (ctlev_type_t)(CTLEV_DEBUG + sev);
  ctlev_publish(t, "%s", msg);
}

static void
bw_tick(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what;
  control_t *c = arg;
  channel_bw_stats_t st;
  channel_bw_get_stats(&st);
  uint64_t r = st.bytes_read - c->bw_last_read;
  uint64_t w = st.bytes_written - c->bw_last_written;
  c->bw_last_read = st.bytes_read;
  c->bw_last_written = st.bytes_written;
  ctlev_publish(CTLEV_BW, "%llu %llu", (unsigned long long)r,
                (unsigned long long)w);
}

void
control_conn_update_events(control_t *c)
{
  uint64_t mask = 0;
  for (control_conn_t *cc = c->conns; cc; cc = cc->next)
    if (cc->authenticated)
      mask |= cc->events;
  ctlev_set_mask(mask);
  int min_sev = SEV_ERR + 1;
  for (int s = SEV_DEBUG; s <= SEV_ERR; s++)
    if (mask & (1ull << (CTLEV_DEBUG + s))) {
      min_sev = s;
      break;
    }
  log_set_observer(min_sev, (mask & LOG_EVENTS_MASK) ? log_observer : NULL,
                   NULL);
  bool want_bw = (mask >> CTLEV_BW) & 1;
  if (want_bw && !c->bw_timer) {
    channel_bw_stats_t st;
    channel_bw_get_stats(&st);
    c->bw_last_read = st.bytes_read;
    c->bw_last_written = st.bytes_written;
    c->bw_timer = event_new(c->cfg.base, -1, EV_PERSIST, bw_tick, c);
    struct timeval one = { 1, 0 };
    if (c->bw_timer)
      event_add(c->bw_timer, &one);
  } else if (!want_bw && c->bw_timer) {
    event_free(c->bw_timer);
    c->bw_timer = NULL;
  }
}

static void
event_sink(ctlev_type_t t, const char *msg, size_t len, void *arg)
{
  control_t *c = arg;
  if (c->in_sink)
    return;                      /* an event raised while delivering one */
  c->in_sink = true;
  control_conn_t *next;
  for (control_conn_t *cc = c->conns; cc; cc = next) {
    next = cc->next;
    if (!cc->authenticated || cc->closing || !((cc->events >> t) & 1))
      continue;
    struct evbuffer *out = bufferevent_get_output(cc->bev);
    if (evbuffer_get_length(out) + len > CONTROL_MAX_OUTBUF) {
      log_warn_rl(60, "A controller is not reading its events; closing "
                  "its connection.");
      control_conn_close(cc);
      continue;
    }
    bufferevent_write(cc->bev, msg, len);
  }
  c->in_sink = false;
}

/* ---- I/O ---- */

static void
linger_done(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what;
  control_conn_close(arg);
}

/* The last reply is out: shut the write side down and read (and drop)
 * what the controller still sends until it closes, for at most 2 s, so
 * that unread input does not turn the close into a reset that could
 * destroy the reply before the controller reads it. */
static void
conn_finish(control_conn_t *cc)
{
  if (cc->shut)
    return;
  cc->shut = true;
  shutdown(bufferevent_getfd(cc->bev), SHUT_WR);
  evbuffer_drain(bufferevent_get_input(cc->bev),
                 evbuffer_get_length(bufferevent_get_input(cc->bev)));
  bufferevent_enable(cc->bev, EV_READ);
  if (cc->auth_timer)
    event_free(cc->auth_timer);
  cc->auth_timer = evtimer_new(cc->ctl->cfg.base, linger_done, cc);
  struct timeval two = { 2, 0 };
  if (!cc->auth_timer)
    control_conn_close(cc);
  else
    evtimer_add(cc->auth_timer, &two);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
  control_conn_t *cc = arg;
  if (cc->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
    conn_finish(cc);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
  (void)bev;
  control_conn_t *cc = arg;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    log_info_rl(10, "Controller connection from %s closed.", cc->peer);
    control_conn_close(cc);
  }
}

static void
conn_flush_reply(control_conn_t *cc, bytes_writer_t *w)
{
  size_t n = bytes_writer_len(w);
  if (n) {
    bufferevent_write(cc->bev, bytes_writer_data(w), n);
    /* Replies may carry keys (ADD_ONION, ONION_CLIENT_AUTH_VIEW). */
    memwipe((void *)bytes_writer_data(w), n);
  }
  bytes_writer_clear(w);
}

/* Run every complete command; stop at one that closes the connection.
 * Returns -1 when cc was freed or is closing. */
static int
conn_run_commands(control_conn_t *cc)
{
  for (;;) {
    control_cmd_t cmd;
    memset(&cmd, 0, sizeof(cmd));
    int r = control_parser_next(cc->parser, &cmd);
    if (r == 0)
      return 0;
    bytes_writer_t w;
    bytes_writer_init_heap(&w, 64u << 20);
    int close_after = 1;
    if (r < 0)
      control_reply_line(&w, 500, ' ', "Line too long.");
    else
      close_after = control_cmd_run(cc, &cmd, &w);
    control_cmd_clear(&cmd);
    conn_flush_reply(cc, &w);
    if (close_after) {
      cc->closing = true;
      if (evbuffer_get_length(bufferevent_get_output(cc->bev)) == 0)
        conn_finish(cc);
      return -1;
    }
  }
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
  control_conn_t *cc = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  if (cc->closing) {
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  uint8_t buf[4096];
  while (!cc->closing && evbuffer_get_length(in) > 0) {
    int n = evbuffer_remove(in, buf, sizeof(buf));
    if (n <= 0)
      break;
    if (control_parser_feed(cc->parser, buf, (size_t)n) < 0) {
      bytes_writer_t w;
      bytes_writer_init_heap(&w, 256);
      control_reply_line(&w, 500, ' ', "Line too long.");
      conn_flush_reply(cc, &w);
      log_info_rl(60, "A controller sent an over-long line; closing it.");
      cc->closing = true;
      evbuffer_drain(in, evbuffer_get_length(in));
      return;
    }
    if (conn_run_commands(cc) < 0)
      return;
  }
}

static void
auth_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what;
  control_conn_t *cc = arg;
  if (cc->authenticated)
    return;
  log_info_rl(60, "Controller connection from %s did not authenticate in "
              "time; closing it.", cc->peer);
  control_conn_close(cc);
}

static void
peer_name(const struct sockaddr *sa, char *out, size_t len)
{
  char a[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
    snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
    snprintf(out, len, "[%s]:%u", a, ntohs(s6->sin6_port));
  } else {
    snprintf(out, len, "unix socket");
  }
}

#define CONTROL_MAX_CONNS 64

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
          struct sockaddr *sa, int salen, void *arg)
{
  (void)lev; (void)salen;
  control_t *c = arg;
  if (c->n_conns >= CONTROL_MAX_CONNS) {
    log_warn_rl(60, "Too many controller connections (%d); refusing a new "
                "one.", CONTROL_MAX_CONNS);
    evutil_closesocket(fd);
    return;
  }
  static uint64_t next_id;
  control_conn_t *cc = al_calloc(1, sizeof(*cc));
  cc->ctl = c;
  cc->id = ++next_id;
  peer_name(sa, cc->peer, sizeof(cc->peer));
  cc->parser = control_parser_new(CONTROL_MAX_LINE, CONTROL_MAX_DATA);
  cc->bev = bufferevent_socket_new(c->cfg.base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!cc->bev || !cc->parser) {
    if (!cc->bev)
      evutil_closesocket(fd);
    control_parser_free(cc->parser);
    if (cc->bev)
      bufferevent_free(cc->bev);
    al_free(cc);
    return;
  }
  cc->next = c->conns;
  if (c->conns)
    c->conns->prev = cc;
  c->conns = cc;
  c->n_conns++;
  bufferevent_setcb(cc->bev, conn_read_cb, conn_write_cb, conn_event_cb, cc);
  bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
  uint32_t secs = c->cfg.auth_timeout_sec ? c->cfg.auth_timeout_sec : 60;
  cc->auth_timer = evtimer_new(c->cfg.base, auth_timeout_cb, cc);
  struct timeval tv = { (time_t)secs, 0 };
  if (cc->auth_timer)
    evtimer_add(cc->auth_timer, &tv);
  log_info_rl(10, "New controller connection from %s.", cc->peer);
}

static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
  (void)lev; (void)arg;
  int e = EVUTIL_SOCKET_ERROR();
  log_warn_rl(60, "Control listener: accept failed: %s",
              evutil_socket_error_to_string(e));
}

/* ---- listeners ---- */

static int
parse_flags(const char *flags, mode_t *mode, char **err)
{
  *mode = 0600;
  char *copy = al_strdup(flags ? flags : "");
  char *save = NULL;
  int r = 0;
  for (char *t = strtok_r(copy, " \t", &save); t;
       t = strtok_r(NULL, " \t", &save)) {
    if (!strcasecmp(t, "GroupWritable"))
      *mode = *mode == 0666 ? 0666 : 0660;
    else if (!strcasecmp(t, "WorldWritable"))
      *mode = 0666;
    else if (!strcasecmp(t, "RelaxDirModeCheck"))
      continue;
    else {
      *err = al_asprintf("Unrecognized ControlPort flag \"%s\"", t);
      r = -1;
      break;
    }
  }
  al_free(copy);
  return r;
}

static int
listen_unix(control_t *c, const char *path, mode_t mode, char **err)
{
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  if (!path[0] || strlen(path) >= sizeof(sun.sun_path)) {
    *err = al_asprintf("Control socket path \"%s\" is empty or too long",
                       path);
    return -1;
  }
  strcpy(sun.sun_path, path);
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
    unlink(path);
  mode_t old = umask(0177);
  struct evconnlistener *lev = evconnlistener_new_bind(c->cfg.base,
      accept_cb, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
      (struct sockaddr *)&sun, sizeof(sun));
  umask(old);
  if (!lev) {
    *err = al_asprintf("Could not bind Control listener on %s: %s", path,
                       strerror(errno));
    return -1;
  }
  if (chmod(path, mode) != 0)
    log_warn("Could not set the mode of %s: %s", path, strerror(errno));
  evconnlistener_set_error_cb(lev, listener_error_cb);
  control_listener_t *l = &c->listeners[c->n_listeners++];
  l->lev = lev;
  l->addr = al_asprintf("unix:%s", path);
  l->unix_path = al_strdup(path);
  log_notice("Opened Control listener connection (ready) on %s", path);
  return 0;
}

/* "auto", "PORT", "IPv4:PORT", "[IPv6]:PORT" (PORT may be "auto"). */
static int
parse_tcp(const char *v, struct sockaddr_storage *ss, socklen_t *len,
          char **err)
{
  memset(ss, 0, sizeof(*ss));
  const char *colon = strrchr(v, ':');
  const char *portstr = colon ? colon + 1 : v;
  uint16_t port = 0;
  if (strcasecmp(portstr, "auto") &&
      net_port_parse(portstr, strlen(portstr), 1, &port) < 0) {
    *err = al_asprintf("Invalid ControlPort \"%s\"", v);
    return -1;
  }
  if (!colon) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s4->sin_port = htons(port);
    *len = sizeof(*s4);
    return 0;
  }
  size_t alen = (size_t)(colon - v);
  if (alen >= 2 && v[0] == '[' && v[alen - 1] == ']') {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    uint8_t a6[16];
    if (net_ipv6_parse(v + 1, alen - 2, a6) < 0)
      goto bad;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, a6, 16);
    s6->sin6_port = htons(port);
    *len = sizeof(*s6);
    return 0;
  }
  uint8_t a4[4];
  if (net_ipv4_parse(v, alen, a4) < 0)
    goto bad;
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  s4->sin_family = AF_INET;
  memcpy(&s4->sin_addr, a4, 4);
  s4->sin_port = htons(port);
  *len = sizeof(*s4);
  return 0;
 bad:
  *err = al_asprintf("Invalid ControlPort address \"%s\"", v);
  return -1;
}

static int
listen_tcp(control_t *c, const char *v, char **err)
{
  struct sockaddr_storage ss;
  socklen_t len = 0;
  if (parse_tcp(v, &ss, &len, err) < 0)
    return -1;
  struct evconnlistener *lev = evconnlistener_new_bind(c->cfg.base,
      accept_cb, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
      LEV_OPT_CLOSE_ON_EXEC, -1, (struct sockaddr *)&ss, (int)len);
  if (!lev) {
    *err = al_asprintf("Could not bind Control listener on %s: %s", v,
                       strerror(errno));
    return -1;
  }
  evconnlistener_set_error_cb(lev, listener_error_cb);
  struct sockaddr_storage got;
  socklen_t glen = sizeof(got);
  char name[80] = "?";
  if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&got,
                  &glen) == 0)
    peer_name((struct sockaddr *)&got, name, sizeof(name));
  control_listener_t *l = &c->listeners[c->n_listeners++];
  l->lev = lev;
  l->addr = al_strdup(name);
  log_notice("Opened Control listener connection (ready) on %s", name);
  return 0;
}

int
control_listen(control_t *c, const char *value, bool is_socket, char **err)
{
  while (*value == ' ' || *value == '\t')
    value++;
  size_t wlen = strcspn(value, " \t");
  char *word = al_strndup(value, wlen);
  const char *flags = value + wlen;
  mode_t mode;
  int r = parse_flags(flags, &mode, err);
  if (r == 0) {
    c->listeners = al_reallocarray(c->listeners, c->n_listeners + 1,
                                   sizeof(*c->listeners));
    memset(&c->listeners[c->n_listeners], 0, sizeof(*c->listeners));
    if (is_socket)
      r = listen_unix(c, word, mode, err);
    else if (!strncmp(word, "unix:", 5)) {
      const char *p = word + 5;
      char *unq = NULL;
      size_t ulen = 0, used = 0;
      if (p[0] == '"' && control_unquote(p, strlen(p), &unq, &ulen,
                                         &used) == 0)
        p = unq;
      r = listen_unix(c, p, mode, err);
      al_free(unq);
    } else {
      r = listen_tcp(c, word, err);
    }
  }
  al_free(word);
  return r;
}

const char *
control_listener_addr(const control_t *c, size_t i)
{
  return i < c->n_listeners ? c->listeners[i].addr : NULL;
}

size_t
control_n_conns(const control_t *c)
{
  return c->n_conns;
}

/* ---- the control port object ---- */

control_t *
control_new(const control_cfg_t *cfg, char **err)
{
  control_t *c = al_calloc(1, sizeof(*c));
  c->cfg = *cfg;
  c->cfg.cookie_path = cfg->cookie_path ? al_strdup(cfg->cookie_path) : NULL;
  c->cfg.version = al_strdup(cfg->version ? cfg->version : "");
  const char **pw = al_calloc(cfg->n_hashed_passwords + 1, sizeof(*pw));
  for (size_t i = 0; i < cfg->n_hashed_passwords; i++)
    pw[i] = al_strdup(cfg->hashed_passwords[i]);
  c->cfg.hashed_passwords = pw;
  c->start_msec = evloop_monotonic_msec();
  if (c->cfg.cookie_path) {
    if (control_cookie_create(c->cfg.cookie_path,
                              cfg->cookie_group_readable, c->cookie,
                              err) < 0) {
      control_free_(c);
      return NULL;
    }
    c->cookie_auth = true;
  }
  ctlev_set_sink(event_sink, c);
  control_getinfo_attach(c);
  return c;
}

void
control_free_(control_t *c)
{
  if (!c)
    return;
  ctlev_set_sink(NULL, NULL);
  log_set_observer(SEV_ERR + 1, NULL, NULL);
  ctlinfo_unregister(c);
  while (c->conns) {
    control_conn_t *cc = c->conns;
    cc->owner = false;
    control_conn_close(cc);
  }
  for (size_t i = 0; i < c->n_listeners; i++) {
    if (c->listeners[i].lev)
      evconnlistener_free(c->listeners[i].lev);
    if (c->listeners[i].unix_path)
      unlink(c->listeners[i].unix_path);
    al_free(c->listeners[i].unix_path);
    al_free(c->listeners[i].addr);
  }
  al_free(c->listeners);
  if (c->bw_timer)
    event_free(c->bw_timer);
  if (c->cookie_auth && c->cfg.cookie_path)
    unlink(c->cfg.cookie_path);
  memwipe(c->cookie, sizeof(c->cookie));
  al_free_((char *)c->cfg.cookie_path);
  al_free_((char *)c->cfg.version);
  for (size_t i = 0; i < c->cfg.n_hashed_passwords; i++)
    al_free_((char *)c->cfg.hashed_passwords[i]);
  al_free_((void *)c->cfg.hashed_passwords);
  al_free(c);
}
