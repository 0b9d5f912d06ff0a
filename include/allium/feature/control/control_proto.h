/* control_proto.h -- the control protocol's wire format, sans I/O
 * (control-spec 2 "Message format": commands, data blocks, quoting,
 * replies).  No knowledge of what the commands mean.
 *
 * Input: control_parser_feed() the bytes a controller sent, then take
 * complete commands with control_parser_next().  A command is one line
 * "Keyword [SP Args] CRLF", or "+Keyword [SP Args] CRLF" followed by a
 * dot-stuffed data block ending with "." CRLF.  Bare LF is accepted as a
 * line end, as tor does.
 *
 * Output: control_reply_line() / control_reply_data() append replies
 * ("250-...", "250+...", "250 OK") to a heap bytes_writer_t.
 */
#ifndef ALLIUM_FEATURE_CONTROL_CONTROL_PROTO_H
#define ALLIUM_FEATURE_CONTROL_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/lib/bytes/bytes.h"

/** Errors of the parser. */
#define CONTROL_PARSE_TOOLONG (-1)   /**< a line or data block over the cap */

typedef struct control_cmd_t {
  char *keyword;   /**< as sent, without a leading '+' (al_malloc'd);
                    *   compare with strcasecmp() */
  char *args;      /**< the rest of the first line after the keyword and
                    *   the spaces that follow it, no CR LF ("" if none) */
  char *data;      /**< "+" commands: the data block, dot-unstuffed, each
                    *   line ending in "\n" (CR dropped), NUL-terminated;
                    *   NULL for a one-line command */
  size_t data_len; /**< strlen(data), or 0 */
} control_cmd_t;

typedef struct control_parser_t control_parser_t;

/** New parser: lines longer than max_line bytes, or data blocks longer
 * than max_data bytes, are errors. */
control_parser_t *control_parser_new(size_t max_line, size_t max_data);
void control_parser_free_(control_parser_t *p);
#define control_parser_free(p) \
  do { control_parser_free_(p); (p) = NULL; } while (0)

/** Append len bytes from the controller.  0, or CONTROL_PARSE_TOOLONG once
 * the bytes buffered for an incomplete command exceed the caps (the
 * connection should get "500 ..." and be closed).  Sticky: after an error
 * every call fails. */
int control_parser_feed(control_parser_t *p, const void *in, size_t len);

/** The next complete command: 1 (out filled; clear it with
 * control_cmd_clear()), 0 (needs more bytes), or CONTROL_PARSE_TOOLONG. */
int control_parser_next(control_parser_t *p, control_cmd_t *out);

/** Bytes buffered and not yet returned as commands. */
size_t control_parser_pending(const control_parser_t *p);

/** Free what a command holds and zero it.  NULL fine. */
void control_cmd_clear(control_cmd_t *c);

/* ---- arguments (control-spec 2.1, 2.1.1) ---- */

/** One argument token: a bare word or a QuotedString (key = its value,
 * has_value false), or KEY=VALUE where VALUE is a word or a QuotedString
 * (has_value true; value "" for "KEY="). */
typedef struct control_arg_t {
  char *key;
  char *value;     /**< NULL unless has_value */
  bool has_value;
  bool quoted;     /**< the token (or its value) was a QuotedString */
} control_arg_t;

/** Split args at spaces into tokens.  0 with *out (caller frees with
 * control_args_free) and *n_out, or -1 on an unterminated QuotedString
 * or a bad escape.  At most max_args tokens (more: -1). */
int control_args_parse(const char *args, size_t max_args,
                       control_arg_t **out, size_t *n_out);
void control_args_free(control_arg_t *a, size_t n);

/** Decode the QuotedString at s (s[0] == '"', control-spec 2.1.1 escapes:
 * \\ \" \n \r \t and octal \NNN).  0 with *out (al_malloc'd, *out_len
 * bytes, NUL-terminated) and *consumed (bytes of s used, both quotes
 * included), or -1. */
int control_unquote(const char *s, size_t len, char **out, size_t *out_len,
                    size_t *consumed);
/** s as a QuotedString (with its quotes and escapes); al_malloc'd. */
char *control_quote(const char *s, size_t len);

/** The argument of AUTHENTICATE (control-spec 3.5): empty, hex digits, or
 * a QuotedString.  0 with *out (al_malloc'd, may be empty) and *out_len,
 * or -1 (malformed). */
int control_parse_auth_secret(const char *args, uint8_t **out,
                              size_t *out_len);

/* ---- replies (control-spec 2.3, 4) ---- */

/** Append "CODE<sep>text\r\n" where sep is '-', ' ' or '+'.  CR and LF in
 * the formatted text are replaced by spaces. */
void control_reply_line(bytes_writer_t *w, int code, char sep,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Append "CODE+head\r\n", the data (split at "\n"; a line starting with
 * '.' gets another '.'; each line ends in CR LF; a missing final newline
 * is added), then ".\r\n". */
void control_reply_data(bytes_writer_t *w, int code, const char *head,
                        const char *data, size_t len);

#endif
