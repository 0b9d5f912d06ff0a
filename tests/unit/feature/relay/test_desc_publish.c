/* test_desc_publish.c -- tests for src/feature/relay/desc_publish*.c: the
 * "POST /tor/" request, the classification of an authority's answers
 * (including the 200-but-discarded trap, confirmed by GET
 * /tor/server/d/<digest>), the republication schedule of dir-spec 2.1,
 * presence in a consensus, and the uploader's I/O against a fake authority
 * on 127.0.0.1 (accepted, not new, rejected, discarded, garbage, silence,
 * refused connection, no DirPort). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/desc_publish.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

/* ---- helpers ---- */

static dir_http_parser_t *
parse_response(const char *raw)
{
  dir_http_limits_t lim;
  desc_publish_response_limits(&lim);
  dir_http_parser_t *p = dir_http_parser_new(&lim, false);
  int r = dir_http_parser_feed(p, (const uint8_t *)raw, strlen(raw));
  if (r == DIR_HTTP_NEED_MORE)
    r = dir_http_parser_eof(p);
  cr_assert_eq(r, DIR_HTTP_DONE, "cannot parse %s", raw);
  return p;
}

static desc_upload_result_t
classify(const char *raw)
{
  dir_http_parser_t *p = parse_response(raw);
  desc_upload_result_t r;
  desc_publish_classify(dir_http_parser_response(p), &r);
  dir_http_parser_free(p);
  return r;
}

/* ---- request ---- */

Test(desc_publish, request_encoding)
{
  const char *body = "router x 127.0.0.1 1 0 0\nrest\n";
  size_t len = 0;
  uint8_t *req = desc_publish_request_encode(body, strlen(body), NULL, &len);
  cr_assert_not_null(req);
  const char *want = "POST /tor/ HTTP/1.0\r\nContent-Length: 30\r\n\r\n"
                     "router x 127.0.0.1 1 0 0\nrest\n";
  cr_assert_eq(len, strlen(want));
  cr_assert(memcmp(req, want, len) == 0);
  al_free(req);
  req = desc_publish_request_encode(body, strlen(body), "first descriptor", &len);
  cr_assert_not_null(strstr((char *)req, "\r\nX-Desc-Gen-Reason: first descriptor\r\n\r\n"));
  al_free(req);
  /* A header value with CR/LF is left out, never injected. */
  req = desc_publish_request_encode(body, strlen(body), "x\r\nEvil: 1", &len);
  cr_assert_null(strstr((char *)req, "Evil"));
  cr_assert_null(strstr((char *)req, "X-Desc-Gen-Reason"));
  al_free(req);
  cr_assert_null(desc_publish_request_encode(NULL, 3, NULL, &len));
  cr_assert_null(desc_publish_request_encode(body, 0, NULL, &len));
  cr_assert_null(desc_publish_request_encode(body, strlen(body), NULL, NULL));
  char *big = al_malloc(ROUTER_DESC_MAX_LEN + 1);
  memset(big, 'a', ROUTER_DESC_MAX_LEN + 1);
  cr_assert_null(desc_publish_request_encode(big, ROUTER_DESC_MAX_LEN + 1, NULL, &len));
  al_free(big);
}

/* ---- responses ---- */

