/* hsdir_store.h -- an HSDir's cache of v3 onion-service descriptors
 * (rend-spec-v3 2.2.5 [EXPIRE-DESC], 2.2.6 and 2.4 "revision-counter"),
 * keyed by the blinded key their signing-key certificate names.
 *
 * hsdir_store_put() is what "POST /tor/hs/3/publish" does with the body: the
 * outer layer is verified (hs_desc_outer_parse(), blinded key taken from the
 * cert), a descriptor whose revision-counter is not above the stored one for
 * that key is refused (as tor does: an equal counter is refused too), and the
 * text is stored as uploaded.  hsdir_store_get() is "GET /tor/hs/3/<z>".
 *
 * An entry expires descriptor-lifetime minutes after it was stored (tor's
 * HSDir rule), or when its signing-key cert expires if that comes first (a
 * client would refuse it then).  The store is bounded in bytes and entries:
 * to make room it evicts the entries that expire soonest.
 *
 * Not thread-safe.  Times are unix seconds from the caller.
 */
#ifndef ALLIUM_FEATURE_DIRCACHE_HSDIR_STORE_H
#define ALLIUM_FEATURE_DIRCACHE_HSDIR_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/lib/crypto/ed25519.h"

#define HSDIR_STORE_DEFAULT_MAX_BYTES (32u * 1024 * 1024)
#define HSDIR_STORE_DEFAULT_MAX_ENTRIES 20000u
/** Bytes an entry costs beyond its text (bookkeeping). */
#define HSDIR_STORE_ENTRY_OVERHEAD 96u

/* hsdir_store_put() results. */
#define HSDIR_STORE_OK            0
#define HSDIR_STORE_ERR_INVALID (-1)  /* failed hs_desc_outer_parse() */
#define HSDIR_STORE_ERR_REPLAY  (-2)  /* revision-counter <= the stored one */
#define HSDIR_STORE_ERR_TOO_BIG (-3)  /* larger than the whole store */
#define HSDIR_STORE_ERR_ARG     (-4)

typedef struct hsdir_store_t hsdir_store_t;

/** New empty store holding at most max_bytes (texts plus
 * HSDIR_STORE_ENTRY_OVERHEAD each) and max_entries descriptors (0: the
 * defaults).  Caller frees with hsdir_store_free(). */
hsdir_store_t *hsdir_store_new(size_t max_bytes, size_t max_entries);
void hsdir_store_free_(hsdir_store_t *st);
#define hsdir_store_free(p) do { hsdir_store_free_(p); (p) = NULL; } while (0)

/** Largest descriptor accepted (consensus param HSV3MaxDescriptorSize;
 * 0 restores HS_DESC_MAX_LEN). */
void hsdir_store_set_max_desc_size(hsdir_store_t *st, size_t max_len);

/** Verify and store the descriptor text[0..len) received at now.  On
 * success *blinded_out (may be NULL) gets its key.  HSDIR_STORE_OK or a
 * negative HSDIR_STORE_ERR_*.  Expired entries are dropped first. */
int hsdir_store_put(hsdir_store_t *st, const char *text, size_t len, time_t now,
                    ed25519_public_key_t *blinded_out);

/** The stored text for blinded key (32 bytes) at now: a new NUL-terminated
 * copy (caller frees with al_free()) of *len_out bytes, or NULL if none or
 * expired. */
char *hsdir_store_get(hsdir_store_t *st, const uint8_t blinded_key[ED25519_PUBKEY_LEN],
                      time_t now, size_t *len_out);

/** The same with the key as it appears in the URL: base64 of the 32 bytes,
 * with or without '=' padding.  NULL also for a malformed key. */
char *hsdir_store_get_b64(hsdir_store_t *st, const char *blinded_key_b64, time_t now,
                          size_t *len_out);

/** Drop every entry expired at now; the number dropped. */
size_t hsdir_store_expire(hsdir_store_t *st, time_t now);

/** Entries and bytes held (including expired ones not yet dropped). */
size_t hsdir_store_count(const hsdir_store_t *st);
size_t hsdir_store_bytes(const hsdir_store_t *st);

/** Counters since creation: accepted, refused as invalid, refused as
 * replays, evicted for room, expired. */
typedef struct hsdir_store_stats_t {
  uint64_t stored, invalid, replayed, evicted, expired;
} hsdir_store_stats_t;
void hsdir_store_get_stats(const hsdir_store_t *st, hsdir_store_stats_t *out);

#endif
