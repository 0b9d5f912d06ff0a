/* test_binascii.c -- base16/base32/base64: RFC 4648 section 10 vectors, tor's
 * unpadded and 64-column base64 forms, onion-address base32 (hs_v3_misc.json,
 * ed25519_tor_extensions.json), and malformed or oversized input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"
#include "helpers/vectors.h"

struct rfc_vec {
  const char *in, *b16, *b32, *b64;
};

/* RFC 4648 section 10; base32 shown lower-case and without '=' padding,
 * as allium (and tor) write it. */
static const struct rfc_vec rfc[] = {
  { "", "", "", "" },
  { "f", "66", "my", "Zg==" },
  { "fo", "666F", "mzxq", "Zm8=" },
  { "foo", "666F6F", "mzxw6", "Zm9v" },
  { "foob", "666F6F62", "mzxw6yq", "Zm9vYg==" },
  { "fooba", "666F6F6261", "mzxw6ytb", "Zm9vYmE=" },
  { "foobar", "666F6F626172", "mzxw6ytboi", "Zm9vYmFy" },
};
#define NRFC (sizeof(rfc) / sizeof(rfc[0]))

static const uint8_t *
u8(const char *s)
{
  return (const uint8_t *)s;
}

Test(binascii, rfc4648_base16)
{
  for (size_t i = 0; i < NRFC; i++) {
    char enc[32];
    uint8_t dec[16];
    size_t n = strlen(rfc[i].in);
    cr_assert_eq(base16_encode(enc, sizeof(enc), u8(rfc[i].in), n), (int)(2 * n));
    cr_assert_str_eq(enc, rfc[i].b16);
    cr_assert_eq(base16_decode(dec, sizeof(dec), rfc[i].b16, 2 * n), (int)n);
    cr_assert(memcmp(dec, rfc[i].in, n) == 0);
  }
  char lower[16];
  cr_assert_eq(base16_encode_lower(lower, sizeof(lower), u8("fo\xab"), 3), 6);
  cr_assert_str_eq(lower, "666fab");
  uint8_t d[3];
  cr_assert_eq(base16_decode(d, 3, "666fAB", 6), 3); /* either case */
  cr_assert(memcmp(d, "fo\xab", 3) == 0);
}

Test(binascii, rfc4648_base32)
{
  for (size_t i = 0; i < NRFC; i++) {
    char enc[32], upper[32];
    uint8_t dec[16];
    size_t n = strlen(rfc[i].in), elen = strlen(rfc[i].b32);
    cr_assert_eq(BASE32_ENCODED_LEN(n), elen);
    cr_assert_eq(base32_encode(enc, sizeof(enc), u8(rfc[i].in), n), (int)elen);
    cr_assert_str_eq(enc, rfc[i].b32);
    cr_assert_eq(base32_decode(dec, sizeof(dec), rfc[i].b32, elen), (int)n);
    cr_assert(memcmp(dec, rfc[i].in, n) == 0);
    for (size_t k = 0; k <= elen; k++)
      upper[k] = (char)(rfc[i].b32[k] >= 'a' ? rfc[i].b32[k] - 32 : rfc[i].b32[k]);
    cr_assert_eq(base32_decode(dec, sizeof(dec), upper, elen), (int)n);
    cr_assert(memcmp(dec, rfc[i].in, n) == 0);
  }
}

