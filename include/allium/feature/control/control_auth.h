/* control_auth.h -- controller authentication secrets (control-spec 3.5
 * AUTHENTICATE, 3.24 AUTHCHALLENGE, 5.1 "Authentication"): the
 * authentication cookie file, SAFECOOKIE's HMACs, and hashed passwords in
 * the "16:" format of tor --hash-password (RFC 2440 3.6.1.3 iterated and
 * salted S2K over SHA-1).
 */
#ifndef ALLIUM_FEATURE_CONTROL_CONTROL_AUTH_H
#define ALLIUM_FEATURE_CONTROL_CONTROL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_COOKIE_LEN 32
#define CONTROL_NONCE_LEN 32
#define CONTROL_SAFECOOKIE_HASH_LEN 32
/** S2K salt length and tor's count byte (96: 65536 bytes hashed). */
#define CONTROL_S2K_SALT_LEN 8
#define CONTROL_S2K_DEFAULT_C 96

/** Fill cookie with CONTROL_COOKIE_LEN fresh random bytes and write them
 * to path (mode 0600, or 0640 with group_readable), replacing any old
 * file atomically.  0, or -1 with *err (caller frees). */
int control_cookie_create(const char *path, bool group_readable,
                          uint8_t cookie[CONTROL_COOKIE_LEN], char **err);

/** SAFECOOKIE (control-spec 3.24): HMAC-SHA256 keyed with
 * "Tor safe cookie authentication server-to-controller hash" (server) or
 * "... controller-to-server hash" (client) over
 * cookie | client_nonce | server_nonce. */
void control_safecookie_hash(bool server_to_controller,
                             const uint8_t cookie[CONTROL_COOKIE_LEN],
                             const uint8_t *client_nonce, size_t cn_len,
                             const uint8_t server_nonce[CONTROL_NONCE_LEN],
                             uint8_t out[CONTROL_SAFECOOKIE_HASH_LEN]);

/** The "16:" hash of password with a fresh salt and count byte 96, as
 * tor --hash-password prints it (upper-case hex).  al_malloc'd. */
char *control_password_hash(const uint8_t *pw, size_t len);
/** Same with a given salt and count byte (tests). */
char *control_password_hash_salted(const uint8_t *pw, size_t len,
                                   const uint8_t salt[CONTROL_S2K_SALT_LEN],
                                   uint8_t c);
/** Is hashed ("16:" + 18 + 40 hex digits, any case) well-formed?  1/0. */
int control_password_hash_ok(const char *hashed);
/** Does pw match hashed?  1 yes, 0 no, -1 hashed is malformed.  The
 * digest comparison is constant-time. */
int control_password_check(const char *hashed, const uint8_t *pw,
                           size_t len);

#endif
