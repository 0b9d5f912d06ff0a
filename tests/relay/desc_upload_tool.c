/* desc_upload_tool.c -- build allium's server descriptor (dir-spec 2.1.1)
 * from the relay keys in a DataDirectory and upload it with the real
 * uploader (feature/relay/desc_publish) to directory authorities given as
 * tor "DirAuthority" lines, printing each authority's verdict.  Run by
 * tests/integration/allium-desc-upload against tor authorities on loopback.
 *
 * Usage: desc-upload-tool --datadir D --dirauthority LINE [--dirauthority LINE]...
 *          [--nickname N] [--address A] [--orport P] [--platform S]
 *          [--family F]... [--ipv6 [ADDR]:PORT]
 *          [--corrupt] [--print]
 *          [--expect accepted|not-new|discarded|rejected] [--timeout-ms N]
 *
 * Output: "FINGERPRINT HEX", "DIGEST HEX" (the descriptor's SHA-1, as in
 * /tor/server/d/), "SIZE N", "SIGNBIT 0|1" (of the ntor crosscert), then one "RESULT nickname status http-code reason" line
 * per authority (status: accepted, not-new, discarded, rejected, failed).
 * --corrupt changes the descriptor after signing (so both signatures are
 * bad) to show what an authority does with a descriptor it cannot parse
 * (tor 0.4.9.11: "200", then it does not serve it: "discarded"); a
 * --platform of an old "Tor 0.3.0.1" shows a 400 rejection.
 * --consensus FILE (instead of uploading) parses a consensus and reports
 * how it lists our relay ("PRESENCE listed|absent|..."), through the
 * uploader's own check and its log line.
 * Exit status: 0 when every authority answered (and, with --expect, every
 * answer was the expected one), 1 otherwise, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "allium/feature/dirclient/dir_authority.h"
#include "allium/feature/dirclient/dir_defaults.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/desc_publish.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"

#define MAX_AUTHS 16
#define MAX_FAMILY 8

/* Optional descriptor contents from the command line. */
typedef struct extra_t {
  const char *nick;
  uint8_t ip[4];
  uint16_t orport;
  const char *platform;
  const char *family[MAX_FAMILY];
  size_t n_family;
  int has_ipv6;
  uint8_t ipv6[16];
  uint16_t ipv6_port;
} extra_t;

typedef struct tool_t {
  struct event_base *base;
  size_t n_auths, n_done, n_bad;
  const char *expect;
} tool_t;

static void
want_descriptor(desc_publish_t *p, desc_due_t why, void *arg)
{
  (void)p;
  (void)why;
  (void)arg;
}

static const char *
status_word(desc_upload_status_t s)
{
  switch (s) {
  case DESC_UPLOAD_ACCEPTED: return "accepted";
  case DESC_UPLOAD_NOT_NEW: return "not-new";
  case DESC_UPLOAD_REJECTED: return "rejected";
  case DESC_UPLOAD_DISCARDED: return "discarded";
  default: return "failed";
  }
}

static void
on_result(desc_publish_t *p, const dir_authority_t *a, const desc_upload_result_t *r, void *arg)
{
  tool_t *t = arg;
  (void)p;
  const char *w = status_word(r->status);
  printf("RESULT %s %s %d %s\n", a->nickname[0] ? a->nickname : "-", w, r->http_status,
         r->reason);
  fflush(stdout);
  if (r->status == DESC_UPLOAD_FAILED || (t->expect && strcmp(t->expect, w) != 0))
    t->n_bad++;
  if (++t->n_done == t->n_auths)
    event_base_loopexit(t->base, NULL);
}

static int
usage(void)
{
  fprintf(stderr, "usage: desc-upload-tool --datadir D --dirauthority LINE... [--nickname N]\n"
                  "  [--address A] [--orport P] [--platform S] [--family F]... [--ipv6 [A]:P]\n"
                  "  [--corrupt] [--print]\n"
                  "  [--expect accepted|not-new|discarded|rejected] [--timeout-ms N]\n"
                  "       desc-upload-tool --datadir D --consensus FILE\n");
  return 2;
}

