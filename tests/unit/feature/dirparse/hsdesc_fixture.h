/* hsdesc_fixture.h -- keys, blobs and hand-assembled documents for the
 * onion-service descriptor tests (outer layer and HSDir store). */
#ifndef ALLIUM_TESTS_DIRPARSE_HSDESC_FIXTURE_H
#define ALLIUM_TESTS_DIRPARSE_HSDESC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/lib/crypto/ed25519.h"

/** When the tor descriptors in data/hsdesc-*.txt were captured (unix). */
#define HSDESC_TOR_NOW ((time_t)1796393789)
#define HSDESC_TOR_ONION "epbxggf3dpeawbtgu4s5dhxorlksvpqvg272fe6jr4h4nlnqmtfdvoqd.onion"
#define HSDESC_TOR_REVISION 16673974ULL
/** A fixed "now" for built descriptors. */
#define HSDESC_NOW ((time_t)1796393789)

/** Keypair from a one-byte seed pattern. */
void hsdesc_keypair(ed25519_keypair_t *kp, uint8_t seed_byte);

/** A blob of len deterministic bytes (caller frees with free()). */
uint8_t *hsdesc_blob(size_t len);

/** Build a descriptor with blinded key seed b, signing key seed s, revision
 * rc, lifetime minutes life, blob of blob_len bytes, cert lifetime
 * HS_DESC_CERT_LIFETIME at HSDESC_NOW; asserts success.  *len gets the
 * length; caller frees with al_free(). */
char *hsdesc_build(uint8_t b, uint8_t s, uint64_t rc, uint32_t life, size_t blob_len,
                   size_t *len);

/** "-----BEGIN type-----\n<base64>-----END type-----\n" (caller frees). */
char *hsdesc_armor(const char *type, const uint8_t *data, size_t len);

/** A cert of cert_type for signing's key, signed by blinded (with the
 * signed-with-key extension iff with_ext), armored (caller frees). */
char *hsdesc_cert(uint8_t cert_type, const ed25519_keypair_t *blinded,
                  const ed25519_keypair_t *signing, time_t lifetime, int with_ext);

/** body + "signature <sig>\n", the signature made by signing over the
 * prefix and body (caller frees with free()). */
char *hsdesc_sign(const char *body, const ed25519_keypair_t *signing);

#endif
