/* test_create_fast.c -- CREATE_FAST / CREATED_FAST on the origin circuit
 * (tor-spec 5.1.5, 5.2.1) against a relay side computed by hand here:
 * K0 = X | Y, KDF-TOR(K0) = KH | Df | Db | Kf | Kb, relay crypto both ways,
 * plus a wrong KH, unexpected / repeated answers, DESTROY and timeouts. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/circuit/relay_crypto.h"
#include "allium/lib/crypto/kdf.h"

#define FAST_KEYS (CELL_FAST_KEY_LEN + 72)

typedef struct fast_relay_t {
  uint8_t x[CELL_FAST_KEY_LEN];
  uint8_t y[CELL_FAST_KEY_LEN];
  uint8_t keys[FAST_KEYS];
  uint8_t created[CELL_PAYLOAD_LEN];
} fast_relay_t;

/* Take the CREATE_FAST from c and compute the relay's CREATED_FAST. */
static void
relay_answer(circ_origin_t *c, fast_relay_t *r)
{
  circ_cell_t cell;
  cell_create_fast_t cf;
  cell_created_fast_t cd;
  uint8_t k0[2 * CELL_FAST_KEY_LEN];
  size_t n;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell.command, CELL_CREATE_FAST);
  cr_assert_eq(cell_create_fast_decode(&cf, cell.payload, CELL_PAYLOAD_LEN), 0);
  memcpy(r->x, cf.x, sizeof(r->x));
  for (size_t i = 0; i < sizeof(r->y); i++)
    r->y[i] = (uint8_t)(0xa0 + i);
  memcpy(k0, r->x, 20);
  memcpy(k0 + 20, r->y, 20);
  cr_assert_eq(crypto_kdf_tor(r->keys, sizeof(r->keys), k0, sizeof(k0)), 0);
  memcpy(cd.y, r->y, 20);
  memcpy(cd.kh, r->keys, 20);
  memset(r->created, 0, sizeof(r->created));
  cr_assert_eq(cell_created_fast_encode(&cd, r->created, sizeof(r->created),
                                        &n), 0);
}

static int
count_events(circ_origin_t *c, circ_event_type_t type, circ_event_t *last)
{
  circ_event_t ev;
  int n = 0;
  while (circ_origin_next_event(c, &ev) == 1) {
    if (ev.type == type) {
      n++;
      if (last)
        *last = ev;
    }
  }
  return n;
}

Test(create_fast, handshake_and_relay_crypto_both_ways)
{
  fast_relay_t r;
  circ_hop_spec_t spec;
  memset(&spec, 0x11, sizeof(spec));
  circ_origin_t *c = circ_origin_new();
  cr_assert_eq(circ_origin_start_fast(c, &spec, 100, 10), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_BUILDING);
  cr_assert_eq(circ_origin_start_fast(c, NULL, 100, 10), CIRC_ERR_STATE);
  relay_answer(c, &r);
  /* X is random: two circuits differ. */
  fast_relay_t r2;
  circ_origin_t *c2 = circ_origin_new();
  cr_assert_eq(circ_origin_start_fast(c2, NULL, 0, 0), 0);
  relay_answer(c2, &r2);
  cr_assert(memcmp(r.x, r2.x, 20) != 0);
  circ_origin_free(c2);

  cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED_FAST, r.created), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_OPEN);
  cr_assert_eq(circ_origin_n_hops(c), 1);
  cr_assert_eq(count_events(c, CIRC_EV_HOP_ADDED, NULL), 1);
  cr_assert(memcmp(circ_origin_hop_spec(c, 0)->rsa_id, spec.rsa_id, 20) == 0);
  circ_origin_build_done(c);
  circ_origin_tick(c, 1000);   /* deadline stopped by build_done */
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_OPEN);

  /* The relay's crypto from Df|Db|Kf|Kb after KH. */
  relay_crypto_t *rc = relay_crypto_new(RELAY_CRYPTO_TOR1, r.keys + 20, 72, 0);
  cr_assert_not_null(rc);
  static const uint8_t msg[] = "GET / HTTP/1.0\r\n\r\n";
  cr_assert_eq(circ_origin_send(c, 0, RELAY_BEGIN_DIR, 7, NULL, 0), 0);
  cr_assert_eq(circ_origin_send(c, 0, RELAY_DATA, 7, msg, sizeof(msg)), 0);
  circ_cell_t cell;
  relay_header_t h;
  const uint8_t *body;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell.command, CELL_RELAY);
  cr_assert_eq(relay_crypto_relay_decrypt(rc, cell.payload), 1);
  cr_assert_eq(relay_cell_unpack(&h, &body, cell.payload), 0);
  cr_assert_eq(h.command, RELAY_BEGIN_DIR);
  cr_assert_eq(h.stream_id, 7);
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(relay_crypto_relay_decrypt(rc, cell.payload), 1);
  cr_assert_eq(relay_cell_unpack(&h, &body, cell.payload), 0);
  cr_assert_eq(h.command, RELAY_DATA);
  cr_assert_eq(h.length, sizeof(msg));
  cr_assert(memcmp(body, msg, sizeof(msg)) == 0);
  cr_assert_eq(circ_origin_next_cell(c, &cell), 0);

  /* Backward: a message from the relay reaches the origin intact. */
  uint8_t p[CELL_PAYLOAD_LEN];
  static const uint8_t back[] = "HTTP/1.0 200 OK\r\n";
  memset(&h, 0, sizeof(h));
  h.command = RELAY_DATA;
  h.stream_id = 9;
  cr_assert_eq(relay_cell_pack(p, &h, back, sizeof(back), NULL), 0);
  relay_crypto_relay_originate(rc, p);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_RELAY, p), 0);
  circ_event_t ev;
  cr_assert_eq(count_events(c, CIRC_EV_RELAY_MSG, &ev), 1);
  cr_assert_eq(ev.command, RELAY_DATA);
  cr_assert_eq(ev.stream_id, 9);
  cr_assert_eq(ev.len, sizeof(back));
  cr_assert(memcmp(ev.body, back, sizeof(back)) == 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_OPEN);

  /* A second CREATED_FAST is a protocol error. */
  cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED_FAST, r.created), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_CLOSED);
  cr_assert_eq(count_events(c, CIRC_EV_CLOSED, &ev), 1);
  cr_assert_eq(ev.reason, CELL_DESTROY_PROTOCOL);
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell.command, CELL_DESTROY);
  relay_crypto_free(rc);
  circ_origin_free(c);
}

