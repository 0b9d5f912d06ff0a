/* test_relay_hs.c -- the relay's introduction and rendezvous point
 * (relay_hs.c; rend-spec-v3 3.1-3.2, 3.1.1.1, 4.1-4.2) driven through fake
 * engine callbacks: ESTABLISH_INTRO accepted and refused (bad MAC, bad
 * signature, legacy key, not the last hop, circuit with a role, every
 * truncation), one circuit per auth key, INTRODUCE1 relayed unchanged or
 * answered with each INTRODUCE_ACK status, the INTRODUCE2 token bucket
 * (consensus parameters and the service's DoS extension), cookies
 * (duplicate, unknown, once per circuit, freed with their circuit), the
 * RENDEZVOUS1 -> RENDEZVOUS2 + join, and a failed join. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/hs_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/feature/relay/relay_hs.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rand.h"

#define MAX_SENT 1024

typedef struct sent_t {
  uint64_t circ;
  uint8_t command;
  uint8_t body[RELAY_BODY_MAX];
  size_t len;
} sent_t;

static struct {
  relay_hs_t *h;
  sent_t sent[MAX_SENT];
  size_t n_sent;
  uint64_t closed[MAX_SENT];
  uint8_t close_reason[MAX_SENT];
  size_t n_closed;
  uint64_t splice_a, splice_b;
  int n_splices;
  int splice_result;
  int send_fail_circ;      /* sends on this circuit fail (0: none) */
} F;

static int
f_send(void *arg, uint64_t circ, uint8_t command, const uint8_t *body,
       size_t len)
{
  (void)arg;
  if (F.send_fail_circ && circ == (uint64_t)F.send_fail_circ)
    return -1;
  cr_assert_lt(F.n_sent, MAX_SENT);
  cr_assert_leq(len, RELAY_BODY_MAX);
  sent_t *s = &F.sent[F.n_sent++];
  s->circ = circ;
  s->command = command;
  memcpy(s->body, body, len);
  s->len = len;
  return 0;
}

/* As the engine does for a circuit other than the one being pumped: the
 * close comes back at once through on_circ_closed. */
static void
f_close(void *arg, uint64_t circ, uint8_t reason)
{
  (void)arg;
  cr_assert_lt(F.n_closed, MAX_SENT);
  F.close_reason[F.n_closed] = reason;
  F.closed[F.n_closed++] = circ;
  relay_hs_circ_closed(F.h, circ);
}

static int
f_splice(void *arg, uint64_t a, uint64_t b)
{
  (void)arg;
  F.splice_a = a;
  F.splice_b = b;
  F.n_splices++;
  return F.splice_result;
}

static ed25519_keypair_t svc_kp;
static uint8_t kh_svc[20];

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  memset(&F, 0, sizeof(F));
  relay_hs_io_t io = { f_send, f_close, f_splice, NULL };
  F.h = relay_hs_new(&io);
  cr_assert_not_null(F.h);
  cr_assert_eq(ed25519_keypair_generate(&svc_kp), 0);
  crypto_rand(kh_svc, sizeof(kh_svc));
}

static void
teardown(void)
{
  relay_hs_free(F.h);
  cr_assert_null(F.h);
}

TestSuite(relay_hs, .init = setup, .fini = teardown);

static const relay_hs_circ_info_t *
info(const uint8_t *kh, bool last_hop, bool client)
{
  static relay_hs_circ_info_t ci;
  ci.kh = kh;
  ci.last_hop = last_hop;
  ci.prev_is_client = client;
  return &ci;
}

static bool
was_closed(uint64_t circ)
{
  for (size_t i = 0; i < F.n_closed; i++)
    if (F.closed[i] == circ)
      return true;
  return false;
}

static const sent_t *
last_sent(void)
{
  cr_assert_gt(F.n_sent, 0);
  return &F.sent[F.n_sent - 1];
}

/* ESTABLISH_INTRO of kp for a circuit with KH kh, with exts (NULL: none). */
static size_t
build_ei(uint8_t *out, const ed25519_keypair_t *kp, const uint8_t *kh,
         const hs_cell_exts_t *exts)
{
  size_t n = 0;
  cr_assert_eq(hs_establish_intro_build(kp, kh, exts, out, RELAY_BODY_MAX,
                                        &n), 0);
  return n;
}

