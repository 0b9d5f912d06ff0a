/* test_hs_auth_files.c -- the service's authorized_clients/<name>.auth
 * parser and folder reader (src/feature/hs_common/hs_auth_files.c).  The
 * accepted and refused forms are the ones tor 0.4.9 was seen to accept and
 * refuse (blank lines, blanks around fields, CRLF, either case of base32,
 * ignored trailing bits: accepted; two lines, a comment, padding, wrong
 * length, other types, upper-case "Descriptor": refused). */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allium/feature/hs_common/hs_auth_files.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

/* bytes 0..31 in base32 (computed with Python's base64.b32encode) */
#define K "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ"
#define KL "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq"

static void
expect_key(const char *text, size_t len)
{
  uint8_t pk[32], want[32];
  for (int i = 0; i < 32; i++)
    want[i] = (uint8_t)i;
  memset(pk, 0xee, sizeof(pk));
  int r = hs_auth_parse(text, len, pk);
  cr_assert_eq(r, 0, "refused \"%s\": %s", text, hs_auth_strerror(r));
  cr_assert_arr_eq(pk, want, 32, "wrong key from \"%s\"", text);
}

Test(hs_auth, accepts_what_tor_accepts)
{
  static const char *const ok[] = {
    "descriptor:x25519:" K,
    "descriptor:x25519:" K "\n",
    "descriptor:x25519:" K "\r\n",
    "descriptor:x25519:" KL "\n",
    " descriptor:x25519:" K " \n",
    "descriptor:x25519:" K "\t\n",
    "descriptor : x25519 :  " K "\n",
    "\n\ndescriptor:x25519:" K "\n\n\n",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    expect_key(ok[i], strlen(ok[i]));
  /* The 4 unused bits of the last character are ignored, as tor does:
   * 'Q' (10000) and 'R' (10001) give the same key. */
  char k2[] = "descriptor:x25519:" K;
  k2[strlen(k2) - 1] = 'R';
  expect_key(k2, strlen(k2));
  k2[strlen(k2) - 1] = 'r';
  expect_key(k2, strlen(k2));
}

Test(hs_auth, refuses_what_tor_refuses)
{
  static const struct { const char *s; int err; } bad[] = {
    { "", HS_AUTH_ERR_SYNTAX },
    { "\n \n", HS_AUTH_ERR_SYNTAX },
    { "descriptor:x25519:" K "\ndescriptor:x25519:" K "\n", HS_AUTH_ERR_SYNTAX },
    { "# comment\ndescriptor:x25519:" K "\n", HS_AUTH_ERR_SYNTAX },
    { "descriptor:x25519:" K ":extra\n", HS_AUTH_ERR_SYNTAX },
    { "descriptor:x25519\n", HS_AUTH_ERR_SYNTAX },
    { "descriptor\n", HS_AUTH_ERR_SYNTAX },
    { "descriptor:ed25519:" K "\n", HS_AUTH_ERR_TYPE },
    { "Descriptor:x25519:" K "\n", HS_AUTH_ERR_TYPE },
    { "descriptor:X25519:" K "\n", HS_AUTH_ERR_TYPE },
    { "basic:x25519:" K "\n", HS_AUTH_ERR_TYPE },
    { "descriptor:x25519:" K "====\n", HS_AUTH_ERR_KEY },
    { "descriptor:x25519:" K "A\n", HS_AUTH_ERR_KEY },
    { "descriptor:x25519:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYP\n",
      HS_AUTH_ERR_KEY },
    { "descriptor:x25519:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYP1\n",
      HS_AUTH_ERR_KEY },
    { "descriptor:x25519:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DY1Q\n",
      HS_AUTH_ERR_KEY },
    { "descriptor:x25519:AAAQEAYEAUDAOCAJBIF YDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ\n",
      HS_AUTH_ERR_KEY },
    { "descriptor:x25519:\n", HS_AUTH_ERR_KEY },
  };
  uint8_t pk[32];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int r = hs_auth_parse(bad[i].s, strlen(bad[i].s), pk);
    cr_assert_eq(r, bad[i].err, "\"%s\": got %d want %d", bad[i].s, r, bad[i].err);
  }
  /* An embedded NUL, oversize input, bad arguments. */
  static const char nul[] = "descriptor:x25519:" K "\0\n";
  cr_assert_eq(hs_auth_parse(nul, sizeof(nul) - 1, pk), HS_AUTH_ERR_SYNTAX);
  char *big = al_malloc(HS_AUTH_FILE_MAX + 2);
  memset(big, ' ', HS_AUTH_FILE_MAX + 1);
  memcpy(big, "descriptor:x25519:" K, strlen("descriptor:x25519:" K));
  cr_assert_eq(hs_auth_parse(big, HS_AUTH_FILE_MAX + 1, pk), HS_AUTH_ERR_LIMIT);
  cr_assert_eq(hs_auth_parse(big, HS_AUTH_FILE_MAX, pk), 0, "blank padding is fine");
  al_free(big);
  cr_assert_eq(hs_auth_parse(NULL, 0, pk), HS_AUTH_ERR_ARG);
  cr_assert_eq(hs_auth_parse("x", 1, NULL), HS_AUTH_ERR_ARG);
  /* Every truncation of a good line is refused, none crashes. */
  const char *good = "descriptor:x25519:" K;
  for (size_t n = 0; n < strlen(good); n++)
    cr_assert_lt(hs_auth_parse(good, n, pk), 0, "accepted %zu bytes", n);
}

