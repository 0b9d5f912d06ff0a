/* onion_hs_ntor.c -- hs-ntor, the onion service introduction/rendezvous
 * handshake (rend-spec-v3 3.3.2 [NTOR-WITH-EXTRA-DATA], 4.2 [JOIN_REND],
 * 4.2.1 key expansion), with H = SHA3-256, KDF = SHAKE-256 and
 * MAC(k, m) = SHA3-256(htonll(len(k)) | k | m) (rend-spec-v3 0.3):
 *
 *   intro_secret_hs_input = EXP(B,x) | AUTH_KEY | X | B | PROTOID
 *   hs_keys = KDF(intro_secret_hs_input | t_hsenc | m_hsexpand | N_hs_subcred, 64)
 *   rend_secret_hs_input = EXP(Y,x) | EXP(B,x) | AUTH_KEY | B | X | Y | PROTOID
 *   NTOR_KEY_SEED = MAC(rend_secret_hs_input, t_hsenc)
 *   verify = MAC(rend_secret_hs_input, t_hsverify)
 *   AUTH_INPUT_MAC = MAC(verify | AUTH_KEY | B | Y | X | PROTOID | "Server", t_hsmac)
 *   K = KDF(NTOR_KEY_SEED | m_hsexpand, 128) = Df | Db | Kf | Kb
 */
#include <string.h>

#include "allium/core/onion/onion_hs_ntor.h"
#include "core/onion/onion_trace.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

#define PROTOID "tor-hs-ntor-curve25519-sha3-256-1"
#define PROTOID_LEN (sizeof(PROTOID) - 1)
#define T_HSENC PROTOID ":hs_key_extract"
#define T_HSVERIFY PROTOID ":hs_verify"
#define T_HSMAC PROTOID ":hs_mac"
#define M_HSEXPAND PROTOID ":hs_key_expand"
#define SERVER_STR "Server"

#define INTRO_INPUT_LEN (32 + HS_NTOR_AUTH_KEY_LEN + 32 + 32 + PROTOID_LEN)
#define REND_INPUT_LEN (32 + 32 + HS_NTOR_AUTH_KEY_LEN + 3 * 32 + PROTOID_LEN)
#define AUTH_INPUT_LEN (32 + HS_NTOR_AUTH_KEY_LEN + 3 * 32 + PROTOID_LEN + 6)

_Static_assert(INTRO_INPUT_LEN == HS_NTOR_TRACE_INTRO_INPUT_LEN, "trace size");
_Static_assert(REND_INPUT_LEN == HS_NTOR_TRACE_REND_INPUT_LEN, "trace size");
_Static_assert(AUTH_INPUT_LEN == HS_NTOR_TRACE_AUTH_INPUT_LEN, "trace size");

int
hs_ntor_mac(uint8_t out[HS_NTOR_MAC_LEN], const uint8_t *key, size_t keylen,
            const uint8_t *msg, size_t msglen)
{
  digest_ctx_t *d;
  uint8_t len[8];

  if (!out || (!key && keylen) || (!msg && msglen))
    return -1;
  if (!(d = digest_ctx_new(DIGEST_ALG_SHA3_256)))
    return -1;
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)((uint64_t)keylen >> (56 - 8 * i));
  digest_ctx_add(d, len, 8);
  if (keylen)
    digest_ctx_add(d, key, keylen);
  if (msglen)
    digest_ctx_add(d, msg, msglen);
  digest_ctx_peek(d, out, HS_NTOR_MAC_LEN);
  digest_ctx_free(d);
  return 0;
}

