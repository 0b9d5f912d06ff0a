/* control_proto.c -- the control protocol's wire format, sans I/O
 * (control-spec 2.1 "Description format", 2.1.1 escapes, 2.2 "Commands
 * from controller to Tor", 2.3 "Replies from Tor to the controller",
 * 3.5 AUTHENTICATE's argument).  See control_proto.h.
 *
 * Behaviours chosen where the specification leaves room:
 *  - Lines end at LF.  One CR right before the LF is dropped; a CR
 *    anywhere else ("CR alone") is an ordinary byte of the line.
 *  - The keyword ends at the first space; all spaces after it are
 *    skipped and the rest of the line, as sent (trailing spaces too), is
 *    the args.  An empty line is a command with keyword "".
 *  - A NUL byte anywhere in a command (its first line or its data block)
 *    rejects the whole command: it is still consumed and returned, but
 *    with keyword "", args "" and no data, so the caller answers
 *    "510 Unrecognized command" without ever seeing a cut-down command.
 *  - max_line caps the first line of a command (without its CR LF);
 *    max_data caps a data block after dot-unstuffing (each line counted
 *    with its "\n"); the lines of a data block are bounded only by
 *    max_data.  Bytes of an incomplete line are checked as they arrive,
 *    so no more than about max_line + max_data bytes are ever buffered
 *    for the command being read.
 *  - A "+" command whose block never ends with "." waits for more bytes
 *    until it exceeds max_data (CONTROL_PARSE_TOOLONG).
 *  - Data-block lines starting with '.' lose that '.'; a line that is
 *    exactly "." ends the block; "+X CRLF . CRLF" is an empty block
 *    (data "" and data_len 0, never NULL).
 *  - Bytes are copied once into the line buffer and each LF is searched
 *    for once (memchr over new bytes only): no rescans.
 *  - QuotedStrings: \\ \" \n \r \t and exactly three octal digits
 *    (\000 .. \377) are escapes; any other byte after a backslash is a
 *    bad escape (-1).  In control_args_parse() a quoted token or value
 *    that decodes to a NUL byte is refused (-1): tokens are C strings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/control/control_proto.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

typedef struct cmd_node_t {
  struct cmd_node_t *next;
  control_cmd_t cmd;
  size_t raw;          /* bytes of input the command took */
} cmd_node_t;

struct control_parser_t {
  size_t max_line, max_data;
  bool err;
  /* The line being read (no LF yet). */
  char *line;
  size_t line_len, line_cap;
  /* The command being read. */
  bool in_data;        /* first line was "+...": reading its block */
  bool bad;            /* a NUL byte was seen in it */
  control_cmd_t cur;
  size_t data_cap;
  size_t cur_raw;      /* bytes of its completed lines, LFs included */
  /* Complete commands not yet taken. */
  cmd_node_t *head, **tail;
  size_t pending;
};

control_parser_t *
control_parser_new(size_t max_line, size_t max_data)
{
  control_parser_t *p = al_calloc(1, sizeof(*p));
  p->max_line = max_line;
  p->max_data = max_data;
  p->tail = &p->head;
  return p;
}

void
control_cmd_clear(control_cmd_t *c)
{
  if (!c)
    return;
  al_free(c->keyword);
  if (c->args)
    memwipe(c->args, strlen(c->args));
  al_free(c->args);
  if (c->data)
    memwipe(c->data, c->data_len);
  al_free(c->data);
  memset(c, 0, sizeof(*c));
}

void
control_parser_free_(control_parser_t *p)
{
  if (!p)
    return;
  while (p->head) {
    cmd_node_t *n = p->head;
    p->head = n->next;
    control_cmd_clear(&n->cmd);
    al_free(n);
  }
  control_cmd_clear(&p->cur);
  if (p->line)
    memwipe(p->line, p->line_cap);
  al_free(p->line);
  al_free(p);
}

size_t
control_parser_pending(const control_parser_t *p)
{
  return p ? p->pending : 0;
}

/* Make room for need bytes in *buf (capacity *cap), growing geometrically. */
static void
grow(char **buf, size_t *cap, size_t need)
{
  if (need <= *cap)
    return;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c = c > SIZE_MAX / 2 ? need : c * 2;
  *buf = al_realloc(*buf, c);
  *cap = c;
}

