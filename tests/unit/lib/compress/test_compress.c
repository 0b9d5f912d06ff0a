/* test_compress.c -- unit tests for src/lib/compress (dir-spec 6.1 content
 * encodings: identity, deflate, gzip, x-zstd, x-tor-lzma): round trips,
 * chunked feeding, auto-detection, truncated and corrupt streams, the
 * output-size limit, the compression-bomb guard and the decoder-memory
 * limit of proposal 278. */
#include <criterion/criterion.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "allium/lib/compress/compress.h"
#include "allium/lib/malloc/malloc.h"

/* Deterministic, mildly compressible text of n bytes (caller frees). */
static uint8_t *
make_text(size_t n)
{
  static const char *words[] = { "router ", "bandwidth ", "s Fast Guard\n",
                                 "m 1234 ", "onion-key\n", "AAAA", "zz9 " };
  uint8_t *p = al_malloc(n + 1);
  uint32_t x = 12345;
  size_t i = 0;
  while (i < n) {
    x = x * 1103515245u + 12345u;
    const char *w = words[(x >> 16) % 7];
    for (size_t j = 0; w[j] && i < n; j++)
      p[i++] = (uint8_t)w[j];
    if (i < n && ((x >> 8) & 3) == 0)
      p[i++] = (uint8_t)('a' + ((x >> 20) % 26));
  }
  p[n] = 0;
  return p;
}

static void
roundtrip(compress_method_t m, compress_method_t dec, size_t n, size_t chunk)
{
  uint8_t *text = make_text(n), *z = NULL;
  size_t zlen = 0;
  cr_assert_eq(compress_buffer(m, text, n, &z, &zlen), 0);
  if (m != COMPRESS_IDENTITY && n > 1000)
    cr_assert_lt(zlen, n);
  compress_decoder_t *d = compress_decoder_new(dec, NULL);
  cr_assert_not_null(d);
  for (size_t off = 0; off < zlen; off += chunk) {
    size_t k = zlen - off < chunk ? zlen - off : chunk;
    cr_assert_eq(compress_decoder_feed(d, z + off, k), 0, "off %zu", off);
  }
  cr_assert_eq(compress_decoder_finish(d), 0);
  cr_assert_eq(compress_decoder_method(d), m);
  cr_assert_eq(compress_decoder_total_in(d), zlen);
  size_t olen;
  const uint8_t *o = compress_decoder_output(d, &olen);
  cr_assert_eq(olen, n);
  cr_assert(!memcmp(o, text, n));
  cr_assert_eq(o[n], 0);
  compress_decoder_free(d);
  cr_assert_null(d);
  al_free(z);
  al_free(text);
}

Test(compress, roundtrip_all_methods_one_go)
{
  compress_method_t ms[] = { COMPRESS_IDENTITY, COMPRESS_DEFLATE,
                             COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_LZMA };
  for (int i = 0; i < 5; i++) {
    roundtrip(ms[i], ms[i], 100000, 1000000);
    roundtrip(ms[i], ms[i], 1, 10);
    roundtrip(ms[i], COMPRESS_AUTO, 100000, 1000000);
  }
}

Test(compress, roundtrip_byte_by_byte)
{
  compress_method_t ms[] = { COMPRESS_IDENTITY, COMPRESS_DEFLATE,
                             COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_LZMA };
  for (int i = 0; i < 5; i++) {
    roundtrip(ms[i], ms[i], 20000, 1);
    roundtrip(ms[i], COMPRESS_AUTO, 20000, 1);
    roundtrip(ms[i], COMPRESS_AUTO, 3, 1);
    roundtrip(ms[i], ms[i], 70000, 333);
  }
}

