/* test_hsdir_store.c -- the HSDir's onion-service descriptor store
 * (rend-spec-v3 2.2.5, 2.4): validation, revision-counter replays, expiry,
 * bounds and eviction, lookups by key and by URL base64. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dircache/hsdir_store.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "../dirparse/fixture.h"
#include "../dirparse/hsdesc_fixture.h"

static void
setup(void)
{
  crypto_global_init();
}

static void
blinded(ed25519_public_key_t *pk, uint8_t seed)
{
  ed25519_keypair_t kp;
  hsdesc_keypair(&kp, seed);
  *pk = kp.pub;
}

/* Put a fresh exact-size copy. */
static int
put(hsdir_store_t *st, const char *doc, size_t len, time_t now, ed25519_public_key_t *bk)
{
  char *b = fixture_exact(doc, len);
  int rv = hsdir_store_put(st, b, len, now, bk);
  free(b);
  return rv;
}

/* 1 when the store serves exactly doc for blinded seed b at now. */
static int
serves(hsdir_store_t *st, uint8_t b, const char *doc, size_t len, time_t now)
{
  ed25519_public_key_t pk;
  blinded(&pk, b);
  size_t n = 0;
  char *got = hsdir_store_get(st, pk.pubkey, now, &n);
  if (!got)
    return 0;
  int same = n == len && memcmp(got, doc, len) == 0 && got[len] == '\0';
  al_free(got);
  return same;
}

Test(hsdir_store, put_get, .init = setup)
{
  hsdir_store_t *st = hsdir_store_new(0, 0);
  size_t len;
  char *doc = hsdesc_build(40, 41, 5, 180, 1000, &len);
  ed25519_public_key_t bk, want;
  blinded(&want, 40);
  cr_assert_eq(put(st, doc, len, HSDESC_NOW, &bk), HSDIR_STORE_OK);
  cr_assert_arr_eq(bk.pubkey, want.pubkey, 32);
  cr_assert_eq(hsdir_store_count(st), 1);
  cr_assert_eq(hsdir_store_bytes(st), len + HSDIR_STORE_ENTRY_OVERHEAD);
  cr_assert(serves(st, 40, doc, len, HSDESC_NOW));
  cr_assert_not(serves(st, 41, doc, len, HSDESC_NOW));

  /* by the URL form: unpadded (what tor sends) and padded */
  char b64[50];
  cr_assert_geq(base64_encode(b64, sizeof(b64), want.pubkey, 32, BASE64_FLAG_NOPAD), 0);
  cr_assert_eq(strlen(b64), 43);
  size_t n = 0;
  char *got = hsdir_store_get_b64(st, b64, HSDESC_NOW, &n);
  cr_assert_not_null(got);
  cr_assert_eq(n, len);
  cr_assert_eq(memcmp(got, doc, len), 0);
  al_free(got);
  strcat(b64, "=");
  got = hsdir_store_get_b64(st, b64, HSDESC_NOW, &n);
  cr_assert_not_null(got);
  al_free(got);
  /* malformed keys */
  b64[43] = 'A';
  cr_assert_null(hsdir_store_get_b64(st, b64, HSDESC_NOW, &n));
  b64[42] = '\0';
  cr_assert_null(hsdir_store_get_b64(st, b64, HSDESC_NOW, &n));
  cr_assert_null(hsdir_store_get_b64(st, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", HSDESC_NOW,
                                     &n));
  cr_assert_null(hsdir_store_get_b64(st, NULL, HSDESC_NOW, &n));
  cr_assert_null(hsdir_store_get_b64(st, "", HSDESC_NOW, &n));
  cr_assert_null(hsdir_store_get(st, NULL, HSDESC_NOW, &n));
  cr_assert_eq(hsdir_store_put(st, NULL, 0, HSDESC_NOW, NULL), HSDIR_STORE_ERR_ARG);
  cr_assert_eq(hsdir_store_put(NULL, doc, len, HSDESC_NOW, NULL), HSDIR_STORE_ERR_ARG);

  hsdir_store_stats_t s;
  hsdir_store_get_stats(st, &s);
  cr_assert_eq(s.stored, 1);
  al_free(doc);
  hsdir_store_free(st);
  cr_assert_null(st);
  hsdir_store_free(st);
}

