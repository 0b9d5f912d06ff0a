/* test_dir_boot.c -- the client directory bootstrap (dir-spec 5.1, 5.2):
 * the sans-IO decisions (refresh schedule, backoff, signature threshold,
 * consensus acceptance) and the cache (tor's file names), loaded with the
 * real tor 0.4.9 documents of tests/unit/feature/dirparse/data under an
 * injected clock: a live cache is used without any fetch, an expired, not
 * yet valid, corrupted or under-signed one is ignored, and what is saved
 * loads again. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/feature/dirclient/dir_boot.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "feature/dirclient/dir_boot_st.h"
#include "feature/dirparse/fixture.h"

#define V3_AUTH0 "330034F98048FAEDF6E72053100735451C70A478"
#define V3_AUTH1 "96C37BDCA4FEE0258F54E771F7AD1F1DE186DC96"

/* 2026-11-24 03:54:20 UTC: valid-after of both fixture consensuses. */
#define VA ((time_t)1795492460)
#define FU (VA + 20)
#define VU (VA + 40)

static time_t NOW;
static time_t
fake_now(void)
{
  return NOW;
}

/* ---- sans-IO ---- */

Test(dir_boot, refresh_time_spec_example)
{
  /* dir-spec 5.1: valid 1:00, fresh until 2:00, expires 4:00 -> fetch
   * between 2:45 and 3:50 (3:50:37.5). */
  time_t va = 3600, fu = 7200, vu = 14400;
  cr_assert_eq(dir_boot_refresh_time(va, fu, vu, false, 0.0), 9900);
  cr_assert_eq(dir_boot_refresh_time(va, fu, vu, false, 0.999999), 13837);
  cr_assert_eq(dir_boot_refresh_time(va, fu, vu, false, 0.5), 11868);
  cr_assert_eq(dir_boot_refresh_time(va, fu, vu, true, 0.5), fu);
  /* Out-of-range r and broken times stay within bounds. */
  cr_assert_eq(dir_boot_refresh_time(va, fu, vu, false, 7.0), 9900);
  cr_assert_eq(dir_boot_refresh_time(va, va, vu, false, 0.5), va);
  cr_assert_eq(dir_boot_refresh_time(va, fu, fu, false, 0.5), fu);
  for (int i = 0; i < 100; i++) {
    time_t t = dir_boot_refresh_time(VA, FU, VU, false, i / 100.0);
    cr_assert(t >= FU && t <= VU, "%lld", (long long)t);
  }
}

Test(dir_boot, backoff)
{
  uint32_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
  uint32_t cur = 0;
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    cur = dir_boot_backoff_next(cur);
    cr_assert_eq(cur, want[i], "step %zu: %u", i, cur);
  }
}

/* The bootstrap schedules: random exponential backoff with jitter, each
 * delay in [last + 1 s, max(last + 1 s, 3 last)], capped. */
Test(dir_boot, sched_next_bounds)
{
  for (int k = 0; k < 200; k++) {
    double r = k / 200.0;
    uint32_t last = 0;
    for (int i = 0; i < 40; i++) {
      uint32_t next = dir_boot_sched_next(last, r, false);
      uint64_t lo = (uint64_t)last + 1000, hi = (uint64_t)last * 3;
      if (hi < lo)
        hi = lo;
      if (hi > DIR_BOOT_SCHED_MAX_MS)
        hi = DIR_BOOT_SCHED_MAX_MS;
      if (lo > hi)
        lo = hi;
      cr_assert(next >= lo && next <= hi, "last %u next %u r %f", last, next,
                r);
      last = next;
    }
    cr_assert_leq(last, DIR_BOOT_SCHED_MAX_MS);
  }
  /* The first delays: 1 s after an immediate attempt, then 2-3 s. */
  cr_assert_eq(dir_boot_sched_next(0, 0.99, false), 1000);
  cr_assert_eq(dir_boot_sched_next(1000, 0, false), 2000);
  cr_assert_eq(dir_boot_sched_next(1000, 0.999, false), 2999);
  /* Authorities after fallbacks: the first retry 7-18 s after 6 s. */
  cr_assert_eq(dir_boot_sched_next(DIR_BOOT_AUTHORITY_INITIAL_MS, 0, false),
               7000);
  cr_assert_geq(dir_boot_sched_next(DIR_BOOT_AUTHORITY_INITIAL_MS, 0.999,
                                    false), 17900);
  /* Capped, and bad r is treated as 0. */
  cr_assert_eq(dir_boot_sched_next(DIR_BOOT_SCHED_MAX_MS, 0.5, false),
               DIR_BOOT_SCHED_MAX_MS);
  cr_assert_eq(dir_boot_sched_next(UINT32_MAX, 0.5, false),
               DIR_BOOT_SCHED_MAX_MS);
  cr_assert_eq(dir_boot_sched_next(2000, -1, false), 3000);
  cr_assert_eq(dir_boot_sched_next(2000, 1.0, false), 3000);
  /* TestingTorNetwork: multiplier 2, cap 2 s. */
  cr_assert_eq(dir_boot_sched_next(0, 0.5, true), 1000);
  cr_assert_eq(dir_boot_sched_next(1000, 0.5, true), 2000);
  cr_assert_eq(dir_boot_sched_next(2000, 0.9, true), 2000);
}

