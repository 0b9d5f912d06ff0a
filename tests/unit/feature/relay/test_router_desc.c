/* test_router_desc.c -- tests for src/feature/relay/router_desc*.c: the
 * server descriptor allium builds (dir-spec 2.1.1) parses and verifies with
 * allium's own parser (every signature and crosscert), has every item the
 * tor 0.4.9 authorities require in an order they accept, stays under the
 * 20,000-byte limit, and malformed parameters are refused. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/dirparse/routerdesc.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

static char tmpdir[256];
static relay_keys_t *keys;
static time_t now;

static void
rm_rf(const char *path)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char *sub = al_asprintf("%s/%s", path, e->d_name);
      rm_rf(sub);
      al_free(sub);
    }
    if (d)
      closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  strcpy(tmpdir, "/tmp/allium-test-desc-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  now = time(NULL);
  char *dd = al_asprintf("%s/D", tmpdir);
  cr_assert_eq(relay_keys_load_or_create_at(dd, 1, now, &keys), 0);
  al_free(dd);
}

static void
teardown(void)
{
  relay_keys_free(keys);
  rm_rf(tmpdir);
}

TestSuite(router_desc, .init = setup, .fini = teardown);

static const char *const FAMILY[] = { "$0123456789ABCDEF0123456789ABCDEF01234567", "friend" };
static const char *const POLICY[] = { "reject *:*" };

static router_desc_params_t
params(void)
{
  router_desc_params_t p;
  memset(&p, 0, sizeof(p));
  p.keys = keys;
  p.nickname = "alliumTest1";
  p.ipv4[0] = 127;
  p.ipv4[3] = 1;
  p.orport = 9001;
  p.published = now;
  p.uptime = 3600;
  p.bw_avg = 1073741824;
  p.bw_burst = 1073741824;
  p.bw_observed = 123456;
  p.contact = "operator <op@example.invalid>";
  p.family = FAMILY;
  p.n_family = 2;
  p.tunnelled_dir_server = true;
  p.policy = POLICY;
  p.n_policy = 1;
  return p;
}

static routerdesc_t *
build_and_parse(const router_desc_params_t *p, char **text, size_t *len)
{
  int r = router_desc_build(p, text, len);
  cr_assert_eq(r, 0, "build: %s", router_desc_strerror(r));
  cr_assert_eq(strlen(*text), *len);
  routerdesc_t *rd = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  r = routerdesc_parse(*text, *len, &rd, &err);
  cr_assert_eq(r, 0, "parse: %s\n%s", err.msg, *text);
  return rd;
}

Test(router_desc, parses_and_verifies_with_our_parser)
{
  router_desc_params_t p = params();
  char *text = NULL;
  size_t len = 0;
  routerdesc_t *rd = build_and_parse(&p, &text, &len);
  cr_assert_leq(len, ROUTER_DESC_MAX_LEN);
  cr_assert_str_eq(rd->nickname, "alliumTest1");
  uint8_t lo[4] = { 127, 0, 0, 1 };
  cr_assert(memcmp(rd->ipv4, lo, 4) == 0);
  cr_assert_eq(rd->orport, 9001);
  cr_assert_eq(rd->dirport, 0);
  cr_assert(memcmp(rd->master_key.pubkey, relay_keys_master_public(keys)->pubkey, 32) == 0);
  cr_assert(memcmp(rd->signing_key.pubkey, relay_keys_signing_keypair(keys)->pub.pubkey,
                   32) == 0);
  cr_assert(memcmp(rd->rsa_id, relay_keys_identity_digest(keys), 20) == 0);
  cr_assert_not_null(rd->onion_key);
  cr_assert(rsa_key_public_eq(rd->onion_key, relay_keys_onion_rsa(keys)));
  cr_assert(memcmp(rd->ntor_onion_key, relay_keys_onion_ntor(keys)->pub, 32) == 0);
  cr_assert_eq(rd->bw_avg, 1073741824);
  cr_assert_eq(rd->bw_observed, 123456);
  cr_assert_eq(rd->published, now);
  cr_assert(rd->has_uptime);
  cr_assert_eq(rd->uptime, 3600);
  cr_assert_str_eq(rd->protocols, ROUTER_DESC_PROTO);
  cr_assert_not_null(rd->platform);
  cr_assert(strncmp(rd->platform, "allium ", 7) == 0, "platform %s", rd->platform);
  cr_assert_str_eq(rd->contact, "operator <op@example.invalid>");
  cr_assert_eq(rd->n_family, 2);
  cr_assert_str_eq(rd->family[1], "friend");
  cr_assert(rd->tunnelled_dir_server);
  cr_assert(!rd->hidden_service_dir);
  cr_assert_eq(rd->n_policy, 1);
  cr_assert_eq(rd->policy[0].accept, 0);
  cr_assert_str_eq(rd->policy[0].pattern, "*:*");
  /* Certificates are not expired now and outlive the descriptor. */
  cr_assert_gt(rd->cert_expires, now + 24 * 3600);
  uint8_t d[20];
  cr_assert_eq(router_desc_digest(text, len, d), 0);
  cr_assert(memcmp(d, rd->digest, 20) == 0);
  routerdesc_free(rd);
  al_free(text);
}