Test(binascii, rfc4648_base64)
{
  for (size_t i = 0; i < NRFC; i++) {
    char enc[32];
    uint8_t dec[16];
    size_t n = strlen(rfc[i].in), elen = strlen(rfc[i].b64);
    cr_assert_eq(base64_encode_size(n, 0), elen + 1);
    cr_assert_eq(base64_encode(enc, sizeof(enc), u8(rfc[i].in), n, 0), (int)elen);
    cr_assert_str_eq(enc, rfc[i].b64);
    cr_assert_eq(base64_decode(dec, sizeof(dec), rfc[i].b64, elen), (int)n);
    cr_assert(memcmp(dec, rfc[i].in, n) == 0);
    /* unpadded: same text without '=', and it decodes too */
    size_t plen = elen;
    while (plen && rfc[i].b64[plen - 1] == '=')
      plen--;
    cr_assert_eq(base64_encode(enc, sizeof(enc), u8(rfc[i].in), n,
                               BASE64_FLAG_NOPAD), (int)plen);
    cr_assert(strlen(enc) == plen && !strncmp(enc, rfc[i].b64, plen));
    cr_assert_eq(base64_encode_size(n, BASE64_FLAG_NOPAD), plen + 1);
    cr_assert_eq(base64_decode(dec, sizeof(dec), enc, plen), (int)n);
    cr_assert(memcmp(dec, rfc[i].in, n) == 0);
  }
}

Test(binascii, tor_unpadded_digests)
{
  /* SHA-256("") and SHA-1("") as tor writes digests: 43 and 27 chars. */
  static const uint8_t sha256_empty[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8,
    0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
    0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 };
  static const uint8_t sha1_empty[20] = {
    0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55, 0xbf, 0xef,
    0x95, 0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09 };
  char enc[64];
  uint8_t dec[32];
  cr_assert_eq(base64_encode(enc, sizeof(enc), sha256_empty, 32, BASE64_FLAG_NOPAD), 43);
  cr_assert_str_eq(enc, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
  cr_assert_eq(base64_decode(dec, 32, enc, 43), 32);
  cr_assert(memcmp(dec, sha256_empty, 32) == 0);
  cr_assert_eq(base64_encode(enc, sizeof(enc), sha1_empty, 20, BASE64_FLAG_NOPAD), 27);
  cr_assert_str_eq(enc, "2jmj7l5rSw0yVb/vlWAYkK/YBwk");
  cr_assert_eq(base64_decode(dec, 20, enc, 27), 20);
  cr_assert(memcmp(dec, sha1_empty, 20) == 0);
}

Test(binascii, tor_ed25519_base64_vectors)
{
  json_t *doc = vectors_load("ed25519_tor_extensions.json");
  const json_t *arr = json_get(doc, "encoding_vectors");
  cr_assert_not_null(arr);
  size_t checked = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const char *b64 = json_get_str(v, "base64");
    uint8_t pk[32], dec[32];
    char enc[64];
    vectors_hex_fixed(v, "public_key", pk, 32);
    cr_assert_eq(base64_encode(enc, sizeof(enc), pk, 32, BASE64_FLAG_NOPAD), 43);
    cr_assert_str_eq(enc, b64);
    cr_assert_eq(base64_decode(dec, sizeof(dec), b64, strlen(b64)), 32);
    cr_assert(memcmp(dec, pk, 32) == 0);
    checked++;
  }
  cr_assert_gt(checked, 0);
  json_free(doc);
}

Test(binascii, onion_address_base32_vectors)
{
  /* rend-spec-v3 6: address = base32(PUBKEY | CHECKSUM | VERSION) + ".onion" */
  json_t *doc = vectors_load("hs_v3_misc.json");
  const json_t *arr = json_get(doc, "onion_addresses");
  cr_assert_not_null(arr);
  size_t checked = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const char *addr = json_get_str(v, "onion_address");
    uint8_t raw[35], dec[35];
    char enc[57];
    vectors_hex_fixed(v, "public_key", raw, 32);
    vectors_hex_fixed(v, "checksum", raw + 32, 2);
    raw[34] = (uint8_t)json_get(v, "version")->number;
    cr_assert_eq(base32_encode(enc, sizeof(enc), raw, 35), 56);
    cr_assert(!strncmp(enc, addr, 56) && !strcmp(addr + 56, ".onion"), "%s", addr);
    cr_assert_eq(base32_decode(dec, sizeof(dec), addr, 56), 35);
    cr_assert(memcmp(dec, raw, 35) == 0);
    checked++;
  }
  cr_assert_gt(checked, 0);
  json_free(doc);
}

#define ML100 \
  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n" \
  "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\n"

