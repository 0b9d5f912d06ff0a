/* link_fixture.c -- see link_fixture.h. */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/lib/malloc/malloc.h"

#include "core/link/link_fixture.h"

void relay_make(relay_t *r, time_t now)
{
  torcert_t *c4 = NULL;
  size_t len;
  memset(r, 0, sizeof(*r));
  r->rsa = rsa_key_generate(1024);
  cr_assert_not_null(r->rsa);
  cr_assert_eq(rsa_key_fingerprint(r->rsa, r->rsa_fp), 0);
  cr_assert_eq(ed25519_keypair_generate(&r->ed_id), 0);
  cr_assert_eq(ed25519_keypair_generate(&r->ed_sign), 0);
  r->tls = tls_context_new_server(r->rsa, 0, now, 0);
  cr_assert_not_null(r->tls);
  cr_assert_eq(torcert_create(&c4, CERT_TYPE_ID_SIGNING, CERT_KEY_TYPE_ED25519,
                              r->ed_sign.pub.pubkey, &r->ed_id, now,
                              30 * 86400, 1), 0);
  r->c4 = al_memdup(c4->encoded, c4->encoded_len);
  r->c4_len = c4->encoded_len;
  torcert_free(c4);
  const uint8_t *link = tls_context_link_cert_der(r->tls, &len);
  cr_assert_eq(link_make_tls_link_cert(&r->c5, &r->c5_len, &r->ed_sign, link,
                                       len, now, 2 * 86400), 0);
  cr_assert_eq(rsa_crosscert_create(&r->c7, &r->c7_len, &r->ed_id.pub, r->rsa,
                                    now, 365 * 86400), 0);
  r->creds.id_cert = tls_context_id_cert_der(r->tls, &r->creds.id_cert_len);
  r->creds.signing_cert = r->c4;
  r->creds.signing_cert_len = r->c4_len;
  r->creds.link_cert = r->c5;
  r->creds.link_cert_len = r->c5_len;
  r->creds.crosscert = r->c7;
  r->creds.crosscert_len = r->c7_len;
}

void relay_free(relay_t *r)
{
  rsa_key_free(r->rsa);
  tls_context_free(r->tls);
  al_free(r->c4);
  al_free(r->c5);
  al_free(r->c7);
}
