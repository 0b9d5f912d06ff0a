/* cell.c -- cell framing, headers and command numbers (tor-spec.txt
 * section 3, and 4.1 for circuit id widths).  See
 * include/allium/core/cell/cell.h. */
#include "allium/core/cell/cell.h"
#include "allium/lib/bytes/bytes.h"

#include <string.h>

const char *
cell_err_name(int err)
{
  switch (err) {
  case CELL_OK: return "OK";
  case CELL_ERR_TRUNCATED: return "TRUNCATED";
  case CELL_ERR_TRAILING: return "TRAILING";
  case CELL_ERR_LENGTH: return "LENGTH";
  case CELL_ERR_VALUE: return "VALUE";
  case CELL_ERR_TOO_MANY: return "TOO_MANY";
  case CELL_ERR_SPACE: return "SPACE";
  case CELL_ERR_DUPLICATE: return "DUPLICATE";
  case CELL_ERR_UNSUPPORTED: return "UNSUPPORTED";
  case CELL_ERR_AUTH: return "AUTH";
  default: return "UNKNOWN";
  }
}

const char *
cell_command_name(uint8_t cmd)
{
  switch (cmd) {
  case CELL_PADDING: return "PADDING";
  case CELL_CREATE: return "CREATE";
  case CELL_CREATED: return "CREATED";
  case CELL_RELAY: return "RELAY";
  case CELL_DESTROY: return "DESTROY";
  case CELL_CREATE_FAST: return "CREATE_FAST";
  case CELL_CREATED_FAST: return "CREATED_FAST";
  case CELL_VERSIONS: return "VERSIONS";
  case CELL_NETINFO: return "NETINFO";
  case CELL_RELAY_EARLY: return "RELAY_EARLY";
  case CELL_CREATE2: return "CREATE2";
  case CELL_CREATED2: return "CREATED2";
  case CELL_PADDING_NEGOTIATE: return "PADDING_NEGOTIATE";
  case CELL_VPADDING: return "VPADDING";
  case CELL_CERTS: return "CERTS";
  case CELL_AUTH_CHALLENGE: return "AUTH_CHALLENGE";
  case CELL_AUTHENTICATE: return "AUTHENTICATE";
  case CELL_AUTHORIZE: return "AUTHORIZE";
  default: return NULL;
  }
}

bool
cell_command_is_var(uint8_t cmd, unsigned linkproto)
{
  switch (linkproto) {
  case 1:
    return false;          /* v1 has no variable-length cells */
  case 2:
    return cmd == CELL_VERSIONS;
  default:                 /* unnegotiated, or v3 and later */
    return cmd == CELL_VERSIONS || cmd >= 128;
  }
}

size_t
cell_circid_len(unsigned linkproto)
{
  return linkproto >= 4 ? 4 : 2;
}

int
cell_header_decode(cell_header_t *h, const uint8_t *buf, size_t len,
                   unsigned linkproto, size_t *hdr_len)
{
  bytes_reader_t r;
  bytes_reader_init(&r, buf, len);
  memset(h, 0, sizeof(*h));
  if (cell_circid_len(linkproto) == 4)
    h->circ_id = bytes_get_u32(&r);
  else
    h->circ_id = bytes_get_u16(&r);
  h->command = bytes_get_u8(&r);
  h->is_var = cell_command_is_var(h->command, linkproto);
  if (h->is_var)
    h->payload_len = bytes_get_u16(&r);
  else
    h->payload_len = CELL_PAYLOAD_LEN;
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  if (hdr_len)
    *hdr_len = r.pos;
  return CELL_OK;
}

int
cell_header_encode(const cell_header_t *h, unsigned linkproto, uint8_t *out,
                   size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out, outlen);
  if (cell_circid_len(linkproto) == 4) {
    bytes_put_u32(&w, h->circ_id);
  } else {
    if (h->circ_id > 0xffff)
      return CELL_ERR_VALUE;
    bytes_put_u16(&w, (uint16_t)h->circ_id);
  }
  bytes_put_u8(&w, h->command);
  if (cell_command_is_var(h->command, linkproto))
    bytes_put_u16(&w, h->payload_len);
  if (bytes_writer_failed(&w))
    return CELL_ERR_SPACE;
  if (len_out)
    *len_out = bytes_writer_len(&w);
  return CELL_OK;
}

cell_frame_t
cell_frame_next(const uint8_t *buf, size_t len, unsigned linkproto, size_t *n)
{
  if (linkproto > 0xffff) {
    *n = 0;
    return CELL_FRAME_ERROR;
  }
  size_t idlen = cell_circid_len(linkproto);
  if (len < idlen + 1) {
    *n = idlen + 1 - len;
    return CELL_FRAME_NEED_MORE;
  }
  size_t total;
  if (cell_command_is_var(buf[idlen], linkproto)) {
    if (len < idlen + 3) {
      *n = idlen + 3 - len;
      return CELL_FRAME_NEED_MORE;
    }
    total = idlen + 3 + (((size_t)buf[idlen + 1] << 8) | buf[idlen + 2]);
  } else {
    total = idlen + 1 + CELL_PAYLOAD_LEN;
  }
  if (len < total) {
    *n = total - len;
    return CELL_FRAME_NEED_MORE;
  }
  *n = total;
  return CELL_FRAME_CELL;
}

int
cell_decode(cell_t *c, const uint8_t *buf, size_t len, unsigned linkproto,
            size_t *consumed)
{
  cell_header_t h;
  size_t hl = 0;
  memset(c, 0, sizeof(*c));
  if (linkproto > 0xffff)
    return CELL_ERR_UNSUPPORTED;
  int rv = cell_header_decode(&h, buf, len, linkproto, &hl);
  if (rv < 0)
    return rv;
  if (len - hl < h.payload_len)
    return CELL_ERR_TRUNCATED;
  c->circ_id = h.circ_id;
  c->command = h.command;
  c->payload_len = h.payload_len;
  c->payload = buf + hl;
  if (consumed)
    *consumed = hl + h.payload_len;
  return CELL_OK;
}

size_t
cell_encoded_len(uint8_t cmd, size_t payload_len, unsigned linkproto)
{
  size_t idlen = cell_circid_len(linkproto);
  if (cell_command_is_var(cmd, linkproto))
    return idlen + 3 + payload_len;
  return idlen + 1 + CELL_PAYLOAD_LEN;
}

int
cell_encode(const cell_t *c, unsigned linkproto, uint8_t *out, size_t outlen,
            size_t *len_out)
{
  bool var = cell_command_is_var(c->command, linkproto);
  if (!var && c->payload_len > CELL_PAYLOAD_LEN)
    return CELL_ERR_SPACE;
  if (c->payload_len && !c->payload)
    return CELL_ERR_VALUE;
  cell_header_t h = {
    .circ_id = c->circ_id, .command = c->command, .is_var = var,
    .payload_len = c->payload_len,
  };
  size_t hl = 0;
  int rv = cell_header_encode(&h, linkproto, out, outlen, &hl);
  if (rv < 0)
    return rv;
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out + hl, outlen - hl);
  bytes_put_bytes(&w, c->payload, c->payload_len);
  if (!var)
    bytes_put_zeros(&w, CELL_PAYLOAD_LEN - c->payload_len);
  if (bytes_writer_failed(&w))
    return CELL_ERR_SPACE;
  if (len_out)
    *len_out = hl + bytes_writer_len(&w);
  return CELL_OK;
}