/* Make the signed text wrong without changing its syntax. */
static int
corrupt(char *desc)
{
  char *u = strstr(desc, "\nuptime ");
  if (!u)
    return -1;
  u[8] = u[8] == '9' ? '8' : '9';
  return 0;
}

static int
build(const char *datadir, const extra_t *x, relay_keys_t **keys_out, char **desc, size_t *len)
{
  relay_keys_t *keys = NULL;
  int r = relay_keys_load_or_create(datadir, 0, &keys);
  if (r < 0) {
    fprintf(stderr, "cannot load keys from %s: %s\n", datadir, relay_keys_strerror(r));
    return -1;
  }
  router_desc_params_t p;
  memset(&p, 0, sizeof(p));
  p.keys = keys;
  p.nickname = x->nick;
  memcpy(p.ipv4, x->ip, 4);
  p.orport = x->orport;
  p.platform = x->platform;
  p.family = x->family;
  p.n_family = x->n_family;
  p.has_ipv6 = x->has_ipv6;
  memcpy(p.ipv6, x->ipv6, 16);
  p.ipv6_orport = x->ipv6_port;
  p.published = time(NULL);
  p.uptime = 0;
  p.bw_avg = p.bw_burst = 1073741824;
  p.bw_observed = 51200;
  p.contact = "allium desc-upload-tool";
  p.tunnelled_dir_server = true;
  r = router_desc_build(&p, desc, len);
  if (r < 0) {
    fprintf(stderr, "cannot build the descriptor: %s\n", router_desc_strerror(r));
    relay_keys_free(keys);
    return -1;
  }
  *keys_out = keys;
  return 0;
}

/* How the consensus in file lists the relay whose keys are in datadir. */
static int
check_consensus(const char *datadir, const char *file)
{
  relay_keys_t *keys = NULL;
  char *text = NULL;
  size_t len = 0;
  consensus_t *c = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  if (relay_keys_load_or_create(datadir, 0, &keys) < 0 ||
      fs_read_file(file, &text, &len, 64 << 20) < 0 || consensus_parse(text, len, &c, &err) < 0) {
    fprintf(stderr, "cannot load keys or consensus: %s\n", err.msg);
    al_free(text);
    relay_keys_free(keys);
    return 1;
  }
  struct event_base *base = event_base_new();
  dir_authority_t a;
  memset(&a, 0, sizeof(a));
  desc_publish_cbs_t cbs = { want_descriptor, NULL, NULL };
  desc_publish_t *p = desc_publish_new(base, &a, 1, relay_keys_identity_digest(keys), &cbs);
  desc_publish_consensus_changed(p, c);
  printf("PRESENCE %s\n", desc_presence_name(desc_publish_get_presence(p)));
  desc_publish_free(p);
  event_base_free(base);
  consensus_free(c);
  al_free(text);
  relay_keys_free(keys);
  return 0;
}

/* Upload desc with the real uploader to the authorities the DirAuthority
 * lines give (resolved as the daemon resolves its configuration); 0 when
 * each answered (as expected). */
static int
upload_all(const char *const *lines, size_t n_lines, const relay_keys_t *keys,
           const char *desc, size_t len, uint32_t timeout_ms, const char *expect)
{
  int rv;
  dir_servers_cfg_t cfg = { .dir_authority = lines, .n_dir_authority = n_lines };
  dir_servers_t servers;
  char *err = NULL;
  if (dir_servers_resolve(&cfg, &servers, &err) < 0) {
    fprintf(stderr, "bad --dirauthority: %s\n", err ? err : "?");
    al_free(err);
    return 2;
  }
  tool_t t = { event_base_new(), servers.n_auths, 0, 0, expect };
  desc_publish_cbs_t cbs = { want_descriptor, on_result, &t };
  desc_publish_t *p = desc_publish_new(t.base, servers.auths, servers.n_auths,
                                       relay_keys_identity_digest(keys), &cbs);
  desc_publish_set_timeout(p, timeout_ms);
  if (!p || desc_publish_set_descriptor(p, desc, len, 51200) < 0) {
    rv = 1;
  } else {
    if (t.n_done < t.n_auths)
      event_base_dispatch(t.base);
    rv = (t.n_done == t.n_auths && t.n_bad == 0) ? 0 : 1;
  }
  desc_publish_free(p);
  event_base_free(t.base);
  dir_servers_clear(&servers);
  return rv;
}

