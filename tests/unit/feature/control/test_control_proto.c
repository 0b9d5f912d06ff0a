/* test_control_proto.c -- control_proto.c (control-spec 2.1-2.3, 3.5's
 * argument): the command parser (byte-by-byte feeds, several commands per
 * feed, LF-only lines, "+" data blocks with dot-stuffing and empty
 * blocks, caps on lines and blocks, NUL bytes, CR alone), argument
 * tokens, QuotedString escapes, AUTHENTICATE secrets and the reply
 * writer. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "allium/feature/control/control_proto.h"
#include "allium/lib/malloc/malloc.h"

/* ---- parser helpers ---- */

static control_parser_t *
fed(const char *s, size_t len, size_t max_line, size_t max_data)
{
  control_parser_t *p = control_parser_new(max_line, max_data);
  cr_assert_eq(control_parser_feed(p, s, len), 0);
  return p;
}

static void
expect_cmd(control_parser_t *p, const char *kw, const char *args,
           const char *data)
{
  control_cmd_t c;
  cr_assert_eq(control_parser_next(p, &c), 1, "expected command %s", kw);
  cr_assert_str_eq(c.keyword, kw);
  cr_assert_str_eq(c.args, args);
  if (data) {
    cr_assert_not_null(c.data);
    cr_assert_str_eq(c.data, data);
    cr_assert_eq(c.data_len, strlen(data));
  } else {
    cr_assert_null(c.data);
    cr_assert_eq(c.data_len, 0);
  }
  control_cmd_clear(&c);
  cr_assert_null(c.keyword);
}

static void
expect_none(control_parser_t *p)
{
  control_cmd_t c;
  cr_assert_eq(control_parser_next(p, &c), 0);
}

Test(control_parser, one_line)
{
  const char *s = "PROTOCOLINFO 1\r\n";
  control_parser_t *p = fed(s, strlen(s), 100, 100);
  cr_assert_eq(control_parser_pending(p), strlen(s));
  expect_cmd(p, "PROTOCOLINFO", "1", NULL);
  cr_assert_eq(control_parser_pending(p), 0);
  expect_none(p);
  control_parser_free(p);
  cr_assert_null(p);
  control_parser_free(p);   /* NULL fine */
  control_cmd_clear(NULL);
}

Test(control_parser, keyword_and_spaces)
{
  const char *s = "getinfo    version  config-file \r\nQUIT\r\n\r\nX \r\n";
  control_parser_t *p = fed(s, strlen(s), 100, 100);
  expect_cmd(p, "getinfo", "version  config-file ", NULL);
  expect_cmd(p, "QUIT", "", NULL);
  expect_cmd(p, "", "", NULL);             /* empty line */
  expect_cmd(p, "X", "", NULL);
  expect_none(p);
  control_parser_free(p);
}

Test(control_parser, byte_by_byte)
{
  const char *s = "SETCONF a=\"b c\"\r\n+LOADCONF\r\nx 1\r\n..y\r\n.\r\n"
                  "AUTHENTICATE \"pw\"\r\n";
  control_parser_t *p = control_parser_new(100, 100);
  size_t n = strlen(s), got = 0;
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(control_parser_feed(p, s + i, 1), 0);
    control_cmd_t c;
    int r;
    while ((r = control_parser_next(p, &c)) == 1) {
      if (got == 0) {
        cr_assert_str_eq(c.keyword, "SETCONF");
        cr_assert_str_eq(c.args, "a=\"b c\"");
        cr_assert_eq(i, 16);
      } else if (got == 1) {
        cr_assert_str_eq(c.keyword, "LOADCONF");
        cr_assert_str_eq(c.data, "x 1\n.y\n");
      } else {
        cr_assert_str_eq(c.keyword, "AUTHENTICATE");
        cr_assert_eq(i, n - 1);
      }
      got++;
      control_cmd_clear(&c);
    }
    cr_assert_eq(r, 0);
  }
  cr_assert_eq(got, 3);
  cr_assert_eq(control_parser_pending(p), 0);
  control_parser_free(p);
}

