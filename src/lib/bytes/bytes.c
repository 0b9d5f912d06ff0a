/* bytes.c -- bounds-checked wire readers and writers (network byte order,
 * tor-spec.txt section 0.1.1).  See include/allium/lib/bytes/bytes.h. */
#include "allium/lib/bytes/bytes.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

void
bytes_reader_init(bytes_reader_t *r, const uint8_t *buf, size_t len)
{
  r->buf = buf;
  r->len = buf ? len : 0;
  r->pos = 0;
  r->err = false;
}

/* Return a pointer to the next n bytes and consume them, or NULL (setting
 * the error flag) if fewer than n remain. */
static const uint8_t *
reader_take(bytes_reader_t *r, size_t n)
{
  static const uint8_t empty[1];
  if (r->err || n > r->len - r->pos) {
    r->err = true;
    return NULL;
  }
  const uint8_t *p = r->buf ? r->buf + r->pos : empty;
  r->pos += n;
  return p;
}

uint8_t
bytes_get_u8(bytes_reader_t *r)
{
  const uint8_t *p = reader_take(r, 1);
  return p ? p[0] : 0;
}

uint16_t
bytes_get_u16(bytes_reader_t *r)
{
  const uint8_t *p = reader_take(r, 2);
  return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t
bytes_get_u32(bytes_reader_t *r)
{
  const uint8_t *p = reader_take(r, 4);
  if (!p)
    return 0;
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

uint64_t
bytes_get_u64(bytes_reader_t *r)
{
  const uint8_t *p = reader_take(r, 8);
  if (!p)
    return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

const uint8_t *
bytes_get_bytes(bytes_reader_t *r, size_t n)
{
  return reader_take(r, n);
}

void
bytes_copy_bytes(bytes_reader_t *r, void *out, size_t n)
{
  const uint8_t *p = reader_take(r, n);
  if (n == 0)
    return;
  if (p)
    memcpy(out, p, n);
  else
    memset(out, 0, n);
}

void
bytes_skip(bytes_reader_t *r, size_t n)
{
  (void)reader_take(r, n);
}

const char *
bytes_get_nul_string(bytes_reader_t *r, size_t maxlen, size_t *len_out)
{
  if (len_out)
    *len_out = 0;
  if (r->err)
    return NULL;
  size_t avail = r->len - r->pos;
  size_t scan = avail;
  if (maxlen < scan)
    scan = maxlen + 1;
  const uint8_t *start = r->buf ? r->buf + r->pos : NULL;
  const uint8_t *nul = start ? memchr(start, 0, scan) : NULL;
  if (!nul) {
    r->err = true;
    return NULL;
  }
  size_t slen = (size_t)(nul - start);
  r->pos += slen + 1;
  if (len_out)
    *len_out = slen;
  return (const char *)start;
}

size_t
bytes_remaining(const bytes_reader_t *r)
{
  return r->err ? 0 : r->len - r->pos;
}

bool
bytes_is_exhausted(const bytes_reader_t *r)
{
  return !r->err && r->pos == r->len;
}

bool
bytes_reader_failed(const bytes_reader_t *r)
{
  return r->err;
}

void
bytes_reader_fail(bytes_reader_t *r)
{
  r->err = true;
}

/* ---- writer ---- */

void
bytes_writer_init_fixed(bytes_writer_t *w, uint8_t *buf, size_t cap)
{
  w->buf = buf;
  w->len = 0;
  w->cap = buf ? cap : 0;
  w->max = w->cap;
  w->err = false;
  w->heap = false;
}

void
bytes_writer_init_heap(bytes_writer_t *w, size_t max)
{
  w->buf = NULL;
  w->len = 0;
  w->cap = 0;
  w->max = max ? max : SIZE_MAX;
  w->err = false;
  w->heap = true;
}

/* Make room for n more bytes and return where they go, or NULL (setting
 * the overflow flag) if they do not fit. */
static uint8_t *
writer_room(bytes_writer_t *w, size_t n)
{
  if (w->err || n > w->max - w->len) {
    w->err = true;
    return NULL;
  }
  if (n == 0) {
    static uint8_t sink[1];
    return sink;
  }
  if (n > w->cap - w->len) {
    /* Only a heap writer gets here: for a fixed one cap == max. */
    size_t want = w->len + n;
    size_t ncap = w->cap ? w->cap : 64;
    while (ncap < want)
      ncap = (ncap > SIZE_MAX / 2) ? want : ncap * 2;
    if (ncap > w->max)
      ncap = w->max;
    w->buf = al_realloc(w->buf, ncap);
    w->cap = ncap;
  }
  uint8_t *p = w->buf + w->len;
  w->len += n;
  return p;
}

void
bytes_put_u8(bytes_writer_t *w, uint8_t v)
{
  uint8_t *p = writer_room(w, 1);
  if (p)
    p[0] = v;
}

void
bytes_put_u16(bytes_writer_t *w, uint16_t v)
{
  uint8_t *p = writer_room(w, 2);
  if (p) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
  }
}

void
bytes_put_u32(bytes_writer_t *w, uint32_t v)
{
  uint8_t *p = writer_room(w, 4);
  if (p) {
    for (int i = 0; i < 4; i++)
      p[i] = (uint8_t)(v >> (24 - 8 * i));
  }
}

void
bytes_put_u64(bytes_writer_t *w, uint64_t v)
{
  uint8_t *p = writer_room(w, 8);
  if (p) {
    for (int i = 0; i < 8; i++)
      p[i] = (uint8_t)(v >> (56 - 8 * i));
  }
}

void
bytes_put_bytes(bytes_writer_t *w, const void *src, size_t n)
{
  uint8_t *p = writer_room(w, n);
  if (p && n)
    memcpy(p, src, n);
}

void
bytes_put_zeros(bytes_writer_t *w, size_t n)
{
  uint8_t *p = writer_room(w, n);
  if (p && n)
    memset(p, 0, n);
}

size_t
bytes_reserve(bytes_writer_t *w, size_t n)
{
  size_t off = w->len;
  uint8_t *p = writer_room(w, n);
  if (!p)
    return SIZE_MAX;
  if (n)
    memset(p, 0, n);
  return off;
}

/* Return where n bytes at offset off live, or NULL if not yet written. */
static uint8_t *
writer_at(bytes_writer_t *w, size_t off, size_t n)
{
  if (w->err || off > w->len || n > w->len - off) {
    w->err = true;
    return NULL;
  }
  return w->buf + off;
}

void
bytes_patch_u8(bytes_writer_t *w, size_t off, uint8_t v)
{
  uint8_t *p = writer_at(w, off, 1);
  if (p)
    p[0] = v;
}

void
bytes_patch_u16(bytes_writer_t *w, size_t off, uint16_t v)
{
  uint8_t *p = writer_at(w, off, 2);
  if (p) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
  }
}

void
bytes_patch_u32(bytes_writer_t *w, size_t off, uint32_t v)
{
  uint8_t *p = writer_at(w, off, 4);
  if (p) {
    for (int i = 0; i < 4; i++)
      p[i] = (uint8_t)(v >> (24 - 8 * i));
  }
}

size_t
bytes_writer_len(const bytes_writer_t *w)
{
  return w->len;
}

const uint8_t *
bytes_writer_data(const bytes_writer_t *w)
{
  return w->buf;
}

bool
bytes_writer_failed(const bytes_writer_t *w)
{
  return w->err;
}

uint8_t *
bytes_writer_steal(bytes_writer_t *w, size_t *len_out)
{
  if (len_out)
    *len_out = 0;
  if (!w->heap)
    return NULL;
  if (w->err) {
    bytes_writer_clear(w);
    return NULL;
  }
  uint8_t *p = w->buf;
  if (len_out)
    *len_out = w->len;
  if (!p)
    p = al_malloc(1);
  w->buf = NULL;
  w->len = w->cap = 0;
  return p;
}

void
bytes_writer_clear(bytes_writer_t *w)
{
  if (w->heap) {
    al_free(w->buf);
    w->cap = 0;
  }
  w->len = 0;
  w->err = false;
}