/* The items the tor 0.4.9 authorities insist on, in the order tor writes. */
Test(router_desc, required_items_in_order)
{
  static const char *const ORDER[] = {
    "router ", "identity-ed25519\n", "master-key-ed25519 ", "platform ", "proto ",
    "published ", "fingerprint ", "uptime ", "bandwidth ", "onion-key\n", "signing-key\n",
    "onion-key-crosscert\n", "ntor-onion-key-crosscert ", "family ", "contact ",
    "ntor-onion-key ", "reject *:*\n", "tunnelled-dir-server\n", "router-sig-ed25519 ",
    "router-signature\n",
  };
  router_desc_params_t p = params();
  char *text = NULL;
  size_t len = 0;
  cr_assert_eq(router_desc_build(&p, &text, &len), 0);
  const char *at = text;
  for (size_t i = 0; i < sizeof(ORDER) / sizeof(ORDER[0]); i++) {
    const char *hit = strstr(at, ORDER[i]);
    /* Match at a line start only. */
    while (hit && hit != text && hit[-1] != '\n')
      hit = strstr(hit + 1, ORDER[i]);
    cr_assert_not_null(hit, "item \"%s\" missing or out of order", ORDER[i]);
    at = hit + 1;
  }
  cr_assert(strncmp(text, "router alliumTest1 127.0.0.1 9001 0 0\nidentity-ed25519\n", 54) == 0);
  /* Last item: router-signature and its object, then nothing. */
  const char *sig = strstr(text, "\nrouter-signature\n-----BEGIN SIGNATURE-----\n");
  cr_assert_not_null(sig);
  cr_assert(strcmp(text + len - strlen("-----END SIGNATURE-----\n"),
                   "-----END SIGNATURE-----\n") == 0);
  cr_assert_null(strstr(text, "\n\n"), "no blank lines");
  cr_assert_null(strstr(text, "or-address"), "no or-address without IPv6");
  cr_assert_null(strstr(text, "hidden-service-dir"));
  al_free(text);
}

Test(router_desc, ipv6_dirport_hsdir_and_defaults)
{
  router_desc_params_t p = params();
  p.has_ipv6 = true;
  p.ipv6[0] = 0x20;
  p.ipv6[1] = 0x01;
  p.ipv6[2] = 0x0d;
  p.ipv6[3] = 0xb8;
  p.ipv6[15] = 5;
  p.ipv6_orport = 9002;
  p.dirport = 9030;
  p.hidden_service_dir = true;
  p.contact = NULL;
  p.n_family = 0;
  p.family = NULL;
  p.policy = NULL;
  p.n_policy = 0;
  p.platform = "allium 9.9 on Plan9";
  p.proto = "Link=4-5 Relay=2";
  char *text = NULL;
  size_t len = 0;
  routerdesc_t *rd = build_and_parse(&p, &text, &len);
  cr_assert(rd->has_ipv6);
  cr_assert(memcmp(rd->ipv6, p.ipv6, 16) == 0);
  cr_assert_eq(rd->ipv6_port, 9002);
  cr_assert_eq(rd->dirport, 9030);
  cr_assert(rd->hidden_service_dir);
  cr_assert_null(rd->contact);
  cr_assert_eq(rd->n_family, 0);
  cr_assert_eq(rd->n_policy, 1);
  cr_assert_str_eq(rd->policy[0].pattern, "*:*");
  cr_assert_str_eq(rd->platform, "allium 9.9 on Plan9");
  cr_assert_str_eq(rd->protocols, "Link=4-5 Relay=2");
  cr_assert_not_null(strstr(text, "\nor-address [2001:db8::5]:9002\n"));
  routerdesc_free(rd);
  al_free(text);
}