Test(compress, empty_input)
{
  compress_method_t ms[] = { COMPRESS_IDENTITY, COMPRESS_DEFLATE,
                             COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_LZMA,
                             COMPRESS_AUTO };
  for (int i = 0; i < 6; i++) {
    uint8_t *o;
    size_t n;
    cr_assert_eq(compress_uncompress_buffer(ms[i], NULL, 0, NULL, &o, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(o[0], 0);
    al_free(o);
  }
  /* A compressed empty document. */
  uint8_t *z, *o;
  size_t zl, n;
  cr_assert_eq(compress_buffer(COMPRESS_GZIP, (const uint8_t *)"", 0, &z, &zl), 0);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_AUTO, z, zl, NULL, &o, &n), 0);
  cr_assert_eq(n, 0);
  al_free(o);
  al_free(z);
}

Test(compress, names_and_parse)
{
  cr_assert_str_eq(compress_method_name(COMPRESS_DEFLATE), "deflate");
  cr_assert_str_eq(compress_method_name(COMPRESS_GZIP), "gzip");
  cr_assert_str_eq(compress_method_name(COMPRESS_IDENTITY), "identity");
  cr_assert_str_eq(compress_method_name(COMPRESS_ZSTD), "x-zstd");
  cr_assert_str_eq(compress_method_name(COMPRESS_LZMA), "x-tor-lzma");
  cr_assert_null(compress_method_name((compress_method_t)42));
  cr_assert_eq(compress_method_parse("DEFLATE", 7), COMPRESS_DEFLATE);
  cr_assert_eq(compress_method_parse("gzip", 4), COMPRESS_GZIP);
  cr_assert_eq(compress_method_parse("x-gzip", 6), COMPRESS_GZIP);
  cr_assert_eq(compress_method_parse("identity", 8), COMPRESS_IDENTITY);
  cr_assert_eq(compress_method_parse("x-zstd", 6), COMPRESS_ZSTD);
  cr_assert_eq(compress_method_parse("x-tor-lzma", 10), COMPRESS_LZMA);
  cr_assert_eq(compress_method_parse("gzipx", 5), -1);
  cr_assert_eq(compress_method_parse("gzi", 3), -1);
  cr_assert_eq(compress_method_parse("br", 2), -1);
  cr_assert(compress_method_supported(COMPRESS_GZIP));
  cr_assert(compress_method_supported(COMPRESS_ZSTD));
  cr_assert(compress_method_supported(COMPRESS_LZMA));
  cr_assert(!compress_method_supported(COMPRESS_AUTO));
  cr_assert(!compress_method_supported((compress_method_t)42));
  cr_assert_null(compress_decoder_new((compress_method_t)42, NULL));
  cr_assert_str_eq(compress_strerror(COMPRESS_ERR_BOMB),
                   "compression ratio too high (possible bomb)");
}

Test(compress, detect)
{
  const uint8_t gz[] = { 0x1f, 0x8b, 8, 0 }, zl[] = { 0x78, 0x9c },
                zl2[] = { 0x78, 0xda }, zl3[] = { 0x78, 0x01 },
                zs[] = { 0x28, 0xb5, 0x2f, 0xfd, 0 },
                xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 },
                bad[] = { 0x78, 0x9d };
  cr_assert_eq(compress_detect_method(gz, 4), COMPRESS_GZIP);
  cr_assert_eq(compress_detect_method(zl, 2), COMPRESS_DEFLATE);
  cr_assert_eq(compress_detect_method(zl2, 2), COMPRESS_DEFLATE);
  cr_assert_eq(compress_detect_method(zl3, 2), COMPRESS_DEFLATE);
  cr_assert_eq(compress_detect_method(zs, 5), COMPRESS_ZSTD);
  cr_assert_eq(compress_detect_method(xz, 6), COMPRESS_LZMA);
  /* .lzma headers: tor's (8 MiB dictionary), 4 KiB, 12 MiB; not 5 MiB. */
  const uint8_t la[] = { 0x5d, 0, 0, 0x80, 0, 0xff },
                lb[] = { 0x5d, 0, 0x10, 0, 0, 0xff },
                lc[] = { 0x5d, 0, 0, 0xc0, 0, 0xff },
                ld[] = { 0x5d, 0, 0, 0x50, 0, 0xff },
                le[] = { 0x5d, 0, 0x08, 0, 0, 0xff };
  cr_assert_eq(compress_detect_method(la, 6), COMPRESS_LZMA);
  cr_assert_eq(compress_detect_method(lb, 6), COMPRESS_LZMA);
  cr_assert_eq(compress_detect_method(lc, 6), COMPRESS_LZMA);
  cr_assert_eq(compress_detect_method(ld, 6), COMPRESS_IDENTITY);
  cr_assert_eq(compress_detect_method(le, 6), COMPRESS_IDENTITY);
  cr_assert_eq(compress_detect_method(la, 4), COMPRESS_IDENTITY);
  cr_assert_eq(compress_detect_method(bad, 2), COMPRESS_IDENTITY);
  cr_assert_eq(compress_detect_method(gz, 1), COMPRESS_IDENTITY);
  cr_assert_eq(compress_detect_method((const uint8_t *)"network-status", 14),
               COMPRESS_IDENTITY);
  /* AUTO takes zstd / xz data by their magic: these prefixes are cut
   * short (zstd) or malformed after the magic (xz). */
  uint8_t *o;
  size_t n;
  int r = compress_uncompress_buffer(COMPRESS_AUTO, zs, 5, NULL, &o, &n);
  cr_assert(r == COMPRESS_ERR_TRUNCATED || r == COMPRESS_ERR_CORRUPT, "%d", r);
  cr_assert_null(o);
  r = compress_uncompress_buffer(COMPRESS_AUTO, xz, 6, NULL, &o, &n);
  cr_assert(r == COMPRESS_ERR_TRUNCATED || r == COMPRESS_ERR_CORRUPT, "%d", r);
}