Test(desc_publish, classify_post_answers)
{
  desc_upload_result_t r = classify("HTTP/1.0 200 [None]\r\nDate: x\r\n\r\n");
  cr_assert_eq(r.status, DESC_UPLOAD_ACCEPTED);
  cr_assert_eq(r.http_status, 200);
  r = classify("HTTP/1.0 200 OK\r\nX-Descriptor-Not-New: Yes\r\n\r\n");
  cr_assert_eq(r.status, DESC_UPLOAD_NOT_NEW);
  r = classify("HTTP/1.0 400 Tor version is insecure or unsupported. Please upgrade!\r\n\r\n");
  cr_assert_eq(r.status, DESC_UPLOAD_REJECTED);
  cr_assert_str_eq(r.reason, "Tor version is insecure or unsupported. Please upgrade!");
  r = classify("HTTP/1.0 400 Missing TAP key in descriptor.\r\n\r\n");
  cr_assert_eq(r.status, DESC_UPLOAD_REJECTED);
  r = classify("HTTP/1.0 503 Busy\r\n\r\n");
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert_eq(r.http_status, 503);
  r = classify("HTTP/1.0 400 caf\xc3\xa9 reason\r\n\r\n");
  cr_assert_str_eq(r.reason, "caf?? reason");
  char longr[400];
  memset(longr, 'x', sizeof(longr));
  memcpy(longr, "HTTP/1.0 400 ", 13);
  memcpy(longr + sizeof(longr) - 5, "\r\n\r\n", 5);
  r = classify(longr);
  cr_assert_eq(strlen(r.reason), DESC_UPLOAD_REASON_MAX - 1, "reason truncated");
  desc_publish_classify(NULL, &r);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert_eq(r.http_status, 0);
  desc_publish_classify(NULL, NULL); /* no crash */
  cr_assert_str_eq(desc_upload_status_name(DESC_UPLOAD_DISCARDED), "discarded");
  cr_assert_str_eq(desc_upload_status_name(DESC_UPLOAD_NOT_NEW), "not new");
  cr_assert_str_eq(desc_upload_status_name((desc_upload_status_t)99), "failed");
}

/* A real descriptor, for the GET check and the I/O tests. */
static char tmpdir[256];
static relay_keys_t *keys;
static char *the_desc;
static size_t the_desc_len;
static uint8_t the_digest[20];

static void
rm_rf(const char *path)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char *sub = al_asprintf("%s/%s", path, e->d_name);
      rm_rf(sub);
      al_free(sub);
    }
    if (d)
      closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void
