/* test_dir_boot_cache.c -- the directory client fetching as a directory
 * cache (dir-spec 4.1-4.3): the caches' refresh schedule, and end to end
 * against fake_dirsrv serving real tor 0.4.9 documents: both consensus
 * flavours, every microdescriptor and every server descriptor, written to
 * tor's cache file names and reported through the document callback, which
 * here feeds a src/feature/dircache store that then serves them.  Without
 * fetch_as_cache a client asks for its own flavour only. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dirclient/dir_boot.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "feature/dirclient/fake_dirsrv.h"
#include "feature/dirparse/fixture.h"

#define V3_AUTH0 "330034F98048FAEDF6E72053100735451C70A478"
#define V3_AUTH1 "96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96"
#define VA ((time_t)1795492460)   /* 2026-11-24 03:54:20, the fixtures' */

/* ---- the schedule (sans-IO) ---- */

Test(dir_boot_cache, refresh_in_first_half_interval)
{
  /* dir-spec 4.1's example: valid 1:00, fresh until 2:00 -> 2:00..2:30. */
  time_t va = 3600, fu = 7200;
  cr_assert_eq(dir_boot_cache_refresh_time(va, fu, 0.0), fu);
  cr_assert_eq(dir_boot_cache_refresh_time(va, fu, 0.5), fu + 900);
  time_t t = dir_boot_cache_refresh_time(va, fu, 0.999999);
  cr_assert(t >= fu + 1799 && t <= fu + 1800);
  for (double r = 0; r < 1; r += 0.01) {
    t = dir_boot_cache_refresh_time(va, fu, r);
    cr_assert(t >= fu && t <= fu + 1800);
    /* Earlier than a client's (which starts 3/4 interval after fu). */
    cr_assert_leq(t, dir_boot_refresh_time(va, fu, fu + 7200, false, 0.0));
  }
  cr_assert_eq(dir_boot_cache_refresh_time(va, fu, -1.0), fu);
  cr_assert_eq(dir_boot_cache_refresh_time(va, fu, 2.0), fu);
  cr_assert_eq(dir_boot_cache_refresh_time(fu, va, 0.5), va);
}

/* ---- end to end ---- */

typedef struct docs_t {
  char *certs, *ns, *md, *descs, *mds;
  size_t certs_len, ns_len, md_len, descs_len, mds_len;
  int n_ns, n_md, n_descs, n_mds, n_keys;
} docs_t;

static relay_t R;
static struct event_base *BASE;
static tls_context_t *TLS;
static nodelist_t *NL;
static docs_t D;
static char DIR_[64];
static dircache_t *DC;
static int N_DOCS[4];

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
    d->n_ns++;
    *len = d->ns_len;
    return d->ns;
  }
  if (!strncmp(path, "/tor/status-vote/current/consensus-microdesc/", 45)) {
    d->n_md++;
    *len = d->md_len;
    return d->md;
  }
  if (!strncmp(path, "/tor/server/d/", 14)) {
    d->n_descs++;
    *len = d->descs_len;
    return d->descs;
  }
  if (!strncmp(path, "/tor/micro/d/", 13)) {
    d->n_mds++;
    *len = d->mds_len;
    return d->mds;
  }
  *status = 404;
  *len = 0;
  return NULL;
}

static const char *const NAMES[] = {
  "cached-certs", "cached-consensus", "cached-microdesc-consensus",
  "cached-descriptors", "cached-microdescs",
};

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
  D.ns = fixture_load("consensus-ns.txt", &D.ns_len);
  D.md = fixture_load("consensus-md.txt", &D.md_len);
  D.descs = fixture_load("descriptors.txt", &D.descs_len);
  D.mds = fixture_load("microdescs.txt", &D.mds_len);
  snprintf(DIR_, sizeof(DIR_), "/tmp/allium-test-dbcache-XXXXXX");
  cr_assert_not_null(mkdtemp(DIR_));
  DC = dircache_new(NULL, fake_now());
  memset(N_DOCS, 0, sizeof(N_DOCS));
}

static void
teardown(void)
{
  char p[128];
  for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", DIR_, NAMES[i]);
    unlink(p);
  }
  rmdir(DIR_);
  dircache_free(DC);
  free(D.certs);
  free(D.ns);
  free(D.md);
  free(D.descs);
  free(D.mds);
  nodelist_free(NL);
  tls_context_free(TLS);
  event_base_free(BASE);
  relay_free(&R);
}

TestSuite(dir_boot_cache, .init = setup, .fini = teardown, .timeout = 60);

static void
on_dirinfo(nodelist_t *nl, bool enough, void *arg)
{
  (void)nl;
  (void)enough;
  (void)arg;
}

