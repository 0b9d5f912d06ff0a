/* test_desc_tunnel.c -- descriptor upload over BEGIN_DIR (dir-spec 2.1,
 * tor-spec 6.2; src/feature/relay/desc_publish_tunnel.c and its use in
 * desc_publish_io.c) against a fake authority that runs the real cell
 * engine on an ORPort and answers directory requests through its
 * dir_request hook: an authority without a DirPort gets the POST and the
 * check GET over BEGIN_DIR; one whose DirPort refuses connections too
 * (fallback); a wrong identity fails; a truncated or garbage answer
 * fails. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "allium/core/channel/link_keys.h"
#include "allium/core/mainloop/cellswitch.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/desc_publish.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

static char TMP[64];
static relay_keys_t *RELAY, *AUTH;
static char *DESC;
static size_t DESC_LEN;
static uint8_t DIGEST[20];

static void
setup(void)
{
  char d[96];
  cr_assert_eq(crypto_global_init(), 0);
  snprintf(TMP, sizeof(TMP), "/tmp/allium-tunnel.XXXXXX");
  cr_assert_not_null(mkdtemp(TMP));
  snprintf(d, sizeof(d), "%s/relay", TMP);
  cr_assert_eq(relay_keys_load_or_create(d, 1, &RELAY), 0);
  snprintf(d, sizeof(d), "%s/auth", TMP);
  cr_assert_eq(relay_keys_load_or_create(d, 1, &AUTH), 0);
  router_desc_params_t p;
  memset(&p, 0, sizeof(p));
  p.keys = RELAY;
  p.nickname = "tunneltest";
  memcpy(p.ipv4, (uint8_t[]){ 127, 0, 0, 1 }, 4);
  p.orport = 9001;
  p.published = time(NULL);
  p.bw_avg = p.bw_burst = 1000000;
  cr_assert_eq(router_desc_build(&p, &DESC, &DESC_LEN), 0);
  cr_assert_eq(router_desc_digest(DESC, DESC_LEN, DIGEST), 0);
}

static void
teardown(void)
{
  char cmd[128];
  al_free(DESC);
  relay_keys_free(RELAY);
  relay_keys_free(AUTH);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", TMP);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(desc_tunnel, .init = setup, .fini = teardown, .timeout = 60);

typedef enum { AUTH_OK, AUTH_GARBAGE, AUTH_TRUNCATED } auth_mode_t;

/* The fake authority: a cell engine on a loopback ORPort. */
typedef struct fauth_t {
  struct event_base *base;
  link_keys_t *lk;
  tls_context_t *client_tls;
  cellswitch_t *sw;
  struct evconnlistener *lst;
  uint16_t orport;
  auth_mode_t mode;
  int n_post, n_get;
  bool post_whole;
} fauth_t;

static int
respond(cellswitch_t *sw, uint64_t stream, const char *head, const char *body)
{
  char *r = al_asprintf("%s%s", head, body ? body : "");
  return cellswitch_dir_respond(sw, stream, (uint8_t *)r, strlen(r));
}

static int
fauth_request(void *arg, cellswitch_t *sw, uint64_t stream, const uint8_t *data,
              size_t len)
{
  fauth_t *f = arg;
  const char *buf = (const char *)data;
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end)
    return CELLSWITCH_DIR_NEED_MORE;
  size_t head = (size_t)(end - buf) + 4;
  if (!strncmp(buf, "POST /tor/ HTTP/1.0\r\n", 21)) {
    const char *cl = memmem(buf, head, "Content-Length: ", 16);
    cr_assert_not_null(cl);
    size_t want = strtoul(cl + 16, NULL, 10);
    if (len < head + want)
      return CELLSWITCH_DIR_NEED_MORE;
    f->post_whole = len == head + want && want == DESC_LEN &&
                    !memcmp(buf + head, DESC, DESC_LEN);
    f->n_post++;
    if (f->mode == AUTH_GARBAGE)
      return respond(sw, stream, "SSH-2.0-nope\r\n\r\n", NULL);
    if (f->mode == AUTH_TRUNCATED)
      return respond(sw, stream, "HTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\nshort", NULL);
    return respond(sw, stream, "HTTP/1.0 200 OK\r\n\r\n", NULL);
  }
  char path[56], want[80];
  desc_publish_check_path(DIGEST, path);
  snprintf(want, sizeof(want), "GET %s HTTP/1.0\r\n", path);
  cr_assert(!strncmp(buf, want, strlen(want)), "unexpected request");
  f->n_get++;
  return respond(sw, stream, "HTTP/1.0 200 OK\r\n\r\n", DESC);
}

