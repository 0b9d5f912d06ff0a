/* test_hs_auth_private.c -- ClientOnionAuthDir "*.auth_private" files
 * (src/feature/hs_common/hs_auth_private.c, rend-spec-v3 G.1.3): the
 * parser on valid, malformed, truncated and oversized input, and loading a
 * directory (suffix filter, bad files counted, replacement, wiping). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allium/feature/hs_common/hs_auth_private.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/crypto_util.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(hs_auth_private, .init = setup);

/* The v3 address of the ed25519 seed 01 * 32 and the x25519 key 00 01 ..
 * 1f, computed independently (Python cryptography + hashlib). */
#define ADDR_A "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5optfad"
#define KEY_A "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ"
#define LINE_A ADDR_A ":descriptor:x25519:" KEY_A "\n"

static void
expect_a(const hs_auth_private_t *e)
{
  uint8_t seed[32];
  ed25519_keypair_t kp;
  memset(seed, 1, sizeof(seed));
  cr_assert_eq(ed25519_keypair_from_seed(&kp, seed), 0);
  cr_assert_arr_eq(e->service_pk.pubkey, kp.pub.pubkey, 32);
  for (int i = 0; i < 32; i++)
    cr_assert_eq(e->secret[i], i);
  ed25519_keypair_wipe(&kp);
}

static int
parse(const char *s, hs_auth_private_t *e, const char **why)
{
  return hs_auth_private_parse(s, strlen(s), e, why);
}

Test(hs_auth_private, valid_forms)
{
  hs_auth_private_t e;
  const char *why = "x";
  cr_assert_eq(parse(LINE_A, &e, &why), 0);
  cr_assert_null(why);
  expect_a(&e);
  /* no newline, spaces around fields, CRLF, comments and blank lines,
   * lower-case key and upper-case address */
  const char *ok[] = {
    ADDR_A ":descriptor:x25519:" KEY_A,
    "  " ADDR_A " : descriptor :x25519: " KEY_A " \r\n",
    "# made by a tool\n\n" LINE_A "\n# trailer\n",
    ADDR_A ":DESCRIPTOR:X25519:" KEY_A "\n",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    cr_assert_eq(parse(ok[i], &e, &why), 0, "form %zu: %s", i, why);
    expect_a(&e);
  }
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", LINE_A);
  for (char *p = buf; *p; p++)
    *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 :
                *p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  cr_assert_eq(parse(buf, &e, &why), 0, "swapped case: %s", why);
  expect_a(&e);
}

Test(hs_auth_private, malformed)
{
  static const uint8_t zero[sizeof(hs_auth_private_t)];
  const char *bad[] = {
    "", "\n\n", "# only a comment\n",
    ADDR_A ".onion:descriptor:x25519:" KEY_A "\n",       /* tor: no suffix */
    ADDR_A ":basic:x25519:" KEY_A "\n",
    ADDR_A ":descriptor:curve25519:" KEY_A "\n",
    ADDR_A ":descriptor:x25519\n",
    ADDR_A ":descriptor:x25519:" KEY_A ":more\n",
    ADDR_A "::descriptor:x25519:" KEY_A "\n",
    ADDR_A ":descriptor:x25519:" KEY_A "A\n",             /* 53 chars */
    ADDR_A ":descriptor:x25519:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYP1\n",
    ADDR_A ":descriptor:x25519:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPR\n",
    "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5optfaa:descriptor:x25519:" KEY_A,
    "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5optfqd:descriptor:x25519:" KEY_A,
    LINE_A LINE_A,
    "expyuzz4wqqyqhjn:descriptor:x25519:" KEY_A,
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hs_auth_private_t e;
    const char *why = NULL;
    memset(&e, 0xaa, sizeof(e));
    cr_assert_eq(parse(bad[i], &e, &why), -1, "case %zu accepted", i);
    cr_assert_not_null(why, "case %zu: no reason", i);
    cr_assert_arr_eq(&e, zero, sizeof(e), "case %zu: not wiped", i);
  }
  /* an embedded NUL, and NULL arguments */
  char nul[] = LINE_A;
  nul[10] = '\0';
  hs_auth_private_t e;
  const char *why = NULL;
  cr_assert_eq(hs_auth_private_parse(nul, sizeof(nul) - 1, &e, &why), -1);
  cr_assert_eq(hs_auth_private_parse(NULL, 0, &e, &why), -1);
  cr_assert_eq(hs_auth_private_parse(LINE_A, 10, NULL, &why), -1);
  cr_assert_eq(hs_auth_private_parse(LINE_A, strlen(LINE_A), &e, NULL), 0);
}

