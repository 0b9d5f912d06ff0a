/* hs_service_desc.c -- build a service's v3 descriptor for one time period
 * (rend-spec-v3 2.4 outer layer, 2.5 encrypted layers, A.2 blinding, F.2
 * revision counter): see hs_service_desc.h.
 */
#define LOG_MODULE "hs"
#include "allium/feature/hs_service/hs_service_desc.h"

#include <string.h>

#include "allium/feature/dirparse/hs_desc_outer.h"
/* hs_desc_outer.h and hs_desc_crypt.h both define HS_DESC_ERR_CERT (-10 and
 * -2); this file returns the inner layers' codes, so the inner one wins. */
#undef HS_DESC_ERR_CERT
#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define REV_CONST "rev-counter-generation"

uint64_t
hs_service_rev_counter(const ed25519_keypair_t *bk, int64_t period_start,
                       uint64_t length_min, uint64_t offset_min, time_t now)
{
  uint8_t in[sizeof(REV_CONST) - 1 + ED25519_SECKEY_LEN], key[32], buf[4096];
  int64_t srv_start = period_start - (int64_t)offset_min * 60;
  int64_t max_t = (int64_t)(length_min + offset_min) * 60;
  int64_t t = (int64_t)now - srv_start + 1;
  if (t < 1)
    t = 1;
  if (t > max_t)
    t = max_t;
  memcpy(in, REV_CONST, sizeof(REV_CONST) - 1);
  memcpy(in + sizeof(REV_CONST) - 1, bk->sec.seckey, ED25519_SECKEY_LEN);
  digest_sha3_256(key, in, sizeof(in));
  memwipe(in, sizeof(in));
  aes_ctr_t *c = aes_ctr_new(key, sizeof(key), NULL);
  memwipe(key, sizeof(key));
  if (!c)
    return 0;
  uint64_t sum = 0, words = (uint64_t)t;
  while (words) {
    size_t n = words * 2 < sizeof(buf) ? (size_t)words * 2 : sizeof(buf);
    memset(buf, 0, n);
    aes_ctr_crypt_inplace(c, buf, n);
    for (size_t i = 0; i < n; i += 2)
      sum += (uint64_t)buf[i] | ((uint64_t)buf[i + 1] << 8);
    words -= n / 2;
  }
  memwipe(buf, sizeof(buf));
  aes_ctr_free(c);
  return sum;
}

void
hs_service_desc_free_(hs_service_desc_t *d)
{
  if (!d)
    return;
  al_free(d->text);
  memwipe(d, sizeof(*d));
  al_free(d);
}

/* The second layer: formats, flags and the introduction points, whose
 * certificates the descriptor-signing key signs. */
static int
make_layer2(hs_desc_layer2_t *l2, const hs_service_desc_params_t *p,
            const ed25519_keypair_t *signing)
{
  l2->n_create2_formats = 1;
  l2->create2_formats[0] = 2;                 /* ntor */
  l2->single_onion_service = p->single_onion != 0;
  if (p->flow_control_sendme_inc) {
    l2->has_flow_control = 1;
    strcpy(l2->flow_control_versions, "1-2");
    l2->flow_control_sendme_inc = p->flow_control_sendme_inc;
  }
  l2->n_intro = p->n_intro;
  for (size_t i = 0; i < p->n_intro; i++) {
    const hs_service_intro_t *in = &p->intro[i];
    hs_desc_intro_point_t *ip = &l2->intro[i];
    memcpy(ip->onion_key, in->onion_key, X25519_KEY_LEN);
    memcpy(ip->enc_key, in->enc_key, X25519_KEY_LEN);
    int r = hs_desc_intro_point_init(ip, in->lspecs, &in->auth_key, signing, p->now,
                                     HS_DESC_CERT_LIFETIME);
    if (r < 0)
      return r;
  }
  return 0;
}

static int
check_params(const hs_service_desc_params_t *p)
{
  if (!p || !p->identity || p->n_intro > HS_DESC_MAX_INTRO_POINTS ||
      (p->n_intro && !p->intro) || (p->n_clients && !p->client_pubs))
    return HS_DESC_ERR_ARG;
  if (p->lifetime_min && (p->lifetime_min < HS_DESC_MIN_LIFETIME ||
                          p->lifetime_min > HS_DESC_MAX_LIFETIME))
    return HS_DESC_ERR_ARG;
  for (size_t i = 0; i < p->n_intro; i++)
    if (!p->intro[i].lspecs)
      return HS_DESC_ERR_ARG;
  return 0;
}

/* Encrypt l2 into the superencrypted blob and sign the outer layer. */
static int
seal(hs_service_desc_t *d, const hs_desc_layer2_t *l2, const hs_service_desc_params_t *p,
     const ed25519_keypair_t *blinded, const ed25519_keypair_t *signing)
{
  uint8_t *blob = NULL;
  size_t blob_len = 0;
  int r = hs_desc_encrypt_inner(&blob, &blob_len, l2, d->revision_counter, &d->blinded_key,
                                d->subcredential, p->client_pubs, p->n_clients);
  if (r == 0)
    r = hs_desc_outer_build(&d->text, &d->len, blinded, signing, p->now,
                            HS_DESC_CERT_LIFETIME, d->revision_counter,
                            p->lifetime_min ? p->lifetime_min : HS_DESC_DEFAULT_LIFETIME,
                            blob, blob_len);
  al_free(blob);
  return r;
}

int
hs_service_desc_build(const hs_service_desc_params_t *p, hs_service_desc_t **out)
{
  ed25519_keypair_t blinded, signing;
  hs_desc_layer2_t *l2 = NULL;
  int r = check_params(p);
  if (!out)
    return HS_DESC_ERR_ARG;
  *out = NULL;
  if (r < 0)
    return r;
  uint64_t len = p->period_length ? p->period_length : HS_DEFAULT_PERIOD_LENGTH;
  uint64_t off = p->rotation_offset ? p->rotation_offset : HS_DEFAULT_ROTATION_OFFSET;
  memset(&blinded, 0, sizeof(blinded));
  memset(&signing, 0, sizeof(signing));
  hs_service_desc_t *d = al_calloc(1, sizeof(*d));
  if (hs_blind_keypair(&blinded, p->identity, NULL, 0, p->period_num, len) < 0 ||
      ed25519_keypair_generate(&signing) < 0 ||
      hs_subcredential_from_identity(d->subcredential, &p->identity->pub, &blinded.pub) < 0)
    r = HS_DESC_ERR_ARG;
  d->blinded_key = blinded.pub;
  d->revision_counter = p->fixed_revision
      ? p->revision_counter
      : hs_service_rev_counter(&blinded, hs_time_period_start(p->period_num, len, off), len,
                               off, p->now);
  if (r == 0) {
    l2 = al_calloc(1, sizeof(*l2));
    r = make_layer2(l2, p, &signing);
  }
  if (r == 0)
    r = seal(d, l2, p, &blinded, &signing);
  hs_desc_layer2_free(l2);
  ed25519_keypair_wipe(&blinded);
  ed25519_keypair_wipe(&signing);
  if (r < 0) {
    hs_service_desc_free(d);
    return r;
  }
  *out = d;
  return 0;
}
