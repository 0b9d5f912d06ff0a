/* dir_defaults.h -- the directory servers a client bootstraps from: the
 * public Tor network's authorities and fallback directory mirrors built
 * into allium (default_dirs.inc, from tor's own lists), and how the
 * DirAuthority, AlternateDirAuthority, FallbackDir and
 * UseDefaultFallbackDirs options replace them (tor(1); dir-spec 5.1):
 *
 *  - authorities: the DirAuthority lines if any; else the
 *    AlternateDirAuthority lines if any; else the built-in ones.  Bridge
 *    authorities are kept out of the client's list.  Setting both
 *    DirAuthority and AlternateDirAuthority is an error (as in tor).
 *  - fallbacks: the FallbackDir lines if any; else the built-in ones when
 *    UseDefaultFallbackDirs is 1 and neither DirAuthority nor
 *    AlternateDirAuthority is set (the built-in mirrors serve the public
 *    network's consensus, useless with other authorities); else none.
 */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_DEFAULTS_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_DEFAULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "allium/feature/dirclient/dir_authority.h"
#include "allium/feature/dirclient/dir_fallback.h"

/** Most authorities / fallbacks accepted from the configuration. */
#define DIR_SERVERS_MAX_AUTHS 64
#define DIR_SERVERS_MAX_FALLBACKS 1024

/** The tor release the built-in lists were taken from, e.g. "0.4.9.11". */
const char *dir_defaults_tor_version(void);
/** The built-in DirAuthority lines (tor syntax; incl. the bridge
 * authority); sets *lines, returns the count. */
size_t dir_defaults_authority_lines(const char *const **lines);
/** The built-in FallbackDir lines (tor syntax). */
size_t dir_defaults_fallback_lines(const char *const **lines);

/** The configured values (each an array of n option values). */
typedef struct dir_servers_cfg_t {
  const char *const *dir_authority;
  size_t n_dir_authority;
  const char *const *alt_dir_authority;
  size_t n_alt_dir_authority;
  const char *const *fallback_dir;
  size_t n_fallback_dir;
  bool use_default_fallbacks;        /* UseDefaultFallbackDirs */
} dir_servers_cfg_t;

/** The resolved lists (owned; free with dir_servers_clear()). */
typedef struct dir_servers_t {
  dir_authority_t *auths;            /* directory authorities, no bridge auth */
  size_t n_auths;
  dir_fallback_t *fallbacks;
  size_t n_fallbacks;
  bool auths_builtin, fallbacks_builtin;
} dir_servers_t;

/** Resolve cfg into *out (rules above).  0, or -1 with *err set to a new
 * message (al_free; err may be NULL) and *out empty. */
int dir_servers_resolve(const dir_servers_cfg_t *cfg, dir_servers_t *out,
                        char **err);
/** Free the lists and zero *s; NULL is fine. */
void dir_servers_clear(dir_servers_t *s);

#endif
