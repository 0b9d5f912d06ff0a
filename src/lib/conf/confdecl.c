/* confdecl.c -- typed option tables: initialise an options struct with
 * defaults, apply configuration lines with tor's override rules (tor(1),
 * "THE CONFIGURATION FILE FORMAT": later lines win for single-valued
 * options, repeatable options accumulate, the command line replaces the
 * file's values, "+Key" appends and "/Key" clears), copy, free, dump as
 * torrc text and list the options.  Value parsing is in confvalue.c.
 */
#include "allium/lib/conf/confdecl.h"

#include "allium/lib/malloc/malloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD(obj, var) ((void *)((char *)(obj) + (var)->offset))
#define CFIELD(obj, var) ((const void *)((const char *)(obj) + (var)->offset))

/* ------------------------------------------------------------- lookups */

const conf_var_t *
conf_find_var(const conf_format_t *fmt, const char *name)
{
  for (size_t i = 0; i < fmt->n_vars; i++)
    if (!strcasecmp(fmt->vars[i].name, name))
      return &fmt->vars[i];
  for (size_t i = 0; i < fmt->n_aliases; i++)
    if (!strcasecmp(fmt->aliases[i].alias, name))
      return conf_find_var(fmt, fmt->aliases[i].name);
  return NULL;
}

const char *
conf_find_ignored(const conf_format_t *fmt, const char *name)
{
  for (size_t i = 0; i < fmt->n_ignored; i++)
    if (!strcasecmp(fmt->ignored[i], name))
      return fmt->ignored[i];
  return NULL;
}

#define EDIT_MAX 64

int
conf_edit_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  if (la > EDIT_MAX)
    la = EDIT_MAX;
  if (lb > EDIT_MAX)
    lb = EDIT_MAX;
  int prev[EDIT_MAX + 1], cur[EDIT_MAX + 1];
  for (size_t j = 0; j <= lb; j++)
    prev[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int same = tolower((unsigned char)a[i - 1]) ==
                 tolower((unsigned char)b[j - 1]);
      int best = prev[j - 1] + (same ? 0 : 1);
      if (prev[j] + 1 < best)
        best = prev[j] + 1;
      if (cur[j - 1] + 1 < best)
        best = cur[j - 1] + 1;
      cur[j] = best;
    }
    memcpy(prev, cur, sizeof(int) * (lb + 1));
  }
  return prev[lb];
}

const char *
conf_suggest(const conf_format_t *fmt, const char *name)
{
  size_t len = strlen(name);
  if (len == 0 || len > EDIT_MAX)
    return NULL;
  int limit = (int)(len / 3) + 1;
  if (limit > 4)
    limit = 4;
  const char *best = NULL;
  int best_d = limit + 1;
  for (size_t i = 0; i < fmt->n_vars; i++) {
    if (fmt->vars[i].flags & CONF_FLAG_HIDDEN)
      continue;
    int d = conf_edit_distance(name, fmt->vars[i].name);
    if (d < best_d) {
      best_d = d;
      best = fmt->vars[i].name;
    }
  }
  for (size_t i = 0; i < fmt->n_ignored; i++) {
    int d = conf_edit_distance(name, fmt->ignored[i]);
    if (d < best_d) {
      best_d = d;
      best = fmt->ignored[i];
    }
  }
  return best;
}

const char *
conf_type_name(conf_type_t t)
{
  switch (t) {
  case CONF_TYPE_STRING: return "String";
  case CONF_TYPE_FILENAME: return "Filename";
  case CONF_TYPE_BOOL: return "Boolean";
  case CONF_TYPE_AUTOBOOL: return "Boolean+Auto";
  case CONF_TYPE_INT: return "Integer";
  case CONF_TYPE_PORT: return "Port";
  case CONF_TYPE_UINT64: return "Integer";
  case CONF_TYPE_INTERVAL: return "Interval";
  case CONF_TYPE_MSEC_INTERVAL: return "TimeMsecInterval";
  case CONF_TYPE_MEMORY: return "DataSize";
  case CONF_TYPE_CSV: return "CommaList";
  case CONF_TYPE_LINELIST: return "LineList";
  case CONF_TYPE_PORTLIST: return "PortList";
  case CONF_TYPE_ADDRPORT: return "AddrPort";
  case CONF_TYPE_CHOICE: return "Choice";
  }
  return "?";
}

