/* test_link_cells.c -- VERSIONS, CERTS, AUTH_CHALLENGE, AUTHENTICATE,
 * NETINFO, PADDING_NEGOTIATE payloads (src/core/cell/link_cells.c,
 * tor-spec.txt 4.1-4.5, 7.2). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/link_cells.h"
#include "cell_test_util.h"

static const size_t NONE_OK[] = { SIZE_MAX };

/* ---- VERSIONS ---- */

static int
dec_versions(const uint8_t *p, size_t n)
{
  cell_versions_t v;
  return cell_versions_decode(&v, p, n);
}

Test(link_cells, versions)
{
  static const uint8_t wire[] = { 0, 3, 0, 4, 0, 5 };
  cell_versions_t v;
  cr_assert_eq(cell_versions_decode(&v, wire, sizeof(wire)), CELL_OK);
  cr_assert_eq(v.n, 3);
  cr_assert_eq(v.versions[2], 5);
  cr_assert_eq(cell_versions_choose(&v), 5);
  v.n = 2;
  cr_assert_eq(cell_versions_choose(&v), 4);
  v.n = 1;
  cr_assert_eq(cell_versions_choose(&v), 0);
  /* odd length rejected; each even prefix is a valid list */
  cr_assert_eq(cell_versions_decode(&v, wire, 5), CELL_ERR_LENGTH);
  cr_assert_eq(test_decode_copy(dec_versions, wire, 0), CELL_OK);

  cell_versions_set_ours(&v);
  uint8_t out[16];
  size_t n = 0;
  cr_assert_eq(cell_versions_encode(&v, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 4);
  cr_assert_arr_eq(out, wire + 2, 4);
  cr_assert_eq(cell_versions_encode(&v, out, 3, &n), CELL_ERR_SPACE);

  uint8_t big[2 * CELL_VERSIONS_MAX + 2];
  memset(big, 0, sizeof(big));
  cr_assert_eq(cell_versions_decode(&v, big, sizeof(big)), CELL_ERR_TOO_MANY);
  cr_assert_eq(cell_versions_decode(&v, big, sizeof(big) - 2), CELL_OK);
  v.n = CELL_VERSIONS_MAX + 1;
  cr_assert_eq(cell_versions_encode(&v, out, sizeof(out), &n),
               CELL_ERR_TOO_MANY);
}

/* ---- CERTS ---- */

static int
dec_certs(const uint8_t *p, size_t n)
{
  static cell_certs_t c;
  return cell_certs_decode(&c, p, n);
}

Test(link_cells, certs)
{
  /* N=2: type 4 len 3 "abc", type 2 len 0 */
  static const uint8_t wire[] = { 2, 4, 0, 3, 'a', 'b', 'c', 2, 0, 0 };
  static cell_certs_t c;
  cr_assert_eq(cell_certs_decode(&c, wire, sizeof(wire)), CELL_OK);
  cr_assert_eq(c.n, 2);
  cr_assert_eq(c.certs[0].type, 4);
  cr_assert_eq(c.certs[0].len, 3);
  cr_assert_eq(c.certs[0].body, wire + 4);
  cr_assert_eq(cell_certs_find(&c, 2), &c.certs[1]);
  cr_assert_null(cell_certs_find(&c, 7));
  test_all_truncations_fail(dec_certs, wire, sizeof(wire), NONE_OK);

  uint8_t out[32];
  size_t n;
  cr_assert_eq(cell_certs_encode(&c, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, sizeof(wire));
  cr_assert_arr_eq(out, wire, n);
  cr_assert_eq(cell_certs_encode(&c, out, n - 1, &n), CELL_ERR_SPACE);

  /* extra bytes ignored */
  uint8_t extra[sizeof(wire) + 3];
  memcpy(extra, wire, sizeof(wire));
  memset(extra + sizeof(wire), 0x55, 3);
  cr_assert_eq(test_decode_copy(dec_certs, extra, sizeof(extra)), CELL_OK);

  /* duplicate type */
  static const uint8_t dup[] = { 2, 4, 0, 0, 4, 0, 0 };
  cr_assert_eq(cell_certs_decode(&c, dup, sizeof(dup)), CELL_ERR_DUPLICATE);
  /* CLEN larger than the rest */
  static const uint8_t over[] = { 1, 4, 0xff, 0xff, 1, 2, 3 };
  cr_assert_eq(cell_certs_decode(&c, over, sizeof(over)), CELL_ERR_TRUNCATED);
  /* empty payload: N missing */
  cr_assert_eq(test_decode_copy(dec_certs, wire, 0), CELL_ERR_TRUNCATED);
}

/* ---- AUTH_CHALLENGE ---- */

static int
dec_authch(const uint8_t *p, size_t n)
{
  cell_auth_challenge_t a;
  return cell_auth_challenge_decode(&a, p, n);
}

Test(link_cells, auth_challenge)
{
  cell_auth_challenge_t a, b;
  memset(&a, 0, sizeof(a));
  for (int i = 0; i < 32; i++)
    a.challenge[i] = (uint8_t)i;
  a.n_methods = 2;
  a.methods[0] = 1;
  a.methods[1] = 3;
  uint8_t out[64];
  size_t n;
  cr_assert_eq(cell_auth_challenge_encode(&a, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 32 + 2 + 4);
  static const uint8_t tail[] = { 0, 2, 0, 1, 0, 3 };
  cr_assert_arr_eq(out + 32, tail, 6);
  cr_assert_eq(cell_auth_challenge_decode(&b, out, n), CELL_OK);
  cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
  cr_assert(cell_auth_challenge_has_method(&b, 3));
  cr_assert_not(cell_auth_challenge_has_method(&b, 2));
  test_all_truncations_fail(dec_authch, out, n, NONE_OK);
  cr_assert_eq(cell_auth_challenge_encode(&a, out, n - 1, &n), CELL_ERR_SPACE);

  /* too many methods */
  uint8_t big[34 + 2 * (CELL_AUTH_METHODS_MAX + 1)];
  memset(big, 0, sizeof(big));
  big[32] = 0;
  big[33] = CELL_AUTH_METHODS_MAX + 1;
  cr_assert_eq(cell_auth_challenge_decode(&b, big, sizeof(big)),
               CELL_ERR_TOO_MANY);
  a.n_methods = CELL_AUTH_METHODS_MAX + 1;
  cr_assert_eq(cell_auth_challenge_encode(&a, out, sizeof(out), &n),
               CELL_ERR_TOO_MANY);
}

/* ---- AUTHENTICATE ---- */

static int
dec_authn(const uint8_t *p, size_t n)
{
  cell_authenticate_t a;
  return cell_authenticate_decode(&a, p, n);
}

Test(link_cells, authenticate)
{
  static const uint8_t wire[] = { 0, 3, 0, 4, 'A', 'U', 'T', 'H', 0xff };
  cell_authenticate_t a;
  cr_assert_eq(cell_authenticate_decode(&a, wire, sizeof(wire)), CELL_OK);
  cr_assert_eq(a.auth_type, 3);
  cr_assert_eq(a.auth_len, 4);
  cr_assert_eq(a.auth, wire + 4);
  test_all_truncations_fail(dec_authn, wire, sizeof(wire) - 1, NONE_OK);
  uint8_t out[16];
  size_t n;
  cr_assert_eq(cell_authenticate_encode(&a, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 8);
  cr_assert_arr_eq(out, wire, 8);
}

/* ---- NETINFO ---- */

static int
dec_netinfo(const uint8_t *p, size_t n)
{
  cell_netinfo_t m;
  return cell_netinfo_decode(&m, p, n);
}

/* TIME=0x5f000000, OTHER=IPv4 127.0.0.1, 3 addresses: IPv6 ::1, an
 * unknown type 9 (skipped), IPv4 with a wrong ALEN (skipped). */
static const uint8_t NETINFO_WIRE[] = {
  0x5f, 0, 0, 0,
  4, 4, 127, 0, 0, 1,
  3,
  6, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  9, 2, 0xaa, 0xbb,
  4, 3, 1, 2, 3,
};

Test(link_cells, netinfo)
{
  cell_netinfo_t m, m2;
  cr_assert_eq(cell_netinfo_decode(&m, NETINFO_WIRE, sizeof(NETINFO_WIRE)),
               CELL_OK);
  cr_assert_eq(m.timestamp, 0x5f000000u);
  cr_assert_eq(m.other.type, CELL_ADDR_IPV4);
  cr_assert_eq(m.other.addr[0], 127);
  cr_assert_eq(m.other.addr[3], 1);
  cr_assert_eq(m.n_my, 1);
  cr_assert_eq(m.my[0].type, CELL_ADDR_IPV6);
  cr_assert_eq(m.my[0].addr[15], 1);
  test_all_truncations_fail(dec_netinfo, NETINFO_WIRE, sizeof(NETINFO_WIRE),
                            NONE_OK);

  uint8_t out[CELL_PAYLOAD_LEN];
  size_t n;
  cr_assert_eq(cell_netinfo_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 4 + 6 + 1 + 18);
  cr_assert_arr_eq(out, NETINFO_WIRE, 10);
  cr_assert_eq(out[10], 1);
  cr_assert_arr_eq(out + 11, NETINFO_WIRE + 11, 18);
  cr_assert_eq(cell_netinfo_decode(&m2, out, n), CELL_OK);
  cr_assert(memcmp(&m, &m2, sizeof(m)) == 0);
  test_all_truncations_fail(dec_netinfo, out, n, NONE_OK);

  /* unknown "other" type is dropped and re-encoded as 0/0 */
  uint8_t u[] = { 0, 0, 0, 1, 7, 1, 0xcc, 0 };
  cr_assert_eq(cell_netinfo_decode(&m, u, sizeof(u)), CELL_OK);
  cr_assert_eq(m.other.type, CELL_ADDR_NONE);
  cr_assert_eq(cell_netinfo_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 7);
  cr_assert_eq(out[4], 0);
  cr_assert_eq(out[5], 0);

  /* too many addresses for one cell payload */
  memset(&m, 0, sizeof(m));
  m.n_my = CELL_NETINFO_MAX_ADDRS;
  for (unsigned i = 0; i < m.n_my; i++)
    m.my[i].type = CELL_ADDR_IPV4;
  cr_assert_eq(cell_netinfo_encode(&m, out, sizeof(out), &n), CELL_ERR_SPACE);
  m.n_my = CELL_NETINFO_MAX_ADDRS + 1;
  cr_assert_eq(cell_netinfo_encode(&m, out, sizeof(out), &n),
               CELL_ERR_TOO_MANY);
  m.n_my = 1;
  m.my[0].type = 5;
  cr_assert_eq(cell_netinfo_encode(&m, out, sizeof(out), &n), CELL_ERR_VALUE);
  /* more recognised addresses than we hold (only in oversize input) */
  static uint8_t huge[7 + 6 * (CELL_NETINFO_MAX_ADDRS + 1)];
  memset(huge, 0, sizeof(huge));
  huge[6] = CELL_NETINFO_MAX_ADDRS + 1;
  for (unsigned i = 0; i <= CELL_NETINFO_MAX_ADDRS; i++) {
    huge[7 + 6 * i] = 4;
    huge[8 + 6 * i] = 4;
  }
  cr_assert_eq(cell_netinfo_decode(&m, huge, sizeof(huge)), CELL_ERR_TOO_MANY);
}

/* ---- PADDING_NEGOTIATE ---- */

static int
dec_padneg(const uint8_t *p, size_t n)
{
  cell_padding_negotiate_t pn;
  return cell_padding_negotiate_decode(&pn, p, n);
}

Test(link_cells, padding_negotiate)
{
  static const uint8_t wire[] = { 0, 2, 0x05, 0xdc, 0x23, 0x28 };
  cell_padding_negotiate_t pn;
  cr_assert_eq(cell_padding_negotiate_decode(&pn, wire, sizeof(wire)),
               CELL_OK);
  cr_assert_eq(pn.command, CELL_PADNEG_START);
  cr_assert_eq(pn.ito_low_ms, 1500);
  cr_assert_eq(pn.ito_high_ms, 9000);
  test_all_truncations_fail(dec_padneg, wire, sizeof(wire), NONE_OK);
  uint8_t out[8];
  size_t n;
  cr_assert_eq(cell_padding_negotiate_encode(&pn, out, sizeof(out), &n),
               CELL_OK);
  cr_assert_eq(n, 6);
  cr_assert_arr_eq(out, wire, 6);
  uint8_t bad[] = { 1, 2, 0, 0, 0, 0 };
  cr_assert_eq(cell_padding_negotiate_decode(&pn, bad, 6),
               CELL_ERR_UNSUPPORTED);
  bad[0] = 0;
  bad[1] = 3;
  cr_assert_eq(cell_padding_negotiate_decode(&pn, bad, 6), CELL_ERR_VALUE);
  pn.command = 0;
  cr_assert_eq(cell_padding_negotiate_encode(&pn, out, sizeof(out), &n),
               CELL_ERR_VALUE);
}