/* Establish an intro point for svc_kp on circuit circ; checks the reply. */
static void
establish(uint64_t circ, const uint8_t *kh, const hs_cell_exts_t *exts)
{
  uint8_t b[RELAY_BODY_MAX];
  size_t n = build_ei(b, &svc_kp, kh, exts);
  size_t before = F.n_sent;
  cr_assert(relay_hs_handle_msg(F.h, circ, info(kh, true, false),
                                RELAY_ESTABLISH_INTRO, b, n, 1000));
  cr_assert_eq(F.n_sent, before + 1);
  cr_assert_eq(last_sent()->circ, circ);
  cr_assert_eq(last_sent()->command, RELAY_INTRO_ESTABLISHED);
  hs_cell_exts_t e;
  cr_assert_eq(hs_intro_established_decode(&e, last_sent()->body,
                                           last_sent()->len), 0);
  cr_assert(!was_closed(circ));
}

/* An INTRODUCE1 body naming key (fake encrypted part). */
static size_t
build_intro1(uint8_t *out, const uint8_t key[32])
{
  static hs_introduce1_t m;
  uint8_t enc[200];
  size_t n = 0;
  memset(&m, 0, sizeof(m));
  for (size_t i = 0; i < sizeof(enc); i++)
    enc[i] = (uint8_t)(i * 7);
  memcpy(m.auth_key, key, 32);
  m.encrypted = enc;
  m.encrypted_len = sizeof(enc);
  cr_assert_eq(hs_introduce1_encode(&m, out, RELAY_BODY_MAX, &n), 0);
  return n;
}

/* Send INTRODUCE1 on circ (a fresh client circuit); the ACK status. */
static int
introduce(uint64_t circ, const uint8_t *body, size_t len, uint64_t now)
{
  uint8_t kh[20] = { 9 };
  cr_assert(relay_hs_handle_msg(F.h, circ, info(kh, true, false),
                                RELAY_INTRODUCE1, body, len, now));
  if (was_closed(circ))
    return -1;
  const sent_t *s = last_sent();
  cr_assert_eq(s->circ, circ);
  cr_assert_eq(s->command, RELAY_INTRODUCE_ACK);
  hs_introduce_ack_t a;
  cr_assert_eq(hs_introduce_ack_decode(&a, s->body, s->len), 0);
  return a.status;
}

Test(relay_hs, establish_intro_then_introduce1_relayed_unchanged)
{
  establish(10, kh_svc, NULL);
  relay_hs_stats_t st;
  relay_hs_get_stats(F.h, &st);
  cr_assert_eq(st.intro_circuits, 1);
  cr_assert_eq(st.intro_established, 1);
  uint8_t b[RELAY_BODY_MAX];
  size_t n = build_intro1(b, svc_kp.pub.pubkey);
  cr_assert_eq(introduce(20, b, n, 1000), HS_INTRO_ACK_SUCCESS);
  /* Before the ACK: the body as INTRODUCE2 on the service's circuit. */
  const sent_t *s = &F.sent[F.n_sent - 2];
  cr_assert_eq(s->circ, 10);
  cr_assert_eq(s->command, RELAY_INTRODUCE2);
  cr_assert_eq(s->len, n);
  cr_assert_arr_eq(s->body, b, n);
  /* Once per circuit: a second INTRODUCE1 closes it. */
  cr_assert_eq(introduce(20, b, n, 1000), -1);
  cr_assert(!was_closed(10));
  relay_hs_get_stats(F.h, &st);
  cr_assert_eq(st.introduce2_sent, 1);
}

