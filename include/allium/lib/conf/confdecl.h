/* confdecl.h -- typed option tables over a plain C struct.
 *
 * Generic, onion-routing-agnostic.  An application describes its options
 * as an array of conf_var_t rows (name, type, offset into its options
 * struct, default as text, one-line doc, limits, flags) and a conf_format_t
 * that owns the array.  This module then initialises a struct with the
 * defaults, applies config_line_t lists to it (with tor's override rules),
 * frees it, dumps it back as torrc text and lists the options.
 *
 * Value syntax follows tor(1) ("THE CONFIGURATION FILE FORMAT" and the
 * option type descriptions): booleans are 0/1, intervals and memory sizes
 * take tor's unit words, ports are 0-65535 or "auto".
 *
 * Field C types by conf_type_t:
 *   STRING, FILENAME, ADDRPORT        char *   (NULL when unset)
 *   BOOL, AUTOBOOL, INT, PORT, CHOICE int      (AUTOBOOL: -1 = auto;
 *                                              PORT: -1 = auto;
 *                                              CHOICE: index in choices)
 *   INTERVAL                           int      seconds
 *   MSEC_INTERVAL                      int      milliseconds
 *   UINT64, MEMORY                     uint64_t (MEMORY in bytes)
 *   CSV                                char **  NULL-terminated, NULL if empty
 *   LINELIST, PORTLIST                 config_line_t *  (NULL if empty)
 */
#ifndef ALLIUM_LIB_CONF_CONFDECL_H
#define ALLIUM_LIB_CONF_CONFDECL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "allium/lib/conf/confline.h"

typedef enum conf_type_t {
  CONF_TYPE_STRING,        /**< free text */
  CONF_TYPE_FILENAME,      /**< a path (no NUL, non-empty) */
  CONF_TYPE_BOOL,          /**< 0 or 1 */
  CONF_TYPE_AUTOBOOL,      /**< 0, 1 or auto */
  CONF_TYPE_INT,           /**< integer in [min, max] */
  CONF_TYPE_PORT,          /**< 0-65535 or auto */
  CONF_TYPE_UINT64,        /**< unsigned 64-bit integer in [min, max] */
  CONF_TYPE_INTERVAL,      /**< time, seconds: "30 seconds", "2 hours" */
  CONF_TYPE_MSEC_INTERVAL, /**< time, milliseconds: "500 msec", "2 seconds" */
  CONF_TYPE_MEMORY,        /**< size in bytes: "512 MB", "64 KBytes" */
  CONF_TYPE_CSV,           /**< comma-separated list */
  CONF_TYPE_LINELIST,      /**< repeatable; every value kept in order */
  CONF_TYPE_PORTLIST,      /**< repeatable; first word a port spec */
  CONF_TYPE_ADDRPORT,      /**< "address:port" */
  CONF_TYPE_CHOICE,        /**< one word of the row's choices */
} conf_type_t;

/* Row flags. */
#define CONF_FLAG_NONE 0u
/** Value is sensitive: never printed by conf_dump() (shown as "[hidden]"
 * only in option lists, never the value). */
#define CONF_FLAG_SENSITIVE (1u << 0)
/** Not shown by conf_print_list(). */
#define CONF_FLAG_HIDDEN (1u << 1)
/** dflt only describes a default built into the program (e.g. a list):
 * conf_print_list() shows it, but the option starts empty. */
#define CONF_FLAG_BUILTIN_DEFAULT (1u << 2)
/** Parsed and stored but not supported yet: the application refuses any
 * value other than the default (see conf_refused_names()).  For a shared
 * line list every row of the group should carry it. */
#define CONF_FLAG_REFUSED (1u << 3)

/** One option. */
typedef struct conf_var_t {
  const char *name;      /**< canonical spelling, e.g. "SocksPort" */
  conf_type_t type;
  size_t offset;         /**< offsetof(options struct, field) */
  const char *dflt;      /**< default as config text, or NULL for none */
  const char *doc;       /**< one line of documentation */
  int64_t min, max;      /**< INT/UINT64/INTERVAL/MEMORY limits (0,0 = type's) */
  const char *const *choices; /**< CHOICE: NULL-terminated words */
  unsigned flags;        /**< CONF_FLAG_* */
} conf_var_t;

/** An alternative spelling that maps to a canonical option. */
typedef struct conf_alias_t {
  const char *alias;
  const char *name;
} conf_alias_t;

/** Everything conf_* needs to know about one options struct. */
typedef struct conf_format_t {
  size_t obj_size;
  const conf_var_t *vars;
  size_t n_vars;
  const conf_alias_t *aliases;   /**< may be NULL */
  size_t n_aliases;
  /** Names accepted but ignored (e.g. not implemented yet); may be NULL. */
  const char *const *ignored;
  size_t n_ignored;
} conf_format_t;

