/* relay_msg.c -- stream relay message bodies: BEGIN, BEGIN_DIR, CONNECTED
 * (tor-spec.txt 6.2, 6.2.1), END (6.3), RESOLVE/RESOLVED (6.4), SENDME
 * (7.3.1), TRUNCATE/TRUNCATED (5.4) and DATA.  EXTEND2/EXTENDED2 live in
 * relay_extend.c.  See include/allium/core/cell/relay_msg.h. */
#include "allium/core/cell/relay_msg.h"
#include "allium/core/cell/cell.h"
#include "allium/lib/bytes/bytes.h"
#include "allium/lib/net/address.h"

#include <string.h>

#include "cell_internal.h"

/* ---- BEGIN ---- */

/* Split "host:port" / "[v6]:port" of length n into m->host and m->port. */
static int
parse_addrport(relay_begin_t *m, const char *s, size_t n)
{
  const char *colon = NULL;
  for (size_t i = n; i > 0; i--) {
    if (s[i - 1] == ':') {
      colon = s + i - 1;
      break;
    }
  }
  if (!colon)
    return CELL_ERR_VALUE;
  size_t hlen = (size_t)(colon - s);
  if (net_port_parse(colon + 1, n - hlen - 1, 1, &m->port) < 0)
    return CELL_ERR_VALUE;
  const char *host = s;
  bool bracketed = hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']';
  if (bracketed) {
    host++;
    hlen -= 2;
  }
  /* An empty host (":PORT", not "[]:PORT") is what clients send to an
   * onion service (rend-spec-v3 4.2); exits refuse it themselves. */
  if ((hlen == 0 && bracketed) || hlen >= sizeof(m->host))
    return CELL_ERR_VALUE;
  bool has_colon = memchr(host, ':', hlen) != NULL;
  if (has_colon != bracketed || memchr(host, '[', hlen) ||
      memchr(host, ']', hlen))
    return CELL_ERR_VALUE;
  memcpy(m->host, host, hlen);
  m->host[hlen] = '\0';
  return CELL_OK;
}

int
relay_begin_decode(relay_begin_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  size_t slen = 0;
  const char *s = bytes_get_nul_string(&r, RELAY_BODY_MAX, &slen);
  if (!s)
    return CELL_ERR_TRUNCATED;
  int rv = parse_addrport(m, s, slen);
  if (rv < 0) {
    memset(m, 0, sizeof(*m));
    return rv;
  }
  size_t rest = bytes_remaining(&r);
  if (rest == 0)
    return CELL_OK;
  if (rest < 4) {
    memset(m, 0, sizeof(*m));
    return CELL_ERR_TRUNCATED;
  }
  m->flags = bytes_get_u32(&r);
  if (!bytes_is_exhausted(&r)) {
    memset(m, 0, sizeof(*m));
    return CELL_ERR_TRAILING;
  }
  return CELL_OK;
}

int
relay_begin_encode(const relay_begin_t *m, uint8_t *out, size_t outlen,
                   size_t *len_out)
{
  size_t hlen = strnlen(m->host, sizeof(m->host));
  /* An empty host gives ":PORT", the form tor clients send to an onion
   * service at the end of a rendezvous circuit (rend-spec-v3 4.2). */
  if (hlen == sizeof(m->host) || m->port == 0)
    return CELL_ERR_VALUE;
  bool v6 = memchr(m->host, ':', hlen) != NULL;
  if (memchr(m->host, '[', hlen) || memchr(m->host, ']', hlen))
    return CELL_ERR_VALUE;
  char port[8];
  size_t plen = 0;
  for (uint32_t p = m->port, d = 10000; d; d /= 10) {
    if (p / d || plen)
      port[plen++] = (char)('0' + (p / d) % 10);
  }
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  if (v6)
    bytes_put_u8(&w, '[');
  bytes_put_bytes(&w, m->host, hlen);
  if (v6)
    bytes_put_u8(&w, ']');
  bytes_put_u8(&w, ':');
  bytes_put_bytes(&w, port, plen);
  bytes_put_u8(&w, 0);
  bytes_put_u32(&w, m->flags);
  return cell_finish_write(&w, len_out);
}

/* ---- BEGIN_DIR ---- */

int
relay_begin_dir_decode(const uint8_t *body, size_t len)
{
  (void)body;
  return len > RELAY_BODY_MAX ? CELL_ERR_LENGTH : CELL_OK;
}

int
relay_begin_dir_encode(uint8_t *out, size_t outlen, size_t *len_out)
{
  (void)out;
  (void)outlen;
  if (len_out)
    *len_out = 0;
  return CELL_OK;
}

/* ---- CONNECTED ---- */

