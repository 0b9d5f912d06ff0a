/* relay_crypto.c -- per-hop relay cell crypto (tor-spec 0.3 ciphers, 5.2
 * key use, 5.5 routing of relay cells, 6.1 'recognized' and digest; the HS
 * hop of rend-spec-v3 4.2.1 / 5 with SHA3-256 and AES-256).
 *
 * Each direction has one AES-CTR stream that runs over all cells of that
 * direction at this hop, and one running digest that covers only the cells
 * that begin or end at this hop (with their digest field zeroed).  Checking
 * a cell works on a scratch copy of the running digest, which replaces the
 * live one only when the cell is recognized; so a cell that merely has
 * recognized == 0 by chance leaves the digest state untouched.  (For SHA-1
 * hops the scratch copy is a 96-byte value on the stack.)
 */
#include <string.h>

#include "allium/core/circuit/relay_crypto.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

/* Per-hop state, one allocation.  TOR1 hops (every hop of every relay
 * circuit, so this is most of a relay circuit's memory) keep AES-128-CTR
 * and the running SHA-1 of each direction inline: ~660 bytes instead of
 * ~2.3 KiB in 11 allocations of OpenSSL EVP contexts.  The rare onion
 * service hop (SHA3-256, AES-256) keeps EVP contexts.  Index 0 is the
 * forward direction, 1 the backward one. */
struct relay_crypto_t {
  relay_crypto_kind_t kind;
  union {
    struct {
      aes128_ctr_t k[2];
      digest_sha1_run_t d[2];
    } t1;
    struct {
      aes_ctr_t *k[2];
      digest_ctx_t *d[2];
      digest_ctx_t *scratch;  /* used when checking a cell */
    } hs;
  } u;
};

#define FWD 0
#define BWD 1

size_t
relay_crypto_key_material_len(relay_crypto_kind_t kind)
{
  switch (kind) {
  case RELAY_CRYPTO_TOR1: return 2 * 20 + 2 * 16;
  case RELAY_CRYPTO_HS: return 4 * 32;
  }
  return 0;
}

static int
hs_dir_init(relay_crypto_t *c, int i, const uint8_t *seed, const uint8_t *key)
{
  c->u.hs.d[i] = digest_ctx_new(DIGEST_ALG_SHA3_256);
  c->u.hs.k[i] = aes_ctr_new(key, 32, NULL);
  if (!c->u.hs.d[i] || !c->u.hs.k[i])
    return -1;
  digest_ctx_add(c->u.hs.d[i], seed, 32);
  return 0;
}

static int
t1_dir_init(relay_crypto_t *c, int i, const uint8_t *seed, const uint8_t *key)
{
  digest_sha1_run_init(&c->u.t1.d[i]);
  digest_sha1_run_add(&c->u.t1.d[i], seed, 20);
  return aes128_ctr_init(&c->u.t1.k[i], key, NULL);
}

relay_crypto_t *
relay_crypto_new(relay_crypto_kind_t kind, const uint8_t *keys, size_t keys_len,
                 int reverse)
{
  size_t need = relay_crypto_key_material_len(kind);
  size_t dlen = kind == RELAY_CRYPTO_HS ? 32 : 20;
  size_t klen = kind == RELAY_CRYPTO_HS ? 32 : 16;
  const uint8_t *df, *db, *kf, *kb;
  relay_crypto_t *c;
  int r;

  if (need == 0 || !keys || keys_len < need)
    return NULL;
  df = keys;
  db = keys + dlen;
  kf = keys + 2 * dlen;
  kb = kf + klen;
  if (reverse) {
    const uint8_t *t = df; df = db; db = t;
    t = kf; kf = kb; kb = t;
  }
  c = al_calloc(1, sizeof(*c));
  c->kind = kind;
  if (kind == RELAY_CRYPTO_HS) {
    r = hs_dir_init(c, FWD, df, kf);
    if (r == 0)
      r = hs_dir_init(c, BWD, db, kb);
    if (r == 0 && !(c->u.hs.scratch = digest_ctx_new(DIGEST_ALG_SHA3_256)))
      r = -1;
  } else {
    r = t1_dir_init(c, FWD, df, kf);
    if (r == 0)
      r = t1_dir_init(c, BWD, db, kb);
  }
  if (r < 0) {
    relay_crypto_free(c);
    return NULL;
  }
  return c;
}

void
relay_crypto_free_(relay_crypto_t *c)
{
  if (!c)
    return;
  if (c->kind == RELAY_CRYPTO_HS) {
    for (int i = 0; i < 2; i++) {
      aes_ctr_free(c->u.hs.k[i]);
      digest_ctx_free(c->u.hs.d[i]);
    }
    digest_ctx_free(c->u.hs.scratch);
  } else {
    for (int i = 0; i < 2; i++) {
      aes128_ctr_clear(&c->u.t1.k[i]);
      digest_sha1_run_clear(&c->u.t1.d[i]);
    }
  }
  al_free_secret_(c, sizeof(*c));
}

