/* onion_ntor_v3.c -- ntor v3 handshake with extra data (torspec
 * proposals/332-ntor-v3-with-extra-data.md, "The handshake in detail" and
 * appendices A.1/A.2), instantiated with SHA3-256, SHAKE-256, X25519 and
 * AES-256-CTR (zero IV):
 *
 *   H(s,t) = SHA3-256(ENCAP(t) | s)        MAC(k,m,t) = SHA3-256(ENCAP(t) | ENCAP(k) | m)
 *   KDF(s,t) = SHAKE-256(ENCAP(t) | s)     ENCAP(s) = htonll(len(s)) | s
 *
 * Phase 1 (client message): ENC_K1 | MAC_K1 = KDF_msgkdf(Bx | ID | X | B |
 * PROTOID | ENCAP(VER)); msg_mac = MAC_msgmac(MAC_K1, ID | B | X | ENC(CM)).
 * Phase 2: secret_input = Xy | Xb | ID | B | X | Y | PROTOID | ENCAP(VER);
 * key seed and verify are H_key_seed / H_verify of it; KDF_final(key_seed)
 * gives ENC_KEY then the circuit keystream; AUTH = H_auth(verify | ID | B |
 * Y | X | MAC | ENCAP(ENC(SM)) | PROTOID | "Server").
 */
#include <string.h>

#include "allium/core/onion/onion_ntor_v3.h"
#include "core/onion/onion_trace.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

#define PROTOID "ntor3-curve25519-sha3_256-1"
#define T_MSGKDF PROTOID ":kdf_phase1"
#define T_MSGMAC PROTOID ":msg_mac"
#define T_KEY_SEED PROTOID ":key_seed"
#define T_VERIFY PROTOID ":verify"
#define T_FINAL PROTOID ":kdf_final"
#define T_AUTH PROTOID ":auth_final"
#define SERVER_STR "Server"
#define KLEN NTOR3_KEY_LEN

/* What both sides remember after phase 1. */
typedef struct ntor3_common_t {
  uint8_t id[NTOR3_ID_LEN];
  uint8_t B[KLEN];
  uint8_t X[KLEN];
  uint8_t dh_b[KLEN];          /* Bx (client) == Xb (relay) */
  uint8_t msg_mac[NTOR3_MAC_LEN];
  uint8_t *ver;
  size_t ver_len;
} ntor3_common_t;

struct ntor3_client_state_t {
  ntor3_common_t c;
  uint8_t x_sec[KLEN];
};

struct ntor3_server_state_t {
  ntor3_common_t c;
};

/* ---- tweaked primitives ---- */

static void
add_encap(digest_ctx_t *d, const void *s, size_t n)
{
  uint8_t len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
  digest_ctx_add(d, len, 8);
  if (n)
    digest_ctx_add(d, s, n);
}

static void
xof_add_encap(xof_ctx_t *x, const void *s, size_t n)
{
  uint8_t len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
  xof_ctx_add(x, len, 8);
  if (n)
    xof_ctx_add(x, s, n);
}

/* A SHA3-256 context already holding ENCAP(tweak); NULL on failure. */
static digest_ctx_t *
tweaked_hash_new(const char *tweak)
{
  digest_ctx_t *d = digest_ctx_new(DIGEST_ALG_SHA3_256);
  if (d)
    add_encap(d, tweak, strlen(tweak));
  return d;
}

static int
aes256_zero_iv(const uint8_t key[32], const uint8_t *in, uint8_t *out, size_t n)
{
  aes_ctr_t *c = aes_ctr_new(key, 32, NULL);
  if (!c)
    return -1;
  if (n)
    aes_ctr_crypt(c, in, out, n);
  aes_ctr_free(c);
  return 0;
}

/* ---- phase 1 ---- */

/* ENC_K1 | MAC_K1 from the common state (dh_b, id, X, B, ver). */
static int
phase1_keys(const ntor3_common_t *c, uint8_t enc_k1[32], uint8_t mac_k1[32])
{
  xof_ctx_t *x = xof_ctx_new();
  if (!x)
    return -1;
  xof_add_encap(x, T_MSGKDF, strlen(T_MSGKDF));
  xof_ctx_add(x, c->dh_b, KLEN);
  xof_ctx_add(x, c->id, NTOR3_ID_LEN);
  xof_ctx_add(x, c->X, KLEN);
  xof_ctx_add(x, c->B, KLEN);
  xof_ctx_add(x, PROTOID, strlen(PROTOID));
  xof_add_encap(x, c->ver, c->ver_len);
  xof_ctx_squeeze(x, enc_k1, 32);
  xof_ctx_squeeze(x, mac_k1, 32);
  xof_ctx_free(x);
  return 0;
}

