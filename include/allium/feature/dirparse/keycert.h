/* keycert.h -- directory authority key certificates (dir-spec 3.1).
 *
 * authcert_parse() parses one certificate and verifies it completely: the
 * fingerprint matches the identity key, the dir-key-crosscert is the signing
 * key's signature of SHA-1(identity key), and the dir-key-certification is
 * the identity key's signature of the document (dir-spec 1.3).  A certificate
 * that does not verify is not returned.  Time validity is the caller's
 * (authcert_is_live()).
 */
#ifndef ALLIUM_FEATURE_DIRPARSE_KEYCERT_H
#define ALLIUM_FEATURE_DIRPARSE_KEYCERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirparse/netdoc.h"
#include "allium/lib/crypto/rsa.h"

/** A verified authority key certificate.  Read-only for callers. */
typedef struct authcert_t {
  uint8_t identity_digest[20];   /* SHA-1 of the identity key (v3ident) */
  uint8_t signing_digest[20];    /* SHA-1 of the signing key's DER */
  rsa_key_t *identity_key;       /* owned */
  rsa_key_t *signing_key;        /* owned */
  time_t published;
  time_t expires;
  int has_dir_address;
  uint8_t dir_ipv4[4];
  uint16_t dir_port;
  uint8_t cert_digest[20];       /* SHA-1 of the signed portion */
} authcert_t;

/** Parse and verify the one certificate in s[0..len) (anything else in the
 * input is an error); *consumed (may be NULL) gets len.  *out: new cert,
 * caller frees with authcert_free().  0, DIRPARSE_ERR_SYNTAX or
 * DIRPARSE_ERR_SIG (err says which line). */
int authcert_parse(const char *s, size_t len, authcert_t **out, size_t *consumed,
                   netdoc_err_t *err);

/** Parse a concatenation of certificates (e.g. a cached-certs file or a
 * /tor/keys/ response).  All must verify; empty input gives *n = 0.  *out: new array of *n certs;
 * caller frees with authcert_list_free(). */
int authcert_parse_list(const char *s, size_t len, authcert_t ***out, size_t *n,
                        netdoc_err_t *err);

/** 1 when published - skew <= now <= expires + skew. */
int authcert_is_live(const authcert_t *c, time_t now, time_t skew);

void authcert_free_(authcert_t *c);
#define authcert_free(p) do { authcert_free_(p); (p) = NULL; } while (0)
void authcert_list_free_(authcert_t **l, size_t n);
#define authcert_list_free(p, n) do { authcert_list_free_((p), (n)); (p) = NULL; } while (0)

#endif
