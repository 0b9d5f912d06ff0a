/* test_dir_boot_fetch.c -- the directory bootstrap state machine (dir-spec
 * 5.1, 5.2) end to end over loopback channels against fake_dirsrv serving
 * the real tor 0.4.9 documents of tests/unit/feature/dirparse/data, under
 * an injected clock: certificates + consensus (after two 404s: retry with
 * backoff), then the server descriptors; the cache written under tor's
 * names lets a second start skip the consensus download.  A consensus with
 * bad signatures is rejected and retried, never used. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "allium/feature/dirclient/dir_boot.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "feature/dirclient/dir_boot_st.h"
#include "feature/dirclient/fake_dirsrv.h"
#include "feature/dirparse/fixture.h"

#define V3_AUTH0 "330034F98048FAEDF6E72053100735451C70A478"
#define V3_AUTH1 "96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96"
#define VA ((time_t)1795492460)   /* 2026-11-24 03:54:20, the fixtures' */

typedef struct docs_t {
  char *certs, *cons, *descs;
  size_t certs_len, cons_len, descs_len;
  int n_404;          /* answer the consensus with 404 this many times */
  int n_cons, n_keys, n_descs;
} docs_t;

static relay_t R;
static struct event_base *BASE;
static tls_context_t *TLS;
static nodelist_t *NL;
static docs_t D;
static char DIR_[64];
static int N_CALLS;
static bool ENOUGH;

static time_t
fake_now(void)
{
  return VA + 5;
}

static const char *
handler(const char *path, int *status, size_t *len, void *arg)
{
  docs_t *d = arg;
  *status = 200;
  if (!strncmp(path, "/tor/keys/fp/", 13)) {
    d->n_keys++;
    *len = d->certs_len;
    return d->certs;
  }
  if (!strncmp(path, "/tor/status-vote/current/consensus/", 35)) {
    d->n_cons++;
    if (d->n_404 > 0) {
      d->n_404--;
      *status = 404;
      *len = 0;
      return NULL;
    }
    *len = d->cons_len;
    return d->cons;
  }
  if (!strncmp(path, "/tor/server/d/", 14)) {
    d->n_descs++;
    *len = d->descs_len;
    return d->descs;
  }
  *status = 404;
  *len = 0;
  return NULL;
}

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  relay_make(&R, time(NULL));
  BASE = event_base_new();
  TLS = tls_context_new_client();
  cr_assert(BASE && TLS);
  NL = nodelist_new();
  memset(&D, 0, sizeof(D));
  D.certs = fixture_load("certs.txt", &D.certs_len);
  D.cons = fixture_load("consensus-ns.txt", &D.cons_len);
  D.descs = fixture_load("descriptors.txt", &D.descs_len);
  snprintf(DIR_, sizeof(DIR_), "/tmp/allium-test-dbfetch-XXXXXX");
  cr_assert_not_null(mkdtemp(DIR_));
  N_CALLS = 0;
  ENOUGH = false;
}

static void
teardown(void)
{
  static const char *names[] = { "cached-certs", "cached-consensus",
                                 "cached-descriptors" };
  char p[128];
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "%s/%s", DIR_, names[i]);
    unlink(p);
  }
  rmdir(DIR_);
  free(D.certs);
  free(D.cons);
  free(D.descs);
  nodelist_free(NL);
  tls_context_free(TLS);
  event_base_free(BASE);
  relay_free(&R);
}

TestSuite(dir_boot_fetch, .init = setup, .fini = teardown, .timeout = 60);

static void
on_dirinfo(nodelist_t *nl, bool enough, void *arg)
{
  (void)nl;
  (void)arg;
  N_CALLS++;
  if (enough && !ENOUGH) {
    ENOUGH = true;
    event_base_loopbreak(BASE);
  }
}

static void
make_auths(dir_authority_t a[2], uint16_t port)
{
  const char *v3[2] = { V3_AUTH0, V3_AUTH1 };
  for (int i = 0; i < 2; i++) {
    memset(&a[i], 0, sizeof(a[i]));
    snprintf(a[i].nickname, sizeof(a[i].nickname), "auth%d", i);
    a[i].ipv4[0] = 127;
    a[i].ipv4[3] = 1;
    a[i].orport = port;
    a[i].dirport = port;
    a[i].has_v3ident = true;
    cr_assert_eq(base16_decode(a[i].v3ident, 20, v3[i], 40), 20);
    memcpy(a[i].rsa_id, R.rsa_fp, 20);
  }
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  (void)arg;
  event_base_loopbreak(BASE);
}

