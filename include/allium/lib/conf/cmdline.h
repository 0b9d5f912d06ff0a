/* cmdline.h -- argv to configuration lines, tor-style.
 *
 * Generic, onion-routing-agnostic.  Arguments are either special flags the
 * application declares (e.g. "-f FILE", "--help", "--dump-config [mode]"),
 * returned in conf_cmdline_t.flags, or option assignments
 * "--Option value" (also "-Option value" and "Option value" like tor),
 * returned as config lines marked from_cmdline.  "+Option value" appends
 * to a repeatable option instead of replacing it, "/Option" clears it and
 * takes no value.  A value-taking option or flag with no value left is an
 * error.
 */
#ifndef ALLIUM_LIB_CONF_CMDLINE_H
#define ALLIUM_LIB_CONF_CMDLINE_H

#include <stddef.h>

#include "allium/lib/conf/confline.h"

/** How a declared flag takes an argument. */
typedef enum conf_flag_arg_t {
  CONF_FLAG_ARG_NONE = 0,
  CONF_FLAG_ARG_REQUIRED = 1,
  /** Takes the next argument only when it is one of the row's words. */
  CONF_FLAG_ARG_OPTIONAL = 2,
} conf_flag_arg_t;

/** A special command-line flag, e.g. {"--help", CONF_FLAG_ARG_NONE, NULL}. */
typedef struct conf_cmdline_flag_t {
  const char *name;            /**< exact spelling, with dashes */
  conf_flag_arg_t arg;
  const char *const *words;    /**< OPTIONAL: NULL-terminated accepted words */
} conf_cmdline_flag_t;

/** Result of conf_cmdline_parse(). */
typedef struct conf_cmdline_t {
  /** "--Option value" assignments, in order; from_cmdline set. */
  config_line_t *lines;
  /** Declared flags seen, in order: key = flag name as declared,
   * value = its argument or "", lineno = argv index of the argument (of
   * the flag itself when there is none). */
  config_line_t *flags;
} conf_cmdline_t;

/** Parse argv[1..argc-1].  flags/n_flags declare the special flags.
 * Returns 0 (fill *out; release with conf_cmdline_clear) or -1 with
 * *errmsg (caller frees) and *out empty. */
int conf_cmdline_parse(int argc, char *const *argv,
                       const conf_cmdline_flag_t *flags, size_t n_flags,
                       conf_cmdline_t *out, char **errmsg);

/** Free what out holds and zero it. */
void conf_cmdline_clear(conf_cmdline_t *out);

#endif
