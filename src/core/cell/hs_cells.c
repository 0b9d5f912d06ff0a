/* hs_cells.c -- onion-service relay message bodies (rend-spec-v3 3.1.1
 * ESTABLISH_INTRO with the 3.1.1.1 DoS extension, 3.1.3 INTRO_ESTABLISHED,
 * 3.2.1 INTRODUCE1/2, 3.2.2 INTRODUCE_ACK, 3.3 the INTRODUCE2 plaintext,
 * 4.1 ESTABLISH_RENDEZVOUS / RENDEZVOUS_ESTABLISHED, 4.2 RENDEZVOUS1/2),
 * and the intro point's ESTABLISH_INTRO check (MAC with KH, signature).
 * See include/allium/core/cell/hs_cells.h. */
#include "allium/core/cell/hs_cells.h"
#include "allium/core/cell/cell.h"
#include "allium/lib/bytes/bytes.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

#include "cell_internal.h"

/* ---- extension lists ---- */

/* Read N_EXTENSIONS and the extensions into e; 0 or CELL_ERR_TRUNCATED. */
static int
exts_decode(hs_cell_exts_t *e, bytes_reader_t *r)
{
  uint8_t n = bytes_get_u8(r);
  for (unsigned i = 0; i < n; i++) {
    hs_cell_ext_t *x = &e->ext[i];
    x->type = bytes_get_u8(r);
    x->len = bytes_get_u8(r);
    x->data = bytes_get_bytes(r, x->len);
  }
  if (bytes_reader_failed(r)) {
    memset(e, 0, sizeof(*e));
    return CELL_ERR_TRUNCATED;
  }
  e->n = n;
  return CELL_OK;
}

/* Append N_EXTENSIONS and the extensions (NULL: none). */
static int
exts_encode(bytes_writer_t *w, const hs_cell_exts_t *e)
{
  if (!e) {
    bytes_put_u8(w, 0);
    return CELL_OK;
  }
  bytes_put_u8(w, e->n);
  for (unsigned i = 0; i < e->n; i++) {
    const hs_cell_ext_t *x = &e->ext[i];
    if (x->len && !x->data)
      return CELL_ERR_VALUE;
    bytes_put_u8(w, x->type);
    bytes_put_u8(w, x->len);
    bytes_put_bytes(w, x->data, x->len);
  }
  return CELL_OK;
}

const hs_cell_ext_t *
hs_cell_exts_find(const hs_cell_exts_t *e, uint8_t type)
{
  for (unsigned i = 0; e && i < e->n; i++) {
    if (e->ext[i].type == type)
      return &e->ext[i];
  }
  return NULL;
}

/* ---- DoS extension (3.1.1.1) ---- */

/* Parse N_PARAMS (type, u64) pairs; first occurrence of a type wins,
 * unknown types are skipped.  -1 if malformed. */
static int
dos_params_parse(const hs_cell_ext_t *x, uint64_t *rate, bool *has_rate,
                 uint64_t *burst, bool *has_burst)
{
  bytes_reader_t r;
  bytes_reader_init(&r, x->data, x->len);
  uint8_t n = bytes_get_u8(&r);
  for (unsigned i = 0; i < n; i++) {
    uint8_t type = bytes_get_u8(&r);
    uint64_t v = bytes_get_u64(&r);
    if (bytes_reader_failed(&r))
      return -1;
    if (type == HS_DOS_PARAM_RATE_PER_SEC && !*has_rate) {
      *rate = v;
      *has_rate = true;
    } else if (type == HS_DOS_PARAM_BURST_PER_SEC && !*has_burst) {
      *burst = v;
      *has_burst = true;
    }
  }
  return bytes_is_exhausted(&r) ? 0 : -1;
}

void
hs_intro_dos_from_exts(hs_intro_dos_t *out, const hs_cell_exts_t *exts)
{
  memset(out, 0, sizeof(*out));
  const hs_cell_ext_t *x = hs_cell_exts_find(exts, HS_EXT_ESTABLISH_INTRO_DOS);
  if (!x)
    return;
  uint64_t rate = 0, burst = 0;
  bool has_rate = false, has_burst = false;
  if (dos_params_parse(x, &rate, &has_rate, &burst, &has_burst) < 0)
    return;
  if (rate > HS_DOS_PARAM_MAX || burst > HS_DOS_PARAM_MAX)
    return;   /* "MUST match the limit": not a valid request, ignore it */
  out->rate_per_sec = rate;
  out->burst_per_sec = burst;
  if ((has_rate && rate == 0) || (has_burst && burst == 0)) {
    out->verdict = HS_INTRO_DOS_DISABLE;   /* one 0 turns the defence off */
    return;
  }
  if (has_rate && has_burst && burst >= rate)
    out->verdict = HS_INTRO_DOS_ENABLE;
  /* burst < rate, or a lone non-zero parameter: ignored */
}