/* Run the loop until enough or max_ms. */
static void
run_for(uint32_t max_ms)
{
  struct event *stop = evtimer_new(BASE, on_stop, NULL);
  struct timeval tv = { max_ms / 1000, (max_ms % 1000) * 1000 };
  evtimer_add(stop, &tv);
  if (!ENOUGH)
    event_base_dispatch(BASE);
  event_free(stop);
}

static dir_boot_t *
start(dir_authority_t *auths)
{
  dir_boot_cfg_t cfg = { .base = BASE, .tls = TLS, .auths = auths, .n_auths = 2,
                         .cache_dir = DIR_, .now = fake_now };
  dir_boot_cbs_t cbs = { on_dirinfo, NULL };
  dir_boot_t *b = dir_boot_new(&cfg, NL, &cbs);
  cr_assert_not_null(b);
  cr_assert_eq(dir_boot_start(b), 0);
  return b;
}

Test(dir_boot_fetch, bootstrap_retry_then_cache)
{
  fake_dirsrv_t *srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  make_auths(auths, fake_dirsrv_port(srv));
  D.n_404 = 2;
  dir_boot_t *b = start(auths);
  run_for(20000);
  cr_assert(ENOUGH, "no enough dirinfo (%d consensus requests)", D.n_cons);
  cr_assert(dir_boot_have_enough(b));
  cr_assert_eq(D.n_cons, 3, "404, 404, 200: %d", D.n_cons);
  cr_assert_geq(D.n_keys, 1);
  cr_assert_eq(D.n_descs, 1);
  cr_assert_eq(nodelist_n_nodes(NL), 4);
  cr_assert_float_eq(nodelist_descriptor_fraction(NL), 1.0, 1e-9);
  dir_boot_free(b);   /* saves the descriptors */
  char p[128];
  const char *names[] = { "cached-certs", "cached-consensus",
                          "cached-descriptors" };
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "%s/%s", DIR_, names[i]);
    cr_assert_eq(fs_file_exists(p), 1, "%s missing", names[i]);
  }
  /* Restart with the cache: enough at once, no consensus download. */
  nodelist_free(NL);
  NL = nodelist_new();
  ENOUGH = false;
  int before = fake_dirsrv_n_requests(srv);
  b = start(auths);
  cr_assert(ENOUGH);
  run_for(300);
  cr_assert_eq(fake_dirsrv_n_requests(srv), before);
  dir_boot_free(b);
  fake_dirsrv_free(srv);
}

Test(dir_boot_fetch, bad_signatures_are_rejected)
{
  fake_dirsrv_t *srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  make_auths(auths, fake_dirsrv_port(srv));
  char *r = strstr(D.cons, "\nw Bandwidth=");
  cr_assert_not_null(r);
  r[13] = r[13] == '7' ? '8' : '7';   /* still well formed: bad signatures */
  dir_boot_t *b = start(auths);
  run_for(2500);
  cr_assert(!ENOUGH);
  cr_assert_eq(N_CALLS, 0);
  cr_assert_null(nodelist_get_consensus(NL));
  cr_assert_geq(D.n_cons, 2, "no retry: %d", D.n_cons);
  /* After a rejection the certificates are fetched again. */
  cr_assert_geq(D.n_keys, 2);
  dir_boot_free(b);
  fake_dirsrv_free(srv);
}

/* ---- fallbacks first, authorities after (dir-spec 5.1, tor(1)) ---- */

static dir_boot_t *
start_fb(dir_authority_t *auths, const dir_fallback_t *fb, size_t n_fb)
{
  dir_boot_cfg_t cfg = { .base = BASE, .tls = TLS, .auths = auths,
                         .n_auths = 2, .fallbacks = fb, .n_fallbacks = n_fb,
                         .cache_dir = DIR_, .now = fake_now };
  dir_boot_cbs_t cbs = { on_dirinfo, NULL };
  dir_boot_t *b = dir_boot_new(&cfg, NL, &cbs);
  cr_assert_not_null(b);
  cr_assert_eq(dir_boot_start(b), 0);
  return b;
}

static void
make_fallback(dir_fallback_t *f, uint16_t port)
{
  memset(f, 0, sizeof(*f));
  f->ipv4[0] = 127;
  f->ipv4[3] = 1;
  f->orport = port;
  f->weight = 1;
  memcpy(f->rsa_id, R.rsa_fp, 20);
}

/* A loopback port nobody listens on (connects are refused at once). */
static uint16_t
closed_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t len = sizeof(sin);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(fd >= 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  close(fd);
  return ntohs(sin.sin_port);
}

