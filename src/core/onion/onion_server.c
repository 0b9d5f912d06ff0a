/* onion_server.c -- answer a create cell at a relay: CREATE2 with ntor
 * (tor-spec 5.1, 5.1.4) or ntor v3 (proposal 332 A.2, with the extensions
 * of proposals 324 and 346), CREATE_FAST (5.1.5, KDF-TOR 5.2.1); CREATE and
 * TAP refused (tor 0.4.9, proposal 350).  Pure and thread-safe: no globals,
 * no logging.  See include/allium/core/onion/onion_server.h.
 */
#include "allium/core/onion/onion_server.h"

#include <string.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/core/onion/onion_ntor_v3.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/kdf.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

/* KDF-TOR output for CREATE_FAST: KH(20) | Df | Db | Kf | Kb. */
#define FAST_KDF_LEN (CELL_FAST_KEY_LEN + ONION_KEYS_LEN)
/* Key material of ntor / ntor v3: Df | Db | Kf | Kb | KH (tor-spec 5.2.2). */
#define KEY_MATERIAL_LEN (ONION_KEYS_LEN + ONION_KH_LEN)
/* Largest server message we build (CC_RESPONSE is 4 bytes). */
#define SERVER_MSG_MAX 16

static int
fail(onion_answer_t *ans, int err, uint8_t reason, const char *what)
{
  memwipe(ans, sizeof(*ans));
  ans->destroy_reason = reason;
  ans->error = what;
  return err;
}

typedef struct client_ext_t {
  onion_v3_client_msg_t *out;
  bool seen_sub;
} client_ext_t;

static int
client_ext_one(void *arg, uint8_t type, const uint8_t *body, uint8_t elen)
{
  client_ext_t *x = arg;
  (void)body;
  if (type == ONION_EXT_CC_REQUEST) {
    x->out->cc_requested = true;  /* body is empty; extra bytes ignored */
  } else if (type == ONION_EXT_SUBPROTO && !x->seen_sub) {
    x->seen_sub = true;
    /* (protocol id, capability) pairs; we support none of them, so any
     * request (even an odd-length one) is one we must refuse. */
    x->out->subproto_requested = elen > 0;
  }
  return 0;
}

int
onion_v3_client_msg_parse(onion_v3_client_msg_t *out, const uint8_t *msg,
                          size_t len)
{
  memset(out, 0, sizeof(*out));
  client_ext_t x = { out, false };
  return ntor3_ext_walk(msg, len, client_ext_one, &x, NULL) == 0
             ? 0 : ONION_ERR_MALFORMED;
}

/* ---- CREATE_FAST (5.1.5): K0 = X | Y; reply Y | KH ---- */

static int
answer_fast(onion_answer_t *ans, const uint8_t *payload, size_t len)
{
  cell_create_fast_t cf;
  cell_created_fast_t cd;
  uint8_t k0[2 * CELL_FAST_KEY_LEN];
  uint8_t k[FAST_KDF_LEN];
  size_t n;
  if (cell_create_fast_decode(&cf, payload, len) < 0)
    return fail(ans, ONION_ERR_MALFORMED, CELL_DESTROY_PROTOCOL,
                "truncated CREATE_FAST");
  crypto_rand(cd.y, sizeof(cd.y));
  memcpy(k0, cf.x, CELL_FAST_KEY_LEN);
  memcpy(k0 + CELL_FAST_KEY_LEN, cd.y, CELL_FAST_KEY_LEN);
  int r = crypto_kdf_tor(k, sizeof(k), k0, sizeof(k0));
  memwipe(k0, sizeof(k0));
  memwipe(&cf, sizeof(cf));
  if (r == 0) {
    memcpy(cd.kh, k, CELL_FAST_KEY_LEN);
    memcpy(ans->kh, k, ONION_KH_LEN);
    memcpy(ans->keys, k + CELL_FAST_KEY_LEN, ONION_KEYS_LEN);
    r = cell_created_fast_encode(&cd, ans->reply, sizeof(ans->reply), &n);
  }
  memwipe(k, sizeof(k));
  memwipe(&cd, sizeof(cd));
  if (r < 0)
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_INTERNAL,
                "CREATE_FAST key derivation failed");
  ans->command = CELL_CREATED_FAST;
  ans->htype = ONION_HTYPE_FAST;
  return 0;
}

