/* link_cells.c -- VERSIONS, CERTS, AUTH_CHALLENGE, AUTHENTICATE, NETINFO
 * and PADDING_NEGOTIATE payloads (tor-spec.txt sections 4.1-4.5 and 7.2).
 * See include/allium/core/cell/link_cells.h. */
#include "allium/core/cell/link_cells.h"
#include "allium/core/cell/cell.h"
#include "allium/lib/bytes/bytes.h"

#include <string.h>

/* Finish an encoder: map the writer state to a result. */
static int
finish_write(const bytes_writer_t *w, size_t *len_out)
{
  if (bytes_writer_failed(w))
    return CELL_ERR_SPACE;
  if (len_out)
    *len_out = bytes_writer_len(w);
  return CELL_OK;
}

/* ---- VERSIONS ---- */

int
cell_versions_decode(cell_versions_t *v, const uint8_t *p, size_t len)
{
  memset(v, 0, sizeof(*v));
  if (len % 2)
    return CELL_ERR_LENGTH;
  if (len / 2 > CELL_VERSIONS_MAX)
    return CELL_ERR_TOO_MANY;
  bytes_reader_t r;
  bytes_reader_init(&r, p, len);
  v->n = len / 2;
  for (size_t i = 0; i < v->n; i++)
    v->versions[i] = bytes_get_u16(&r);
  return bytes_reader_failed(&r) ? CELL_ERR_TRUNCATED : CELL_OK;
}

int
cell_versions_encode(const cell_versions_t *v, uint8_t *out, size_t outlen,
                     size_t *len_out)
{
  if (v->n > CELL_VERSIONS_MAX)
    return CELL_ERR_TOO_MANY;
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out, outlen);
  for (size_t i = 0; i < v->n; i++)
    bytes_put_u16(&w, v->versions[i]);
  return finish_write(&w, len_out);
}

unsigned
cell_versions_choose(const cell_versions_t *theirs)
{
  unsigned best = 0;
  for (size_t i = 0; i < theirs->n && i < CELL_VERSIONS_MAX; i++) {
    unsigned ver = theirs->versions[i];
    if (ver >= CELL_LINKPROTO_MIN && ver <= CELL_LINKPROTO_MAX && ver > best)
      best = ver;
  }
  return best;
}

void
cell_versions_set_ours(cell_versions_t *v)
{
  memset(v, 0, sizeof(*v));
  for (unsigned ver = CELL_LINKPROTO_MIN; ver <= CELL_LINKPROTO_MAX; ver++)
    v->versions[v->n++] = (uint16_t)ver;
}

/* ---- CERTS ---- */

int
cell_certs_decode(cell_certs_t *c, const uint8_t *p, size_t len)
{
  bytes_reader_t r;
  bool seen[256] = { false };
  memset(c, 0, sizeof(*c));
  bytes_reader_init(&r, p, len);
  uint8_t n = bytes_get_u8(&r);
  for (unsigned i = 0; i < n; i++) {
    cell_cert_entry_t *e = &c->certs[i];
    e->type = bytes_get_u8(&r);
    e->len = bytes_get_u16(&r);
    e->body = bytes_get_bytes(&r, e->len);
    if (bytes_reader_failed(&r)) {
      memset(c, 0, sizeof(*c));
      return CELL_ERR_TRUNCATED;
    }
    if (seen[e->type]) {
      memset(c, 0, sizeof(*c));
      return CELL_ERR_DUPLICATE;
    }
    seen[e->type] = true;
  }
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  c->n = n;
  return CELL_OK;
}

int
cell_certs_encode(const cell_certs_t *c, uint8_t *out, size_t outlen,
                  size_t *len_out)
{
  bool seen[256] = { false };
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out, outlen);
  bytes_put_u8(&w, c->n);
  for (unsigned i = 0; i < c->n; i++) {
    const cell_cert_entry_t *e = &c->certs[i];
    if (seen[e->type])
      return CELL_ERR_DUPLICATE;
    if (e->len && !e->body)
      return CELL_ERR_VALUE;
    seen[e->type] = true;
    bytes_put_u8(&w, e->type);
    bytes_put_u16(&w, e->len);
    bytes_put_bytes(&w, e->body, e->len);
  }
  if (bytes_writer_len(&w) > CELL_VAR_PAYLOAD_MAX)
    return CELL_ERR_SPACE;
  return finish_write(&w, len_out);
}

