/* test_confline.c -- the torrc lexer (tor(1) "THE CONFIGURATION FILE
 * FORMAT"): comments, continuation, quoting, limits, and %include. */
#include <criterion/criterion.h>

#include "allium/lib/conf/confline.h"
#include "allium/lib/malloc/malloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static config_line_t *
parse_ok(const char *text)
{
  config_line_t *l = NULL;
  char *err = NULL;
  int r = confline_parse_text(text, strlen(text), "t", &l, &err);
  cr_assert_eq(r, 0, "parse failed: %s", err ? err : "?");
  cr_assert_null(err);
  return l;
}

static char *
parse_err(const char *text, size_t len)
{
  config_line_t *l = NULL;
  char *err = NULL;
  int r = confline_parse_text(text, len, "t", &l, &err);
  cr_assert_eq(r, -1);
  cr_assert_null(l);
  cr_assert_not_null(err);
  return err;
}

static void
expect_line(const config_line_t *l, const char *k, const char *v, int lineno)
{
  cr_assert_not_null(l);
  cr_assert_str_eq(l->key, k);
  cr_assert_str_eq(l->value, v);
  cr_assert_eq(l->lineno, lineno, "%s: line %d, want %d", k, l->lineno,
               lineno);
}

Test(confline, basic_comments_blank)
{
  config_line_t *l = parse_ok("# c\n\n  Key1   value one  \n\tKey2 v2#c\n"
                              "Key3\nKey4 a # b # c\n   # indented\n");
  expect_line(l, "Key1", "value one", 3);
  expect_line(l->next, "Key2", "v2", 4);
  expect_line(l->next->next, "Key3", "", 5);
  expect_line(l->next->next->next, "Key4", "a", 6);
  cr_assert_null(l->next->next->next->next);
  cr_assert_str_eq(l->source, "t");
  confline_free(l);
  cr_assert_null(l);
}

Test(confline, empty_and_crlf_and_no_final_newline)
{
  config_line_t *l = parse_ok("");
  cr_assert_null(l);
  l = parse_ok("A 1\r\nB 2");
  expect_line(l, "A", "1", 1);
  expect_line(l->next, "B", "2", 2);
  confline_free(l);
}

Test(confline, continuation)
{
  config_line_t *l = parse_ok("A one \\\n two\\\n# skipped\n  # also\n"
                              "three\nB x\n");
  expect_line(l, "A", "one  twothree", 1);
  expect_line(l->next, "B", "x", 6);
  confline_free(l);
  /* continuation at EOF, and into a blank line */
  l = parse_ok("A x\\");
  expect_line(l, "A", "x", 1);
  confline_free(l);
  l = parse_ok("A x\\\n\nB y\n");
  expect_line(l, "A", "x", 1);
  expect_line(l->next, "B", "y", 3);
  confline_free(l);
  /* a backslash in a comment does not continue */
  l = parse_ok("A x # c \\\nB y\n");
  expect_line(l, "A", "x", 1);
  expect_line(l->next, "B", "y", 2);
  confline_free(l);
}

Test(confline, quoted_values)
{
  config_line_t *l = parse_ok("A \"a b\\t\\n\\\"q\\\" \\\\ \\x41\\101 # no\""
                              "   # comment\nB \"\"\n");
  expect_line(l, "A", "a b\t\n\"q\" \\ AA # no", 1);
  expect_line(l->next, "B", "", 2);
  confline_free(l);
}

Test(confline, bad_quotes)
{
  char *e = parse_err("A \"unterminated\n", 16);
  cr_assert(strstr(e, "t:1:"), "%s", e);
  al_free(e);
  e = parse_err("A \"x\" trailing\n", 15);
  cr_assert(strstr(e, "after quoted"), "%s", e);
  al_free(e);
  const char *bad[] = { "A \"\\q\"", "A \"\\x4\"", "A \"\\xZZ\"",
                        "A \"\\x00\"", "A \"\\000\"", "A \"\\", "A \"\\9\"" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    e = parse_err(bad[i], strlen(bad[i]));
    al_free(e);
  }
}

