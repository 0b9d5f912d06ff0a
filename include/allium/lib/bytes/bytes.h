/* bytes.h -- bounds-checked readers and writers for wire formats.
 *
 * All multi-byte integers are in network byte order (big-endian), as in
 * tor-spec.txt section 0.1.1.
 *
 * A bytes_reader_t walks a caller-owned buffer.  Any read that would go past
 * the end sets a sticky error flag, consumes nothing and yields zeros (or
 * NULL for pointers); later reads keep failing.  Callers therefore decode a
 * whole structure and test bytes_reader_failed() once at the end.
 *
 * A bytes_writer_t appends either into a caller-provided fixed buffer (an
 * append that does not fit sets a sticky overflow flag and writes nothing)
 * or into a growable heap buffer with an optional size limit.
 */
#ifndef ALLIUM_LIB_BYTES_BYTES_H
#define ALLIUM_LIB_BYTES_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A cursor over a read-only byte buffer.  The buffer stays owned by the
 * caller and must outlive the reader and every pointer it hands out. */
typedef struct bytes_reader_t {
  const uint8_t *buf;
  size_t len;
  size_t pos;
  bool err;
} bytes_reader_t;

/** Start reading len bytes at buf (buf may be NULL when len is 0). */
void bytes_reader_init(bytes_reader_t *r, const uint8_t *buf, size_t len);

uint8_t bytes_get_u8(bytes_reader_t *r);
uint16_t bytes_get_u16(bytes_reader_t *r);
uint32_t bytes_get_u32(bytes_reader_t *r);
uint64_t bytes_get_u64(bytes_reader_t *r);

/** Consume n bytes and return a pointer to them inside the reader's buffer
 * (not a copy: valid as long as that buffer).  Past the end: sets the
 * error flag and returns NULL.  n == 0 returns a non-NULL pointer unless the
 * reader has already failed. */
const uint8_t *bytes_get_bytes(bytes_reader_t *r, size_t n);

/** Consume n bytes and copy them to out.  Past the end: sets the error flag
 * and fills out with zeros. */
void bytes_copy_bytes(bytes_reader_t *r, void *out, size_t n);

/** Consume n bytes without looking at them. */
void bytes_skip(bytes_reader_t *r, size_t n);

/** Consume a NUL-terminated string of at most maxlen characters (not
 * counting the NUL) and its NUL.  Returns a pointer into the buffer (the
 * string is terminated there) and stores its length in *len_out (may be
 * NULL).  No NUL within the first maxlen+1 remaining bytes: sets the error
 * flag, consumes nothing and returns NULL. */
const char *bytes_get_nul_string(bytes_reader_t *r, size_t maxlen,
                                 size_t *len_out);

/** Bytes left to read (0 after an error). */
size_t bytes_remaining(const bytes_reader_t *r);
/** True when every byte has been consumed and no error happened. */
bool bytes_is_exhausted(const bytes_reader_t *r);
/** True once any read went past the end (or bytes_reader_fail was called). */
bool bytes_reader_failed(const bytes_reader_t *r);
/** Set the sticky error flag by hand (e.g. a semantic check failed). */
void bytes_reader_fail(bytes_reader_t *r);

/** An append-only output buffer. */
typedef struct bytes_writer_t {
  uint8_t *buf;
  size_t len;   /* bytes written so far */
  size_t cap;   /* bytes allocated (heap) or available (fixed) */
  size_t max;   /* heap: largest permitted len */
  bool err;
  bool heap;
} bytes_writer_t;

/** Write into buf[0..cap).  The caller owns buf. */
void bytes_writer_init_fixed(bytes_writer_t *w, uint8_t *buf, size_t cap);
/** Write into a heap buffer that grows as needed up to max bytes (0 means
 * no limit).  Release with bytes_writer_clear() or take the buffer with
 * bytes_writer_steal(). */
void bytes_writer_init_heap(bytes_writer_t *w, size_t max);

void bytes_put_u8(bytes_writer_t *w, uint8_t v);
void bytes_put_u16(bytes_writer_t *w, uint16_t v);
void bytes_put_u32(bytes_writer_t *w, uint32_t v);
void bytes_put_u64(bytes_writer_t *w, uint64_t v);
/** Append n bytes from p (p may be NULL when n is 0). */
void bytes_put_bytes(bytes_writer_t *w, const void *p, size_t n);
void bytes_put_zeros(bytes_writer_t *w, size_t n);

/** Append n zero bytes to be filled in later; returns their offset, or
 * SIZE_MAX (and sets the overflow flag) if they do not fit. */
size_t bytes_reserve(bytes_writer_t *w, size_t n);
/** Overwrite a previously written/reserved field at offset off.  Out of
 * range (including off == SIZE_MAX) sets the overflow flag. */
void bytes_patch_u8(bytes_writer_t *w, size_t off, uint8_t v);
void bytes_patch_u16(bytes_writer_t *w, size_t off, uint16_t v);
void bytes_patch_u32(bytes_writer_t *w, size_t off, uint32_t v);

/** Bytes written so far. */
size_t bytes_writer_len(const bytes_writer_t *w);
/** The written bytes (owned by the writer or its caller; may be NULL when
 * nothing was written to a heap writer). */
const uint8_t *bytes_writer_data(const bytes_writer_t *w);
/** True once any append or patch did not fit. */
bool bytes_writer_failed(const bytes_writer_t *w);
/** Heap writer: hand the buffer to the caller (caller frees with al_free)
 * and reset the writer to empty.  *len_out gets its length.  Returns NULL
 * for a fixed writer or if the writer failed (the buffer is then freed). */
uint8_t *bytes_writer_steal(bytes_writer_t *w, size_t *len_out);
/** Heap writer: free the buffer.  Fixed writer: keep the caller's buffer
 * and start over at offset 0.  Either way the error flag is cleared. */
void bytes_writer_clear(bytes_writer_t *w);

#endif