Test(control_parser, many_in_one_feed_and_pending)
{
  const char *s = "GETINFO a\r\nGETINFO b\nGETINFO c\r\nGETIN";
  control_parser_t *p = fed(s, strlen(s), 100, 100);
  cr_assert_eq(control_parser_pending(p), strlen(s));
  expect_cmd(p, "GETINFO", "a", NULL);
  cr_assert_eq(control_parser_pending(p), strlen(s) - 11);
  expect_cmd(p, "GETINFO", "b", NULL);   /* LF only */
  expect_cmd(p, "GETINFO", "c", NULL);
  expect_none(p);
  cr_assert_eq(control_parser_pending(p), 5);
  cr_assert_eq(control_parser_feed(p, "FO d\n", 5), 0);
  expect_cmd(p, "GETINFO", "d", NULL);
  cr_assert_eq(control_parser_pending(p), 0);
  control_parser_free(p);
}

Test(control_parser, lf_only_data_block)
{
  const char *s = "+POSTDESCRIPTOR purpose=general\nline1\n.line2\n"
                  "..\n\n.\nNEXT\n";
  control_parser_t *p = fed(s, strlen(s), 100, 100);
  expect_cmd(p, "POSTDESCRIPTOR", "purpose=general", "line1\nline2\n.\n\n");
  expect_cmd(p, "NEXT", "", NULL);
  control_parser_free(p);
}

Test(control_parser, empty_block_and_incomplete_block)
{
  const char *s = "+LOADCONF\r\n.\r\n+LOADCONF\r\nabc\r\n.x\r\n";
  control_parser_t *p = fed(s, strlen(s), 100, 100);
  expect_cmd(p, "LOADCONF", "", "");
  expect_none(p);          /* the second block has no end yet */
  cr_assert_eq(control_parser_pending(p), strlen(s) - 14);
  cr_assert_eq(control_parser_feed(p, ".", 1), 0);
  expect_none(p);
  cr_assert_eq(control_parser_feed(p, "\r", 1), 0);
  expect_none(p);
  cr_assert_eq(control_parser_feed(p, "\n", 1), 0);
  expect_cmd(p, "LOADCONF", "", "abc\nx\n");
  control_parser_free(p);
}

Test(control_parser, plus_alone)
{
  const char *s = "+\r\n.\r\n";
  control_parser_t *p = fed(s, strlen(s), 100, 100);
  expect_cmd(p, "", "", "");
  control_parser_free(p);
}

Test(control_parser, cr_alone_is_a_byte)
{
  const char *s = "GETINFO a\rb\r\r\n+X\r\nq\rr\r\n.\r\n";
  control_parser_t *p = fed(s, strlen(s), 100, 100);
  expect_cmd(p, "GETINFO", "a\rb\r", NULL);
  expect_cmd(p, "X", "", "q\rr\n");
  control_parser_free(p);
}

Test(control_parser, nul_rejects_the_command)
{
  static const char s[] = "AUTHENTICATE \"a\0b\"\r\nQUIT\r\n"
                          "+LOADCONF x\r\nab\0c\r\n.\r\nGETINFO v\r\n";
  control_parser_t *p = fed(s, sizeof(s) - 1, 100, 100);
  expect_cmd(p, "", "", NULL);
  expect_cmd(p, "QUIT", "", NULL);
  expect_cmd(p, "", "", NULL);               /* NUL in the block */
  expect_cmd(p, "GETINFO", "v", NULL);
  cr_assert_eq(control_parser_pending(p), 0);
  control_parser_free(p);
}

