/* link_interop_extend.c -- make a real tor relay open a channel to an
 * allium responder as an initiating relay, so that allium verifies tor's
 * CERTS (types 2, 4, 6, 7) and AUTHENTICATE AUTH0003 (tor-spec.txt 4.2,
 * 4.4.2).
 *
 *   link-interop-extend HOST PORT FINGERPRINT_FILE ED25519_FINGERPRINT_FILE
 *
 * We start a responder on 127.0.0.1 (fresh relay keys, link_keys.h), then
 * connect to the tor relay at HOST:PORT as a client, build a one-hop
 * circuit with CREATE_FAST and send EXTEND2 towards our responder (tor
 * extends to loopback only with TestingTorNetwork).  tor connects to us
 * and authenticates; we check that the accepted channel is authenticated
 * with the RSA and ed25519 identities of the relay's fingerprint files.
 * Our responder never answers the CREATE2, so the EXTEND2 itself fails
 * later -- that is not what is tested.  Exit 0 on success, 1 on failure;
 * bounded by 20 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "allium/core/channel/channel.h"
#include "allium/core/channel/link_keys.h"
#include "allium/core/channel/torcert.h"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

typedef struct st_t {
  struct event_base *base;
  link_keys_t *keys;
  rsa_key_t *rsa;
  ed25519_keypair_t ed_id, ed_sign;
  uint8_t fp[20];
  uint16_t port;                 /* our responder */
  channel_t *client, *accepted;
  circ_origin_t *circ;
  uint32_t circ_id;
  int extended, accepted_open, accepted_closed;
  const char *accepted_why;
  link_peer_t peer;
} st_t;

static int read_value(const char *path, char *out, size_t max)
{
  char line[256], nick[128];
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  int ok = fgets(line, sizeof(line), f) != NULL;
  fclose(f);
  if (!ok || sscanf(line, "%127s %200s", nick, line) != 2 ||
      strlen(line) >= max)
    return -1;
  strcpy(out, line);
  return 0;
}

static int make_keys(st_t *s)
{
  torcert_t *c4 = NULL;
  time_t now = time(NULL);
  s->rsa = rsa_key_generate(1024);
  if (!s->rsa || rsa_key_fingerprint(s->rsa, s->fp) < 0 ||
      ed25519_keypair_generate(&s->ed_id) < 0 ||
      ed25519_keypair_generate(&s->ed_sign) < 0 ||
      torcert_create(&c4, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                     s->ed_sign.pub.pubkey, &s->ed_id, now, 30 * 86400, 1) < 0)
    return -1;
  s->keys = link_keys_new(s->rsa, &s->ed_id.pub, &s->ed_sign, c4->encoded,
                          c4->encoded_len, now);
  torcert_free(c4);
  return s->keys ? 0 : -1;
}

/* ---- our responder ---- */

static void acc_open(channel_t *ch, void *arg)
{
  st_t *s = arg;
  s->accepted_open = 1;
  s->peer = *channel_peer(ch);
  event_base_loopbreak(s->base);
}

static void acc_cell(channel_t *ch, const cell_t *c, void *arg)
{
  (void)ch;
  (void)c;
  (void)arg;   /* CREATE2 from tor: not answered */
}

static void acc_close(channel_t *ch, int reason, const char *why, void *arg)
{
  st_t *s = arg;
  (void)ch;
  (void)reason;
  s->accepted_closed = 1;
  s->accepted_why = why;
  event_base_loopbreak(s->base);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
  st_t *s = arg;
  struct sockaddr_in peer;
  socklen_t plen = sizeof(peer);
  (void)what;
  int fd = accept(lfd, (struct sockaddr *)&peer, &plen);
  if (fd < 0 || s->accepted) {
    if (fd >= 0)
      close(fd);
    return;
  }
  channel_callbacks_t cbs = { acc_open, acc_cell, acc_close, s };
  s->accepted = channel_accept(s->base, link_keys_tls(s->keys), fd,
                               (struct sockaddr *)&peer, plen,
                               link_keys_creds(s->keys), &cbs);
}

/* ---- the client side: CREATE_FAST, then EXTEND2 to us ---- */

static void flush_circ(st_t *s)
{
  circ_cell_t cc;
  while (circ_origin_next_cell(s->circ, &cc)) {
    cell_t c = { s->circ_id, cc.command, CELL_PAYLOAD_LEN, cc.payload };
    channel_send_cell(s->client, &c);
  }
}

static void cli_open(channel_t *ch, void *arg)
{
  st_t *s = arg;
  if (circid_set_alloc(channel_circids(ch), &s->circ_id) < 0 ||
      circ_origin_start_fast(s->circ, NULL, 0, 0) < 0) {
    event_base_loopbreak(s->base);
    return;
  }
  flush_circ(s);
}