Test(compress, truncated_detected_at_finish)
{
  compress_method_t ms[] = { COMPRESS_DEFLATE, COMPRESS_GZIP, COMPRESS_ZSTD,
                             COMPRESS_LZMA };
  uint8_t *text = make_text(50000);
  for (int i = 0; i < 4; i++) {
    uint8_t *z, *o;
    size_t zl, n;
    cr_assert_eq(compress_buffer(ms[i], text, 50000, &z, &zl), 0);
    size_t cuts[] = { 1, 2, 4, 8, zl / 2, zl - 1 };
    for (int c = 0; c < 6; c++) {
      compress_decoder_t *d = compress_decoder_new(ms[i], NULL);
      for (size_t k = 0; k < cuts[c]; k++)
        cr_assert_eq(compress_decoder_feed(d, z + k, 1), 0);
      cr_assert_eq(compress_decoder_finish(d), COMPRESS_ERR_TRUNCATED,
                   "method %d cut %zu", i, cuts[c]);
      cr_assert_eq(compress_decoder_feed(d, z, 1), COMPRESS_ERR_TRUNCATED);
      compress_decoder_free(d);
    }
    cr_assert_eq(compress_uncompress_buffer(COMPRESS_AUTO, z, zl - 3, NULL,
                                            &o, &n), COMPRESS_ERR_TRUNCATED);
    cr_assert_null(o);
    al_free(z);
  }
  al_free(text);
}

Test(compress, corrupt_data)
{
  uint8_t *text = make_text(30000), *z, *o;
  size_t zl, n;
  /* zlib: flipped checksum byte. */
  cr_assert_eq(compress_buffer(COMPRESS_DEFLATE, text, 30000, &z, &zl), 0);
  z[zl - 1] ^= 1;
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_DEFLATE, z, zl, NULL, &o,
                                          &n), COMPRESS_ERR_CORRUPT);
  z[zl - 1] ^= 1;
  /* zlib: bad header. */
  z[1] ^= 0x01;
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_DEFLATE, z, zl, NULL, &o,
                                          &n), COMPRESS_ERR_CORRUPT);
  al_free(z);
  /* gzip: flipped CRC byte, and garbage in the middle. */
  cr_assert_eq(compress_buffer(COMPRESS_GZIP, text, 30000, &z, &zl), 0);
  z[zl - 6] ^= 0x80;
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_GZIP, z, zl, NULL, &o, &n),
               COMPRESS_ERR_CORRUPT);
  z[zl - 6] ^= 0x80;
  memset(z + zl / 2, 0xff, 16);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_GZIP, z, zl, NULL, &o, &n),
               COMPRESS_ERR_CORRUPT);
  al_free(z);
  /* Plain text declared as deflate. */
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_DEFLATE, text, 100, NULL,
                                          &o, &n), COMPRESS_ERR_CORRUPT);
  /* Trailing garbage after a complete stream. */
  cr_assert_eq(compress_buffer(COMPRESS_DEFLATE, text, 300, &z, &zl), 0);
  uint8_t *zz = al_malloc(zl + 3);
  memcpy(zz, z, zl);
  memcpy(zz + zl, "abc", 3);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_DEFLATE, zz, zl + 3, NULL,
                                          &o, &n), COMPRESS_ERR_CORRUPT);
  al_free(zz);
  al_free(z);
  al_free(text);
}