static void
fauth_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
             int socklen, void *arg)
{
  fauth_t *f = arg;
  (void)l;
  cellswitch_accept(f->sw, fd, sa, (socklen_t)socklen);
}

static void
fauth_start(fauth_t *f, struct event_base *base, auth_mode_t mode)
{
  memset(f, 0, sizeof(*f));
  f->base = base;
  f->mode = mode;
  size_t len;
  const uint8_t *c4 = relay_keys_signing_cert_encoded(AUTH, &len);
  f->lk = link_keys_new(relay_keys_identity_rsa(AUTH), relay_keys_master_public(AUTH),
                        relay_keys_signing_keypair(AUTH), c4, len, time(NULL));
  f->client_tls = tls_context_new_client();
  cr_assert(f->lk && f->client_tls);
  cellswitch_config_t sc;
  memset(&sc, 0, sizeof(sc));
  memcpy(sc.keys.rsa_id, relay_keys_identity_digest(AUTH), 20);
  sc.keys.ntor = *relay_keys_onion_ntor(AUTH);
  sc.server_tls = link_keys_tls(f->lk);
  sc.creds = link_keys_creds(f->lk);
  sc.client_tls = f->client_tls;
  sc.hooks.dir_request = fauth_request;
  sc.hooks.arg = f;
  f->sw = cellswitch_new(base, &sc);
  cr_assert_not_null(f->sw);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  f->lst = evconnlistener_new_bind(base, fauth_accept, f,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                   (struct sockaddr *)&sin, sizeof(sin));
  cr_assert_not_null(f->lst);
  socklen_t sl = sizeof(sin);
  getsockname(evconnlistener_get_fd(f->lst), (struct sockaddr *)&sin, &sl);
  f->orport = ntohs(sin.sin_port);
}

static void
fauth_stop(fauth_t *f)
{
  evconnlistener_free(f->lst);
  cellswitch_free(f->sw);
  link_keys_free(f->lk);
  tls_context_free(f->client_tls);
}

/* A port nothing listens on. */
static uint16_t
closed_port(struct event_base *base)
{
  fauth_t tmp;
  fauth_start(&tmp, base, AUTH_OK);
  uint16_t p = tmp.orport;
  fauth_stop(&tmp);
  return p;
}

typedef struct res_t {
  struct event_base *base;
  bool running;
  int n;
  desc_upload_result_t last;
} res_t;

static void
on_want(desc_publish_t *p, desc_due_t why, void *arg)
{
  (void)p; (void)why; (void)arg;
}

static void
on_result(desc_publish_t *p, const dir_authority_t *a, const desc_upload_result_t *r,
          void *arg)
{
  res_t *x = arg;
  (void)p; (void)a;
  x->n++;
  x->last = *r;
  if (x->running)
    event_base_loopbreak(x->base);
}

static void
cap_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what;
  event_base_loopbreak(arg);
}

/* Upload once to authority a (with a TLS context unless no_tls). */
static desc_upload_result_t
upload(struct event_base *base, const dir_authority_t *a, bool no_tls, size_t *tunnelled)
{
  res_t x = { .base = base };
  desc_publish_cbs_t cbs = { on_want, on_result, &x };
  tls_context_t *tls = tls_context_new_client();
  desc_publish_t *p = desc_publish_new(base, a, 1, relay_keys_identity_digest(RELAY), &cbs);
  cr_assert_not_null(p);
  if (!no_tls)
    desc_publish_set_tls(p, tls);
  desc_publish_set_timeout(p, 5000);
  cr_assert_eq(desc_publish_set_descriptor(p, DESC, DESC_LEN, 5), 0);
  struct timeval cap = { 10, 0 };
  struct event *stop = evtimer_new(base, cap_cb, base);
  evtimer_add(stop, &cap);
  x.running = true;
  if (x.n == 0)
    event_base_dispatch(base);
  x.running = false;
  event_free(stop);
  cr_assert_eq(x.n, 1, "no result within 10 s");
  *tunnelled = desc_publish_n_tunnelled(p);
  desc_publish_free(p);
  tls_context_free(tls);
  return x.last;
}

