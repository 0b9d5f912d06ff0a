/* confdump.c -- format option values back into torrc text (the format of
 * tor(1) "THE CONFIGURATION FILE FORMAT"), as --dump-config does: one
 * "Name value" line per value, quoted with C escapes when the value would
 * not survive re-parsing otherwise.
 */
#include "allium/lib/conf/confdecl.h"

#include "allium/lib/malloc/malloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CFIELD(obj, var) ((const void *)((const char *)(obj) + (var)->offset))

/* A growing string. */
typedef struct sbuf_t {
  char *s;
  size_t len, cap;
} sbuf_t;

static void
sb_add(sbuf_t *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + n + 1)
      nc *= 2;
    b->s = al_realloc(b->s, nc);
    b->cap = nc;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void
sb_str(sbuf_t *b, const char *s)
{
  sb_add(b, s, strlen(s));
}

static char *
sb_done(sbuf_t *b)
{
  if (!b->s)
    return al_strdup("");
  return b->s;
}

/* Does v need quotes to read back the same? */
static int
needs_quotes(const char *v)
{
  size_t n = strlen(v);
  if (n == 0)
    return 0;
  if (v[0] == ' ' || v[0] == '\t' || v[0] == '"' || v[n - 1] == ' ' ||
      v[n - 1] == '\t' || v[n - 1] == '\\')
    return 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c == '#' || c < 0x20 || c == 0x7f)
      return 1;
  }
  return 0;
}

/* Append v, quoted and escaped when needed. */
static void
sb_value(sbuf_t *b, const char *v)
{
  if (!needs_quotes(v)) {
    sb_str(b, v);
    return;
  }
  sb_add(b, "\"", 1);
  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;
    char esc[8];
    switch (c) {
    case '\n': sb_str(b, "\\n"); break;
    case '\t': sb_str(b, "\\t"); break;
    case '\r': sb_str(b, "\\r"); break;
    case '"': sb_str(b, "\\\""); break;
    case '\\': sb_str(b, "\\\\"); break;
    default:
      if (c < 0x20 || c == 0x7f) {
        snprintf(esc, sizeof(esc), "\\x%02x", c);
        sb_str(b, esc);
      } else {
        sb_add(b, (const char *)&c, 1);
      }
    }
  }
  sb_add(b, "\"", 1);
}

/* Largest unit (from a table in the value's base) that divides v. */
typedef struct out_unit_t {
  uint64_t mult;
  const char *one, *many;
} out_unit_t;

static void
sb_units(sbuf_t *b, uint64_t v, const out_unit_t *u, size_t n)
{
  char tmp[64];
  if (v == 0) {
    sb_str(b, "0");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (v % u[i].mult == 0) {
      uint64_t q = v / u[i].mult;
      snprintf(tmp, sizeof(tmp), "%" PRIu64 " %s", q,
               q == 1 ? u[i].one : u[i].many);
      sb_str(b, tmp);
      return;
    }
  }
}

static const out_unit_t sec_units[] = {
  { 604800, "week", "weeks" }, { 86400, "day", "days" },
  { 3600, "hour", "hours" }, { 60, "minute", "minutes" },
  { 1, "second", "seconds" },
};
static const out_unit_t msec_units[] = {
  { 3600000, "hour", "hours" }, { 60000, "minute", "minutes" },
  { 1000, "second", "seconds" }, { 1, "msec", "msec" },
};
static const out_unit_t mem_units[] = {
  { 1ULL << 40, "TB", "TB" }, { 1ULL << 30, "GB", "GB" },
  { 1ULL << 20, "MB", "MB" }, { 1ULL << 10, "KB", "KB" },
  { 1, "byte", "bytes" },
};

/* conf_format_var_plain(): numbers without unit words. */
static int plain_numbers;

