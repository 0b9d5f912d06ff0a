/* fuzz_relayhs.c -- fuzz target for the relay's introduction and
 * rendezvous point (src/feature/relay/relay_hs.c; rend-spec-v3 3.1-3.2,
 * 4.1-4.2): a sequence of onion-service messages on up to 16 circuits, run
 * through relay_hs_handle_msg() with fake engine callbacks that check what
 * the module does against a model of what it was told.
 *
 * Input: records of  OP [1] | CIRC [1] | FLAGS [1] | LEN [1] | BODY [LEN]
 * (a short record ends the input).  OP mod 8:
 *   0 ESTABLISH_INTRO with BODY as it is          1 ESTABLISH_INTRO built
 *     and signed for key BODY[0] mod 4 with the circuit's KH (FLAGS bit 0:
 *     a DoS extension with rate BODY[1], burst BODY[2])
 *   2 INTRODUCE1 with BODY                        3 INTRODUCE1 for key
 *     BODY[0] mod 4 (fake encrypted part)
 *   4 ESTABLISH_RENDEZVOUS with BODY              5 RENDEZVOUS1 with BODY
 *   6 the circuit closes                          7 new consensus parameters
 * CIRC mod 16 names the circuit; FLAGS bit 1: not the last hop, bit 2: from
 * a client, bit 3: the join fails.  Invariants: INTRODUCE2 only to a live
 * circuit that got INTRO_ESTABLISHED, RENDEZVOUS2 only to a live circuit
 * that got RENDEZVOUS_ESTABLISHED, a join only of two live circuits, nothing
 * sent to a closed circuit, counters never wrap.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/hs_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/feature/relay/relay_hs.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/ed25519.h"

#include "../fuzzing.h"

#define NCIRC 16

static relay_hs_t *H;
static ed25519_keypair_t keys[4];
static struct {
  bool closed, intro_ok, rend_ok;
} M[NCIRC];
static bool join_fails;

static void
fail(const char *what)
{
  fprintf(stderr, "fuzz_relayhs: %s\n", what);
  abort();
}

static int
f_send(void *arg, uint64_t circ, uint8_t command, const uint8_t *body,
       size_t len)
{
  (void)arg;
  (void)body;
  if (circ >= NCIRC || M[circ].closed)
    fail("sent on a closed or unknown circuit");
  if (len > RELAY_BODY_MAX)
    fail("message too long");
  if (command == RELAY_INTRODUCE2 && !M[circ].intro_ok)
    fail("INTRODUCE2 to a circuit that is no intro point");
  if (command == RELAY_RENDEZVOUS2 && !M[circ].rend_ok)
    fail("RENDEZVOUS2 to a circuit that set no cookie");
  if (command == RELAY_INTRO_ESTABLISHED)
    M[circ].intro_ok = true;
  if (command == RELAY_RENDEZVOUS_ESTABLISHED)
    M[circ].rend_ok = true;
  return 0;
}

static void
circ_gone(uint64_t circ)
{
  M[circ].closed = true;
  M[circ].intro_ok = M[circ].rend_ok = false;
  relay_hs_circ_closed(H, circ);
}

static void
f_close(void *arg, uint64_t circ, uint8_t reason)
{
  (void)arg;
  (void)reason;
  if (circ >= NCIRC)
    fail("closed an unknown circuit");
  circ_gone(circ);
}

static int
f_splice(void *arg, uint64_t a, uint64_t b)
{
  (void)arg;
  if (a >= NCIRC || b >= NCIRC || a == b || M[a].closed || M[b].closed)
    fail("joined closed, unknown or identical circuits");
  return join_fails ? -1 : 0;
}

int
fuzz_init(void)
{
  uint8_t seed[32];
  if (crypto_global_init() < 0)
    return -1;
  for (int i = 0; i < 4; i++) {
    memset(seed, 0x40 + i, sizeof(seed));
    if (ed25519_keypair_from_seed(&keys[i], seed) < 0)
      return -1;
  }
  return 0;
}

static void
build_ei(uint8_t *out, size_t *n, const uint8_t *kh, const uint8_t *b,
         size_t len, bool dos)
{
  hs_cell_exts_t e = { .n = 0 };
  uint8_t f[32];
  size_t fl;
  if (dos && len >= 3 &&
      hs_intro_dos_ext_encode(b[1], b[2], f, sizeof(f), &fl) == 0) {
    e.n = 1;
    e.ext[0] = (hs_cell_ext_t){ HS_EXT_ESTABLISH_INTRO_DOS, (uint8_t)fl, f };
  }
  if (hs_establish_intro_build(&keys[len ? b[0] % 4 : 0], kh, &e, out,
                               RELAY_BODY_MAX, n) < 0)
    *n = 0;
}

static void
build_intro1(uint8_t *out, size_t *n, const uint8_t *b, size_t len)
{
  static hs_introduce1_t m;
  static const uint8_t enc[80];
  memset(&m, 0, sizeof(m));
  memcpy(m.auth_key, keys[len ? b[0] % 4 : 0].pub.pubkey, 32);
  m.encrypted = enc;
  m.encrypted_len = sizeof(enc);
  if (hs_introduce1_encode(&m, out, RELAY_BODY_MAX, n) < 0)
    *n = 0;
}

static void
one_op(uint8_t op, uint64_t circ, uint8_t flags, const uint8_t *b,
       size_t len, uint64_t now)
{
  static uint8_t buf[RELAY_BODY_MAX];
  uint8_t kh[20];
  size_t n = 0;
  memset(kh, (int)circ + 1, sizeof(kh));
  relay_hs_circ_info_t ci = { !(flags & 2), (flags & 4) != 0, kh };
  join_fails = (flags & 8) != 0;
  if (M[circ].closed && op % 8 != 6)
    return;   /* a closed circuit carries no more messages */
  switch (op % 8) {
  case 0:
    (void)relay_hs_handle_msg(H, circ, &ci, RELAY_ESTABLISH_INTRO, b, len,
                              now);
    break;
  case 1:
    build_ei(buf, &n, kh, b, len, flags & 1);
    (void)relay_hs_handle_msg(H, circ, &ci, RELAY_ESTABLISH_INTRO, buf, n,
                              now);
    break;
  case 2:
    (void)relay_hs_handle_msg(H, circ, &ci, RELAY_INTRODUCE1, b, len, now);
    break;
  case 3:
    build_intro1(buf, &n, b, len);
    (void)relay_hs_handle_msg(H, circ, &ci, RELAY_INTRODUCE1, buf, n, now);
    break;
  case 4:
    (void)relay_hs_handle_msg(H, circ, &ci, RELAY_ESTABLISH_RENDEZVOUS, b,
                              len, now);
    break;
  case 5:
    (void)relay_hs_handle_msg(H, circ, &ci, RELAY_RENDEZVOUS1, b, len, now);
    break;
  case 6:
    if (!M[circ].closed)
      circ_gone(circ);
    break;
  default: {
    relay_hs_params_t p = { flags & 1, len ? b[0] : 0, len > 1 ? b[1] : 0 };
    relay_hs_set_params(H, &p);
    break;
  }
  }
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  relay_hs_io_t io = { f_send, f_close, f_splice, NULL };
  memset(M, 0, sizeof(M));
  H = relay_hs_new(&io);
  if (!H)
    return 0;
  uint64_t now = 1000;
  while (len >= 4) {
    size_t blen = data[3];
    if (len - 4 < blen)
      break;
    one_op(data[0], data[1] % NCIRC, data[2], data + 4, blen, now);
    now += 37;
    data += 4 + blen;
    len -= 4 + blen;
  }
  relay_hs_stats_t st;
  relay_hs_get_stats(H, &st);
  if (st.intro_circuits > NCIRC || st.rend_waiting > NCIRC)
    fail("live counts out of range");
  relay_hs_free(H);
  return 0;
}
