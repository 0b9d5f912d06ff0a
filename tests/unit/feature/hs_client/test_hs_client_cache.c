/* test_hs_client_cache.c -- the client's descriptor opening and cache
 * (src/feature/hs_client/hs_client_cache.c): descriptors published by tor
 * 0.4.9 (tests/unit/feature/hs_desc/tor049-desc*.txt) open from the onion
 * address and the period alone; client authorization missing / wrong /
 * right; every failure class maps to its proposal 304 code; truncated,
 * tampered, expired and wrong-period descriptors are invalid; the cache
 * keeps, replaces, refuses older revisions, expires and bounds entries. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/hs_client/hs_client_cache.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/proxy/socks.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#define ONION "fokfehd4k27rtqo7d2dhgkbf64m3x4szo3yspdhjoe4ebrwkbqpnh4ad"
static const time_t CAPTURED = 1796394802;
#define ONION_AUTH "lkp3ro7um5crmiok2hhir26jaevcjs6wbmdbhufdmk4mbowldcpoatid"
static const time_t CAPTURED_AUTH = 1796396029;
/* That capture came 109 s into a new period: the descriptor tor showed is
 * still the one for the period before (its first descriptor). */
#define AUTH_DPERIOD (-1)
/* tor's testing network: 8-minute periods, 4-minute offset */
#define PLEN 8
#define POFF 4

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(hs_client_cache, .init = setup);

