/* test_cell.c -- cell framing, headers and command tables
 * (src/core/cell/cell.c, tor-spec.txt section 3). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "cell_test_util.h"

Test(cell, command_names)
{
  cr_assert_str_eq(cell_command_name(CELL_PADDING), "PADDING");
  cr_assert_str_eq(cell_command_name(3), "RELAY");
  cr_assert_str_eq(cell_command_name(7), "VERSIONS");
  cr_assert_str_eq(cell_command_name(9), "RELAY_EARLY");
  cr_assert_str_eq(cell_command_name(12), "PADDING_NEGOTIATE");
  cr_assert_str_eq(cell_command_name(129), "CERTS");
  cr_assert_str_eq(cell_command_name(132), "AUTHORIZE");
  cr_assert_null(cell_command_name(13));
  cr_assert_null(cell_command_name(133));
  cr_assert_str_eq(cell_err_name(CELL_ERR_TRAILING), "TRAILING");
  cr_assert_str_eq(cell_err_name(-99), "UNKNOWN");
}

Test(cell, is_var)
{
  for (unsigned lp = 0; lp <= 6; lp++) {
    cr_assert_eq(cell_command_is_var(CELL_VERSIONS, lp), lp != 1);
    cr_assert_not(cell_command_is_var(CELL_RELAY, lp));
    cr_assert_not(cell_command_is_var(CELL_NETINFO, lp));
    cr_assert_eq(cell_command_is_var(CELL_CERTS, lp), lp != 1 && lp != 2);
    cr_assert_eq(cell_command_is_var(255, lp), lp != 1 && lp != 2);
  }
  cr_assert_eq(cell_circid_len(CELL_LINKPROTO_UNNEGOTIATED), 2);
  cr_assert_eq(cell_circid_len(3), 2);
  cr_assert_eq(cell_circid_len(4), 4);
  cr_assert_eq(cell_circid_len(5), 4);
}

/* A VERSIONS cell as the spec lays it out: CircID 0 (2 bytes), command 7,
 * length 4, versions 4 and 5. */
static const uint8_t VERSIONS_WIRE[] = { 0x00, 0x00, 0x07, 0x00, 0x04,
                                         0x00, 0x04, 0x00, 0x05 };

Test(cell, frame_versions_unnegotiated)
{
  size_t n = 0;
  for (size_t k = 0; k < sizeof(VERSIONS_WIRE); k++) {
    cr_assert_eq(cell_frame_next(VERSIONS_WIRE, k, 0, &n),
                 CELL_FRAME_NEED_MORE);
    cr_assert_gt(n, 0);
    cr_assert_leq(k + n, sizeof(VERSIONS_WIRE));
  }
  cr_assert_eq(cell_frame_next(VERSIONS_WIRE, 3, 0, &n), CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 2);
  cr_assert_eq(cell_frame_next(VERSIONS_WIRE, 5, 0, &n), CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 4);
  uint8_t buf[32];
  memcpy(buf, VERSIONS_WIRE, sizeof(VERSIONS_WIRE));
  cr_assert_eq(cell_frame_next(buf, sizeof(buf), 0, &n), CELL_FRAME_CELL);
  cr_assert_eq(n, sizeof(VERSIONS_WIRE));

  cell_t c;
  size_t used = 0;
  cr_assert_eq(cell_decode(&c, buf, sizeof(buf), 0, &used), CELL_OK);
  cr_assert_eq(used, 9);
  cr_assert_eq(c.command, CELL_VERSIONS);
  cr_assert_eq(c.circ_id, 0);
  cr_assert_eq(c.payload_len, 4);
  cr_assert_eq(c.payload, buf + 5);

  uint8_t out[32];
  size_t olen = 0;
  cr_assert_eq(cell_encode(&c, 0, out, sizeof(out), &olen), CELL_OK);
  cr_assert_eq(olen, sizeof(VERSIONS_WIRE));
  cr_assert_arr_eq(out, VERSIONS_WIRE, olen);
  cr_assert_eq(cell_encode(&c, 0, out, olen - 1, &olen), CELL_ERR_SPACE);
}

Test(cell, frame_fixed_v4)
{
  uint8_t buf[CELL_MAX_NETWORK_SIZE + 3];
  memset(buf, 0xab, sizeof(buf));
  buf[0] = 0x80; buf[1] = 0; buf[2] = 0; buf[3] = 1;
  buf[4] = CELL_RELAY;
  size_t n;
  cr_assert_eq(cell_frame_next(buf, 4, 4, &n), CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 1);
  cr_assert_eq(cell_frame_next(buf, 5, 4, &n), CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 509);
  cr_assert_eq(cell_frame_next(buf, 513, 4, &n), CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 1);
  cr_assert_eq(cell_frame_next(buf, 514, 4, &n), CELL_FRAME_CELL);
  cr_assert_eq(n, 514);
  cr_assert_eq(cell_frame_next(buf, sizeof(buf), 5, &n), CELL_FRAME_CELL);
  cr_assert_eq(n, 514);
  cr_assert_eq(cell_frame_next(buf, sizeof(buf), 70000, &n),
               CELL_FRAME_ERROR);

  cell_t c;
  size_t used;
  cr_assert_eq(cell_decode(&c, buf, 513, 4, &used), CELL_ERR_TRUNCATED);
  cr_assert_eq(cell_decode(&c, buf, 514, 4, &used), CELL_OK);
  cr_assert_eq(c.circ_id, 0x80000001u);
  cr_assert_eq(c.payload_len, CELL_PAYLOAD_LEN);
  cr_assert_eq(used, 514);
  /* 2-byte circ ids before negotiation */
  cr_assert_eq(cell_decode(&c, buf, 514, 0, &used), CELL_OK);
  cr_assert_eq(c.circ_id, 0x8000);
  cr_assert_eq(c.command, 0);
  cr_assert_eq(used, 512);
}