/* Could a line of which n bytes (no LF yet) have arrived still fit? */
static bool
partial_fits(const control_parser_t *p, size_t n)
{
  if (!p->in_data) /* room for a CR before the LF */
    return n <= p->max_line || n - p->max_line <= 1;
  /* Unless it is the closing ".", the line decodes to at least n - 1
   * bytes ('.' and CR dropped, "\n" added). */
  return n <= 2 || p->cur.data_len + (n - 1) <= p->max_data;
}

/* The current command is complete: queue it. */
static void
push_current(control_parser_t *p)
{
  cmd_node_t *n = al_calloc(1, sizeof(*n));
  if (p->bad) {
    control_cmd_clear(&p->cur);
    p->cur.keyword = al_strdup("");
    p->cur.args = al_strdup("");
  }
  n->cmd = p->cur;
  n->raw = p->cur_raw;
  memset(&p->cur, 0, sizeof(p->cur));
  p->data_cap = 0;
  p->cur_raw = 0;
  p->in_data = false;
  p->bad = false;
  *p->tail = n;
  p->tail = &n->next;
}

/* The first line of a command (len bytes, CR LF removed). */
static int
first_line(control_parser_t *p, const char *s, size_t len)
{
  if (len > p->max_line)
    return -1;
  bool multi = len > 0 && s[0] == '+';
  if (multi) {
    s++;
    len--;
  }
  if (memchr(s, '\0', len))
    p->bad = true;
  const char *sp = memchr(s, ' ', len);
  size_t kw = sp ? (size_t)(sp - s) : len;
  size_t a = kw;
  while (a < len && s[a] == ' ')
    a++;
  p->cur.keyword = al_strndup(s, kw);
  p->cur.args = al_strndup(s + a, len - a);
  if (!multi) {
    push_current(p);
    return 0;
  }
  p->in_data = true;
  p->data_cap = 0;
  grow(&p->cur.data, &p->data_cap, 1);
  p->cur.data[0] = '\0';
  p->cur.data_len = 0;
  return 0;
}

/* One line of a data block (len bytes, CR LF removed). */
static int
data_line(control_parser_t *p, const char *s, size_t len)
{
  if (len == 1 && s[0] == '.') {
    push_current(p);
    return 0;
  }
  if (len > 0 && s[0] == '.') {
    s++;
    len--;
  }
  if (memchr(s, '\0', len))
    p->bad = true;
  if (len + 1 > p->max_data || p->cur.data_len > p->max_data - (len + 1))
    return -1;
  size_t off = p->cur.data_len;
  grow(&p->cur.data, &p->data_cap, off + len + 2);
  memcpy(p->cur.data + off, s, len);
  p->cur.data[off + len] = '\n';
  p->cur.data[off + len + 1] = '\0';
  p->cur.data_len = off + len + 1;
  return 0;
}

/* The line buffer holds a complete line (its LF not included). */
static int
complete_line(control_parser_t *p)
{
  size_t len = p->line_len;
  if (len > 0 && p->line[len - 1] == '\r')
    len--;
  p->cur_raw += p->line_len + 1;
  int r = p->in_data ? data_line(p, p->line, len)
                     : first_line(p, p->line, len);
  memwipe(p->line, p->line_len);   /* may have held a password */
  p->line_len = 0;
  return r;
}

int
control_parser_feed(control_parser_t *p, const void *in, size_t len)
{
  if (!p || p->err)
    return CONTROL_PARSE_TOOLONG;
  const char *s = in;
  p->pending += len;
  while (len > 0) {
    const char *lf = memchr(s, '\n', len);
    size_t n = lf ? (size_t)(lf - s) : len;
    if (!partial_fits(p, p->line_len + n)) {
      p->err = true;
      return CONTROL_PARSE_TOOLONG;
    }
    grow(&p->line, &p->line_cap, p->line_len + n + 1);
    memcpy(p->line + p->line_len, s, n);
    p->line_len += n;
    if (!lf)
      break;
    s += n + 1;
    len -= n + 1;
    if (complete_line(p) < 0) {
      p->err = true;
      return CONTROL_PARSE_TOOLONG;
    }
  }
  return 0;
}