Test(relay_hs, establish_intro_bad_mac_or_signature_closes)
{
  uint8_t b[RELAY_BODY_MAX], other_kh[20];
  memcpy(other_kh, kh_svc, 20);
  other_kh[19] ^= 1;
  /* MAC made with another KH. */
  size_t n = build_ei(b, &svc_kp, other_kh, NULL);
  cr_assert(relay_hs_handle_msg(F.h, 1, info(kh_svc, true, false),
                                RELAY_ESTABLISH_INTRO, b, n, 0));
  cr_assert(was_closed(1));
  cr_assert_eq(F.close_reason[0], CELL_DESTROY_PROTOCOL);
  /* A flipped signature byte. */
  n = build_ei(b, &svc_kp, kh_svc, NULL);
  b[n - 1] ^= 0x20;
  cr_assert(relay_hs_handle_msg(F.h, 2, info(kh_svc, true, false),
                                RELAY_ESTABLISH_INTRO, b, n, 0));
  cr_assert(was_closed(2));
  /* Every flipped byte and every truncation is refused. */
  n = build_ei(b, &svc_kp, kh_svc, NULL);
  for (size_t i = 0; i < n; i++) {
    uint8_t c[RELAY_BODY_MAX];
    memcpy(c, b, n);
    c[i] ^= 0x01;
    cr_assert(relay_hs_handle_msg(F.h, 100 + i, info(kh_svc, true, false),
                                  RELAY_ESTABLISH_INTRO, c, n, 0));
    cr_assert(was_closed(100 + i), "flip at %zu accepted", i);
    cr_assert(relay_hs_handle_msg(F.h, 1000 + i, info(kh_svc, true, false),
                                  RELAY_ESTABLISH_INTRO, b, i, 0));
    cr_assert(was_closed(1000 + i), "prefix %zu accepted", i);
  }
  /* No KH known for the circuit: refused. */
  cr_assert(relay_hs_handle_msg(F.h, 3, info(NULL, true, false),
                                RELAY_ESTABLISH_INTRO, b, n, 0));
  cr_assert(was_closed(3));
  relay_hs_stats_t st;
  relay_hs_get_stats(F.h, &st);
  cr_assert_eq(st.intro_circuits, 0);
  cr_assert_eq(st.intro_established, 0);
  cr_assert_eq(F.n_sent, 0, "nothing answered to a bad cell");
}

Test(relay_hs, establish_intro_not_last_hop_or_legacy_closes)
{
  uint8_t b[RELAY_BODY_MAX];
  size_t n = build_ei(b, &svc_kp, kh_svc, NULL);
  cr_assert(relay_hs_handle_msg(F.h, 1, info(kh_svc, false, false),
                                RELAY_ESTABLISH_INTRO, b, n, 0));
  cr_assert(was_closed(1));
  /* Legacy RSA key types (0, 1). */
  b[0] = 1;
  cr_assert(relay_hs_handle_msg(F.h, 2, info(kh_svc, true, false),
                                RELAY_ESTABLISH_INTRO, b, n, 0));
  cr_assert(was_closed(2));
  b[0] = 0;
  cr_assert(relay_hs_handle_msg(F.h, 3, info(kh_svc, true, false),
                                RELAY_ESTABLISH_INTRO, b, n, 0));
  cr_assert(was_closed(3));
  /* An established intro circuit may not establish again, nor be a
   * rendezvous circuit. */
  establish(4, kh_svc, NULL);
  n = build_ei(b, &svc_kp, kh_svc, NULL);
  cr_assert(relay_hs_handle_msg(F.h, 4, info(kh_svc, true, false),
                                RELAY_ESTABLISH_INTRO, b, n, 0));
  cr_assert(was_closed(4));
  relay_hs_stats_t st;
  relay_hs_get_stats(F.h, &st);
  cr_assert_eq(st.intro_circuits, 0, "closed circuit's key forgotten");
}

Test(relay_hs, newer_intro_circuit_replaces_older)
{
  uint8_t kh2[20];
  crypto_rand(kh2, sizeof(kh2));
  establish(10, kh_svc, NULL);
  establish(11, kh2, NULL);
  cr_assert(was_closed(10), "older circuit closed");
  cr_assert(!was_closed(11));
  relay_hs_stats_t st;
  relay_hs_get_stats(F.h, &st);
  cr_assert_eq(st.intro_circuits, 1);
  cr_assert_eq(st.intro_replaced, 1);
  uint8_t b[RELAY_BODY_MAX];
  size_t n = build_intro1(b, svc_kp.pub.pubkey);
  cr_assert_eq(introduce(20, b, n, 0), HS_INTRO_ACK_SUCCESS);
  cr_assert_eq(F.sent[F.n_sent - 2].circ, 11);
  /* The older circuit's late close does not drop the newer mapping. */
  relay_hs_circ_closed(F.h, 10);
  cr_assert_eq(introduce(21, b, n, 0), HS_INTRO_ACK_SUCCESS);
  /* The newer one closes: the key is unknown from then on. */
  relay_hs_circ_closed(F.h, 11);
  cr_assert_eq(introduce(22, b, n, 0), HS_INTRO_ACK_UNKNOWN_SERVICE);
}

