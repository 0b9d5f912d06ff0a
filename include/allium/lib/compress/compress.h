/* compress.h -- streaming decompression and one-shot compression (zlib,
 * libzstd, liblzma).
 *
 * Directory documents travel compressed (dir-spec.txt section 6.1,
 * "Content-Encoding"): "identity", "deflate" (the zlib format, RFC 1950),
 * "gzip" (RFC 1952), "x-zstd" (proposal 278; a window of at most 16 MiB
 * accepted) and "x-tor-lzma" (the legacy .lzma format, as tor 0.4.9 sends
 * it, at preset 6; the .xz container is decoded too; within 16 MiB of
 * decoder memory, as proposal 278 bounds it).  All five are decoded and
 * encoded.
 *
 * A compress_decoder_t is sans-IO: the caller feeds input chunks of any size
 * (one byte at a time works) and the decoder appends plain bytes to an output
 * buffer it owns.  compress_decoder_finish() says whether the input ended at a
 * clean stream boundary.  Concatenated compressed streams decode as one
 * document (dir-spec 6.1: "concatenated compressed documents" are accepted).
 *
 * Hard limits guard against hostile peers: a maximum output size and a
 * maximum ratio output/input (a zip-bomb guard, checked once the output
 * exceeds ratio_check_after bytes).  Every error is sticky.
 */
#ifndef ALLIUM_LIB_COMPRESS_COMPRESS_H
#define ALLIUM_LIB_COMPRESS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Compression methods of dir-spec 6.1, plus AUTO (detect by magic bytes). */
typedef enum compress_method_t {
  COMPRESS_IDENTITY = 0,  /* "identity": no compression */
  COMPRESS_DEFLATE = 1,   /* "deflate": zlib format (RFC 1950) */
  COMPRESS_GZIP = 2,      /* "gzip" (RFC 1952) */
  COMPRESS_ZSTD = 3,      /* "x-zstd" */
  COMPRESS_LZMA = 4,      /* "x-tor-lzma" */
  COMPRESS_AUTO = 5,      /* decoder only: pick by the first bytes */
} compress_method_t;

/* Error codes (all negative; 0 is success). */
#define COMPRESS_ERR_CORRUPT      (-1) /* malformed compressed data */
#define COMPRESS_ERR_TRUNCATED    (-2) /* input ended inside a stream */
#define COMPRESS_ERR_TOO_BIG      (-3) /* output would exceed max_output */
#define COMPRESS_ERR_BOMB         (-4) /* output/input ratio above max_ratio */
#define COMPRESS_ERR_UNSUPPORTED  (-5) /* an unknown method */
#define COMPRESS_ERR_INTERNAL     (-6) /* a library failed for another reason */
#define COMPRESS_ERR_STATE        (-7) /* fed after finish */

/* Defaults used when a limits pointer is NULL or a field is 0. */
#define COMPRESS_DEFAULT_MAX_OUTPUT (16u * 1024 * 1024)
#define COMPRESS_DEFAULT_MAX_RATIO 50
#define COMPRESS_DEFAULT_RATIO_CHECK_AFTER (16u * 1024)

/** Limits on one decoder.  A 0 field takes the default above. */
typedef struct compress_limits_t {
  size_t max_output;        /* maximum decompressed bytes in total */
  unsigned max_ratio;       /* maximum total_out / total_in */
  size_t ratio_check_after; /* ratio checked only above this many out bytes */
} compress_limits_t;

typedef struct compress_decoder_t compress_decoder_t;

/** The dir-spec 6.1 token for m ("identity", "deflate", "gzip", "x-zstd",
 * "x-tor-lzma"); "auto" for COMPRESS_AUTO; NULL for anything else.  Static. */
const char *compress_method_name(compress_method_t m);

/** Parse a Content-Encoding token (len bytes, not NUL-terminated,
 * case-insensitive; "x-gzip" is taken as gzip).  Returns the method, or -1
 * if unknown. */
int compress_method_parse(const char *s, size_t len);

/** True if this build can decode and encode m (identity, deflate, gzip). */
bool compress_method_supported(compress_method_t m);

/** Guess the method of a document from its first bytes: gzip magic, a valid
 * zlib header, the zstd or xz magic, a .lzma header (properties 0x5d and a
 * plausible dictionary size); anything else is COMPRESS_IDENTITY. */
compress_method_t compress_detect_method(const uint8_t *data, size_t len);

/** New decoder for method (may be COMPRESS_AUTO).  limits may be NULL.
 * Returns NULL for COMPRESS_ZSTD, COMPRESS_LZMA or an unknown method.
 * Caller frees with compress_decoder_free(). */
compress_decoder_t *compress_decoder_new(compress_method_t method,
                                         const compress_limits_t *limits);
void compress_decoder_free_(compress_decoder_t *d);
#define compress_decoder_free(p) \
  do { compress_decoder_free_(p); (p) = NULL; } while (0)

/** Feed len input bytes (data may be NULL when len is 0).  Decoded bytes are
 * appended to the decoder's output.  Returns 0 or a negative COMPRESS_ERR_*;
 * once an error is returned every later call returns it again. */
int compress_decoder_feed(compress_decoder_t *d, const uint8_t *data,
                          size_t len);

/** Declare the end of input.  Returns 0 if the input ended at a stream
 * boundary (or was empty), COMPRESS_ERR_TRUNCATED if it stopped inside a
 * stream, or the sticky error.  Later feeds return COMPRESS_ERR_STATE. */
int compress_decoder_finish(compress_decoder_t *d);

/** The method in use (after AUTO detection; COMPRESS_AUTO while fewer bytes
 * than needed to decide have arrived). */
compress_method_t compress_decoder_method(const compress_decoder_t *d);

/** Decoded bytes so far; owned by the decoder (valid until the next feed or
 * free).  A NUL byte follows them (not counted in *len_out). */
const uint8_t *compress_decoder_output(const compress_decoder_t *d,
                                       size_t *len_out);

/** Take the decoded bytes (NUL-terminated, not counted); the decoder's output
 * becomes empty.  Caller frees with al_free().  Never NULL. */
uint8_t *compress_decoder_take_output(compress_decoder_t *d, size_t *len_out);

/** Total input bytes accepted so far. */
size_t compress_decoder_total_in(const compress_decoder_t *d);

/** A short static description of a COMPRESS_ERR_* code. */
const char *compress_strerror(int err);

/** One-shot compression of len bytes with method (identity, deflate or
 * gzip).  On success returns 0 and sets *out (caller frees with al_free())
 * and *out_len.  Returns COMPRESS_ERR_UNSUPPORTED for other methods. */
int compress_buffer(compress_method_t method, const uint8_t *in, size_t len,
                    uint8_t **out, size_t *out_len);

/** One-shot decompression: a decoder fed all of in, then finished.  On
 * success returns 0 and sets *out (NUL-terminated, caller frees with
 * al_free()) and *out_len; on error returns the negative code and sets
 * *out to NULL. */
int compress_uncompress_buffer(compress_method_t method, const uint8_t *in,
                               size_t len, const compress_limits_t *limits,
                               uint8_t **out, size_t *out_len);

#endif