Test(hsdir_store, invalid_refused, .init = setup)
{
  hsdir_store_t *st = hsdir_store_new(0, 0);
  size_t len;
  char *doc = hsdesc_build(42, 43, 5, 180, 1000, &len);
  /* truncated, bad signature, expired cert */
  cr_assert_eq(put(st, doc, len - 1, HSDESC_NOW, NULL), HSDIR_STORE_ERR_INVALID);
  char *p = strstr(doc, "revision-counter 5\n");
  p[17] = '6';
  cr_assert_eq(put(st, doc, len, HSDESC_NOW, NULL), HSDIR_STORE_ERR_INVALID);
  p[17] = '5';
  cr_assert_eq(put(st, doc, len, HSDESC_NOW + HS_DESC_CERT_LIFETIME + 7200, NULL),
               HSDIR_STORE_ERR_INVALID);
  /* over the consensus limit */
  hsdir_store_set_max_desc_size(st, len - 1);
  cr_assert_eq(put(st, doc, len, HSDESC_NOW, NULL), HSDIR_STORE_ERR_INVALID);
  hsdir_store_set_max_desc_size(st, 0);
  cr_assert_eq(hsdir_store_count(st), 0);
  cr_assert_eq(hsdir_store_bytes(st), 0);
  cr_assert_eq(put(st, doc, len, HSDESC_NOW, NULL), HSDIR_STORE_OK);
  hsdir_store_stats_t s;
  hsdir_store_get_stats(st, &s);
  cr_assert_eq(s.invalid, 4);
  cr_assert_eq(s.stored, 1);
  /* a descriptor larger than the whole store */
  hsdir_store_t *tiny = hsdir_store_new(len, 10);
  cr_assert_eq(put(tiny, doc, len, HSDESC_NOW, NULL), HSDIR_STORE_ERR_TOO_BIG);
  cr_assert_eq(hsdir_store_count(tiny), 0);
  hsdir_store_free(tiny);
  al_free(doc);
  hsdir_store_free(st);
}

Test(hsdir_store, revision_counter, .init = setup)
{
  hsdir_store_t *st = hsdir_store_new(0, 0);
  size_t l5, l4, l6, l6b;
  char *d5 = hsdesc_build(44, 45, 5, 180, 500, &l5);
  char *d4 = hsdesc_build(44, 45, 4, 180, 500, &l4);
  char *d6 = hsdesc_build(44, 46, 6, 180, 600, &l6);
  char *d6b = hsdesc_build(44, 45, 6, 180, 700, &l6b);
  cr_assert_eq(put(st, d5, l5, HSDESC_NOW, NULL), HSDIR_STORE_OK);
  /* the same descriptor again, and an older one: refused */
  cr_assert_eq(put(st, d5, l5, HSDESC_NOW + 1, NULL), HSDIR_STORE_ERR_REPLAY);
  cr_assert_eq(put(st, d4, l4, HSDESC_NOW + 1, NULL), HSDIR_STORE_ERR_REPLAY);
  cr_assert(serves(st, 44, d5, l5, HSDESC_NOW + 1));
  /* a newer one (another signing key is fine) replaces it */
  cr_assert_eq(put(st, d6, l6, HSDESC_NOW + 2, NULL), HSDIR_STORE_OK);
  cr_assert(serves(st, 44, d6, l6, HSDESC_NOW + 2));
  cr_assert_eq(hsdir_store_count(st), 1);
  cr_assert_eq(hsdir_store_bytes(st), l6 + HSDIR_STORE_ENTRY_OVERHEAD);
  /* a different document with an equal counter: refused */
  cr_assert_eq(put(st, d6b, l6b, HSDESC_NOW + 3, NULL), HSDIR_STORE_ERR_REPLAY);
  cr_assert(serves(st, 44, d6, l6, HSDESC_NOW + 3));
  hsdir_store_stats_t s;
  hsdir_store_get_stats(st, &s);
  cr_assert_eq(s.replayed, 3);
  cr_assert_eq(s.stored, 2);
  /* once the stored one has expired, an old counter is accepted again */
  cr_assert_eq(put(st, d4, l4, HSDESC_NOW + 180 * 60 + 2, NULL), HSDIR_STORE_OK);
  cr_assert(serves(st, 44, d4, l4, HSDESC_NOW + 180 * 60 + 2));
  al_free(d5);
  al_free(d4);
  al_free(d6);
  al_free(d6b);
  hsdir_store_free(st);
}