/* Append the value of a scalar option. */
static void
sb_scalar(sbuf_t *b, const void *obj, const conf_var_t *var)
{
  const void *f = CFIELD(obj, var);
  char tmp[64];
  int iv = *(const int *)f;
  switch (var->type) {
  case CONF_TYPE_STRING: case CONF_TYPE_FILENAME: case CONF_TYPE_ADDRPORT:
    sb_value(b, *(char *const *)f);
    return;
  case CONF_TYPE_BOOL: case CONF_TYPE_INT:
    snprintf(tmp, sizeof(tmp), "%d", iv);
    break;
  case CONF_TYPE_AUTOBOOL: case CONF_TYPE_PORT:
    if (iv == -1)
      snprintf(tmp, sizeof(tmp), "auto");
    else
      snprintf(tmp, sizeof(tmp), "%d", iv);
    break;
  case CONF_TYPE_UINT64:
    snprintf(tmp, sizeof(tmp), "%" PRIu64, *(const uint64_t *)f);
    break;
  case CONF_TYPE_INTERVAL:
  case CONF_TYPE_MSEC_INTERVAL:
    if (plain_numbers) {
      snprintf(tmp, sizeof(tmp), "%d", iv);
      break;
    }
    if (var->type == CONF_TYPE_INTERVAL)
      sb_units(b, (uint64_t)iv, sec_units, 5);
    else
      sb_units(b, (uint64_t)iv, msec_units, 4);
    return;
  case CONF_TYPE_MEMORY:
    if (plain_numbers) {
      snprintf(tmp, sizeof(tmp), "%" PRIu64, *(const uint64_t *)f);
      break;
    }
    sb_units(b, *(const uint64_t *)f, mem_units, 5);
    return;
  case CONF_TYPE_CHOICE:
    sb_str(b, var->choices ? var->choices[iv] : "?");
    return;
  case CONF_TYPE_CSV: {
    char *const *items = *(char **const *)f;
    sbuf_t joined = { NULL, 0, 0 };
    for (size_t i = 0; items && items[i]; i++) {
      if (i)
        sb_add(&joined, ",", 1);
      sb_str(&joined, items[i]);
    }
    char *j = sb_done(&joined);
    sb_value(b, j);
    al_free(j);
    return;
  }
  default:
    return;
  }
  sb_str(b, tmp);
}

/* Is the option unset (an empty line would mean "default")? */
static int
is_empty(const void *obj, const conf_var_t *var)
{
  const void *f = CFIELD(obj, var);
  switch (var->type) {
  case CONF_TYPE_STRING: case CONF_TYPE_FILENAME: case CONF_TYPE_ADDRPORT:
    return *(char *const *)f == NULL;
  case CONF_TYPE_CSV:
    return *(char **const *)f == NULL;
  case CONF_TYPE_LINELIST: case CONF_TYPE_PORTLIST:
    return *(config_line_t *const *)f == NULL;
  default:
    return 0;
  }
}

static int
is_group_leader(const conf_format_t *fmt, const conf_var_t *var)
{
  for (size_t i = 0; i < fmt->n_vars; i++)
    if (fmt->vars[i].offset == var->offset)
      return &fmt->vars[i] == var;
  return 1;
}

char *
conf_format_var(const conf_format_t *fmt, const void *obj,
                const conf_var_t *var)
{
  sbuf_t b = { NULL, 0, 0 };
  if (var->type == CONF_TYPE_LINELIST || var->type == CONF_TYPE_PORTLIST) {
    if (!is_group_leader(fmt, var))
      return sb_done(&b);
    const config_line_t *ln = *(config_line_t *const *)CFIELD(obj, var);
    for (; ln; ln = ln->next) {
      sb_str(&b, ln->key);
      sb_add(&b, " ", 1);
      sb_value(&b, ln->value);
      sb_add(&b, "\n", 1);
    }
    return sb_done(&b);
  }
  if (is_empty(obj, var))
    return sb_done(&b);
  sb_str(&b, var->name);
  sb_add(&b, " ", 1);
  sb_scalar(&b, obj, var);
  sb_add(&b, "\n", 1);
  return sb_done(&b);
}