int
control_parser_next(control_parser_t *p, control_cmd_t *out)
{
  memset(out, 0, sizeof(*out));
  if (!p || p->err)
    return CONTROL_PARSE_TOOLONG;
  cmd_node_t *n = p->head;
  if (!n)
    return 0;
  p->head = n->next;
  if (!p->head)
    p->tail = &p->head;
  *out = n->cmd;
  p->pending -= n->raw;
  al_free(n);
  return 1;
}

/* ---- quoting ---- */

static bool
is_octal(char c)
{
  return c >= '0' && c <= '7';
}

/* Decode the escape at s[0] == '\\' (avail bytes there): the byte in *b
 * and the bytes used, or 0 for a bad escape. */
static size_t
unescape_one(const char *s, size_t avail, char *b)
{
  if (avail < 2)
    return 0;
  switch (s[1]) {
  case '\\': *b = '\\'; return 2;
  case '"': *b = '"'; return 2;
  case 'n': *b = '\n'; return 2;
  case 'r': *b = '\r'; return 2;
  case 't': *b = '\t'; return 2;
  default: break;
  }
  if (avail < 4 || !is_octal(s[1]) || !is_octal(s[2]) || !is_octal(s[3]) ||
      s[1] > '3')
    return 0;
  *b = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
  return 4;
}

int
control_unquote(const char *s, size_t len, char **out, size_t *out_len,
                size_t *consumed)
{
  *out = NULL;
  *out_len = 0;
  *consumed = 0;
  if (!s || len < 2 || s[0] != '"')
    return -1;
  char *buf = al_malloc(len);
  size_t o = 0, i = 1;
  while (i < len && s[i] != '"') {
    if (s[i] == '\0')
      break;
    if (s[i] != '\\') {
      buf[o++] = s[i++];
      continue;
    }
    size_t used = unescape_one(s + i, len - i, &buf[o]);
    if (!used)
      break;
    o++;
    i += used;
  }
  if (i >= len || s[i] != '"') {
    al_free_secret(buf, len);
    return -1;
  }
  buf[o] = '\0';
  *out = buf;
  *out_len = o;
  *consumed = i + 1;
  return 0;
}

