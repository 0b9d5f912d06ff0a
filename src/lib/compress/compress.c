/* compress.c -- streaming decompressor and one-shot compressor.
 *
 * Implements the content encodings of dir-spec.txt section 6.1: "identity",
 * "deflate" (zlib format) and "gzip" here over zlib, "x-zstd" and
 * "x-tor-lzma" through compress_zstd.c / compress_xz.c; detection by magic
 * bytes, concatenated streams, and the size / ratio limits that keep a
 * hostile directory cache from exhausting our memory.  See compress.h.
 */
#include "allium/lib/compress/compress.h"

#include <limits.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "allium/lib/malloc/malloc.h"
#include "compress_backend.h"

/** Bytes AUTO waits for before deciding (the xz magic is the longest). */
#define AUTO_PREFIX_LEN 6
/** Smallest chunk of free output space handed to inflate(). */
#define MIN_OUT_CHUNK 4096

struct compress_decoder_t {
  compress_method_t method;   /* COMPRESS_AUTO until decided */
  compress_limits_t lim;
  z_stream zs;
  bool zs_ready;              /* inflateInit2 succeeded */
  bool zs_ended;              /* last inflate() call hit Z_STREAM_END */
  compress_zstd_t *zstd;      /* x-zstd */
  compress_xz_t *xz;          /* x-tor-lzma */
  bool in_stream;             /* bytes of an unfinished stream consumed */
  bool out_full;              /* the last step filled its output space */
  uint8_t prefix[AUTO_PREFIX_LEN];
  size_t prefix_len;
  uint8_t *out;               /* out_len bytes, then a NUL */
  size_t out_len, out_cap;
  size_t total_in, total_out;
  int err;                    /* sticky error, 0 if none */
  bool finished;
};

const char *
compress_method_name(compress_method_t m)
{
  switch (m) {
  case COMPRESS_IDENTITY: return "identity";
  case COMPRESS_DEFLATE: return "deflate";
  case COMPRESS_GZIP: return "gzip";
  case COMPRESS_ZSTD: return "x-zstd";
  case COMPRESS_LZMA: return "x-tor-lzma";
  case COMPRESS_AUTO: return "auto";
  }
  return NULL;
}

int
compress_method_parse(const char *s, size_t len)
{
  static const struct { const char *name; compress_method_t m; } tab[] = {
    { "identity", COMPRESS_IDENTITY }, { "deflate", COMPRESS_DEFLATE },
    { "gzip", COMPRESS_GZIP }, { "x-gzip", COMPRESS_GZIP },
    { "x-zstd", COMPRESS_ZSTD }, { "x-tor-lzma", COMPRESS_LZMA },
  };
  if (!s)
    return -1;
  for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
    if (strlen(tab[i].name) == len && !strncasecmp(tab[i].name, s, len))
      return (int)tab[i].m;
  }
  return -1;
}

bool
compress_method_supported(compress_method_t m)
{
  return m == COMPRESS_IDENTITY || m == COMPRESS_DEFLATE ||
         m == COMPRESS_GZIP || m == COMPRESS_ZSTD || m == COMPRESS_LZMA;
}

/* The legacy .lzma header tor sends: the properties byte of the usual
 * lc=3 lp=0 pb=2 (0x5d), then a little-endian dictionary size of 2^n or
 * 2^n + 2^(n-1) between 4 KiB and 1.5 GiB.  Text never starts so. */
static bool
lzma_alone_header(const uint8_t *p)
{
  uint32_t d = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
               (uint32_t)p[4] << 24;
  if (p[0] != 0x5d || d < 4096 || d > 0x60000000u)
    return false;
  uint32_t low = d & -d;                  /* lowest set bit */
  return d == low || d == low * 3;
}

compress_method_t
compress_detect_method(const uint8_t *data, size_t len)
{
  static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
  static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
  if (!data || len < 2)
    return COMPRESS_IDENTITY;
  if (data[0] == 0x1f && data[1] == 0x8b)
    return COMPRESS_GZIP;
  /* RFC 1950: CM = 8, CINFO <= 7, (CMF*256 + FLG) a multiple of 31. */
  if ((data[0] & 0x0f) == 8 && (data[0] >> 4) <= 7 &&
      ((data[0] << 8) | data[1]) % 31 == 0)
    return COMPRESS_DEFLATE;
  if (len >= 4 && !memcmp(data, zstd_magic, 4))
    return COMPRESS_ZSTD;
  if (len >= 6 && !memcmp(data, xz_magic, 6))
    return COMPRESS_LZMA;
  if (len >= 5 && lzma_alone_header(data))
    return COMPRESS_LZMA;
  return COMPRESS_IDENTITY;
}

