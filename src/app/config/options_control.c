/* options_control.c -- the configuration as the control port sees it
 * (control-spec 3.1 SETCONF, 3.2 RESETCONF, 3.3 GETCONF, 3.9 "config/names"
 * and "config-text"): options by name as text, and a copy of the running
 * options with changes applied and validated. */
#include "allium/app/config/options.h"
#include "allium/lib/conf/confdecl.h"
#include "allium/lib/malloc/malloc.h"
#include "options_table.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
options_get_strings(const allium_options_t *o, const char *key,
                    const char **canon, char ***vals, size_t *n)
{
  const conf_var_t *v = conf_find_var(&options_format, key);
  *vals = NULL;
  *n = 0;
  if (!v)
    return -1;
  *canon = v->name;
  char *text = conf_format_var_plain(&options_format, o, v);
  size_t nlen = strlen(v->name);
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    /* Lines of a shared list (HiddenService*) may carry other names. */
    const char *val = line;
    if (!strncasecmp(line, v->name, nlen) && line[nlen] == ' ')
      val = line + nlen + 1;
    else if (strchr(line, ' ') && v->type != CONF_TYPE_LINELIST)
      val = strchr(line, ' ') + 1;
    *vals = al_reallocarray(*vals, *n + 1, sizeof(**vals));
    (*vals)[(*n)++] = al_strdup(val);
  }
  al_free(text);
  return 0;
}

/* Apply every value given for var (keys[i] naming it) as one SET group. */
static int
apply_group(allium_options_t *o, const conf_var_t *var,
            const char *const *keys, const char *const *values, size_t n,
            char **err)
{
  config_line_t *lines = NULL;
  bool reset = false;
  for (size_t i = 0; i < n; i++) {
    if (conf_find_var(&options_format, keys[i]) != var)
      continue;
    if (!values[i] || !values[i][0])
      reset = true;
    else
      confline_append(&lines, var->name, values[i], "SETCONF", 0);
  }
  conf_reset_var(&options_format, o, var);
  /* "Key" alone next to "Key=value" lines: the values win. */
  (void)reset;
  int r = 0;
  if (lines)
    r = conf_apply_lines(&options_format, o, lines, NULL, err);
  confline_free(lines);
  return r;
}

int
options_with_changes(const allium_options_t *cur, const char *const *keys,
                     const char *const *values, size_t n,
                     allium_options_t **out, char **bad_key, char **err)
{
  *out = NULL;
  *bad_key = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!conf_find_var(&options_format, keys[i])) {
      *bad_key = al_strdup(keys[i]);
      *err = al_asprintf("Unrecognized option '%s'", keys[i]);
      return -1;
    }
  }
  allium_options_t *o = al_calloc(1, sizeof(*o));
  conf_copy(&options_format, o, cur);
  for (size_t i = 0; i < n; i++) {
    const conf_var_t *var = conf_find_var(&options_format, keys[i]);
    bool first = true;
    for (size_t j = 0; j < i; j++)
      if (conf_find_var(&options_format, keys[j]) == var)
        first = false;
    if (first && apply_group(o, var, keys, values, n, err) < 0) {
      options_free(o);
      return -1;
    }
  }
  if (options_validate(o, err) < 0) {
    options_free(o);
    return -1;
  }
  *out = o;
  return 0;
}

/* tor's type names in config/names (controllers such as nyx show them). */
static const char *
tor_type_name(conf_type_t t)
{
  switch (t) {
  case CONF_TYPE_STRING: case CONF_TYPE_ADDRPORT: case CONF_TYPE_CHOICE:
    return "String";
  case CONF_TYPE_FILENAME: return "Filename";
  case CONF_TYPE_BOOL: return "Boolean";
  case CONF_TYPE_AUTOBOOL: return "Boolean+Auto";
  case CONF_TYPE_INT: case CONF_TYPE_UINT64: return "Integer";
  case CONF_TYPE_PORT: case CONF_TYPE_PORTLIST: return "Dependent";
  case CONF_TYPE_INTERVAL: return "TimeInterval";
  case CONF_TYPE_MSEC_INTERVAL: return "TimeMsecInterval";
  case CONF_TYPE_MEMORY: return "DataSize";
  case CONF_TYPE_CSV: return "CommaList";
  case CONF_TYPE_LINELIST: return "LineList";
  }
  return "String";
}

char *
options_names_text(void)
{
  size_t cap = 1;
  for (size_t i = 0; i < options_format.n_vars; i++)
    cap += strlen(options_format.vars[i].name) + 16;
  char *s = al_malloc(cap);
  size_t off = 0;
  s[0] = '\0';
  for (size_t i = 0; i < options_format.n_vars; i++) {
    const conf_var_t *v = &options_format.vars[i];
    if (v->flags & CONF_FLAG_HIDDEN)
      continue;
    /* A shared list shows once, under its first name. */
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++)
      dup = options_format.vars[j].offset == v->offset &&
            v->type == CONF_TYPE_LINELIST;
    if (dup && strncmp(v->name, "HiddenService", 13))
      continue;
    off += (size_t)snprintf(s + off, cap - off, "%s%s %s", off ? "\n" : "",
                            v->name, tor_type_name(v->type));
  }
  return s;
}