Test(relay_hs, introduce1_refusals)
{
  establish(10, kh_svc, NULL);
  uint8_t b[RELAY_BODY_MAX], key[32];
  crypto_rand(key, sizeof(key));
  size_t n = build_intro1(b, key);
  /* Unknown key: NACK status 1, the circuit stays. */
  cr_assert_eq(introduce(20, b, n, 0), HS_INTRO_ACK_UNKNOWN_SERVICE);
  cr_assert(!was_closed(20));
  /* From a client straight to us (single hop): closed, nothing relayed. */
  n = build_intro1(b, svc_kp.pub.pubkey);
  size_t sent = F.n_sent;
  cr_assert(relay_hs_handle_msg(F.h, 21, info(kh_svc, true, true),
                                RELAY_INTRODUCE1, b, n, 0));
  cr_assert(was_closed(21));
  cr_assert_eq(F.n_sent, sent);
  /* Not the last hop. */
  cr_assert(relay_hs_handle_msg(F.h, 22, info(kh_svc, false, false),
                                RELAY_INTRODUCE1, b, n, 0));
  cr_assert(was_closed(22));
  /* On the service's own intro circuit: closed (and the key forgotten). */
  cr_assert(relay_hs_handle_msg(F.h, 10, info(kh_svc, true, false),
                                RELAY_INTRODUCE1, b, n, 0));
  cr_assert(was_closed(10));
  establish(11, kh_svc, NULL);
  /* Legacy: a non-zero LEGACY_KEY_ID -> closed. */
  uint8_t l[RELAY_BODY_MAX];
  memcpy(l, b, n);
  l[0] = 1;
  cr_assert_eq(introduce(23, l, n, 0), -1);
  /* Another AUTH_KEY_TYPE (not ed25519): a NACK, nothing relayed. */
  memcpy(l, b, n);
  l[20] = 1;
  cr_assert_eq(introduce(24, l, n, 0), HS_INTRO_ACK_BAD_FORMAT);
  /* Truncated bodies: BAD_FORMAT NACK (or closed, for a legacy-looking
   * prefix); never relayed. */
  for (size_t k = 0; k < 20 + 1 + 2 + 32 + 1 + 64; k++) {
    sent = F.n_sent;
    int st = introduce(1000 + k, b, k, 0);
    cr_assert(st == HS_INTRO_ACK_BAD_FORMAT || st == -1,
              "prefix %zu: %d", k, st);
    for (size_t i = sent; i < F.n_sent; i++)
      cr_assert_neq(F.sent[i].command, RELAY_INTRODUCE2);
  }
  relay_hs_stats_t s;
  relay_hs_get_stats(F.h, &s);
  cr_assert_eq(s.introduce2_sent, 0);
  cr_assert_geq(s.introduce1_unknown, 1);
}

Test(relay_hs, introduce2_bucket_from_consensus)
{
  /* tor's rule: take a token, then allow while some are left -- a full
   * bucket of 3 passes 2, then one per refill of 2 tokens. */
  relay_hs_params_t p = { true, 2, 3 };
  relay_hs_set_params(F.h, &p);
  establish(10, kh_svc, NULL);
  uint8_t b[RELAY_BODY_MAX];
  size_t n = build_intro1(b, svc_kp.pub.pubkey);
  uint64_t circ = 100, now = 1000;
  for (int i = 0; i < 2; i++)
    cr_assert_eq(introduce(circ++, b, n, now), HS_INTRO_ACK_SUCCESS);
  size_t sent = F.n_sent;
  cr_assert_eq(introduce(circ++, b, n, now), HS_INTRO_ACK_CANT_RELAY);
  cr_assert_eq(F.n_sent, sent + 1, "only the NACK, nothing relayed");
  /* One second later two more tokens: one more INTRODUCE2. */
  now += 1000;
  cr_assert_eq(introduce(circ++, b, n, now), HS_INTRO_ACK_SUCCESS);
  cr_assert_eq(introduce(circ++, b, n, now), HS_INTRO_ACK_CANT_RELAY);
  relay_hs_stats_t s;
  relay_hs_get_stats(F.h, &s);
  cr_assert_eq(s.introduce1_dos, 2);
  cr_assert_eq(s.introduce2_sent, 3);
  /* The consensus turns the defence off: the circuit follows. */
  p.intro_dos_enabled = false;
  relay_hs_set_params(F.h, &p);
  for (int i = 0; i < 10; i++)
    cr_assert_eq(introduce(circ++, b, n, now), HS_INTRO_ACK_SUCCESS);
}