Test(binascii, base64_multiline)
{
  uint8_t src[100], dec[100];
  char enc[200];
  for (int i = 0; i < 100; i++)
    src[i] = (uint8_t)i;
  const char *want100 = ML100 "YGFiYw==\n";
  cr_assert_eq(base64_encode_size(100, BASE64_FLAG_MULTILINE), strlen(want100) + 1);
  cr_assert_eq(base64_encode(enc, sizeof(enc), src, 100, BASE64_FLAG_MULTILINE),
               (int)strlen(want100));
  cr_assert_str_eq(enc, want100);
  cr_assert_eq(base64_decode(dec, sizeof(dec), enc, strlen(enc)), 100);
  cr_assert(memcmp(dec, src, 100) == 0);

  const char *want_np = ML100 "YGFiYw\n";
  cr_assert_eq(base64_encode(enc, sizeof(enc), src, 100,
                             BASE64_FLAG_MULTILINE | BASE64_FLAG_NOPAD),
               (int)strlen(want_np));
  cr_assert_str_eq(enc, want_np);
  cr_assert_eq(base64_encode_size(100, BASE64_FLAG_MULTILINE | BASE64_FLAG_NOPAD),
               strlen(want_np) + 1);

  /* exactly one full line: one newline, at the end */
  const char *want48 =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n";
  cr_assert_eq(base64_encode(enc, sizeof(enc), src, 48, BASE64_FLAG_MULTILINE), 65);
  cr_assert_str_eq(enc, want48);
  cr_assert_eq(base64_encode(enc, sizeof(enc), src, 0, BASE64_FLAG_MULTILINE), 0);
  cr_assert_str_eq(enc, "");

  /* decoding skips any whitespace, CRLF included */
  cr_assert_eq(base64_decode(dec, sizeof(dec), " Zm9v\r\n\tYmFy \n", 14), 6);
  cr_assert(memcmp(dec, "foobar", 6) == 0);
  cr_assert_eq(base64_decode(dec, sizeof(dec), "Zm9vYg=\n=\n", 10), 4);
}

Test(binascii, roundtrip_all_lengths_and_flags)
{
  uint8_t src[200], dec[200];
  char enc[512];
  for (size_t i = 0; i < sizeof(src); i++)
    src[i] = (uint8_t)(i * 151 + 7);
  for (size_t n = 0; n <= sizeof(src); n++) {
    for (int flags = 0; flags < 4; flags++) {
      int e = base64_encode(enc, sizeof(enc), src, n, flags);
      cr_assert_eq((size_t)e + 1, base64_encode_size(n, flags));
      cr_assert_eq(base64_decode(dec, n, enc, (size_t)e), (int)n, "n=%zu f=%d", n, flags);
      cr_assert(memcmp(dec, src, n) == 0);
    }
    int e = base32_encode(enc, sizeof(enc), src, n);
    cr_assert_eq(base32_decode(dec, n, enc, (size_t)e), (int)n);
    cr_assert(memcmp(dec, src, n) == 0);
    e = base16_encode(enc, sizeof(enc), src, n);
    cr_assert_eq(base16_decode(dec, n, enc, (size_t)e), (int)n);
    cr_assert(memcmp(dec, src, n) == 0);
  }
}

Test(binascii, base16_malformed)
{
  uint8_t d[8];
  cr_assert_eq(base16_decode(d, 8, "666", 3), -1);      /* odd length */
  cr_assert_eq(base16_decode(d, 8, "6G", 2), -1);       /* bad char */
  cr_assert_eq(base16_decode(d, 8, "6 ", 2), -1);
  cr_assert_eq(base16_decode(d, 8, "0x12", 4), -1);
  cr_assert_eq(base16_decode(d, 8, "12\0" "4", 4), -1); /* embedded NUL */
  cr_assert_eq(base16_decode(d, 1, "6666", 4), -1);     /* too small */
  cr_assert_eq(base16_decode(d, 0, "", 0), 0);
  cr_assert_eq(base16_decode(d, 0, NULL, 0), 0);
  char e[5];
  cr_assert_eq(base16_encode(e, 4, u8("fo"), 2), -1);   /* no room for NUL */
  cr_assert_eq(base16_encode(e, 5, u8("fo"), 2), 4);
  cr_assert_eq(base16_encode(e, 0, u8(""), 0), -1);
  cr_assert_eq(base16_encode(e, 1, u8(""), 0), 0);
  cr_assert_str_eq(e, "");
}

