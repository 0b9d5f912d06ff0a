/* control_auth.c -- controller authentication secrets (control-spec 3.5
 * AUTHENTICATE, 3.24 AUTHCHALLENGE, 5.1 "Authentication"): the cookie
 * file, SAFECOOKIE's HMAC-SHA256 values, and "16:" hashed passwords
 * (RFC 2440 3.6.1.3 iterated and salted S2K over SHA-1, with the salt and
 * count byte in front, as HashedControlPassword and tor --hash-password
 * spell them).  See control_auth.h.
 *
 * S2K: the 8-byte salt followed by the password is fed to SHA-1 over and
 * over until count = (16 + (c & 15)) << ((c >> 4) + 6) bytes have been
 * hashed; the last copy is cut short so exactly count bytes go in (a
 * salt+password longer than count is itself cut to count bytes -- what
 * tor's hashes agree with; see the unit test).  Secrets are wiped after
 * use and never logged.
 */
#include <errno.h>
#include <string.h>

#include "allium/feature/control/control_auth.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/hmac.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

#define S2K_PREFIX "16:"
#define S2K_PREFIX_LEN 3
/* salt (8) + count byte (1) + SHA-1 (20), in hex */
#define S2K_HEX_LEN ((CONTROL_S2K_SALT_LEN + 1 + DIGEST_SHA1_LEN) * 2)
#define S2K_TEXT_LEN (S2K_PREFIX_LEN + S2K_HEX_LEN)

static const char SERVER_KEY[] =
  "Tor safe cookie authentication server-to-controller hash";
static const char CLIENT_KEY[] =
  "Tor safe cookie authentication controller-to-server hash";

int
control_cookie_create(const char *path, bool group_readable,
                      uint8_t cookie[CONTROL_COOKIE_LEN], char **err)
{
  *err = NULL;
  crypto_rand(cookie, CONTROL_COOKIE_LEN);
  int r = fs_write_file_atomic(path, cookie, CONTROL_COOKIE_LEN,
                               group_readable ? 0640 : 0600);
  if (r < 0) {
    int e = errno;
    *err = al_asprintf("Couldn't write the authentication cookie to "
                       "\"%s\": %s%s%s", path ? path : "", fs_strerror(r),
                       r == FS_ERR_IO ? ": " : "",
                       r == FS_ERR_IO ? strerror(e) : "");
    return -1;
  }
  return 0;
}

void
control_safecookie_hash(bool server_to_controller,
                        const uint8_t cookie[CONTROL_COOKIE_LEN],
                        const uint8_t *client_nonce, size_t cn_len,
                        const uint8_t server_nonce[CONTROL_NONCE_LEN],
                        uint8_t out[CONTROL_SAFECOOKIE_HASH_LEN])
{
  const char *key = server_to_controller ? SERVER_KEY : CLIENT_KEY;
  size_t klen = server_to_controller ? sizeof(SERVER_KEY) - 1
                                     : sizeof(CLIENT_KEY) - 1;
  crypto_hmac_sha256_key_t k;
  if (crypto_hmac_sha256_key_init(&k, (const uint8_t *)key, klen) < 0 ||
      crypto_hmac_sha256_keyed(out, &k, cookie, CONTROL_COOKIE_LEN,
                               client_nonce, cn_len,
                               server_nonce, CONTROL_NONCE_LEN) < 0)
    crypto_rand(out, CONTROL_SAFECOOKIE_HASH_LEN); /* never matches */
  crypto_hmac_sha256_key_wipe(&k);
}

/* Bytes the S2K hashes for count byte c. */
static uint64_t
s2k_count(uint8_t c)
{
  return (uint64_t)(16 + (c & 15)) << ((c >> 4) + 6);
}

/* SHA-1 of the iterated and salted S2K stream. */
static void
s2k_digest(const uint8_t *pw, size_t len,
           const uint8_t salt[CONTROL_S2K_SALT_LEN], uint8_t c,
           uint8_t out[DIGEST_SHA1_LEN])
{
  size_t tlen = CONTROL_S2K_SALT_LEN + len;
  uint8_t *tmp = al_malloc(tlen);
  memcpy(tmp, salt, CONTROL_S2K_SALT_LEN);
  if (len)
    memcpy(tmp + CONTROL_S2K_SALT_LEN, pw, len);
  digest_sha1_run_t d;
  digest_sha1_run_init(&d);
  uint64_t left = s2k_count(c);
  while (left > 0) {
    size_t n = left < tlen ? (size_t)left : tlen;
    digest_sha1_run_add(&d, tmp, n);
    left -= n;
  }
  digest_sha1_run_peek(&d, out, DIGEST_SHA1_LEN);
  digest_sha1_run_clear(&d);
  al_free_secret(tmp, tlen);
}

char *
control_password_hash_salted(const uint8_t *pw, size_t len,
                             const uint8_t salt[CONTROL_S2K_SALT_LEN],
                             uint8_t c)
{
  uint8_t raw[CONTROL_S2K_SALT_LEN + 1 + DIGEST_SHA1_LEN];
  memcpy(raw, salt, CONTROL_S2K_SALT_LEN);
  raw[CONTROL_S2K_SALT_LEN] = c;
  s2k_digest(pw, len, salt, c, raw + CONTROL_S2K_SALT_LEN + 1);
  char *out = al_malloc(S2K_TEXT_LEN + 1);
  memcpy(out, S2K_PREFIX, S2K_PREFIX_LEN);
  base16_encode(out + S2K_PREFIX_LEN, S2K_HEX_LEN + 1, raw, sizeof(raw));
  memwipe(raw, sizeof(raw));
  return out;
}

char *
control_password_hash(const uint8_t *pw, size_t len)
{
  uint8_t salt[CONTROL_S2K_SALT_LEN];
  crypto_rand(salt, sizeof(salt));
  return control_password_hash_salted(pw, len, salt, CONTROL_S2K_DEFAULT_C);
}

/* Decode hashed into salt | c | digest; 0 or -1. */
static int
s2k_decode(const char *hashed,
           uint8_t raw[CONTROL_S2K_SALT_LEN + 1 + DIGEST_SHA1_LEN])
{
  if (!hashed || strlen(hashed) != S2K_TEXT_LEN ||
      memcmp(hashed, S2K_PREFIX, S2K_PREFIX_LEN) != 0)
    return -1;
  return base16_decode_exact(raw, CONTROL_S2K_SALT_LEN + 1 + DIGEST_SHA1_LEN,
                             hashed + S2K_PREFIX_LEN, S2K_HEX_LEN);
}

int
control_password_hash_ok(const char *hashed)
{
  uint8_t raw[CONTROL_S2K_SALT_LEN + 1 + DIGEST_SHA1_LEN];
  int ok = s2k_decode(hashed, raw) == 0;
  memwipe(raw, sizeof(raw));
  return ok;
}

int
control_password_check(const char *hashed, const uint8_t *pw, size_t len)
{
  uint8_t raw[CONTROL_S2K_SALT_LEN + 1 + DIGEST_SHA1_LEN];
  uint8_t got[DIGEST_SHA1_LEN];
  if (s2k_decode(hashed, raw) < 0) {
    memwipe(raw, sizeof(raw));
    return -1;
  }
  s2k_digest(pw, len, raw, raw[CONTROL_S2K_SALT_LEN], got);
  int same = crypto_memeq(got, raw + CONTROL_S2K_SALT_LEN + 1,
                          DIGEST_SHA1_LEN);
  memwipe(raw, sizeof(raw));
  memwipe(got, sizeof(got));
  return same ? 1 : 0;
}