/* hs_keys from the DH result EXP(B,x) == EXP(X,b). */
static int
intro_keys(hs_ntor_intro_keys_t *out, const uint8_t dh[32], const uint8_t auth_key[32],
           const uint8_t X[32], const uint8_t B[32], const uint8_t subcred[32],
           hs_ntor_trace_t *trace)
{
  uint8_t in[INTRO_INPUT_LEN], *p = in;
  xof_ctx_t *x = xof_ctx_new();
  if (!x)
    return -1;
  memcpy(p, dh, 32); p += 32;               /* intro_secret_hs_input */
  memcpy(p, auth_key, HS_NTOR_AUTH_KEY_LEN); p += HS_NTOR_AUTH_KEY_LEN;
  memcpy(p, X, 32); p += 32;
  memcpy(p, B, 32); p += 32;
  memcpy(p, PROTOID, PROTOID_LEN);
  if (trace)
    memcpy(trace->intro_secret_hs_input, in, sizeof(in));
  xof_ctx_add(x, in, sizeof(in));
  memwipe(in, sizeof(in));
  xof_ctx_add(x, T_HSENC, strlen(T_HSENC));
  xof_ctx_add(x, M_HSEXPAND, strlen(M_HSEXPAND));   /* info */
  xof_ctx_add(x, subcred, HS_NTOR_SUBCRED_LEN);
  xof_ctx_squeeze(x, out->enc_key, sizeof(out->enc_key));
  xof_ctx_squeeze(x, out->mac_key, sizeof(out->mac_key));
  xof_ctx_free(x);
  return 0;
}

int
hs_ntor_client_intro_keys(hs_ntor_intro_keys_t *out, const x25519_keypair_t *x,
                          const uint8_t B[32], const uint8_t auth_key[32],
                          const uint8_t subcred[32])
{
  uint8_t dh[32];
  int r = -1;

  if (!out || !x || !B || !auth_key || !subcred)
    return -1;
  if (x25519_scalarmult(dh, x->sec, B) == 0 &&
      intro_keys(out, dh, auth_key, x->pub, B, subcred, NULL) == 0)
    r = 0;
  else
    memwipe(out, sizeof(*out));
  memwipe(dh, sizeof(dh));
  return r;
}

int
hs_ntor_service_intro_keys(hs_ntor_intro_keys_t *out, const x25519_keypair_t *b,
                           const uint8_t X[32], const uint8_t auth_key[32],
                           const uint8_t subcred[32])
{
  return hs_ntor_service_intro_keys_traced(out, b, X, auth_key, subcred, NULL);
}

int
hs_ntor_service_intro_keys_traced(hs_ntor_intro_keys_t *out, const x25519_keypair_t *b,
                                  const uint8_t X[32], const uint8_t auth_key[32],
                                  const uint8_t subcred[32], hs_ntor_trace_t *trace)
{
  uint8_t dh[32];
  int r = -1;

  if (!out || !b || !X || !auth_key || !subcred)
    return -1;
  if (x25519_scalarmult(dh, b->sec, X) == 0 &&
      intro_keys(out, dh, auth_key, X, b->pub, subcred, trace) == 0)
    r = 0;
  else
    memwipe(out, sizeof(*out));
  memwipe(dh, sizeof(dh));
  return r;
}

/* NTOR_KEY_SEED and AUTH_INPUT_MAC from the two DH results. */
static int
rend_keys(hs_ntor_rend_keys_t *out, const uint8_t dh_y[32], const uint8_t dh_b[32],
          const uint8_t auth_key[32], const uint8_t B[32], const uint8_t X[32],
          const uint8_t Y[32], hs_ntor_trace_t *trace)
{
  uint8_t in[REND_INPUT_LEN], auth_input[AUTH_INPUT_LEN], *p = in;
  int r = -1;

  memcpy(p, dh_y, 32); p += 32;
  memcpy(p, dh_b, 32); p += 32;
  memcpy(p, auth_key, HS_NTOR_AUTH_KEY_LEN); p += HS_NTOR_AUTH_KEY_LEN;
  memcpy(p, B, 32); p += 32;
  memcpy(p, X, 32); p += 32;
  memcpy(p, Y, 32); p += 32;
  memcpy(p, PROTOID, PROTOID_LEN);

  p = auth_input;
  if (hs_ntor_mac(out->ntor_key_seed, in, sizeof(in), (const uint8_t *)T_HSENC,
                  strlen(T_HSENC)) < 0 ||
      hs_ntor_mac(p, in, sizeof(in), (const uint8_t *)T_HSVERIFY,
                  strlen(T_HSVERIFY)) < 0)
    goto done;
  p += 32;
  memcpy(p, auth_key, HS_NTOR_AUTH_KEY_LEN); p += HS_NTOR_AUTH_KEY_LEN;
  memcpy(p, B, 32); p += 32;
  memcpy(p, Y, 32); p += 32;
  memcpy(p, X, 32); p += 32;
  memcpy(p, PROTOID, PROTOID_LEN); p += PROTOID_LEN;
  memcpy(p, SERVER_STR, 6);
  if (hs_ntor_mac(out->auth_input_mac, auth_input, sizeof(auth_input),
                  (const uint8_t *)T_HSMAC, strlen(T_HSMAC)) < 0)
    goto done;
  if (trace) {
    memcpy(trace->rend_secret_hs_input, in, sizeof(in));
    memcpy(trace->verify, auth_input, 32);
    memcpy(trace->auth_input, auth_input, sizeof(auth_input));
  }
  r = 0;
 done:
  memwipe(in, sizeof(in));
  memwipe(auth_input, sizeof(auth_input));
  return r;
}