const char *
compress_strerror(int err)
{
  switch (err) {
  case 0: return "no error";
  case COMPRESS_ERR_CORRUPT: return "corrupt compressed data";
  case COMPRESS_ERR_TRUNCATED: return "truncated compressed data";
  case COMPRESS_ERR_TOO_BIG: return "decompressed data too large";
  case COMPRESS_ERR_BOMB: return "compression ratio too high (possible bomb)";
  case COMPRESS_ERR_UNSUPPORTED: return "unsupported compression method";
  case COMPRESS_ERR_INTERNAL: return "internal compression error";
  case COMPRESS_ERR_STATE: return "decoder already finished";
  default: return "unknown compression error";
  }
}

/** Start the backend for the decided method.  Returns 0 or an error. */
static int
decoder_start(compress_decoder_t *d, compress_method_t m)
{
  if (!compress_method_supported(m))
    return COMPRESS_ERR_UNSUPPORTED;
  d->method = m;
  if (m == COMPRESS_IDENTITY)
    return 0;
  if (m == COMPRESS_ZSTD)
    return (d->zstd = compress_zstd_new()) ? 0 : COMPRESS_ERR_INTERNAL;
  if (m == COMPRESS_LZMA)
    return (d->xz = compress_xz_new()) ? 0 : COMPRESS_ERR_INTERNAL;
  memset(&d->zs, 0, sizeof(d->zs));
  /* 15: 32 KiB window, zlib header; +16: gzip header instead. */
  if (inflateInit2(&d->zs, m == COMPRESS_GZIP ? 15 + 16 : 15) != Z_OK)
    return COMPRESS_ERR_INTERNAL;
  d->zs_ready = true;
  return 0;
}

compress_decoder_t *
compress_decoder_new(compress_method_t method, const compress_limits_t *lim)
{
  if (method != COMPRESS_AUTO && !compress_method_supported(method))
    return NULL;
  compress_decoder_t *d = al_calloc(1, sizeof(*d));
  if (lim)
    d->lim = *lim;
  if (!d->lim.max_output)
    d->lim.max_output = COMPRESS_DEFAULT_MAX_OUTPUT;
  if (d->lim.max_output > SIZE_MAX / 4)
    d->lim.max_output = SIZE_MAX / 4; /* keep max_output + 2 from wrapping */
  if (!d->lim.max_ratio)
    d->lim.max_ratio = COMPRESS_DEFAULT_MAX_RATIO;
  if (!d->lim.ratio_check_after)
    d->lim.ratio_check_after = COMPRESS_DEFAULT_RATIO_CHECK_AFTER;
  d->out_cap = 64;
  d->out = al_malloc(d->out_cap);
  d->out[0] = 0;
  d->method = COMPRESS_AUTO;
  if (method != COMPRESS_AUTO && decoder_start(d, method) < 0) {
    compress_decoder_free(d);
    return NULL;
  }
  return d;
}

void
compress_decoder_free_(compress_decoder_t *d)
{
  if (!d)
    return;
  if (d->zs_ready)
    inflateEnd(&d->zs);
  compress_zstd_free(d->zstd);
  compress_xz_free(d->xz);
  al_free(d->out);
  al_free(d);
}

/** Make room for at least one more output byte (plus the NUL), never
 * beyond max_output + 1 bytes of output.  Returns free bytes (0: at limit). */
static size_t
decoder_reserve(compress_decoder_t *d)
{
  size_t hard_cap = d->lim.max_output + 2; /* one byte over, then NUL */
  if (d->out_cap - d->out_len - 1 < MIN_OUT_CHUNK && d->out_cap < hard_cap) {
    size_t ncap = d->out_cap * 2;
    if (ncap < d->out_len + 1 + MIN_OUT_CHUNK)
      ncap = d->out_len + 1 + MIN_OUT_CHUNK;
    if (ncap > hard_cap || ncap < d->out_cap)
      ncap = hard_cap;
    d->out = al_realloc(d->out, ncap);
    d->out_cap = ncap;
  }
  return d->out_cap - d->out_len - 1;
}

/** Check the output limits after progress.  Returns 0 or an error. */
static int
decoder_check_limits(const compress_decoder_t *d)
{
  if (d->total_out > d->lim.max_output)
    return COMPRESS_ERR_TOO_BIG;
  if (d->method != COMPRESS_IDENTITY &&
      d->total_out > d->lim.ratio_check_after &&
      (uint64_t)d->total_out / d->lim.max_ratio > (uint64_t)d->total_in)
    return COMPRESS_ERR_BOMB;
  return 0;
}