Test(control_parser, line_cap)
{
  char line[64];
  memset(line, 'A', sizeof(line));
  /* exactly max_line bytes, with CR LF and with LF */
  control_parser_t *p = control_parser_new(10, 100);
  cr_assert_eq(control_parser_feed(p, line, 10), 0);
  cr_assert_eq(control_parser_feed(p, "\r", 1), 0);
  cr_assert_eq(control_parser_feed(p, "\n", 1), 0);
  expect_cmd(p, "AAAAAAAAAA", "", NULL);
  cr_assert_eq(control_parser_feed(p, line, 10), 0);
  cr_assert_eq(control_parser_feed(p, "\n", 1), 0);
  expect_cmd(p, "AAAAAAAAAA", "", NULL);
  control_parser_free(p);

  /* one more: refused when the LF comes */
  p = control_parser_new(10, 100);
  cr_assert_eq(control_parser_feed(p, line, 11), 0);
  cr_assert_eq(control_parser_feed(p, "\n", 1), CONTROL_PARSE_TOOLONG);
  control_parser_free(p);

  /* two more without an LF: refused at once, and sticky */
  p = control_parser_new(10, 100);
  cr_assert_eq(control_parser_feed(p, line, 12), CONTROL_PARSE_TOOLONG);
  cr_assert_eq(control_parser_feed(p, "\n", 1), CONTROL_PARSE_TOOLONG);
  control_cmd_t c;
  cr_assert_eq(control_parser_next(p, &c), CONTROL_PARSE_TOOLONG);
  cr_assert_null(c.keyword);
  control_parser_free(p);

  /* byte by byte */
  p = control_parser_new(10, 100);
  int r = 0;
  size_t i;
  for (i = 0; i < sizeof(line) && r == 0; i++)
    r = control_parser_feed(p, line + i, 1);
  cr_assert_eq(r, CONTROL_PARSE_TOOLONG);
  cr_assert_eq(i, 12);
  control_parser_free(p);
}

Test(control_parser, line_cap_16k)
{
  size_t n = 16384;
  char *buf = al_malloc(n + 3);
  memcpy(buf, "GETINFO ", 8);
  memset(buf + 8, 'k', n - 8);
  memcpy(buf + n, "\r\n", 2);
  control_parser_t *p = fed(buf, n + 2, 16384, 1 << 20);
  control_cmd_t c;
  cr_assert_eq(control_parser_next(p, &c), 1);
  cr_assert_eq(strlen(c.args), n - 8);
  control_cmd_clear(&c);
  buf[n] = 'k';
  buf[n + 1] = '\r';
  buf[n + 2] = '\n';
  cr_assert_eq(control_parser_feed(p, buf, n + 3), CONTROL_PARSE_TOOLONG);
  control_parser_free(p);
  al_free(buf);
}

Test(control_parser, data_cap)
{
  /* "abcd\n" x 2 = 10 bytes: fits a cap of 10, not of 9 */
  const char *s = "+LOADCONF\r\nabcd\r\nabcd\r\n.\r\n";
  control_parser_t *p = fed(s, strlen(s), 100, 10);
  expect_cmd(p, "LOADCONF", "", "abcd\nabcd\n");
  control_parser_free(p);
  p = control_parser_new(100, 9);
  cr_assert_eq(control_parser_feed(p, s, strlen(s)), CONTROL_PARSE_TOOLONG);
  control_parser_free(p);

  /* dot-stuffed lines count unstuffed */
  const char *d = "+X\r\n..ab\r\n..cd\r\n.\r\n";
  p = fed(d, strlen(d), 100, 8);
  expect_cmd(p, "X", "", ".ab\n.cd\n");
  control_parser_free(p);

  /* a block that never ends: refused once past the cap, no LF needed */
  p = control_parser_new(100, 1000);
  cr_assert_eq(control_parser_feed(p, "+X\r\n", 4), 0);
  char chunk[100];
  memset(chunk, 'z', sizeof(chunk));
  int r = 0;
  size_t fedn = 0;
  while (r == 0 && fedn < 5000) {
    r = control_parser_feed(p, chunk, sizeof(chunk));
    fedn += sizeof(chunk);
  }
  cr_assert_eq(r, CONTROL_PARSE_TOOLONG);
  cr_assert_leq(fedn, 1100);
  control_parser_free(p);

  /* many short lines never ending */
  p = control_parser_new(100, 1000);
  cr_assert_eq(control_parser_feed(p, "+X\r\n", 4), 0);
  r = 0;
  for (size_t i = 0; i < 1000 && r == 0; i++)
    r = control_parser_feed(p, "ab\r\n", 4);
  cr_assert_eq(r, CONTROL_PARSE_TOOLONG);
  control_parser_free(p);
}