Test(binascii, base32_malformed)
{
  uint8_t d[16];
  cr_assert_eq(base32_decode(d, 16, "mzxw6y1b", 8), -1);  /* '1' */
  cr_assert_eq(base32_decode(d, 16, "mzxw6y8b", 8), -1);  /* '8' */
  cr_assert_eq(base32_decode(d, 16, "mzxw6y0b", 8), -1);  /* '0' */
  cr_assert_eq(base32_decode(d, 16, "my======", 8), -1);  /* no padding */
  cr_assert_eq(base32_decode(d, 16, "mzxw 6yt", 8), -1);
  cr_assert_eq(base32_decode(d, 16, "m", 1), -1);         /* bad lengths */
  cr_assert_eq(base32_decode(d, 16, "mzx", 3), -1);
  cr_assert_eq(base32_decode(d, 16, "mzxw6y", 6), -1);
  cr_assert_eq(base32_decode(d, 16, "mz", 2), -1);        /* stray low bits */
  cr_assert_eq(base32_decode(d, 5, "mzxw6ytboi", 10), -1); /* too small */
  cr_assert_eq(base32_decode(d, 6, "mzxw6ytboi", 10), 6);
  cr_assert_eq(base32_decode(d, 0, "", 0), 0);
  char e[11];
  cr_assert_eq(base32_encode(e, 10, u8("foobar"), 6), -1);
  cr_assert_eq(base32_encode(e, 11, u8("foobar"), 6), 10);
  cr_assert_eq(base32_encode(e, 1, u8(""), 0), 0);
}