Test(relay_hs, introduce2_bucket_from_dos_extension)
{
  uint8_t f[32];
  size_t fl;
  hs_cell_exts_t e = { .n = 1 };
  /* The service asks for rate 3, burst 3 while the consensus says off. */
  cr_assert_eq(hs_intro_dos_ext_encode(3, 3, f, sizeof(f), &fl), 0);
  e.ext[0] = (hs_cell_ext_t){ HS_EXT_ESTABLISH_INTRO_DOS, (uint8_t)fl, f };
  establish(10, kh_svc, &e);
  uint8_t b[RELAY_BODY_MAX];
  size_t n = build_intro1(b, svc_kp.pub.pubkey);
  uint64_t circ = 100;
  cr_assert_eq(introduce(circ++, b, n, 5000), HS_INTRO_ACK_SUCCESS);
  cr_assert_eq(introduce(circ++, b, n, 5000), HS_INTRO_ACK_SUCCESS);
  cr_assert_eq(introduce(circ++, b, n, 5000), HS_INTRO_ACK_CANT_RELAY);
  /* New consensus parameters do not override the service's own. */
  relay_hs_params_t p = { false, 25, 200 };
  relay_hs_set_params(F.h, &p);
  cr_assert_eq(introduce(circ++, b, n, 5000), HS_INTRO_ACK_CANT_RELAY);
  /* A service that turns the defence off (a zero parameter) while the
   * consensus has it on. */
  p = (relay_hs_params_t){ true, 1, 1 };
  relay_hs_set_params(F.h, &p);
  cr_assert_eq(hs_intro_dos_ext_encode(0, 0, f, sizeof(f), &fl), 0);
  e.ext[0].len = (uint8_t)fl;
  uint8_t kh2[20] = { 1, 2, 3 };
  establish(11, kh2, &e);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(introduce(circ++, b, n, 5000), HS_INTRO_ACK_SUCCESS);
}

/* ESTABLISH_RENDEZVOUS of cookie on circ; true if accepted. */
static bool
establish_rend(uint64_t circ, const uint8_t cookie[20], size_t len)
{
  uint8_t kh[20] = { 0 };
  size_t sent = F.n_sent;
  cr_assert(relay_hs_handle_msg(F.h, circ, info(kh, true, false),
                                RELAY_ESTABLISH_RENDEZVOUS, cookie, len, 0));
  if (was_closed(circ))
    return false;
  cr_assert_eq(F.n_sent, sent + 1);
  cr_assert_eq(last_sent()->circ, circ);
  cr_assert_eq(last_sent()->command, RELAY_RENDEZVOUS_ESTABLISHED);
  return true;
}

static bool
rendezvous1(uint64_t circ, const uint8_t cookie[20], const uint8_t *hi,
            size_t hi_len)
{
  uint8_t b[RELAY_BODY_MAX], kh[20] = { 0 };
  memcpy(b, cookie, 20);
  memcpy(b + 20, hi, hi_len);
  cr_assert(relay_hs_handle_msg(F.h, circ, info(kh, true, true),
                                RELAY_RENDEZVOUS1, b, 20 + hi_len, 0));
  return !was_closed(circ);
}

Test(relay_hs, rendezvous_join)
{
  uint8_t cookie[20], hi[HS_CELL_HANDSHAKE_INFO_LEN + 10];
  crypto_rand(cookie, sizeof(cookie));
  crypto_rand(hi, sizeof(hi));
  cr_assert(establish_rend(30, cookie, sizeof(cookie)));
  relay_hs_stats_t s;
  relay_hs_get_stats(F.h, &s);
  cr_assert_eq(s.rend_waiting, 1);
  /* The service's RENDEZVOUS1 (from a single-hop circuit: allowed, single
   * onion services do that) */
  cr_assert(rendezvous1(40, cookie, hi, sizeof(hi)));
  const sent_t *r2 = last_sent();
  cr_assert_eq(r2->circ, 30);
  cr_assert_eq(r2->command, RELAY_RENDEZVOUS2);
  cr_assert_eq(r2->len, sizeof(hi), "HANDSHAKE_INFO relayed verbatim");
  cr_assert_arr_eq(r2->body, hi, sizeof(hi));
  cr_assert_eq(F.n_splices, 1);
  cr_assert_eq(F.splice_a, 30);
  cr_assert_eq(F.splice_b, 40);
  relay_hs_get_stats(F.h, &s);
  cr_assert_eq(s.rend_waiting, 0);
  cr_assert_eq(s.rend_joined, 1);
  /* The cookie is used up: another RENDEZVOUS1 with it is refused. */
  cr_assert_not(rendezvous1(41, cookie, hi, sizeof(hi)));
  /* Joined circuits take no other role. */
  cr_assert_not(establish_rend(30, cookie, sizeof(cookie)));
  cr_assert_not(establish_rend(40, cookie, sizeof(cookie)));
}

