/* onion_ntor.c -- the ntor handshake (tor-spec 5.1.4) and its HKDF-SHA256
 * key expansion (tor-spec 5.2.2).
 *
 *   secret_input = EXP(X,y) | EXP(X,b) | ID | B | X | Y | PROTOID
 *   verify       = H(secret_input, t_verify)
 *   auth_input   = verify | ID | B | Y | X | PROTOID | "Server"
 *   AUTH         = H(auth_input, t_mac)
 *   K            = HKDF-SHA256(salt = t_key, ikm = secret_input, info = m_expand)
 *
 * where H(x, t) is HMAC-SHA256 with key t.  Both sides reject an all-zero
 * DH output (a small-order peer key).
 */
#include <pthread.h>
#include <string.h>

#include "allium/core/onion/onion_ntor.h"
#include "core/onion/onion_trace.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/hmac.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/malloc/malloc.h"

#define PROTOID "ntor-curve25519-sha256-1"
#define PROTOID_LEN (sizeof(PROTOID) - 1)
#define T_MAC PROTOID ":mac"
#define T_KEY PROTOID ":key_extract"
#define T_VERIFY PROTOID ":verify"
#define M_EXPAND PROTOID ":key_expand"
#define SERVER_STR "Server"
#define SERVER_STR_LEN (sizeof(SERVER_STR) - 1)

#define SECRET_INPUT_LEN (2 * NTOR_KEY_LEN + NTOR_ID_LEN + 3 * NTOR_KEY_LEN + PROTOID_LEN)
#define AUTH_INPUT_LEN (32 + NTOR_ID_LEN + 3 * NTOR_KEY_LEN + PROTOID_LEN + SERVER_STR_LEN)

_Static_assert(SECRET_INPUT_LEN == NTOR_TRACE_SECRET_INPUT_LEN, "trace size");
_Static_assert(AUTH_INPUT_LEN == NTOR_TRACE_AUTH_INPUT_LEN, "trace size");

struct ntor_client_state_t {
  uint8_t node_id[NTOR_ID_LEN];
  uint8_t B[NTOR_KEY_LEN];
  x25519_keypair_t x;
};

/** The public values both sides feed into the transcript. */
typedef struct ntor_transcript_t {
  const uint8_t *id, *B, *X, *Y;
} ntor_transcript_t;

/* The HMAC keys t_verify, t_mac and t_key are constants: their key
 * schedules are computed once per process and only read afterwards. */
typedef struct ntor_tweak_keys_t {
  crypto_hmac_sha256_key_t verify, mac, key;
  int ok;
} ntor_tweak_keys_t;

static ntor_tweak_keys_t tweak_keys;
static pthread_once_t tweak_once = PTHREAD_ONCE_INIT;

static void
tweak_keys_init(void)
{
  tweak_keys.ok =
    crypto_hmac_sha256_key_init(&tweak_keys.verify, (const uint8_t *)T_VERIFY,
                                strlen(T_VERIFY)) == 0 &&
    crypto_hmac_sha256_key_init(&tweak_keys.mac, (const uint8_t *)T_MAC,
                                strlen(T_MAC)) == 0 &&
    crypto_hmac_sha256_key_init(&tweak_keys.key, (const uint8_t *)T_KEY,
                                strlen(T_KEY)) == 0;
}

static const ntor_tweak_keys_t *
ntor_tweak_keys(void)
{
  pthread_once(&tweak_once, tweak_keys_init);
  return tweak_keys.ok ? &tweak_keys : NULL;
}

/* Build secret_input from the two DH results and the transcript, derive AUTH
 * and keys_len bytes of key material.  0 or -1. */
