/* test_hs_desc_inner.c -- first and second layer plaintexts of a v3 onion
 * service descriptor (rend-spec-v3 2.5.1.2, 2.5.2.2) and the whole inner
 * part: round trips, fake and real auth-client lines, certificate checks,
 * the 20 introduction point limit, malformed, truncated and oversized
 * input, and client authorization (right key, wrong key, no key). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/hs_common/hs_desc_inner.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

static const time_t NOW = 1800000000;
static ed25519_keypair_t SIGN, OTHER;
static ed25519_public_key_t BK;
static uint8_t SUBCRED[32];

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(ed25519_keypair_generate(&SIGN), 0);
  cr_assert_eq(ed25519_keypair_generate(&OTHER), 0);
  crypto_rand(BK.pubkey, 32);
  crypto_rand(SUBCRED, 32);
}

TestSuite(hs_desc_inner, .init = setup);

/* ---- helpers ---- */

static void
make_intro(hs_desc_intro_point_t *ip, int i, const ed25519_keypair_t *signer, time_t life)
{
  relay_extend2_t m;
  memset(&m, 0, sizeof(m));
  m.n_spec = 3;
  m.spec[0].type = RELAY_LSPEC_IPV4;
  m.spec[0].u.ipv4.addr[0] = 127;
  m.spec[0].u.ipv4.addr[3] = (uint8_t)(i + 1);
  m.spec[0].u.ipv4.port = (uint16_t)(5000 + i);
  m.spec[1].type = RELAY_LSPEC_LEGACY_ID;
  memset(m.spec[1].u.legacy_id, 0x30 + i, RELAY_LEGACY_ID_LEN);
  m.spec[2].type = RELAY_LSPEC_ED25519_ID;
  memset(m.spec[2].u.ed25519_id, 0x60 + i, RELAY_ED25519_ID_LEN);
  x25519_keypair_t kp;
  cr_assert_eq(x25519_keypair_generate(&kp), 0);
  memcpy(ip->onion_key, kp.pub, 32);
  cr_assert_eq(x25519_keypair_generate(&kp), 0);
  memcpy(ip->enc_key, kp.pub, 32);
  ed25519_keypair_t auth;
  cr_assert_eq(ed25519_keypair_generate(&auth), 0);
  cr_assert_eq(hs_desc_intro_point_init(ip, &m, &auth.pub, signer, NOW, life), 0);
}

static hs_desc_layer2_t *
make_layer2(size_t n_intro)
{
  hs_desc_layer2_t *l = al_calloc(1, sizeof(*l));
  l->n_create2_formats = 1;
  l->create2_formats[0] = 2;
  l->n_intro = n_intro;
  for (size_t i = 0; i < n_intro && i < HS_DESC_MAX_INTRO_POINTS; i++)
    make_intro(&l->intro[i], (int)i, &SIGN, 3 * 3600);
  return l;
}

static char *
build2(const hs_desc_layer2_t *l)
{
  char *s = NULL;
  size_t n = 0;
  cr_assert_eq(hs_desc_layer2_build(l, &s, &n), 0);
  cr_assert_eq(strlen(s), n);
  return s;
}

static int
parse2(const char *s, const ed25519_public_key_t *pk, time_t now, hs_desc_layer2_t **out)
{
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  hs_desc_layer2_t *l = NULL;
  int rv = hs_desc_layer2_parse(s, strlen(s), pk, now, &l, &err);
  if (rv < 0)
    cr_assert_null(l);
  if (out)
    *out = l;
  else
    hs_desc_layer2_free(l);
  return rv;
}

