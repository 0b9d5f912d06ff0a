/* confline.c -- torrc text to an ordered list of (key, value) lines.
 *
 * Implements the configuration file format tor(1) documents ("THE
 * CONFIGURATION FILE FORMAT"): Key Value lines, comments, backslash
 * continuation, quoted values with C escapes and %include.  The lexer
 * (confline_parse_text) is sans-IO; the %include expansion and the file
 * reader below it are the only parts that touch the file system.
 */
#include "allium/lib/conf/confline.h"

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- lists */

config_line_t *
confline_append(config_line_t **list, const char *key, const char *value,
                const char *source, int lineno)
{
  config_line_t *ln = al_calloc(1, sizeof(*ln));
  ln->key = al_strdup(key ? key : "");
  ln->value = al_strdup(value ? value : "");
  ln->source = al_strdup(source ? source : "<string>");
  ln->lineno = lineno;
  while (*list)
    list = &(*list)->next;
  *list = ln;
  return ln;
}

config_line_t *
confline_dup(const config_line_t *list)
{
  config_line_t *out = NULL, **tail = &out;
  for (; list; list = list->next) {
    config_line_t *ln = al_calloc(1, sizeof(*ln));
    ln->key = al_strdup(list->key);
    ln->value = al_strdup(list->value);
    ln->source = al_strdup(list->source);
    ln->lineno = list->lineno;
    ln->command = list->command;
    ln->from_cmdline = list->from_cmdline;
    *tail = ln;
    tail = &ln->next;
  }
  return out;
}

size_t
confline_count(const config_line_t *list)
{
  size_t n = 0;
  for (; list; list = list->next)
    n++;
  return n;
}

const config_line_t *
confline_find(const config_line_t *list, const char *key)
{
  for (; list; list = list->next)
    if (!strcasecmp(list->key, key))
      return list;
  return NULL;
}

void
confline_free_(config_line_t *list)
{
  while (list) {
    config_line_t *next = list->next;
    if (list->value)
      memwipe(list->value, strlen(list->value));
    al_free(list->key);
    al_free(list->value);
    al_free(list->source);
    al_free(list);
    list = next;
  }
}

/* ---------------------------------------------------------------- errors */

