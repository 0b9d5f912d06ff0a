/* hs_desc_entry.c -- the whole inner part of a v3 onion service descriptor:
 * decrypt-and-parse for a client, build-and-encrypt for a service
 * (rend-spec-v3 2.5.1, 2.5.1.3, 2.5.1.4, 2.5.2).  The outer layer that
 * carries the superencrypted blob is not handled here. */
#include <string.h>

#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

int
hs_desc_decrypt_inner(const uint8_t *superenc, size_t len, uint64_t revision_counter,
                      const ed25519_public_key_t *blinded_pk,
                      const uint8_t subcred[HS_DIGEST_LEN], const uint8_t *client_secret,
                      const ed25519_public_key_t *signing_key, time_t now,
                      hs_desc_layer2_t **out, netdoc_err_t *err)
{
  if (!out || !blinded_pk || !subcred || (!superenc && len))
    return HS_DESC_ERR_ARG;
  *out = NULL;
  char *pt1 = NULL, *pt2 = NULL;
  size_t pt1_len = 0, pt2_len = 0;
  hs_desc_layer1_t *l1 = NULL;
  uint8_t cookie[HS_DESC_COOKIE_LEN];
  int have_cookie = 0;

  int rv = hs_desc_layer_decrypt(&pt1, &pt1_len, HS_DESC_LAYER_SUPERENCRYPTED, blinded_pk,
                                 NULL, subcred, revision_counter, superenc, len);
  if (rv == HS_DESC_OK)
    rv = hs_desc_layer1_parse(pt1, pt1_len, &l1, err);
  if (rv == HS_DESC_OK && client_secret)
    have_cookie = hs_desc_layer1_find_cookie(l1, client_secret, subcred, cookie) == 0;
  if (rv == HS_DESC_OK) {
    /* Without our cookie, try the layer as one without client auth. */
    rv = hs_desc_layer_decrypt(&pt2, &pt2_len, HS_DESC_LAYER_ENCRYPTED, blinded_pk,
                               have_cookie ? cookie : NULL, subcred, revision_counter,
                               l1->encrypted, l1->encrypted_len);
    if (rv == HS_DESC_ERR_MAC && !have_cookie)
      rv = HS_DESC_ERR_AUTH;
  }
  if (rv == HS_DESC_OK)
    rv = hs_desc_layer2_parse(pt2, pt2_len, signing_key, now, out, err);
  memwipe(cookie, sizeof(cookie));
  if (pt1)
    al_free_secret(pt1, pt1_len);
  if (pt2)
    al_free_secret(pt2, pt2_len);
  hs_desc_layer1_free(l1);
  return rv;
}

int
hs_desc_encrypt_inner(uint8_t **out, size_t *outlen, const hs_desc_layer2_t *l2,
                      uint64_t revision_counter, const ed25519_public_key_t *blinded_pk,
                      const uint8_t subcred[HS_DIGEST_LEN],
                      const uint8_t (*client_pubs)[X25519_KEY_LEN], size_t n_clients)
{
  if (!out || !outlen || !l2 || !blinded_pk || !subcred || (n_clients && !client_pubs))
    return HS_DESC_ERR_ARG;
  *out = NULL;
  *outlen = 0;
  char *pt2 = NULL, *pt1 = NULL;
  size_t pt2_len = 0, pt1_len = 0;
  uint8_t cookie[HS_DESC_COOKIE_LEN];
  x25519_keypair_t eph;
  hs_desc_layer1_t *l1 = al_calloc(1, sizeof(*l1));
  memset(&eph, 0, sizeof(eph));
  crypto_rand(cookie, sizeof(cookie));

  int rv = hs_desc_layer2_build(l2, &pt2, &pt2_len);
  if (rv == HS_DESC_OK)
    rv = hs_desc_layer_encrypt(&l1->encrypted, &l1->encrypted_len, HS_DESC_LAYER_ENCRYPTED,
                               blinded_pk, n_clients ? cookie : NULL, subcred,
                               revision_counter, NULL, (const uint8_t *)pt2, pt2_len);
  if (rv == HS_DESC_OK && x25519_keypair_generate(&eph) < 0)
    rv = HS_DESC_ERR_ARG;
  if (rv == HS_DESC_OK) {
    memcpy(l1->ephemeral_key, eph.pub, X25519_KEY_LEN);
    rv = hs_desc_layer1_set_clients(l1, eph.sec, client_pubs, n_clients, subcred, cookie);
  }
  if (rv == HS_DESC_OK)
    rv = hs_desc_layer1_build(l1, &pt1, &pt1_len);
  if (rv == HS_DESC_OK)
    rv = hs_desc_layer_encrypt(out, outlen, HS_DESC_LAYER_SUPERENCRYPTED, blinded_pk, NULL,
                               subcred, revision_counter, NULL, (const uint8_t *)pt1,
                               pt1_len);
  memwipe(cookie, sizeof(cookie));
  memwipe(&eph, sizeof(eph));
  if (pt1)
    al_free_secret(pt1, pt1_len);
  if (pt2)
    al_free_secret(pt2, pt2_len);
  hs_desc_layer1_free(l1);
  return rv;
}