Test(control_parser, data_block_1mib)
{
  size_t lines = 16384, per = 64;   /* 64 bytes per line with its \n */
  char *buf = al_malloc(lines * (per + 1) + 32);
  size_t o = 0;
  o += (size_t)sprintf(buf, "+LOADCONF\r\n");
  for (size_t i = 0; i < lines; i++) {
    memset(buf + o, 'a' + (int)(i % 26), per - 1);
    o += per - 1;
    buf[o++] = '\r';
    buf[o++] = '\n';
  }
  o += (size_t)sprintf(buf + o, ".\r\n");
  control_parser_t *p = control_parser_new(16384, 1 << 20);
  /* in uneven chunks */
  for (size_t i = 0; i < o; i += 1000)
    cr_assert_eq(control_parser_feed(p, buf + i, o - i < 1000 ? o - i : 1000),
                 0);
  control_cmd_t c;
  cr_assert_eq(control_parser_next(p, &c), 1);
  cr_assert_eq(c.data_len, (size_t)1 << 20);
  cr_assert_eq(c.data[per - 1], '\n');
  control_cmd_clear(&c);
  control_parser_free(p);
  al_free(buf);
}

/* ---- arguments ---- */

static control_arg_t *
args_ok(const char *s, size_t max, size_t n_expected)
{
  control_arg_t *a = NULL;
  size_t n = 99;
  cr_assert_eq(control_args_parse(s, max, &a, &n), 0, "args: %s", s);
  cr_assert_eq(n, n_expected, "args: %s", s);
  return a;
}

static void
args_bad(const char *s, size_t max)
{
  control_arg_t *a = (control_arg_t *)1;
  size_t n = 99;
  cr_assert_eq(control_args_parse(s, max, &a, &n), -1, "args: %s", s);
  cr_assert_null(a);
  cr_assert_eq(n, 0);
}

Test(control_args, words_keys_and_quotes)
{
  control_arg_t *a = args_ok("version  Key=val E= \"q \\\"s\\\"\" "
                             "K=\"a b\\n\" \tlast ", 10, 6);
  cr_assert_str_eq(a[0].key, "version");
  cr_assert(!a[0].has_value && !a[0].quoted && !a[0].value);
  cr_assert_str_eq(a[1].key, "Key");
  cr_assert_str_eq(a[1].value, "val");
  cr_assert(a[1].has_value && !a[1].quoted);
  cr_assert_str_eq(a[2].key, "E");
  cr_assert_str_eq(a[2].value, "");
  cr_assert(a[2].has_value);
  cr_assert_str_eq(a[3].key, "q \"s\"");
  cr_assert(!a[3].has_value && a[3].quoted);
  cr_assert_str_eq(a[4].key, "K");
  cr_assert_str_eq(a[4].value, "a b\n");
  cr_assert(a[4].has_value && a[4].quoted);
  cr_assert_str_eq(a[5].key, "last");
  control_args_free(a, 6);

  a = args_ok("", 0, 0);
  cr_assert_null(a);
  a = args_ok("   ", 0, 0);
  control_args_free(a, 0);
  a = args_ok("k=a=b w\"x", 2, 2);
  cr_assert_str_eq(a[0].value, "a=b");
  cr_assert_str_eq(a[1].key, "w\"x");
  control_args_free(a, 2);
  control_args_free(NULL, 0);
}

