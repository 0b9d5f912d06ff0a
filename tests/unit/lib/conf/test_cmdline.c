/* test_cmdline.c -- argv to config lines and flags (tor(1) command line
 * conventions: --Option value, +Option, /Option, -f FILE). */
#include <criterion/criterion.h>

#include "allium/lib/conf/cmdline.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

static const char *const words[] = { "short", "full", NULL };
static const conf_cmdline_flag_t flags[] = {
  { "-f", CONF_FLAG_ARG_REQUIRED, NULL },
  { "--help", CONF_FLAG_ARG_NONE, NULL },
  { "--dump-config", CONF_FLAG_ARG_OPTIONAL, words },
};

#define NF (sizeof(flags) / sizeof(flags[0]))

Test(cmdline, options_and_flags)
{
  char *argv[] = { "allium", "-f", "my.conf", "--SocksPort", "9150",
                   "+Log", "notice stdout", "/ExitPolicy", "Nickname", "X",
                   "--dump-config", "full", "-ORPort", "auto", "--help",
                   "--dump-config", NULL };
  int argc = 16;
  conf_cmdline_t cl;
  char *err = NULL;
  cr_assert_eq(conf_cmdline_parse(argc, argv, flags, NF, &cl, &err), 0, "%s",
               err);
  const config_line_t *l = cl.lines;
  cr_assert_str_eq(l->key, "SocksPort");
  cr_assert_str_eq(l->value, "9150");
  cr_assert(l->from_cmdline);
  cr_assert_eq(l->command, CONFLINE_SET);
  l = l->next;
  cr_assert_str_eq(l->key, "Log");
  cr_assert_eq(l->command, CONFLINE_APPEND);
  l = l->next;
  cr_assert_str_eq(l->key, "ExitPolicy");
  cr_assert_eq(l->command, CONFLINE_CLEAR);
  cr_assert_str_eq(l->value, "");
  l = l->next;
  cr_assert_str_eq(l->key, "Nickname");
  l = l->next;
  cr_assert_str_eq(l->key, "ORPort");
  cr_assert_str_eq(l->value, "auto");
  cr_assert_null(l->next);
  const config_line_t *f = cl.flags;
  cr_assert_str_eq(f->key, "-f");
  cr_assert_str_eq(f->value, "my.conf");
  cr_assert_eq(f->lineno, 2);
  f = f->next;
  cr_assert_str_eq(f->key, "--dump-config");
  cr_assert_str_eq(f->value, "full");
  f = f->next;
  cr_assert_str_eq(f->key, "--help");
  f = f->next;
  cr_assert_str_eq(f->key, "--dump-config");
  cr_assert_str_eq(f->value, "");
  conf_cmdline_clear(&cl);
  cr_assert_null(cl.lines);
}

Test(cmdline, missing_values)
{
  conf_cmdline_t cl;
  char *err = NULL;
  char *a1[] = { "allium", "--SocksPort", NULL };
  cr_assert_eq(conf_cmdline_parse(2, a1, flags, NF, &cl, &err), -1);
  cr_assert(strstr(err, "'--SocksPort' with no value"), "%s", err);
  cr_assert_null(cl.lines);
  al_free(err);
  char *a2[] = { "allium", "--Nickname", "x", "-f", NULL };
  cr_assert_eq(conf_cmdline_parse(4, a2, flags, NF, &cl, &err), -1);
  cr_assert(strstr(err, "'-f' needs a value"), "%s", err);
  al_free(err);
  char *a3[] = { "allium", "--", "x", NULL };
  cr_assert_eq(conf_cmdline_parse(3, a3, flags, NF, &cl, &err), -1);
  al_free(err);
  char *a4[] = { "allium", NULL };
  cr_assert_eq(conf_cmdline_parse(1, a4, flags, NF, &cl, &err), 0);
  cr_assert_null(cl.lines);
  cr_assert_null(cl.flags);
}