/* Write a tor-format ntor key whose ed25519 form has sign bit `want`. */
static void
force_ntor_signbit(const char *datadir, int want)
{
  x25519_keypair_t kp;
  for (int tries = 0; tries < 200; tries++) {
    cr_assert_eq(x25519_keypair_generate(&kp), 0);
    ed25519_keypair_t ed;
    int bit = -1;
    cr_assert_eq(ed25519_keypair_from_curve25519(&ed, &bit, kp.sec), 0);
    ed25519_keypair_wipe(&ed);
    if (bit == want)
      break;
  }
  uint8_t file[96];
  memset(file, 0, sizeof(file));
  memcpy(file, "== c25519v1: onion ==", 21);
  memcpy(file + 32, kp.sec, 32);
  memcpy(file + 64, kp.pub, 32);
  char *path = al_asprintf("%s/keys/secret_onion_key_ntor", datadir);
  cr_assert_eq(fs_write_file_atomic(path, file, sizeof(file), 0600), 0);
  al_free(path);
}

Test(router_desc, ntor_crosscert_both_sign_bits)
{
  for (int bit = 0; bit <= 1; bit++) {
    char *dd = al_asprintf("%s/B%d", tmpdir, bit);
    relay_keys_t *k = NULL;
    cr_assert_eq(relay_keys_load_or_create_at(dd, 1, now, &k), 0);
    relay_keys_free(k);
    force_ntor_signbit(dd, bit);
    cr_assert_eq(relay_keys_load_or_create_at(dd, 0, now, &k), 0);
    router_desc_params_t p = params();
    p.keys = k;
    char *text = NULL;
    size_t len = 0;
    routerdesc_t *rd = build_and_parse(&p, &text, &len);
    char want[64];
    snprintf(want, sizeof(want), "\nntor-onion-key-crosscert %d\n", bit);
    cr_assert_not_null(strstr(text, want), "sign bit %d not written", bit);
    routerdesc_free(rd);
    al_free(text);
    relay_keys_free(k);
    al_free(dd);
  }
}

/* Any change to the signed text breaks a signature. */
Test(router_desc, tampering_is_detected)
{
  router_desc_params_t p = params();
  char *text = NULL;
  size_t len = 0;
  cr_assert_eq(router_desc_build(&p, &text, &len), 0);
  static const char *const EDITS[][2] = {
    { "uptime 3600", "uptime 3601" },
    { "bandwidth 1073741824", "bandwidth 1073741825" },
    { "alliumTest1", "alliumTest2" },
  };
  for (size_t i = 0; i < sizeof(EDITS) / sizeof(EDITS[0]); i++) {
    char *copy = al_strdup(text);
    char *at = strstr(copy, EDITS[i][0]);
    cr_assert_not_null(at);
    memcpy(at, EDITS[i][1], strlen(EDITS[i][1]));
    routerdesc_t *rd = NULL;
    netdoc_err_t err;
    memset(&err, 0, sizeof(err));
    cr_assert_eq(routerdesc_parse(copy, len, &rd, &err), DIRPARSE_ERR_SIG, "edit %zu: %s", i,
                 err.msg);
    cr_assert_null(rd);
    al_free(copy);
  }
  al_free(text);
}

static void
assert_refused(const router_desc_params_t *p, int want, const char *what)
{
  char *text = (char *)1;
  size_t len = 99;
  int r = router_desc_build(p, &text, &len);
  cr_assert_eq(r, want, "%s: got %d", what, r);
  cr_assert_null(text, "%s", what);
  cr_assert_eq(len, 0, "%s", what);
}

