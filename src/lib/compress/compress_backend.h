/* compress_backend.h -- (private to src/lib/compress) one decoding step and
 * one-shot encoding for the zstd and lzma content encodings of dir-spec.txt
 * section 6.1 ("x-zstd", "x-tor-lzma"), so compress.c keeps the generic
 * parts (output buffer, limits, concatenated streams, AUTO detection). */
#ifndef ALLIUM_SRC_LIB_COMPRESS_COMPRESS_BACKEND_H
#define ALLIUM_SRC_LIB_COMPRESS_COMPRESS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One step: consume from in, produce into out.  The backend sets used,
 * made, and ended (a stream / frame finished with this step). */
typedef struct compress_io_t {
  const uint8_t *in;
  size_t in_len;
  uint8_t *out;
  size_t out_room;
  size_t used, made;
  bool ended;
} compress_io_t;

/** Largest window / dictionary a peer may make us allocate (proposal 278
 * bounds lzma decompression memory at 16 MB; the same for zstd). */
#define COMPRESS_BACKEND_MEMLIMIT (16u * 1024 * 1024)

typedef struct compress_zstd_t compress_zstd_t;
compress_zstd_t *compress_zstd_new(void);
/** 0 or a COMPRESS_ERR_*. */
int compress_zstd_step(compress_zstd_t *z, compress_io_t *io);
void compress_zstd_free(compress_zstd_t *z);
int compress_zstd_buffer(const uint8_t *in, size_t len, uint8_t **out,
                         size_t *out_len);

typedef struct compress_xz_t compress_xz_t;
compress_xz_t *compress_xz_new(void);
int compress_xz_step(compress_xz_t *x, compress_io_t *io);
void compress_xz_free(compress_xz_t *x);
int compress_xz_buffer(const uint8_t *in, size_t len, uint8_t **out,
                       size_t *out_len);

#endif