/* msg_mac = MAC_msgmac(MAC_K1, ID | B | X | encrypted_msg). */
static int
phase1_mac(const ntor3_common_t *c, const uint8_t mac_k1[32],
           const uint8_t *emsg, size_t emsg_len, uint8_t out[32])
{
  digest_ctx_t *d = tweaked_hash_new(T_MSGMAC);
  if (!d)
    return -1;
  add_encap(d, mac_k1, 32);
  digest_ctx_add(d, c->id, NTOR3_ID_LEN);
  digest_ctx_add(d, c->B, KLEN);
  digest_ctx_add(d, c->X, KLEN);
  if (emsg_len)
    digest_ctx_add(d, emsg, emsg_len);
  digest_ctx_peek(d, out, 32);
  digest_ctx_free(d);
  return 0;
}

/* ---- phase 2 ---- */

/* H_tweak(secret_input), secret_input = Xy | Xb | ID | B | X | Y | PROTOID |
 * ENCAP(VER). */
static int
phase2_hash(const ntor3_common_t *c, const char *tweak, const uint8_t dh_y[32],
            const uint8_t Y[32], uint8_t out[32])
{
  digest_ctx_t *d = tweaked_hash_new(tweak);
  if (!d)
    return -1;
  digest_ctx_add(d, dh_y, KLEN);
  digest_ctx_add(d, c->dh_b, KLEN);
  digest_ctx_add(d, c->id, NTOR3_ID_LEN);
  digest_ctx_add(d, c->B, KLEN);
  digest_ctx_add(d, c->X, KLEN);
  digest_ctx_add(d, Y, KLEN);
  digest_ctx_add(d, PROTOID, strlen(PROTOID));
  add_encap(d, c->ver, c->ver_len);
  digest_ctx_peek(d, out, 32);
  digest_ctx_free(d);
  return 0;
}

/* Phase 2 key schedule: verify, and the KDF_final(key_seed) SHAKE stream,
 * positioned at ENC_KEY (caller frees *kdf_out). */
static int
phase2_derive(const ntor3_common_t *c, const uint8_t dh_y[32], const uint8_t Y[32],
              xof_ctx_t **kdf_out, uint8_t verify[32], ntor3_trace_t *trace)
{
  uint8_t key_seed[32];
  xof_ctx_t *x;
  int r = -1;

  *kdf_out = NULL;
  if (phase2_hash(c, T_KEY_SEED, dh_y, Y, key_seed) < 0 ||
      phase2_hash(c, T_VERIFY, dh_y, Y, verify) < 0)
    goto done;
  if (!(x = xof_ctx_new()))
    goto done;
  xof_add_encap(x, T_FINAL, strlen(T_FINAL));
  xof_ctx_add(x, key_seed, sizeof(key_seed));
  *kdf_out = x;
  if (trace) {
    memcpy(trace->key_seed, key_seed, 32);
    memcpy(trace->verify, verify, 32);
  }
  r = 0;
 done:
  memwipe(key_seed, sizeof(key_seed));
  return r;
}

static int
phase2_auth(const ntor3_common_t *c, const uint8_t verify[32], const uint8_t Y[32],
            const uint8_t *emsg, size_t emsg_len, uint8_t out[32])
{
  digest_ctx_t *d = tweaked_hash_new(T_AUTH);
  if (!d)
    return -1;
  digest_ctx_add(d, verify, 32);
  digest_ctx_add(d, c->id, NTOR3_ID_LEN);
  digest_ctx_add(d, c->B, KLEN);
  digest_ctx_add(d, Y, KLEN);
  digest_ctx_add(d, c->X, KLEN);
  digest_ctx_add(d, c->msg_mac, NTOR3_MAC_LEN);
  add_encap(d, emsg, emsg_len);
  digest_ctx_add(d, PROTOID, strlen(PROTOID));
  digest_ctx_add(d, SERVER_STR, strlen(SERVER_STR));
  digest_ctx_peek(d, out, 32);
  digest_ctx_free(d);
  return 0;
}