int
hs_ntor_service_rend_keys(hs_ntor_rend_keys_t *out, const x25519_keypair_t *b,
                          const x25519_keypair_t *y, const uint8_t X[32],
                          const uint8_t auth_key[32])
{
  return hs_ntor_service_rend_keys_traced(out, b, y, X, auth_key, NULL);
}

int
hs_ntor_service_rend_keys_traced(hs_ntor_rend_keys_t *out, const x25519_keypair_t *b,
                                 const x25519_keypair_t *y, const uint8_t X[32],
                                 const uint8_t auth_key[32], hs_ntor_trace_t *trace)
{
  uint8_t dh_y[32], dh_b[32];
  int bad = 0;

  if (!out || !b || !y || !X || !auth_key)
    return -1;
  bad |= x25519_scalarmult(dh_y, y->sec, X) < 0;
  bad |= x25519_scalarmult(dh_b, b->sec, X) < 0;
  if (!bad)
    bad = rend_keys(out, dh_y, dh_b, auth_key, b->pub, X, y->pub, trace) < 0;
  if (bad)
    memwipe(out, sizeof(*out));
  memwipe(dh_y, sizeof(dh_y));
  memwipe(dh_b, sizeof(dh_b));
  return bad ? -1 : 0;
}

int
hs_ntor_client_rend_keys(hs_ntor_rend_keys_t *out, const x25519_keypair_t *x,
                         const uint8_t B[32], const uint8_t auth_key[32],
                         const uint8_t handshake_info[HS_NTOR_HANDSHAKE_INFO_LEN])
{
  uint8_t dh_y[32], dh_b[32];
  const uint8_t *Y = handshake_info;
  int bad = 0;

  if (!out || !x || !B || !auth_key || !handshake_info)
    return -1;
  bad |= x25519_scalarmult(dh_y, x->sec, Y) < 0;
  bad |= x25519_scalarmult(dh_b, x->sec, B) < 0;
  if (rend_keys(out, dh_y, dh_b, auth_key, B, x->pub, Y, NULL) < 0)
    bad = 1;
  bad |= !crypto_memeq(out->auth_input_mac, handshake_info + 32, HS_NTOR_MAC_LEN);
  if (bad)
    memwipe(out, sizeof(*out));
  memwipe(dh_y, sizeof(dh_y));
  memwipe(dh_b, sizeof(dh_b));
  return bad ? -1 : 0;
}

int
hs_ntor_key_expansion(uint8_t out[HS_NTOR_KEY_EXPANSION_LEN],
                      const uint8_t ntor_key_seed[32])
{
  xof_ctx_t *x;

  if (!out || !ntor_key_seed || !(x = xof_ctx_new()))
    return -1;
  xof_ctx_add(x, ntor_key_seed, 32);
  xof_ctx_add(x, M_HSEXPAND, strlen(M_HSEXPAND));
  xof_ctx_squeeze(x, out, HS_NTOR_KEY_EXPANSION_LEN);
  xof_ctx_free(x);
  return 0;
}

int
hs_ntor_intro_crypt(const hs_ntor_intro_keys_t *keys, uint8_t *buf, size_t len)
{
  aes_ctr_t *c;

  if (!keys || (!buf && len))
    return -1;
  if (!(c = aes_ctr_new(keys->enc_key, sizeof(keys->enc_key), NULL)))
    return -1;
  if (len)
    aes_ctr_crypt_inplace(c, buf, len);
  aes_ctr_free(c);
  return 0;
}