Test(cell, var_cell_v4)
{
  /* CERTS, circ 0, 4-byte id, length 3 */
  static const uint8_t wire[] = { 0, 0, 0, 0, 129, 0, 3, 0xa, 0xb, 0xc };
  size_t n;
  cr_assert_eq(cell_frame_next(wire, sizeof(wire), 4, &n), CELL_FRAME_CELL);
  cr_assert_eq(n, sizeof(wire));
  cr_assert_eq(cell_frame_next(wire, 6, 4, &n), CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 1);
  cr_assert_eq(cell_frame_next(wire, 7, 4, &n), CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 3);
  cell_t c;
  for (size_t k = 0; k < sizeof(wire); k++)
    cr_assert_eq(cell_decode(&c, wire, k, 4, NULL), CELL_ERR_TRUNCATED);
  cr_assert_eq(cell_decode(&c, wire, sizeof(wire), 4, NULL), CELL_OK);
  cr_assert_eq(c.payload_len, 3);
  cr_assert_eq(cell_encoded_len(129, 3, 4), sizeof(wire));
  uint8_t out[16];
  size_t olen;
  cr_assert_eq(cell_encode(&c, 4, out, sizeof(out), &olen), CELL_OK);
  cr_assert_eq(olen, sizeof(wire));
  cr_assert_arr_eq(out, wire, olen);
}

Test(cell, encode_fixed_pads)
{
  static const uint8_t pl[] = { 1, 2, 3 };
  cell_t c = { .circ_id = 0x12345678, .command = CELL_DESTROY,
               .payload_len = 3, .payload = pl };
  uint8_t out[CELL_MAX_NETWORK_SIZE];
  size_t olen = 0;
  memset(out, 0xee, sizeof(out));
  cr_assert_eq(cell_encode(&c, 5, out, sizeof(out), &olen), CELL_OK);
  cr_assert_eq(olen, 514);
  static const uint8_t head[] = { 0x12, 0x34, 0x56, 0x78, 4, 1, 2, 3 };
  cr_assert_arr_eq(out, head, sizeof(head));
  for (size_t i = sizeof(head); i < olen; i++)
    cr_assert_eq(out[i], 0);
  cr_assert_eq(cell_encode(&c, 5, out, 513, &olen), CELL_ERR_SPACE);
  /* circ id too wide for a 2-byte link */
  cr_assert_eq(cell_encode(&c, 3, out, sizeof(out), &olen), CELL_ERR_VALUE);
  c.payload_len = 510;
  cr_assert_eq(cell_encode(&c, 5, out, sizeof(out), &olen), CELL_ERR_SPACE);
  c.payload_len = 1;
  c.payload = NULL;
  cr_assert_eq(cell_encode(&c, 5, out, sizeof(out), &olen), CELL_ERR_VALUE);
}

Test(cell, header_roundtrip)
{
  cell_header_t h = { .circ_id = 7, .command = CELL_VPADDING,
                      .payload_len = 300 };
  uint8_t out[8];
  size_t n = 0, hl = 0;
  cr_assert_eq(cell_header_encode(&h, 4, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 7);
  cell_header_t g;
  cr_assert_eq(cell_header_decode(&g, out, n, 4, &hl), CELL_OK);
  cr_assert_eq(hl, 7);
  cr_assert(g.is_var);
  cr_assert_eq(g.payload_len, 300);
  cr_assert_eq(g.circ_id, 7);
  for (size_t k = 0; k < n; k++)
    cr_assert_eq(cell_header_decode(&g, out, k, 4, &hl), CELL_ERR_TRUNCATED);
  cr_assert_eq(cell_header_encode(&h, 4, out, 6, &n), CELL_ERR_SPACE);
}

/* Walk a buffer of several cells the way the link layer will. */
Test(cell, frame_stream)
{
  uint8_t buf[2 * CELL_MAX_NETWORK_SIZE + 16];
  size_t off = 0, n;
  static const uint8_t pl[] = { 9 };
  cell_t a = { .circ_id = 1, .command = CELL_PADDING };
  cell_t b = { .circ_id = 0, .command = CELL_VPADDING, .payload_len = 1,
               .payload = pl };
  cr_assert_eq(cell_encode(&a, 4, buf, sizeof(buf), &n), CELL_OK);
  off += n;
  cr_assert_eq(cell_encode(&b, 4, buf + off, sizeof(buf) - off, &n), CELL_OK);
  off += n;
  cr_assert_eq(cell_encode(&a, 4, buf + off, sizeof(buf) - off, &n), CELL_OK);
  off += n;
  size_t pos = 0, cells = 0;
  while (cell_frame_next(buf + pos, off - 5 - pos, 4, &n) == CELL_FRAME_CELL) {
    cell_t c;
    size_t used;
    cr_assert_eq(cell_decode(&c, buf + pos, n, 4, &used), CELL_OK);
    cr_assert_eq(used, n);
    pos += n;
    cells++;
  }
  cr_assert_eq(cells, 2);
  cr_assert_eq(cell_frame_next(buf + pos, off - 5 - pos, 4, &n),
               CELL_FRAME_NEED_MORE);
  cr_assert_eq(n, 5);
}