static void
common_wipe(ntor3_common_t *c)
{
  al_free_secret(c->ver, c->ver_len);
  memwipe(c, sizeof(*c));
}

/* ---- client ---- */

int
ntor3_client_create(ntor3_client_state_t **state_out,
                    uint8_t **onionskin_out, size_t *onionskin_len_out,
                    const uint8_t id[NTOR3_ID_LEN], const uint8_t B[NTOR3_KEY_LEN],
                    const uint8_t *ver, size_t ver_len,
                    const uint8_t *msg, size_t msg_len,
                    const x25519_keypair_t *x)
{
  return ntor3_client_create_traced(state_out, onionskin_out, onionskin_len_out, id,
                                    B, ver, ver_len, msg, msg_len, x, NULL);
}

int
ntor3_client_create_traced(ntor3_client_state_t **state_out,
                           uint8_t **onionskin_out, size_t *onionskin_len_out,
                           const uint8_t id[NTOR3_ID_LEN], const uint8_t B[NTOR3_KEY_LEN],
                           const uint8_t *ver, size_t ver_len,
                           const uint8_t *msg, size_t msg_len,
                           const x25519_keypair_t *x, ntor3_trace_t *trace)
{
  x25519_keypair_t kp;
  ntor3_client_state_t *st = NULL;
  uint8_t enc_k1[32], mac_k1[32], *out = NULL, *p;
  size_t out_len = NTOR3_CLIENT_OVERHEAD + msg_len;
  int r = -1;

  if (!state_out || !onionskin_out || !onionskin_len_out || !id || !B ||
      (!ver && ver_len) || (!msg && msg_len) || msg_len > NTOR3_MSG_MAX ||
      ver_len > NTOR3_MSG_MAX)
    return -1;
  if (x)
    kp = *x;
  else if (x25519_keypair_generate(&kp) < 0)
    return -1;
  st = al_calloc(1, sizeof(*st));
  memcpy(st->c.id, id, NTOR3_ID_LEN);
  memcpy(st->c.B, B, KLEN);
  memcpy(st->c.X, kp.pub, KLEN);
  memcpy(st->x_sec, kp.sec, KLEN);
  st->c.ver = al_memdup(ver_len ? ver : (const uint8_t *)"", ver_len ? ver_len : 1);
  st->c.ver_len = ver_len;
  if (x25519_scalarmult(st->c.dh_b, kp.sec, B) < 0 ||
      phase1_keys(&st->c, enc_k1, mac_k1) < 0)
    goto done;
  out = al_malloc(out_len);
  p = out;
  memcpy(p, id, NTOR3_ID_LEN); p += NTOR3_ID_LEN;
  memcpy(p, B, KLEN); p += KLEN;
  memcpy(p, kp.pub, KLEN); p += KLEN;
  if (aes256_zero_iv(enc_k1, msg, p, msg_len) < 0 ||
      phase1_mac(&st->c, mac_k1, p, msg_len, st->c.msg_mac) < 0)
    goto done;
  memcpy(p + msg_len, st->c.msg_mac, NTOR3_MAC_LEN);
  if (trace) {
    memcpy(trace->enc_k1, enc_k1, 32);
    memcpy(trace->mac_k1, mac_k1, 32);
    memcpy(trace->msg_mac, st->c.msg_mac, 32);
  }
  *onionskin_out = out;
  *onionskin_len_out = out_len;
  *state_out = st;
  out = NULL;
  st = NULL;
  r = 0;
 done:
  al_free(out);
  ntor3_client_state_free(st);
  memwipe(&kp, sizeof(kp));
  memwipe(enc_k1, sizeof(enc_k1));
  memwipe(mac_k1, sizeof(mac_k1));
  return r;
}

