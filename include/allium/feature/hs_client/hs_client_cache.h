/* hs_client_cache.h -- the client's onion-service descriptors: opening a
 * fetched descriptor (rend-spec-v3 2.4 outer layer checked against the
 * blinded key we derived, 2.5 both encrypted layers, client authorization
 * 2.5.1.2) and the descriptor cache with its failure cache.
 *
 * Pure: times are passed in.  Statuses map to proposal 304's SOCKS5 codes
 * (hs_client_desc_status_socks5()).
 */
#ifndef ALLIUM_FEATURE_HS_CLIENT_HS_CLIENT_CACHE_H
#define ALLIUM_FEATURE_HS_CLIENT_HS_CLIENT_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/crypto/ed25519.h"

/** Why a descriptor is not usable (0: it is). */
typedef enum hs_client_desc_status_t {
  HS_CLIENT_DESC_OK = 0,
  HS_CLIENT_DESC_NOT_FOUND,   /* no responsible HSDir had it (X'F0') */
  HS_CLIENT_DESC_INVALID,     /* unparseable, bad signature/cert/MAC (X'F1') */
  HS_CLIENT_DESC_NEED_AUTH,   /* client authorization required (X'F4') */
  HS_CLIENT_DESC_BAD_AUTH,    /* our ClientOnionAuthDir key is refused (X'F5') */
} hs_client_desc_status_t;

/** A usable descriptor. */
typedef struct hs_client_desc_t {
  ed25519_public_key_t service_pk;
  ed25519_public_key_t blinded_pk;
  uint8_t subcred[HS_DIGEST_LEN];
  uint64_t period_num, period_length;
  uint64_t revision_counter;
  time_t expires;             /* fetch time + descriptor-lifetime, or the
                               * signing-key cert's expiry if sooner */
  hs_desc_layer2_t *layer2;   /* owned: introduction points */
} hs_client_desc_t;

/** Open the descriptor text s[0..len) fetched at now for service_pk in
 * period period_num of period_length minutes: the blinded key and the
 * subcredential are derived here, the outer layer must be signed for that
 * blinded key (max_len: HSV3MaxDescriptorSize, 0 = 50000), both layers
 * must decrypt; client_secret (x25519, may be NULL) opens a descriptor with
 * client authorization.  *out on HS_CLIENT_DESC_OK (caller frees); *why
 * (may be NULL) gets a static reason otherwise. */
hs_client_desc_status_t
hs_client_desc_open(const char *s, size_t len, size_t max_len,
                    const ed25519_public_key_t *service_pk,
                    uint64_t period_num, uint64_t period_length,
                    const uint8_t *client_secret, time_t now,
                    hs_client_desc_t **out, const char **why);

void hs_client_desc_free_(hs_client_desc_t *d);
#define hs_client_desc_free(p) do { hs_client_desc_free_(p); (p) = NULL; } while (0)

/** proposal 304 SOCKS5 reply for a status (0 for OK). */
uint8_t hs_client_desc_status_socks5(hs_client_desc_status_t st);
/** Short text for logs. */
const char *hs_client_desc_status_str(hs_client_desc_status_t st);

/* ---- cache ---- */

/** How long a failed fetch is remembered (tor: an HSDir is not asked again
 * for the same descriptor for 15 minutes, so a fetch that asked them all
 * fails for that long). */
#define HS_CLIENT_FAIL_CACHE_SEC (15 * 60)
/** Most services cached (descriptors and failures together); the entry
 * expiring first is dropped for a new one. */
#define HS_CLIENT_CACHE_MAX 1024

typedef struct hs_client_cache_t hs_client_cache_t;

hs_client_cache_t *hs_client_cache_new(void);
void hs_client_cache_free_(hs_client_cache_t *c);
#define hs_client_cache_free(p) do { hs_client_cache_free_(p); (p) = NULL; } while (0)

/** Store d (ownership taken) for d->service_pk, replacing what was there
 * (descriptor or failure).  A descriptor with a lower revision counter for
 * the same blinded key than the cached one is dropped (-1). */
int hs_client_cache_put(hs_client_cache_t *c, hs_client_desc_t *d, time_t now);
/** Remember a failure (not OK) for service_pk until now + ttl seconds;
 * a cached descriptor for it is dropped. */
void hs_client_cache_put_failure(hs_client_cache_t *c,
                                 const ed25519_public_key_t *service_pk,
                                 hs_client_desc_status_t st, time_t now,
                                 uint32_t ttl);
/** Look service_pk up at now (expired entries are removed first): a
 * descriptor (borrowed, until the next cache call) with *st = OK, a
 * remembered failure with *st set and NULL returned, or NULL with *st =
 * NOT_FOUND and *known = 0 when there is nothing.  known may be NULL. */
const hs_client_desc_t *hs_client_cache_lookup(hs_client_cache_t *c,
                                               const ed25519_public_key_t *pk,
                                               time_t now,
                                               hs_client_desc_status_t *st,
                                               int *known);
/** Forget service_pk (e.g. after all introduction points failed). */
void hs_client_cache_remove(hs_client_cache_t *c,
                            const ed25519_public_key_t *pk);
/** Forget every failure (tor clears its failure caches on NEWNYM). */
void hs_client_cache_clear_failures(hs_client_cache_t *c);
/** Drop expired entries; returns how many. */
size_t hs_client_cache_expire(hs_client_cache_t *c, time_t now);
size_t hs_client_cache_size(const hs_client_cache_t *c);

#endif
