/* fuzz_config.c -- fuzz the torrc parser (src/lib/conf) and allium's option
 * table (src/app/config): arbitrary bytes are parsed as torrc text
 * by the sans-IO lexer; then, unless they hold %include (which would read
 * files), loaded into allium_options_t, validated and dumped: the dump
 * must load again and dump identically.  Inputs starting with byte 0x01
 * are instead split at newlines into an argv for the command-line parser,
 * whose lines are then applied to the option table. */
#include "../fuzzing.h"

#include "allium/app/config/options.h"
#include "allium/lib/conf/cmdline.h"
#include "allium/lib/conf/confdecl.h"
#include "allium/lib/conf/confline.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <stdlib.h>
#include <string.h>

#include "app/config/options_table.h"

int
fuzz_init(void)
{
  log_sinks_clear();
  return 0;
}

static const conf_cmdline_flag_t fuzz_flags[] = {
  { "-f", CONF_FLAG_ARG_REQUIRED, NULL },
  { "--help", CONF_FLAG_ARG_NONE, NULL },
  { "--dump-config", CONF_FLAG_ARG_OPTIONAL,
    (const char *const[]){ "short", "full", NULL } },
};

/* argv from newline-separated data[1..len). */
static void
fuzz_cmdline(const uint8_t *data, size_t len)
{
  char *copy = al_malloc(len);
  memcpy(copy, data + 1, len - 1);
  copy[len - 1] = '\0';
  char *argv[33] = { "allium" };
  int argc = 1;
  for (char *p = copy; argc < 32;) {
    argv[argc++] = p;
    char *nl = memchr(p, '\n', (size_t)(copy + len - 1 - p));
    if (!nl)
      break;
    *nl = '\0';
    p = nl + 1;
  }
  argv[argc] = NULL;
  conf_cmdline_t cl;
  char *err = NULL;
  if (conf_cmdline_parse(argc, argv, fuzz_flags, 3, &cl, &err) == 0) {
    allium_options_t *o = options_new_default();
    if (conf_apply_lines(&options_format, o, cl.lines, NULL, &err) < 0)
      al_free(err);
    char *dump = options_dump(o);
    al_free(dump);
    options_free(o);
    conf_cmdline_clear(&cl);
  } else {
    al_free(err);
  }
  al_free(copy);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len > 0 && data[0] == 1) {
    fuzz_cmdline(data, len);
    return 0;
  }
  config_line_t *lines = NULL;
  char *err = NULL;
  if (confline_parse_text((const char *)data, len, "fuzz", &lines, &err) < 0) {
    if (!err)
      abort();
    al_free(err);
    return 0;
  }
  confline_free(lines);
  /* The real check: text -> options -> dump -> options -> same dump. */
  char *copy = al_malloc(len + 1);
  memcpy(copy, data, len);
  copy[len] = '\0';
  if (memchr(data, '\0', len) || strstr(copy, "%include")) {
    al_free(copy);
    return 0;
  }
  allium_options_t *o = NULL;
  if (options_load_from_string(copy, &o, &err) == 0) {
    char *dump = options_dump(o);
    if (strstr(dump, "[hidden]")) { /* sensitive values are not dumped */
      al_free(dump);
      options_free(o);
      al_free(copy);
      return 0;
    }
    allium_options_t *o2 = NULL;
    char *err2 = NULL;
    if (options_load_from_string(dump, &o2, &err2) < 0)
      abort(); /* our own dump must load */
    char *dump2 = options_dump(o2);
    if (strcmp(dump, dump2) != 0)
      abort(); /* and read back the same */
    al_free(dump2);
    al_free(dump);
    options_free(o2);
    options_free(o);
  } else {
    if (!err)
      abort();
    al_free(err);
  }
  al_free(copy);
  return 0;
}