/** The row for name (case-insensitive; aliases resolved), or NULL. */
const conf_var_t *conf_find_var(const conf_format_t *fmt, const char *name);
/** Canonical spelling of an ignored name (case-insensitive), or NULL. */
const char *conf_find_ignored(const conf_format_t *fmt, const char *name);
/** The known name (vars, then ignored) closest to name by case-insensitive
 * edit distance, or NULL when nothing is reasonably close. */
const char *conf_suggest(const conf_format_t *fmt, const char *name);
/** Case-insensitive Levenshtein distance (capped at 255 per string). */
int conf_edit_distance(const char *a, const char *b);

/** Fill obj (fmt->obj_size bytes) with every option's default.  Aborts
 * only if a default in the table is itself invalid (a programming error).*/
void conf_init(const conf_format_t *fmt, void *obj);

/** Apply lines to obj.  Scalars: the later line wins.  LINELIST/PORTLIST:
 * within one call values accumulate; the first SET line of an option in a
 * call replaces what earlier calls left (so a torrc replaces the defaults
 * file, and the command line replaces the torrc), "+Key" appends and
 * "/Key" resets to the default.  Names in fmt->ignored are appended once
 * each (canonical spelling, as key) to *ignored_out when that is non-NULL.
 * Returns 0, or -1 with *errmsg (caller frees) naming the line's
 * source:line, the option, the value and what was expected; obj may then be
 * partly updated but stays freeable. */
int conf_apply_lines(const conf_format_t *fmt, void *obj,
                     const config_line_t *lines, config_line_t **ignored_out,
                     char **errmsg);

/** Parse one value for var into obj (as one SET line would). */
int conf_set_value(const conf_format_t *fmt, void *obj, const conf_var_t *var,
                   const char *value, char **errmsg);

/** Reset one option to its default. */
void conf_reset_var(const conf_format_t *fmt, void *obj, const conf_var_t *var);

/** Release everything obj owns (strings wiped) and zero the struct; obj
 * itself is not freed. */
void conf_clear(const conf_format_t *fmt, void *obj);

/** Deep copy src into dst (dst must be uninitialised or cleared). */
void conf_copy(const conf_format_t *fmt, void *dst, const void *src);

/** Format one option's value(s) as torrc lines "Name value\n" (one per
 * list item for LINELIST/PORTLIST; nothing for an empty list/unset
 * string).  Caller frees. */
char *conf_format_var(const conf_format_t *fmt, const void *obj,
                      const conf_var_t *var);

/** Same, with intervals in seconds (milliseconds for MSEC_INTERVAL) and
 * memory sizes in bytes, without unit words, as tor's GETCONF answers. */
char *conf_format_var_plain(const conf_format_t *fmt, const void *obj,
                            const conf_var_t *var);

/** Torrc text for obj: every option whose value differs from its default
 * when only_changed, else every option.  SENSITIVE values are never
 * printed (a "# Name [hidden]" comment instead).  Caller frees. */
char *conf_dump(const conf_format_t *fmt, const void *obj, int only_changed);

/** The options of obj that carry CONF_FLAG_REFUSED and differ from their
 * default, as "Name, Name" in table order (for a shared line list: each
 * distinct option name among its lines, in line order), or NULL when none
 * does.  Caller frees. */
char *conf_refused_names(const conf_format_t *fmt, const void *obj);

/** Print one line per non-hidden option: name, type, default, doc. */
void conf_print_list(const conf_format_t *fmt, FILE *f);

/** Human name of a type ("Interval", "Port", ...). */
const char *conf_type_name(conf_type_t t);

/* Value parsers, exported for tests.  Each returns 0 or -1 with *errmsg
 * set to what was expected (caller frees).  Whitespace around is allowed. */
int conf_parse_bool(const char *s, int allow_auto, int *out, char **errmsg);
int conf_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out,
                     char **errmsg);
int conf_parse_uint64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                      char **errmsg);
int conf_parse_port(const char *s, int allow_auto, int *out, char **errmsg);
/** Interval with tor's unit words (msec, second, minute, hour, day,
 * week, month; singular or plural; a decimal fraction is allowed).  With
 * msec == 0 the result is in seconds and a plain number means seconds;
 * with msec == 1 the result is in milliseconds and a plain number means
 * milliseconds. */
int conf_parse_interval(const char *s, int msec, uint64_t *out, char **errmsg);
int conf_parse_memory(const char *s, uint64_t *out, char **errmsg);
/** "host:port", "[v6]:port" (port required unless port_optional). */
int conf_parse_addrport(const char *s, int port_optional, char **errmsg);
/** A port spec as the first word of a *Port line: "auto", "0"-"65535",
 * "addr:port", "[v6]:port", "unix:path". */
int conf_parse_portspec(const char *s, char **errmsg);

#endif