make_desc(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  strcpy(tmpdir, "/tmp/allium-test-pub-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  char *dd = al_asprintf("%s/D", tmpdir);
  cr_assert_eq(relay_keys_load_or_create(dd, 1, &keys), 0);
  al_free(dd);
  router_desc_params_t p;
  memset(&p, 0, sizeof(p));
  p.keys = keys;
  p.nickname = "pubtest";
  p.ipv4[0] = 127;
  p.ipv4[3] = 1;
  p.orport = 9001;
  p.published = time(NULL);
  p.bw_avg = p.bw_burst = 1000000;
  cr_assert_eq(router_desc_build(&p, &the_desc, &the_desc_len), 0);
  cr_assert_eq(router_desc_digest(the_desc, the_desc_len, the_digest), 0);
}

static void
free_desc(void)
{
  al_free(the_desc);
  relay_keys_free(keys);
  rm_rf(tmpdir);
}

static desc_upload_result_t
classify_check(const char *head, const char *body)
{
  char *raw = al_asprintf("%s\r\n\r\n%s", head, body);
  dir_http_parser_t *p = parse_response(raw);
  desc_upload_result_t r;
  desc_publish_classify_check(dir_http_parser_response(p), the_digest, &r);
  dir_http_parser_free(p);
  al_free(raw);
  return r;
}

Test(desc_publish, classify_check_answers, .init = make_desc, .fini = free_desc)
{
  char path[56];
  desc_publish_check_path(the_digest, path);
  cr_assert_eq(strlen(path), 14 + 40);
  cr_assert(strncmp(path, "/tor/server/d/", 14) == 0);
  desc_upload_result_t r = classify_check("HTTP/1.0 200 OK", the_desc);
  cr_assert_eq(r.status, DESC_UPLOAD_ACCEPTED, "%s", r.reason);
  r = classify_check("HTTP/1.0 404 Not found", "");
  cr_assert_eq(r.status, DESC_UPLOAD_DISCARDED);
  cr_assert_eq(r.http_status, 404);
  /* Another document (here: ours edited) is not ours. */
  char *other = al_strdup(the_desc);
  other[7] = other[7] == 'a' ? 'b' : 'a';
  r = classify_check("HTTP/1.0 200 OK", other);
  cr_assert_eq(r.status, DESC_UPLOAD_DISCARDED);
  al_free(other);
  r = classify_check("HTTP/1.0 200 OK", "garbage");
  cr_assert_eq(r.status, DESC_UPLOAD_DISCARDED);
  r = classify_check("HTTP/1.0 500 Oops", "");
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  desc_publish_classify_check(NULL, the_digest, &r);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
}

/* ---- schedule ---- */

Test(desc_publish, schedule)
{
  desc_sched_t s;
  const time_t t0 = 1700000000;
  desc_sched_init(&s);
  cr_assert_eq(desc_sched_due(&s, t0, 0, 0), DESC_DUE_FIRST);
  desc_sched_note_built(&s, t0, 1000);
  cr_assert_eq(desc_sched_due(&s, t0, 1000, 0), DESC_DUE_NONE);
  cr_assert_eq(desc_sched_due(&s, t0 + 60, 1000, 60), DESC_DUE_NONE);
  desc_sched_note_changed(&s);
  /* Changes: at most one descriptor per check interval. */
  cr_assert_eq(desc_sched_due(&s, t0 + 59, 1000, 59), DESC_DUE_NONE);
  cr_assert_eq(desc_sched_due(&s, t0 + 60, 1000, 60), DESC_DUE_CHANGED);
  desc_sched_note_built(&s, t0, 1000);
  /* 18 hours. */
  cr_assert_eq(desc_sched_due(&s, t0 + 18 * 3600 - 1, 1000, 1), DESC_DUE_NONE);
  cr_assert_eq(desc_sched_due(&s, t0 + 18 * 3600, 1000, 1), DESC_DUE_PERIODIC);
  /* Bandwidth: a factor of 2, not before 3 h, only while uptime < 24 h. */
  const time_t t3 = t0 + 3 * 3600;
  cr_assert_eq(desc_sched_due(&s, t3 - 1, 2001, 100), DESC_DUE_NONE);
  cr_assert_eq(desc_sched_due(&s, t3, 2001, 100), DESC_DUE_BANDWIDTH);
  cr_assert_eq(desc_sched_due(&s, t3, 2000, 100), DESC_DUE_NONE);
  cr_assert_eq(desc_sched_due(&s, t3, 1900, 100), DESC_DUE_NONE);
  cr_assert_eq(desc_sched_due(&s, t3, 499, 100), DESC_DUE_BANDWIDTH);
  cr_assert_eq(desc_sched_due(&s, t3, 500, 100), DESC_DUE_NONE);
  cr_assert_eq(desc_sched_due(&s, t3, 0, 100), DESC_DUE_BANDWIDTH);
  cr_assert_eq(desc_sched_due(&s, t3, 2001, 24 * 3600), DESC_DUE_NONE);
  desc_sched_note_built(&s, t0, 0);
  cr_assert_eq(desc_sched_due(&s, t3, 1, 100), DESC_DUE_BANDWIDTH);
  cr_assert_eq(desc_sched_due(&s, t3, 0, 100), DESC_DUE_NONE);
  /* Not listed: retry once the descriptor is 90 minutes old. */
  desc_sched_note_built(&s, t0, 1000);
  const desc_presence_t bad[] = { DESC_PRESENCE_ABSENT, DESC_PRESENCE_NOT_RUNNING,
                                  DESC_PRESENCE_STALE };
  for (size_t i = 0; i < 3; i++) {
    desc_sched_note_presence(&s, bad[i]);
    cr_assert_eq(desc_sched_due(&s, t0 + 90 * 60 - 1, 1000, 1), DESC_DUE_NONE);
    cr_assert_eq(desc_sched_due(&s, t0 + 90 * 60, 1000, 1), DESC_DUE_NOT_LISTED);
  }
  desc_sched_note_presence(&s, DESC_PRESENCE_LISTED);
  cr_assert_eq(desc_sched_due(&s, t0 + 5 * 3600, 1000, 1), DESC_DUE_NONE);
  desc_sched_note_presence(&s, DESC_PRESENCE_UNKNOWN);
  cr_assert_eq(desc_sched_due(&s, t0 + 5 * 3600, 1000, 1), DESC_DUE_NONE);
  cr_assert_str_eq(desc_due_name(DESC_DUE_NOT_LISTED), "not listed in the consensus");
  cr_assert_str_eq(desc_due_name((desc_due_t)77), "unknown");
}

/* ---- presence ---- */

Test(desc_publish, presence_in_consensus)
{
  consensus_router_t r[3];
  memset(r, 0, sizeof(r));
  for (int i = 0; i < 3; i++)
    memset(r[i].identity, 0x10 * (i + 1), 20);
  r[0].flags = CONSENSUS_FLAG_RUNNING | CONSENSUS_FLAG_VALID | CONSENSUS_FLAG_FAST;
  r[1].flags = CONSENSUS_FLAG_VALID;
  r[2].flags = CONSENSUS_FLAG_RUNNING | CONSENSUS_FLAG_VALID | CONSENSUS_FLAG_STALEDESC;
  consensus_t c;
  memset(&c, 0, sizeof(c));
  c.routers = r;
  c.n_routers = 3;
  uint8_t id[20];
  uint32_t flags = 99;
  memset(id, 0x10, 20);
  cr_assert_eq(desc_publish_presence(&c, id, &flags), DESC_PRESENCE_LISTED);
  cr_assert_eq(flags, r[0].flags);
  memset(id, 0x20, 20);
  cr_assert_eq(desc_publish_presence(&c, id, &flags), DESC_PRESENCE_NOT_RUNNING);
  memset(id, 0x30, 20);
  cr_assert_eq(desc_publish_presence(&c, id, NULL), DESC_PRESENCE_STALE);
  memset(id, 0x40, 20);
  cr_assert_eq(desc_publish_presence(&c, id, &flags), DESC_PRESENCE_ABSENT);
  cr_assert_eq(flags, 0);
  cr_assert_eq(desc_publish_presence(NULL, id, &flags), DESC_PRESENCE_UNKNOWN);
  cr_assert_str_eq(desc_presence_name(DESC_PRESENCE_ABSENT), "absent");
}

/* ---- I/O against a fake authority ---- */

typedef enum fake_mode_t {
  FAKE_ACCEPT_AND_SERVE,  /* 200 [None]; GET serves our descriptor */
  FAKE_ACCEPT_NO_SERVE,   /* 200 [None]; GET 404 (the 0.4.9.11 trap) */
  FAKE_NOT_NEW,
  FAKE_REJECT,
  FAKE_GARBAGE,           /* not HTTP */
  FAKE_CLOSE,             /* close without answering */
  FAKE_SILENT,            /* never answer */
} fake_mode_t;

typedef struct fake_t {
  struct event_base *base;
  struct evconnlistener *lst;
  uint16_t port;
  fake_mode_t mode;
  int n_post, n_get;
  char *post;             /* last POST, as received */
  size_t post_len;
  struct bufferevent *conns[16];
  int n_conns;
} fake_t;

static void
fake_reply(fake_t *f, struct bufferevent *bev, int is_get)
{
  struct evbuffer *out = bufferevent_get_output(bev);
  if (f->mode == FAKE_SILENT)
    return;
  if (f->mode == FAKE_CLOSE) {
    bufferevent_disable(bev, EV_READ);
    shutdown(bufferevent_getfd(bev), SHUT_RDWR);
    return;
  }
  if (is_get) {
    if (f->mode == FAKE_ACCEPT_AND_SERVE)
      evbuffer_add_printf(out, "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                          the_desc_len, the_desc);
    else
      evbuffer_add_printf(out, "HTTP/1.0 404 Not found\r\n\r\n");
  } else if (f->mode == FAKE_NOT_NEW) {
    evbuffer_add_printf(out, "HTTP/1.0 200 OK\r\nX-Descriptor-Not-New: Yes\r\n\r\n");
  } else if (f->mode == FAKE_REJECT) {
    evbuffer_add_printf(out, "HTTP/1.0 400 Missing TAP key in descriptor.\r\n\r\n");
  } else if (f->mode == FAKE_GARBAGE) {
    evbuffer_add_printf(out, "SSH-2.0-nope\r\n\r\n");
  } else {
    evbuffer_add_printf(out, "HTTP/1.0 200 [None]\r\nDate: now\r\n\r\n");
  }
  /* HTTP/1.0: the response ends when we close (fake_write_done). */
  bufferevent_disable(bev, EV_READ);
}

static void
fake_write_done(struct bufferevent *bev, void *arg)
{
  (void)arg;
  if (!(bufferevent_get_enabled(bev) & EV_READ))
    shutdown(bufferevent_getfd(bev), SHUT_RDWR);
}

static void
fake_read(struct bufferevent *bev, void *arg)
{
  fake_t *f = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  size_t len = evbuffer_get_length(in);
  char *buf = (char *)evbuffer_pullup(in, -1);
  const char *end = buf ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
  if (!end)
    return;
  size_t head = (size_t)(end - buf) + 4;
  int is_get = strncmp(buf, "GET ", 4) == 0;
  if (!is_get) {
    const char *cl = memmem(buf, head, "Content-Length: ", 16);
    cr_assert_not_null(cl, "POST without Content-Length");
    size_t want = strtoul(cl + 16, NULL, 10);
    if (len < head + want)
      return;
    cr_assert_eq(len, head + want, "bytes beyond Content-Length");
    al_free(f->post);
    f->post = al_memdup(buf, len);
    f->post_len = len;
    f->n_post++;
  } else {
    char want[80];
    char path[56];
    desc_publish_check_path(the_digest, path);
    snprintf(want, sizeof(want), "GET %s HTTP/1.0\r\n", path);
    cr_assert(strncmp(buf, want, strlen(want)) == 0, "unexpected GET");
    f->n_get++;
  }
  evbuffer_drain(in, len);
  fake_reply(f, bev, is_get);
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
  (void)bev;
  (void)what;
  (void)arg;
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen,
            void *arg)
{
  fake_t *f = arg;
  (void)l;
  (void)sa;
  (void)socklen;
  struct bufferevent *bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
  cr_assert_lt(f->n_conns, 16);
  f->conns[f->n_conns++] = bev;
  bufferevent_setcb(bev, fake_read, fake_write_done, fake_event, f);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
fake_start(fake_t *f, struct event_base *base, fake_mode_t mode)
{
  memset(f, 0, sizeof(*f));
  f->base = base;
  f->mode = mode;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  f->lst = evconnlistener_new_bind(base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                   16, (struct sockaddr *)&sin, sizeof(sin));
  cr_assert_not_null(f->lst);
  socklen_t sl = sizeof(sin);
  getsockname(evconnlistener_get_fd(f->lst), (struct sockaddr *)&sin, &sl);
  f->port = ntohs(sin.sin_port);
}

static void
fake_stop(fake_t *f)
{
  for (int i = 0; i < f->n_conns; i++)
    bufferevent_free(f->conns[i]);
  evconnlistener_free(f->lst);
  al_free(f->post);
}

typedef struct run_t {
  struct event_base *base;
  int n_want, n_results;
  desc_due_t last_why;
  desc_upload_result_t last;
  char last_auth[20];
  int stop_after;
} run_t;

static void
on_want(desc_publish_t *p, desc_due_t why, void *arg)
{
  run_t *r = arg;
  (void)p;
  r->n_want++;
  r->last_why = why;
}

static void
on_result(desc_publish_t *p, const dir_authority_t *a, const desc_upload_result_t *res,
          void *arg)
{
  run_t *r = arg;
  (void)p;
  r->n_results++;
  r->last = *res;
  snprintf(r->last_auth, sizeof(r->last_auth), "%s", a->nickname);
  if (r->n_results >= r->stop_after)
    event_base_loopexit(r->base, NULL);
}

static dir_authority_t
auth_at(uint16_t port)
{
  dir_authority_t a;
  memset(&a, 0, sizeof(a));
  snprintf(a.nickname, sizeof(a.nickname), "fakeauth");
  a.ipv4[0] = 127;
  a.ipv4[3] = 1;
  a.dirport = port;
  a.orport = 1;
  return a;
}

/* Upload once to a fake authority in mode; return the result. */
static desc_upload_result_t
upload_to_fake(fake_mode_t mode, fake_t *f_out)
{
  struct event_base *base = event_base_new();
  fake_t f;
  fake_start(&f, base, mode);
  run_t r = { .base = base, .stop_after = 1 };
  desc_publish_cbs_t cbs = { on_want, on_result, &r };
  dir_authority_t a = auth_at(f.port);
  desc_publish_t *p = desc_publish_new(base, &a, 1, relay_keys_identity_digest(keys), &cbs);
  cr_assert_not_null(p);
  desc_publish_set_timeout(p, 400);
  cr_assert_eq(desc_publish_set_descriptor(p, the_desc, the_desc_len, 5), 0);
  cr_assert_eq(desc_publish_n_pending(p), 1);
  struct timeval cap = { 5, 0 };
  event_base_loopexit(base, &cap);
  event_base_dispatch(base);
  cr_assert_eq(r.n_results, 1, "no result within 5 s");
  cr_assert_eq(desc_publish_n_pending(p), 0);
  cr_assert_str_eq(r.last_auth, "fakeauth");
  desc_publish_free(p);
  if (f_out) {
    f_out->n_post = f.n_post;
    f_out->n_get = f.n_get;
  }
  /* The request as the authority saw it. */
  if (f.post) {
    cr_assert(strncmp(f.post, "POST /tor/ HTTP/1.0\r\n", 21) == 0);
    cr_assert(f.post_len > the_desc_len);
    cr_assert(memcmp(f.post + f.post_len - the_desc_len, the_desc, the_desc_len) == 0);
  }
  fake_stop(&f);
  event_base_free(base);
  return r.last;
}

Test(desc_publish, io_accepted_and_served, .init = make_desc, .fini = free_desc)
{
  fake_t f;
  desc_upload_result_t r = upload_to_fake(FAKE_ACCEPT_AND_SERVE, &f);
  cr_assert_eq(r.status, DESC_UPLOAD_ACCEPTED, "%s", r.reason);
  cr_assert_eq(f.n_post, 1);
  cr_assert_eq(f.n_get, 1);
}

Test(desc_publish, io_200_but_not_served_is_discarded, .init = make_desc, .fini = free_desc)
{
  fake_t f;
  desc_upload_result_t r = upload_to_fake(FAKE_ACCEPT_NO_SERVE, &f);
  cr_assert_eq(r.status, DESC_UPLOAD_DISCARDED, "%s", r.reason);
  cr_assert_eq(r.http_status, 404);
  cr_assert_eq(f.n_get, 1);
}

Test(desc_publish, io_not_new_rejected, .init = make_desc, .fini = free_desc)
{
  fake_t f;
  desc_upload_result_t r = upload_to_fake(FAKE_NOT_NEW, &f);
  cr_assert_eq(r.status, DESC_UPLOAD_NOT_NEW);
  cr_assert_eq(f.n_get, 0);
  r = upload_to_fake(FAKE_REJECT, &f);
  cr_assert_eq(r.status, DESC_UPLOAD_REJECTED);
  cr_assert_str_eq(r.reason, "Missing TAP key in descriptor.");
}

Test(desc_publish, io_failures, .init = make_desc, .fini = free_desc)
{
  desc_upload_result_t r = upload_to_fake(FAKE_GARBAGE, NULL);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert(strncmp(r.reason, "bad response", 12) == 0, "%s", r.reason);
  r = upload_to_fake(FAKE_CLOSE, NULL);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  r = upload_to_fake(FAKE_SILENT, NULL);
  cr_assert_eq(r.status, DESC_UPLOAD_FAILED);
  cr_assert_str_eq(r.reason, "timed out");
}

/* A closed port and an authority without a DirPort. */
Test(desc_publish, io_refused_and_no_dirport, .init = make_desc, .fini = free_desc)
{
  struct event_base *base = event_base_new();
  fake_t f;
  fake_start(&f, base, FAKE_SILENT);
  uint16_t closed = f.port;
  fake_stop(&f);   /* nothing listens there any more */
  run_t r = { .base = base, .stop_after = 2 };
  desc_publish_cbs_t cbs = { on_want, on_result, &r };
  dir_authority_t a[2] = { auth_at(closed), auth_at(0) };
  desc_publish_t *p = desc_publish_new(base, a, 2, relay_keys_identity_digest(keys), &cbs);
  desc_publish_set_timeout(p, 2000);
  cr_assert_eq(desc_publish_set_descriptor(p, the_desc, the_desc_len, 5), 0);
  struct timeval cap = { 5, 0 };
  event_base_loopexit(base, &cap);
  if (r.n_results < 2)
    event_base_dispatch(base);
  cr_assert_eq(r.n_results, 2);
  cr_assert_eq(r.last.status, DESC_UPLOAD_FAILED);
  desc_publish_free(p);
  event_base_free(base);
}

static time_t fake_now;
static time_t
clock_fn(void)
{
  return fake_now;
}

/* The uploader runs the schedule: first descriptor, changes, consensus. */
Test(desc_publish, uploader_schedule, .init = make_desc, .fini = free_desc)
{
  struct event_base *base = event_base_new();
  run_t r = { .base = base, .stop_after = 1000 };
  desc_publish_cbs_t cbs = { on_want, NULL, &r };
  dir_authority_t a = auth_at(0);
  cr_assert_null(desc_publish_new(base, &a, 0, relay_keys_identity_digest(keys), &cbs));
  cr_assert_null(desc_publish_new(NULL, &a, 1, relay_keys_identity_digest(keys), &cbs));
  desc_publish_cbs_t nocb = { NULL, NULL, NULL };
  cr_assert_null(desc_publish_new(base, &a, 1, relay_keys_identity_digest(keys), &nocb));
  desc_publish_t *p = desc_publish_new(base, &a, 1, relay_keys_identity_digest(keys), &cbs);
  fake_now = 1700000000;
  desc_publish_set_clock(p, clock_fn);
  cr_assert_eq(desc_publish_upload(p), -1, "nothing to upload yet");
  cr_assert_eq(desc_publish_start(p, 50), 0);
  cr_assert_eq(r.n_want, 1);
  cr_assert_eq(r.last_why, DESC_DUE_FIRST);
  cr_assert_eq(desc_publish_set_descriptor(p, "not a descriptor", 16, 1), -1);
  cr_assert_eq(desc_publish_set_descriptor(p, the_desc, the_desc_len, 1000), 0);
  desc_publish_check(p);
  cr_assert_eq(r.n_want, 1, "nothing due right after a descriptor");
  desc_publish_note_changed(p);
  cr_assert_eq(r.n_want, 1, "not twice within a minute");
  fake_now += 60;
  desc_publish_check(p);
  cr_assert_eq(r.n_want, 2);
  cr_assert_eq(r.last_why, DESC_DUE_CHANGED);
  cr_assert_eq(desc_publish_set_descriptor(p, the_desc, the_desc_len, 1000), 0);
  /* A consensus without us: nothing at once, a new descriptor after 90 min. */
  consensus_t c;
  memset(&c, 0, sizeof(c));
  desc_publish_consensus_changed(p, &c);
  cr_assert_eq(desc_publish_get_presence(p), DESC_PRESENCE_ABSENT);
  cr_assert_eq(r.n_want, 2);
  fake_now += 90 * 60;
  desc_publish_check(p);
  cr_assert_eq(r.n_want, 3);
  cr_assert_eq(r.last_why, DESC_DUE_NOT_LISTED);
  cr_assert_eq(desc_publish_set_descriptor(p, the_desc, the_desc_len, 1000), 0);
  /* Bandwidth quadrupled 3 h later, uptime 1 h. */
  fake_now += 3 * 3600;
  desc_publish_note_stats(p, 4000, 3600);
  /* The timer runs the check (every 50 ms here). */
  struct timeval tv = { 0, 200000 };
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
  cr_assert_geq(r.n_want, 4);
  cr_assert_eq(r.last_why, DESC_DUE_BANDWIDTH);
  desc_publish_free(p);
  desc_publish_free(p); /* NULL after free: fine */
  event_base_free(base);
}
