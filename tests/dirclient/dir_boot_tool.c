/* dir_boot_tool.c -- run allium's directory bootstrap (dir_boot.h,
 * dir-spec 5) against real tor authorities on loopback until it has enough
 * directory information, with a disk cache.  Test-only code, run by
 * tests/integration/allium-dirboot.
 *
 *   dir-boot-tool [--micro] [--timeout S] [--stay S] CACHE_DIR
 *                 "DIRAUTHORITY VALUE"...
 *
 * --stay S keeps running S seconds after reaching enough (to see the
 * consensus refresh); --timeout S gives up after S seconds in all.
 * Prints the log at notice on stdout, then "enough: N routers, K
 * descriptors" and "consensus downloads: D" (consensuses accepted from the
 * network).  Exits 0 when enough was reached, 1 otherwise.  Every
 * authority address must be on 127.0.0.0/8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <event2/event.h>

#define LOG_MODULE "dirboottool"
#include "allium/feature/dirclient/dir_boot.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_AUTH 16

typedef struct tool_t {
  struct event_base *base;
  struct event *grace;
  bool enough;
  int downloads;
  int stay;                  /* --stay: seconds to keep running */
  struct timeval t0;
} tool_t;

static void
on_log(int sev, const char *module, const char *msg, void *arg)
{
  tool_t *t = arg;
  struct timeval now;
  if (sev < SEV_NOTICE && strcmp(module, "dirboot"))
    return;   /* info: only the bootstrap's own lines */
  if (strstr(msg, "Loaded a consensus from an authority"))
    t->downloads++;
  gettimeofday(&now, NULL);
  printf("[%.1fs] [%s] %s: %s\n",
         (double)(now.tv_sec - t->t0.tv_sec) +
         (double)(now.tv_usec - t->t0.tv_usec) / 1e6,
         log_severity_name(sev), module, msg);
  fflush(stdout);
}

static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  event_base_loopbreak(((tool_t *)arg)->base);
}

static void
on_dirinfo(nodelist_t *nl, bool enough, void *arg)
{
  tool_t *t = arg;
  if (!enough)
    return;
  if (!t->enough) {
    /* Give the other batches a few seconds to complete. */
    struct timeval tv = { t->stay ? t->stay : 5, 0 };
    t->enough = true;
    evtimer_add(t->grace, &tv);
  }
  if (!t->stay && nodelist_descriptor_fraction(nl) >= 1.0)
    event_base_loopbreak(t->base);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  event_base_loopbreak(((tool_t *)arg)->base);
}

static int
parse_auths(int argc, char **argv, int i, dir_authority_t *auths, size_t *n)
{
  *n = 0;
  for (; i < argc; i++) {
    char *err = NULL;
    if (*n >= MAX_AUTH ||
        dir_authority_parse(argv[i], &auths[*n], &err) < 0) {
      fprintf(stderr, "bad DirAuthority \"%s\": %s\n", argv[i],
              err ? err : "too many");
      al_free(err);
      return -1;
    }
    if (auths[*n].ipv4[0] != 127) {
      fprintf(stderr, "refusing a non-loopback authority\n");
      return -1;
    }
    (*n)++;
  }
  return *n ? 0 : -1;
}

int
main(int argc, char **argv)
{
  static dir_authority_t auths[MAX_AUTH];
  size_t n_auths;
  bool micro = false;
  int timeout = 120, i = 1;
  tool_t t;
  memset(&t, 0, sizeof(t));
  for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
    if (!strcmp(argv[i], "--micro"))
      micro = true;
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
      timeout = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--stay") && i + 1 < argc)
      t.stay = atoi(argv[++i]);
    else
      break;
  }
  if (i >= argc || parse_auths(argc, argv, i + 1, auths, &n_auths) < 0) {
    fprintf(stderr, "usage: %s [--micro] [--timeout S] [--stay S] CACHE_DIR "
            "\"DIRAUTHORITY\"...\n", argv[0]);
    return 2;
  }
  const char *cache = argv[i];
  mkdir(cache, 0700);
  if (crypto_global_init() < 0)
    return 1;
  log_sinks_clear();
  gettimeofday(&t.t0, NULL);
  log_sink_add(LOG_SINK_CALLBACK, log_severity_parse("info"),
               log_severity_parse("err"), NULL, on_log, &t);
  t.base = event_base_new();
  tls_context_t *tls = tls_context_new_client();
  nodelist_t *nl = nodelist_new();
  t.grace = evtimer_new(t.base, on_grace, &t);
  struct event *to = evtimer_new(t.base, on_timeout, &t);
  struct timeval tv = { timeout, 0 };
  evtimer_add(to, &tv);
  dir_boot_cfg_t cfg = { .base = t.base, .tls = tls, .auths = auths,
                         .n_auths = n_auths, .use_microdescs = micro,
                         .cache_dir = cache };
  dir_boot_cbs_t cbs = { on_dirinfo, &t };
  dir_boot_t *b = tls ? dir_boot_new(&cfg, nl, &cbs) : NULL;
  int rc = 1;
  if (b && dir_boot_start(b) == 0) {
    if (t.stay || !(t.enough && nodelist_descriptor_fraction(nl) >= 1.0))
      event_base_dispatch(t.base);
    const consensus_t *c = nodelist_get_consensus(nl);
    size_t n = c ? c->n_routers : 0;
    size_t k = (size_t)(nodelist_descriptor_fraction(nl) * (double)n + 0.5);
    if (dir_boot_have_enough(b)) {
      printf("enough: %zu routers, %zu descriptors\n", n, k);
      rc = 0;
    } else {
      printf("FAIL: not enough directory info (%zu routers, %zu "
             "descriptors)\n", n, k);
    }
  } else {
    printf("FAIL: cannot start the bootstrap\n");
  }
  dir_boot_free(b);
  printf("consensus downloads: %d\n", t.downloads);
  nodelist_free(nl);
  event_free(to);
  event_free(t.grace);
  tls_context_free(tls);
  event_base_free(t.base);
  log_sinks_reset_default();
  return rc;
}