Test(control_args, malformed)
{
  args_bad("a b c", 2);                 /* too many */
  args_bad("a", 0);
  args_bad("\"unterminated", 5);
  args_bad("k=\"unterminated", 5);
  args_bad("\"bad \\q escape\"", 5);
  args_bad("\"trailing\\", 5);
  args_bad("\"x\"y", 5);                /* junk after a quote */
  args_bad("k=\"x\"y", 5);
  args_bad("=v", 5);
  args_bad("\"nul \\000 inside\"", 5);
  args_bad("k=\"\\400\"", 5);           /* octal over 255 */
  args_bad("\"\\12\"", 5);              /* two digits */
  cr_assert_eq(control_args_parse(NULL, 5, &(control_arg_t *){NULL},
                                  &(size_t){0}), -1);
}

/* ---- quoting ---- */

Test(control_quote, unquote_escapes)
{
  char *out;
  size_t n, used;
  const char *s = "\"a\\\\b\\\"c\\n\\r\\t\\101\\000\\377\" rest";
  cr_assert_eq(control_unquote(s, strlen(s), &out, &n, &used), 0);
  cr_assert_eq(n, 11);
  cr_assert_eq(memcmp(out, "a\\b\"c\n\r\tA\0\xff", 11), 0);
  cr_assert_eq(out[11], '\0');
  cr_assert_eq(used, strlen(s) - 5);
  al_free(out);

  cr_assert_eq(control_unquote("\"\"", 2, &out, &n, &used), 0);
  cr_assert_eq(n, 0);
  cr_assert_eq(used, 2);
  al_free(out);

  /* truncated by len: the closing quote is past it */
  cr_assert_eq(control_unquote("\"abc\"", 4, &out, &n, &used), -1);
  cr_assert_null(out);
  cr_assert_eq(control_unquote("\"\\1\"", 4, &out, &n, &used), -1);
  cr_assert_eq(control_unquote("\"\\x41\"", 6, &out, &n, &used), -1);
  cr_assert_eq(control_unquote("abc", 3, &out, &n, &used), -1);
  cr_assert_eq(control_unquote("\"", 1, &out, &n, &used), -1);
  cr_assert_eq(control_unquote("", 0, &out, &n, &used), -1);
  cr_assert_eq(control_unquote("\"a\0b\"", 5, &out, &n, &used), -1);
}

Test(control_quote, quote_and_round_trip)
{
  char *q = control_quote("a\"b\\c\nd\re\tf\x01\x7f\xc3\xa9", 15);
  cr_assert_str_eq(q, "\"a\\\"b\\\\c\\nd\\re\\tf\\001\\177\xc3\xa9\"");
  al_free(q);
  q = control_quote("", 0);
  cr_assert_str_eq(q, "\"\"");
  al_free(q);

  uint8_t all[256];
  for (int i = 0; i < 256; i++)
    all[i] = (uint8_t)i;
  q = control_quote((const char *)all, sizeof(all));
  cr_assert_null(memchr(q, '\n', strlen(q)));
  cr_assert_null(memchr(q, '\r', strlen(q)));
  char *out;
  size_t n, used;
  cr_assert_eq(control_unquote(q, strlen(q), &out, &n, &used), 0);
  cr_assert_eq(n, 256);
  cr_assert_eq(used, strlen(q));
  cr_assert_eq(memcmp(out, all, 256), 0);
  al_free(out);
  al_free(q);
}

/* ---- AUTHENTICATE secrets ---- */

static void
secret_is(const char *args, const void *want, size_t len)
{
  uint8_t *out = NULL;
  size_t n = 99;
  cr_assert_eq(control_parse_auth_secret(args, &out, &n), 0, "%s", args);
  cr_assert_not_null(out);
  cr_assert_eq(n, len, "%s", args);
  cr_assert_eq(memcmp(out, want, len), 0, "%s", args);
  al_free(out);
}