Test(compress, concatenated_streams)
{
  const char *a = "network-status-version 3\n", *b = "onion-key\nfoo\n";
  compress_method_t ms[] = { COMPRESS_DEFLATE, COMPRESS_GZIP, COMPRESS_ZSTD,
                             COMPRESS_LZMA };
  for (int i = 0; i < 4; i++) {
    uint8_t *za, *zb, *o;
    size_t la, lb, n;
    cr_assert_eq(compress_buffer(ms[i], (const uint8_t *)a, strlen(a), &za, &la), 0);
    cr_assert_eq(compress_buffer(ms[i], (const uint8_t *)b, strlen(b), &zb, &lb), 0);
    uint8_t *cat = al_malloc(la + lb);
    memcpy(cat, za, la);
    memcpy(cat + la, zb, lb);
    compress_decoder_t *d = compress_decoder_new(COMPRESS_AUTO, NULL);
    for (size_t k = 0; k < la + lb; k++)
      cr_assert_eq(compress_decoder_feed(d, cat + k, 1), 0);
    cr_assert_eq(compress_decoder_finish(d), 0);
    o = compress_decoder_take_output(d, &n);
    cr_assert_eq(n, strlen(a) + strlen(b));
    cr_assert(!memcmp(o, a, strlen(a)));
    cr_assert_str_eq((char *)o + strlen(a), b);
    al_free(o);
    o = compress_decoder_take_output(d, &n);
    cr_assert_eq(n, 0);
    al_free(o);
    compress_decoder_free(d);
    /* Second stream cut short. */
    cr_assert_eq(compress_uncompress_buffer(ms[i], cat, la + lb - 2, NULL, &o,
                                            &n), COMPRESS_ERR_TRUNCATED);
    al_free(cat);
    al_free(za);
    al_free(zb);
  }
}

Test(compress, bomb_refused)
{
  size_t n = 4u * 1024 * 1024;
  uint8_t *zeros = al_calloc(1, n), *z, *o;
  size_t zl, on;
  compress_method_t ms[] = { COMPRESS_DEFLATE, COMPRESS_GZIP, COMPRESS_ZSTD,
                             COMPRESS_LZMA };
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(compress_buffer(ms[i], zeros, n, &z, &zl), 0);
    cr_assert_lt(zl * 50, n);
    compress_limits_t lim = { .max_output = 64u * 1024 * 1024 };
    cr_assert_eq(compress_uncompress_buffer(COMPRESS_AUTO, z, zl, &lim, &o,
                                            &on), COMPRESS_ERR_BOMB);
    cr_assert_null(o);
    /* Byte by byte too; stops long before the whole output exists. */
    compress_decoder_t *d = compress_decoder_new(ms[i], &lim);
    int r = 0;
    size_t k;
    for (k = 0; k < zl && r == 0; k++)
      r = compress_decoder_feed(d, z + k, 1);
    cr_assert_eq(r, COMPRESS_ERR_BOMB);
    cr_assert_lt(k, zl);
    compress_decoder_output(d, &on);
    cr_assert_lt(on, 1024 * 1024);
    compress_decoder_free(d);
    /* A generous ratio lets it through. */
    lim.max_ratio = 100000;
    cr_assert_eq(compress_uncompress_buffer(COMPRESS_AUTO, z, zl, &lim, &o,
                                            &on), 0);
    cr_assert_eq(on, n);
    al_free(o);
    al_free(z);
  }
  al_free(zeros);
}