int
relay_connected_decode(relay_connected_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  bytes_reader_init(&r, body, len);
  switch (len) {
  case 0:
    return CELL_OK;
  case 8:
    m->addr.type = CELL_ADDR_IPV4;
    bytes_copy_bytes(&r, m->addr.addr, 4);
    m->ttl = bytes_get_u32(&r);
    return CELL_OK;
  case 25:
    if (bytes_get_u32(&r) != 0 || bytes_get_u8(&r) != CELL_ADDR_IPV6)
      return CELL_ERR_VALUE;
    m->addr.type = CELL_ADDR_IPV6;
    bytes_copy_bytes(&r, m->addr.addr, 16);
    m->ttl = bytes_get_u32(&r);
    return CELL_OK;
  default:
    return len < 8 ? CELL_ERR_TRUNCATED : CELL_ERR_LENGTH;
  }
}

int
relay_connected_encode(const relay_connected_t *m, uint8_t *out,
                       size_t outlen, size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  switch (m->addr.type) {
  case CELL_ADDR_NONE:
    break;
  case CELL_ADDR_IPV4:
    bytes_put_bytes(&w, m->addr.addr, 4);
    bytes_put_u32(&w, m->ttl);
    break;
  case CELL_ADDR_IPV6:
    bytes_put_u32(&w, 0);
    bytes_put_u8(&w, CELL_ADDR_IPV6);
    bytes_put_bytes(&w, m->addr.addr, 16);
    bytes_put_u32(&w, m->ttl);
    break;
  default:
    return CELL_ERR_VALUE;
  }
  return cell_finish_write(&w, len_out);
}

/* ---- END ---- */

int
relay_end_decode(relay_end_t *m, const uint8_t *body, size_t len)
{
  memset(m, 0, sizeof(*m));
  m->ttl = 0xffffffffu;
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  if (len == 0) {
    m->reason = RELAY_END_MISC;
    return CELL_OK;
  }
  m->reason = body[0];
  if (m->reason != RELAY_END_EXITPOLICY)
    return CELL_OK;
  size_t alen = 0;
  if (len == 5 || len == 9)
    alen = 4;
  else if (len == 17 || len == 21)
    alen = 16;
  if (alen == 0)
    return CELL_OK;        /* absent or wrong length: process anyway */
  m->addr.type = alen == 4 ? CELL_ADDR_IPV4 : CELL_ADDR_IPV6;
  memcpy(m->addr.addr, body + 1, alen);
  if (len == 1 + alen + 4) {
    const uint8_t *t = body + 1 + alen;
    m->ttl = ((uint32_t)t[0] << 24) | ((uint32_t)t[1] << 16) |
             ((uint32_t)t[2] << 8) | t[3];
  }
  return CELL_OK;
}

int
relay_end_encode(const relay_end_t *m, uint8_t *out, size_t outlen,
                 size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_u8(&w, m->reason);
  if (m->addr.type != CELL_ADDR_NONE) {
    if (m->reason != RELAY_END_EXITPOLICY)
      return CELL_ERR_VALUE;
    if (m->addr.type == CELL_ADDR_IPV4)
      bytes_put_bytes(&w, m->addr.addr, 4);
    else if (m->addr.type == CELL_ADDR_IPV6)
      bytes_put_bytes(&w, m->addr.addr, 16);
    else
      return CELL_ERR_VALUE;
    bytes_put_u32(&w, m->ttl);
  }
  return cell_finish_write(&w, len_out);
}

/* ---- RESOLVE ---- */

int
relay_resolve_decode(relay_resolve_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  size_t n = 0;
  const char *s = bytes_get_nul_string(&r, sizeof(m->name) - 1, &n);
  if (!s)
    return CELL_ERR_TRUNCATED;
  if (n == 0)
    return CELL_ERR_VALUE;
  if (!bytes_is_exhausted(&r))
    return CELL_ERR_TRAILING;
  memcpy(m->name, s, n + 1);
  return CELL_OK;
}

int
relay_resolve_encode(const relay_resolve_t *m, uint8_t *out, size_t outlen,
                     size_t *len_out)
{
  size_t n = strnlen(m->name, sizeof(m->name));
  if (n == 0 || n == sizeof(m->name))
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_bytes(&w, m->name, n + 1);
  return cell_finish_write(&w, len_out);
}

/* ---- RESOLVED ---- */

static bool
resolved_is_error(uint8_t type)
{
  return type == RELAY_RESOLVED_ERROR_TRANSIENT ||
         type == RELAY_RESOLVED_ERROR_NONTRANSIENT;
}

/* Length and error-exclusivity rules shared by decoder and encoder. */
static int
resolved_check(const relay_resolved_t *m)
{
  bool err = false;
  for (unsigned i = 0; i < m->n; i++) {
    const relay_resolved_answer_t *a = &m->answers[i];
    if ((a->type == RELAY_RESOLVED_IPV4 && a->len != 4) ||
        (a->type == RELAY_RESOLVED_IPV6 && a->len != 16))
      return CELL_ERR_LENGTH;
    if (resolved_is_error(a->type))
      err = true;
  }
  if (err && m->n != 1)
    return CELL_ERR_VALUE;
  return CELL_OK;
}

