/* fuzz_cert.c -- fuzz target for the certificate parsers of
 * src/core/channel: tor's ed25519 certificates (cert-spec 2.1) and the
 * RSA->Ed25519 cross-certificate (cert-spec 2.3).  Every input goes to both
 * parsers; whatever parses must re-encode to exactly the input bytes, its
 * copy must re-encode the same way, and signature/expiry checks must not
 * crash. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/core/channel/torcert.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return crypto_global_init() < 0 ? -1 : 0;
}

static void
check_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
  if (alen != blen || memcmp(a, b, alen) != 0)
    abort();
}

static void
fuzz_ed_cert(const uint8_t *data, size_t len)
{
  torcert_t *c = NULL, *d;
  uint8_t *enc = NULL;
  size_t enclen = 0;
  if (torcert_parse(&c, data, len) < 0) {
    if (c)
      abort();
    return;
  }
  if (torcert_encode(c, &enc, &enclen) < 0)
    abort();
  check_same(data, len, enc, enclen);
  check_same(data, len, c->encoded, c->encoded_len);
  al_free(enc);
  d = torcert_dup(c);
  if (torcert_encode(d, &enc, &enclen) < 0)
    abort();
  check_same(data, len, enc, enclen);
  al_free(enc);
  /* Checking a signature must never crash; it may pass only when the
   * embedded key verifies. */
  (void)torcert_checksig(c, NULL);
  (void)torcert_validate(d, &c->signing_key, 0);
  (void)torcert_is_expired(c, (time_t)1 << 40);
  torcert_free(d);
  torcert_free(c);
}

static void
fuzz_rsa_crosscert(const uint8_t *data, size_t len)
{
  rsa_crosscert_t *c = NULL;
  uint8_t *enc = NULL;
  size_t enclen = 0;
  if (rsa_crosscert_parse(&c, data, len) < 0) {
    if (c)
      abort();
    return;
  }
  if (rsa_crosscert_encode(c, &enc, &enclen) < 0)
    abort();
  check_same(data, len, enc, enclen);
  al_free(enc);
  (void)rsa_crosscert_is_expired(c, 0);
  (void)rsa_crosscert_expiration(c);
  rsa_crosscert_free(c);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  /* Exact-size copy so that over-reads are caught by the sanitizers even
   * when the harness hands over a larger buffer. */
  uint8_t *copy = al_memdup(data, len ? len : 1);
  fuzz_ed_cert(copy, len);
  fuzz_rsa_crosscert(copy, len);
  al_free(copy);
  return 0;
}