Test(compress, small_output_below_check_threshold_ok)
{
  /* 8 KiB of zeros compresses > 50x but stays under ratio_check_after. */
  uint8_t zeros[8192] = { 0 }, *z, *o;
  size_t zl, n;
  cr_assert_eq(compress_buffer(COMPRESS_DEFLATE, zeros, sizeof(zeros), &z, &zl), 0);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_DEFLATE, z, zl, NULL, &o, &n), 0);
  cr_assert_eq(n, sizeof(zeros));
  al_free(o);
  al_free(z);
}

Test(compress, output_limit)
{
  uint8_t *text = make_text(5000), *o;
  compress_method_t ms[] = { COMPRESS_IDENTITY, COMPRESS_DEFLATE,
                             COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_LZMA };
  for (int i = 0; i < 5; i++) {
    uint8_t *z;
    size_t zl, n;
    cr_assert_eq(compress_buffer(ms[i], text, 5000, &z, &zl), 0);
    compress_limits_t lim = { .max_output = 4999 };
    cr_assert_eq(compress_uncompress_buffer(ms[i], z, zl, &lim, &o, &n),
                 COMPRESS_ERR_TOO_BIG, "method %d", i);
    lim.max_output = 5000;
    cr_assert_eq(compress_uncompress_buffer(ms[i], z, zl, &lim, &o, &n), 0);
    cr_assert_eq(n, 5000);
    al_free(o);
    /* Byte by byte against the limit. */
    lim.max_output = 1000;
    compress_decoder_t *d = compress_decoder_new(ms[i], &lim);
    int r = 0;
    for (size_t k = 0; k < zl && r == 0; k++)
      r = compress_decoder_feed(d, z + k, 1);
    if (r == 0)
      r = compress_decoder_finish(d);
    cr_assert_eq(r, COMPRESS_ERR_TOO_BIG);
    compress_decoder_output(d, &n);
    cr_assert_leq(n, 1001);
    compress_decoder_free(d);
    al_free(z);
  }
  al_free(text);
}

Test(compress, state_errors)
{
  compress_decoder_t *d = compress_decoder_new(COMPRESS_DEFLATE, NULL);
  cr_assert_eq(compress_decoder_finish(d), 0);
  cr_assert_eq(compress_decoder_finish(d), 0);
  cr_assert_eq(compress_decoder_feed(d, (const uint8_t *)"x", 1),
               COMPRESS_ERR_STATE);
  compress_decoder_free(d);
  compress_decoder_free(d); /* NULL is fine */
  uint8_t *o;
  size_t n;
  cr_assert_eq(compress_buffer((compress_method_t)42, (const uint8_t *)"x", 1,
                               &o, &n), COMPRESS_ERR_UNSUPPORTED);
  cr_assert_eq(compress_buffer(COMPRESS_AUTO, (const uint8_t *)"x", 1, &o, &n),
               COMPRESS_ERR_UNSUPPORTED);
}

/* x-zstd and x-tor-lzma: corrupt data, and streams that would need more
 * decoder memory than proposal 278's 16 MB are refused. */
