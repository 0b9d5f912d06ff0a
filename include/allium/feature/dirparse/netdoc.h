/* netdoc.h -- the directory document meta-format (dir-spec 1.2): a strict,
 * sans-IO tokenizer for keyword lines with arguments and PEM-style objects,
 * plus per-document rule tables (multiplicity, argument counts, objects).
 *
 * Every parser in src/feature/dirparse builds on this: it tokenizes its input
 * with netdoc_tokenize(), checks ranges of tokens against a rule table with
 * netdoc_check_rules(), and reads arguments with the small helpers below.
 * Errors name the (1-based) line of the input where the problem was found.
 */
#ifndef ALLIUM_FEATURE_DIRPARSE_NETDOC_H
#define ALLIUM_FEATURE_DIRPARSE_NETDOC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Errors (negative) shared by all dirparse parsers. */
#define DIRPARSE_ERR_SYNTAX   (-1)  /* malformed document */
#define DIRPARSE_ERR_SIG      (-2)  /* a signature or cross-certificate is bad */
#define DIRPARSE_ERR_LIMIT    (-3)  /* a line, object or count limit exceeded */
#define DIRPARSE_ERR_ARG      (-4)  /* bad call (NULL pointer) */

/* Limits. */
#define NETDOC_MAX_LINE      32768  /* bytes in a keyword line, without NL */
#define NETDOC_MAX_OBJECT    16384  /* decoded bytes in one object */
#define NETDOC_MAX_LARGE_OBJECT 65536 /* ... with NETDOC_F_LARGE_OBJECTS */
#define NETDOC_MAX_ARGS      4096   /* arguments on one line */
#define NETDOC_MAX_OBJ_LINE  64     /* base64 characters per object line */

/** Error details: the first error found. */
typedef struct netdoc_err_t {
  int line;            /* 1-based line number in the input, 0 if none */
  char msg[160];       /* NUL-terminated, names the line */
} netdoc_err_t;

/** Record an error (printf-style message) for line; err may be NULL.
 * Only the first error is kept.  Returns code, for `return netdoc_err(...)`. */
int netdoc_err(netdoc_err_t *err, int code, int line, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

/* Flags for netdoc_tokenize(). */
#define NETDOC_F_ANNOTATIONS 1  /* accept "@keyword ..." annotation lines */
/* objects up to NETDOC_MAX_LARGE_OBJECT bytes (a caller that bounds the whole
 * document, e.g. an onion-service descriptor's superencrypted blob) */
#define NETDOC_F_LARGE_OBJECTS 2

#define NETDOC_ID_UNKNOWN (-1)

/** One item: a keyword line and its optional object.  Pointers into the
 * input (line, eol, end) stay valid as long as the caller's input does. */
typedef struct netdoc_token_t {
  int id;                  /* rule id after netdoc_check_rules(), else UNKNOWN */
  int lineno;              /* line of the keyword */
  int is_annotation;       /* keyword starts with '@' */
  char *keyword;           /* NUL-terminated, owned (args live in same buffer) */
  int n_args;
  char **args;             /* n_args NUL-terminated strings, owned */
  const char *line;        /* start of the keyword line in the input */
  const char *eol;         /* the '\n' that ends the keyword line */
  const char *end;         /* just past the item (after the object's END line) */
  char *obj_type;          /* e.g. "RSA PUBLIC KEY", NULL if no object; owned */
  uint8_t *obj;            /* decoded object, owned */
  size_t obj_len;
} netdoc_token_t;

/** A tokenized document. */
typedef struct netdoc_t {
  netdoc_token_t *tok;
  size_t n_tok;
  const char *start;       /* the input */
  size_t len;
} netdoc_t;

/** Tokenize len bytes at s (need not be NUL-terminated).  Rejects CR and NUL
 * bytes, other control characters, lines over NETDOC_MAX_LINE, a last line
 * without NL, malformed keywords and objects (BEGIN/END mismatch, bad base64,
 * lines over 64 characters, objects over NETDOC_MAX_OBJECT bytes).  Blank
 * lines between items are skipped.  *out: new document, caller frees with
 * netdoc_free().  0 or a DIRPARSE_ERR_*. */
int netdoc_tokenize(const char *s, size_t len, int flags, netdoc_t **out,
                    netdoc_err_t *err);
void netdoc_free_(netdoc_t *d);
#define netdoc_free(p) do { netdoc_free_(p); (p) = NULL; } while (0)

/* Multiplicity of an item (dir-spec 1.2). */
typedef enum netdoc_count_t {
  NETDOC_AT_START,        /* first item, exactly once */
  NETDOC_AT_END,          /* last item, exactly once */
  NETDOC_ONCE,            /* exactly once */
  NETDOC_AT_MOST_ONCE,
  NETDOC_ANY,
  NETDOC_ONCE_OR_MORE,
  NETDOC_NEVER,           /* must not appear (e.g. vote-only items) */
} netdoc_count_t;

typedef enum netdoc_obj_t {
  NETDOC_OBJ_FORBIDDEN,
  NETDOC_OBJ_REQUIRED,
  NETDOC_OBJ_OPTIONAL,
} netdoc_obj_t;

#define NETDOC_ARGS_ANY (-1)

/** One row of a rule table; a table ends with a row whose keyword is NULL. */
typedef struct netdoc_rule_t {
  const char *keyword;
  int id;                 /* >= 0, stored in matching tokens */
  netdoc_count_t count;
  int min_args;
  int max_args;           /* NETDOC_ARGS_ANY = unlimited */
  netdoc_obj_t obj;
  const char *obj_type;   /* required object type, or NULL for any */
} netdoc_rule_t;

/** Check tokens tok[0..n) against rules: set each token's id (unknown
 * keywords get NETDOC_ID_UNKNOWN and are otherwise ignored, annotations are
 * skipped), check argument counts, objects and multiplicities.  0 or
 * DIRPARSE_ERR_SYNTAX with err naming the offending line. */
int netdoc_check_rules(netdoc_token_t *tok, size_t n, const netdoc_rule_t *rules,
                       netdoc_err_t *err);

/** First token with id in tok[0..n), or NULL. */
const netdoc_token_t *netdoc_find(const netdoc_token_t *tok, size_t n, int id);

/* ---- argument helpers (0 or -1; they write *out only on success) ---- */

/** Decimal integer in [min, max], no sign unless min < 0, no leading zeros
 * other than "0" itself. */
int netdoc_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/** "YYYY-MM-DD" and "HH:MM:SS" (two arguments) as UTC seconds. */
int netdoc_parse_time(const char *date, const char *hms, time_t *out);
/** Exactly 2*n hex digits into n bytes. */
int netdoc_parse_hex(const char *s, uint8_t *out, size_t n);
/** base64 (with or without '=' padding) decoding to exactly n bytes. */
int netdoc_parse_b64(const char *s, uint8_t *out, size_t n);
/** Dotted-quad IPv4 address, strict (no leading zeros). */
int netdoc_parse_ipv4(const char *s, uint8_t out[4]);
/** "[IPv6]:port" or "IPv4:port" (port 1..65535).  *is_v6 says which. */
int netdoc_parse_addrport(const char *s, uint8_t addr[16], int *is_v6, uint16_t *port);
/** Relay nickname: 1..19 characters [A-Za-z0-9]. */
int netdoc_is_nickname(const char *s);
/** Policy summary "accept|reject" PortList (dir-spec 3.4.1 "p"): args[0..2). */
int netdoc_check_portlist(const char *s);
/** Join args[0..n) with single spaces into a new string; caller frees. */
char *netdoc_join_args(char *const *args, int n);

#endif