Test(router_desc, malformed_params_refused)
{
  router_desc_params_t p;
  char *t = NULL;
  size_t l = 0;
  cr_assert_eq(router_desc_build(NULL, &t, &l), ROUTER_DESC_ERR_ARG);
  p = params();
  cr_assert_eq(router_desc_build(&p, NULL, &l), ROUTER_DESC_ERR_ARG);
  cr_assert_eq(router_desc_build(&p, &t, NULL), ROUTER_DESC_ERR_ARG);
#define REFUSE(stmt, want) do { p = params(); stmt; assert_refused(&p, want, #stmt); } while (0)
  REFUSE(p.keys = NULL, ROUTER_DESC_ERR_ARG);
  REFUSE(p.nickname = NULL, ROUTER_DESC_ERR_ARG);
  REFUSE(p.nickname = "", ROUTER_DESC_ERR_ARG);
  REFUSE(p.nickname = "twentycharacterslong", ROUTER_DESC_ERR_ARG);
  REFUSE(p.nickname = "bad name", ROUTER_DESC_ERR_ARG);
  REFUSE(p.nickname = "bad-name", ROUTER_DESC_ERR_ARG);
  REFUSE(p.orport = 0, ROUTER_DESC_ERR_ARG);
  REFUSE(memset(p.ipv4, 0, 4), ROUTER_DESC_ERR_ARG);
  REFUSE((p.has_ipv6 = true, p.ipv6_orport = 0), ROUTER_DESC_ERR_ARG);
  REFUSE(p.published = 0, ROUTER_DESC_ERR_ARG);
  REFUSE(p.bw_avg = 0, ROUTER_DESC_ERR_ARG);
  REFUSE(p.bw_burst = p.bw_avg - 1, ROUTER_DESC_ERR_ARG);
  REFUSE(p.contact = "line\nrouter-signature", ROUTER_DESC_ERR_ARG);
  REFUSE(p.contact = "tab\there", ROUTER_DESC_ERR_ARG);
  REFUSE(p.platform = "two\nlines", ROUTER_DESC_ERR_ARG);
  REFUSE(p.proto = "Link=4\n", ROUTER_DESC_ERR_ARG);
  REFUSE(p.proto = "", ROUTER_DESC_ERR_ARG);
  static const char *const bad_fam[] = { "$0123" };
  REFUSE((p.family = bad_fam, p.n_family = 1), ROUTER_DESC_ERR_ARG);
  static const char *const bad_fam2[] = { "$0123456789ABCDEF0123456789ABCDEF01234567~bad nick" };
  REFUSE((p.family = bad_fam2, p.n_family = 1), ROUTER_DESC_ERR_ARG);
  REFUSE((p.family = NULL, p.n_family = 1), ROUTER_DESC_ERR_ARG);
  static const char *const bad_pol[][1] = {
    { "accept6 *:*" }, { "reject *" }, { "reject *:99999" }, { "accept 1.2.3:80" },
    { "reject *:*\nrouter-signature" }, { "reject 10.0.0.0/33:*" }, { "allow *:*" },
  };
  for (size_t i = 0; i < sizeof(bad_pol) / sizeof(bad_pol[0]); i++)
    REFUSE((p.policy = bad_pol[i], p.n_policy = 1), ROUTER_DESC_ERR_ARG);
  /* A signing certificate that has expired at the published time. */
  REFUSE(p.published = now + 365 * 24 * 3600, ROUTER_DESC_ERR_KEYS);
#undef REFUSE
}

Test(router_desc, good_policies_accepted)
{
  static const char *const pol[] = {
    "accept 127.0.0.1:80", "accept 10.0.0.0/8:443-444", "reject 192.168.0.0/255.255.0.0:*",
    "reject *:*",
  };
  router_desc_params_t p = params();
  p.policy = pol;
  p.n_policy = 4;
  char *text = NULL;
  size_t len = 0;
  routerdesc_t *rd = build_and_parse(&p, &text, &len);
  cr_assert_eq(rd->n_policy, 4);
  cr_assert_eq(rd->policy[0].accept, 1);
  cr_assert_str_eq(rd->policy[1].pattern, "10.0.0.0/8:443-444");
  routerdesc_free(rd);
  al_free(text);
}

/* The 20,000-byte limit (dir-spec 2.1) is enforced, not exceeded. */
Test(router_desc, oversized_refused)
{
  static char *fam[ROUTER_DESC_MAX_FAMILY];
  for (size_t i = 0; i < ROUTER_DESC_MAX_FAMILY; i++)
    fam[i] = al_asprintf("$%040zX", i);
  router_desc_params_t p = params();
  p.family = (const char *const *)fam;
  p.n_family = ROUTER_DESC_MAX_FAMILY;  /* 512 x 42 bytes > 20000 */
  assert_refused(&p, ROUTER_DESC_ERR_SIZE, "512 family members");
  p.n_family = ROUTER_DESC_MAX_FAMILY + 1;
  assert_refused(&p, ROUTER_DESC_ERR_ARG, "too many family members");
  /* Just under the limit still works. */
  p.n_family = 300;
  char *text = NULL;
  size_t len = 0;
  routerdesc_t *rd = build_and_parse(&p, &text, &len);
  cr_assert_leq(len, ROUTER_DESC_MAX_LEN);
  cr_assert_eq(rd->n_family, 300);
  routerdesc_free(rd);
  al_free(text);
  for (size_t i = 0; i < ROUTER_DESC_MAX_FAMILY; i++)
    al_free(fam[i]);
}