/* The cipher of direction i. */
static inline void
dir_crypt(relay_crypto_t *c, int i, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  if (c->kind == RELAY_CRYPTO_TOR1)
    aes128_ctr_crypt_inplace(&c->u.t1.k[i], cell, RELAY_PAYLOAD_LEN);
  else
    aes_ctr_crypt_inplace(c->u.hs.k[i], cell, RELAY_PAYLOAD_LEN);
}

static void
dir_peek(const relay_crypto_t *c, int i, uint8_t *out, size_t n)
{
  if (c->kind == RELAY_CRYPTO_TOR1)
    digest_sha1_run_peek(&c->u.t1.d[i], out, n);
  else
    digest_ctx_peek(c->u.hs.d[i], out, n);
}

/* Sender side: recognized = 0, digest field = first 4 bytes of the running
 * digest after adding the cell with a zero digest field. */
static void
dir_set_digest(relay_crypto_t *c, int i, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  memset(cell + RELAY_OFF_RECOGNIZED, 0, 2);
  memset(cell + RELAY_OFF_DIGEST, 0, RELAY_DIGEST_FIELD_LEN);
  if (c->kind == RELAY_CRYPTO_TOR1)
    digest_sha1_run_add(&c->u.t1.d[i], cell, RELAY_PAYLOAD_LEN);
  else
    digest_ctx_add(c->u.hs.d[i], cell, RELAY_PAYLOAD_LEN);
  dir_peek(c, i, cell + RELAY_OFF_DIGEST, RELAY_DIGEST_FIELD_LEN);
}

/* Receiver side, on a decrypted cell: 1 if recognized (the running digest
 * then covers it), else 0 with the running digest unchanged.  The cell is
 * left as it was. */
static int
dir_check(relay_crypto_t *c, int i, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  uint8_t got[RELAY_DIGEST_FIELD_LEN], want[RELAY_DIGEST_FIELD_LEN];
  digest_sha1_run_t tmp;
  digest_ctx_t *swap;
  int ok;

  if (cell[RELAY_OFF_RECOGNIZED] != 0 || cell[RELAY_OFF_RECOGNIZED + 1] != 0)
    return 0;
  memcpy(got, cell + RELAY_OFF_DIGEST, sizeof(got));
  memset(cell + RELAY_OFF_DIGEST, 0, sizeof(got));
  if (c->kind == RELAY_CRYPTO_TOR1) {
    tmp = c->u.t1.d[i];
    digest_sha1_run_add(&tmp, cell, RELAY_PAYLOAD_LEN);
    digest_sha1_run_peek(&tmp, want, sizeof(want));
  } else {
    digest_ctx_assign(c->u.hs.scratch, c->u.hs.d[i]);
    digest_ctx_add(c->u.hs.scratch, cell, RELAY_PAYLOAD_LEN);
    digest_ctx_peek(c->u.hs.scratch, want, sizeof(want));
  }
  memcpy(cell + RELAY_OFF_DIGEST, got, sizeof(got));
  ok = crypto_memeq(got, want, sizeof(got));
  if (ok) {               /* adopt the state that includes this cell */
    if (c->kind == RELAY_CRYPTO_TOR1) {
      c->u.t1.d[i] = tmp;
    } else {
      swap = c->u.hs.d[i];
      c->u.hs.d[i] = c->u.hs.scratch;
      c->u.hs.scratch = swap;
    }
  }
  if (c->kind == RELAY_CRYPTO_TOR1)
    digest_sha1_run_clear(&tmp);
  return ok;
}

int
relay_crypto_origin_encrypt(relay_crypto_t *const *hops, size_t n_hops,
                            size_t target, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  if (!hops || !cell || target >= n_hops)
    return -1;
  dir_set_digest(hops[target], FWD, cell);
  for (size_t i = target + 1; i-- > 0;)
    dir_crypt(hops[i], FWD, cell);
  return 0;
}

int
relay_crypto_origin_decrypt(relay_crypto_t *const *hops, size_t n_hops,
                            uint8_t cell[RELAY_PAYLOAD_LEN], size_t *hop_out)
{
  if (!hops || !cell || !hop_out)
    return -1;
  for (size_t i = 0; i < n_hops; i++) {
    relay_crypto_t *h = hops[i];
    dir_crypt(h, BWD, cell);
    if (dir_check(h, BWD, cell)) {
      *hop_out = i;
      return 0;
    }
  }
  return -1;
}

int
relay_crypto_relay_decrypt(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  dir_crypt(c, FWD, cell);
  return dir_check(c, FWD, cell);
}

void
relay_crypto_relay_encrypt(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  dir_crypt(c, BWD, cell);
}

void
relay_crypto_relay_originate(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  dir_set_digest(c, BWD, cell);
  dir_crypt(c, BWD, cell);
}

void
relay_crypto_digest_peek(const relay_crypto_t *c, int backward, uint8_t *out,
                         size_t n)
{
  dir_peek(c, backward ? BWD : FWD, out, n);
}