int
ntor3_client_finish(const ntor3_client_state_t *st,
                    const uint8_t *reply, size_t reply_len,
                    uint8_t **msg_out, size_t *msg_len_out,
                    uint8_t *keys_out, size_t keys_len)
{
  uint8_t dh_y[32], verify[32], auth[32], enc_key[32], *msg = NULL;
  xof_ctx_t *kdf = NULL;
  size_t emsg_len;
  int bad = 0;

  if (!st || !reply || !msg_out || !msg_len_out || !keys_out ||
      keys_len == 0 || keys_len > NTOR3_KEYS_MAX)
    return -1;
  if (reply_len < NTOR3_SERVER_OVERHEAD ||
      reply_len - NTOR3_SERVER_OVERHEAD > NTOR3_MSG_MAX)
    goto fail;
  emsg_len = reply_len - NTOR3_SERVER_OVERHEAD;
  bad |= x25519_scalarmult(dh_y, st->x_sec, reply) < 0;
  if (phase2_derive(&st->c, dh_y, reply, &kdf, verify, NULL) < 0 ||
      phase2_auth(&st->c, verify, reply, reply + NTOR3_SERVER_OVERHEAD,
                  emsg_len, auth) < 0)
    bad = 1;
  bad |= !crypto_memeq(auth, reply + KLEN, NTOR3_MAC_LEN);
  memwipe(dh_y, sizeof(dh_y));
  memwipe(verify, sizeof(verify));
  if (bad)
    goto fail;
  xof_ctx_squeeze(kdf, enc_key, sizeof(enc_key));
  xof_ctx_squeeze(kdf, keys_out, keys_len);
  xof_ctx_free(kdf);
  if (emsg_len) {
    msg = al_malloc(emsg_len);
    if (aes256_zero_iv(enc_key, reply + NTOR3_SERVER_OVERHEAD, msg, emsg_len) < 0) {
      al_free(msg);
      memwipe(enc_key, sizeof(enc_key));
      goto fail;
    }
  }
  memwipe(enc_key, sizeof(enc_key));
  *msg_out = msg;
  *msg_len_out = emsg_len;
  return 0;
 fail:
  xof_ctx_free(kdf);
  memwipe(keys_out, keys_len);
  return -1;
}

void
ntor3_client_state_free_(ntor3_client_state_t *st)
{
  if (!st)
    return;
  common_wipe(&st->c);
  al_free_secret_(st, sizeof(*st));
}

/* ---- relay ---- */

int
ntor3_server_process(ntor3_server_state_t **state_out,
                     uint8_t **msg_out, size_t *msg_len_out,
                     const uint8_t *onionskin, size_t onionskin_len,
                     const uint8_t id[NTOR3_ID_LEN], const x25519_keypair_t *b,
                     const uint8_t *ver, size_t ver_len)
{
  ntor3_server_state_t *st = NULL;
  uint8_t enc_k1[32], mac_k1[32], *msg = NULL;
  const uint8_t *emsg;
  size_t emsg_len;
  int r = -1;

  if (!state_out || !msg_out || !msg_len_out || !onionskin || !id || !b ||
      (!ver && ver_len) || ver_len > NTOR3_MSG_MAX)
    return -1;
  if (onionskin_len < NTOR3_CLIENT_OVERHEAD ||
      onionskin_len - NTOR3_CLIENT_OVERHEAD > NTOR3_MSG_MAX)
    return -1;
  if (!crypto_memeq(onionskin + NTOR3_ONIONSKIN_ID_OFF, id, NTOR3_ID_LEN) ||
      !crypto_memeq(onionskin + NTOR3_ONIONSKIN_KEYID_OFF, b->pub, KLEN))
    return -1;
  emsg = onionskin + NTOR3_CLIENT_OVERHEAD - NTOR3_MAC_LEN;
  emsg_len = onionskin_len - NTOR3_CLIENT_OVERHEAD;
  st = al_calloc(1, sizeof(*st));
  memcpy(st->c.id, id, NTOR3_ID_LEN);
  memcpy(st->c.B, b->pub, KLEN);
  memcpy(st->c.X, onionskin + NTOR3_ONIONSKIN_X_OFF, KLEN);
  st->c.ver = al_memdup(ver_len ? ver : (const uint8_t *)"", ver_len ? ver_len : 1);
  st->c.ver_len = ver_len;
  if (x25519_scalarmult(st->c.dh_b, b->sec, st->c.X) < 0 ||
      phase1_keys(&st->c, enc_k1, mac_k1) < 0 ||
      phase1_mac(&st->c, mac_k1, emsg, emsg_len, st->c.msg_mac) < 0)
    goto done;
  if (!crypto_memeq(st->c.msg_mac, emsg + emsg_len, NTOR3_MAC_LEN))
    goto done;
  if (emsg_len) {
    msg = al_malloc(emsg_len);
    if (aes256_zero_iv(enc_k1, emsg, msg, emsg_len) < 0)
      goto done;
  }
  *msg_out = msg;
  *msg_len_out = emsg_len;
  *state_out = st;
  msg = NULL;
  st = NULL;
  r = 0;
 done:
  al_free_secret(msg, emsg_len);
  ntor3_server_state_free(st);
  memwipe(enc_k1, sizeof(enc_k1));
  memwipe(mac_k1, sizeof(mac_k1));
  return r;
}