/* s with the first occurrence of from replaced by to (new string). */
static char *
replace(const char *s, const char *from, const char *to)
{
  const char *p = strstr(s, from);
  cr_assert_not_null(p, "no \"%s\" in the document", from);
  return al_asprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static int
parse2_replaced(const char *s, const char *from, const char *to)
{
  char *t = replace(s, from, to);
  int rv = parse2(t, &SIGN.pub, NOW, NULL);
  al_free(t);
  return rv;
}

static void
assert_intro_eq(const hs_desc_intro_point_t *a, const hs_desc_intro_point_t *b)
{
  cr_assert_eq(a->lspecs_len, b->lspecs_len);
  cr_assert_arr_eq(a->lspecs, b->lspecs, a->lspecs_len);
  cr_assert_arr_eq(a->onion_key, b->onion_key, 32);
  cr_assert_arr_eq(a->enc_key, b->enc_key, 32);
  cr_assert_eq(a->auth_key_cert->encoded_len, b->auth_key_cert->encoded_len);
  cr_assert_arr_eq(a->auth_key_cert->certified_key, b->auth_key_cert->certified_key, 32);
  cr_assert_arr_eq(a->enc_key_cert->encoded, b->enc_key_cert->encoded,
                   a->enc_key_cert->encoded_len);
}

/* ---- second layer ---- */

Test(hs_desc_inner, layer2_round_trip)
{
  hs_desc_layer2_t *l = make_layer2(3);
  l->intro_auth_ed25519 = 1;
  l->single_onion_service = 1;
  l->has_flow_control = 1;
  strcpy(l->flow_control_versions, "1-2");
  l->flow_control_sendme_inc = 31;
  l->has_pow_v1 = 1;
  memset(l->pow_seed, 0xab, 32);
  l->pow_suggested_effort = 4000000000u;
  l->pow_expiration = NOW + 7200;
  char *s = build2(l);
  cr_assert_not_null(strstr(s, "create2-formats 2\nintro-auth-required ed25519\n"
                               "single-onion-service\nflow-control 1-2 31\npow-params v1 "));
  cr_assert_not_null(strstr(s, " 4000000000 2027-01-15T10:00:00\nintroduction-point "));
  hs_desc_layer2_t *p = NULL;
  cr_assert_eq(parse2(s, &SIGN.pub, NOW, &p), 0);
  cr_assert_eq(p->n_create2_formats, 1);
  cr_assert_eq(p->create2_formats[0], 2);
  cr_assert(p->has_intro_auth_required && p->intro_auth_ed25519 && p->single_onion_service);
  cr_assert(p->has_flow_control);
  cr_assert_str_eq(p->flow_control_versions, "1-2");
  cr_assert_eq(p->flow_control_sendme_inc, 31);
  cr_assert(p->has_pow_v1);
  cr_assert_arr_eq(p->pow_seed, l->pow_seed, 32);
  cr_assert_eq(p->pow_suggested_effort, 4000000000u);
  cr_assert_eq(p->pow_expiration, NOW + 7200);
  cr_assert_eq(p->n_intro, 3);
  for (int i = 0; i < 3; i++)
    assert_intro_eq(&p->intro[i], &l->intro[i]);
  relay_extend2_t m;
  cr_assert_eq(hs_desc_intro_point_lspecs(&p->intro[2], &m), 0);
  cr_assert_eq(m.n_spec, 3);
  cr_assert_eq(m.spec[0].u.ipv4.port, 5002);
  cr_assert_eq(m.spec[2].u.ed25519_id[0], 0x62);
  /* Rebuilding the parsed layer gives the same text. */
  char *s2 = build2(p);
  cr_assert_str_eq(s, s2);
  /* A missing final newline is fine. */
  s2[strlen(s2) - 1] = '\0';
  cr_assert_eq(parse2(s2, &SIGN.pub, NOW, NULL), 0);
  al_free(s2);
  al_free(s);
  hs_desc_layer2_free(p);
  hs_desc_layer2_free(l);
}

Test(hs_desc_inner, layer2_minimal_and_zero_intro_points)
{
  hs_desc_layer2_t *p = NULL;
  cr_assert_eq(parse2("create2-formats 2", NULL, 0, &p), 0);
  cr_assert_eq(p->n_intro, 0);
  cr_assert(!p->has_intro_auth_required && !p->single_onion_service && !p->has_flow_control);
  hs_desc_layer2_free(p);
  /* Unknown lines, unknown onion-key/enc-key types, legacy keys: ignored. */
  hs_desc_layer2_t *l = make_layer2(1);
  char *s = build2(l);
  char *t = replace(s, "onion-key ntor", "future-line x y\nonion-key future AAAA\nonion-key ntor");
  char *u = replace(t, "enc-key ntor", "legacy-key\nenc-key other ZZZ\nenc-key ntor");
  cr_assert_eq(parse2(u, &SIGN.pub, NOW, &p), 0);
  assert_intro_eq(&p->intro[0], &l->intro[0]);
  hs_desc_layer2_free(p);
  /* Other PoW schemes are ignored; create2-formats may list more. */
  cr_assert_eq(parse2("create2-formats 2 3\npow-params v9 anything\n", NULL, 0, &p), 0);
  cr_assert(!p->has_pow_v1);
  cr_assert_eq(p->n_create2_formats, 2);
  hs_desc_layer2_free(p);
  al_free(u);
  al_free(t);
  al_free(s);
  hs_desc_layer2_free(l);
}

Test(hs_desc_inner, layer2_malformed_header)
{
  const char *bad[] = {
    "",
    "\n",
    "intro-auth-required ed25519\n",                       /* no create2-formats */
    "create2-formats\n",
    "create2-formats 1\n",                                 /* no ntor */
    "create2-formats 2 x\n",
    "create2-formats 2 65536\n",
    "create2-formats 2 02\n",
    "create2-formats 2\ncreate2-formats 2\n",
    "create2-formats 2\nsingle-onion-service\nsingle-onion-service\n",
    "create2-formats 2\nflow-control 1-2\n",
    "create2-formats 2\nflow-control 1-2 256\n",
    "create2-formats 2\nflow-control a-b 31\n",
    "create2-formats 2\npow-params v1 AAAA 1 2027-01-01T00:00:00\n",   /* short seed */
    "create2-formats 2\npow-params v1 q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s 1\n",
    "create2-formats 2\npow-params v1 q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s -1 "
    "2027-01-01T00:00:00\n",
    "create2-formats 2\npow-params v1 q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s 1 "
    "2027-01-01 00:00:00\n",
    "create2-formats 2\npow-params v1 q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s 1 "
    "2027-01-01T00:00:00\npow-params v1 q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s 1 "
    "2027-01-01T00:00:00\n",
    "create2-formats 2\nonion-key ntor AAAA\n",            /* intro item in header */
    "create2-formats 2\r\n",
    "create2-formats 2\nintroduction-point\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_lt(parse2(bad[i], NULL, 0, NULL), 0, "accepted case %zu: %s", i, bad[i]);
  cr_assert_eq(parse2("create2-formats 2\npow-params v1 "
                      "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s 0 2027-01-01T00:00:00 extra\n",
                      NULL, 0, NULL), 0);
  const char nul[] = "create2-formats 2\n\0x\n";
  hs_desc_layer2_t *p = NULL;
  cr_assert_lt(hs_desc_layer2_parse(nul, sizeof(nul) - 1, NULL, 0, &p, NULL), 0);
  cr_assert_eq(hs_desc_layer2_parse(NULL, 5, NULL, 0, &p, NULL), HS_DESC_ERR_ARG);
}

Test(hs_desc_inner, layer2_malformed_intro_points)
{
  hs_desc_layer2_t *l = make_layer2(1);
  char *s = build2(l);
  /* Each item missing, doubled or broken. */
  cr_assert_lt(parse2_replaced(s, "onion-key ntor", "onion-key notntor"), 0);
  cr_assert_lt(parse2_replaced(s, "onion-key ntor ", "onion-key ntor AAAA\nonion-key ntor "), 0);
  cr_assert_lt(parse2_replaced(s, "enc-key ntor ", "enc-key ntor x"), 0);
  cr_assert_lt(parse2_replaced(s, "enc-key ntor", "enc-key"), 0);
  cr_assert_lt(parse2_replaced(s, "auth-key\n", "auth-key x\n"), 0);
  cr_assert_lt(parse2_replaced(s, "auth-key\n", "auth-key\n-----BEGIN ED25519 CERT-----\n"
                               "AQkAAA==\n-----END ED25519 CERT-----\nauth-key\n"), 0);
  cr_assert_lt(parse2_replaced(s, "enc-key-cert\n-----BEGIN ED25519 CERT-----",
                               "enc-key-cert\n-----BEGIN RSA PUBLIC KEY-----"), 0);
  cr_assert_lt(parse2_replaced(s, "introduction-point ", "introduction-point !"), 0);
  cr_assert_lt(parse2_replaced(s, "introduction-point ", "introduction-point AA== "), 0);
  /* Link specifiers: zero of them, a truncated one, a wrong length. */
  cr_assert_lt(parse2_replaced(s, "introduction-point ", "introduction-point AA==\nx"), 0);
  cr_assert_lt(parse2_replaced(s, "introduction-point ", "introduction-point AQAGfw==\nx"), 0);
  cr_assert_lt(parse2_replaced(s, "introduction-point ", "introduction-point AQAFfwAAAQE=\nx"),
               0);
  /* Truncated documents: every prefix cut at a line start fails or is the
   * header only. */
  for (const char *p = strchr(s, '\n'); p; p = strchr(p + 1, '\n')) {
    char *t = al_strndup(s, (size_t)(p - s) + 1);
    int rv = parse2(t, &SIGN.pub, NOW, NULL);
    if (strlen(t) < strlen(s) && strstr(t, "introduction-point"))
      cr_assert_lt(rv, 0, "prefix of %zu bytes accepted", strlen(t));
    else
      cr_assert_eq(rv, 0);
    al_free(t);
  }
  al_free(s);
  hs_desc_layer2_free(l);
}

Test(hs_desc_inner, layer2_cert_checks)
{
  hs_desc_layer2_t *l = make_layer2(2);
  char *s = build2(l);
  cr_assert_eq(parse2(s, &SIGN.pub, NOW, NULL), 0);
  cr_assert_eq(parse2(s, NULL, 0, NULL), 0, "no key: structure only");
  cr_assert_eq(parse2(s, &OTHER.pub, NOW, NULL), HS_DESC_ERR_CERT, "wrong signing key");
  cr_assert_eq(parse2(s, &SIGN.pub, NOW + 5 * 3600, NULL), HS_DESC_ERR_CERT, "expired");
  hs_desc_layer2_free(l);
  al_free(s);

  /* Certificates signed by another key than the one given. */
  l = make_layer2(0);
  l->n_intro = 1;
  make_intro(&l->intro[0], 0, &OTHER, 3600);
  s = build2(l);
  cr_assert_eq(parse2(s, &SIGN.pub, NOW, NULL), HS_DESC_ERR_CERT);
  cr_assert_eq(parse2(s, &OTHER.pub, NOW, NULL), 0);
  al_free(s);

  /* auth-key and enc-key-cert swapped: wrong certificate types. */
  torcert_t *tmp = l->intro[0].auth_key_cert;
  l->intro[0].auth_key_cert = l->intro[0].enc_key_cert;
  l->intro[0].enc_key_cert = tmp;
  s = build2(l);
  cr_assert_eq(parse2(s, &OTHER.pub, NOW, NULL), HS_DESC_ERR_CERT);
  al_free(s);
  tmp = l->intro[0].auth_key_cert;
  l->intro[0].auth_key_cert = l->intro[0].enc_key_cert;
  l->intro[0].enc_key_cert = tmp;

  /* enc-key that the enc-key-cert does not certify. */
  l->intro[0].enc_key[0] ^= 0x40;
  s = build2(l);
  cr_assert_eq(parse2(s, &OTHER.pub, NOW, NULL), HS_DESC_ERR_CERT);
  cr_assert_eq(parse2(s, NULL, 0, NULL), HS_DESC_ERR_CERT);
  al_free(s);
  l->intro[0].enc_key[0] ^= 0x40;

  /* A certificate without the signed-with-key extension. */
  torcert_free(l->intro[0].auth_key_cert);
  cr_assert_eq(torcert_create(&l->intro[0].auth_key_cert, CERT_TYPE_AUTH_HS_IP_KEY,
                              CERT_KEY_TYPE_ED25519, OTHER.pub.pubkey, &OTHER, NOW, 3600, 0), 0);
  s = build2(l);
  cr_assert_eq(parse2(s, &OTHER.pub, NOW, NULL), HS_DESC_ERR_CERT);
  al_free(s);

  /* A corrupted signature. */
  torcert_free(l->intro[0].auth_key_cert);
  cr_assert_eq(torcert_create(&l->intro[0].auth_key_cert, CERT_TYPE_AUTH_HS_IP_KEY,
                              CERT_KEY_TYPE_ED25519, OTHER.pub.pubkey, &OTHER, NOW, 3600, 1), 0);
  l->intro[0].auth_key_cert->encoded[l->intro[0].auth_key_cert->encoded_len - 1] ^= 1;
  s = build2(l);
  cr_assert_eq(parse2(s, &OTHER.pub, NOW, NULL), HS_DESC_ERR_CERT);
  cr_assert_eq(parse2(s, NULL, 0, NULL), 0);
  al_free(s);
  hs_desc_layer2_free(l);
}

Test(hs_desc_inner, layer2_twenty_intro_points_max)
{
  hs_desc_layer2_t *l = make_layer2(20);
  char *s = build2(l);
  hs_desc_layer2_t *p = NULL;
  cr_assert_eq(parse2(s, &SIGN.pub, NOW, &p), 0);
  cr_assert_eq(p->n_intro, 20);
  hs_desc_layer2_free(p);
  /* A 21st introduction point (a copy of the last one). */
  const char *last = strstr(s, "introduction-point ");
  for (const char *q = last; q; q = strstr(q + 1, "introduction-point "))
    last = q;
  char *t = al_asprintf("%s%s", s, last);
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  cr_assert_eq(hs_desc_layer2_parse(t, strlen(t), &SIGN.pub, NOW, &p, &err),
               HS_DESC_ERR_LIMIT);
  cr_assert_not_null(strstr(err.msg, "more than 20"));
  al_free(t);
  /* The builder refuses 21 too. */
  l->n_intro = 21;
  char *o = NULL;
  size_t n = 0;
  cr_assert_eq(hs_desc_layer2_build(l, &o, &n), HS_DESC_ERR_LIMIT);
  l->n_intro = 20;
  al_free(s);
  hs_desc_layer2_free(l);
  /* Oversized input. */
  char *big = al_malloc(50002);
  memset(big, 'a', 50001);
  big[50001] = '\0';
  cr_assert_eq(parse2(big, NULL, 0, NULL), HS_DESC_ERR_LIMIT);
  al_free(big);
}

Test(hs_desc_inner, layer2_build_refuses_bad_input)
{
  hs_desc_layer2_t *l = make_layer2(1);
  char *o = NULL;
  size_t n = 0;
  l->n_create2_formats = 0;
  cr_assert_eq(hs_desc_layer2_build(l, &o, &n), HS_DESC_ERR_ARG);
  l->n_create2_formats = 1;
  l->has_flow_control = 1;
  strcpy(l->flow_control_versions, "1 2");
  cr_assert_eq(hs_desc_layer2_build(l, &o, &n), HS_DESC_ERR_ARG);
  l->has_flow_control = 0;
  torcert_free(l->intro[0].enc_key_cert);
  cr_assert_eq(hs_desc_layer2_build(l, &o, &n), HS_DESC_ERR_ARG);
  cr_assert_null(o);
  hs_desc_layer2_free(l);
  hs_desc_intro_point_t ip;
  memset(&ip, 0, sizeof(ip));
  relay_extend2_t m;
  memset(&m, 0, sizeof(m));
  cr_assert_eq(hs_desc_intro_point_init(&ip, &m, &SIGN.pub, &SIGN, NOW, 60), HS_DESC_ERR_ARG);
}

/* ---- first layer ---- */

static hs_desc_layer1_t *
make_layer1(size_t enc_len)
{
  hs_desc_layer1_t *l = al_calloc(1, sizeof(*l));
  crypto_rand(l->ephemeral_key, 32);
  l->encrypted = al_malloc(enc_len);
  crypto_rand(l->encrypted, enc_len);
  l->encrypted_len = enc_len;
  cr_assert_eq(hs_desc_layer1_set_clients(l, NULL, NULL, 0, NULL, NULL), 0);
  return l;
}

static int
parse1(const char *s, hs_desc_layer1_t **out)
{
  hs_desc_layer1_t *l = NULL;
  int rv = hs_desc_layer1_parse(s, strlen(s), &l, NULL);
  if (rv < 0)
    cr_assert_null(l);
  if (out)
    *out = l;
  else
    hs_desc_layer1_free(l);
  return rv;
}

Test(hs_desc_inner, layer1_round_trip_large_object)
{
  /* Larger than the generic tokenizer's object limit (16384 bytes). */
  hs_desc_layer1_t *l = make_layer1(30000);
  cr_assert_eq(l->n_clients, 16, "16 fake auth-client lines");
  char *s = NULL;
  size_t n = 0;
  cr_assert_eq(hs_desc_layer1_build(l, &s, &n), 0);
  cr_assert_eq(strncmp(s, "desc-auth-type x25519\ndesc-auth-ephemeral-key ", 46), 0);
  cr_assert_neq(s[n - 1], '\n', "no final newline, as C tor");
  cr_assert_eq(strcmp(s + n - 21, "-----END MESSAGE-----"), 0);
  hs_desc_layer1_t *p = NULL;
  cr_assert_eq(parse1(s, &p), 0);
  cr_assert_arr_eq(p->ephemeral_key, l->ephemeral_key, 32);
  cr_assert_eq(p->n_clients, 16);
  cr_assert_arr_eq(p->clients, l->clients, 16 * sizeof(*l->clients));
  cr_assert_eq(p->encrypted_len, 30000);
  cr_assert_arr_eq(p->encrypted, l->encrypted, 30000);
  hs_desc_layer1_free(p);
  /* With a final newline, and with unknown lines around. */
  char *t = al_asprintf("future-item 1\n%s\nanother-item\n", s);
  cr_assert_eq(parse1(t, &p), 0);
  cr_assert_eq(p->encrypted_len, 30000);
  hs_desc_layer1_free(p);
  al_free(t);
  al_free(s);
  hs_desc_layer1_free(l);
}

Test(hs_desc_inner, layer1_malformed)
{
  hs_desc_layer1_t *l = make_layer1(100);
  char *s = NULL;
  size_t n = 0;
  cr_assert_eq(hs_desc_layer1_build(l, &s, &n), 0);
  struct { const char *from, *to; } cases[] = {
    { "desc-auth-type x25519", "desc-auth-type ed25519" },
    { "desc-auth-type x25519\n", "" },
    { "desc-auth-type x25519", "desc-auth-type x25519\ndesc-auth-type x25519" },
    { "desc-auth-ephemeral-key ", "desc-auth-ephemeral-key AAAA" },
    { "desc-auth-ephemeral-key ", "desc-auth-ephemeral-key" },
    { "auth-client ", "auth-client AAAA" },
    { "auth-client ", "auth-client !" },
    { "encrypted\n", "encrypted x\n" },
    { "encrypted\n", "" },
    { "-----BEGIN MESSAGE-----\n", "" },
    { "-----BEGIN MESSAGE-----\n", "-----BEGIN MESSAGE-----\n!!!!\n" },
    { "-----BEGIN MESSAGE-----\n", "-----BEGIN MESSAGE-----\n\n" },
    { "-----END MESSAGE-----", "-----END MESSAGE----" },
    { "-----END MESSAGE-----", "-----END MESSAGE-----\nencrypted\n-----BEGIN MESSAGE-----\n"
                               "AAAA\n-----END MESSAGE-----" },
    { "desc-auth-type", "\001desc-auth-type" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *t = replace(s, cases[i].from, cases[i].to);
    cr_assert_lt(parse1(t, NULL), 0, "accepted case %zu", i);
    al_free(t);
  }
  /* No auth-client line at all. */
  char *t = al_strdup(s);
  char *a;
  while ((a = strstr(t, "auth-client ")) != NULL) {
    char *e = strchr(a, '\n');
    memmove(a, e + 1, strlen(e + 1) + 1);
  }
  cr_assert_eq(parse1(t, NULL), HS_DESC_ERR_SYNTAX);
  al_free(t);
  /* Every truncation fails. */
  for (size_t k = 0; k < n; k += 7) {
    char *u = al_strndup(s, k);
    cr_assert_lt(parse1(u, NULL), 0, "prefix %zu accepted", k);
    al_free(u);
  }
  /* Empty, NUL inside, oversized. */
  hs_desc_layer1_t *p = NULL;
  cr_assert_lt(hs_desc_layer1_parse("", 0, &p, NULL), 0);
  cr_assert_lt(hs_desc_layer1_parse(s, n + 1, &p, NULL), 0);
  char *big = al_calloc(1, 50002);
  memset(big, 'a', 50001);
  cr_assert_eq(hs_desc_layer1_parse(big, 50001, &p, NULL), HS_DESC_ERR_LIMIT);
  al_free(big);
  al_free(s);
  hs_desc_layer1_free(l);
}

Test(hs_desc_inner, layer1_auth_clients)
{
  uint8_t subcred[32], cookie[32], got[32];
  crypto_rand(subcred, 32);
  crypto_rand(cookie, 32);
  x25519_keypair_t eph, c[17], stranger;
  cr_assert_eq(x25519_keypair_generate(&eph), 0);
  cr_assert_eq(x25519_keypair_generate(&stranger), 0);
  uint8_t pubs[17][32];
  for (int i = 0; i < 17; i++) {
    cr_assert_eq(x25519_keypair_generate(&c[i]), 0);
    memcpy(pubs[i], c[i].pub, 32);
  }
  const size_t counts[] = { 1, 3, 16, 17 }, want[] = { 16, 16, 16, 32 };
  for (size_t k = 0; k < 4; k++) {
    hs_desc_layer1_t *l = make_layer1(10);
    memcpy(l->ephemeral_key, eph.pub, 32);
    cr_assert_eq(hs_desc_layer1_set_clients(l, eph.sec, (const uint8_t (*)[32])pubs,
                                            counts[k], subcred, cookie), 0);
    cr_assert_eq(l->n_clients, want[k]);
    /* Through text and back. */
    char *s = NULL;
    size_t n = 0;
    cr_assert_eq(hs_desc_layer1_build(l, &s, &n), 0);
    hs_desc_layer1_t *p = NULL;
    cr_assert_eq(parse1(s, &p), 0);
    for (size_t i = 0; i < counts[k]; i++) {
      memset(got, 0, 32);
      cr_assert_eq(hs_desc_layer1_find_cookie(p, c[i].sec, subcred, got), 0);
      cr_assert_arr_eq(got, cookie, HS_DESC_COOKIE_LEN);
    }
    if (counts[k] < 17)
      cr_assert_eq(hs_desc_layer1_find_cookie(p, c[16].sec, subcred, got), HS_DESC_ERR_AUTH);
    cr_assert_eq(hs_desc_layer1_find_cookie(p, stranger.sec, subcred, got), HS_DESC_ERR_AUTH);
    subcred[0] ^= 1;
    cr_assert_eq(hs_desc_layer1_find_cookie(p, c[0].sec, subcred, got), HS_DESC_ERR_AUTH);
    subcred[0] ^= 1;
    hs_desc_layer1_free(p);
    al_free(s);
    hs_desc_layer1_free(l);
  }
}

/* ---- whole inner part ---- */

Test(hs_desc_inner, entry_round_trip_without_client_auth)
{
  hs_desc_layer2_t *l = make_layer2(3);
  uint8_t *blob = NULL;
  size_t len = 0;
  cr_assert_eq(hs_desc_encrypt_inner(&blob, &len, l, 77, &BK, SUBCRED, NULL, 0), 0);
  cr_assert_eq((len - 48) % 10000, 0);
  hs_desc_layer2_t *p = NULL;
  netdoc_err_t err;
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 77, &BK, SUBCRED, NULL, &SIGN.pub, NOW, &p,
                                     &err), 0);
  cr_assert_eq(p->n_intro, 3);
  for (int i = 0; i < 3; i++)
    assert_intro_eq(&p->intro[i], &l->intro[i]);
  hs_desc_layer2_free(p);
  /* A client that has a key for it still gets in (its id is not there). */
  x25519_keypair_t k;
  cr_assert_eq(x25519_keypair_generate(&k), 0);
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 77, &BK, SUBCRED, k.sec, &SIGN.pub, NOW, &p,
                                     NULL), 0);
  hs_desc_layer2_free(p);
  /* Wrong revision counter, subcredential, blinded key: first-layer MAC. */
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 78, &BK, SUBCRED, NULL, &SIGN.pub, NOW, &p,
                                     NULL), HS_DESC_ERR_MAC);
  uint8_t sub2[32];
  memcpy(sub2, SUBCRED, 32);
  sub2[9] ^= 2;
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 77, &BK, sub2, NULL, &SIGN.pub, NOW, &p,
                                     NULL), HS_DESC_ERR_MAC);
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 77, &SIGN.pub, SUBCRED, NULL, &SIGN.pub, NOW,
                                     &p, NULL), HS_DESC_ERR_MAC);
  /* Wrong signing key: certificates refused. */
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 77, &BK, SUBCRED, NULL, &OTHER.pub, NOW, &p,
                                     NULL), HS_DESC_ERR_CERT);
  cr_assert_eq(hs_desc_decrypt_inner(blob, 47, 77, &BK, SUBCRED, NULL, &SIGN.pub, NOW, &p,
                                     NULL), HS_DESC_ERR_SYNTAX);
  cr_assert_null(p);
  al_free(blob);
  hs_desc_layer2_free(l);
}