const cell_cert_entry_t *
cell_certs_find(const cell_certs_t *c, uint8_t type)
{
  for (unsigned i = 0; i < c->n; i++) {
    if (c->certs[i].type == type)
      return &c->certs[i];
  }
  return NULL;
}

/* ---- AUTH_CHALLENGE ---- */

int
cell_auth_challenge_decode(cell_auth_challenge_t *a, const uint8_t *p,
                           size_t len)
{
  bytes_reader_t r;
  memset(a, 0, sizeof(*a));
  bytes_reader_init(&r, p, len);
  bytes_copy_bytes(&r, a->challenge, CELL_AUTH_CHALLENGE_LEN);
  uint16_t n = bytes_get_u16(&r);
  if (bytes_reader_failed(&r) || bytes_remaining(&r) < 2 * (size_t)n) {
    memset(a, 0, sizeof(*a));
    return CELL_ERR_TRUNCATED;
  }
  if (n > CELL_AUTH_METHODS_MAX) {
    memset(a, 0, sizeof(*a));
    return CELL_ERR_TOO_MANY;
  }
  a->n_methods = n;
  for (unsigned i = 0; i < n; i++)
    a->methods[i] = bytes_get_u16(&r);
  return CELL_OK;
}

int
cell_auth_challenge_encode(const cell_auth_challenge_t *a, uint8_t *out,
                           size_t outlen, size_t *len_out)
{
  if (a->n_methods > CELL_AUTH_METHODS_MAX)
    return CELL_ERR_TOO_MANY;
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out, outlen);
  bytes_put_bytes(&w, a->challenge, CELL_AUTH_CHALLENGE_LEN);
  bytes_put_u16(&w, a->n_methods);
  for (unsigned i = 0; i < a->n_methods; i++)
    bytes_put_u16(&w, a->methods[i]);
  return finish_write(&w, len_out);
}

bool
cell_auth_challenge_has_method(const cell_auth_challenge_t *a,
                               uint16_t method)
{
  for (unsigned i = 0; i < a->n_methods && i < CELL_AUTH_METHODS_MAX; i++) {
    if (a->methods[i] == method)
      return true;
  }
  return false;
}

/* ---- AUTHENTICATE ---- */

int
cell_authenticate_decode(cell_authenticate_t *a, const uint8_t *p,
                         size_t len)
{
  bytes_reader_t r;
  memset(a, 0, sizeof(*a));
  bytes_reader_init(&r, p, len);
  uint16_t type = bytes_get_u16(&r);
  uint16_t alen = bytes_get_u16(&r);
  const uint8_t *body = bytes_get_bytes(&r, alen);
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  a->auth_type = type;
  a->auth_len = alen;
  a->auth = body;
  return CELL_OK;
}

int
cell_authenticate_encode(const cell_authenticate_t *a, uint8_t *out,
                         size_t outlen, size_t *len_out)
{
  if (a->auth_len && !a->auth)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out, outlen);
  bytes_put_u16(&w, a->auth_type);
  bytes_put_u16(&w, a->auth_len);
  bytes_put_bytes(&w, a->auth, a->auth_len);
  if (bytes_writer_len(&w) > CELL_VAR_PAYLOAD_MAX)
    return CELL_ERR_SPACE;
  return finish_write(&w, len_out);
}

/* ---- NETINFO ---- */

/* Read one ATYPE/ALEN/AVAL address.  Returns true if it is a recognised
 * one (stored in *a); unrecognised ones are skipped, *a left NONE. */
static bool
read_netinfo_addr(bytes_reader_t *r, cell_addr_t *a)
{
  uint8_t type = bytes_get_u8(r);
  uint8_t alen = bytes_get_u8(r);
  const uint8_t *val = bytes_get_bytes(r, alen);
  memset(a, 0, sizeof(*a));
  if (!val)
    return false;
  if ((type == CELL_ADDR_IPV4 && alen == 4) ||
      (type == CELL_ADDR_IPV6 && alen == 16)) {
    a->type = type;
    memcpy(a->addr, val, alen);
    return true;
  }
  return false;
}