Test(binascii, base64_malformed)
{
  uint8_t d[16];
  static const char *const bad[] = {
    "Zm9v-w", "Zm9v_w", "Zm9v*w", "Zm9v.", "Zm9v\x80",  /* other characters */
    "Z", "Zm9vY",                 /* a single leftover character */
    "Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v====", "=", "==Zg", /* bad padding */
    "Zg==Zg==", "Zg=a",           /* data after padding */
    "Zh==", "Zm9=",               /* stray low bits (non-canonical) */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(base64_decode(d, sizeof(d), bad[i], strlen(bad[i])), -1,
                 "accepted \"%s\"", bad[i]);
  cr_assert_eq(base64_decode(d, 16, "Zm\0" "9v", 5), -1); /* embedded NUL */
  cr_assert_eq(base64_decode(d, 5, "Zm9vYmFy", 8), -1);   /* too small */
  cr_assert_eq(base64_decode(d, 6, "Zm9vYmFy", 8), 6);
  cr_assert_eq(base64_decode(d, 2, "Zm9v", 4), -1);
  cr_assert_eq(base64_decode(d, 0, "", 0), 0);
  cr_assert_eq(base64_decode(d, 0, " \n ", 3), 0);
  char e[16];
  cr_assert_eq(base64_encode(e, 8, u8("foobar"), 6, 0), -1); /* needs 9 */
  cr_assert_eq(base64_encode(e, 9, u8("foobar"), 6, 0), 8);
  cr_assert_eq(base64_encode(e, 4, u8("fo"), 2, BASE64_FLAG_NOPAD), 3);
  cr_assert_eq(base64_encode(e, 3, u8("fo"), 2, BASE64_FLAG_NOPAD), -1);
  cr_assert_eq(base64_encode(e, 5, u8("foo"), 3, BASE64_FLAG_MULTILINE), -1);
  cr_assert_eq(base64_encode(e, 6, u8("foo"), 3, BASE64_FLAG_MULTILINE), 5);
  cr_assert_str_eq(e, "Zm9v\n");
  cr_assert_eq(base64_encode(e, 0, u8(""), 0, 0), -1);
  cr_assert_eq(base64_encode_size(SIZE_MAX, 0), SIZE_MAX);
  cr_assert_eq(base64_encode(e, sizeof(e), u8("x"), SIZE_MAX, 0), -1);
}

Test(decimal, parse_u64)
{
  uint64_t v = 7;
  cr_assert_eq(decimal_parse_u64("0", 1, 65535, &v), 0);
  cr_assert_eq(v, 0);
  cr_assert_eq(decimal_parse_u64("65535", 5, 65535, &v), 0);
  cr_assert_eq(v, 65535);
  v = 7;
  cr_assert_eq(decimal_parse_u64("65536", 5, 65535, &v), -1);
  cr_assert_eq(v, 7);
  cr_assert_eq(decimal_parse_u64("", 0, 65535, &v), -1);
  cr_assert_eq(decimal_parse_u64(NULL, 3, 65535, &v), -1);
  cr_assert_eq(decimal_parse_u64("+1", 2, 65535, &v), -1);
  cr_assert_eq(decimal_parse_u64("1 ", 2, 65535, &v), -1);
  cr_assert_eq(decimal_parse_u64("12x", 2, 65535, &v), 0);  /* length-bound */
  cr_assert_eq(v, 12);
  cr_assert_eq(decimal_parse_u64("000000000000000000000000080", 27, 65535, &v), 0);
  cr_assert_eq(v, 80);
  cr_assert_eq(decimal_parse_u64("18446744073709551615", 20, UINT64_MAX, &v), 0);
  cr_assert_eq(v, UINT64_MAX);
  cr_assert_eq(decimal_parse_u64("18446744073709551616", 20, UINT64_MAX, &v), -1);
  cr_assert_eq(decimal_parse_u64("99999999999999999999999", 23, UINT64_MAX, &v), -1);
  /* A single digit above a small max (the bound check once underflowed). */
  v = 3;
  cr_assert_eq(decimal_parse_u64("7", 1, 5, &v), -1);
  cr_assert_eq(v, 3);
  cr_assert_eq(decimal_parse_u64("5", 1, 5, &v), 0);
  cr_assert_eq(v, 5);
  cr_assert_eq(decimal_parse_u64("1", 1, 0, &v), -1);
  cr_assert_eq(decimal_parse_u64("00", 2, 0, &v), 0);
  cr_assert_eq(v, 0);
}

Test(binascii, base16_decode_exact_identity)
{
  static const char fp[] = "0123456789ABCDEFabcdef0123456789ABCDEF01";
  uint8_t id[20], want[20];
  cr_assert_eq(base16_decode(want, sizeof(want), fp, 40), 20);
  cr_assert_eq(base16_decode_exact(id, 20, fp, 40), 0);
  cr_assert_arr_eq(id, want, 20);
  /* Too short, too long, odd: refused, id untouched. */
  memset(id, 0xAA, sizeof(id));
  cr_assert_eq(base16_decode_exact(id, 20, fp, 39), -1);
  cr_assert_eq(base16_decode_exact(id, 20, fp, 38), -1);
  cr_assert_eq(base16_decode_exact(id, 19, fp, 40), -1);
  cr_assert_eq(id[0], 0xAA);
  /* A non-hex digit anywhere: refused, id zeroed (no partial identity). */
  char bad[41];
  memcpy(bad, fp, sizeof(bad));
  bad[39] = 'g';
  cr_assert_eq(base16_decode_exact(id, 20, bad, 40), -1);
  for (size_t i = 0; i < 20; i++)
    cr_assert_eq(id[i], 0);
  bad[39] = '\0';
  cr_assert_eq(base16_decode_exact(id, 20, bad, 40), -1);
  cr_assert_eq(base16_decode_exact(id, 20, NULL, 40), -1);
  cr_assert_eq(base16_decode_exact(id, 0, "", 0), 0);
}
