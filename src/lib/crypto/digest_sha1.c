/* digest_sha1.c -- a running SHA-1 (FIPS 180-4) held in the caller's
 * memory: the relay-cell digest of tor-spec 6.1 kept per hop and direction.
 * An OpenSSL 3 EVP_MD_CTX costs ~190 bytes in three allocations and another
 * context for every peek; SHA_CTX is 96 bytes, copied by assignment, and
 * its update runs the same assembler block function (SHA-NI / AVX2) as
 * EVP.  The SHA1_* calls are deprecated in OpenSSL 3.0 but still part of
 * its API; only this file uses them.  See include/allium/lib/crypto/digest.h. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "allium/lib/crypto/digest.h"

#include <openssl/sha.h>
#include <string.h>

#include "allium/lib/malloc/malloc.h"

_Static_assert(sizeof(SHA_CTX) <= sizeof(digest_sha1_run_t),
               "digest_sha1_run_t too small for SHA_CTX");
_Static_assert(_Alignof(SHA_CTX) <= _Alignof(digest_sha1_run_t),
               "digest_sha1_run_t under-aligned for SHA_CTX");

static SHA_CTX *
sha(digest_sha1_run_t *d)
{
  return (SHA_CTX *)(void *)d->opaque_;
}

void
digest_sha1_run_init(digest_sha1_run_t *d)
{
  memset(d, 0, sizeof(*d));
  (void)SHA1_Init(sha(d));
}

void
digest_sha1_run_add(digest_sha1_run_t *d, const void *m, size_t n)
{
  if (n)
    (void)SHA1_Update(sha(d), m, n);
}

void
digest_sha1_run_peek(const digest_sha1_run_t *d, uint8_t *out, size_t outlen)
{
  digest_sha1_run_t copy = *d;
  uint8_t md[SHA_DIGEST_LENGTH];
  (void)SHA1_Final(md, sha(&copy));
  if (outlen > sizeof(md))
    outlen = sizeof(md);
  memcpy(out, md, outlen);
  memwipe(md, sizeof(md));
  memwipe(&copy, sizeof(copy));
}

void
digest_sha1_run_clear(digest_sha1_run_t *d)
{
  memwipe(d, sizeof(*d));
}
