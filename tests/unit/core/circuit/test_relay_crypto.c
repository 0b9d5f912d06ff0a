/* test_relay_crypto.c -- per-hop relay cell crypto (tor-spec 5.5, 6.1):
 * a simulated 3-hop circuit in both directions over many cells, recognition
 * at the right hop only, tampering, digest state restored when a cell is
 * not recognized, and an onion-service (SHA3/AES-256) end-to-end hop. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/circuit/relay_crypto.h"
#include "allium/lib/crypto/aes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"

#define NHOPS 3

typedef struct circ_t {
  uint8_t keys[NHOPS][128];
  relay_crypto_t *origin[NHOPS];   /* the client's view of each hop */
  relay_crypto_t *relay[NHOPS];    /* each relay's own state */
} circ_t;

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(relay_crypto, .init = setup);

static void
circ_init(circ_t *c, relay_crypto_kind_t kind)
{
  size_t n = relay_crypto_key_material_len(kind);
  for (int i = 0; i < NHOPS; i++) {
    crypto_rand(c->keys[i], sizeof(c->keys[i]));
    c->origin[i] = relay_crypto_new(kind, c->keys[i], n, 0);
    c->relay[i] = relay_crypto_new(kind, c->keys[i], n, 0);
    cr_assert_not_null(c->origin[i]);
    cr_assert_not_null(c->relay[i]);
  }
}

static void
circ_free(circ_t *c)
{
  for (int i = 0; i < NHOPS; i++) {
    relay_crypto_free(c->origin[i]);
    relay_crypto_free(c->relay[i]);
  }
}

static void
random_cell(uint8_t cell[RELAY_PAYLOAD_LEN])
{
  crypto_rand(cell, RELAY_PAYLOAD_LEN);
  cell[RELAY_OFF_LENGTH] = 0x01;
  cell[RELAY_OFF_LENGTH + 1] = 0xf2;
}

/* Same command, stream id, length and data (the fields the sender owns). */
static void
assert_same_content(const uint8_t *a, const uint8_t *b)
{
  cr_assert_eq(a[0], b[0]);
  cr_assert_arr_eq(a + RELAY_OFF_STREAM_ID, b + RELAY_OFF_STREAM_ID, 2);
  cr_assert_arr_eq(a + RELAY_OFF_LENGTH, b + RELAY_OFF_LENGTH,
                   RELAY_PAYLOAD_LEN - RELAY_OFF_LENGTH);
}

/* Send one forward cell to hop target; returns the hop that recognized it
 * (or NHOPS if none). */
static int
send_forward(circ_t *c, int target, uint8_t cell[RELAY_PAYLOAD_LEN])
{
  cr_assert_eq(relay_crypto_origin_encrypt(c->origin, NHOPS, (size_t)target, cell), 0);
  for (int i = 0; i < NHOPS; i++)
    if (relay_crypto_relay_decrypt(c->relay[i], cell))
      return i;
  return NHOPS;
}

static void
run_circuit(relay_crypto_kind_t kind)
{
  circ_t c;
  uint8_t cell[RELAY_PAYLOAD_LEN], plain[RELAY_PAYLOAD_LEN];

  circ_init(&c, kind);
  for (int n = 0; n < 600; n++) {
    int target = (int)crypto_rand_uint64(NHOPS);
    random_cell(plain);
    memcpy(cell, plain, sizeof(cell));
    cr_assert_eq(send_forward(&c, target, cell), target, "cell %d for hop %d", n, target);
    assert_same_content(cell, plain);
    cr_assert_eq(cell[1] | cell[2], 0);

    /* and a backward cell from a random hop */
    target = (int)crypto_rand_uint64(NHOPS);
    random_cell(plain);
    memcpy(cell, plain, sizeof(cell));
    relay_crypto_relay_originate(c.relay[target], cell);
    for (int i = target - 1; i >= 0; i--)
      relay_crypto_relay_encrypt(c.relay[i], cell);
    size_t hop = 99;
    cr_assert_eq(relay_crypto_origin_decrypt(c.origin, NHOPS, cell, &hop), 0);
    cr_assert_eq(hop, (size_t)target);
    assert_same_content(cell, plain);
  }
  circ_free(&c);
}

Test(relay_crypto, three_hops_tor1)
{
  run_circuit(RELAY_CRYPTO_TOR1);
}