int
hs_intro_dos_ext_encode(uint64_t rate_per_sec, uint64_t burst_per_sec,
                        uint8_t *out, size_t outlen, size_t *len_out)
{
  if (rate_per_sec > HS_DOS_PARAM_MAX || burst_per_sec > HS_DOS_PARAM_MAX)
    return CELL_ERR_VALUE;
  if (rate_per_sec && burst_per_sec && burst_per_sec < rate_per_sec)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_u8(&w, 2);
  bytes_put_u8(&w, HS_DOS_PARAM_RATE_PER_SEC);
  bytes_put_u64(&w, rate_per_sec);
  bytes_put_u8(&w, HS_DOS_PARAM_BURST_PER_SEC);
  bytes_put_u64(&w, burst_per_sec);
  return cell_finish_write(&w, len_out);
}

/* ---- ESTABLISH_INTRO (3.1.1) ---- */

/* rend-spec MAC(k, m) = SHA3-256(htonll(len(k)) | k | m). */
static int
hs_cell_mac(uint8_t out[HS_CELL_MAC_LEN], const uint8_t kh[HS_CELL_KH_LEN],
            const uint8_t *msg, size_t len)
{
  digest_ctx_t *d = digest_ctx_new(DIGEST_ALG_SHA3_256);
  uint8_t klen[8] = { 0, 0, 0, 0, 0, 0, 0, HS_CELL_KH_LEN };
  if (!d)
    return -1;
  digest_ctx_add(d, klen, sizeof(klen));
  digest_ctx_add(d, kh, HS_CELL_KH_LEN);
  digest_ctx_add(d, msg, len);
  digest_ctx_peek(d, out, HS_CELL_MAC_LEN);
  digest_ctx_free(d);
  return 0;
}

int
hs_establish_intro_decode(hs_establish_intro_t *m, const uint8_t *body,
                          size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  uint8_t type = bytes_get_u8(&r);
  uint16_t klen = bytes_get_u16(&r);
  int rv = CELL_OK;
  if (bytes_reader_failed(&r))
    rv = CELL_ERR_TRUNCATED;
  else if (type != HS_CELL_AUTH_KEY_ED25519)
    rv = CELL_ERR_UNSUPPORTED;
  else if (klen != HS_CELL_AUTH_KEY_LEN)
    rv = CELL_ERR_LENGTH;
  if (rv == CELL_OK) {
    bytes_copy_bytes(&r, m->auth_key, HS_CELL_AUTH_KEY_LEN);
    rv = exts_decode(&m->exts, &r);
  }
  if (rv == CELL_OK) {
    m->mac_off = len - bytes_remaining(&r);
    bytes_copy_bytes(&r, m->handshake_auth, HS_CELL_MAC_LEN);
    uint16_t slen = bytes_get_u16(&r);
    if (bytes_reader_failed(&r))
      rv = CELL_ERR_TRUNCATED;
    else if (slen != HS_CELL_SIG_LEN)
      rv = CELL_ERR_LENGTH;
    else
      bytes_copy_bytes(&r, m->sig, HS_CELL_SIG_LEN);
  }
  if (rv == CELL_OK && bytes_reader_failed(&r))
    rv = CELL_ERR_TRUNCATED;
  else if (rv == CELL_OK && !bytes_is_exhausted(&r))
    rv = CELL_ERR_TRAILING;
  if (rv < 0)
    memset(m, 0, sizeof(*m));
  return rv;
}

/* Write everything up to and including N_EXTENSIONS+extensions. */
static int
establish_intro_head(bytes_writer_t *w, const uint8_t *auth_key,
                     const hs_cell_exts_t *exts)
{
  bytes_put_u8(w, HS_CELL_AUTH_KEY_ED25519);
  bytes_put_u16(w, HS_CELL_AUTH_KEY_LEN);
  bytes_put_bytes(w, auth_key, HS_CELL_AUTH_KEY_LEN);
  return exts_encode(w, exts);
}

