/* fuzz_control.c -- fuzz target for the control protocol's wire format
 * (src/feature/control/control_proto.c; control-spec 2.1-2.3 and 3.5's
 * argument).  The input is what a controller sends.  It is fed to a
 * parser with small caps in one piece and to another in three pieces
 * (split points from the first byte); checks: both end alike (same
 * commands, or both over a cap), every command is well-formed (no LF in
 * keyword or args, first line and data block within the caps, data_len
 * == strlen(data), a block ends in "\n").  Each command's args go through
 * control_args_parse() and control_parse_auth_secret(); keys, values,
 * secrets and the args themselves survive control_quote() then
 * control_unquote(); a data block written with control_reply_data() and
 * parsed back as a "+" command gives the same block; replies hold no
 * bare LF and their one-line parts no CR. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/control/control_proto.h"
#include "allium/lib/bytes/bytes.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_LINE 256
#define MAX_DATA 1024
#define MAX_CMDS 4096

int
fuzz_init(void)
{
  return 0;
}

static void
check_quote(const char *s, size_t len)
{
  char *q = control_quote(s, len), *out;
  size_t n, used;
  if (control_unquote(q, strlen(q), &out, &n, &used) < 0 ||
      used != strlen(q) || n != len || memcmp(out, s, len) != 0)
    abort();
  if (memchr(q, '\n', used) || memchr(q, '\r', used))
    abort();
  al_free(out);
  al_free(q);
}

static void
check_args(const control_cmd_t *c)
{
  control_arg_t *a;
  size_t n;
  if (control_args_parse(c->args, 32, &a, &n) == 0) {
    if (n > 32)
      abort();
    for (size_t i = 0; i < n; i++) {
      if (!a[i].key || (a[i].has_value != (a[i].value != NULL)))
        abort();
      check_quote(a[i].key, strlen(a[i].key));
      if (a[i].value)
        check_quote(a[i].value, strlen(a[i].value));
    }
    control_args_free(a, n);
  } else if (a || n) {
    abort();
  }
  uint8_t *sec;
  size_t sl;
  if (control_parse_auth_secret(c->args, &sec, &sl) == 0) {
    check_quote((const char *)sec, sl);
    al_free(sec);
  } else if (sec) {
    abort();
  }
  check_quote(c->args, strlen(c->args));
}

/* Every LF has a CR before it; in the first line (control_reply_line's)
 * there is no other CR.  (A data block may hold a CR alone mid-line.) */
static void
check_crlf(const uint8_t *b, size_t len)
{
  const uint8_t *lf = memchr(b, '\n', len);
  if (!lf || lf == b || lf[-1] != '\r' || memchr(b, '\r', (size_t)(lf - b) - 1))
    abort();
  for (size_t i = 0; i < len; i++)
    if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r'))
      abort();
  if (b[len - 1] != '\n')
    abort();
}

/* Write the block as a reply, parse it back as "+K". */
static void
check_reply(const control_cmd_t *c)
{
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  control_reply_line(&w, 250, '-', "%s=%s", c->keyword, c->args);
  if (c->data)
    control_reply_data(&w, 250, c->keyword, c->data, c->data_len);
  const uint8_t *b = bytes_writer_data(&w);
  size_t len = bytes_writer_len(&w);
  check_crlf(b, len);
  /* the block reads back the same unless a line ended in CR (dropped) */
  if (c->data && !strstr(c->data, "\r\n")) {
    const uint8_t *head_end = memchr(b, '\n', len);
    head_end = memchr(head_end + 1, '\n', len - (size_t)(head_end + 1 - b));
    size_t off = (size_t)(head_end + 1 - b);
    control_parser_t *p = control_parser_new(8, 2 * MAX_DATA);
    control_cmd_t back;
    if (control_parser_feed(p, "+K\r\n", 4) < 0 ||
        control_parser_feed(p, b + off, len - off) < 0 ||
        control_parser_next(p, &back) != 1 || !back.data ||
        back.data_len != c->data_len ||
        memcmp(back.data, c->data, c->data_len) != 0 ||
        control_parser_pending(p) != 0)
      abort();
    control_cmd_clear(&back);
    control_parser_free(p);
  }
  bytes_writer_clear(&w);
}

static void
check_cmd(const control_cmd_t *c)
{
  if (!c->keyword || !c->args || strchr(c->keyword, '\n') ||
      strchr(c->args, '\n') || strlen(c->keyword) + strlen(c->args) >
      MAX_LINE)
    abort();
  if (c->data && (strlen(c->data) != c->data_len || c->data_len > MAX_DATA ||
                  (c->data_len && c->data[c->data_len - 1] != '\n')))
    abort();
  if (!c->data && c->data_len)
    abort();
  check_args(c);
  check_reply(c);
}

static bool
same_cmd(const control_cmd_t *a, const control_cmd_t *b)
{
  return !strcmp(a->keyword, b->keyword) && !strcmp(a->args, b->args) &&
         !a->data == !b->data && a->data_len == b->data_len &&
         (!a->data || !memcmp(a->data, b->data, a->data_len));
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  /* in one piece */
  control_cmd_t *all = al_calloc(MAX_CMDS, sizeof(*all));
  size_t n_all = 0;
  control_parser_t *p = control_parser_new(MAX_LINE, MAX_DATA);
  int err1 = control_parser_feed(p, data, len) < 0;
  while (!err1 && n_all < MAX_CMDS &&
         control_parser_next(p, &all[n_all]) == 1)
    check_cmd(&all[n_all++]);
  control_parser_free(p);

  /* in three pieces */
  size_t s1 = len ? (size_t)data[0] * len / 256 : 0;
  size_t s2 = s1 + (len - s1) / 2;
  size_t cut[4] = { 0, s1, s2, len }, k = 0, fed = 0;
  int err3 = 0;
  p = control_parser_new(MAX_LINE, MAX_DATA);
  for (int i = 0; i < 3 && !err3; i++) {
    err3 = control_parser_feed(p, data + cut[i], cut[i + 1] - cut[i]) < 0;
    fed += cut[i + 1] - cut[i];
    control_cmd_t c;
    while (!err3 && control_parser_next(p, &c) == 1) {
      if (!err1 && k < MAX_CMDS && (k >= n_all || !same_cmd(&c, &all[k])))
        abort();
      k++;
      control_cmd_clear(&c);
    }
    if (!err3 && control_parser_pending(p) > fed)
      abort();
  }
  if (err1 != err3 || (!err1 && n_all < MAX_CMDS && k != n_all))
    abort();
  control_parser_free(p);
  for (size_t i = 0; i < n_all; i++)
    control_cmd_clear(&all[i]);
  al_free(all);
  return 0;
}