Test(hs_desc_inner, entry_client_auth)
{
  hs_desc_layer2_t *l = make_layer2(2);
  x25519_keypair_t a, b, stranger;
  cr_assert_eq(x25519_keypair_generate(&a), 0);
  cr_assert_eq(x25519_keypair_generate(&b), 0);
  cr_assert_eq(x25519_keypair_generate(&stranger), 0);
  uint8_t pubs[2][32];
  memcpy(pubs[0], a.pub, 32);
  memcpy(pubs[1], b.pub, 32);
  uint8_t *blob = NULL;
  size_t len = 0;
  cr_assert_eq(hs_desc_encrypt_inner(&blob, &len, l, 3, &BK, SUBCRED,
                                     (const uint8_t (*)[32])pubs, 2), 0);
  hs_desc_layer2_t *p = NULL;
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 3, &BK, SUBCRED, a.sec, &SIGN.pub, NOW, &p,
                                     NULL), 0);
  cr_assert_eq(p->n_intro, 2);
  assert_intro_eq(&p->intro[1], &l->intro[1]);
  hs_desc_layer2_free(p);
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 3, &BK, SUBCRED, b.sec, &SIGN.pub, NOW, &p,
                                     NULL), 0);
  hs_desc_layer2_free(p);
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 3, &BK, SUBCRED, NULL, &SIGN.pub, NOW, &p,
                                     NULL), HS_DESC_ERR_AUTH);
  cr_assert_eq(hs_desc_decrypt_inner(blob, len, 3, &BK, SUBCRED, stranger.sec, &SIGN.pub,
                                     NOW, &p, NULL), HS_DESC_ERR_AUTH);
  cr_assert_null(p);
  al_free(blob);
  /* 21 introduction points cannot be published. */
  l->n_intro = 21;
  cr_assert_eq(hs_desc_encrypt_inner(&blob, &len, l, 3, &BK, SUBCRED, NULL, 0),
               HS_DESC_ERR_LIMIT);
  l->n_intro = 2;
  hs_desc_layer2_free(l);
}
