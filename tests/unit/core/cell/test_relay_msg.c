/* test_relay_msg.c -- relay message bodies (src/core/cell/relay_msg.c and
 * relay_extend.c; tor-spec.txt 5.1.2, 5.4, 6.2-6.4, 7.3.1). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_msg.h"
#include "cell_test_util.h"

static const size_t NONE_OK[] = { SIZE_MAX };

/* ---- BEGIN ---- */

static int
dec_begin(const uint8_t *p, size_t n)
{
  relay_begin_t m;
  return relay_begin_decode(&m, p, n);
}

static const uint8_t BEGIN_WIRE[] = {
  'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', ':', '4', '4', '3',
  0, 0, 0, 0, 5,
};

Test(relay_msg, begin_wire)
{
  relay_begin_t m;
  cr_assert_eq(relay_begin_decode(&m, BEGIN_WIRE, sizeof(BEGIN_WIRE)),
               CELL_OK);
  cr_assert_str_eq(m.host, "example.com");
  cr_assert_eq(m.port, 443);
  cr_assert_eq(m.flags, RELAY_BEGIN_FLAG_IPV6_OK |
                        RELAY_BEGIN_FLAG_IPV6_PREFERRED);
  /* without FLAGS (16 bytes) is allowed */
  static const size_t ok[] = { 16, SIZE_MAX };
  test_all_truncations_fail(dec_begin, BEGIN_WIRE, sizeof(BEGIN_WIRE), ok);
  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_begin_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, sizeof(BEGIN_WIRE));
  cr_assert_arr_eq(out, BEGIN_WIRE, n);
  cr_assert_eq(relay_begin_encode(&m, out, n - 1, &n), CELL_ERR_SPACE);
}

Test(relay_msg, begin_ipv6_and_bad)
{
  relay_begin_t m, m2;
  memset(&m, 0, sizeof(m));
  strcpy(m.host, "2001:db8::1");
  m.port = 1;
  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_begin_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_str_eq((const char *)out, "[2001:db8::1]:1");
  cr_assert_eq(relay_begin_decode(&m2, out, n), CELL_OK);
  cr_assert(memcmp(&m, &m2, sizeof(m)) == 0);

  static const char *const bad[] = {
    "example.com", "example.com:", "example.com:0", "example.com:65536",
    "example.com:8a", ":", ":0", "[]:80", "a:b:80", "[1.2.3.4]:80",
    "example.com:123456", "[::1:80", "::1]:80", "example.com: 80",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    size_t l = strlen(bad[i]) + 1;
    cr_assert_lt(relay_begin_decode(&m2, (const uint8_t *)bad[i], l), 0,
                 "%s", bad[i]);
  }
  static const uint8_t good[] = "Example.COM:65535";
  cr_assert_eq(relay_begin_decode(&m2, good, sizeof(good)), CELL_OK);
  cr_assert_eq(m2.port, 65535);
  /* 1-3 bytes of flags, or bytes after flags */
  uint8_t buf[sizeof(BEGIN_WIRE) + 1];
  memcpy(buf, BEGIN_WIRE, sizeof(BEGIN_WIRE));
  buf[sizeof(BEGIN_WIRE)] = 0;
  cr_assert_eq(relay_begin_decode(&m2, buf, sizeof(buf)), CELL_ERR_TRAILING);
  /* no NUL */
  cr_assert_eq(relay_begin_decode(&m2, good, sizeof(good) - 1),
               CELL_ERR_TRUNCATED);
  /* an empty host: ":PORT" (BEGIN to an onion service) */
  m.host[0] = '\0';
  m.port = 80;
  m.flags = 0;
  cr_assert_eq(relay_begin_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 8);
  cr_assert_str_eq((const char *)out, ":80");
  cr_assert_eq(relay_begin_decode(&m2, out, n), CELL_OK);
  cr_assert_str_eq(m2.host, "");
  cr_assert_eq(m2.port, 80);
  /* encoder refuses bad hosts */
  strcpy(m.host, "x");
  m.port = 0;
  cr_assert_eq(relay_begin_encode(&m, out, sizeof(out), &n), CELL_ERR_VALUE);
  /* host too long for a body */
  memset(m.host, 'a', sizeof(m.host) - 1);
  m.host[sizeof(m.host) - 1] = '\0';
  m.port = 80;
  cr_assert_eq(relay_begin_encode(&m, out, sizeof(out), &n), CELL_ERR_SPACE);
  uint8_t over[RELAY_BODY_MAX + 1];
  memset(over, 0, sizeof(over));
  cr_assert_eq(relay_begin_decode(&m2, over, sizeof(over)), CELL_ERR_LENGTH);
}

