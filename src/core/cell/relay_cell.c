/* relay_cell.c -- relay header and relay payload framing (tor-spec.txt
 * section 6.1), relay command and END reason names (6.1, 6.3).
 * See include/allium/core/cell/relay_cell.h. */
#include "allium/core/cell/relay_cell.h"
#include "allium/core/cell/cell.h"

#include <string.h>

const char *
relay_command_name(uint8_t cmd)
{
  switch (cmd) {
  case RELAY_BEGIN: return "BEGIN";
  case RELAY_DATA: return "DATA";
  case RELAY_END: return "END";
  case RELAY_CONNECTED: return "CONNECTED";
  case RELAY_SENDME: return "SENDME";
  case RELAY_EXTEND: return "EXTEND";
  case RELAY_EXTENDED: return "EXTENDED";
  case RELAY_TRUNCATE: return "TRUNCATE";
  case RELAY_TRUNCATED: return "TRUNCATED";
  case RELAY_DROP: return "DROP";
  case RELAY_RESOLVE: return "RESOLVE";
  case RELAY_RESOLVED: return "RESOLVED";
  case RELAY_BEGIN_DIR: return "BEGIN_DIR";
  case RELAY_EXTEND2: return "EXTEND2";
  case RELAY_EXTENDED2: return "EXTENDED2";
  case RELAY_CONNECT_UDP: return "CONNECT_UDP";
  case RELAY_CONNECTED_UDP: return "CONNECTED_UDP";
  case RELAY_DATAGRAM: return "DATAGRAM";
  case RELAY_CONFLUX_LINK: return "CONFLUX_LINK";
  case RELAY_CONFLUX_LINKED: return "CONFLUX_LINKED";
  case RELAY_CONFLUX_LINKED_ACK: return "CONFLUX_LINKED_ACK";
  case RELAY_CONFLUX_SWITCH: return "CONFLUX_SWITCH";
  case RELAY_ESTABLISH_INTRO: return "ESTABLISH_INTRO";
  case RELAY_ESTABLISH_RENDEZVOUS: return "ESTABLISH_RENDEZVOUS";
  case RELAY_INTRODUCE1: return "INTRODUCE1";
  case RELAY_INTRODUCE2: return "INTRODUCE2";
  case RELAY_RENDEZVOUS1: return "RENDEZVOUS1";
  case RELAY_RENDEZVOUS2: return "RENDEZVOUS2";
  case RELAY_INTRO_ESTABLISHED: return "INTRO_ESTABLISHED";
  case RELAY_RENDEZVOUS_ESTABLISHED: return "RENDEZVOUS_ESTABLISHED";
  case RELAY_INTRODUCE_ACK: return "INTRODUCE_ACK";
  case RELAY_PADDING_NEGOTIATE: return "PADDING_NEGOTIATE";
  case RELAY_PADDING_NEGOTIATED: return "PADDING_NEGOTIATED";
  case RELAY_XON: return "XON";
  case RELAY_XOFF: return "XOFF";
  default: return NULL;
  }
}

const char *
relay_end_reason_name(uint8_t reason)
{
  static const char *const names[] = {
    NULL, "MISC", "RESOLVEFAILED", "CONNECTREFUSED", "EXITPOLICY",
    "DESTROY", "DONE", "TIMEOUT", "NOROUTE", "HIBERNATING", "INTERNAL",
    "RESOURCELIMIT", "CONNRESET", "TORPROTOCOL", "NOTDIRECTORY",
  };
  if (reason < sizeof(names) / sizeof(names[0]))
    return names[reason];
  return NULL;
}

void
relay_header_pack(const relay_header_t *h, uint8_t out[RELAY_HEADER_LEN])
{
  out[0] = h->command;
  out[1] = (uint8_t)(h->recognized >> 8);
  out[2] = (uint8_t)h->recognized;
  out[3] = (uint8_t)(h->stream_id >> 8);
  out[4] = (uint8_t)h->stream_id;
  memcpy(out + RELAY_DIGEST_OFFSET, h->digest, RELAY_DIGEST_LEN);
  out[9] = (uint8_t)(h->length >> 8);
  out[10] = (uint8_t)h->length;
}

void
relay_header_unpack(relay_header_t *h, const uint8_t in[RELAY_HEADER_LEN])
{
  h->command = in[0];
  h->recognized = (uint16_t)((in[1] << 8) | in[2]);
  h->stream_id = (uint16_t)((in[3] << 8) | in[4]);
  memcpy(h->digest, in + RELAY_DIGEST_OFFSET, RELAY_DIGEST_LEN);
  h->length = (uint16_t)((in[9] << 8) | in[10]);
}

int
relay_cell_pack(uint8_t payload[CELL_PAYLOAD_LEN], const relay_header_t *h,
                const uint8_t *body, size_t body_len, relay_rng_fn rng)
{
  if (body_len > RELAY_BODY_MAX)
    return CELL_ERR_SPACE;
  if (body_len && !body)
    return CELL_ERR_VALUE;
  relay_header_t hh = *h;
  hh.length = (uint16_t)body_len;
  relay_header_pack(&hh, payload);
  if (body_len)
    memmove(payload + RELAY_HEADER_LEN, body, body_len);
  size_t used = RELAY_HEADER_LEN + body_len;
  size_t pad = CELL_PAYLOAD_LEN - used;
  size_t zeros = pad < 4 ? pad : 4;
  memset(payload + used, 0, zeros);
  if (pad > zeros) {
    if (rng)
      rng(payload + used + zeros, pad - zeros);
    else
      memset(payload + used + zeros, 0, pad - zeros);
  }
  return CELL_OK;
}

int
relay_cell_unpack(relay_header_t *h, const uint8_t **body,
                  const uint8_t payload[CELL_PAYLOAD_LEN])
{
  relay_header_unpack(h, payload);
  if (h->length > RELAY_BODY_MAX) {
    *body = NULL;
    return CELL_ERR_LENGTH;
  }
  *body = payload + RELAY_HEADER_LEN;
  return CELL_OK;
}