/* Not spinning: even at the fastest jitter (r = 0) a schedule makes a
 * bounded number of attempts in 30 s, and the jittered ones fewer. */
Test(dir_boot, sched_attempts_bounded)
{
  for (int k = 0; k < 3; k++) {
    double r = k / 2.0 * 0.999;
    uint32_t t = 0, d = DIR_BOOT_FALLBACK_INITIAL_MS;
    int n = 0;
    while (t + d <= 30000) {
      t += d;
      n++;
      d = dir_boot_sched_next(d, r, false);
    }
    cr_assert(n >= 3 && n <= 8, "r %f: %d attempts in 30 s", r, n);
    t = 0;
    d = DIR_BOOT_AUTHORITY_INITIAL_MS;
    n = 0;
    while (t + d <= 30000) {
      t += d;
      n++;
      d = dir_boot_sched_next(d, r, false);
    }
    cr_assert(n >= 2 && n <= 4, "authorities, r %f: %d in 30 s", r, n);
  }
}

Test(dir_boot, threshold)
{
  cr_assert(!dir_boot_sigs_enough(0, 0));
  cr_assert(!dir_boot_sigs_enough(0, 1));
  cr_assert(dir_boot_sigs_enough(1, 1));
  cr_assert(!dir_boot_sigs_enough(1, 2));
  cr_assert(dir_boot_sigs_enough(2, 2));
  cr_assert(dir_boot_sigs_enough(2, 3));
  cr_assert(!dir_boot_sigs_enough(2, 4));
  cr_assert(dir_boot_sigs_enough(3, 4));
  cr_assert(dir_boot_sigs_enough(5, 9));
  cr_assert(!dir_boot_sigs_enough(4, 9));
  cr_assert(!dir_boot_enough(false, 1.0));
  cr_assert(!dir_boot_enough(true, 0.59));
  cr_assert(dir_boot_enough(true, 0.6));
}

/* ---- fixtures ---- */

static dir_authority_t AUTHS[2];
static struct event_base *BASE;
static tls_context_t *TLS;
static nodelist_t *NL;
static char DIR_[256];
static int N_CALLS;
static bool LAST_ENOUGH;

static void
make_auth(dir_authority_t *a, const char *nick, const char *v3)
{
  memset(a, 0, sizeof(*a));
  snprintf(a->nickname, sizeof(a->nickname), "%s", nick);
  a->ipv4[0] = 127;
  a->ipv4[3] = 1;
  a->orport = 9;        /* discard port: never reached in these tests */
  a->dirport = 9;
  a->has_v3ident = true;
  cr_assert_eq(base16_decode(a->v3ident, 20, v3, 40), 20);
  memset(a->rsa_id, nick[4], 20);
}

static void
setup(void)
{
  crypto_global_init();
  make_auth(&AUTHS[0], "auth0", V3_AUTH0);
  make_auth(&AUTHS[1], "auth1", V3_AUTH1);
  BASE = event_base_new();
  TLS = tls_context_new_client();
  cr_assert(BASE && TLS);
  NL = nodelist_new();
  snprintf(DIR_, sizeof(DIR_), "/tmp/allium-test-dirboot-XXXXXX");
  cr_assert_not_null(mkdtemp(DIR_));
  N_CALLS = 0;
  LAST_ENOUGH = false;
  NOW = VA + 10;
}