Test(hs_auth, filenames)
{
  cr_assert(hs_auth_filename_ok("alice.auth"));
  cr_assert(hs_auth_filename_ok(".hidden.auth"));
  cr_assert(hs_auth_filename_ok("a.auth"));
  cr_assert_not(hs_auth_filename_ok(".auth"));
  cr_assert_not(hs_auth_filename_ok("alice.AUTH"));
  cr_assert_not(hs_auth_filename_ok("alice.auth~"));
  cr_assert_not(hs_auth_filename_ok("alice.auth_private"));
  cr_assert_not(hs_auth_filename_ok("auth"));
  cr_assert_not(hs_auth_filename_ok(""));
  cr_assert_not(hs_auth_filename_ok(NULL));
}

/* ---- the folder ---- */

static char tmpdir[128];

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  strcpy(tmpdir, "/tmp/allium-test-hsauth-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char *p = al_asprintf("%s/%s", tmpdir, e->d_name);
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && unlink(p) < 0)
      rmdir(p);
    al_free(p);
  }
  if (d)
    closedir(d);
  rmdir(tmpdir);
}

static void
put(const char *name, const char *text)
{
  char *p = al_asprintf("%s/%s", tmpdir, name);
  cr_assert_eq(fs_write_file_atomic(p, text, strlen(text), 0600), 0);
  al_free(p);
}

TestSuite(hs_auth_dir, .init = setup, .fini = teardown);

Test(hs_auth_dir, loads_sorted_dedups_skips_other_names)
{
  hs_auth_clients_t *c = NULL;
  char *err = NULL;
  put("bob.auth", "descriptor:x25519:" K "\n");
  put("alice.auth", "descriptor:x25519:" KL "\n");   /* same key: kept once */
  put("carol.auth", "descriptor:x25519:MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPJQWEY3EMVTA\n");
  put("notes.txt", "not a key");
  put("dave.auth~", "not a key");
  put(".auth", "not a key");
  cr_assert_eq(hs_auth_load_dir(tmpdir, &c, &err), 0, "%s", err ? err : "");
  cr_assert_eq(c->n, 2);
  cr_assert_eq(c->keys[0][0], 0);       /* alice (key 0..31) first: name order */
  cr_assert_eq(c->keys[0][31], 31);
  cr_assert_eq(c->keys[1][0], 'a');     /* carol: "abcdefghijklmnopqrstuvwxyzabcdef" */
  hs_auth_clients_free(c);
  cr_assert_null(c);
}

Test(hs_auth_dir, missing_dir_is_empty)
{
  hs_auth_clients_t *c = NULL;
  char *err = NULL, *p = al_asprintf("%s/none", tmpdir);
  cr_assert_eq(hs_auth_load_dir(p, &c, &err), 0);
  cr_assert_eq(c->n, 0);
  hs_auth_clients_free(c);
  al_free(p);
  cr_assert_eq(hs_auth_load_dir(tmpdir, &c, &err), 0);   /* empty folder */
  cr_assert_eq(c->n, 0);
  hs_auth_clients_free(c);
}

Test(hs_auth_dir, malformed_file_fails_closed)
{
  hs_auth_clients_t *c = NULL;
  char *err = NULL;
  put("alice.auth", "descriptor:x25519:" K "\n");
  put("mallory.auth", "descriptor:x25519:" K "\ndescriptor:x25519:" K "\n");
  cr_assert_eq(hs_auth_load_dir(tmpdir, &c, &err), HS_AUTH_ERR_SYNTAX);
  cr_assert_null(c);
  cr_assert_not_null(strstr(err, "mallory.auth"), "%s", err);
  cr_assert_null(strstr(err, K), "the error must not show a key");
  al_free(err);
  /* A folder called x.auth is not a readable file: also an error. */
  char *p = al_asprintf("%s/mallory.auth", tmpdir);
  cr_assert_eq(unlink(p), 0);
  cr_assert_eq(mkdir(p, 0700), 0);
  cr_assert_eq(hs_auth_load_dir(tmpdir, &c, &err), HS_AUTH_ERR_IO);
  al_free(err);
  cr_assert_eq(rmdir(p), 0);
  al_free(p);
  /* Too large. */
  char *big = al_malloc(HS_AUTH_FILE_MAX + 10);
  memset(big, ' ', HS_AUTH_FILE_MAX + 9);
  big[HS_AUTH_FILE_MAX + 9] = '\0';
  put("big.auth", big);
  al_free(big);
  cr_assert_eq(hs_auth_load_dir(tmpdir, &c, &err), HS_AUTH_ERR_LIMIT);
  al_free(err);
  cr_assert_eq(hs_auth_load_dir(NULL, &c, &err), HS_AUTH_ERR_ARG);
}