/* The relay's wiring: every accepted document goes to the cache. */
static void
on_document(dir_boot_doc_t kind, const char *text, size_t len, void *arg)
{
  dircache_t *dc = arg;
  cr_assert_lt((unsigned)kind, 4);
  N_DOCS[kind]++;
  dircache_on_document(kind, text, len, dc);
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

static void
run_for(uint32_t ms)
{
  struct event *stop = evtimer_new(BASE, on_stop, NULL);
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  evtimer_add(stop, &tv);
  event_base_dispatch(BASE);
  event_free(stop);
}

static dir_boot_t *
start(dir_authority_t *auths, bool as_cache)
{
  dir_boot_cfg_t cfg = { .base = BASE, .tls = TLS, .auths = auths,
                         .n_auths = 2, .use_microdescs = true,
                         .cache_dir = DIR_, .now = fake_now,
                         .fetch_as_cache = as_cache };
  dir_boot_cbs_t cbs = { on_dirinfo, NULL };
  dir_boot_t *b = dir_boot_new(&cfg, NL, &cbs);
  cr_assert_not_null(b);
  dir_boot_set_document_cb(b, on_document, DC);
  cr_assert_eq(dir_boot_start(b), 0);
  return b;
}

static int
ask_status(const char *req)
{
  dircache_reply_t r;
  cr_assert_eq(dircache_handle_request(DC, (const uint8_t *)req, strlen(req),
                                       fake_now(), NULL, &r), 0);
  int s = r.status;
  dircache_reply_clear(&r);
  return s;
}

Test(dir_boot_cache, fetches_everything_and_feeds_the_cache)
{
  fake_dirsrv_t *srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  make_auths(auths, fake_dirsrv_port(srv));
  dir_boot_t *b = start(auths, true);
  run_for(4000);
  cr_assert_geq(D.n_md, 1);
  cr_assert_geq(D.n_ns, 1, "a cache fetches both flavours");
  cr_assert_geq(D.n_mds, 1);
  cr_assert_geq(D.n_descs, 1, "a cache fetches server descriptors too");
  cr_assert(dir_boot_have_enough(b));
  dir_boot_free(b);
  char p[128];
  for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", DIR_, NAMES[i]);
    cr_assert_eq(fs_file_exists(p), 1, "%s missing", NAMES[i]);
  }
  cr_assert_eq(N_DOCS[DIR_BOOT_DOC_CONSENSUS], 2);
  cr_assert_geq(N_DOCS[DIR_BOOT_DOC_CERTS], 1);
  dircache_contents_t c;
  dircache_get_contents(DC, &c);
  cr_assert(c.have_consensus[0] && c.have_consensus[1]);
  cr_assert_eq(c.n_microdescs, 4);
  cr_assert_geq(c.n_server_descs, 4);
  cr_assert_eq(c.n_certs, 2);
  cr_assert_eq(ask_status("GET /tor/status-vote/current/consensus.z "
                          "HTTP/1.0\r\n\r\n"), 200);
  cr_assert_eq(ask_status("GET /tor/server/all.z HTTP/1.0\r\n\r\n"), 200);
  /* A DataDirectory written by the cache-mode client loads into a new
   * directory cache (the relay's start-up). */
  dircache_t *dc2 = dircache_new(DIR_, fake_now());
  dircache_get_contents(dc2, &c);
  cr_assert(c.have_consensus[0] && c.have_consensus[1]);
  cr_assert_eq(c.n_microdescs, 4);
  cr_assert_eq(c.n_server_descs, 4, "the ones the consensus lists");
  cr_assert_eq(c.n_certs, 2);
  dircache_free(dc2);
  /* Restarting the client in cache mode loads both from the cache: no
   * new consensus download, no document reports. */
  nodelist_free(NL);
  NL = nodelist_new();
  int before = fake_dirsrv_n_requests(srv);
  memset(N_DOCS, 0, sizeof(N_DOCS));
  b = start(auths, true);
  run_for(300);
  cr_assert_eq(fake_dirsrv_n_requests(srv), before);
  cr_assert_eq(N_DOCS[DIR_BOOT_DOC_CONSENSUS], 0);
  dir_boot_free(b);
  fake_dirsrv_free(srv);
}

Test(dir_boot_cache, client_fetches_its_flavour_only)
{
  fake_dirsrv_t *srv = fake_dirsrv_new(BASE, &R, handler, &D);
  dir_authority_t auths[2];
  make_auths(auths, fake_dirsrv_port(srv));
  dir_boot_t *b = start(auths, false);
  run_for(3000);
  cr_assert(dir_boot_have_enough(b));
  cr_assert_geq(D.n_md, 1);
  cr_assert_eq(D.n_ns, 0);
  cr_assert_eq(D.n_descs, 0);
  dir_boot_free(b);
  fake_dirsrv_free(srv);
}
