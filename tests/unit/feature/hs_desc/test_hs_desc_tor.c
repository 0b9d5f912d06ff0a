/* test_hs_desc_tor.c -- interoperability: a descriptor published by tor
 * 0.4.9 as an onion service on a private tornet network (tor049-desc.txt,
 * taken with GETINFO hs/service/desc/id/ADDR at unix time CAPTURED).  From
 * the onion address alone we find the blinded key (checking our blinding
 * against tor's), open both layers with our code, check the introduction
 * points and their certificates, and rebuild tor's plaintexts byte for
 * byte with our builders.  tor049-desc-auth.txt is a descriptor with client
 * authorization: our client key opens it, no key or another key does not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirparse/netdoc.h"
#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#define ONION "fokfehd4k27rtqo7d2dhgkbf64m3x4szo3yspdhjoe4ebrwkbqpnh4ad"
static const time_t CAPTURED = 1796394802;

typedef struct tor_desc_t {
  netdoc_t *doc;
  char *text;
  torcert_t *signing_cert;
  uint64_t revision;
  const uint8_t *superenc;
  size_t superenc_len;
  ed25519_public_key_t identity, blinded, signing;
  uint8_t subcred[32];
} tor_desc_t;

static char *
load(const char *live, size_t *len)
{
  const char *src = getenv("ALLIUM_SRCDIR");
  char path[1024];
  snprintf(path, sizeof(path), "%s/tests/unit/feature/hs_desc/%s", src ? src : ALLIUM_SRCDIR,
           live && live[0] != '/' ? live : "tor049-desc.txt");
  if (live && live[0] == '/')
    snprintf(path, sizeof(path), "%s", live);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  char *buf = al_malloc(65536);
  *len = fread(buf, 1, 65535, f);
  fclose(f);
  buf[*len] = '\0';
  return buf;
}

static const netdoc_token_t *
item(const netdoc_t *d, const char *kw)
{
  for (size_t i = 0; i < d->n_tok; i++)
    if (strcmp(d->tok[i].keyword, kw) == 0)
      return &d->tok[i];
  cr_assert_fail("no %s in tor's descriptor", kw);
  return NULL;
}

/* Just enough of the outer layer (rend-spec-v3 2.4) for this test. */
static void
open_desc(tor_desc_t *t, const char *live, const char *onion, time_t now)
{
  memset(t, 0, sizeof(*t));
  cr_assert_eq(crypto_global_init(), 0);
  size_t len = 0;
  t->text = load(live, &len);
  cr_assert_eq(netdoc_tokenize(t->text, len, 0, &t->doc, NULL), 0);
  const netdoc_token_t *c = item(t->doc, "descriptor-signing-key-cert");
  cr_assert_eq(torcert_parse(&t->signing_cert, c->obj, c->obj_len), 0);
  cr_assert_eq(t->signing_cert->cert_type, CERT_TYPE_SIGNING_HS_DESC);
  cr_assert(t->signing_cert->has_signing_key);
  t->blinded = t->signing_cert->signing_key;
  memcpy(t->signing.pubkey, t->signing_cert->certified_key, 32);
  cr_assert_eq(torcert_validate(t->signing_cert, &t->blinded, now), 0);
  t->revision = strtoull(item(t->doc, "revision-counter")->args[0], NULL, 10);
  const netdoc_token_t *s = item(t->doc, "superencrypted");
  t->superenc = s->obj;
  t->superenc_len = s->obj_len;
  cr_assert_eq(hs_onion_address_parse(onion, &t->identity), 0);
  cr_assert_eq(hs_subcredential_from_identity(t->subcred, &t->identity, &t->blinded), 0);
}

static void
open_tor_desc(tor_desc_t *t)
{
  open_desc(t, NULL, ONION, CAPTURED);
}

static void
close_tor_desc(tor_desc_t *t)
{
  torcert_free(t->signing_cert);
  netdoc_free(t->doc);
  al_free(t->text);
}

Test(hs_desc_tor, blinded_key_matches_ours)
{
  tor_desc_t t;
  open_tor_desc(&t);
  /* A TestingTorNetwork tor with 20 s voting makes its time periods one
   * shared-random run long (24 rounds: 8 minutes) with a rotation offset of
   * one phase (12 rounds: 4 minutes); the descriptor is for the period of
   * the capture time. */
  uint64_t p = hs_time_period_num(CAPTURED, 8, 4);
  cr_assert_eq(p, 3742488);
  ed25519_public_key_t b;
  cr_assert_eq(hs_blind_public_key(&b, &t.identity, NULL, 0, p, 8), 0);
  int found = memcmp(b.pubkey, t.blinded.pubkey, 32) == 0;
  cr_assert(found, "our blinding does not give tor's blinded key");
  close_tor_desc(&t);
}

