/* cmdline.c -- argv to configuration lines and flags, with the command
 * line conventions tor(1) documents (SYNOPSIS and "COMMAND-LINE OPTIONS"):
 * "--Option value" sets an option, "+Option" appends to a repeatable one,
 * "/Option" clears it; declared flags such as "-f FILE" are returned apart.
 */
#include "allium/lib/conf/cmdline.h"

#include "allium/lib/malloc/malloc.h"

#include <string.h>

static const conf_cmdline_flag_t *
find_flag(const conf_cmdline_flag_t *flags, size_t n, const char *arg)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(flags[i].name, arg))
      return &flags[i];
  return NULL;
}

static int
word_ok(const conf_cmdline_flag_t *fl, const char *arg)
{
  for (size_t i = 0; fl->words && fl->words[i]; i++)
    if (!strcmp(fl->words[i], arg))
      return 1;
  return 0;
}

/* Handle a declared flag at argv[*i]; advances *i past its argument. */
static int
take_flag(const conf_cmdline_flag_t *fl, int argc, char *const *argv, int *i,
          conf_cmdline_t *out, char **errmsg)
{
  const char *val = "";
  if (fl->arg == CONF_FLAG_ARG_REQUIRED) {
    if (*i + 1 >= argc) {
      al_free(*errmsg);
      *errmsg = al_asprintf("Command-line option '%s' needs a value.",
                            fl->name);
      return -1;
    }
    val = argv[++*i];
  } else if (fl->arg == CONF_FLAG_ARG_OPTIONAL && *i + 1 < argc &&
             word_ok(fl, argv[*i + 1])) {
    val = argv[++*i];
  }
  config_line_t *ln = confline_append(&out->flags, fl->name, val,
                                      "command line", *i);
  ln->from_cmdline = 1;
  return 0;
}

int
conf_cmdline_parse(int argc, char *const *argv,
                   const conf_cmdline_flag_t *flags, size_t n_flags,
                   conf_cmdline_t *out, char **errmsg)
{
  memset(out, 0, sizeof(*out));
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const conf_cmdline_flag_t *fl = find_flag(flags, n_flags, arg);
    if (fl) {
      if (take_flag(fl, argc, argv, &i, out, errmsg) < 0)
        goto err;
      continue;
    }
    const char *name = arg;
    int argno = i;
    if (name[0] == '-')
      name += (name[1] == '-') ? 2 : 1;
    confline_cmd_t cmd = CONFLINE_SET;
    if (name[0] == '+' || name[0] == '/') {
      cmd = name[0] == '+' ? CONFLINE_APPEND : CONFLINE_CLEAR;
      name++;
    }
    if (name[0] == '\0') {
      al_free(*errmsg);
      *errmsg = al_asprintf("Command-line argument '%s' is not an option.",
                            arg);
      goto err;
    }
    const char *value = "";
    if (cmd != CONFLINE_CLEAR) {
      if (i + 1 >= argc) {
        al_free(*errmsg);
        *errmsg = al_asprintf("Command-line option '%s' with no value.",
                              arg);
        goto err;
      }
      value = argv[++i];
    }
    config_line_t *ln = confline_append(&out->lines, name, value,
                                        "command line", argno);
    ln->command = cmd;
    ln->from_cmdline = 1;
  }
  return 0;
 err:
  conf_cmdline_clear(out);
  return -1;
}

void
conf_cmdline_clear(conf_cmdline_t *out)
{
  confline_free(out->lines);
  confline_free(out->flags);
}