Test(relay_msg, begin_dir_truncate_data)
{
  uint8_t out[RELAY_BODY_MAX];
  size_t n = 99;
  cr_assert_eq(relay_begin_dir_encode(out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 0);
  cr_assert_eq(relay_begin_dir_decode(out, 0), CELL_OK);
  cr_assert_eq(relay_begin_dir_decode(out, 5), CELL_OK);
  cr_assert_eq(relay_truncate_encode(out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 0);
  cr_assert_eq(relay_truncate_decode(out, 0), CELL_OK);
  cr_assert_eq(relay_truncate_decode(out, 1), CELL_ERR_TRAILING);

  uint8_t r;
  cr_assert_eq(relay_truncated_encode(CELL_DESTROY_FINISHED, out, 1, &n),
               CELL_OK);
  cr_assert_eq(relay_truncated_decode(&r, out, 1), CELL_OK);
  cr_assert_eq(r, CELL_DESTROY_FINISHED);
  cr_assert_eq(relay_truncated_decode(&r, out, 0), CELL_ERR_TRUNCATED);
  cr_assert_eq(relay_truncated_decode(&r, out, 2), CELL_ERR_TRAILING);
  cr_assert_eq(relay_truncated_encode(1, out, 0, &n), CELL_ERR_SPACE);

  uint8_t data[RELAY_BODY_MAX + 1];
  memset(data, 7, sizeof(data));
  relay_data_t d = { .len = RELAY_BODY_MAX, .data = data }, d2;
  cr_assert_eq(relay_data_encode(&d, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, RELAY_BODY_MAX);
  cr_assert_eq(relay_data_decode(&d2, out, n), CELL_OK);
  cr_assert_eq(d2.len, RELAY_BODY_MAX);
  cr_assert_eq(relay_data_decode(&d2, data, sizeof(data)), CELL_ERR_LENGTH);
  d.len = RELAY_BODY_MAX + 1;
  cr_assert_eq(relay_data_encode(&d, out, sizeof(out), &n), CELL_ERR_SPACE);
}

/* ---- CONNECTED ---- */

static int
dec_connected(const uint8_t *p, size_t n)
{
  relay_connected_t m;
  return relay_connected_decode(&m, p, n);
}

Test(relay_msg, connected)
{
  static const uint8_t v4[] = { 10, 0, 0, 1, 0, 0, 0x0e, 0x10 };
  relay_connected_t m, m2;
  cr_assert_eq(relay_connected_decode(&m, v4, sizeof(v4)), CELL_OK);
  cr_assert_eq(m.addr.type, CELL_ADDR_IPV4);
  cr_assert_eq(m.ttl, 3600);
  static const size_t ok0[] = { 0, SIZE_MAX };
  test_all_truncations_fail(dec_connected, v4, sizeof(v4), ok0);
  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_connected_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 8);
  cr_assert_arr_eq(out, v4, 8);

  memset(&m, 0, sizeof(m));
  m.addr.type = CELL_ADDR_IPV6;
  m.addr.addr[0] = 0x20;
  m.addr.addr[15] = 1;
  m.ttl = 60;
  cr_assert_eq(relay_connected_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 25);
  static const uint8_t head[] = { 0, 0, 0, 0, 6, 0x20 };
  cr_assert_arr_eq(out, head, sizeof(head));
  cr_assert_eq(relay_connected_decode(&m2, out, n), CELL_OK);
  cr_assert(memcmp(&m, &m2, sizeof(m)) == 0);
  test_all_truncations_fail(dec_connected, out, n,
                            (const size_t[]){ 0, 8, SIZE_MAX });
  out[4] = 4;
  cr_assert_eq(relay_connected_decode(&m2, out, n), CELL_ERR_VALUE);
  cr_assert_eq(relay_connected_decode(&m2, out, 26), CELL_ERR_LENGTH);
  cr_assert_eq(relay_connected_decode(&m2, out, 9), CELL_ERR_LENGTH);
  m.addr.type = 5;
  cr_assert_eq(relay_connected_encode(&m, out, sizeof(out), &n),
               CELL_ERR_VALUE);
}

/* ---- END ---- */

Test(relay_msg, end)
{
  relay_end_t m;
  uint8_t out[RELAY_BODY_MAX] = { 0 };
  size_t n;
  cr_assert_eq(relay_end_decode(&m, out, 0), CELL_OK);
  cr_assert_eq(m.reason, RELAY_END_MISC);
  static const uint8_t done[] = { RELAY_END_DONE, 1, 2, 3 };
  cr_assert_eq(relay_end_decode(&m, done, sizeof(done)), CELL_OK);
  cr_assert_eq(m.reason, RELAY_END_DONE);
  cr_assert_eq(m.addr.type, CELL_ADDR_NONE);

  static const uint8_t ep4[] = { 4, 192, 0, 2, 1, 0, 0, 1, 0 };
  cr_assert_eq(relay_end_decode(&m, ep4, sizeof(ep4)), CELL_OK);
  cr_assert_eq(m.addr.type, CELL_ADDR_IPV4);
  cr_assert_eq(m.addr.addr[0], 192);
  cr_assert_eq(m.ttl, 256);
  cr_assert_eq(relay_end_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, sizeof(ep4));
  cr_assert_arr_eq(out, ep4, n);
  /* TTL absent */
  cr_assert_eq(relay_end_decode(&m, ep4, 5), CELL_OK);
  cr_assert_eq(m.ttl, 0xffffffffu);
  cr_assert_eq(m.addr.type, CELL_ADDR_IPV4);
  /* address of a wrong length: processed anyway, no address */
  cr_assert_eq(relay_end_decode(&m, ep4, 7), CELL_OK);
  cr_assert_eq(m.addr.type, CELL_ADDR_NONE);

  memset(&m, 0, sizeof(m));
  m.reason = RELAY_END_EXITPOLICY;
  m.addr.type = CELL_ADDR_IPV6;
  m.addr.addr[1] = 0xb8;
  m.ttl = 5;
  relay_end_t m2;
  cr_assert_eq(relay_end_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 21);
  cr_assert_eq(relay_end_decode(&m2, out, n), CELL_OK);
  cr_assert(memcmp(&m, &m2, sizeof(m)) == 0);
  m.reason = RELAY_END_DONE;
  cr_assert_eq(relay_end_encode(&m, out, sizeof(out), &n), CELL_ERR_VALUE);
  uint8_t big[RELAY_BODY_MAX + 1] = { 6 };
  cr_assert_eq(relay_end_decode(&m, big, sizeof(big)), CELL_ERR_LENGTH);
  cr_assert_eq(relay_end_encode(&m2, out, 20, &n), CELL_ERR_SPACE);
}

/* ---- RESOLVE / RESOLVED ---- */

static int
dec_resolved(const uint8_t *p, size_t n)
{
  static relay_resolved_t m;
  return relay_resolved_decode(&m, p, n);
}

Test(relay_msg, resolve)
{
  relay_resolve_t m;
  static const uint8_t w[] = "torproject.org";
  cr_assert_eq(relay_resolve_decode(&m, w, sizeof(w)), CELL_OK);
  cr_assert_str_eq(m.name, "torproject.org");
  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_resolve_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, sizeof(w));
  cr_assert_arr_eq(out, w, n);
  for (size_t k = 0; k < sizeof(w); k++)
    cr_assert_lt(relay_resolve_decode(&m, w, k), 0);
  static const uint8_t tr[] = { 'a', 0, 'b' };
  cr_assert_eq(relay_resolve_decode(&m, tr, 3), CELL_ERR_TRAILING);
  cr_assert_eq(relay_resolve_decode(&m, tr + 1, 1), CELL_ERR_VALUE);
}

Test(relay_msg, resolved)
{
  static const uint8_t w[] = {
    4, 4, 198, 51, 100, 7, 0, 0, 0, 60,
    6, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
    0, 0, 1, 0,
    0, 3, 'a', '.', 'b', 0, 0, 0, 1,
    0x77, 1, 0xee, 0, 0, 0, 0,
  };
  static relay_resolved_t m, m2;
  cr_assert_eq(relay_resolved_decode(&m, w, sizeof(w)), CELL_OK);
  cr_assert_eq(m.n, 4);
  cr_assert_eq(m.answers[0].type, RELAY_RESOLVED_IPV4);
  cr_assert_eq(m.answers[0].ttl, 60);
  cr_assert_eq(m.answers[1].value[15], 9);
  cr_assert_eq(m.answers[1].ttl, 256);
  cr_assert_eq(m.answers[2].len, 3);
  cr_assert_eq(m.answers[3].type, 0x77);
  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_resolved_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, sizeof(w));
  cr_assert_arr_eq(out, w, n);
  /* a prefix ending exactly at an answer boundary is a shorter valid list */
  static const size_t ok[] = { 0, 10, 32, 41, SIZE_MAX };
  test_all_truncations_fail(dec_resolved, w, sizeof(w), ok);

  uint8_t bad[] = { 4, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0 };
  cr_assert_eq(relay_resolved_decode(&m2, bad, sizeof(bad)), CELL_ERR_LENGTH);
  uint8_t err2[] = { 0xf0, 0, 0, 0, 0, 0, 4, 4, 1, 2, 3, 4, 0, 0, 0, 0 };
  cr_assert_eq(relay_resolved_decode(&m2, err2, sizeof(err2)), CELL_ERR_VALUE);
  cr_assert_eq(relay_resolved_decode(&m2, err2, 6), CELL_OK);
  cr_assert_eq(m2.n, 1);
  m.n = RELAY_RESOLVED_MAX_ANSWERS + 1;
  cr_assert_eq(relay_resolved_encode(&m, out, sizeof(out), &n),
               CELL_ERR_TOO_MANY);
  /* a full body of minimal answers fits exactly */
  uint8_t full[RELAY_BODY_MAX];
  memset(full, 0, sizeof(full));
  cr_assert_eq(relay_resolved_decode(&m2, full, sizeof(full)), CELL_OK);
  cr_assert_eq(m2.n, RELAY_RESOLVED_MAX_ANSWERS);
  cr_assert_eq(relay_resolved_encode(&m2, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(relay_resolved_encode(&m2, out, sizeof(out) - 1, &n),
               CELL_ERR_SPACE);
}

/* ---- SENDME ---- */

static int
dec_sendme(const uint8_t *p, size_t n)
{
  relay_sendme_t m;
  return relay_sendme_decode(&m, p, n);
}

Test(relay_msg, sendme)
{
  relay_sendme_t m, m2;
  uint8_t out[RELAY_BODY_MAX] = { 0 };
  size_t n;
  cr_assert_eq(relay_sendme_decode(&m, out, 0), CELL_OK);
  cr_assert_eq(m.version, 0);
  static const uint8_t v0[] = { 0, 1, 2, 3 };
  cr_assert_eq(relay_sendme_decode(&m, v0, sizeof(v0)), CELL_OK);
  cr_assert_eq(m.version, 0);
  cr_assert_eq(relay_sendme_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 0);

  m.version = 1;
  for (int i = 0; i < 20; i++)
    m.digest[i] = (uint8_t)(i * 3);
  cr_assert_eq(relay_sendme_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 23);
  static const uint8_t head[] = { 1, 0, 20, 0, 3, 6 };
  cr_assert_arr_eq(out, head, sizeof(head));
  cr_assert_eq(relay_sendme_decode(&m2, out, n), CELL_OK);
  cr_assert(memcmp(&m, &m2, sizeof(m)) == 0);
  static const size_t ok0[] = { 0, SIZE_MAX };
  test_all_truncations_fail(dec_sendme, out, n, ok0);
  /* DATA_LEN > 20: first 20 bytes used */
  uint8_t longer[26];
  memset(longer, 9, sizeof(longer));
  longer[0] = 1;
  longer[1] = 0;
  longer[2] = 23;
  cr_assert_eq(relay_sendme_decode(&m2, longer, 26), CELL_OK);
  cr_assert_eq(m2.digest[19], 9);
  longer[2] = 19;
  cr_assert_eq(relay_sendme_decode(&m2, longer, 26), CELL_ERR_LENGTH);
  longer[0] = 2;
  cr_assert_eq(relay_sendme_decode(&m2, longer, 26), CELL_ERR_UNSUPPORTED);
  m.version = 2;
  cr_assert_eq(relay_sendme_encode(&m, out, sizeof(out), &n),
               CELL_ERR_UNSUPPORTED);
  m.version = 1;
  cr_assert_eq(relay_sendme_encode(&m, out, 22, &n), CELL_ERR_SPACE);
}

/* ---- EXTEND2 / EXTENDED2 ---- */

static int
dec_extend2(const uint8_t *p, size_t n)
{
  static relay_extend2_t m;
  return relay_extend2_decode(&m, p, n);
}

static int
dec_extended2(const uint8_t *p, size_t n)
{
  relay_extended2_t m;
  return relay_extended2_decode(&m, p, n);
}

/* Build an EXTEND2 body by hand from the 5.1.2 layout: IPv4, legacy id,
 * ed25519 id, IPv6, an unknown type 9, then an ntor handshake. */
static size_t
build_extend2(uint8_t *b)
{
  size_t o = 0;
  b[o++] = 5;
  b[o++] = 0; b[o++] = 6;
  b[o++] = 203; b[o++] = 0; b[o++] = 113; b[o++] = 5; b[o++] = 0x23;
  b[o++] = 0x29;
  b[o++] = 2; b[o++] = 20;
  for (int i = 0; i < 20; i++) b[o++] = (uint8_t)(0xa0 + i);
  b[o++] = 3; b[o++] = 32;
  for (int i = 0; i < 32; i++) b[o++] = (uint8_t)(0x40 + i);
  b[o++] = 1; b[o++] = 18;
  for (int i = 0; i < 16; i++) b[o++] = (uint8_t)i;
  b[o++] = 0x01; b[o++] = 0xbb;
  b[o++] = 9; b[o++] = 2; b[o++] = 0xca; b[o++] = 0xfe;
  b[o++] = 0; b[o++] = 2;
  b[o++] = 0; b[o++] = 84;
  for (int i = 0; i < 84; i++) b[o++] = (uint8_t)(i * 7);
  return o;
}

Test(relay_msg, extend2_wire)
{
  uint8_t w[RELAY_BODY_MAX];
  size_t wl = build_extend2(w);
  static relay_extend2_t m, m2;
  cr_assert_eq(relay_extend2_decode(&m, w, wl), CELL_OK);
  cr_assert_eq(m.n_spec, 5);
  cr_assert_eq(m.spec[0].type, RELAY_LSPEC_IPV4);
  cr_assert_eq(m.spec[0].u.ipv4.addr[0], 203);
  cr_assert_eq(m.spec[0].u.ipv4.port, 9001);
  cr_assert_eq(m.spec[1].u.legacy_id[19], 0xa0 + 19);
  cr_assert_eq(m.spec[2].u.ed25519_id[0], 0x40);
  cr_assert_eq(m.spec[3].u.ipv6.port, 443);
  cr_assert_eq(m.spec[4].type, 9);
  cr_assert_eq(m.spec[4].len, 2);
  cr_assert_eq(m.spec[4].u.data[1], 0xfe);
  cr_assert_eq(m.htype, CELL_HTYPE_NTOR);
  cr_assert_eq(m.hlen, 84);
  cr_assert_eq(relay_extend2_find(&m, RELAY_LSPEC_ED25519_ID), &m.spec[2]);
  cr_assert_null(relay_extend2_find(&m, 7));
  test_all_truncations_fail(dec_extend2, w, wl, NONE_OK);

  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_extend2_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, wl);
  cr_assert_arr_eq(out, w, wl);
  cr_assert_eq(relay_extend2_decode(&m2, out, n), CELL_OK);
  cr_assert_eq(relay_extend2_encode(&m, out, wl - 1, &n), CELL_ERR_SPACE);
}

Test(relay_msg, extend2_bad)
{
  uint8_t w[RELAY_BODY_MAX + 1];
  size_t wl = build_extend2(w);
  static relay_extend2_t m;
  w[wl] = 0;
  cr_assert_eq(relay_extend2_decode(&m, w, wl + 1), CELL_ERR_TRAILING);
  /* IPv4 specifier with LSLEN 5 */
  w[2] = 5;
  cr_assert_lt(relay_extend2_decode(&m, w, wl), 0);
  wl = build_extend2(w);
  /* two ed25519 identities */
  uint8_t d[80];
  size_t o = 0;
  d[o++] = 2;
  for (int k = 0; k < 2; k++) {
    d[o++] = 3; d[o++] = 32;
    memset(d + o, k, 32);
    o += 32;
  }
  cr_assert_lt(o, sizeof(d));
  uint8_t body[RELAY_BODY_MAX];
  memcpy(body, d, o);
  body[o++] = 0xff; body[o++] = 0xff; body[o++] = 0; body[o++] = 0;
  cr_assert_eq(relay_extend2_decode(&m, body, o), CELL_ERR_DUPLICATE);
  /* ntor handshake with the wrong length */
  wl = build_extend2(w);
  w[wl - 85] = 83;
  cr_assert_eq(relay_extend2_decode(&m, w, wl - 1), CELL_ERR_LENGTH);
  /* NSPEC claims more specifiers than there are */
  uint8_t many[] = { 255, 9, 0, 9, 0 };
  cr_assert_eq(relay_extend2_decode(&m, many, sizeof(many)),
               CELL_ERR_TRUNCATED);
  /* handshake too big for a relay body */
  memset(&m, 0, sizeof(m));
  static uint8_t hd[600];
  m.htype = CELL_HTYPE_NTOR_V3;
  m.hlen = 495;
  m.hdata = hd;
  size_t n;
  cr_assert_eq(relay_extend2_encode(&m, w, sizeof(w), &n), CELL_ERR_SPACE);
  m.hlen = 493;
  cr_assert_eq(relay_extend2_encode(&m, w, sizeof(w), &n), CELL_OK);
  cr_assert_eq(n, RELAY_BODY_MAX);
  m.n_spec = 2;
  m.spec[0].type = m.spec[1].type = RELAY_LSPEC_LEGACY_ID;
  cr_assert_eq(relay_extend2_encode(&m, w, sizeof(w), &n),
               CELL_ERR_DUPLICATE);
}

Test(relay_msg, extended2)
{
  uint8_t hd[64];
  memset(hd, 0x3c, sizeof(hd));
  relay_extended2_t m = { .hlen = 64, .hdata = hd }, m2;
  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  cr_assert_eq(relay_extended2_encode(&m, out, sizeof(out), &n), CELL_OK);
  cr_assert_eq(n, 66);
  cr_assert_eq(relay_extended2_decode(&m2, out, n), CELL_OK);
  cr_assert_eq(m2.hlen, 64);
  cr_assert_arr_eq(m2.hdata, hd, 64);
  test_all_truncations_fail(dec_extended2, out, n, NONE_OK);
  cr_assert_eq(relay_extended2_decode(&m2, out, n - 1), CELL_ERR_TRUNCATED);
  out[n] = 0;
  cr_assert_eq(relay_extended2_decode(&m2, out, n + 1), CELL_ERR_TRAILING);
  m.hlen = 497;
  static uint8_t bighd[600];
  m.hdata = bighd;
  cr_assert_eq(relay_extended2_encode(&m, out, sizeof(out), &n),
               CELL_ERR_SPACE);
}