Test(hs_desc_tor, decrypt_tor_descriptor)
{
  tor_desc_t t;
  open_tor_desc(&t);
  hs_desc_layer2_t *l = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  int rv = hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision, &t.blinded, t.subcred,
                                 NULL, &t.signing, CAPTURED, &l, &err);
  cr_assert_eq(rv, 0, "rv %d: %s", rv, err.msg);
  cr_assert_eq(l->n_create2_formats, 1);
  cr_assert_eq(l->create2_formats[0], 2);
  cr_assert(l->has_flow_control, "tor 0.4.9 advertises flow-control");
  cr_assert_geq(l->n_intro, 1);
  cr_assert_leq(l->n_intro, 20);
  for (size_t i = 0; i < l->n_intro; i++) {
    relay_extend2_t m;
    cr_assert_eq(hs_desc_intro_point_lspecs(&l->intro[i], &m), 0);
    const relay_lspec_t *v4 = relay_extend2_find(&m, RELAY_LSPEC_IPV4);
    cr_assert_not_null(v4);
    cr_assert_eq(v4->u.ipv4.addr[0], 127);
    cr_assert_not_null(relay_extend2_find(&m, RELAY_LSPEC_LEGACY_ID));
    cr_assert_not_null(relay_extend2_find(&m, RELAY_LSPEC_ED25519_ID));
  }
  hs_desc_layer2_free(l);
  /* Wrong subcredential, revision counter, signing key. */
  t.subcred[0] ^= 1;
  cr_assert_eq(hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision, &t.blinded,
                                     t.subcred, NULL, &t.signing, CAPTURED, &l, NULL),
               HS_DESC_ERR_MAC);
  t.subcred[0] ^= 1;
  cr_assert_eq(hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision + 1, &t.blinded,
                                     t.subcred, NULL, &t.signing, CAPTURED, &l, NULL),
               HS_DESC_ERR_MAC);
  cr_assert_eq(hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision, &t.blinded,
                                     t.subcred, NULL, &t.blinded, CAPTURED, &l, NULL),
               HS_DESC_ERR_CERT);
  close_tor_desc(&t);
}

static void
rebuild_plaintexts(tor_desc_t *t_, time_t now)
{
  tor_desc_t t = *t_;
  char *pt1 = NULL, *pt2 = NULL, *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0, m1 = 0, m2 = 0;
  cr_assert_eq(hs_desc_layer_decrypt(&pt1, &n1, HS_DESC_LAYER_SUPERENCRYPTED, &t.blinded, NULL,
                                     t.subcred, t.revision, t.superenc, t.superenc_len), 0);
  cr_assert_eq((t.superenc_len - 48) % 10000, 0, "tor pads the first layer too");
  hs_desc_layer1_t *l1 = NULL;
  cr_assert_eq(hs_desc_layer1_parse(pt1, n1, &l1, NULL), 0);
  cr_assert_eq(l1->n_clients, 16, "tor's 16 fake auth-client lines");
  cr_assert_eq(hs_desc_layer1_build(l1, &b1, &m1), 0);
  cr_assert_eq(m1, n1);
  cr_assert_str_eq(b1, pt1, "our first layer differs from tor's");
  cr_assert_eq(hs_desc_layer_decrypt(&pt2, &n2, HS_DESC_LAYER_ENCRYPTED, &t.blinded, NULL,
                                     t.subcred, t.revision, l1->encrypted, l1->encrypted_len),
               0);
  cr_assert_eq(l1->encrypted_len, n2 + 48, "tor does not pad the second layer");
  hs_desc_layer2_t *l2 = NULL;
  cr_assert_eq(hs_desc_layer2_parse(pt2, n2, &t.signing, now, &l2, NULL), 0);
  cr_assert_eq(hs_desc_layer2_build(l2, &b2, &m2), 0);
  cr_assert_str_eq(b2, pt2, "our second layer differs from tor's");
  al_free(b1);
  al_free(b2);
  al_free(pt1);
  al_free(pt2);
  hs_desc_layer1_free(l1);
  hs_desc_layer2_free(l2);
}

Test(hs_desc_tor, rebuild_tor_plaintexts)
{
  tor_desc_t t;
  open_tor_desc(&t);
  rebuild_plaintexts(&t, CAPTURED);
  close_tor_desc(&t);
}

/* tor049-desc-auth.txt: the same kind of network, with the client key
 * below in hs0's authorized_clients/ (descriptor:x25519:BASE32(pub)). */
