/* link_keys.c -- a relay's short-lived link credentials (TLS context,
 * CERTS types 1, 2, 3, 5, 6, 7 and the ed25519 AUTHENTICATE key) made from
 * its long-term keys; tor-spec.txt 2 and 4.2, cert-spec.txt 2.1, 2.3.
 * See link_keys.h. */
#include "allium/core/channel/link_keys.h"

#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"
#define LOG_MODULE "link"
#include "allium/lib/log/log.h"

struct link_keys_t {
  time_t created;
  time_t expires;             /* earliest expiry of anything below */
  tls_context_t *tls;
  ed25519_keypair_t auth_key;
  uint8_t *c3, *c4, *c5, *c6, *c7;
  size_t c3_len, c4_len, c5_len, c6_len, c7_len;
  link_creds_t creds;
};

/** The caller's type 4 must certify `signing`, be signed by ed_id and be
 * valid at now; its expiry bounds ours. */
static int check_type4(link_keys_t *k, const ed25519_public_key_t *ed_id,
                       const ed25519_keypair_t *signing, time_t now)
{
  torcert_t *c = NULL;
  int r = -1;
  if (torcert_parse(&c, k->c4, k->c4_len) < 0 ||
      c->cert_type != CERT_TYPE_ID_SIGNING)
    log_warn("link keys: the ed25519 signing certificate does not parse");
  else if (!crypto_memeq(c->certified_key, signing->pub.pubkey, 32))
    log_warn("link keys: the signing certificate is for another key");
  else if (torcert_validate(c, ed_id, now) < 0)
    log_warn("link keys: the signing certificate is expired or not signed "
             "by the ed25519 identity");
  else {
    if (torcert_expiration(c) < k->expires)
      k->expires = torcert_expiration(c);
    r = 0;
  }
  torcert_free(c);
  return r;
}

/** Type 6: a fresh ed25519 auth key certified by the signing key. */
static int make_auth_cert(link_keys_t *k, const ed25519_keypair_t *signing,
                          time_t now)
{
  torcert_t *c = NULL;
  if (ed25519_keypair_generate(&k->auth_key) < 0 ||
      torcert_create(&c, CERT_TYPE_SIGNING_AUTH, CERT_KEY_TYPE_ED25519,
                     k->auth_key.pub.pubkey, signing, now,
                     LINK_KEYS_CERT_LIFETIME, 0) < 0)
    return -1;
  k->c6 = al_memdup(c->encoded, c->encoded_len);
  k->c6_len = c->encoded_len;
  torcert_free(c);
  return 0;
}

/** Type 3: a fresh RSA-1024 key certified (X.509) by the identity key. */
static int make_rsa_auth_cert(link_keys_t *k, const rsa_key_t *identity,
                              time_t now)
{
  rsa_key_t *auth = rsa_key_generate(1024);
  int r = -1;
  if (auth)
    r = tls_x509_make_cert(auth, identity, now - 3600,
                           now + LINK_KEYS_X509_LIFETIME, &k->c3, &k->c3_len);
  rsa_key_free(auth);
  return r;
}

static void fill_creds(link_keys_t *k)
{
  link_creds_t *c = &k->creds;
  c->id_cert = tls_context_id_cert_der(k->tls, &c->id_cert_len);
  c->rsa_link_cert = tls_context_link_cert_der(k->tls, &c->rsa_link_cert_len);
  c->signing_cert = k->c4;
  c->signing_cert_len = k->c4_len;
  c->link_cert = k->c5;
  c->link_cert_len = k->c5_len;
  c->crosscert = k->c7;
  c->crosscert_len = k->c7_len;
  c->rsa_auth_cert = k->c3;
  c->rsa_auth_cert_len = k->c3_len;
  c->auth_cert = k->c6;
  c->auth_cert_len = k->c6_len;
  c->auth_key = &k->auth_key;
}

link_keys_t *link_keys_new(const rsa_key_t *identity,
                           const ed25519_public_key_t *ed_id,
                           const ed25519_keypair_t *signing,
                           const uint8_t *signing_cert, size_t signing_cert_len,
                           time_t now)
{
  if (!identity || !rsa_key_is_private(identity) || !ed_id || !signing ||
      !signing_cert || !signing_cert_len)
    return NULL;
  link_keys_t *k = al_calloc(1, sizeof(*k));
  size_t tls_len = 0;
  k->created = now;
  k->expires = now + LINK_KEYS_CERT_LIFETIME;
  k->c4 = al_memdup(signing_cert, signing_cert_len);
  k->c4_len = signing_cert_len;
  if (check_type4(k, ed_id, signing, now) < 0)
    goto fail;
  k->tls = tls_context_new_server(identity, 2048, now,
                                  LINK_KEYS_X509_LIFETIME);
  const uint8_t *tls_der = k->tls ? tls_context_link_cert_der(k->tls, &tls_len)
                                  : NULL;
  if (!tls_der ||
      link_make_tls_link_cert(&k->c5, &k->c5_len, signing, tls_der, tls_len,
                              now, LINK_KEYS_CERT_LIFETIME) < 0 ||
      make_auth_cert(k, signing, now) < 0 ||
      make_rsa_auth_cert(k, identity, now) < 0 ||
      rsa_crosscert_create(&k->c7, &k->c7_len, ed_id, identity, now,
                           LINK_KEYS_CERT_LIFETIME) < 0)
    goto fail;
  fill_creds(k);
  log_info("made new link keys (TLS link key and certificates)");
  return k;
fail:
  log_warn("could not make the relay's link keys and certificates");
  link_keys_free(k);
  return NULL;
}

void link_keys_free_(link_keys_t *k)
{
  if (!k)
    return;
  tls_context_free(k->tls);
  ed25519_keypair_wipe(&k->auth_key);
  al_free(k->c3);
  al_free(k->c4);
  al_free(k->c5);
  al_free(k->c6);
  al_free(k->c7);
  memwipe(k, sizeof(*k));
  al_free(k);
}

tls_context_t *link_keys_tls(const link_keys_t *k)
{
  return k->tls;
}

const link_creds_t *link_keys_creds(const link_keys_t *k)
{
  return &k->creds;
}

time_t link_keys_created(const link_keys_t *k)
{
  return k->created;
}

int link_keys_should_rotate(const link_keys_t *k, time_t now)
{
  if (!k || now < k->created)
    return 1;
  return now - k->created >= LINK_KEYS_TLS_ROTATE_SEC ||
         now >= k->expires - LINK_KEYS_SLOP_SEC;
}
