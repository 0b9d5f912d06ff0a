/* test_control_auth.c -- control_auth.c (control-spec 3.24, 5.1): the
 * cookie file, SAFECOOKIE HMACs against values computed independently
 * (python3's hmac module), and "16:" hashed passwords against outputs of
 * tor --hash-password (tor 0.4.9.11) and of an independent python3 S2K. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allium/feature/control/control_auth.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

static void
unhex(uint8_t *out, size_t n, const char *hex)
{
  cr_assert_eq(base16_decode_exact(out, n, hex, strlen(hex)), 0);
}

/* ---- SAFECOOKIE ---- */

Test(control_auth, safecookie_vector, .init = setup)
{
  uint8_t cookie[CONTROL_COOKIE_LEN], cn[32], sn[CONTROL_NONCE_LEN];
  uint8_t out[CONTROL_SAFECOOKIE_HASH_LEN], want[32];
  for (int i = 0; i < 32; i++)
    cookie[i] = (uint8_t)i;
  unhex(cn, 32, "0123456789abcdef0123456789abcdef"
                "0123456789abcdef0123456789abcdef");
  unhex(sn, 32, "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"
                "000102030405060708090a0b0c0d0e0f");
  control_safecookie_hash(true, cookie, cn, sizeof(cn), sn, out);
  unhex(want, 32, "01e6d1155a68a5b827b5146f0c8a7f33"
                  "3619a96a3f6a14ba4f56c94499a4ca82");
  cr_assert_eq(memcmp(out, want, 32), 0);
  control_safecookie_hash(false, cookie, cn, sizeof(cn), sn, out);
  unhex(want, 32, "4f24f54218163e2f3a436288c5c972d6"
                  "f90b349e68195c77b776111ee7f2ca93");
  cr_assert_eq(memcmp(out, want, 32), 0);
  /* a shorter client nonce changes the answer */
  uint8_t out2[32];
  control_safecookie_hash(false, cookie, cn, 31, sn, out2);
  cr_assert_neq(memcmp(out, out2, 32), 0);
  control_safecookie_hash(false, cookie, NULL, 0, sn, out2);
  cr_assert_neq(memcmp(out, out2, 32), 0);
}

/* ---- cookie file ---- */

Test(control_auth, cookie_file, .init = setup)
{
  char dir[] = "/tmp/allium-cookie-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char *path = al_asprintf("%s/control_auth_cookie", dir);
  uint8_t c1[CONTROL_COOKIE_LEN], c2[CONTROL_COOKIE_LEN];
  char *err = NULL;
  cr_assert_eq(control_cookie_create(path, false, c1, &err), 0);
  cr_assert_null(err);
  char *data = NULL;
  size_t len = 0;
  cr_assert_eq(fs_read_file(path, &data, &len, 1000), 0);
  cr_assert_eq(len, CONTROL_COOKIE_LEN);
  cr_assert_eq(memcmp(data, c1, len), 0);
  al_free(data);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);

  /* replaced, group readable */
  cr_assert_eq(control_cookie_create(path, true, c2, &err), 0);
  cr_assert_neq(memcmp(c1, c2, sizeof(c1)), 0);
  cr_assert_eq(fs_read_file(path, &data, &len, 1000), 0);
  cr_assert_eq(memcmp(data, c2, len), 0);
  al_free(data);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0640);
  unlink(path);

  /* a directory that does not exist */
  char *bad = al_asprintf("%s/nope/cookie", dir);
  cr_assert_eq(control_cookie_create(bad, false, c1, &err), -1);
  cr_assert_not_null(err);
  cr_assert_not_null(strstr(err, "cookie"));
  al_free(err);
  al_free(bad);
  rmdir(dir);
  al_free(path);
}

/* ---- hashed passwords ---- */

/* Outputs of `tor --hash-password PW` (tor 0.4.9.11, random salts). */
static const struct {
  const char *hashed;
  const char *pw;
} tor_vectors[] = {
  { "16:81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BC6", "foo" },
  { "16:3F7127F76F168037605C2909A3829AE92C997554313740A3147A80E581", "foo" },
  { "16:42D6CC035ABB65AB60E21B3A2EC78125E8996DE006EC4BF3057E1B27B5",
    "correct horse battery staple" },
  { "16:C6BE72DA3AD920E06020588947163DF4E39C2F933A8803428DBF34D851", "" },
  { "16:5881A79A2828D37F60748E4B3B9768C5AE64ACE31C3DF4F0EB82BC267A",
    "p\\\"w d" },
};

