/* test_bytes.c -- unit tests for the bounds-checked reader and writer
 * (src/lib/bytes/bytes.c): every getter at exact and past-end boundaries,
 * the sticky error flag, fixed-buffer overflow, heap growth and patching. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "allium/lib/bytes/bytes.h"
#include "allium/lib/malloc/malloc.h"

static const uint8_t SAMPLE[] = {
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
  0x0d, 0x0e, 0x0f, 0x10
};

Test(bytes_reader, integers_big_endian)
{
  bytes_reader_t r;
  bytes_reader_init(&r, SAMPLE, sizeof(SAMPLE));
  cr_assert_eq(bytes_get_u8(&r), 0x01);
  cr_assert_eq(bytes_get_u16(&r), 0x0203);
  cr_assert_eq(bytes_get_u32(&r), 0x04050607u);
  cr_assert_eq(bytes_get_u64(&r), 0x08090a0b0c0d0e0full);
  cr_assert_eq(bytes_remaining(&r), 1);
  cr_assert_not(bytes_is_exhausted(&r));
  cr_assert_eq(bytes_get_u8(&r), 0x10);
  cr_assert(bytes_is_exhausted(&r));
  cr_assert_not(bytes_reader_failed(&r));
}

/* For each width: reading exactly the available bytes works, one fewer
 * byte available fails, yields 0 and consumes nothing. */
Test(bytes_reader, each_getter_exact_and_past_end)
{
  static const size_t widths[] = { 1, 2, 4, 8 };
  for (size_t i = 0; i < 4; i++) {
    size_t w = widths[i];
    bytes_reader_t r;
    bytes_reader_init(&r, SAMPLE, w);
    uint64_t v = 0;
    switch (w) {
    case 1: v = bytes_get_u8(&r); break;
    case 2: v = bytes_get_u16(&r); break;
    case 4: v = bytes_get_u32(&r); break;
    default: v = bytes_get_u64(&r); break;
    }
    cr_assert_neq(v, 0, "width %zu", w);
    cr_assert(bytes_is_exhausted(&r), "width %zu", w);

    bytes_reader_init(&r, SAMPLE + 8, w - 1);
    switch (w) {
    case 1: v = bytes_get_u8(&r); break;
    case 2: v = bytes_get_u16(&r); break;
    case 4: v = bytes_get_u32(&r); break;
    default: v = bytes_get_u64(&r); break;
    }
    cr_assert_eq(v, 0, "width %zu", w);
    cr_assert(bytes_reader_failed(&r));
    cr_assert_eq(bytes_remaining(&r), 0);
    cr_assert_not(bytes_is_exhausted(&r));
  }
}

Test(bytes_reader, get_bytes_boundaries)
{
  bytes_reader_t r;
  bytes_reader_init(&r, SAMPLE, 4);
  const uint8_t *p = bytes_get_bytes(&r, 0);
  cr_assert_not_null(p);
  p = bytes_get_bytes(&r, 4);
  cr_assert_eq(p, SAMPLE);
  cr_assert(bytes_is_exhausted(&r));
  cr_assert_not_null(bytes_get_bytes(&r, 0));
  cr_assert_null(bytes_get_bytes(&r, 1));
  cr_assert(bytes_reader_failed(&r));

  bytes_reader_init(&r, SAMPLE, 4);
  cr_assert_null(bytes_get_bytes(&r, 5));
  cr_assert(bytes_reader_failed(&r));
  /* a huge request must not wrap */
  bytes_reader_init(&r, SAMPLE, 4);
  bytes_get_u8(&r);
  cr_assert_null(bytes_get_bytes(&r, SIZE_MAX));
}

Test(bytes_reader, copy_and_skip)
{
  bytes_reader_t r;
  uint8_t out[4];
  bytes_reader_init(&r, SAMPLE, 6);
  bytes_skip(&r, 2);
  bytes_copy_bytes(&r, out, 4);
  cr_assert_arr_eq(out, SAMPLE + 2, 4);
  cr_assert(bytes_is_exhausted(&r));
  memset(out, 0xaa, sizeof(out));
  bytes_copy_bytes(&r, out, 1);
  cr_assert_eq(out[0], 0);
  cr_assert(bytes_reader_failed(&r));

  bytes_reader_init(&r, SAMPLE, 3);
  memset(out, 0xaa, sizeof(out));
  bytes_copy_bytes(&r, out, 4);
  static const uint8_t zero[4];
  cr_assert_arr_eq(out, zero, 4);
  bytes_reader_init(&r, SAMPLE, 3);
  bytes_skip(&r, 4);
  cr_assert(bytes_reader_failed(&r));
}