Test(confline, append_clear_prefixes)
{
  config_line_t *l = parse_ok("+SocksPort 9150\n/ExitPolicy\n");
  expect_line(l, "SocksPort", "9150", 1);
  cr_assert_eq(l->command, CONFLINE_APPEND);
  expect_line(l->next, "ExitPolicy", "", 2);
  cr_assert_eq(l->next->command, CONFLINE_CLEAR);
  confline_free(l);
  char *e = parse_err("+ value\n", 8);
  cr_assert(strstr(e, "missing option name"), "%s", e);
  al_free(e);
}

Test(confline, nul_and_size_limits)
{
  char *e = parse_err("A 1\nB \0x\n", 9);
  cr_assert(strstr(e, "t:2: NUL byte"), "%s", e);
  al_free(e);
  size_t big = CONFLINE_MAX_TEXT + 1;
  char *text = al_malloc(big);
  memset(text, '#', big);
  e = parse_err(text, big);
  cr_assert(strstr(e, "larger than"), "%s", e);
  al_free(e);
  /* exactly the limit is fine (all comment) */
  config_line_t *l = NULL;
  cr_assert_eq(confline_parse_text(text, CONFLINE_MAX_TEXT, "t", &l, &e), 0);
  al_free(text);
  /* a logical line over CONFLINE_MAX_LINE */
  size_t n = CONFLINE_MAX_LINE + 16;
  text = al_malloc(n + 1);
  memset(text, 'v', n);
  memcpy(text, "A ", 2);
  text[n] = '\0';
  e = parse_err(text, n);
  cr_assert(strstr(e, "longer than"), "%s", e);
  al_free(e);
  al_free(text);
}

Test(confline, too_many_lines)
{
  size_t n = (CONFLINE_MAX_LINES + 1) * 4;
  char *text = al_malloc(n + 1);
  for (size_t i = 0; i < n; i += 4)
    memcpy(text + i, "A 1\n", 4);
  text[n] = '\0';
  char *e = parse_err(text, n);
  cr_assert(strstr(e, "more than"), "%s", e);
  al_free(e);
  al_free(text);
}

Test(confline, list_helpers)
{
  config_line_t *l = NULL;
  confline_append(&l, "A", "1", NULL, 1);
  confline_append(&l, "b", "2", "src", 2);
  cr_assert_eq(confline_count(l), 2);
  cr_assert_str_eq(confline_find(l, "B")->value, "2");
  cr_assert_null(confline_find(l, "C"));
  config_line_t *d = confline_dup(l);
  cr_assert_str_eq(d->next->source, "src");
  cr_assert_str_eq(d->source, "<string>");
  confline_free(l);
  confline_free(d);
  confline_free(d); /* NULL is fine */
}

/* ---- %include, on a scratch folder ---- */

static char tmpdir[256];

static void
mk_tmp(void)
{
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/allium-confline-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void
write_file(const char *name, const char *text)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

static void
rm_tmp(void)
{
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
}

Test(confline, include_file_and_folder, .init = mk_tmp, .fini = rm_tmp)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/d", tmpdir);
  mkdir(path, 0700);
  write_file("main", "A 1\n%include d\n%include one\nZ 9\n");
  write_file("one", "One 1\n");
  write_file("d/b", "B 2\n");
  write_file("d/a", "A2 2\n");
  write_file("d/.dot", "Dot 1\n");
  snprintf(path, sizeof(path), "%s/d/sub", tmpdir);
  mkdir(path, 0700);
  write_file("d/sub/x", "Sub 1\n");
  snprintf(path, sizeof(path), "%s/main", tmpdir);
  config_line_t *l = NULL;
  char *err = NULL;
  cr_assert_eq(confline_parse_file(path, &l, &err), 0, "%s", err);
  const char *keys[] = { "A", "A2", "B", "One", "Z" };
  const config_line_t *p = l;
  for (size_t i = 0; i < 5; i++, p = p->next) {
    cr_assert_not_null(p);
    cr_assert_str_eq(p->key, keys[i]);
  }
  cr_assert_null(p);
  cr_assert(strstr(l->next->source, "/d/a"), "%s", l->next->source);
  cr_assert_eq(l->next->lineno, 1);
  confline_free(l);
}

