/* dircache_tool.c -- drive src/feature/dircache from the command line, for
 * the interop scenario tests/integration/allium-dircache (dir-spec 4, 6,
 * 4.5).  Test-only code; no network I/O at all.
 *
 *   dircache-tool get DATADIR OUTDIR PATH...
 *       Load a DataDirectory (tor's cache file names) into a directory
 *       cache and answer "GET PATH" for each PATH (the i-th with
 *       Accept-Encoding deflate, gzip, identity, x-zstd or x-tor-lzma in
 *       turn), reading each
 *       answer back with the directory client's response parser: prints
 *       "PATH STATUS ENCODING BYTES" and writes the decompressed body to
 *       OUTDIR/<i>.
 *   dircache-tool diff OLD NEW OUT
 *       Feed two consensus files (same flavour, OLD older) to an empty cache
 *       and ask for the current consensus with X-Or-Diff-From-Consensus
 *       naming OLD; write the diff served to OUT (exit 1 if a full consensus
 *       came instead).
 *   dircache-tool apply BASE DIFF OUT
 *       Apply a consensus diff (ours or tor's) with consdiff_apply().
 *   dircache-tool decode METHOD IN OUT
 *       Decompress IN (e.g. a tor cache's raw x-tor-lzma answer) with
 *       src/lib/compress's decoder for METHOD (a dir-spec 6.1 name, or
 *       "auto") and write the result to OUT; prints the method used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allium/feature/dircache/consdiff.h"
#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/lib/compress/compress.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

static int
write_out(const char *path, const void *p, size_t len)
{
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, len, f) != len) {
    fprintf(stderr, "cannot write %s\n", path);
    if (f)
      fclose(f);
    return -1;
  }
  return fclose(f) == 0 ? 0 : -1;
}

/* Answer req; read the reply back.  Returns the status, or -1. */
static int
ask(dircache_t *dc, const char *req, uint8_t **body, size_t *blen,
    compress_method_t *enc, bool *is_diff)
{
  dircache_reply_t r;
  if (dircache_handle_request(dc, (const uint8_t *)req, strlen(req),
                              time(NULL), "127.0.0.1", &r) != 0)
    return -1;
  dir_http_limits_t lim;
  dir_http_limits_for_kind(DIR_DOC_SERVER_ALL, &lim);
  dir_http_parser_t *p = dir_http_parser_new(&lim, false);
  int rc = dir_http_parser_feed(p, r.data, r.len);
  if (rc == DIR_HTTP_NEED_MORE)
    rc = dir_http_parser_eof(p);
  int status = -1;
  if (rc == DIR_HTTP_DONE) {
    status = dir_http_parser_response(p)->status;
    *enc = dir_http_parser_response(p)->encoding;
    *body = dir_http_parser_take_body(p, blen);
  } else {
    fprintf(stderr, "reply does not parse: %s\n", dir_http_parser_error(p));
  }
  if (is_diff)
    *is_diff = r.is_diff;
  dir_http_parser_free(p);
  dircache_reply_clear(&r);
  return status;
}

static int
cmd_get(int argc, char **argv)
{
  static const char *const accept[] = { "deflate", "gzip", "identity",
                                        "x-zstd", "x-tor-lzma" };
  dircache_t *dc = dircache_new(argv[2], time(NULL));
  int ret = 0;
  for (int i = 4; i < argc; i++) {
    char *req = al_asprintf("GET %s HTTP/1.0\r\nAccept-Encoding: %s\r\n\r\n",
                            argv[i], accept[(i - 4) % 5]);
    uint8_t *body = NULL;
    size_t blen = 0;
    compress_method_t enc = COMPRESS_IDENTITY;
    int st = ask(dc, req, &body, &blen, &enc, NULL);
    printf("%s %d %s %zu\n", argv[i], st, compress_method_name(enc), blen);
    char *out = al_asprintf("%s/%d", argv[3], i - 4);
    if (st < 0 || write_out(out, body ? (void *)body : "", blen) < 0)
      ret = 1;
    al_free(out);
    al_free(body);
    al_free(req);
  }
  dircache_log_stats(dc);
  dircache_stats_t s;
  dircache_get_stats(dc, &s);
  printf("served %llu requests: %llu ok, %llu not found, %llu bytes\n",
         (unsigned long long)(s.status_200 + s.status_304 + s.status_400 +
                              s.status_404 + s.status_503),
         (unsigned long long)s.status_200, (unsigned long long)s.status_404,
         (unsigned long long)s.bytes_out);
  dircache_free(dc);
  return ret;
}

