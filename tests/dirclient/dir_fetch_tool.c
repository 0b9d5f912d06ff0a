/* dir_fetch_tool.c -- bootstrap-style directory fetch from a real tor
 * directory authority through allium's own link, circuit and stream code:
 * channel to the ORPort, one-hop CREATE_FAST circuit, BEGIN_DIR streams
 * (tor-spec 5.1.5, 6.2; dir-spec 4, 6).  Fetches the key certificates and
 * both consensus flavours, parses them and checks the consensus signatures
 * against the certificates of the given v3 identities.  Test-only code;
 * loopback addresses only.
 *
 *   dir-fetch-tool HOST ORPORT FINGERPRINT V3IDENT[,V3IDENT...]
 *
 * Exit 0 when every document was fetched and parsed and each consensus
 * carries valid signatures from more than half of the authorities. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "allium/feature/dirclient/dir_fetch.h"
#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/keycert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_AUTH 16
#define N_REQ 3

static const dir_fetch_request_t reqs[N_REQ] = {
  { "/tor/keys/all", DIR_DOC_KEY_CERTS },
  { "/tor/status-vote/current/consensus", DIR_DOC_CONSENSUS },
  { "/tor/status-vote/current/consensus-microdesc", DIR_DOC_CONSENSUS },
};

typedef struct tool_t {
  struct event_base *base;
  struct timeval t0;
  int status[N_REQ];
  uint8_t *body[N_REQ];
  size_t len[N_REQ];
  int done_err;
  char done_why[128];
} tool_t;

static double
elapsed(const tool_t *t)
{
  struct timeval now;
  gettimeofday(&now, NULL);
  return (double)(now.tv_sec - t->t0.tv_sec) +
         (double)(now.tv_usec - t->t0.tv_usec) / 1e6;
}

static void
on_progress(int pct, const char *tag, void *arg)
{
  printf("[%.3fs] Bootstrapped %d%% (%s)\n", elapsed(arg), pct, tag);
}

static void
on_result(size_t idx, int status, const uint8_t *body, size_t len,
          const char *why, void *arg)
{
  tool_t *t = arg;
  static const int pct[N_REQ] = { 40, 50, 75 };
  static const char *tag[N_REQ] = { "loading_keys", "loading_status",
                                    "loading_status" };
  if (idx >= N_REQ)
    return;
  t->status[idx] = status;
  if (body) {
    t->body[idx] = al_memdup(body, len + 1);
    t->len[idx] = len;
  }
  printf("[%.3fs] Bootstrapped %d%% (%s): %s -> %d, %zu bytes%s%s\n",
         elapsed(t), pct[idx], tag[idx], reqs[idx].path, status, len,
         why ? ": " : "", why ? why : "");
}

static void
on_done(int err, const char *why, void *arg)
{
  tool_t *t = arg;
  t->done_err = err;
  snprintf(t->done_why, sizeof(t->done_why), "%s", why ? why : "");
  event_base_loopbreak(t->base);
}

/* Parse the v3 identities, comma-separated hex. */
static int
parse_idents(const char *s, uint8_t ids[MAX_AUTH][20], size_t *n)
{
  *n = 0;
  while (*s) {
    const char *e = strchr(s, ',');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    if (*n >= MAX_AUTH || l != 40 || base16_decode(ids[*n], 20, s, l) != 20)
      return -1;
    (*n)++;
    s += l + (e ? 1 : 0);
  }
  return *n ? 0 : -1;
}

/* Certificates of trusted identities only. */
static size_t
trusted_certs(authcert_t **all, size_t n_all, uint8_t ids[MAX_AUTH][20],
              size_t n_ids, authcert_t **out)
{
  size_t n = 0;
  for (size_t i = 0; i < n_all; i++)
    for (size_t j = 0; j < n_ids; j++)
      if (!memcmp(all[i]->identity_digest, ids[j], 20)) {
        out[n++] = all[i];
        break;
      }
  return n;
}

