/* test_dir_defaults.c -- the built-in directory servers (default_dirs.inc,
 * from tor 0.4.9.11's lists: 10 DirAuthority lines of which one is the
 * bridge authority Serge, 200 FallbackDir lines) and how DirAuthority,
 * AlternateDirAuthority, FallbackDir and UseDefaultFallbackDirs replace
 * them (tor(1)). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "allium/feature/dirclient/dir_defaults.h"
#include "allium/lib/malloc/malloc.h"

/* Facts of the data in ../shared/public-network (tor 0.4.9.11). */
#define N_AUTH_LINES 10
#define N_DIR_AUTHS 9
#define N_FALLBACKS 200
#define N_FALLBACKS_IPV6 91

#define FP "EB0EEE7C95D2B4324115C07FE175CB1D1DF18B99"
#define AUTH0 "auth0 orport=5000 v3ident=330034F98048FAEDF6E72053100735451C70A478 " \
              "127.0.0.1:7000 ABCDEF0123456789ABCDEF0123456789ABCDEF01"

Test(dir_defaults, builtin_lists_parse)
{
  const char *const *al, *const *fl;
  cr_assert_str_eq(dir_defaults_tor_version(), "0.4.9.11");
  cr_assert_eq(dir_defaults_authority_lines(&al), N_AUTH_LINES);
  cr_assert_eq(dir_defaults_fallback_lines(&fl), N_FALLBACKS);
  size_t n_bridge = 0, n_v3 = 0, n_v6 = 0;
  for (size_t i = 0; i < N_AUTH_LINES; i++) {
    dir_authority_t a;
    char *err = NULL;
    cr_assert_eq(dir_authority_parse(al[i], &a, &err), 0, "%s: %s", al[i],
                 err ? err : "");
    cr_assert_neq(a.orport, 0, "%s", al[i]);
    n_bridge += a.is_bridge_auth;
    n_v3 += a.has_v3ident;
  }
  cr_assert_eq(n_bridge, 1);
  cr_assert_eq(n_v3, N_DIR_AUTHS);
  for (size_t i = 0; i < N_FALLBACKS; i++) {
    dir_fallback_t f;
    char *err = NULL;
    cr_assert_eq(dir_fallback_parse(fl[i], &f, &err), 0, "%s: %s", fl[i],
                 err ? err : "");
    n_v6 += f.has_ipv6;
    /* no two fallbacks share an identity */
    for (size_t k = 0; k < i; k++) {
      dir_fallback_t g;
      cr_assert_eq(dir_fallback_parse(fl[k], &g, NULL), 0);
      cr_assert(memcmp(f.rsa_id, g.rsa_id, 20), "%s twice", fl[i]);
    }
  }
  cr_assert_eq(n_v6, N_FALLBACKS_IPV6);
}

/* moria1 as tor ships it (its ports differ from the other authorities'). */
Test(dir_defaults, moria1)
{
  dir_servers_cfg_t c = { .use_default_fallbacks = true };
  dir_servers_t s;
  cr_assert_eq(dir_servers_resolve(&c, &s, NULL), 0);
  bool found = false;
  for (size_t i = 0; i < s.n_auths; i++) {
    if (strcmp(s.auths[i].nickname, "moria1"))
      continue;
    found = true;
    const uint8_t ip[4] = { 128, 31, 0, 39 };
    cr_assert_arr_eq(s.auths[i].ipv4, ip, 4);
    cr_assert_eq(s.auths[i].orport, 9201);
    cr_assert_eq(s.auths[i].dirport, 9231);
    cr_assert_eq(s.auths[i].rsa_id[0], 0x1A);
    cr_assert_eq(s.auths[i].v3ident[0], 0xF5);
  }
  cr_assert(found);
  dir_servers_clear(&s);
}

static void
resolve(dir_servers_cfg_t *c, dir_servers_t *s)
{
  char *err = NULL;
  cr_assert_eq(dir_servers_resolve(c, s, &err), 0, "%s", err ? err : "");
  cr_assert_null(err);
}

Test(dir_defaults, no_options_use_builtin)
{
  dir_servers_cfg_t c = { .use_default_fallbacks = true };
  dir_servers_t s;
  resolve(&c, &s);
  cr_assert_eq(s.n_auths, N_DIR_AUTHS);
  cr_assert_eq(s.n_fallbacks, N_FALLBACKS);
  cr_assert(s.auths_builtin && s.fallbacks_builtin);
  for (size_t i = 0; i < s.n_auths; i++)
    cr_assert(!s.auths[i].is_bridge_auth && s.auths[i].has_v3ident);
  dir_servers_clear(&s);
  cr_assert_null(s.auths);
  cr_assert_eq(s.n_fallbacks, 0);
  dir_servers_clear(NULL);
}

Test(dir_defaults, use_default_fallback_dirs_0)
{
  dir_servers_cfg_t c = { .use_default_fallbacks = false };
  dir_servers_t s;
  resolve(&c, &s);
  cr_assert_eq(s.n_auths, N_DIR_AUTHS);
  cr_assert_eq(s.n_fallbacks, 0);
  cr_assert(s.auths_builtin && !s.fallbacks_builtin);
  dir_servers_clear(&s);
}