static int
ntor_derive(uint8_t auth_out[32], uint8_t *keys_out, size_t keys_len,
            const uint8_t dh1[32], const uint8_t dh2[32],
            const ntor_transcript_t *t, ntor_trace_t *trace)
{
  uint8_t secret_input[SECRET_INPUT_LEN];
  uint8_t auth_input[AUTH_INPUT_LEN];
  uint8_t *p = secret_input;
  int r = -1;

  memcpy(p, dh1, 32); p += 32;
  memcpy(p, dh2, 32); p += 32;
  memcpy(p, t->id, NTOR_ID_LEN); p += NTOR_ID_LEN;
  memcpy(p, t->B, 32); p += 32;
  memcpy(p, t->X, 32); p += 32;
  memcpy(p, t->Y, 32); p += 32;
  memcpy(p, PROTOID, PROTOID_LEN);

  const ntor_tweak_keys_t *tk = ntor_tweak_keys();
  uint8_t prk[32];
  if (!tk)
    goto done;
  p = auth_input;   /* verify goes first */
  if (crypto_hmac_sha256_keyed(p, &tk->verify, secret_input,
                               sizeof(secret_input), NULL, 0, NULL, 0) < 0)
    goto done;
  p += 32;
  memcpy(p, t->id, NTOR_ID_LEN); p += NTOR_ID_LEN;
  memcpy(p, t->B, 32); p += 32;
  memcpy(p, t->Y, 32); p += 32;
  memcpy(p, t->X, 32); p += 32;
  memcpy(p, PROTOID, PROTOID_LEN); p += PROTOID_LEN;
  memcpy(p, SERVER_STR, SERVER_STR_LEN);
  if (crypto_hmac_sha256_keyed(auth_out, &tk->mac, auth_input,
                               sizeof(auth_input), NULL, 0, NULL, 0) < 0)
    goto done;
  /* HKDF-SHA256 (RFC 5869) with salt t_key: extract, then expand. */
  if (crypto_hmac_sha256_keyed(prk, &tk->key, secret_input,
                               sizeof(secret_input), NULL, 0, NULL, 0) < 0 ||
      crypto_hkdf_sha256_expand(keys_out, keys_len, prk, sizeof(prk),
                                (const uint8_t *)M_EXPAND,
                                strlen(M_EXPAND)) < 0)
    goto done;
  if (trace) {
    memcpy(trace->secret_input, secret_input, sizeof(secret_input));
    memcpy(trace->verify, auth_input, 32);
    memcpy(trace->auth_input, auth_input, sizeof(auth_input));
    memcpy(trace->auth, auth_out, 32);
    memcpy(trace->key_seed, prk, sizeof(prk));
  }
  r = 0;
 done:
  memwipe(prk, sizeof(prk));
  memwipe(secret_input, sizeof(secret_input));
  memwipe(auth_input, sizeof(auth_input));
  return r;
}

int
ntor_client_create_with_key(ntor_client_state_t **state_out,
                            uint8_t onionskin_out[NTOR_ONIONSKIN_LEN],
                            const uint8_t node_id[NTOR_ID_LEN],
                            const uint8_t B[NTOR_KEY_LEN],
                            const x25519_keypair_t *x)
{
  ntor_client_state_t *st;

  if (!state_out || !onionskin_out || !node_id || !B || !x)
    return -1;
  st = al_calloc(1, sizeof(*st));
  memcpy(st->node_id, node_id, NTOR_ID_LEN);
  memcpy(st->B, B, NTOR_KEY_LEN);
  st->x = *x;
  memcpy(onionskin_out + NTOR_ONIONSKIN_ID_OFF, node_id, NTOR_ID_LEN);
  memcpy(onionskin_out + NTOR_ONIONSKIN_KEYID_OFF, B, NTOR_KEY_LEN);
  memcpy(onionskin_out + NTOR_ONIONSKIN_X_OFF, x->pub, NTOR_KEY_LEN);
  *state_out = st;
  return 0;
}

int
ntor_client_create(ntor_client_state_t **state_out,
                   uint8_t onionskin_out[NTOR_ONIONSKIN_LEN],
                   const uint8_t node_id[NTOR_ID_LEN],
                   const uint8_t B[NTOR_KEY_LEN])
{
  x25519_keypair_t x;
  int r;

  if (x25519_keypair_generate(&x) < 0)
    return -1;
  r = ntor_client_create_with_key(state_out, onionskin_out, node_id, B, &x);
  memwipe(&x, sizeof(x));
  return r;
}