static char *
load(const char *name, size_t *len)
{
  const char *src = getenv("ALLIUM_SRCDIR");
  char path[1024];
  snprintf(path, sizeof(path), "%s/tests/unit/feature/hs_desc/%s",
           src ? src : ALLIUM_SRCDIR, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  char *buf = al_malloc(65536);
  *len = fread(buf, 1, 65535, f);
  fclose(f);
  buf[*len] = '\0';
  return buf;
}

static void
client_key(uint8_t sec[32], uint8_t byte)
{
  memset(sec, byte, 32);
  sec[0] &= 248;
  sec[31] = (uint8_t)((sec[31] & 127) | 64);
}

static hs_client_desc_status_t
open_at(const char *file, const char *onion, time_t now, int64_t dperiod,
        const uint8_t *sec, hs_client_desc_t **out)
{
  size_t len;
  char *text = load(file, &len);
  ed25519_public_key_t pk;
  cr_assert_eq(hs_onion_address_parse(onion, &pk), 0);
  uint64_t p = hs_time_period_num(now, PLEN, POFF) + (uint64_t)dperiod;
  const char *why = NULL;
  hs_client_desc_status_t st = hs_client_desc_open(text, len, 0, &pk, p, PLEN,
                                                   sec, now, out, &why);
  cr_assert(st == HS_CLIENT_DESC_OK ? why == NULL : why != NULL);
  al_free(text);
  return st;
}

Test(hs_client_cache, open_tor_descriptor)
{
  hs_client_desc_t *d = NULL;
  cr_assert_eq(open_at("tor049-desc.txt", ONION, CAPTURED, 0, NULL, &d),
               HS_CLIENT_DESC_OK);
  cr_assert_not_null(d);
  cr_assert_geq(d->layer2->n_intro, 1);
  cr_assert_eq(d->revision_counter, 18086023);
  cr_assert_eq(d->period_length, PLEN);
  /* lifetime 180 minutes, unless the cert expires sooner */
  cr_assert_leq(d->expires, CAPTURED + 180 * 60);
  cr_assert_gt(d->expires, CAPTURED);
  /* subcredential as the crypto helpers compute it */
  uint8_t sc[32];
  cr_assert_eq(hs_subcredential_from_identity(sc, &d->service_pk,
                                              &d->blinded_pk), 0);
  cr_assert_arr_eq(sc, d->subcred, 32);
  hs_client_desc_free(d);
  cr_assert_null(d);
  hs_client_desc_free(d);
}

Test(hs_client_cache, wrong_period_or_key_is_invalid)
{
  hs_client_desc_t *d = (hs_client_desc_t *)1;
  cr_assert_eq(open_at("tor049-desc.txt", ONION, CAPTURED, 1, NULL, &d),
               HS_CLIENT_DESC_INVALID, "next period's blinded key");
  cr_assert_null(d);
  cr_assert_eq(open_at("tor049-desc.txt", ONION_AUTH, CAPTURED, 0, NULL, &d),
               HS_CLIENT_DESC_INVALID, "another service");
  /* long after: the signing-key cert has expired */
  cr_assert_eq(open_at("tor049-desc.txt", ONION, CAPTURED + 4 * 86400, 0,
                       NULL, &d), HS_CLIENT_DESC_INVALID);
}

Test(hs_client_cache, client_authorization)
{
  uint8_t sec[32], wrong[32];
  client_key(sec, 0x42);
  client_key(wrong, 0x43);
  hs_client_desc_t *d = NULL;
  cr_assert_eq(open_at("tor049-desc-auth.txt", ONION_AUTH, CAPTURED_AUTH, AUTH_DPERIOD,
                       NULL, &d), HS_CLIENT_DESC_NEED_AUTH);
  cr_assert_eq(open_at("tor049-desc-auth.txt", ONION_AUTH, CAPTURED_AUTH, AUTH_DPERIOD,
                       wrong, &d), HS_CLIENT_DESC_BAD_AUTH);
  cr_assert_eq(open_at("tor049-desc-auth.txt", ONION_AUTH, CAPTURED_AUTH, AUTH_DPERIOD,
                       sec, &d), HS_CLIENT_DESC_OK);
  cr_assert_geq(d->layer2->n_intro, 1);
  hs_client_desc_free(d);
  /* a key for a descriptor without client authorization is harmless */
  cr_assert_eq(open_at("tor049-desc.txt", ONION, CAPTURED, 0, sec, &d),
               HS_CLIENT_DESC_OK);
  hs_client_desc_free(d);
}

Test(hs_client_cache, truncated_tampered_oversized)
{
  size_t len;
  char *text = load("tor049-desc.txt", &len);
  ed25519_public_key_t pk;
  cr_assert_eq(hs_onion_address_parse(ONION, &pk), 0);
  uint64_t p = hs_time_period_num(CAPTURED, PLEN, POFF);
  hs_client_desc_t *d = NULL;
  /* every truncation (sampled every 97 bytes, plus the last bytes) */
  for (size_t k = 0; k < len; k += (k + 120 < len ? 97 : 1)) {
    cr_assert_eq(hs_client_desc_open(text, k, 0, &pk, p, PLEN, NULL,
                                     CAPTURED, &d, NULL),
                 HS_CLIENT_DESC_INVALID, "prefix %zu accepted", k);
    cr_assert_null(d);
  }
  /* a flipped character in the signed part, in the blob, in the signature */
  size_t spots[] = { 20, len / 2, len - 30 };
  for (size_t i = 0; i < 3; i++) {
    char *t = al_memdup(text, len + 1);
    t[spots[i]] = t[spots[i]] == 'A' ? 'B' : 'A';
    cr_assert_eq(hs_client_desc_open(t, len, 0, &pk, p, PLEN, NULL, CAPTURED,
                                     &d, NULL), HS_CLIENT_DESC_INVALID,
                 "flip at %zu accepted", spots[i]);
    al_free(t);
  }
  /* over the size limit given */
  cr_assert_eq(hs_client_desc_open(text, len, len - 1, &pk, p, PLEN, NULL,
                                   CAPTURED, &d, NULL), HS_CLIENT_DESC_INVALID);
  cr_assert_eq(hs_client_desc_open(NULL, 0, 0, &pk, p, PLEN, NULL, CAPTURED,
                                   &d, NULL), HS_CLIENT_DESC_INVALID);
  al_free(text);
}

Test(hs_client_cache, socks_codes)
{
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_OK), 0);
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_NOT_FOUND), 0xF0);
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_INVALID), 0xF1);
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_NEED_AUTH), 0xF4);
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_BAD_AUTH), 0xF5);
  cr_assert_str_eq(hs_client_desc_status_str(HS_CLIENT_DESC_NOT_FOUND),
                   "descriptor not found");
}

static hs_client_desc_t *
fake_desc(uint8_t key, uint64_t rev, time_t expires)
{
  hs_client_desc_t *d = al_calloc(1, sizeof(*d));
  memset(d->service_pk.pubkey, key, 32);
  memset(d->blinded_pk.pubkey, key ^ 0xff, 32);
  d->revision_counter = rev;
  d->expires = expires;
  d->layer2 = al_calloc(1, sizeof(hs_desc_layer2_t));
  return d;
}