char *
conf_dump(const conf_format_t *fmt, const void *obj, int only_changed)
{
  sbuf_t b = { NULL, 0, 0 };
  void *dflt = NULL;
  if (only_changed) {
    dflt = al_malloc(fmt->obj_size);
    conf_init(fmt, dflt);
  }
  for (size_t i = 0; i < fmt->n_vars; i++) {
    const conf_var_t *v = &fmt->vars[i];
    char *mine = conf_format_var(fmt, obj, v);
    int show = 1;
    if (dflt) {
      char *theirs = conf_format_var(fmt, dflt, v);
      show = strcmp(mine, theirs) != 0;
      al_free(theirs);
    }
    if (show && (v->flags & CONF_FLAG_SENSITIVE) && mine[0]) {
      sb_str(&b, "# ");
      sb_str(&b, v->name);
      sb_str(&b, " [hidden]\n");
    } else if (show) {
      /* A changed-to-unset value prints as "Name" (meaning: default). */
      if (!mine[0] && dflt) {
        sb_str(&b, v->name);
        sb_str(&b, "\n");
      }
      sb_str(&b, mine);
    }
    memwipe(mine, strlen(mine));
    al_free(mine);
  }
  if (dflt) {
    conf_clear(fmt, dflt);
    al_free(dflt);
  }
  return sb_done(&b);
}

/* Append name to the ", "-separated list b unless it is there already. */
static void
sb_add_name(sbuf_t *b, const char *name)
{
  size_t n = strlen(name);
  for (const char *p = b->s; p && *p;) {
    const char *e = strstr(p, ", ");
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && !strncmp(p, name, n))
      return;
    p = e ? e + 2 : p + l;
  }
  if (b->len)
    sb_str(b, ", ");
  sb_str(b, name);
}

char *
conf_refused_names(const conf_format_t *fmt, const void *obj)
{
  sbuf_t b = { NULL, 0, 0 };
  void *dflt = al_malloc(fmt->obj_size);
  conf_init(fmt, dflt);
  for (size_t i = 0; i < fmt->n_vars; i++) {
    const conf_var_t *v = &fmt->vars[i];
    if (!(v->flags & CONF_FLAG_REFUSED))
      continue;
    if (v->type == CONF_TYPE_LINELIST || v->type == CONF_TYPE_PORTLIST) {
      /* A refused row may share its list with accepted ones (only the
       * group's first row formats the list): name, in line order, every
       * refused option that has a line there. */
      size_t before = b.len;
      const config_line_t *ln = *(config_line_t *const *)CFIELD(obj, v);
      for (; ln; ln = ln->next) {
        const conf_var_t *lv = conf_find_var(fmt, ln->key);
        if (lv && (lv->flags & CONF_FLAG_REFUSED))
          sb_add_name(&b, lv->name);
      }
      if (b.len != before)
        continue;
    }
    char *mine = conf_format_var(fmt, obj, v);
    char *theirs = conf_format_var(fmt, dflt, v);
    int differs = strcmp(mine, theirs) != 0;
    memwipe(mine, strlen(mine));
    al_free(mine);
    al_free(theirs);
    if (!differs)
      continue;
    if (v->type == CONF_TYPE_LINELIST || v->type == CONF_TYPE_PORTLIST) {
      size_t before = b.len;
      const config_line_t *ln = *(config_line_t *const *)CFIELD(obj, v);
      for (; ln; ln = ln->next) {
        const conf_var_t *lv = conf_find_var(fmt, ln->key);
        if (lv && (lv->flags & CONF_FLAG_REFUSED))
          sb_add_name(&b, lv->name);
      }
      if (b.len == before)
        sb_add_name(&b, v->name);   /* emptied a non-empty default */
    } else {
      sb_add_name(&b, v->name);
    }
  }
  conf_clear(fmt, dflt);
  al_free(dflt);
  return b.s;
}

char *
conf_format_var_plain(const conf_format_t *fmt, const void *obj,
                      const conf_var_t *var)
{
  plain_numbers = 1;
  char *r = conf_format_var(fmt, obj, var);
  plain_numbers = 0;
  return r;
}
