/* vectors.c -- load and decode known-answer vector files for unit tests. */
#include "helpers/vectors.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
vectors_dir(void)
{
  const char *d = getenv("ALLIUM_TESTVECTORS");
  return (d && *d) ? d : ALLIUM_TESTVECTORS_DIR;
}

char *
vectors_read_file(const char *path, size_t *len_out)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  size_t r;
  while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
    len += r;
    if (len == cap) {
      cap *= 2;
      char *nb = realloc(buf, cap + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
      }
      buf = nb;
    }
  }
  fclose(f);
  if (!buf)
    return NULL;
  buf[len] = '\0';
  if (len_out)
    *len_out = len;
  return buf;
}

json_t *
vectors_load(const char *filename)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", vectors_dir(), filename);
  size_t len = 0;
  char *text = vectors_read_file(path, &len);
  cr_assert_not_null(text, "cannot read vector file %s (set ALLIUM_TESTVECTORS)", path);
  json_t *j = json_parse(text, len);
  free(text);
  cr_assert_not_null(j, "vector file %s is not valid JSON", path);
  return j;
}

static int
hexdig(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t
vectors_hex(const json_t *obj, const char *key, uint8_t **out)
{
  const char *s = json_get_str(obj, key);
  cr_assert_not_null(s, "vector has no string field '%s'", key);
  size_t n = strlen(s);
  cr_assert(n % 2 == 0, "field '%s' has odd hex length", key);
  uint8_t *b = malloc(n / 2 + 1);
  cr_assert_not_null(b);
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexdig(s[2 * i]), lo = hexdig(s[2 * i + 1]);
    cr_assert(hi >= 0 && lo >= 0, "field '%s' is not hex", key);
    b[i] = (uint8_t)(hi * 16 + lo);
  }
  *out = b;
  return n / 2;
}

void
vectors_hex_fixed(const json_t *obj, const char *key, uint8_t *out, size_t len)
{
  uint8_t *b = NULL;
  size_t n = vectors_hex(obj, key, &b);
  cr_assert_eq(n, len, "field '%s' has %zu bytes, expected %zu", key, n, len);
  memcpy(out, b, len);
  free(b);
}

void
vectors_check_hex(const json_t *obj, const char *key, const uint8_t *got, size_t len)
{
  uint8_t *want = NULL;
  size_t n = vectors_hex(obj, key, &want);
  cr_assert_eq(n, len, "field %s: %zu bytes, expected %zu", key, n, len);
  cr_assert_arr_eq(got, want, len, "field %s differs", key);
  free(want);
}

size_t
test_unhex(const char *hex, uint8_t *out, size_t outlen)
{
  size_t n = strlen(hex);
  cr_assert(n % 2 == 0, "odd-length hex literal");
  cr_assert_leq(n / 2, outlen, "hex literal longer than its buffer");
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexdig(hex[2 * i]), lo = hexdig(hex[2 * i + 1]);
    cr_assert(hi >= 0 && lo >= 0, "bad hex literal");
    out[i] = (uint8_t)(hi * 16 + lo);
  }
  return n / 2;
}

void
test_expect_hex(const uint8_t *got, size_t len, const char *hex)
{
  uint8_t want[1024];
  cr_assert_eq(test_unhex(hex, want, sizeof(want)), len, "expected length differs");
  cr_assert_arr_eq(got, want, len, "bytes differ from %s", hex);
}