/* Every single bit of KH or Y matters. */
Test(create_fast, wrong_key_hash_or_y_closes)
{
  for (int field = 0; field < 2; field++) {
    for (int bit = 0; bit < 160; bit += 37) {
      fast_relay_t r;
      circ_origin_t *c = circ_origin_new();
      cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
      relay_answer(c, &r);
      r.created[field * 20 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
      cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED_FAST, r.created), 0);
      cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_CLOSED);
      cr_assert_eq(circ_origin_n_hops(c), 0);
      circ_event_t ev;
      cr_assert_eq(count_events(c, CIRC_EV_HOP_ADDED, NULL), 0);
      (void)ev;
      circ_cell_t cell;
      cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
      cr_assert_eq(cell.command, CELL_DESTROY);
      circ_origin_free(c);
    }
  }
}

Test(create_fast, unexpected_answers)
{
  uint8_t zero[CELL_PAYLOAD_LEN] = { 0 };
  circ_event_t ev;
  /* CREATED_FAST to a circuit never started: ignored. */
  circ_origin_t *c = circ_origin_new();
  cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED_FAST, zero), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_NEW);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED_FAST, NULL),
               CIRC_ERR_ARG);
  circ_origin_free(c);

  /* CREATED2 answering a CREATE_FAST: protocol error. */
  c = circ_origin_new();
  cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_CREATED2, zero), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_CLOSED);
  circ_origin_free(c);

  /* RELAY before CREATED_FAST: protocol error. */
  c = circ_origin_new();
  cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
  cr_assert_eq(circ_origin_handle_cell(c, CELL_RELAY, zero), 0);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_CLOSED);
  circ_origin_free(c);

  /* DESTROY while building: closed, remote, nothing sent back. */
  c = circ_origin_new();
  cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
  circ_cell_t cell;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  uint8_t d[CELL_PAYLOAD_LEN] = { CELL_DESTROY_RESOURCELIMIT };
  cr_assert_eq(circ_origin_handle_cell(c, CELL_DESTROY, d), 0);
  cr_assert_eq(count_events(c, CIRC_EV_CLOSED, &ev), 1);
  cr_assert(ev.remote);
  cr_assert_eq(ev.reason, CELL_DESTROY_RESOURCELIMIT);
  cr_assert_eq(ev.hop, 0);
  cr_assert_eq(circ_origin_next_cell(c, &cell), 0);
  circ_origin_free(c);

  /* CREATE2 path after CREATE_FAST: wrong state. */
  c = circ_origin_new();
  circ_hop_spec_t spec;
  memset(&spec, 0, sizeof(spec));
  cr_assert_eq(circ_origin_start_fast(c, NULL, 0, 0), 0);
  cr_assert_eq(circ_origin_start(c, &spec, 0, 0), CIRC_ERR_STATE);
  cr_assert_eq(circ_origin_extend(c, &spec), CIRC_ERR_STATE);
  circ_origin_free(c);
}

Test(create_fast, build_deadline)
{
  circ_origin_t *c = circ_origin_new();
  cr_assert_eq(circ_origin_start_fast(c, NULL, 1000, 50), 0);
  circ_origin_tick(c, 1049);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_BUILDING);
  circ_origin_tick(c, 1050);
  cr_assert_eq(circ_origin_state(c), CIRC_ORIGIN_CLOSED);
  circ_event_t ev;
  cr_assert_eq(count_events(c, CIRC_EV_CLOSED, &ev), 1);
  cr_assert_eq(ev.reason, CELL_DESTROY_TIMEOUT);
  circ_cell_t cell;
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell.command, CELL_CREATE_FAST);
  cr_assert_eq(circ_origin_next_cell(c, &cell), 1);
  cr_assert_eq(cell.command, CELL_DESTROY);
  circ_origin_free(c);
}
