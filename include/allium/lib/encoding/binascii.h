/* binascii.h -- base16, base32 and base64 as tor uses them.
 *
 * base16: upper-case on encode, either case on decode.  base32: RFC 4648
 * alphabet, lower-case, no padding (onion addresses).  base64: RFC 4648
 * standard alphabet; encode with or without '=' padding and optional 64-column
 * line breaks (PEM / directory objects); decode accepts missing padding and
 * skips whitespace.  All decoders reject any other character.
 *
 * Encoders return the number of characters written (a NUL follows, so destlen
 * must be at least that + 1), or -1 if destlen is too small.  Decoders return
 * the number of bytes written, or -1 on bad input or a too-small destination
 * (dest may then hold partial output).  Decoders are strict: base32 rejects
 * '=' and lengths that leave a partial byte (1, 3 or 6 mod 8); base32 and
 * base64 reject non-zero unused trailing bits (non-canonical encodings);
 * base64 padding, when present, must be complete ("Zg==", not "Zg=") and
 * nothing but whitespace may follow it.  base16 and base32 decode either case.
 * All functions write only into the caller's buffers; nothing is allocated.
 */
#ifndef ALLIUM_LIB_ENCODING_BINASCII_H
#define ALLIUM_LIB_ENCODING_BINASCII_H

#include <stddef.h>
#include <stdint.h>

#define BASE16_ENCODED_LEN(n) ((n) * 2)
#define BASE32_ENCODED_LEN(n) (((n) * 8 + 4) / 5)
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

int base16_encode(char *dest, size_t destlen, const uint8_t *src, size_t srclen);
int base16_encode_lower(char *dest, size_t destlen, const uint8_t *src, size_t srclen);
/** Value 0-15 of one hex digit (either case), or -1. */
int base16_digit_value(char c);

/** Parse s[0..len) as an unsigned decimal number (digits only: no sign,
 * blanks or leading "+") no larger than max into *out.  0, or -1 for an
 * empty string, a non-digit, or a value above max (*out untouched). */
int decimal_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
int base16_decode(uint8_t *dest, size_t destlen, const char *src, size_t srclen);
/** Decode exactly 2*n hex digits (either case) at src[0..srclen) into
 * dest[0..n): a hex identity such as a 40-digit RSA fingerprint.  0, or -1
 * if srclen != 2*n (dest untouched) or a character is not a hex digit
 * (dest zeroed). */
int base16_decode_exact(uint8_t *dest, size_t n, const char *src, size_t srclen);

int base32_encode(char *dest, size_t destlen, const uint8_t *src, size_t srclen);
int base32_decode(uint8_t *dest, size_t destlen, const char *src, size_t srclen);

#define BASE64_FLAG_NOPAD 1       /* omit trailing '=' (tor's digests/keys) */
#define BASE64_FLAG_MULTILINE 2   /* newline after every 64 chars and at end */
int base64_encode(char *dest, size_t destlen, const uint8_t *src, size_t srclen, int flags);
/** Size of buffer base64_encode() needs for srclen bytes with flags (incl NUL);
 * SIZE_MAX if that would overflow. */
size_t base64_encode_size(size_t srclen, int flags);
int base64_decode(uint8_t *dest, size_t destlen, const char *src, size_t srclen);

#endif