Test(router_desc, cosmetic_comparison)
{
  router_desc_params_t a = params(), b = params();
  cr_assert(router_desc_params_same_except_cosmetic(&a, &b));
  b.published += 100;
  b.uptime += 100;
  b.bw_observed *= 4;
  cr_assert(router_desc_params_same_except_cosmetic(&a, &b));
  b.contact = "";
  a.contact = NULL;
  cr_assert(router_desc_params_same_except_cosmetic(&a, &b));
#define DIFFERS(stmt) do { b = params(); stmt; \
    cr_assert(!router_desc_params_same_except_cosmetic(&a, &b), #stmt); } while (0)
  a = params();
  DIFFERS(b.orport = 9002);
  DIFFERS(b.ipv4[3] = 2);
  DIFFERS(b.nickname = "other");
  DIFFERS(b.contact = "someone else");
  DIFFERS(b.n_family = 1);
  DIFFERS(b.tunnelled_dir_server = false);
  DIFFERS(b.hidden_service_dir = true);
  DIFFERS(b.proto = "Link=4");
  DIFFERS(b.platform = "x");
  DIFFERS(b.has_ipv6 = true);
  DIFFERS(b.dirport = 1);
  DIFFERS(b.keys = NULL);
#undef DIFFERS
  cr_assert(!router_desc_params_same_except_cosmetic(NULL, &b));
}

Test(router_desc, platform_and_errors)
{
  char buf[128];
  cr_assert_eq(router_desc_platform_default(buf, sizeof(buf)), 0);
  cr_assert(strncmp(buf, "allium ", 7) == 0);
  cr_assert_not_null(strstr(buf, " on "));
  cr_assert_eq(router_desc_platform_default(buf, 8), -1);
  cr_assert_eq(router_desc_platform_default(NULL, 8), -1);
  cr_assert_str_eq(router_desc_strerror(ROUTER_DESC_ERR_SIZE), "the descriptor would be too large");
  cr_assert_str_eq(router_desc_strerror(-99), "unknown descriptor error");
  uint8_t d[20];
  cr_assert_eq(router_desc_digest("router x\nno signature\n", 22, d), -1);
  cr_assert_eq(router_desc_digest("nothing", 7, d), -1);
  cr_assert_eq(router_desc_digest(NULL, 0, d), -1);
}

/* AccountingMax hibernation: "hibernating 1" after family, before
 * hidden-service-dir and contact (tor's order), still parses and
 * verifies; absent when awake. */
Test(router_desc, hibernating_line)
{
  router_desc_params_t p = params();
  p.hibernating = true;
  p.hidden_service_dir = true;
  p.bw_observed = 0;
  char *text = NULL;
  size_t len = 0;
  routerdesc_t *rd = build_and_parse(&p, &text, &len);
  const char *fam = strstr(text, "\nfamily "), *hib = strstr(text, "\nhibernating 1\n");
  const char *hs = strstr(text, "\nhidden-service-dir\n"), *ct = strstr(text, "\ncontact ");
  cr_assert(fam && hib && hs && ct, "%s", text);
  cr_assert(fam < hib && hib < hs && hs < ct);
  cr_assert_eq(rd->bw_observed, 0);
  cr_assert_eq(rd->hibernating, 1);        /* our own parser reads it */
  routerdesc_free(rd);
  al_free(text);
  p.hibernating = false;
  rd = build_and_parse(&p, &text, &len);
  cr_assert_null(strstr(text, "hibernating"));
  routerdesc_free(rd);
  al_free(text);
}

/* An exit's descriptor: policy lines and the "ipv6-policy" summary
 * (dir-spec 2.1.1), read back by allium's own parser; a malformed summary
 * is refused. */
Test(router_desc, ipv6_policy_line)
{
  static const char *const pol[] = { "accept *:80", "accept *:443", "reject *:*" };
  router_desc_params_t p = params();
  p.policy = pol;
  p.n_policy = 3;
  p.ipv6_policy = "accept 80,443";
  char *text = NULL;
  size_t len = 0;
  routerdesc_t *rd = build_and_parse(&p, &text, &len);
  cr_assert_not_null(strstr(text, "\nreject *:*\nipv6-policy accept 80,443\n"));
  cr_assert_str_eq(rd->ipv6_policy, "accept 80,443");
  cr_assert_eq(rd->n_policy, 3);
  routerdesc_free(rd);
  al_free(text);
  p.ipv6_policy = "accept 443,80";      /* not ascending */
  cr_assert_eq(router_desc_build(&p, &text, &len), ROUTER_DESC_ERR_ARG);
  p.ipv6_policy = "allow 80";
  cr_assert_eq(router_desc_build(&p, &text, &len), ROUTER_DESC_ERR_ARG);
  /* the summary is part of what a republication compares */
  router_desc_params_t a = params(), b = params();
  a.ipv6_policy = "accept 80";
  cr_assert_eq(router_desc_params_same_except_cosmetic(&a, &b), 0);
  b.ipv6_policy = "accept 80";
  cr_assert_eq(router_desc_params_same_except_cosmetic(&a, &b), 1);
}