Test(relay_hs, rendezvous_refusals)
{
  uint8_t cookie[20], other[20], hi[64] = { 0 };
  crypto_rand(cookie, sizeof(cookie));
  memcpy(other, cookie, 20);
  other[0] ^= 1;
  /* Unknown cookie. */
  cr_assert_not(rendezvous1(1, cookie, hi, sizeof(hi)));
  cr_assert(establish_rend(2, cookie, sizeof(cookie)));
  /* Duplicate cookie on another circuit: that one is closed, the first
   * still waits. */
  cr_assert_not(establish_rend(3, cookie, sizeof(cookie)));
  cr_assert(!was_closed(2));
  /* Once per circuit. */
  cr_assert_not(establish_rend(2, other, sizeof(other)));
  /* Closing the waiting circuit (here: the line above) frees the cookie. */
  cr_assert_not(rendezvous1(4, cookie, hi, sizeof(hi)));
  cr_assert(establish_rend(5, cookie, sizeof(cookie)));
  /* Short bodies. */
  for (size_t k = 0; k < 20; k++)
    cr_assert_not(establish_rend(100 + k, other, k));
  uint8_t kh[20] = { 0 };
  for (size_t k = 0; k < 20; k++) {
    cr_assert(relay_hs_handle_msg(F.h, 200 + k, info(kh, true, false),
                                  RELAY_RENDEZVOUS1, cookie, k, 0));
    cr_assert(was_closed(200 + k));
  }
  /* Not the last hop. */
  cr_assert(relay_hs_handle_msg(F.h, 300, info(kh, false, false),
                                RELAY_ESTABLISH_RENDEZVOUS, other, 20, 0));
  cr_assert(was_closed(300));
  cr_assert(relay_hs_handle_msg(F.h, 301, info(kh, false, false),
                                RELAY_RENDEZVOUS1, cookie, 20, 0));
  cr_assert(was_closed(301));
  /* Still waiting after all that. */
  cr_assert(rendezvous1(6, cookie, hi, sizeof(hi)));
  cr_assert_eq(F.splice_a, 5);
}

Test(relay_hs, failed_join_closes_both)
{
  uint8_t cookie[20], hi[64] = { 0 };
  crypto_rand(cookie, sizeof(cookie));
  cr_assert(establish_rend(7, cookie, sizeof(cookie)));
  F.splice_result = -1;
  cr_assert_not(rendezvous1(8, cookie, hi, sizeof(hi)));
  cr_assert(was_closed(7));
  /* A client circuit that cannot take RENDEZVOUS2 also fails the join. */
  F.splice_result = 0;
  cr_assert(establish_rend(9, cookie, sizeof(cookie)));
  F.send_fail_circ = 9;
  cr_assert_not(rendezvous1(10, cookie, hi, sizeof(hi)));
  cr_assert(was_closed(9));
  relay_hs_stats_t s;
  relay_hs_get_stats(F.h, &s);
  cr_assert_eq(s.rend_joined, 0);
  cr_assert_eq(s.rend_waiting, 0);
}

Test(relay_hs, other_commands_are_not_ours)
{
  uint8_t b[8] = { 0 }, kh[20] = { 0 };
  static const uint8_t cmds[] = { RELAY_INTRODUCE2, RELAY_RENDEZVOUS2,
                                  RELAY_INTRO_ESTABLISHED,
                                  RELAY_INTRODUCE_ACK, RELAY_DATA,
                                  RELAY_RENDEZVOUS_ESTABLISHED };
  for (size_t i = 0; i < sizeof(cmds); i++)
    cr_assert_not(relay_hs_handle_msg(F.h, 1, info(kh, true, false), cmds[i],
                                      b, sizeof(b), 0));
  cr_assert_eq(F.n_sent, 0);
  cr_assert_eq(F.n_closed, 0);
  cr_assert_not(relay_hs_handle_msg(NULL, 1, info(kh, true, false),
                                    RELAY_INTRODUCE1, b, 8, 0));
  relay_hs_io_t bad = { NULL, f_close, f_splice, NULL };
  cr_assert_null(relay_hs_new(&bad));
  relay_hs_free(F.h);   /* NULL-safe, and teardown's free gets NULL */
  relay_hs_circ_closed(NULL, 1);
}
