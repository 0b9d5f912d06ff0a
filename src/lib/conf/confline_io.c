/* confline_io.c -- the file-reading side of the torrc parser: read a file,
 * and resolve "%include PATH" (a file, or every non-dot file of a folder
 * in sorted order) with a depth limit and loop protection, as tor(1)
 * documents for %include (also with a glob pattern).  The text itself is parsed by confline.c.
 */
#include "allium/lib/conf/confline.h"

#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/** Total bytes all files of one top-level parse may add up to. */
#define CONFLINE_MAX_TOTAL (16 * 1024 * 1024)

/* State shared along one chain of includes. */
typedef struct include_ctx_t {
  char *stack[CONFLINE_MAX_INCLUDE_DEPTH + 2]; /* realpaths being read */
  int n_stack;
  size_t total_bytes;
  size_t total_lines;
} include_ctx_t;

static int expand(config_line_t **lines, int depth, const char *base,
                  include_ctx_t *ctx, char **errmsg);

/* Read a character device or FIFO (/dev/null, a pipe from a shell) to EOF:
 * tor users pass those as -f or --defaults-torrc.  0 or an FS_ERR_* code. */
static int
read_stream_file(const char *path, char **out, size_t *outlen)
{
  struct stat st;
  if (stat(path, &st) < 0)
    return FS_ERR_IO;
  if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
    return FS_ERR_NOTFILE;
  FILE *f = fopen(path, "rb");
  if (!f)
    return FS_ERR_IO;
  char *buf = al_malloc(CONFLINE_MAX_TEXT + 1);
  size_t n = fread(buf, 1, CONFLINE_MAX_TEXT + 1, f);
  int bad = ferror(f);
  fclose(f);
  if (bad || n > CONFLINE_MAX_TEXT) {
    al_free(buf);
    return bad ? FS_ERR_IO : FS_ERR_TOOBIG;
  }
  buf[n] = '\0';
  *out = buf;
  *outlen = n;
  return 0;
}

/* Read a whole file into a heap buffer.  0, -1 (error), -2 (missing). */
static int
read_whole_file(const char *path, char **out, size_t *outlen, char **errmsg)
{
  int r = fs_read_file(path, out, outlen, CONFLINE_MAX_TEXT);
  if (r == FS_ERR_NOTFILE)
    r = read_stream_file(path, out, outlen);
  if (r == 0)
    return 0;
  al_free(*errmsg);
  if (r == FS_ERR_TOOBIG)
    *errmsg = al_asprintf("Configuration file '%s' is larger than %d bytes",
                          path, CONFLINE_MAX_TEXT);
  else if (r == FS_ERR_IO || r == FS_ERR_NOENT)
    *errmsg = al_asprintf("Cannot open configuration file '%s': %s", path,
                          strerror(errno));
  else
    *errmsg = al_asprintf("Cannot read configuration file '%s': %s", path,
                          fs_strerror(r));
  return r == FS_ERR_NOENT ? -2 : -1;
}

/* Parse one file (no include resolution).  Same returns as above. */
static int
parse_one_file(const char *path, include_ctx_t *ctx, config_line_t **out,
               char **errmsg)
{
  char *text = NULL;
  size_t len = 0;
  int r = read_whole_file(path, &text, &len, errmsg);
  if (r < 0)
    return r;
  ctx->total_bytes += len;
  if (ctx->total_bytes > CONFLINE_MAX_TOTAL) {
    al_free(text);
    al_free(*errmsg);
    *errmsg = al_asprintf("%s: included files add up to more than %d bytes",
                          path, CONFLINE_MAX_TOTAL);
    return -1;
  }
  r = confline_parse_text(text, len, path, out, errmsg);
  al_free(text);
  return r;
}

/* Parse path and its includes at depth, guarding against loops. */
static int
include_file(const char *path, int depth, include_ctx_t *ctx,
             config_line_t **out, char **errmsg)
{
  *out = NULL;
  char *real = realpath(path, NULL);
  if (!real) {
    int e = errno;
    al_free(*errmsg);
    *errmsg = al_asprintf("Cannot open configuration file '%s': %s", path,
                          strerror(e));
    return e == ENOENT ? -2 : -1;
  }
  for (int i = 0; i < ctx->n_stack; i++) {
    if (!strcmp(ctx->stack[i], real)) {
      al_free(*errmsg);
      *errmsg = al_asprintf("%%include loop: '%s' includes itself", path);
      free(real);
      return -1;
    }
  }
  ctx->stack[ctx->n_stack++] = real;
  int r = parse_one_file(path, ctx, out, errmsg);
  if (r == 0) {
    char *base = fs_dirname(path);
    r = expand(out, depth, base, ctx, errmsg);
    al_free(base);
  }
  if (r < 0)
    confline_free(*out);
  free(ctx->stack[--ctx->n_stack]);
  return r;
}