/* The onion key the client named (current or previous), or NULL. */
static const x25519_keypair_t *
pick_key(const onion_server_keys_t *keys, const uint8_t keyid[X25519_KEY_LEN],
         bool *old)
{
  *old = false;
  if (crypto_memeq(keyid, keys->ntor.pub, X25519_KEY_LEN))
    return &keys->ntor;
  if (keys->has_old &&
      crypto_memeq(keyid, keys->ntor_old.pub, X25519_KEY_LEN)) {
    *old = true;
    return &keys->ntor_old;
  }
  return NULL;
}

static int
put_created2(onion_answer_t *ans, const uint8_t *hdata, size_t hlen)
{
  cell_created2_t cd = { (uint16_t)hlen, hdata };
  size_t n;
  if (hlen > CELL_CREATED2_HDATA_MAX ||
      cell_created2_encode(&cd, ans->reply, sizeof(ans->reply), &n) < 0)
    return -1;
  ans->command = CELL_CREATED2;
  return 0;
}

/* ---- ntor (5.1.4) ---- */

static int
answer_ntor(onion_answer_t *ans, const onion_server_keys_t *keys,
            const cell_create2_t *cr)
{
  uint8_t reply[NTOR_REPLY_LEN], km[KEY_MATERIAL_LEN];
  bool old;
  if (cr->hlen != NTOR_ONIONSKIN_LEN)
    return fail(ans, ONION_ERR_MALFORMED, CELL_DESTROY_PROTOCOL,
                "ntor onionskin of the wrong length");
  const x25519_keypair_t *kp =
    pick_key(keys, cr->hdata + NTOR_ONIONSKIN_KEYID_OFF, &old);
  if (!kp)
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_PROTOCOL,
                "ntor onionskin for an unknown onion key");
  if (ntor_server_respond(reply, km, sizeof(km), cr->hdata, keys->rsa_id,
                          kp, NULL) < 0) {
    memwipe(km, sizeof(km));
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_PROTOCOL,
                "ntor handshake failed");
  }
  memcpy(ans->keys, km, ONION_KEYS_LEN);
  memcpy(ans->kh, km + ONION_KEYS_LEN, ONION_KH_LEN);
  memwipe(km, sizeof(km));
  int r = put_created2(ans, reply, sizeof(reply));
  memwipe(reply, sizeof(reply));
  if (r < 0)
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_INTERNAL,
                "CREATED2 encoding failed");
  ans->htype = CELL_HTYPE_NTOR;
  ans->used_old_key = old;
  return 0;
}

/* ---- ntor v3 (proposal 332) ---- */

/* Build the server message: CC_RESPONSE when asked and offered. */
static size_t
v3_server_msg(onion_answer_t *ans, const onion_v3_client_msg_t *cm,
              const onion_server_params_t *params, uint8_t *sm)
{
  if (!cm->cc_requested || !params || params->cc_sendme_inc == 0)
    return 0;
  sm[0] = 1;                         /* N_EXTENSIONS */
  sm[1] = ONION_EXT_CC_RESPONSE;
  sm[2] = 1;
  sm[3] = params->cc_sendme_inc;
  ans->cc_negotiated = true;
  ans->cc_sendme_inc = params->cc_sendme_inc;
  return 4;
}

static int
v3_reply(onion_answer_t *ans, const ntor3_server_state_t *st,
         const uint8_t *msg, size_t msg_len,
         const onion_server_params_t *params)
{
  onion_v3_client_msg_t cm;
  uint8_t sm[SERVER_MSG_MAX], km[KEY_MATERIAL_LEN];
  uint8_t *reply = NULL;
  size_t reply_len = 0;
  if (onion_v3_client_msg_parse(&cm, msg, msg_len) < 0)
    return fail(ans, ONION_ERR_MALFORMED, CELL_DESTROY_PROTOCOL,
                "malformed ntor v3 extensions");
  if (cm.subproto_requested)
    return fail(ans, ONION_ERR_REFUSED, CELL_DESTROY_PROTOCOL,
                "ntor v3 SUBPROTO request for a protocol we lack");
  ans->cc_requested = cm.cc_requested;
  size_t sm_len = v3_server_msg(ans, &cm, params, sm);
  if (ntor3_server_reply(st, sm, sm_len, NULL, &reply, &reply_len, km,
                         sizeof(km)) < 0) {
    memwipe(km, sizeof(km));
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_PROTOCOL,
                "ntor v3 reply failed");
  }
  memcpy(ans->keys, km, ONION_KEYS_LEN);
  memcpy(ans->kh, km + ONION_KEYS_LEN, ONION_KH_LEN);
  memwipe(km, sizeof(km));
  int r = put_created2(ans, reply, reply_len);
  memwipe(reply, reply_len);
  al_free(reply);
  if (r < 0)
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_INTERNAL,
                "ntor v3 reply too long");
  return 0;
}