static int
is_list_type(conf_type_t t)
{
  return t == CONF_TYPE_LINELIST || t == CONF_TYPE_PORTLIST;
}

/* Options sharing a line list (e.g. HiddenServiceDir/Port) all point at
 * the same offset; the first row with that offset leads the group. */
static const conf_var_t *
group_leader(const conf_format_t *fmt, const conf_var_t *var)
{
  for (size_t i = 0; i < fmt->n_vars; i++)
    if (fmt->vars[i].offset == var->offset && is_list_type(fmt->vars[i].type))
      return &fmt->vars[i];
  return var;
}

/* ------------------------------------------------------------ free/reset */

static void
free_str(char **p)
{
  if (*p) {
    memwipe(*p, strlen(*p));
    al_free(*p);
  }
}

static void
free_csv(char ***p)
{
  if (*p) {
    for (char **q = *p; *q; q++)
      free_str(q);
    al_free(*p);
  }
}

/* Release a field's heap state and zero it. */
static void
clear_field(void *obj, const conf_var_t *var)
{
  void *f = FIELD(obj, var);
  switch (var->type) {
  case CONF_TYPE_STRING: case CONF_TYPE_FILENAME: case CONF_TYPE_ADDRPORT:
    free_str((char **)f);
    break;
  case CONF_TYPE_CSV:
    free_csv((char ***)f);
    break;
  case CONF_TYPE_LINELIST: case CONF_TYPE_PORTLIST:
    confline_free(*(config_line_t **)f);
    break;
  case CONF_TYPE_UINT64: case CONF_TYPE_MEMORY:
    *(uint64_t *)f = 0;
    break;
  default:
    *(int *)f = 0;
    break;
  }
}

void
conf_clear(const conf_format_t *fmt, void *obj)
{
  for (size_t i = 0; i < fmt->n_vars; i++) {
    const conf_var_t *v = &fmt->vars[i];
    if (is_list_type(v->type) && group_leader(fmt, v) != v)
      continue;
    clear_field(obj, v);
  }
  memwipe(obj, fmt->obj_size);
}

/* ---------------------------------------------------------------- parse */

/* Limits of a numeric row; (0,0) means the field type's full range. */
static void
int_limits(const conf_var_t *var, int64_t *min, int64_t *max)
{
  *min = var->min;
  *max = var->max;
  if (*min == 0 && *max == 0) {
    *min = (var->type == CONF_TYPE_INT) ? INT_MIN : 0;
    *max = INT_MAX;
  }
}

static int
parse_csv(const char *value, char ***out)
{
  size_t n = 0, cap = 4;
  char **items = al_calloc(cap, sizeof(char *));
  const char *p = value;
  while (*p) {
    const char *comma = strchr(p, ',');
    const char *e = comma ? comma : p + strlen(p);
    const char *s = p;
    while (s < e && isspace((unsigned char)*s))
      s++;
    const char *t = e;
    while (t > s && isspace((unsigned char)t[-1]))
      t--;
    if (t > s) {
      if (n + 2 > cap) {
        cap *= 2;
        items = al_reallocarray(items, cap, sizeof(char *));
      }
      items[n++] = al_strndup(s, (size_t)(t - s));
      items[n] = NULL;
    }
    p = comma ? comma + 1 : e;
  }
  if (n == 0) {
    al_free(items);
    items = NULL;
  }
  *out = items;
  return 0;
}

static int
parse_choice(const conf_var_t *var, const char *value, int *out,
             char **errmsg)
{
  char list[256] = "";
  for (int i = 0; var->choices && var->choices[i]; i++) {
    if (!strcasecmp(value, var->choices[i])) {
      *out = i;
      return 0;
    }
    size_t l = strlen(list);
    snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "",
             var->choices[i]);
  }
  al_free(*errmsg);
  *errmsg = al_asprintf("\"%.64s\" is not valid (expected one of: %s)",
                        value, list);
  return -1;
}

