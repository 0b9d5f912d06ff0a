/* malloc.h -- allocation that never returns NULL, and wiping frees.
 *
 * Every al_*alloc() either returns usable memory or aborts the process with
 * a message: allium never limps on after running out of memory.  al_free()
 * accepts NULL and sets the pointer to NULL.  memwipe() clears secrets in a
 * way the compiler may not optimise away.
 */
#ifndef ALLIUM_LIB_MALLOC_MALLOC_H
#define ALLIUM_LIB_MALLOC_MALLOC_H

#include <stddef.h>

/** Return n bytes of uninitialised memory (n == 0 is allowed); caller frees. */
void *al_malloc(size_t n);
/** Return nmemb*size zeroed bytes; aborts on overflow; caller frees. */
void *al_calloc(size_t nmemb, size_t size);
/** Resize p (which may be NULL) to n bytes; caller frees the result. */
void *al_realloc(void *p, size_t n);
/** Resize p to nmemb*size bytes, aborting on overflow. */
void *al_reallocarray(void *p, size_t nmemb, size_t size);
/** Copy of a NUL-terminated string; caller frees. */
char *al_strdup(const char *s);
/** Copy of at most n bytes of s, always NUL-terminated; caller frees. */
char *al_strndup(const char *s, size_t n);
/** Copy of n bytes; caller frees. */
void *al_memdup(const void *p, size_t n);
/** printf into a new string; caller frees.  Aborts on failure. */
char *al_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Release p (NULL is fine). Prefer the al_free() macro. */
void al_free_(void *p);
#define al_free(p) do { al_free_(p); (p) = NULL; } while (0)

/** Overwrite n bytes at p with zeros in a way that is not optimised out. */
void memwipe(void *p, size_t n);

/** Wipe n bytes, then free; NULL is fine. Prefer the al_free_secret() macro. */
void al_free_secret_(void *p, size_t n);
#define al_free_secret(p, n) do { al_free_secret_((p), (n)); (p) = NULL; } while (0)

#endif
