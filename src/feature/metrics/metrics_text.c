/* metrics_text.c -- the Prometheus text exposition format, version 0.0.4
 * (the format tor(1) MetricsPort answers with): "# HELP", "# TYPE" once
 * per family, samples with escaped label values, counters named *_total.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/metrics/metrics_text.h"
#include "allium/lib/malloc/malloc.h"

struct metrics_text_t {
  char *buf;
  size_t len, cap;
  char **names;        /* families started, in order */
  size_t n_names;
  metrics_type_t cur_type;
};

const char *
metrics_text_strerror(int err)
{
  switch (err) {
  case METRICS_TEXT_OK: return "no error";
  case METRICS_TEXT_ERR_NAME: return "bad metric or label name";
  case METRICS_TEXT_ERR_TYPE: return "metric type and name do not agree";
  case METRICS_TEXT_ERR_DUP: return "metric family written twice";
  case METRICS_TEXT_ERR_NO_FAMILY: return "sample outside a family";
  case METRICS_TEXT_ERR_VALUE: return "bad counter value";
  default: return "unknown metrics text error";
  }
}

metrics_text_t *
metrics_text_new(void)
{
  metrics_text_t *t = al_calloc(1, sizeof(*t));
  t->cap = 1024;
  t->buf = al_malloc(t->cap);
  t->buf[0] = '\0';
  return t;
}

void
metrics_text_free_(metrics_text_t *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->n_names; i++)
    al_free(t->names[i]);
  al_free(t->names);
  al_free(t->buf);
  al_free(t);
}

static void
put(metrics_text_t *t, const char *s, size_t n)
{
  if (t->len + n + 1 > t->cap) {
    while (t->len + n + 1 > t->cap)
      t->cap *= 2;
    t->buf = al_realloc(t->buf, t->cap);
  }
  memcpy(t->buf + t->len, s, n);
  t->len += n;
  t->buf[t->len] = '\0';
}

static void
puts_(metrics_text_t *t, const char *s)
{
  put(t, s, strlen(s));
}

/* s with \ and newline escaped (and " too when quote). */
static void
put_escaped(metrics_text_t *t, const char *s, bool quote)
{
  for (; *s; s++) {
    if (*s == '\\')
      put(t, "\\\\", 2);
    else if (*s == '\n')
      put(t, "\\n", 2);
    else if (*s == '"' && quote)
      put(t, "\\\"", 2);
    else
      put(t, s, 1);
  }
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (colons not in label names). */
static bool
name_ok(const char *s, bool label)
{
  if (!s || !*s || (*s >= '0' && *s <= '9'))
    return false;
  if (label && s[0] == '_' && s[1] == '_')
    return false;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || (c == ':' && !label)))
      return false;
  }
  return true;
}

static bool
ends_total(const char *s)
{
  size_t n = strlen(s);
  return n > 6 && !strcmp(s + n - 6, "_total");
}

int
metrics_text_family(metrics_text_t *t, const char *name,
                    metrics_type_t type, const char *help)
{
  if (!name_ok(name, false))
    return METRICS_TEXT_ERR_NAME;
  if ((type != METRICS_COUNTER && type != METRICS_GAUGE) ||
      (type == METRICS_COUNTER) != ends_total(name))
    return METRICS_TEXT_ERR_TYPE;
  for (size_t i = 0; i < t->n_names; i++)
    if (!strcmp(t->names[i], name))
      return METRICS_TEXT_ERR_DUP;
  t->names = al_reallocarray(t->names, t->n_names + 1, sizeof(*t->names));
  t->names[t->n_names++] = al_strdup(name);
  t->cur_type = type;
  puts_(t, "# HELP ");
  puts_(t, name);
  puts_(t, " ");
  put_escaped(t, help ? help : "", false);
  puts_(t, "\n# TYPE ");
  puts_(t, name);
  puts_(t, type == METRICS_COUNTER ? " counter\n" : " gauge\n");
  return 0;
}

static int
check_labels(const char *const *labels)
{
  for (size_t i = 0; labels && labels[i]; i += 2) {
    if (!name_ok(labels[i], true) || !labels[i + 1])
      return METRICS_TEXT_ERR_NAME;
    for (size_t j = 0; j < i; j += 2)
      if (!strcmp(labels[i], labels[j]))
        return METRICS_TEXT_ERR_NAME;
  }
  return 0;
}

static int
sample(metrics_text_t *t, const char *const *labels, const char *value)
{
  if (!t->n_names)
    return METRICS_TEXT_ERR_NO_FAMILY;
  if (check_labels(labels) < 0)
    return METRICS_TEXT_ERR_NAME;
  puts_(t, t->names[t->n_names - 1]);
  for (size_t i = 0; labels && labels[i]; i += 2) {
    puts_(t, i ? "," : "{");
    puts_(t, labels[i]);
    puts_(t, "=\"");
    put_escaped(t, labels[i + 1], true);
    puts_(t, "\"");
  }
  if (labels && labels[0])
    puts_(t, "}");
  puts_(t, " ");
  puts_(t, value);
  puts_(t, "\n");
  return 0;
}

int
metrics_text_u64(metrics_text_t *t, const char *const *labels,
                 uint64_t value)
{
  char v[32];
  snprintf(v, sizeof(v), "%llu", (unsigned long long)value);
  return sample(t, labels, v);
}

int
metrics_text_double(metrics_text_t *t, const char *const *labels,
                    double value)
{
  char v[40];
  if (t->n_names && t->cur_type == METRICS_COUNTER &&
      (isnan(value) || value < 0))
    return METRICS_TEXT_ERR_VALUE;
  if (isnan(value))
    snprintf(v, sizeof(v), "NaN");
  else if (isinf(value))
    snprintf(v, sizeof(v), "%sInf", value > 0 ? "+" : "-");
  else
    snprintf(v, sizeof(v), "%.17g", value);
  return sample(t, labels, v);
}

const char *
metrics_text_data(const metrics_text_t *t, size_t *len_out)
{
  if (len_out)
    *len_out = t->len;
  return t->buf;
}