static char *
read_all(const char *path, size_t *len)
{
  char *s = NULL;
  if (fs_read_file(path, &s, len, 256u << 20) < 0) {
    fprintf(stderr, "cannot read %s\n", path);
    return NULL;
  }
  return s;
}

static int
cmd_diff(char **argv)
{
  size_t ol, nl;
  char *o = read_all(argv[2], &ol), *n = read_all(argv[3], &nl);
  int ret = 1;
  dircache_t *dc = dircache_new(NULL, time(NULL));
  uint8_t d[32];
  char hex[65];
  if (!o || !n || dircache_add_consensus(dc, o, ol, time(NULL)) < 0 ||
      consdiff_digest_as_signed(o, ol, d) < 0 ||
      dircache_add_consensus(dc, n, nl, time(NULL)) < 0) {
    fprintf(stderr, "cannot load the consensuses (newer second?)\n");
    goto done;
  }
  base16_encode(hex, sizeof(hex), d, 32);
  bool md = strstr(n, "\nnetwork-status-version 3 microdesc") ||
            !strncmp(n, "network-status-version 3 microdesc", 34);
  char *req = al_asprintf("GET /tor/status-vote/current/consensus%s.z "
                          "HTTP/1.0\r\nX-Or-Diff-From-Consensus: %s\r\n\r\n",
                          md ? "-microdesc" : "", hex);
  uint8_t *body = NULL;
  size_t blen = 0;
  compress_method_t enc;
  bool is_diff = false;
  int st = ask(dc, req, &body, &blen, &enc, &is_diff);
  printf("diff request: %d, %s, %zu bytes (consensus %zu bytes)\n", st,
         is_diff ? "a diff" : "NOT a diff", blen, nl);
  if (st == 200 && is_diff && write_out(argv[4], body, blen) == 0)
    ret = 0;
  al_free(body);
  al_free(req);
done:
  dircache_free(dc);
  al_free(o);
  al_free(n);
  return ret;
}

static int
cmd_apply(char **argv)
{
  size_t bl, dl, rl;
  char *b = read_all(argv[2], &bl), *d = read_all(argv[3], &dl), *r = NULL;
  int ret = 1;
  if (b && d) {
    int e = consdiff_apply(b, bl, d, dl, &r, &rl);
    if (e == 0)
      ret = write_out(argv[4], r, rl) == 0 ? 0 : 1;
    else
      fprintf(stderr, "apply: %s\n", consdiff_strerror(e));
  }
  al_free(b);
  al_free(d);
  al_free(r);
  return ret;
}

static int
cmd_decode(char **argv)
{
  int m = strcmp(argv[2], "auto") ? compress_method_parse(argv[2],
                                                         strlen(argv[2]))
                                  : (int)COMPRESS_AUTO;
  size_t il, ol;
  char *in = read_all(argv[3], &il);
  uint8_t *o = NULL;
  int ret = 1;
  if (m < 0 || !in) {
    fprintf(stderr, "decode: bad method or input\n");
  } else {
    compress_decoder_t *d = compress_decoder_new((compress_method_t)m, NULL);
    int e = d ? compress_decoder_feed(d, (const uint8_t *)in, il) : -1;
    if (e == 0)
      e = compress_decoder_finish(d);
    if (e == 0) {
      o = compress_decoder_take_output(d, &ol);
      printf("decoded %zu -> %zu bytes as %s\n", il, ol,
             compress_method_name(compress_decoder_method(d)));
      ret = write_out(argv[4], o, ol) == 0 ? 0 : 1;
    } else {
      fprintf(stderr, "decode: %s\n", compress_strerror(e));
    }
    compress_decoder_free(d);
  }
  al_free(in);
  al_free(o);
  return ret;
}

int
main(int argc, char **argv)
{
  if (crypto_global_init() < 0)
    return 2;
  if (argc >= 5 && !strcmp(argv[1], "get"))
    return cmd_get(argc, argv);
  if (argc == 5 && !strcmp(argv[1], "diff"))
    return cmd_diff(argv);
  if (argc == 5 && !strcmp(argv[1], "apply"))
    return cmd_apply(argv);
  if (argc == 5 && !strcmp(argv[1], "decode"))
    return cmd_decode(argv);
  fprintf(stderr, "usage: dircache-tool get DATADIR OUTDIR PATH... | "
                  "diff OLD NEW OUT | apply BASE DIFF OUT | "
                  "decode METHOD IN OUT\n");
  return 2;
}