Test(bytes_reader, sticky_error)
{
  bytes_reader_t r;
  bytes_reader_init(&r, SAMPLE, 3);
  cr_assert_eq(bytes_get_u32(&r), 0);
  cr_assert(bytes_reader_failed(&r));
  /* bytes that would fit still read as zero once failed */
  cr_assert_eq(bytes_get_u8(&r), 0);
  cr_assert_eq(bytes_get_u16(&r), 0);
  cr_assert_null(bytes_get_nul_string(&r, 10, NULL));
  cr_assert(bytes_reader_failed(&r));

  bytes_reader_init(&r, SAMPLE, 3);
  bytes_reader_fail(&r);
  cr_assert_eq(bytes_get_u8(&r), 0);
  cr_assert_eq(bytes_remaining(&r), 0);
}

Test(bytes_reader, empty_and_null)
{
  bytes_reader_t r;
  bytes_reader_init(&r, NULL, 0);
  cr_assert(bytes_is_exhausted(&r));
  cr_assert_eq(bytes_get_u8(&r), 0);
  cr_assert(bytes_reader_failed(&r));
  bytes_reader_init(&r, NULL, 10);
  cr_assert_eq(bytes_remaining(&r), 0);
}

Test(bytes_reader, nul_string)
{
  static const uint8_t s[] = { 'a', 'b', 'c', 0, 'd', 0, 'x' };
  bytes_reader_t r;
  size_t n = 99;
  bytes_reader_init(&r, s, sizeof(s));
  const char *p = bytes_get_nul_string(&r, 3, &n);
  cr_assert_str_eq(p, "abc");
  cr_assert_eq(n, 3);
  p = bytes_get_nul_string(&r, 1, &n);
  cr_assert_str_eq(p, "d");
  cr_assert_eq(bytes_remaining(&r), 1);
  /* no NUL before the end */
  p = bytes_get_nul_string(&r, 100, &n);
  cr_assert_null(p);
  cr_assert_eq(n, 0);
  cr_assert(bytes_reader_failed(&r));

  /* string longer than maxlen */
  bytes_reader_init(&r, s, sizeof(s));
  cr_assert_null(bytes_get_nul_string(&r, 2, NULL));
  cr_assert(bytes_reader_failed(&r));
  /* empty string */
  bytes_reader_init(&r, s + 3, 1);
  p = bytes_get_nul_string(&r, 0, &n);
  cr_assert_str_eq(p, "");
  cr_assert(bytes_is_exhausted(&r));
  /* NUL exactly at the last byte */
  bytes_reader_init(&r, s, 4);
  cr_assert_not_null(bytes_get_nul_string(&r, SIZE_MAX, NULL));
  cr_assert(bytes_is_exhausted(&r));
  bytes_reader_init(&r, s, 3);
  cr_assert_null(bytes_get_nul_string(&r, SIZE_MAX, NULL));
}

Test(bytes_writer, fixed_exact_fit)
{
  uint8_t buf[15];
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, buf, sizeof(buf));
  bytes_put_u8(&w, 0x01);
  bytes_put_u16(&w, 0x0203);
  bytes_put_u32(&w, 0x04050607u);
  bytes_put_u64(&w, 0x08090a0b0c0d0e0full);
  cr_assert_not(bytes_writer_failed(&w));
  cr_assert_eq(bytes_writer_len(&w), 15);
  cr_assert_arr_eq(buf, SAMPLE, 15);
  bytes_put_bytes(&w, NULL, 0);
  bytes_put_zeros(&w, 0);
  cr_assert_not(bytes_writer_failed(&w));
  bytes_put_u8(&w, 0xff);
  cr_assert(bytes_writer_failed(&w));
  cr_assert_eq(bytes_writer_len(&w), 15);
}

