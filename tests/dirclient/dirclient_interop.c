/* dirclient_interop.c -- fetch directory documents from a real tor directory
 * authority's DirPort on 127.0.0.1 with allium's request encoder
 * (dir_http_request_encode), path builder (dir_url.h) and sans-IO response
 * parser (dir-spec.txt sections 4.3, 6 and appendix B).  Test-only code: a
 * blocking TCP client, loopback only.  Run by tests/dirclient/run-dirclient-interop.
 *
 * Usage: dirclient-interop DIRPORT     (exit 0: all checks passed)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "allium/feature/dirclient/dir_http.h"
#include "allium/feature/dirclient/dir_url.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

static int port;

/* GET path; returns the finished parser or NULL (message printed). */
static dir_http_parser_t *
fetch(const char *path, const dir_http_request_opts_t *o, dir_doc_kind_t kind)
{
  size_t rlen;
  char *req = dir_http_request_encode(path, o, &rlen);
  if (!req)
    return NULL;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = { .tv_sec = 10 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      write(fd, req, rlen) != (ssize_t)rlen) {
    fprintf(stderr, "FAIL %s: connect/write\n", path);
    if (fd >= 0)
      close(fd);
    al_free(req);
    return NULL;
  }
  al_free(req);
  dir_http_limits_t lim;
  dir_http_limits_for_kind(kind, &lim);
  size_t pl = strlen(path);
  dir_http_parser_t *p = dir_http_parser_new(&lim, pl > 2 && !strcmp(path + pl - 2, ".z"));
  int r = DIR_HTTP_NEED_MORE;
  uint8_t buf[997]; /* odd size: exercise chunk boundaries */
  while (r != DIR_HTTP_ERROR) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      fprintf(stderr, "FAIL %s: read\n", path);
      r = DIR_HTTP_ERROR;
      break;
    }
    if (n == 0) {
      r = dir_http_parser_eof(p);
      break;
    }
    r = dir_http_parser_feed(p, buf, (size_t)n);
  }
  close(fd);
  if (r != DIR_HTTP_DONE) {
    fprintf(stderr, "FAIL %s: %s\n", path,
            dir_http_parser_error(p) ? dir_http_parser_error(p) : "?");
    dir_http_parser_free(p);
    return NULL;
  }
  return p;
}

static int
expect(const char *path, const dir_http_request_opts_t *o, dir_doc_kind_t kind,
       int status, const char *prefix, dir_http_parser_t **keep)
{
  dir_http_parser_t *p = fetch(path, o, kind);
  if (!p)
    return 1;
  const dir_http_response_t *r = dir_http_parser_response(p);
  int bad = r->status != status ||
            strncmp((const char *)r->body, prefix, strlen(prefix)) != 0;
  printf("%s %s: %d, %s, %zu -> %zu bytes\n", bad ? "FAIL" : "ok", path,
         r->status, compress_method_name(r->encoding), r->raw_body_len,
         r->body_len);
  if (keep && !bad)
    *keep = p;
  else
    dir_http_parser_free(p);
  return bad;
}

int
main(int argc, char **argv)
{
  if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
    fprintf(stderr, "usage: %s DIRPORT\n", argv[0]);
    return 2;
  }
  int fails = 0;
  char host[32];
  snprintf(host, sizeof(host), "127.0.0.1:%d", port);
  dir_http_request_opts_t all = { .host = host,
                                  .accept_encoding = DIR_HTTP_ACCEPT_ALL };
  dir_http_request_opts_t bare = { .host = host };
  char *u = dir_url_consensus(NULL, NULL, 0, 0, true);
  fails += expect(u, &all, DIR_DOC_CONSENSUS, 200, "network-status-version 3\n", NULL);
  dir_http_request_opts_t ims = all;
  ims.if_modified_since = 4102444800; /* 2100: nothing is newer */
  fails += expect(u, &ims, DIR_DOC_CONSENSUS, 304, "", NULL);
  al_free(u);
  u = dir_url_keys_all(true);
  fails += expect(u, &bare, DIR_DOC_KEY_CERTS, 200, "dir-key-certificate-version 3\n", NULL);
  al_free(u);
  u = dir_url_keys_all(false);
  fails += expect(u, &bare, DIR_DOC_KEY_CERTS, 200, "dir-key-certificate-version 3\n", NULL);
  al_free(u);
  /* Microdescriptor consensus, then the microdescriptors it lists. */
  dir_http_parser_t *mc = NULL;
  u = dir_url_consensus("microdesc", NULL, 0, 0, true);
  fails += expect(u, &all, DIR_DOC_CONSENSUS, 200,
                  "network-status-version 3 microdesc\n", &mc);
  al_free(u);
  if (mc) {
    const char *body = (const char *)dir_http_parser_response(mc)->body;
    size_t n = 0;
    uint8_t (*d)[32] = NULL;
    for (const char *s = body; (s = strstr(s, "\nm ")); s++) {
      d = al_reallocarray(d, n + 1, 32);
      if (base64_decode(d[n], 32, s + 3, 43) == 32)
        n++;
    }
    dir_url_list_t l = { 0 };
    if (n == 0 || dir_url_microdescs(&l, (const uint8_t (*)[32])d, n, true) < 0) {
      printf("FAIL: no microdescriptor digests\n");
      fails++;
    }
    for (size_t i = 0; i < l.n; i++) {
      dir_http_parser_t *mp = NULL;
      fails += expect(l.paths[i], &all, DIR_DOC_MICRODESCS, 200, "onion-key\n", &mp);
      size_t got = 0;
      if (mp) {
        for (const char *s = (const char *)dir_http_parser_response(mp)->body;
             (s = strstr(s, "onion-key\n")); s++)
          got++;
        dir_http_parser_free(mp);
      }
      if (got != n) {
        printf("FAIL: %zu microdescriptors for %zu digests\n", got, n);
        fails++;
      }
    }
    dir_url_list_clear(&l);
    al_free(d);
    dir_http_parser_free(mc);
  }
  /* A descriptor nobody has: 404, "try another cache". */
  uint8_t zero[1][20] = { { 0 } };
  dir_url_list_t l = { 0 };
  dir_url_server_d(&l, (const uint8_t (*)[20])zero, 1, true);
  dir_http_parser_t *p = fetch(l.paths[0], &all, DIR_DOC_SERVER_DESCS);
  int st = p ? dir_http_parser_response(p)->status : 0;
  printf("%s %s: %d (%s)\n", st == 404 ? "ok" : "FAIL", l.paths[0], st,
         dir_http_status_action_name(dir_http_status_action(st)));
  fails += st != 404;
  dir_http_parser_free(p);
  dir_url_list_clear(&l);
  printf("%s: %d failure(s)\n", fails ? "FAIL" : "PASS", fails);
  return fails ? 1 : 0;
}