/* INTERVAL, MSEC_INTERVAL and MEMORY values, checked against the row's
 * limits, into field f. */
static int
parse_scaled(const conf_var_t *var, void *f, const char *value,
             char **errmsg)
{
  int64_t min, max;
  uint64_t u64;
  switch (var->type) {
  case CONF_TYPE_INTERVAL: case CONF_TYPE_MSEC_INTERVAL:
    if (conf_parse_interval(value, var->type == CONF_TYPE_MSEC_INTERVAL,
                            &u64, errmsg) < 0)
      return -1;
    int_limits(var, &min, &max);
    if (u64 < (uint64_t)min || u64 > (uint64_t)max) {
      al_free(*errmsg);
      *errmsg = al_asprintf("\"%.64s\" is out of range (expected %" PRId64
                            " to %" PRId64 " %s)", value, min, max,
                            var->type == CONF_TYPE_INTERVAL ? "seconds"
                            : "msec");
      return -1;
    }
    *(int *)f = (int)u64;
    return 0;
  default:
    if (conf_parse_memory(value, &u64, errmsg) < 0)
      return -1;
    if ((var->min && u64 < (uint64_t)var->min) ||
        (var->max && u64 > (uint64_t)var->max)) {
      al_free(*errmsg);
      *errmsg = al_asprintf("\"%.64s\" is out of range (expected %" PRId64
                            " to %" PRId64 " bytes)", value, var->min,
                            var->max ? var->max : INT64_MAX);
      return -1;
    }
    *(uint64_t *)f = u64;
    return 0;
  }
}

/* Parse a scalar value into the field.  Lists are handled by the caller. */
static int
parse_scalar(const conf_var_t *var, void *obj, const char *value,
             char **errmsg)
{
  void *f = FIELD(obj, var);
  int64_t min, max, i64;
  uint64_t u64;
  int iv;
  switch (var->type) {
  case CONF_TYPE_STRING: case CONF_TYPE_FILENAME:
    free_str((char **)f);
    *(char **)f = al_strdup(value);
    return 0;
  case CONF_TYPE_ADDRPORT:
    if (conf_parse_addrport(value, 0, errmsg) < 0)
      return -1;
    free_str((char **)f);
    *(char **)f = al_strdup(value);
    return 0;
  case CONF_TYPE_BOOL: case CONF_TYPE_AUTOBOOL:
    if (conf_parse_bool(value, var->type == CONF_TYPE_AUTOBOOL, &iv,
                        errmsg) < 0)
      return -1;
    *(int *)f = iv;
    return 0;
  case CONF_TYPE_INT:
    int_limits(var, &min, &max);
    if (conf_parse_int64(value, min, max, &i64, errmsg) < 0)
      return -1;
    *(int *)f = (int)i64;
    return 0;
  case CONF_TYPE_PORT:
    if (conf_parse_port(value, 1, &iv, errmsg) < 0)
      return -1;
    *(int *)f = iv;
    return 0;
  case CONF_TYPE_UINT64:
    if (conf_parse_uint64(value, (uint64_t)var->min,
                          var->max ? (uint64_t)var->max : UINT64_MAX, &u64,
                          errmsg) < 0)
      return -1;
    *(uint64_t *)f = u64;
    return 0;
  case CONF_TYPE_INTERVAL: case CONF_TYPE_MSEC_INTERVAL:
  case CONF_TYPE_MEMORY:
    return parse_scaled(var, f, value, errmsg);
  case CONF_TYPE_CSV: {
    char **items;
    parse_csv(value, &items);
    if (!items) {
      al_free(*errmsg);
      *errmsg = al_asprintf("\"%.64s\" is not a list (expected "
                            "comma-separated items)", value);
      return -1;
    }
    free_csv((char ***)f);
    *(char ***)f = items;
    return 0;
  }
  case CONF_TYPE_CHOICE:
    if (parse_choice(var, value, &iv, errmsg) < 0)
      return -1;
    *(int *)f = iv;
    return 0;
  case CONF_TYPE_LINELIST: case CONF_TYPE_PORTLIST:
    break;
  }
  return -1;
}