Test(bytes_writer, fixed_overflow_each_width)
{
  static const size_t widths[] = { 1, 2, 4, 8 };
  for (size_t i = 0; i < 4; i++) {
    uint8_t buf[8];
    memset(buf, 0xee, sizeof(buf));
    bytes_writer_t w;
    bytes_writer_init_fixed(&w, buf, widths[i] - 1);
    switch (widths[i]) {
    case 1: bytes_put_u8(&w, 1); break;
    case 2: bytes_put_u16(&w, 1); break;
    case 4: bytes_put_u32(&w, 1); break;
    default: bytes_put_u64(&w, 1); break;
    }
    cr_assert(bytes_writer_failed(&w));
    cr_assert_eq(bytes_writer_len(&w), 0);
    for (size_t j = 0; j < sizeof(buf); j++)
      cr_assert_eq(buf[j], 0xee);
    /* sticky: even a byte that fits is refused now */
    if (widths[i] > 1) {
      bytes_put_u8(&w, 1);
      cr_assert_eq(bytes_writer_len(&w), 0);
    }
  }
}

Test(bytes_writer, bytes_and_zeros_overflow)
{
  uint8_t buf[4];
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, buf, sizeof(buf));
  bytes_put_bytes(&w, SAMPLE, 3);
  bytes_put_zeros(&w, 2);
  cr_assert(bytes_writer_failed(&w));
  cr_assert_eq(bytes_writer_len(&w), 3);
  bytes_writer_clear(&w);
  cr_assert_not(bytes_writer_failed(&w));
  bytes_put_zeros(&w, 4);
  cr_assert_eq(buf[3], 0);
  bytes_put_bytes(&w, SAMPLE, SIZE_MAX);
  cr_assert(bytes_writer_failed(&w));
}

Test(bytes_writer, reserve_and_patch)
{
  uint8_t buf[16];
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, buf, sizeof(buf));
  bytes_put_u8(&w, 7);
  size_t off = bytes_reserve(&w, 2);
  cr_assert_eq(off, 1);
  bytes_put_bytes(&w, "hello", 5);
  bytes_patch_u16(&w, off, (uint16_t)(bytes_writer_len(&w) - off - 2));
  size_t off32 = bytes_reserve(&w, 4);
  bytes_patch_u32(&w, off32, 0xdeadbeefu);
  bytes_patch_u8(&w, 0, 9);
  cr_assert_not(bytes_writer_failed(&w));
  static const uint8_t want[] = { 9, 0, 5, 'h', 'e', 'l', 'l', 'o',
                                  0xde, 0xad, 0xbe, 0xef };
  cr_assert_eq(bytes_writer_len(&w), sizeof(want));
  cr_assert_arr_eq(buf, want, sizeof(want));
  /* patching past what was written fails */
  bytes_patch_u32(&w, 10, 1);
  cr_assert(bytes_writer_failed(&w));

  bytes_writer_init_fixed(&w, buf, 3);
  cr_assert_eq(bytes_reserve(&w, 4), SIZE_MAX);
  cr_assert(bytes_writer_failed(&w));
  bytes_writer_init_fixed(&w, buf, 3);
  bytes_patch_u16(&w, SIZE_MAX, 1);
  cr_assert(bytes_writer_failed(&w));
}

Test(bytes_writer, heap_grows)
{
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  for (uint32_t i = 0; i < 1000; i++)
    bytes_put_u32(&w, i);
  cr_assert_not(bytes_writer_failed(&w));
  cr_assert_eq(bytes_writer_len(&w), 4000);
  const uint8_t *d = bytes_writer_data(&w);
  cr_assert_eq(d[3999], (uint8_t)999);
  cr_assert_eq(d[3998], (uint8_t)(999 >> 8));
  size_t n = 0;
  uint8_t *p = bytes_writer_steal(&w, &n);
  cr_assert_eq(n, 4000);
  cr_assert_eq(p[7], 1);
  al_free(p);
  cr_assert_eq(bytes_writer_len(&w), 0);
  /* empty steal gives a freeable non-NULL buffer */
  p = bytes_writer_steal(&w, &n);
  cr_assert_not_null(p);
  cr_assert_eq(n, 0);
  al_free(p);
  bytes_writer_clear(&w);
}

Test(bytes_writer, heap_limit)
{
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 10);
  bytes_put_u64(&w, 1);
  bytes_put_u16(&w, 2);
  cr_assert_not(bytes_writer_failed(&w));
  bytes_put_u8(&w, 3);
  cr_assert(bytes_writer_failed(&w));
  size_t n = 5;
  cr_assert_null(bytes_writer_steal(&w, &n));
  cr_assert_eq(n, 0);
  bytes_writer_clear(&w);

  uint8_t buf[2];
  bytes_writer_init_fixed(&w, buf, sizeof(buf));
  cr_assert_null(bytes_writer_steal(&w, &n));
}