Test(relay_crypto, three_hops_hs_kind)
{
  run_circuit(RELAY_CRYPTO_HS);
}

Test(relay_crypto, hop2_only)
{
  circ_t c;
  uint8_t cell[RELAY_PAYLOAD_LEN];

  circ_init(&c, RELAY_CRYPTO_TOR1);
  for (int n = 0; n < 50; n++) {
    random_cell(cell);
    cr_assert_eq(relay_crypto_origin_encrypt(c.origin, NHOPS, 1, cell), 0);
    cr_assert_eq(relay_crypto_relay_decrypt(c.relay[0], cell), 0);
    cr_assert_eq(relay_crypto_relay_decrypt(c.relay[1], cell), 1);
  }
  /* hop 3 never saw any of these; a cell to it still works */
  random_cell(cell);
  cr_assert_eq(send_forward(&c, 2, cell), 2);
  /* a cell for hop 2, were it passed on to hop 3 too, is not recognized there */
  random_cell(cell);
  cr_assert_eq(relay_crypto_origin_encrypt(c.origin, NHOPS, 1, cell), 0);
  cr_assert_eq(relay_crypto_relay_decrypt(c.relay[0], cell), 0);
  cr_assert_eq(relay_crypto_relay_decrypt(c.relay[1], cell), 1);
  cr_assert_eq(relay_crypto_relay_decrypt(c.relay[2], cell), 0);
  circ_free(&c);
}

Test(relay_crypto, tampering_breaks_recognition)
{
  static const size_t offsets[] = { 0, 1, 2, 3, 5, 8, 9, 11, 200, 508 };
  for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
    circ_t c;
    uint8_t cell[RELAY_PAYLOAD_LEN], before[32], after[32];
    circ_init(&c, RELAY_CRYPTO_TOR1);
    random_cell(cell);
    cr_assert_eq(relay_crypto_origin_encrypt(c.origin, NHOPS, 2, cell), 0);
    cell[offsets[k]] ^= 0x10;
    cr_assert_eq(relay_crypto_relay_decrypt(c.relay[0], cell), 0);
    cr_assert_eq(relay_crypto_relay_decrypt(c.relay[1], cell), 0);
    relay_crypto_digest_peek(c.relay[2], 0, before, 20);
    cr_assert_eq(relay_crypto_relay_decrypt(c.relay[2], cell), 0,
                 "tampered byte %zu accepted", offsets[k]);
    relay_crypto_digest_peek(c.relay[2], 0, after, 20);
    cr_assert_arr_eq(before, after, 20, "digest changed by an unrecognized cell");

    /* backward too */
    random_cell(cell);
    relay_crypto_relay_originate(c.relay[2], cell);
    relay_crypto_relay_encrypt(c.relay[1], cell);
    relay_crypto_relay_encrypt(c.relay[0], cell);
    cell[offsets[k]] ^= 0x01;
    size_t hop = 99;
    cr_assert_eq(relay_crypto_origin_decrypt(c.origin, NHOPS, cell, &hop), -1);
    circ_free(&c);
  }
}

/* Hop 1 sees recognized == 0 on a cell meant for hop 2 (we force it with the
 * known keystream): the digest check fails, hop 1's digest must stay as it
 * was, so later cells for hop 1 are still recognized. */
Test(relay_crypto, digest_restored_on_false_recognized)
{
  circ_t c;
  uint8_t cell[RELAY_PAYLOAD_LEN], ks[RELAY_PAYLOAD_LEN] = {0};
  uint8_t before[20], after[20];

  circ_init(&c, RELAY_CRYPTO_TOR1);
  /* hop 2's first forward keystream block */
  aes_ctr_t *a = aes_ctr_new(c.keys[1] + 40, 16, NULL);
  cr_assert_not_null(a);
  aes_ctr_crypt_inplace(a, ks, sizeof(ks));
  aes_ctr_free(a);

  random_cell(cell);
  cr_assert_eq(relay_crypto_origin_encrypt(c.origin, NHOPS, 1, cell), 0);
  cell[1] ^= ks[1];
  cell[2] ^= ks[2];
  relay_crypto_digest_peek(c.relay[0], 0, before, sizeof(before));
  cr_assert_eq(relay_crypto_relay_decrypt(c.relay[0], cell), 0);
  cr_assert_eq(cell[1] | cell[2], 0, "test did not force recognized == 0");
  relay_crypto_digest_peek(c.relay[0], 0, after, sizeof(after));
  cr_assert_arr_eq(before, after, sizeof(before));
  /* the cell is handed on unchanged apart from our layer: the digest field
   * is the one that arrived */
  cr_assert_eq(relay_crypto_relay_decrypt(c.relay[1], cell), 0);

  for (int n = 0; n < 10; n++) {
    random_cell(cell);
    cr_assert_eq(send_forward(&c, 0, cell), 0);
  }
  circ_free(&c);
}