static int
check_consensus(tool_t *t, size_t idx, const char *name, authcert_t **certs,
                size_t n_certs, size_t n_auth)
{
  consensus_t *c = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (t->status[idx] != 200 || !t->body[idx]) {
    printf("FAIL consensus %s: status %d\n", name, t->status[idx]);
    return -1;
  }
  if (consensus_parse((const char *)t->body[idx], t->len[idx], &c, &err) < 0) {
    printf("FAIL consensus %s: %s\n", name, err.msg);
    return -1;
  }
  int valid = consensus_verify_signatures(c, certs, n_certs, time(NULL));
  printf("consensus %s: %zu routers, %d/%zu authority signatures valid\n",
         name, c->n_routers, valid, n_auth);
  int ok = c->n_routers > 0 && valid > 0 && (size_t)valid * 2 > n_auth;
  consensus_free(c);
  if (!ok)
    printf("FAIL consensus %s: not enough valid signatures\n", name);
  return ok ? 0 : -1;
}

static int
check_all(tool_t *t, uint8_t ids[MAX_AUTH][20], size_t n_ids)
{
  authcert_t **all = NULL;
  authcert_t *certs[MAX_AUTH];
  size_t n_all = 0;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (t->status[0] != 200 || !t->body[0] ||
      authcert_parse_list((const char *)t->body[0], t->len[0], &all, &n_all,
                          &err) < 0) {
    printf("FAIL key certificates: status %d %s\n", t->status[0], err.msg);
    return -1;
  }
  size_t n_certs = trusted_certs(all, n_all, ids, n_ids, certs);
  printf("key certificates: %zu parsed, %zu from the given authorities\n",
         n_all, n_certs);
  int r = 0;
  if (check_consensus(t, 1, "ns", certs, n_certs, n_ids) < 0)
    r = -1;
  if (check_consensus(t, 2, "microdesc", certs, n_certs, n_ids) < 0)
    r = -1;
  authcert_list_free(all, n_all);
  return r;
}

int
main(int argc, char **argv)
{
  static uint8_t ids[MAX_AUTH][20];
  size_t n_ids;
  dir_fetch_server_t srv;
  struct sockaddr_in sin;
  tool_t t;
  memset(&t, 0, sizeof(t));
  for (size_t i = 0; i < N_REQ; i++)
    t.status[i] = -1;
  if (argc != 5) {
    fprintf(stderr, "usage: %s HOST ORPORT FINGERPRINT V3IDENT[,...]\n",
            argv[0]);
    return 2;
  }
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)atoi(argv[2]));
  memset(&srv, 0, sizeof(srv));
  if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
      (ntohl(sin.sin_addr.s_addr) >> 24) != 127 ||
      strlen(argv[3]) != 40 ||
      base16_decode(srv.rsa_id, 20, argv[3], 40) != 20 ||
      parse_idents(argv[4], ids, &n_ids) < 0) {
    fprintf(stderr, "bad arguments (loopback IPv4, 40-hex fingerprints)\n");
    return 2;
  }
  if (crypto_global_init() < 0)
    return 1;
  srv.addr = (const struct sockaddr *)&sin;
  srv.addrlen = sizeof(sin);
  t.base = event_base_new();
  tls_context_t *tls = tls_context_new_client();
  dir_fetch_callbacks_t cbs = { on_result, on_done, on_progress, &t };
  gettimeofday(&t.t0, NULL);
  t.done_err = -1;
  snprintf(t.done_why, sizeof(t.done_why), "did not finish");
  dir_fetch_t *f = tls && t.base
                   ? dir_fetch_start(t.base, tls, &srv, reqs, N_REQ, 60000, &cbs)
                   : NULL;
  if (f)
    event_base_dispatch(t.base);
  else
    snprintf(t.done_why, sizeof(t.done_why), "could not start");
  dir_fetch_free(f);
  int rc = 1;
  if (t.done_err == 0) {
    printf("[%.3fs] fetch done over one-hop CREATE_FAST circuit\n",
           elapsed(&t));
    if (check_all(&t, ids, n_ids) == 0) {
      printf("[%.3fs] Bootstrapped 100%% (done): directory documents "
             "verified\n", elapsed(&t));
      rc = 0;
    }
  } else {
    printf("FAIL fetch: %s\n", t.done_why);
  }
  for (size_t i = 0; i < N_REQ; i++)
    al_free(t.body[i]);
  tls_context_free(tls);
  if (t.base)
    event_base_free(t.base);
  return rc;
}