int
hs_establish_intro_encode(const hs_establish_intro_t *m, uint8_t *out,
                          size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  int rv = establish_intro_head(&w, m->auth_key, &m->exts);
  if (rv < 0)
    return rv;
  bytes_put_bytes(&w, m->handshake_auth, HS_CELL_MAC_LEN);
  bytes_put_u16(&w, HS_CELL_SIG_LEN);
  bytes_put_bytes(&w, m->sig, HS_CELL_SIG_LEN);
  return cell_finish_write(&w, len_out);
}

int
hs_establish_intro_build(const ed25519_keypair_t *auth_kp,
                         const uint8_t kh[HS_CELL_KH_LEN],
                         const hs_cell_exts_t *exts, uint8_t *out,
                         size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  uint8_t mac[HS_CELL_MAC_LEN], sig[HS_CELL_SIG_LEN];
  cell_body_writer(&w, out, outlen);
  int rv = establish_intro_head(&w, auth_kp->pub.pubkey, exts);
  if (rv < 0)
    return rv;
  size_t mac_off = bytes_writer_len(&w);
  size_t mac_at = bytes_reserve(&w, HS_CELL_MAC_LEN);
  bytes_put_u16(&w, HS_CELL_SIG_LEN);
  size_t sig_at = bytes_reserve(&w, HS_CELL_SIG_LEN);
  if (bytes_writer_failed(&w))
    return CELL_ERR_SPACE;
  if (hs_cell_mac(mac, kh, out, mac_off) < 0)
    return CELL_ERR_VALUE;
  memcpy(out + mac_at, mac, HS_CELL_MAC_LEN);
  if (ed25519_sign_prefixed(sig, HS_CELL_ESTABLISH_INTRO_SIG_PREFIX, out,
                            mac_off + HS_CELL_MAC_LEN, auth_kp) < 0)
    return CELL_ERR_VALUE;
  memcpy(out + sig_at, sig, HS_CELL_SIG_LEN);
  return cell_finish_write(&w, len_out);
}

int
hs_establish_intro_verify(hs_establish_intro_t *m, const uint8_t *body,
                          size_t len, const uint8_t kh[HS_CELL_KH_LEN])
{
  hs_establish_intro_t *c = al_malloc(sizeof(*c));
  int rv = hs_establish_intro_decode(c, body, len);
  if (rv == CELL_OK) {
    uint8_t mac[HS_CELL_MAC_LEN];
    ed25519_public_key_t pk;
    memcpy(pk.pubkey, c->auth_key, sizeof(pk.pubkey));
    int mac_ok = hs_cell_mac(mac, kh, body, c->mac_off) == 0 &&
                 crypto_memeq(mac, c->handshake_auth, HS_CELL_MAC_LEN);
    int sig_ok = ed25519_verify_prefixed(c->sig,
                                         HS_CELL_ESTABLISH_INTRO_SIG_PREFIX,
                                         body, c->mac_off + HS_CELL_MAC_LEN,
                                         &pk) == 0;
    memwipe(mac, sizeof(mac));
    if (!(mac_ok & sig_ok))
      rv = CELL_ERR_AUTH;
  }
  if (m) {
    if (rv == CELL_OK)
      memcpy(m, c, sizeof(*m));
    else
      memset(m, 0, sizeof(*m));
  }
  al_free(c);
  return rv;
}

/* ---- INTRO_ESTABLISHED (3.1.3) ---- */

int
hs_intro_established_decode(hs_cell_exts_t *m, const uint8_t *body,
                            size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  if (len == 0)
    return CELL_OK;
  bytes_reader_init(&r, body, len);
  int rv = exts_decode(m, &r);
  if (rv == CELL_OK && !bytes_is_exhausted(&r)) {
    memset(m, 0, sizeof(*m));
    rv = CELL_ERR_TRAILING;
  }
  return rv;
}

int
hs_intro_established_encode(const hs_cell_exts_t *m, uint8_t *out,
                            size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  int rv = exts_encode(&w, m);
  return rv < 0 ? rv : cell_finish_write(&w, len_out);
}

/* ---- INTRODUCE1 / INTRODUCE2 (3.2.1) ---- */

/* LEGACY_KEY_ID, AUTH_KEY_TYPE/LEN/KEY and extensions. */
static int
introduce1_head_decode(hs_introduce1_t *m, bytes_reader_t *r)
{
  const uint8_t *legacy = bytes_get_bytes(r, HS_CELL_LEGACY_KEY_ID_LEN);
  uint8_t type = bytes_get_u8(r);
  uint16_t klen = bytes_get_u16(r);
  if (bytes_reader_failed(r))
    return CELL_ERR_TRUNCATED;
  if (!crypto_is_zero(legacy, HS_CELL_LEGACY_KEY_ID_LEN) ||
      type != HS_CELL_AUTH_KEY_ED25519)
    return CELL_ERR_UNSUPPORTED;
  if (klen != HS_CELL_AUTH_KEY_LEN)
    return CELL_ERR_LENGTH;
  bytes_copy_bytes(r, m->auth_key, HS_CELL_AUTH_KEY_LEN);
  if (bytes_reader_failed(r))
    return CELL_ERR_TRUNCATED;
  return exts_decode(&m->exts, r);
}

