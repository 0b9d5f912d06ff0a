/* compress_zstd.c -- "x-zstd" (dir-spec.txt section 6.1, proposal 278):
 * streaming decoding with a bounded window and one-shot encoding over
 * libzstd.  Concatenated frames decode as one document (the next frame
 * simply follows); see compress_backend.h. */
#include <zstd.h>
#include <zstd_errors.h>

#include "allium/lib/compress/compress.h"
#include "allium/lib/malloc/malloc.h"
#include "compress_backend.h"

/** Encoding level: documents are compressed once and served many times. */
#define ZSTD_ENCODE_LEVEL 9

struct compress_zstd_t {
  ZSTD_DStream *ds;
};

/* log2 of COMPRESS_BACKEND_MEMLIMIT: the largest window we accept. */
static int
window_log_max(void)
{
  int l = 0;
  while ((1u << (l + 1)) <= COMPRESS_BACKEND_MEMLIMIT)
    l++;
  return l;
}

compress_zstd_t *
compress_zstd_new(void)
{
  ZSTD_DStream *ds = ZSTD_createDStream();
  if (!ds)
    return NULL;
  if (ZSTD_isError(ZSTD_initDStream(ds)) ||
      ZSTD_isError(ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax,
                                          window_log_max()))) {
    ZSTD_freeDStream(ds);
    return NULL;
  }
  compress_zstd_t *z = al_calloc(1, sizeof(*z));
  z->ds = ds;
  return z;
}

int
compress_zstd_step(compress_zstd_t *z, compress_io_t *io)
{
  ZSTD_inBuffer ib = { io->in, io->in_len, 0 };
  ZSTD_outBuffer ob = { io->out, io->out_room, 0 };
  size_t r = ZSTD_decompressStream(z->ds, &ob, &ib);
  io->used = ib.pos;
  io->made = ob.pos;
  io->ended = false;
  if (ZSTD_isError(r)) {
    ZSTD_ErrorCode e = ZSTD_getErrorCode(r);
    if (e == ZSTD_error_frameParameter_windowTooLarge ||
        e == ZSTD_error_memory_allocation)
      return COMPRESS_ERR_TOO_BIG;
    return COMPRESS_ERR_CORRUPT;
  }
  /* 0: a frame is completely decoded and flushed. */
  io->ended = r == 0;
  return 0;
}

void
compress_zstd_free(compress_zstd_t *z)
{
  if (!z)
    return;
  ZSTD_freeDStream(z->ds);
  al_free(z);
}

int
compress_zstd_buffer(const uint8_t *in, size_t len, uint8_t **out,
                     size_t *out_len)
{
  size_t cap = ZSTD_compressBound(len);
  if (ZSTD_isError(cap))
    return COMPRESS_ERR_TOO_BIG;
  uint8_t *buf = al_malloc(cap + 1);
  size_t n = ZSTD_compress(buf, cap, in, len, ZSTD_ENCODE_LEVEL);
  if (ZSTD_isError(n)) {
    al_free(buf);
    return COMPRESS_ERR_INTERNAL;
  }
  *out = buf;
  *out_len = n;
  return 0;
}