static int
decoder_feed_identity(compress_decoder_t *d, const uint8_t *data, size_t len)
{
  if (len > d->lim.max_output - d->total_out)
    return COMPRESS_ERR_TOO_BIG;
  if (d->out_cap - d->out_len - 1 < len) {
    size_t ncap = d->out_cap * 2;
    if (ncap < d->out_len + len + 1)
      ncap = d->out_len + len + 1;
    d->out = al_realloc(d->out, ncap);
    d->out_cap = ncap;
  }
  memcpy(d->out + d->out_len, data, len);
  d->out_len += len;
  d->out[d->out_len] = 0;
  d->total_in += len;
  d->total_out += len;
  return 0;
}

/** One inflate() step (deflate, gzip). */
static int
zlib_step(compress_decoder_t *d, compress_io_t *io)
{
  if (d->zs_ended) {
    /* Another stream follows: concatenated compressed documents. */
    if (inflateReset(&d->zs) != Z_OK)
      return COMPRESS_ERR_INTERNAL;
    d->zs_ended = false;
  }
  uInt avail_in = io->in_len > UINT_MAX ? UINT_MAX : (uInt)io->in_len;
  uInt avail_out = io->out_room > UINT_MAX ? UINT_MAX : (uInt)io->out_room;
  d->zs.next_in = (Bytef *)(uintptr_t)io->in;
  d->zs.avail_in = avail_in;
  d->zs.next_out = io->out;
  d->zs.avail_out = avail_out;
  int r = inflate(&d->zs, Z_NO_FLUSH);
  io->used = avail_in - d->zs.avail_in;
  io->made = avail_out - d->zs.avail_out;
  io->ended = r == Z_STREAM_END;
  switch (r) {
  case Z_STREAM_END:
    d->zs_ended = true;
    return 0;
  case Z_OK:
  case Z_BUF_ERROR:           /* no progress possible this step */
    return 0;
  case Z_DATA_ERROR:
  case Z_NEED_DICT:
  case Z_STREAM_ERROR:
    return COMPRESS_ERR_CORRUPT;
  default:
    return COMPRESS_ERR_INTERNAL;
  }
}

/** One decoding step of the decided method.  Consumes from *data / *len,
 * appends to the output.  Returns 0 or an error. */
static int
decoder_step(compress_decoder_t *d, const uint8_t **data, size_t *len)
{
  size_t room = decoder_reserve(d);
  if (room == 0)
    return COMPRESS_ERR_TOO_BIG;
  compress_io_t io = { *data, *len, d->out + d->out_len, room, 0, 0, false };
  int r;
  if (d->method == COMPRESS_ZSTD)
    r = compress_zstd_step(d->zstd, &io);
  else if (d->method == COMPRESS_LZMA)
    r = compress_xz_step(d->xz, &io);
  else
    r = zlib_step(d, &io);
  *data += io.used;
  *len -= io.used;
  d->total_in += io.used;
  d->total_out += io.made;
  d->out_len += io.made;
  d->out[d->out_len] = 0;
  if (io.used)
    d->in_stream = true;
  if (io.ended)
    d->in_stream = false;
  d->out_full = io.made == room;
  if (r < 0)
    return r;
  /* Input offered, room to write, nothing happened: the backend is stuck
   * (it would loop forever). */
  if (io.in_len && !io.used && !io.made && !io.ended)
    return COMPRESS_ERR_INTERNAL;
  return decoder_check_limits(d);
}

static int
decoder_feed_decided(compress_decoder_t *d, const uint8_t *data, size_t len)
{
  if (d->method == COMPRESS_IDENTITY)
    return decoder_feed_identity(d, data, len);
  while (len > 0) {
    int r = decoder_step(d, &data, &len);
    if (r < 0)
      return r;
  }
  /* Drain output the backend still holds for the bytes already consumed. */
  while (d->in_stream && d->out_full) {
    int r = decoder_step(d, &data, &len);
    if (r < 0)
      return r;
  }
  return 0;
}

/** AUTO: decide on the buffered prefix and replay it. */
static int
decoder_decide(compress_decoder_t *d)
{
  compress_method_t m = compress_detect_method(d->prefix, d->prefix_len);
  int r = decoder_start(d, m);
  if (r < 0)
    return r;
  size_t n = d->prefix_len;
  d->prefix_len = 0;
  return decoder_feed_decided(d, d->prefix, n);
}

