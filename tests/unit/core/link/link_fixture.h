/* link_fixture.h -- a responder identity (RSA-1024 identity, ed25519
 * identity and signing keys, TLS server context, CERTS certificates) made
 * fresh for link-layer tests. */
#ifndef ALLIUM_TESTS_LINK_FIXTURE_H
#define ALLIUM_TESTS_LINK_FIXTURE_H

#include <time.h>

#include "allium/core/channel/link_handshake.h"
#include "allium/lib/tls/tls.h"

/* One responder identity with all its certificates. */
typedef struct relay_t {
  rsa_key_t *rsa;
  ed25519_keypair_t ed_id, ed_sign;
  tls_context_t *tls;
  uint8_t *c4, *c5, *c7;
  size_t c4_len, c5_len, c7_len;
  link_creds_t creds;
  uint8_t rsa_fp[20];
} relay_t;

/** Make r with certificates valid from now (criterion asserts). */
void relay_make(relay_t *r, time_t now);
void relay_free(relay_t *r);

#endif