static void
secret_bad(const char *args)
{
  uint8_t *out = (uint8_t *)1;
  size_t n = 99;
  cr_assert_eq(control_parse_auth_secret(args, &out, &n), -1, "%s", args);
  cr_assert_null(out);
}

Test(control_auth_secret, forms)
{
  secret_is("", "", 0);
  secret_is("   ", "", 0);
  secret_is("666f6F", "foo", 3);
  secret_is("666f6f  ", "foo", 3);
  secret_is("\"foo\"", "foo", 3);
  secret_is("\"f o\\\"o\\000\" ", "f o\"o\0", 6);
  secret_is("\"\"", "", 0);
  secret_bad("666");
  secret_bad("zz");
  secret_bad("66 6f");
  secret_bad("\"foo");
  secret_bad("\"foo\" x");
  secret_bad("\"f\\qo\"");
  secret_bad(NULL);
}

/* ---- replies ---- */

static void
reply_is(bytes_writer_t *w, const char *want)
{
  cr_assert_eq(bytes_writer_len(w), strlen(want));
  cr_assert_eq(memcmp(bytes_writer_data(w), want, strlen(want)), 0,
               "got %.*s", (int)bytes_writer_len(w),
               (const char *)bytes_writer_data(w));
  bytes_writer_clear(w);
}

Test(control_reply, lines)
{
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  control_reply_line(&w, 250, '-', "version=%s", "0.1");
  control_reply_line(&w, 250, ' ', "OK");
  reply_is(&w, "250-version=0.1\r\n250 OK\r\n");
  control_reply_line(&w, 510, ' ', "Unrecognized command \"%s\"", "a\r\nb\n");
  reply_is(&w, "510 Unrecognized command \"a  b \"\r\n");
  control_reply_line(&w, 650, ' ', "%s", "");
  reply_is(&w, "650 \r\n");
  control_reply_line(&w, 5, '-', "x");
  reply_is(&w, "005-x\r\n");
  bytes_writer_clear(&w);
}

Test(control_reply, data)
{
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  const char *d = "line1\n.dot\n..two\n\nlast";
  control_reply_data(&w, 250, "config-text=", d, strlen(d));
  reply_is(&w, "250+config-text=\r\nline1\r\n..dot\r\n...two\r\n\r\nlast\r\n"
               ".\r\n");
  control_reply_data(&w, 250, "x=", "", 0);
  reply_is(&w, "250+x=\r\n.\r\n");
  control_reply_data(&w, 250, "x=", "a\r\nb\r\n", 6);
  reply_is(&w, "250+x=\r\na\r\nb\r\n.\r\n");
  control_reply_data(&w, 250, "x=", "\n", 1);
  reply_is(&w, "250+x=\r\n\r\n.\r\n");
  control_reply_data(&w, 250, "h\r\n", ".", 1);
  reply_is(&w, "250+h  \r\n..\r\n.\r\n");
  bytes_writer_clear(&w);
}

/* A reply data block parses back (as a "+" command) to the same data. */
Test(control_reply, data_round_trip)
{
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  const char *d = ".\n..\nabc\n.x\n\n";
  control_reply_data(&w, 250, "k=", d, strlen(d));
  /* swap the "250+k=" head for a command's "+K" */
  const char *body = memchr(bytes_writer_data(&w), '\n', bytes_writer_len(&w));
  cr_assert_not_null(body);
  body++;
  size_t blen = bytes_writer_len(&w) -
                (size_t)(body - (const char *)bytes_writer_data(&w));
  control_parser_t *p = control_parser_new(100, 100);
  cr_assert_eq(control_parser_feed(p, "+K\r\n", 4), 0);
  cr_assert_eq(control_parser_feed(p, body, blen), 0);
  expect_cmd(p, "K", "", d);
  control_parser_free(p);
  bytes_writer_clear(&w);
}