Test(hsdir_store, expiry, .init = setup)
{
  hsdir_store_t *st = hsdir_store_new(0, 0);
  size_t la, lb;
  char *a = hsdesc_build(50, 51, 1, 30, 200, &la);    /* 30 minutes */
  char *b = hsdesc_build(52, 53, 1, 720, 200, &lb);   /* 12 hours */
  time_t t = HSDESC_NOW + 100;
  cr_assert_eq(put(st, a, la, t, NULL), HSDIR_STORE_OK);
  cr_assert_eq(put(st, b, lb, t, NULL), HSDIR_STORE_OK);
  /* lifetime counts from the upload */
  cr_assert(serves(st, 50, a, la, t + 30 * 60 - 1));
  cr_assert_eq(hsdir_store_expire(st, t + 30 * 60 - 1), 0);
  cr_assert_eq(hsdir_store_expire(st, t + 30 * 60), 1);
  cr_assert_not(serves(st, 50, a, la, t + 30 * 60));
  cr_assert_eq(hsdir_store_count(st), 1);
  cr_assert_eq(hsdir_store_bytes(st), lb + HSDIR_STORE_ENTRY_OVERHEAD);
  /* a get past the expiry drops the entry too */
  cr_assert(serves(st, 52, b, lb, t + 720 * 60 - 1));
  cr_assert_not(serves(st, 52, b, lb, t + 720 * 60));
  cr_assert_eq(hsdir_store_count(st), 0);
  cr_assert_eq(hsdir_store_bytes(st), 0);
  hsdir_store_stats_t s;
  hsdir_store_get_stats(st, &s);
  cr_assert_eq(s.expired, 2);
  al_free(a);
  al_free(b);

  /* the cert expires before the lifetime ends: the cert's expiry wins */
  ed25519_keypair_t bk, sk;
  hsdesc_keypair(&bk, 54);
  hsdesc_keypair(&sk, 55);
  uint8_t *blob = hsdesc_blob(200);
  char *c = NULL;
  size_t lc;
  cr_assert_eq(hs_desc_outer_build(&c, &lc, &bk, &sk, HSDESC_NOW, 600, 1, 720, blob, 200), 0);
  hs_desc_outer_t *d = NULL;
  cr_assert_eq(hs_desc_outer_parse(c, lc, 0, NULL, HSDESC_NOW, &d, NULL), 0);
  time_t exp = d->cert_expiry;
  hs_desc_outer_free(d);
  cr_assert_lt(exp, HSDESC_NOW + 720 * 60);
  cr_assert_eq(put(st, c, lc, HSDESC_NOW, NULL), HSDIR_STORE_OK);
  cr_assert(serves(st, 54, c, lc, exp - 1));
  cr_assert_not(serves(st, 54, c, lc, exp));
  free(blob);
  al_free(c);
  hsdir_store_free(st);
}

