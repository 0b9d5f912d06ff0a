/* conf_case_runner.c -- golden configuration cases.
 *
 * Each folder tests/conf/<case>/ holds allium.conf and either "expected"
 * (exactly what options_dump() prints for the loaded configuration) or
 * "error" (a substring the load error must contain).  An optional "notice"
 * file holds a substring some logged message must contain.  The runner
 * changes into the case folder first, so relative %include paths work.
 * Usage: conf_case_runner [CASEDIR...]  (default: every case under
 * $ALLIUM_SRCDIR/tests/conf).
 */
#include "allium/app/config/options.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char logged[65536];

static void
capture(int severity, const char *module, const char *msg, void *arg)
{
  (void)severity;
  (void)arg;
  size_t l = strlen(logged);
  snprintf(logged + l, sizeof(logged) - l, "[%s] %s\n", module, msg);
}

/* Whole file as a string, NULL if absent; caller frees. */
static char *
slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = al_malloc(1024 * 1024 + 1);
  size_t n = fread(buf, 1, 1024 * 1024, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static void
chomp(char *s)
{
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = '\0';
}

/* Run one case; 0 on pass. */
static int
run_case(const char *dir)
{
  char cwd[4096];
  if (!getcwd(cwd, sizeof(cwd)) || chdir(dir) < 0) {
    printf("FAIL %s: cannot enter folder\n", dir);
    return 1;
  }
  char *text = slurp("allium.conf");
  char *expected = slurp("expected");
  char *error = slurp("error");
  char *notice = slurp("notice");
  int fail = 0;
  allium_options_t *o = NULL;
  char *err = NULL;
  logged[0] = '\0';
  if (!text || (!expected == !error)) {
    printf("FAIL %s: need allium.conf and one of expected/error\n", dir);
    fail = 1;
    goto done;
  }
  int r = options_load_from_string(text, &o, &err);
  if (error) {
    chomp(error);
    if (r == 0) {
      printf("FAIL %s: loaded, but expected error containing: %s\n", dir,
             error);
      fail = 1;
    } else if (!strstr(err, error)) {
      printf("FAIL %s: error\n  got:  %s\n  want: %s\n", dir, err, error);
      fail = 1;
    }
  } else if (r < 0) {
    printf("FAIL %s: unexpected error: %s\n", dir, err);
    fail = 1;
  } else {
    char *dump = options_dump(o);
    if (strcmp(dump, expected) != 0) {
      printf("FAIL %s: dump differs\n--- got:\n%s--- want:\n%s---\n", dir,
             dump, expected);
      fail = 1;
    }
    al_free(dump);
  }
  if (!fail && notice) {
    chomp(notice);
    if (!strstr(logged, notice)) {
      printf("FAIL %s: no log message contains: %s\nlogged:\n%s", dir,
             notice, logged);
      fail = 1;
    }
  }
 done:
  if (!fail)
    printf("PASS %s\n", dir);
  options_free(o);
  al_free(err);
  al_free(text);
  al_free(expected);
  al_free(error);
  al_free(notice);
  if (chdir(cwd) < 0)
    return 1;
  return fail;
}

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
  int failed = 0, total = 0;
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_INFO, SEV_ERR, NULL, capture, NULL);
  if (argc > 1) {
    for (int i = 1; i < argc; i++, total++)
      failed += run_case(argv[i]);
  } else {
    const char *src = getenv("ALLIUM_SRCDIR");
    char root[4096];
    snprintf(root, sizeof(root), "%s/tests/conf", src ? src : ".");
    DIR *d = opendir(root);
    if (!d) {
      printf("cannot open %s\n", root);
      return 1;
    }
    char *names[512];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 512) {
      char path[8192];
      struct stat st;
      snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
      if (de->d_name[0] != '.' && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        names[n++] = al_strdup(path);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++, total++) {
      failed += run_case(names[i]);
      al_free(names[i]);
    }
  }
  printf("%d of %d configuration cases passed\n", total - failed, total);
  return failed ? 1 : 0;
}