#define ONION_AUTH "lkp3ro7um5crmiok2hhir26jaevcjs6wbmdbhufdmk4mbowldcpoatid"
static const time_t CAPTURED_AUTH = 1796396029;

static void
client_key(uint8_t sec[32], uint8_t byte)
{
  memset(sec, byte, 32);
  sec[0] &= 248;
  sec[31] = (uint8_t)((sec[31] & 127) | 64);
}

Test(hs_desc_tor, client_auth_tor_descriptor)
{
  tor_desc_t t;
  open_desc(&t, "tor049-desc-auth.txt", ONION_AUTH, CAPTURED_AUTH);
  uint8_t sec[32], wrong[32];
  client_key(sec, 0x42);
  client_key(wrong, 0x43);
  hs_desc_layer2_t *l = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  cr_assert_eq(hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision, &t.blinded,
                                     t.subcred, NULL, &t.signing, CAPTURED_AUTH, &l, NULL),
               HS_DESC_ERR_AUTH, "opened without the client key");
  cr_assert_eq(hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision, &t.blinded,
                                     t.subcred, wrong, &t.signing, CAPTURED_AUTH, &l, NULL),
               HS_DESC_ERR_AUTH, "opened with another client key");
  int rv = hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision, &t.blinded, t.subcred,
                                 sec, &t.signing, CAPTURED_AUTH, &l, &err);
  cr_assert_eq(rv, 0, "rv %d: %s", rv, err.msg);
  cr_assert_geq(l->n_intro, 1);
  hs_desc_layer2_free(l);
  /* One real auth-client line among 16. */
  char *pt1 = NULL;
  size_t n1 = 0;
  cr_assert_eq(hs_desc_layer_decrypt(&pt1, &n1, HS_DESC_LAYER_SUPERENCRYPTED, &t.blinded, NULL,
                                     t.subcred, t.revision, t.superenc, t.superenc_len), 0);
  hs_desc_layer1_t *l1 = NULL;
  cr_assert_eq(hs_desc_layer1_parse(pt1, n1, &l1, NULL), 0);
  cr_assert_eq(l1->n_clients, 16);
  uint8_t cookie[HS_DESC_COOKIE_LEN];
  cr_assert_eq(hs_desc_layer1_find_cookie(l1, sec, t.subcred, cookie), 0);
  cr_assert_eq(hs_desc_layer1_find_cookie(l1, wrong, t.subcred, cookie), HS_DESC_ERR_AUTH);
  hs_desc_layer1_free(l1);
  al_free(pt1);
  close_tor_desc(&t);
}

/* The same checks on a descriptor fetched from a running tor by the
 * integration scenario hs-desc-tor (skipped unless it sets
 * ALLIUM_HSDESC_LIVE=file, ALLIUM_HSDESC_ONION=address, ALLIUM_HSDESC_NOW=
 * unix time of the fetch). */
Test(hs_desc_tor, live_descriptor)
{
  const char *file = getenv("ALLIUM_HSDESC_LIVE"), *onion = getenv("ALLIUM_HSDESC_ONION");
  const char *nows = getenv("ALLIUM_HSDESC_NOW");
  if (!file || !onion || !nows)
    cr_skip_test("no live descriptor (run tests/integration/run hs-desc-tor)");
  time_t now = (time_t)strtoll(nows, NULL, 10);
  tor_desc_t t;
  open_desc(&t, file, onion, now);
  uint64_t p = hs_time_period_num(now, 8, 4);
  int found = 0;
  for (uint64_t k = p - 1; k <= p + 1; k++) {
    ed25519_public_key_t b;
    cr_assert_eq(hs_blind_public_key(&b, &t.identity, NULL, 0, k, 8), 0);
    found |= memcmp(b.pubkey, t.blinded.pubkey, 32) == 0;
  }
  cr_assert(found, "our blinding does not give tor's blinded key");
  hs_desc_layer2_t *l = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  int rv = hs_desc_decrypt_inner(t.superenc, t.superenc_len, t.revision, &t.blinded, t.subcred,
                                 NULL, &t.signing, now, &l, &err);
  cr_assert_eq(rv, 0, "rv %d: %s", rv, err.msg);
  cr_assert_geq(l->n_intro, 1);
  printf("hs-desc-tor: opened tor's descriptor: %zu introduction points, revision %llu\n",
         l->n_intro, (unsigned long long)t.revision);
  hs_desc_layer2_free(l);
  rebuild_plaintexts(&t, now);
  close_tor_desc(&t);
}
