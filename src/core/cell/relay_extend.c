/* relay_extend.c -- EXTEND2 and EXTENDED2 relay message bodies with their
 * link specifiers (tor-spec.txt section 5.1.2).
 * See include/allium/core/cell/relay_msg.h. */
#include "allium/core/cell/relay_msg.h"
#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/lib/bytes/bytes.h"

#include <string.h>

#include "cell_internal.h"

/* Required LSLEN of a known specifier type; 0 for unknown types. */
static size_t
lspec_known_len(uint8_t type)
{
  switch (type) {
  case RELAY_LSPEC_IPV4: return 6;
  case RELAY_LSPEC_IPV6: return 18;
  case RELAY_LSPEC_LEGACY_ID: return RELAY_LEGACY_ID_LEN;
  case RELAY_LSPEC_ED25519_ID: return RELAY_ED25519_ID_LEN;
  default: return 0;
  }
}

/* Fill s from the LSLEN bytes at v (length already checked). */
static void
lspec_parse(relay_lspec_t *s, const uint8_t *v)
{
  switch (s->type) {
  case RELAY_LSPEC_IPV4:
    memcpy(s->u.ipv4.addr, v, 4);
    s->u.ipv4.port = (uint16_t)((v[4] << 8) | v[5]);
    break;
  case RELAY_LSPEC_IPV6:
    memcpy(s->u.ipv6.addr, v, 16);
    s->u.ipv6.port = (uint16_t)((v[16] << 8) | v[17]);
    break;
  case RELAY_LSPEC_LEGACY_ID:
    memcpy(s->u.legacy_id, v, RELAY_LEGACY_ID_LEN);
    break;
  case RELAY_LSPEC_ED25519_ID:
    memcpy(s->u.ed25519_id, v, RELAY_ED25519_ID_LEN);
    break;
  default:
    s->u.data = v;
    break;
  }
}

int
cell_lspecs_check_dups(const relay_lspec_t *spec, unsigned n)
{
  unsigned legacy = 0, ed = 0;
  for (unsigned i = 0; i < n; i++) {
    legacy += spec[i].type == RELAY_LSPEC_LEGACY_ID;
    ed += spec[i].type == RELAY_LSPEC_ED25519_ID;
  }
  return (legacy > 1 || ed > 1) ? CELL_ERR_DUPLICATE : CELL_OK;
}

int
cell_lspecs_decode(relay_lspec_t *spec, uint8_t *n_out, bytes_reader_t *r)
{
  uint8_t n = bytes_get_u8(r);
  *n_out = 0;
  for (unsigned i = 0; i < n; i++) {
    relay_lspec_t *s = &spec[i];
    s->type = bytes_get_u8(r);
    s->len = bytes_get_u8(r);
    const uint8_t *v = bytes_get_bytes(r, s->len);
    if (!v)
      return CELL_ERR_TRUNCATED;
    size_t want = lspec_known_len(s->type);
    if (want && s->len != want)
      return CELL_ERR_LENGTH;
    lspec_parse(s, v);
  }
  *n_out = n;
  return cell_lspecs_check_dups(spec, n);
}

int
relay_extend2_decode(relay_extend2_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  int rv = cell_lspecs_decode(m->spec, &m->n_spec, &r);
  if (rv == CELL_OK) {
    m->htype = bytes_get_u16(&r);
    m->hlen = bytes_get_u16(&r);
    m->hdata = bytes_get_bytes(&r, m->hlen);
    if (bytes_reader_failed(&r))
      rv = CELL_ERR_TRUNCATED;
    else if (!bytes_is_exhausted(&r))
      rv = CELL_ERR_TRAILING;
    else
      rv = cell_check_client_handshake(m->htype, m->hlen);
  }
  if (rv < 0)
    memset(m, 0, sizeof(*m));
  return rv;
}

int
cell_lspec_encode(bytes_writer_t *w, const relay_lspec_t *s)
{
  size_t known = lspec_known_len(s->type);
  bytes_put_u8(w, s->type);
  bytes_put_u8(w, known ? (uint8_t)known : s->len);
  switch (s->type) {
  case RELAY_LSPEC_IPV4:
    bytes_put_bytes(w, s->u.ipv4.addr, 4);
    bytes_put_u16(w, s->u.ipv4.port);
    break;
  case RELAY_LSPEC_IPV6:
    bytes_put_bytes(w, s->u.ipv6.addr, 16);
    bytes_put_u16(w, s->u.ipv6.port);
    break;
  case RELAY_LSPEC_LEGACY_ID:
    bytes_put_bytes(w, s->u.legacy_id, RELAY_LEGACY_ID_LEN);
    break;
  case RELAY_LSPEC_ED25519_ID:
    bytes_put_bytes(w, s->u.ed25519_id, RELAY_ED25519_ID_LEN);
    break;
  default:
    if (s->len && !s->u.data)
      return CELL_ERR_VALUE;
    bytes_put_bytes(w, s->u.data, s->len);
    break;
  }
  return CELL_OK;
}

int
relay_extend2_encode(const relay_extend2_t *m, uint8_t *out, size_t outlen,
                     size_t *len_out)
{
  int rv = cell_lspecs_check_dups(m->spec, m->n_spec);
  if (rv == CELL_OK)
    rv = cell_check_client_handshake(m->htype, m->hlen);
  if (rv < 0)
    return rv;
  if (m->hlen && !m->hdata)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_u8(&w, m->n_spec);
  for (unsigned i = 0; i < m->n_spec; i++) {
    rv = cell_lspec_encode(&w, &m->spec[i]);
    if (rv < 0)
      return rv;
  }
  bytes_put_u16(&w, m->htype);
  bytes_put_u16(&w, m->hlen);
  bytes_put_bytes(&w, m->hdata, m->hlen);
  return cell_finish_write(&w, len_out);
}

const relay_lspec_t *
relay_extend2_find(const relay_extend2_t *m, uint8_t type)
{
  for (unsigned i = 0; i < m->n_spec; i++) {
    if (m->spec[i].type == type)
      return &m->spec[i];
  }
  return NULL;
}

int
relay_extended2_decode(relay_extended2_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  uint16_t hlen = bytes_get_u16(&r);
  const uint8_t *hdata = bytes_get_bytes(&r, hlen);
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  if (!bytes_is_exhausted(&r))
    return CELL_ERR_TRAILING;
  m->hlen = hlen;
  m->hdata = hdata;
  return CELL_OK;
}

int
relay_extended2_encode(const relay_extended2_t *m, uint8_t *out,
                       size_t outlen, size_t *len_out)
{
  if (m->hlen && !m->hdata)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_u16(&w, m->hlen);
  bytes_put_bytes(&w, m->hdata, m->hlen);
  return cell_finish_write(&w, len_out);
}
