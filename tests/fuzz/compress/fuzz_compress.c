/* fuzz_compress.c -- fuzz the streaming decompressor of src/lib/compress
 * (dir-spec.txt section 6.1 content encodings), and check that compressing
 * the input and decompressing it again gives the input back.
 *
 * Input: one option byte, then the data.  Option bits 0-2 pick the method
 * (auto, deflate, gzip, identity, x-zstd, x-tor-lzma, auto, auto); bits 3-5
 * the chunk size (0: all at once, else 2^(k-1) bytes); bit 6 asks for a
 * round trip of the data through the method bit 7 and the length pick.
 */
#include <string.h>

#include "../fuzzing.h"
#include "allium/lib/compress/compress.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

static void
roundtrip(compress_method_t m, const uint8_t *data, size_t len)
{
  uint8_t *z = NULL, *o = NULL;
  size_t zl = 0, ol = 0;
  if (compress_buffer(m, data, len, &z, &zl) != 0)
    __builtin_trap();
  compress_limits_t lim = { .max_output = len ? len : 1, .max_ratio = 100000 };
  /* Same method: AUTO would take identity data that starts with a magic
   * number for compressed data. */
  if (compress_uncompress_buffer(m, z, zl, &lim, &o, &ol) != 0 ||
      ol != len || (len && memcmp(o, data, len)))
    __builtin_trap();
  al_free(o);
  /* AUTO agrees for the compressed methods. */
  if (m != COMPRESS_IDENTITY) {
    if (compress_uncompress_buffer(COMPRESS_AUTO, z, zl, &lim, &o, &ol) != 0 ||
        ol != len)
      __builtin_trap();
    al_free(o);
  }
  al_free(z);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  static const compress_method_t ms[8] = {
    COMPRESS_AUTO, COMPRESS_DEFLATE, COMPRESS_GZIP, COMPRESS_IDENTITY,
    COMPRESS_ZSTD, COMPRESS_LZMA, COMPRESS_AUTO, COMPRESS_AUTO };
  static const compress_method_t enc[5] = {
    COMPRESS_DEFLATE, COMPRESS_GZIP, COMPRESS_IDENTITY, COMPRESS_ZSTD,
    COMPRESS_LZMA };
  if (len < 1)
    return 0;
  uint8_t opt = data[0];
  data++;
  len--;
  compress_limits_t lim = { .max_output = 256 * 1024, .max_ratio = 50,
                            .ratio_check_after = 4096 };
  compress_decoder_t *d = compress_decoder_new(ms[opt & 7], &lim);
  size_t k = (opt >> 3) & 7;
  size_t chunk = k ? ((size_t)1 << (k - 1)) : (len ? len : 1);
  int r = 0;
  for (size_t off = 0; off < len && r == 0; off += chunk)
    r = compress_decoder_feed(d, data + off, len - off < chunk ? len - off : chunk);
  if (r == 0)
    r = compress_decoder_finish(d);
  size_t ol;
  const uint8_t *o = compress_decoder_output(d, &ol);
  if (ol > lim.max_output + 1 || o[ol] != 0 || r > 0)
    __builtin_trap();
  compress_decoder_free(d);
  if (len <= 4096 && (opt & 0x40))
    roundtrip(enc[((opt >> 7) + len) % 5], data, len);
  return 0;
}
