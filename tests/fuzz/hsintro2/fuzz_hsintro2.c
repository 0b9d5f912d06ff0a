/* fuzz_hsintro2.c -- fuzz target for the service's opening of INTRODUCE2
 * (src/feature/hs_service/hs_service_intro.c, rend-spec-v3 3.3, 3.3.2):
 * the input is an INTRODUCE2 body as an introduction point (or anyone on
 * the intro circuit) delivers it.  The service keys and the two
 * subcredentials are fixed so seed cells built for them pass the MAC and
 * reach the plaintext decoder; one replay cache (horizon 60 s, 8 entries)
 * lives across inputs with the clock advancing 7 s per input, so replays,
 * expiry and a full cache are reached.  Checks: an opened cell yields a
 * rendezvous point with an IPv4 address and a RENDEZVOUS1 of the fixed
 * length starting with its cookie; a refused one leaves *out zeroed. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/hs_service/hs_service_intro.h"
#include "allium/lib/crypto/crypto_util.h"

static hs_service_ip_keys_t IP;
static uint8_t SUB[2][32];
static hs_replay_cache_t *RC;
static int64_t NOW;

int
fuzz_init(void)
{
  if (crypto_global_init() < 0)
    abort();
  memset(IP.auth_key, 0x22, sizeof(IP.auth_key));
  memset(IP.enc.sec, 0x11, sizeof(IP.enc.sec));
  IP.enc.sec[0] &= 248;
  IP.enc.sec[31] = (uint8_t)((IP.enc.sec[31] & 127) | 64);
  if (x25519_public_from_secret(IP.enc.pub, IP.enc.sec) < 0)
    abort();
  memset(SUB[0], 0x33, 32);
  memset(SUB[1], 0x44, 32);
  RC = hs_replay_cache_new(60, 8);
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  static const uint8_t zero[sizeof(hs_service_intro2_t)];
  hs_service_intro2_t in;
  uint8_t r1[HS_SERVICE_REND1_LEN], keys[CIRC_ORIGIN_HS_KEYS_LEN];
  NOW += 7;
  int e = hs_service_intro2_open(&in, &IP, (const uint8_t(*)[32])SUB, 2, RC,
                                 NOW, data, len);
  if (e < 0) {
    if (memcmp(&in, zero, sizeof(in)) != 0)
      abort();
    return 0;
  }
  if (in.subcred_index > 1 || in.rp.n_addr < 1 ||
      in.rp.addr[0].type != RELAY_LSPEC_IPV4)
    abort();
  if (hs_service_rend1_build(&IP, &in, r1, keys) < 0)
    return 0;   /* an all-zero DH result: refused, fine */
  if (memcmp(r1, in.cookie, HS_CELL_COOKIE_LEN) != 0)
    abort();
  return 0;
}