int
cell_netinfo_decode(cell_netinfo_t *n, const uint8_t *p, size_t len)
{
  bytes_reader_t r;
  memset(n, 0, sizeof(*n));
  bytes_reader_init(&r, p, len);
  n->timestamp = bytes_get_u32(&r);
  (void)read_netinfo_addr(&r, &n->other);
  uint8_t count = bytes_get_u8(&r);
  for (unsigned i = 0; i < count && !bytes_reader_failed(&r); i++) {
    cell_addr_t a;
    if (!read_netinfo_addr(&r, &a))
      continue;
    if (n->n_my == CELL_NETINFO_MAX_ADDRS) {
      memset(n, 0, sizeof(*n));
      return CELL_ERR_TOO_MANY;
    }
    n->my[n->n_my++] = a;
  }
  if (bytes_reader_failed(&r)) {
    memset(n, 0, sizeof(*n));
    return CELL_ERR_TRUNCATED;
  }
  return CELL_OK;
}

/* Write one address; NONE becomes ATYPE 0, ALEN 0.  False if bad type. */
static bool
write_netinfo_addr(bytes_writer_t *w, const cell_addr_t *a)
{
  switch (a->type) {
  case CELL_ADDR_NONE:
    bytes_put_u8(w, 0);
    bytes_put_u8(w, 0);
    return true;
  case CELL_ADDR_IPV4:
    bytes_put_u8(w, CELL_ADDR_IPV4);
    bytes_put_u8(w, 4);
    bytes_put_bytes(w, a->addr, 4);
    return true;
  case CELL_ADDR_IPV6:
    bytes_put_u8(w, CELL_ADDR_IPV6);
    bytes_put_u8(w, 16);
    bytes_put_bytes(w, a->addr, 16);
    return true;
  default:
    return false;
  }
}

int
cell_netinfo_encode(const cell_netinfo_t *n, uint8_t *out, size_t outlen,
                    size_t *len_out)
{
  if (n->n_my > CELL_NETINFO_MAX_ADDRS)
    return CELL_ERR_TOO_MANY;
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out, outlen < CELL_PAYLOAD_LEN ? outlen
                                                             : CELL_PAYLOAD_LEN);
  bytes_put_u32(&w, n->timestamp);
  if (!write_netinfo_addr(&w, &n->other))
    return CELL_ERR_VALUE;
  bytes_put_u8(&w, n->n_my);
  for (unsigned i = 0; i < n->n_my; i++) {
    if (n->my[i].type == CELL_ADDR_NONE ||
        !write_netinfo_addr(&w, &n->my[i]))
      return CELL_ERR_VALUE;
  }
  return finish_write(&w, len_out);
}

/* ---- PADDING_NEGOTIATE ---- */

int
cell_padding_negotiate_decode(cell_padding_negotiate_t *pn, const uint8_t *p,
                              size_t len)
{
  bytes_reader_t r;
  memset(pn, 0, sizeof(*pn));
  bytes_reader_init(&r, p, len);
  uint8_t version = bytes_get_u8(&r);
  uint8_t command = bytes_get_u8(&r);
  uint16_t lo = bytes_get_u16(&r);
  uint16_t hi = bytes_get_u16(&r);
  if (bytes_reader_failed(&r))
    return CELL_ERR_TRUNCATED;
  if (version != 0)
    return CELL_ERR_UNSUPPORTED;
  if (command != CELL_PADNEG_STOP && command != CELL_PADNEG_START)
    return CELL_ERR_VALUE;
  pn->version = version;
  pn->command = command;
  pn->ito_low_ms = lo;
  pn->ito_high_ms = hi;
  return CELL_OK;
}

int
cell_padding_negotiate_encode(const cell_padding_negotiate_t *pn,
                              uint8_t *out, size_t outlen, size_t *len_out)
{
  if (pn->version != 0)
    return CELL_ERR_UNSUPPORTED;
  if (pn->command != CELL_PADNEG_STOP && pn->command != CELL_PADNEG_START)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  bytes_writer_init_fixed(&w, out, outlen);
  bytes_put_u8(&w, pn->version);
  bytes_put_u8(&w, pn->command);
  bytes_put_u16(&w, pn->ito_low_ms);
  bytes_put_u16(&w, pn->ito_high_ms);
  return finish_write(&w, len_out);
}