/* Append value to a list field (checking a PortList's first word).
 * *tail, when tail is non-NULL, caches the list's last line so that long
 * lists append in constant time (NULL cache: find the end). */
static int
list_append(const conf_var_t *var, void *obj, const char *value,
            const char *source, int lineno, config_line_t **tail,
            char **errmsg)
{
  if (var->type == CONF_TYPE_PORTLIST) {
    char word[300];
    size_t n = strcspn(value, " \t");
    if (n >= sizeof(word))
      n = sizeof(word) - 1;
    memcpy(word, value, n);
    word[n] = '\0';
    if (conf_parse_portspec(word, errmsg) < 0)
      return -1;
  }
  config_line_t **head = (config_line_t **)FIELD(obj, var);
  config_line_t *last = tail ? *tail : NULL;
  if (!last)
    for (last = *head; last && last->next; last = last->next)
      ;
  config_line_t *ln = NULL;
  confline_append(&ln, var->name, value, source, lineno);
  if (last)
    last->next = ln;
  else
    *head = ln;
  if (tail)
    *tail = ln;
  return 0;
}

void
conf_reset_var(const conf_format_t *fmt, void *obj, const conf_var_t *var)
{
  if (is_list_type(var->type))
    var = group_leader(fmt, var);
  clear_field(obj, var);
  if (!var->dflt || (var->flags & CONF_FLAG_BUILTIN_DEFAULT))
    return;
  char *err = NULL;
  int r = is_list_type(var->type)
        ? list_append(var, obj, var->dflt, "default", 0, NULL, &err)
        : parse_scalar(var, obj, var->dflt, &err);
  if (r < 0) {
    /* A bad default is a bug in the option table, not user input. */
    fprintf(stderr, "BUG: default of option %s: %s\n", var->name,
            err ? err : "?");
    abort();
  }
}

void
conf_init(const conf_format_t *fmt, void *obj)
{
  memset(obj, 0, fmt->obj_size);
  for (size_t i = 0; i < fmt->n_vars; i++) {
    const conf_var_t *v = &fmt->vars[i];
    if (is_list_type(v->type) && group_leader(fmt, v) != v)
      continue;
    conf_reset_var(fmt, obj, v);
  }
}

int
conf_set_value(const conf_format_t *fmt, void *obj, const conf_var_t *var,
               const char *value, char **errmsg)
{
  char *err = NULL;
  int r;
  if (value[0] == '\0') {
    conf_reset_var(fmt, obj, var);
    return 0;
  }
  if (is_list_type(var->type))
    r = list_append(var, obj, value, NULL, 0, NULL, &err);
  else
    r = parse_scalar(var, obj, value, &err);
  if (r < 0) {
    al_free(*errmsg);
    *errmsg = al_asprintf("Option '%s': %s", var->name, err ? err : "bad "
                          "value");
    al_free(err);
  }
  return r;
}

/* ---------------------------------------------------------------- apply */

static void
record_ignored(config_line_t **ignored_out, const char *name,
               const config_line_t *ln)
{
  if (!ignored_out || confline_find(*ignored_out, name))
    return;
  confline_append(ignored_out, name, "", ln->source, ln->lineno);
}

static void
unknown_option(const conf_format_t *fmt, const config_line_t *ln,
               char **errmsg)
{
  const char *sugg = conf_suggest(fmt, ln->key);
  al_free(*errmsg);
  if (sugg)
    *errmsg = al_asprintf("%s:%d: Unknown option '%.64s'. Did you mean "
                          "'%s'?", ln->source, ln->lineno, ln->key, sugg);
  else
    *errmsg = al_asprintf("%s:%d: Unknown option '%.64s'.", ln->source,
                          ln->lineno, ln->key);
}

/* Per-call state of conf_apply_lines, indexed by a list group leader's
 * row: replaced = already replaced in this call; tails = last line. */
typedef struct apply_state_t {
  unsigned char *replaced;
  config_line_t **tails;
} apply_state_t;