static void
rm_dir(const char *d)
{
  static const char *names[] = { "cached-certs", "cached-consensus",
    "cached-microdesc-consensus", "cached-descriptors", "cached-microdescs" };
  char p[512];
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", d, names[i]);
    unlink(p);
  }
  rmdir(d);
}

static void
teardown(void)
{
  nodelist_free(NL);
  tls_context_free(TLS);
  event_base_free(BASE);
  rm_dir(DIR_);
}

static void
put(const char *name, const char *fixture)
{
  size_t len;
  char *s = fixture_load(fixture, &len);
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", DIR_, name);
  cr_assert_eq(fs_write_file_atomic(p, s, len, 0600), 0);
  free(s);
}

static void
on_dirinfo(nodelist_t *nl, bool enough, void *arg)
{
  cr_assert_eq(arg, &N_CALLS);
  cr_assert_eq(nl, NL);
  N_CALLS++;
  LAST_ENOUGH = enough;
}

static dir_boot_t *
boot(bool micro, const dir_authority_t *auths, size_t n)
{
  dir_boot_cfg_t cfg = { .base = BASE, .tls = TLS, .auths = auths, .n_auths = n,
                         .use_microdescs = micro, .cache_dir = DIR_,
                         .now = fake_now };
  dir_boot_cbs_t cbs = { on_dirinfo, &N_CALLS };
  dir_boot_t *b = dir_boot_new(&cfg, NL, &cbs);
  cr_assert_not_null(b);
  cr_assert_eq(dir_boot_start(b), 0);
  return b;
}

static void
put_ns(void)
{
  put("cached-certs", "certs.txt");
  put("cached-consensus", "consensus-ns.txt");
  put("cached-descriptors", "descriptors.txt");
}

TestSuite(dir_cache, .init = setup, .fini = teardown);

Test(dir_cache, live_ns_cache_is_used)
{
  put_ns();
  dir_boot_t *b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 1);
  cr_assert(LAST_ENOUGH);
  cr_assert(dir_boot_have_enough(b));
  cr_assert_eq(nodelist_n_nodes(NL), 4);
  cr_assert_float_eq(nodelist_descriptor_fraction(NL), 1.0, 1e-9);
  /* Nothing to fetch until the refresh: no consensus job started. */
  for (size_t i = 0; i < DIR_BOOT_MAX_IN_PROGRESS; i++)
    cr_assert_null(b->cjobs[i]);
  cr_assert(!b->bootstrapping);
  dir_boot_free(b);
}

Test(dir_cache, save_then_load_round_trip)
{
  put_ns();
  dir_boot_t *b = boot(false, AUTHS, 2);
  cr_assert(LAST_ENOUGH);
  /* The saved descriptor file holds only the 4 the consensus names. */
  dir_cache_save_descs(b);
  dir_cache_save_certs(b);
  dir_boot_free(b);
  char p[512], *s = NULL;
  size_t len;
  struct stat st;
  snprintf(p, sizeof(p), "%s/cached-descriptors", DIR_);
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  cr_assert_eq(fs_read_file(p, &s, &len, 1 << 24), 0);
  size_t n = 0;
  for (const char *q = s; (q = strstr(q, "\nrouter-signature\n")); q++)
    n++;
  cr_assert_eq(n, 4);
  cr_assert_eq(strncmp(s, "router ", 7), 0);
  al_free(s);
  /* cached-certs: both certificates again, byte for byte. */
  size_t flen;
  char *want = fixture_load("certs.txt", &flen);
  snprintf(p, sizeof(p), "%s/cached-certs", DIR_);
  cr_assert_eq(fs_read_file(p, &s, &len, 1 << 24), 0);
  cr_assert_eq(len, flen);
  cr_assert_eq(memcmp(s, want, len), 0);
  al_free(s);
  free(want);
  /* A new nodelist loads everything back from the saved files. */
  nodelist_free(NL);
  NL = nodelist_new();
  N_CALLS = 0;
  b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 1);
  cr_assert(LAST_ENOUGH);
  cr_assert_float_eq(nodelist_descriptor_fraction(NL), 1.0, 1e-9);
  dir_boot_free(b);
}