int
hs_introduce1_decode(hs_introduce1_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  int rv = introduce1_head_decode(m, &r);
  size_t enc_len = bytes_remaining(&r);
  if (rv == CELL_OK && enc_len < HS_CELL_CLIENT_PK_LEN + HS_CELL_MAC_LEN)
    rv = CELL_ERR_TRUNCATED;
  if (rv < 0) {
    memset(m, 0, sizeof(*m));
    return rv;
  }
  m->encrypted = bytes_get_bytes(&r, enc_len);
  m->encrypted_len = enc_len;
  m->client_pk = m->encrypted;
  m->enc_data = m->encrypted + HS_CELL_CLIENT_PK_LEN;
  m->enc_data_len = enc_len - HS_CELL_CLIENT_PK_LEN - HS_CELL_MAC_LEN;
  m->mac = m->encrypted + enc_len - HS_CELL_MAC_LEN;
  m->mac_covered_len = len - HS_CELL_MAC_LEN;
  return CELL_OK;
}

int
hs_introduce1_encode(const hs_introduce1_t *m, uint8_t *out, size_t outlen,
                     size_t *len_out)
{
  if (m->encrypted_len < HS_CELL_CLIENT_PK_LEN + HS_CELL_MAC_LEN ||
      !m->encrypted)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_zeros(&w, HS_CELL_LEGACY_KEY_ID_LEN);
  bytes_put_u8(&w, HS_CELL_AUTH_KEY_ED25519);
  bytes_put_u16(&w, HS_CELL_AUTH_KEY_LEN);
  bytes_put_bytes(&w, m->auth_key, HS_CELL_AUTH_KEY_LEN);
  int rv = exts_encode(&w, &m->exts);
  if (rv < 0)
    return rv;
  bytes_put_bytes(&w, m->encrypted, m->encrypted_len);
  return cell_finish_write(&w, len_out);
}

/* ---- INTRODUCE_ACK (3.2.2) ---- */

int
hs_introduce_ack_decode(hs_introduce_ack_t *m, const uint8_t *body,
                        size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  uint16_t status = bytes_get_u16(&r);
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  int rv = exts_decode(&m->exts, &r);
  if (rv == CELL_OK && !bytes_is_exhausted(&r))
    rv = CELL_ERR_TRAILING;
  if (rv < 0) {
    memset(m, 0, sizeof(*m));
    return rv;
  }
  m->status = status;
  return CELL_OK;
}

int
hs_introduce_ack_encode(const hs_introduce_ack_t *m, uint8_t *out,
                        size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_u16(&w, m->status);
  int rv = exts_encode(&w, &m->exts);
  return rv < 0 ? rv : cell_finish_write(&w, len_out);
}

/* ---- INTRODUCE2 plaintext (3.3) ---- */

/* Everything after the extensions: onion key, link specifiers, PAD. */
static int
intro2_plain_tail(hs_intro2_plain_t *m, bytes_reader_t *r)
{
  uint8_t ktype = bytes_get_u8(r);
  uint16_t klen = bytes_get_u16(r);
  if (bytes_reader_failed(r))
    return CELL_ERR_TRUNCATED;
  if (ktype != HS_CELL_ONION_KEY_NTOR)
    return CELL_ERR_UNSUPPORTED;
  if (klen != HS_CELL_ONION_KEY_LEN)
    return CELL_ERR_LENGTH;
  bytes_copy_bytes(r, m->onion_key, HS_CELL_ONION_KEY_LEN);
  size_t before = bytes_remaining(r);
  const uint8_t *start = r->buf + r->pos;
  int rv = cell_lspecs_decode(m->spec, &m->n_spec, r);
  if (rv == CELL_OK && bytes_reader_failed(r))
    rv = CELL_ERR_TRUNCATED;
  if (rv < 0)
    return rv;
  m->lspecs_raw = start;
  m->lspecs_raw_len = before - bytes_remaining(r);
  m->pad_len = bytes_remaining(r);
  return CELL_OK;
}