/* Apply one line whose option is var. */
static int
apply_one(const conf_format_t *fmt, void *obj, const conf_var_t *var,
          const config_line_t *ln, apply_state_t *st, char **errmsg)
{
  char *err = NULL;
  int r = 0;
  size_t g = (size_t)(group_leader(fmt, var) - fmt->vars);
  if (ln->command == CONFLINE_CLEAR || (is_list_type(var->type) &&
                                        ln->value[0] == '\0')) {
    /* Back to the default; the next SET line replaces it again. */
    conf_reset_var(fmt, obj, var);
    if (is_list_type(var->type)) {
      st->replaced[g] = 0;
      st->tails[g] = NULL;
    }
    return 0;
  }
  if (is_list_type(var->type)) {
    if (!st->replaced[g] && ln->command == CONFLINE_SET) {
      clear_field(obj, &fmt->vars[g]);
      st->tails[g] = NULL;
    }
    st->replaced[g] = 1;
    r = list_append(var, obj, ln->value, ln->source, ln->lineno,
                    &st->tails[g], &err);
  } else if (ln->value[0] == '\0') {
    conf_reset_var(fmt, obj, var);
  } else {
    r = parse_scalar(var, obj, ln->value, &err);
  }
  if (r < 0) {
    al_free(*errmsg);
    *errmsg = al_asprintf("%s:%d: Option '%s': %s", ln->source, ln->lineno,
                          var->name, err ? err : "bad value");
  }
  al_free(err);
  return r;
}

int
conf_apply_lines(const conf_format_t *fmt, void *obj,
                 const config_line_t *lines, config_line_t **ignored_out,
                 char **errmsg)
{
  size_t n = fmt->n_vars ? fmt->n_vars : 1;
  apply_state_t st = { al_calloc(n, 1), al_calloc(n, sizeof(config_line_t *)) };
  int r = 0;
  for (const config_line_t *ln = lines; ln; ln = ln->next) {
    const conf_var_t *var = conf_find_var(fmt, ln->key);
    if (!var) {
      const char *ign = conf_find_ignored(fmt, ln->key);
      if (ign) {
        record_ignored(ignored_out, ign, ln);
        continue;
      }
      unknown_option(fmt, ln, errmsg);
      r = -1;
      break;
    }
    if (apply_one(fmt, obj, var, ln, &st, errmsg) < 0) {
      r = -1;
      break;
    }
  }
  al_free(st.replaced);
  al_free(st.tails);
  return r;
}

/* ------------------------------------------------------------ copy/list */

void
conf_copy(const conf_format_t *fmt, void *dst, const void *src)
{
  memcpy(dst, src, fmt->obj_size);
  for (size_t i = 0; i < fmt->n_vars; i++) {
    const conf_var_t *v = &fmt->vars[i];
    void *d = FIELD(dst, v);
    const void *s = CFIELD(src, v);
    switch (v->type) {
    case CONF_TYPE_STRING: case CONF_TYPE_FILENAME: case CONF_TYPE_ADDRPORT:
      if (*(char *const *)s)
        *(char **)d = al_strdup(*(char *const *)s);
      break;
    case CONF_TYPE_CSV: {
      char *const *items = *(char **const *)s;
      if (!items)
        break;
      size_t n = 0;
      while (items[n])
        n++;
      char **copy = al_calloc(n + 1, sizeof(char *));
      for (size_t k = 0; k < n; k++)
        copy[k] = al_strdup(items[k]);
      *(char ***)d = copy;
      break;
    }
    case CONF_TYPE_LINELIST: case CONF_TYPE_PORTLIST:
      if (group_leader(fmt, v) == v)
        *(config_line_t **)d = confline_dup(*(config_line_t *const *)s);
      break;
    default:
      break;
    }
  }
}

void
conf_print_list(const conf_format_t *fmt, FILE *f)
{
  for (size_t i = 0; i < fmt->n_vars; i++) {
    const conf_var_t *v = &fmt->vars[i];
    if (v->flags & CONF_FLAG_HIDDEN)
      continue;
    fprintf(f, "%-34s %-16s %-22s %s\n", v->name, conf_type_name(v->type),
            v->dflt ? v->dflt : "(none)", v->doc ? v->doc : "");
  }
}