Test(dir_cache, microdesc_cache)
{
  put("cached-certs", "certs.txt");
  put("cached-microdesc-consensus", "consensus-md.txt");
  put("cached-microdescs", "microdescs.txt");
  dir_boot_t *b = boot(true, AUTHS, 2);
  cr_assert(LAST_ENOUGH);
  cr_assert_eq(nodelist_n_nodes(NL), 4);
  dir_cache_save_descs(b);
  dir_boot_free(b);
  nodelist_free(NL);
  NL = nodelist_new();
  LAST_ENOUGH = false;
  b = boot(true, AUTHS, 2);
  cr_assert(LAST_ENOUGH);
  cr_assert_float_eq(nodelist_descriptor_fraction(NL), 1.0, 1e-9);
  dir_boot_free(b);
}

Test(dir_cache, reasonably_live_is_used_expired_is_not)
{
  put_ns();
  NOW = VU + 24 * 3600 - 1;   /* expired, but less than a day ago */
  dir_boot_t *b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 1);
  cr_assert(LAST_ENOUGH);
  dir_boot_free(b);
  nodelist_free(NL);
  NL = nodelist_new();
  N_CALLS = 0;
  NOW = VU + 24 * 3600 + 1;
  b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 0);
  cr_assert(!dir_boot_have_enough(b));
  cr_assert_null(nodelist_get_consensus(NL));
  dir_boot_free(b);
}

Test(dir_cache, not_yet_valid_is_ignored)
{
  put_ns();
  NOW = VA - 1;
  dir_boot_t *b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 0);
  cr_assert_null(nodelist_get_consensus(NL));
  dir_boot_free(b);
}

Test(dir_cache, corrupted_consensus_is_ignored)
{
  put_ns();
  size_t len;
  char *s = fixture_load("consensus-ns.txt", &len);
  char *r = strstr(s, "\nw Bandwidth=");
  cr_assert_not_null(r);
  r[13] = r[13] == '7' ? '8' : '7';   /* still well formed: bad signatures */   /* change a router nickname: signatures fail */
  char p[512];
  snprintf(p, sizeof(p), "%s/cached-consensus", DIR_);
  cr_assert_eq(fs_write_file_atomic(p, s, len, 0600), 0);
  dir_boot_t *b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 0);
  cr_assert_null(nodelist_get_consensus(NL));
  dir_boot_free(b);
  /* Truncated: does not parse. */
  cr_assert_eq(fs_write_file_atomic(p, s, len / 2, 0600), 0);
  b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 0);
  dir_boot_free(b);
  free(s);
}

Test(dir_cache, corrupted_descriptors_do_not_hurt)
{
  put("cached-certs", "certs.txt");
  put("cached-consensus", "consensus-ns.txt");
  char p[512];
  snprintf(p, sizeof(p), "%s/cached-descriptors", DIR_);
  const char junk[] = "router x\nnonsense\n@foo\nrouter \n\n\0\1\2";
  cr_assert_eq(fs_write_file_atomic(p, junk, sizeof(junk), 0600), 0);
  dir_boot_t *b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 1);
  cr_assert(!LAST_ENOUGH);
  cr_assert_eq(nodelist_n_nodes(NL), 4);
  cr_assert_float_eq(nodelist_descriptor_fraction(NL), 0.0, 1e-9);
  dir_boot_free(b);
}

Test(dir_cache, missing_or_untrusted_certs)
{
  /* No certificates: the consensus cannot be verified. */
  put("cached-consensus", "consensus-ns.txt");
  dir_boot_t *b = boot(false, AUTHS, 2);
  cr_assert_eq(N_CALLS, 0);
  dir_boot_free(b);
  /* Only one of two configured identities is real: 1/2 is not more than
   * half. */
  put("cached-certs", "certs.txt");
  dir_authority_t two[2];
  two[0] = AUTHS[0];
  make_auth(&two[1], "authX", "0123456789012345678901234567890123456789");
  b = boot(false, two, 2);
  cr_assert_eq(N_CALLS, 0);
  dir_boot_free(b);
  /* With three configured identities, two valid signatures are enough. */
  dir_authority_t three[3] = { AUTHS[0], AUTHS[1], two[1] };
  b = boot(false, three, 3);
  cr_assert_eq(N_CALLS, 1);
  dir_boot_free(b);
}

