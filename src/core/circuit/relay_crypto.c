/* relay_crypto.c -- per-hop relay cell crypto (tor-spec 0.3 ciphers, 5.2
 * key use, 5.5 routing of relay cells, 6.1 'recognized' and digest; the HS
 * hop of rend-spec-v3 4.2.1 / 5 with SHA3-256 and AES-256).
 *
 * Each direction has one AES-CTR stream that runs over all cells of that
 * direction at this hop, and one running digest that covers only the cells
 * that begin or end at this hop (with their digest field zeroed).  Checking
 * a cell works on a scratch copy of the running digest, which replaces the
 * live one only when the cell is recognized; so a cell that merely has
 * recognized == 0 by chance leaves the digest state untouched.
 */
#include <string.h>

#include "allium/core/circuit/relay_crypto.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

/* One direction of one hop. */
typedef struct relay_dir_t {
  aes_ctr_t *cipher;
  digest_ctx_t *digest;
} relay_dir_t;

struct relay_crypto_t {
  relay_dir_t fwd;
  relay_dir_t bwd;
  digest_ctx_t *scratch;   /* same algorithm; used when checking a cell */
};

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
dir_init(relay_dir_t *d, digest_alg_t alg, const uint8_t *seed, size_t seed_len,
         const uint8_t *key, size_t key_len)
{
  d->digest = digest_ctx_new(alg);
  d->cipher = aes_ctr_new(key, key_len, NULL);
  if (!d->digest || !d->cipher)
    return -1;
  digest_ctx_add(d->digest, seed, seed_len);
  return 0;
}

relay_crypto_t *
relay_crypto_new(relay_crypto_kind_t kind, const uint8_t *keys, size_t keys_len,
                 int reverse)
{
  size_t need = relay_crypto_key_material_len(kind);
  size_t dlen = kind == RELAY_CRYPTO_HS ? 32 : 20;
  size_t klen = kind == RELAY_CRYPTO_HS ? 32 : 16;
  digest_alg_t alg = kind == RELAY_CRYPTO_HS ? DIGEST_ALG_SHA3_256 : DIGEST_ALG_SHA1;
  const uint8_t *df, *db, *kf, *kb;
  relay_crypto_t *c;

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
  if (dir_init(&c->fwd, alg, df, dlen, kf, klen) < 0 ||
      dir_init(&c->bwd, alg, db, dlen, kb, klen) < 0 ||
      !(c->scratch = digest_ctx_new(alg))) {
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
  aes_ctr_free(c->fwd.cipher);
  aes_ctr_free(c->bwd.cipher);
  digest_ctx_free(c->fwd.digest);
  digest_ctx_free(c->bwd.digest);
  digest_ctx_free(c->scratch);
  al_free_secret_(c, sizeof(*c));
}

/* Sender side: recognized = 0, digest field = first 4 bytes of the running
 * digest after adding the cell with a zero digest field. */
static void
dir_set_digest(relay_dir_t *d, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  memset(cell + RELAY_OFF_RECOGNIZED, 0, 2);
  memset(cell + RELAY_OFF_DIGEST, 0, RELAY_DIGEST_FIELD_LEN);
  digest_ctx_add(d->digest, cell, RELAY_PAYLOAD_LEN);
  digest_ctx_peek(d->digest, cell + RELAY_OFF_DIGEST, RELAY_DIGEST_FIELD_LEN);
}

/* Receiver side, on a decrypted cell: 1 if recognized (the running digest
 * then covers it), else 0 with the running digest unchanged.  The cell is
 * left as it was. */
static int
dir_check(relay_dir_t *d, digest_ctx_t **scratch, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  uint8_t got[RELAY_DIGEST_FIELD_LEN], want[RELAY_DIGEST_FIELD_LEN];
  digest_ctx_t *tmp;
  int ok;

  if (cell[RELAY_OFF_RECOGNIZED] != 0 || cell[RELAY_OFF_RECOGNIZED + 1] != 0)
    return 0;
  memcpy(got, cell + RELAY_OFF_DIGEST, sizeof(got));
  memset(cell + RELAY_OFF_DIGEST, 0, sizeof(got));
  digest_ctx_assign(*scratch, d->digest);
  digest_ctx_add(*scratch, cell, RELAY_PAYLOAD_LEN);
  digest_ctx_peek(*scratch, want, sizeof(want));
  memcpy(cell + RELAY_OFF_DIGEST, got, sizeof(got));
  ok = crypto_memeq(got, want, sizeof(got));
  if (ok) {               /* adopt the state that includes this cell */
    tmp = d->digest;
    d->digest = *scratch;
    *scratch = tmp;
  }
  return ok;
}

int
relay_crypto_origin_encrypt(relay_crypto_t *const *hops, size_t n_hops,
                            size_t target, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  if (!hops || !cell || target >= n_hops)
    return -1;
  dir_set_digest(&hops[target]->fwd, cell);
  for (size_t i = target + 1; i-- > 0;)
    aes_ctr_crypt_inplace(hops[i]->fwd.cipher, cell, RELAY_PAYLOAD_LEN);
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
    aes_ctr_crypt_inplace(h->bwd.cipher, cell, RELAY_PAYLOAD_LEN);
    if (dir_check(&h->bwd, &h->scratch, cell)) {
      *hop_out = i;
      return 0;
    }
  }
  return -1;
}

int
relay_crypto_relay_decrypt(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  aes_ctr_crypt_inplace(c->fwd.cipher, cell, RELAY_PAYLOAD_LEN);
  return dir_check(&c->fwd, &c->scratch, cell);
}

void
relay_crypto_relay_encrypt(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  aes_ctr_crypt_inplace(c->bwd.cipher, cell, RELAY_PAYLOAD_LEN);
}

void
relay_crypto_relay_originate(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  dir_set_digest(&c->bwd, cell);
  aes_ctr_crypt_inplace(c->bwd.cipher, cell, RELAY_PAYLOAD_LEN);
}

void
relay_crypto_digest_peek(const relay_crypto_t *c, int backward, uint8_t *out,
                         size_t n)
{
  digest_ctx_peek(backward ? c->bwd.digest : c->fwd.digest, out, n);
}