static double
mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(dir_boot_fetch, fallback_first_spares_authorities)
{
  fake_dirsrv_t *fb_srv = fake_dirsrv_new(BASE, &R, handler, &D);
  fake_dirsrv_t *au_srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  dir_fallback_t fb;
  make_auths(auths, fake_dirsrv_port(au_srv));
  make_fallback(&fb, fake_dirsrv_port(fb_srv));
  dir_boot_t *b = start_fb(auths, &fb, 1);
  run_for(5000);
  cr_assert(ENOUGH, "no enough dirinfo from the fallback");
  cr_assert_geq(fake_dirsrv_n_requests(fb_srv), 3, "certs+consensus+descs");
  cr_assert_eq(fake_dirsrv_n_requests(au_srv), 0,
               "an authority was asked although the fallback answered");
  dir_boot_free(b);
  fake_dirsrv_free(fb_srv);
  fake_dirsrv_free(au_srv);
}

Test(dir_boot_fetch, dead_fallbacks_then_authorities_after_6s)
{
  fake_dirsrv_t *au_srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  dir_fallback_t fb[2];
  make_auths(auths, fake_dirsrv_port(au_srv));
  make_fallback(&fb[0], closed_port());
  make_fallback(&fb[1], closed_port());
  double t0 = mono_s();
  dir_boot_t *b = start_fb(auths, fb, 2);
  run_for(15000);
  double took = mono_s() - t0;
  cr_assert(ENOUGH, "authorities never tried");
  cr_assert_geq(took, DIR_BOOT_AUTHORITY_INITIAL_MS / 1000.0 - 0.05,
                "an authority was asked before its 6 s delay: %.2f s", took);
  cr_assert_lt(took, 10.0, "%.2f s", took);
  /* The fallback schedule kept trying meanwhile, on its own schedule:
   * attempts at 0, 1 and 3-4 s, maybe one more at 3.5-7.5 s; no more. */
  uint32_t n_fb = b->sched[DIR_SRC_FALLBACK].n_attempts;
  cr_assert(n_fb >= 3 && n_fb <= 5, "%u fallback attempts", n_fb);
  cr_assert_geq(b->sched[DIR_SRC_AUTHORITY].n_attempts, 1);
  cr_assert(!b->bootstrapping);
  dir_boot_free(b);
  fake_dirsrv_free(au_srv);
}

Test(dir_boot_fetch, no_fallbacks_authorities_at_once)
{
  fake_dirsrv_t *au_srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  make_auths(auths, fake_dirsrv_port(au_srv));
  double t0 = mono_s();
  dir_boot_t *b = start_fb(auths, NULL, 0);
  run_for(5000);
  cr_assert(ENOUGH);
  cr_assert_lt(mono_s() - t0, 3.0, "authority-only bootstrap waited");
  dir_boot_free(b);
  fake_dirsrv_free(au_srv);
}

/* A loopback listener that never accepts: connects complete, then the
 * handshake stalls (a blackholed mirror).  Returns the socket. */
static int
stalled_listener(uint16_t *port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t len = sizeof(sin);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(fd >= 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(fd, 16), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  *port = ntohs(sin.sin_port);
  return fd;
}

/* Three stalled mirrors fill every slot (DIR_BOOT_MAX_IN_PROGRESS); the
 * oldest attempt gives way after DIR_BOOT_CONNECT_TIMEOUT_MS and an
 * authority is asked then, not only after the whole-fetch timeout. */
Test(dir_boot_fetch, stalled_fallbacks_give_way, .timeout = 60)
{
  fake_dirsrv_t *au_srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  dir_fallback_t fb[3];
  int fds[3];
  make_auths(auths, fake_dirsrv_port(au_srv));
  for (int i = 0; i < 3; i++) {
    uint16_t port;
    fds[i] = stalled_listener(&port);
    make_fallback(&fb[i], port);
  }
  double t0 = mono_s();
  dir_boot_t *b = start_fb(auths, fb, 3);
  run_for(2500);
  int n_running = 0;
  for (size_t i = 0; i < DIR_BOOT_MAX_IN_PROGRESS; i++)
    n_running += b->cjobs[i] != NULL;
  cr_assert_eq(n_running, 2, "attempts at 0 and 1 s in progress at 2.5 s");
  run_for(25000);
  double took = mono_s() - t0;
  cr_assert(ENOUGH, "stalled attempts were never given up");
  cr_assert_geq(took, DIR_BOOT_CONNECT_TIMEOUT_MS / 1000.0 - 0.05, "%.2f",
                took);
  cr_assert_lt(took, 20.0, "%.2f s", took);
  dir_boot_free(b);
  for (int i = 0; i < 3; i++)
    close(fds[i]);
  fake_dirsrv_free(au_srv);
}