int
relay_resolved_decode(relay_resolved_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  bytes_reader_init(&r, body, len);
  while (bytes_remaining(&r) > 0) {
    if (m->n == RELAY_RESOLVED_MAX_ANSWERS) {
      memset(m, 0, sizeof(*m));
      return CELL_ERR_TOO_MANY;
    }
    relay_resolved_answer_t *a = &m->answers[m->n];
    a->type = bytes_get_u8(&r);
    a->len = bytes_get_u8(&r);
    a->value = bytes_get_bytes(&r, a->len);
    a->ttl = bytes_get_u32(&r);
    if (bytes_reader_failed(&r)) {
      memset(m, 0, sizeof(*m));
      return CELL_ERR_TRUNCATED;
    }
    m->n++;
  }
  int rv = resolved_check(m);
  if (rv < 0)
    memset(m, 0, sizeof(*m));
  return rv;
}

int
relay_resolved_encode(const relay_resolved_t *m, uint8_t *out, size_t outlen,
                      size_t *len_out)
{
  if (m->n > RELAY_RESOLVED_MAX_ANSWERS)
    return CELL_ERR_TOO_MANY;
  int rv = resolved_check(m);
  if (rv < 0)
    return rv;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  for (unsigned i = 0; i < m->n; i++) {
    const relay_resolved_answer_t *a = &m->answers[i];
    if (a->len && !a->value)
      return CELL_ERR_VALUE;
    bytes_put_u8(&w, a->type);
    bytes_put_u8(&w, a->len);
    bytes_put_bytes(&w, a->value, a->len);
    bytes_put_u32(&w, a->ttl);
  }
  return cell_finish_write(&w, len_out);
}

/* ---- SENDME ---- */

int
relay_sendme_decode(relay_sendme_t *m, const uint8_t *body, size_t len)
{
  bytes_reader_t r;
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  if (len == 0)
    return CELL_OK;
  bytes_reader_init(&r, body, len);
  uint8_t version = bytes_get_u8(&r);
  if (version == 0)
    return CELL_OK;
  if (version != 1)
    return CELL_ERR_UNSUPPORTED;
  uint16_t dlen = bytes_get_u16(&r);
  const uint8_t *data = bytes_get_bytes(&r, dlen);
  if (!data)
    return CELL_ERR_TRUNCATED;
  if (dlen < RELAY_SENDME_DIGEST_LEN)
    return CELL_ERR_LENGTH;
  m->version = 1;
  memcpy(m->digest, data, RELAY_SENDME_DIGEST_LEN);
  return CELL_OK;
}

int
relay_sendme_encode(const relay_sendme_t *m, uint8_t *out, size_t outlen,
                    size_t *len_out)
{
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  if (m->version == 1) {
    bytes_put_u8(&w, 1);
    bytes_put_u16(&w, RELAY_SENDME_DIGEST_LEN);
    bytes_put_bytes(&w, m->digest, RELAY_SENDME_DIGEST_LEN);
  } else if (m->version != 0) {
    return CELL_ERR_UNSUPPORTED;
  }
  return cell_finish_write(&w, len_out);
}

/* ---- TRUNCATE / TRUNCATED ---- */

int
relay_truncate_decode(const uint8_t *body, size_t len)
{
  (void)body;
  return len == 0 ? CELL_OK : CELL_ERR_TRAILING;
}

int
relay_truncate_encode(uint8_t *out, size_t outlen, size_t *len_out)
{
  (void)out;
  (void)outlen;
  if (len_out)
    *len_out = 0;
  return CELL_OK;
}

int
relay_truncated_decode(uint8_t *reason, const uint8_t *body, size_t len)
{
  *reason = 0;
  if (len < 1)
    return CELL_ERR_TRUNCATED;
  if (len > 1)
    return CELL_ERR_TRAILING;
  *reason = body[0];
  return CELL_OK;
}

int
relay_truncated_encode(uint8_t reason, uint8_t *out, size_t outlen,
                       size_t *len_out)
{
  return cell_reason_encode(reason, out, outlen, len_out);
}

/* ---- DATA ---- */

int
relay_data_decode(relay_data_t *m, const uint8_t *body, size_t len)
{
  memset(m, 0, sizeof(*m));
  if (len > RELAY_BODY_MAX)
    return CELL_ERR_LENGTH;
  m->len = (uint16_t)len;
  m->data = body;
  return CELL_OK;
}

int
relay_data_encode(const relay_data_t *m, uint8_t *out, size_t outlen,
                  size_t *len_out)
{
  if (m->len > RELAY_BODY_MAX)
    return CELL_ERR_SPACE;
  if (m->len && !m->data)
    return CELL_ERR_VALUE;
  bytes_writer_t w;
  cell_body_writer(&w, out, outlen);
  bytes_put_bytes(&w, m->data, m->len);
  return cell_finish_write(&w, len_out);
}
