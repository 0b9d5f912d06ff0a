/* test_relay_cell.c -- relay header and payload framing
 * (src/core/cell/relay_cell.c, tor-spec.txt 6.1). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/relay_cell.h"
#include "cell_test_util.h"

static void
fake_rng(void *out, size_t n)
{
  memset(out, 0x5a, n);
}

Test(relay_cell, names)
{
  cr_assert_str_eq(relay_command_name(RELAY_BEGIN), "BEGIN");
  cr_assert_str_eq(relay_command_name(14), "EXTEND2");
  cr_assert_str_eq(relay_command_name(15), "EXTENDED2");
  cr_assert_str_eq(relay_command_name(40), "INTRODUCE_ACK");
  cr_assert_str_eq(relay_command_name(43), "XOFF");
  cr_assert_str_eq(relay_command_name(44), "XON");
  cr_assert_null(relay_command_name(0));
  cr_assert_null(relay_command_name(23));
  cr_assert_null(relay_command_name(45));
  cr_assert_str_eq(relay_end_reason_name(4), "EXITPOLICY");
  cr_assert_str_eq(relay_end_reason_name(14), "NOTDIRECTORY");
  cr_assert_null(relay_end_reason_name(0));
  cr_assert_null(relay_end_reason_name(15));
}

Test(relay_cell, pack_layout)
{
  relay_header_t h = { .command = RELAY_DATA, .recognized = 0,
                       .stream_id = 0x1234,
                       .digest = { 0xde, 0xad, 0xbe, 0xef },
                       .length = 999 /* replaced */ };
  static const uint8_t body[] = { 'h', 'i', '!' };
  uint8_t pl[CELL_PAYLOAD_LEN];
  cr_assert_eq(relay_cell_pack(pl, &h, body, 3, fake_rng), CELL_OK);
  static const uint8_t want[] = { 2, 0, 0, 0x12, 0x34, 0xde, 0xad, 0xbe,
                                  0xef, 0, 3, 'h', 'i', '!', 0, 0, 0, 0 };
  cr_assert_arr_eq(pl, want, sizeof(want));
  for (size_t i = sizeof(want); i < CELL_PAYLOAD_LEN; i++)
    cr_assert_eq(pl[i], 0x5a);

  relay_header_t g;
  const uint8_t *b;
  cr_assert_eq(relay_cell_unpack(&g, &b, pl), CELL_OK);
  cr_assert_eq(g.command, RELAY_DATA);
  cr_assert_eq(g.stream_id, 0x1234);
  cr_assert_eq(g.length, 3);
  cr_assert_arr_eq(g.digest, h.digest, 4);
  cr_assert_eq(b, pl + RELAY_HEADER_LEN);

  /* no rng: zeros */
  cr_assert_eq(relay_cell_pack(pl, &h, body, 3, NULL), CELL_OK);
  for (size_t i = 14; i < CELL_PAYLOAD_LEN; i++)
    cr_assert_eq(pl[i], 0);
}

Test(relay_cell, pack_limits)
{
  relay_header_t h = { .command = RELAY_DATA, .stream_id = 1 };
  uint8_t body[RELAY_BODY_MAX + 1];
  memset(body, 0x11, sizeof(body));
  uint8_t pl[CELL_PAYLOAD_LEN];
  cr_assert_eq(relay_cell_pack(pl, &h, body, RELAY_BODY_MAX + 1, fake_rng),
               CELL_ERR_SPACE);
  cr_assert_eq(relay_cell_pack(pl, &h, body, RELAY_BODY_MAX, fake_rng),
               CELL_OK);
  cr_assert_eq(pl[CELL_PAYLOAD_LEN - 1], 0x11);
  /* fewer than 4 padding bytes: all zero */
  cr_assert_eq(relay_cell_pack(pl, &h, body, RELAY_BODY_MAX - 2, fake_rng),
               CELL_OK);
  cr_assert_eq(pl[CELL_PAYLOAD_LEN - 1], 0);
  cr_assert_eq(pl[CELL_PAYLOAD_LEN - 2], 0);
  cr_assert_eq(pl[CELL_PAYLOAD_LEN - 3], 0x11);
  cr_assert_eq(relay_cell_pack(pl, &h, body, RELAY_BODY_MAX - 5, fake_rng),
               CELL_OK);
  cr_assert_eq(pl[CELL_PAYLOAD_LEN - 1], 0x5a);
  cr_assert_eq(pl[CELL_PAYLOAD_LEN - 2], 0);
  cr_assert_eq(relay_cell_pack(pl, &h, NULL, 1, NULL), CELL_ERR_VALUE);

  relay_header_t g;
  const uint8_t *b;
  pl[9] = 0x01;
  pl[10] = 0xf3;  /* 499 */
  cr_assert_eq(relay_cell_unpack(&g, &b, pl), CELL_ERR_LENGTH);
  cr_assert_null(b);
  pl[10] = 0xf2;  /* 498 */
  cr_assert_eq(relay_cell_unpack(&g, &b, pl), CELL_OK);
}
