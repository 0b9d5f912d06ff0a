/* json.h -- a small JSON reader for the known-answer vector files.
 * Test-only: it trusts nothing but aborts the test on malformed input. */
#ifndef ALLIUM_TESTS_JSON_H
#define ALLIUM_TESTS_JSON_H

#include <stddef.h>

typedef enum json_type_t {
  JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT,
} json_type_t;

typedef struct json_t json_t;
struct json_t {
  json_type_t type;
  int boolean;
  double number;
  char *string;          /* JSON_STRING: decoded, NUL-terminated */
  size_t n;              /* ARRAY/OBJECT: number of children */
  json_t **items;        /* ARRAY/OBJECT children */
  char **keys;           /* OBJECT: keys, parallel to items */
};

/** Parse text; NULL on a syntax error. Caller frees with json_free(). */
json_t *json_parse(const char *text, size_t len);
void json_free(json_t *j);
/** Child of an object by key, or NULL. */
const json_t *json_get(const json_t *obj, const char *key);
/** String child by key, or NULL if absent or not a string. */
const char *json_get_str(const json_t *obj, const char *key);
/** Element i of an array, or NULL. */
const json_t *json_at(const json_t *arr, size_t i);

#endif
