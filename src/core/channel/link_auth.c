/* link_auth.c -- the AUTH0003 body of an AUTHENTICATE cell (tor-spec.txt
 * 4.4.2, "Link authentication type 3: Ed25519-SHA256-RFC5705"): parse,
 * encode + sign, check.  See link_auth.h. */
#include "allium/core/channel/link_auth.h"

#include <string.h>

#include "allium/lib/crypto/crypto_util.h"

/* The fields in wire order, as (offset in link_auth3_t, length). */
#define F(name) { offsetof(link_auth3_t, name), sizeof(((link_auth3_t *)0)->name) }
static const struct { size_t off, len; } fields[] = {
  F(type), F(cid), F(sid), F(cid_ed), F(sid_ed), F(slog), F(clog), F(scert),
  F(tlssecrets), F(rand),
};
#undef F
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

int link_auth3_parse(link_auth3_t *out, const uint8_t *body, size_t len)
{
  size_t off = 0;
  if (!out || !body || len < LINK_AUTH3_MIN_LEN)
    return -1;
  memset(out, 0, sizeof(*out));
  for (size_t i = 0; i < N_FIELDS; i++) {
    memcpy((uint8_t *)out + fields[i].off, body + off, fields[i].len);
    off += fields[i].len;
  }
  out->signed_len = len - ED25519_SIG_LEN;
  out->signed_part = body;
  memcpy(out->sig, body + out->signed_len, ED25519_SIG_LEN);
  return 0;
}

int link_auth3_encode(const link_auth3_t *a, const ed25519_keypair_t *key,
                      uint8_t *out, size_t outlen)
{
  size_t off = 0;
  if (!a || !key || !out || outlen < LINK_AUTH3_MIN_LEN)
    return -1;
  for (size_t i = 0; i < N_FIELDS; i++) {
    memcpy(out + off, (const uint8_t *)a + fields[i].off, fields[i].len);
    off += fields[i].len;
  }
  memcpy(out, LINK_AUTH3_TYPE, LINK_AUTH3_TYPE_LEN);
  return ed25519_sign(out + off, out, off, key) < 0 ? -1 : 0;
}

/** Concatenate TYPE..TLSSECRETS of a into buf. */
static void fixed_part(const link_auth3_t *a, uint8_t buf[LINK_AUTH3_FIXED_LEN])
{
  size_t off = 0;
  for (size_t i = 0; i + 1 < N_FIELDS; i++) {   /* all but RAND */
    memcpy(buf + off, (const uint8_t *)a + fields[i].off, fields[i].len);
    off += fields[i].len;
  }
}

int link_auth3_check(const link_auth3_t *got, const link_auth3_t *expected,
                     const ed25519_public_key_t *auth_key, const char **why)
{
  static const struct { size_t off; const char *what; } names[] = {
    { offsetof(link_auth3_t, type), "TYPE is not AUTH0003" },
    { offsetof(link_auth3_t, cid), "CID is not the initiator's RSA identity" },
    { offsetof(link_auth3_t, sid), "SID is not our RSA identity" },
    { offsetof(link_auth3_t, cid_ed), "CID_ED is not the initiator's Ed25519 identity" },
    { offsetof(link_auth3_t, sid_ed), "SID_ED is not our Ed25519 identity" },
    { offsetof(link_auth3_t, slog), "SLOG does not match what we sent" },
    { offsetof(link_auth3_t, clog), "CLOG does not match what we received" },
    { offsetof(link_auth3_t, scert), "SCERT is not our TLS certificate" },
    { offsetof(link_auth3_t, tlssecrets), "TLSSECRETS does not match this TLS session" },
  };
  const char *dummy;
  uint8_t a[LINK_AUTH3_FIXED_LEN], b[LINK_AUTH3_FIXED_LEN];
  if (!why)
    why = &dummy;
  if (!got || !expected || !auth_key || !got->signed_part) {
    *why = "internal error";
    return -1;
  }
  fixed_part(got, a);
  fixed_part(expected, b);
  memcpy(b, LINK_AUTH3_TYPE, LINK_AUTH3_TYPE_LEN);
  if (!crypto_memeq(a, b, sizeof(a))) {
    /* Not secret: find which field differs, for the log. */
    *why = "AUTHENTICATE body does not match";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
      size_t off = 0;
      for (size_t j = 0; j < N_FIELDS && fields[j].off != names[i].off; j++)
        off += fields[j].len;
      if (memcmp(a + off, b + off, fields[i].len) != 0) {
        *why = names[i].what;
        break;
      }
    }
    return -1;
  }
  if (ed25519_verify(got->sig, got->signed_part, got->signed_len,
                     auth_key) != 0) {
    *why = "AUTHENTICATE signature does not verify with the type 6 key";
    return -1;
  }
  return 0;
}