/* Descriptor-content options: 1 handled, 0 not ours, -1 bad value. */
static int
parse_extra(const char *a, const char *v, extra_t *x)
{
  if (!strcmp(a, "--nickname")) {
    x->nick = v;
  } else if (!strcmp(a, "--platform")) {
    x->platform = v;
  } else if (!strcmp(a, "--family")) {
    if (x->n_family == MAX_FAMILY)
      return -1;
    x->family[x->n_family++] = v;
  } else if (!strcmp(a, "--ipv6")) {
    net_addrport_t ap;
    if (net_addrport_parse(v, strlen(v), NET_AP_IPV6, 1, &ap) < 0)
      return -1;
    memcpy(x->ipv6, ap.addr, 16);
    x->ipv6_port = ap.port;
    x->has_ipv6 = 1;
  } else if (!strcmp(a, "--address")) {
    return net_ipv4_parse(v, strlen(v), x->ip) < 0 ? -1 : 1;
  } else if (!strcmp(a, "--orport")) {
    return net_port_parse(v, strlen(v), 1, &x->orport) < 0 ? -1 : 1;
  } else {
    return 0;
  }
  return 1;
}

int
main(int argc, char **argv)
{
  const char *datadir = NULL, *expect = NULL, *consensus_file = NULL;
  extra_t x = { .nick = "alliumdesc", .ip = { 127, 0, 0, 1 }, .orport = 9999 };
  int do_corrupt = 0, do_print = 0, r;
  uint32_t timeout_ms = 20000;
  const char *lines[MAX_AUTHS];
  size_t n_auths = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--corrupt")) { do_corrupt = 1; continue; }
    if (!strcmp(a, "--print")) { do_print = 1; continue; }
    if (!v)
      return usage();
    i++;
    if ((r = parse_extra(a, v, &x)) != 0) {
      if (r < 0)
        return usage();
    } else if (!strcmp(a, "--datadir")) {
      datadir = v;
    } else if (!strcmp(a, "--consensus")) {
      consensus_file = v;
    } else if (!strcmp(a, "--expect")) {
      expect = v;
    } else if (!strcmp(a, "--timeout-ms")) {
      timeout_ms = (uint32_t)strtoul(v, NULL, 10);
    } else if (!strcmp(a, "--dirauthority") && n_auths < MAX_AUTHS) {
      lines[n_auths++] = v;
    } else {
      return usage();
    }
  }
  if (!datadir || (!n_auths && !do_print && !consensus_file) || crypto_global_init() < 0)
    return usage();
  if (consensus_file)
    return check_consensus(datadir, consensus_file);

  relay_keys_t *keys = NULL;
  char *desc = NULL;
  size_t len = 0;
  if (build(datadir, &x, &keys, &desc, &len) < 0)
    return 1;
  uint8_t d[20];
  char fp[41], hex[41];
  if (do_corrupt && corrupt(desc) < 0)
    return 1;
  relay_keys_fingerprint_hex(keys, fp);
  router_desc_digest(desc, len, d);
  base16_encode(hex, sizeof(hex), d, 20);
  const char *sb = strstr(desc, "\nntor-onion-key-crosscert ");
  printf("FINGERPRINT %s\nDIGEST %s\nSIZE %zu\nSIGNBIT %c\n", fp, hex, len,
         sb ? sb[26] : '?');
  if (do_print)
    fwrite(desc, 1, len, stdout);
  fflush(stdout);
  int rv = n_auths ? upload_all(lines, n_auths, keys, desc, len, timeout_ms, expect) : 0;
  al_free(desc);
  relay_keys_free(keys);
  return rv;
}
