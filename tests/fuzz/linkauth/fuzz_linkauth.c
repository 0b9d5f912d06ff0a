/* fuzz_linkauth.c -- fuzz target for what a responder parses from an
 * initiating relay (tor-spec 4.2 CERTS of an initiator, 4.4.2 AUTHENTICATE
 * "AUTH0003"): the first byte picks
 *   0: an AUTHENTICATE cell payload -> cell_authenticate_decode(),
 *      link_auth3_parse(), link_auth3_check();
 *   1: a CERTS cell payload -> link_certs_check_initiator();
 *   else: the byte stream an initiator sends, fed to a responder handshake
 *      (fresh keys made once) in chunks of (first byte) bytes.
 * Nothing may crash; nothing random may authenticate. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/core/cell/link_cells.h"
#include "allium/core/channel/link_auth.h"
#include "allium/core/channel/link_handshake.h"
#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/tls/tls.h"

static link_creds_t CREDS;
static tls_context_t *TLS;   /* lives for the process (reachable) */
static ed25519_keypair_t KEY;
static const time_t NOW = 1800000000;

static int zero_export(void *arg, uint8_t *out, size_t outlen,
                       const uint8_t *ctx, size_t ctxlen)
{
  (void)arg;
  (void)ctx;
  (void)ctxlen;
  memset(out, 0x5a, outlen);
  return 0;
}

int
fuzz_init(void)
{
  static uint8_t *c4, *c5, *c7;
  static size_t l4, l5, l7;
  torcert_t *t4 = NULL;
  ed25519_keypair_t id, sign;
  size_t len;
  if (crypto_global_init() < 0)
    return -1;
  rsa_key_t *rsa = rsa_key_generate(1024);
  TLS = rsa ? tls_context_new_server(rsa, 0, NOW, 0) : NULL;
  if (!TLS || ed25519_keypair_generate(&id) < 0 ||
      ed25519_keypair_generate(&sign) < 0 ||
      ed25519_keypair_generate(&KEY) < 0 ||
      torcert_create(&t4, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                     sign.pub.pubkey, &id, NOW, 86400, 1) < 0)
    return -1;
  c4 = al_memdup(t4->encoded, t4->encoded_len);
  l4 = t4->encoded_len;
  torcert_free(t4);
  const uint8_t *link = tls_context_link_cert_der(TLS, &len);
  if (link_make_tls_link_cert(&c5, &l5, &sign, link, len, NOW, 86400) < 0 ||
      rsa_crosscert_create(&c7, &l7, &id.pub, rsa, NOW, 86400) < 0)
    return -1;
  CREDS.id_cert = tls_context_id_cert_der(TLS, &CREDS.id_cert_len);
  CREDS.rsa_link_cert = link;
  CREDS.rsa_link_cert_len = len;
  CREDS.signing_cert = c4;
  CREDS.signing_cert_len = l4;
  CREDS.link_cert = c5;
  CREDS.link_cert_len = l5;
  CREDS.crosscert = c7;
  CREDS.crosscert_len = l7;
  rsa_key_free(rsa);
  return 0;
}

static void fuzz_authenticate(const uint8_t *p, size_t len)
{
  cell_authenticate_t a;
  link_auth3_t got, want;
  if (cell_authenticate_decode(&a, p, len) < 0)
    return;
  if (link_auth3_parse(&got, a.auth, a.auth_len) < 0)
    return;
  memset(&want, 0, sizeof(want));
  if (link_auth3_check(&got, &want, &KEY.pub, NULL) == 0 &&
      a.auth_len > 0)
    abort();      /* zero fields and a valid signature by KEY: impossible */
}

static void fuzz_certs(const uint8_t *p, size_t len)
{
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  link_certs_result_t res;
  if (cell_certs_decode(cc, p, len) == 0)
    (void)link_certs_check_initiator(cc, NOW, &res, NULL);
  al_free(cc);
}

static void fuzz_responder(const uint8_t *p, size_t len, size_t chunk)
{
  link_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.role = LINK_ROLE_RESPONDER;
  cfg.now = NOW;
  cfg.creds = &CREDS;
  cfg.tls_export = zero_export;
  link_handshake_t *hs = link_handshake_new(&cfg);
  if (!hs)
    abort();
  size_t off = 0, avail = 0;
  if (chunk == 0)
    chunk = len ? len : 1;
  while (off < len && link_handshake_state(hs) == LINK_HS_RUNNING) {
    size_t used = 0, n;
    avail = avail + chunk < len - off ? avail + chunk : len - off;
    if (link_handshake_feed(hs, p + off, avail, &used) < 0)
      break;
    off += used;
    avail -= used;
    link_handshake_output(hs, &n);
    link_handshake_output_drain(hs, n);
    if (used == 0 && avail == len - off)
      break;
  }
  if (link_handshake_peer(hs)->authenticated)
    abort();      /* random bytes cannot carry a valid AUTH0003 signature */
  link_handshake_free(hs);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  /* Exact-size copy so that over-reads are caught by the sanitizers. */
  uint8_t *copy = al_malloc(len > 1 ? len - 1 : 1);
  if (len > 1)
    memcpy(copy, data + 1, len - 1);
  if (data[0] == 0)
    fuzz_authenticate(copy, len - 1);
  else if (data[0] == 1)
    fuzz_certs(copy, len - 1);
  else
    fuzz_responder(copy, len - 1, data[0] == 0xff ? 0 : data[0]);
  al_free(copy);
  return 0;
}
