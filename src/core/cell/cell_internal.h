/* cell_internal.h -- helpers shared by the src/core/cell codecs only. */
#ifndef ALLIUM_CORE_CELL_CELL_INTERNAL_H
#define ALLIUM_CORE_CELL_CELL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/cell/relay_msg.h"
#include "allium/lib/bytes/bytes.h"

/* Map an encoder's writer state to 0 / CELL_ERR_SPACE, storing the length. */
static inline int
cell_finish_write(const bytes_writer_t *w, size_t *len_out)
{
  if (bytes_writer_failed(w))
    return CELL_ERR_SPACE;
  if (len_out)
    *len_out = bytes_writer_len(w);
  return CELL_OK;
}

/* A fixed writer over out limited to one relay body. */
static inline void
cell_body_writer(bytes_writer_t *w, uint8_t *out, size_t outlen)
{
  bytes_writer_init_fixed(w, out, outlen < RELAY_BODY_MAX ? outlen
                                                          : RELAY_BODY_MAX);
}

/** Write a one-byte reason body (DESTROY, TRUNCATED). */
int cell_reason_encode(uint8_t reason, uint8_t *out, size_t outlen, size_t *len_out);

/* Link specifiers (tor-spec 5.1.2), shared by EXTEND2 (relay_extend.c) and
 * the INTRODUCE2 plaintext (hs_cells.c). */
/** Read NSPEC and the specifiers into spec[]; known types must have their
 * exact length; a second legacy or ed25519 identity is CELL_ERR_DUPLICATE.
 * *n_out gets NSPEC on success.  0 or a negative cell_err_t. */
int cell_lspecs_decode(relay_lspec_t *spec, uint8_t *n_out,
                       bytes_reader_t *r);
/** Append one specifier (LSTYPE, LSLEN, LSPEC). */
int cell_lspec_encode(bytes_writer_t *w, const relay_lspec_t *s);
/** CELL_ERR_DUPLICATE if spec[0..n) has two legacy or two ed25519 ids. */
int cell_lspecs_check_dups(const relay_lspec_t *spec, unsigned n);

#endif
