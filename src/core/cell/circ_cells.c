/* circ_cells.c -- CREATE2/CREATED2 (tor-spec.txt 5.1), CREATE_FAST/
 * CREATED_FAST (5.1.5) and DESTROY (5.4) payloads.
 * See include/allium/core/cell/circ_cells.h. */
#include "allium/core/cell/circ_cells.h"
#include "cell_internal.h"
#include "allium/core/cell/cell.h"
#include "allium/lib/bytes/bytes.h"

#include <string.h>

static int
finish_write(const bytes_writer_t *w, size_t *len_out)
{
  if (bytes_writer_failed(w))
    return CELL_ERR_SPACE;
  if (len_out)
    *len_out = bytes_writer_len(w);
  return CELL_OK;
}

/* A writer limited to min(outlen, one fixed payload). */
static void
payload_writer(bytes_writer_t *w, uint8_t *out, size_t outlen)
{
  bytes_writer_init_fixed(w, out, outlen < CELL_PAYLOAD_LEN ? outlen
                                                            : CELL_PAYLOAD_LEN);
}

int
cell_check_client_handshake(uint16_t htype, uint16_t hlen)
{
  if (htype == CELL_HTYPE_TAP && hlen != CELL_TAP_ONIONSKIN_LEN)
    return CELL_ERR_LENGTH;
  if (htype == CELL_HTYPE_NTOR && hlen != CELL_NTOR_ONIONSKIN_LEN)
    return CELL_ERR_LENGTH;
  return CELL_OK;
}

int
cell_create2_decode(cell_create2_t *c, const uint8_t *p, size_t len)
{
  bytes_reader_t r;
  memset(c, 0, sizeof(*c));
  bytes_reader_init(&r, p, len);
  uint16_t htype = bytes_get_u16(&r);
  uint16_t hlen = bytes_get_u16(&r);
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  if (hlen > CELL_CREATE2_HDATA_MAX)
    return CELL_ERR_LENGTH;
  const uint8_t *hdata = bytes_get_bytes(&r, hlen);
  if (!hdata)
    return CELL_ERR_TRUNCATED;
  int rv = cell_check_client_handshake(htype, hlen);
  if (rv < 0)
    return rv;
  c->htype = htype;
  c->hlen = hlen;
  c->hdata = hdata;
  return CELL_OK;
}

int
cell_create2_encode(const cell_create2_t *c, uint8_t *out, size_t outlen,
                    size_t *len_out)
{
  if (c->hlen > CELL_CREATE2_HDATA_MAX)
    return CELL_ERR_SPACE;
  if (c->hlen && !c->hdata)
    return CELL_ERR_VALUE;
  int rv = cell_check_client_handshake(c->htype, c->hlen);
  if (rv < 0)
    return rv;
  bytes_writer_t w;
  payload_writer(&w, out, outlen);
  bytes_put_u16(&w, c->htype);
  bytes_put_u16(&w, c->hlen);
  bytes_put_bytes(&w, c->hdata, c->hlen);
  return finish_write(&w, len_out);
}

int
cell_created2_decode(cell_created2_t *c, const uint8_t *p, size_t len)
{
  bytes_reader_t r;
  memset(c, 0, sizeof(*c));
  bytes_reader_init(&r, p, len);
  uint16_t hlen = bytes_get_u16(&r);
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  if (hlen > CELL_CREATED2_HDATA_MAX)
    return CELL_ERR_LENGTH;
  const uint8_t *hdata = bytes_get_bytes(&r, hlen);
  if (!hdata)
    return CELL_ERR_TRUNCATED;
  c->hlen = hlen;
  c->hdata = hdata;
  return CELL_OK;
}

int
cell_created2_encode(const cell_created2_t *c, uint8_t *out, size_t outlen,
                     size_t *len_out)
{
  if (c->hlen > CELL_CREATED2_HDATA_MAX)
    return CELL_ERR_SPACE;
  if (c->hlen && !c->hdata)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  payload_writer(&w, out, outlen);
  bytes_put_u16(&w, c->hlen);
  bytes_put_bytes(&w, c->hdata, c->hlen);
  return finish_write(&w, len_out);
}

int
cell_create_fast_decode(cell_create_fast_t *c, const uint8_t *p, size_t len)
{
  memset(c, 0, sizeof(*c));
  if (len < CELL_FAST_KEY_LEN)
    return CELL_ERR_TRUNCATED;
  memcpy(c->x, p, CELL_FAST_KEY_LEN);
  return CELL_OK;
}

int
cell_create_fast_encode(const cell_create_fast_t *c, uint8_t *out,
                        size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  payload_writer(&w, out, outlen);
  bytes_put_bytes(&w, c->x, CELL_FAST_KEY_LEN);
  return finish_write(&w, len_out);
}

int
cell_created_fast_decode(cell_created_fast_t *c, const uint8_t *p, size_t len)
{
  memset(c, 0, sizeof(*c));
  if (len < 2 * CELL_FAST_KEY_LEN)
    return CELL_ERR_TRUNCATED;
  memcpy(c->y, p, CELL_FAST_KEY_LEN);
  memcpy(c->kh, p + CELL_FAST_KEY_LEN, CELL_FAST_KEY_LEN);
  return CELL_OK;
}

int
cell_created_fast_encode(const cell_created_fast_t *c, uint8_t *out,
                         size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  payload_writer(&w, out, outlen);
  bytes_put_bytes(&w, c->y, CELL_FAST_KEY_LEN);
  bytes_put_bytes(&w, c->kh, CELL_FAST_KEY_LEN);
  return finish_write(&w, len_out);
}

const char *
cell_destroy_reason_name(uint8_t reason)
{
  static const char *const names[] = {
    "NONE", "PROTOCOL", "INTERNAL", "REQUESTED", "HIBERNATING",
    "RESOURCELIMIT", "CONNECTFAILED", "OR_IDENTITY", "CHANNEL_CLOSED",
    "FINISHED", "TIMEOUT", "DESTROYED", "NOSUCHSERVICE",
  };
  if (reason < sizeof(names) / sizeof(names[0]))
    return names[reason];
  return NULL;
}

int
cell_destroy_decode(uint8_t *reason, const uint8_t *p, size_t len)
{
  *reason = 0;
  if (len < 1)
    return CELL_ERR_TRUNCATED;
  *reason = p[0];
  return CELL_OK;
}

int
cell_reason_encode(uint8_t reason, uint8_t *out, size_t outlen, size_t *len_out)
{
  if (outlen < 1)
    return CELL_ERR_SPACE;
  out[0] = reason;
  if (len_out)
    *len_out = 1;
  return CELL_OK;
}

int
cell_destroy_encode(uint8_t reason, uint8_t *out, size_t outlen,
                    size_t *len_out)
{
  return cell_reason_encode(reason, out, outlen, len_out);
}