int
hs_intro2_plain_decode(hs_intro2_plain_t *m, const uint8_t *p, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, p, len);
  bytes_copy_bytes(&r, m->cookie, HS_CELL_COOKIE_LEN);
  int rv = bytes_reader_failed(&r) ? CELL_ERR_TRUNCATED
                                   : exts_decode(&m->exts, &r);
  if (rv == CELL_OK)
    rv = intro2_plain_tail(m, &r);
  if (rv < 0)
    memset(m, 0, sizeof(*m));
  return rv;
}

int
hs_intro2_plain_encode(const hs_intro2_plain_t *m, uint8_t *out,
                       size_t outlen, size_t *len_out)
{
  int rv = cell_lspecs_check_dups(m->spec, m->n_spec);
  if (rv < 0)
    return rv;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_bytes(&w, m->cookie, HS_CELL_COOKIE_LEN);
  rv = exts_encode(&w, &m->exts);
  if (rv < 0)
    return rv;
  bytes_put_u8(&w, HS_CELL_ONION_KEY_NTOR);
  bytes_put_u16(&w, HS_CELL_ONION_KEY_LEN);
  bytes_put_bytes(&w, m->onion_key, HS_CELL_ONION_KEY_LEN);
  bytes_put_u8(&w, m->n_spec);
  for (unsigned i = 0; i < m->n_spec; i++) {
    rv = cell_lspec_encode(&w, &m->spec[i]);
    if (rv < 0)
      return rv;
  }
  if (m->pad_len > RELAY_BODY_MAX)
    return CELL_ERR_SPACE;
  bytes_put_zeros(&w, m->pad_len);
  return cell_finish_write(&w, len_out);
}

/* ---- ESTABLISH_RENDEZVOUS / RENDEZVOUS_ESTABLISHED (4.1) ---- */

int
hs_establish_rendezvous_decode(uint8_t cookie[HS_CELL_COOKIE_LEN],
                               const uint8_t *body, size_t len)
{
  memset(cookie, 0, HS_CELL_COOKIE_LEN);
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  if (len < HS_CELL_COOKIE_LEN)
    return CELL_ERR_TRUNCATED;
  memcpy(cookie, body, HS_CELL_COOKIE_LEN);   /* extra bytes ignored */
  return CELL_OK;
}

int
hs_establish_rendezvous_encode(const uint8_t cookie[HS_CELL_COOKIE_LEN],
                               uint8_t *out, size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_bytes(&w, cookie, HS_CELL_COOKIE_LEN);
  return cell_finish_write(&w, len_out);
}

int
hs_rendezvous_established_decode(const uint8_t *body, size_t len)
{
  (void)body;
  return len > RELAY_BODY_MAX ? CELL_ERR_LENGTH : CELL_OK;
}

int
hs_rendezvous_established_encode(uint8_t *out, size_t outlen,
                                 size_t *len_out)
{
  (void)out;
  (void)outlen;
  if (len_out)
    *len_out = 0;
  return CELL_OK;
}

/* ---- RENDEZVOUS1 / RENDEZVOUS2 (4.2) ---- */

int
hs_rendezvous1_decode(hs_rendezvous1_t *m, const uint8_t *body, size_t len)
{
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  if (len < HS_CELL_COOKIE_LEN)
    return CELL_ERR_TRUNCATED;
  memcpy(m->cookie, body, HS_CELL_COOKIE_LEN);
  m->handshake_info = body + HS_CELL_COOKIE_LEN;
  m->handshake_info_len = len - HS_CELL_COOKIE_LEN;
  return CELL_OK;
}

int
hs_rendezvous1_encode(const hs_rendezvous1_t *m, uint8_t *out, size_t outlen,
                      size_t *len_out)
{
  if (m->handshake_info_len && !m->handshake_info)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_bytes(&w, m->cookie, HS_CELL_COOKIE_LEN);
  bytes_put_bytes(&w, m->handshake_info, m->handshake_info_len);
  return cell_finish_write(&w, len_out);
}

int
hs_rendezvous2_decode(hs_rendezvous2_t *m, const uint8_t *body, size_t len)
{
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  if (len < HS_CELL_HANDSHAKE_INFO_LEN)
    return CELL_ERR_TRUNCATED;
  memcpy(m->server_pk, body, 32);
  memcpy(m->auth, body + 32, 32);
  return CELL_OK;
}

int
hs_rendezvous2_encode(const hs_rendezvous2_t *m, uint8_t *out, size_t outlen,
                      size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_bytes(&w, m->server_pk, 32);
  bytes_put_bytes(&w, m->auth, 32);
  return cell_finish_write(&w, len_out);
}