Test(hs_client_cache, cache_rules)
{
  hs_client_cache_t *c = hs_client_cache_new();
  ed25519_public_key_t a, b;
  memset(a.pubkey, 1, 32);
  memset(b.pubkey, 2, 32);
  hs_client_desc_status_t st;
  int known = 1;
  cr_assert_null(hs_client_cache_lookup(c, &a, 100, &st, &known));
  cr_assert_eq(known, 0);
  cr_assert_eq(hs_client_cache_put(c, fake_desc(1, 5, 1000), 100), 0);
  const hs_client_desc_t *d = hs_client_cache_lookup(c, &a, 200, &st, &known);
  cr_assert_not_null(d);
  cr_assert_eq(st, HS_CLIENT_DESC_OK);
  cr_assert_eq(known, 1);
  cr_assert_eq(d->revision_counter, 5);
  /* an older revision for the same blinded key is refused, a newer kept */
  cr_assert_eq(hs_client_cache_put(c, fake_desc(1, 4, 2000), 200), -1);
  cr_assert_eq(hs_client_cache_lookup(c, &a, 200, &st, NULL)->revision_counter, 5);
  cr_assert_eq(hs_client_cache_put(c, fake_desc(1, 6, 2000), 200), 0);
  cr_assert_eq(hs_client_cache_lookup(c, &a, 200, &st, NULL)->revision_counter, 6);
  cr_assert_eq(hs_client_cache_size(c), 1);
  /* failures: remembered for their ttl, replace a descriptor */
  hs_client_cache_put_failure(c, &b, HS_CLIENT_DESC_NOT_FOUND, 300, 60);
  cr_assert_null(hs_client_cache_lookup(c, &b, 359, &st, &known));
  cr_assert_eq(st, HS_CLIENT_DESC_NOT_FOUND);
  cr_assert_eq(known, 1);
  cr_assert_null(hs_client_cache_lookup(c, &b, 360, &st, &known));
  cr_assert_eq(known, 0, "failure expired");
  hs_client_cache_put_failure(c, &a, HS_CLIENT_DESC_NEED_AUTH, 300, 60);
  cr_assert_null(hs_client_cache_lookup(c, &a, 301, &st, &known));
  cr_assert_eq(st, HS_CLIENT_DESC_NEED_AUTH);
  hs_client_cache_put_failure(c, &a, HS_CLIENT_DESC_OK, 300, 60);  /* no-op */
  hs_client_cache_clear_failures(c);
  cr_assert_eq(hs_client_cache_size(c), 0);
  /* descriptors expire */
  cr_assert_eq(hs_client_cache_put(c, fake_desc(2, 1, 500), 400), 0);
  cr_assert_not_null(hs_client_cache_lookup(c, &b, 499, &st, NULL));
  cr_assert_null(hs_client_cache_lookup(c, &b, 500, &st, &known));
  cr_assert_eq(known, 0);
  /* remove */
  cr_assert_eq(hs_client_cache_put(c, fake_desc(2, 1, 5000), 400), 0);
  hs_client_cache_remove(c, &b);
  cr_assert_eq(hs_client_cache_size(c), 0);
  cr_assert_eq(hs_client_cache_put(c, NULL, 1), -1);
  hs_client_cache_free(c);
  cr_assert_null(c);
  hs_client_cache_free(c);
}

Test(hs_client_cache, bounded)
{
  hs_client_cache_t *c = hs_client_cache_new();
  for (int i = 0; i < HS_CLIENT_CACHE_MAX + 10; i++) {
    hs_client_desc_t *d = fake_desc(0, 1, 10000 + i);
    d->service_pk.pubkey[0] = (uint8_t)i;
    d->service_pk.pubkey[1] = (uint8_t)(i >> 8);
    cr_assert_eq(hs_client_cache_put(c, d, 1), 0);
  }
  cr_assert_eq(hs_client_cache_size(c), HS_CLIENT_CACHE_MAX);
  /* the ones expiring first made room */
  ed25519_public_key_t pk;
  memset(&pk, 0, sizeof(pk));
  cr_assert_null(hs_client_cache_lookup(c, &pk, 2, NULL, NULL));
  pk.pubkey[0] = (uint8_t)(HS_CLIENT_CACHE_MAX + 9);
  pk.pubkey[1] = (uint8_t)((HS_CLIENT_CACHE_MAX + 9) >> 8);
  cr_assert_not_null(hs_client_cache_lookup(c, &pk, 2, NULL, NULL));
  cr_assert_eq(hs_client_cache_expire(c, 100000), HS_CLIENT_CACHE_MAX);
  hs_client_cache_free(c);
}