Test(dir_defaults, fallbackdir_replaces_builtin_fallbacks)
{
  const char *fb[] = { "10.0.0.1 orport=1 id=" FP,
                       "10.0.0.2:80 orport=2 id=" FP " weight=3" };
  for (int u = 0; u < 2; u++) {
    dir_servers_cfg_t c = { .fallback_dir = fb, .n_fallback_dir = 2,
                            .use_default_fallbacks = u };
    dir_servers_t s;
    resolve(&c, &s);
    cr_assert_eq(s.n_auths, N_DIR_AUTHS);
    cr_assert(s.auths_builtin);
    cr_assert_eq(s.n_fallbacks, 2);
    cr_assert(!s.fallbacks_builtin);
    cr_assert_eq(s.fallbacks[1].orport, 2);
    cr_assert_eq(s.fallbacks[1].weight, 3);
    dir_servers_clear(&s);
  }
}

Test(dir_defaults, dirauthority_replaces_all_defaults)
{
  const char *da[] = { AUTH0 };
  dir_servers_cfg_t c = { .dir_authority = da, .n_dir_authority = 1,
                          .use_default_fallbacks = true };
  dir_servers_t s;
  resolve(&c, &s);
  cr_assert_eq(s.n_auths, 1);
  cr_assert_str_eq(s.auths[0].nickname, "auth0");
  cr_assert_eq(s.n_fallbacks, 0);
  cr_assert(!s.auths_builtin && !s.fallbacks_builtin);
  dir_servers_clear(&s);
  /* ... but configured fallbacks are kept */
  const char *fb[] = { "10.0.0.1 orport=1 id=" FP };
  c.fallback_dir = fb;
  c.n_fallback_dir = 1;
  resolve(&c, &s);
  cr_assert_eq(s.n_auths, 1);
  cr_assert_eq(s.n_fallbacks, 1);
  dir_servers_clear(&s);
}

Test(dir_defaults, alternate_dir_authority)
{
  const char *aa[] = { AUTH0,
                       "bridgeauth orport=1 bridge 10.1.1.1:2 " FP };
  dir_servers_cfg_t c = { .alt_dir_authority = aa, .n_alt_dir_authority = 2,
                          .use_default_fallbacks = true };
  dir_servers_t s;
  resolve(&c, &s);
  cr_assert_eq(s.n_auths, 1, "bridge authorities stay out");
  cr_assert_str_eq(s.auths[0].nickname, "auth0");
  cr_assert_eq(s.n_fallbacks, 0, "public mirrors serve another consensus");
  cr_assert(!s.auths_builtin);
  dir_servers_clear(&s);
}

static void
expect_error(dir_servers_cfg_t *c, const char *part)
{
  dir_servers_t s;
  char *err = NULL;
  memset(&s, 0x5a, sizeof(s));
  cr_assert_eq(dir_servers_resolve(c, &s, &err), -1);
  cr_assert_not_null(err);
  cr_assert(strstr(err, part), "\"%s\" lacks \"%s\"", err, part);
  cr_assert_null(s.auths);
  cr_assert_null(s.fallbacks);
  cr_assert_eq(s.n_auths + s.n_fallbacks, 0);
  al_free(err);
}

Test(dir_defaults, errors)
{
  const char *da[] = { AUTH0 };
  const char *bad_da[] = { AUTH0, "auth1 orport=1 127.0.0.1:2" };
  const char *bad_fb[] = { "10.0.0.1 orport=1 id=" FP, "10.0.0.2 orport=1" };
  dir_servers_cfg_t both = { .dir_authority = da, .n_dir_authority = 1,
                             .alt_dir_authority = da,
                             .n_alt_dir_authority = 1 };
  expect_error(&both, "cannot both");
  dir_servers_cfg_t c1 = { .dir_authority = bad_da, .n_dir_authority = 2 };
  expect_error(&c1, "DirAuthority");
  dir_servers_cfg_t c2 = { .fallback_dir = bad_fb, .n_fallback_dir = 2 };
  expect_error(&c2, "lacks id");
  static const char *many[DIR_SERVERS_MAX_FALLBACKS + 1];
  for (size_t i = 0; i <= DIR_SERVERS_MAX_FALLBACKS; i++)
    many[i] = "10.0.0.1 orport=1 id=" FP;
  dir_servers_cfg_t c3 = { .fallback_dir = many,
                           .n_fallback_dir = DIR_SERVERS_MAX_FALLBACKS + 1 };
  expect_error(&c3, "too many");
  c3.n_fallback_dir = DIR_SERVERS_MAX_FALLBACKS;
  dir_servers_t s;
  resolve(&c3, &s);
  cr_assert_eq(s.n_fallbacks, DIR_SERVERS_MAX_FALLBACKS);
  dir_servers_clear(&s);
  cr_assert_eq(dir_servers_resolve(NULL, &s, NULL), -1);
  cr_assert_eq(dir_servers_resolve(&c3, NULL, NULL), -1);
}
