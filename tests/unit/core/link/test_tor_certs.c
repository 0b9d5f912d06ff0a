/* test_tor_certs.c -- known-answer tests: the CERTS cell and TLS
 * certificate of a real tor 0.4.9.11 relay (tor_capture.h) validated as
 * tor-spec 4.2 requires, identities equal to the relay's fingerprint files,
 * every single-bit change in a certificate rejected, and the whole
 * initiator state machine run over the relay's cells. */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/channel/link_handshake.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

#include "core/link/tor_capture.h"

static uint8_t FP[20];
static ed25519_public_key_t ED;

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(base16_decode(FP, sizeof(FP), TOR_FP_HEX, strlen(TOR_FP_HEX)),
               20);
  cr_assert_eq(base64_decode(ED.pubkey, sizeof(ED.pubkey), TOR_ED_B64,
                             strlen(TOR_ED_B64)), 32);
}

TestSuite(tor_certs, .init = setup);

static int check(const uint8_t *payload, size_t len, const uint8_t *tls,
                 size_t tls_len, time_t now, const char **why)
{
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  link_certs_result_t res;
  int r = cell_certs_decode(cc, payload, len);
  if (r == 0)
    r = link_certs_check_responder(cc, tls, tls_len, now, FP, &ED, &res, why);
  else
    r = LINK_ERR_MALFORMED;
  if (r == 0) {
    cr_assert_arr_eq(res.rsa_id, FP, 20);
    cr_assert_arr_eq(res.ed_id.pubkey, ED.pubkey, 32);
  }
  al_free(cc);
  return r;
}

Test(tor_certs, valid_at_capture_time)
{
  const char *why = "";
  cr_assert_eq(check(TOR_CERTS_PAYLOAD, sizeof(TOR_CERTS_PAYLOAD),
                     TOR_TLS_CERT, sizeof(TOR_TLS_CERT), TOR_CAPTURE_TIME,
                     &why), 0, "%s", why);
  /* tor also sends its X.509 link certificate (type 1): the TLS cert. */
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  cr_assert_eq(cell_certs_decode(cc, TOR_CERTS_PAYLOAD,
                                 sizeof(TOR_CERTS_PAYLOAD)), 0);
  cr_assert_eq(cc->n, 5);
  const cell_cert_entry_t *t1 = cell_certs_find(cc, CELL_CERT_RSA_LINK);
  cr_assert_not_null(t1);
  cr_assert_eq(t1->len, sizeof(TOR_TLS_CERT));
  cr_assert_arr_eq(t1->body, TOR_TLS_CERT, t1->len);
  al_free(cc);
}

Test(tor_certs, expired_later)
{
  const char *why = "";
  cr_assert_eq(check(TOR_CERTS_PAYLOAD, sizeof(TOR_CERTS_PAYLOAD),
                     TOR_TLS_CERT, sizeof(TOR_TLS_CERT),
                     TOR_CAPTURE_TIME + 400 * 86400, &why), LINK_ERR_CERTS);
  cr_assert(strstr(why, "expired"), "%s", why);
}

Test(tor_certs, wrong_expected_identity)
{
  cell_certs_t *cc = al_calloc(1, sizeof(*cc));
  uint8_t fp[20];
  const char *why;
  memcpy(fp, FP, 20);
  fp[7] ^= 0x10;
  cr_assert_eq(cell_certs_decode(cc, TOR_CERTS_PAYLOAD,
                                 sizeof(TOR_CERTS_PAYLOAD)), 0);
  cr_assert_eq(link_certs_check_responder(cc, TOR_TLS_CERT,
                                          sizeof(TOR_TLS_CERT),
                                          TOR_CAPTURE_TIME, fp, NULL, NULL,
                                          &why), LINK_ERR_IDENTITY);
  al_free(cc);
}

/** Flip one bit in every byte position of the certificates of types 2, 4,
 * 5 and 7 (and of the TLS cert): each change must be refused.  Type 1 is
 * not used for an Ed25519+RSA identity. */
