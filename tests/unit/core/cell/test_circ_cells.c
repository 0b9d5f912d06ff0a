/* test_circ_cells.c -- CREATE2/CREATED2, CREATE_FAST/CREATED_FAST and
 * DESTROY payloads (src/core/cell/circ_cells.c, tor-spec.txt 5.1, 5.4). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "cell_test_util.h"

static const size_t NONE_OK[] = { SIZE_MAX };

static int
dec_create2(const uint8_t *p, size_t n)
{
  cell_create2_t c;
  return cell_create2_decode(&c, p, n);
}

static int
dec_created2(const uint8_t *p, size_t n)
{
  cell_created2_t c;
  return cell_created2_decode(&c, p, n);
}

static int
dec_create_fast(const uint8_t *p, size_t n)
{
  cell_create_fast_t c;
  return cell_create_fast_decode(&c, p, n);
}

static int
dec_created_fast(const uint8_t *p, size_t n)
{
  cell_created_fast_t c;
  return cell_created_fast_decode(&c, p, n);
}

Test(circ_cells, create2_ntor_wire)
{
  /* A full 509-byte payload: HTYPE 2, HLEN 84, HDATA, zero padding. */
  uint8_t payload[CELL_PAYLOAD_LEN];
  memset(payload, 0, sizeof(payload));
  payload[1] = 2;
  payload[3] = 84;
  for (int i = 0; i < 84; i++)
    payload[4 + i] = (uint8_t)(i + 1);
  cell_create2_t c;
  cr_assert_eq(cell_create2_decode(&c, payload, sizeof(payload)), CELL_OK);
  cr_assert_eq(c.htype, CELL_HTYPE_NTOR);
  cr_assert_eq(c.hlen, 84);
  cr_assert_eq(c.hdata, payload + 4);
  test_all_truncations_fail(dec_create2, payload, 88, NONE_OK);

  uint8_t out[CELL_PAYLOAD_LEN];
  size_t n;
  cr_assert_eq(cell_create2_encode(&c, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 88);
  cr_assert_arr_eq(out, payload, 88);
  cr_assert_eq(cell_create2_encode(&c, out, 87, &n), CELL_ERR_SPACE);

  /* ntor with the wrong length */
  payload[3] = 83;
  cr_assert_eq(cell_create2_decode(&c, payload, sizeof(payload)),
               CELL_ERR_LENGTH);
  /* HLEN beyond what a cell can hold */
  payload[1] = 3;
  payload[2] = 0x01;
  payload[3] = 0xfa;  /* 506 */
  cr_assert_eq(cell_create2_decode(&c, payload, sizeof(payload)),
               CELL_ERR_LENGTH);
  payload[3] = 0xf9;  /* 505: fits exactly */
  cr_assert_eq(cell_create2_decode(&c, payload, sizeof(payload)), CELL_OK);
  c.hlen = 506;
  cr_assert_eq(cell_create2_encode(&c, out, sizeof(out), &n), CELL_ERR_SPACE);
}

Test(circ_cells, created2)
{
  uint8_t hd[64];
  for (int i = 0; i < 64; i++)
    hd[i] = (uint8_t)(0xff - i);
  cell_created2_t c = { .hlen = 64, .hdata = hd }, d;
  uint8_t out[CELL_PAYLOAD_LEN];
  size_t n;
  cr_assert_eq(cell_created2_encode(&c, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 66);
  cr_assert_eq(out[0], 0);
  cr_assert_eq(out[1], 64);
  cr_assert_eq(cell_created2_decode(&d, out, n), CELL_OK);
  cr_assert_eq(d.hlen, 64);
  cr_assert_arr_eq(d.hdata, hd, 64);
  test_all_truncations_fail(dec_created2, out, n, NONE_OK);
  uint8_t big[] = { 0x01, 0xfc };  /* 508 > 507 */
  cr_assert_eq(cell_created2_decode(&d, big, 2), CELL_ERR_LENGTH);
  c.hlen = 508;
  cr_assert_eq(cell_created2_encode(&c, out, sizeof(out), &n),
               CELL_ERR_SPACE);
}

Test(circ_cells, fast)
{
  cell_create_fast_t a, a2;
  cell_created_fast_t b, b2;
  for (int i = 0; i < 20; i++) {
    a.x[i] = (uint8_t)i;
    b.y[i] = (uint8_t)(i + 20);
    b.kh[i] = (uint8_t)(i + 40);
  }
  uint8_t out[CELL_PAYLOAD_LEN];
  size_t n;
  cr_assert_eq(cell_create_fast_encode(&a, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 20);
  cr_assert_eq(cell_create_fast_decode(&a2, out, n), CELL_OK);
  cr_assert_arr_eq(a2.x, a.x, 20);
  test_all_truncations_fail(dec_create_fast, out, n, NONE_OK);
  cr_assert_eq(cell_created_fast_encode(&b, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 40);
  cr_assert_eq(out[39], 59);
  cr_assert_eq(cell_created_fast_decode(&b2, out, n), CELL_OK);
  cr_assert(memcmp(&b, &b2, sizeof(b)) == 0);
  test_all_truncations_fail(dec_created_fast, out, n, NONE_OK);
  cr_assert_eq(cell_created_fast_encode(&b, out, 39, &n), CELL_ERR_SPACE);
}

Test(circ_cells, destroy)
{
  uint8_t out[4], r = 99;
  size_t n;
  cr_assert_eq(cell_destroy_encode(CELL_DESTROY_CHANNEL_CLOSED, out, 4, &n),
               CELL_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(cell_destroy_decode(&r, out, n), CELL_OK);
  cr_assert_eq(r, 8);
  cr_assert_eq(cell_destroy_decode(&r, out, 0), CELL_ERR_TRUNCATED);
  cr_assert_eq(cell_destroy_encode(1, out, 0, &n), CELL_ERR_SPACE);
  cr_assert_str_eq(cell_destroy_reason_name(0), "NONE");
  cr_assert_str_eq(cell_destroy_reason_name(12), "NOSUCHSERVICE");
  cr_assert_null(cell_destroy_reason_name(13));
}
