/* link_interop.c -- connect allium's channel (TLS + link handshake as
 * initiator, tor-spec.txt sections 2 and 4) to a running relay and check
 * the identities it proves against its DataDirectory's fingerprint files.
 *
 *   link-interop HOST PORT FINGERPRINT_FILE ED25519_FINGERPRINT_FILE [N]
 *                [relay [DATADIR]]
 *
 * Runs N (default 3) handshakes expecting the right identities, then one
 * with a wrong expected RSA identity that must fail.  Prints timings.
 * With "relay", each handshake authenticates as a relay with freshly made
 * keys (CERTS 2, 3, 4, 6, 7 + AUTHENTICATE AUTH0003, tor-spec 4.4.2) and
 * prints the identity we proved, so the caller can find it in tor's log.
 * With DATADIR, the long-term keys are the tor-format keys in
 * DATADIR/keys (e.g. made by `tor --list-fingerprint`), loaded with
 * relay_keys_load_or_create() without creating anything.
 * Exit 0 on success, 1 on failure.  Every wait is bounded (20 s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "allium/core/channel/channel.h"
#include "allium/core/channel/link_keys.h"
#include "allium/core/channel/torcert.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

typedef struct run_t {
  struct event_base *base;
  int opened, closed, reason, created;
  uint32_t circ_id;
  uint64_t t_create;
  const char *why;
} run_t;

/** Once open, send CREATE_FAST (tor-spec 5.1.5): a CREATED_FAST reply
 * proves the relay accepted our NETINFO and considers the channel open. */
static void on_open(channel_t *ch, void *arg)
{
  run_t *r = arg;
  uint8_t x[20];
  r->opened = 1;
  crypto_rand(x, sizeof(x));
  if (circid_set_alloc(channel_circids(ch), &r->circ_id) < 0) {
    event_base_loopbreak(r->base);
    return;
  }
  cell_t c = { r->circ_id, CELL_CREATE_FAST, sizeof(x), x };
  r->t_create = evloop_monotonic_msec();
  if (channel_send_cell(ch, &c) < 0)
    event_base_loopbreak(r->base);
}

static void on_cell(channel_t *ch, const cell_t *c, void *arg)
{
  run_t *r = arg;
  (void)ch;
  if (c->command == CELL_CREATED_FAST && c->circ_id == r->circ_id) {
    r->created = 1;
    r->t_create = evloop_monotonic_msec() - r->t_create;
  }
  event_base_loopbreak(r->base);
}

static void on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  run_t *r = arg;
  (void)ch;
  r->closed = 1;
  r->reason = reason;
  r->why = why;
  event_base_loopbreak(r->base);
}

/** Read "nickname VALUE" from path; the VALUE into out. */
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

/** A relay's long-term keys (fresh) and link keys made from them. */
typedef struct me_t {
  rsa_key_t *rsa;
  ed25519_keypair_t ed_id, ed_sign;
  link_keys_t *keys;
  uint8_t fp[20];
} me_t;

static int me_make(me_t *m)
{
  torcert_t *c4 = NULL;
  time_t now = time(NULL);
  memset(m, 0, sizeof(*m));
  m->rsa = rsa_key_generate(1024);
  if (!m->rsa || rsa_key_fingerprint(m->rsa, m->fp) < 0 ||
      ed25519_keypair_generate(&m->ed_id) < 0 ||
      ed25519_keypair_generate(&m->ed_sign) < 0 ||
      torcert_create(&c4, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                     m->ed_sign.pub.pubkey, &m->ed_id, now, 30 * 86400,
                     1) < 0)
    return -1;
  m->keys = link_keys_new(m->rsa, &m->ed_id.pub, &m->ed_sign, c4->encoded,
                          c4->encoded_len, now);
  torcert_free(c4);
  return m->keys ? 0 : -1;
}

/** Link keys from the tor-format keys in datadir/keys. */
static int me_load(me_t *m, const char *datadir)
{
  relay_keys_t *k = NULL;
  size_t len = 0;
  memset(m, 0, sizeof(*m));
  int r = relay_keys_load_or_create(datadir, 0, &k);
  if (r != 0) {
    fprintf(stderr, "cannot load keys from %s: %s\n", datadir,
            relay_keys_strerror(r));
    return -1;
  }
  const uint8_t *c4 = relay_keys_signing_cert_encoded(k, &len);
  memcpy(m->fp, relay_keys_identity_digest(k), 20);
  m->ed_id.pub = *relay_keys_master_public(k);
  m->keys = link_keys_new(relay_keys_identity_rsa(k), relay_keys_master_public(k),
                          relay_keys_signing_keypair(k), c4, len, time(NULL));
  relay_keys_free(k);
  return m->keys ? 0 : -1;
}

static void me_free(me_t *m)
{
  link_keys_free(m->keys);
  rsa_key_free(m->rsa);
  ed25519_keypair_wipe(&m->ed_id);
  ed25519_keypair_wipe(&m->ed_sign);
}