static int
answer_ntor3(onion_answer_t *ans, const onion_server_keys_t *keys,
             const onion_server_params_t *params, const cell_create2_t *cr)
{
  static const uint8_t ver[] = NTOR3_CIRC_VERIFICATION;
  ntor3_server_state_t *st = NULL;
  uint8_t *msg = NULL;
  size_t msg_len = 0;
  bool old;
  if (!keys->has_ed_id)
    return fail(ans, ONION_ERR_REFUSED, CELL_DESTROY_PROTOCOL,
                "ntor v3 without an ed25519 identity");
  if (cr->hlen < NTOR3_CLIENT_OVERHEAD)
    return fail(ans, ONION_ERR_MALFORMED, CELL_DESTROY_PROTOCOL,
                "ntor v3 onionskin too short");
  const x25519_keypair_t *kp =
    pick_key(keys, cr->hdata + NTOR3_ONIONSKIN_KEYID_OFF, &old);
  if (!kp)
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_PROTOCOL,
                "ntor v3 onionskin for an unknown onion key");
  if (ntor3_server_process(&st, &msg, &msg_len, cr->hdata, cr->hlen,
                           keys->ed_id, kp, ver, sizeof(ver) - 1) < 0)
    return fail(ans, ONION_ERR_HANDSHAKE, CELL_DESTROY_PROTOCOL,
                "ntor v3 handshake failed");
  int r = v3_reply(ans, st, msg, msg_len, params);
  ntor3_server_state_free(st);
  if (msg) {
    memwipe(msg, msg_len);
    al_free(msg);
  }
  if (r < 0)
    return r;
  ans->htype = CELL_HTYPE_NTOR_V3;
  ans->used_old_key = old;
  return 0;
}

int
onion_server_answer(onion_answer_t *ans, const onion_server_keys_t *keys,
                    const onion_server_params_t *params, uint8_t command,
                    const uint8_t *payload, size_t len)
{
  cell_create2_t cr;
  if (!ans)
    return ONION_ERR_ARG;
  memset(ans, 0, sizeof(*ans));
  if (!keys || (!payload && len))
    return fail(ans, ONION_ERR_ARG, CELL_DESTROY_INTERNAL, "bad arguments");
  switch (command) {
  case CELL_CREATE_FAST:
    return answer_fast(ans, payload, len);
  case CELL_CREATE2:
    break;
  case CELL_CREATE:
    return fail(ans, ONION_ERR_REFUSED, CELL_DESTROY_PROTOCOL,
                "CREATE (TAP) is not supported");
  default:
    return fail(ans, ONION_ERR_REFUSED, CELL_DESTROY_PROTOCOL,
                "not a create cell");
  }
  /* HTYPE first, so TAP is refused whatever its HLEN. */
  if (len >= 2 && (payload[0] << 8 | payload[1]) == CELL_HTYPE_TAP)
    return fail(ans, ONION_ERR_REFUSED, CELL_DESTROY_PROTOCOL,
                "CREATE2 with TAP is not supported");
  if (!payload || cell_create2_decode(&cr, payload, len) < 0)
    return fail(ans, ONION_ERR_MALFORMED, CELL_DESTROY_PROTOCOL,
                "malformed CREATE2");
  switch (cr.htype) {
  case CELL_HTYPE_NTOR:
    return answer_ntor(ans, keys, &cr);
  case CELL_HTYPE_NTOR_V3:
    return answer_ntor3(ans, keys, params, &cr);
  default:
    return fail(ans, ONION_ERR_REFUSED, CELL_DESTROY_PROTOCOL,
                "CREATE2 with an unknown handshake type");
  }
}

void
onion_answer_wipe(onion_answer_t *ans)
{
  if (ans)
    memwipe(ans, sizeof(*ans));
}