/* Client circuit of 3 relays + the onion service hop; service side uses the
 * reversed HS keys.  The rendezvous splice is modelled by handing the cell
 * straight from the client's last relay to the service. */
Test(relay_crypto, onion_service_hop)
{
  circ_t c;
  uint8_t hs_keys[128], cell[RELAY_PAYLOAD_LEN], plain[RELAY_PAYLOAD_LEN];
  relay_crypto_t *client_hops[NHOPS + 1], *service[1];

  circ_init(&c, RELAY_CRYPTO_TOR1);
  crypto_rand(hs_keys, sizeof(hs_keys));
  for (int i = 0; i < NHOPS; i++)
    client_hops[i] = c.origin[i];
  client_hops[NHOPS] = relay_crypto_new(RELAY_CRYPTO_HS, hs_keys, 128, 0);
  service[0] = relay_crypto_new(RELAY_CRYPTO_HS, hs_keys, 128, 1);
  cr_assert_not_null(client_hops[NHOPS]);
  cr_assert_not_null(service[0]);
  for (int n = 0; n < 100; n++) {
    size_t hop = 99;
    random_cell(plain);
    memcpy(cell, plain, sizeof(cell));
    cr_assert_eq(relay_crypto_origin_encrypt(client_hops, NHOPS + 1, NHOPS, cell), 0);
    for (int i = 0; i < NHOPS; i++)
      cr_assert_eq(relay_crypto_relay_decrypt(c.relay[i], cell), 0);
    cr_assert_eq(relay_crypto_origin_decrypt(service, 1, cell, &hop), 0);
    cr_assert_eq(hop, 0);
    assert_same_content(cell, plain);

    random_cell(plain);
    memcpy(cell, plain, sizeof(cell));
    cr_assert_eq(relay_crypto_origin_encrypt(service, 1, 0, cell), 0);
    for (int i = NHOPS - 1; i >= 0; i--)
      relay_crypto_relay_encrypt(c.relay[i], cell);
    cr_assert_eq(relay_crypto_origin_decrypt(client_hops, NHOPS + 1, cell, &hop), 0);
    cr_assert_eq(hop, (size_t)NHOPS);
    assert_same_content(cell, plain);
  }
  relay_crypto_free(client_hops[NHOPS]);
  relay_crypto_free(service[0]);
  circ_free(&c);
}

Test(relay_crypto, bad_arguments)
{
  uint8_t keys[128] = {0}, cell[RELAY_PAYLOAD_LEN] = {0};
  size_t hop;

  cr_assert_eq(relay_crypto_key_material_len(RELAY_CRYPTO_TOR1), 72);
  cr_assert_eq(relay_crypto_key_material_len(RELAY_CRYPTO_HS), 128);
  cr_assert_null(relay_crypto_new(RELAY_CRYPTO_TOR1, keys, 71, 0));
  cr_assert_null(relay_crypto_new(RELAY_CRYPTO_HS, keys, 127, 0));
  cr_assert_null(relay_crypto_new((relay_crypto_kind_t)7, keys, 128, 0));
  cr_assert_null(relay_crypto_new(RELAY_CRYPTO_TOR1, NULL, 72, 0));
  relay_crypto_t *r = relay_crypto_new(RELAY_CRYPTO_TOR1, keys, 92, 0);
  cr_assert_not_null(r);
  relay_crypto_t *hops[1] = { r };
  cr_assert_eq(relay_crypto_origin_encrypt(hops, 1, 1, cell), -1);
  cr_assert_eq(relay_crypto_origin_encrypt(hops, 0, 0, cell), -1);
  cr_assert_eq(relay_crypto_origin_decrypt(hops, 0, cell, &hop), -1);
  relay_crypto_free(r);
  cr_assert_null(r);
  relay_crypto_free(r);
}