Test(confline, include_glob, .init = mk_tmp, .fini = rm_tmp)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/d", tmpdir);
  mkdir(path, 0700);
  write_file("main", "%include d/*.conf\n%include d/none*\nZ 1\n");
  write_file("d/b.conf", "B 2\n");
  write_file("d/a.conf", "A 1\n");
  write_file("d/c.txt", "C 3\n");
  write_file("d/.x.conf", "X 1\n");
  snprintf(path, sizeof(path), "%s/main", tmpdir);
  config_line_t *l = NULL;
  char *err = NULL;
  cr_assert_eq(confline_parse_file(path, &l, &err), 0, "%s", err);
  cr_assert_eq(confline_count(l), 3);
  cr_assert_str_eq(l->key, "A");
  cr_assert_str_eq(l->next->key, "B");
  cr_assert_str_eq(l->next->next->key, "Z");
  confline_free(l);
}

Test(confline, include_missing_and_loop, .init = mk_tmp, .fini = rm_tmp)
{
  char path[512];
  config_line_t *l = NULL;
  char *err = NULL;
  write_file("main", "A 1\n%include nothere\n");
  snprintf(path, sizeof(path), "%s/main", tmpdir);
  cr_assert_eq(confline_parse_file(path, &l, &err), -1);
  cr_assert(strstr(err, "main:2: %include"), "%s", err);
  al_free(err);
  write_file("main", "%include main\n");
  cr_assert_eq(confline_parse_file(path, &l, &err), -1);
  cr_assert(strstr(err, "loop"), "%s", err);
  al_free(err);
  write_file("main", "%include\n");
  cr_assert_eq(confline_parse_file(path, &l, &err), -1);
  cr_assert(strstr(err, "needs a path"), "%s", err);
  al_free(err);
  snprintf(path, sizeof(path), "%s/absent", tmpdir);
  cr_assert_eq(confline_parse_file(path, &l, &err), -2);
  al_free(err);
}

Test(confline, include_depth_limit, .init = mk_tmp, .fini = rm_tmp)
{
  char name[32], text[64], path[512];
  config_line_t *l = NULL;
  char *err = NULL;
  /* f0 includes f1 ... includes fN: N nested levels */
  for (int depth = CONFLINE_MAX_INCLUDE_DEPTH;
       depth <= CONFLINE_MAX_INCLUDE_DEPTH + 1; depth++) {
    for (int i = 0; i <= depth; i++) {
      snprintf(name, sizeof(name), "f%d", i);
      if (i < depth)
        snprintf(text, sizeof(text), "L%d 1\n%%include f%d\n", i, i + 1);
      else
        snprintf(text, sizeof(text), "Last 1\n");
      write_file(name, text);
    }
    snprintf(path, sizeof(path), "%s/f0", tmpdir);
    int r = confline_parse_file(path, &l, &err);
    if (depth == CONFLINE_MAX_INCLUDE_DEPTH) {
      cr_assert_eq(r, 0, "%s", err);
      cr_assert_eq(confline_count(l), (size_t)depth + 1);
      confline_free(l);
    } else {
      cr_assert_eq(r, -1);
      cr_assert(strstr(err, "nested more than 31"), "%s", err);
      al_free(err);
    }
  }
}

Test(confline, unquote_direct)
{
  size_t end = 0;
  char *s = confline_unquote("\"ab\"cd", 6, &end);
  cr_assert_str_eq(s, "ab");
  cr_assert_eq(end, 4);
  al_free(s);
  cr_assert_null(confline_unquote("ab", 2, &end));
  cr_assert_null(confline_unquote("\"ab", 3, &end));
  cr_assert_null(confline_unquote("\"", 1, &end));
}