Test(dir_cache, check_consensus_rules)
{
  size_t len;
  char *s = fixture_load("consensus-ns.txt", &len);
  char *c_text = fixture_load("certs.txt", &len);
  authcert_t **certs = NULL;
  size_t n_certs = 0;
  netdoc_err_t e;
  memset(&e, 0, sizeof(e));
  cr_assert_eq(authcert_parse_list(c_text, strlen(c_text), &certs, &n_certs,
                                   &e), 0);
  consensus_t *c = NULL;
  cr_assert_eq(consensus_parse(s, strlen(s), &c, &e), 0);
  const char *why = NULL;
  cr_assert_eq(dir_boot_check_consensus(c, certs, n_certs, AUTHS, 2, VA + 5,
                                        0, &why), 2);
  cr_assert_eq(dir_boot_check_consensus(c, certs, n_certs, AUTHS, 2, VA + 5,
                                        VA - 1, &why), 2);
  cr_assert_eq(dir_boot_check_consensus(c, certs, n_certs, AUTHS, 2, VA + 5,
                                        VA, &why), -1);
  cr_assert(strstr(why, "not newer"));
  cr_assert_eq(dir_boot_check_consensus(c, certs, n_certs, AUTHS, 2, VA + 5,
                                        VA + 1, &why), -1);
  cr_assert_eq(dir_boot_check_consensus(c, certs, n_certs, AUTHS, 2,
                                        VA - 1, 0, &why), -1);
  cr_assert(strstr(why, "not yet valid"));
  cr_assert_eq(dir_boot_check_consensus(c, certs, n_certs, AUTHS, 2,
                                        VA + 40 + 86401, 0, &why), -1);
  cr_assert(strstr(why, "24 hours"));
  cr_assert_eq(dir_boot_check_consensus(c, certs, 1, AUTHS, 2, VA + 5, 0,
                                        &why), -1);
  cr_assert(strstr(why, "signatures"));
  /* Only trusted identities are kept. */
  authcert_t *kept[2];
  cr_assert_eq(dir_boot_trusted_certs(certs, n_certs, AUTHS, 1, kept, 2), 1);
  cr_assert_eq(memcmp(kept[0]->identity_digest, AUTHS[0].v3ident, 20), 0);
  authcert_free(kept[0]);
  consensus_free(c);
  authcert_list_free(certs, n_certs);
  free(s);
  free(c_text);
}

Test(dir_cache, no_cache_dir_and_bad_config)
{
  dir_boot_cfg_t cfg = { .base = BASE, .tls = TLS, .auths = AUTHS, .n_auths = 2,
                         .now = fake_now };
  dir_boot_t *b = dir_boot_new(&cfg, NL, NULL);
  cr_assert_not_null(b);
  cr_assert_eq(dir_boot_start(b), 0);
  cr_assert(!dir_boot_have_enough(b));
  dir_boot_free(b);
  dir_authority_t noor = AUTHS[0];
  noor.orport = 0;
  cfg.auths = &noor;
  cfg.n_auths = 1;
  cr_assert_null(dir_boot_new(&cfg, NL, NULL));
  cfg.n_auths = 0;
  cr_assert_null(dir_boot_new(&cfg, NL, NULL));
  cr_assert_null(dir_boot_new(NULL, NL, NULL));
  dir_boot_free(b);
}

/* One malformed microdescriptor in the cache (or a response) costs only
 * itself: the other relays get theirs. */
Test(dir_cache, one_bad_microdesc_costs_only_itself)
{
  put("cached-certs", "certs.txt");
  put("cached-microdesc-consensus", "consensus-md.txt");
  size_t len;
  char *s = fixture_load("microdescs.txt", &len);
  char *second = strstr(s + 1, "@last-listed");
  char *key = strstr(second, "ntor-onion-key ");
  cr_assert_not_null(key);
  key[15] = '!';
  char p[512];
  snprintf(p, sizeof(p), "%s/cached-microdescs", DIR_);
  cr_assert_eq(fs_write_file_atomic(p, s, len, 0600), 0);
  dir_boot_t *b = boot(true, AUTHS, 2);
  cr_assert_eq(nodelist_n_nodes(NL), 4);
  cr_assert_float_eq(nodelist_descriptor_fraction(NL), 0.75, 1e-9);
  dir_boot_free(b);
  free(s);
}
