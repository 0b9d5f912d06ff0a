/* fuzz_cell.c -- fuzz target for the sans-IO cell codecs (src/core/cell).
 *
 * Input: byte 0 picks the link protocol (bit 0: 4 or 5; bit 1: read the
 * first cell as before negotiation, with 2-byte circuit ids), the rest is a
 * stream of cells.  Each framed cell is decoded and re-encoded (must give
 * the same bytes), its payload is fed to every cell-payload decoder, and
 * its first 509 bytes are read as a relay payload whose body goes to every
 * relay-message decoder.  Every successful decode is re-encoded; the
 * encoding must decode again and re-encode to identical bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/link_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/cell/relay_msg.h"

#include "../fuzzing.h"

#define OUT_MAX 65536

static uint8_t out1[OUT_MAX];
static uint8_t out2[OUT_MAX];

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_cell: %s\n", what);
  abort();
}

/* Check enc(dec(out1[0..n1))) == out1[0..n1). */
#define CHECK_STABLE(type, dec, enc, n1)                                  \
  do {                                                                    \
    static type again;                                                    \
    size_t n2_ = 0;                                                       \
    if (dec(&again, out1, (n1)) != CELL_OK)                               \
      fail(#dec " rejects its own encoding");                             \
    if (enc(&again, out2, OUT_MAX, &n2_) != CELL_OK)                      \
      fail(#enc " fails on re-decoded value");                            \
    if (n2_ != (n1) || memcmp(out1, out2, (n1)) != 0)                     \
      fail(#enc " not stable");                                           \
  } while (0)

/* Decode p[0..n); if that works, re-encode and check stability.  The only
 * allowed encode failure is CELL_ERR_SPACE (e.g. BEGIN gains FLAGS). */
#define ROUNDTRIP(type, dec, enc, p, n)                                   \
  do {                                                                    \
    static type m_;                                                       \
    size_t n1_ = 0;                                                       \
    if (dec(&m_, (p), (n)) == CELL_OK) {                                  \
      int rv_ = enc(&m_, out1, OUT_MAX, &n1_);                            \
      if (rv_ == CELL_OK)                                                 \
        CHECK_STABLE(type, dec, enc, n1_);                                \
      else if (rv_ != CELL_ERR_SPACE)                                     \
        fail(#enc " failed on a decoded value");                          \
    }                                                                     \
  } while (0)

static void
fuzz_payload(const uint8_t *p, size_t n)
{
  ROUNDTRIP(cell_versions_t, cell_versions_decode, cell_versions_encode, p, n);
  ROUNDTRIP(cell_certs_t, cell_certs_decode, cell_certs_encode, p, n);
  ROUNDTRIP(cell_auth_challenge_t, cell_auth_challenge_decode,
            cell_auth_challenge_encode, p, n);
  ROUNDTRIP(cell_authenticate_t, cell_authenticate_decode,
            cell_authenticate_encode, p, n);
  ROUNDTRIP(cell_netinfo_t, cell_netinfo_decode, cell_netinfo_encode, p, n);
  ROUNDTRIP(cell_padding_negotiate_t, cell_padding_negotiate_decode,
            cell_padding_negotiate_encode, p, n);
  ROUNDTRIP(cell_create2_t, cell_create2_decode, cell_create2_encode, p, n);
  ROUNDTRIP(cell_created2_t, cell_created2_decode, cell_created2_encode, p, n);
  ROUNDTRIP(cell_create_fast_t, cell_create_fast_decode,
            cell_create_fast_encode, p, n);
  ROUNDTRIP(cell_created_fast_t, cell_created_fast_decode,
            cell_created_fast_encode, p, n);
  uint8_t reason;
  size_t k;
  if (cell_destroy_decode(&reason, p, n) == CELL_OK) {
    if (cell_destroy_encode(reason, out1, OUT_MAX, &k) != CELL_OK ||
        k != 1 || out1[0] != p[0])
      fail("destroy");
  }
  static cell_versions_t v;
  if (cell_versions_decode(&v, p, n) == CELL_OK)
    (void)cell_versions_choose(&v);
}

static void
fuzz_relay_body(const uint8_t *b, size_t n)
{
  ROUNDTRIP(relay_begin_t, relay_begin_decode, relay_begin_encode, b, n);
  ROUNDTRIP(relay_connected_t, relay_connected_decode, relay_connected_encode,
            b, n);
  ROUNDTRIP(relay_end_t, relay_end_decode, relay_end_encode, b, n);
  ROUNDTRIP(relay_resolve_t, relay_resolve_decode, relay_resolve_encode, b, n);
  ROUNDTRIP(relay_resolved_t, relay_resolved_decode, relay_resolved_encode,
            b, n);
  ROUNDTRIP(relay_sendme_t, relay_sendme_decode, relay_sendme_encode, b, n);
  ROUNDTRIP(relay_extend2_t, relay_extend2_decode, relay_extend2_encode, b, n);
  ROUNDTRIP(relay_extended2_t, relay_extended2_decode, relay_extended2_encode,
            b, n);
  ROUNDTRIP(relay_data_t, relay_data_decode, relay_data_encode, b, n);
  uint8_t reason;
  size_t k;
  if (relay_truncated_decode(&reason, b, n) == CELL_OK) {
    if (relay_truncated_encode(reason, out1, OUT_MAX, &k) != CELL_OK ||
        k != 1 || relay_truncated_decode(&reason, out1, k) != CELL_OK)
      fail("truncated");
  }
  (void)relay_truncate_decode(b, n);
  (void)relay_begin_dir_decode(b, n);
}

static void
fuzz_relay_payload(const uint8_t *p)
{
  relay_header_t h;
  const uint8_t *body;
  if (relay_cell_unpack(&h, &body, p) != CELL_OK)
    return;
  (void)relay_command_name(h.command);
  uint8_t again[CELL_PAYLOAD_LEN];
  if (relay_cell_pack(again, &h, body, h.length, NULL) != CELL_OK)
    fail("relay_cell_pack");
  if (memcmp(again, p, RELAY_HEADER_LEN + h.length) != 0)
    fail("relay header not stable");
  fuzz_relay_body(body, h.length);
}

static void
fuzz_one_cell(const uint8_t *buf, size_t n, unsigned lp)
{
  cell_t c;
  size_t used = 0, olen = 0;
  if (cell_decode(&c, buf, n, lp, &used) != CELL_OK || used != n)
    fail("framed cell does not decode");
  (void)cell_command_name(c.command);
  if (cell_encode(&c, lp, out1, OUT_MAX, &olen) != CELL_OK)
    fail("cell_encode");
  if (olen != n || memcmp(out1, buf, n) != 0)
    fail("cell not stable");
  fuzz_payload(c.payload, c.payload_len);
  if (c.payload_len >= CELL_PAYLOAD_LEN)
    fuzz_relay_payload(c.payload);
}

int
fuzz_init(void)
{
  return 0;
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  unsigned lp = (data[0] & 1) ? 5 : 4;
  unsigned cur = (data[0] & 2) ? CELL_LINKPROTO_UNNEGOTIATED : lp;
  size_t pos = 1;
  while (pos < len) {
    size_t n = 0;
    cell_frame_t f = cell_frame_next(data + pos, len - pos, cur, &n);
    if (f == CELL_FRAME_ERROR)
      fail("frame error");
    if (f == CELL_FRAME_NEED_MORE) {
      cell_t c;
      if (n == 0 || cell_decode(&c, data + pos, len - pos, cur, NULL) !=
                        CELL_ERR_TRUNCATED)
        fail("need-more disagrees with decode");
      /* leftover bytes: still feed them to the payload decoders */
      fuzz_payload(data + pos, len - pos);
      fuzz_relay_body(data + pos, len - pos);
      break;
    }
    fuzz_one_cell(data + pos, n, cur);
    pos += n;
    cur = lp;
  }
  return 0;
}
