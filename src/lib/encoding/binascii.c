/* binascii.c -- base16, base32 and base64 encoders and strict decoders as
 * RFC 4648 (sections 4, 6, 8) defines them, in the forms tor uses: upper-case
 * hex fingerprints (dir-spec), lower-case unpadded base32 onion addresses
 * (rend-spec-v3 6), and padded, unpadded or 64-column base64 (dir-spec 1.2
 * objects, tor-spec digests and keys).  See include/allium/lib/encoding/binascii.h. */
#include "allium/lib/encoding/binascii.h"

#include <limits.h>
#include <string.h>

static const char b16_upper[] = "0123456789ABCDEF";
static const char b16_lower[] = "0123456789abcdef";
static const char b32_alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b64_alpha[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- base16 ---- */

static int
base16_encode_with(char *dest, size_t destlen, const uint8_t *src,
                   size_t srclen, const char *alpha)
{
  if (srclen > (size_t)(INT_MAX / 2) || !dest ||
      destlen < BASE16_ENCODED_LEN(srclen) + 1)
    return -1;
  for (size_t i = 0; i < srclen; i++) {
    dest[2 * i] = alpha[src[i] >> 4];
    dest[2 * i + 1] = alpha[src[i] & 0x0f];
  }
  dest[2 * srclen] = '\0';
  return (int)(2 * srclen);
}

int
base16_encode(char *dest, size_t destlen, const uint8_t *src, size_t srclen)
{
  return base16_encode_with(dest, destlen, src, srclen, b16_upper);
}

int
base16_encode_lower(char *dest, size_t destlen, const uint8_t *src, size_t srclen)
{
  return base16_encode_with(dest, destlen, src, srclen, b16_lower);
}

int
base16_digit_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int
decimal_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  if (!s || len == 0)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (d > max || v > (max - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int
base16_decode(uint8_t *dest, size_t destlen, const char *src, size_t srclen)
{
  if ((srclen & 1) || srclen / 2 > destlen || srclen / 2 > INT_MAX ||
      (!src && srclen))
    return -1;
  for (size_t i = 0; i < srclen; i += 2) {
    int hi = base16_digit_value(src[i]), lo = base16_digit_value(src[i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    dest[i / 2] = (uint8_t)((hi << 4) | lo);
  }
  return (int)(srclen / 2);
}

int
base16_decode_exact(uint8_t *dest, size_t n, const char *src, size_t srclen)
{
  if (!dest || !src || n > SIZE_MAX / 2 || srclen != 2 * n)
    return -1;
  if (base16_decode(dest, n, src, srclen) != (int)n) {
    memset(dest, 0, n);
    return -1;
  }
  return 0;
}

/* ---- base32 (RFC 4648 section 6 alphabet, lower-case, unpadded) ---- */

int
base32_encode(char *dest, size_t destlen, const uint8_t *src, size_t srclen)
{
  if (srclen > (size_t)INT_MAX / 8 || !dest ||
      destlen < BASE32_ENCODED_LEN(srclen) + 1)
    return -1;
  size_t outlen = BASE32_ENCODED_LEN(srclen);
  for (size_t i = 0; i < outlen; i++) {
    /* Output character i holds source bits [5i, 5i+5), MSB first. */
    size_t bit = 5 * i, byte = bit / 8;
    unsigned v = (unsigned)src[byte] << 8;
    if (byte + 1 < srclen)
      v |= src[byte + 1];
    v = (v >> (11 - bit % 8)) & 0x1f;
    dest[i] = b32_alpha[v];
  }
  dest[outlen] = '\0';
  return (int)outlen;
}

static int
b32_value(char c)
{
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

int
base32_decode(uint8_t *dest, size_t destlen, const char *src, size_t srclen)
{
  /* Only lengths that end on a whole byte are valid: 0, 2, 4, 5, 7 mod 8. */
  static const int valid_tail[8] = { 1, 0, 1, 0, 1, 1, 0, 1 };
  if ((!src && srclen) || !valid_tail[srclen % 8] || srclen > (size_t)INT_MAX)
    return -1;
  size_t outlen = srclen * 5 / 8;
  if (outlen > destlen)
    return -1;
  uint32_t acc = 0;
  unsigned nbits = 0;
  size_t o = 0;
  for (size_t i = 0; i < srclen; i++) {
    int v = b32_value(src[i]);
    if (v < 0)
      return -1;
    acc = (acc << 5) | (uint32_t)v;
    nbits += 5;
    if (nbits >= 8) {
      nbits -= 8;
      dest[o++] = (uint8_t)(acc >> nbits);
      acc &= (1u << nbits) - 1;
    }
  }
  if (acc != 0) /* non-canonical: unused trailing bits must be zero */
    return -1;
  return (int)o;
}

/* ---- base64 (RFC 4648 section 4) ---- */

static size_t
base64_chars_len(size_t srclen, int flags)
{
  if (flags & BASE64_FLAG_NOPAD)
    return srclen / 3 * 4 + (srclen % 3 ? srclen % 3 + 1 : 0);
  return BASE64_ENCODED_LEN(srclen);
}

size_t
base64_encode_size(size_t srclen, int flags)
{
  if (srclen > SIZE_MAX / 2)
    return SIZE_MAX;
  size_t n = base64_chars_len(srclen, flags);
  if (flags & BASE64_FLAG_MULTILINE)
    n += (n + 63) / 64;
  return n + 1;
}

int
base64_encode(char *dest, size_t destlen, const uint8_t *src, size_t srclen,
              int flags)
{
  if (srclen > (size_t)INT_MAX / 2 || !dest ||
      destlen < base64_encode_size(srclen, flags))
    return -1;
  size_t nchars = base64_chars_len(srclen, flags), o = 0;
  for (size_t i = 0; i < nchars; i++) {
    size_t grp = i / 4, k = i % 4, b = grp * 3;
    char c = '=';
    uint32_t v = (uint32_t)src[b] << 16;
    if (b + 1 < srclen)
      v |= (uint32_t)src[b + 1] << 8;
    if (b + 2 < srclen)
      v |= src[b + 2];
    /* Character k of the group exists when it covers a source bit. */
    if (b * 8 + k * 6 < srclen * 8)
      c = b64_alpha[(v >> (18 - 6 * k)) & 0x3f];
    dest[o++] = c;
    if ((flags & BASE64_FLAG_MULTILINE) && (i % 64 == 63 || i + 1 == nchars))
      dest[o++] = '\n';
  }
  dest[o] = '\0';
  return (int)o;
}

static int
b64_value(char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

static int
b64_is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/* Check src and count its data characters; -1 if malformed. */
static int
base64_scan(const char *src, size_t srclen, size_t *ndata_out)
{
  size_t ndata = 0, npad = 0;
  for (size_t i = 0; i < srclen; i++) {
    char c = src[i];
    if (b64_is_space(c))
      continue;
    if (c == '=') {
      npad++;
      continue;
    }
    if (b64_value(c) < 0 || npad > 0) /* bad char, or data after padding */
      return -1;
    ndata++;
  }
  if (ndata % 4 == 1)
    return -1;
  /* Padding, if any, must complete the last group exactly. */
  if (npad && (ndata % 4 == 0 || npad != 4 - ndata % 4))
    return -1;
  *ndata_out = ndata;
  return 0;
}

int
base64_decode(uint8_t *dest, size_t destlen, const char *src, size_t srclen)
{
  size_t ndata;
  if ((!src && srclen) || srclen > (size_t)INT_MAX ||
      base64_scan(src, srclen, &ndata) < 0)
    return -1;
  size_t outlen = ndata / 4 * 3 + (ndata % 4 ? ndata % 4 - 1 : 0);
  if (outlen > destlen)
    return -1;
  uint32_t acc = 0;
  unsigned nbits = 0;
  size_t o = 0;
  for (size_t i = 0; i < srclen; i++) {
    int v = b64_value(src[i]);
    if (v < 0)
      continue; /* whitespace or padding, already validated */
    acc = (acc << 6) | (uint32_t)v;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      dest[o++] = (uint8_t)(acc >> nbits);
      acc &= (1u << nbits) - 1;
    }
  }
  if (acc != 0) /* non-canonical: unused trailing bits must be zero */
    return -1;
  return (int)o;
}