Test(hs_auth_private, every_truncation_fails)
{
  const char *line = ADDR_A ":descriptor:x25519:" KEY_A;
  size_t n = strlen(line);
  for (size_t k = 0; k < n; k++) {
    hs_auth_private_t e;
    const char *why = NULL;
    cr_assert_eq(hs_auth_private_parse(line, k, &e, &why), -1,
                 "prefix of %zu bytes accepted", k);
  }
}

Test(hs_auth_private, store)
{
  hs_auth_store_t *st = hs_auth_store_new();
  hs_auth_private_t e;
  cr_assert_eq(parse(LINE_A, &e, NULL), 0);
  cr_assert_null(hs_auth_store_find(st, &e.service_pk));
  cr_assert_eq(hs_auth_store_add(st, &e), 0);
  cr_assert_eq(hs_auth_store_size(st), 1);
  const uint8_t *sec = hs_auth_store_find(st, &e.service_pk);
  cr_assert_not_null(sec);
  cr_assert_arr_eq(sec, e.secret, 32);
  /* the same service again replaces its key */
  e.secret[0] = 0x77;
  cr_assert_eq(hs_auth_store_add(st, &e), 0);
  cr_assert_eq(hs_auth_store_size(st), 1);
  cr_assert_eq(hs_auth_store_find(st, &e.service_pk)[0], 0x77);
  /* many services: growth keeps every entry */
  for (int i = 0; i < 40; i++) {
    hs_auth_private_t f = e;
    f.service_pk.pubkey[0] = (uint8_t)i;
    f.service_pk.pubkey[1] ^= 0xff;
    f.secret[1] = (uint8_t)i;
    cr_assert_eq(hs_auth_store_add(st, &f), 0);
  }
  cr_assert_eq(hs_auth_store_size(st), 41);
  ed25519_public_key_t k = e.service_pk;
  k.pubkey[0] = 17;
  k.pubkey[1] ^= 0xff;
  cr_assert_eq(hs_auth_store_find(st, &k)[1], 17);
  cr_assert_null(hs_auth_store_find(NULL, &k));
  cr_assert_eq(hs_auth_store_add(NULL, &e), -1);
  hs_auth_store_free(st);
  cr_assert_null(st);
  hs_auth_store_free(st);
}

static void
write_file(const char *dir, const char *name, const char *content, size_t len)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(content, 1, len, f), len);
  fclose(f);
}

Test(hs_auth_private, load_dir)
{
  char dir[] = "/tmp/test-hs-auth-private.XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  write_file(dir, "a.auth_private", LINE_A, strlen(LINE_A));
  write_file(dir, "b.auth_private", "garbage\n", 8);
  write_file(dir, "c.auth", LINE_A, strlen(LINE_A));        /* ignored */
  write_file(dir, ".auth_private", "garbage\n", 8);          /* no name */
  write_file(dir, "d.auth_private.bak", "garbage\n", 8);     /* ignored */
  char *big = malloc(HS_AUTH_PRIVATE_MAX_FILE + 100);
  memset(big, '#', HS_AUTH_PRIVATE_MAX_FILE + 100);
  write_file(dir, "e.auth_private", big, HS_AUTH_PRIVATE_MAX_FILE + 100);
  free(big);
  char sub[600];
  snprintf(sub, sizeof(sub), "%s/f.auth_private", dir);
  cr_assert_eq(mkdir(sub, 0700), 0);                        /* not a file */
  size_t n_bad = 99;
  const char *err = "x";
  hs_auth_store_t *st = hs_auth_store_load_dir(dir, &n_bad, &err);
  cr_assert_not_null(st);
  cr_assert_null(err);
  cr_assert_eq(hs_auth_store_size(st), 1);
  cr_assert_eq(n_bad, 3, "garbage, oversized, directory: %zu", n_bad);
  hs_auth_private_t e;
  cr_assert_eq(parse(LINE_A, &e, NULL), 0);
  cr_assert_not_null(hs_auth_store_find(st, &e.service_pk));
  hs_auth_store_free(st);
  /* a missing directory is an error */
  char path[600];
  snprintf(path, sizeof(path), "%s/missing", dir);
  cr_assert_null(hs_auth_store_load_dir(path, &n_bad, &err));
  cr_assert_not_null(err);
  cr_assert_null(hs_auth_store_load_dir(NULL, NULL, NULL));
  /* clean up */
  const char *names[] = { "a.auth_private", "b.auth_private", "c.auth",
                          ".auth_private", "d.auth_private.bak",
                          "e.auth_private" };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(sub);
  cr_assert_eq(rmdir(dir), 0);
}
