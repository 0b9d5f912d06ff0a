/* compress_xz.c -- "x-tor-lzma" (dir-spec.txt section 6.1, proposal 278:
 * LZMA with a preset of at most 6, decompression memory bounded at 16 MB)
 * over liblzma.  tor 0.4.9 sends x-tor-lzma in the legacy .lzma ("alone")
 * format -- a 13-byte header (properties byte 0x5d, dictionary size,
 * uncompressed size or all ones) then an LZMA stream with its end marker --
 * as seen from a tor authority's DirPort; that is what this file writes, at
 * preset 6 with the dictionary cut to the document's size.  Decoding also
 * takes the .xz container (lzma_auto_decoder), each stream under the memory
 * limit; a stream that follows another is decoded with a fresh decoder
 * (concatenated documents).  See compress_backend.h. */
#include <lzma.h>
#include <string.h>

#include "allium/lib/compress/compress.h"
#include "allium/lib/malloc/malloc.h"
#include "compress_backend.h"

/** Proposal 278: a preset above 6 needs more than 16 MB to decode. */
#define XZ_ENCODE_PRESET 6

struct compress_xz_t {
  lzma_stream s;
  bool ready;               /* a decoder is initialised in s */
};

static int
xz_start(compress_xz_t *x)
{
  lzma_stream init = LZMA_STREAM_INIT;
  x->s = init;
  if (lzma_auto_decoder(&x->s, COMPRESS_BACKEND_MEMLIMIT, 0) != LZMA_OK)
    return -1;
  x->ready = true;
  return 0;
}

compress_xz_t *
compress_xz_new(void)
{
  compress_xz_t *x = al_calloc(1, sizeof(*x));
  if (xz_start(x) < 0) {
    al_free(x);
    return NULL;
  }
  return x;
}

int
compress_xz_step(compress_xz_t *x, compress_io_t *io)
{
  io->used = io->made = 0;
  io->ended = false;
  if (!x->ready) {
    /* Another stream follows the last one. */
    if (xz_start(x) < 0)
      return COMPRESS_ERR_INTERNAL;
  }
  x->s.next_in = io->in;
  x->s.avail_in = io->in_len;
  x->s.next_out = io->out;
  x->s.avail_out = io->out_room;
  lzma_ret r = lzma_code(&x->s, LZMA_RUN);
  io->used = io->in_len - x->s.avail_in;
  io->made = io->out_room - x->s.avail_out;
  switch (r) {
  case LZMA_OK:
  case LZMA_BUF_ERROR:          /* no progress possible this step */
    return 0;
  case LZMA_STREAM_END:
    io->ended = true;
    lzma_end(&x->s);
    x->ready = false;
    return 0;
  case LZMA_MEMLIMIT_ERROR:
  case LZMA_MEM_ERROR:
    return COMPRESS_ERR_TOO_BIG;
  case LZMA_FORMAT_ERROR:
  case LZMA_OPTIONS_ERROR:
  case LZMA_DATA_ERROR:
    return COMPRESS_ERR_CORRUPT;
  default:
    return COMPRESS_ERR_INTERNAL;
  }
}

void
compress_xz_free(compress_xz_t *x)
{
  if (!x)
    return;
  if (x->ready)
    lzma_end(&x->s);
  al_free(x);
}

int
compress_xz_buffer(const uint8_t *in, size_t len, uint8_t **out,
                   size_t *out_len)
{
  /* Preset 6, with the dictionary no larger than the document needs (the
   * encoder's memory and time, and the decoder's memory, follow it). */
  lzma_options_lzma opt;
  if (lzma_lzma_preset(&opt, XZ_ENCODE_PRESET))
    return COMPRESS_ERR_INTERNAL;
  uint32_t dict = LZMA_DICT_SIZE_MIN;
  while (dict < len && dict < opt.dict_size)
    dict <<= 1;
  opt.dict_size = dict;
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_alone_encoder(&s, &opt) != LZMA_OK)
    return COMPRESS_ERR_INTERNAL;
  /* LZMA never grows data by more than a small fraction. */
  size_t cap = len + len / 2 + 1024;
  uint8_t *buf = al_malloc(cap + 1);
  s.next_in = in;
  s.avail_in = len;
  s.next_out = buf;
  s.avail_out = cap;
  lzma_ret r = lzma_code(&s, LZMA_FINISH);
  size_t n = cap - s.avail_out;
  lzma_end(&s);
  if (r != LZMA_STREAM_END) {
    al_free(buf);
    return COMPRESS_ERR_INTERNAL;
  }
  *out = buf;
  *out_len = n;
  return 0;
}
