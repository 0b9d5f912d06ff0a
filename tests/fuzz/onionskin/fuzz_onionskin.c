/* fuzz_onionskin.c -- fuzz target for a relay's answer to a create cell
 * (onion_server_answer(), tor-spec 5.1 / 5.1.4 / 5.1.5, proposal 332) and
 * for the ntor v3 client-message (extension list) parser.
 *
 * Input: byte 0 picks the cell command (0: CREATE2, 1: CREATE_FAST,
 * 2: CREATE, 3: any other byte taken from byte 1); byte 1 picks the key set
 * (bit 0: a previous onion key exists, bit 1: no ed25519 identity, bit 2:
 * congestion control offered); the rest is the payload, of any length.  The
 * relay keys are fixed (secrets 1..32 and 33..64), so seeds can hold valid
 * onionskins.  The rest is also fed to onion_v3_client_msg_parse().
 * Checked: a success has a CREATED2/CREATED_FAST reply that decodes; a
 * failure has a DESTROY reason and an error text, and no key material.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/onion/onion_server.h"
#include "allium/lib/crypto/crypto_util.h"

#include "../fuzzing.h"

static onion_server_keys_t keys;

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_onionskin: %s\n", what);
  abort();
}

int
fuzz_init(void)
{
  if (crypto_global_init() < 0)
    return -1;
  for (int i = 0; i < 32; i++) {
    keys.ntor.sec[i] = (uint8_t)(i + 1);
    keys.ntor_old.sec[i] = (uint8_t)(i + 33);
    keys.ed_id[i] = (uint8_t)(0xe0 ^ i);
  }
  for (int i = 0; i < 20; i++)
    keys.rsa_id[i] = (uint8_t)(0xa0 + i);
  if (x25519_public_from_secret(keys.ntor.pub, keys.ntor.sec) < 0 ||
      x25519_public_from_secret(keys.ntor_old.pub, keys.ntor_old.sec) < 0)
    return -1;
  return 0;
}

static void
check(int r, const onion_answer_t *a)
{
  static const uint8_t zero[ONION_KEYS_LEN];
  if (r < 0) {
    if (a->destroy_reason == CELL_DESTROY_NONE || !a->error)
      fail("failure without a reason");
    if (memcmp(a->keys, zero, sizeof(zero)) != 0)
      fail("key material left in a failed answer");
    return;
  }
  if (a->command == CELL_CREATED2) {
    cell_created2_t cd;
    if (cell_created2_decode(&cd, a->reply, CELL_PAYLOAD_LEN) < 0)
      fail("CREATED2 reply does not decode");
  } else if (a->command == CELL_CREATED_FAST) {
    cell_created_fast_t cf;
    if (cell_created_fast_decode(&cf, a->reply, CELL_PAYLOAD_LEN) < 0)
      fail("CREATED_FAST reply does not decode");
  } else {
    fail("success with a strange reply command");
  }
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  static const uint8_t cmds[3] = { CELL_CREATE2, CELL_CREATE_FAST,
                                   CELL_CREATE };
  onion_answer_t a;
  onion_v3_client_msg_t m;
  if (len < 2)
    return 0;
  uint8_t cmd = data[0] < 3 ? cmds[data[0]] : data[1];
  keys.has_old = data[1] & 1;
  keys.has_ed_id = !(data[1] & 2);
  onion_server_params_t p = { .cc_sendme_inc = (data[1] & 4) ? 31 : 0 };
  /* An exact-size heap copy, so reads past len are caught by ASan. */
  size_t n = len - 2;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf)
    return 0;
  memcpy(buf, data + 2, n);
  int r = onion_server_answer(&a, &keys, &p, cmd, buf, n);
  check(r, &a);
  onion_answer_wipe(&a);
  (void)onion_v3_client_msg_parse(&m, buf, n);
  free(buf);
  return 0;
}
