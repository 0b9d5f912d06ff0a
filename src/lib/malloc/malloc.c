/* malloc.c -- allocation wrappers that abort on out-of-memory, and memwipe().
 * See include/allium/lib/malloc/malloc.h. */
#include "allium/lib/malloc/malloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
al_oom(size_t n)
{
  /* No logging subsystem here: this layer sits below it. */
  fprintf(stderr, "allium: out of memory allocating %zu bytes; exiting\n", n);
  abort();
}

void *
al_malloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p)
    al_oom(n);
  return p;
}

void *
al_calloc(size_t nmemb, size_t size)
{
  if (size && nmemb > SIZE_MAX / size)
    al_oom(SIZE_MAX);
  void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
  if (!p)
    al_oom(nmemb * size);
  return p;
}

void *
al_realloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q)
    al_oom(n);
  return q;
}

void *
al_reallocarray(void *p, size_t nmemb, size_t size)
{
  if (size && nmemb > SIZE_MAX / size)
    al_oom(SIZE_MAX);
  return al_realloc(p, nmemb * size);
}

char *
al_strdup(const char *s)
{
  return al_memdup(s, strlen(s) + 1);
}

char *
al_strndup(const char *s, size_t n)
{
  size_t len = strnlen(s, n);
  char *r = al_malloc(len + 1);
  memcpy(r, s, len);
  r[len] = '\0';
  return r;
}

void *
al_memdup(const void *p, size_t n)
{
  void *r = al_malloc(n);
  if (n)
    memcpy(r, p, n);
  return r;
}

char *
al_asprintf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (len < 0)
    al_oom(0);
  char *r = al_malloc((size_t)len + 1);
  va_start(ap, fmt);
  vsnprintf(r, (size_t)len + 1, fmt, ap);
  va_end(ap);
  return r;
}

void
al_free_(void *p)
{
  free(p);
}

void
memwipe(void *p, size_t n)
{
  if (p && n)
    explicit_bzero(p, n);
}

void
al_free_secret_(void *p, size_t n)
{
  if (!p)
    return;
  memwipe(p, n);
  free(p);
}