int
ntor_client_finish(const ntor_client_state_t *state,
                   const uint8_t reply[NTOR_REPLY_LEN],
                   uint8_t *keys_out, size_t keys_len)
{
  uint8_t dh_xy[32], dh_xb[32], auth[32];
  ntor_transcript_t t;
  int bad = 0, r = -1;

  if (!state || !reply || !keys_out || keys_len == 0 || keys_len > NTOR_KEYS_MAX)
    return -1;
  t.id = state->node_id;
  t.B = state->B;
  t.X = state->x.pub;
  t.Y = reply;
  bad |= x25519_scalarmult(dh_xy, state->x.sec, reply) < 0;
  bad |= x25519_scalarmult(dh_xb, state->x.sec, state->B) < 0;
  if (ntor_derive(auth, keys_out, keys_len, dh_xy, dh_xb, &t, NULL) < 0)
    bad = 1;
  bad |= !crypto_memeq(auth, reply + NTOR_KEY_LEN, 32);
  if (!bad)
    r = 0;
  else
    memwipe(keys_out, keys_len);
  memwipe(dh_xy, sizeof(dh_xy));
  memwipe(dh_xb, sizeof(dh_xb));
  memwipe(auth, sizeof(auth));
  return r;
}

int
ntor_server_respond(uint8_t reply_out[NTOR_REPLY_LEN],
                    uint8_t *keys_out, size_t keys_len,
                    const uint8_t onionskin[NTOR_ONIONSKIN_LEN],
                    const uint8_t node_id[NTOR_ID_LEN],
                    const x25519_keypair_t *b,
                    const x25519_keypair_t *y)
{
  return ntor_server_respond_traced(reply_out, keys_out, keys_len, onionskin,
                                    node_id, b, y, NULL);
}

int
ntor_server_respond_traced(uint8_t reply_out[NTOR_REPLY_LEN],
                           uint8_t *keys_out, size_t keys_len,
                           const uint8_t onionskin[NTOR_ONIONSKIN_LEN],
                           const uint8_t node_id[NTOR_ID_LEN],
                           const x25519_keypair_t *b,
                           const x25519_keypair_t *y, ntor_trace_t *trace)
{
  x25519_keypair_t y_fresh;
  uint8_t dh_xy[32], dh_xb[32];
  ntor_transcript_t t;
  const uint8_t *X;
  int bad = 0;

  if (!reply_out || !keys_out || !onionskin || !node_id || !b ||
      keys_len == 0 || keys_len > NTOR_KEYS_MAX)
    return -1;
  if (!crypto_memeq(onionskin + NTOR_ONIONSKIN_ID_OFF, node_id, NTOR_ID_LEN) ||
      !crypto_memeq(onionskin + NTOR_ONIONSKIN_KEYID_OFF, b->pub, NTOR_KEY_LEN))
    goto fail;
  if (!y) {
    if (x25519_keypair_generate(&y_fresh) < 0)
      goto fail;
    y = &y_fresh;
  }
  X = onionskin + NTOR_ONIONSKIN_X_OFF;
  t.id = node_id;
  t.B = b->pub;
  t.X = X;
  t.Y = y->pub;
  bad |= x25519_scalarmult(dh_xy, y->sec, X) < 0;
  bad |= x25519_scalarmult(dh_xb, b->sec, X) < 0;
  memcpy(reply_out, y->pub, NTOR_KEY_LEN);
  if (ntor_derive(reply_out + NTOR_KEY_LEN, keys_out, keys_len, dh_xy, dh_xb, &t,
                  trace) < 0)
    bad = 1;
  memwipe(dh_xy, sizeof(dh_xy));
  memwipe(dh_xb, sizeof(dh_xb));
  memwipe(&y_fresh, sizeof(y_fresh));
  if (!bad)
    return 0;
 fail:
  memwipe(&y_fresh, sizeof(y_fresh));
  memwipe(reply_out, NTOR_REPLY_LEN);
  memwipe(keys_out, keys_len);
  return -1;
}

void
ntor_client_state_free_(ntor_client_state_t *state)
{
  al_free_secret_(state, sizeof(*state));
}
