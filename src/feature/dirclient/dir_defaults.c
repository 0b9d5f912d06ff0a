/* dir_defaults.c -- the built-in directory authorities and fallback
 * directory mirrors of the public Tor network (default_dirs.inc, generated
 * from tor's lists) and the rules by which DirAuthority,
 * AlternateDirAuthority, FallbackDir and UseDefaultFallbackDirs replace
 * them (tor(1); dir-spec 5.1).  See dir_defaults.h. */
#include "allium/feature/dirclient/dir_defaults.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/malloc/malloc.h"
#include "dir_lineparse.h"

#define DIR_DEFAULT_AUTHORITY(line) line,
static const char *const default_auths[] = {
#include "default_dirs.inc"
};
#undef DIR_DEFAULT_AUTHORITY

#define DIR_DEFAULT_FALLBACK(line) line,
static const char *const default_fallbacks[] = {
#include "default_dirs.inc"
};
#undef DIR_DEFAULT_FALLBACK

_Static_assert(sizeof(default_auths) / sizeof(default_auths[0]) ==
                   DIR_DEFAULTS_N_AUTHORITIES,
               "default_dirs.inc: authority count");
_Static_assert(sizeof(default_fallbacks) / sizeof(default_fallbacks[0]) ==
                   DIR_DEFAULTS_N_FALLBACKS,
               "default_dirs.inc: fallback count");

const char *
dir_defaults_tor_version(void)
{
  return DIR_DEFAULTS_TOR_VERSION;
}

size_t
dir_defaults_authority_lines(const char *const **lines)
{
  *lines = default_auths;
  return sizeof(default_auths) / sizeof(default_auths[0]);
}

size_t
dir_defaults_fallback_lines(const char *const **lines)
{
  *lines = default_fallbacks;
  return sizeof(default_fallbacks) / sizeof(default_fallbacks[0]);
}

/* Parse authority lines into out (bridge authorities skipped). */
static int
add_auths(dir_servers_t *out, const char *opt, const char *const *lines,
          size_t n, char **err)
{
  out->auths = al_calloc(n ? n : 1, sizeof(*out->auths));
  for (size_t i = 0; i < n; i++) {
    dir_authority_t a;
    char *why = NULL;
    if (dir_authority_parse(lines[i], &a, &why) < 0) {
      int r = dir_line_fail(err, "%s \"%.80s\": %s", opt, lines[i],
                   why ? why : "malformed");
      al_free(why);
      return r;
    }
    if (!a.is_bridge_auth)
      out->auths[out->n_auths++] = a;
  }
  return 0;
}

static int
add_fallbacks(dir_servers_t *out, const char *const *lines, size_t n,
              char **err)
{
  out->fallbacks = al_calloc(n ? n : 1, sizeof(*out->fallbacks));
  for (size_t i = 0; i < n; i++) {
    char *why = NULL;
    if (dir_fallback_parse(lines[i], &out->fallbacks[i], &why) < 0) {
      int r = dir_line_fail(err, "FallbackDir \"%.80s\": %s", lines[i],
                   why ? why : "malformed");
      al_free(why);
      return r;
    }
    out->n_fallbacks++;
  }
  return 0;
}

static int
resolve(const dir_servers_cfg_t *cfg, dir_servers_t *out, char **err)
{
  const char *const *lines;
  size_t n;
  if (cfg->n_dir_authority && cfg->n_alt_dir_authority)
    return dir_line_fail(err, "DirAuthority and AlternateDirAuthority cannot both "
                "be set");
  if (cfg->n_dir_authority > DIR_SERVERS_MAX_AUTHS ||
      cfg->n_alt_dir_authority > DIR_SERVERS_MAX_AUTHS)
    return dir_line_fail(err, "too many directory authorities (at most %d)",
                DIR_SERVERS_MAX_AUTHS);
  if (cfg->n_fallback_dir > DIR_SERVERS_MAX_FALLBACKS)
    return dir_line_fail(err, "too many FallbackDir lines (at most %d)",
                DIR_SERVERS_MAX_FALLBACKS);
  int r;
  if (cfg->n_dir_authority) {
    r = add_auths(out, "DirAuthority", cfg->dir_authority,
                  cfg->n_dir_authority, err);
  } else if (cfg->n_alt_dir_authority) {
    r = add_auths(out, "AlternateDirAuthority", cfg->alt_dir_authority,
                  cfg->n_alt_dir_authority, err);
  } else {
    n = dir_defaults_authority_lines(&lines);
    r = add_auths(out, "built-in DirAuthority", lines, n, err);
    out->auths_builtin = true;
  }
  if (r < 0)
    return r;
  if (cfg->n_fallback_dir)
    return add_fallbacks(out, cfg->fallback_dir, cfg->n_fallback_dir, err);
  if (cfg->use_default_fallbacks && out->auths_builtin) {
    n = dir_defaults_fallback_lines(&lines);
    out->fallbacks_builtin = true;
    return add_fallbacks(out, lines, n, err);
  }
  return 0;
}

int
dir_servers_resolve(const dir_servers_cfg_t *cfg, dir_servers_t *out,
                    char **err)
{
  if (err)
    *err = NULL;
  if (!out)
    return dir_line_fail(err, "no output");
  memset(out, 0, sizeof(*out));
  if (!cfg)
    return dir_line_fail(err, "no configuration");
  if (resolve(cfg, out, err) < 0) {
    dir_servers_clear(out);
    return -1;
  }
  return 0;
}

void
dir_servers_clear(dir_servers_t *s)
{
  if (!s)
    return;
  al_free(s->auths);
  al_free(s->fallbacks);
  memset(s, 0, sizeof(*s));
}