static dir_authority_t
auth(uint16_t dirport, uint16_t orport, const uint8_t *rsa_id)
{
  dir_authority_t a;
  memset(&a, 0, sizeof(a));
  snprintf(a.nickname, sizeof(a.nickname), "tunauth");
  memcpy(a.ipv4, (uint8_t[]){ 127, 0, 0, 1 }, 4);
  a.dirport = dirport;
  a.orport = orport;
  memcpy(a.rsa_id, rsa_id, 20);
  return a;
}

Test(desc_tunnel, no_dirport_uses_begin_dir)
{
  struct event_base *base = event_base_new();
  fauth_t f;
  fauth_start(&f, base, AUTH_OK);
  dir_authority_t a = auth(0, f.orport, relay_keys_identity_digest(AUTH));
  size_t tun = 0;
  desc_upload_result_t r = upload(base, &a, false, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_ACCEPTED, "%s", r.reason);
  cr_assert_eq(tun, 1);
  cr_assert_eq(f.n_post, 1);
  cr_assert(f.post_whole, "the POST body is the descriptor, Content-Length exact");
  cr_assert_eq(f.n_get, 1, "the check GET went over BEGIN_DIR too");
  cellswitch_stats_t s;
  cellswitch_get_stats(f.sw, &s);
  cr_assert_eq(s.dir_streams, 2);
  cr_assert_eq(s.created_fast, 2, "one CREATE_FAST circuit per request");
  fauth_stop(&f);
  event_base_free(base);
}

Test(desc_tunnel, refused_dirport_falls_back)
{
  struct event_base *base = event_base_new();
  uint16_t dead = closed_port(base);
  fauth_t f;
  fauth_start(&f, base, AUTH_OK);
  dir_authority_t a = auth(dead, f.orport, relay_keys_identity_digest(AUTH));
  size_t tun = 0;
  desc_upload_result_t r = upload(base, &a, false, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_ACCEPTED, "%s", r.reason);
  cr_assert_eq(tun, 1);
  cr_assert_eq(f.n_post, 1);
  /* without a TLS context there is no fallback */
  r = upload(base, &a, true, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert_eq(tun, 0);
  cr_assert_eq(f.n_post, 1);
  fauth_stop(&f);
  event_base_free(base);
}

Test(desc_tunnel, failures)
{
  struct event_base *base = event_base_new();
  fauth_t f;
  size_t tun = 0;
  fauth_start(&f, base, AUTH_OK);
  /* wrong identity: the channel refuses the authority */
  dir_authority_t a = auth(0, f.orport, relay_keys_identity_digest(RELAY));
  desc_upload_result_t r = upload(base, &a, false, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert_eq(f.n_post, 0);
  /* no DirPort and no TLS context, or no ORPort */
  a = auth(0, f.orport, relay_keys_identity_digest(AUTH));
  r = upload(base, &a, true, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert_not_null(strstr(r.reason, "no DirPort"));
  a = auth(0, 0, relay_keys_identity_digest(AUTH));
  r = upload(base, &a, false, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  fauth_stop(&f);
  /* garbage and a truncated answer */
  fauth_start(&f, base, AUTH_GARBAGE);
  a = auth(0, f.orport, relay_keys_identity_digest(AUTH));
  r = upload(base, &a, false, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert(!strncmp(r.reason, "bad response", 12), "%s", r.reason);
  fauth_stop(&f);
  fauth_start(&f, base, AUTH_TRUNCATED);
  a = auth(0, f.orport, relay_keys_identity_digest(AUTH));
  r = upload(base, &a, false, &tun);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED, "%s", r.reason);
  fauth_stop(&f);
  event_base_free(base);
}