Test(control_auth, password_tor_vectors, .init = setup)
{
  for (size_t i = 0; i < sizeof(tor_vectors) / sizeof(tor_vectors[0]); i++) {
    const char *h = tor_vectors[i].hashed, *pw = tor_vectors[i].pw;
    cr_assert_eq(control_password_hash_ok(h), 1);
    cr_assert_eq(control_password_check(h, (const uint8_t *)pw, strlen(pw)),
                 1, "vector %zu", i);
    cr_assert_eq(control_password_check(h, (const uint8_t *)"fo", 2), 0);
    /* lower case is accepted too */
    char *lc = al_strdup(h);
    for (char *c = lc; *c; c++)
      if (*c >= 'A' && *c <= 'F')
        *c = (char)(*c - 'A' + 'a');
    cr_assert_eq(control_password_check(lc, (const uint8_t *)pw, strlen(pw)),
                 1);
    al_free(lc);
    /* the same salt gives tor's string back */
    uint8_t salt[CONTROL_S2K_SALT_LEN];
    cr_assert_eq(base16_decode_exact(salt, 8, h + 3, 16), 0);
    char *mine = control_password_hash_salted((const uint8_t *)pw,
                                              strlen(pw), salt, 96);
    cr_assert_str_eq(mine, h);
    al_free(mine);
  }
}

/* tor --hash-password with 65530 'a's: salt + password is longer than the
 * 65536 bytes the S2K hashes, so only a prefix goes in. */
Test(control_auth, password_longer_than_count, .init = setup)
{
  size_t n = 65530;
  uint8_t *pw = al_malloc(n);
  memset(pw, 'a', n);
  const char *h =
    "16:F151D7C218F71436602A4FE31B5B658C11C7593317B3DA0223FF98155F";
  cr_assert_eq(control_password_check(h, pw, n), 1);
  /* only the first 65528 password bytes count, as for tor */
  cr_assert_eq(control_password_check(h, pw, n - 1), 1);
  cr_assert_eq(control_password_check(h, pw, 65528), 1);
  cr_assert_eq(control_password_check(h, pw, 65527), 0);
  pw[0] = 'b';
  cr_assert_eq(control_password_check(h, pw, n), 0);
  al_free(pw);
}

/* Other count bytes, against an independent python3 S2K. */
Test(control_auth, password_other_counts, .init = setup)
{
  static const uint8_t salt[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  char *h = control_password_hash_salted((const uint8_t *)"foo", 3, salt, 0);
  cr_assert_str_eq(h, "16:01020304050607080086412DCF9E4D16FE90CADF6AC9C30D"
                      "EB7E0001ED");
  al_free(h);
  uint8_t *x = al_malloc(2000);
  memset(x, 'x', 2000);
  h = control_password_hash_salted(x, 2000, salt, 0);   /* 1024 < 2008 */
  cr_assert_str_eq(h, "16:010203040506070800C814EABFBB1C38047BD32D941EF90B"
                      "1A5E1784E2");
  al_free(h);
  al_free(x);
  h = control_password_hash_salted((const uint8_t *)"pass", 4, salt, 0x61);
  cr_assert_str_eq(h, "16:010203040506070861BE8C41D798CA2FA33F62FE40FA7921"
                      "1A2DC169EE");
  cr_assert_eq(control_password_check(h, (const uint8_t *)"pass", 4), 1);
  al_free(h);
}

Test(control_auth, password_fresh_salt, .init = setup)
{
  char *a = control_password_hash((const uint8_t *)"secret", 6);
  char *b = control_password_hash((const uint8_t *)"secret", 6);
  cr_assert_eq(strlen(a), 61);
  cr_assert_eq(strncmp(a, "16:", 3), 0);
  cr_assert_eq(strncmp(a + 19, "60", 2), 0);     /* count byte 96 */
  cr_assert_str_neq(a, b);
  for (const char *c = a + 3; *c; c++)
    cr_assert((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'F'));
  cr_assert_eq(control_password_hash_ok(a), 1);
  cr_assert_eq(control_password_check(a, (const uint8_t *)"secret", 6), 1);
  cr_assert_eq(control_password_check(b, (const uint8_t *)"secret", 6), 1);
  cr_assert_eq(control_password_check(a, (const uint8_t *)"secreT", 6), 0);
  /* binary passwords with NUL bytes */
  char *c = control_password_hash((const uint8_t *)"a\0b", 3);
  cr_assert_eq(control_password_check(c, (const uint8_t *)"a\0b", 3), 1);
  cr_assert_eq(control_password_check(c, (const uint8_t *)"a", 1), 0);
  al_free(a);
  al_free(b);
  al_free(c);
}

Test(control_auth, password_malformed, .init = setup)
{
  static const char *const bad[] = {
    "",
    "16:",
    "16:81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BC",
    "16:81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BC6A",
    "16:81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BCG",
    "15:81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BC6",
    " 16:81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BC6",
    "16:81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BC6 ",
    "81AE60AD85F535E66097A4D90F2C23BE3C781EC6840DE680A0CE0F5BC6",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_assert_eq(control_password_hash_ok(bad[i]), 0, "%zu", i);
    cr_assert_eq(control_password_check(bad[i], (const uint8_t *)"foo", 3),
                 -1, "%zu", i);
  }
  cr_assert_eq(control_password_hash_ok(NULL), 0);
  cr_assert_eq(control_password_check(NULL, (const uint8_t *)"foo", 3), -1);
}