int
ntor3_server_reply(const ntor3_server_state_t *st,
                   const uint8_t *msg, size_t msg_len,
                   const x25519_keypair_t *y,
                   uint8_t **reply_out, size_t *reply_len_out,
                   uint8_t *keys_out, size_t keys_len)
{
  return ntor3_server_reply_traced(st, msg, msg_len, y, reply_out, reply_len_out,
                                   keys_out, keys_len, NULL);
}

int
ntor3_server_reply_traced(const ntor3_server_state_t *st,
                          const uint8_t *msg, size_t msg_len,
                          const x25519_keypair_t *y,
                          uint8_t **reply_out, size_t *reply_len_out,
                          uint8_t *keys_out, size_t keys_len, ntor3_trace_t *trace)
{
  x25519_keypair_t kp;
  uint8_t dh_y[32], verify[32], enc_key[32], *out = NULL;
  xof_ctx_t *kdf = NULL;
  size_t out_len = NTOR3_SERVER_OVERHEAD + msg_len;
  int r = -1;

  if (!st || (!msg && msg_len) || msg_len > NTOR3_MSG_MAX || !reply_out ||
      !reply_len_out || !keys_out || keys_len == 0 || keys_len > NTOR3_KEYS_MAX)
    return -1;
  if (y)
    kp = *y;
  else if (x25519_keypair_generate(&kp) < 0)
    return -1;
  if (x25519_scalarmult(dh_y, kp.sec, st->c.X) < 0 ||
      phase2_derive(&st->c, dh_y, kp.pub, &kdf, verify, trace) < 0)
    goto done;
  xof_ctx_squeeze(kdf, enc_key, sizeof(enc_key));
  xof_ctx_squeeze(kdf, keys_out, keys_len);
  out = al_malloc(out_len);
  memcpy(out, kp.pub, KLEN);
  if (aes256_zero_iv(enc_key, msg, out + NTOR3_SERVER_OVERHEAD, msg_len) < 0 ||
      phase2_auth(&st->c, verify, kp.pub, out + NTOR3_SERVER_OVERHEAD, msg_len,
                  out + KLEN) < 0)
    goto done;
  if (trace) {
    memcpy(trace->server_enc_key, enc_key, 32);
    memcpy(trace->auth, out + KLEN, 32);
  }
  *reply_out = out;
  *reply_len_out = out_len;
  out = NULL;
  r = 0;
 done:
  if (r < 0)
    memwipe(keys_out, keys_len);
  al_free(out);
  xof_ctx_free(kdf);
  memwipe(&kp, sizeof(kp));
  memwipe(dh_y, sizeof(dh_y));
  memwipe(verify, sizeof(verify));
  memwipe(enc_key, sizeof(enc_key));
  return r;
}

void
ntor3_server_state_free_(ntor3_server_state_t *st)
{
  if (!st)
    return;
  common_wipe(&st->c);
  al_free_secret_(st, sizeof(*st));
}

int
ntor3_ext_walk(const uint8_t *msg, size_t len, ntor3_ext_fn_t fn, void *arg,
               unsigned *n_out)
{
  if (n_out)
    *n_out = 0;
  if (len == 0)
    return 0;
  if (!msg)
    return NTOR3_EXT_TRUNCATED;
  unsigned n = msg[0];
  size_t off = 1;
  for (unsigned i = 0; i < n; i++) {
    if (len - off < 2)
      return NTOR3_EXT_TRUNCATED;
    uint8_t type = msg[off], elen = msg[off + 1];
    off += 2;
    if (len - off < elen)
      return NTOR3_EXT_TRUNCATED;
    int r = fn(arg, type, msg + off, elen);
    if (r)
      return r;
    off += elen;
  }
  if (n_out)
    *n_out = n;
  return 0;
}
