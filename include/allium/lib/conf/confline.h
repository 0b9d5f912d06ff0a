/* confline.h -- torrc-format text to an ordered list of (key, value) lines.
 *
 * Generic, onion-routing-agnostic.  The format is the one tor(1) documents
 * for its configuration file ("THE CONFIGURATION FILE FORMAT"):
 *   - one "Key Value" per line; the key ends at the first whitespace;
 *   - '#' starts a comment (at line start or after a value);
 *   - blank lines are ignored; leading/trailing whitespace is trimmed;
 *   - a backslash just before the newline continues the value on the next
 *     line; comment lines inside a continuation are skipped;
 *   - a value in double quotes may use C escapes (\n \t \r \" \\ \' \xHH,
 *     octal \NNN);
 *   - "%include PATH" pulls in a file, or every file of a folder (sorted by
 *     name, dotfiles skipped), or every match of a glob pattern, to a depth
 *     of CONFLINE_MAX_INCLUDE_DEPTH, with loop protection;
 *   - "+Key" appends to and "/Key" clears a repeatable option.
 * Parsing is sans-IO (confline_parse_text); only confline_parse_file and
 * confline_expand_includes touch the file system.  Errors never abort: they
 * come back as a heap string "source:line: what is wrong" (caller frees).
 */
#ifndef ALLIUM_LIB_CONF_CONFLINE_H
#define ALLIUM_LIB_CONF_CONFLINE_H

#include <stddef.h>

/** Largest configuration file / text accepted (1 MiB). */
#define CONFLINE_MAX_TEXT (1024 * 1024)
/** Largest logical line (after joining continuations). */
#define CONFLINE_MAX_LINE (64 * 1024)
/** Most lines accepted from one parse, includes counted. */
#define CONFLINE_MAX_LINES 100000
/** Deepest %include nesting (tor uses 31). */
#define CONFLINE_MAX_INCLUDE_DEPTH 31
/** Most files one folder %include may pull in. */
#define CONFLINE_MAX_FOLDER_FILES 1024

/** How a line changes a repeatable (linelist) option. */
typedef enum confline_cmd_t {
  CONFLINE_SET = 0,    /**< "Key value": normal assignment. */
  CONFLINE_APPEND = 1, /**< "+Key value": append even on the command line. */
  CONFLINE_CLEAR = 2,  /**< "/Key": reset to the default. */
} confline_cmd_t;

/** One configuration line; a list is linked through next. */
typedef struct config_line_t {
  char *key;            /**< Option name as written (never NULL). */
  char *value;          /**< Value after unquoting (never NULL; "" if none). */
  char *source;         /**< File name, "<string>", or "command line". */
  int lineno;           /**< 1-based line in source (argv index on cmdline). */
  confline_cmd_t command;
  int from_cmdline;     /**< 1 when this line came from argv. */
  struct config_line_t *next;
} config_line_t;

/** Append a new line (copies key/value/source) at the end of *list and
 * return it.  source may be NULL. */
config_line_t *confline_append(config_line_t **list, const char *key,
                               const char *value, const char *source,
                               int lineno);
/** Deep copy of a list; caller frees. */
config_line_t *confline_dup(const config_line_t *list);
/** Number of lines in list. */
size_t confline_count(const config_line_t *list);
/** First line whose key matches (case-insensitive), or NULL. */
const config_line_t *confline_find(const config_line_t *list, const char *key);
/** Free a whole list, wiping values.  NULL is fine. */
void confline_free_(config_line_t *list);
#define confline_free(p) do { confline_free_(p); (p) = NULL; } while (0)

/** Parse len bytes of torrc text (need not be NUL-terminated) into *out.
 * "%include" lines are kept as lines with key "%include" (use
 * confline_expand_includes to resolve them).  source names the text in
 * error messages (NULL: "<string>").  Returns 0, or -1 with *errmsg set
 * (caller frees) and *out NULL.  Rejects NUL bytes, texts over
 * CONFLINE_MAX_TEXT, lines over CONFLINE_MAX_LINE, bad quoting. */
int confline_parse_text(const char *text, size_t len, const char *source,
                        config_line_t **out, char **errmsg);

/** Replace every "%include" line of *lines by the lines of the file or
 * folder it names.  In a file, a relative path is relative to that file's
 * folder; in text (this function, confline_parse_string) relative to the
 * working directory.  depth is the nesting level of *lines (0 for a
 * top-level file).  Returns 0 or -1 with *errmsg (caller frees). */
int confline_expand_includes(config_line_t **lines, int depth, char **errmsg);

/** Read and parse the file at path, resolving %include.  Returns 0, -1 on
 * error (*errmsg set; caller frees), or -2 when the file does not exist
 * (*errmsg set too, so callers that ignore a missing file can drop it). */
int confline_parse_file(const char *path, config_line_t **out, char **errmsg);

/** Parse text and resolve %include (against the file system).
 * Same contract as confline_parse_text. */
int confline_parse_string(const char *text, const char *source,
                          config_line_t **out, char **errmsg);

/** Decode a C-style quoted string starting at s (s[0] == '"').  On success
 * returns a heap copy of the content (caller frees) and sets *end just past
 * the closing quote; NULL on malformed input. */
char *confline_unquote(const char *s, size_t len, size_t *end);

#endif