Test(compress, zstd_lzma_corrupt_and_memory_limits)
{
  uint8_t *text = make_text(40000), *z, *o;
  size_t zl, n;
  compress_method_t ms[] = { COMPRESS_ZSTD, COMPRESS_LZMA };
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(compress_buffer(ms[i], text, 40000, &z, &zl), 0);
    memset(z + zl / 2, 0x5a, 24);
    int r = compress_uncompress_buffer(ms[i], z, zl, NULL, &o, &n);
    cr_assert_eq(r, COMPRESS_ERR_CORRUPT, "method %d: %d", ms[i], r);
    cr_assert_null(o);
    /* Plain text declared as this method. */
    r = compress_uncompress_buffer(ms[i], text, 500, NULL, &o, &n);
    cr_assert_eq(r, COMPRESS_ERR_CORRUPT, "method %d: %d", ms[i], r);
    al_free(z);
  }

  /* zstd: a frame asking for a 64 MiB window (no content size). */
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 26);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
  size_t cap = ZSTD_compressBound(40000);
  z = al_malloc(cap);
  ZSTD_outBuffer ob = { z, cap, 0 };
  ZSTD_inBuffer ib = { text, 40000, 0 };
  /* Fed as a stream (size unknown), so the window stays 2^26. */
  cr_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib,
                                               ZSTD_e_continue)));
  ZSTD_inBuffer none = { NULL, 0, 0 };
  cr_assert_eq(ZSTD_compressStream2(cc, &ob, &none, ZSTD_e_end), 0);
  ZSTD_freeCCtx(cc);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_ZSTD, z, ob.pos, NULL, &o,
                                          &n), COMPRESS_ERR_TOO_BIG);
  al_free(z);

  /* xz at preset 9 (64 MiB dictionary): over the decoder's memory limit. */
  cap = lzma_stream_buffer_bound(40000);
  z = al_malloc(cap);
  zl = 0;
  cr_assert_eq(lzma_easy_buffer_encode(9, LZMA_CHECK_CRC64, NULL, text, 40000,
                                       z, &zl, cap), LZMA_OK);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_LZMA, z, zl, NULL, &o, &n),
               COMPRESS_ERR_TOO_BIG);
  al_free(z);
  al_free(text);
}

/* x-tor-lzma in the .xz container decodes too; ours is the .lzma format
 * tor sends (properties byte 0x5d first). */
Test(compress, lzma_xz_container_decodes_and_ours_is_alone)
{
  uint8_t *text = make_text(30000), *z, *o;
  size_t zl, n;
  cr_assert_eq(compress_buffer(COMPRESS_LZMA, text, 30000, &z, &zl), 0);
  cr_assert_eq(z[0], 0x5d);
  cr_assert_eq(compress_detect_method(z, zl), COMPRESS_LZMA);
  al_free(z);
  size_t cap = lzma_stream_buffer_bound(30000);
  z = al_malloc(cap);
  zl = 0;
  cr_assert_eq(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, text, 30000,
                                       z, &zl, cap), LZMA_OK);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_AUTO, z, zl, NULL, &o, &n),
               0);
  cr_assert_eq(n, 30000);
  cr_assert(!memcmp(o, text, n));
  al_free(o);
  al_free(z);
  al_free(text);
}

/* x-tor-lzma in the legacy .lzma ("alone") format, made by liblzma
 * directly. */
Test(compress, lzma_alone_format_decodes)
{
  uint8_t *text = make_text(30000), *o;
  size_t n;
  lzma_options_lzma opt;
  cr_assert_eq(lzma_lzma_preset(&opt, 6), 0);
  lzma_stream s = LZMA_STREAM_INIT;
  cr_assert_eq(lzma_alone_encoder(&s, &opt), LZMA_OK);
  size_t cap = 60000;
  uint8_t *z = al_malloc(cap);
  s.next_in = text;
  s.avail_in = 30000;
  s.next_out = z;
  s.avail_out = cap;
  cr_assert_eq(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
  size_t zl = cap - s.avail_out;
  lzma_end(&s);
  compress_decoder_t *d = compress_decoder_new(COMPRESS_LZMA, NULL);
  for (size_t k = 0; k < zl; k++)
    cr_assert_eq(compress_decoder_feed(d, z + k, 1), 0);
  cr_assert_eq(compress_decoder_finish(d), 0);
  const uint8_t *out = compress_decoder_output(d, &n);
  cr_assert_eq(n, 30000);
  cr_assert(!memcmp(out, text, n));
  compress_decoder_free(d);
  cr_assert_eq(compress_uncompress_buffer(COMPRESS_LZMA, z, zl - 5, NULL, &o,
                                          &n), COMPRESS_ERR_TRUNCATED);
  al_free(z);
  al_free(text);
}