static void cli_cell(channel_t *ch, const cell_t *c, void *arg)
{
  st_t *s = arg;
  uint8_t payload[CELL_PAYLOAD_LEN];
  circ_event_t ev;
  (void)ch;
  if (c->circ_id != s->circ_id || c->payload_len > sizeof(payload))
    return;
  memset(payload, 0, sizeof(payload));
  memcpy(payload, c->payload, c->payload_len);
  circ_origin_handle_cell(s->circ, c->command, payload);
  while (circ_origin_next_event(s->circ, &ev)) {
    if (ev.type == CIRC_EV_HOP_ADDED && !s->extended) {
      circ_hop_spec_t h;
      memset(&h, 0, sizeof(h));
      memcpy(h.rsa_id, s->fp, 20);
      memcpy(h.ed_id, s->ed_id.pub.pubkey, 32);
      h.has_ed_id = true;
      crypto_rand(h.ntor_key, sizeof(h.ntor_key));
      h.n_addr = 1;
      h.addr[0].type = RELAY_LSPEC_IPV4;
      memcpy(h.addr[0].u.ipv4.addr, "\x7f\x00\x00\x01", 4);
      h.addr[0].u.ipv4.port = s->port;
      s->extended = circ_origin_extend(s->circ, &h) == 0;
      printf("%s EXTEND2 to our responder on 127.0.0.1:%u\n",
             s->extended ? "sent" : "could not send", s->port);
    } else if (ev.type == CIRC_EV_CLOSED && !s->accepted) {
      printf("circuit closed before tor connected to us: %s\n",
             ev.what ? ev.what : "");
      event_base_loopbreak(s->base);
    }
  }
  flush_circ(s);
}

static void cli_close(channel_t *ch, int reason, const char *why, void *arg)
{
  st_t *s = arg;
  (void)ch;
  printf("client channel closed: %s %s\n", channel_close_reason_name(reason),
         why);
  event_base_loopbreak(s->base);
}

static int listen_loopback(st_t *s)
{
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
      listen(fd, 8) < 0 ||
      getsockname(fd, (struct sockaddr *)&sin, &slen) < 0)
    return -1;
  s->port = ntohs(sin.sin_port);
  return fd;
}

/** HOST PORT FP_FILE ED_FP_FILE -> address and identities; 0, or the
 * exit code. */
static int parse_args(int argc, char **argv, struct sockaddr_in *sin,
                      char hex[64], uint8_t rsa[20], ed25519_public_key_t *ed)
{
  char b64[64];
  if (argc < 5) {
    fprintf(stderr, "usage: %s HOST PORT FP_FILE ED_FP_FILE\n", argv[0]);
    return 2;
  }
  if (crypto_global_init() < 0 || read_value(argv[3], hex, 64) < 0 ||
      read_value(argv[4], b64, sizeof(b64)) < 0 ||
      base16_decode(rsa, 20, hex, strlen(hex)) != 20 ||
      base64_decode(ed->pubkey, 32, b64, strlen(b64)) != 32) {
    fprintf(stderr, "cannot read the fingerprint files\n");
    return 1;
  }
  memset(sin, 0, sizeof(*sin));
  sin->sin_family = AF_INET;
  sin->sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &sin->sin_addr) != 1 ||
      (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "HOST must be a loopback IPv4 address\n");
    return 2;
  }
  return 0;
}

/** Print the verdict; 1 when tor authenticated as (rsa, ed). */
static int verdict(const st_t *s, const char *hex, const uint8_t *rsa,
                   const ed25519_public_key_t *ed)
{
  int ok = s->accepted_open && s->peer.authenticated &&
           crypto_memeq(s->peer.rsa_id, rsa, 20) &&
           crypto_memeq(s->peer.ed_id.pubkey, ed->pubkey, 32);
  if (ok)
    printf("PASS: tor connected to our responder and authenticated as %s "
           "(AUTH0003 verified, RSA and ed25519 identities match), "
           "handshake %llu ms\n", hex,
           (unsigned long long)channel_handshake_msec(s->accepted));
  else
    printf("FAIL: tor as initiator: %s%s\n",
           !s->accepted ? "tor never connected to our responder"
           : s->accepted_open ? "channel open but peer not authenticated as "
                                "the tor relay"
                              : "handshake failed: ",
           s->accepted && !s->accepted_open && s->accepted_why
               ? s->accepted_why : "");
  return ok;
}

int main(int argc, char **argv)
{
  char hex[64];
  uint8_t tor_rsa[20];
  ed25519_public_key_t tor_ed;
  struct sockaddr_in sin;
  st_t s;
  memset(&s, 0, sizeof(s));
  int rc = parse_args(argc, argv, &sin, hex, tor_rsa, &tor_ed);
  if (rc)
    return rc;
  s.base = event_base_new();
  s.circ = circ_origin_new();
  int lfd = listen_loopback(&s);
  if (make_keys(&s) < 0 || lfd < 0 || !s.circ) {
    fprintf(stderr, "setup failed\n");
    return 1;
  }
  struct event *lev = event_new(s.base, lfd, EV_READ | EV_PERSIST, on_accept,
                                &s);
  event_add(lev, NULL);
  tls_context_t *tls = tls_context_new_client();
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), tor_rsa,
                         &tor_ed };
  channel_callbacks_t cbs = { cli_open, cli_cell, cli_close, &s };
  s.client = channel_connect(s.base, tls, &t, &cbs);
  struct timeval limit = { 20, 0 };
  event_base_loopexit(s.base, &limit);
  uint64_t t0 = evloop_monotonic_msec();
  while (!s.accepted_open && !s.accepted_closed &&
         evloop_monotonic_msec() - t0 < 20000 && s.client &&
         channel_state(s.client) != CHANNEL_STATE_CLOSED)
    event_base_dispatch(s.base);
  int ok = verdict(&s, hex, tor_rsa, &tor_ed);
  channel_free(s.accepted);
  channel_free(s.client);
  circ_origin_free(s.circ);
  event_free(lev);
  close(lfd);
  tls_context_free(tls);
  link_keys_free(s.keys);
  rsa_key_free(s.rsa);
  ed25519_keypair_wipe(&s.ed_id);
  ed25519_keypair_wipe(&s.ed_sign);
  event_base_free(s.base);
  return ok ? 0 : 1;
}
