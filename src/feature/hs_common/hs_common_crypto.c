/* hs_common_crypto.c -- onion service v3 crypto helpers (rend-spec-v3 6
 * [ONIONADDRESS], 2.2.7 address validation, A.2 [KEYBLIND], 2.1 [SUBCRED],
 * 2.2.1 [TIME-PERIODS], 2.2.3 [WHERE-HSDESC], 2.3.1 disaster SRV, 2.5.1.2
 * client authorization of descriptors).  H is SHA3-256, KDF is SHAKE-256,
 * INT_8 an 8-byte big-endian integer.
 */
#include <ctype.h>
#include <string.h>

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#define CHECKSUM_STR ".onion checksum"
#define BLIND_STR "Derive temporary signing key"
/* The ed25519 base point as the decimal "(x, y)" string of rend-spec-v3 A.2. */
#define BASEPOINT_STR \
  "(15112221349535400772501151409588531511454012693041857206046113283949847762202, " \
  "46316835694926478169428394003475163141307993866256225615783033603165251855960)"
#define ADDR_RAW_LEN (ED25519_PUBKEY_LEN + HS_CHECKSUM_LEN + 1)

static void
set_uint64_be(uint8_t out[8], uint64_t v)
{
  for (int i = 0; i < 8; i++)
    out[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* SHA3-256 of up to four (pointer, length) parts; unused parts NULL/0. */
static int
sha3_parts(uint8_t out[32], const void *p1, size_t n1, const void *p2, size_t n2,
           const void *p3, size_t n3, const void *p4, size_t n4)
{
  digest_ctx_t *d = digest_ctx_new(DIGEST_ALG_SHA3_256);
  if (!d)
    return -1;
  if (n1) digest_ctx_add(d, p1, n1);
  if (n2) digest_ctx_add(d, p2, n2);
  if (n3) digest_ctx_add(d, p3, n3);
  if (n4) digest_ctx_add(d, p4, n4);
  digest_ctx_peek(d, out, 32);
  digest_ctx_free(d);
  return 0;
}

/* ---- onion addresses ---- */

int
hs_onion_checksum(uint8_t out[HS_CHECKSUM_LEN], const ed25519_public_key_t *pk,
                  uint8_t version)
{
  uint8_t h[32];

  if (!out || !pk ||
      sha3_parts(h, CHECKSUM_STR, strlen(CHECKSUM_STR), pk->pubkey,
                 ED25519_PUBKEY_LEN, &version, 1, NULL, 0) < 0)
    return -1;
  memcpy(out, h, HS_CHECKSUM_LEN);
  return 0;
}

int
hs_onion_address_encode(char *out, size_t outlen, const ed25519_public_key_t *pk)
{
  uint8_t raw[ADDR_RAW_LEN];

  if (!out || !pk || outlen < HS_ONION_ADDR_LEN + 1)
    return -1;
  memcpy(raw, pk->pubkey, ED25519_PUBKEY_LEN);
  raw[ADDR_RAW_LEN - 1] = HS_VERSION;
  if (hs_onion_checksum(raw + ED25519_PUBKEY_LEN, pk, HS_VERSION) < 0 ||
      base32_encode(out, outlen, raw, sizeof(raw)) != HS_ONION_ADDR_NO_SUFFIX_LEN)
    return -1;
  memcpy(out + HS_ONION_ADDR_NO_SUFFIX_LEN, HS_ONION_SUFFIX, sizeof(HS_ONION_SUFFIX));
  return 0;
}

int
hs_onion_address_decode(const char *addr, ed25519_public_key_t *pk_out,
                        uint8_t checksum_out[HS_CHECKSUM_LEN], uint8_t *version_out)
{
  char lower[HS_ONION_ADDR_NO_SUFFIX_LEN];
  uint8_t raw[ADDR_RAW_LEN];
  size_t len;

  if (!addr)
    return -1;
  len = strlen(addr);
  if (len == HS_ONION_ADDR_LEN) {
    for (size_t i = 0; i < 6; i++)
      if (tolower((unsigned char)addr[HS_ONION_ADDR_NO_SUFFIX_LEN + i]) !=
          HS_ONION_SUFFIX[i])
        return -1;
  } else if (len != HS_ONION_ADDR_NO_SUFFIX_LEN) {
    return -1;
  }
  for (size_t i = 0; i < HS_ONION_ADDR_NO_SUFFIX_LEN; i++)
    lower[i] = (char)tolower((unsigned char)addr[i]);
  if (base32_decode(raw, sizeof(raw), lower, sizeof(lower)) != ADDR_RAW_LEN)
    return -1;
  if (pk_out)
    memcpy(pk_out->pubkey, raw, ED25519_PUBKEY_LEN);
  if (checksum_out)
    memcpy(checksum_out, raw + ED25519_PUBKEY_LEN, HS_CHECKSUM_LEN);
  if (version_out)
    *version_out = raw[ADDR_RAW_LEN - 1];
  return 0;
}

int
hs_onion_address_parse(const char *addr, ed25519_public_key_t *pk_out)
{
  ed25519_public_key_t pk;
  uint8_t got[HS_CHECKSUM_LEN], want[HS_CHECKSUM_LEN], version;

  if (hs_onion_address_decode(addr, &pk, got, &version) < 0 ||
      version != HS_VERSION ||
      hs_onion_checksum(want, &pk, version) < 0 ||
      memcmp(got, want, HS_CHECKSUM_LEN) != 0 ||
      ed25519_public_validate(&pk) < 0)
    return -1;
  if (pk_out)
    *pk_out = pk;
  return 0;
}

/* ---- blinding and credentials ---- */

void
hs_blinding_nonce(uint8_t out[HS_BLIND_NONCE_LEN], uint64_t period_num,
                  uint64_t period_length)
{
  memcpy(out, "key-blind", 9);
  set_uint64_be(out + 9, period_num);
  set_uint64_be(out + 17, period_length);
}

int
hs_blinding_factor(uint8_t h_out[32], const ed25519_public_key_t *pk,
                   const uint8_t *secret, size_t secret_len,
                   uint64_t period_num, uint64_t period_length)
{
  uint8_t nonce[HS_BLIND_NONCE_LEN];
  digest_ctx_t *d;

  if (!h_out || !pk || (!secret && secret_len))
    return -1;
  hs_blinding_nonce(nonce, period_num, period_length);
  if (!(d = digest_ctx_new(DIGEST_ALG_SHA3_256)))
    return -1;
  digest_ctx_add(d, BLIND_STR, sizeof(BLIND_STR));   /* includes INT_1(0) */
  digest_ctx_add(d, pk->pubkey, ED25519_PUBKEY_LEN);
  if (secret_len)
    digest_ctx_add(d, secret, secret_len);
  digest_ctx_add(d, BASEPOINT_STR, strlen(BASEPOINT_STR));
  digest_ctx_add(d, nonce, sizeof(nonce));
  digest_ctx_peek(d, h_out, 32);
  digest_ctx_free(d);
  return 0;
}

int
hs_blind_public_key(ed25519_public_key_t *out, const ed25519_public_key_t *pk,
                    const uint8_t *secret, size_t secret_len,
                    uint64_t period_num, uint64_t period_length)
{
  uint8_t h[32];
  int r;

  if (!out || hs_blinding_factor(h, pk, secret, secret_len, period_num,
                                 period_length) < 0)
    return -1;
  r = ed25519_public_blind(out, pk, h);
  memwipe(h, sizeof(h));
  return r < 0 ? -1 : 0;
}

int
hs_blind_keypair(ed25519_keypair_t *out, const ed25519_keypair_t *kp,
                 const uint8_t *secret, size_t secret_len,
                 uint64_t period_num, uint64_t period_length)
{
  uint8_t h[32];
  int r;

  if (!out || !kp || hs_blinding_factor(h, &kp->pub, secret, secret_len,
                                        period_num, period_length) < 0)
    return -1;
  r = ed25519_keypair_blind(out, kp, h);
  memwipe(h, sizeof(h));
  return r < 0 ? -1 : 0;
}

int
hs_credential(uint8_t out[HS_DIGEST_LEN], const ed25519_public_key_t *pk)
{
  if (!out || !pk)
    return -1;
  return sha3_parts(out, "credential", 10, pk->pubkey, ED25519_PUBKEY_LEN,
                    NULL, 0, NULL, 0);
}

int
hs_subcredential(uint8_t out[HS_DIGEST_LEN], const uint8_t credential[HS_DIGEST_LEN],
                 const ed25519_public_key_t *blinded_pk)
{
  if (!out || !credential || !blinded_pk)
    return -1;
  return sha3_parts(out, "subcredential", 13, credential, HS_DIGEST_LEN,
                    blinded_pk->pubkey, ED25519_PUBKEY_LEN, NULL, 0);
}

int
hs_subcredential_from_identity(uint8_t out[HS_DIGEST_LEN],
                               const ed25519_public_key_t *pk,
                               const ed25519_public_key_t *blinded_pk)
{
  uint8_t cred[HS_DIGEST_LEN];
  int r;

  if (hs_credential(cred, pk) < 0)
    return -1;
  r = hs_subcredential(out, cred, blinded_pk);
  memwipe(cred, sizeof(cred));
  return r;
}

/* ---- hash ring ---- */

int
hs_build_hs_index(uint8_t out[HS_DIGEST_LEN], const ed25519_public_key_t *blinded_pk,
                  uint64_t replica, uint64_t period_length, uint64_t period_num)
{
  uint8_t ints[24];

  if (!out || !blinded_pk)
    return -1;
  set_uint64_be(ints, replica);
  set_uint64_be(ints + 8, period_length);
  set_uint64_be(ints + 16, period_num);
  return sha3_parts(out, "store-at-idx", 12, blinded_pk->pubkey, ED25519_PUBKEY_LEN,
                    ints, sizeof(ints), NULL, 0);
}

int
hs_build_hsdir_index(uint8_t out[HS_DIGEST_LEN], const ed25519_public_key_t *node_id,
                     const uint8_t srv[HS_DIGEST_LEN], uint64_t period_num,
                     uint64_t period_length)
{
  uint8_t ints[16];

  if (!out || !node_id || !srv)
    return -1;
  set_uint64_be(ints, period_num);
  set_uint64_be(ints + 8, period_length);
  return sha3_parts(out, "node-idx", 8, node_id->pubkey, ED25519_PUBKEY_LEN,
                    srv, HS_DIGEST_LEN, ints, sizeof(ints));
}

int
hs_disaster_srv(uint8_t out[HS_DIGEST_LEN], uint64_t period_length, uint64_t period_num)
{
  uint8_t ints[16];

  if (!out)
    return -1;
  set_uint64_be(ints, period_length);
  set_uint64_be(ints + 8, period_num);
  return sha3_parts(out, "shared-random-disaster", 22, ints, sizeof(ints),
                    NULL, 0, NULL, 0);
}

/* ---- time periods ---- */

uint64_t
hs_time_period_num(int64_t now, uint64_t length_min, uint64_t offset_min)
{
  uint64_t minutes;

  if (length_min == 0)
    length_min = HS_DEFAULT_PERIOD_LENGTH;
  if (now < 0)
    return 0;
  minutes = (uint64_t)now / 60;
  if (minutes < offset_min)
    return 0;
  return (minutes - offset_min) / length_min;
}

int64_t
hs_time_period_start(uint64_t period_num, uint64_t length_min, uint64_t offset_min)
{
  if (length_min == 0)
    length_min = HS_DEFAULT_PERIOD_LENGTH;
  return (int64_t)((period_num * length_min + offset_min) * 60);
}

int64_t
hs_time_period_next_start(int64_t now, uint64_t length_min, uint64_t offset_min)
{
  return hs_time_period_start(hs_time_period_num(now, length_min, offset_min) + 1,
                              length_min, offset_min);
}

/* ---- client authorization ---- */

int
hs_client_auth_keys(uint8_t keys_out[HS_CLIENT_AUTH_KEYS_LEN], uint8_t *seed_out,
                    const uint8_t sec[32], const uint8_t pub[32],
                    const uint8_t subcred[HS_DIGEST_LEN])
{
  uint8_t seed[32];
  xof_ctx_t *x;
  int r = -1;

  if (!keys_out || !sec || !pub || !subcred)
    return -1;
  if (x25519_scalarmult(seed, sec, pub) < 0 || !(x = xof_ctx_new()))
    goto done;
  xof_ctx_add(x, subcred, HS_DIGEST_LEN);
  xof_ctx_add(x, seed, sizeof(seed));
  xof_ctx_squeeze(x, keys_out, HS_CLIENT_AUTH_KEYS_LEN);
  xof_ctx_free(x);
  if (seed_out)
    memcpy(seed_out, seed, sizeof(seed));
  r = 0;
 done:
  memwipe(seed, sizeof(seed));
  return r;
}

/* client_id and cookie key from KEYS. */
static int
client_auth_keys(uint8_t client_id[HS_CLIENT_ID_LEN], uint8_t cookie_key[32],
                 const uint8_t sec[32], const uint8_t pub[32],
                 const uint8_t subcred[HS_DIGEST_LEN])
{
  uint8_t keys[HS_CLIENT_AUTH_KEYS_LEN];

  if (hs_client_auth_keys(keys, NULL, sec, pub, subcred) < 0)
    return -1;
  memcpy(client_id, keys, HS_CLIENT_ID_LEN);
  memcpy(cookie_key, keys + HS_CLIENT_ID_LEN, 32);
  memwipe(keys, sizeof(keys));
  return 0;
}

static int
cookie_crypt(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in,
             uint8_t *out, size_t len)
{
  aes_ctr_t *c = aes_ctr_new(key, 32, iv);
  if (!c)
    return -1;
  if (len)
    aes_ctr_crypt(c, in, out, len);
  aes_ctr_free(c);
  return 0;
}

int
hs_client_auth_encrypt_cookie(uint8_t client_id_out[HS_CLIENT_ID_LEN],
                              uint8_t *encrypted_out, const uint8_t ephemeral_secret[32],
                              const uint8_t client_pub[32],
                              const uint8_t subcred[HS_DIGEST_LEN],
                              const uint8_t iv[HS_CLIENT_AUTH_IV_LEN],
                              const uint8_t *cookie, size_t cookie_len)
{
  uint8_t key[32];
  int r = -1;

  if (!client_id_out || !ephemeral_secret || !client_pub || !subcred || !iv ||
      ((!cookie || !encrypted_out) && cookie_len))
    return -1;
  if (client_auth_keys(client_id_out, key, ephemeral_secret, client_pub, subcred) == 0 &&
      cookie_crypt(key, iv, cookie, encrypted_out, cookie_len) == 0)
    r = 0;
  memwipe(key, sizeof(key));
  return r;
}

int
hs_client_auth_decrypt_cookie(uint8_t client_id_out[HS_CLIENT_ID_LEN],
                              uint8_t *cookie_out, const uint8_t client_secret[32],
                              const uint8_t ephemeral_pub[32],
                              const uint8_t subcred[HS_DIGEST_LEN],
                              const uint8_t iv[HS_CLIENT_AUTH_IV_LEN],
                              const uint8_t *encrypted, size_t len)
{
  uint8_t key[32];
  int r = -1;

  if (!client_id_out || !client_secret || !ephemeral_pub || !subcred ||
      (encrypted && (!iv || (!cookie_out && len))))
    return -1;
  if (client_auth_keys(client_id_out, key, client_secret, ephemeral_pub, subcred) == 0 &&
      (!encrypted || cookie_crypt(key, iv, encrypted, cookie_out, len) == 0))
    r = 0;
  memwipe(key, sizeof(key));
  return r;
}