/** One connection; returns the channel (caller frees) after open/close. */
static channel_t *run_once(struct event_base *base, tls_context_t *tls,
                           const struct sockaddr_in *sin, const uint8_t *rsa,
                           const ed25519_public_key_t *ed, const me_t *me,
                           run_t *r)
{
  channel_target_t t = { (const struct sockaddr *)sin, sizeof(*sin), rsa, ed };
  channel_callbacks_t cbs = { on_open, on_cell, on_close, r };
  struct timeval limit = { 20, 0 };
  memset(r, 0, sizeof(*r));
  r->base = base;
  channel_t *ch = channel_connect_relay(base, tls, &t,
                                        me ? link_keys_creds(me->keys) : NULL,
                                        &cbs);
  if (!ch)
    return NULL;
  event_base_loopexit(base, &limit);
  event_base_dispatch(base);
  return ch;
}

/** Make (or load from datadir) our relay keys and say which identity we
 * authenticate as. */
static int announce_relay(me_t *me, const char *datadir)
{
  char fphex[41], edb64[64];
  if (datadir ? me_load(me, datadir) < 0 : me_make(me) < 0) {
    fprintf(stderr, "cannot make relay keys\n");
    return -1;
  }
  base16_encode(fphex, sizeof(fphex), me->fp, 20);
  base64_encode(edb64, sizeof(edb64), me->ed_id.pub.pubkey, 32, 0);
  printf("relay mode: authenticating as %s (ed25519 %s)\n", fphex, edb64);
  return 0;
}

int main(int argc, char **argv)
{
  char hex[64], b64[64];
  uint8_t rsa_id[20];
  ed25519_public_key_t ed;
  struct sockaddr_in sin;
  int n = argc > 5 ? atoi(argv[5]) : 3, fails = 0;
  int relay = argc > 6 && !strcmp(argv[6], "relay");
  me_t me;
  if (argc < 5) {
    fprintf(stderr, "usage: %s HOST PORT FP_FILE ED_FP_FILE [N]\n", argv[0]);
    return 2;
  }
  if (crypto_global_init() < 0 || read_value(argv[3], hex, sizeof(hex)) < 0 ||
      read_value(argv[4], b64, sizeof(b64)) < 0 ||
      base16_decode(rsa_id, sizeof(rsa_id), hex, strlen(hex)) != 20 ||
      base64_decode(ed.pubkey, sizeof(ed.pubkey), b64, strlen(b64)) != 32) {
    fprintf(stderr, "cannot read the fingerprint files\n");
    return 1;
  }
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
      (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "HOST must be a loopback IPv4 address\n");
    return 2;
  }
  if (relay && announce_relay(&me, argc > 7 ? argv[7] : NULL) < 0)
    return 1;
  struct event_base *base = event_base_new();
  tls_context_t *tls = tls_context_new_client();
  run_t r;
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    channel_t *ch = run_once(base, tls, &sin, rsa_id, &ed,
                             relay ? &me : NULL, &r);
    const link_peer_t *p = ch ? channel_peer(ch) : NULL;
    if (!ch || !r.opened || !r.created || !p->authenticated ||
        p->we_authenticated != relay ||
        !crypto_memeq(p->rsa_id, rsa_id, 20) ||
        !crypto_memeq(p->ed_id.pubkey, ed.pubkey, 32)) {
      printf("FAIL: handshake %d: %s (%s)\n", i,
             r.closed ? channel_close_reason_name(r.reason) : "no result",
             ch ? channel_error(ch) : "cannot connect");
      fails++;
    } else {
      printf("PASS: handshake %d%s: link protocol %u, %s %s, TLS %llu ms, "
             "total %llu ms, clock skew %lld s, CREATE_FAST->CREATED_FAST %llu ms\n",
             i, relay ? " (authenticated as a relay)" : "",
             channel_linkproto(ch),
             channel_tls_version(ch), channel_tls_cipher(ch),
             (unsigned long long)channel_tls_msec(ch),
             (unsigned long long)channel_handshake_msec(ch),
             (long long)p->clock_skew, (unsigned long long)r.t_create);
      total += channel_handshake_msec(ch);
    }
    if (ch)
      channel_close(ch, CHANNEL_CLOSE_REQUESTED);
    channel_free(ch);
  }
  if (n > 0 && !fails)
    printf("mean handshake %llu ms over %d\n",
           (unsigned long long)(total / (uint64_t)n), n);
  /* A wrong expected RSA identity must be refused. */
  rsa_id[0] ^= 0xff;
  channel_t *ch = run_once(base, tls, &sin, rsa_id, &ed, NULL, &r);
  if (ch && !r.opened && r.closed &&
      r.reason == CHANNEL_CLOSE_HANDSHAKE_FAILED) {
    printf("PASS: wrong identity refused: %s\n", channel_error(ch));
  } else {
    printf("FAIL: wrong identity not refused\n");
    fails++;
  }
  channel_free(ch);
  tls_context_free(tls);
  event_base_free(base);
  if (relay)
    me_free(&me);
  return fails ? 1 : 0;
}