static void set_err(char **errmsg, const char *source, int lineno,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_err(char **errmsg, const char *source, int lineno, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (!errmsg)
    return;
  al_free(*errmsg);
  if (source)
    *errmsg = al_asprintf("%s:%d: %s", source, lineno, buf);
  else
    *errmsg = al_strdup(buf);
}

/* ---------------------------------------------------------------- quoting */

/* Decode one escape at s[i] (s[i-1] was the backslash) into *ch; returns
 * bytes consumed or -1. */
static int
unescape_one(const char *s, size_t len, size_t i, char *ch)
{
  if (i >= len)
    return -1;
  switch (s[i]) {
  case 'n': *ch = '\n'; return 1;
  case 't': *ch = '\t'; return 1;
  case 'r': *ch = '\r'; return 1;
  case '"': *ch = '"'; return 1;
  case '\'': *ch = '\''; return 1;
  case '\\': *ch = '\\'; return 1;
  case 'x': {
    if (i + 2 >= len)
      return -1;
    int hi = base16_digit_value(s[i + 1]), lo = base16_digit_value(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
      return -1;
    *ch = (char)(hi * 16 + lo);
    return 3;
  }
  case '0': case '1': case '2': case '3': {
    if (i + 2 >= len)
      return -1;
    int v = 0;
    for (int k = 0; k < 3; k++) {
      char c = s[i + k];
      if (c < '0' || c > '7')
        return -1;
      v = v * 8 + (c - '0');
    }
    if (v == 0)
      return -1;
    *ch = (char)v;
    return 3;
  }
  default:
    return -1;
  }
}

char *
confline_unquote(const char *s, size_t len, size_t *end)
{
  if (len < 2 || s[0] != '"')
    return NULL;
  char *out = al_malloc(len);
  size_t o = 0;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (c == '"') {
      out[o] = '\0';
      if (end)
        *end = i + 1;
      return out;
    }
    if (c == '\n' || c == '\0')
      break;
    if (c == '\\') {
      char ch;
      int used = unescape_one(s, len, i + 1, &ch);
      if (used < 0)
        break;
      out[o++] = ch;
      i += (size_t)used;
      continue;
    }
    out[o++] = c;
  }
  al_free(out);
  return NULL;
}

/* ---------------------------------------------------------------- lexer */

/* A cursor over physical lines of the text. */
typedef struct lexer_t {
  const char *text;
  size_t len;
  size_t pos;
  int lineno;         /* number of the line last returned */
} lexer_t;

/* Next physical line (without its newline, and without a trailing \r).
 * Returns 0 at end of text. */
static int
lex_next(lexer_t *lx, const char **start, size_t *n)
{
  if (lx->pos >= lx->len)
    return 0;
  const char *s = lx->text + lx->pos;
  const char *nl = memchr(s, '\n', lx->len - lx->pos);
  size_t l = nl ? (size_t)(nl - s) : lx->len - lx->pos;
  lx->pos += l + (nl ? 1 : 0);
  lx->lineno++;
  if (l > 0 && s[l - 1] == '\r')
    l--;
  *start = s;
  *n = l;
  return 1;
}

static int
is_hspace(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Append n bytes to a growing buffer, enforcing CONFLINE_MAX_LINE. */
static int
buf_add(char **buf, size_t *used, size_t *cap, const char *s, size_t n)
{
  if (*used + n + 1 > CONFLINE_MAX_LINE)
    return -1;
  if (*used + n + 1 > *cap) {
    size_t nc = *cap ? *cap : 128;
    while (nc < *used + n + 1)
      nc *= 2;
    *buf = al_realloc(*buf, nc);
    *cap = nc;
  }
  memcpy(*buf + *used, s, n);
  *used += n;
  (*buf)[*used] = '\0';
  return 0;
}

/* Gather an unquoted value starting at p[0..n) on the current line,
 * following backslash continuations.  Returns 0 or -1 (message set). */
static int
lex_unquoted(lexer_t *lx, const char *p, size_t n, const char *source,
             char **value, char **errmsg)
{
  char *buf = NULL;
  size_t used = 0, cap = 0;
  int first_line = lx->lineno;
  buf_add(&buf, &used, &cap, "", 0);
  for (;;) {
    const char *hash = memchr(p, '#', n);
    size_t take = hash ? (size_t)(hash - p) : n;
    int cont = !hash && take > 0 && p[take - 1] == '\\';
    if (cont)
      take--;
    if (buf_add(&buf, &used, &cap, p, take) < 0) {
      set_err(errmsg, source, first_line, "line longer than %d bytes",
              CONFLINE_MAX_LINE);
      al_free(buf);
      return -1;
    }
    if (!cont)
      break;
    /* Continuation: skip comment lines; stop at a blank line or EOF. */
    const char *np;
    size_t nn;
    int got;
    for (;;) {
      got = lex_next(lx, &np, &nn);
      if (!got)
        break;
      size_t k = 0;
      while (k < nn && is_hspace(np[k]))
        k++;
      if (k < nn && np[k] == '#')
        continue;
      break;
    }
    if (!got || nn == 0)
      break;
    p = np;
    n = nn;
  }
  while (used > 0 && is_hspace(buf[used - 1]))
    buf[--used] = '\0';
  size_t lead = 0;
  while (lead < used && is_hspace(buf[lead]))
    lead++;
  memmove(buf, buf + lead, used - lead + 1);
  *value = buf;
  return 0;
}

/* Parse a quoted value p[0..n) (p[0] == '"'); only a comment may follow. */
static int
lex_quoted(const char *p, size_t n, const char *source, int lineno,
           char **value, char **errmsg)
{
  size_t end = 0;
  char *v = confline_unquote(p, n, &end);
  if (!v) {
    set_err(errmsg, source, lineno, "bad quoted value (unterminated "
            "string or bad escape)");
    return -1;
  }
  while (end < n && is_hspace(p[end]))
    end++;
  if (end < n && p[end] != '#') {
    set_err(errmsg, source, lineno, "unexpected text after quoted value");
    al_free(v);
    return -1;
  }
  *value = v;
  return 0;
}

/* Split "key" off one logical line; p..p+n is past leading whitespace. */
static int
lex_line(lexer_t *lx, const char *p, size_t n, const char *source,
         config_line_t **tail, char **errmsg)
{
  int lineno = lx->lineno;
  size_t k = 0;
  while (k < n && !is_hspace(p[k]) && p[k] != '#')
    k++;
  confline_cmd_t cmd = CONFLINE_SET;
  const char *key = p;
  size_t keylen = k;
  if (keylen > 0 && (key[0] == '+' || key[0] == '/')) {
    cmd = key[0] == '+' ? CONFLINE_APPEND : CONFLINE_CLEAR;
    key++;
    keylen--;
  }
  if (keylen == 0) {
    set_err(errmsg, source, lineno, "missing option name");
    return -1;
  }
  while (k < n && is_hspace(p[k]))
    k++;
  char *value = NULL;
  int r;
  if (k < n && p[k] == '"')
    r = lex_quoted(p + k, n - k, source, lineno, &value, errmsg);
  else
    r = lex_unquoted(lx, p + k, n - k, source, &value, errmsg);
  if (r < 0)
    return -1;
  config_line_t *ln = al_calloc(1, sizeof(*ln));
  ln->key = al_strndup(key, keylen);
  ln->value = value;
  ln->source = al_strdup(source);
  ln->lineno = lineno;
  ln->command = cmd;
  *tail = ln;
  return 0;
}

int
confline_parse_text(const char *text, size_t len, const char *source,
                    config_line_t **out, char **errmsg)
{
  *out = NULL;
  if (!source)
    source = "<string>";
  if (!text)
    text = "";
  if (len > CONFLINE_MAX_TEXT) {
    set_err(errmsg, NULL, 0, "%s: configuration larger than %d bytes",
            source, CONFLINE_MAX_TEXT);
    return -1;
  }
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    int line = 1;
    for (const char *c = text; c < nul; c++)
      line += (*c == '\n');
    set_err(errmsg, source, line, "NUL byte in configuration");
    return -1;
  }
  lexer_t lx = { text, len, 0, 0 };
  config_line_t *head = NULL, **tail = &head;
  size_t count = 0;
  const char *p;
  size_t n;
  while (lex_next(&lx, &p, &n)) {
    size_t k = 0;
    while (k < n && is_hspace(p[k]))
      k++;
    if (k == n || p[k] == '#')
      continue;
    if (++count > CONFLINE_MAX_LINES) {
      set_err(errmsg, source, lx.lineno, "more than %d lines",
              CONFLINE_MAX_LINES);
      confline_free(head);
      return -1;
    }
    if (lex_line(&lx, p + k, n - k, source, tail, errmsg) < 0) {
      confline_free(head);
      return -1;
    }
    tail = &(*tail)->next;
  }
  *out = head;
  return 0;
}
