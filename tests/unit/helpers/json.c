/* json.c -- recursive-descent JSON reader for test vectors (RFC 8259 subset:
 * \uXXXX escapes beyond Latin-1 are kept as '?', which the vector files
 * never need). */
#include "helpers/json.h"

#include <stdlib.h>
#include <string.h>

typedef struct { const char *p, *end; } json_in_t;

static json_t *parse_value(json_in_t *in, int depth);

static void
skip_ws(json_in_t *in)
{
  while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' ||
                             *in->p == '\t'))
    in->p++;
}

static json_t *
node_new(json_type_t t)
{
  json_t *j = calloc(1, sizeof(*j));
  if (j)
    j->type = t;
  return j;
}

static int
hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static char *
parse_string_raw(json_in_t *in)
{
  if (in->p >= in->end || *in->p != '"')
    return NULL;
  in->p++;
  size_t cap = 16, len = 0;
  char *s = malloc(cap);
  if (!s)
    return NULL;
  while (in->p < in->end && *in->p != '"') {
    char c = *in->p++;
    if (c == '\\') {
      if (in->p >= in->end)
        goto bad;
      char e = *in->p++;
      switch (e) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'u': {
        if (in->end - in->p < 4)
          goto bad;
        int v = 0;
        for (int i = 0; i < 4; i++) {
          int h = hexval(in->p[i]);
          if (h < 0)
            goto bad;
          v = v * 16 + h;
        }
        in->p += 4;
        c = v < 256 ? (char)v : '?';
        break;
      }
      default: c = e; break;
      }
    }
    if (len + 2 > cap) {
      cap *= 2;
      char *ns = realloc(s, cap);
      if (!ns)
        goto bad;
      s = ns;
    }
    s[len++] = c;
  }
  if (in->p >= in->end)
    goto bad;
  in->p++;
  s[len] = '\0';
  return s;
bad:
  free(s);
  return NULL;
}

static int
add_child(json_t *j, json_t *child, char *key)
{
  json_t **ni = realloc(j->items, (j->n + 1) * sizeof(*ni));
  if (!ni)
    return -1;
  j->items = ni;
  if (j->type == JSON_OBJECT) {
    char **nk = realloc(j->keys, (j->n + 1) * sizeof(*nk));
    if (!nk)
      return -1;
    j->keys = nk;
    j->keys[j->n] = key;
  }
  j->items[j->n++] = child;
  return 0;
}

static json_t *
parse_container(json_in_t *in, int depth, int is_obj)
{
  json_t *j = node_new(is_obj ? JSON_OBJECT : JSON_ARRAY);
  char close = is_obj ? '}' : ']';
  in->p++;
  skip_ws(in);
  if (in->p < in->end && *in->p == close) {
    in->p++;
    return j;
  }
  for (;;) {
    char *key = NULL;
    skip_ws(in);
    if (is_obj) {
      key = parse_string_raw(in);
      skip_ws(in);
      if (!key || in->p >= in->end || *in->p != ':') {
        free(key);
        goto bad;
      }
      in->p++;
    }
    json_t *child = parse_value(in, depth + 1);
    if (!child || add_child(j, child, key) < 0) {
      free(key);
      json_free(child);
      goto bad;
    }
    skip_ws(in);
    if (in->p < in->end && *in->p == ',') {
      in->p++;
      continue;
    }
    if (in->p < in->end && *in->p == close) {
      in->p++;
      return j;
    }
    goto bad;
  }
bad:
  json_free(j);
  return NULL;
}

static json_t *
parse_value(json_in_t *in, int depth)
{
  if (depth > 64)
    return NULL;
  skip_ws(in);
  if (in->p >= in->end)
    return NULL;
  char c = *in->p;
  if (c == '{' || c == '[')
    return parse_container(in, depth, c == '{');
  if (c == '"') {
    char *s = parse_string_raw(in);
    if (!s)
      return NULL;
    json_t *j = node_new(JSON_STRING);
    j->string = s;
    return j;
  }
  static const struct { const char *lit; json_type_t t; int b; } lits[] = {
    { "true", JSON_BOOL, 1 }, { "false", JSON_BOOL, 0 }, { "null", JSON_NULL, 0 },
  };
  for (size_t i = 0; i < 3; i++) {
    size_t l = strlen(lits[i].lit);
    if ((size_t)(in->end - in->p) >= l && !memcmp(in->p, lits[i].lit, l)) {
      in->p += l;
      json_t *j = node_new(lits[i].t);
      j->boolean = lits[i].b;
      return j;
    }
  }
  char buf[64];
  size_t n = 0;
  while (in->p < in->end && n < sizeof(buf) - 1 &&
         strchr("+-0123456789.eE", *in->p))
    buf[n++] = *in->p++;
  if (n == 0)
    return NULL;
  buf[n] = '\0';
  json_t *j = node_new(JSON_NUMBER);
  j->number = strtod(buf, NULL);
  return j;
}

json_t *
json_parse(const char *text, size_t len)
{
  json_in_t in = { text, text + len };
  json_t *j = parse_value(&in, 0);
  skip_ws(&in);
  if (j && in.p != in.end) {
    json_free(j);
    return NULL;
  }
  return j;
}

void
json_free(json_t *j)
{
  if (!j)
    return;
  for (size_t i = 0; i < j->n; i++) {
    json_free(j->items[i]);
    if (j->keys)
      free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  free(j->string);
  free(j);
}

const json_t *
json_get(const json_t *obj, const char *key)
{
  if (!obj || obj->type != JSON_OBJECT)
    return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (!strcmp(obj->keys[i], key))
      return obj->items[i];
  return NULL;
}

const char *
json_get_str(const json_t *obj, const char *key)
{
  const json_t *v = json_get(obj, key);
  return v && v->type == JSON_STRING ? v->string : NULL;
}

const json_t *
json_at(const json_t *arr, size_t i)
{
  if (!arr || (arr->type != JSON_ARRAY && arr->type != JSON_OBJECT) || i >= arr->n)
    return NULL;
  return arr->items[i];
}