int
compress_decoder_feed(compress_decoder_t *d, const uint8_t *data, size_t len)
{
  if (d->err)
    return d->err;
  if (d->finished)
    return COMPRESS_ERR_STATE;
  if (len == 0)
    return 0;
  int r = 0;
  if (d->method == COMPRESS_AUTO) {
    size_t take = AUTO_PREFIX_LEN - d->prefix_len;
    if (take > len)
      take = len;
    memcpy(d->prefix + d->prefix_len, data, take);
    d->prefix_len += take;
    data += take;
    len -= take;
    if (d->prefix_len < AUTO_PREFIX_LEN)
      return 0;
    r = decoder_decide(d);
  }
  if (r == 0 && len > 0)
    r = decoder_feed_decided(d, data, len);
  if (r < 0)
    d->err = r;
  return r;
}

int
compress_decoder_finish(compress_decoder_t *d)
{
  if (d->err)
    return d->err;
  if (d->finished)
    return 0;
  int r = 0;
  if (d->method == COMPRESS_AUTO)
    r = decoder_decide(d);
  if (r == 0 && d->method != COMPRESS_IDENTITY) {
    /* Flush whatever the backend buffered; then a stream must have
     * ended. */
    const uint8_t *none = NULL;
    size_t zero = 0;
    while (r == 0 && d->in_stream && d->out_full)
      r = decoder_step(d, &none, &zero);
    if (r == 0 && d->in_stream)
      r = COMPRESS_ERR_TRUNCATED;
  }
  d->finished = true;
  if (r < 0)
    d->err = r;
  return r;
}

compress_method_t
compress_decoder_method(const compress_decoder_t *d)
{
  return d->method;
}

const uint8_t *
compress_decoder_output(const compress_decoder_t *d, size_t *len_out)
{
  if (len_out)
    *len_out = d->out_len;
  return d->out;
}

uint8_t *
compress_decoder_take_output(compress_decoder_t *d, size_t *len_out)
{
  uint8_t *p = d->out;
  if (len_out)
    *len_out = d->out_len;
  d->out_cap = 64;
  d->out = al_malloc(d->out_cap);
  d->out[0] = 0;
  d->out_len = 0;
  return p;
}

size_t
compress_decoder_total_in(const compress_decoder_t *d)
{
  return d->total_in;
}

int
compress_buffer(compress_method_t method, const uint8_t *in, size_t len,
                uint8_t **out, size_t *out_len)
{
  *out = NULL;
  *out_len = 0;
  if (!compress_method_supported(method))
    return COMPRESS_ERR_UNSUPPORTED;
  if (method == COMPRESS_IDENTITY) {
    *out = al_malloc(len + 1);
    if (len)
      memcpy(*out, in, len);
    (*out)[len] = 0;
    *out_len = len;
    return 0;
  }
  if (method == COMPRESS_ZSTD)
    return compress_zstd_buffer(in, len, out, out_len);
  if (method == COMPRESS_LZMA)
    return compress_xz_buffer(in, len, out, out_len);
  if (len > UINT_MAX / 2)
    return COMPRESS_ERR_TOO_BIG;
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  int wbits = method == COMPRESS_GZIP ? 15 + 16 : 15;
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, wbits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return COMPRESS_ERR_INTERNAL;
  /* deflateBound() does not count the gzip header's extra bytes. */
  size_t cap = deflateBound(&zs, (uLong)len) + 32;
  uint8_t *buf = al_malloc(cap);
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  zs.next_out = buf;
  zs.avail_out = (uInt)cap;
  int r = deflate(&zs, Z_FINISH);
  size_t n = cap - zs.avail_out;
  deflateEnd(&zs);
  if (r != Z_STREAM_END) {
    al_free(buf);
    return COMPRESS_ERR_INTERNAL;
  }
  *out = buf;
  *out_len = n;
  return 0;
}

int
compress_uncompress_buffer(compress_method_t method, const uint8_t *in,
                           size_t len, const compress_limits_t *limits,
                           uint8_t **out, size_t *out_len)
{
  *out = NULL;
  *out_len = 0;
  compress_decoder_t *d = compress_decoder_new(method, limits);
  if (!d)
    return COMPRESS_ERR_UNSUPPORTED;
  int r = compress_decoder_feed(d, in, len);
  if (r == 0)
    r = compress_decoder_finish(d);
  if (r == 0)
    *out = compress_decoder_take_output(d, out_len);
  compress_decoder_free(d);
  return r;
}