Test(tor_certs, every_bit_flip_rejected)
{
  size_t len = sizeof(TOR_CERTS_PAYLOAD);
  uint8_t *p = al_memdup(TOR_CERTS_PAYLOAD, len);
  size_t off = 1;
  int tested = 0;
  for (unsigned i = 0; i < TOR_CERTS_PAYLOAD[0]; i++) {
    uint8_t type = p[off];
    size_t clen = ((size_t)p[off + 1] << 8) | p[off + 2];
    size_t body = off + 3;
    if (type != CELL_CERT_RSA_LINK) {
      for (size_t j = 0; j < clen; j++) {
        const char *why = "";
        uint8_t bit = (uint8_t)(1u << (j % 8));
        p[body + j] ^= bit;
        int r = check(p, len, TOR_TLS_CERT, sizeof(TOR_TLS_CERT),
                      TOR_CAPTURE_TIME, &why);
        p[body + j] ^= bit;
        cr_assert_lt(r, 0, "type %u byte %zu accepted", type, j);
        tested++;
      }
    }
    off = body + clen;
  }
  cr_assert_gt(tested, 800);
  uint8_t *tls = al_memdup(TOR_TLS_CERT, sizeof(TOR_TLS_CERT));
  for (size_t j = 0; j < sizeof(TOR_TLS_CERT); j += 7) {
    tls[j] ^= 0x01;
    cr_assert_eq(check(p, len, tls, sizeof(TOR_TLS_CERT), TOR_CAPTURE_TIME,
                       NULL), LINK_ERR_CERTS);
    tls[j] ^= 0x01;
  }
  al_free(tls);
  al_free(p);
}

/** Append one encoded cell to buf. */
static size_t put_cell(uint8_t *buf, size_t at, uint8_t cmd,
                       const uint8_t *pl, size_t pl_len, unsigned lp)
{
  cell_t c = { 0, cmd, (uint16_t)pl_len, pl };
  size_t n;
  cr_assert_eq(cell_encode(&c, lp, buf + at, 4096 - at, &n), 0);
  return at + n;
}

Test(tor_certs, initiator_over_tor_cells)
{
  static const uint8_t versions[] = { 0, 3, 0, 4, 0, 5 };
  uint8_t ac[38] = { 0 };
  uint8_t ni[] = { 0x6a, 0, 0, 0, 4, 4, 127, 0, 0, 1, 1, 4, 4, 127, 0, 0, 2 };
  uint8_t *buf = al_malloc(4096);
  size_t at = 0, used;
  ac[33] = 2;
  ac[35] = 1;
  ac[37] = 3;
  at = put_cell(buf, at, CELL_VERSIONS, versions, sizeof(versions), 0);
  at = put_cell(buf, at, CELL_CERTS, TOR_CERTS_PAYLOAD,
                sizeof(TOR_CERTS_PAYLOAD), 5);
  at = put_cell(buf, at, CELL_AUTH_CHALLENGE, ac, sizeof(ac), 5);
  at = put_cell(buf, at, CELL_NETINFO, ni, sizeof(ni), 5);
  /* One more cell after NETINFO is left for the channel. */
  size_t end = put_cell(buf, at, CELL_PADDING, NULL, 0, 5);

  link_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.role = LINK_ROLE_INITIATOR;
  cfg.now = TOR_CAPTURE_TIME;
  cfg.expected_rsa_id = FP;
  cfg.expected_ed_id = &ED;
  cfg.tls_peer_cert = TOR_TLS_CERT;
  cfg.tls_peer_cert_len = sizeof(TOR_TLS_CERT);
  link_handshake_t *hs = link_handshake_new(&cfg);
  cr_assert_eq(link_handshake_feed(hs, buf, end, &used), 0);
  cr_assert_eq(used, at);
  cr_assert_eq(link_handshake_state(hs), LINK_HS_DONE);
  const link_peer_t *p = link_handshake_peer(hs);
  cr_assert_eq(p->linkproto, 5);
  cr_assert(p->authenticated);
  cr_assert_eq(p->netinfo_time, 0x6a000000u);
  cr_assert_eq(p->n_addrs, 1);
  cr_assert_arr_eq(p->addrs[0].addr, "\x7f\x00\x00\x02", 4);
  /* Our output: VERSIONS (2-byte circ id) then a 514-byte NETINFO. */
  size_t olen;
  const uint8_t *out = link_handshake_output(hs, &olen);
  cr_assert_eq(olen, 9 + 514);
  cr_assert_arr_eq(out, "\x00\x00\x07\x00\x04\x00\x04\x00\x05", 9);
  cr_assert_eq(out[9 + 4], CELL_NETINFO);
  cr_assert_arr_eq(out + 9 + 5, "\x00\x00\x00\x00", 4);  /* TIME 0 */
  link_handshake_free(hs);
  al_free(buf);
}