static int
cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted regular, non-dot file names of folder dir (caller frees). */
static int
list_folder(const char *dir, char ***names_out, size_t *n_out, char **errmsg)
{
  DIR *d = opendir(dir);
  if (!d) {
    al_free(*errmsg);
    *errmsg = al_asprintf("Cannot open configuration folder '%s': %s", dir,
                          strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    if (n >= CONFLINE_MAX_FOLDER_FILES) {
      al_free(*errmsg);
      *errmsg = al_asprintf("Configuration folder '%s' holds more than %d "
                            "files", dir, CONFLINE_MAX_FOLDER_FILES);
      for (size_t i = 0; i < n; i++)
        al_free(names[i]);
      al_free(names);
      closedir(d);
      return -1;
    }
    names = al_reallocarray(names, n + 1, sizeof(char *));
    names[n++] = al_asprintf("%s/%s", dir, de->d_name);
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof(char *), cmp_names);
  *names_out = names;
  *n_out = n;
  return 0;
}

/* Lines of one file or folder named by a %include, at depth. */
static int
include_one(const config_line_t *inc, const char *path, int depth,
            include_ctx_t *ctx, config_line_t **out, char **errmsg)
{
  struct stat st;
  *out = NULL;
  if (stat(path, &st) < 0) {
    al_free(*errmsg);
    *errmsg = al_asprintf("%s:%d: %%include: cannot open '%s': %s",
                          inc->source, inc->lineno, inc->value,
                          strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    int r = include_file(path, depth, ctx, out, errmsg);
    return r < 0 ? -1 : 0;
  }
  char **names = NULL;
  size_t n = 0;
  if (list_folder(path, &names, &n, errmsg) < 0)
    return -1;
  int r = 0;
  config_line_t **tail = out;
  for (size_t i = 0; i < n; i++) {
    if (r == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (include_file(names[i], depth, ctx, tail, errmsg) < 0)
        r = -1;
      while (*tail)
        tail = &(*tail)->next;
    }
    al_free(names[i]);
  }
  al_free(names);
  if (r < 0)
    confline_free(*out);
  return r;
}

/* Lines of what one %include names: a file, a folder, or a glob pattern
 * ("*", "?", "[...]") whose matches (sorted, dot names skipped) are each a
 * file or folder.  A pattern that matches nothing includes nothing. */
static int
include_path(const config_line_t *inc, const char *path, int depth,
             include_ctx_t *ctx, config_line_t **out, char **errmsg)
{
  *out = NULL;
  if (!strpbrk(path, "*?["))
    return include_one(inc, path, depth, ctx, out, errmsg);
  glob_t g;
  memset(&g, 0, sizeof(g));
  int gr = glob(path, 0, NULL, &g);
  if (gr != 0 && gr != GLOB_NOMATCH) {
    globfree(&g);
    al_free(*errmsg);
    *errmsg = al_asprintf("%s:%d: %%include: cannot expand '%s'",
                          inc->source, inc->lineno, inc->value);
    return -1;
  }
  if (g.gl_pathc > CONFLINE_MAX_FOLDER_FILES) {
    globfree(&g);
    al_free(*errmsg);
    *errmsg = al_asprintf("%s:%d: %%include: '%s' matches more than %d "
                          "files", inc->source, inc->lineno, inc->value,
                          CONFLINE_MAX_FOLDER_FILES);
    return -1;
  }
  config_line_t **tail = out;
  int r = 0;
  for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
    const char *slash = strrchr(g.gl_pathv[i], '/');
    if ((slash ? slash[1] : g.gl_pathv[i][0]) == '.')
      continue;
    r = include_one(inc, g.gl_pathv[i], depth, ctx, tail, errmsg);
    while (*tail)
      tail = &(*tail)->next;
  }
  globfree(&g);
  if (r < 0)
    confline_free(*out);
  return r;
}

/* Replace the %include lines of *lines (read from a file in folder base,
 * or from text when base is NULL: relative to the working directory). */
static int
expand(config_line_t **lines, int depth, const char *base,
       include_ctx_t *ctx, char **errmsg)
{
  config_line_t **pp = lines;
  while (*pp) {
    config_line_t *ln = *pp;
    if (strcmp(ln->key, "%include") != 0) {
      if (++ctx->total_lines > CONFLINE_MAX_LINES) {
        al_free(*errmsg);
        *errmsg = al_asprintf("%s:%d: more than %d configuration lines",
                              ln->source, ln->lineno, CONFLINE_MAX_LINES);
        return -1;
      }
      pp = &ln->next;
      continue;
    }
    if (ln->value[0] == '\0') {
      al_free(*errmsg);
      *errmsg = al_asprintf("%s:%d: %%include needs a path", ln->source,
                            ln->lineno);
      return -1;
    }
    if (depth + 1 > CONFLINE_MAX_INCLUDE_DEPTH) {
      al_free(*errmsg);
      *errmsg = al_asprintf("%s:%d: %%include nested more than %d levels "
                            "deep", ln->source, ln->lineno,
                            CONFLINE_MAX_INCLUDE_DEPTH);
      return -1;
    }
    config_line_t *sub = NULL;
    char *path = (base && ln->value[0] != '/')
      ? al_asprintf("%s/%s", base, ln->value) : al_strdup(ln->value);
    /* The included lines are counted when expand() walks them. */
    int r = include_path(ln, path, depth + 1, ctx, &sub, errmsg);
    al_free(path);
    if (r < 0)
      return -1;
    config_line_t *next = ln->next;
    ln->next = NULL;
    confline_free(ln);
    *pp = sub;
    while (*pp)
      pp = &(*pp)->next;
    *pp = next;
  }
  return 0;
}

int
confline_expand_includes(config_line_t **lines, int depth, char **errmsg)
{
  include_ctx_t ctx;
  memset(&ctx, 0, sizeof(ctx));
  return expand(lines, depth, NULL, &ctx, errmsg);
}

int
confline_parse_file(const char *path, config_line_t **out, char **errmsg)
{
  include_ctx_t ctx;
  memset(&ctx, 0, sizeof(ctx));
  return include_file(path, 0, &ctx, out, errmsg);
}

int
confline_parse_string(const char *text, const char *source,
                      config_line_t **out, char **errmsg)
{
  size_t len = text ? strnlen(text, CONFLINE_MAX_TEXT + 1) : 0;
  if (confline_parse_text(text, len, source, out, errmsg) < 0)
    return -1;
  if (confline_expand_includes(out, 0, errmsg) < 0) {
    confline_free(*out);
    return -1;
  }
  return 0;
}