Test(hsdir_store, evict_by_count, .init = setup)
{
  hsdir_store_t *st = hsdir_store_new(0, 3);
  size_t l[4];
  /* lifetimes 120, 60, 240, 180 minutes: the 60-minute one goes first */
  static const uint32_t life[4] = { 120, 60, 240, 180 };
  char *d[4];
  for (int i = 0; i < 4; i++)
    d[i] = hsdesc_build((uint8_t)(60 + i), 70, 1, life[i], 200, &l[i]);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(put(st, d[i], l[i], HSDESC_NOW, NULL), HSDIR_STORE_OK);
  cr_assert_eq(hsdir_store_count(st), 3);
  cr_assert_eq(put(st, d[3], l[3], HSDESC_NOW, NULL), HSDIR_STORE_OK);
  cr_assert_eq(hsdir_store_count(st), 3);
  cr_assert_not(serves(st, 61, d[1], l[1], HSDESC_NOW));
  cr_assert(serves(st, 60, d[0], l[0], HSDESC_NOW));
  cr_assert(serves(st, 62, d[2], l[2], HSDESC_NOW));
  cr_assert(serves(st, 63, d[3], l[3], HSDESC_NOW));
  hsdir_store_stats_t s;
  hsdir_store_get_stats(st, &s);
  cr_assert_eq(s.evicted, 1);
  /* replacing an entry (higher counter) needs no eviction */
  size_t ln;
  char *newer = hsdesc_build(60, 70, 2, 120, 200, &ln);
  cr_assert_eq(put(st, newer, ln, HSDESC_NOW + 1, NULL), HSDIR_STORE_OK);
  hsdir_store_get_stats(st, &s);
  cr_assert_eq(s.evicted, 1);
  cr_assert_eq(hsdir_store_count(st), 3);
  al_free(newer);
  for (int i = 0; i < 4; i++)
    al_free(d[i]);
  hsdir_store_free(st);
}

Test(hsdir_store, evict_by_bytes, .init = setup)
{
  size_t l[3];
  char *d[3];
  static const uint32_t life[3] = { 300, 200, 400 };
  for (int i = 0; i < 3; i++)
    d[i] = hsdesc_build((uint8_t)(80 + i), 90, 1, life[i], 2000, &l[i]);
  size_t cost = l[0] + HSDIR_STORE_ENTRY_OVERHEAD;
  cr_assert_eq(l[1], l[0]);
  cr_assert_eq(l[2], l[0]);
  hsdir_store_t *st = hsdir_store_new(cost * 2 + cost / 2, 100);
  cr_assert_eq(put(st, d[0], l[0], HSDESC_NOW, NULL), HSDIR_STORE_OK);
  cr_assert_eq(put(st, d[1], l[1], HSDESC_NOW, NULL), HSDIR_STORE_OK);
  cr_assert_eq(hsdir_store_bytes(st), 2 * cost);
  cr_assert_eq(put(st, d[2], l[2], HSDESC_NOW, NULL), HSDIR_STORE_OK);
  cr_assert_eq(hsdir_store_bytes(st), 2 * cost);
  cr_assert_leq(hsdir_store_bytes(st), cost * 2 + cost / 2);
  cr_assert_not(serves(st, 81, d[1], l[1], HSDESC_NOW));   /* soonest expiry */
  cr_assert(serves(st, 80, d[0], l[0], HSDESC_NOW));
  cr_assert(serves(st, 82, d[2], l[2], HSDESC_NOW));
  for (int i = 0; i < 3; i++)
    al_free(d[i]);
  hsdir_store_free(st);
}

Test(hsdir_store, tor_descriptors, .init = setup)
{
  hsdir_store_t *st = hsdir_store_new(0, 0);
  size_t lc, ls;
  char *c = fixture_load("hsdesc-client.txt", &lc);
  char *s = fixture_load("hsdesc-service.txt", &ls);
  ed25519_public_key_t bk;
  cr_assert_eq(put(st, c, lc, HSDESC_TOR_NOW, &bk), HSDIR_STORE_OK);
  /* the same revision counter re-encoded: tor's HSDir refuses it too */
  cr_assert_eq(put(st, s, ls, HSDESC_TOR_NOW + 1, NULL), HSDIR_STORE_ERR_REPLAY);
  size_t n;
  char *got = hsdir_store_get(st, bk.pubkey, HSDESC_TOR_NOW + 2, &n);
  cr_assert_not_null(got);
  cr_assert_eq(n, lc);
  cr_assert_eq(memcmp(got, c, lc), 0);
  al_free(got);
  /* descriptor-lifetime 180 */
  cr_assert_not_null(got = hsdir_store_get(st, bk.pubkey, HSDESC_TOR_NOW + 180 * 60 - 1, &n));
  al_free(got);
  cr_assert_null(hsdir_store_get(st, bk.pubkey, HSDESC_TOR_NOW + 180 * 60, &n));
  free(c);
  free(s);
  hsdir_store_free(st);
}