char *
control_quote(const char *s, size_t len)
{
  char *out = al_malloc(len * 4 + 3);
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char e = c == '\\' ? '\\' : c == '"' ? '"' : c == '\n' ? 'n'
           : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
    if (e) {
      out[o++] = '\\';
      out[o++] = e;
    } else if (c < 0x20 || c == 0x7f) {
      out[o++] = '\\';
      out[o++] = (char)('0' + (c >> 6));
      out[o++] = (char)('0' + ((c >> 3) & 7));
      out[o++] = (char)('0' + (c & 7));
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}

/* ---- arguments ---- */

static bool
is_blank(char c)
{
  return c == ' ' || c == '\t';
}

/* A QuotedString at s (len bytes left) that must be followed by a blank
 * or the end: 0 with *out and *used, or -1. */
static int
quoted_token(const char *s, size_t len, char **out, size_t *used)
{
  size_t n;
  if (control_unquote(s, len, out, &n, used) < 0)
    return -1;
  if (strlen(*out) != n || (*used < len && !is_blank(s[*used]))) {
    al_free_secret(*out, n + 1);
    return -1;
  }
  return 0;
}

/* One token at s (non-blank, len bytes left) into a: bytes used or -1. */
static int
one_arg(const char *s, size_t len, control_arg_t *a, size_t *used)
{
  if (s[0] == '"') {
    a->quoted = true;
    return quoted_token(s, len, &a->key, used);
  }
  size_t k = 0;
  while (k < len && !is_blank(s[k]) && s[k] != '=')
    k++;
  if (k < len && s[k] == '=') {
    if (k == 0)
      return -1;
    a->key = al_strndup(s, k);
    a->has_value = true;
    k++;
    if (k < len && s[k] == '"') {
      a->quoted = true;
      if (quoted_token(s + k, len - k, &a->value, used) < 0)
        return -1;
      *used += k;
      return 0;
    }
  }
  size_t e = k;
  while (e < len && !is_blank(s[e]))
    e++;
  if (a->has_value)
    a->value = al_strndup(s + k, e - k);
  else
    a->key = al_strndup(s, e);
  *used = e;
  return 0;
}

void
control_args_free(control_arg_t *a, size_t n)
{
  if (!a)
    return;
  for (size_t i = 0; i < n; i++) {
    al_free(a[i].key);
    al_free(a[i].value);
  }
  al_free(a);
}

int
control_args_parse(const char *args, size_t max_args,
                   control_arg_t **out, size_t *n_out)
{
  *out = NULL;
  *n_out = 0;
  if (!args)
    return -1;
  size_t len = strlen(args), i = 0, n = 0, cap = 0;
  control_arg_t *arr = NULL;
  for (;;) {
    while (i < len && is_blank(args[i]))
      i++;
    if (i >= len)
      break;
    if (n >= max_args)
      goto fail;
    if (n == cap) {
      cap = cap ? cap * 2 : 4;
      arr = al_reallocarray(arr, cap, sizeof(*arr));
    }
    memset(&arr[n], 0, sizeof(arr[n]));
    size_t used = 0;
    n++;
    if (one_arg(args + i, len - i, &arr[n - 1], &used) < 0)
      goto fail;
    i += used;
  }
  *out = arr;
  *n_out = n;
  return 0;
 fail:
  control_args_free(arr, n);
  return -1;
}

int
control_parse_auth_secret(const char *args, uint8_t **out, size_t *out_len)
{
  *out = NULL;
  *out_len = 0;
  if (!args)
    return -1;
  size_t b = 0, e = strlen(args);
  while (b < e && is_blank(args[b]))
    b++;
  while (e > b && is_blank(args[e - 1]))
    e--;
  if (args[b] == '"' && e > b) {
    char *s;
    size_t n, used;
    if (control_unquote(args + b, e - b, &s, &n, &used) < 0)
      return -1;
    if (used != e - b) {
      al_free_secret(s, n + 1);
      return -1;
    }
    *out = (uint8_t *)s;
    *out_len = n;
    return 0;
  }
  if ((e - b) % 2)
    return -1;
  size_t n = (e - b) / 2;
  uint8_t *buf = al_malloc(n + 1);
  for (size_t i = 0; i < n; i++) {
    int hi = base16_digit_value(args[b + 2 * i]);
    int lo = base16_digit_value(args[b + 2 * i + 1]);
    if (hi < 0 || lo < 0) {
      al_free_secret(buf, n + 1);
      return -1;
    }
    buf[i] = (uint8_t)((hi << 4) | lo);
  }
  buf[n] = 0;
  *out = buf;
  *out_len = n;
  return 0;
}

/* ---- replies ---- */

/* Append "CODE<sep>" + text (CR, LF and NUL made spaces) + CR LF. */
static void
put_line(bytes_writer_t *w, int code, char sep, char *text, size_t len)
{
  char head[8];
  if (code < 0 || code > 999)
    code = 500;
  if (sep != '-' && sep != ' ' && sep != '+')
    sep = ' ';
  int hn = snprintf(head, sizeof(head), "%03d%c", code, sep);
  for (size_t i = 0; i < len; i++)
    if (text[i] == '\r' || text[i] == '\n' || text[i] == '\0')
      text[i] = ' ';
  bytes_put_bytes(w, head, (size_t)hn);
  bytes_put_bytes(w, text, len);
  bytes_put_bytes(w, "\r\n", 2);
}

void
control_reply_line(bytes_writer_t *w, int code, char sep, const char *fmt,
                   ...)
{
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  char *text = al_malloc((size_t)n + 1);
  text[0] = '\0';
  if (n > 0 && vsnprintf(text, (size_t)n + 1, fmt, ap2) < 0)
    n = 0;
  va_end(ap2);
  put_line(w, code, sep, text, (size_t)n);
  al_free(text);
}

void
control_reply_data(bytes_writer_t *w, int code, const char *head,
                   const char *data, size_t len)
{
  char *h = al_strdup(head ? head : "");
  put_line(w, code, '+', h, strlen(h));
  al_free(h);
  size_t i = 0;
  while (i < len) {
    const char *nl = memchr(data + i, '\n', len - i);
    size_t e = nl ? (size_t)(nl - data) : len;
    size_t l = e - i;
    if (nl && l > 0 && data[e - 1] == '\r')
      l--;   /* data with CR LF line ends: no CR CR LF */
    if (l > 0 && data[i] == '.')
      bytes_put_u8(w, '.');
    bytes_put_bytes(w, data + i, l);
    bytes_put_bytes(w, "\r\n", 2);
    i = e + 1;
  }
  bytes_put_bytes(w, ".\r\n", 3);
}
